/*
 * check_intake - unit tests for connector/intake/intake.c's helpers that need no
 * daemon: which names are taken, and the login name of a file's owner as
 * it goes into the tracking log and the Received: line.
 */
#include <check.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "intake.h"

struct name_case {
	const char *name;
	const char *input;
	bool	 want;
};

static const struct name_case name_cases[] = {
	{ "plain_name_is_taken", "a.eml", true },
	{ "name_with_newline_is_taken", "a\nb.eml", true },
	{ "hidden_name_is_skipped", ".submit-1.tmp", false },
	{ "tmp_suffix_is_skipped", "x.TMP", false },
	{ "empty_name_is_skipped", "", false },
};

START_TEST(test_name_case)
{
	const struct name_case *c = &name_cases[_i];

	ck_assert_msg(intake_name_wanted(c->input) == c->want, "%s", c->name);
}
END_TEST

START_TEST(uid_0_is_root)
{
	char buf[64];

	ck_assert_str_eq(intake_user_name(0, buf, sizeof(buf)), "root");
}
END_TEST

START_TEST(uid_without_passwd_entry_has_no_name)
{
	char buf[64];
	uid_t uid = 2000000000;

	while (getpwuid(uid) != NULL && uid < 2000000100)
		uid++;
	ck_assert_ptr_null(getpwuid(uid));
	ck_assert_ptr_null(intake_user_name(uid, buf, sizeof(buf)));
}
END_TEST

START_TEST(name_longer_than_the_buffer_is_left_out)
{
	char buf[8];

	/* "root" and its NUL need 5 bytes */
	ck_assert_ptr_null(intake_user_name(0, buf, 4));
	ck_assert_str_eq(intake_user_name(0, buf, 5), "root");
}
END_TEST

/* intake_suite - every intake helper test */
static Suite *
intake_suite(void)
{
	Suite *s = suite_create("intake");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_name_case, 0,
	    (int)(sizeof(name_cases) / sizeof(name_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("owner");
	tcase_add_test(tc, uid_0_is_root);
	tcase_add_test(tc, uid_without_passwd_entry_has_no_name);
	tcase_add_test(tc, name_longer_than_the_buffer_is_left_out);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the intake suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(intake_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
