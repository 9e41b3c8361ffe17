/*
 * check_utf8 - unit tests for common/utf8.c, the one UTF-8 check.
 *
 * A table of { name, bytes, want } cases pins the edges of RFC 3629
 * (overlongs, surrogates, U+10FFFF, truncation, stray continuation bytes)
 * for utf8_valid, utf8_char_len and the streaming check, the last fed in
 * every split of each input in two and byte by byte. Exhaustive tests hold
 * the check against an independent rule: a sequence is UTF-8 exactly when
 * it is the shortest encoding of a scalar value (every code point encoded,
 * every two- and three-byte sequence, and four-byte ones over a grid of
 * continuation bytes). utf8_valid_prefix (a range table and a wide ASCII
 * scan) is held against the earlier byte-wise form, kept here as a
 * reference, at every offset and length of adversarial text.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

struct u8_case {
	const char	*name;
	const char	*in;
	size_t		 len;
	int		 valid;		/* utf8_valid */
	size_t		 first;		/* utf8_char_len at the start */
};

#define S(x)	x, sizeof(x) - 1

static const struct u8_case cases[] = {
	{ "empty_text_is_valid_and_has_no_character", S(""), 1, 0 },
	{ "ascii_is_valid", S("plain text\r\n"), 1, 1 },
	{ "nul_byte_is_ascii", "\0a", 2, 1, 1 },
	{ "two_byte_e_acute", S("caf\xc3\xa9"), 1, 1 },
	{ "two_byte_alone", S("\xc3\xa9"), 1, 2 },
	{ "smallest_two_byte_u0080", S("\xc2\x80"), 1, 2 },
	{ "overlong_two_byte_c0_lead", S("\xc0\xaf"), 0, 0 },
	{ "overlong_two_byte_c1_lead", S("\xc1\xbf"), 0, 0 },
	{ "three_byte_euro", S("\xe2\x82\xac"), 1, 3 },
	{ "smallest_three_byte_u0800", S("\xe0\xa0\x80"), 1, 3 },
	{ "overlong_three_byte", S("\xe0\x9f\xbf"), 0, 0 },
	{ "overlong_nul_three_byte", S("\xe0\x80\x80"), 0, 0 },
	{ "last_before_surrogates_ud7ff", S("\xed\x9f\xbf"), 1, 3 },
	{ "surrogate_high_ud800", S("\xed\xa0\x80"), 0, 0 },
	{ "surrogate_low_udfff", S("\xed\xbf\xbf"), 0, 0 },
	{ "surrogate_pair_as_cesu8", S("\xed\xa0\xbd\xed\xb8\x80"), 0, 0 },
	{ "first_after_surrogates_ue000", S("\xee\x80\x80"), 1, 3 },
	{ "bom_ufeff", S("\xef\xbb\xbf"), 1, 3 },
	{ "noncharacter_uffff_is_a_scalar", S("\xef\xbf\xbf"), 1, 3 },
	{ "four_byte_emoji", S("\xf0\x9f\x98\x80"), 1, 4 },
	{ "smallest_four_byte_u10000", S("\xf0\x90\x80\x80"), 1, 4 },
	{ "overlong_four_byte", S("\xf0\x8f\xbf\xbf"), 0, 0 },
	{ "largest_u10ffff", S("\xf4\x8f\xbf\xbf"), 1, 4 },
	{ "above_u10ffff_f4_lead", S("\xf4\x90\x80\x80"), 0, 0 },
	{ "above_u10ffff_f5_lead", S("\xf5\x80\x80\x80"), 0, 0 },
	{ "five_byte_form", S("\xf8\x88\x80\x80\x80"), 0, 0 },
	{ "byte_ff", S("\xff"), 0, 0 },
	{ "byte_fe", S("\xfe"), 0, 0 },
	{ "stray_continuation", S("\x80"), 0, 0 },
	{ "continuation_after_ascii", S("a\xbf"), 0, 1 },
	{ "truncated_two_byte", S("\xc3"), 0, 0 },
	{ "truncated_three_byte", S("\xe2\x82"), 0, 0 },
	{ "truncated_four_byte", S("\xf0\x9f\x98"), 0, 0 },
	{ "lead_then_ascii", S("\xc3" "a"), 0, 0 },
	{ "three_byte_cut_by_ascii", S("\xe2\x82" "a"), 0, 0 },
	{ "latin1_word_is_not_utf8", S("Gr\xfc\xdf" "e"), 0, 1 },
	{ "windows1252_quotes_are_not_utf8", S("\x93quoted\x94"), 0, 0 },
	{ "bad_byte_after_good_text", S("\xc3\xa9\xe2\x82\xac\xff"), 0, 2 },
};

