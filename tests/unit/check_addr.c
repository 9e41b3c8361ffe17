/*
 * check_addr - unit tests for common/addr.c.
 *
 * Table-driven: each case is { name, input, want }. For addr_parse_list the
 * want is the list of canonical addresses (NULL-terminated); for a failure
 * case it is empty and err_has names a word the reason must contain. Cases
 * that need built input (long text, deep nesting) have their own tests.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "imc_limits.h"

#define MAXWANT	6

struct list_case {
	const char *name;
	const char *input;
	size_t	len;		/* 0: strlen(input) */
	const char *want[MAXWANT]; /* NULL-terminated */
	bool	fails;
	const char *err_has;	/* failure: part of the reason */
};

static const struct list_case list_cases[] = {
	/* Plain and named mailboxes. */
	{ "plain_addr_spec_is_kept", "user@example.org", 0,
	    { "user@example.org" }, false, NULL },
	{ "surrounding_whitespace_is_ignored", "  \t user@example.org \t ", 0,
	    { "user@example.org" }, false, NULL },
	{ "display_name_and_angle_addr_gives_the_addr",
	    "John Doe <john.doe@example.org>", 0,
	    { "john.doe@example.org" }, false, NULL },
	{ "angle_addr_without_name_gives_the_addr", "<a@b.example>", 0,
	    { "a@b.example" }, false, NULL },
	{ "two_addresses_in_order", "a@x.example, B <b@y.example>", 0,
	    { "a@x.example", "b@y.example" }, false, NULL },
	{ "quoted_display_name_with_comma_is_one_mailbox",
	    "\"Doe, John\" <jd@example.org>, other@example.org", 0,
	    { "jd@example.org", "other@example.org" }, false, NULL },
	{ "quoted_display_name_with_escaped_quote",
	    "\"Joe \\\"the man\\\" Q\" <joe@example.org>", 0,
	    { "joe@example.org" }, false, NULL },
	{ "display_name_with_dot_is_allowed", "John Q. Public <jqp@example.org>",
	    0, { "jqp@example.org" }, false, NULL },
	{ "display_name_with_at_sign_is_tolerated",
	    "john@example.org <john@example.org>", 0,
	    { "john@example.org" }, false, NULL },
	{ "utf8_display_name_is_tolerated", "J\xc3\xb6rg <j@example.org>", 0,
	    { "j@example.org" }, false, NULL },
	{ "domain_is_kept_as_written", "User@Example.ORG", 0,
	    { "User@Example.ORG" }, false, NULL },

	/* Comments. */
	{ "comment_after_addr_spec_is_dropped",
	    "user@example.org (Joe User)", 0,
	    { "user@example.org" }, false, NULL },
	{ "comments_in_odd_places_are_dropped",
	    "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	    0, { "pete@silly.test" }, false, NULL },
	{ "comment_between_local_dots_is_dropped",
	    "john (x) . (y) doe @ (z) example . org", 0,
	    { "john.doe@example.org" }, false, NULL },
	{ "nested_comments_are_dropped",
	    "(a (b (c) d) e)user@example.org((x))", 0,
	    { "user@example.org" }, false, NULL },
	{ "comment_with_comma_and_angle_does_not_split",
	    "a@x.example (one, <two>), b@y.example", 0,
	    { "a@x.example", "b@y.example" }, false, NULL },
	{ "comment_only_gives_empty_list", "(nobody)", 0,
	    { NULL }, false, NULL },

	/* Local parts. */
	{ "quoted_local_part_needing_quotes_stays_quoted",
	    "\"john doe\"@example.org", 0,
	    { "\"john doe\"@example.org" }, false, NULL },
	{ "quoted_local_part_that_is_a_dot_atom_is_unquoted",
	    "\"john\"@x", 0, { "john@x" }, false, NULL },
	{ "quoted_dotted_local_part_is_unquoted",
	    "\"john.doe\"@x", 0, { "john.doe@x" }, false, NULL },
	{ "needless_backslash_is_dropped", "\"a\\b\"@x", 0,
	    { "ab@x" }, false, NULL },
	{ "needed_backslashes_are_kept", "\"a\\\"b\\\\c\"@x", 0,
	    { "\"a\\\"b\\\\c\"@x" }, false, NULL },
	{ "obsolete_mixed_local_part_is_joined", "\"john\".doe@x", 0,
	    { "john.doe@x" }, false, NULL },
	{ "mixed_local_part_needing_quotes_is_quoted_whole",
	    "\"john doe\".smith@x", 0,
	    { "\"john doe.smith\"@x" }, false, NULL },
	{ "trailing_dot_local_part_is_quoted", "foo.@docomo.example", 0,
	    { "\"foo.\"@docomo.example" }, false, NULL },
	{ "quoted_local_part_with_comma_stays_one_address",
	    "\"a,b\"@x, c@y", 0, { "\"a,b\"@x", "c@y" }, false, NULL },
	/* Found by fuzz_addr: an empty quoted local part (NULL + 0). */
	{ "empty_quoted_local_part_stays_quoted", "\"\"@x", 0,
	    { "\"\"@x" }, false, NULL },
	{ "empty_quoted_string_then_word_fails", "\"\"D", 0, { NULL },
	    true, "','" },
	{ "bare_local_part_is_returned_as_is", "postmaster", 0,
	    { "postmaster" }, false, NULL },
	{ "bare_local_parts_in_a_list", "alice, <bob>", 0,
	    { "alice", "bob" }, false, NULL },

	/* Groups. */
	{ "group_without_members_gives_no_address",
	    "undisclosed-recipients:;", 0, { NULL }, false, NULL },
	{ "group_without_final_semicolon_at_end_is_tolerated",
	    "undisclosed-recipients:", 0, { NULL }, false, NULL },
	{ "group_members_are_returned",
	    "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	    0, { "c@a.test", "joe@where.test", "jdoe@one.test" }, false,
	    NULL },
	{ "group_then_mailbox",
	    "friends: a@x, b@y; c@z", 0, { NULL }, true, "expected" },
	{ "group_then_comma_then_mailbox",
	    "friends: a@x, b@y;, c@z", 0, { "a@x", "b@y", "c@z" }, false,
	    NULL },
	{ "group_with_comment_only_gives_no_address",
	    "Undisclosed recipients: (none) ;", 0, { NULL }, false, NULL },
	{ "group_with_empty_member_elements",
	    "g: , a@x ,, ;", 0, { "a@x" }, false, NULL },
	{ "group_inside_group_fails", "outer: inner: a@x;;", 0, { NULL },
	    true, "group" },
	{ "group_without_name_fails", ": a@x;", 0, { NULL }, true, "group" },
	{ "semicolon_outside_group_fails", "a@x; b@y", 0, { NULL }, true,
	    "';'" },

	/* Routes and domain literals. */
	{ "obsolete_source_route_is_dropped", "<@a.example,@b.example:user@c.example>",
	    0, { "user@c.example" }, false, NULL },
	{ "obsolete_source_route_with_spaces_and_empty_entries",
	    "Joe < @a , , @b : user@c >", 0, { "user@c" }, false, NULL },
	{ "malformed_source_route_fails", "<@a user@c>", 0, { NULL }, true,
	    "route" },
	{ "domain_literal_is_kept", "user@[192.0.2.1]", 0,
	    { "user@[192.0.2.1]" }, false, NULL },
	{ "domain_literal_in_angles_loses_inner_space",
	    "<user@[ IPv6:2001:db8::1 ]>", 0,
	    { "user@[IPv6:2001:db8::1]" }, false, NULL },

	/* Folding. */
	{ "folded_crlf_input_is_unfolded",
	    "John Doe\r\n <john@example.org>,\r\n\tjane@example.org", 0,
	    { "john@example.org", "jane@example.org" }, false, NULL },
	{ "folded_lf_input_is_unfolded",
	    "a@x,\n b@y,\n\t\"Quoted\n Name\" <c@z>", 0,
	    { "a@x", "b@y", "c@z" }, false, NULL },
	{ "fold_inside_quoted_local_part_is_removed",
	    "\"john\r\n doe\"@x", 0, { "\"john doe\"@x" }, false, NULL },

	/* RFC 2047. */
	{ "encoded_word_display_name",
	    "=?UTF-8?B?SsO2cmc=?= <joerg@example.org>", 0,
	    { "joerg@example.org" }, false, NULL },
	{ "encoded_words_with_q_encoding",
	    "=?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", 0,
	    { "PIRARD@vm1.ulg.ac.be" }, false, NULL },
	{ "encoded_word_with_comma_is_one_display_name",
	    "=?utf-8?q?M=C3=BCller,_Hans?= <h@example.org>, b@x", 0,
	    { "h@example.org", "b@x" }, false, NULL },
	/* Found by fuzz_addr: an encoded-word look-alike must not swallow
	 * the "@" of an address (the canonical form must parse again). */
	{ "encoded_word_look_alike_address_is_an_address",
	    "=?@n?M33?q?=C3?q?=BC=tlr", 0,
	    { "=?@n?M33?q?=C3?q?=BC=tlr" }, false, NULL },
	{ "encoded_word_text_with_at_is_an_address", "=?a?b?@x?=", 0,
	    { "=?a?b?@x?=" }, false, NULL },
	{ "encoded_word_with_comma_after_a_word",
	    "Hans =?utf-8?q?M=C3=BCller,_X?= <h@example.org>", 0,
	    { "h@example.org" }, false, NULL },

	/* Empty lists and empty elements. */
	{ "empty_text_gives_empty_list", "", 0, { NULL }, false, NULL },
	{ "whitespace_only_gives_empty_list", " \r\n\t ", 0, { NULL }, false,
	    NULL },
	{ "trailing_comma_is_skipped", "a@x,", 0, { "a@x" }, false, NULL },
	{ "duplicate_commas_are_skipped", ",,a@x,, ,b@y,,", 0,
	    { "a@x", "b@y" }, false, NULL },

	/* Failures. */
	{ "unbalanced_angle_fails", "Joe <joe@example.org", 0, { NULL },
	    true, "'<'" },
	{ "unbalanced_close_angle_fails", "joe@example.org>", 0, { NULL },
	    true, "'>'" },
	{ "unbalanced_quote_fails", "\"Joe <joe@example.org>", 0, { NULL },
	    true, "quoted" },
	{ "quote_ending_in_backslash_fails", "\"Joe\\", 0, { NULL },
	    true, "quoted" },
	{ "unterminated_comment_fails", "joe@example.org (Joe", 0, { NULL },
	    true, "comment" },
	{ "unbalanced_close_paren_fails", "joe@example.org Joe)", 0, { NULL },
	    true, "')'" },
	{ "nul_byte_inside_fails", "a@x,\0b@y", 8, { NULL }, true, "NUL" },
	{ "nul_byte_inside_quotes_fails", "\"a\0\"@x", 6, { NULL }, true,
	    "NUL" },
	{ "at_with_empty_domain_fails", "joe@", 0, { NULL }, true, "domain" },
	{ "at_with_empty_domain_in_angles_fails", "Joe <joe@>", 0, { NULL },
	    true, "domain" },
	{ "trailing_dot_domain_fails", "joe@example.", 0, { NULL }, true,
	    "domain" },
	{ "empty_local_part_fails", "@example.org", 0, { NULL }, true, "'@'" },
	{ "eight_bit_garbage_as_address_fails", "\xff\xfe\xc3\xa9\x80", 0,
	    { NULL }, true, "8-bit" },
	{ "eight_bit_garbage_in_angles_fails", "Joe <\xff\xfe@example.org>",
	    0, { NULL }, true, "8-bit" },
	{ "utf8_in_quoted_local_part_is_kept", "\"j\xc3\xb6rg\"@x", 0,
	    { "j\xc3\xb6rg@x", NULL }, false, NULL },
	{ "utf8_domain_is_kept", "a@b\xc3\xa4.example", 0,
	    { "a@b\xc3\xa4.example", NULL }, false, NULL },
	{ "utf8_local_part_is_kept", "J <j\xc3\xbcrgen@example.org>", 0,
	    { "j\xc3\xbcrgen@example.org", NULL }, false, NULL },
	{ "overlong_utf8_in_address_fails", "a\xc0\xaf" "b@x", 0, { NULL },
	    true, "not UTF-8" },
	{ "surrogate_utf8_in_address_fails", "a\xed\xa0\x80@x", 0,
	    { NULL }, true, "not UTF-8" },
	{ "truncated_utf8_in_address_fails", "a\xc3@x", 0, { NULL }, true,
	    "not UTF-8" },
	{ "control_character_fails", "a\x01@x", 0, { NULL }, true,
	    "control" },
	{ "empty_angle_addr_in_list_fails", "<>", 0, { NULL }, true, "<>" },
	{ "missing_comma_between_addresses_fails", "a@x b@y", 0, { NULL },
	    true, "','" },
	{ "display_name_without_address_fails", "John Smith", 0, { NULL },
	    true, "','" },
	{ "two_angle_addrs_fail", "<a@x> <b@y>", 0, { NULL }, true, "'<'" },
	{ "unbalanced_bracket_fails", "a@[192.0.2.1", 0, { NULL }, true,
	    "'['" },
	{ "backslash_outside_quotes_fails", "a\\b@x", 0, { NULL }, true,
	    "backslash" },
};

/* test_list_case - run one addr_parse_list case */
START_TEST(test_list_case)
{
	const struct list_case *c = &list_cases[_i];
	struct addr_list l;
	struct buf err;
	size_t len, nwant;
	int r;

	addr_list_init(&l);
	buf_init(&err);
	len = c->len ? c->len : strlen(c->input);
	r = addr_parse_list(c->input, len, &l, &err);
	if (c->fails) {
		ck_assert_msg(r == -1, "%s: parsed but should fail", c->name);
		ck_assert_msg(l.n == 0, "%s: addresses left on failure",
		    c->name);
		ck_assert_msg(err.len > 0, "%s: no reason given", c->name);
		ck_assert_msg(strstr(buf_cstr(&err), c->err_has) != NULL,
		    "%s: reason \"%s\" lacks \"%s\"", c->name, buf_cstr(&err),
		    c->err_has);
	} else {
		ck_assert_msg(r == 0, "%s: failed: %s", c->name,
		    buf_cstr(&err));
		for (nwant = 0; nwant < MAXWANT && c->want[nwant] != NULL;
		    nwant++)
			;
		ck_assert_msg(l.n == nwant, "%s: got %zu addresses, want %zu",
		    c->name, l.n, nwant);
		for (size_t i = 0; i < nwant; i++)
			ck_assert_msg(strcmp(l.items[i], c->want[i]) == 0,
			    "%s: address %zu is \"%s\", want \"%s\"", c->name,
			    i, l.items[i], c->want[i]);
	}
	addr_list_free(&l);
	buf_fini(&err);
}
END_TEST

struct path_case {
	const char *name;
	const char *input;
	size_t	len;		/* 0: strlen(input) */
	const char *want;	/* NULL: must fail */
};

static const struct path_case path_cases[] = {
	{ "path_in_angles", "<a@b>", 0, "a@b" },
	{ "path_with_esmtp_parameters_ignores_them",
	    "<a@b> SIZE=100 NOTIFY=NEVER", 0, "a@b" },
	{ "path_with_keyword_only_parameter", "<a@b> SMTPUTF8", 0, "a@b" },
	{ "bare_path", "a@b", 0, "a@b" },
	{ "bare_path_with_surrounding_space", "  a@b \r\n", 0, "a@b" },
	{ "bare_path_with_parameters", "a@b BODY=8BITMIME", 0, "a@b" },
	{ "path_with_display_name", "\"Display\" <a@b>", 0, "a@b" },
	{ "path_with_atom_display_name", "Display Name <a@b> SIZE=1", 0,
	    "a@b" },
	{ "null_path_gives_empty_string", "<>", 0, "" },
	{ "null_path_with_parameters", "<> SIZE=0", 0, "" },
	{ "bare_word_is_returned_unqualified", "Sender", 0, "Sender" },
	{ "path_with_source_route", "<@relay.example:a@b>", 0, "a@b" },
	{ "path_with_quoted_local_part", "<\"a b\"@c>", 0, "\"a b\"@c" },
	{ "path_quoted_dot_atom_is_unquoted", "<\"ab\"@c>", 0, "ab@c" },
	{ "path_domain_literal", "<a@[192.0.2.1]>", 0, "a@[192.0.2.1]" },
	{ "path_empty_fails", "", 0, NULL },
	{ "path_blank_fails", "   ", 0, NULL },
	{ "path_unbalanced_angle_fails", "<a@b", 0, NULL },
	{ "path_two_addresses_fail", "a@b, c@d", 0, NULL },
	{ "path_two_addresses_with_space_fail", "a@b , c@d", 0, NULL },
	{ "path_junk_after_angle_fails", "<a@b>junk", 0, NULL },
	{ "path_bad_parameter_fails", "<a@b> =x", 0, NULL },
	{ "path_empty_parameter_value_fails", "<a@b> SIZE=", 0, NULL },
	{ "path_empty_domain_fails", "<a@>", 0, NULL },
	{ "path_nul_fails", "<a@b>\0", 6, NULL },
	{ "path_eight_bit_fails", "<\xe4@b>", 0, NULL },
	{ "path_group_fails", "g: a@b;", 0, NULL },
	{ "path_display_name_only_fails", "John Smith", 0, NULL },
	{ "path_bare_word_with_parameters_fails", "Sender SIZE=1", 0, NULL },
};

/* test_path_case - run one addr_parse_path case */
START_TEST(test_path_case)
{
	const struct path_case *c = &path_cases[_i];
	struct buf err;
	char *out = (char *)"unset";
	size_t len;
	int r;

	buf_init(&err);
	len = c->len ? c->len : strlen(c->input);
	r = addr_parse_path(c->input, len, &out, &err);
	if (c->want == NULL) {
		ck_assert_msg(r == -1, "%s: parsed as \"%s\", should fail",
		    c->name, r == 0 ? out : "");
		ck_assert_msg(out == NULL, "%s: out not NULL on failure",
		    c->name);
		ck_assert_msg(err.len > 0, "%s: no reason given", c->name);
	} else {
		ck_assert_msg(r == 0, "%s: failed: %s", c->name,
		    buf_cstr(&err));
		ck_assert_msg(strcmp(out, c->want) == 0,
		    "%s: got \"%s\", want \"%s\"", c->name, out, c->want);
		free(out);
	}
	buf_fini(&err);
}
END_TEST

/* Command-line addresses: like paths, but one line with no control
 * byte, and "" is the null sender. */
static const struct path_case arg_cases[] = {
	{ "arg_plain_address", "app@example.org", 0, "app@example.org" },
	{ "arg_in_angles", "<app@example.org>", 0, "app@example.org" },
	{ "arg_empty_is_null_sender", "", 0, "" },
	{ "arg_angles_are_null_sender", "<>", 0, "" },
	{ "arg_bare_login_name", "www-data", 0, "www-data" },
	{ "arg_quoted_local_part", "\"a b\"@example.org", 0,
	    "\"a b\"@example.org" },
	{ "arg_display_name_form", "App <app@example.org>", 0,
	    "app@example.org" },
	{ "arg_crlf_injection_fails",
	    "a@example.com\r\nX-Receiver: <evil@remote.test>", 0, NULL },
	{ "arg_lone_lf_fails", "a@example.com\nX-Receiver: <e@r.test>", 0,
	    NULL },
	{ "arg_trailing_crlf_fails", "a@example.com\r\n", 0, NULL },
	{ "arg_lf_with_parameters_fails", "<a@example.com>\nSIZE=1", 0,
	    NULL },
	{ "arg_cr_inside_quotes_fails", "\"a\rb\"@example.com", 0, NULL },
	{ "arg_tab_fails", "a@example.com\tx", 0, NULL },
	{ "arg_del_fails", "a\x7f@example.com", 0, NULL },
	{ "arg_unparsable_fails", "<<bad", 0, NULL },
	{ "arg_two_addresses_fail", "a@b, c@d", 0, NULL },
	{ "arg_blank_fails", " ", 0, NULL },
};

/* test_arg_case - run one addr_parse_arg case */
START_TEST(test_arg_case)
{
	const struct path_case *c = &arg_cases[_i];
	struct buf err;
	char *out = (char *)"unset";
	int r;

	buf_init(&err);
	r = addr_parse_arg(c->input, &out, &err);
	if (c->want == NULL) {
		ck_assert_msg(r == -1, "%s: parsed as \"%s\", should fail",
		    c->name, r == 0 ? out : "");
		ck_assert_msg(out == NULL, "%s: out not NULL on failure",
		    c->name);
		ck_assert_msg(err.len > 0, "%s: no reason given", c->name);
	} else {
		ck_assert_msg(r == 0, "%s: failed: %s", c->name,
		    buf_cstr(&err));
		ck_assert_msg(strcmp(out, c->want) == 0,
		    "%s: got \"%s\", want \"%s\"", c->name, out, c->want);
		free(out);
	}
	buf_fini(&err);
}
END_TEST

struct domain_case {
	const char *name;
	const char *input;
	const char *want;	/* NULL: no domain */
};

static const struct domain_case domain_cases[] = {
	{ "domain_of_plain_address", "a@example.org", "example.org" },
	{ "domain_ignores_at_in_quotes", "\"a@b\"@c.example", "c.example" },
	{ "domain_ignores_escaped_quote", "\"a\\\"@b\"@c", "c" },
	{ "no_domain_for_bare_local_part", "postmaster", NULL },
	{ "no_domain_for_quoted_bare_local_part", "\"a@b\"", NULL },
	{ "domain_literal_domain", "a@[192.0.2.1]", "[192.0.2.1]" },
	{ "empty_string_has_no_domain", "", NULL },
};

/* test_domain_case - run one addr_domain case */
START_TEST(test_domain_case)
{
	const struct domain_case *c = &domain_cases[_i];
	const char *d = addr_domain(c->input);

	if (c->want == NULL)
		ck_assert_msg(d == NULL, "%s: got \"%s\", want none", c->name,
		    d);
	else
		ck_assert_msg(d != NULL && strcmp(d, c->want) == 0,
		    "%s: got \"%s\", want \"%s\"", c->name, d ? d : "(null)",
		    c->want);
}
END_TEST

/* make_repeat - a malloc'ed string: prefix, n times c, suffix */
static char *
make_repeat(const char *prefix, int c, size_t n, const char *suffix)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, prefix), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(buf_putc(&b, c), 0);
	ck_assert_int_eq(buf_puts(&b, suffix), 0);
	return buf_steal(&b);
}

