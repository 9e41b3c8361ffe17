/*
 * check_store_drop - the IIS-style Drop folder (connector/store/
 * store_drop.c) and its use by the store handoff (handoff.c), on a
 * scratch Imcdata tree (qtest.h): what a Drop file holds (x-sender and
 * x-receiver lines, then the message in CRLF without the queue copy's
 * Return-Path line), its mode and group, its name from the queue id (one
 * file per message and conversion), a redo after a crash that finds its
 * own file and writes no second one, a name held by something else that
 * defers instead of replacing it, and a per-domain mix with Maildir.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "imc_limits.h"
#include "qtest.h"
#include "store_drop.h"

#define DROP_CONF	"store = drop\n"

static const char two_local[] =
    "X-Sender: <alice@remote.example>\r\n"
    "X-Receiver: <bob@local.example>\r\n"
    "X-Receiver: <carol@local.example>\r\n"
    "X-Receiver: <zed@remote.example>\r\n"
    "Subject: for the drop\r\n\r\nbody line\r\n..dot line\r\n";

/* Every LF of s ends a CRLF. */
static bool
all_crlf(const char *s)
{
	const char *p;

	for (p = s; (p = strchr(p, '\n')) != NULL; p++)
		if (p == s || p[-1] != '\r')
			return false;
	return true;
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static char *
drop_file(struct qtest *t, const char *qid, size_t k)
{
	char name[QID_SIZE + 32];

	ck_assert_int_eq(drop_name(name, sizeof(name), qid, k), 0);
	return qtest_read(t, LAYOUT_DROP, name);
}

START_TEST(drop_file_has_x_lines_then_the_message_in_crlf)
{
	static const char head[] = "x-sender: alice@remote.example\r\n"
	    "x-receiver: bob@local.example\r\n"
	    "x-receiver: carol@local.example\r\n";
	struct qtest t;
	struct qenv e;
	struct stat st, dst;
	char qid[QID_SIZE], name[QID_SIZE + 8], size[32], *text;

	qtest_init(&t, DROP_CONF);
	qtest_queue(&t, two_local, qid);
	ck_assert_uint_eq(qtest_count(&t, "Drop"), 1);
	ck_assert_ptr_nonnull(text = drop_file(&t, qid, 0));
	ck_assert_msg(strncmp(text, head, strlen(head)) == 0, "%s", text);
	/* the connector's Received: line follows; no Return-Path */
	ck_assert_msg(strncmp(text + strlen(head), "Received: ", 10) == 0,
	    "%s", text);
	ck_assert_ptr_null(strstr(text, "Return-Path"));
	ck_assert_ptr_null(strstr(text, "zed@"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nSubject: for the drop\r\n"));
	ck_assert_msg(ends_with(text, "\r\n\r\nbody line\r\n.dot line\r\n"),
	    "%s", text);
	ck_assert(all_crlf(text));
	/* the logged size is the Drop file's */
	snprintf(size, sizeof(size), "size=%zu ", strlen(text));
	ck_assert_uint_eq(qtest_track(&t, "event=delivered", qid, size,
	    "relay=drop", NULL), 2);
	free(text);
	/* mode 0640, the folder's group, the connector's user */
	snprintf(name, sizeof(name), "%s.eml", qid);
	ck_assert_int_eq(fstatat(t.dir[LAYOUT_DROP], name, &st,
	    AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(fstat(t.dir[LAYOUT_DROP], &dst), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_eq(st.st_gid, dst.st_gid);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_uint_eq(st.st_nlink, 1);
	/* done: nothing in In/, nothing in the built-in store */
	ck_assert_int_eq(qtest_load(&t, LAYOUT_IN, qid, &e), -1);
	ck_assert(!qtest_has(&t, LAYOUT_IN, qid, ".eml"));
	ck_assert_uint_eq(qtest_count(&t, "Store"), 0);
	ck_assert_uint_eq(qtest_track(&t, "event=delivered", qid, "relay=drop",
	    "status=sent", NULL), 2);
	/* the remote recipient waits in Out/ as always */
	ck_assert(qtest_out_entry(&t, qid));
	qtest_fini(&t);
}
END_TEST

START_TEST(null_sender_is_written_as_angle_brackets)
{
	struct qtest t;
	char qid[QID_SIZE], *text;

	qtest_init(&t, DROP_CONF);
	qtest_queue(&t, "X-Sender: <>\r\nX-Receiver: <bob@local.example>\r\n"
	    "Subject: n\r\n\r\nb\r\n", qid);
	ck_assert_ptr_nonnull(text = drop_file(&t, qid, 0));
	ck_assert_msg(starts_with(text, "x-sender: <>\r\nx-receiver: "
	    "bob@local.example\r\nReceived: "), "%s", text);
	free(text);
	qtest_fini(&t);
}
END_TEST

/* A crash after the file was published and before the queue knew: the
 * Work file is taken again at start (recovery), and the delivery finds
 * its own file under the same name. */
START_TEST(redo_after_a_crash_writes_no_second_file)
{
	struct qtest t;
	struct claimed c;
	struct batch *b;
	char qid[QID_SIZE], work[QID_SIZE + 8], *before, *after;

	qtest_init(&t, DROP_CONF);
	qtest_claim(&t, two_local, &c);
	memcpy(qid, c.qid, QID_SIZE);
	b = batch_new(&t.q);
	ck_assert_int_eq(batch_accept(b, &c, false), ACCEPT_QUEUED);
	qtest_unclaim(&c);
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);
	ck_assert_ptr_nonnull(before = drop_file(&t, qid, 0));
	ck_assert_uint_eq(qtest_count(&t, "Drop"), 1);
	/* the Work file as it was before the queue update */
	snprintf(work, sizeof(work), "Work/%s", qid);
	qtest_write(&t, work, two_local);
	ck_assert_int_eq(batch_take_work(&t.q, qid, "test.eml", true),
	    ACCEPT_QUEUED);
	ck_assert_uint_eq(qtest_count(&t, "Drop"), 1);
	ck_assert_ptr_nonnull(after = drop_file(&t, qid, 0));
	ck_assert_str_eq(before, after);
	ck_assert_uint_eq(qtest_count(&t, "Work"), 0);
	ck_assert(!qtest_has(&t, LAYOUT_IN, qid, ".eml"));
	free(before);
	free(after);
	qtest_fini(&t);
}
END_TEST

/* Something else under the name (here a symbolic link) is neither
 * followed nor replaced: the delivery is deferred and stays in In/. */
START_TEST(name_held_by_something_else_defers)
{
	struct qtest t;
	struct claimed c;
	struct batch *b;
	struct qenv e;
	struct stat st;
	char qid[QID_SIZE], name[QID_SIZE + 8], target[PATH_MAX + 16];

	qtest_init(&t, DROP_CONF);
	qtest_claim(&t, two_local, &c);
	memcpy(qid, c.qid, QID_SIZE);
	snprintf(name, sizeof(name), "%s.eml", qid);
	snprintf(target, sizeof(target), "%s/elsewhere", t.tmp);
	ck_assert_int_eq(symlinkat(target, t.dir[LAYOUT_DROP], name), 0);
	b = batch_new(&t.q);
	ck_assert_int_eq(batch_accept(b, &c, false), ACCEPT_QUEUED);
	qtest_unclaim(&c);
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);
	ck_assert_int_eq(fstatat(t.dir[LAYOUT_DROP], name, &st,
	    AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(access(target, F_OK), -1);
	qtest_must_load(&t, LAYOUT_IN, qid, &e);
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
	ck_assert_str_eq(e.rcpts[0].dsn, "4.3.0");
	ck_assert_ptr_nonnull(strstr(e.rcpts[0].text, "not the connector's"));
	qenv_free(&e);
	ck_assert_uint_eq(qtest_track(&t, "event=deferred", qid, "relay=drop",
	    NULL), 2);
	qtest_fini(&t);
}
END_TEST

/* store per [domain]: Maildir for one, Drop for the others; a Drop domain
 * with its own conversion gets a file of its own, named after its first
 * recipient's index. Each delivery logs the size of the file it made (a
 * converted Maildir copy's own). */
START_TEST(per_domain_mix_with_maildir_and_two_conversions)
{
	struct qtest t;
	char qid[QID_SIZE], size[32], *text;

	qtest_init(&t, "local_domains = local.example, m.example, l1.example\n"
	    DROP_CONF "[domain m.example]\nstore = maildir\n"
	    "charset = iso-8859-1\n"
	    "[domain l1.example]\ncharset = iso-8859-1\n");
	qtest_queue(&t, "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <mm@m.example>\r\nX-Receiver: <bob@local.example>\r\n"
	    "X-Receiver: <lat@l1.example>\r\nX-Receiver: <carol@local.example>"
	    "\r\nSubject: mix\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "\r\ncaf\xc3\xa9\r\n", qid);
	ck_assert_uint_eq(qtest_mailbox(&t, "m.example", "mm"), 1);
	ck_assert_ptr_nonnull(text = qtest_mailbox_first(&t, "m.example", "mm"));
	ck_assert_ptr_nonnull(strstr(text, "caf\xe9"));
	snprintf(size, sizeof(size), "size=%zu ", strlen(text));
	ck_assert_uint_eq(qtest_track(&t, "event=delivered", qid,
	    "to=<mm@m.example>", size, "relay=maildir", NULL), 1);
	free(text);
	ck_assert_uint_eq(qtest_count(&t, "Store/local.example"), 0);
	ck_assert_uint_eq(qtest_count(&t, "Drop"), 2);
	ck_assert_ptr_nonnull(text = drop_file(&t, qid, 0));
	ck_assert_msg(starts_with(text, "x-sender: alice@remote.example\r\n"
	    "x-receiver: bob@local.example\r\n"
	    "x-receiver: carol@local.example\r\nReceived: "), "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "caf\xc3\xa9"));
	free(text);
	ck_assert_ptr_nonnull(text = drop_file(&t, qid, 2));
	ck_assert_msg(starts_with(text, "x-sender: alice@remote.example\r\n"
	    "x-receiver: lat@l1.example\r\nReceived: "), "%s", text);
	/* the domain's charset policy: latin-1 there */
	ck_assert_ptr_nonnull(strstr(text, "caf\xe9"));
	ck_assert_ptr_nonnull(strstr(text, "iso-8859-1"));
	ck_assert(all_crlf(text));
	snprintf(size, sizeof(size), "size=%zu ", strlen(text));
	ck_assert_uint_eq(qtest_track(&t, "event=delivered", qid,
	    "to=<lat@l1.example>", size, "relay=drop", NULL), 1);
	free(text);
	ck_assert(!qtest_has(&t, LAYOUT_IN, qid, ".eml"));
	qtest_fini(&t);
}
END_TEST

/* drop_deliver on a source of its own: the leading Return-Path line goes,
 * bare LFs get their CR (also where a CRLF straddles two reads), a lone
 * CR stays, and the result is the same whatever the read size. */
START_TEST(line_ends_become_crlf_across_reads)
{
	struct qtest t;
	struct mail_status st;
	struct buf src, want;
	const char *rcpts[] = { "a@local.example" };
	uint64_t size;
	char *got;
	size_t i;
	int fd;

	qtest_init(&t, DROP_CONF);
	buf_init(&src);
	buf_init(&want);
	buf_puts(&src, "Return-Path: <s@x.example>\n");
	buf_puts(&want, "x-sender: s@x.example\r\nx-receiver: a@local.example"
	    "\r\n");
	for (i = 0; want.len < 3 * IMC_IO_CHUNK + 17; i++) {
		/* lengths that put line ends on every offset of a chunk */
		size_t len = (i * 37) % 131;

		for (size_t j = 0; j < len; j++) {
			buf_putc(&src, (char)('a' + (j + i) % 26));
			buf_putc(&want, (char)('a' + (j + i) % 26));
		}
		switch (i % 3) {
		case 0:
			buf_puts(&src, "\n");
			break;
		case 1:
			buf_puts(&src, "\r\n");
			break;
		default:
			buf_puts(&src, "\rx\n");	/* a lone CR is text */
			buf_puts(&want, "\rx");
			break;
		}
		buf_puts(&want, "\r\n");
	}
	fd = openat(t.dir[LAYOUT_IN], "src.eml", O_WRONLY | O_CREAT | O_EXCL,
	    0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, src.data, src.len), (ssize_t)src.len);
	close(fd);
	ck_assert_int_eq(drop_deliver(t.dir[LAYOUT_DROP], t.dir[LAYOUT_IN],
	    "src.eml", "s@x.example", rcpts, 1, "one.eml", &size, &st), 0);
	ck_assert_uint_eq(size, want.len);
	ck_assert_int_eq(st.kind, MAIL_OK);
	ck_assert_ptr_nonnull(got = qtest_read(&t, LAYOUT_DROP, "one.eml"));
	ck_assert_uint_eq(strlen(got), want.len);
	ck_assert(memcmp(got, want.data, want.len) == 0);
	free(got);
	/* a second delivery under the name is the same one: nothing written */
	ck_assert_int_eq(drop_deliver(t.dir[LAYOUT_DROP], t.dir[LAYOUT_IN],
	    "src.eml", "other@x.example", rcpts, 1, "one.eml", &size, &st), 1);
	ck_assert_int_eq(st.kind, MAIL_OK);
	ck_assert_uint_eq(size, want.len);
	ck_assert_ptr_nonnull(got = qtest_read(&t, LAYOUT_DROP, "one.eml"));
	ck_assert(memcmp(got, want.data, want.len) == 0);
	free(got);
	ck_assert_uint_eq(qtest_count(&t, "Drop"), 1);
	buf_fini(&src);
	buf_fini(&want);
	qtest_fini(&t);
}
END_TEST

static Suite *
drop_suite(void)
{
	Suite *s = suite_create("store_drop");
	TCase *tc = qtest_tcase("drop");

	tcase_add_test(tc, drop_file_has_x_lines_then_the_message_in_crlf);
	tcase_add_test(tc, null_sender_is_written_as_angle_brackets);
	tcase_add_test(tc, redo_after_a_crash_writes_no_second_file);
	tcase_add_test(tc, name_held_by_something_else_defers);
	tcase_add_test(tc, per_domain_mix_with_maildir_and_two_conversions);
	tcase_add_test(tc, line_ends_become_crlf_across_reads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(drop_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
