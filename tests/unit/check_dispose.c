/*
 * check_dispose - what happens to recipients that are done with
 * (connector/queue/dispose.c), on a scratch Imcdata tree: the one expiry
 * rule of both queues, notices written into Work/ in Pickup format,
 * NOTIFY (RFC 3461) honoured, the null sender's failures in Badmail,
 * failures reported while others wait, delay notices, quarantine.
 *
 * Entries are made the way the queue makes them (a Pickup-format file
 * committed by a batch) and read back through qenv_load.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dispose.h"
#include "qtest.h"

#define REMOTE_FILE(sender, params1, params2) \
	"X-Sender: <" sender ">\r\n" \
	"X-Receiver: <x@remote.example>" params1 "\r\n" \
	"X-Receiver: <y@remote.example>" params2 "\r\n" \
	"Subject: report me\r\n\r\nbody\r\n"
#define LOCAL_FILE(sender) \
	"X-Sender: <" sender ">\r\nX-Receiver: <bob@local.example>\r\n" \
	"X-Receiver: <carol@local.example>\r\nSubject: report me\r\n\r\nbody\r\n"

/* An entry in dir (In/ through a store that defers), loaded. */
static void
make_entry(struct qtest *t, enum layout_dir dir, const char *text,
    char qid[QID_SIZE], struct qenv *e)
{
	if (dir == LAYOUT_IN)
		qtest_write(t, "Store/local.example", "not a folder\n");
	qtest_queue(t, text, qid);
	if (dir == LAYOUT_IN)
		qtest_rm(t, "Store/local.example");
	qtest_must_load(t, dir, qid, e);
}

static void
set_state(struct qrcpt *r, enum qrcpt_state state, const char *dsn,
    const char *text)
{
	r->state = state;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	qenv_set(&r->text, text);
}

/* ------------------------------------------------------------- expiry */

struct expire_case {
	const char	*name;
	enum layout_dir	 dir;
	int64_t		 age;		/* seconds since arrival, past lifetime */
	bool		 first_done;	/* rcpts[0] delivered already */
	const char	*rcpt_text;	/* rcpts[1]'s last result, or NULL */
	const char	*env_error;	/* the envelope's last error, or NULL */
	bool		 want;
	const char	*want_text;	/* in rcpts[1]'s text, when expired */
};

static const struct expire_case expire_cases[] = {
	{ "in_entry_past_lifetime_fails_pending_4_4_7", LAYOUT_IN, 60, false,
	    "mailbox full", NULL, true, "last error: mailbox full" },
	{ "out_entry_past_lifetime_fails_pending_4_4_7", LAYOUT_OUT, 60, false,
	    "451 try later", NULL, true, "last error: 451 try later" },
	{ "expiry_at_exact_lifetime", LAYOUT_OUT, 0, false, "451 try later",
	    NULL, true, "expired after 3600s" },
	{ "entry_within_lifetime_is_left_alone", LAYOUT_OUT, -60, false,
	    "451 try later", NULL, false, NULL },
	{ "delivered_recipient_is_not_expired", LAYOUT_OUT, 60, true,
	    "451 try later", NULL, true, "451 try later" },
	{ "envelope_error_when_recipient_has_none", LAYOUT_IN, 60, false, NULL,
	    "connection refused", true, "last error: connection refused" },
	{ "no_error_known_says_none", LAYOUT_OUT, 60, false, NULL, NULL, true,
	    "last error: none" },
};

