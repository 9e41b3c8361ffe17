/*
 * check_codec - unit tests of common/codec.c (tolerant base64 and QP).
 *
 * Tables of { name, input, want, defects }; every decode case is also fed
 * in every two-chunk split and byte by byte, and must give the same result.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define S(x)	x, sizeof(x) - 1

struct dec_case {
	const char	*name;
	enum codec_cte	 cte;
	const char	*in;
	size_t		 inlen;
	const char	*want;
	size_t		 wantlen;
	unsigned	 defects;
};

static const struct dec_case dec_cases[] = {
	{ "b64_plain", CODEC_CTE_BASE64, S("SGVsbG8="), S("Hello"), 0 },
	{ "b64_empty", CODEC_CTE_BASE64, S(""), S(""), 0 },
	{ "b64_line_breaks_and_spaces_are_ignored", CODEC_CTE_BASE64,
	    S("SGVs\r\n bG8g\td29y\nbGQ=\r\n"), S("Hello world"), 0 },
	{ "b64_missing_padding_still_decodes", CODEC_CTE_BASE64,
	    S("SGVsbG8"), S("Hello"), CODEC_DEFECT_B64_PADDING },
	{ "b64_one_pad_after_three_chars", CODEC_CTE_BASE64,
	    S("SGk="), S("Hi"), 0 },
	{ "b64_one_pad_of_two_is_a_defect", CODEC_CTE_BASE64,
	    S("SA="), S("H"), CODEC_DEFECT_B64_PADDING },
	{ "b64_garbage_is_skipped", CODEC_CTE_BASE64,
	    S("SG*Vs!bG8="), S("Hello"), CODEC_DEFECT_B64_GARBAGE },
	{ "b64_data_after_padding_is_decoded", CODEC_CTE_BASE64,
	    S("SGk=SGk="), S("HiHi"), CODEC_DEFECT_B64_AFTER_PAD },
	{ "b64_lone_sextet_at_end_is_dropped", CODEC_CTE_BASE64,
	    S("QUJDR"), S("ABC"), CODEC_DEFECT_B64_TRUNCATED },
	{ "b64_stray_padding", CODEC_CTE_BASE64,
	    S("=QUJD"), S("ABC"), CODEC_DEFECT_B64_PADDING },
	{ "b64_binary_bytes", CODEC_CTE_BASE64,
	    S("AP8AgA=="), S("\x00\xff\x00\x80"), 0 },
	{ "qp_plain_text", CODEC_CTE_QP, S("Hello"), S("Hello"), 0 },
	{ "qp_escapes", CODEC_CTE_QP, S("caf=C3=A9"), S("caf\xc3\xa9"), 0 },
	{ "qp_soft_break_crlf", CODEC_CTE_QP, S("abc=\r\ndef"), S("abcdef"),
	    0 },
	{ "qp_soft_break_bare_lf", CODEC_CTE_QP, S("abc=\ndef"), S("abcdef"),
	    0 },
	{ "qp_soft_break_with_trailing_spaces", CODEC_CTE_QP,
	    S("abc= \t \r\ndef"), S("abcdef"), 0 },
	{ "qp_lowercase_hex_decodes", CODEC_CTE_QP, S("=c3=a9"),
	    S("\xc3\xa9"), CODEC_DEFECT_QP_LOWER_HEX },
	{ "qp_equals_without_hex_is_literal", CODEC_CTE_QP, S("a=zz b"),
	    S("a=zz b"), CODEC_DEFECT_QP_BAD_ESCAPE },
	{ "qp_equals_one_hex_then_text_is_literal", CODEC_CTE_QP, S("=4x"),
	    S("=4x"), CODEC_DEFECT_QP_BAD_ESCAPE },
	{ "qp_equals_one_hex_at_end_is_literal", CODEC_CTE_QP, S("a=4"),
	    S("a=4"), CODEC_DEFECT_QP_BAD_ESCAPE },
	{ "qp_equals_space_text_is_literal", CODEC_CTE_QP, S("1 = 2"),
	    S("1 = 2"), CODEC_DEFECT_QP_BAD_ESCAPE },
	{ "qp_equals_at_end_is_soft_break", CODEC_CTE_QP, S("abc="), S("abc"),
	    0 },
	{ "qp_trailing_whitespace_dropped", CODEC_CTE_QP, S("abc \t\r\ndef"),
	    S("abc\r\ndef"), 0 },
	{ "qp_trailing_whitespace_at_end_dropped", CODEC_CTE_QP, S("abc  "),
	    S("abc"), 0 },
	{ "qp_inner_whitespace_kept", CODEC_CTE_QP, S("a  b\tc"),
	    S("a  b\tc"), 0 },
	{ "qp_bare_lf_kept", CODEC_CTE_QP, S("a\nb\n"), S("a\nb\n"), 0 },
	{ "qp_raw_8bit_kept", CODEC_CTE_QP, S("caf\xe9"), S("caf\xe9"),
	    CODEC_DEFECT_QP_RAW_BYTE },
	{ "qp_bare_cr_kept", CODEC_CTE_QP, S("a\rb"), S("a\rb"),
	    CODEC_DEFECT_QP_RAW_BYTE },
	{ "qp_equals_cr_text_is_literal", CODEC_CTE_QP, S("a=\rb"),
	    S("a=\rb"), CODEC_DEFECT_QP_BAD_ESCAPE },
	{ "qp_long_line_is_a_defect", CODEC_CTE_QP,
	    S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    CODEC_DEFECT_QP_LONG_LINE },
	{ "qp_many_spaces_after_equals_are_kept", CODEC_CTE_QP,
	    S("a=                                        b"),
	    S("a=                                        b"),
	    CODEC_DEFECT_QP_BAD_ESCAPE },
	{ "identity_8bit", CODEC_CTE_8BIT, S("a=b\r\n"), S("a=b\r\n"), 0 },
};

/* run_dec - decode with the given chunk size pattern (0: whole) */
static void
run_dec(const struct dec_case *c, size_t split, int bytewise,
    struct buf *out, unsigned *defects)
{
	struct codec_dec d;
	size_t i;

