/*
 * check_smtpd_cmd - the listener's command parser (connector/smtpd/
 * smtpd_cmd.h): verbs, MAIL and RCPT paths with their parameters, and the
 * address tricks an open-relay probe tries, each either refused with the
 * right reply or reduced to the address it really is; BDAT's chunk size
 * and LAST (RFC 3030).
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_cmd.h"

struct verb_case {
	const char	*name;
	const char	*line;
	enum smtpd_verb	 want;
	const char	*arg;
};

static const struct verb_case verb_cases[] = {
	{ "ehlo_upper", "EHLO client.example", SMTPD_EHLO, "client.example" },
	{ "helo_lower", "helo x", SMTPD_HELO, "x" },
	{ "mail_mixed_case", "MaIl FROM:<a@b>", SMTPD_MAIL, "FROM:<a@b>" },
	{ "data_bare", "DATA", SMTPD_DATA, "" },
	{ "quit_trailing_spaces", "QUIT   ", SMTPD_QUIT, "" },
	{ "starttls", "STARTTLS", SMTPD_STARTTLS, "" },
	{ "unknown_verb", "XYZZY foo", SMTPD_UNKNOWN, "foo" },
	{ "verb_prefix_is_not_the_verb", "DATAX", SMTPD_UNKNOWN, "" },
	{ "empty_line", "", SMTPD_UNKNOWN, "" },
	{ "space_before_verb", " NOOP", SMTPD_UNKNOWN, "NOOP" },
};

START_TEST(test_verbs)
{
	const struct verb_case *c = &verb_cases[_i];
	struct smtpd_cmd cmd;

	smtpd_cmd_parse(c->line, strlen(c->line), &cmd);
	ck_assert_msg(cmd.verb == c->want, "%s: verb %d", c->name, cmd.verb);
	ck_assert_msg(cmd.arg_len == strlen(c->arg) &&
	    memcmp(cmd.arg, c->arg, cmd.arg_len) == 0, "%s: arg \"%.*s\"",
	    c->name, (int)cmd.arg_len, cmd.arg);
}
END_TEST

struct path_case {
	const char	*name;
	const char	*arg;
	bool		 mail;		/* MAIL FROM (else RCPT TO) */
	bool		 smtputf8;	/* RCPT: the transaction's SMTPUTF8 */
	int		 code;		/* 0: accepted */
	const char	*dsn;
	const char	*addr;		/* accepted: the canonical address */
};

