/*
 * check_batch_tail - the folded second barrier (connector/queue/batch.c,
 * batch_tail_enable) on a scratch Imcdata tree: the tail of a batch (its
 * Work files, its Out/ entries handed on, its In/ removals) waits for the
 * next barrier, the next batch's first or one of its own; a crash in that
 * gap is redone from the Work files once; the In/ runner does not take an
 * entry the tail will remove; a barrier that fails holds the tail's Work
 * files, and their retry delivers nothing twice.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "inq.h"
#include "qtest.h"
#include "recover.h"

#define MIXED_FILE \
	"X-Sender: <alice@remote.example>\r\n" \
	"X-Receiver: <bob@local.example>\r\n" \
	"X-Receiver: <x@remote.example>\r\nSubject: s\r\n\r\nbody\r\n"
#define LOCAL_FILE \
	"X-Sender: <alice@remote.example>\r\n" \
	"X-Receiver: <bob@local.example>\r\nSubject: l\r\n\r\nbody\r\n"
#define REMOTE_FILE \
	"X-Sender: <alice@remote.example>\r\n" \
	"X-Receiver: <y@remote.example>\r\nSubject: r\r\n\r\nbody\r\n"

/* One file through a batch of its own (the tail may stay pending). */
static void
queue_one(struct qtest *t, const char *text, char qid[QID_SIZE], int want)
{
	struct batch *b = batch_new(&t->q);

	ck_assert_int_eq(qtest_accept(t, b, text, qid), ACCEPT_QUEUED);
	ck_assert_int_eq(batch_commit(b), want);
	batch_free(b);
}

/* The tail of batch 1 is done right after batch 2's barrier: two
 * barriers for two batches with a store handoff, not four. */
START_TEST(tail_waits_for_the_next_barrier)
{
	struct qtest t;
	char a[QID_SIZE], b[QID_SIZE];
	int64_t ms;

	qtest_init(&t, NULL);
	batch_tail_enable(&t.q);
	queue_one(&t, MIXED_FILE, a, 0);
	/* stored and 250-able, but the Work file is still the message */
	ck_assert_uint_eq(t.stats.barriers, 1);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert(qtest_exists(&t, LAYOUT_WORK, a));
	ck_assert_uint_eq(t.n_out, 0);
	ms = batch_tail_ms(&t.q);
	ck_assert_int_ge(ms, 0);
	ck_assert_int_le(ms, 1000);

	queue_one(&t, REMOTE_FILE, b, 0);
	ck_assert_uint_eq(t.stats.barriers, 2);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, a));
	ck_assert(!qtest_has(&t, LAYOUT_IN, a, ".eml"));
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, b));
	/* in order: the tail's entry first */
	ck_assert_uint_eq(t.n_out, 2);
	ck_assert_str_eq(t.out_qids[0], a);
	ck_assert_str_eq(t.out_qids[1], b);
	ck_assert_int_eq(batch_tail_ms(&t.q), -1);
	ck_assert_int_eq(batch_flush_tail(&t.q), 0);
	ck_assert_uint_eq(t.stats.barriers, 2);	/* nothing pending */
	batch_tail_free(&t.q);
	qtest_fini(&t);
}
END_TEST

/* No batch follows: batch_flush_tail, a barrier of its own. */
START_TEST(tail_flushed_alone)
{
	struct qtest t;
	char a[QID_SIZE];

	qtest_init(&t, NULL);
	batch_tail_enable(&t.q);
	queue_one(&t, MIXED_FILE, a, 0);
	ck_assert(qtest_exists(&t, LAYOUT_WORK, a));
	ck_assert_int_eq(batch_flush_tail(&t.q), 0);
	ck_assert_uint_eq(t.stats.barriers, 2);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, a));
	ck_assert(!qtest_has(&t, LAYOUT_IN, a, ".eml"));
	ck_assert(qtest_out_entry(&t, a));
	ck_assert_int_eq(batch_tail_ms(&t.q), -1);
	batch_tail_free(&t.q);
	qtest_fini(&t);
}
END_TEST

/* A batch that needs no second barrier (a settled Out/ entry removed)
 * ends at once, without a barrier, while the tail waits. */
START_TEST(out_removal_does_not_wait_for_the_tail)
{
	struct qtest t;
	struct batch *b;
	struct qenv e;
	char r[QID_SIZE], a[QID_SIZE];

	qtest_init(&t, NULL);
	batch_tail_enable(&t.q);
	queue_one(&t, REMOTE_FILE, r, 0);
	ck_assert_int_eq(batch_tail_ms(&t.q), -1);
	queue_one(&t, LOCAL_FILE, a, 0);
	ck_assert_int_ge(batch_tail_ms(&t.q), 0);
	ck_assert_uint_eq(t.stats.barriers, 2);
	b = batch_new(&t.q);
	batch_after_remove(b, LAYOUT_OUT, r);
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);
	ck_assert_uint_eq(t.stats.barriers, 2);
	ck_assert_int_eq(qtest_load(&t, LAYOUT_OUT, r, &e), -1);
	ck_assert(!qtest_has(&t, LAYOUT_OUT, r, ".eml"));
	/* the tail is still pending */
	ck_assert(qtest_exists(&t, LAYOUT_WORK, a));
	ck_assert_int_eq(batch_flush_tail(&t.q), 0);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, a));
	batch_tail_free(&t.q);
	qtest_fini(&t);
}
END_TEST

/* The process dies with the tail pending: the start-up redoes the Work
 * file under the same queue id; the mailbox keeps one copy, Out/ one
 * entry. */