	codec_dec_init(&d, c->cte);
	if (bytewise) {
		for (i = 0; i < c->inlen; i++)
			ck_assert_int_eq(codec_dec_feed(&d, c->in + i, 1, out), 0);
	} else {
		ck_assert_int_eq(codec_dec_feed(&d, c->in, split, out), 0);
		ck_assert_int_eq(codec_dec_feed(&d, c->in + split,
		    c->inlen - split, out), 0);
	}
	ck_assert_int_eq(codec_dec_finish(&d, out), 0);
	*defects = d.defects;
	ck_assert(d.defects == 0 || d.ndefects > 0);
}

START_TEST(test_decode_table)
{
	const struct dec_case *c = &dec_cases[_i];
	struct buf out;
	unsigned defects;
	size_t split;

	for (split = 0; split <= c->inlen + 1; split++) {
		buf_init(&out);
		if (split <= c->inlen)
			run_dec(c, split, 0, &out, &defects);
		else
			run_dec(c, 0, 1, &out, &defects);
		ck_assert_msg(out.len == c->wantlen &&
		    memcmp(buf_cstr(&out), c->want, c->wantlen) == 0,
		    "%s (split %zu): got \"%s\"", c->name, split, buf_cstr(&out));
		ck_assert_msg(defects == c->defects, "%s: defects %#x, want %#x",
		    c->name, defects, c->defects);
		buf_fini(&out);
	}
}
END_TEST

struct enc_case {
	const char	*name;
	enum codec_cte	 cte;
	unsigned	 flags;
	const char	*in;
	size_t		 inlen;
	const char	*want;
};