/* check_stream - the streaming check over the case in two pieces */
static int
check_stream(const char *s, size_t len, size_t cut)
{
	struct utf8_check v;

	utf8_check_init(&v);
	utf8_check_feed(&v, s, cut);
	utf8_check_feed(&v, s + cut, len - cut);
	return utf8_check_ok(&v);
}

START_TEST(test_case_table)
{
	const struct u8_case *c = &cases[_i];
	struct utf8_check v;
	size_t cut, i;

	ck_assert_msg(utf8_valid(c->in, c->len) == (c->valid != 0),
	    "%s: utf8_valid says %d", c->name, !c->valid);
	ck_assert_msg(utf8_char_len(c->in, c->len) == c->first,
	    "%s: utf8_char_len %zu, want %zu", c->name,
	    utf8_char_len(c->in, c->len), c->first);
	for (cut = 0; cut <= c->len; cut++)
		ck_assert_msg(check_stream(c->in, c->len, cut) ==
		    (c->valid != 0), "%s: stream cut at %zu says %d", c->name,
		    cut, !c->valid);
	utf8_check_init(&v);
	for (i = 0; i < c->len; i++)
		utf8_check_feed(&v, c->in + i, 1);
	ck_assert_msg(utf8_check_ok(&v) == (c->valid != 0),
	    "%s: byte by byte says %d", c->name, !c->valid);
}
END_TEST