START_TEST(address_longer_than_limit_fails)
{
	struct addr_list l;
	struct buf err;
	char *s, *out = NULL;

	addr_list_init(&l);
	buf_init(&err);
	s = make_repeat("", 'a', IMC_MAX_ADDRESS, "@example.org");
	ck_assert_int_eq(addr_parse_list(s, strlen(s), &l, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "too long"));
	ck_assert_uint_eq(l.n, 0);
	buf_reset(&err);
	ck_assert_int_eq(addr_parse_path(s, strlen(s), &out, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "too long"));
	free(s);

	/* Also when the quoting makes it long. */
	s = make_repeat("<\"", ' ', IMC_MAX_ADDRESS - 3, "\"@x>");
	ck_assert_int_eq(addr_parse_list(s, strlen(s), &l, &err), -1);
	free(s);
	addr_list_free(&l);
	buf_fini(&err);
}
END_TEST

START_TEST(address_at_limit_is_accepted)
{
	struct addr_list l;
	struct buf err;
	char *s;

	addr_list_init(&l);
	buf_init(&err);
	s = make_repeat("", 'a', IMC_MAX_ADDRESS - 2, "@x");
	ck_assert_int_eq(addr_parse_list(s, strlen(s), &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.items[0], s);
	free(s);
	addr_list_free(&l);
	buf_fini(&err);
}
END_TEST

START_TEST(long_display_name_with_short_address_is_accepted)
{
	struct addr_list l;
	struct buf err;
	char *s;

	addr_list_init(&l);
	buf_init(&err);
	s = make_repeat("", 'N', 4 * IMC_MAX_ADDRESS, " <a@x>");
	ck_assert_int_eq(addr_parse_list(s, strlen(s), &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.items[0], "a@x");
	free(s);
	addr_list_free(&l);
	buf_fini(&err);
}
END_TEST

START_TEST(comments_nested_to_the_limit_are_accepted)
{
	struct addr_list l;
	struct buf err, in;
	int i;

	addr_list_init(&l);
	buf_init(&err);
	buf_init(&in);
	for (i = 0; i < 32; i++)
		ck_assert_int_eq(buf_putc(&in, '('), 0);
	for (i = 0; i < 32; i++)
		ck_assert_int_eq(buf_putc(&in, ')'), 0);
	ck_assert_int_eq(buf_puts(&in, "a@x"), 0);
	ck_assert_int_eq(addr_parse_list(in.data, in.len, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	addr_list_free(&l);
	buf_fini(&err);
	buf_fini(&in);
}
END_TEST

START_TEST(comments_nested_too_deep_fail)
{
	struct addr_list l;
	struct buf err;
	char *s;

	addr_list_init(&l);
	buf_init(&err);
	/* Far deeper than the limit, and never closed: no stack is used. */
	s = make_repeat("a@x ", '(', 100000, "");
	ck_assert_int_eq(addr_parse_list(s, strlen(s), &l, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "nested"));
	free(s);
	addr_list_free(&l);
	buf_fini(&err);
}
END_TEST

START_TEST(failure_leaves_earlier_addresses_alone)
{
	struct addr_list l;
	struct buf err;
	const char *bad = "a@x, b@y, <c@z";

	addr_list_init(&l);
	buf_init(&err);
	ck_assert_int_eq(addr_parse_list("first@x", 7, &l, &err), 0);
	ck_assert_int_eq(addr_parse_list(bad, strlen(bad), &l, &err), -1);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.items[0], "first@x");
	ck_assert_int_eq(addr_parse_list("second@y", 8, &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.items[1], "second@y");
	addr_list_free(&l);
	addr_list_free(&l);	/* a freed list is empty, freeing again is safe */
	ck_assert_uint_eq(l.n, 0);
	buf_fini(&err);
}
END_TEST

START_TEST(length_bounds_the_input_not_nul)
{
	struct addr_list l;
	struct buf err;
	char *out;
	/* Only the first 3 bytes are the input; the rest must not be read. */
	const char text[] = "a@b, c@d";

	addr_list_init(&l);
	buf_init(&err);
	ck_assert_int_eq(addr_parse_list(text, 3, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.items[0], "a@b");
	ck_assert_int_eq(addr_parse_path(text, 3, &out, &err), 0);
	ck_assert_str_eq(out, "a@b");
	free(out);
	ck_assert_int_eq(addr_parse_list(NULL, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	addr_list_free(&l);
	buf_fini(&err);
}
END_TEST

START_TEST(list_grows_past_its_first_allocation)
{
	struct addr_list l;
	struct buf in, err;
	int i;

	addr_list_init(&l);
	buf_init(&in);
	buf_init(&err);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(buf_printf(&in, "u%d@x, ", i), 0);
	ck_assert_int_eq(addr_parse_list(in.data, in.len, &l, &err), 0);
	ck_assert_uint_eq(l.n, 100);
	ck_assert_str_eq(l.items[99], "u99@x");
	addr_list_free(&l);
	buf_fini(&in);
	buf_fini(&err);
}
END_TEST

START_TEST(null_err_buffer_is_allowed)
{
	struct addr_list l;
	char *out;

	addr_list_init(&l);
	ck_assert_int_eq(addr_parse_list("<a@b", 4, &l, NULL), -1);
	ck_assert_int_eq(addr_parse_path("<a@b", 4, &out, NULL), -1);
	addr_list_free(&l);
}
END_TEST

/* addr_suite - every addr test */
static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc;

	tc = tcase_create("parse_list");
	tcase_add_loop_test(tc, test_list_case, 0,
	    (int)(sizeof(list_cases) / sizeof(list_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_path");
	tcase_add_loop_test(tc, test_path_case, 0,
	    (int)(sizeof(path_cases) / sizeof(path_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_arg");
	tcase_add_loop_test(tc, test_arg_case, 0,
	    (int)(sizeof(arg_cases) / sizeof(arg_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("domain");
	tcase_add_loop_test(tc, test_domain_case, 0,
	    (int)(sizeof(domain_cases) / sizeof(domain_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, address_longer_than_limit_fails);
	tcase_add_test(tc, address_at_limit_is_accepted);
	tcase_add_test(tc, long_display_name_with_short_address_is_accepted);
	tcase_add_test(tc, comments_nested_to_the_limit_are_accepted);
	tcase_add_test(tc, comments_nested_too_deep_fail);
	tcase_add_test(tc, length_bounds_the_input_not_nul);
	suite_add_tcase(s, tc);

	tc = tcase_create("list");
	tcase_add_test(tc, failure_leaves_earlier_addresses_alone);
	tcase_add_test(tc, list_grows_past_its_first_allocation);
	tcase_add_test(tc, null_err_buffer_is_allowed);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the addr suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(addr_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
