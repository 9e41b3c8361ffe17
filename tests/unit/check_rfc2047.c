/*
 * check_rfc2047 - unit tests of common/rfc2047.c (encoded-words).
 *
 * The charset conversion is a small iconv(3) wrapper here, so the tests do
 * not depend on the connector's converter.
 */
#include <check.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc2047.h"

/* iconv_to_utf8 - strict conversion with glibc iconv, for the tests */
static int
iconv_to_utf8(const char *cs, const char *bytes, size_t len, struct buf *out)
{
	char tmp[64], *in = (char *)bytes, *o;
	size_t inleft = len, oleft, mark = out->len, r;
	iconv_t cd;

	if ((cd = iconv_open("UTF-8", cs)) == (iconv_t)-1) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		o = tmp;
		oleft = sizeof(tmp);
		r = iconv(cd, inleft > 0 ? &in : NULL, &inleft, &o, &oleft);
		if (buf_append(out, tmp, (size_t)(o - tmp)) == -1)
			break;
		if (r != (size_t)-1 && inleft == 0) {
			o = tmp;
			oleft = sizeof(tmp);
			if (iconv(cd, NULL, NULL, &o, &oleft) == (size_t)-1 ||
			    buf_append(out, tmp, (size_t)(o - tmp)) == -1)
				break;
			iconv_close(cd);
			return 0;
		}
		if (r == (size_t)-1 && errno != E2BIG)
			break;
	}
	iconv_close(cd);
	out->len = mark;
	if (out->data != NULL)
		out->data[mark] = '\0';
	errno = EILSEQ;
	return -1;
}

struct dec_case {
	const char	*name;
	const char	*in;
	const char	*want;
	unsigned	 flags;
};

#define D	RFC2047_DECODED

