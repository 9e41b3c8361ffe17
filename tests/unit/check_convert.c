/*
 * check_convert - unit tests for the streaming iconv converter
 * (common/convert.c), decoders found through the label table
 * (common/charset.c).
 *
 * Every decode case runs whole, one byte at a time, and split into two and
 * three chunks at every offset: the output, the error count and the offset
 * of the first error must not depend on where the chunks end. Test bytes
 * were made with the iconv CLI (glibc 2.36).
 */
#include <check.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "charset.h"
#include "convert.h"

#define FFFD "\xEF\xBF\xBD"

struct dec_case {
	const char *name;
	const char *label;	/* a label as found in mail */
	const char *in;
	size_t	 inlen;
	const char *want;	/* UTF-8 */
	size_t	 errors;
	uint64_t first_error;	/* CONVERT_NO_ERROR when errors == 0 */
};

#define IN(s)	s, sizeof(s) - 1
#define CLEAN	0, CONVERT_NO_ERROR

static const struct dec_case dec_cases[] = {
	{ "iso_2022_jp_kanji_and_kana", "iso-2022-jp",
	    IN("\x1b$BF|K\\8l$N%F%-%9%H\x1b(B"),
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86"
	    "\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88", CLEAN },
	{ "iso_2022_jp_halfwidth_katakana_escape_is_decoded_by_jp2",
	    "ISO-2022-JP", IN("a\x1b(I\x31\x1b(Bb"), "a\xef\xbd\xb1" "b",
	    CLEAN },
	{ "shift_jis_label_keeps_backslash_and_reads_nec_rows",
	    "shift_jis", IN("\x87\x40\x81\x60" "C:\\path"),
	    "\xe2\x91\xa0\xef\xbd\x9e" "C:\\path", CLEAN },
	{ "x_sjis_label_is_cp932", "x-sjis", IN("\x82\xa0\x5c\x7e"),
	    "\xe3\x81\x82\\~", CLEAN },
	{ "ks_c_5601_1987_reads_uhc_syllables", "ks_c_5601-1987",
	    IN("\xc7\xd1\xb1\xb9\xbe\xee \x8c\x63"),
	    "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xeb\x98\xa0", CLEAN },
	{ "euc_kr_label_reads_uhc_syllables", "euc-kr", IN("\x8c\x63"),
	    "\xeb\x98\xa0", CLEAN },
	{ "gb2312_label_reads_gbk_only_characters", "gb2312",
	    IN("\xd6\xd0\xce\xc4\x86\xb4\xe9\x46"),
	    "\xe4\xb8\xad\xe6\x96\x87\xe5\x96\x86\xe9\x95\x95", CLEAN },
	{ "gbk_0x80_is_euro", "gbk", IN("\x80"), "\xe2\x82\xac", CLEAN },
	{ "gb18030_four_byte_sequence", "gb18030",
	    IN("a\x81\x30\x81\x30" "b\x95\x32\x82\x36"),
	    "a\xc2\x80" "b\xf0\xa0\x80\x80", CLEAN },
	{ "big5_label_reads_hkscs", "big5", IN("\x88\x40\xa4\x40"),
	    "\xe3\x87\x80\xe4\xb8\x80", CLEAN },
	{ "windows_1252_smart_quotes", "windows-1252",
	    IN("\x93quoted\x94 \x80 \x85"),
	    "\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x82\xac \xe2\x80\xa6",
	    CLEAN },
	{ "windows_1252_undefined_bytes_pass_as_c1", "windows-1252",
	    IN("\x81\x8d\x8f\x90\x9d"),
	    "\xc2\x81\xc2\x8d\xc2\x8f\xc2\x90\xc2\x9d", CLEAN },
	{ "x_cp1250_undefined_byte_passes_as_c1", "x-cp1250",
	    IN("\x81\x8a"), "\xc2\x81\xc5\xa0", CLEAN },
	{ "utf_7_rfc2152_examples", "unicode-1-1-utf-7",
	    IN("Hi Mom -+Jjo--! A+ImIDkQ. +-"),
	    "Hi Mom -\xe2\x98\xba-! A\xe2\x89\xa2\xce\x91. +", CLEAN },
	{ "utf_7_unterminated_run_at_end", "utf-7", IN("a+AGE"), "aa",
	    CLEAN },
	{ "koi8_r", "koi8-r", IN("\xf0\xd2\xc9\xd7\xc5\xd4"),
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", CLEAN },
	{ "windows_1251", "windows-1251", IN("\xcf\xf0\xe8\xe2\xe5\xf2"),
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", CLEAN },
	{ "iso_8859_8_i_is_iso_8859_8", "iso-8859-8-i",
	    IN("\xf9\xec\xe5\xed"), "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",
	    CLEAN },
	{ "tis_620_label_reads_cp874", "tis-620", IN("\x85\xa1"),
	    "\xe2\x80\xa6\xe0\xb8\x81", CLEAN },
	{ "euc_jp", "x-euc-jp", IN("\xc6\xfc\xcb\xdc"),
	    "\xe6\x97\xa5\xe6\x9c\xac", CLEAN },
	{ "utf_8_four_byte", "utf-8", IN("x\xf0\x9f\x98\x80y\xc3\xa9"),
	    "x\xf0\x9f\x98\x80y\xc3\xa9", CLEAN },
	/* bad bytes mid-stream: replaced, counted, decoding resumes */
	{ "utf_8_bad_byte_mid_stream", "utf-8", IN("ab\xff" "cd"),
	    "ab" FFFD "cd", 1, 2 },
	{ "utf_8_overlong_and_surrogate", "utf-8",
	    IN("a\xc0\xaf" "b\xed\xa0\x80" "c"),
	    "a" FFFD FFFD "b" FFFD FFFD FFFD "c", 5, 1 },
	{ "cp932_bad_lead_byte_then_kana", "shift_jis",
	    IN("\x82\xa0\xff\x82\xa2"), "\xe3\x81\x82" FFFD "\xe3\x81\x84",
	    1, 2 },
	{ "gbk_bad_trail_byte_is_reread_as_ascii", "gbk", IN("\x81 abc"),
	    FFFD " abc", 1, 0 },
	{ "iso_2022_jp_raw_8bit_byte", "iso-2022-jp", IN("a\xe9" "b"),
	    "a" FFFD "b", 1, 1 },
	{ "latin1_never_fails", "iso-8859-1", IN("caf\xe9\x93"),
	    "caf\xc3\xa9\xc2\x93", CLEAN },
	{ "us_ascii_declared_decoder_rejects_8bit", "us-ascii",
	    IN("a\xe9" "b"), "a" FFFD "b", 1, 1 },
	/* end of input inside a character: one error */
	{ "utf_8_incomplete_at_end", "utf-8", IN("ab\xe2\x82"), "ab" FFFD, 1,
	    2 },
	{ "gb18030_incomplete_at_end", "gb18030", IN("a\x81\x30\x81"),
	    "a" FFFD, 1, 1 },
	{ "cp949_lead_byte_at_end", "cp949", IN("a\xb1"), "a" FFFD, 1, 1 },
	/* UTF-7: glibc takes unfinished base64 into its state, and a lone
	 * low surrogate makes it back up to just after the last character
	 * put out; the result must not depend on where chunks end */
	{ "utf_7_lone_low_surrogate_is_a_bad_shift", "utf-7", IN("+3fk"),
	    FFFD "3fk", 1, 0 },
	{ "utf_7_lone_low_surrogate_after_text", "utf-7", IN("a+3fk-b"),
	    "a" FFFD "3fk-b", 1, 1 },
	{ "utf_7_lone_low_surrogate_backs_up_to_the_last_character", "utf-7",
	    IN("ab+AGEAYgBj3fk"), "ababc" FFFD, 1, 11 },
	{ "utf_7_lone_low_surrogate_after_a_closed_run", "utf-7",
	    IN("+AGE-+3fk"), "a" FFFD "\xe3\xbb\x9d" FFFD, 2, 4 },
	{ "utf_7_surrogate_pair", "utf-7", IN("x+2D3eAA-y"),
	    "x\xf0\x9f\x98\x80y", CLEAN },
	{ "utf_7_high_surrogate_cut_short_at_the_end", "utf-7", IN("+2D3"),
	    FFFD, 1, 0 },
	{ "utf_7_run_cut_short_at_the_end", "utf-7", IN("x+AG"), "x" FFFD,
	    1, 1 },
	{ "utf_7_unfinished_bits_at_the_end", "utf-7", IN("+AGEA"), "a" FFFD,
	    1, 4 },
	{ "utf_7_bad_end_of_run_counted_once", "utf-7", IN("+2D3-"), FFFD, 1,
	    4 },
	{ "utf_7_shift_at_the_end", "utf-7", IN("a+"), "a" FFFD, 1, 1 },
	{ "utf_7_imap_lone_low_surrogate", "utf-7-imap", IN("&3fk-x"),
	    FFFD "3fk-x", 1, 0 },
	{ "utf_7_imap_run_must_end_with_a_dash", "utf-7-imap", IN("a&AGE."),
	    "aa" FFFD, 1, 5 },
	{ "iso_2022_jp_bad_byte_inside_kanji", "iso-2022-jp",
	    IN("\x1b$BF|\x80K\\\x1b(B"), "\xe6\x97\xa5" FFFD "\xe6\x9c\xac",
	    1, 5 },
	{ "iso_2022_jp_half_a_kanji_at_the_end", "iso-2022-jp",
	    IN("a\x1b$BF|K"), "a\xe6\x97\xa5" FFFD, 1, 6 },
	/* fuzz finding: glibc's UHC decoder consumes the unmapped pair
	 * A2 E8 before it reports it; the byte after it was skipped, and
	 * only when both were in one chunk */
	{ "cp949_unmapped_pair_keeps_the_byte_after_it", "ks_c_5601-1987",
	    IN("\xa2\xe8'x\xa2\xe8"), FFFD "'x" FFFD, 2, 2 },
	{ "shift_jis_bad_byte_and_lead_byte_at_end", "shift_jis",
	    IN("\x82\xa0\x82\xa2\xff\x82"),
	    "\xe3\x81\x82\xe3\x81\x84" FFFD FFFD, 2, 4 },
};

#define NDEC (sizeof(dec_cases) / sizeof(dec_cases[0]))

/* decoder_for - open the decoder the table gives for a label */
static struct convert *
decoder_for(const char *label, enum convert_mode mode)
{
	struct charset_info ci;
	struct convert *c;

	ck_assert_msg(charset_lookup(label, strlen(label), &ci) !=
	    CHARSET_UNKNOWN, "label %s", label);
	c = convert_decoder_new(ci.decoder, mode);
	ck_assert_msg(c != NULL, "decoder %s", ci.decoder);
	return c;
}

/* run_chunks - decode in with chunk ends at cut[0..ncut) */
static void
run_chunks(const struct dec_case *tc, const size_t *cut, size_t ncut,
    const char *how)
{
	struct convert *c = decoder_for(tc->label, CONVERT_REPLACE);
	struct buf out;
	size_t start = 0, i, end;

	buf_init(&out);
	for (i = 0; i <= ncut; i++) {
		end = i < ncut ? cut[i] : tc->inlen;
		ck_assert_int_eq(convert_feed(c, tc->in + start, end - start,
		    &out), CONVERT_OK);
		start = end;
	}
	ck_assert_int_eq(convert_finish(c, &out), CONVERT_OK);
	ck_assert_msg(out.len == strlen(tc->want) &&
	    memcmp(buf_cstr(&out), tc->want, out.len) == 0,
	    "%s (%s): got \"%s\"", tc->name, how, buf_cstr(&out));
	ck_assert_msg(convert_errors(c) == tc->errors, "%s (%s): %zu errors",
	    tc->name, how, convert_errors(c));
	ck_assert_msg(convert_first_error(c) == tc->first_error,
	    "%s (%s): first error", tc->name, how);
	convert_free(c);
	buf_fini(&out);
}

START_TEST(decodes_each_charset_family_whole)
{
	run_chunks(&dec_cases[_i], NULL, 0, "whole");
}
END_TEST

START_TEST(decodes_the_same_one_byte_at_a_time)
{
	const struct dec_case *tc = &dec_cases[_i];
	size_t cut[64], i;

	ck_assert_uint_lt(tc->inlen, 64);
	for (i = 1; i < tc->inlen; i++)
		cut[i - 1] = i;
	run_chunks(tc, cut, tc->inlen > 0 ? tc->inlen - 1 : 0, "bytewise");
}
END_TEST

START_TEST(decodes_the_same_at_every_two_and_three_way_split)
{
	const struct dec_case *tc = &dec_cases[_i];
	size_t cut[2], i, j;

	for (i = 0; i <= tc->inlen; i++) {
		cut[0] = i;
		run_chunks(tc, cut, 1, "two");
		for (j = i; j <= tc->inlen; j++) {
			cut[1] = j;
			run_chunks(tc, cut, 2, "three");
		}
	}
}
END_TEST

START_TEST(empty_chunks_change_nothing)
{
	struct convert *c = decoder_for("iso-2022-jp", CONVERT_REPLACE);
	struct buf out;

	buf_init(&out);
	ck_assert_int_eq(convert_feed(c, "", 0, &out), CONVERT_OK);
	ck_assert_int_eq(convert_feed(c, "\x1b$", 2, &out), CONVERT_OK);
	ck_assert_int_eq(convert_feed(c, "", 0, &out), CONVERT_OK);
	ck_assert_int_eq(convert_feed(c, "BF|", 3, &out), CONVERT_OK);
	ck_assert_int_eq(convert_feed(c, "", 0, &out), CONVERT_OK);
	ck_assert_int_eq(convert_feed(c, "K\\\x1b(B", 5, &out), CONVERT_OK);
	ck_assert_int_eq(convert_finish(c, &out), CONVERT_OK);
	ck_assert_str_eq(buf_cstr(&out), "\xe6\x97\xa5\xe6\x9c\xac");
	ck_assert_uint_eq(convert_errors(c), 0);
	convert_free(c);
	buf_fini(&out);
}
END_TEST

START_TEST(latin1_label_with_smart_quotes_decodes_as_windows_1252)
{
	static const char in[] = "\x93Hello\x94 \x96 caf\xe9";
	struct charset_info ci;
	struct buf out;
	size_t errors;

	buf_init(&out);
	charset_lookup("iso-8859-1", 10, &ci);
	ck_assert_int_eq(convert_decode_all(charset_decoder_for(&ci, in,
	    sizeof(in) - 1), CONVERT_REPLACE, in, sizeof(in) - 1, &out,
	    &errors), CONVERT_OK);
	ck_assert_str_eq(buf_cstr(&out),
	    "\xe2\x80\x9cHello\xe2\x80\x9d \xe2\x80\x93 caf\xc3\xa9");
	ck_assert_uint_eq(errors, 0);
	buf_fini(&out);
}
END_TEST

START_TEST(strict_mode_stops_at_the_first_bad_byte)
{
	struct convert *c = decoder_for("utf-8", CONVERT_STRICT);
	struct buf out;

	buf_init(&out);
	ck_assert_int_eq(convert_feed(c, "ok ", 3, &out), CONVERT_OK);
	ck_assert_int_eq(convert_feed(c, "ab\xff" "cd", 5, &out),
	    CONVERT_EBADINPUT);
	ck_assert_uint_eq(convert_errors(c), 1);
	ck_assert_uint_eq(convert_first_error(c), 5);
	/* sticky until reset */
	ck_assert_int_eq(convert_feed(c, "more", 4, &out), CONVERT_EBADINPUT);
	ck_assert_int_eq(convert_finish(c, &out), CONVERT_EBADINPUT);
	convert_reset(c);
	buf_reset(&out);
	ck_assert_uint_eq(convert_errors(c), 0);
	ck_assert_uint_eq(convert_first_error(c), CONVERT_NO_ERROR);
	ck_assert_int_eq(convert_feed(c, "fine\xc3", 5, &out), CONVERT_OK);
	ck_assert_int_eq(convert_feed(c, "\xa9", 1, &out), CONVERT_OK);
	ck_assert_int_eq(convert_finish(c, &out), CONVERT_OK);
	ck_assert_str_eq(buf_cstr(&out), "fine\xc3\xa9");
	convert_free(c);
	buf_fini(&out);
}
END_TEST

START_TEST(strict_mode_reports_an_incomplete_end)
{
	struct buf out;
	size_t errors;

	buf_init(&out);
	ck_assert_int_eq(convert_decode_all("CP949", CONVERT_STRICT, "a\xb1",
	    2, &out, &errors), CONVERT_EBADINPUT);
	ck_assert_uint_eq(errors, 1);
	buf_reset(&out);
	ck_assert_int_eq(convert_decode_all("WINDOWS-1252", CONVERT_STRICT,
	    "\x81\x9d", 2, &out, &errors), CONVERT_OK);
	ck_assert_uint_eq(errors, 0);
	buf_fini(&out);
}
END_TEST

START_TEST(a_long_stream_in_odd_chunks_decodes_completely)
{
	static const char unit[] = "\x1b$BF|K\\8l\x1b(B abc ";
	static const char want[] = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e abc ";
	struct convert *c = decoder_for("iso-2022-jp", CONVERT_REPLACE);
	struct buf in, out;
	size_t i, pos, n;

	buf_init(&in);
	buf_init(&out);
	for (i = 0; i < 20000; i++)
		ck_assert_int_eq(buf_append(&in, unit, sizeof(unit) - 1), 0);
	for (pos = 0, n = 1; pos < in.len; pos += n, n = n % 97 + 7) {
		if (n > in.len - pos)
			n = in.len - pos;
		ck_assert_int_eq(convert_feed(c, in.data + pos, n, &out),
		    CONVERT_OK);
	}
	ck_assert_int_eq(convert_finish(c, &out), CONVERT_OK);
	ck_assert_uint_eq(out.len, 20000 * (sizeof(want) - 1));
	for (i = 0; i < 20000; i++)
		ck_assert(memcmp(out.data + i * (sizeof(want) - 1), want,
		    sizeof(want) - 1) == 0);
	ck_assert_uint_eq(convert_errors(c), 0);
	convert_free(c);
	buf_fini(&in);
	buf_fini(&out);
}
END_TEST

START_TEST(a_run_of_bad_bytes_never_grows_the_tail)
{
	struct convert *c = decoder_for("gb18030", CONVERT_REPLACE);
	struct buf out;
	size_t i;

	/* 0x81 0x30 0x81 repeated: every lead starts a 4-byte sequence
	 * that the next lead breaks */
	buf_init(&out);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(convert_feed(c, "\x81\x30\x81", 3, &out),
		    CONVERT_OK);
	ck_assert_int_eq(convert_finish(c, &out), CONVERT_OK);
	ck_assert_uint_gt(convert_errors(c), 0);
	ck_assert_uint_eq(convert_first_error(c), 0);
	convert_free(c);
	buf_fini(&out);
}
END_TEST

START_TEST(a_bad_byte_iconv_already_consumed_is_counted_not_skipped)
{
	/* fuzz regression: glibc ISO-2022-CN-EXT consumes a final SO and
	 * then reports EILSEQ; skipping one more byte read past the input
	 * (exact-size copies so that ASan sees it) */
	char *in = malloc(3), *so = malloc(1), *ff = malloc(1);
	struct convert *c;
	struct buf out;
	size_t errors;

	ck_assert(in != NULL && so != NULL && ff != NULL);
	memcpy(in, "\x0c\x0c\x0e", 3);
	so[0] = '\x0e';
	ff[0] = '\x0c';
	buf_init(&out);
	ck_assert_int_eq(convert_decode_all("ISO-2022-CN-EXT",
	    CONVERT_REPLACE, in, 3, &out, &errors), CONVERT_OK);
	ck_assert_uint_eq(errors, 1);
	ck_assert_str_eq(buf_cstr(&out), "\x0c\x0c" FFFD);
	buf_reset(&out);
	ck_assert_ptr_nonnull(c = convert_decoder_new("ISO-2022-CN-EXT",
	    CONVERT_REPLACE));
	ck_assert_int_eq(convert_feed(c, so, 1, &out), CONVERT_OK);
	ck_assert_int_eq(convert_feed(c, ff, 1, &out), CONVERT_OK);
	ck_assert_int_eq(convert_finish(c, &out), CONVERT_OK);
	ck_assert_uint_ge(convert_errors(c), 1);
	convert_free(c);
	buf_fini(&out);
	free(in);
	free(so);
	free(ff);
}
END_TEST

/* Inputs whose chunked decoding is compared with the whole-buffer decode
 * (convert_decode_all): stateful and multibyte charsets, each with a
 * character, escape or base64 run that a chunk end can split, and bad
 * bytes. */
struct split_case {
	const char *decoder;	/* iconv name */
	const char *in;
	size_t	 inlen;
};

static const struct split_case split_cases[] = {
	{ "UTF-7", IN("Hi Mom -+Jjo--! A+ImIDkQ. +-") },
	{ "UTF-7", IN("+3fk") },
	{ "UTF-7", IN("a+3fk-b+AGEAYgBj3fk x+2D3eAA-y+AGE-+3fk") },
	{ "UTF-7", IN("+2D3-+2D3\x80" "AA+AG.+AGEA\\+") },
	{ "UTF-7", IN("+ZeVnLIqe-, +ZeVnLIqe.\r\n+AKM-1 +AAAAAAAA-") },
	{ "UTF-7-IMAP", IN("&Jjo-&3fk-x&AGE.&2D3eAA-") },
	{ "ISO-2022-JP", IN("a\x1b$BF|K\\8l\x1b(Bb\x1b$BF|\x80K\\\x1b(B") },
	{ "ISO-2022-JP", IN("\x1b$B\x1b(B\x1b$BF\x1b(Bx\x1b$") },
	{ "UTF-8", IN("x\xf0\x9f\x98\x80y\xc3\xa9\xe2\x82\xac\xe2\x82"
	    "\xff\xc0\xaf\xed\xa0\x80z") },
	{ "CP932", IN("\x82\xa0\x82\xa2\x87\x40\xff\x82\x82\xa0\x81") },
	{ "SHIFT_JIS", IN("\x82\xa0\x5c\x7e\x82\x82\xa2\x80\xa0") },
	{ "GB18030", IN("a\x81\x30\x81\x30" "b\x81\x30\x81\x81\x30") },
	{ "EUC-JP", IN("\xc6\xfc\xcb\xdc\x8e\xb1\x8f\xb0\xa1\xc6") },
	{ "CP949", IN("a\xa2\xe8'b\xa2\xe8\xff\xb1\xa2\xe8\xb0\xa1\xa2\xe8") },
	{ "WINDOWS-1252", IN("a\x81\x9d\x80\x8d" "b\x90") },
};

#define NSPLIT (sizeof(split_cases) / sizeof(split_cases[0]))

/* decode_pieces - decode in with chunk ends at cut[0..ncut); r: result */
static enum convert_result
decode_pieces(const char *decoder, enum convert_mode mode, const char *in,
    size_t inlen, const size_t *cut, size_t ncut, struct buf *out,
    size_t *errors, uint64_t *first)
{
	struct convert *c = convert_decoder_new(decoder, mode);
	enum convert_result r = CONVERT_OK;
	size_t start = 0, i, end;

	ck_assert_msg(c != NULL, "decoder %s", decoder);
	for (i = 0; i <= ncut && r == CONVERT_OK; i++) {
		end = i < ncut ? cut[i] : inlen;
		r = convert_feed(c, in + start, end - start, out);
		start = end;
	}
	if (r == CONVERT_OK)
		r = convert_finish(c, out);
	*errors = convert_errors(c);
	*first = convert_first_error(c);
	convert_free(c);
	return r;
}

/* The one-piece decode that chunked decodes are compared with. */
struct whole_decode {
	const char *decoder;
	enum convert_mode mode;
	const char *in;
	size_t	 inlen;
	enum convert_result r;
	struct buf out;
	size_t	 errors;
	uint64_t first;
};

/* same_as_whole - decoding with chunk ends at cut[] gives what w gave */
static void
same_as_whole(const struct whole_decode *w, const size_t *cut, size_t ncut)
{
	struct buf out;
	enum convert_result r;
	size_t errors;
	uint64_t first;

	buf_init(&out);
	r = decode_pieces(w->decoder, w->mode, w->in, w->inlen, cut, ncut,
	    &out, &errors, &first);
	ck_assert_msg(r == w->r && errors == w->errors && first == w->first,
	    "%s mode %d, %zu cuts from %zu: result %d/%d, errors %zu/%zu",
	    w->decoder, w->mode, ncut, ncut > 0 ? cut[0] : 0, r, w->r, errors,
	    w->errors);
	ck_assert_msg(r != CONVERT_OK || (out.len == w->out.len &&
	    memcmp(out.data, w->out.data, out.len) == 0),
	    "%s mode %d, %zu cuts from %zu: \"%s\", not \"%s\"", w->decoder,
	    w->mode, ncut, ncut > 0 ? cut[0] : 0, buf_cstr(&out),
	    buf_cstr(&w->out));
	buf_fini(&out);
}

/* check_splits - every two-way split, every three-way split (when asked)
 * and the bytewise feed give what one piece gives, in both modes */
static void
check_splits(const char *decoder, const char *in, size_t inlen, int three)
{
	struct whole_decode w;
	struct buf tmp;
	size_t i, j, errors, cut[64];
	int m;

	ck_assert_uint_lt(inlen, 64);
	for (m = CONVERT_REPLACE; m <= CONVERT_STRICT; m++) {
		w.decoder = decoder;
		w.mode = m;
		w.in = in;
		w.inlen = inlen;
		buf_init(&w.out);
		w.r = convert_decode_all(decoder, w.mode, in, inlen, &w.out,
		    &w.errors);
		/* the same through feed and finish, for first_error */
		buf_init(&tmp);
		ck_assert_int_eq(decode_pieces(decoder, w.mode, in, inlen,
		    NULL, 0, &tmp, &errors, &w.first), w.r);
		ck_assert_uint_eq(errors, w.errors);
		buf_fini(&tmp);
		for (i = 0; i <= inlen; i++) {
			cut[0] = i;
			same_as_whole(&w, cut, 1);
			for (j = i; three && j <= inlen; j++) {
				cut[1] = j;
				same_as_whole(&w, cut, 2);
			}
		}
		for (i = 1; i < inlen; i++)
			cut[i - 1] = i;
		same_as_whole(&w, cut, inlen > 0 ? inlen - 1 : 0);
		buf_fini(&w.out);
	}
}

START_TEST(every_split_decodes_as_the_whole_buffer)
{
	check_splits(split_cases[_i].decoder, split_cases[_i].in,
	    split_cases[_i].inlen, 1);
}
END_TEST

/* every byte before a run that glibc backs up over ("+3fk" is a bad '+'
 * in one call, a bad 'k' when cut before it): the mirror must know which
 * bytes glibc passes as themselves, or chunk ends change the result */
START_TEST(utf_7_every_byte_before_a_run_decodes_the_same_at_every_split)
{
	char in[8];
	unsigned b;

	for (b = 1; b < 256; b++) {
		in[0] = 'a';
		in[1] = (char)b;
		memcpy(in + 2, "+3fk", 4);
		check_splits("UTF-7", in, 6, 0);
		in[2] = '&';
		check_splits("UTF-7-IMAP", in, 6, 0);
	}
}
END_TEST

START_TEST(generated_utf_7_decodes_the_same_at_every_split)
{
	/* bytes that matter to glibc's UTF-7 decoder: shifts, base64
	 * digits that make high and low surrogates, ends of runs, bytes
	 * it refuses */
	static const char alpha[] = "+-&,/AGEgz3fk2D9.\\ \x80";
	static const char *const decoders[] = { "UTF-7", "UTF-7-IMAP" };
	char in[16];
	uint32_t seed = 12345;
	size_t n, len, k;

	for (n = 0; n < 3000; n++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % 12 + 1;
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			in[k] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		check_splits(decoders[n % 2], in, len, 0);
	}
}
END_TEST

/*
 * The fast paths against iconv alone (convert_decoder_new_iconv): the same
 * output, result, error count and first error offset, over random input
 * fed in random chunks. Inputs are drawn from pieces that matter: ASCII
 * runs, valid characters of every length, and what glibc and the RFC 3629
 * check judge differently or find hard (surrogates, overlongs, values
 * above U+10FFFF, 5- and 6-byte forms glibc passes, stray continuation
 * bytes, cut characters, random bytes).
 */
struct fast_piece {
	const char *b;
	size_t	 n;
};

#define P(s)	{ s, sizeof(s) - 1 }
static const struct fast_piece u8_pieces[] = {
	P("a"), P("plain ascii text "), P("\r\n"), P("\xc3\xa9"),
	P("\xe2\x82\xac"), P("\xf0\x9f\x98\x80"), P("\xef\xbf\xbd"),
	P("\xed\xa0\x80"), P("\xed\x9f\xbf"), P("\xc0\x80"), P("\xc1\xbf"),
	P("\xe0\x80\x80"), P("\xe0\xa0\x80"), P("\xf0\x80\x80\x80"),
	P("\xf4\x8f\xbf\xbf"), P("\xf4\x90\x80\x80"), P("\xf5\x80\x80\x80"),
	P("\xf8\x88\x80\x80\x80"), P("\xfc\x84\x80\x80\x80\x80"), P("\x80"),
	P("\xbf"), P("\xe2\x82"), P("\xf0\x9f\x98"), P("\xc3"), P("\xfe"),
	P("\xff"),
};
#undef P

/* fast_input - random input from pieces, plus random bytes */
static size_t
fast_input(unsigned char *in, size_t cap, const struct fast_piece *pc,
    size_t npc, uint32_t *seed)
{
	size_t len = 0, k;

	*seed = *seed * 1103515245u + 12345u;
	k = (*seed >> 16) % 40 + 1;
	while (k-- > 0) {
		const struct fast_piece *p;

		*seed = *seed * 1103515245u + 12345u;
		if ((*seed >> 16) % 9 == 0) {
			if (len < cap)
				in[len++] = (unsigned char)(*seed >> 8);
			continue;
		}
		p = &pc[(*seed >> 16) % npc];
		if (len + p->n > cap)
			break;
		memcpy(in + len, p->b, p->n);
		len += p->n;
	}
	return len;
}

/* fast_decode - feed a decoder in the chunks a seed picks */
static enum convert_result
fast_decode(struct convert *c, const unsigned char *in, size_t len,
    uint32_t seed, struct buf *out)
{
	enum convert_result r = CONVERT_OK;
	size_t off = 0, n;

	while (off < len && r == CONVERT_OK) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 3 == 0 ? len - off : (seed >> 16) % 7 + 1;
		if (n > len - off)
			n = len - off;
		r = convert_feed(c, in + off, n, out);
		off += n;
	}
	if (r == CONVERT_OK)
		r = convert_finish(c, out);
	return r;
}

/* same_as_iconv - one input through the fast decoder, in chunks the seed
 * picks, and through iconv alone, whole (it is chunk-proof already): the
 * same result, output, error count and first error, in both modes */
static void
same_as_iconv(const char *name, const unsigned char *in, size_t len,
    uint32_t seed, unsigned round)
{
	struct convert *fast, *slow;
	struct buf a, b;
	enum convert_result ra, rb;
	int m;

	for (m = CONVERT_REPLACE; m <= CONVERT_STRICT; m++) {
		fast = convert_decoder_new(name, (enum convert_mode)m);
		slow = convert_decoder_new_iconv(name, (enum convert_mode)m);
		ck_assert_ptr_nonnull(fast);
		ck_assert_ptr_nonnull(slow);
		buf_init(&a);
		buf_init(&b);
		ra = fast_decode(fast, in, len, seed, &a);
		rb = convert_feed(slow, in, len, &b);
		if (rb == CONVERT_OK)
			rb = convert_finish(slow, &b);
		ck_assert_msg(ra == rb, "%s round %u mode %d: result %d, "
		    "iconv alone %d", name, round, m, ra, rb);
		ck_assert_msg(a.len == b.len && (a.len == 0 ||
		    memcmp(a.data, b.data, a.len) == 0),
		    "%s round %u mode %d: output differs", name, round, m);
		ck_assert_uint_eq(convert_errors(fast), convert_errors(slow));
		ck_assert_uint_eq(convert_first_error(fast),
		    convert_first_error(slow));
		buf_fini(&a);
		buf_fini(&b);
		convert_free(fast);
		convert_free(slow);
	}
}

/* fast_equals_iconv - one decoder name, many random inputs, both modes */
static void
fast_equals_iconv(const char *name, const struct fast_piece *pc, size_t npc,
    unsigned rounds)
{
	unsigned char in[400];
	uint32_t seed = 4242;
	size_t len;
	unsigned n;

	for (n = 0; n < rounds; n++) {
		len = fast_input(in, sizeof(in), pc, npc, &seed);
		same_as_iconv(name, in, len, seed, n);
	}
}

START_TEST(utf8_fast_path_decodes_as_iconv_alone)
{
	fast_equals_iconv("UTF-8", u8_pieces,
	    sizeof(u8_pieces) / sizeof(u8_pieces[0]), 4000);
}
END_TEST

/* single-byte charsets: high bytes drawn often, ASCII between them */
static const struct fast_piece sb_pieces[] = {
	{ "text ", 5 }, { "\r\n", 2 }, { "\x80", 1 }, { "\x81", 1 },
	{ "\x8d", 1 }, { "\x90", 1 }, { "\x9f", 1 }, { "\xa0", 1 },
	{ "\xa4", 1 }, { "\xc0\xe4", 2 }, { "\xd2", 1 }, { "\xe0\xc8", 2 },
	{ "\xe9", 1 }, { "\xf9", 1 }, { "\xfe\xff", 2 }, { "\x00", 1 },
	{ "\x1b", 1 }, { "+~", 2 },
};

/* what has a table (single-byte, independent bytes) and what not (CP1255
 * and WINDOWS-1258 combine characters; the rest are not single-byte):
 * every one decodes as iconv alone */
static const char *const sb_names[] = {
	"KOI8-R", "WINDOWS-1252", "WINDOWS-1251", "CP1250", "ISO-8859-1",
	"ISO-8859-8", "ISO-8859-6", "ISO-8859-7", "ISO-8859-15", "ASCII",
	"KOI8-RU", "CP874", "WINDOWS-1255", "CP1255", "WINDOWS-1258",
	"WINDOWS-1254", "CP932", "GBK", "ISO-2022-JP-2", "UTF-7",
};

START_TEST(single_byte_tables_decode_as_iconv_alone)
{
	fast_equals_iconv(sb_names[_i], sb_pieces,
	    sizeof(sb_pieces) / sizeof(sb_pieces[0]), 600);
}
END_TEST

/* single-byte charsets: ASCII runs longer than a block of the bulk copy
 * (16 bytes), ending at every offset, between high bytes */
static const struct fast_piece sb_ascii_pieces[] = {
	{ "0123456789abcdef", 16 }, { "0123456789abcdefg", 17 },
	{ "a fairly long run of plain ASCII text.", 38 },
	{ "0123456789abcdef0123456789abcde", 31 },
	{ "0123456789abcdef0123456789abcdef", 32 },
	{ "line\r\n", 6 }, { " ", 1 }, { "x", 1 },
	{ "\x80", 1 }, { "\x81", 1 }, { "\x9f", 1 }, { "\xa0", 1 },
	{ "\xc0\xe4", 2 }, { "\xe9", 1 }, { "\xff", 1 }, { "\x00", 1 },
};

static const char *const sb_ascii_names[] = {
	"KOI8-R", "WINDOWS-1252", "ISO-8859-1", "ASCII", "CP437", "ISO-8859-7",
};

START_TEST(single_byte_ascii_runs_decode_as_iconv_alone)
{
	fast_equals_iconv(sb_ascii_names[_i], sb_ascii_pieces,
	    sizeof(sb_ascii_pieces) / sizeof(sb_ascii_pieces[0]), 1000);
}
END_TEST

/*
 * Which charsets get a table: a byte whose character depends on the bytes
 * around it must keep a charset on iconv. The reference is what the tables
 * were first built with: every pair of bytes glibc takes, in one call,
 * gives the two characters of the bytes read alone. A table here (seen as
 * convert_same_but_c1 of a decoder with itself) iff that holds.
 */
static int
pairs_read_alone(const char *name)
{
	iconv_t cd = iconv_open("UTF-8", name);
	static unsigned char all[2 * 256 * 256];
	static char expect[2 * 256 * 256 * 3], got[2 * 256 * 256 * 3 + 64];
	unsigned char len[256], ch[256][8];
	size_t i, j, n = 0, ne = 0, il, ol;
	char *ip, *op;

	ck_assert(cd != (iconv_t)-1);
	for (i = 0; i < 256; i++) {
		unsigned char b = (unsigned char)i;

		ip = (char *)&b;
		il = 1;
		op = (char *)ch[i];
		ol = sizeof(ch[i]);
		iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
		    iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
			len[i] = 0;	/* refused (or a lead byte) */
		else
			len[i] = (unsigned char)(sizeof(ch[i]) - ol);
	}
	for (i = 0; i < 256; i++)
		for (j = 0; j < 256; j++) {
			if (len[i] == 0 || len[j] == 0)
				continue;
			all[n++] = (unsigned char)i;
			all[n++] = (unsigned char)j;
			memcpy(expect + ne, ch[i], len[i]);
			ne += len[i];
			memcpy(expect + ne, ch[j], len[j]);
			ne += len[j];
		}
	ip = (char *)all;
	il = n;
	op = got;
	ol = sizeof(got);
	iconv(cd, NULL, NULL, NULL, NULL);
	i = iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0 &&
	    iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1 &&
	    (size_t)(op - got) == ne && memcmp(got, expect, ne) == 0;
	iconv_close(cd);
	return (int)i;
}

static const char *const table_names[] = {
	"CP1255", "WINDOWS-1255", "MS-HEBR", "CP1258", "WINDOWS-1258", "TCVN",
	"TCVN5712-1", "KOI8-R", "KOI8-U", "WINDOWS-1252", "ISO-8859-1",
	"ISO-8859-8", "CP1254", "CP874", "ASCII", "CP437", "MACINTOSH",
	"ARMSCII-8", "GEORGIAN-PS", "VISCII", "CP1256",
};

START_TEST(single_byte_tables_only_where_bytes_read_alone)
{
	struct convert *c = convert_decoder_new(table_names[_i],
	    CONVERT_REPLACE);

	ck_assert_ptr_nonnull(c);
	ck_assert_msg(convert_same_but_c1(c, c) ==
	    pairs_read_alone(table_names[_i]), "%s", table_names[_i]);
	convert_free(c);
}
END_TEST

START_TEST(unknown_charsets_are_refused)
{
	errno = 0;
	ck_assert_ptr_null(convert_decoder_new("x-no-such-charset",
	    CONVERT_REPLACE));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(convert_decoder_new("UTF-8//IGNORE",
	    CONVERT_REPLACE));
	ck_assert_ptr_null(convert_decoder_new("", CONVERT_REPLACE));
	ck_assert_ptr_null(convert_encoder_new("ISO-8859-1//TRANSLIT"));
	convert_free(NULL);
}
END_TEST

struct enc_case {
	const char *name;
	const char *label;	/* output charset as configured */
	const char *in;		/* UTF-8 */
	const char *want;	/* NULL when the result is not CONVERT_OK */
	size_t	 wantlen;
	enum convert_result result;
};

#define OUT(s)	s, sizeof(s) - 1, CONVERT_OK
#define FAILS(r) NULL, 0, r

static const struct enc_case enc_cases[] = {
	{ "iso_2022_jp_shifts_back_at_the_end", "iso-2022-jp",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	    OUT("\x1b$BF|K\\8l\x1b(B") },
	{ "iso_2022_jp_cannot_hold_circled_one", "iso-2022-jp",
	    "a\xe2\x91\xa0", FAILS(CONVERT_EUNMAPPABLE) },
	{ "shift_jis_holds_nec_rows_and_fullwidth_tilde", "shift_jis",
	    "\xe2\x91\xa0\xef\xbd\x9e\\", OUT("\x87\x40\x81\x60\\") },
	{ "shift_jis_refuses_yen_best_fit", "shift_jis", "100\xc2\xa5",
	    FAILS(CONVERT_EUNMAPPABLE) },
	{ "shift_jis_refuses_overline_best_fit", "shift_jis",
	    "\xe2\x80\xbe", FAILS(CONVERT_EUNMAPPABLE) },
	{ "euc_kr_is_strict_about_uhc_syllables", "ks_c_5601-1987",
	    "\xeb\x98\xa0", FAILS(CONVERT_EUNMAPPABLE) },
	{ "euc_kr_holds_ks_x_1001", "euc-kr", "\xed\x95\x9c",
	    OUT("\xc7\xd1") },
	{ "latin1_cannot_hold_smart_quotes", "iso-8859-1",
	    "\xe2\x80\x9cx\xe2\x80\x9d", FAILS(CONVERT_EUNMAPPABLE) },
	{ "windows_1252_holds_smart_quotes", "windows-1252",
	    "\xe2\x80\x9cx\xe2\x80\x9d", OUT("\x93x\x94") },
	{ "us_ascii_cannot_hold_e_acute", "us-ascii", "caf\xc3\xa9",
	    FAILS(CONVERT_EUNMAPPABLE) },
	{ "gb2312_cannot_hold_gbk_only", "gb2312", "\xe5\x96\x86",
	    FAILS(CONVERT_EUNMAPPABLE) },
	{ "gbk_holds_gbk_only", "gbk", "\xe5\x96\x86", OUT("\x86\xb4") },
	{ "koi8_r", "koi8-r", "\xd0\x9f\xd1\x80", OUT("\xf0\xd2") },
	{ "utf_7_shifts_back_at_the_end", "utf-7", "A\xe2\x89\xa2",
	    OUT("A+ImI-") },
	{ "invalid_utf8_input_is_bad_input", "iso-8859-1", "a\xff" "b",
	    FAILS(CONVERT_EBADINPUT) },
	{ "incomplete_utf8_at_end_is_bad_input", "windows-1252",
	    "a\xe2\x80", FAILS(CONVERT_EBADINPUT) },
	{ "broken_sequence_before_yen_is_bad_input", "shift_jis",
	    "a\xe2\xc2\xa5", FAILS(CONVERT_EBADINPUT) },
};

#define NENC (sizeof(enc_cases) / sizeof(enc_cases[0]))

/* encode_chunks - encode with chunk ends at every multiple of step */
static void
encode_chunks(const struct enc_case *tc, size_t step)
{
	const char *encoder = charset_encoder(tc->label);
	size_t len = strlen(tc->in), pos, n;
	enum convert_result r = CONVERT_OK;
	struct convert *c;
	struct buf out;

	ck_assert_ptr_nonnull(encoder);
	ck_assert_ptr_nonnull(c = convert_encoder_new(encoder));
	buf_init(&out);
	for (pos = 0; pos < len && r == CONVERT_OK; pos += n) {
		n = len - pos < step ? len - pos : step;
		r = convert_feed(c, tc->in + pos, n, &out);
	}
	if (r == CONVERT_OK)
		r = convert_finish(c, &out);
	ck_assert_msg(r == tc->result, "%s step %zu: %s", tc->name, step,
	    convert_strerror(r));
	if (tc->want != NULL)
		ck_assert_msg(out.len == tc->wantlen &&
		    memcmp(out.data, tc->want, out.len) == 0,
		    "%s step %zu: got \"%s\"", tc->name, step, buf_cstr(&out));
	else
		/* the failure is sticky */
		ck_assert_int_eq(convert_feed(c, "a", 1, &out), tc->result);
	convert_free(c);
	buf_fini(&out);
}

START_TEST(encodes_or_reports_what_the_target_cannot_hold)
{
	size_t step;

	for (step = 1; step <= strlen(enc_cases[_i].in); step++)
		encode_chunks(&enc_cases[_i], step);
}
END_TEST

START_TEST(round_trip_through_every_family)
{
	static const char text[] = "Gr\xc3\xbc\xc3\x9f" "e";
	static const char *const labels[] = { "utf-8", "windows-1252",
	    "iso-8859-15", "utf-7", "iso-8859-2", "utf-16" };
	struct buf enc, dec;
	size_t i, errors;

	buf_init(&enc);
	buf_init(&dec);
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		struct charset_info ci;

		buf_reset(&enc);
		buf_reset(&dec);
		charset_lookup(labels[i], strlen(labels[i]), &ci);
		ck_assert_int_eq(convert_encode_all(ci.encoder, text,
		    sizeof(text) - 1, &enc), CONVERT_OK);
		ck_assert_int_eq(convert_decode_all(ci.decoder,
		    CONVERT_STRICT, enc.data, enc.len, &dec, &errors),
		    CONVERT_OK);
		ck_assert_msg(strcmp(buf_cstr(&dec), text) == 0, "%s",
		    labels[i]);
	}
	buf_fini(&enc);
	buf_fini(&dec);
}
END_TEST

