/*
 * check_batch - the commit of Work/ files into queue entries
 * (connector/queue/batch.c) on a scratch Imcdata tree: what batch_accept
 * writes for local, remote and mixed files, the order of the commit (the
 * Work file goes only after the entries and the store are durable),
 * notices taken into a batch, changes that wait for the commit, and Work
 * files held when a queue folder cannot be written.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "dispose.h"
#include "inq.h"
#include "qtest.h"

#define MAX_RCPTS	4

struct accept_case {
	const char	*name;
	const char	*text;
	/* the In/ copy's recipients (its envelope, read once a store
	 * failure makes the batch write it), NULL-terminated */
	const char	*in[MAX_RCPTS];
	const char	*out[MAX_RCPTS];	/* the Out/ envelope's */
	/* mailboxes (local part at local.example) with one copy after the
	 * commit */
	const char	*boxes[MAX_RCPTS];
};

static const struct accept_case accept_cases[] = {
	{ "local_file_makes_an_in_entry_only",
	    "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\n"
	    "X-Receiver: <carol@local.example>\r\n"
	    "Subject: local\r\n\r\nbody\r\n",
	    { "bob@local.example", "carol@local.example" }, { NULL },
	    { "bob", "carol" } },
	{ "remote_file_makes_an_out_entry_only",
	    "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <x@remote.example>\r\n"
	    "X-Receiver: <y@other.example>\r\n"
	    "Subject: remote\r\n\r\nbody\r\n",
	    { NULL }, { "x@remote.example", "y@other.example" }, { NULL } },
	{ "mixed_file_makes_both_entries",
	    "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <x@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\n"
	    "Subject: mixed\r\n\r\nbody\r\n",
	    { "bob@local.example" }, { "x@remote.example" }, { "bob" } },
	{ "local_recipients_are_one_per_mailbox",
	    "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\n"
	    "X-Receiver: <Bob@local.example>\r\n"
	    "X-Receiver: <BOB@local.example>\r\n"
	    "Subject: twice\r\n\r\nbody\r\n",
	    { "bob@local.example" }, { NULL }, { "bob" } },
};

static size_t
count(const char *const *v)
{
	size_t n = 0;

	while (n < MAX_RCPTS && v[n] != NULL)
		n++;
	return n;
}

