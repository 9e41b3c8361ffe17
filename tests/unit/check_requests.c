/*
 * check_requests - requests from tools (connector/queue/requests.c) on a
 * scratch Imcdata tree: a flush request written the way imc-queue writes
 * it (qrequest_write) makes the named Out/ entries (or all) due and
 * starts them, tries every In/ entry, and is removed; a request that
 * cannot be read is removed without effect. The Out/ queue runs with a
 * fake delivery that records the jobs it is given.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "evloop.h"
#include "inq.h"
#include "outq.h"
#include "qrequest.h"
#include "qtest.h"
#include "requests.h"

static struct qtest T;
static struct evloop *L;
static struct outq *OQ;
static struct {
	struct out_job	*jobs[16];
	char		 qids[16][QID_SIZE];
	size_t		 n;
} F;

static void
fake_submit(void *arg, const struct route *r, struct out_job *job)
{
	ck_assert_uint_lt(F.n, 16);
	memcpy(F.qids[F.n], job->qid, QID_SIZE);
	F.jobs[F.n++] = job;
}

static void
fake_settled(void *arg)
{
}

static const struct outq_ops fake_ops = { fake_submit, fake_settled };

static void
to_outq(void *arg, const char *qid)
{
	ck_assert_int_eq(outq_add(OQ, qid), 0);
}

static void
start(void)
{
	memset(&F, 0, sizeof(F));
	qtest_init(&T, NULL);
	ck_assert_ptr_nonnull(L = evloop_new());
	OQ = outq_new(&T.q, L, &fake_ops, &F);
	T.q.out_entry = to_outq;
	T.q.out_arg = &T;
}

static void
finish(void)
{
	outq_stop(OQ);
	evloop_free(L);
	outq_free(OQ);
	qtest_fini(&T);
}

/* Two Out/ entries, tried once and deferred (waiting 15 minutes). */
static void
two_waiting(char a[QID_SIZE], char b[QID_SIZE])
{
	static const char text[] = "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <x@a.example>\r\nSubject: s\r\n\r\nbody\r\n";
	struct batch *bt;
	size_t k, i;

	qtest_queue(&T, text, a);
	qtest_queue(&T, text, b);
	ck_assert_uint_eq(outq_run(OQ), 2);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < F.jobs[k]->n; i++)
			mail_status_set(&F.jobs[k]->res[i], MAIL_TEMP, "4.4.1",
			    "refused");
		outq_job_done(OQ, F.jobs[k]);
	}
	bt = batch_new(&T.q);
	ck_assert_uint_eq(outq_dispose(OQ, bt), 2);
	ck_assert_int_eq(batch_commit(bt), 0);
	batch_free(bt);
	ck_assert_uint_eq(outq_run(OQ), 0);
	F.n = 0;
}

static void
write_request(bool all, const char *qid)
{
	char qids[1][QID_SIZE], name[QREQUEST_NAME_LEN + 1];
	struct qrequest rq = { .verb = QREQUEST_FLUSH, .all = all };

	if (qid != NULL) {
		memcpy(qids[0], qid, QID_SIZE);
		rq.qids = qids;
		rq.n_qids = 1;
	}
	ck_assert_int_eq(qrequest_write(T.dir[LAYOUT_LOG], &rq, name), 0);
	ck_assert(qrequest_name_valid(name));
}

/* Request files left in Log/. */
static size_t
requests_left(void)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int fd;

	fd = openat(T.dir[LAYOUT_LOG], ".", O_RDONLY | O_DIRECTORY);
	ck_assert_int_ne(fd, -1);
	ck_assert_ptr_nonnull(d = fdopendir(fd));
	while ((de = readdir(d)) != NULL)
		if (qrequest_name_valid(de->d_name))
			n++;
	closedir(d);
	return n;
}

