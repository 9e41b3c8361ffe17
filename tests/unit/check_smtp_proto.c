/*
 * check_smtp_proto - the SMTP client engine without sockets: scripted
 * server replies in, exact commands and events out. Every multi-reply
 * script is also fed one byte at a time, since a reply may arrive split
 * anywhere. Dot-stuffing is checked at every split point of a sample.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtp_proto.h"

struct run {
	struct smtp_proto *p;
	struct buf sent;	/* every byte the engine asked to send */
	struct buf log;		/* the transcript */
	struct buf events;	/* "READY TXN(OK,PERM) FAILED(4.7.4) ..." */
	struct mail_status last_fail;
	struct mail_status results[8];
	size_t	 n_results;
};

static void
log_cb(void *arg, char dir, const char *line)
{
	struct run *r = arg;

	buf_printf(&r->log, "%c %s\n", dir, line);
}

static void
run_init(struct run *r, const struct smtp_proto_params *pp0)
{
	struct smtp_proto_params pp = *pp0;

	memset(r, 0, sizeof(*r));
	buf_init(&r->sent);
	buf_init(&r->log);
	buf_init(&r->events);
	pp.log = log_cb;
	pp.log_arg = r;
	if (pp.helo_name == NULL)
		pp.helo_name = "client.example";
	if (pp.peer_name == NULL)
		pp.peer_name = "mx.test";
	r->p = smtp_proto_new(&pp);
	ck_assert_ptr_nonnull(r->p);
}

static void
run_fini(struct run *r)
{
	smtp_proto_free(r->p);
	buf_fini(&r->sent);
	buf_fini(&r->log);
	buf_fini(&r->events);
}

/* Take the output and the events after some input. */
static void
drain(struct run *r)
{
	struct smtp_event ev;
	const char *out;
	size_t len, i;

	out = smtp_proto_output(r->p, &len);
	buf_append(&r->sent, out, len);
	smtp_proto_output_consumed(r->p, len);
	while (smtp_proto_next_event(r->p, &ev) == 1) {
		switch (ev.kind) {
		case SMTP_EV_NEED_TLS:
			buf_puts(&r->events, "NEED_TLS ");
			break;
		case SMTP_EV_READY:
			buf_puts(&r->events, "READY ");
			break;
		case SMTP_EV_SEND_BODY:
			buf_puts(&r->events, "BODY ");
			break;
		case SMTP_EV_TXN_DONE:
			buf_puts(&r->events, "TXN(");
			r->n_results = ev.n_results;
			for (i = 0; i < ev.n_results && i < 8; i++) {
				r->results[i] = ev.results[i];
				buf_printf(&r->events, "%s%s", i ? "," : "",
				    ev.results[i].dsn);
			}
			buf_puts(&r->events, ") ");
			break;
		case SMTP_EV_FAILED:
			r->last_fail = ev.status;
			buf_printf(&r->events, "FAILED(%s%s) ", ev.status.dsn,
			    ev.before_ready ? ",early" : "");
			break;
		case SMTP_EV_CLOSED:
			buf_puts(&r->events, "CLOSED ");
			break;
		}
	}
	out = smtp_proto_output(r->p, &len);
	buf_append(&r->sent, out, len);
	smtp_proto_output_consumed(r->p, len);
}

static void
feed(struct run *r, const char *s)
{
	smtp_proto_feed(r->p, s, strlen(s));
	drain(r);
}

static void
feed_bytewise(struct run *r, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		smtp_proto_feed(r->p, s + i, 1);
	drain(r);
}

static const char *rcpts2[] = { "bob@x.test", "carol@x.test" };

static struct smtp_txn
txn2(void)
{
	struct smtp_txn t;

	memset(&t, 0, sizeof(t));
	t.sender = "alice@example.com";
	t.rcpts = rcpts2;
	t.n_rcpts = 2;
	t.size = 1234;
	return t;
}

#define EHLO_PIPE "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n" \
	"250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"