START_TEST(result_texts_exist)
{
	ck_assert_str_eq(convert_strerror(CONVERT_OK), "ok");
	ck_assert_ptr_nonnull(convert_strerror(CONVERT_ESYS));
	ck_assert_ptr_nonnull(convert_strerror(CONVERT_EBADINPUT));
	ck_assert_ptr_nonnull(convert_strerror(CONVERT_EUNMAPPABLE));
}
END_TEST

/* convert_suite - all converter tests */
/* convert_same_but_c1: two single-byte tables alike outside 0x80-0x9F
 * (what lets repair start the windows reading at the first C1 byte) */
static const struct {
	const char *a, *b;
	int same;
} same_c1[] = {
	{ "ISO-8859-1", "WINDOWS-1252", 1 },
	{ "WINDOWS-1252", "ISO-8859-1", 1 },
	{ "ISO-8859-9", "WINDOWS-1254", 1 },
	{ "ISO-8859-1", "ISO-8859-1", 1 },
	{ "ISO-8859-7", "WINDOWS-1253", 0 },	/* 0xA1, 0xA2 differ */
	{ "ISO-8859-1", "ISO-8859-15", 0 },	/* 0xA4 the euro */
	{ "KOI8-R", "WINDOWS-1251", 0 },
	{ "ISO-8859-1", "UTF-8", 0 },		/* no table */
	{ "GBK", "GB18030", 0 },
};