START_TEST(test_expire_case)
{
	const struct expire_case *c = &expire_cases[_i];
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE];
	time_t now = time(NULL);

	qtest_init(&t, "max_lifetime = 1h\n");
	make_entry(&t, c->dir, c->dir == LAYOUT_IN ?
	    LOCAL_FILE("alice@remote.example") :
	    REMOTE_FILE("alice@remote.example", "", ""), qid, &e);
	e.arrival = (int64_t)now - 3600 - c->age;
	if (c->first_done)
		set_state(&e.rcpts[0], QRCPT_DONE, "2.0.0", "250 ok");
	e.rcpts[1].dsn[0] = '\0';
	qenv_set(&e.rcpts[1].text, c->rcpt_text);
	qenv_set(&e.error, c->env_error);
	ck_assert_msg(dispose_expire(&t.q, &e, now) == c->want, "%s", c->name);
	if (!c->want) {
		ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
		ck_assert_int_eq(e.rcpts[1].state, QRCPT_PENDING);
	} else {
		ck_assert_int_eq(e.rcpts[0].state, c->first_done ? QRCPT_DONE :
		    QRCPT_FAILED);
		ck_assert_int_eq(e.rcpts[1].state, QRCPT_FAILED);
		ck_assert_str_eq(e.rcpts[1].dsn, "4.4.7");
		ck_assert_msg(strstr(e.rcpts[1].text, c->want_text) != NULL,
		    "%s: %s", c->name, e.rcpts[1].text);
		if (c->first_done)
			ck_assert_str_eq(e.rcpts[0].dsn, "2.0.0");
	}
	/* nothing on disk changed: the caller records it */
	qenv_free(&e);
	qtest_must_load(&t, c->dir, qid, &e);
	ck_assert_int_eq(e.rcpts[1].state, QRCPT_PENDING);
	qenv_free(&e);
	ck_assert_uint_eq(qtest_count(&t, "Work"), 0);
	qtest_fini(&t);
}
END_TEST

/* ------------------------------------------------------------- finish */

enum want_end { WANT_NOTICE, WANT_NOTHING, WANT_BADMAIL };

struct finish_case {
	const char	*name;
	enum layout_dir	 dir;
	const char	*text;
	bool		 fail_second;	/* rcpts[1] fails too, else done */
	enum want_end	 want;
	const char	*want_event;	/* tracking log, for x@ or bob@ */
};

static const struct finish_case finish_cases[] = {
	{ "out_failure_makes_notice_in_work", LAYOUT_OUT,
	    REMOTE_FILE("alice@remote.example", "", ""), false, WANT_NOTICE,
	    "event=bounced" },
	{ "in_failure_makes_notice_in_work", LAYOUT_IN,
	    LOCAL_FILE("alice@remote.example"), false, WANT_NOTICE,
	    "event=bounced" },
	{ "notify_never_gives_no_notice", LAYOUT_OUT,
	    REMOTE_FILE("alice@remote.example", " NOTIFY=NEVER", ""), false,
	    WANT_NOTHING, "event=not-notified" },
	{ "notify_success_delay_gives_no_failure_notice", LAYOUT_OUT,
	    REMOTE_FILE("alice@remote.example", " NOTIFY=SUCCESS,DELAY", ""),
	    false, WANT_NOTHING, "event=not-notified" },
	{ "notify_failure_gives_notice", LAYOUT_OUT,
	    REMOTE_FILE("alice@remote.example", " NOTIFY=FAILURE", ""), false,
	    WANT_NOTICE, "event=bounced" },
	{ "null_sender_failure_goes_to_badmail", LAYOUT_OUT,
	    REMOTE_FILE("", "", ""), false, WANT_BADMAIL, "event=badmail" },
	{ "null_sender_in_failure_goes_to_badmail", LAYOUT_IN,
	    LOCAL_FILE(""), true, WANT_BADMAIL, "event=badmail" },
};

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static char *
work_file(struct qtest *t, const char *qid)
{
	char *text = qtest_read(t, LAYOUT_WORK, qid);

	ck_assert_ptr_nonnull(text);
	return text;
}

