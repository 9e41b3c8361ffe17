/*
 * smtp_proto - the SMTP client state machine (see smtp_proto.h).
 */
#include "smtp_proto.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "xalloc.h"

#define PROTO_MAX_EVENTS	8

enum pstate {
	P_GREETING,	/* waiting for 220 */
	P_EHLO,
	P_HELO,
	P_STARTTLS,
	P_TLS_WAIT,	/* the driver does the handshake */
	P_AUTH,		/* AUTH PLAIN, or AUTH LOGIN's first step */
	P_AUTH_USER,	/* LOGIN: username sent */
	P_AUTH_PASS,	/* LOGIN: password sent */
	P_READY,
	P_TXN,		/* replies to RSET/MAIL/RCPT/DATA pending */
	P_BODY,		/* the driver sends the body */
	P_DOT,		/* waiting for the reply to the final dot */
	P_QUIT,
	P_DONE		/* failed or closed: nothing more */
};

/* Transaction commands whose replies are awaited, in order. */
enum tcmd { T_RSET, T_MAIL, T_RCPT, T_DATA, T_DOT_DISCARD };

struct smtp_proto {
	struct smtp_proto_params p;
	enum pstate	 state;
	bool		 tls_active;
	bool		 was_ready;
	unsigned	 caps;
	uint64_t	 max_size;
	/* input: a reply being assembled */
	struct buf	 in;
	struct buf	 reply;		/* lines of the current reply, joined */
	int		 reply_code;
	size_t		 reply_lines;
	uint64_t	 replies;	/* complete replies so far */
	char		 reply_enh[16];
	/* output */
	struct buf	 out;
	size_t		 out_off;
	/* events */
	struct smtp_event ev[PROTO_MAX_EVENTS];
	size_t		 ev_head, ev_n;
	/* transaction */
	unsigned	 txns;		/* begun on this connection */
	bool		 need_rset;
	const struct smtp_txn *txn;
	struct smtp_txn	 txn_copy;
	enum tcmd	*expect;	/* replies awaited, in order */
	size_t		*expect_rcpt;	/* for T_RCPT: which recipient */
	size_t		 expect_head, expect_n, expect_cap;
	size_t		 next_rcpt;	/* not pipelined: next RCPT to send */
	bool		 mail_failed;
	struct mail_status mail_status;
	bool		*accepted;
	struct mail_status *results;
	size_t		 n_results_cap;
	size_t		 n_accepted;
	size_t		 dot_next;	/* LMTP: the next recipient whose reply
					   to the dot may come */
};

/* ------------------------------------------------------------- helpers */

static void
proto_log(struct smtp_proto *p, char dir, const char *line)
{
	if (p->p.log != NULL)
		p->p.log(p->p.log_arg, dir, line);
}

/* "AUTH MECH" and a mask for its argument. */
static void
proto_log_masked(struct smtp_proto *p, const char *head)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s ****", head);
	proto_log(p, '>', buf_cstr(&b));
	buf_fini(&b);
}