START_TEST(same_but_c1_tells_single_byte_tables_apart)
{
	struct convert *a = convert_decoder_new(same_c1[_i].a, CONVERT_REPLACE);
	struct convert *b = convert_decoder_new(same_c1[_i].b, CONVERT_REPLACE);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_msg(convert_same_but_c1(a, b) == same_c1[_i].same,
	    "%s %s", same_c1[_i].a, same_c1[_i].b);
	convert_free(a);
	convert_free(b);
}
END_TEST

/*
 * UTF-7 decoded here (convert_u7_fast) against glibc alone: pieces that
 * are plainly well-formed runs and every way a run is not (odd or non-zero
 * leftover bits, lone and paired surrogates, "+-", a run that the input
 * ends, bytes glibc refuses), then random texts made of runs of random
 * UTF-16 units, mostly well-formed.
 */
#define P(s)	{ s, sizeof(s) - 1 }
static const struct fast_piece u7_pieces[] = {
	P("+AOk-"), P("+AOk."), P("+AOkA6QDp-"), P("+ZeVnLIqeMMYwrTC5MMg-"),
	P("+ZeVnLIqeMMYwrTC5MMg"), P("+2D3eAA-"), P("+2D3eAA"),
	P("+2D3eANg93gA-"), P("+AAA-"), P("+//7/"), P("+AGEA-"), P("+AGF-"),
	P("+AGE"), P("+3fk-"), P("+3fk"), P("+2D3-"), P("+2D0AYQ-"), P("+-"),
	P("+"), P("-"), P("text "), P("\r\n"), P("."), P("~"), P("\\"),
	P("\x80"), P("+."), P("A"), P("+AGEAYgBj"), P("+IKw "), P("+ACE\\"),
};
#undef P