START_TEST(crash_in_the_gap_is_redone_once)
{
	struct qtest t;
	struct qenv e;
	char a[QID_SIZE];

	qtest_init(&t, NULL);
	batch_tail_enable(&t.q);
	queue_one(&t, MIXED_FILE, a, 0);
	ck_assert(qtest_exists(&t, LAYOUT_WORK, a));
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	batch_tail_free(&t.q);		/* the crash: the memory is gone */

	ck_assert_int_eq(recover_run(&t.q), 0);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, a));
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert(!qtest_has(&t, LAYOUT_IN, a, ".eml"));
	ck_assert_uint_eq(qtest_entries(&t, LAYOUT_IN, NULL, 0), 0);
	qtest_must_load(&t, LAYOUT_OUT, a, &e);
	ck_assert_uint_eq(e.n_rcpts, 1);
	ck_assert_str_eq(e.rcpts[0].addr, "x@remote.example");
	qenv_free(&e);
	ck_assert_uint_eq(qtest_entries(&t, LAYOUT_OUT, NULL, 0), 1);
	ck_assert(qtest_out_entry(&t, a));
	qtest_fini(&t);
}
END_TEST

/* A due In/ entry delivered by the runner: its removal waits in the
 * tail, and the runner, asked again meanwhile (a flush), leaves it. */
START_TEST(in_runner_skips_a_pending_entry)
{
	struct qtest t;
	struct qenv e;
	char a[QID_SIZE];

	qtest_init(&t, NULL);
	batch_tail_enable(&t.q);
	/* a file where the domain's folder belongs: the delivery defers */
	qtest_write(&t, "Store/local.example", "not a folder\n");
	queue_one(&t, LOCAL_FILE, a, 0);
	ck_assert_int_eq(batch_flush_tail(&t.q), 0);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, a));
	qtest_must_load(&t, LAYOUT_IN, a, &e);
	ck_assert_uint_eq(e.attempts, 1);
	qenv_free(&e);
	qtest_rm(&t, "Store/local.example");

	ck_assert_uint_eq(inq_run(&t.q, true, false), 1);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert(batch_tail_has_in(&t.q, a));
	/* the envelope is still there, the entry settled */
	qtest_must_load(&t, LAYOUT_IN, a, &e);
	qenv_free(&e);
	ck_assert_uint_eq(inq_run(&t.q, true, false), 0);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert_uint_eq(qtest_track(&t, "event=delivered", a, NULL), 1);

	ck_assert_int_eq(batch_flush_tail(&t.q), 0);
	ck_assert(!batch_tail_has_in(&t.q, a));
	ck_assert_int_eq(qtest_load(&t, LAYOUT_IN, a, &e), -1);
	ck_assert(!qtest_has(&t, LAYOUT_IN, a, ".eml"));
	ck_assert_uint_eq(inq_run(&t.q, true, false), 0);
	batch_tail_free(&t.q);
	qtest_fini(&t);
}
END_TEST

/* The barrier that should cover the tail fails: the tail's Work file is
 * held with the batch's own, nothing removed; the retry redoes it and
 * the mailbox keeps one copy. */
START_TEST(failed_barrier_holds_the_tail)
{
	struct qtest t;
	char a[QID_SIZE], b[QID_SIZE];
	int root;
	int64_t ms;
	long long end;

	qtest_init(&t, NULL);
	batch_tail_enable(&t.q);
	queue_one(&t, MIXED_FILE, a, 0);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	/* syncfs on no descriptor: EBADF */
	root = t.dir[LAYOUT_ROOT];
	t.dir[LAYOUT_ROOT] = -1;
	queue_one(&t, REMOTE_FILE, b, -1);
	t.dir[LAYOUT_ROOT] = root;
	ck_assert_int_eq(batch_tail_ms(&t.q), -1);
	ck_assert(!batch_tail_has_in(&t.q, a));
	ck_assert_uint_eq(t.q.n_held, 2);
	ck_assert(qtest_exists(&t, LAYOUT_WORK, a));
	ck_assert(qtest_exists(&t, LAYOUT_WORK, b));
	ck_assert_uint_eq(t.n_out, 0);
	ck_assert_uint_eq(qtest_track(&t, "event=held", a, NULL), 1);

	end = qtest_now_ms() + 3000;
	while ((ms = batch_held_ms(&t.q)) > 0 && qtest_now_ms() < end)
		usleep(20000);
	ck_assert_int_eq(ms, 0);
	ck_assert_uint_eq(batch_retry_held(&t.q), 2);
	ck_assert_int_eq(batch_flush_tail(&t.q), 0);
	ck_assert_uint_eq(t.q.n_held, 0);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, a));
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, b));
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert(qtest_out_entry(&t, a));
	ck_assert(qtest_out_entry(&t, b));
	ck_assert_uint_eq(qtest_entries(&t, LAYOUT_OUT, NULL, 0), 2);
	ck_assert_uint_eq(qtest_entries(&t, LAYOUT_IN, NULL, 0), 0);
	batch_tail_free(&t.q);
	qtest_fini(&t);
}
END_TEST

static Suite *
tail_suite(void)
{
	Suite *s = suite_create("batch_tail");
	TCase *tc;

	tc = qtest_tcase("tail");
	tcase_add_test(tc, tail_waits_for_the_next_barrier);
	tcase_add_test(tc, tail_flushed_alone);
	tcase_add_test(tc, out_removal_does_not_wait_for_the_tail);
	tcase_add_test(tc, crash_in_the_gap_is_redone_once);
	tcase_add_test(tc, in_runner_skips_a_pending_entry);
	tcase_add_test(tc, failed_barrier_holds_the_tail);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(tail_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