static const struct dec_case dec_cases[] = {
	{ "plain_ascii_unchanged", "Hello world", "Hello world", 0 },
	{ "empty_value", "", "", 0 },
	{ "q_word", "=?UTF-8?Q?caf=C3=A9?=", "caf\xc3\xa9", D },
	{ "b_word", "=?utf-8?B?Y2Fmw6k=?=", "caf\xc3\xa9", D },
	{ "q_underscore_is_space_latin1", "=?ISO-8859-1?Q?Andr=E9_Pirard?=",
	    "Andr\xc3\xa9 Pirard", D },
	{ "text_around_word_kept", "Re: =?utf-8?q?caf=C3=A9?= ok",
	    "Re: caf\xc3\xa9 ok", D },
	/* RFC 2047 section 8 examples. */
	{ "rfc_example_single", "(=?ISO-8859-1?Q?a?=)", "(a)", D },
	{ "rfc_example_word_then_text", "(=?ISO-8859-1?Q?a?= b)", "(a b)", D },
	{ "adjacent_words_joined", "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)",
	    "(ab)", D },
	{ "adjacent_words_many_spaces_joined",
	    "(=?ISO-8859-1?Q?a?=    \t =?ISO-8859-1?Q?b?=)", "(ab)", D },
	{ "adjacent_words_across_fold_joined",
	    "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)", D },
	{ "adjacent_words_bare_lf_fold_joined",
	    "=?utf-8?q?a?=\n =?utf-8?q?b?=", "ab", D },
	{ "encoded_space_between_words", "(=?ISO-8859-1?Q?a_b?=)", "(a b)",
	    D },
	{ "adjacent_words_different_charsets",
	    "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)", D },
	{ "char_split_across_words_survives",
	    "=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=", "caf\xc3\xa9", D },
	{ "char_split_across_b_words_survives",
	    "=?utf-8?B?w6nD?= =?UTF-8?b?qQ==?=", "\xc3\xa9\xc3\xa9", D },
	{ "latin1_then_utf8", "=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=",
	    "\xc3\xa9\xc3\xa9", D },
	{ "iso_2022_jp_word", "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", D },
	{ "language_suffix_ignored", "=?utf-8*en?q?hi?=", "hi", D },
	{ "word_glued_to_text_decoded", "Re:=?utf-8?q?x?=y", "Re:xy", D },
	{ "lowercase_hex_in_q", "=?utf-8?q?=c3=a9?=", "\xc3\xa9", D },
	{ "empty_encoded_text", "a =?utf-8?q?\?= b", "a  b", D },
	{ "folding_in_plain_text_removed", "Hello\r\n world", "Hello world",
	    0 },
	{ "q_word_broken_by_fold_rejoined", "=?utf-8?Q?caf\r\n =C3=A9?=",
	    "caf\xc3\xa9", D | RFC2047_FOLDED_WORD },
	{ "b_word_broken_by_fold_rejoined", "=?utf-8?B?Y2Fm\r\n w6k=?=",
	    "caf\xc3\xa9", D | RFC2047_FOLDED_WORD },
	{ "unknown_charset_left_as_written", "=?x-no-such-cs?q?abc?= tail",
	    "=?x-no-such-cs?q?abc?= tail", RFC2047_UNKNOWN_CHARSET },
	{ "unknown_charset_run_left_with_spaces",
	    "=?x-no?q?a?= =?x-no?q?b?=", "=?x-no?q?a?= =?x-no?q?b?=",
	    RFC2047_UNKNOWN_CHARSET },
	{ "unconvertible_bytes_left_as_written", "=?utf-8?q?=FF?=",
	    "=?utf-8?q?=FF?=", RFC2047_UNKNOWN_CHARSET },
	{ "bad_encoding_letter_left_as_written", "=?utf-8?x?abc?=",
	    "=?utf-8?x?abc?=", RFC2047_MALFORMED },
	{ "unterminated_word_left_as_written", "=?utf-8?q?abc",
	    "=?utf-8?q?abc", RFC2047_MALFORMED },
	{ "empty_charset_left_as_written", "=??q?abc?=", "=??q?abc?=",
	    RFC2047_MALFORMED },
	{ "question_mark_inside_left_as_written", "=?utf-8?q?a?b?= x",
	    "=?utf-8?q?a?b?= x", RFC2047_MALFORMED },
	{ "malformed_then_good_word", "=?utf-8?q?abc =?utf-8?q?d?=",
	    "=?utf-8?q?abc d", RFC2047_MALFORMED | D },
	{ "raw_8bit_kept_and_reported", "Caf\xc3\xa9 =?utf-8?q?ok?=",
	    "Caf\xc3\xa9 ok", RFC2047_RAW_8BIT | D },
	{ "raw_latin1_kept", "Gr\xfc\xdf", "Gr\xfc\xdf", RFC2047_RAW_8BIT },
	{ "q_bad_escape_kept_literally", "=?utf-8?q?a=zz?=", "a=zz",
	    D | RFC2047_BAD_PAYLOAD },
	{ "b_missing_padding_decodes", "=?utf-8?b?Y2Fmw6k?=", "caf\xc3\xa9",
	    D | RFC2047_BAD_PAYLOAD },
	{ "space_inside_q_word_kept", "=?utf-8?q?a b?=", "a b",
	    D | RFC2047_BAD_PAYLOAD },
	{ "equals_question_alone", "a =? b", "a =? b", RFC2047_MALFORMED },
};

START_TEST(test_decode_table)
{
	const struct dec_case *c = &dec_cases[_i];
	struct buf out;
	unsigned flags = 0xdead;

	buf_init(&out);
	ck_assert_int_eq(rfc2047_decode(c->in, strlen(c->in), iconv_to_utf8,
	    &out, &flags), 0);
	ck_assert_msg(strcmp(buf_cstr(&out), c->want) == 0,
	    "%s: got \"%s\"", c->name, buf_cstr(&out));
	ck_assert_msg(flags == c->flags, "%s: flags %#x, want %#x", c->name,
	    flags, c->flags);
	ck_assert_ptr_nonnull(out.data);
	buf_fini(&out);
}
END_TEST