static const struct path_case path_cases[] = {
	{ "mail_plain", "FROM:<alice@example.com>", true, false, 0, NULL,
	    "alice@example.com" },
	{ "mail_space_after_colon", "FROM: <alice@example.com>", true, false, 0,
	    NULL, "alice@example.com" },
	{ "mail_null_sender", "FROM:<>", true, false, 0, NULL, "" },
	{ "mail_needs_brackets", "FROM:alice@example.com", true, false, 501,
	    "5.5.4", NULL },
	{ "mail_wrong_keyword", "TO:<a@b.example>", true, false, 501, "5.5.4",
	    NULL },
	{ "mail_unclosed", "FROM:<a@b.example", true, false, 501, "5.5.4",
	    NULL },
	{ "rcpt_null_refused", "TO:<>", false, false, 501, "5.1.3", NULL },
	{ "rcpt_postmaster_alone", "TO:<Postmaster>", false, false, 0, NULL,
	    "Postmaster" },
	{ "rcpt_local_part_alone", "TO:<bob>", false, false, 501, "5.1.3",
	    NULL },
	{ "source_route_skipped", "TO:<@relay.example,@b.example:bob@remote."
	    "example>", false, false, 0, NULL, "bob@remote.example" },
	{ "source_route_unterminated", "TO:<@relay.example>", false, false,
	    501, "5.1.3", NULL },
	{ "percent_hack_is_a_local_part", "TO:<bob%remote.example@example."
	    "com>", false, false, 0, NULL, "bob%remote.example@example.com" },
	{ "bang_path_is_a_local_part", "TO:<remote.example!bob@example.com>",
	    false, false, 0, NULL, "remote.example!bob@example.com" },
	{ "quoted_at_stays_quoted", "TO:<\"bob@remote.example\"@example.com>",
	    false, false, 0, NULL, "\"bob@remote.example\"@example.com" },
	{ "quoted_plain_loses_quotes", "TO:<\"bob\"@example.com>", false, false,
	    0, NULL, "bob@example.com" },
	{ "two_unquoted_ats", "TO:<bob@remote.example@example.com>", false,
	    false, 501, "5.1.2", NULL },
	{ "trailing_dot_domain", "TO:<bob@example.com.>", false, false, 501,
	    "5.1.2", NULL },
	{ "double_dot_domain", "TO:<bob@example..com>", false, false, 501,
	    "5.1.2", NULL },
	{ "ipv4_literal", "TO:<bob@[192.0.2.7]>", false, false, 0, NULL,
	    "bob@[192.0.2.7]" },
	{ "ipv6_literal", "TO:<bob@[IPv6:2001:db8::1]>", false, false, 0, NULL,
	    "bob@[IPv6:2001:db8::1]" },
	{ "bad_literal", "TO:<bob@[192.0.2.7 ]>", false, false, 501, "5.1.2",
	    NULL },
	{ "leading_dot_local", "TO:<.bob@example.com>", false, false, 501,
	    "5.1.3", NULL },
	{ "eightbit_without_smtputf8", "TO:<b\xc3\xb6@example.com>", false,
	    false, 501, "5.1.3", NULL },
	{ "eightbit_with_smtputf8", "TO:<b\xc3\xb6@example.com>", false, true,
	    0, NULL, "b\xc3\xb6@example.com" },
	{ "invalid_utf8_with_smtputf8", "TO:<b\xff@example.com>", false, true,
	    553, "5.6.7", NULL },
	{ "mail_smtputf8_allows_8bit", "FROM:<\xc3\xa5@example.com> SMTPUTF8",
	    true, false, 0, NULL, "\xc3\xa5@example.com" },
	{ "mail_invalid_utf8_with_smtputf8", "FROM:<a@exa\xfbmple.com> "
	    "SMTPUTF8", true, false, 553, "5.6.7", NULL },
	/* quoted-pairSMTP is %d92 %d32-126 (RFC 5321 4.1.2): an escaped
	 * 8-bit byte would slip past the SMTPUTF8 check (found by fuzz_smtpd:
	 * the address did not read back to itself) */
	{ "escaped_8bit_in_quoted", "TO:<\"a\\\xa1\"@example.com>", false,
	    false, 501, "5.1.3", NULL },
	{ "escaped_8bit_in_quoted_utf8", "TO:<\"a\\\xc3\xa9\"@example.com>",
	    false, true, 501, "5.1.3", NULL },
	{ "escaped_space_in_quoted", "TO:<\"a\\ b\"@example.com>", false,
	    false, 0, NULL, "\"a b\"@example.com" },
	{ "cr_in_quoted_local", "TO:<\"a\rb\"@example.com>", false, false, 501,
	    "5.1.3", NULL },
	{ "nul_in_local", "TO:<a\0b@example.com>", false, false, 501, "5.1.3",
	    NULL },
	{ "nul_in_literal", "TO:<a@[1.2\0.3]>", false, false, 501, "5.1.2",
	    NULL },
	{ "rcpt_notify_orcpt", "TO:<bob@example.com> NOTIFY=success,failure "
	    "ORCPT=rfc822;bob@example.com", false, false, 0, NULL,
	    "bob@example.com" },
	{ "rcpt_notify_never_with_other", "TO:<bob@example.com> "
	    "NOTIFY=NEVER,FAILURE", false, false, 501, "5.5.4", NULL },
	{ "rcpt_unknown_param", "TO:<bob@example.com> FOO=bar", false, false,
	    555, "5.5.4", NULL },
	{ "rcpt_orcpt_without_type", "TO:<bob@example.com> ORCPT=bob", false,
	    false, 501, "5.5.4", NULL },
	{ "mail_size_ok", "FROM:<a@b.example> SIZE=1000", true, false, 0,
	    NULL, "a@b.example" },
	{ "mail_size_too_big", "FROM:<a@b.example> SIZE=1000001", true, false,
	    552, "5.3.4", NULL },
	{ "mail_size_huge", "FROM:<a@b.example> SIZE=99999999999999999999999",
	    true, false, 501, "5.5.4", NULL },
	{ "mail_size_twice", "FROM:<a@b.example> SIZE=1 SIZE=2", true, false,
	    555, "5.5.4", NULL },
	{ "mail_body_8bitmime", "FROM:<a@b.example> BODY=8BITMIME", true,
	    false, 0, NULL, "a@b.example" },
	{ "mail_body_binary_refused", "FROM:<a@b.example> BODY=BINARYMIME",
	    true, false, 555, "5.5.4", NULL },
	{ "mail_ret_envid", "FROM:<a@b.example> RET=hdrs ENVID=x+2By", true,
	    false, 0, NULL, "a@b.example" },
	{ "mail_envid_bad_xtext", "FROM:<a@b.example> ENVID=x+zz", true, false,
	    501, "5.5.4", NULL },
	{ "mail_auth_param_taken", "FROM:<a@b.example> AUTH=<>", true, false,
	    0, NULL, "a@b.example" },
	{ "param_without_space", "FROM:<a@b.example>SIZE=1", true, false, 501,
	    "5.5.4", NULL },
};