static void
expect_rcpts(const struct qenv *e, const char *const *want)
{
	size_t i, n = count(want);

	ck_assert_uint_eq(e->n_rcpts, n);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(e->rcpts[i].addr, want[i]);
		ck_assert_int_eq(e->rcpts[i].state, QRCPT_PENDING);
	}
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* What accept writes before the commit, and what the commit leaves. */
START_TEST(test_accept_case)
{
	const struct accept_case *c = &accept_cases[_i];
	struct qtest t;
	struct batch *b;
	struct qenv e;
	char qid[QID_SIZE], name[QID_SIZE + 8], *text;
	size_t i, n_in = count(c->in), n_out = count(c->out);

	qtest_init(&t, NULL);
	b = batch_new(&t.q);
	ck_assert_msg(qtest_accept(&t, b, c->text, qid) == ACCEPT_QUEUED, "%s",
	    c->name);
	snprintf(name, sizeof(name), "%s.eml", qid);
	/* the In/ copy starts with the Return-Path the store keeps, and its
	 * lines end in LF (as Maildir readers expect) */
	text = qtest_read(&t, LAYOUT_IN, name);
	if (n_in > 0) {
		ck_assert_ptr_nonnull(text);
		ck_assert_msg(starts_with(text, "Return-Path: "
		    "<alice@remote.example>\nReceived: "), "%s: %.60s",
		    c->name, text);
		ck_assert_msg(strchr(text, '\r') == NULL, "%s: a CR in %s",
		    c->name, text);
	} else
		ck_assert_ptr_null(text);
	free(text);
	/* the Out/ copy does not; its envelope is written at accept */
	if (n_out > 0) {
		ck_assert_ptr_nonnull(text = qtest_read(&t, LAYOUT_OUT, name));
		ck_assert_msg(starts_with(text, "Received: "), "%s", c->name);
		/* SMTP keeps CRLF */
		ck_assert_ptr_nonnull(strstr(text, "\r\n\r\nbody\r\n"));
		free(text);
		qtest_must_load(&t, LAYOUT_OUT, qid, &e);
		ck_assert_str_eq(e.qid, qid);
		ck_assert_str_eq(e.sender, "alice@remote.example");
		ck_assert_str_eq(e.origname, "test.eml");
		ck_assert_uint_eq(e.attempts, 0);
		ck_assert_int_eq(e.next_try, 0);
		ck_assert_int_eq(e.arrival, qid_time(qid));
		expect_rcpts(&e, c->out);
		qenv_free(&e);
	} else
		ck_assert_int_eq(qtest_load(&t, LAYOUT_OUT, qid, &e), -1);
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);

	for (i = 0; i < MAX_RCPTS && c->boxes[i] != NULL; i++) {
		char size[32], to[64];

		ck_assert_msg(qtest_mailbox(&t, "local.example", c->boxes[i]) ==
		    1, "%s: %s", c->name, c->boxes[i]);
		/* LF in the mailbox; the logged size is the file's */
		text = qtest_mailbox_first(&t, "local.example", c->boxes[i]);
		ck_assert_ptr_nonnull(text);
		ck_assert_msg(strchr(text, '\r') == NULL, "%s", c->name);
		ck_assert(strstr(text, "\n\nbody\n") != NULL);
		snprintf(size, sizeof(size), "size=%zu ", strlen(text));
		snprintf(to, sizeof(to), "to=<%s@local.example>", c->boxes[i]);
		ck_assert_uint_eq(qtest_track(&t, "event=delivered", qid, size,
		    to, NULL), 1);
		free(text);
	}
	ck_assert_uint_eq(qtest_count(&t, "Store/local.example/bob/new") +
	    qtest_count(&t, "Store/local.example/carol/new"), i);
	/* delivered: nothing stays in In/; the Out/ entry stays */
	ck_assert(!qtest_has(&t, LAYOUT_IN, qid, ".eml"));
	ck_assert_int_eq(qtest_load(&t, LAYOUT_IN, qid, &e), -1);
	ck_assert_int_eq(qtest_load(&t, LAYOUT_OUT, qid, &e), n_out > 0 ? 0 :
	    -1);
	qenv_free(&e);
	ck_assert_int_eq(qtest_out_entry(&t, qid), n_out > 0);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, qid));
	ck_assert_uint_eq(qtest_track(&t, "event=picked-up", qid,
	    "status=accepted", NULL), 1);
	ck_assert_uint_eq(qtest_track(&t, "event=queued", qid, NULL), n_out);
	ck_assert_uint_eq(qtest_track(&t, "event=delivered", qid,
	    "relay=maildir", NULL), i);
	qtest_fini(&t);
}
END_TEST

/* The In/ envelope as the batch writes it when the store defers: the
 * local recipients, one per mailbox, attempts counted. */
START_TEST(test_accept_in_envelope)
{
	const struct accept_case *c = &accept_cases[_i];
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE];
	time_t before = time(NULL);

	qtest_init(&t, NULL);
	/* a file where the domain's folder belongs: every mailbox fails */
	qtest_write(&t, "Store/local.example", "not a folder\n");
	qtest_queue(&t, c->text, qid);
	if (count(c->in) == 0) {
		ck_assert_int_eq(qtest_load(&t, LAYOUT_IN, qid, &e), -1);
		qtest_fini(&t);
		return;
	}
	qtest_must_load(&t, LAYOUT_IN, qid, &e);
	ck_assert_str_eq(e.sender, "alice@remote.example");
	expect_rcpts(&e, c->in);
	ck_assert_uint_eq(e.attempts, 1);
	ck_assert_int_ge(e.next_try, before + (time_t)t.cfg.local_retry);
	ck_assert_int_le(e.next_try, time(NULL) + (time_t)t.cfg.local_retry);
	ck_assert_str_eq(e.rcpts[0].dsn, "4.2.0");
	ck_assert_ptr_nonnull(e.error);
	qenv_free(&e);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, qid));
	ck_assert_uint_eq(qtest_track(&t, "event=deferred", qid,
	    "relay=maildir", NULL), count(c->in));
	qtest_fini(&t);
}
END_TEST