static const struct enc_case enc_cases[] = {
	{ "b64_hello", CODEC_CTE_BASE64, 0, S("Hello"), "SGVsbG8=\r\n" },
	{ "b64_empty_is_empty", CODEC_CTE_BASE64, 0, S(""), "" },
	{ "b64_two_bytes", CODEC_CTE_BASE64, 0, S("Hi"), "SGk=\r\n" },
	{ "b64_57_bytes_fill_one_76_column_line", CODEC_CTE_BASE64, 0,
	    S("012345678901234567890123456789012345678901234567890123456"),
	    "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2\r\n" },
	{ "b64_58_bytes_start_a_second_line", CODEC_CTE_BASE64, 0,
	    S("0123456789012345678901234567890123456789012345678901234567"),
	    "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2\r\nNw==\r\n" },
	{ "qp_ascii_unchanged", CODEC_CTE_QP, 0, S("Hello, world!"),
	    "Hello, world!" },
	{ "qp_8bit_encoded", CODEC_CTE_QP, 0, S("caf\xc3\xa9"), "caf=C3=A9" },
	{ "qp_equals_encoded", CODEC_CTE_QP, 0, S("a=b"), "a=3Db" },
	{ "qp_space_before_crlf_encoded", CODEC_CTE_QP, 0, S("a \r\nb"),
	    "a=20\r\nb" },
	{ "qp_tab_at_end_encoded", CODEC_CTE_QP, 0, S("a\t"), "a=09" },
	{ "qp_inner_space_literal", CODEC_CTE_QP, 0, S("a b"), "a b" },
	{ "qp_two_spaces_before_break", CODEC_CTE_QP, 0, S("a  \nb"),
	    "a =20\r\nb" },
	{ "qp_text_mode_bare_lf_becomes_crlf", CODEC_CTE_QP, 0, S("a\nb"),
	    "a\r\nb" },
	{ "qp_text_mode_bare_cr_encoded", CODEC_CTE_QP, 0, S("a\rb"),
	    "a=0Db" },
	{ "qp_binary_mode_encodes_crlf", CODEC_CTE_QP, CODEC_ENC_BINARY,
	    S("a\r\nb"), "a=0D=0Ab" },
	{ "qp_control_encoded", CODEC_CTE_QP, 0, S("a\x01"), "a=01" },
	{ "qp_soft_break_at_76", CODEC_CTE_QP, 0,
	    S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa" },
	{ "qp_triplet_never_split", CODEC_CTE_QP, 0,
	    S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9"),
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n"
	    "=C3=A9" },
};

START_TEST(test_encode_table)
{
	const struct enc_case *c = &enc_cases[_i];
	struct codec_enc e;
	struct buf out, chunked;
	size_t split;

	buf_init(&out);
	if (c->cte == CODEC_CTE_BASE64)
		ck_assert_int_eq(codec_b64_encode(c->in, c->inlen, &out), 0);
	else
		ck_assert_int_eq(codec_qp_encode(c->in, c->inlen, c->flags,
		    &out), 0);
	ck_assert_msg(strcmp(buf_cstr(&out), c->want) == 0,
	    "%s: got \"%s\"", c->name, buf_cstr(&out));
	if (c->cte == CODEC_CTE_BASE64)
		ck_assert_uint_eq(codec_b64_encoded_len(c->inlen), out.len);
	else
		ck_assert_uint_eq(codec_qp_encoded_len(c->in, c->inlen,
		    c->flags), out.len);
	for (split = 0; split <= c->inlen; split++) {
		buf_init(&chunked);
		codec_enc_init(&e, c->cte, c->flags);
		ck_assert_int_eq(codec_enc_feed(&e, c->in, split, &chunked), 0);
		ck_assert_int_eq(codec_enc_feed(&e, c->in + split,
		    c->inlen - split, &chunked), 0);
		ck_assert_int_eq(codec_enc_finish(&e, &chunked), 0);
		ck_assert_str_eq(buf_cstr(&chunked), buf_cstr(&out));
		ck_assert_uint_eq(e.total, out.len);
		buf_fini(&chunked);
	}
	buf_fini(&out);
}
END_TEST

/* check_lines - every encoded line at most 76 characters, 7-bit */
static void
check_lines(const struct buf *b)
{
	size_t i, col = 0;

	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		ck_assert_msg(c < 0x80, "8-bit byte in encoded output");
		if (c == '\r') {
			ck_assert(i + 1 < b->len && b->data[i + 1] == '\n');
			col = 0;
			i++;
			continue;
		}
		col++;
		ck_assert_msg(col <= CODEC_LINE_MAX, "line over 76 at %zu", i);
	}
}