static void proto_send(struct smtp_proto *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queue one command line; the transcript shows it (AUTH masked). */
static void
proto_send(struct smtp_proto *p, const char *fmt, ...)
{
	va_list ap;
	size_t start = p->out.len;
	char *line;

	va_start(ap, fmt);
	(void)buf_vprintf(&p->out, fmt, ap);
	va_end(ap);
	if (p->p.log == NULL)
		goto crlf;
	line = xstrndup(p->out.data + start, p->out.len - start);
	/* Credentials never reach the transcript: "AUTH PLAIN ****", and a
	 * bare "****" for the answers to AUTH LOGIN's questions. The mask
	 * may be longer than what it hides, so it is written, not copied
	 * over it. */
	if (strncasecmp(line, "AUTH ", 5) == 0) {
		char *sp = strchr(line + 5, ' ');

		if (sp != NULL) {
			*sp = '\0';
			proto_log_masked(p, line);
		} else
			proto_log(p, '>', line);
	} else if (p->state == P_AUTH_USER || p->state == P_AUTH_PASS ||
	    (p->state == P_AUTH && strncasecmp(line, "AUTH", 4) != 0))
		proto_log(p, '>', "****");
	else
		proto_log(p, '>', line);
	free(line);
crlf:
	(void)buf_puts(&p->out, "\r\n");
}

static void
proto_event(struct smtp_proto *p, const struct smtp_event *e)
{
	if (p->ev_n == PROTO_MAX_EVENTS)
		return;		/* cannot happen: at most a few per feed */
	p->ev[(p->ev_head + p->ev_n) % PROTO_MAX_EVENTS] = *e;
	p->ev_n++;
}

static void
proto_simple_event(struct smtp_proto *p, enum smtp_event_kind kind)
{
	struct smtp_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	proto_event(p, &e);
}

static void proto_fail(struct smtp_proto *, enum mail_kind, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* LMTP: the session ends while replies to the dot are still awaited. The
 * store has already decided for the recipients it answered, so they keep
 * their results (a delivered one must not be sent again); the unanswered
 * ones get the failure, and the transaction is reported before FAILED.
 * A recipient refused at RCPT keeps its own reply too. */
static void
proto_lmtp_cut(struct smtp_proto *p, enum mail_kind kind, const char *dsn,
    const char *text)
{
	struct smtp_event e;
	size_t i;

	for (i = p->dot_next; i < p->txn_copy.n_rcpts; i++)
		if (p->accepted[i])
			mail_status_set(&p->results[i], kind, dsn, "%s", text);
	memset(&e, 0, sizeof(e));
	e.kind = SMTP_EV_TXN_DONE;
	e.results = p->results;
	e.n_results = p->txn_copy.n_rcpts;
	proto_event(p, &e);
}

static void
proto_fail(struct smtp_proto *p, enum mail_kind kind, const char *dsn,
    const char *fmt, ...)
{
	struct smtp_event e;
	char text[256];
	va_list ap;

	if (p->state == P_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (p->p.lmtp && p->state == P_DOT)
		proto_lmtp_cut(p, kind, dsn, text);
	memset(&e, 0, sizeof(e));
	e.kind = SMTP_EV_FAILED;
	e.before_ready = !p->was_ready;
	e.in_txn = p->state == P_TXN || p->state == P_BODY || p->state == P_DOT;
	mail_status_set(&e.status, kind, dsn, "%s", text);
	p->state = P_DONE;
	proto_event(p, &e);
}

/* The reply as a failure status: TEMP for 4xx, PERM for 5xx, the enhanced
 * code the peer gave (or one from the class), and "peer said: ..." with
 * what it answered. A reply of the success classes reaching here is one
 * the command does not allow (250 to DATA, 354 to MAIL): a protocol
 * error, temporary, never a success. */
static void
proto_status(struct smtp_proto *p, struct mail_status *st, const char *dflt,
    const char *in_reply_to)
{
	enum mail_kind kind = p->reply_code < 500 ? MAIL_TEMP : MAIL_PERM;
	bool wrong_class = p->reply_code < 400;
	char dsn[16];

	if (wrong_class)
		snprintf(dsn, sizeof(dsn), "4.5.0");
	else if (p->reply_enh[0] != '\0')
		snprintf(dsn, sizeof(dsn), "%s", p->reply_enh);
	else if (dflt != NULL && kind == MAIL_PERM)
		snprintf(dsn, sizeof(dsn), "%s", dflt);
	else
		snprintf(dsn, sizeof(dsn), "%c.0.0", kind == MAIL_TEMP ? '4' :
		    '5');
	/* bounce.c reads this shape back for the DSN's "Diagnostic-Code:
	 * smtp; ..." (the peer name has no spaces; a "protocol error: "
	 * prefix makes it a reason of our own): keep them in step. */
	mail_status_set(st, kind, dsn, "%s%s said: %d %s (in reply to %s)",
	    wrong_class ? "protocol error: " : "",
	    p->p.peer_name ? p->p.peer_name : "peer", p->reply_code,
	    buf_cstr(&p->reply), in_reply_to);
}

/* The peer's success reply to the final dot, as a status. */
static void
proto_ok_status(struct smtp_proto *p, struct mail_status *st,
    const char *in_reply_to)
{
	mail_status_set(st, MAIL_OK, p->reply_enh[0] != '\0' ? p->reply_enh :
	    "2.0.0", "%s said: %d %s (in reply to %s)",
	    p->p.peer_name ? p->p.peer_name : "peer", p->reply_code,
	    buf_cstr(&p->reply), in_reply_to);
}

/* A reply of a class the command never gets (250 to DATA, 354 to MAIL):
 * the session cannot be trusted any more; every recipient of the
 * transaction in hand is deferred by the driver. */
static void
proto_wrong_reply(struct smtp_proto *p, const char *in_reply_to)
{
	struct mail_status st;

	proto_status(p, &st, NULL, in_reply_to);
	proto_fail(p, MAIL_TEMP, "4.5.0", "%s", st.text);
}

/* A DSN parameter value is passed on as the writer gave it (xtext, RFC
 * 3461); anything that could break the command line is left out. */
static bool
proto_param_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 500)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 33 || (unsigned char)*s > 126 ||
		    *s == '=')
			return false;
	return true;
}

static int
proto_b64(const char *in, size_t len, struct buf *out)
{
	unsigned char *o;
	int n;

	if (len > 4096)
		return -1;
	o = xmalloc(4 * ((len + 2) / 3) + 1);
	n = EVP_EncodeBlock(o, (const unsigned char *)in, (int)len);
	buf_append(out, o, (size_t)n);
	free(o);
	return 0;
}

/* ------------------------------------------------------------ lifecycle */

struct smtp_proto *
smtp_proto_new(const struct smtp_proto_params *params)
{
	struct smtp_proto *p;

	p = xcalloc(1, sizeof(*p));
	p->p = *params;
	if (p->p.max_line == 0)
		p->p.max_line = 2048;
	if (p->p.max_lines == 0)
		p->p.max_lines = 100;
	if (p->p.helo_name == NULL)
		p->p.helo_name = "localhost";
	p->tls_active = params->tls_active;
	buf_init(&p->in);
	buf_init(&p->reply);
	buf_init(&p->out);
	p->state = P_GREETING;
	return p;
}

