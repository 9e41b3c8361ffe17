/*
 * check_smtpd_data - the listener's DATA reader (connector/smtpd/
 * smtpd_data.h): where a message ends (only <CRLF>.<CRLF>: the SMTP
 * smuggling variants stay inside), dot-unstuffing, bare CR and LF made
 * CRLF, the size and header limits, and the same result whatever the
 * input's chunking; raw mode (BDAT chunks): no dot removed, no end, bare
 * CR and LF made CRLF across chunk boundaries, the final line end.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imc_limits.h"
#include "smtpd_data.h"

struct data_case {
	const char	*name;
	const char	*in;		/* what follows the 354 */
	bool		 done;		/* the end was found */
	const char	*out;		/* the message */
	const char	*rest;		/* input after the end (the next command) */
};

static const struct data_case cases[] = {
	{ "simple", "Subject: x\r\n\r\nbody\r\n.\r\n", true,
	    "Subject: x\r\n\r\nbody\r\n", "" },
	{ "empty_message", ".\r\n", true, "", "" },
	{ "pipelined_quit_after_end", "a\r\n.\r\nQUIT\r\n", true, "a\r\n",
	    "QUIT\r\n" },
	{ "dot_stuffed_line", "a\r\n..b\r\n...\r\n.\r\n", true,
	    "a\r\n.b\r\n..\r\n", "" },
	{ "no_end_yet", "a\r\nb\r\n", false, "a\r\nb\r\n", "" },
	{ "smuggle_lf_dot_lf", "a\n.\nMAIL FROM:<x@y>\r\n.\r\n", true,
	    "a\r\n\r\nMAIL FROM:<x@y>\r\n", "" },
	{ "smuggle_cr_dot_cr", "a\r.\rMAIL FROM:<x@y>\r\n.\r\n", true,
	    "a\r\n\r\nMAIL FROM:<x@y>\r\n", "" },
	{ "smuggle_lf_dot_crlf", "a\n.\r\nRSET\r\n.\r\n", true,
	    "a\r\n\r\nRSET\r\n", "" },
	{ "smuggle_crlf_dot_lf", "a\r\n.\nRSET\r\n.\r\n", true,
	    "a\r\n\r\nRSET\r\n", "" },
	{ "smuggle_crlf_dot_cr", "a\r\n.\rRSET\r\n.\r\n", true,
	    "a\r\n\r\nRSET\r\n", "" },
	{ "smuggle_cr_dot_crlf", "a\r.\r\nRSET\r\n.\r\n", true,
	    "a\r\n\r\nRSET\r\n", "" },
	/* the dot line a bare LF began is no end: an empty line */
	{ "bare_lf_lines_made_crlf", "a\nb\n.\r\n", false,
	    "a\r\nb\r\n\r\n", "" },
	{ "bare_cr_made_crlf", "a\rb\r\n.\r\n", true, "a\r\nb\r\n", "" },
	{ "crlf_dot_space_is_text", "a\r\n. \r\n.\r\n", true, "a\r\n \r\n",
	    "" },
	{ "nul_passes", "a\0b\r\n.\r\n", true, "a\0b\r\n", "" },
};

/* The case's input length: up to the final NUL the table cannot show. */
static size_t
case_len(const struct data_case *c)
{
	return strcmp(c->name, "nul_passes") == 0 ? 8 : strlen(c->in);
}

static size_t
case_out_len(const struct data_case *c)
{
	return strcmp(c->name, "nul_passes") == 0 ? 5 : strlen(c->out);
}

/* Run a case fed step bytes at a time (0: all at once). */
static void
run_case(const struct data_case *c, size_t step)
{
	struct smtpd_data d;
	struct buf out;
	size_t len = case_len(c), off = 0, n, used;

	buf_init(&out);
	smtpd_data_init(&d, 1 << 20);
	while (off < len && !d.done) {
		n = step == 0 || len - off < step ? len - off : step;
		used = smtpd_data_feed(&d, c->in + off, n, &out);
		ck_assert_msg(used == n || d.done, "%s/%zu: stopped early",
		    c->name, step);
		off += used;
	}
	ck_assert_msg(d.done == c->done, "%s/%zu: done %d", c->name, step,
	    d.done);
	/* an empty buf has no data pointer at all */
	ck_assert_msg(out.len == case_out_len(c) && (out.len == 0 ||
	    memcmp(out.data, c->out, out.len) == 0), "%s/%zu: out \"%.*s\"",
	    c->name, step, (int)out.len, out.data);
	ck_assert_msg(len - off == strlen(c->rest) &&
	    memcmp(c->in + off, c->rest, len - off) == 0, "%s/%zu: rest \"%s\"",
	    c->name, step, c->in + off);
	buf_fini(&out);
}

