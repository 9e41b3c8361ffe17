/*
 * check_recover - start-up recovery (connector/queue/recover.c) on a
 * scratch Imcdata tree left the way a crash leaves it: a Work file whose
 * batch did not end is redone with the same queue id (and so the same
 * store names: nothing is delivered twice), temp names are swept, an In/
 * content file without its envelope is dropped, and every In/ entry is
 * tried at once.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "recover.h"
#include "qtest.h"

#define MIXED_FILE \
	"X-Sender: <alice@remote.example>\r\n" \
	"X-Receiver: <bob@local.example>\r\n" \
	"X-Receiver: <x@remote.example>\r\nSubject: s\r\n\r\nbody\r\n"

/* The batch took the file and wrote its entries, then the process died
 * before the commit: the Work file is the message. */
START_TEST(work_file_of_unfinished_batch_is_redone)
{
	struct qtest t;
	struct batch *b;
	struct qenv e;
	char qid[QID_SIZE];

	qtest_init(&t, NULL);
	b = batch_new(&t.q);
	ck_assert_int_eq(qtest_accept(&t, b, MIXED_FILE, qid), ACCEPT_QUEUED);
	batch_free(b);		/* no commit */
	ck_assert(qtest_exists(&t, LAYOUT_WORK, qid));
	ck_assert(qtest_has(&t, LAYOUT_IN, qid, ".eml"));

	ck_assert_int_eq(recover_run(&t.q), 0);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, qid));
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert(!qtest_has(&t, LAYOUT_IN, qid, ".eml"));
	qtest_must_load(&t, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(e.n_rcpts, 1);
	ck_assert_str_eq(e.rcpts[0].addr, "x@remote.example");
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
	qenv_free(&e);
	ck_assert_uint_eq(qtest_entries(&t, LAYOUT_OUT, NULL, 0), 1);
	qtest_fini(&t);
}
END_TEST

/* The store handoff happened, the Work file did not go: the redo finds
 * the mailbox's copy under the same name. */
START_TEST(redo_after_store_handoff_delivers_once)
{
	struct qtest t;
	struct batch *b;
	struct qenv e;
	char qid[QID_SIZE], path[QID_SIZE + 8], *work;

	qtest_init(&t, NULL);
	b = batch_new(&t.q);
	ck_assert_int_eq(qtest_accept(&t, b, MIXED_FILE, qid), ACCEPT_QUEUED);
	ck_assert_ptr_nonnull(work = qtest_read(&t, LAYOUT_WORK, qid));
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	/* as if the commit had died before its Work file went */
	snprintf(path, sizeof(path), "Work/%s", qid);
	qtest_write(&t, path, work);
	free(work);

	ck_assert_int_eq(recover_run(&t.q), 0);
	ck_assert(!qtest_exists(&t, LAYOUT_WORK, qid));
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	qtest_must_load(&t, LAYOUT_OUT, qid, &e);
	qenv_free(&e);
	ck_assert_uint_eq(qtest_entries(&t, LAYOUT_OUT, NULL, 0), 1);
	qtest_fini(&t);
}
END_TEST

START_TEST(temp_names_are_swept_and_others_kept)
{
	static const struct {
		const char	*path;
		bool		 kept;
	} files[] = {
		{ "In/.0HOQ9YUMN0K7BHXQ.0.conv", false },
		{ "In/.0HOQ9YUMN0K7BHXQ.repair", false },
		{ "Out/.0HOQ9YUMN0K7BHXQ.1234.tmp", false },
		{ "Out/.keep", true },
		{ "In/notes.txt", true },
	};
	struct qtest t;
	char rel[64];
	size_t i;

	qtest_init(&t, NULL);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		qtest_write(&t, files[i].path, "x\n");
	ck_assert_int_eq(recover_run(&t.q), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), "%s", files[i].path + (files[i].path[0]
		    == 'I' ? 3 : 4));
		ck_assert_msg(qtest_exists(&t, files[i].path[0] == 'I' ?
		    LAYOUT_IN : LAYOUT_OUT, rel) == files[i].kept, "%s",
		    files[i].path);
	}
	qtest_fini(&t);
}
END_TEST

/* An envelope is removed before its content: content alone in In/ is a
 * finished entry whose removal was cut short. */
START_TEST(in_content_without_envelope_is_dropped)
{
	struct qtest t;
	char qid[QID_SIZE], path[QID_SIZE + 16];

	qtest_init(&t, NULL);
	ck_assert_int_eq(qid_new(qid), 0);
	snprintf(path, sizeof(path), "In/%s.eml", qid);
	qtest_write(&t, path, "Subject: done\r\n\r\nbody\r\n");
	ck_assert_int_eq(recover_run(&t.q), 0);
	ck_assert(!qtest_has(&t, LAYOUT_IN, qid, ".eml"));
	ck_assert_uint_eq(qtest_count(&t, "Badmail"), 0);
	ck_assert_uint_eq(qtest_count(&t, "Store"), 0);
	qtest_fini(&t);
}
END_TEST

/* At start every In/ entry is tried, due or not. */
START_TEST(every_in_entry_is_tried_at_start)
{
	struct qtest t;
	struct qenv e;
	char qid[QID_SIZE];

	qtest_init(&t, NULL);
	qtest_write(&t, "Store/local.example", "not a folder\n");
	qtest_queue(&t, "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\nSubject: s\r\n\r\nbody\r\n",
	    qid);
	qtest_must_load(&t, LAYOUT_IN, qid, &e);
	ck_assert_int_gt(e.next_try, time(NULL));
	qenv_free(&e);
	qtest_rm(&t, "Store/local.example");
	ck_assert_int_eq(recover_run(&t.q), 0);
	ck_assert_uint_eq(qtest_mailbox(&t, "local.example", "bob"), 1);
	ck_assert_int_eq(qtest_load(&t, LAYOUT_IN, qid, &e), -1);
	qtest_fini(&t);
}
END_TEST

static Suite *
recover_suite(void)
{
	Suite *s = suite_create("recover");
	TCase *tc;

	tc = qtest_tcase("recover");
	tcase_add_test(tc, work_file_of_unfinished_batch_is_redone);
	tcase_add_test(tc, redo_after_store_handoff_delivers_once);
	tcase_add_test(tc, temp_names_are_swept_and_others_kept);
	tcase_add_test(tc, in_content_without_envelope_is_dropped);
	tcase_add_test(tc, every_in_entry_is_tried_at_start);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(recover_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