void
smtp_proto_free(struct smtp_proto *p)
{
	if (p == NULL)
		return;
	buf_fini(&p->in);
	buf_fini(&p->reply);
	buf_fini(&p->out);
	free(p->expect);
	free(p->expect_rcpt);
	free(p->accepted);
	free(p->results);
	free(p);
}

/* ------------------------------------------------------------ session */

static void
proto_ehlo(struct smtp_proto *p)
{
	p->caps = 0;
	p->max_size = 0;
	p->state = P_EHLO;
	proto_send(p, "%s %s", p->p.lmtp ? "LHLO" : "EHLO", p->p.helo_name);
}

static void
proto_ready(struct smtp_proto *p)
{
	p->state = P_READY;
	p->was_ready = true;
	proto_simple_event(p, SMTP_EV_READY);
}

/* After EHLO/HELO (and TLS): AUTH if wanted, else ready. */
static void
proto_after_hello(struct smtp_proto *p)
{
	char buf[1024];
	size_t ul, pl;
	struct buf b;

	if (p->p.auth_user == NULL) {
		proto_ready(p);
		return;
	}
	if (!p->tls_active) {
		proto_fail(p, MAIL_TEMP, "4.7.10", "not sending credentials to "
		    "%s without TLS", p->p.peer_name ? p->p.peer_name : "peer");
		return;
	}
	ul = strlen(p->p.auth_user);
	pl = p->p.auth_pass ? strlen(p->p.auth_pass) : 0;
	if (p->caps & SMTP_CAP_AUTH_PLAIN) {
		if (ul + pl + 2 > sizeof(buf)) {
			proto_fail(p, MAIL_TEMP, "4.7.0", "credentials too long");
			return;
		}
		buf[0] = '\0';
		memcpy(buf + 1, p->p.auth_user, ul);
		buf[1 + ul] = '\0';
		memcpy(buf + 2 + ul, p->p.auth_pass ? p->p.auth_pass : "", pl);
		buf_init(&b);
		proto_b64(buf, ul + pl + 2, &b);
		explicit_bzero(buf, sizeof(buf));
		p->state = P_AUTH;
		proto_send(p, "AUTH PLAIN %s", buf_cstr(&b));
		explicit_bzero(b.data, b.len);
		buf_fini(&b);
		return;
	}
	if (p->caps & SMTP_CAP_AUTH_LOGIN) {
		p->state = P_AUTH;
		proto_send(p, "AUTH LOGIN");
		return;
	}
	proto_fail(p, MAIL_TEMP, "4.7.0", "%s does not offer AUTH PLAIN or "
	    "LOGIN", p->p.peer_name ? p->p.peer_name : "peer");
}

/* After EHLO: STARTTLS per tls_mode, then the rest. */
static void
proto_after_ehlo(struct smtp_proto *p)
{
	bool want = p->p.tls_mode == SMTP_TLS_MAY ||
	    p->p.tls_mode == SMTP_TLS_ENCRYPT || p->p.tls_mode == SMTP_TLS_VERIFY;
	bool must = p->p.tls_mode == SMTP_TLS_ENCRYPT ||
	    p->p.tls_mode == SMTP_TLS_VERIFY;

	if (!p->tls_active && want && (p->caps & SMTP_CAP_STARTTLS)) {
		p->state = P_STARTTLS;
		proto_send(p, "STARTTLS");
		return;
	}
	if (!p->tls_active && must) {
		proto_fail(p, MAIL_TEMP, "4.7.4", "TLS is required (tls = %s) "
		    "but %s does not offer STARTTLS", p->p.tls_mode ==
		    SMTP_TLS_VERIFY ? "verify" : "encrypt",
		    p->p.peer_name ? p->p.peer_name : "the peer");
		return;
	}
	proto_after_hello(p);
}

/* One EHLO keyword line ("SIZE 1000", "AUTH PLAIN LOGIN"). */
static void
proto_cap_line(struct smtp_proto *p, const char *l, size_t len)
{
	char kw[32];
	size_t k = 0;

	while (k < len && k < sizeof(kw) - 1 && l[k] != ' ' && l[k] != '=') {
		kw[k] = (char)toupper((unsigned char)l[k]);
		k++;
	}
	kw[k] = '\0';
	if (!strcmp(kw, "PIPELINING"))
		p->caps |= SMTP_CAP_PIPELINING;
	else if (!strcmp(kw, "8BITMIME"))
		p->caps |= SMTP_CAP_8BITMIME;
	else if (!strcmp(kw, "SMTPUTF8"))
		p->caps |= SMTP_CAP_SMTPUTF8;
	else if (!strcmp(kw, "DSN"))
		p->caps |= SMTP_CAP_DSN;
	else if (!strcmp(kw, "STARTTLS"))
		p->caps |= SMTP_CAP_STARTTLS;
	else if (!strcmp(kw, "CHUNKING"))
		p->caps |= SMTP_CAP_CHUNKING;
	else if (!strcmp(kw, "ENHANCEDSTATUSCODES"))
		p->caps |= SMTP_CAP_ENHANCED;
	else if (!strcmp(kw, "SIZE")) {
		p->caps |= SMTP_CAP_SIZE;
		if (k < len) {
			char num[24];
			size_t n = len - k - 1 < sizeof(num) - 1 ?
			    len - k - 1 : sizeof(num) - 1;

			memcpy(num, l + k + 1, n);
			num[n] = '\0';
			p->max_size = strtoull(num, NULL, 10);
		}
	} else if (!strcmp(kw, "AUTH")) {
		const char *s = l + k, *e = l + len;

		while (s < e) {
			const char *w;

			while (s < e && (*s == ' ' || *s == '='))
				s++;
			w = s;
			while (s < e && *s != ' ')
				s++;
			if (s - w == 5 && !strncasecmp(w, "PLAIN", 5))
				p->caps |= SMTP_CAP_AUTH_PLAIN;
			else if (s - w == 5 && !strncasecmp(w, "LOGIN", 5))
				p->caps |= SMTP_CAP_AUTH_LOGIN;
		}
	}
}

