/*
 * smtp_conn - one outbound SMTP connection: the driver that joins the
 * transport (netconn: TCP, TLS), the protocol engine (smtp_proto), the
 * message files and the protocol log, on the daemon's event loop.
 *
 * A connection is given the destination's targets (host name, address,
 * port) in the order to try. It connects to the first; a connect failure,
 * a timeout or a refused greeting moves it to the next (as RFC 5321
 * section 5.1 wants for MX hosts); once a session is ready it asks its
 * owner for jobs (ops->next_job), runs one transaction per job, fills in
 * the job's per-recipient results and hands it back (ops->job_done), and
 * goes on until the owner has nothing more, max_messages is reached or
 * the peer fails. A job is only taken once a session is ready, so a
 * connection that reaches no target ends with ops->closed and no job.
 *
 * Per job, before MAIL: a content with 8-bit bytes to a peer without
 * 8BITMIME, or a destination that wants 7bit or another charset, is
 * converted (repair.h) into an unnamed file first and that is sent.
 * Timeouts are the RFC 5321 section 4.5.3.2 stages, from the config, each
 * a deadline from the start of its wait (a command sent, the reply before
 * it complete): input alone never extends one. The body is timed by its
 * progress instead, and the reply to the final dot from when the peer has
 * taken the whole body.
 * Every job ends with results: a connection lost after the final dot and
 * before the reply is a deferral the text marks as a possible duplicate.
 *
 * With params.lmtp the same connection speaks LMTP to a store (TCP or a
 * unix socket target); everything above holds, and each recipient's
 * result is the store's own reply to it after the dot.
 *
 * Ownership: the owner keeps the jobs; the connection frees itself after
 * ops->closed, which is its last call. smtp_conn_abort ends it at once,
 * with every job in hand deferred (for shutdown).
 */
#ifndef IMC_SMTP_CONN_H
#define IMC_SMTP_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "dns.h"
#include "mailstatus.h"

struct evloop;
struct out_job;
struct protolog;
struct smtp_conn;
struct tls_client;

struct smtp_target {
	char		 host[DNS_NAME_MAX + 1];
	struct dns_addr	 addr;
	uint16_t	 port;
	const char	*unix_path;	/* an LMTP store's socket (borrowed from
					   the config): addr and port unused */
};

struct smtp_conn_ops {
	/* The session is ready: the next job for it, or NULL for none now
	 * (the connection then waits in idle until smtp_conn_wake or its
	 * idle time ends). */
	struct out_job *(*next_job)(void *arg, struct smtp_conn *);
	void	(*job_done)(void *arg, struct smtp_conn *, struct out_job *);
	/* Last call. reached: some target gave a usable session; why: the
	 * last failure when not (for the destination's queued jobs). */
	void	(*closed)(void *arg, struct smtp_conn *, bool reached,
		    const struct mail_status *why);
};

struct smtp_conn_params {
	const char	*helo_name;
	bool		 lmtp;		/* RFC 2033 (smtp_proto.h) to a store */
	int		 tls_mode;	/* enum smtp_tls_mode */
	struct tls_client *tls;
	const char	*tls_name;	/* name to verify; NULL: the target's */
	const char	*auth_user;	/* NULL: no AUTH */
	const char	*auth_pass;
	int		 out_dirfd;	/* Out/, where <qid>.eml lives */
	const struct imc_config *cfg;	/* timeouts, charsets */
	struct protolog	*protolog;	/* NULL: no transcript */
	unsigned	 max_messages;	/* per connection */
	unsigned	 idle_ms;	/* wait for a next job this long */
	const struct smtp_target *targets;	/* copied */
	size_t		 n_targets;
};

struct smtp_conn *smtp_conn_new(struct evloop *, const struct smtp_conn_params *,
	    const struct smtp_conn_ops *, void *arg);
/* A job arrived for an idle connection: ask next_job again. */
void	smtp_conn_wake(struct smtp_conn *);
bool	smtp_conn_idle(const struct smtp_conn *);
/* A job is in hand (a transaction under way). */
bool	smtp_conn_busy(const struct smtp_conn *);
/* An idle connection ends politely: QUIT, then closed(). */
void	smtp_conn_quit_idle(struct smtp_conn *);
/* End now: jobs in hand deferred with why; ops->closed follows. */
void	smtp_conn_abort(struct smtp_conn *, const char *why);

#endif