START_TEST(work_file_goes_only_at_commit)
{
	struct qtest t;
	struct batch *b;
	char qid[QID_SIZE];

	qtest_init(&t, NULL);
	b = batch_new(&t.q);
	ck_assert_int_eq(qtest_accept(&t, b, accept_cases[2].text, qid),
	    ACCEPT_QUEUED);
	/* before: the Work file is the message; nothing is handed on */
	ck_assert(qtest_exists(&t, LAYOUT_WORK, qid));
	ck_assert(!batch_empty(b));
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 0);
	ck_assert_uint_eq(t.n_out, 0);
	ck_assert_uint_eq(t.stats.barriers, 0);
	ck_assert_int_eq(batch_commit(b), 0);
	/* after: the store has it, Out/ has it, the Work file is gone */
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, qid));
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert_uint_eq(t.n_out, 1);
	ck_assert_str_eq(t.out_qids[0], qid);
	/* one barrier for the entries, one for the store */
	ck_assert_uint_eq(t.stats.barriers, 2);
	ck_assert(batch_empty(b));
	batch_free(b);
	qtest_fini(&t);
}
END_TEST

START_TEST(several_files_share_one_commit)
{
	struct qtest t;
	struct batch *b;
	char qid[3][QID_SIZE];
	int i;

	qtest_init(&t, NULL);
	b = batch_new(&t.q);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(qtest_accept(&t, b, accept_cases[1].text,
		    qid[i]), ACCEPT_QUEUED);
	ck_assert_int_eq(batch_commit(b), 0);
	ck_assert_uint_eq(t.stats.barriers, 1);	/* no store handoff */
	ck_assert_uint_eq(t.n_out, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(t.out_qids[i], qid[i]);
		ck_assert(!qtest_exists(&t, LAYOUT_WORK, qid[i]));
	}
	batch_free(b);
	qtest_fini(&t);
}
END_TEST

START_TEST(file_without_recipients_goes_to_pickup_archive)
{
	struct qtest t;
	struct batch *b;
	char qid[QID_SIZE], name[QID_SIZE + 16];

	qtest_init(&t, NULL);
	b = batch_new(&t.q);
	ck_assert_int_eq(qtest_accept(&t, b, "Subject: nobody\r\n\r\nbody\r\n",
	    qid), ACCEPT_ARCHIVED);
	ck_assert(batch_empty(b));
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, qid));
	snprintf(name, sizeof(name), "%s.eml", qid);
	ck_assert(qtest_exists(&t, LAYOUT_PICKUP_ARCHIVE, name));
	snprintf(name, sizeof(name), "%s.reason", qid);
	ck_assert(qtest_exists(&t, LAYOUT_PICKUP_ARCHIVE, name));
	ck_assert_int_eq(qtest_load(&t, LAYOUT_IN, qid, &(struct qenv){ 0 }),
	    -1);
	batch_free(b);
	qtest_fini(&t);
}
END_TEST

/* A notice dispose wrote for a local sender: taken into the batch, its
 * In/ copy due now, not handed to the store in this batch. */
START_TEST(notice_in_batch_is_due_now_in_in)
{
	struct qtest t;
	struct batch *b;
	struct qenv e, n;
	char qid[QID_SIZE], notice[QID_SIZE];

	qtest_init(&t, NULL);
	qtest_queue(&t, "X-Sender: <alice@local.example>\r\n"
	    "X-Receiver: <x@remote.example>\r\nSubject: s\r\n\r\nbody\r\n", qid);
	qtest_must_load(&t, LAYOUT_OUT, qid, &e);
	e.rcpts[0].state = QRCPT_FAILED;
	snprintf(e.rcpts[0].dsn, sizeof(e.rcpts[0].dsn), "5.1.1");
	qenv_set(&e.rcpts[0].text, "550 5.1.1 no such user");
	dispose_finish(&t.q, LAYOUT_OUT, &e, notice);
	ck_assert_str_ne(notice, "");
	ck_assert(qtest_exists(&t, LAYOUT_WORK, notice));

	b = batch_new(&t.q);
	batch_take_notice(b, notice);
	batch_after_remove(b, LAYOUT_OUT, qid);
	/* before the commit: the In/ envelope is written, due now */
	qtest_must_load(&t, LAYOUT_IN, notice, &n);
	ck_assert_str_eq(n.sender, "");
	ck_assert_uint_eq(n.n_rcpts, 1);
	ck_assert_str_eq(n.rcpts[0].addr, "alice@local.example");
	ck_assert_int_eq(n.next_try, 0);
	qenv_free(&n);
	ck_assert(!t.q.in_due);
	ck_assert(qtest_exists(&t, LAYOUT_WORK, notice));
	ck_assert_int_eq(qtest_load(&t, LAYOUT_OUT, qid, &n), 0);
	qenv_free(&n);

	ck_assert_int_eq(batch_commit(b), 0);
	ck_assert(t.q.in_due);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, notice));
	ck_assert_int_eq(qtest_load(&t, LAYOUT_OUT, qid, &n), -1);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "alice"), 0);
	ck_assert(!qtest_out_entry(&t, notice));
	qtest_must_load(&t, LAYOUT_IN, notice, &n);
	qenv_free(&n);
	/* the In/ runner takes it */
	ck_assert_uint_eq(inq_run(&t.q, false, false), 1);
	ck_assert(!t.q.in_due);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "alice"), 1);
	ck_assert_int_eq(qtest_load(&t, LAYOUT_IN, notice, &n), -1);
	qenv_free(&e);
	batch_free(b);
	qtest_fini(&t);
}
END_TEST

