/*
 * smtp_conn - one outbound SMTP connection (see smtp_conn.h).
 */
#include "smtp_conn.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "evloop.h"
#include "log.h"
#include "netconn.h"
#include "outq.h"
#include "protolog.h"
#include "qid.h"
#include "repair.h"
#include "smtp_proto.h"
#include "xalloc.h"

/* Body streaming: read this much at a time, and stop feeding the socket
 * while this much is waiting in the output buffer. */
#define CONN_CHUNK		(64 * 1024)
#define CONN_HIGH_WATER		(256 * 1024)
/* A converted copy stays in memory up to this size. */
#define CONN_CONVERT_IN_MEMORY	(4 * 1024 * 1024)

struct smtp_conn {
	struct evloop	*loop;
	struct smtp_conn_params p;
	struct smtp_target *targets;
	const struct smtp_conn_ops *ops;
	void		*arg;
	size_t		 target;	/* index in hand */
	struct netconn	*nc;
	struct smtp_proto *proto;
	bool		 reached;	/* a session was ready on some target */
	bool		 ready_here;	/* ... on the target in hand */
	bool		 plain_retry;	/* tls = may: this target again, in
					   clear, after a failed handshake */
	struct mail_status last_failure;
	char		 session[QID_SIZE + 8];
	unsigned	 session_no;
	char		 relay[320];
	char		 tls[128];
	/* the job in hand */
	struct out_job	*job;
	int		 body_fd;
	bool		 body_sending;
	struct smtp_dotstuff ds;
	struct buf	 chunk;
	unsigned	 messages;
	/* idle */
	bool		 idle;
	uint64_t	 idle_timer;
	bool		 quitting;
	bool		 finished;	/* closed() was called */
	bool		 in_reply;	/* protocol log: inside a multi-line reply */
	/* the stage timer: what it was armed for (conn_arm_timeout) */
	int		 timer_stage;	/* enum smtp_stage; -1: not armed */
	uint64_t	 timer_replies;	/* smtp_proto_replies() then */
	bool		 sent;		/* commands written since */
};

static void conn_try_target(struct smtp_conn *);
static void conn_events(struct smtp_conn *);

/* ------------------------------------------------------------- helpers */

static void
conn_log(void *arg, char dir, const char *line)
{
	struct smtp_conn *c = arg;
	bool detail = false;

	if (c->p.protolog == NULL)
		return;
	if (dir == '<') {
		/* At "minimum", only the first line of each reply. */
		detail = c->in_reply;
		c->in_reply = strlen(line) > 3 && line[3] == '-';
	}
	protolog_line(c->p.protolog, c->session, dir, line, detail);
}