/* ------------------------------------------------------- transactions */

static void
proto_expect(struct smtp_proto *p, enum tcmd c, size_t rcpt)
{
	size_t i;

	if (p->expect_head + p->expect_n == p->expect_cap) {
		size_t cap = p->expect_cap ? p->expect_cap * 2 : 16;

		/* compact first */
		for (i = 0; i < p->expect_n; i++) {
			p->expect[i] = p->expect[p->expect_head + i];
			p->expect_rcpt[i] = p->expect_rcpt[p->expect_head + i];
		}
		p->expect_head = 0;
		if (p->expect_n == p->expect_cap) {
			p->expect = xreallocarray(p->expect, cap,
			    sizeof(*p->expect));
			p->expect_rcpt = xreallocarray(p->expect_rcpt, cap,
			    sizeof(*p->expect_rcpt));
			p->expect_cap = cap;
		}
	}
	p->expect[p->expect_head + p->expect_n] = c;
	p->expect_rcpt[p->expect_head + p->expect_n] = rcpt;
	p->expect_n++;
}

static void
proto_send_mail(struct smtp_proto *p)
{
	const struct smtp_txn *t = p->txn;
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "MAIL FROM:<%s>", t->sender);
	if (p->caps & SMTP_CAP_SIZE)
		buf_printf(&b, " SIZE=%llu", (unsigned long long)t->size);
	if (t->body_8bit && (p->caps & SMTP_CAP_8BITMIME))
		buf_puts(&b, " BODY=8BITMIME");
	if (t->needs_smtputf8)
		buf_puts(&b, " SMTPUTF8");
	if (p->caps & SMTP_CAP_DSN) {
		if (t->ret != NULL && proto_param_ok(t->ret))
			buf_printf(&b, " RET=%s", t->ret);
		if (t->envid != NULL && proto_param_ok(t->envid))
			buf_printf(&b, " ENVID=%s", t->envid);
	}
	proto_send(p, "%s", buf_cstr(&b));
	buf_fini(&b);
	proto_expect(p, T_MAIL, 0);
}

static void
proto_send_rcpt(struct smtp_proto *p, size_t i)
{
	const struct smtp_txn *t = p->txn;
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "RCPT TO:<%s>", t->rcpts[i]);
	if (p->caps & SMTP_CAP_DSN) {
		if (t->notify != NULL && t->notify[i] != NULL &&
		    proto_param_ok(t->notify[i]))
			buf_printf(&b, " NOTIFY=%s", t->notify[i]);
		if (t->orcpt != NULL && t->orcpt[i] != NULL &&
		    proto_param_ok(t->orcpt[i]))
			buf_printf(&b, " ORCPT=%s", t->orcpt[i]);
	}
	proto_send(p, "%s", buf_cstr(&b));
	buf_fini(&b);
	proto_expect(p, T_RCPT, i);
}

static void
proto_txn_done(struct smtp_proto *p)
{
	struct smtp_event e;

	memset(&e, 0, sizeof(e));
	e.kind = SMTP_EV_TXN_DONE;
	e.results = p->results;
	e.n_results = p->txn_copy.n_rcpts;
	p->expect_n = 0;
	p->expect_head = 0;
	proto_event(p, &e);
	proto_ready(p);
}

/* All recipients get the same status (MAIL refused, DATA refused, ...),
 * except those already refused on their own. */
static void
proto_all(struct smtp_proto *p, const struct mail_status *st, bool only_accepted)
{
	size_t i;

	for (i = 0; i < p->txn_copy.n_rcpts; i++)
		if (!only_accepted || p->accepted[i])
			p->results[i] = *st;
}

