/*
 * smtp_proto - the SMTP client protocol (RFC 5321 and its extensions) as a
 * state machine without I/O.
 *
 * The driver (smtp_conn.c) feeds it what the server sent (smtp_proto_feed,
 * any chunking), writes what it asks to send (smtp_proto_output), and
 * reacts to its events (smtp_proto_next_event):
 *   NEED_TLS   STARTTLS was accepted: do the handshake, then
 *              smtp_proto_tls_done (the engine sends EHLO again);
 *   READY      a session is ready for a transaction (smtp_proto_begin), or
 *              for QUIT (smtp_proto_quit); again after every transaction;
 *   SEND_BODY  354: stream the body through smtp_dotstuff, then
 *              smtp_proto_body_done;
 *   TXN_DONE   the transaction ended: one status per recipient;
 *   FAILED     the session cannot go on; before_ready says whether it
 *              ever became ready (if not, the next MX host is tried);
 *   CLOSED     QUIT was answered or the peer went after QUIT.
 *
 * It speaks EHLO (HELO when EHLO is refused), PIPELINING (RFC 2920: RSET,
 * MAIL, every RCPT and DATA in one write, replies matched in order), SIZE
 * (a message over the peer's limit fails 5.3.4 before MAIL), 8BITMIME
 * (BODY=8BITMIME; an 8-bit body to a peer without it is refused by
 * smtp_proto_begin: the driver downgrades first), SMTPUTF8 (needed but not
 * offered: 5.6.7), DSN (RET, ENVID, NOTIFY, ORCPT passed on as given, in
 * xtext, only when offered), STARTTLS per tls_mode, and AUTH PLAIN or LOGIN, only once TLS
 * is active. Replies are parsed with limits on line length and line count;
 * anything malformed ends the session (4.5.0). Bytes that arrive after the
 * 220 to STARTTLS and before the handshake end it too (command injection,
 * CVE-2011-0411 style).
 *
 * LMTP (RFC 2033, params.lmtp): LHLO instead of EHLO (no HELO fallback:
 * a refused LHLO ends the session), and after the final dot one reply per
 * accepted recipient, in RCPT order, each deciding that recipient alone.
 * A session that ends part way through those replies (lost, timed out, a
 * malformed reply) still reports the recipients already answered: a
 * TXN_DONE with their results, the rest deferred as possible duplicates,
 * comes before the FAILED event, so a recipient the store took is never
 * sent again.
 *
 * The transcript goes to params.log, one line at a time: '>' sent, '<'
 * received; AUTH arguments are shown as "****". Bodies never pass here.
 */
#ifndef IMC_SMTP_PROTO_H
#define IMC_SMTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mailstatus.h"

enum smtp_tls_mode {
	SMTP_TLS_NONE,		/* never STARTTLS */
	SMTP_TLS_MAY,		/* STARTTLS when offered */
	SMTP_TLS_ENCRYPT,	/* STARTTLS required, any certificate */
	SMTP_TLS_VERIFY,	/* STARTTLS required, chain and name checked */
	SMTP_TLS_IMPLICIT	/* TLS from the first byte (the driver's) */
};

enum smtp_cap {
	SMTP_CAP_PIPELINING	= 1 << 0,
	SMTP_CAP_SIZE		= 1 << 1,
	SMTP_CAP_8BITMIME	= 1 << 2,
	SMTP_CAP_SMTPUTF8	= 1 << 3,
	SMTP_CAP_DSN		= 1 << 4,
	SMTP_CAP_STARTTLS	= 1 << 5,
	SMTP_CAP_AUTH_PLAIN	= 1 << 6,
	SMTP_CAP_AUTH_LOGIN	= 1 << 7,
	SMTP_CAP_CHUNKING	= 1 << 8,
	SMTP_CAP_ENHANCED	= 1 << 9
};

enum smtp_stage {
	SMTP_STAGE_GREETING,
	SMTP_STAGE_COMMAND,
	SMTP_STAGE_DATA_INIT,
	SMTP_STAGE_DATA_BLOCK,
	SMTP_STAGE_DATA_DONE,
	SMTP_STAGE_IDLE
};

