/*
 * check_jisms - unit tests for common/jisms.c and the ISO-2022-JP-MS
 * decoder built on it (convert_decoder_new("ISO-2022-JP-MS")).
 *
 * Table-driven: each case is ISO-2022-JP text as Windows mailers wrote it
 * (CP50221: NEC row 13, NEC-selected IBM extensions, half-width katakana
 * by ESC ( I or SO/SI) and the UTF-8 it means, or the number of decoding
 * errors a damaged input must give. Every case is also decoded one byte at
 * a time: the result must not depend on where chunks end.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "convert.h"
#include "jisms.h"

#define ESC_K	"\x1b$B"
#define ESC_A	"\x1b(B"

static const struct {
	const char *name;
	const char *in;
	const char *want;	/* UTF-8 */
	size_t	 errors;
} cases[] = {
	{ "plain_jis_x_0208", ESC_K "$3$s$K$A$O" ESC_A " ok",
	    "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf ok", 0 },
	{ "nec_row_13_circled_and_roman", ESC_K "-!-\"-5-6" ESC_A,
	    "\xe2\x91\xa0\xe2\x91\xa1\xe2\x85\xa0\xe2\x85\xa1", 0 },
	{ "nec_row_13_kabushiki", ESC_K "-j" ESC_A, "\xe3\x88\xb1", 0 },
	{ "nec_selected_ibm_extension", ESC_K "|b" ESC_A, "\xe9\xab\x99", 0 },
	{ "jis_c_6226_escape", "\x1b$@" "4A;z" ESC_A, "\xe6\xbc\xa2\xe5\xad\x97",
	    0 },
	{ "half_width_katakana_escape", "\x1b(I" "6@6E" ESC_A "x",
	    "\xef\xbd\xb6\xef\xbe\x80\xef\xbd\xb6\xef\xbe\x85x", 0 },
	{ "half_width_katakana_shift_out", "a\x0e" "6@\x0f" "b",
	    "a\xef\xbd\xb6\xef\xbe\x80" "b", 0 },
	{ "roman_escape_is_ascii", "\x1b(J" "a\\b", "a\\b", 0 },
	{ "line_ends_inside_kanji_mode", ESC_K "-!\r\n-\"" ESC_A,
	    "\xe2\x91\xa0\r\n\xe2\x91\xa1", 0 },
	{ "unknown_escape_is_an_error", "\x1b$(D" "+!" ESC_A "ok", "", 3 },
	{ "eight_bit_byte_is_an_error", "a\x82" "b", "a\xef\xbf\xbd" "b", 1 },
	{ "half_pair_at_the_end_is_an_error", ESC_K "-", "\xef\xbf\xbd", 1 },
	{ "unfinished_escape_is_an_error", "ok\x1b$", "ok\xef\xbf\xbd", 1 },
};

/* decode - the input through the ISO-2022-JP-MS decoder, in pieces of
 * step bytes (0: one piece) */
static void
decode(const char *in, size_t step, struct buf *out, size_t *errors)
{
	struct convert *c = convert_decoder_new("ISO-2022-JP-MS",
	    CONVERT_REPLACE);
	size_t n = strlen(in), i, k;

	ck_assert_ptr_nonnull(c);
	buf_reset(out);
	for (i = 0; i < n; i += k) {
		k = step == 0 || step > n - i ? n - i : step;
		ck_assert_int_eq(convert_feed(c, in + i, k, out), CONVERT_OK);
	}
	ck_assert_int_eq(convert_finish(c, out), CONVERT_OK);
	*errors = convert_errors(c);
	convert_free(c);
}

START_TEST(table)
{
	struct buf whole, bytes;
	size_t e1, e2;

	buf_init(&whole);
	buf_init(&bytes);
	decode(cases[_i].in, 0, &whole, &e1);
	decode(cases[_i].in, 1, &bytes, &e2);
	ck_assert_msg(e1 == cases[_i].errors, "%s: %zu errors, want %zu",
	    cases[_i].name, e1, cases[_i].errors);
	if (cases[_i].errors == 0 || cases[_i].want[0] != '\0')
		ck_assert_msg(strcmp(buf_cstr(&whole), cases[_i].want) == 0,
		    "%s: \"%s\", want \"%s\"", cases[_i].name,
		    buf_cstr(&whole), cases[_i].want);
	ck_assert_msg(e1 == e2 && whole.len == bytes.len &&
	    memcmp(buf_cstr(&whole), buf_cstr(&bytes), whole.len) == 0,
	    "%s: byte at a time differs: \"%s\"", cases[_i].name,
	    buf_cstr(&bytes));
	buf_fini(&whole);
	buf_fini(&bytes);
}
END_TEST

/* glibc's own ISO-2022-JP decoders reject row 13: the reason for this */
START_TEST(glibc_rejects_row_13)
{
	struct buf out;
	size_t errs = 0;

	buf_init(&out);
	(void)convert_decode_all("ISO-2022-JP-2", CONVERT_REPLACE,
	    ESC_K "-!" ESC_A, 8, &out, &errs);
	ck_assert_uint_gt(errs, 0);
	buf_fini(&out);
}
END_TEST

/* jisms_feed in any pieces writes the same CP932 bytes */
START_TEST(transcoder_is_chunk_exact)
{
	static const char in[] = "a" ESC_K "-!4A" ESC_A "b\x1b(I6\x0e" "7\x0f"
	    ESC_A "c" ESC_K "-";
	struct jisms j;
	struct buf one, many;
	size_t i;

	buf_init(&one);
	buf_init(&many);
	jisms_init(&j);
	ck_assert_int_eq(jisms_feed(&j, in, sizeof(in) - 1, &one), 0);
	ck_assert_int_eq(jisms_finish(&j, &one), 0);
	for (i = 0; i < sizeof(in) - 1; i++)
		ck_assert_int_eq(jisms_feed(&j, in + i, 1, &many), 0);
	ck_assert_int_eq(jisms_finish(&j, &many), 0);
	ck_assert_uint_eq(one.len, many.len);
	ck_assert_int_eq(memcmp(one.data, many.data, one.len), 0);
	ck_assert_int_eq(memcmp(one.data, "a\x87\x40\x8a\xbf" "b\xb6\xb7" "c\xff",
	    one.len), 0);
	buf_fini(&one);
	buf_fini(&many);
}
END_TEST

static Suite *
jisms_suite(void)
{
	Suite *s = suite_create("jisms");
	TCase *tc = tcase_create("jisms");

	tcase_add_loop_test(tc, table, 0, (int)(sizeof(cases) /
	    sizeof(cases[0])));
	tcase_add_test(tc, glibc_rejects_row_13);
	tcase_add_test(tc, transcoder_is_chunk_exact);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jisms_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
