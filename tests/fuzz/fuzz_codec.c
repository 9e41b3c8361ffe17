/*
 * fuzz_codec - libFuzzer target for the encoders of common/codec.c.
 *
 * Byte 0 picks the encoding (bit 0: base64, else quoted-printable; bit 1:
 * QP binary mode) and, with byte 1, the chunk sizes; the rest is the
 * data. The data is encoded in those chunks by the writer and by the
 * count-only encoder, and whole in one call. Checks: the three agree (the
 * counter's total and state after every chunk, the whole call's output
 * byte for byte), every line is 7-bit, broken by CRLF, at most 76
 * characters long, and the output decodes without a defect to the data
 * (bare LFs as CRLF in QP text mode). abort() on any difference.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* check_lines - 7-bit lines of at most 76 characters, broken by CRLF */
static void
check_lines(const struct buf *b)
{
	size_t i, col = 0;
	unsigned char c;

	for (i = 0; i < b->len; i++) {
		c = (unsigned char)b->data[i];
		if (c >= 0x80 || c == '\n')
			abort();
		if (c == '\r') {
			if (i + 1 >= b->len || b->data[i + 1] != '\n')
				abort();
			i++;
			col = 0;
			continue;
		}
		if (++col > CODEC_LINE_MAX)
			abort();
	}
}

/* want_decoded - what decoding the output must give */
static void
want_decoded(const uint8_t *p, size_t n, int qp_text, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (qp_text && p[i] == '\n' && (i == 0 || p[i - 1] != '\r') &&
		    buf_putc(out, '\r') == -1)
			abort();
		if (buf_putc(out, p[i]) == -1)
			abort();
	}
}

/* LLVMFuzzerTestOneInput - libFuzzer entry point */
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct codec_enc w, c;
	struct buf out, whole, dec, want;
	enum codec_cte cte;
	unsigned flags, seed, defects = 0;
	size_t off, step;
	int qp_text;

	if (size < 2)
		return 0;
	cte = data[0] & 1 ? CODEC_CTE_BASE64 : CODEC_CTE_QP;
	flags = cte == CODEC_CTE_QP && (data[0] & 2) ? CODEC_ENC_BINARY : 0;
	qp_text = cte == CODEC_CTE_QP && flags == 0;
	seed = (unsigned)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	buf_init(&out);
	buf_init(&whole);
	buf_init(&dec);
	buf_init(&want);
	codec_enc_init(&w, cte, flags);
	codec_enc_init(&c, cte, flags);
	for (off = 0; off < size; off += step) {
		seed = seed * 1103515245u + 12345u;
		step = (seed >> 16) % 4 == 0 ? 1 + (seed >> 8) % 7 :
		    1 + (seed >> 8) % 300;
		if (step > size - off)
			step = size - off;
		if (codec_enc_feed(&w, data + off, step, &out) == -1 ||
		    codec_enc_feed(&c, data + off, step, NULL) == -1)
			abort();
		if (w.total != out.len || c.total != w.total ||
		    c.col != w.col || c.nhold != w.nhold ||
		    c.held_cr != w.held_cr)
			abort();
	}
	if (codec_enc_finish(&w, &out) == -1 ||
	    codec_enc_finish(&c, NULL) == -1 || w.total != out.len ||
	    c.total != out.len)
		abort();
	if ((cte == CODEC_CTE_BASE64 ? codec_b64_encode(data, size, &whole) :
	    codec_qp_encode(data, size, flags, &whole)) == -1 ||
	    whole.len != out.len ||
	    (out.len > 0 && memcmp(whole.data, out.data, out.len) != 0))
		abort();
	check_lines(&out);
	if ((cte == CODEC_CTE_BASE64 ? codec_b64_decode(out.data, out.len,
	    &dec, &defects) : codec_qp_decode(out.data, out.len, &dec,
	    &defects)) == -1 || defects != 0)
		abort();
	want_decoded(data, size, qp_text, &want);
	if (dec.len != want.len ||
	    (dec.len > 0 && memcmp(dec.data, want.data, dec.len) != 0))
		abort();
	buf_fini(&out);
	buf_fini(&whole);
	buf_fini(&dec);
	buf_fini(&want);
	return 0;
}