START_TEST(after_remove_waits_for_commit)
{
	struct qtest t;
	struct batch *b;
	struct qenv e;
	char qid[QID_SIZE];

	qtest_init(&t, NULL);
	qtest_queue(&t, accept_cases[1].text, qid);
	b = batch_new(&t.q);
	batch_after_remove(b, LAYOUT_OUT, qid);
	ck_assert(!batch_empty(b));
	qtest_must_load(&t, LAYOUT_OUT, qid, &e);
	qenv_free(&e);
	ck_assert(qtest_has(&t, LAYOUT_OUT, qid, ".eml"));
	ck_assert_int_eq(batch_commit(b), 0);
	ck_assert_int_eq(qtest_load(&t, LAYOUT_OUT, qid, &e), -1);
	ck_assert(!qtest_has(&t, LAYOUT_OUT, qid, ".eml"));
	batch_free(b);
	qtest_fini(&t);
}
END_TEST

START_TEST(after_store_waits_for_commit)
{
	struct qtest t;
	struct batch *b;
	struct qenv e;
	char qid[QID_SIZE];

	qtest_init(&t, NULL);
	qtest_queue(&t, accept_cases[1].text, qid);
	qtest_must_load(&t, LAYOUT_OUT, qid, &e);
	e.attempts = 7;
	e.next_try = 1234567;
	e.rcpts[1].state = QRCPT_DONE;
	b = batch_new(&t.q);
	batch_after_store(b, LAYOUT_OUT, &e);
	/* moved into the batch */
	ck_assert_uint_eq(e.n_rcpts, 0);
	qenv_free(&e);
	qtest_must_load(&t, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(e.attempts, 0);
	ck_assert_int_eq(e.next_try, 0);
	qenv_free(&e);
	ck_assert_int_eq(batch_commit(b), 0);
	qtest_must_load(&t, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(e.attempts, 7);
	ck_assert_int_eq(e.next_try, 1234567);
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
	ck_assert_int_eq(e.rcpts[1].state, QRCPT_DONE);
	qenv_free(&e);
	batch_free(b);
	qtest_fini(&t);
}
END_TEST

struct held_case {
	const char	*name;
	const char	*folder;	/* removed before the accept */
	const char	*text;
	enum layout_dir	 dir;		/* where the entry lands at last */
};

static const struct held_case held_cases[] = {
	{ "out_folder_removed_holds_remote_file", "Out",
	    "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <x@remote.example>\r\nSubject: s\r\n\r\nbody\r\n",
	    LAYOUT_OUT },
	{ "in_folder_removed_holds_local_file", "In",
	    "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\nSubject: s\r\n\r\nbody\r\n",
	    LAYOUT_IN },
	{ "out_folder_removed_holds_mixed_file", "Out",
	    "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\n"
	    "X-Receiver: <x@remote.example>\r\nSubject: s\r\n\r\nbody\r\n",
	    LAYOUT_OUT },
};

/* A queue folder that cannot be written holds the Work file; the retry
 * (the folder made again) takes it. */
START_TEST(test_held_case)
{
	const struct held_case *c = &held_cases[_i];
	struct qtest t;
	struct batch *b;
	struct qenv e;
	char qid[QID_SIZE], name[QID_SIZE + 8];
	int64_t ms;
	long long end;

	qtest_init(&t, NULL);
	qtest_rm(&t, c->folder);
	b = batch_new(&t.q);
	ck_assert_msg(qtest_accept(&t, b, c->text, qid) == ACCEPT_FAILED, "%s",
	    c->name);
	ck_assert(batch_empty(b));
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);
	/* held: kept in Work, nothing half-written left, said so */
	ck_assert(qtest_exists(&t, LAYOUT_WORK, qid));
	snprintf(name, sizeof(name), "%s.eml", qid);
	ck_assert(!qtest_exists(&t, LAYOUT_IN, name));
	ck_assert_uint_eq(t.q.n_held, 1);
	ms = batch_held_ms(&t.q);
	ck_assert_int_ge(ms, 0);
	ck_assert_int_le(ms, 1000);
	ck_assert_uint_eq(qtest_track(&t, "event=held", qid, "status=work",
	    NULL), 1);
	ck_assert_uint_eq(t.n_out, 0);
	/* not before it is due */
	if (ms > 100) {
		ck_assert_uint_eq(batch_retry_held(&t.q), 0);
		ck_assert(qtest_exists(&t, LAYOUT_WORK, qid));
	}
	end = qtest_now_ms() + 3000;
	while ((ms = batch_held_ms(&t.q)) > 0 && qtest_now_ms() < end)
		usleep(20000);
	ck_assert_int_eq(ms, 0);
	ck_assert_uint_eq(batch_retry_held(&t.q), 1);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, qid));
	ck_assert_uint_eq(t.q.n_held, 0);
	ck_assert_int_eq(batch_held_ms(&t.q), -1);
	if (c->dir == LAYOUT_OUT) {
		qtest_must_load(&t, LAYOUT_OUT, qid, &e);
		qenv_free(&e);
		ck_assert(qtest_out_entry(&t, qid));
	}
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"),
	    strstr(c->text, "bob@") != NULL ? 1 : 0);
	qtest_fini(&t);
}
END_TEST