/* encode - the shortest UTF-8 form of cp (any value below 2^21) */
static size_t
encode(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* oracle - is the n-byte sequence the shortest form of a scalar value:
 * read it by the bit patterns alone, then write the value back */
static int
oracle(const unsigned char *s, size_t n)
{
	static const unsigned char lead_mask[] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
	static const unsigned char lead_bits[] = { 0, 0x00, 0xC0, 0xE0, 0xF0 };
	unsigned char back[4];
	uint32_t cp;
	size_t i;

	if ((s[0] & ~lead_mask[n] & 0xFF) != lead_bits[n])
		return 0;
	cp = s[0] & lead_mask[n];
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return encode(cp, back) == n && memcmp(back, s, n) == 0;
}

START_TEST(test_every_code_point_encoded_is_one_character)
{
	unsigned char b[4];
	uint32_t cp;
	size_t n;

	for (cp = 0; cp <= 0x10FFFF; cp++) {
		n = encode(cp, b);
		if (cp >= 0xD800 && cp <= 0xDFFF) {
			ck_assert_msg(utf8_char_len(b, n) == 0 &&
			    !utf8_valid(b, n), "surrogate U+%04X accepted",
			    (unsigned)cp);
			continue;
		}
		/* cut one byte short, no character is left */
		if (utf8_char_len(b, n) != n || !utf8_valid(b, n) ||
		    utf8_char_len(b, n - 1) != 0)
			ck_abort_msg("U+%04X: char_len %zu of %zu", (unsigned)cp,
			    utf8_char_len(b, n), n);
	}
}
END_TEST

START_TEST(test_every_two_and_three_byte_sequence_matches_the_rule)
{
	unsigned char b[3];
	unsigned a, c, d;
	int want;

	for (a = 0x80; a < 0x100; a++) {
		for (c = 0; c < 0x100; c++) {
			b[0] = (unsigned char)a;
			b[1] = (unsigned char)c;
			want = oracle(b, 2);
			if ((utf8_char_len(b, 2) == 2) != want ||
			    utf8_valid(b, 2) != want)
				ck_abort_msg("%02X %02X: want %d", a, c, want);
			if (a < 0xE0 || a > 0xEF)
				continue;
			for (d = 0; d < 0x100; d++) {
				b[2] = (unsigned char)d;
				want = oracle(b, 3);
				if ((utf8_char_len(b, 3) == 3) != want ||
				    utf8_valid(b, 3) != want)
					ck_abort_msg("%02X %02X %02X: want %d",
					    a, c, d, want);
			}
		}
	}
}
END_TEST

START_TEST(test_four_byte_sequences_over_a_grid_match_the_rule)
{
	static const unsigned char grid[] = { 0x00, 0x41, 0x7F, 0x80, 0x8F,
	    0x90, 0x9F, 0xA0, 0xAF, 0xBF, 0xC0, 0xC2, 0xF4, 0xFF };
	const size_t ng = sizeof(grid);
	unsigned char b[4];
	unsigned a;
	size_t i, j, k;
	int want;

	for (a = 0xF0; a < 0x100; a++)
		for (i = 0; i < ng; i++)
			for (j = 0; j < ng; j++)
				for (k = 0; k < ng; k++) {
					b[0] = (unsigned char)a;
					b[1] = grid[i];
					b[2] = grid[j];
					b[3] = grid[k];
					want = oracle(b, 4);
					if ((utf8_char_len(b, 4) == 4) != want
					    || utf8_valid(b, 4) != want)
						ck_abort_msg("%02X %02X %02X "
						    "%02X: want %d", a, b[1],
						    b[2], b[3], want);
				}
}
END_TEST

START_TEST(test_char_len_never_reads_past_n)
{
	/* the bytes after n would complete the character: n is the limit */
	static const char s[] = "\xf0\x9f\x98\x80";
	size_t n;

	for (n = 0; n < 4; n++)
		ck_assert_uint_eq(utf8_char_len(s, n), 0);
	ck_assert_uint_eq(utf8_char_len(s, 4), 4);
}
END_TEST

/* the fast forms (whole characters checked at once, ASCII a word at a
 * time) against the stepper one byte at a time, over random text made of
 * ASCII runs, valid characters and the bytes that make them invalid */
START_TEST(test_fast_forms_agree_with_the_stepper)
{
	static const char *const pieces[] = {
		"abcdefghij", "x", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xed\xa0\x80", "\xc0\x80", "\xe0\x80\x80", "\xf4\x90\x80\x80",
		"\xf0\x80\x80\x80", "\x80", "\xe2\x82", "\xff", "\xf5",
	};
	unsigned char in[200];
	uint32_t seed = 99;
	size_t len, k, i, pre, n, cut;
	struct utf8_check one, chunks;
	unsigned round;

	for (round = 0; round < 20000; round++) {
		len = 0;
		seed = seed * 1103515245u + 12345u;
		for (k = (seed >> 16) % 24; k > 0; k--) {
			const char *p;

			seed = seed * 1103515245u + 12345u;
			p = pieces[(seed >> 16) % (sizeof(pieces) /
			    sizeof(pieces[0]))];
			if (len + strlen(p) > sizeof(in))
				break;
			memcpy(in + len, p, strlen(p));
			len += strlen(p);
		}
		/* the stepper, a byte at a time */
		utf8_check_init(&one);
		for (i = 0; i < len; i++)
			utf8_check_feed(&one, in + i, 1);
		/* the fast form, in two chunks cut where the seed says */
		cut = len > 0 ? (seed >> 8) % (len + 1) : 0;
		utf8_check_init(&chunks);
		utf8_check_feed(&chunks, in, cut);
		utf8_check_feed(&chunks, in + cut, len - cut);
		ck_assert_int_eq(utf8_check_ok(&one), utf8_check_ok(&chunks));
		ck_assert_int_eq(utf8_valid(in, len), utf8_check_ok(&one));
		/* the valid prefix: whole characters by utf8_char_len */
		for (pre = 0; pre < len; pre += n)
			if ((n = utf8_char_len(in + pre, len - pre)) == 0)
				break;
		ck_assert_uint_eq(utf8_valid_prefix(in, len), pre);
	}
}
END_TEST

/*
 * ref_valid_prefix - the byte-wise utf8_valid_prefix this code had before
 * the range table and the wide ASCII scan, kept here only as the reference
 * the new one must agree with at every offset and length.
 */
static size_t
ref_one(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], b;

	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || ((b = s[1]) & 0xC0) != 0x80 ||
		    (s[2] & 0xC0) != 0x80 || (c == 0xE0 && b < 0xA0) ||
		    (c == 0xED && b >= 0xA0))
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || ((b = s[1]) & 0xC0) != 0x80 ||
		    (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80 ||
		    (c == 0xF0 && b < 0x90) || (c == 0xF4 && b >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

static size_t
ref_valid_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		while (i < n && s[i] < 0x80)
			i++;
		if (i == n || (k = ref_one(s + i, n - i)) == 0)
			break;
		i += k;
	}
	return i;
}