START_TEST(test_decode_without_converter_does_utf8_only)
{
	struct buf out;
	unsigned flags;
	const char *in = "=?utf-8?q?=C3=A9?= =?iso-8859-1?q?=E9?=";

	buf_init(&out);
	ck_assert_int_eq(rfc2047_decode(in, strlen(in), NULL, &out, &flags),
	    0);
	ck_assert_str_eq(buf_cstr(&out), "\xc3\xa9=?iso-8859-1?q?=E9?=");
	ck_assert_uint_eq(flags, D | RFC2047_UNKNOWN_CHARSET);
	buf_fini(&out);
}
END_TEST

struct enc_case {
	const char	*name;
	const char	*in;
	size_t		 name_len;
	const char	*want;
};

static const struct enc_case enc_cases[] = {
	{ "ascii_left_unencoded", "Hello world", 7, "Hello world" },
	{ "only_the_non_ascii_word_encoded_q_when_shorter",
	    "J\xc3\xbcrgen und Anna", 7, "=?UTF-8?Q?J=C3=BCrgen?= und Anna" },
	{ "b_when_shorter", "Caf\xc3\xa9 au lait", 7,
	    "=?UTF-8?B?Q2Fmw6k=?= au lait" },
	{ "adjacent_non_ascii_words_merged_with_space",
	    "Gr\xc3\xbc\xc3\x9f" "e J\xc3\xbcrgen und", 7,
	    "=?UTF-8?B?R3LDvMOfZSBKw7xyZ2Vu?= und" },
	{ "adjacent_q_words_merged_space_as_underscore",
	    "abcdefghijklm\xc3\xa9 nopqrstuvwx\xc3\xa9 x", 7,
	    "=?UTF-8?Q?abcdefghijklm=C3=A9_nopqrstuvwx=C3=A9?= x" },
	{ "leading_ascii_then_encoded", "Re: \xc3\xa9t\xc3\xa9", 7,
	    "Re: =?UTF-8?B?w6l0w6k=?=" },
	{ "cjk_uses_base64", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 7,
	    "=?UTF-8?B?5pel5pys6Kqe?=" },
	{ "looks_like_encoded_word_gets_encoded", "see =?x?q?y?=", 7,
	    "see =?UTF-8?B?PT94P3E/eT89?=" },
	{ "control_characters_encoded", "a b\tc\x01", 7,
	    "a b\t=?UTF-8?Q?c=01?=" },
	{ "empty_text", "", 7, "" },
	{ "trailing_space_kept", "x ", 7, "x " },
	{ "long_ascii_folded_at_spaces", "aaaaaaaaaa bbbbbbbbbb cccccccccc "
	    "dddddddddd eeeeeeeeee ffffffffff gggggggggg", 7,
	    "aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff"
	    "\r\n gggggggggg" },
};

START_TEST(test_encode_table)
{
	const struct enc_case *c = &enc_cases[_i];
	struct buf out;

	buf_init(&out);
	ck_assert_int_eq(rfc2047_encode(c->in, strlen(c->in), c->name_len,
	    &out), 0);
	ck_assert_msg(strcmp(buf_cstr(&out), c->want) == 0,
	    "%s: got \"%s\"", c->name, buf_cstr(&out));
	buf_fini(&out);
}
END_TEST

/* check_encoded - line lengths, word lengths, each word decodable alone */
static void
check_encoded(const char *name, const char *s, size_t first_col)
{
	const char *line = s, *end, *w, *we;
	size_t col;
	struct buf one;
	unsigned flags;

	for (;;) {
		end = strstr(line, "\r\n");
		if (end == NULL)
			end = line + strlen(line);
		col = (line == s ? first_col : 0) + (size_t)(end - line);
		/* A long header name leaves room for one short word only. */
		ck_assert_msg(col <= RFC2047_LINE_MAX || (line == s &&
		    col <= first_col + 24), "%s: line of %zu: %s", name, col, s);
		ck_assert_msg(memchr(line, '\r', (size_t)(end - line)) == NULL &&
		    memchr(line, '\n', (size_t)(end - line)) == NULL,
		    "%s: raw line break", name);
		for (w = line; (w = strstr(w, "=?")) != NULL && w < end;
		    w = we) {
			we = strstr(w + 2, "?=");
			ck_assert_ptr_nonnull(we);
			/* skip "=?UTF-8?Q?" */
			we = strstr(w + 10, "?=");
			ck_assert_ptr_nonnull(we);
			we += 2;
			ck_assert_msg(we - w <= RFC2047_WORD_MAX,
			    "%s: word of %td", name, we - w);
			/* Decodable alone: no character split across words. */
			buf_init(&one);
			ck_assert_int_eq(rfc2047_decode(w, (size_t)(we - w),
			    iconv_to_utf8, &one, &flags), 0);
			ck_assert_msg(flags == D, "%s: word %.*s alone: %#x",
			    name, (int)(we - w), w, flags);
			buf_fini(&one);
		}
		if (*end == '\0')
			break;
		ck_assert_msg(end[2] == ' ' || end[2] == '\t',
		    "%s: fold without whitespace", name);
		line = end + 2;
	}
}