START_TEST(test_paths)
{
	const struct path_case *c = &path_cases[_i];
	struct smtpd_reply r = { 0, NULL, NULL };
	struct smtpd_mail m;
	struct smtpd_rcpt rc;
	size_t len = strlen(c->arg);
	int rv;
	const char *addr;

	/* one case has a NUL inside: its length is given by hand */
	if (strcmp(c->name, "nul_in_local") == 0)
		len = sizeof("TO:<a\0b@example.com>") - 1;
	if (strcmp(c->name, "nul_in_literal") == 0)
		len = sizeof("TO:<a@[1.2\0.3]>") - 1;
	if (c->mail) {
		rv = smtpd_parse_mail(c->arg, len, 1000000, &m, &r);
		addr = rv == 0 ? m.addr : NULL;
	} else {
		rv = smtpd_parse_rcpt(c->arg, len, c->smtputf8, &rc, &r);
		addr = rv == 0 ? rc.addr : NULL;
	}
	if (c->code == 0) {
		ck_assert_msg(rv == 0, "%s: refused %d %s %s", c->name, r.code,
		    r.dsn, r.text);
		ck_assert_msg(strcmp(addr, c->addr) == 0, "%s: address \"%s\"",
		    c->name, addr);
	} else {
		ck_assert_msg(rv == -1, "%s: accepted as \"%s\"", c->name,
		    addr != NULL ? addr : "");
		ck_assert_msg(r.code == c->code && strcmp(r.dsn, c->dsn) == 0,
		    "%s: reply %d %s, want %d %s", c->name, r.code, r.dsn,
		    c->code, c->dsn);
	}
	if (rv == 0) {
		if (c->mail)
			smtpd_mail_free(&m);
		else
			smtpd_rcpt_free(&rc);
	}
}
END_TEST

START_TEST(test_mail_params_kept)
{
	static const char arg[] = "FROM:<a@b.example> RET=hdrs ENVID=QQ+2B1 "
	    "SIZE=42 BODY=8bitmime SMTPUTF8";
	struct smtpd_mail m;
	struct smtpd_reply r;

	ck_assert_int_eq(smtpd_parse_mail(arg, strlen(arg), 100, &m, &r), 0);
	ck_assert_str_eq(m.ret, "HDRS");
	ck_assert_str_eq(m.envid, "QQ+2B1");
	ck_assert_uint_eq(m.size, 42);
	ck_assert(m.body == SMTPD_BODY_8BITMIME);
	ck_assert(m.smtputf8);
	smtpd_mail_free(&m);
}
END_TEST

START_TEST(test_rcpt_params_kept)
{
	static const char arg[] = "TO:<b@c.example> NOTIFY=delay,Failure "
	    "ORCPT=rfc822;b@c.example";
	struct smtpd_rcpt rc;
	struct smtpd_reply r;

	ck_assert_int_eq(smtpd_parse_rcpt(arg, strlen(arg), false, &rc, &r), 0);
	ck_assert_str_eq(rc.notify, "DELAY,FAILURE");
	ck_assert_str_eq(rc.orcpt, "rfc822;b@c.example");
	smtpd_rcpt_free(&rc);
}
END_TEST