START_TEST(flush_of_one_entry_starts_it_only)
{
	char a[QID_SIZE], b[QID_SIZE];

	start();
	two_waiting(a, b);
	write_request(false, b);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	ck_assert_uint_eq(F.n, 1);
	ck_assert_str_eq(F.qids[0], b);
	ck_assert_uint_eq(requests_left(), 0);
	/* applied once: nothing left to apply */
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 0);
	finish();
}
END_TEST

START_TEST(flush_all_starts_every_entry_and_runs_in)
{
	struct qenv e;
	char a[QID_SIZE], b[QID_SIZE], in[QID_SIZE];

	start();
	two_waiting(a, b);
	/* an In/ entry the store deferred, not due for minutes */
	qtest_write(&T, "Store/local.example", "not a folder\n");
	qtest_queue(&T, "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\nSubject: s\r\n\r\nbody\r\n",
	    in);
	qtest_rm(&T, "Store/local.example");
	write_request(true, NULL);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	ck_assert_uint_eq(F.n, 2);
	ck_assert_uint_eq(qtest_mailbox(&T, "local.example", "bob"), 1);
	ck_assert_int_eq(qtest_load(&T, LAYOUT_IN, in, &e), -1);
	ck_assert_uint_eq(requests_left(), 0);
	finish();
}
END_TEST

/* Without an Out/ queue yet (at start) a request still runs In/. */
START_TEST(flush_without_out_queue_runs_in)
{
	char in[QID_SIZE];

	start();
	qtest_write(&T, "Store/local.example", "not a folder\n");
	qtest_queue(&T, "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\nSubject: s\r\n\r\nbody\r\n",
	    in);
	qtest_rm(&T, "Store/local.example");
	write_request(true, NULL);
	ck_assert_uint_eq(requests_apply(&T.q, NULL), 1);
	ck_assert_uint_eq(qtest_mailbox(&T, "local.example", "bob"), 1);
	ck_assert_uint_eq(requests_left(), 0);
	finish();
}
END_TEST

struct bad_case {
	const char	*name;
	const char	*text;
};

static const struct bad_case bad_cases[] = {
	{ "garbage_request_is_removed", "not a request\n" },
	{ "unknown_verb_is_removed", "IMCR 1\ndelete all\nend\n" },
	{ "request_without_end_is_removed", "IMCR 1\nflush all\n" },
	{ "invalid_qid_is_removed", "IMCR 1\nflush\nqid nonsense\nend\n" },
};

START_TEST(test_bad_case)
{
	const struct bad_case *c = &bad_cases[_i];
	char a[QID_SIZE], b[QID_SIZE];

	start();
	two_waiting(a, b);
	qtest_write(&T, "Log/0123456789abcdef.request", c->text);
	ck_assert_msg(requests_apply(&T.q, OQ) == 0, "%s", c->name);
	ck_assert_uint_eq(F.n, 0);
	ck_assert_uint_eq(requests_left(), 0);
	finish();
}
END_TEST

/* Other files in Log/ are not requests: left alone. */
START_TEST(other_log_files_are_left_alone)
{
	start();
	qtest_write(&T, "Log/notes.request.txt", "IMCR 1\nflush all\nend\n");
	qtest_write(&T, "Log/0123456789ABCDEF.request",
	    "IMCR 1\nflush all\nend\n");
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 0);
	ck_assert(qtest_exists(&T, LAYOUT_LOG, "notes.request.txt"));
	ck_assert(qtest_exists(&T, LAYOUT_LOG, "0123456789ABCDEF.request"));
	finish();
}
END_TEST

/* A request of verb for the named entries; its name into name. */
static void
write_change(enum qrequest_verb verb, const char *q1, const char *q2,
    char name[QREQUEST_NAME_LEN + 1])
{
	char qids[2][QID_SIZE];
	struct qrequest rq = { .verb = verb, .qids = qids };

	memcpy(qids[rq.n_qids++], q1, QID_SIZE);
	if (q2 != NULL)
		memcpy(qids[rq.n_qids++], q2, QID_SIZE);
	ck_assert_int_eq(qrequest_write(T.dir[LAYOUT_LOG], &rq, name), 0);
}

