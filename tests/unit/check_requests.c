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

#include "batch.h"
#include "evloop.h"
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