/* rnd - a small generator, so a failure replays */
static uint32_t
rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* fill_adversarial - text made of ASCII runs of every length around the
 * wide scan's 16 and 32, valid characters of every length at the edges
 * of their ranges, the bytes just outside those ranges, and random bytes */
static size_t
fill_adversarial(unsigned char *in, size_t cap, uint32_t *seed)
{
	static const char *const pieces[] = {
		"\xc2\x80", "\xdf\xbf", "\xc3\xa9", "\xe0\xa0\x80",
		"\xe0\xbf\xbf", "\xe1\x80\x80", "\xec\xbf\xbf", "\xed\x80\x80",
		"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
		"\xf0\x90\x80\x80", "\xf0\xbf\xbf\xbf", "\xf1\x80\x80\x80",
		"\xf3\xbf\xbf\xbf", "\xf4\x80\x80\x80", "\xf4\x8f\xbf\xbf",
		/* refused: overlong, surrogate, too big, stray, cut short */
		"\xc0\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xed\xa0\x80",
		"\xed\xbf\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xff", "\xfe", "\x80", "\xbf", "\xc3",
		"\xe2\x82", "\xf0\x9f\x98", "\xc3\xc3", "\xe2\x82\xc0",
		"\xf0\x9f\x98\x7f", " ", "\xc3\xa9 ",
	};
	const size_t np = sizeof(pieces) / sizeof(pieces[0]);
	size_t len = 0, k, r;

	while (len < cap) {
		r = rnd(seed) % 8;
		if (r < 3) {
			/* an ASCII run; lengths near 15, 16, 31, 32 are
			 * where the wide scan changes step */
			k = rnd(seed) % 40;
			while (k-- > 0 && len < cap)
				in[len++] = (unsigned char)(0x20 + rnd(seed) % 95);
		} else if (r < 7) {
			const char *p = pieces[rnd(seed) % np];

			for (k = 0; p[k] != '\0' && len < cap; k++)
				in[len++] = (unsigned char)p[k];
		} else
			in[len++] = (unsigned char)rnd(seed);
	}
	return len;
}

/* the range table and wide ASCII scan against the reference at every
 * offset and every length of adversarial text, each slice copied into a
 * buffer of exactly its size (ASan then sees any read past n) */
START_TEST(test_valid_prefix_agrees_with_the_reference)
{
	unsigned char in[120], *slice;
	uint32_t seed = 12;
	size_t len, off, n, got, want;
	unsigned round;

	for (round = 0; round < 60; round++) {
		len = fill_adversarial(in, sizeof(in), &seed);
		for (off = 0; off < len; off++)
			for (n = 0; off + n <= len; n++) {
				slice = malloc(n > 0 ? n : 1);
				ck_assert_ptr_nonnull(slice);
				memcpy(slice, in + off, n);
				got = utf8_valid_prefix(slice, n);
				want = ref_valid_prefix(slice, n);
				free(slice);
				if (got != want)
					ck_abort_msg("round %u off %zu len %zu:"
					    " %zu, reference %zu", round, off,
					    n, got, want);
			}
	}
}
END_TEST

/* one piece (valid or not) at every position of a long ASCII text, so it
 * falls in each lane of the 16- and 32-byte scans and in the tail */
START_TEST(test_valid_prefix_finds_a_piece_at_every_position)
{
	static const char *const pieces[] = {
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\xa0\x80",
		"\xe0\x9f\xbf", "\xf4\x90\x80\x80", "\x80", "\xff", "\xc3",
		"\xf0\x9f\x98",
	};
	unsigned char in[100];
	size_t p, at, k, n;

	for (p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++)
		for (at = 0; at < 96; at++)
			for (n = at; n <= sizeof(in); n++) {
				memset(in, 'a', sizeof(in));
				k = strlen(pieces[p]);
				if (at + k > sizeof(in))
					continue;
				memcpy(in + at, pieces[p], k);
				ck_assert_msg(utf8_valid_prefix(in, n) ==
				    ref_valid_prefix(in, n), "piece %zu at %zu"
				    " len %zu: %zu, reference %zu", p, at, n,
				    utf8_valid_prefix(in, n),
				    ref_valid_prefix(in, n));
			}
}
END_TEST