START_TEST(test_cases_whole)
{
	run_case(&cases[_i], 0);
}
END_TEST

START_TEST(test_cases_byte_by_byte)
{
	run_case(&cases[_i], 1);
}
END_TEST

START_TEST(test_cases_in_pairs)
{
	run_case(&cases[_i], 2);
}
END_TEST

START_TEST(test_bare_eol_flagged)
{
	struct smtpd_data d;
	struct buf out;

	buf_init(&out);
	smtpd_data_init(&d, 1000);
	(void)smtpd_data_feed(&d, "a\r\nb\r\n", 6, &out);
	ck_assert(!d.bare_eol);
	(void)smtpd_data_feed(&d, "c\nd\r\n", 5, &out);
	ck_assert(d.bare_eol);
	buf_fini(&out);
}
END_TEST

START_TEST(test_too_big_stops_output_but_finds_the_end)
{
	struct smtpd_data d;
	struct buf out;
	char line[100];
	size_t i;

	buf_init(&out);
	smtpd_data_init(&d, 1000);
	memset(line, 'x', sizeof(line) - 2);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	for (i = 0; i < 50; i++)
		(void)smtpd_data_feed(&d, line, sizeof(line), &out);
	ck_assert(d.too_big);
	ck_assert_uint_le(out.len, 1000);
	ck_assert_uint_eq(smtpd_data_feed(&d, ".\r\nQUIT\r\n", 9, &out), 3);
	ck_assert(d.done);
	buf_fini(&out);
}
END_TEST

START_TEST(test_header_block_bounded)
{
	struct smtpd_data d;
	struct buf out;
	char *big = malloc(IMC_MAX_HEADER_BLOCK);

	ck_assert_ptr_nonnull(big);
	memset(big, 'h', IMC_MAX_HEADER_BLOCK);
	memcpy(big, "X-Big: ", 7);
	buf_init(&out);
	smtpd_data_init(&d, 100u << 20);
	(void)smtpd_data_feed(&d, big, IMC_MAX_HEADER_BLOCK, &out);
	ck_assert(d.header_too_big);
	ck_assert_uint_lt(out.len, IMC_MAX_HEADER_BLOCK);
	/* a long body line is no header: fine */
	buf_reset(&out);
	smtpd_data_init(&d, 100u << 20);
	(void)smtpd_data_feed(&d, "A: b\r\n\r\n", 8, &out);
	(void)smtpd_data_feed(&d, big, IMC_MAX_HEADER_BLOCK, &out);
	ck_assert(!d.header_too_big && !d.too_big);
	buf_fini(&out);
	free(big);
}
END_TEST

START_TEST(test_eightbit_noticed)
{
	struct smtpd_data d;
	struct buf out;

	buf_init(&out);
	smtpd_data_init(&d, 1000);
	(void)smtpd_data_feed(&d, "a\r\n", 3, &out);
	ck_assert(!d.eightbit);
	(void)smtpd_data_feed(&d, "\xc3\xa9\r\n", 4, &out);
	ck_assert(d.eightbit);
	buf_fini(&out);
}
END_TEST

/* Raw mode: the chunks of a BDAT message, and the message they make. */
struct raw_case {
	const char	*name;
	const char	*chunks[4];	/* NULL ends */
	const char	*out;
};