/* one whole pipelined session, fed whole or byte by byte */
static void
pipelined_session(bool bytewise)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	struct run r;
	void (*f)(struct run *, const char *) = bytewise ? feed_bytewise : feed;

	run_init(&r, &pp);
	f(&r, "220-mx.test ESMTP\r\n220 welcome\r\n");
	ck_assert_str_eq(buf_cstr(&r.sent), "EHLO client.example\r\n");
	f(&r, EHLO_PIPE);
	ck_assert_str_eq(buf_cstr(&r.events), "READY ");
	ck_assert(smtp_proto_has(r.p, SMTP_CAP_PIPELINING));
	ck_assert_uint_eq(smtp_proto_max_size(r.p), 10000);
	buf_reset(&r.sent);
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), 0);
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.sent), "MAIL FROM:<alice@example.com> "
	    "SIZE=1234\r\nRCPT TO:<bob@x.test>\r\nRCPT TO:<carol@x.test>\r\n"
	    "DATA\r\n");
	f(&r, "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n"
	    "354 go\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY BODY ");
	ck_assert_int_eq(smtp_proto_stage(r.p), SMTP_STAGE_DATA_BLOCK);
	smtp_proto_body_done(r.p);
	ck_assert_int_eq(smtp_proto_stage(r.p), SMTP_STAGE_DATA_DONE);
	f(&r, "250 2.0.0 queued as X\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY BODY TXN(2.0.0,5.1.1) "
	    "READY ");
	ck_assert_int_eq(r.results[0].kind, MAIL_OK);
	ck_assert_int_eq(r.results[1].kind, MAIL_PERM);
	ck_assert_msg(strstr(r.results[1].text, "mx.test said: 550 5.1.1 no "
	    "such user (in reply to RCPT TO)") != NULL, "%s", r.results[1].text);
	/* reuse: RSET first, in the same pipelined write */
	buf_reset(&r.sent);
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), 0);
	drain(&r);
	ck_assert_msg(strncmp(buf_cstr(&r.sent), "RSET\r\nMAIL FROM:", 16) == 0,
	    "%s", buf_cstr(&r.sent));
	run_fini(&r);
}

START_TEST(pipelined_session_whole)
{
	pipelined_session(false);
}
END_TEST

START_TEST(pipelined_session_byte_by_byte)
{
	pipelined_session(true);
}
END_TEST

START_TEST(without_pipelining_one_command_at_a_time)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 SIZE\r\n");
	buf_reset(&r.sent);
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), 0);
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.sent), "MAIL FROM:<alice@example.com> "
	    "SIZE=1234\r\n");
	feed(&r, "250 ok\r\n");
	ck_assert_str_eq(buf_cstr(&r.sent) + 41, "RCPT TO:<bob@x.test>\r\n");
	feed(&r, "550 no\r\n");
	feed(&r, "550 no\r\n");
	/* nobody accepted: no DATA, the transaction ends */
	ck_assert_str_eq(buf_cstr(&r.events), "READY TXN(5.0.0,5.0.0) READY ");
	ck_assert_ptr_null(strstr(buf_cstr(&r.sent), "DATA"));
	run_fini(&r);
}
END_TEST

/* issue 13.1: a reused connection to a peer without PIPELINING: the
 * second transaction sends RSET, MAIL, then every RCPT again, and no
 * recipient counts as delivered without the peer's replies. */
START_TEST(without_pipelining_every_transaction_sends_its_rcpts)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	struct run r;
	int k;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 8BITMIME\r\n");
	for (k = 0; k < 3; k++) {
		buf_reset(&r.sent);
		buf_reset(&r.events);
		ck_assert_int_eq(smtp_proto_begin(r.p, &t), 0);
		drain(&r);
		if (k > 0) {
			ck_assert_str_eq(buf_cstr(&r.sent), "RSET\r\n");
			feed(&r, "250 flushed\r\n");
		}
		ck_assert_msg(strstr(buf_cstr(&r.sent), "MAIL FROM:<alice@"
		    "example.com>\r\n") != NULL, "%d: %s", k, buf_cstr(&r.sent));
		feed(&r, "250 ok\r\n");
		ck_assert_msg(strstr(buf_cstr(&r.sent), "RCPT TO:<bob@x.test>"
		    "\r\n") != NULL, "transaction %d: %s", k, buf_cstr(&r.sent));
		/* no result before the replies */
		ck_assert_str_eq(buf_cstr(&r.events), "");
		feed(&r, "250 ok\r\n");
		ck_assert_msg(strstr(buf_cstr(&r.sent), "RCPT TO:<carol@x.test>"
		    "\r\n") != NULL, "transaction %d: %s", k, buf_cstr(&r.sent));
		feed(&r, "250 ok\r\n");
		ck_assert_msg(strstr(buf_cstr(&r.sent), "DATA\r\n") != NULL,
		    "%s", buf_cstr(&r.sent));
		feed(&r, "354 go\r\n");
		smtp_proto_body_done(r.p);
		feed(&r, "250 2.0.0 queued\r\n");
		ck_assert_str_eq(buf_cstr(&r.events), "BODY TXN(2.0.0,2.0.0) "
		    "READY ");
	}
	run_fini(&r);
}
END_TEST

/* issue 13.1: results start as "not attempted" (temporary): a status the
 * engine hands over before any reply for a recipient is never OK. */
START_TEST(results_start_temporary)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250 mx\r\n");
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), 0);
	drain(&r);
	/* the peer goes away before answering MAIL */
	smtp_proto_lost(r.p, "connection closed");
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.events), "READY FAILED(4.4.2) ");
	ck_assert_int_eq(r.last_fail.kind, MAIL_TEMP);
	run_fini(&r);
	/* a zeroed status is temporary, never delivered */
	{
		struct mail_status z;

		memset(&z, 0, sizeof(z));
		ck_assert_int_eq(z.kind, MAIL_TEMP);
	}
}
END_TEST

/* issue 13.2: a reply of a class the command never gets is a protocol
 * error (temporary, the peer's words kept), never a delivery. */