int
smtp_proto_begin(struct smtp_proto *p, const struct smtp_txn *t)
{
	struct mail_status st;
	size_t i;

	if (p->state != P_READY || t->n_rcpts == 0)
		return -1;
	if (t->body_8bit && !(p->caps & SMTP_CAP_8BITMIME))
		return -1;
	if (t->n_rcpts > p->n_results_cap) {
		p->accepted = xreallocarray(p->accepted, t->n_rcpts,
		    sizeof(*p->accepted));
		p->results = xreallocarray(p->results, t->n_rcpts,
		    sizeof(*p->results));
		p->n_results_cap = t->n_rcpts;
	}
	p->txn_copy = *t;
	p->txn = &p->txn_copy;
	memset(p->accepted, 0, t->n_rcpts * sizeof(*p->accepted));
	/* Only a reply may make a recipient anything but "not attempted". */
	for (i = 0; i < t->n_rcpts; i++)
		mail_status_set(&p->results[i], MAIL_TEMP, "4.4.0", "%s sent "
		    "no reply for this recipient (not attempted)",
		    p->p.peer_name ? p->p.peer_name : "the peer");
	p->n_accepted = 0;
	p->mail_failed = false;
	p->expect_n = p->expect_head = 0;
	p->next_rcpt = 0;
	p->state = P_TXN;
	/* Decisions that need no command. */
	if ((p->caps & SMTP_CAP_SIZE) && p->max_size > 0 &&
	    t->size > p->max_size) {
		mail_status_set(&st, MAIL_PERM, "5.3.4", "message too big for "
		    "%s (%llu > %llu bytes)", p->p.peer_name ? p->p.peer_name :
		    "the peer", (unsigned long long)t->size,
		    (unsigned long long)p->max_size);
		proto_all(p, &st, false);
		proto_txn_done(p);
		return 0;
	}
	if (t->needs_smtputf8 && !(p->caps & SMTP_CAP_SMTPUTF8)) {
		mail_status_set(&st, MAIL_PERM, "5.6.7", "an address needs "
		    "SMTPUTF8, which %s does not offer", p->p.peer_name ?
		    p->p.peer_name : "the peer");
		proto_all(p, &st, false);
		proto_txn_done(p);
		return 0;
	}
	/* RSET between transactions on a reused connection, as the IMC did:
	 * every transaction starts from a known state. */
	if (p->txns++ > 0 || p->need_rset) {
		proto_send(p, "RSET");
		proto_expect(p, T_RSET, 0);
		p->need_rset = false;
		if (!(p->caps & SMTP_CAP_PIPELINING))
			return 0;
	}
	proto_send_mail(p);
	if (p->caps & SMTP_CAP_PIPELINING) {
		for (i = 0; i < t->n_rcpts; i++)
			proto_send_rcpt(p, i);
		proto_send(p, "DATA");
		proto_expect(p, T_DATA, 0);
		p->next_rcpt = t->n_rcpts;
	}
	return 0;
}

/* Not pipelined: after a reply, the next command of the transaction. */
static void
proto_txn_next(struct smtp_proto *p, enum tcmd done)
{
	if (p->caps & SMTP_CAP_PIPELINING)
		return;
	if (done == T_RSET) {
		proto_send_mail(p);
		return;
	}
	if (p->mail_failed) {
		p->need_rset = true;
		proto_txn_done(p);
		return;
	}
	if (p->next_rcpt < p->txn->n_rcpts) {
		proto_send_rcpt(p, p->next_rcpt++);
		return;
	}
	if (done == T_RCPT || done == T_MAIL) {
		if (p->n_accepted == 0) {
			p->need_rset = true;
			proto_txn_done(p);
			return;
		}
		proto_send(p, "DATA");
		proto_expect(p, T_DATA, 0);
	}
}

static void
proto_txn_reply(struct smtp_proto *p)
{
	enum tcmd c;
	size_t r;
	struct mail_status st;
	char what[64];

	if (p->expect_n == 0) {
		proto_fail(p, MAIL_TEMP, "4.5.0", "protocol error: unexpected "
		    "reply %d", p->reply_code);
		return;
	}
	c = p->expect[p->expect_head];
	r = p->expect_rcpt[p->expect_head];
	p->expect_head++;
	p->expect_n--;
	switch (c) {
	case T_RSET:
		if (p->reply_code != 250) {
			proto_wrong_reply(p, "RSET");
			return;
		}
		break;
	case T_MAIL:
		if (p->reply_code < 400 && p->reply_code != 250 &&
		    p->reply_code != 251) {
			proto_wrong_reply(p, "MAIL FROM");
			return;
		}
		if (p->reply_code >= 400) {
			proto_status(p, &st, p->reply_code == 552 ? "5.3.4" :
			    NULL, "MAIL FROM");
			p->mail_failed = true;
			p->mail_status = st;
			proto_all(p, &st, false);
		}
		break;
	case T_RCPT:
		if (p->reply_code < 400 && p->reply_code != 250 &&
		    p->reply_code != 251) {
			proto_wrong_reply(p, "RCPT TO");
			return;
		}
		if (p->mail_failed)
			break;
		if (p->reply_code < 400) {
			p->accepted[r] = true;
			p->n_accepted++;
		} else {
			snprintf(what, sizeof(what), "RCPT TO");
			proto_status(p, &p->results[r], NULL, what);
		}
		break;
	case T_DATA:
		if (p->reply_code == 354) {
			/* LMTP would owe no reply to a dot without
			 * recipients (RFC 2033 wants 503 to this DATA). */
			if (p->p.lmtp && (p->mail_failed ||
			    p->n_accepted == 0)) {
				proto_wrong_reply(p, "DATA");
				return;
			}
			if (p->mail_failed || p->n_accepted == 0) {
				/* Nothing to send: end the data at once. */
				proto_send(p, ".");
				proto_expect(p, T_DOT_DISCARD, 0);
				return;
			}
			p->state = P_BODY;
			proto_simple_event(p, SMTP_EV_SEND_BODY);
			return;
		}
		if (p->reply_code < 400) {
			proto_wrong_reply(p, "DATA");
			return;
		}
		if (!p->mail_failed && p->n_accepted > 0) {
			proto_status(p, &st, NULL, "DATA");
			proto_all(p, &st, true);
			p->n_accepted = 0;
		}
		p->need_rset = true;
		proto_txn_done(p);
		return;
	case T_DOT_DISCARD:
		p->need_rset = true;
		proto_txn_done(p);
		return;
	}
	if (p->expect_n == 0)
		proto_txn_next(p, c);
}