START_TEST(test_finish_case)
{
	const struct finish_case *c = &finish_cases[_i];
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE], notice[QID_SIZE], name[QID_SIZE + 8], *text;
	const char *failed;

	qtest_init(&t, NULL);
	make_entry(&t, c->dir, c->text, qid, &e);
	failed = e.rcpts[0].addr;
	set_state(&e.rcpts[0], QRCPT_FAILED, "5.1.1", "550 5.1.1 no such user");
	if (c->fail_second)
		set_state(&e.rcpts[1], QRCPT_FAILED, "5.2.2", "mailbox full");
	else
		set_state(&e.rcpts[1], QRCPT_DONE, "2.0.0", "250 ok");
	memset(notice, 'z', sizeof(notice));
	dispose_finish(&t.q, c->dir, &e, notice);
	ck_assert_uint_eq(qtest_track(&t, c->want_event, qid,
	    (snprintf(name, sizeof(name), "to=<%s>", failed), name), NULL), 1);
	switch (c->want) {
	case WANT_NOTICE:
		ck_assert_msg(qid_valid(notice), "%s", c->name);
		ck_assert_uint_eq(qtest_count(&t, "Work"), 1);
		text = work_file(&t, notice);
		ck_assert_msg(starts_with(text, "X-Sender: <>\r\nX-Receiver: "
		    "<alice@remote.example>\r\n"), "%.60s", text);
		snprintf(name, sizeof(name), "'%s'", failed);
		ck_assert_ptr_nonnull(strstr(text, name));
		ck_assert_ptr_nonnull(strstr(text, "Status: 5.1.1"));
		ck_assert_ptr_nonnull(strstr(text, "Subject: Undeliverable: "
		    "report me"));
		ck_assert_ptr_nonnull(strstr(text, qid));
		/* the delivered recipient is not reported */
		ck_assert_ptr_null(strstr(text, e.rcpts[1].addr));
		free(text);
		ck_assert(!qtest_has(&t, LAYOUT_BADMAIL, qid, ".bdr"));
		ck_assert_uint_eq(qtest_track(&t, "event=bounced", qid,
		    "orig=", NULL), 1);
		ck_assert_uint_eq(t.stats.failed, 1);
		break;
	case WANT_NOTHING:
		ck_assert_str_eq(notice, "");
		ck_assert_uint_eq(qtest_count(&t, "Work"), 0);
		ck_assert_uint_eq(qtest_count(&t, "Badmail"), 0);
		/* counted as reported, so no later report lists it */
		ck_assert_int_eq(e.rcpts[0].state, QRCPT_BOUNCED);
		ck_assert_uint_eq(t.stats.failed, 1);
		break;
	case WANT_BADMAIL:
		ck_assert_str_eq(notice, "");
		ck_assert_uint_eq(qtest_count(&t, "Work"), 0);
		ck_assert(qtest_has(&t, LAYOUT_BADMAIL, qid, ".bad"));
		snprintf(name, sizeof(name), "%s.bdr", qid);
		ck_assert_ptr_nonnull(text = qtest_read(&t, LAYOUT_BADMAIL,
		    name));
		snprintf(name, sizeof(name), "<%s>: 5.1.1", failed);
		ck_assert_ptr_nonnull(strstr(text, name));
		ck_assert_ptr_nonnull(strstr(text, "Sender: <>"));
		ck_assert_int_eq(strstr(text, "mailbox full") != NULL,
		    c->fail_second);
		free(text);
		ck_assert_uint_eq(t.stats.failed, c->fail_second ? 2 : 1);
		break;
	}
	/* the entry itself stays for the caller */
	qenv_free(&e);
	qtest_must_load(&t, c->dir, qid, &e);
	qenv_free(&e);
	qtest_fini(&t);
}
END_TEST

START_TEST(nothing_failed_gives_no_notice)
{
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE], notice[QID_SIZE];

	qtest_init(&t, NULL);
	make_entry(&t, LAYOUT_OUT, REMOTE_FILE("alice@remote.example", "", ""),
	    qid, &e);
	set_state(&e.rcpts[0], QRCPT_DONE, "2.0.0", "250 ok");
	set_state(&e.rcpts[1], QRCPT_DONE, "2.0.0", "250 ok");
	dispose_finish(&t.q, LAYOUT_OUT, &e, notice);
	ck_assert_str_eq(notice, "");
	ck_assert_uint_eq(qtest_count(&t, "Work"), 0);
	ck_assert_uint_eq(qtest_count(&t, "Badmail"), 0);
	qenv_free(&e);
	qtest_fini(&t);
}
END_TEST

/* A notice that cannot be written (Work/ gone) is not lost: Badmail. */
START_TEST(unwritable_notice_goes_to_badmail)
{
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE], notice[QID_SIZE];

	qtest_init(&t, NULL);
	make_entry(&t, LAYOUT_OUT, REMOTE_FILE("alice@remote.example", "", ""),
	    qid, &e);
	set_state(&e.rcpts[0], QRCPT_FAILED, "5.1.1", "550 no such user");
	qtest_rm(&t, "Work");
	dispose_finish(&t.q, LAYOUT_OUT, &e, notice);
	ck_assert_str_eq(notice, "");
	ck_assert(qtest_has(&t, LAYOUT_BADMAIL, qid, ".bad"));
	ck_assert(qtest_has(&t, LAYOUT_BADMAIL, qid, ".bdr"));
	ck_assert_uint_eq(qtest_track(&t, "event=badmail", qid,
	    "to=<x@remote.example>", NULL), 1);
	ck_assert_uint_eq(qtest_track(&t, "event=bounced", qid, NULL), 0);
	qenv_free(&e);
	qtest_fini(&t);
}
END_TEST