struct wrong_reply_case {
	const char *name;
	bool	 pipelining;
	const char *replies;	/* after begin, fed whole */
	const char *in_reply_to;
};

static const struct wrong_reply_case wrong_reply_cases[] = {
	{ "250_to_DATA_pipelined", true,
	  "250 ok\r\n250 ok\r\n250 ok\r\n250 2.0.0 fine\r\n", "DATA" },
	{ "250_to_DATA", false,
	  "250 ok\r\n250 ok\r\n250 ok\r\n250 2.0.0 fine\r\n", "DATA" },
	{ "354_to_MAIL", false, "354 go on\r\n", "MAIL FROM" },
	{ "300_to_MAIL", false, "300 hmm\r\n", "MAIL FROM" },
	{ "354_to_RCPT", false, "250 ok\r\n354 go on\r\n", "RCPT TO" },
	{ "354_to_RCPT_pipelined", true, "250 ok\r\n354 go\r\n", "RCPT TO" },
	{ "220_to_RCPT", false, "250 ok\r\n250 ok\r\n220 what\r\n",
	  "RCPT TO" },
	{ "354_after_the_dot", false,
	  "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n|354 again\r\n",
	  "end of data" },
	{ "251_after_the_dot", true,
	  "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n|251 forwarded\r\n",
	  "end of data" },
};

START_TEST(test_wrong_reply_case)
{
	const struct wrong_reply_case *c = &wrong_reply_cases[_i];
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	struct run r;
	char *copy = strdup(c->replies), *bar;

	ck_assert_ptr_nonnull(copy);
	run_init(&r, &pp);
	feed(&r, c->pipelining ? "220 hi\r\n250-mx\r\n250 PIPELINING\r\n" :
	    "220 hi\r\n250 mx\r\n");
	buf_reset(&r.events);
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), 0);
	drain(&r);
	/* '|' marks where the body is sent */
	if ((bar = strchr(copy, '|')) != NULL)
		*bar = '\0';
	if (c->pipelining)
		feed(&r, copy);
	else {
		/* one reply at a time, as the engine sends one command */
		char *line = copy, *nl;

		while (*line != '\0' && (nl = strstr(line, "\r\n")) != NULL) {
			char save = nl[2];

			nl[2] = '\0';
			feed(&r, line);
			nl[2] = save;
			line = nl + 2;
		}
	}
	if (bar != NULL) {
		ck_assert_msg(strstr(buf_cstr(&r.events), "BODY") != NULL, "%s: %s",
		    c->name, buf_cstr(&r.events));
		smtp_proto_body_done(r.p);
		feed(&r, bar + 1);
	}
	ck_assert_msg(strstr(buf_cstr(&r.events), "TXN") == NULL, "%s: %s",
	    c->name, buf_cstr(&r.events));
	ck_assert_msg(strstr(buf_cstr(&r.events), "FAILED(4.5.0)") != NULL,
	    "%s: %s", c->name, buf_cstr(&r.events));
	ck_assert_int_eq(r.last_fail.kind, MAIL_TEMP);
	ck_assert_msg(strstr(r.last_fail.text, "protocol error") != NULL &&
	    strstr(r.last_fail.text, c->in_reply_to) != NULL, "%s: %s",
	    c->name, r.last_fail.text);
	/* the body is never sent after a 250 to DATA */
	if (strstr(c->name, "250_to_DATA") != NULL)
		ck_assert_ptr_null(strstr(buf_cstr(&r.events), "BODY"));
	free(copy);
	run_fini(&r);
}
END_TEST

START_TEST(ehlo_refused_falls_back_to_helo)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_MAY };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 old\r\n502 what\r\n");
	ck_assert_str_eq(buf_cstr(&r.sent), "EHLO client.example\r\n"
	    "HELO client.example\r\n");
	feed(&r, "250 hello\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY ");
	ck_assert(!smtp_proto_has(r.p, SMTP_CAP_8BITMIME));
	run_fini(&r);
}
END_TEST

START_TEST(refused_greeting_is_temporary_and_early)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "554 go away\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "FAILED(4.4.1,early) ");
	ck_assert_int_eq(r.last_fail.kind, MAIL_TEMP);
	run_fini(&r);
	run_init(&r, &pp);
	feed(&r, "421 4.3.2 busy\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "FAILED(4.3.2,early) ");
	run_fini(&r);
}
END_TEST

START_TEST(mail_refused_fails_every_recipient)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n" EHLO_PIPE);
	smtp_proto_begin(r.p, &t);
	drain(&r);
	feed(&r, "552 message too big\r\n503 no mail\r\n503 no mail\r\n"
	    "503 no mail\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY TXN(5.3.4,5.3.4) READY ");
	ck_assert_msg(strstr(r.results[1].text, "in reply to MAIL FROM") !=
	    NULL, "%s", r.results[1].text);
	run_fini(&r);
}
END_TEST

