/*
 * check_tracklog - unit tests for imcdata-layout/tracklog.c: the fields of
 * a line as a script reads them, escaping, and the writer's uid and user
 * on picked-up lines.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "tracklog.h"

/* Log one event into a fresh Log folder; return the line after the
 * time stamp (from " event="), the caller's to free. */
static char *
log_one(const struct track_event *ev)
{
	char dir[] = "/tmp/check_tracklog.XXXXXX", path[512], *line, *sp;
	struct tracklog *t;
	struct buf err;
	struct dirent *de;
	DIR *d;
	FILE *f;
	size_t cap = 0;
	ssize_t n;

	buf_init(&err);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	t = tracklog_open(dir, &err);
	ck_assert_msg(t != NULL, "%s", buf_cstr(&err));
	ck_assert_int_eq(tracklog_add(t, ev), 0);
	ck_assert_int_eq(tracklog_flush(t), 0);
	tracklog_free(t);
	ck_assert_ptr_nonnull(d = opendir(dir));
	path[0] = '\0';
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	closedir(d);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	line = NULL;
	ck_assert_int_gt(n = getline(&line, &cap, f), 0);
	ck_assert_msg(fgetc(f) == EOF, "more than one line");
	fclose(f);
	unlink(path);
	rmdir(dir);
	ck_assert_ptr_nonnull(sp = strchr(line, ' '));
	memmove(line, sp, strlen(sp) + 1);
	buf_fini(&err);
	return line;
}

struct line_case {
	const char *name;
	struct track_event ev;
	const char *want;
};

static const struct line_case line_cases[] = {
	{ "picked_up_names_uid_and_user",
	    { .event = "picked-up", .qid = "Q1", .from = "a@b", .size = 10,
	    .status = "accepted", .orig = "x.eml", .has_uid = true,
	    .uid = 1001, .user = "alice" },
	    " event=picked-up qid=Q1 from=<a@b> size=10 status=accepted "
	    "orig=x.eml uid=1001 user=alice\n" },
	{ "uid_without_user",
	    { .event = "picked-up", .qid = "Q2", .has_uid = true, .uid = 7 },
	    " event=picked-up qid=Q2 uid=7\n" },
	{ "root_is_uid_0_not_left_out",
	    { .event = "picked-up", .qid = "Q3", .has_uid = true, .uid = 0,
	    .user = "root" },
	    " event=picked-up qid=Q3 uid=0 user=root\n" },
	{ "no_uid_no_fields",
	    { .event = "delivered", .qid = "Q4", .uid = 5, .user = "x" },
	    " event=delivered qid=Q4\n" },
	{ "orig_with_newline_is_escaped",
	    { .event = "archived", .orig = "a\nevent=forged" },
	    " event=archived orig=\"a\\x0aevent=forged\"\n" },
};

START_TEST(test_line_case)
{
	const struct line_case *c = &line_cases[_i];
	char *got = log_one(&c->ev);

	ck_assert_msg(strcmp(got, c->want) == 0, "%s: got \"%s\" want \"%s\"",
	    c->name, got, c->want);
	free(got);
}
END_TEST

/* log_keep_days: which files of a Log folder a prune leaves, now being
 * 2026-12-03 12:00 UTC. */
static const char *const prune_files[] = {
	"20261101.log", "smtp-20261101.log", "20261201.log",
	"smtp-20261201.log", "20261202.log", "20261203.log",
	"smtp-20261203.log", "imc-connector.lock", "metrics.prom",
	"2026110.log", "20261101.log.bak", "x-20261101.log",
};

static const struct prune_case {
	unsigned keep;
	size_t	 removed;
	const char *left;	/* the names left, sorted, space separated */
} prune_cases[] = {
	{ 0, 0, NULL },		/* 0: kept for ever */
	{ 1, 4, "20261202.log 20261203.log" },
	{ 2, 2, "20261201.log 20261202.log 20261203.log" },
	{ 40, 0, NULL },
	{ 36500, 0, NULL },	/* before the epoch */
};

START_TEST(test_prune_keeps_days)
{
	const struct prune_case *c = &prune_cases[_i];
	char dir[] = "/tmp/check_tracklog.XXXXXX", path[512], cmd[600];
	struct dirent *de;
	size_t i, removed = 99, n = 0;
	DIR *d;
	FILE *f;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (i = 0; i < sizeof(prune_files) / sizeof(prune_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, prune_files[i]);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fclose(f);
	}
	ck_assert_int_ne(fd = open(dir, O_RDONLY | O_DIRECTORY), -1);
	/* 2026-12-03T12:00:00Z */
	ck_assert_int_eq(tracklog_prune(fd, c->keep, 1796299200, &removed), 0);
	close(fd);
	ck_assert_uint_eq(removed, c->removed);
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	ck_assert_uint_eq(n, sizeof(prune_files) / sizeof(prune_files[0]) -
	    c->removed);
	/* what stays: every file but the dated ones before the cutoff */
	for (i = 0; c->left != NULL && i < sizeof(prune_files) /
	    sizeof(prune_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, prune_files[i]);
		if (strncmp(prune_files[i], "2026", 4) == 0 &&
		    strlen(prune_files[i]) == 12)
			ck_assert_msg((access(path, F_OK) == 0) ==
			    (strstr(c->left, prune_files[i]) != NULL),
			    "keep %u: %s", c->keep, prune_files[i]);
	}
	for (i = 7; i < sizeof(prune_files) / sizeof(prune_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, prune_files[i]);
		ck_assert_msg(access(path, F_OK) == 0, "%s removed",
		    prune_files[i]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* tracklog_suite - every tracklog test */
static Suite *
tracklog_suite(void)
{
	Suite *s = suite_create("tracklog");
	TCase *tc;

	tc = tcase_create("lines");
	tcase_add_loop_test(tc, test_line_case, 0,
	    (int)(sizeof(line_cases) / sizeof(line_cases[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("prune");
	tcase_add_loop_test(tc, test_prune_keeps_days, 0,
	    (int)(sizeof(prune_cases) / sizeof(prune_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the tracklog suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(tracklog_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