/* u7_text - random UTF-7: direct text, "+-", and base64 runs of random
 * units, mostly well-formed, ended by '-', a direct byte or nothing */
static size_t
u7_text(unsigned char *in, size_t cap, uint32_t *seed)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char direct[] = "ab Z09.,-:?!()\r\n\t'\"=";
	static const char other[] = "\\~\x80\xff\x1b";
	size_t len = 0, seg, k, units;
	uint32_t acc, unit, r;
	unsigned nbits;

#define RND()	(*seed = *seed * 1103515245u + 12345u, *seed >> 16)
	seg = RND() % 12 + 1;
	while (seg-- > 0 && len + 64 < cap) {
		r = RND() % 10;
		if (r < 3) {
			for (k = RND() % 6 + 1; k > 0; k--)
				in[len++] = (unsigned char)
				    direct[RND() % (sizeof(direct) - 1)];
			continue;
		}
		if (r == 3) {
			in[len++] = '+';
			in[len++] = '-';
			continue;
		}
		if (r == 4 && RND() % 3 == 0) {
			in[len++] = (unsigned char)
			    other[RND() % (sizeof(other) - 1)];
			continue;
		}
		in[len++] = '+';
		acc = 0;
		nbits = 0;
		for (units = RND() % 8 + 1; units > 0 && len + 8 < cap;
		    units--) {
			r = RND() % 40;
			if (r == 0)
				unit = 0xDC00 + RND() % 0x400;	/* lone low */
			else if (r == 1)
				unit = 0xD800 + RND() % 0x400;	/* lone high */
			else if (r < 8) {
				/* a pair: the high half now, the low next */
				unit = 0xD800 + RND() % 0x400;
				acc = acc << 16 | unit;
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					in[len++] = (unsigned char)
					    b64[acc >> nbits & 63];
				}
				unit = 0xDC00 + RND() % 0x400;
			} else if (r < 20)
				unit = RND() % 0x100;
			else {
				unit = RND() << 1;
				unit = (unit ^ RND()) & 0xFFFF;
			}
			if (r >= 8 && unit >= 0xD800 && unit < 0xE000)
				unit = 0x4E00 + unit % 0x100;
			acc = acc << 16 | unit;
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				in[len++] = (unsigned char)b64[acc >> nbits & 63];
			}
			acc &= (UINT32_C(1) << nbits) - 1;
		}
		if (nbits > 0) {
			/* the last digit: zero padding, or now and then
			 * bits glibc refuses */
			r = RND() % 12;
			acc = acc << (6 - nbits);
			if (r == 0)
				acc |= 1;
			in[len++] = (unsigned char)b64[acc & 63];
			if (r == 1)
				in[len++] = 'A';	/* 6 more bits */
		}
		r = RND() % 6;
		if (r < 3)
			in[len++] = '-';
		else if (r < 5)
			in[len++] = (unsigned char)
			    direct[RND() % (sizeof(direct) - 1)];
	}