START_TEST(final_reply_applies_to_accepted_recipients)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n" EHLO_PIPE);
	smtp_proto_begin(r.p, &t);
	drain(&r);
	feed(&r, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	smtp_proto_body_done(r.p);
	feed(&r, "451 4.3.0 try later\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY BODY TXN(4.3.0,4.3.0) "
	    "READY ");
	ck_assert_int_eq(r.results[0].kind, MAIL_TEMP);
	run_fini(&r);
}
END_TEST

START_TEST(size_smtputf8_and_8bit_are_decided_before_mail)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250-SIZE 1000\r\n250 PIPELINING\r\n");
	buf_reset(&r.sent);
	smtp_proto_begin(r.p, &t);	/* 1234 > 1000 */
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.sent), "");
	ck_assert_str_eq(buf_cstr(&r.events), "READY TXN(5.3.4,5.3.4) READY ");
	t.size = 100;
	t.needs_smtputf8 = true;
	smtp_proto_begin(r.p, &t);
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.sent), "");
	ck_assert_msg(strstr(buf_cstr(&r.events), "TXN(5.6.7,5.6.7)") != NULL,
	    "%s", buf_cstr(&r.events));
	t.needs_smtputf8 = false;
	t.body_8bit = true;	/* no 8BITMIME: the driver must downgrade */
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), -1);
	run_fini(&r);
}
END_TEST

START_TEST(dsn_parameters_only_when_offered_and_as_given)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	const char *notify[] = { "SUCCESS,FAILURE", NULL };
	const char *orcpt[] = { "rfc822;bob+2Bx@x.test", "bad=value" };
	struct run r;

	t.notify = notify;
	t.orcpt = orcpt;
	t.ret = "HDRS";
	t.envid = "id+201";
	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250-DSN\r\n250 PIPELINING\r\n");
	buf_reset(&r.sent);
	smtp_proto_begin(r.p, &t);
	drain(&r);
	ck_assert_msg(strstr(buf_cstr(&r.sent), "MAIL FROM:<alice@example.com> "
	    "RET=HDRS ENVID=id+201\r\n") != NULL, "%s", buf_cstr(&r.sent));
	ck_assert_msg(strstr(buf_cstr(&r.sent), "RCPT TO:<bob@x.test> "
	    "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bx@x.test\r\n") !=
	    NULL, "%s", buf_cstr(&r.sent));
	/* a value that could break the command is left out */
	ck_assert_msg(strstr(buf_cstr(&r.sent), "RCPT TO:<carol@x.test>\r\n") !=
	    NULL, "%s", buf_cstr(&r.sent));
	run_fini(&r);
	/* not offered: plain commands */
	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 PIPELINING\r\n");
	buf_reset(&r.sent);
	smtp_proto_begin(r.p, &t);
	drain(&r);
	ck_assert_ptr_null(strstr(buf_cstr(&r.sent), "NOTIFY"));
	ck_assert_ptr_null(strstr(buf_cstr(&r.sent), "RET="));
	run_fini(&r);
}
END_TEST

START_TEST(starttls_then_ehlo_again)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_MAY };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	ck_assert_str_eq(buf_cstr(&r.sent), "EHLO client.example\r\n"
	    "STARTTLS\r\n");
	feed(&r, "220 go ahead\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "NEED_TLS ");
	smtp_proto_tls_done(r.p, true, NULL);
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.sent) + 31, "EHLO client.example\r\n");
	/* what was learnt before TLS is forgotten */
	ck_assert(!smtp_proto_has(r.p, SMTP_CAP_8BITMIME));
	feed(&r, "250-mx\r\n250 PIPELINING\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "NEED_TLS READY ");
	run_fini(&r);
}
END_TEST

START_TEST(starttls_required_but_not_offered)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_ENCRYPT };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 8BITMIME\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "FAILED(4.7.4,early) ");
	run_fini(&r);
	/* with "may" it goes on in clear */
	pp.tls_mode = SMTP_TLS_MAY;
	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 8BITMIME\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY ");
	run_fini(&r);
}
END_TEST

START_TEST(starttls_injection_is_refused)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_MAY };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 STARTTLS\r\n");
	feed(&r, "220 go ahead\r\n250 injected\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "FAILED(4.7.5,early) ");
	run_fini(&r);
}
END_TEST

/* a NUL byte inside the reply to STARTTLS (found by fuzz_smtp_proto: the
 * line was copied with strndup, which stops at the NUL, then read whole) */
START_TEST(nul_byte_in_the_starttls_reply)
{
	static const char reply[] = "220 go\0ahead and read past me\r\n";
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_MAY };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 STARTTLS\r\n");
	smtp_proto_feed(r.p, reply, sizeof(reply) - 1);
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.events), "NEED_TLS ");
	run_fini(&r);
}
END_TEST