/* The reply to a request: read, then removed as the tool does. */
static void
read_reply(const char *name, struct qrequest_reply *r)
{
	char rname[QREQUEST_NAME_LEN + 1];
	struct buf err;

	buf_init(&err);
	ck_assert_msg(qrequest_reply_read(T.dir[LAYOUT_LOG], name, r, &err) == 0,
	    "%s", buf_cstr(&err));
	qrequest_reply_name(rname, sizeof(rname), name);
	ck_assert_int_eq(unlinkat(T.dir[LAYOUT_LOG], rname, 0), 0);
	buf_fini(&err);
}

/* hold_keeps_an_entry_from_every_run_until_released - held on disk,
 * out of the Out/ queue (a flush does not start it, nor a new queue
 * loaded after a restart), answered per queue id; release makes it due
 * at once */
START_TEST(hold_keeps_an_entry_from_every_run_until_released)
{
	char a[QID_SIZE], b[QID_SIZE], name[QREQUEST_NAME_LEN + 1];
	struct qrequest_reply r;
	struct qenv e;
	struct outq *again;

	start();
	two_waiting(a, b);
	write_change(QREQUEST_HOLD, a, "0000000000000000", name);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	read_reply(name, &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_str_eq(r.items[0].qid, a);
	ck_assert_int_eq(r.items[0].result, QREQUEST_DONE);
	ck_assert_str_eq(r.items[0].text, "held in Out");
	ck_assert_int_eq(r.items[1].result, QREQUEST_UNKNOWN);
	qrequest_reply_free(&r);
	qtest_must_load(&T, LAYOUT_OUT, a, &e);
	ck_assert(e.held > 0);
	qenv_free(&e);
	ck_assert_uint_eq(qtest_track(&T, "event=held", a, NULL), 1);
	/* flush: only b starts */
	write_request(true, NULL);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	ck_assert_uint_eq(F.n, 1);
	ck_assert_str_eq(F.qids[0], b);
	/* a queue loaded from disk (a restart) leaves it out too */
	again = outq_new(&T.q, L, &fake_ops, &F);
	ck_assert_int_eq(outq_load(again), 0);
	ck_assert_int_eq(outq_make_due(again, NULL), 1);	/* b only */
	outq_stop(again);
	outq_free(again);
	/* held twice: already */
	write_change(QREQUEST_HOLD, a, NULL, name);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	read_reply(name, &r);
	ck_assert_int_eq(r.items[0].result, QREQUEST_ALREADY);
	qrequest_reply_free(&r);
	/* released: due now, the next run starts it */
	write_change(QREQUEST_RELEASE, a, NULL, name);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	read_reply(name, &r);
	ck_assert_int_eq(r.items[0].result, QREQUEST_DONE);
	qrequest_reply_free(&r);
	qtest_must_load(&T, LAYOUT_OUT, a, &e);
	ck_assert(e.held == 0 && e.next_try == 0);
	qenv_free(&e);
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_str_eq(F.qids[F.n - 1], a);
	ck_assert_uint_eq(qtest_track(&T, "event=released", a, NULL), 1);
	finish();
}
END_TEST

/* a_change_to_an_entry_in_delivery_waits_for_it - its envelope is the
 * queue's to write until it is disposed of: the request stays, and is
 * applied after the batch that writes the entry back */
START_TEST(a_change_to_an_entry_in_delivery_waits_for_it)
{
	char a[QID_SIZE], b[QID_SIZE], name[QREQUEST_NAME_LEN + 1];
	struct qrequest_reply r;
	struct batch *bt;
	struct qenv e;
	size_t i;

	start();
	two_waiting(a, b);
	ck_assert_uint_eq(outq_make_due(OQ, a), 1);
	ck_assert_uint_eq(outq_run(OQ), 1);	/* a in delivery */
	write_change(QREQUEST_HOLD, a, NULL, name);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 0);
	ck_assert(T.q.requests_kept);
	ck_assert_uint_eq(requests_left(), 1);
	qtest_must_load(&T, LAYOUT_OUT, a, &e);
	ck_assert(e.held == 0);
	qenv_free(&e);
	/* the attempt ends and is written back; then the request goes */
	for (i = 0; i < F.jobs[F.n - 1]->n; i++)
		mail_status_set(&F.jobs[F.n - 1]->res[i], MAIL_TEMP, "4.4.1",
		    "refused");
	outq_job_done(OQ, F.jobs[F.n - 1]);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 0);	/* settled only */
	bt = batch_new(&T.q);
	ck_assert_uint_eq(outq_dispose(OQ, bt), 1);
	ck_assert_int_eq(batch_commit(bt), 0);
	batch_free(bt);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	ck_assert(!T.q.requests_kept);
	read_reply(name, &r);
	ck_assert_int_eq(r.items[0].result, QREQUEST_DONE);
	qrequest_reply_free(&r);
	qtest_must_load(&T, LAYOUT_OUT, a, &e);
	ck_assert(e.held > 0);
	ck_assert_uint_eq(e.attempts, 2);	/* the attempt kept too */
	qenv_free(&e);
	ck_assert_uint_eq(outq_make_due(OQ, a), 0);	/* not waiting */
	finish();
}
END_TEST