/* ----------------------------------------------------- report failed */

START_TEST(report_failed_turns_failed_into_bounced)
{
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE], notice[QID_SIZE], *text;

	qtest_init(&t, NULL);
	make_entry(&t, LAYOUT_OUT, REMOTE_FILE("alice@remote.example", "", ""),
	    qid, &e);
	set_state(&e.rcpts[0], QRCPT_FAILED, "5.1.1", "550 no such user");
	qenv_set(&e.rcpts[1].text, "451 later");
	dispose_report_failed(&t.q, LAYOUT_OUT, &e, notice);
	ck_assert(qid_valid(notice));
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_BOUNCED);
	ck_assert_str_eq(e.rcpts[0].dsn, "5.1.1");
	ck_assert_int_eq(e.rcpts[1].state, QRCPT_PENDING);
	text = work_file(&t, notice);
	ck_assert_ptr_nonnull(strstr(text, "'x@remote.example'"));
	ck_assert_ptr_null(strstr(text, "y@remote.example"));
	free(text);
	/* reported once: a second call has nothing to say */
	dispose_report_failed(&t.q, LAYOUT_OUT, &e, notice);
	ck_assert_str_eq(notice, "");
	ck_assert_uint_eq(qtest_count(&t, "Work"), 1);
	/* nor does the final report */
	set_state(&e.rcpts[1], QRCPT_DONE, "2.0.0", "250 ok");
	dispose_finish(&t.q, LAYOUT_OUT, &e, notice);
	ck_assert_str_eq(notice, "");
	ck_assert_uint_eq(qtest_count(&t, "Work"), 1);
	ck_assert_uint_eq(qtest_track(&t, "event=bounced", qid, NULL), 1);
	qenv_free(&e);
	qtest_fini(&t);
}
END_TEST

START_TEST(report_failed_null_sender_goes_to_badmail)
{
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE], notice[QID_SIZE];

	qtest_init(&t, NULL);
	make_entry(&t, LAYOUT_OUT, REMOTE_FILE("", "", ""), qid, &e);
	set_state(&e.rcpts[1], QRCPT_FAILED, "5.1.1", "550 no such user");
	dispose_report_failed(&t.q, LAYOUT_OUT, &e, notice);
	ck_assert_str_eq(notice, "");
	ck_assert_int_eq(e.rcpts[1].state, QRCPT_BOUNCED);
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
	ck_assert(qtest_has(&t, LAYOUT_BADMAIL, qid, ".bad"));
	ck_assert(qtest_has(&t, LAYOUT_BADMAIL, qid, ".bdr"));
	ck_assert_uint_eq(qtest_count(&t, "Work"), 0);
	qenv_free(&e);
	qtest_fini(&t);
}
END_TEST

/* badmail_keeps_the_envelope_for_requeue - <qid>.env lists the
 * sender and the failed recipients, those of an earlier Badmail copy of
 * the same entry too (imc-queue requeue sends them again) */
START_TEST(badmail_keeps_the_envelope_for_requeue)
{
	struct qtest t;
	struct qenv e, kept;
	struct buf err;
	char qid[QID_SIZE], notice[QID_SIZE], name[QID_SIZE + 16], *text;

	qtest_init(&t, NULL);
	make_entry(&t, LAYOUT_OUT, REMOTE_FILE("", "", ""), qid, &e);
	set_state(&e.rcpts[1], QRCPT_FAILED, "5.1.1", "550 no such user");
	dispose_report_failed(&t.q, LAYOUT_OUT, &e, notice);
	snprintf(name, sizeof(name), "%s.env", qid);
	text = qtest_read(&t, LAYOUT_BADMAIL, name);
	ck_assert_ptr_nonnull(text);
	buf_init(&err);
	ck_assert_msg(qenv_parse(text, strlen(text), &kept, &err) == 0, "%s",
	    buf_cstr(&err));
	free(text);
	ck_assert_str_eq(kept.qid, qid);
	ck_assert_str_eq(kept.sender, "");
	ck_assert_uint_eq(kept.n_rcpts, 1);
	ck_assert_str_eq(kept.rcpts[0].addr, e.rcpts[1].addr);
	ck_assert_int_eq(kept.rcpts[0].state, QRCPT_FAILED);
	ck_assert_str_eq(kept.rcpts[0].dsn, "5.1.1");
	qenv_free(&kept);
	/* the other recipient fails later: both are kept */
	set_state(&e.rcpts[0], QRCPT_FAILED, "5.7.1", "550 refused");
	dispose_finish(&t.q, LAYOUT_OUT, &e, notice);
	text = qtest_read(&t, LAYOUT_BADMAIL, name);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(qenv_parse(text, strlen(text), &kept, &err), 0);
	free(text);
	ck_assert_uint_eq(kept.n_rcpts, 2);
	ck_assert_uint_eq(qenv_count(&kept, QRCPT_FAILED), 2);
	qenv_free(&kept);
	buf_fini(&err);
	qenv_free(&e);
	qtest_fini(&t);
}
END_TEST