START_TEST(test_address_length_bounded)
{
	size_t n = 2000, i;
	char *arg = malloc(n + 32);
	struct smtpd_rcpt rc;
	struct smtpd_reply r;

	ck_assert_ptr_nonnull(arg);
	strcpy(arg, "TO:<");
	for (i = 4; i < n; i++)
		arg[i] = 'a';
	strcpy(arg + n, "@example.com>");
	ck_assert_int_eq(smtpd_parse_rcpt(arg, strlen(arg), false, &rc, &r),
	    -1);
	ck_assert_str_eq(r.dsn, "5.1.3");
	free(arg);
}
END_TEST

struct helo_case {
	const char	*name;
	const char	*arg;
	int		 want;
};

static const struct helo_case helo_cases[] = {
	{ "name", "client.example", 0 },
	{ "literal", "[192.0.2.7]", 0 },
	{ "empty", "", -1 },
	{ "space_inside", "a b", -1 },
	{ "paren_would_break_received", "x)(y", -1 },
	{ "eight_bit", "h\xc3\xb6st", -1 },
};

START_TEST(test_helo)
{
	const struct helo_case *c = &helo_cases[_i];

	ck_assert_msg(smtpd_check_helo(c->arg, strlen(c->arg)) == c->want,
	    "%s", c->name);
}
END_TEST

struct bdat_case {
	const char	*name;
	const char	*arg;
	int		 want;
	uint64_t	 size;
	bool		 last;
};

static const struct bdat_case bdat_cases[] = {
	{ "size", "100", 0, 100, false },
	{ "zero", "0", 0, 0, false },
	{ "zero_last", "0 LAST", 0, 0, true },
	{ "last_any_case", "12 last", 0, 12, true },
	{ "last_after_spaces", "12   LAST", 0, 12, true },
	{ "leading_zeros", "007", 0, 7, false },
	{ "largest", "18446744073709551615", 0, UINT64_MAX, false },
	{ "overflow", "18446744073709551616", -1, 0, false },
	{ "huge", "99999999999999999999999", -1, 0, false },
	{ "empty", "", -1, 0, false },
	{ "negative", "-1", -1, 0, false },
	{ "plus_sign", "+1", -1, 0, false },
	{ "hex", "0x10", -1, 0, false },
	{ "not_last", "10 LASTX", -1, 0, false },
	{ "last_only", "LAST", -1, 0, false },
	{ "word_after_last", "10 LAST x", -1, 0, false },
	{ "other_word", "10 FIRST", -1, 0, false },
	{ "tab", "10\tLAST", -1, 0, false },
	{ "digits_then_junk", "10x", -1, 0, false },
};

START_TEST(test_bdat)
{
	const struct bdat_case *c = &bdat_cases[_i];
	uint64_t size;
	bool last;

	ck_assert_msg(smtpd_parse_bdat(c->arg, strlen(c->arg), &size,
	    &last) == c->want, "%s: result", c->name);
	if (c->want == 0)
		ck_assert_msg(size == c->size && last == c->last,
		    "%s: size %llu last %d", c->name, (unsigned long long)size,
		    last);
}
END_TEST

/* The verb and its argument as a session sees them. */
START_TEST(test_bdat_line)
{
	struct smtpd_cmd cmd;
	uint64_t size;
	bool last;

	smtpd_cmd_parse("bdat 5 LAST  ", 13, &cmd);
	ck_assert_int_eq(cmd.verb, SMTPD_BDAT);
	ck_assert_int_eq(smtpd_parse_bdat(cmd.arg, cmd.arg_len, &size,
	    &last), 0);
	ck_assert(size == 5 && last);
}
END_TEST

static Suite *
smtpd_cmd_suite(void)
{
	Suite *s = suite_create("smtpd_cmd");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_verbs, 0,
	    sizeof(verb_cases) / sizeof(verb_cases[0]));
	tcase_add_loop_test(tc, test_paths, 0,
	    sizeof(path_cases) / sizeof(path_cases[0]));
	tcase_add_loop_test(tc, test_helo, 0,
	    sizeof(helo_cases) / sizeof(helo_cases[0]));
	tcase_add_test(tc, test_mail_params_kept);
	tcase_add_test(tc, test_rcpt_params_kept);
	tcase_add_test(tc, test_address_length_bounded);
	tcase_add_loop_test(tc, test_bdat, 0,
	    sizeof(bdat_cases) / sizeof(bdat_cases[0]));
	tcase_add_test(tc, test_bdat_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtpd_cmd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