#undef RND
	return len;
}

START_TEST(utf_7_fast_path_decodes_pieces_as_iconv_alone)
{
	fast_equals_iconv("UTF-7", u7_pieces,
	    sizeof(u7_pieces) / sizeof(u7_pieces[0]), 4000);
}
END_TEST

START_TEST(utf_7_fast_path_decodes_random_runs_as_iconv_alone)
{
	unsigned char in[400];
	uint32_t seed = 777;
	unsigned n;
	size_t len;

	for (n = 0; n < 6000; n++) {
		len = u7_text(in, sizeof(in), &seed);
		same_as_iconv("UTF-7", in, len, seed, n);
	}
}
END_TEST

/*
 * Double-byte tables (CP932, CP949, GBK, BIG5-HKSCS) against iconv alone:
 * pairs of every lead byte with trails valid and not (bytes below 0x40,
 * 0x7F, 0xFF), bytes that are no lead, BIG5-HKSCS's pairs of two
 * characters, ASCII runs longer than a block, all in random chunks, so a
 * lead byte often ends a chunk; both modes.
 */

static const struct fast_piece db_fixed[] = {
	{ "0123456789abcdef0123", 20 }, { "a fairly long run of plain ASCII.",
	33 }, { "\r\n", 2 }, { " ", 1 }, { "\x80", 1 }, { "\xa0", 1 },
	{ "\xa5", 1 }, { "\xdf", 1 }, { "\xfd", 1 }, { "\xff", 1 },
	{ "\x5c", 1 }, { "\x7e", 1 }, { "\x00", 1 }, { "\x81", 1 },
	{ "\xe0", 1 }, { "\x88\x62", 2 }, { "\x88\x64", 2 },
	{ "\x88\xa3", 2 }, { "\x88\xa5", 2 }, { "\x88\x66", 2 },
	{ "\x88\xa7", 2 }, { "\xcc\x84", 2 },
};

