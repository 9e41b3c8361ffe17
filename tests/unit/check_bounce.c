/*
 * check_bounce - unit tests for connector/queue/bounce.c.
 *
 * Table-driven: each case is a recipient's result text as the queue keeps
 * it and the Diagnostic-Code line the notification must carry (RFC 3464
 * section 2.3.6): "smtp; " with the reply when the text is a peer's SMTP
 * reply as smtp_proto words it, "X-IMC; " for reasons of our own. The
 * notification is written to a memfd and read back.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bounce.h"
#include "buf.h"
#include "qfile.h"

struct diag_case {
	const char *name;
	const char *text;	/* the recipient's result text */
	const char *dsn;
	const char *want;	/* the Diagnostic-Code value */
};

static const struct diag_case diag_cases[] = {
	{ "rcpt_refusal_is_an_smtp_code",
	    "mx.remote.test[192.0.2.7]:25 said: 550 5.1.1 no such user here "
	    "(in reply to RCPT TO)", "5.1.1",
	    "smtp; 550 5.1.1 no such user here" },
	{ "refusal_after_data_is_an_smtp_code",
	    "127.0.0.2[127.0.0.2]:2525 said: 554 5.7.1 rejected as spam "
	    "(in reply to end of data)", "5.7.1",
	    "smtp; 554 5.7.1 rejected as spam" },
	{ "reply_without_enhanced_code", "[::1]:25 said: 550 go away "
	    "(in reply to MAIL FROM)", "5.0.0", "smtp; 550 go away" },
	{ "reply_without_words", "mx.test[192.0.2.1]:25 said: 550  "
	    "(in reply to RCPT TO)", "5.0.0", "smtp; 550" },
	{ "peer_words_quoting_in_reply_to_keep_them",
	    "mx.test[192.0.2.1]:25 said: 550 5.1.1 bad (in reply to x) "
	    "(in reply to RCPT TO)", "5.1.1",
	    "smtp; 550 5.1.1 bad (in reply to x)" },
	{ "temporary_reply_when_delayed", "mx.test[192.0.2.1]:25 said: "
	    "451 4.3.0 try later (in reply to DATA)", "4.3.0",
	    "smtp; 451 4.3.0 try later" },
	{ "own_reason_stays_x_imc", "mailbox name cannot be a folder name",
	    "5.1.3", "X-IMC; mailbox name cannot be a folder name" },
	{ "protocol_error_is_ours", "protocol error: malformed reply line "
	    "from mx.test[192.0.2.1]:25", "4.5.0",
	    "X-IMC; protocol error: malformed reply line from "
	    "mx.test[192.0.2.1]:25" },
	{ "wrong_class_reply_is_a_protocol_error_of_ours",
	    "protocol error: mx.test[192.0.2.1]:25 said: 354 go ahead "
	    "(in reply to MAIL FROM)", "4.5.0",
	    "X-IMC; protocol error: mx.test[192.0.2.1]:25 said: 354 go ahead "
	    "(in reply to MAIL FROM)" },
	{ "said_without_a_code_is_ours", "mx said: hello (in reply to RCPT TO)",
	    "5.0.0", "X-IMC; mx said: hello (in reply to RCPT TO)" },
	{ "said_without_in_reply_to_is_ours", "mx said: 550 5.1.1 x", "5.1.1",
	    "X-IMC; mx said: 550 5.1.1 x" },
	{ "name_with_space_is_not_a_peer", "the peer said: 550 x "
	    "(in reply to RCPT TO)", "5.0.0",
	    "X-IMC; the peer said: 550 x (in reply to RCPT TO)" },
	{ "control_bytes_become_spaces", "mx said: 550 a\rb\x01"
	    "c (in reply to RCPT TO)", "5.0.0", "smtp; 550 a b c" },
	{ "no_text_is_failed", NULL, "", "X-IMC; failed" },
};

/* The notification for one failed recipient with this text. */
static void
write_bounce_of(const char *eml, const char *text, const char *dsn,
    enum bounce_kind kind, struct buf *out)
{
	struct bounce_opts bo = { kind, "mx.test.example", "0BOUNCEQID000000",
	    false, 1732470000 };
	struct qenv e;
	char chunk[4096];
	ssize_t n;
	int in, o;