static const struct raw_case raw_cases[] = {
	{ "one_chunk", { "Subject: x\r\n\r\nbody\r\n" },
	    "Subject: x\r\n\r\nbody\r\n" },
	{ "crlf_split_between_chunks", { "a\r", "\nb\r\n" }, "a\r\nb\r\n" },
	{ "dots_kept", { "a\r\n..b\r\n.\r\n" }, "a\r\n..b\r\n.\r\n" },
	{ "dot_line_is_no_end", { "a\r\n.\r\n", "MAIL FROM:<x@y>\r\n" },
	    "a\r\n.\r\nMAIL FROM:<x@y>\r\n" },
	{ "bare_lf_made_crlf", { "a\nb\n" }, "a\r\nb\r\n" },
	{ "bare_cr_made_crlf", { "a\rb\r\n" }, "a\r\nb\r\n" },
	{ "bare_cr_at_chunk_end_then_text", { "a\r", "b\r\n" },
	    "a\r\nb\r\n" },
	{ "bare_cr_at_the_very_end", { "a\r" }, "a\r\n" },
	{ "no_final_line_end", { "a\r\nlast" }, "a\r\nlast\r\n" },
	{ "empty_chunks", { "", "a\r\n", "" }, "a\r\n" },
	{ "empty_message", { "" }, "" },
	{ "cr_cr_lf", { "a\r", "\r", "\n" }, "a\r\n\r\n" },
};

static void
run_raw(const struct raw_case *c, size_t step)
{
	struct smtpd_data d;
	struct buf out;
	size_t i, off, n, len;

	buf_init(&out);
	smtpd_data_init_raw(&d, 1 << 20);
	for (i = 0; i < 4 && c->chunks[i] != NULL; i++) {
		len = strlen(c->chunks[i]);
		for (off = 0; off < len; off += n) {
			n = step == 0 || len - off < step ? len - off : step;
			ck_assert_uint_eq(smtpd_data_feed(&d, c->chunks[i] + off,
			    n, &out), n);
			ck_assert(!d.done);
		}
	}
	smtpd_data_finish(&d, &out);
	ck_assert_msg(out.len == strlen(c->out) && (out.len == 0 ||
	    memcmp(out.data, c->out, out.len) == 0), "%s/%zu: out \"%.*s\"",
	    c->name, step, (int)out.len, out.data);
	buf_fini(&out);
}

START_TEST(test_raw_whole)
{
	run_raw(&raw_cases[_i], 0);
}
END_TEST

START_TEST(test_raw_byte_by_byte)
{
	run_raw(&raw_cases[_i], 1);
}
END_TEST

START_TEST(test_raw_binary_and_limits)
{
	struct smtpd_data d;
	struct buf out;

	buf_init(&out);
	smtpd_data_init_raw(&d, 10);
	ck_assert_uint_eq(smtpd_data_feed(&d, "a\0\xff\r\n", 5, &out), 5);
	ck_assert_uint_eq(out.len, 5);
	ck_assert(memcmp(out.data, "a\0\xff\r\n", 5) == 0);
	ck_assert(d.eightbit && !d.too_big);
	ck_assert_uint_eq(smtpd_data_feed(&d, "0123456789\r\n", 12, &out),
	    12);
	ck_assert(d.too_big);
	ck_assert_uint_le(out.len, 10);
	buf_fini(&out);
}
END_TEST

static Suite *
smtpd_data_suite(void)
{
	Suite *s = suite_create("smtpd_data");
	TCase *tc = tcase_create("core");
	int n = (int)(sizeof(cases) / sizeof(cases[0]));
	int nr = (int)(sizeof(raw_cases) / sizeof(raw_cases[0]));

	tcase_add_loop_test(tc, test_cases_whole, 0, n);
	tcase_add_loop_test(tc, test_cases_byte_by_byte, 0, n);
	tcase_add_loop_test(tc, test_cases_in_pairs, 0, n);
	tcase_add_test(tc, test_bare_eol_flagged);
	tcase_add_test(tc, test_too_big_stops_output_but_finds_the_end);
	tcase_add_test(tc, test_header_block_bounded);
	tcase_add_test(tc, test_eightbit_noticed);
	tcase_add_loop_test(tc, test_raw_whole, 0, nr);
	tcase_add_loop_test(tc, test_raw_byte_by_byte, 0, nr);
	tcase_add_test(tc, test_raw_binary_and_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtpd_data_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