/* every two- and three-byte sequence, and four-byte ones over a grid,
 * inside 80 bytes of ASCII (long enough for the 16-byte blocks) at a
 * position that moves through the lanes, against the reference */
START_TEST(test_valid_prefix_every_short_sequence_in_a_block)
{
	static const unsigned char grid[] = { 0x00, 0x41, 0x7F, 0x80, 0x8F,
	    0x90, 0x9F, 0xA0, 0xAF, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4,
	    0xFF };
	const size_t ng = sizeof(grid);
	unsigned char in[80];
	unsigned a, c, d, e, at;
	size_t got, want;

	for (a = 0x80; a < 0x100; a++)
		for (c = 0; c < 0x100; c++)
			for (d = 0; d < (a >= 0xF0 ? ng : a >= 0xE0 ?
			    0x100u : 1u); d++)
				for (e = 0; e < (a >= 0xF0 ? ng : 1u); e++) {
					at = (a + c + d + e) % 77;
					memset(in, 'a', sizeof(in));
					in[at] = (unsigned char)a;
					in[at + 1] = (unsigned char)c;
					if (a >= 0xE0)
						in[at + 2] = a >= 0xF0 ?
						    grid[d] : (unsigned char)d;
					if (a >= 0xF0)
						in[at + 3] = grid[e];
					got = utf8_valid_prefix(in, sizeof(in));
					want = ref_valid_prefix(in, sizeof(in));
					if (got != want)
						ck_abort_msg("%02X %02X at %u: %zu, "
						    "reference %zu", a, c, at, got,
						    want);
				}
}
END_TEST

/* the streaming check over adversarial text cut in every pair of places
 * (three chunks) agrees with the stepper fed a byte at a time */
START_TEST(test_stream_every_chunk_split_agrees_with_the_stepper)
{
	unsigned char in[48];
	uint32_t seed = 7;
	struct utf8_check one, v;
	size_t len, a, b, i;
	unsigned round;

	for (round = 0; round < 300; round++) {
		len = fill_adversarial(in, 8 + rnd(&seed) % 40, &seed);
		utf8_check_init(&one);
		for (i = 0; i < len; i++)
			utf8_check_feed(&one, in + i, 1);
		for (a = 0; a <= len; a++)
			for (b = a; b <= len; b++) {
				utf8_check_init(&v);
				utf8_check_feed(&v, in, a);
				utf8_check_feed(&v, in + a, b - a);
				utf8_check_feed(&v, in + b, len - b);
				if (utf8_check_ok(&v) != utf8_check_ok(&one))
					ck_abort_msg("round %u cuts %zu %zu: "
					    "%d, stepper %d", round, a, b,
					    utf8_check_ok(&v),
					    utf8_check_ok(&one));
			}
		ck_assert_int_eq(utf8_valid(in, len), utf8_check_ok(&one));
	}
}
END_TEST

START_TEST(test_stream_stays_invalid_after_a_bad_byte)
{
	struct utf8_check v;

	utf8_check_init(&v);
	utf8_check_feed(&v, "\xff", 1);
	utf8_check_feed(&v, "plain ascii", 11);
	ck_assert(!utf8_check_ok(&v));
	utf8_check_init(&v);
	ck_assert(utf8_check_ok(&v));
}
END_TEST

/* utf8_suite - all utf8 tests */
static Suite *
utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_case_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_every_code_point_encoded_is_one_character);
	tcase_add_test(tc,
	    test_every_two_and_three_byte_sequence_matches_the_rule);
	tcase_add_test(tc, test_four_byte_sequences_over_a_grid_match_the_rule);
	tcase_add_test(tc, test_char_len_never_reads_past_n);
	tcase_add_test(tc, test_stream_stays_invalid_after_a_bad_byte);
	tcase_add_test(tc, test_fast_forms_agree_with_the_stepper);
	tcase_add_test(tc, test_valid_prefix_agrees_with_the_reference);
	tcase_add_test(tc, test_valid_prefix_finds_a_piece_at_every_position);
	tcase_add_test(tc, test_valid_prefix_every_short_sequence_in_a_block);
	tcase_add_test(tc, test_stream_every_chunk_split_agrees_with_the_stepper);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(utf8_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