	qenv_init(&e);
	snprintf(e.qid, sizeof(e.qid), "%s", "0F3K2J9A1B2XY7QZ");
	e.arrival = 1732460000;
	ck_assert_int_eq(qenv_set(&e.sender, "a@example.com"), 0);
	ck_assert_int_eq(qenv_add_rcpt(&e, "b@remote.test"), 0);
	e.rcpts[0].state = kind == BOUNCE_DELAYED ? QRCPT_PENDING : QRCPT_FAILED;
	snprintf(e.rcpts[0].dsn, sizeof(e.rcpts[0].dsn), "%s", dsn);
	if (text != NULL)
		ck_assert_int_eq(qenv_set(&e.rcpts[0].text, text), 0);
	in = memfd_create("eml", MFD_CLOEXEC);
	o = memfd_create("bounce", MFD_CLOEXEC);
	ck_assert(in != -1 && o != -1);
	ck_assert(write(in, eml, strlen(eml)) == (ssize_t)strlen(eml));
	ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);
	ck_assert_int_eq(bounce_write(o, &e, in, &bo), 0);
	ck_assert_int_eq(lseek(o, 0, SEEK_SET), 0);
	while ((n = read(o, chunk, sizeof(chunk))) > 0)
		ck_assert_int_eq(buf_append(out, chunk, (size_t)n), 0);
	close(in);
	close(o);
	qenv_free(&e);
}

static void
write_bounce(const char *text, const char *dsn, enum bounce_kind kind,
    struct buf *out)
{
	write_bounce_of("From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
	    text, dsn, kind, out);
}

START_TEST(test_diag_case)
{
	const struct diag_case *c = &diag_cases[_i];
	struct buf out, want;
	const char *p;

	buf_init(&out);
	buf_init(&want);
	write_bounce(c->text, c->dsn, BOUNCE_FAILED, &out);
	buf_printf(&want, "\r\nDiagnostic-Code: %s\r\n", c->want);
	ck_assert_msg(strstr(buf_cstr(&out), buf_cstr(&want)) != NULL,
	    "%s: want \"Diagnostic-Code: %s\" in:\n%s", c->name, c->want,
	    buf_cstr(&out));
	/* exactly one Diagnostic-Code line */
	p = strstr(buf_cstr(&out), "Diagnostic-Code:");
	ck_assert_ptr_null(strstr(p + 1, "Diagnostic-Code:"));
	buf_fini(&out);
	buf_fini(&want);
}
END_TEST

START_TEST(delay_notice_carries_the_smtp_code_too)
{
	struct buf out;

	buf_init(&out);
	write_bounce("mx.test[192.0.2.1]:25 said: 451 4.7.1 greylisted "
	    "(in reply to RCPT TO)", "4.7.1", BOUNCE_DELAYED, &out);
	ck_assert_msg(strstr(buf_cstr(&out), "\r\nAction: delayed\r\n"
	    "Status: 4.7.1\r\nDiagnostic-Code: smtp; 451 4.7.1 greylisted\r\n"
	    "Will-Retry-Until: ") != NULL, "%s", buf_cstr(&out));
	buf_fini(&out);
}
END_TEST

/* The original's header ends at its first empty line whether its lines end
 * in CRLF (Out/) or LF (the store's In/ copy): the body never travels. */
START_TEST(header_of_an_lf_original_stops_at_the_blank_line)
{
	static const char *const origs[] = {
		"From: a@example.com\r\nSubject: hi\r\n\r\nbody-secret\r\n",
		"From: a@example.com\nSubject: hi\n\nbody-secret\n",
	};
	struct buf out[2];
	const char *p[2];
	size_t i;

	for (i = 0; i < 2; i++) {
		buf_init(&out[i]);
		write_bounce_of(origs[i], "550 no", "5.1.1", BOUNCE_FAILED,
		    &out[i]);
		ck_assert_msg(strstr(buf_cstr(&out[i]), "body-secret") == NULL,
		    "%zu: %s", i, buf_cstr(&out[i]));
		ck_assert_ptr_nonnull(p[i] = strstr(buf_cstr(&out[i]),
		    "From: a@example.com\r\nSubject: hi\r\n"));
	}
	/* the same attachment either way */
	ck_assert_str_eq(p[0], p[1]);
	buf_fini(&out[0]);
	buf_fini(&out[1]);
}
END_TEST

/* bounce_suite - every bounce test */
static Suite *
bounce_suite(void)
{
	Suite *s = suite_create("bounce");
	TCase *tc;

	tc = tcase_create("diagnostic_code");
	tcase_add_loop_test(tc, test_diag_case, 0,
	    (int)(sizeof(diag_cases) / sizeof(diag_cases[0])));
	tcase_add_test(tc, delay_notice_carries_the_smtp_code_too);
	tcase_add_test(tc, header_of_an_lf_original_stops_at_the_blank_line);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the bounce suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(bounce_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
