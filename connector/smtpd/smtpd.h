/*
 * smtpd - the SMTP listener: sockets, sessions, and the way a message
 * becomes a queue entry.
 *
 * smtpd_bind opens the listen sockets (before the daemon drops root, so
 * port 25 works); smtpd_new puts them on the daemon's loop. Each session
 * is a state machine on one non-blocking socket (no thread, no process):
 * greeting (after smtpd_greet_pause; a client that talks first is
 * dropped), EHLO/HELO, MAIL, RCPT (relay control: smtpd_policy.h), DATA
 * (smtpd_data.h), BDAT (RFC 3030: a chunk's bytes are read as message
 * whatever the answer, never as commands), RSET, NOOP, VRFY (252), HELP,
 * QUIT; PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN, ENHANCEDSTATUSCODES,
 * CHUNKING are offered.
 *
 * A message is written as it arrives into Work/.<qid>.smtp.tmp (a temp
 * name recovery removes: no queue entry can come from a message whose
 * final dot was not received), with the envelope block of pickup_file.h
 * and the Received: field first. At the final dot (or the LAST chunk)
 * it is renamed to Work/<qid> and handed to the daemon's batch
 * (ops->accept), which takes it exactly as a Pickup file: repair,
 * routing to In/ or Out/, tracking log (event=received), hop count,
 * bounces. The session then waits; the
 * daemon commits the batch once per loop round, so every session that
 * finished in that round shares one barrier (group commit), and
 * smtpd_committed gives each its 250 (or, when the barrier failed, a 451
 * and the Work file is forgotten: nothing is delivered without a 250,
 * except in the window between the barrier and the reply reaching the
 * client, which every MTA has: "possible duplicate").
 *
 * With smtpd_reverse_dns the client's name is looked up at the accept
 * (dns.h: PTR, then that name's addresses) and written in Received: only
 * when forward-confirmed; the greeting waits for it, SMTPD_RDNS_WAIT_MS
 * at most.
 *
 * Bounds: sessions at once (smtpd_max_connections, then the listeners
 * wait) and per client address; command lines IMC_SMTPD_LINE_MAX; input
 * read only while there is room (SMTPD_IN_MAX) and replies held back while
 * the client does not read them (SMTPD_OUT_MAX); smtpd_timeout for every
 * wait; smtpd_max_errors refused commands.
 */
#ifndef IMC_SMTPD_H
#define IMC_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "buf.h"
#include "config.h"

#define SMTPD_IN_MAX	(64 * 1024)
#define SMTPD_GROUP_MS	10
#define SMTPD_OUT_MAX	(64 * 1024)

struct evloop;
struct protolog;
struct smtpd;
struct smtpd_auth;
struct ssl_ctx_st;

struct smtpd_ops {
	/* Work/<qid> is complete: into the daemon's batch. */
	enum accept_result (*accept)(void *arg, const char *qid);
	/* Work/<qid> must not be delivered (its client got a 4xx). */
	void	(*forget)(void *arg, const char *qid);
};

/* What the listener needs made while the daemon is still root: the
 * sockets (port 25), the TLS context (a key only root reads), the AUTH
 * users (a file only root reads). */
struct smtpd_listeners {
	int	*fds;
	bool	*implicit;	/* per socket: listen_implicit_tls */
	size_t	 n;
	struct ssl_ctx_st *tls;
	struct smtpd_auth *auth;
};

/* The listen sockets of cfg->listen and cfg->listen_implicit_tls (none
 * when neither is set), the TLS context, the AUTH users: 0, or a
 * sysexits code (EX_CONFIG for a key or users file that breaks the rules,
 * EX_OSERR for a socket that cannot be bound) with err set. */
int	smtpd_bind(const struct imc_config *, struct smtpd_listeners *,
	    struct buf *err);
void	smtpd_listeners_close(struct smtpd_listeners *);
/* The protocol log (protocol_log) for Log/smtpd-YYYYMMDD.log, borrowed;
 * smtpd_flush_logs writes what waits (the daemon, each round). */
void	smtpd_set_protolog(struct smtpd *, struct protolog *);
void	smtpd_flush_logs(struct smtpd *);
/* Takes the listeners (ls is emptied). */
struct smtpd *smtpd_new(const struct imc_config *, struct evloop *,
	    int work_fd, struct smtpd_listeners *ls, const struct smtpd_ops *,
	    void *arg, struct buf *err);
/* Sessions waiting for the batch to commit. */
size_t	smtpd_waiting(const struct smtpd *);
/* When the batch should be committed for them: -1 nobody waits, 0 now,
 * else in that many ms. Group commit: while other sessions are inside a
 * transaction (their final dot is likely on its way) the commit waits
 * for them, at most SMTPD_GROUP_MS after the first dot. */
int64_t	smtpd_commit_in_ms(const struct smtpd *);
/* The batch's entries are durable (barrier 1, from inside batch_commit):
 * the 250s go out; nothing else happens until smtpd_committed. */
void	smtpd_durable(struct smtpd *);
/* The batch was committed (ok) or failed: replies to those still
 * waiting, then the commands they pipelined are taken. */
void	smtpd_committed(struct smtpd *, bool ok);
/* Stop listening; sessions not waiting for a commit get 421 and go. */
void	smtpd_stop(struct smtpd *);
size_t	smtpd_sessions(const struct smtpd *);
void	smtpd_free(struct smtpd *);

#endif