START_TEST(auth_plain_and_login_with_masked_log)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_IMPLICIT,
	    .tls_active = true, .auth_user = "user", .auth_pass = "pw" };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
	ck_assert_msg(strstr(buf_cstr(&r.sent), "AUTH PLAIN AHVzZXIAcHc=\r\n")
	    != NULL, "%s", buf_cstr(&r.sent));
	feed(&r, "235 ok\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY ");
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.log), "> AUTH PLAIN ****"));
	ck_assert_ptr_null(strstr(buf_cstr(&r.log), "AHVzZXIAcHc="));
	run_fini(&r);

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 AUTH LOGIN\r\n");
	feed(&r, "334 VXNlcm5hbWU6\r\n");
	feed(&r, "334 UGFzc3dvcmQ6\r\n");
	ck_assert_msg(strstr(buf_cstr(&r.sent), "AUTH LOGIN\r\ndXNlcg==\r\n"
	    "cHc=\r\n") != NULL, "%s", buf_cstr(&r.sent));
	feed(&r, "235 ok\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY ");
	ck_assert_ptr_null(strstr(buf_cstr(&r.log), "dXNlcg=="));
	ck_assert_ptr_null(strstr(buf_cstr(&r.log), "cHc="));
	run_fini(&r);

	/* an empty user name: its base64 is empty, shorter than the mask
	 * (the mask was copied over it: a heap overflow under ASan) */
	{
		struct smtp_proto_params pe = pp;

		pe.auth_user = "";
		run_init(&r, &pe);
		feed(&r, "220 hi\r\n250-mx\r\n250 AUTH LOGIN\r\n");
		feed(&r, "334 VXNlcm5hbWU6\r\n");
		ck_assert_ptr_nonnull(strstr(buf_cstr(&r.log), "> ****\n"));
		run_fini(&r);
	}

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 AUTH PLAIN\r\n");
	feed(&r, "535 5.7.8 bad credentials\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "FAILED(4.7.8,early) ");
	run_fini(&r);
}
END_TEST

START_TEST(auth_is_never_sent_without_tls)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_MAY,
	    .auth_user = "user", .auth_pass = "pw" };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "FAILED(4.7.10,early) ");
	ck_assert_ptr_null(strstr(buf_cstr(&r.sent), "AUTH"));
	run_fini(&r);
}
END_TEST

START_TEST(lost_after_the_dot_is_a_possible_duplicate)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct smtp_txn t = txn2();
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n" EHLO_PIPE);
	smtp_proto_begin(r.p, &t);
	drain(&r);
	feed(&r, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	smtp_proto_body_done(r.p);
	smtp_proto_lost(r.p, "connection closed");
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.events), "READY BODY FAILED(4.4.2) ");
	ck_assert_ptr_nonnull(strstr(r.last_fail.text, "possible duplicate"));
	run_fini(&r);
}
END_TEST

START_TEST(malformed_replies_end_the_session)
{
	static const char *const bad[] = {
		"hello there\r\n",			/* no code */
		"22 short\r\n",				/* two digits */
		"620 out of range\r\n",			/* class 6 */
		"220-first\r\n221 other code\r\n",	/* mixed codes */
		"220x no separator\r\n",
	};
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE,
	    .max_line = 64, .max_lines = 5 };
	struct run r;
	char big[200];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_init(&r, &pp);
		feed(&r, bad[i]);
		ck_assert_msg(strstr(buf_cstr(&r.events), "FAILED(4.5.0") !=
		    NULL, "%s: %s", bad[i], buf_cstr(&r.events));
		run_fini(&r);
	}
	/* a line over the limit, without a line end yet */
	run_init(&r, &pp);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	feed(&r, "220");
	feed(&r, big);
	ck_assert_str_eq(buf_cstr(&r.events), "FAILED(4.5.0,early) ");
	run_fini(&r);
	/* too many lines */
	run_init(&r, &pp);
	feed(&r, "220-a\r\n220-b\r\n220-c\r\n220-d\r\n220-e\r\n220-f\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "FAILED(4.5.0,early) ");
	run_fini(&r);
	/* bare LF line ends are accepted */
	run_init(&r, &pp);
	feed(&r, "220 hi\n250 mx\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY ");
	run_fini(&r);
}
END_TEST

START_TEST(quit_closes)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250 mx\r\n");
	buf_reset(&r.sent);
	smtp_proto_quit(r.p);
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.sent), "QUIT\r\n");
	feed(&r, "221 bye\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "READY CLOSED ");
	run_fini(&r);
}
END_TEST

/* ------------------------------------------------------------------ LMTP */

static const char *rcpts3[] = { "bob@store.test", "carol@store.test",
    "dave@store.test" };

#define LHLO_PIPE "250-store.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n" \
	"250 ENHANCEDSTATUSCODES\r\n"
#define LHLO_PLAIN "250-store.test\r\n250 8BITMIME\r\n"

/*
 * One LMTP transaction of three recipients (RFC 2033). rcpt_replies
 * answers MAIL, the RCPTs and DATA (all at once when pipelined, else one
 * at a time: each "|" piece is fed after the engine sent its command);
 * dot_replies answer the final dot; lost ends the transport after them.
 */