static unsigned char db_store[600 * 2];
static struct fast_piece db_pieces[600 + sizeof(db_fixed) /
    sizeof(db_fixed[0])];
static size_t db_npieces;

/* db_make_pieces - fixed pieces, then pairs: 3 in 4 with a trail from
 * 0x40-0xFE, the rest with any trail */
static void
db_make_pieces(void)
{
	uint32_t seed = 77;
	size_t i;

	db_npieces = 0;
	for (i = 0; i < sizeof(db_fixed) / sizeof(db_fixed[0]); i++)
		db_pieces[db_npieces++] = db_fixed[i];
	for (i = 0; i < 600; i++) {
		seed = seed * 1103515245u + 12345u;
		db_store[2 * i] = (unsigned char)(0x81 + (seed >> 16) % 0x7E);
		seed = seed * 1103515245u + 12345u;
		db_store[2 * i + 1] = (seed >> 16) % 4 != 0 ?
		    (unsigned char)(0x40 + (seed >> 8) % 0xBF) :
		    (unsigned char)(seed >> 8);
		db_pieces[db_npieces].b = (const char *)&db_store[2 * i];
		db_pieces[db_npieces++].n = 2;
	}
}

static const char *const db_names[] = {
	"CP932", "CP949", "GBK", "BIG5-HKSCS",
};