/* fill_random - reproducible pseudo-random bytes biased to hard cases */
static void
fill_random(unsigned char *p, size_t n, unsigned *seed)
{
	static const unsigned char hard[] = { ' ', '\t', '\r', '\n', '=',
	    0xc3, 0xa9, 0x00, 0xff, 'a', '.', '-' };
	size_t i;

	for (i = 0; i < n; i++) {
		*seed = *seed * 1103515245u + 12345u;
		p[i] = (*seed >> 16) % 3 ? hard[(*seed >> 8) % sizeof(hard)] :
		    (unsigned char)(*seed >> 8);
	}
}

/* base64 in random chunks (whole groups written in bulk) against one
 * byte at a time (every group through the held bytes): the same output,
 * the same total, and the count-only encoder agrees */
START_TEST(test_b64_bulk_encoding_equals_one_byte_at_a_time)
{
	unsigned char in[1200];
	struct buf a, b;
	struct codec_enc ea, eb, ec;
	unsigned seed = 23;
	size_t n, i, k;
	int round, rc;

	for (round = 0; round < 500; round++) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(in);
		fill_random(in, n, &seed);
		buf_init(&a);
		buf_init(&b);
		codec_enc_init(&ea, CODEC_CTE_BASE64, 0);
		codec_enc_init(&eb, CODEC_CTE_BASE64, 0);
		codec_enc_init(&ec, CODEC_CTE_BASE64, 0);
		for (i = 0; i < n; i += k) {
			seed = seed * 1103515245u + 12345u;
			k = (seed >> 16) % 200 + 1;
			if (k > n - i)
				k = n - i;
			ck_assert_int_eq(codec_enc_feed(&ea, in + i, k, &a), 0);
			ck_assert_int_eq(codec_enc_feed(&ec, in + i, k, NULL),
			    0);
		}
		for (i = 0, rc = 0; i < n; i++)
			rc |= codec_enc_feed(&eb, in + i, 1, &b);
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(codec_enc_finish(&ea, &a), 0);
		ck_assert_int_eq(codec_enc_finish(&eb, &b), 0);
		ck_assert_int_eq(codec_enc_finish(&ec, NULL), 0);
		ck_assert_uint_eq(a.len, b.len);
		ck_assert(a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
		ck_assert_uint_eq(ea.total, eb.total);
		ck_assert_uint_eq(ec.total, a.len);
		ck_assert_uint_eq(a.len, codec_b64_encoded_len(n));
		check_lines(&a);
		buf_fini(&a);
		buf_fini(&b);
	}
}
END_TEST

START_TEST(test_qp_binary_mode_round_trips_any_bytes)
{
	unsigned char in[600];
	struct buf enc, dec;
	unsigned seed = 7, defects;
	int round;

	for (round = 0; round < 300; round++) {
		size_t n = (size_t)(round * 2) % sizeof(in);

		fill_random(in, n, &seed);
		buf_init(&enc);
		buf_init(&dec);
		ck_assert_int_eq(codec_qp_encode(in, n, CODEC_ENC_BINARY, &enc),
		    0);
		check_lines(&enc);
		ck_assert_int_eq(codec_qp_decode(enc.data ? enc.data : "",
		    enc.len, &dec, &defects), 0);
		ck_assert_uint_eq(defects, 0);
		ck_assert_uint_eq(dec.len, n);
		ck_assert(n == 0 || memcmp(dec.data, in, n) == 0);
		buf_fini(&enc);
		buf_fini(&dec);
	}
}
END_TEST

START_TEST(test_qp_text_mode_round_trips_crlf_text)
{
	unsigned char in[600];
	struct buf enc, dec;
	unsigned seed = 11, defects;
	size_t i, n;
	int round;

	for (round = 0; round < 300; round++) {
		n = (size_t)(round * 2) % sizeof(in);
		fill_random(in, n, &seed);
		/* Text mode: every CR and LF paired as CRLF. */
		for (i = 0; i < n; i++)
			if (in[i] == '\r' || in[i] == '\n') {
				if (i + 1 < n) {
					in[i] = '\r';
					in[++i] = '\n';
				} else
					in[i] = 'x';
			}
		buf_init(&enc);
		buf_init(&dec);
		ck_assert_int_eq(codec_qp_encode(in, n, 0, &enc), 0);
		check_lines(&enc);
		ck_assert_int_eq(codec_qp_decode(enc.data ? enc.data : "",
		    enc.len, &dec, &defects), 0);
		ck_assert_uint_eq(defects, 0);
		ck_assert_uint_eq(dec.len, n);
		ck_assert(n == 0 || memcmp(dec.data, in, n) == 0);
		buf_fini(&enc);
		buf_fini(&dec);
	}
}
END_TEST

