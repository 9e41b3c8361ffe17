/*
 * check_log - unit tests for common/log.c.
 *
 * log_escape is table-driven ({ name, input with its length, want }). The
 * log functions themselves are run with stderr sent to a temporary file:
 * a message whose arguments hold line breaks (a Pickup file name, a peer's
 * words) must come out as exactly one line. Check forks every test, so
 * moving stderr does not leak into other tests.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

struct escape_case {
	const char *name;
	const char *in;
	size_t	in_len;
	const char *want;
};

#define S(x)	x, sizeof(x) - 1

static const struct escape_case escape_cases[] = {
	{ "plain_text_is_unchanged", S("a file.eml"), "a file.eml" },
	{ "newline_is_written_as_backslash_n",
	    S("x\nimc-connector[error]: forged"),
	    "x\\nimc-connector[error]: forged" },
	{ "cr_and_tab_have_short_escapes", S("a\rb\tc"), "a\\rb\\tc" },
	{ "other_control_bytes_are_hex", S("\x01\x1b[31m\x1f"),
	    "\\x01\\x1b[31m\\x1f" },
	{ "del_is_hex", S("a\x7f"), "a\\x7f" },
	{ "nul_byte_is_hex", S("a\0b"), "a\\x00b" },
	{ "eight_bit_bytes_pass", S("caf\xc3\xa9 \xff"), "caf\xc3\xa9 \xff" },
	{ "space_and_backslash_pass", S("a b\\n"), "a b\\n" },
	{ "empty_stays_empty", S(""), "" },
};

START_TEST(test_escape_case)
{
	const struct escape_case *c = &escape_cases[_i];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "pre:"), 0);
	ck_assert_int_eq(log_escape(&b, c->in, c->in_len), 0);
	ck_assert_msg(b.len == 4 + strlen(c->want) &&
	    memcmp(b.data + 4, c->want, strlen(c->want)) == 0,
	    "%s: got \"%s\", want \"%s\"", c->name, b.data + 4, c->want);
	ck_assert_int_eq(b.data[b.len], '\0');
	buf_fini(&b);
}
END_TEST

/* Run fn with stderr in a temporary file; return what it wrote. */
static char *
capture_stderr(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	char *out;
	long n;

	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(fileno(tmp), 2), 2);
	fn();
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	ck_assert_int_eq(fseek(tmp, 0, SEEK_END), 0);
	n = ftell(tmp);
	ck_assert_int_ge(n, 0);
	rewind(tmp);
	out = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(fread(out, 1, (size_t)n, tmp), (size_t)n);
	fclose(tmp);
	return out;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
warn_with_forged_name(void)
{
	log_init("imc-connector", LOG_LEVEL_INFO);
	log_warnx("%s: cannot open; left in Pickup",
	    "x.eml\n2026-01-01T00:00:00.000Z imc-connector[error]: forged");
}

START_TEST(file_name_with_newline_cannot_forge_a_log_line)
{
	char *out = capture_stderr(warn_with_forged_name);

	ck_assert_msg(count_lines(out) == 1, "got: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "imc-connector[warning]: x.eml\\n"
	    "2026-01-01T00:00:00.000Z imc-connector[error]: forged: cannot "
	    "open; left in Pickup\n"));
	free(out);
}
END_TEST

static void
warn_errno_with_control_bytes(void)
{
	log_init("imc-test", LOG_LEVEL_INFO);
	errno = ENOENT;
	log_warn("peer said: %s", "550 no\r\n250 ok\x1b[2J");
}

START_TEST(log_warn_escapes_and_keeps_errno_text)
{
	char *out = capture_stderr(warn_errno_with_control_bytes);

	ck_assert_msg(count_lines(out) == 1, "got: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "imc-test[warning]: peer said: "
	    "550 no\\r\\n250 ok\\x1b[2J: No such file or directory\n"));
	free(out);
}
END_TEST

static void
info_below_level(void)
{
	log_init("imc-test", LOG_LEVEL_WARN);
	log_info("%s", "not shown");
	log_warnx("%s", "shown");
}

START_TEST(level_filter_still_applies)
{
	char *out = capture_stderr(info_below_level);

	ck_assert_msg(count_lines(out) == 1 && strstr(out, "shown\n") &&
	    !strstr(out, "not shown"), "got: %s", out);
	free(out);
}
END_TEST

static void
long_message(void)
{
	char *big = malloc(100001);

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 100000);
	big[50000] = '\n';
	big[100000] = '\0';
	log_init("imc-test", LOG_LEVEL_INFO);
	log_info("%s", big);
	free(big);
}

START_TEST(long_message_is_whole_and_one_line)
{
	char *out = capture_stderr(long_message);

	ck_assert_int_eq(count_lines(out), 1);
	ck_assert_uint_gt(strlen(out), 100000);
	free(out);
}
END_TEST

/* log_suite - every log test */
static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc;

	tc = tcase_create("escape");
	tcase_add_loop_test(tc, test_escape_case, 0,
	    (int)(sizeof(escape_cases) / sizeof(escape_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("lines");
	tcase_add_test(tc, file_name_with_newline_cannot_forge_a_log_line);
	tcase_add_test(tc, log_warn_escapes_and_keeps_errno_text);
	tcase_add_test(tc, level_filter_still_applies);
	tcase_add_test(tc, long_message_is_whole_and_one_line);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the log suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(log_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