START_TEST(double_byte_tables_decode_as_iconv_alone)
{
	struct convert *c = convert_decoder_new(db_names[_i],
	    CONVERT_REPLACE);

	/* the table is there: this tests it, not iconv against itself */
	ck_assert_ptr_nonnull(c);
	ck_assert_msg(convert_double_byte(c), "%s", db_names[_i]);
	convert_free(c);
	db_make_pieces();
	fast_equals_iconv(db_names[_i], db_pieces, db_npieces, 3000);
}
END_TEST

/* a table only for the charsets known to read at most a pair a character
 * without state: GB18030 (4-byte forms), EUC-JP (3) and ISO-2022-JP
 * (shifts) stay with iconv */
static const struct {
	const char *name;
	int table;
} db_which[] = {
	{ "CP932", 1 }, { "WINDOWS-31J", 1 }, { "CP949", 1 }, { "UHC", 1 },
	{ "GBK", 1 }, { "GB18030", 0 }, { "EUC-JP", 0 }, { "BIG5-HKSCS", 1 },
	{ "ISO-2022-JP", 0 }, { "SJIS", 0 }, { "UTF-8", 0 }, { "KOI8-R", 0 },
};

START_TEST(double_byte_tables_only_for_pair_charsets)
{
	struct convert *c = convert_decoder_new(db_which[_i].name,
	    CONVERT_REPLACE);

	ck_assert_ptr_nonnull(c);
	ck_assert_msg(convert_double_byte(c) == db_which[_i].table, "%s",
	    db_which[_i].name);
	convert_free(c);
}
END_TEST