START_TEST(test_b64_round_trips_any_bytes_in_76_column_lines)
{
	unsigned char in[700];
	struct buf enc, dec;
	unsigned seed = 3, defects;
	size_t n;

	for (n = 0; n < sizeof(in); n += 7) {
		fill_random(in, n, &seed);
		buf_init(&enc);
		buf_init(&dec);
		ck_assert_int_eq(codec_b64_encode(in, n, &enc), 0);
		check_lines(&enc);
		ck_assert_uint_eq(enc.len, codec_b64_encoded_len(n));
		ck_assert_int_eq(codec_b64_decode(buf_cstr(&enc), enc.len, &dec,
		    &defects), 0);
		ck_assert_uint_eq(defects, 0);
		ck_assert_uint_eq(dec.len, n);
		ck_assert(n == 0 || memcmp(dec.data, in, n) == 0);
		buf_fini(&enc);
		buf_fini(&dec);
	}
}
END_TEST

START_TEST(test_choose_7bit_prefers_qp_for_mostly_ascii)
{
	const char *text = "Dear all, the meeting moves to the caf\xc3\xa9 "
	    "on the corner, same time as last week.\r\n";

	ck_assert_int_eq(codec_choose_7bit(text, strlen(text), 0),
	    CODEC_CTE_QP);
}
END_TEST

START_TEST(test_choose_7bit_prefers_base64_for_binary)
{
	unsigned char in[512];
	size_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(0x80 + i % 128);
	ck_assert_int_eq(codec_choose_7bit(in, sizeof(in), CODEC_ENC_BINARY),
	    CODEC_CTE_BASE64);
}
END_TEST

START_TEST(test_choose_7bit_cyrillic_text_is_base64)
{
	/* Two 8-bit bytes a letter: QP triples, base64 grows by a third. */
	const char *text = "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 "
	    "\xd0\xbc\xd0\xb8\xd1\x80";

	ck_assert_int_eq(codec_choose_7bit(text, strlen(text), 0),
	    CODEC_CTE_BASE64);
}
END_TEST

START_TEST(test_cte_names_parse_in_any_case_with_whitespace)
{
	ck_assert_int_eq(codec_cte_parse(S(" Quoted-Printable \r\n")),
	    CODEC_CTE_QP);
	ck_assert_int_eq(codec_cte_parse(S("BASE64")), CODEC_CTE_BASE64);
	ck_assert_int_eq(codec_cte_parse(S("8bit")), CODEC_CTE_8BIT);
	ck_assert_int_eq(codec_cte_parse(S("x-uuencode")), CODEC_CTE_UNKNOWN);
	ck_assert_int_eq(codec_cte_parse(S("")), CODEC_CTE_UNKNOWN);
	ck_assert_str_eq(codec_cte_name(CODEC_CTE_QP), "quoted-printable");
}
END_TEST

/* The QP size counted without output (pass 1 of charset repair) is the
 * size the encoder writes, for any bytes, any chunking, text or binary. */
START_TEST(test_qp_count_equals_the_encoded_size)
{
	static const unsigned char alphabet[] = "ab =\r\n\t\x80\xff.";
	unsigned seed = 12345;
	unsigned char data[600];
	struct codec_enc counter, writer;
	struct buf out;
	size_t len, i, off, step;
	int round, binary;

	for (round = 0; round < 4000; round++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(data);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* long runs of one kind make long lines too */
			data[i] = (seed >> 16) % 7 == 0 ?
			    alphabet[(seed >> 8) % (sizeof(alphabet) - 1)] : 'x';
		}
		binary = round % 3 == 0;
		codec_enc_init(&counter, CODEC_CTE_QP, binary ? CODEC_ENC_BINARY :
		    0);
		codec_enc_init(&writer, CODEC_CTE_QP, binary ? CODEC_ENC_BINARY :
		    0);
		buf_init(&out);
		for (off = 0; off < len; off += step) {
			seed = seed * 1103515245u + 12345u;
			step = 1 + (seed >> 10) % 97;
			if (step > len - off)
				step = len - off;
			ck_assert_int_eq(codec_enc_feed(&counter, data + off, step,
			    NULL), 0);
			ck_assert_int_eq(codec_enc_feed(&writer, data + off, step,
			    &out), 0);
		}
		ck_assert_int_eq(codec_enc_finish(&counter, NULL), 0);
		ck_assert_int_eq(codec_enc_finish(&writer, &out), 0);
		ck_assert_msg(counter.total == out.len, "round %d: counted %zu, "
		    "wrote %zu", round, counter.total, out.len);
		buf_fini(&out);
	}
}
END_TEST

