/*
 * check_xalloc - unit tests for common/xalloc.c.
 *
 * The fatal paths run in a child made here (fork), whose stderr goes to a
 * scratch file: the child must end with status 71 (EX_OSERR) after one
 * "out of memory" line, and never return. Table-driven: each overflow case
 * is { name, function, count, size, want in the line }. Only sizes that
 * overflow are asked for, so no allocator (nor ASan's) sees the request.
 * The rest pins what callers rely on: never NULL, zero sizes included,
 * and the copies' exact bytes.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

enum xfn { XF_CALLOC, XF_REALLOCARRAY };

struct overflow_case {
	const char	*name;
	enum xfn	 fn;
	size_t		 count;
	size_t		 size;
	const char	*want;		/* in the log line */
};

static const struct overflow_case overflow_cases[] = {
	{ "reallocarray_count_times_size_past_size_max", XF_REALLOCARRAY,
	    SIZE_MAX / 2 + 1, 2, "out of memory (xreallocarray of " },
	{ "reallocarray_huge_count_of_words", XF_REALLOCARRAY,
	    SIZE_MAX / 8 + 1, 8, "out of memory (xreallocarray of " },
	{ "reallocarray_size_max_squared", XF_REALLOCARRAY,
	    SIZE_MAX, SIZE_MAX, "out of memory (xreallocarray of " },
	{ "calloc_count_times_size_past_size_max", XF_CALLOC,
	    SIZE_MAX / 16 + 1, 16, "out of memory (xcalloc of " },
	{ "calloc_size_max_squared", XF_CALLOC,
	    SIZE_MAX, SIZE_MAX, "out of memory (xcalloc of " },
};

/*
 * Run one overflow case in a child with stderr in a file; give back its
 * exit status (-1: it did not exit) and the first line it wrote.
 */
static int
run_overflow(const struct overflow_case *c, char *line, size_t linesz)
{
	char path[] = "/tmp/check_xalloc.XXXXXX";
	int fd, status;
	pid_t pid;
	FILE *f;
	void *p = NULL;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fd, STDERR_FILENO);
		log_init("check_xalloc", LOG_LEVEL_INFO);
		if (c->fn == XF_CALLOC)
			p = xcalloc(c->count, c->size);
		else
			p = xreallocarray(NULL, c->count, c->size);
		/* not reached when the check works */
		free(p);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	line[0] = '\0';
	f = fdopen(fd, "r");
	ck_assert_ptr_nonnull(f);
	rewind(f);
	if (fgets(line, (int)linesz, f) == NULL)
		line[0] = '\0';
	fclose(f);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_overflow_case)
{
	const struct overflow_case *c = &overflow_cases[_i];
	char line[512];
	int rc;

	rc = run_overflow(c, line, sizeof(line));
	ck_assert_msg(rc == EX_OSERR, "%s: exit %d, want %d", c->name, rc,
	    EX_OSERR);
	ck_assert_msg(strstr(line, c->want) != NULL, "%s: logged \"%s\"",
	    c->name, line);
	ck_assert_msg(strstr(line, "check_xalloc[fatal]: ") != NULL,
	    "%s: logged \"%s\"", c->name, line);
	/* one line, ended */
	ck_assert_msg(strchr(line, '\n') == line + strlen(line) - 1,
	    "%s: logged \"%s\"", c->name, line);
}
END_TEST

START_TEST(zero_sizes_give_usable_pointers)
{
	char *a = xmalloc(0), *b = xcalloc(0, 8), *c = xcalloc(8, 0);
	char *d = xmalloc(4);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	d = xrealloc(d, 0);
	ck_assert_ptr_nonnull(d);
	free(a);
	free(b);
	free(c);
	free(d);
}
END_TEST

START_TEST(calloc_zeroes_and_reallocarray_keeps_content)
{
	size_t i;
	unsigned *v = xcalloc(16, sizeof(*v));

	for (i = 0; i < 16; i++) {
		ck_assert_uint_eq(v[i], 0);
		v[i] = (unsigned)i * 3;
	}
	v = xreallocarray(v, 4096, sizeof(*v));
	for (i = 0; i < 16; i++)
		ck_assert_uint_eq(v[i], i * 3);
	v = xreallocarray(v, 0, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	free(v);
}
END_TEST

struct dup_case {
	const char	*name;
	const char	*src;
	size_t		 max;
	const char	*want;
};

static const struct dup_case ndup_cases[] = {
	{ "strndup_shorter_than_max", "abc", 10, "abc" },
	{ "strndup_cut_at_max", "abcdef", 3, "abc" },
	{ "strndup_zero_max_is_empty", "abc", 0, "" },
	{ "strndup_of_empty", "", 5, "" },
	{ "strndup_max_is_size_max", "whole", SIZE_MAX, "whole" },
};

START_TEST(test_ndup_case)
{
	const struct dup_case *c = &ndup_cases[_i];
	char *p = xstrndup(c->src, c->max);

	ck_assert_msg(strcmp(p, c->want) == 0, "%s: \"%s\"", c->name, p);
	free(p);
}
END_TEST

START_TEST(strdup_and_memdup_copy_exact_bytes)
{
	static const char bin[] = { 'a', '\0', 'b', '\n', '\0' };
	char *s = xstrdup("x y\tz");
	char *m = xmemdup(bin, sizeof(bin));

	ck_assert_str_eq(s, "x y\tz");
	ck_assert_mem_eq(m, bin, sizeof(bin));
	free(s);
	free(m);
	m = xmemdup(NULL, 0);		/* nothing to copy: still a pointer */
	ck_assert_ptr_nonnull(m);
	free(m);
}
END_TEST

START_TEST(getline_reads_lines_then_minus_one_at_the_end)
{
	char text[] = "first\nsecond line\nlast without newline";
	FILE *f = fmemopen(text, strlen(text), "r");
	char *line = NULL;
	size_t cap = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(xgetline(&line, &cap, f), 6);
	ck_assert_str_eq(line, "first\n");
	ck_assert_int_eq(xgetline(&line, &cap, f), 12);
	ck_assert_str_eq(line, "second line\n");
	ck_assert_int_eq(xgetline(&line, &cap, f), 20);
	ck_assert_str_eq(line, "last without newline");
	ck_assert_int_eq(xgetline(&line, &cap, f), -1);
	ck_assert(!ferror(f));
	fclose(f);
	free(line);
}
END_TEST

static Suite *
xalloc_suite(void)
{
	Suite *s = suite_create("xalloc");
	TCase *tc;

	tc = tcase_create("overflow");
	tcase_add_loop_test(tc, test_overflow_case, 0,
	    (int)(sizeof(overflow_cases) / sizeof(overflow_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, zero_sizes_give_usable_pointers);
	tcase_add_test(tc, calloc_zeroes_and_reallocarray_keeps_content);
	tcase_add_loop_test(tc, test_ndup_case, 0,
	    (int)(sizeof(ndup_cases) / sizeof(ndup_cases[0])));
	tcase_add_test(tc, strdup_and_memdup_copy_exact_bytes);
	tcase_add_test(tc, getline_reads_lines_then_minus_one_at_the_end);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the xalloc suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(xalloc_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
