/*
 * check_hex - unit tests for common/hex.h, the one hex digit helper.
 *
 * Every byte value is read: the sixteen digits of either case give their
 * value, everything else (including bytes above 0x7F, which a signed char
 * would make negative) gives -1. Writing gives upper case, from the low
 * four bits only, and reads back to the same value.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

struct hex_case {
	const char	*name;
	int		 c;
	int		 want;
};

static const struct hex_case cases[] = {
	{ "digit_zero", '0', 0 },
	{ "digit_nine", '9', 9 },
	{ "upper_a", 'A', 10 },
	{ "upper_f", 'F', 15 },
	{ "lower_a", 'a', 10 },
	{ "lower_f", 'f', 15 },
	{ "upper_g_is_not_hex", 'G', -1 },
	{ "lower_g_is_not_hex", 'g', -1 },
	{ "slash_before_zero", '/', -1 },
	{ "colon_after_nine", ':', -1 },
	{ "at_before_upper_a", '@', -1 },
	{ "backquote_before_lower_a", '`', -1 },
	{ "space", ' ', -1 },
	{ "nul", '\0', -1 },
	{ "high_byte", 0xC6, -1 },
	{ "negative_char_value", -58, -1 },
	{ "eof", -1, -1 },
};

START_TEST(test_case_table)
{
	const struct hex_case *c = &cases[_i];

	ck_assert_msg(hex_value(c->c) == c->want, "%s: %d, want %d", c->name,
	    hex_value(c->c), c->want);
}
END_TEST

START_TEST(test_every_byte_reads_as_its_digit_or_not)
{
	static const char digits[] = "0123456789abcdefABCDEF";
	int c, want;

	for (c = 0; c < 256; c++) {
		want = -1;
		if (c >= '0' && c <= '9')
			want = c - '0';
		else if (c >= 'a' && c <= 'f')
			want = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			want = c - 'A' + 10;
		ck_assert_msg(hex_value(c) == want, "byte %d: %d, want %d", c,
		    hex_value(c), want);
		ck_assert((want >= 0) == (c != 0 &&
		    strchr(digits, c) != NULL));
	}
}
END_TEST

START_TEST(test_upper_writes_upper_case_from_the_low_four_bits)
{
	static const char want[] = "0123456789ABCDEF";
	unsigned v;

	for (v = 0; v < 64; v++) {
		ck_assert_int_eq(hex_upper(v), want[v & 15]);
		ck_assert_int_eq(hex_value(hex_upper(v)), (int)(v & 15));
	}
	ck_assert_int_eq(hex_upper(0xC6 >> 4), 'C');
	ck_assert_int_eq(hex_upper(0xC6), '6');
}
END_TEST

/* hex_suite - all hex tests */
static Suite *
hex_suite(void)
{
	Suite *s = suite_create("hex");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_case_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_every_byte_reads_as_its_digit_or_not);
	tcase_add_test(tc, test_upper_writes_upper_case_from_the_low_four_bits);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(hex_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