/* ref_b64 - base64 the plain way, for comparison: each group of three
 * bytes to four characters, "=" for what a short last group lacks, CRLF
 * after every 76 characters and at the end */
static int
ref_b64(const unsigned char *p, size_t n, struct buf *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long v;
	size_t i, col = 0, k;
	char q[4];
	int rc = 0;

	for (i = 0; i < n; i += 3) {
		k = n - i < 3 ? n - i : 3;
		v = (unsigned long)p[i] << 16 |
		    (k > 1 ? (unsigned long)p[i + 1] << 8 : 0) |
		    (k > 2 ? p[i + 2] : 0);
		q[0] = a[v >> 18 & 63];
		q[1] = a[v >> 12 & 63];
		q[2] = k > 1 ? a[v >> 6 & 63] : '=';
		q[3] = k > 2 ? a[v & 63] : '=';
		rc |= buf_append(out, q, 4);
		if ((col += 4) == CODEC_LINE_MAX) {
			rc |= buf_append(out, "\r\n", 2);
			col = 0;
		}
	}
	if (col > 0)
		rc |= buf_append(out, "\r\n", 2);
	return rc;
}

/* encode_in_random_chunks - data through a fresh encoder in chunks of
 * random size (a quarter up to 64 KB, the rest up to small_max): what
 * codec_enc_feed and codec_enc_finish return, or-ed */
static int
encode_in_random_chunks(struct codec_enc *e, const unsigned char *data,
    size_t len, unsigned *seed, size_t small_max, struct buf *got)
{
	size_t off, step;
	int rc = 0;

	for (off = 0; off < len; off += step) {
		*seed = *seed * 1103515245u + 12345u;
		step = (*seed >> 8) % 4 == 0 ? 1 + (*seed >> 12) % 65536 :
		    1 + (*seed >> 12) % small_max;
		if (step > len - off)
			step = len - off;
		rc |= codec_enc_feed(e, data + off, step, got);
	}
	return rc | codec_enc_finish(e, got);
}

/* same_encoding - what the encoder wrote (its count too) is the
 * reference's, byte for byte; both buffers are released */
static void
same_encoding(int round, size_t len, struct buf *got, struct buf *want,
    size_t total)
{
	if (got->len != want->len || (got->len > 0 &&
	    memcmp(got->data, want->data, got->len) != 0))
		ck_abort_msg("round %d: %zu bytes in, %zu characters, want %zu",
		    round, len, got->len, want->len);
	ck_assert_uint_eq(total, got->len);
	buf_fini(got);
	buf_fini(want);
}

/* Base64 of large inputs in chunks up to 64 KB (whole 57-byte lines from
 * column 0 go through the SIMD encoder where the CPU has it, the rest
 * group by group) is the plain encoding, byte for byte: every byte
 * value, every chunk boundary. */
START_TEST(test_b64_whole_lines_equal_the_plain_encoding)
{
	static unsigned char data[200000];
	struct codec_enc e;
	struct buf got, want;
	unsigned seed = 777;
	size_t len, i;
	int round, rc;

	for (round = 0; round < 300; round++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 4) % (round % 10 == 0 ? sizeof(data) : 3000);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			data[i] = (unsigned char)(seed >> 16);
		}
		buf_init(&got);
		buf_init(&want);
		codec_enc_init(&e, CODEC_CTE_BASE64, 0);
		rc = encode_in_random_chunks(&e, data, len, &seed, 300, &got);
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(ref_b64(data, len, &want), 0);
		same_encoding(round, len, &got, &want, e.total);
	}
}
END_TEST