static void conn_note(struct smtp_conn *, bool detail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_note(struct smtp_conn *c, bool detail, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (c->p.protolog == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	protolog_line(c->p.protolog, c->session, '*', text, detail);
}

/* conn_timeout_ms - the stage's timeout from the config, in ms */
static int
conn_timeout_ms(const struct smtp_conn *c)
{
	const struct imc_config *cfg = c->p.cfg;
	uint64_t s;

	switch (smtp_proto_stage(c->proto)) {
	case SMTP_STAGE_GREETING:
		s = cfg->timeout_greeting;
		break;
	case SMTP_STAGE_DATA_INIT:
		s = cfg->timeout_data_init;
		break;
	case SMTP_STAGE_DATA_BLOCK:
		s = cfg->timeout_data_block;
		break;
	case SMTP_STAGE_DATA_DONE:
		s = cfg->timeout_data_done;
		break;
	case SMTP_STAGE_IDLE:
		return 0;
	default:
		s = cfg->timeout_command;
		break;
	}
	return s > 86400 ? 86400 * 1000 : (int)(s * 1000);
}

static void
conn_close_body(struct smtp_conn *c)
{
	if (c->body_fd != -1)
		close(c->body_fd);
	c->body_fd = -1;
	c->body_sending = false;
}

/* Give the job in hand back with one status for all its recipients. */
static void
conn_fail_job(struct smtp_conn *c, const struct mail_status *st)
{
	struct out_job *job = c->job;
	size_t i;

	if (job == NULL)
		return;
	c->job = NULL;
	conn_close_body(c);
	for (i = 0; i < job->n; i++)
		job->res[i] = *st;
	snprintf(job->relay, sizeof(job->relay), "%s", c->relay);
	snprintf(job->tls, sizeof(job->tls), "%s", c->tls);
	c->ops->job_done(c->arg, c, job);
}

static void
conn_drop_transport(struct smtp_conn *c)
{
	if (c->nc != NULL)
		netconn_free(c->nc);
	c->nc = NULL;
	if (c->proto != NULL)
		smtp_proto_free(c->proto);
	c->proto = NULL;
	if (c->idle_timer != 0)
		evloop_timer_cancel(c->loop, c->idle_timer);
	c->idle_timer = 0;
	c->idle = false;
	c->timer_stage = -1;
	c->sent = false;
}

static void
conn_free_deferred(struct evloop *loop, void *arg)
{
	struct smtp_conn *c = arg;

	buf_fini(&c->chunk);
	free(c->targets);
	free(c);
}

/* The end: one closed() call, then the memory goes after this round. */
static void
conn_finish(struct smtp_conn *c, const struct mail_status *why)
{
	if (c->finished)
		return;
	c->finished = true;
	conn_fail_job(c, why);
	conn_drop_transport(c);
	c->ops->closed(c->arg, c, c->reached, c->reached ? NULL : why);
	(void)evloop_defer(c->loop, conn_free_deferred, c);
}

/* This target failed: record why, then the next one (or the end). */
static void
conn_target_failed(struct smtp_conn *c, const struct mail_status *why)
{
	c->last_failure = *why;
	conn_note(c, false, "%s: %s %s", c->relay, why->dsn, why->text);
	if (c->job != NULL || c->ready_here) {
		/* The session was in use: its job is deferred; the others
		 * get a new connection from the destination. */
		conn_finish(c, why);
		return;
	}
	conn_drop_transport(c);
	c->target++;
	c->plain_retry = false;
	conn_try_target(c);
}

/* ---------------------------------------------------------------- output */

static void
conn_flush(struct smtp_conn *c)
{
	const char *out;
	size_t len;

	if (c->nc == NULL || c->proto == NULL)
		return;
	out = smtp_proto_output(c->proto, &len);
	if (len == 0)
		return;
	if (netconn_write(c->nc, out, len) == -1) {
		struct mail_status st;

		mail_status_set(&st, MAIL_TEMP, "4.4.2", "%s: write failed: %s",
		    c->relay, strerror(errno));
		conn_target_failed(c, &st);
		return;
	}
	smtp_proto_output_consumed(c->proto, len);
	c->sent = true;
}

/*
 * conn_arm_timeout - the stage timer, as a deadline (RFC 5321 4.5.3.2).
 * It starts when a stage starts, when commands go out, and when a whole
 * reply has come while more are awaited (pipelined replies: each has the
 * full time from the one before). Input alone never starts it again, so
 * a peer that drips a reply a line at a time is cut at the deadline; it
 * used to start again on every read and held a connection slot for as
 * long as the peer liked (issue 13 item 14). The body's blocks are timed
 * apart (conn_send_body).
 */
static void
conn_arm_timeout(struct smtp_conn *c)
{
	enum smtp_stage stage;
	uint64_t replies;

	if (c->nc == NULL || c->proto == NULL)
		return;
	stage = smtp_proto_stage(c->proto);
	replies = smtp_proto_replies(c->proto);
	if (!c->sent && (int)stage == c->timer_stage &&
	    replies == c->timer_replies)
		return;		/* the same wait: its deadline stands */
	c->sent = false;
	c->timer_stage = (int)stage;
	c->timer_replies = replies;
	/* After the dot the deadline counts from when the peer has taken
	 * the end of the body: the kernel may still hold megabytes of it. */
	if (stage == SMTP_STAGE_DATA_DONE)
		netconn_set_write_timeout(c->nc, conn_timeout_ms(c));
	else
		netconn_set_timeout(c->nc, conn_timeout_ms(c));
}

/* ------------------------------------------------------------------ body */

/* Stream the body while the socket keeps up. */
static void
conn_send_body(struct smtp_conn *c)
{
	char chunk[CONN_CHUNK];
	ssize_t n;

	while (c->body_sending && netconn_out_pending(c->nc) < CONN_HIGH_WATER) {
		n = read(c->body_fd, chunk, sizeof(chunk));
		if (n < 0) {
			struct mail_status st;

			mail_status_set(&st, MAIL_TEMP, "4.3.0", "reading the "
			    "message: %s", strerror(errno));
			/* The peer has a half-sent DATA: end the session. */
			conn_finish(c, &st);
			return;
		}
		buf_reset(&c->chunk);
		if (n == 0) {
			smtp_dotstuff_end(&c->ds, &c->chunk);
			conn_close_body(c);
		} else
			smtp_dotstuff(&c->ds, chunk, (size_t)n, &c->chunk);
		if (c->chunk.len > 0 &&
		    netconn_write(c->nc, c->chunk.data, c->chunk.len) == -1) {
			struct mail_status st;

			mail_status_set(&st, MAIL_TEMP, "4.4.2", "%s: write "
			    "failed: %s", c->relay, strerror(errno));
			conn_finish(c, &st);
			return;
		}
		if (n == 0) {
			smtp_proto_body_done(c->proto);
			conn_arm_timeout(c);
			conn_events(c);
			return;
		}
	}
	/* Each block of the body has its time while the peer takes it:
	 * the write timer starts again as long as the output moves. */
	c->timer_stage = SMTP_STAGE_DATA_BLOCK;
	c->timer_replies = smtp_proto_replies(c->proto);
	c->sent = false;
	netconn_set_write_timeout(c->nc,
	    (int)(c->p.cfg->timeout_data_block * 1000));
}

/* Open what is sent for a job: the queue file, or a converted copy when
 * the peer lacks 8BITMIME or the destination wants 7bit or a charset. */
static int
conn_open_body(struct smtp_conn *c, struct out_job *job, uint64_t *size,
    bool *eightbit, struct mail_status *st)
{
	const struct imc_config *cfg = c->p.cfg;
	struct repair_opts opts;
	struct repair_report rep;
	struct imc_charset_conf from;
	enum repair_result rr;
	char name[QID_SIZE + 8];
	struct stat sb;
	int in, out;

	snprintf(name, sizeof(name), "%s%s", job->qid, QFILE_EML);
	if ((in = openat(c->p.out_dirfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(in, &sb) == -1) {
		mail_status_set(st, MAIL_TEMP, "4.3.0", "Out/%s: %s", name,
		    strerror(errno));
		if (in != -1)
			close(in);
		return -1;
	}
	*size = (uint64_t)sb.st_size;
	*eightbit = job->body_8bit;
	/* The job's recipients share one conversion (outq groups them so,
	 * config_delivery_conv decides it); a peer without 8BITMIME adds
	 * the 7-bit downgrade. */
	memset(&opts, 0, sizeof(opts));
	opts.target = job->conv.charset != NULL ? job->conv.charset :
	    "preserve";
	opts.seven_bit = job->conv.seven_bit || (job->body_8bit &&
	    !smtp_proto_has(c->proto, SMTP_CAP_8BITMIME));
	if (!opts.seven_bit && strcmp(opts.target, "preserve") == 0)
		return in;
	config_charset_for(cfg, addr_domain(job->sender), &from);
	opts.legacy_charset = from.legacy_charset;
	out = sb.st_size < CONN_CONVERT_IN_MEMORY ?
	    memfd_create("smtp-body", MFD_CLOEXEC) :
	    openat(c->p.out_dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out == -1) {
		mail_status_set(st, MAIL_TEMP, "4.3.0", "converting: %s",
		    strerror(errno));
		close(in);
		return -1;
	}
	repair_report_init(&rep);
	rr = repair_message(in, out, &opts, &rep);
	close(in);
	repair_report_fini(&rep);
	if (rr == REPAIR_ERROR) {
		mail_status_set(st, MAIL_TEMP, "4.3.0", "cannot convert the "
		    "message for this peer");
		close(out);
		return -1;
	}
	if (rr == REPAIR_UNCHANGED) {
		/* Nothing to convert after all: the original, again. */
		close(out);
		if ((in = openat(c->p.out_dirfd, name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1) {
			mail_status_set(st, MAIL_TEMP, "4.3.0", "Out/%s: %s",
			    name, strerror(errno));
			return -1;
		}
		return in;
	}
	if (fstat(out, &sb) == -1 || lseek(out, 0, SEEK_SET) == -1) {
		mail_status_set(st, MAIL_TEMP, "4.3.0", "converting: %s",
		    strerror(errno));
		close(out);
		return -1;
	}
	*size = (uint64_t)sb.st_size;
	if (opts.seven_bit)
		*eightbit = false;
	conn_note(c, true, "%s: sent converted (%s%s)", job->qid,
	    opts.seven_bit ? "7bit" : "8bit",
	    strcmp(opts.target, "preserve") ? ", charset converted" : "");
	return out;
}

/* Begin the transaction of a job; -1 (the job already given back) when
 * it could not start for a local reason, and the session goes on. */
static int
conn_start_job(struct smtp_conn *c, struct out_job *job)
{
	struct smtp_txn txn;
	struct mail_status st;
	uint64_t size;
	bool eightbit;

	c->job = job;
	snprintf(job->relay, sizeof(job->relay), "%s", c->relay);
	snprintf(job->tls, sizeof(job->tls), "%s", c->tls);
	if ((c->body_fd = conn_open_body(c, job, &size, &eightbit, &st)) ==
	    -1) {
		conn_fail_job(c, &st);
		return -1;
	}
	memset(&txn, 0, sizeof(txn));
	txn.sender = job->sender;
	txn.rcpts = job->rcpts;
	txn.n_rcpts = job->n;
	txn.notify = job->notify;
	txn.orcpt = job->orcpt;
	txn.ret = job->ret;
	txn.envid = job->envid;
	txn.size = size;
	txn.body_8bit = eightbit;
	txn.needs_smtputf8 = job->needs_smtputf8;
	memset(&c->ds, 0, sizeof(c->ds));
	if (smtp_proto_begin(c->proto, &txn) == -1) {
		mail_status_set(&st, MAIL_TEMP, "4.3.0", "%s: cannot start the "
		    "transaction", c->relay);
		conn_fail_job(c, &st);
		return -1;
	}
	return 0;
}

static void
conn_quit(struct smtp_conn *c)
{
	if (c->quitting)
		return;
	c->quitting = true;
	c->idle = false;
	if (c->idle_timer != 0)
		evloop_timer_cancel(c->loop, c->idle_timer);
	c->idle_timer = 0;
	smtp_proto_quit(c->proto);
}

static void
conn_idle_timer(struct evloop *loop, uint64_t id, void *arg)
{
	struct smtp_conn *c = arg;

	c->idle_timer = 0;
	if (!c->idle)
		return;
	conn_quit(c);
	conn_flush(c);
	conn_arm_timeout(c);
}

/* The session is ready: take jobs until one starts, or go idle. */
static void
conn_take_next(struct smtp_conn *c)
{
	struct out_job *job;

	while (!c->quitting) {
		if (c->messages >= c->p.max_messages) {
			conn_quit(c);
			return;
		}
		if ((job = c->ops->next_job(c->arg, c)) == NULL) {
			c->idle = true;
			if (c->idle_timer == 0)
				c->idle_timer = evloop_timer_add(c->loop,
				    c->p.idle_ms, conn_idle_timer, c);
			return;
		}
		c->idle = false;
		c->messages++;
		if (conn_start_job(c, job) == 0)
			return;
	}
}

/* React to what the engine has found. */
static void
conn_events(struct smtp_conn *c)
{
	struct smtp_event ev;
	struct mail_status st;
	size_t i;

	while (!c->finished && c->proto != NULL &&
	    smtp_proto_next_event(c->proto, &ev) == 1) {
		switch (ev.kind) {
		case SMTP_EV_NEED_TLS:
			if (netconn_start_tls(c->nc, c->p.tls, c->targets[
			    c->target].host, c->p.tls_mode == SMTP_TLS_VERIFY) ==
			    -1) {
				mail_status_set(&st, MAIL_TEMP, "4.7.5",
				    "%s: cannot start TLS", c->relay);
				conn_target_failed(c, &st);
				return;
			}
			break;
		case SMTP_EV_READY:
			if (!c->ready_here) {
				c->ready_here = true;
				c->reached = true;
				conn_note(c, true, "session ready (%s)",
				    c->tls[0] ? c->tls : "no TLS");
			}
			conn_take_next(c);
			break;
		case SMTP_EV_SEND_BODY:
			if (c->job == NULL || c->body_fd == -1) {
				mail_status_set(&st, MAIL_TEMP, "4.3.0",
				    "%s: DATA without a message", c->relay);
				conn_finish(c, &st);
				return;
			}
			c->body_sending = true;
			conn_send_body(c);
			if (c->finished)
				return;
			break;
		case SMTP_EV_TXN_DONE:
			if (c->job != NULL) {
				struct out_job *job = c->job;

				c->job = NULL;
				conn_close_body(c);
				for (i = 0; i < job->n; i++)
					job->res[i] = ev.results[i];
				snprintf(job->relay, sizeof(job->relay), "%s",
				    c->relay);
				snprintf(job->tls, sizeof(job->tls), "%s",
				    c->tls);
				c->ops->job_done(c->arg, c, job);
			}
			break;
		case SMTP_EV_FAILED:
			if (!ev.before_ready && c->ready_here)
				conn_finish(c, &ev.status);
			else
				conn_target_failed(c, &ev.status);
			return;
		case SMTP_EV_CLOSED:
			mail_status_set(&st, MAIL_OK, "2.0.0", "closed");
			conn_finish(c, &st);
			return;
		}
	}
	conn_flush(c);
	conn_arm_timeout(c);
}

/* ------------------------------------------------------------- transport */

static void
conn_net_event(struct netconn *nc, int event, const char *why, void *arg)
{
	struct smtp_conn *c = arg;
	struct mail_status st;
	char buf[16 * 1024];
	ssize_t n;

	switch (event) {
	case NETCONN_EV_CONNECTED:
		conn_note(c, false, "connected to %s", c->relay);
		if (c->p.tls_mode == SMTP_TLS_IMPLICIT &&
		    netconn_start_tls(c->nc, c->p.tls, c->targets[c->target].host,
		    true) == -1) {
			mail_status_set(&st, MAIL_TEMP, "4.7.5", "%s: cannot "
			    "start TLS", c->relay);
			conn_target_failed(c, &st);
			return;
		}
		conn_arm_timeout(c);
		break;
	case NETCONN_EV_READ:
		while (!c->finished && c->nc == nc &&
		    (n = netconn_read(nc, buf, sizeof(buf))) > 0)
			if (smtp_proto_feed(c->proto, buf, (size_t)n) == -1)
				break;
		if (!c->finished && c->nc == nc)
			conn_events(c);
		break;
	case NETCONN_EV_DRAINED:
		if (c->body_sending)
			conn_send_body(c);
		break;
	case NETCONN_EV_TLS_DONE:
		if (why == NULL) {
			snprintf(c->tls, sizeof(c->tls), "%s/%s",
			    netconn_tls_version(nc), netconn_tls_cipher(nc));
			conn_note(c, false, "TLS established: %s", c->tls);
			smtp_proto_tls_done(c->proto, true, NULL);
		} else {
			conn_note(c, false, "TLS failed: %s", why);
			if (c->p.tls_mode == SMTP_TLS_MAY && !c->plain_retry &&
			    c->job == NULL) {
				/* Opportunistic TLS must not stop mail: the
				 * same host again without STARTTLS, as
				 * Postfix does. */
				conn_note(c, false, "tls = may: trying %s again "
				    "without TLS", c->relay);
				c->plain_retry = true;
				conn_drop_transport(c);
				conn_try_target(c);
				return;
			}
			smtp_proto_tls_done(c->proto, false, why);
		}
		conn_events(c);
		break;
	case NETCONN_EV_EOF:
	case NETCONN_EV_ERROR:
	case NETCONN_EV_TIMEOUT:
		if (event == NETCONN_EV_TIMEOUT)
			conn_note(c, false, "timeout (%s stage)",
			    smtp_proto_stage_name(c->proto));
		smtp_proto_lost(c->proto, event == NETCONN_EV_TIMEOUT ?
		    "timeout" : why != NULL ? why : "connection closed");
		conn_events(c);
		break;
	}
}

static void
conn_try_target(struct smtp_conn *c)
{
	const struct smtp_target *t;
	struct smtp_proto_params pp;
	struct netconn_params np;

	if (c->target >= c->p.n_targets) {
		conn_finish(c, &c->last_failure);
		return;
	}
	t = &c->targets[c->target];
	c->ready_here = false;
	c->in_reply = false;
	c->tls[0] = '\0';
	/* an LMTP store is named as the config writes it: lmtp:... */
	if (t->unix_path != NULL)
		snprintf(c->relay, sizeof(c->relay), "lmtp:unix:%.300s",
		    t->unix_path);
	else
		snprintf(c->relay, sizeof(c->relay), "%s%s[%s]:%u",
		    c->p.lmtp ? "lmtp:" : "", t->host, t->addr.text, t->port);
	if (qid_new(c->session) == -1)
		snprintf(c->session, sizeof(c->session), "S%u", c->session_no);
	c->session_no++;
	memset(&pp, 0, sizeof(pp));
	pp.helo_name = c->p.helo_name;
	pp.peer_name = c->relay;
	pp.lmtp = c->p.lmtp;
	pp.tls_active = false;
	pp.tls_mode = c->plain_retry ? SMTP_TLS_NONE : c->p.tls_mode;
	pp.auth_user = c->p.auth_user;
	pp.auth_pass = c->p.auth_pass;
	pp.log = conn_log;
	pp.log_arg = c;
	memset(&np, 0, sizeof(np));
	np.connect_timeout_ms = (int)(c->p.cfg->timeout_connect * 1000);
	conn_note(c, false, "connecting to %s", c->relay);
	c->proto = smtp_proto_new(&pp);
	c->nc = t->unix_path != NULL ? netconn_connect_unix(c->loop,
	    t->unix_path, &np, conn_net_event, c) : netconn_connect(c->loop,
	    &t->addr, t->port, &np, conn_net_event, c);
	if (c->nc == NULL) {
		mail_status_set(&c->last_failure, MAIL_TEMP, "4.4.1",
		    "%s: cannot connect: %s", c->relay, strerror(errno));
		conn_drop_transport(c);
		c->target++;
		c->plain_retry = false;
		conn_try_target(c);
	}
}

/* --------------------------------------------------------------- public */

static void
conn_start_deferred(struct evloop *loop, void *arg)
{
	struct smtp_conn *c = arg;

	if (!c->finished)
		conn_try_target(c);
}

struct smtp_conn *
smtp_conn_new(struct evloop *loop, const struct smtp_conn_params *p,
    const struct smtp_conn_ops *ops, void *arg)
{
	struct smtp_conn *c;

	if (p->n_targets == 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->targets = xcalloc(p->n_targets, sizeof(*c->targets));
	memcpy(c->targets, p->targets, p->n_targets * sizeof(*c->targets));
	c->loop = loop;
	c->p = *p;
	c->p.targets = c->targets;
	c->ops = ops;
	c->arg = arg;
	c->body_fd = -1;
	c->timer_stage = -1;
	buf_init(&c->chunk);
	mail_status_set(&c->last_failure, MAIL_TEMP, "4.4.1",
	    "no host to connect to");
	/* The first attempt starts from the loop, never inside the caller:
	 * a connection that fails at once must not call back into it. */
	if (evloop_defer(loop, conn_start_deferred, c) == -1) {
		buf_fini(&c->chunk);
		free(c->targets);
		free(c);
		return NULL;
	}
	return c;
}

void
smtp_conn_wake(struct smtp_conn *c)
{
	if (!c->idle || c->finished)
		return;
	c->idle = false;
	if (c->idle_timer != 0)
		evloop_timer_cancel(c->loop, c->idle_timer);
	c->idle_timer = 0;
	conn_take_next(c);
	conn_flush(c);
	conn_arm_timeout(c);
}

void
smtp_conn_quit_idle(struct smtp_conn *c)
{
	if (!c->idle || c->finished)
		return;
	conn_quit(c);
	conn_flush(c);
	conn_arm_timeout(c);
}

bool
smtp_conn_idle(const struct smtp_conn *c)
{
	return c->idle && !c->finished;
}

bool
smtp_conn_busy(const struct smtp_conn *c)
{
	return c->job != NULL && !c->finished;
}

void
smtp_conn_abort(struct smtp_conn *c, const char *why)
{
	struct mail_status st;

	mail_status_set(&st, MAIL_TEMP, "4.3.2", "%s", why);
	if (!c->finished)
		conn_note(c, false, "closing: %s", why);
	conn_finish(c, &st);
}