enum smtp_event_kind {
	SMTP_EV_NEED_TLS,
	SMTP_EV_READY,
	SMTP_EV_SEND_BODY,
	SMTP_EV_TXN_DONE,	/* also before FAILED, for an LMTP
				   transaction ended part way (see above) */
	SMTP_EV_FAILED,
	SMTP_EV_CLOSED
};

struct smtp_event {
	enum smtp_event_kind kind;
	struct mail_status status;	/* FAILED */
	bool	 before_ready;		/* FAILED: never became ready */
	bool	 in_txn;		/* FAILED: a transaction was open */
	const struct mail_status *results;	/* TXN_DONE: per recipient,
						   valid until the next begin */
	size_t	 n_results;
};

typedef void smtp_log_fn(void *arg, char dir, const char *line);

struct smtp_proto_params {
	const char	*helo_name;
	const char	*peer_name;	/* for status texts: "mx.example" */
	enum smtp_tls_mode tls_mode;
	bool		 tls_active;	/* implicit TLS already up */
	const char	*auth_user;	/* NULL: no AUTH */
	const char	*auth_pass;
	bool		 lmtp;		/* RFC 2033: LHLO, a reply per rcpt */
	size_t		 max_line;	/* 0: 2048 */
	size_t		 max_lines;	/* 0: 100 */
	smtp_log_fn	*log;
	void		*log_arg;
};

struct smtp_txn {
	const char	*sender;	/* "" is the null sender */
	const char	**rcpts;
	size_t		 n_rcpts;
	const char	**notify;	/* per rcpt or NULL: NOTIFY= values */
	const char	**orcpt;	/* per rcpt or NULL: "rfc822;a+2Bb@x",
					   xtext as the writer gave it */
	const char	*ret;		/* "FULL", "HDRS" or NULL */
	const char	*envid;		/* xtext, or NULL */
	uint64_t	 size;		/* bytes as they will be sent */
	bool		 body_8bit;
	bool		 needs_smtputf8;
};

struct smtp_proto;

struct smtp_proto *smtp_proto_new(const struct smtp_proto_params *);
void	smtp_proto_free(struct smtp_proto *);
/* 0, or -1 when the session has failed (see the FAILED event). */
int	smtp_proto_feed(struct smtp_proto *, const char *, size_t);
const char *smtp_proto_output(struct smtp_proto *, size_t *len);
void	smtp_proto_output_consumed(struct smtp_proto *, size_t);
/* 1 and an event, or 0 when none is queued. */
int	smtp_proto_next_event(struct smtp_proto *, struct smtp_event *);
void	smtp_proto_tls_done(struct smtp_proto *, bool ok, const char *why);
/* -1: not ready, or an 8-bit body to a peer without 8BITMIME. */
int	smtp_proto_begin(struct smtp_proto *, const struct smtp_txn *);
void	smtp_proto_body_done(struct smtp_proto *);
void	smtp_proto_quit(struct smtp_proto *);
/* The transport ended (EOF, error, timeout): why for the status. */
void	smtp_proto_lost(struct smtp_proto *, const char *why);
enum smtp_stage smtp_proto_stage(const struct smtp_proto *);
/* Complete replies parsed so far (lines of an unfinished one do not
 * count): the driver starts a reply's deadline when this moves. */
uint64_t smtp_proto_replies(const struct smtp_proto *);
const char *smtp_proto_stage_name(const struct smtp_proto *);
bool	smtp_proto_has(const struct smtp_proto *, enum smtp_cap);
uint64_t smtp_proto_max_size(const struct smtp_proto *);

/* Dot-stuffing of a CRLF body across chunks (RFC 5321 4.5.2). */
struct smtp_dotstuff {
	bool	 mid_line;	/* the last byte seen was not a line end */
	bool	 any;		/* any byte seen */
	char	 last;
};

int	smtp_dotstuff(struct smtp_dotstuff *, const char *, size_t,
	    struct buf *out);
/* The end of data: CRLF if the body did not end with one, then ".". */
int	smtp_dotstuff_end(struct smtp_dotstuff *, struct buf *out);

#endif