/* ref_qp - quoted-printable the plain way, for comparison, from the
 * rules of codec.h: printable ASCII but "=" as itself, a space or tab as
 * itself unless a line break or the end follows it, anything else as =XX;
 * in text mode CRLF or a bare LF is a line break of the output; a token
 * that would pass column 75 goes to a new line after a soft break */
static int
ref_qp(const unsigned char *p, size_t n, int binary, struct buf *out)
{
	size_t i, col = 0, w;
	char t[3];
	int rc = 0, brk;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (!binary && c == '\n') {
			rc |= buf_append(out, "\r\n", 2);
			col = 0;
			continue;
		}
		if (!binary && c == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		/* does a line break (or the end) follow this blank */
		brk = i + 1 == n || (!binary && (p[i + 1] == '\n' ||
		    (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')));
		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !brk)) {
			t[0] = (char)c;
			w = 1;
		} else {
			t[0] = '=';
			t[1] = "0123456789ABCDEF"[c >> 4];
			t[2] = "0123456789ABCDEF"[c & 15];
			w = 3;
		}
		if (col + w > 75) {
			rc |= buf_append(out, "=\r\n", 3);
			col = 0;
		}
		rc |= buf_append(out, t, w);
		col += w;
	}
	return rc;
}

/* fill_runs - text in runs of one kind (letters, 8-bit bytes, words
 * with spaces, spaces and tabs, line breaks of every kind), the lengths
 * random: long runs cross the counter's blocks and lines */
static void
fill_runs(unsigned char *p, size_t n, unsigned *seed)
{
	static const char *const breaks[] = { "\r\n", "\n", "\r", " \r\n",
	    "\t\n", "  \r\n", " \r", "=\r\n" };
	size_t i = 0, k, j;
	unsigned kind;
	const char *b;

	while (i < n) {
		*seed = *seed * 1103515245u + 12345u;
		kind = (*seed >> 16) % 7;
		*seed = *seed * 1103515245u + 12345u;
		k = (*seed >> 16) % ((*seed >> 8) % 4 == 0 ? 300 : 40) + 1;
		for (j = 0; j < k && i < n; j++, i++) {
			*seed = *seed * 1103515245u + 12345u;
			switch (kind) {
			case 0:		/* ASCII letters */
				p[i] = (unsigned char)('a' + (*seed >> 16) % 26);
				break;
			case 1:		/* 8-bit, as UTF-8 Cyrillic is */
				p[i] = (unsigned char)(0x80 + (*seed >> 16) % 128);
				break;
			case 2:		/* words */
				p[i] = (*seed >> 16) % 6 == 0 ? ' ' :
				    (unsigned char)((*seed >> 8) % 3 == 0 ?
				    0xd0 : 'k');
				break;
			case 3:		/* blanks */
				p[i] = (*seed >> 16) % 2 ? ' ' : '\t';
				break;
			case 4:		/* a line break of some kind */
				b = breaks[(*seed >> 16) % (sizeof(breaks) /
				    sizeof(breaks[0]))];
				while (*b != '\0' && i < n)
					p[i++] = (unsigned char)*b++;
				j = k;
				i--;
				break;
			case 5:		/* "=" and controls among letters */
				p[i] = (*seed >> 16) % 4 == 0 ? '=' :
				    (*seed >> 16) % 4 == 1 ? 0x01 : 'Q';
				break;
			default:	/* anything */
				p[i] = (unsigned char)(*seed >> 16);
				break;
			}
		}
	}
}

/* The counter's blocks (16 bytes of tokens summed at once, line breaks
 * and soft breaks among them) against the encoder writing one byte at a
 * time: the same total, column and held bytes after every chunk, the
 * same size at the end, for text in runs of every kind fed in random
 * chunks, text and binary mode. */
START_TEST(test_qp_count_blocks_equal_the_bytewise_encoder)
{
	static unsigned char data[6000];
	struct codec_enc counter, writer;
	struct buf out;
	unsigned seed = 4242;
	size_t len, i, off, step;
	int round, binary, rc;

	for (round = 0; round < 3000; round++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(data);
		fill_runs(data, len, &seed);
		binary = round % 4 == 0;
		codec_enc_init(&counter, CODEC_CTE_QP, binary ?
		    CODEC_ENC_BINARY : 0);
		codec_enc_init(&writer, CODEC_CTE_QP, binary ?
		    CODEC_ENC_BINARY : 0);
		buf_init(&out);
		for (off = 0; off < len; off += step) {
			seed = seed * 1103515245u + 12345u;
			step = 1 + (seed >> 10) % ((seed >> 4) % 2 ? 700 :
			    70);
			if (step > len - off)
				step = len - off;
			/* asserted only when wrong: each check costs a write */
			rc = codec_enc_feed(&counter, data + off, step, NULL);
			for (i = 0; i < step; i++)
				rc |= codec_enc_feed(&writer, data + off + i, 1,
				    &out);
			if (rc != 0 || counter.total != writer.total ||
			    counter.col != writer.col ||
			    counter.nhold != writer.nhold ||
			    counter.held_cr != writer.held_cr)
				ck_abort_msg("round %d at %zu: counted %zu col "
				    "%u, wrote %zu col %u", round, off + step,
				    counter.total, counter.col, writer.total,
				    writer.col);
		}
		ck_assert_int_eq(codec_enc_finish(&counter, NULL), 0);
		ck_assert_int_eq(codec_enc_finish(&writer, &out), 0);
		ck_assert_msg(counter.total == out.len, "round %d: counted %zu, "
		    "wrote %zu", round, counter.total, out.len);
		buf_fini(&out);
	}
}
END_TEST

/* The QP encoder in chunks up to 64 KB (16 bytes at a time where
 * nothing is held, byte by byte elsewhere) writes what the plain rules
 * give, byte for byte: text in runs of every kind, text and binary mode. */
START_TEST(test_qp_blocks_equal_the_plain_encoding)
{
	static unsigned char data[100000];
	struct codec_enc e;
	struct buf got, want;
	unsigned seed = 9090;
	size_t len;
	int round, rc, binary;

	for (round = 0; round < 1500; round++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 4) % (round % 20 == 0 ? sizeof(data) : 4000);
		fill_runs(data, len, &seed);
		binary = round % 5 == 0;
		buf_init(&got);
		buf_init(&want);
		codec_enc_init(&e, CODEC_CTE_QP, binary ? CODEC_ENC_BINARY : 0);
		rc = encode_in_random_chunks(&e, data, len, &seed, 200, &got);
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(ref_qp(data, len, binary, &want), 0);
		same_encoding(round, len, &got, &want, e.total);
	}
}
END_TEST