static const char *const roundtrip[] = {
	"Caf\xc3\xa9",
	"Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln und viele Gr\xc3\xbc\xc3\x9f"
	    "e an die ganze Familie, bis bald im sch\xc3\xb6nen Sommer "
	    "\xc3\xa0 la plage",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5"
	    "\x90\x8d\xe3\x81\x8c\xe3\x81\xa8\xe3\x81\xa6\xe3\x82\x82\xe9\x95"
	    "\xb7\xe3\x81\x84\xe5\xa0\xb4\xe5\x90\x88\xe3\x81\xab\xe3\x81\xaf"
	    "\xe6\x8a\x98\xe3\x82\x8a\xe8\xbf\x94\xe3\x81\x95\xe3\x82\x8c\xe3"
	    "\x81\xbe\xe3\x81\x99\xe3\x80\x82\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa"
	    "\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d",
	"\xf0\x9f\x98\x80\xf0\x9f\x98\x81\xf0\x9f\x98\x82\xf0\x9f\x98\x83"
	    "\xf0\x9f\x98\x84\xf0\x9f\x98\x85\xf0\x9f\x98\x86\xf0\x9f\x98\x87"
	    "\xf0\x9f\x98\x88\xf0\x9f\x98\x89\xf0\x9f\x98\x8a\xf0\x9f\x98\x8b"
	    "\xf0\x9f\x98\x8c\xf0\x9f\x98\x8d\xf0\x9f\x98\x8e\xf0\x9f\x98\x8f"
	    "\xf0\x9f\x98\x90 ok",
	"plain ascii words that are long enough to need folding somewhere "
	    "in the middle of them, with \xc3\xa9 one accent",
	"mixed \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 and text "
	    "\xd0\xbc\xd0\xb8\xd1\x80 again",
	"  leading and trailing spaces \xc3\xa9  ",
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
};

START_TEST(test_encode_round_trips_within_line_limits)
{
	static const size_t names[] = { 0, 2, 7, 20, 40, 60 };
	struct buf enc, dec;
	unsigned flags;
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		const char *in = roundtrip[_i];

		buf_init(&enc);
		buf_init(&dec);
		ck_assert_int_eq(rfc2047_encode(in, strlen(in), names[k],
		    &enc), 0);
		check_encoded(in, buf_cstr(&enc), names[k] + 2);
		ck_assert_int_eq(rfc2047_decode(buf_cstr(&enc), enc.len,
		    iconv_to_utf8, &dec, &flags), 0);
		ck_assert_msg(strcmp(buf_cstr(&dec), in) == 0,
		    "round trip (name %zu):\n%s\n%s", names[k], in,
		    buf_cstr(&dec));
		ck_assert_uint_eq(flags & ~(unsigned)D, 0);
		buf_fini(&enc);
		buf_fini(&dec);
	}
}
END_TEST

/*
 * Text that is not UTF-8 (a surrogate, overlongs, a value past U+10FFFF,
 * stray and truncated bytes) is cut into words at valid characters only;
 * each byte that starts none goes alone. The bytes come back as they were.
 */