/* ------------------------------------------------------ delay notice */

struct delay_case {
	const char	*name;
	const char	*text;
	bool		 want_notice;
	bool		 want_x, want_y;	/* listed in the notice */
};

static const struct delay_case delay_cases[] = {
	{ "no_notify_gets_delay_notice",
	    REMOTE_FILE("alice@remote.example", "", ""), true, true, true },
	{ "notify_delay_gets_delay_notice",
	    REMOTE_FILE("alice@remote.example", " NOTIFY=DELAY",
	    " NOTIFY=DELAY"), true, true, true },
	{ "notify_failure_without_delay_gets_none",
	    REMOTE_FILE("alice@remote.example", " NOTIFY=FAILURE",
	    " NOTIFY=FAILURE"), false, false, false },
	{ "notify_never_gets_none",
	    REMOTE_FILE("alice@remote.example", " NOTIFY=NEVER",
	    " NOTIFY=NEVER"), false, false, false },
	/* RFC 3461: a recipient whose NOTIFY leaves DELAY out is not
	 * reported delayed, though another one of the message is */
	{ "only_recipients_wanting_delay_are_listed",
	    REMOTE_FILE("alice@remote.example", " NOTIFY=FAILURE",
	    " NOTIFY=SUCCESS,DELAY"), true, false, true },
	{ "null_sender_gets_none", REMOTE_FILE("", "", ""), false, false,
	    false },
};

START_TEST(test_delay_case)
{
	const struct delay_case *c = &delay_cases[_i];
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE], notice[QID_SIZE], *text;

	qtest_init(&t, NULL);
	make_entry(&t, LAYOUT_OUT, c->text, qid, &e);
	qenv_set(&e.rcpts[0].text, "451 4.7.1 greylisted");
	snprintf(e.rcpts[0].dsn, sizeof(e.rcpts[0].dsn), "4.7.1");
	memset(notice, 'z', sizeof(notice));
	ck_assert_int_eq(dispose_delay_notice(&t.q, LAYOUT_OUT, &e,
	    time(NULL) + 86400, notice), 0);
	if (!c->want_notice) {
		ck_assert_msg(notice[0] == '\0', "%s", c->name);
		ck_assert_uint_eq(qtest_count(&t, "Work"), 0);
		ck_assert_uint_eq(qtest_track(&t, "event=delay-notice", NULL),
		    0);
	} else {
		ck_assert_msg(qid_valid(notice), "%s", c->name);
		text = work_file(&t, notice);
		ck_assert(starts_with(text, "X-Sender: <>\r\n"));
		ck_assert_ptr_nonnull(strstr(text, "Subject: Delayed: "
		    "report me"));
		ck_assert_ptr_nonnull(strstr(text, "Action: delayed"));
		ck_assert_ptr_nonnull(strstr(text, "Will-Retry-Until: "));
		ck_assert_msg((strstr(text, "'x@remote.example'") != NULL) ==
		    c->want_x, "%s: x@", c->name);
		ck_assert_msg((strstr(text, "'y@remote.example'") != NULL) ==
		    c->want_y, "%s: y@", c->name);
		ck_assert_int_eq(strstr(text, "Status: 4.7.1") != NULL,
		    c->want_x);
		free(text);
		ck_assert_uint_eq(qtest_track(&t, "event=delay-notice", qid,
		    "to=<x@remote.example>", "status=delayed", NULL), c->want_x);
		ck_assert_uint_eq(qtest_track(&t, "event=delay-notice", qid,
		    "to=<y@remote.example>", "status=delayed", NULL), c->want_y);
		ck_assert_uint_eq(t.stats.failed, 0);
	}
	/* recipients stay pending whatever was sent */
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
	ck_assert_int_eq(e.rcpts[1].state, QRCPT_PENDING);
	qenv_free(&e);
	qtest_fini(&t);
}
END_TEST