/* A retry that fails again waits twice as long. */
START_TEST(held_file_failing_again_waits_longer)
{
	struct qtest t;
	struct batch *b;
	char qid[QID_SIZE];
	int64_t ms;
	long long end;

	qtest_init(&t, NULL);
	qtest_rm(&t, "Out");
	b = batch_new(&t.q);
	ck_assert_int_eq(qtest_accept(&t, b, held_cases[0].text, qid),
	    ACCEPT_FAILED);
	batch_free(b);
	/* a file where the folder belongs: it cannot be made again */
	qtest_write(&t, "Out", "in the way\n");
	end = qtest_now_ms() + 3000;
	while ((ms = batch_held_ms(&t.q)) > 0 && qtest_now_ms() < end)
		usleep(20000);
	ck_assert_uint_eq(batch_retry_held(&t.q), 1);
	ck_assert(qtest_exists(&t, LAYOUT_WORK, qid));
	ck_assert_uint_eq(t.q.n_held, 1);
	ck_assert_uint_eq(t.q.held[0].tries, 2);
	ms = batch_held_ms(&t.q);
	ck_assert_int_gt(ms, 1000);
	ck_assert_int_le(ms, 2000);
	ck_assert_uint_eq(qtest_track(&t, "event=held", qid, NULL), 2);
	qtest_fini(&t);
}
END_TEST

static Suite *
batch_suite(void)
{
	Suite *s = suite_create("batch");
	TCase *tc;

	tc = qtest_tcase("accept");
	tcase_add_loop_test(tc, test_accept_case, 0,
	    (int)(sizeof(accept_cases) / sizeof(accept_cases[0])));
	tcase_add_loop_test(tc, test_accept_in_envelope, 0,
	    (int)(sizeof(accept_cases) / sizeof(accept_cases[0])));
	tcase_add_test(tc, file_without_recipients_goes_to_pickup_archive);
	suite_add_tcase(s, tc);

	tc = qtest_tcase("commit");
	tcase_add_test(tc, work_file_goes_only_at_commit);
	tcase_add_test(tc, several_files_share_one_commit);
	tcase_add_test(tc, notice_in_batch_is_due_now_in_in);
	tcase_add_test(tc, after_remove_waits_for_commit);
	tcase_add_test(tc, after_store_waits_for_commit);
	suite_add_tcase(s, tc);

	tc = qtest_tcase("held");
	tcase_add_loop_test(tc, test_held_case, 0,
	    (int)(sizeof(held_cases) / sizeof(held_cases[0])));
	tcase_add_test(tc, held_file_failing_again_waits_longer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(batch_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
