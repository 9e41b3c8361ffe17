/*
 * check_smtpd_auth - the listener's AUTH users and SASL decoding
 * (connector/smtpd/smtpd_auth.h): PLAIN responses (an authzid only when it
 * is the user, exactly two NULs), LOGIN lines, and the users file rules
 * (mode 0600, yescrypt or SHA-512 hashes only, the right password only).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "smtpd_auth.h"

static char *
b64(const char *s, size_t n)
{
	struct buf b;

	buf_init(&b);
	codec_b64_encode(s, n, &b);
	return buf_steal(&b);
}

struct plain_case {
	const char	*name;
	const char	*raw;
	size_t		 len;
	int		 want;
	const char	*user, *pass;
};

#define RAW(s)	s, sizeof(s) - 1

static const struct plain_case plain_cases[] = {
	{ "no_authzid", RAW("\0alice\0pw"), 0, "alice", "pw" },
	{ "authzid_same_user", RAW("alice\0alice\0pw"), 0, "alice", "pw" },
	{ "authzid_other_user", RAW("root\0alice\0pw"), -1, NULL, NULL },
	{ "one_nul_only", RAW("alice\0pw"), -1, NULL, NULL },
	{ "three_nuls", RAW("\0alice\0pw\0x"), -1, NULL, NULL },
	{ "empty_password", RAW("\0alice\0"), 0, "alice", "" },
	{ "empty", RAW(""), -1, NULL, NULL },
};

START_TEST(test_plain)
{
	const struct plain_case *c = &plain_cases[_i];
	char *enc = b64(c->raw, c->len), *user, *pass;
	int r = smtpd_auth_plain(enc, strlen(enc), &user, &pass);

	ck_assert_msg(r == c->want, "%s: %d", c->name, r);
	if (r == 0) {
		ck_assert_str_eq(user, c->user);
		ck_assert_str_eq(pass, c->pass);
		free(user);
		free(pass);
	}
	free(enc);
}
END_TEST

START_TEST(test_plain_not_base64)
{
	char *user, *pass;

	ck_assert_int_eq(smtpd_auth_plain("!!!", 3, &user, &pass), -1);
	ck_assert_ptr_null(smtpd_auth_b64("a b", 3));
}
END_TEST

static char *
users_file(const char *content, mode_t mode)
{
	static char path[] = "/tmp/check_smtpd_auth.XXXXXX";
	char *p = strdup(path);
	int fd;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_ne(fd = mkstemp(p), -1);
	ck_assert_int_eq(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return p;
}

/* "alice secret" (SHA-512) and "bob secret" (yescrypt) */
#define USERS "# users\nalice:$6$abcdefgh$EL4fD6yYjAZAVq97eypR2jimHRzs" \
	"78suddD5haOA.uOPC0elRPguNYiG2Ay21iWHZoIq3l/5IVLtAGWmsTRq9/\n\n" \
	"bob:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$XBgyJteuAIXifx9bO7eLVqnGSVh/" \
	"GWzTJMbWsCP2Xm2\n"

START_TEST(test_users_file)
{
	char *p = users_file(USERS, 0600);
	struct buf err;
	struct smtpd_auth *a;

	buf_init(&err);
	a = smtpd_auth_load(p, getuid(), &err);
	ck_assert_msg(a != NULL, "%s", buf_cstr(&err));
	ck_assert(smtpd_auth_check(a, "alice", "alice secret"));
	ck_assert(smtpd_auth_check(a, "bob", "bob secret"));
	ck_assert(!smtpd_auth_check(a, "bob", "alice secret"));
	ck_assert(!smtpd_auth_check(a, "alice", "wrong"));
	ck_assert(!smtpd_auth_check(a, "mallory", "alice secret"));
	ck_assert(!smtpd_auth_check(a, "", ""));
	smtpd_auth_free(a);
	unlink(p);
	free(p);
	buf_fini(&err);
}
END_TEST

START_TEST(test_users_file_rules)
{
	struct buf err;
	char *p;

	buf_init(&err);
	p = users_file(USERS, 0640);
	ck_assert_ptr_null(smtpd_auth_load(p, getuid(), &err));
	ck_assert(strstr(buf_cstr(&err), "0640") != NULL);
	unlink(p);
	free(p);
	buf_reset(&err);
	p = users_file("carol:$1$abc$md5\n", 0600);
	ck_assert_ptr_null(smtpd_auth_load(p, getuid(), &err));
	ck_assert(strstr(buf_cstr(&err), ":1:") != NULL);
	unlink(p);
	free(p);
	buf_reset(&err);
	p = users_file("nocolon\n", 0600);
	ck_assert_ptr_null(smtpd_auth_load(p, getuid(), &err));
	unlink(p);
	free(p);
	buf_fini(&err);
}
END_TEST

static Suite *
smtpd_auth_suite(void)
{
	Suite *s = suite_create("smtpd_auth");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_plain, 0,
	    sizeof(plain_cases) / sizeof(plain_cases[0]));
	tcase_add_test(tc, test_plain_not_base64);
	tcase_add_test(tc, test_users_file);
	tcase_add_test(tc, test_users_file_rules);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtpd_auth_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