START_TEST(test_encode_keeps_the_bytes_of_broken_utf8)
{
	static const char in[] = "bad \xed\xa0\x80 surrogate, overlong "
	    "\xe0\x80\xaf and \xc0\xaf, past U+10FFFF \xf4\x90\x80\x80, "
	    "stray \x80\xbf, cut \xe2\x82 then \xe2\x82\xac and more "
	    "\xed\xa0\x80\xed\xa0\x80\xed\xa0\x80\xed\xa0\x80\xed\xa0\x80";
	static const size_t names[] = { 0, 2, 7, 20, 40, 60 };
	struct buf enc, dec;
	const char *w, *we;
	unsigned flags;
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		buf_init(&enc);
		buf_init(&dec);
		ck_assert_int_eq(rfc2047_encode(in, sizeof(in) - 1, names[k],
		    &enc), 0);
		for (w = buf_cstr(&enc); (w = strstr(w, "=?")) != NULL;
		    w = we + 2) {
			ck_assert_ptr_nonnull(we = strstr(w + 10, "?="));
			ck_assert_int_le(we + 2 - w, RFC2047_WORD_MAX);
		}
		ck_assert_int_eq(rfc2047_decode(buf_cstr(&enc), enc.len, NULL,
		    &dec, &flags), 0);
		ck_assert_msg(dec.len == sizeof(in) - 1 &&
		    memcmp(dec.data, in, dec.len) == 0,
		    "round trip (name %zu):\n%s", names[k], buf_cstr(&dec));
		buf_fini(&enc);
		buf_fini(&dec);
	}
}
END_TEST

START_TEST(test_encode_raw_line_breaks_are_encoded_not_emitted)
{
	struct buf enc, dec;
	const char *in = "a\xc3\xa9\r\nBcc: evil@example.org";
	unsigned flags;

	buf_init(&enc);
	buf_init(&dec);
	ck_assert_int_eq(rfc2047_encode(in, strlen(in), 7, &enc), 0);
	check_encoded(in, buf_cstr(&enc), 9);
	ck_assert_int_eq(rfc2047_decode(buf_cstr(&enc), enc.len, iconv_to_utf8,
	    &dec, &flags), 0);
	ck_assert_str_eq(buf_cstr(&dec), in);
	buf_fini(&enc);
	buf_fini(&dec);
}
END_TEST

START_TEST(test_encode_unfolds_folded_input)
{
	struct buf enc;

	buf_init(&enc);
	ck_assert_int_eq(rfc2047_encode("a\r\n b", 5, 7, &enc), 0);
	ck_assert_str_eq(buf_cstr(&enc), "a b");
	buf_fini(&enc);
}
END_TEST

START_TEST(test_encode_long_header_name_still_encodes)
{
	struct buf enc, dec;
	unsigned flags;
	const char *in = "\xc3\xa9t\xc3\xa9";

	buf_init(&enc);
	buf_init(&dec);
	ck_assert_int_eq(rfc2047_encode(in, strlen(in), 70, &enc), 0);
	ck_assert_int_eq(rfc2047_decode(buf_cstr(&enc), enc.len, iconv_to_utf8,
	    &dec, &flags), 0);
	ck_assert_str_eq(buf_cstr(&dec), in);
	buf_fini(&enc);
	buf_fini(&dec);
}
END_TEST

/* rfc2047_suite - all rfc2047 tests */
static Suite *
rfc2047_suite(void)
{
	Suite *s = suite_create("rfc2047");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_decode_table, 0,
	    sizeof(dec_cases) / sizeof(dec_cases[0]));
	tcase_add_test(tc, test_decode_without_converter_does_utf8_only);
	tcase_add_loop_test(tc, test_encode_table, 0,
	    sizeof(enc_cases) / sizeof(enc_cases[0]));
	tcase_add_loop_test(tc, test_encode_round_trips_within_line_limits, 0,
	    sizeof(roundtrip) / sizeof(roundtrip[0]));
	tcase_add_test(tc, test_encode_keeps_the_bytes_of_broken_utf8);
	tcase_add_test(tc, test_encode_raw_line_breaks_are_encoded_not_emitted);
	tcase_add_test(tc, test_encode_unfolds_folded_input);
	tcase_add_test(tc, test_encode_long_header_name_still_encodes);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(rfc2047_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