struct lmtp_case {
	const char *name;
	bool	 pipelining;
	const char *rcpt_replies;
	bool	 body;		/* a 354 comes: the body is sent */
	const char *dot_replies;
	bool	 lost;
	const char *want_events;
	enum mail_kind want[3];
	const char *want_text[3];	/* a part of each result's text */
};

static const struct lmtp_case lmtp_cases[] = {
	{ "every_recipient_delivered", true,
	  "250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n"
	  "354 go\r\n", true,
	  "250 2.0.0 <bob> saved\r\n250 2.0.0 <carol> saved\r\n"
	  "250 2.0.0 <dave> saved\r\n", false,
	  "READY BODY TXN(2.0.0,2.0.0,2.0.0) READY ",
	  { MAIL_OK, MAIL_OK, MAIL_OK }, { "<bob> saved", "<carol> saved",
	  "<dave> saved" } },
	{ "one_250_one_452_one_552_each_their_own", true,
	  "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", true,
	  "250 2.0.0 saved\r\n452 4.2.2 Mailbox is full\r\n"
	  "552 5.2.2 Quota exceeded (mailbox for user is full)\r\n", false,
	  "READY BODY TXN(2.0.0,4.2.2,5.2.2) READY ",
	  { MAIL_OK, MAIL_TEMP, MAIL_PERM }, { "saved", "store.test said: "
	  "452 4.2.2 Mailbox is full (in reply to end of data)",
	  "552 5.2.2 Quota exceeded" } },
	{ "refused_at_rcpt_gets_no_reply_after_the_dot", true,
	  "250 ok\r\n250 ok\r\n550 5.1.1 <carol@store.test> User doesn't "
	  "exist: carol@store.test\r\n250 ok\r\n354 go\r\n", true,
	  "451 4.3.0 Temporary internal error\r\n250 2.0.0 saved\r\n", false,
	  "READY BODY TXN(4.3.0,5.1.1,2.0.0) READY ",
	  { MAIL_TEMP, MAIL_PERM, MAIL_OK }, { "451 4.3.0 Temporary internal",
	  "User doesn't exist: carol@store.test (in reply to RCPT TO)",
	  "saved" } },
	{ "without_pipelining_one_at_a_time", false,
	  "250 ok\r\n|250 ok\r\n|452 4.2.2 full\r\n|250 ok\r\n|354 go\r\n",
	  true, "250 2.0.0 saved\r\n552 5.2.2 over quota\r\n", false,
	  "READY BODY TXN(2.0.0,4.2.2,5.2.2) READY ",
	  { MAIL_OK, MAIL_TEMP, MAIL_PERM }, { "saved", "452 4.2.2 full",
	  "552 5.2.2 over quota" } },
	{ "lost_after_the_first_reply_keeps_it", true,
	  "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", true,
	  "250 2.0.0 saved\r\n", true,
	  "READY BODY TXN(2.0.0,4.4.2,4.4.2) FAILED(4.4.2) ",
	  { MAIL_OK, MAIL_TEMP, MAIL_TEMP }, { "saved", "possible duplicate",
	  "possible duplicate" } },
	{ "lost_before_any_reply_keeps_the_rcpt_refusal", true,
	  "250 ok\r\n250 ok\r\n550 5.1.1 unknown\r\n250 ok\r\n354 go\r\n",
	  true, "", true,
	  "READY BODY TXN(4.4.2,5.1.1,4.4.2) FAILED(4.4.2) ",
	  { MAIL_TEMP, MAIL_PERM, MAIL_TEMP }, { "possible duplicate",
	  "550 5.1.1 unknown", "possible duplicate" } },
	{ "malformed_second_reply_keeps_the_first", true,
	  "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", true,
	  "250 2.0.0 saved\r\nnonsense\r\n", false,
	  "READY BODY TXN(2.0.0,4.5.0,4.5.0) FAILED(4.5.0) ",
	  { MAIL_OK, MAIL_TEMP, MAIL_TEMP }, { "saved", "malformed",
	  "malformed" } },
	{ "354_after_the_dot_is_a_protocol_error", true,
	  "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", true,
	  "250 2.0.0 saved\r\n354 again\r\n", false,
	  "READY BODY TXN(2.0.0,4.5.0,4.5.0) FAILED(4.5.0) ",
	  { MAIL_OK, MAIL_TEMP, MAIL_TEMP }, { "saved", "protocol error",
	  "protocol error" } },
	{ "every_rcpt_refused_data_503", true,
	  "250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n"
	  "503 5.5.1 No valid recipients\r\n", false, "", false,
	  "READY TXN(5.1.1,5.1.1,5.1.1) READY ",
	  { MAIL_PERM, MAIL_PERM, MAIL_PERM }, { "no", "no", "no" } },
	{ "354_without_recipients_is_a_protocol_error", true,
	  "250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n"
	  "354 go\r\n", false, "", false,
	  "READY FAILED(4.5.0) ",
	  { MAIL_PERM, MAIL_PERM, MAIL_PERM }, { "no", "no", "no" } },
};