/* LMTP: one reply after the dot per accepted recipient, in RCPT order;
 * each decides its recipient alone. */
static void
proto_lmtp_dot_reply(struct smtp_proto *p)
{
	size_t n = p->txn_copy.n_rcpts;
	struct mail_status *st;

	while (p->dot_next < n && !p->accepted[p->dot_next])
		p->dot_next++;
	if (p->dot_next == n) {
		proto_fail(p, MAIL_TEMP, "4.5.0", "protocol error: unexpected "
		    "reply %d", p->reply_code);
		return;
	}
	if (p->reply_code != 250 && p->reply_code < 400) {
		proto_wrong_reply(p, "end of data");
		return;
	}
	st = &p->results[p->dot_next];
	if (p->reply_code == 250)
		proto_ok_status(p, st, "end of data");
	else {
		proto_status(p, st, NULL, "end of data");
		p->need_rset = true;
	}
	p->dot_next++;
	while (p->dot_next < n && !p->accepted[p->dot_next])
		p->dot_next++;
	if (p->dot_next == n)
		proto_txn_done(p);
}

static void
proto_dot_reply(struct smtp_proto *p)
{
	struct mail_status st;
	size_t i;

	if (p->p.lmtp) {
		proto_lmtp_dot_reply(p);
		return;
	}

	if (p->reply_code == 250)
		proto_ok_status(p, &st, "end of data");
	else if (p->reply_code < 400) {
		proto_wrong_reply(p, "end of data");
		return;
	} else
		proto_status(p, &st, NULL, "end of data");
	for (i = 0; i < p->txn_copy.n_rcpts; i++)
		if (p->accepted[i])
			p->results[i] = st;
	if (st.kind != MAIL_OK)
		p->need_rset = true;
	proto_txn_done(p);
}

/* ------------------------------------------------------------- replies */

/* A complete reply is in p->reply_code / p->reply: act on it. */
static void
proto_reply(struct smtp_proto *p)
{
	int cls = p->reply_code / 100;
	struct mail_status st;

	switch (p->state) {
	case P_GREETING:
		if (p->reply_code == 220) {
			proto_ehlo(p);
			return;
		}
		proto_status(p, &st, NULL, "the greeting");
		/* Any refused greeting: try the next host, never bounce. */
		proto_fail(p, MAIL_TEMP, cls == 5 ? "4.4.1" : st.dsn, "%s",
		    st.text);
		return;
	case P_EHLO:
		if (cls == 2) {
			proto_after_ehlo(p);
			return;
		}
		if (cls == 5 && !p->p.lmtp) {
			p->state = P_HELO;
			proto_send(p, "HELO %s", p->p.helo_name);
			return;
		}
		proto_status(p, &st, NULL, p->p.lmtp ? "LHLO" : "EHLO");
		/* A refused LHLO is the store refusing us for now: defer. */
		proto_fail(p, MAIL_TEMP, cls == 5 ? "4.4.1" : st.dsn, "%s",
		    st.text);
		return;
	case P_HELO:
		if (cls == 2) {
			p->caps = 0;
			proto_after_ehlo(p);
			return;
		}
		proto_status(p, &st, NULL, "HELO");
		proto_fail(p, MAIL_TEMP, "4.5.0", "%s", st.text);
		return;
	case P_STARTTLS:
		if (p->reply_code == 220) {
			if (p->in.len > 0) {
				proto_fail(p, MAIL_TEMP, "4.7.5", "protocol "
				    "error: data after the 220 to STARTTLS "
				    "(command injection?)");
				return;
			}
			p->state = P_TLS_WAIT;
			proto_simple_event(p, SMTP_EV_NEED_TLS);
			return;
		}
		if (p->p.tls_mode == SMTP_TLS_MAY) {
			proto_after_hello(p);
			return;
		}
		proto_status(p, &st, NULL, "STARTTLS");
		proto_fail(p, MAIL_TEMP, "4.7.4", "%s", st.text);
		return;
	case P_AUTH:
	case P_AUTH_USER:
	case P_AUTH_PASS:
		if (p->reply_code == 235) {
			proto_ready(p);
			return;
		}
		if (p->reply_code == 334 && p->state != P_AUTH_PASS &&
		    !(p->state == P_AUTH && (p->caps & SMTP_CAP_AUTH_PLAIN))) {
			const char *v = p->state == P_AUTH ? p->p.auth_user :
			    p->p.auth_pass ? p->p.auth_pass : "";
			struct buf b;

			buf_init(&b);
			proto_b64(v, strlen(v), &b);
			p->state = p->state == P_AUTH ? P_AUTH_USER : P_AUTH_PASS;
			proto_send(p, "%s", buf_cstr(&b));
			explicit_bzero(b.data, b.len);
			buf_fini(&b);
			return;
		}
		proto_status(p, &st, NULL, "AUTH");
		proto_fail(p, MAIL_TEMP, "4.7.8", "authentication failed: %s",
		    st.text);
		return;
	case P_TXN:
		proto_txn_reply(p);
		return;
	case P_DOT:
		proto_dot_reply(p);
		return;
	case P_QUIT:
		p->state = P_DONE;
		proto_simple_event(p, SMTP_EV_CLOSED);
		return;
	case P_READY:
	case P_TLS_WAIT:
	case P_BODY:
		proto_status(p, &st, NULL, "nothing");
		proto_fail(p, MAIL_TEMP, "4.5.0", "protocol error: a reply "
		    "nothing asked for: %s", st.text);
		return;
	case P_DONE:
		return;
	}
}