START_TEST(unwritable_delay_notice_says_so)
{
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE], notice[QID_SIZE];

	qtest_init(&t, NULL);
	make_entry(&t, LAYOUT_OUT, REMOTE_FILE("alice@remote.example", "", ""),
	    qid, &e);
	qtest_rm(&t, "Work");
	ck_assert_int_eq(dispose_delay_notice(&t.q, LAYOUT_OUT, &e,
	    time(NULL) + 86400, notice), -1);
	ck_assert_str_eq(notice, "");
	qenv_free(&e);
	qtest_fini(&t);
}
END_TEST

/* -------------------------------------------------------- quarantine */

START_TEST(test_quarantine_moves_files)
{
	enum layout_dir dir = _i == 0 ? LAYOUT_IN : LAYOUT_OUT;
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE], name[QID_SIZE + 8], *before, *after;

	qtest_init(&t, NULL);
	make_entry(&t, dir, dir == LAYOUT_IN ?
	    LOCAL_FILE("alice@remote.example") :
	    REMOTE_FILE("alice@remote.example", "", ""), qid, &e);
	qenv_free(&e);
	snprintf(name, sizeof(name), "%s.eml", qid);
	ck_assert_ptr_nonnull(before = qtest_read(&t, dir, name));
	dispose_quarantine(&t.q, dir, qid, "a reason\nwith a newline");
	ck_assert_int_eq(qtest_load(&t, dir, qid, &e), -1);
	ck_assert(!qtest_has(&t, dir, qid, ".eml"));
	ck_assert_uint_eq(qtest_entries(&t, dir, NULL, 0), 0);
	snprintf(name, sizeof(name), "%s.bad", qid);
	ck_assert_ptr_nonnull(after = qtest_read(&t, LAYOUT_BADMAIL, name));
	ck_assert_str_eq(after, before);
	free(after);
	free(before);
	snprintf(name, sizeof(name), "%s.bdr", qid);
	ck_assert_ptr_nonnull(after = qtest_read(&t, LAYOUT_BADMAIL, name));
	/* the reason is escaped: one field a line */
	ck_assert_ptr_nonnull(strstr(after, "a reason\\nwith a newline"));
	ck_assert_ptr_nonnull(strstr(after, layout_name(dir)));
	free(after);
	ck_assert_uint_eq(qtest_track(&t, "event=badmail", qid,
	    "status=badmail", NULL), 1);
	qtest_fini(&t);
}
END_TEST

static Suite *
dispose_suite(void)
{
	Suite *s = suite_create("dispose");
	TCase *tc;

	tc = qtest_tcase("expire");
	tcase_add_loop_test(tc, test_expire_case, 0,
	    (int)(sizeof(expire_cases) / sizeof(expire_cases[0])));
	suite_add_tcase(s, tc);

	tc = qtest_tcase("finish");
	tcase_add_loop_test(tc, test_finish_case, 0,
	    (int)(sizeof(finish_cases) / sizeof(finish_cases[0])));
	tcase_add_test(tc, nothing_failed_gives_no_notice);
	tcase_add_test(tc, unwritable_notice_goes_to_badmail);
	tcase_add_test(tc, report_failed_turns_failed_into_bounced);
	tcase_add_test(tc, report_failed_null_sender_goes_to_badmail);
	tcase_add_test(tc, badmail_keeps_the_envelope_for_requeue);
	suite_add_tcase(s, tc);

	tc = qtest_tcase("delay");
	tcase_add_loop_test(tc, test_delay_case, 0,
	    (int)(sizeof(delay_cases) / sizeof(delay_cases[0])));
	tcase_add_test(tc, unwritable_delay_notice_says_so);
	suite_add_tcase(s, tc);

	tc = qtest_tcase("quarantine");
	tcase_add_loop_test(tc, test_quarantine_moves_files, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(dispose_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
