/*
 * check_inq - the In/ queue runner (connector/queue/inq.c) on a scratch
 * Imcdata tree: a deferred store handoff is tried again when due and not
 * before, an entry past max_lifetime is returned to its sender (4.4.7) or
 * put in Badmail, and an entry that cannot be read is quarantined.
 *
 * The store is made to fail the way a real one does: a file where the
 * domain's folder of Store/ belongs (4.2.0, temporary).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inq.h"
#include "qtest.h"

#define LOCAL_FILE(sender) \
	"X-Sender: <" sender ">\r\nX-Receiver: <bob@local.example>\r\n" \
	"Subject: for bob\r\n\r\nbody\r\n"

static void
block_store(struct qtest *t)
{
	qtest_write(t, "Store/local.example", "not a folder\n");
}

static void
unblock_store(struct qtest *t)
{
	qtest_rm(t, "Store/local.example");
}

/* Wait (bounded) until the wall clock reaches when. */
static void
wait_until(time_t when)
{
	long long end = qtest_now_ms() + 5000;

	while (time(NULL) < when && qtest_now_ms() < end)
		usleep(20000);
	ck_assert_int_ge(time(NULL), when);
}

START_TEST(deferred_entry_is_tried_when_due_and_not_before)
{
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE];
	int64_t next;

	/* 2 s: a second boundary between the commit and the first run
	 * cannot make the entry due */
	qtest_init(&t, "local_retry = 2s\n");
	block_store(&t);
	qtest_queue(&t, LOCAL_FILE("alice@remote.example"), qid);
	qtest_must_load(&t, LAYOUT_IN, qid, &e);
	ck_assert_uint_eq(e.attempts, 1);
	next = e.next_try;
	qenv_free(&e);
	ck_assert_int_gt(next, time(NULL));

	/* not before */
	unblock_store(&t);
	ck_assert_uint_eq(inq_run(&t.q, false, false), 0);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 0);
	qtest_must_load(&t, LAYOUT_IN, qid, &e);
	ck_assert_uint_eq(e.attempts, 1);
	qenv_free(&e);

	/* due, and the store still failing: another attempt recorded */
	block_store(&t);
	wait_until((time_t)next);
	ck_assert_uint_eq(inq_run(&t.q, false, false), 1);
	qtest_must_load(&t, LAYOUT_IN, qid, &e);
	ck_assert_uint_eq(e.attempts, 2);
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
	ck_assert_int_gt(e.next_try, next);
	next = e.next_try;
	qenv_free(&e);
	ck_assert_uint_eq(qtest_track(&t, "event=deferred", qid, NULL), 2);

	/* due, and the store back: delivered, the entry gone */
	unblock_store(&t);
	wait_until((time_t)next);
	ck_assert_uint_eq(inq_run(&t.q, false, false), 1);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert_int_eq(qtest_load(&t, LAYOUT_IN, qid, &e), -1);
	ck_assert(!qtest_has(&t, LAYOUT_IN, qid, ".eml"));
	ck_assert_uint_eq(qtest_track(&t, "event=delivered", qid,
	    "to=<bob@local.example>", NULL), 1);
	/* and nothing left to run */
	ck_assert_uint_eq(inq_run(&t.q, true, false), 0);
	qtest_fini(&t);
}
END_TEST

START_TEST(run_all_takes_entries_not_yet_due)
{
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE];

	qtest_init(&t, NULL);	/* local_retry 5m */
	block_store(&t);
	qtest_queue(&t, LOCAL_FILE("alice@remote.example"), qid);
	unblock_store(&t);
	ck_assert_uint_eq(inq_run(&t.q, false, false), 0);
	ck_assert_uint_eq(inq_run(&t.q, true, false), 1);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert_int_eq(qtest_load(&t, LAYOUT_IN, qid, &e), -1);
	qtest_fini(&t);
}
END_TEST

struct expire_case {
	const char	*name;
	const char	*text;
	const char	*sender;	/* the notice goes to it */
	enum layout_dir	 notice_dir;	/* LAYOUT_BADMAIL: no notice */
};

static const struct expire_case expire_cases[] = {
	{ "expired_remote_sender_gets_notice_in_out",
	    LOCAL_FILE("alice@remote.example"), "alice@remote.example",
	    LAYOUT_OUT },
	{ "expired_local_sender_gets_notice_in_in",
	    LOCAL_FILE("carol@local.example"), "carol@local.example",
	    LAYOUT_IN },
	{ "expired_null_sender_goes_to_badmail", LOCAL_FILE(""), "",
	    LAYOUT_BADMAIL },
};

/* Past max_lifetime the pending recipient fails 4.4.7 with its last
 * error; the sender is told and the entry removed. */