START_TEST(test_decoder_appends_to_existing_output)
{
	struct buf out;

	buf_init(&out);
	ck_assert_int_eq(buf_puts(&out, "x:"), 0);
	ck_assert_int_eq(codec_b64_decode(S("SGk="), &out, NULL), 0);
	ck_assert_str_eq(buf_cstr(&out), "x:Hi");
	buf_fini(&out);
}
END_TEST

/* codec_suite - all codec tests */
static Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_decode_table, 0,
	    sizeof(dec_cases) / sizeof(dec_cases[0]));
	tcase_add_loop_test(tc, test_encode_table, 0,
	    sizeof(enc_cases) / sizeof(enc_cases[0]));
	tcase_add_test(tc, test_qp_binary_mode_round_trips_any_bytes);
	tcase_add_test(tc, test_b64_bulk_encoding_equals_one_byte_at_a_time);
	tcase_add_test(tc, test_qp_text_mode_round_trips_crlf_text);
	tcase_add_test(tc, test_b64_round_trips_any_bytes_in_76_column_lines);
	tcase_add_test(tc, test_choose_7bit_prefers_qp_for_mostly_ascii);
	tcase_add_test(tc, test_choose_7bit_prefers_base64_for_binary);
	tcase_add_test(tc, test_choose_7bit_cyrillic_text_is_base64);
	tcase_add_test(tc, test_cte_names_parse_in_any_case_with_whitespace);
	tcase_add_test(tc, test_decoder_appends_to_existing_output);
	tcase_add_test(tc, test_qp_count_equals_the_encoded_size);
	tcase_add_test(tc, test_qp_count_blocks_equal_the_bytewise_encoder);
	tcase_add_test(tc, test_b64_whole_lines_equal_the_plain_encoding);
	tcase_add_test(tc, test_qp_blocks_equal_the_plain_encoding);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(codec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