static void
lmtp_case_run(const struct lmtp_case *c, bool bytewise)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE,
	    .lmtp = true, .peer_name = "store.test" };
	struct smtp_txn t;
	struct run r;
	char *copy = strdup(c->rcpt_replies), *piece, *save = NULL;
	void (*f)(struct run *, const char *) = bytewise ? feed_bytewise : feed;
	size_t i;

	ck_assert_ptr_nonnull(copy);
	memset(&t, 0, sizeof(t));
	t.sender = "alice@example.com";
	t.rcpts = rcpts3;
	t.n_rcpts = 3;
	t.size = 100;
	run_init(&r, &pp);
	f(&r, "220 store.test LMTP ready\r\n");
	ck_assert_str_eq(buf_cstr(&r.sent), "LHLO client.example\r\n");
	f(&r, c->pipelining ? LHLO_PIPE : LHLO_PLAIN);
	buf_reset(&r.sent);
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), 0);
	drain(&r);
	if (c->pipelining)
		ck_assert_str_eq(buf_cstr(&r.sent), "MAIL FROM:<alice@example."
		    "com>\r\nRCPT TO:<bob@store.test>\r\nRCPT TO:<carol@store."
		    "test>\r\nRCPT TO:<dave@store.test>\r\nDATA\r\n");
	for (piece = strtok_r(copy, "|", &save); piece != NULL;
	    piece = strtok_r(NULL, "|", &save))
		f(&r, piece);
	free(copy);
	if (c->body) {
		ck_assert_int_eq(smtp_proto_stage(r.p), SMTP_STAGE_DATA_BLOCK);
		smtp_proto_body_done(r.p);
		ck_assert_int_eq(smtp_proto_stage(r.p), SMTP_STAGE_DATA_DONE);
	}
	f(&r, c->dot_replies);
	if (c->lost) {
		smtp_proto_lost(r.p, "connection closed");
		drain(&r);
	}
	ck_assert_msg(strcmp(buf_cstr(&r.events), c->want_events) == 0,
	    "%s: events %s", c->name, buf_cstr(&r.events));
	if (strstr(c->want_events, "TXN(") != NULL) {
		ck_assert_uint_eq(r.n_results, 3);
		for (i = 0; i < 3; i++) {
			ck_assert_msg(r.results[i].kind == c->want[i],
			    "%s: rcpt %zu kind %d", c->name, i,
			    (int)r.results[i].kind);
			ck_assert_msg(strstr(r.results[i].text,
			    c->want_text[i]) != NULL, "%s: rcpt %zu: %s",
			    c->name, i, r.results[i].text);
		}
	}
	/* the transcript shows the per-recipient replies */
	if (c->dot_replies[0] != '\0')
		ck_assert_msg(strstr(buf_cstr(&r.log), "< 250 2.0.0") != NULL ||
		    strstr(buf_cstr(&r.log), "< 451") != NULL, "%s: log %s",
		    c->name, buf_cstr(&r.log));
	run_fini(&r);
}

START_TEST(test_lmtp_case)
{
	lmtp_case_run(&lmtp_cases[_i], false);
}
END_TEST

START_TEST(test_lmtp_case_bytewise)
{
	lmtp_case_run(&lmtp_cases[_i], true);
}
END_TEST

/* LMTP has no HELO: a refused LHLO ends the session (deferred, early:
 * the next target, or the destination's jobs wait). */
START_TEST(lmtp_refused_lhlo_is_not_helo)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_NONE,
	    .lmtp = true };
	struct run r;

	run_init(&r, &pp);
	feed(&r, "220 hi\r\n");
	ck_assert_str_eq(buf_cstr(&r.sent), "LHLO client.example\r\n");
	feed(&r, "500 5.5.1 Unknown command\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "FAILED(4.4.1,early) ");
	ck_assert_ptr_null(strstr(buf_cstr(&r.sent), "HELO"));
	ck_assert_ptr_nonnull(strstr(r.last_fail.text, "in reply to LHLO"));
	run_fini(&r);
}
END_TEST

/* A reused LMTP session: RSET, then the next transaction waits for the
 * one reply of its single recipient; 8-bit only when offered; STARTTLS
 * brings LHLO again. */