START_TEST(test_expire_case)
{
	const struct expire_case *c = &expire_cases[_i];
	struct qtest t;
	struct qenv e, n;
	char qid[QID_SIZE], notice[QID_SIZE], name[QID_SIZE + 8], *text;

	qtest_init(&t, "max_lifetime = 1h\n");
	block_store(&t);
	qtest_queue(&t, c->text, qid);
	/* made old: arrived more than max_lifetime ago, due now */
	qtest_must_load(&t, LAYOUT_IN, qid, &e);
	e.arrival = (int64_t)time(NULL) - 3600 - 60;
	e.next_try = 0;
	qtest_store(&t, LAYOUT_IN, &e);
	qenv_free(&e);
	t.n_out = 0;

	ck_assert_uint_eq(inq_run(&t.q, false, false), 1);
	ck_assert_msg(qtest_load(&t, LAYOUT_IN, qid, &e) == -1, "%s", c->name);
	ck_assert(!qtest_has(&t, LAYOUT_IN, qid, ".eml"));
	ck_assert_uint_eq(qtest_count(&t, "Work"), 0);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 0);
	if (c->notice_dir == LAYOUT_BADMAIL) {
		ck_assert(qtest_has(&t, LAYOUT_BADMAIL, qid, ".bad"));
		ck_assert_ptr_nonnull(text = qtest_read(&t, LAYOUT_BADMAIL,
		    (snprintf(name, sizeof(name), "%s.bdr", qid), name)));
		ck_assert_ptr_nonnull(strstr(text, "<bob@local.example>: 4.4.7"));
		free(text);
		ck_assert_uint_eq(qtest_track(&t, "event=badmail", qid,
		    "dsn=4.4.7", NULL), 1);
		ck_assert_uint_eq(t.n_out, 0);
		qtest_fini(&t);
		return;
	}
	ck_assert_uint_eq(qtest_track(&t, "event=bounced", qid, "dsn=4.4.7",
	    "to=<bob@local.example>", NULL), 1);
	/* the notice: its own entry, from the null sender to the sender */
	if (c->notice_dir == LAYOUT_OUT) {
		ck_assert_uint_eq(t.n_out, 1);
		memcpy(notice, t.out_qids[0], QID_SIZE);
		ck_assert(!t.q.in_due);
	} else {
		ck_assert_uint_eq(t.n_out, 0);
		ck_assert(t.q.in_due);
		ck_assert_uint_eq(qtest_track(&t, "event=picked-up",
		    "orig=\"(delivery status notification)\"", NULL), 1);
	}
	ck_assert_uint_eq(qtest_entries(&t, c->notice_dir, &notice, 1), 1);
	qtest_must_load(&t, c->notice_dir, notice, &n);
	ck_assert_str_eq(n.sender, "");
	ck_assert_uint_eq(n.n_rcpts, 1);
	ck_assert_str_eq(n.rcpts[0].addr, c->sender);
	qenv_free(&n);
	snprintf(name, sizeof(name), "%s.eml", notice);
	ck_assert_ptr_nonnull(text = qtest_read(&t, c->notice_dir, name));
	ck_assert_ptr_nonnull(strstr(text, "Status: 4.4.7"));
	ck_assert_ptr_nonnull(strstr(text, "Final-Recipient: rfc822; "
	    "bob@local.example"));
	free(text);
	qtest_fini(&t);
}
END_TEST

struct bad_case {
	const char	*name;
	bool		 drop_content;	/* else the content grows a byte */
};

static const struct bad_case bad_cases[] = {
	{ "content_longer_than_envelope_says_is_quarantined", false },
	{ "envelope_without_content_is_quarantined", true },
};

/* An entry whose envelope does not match its content cannot be trusted:
 * to Badmail with the reason, whether or not it is due. */
START_TEST(test_bad_case)
{
	const struct bad_case *c = &bad_cases[_i];
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE], name[QID_SIZE + 8], *text;
	int fd;

	qtest_init(&t, NULL);
	block_store(&t);
	qtest_queue(&t, LOCAL_FILE("alice@remote.example"), qid);
	unblock_store(&t);
	snprintf(name, sizeof(name), "%s.eml", qid);
	if (c->drop_content)
		ck_assert_int_eq(unlinkat(t.dir[LAYOUT_IN], name, 0), 0);
	else {
		fd = openat(t.dir[LAYOUT_IN], name, O_WRONLY | O_APPEND);
		ck_assert_int_ne(fd, -1);
		ck_assert_int_eq(write(fd, "x", 1), 1);
		close(fd);
	}
	ck_assert_uint_eq(inq_run(&t.q, false, false), 0);
	ck_assert_msg(qtest_load(&t, LAYOUT_IN, qid, &e) == -1, "%s", c->name);
	ck_assert(!qtest_has(&t, LAYOUT_IN, qid, ".eml"));
	ck_assert_uint_eq(qtest_entries(&t, LAYOUT_IN, NULL, 0), 0);
	ck_assert_int_eq(qtest_has(&t, LAYOUT_BADMAIL, qid, ".bad"),
	    !c->drop_content);
	snprintf(name, sizeof(name), "%s.bdr", qid);
	ck_assert_ptr_nonnull(text = qtest_read(&t, LAYOUT_BADMAIL, name));
	ck_assert_ptr_nonnull(strstr(text, "could not be read"));
	free(text);
	ck_assert_uint_eq(qtest_track(&t, "event=badmail", qid,
	    "status=badmail", NULL), 1);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 0);
	/* gone for good: a second run finds nothing */
	ck_assert_uint_eq(inq_run(&t.q, true, false), 0);
	ck_assert_uint_eq(qtest_track(&t, "event=badmail", qid, NULL), 1);
	qtest_fini(&t);
}
END_TEST

static Suite *
inq_suite(void)
{
	Suite *s = suite_create("inq");
	TCase *tc;

	tc = qtest_tcase("retry");
	tcase_add_test(tc, deferred_entry_is_tried_when_due_and_not_before);
	tcase_add_test(tc, run_all_takes_entries_not_yet_due);
	suite_add_tcase(s, tc);

	tc = qtest_tcase("expiry");
	tcase_add_loop_test(tc, test_expire_case, 0,
	    (int)(sizeof(expire_cases) / sizeof(expire_cases[0])));
	suite_add_tcase(s, tc);

	tc = qtest_tcase("quarantine");
	tcase_add_loop_test(tc, test_bad_case, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(inq_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