/* delete_removes_the_entry_and_tells_nobody - and the queue forgets it */
START_TEST(delete_removes_the_entry_and_tells_nobody)
{
	char a[QID_SIZE], b[QID_SIZE], name[QREQUEST_NAME_LEN + 1];
	struct qrequest_reply r;

	start();
	two_waiting(a, b);
	write_change(QREQUEST_DELETE, a, NULL, name);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	read_reply(name, &r);
	ck_assert_int_eq(r.items[0].result, QREQUEST_DONE);
	ck_assert_str_eq(r.items[0].text, "deleted from Out");
	qrequest_reply_free(&r);
	ck_assert(!qtest_has(&T, LAYOUT_OUT, a, QFILE_EML));
	ck_assert(qtest_has(&T, LAYOUT_OUT, b, QFILE_EML));
	ck_assert_uint_eq(qtest_track(&T, "event=deleted", a,
	    "to=<x@a.example>", NULL), 1);
	ck_assert_uint_eq(outq_make_due(OQ, NULL), 1);	/* b only */
	ck_assert_uint_eq(qtest_count(&T, "Work"), 0);	/* no notice */
	/* deleted again: unknown */
	write_change(QREQUEST_DELETE, a, NULL, name);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	read_reply(name, &r);
	ck_assert_int_eq(r.items[0].result, QREQUEST_UNKNOWN);
	qrequest_reply_free(&r);
	finish();
}
END_TEST

/* delete_bounce_fails_the_pending_recipients_and_runs_the_entry - due
 * now; its run tells the sender (a notice into Work/) and removes it */
START_TEST(delete_bounce_fails_the_pending_recipients_and_runs_the_entry)
{
	char a[QID_SIZE], b[QID_SIZE], name[QREQUEST_NAME_LEN + 1];
	struct qrequest_reply r;
	struct batch *bt;
	struct qenv e;

	start();
	two_waiting(a, b);
	write_change(QREQUEST_DELETE_BOUNCE, a, NULL, name);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	read_reply(name, &r);
	ck_assert_int_eq(r.items[0].result, QREQUEST_DONE);
	qrequest_reply_free(&r);
	qtest_must_load(&T, LAYOUT_OUT, a, &e);
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_FAILED);
	ck_assert_str_eq(e.rcpts[0].dsn, "5.0.0");
	qenv_free(&e);
	ck_assert_uint_eq(outq_run(OQ), 1);	/* no job: settled at once */
	bt = batch_new(&T.q);
	ck_assert_uint_eq(outq_dispose(OQ, bt), 1);
	ck_assert_int_eq(batch_commit(bt), 0);
	batch_free(bt);
	ck_assert(!qtest_has(&T, LAYOUT_OUT, a, QFILE_EML));
	ck_assert_uint_eq(qtest_track(&T, "event=bounced", a, "dsn=5.0.0",
	    NULL), 1);
	finish();
}
END_TEST