START_TEST(lmtp_reuse_8bit_and_starttls)
{
	struct smtp_proto_params pp = { .tls_mode = SMTP_TLS_MAY,
	    .lmtp = true };
	struct smtp_txn t;
	struct run r;

	memset(&t, 0, sizeof(t));
	t.sender = "";
	t.rcpts = rcpts3;
	t.n_rcpts = 1;
	t.size = 10;
	t.body_8bit = true;
	run_init(&r, &pp);
	feed(&r, "220 hi\r\n250-store\r\n250 STARTTLS\r\n");
	ck_assert_str_eq(buf_cstr(&r.sent), "LHLO client.example\r\n"
	    "STARTTLS\r\n");
	feed(&r, "220 go ahead\r\n");
	smtp_proto_tls_done(r.p, true, NULL);
	buf_reset(&r.sent);
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.sent), "LHLO client.example\r\n");
	feed(&r, "250-store\r\n250 PIPELINING\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "NEED_TLS READY ");
	/* no 8BITMIME: the driver must downgrade first */
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), -1);
	t.body_8bit = false;
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), 0);
	feed(&r, "250 ok\r\n250 ok\r\n354 go\r\n");
	smtp_proto_body_done(r.p);
	feed(&r, "250 2.0.0 saved\r\n");
	buf_reset(&r.sent);
	buf_reset(&r.events);
	ck_assert_int_eq(smtp_proto_begin(r.p, &t), 0);
	drain(&r);
	ck_assert_str_eq(buf_cstr(&r.sent), "RSET\r\nMAIL FROM:<>\r\n"
	    "RCPT TO:<bob@store.test>\r\nDATA\r\n");
	feed(&r, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	smtp_proto_body_done(r.p);
	feed(&r, "452 4.2.2 full\r\n");
	ck_assert_str_eq(buf_cstr(&r.events), "BODY TXN(4.2.2) READY ");
	run_fini(&r);
}
END_TEST

/* dot-stuffing at every split of a sample into two chunks */
START_TEST(dotstuff_every_split)
{
	static const char in[] = ".a\r\nb\r\n..c\r\n.\r\nd.\r\n.";
	static const char want[] = "..a\r\nb\r\n...c\r\n..\r\nd.\r\n.."
	    "\r\n.\r\n";
	size_t split;

	for (split = 0; split <= sizeof(in) - 1; split++) {
		struct smtp_dotstuff ds;
		struct buf out;

		memset(&ds, 0, sizeof(ds));
		buf_init(&out);
		ck_assert_int_eq(smtp_dotstuff(&ds, in, split, &out), 0);
		ck_assert_int_eq(smtp_dotstuff(&ds, in + split,
		    sizeof(in) - 1 - split, &out), 0);
		ck_assert_int_eq(smtp_dotstuff_end(&ds, &out), 0);
		ck_assert_msg(strcmp(buf_cstr(&out), want) == 0, "split %zu: %s",
		    split, buf_cstr(&out));
		buf_fini(&out);
	}
	{
		struct smtp_dotstuff ds;
		struct buf out;

		memset(&ds, 0, sizeof(ds));
		buf_init(&out);
		smtp_dotstuff(&ds, "x\r\n", 3, &out);
		smtp_dotstuff_end(&ds, &out);
		ck_assert_str_eq(buf_cstr(&out), "x\r\n.\r\n");
		buf_fini(&out);
	}
}
END_TEST

static Suite *
smtp_proto_suite(void)
{
	Suite *s = suite_create("smtp_proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, pipelined_session_whole);
	tcase_add_test(tc, pipelined_session_byte_by_byte);
	tcase_add_test(tc, without_pipelining_one_command_at_a_time);
	tcase_add_test(tc, without_pipelining_every_transaction_sends_its_rcpts);
	tcase_add_test(tc, results_start_temporary);
	tcase_add_loop_test(tc, test_wrong_reply_case, 0,
	    (int)(sizeof(wrong_reply_cases) / sizeof(wrong_reply_cases[0])));
	tcase_add_test(tc, ehlo_refused_falls_back_to_helo);
	tcase_add_test(tc, refused_greeting_is_temporary_and_early);
	tcase_add_test(tc, mail_refused_fails_every_recipient);
	tcase_add_test(tc, final_reply_applies_to_accepted_recipients);
	tcase_add_test(tc, size_smtputf8_and_8bit_are_decided_before_mail);
	tcase_add_test(tc, dsn_parameters_only_when_offered_and_as_given);
	tcase_add_test(tc, starttls_then_ehlo_again);
	tcase_add_test(tc, starttls_required_but_not_offered);
	tcase_add_test(tc, starttls_injection_is_refused);
	tcase_add_test(tc, nul_byte_in_the_starttls_reply);
	tcase_add_test(tc, auth_plain_and_login_with_masked_log);
	tcase_add_test(tc, auth_is_never_sent_without_tls);
	tcase_add_test(tc, lost_after_the_dot_is_a_possible_duplicate);
	tcase_add_test(tc, malformed_replies_end_the_session);
	tcase_add_test(tc, quit_closes);
	tcase_add_loop_test(tc, test_lmtp_case, 0,
	    sizeof(lmtp_cases) / sizeof(lmtp_cases[0]));
	tcase_add_loop_test(tc, test_lmtp_case_bytewise, 0,
	    sizeof(lmtp_cases) / sizeof(lmtp_cases[0]));
	tcase_add_test(tc, lmtp_refused_lhlo_is_not_helo);
	tcase_add_test(tc, lmtp_reuse_8bit_and_starttls);
	tcase_add_test(tc, dotstuff_every_split);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtp_proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
