/*
 * check_dsn - unit tests for common/dsn.h, the RFC 3461 parameter value
 * syntax the listener and Pickup's X- lines share: a table of values, each
 * with whether it is valid xtext and whether it is a valid NOTIFY.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"

struct dsn_case {
	const char	*name;
	const char	*value;
	bool		 xtext;
	bool		 notify;
};

static const struct dsn_case cases[] = {
	{ "empty", "", false, false },
	{ "plain_address", "rfc822;bob@example.com", true, false },
	{ "hex_escape", "a+2Bb", true, false },
	{ "lower_hex_escape", "a+2bb", true, false },
	{ "plus_without_hex", "a+zz", false, false },
	{ "plus_at_the_end", "abc+2", false, false },
	{ "equals_sign", "a=b", false, false },
	{ "space", "a b", false, false },
	{ "control_byte", "a\tb", false, false },
	{ "high_byte", "caf\xc3\xa9", false, false },
	{ "never", "NEVER", true, true },
	{ "never_lower_case", "never", true, true },
	{ "one_word", "SUCCESS", true, true },
	{ "three_words", "SUCCESS,FAILURE,DELAY", true, true },
	{ "mixed_case", "failure,Delay", true, true },
	{ "a_word_twice", "SUCCESS,SUCCESS", true, false },
	{ "never_with_another", "NEVER,DELAY", true, false },
	{ "trailing_comma", "DELAY,", true, false },
	{ "leading_comma", ",DELAY", true, false },
	{ "unknown_word", "SUCCESS,LATER", true, false },
	{ "prefix_of_a_word", "SUCC", true, false },
};

START_TEST(test_case_table)
{
	const struct dsn_case *c = &cases[_i];
	size_t len = strlen(c->value);

	ck_assert_msg(dsn_xtext_ok(c->value, len) == c->xtext,
	    "%s: xtext should be %d", c->name, c->xtext);
	ck_assert_msg(dsn_notify_ok(c->value, len) == c->notify,
	    "%s: notify should be %d", c->name, c->notify);
}
END_TEST

/* The length given is the value: a NUL or more text after it is not read. */
START_TEST(test_length_bounds_the_value)
{
	ck_assert(dsn_xtext_ok("ab=cd", 2));
	ck_assert(!dsn_xtext_ok("a+2", 3));
	ck_assert(dsn_notify_ok("DELAY,junk", 5));
}
END_TEST

static Suite *
dsn_suite(void)
{
	Suite *s = suite_create("dsn");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_case_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_length_bounds_the_value);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dsn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