/* One line of a reply; 0, or -1 when the session has failed. */
static int
proto_line(struct smtp_proto *p, const char *l, size_t len)
{
	int code;
	bool last;
	char *line;

	if (p->p.log != NULL) {
		line = xstrndup(l, len);
		proto_log(p, '<', line);
		free(line);
	}
	if (len < 3 || !isdigit((unsigned char)l[0]) ||
	    !isdigit((unsigned char)l[1]) || !isdigit((unsigned char)l[2]) ||
	    l[0] < '2' || l[0] > '5' || (len > 3 && l[3] != ' ' && l[3] != '-')) {
		proto_fail(p, MAIL_TEMP, "4.5.0", "protocol error: malformed "
		    "reply line from %s", p->p.peer_name ? p->p.peer_name :
		    "the peer");
		return -1;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	last = len == 3 || l[3] == ' ';
	if (p->reply_lines == 0) {
		p->reply_code = code;
		buf_reset(&p->reply);
		p->reply_enh[0] = '\0';
	} else if (code != p->reply_code) {
		proto_fail(p, MAIL_TEMP, "4.5.0", "protocol error: reply lines "
		    "with different codes (%d, %d)", p->reply_code, code);
		return -1;
	}
	if (++p->reply_lines > p->p.max_lines) {
		proto_fail(p, MAIL_TEMP, "4.5.0", "protocol error: reply of "
		    "more than %zu lines", p->p.max_lines);
		return -1;
	}
	if (len > 4) {
		const char *t = l + 4;
		size_t tl = len - 4;

		if (p->state == P_EHLO && p->reply_lines > 1)
			proto_cap_line(p, t, tl);
		if (p->reply_lines == 1) {
			/* enhanced status code: class.subject.detail */
			size_t k = 0;
			int dots = 0;

			while (k < tl && k < 15 && (isdigit((unsigned char)t[k]) ||
			    t[k] == '.')) {
				if (t[k] == '.')
					dots++;
				k++;
			}
			if (dots == 2 && k >= 5 && (k == tl || t[k] == ' ') &&
			    t[0] == l[0] && t[1] == '.') {
				memcpy(p->reply_enh, t, k);
				p->reply_enh[k] = '\0';
			}
		}
		if (p->reply.len < 200) {
			if (p->reply.len > 0)
				buf_putc(&p->reply, ' ');
			buf_append(&p->reply, t, tl < 200 ? tl : 200);
		}
	}
	if (!last)
		return 0;
	p->reply_lines = 0;
	p->replies++;
	proto_reply(p);
	return p->state == P_DONE ? -1 : 0;
}

int
smtp_proto_feed(struct smtp_proto *p, const char *data, size_t len)
{
	char *nl;
	size_t l, used = 0;

	if (p->state == P_DONE)
		return -1;
	buf_append(&p->in, data, len);
	while (p->state != P_DONE &&
	    (nl = memchr(p->in.data + used, '\n', p->in.len - used)) != NULL) {
		l = (size_t)(nl - (p->in.data + used));
		if (l > p->p.max_line) {
			proto_fail(p, MAIL_TEMP, "4.5.0", "protocol error: reply "
			    "line longer than %zu bytes", p->p.max_line);
			return -1;
		}
		{
			const char *line = p->in.data + used;
			size_t ll = l;

			if (ll > 0 && line[ll - 1] == '\r')
				ll--;
			used += l + 1;
			/* STARTTLS: what follows the 220 must not be read
			 * as plain text; proto_reply checks p->in. */
			if (p->state == P_STARTTLS) {
				/* a copy of exactly ll bytes: the line may
				 * hold NUL bytes, so not strndup */
				char *copy = xmalloc(ll + 1);

				memcpy(copy, line, ll);
				copy[ll] = '\0';
				buf_consume(&p->in, used);
				used = 0;
				(void)proto_line(p, copy, ll);
				free(copy);
				continue;
			}
			if (proto_line(p, line, ll) == -1)
				return -1;
		}
	}
	if (used > 0)
		buf_consume(&p->in, used);
	if (p->state != P_DONE && p->in.len > p->p.max_line) {
		proto_fail(p, MAIL_TEMP, "4.5.0", "protocol error: reply line "
		    "longer than %zu bytes", p->p.max_line);
		return -1;
	}
	return p->state == P_DONE ? -1 : 0;
}

const char *
smtp_proto_output(struct smtp_proto *p, size_t *len)
{
	*len = p->out.len - p->out_off;
	return p->out.data ? p->out.data + p->out_off : "";
}

void
smtp_proto_output_consumed(struct smtp_proto *p, size_t n)
{
	p->out_off += n;
	if (p->out_off >= p->out.len) {
		buf_reset(&p->out);
		p->out_off = 0;
	}
}

int
smtp_proto_next_event(struct smtp_proto *p, struct smtp_event *e)
{
	if (p->ev_n == 0)
		return 0;
	*e = p->ev[p->ev_head];
	p->ev_head = (p->ev_head + 1) % PROTO_MAX_EVENTS;
	p->ev_n--;
	return 1;
}

void
smtp_proto_tls_done(struct smtp_proto *p, bool ok, const char *why)
{
	if (p->state != P_TLS_WAIT && !(p->state == P_GREETING &&
	    p->p.tls_mode == SMTP_TLS_IMPLICIT))
		return;
	if (!ok) {
		proto_fail(p, MAIL_TEMP, "4.7.5", "TLS with %s failed: %s",
		    p->p.peer_name ? p->p.peer_name : "the peer",
		    why ? why : "handshake error");
		return;
	}
	p->tls_active = true;
	if (p->state == P_TLS_WAIT) {
		buf_reset(&p->in);
		proto_ehlo(p);	/* RFC 3207: forget what was learnt */
	}
}

void
smtp_proto_body_done(struct smtp_proto *p)
{
	if (p->state != P_BODY)
		return;
	p->state = P_DOT;
	p->dot_next = 0;
}

void
smtp_proto_quit(struct smtp_proto *p)
{
	if (p->state != P_READY)
		return;
	p->state = P_QUIT;
	proto_send(p, "QUIT");
}

void
smtp_proto_lost(struct smtp_proto *p, const char *why)
{
	const char *peer = p->p.peer_name ? p->p.peer_name : "the peer";

	switch (p->state) {
	case P_DONE:
		return;
	case P_QUIT:
		p->state = P_DONE;
		proto_simple_event(p, SMTP_EV_CLOSED);
		return;
	case P_DOT:
		proto_fail(p, MAIL_TEMP, "4.4.2", "connection to %s lost after "
		    "the message was sent and before the reply (%s): possible "
		    "duplicate", peer, why);
		return;
	case P_GREETING:
		proto_fail(p, MAIL_TEMP, "4.4.1", "%s: %s before the greeting",
		    peer, why);
		return;
	default:
		proto_fail(p, MAIL_TEMP, "4.4.2", "connection to %s lost: %s",
		    peer, why);
		return;
	}
}

enum smtp_stage
smtp_proto_stage(const struct smtp_proto *p)
{
	switch (p->state) {
	case P_GREETING:
		return SMTP_STAGE_GREETING;
	case P_TXN:
		if (p->expect_n > 0 && p->expect[p->expect_head +
		    p->expect_n - 1] == T_DATA && p->expect_n == 1)
			return SMTP_STAGE_DATA_INIT;
		return SMTP_STAGE_COMMAND;
	case P_BODY:
		return SMTP_STAGE_DATA_BLOCK;
	case P_DOT:
		return SMTP_STAGE_DATA_DONE;
	case P_READY:
	case P_DONE:
		return SMTP_STAGE_IDLE;
	default:
		return SMTP_STAGE_COMMAND;
	}
}

uint64_t
smtp_proto_replies(const struct smtp_proto *p)
{
	return p->replies;
}

const char *
smtp_proto_stage_name(const struct smtp_proto *p)
{
	static const char *const names[] = { "greeting", "command",
	    "DATA", "data block", "end of data", "idle" };

	return names[smtp_proto_stage(p)];
}

bool
smtp_proto_has(const struct smtp_proto *p, enum smtp_cap cap)
{
	return (p->caps & (unsigned)cap) != 0;
}

uint64_t
smtp_proto_max_size(const struct smtp_proto *p)
{
	return p->max_size;
}

/* ------------------------------------------------------------- dotstuff */

int
smtp_dotstuff(struct smtp_dotstuff *ds, const char *in, size_t len,
    struct buf *out)
{
	size_t i, start = 0;

	if (buf_reserve(out, len + len / 64 + 8) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		bool at_start = !ds->any || ds->last == '\n';

		if (at_start && in[i] == '.') {
			/* double it: copy up to here, then one extra dot */
			if (buf_append(out, in + start, i - start) == -1 ||
			    buf_putc(out, '.') == -1)
				return -1;
			start = i;
		}
		ds->last = in[i];
		ds->any = true;
	}
	return buf_append(out, in + start, len - start);
}

int
smtp_dotstuff_end(struct smtp_dotstuff *ds, struct buf *out)
{
	if (ds->any && ds->last != '\n')
		return buf_puts(out, "\r\n.\r\n");
	return buf_puts(out, ".\r\n");
}