/* a_held_in_entry_is_not_delivered_even_by_a_flush - the In/ runner
 * leaves it alone (inq_run all = true is what a flush and recovery
 * run); released, it is delivered at the next run */
START_TEST(a_held_in_entry_is_not_delivered_even_by_a_flush)
{
	char in[QID_SIZE], name[QREQUEST_NAME_LEN + 1];
	struct qrequest_reply r;

	start();
	qtest_write(&T, "Store/local.example", "not a folder\n");
	qtest_queue(&T, "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\nSubject: s\r\n\r\nbody\r\n",
	    in);
	qtest_rm(&T, "Store/local.example");
	write_change(QREQUEST_HOLD, in, NULL, name);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	read_reply(name, &r);
	ck_assert_str_eq(r.items[0].text, "held in In");
	qrequest_reply_free(&r);
	write_request(true, NULL);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	ck_assert_uint_eq(inq_run(&T.q, true, true), 0);
	ck_assert_uint_eq(qtest_mailbox(&T, "local.example", "bob"), 0);
	write_change(QREQUEST_RELEASE, in, NULL, name);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 1);
	read_reply(name, &r);
	qrequest_reply_free(&r);
	ck_assert(T.q.in_due);
	ck_assert_uint_eq(inq_run(&T.q, false, false), 1);
	ck_assert_uint_eq(qtest_mailbox(&T, "local.example", "bob"), 1);
	finish();
}
END_TEST

/* replies_nobody_collected_go_after_an_hour */
START_TEST(replies_nobody_collected_go_after_an_hour)
{
	struct timespec old[2] = { { 0, UTIME_OMIT }, { 0, 0 } };

	start();
	qtest_write(&T, "Log/0123456789abcdef.reply", "IMCA 1\nend\n");
	qtest_write(&T, "Log/fedcba9876543210.reply", "IMCA 1\nend\n");
	old[1].tv_sec = time(NULL) - 2 * 3600;
	ck_assert_int_eq(utimensat(T.dir[LAYOUT_LOG],
	    "0123456789abcdef.reply", old, 0), 0);
	ck_assert_uint_eq(requests_apply(&T.q, OQ), 0);
	ck_assert(!qtest_exists(&T, LAYOUT_LOG, "0123456789abcdef.reply"));
	ck_assert(qtest_exists(&T, LAYOUT_LOG, "fedcba9876543210.reply"));
	finish();
}
END_TEST

static Suite *
requests_suite(void)
{
	Suite *s = suite_create("requests");
	TCase *tc;

	tc = qtest_tcase("flush");
	tcase_add_test(tc, flush_of_one_entry_starts_it_only);
	tcase_add_test(tc, flush_all_starts_every_entry_and_runs_in);
	tcase_add_test(tc, flush_without_out_queue_runs_in);
	tcase_add_loop_test(tc, test_bad_case, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, other_log_files_are_left_alone);
	suite_add_tcase(s, tc);
	tc = qtest_tcase("change");
	tcase_add_test(tc, hold_keeps_an_entry_from_every_run_until_released);
	tcase_add_test(tc, a_change_to_an_entry_in_delivery_waits_for_it);
	tcase_add_test(tc, delete_removes_the_entry_and_tells_nobody);
	tcase_add_test(tc,
	    delete_bounce_fails_the_pending_recipients_and_runs_the_entry);
	tcase_add_test(tc, a_held_in_entry_is_not_delivered_even_by_a_flush);
	tcase_add_test(tc, replies_nobody_collected_go_after_an_hour);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(requests_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