static Suite *
convert_suite(void)
{
	Suite *s = suite_create("convert");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, decodes_each_charset_family_whole, 0,
	    (int)NDEC);
	tcase_add_loop_test(tc, decodes_the_same_one_byte_at_a_time, 0,
	    (int)NDEC);
	tcase_add_loop_test(tc,
	    decodes_the_same_at_every_two_and_three_way_split, 0, (int)NDEC);
	tcase_add_test(tc, empty_chunks_change_nothing);
	tcase_add_test(tc,
	    latin1_label_with_smart_quotes_decodes_as_windows_1252);
	tcase_add_test(tc, strict_mode_stops_at_the_first_bad_byte);
	tcase_add_test(tc, strict_mode_reports_an_incomplete_end);
	tcase_add_test(tc, a_long_stream_in_odd_chunks_decodes_completely);
	tcase_add_test(tc, a_run_of_bad_bytes_never_grows_the_tail);
	tcase_add_test(tc,
	    a_bad_byte_iconv_already_consumed_is_counted_not_skipped);
	tcase_add_loop_test(tc, every_split_decodes_as_the_whole_buffer, 0,
	    (int)NSPLIT);
	tcase_add_test(tc, generated_utf_7_decodes_the_same_at_every_split);
	tcase_add_test(tc, utf8_fast_path_decodes_as_iconv_alone);
	tcase_add_loop_test(tc, single_byte_tables_decode_as_iconv_alone, 0,
	    (int)(sizeof(sb_names) / sizeof(sb_names[0])));
	tcase_add_test(tc, unknown_charsets_are_refused);
	tcase_add_loop_test(tc, encodes_or_reports_what_the_target_cannot_hold,
	    0, (int)NENC);
	tcase_add_test(tc, round_trip_through_every_family);
	tcase_add_test(tc, result_texts_exist);
	tcase_add_test(tc,
	    utf_7_every_byte_before_a_run_decodes_the_same_at_every_split);
	tcase_add_loop_test(tc, single_byte_tables_only_where_bytes_read_alone,
	    0, (int)(sizeof(table_names) / sizeof(table_names[0])));
	tcase_add_loop_test(tc, single_byte_ascii_runs_decode_as_iconv_alone, 0,
	    (int)(sizeof(sb_ascii_names) / sizeof(sb_ascii_names[0])));
	tcase_add_loop_test(tc, same_but_c1_tells_single_byte_tables_apart, 0,
	    (int)(sizeof(same_c1) / sizeof(same_c1[0])));
	tcase_add_test(tc, utf_7_fast_path_decodes_pieces_as_iconv_alone);
	tcase_add_test(tc, utf_7_fast_path_decodes_random_runs_as_iconv_alone);
	tcase_add_loop_test(tc, double_byte_tables_decode_as_iconv_alone, 0,
	    (int)(sizeof(db_names) / sizeof(db_names[0])));
	tcase_add_loop_test(tc, double_byte_tables_only_for_pair_charsets, 0,
	    (int)(sizeof(db_which) / sizeof(db_which[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(convert_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
