/*
 * codec - tolerant base64 and quoted-printable, streaming (see codec.h).
 *
 * The decoders are byte-at-a-time state machines so a chunk may end
 * anywhere; the encoders hold at most a partial base64 group, or one
 * whitespace byte and a CR for quoted-printable. The caller owns every
 * buffer; nothing here allocates except through buf_*.
 */
#include "codec.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "hex.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CODEC_SSSE3	1
#include <tmmintrin.h>
#endif

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* QP decoder states. */
enum {
	QPD_TEXT,	/* in ordinary text */
	QPD_CR,		/* CR seen, LF may follow */
	QPD_EQ,		/* "=" seen */
	QPD_EQ_HEX,	/* "=" and one hex digit seen */
	QPD_EQ_WS,	/* "=" and whitespace seen: soft break or garbage */
	QPD_EQ_CR	/* "=" [whitespace] CR seen */
};

/* b64_value - the 6-bit value of an alphabet byte, or -1 */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* dec_defect - note one forgiven defect */
static void
dec_defect(struct codec_dec *d, unsigned bit)
{
	d->defects |= bit;
	d->ndefects++;
}

/* codec_dec_init - a decoder for one transfer encoding */
void
codec_dec_init(struct codec_dec *d, enum codec_cte cte)
{
	memset(d, 0, sizeof(*d));
	d->cte = cte;
	d->state = QPD_TEXT;
}

/* b64_dec_feed - base64: skip non-alphabet bytes, flush whole quanta */
static int
b64_dec_feed(struct codec_dec *d, const unsigned char *p, size_t n,
    struct buf *out)
{
	unsigned char tmp[3];
	int v;

	for (; n > 0; p++, n--) {
		if ((v = b64_value(*p)) >= 0) {
			if (d->padneed > 0) {
				/* "QQ=" then data: the padding was short. */
				dec_defect(d, CODEC_DEFECT_B64_PADDING);
				d->padneed = 0;
			}
			if (d->state == 1) {
				/* Data after padding: concatenated blocks. */
				dec_defect(d, CODEC_DEFECT_B64_AFTER_PAD);
				d->state = 0;
			}
			d->acc = (d->acc << 6) | (unsigned)v;
			if (++d->nacc == 4) {
				tmp[0] = (unsigned char)(d->acc >> 16);
				tmp[1] = (unsigned char)(d->acc >> 8);
				tmp[2] = (unsigned char)d->acc;
				if (buf_append(out, tmp, 3) == -1)
					return -1;
				d->acc = 0;
				d->nacc = 0;
			}
			continue;
		}
		if (*p == '=') {
			switch (d->nacc) {
			case 0:
				if (d->padneed > 0)
					d->padneed--;
				else if (d->state != 1) {
					/* A stray "=", not padding. */
					dec_defect(d, CODEC_DEFECT_B64_PADDING);
					continue;
				}
				break;
			case 1:
				dec_defect(d, CODEC_DEFECT_B64_TRUNCATED);
				break;
			case 2:
				tmp[0] = (unsigned char)(d->acc >> 4);
				if (buf_append(out, tmp, 1) == -1)
					return -1;
				d->padneed = 1;
				break;
			case 3:
				tmp[0] = (unsigned char)(d->acc >> 10);
				tmp[1] = (unsigned char)(d->acc >> 2);
				if (buf_append(out, tmp, 2) == -1)
					return -1;
				break;
			}
			d->acc = 0;
			d->nacc = 0;
			d->state = 1;	/* in padding */
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;
		dec_defect(d, CODEC_DEFECT_B64_GARBAGE);
	}
	return 0;
}

/* b64_dec_finish - flush a quantum that lacked its padding */
static int
b64_dec_finish(struct codec_dec *d, struct buf *out)
{
	unsigned char tmp[2];

	if (d->padneed > 0)
		dec_defect(d, CODEC_DEFECT_B64_PADDING);
	switch (d->nacc) {
	case 1:
		dec_defect(d, CODEC_DEFECT_B64_TRUNCATED);
		break;
	case 2:
		dec_defect(d, CODEC_DEFECT_B64_PADDING);
		tmp[0] = (unsigned char)(d->acc >> 4);
		if (buf_append(out, tmp, 1) == -1)
			return -1;
		break;
	case 3:
		dec_defect(d, CODEC_DEFECT_B64_PADDING);
		tmp[0] = (unsigned char)(d->acc >> 10);
		tmp[1] = (unsigned char)(d->acc >> 2);
		if (buf_append(out, tmp, 2) == -1)
			return -1;
		break;
	}
	d->acc = d->nacc = d->padneed = 0;
	d->state = 0;
	return 0;
}

/* qp_flush_ws - write held whitespace: it was not trailing after all */
static int
qp_flush_ws(struct codec_dec *d, struct buf *out)
{
	if (d->nws > 0 && buf_append(out, d->ws, d->nws) == -1)
		return -1;
	d->nws = 0;
	return 0;
}

/* qp_hold_ws - keep one whitespace byte that may turn out to be trailing */
static int
qp_hold_ws(struct codec_dec *d, unsigned char c, struct buf *out)
{
	/* Only a bounded run is held; a longer one is not padding we can
	 * drop with certainty, so the older part goes out as text. */
	if (d->nws == sizeof(d->ws) && qp_flush_ws(d, out) == -1)
		return -1;
	d->ws[d->nws++] = c;
	return 0;
}

/* qp_line_end - a hard line break: trailing whitespace is dropped */
static int
qp_line_end(struct codec_dec *d, const char *eol, struct buf *out)
{
	d->nws = 0;
	d->col = 0;
	return buf_puts(out, eol);
}

/* qp_bad_escape - "=" that starts no escape: pass it on as written */
static int
qp_bad_escape(struct codec_dec *d, struct buf *out)
{
	dec_defect(d, CODEC_DEFECT_QP_BAD_ESCAPE);
	if (buf_putc(out, '=') == -1)
		return -1;
	if (d->state == QPD_EQ_HEX && buf_putc(out, (int)d->acc) == -1)
		return -1;
	if (d->state == QPD_EQ_CR) {
		if (qp_flush_ws(d, out) == -1 || buf_putc(out, '\r') == -1)
			return -1;
	} else if (qp_flush_ws(d, out) == -1)
		return -1;
	d->state = QPD_TEXT;
	return 0;
}

/* qp_dec_byte - one input byte through the QP state machine */
static int
qp_dec_byte(struct codec_dec *d, unsigned char c, struct buf *out)
{
	int hi, lo;

	if (c != '\r' && c != '\n' && ++d->col == CODEC_LINE_MAX + 1)
		dec_defect(d, CODEC_DEFECT_QP_LONG_LINE);
again:
	switch (d->state) {
	case QPD_TEXT:
		if (c == ' ' || c == '\t')
			return qp_hold_ws(d, c, out);
		if (c == '\r') {
			d->state = QPD_CR;
			return 0;
		}
		if (c == '\n')
			return qp_line_end(d, "\n", out);
		if (qp_flush_ws(d, out) == -1)
			return -1;
		if (c == '=') {
			d->state = QPD_EQ;
			return 0;
		}
		if (c >= 0x7f || c < 0x20)
			dec_defect(d, CODEC_DEFECT_QP_RAW_BYTE);
		return buf_putc(out, c);
	case QPD_CR:
		d->state = QPD_TEXT;
		if (c == '\n')
			return qp_line_end(d, "\r\n", out);
		/* A bare CR is data; whitespace before it was not trailing. */
		dec_defect(d, CODEC_DEFECT_QP_RAW_BYTE);
		if (qp_flush_ws(d, out) == -1 || buf_putc(out, '\r') == -1)
			return -1;
		goto again;
	case QPD_EQ:
		if (hex_value(c) >= 0) {
			d->acc = c;
			d->state = QPD_EQ_HEX;
			return 0;
		}
		if (c == ' ' || c == '\t') {
			d->state = QPD_EQ_WS;
			return qp_hold_ws(d, c, out);
		}
		if (c == '\r') {
			d->state = QPD_EQ_CR;
			return 0;
		}
		if (c == '\n') {
			d->state = QPD_TEXT;
			d->col = 0;
			return 0;
		}
		if (qp_bad_escape(d, out) == -1)
			return -1;
		goto again;
	case QPD_EQ_HEX:
		if ((lo = hex_value(c)) >= 0) {
			hi = hex_value((unsigned char)d->acc);
			if ((d->acc >= 'a' && d->acc <= 'f') ||
			    (c >= 'a' && c <= 'f'))
				dec_defect(d, CODEC_DEFECT_QP_LOWER_HEX);
			d->state = QPD_TEXT;
			return buf_putc(out, hi << 4 | lo);
		}
		if (qp_bad_escape(d, out) == -1)
			return -1;
		goto again;
	case QPD_EQ_WS:
		if (c == ' ' || c == '\t') {
			if (d->nws < sizeof(d->ws)) {
				d->ws[d->nws++] = c;
				return 0;
			}
			/* Too much to be a padded soft break. */
			if (qp_bad_escape(d, out) == -1)
				return -1;
			return qp_hold_ws(d, c, out);
		}
		if (c == '\r') {
			d->state = QPD_EQ_CR;
			return 0;
		}
		if (c == '\n') {
			d->nws = 0;
			d->col = 0;
			d->state = QPD_TEXT;
			return 0;
		}
		if (qp_bad_escape(d, out) == -1)
			return -1;
		goto again;
	case QPD_EQ_CR:
		if (c == '\n') {
			d->nws = 0;
			d->col = 0;
			d->state = QPD_TEXT;
			return 0;
		}
		if (qp_bad_escape(d, out) == -1)
			return -1;
		goto again;
	}
	return 0;
}

/* qp_dec_finish - end of data: a dangling "=" is a soft break */
static int
qp_dec_finish(struct codec_dec *d, struct buf *out)
{
	int r = 0;

	switch (d->state) {
	case QPD_TEXT:
		d->nws = 0;	/* trailing whitespace of the last line */
		break;
	case QPD_CR:
		if ((r = qp_flush_ws(d, out)) == 0)
			r = buf_putc(out, '\r');
		break;
	case QPD_EQ_HEX:
		r = qp_bad_escape(d, out);
		break;
	default:
		break;		/* "=", "= ", "=\r": soft break at the end */
	}
	d->nws = 0;
	d->col = 0;
	d->state = QPD_TEXT;
	return r;
}

/* codec_dec_feed - decode a chunk, appending to out */
int
codec_dec_feed(struct codec_dec *d, const void *data, size_t len,
    struct buf *out)
{
	const unsigned char *p = data;
	size_t i;

	switch (d->cte) {
	case CODEC_CTE_BASE64:
		return b64_dec_feed(d, p, len, out);
	case CODEC_CTE_QP:
		for (i = 0; i < len; i++)
			if (qp_dec_byte(d, p[i], out) == -1)
				return -1;
		return 0;
	default:
		return buf_append(out, p, len);
	}
}

/* codec_dec_finish - flush what the decoder held at the end of the data */
int
codec_dec_finish(struct codec_dec *d, struct buf *out)
{
	switch (d->cte) {
	case CODEC_CTE_BASE64:
		return b64_dec_finish(d, out);
	case CODEC_CTE_QP:
		return qp_dec_finish(d, out);
	default:
		return 0;
	}
}

/* dec_once - decode a whole buffer with a fresh decoder */
static int
dec_once(enum codec_cte cte, const void *p, size_t n, struct buf *out,
    unsigned *defects)
{
	struct codec_dec d;

	codec_dec_init(&d, cte);
	if (codec_dec_feed(&d, p, n, out) == -1 ||
	    codec_dec_finish(&d, out) == -1)
		return -1;
	if (defects != NULL)
		*defects = d.defects;
	return 0;
}

/* codec_b64_decode - decode a whole base64 buffer */
int
codec_b64_decode(const void *p, size_t n, struct buf *out, unsigned *defects)
{
	return dec_once(CODEC_CTE_BASE64, p, n, out, defects);
}

/* codec_qp_decode - decode a whole quoted-printable buffer */
int
codec_qp_decode(const void *p, size_t n, struct buf *out, unsigned *defects)
{
	return dec_once(CODEC_CTE_QP, p, n, out, defects);
}

/* codec_enc_init - an encoder for base64 or quoted-printable */
void
codec_enc_init(struct codec_enc *e, enum codec_cte cte, unsigned flags)
{
	memset(e, 0, sizeof(*e));
	e->cte = cte;
	e->flags = flags;
}

/* enc_out - write encoded bytes, or only count them when out is NULL */
static int
enc_out(struct codec_enc *e, const char *s, size_t n, struct buf *out)
{
	if (out != NULL && buf_append(out, s, n) == -1)
		return -1;
	e->total += n;
	return 0;
}

/* b64_group - encode one group of 1 to 3 bytes, breaking lines at 76 */
static int
b64_group(struct codec_enc *e, const unsigned char *g, unsigned n,
    struct buf *out)
{
	char q[4];
	unsigned v;

	v = (unsigned)g[0] << 16 | (n > 1 ? (unsigned)g[1] << 8 : 0) |
	    (n > 2 ? g[2] : 0);
	q[0] = b64_alphabet[v >> 18 & 63];
	q[1] = b64_alphabet[v >> 12 & 63];
	q[2] = n > 1 ? b64_alphabet[v >> 6 & 63] : '=';
	q[3] = n > 2 ? b64_alphabet[v & 63] : '=';
	if (enc_out(e, q, 4, out) == -1)
		return -1;
	e->col += 4;
	if (e->col >= CODEC_LINE_MAX) {
		e->col = 0;
		return enc_out(e, "\r\n", 2, out);
	}
	return 0;
}

/* A base64 line: 57 bytes in, 76 characters out. */
#define B64_LINE_IN	(CODEC_LINE_MAX / 4 * 3)

#if defined(CODEC_SSSE3)
/*
 * b64_lines_ssse3 - nlines whole lines of base64, each ending in CRLF:
 * per line four steps of 12 bytes to 16 characters, then 9 bytes (three
 * groups) as b64_enc_bulk writes them. A step spreads each group of three
 * bytes a, b, c over a 32-bit lane as b a c b; two 16-bit multiplies move
 * the four 6-bit values to the lane's four bytes (low word a:b gives
 * a >> 2 and the next six bits, high word b:c the last twelve); a class
 * per value (0-25, 26-51, 52-61, 62, 63) picks the offset to its
 * character. The loads read 16 bytes for 12, all inside the line.
 */
__attribute__((target("ssse3"))) static char *
b64_lines_ssse3(const unsigned char *p, size_t nlines, char *o)
{
	const __m128i spread = _mm_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4,
	    7, 6, 8, 7, 10, 9, 11, 10);
	const __m128i offset = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52,
	    '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
	    '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
	__m128i in, hi, lo, idx, cls;
	size_t l;
	unsigned v, g, k;

	for (l = 0; l < nlines; l++, p += B64_LINE_IN) {
		for (k = 0; k < 48; k += 12) {
			in = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)
			    (const void *)(p + k)), spread);
			/* a >> 2 to byte 0, b & 15 c >> 6 to byte 2 */
			hi = _mm_mulhi_epu16(_mm_and_si128(in,
			    _mm_set1_epi32(0x0fc0fc00)),
			    _mm_set1_epi32(0x04000040));
			/* a & 3 b >> 4 to byte 1, c & 63 to byte 3 */
			lo = _mm_mullo_epi16(_mm_and_si128(in,
			    _mm_set1_epi32(0x003f03f0)),
			    _mm_set1_epi32(0x01000010));
			idx = _mm_or_si128(hi, lo);
			/* class: 0 for 26-51, 1-12 for 52-63, 13 for 0-25 */
			cls = _mm_or_si128(_mm_subs_epu8(idx,
			    _mm_set1_epi8(51)), _mm_and_si128(_mm_cmpgt_epi8(
			    _mm_set1_epi8(26), idx), _mm_set1_epi8(13)));
			_mm_storeu_si128((__m128i *)(void *)o, _mm_add_epi8(idx,
			    _mm_shuffle_epi8(offset, cls)));
			o += 16;
		}
		for (g = 48; g < B64_LINE_IN; g += 3) {
			v = (unsigned)p[g] << 16 | (unsigned)p[g + 1] << 8 |
			    p[g + 2];
			o[0] = b64_alphabet[v >> 18 & 63];
			o[1] = b64_alphabet[v >> 12 & 63];
			o[2] = b64_alphabet[v >> 6 & 63];
			o[3] = b64_alphabet[v & 63];
			o += 4;
		}
		*o++ = '\r';
		*o++ = '\n';
	}
	return o;
}
#endif

/* b64_enc_bulk - the whole groups of p written straight into out, the
 * rest held: what b64_group does a group at a time, without a call and an
 * append per four characters (the 7-bit downgrade's cost); whole lines
 * from column 0 through b64_lines_ssse3 where the CPU has SSSE3 */
static int
b64_enc_bulk(struct codec_enc *e, const unsigned char *p, size_t n,
    struct buf *out)
{
	size_t groups = n / 3, need, i;
	unsigned v, col = e->col;
	char *o, *start;

	/* 4 characters a group, a line break at most every 19 groups */
	if (groups > (SIZE_MAX - 64) / 6) {
		errno = ENOMEM;
		return -1;
	}
	need = groups * 4 + (groups / (CODEC_LINE_MAX / 4) + 1) * 2;
	if (buf_reserve(out, need) == -1)
		return -1;
	start = o = out->data + out->len;
	for (i = 0; i < groups; i++, p += 3) {
#if defined(CODEC_SSSE3)
		size_t lines;

		if (col == 0 && (lines = (groups - i) / (B64_LINE_IN / 3)) >
		    0 && __builtin_cpu_supports("ssse3")) {
			o = b64_lines_ssse3(p, lines, o);
			i += lines * (B64_LINE_IN / 3);
			p += lines * B64_LINE_IN;
			if (i == groups)
				break;
		}
#endif
		v = (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
		o[0] = b64_alphabet[v >> 18 & 63];
		o[1] = b64_alphabet[v >> 12 & 63];
		o[2] = b64_alphabet[v >> 6 & 63];
		o[3] = b64_alphabet[v & 63];
		o += 4;
		if ((col += 4) >= CODEC_LINE_MAX) {
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
	}
	out->len += (size_t)(o - start);
	out->data[out->len] = '\0';
	e->total += (size_t)(o - start);
	e->col = col;
	for (n -= groups * 3; n > 0; n--)
		e->hold[e->nhold++] = *p++;
	return 0;
}

/* qp_token - write one literal byte or =XX triplet, soft-breaking first */
static int
qp_token(struct codec_enc *e, const char *t, unsigned n, struct buf *out)
{
	/* The line may hold 75 characters plus the "=" of a soft break;
	 * a triplet moves to the next line whole. */
	if (e->col + n > CODEC_LINE_MAX - 1) {
		if (enc_out(e, "=\r\n", 3, out) == -1)
			return -1;
		e->col = 0;
	}
	if (enc_out(e, t, n, out) == -1)
		return -1;
	e->col += n;
	return 0;
}

/* qp_byte - encode one data byte as itself or as =XX */
static int
qp_byte(struct codec_enc *e, unsigned char c, int literal_ok,
    struct buf *out)
{
	char t[3];

	if (literal_ok && ((c >= 33 && c <= 126 && c != '=') ||
	    c == ' ' || c == '\t')) {
		t[0] = (char)c;
		return qp_token(e, t, 1, out);
	}
	t[0] = '=';
	t[1] = hex_upper(c >> 4);
	t[2] = hex_upper(c);
	return qp_token(e, t, 3, out);
}

/* qp_release - write the held whitespace, encoded if a line ends next */
static int
qp_release(struct codec_enc *e, int at_line_end, struct buf *out)
{
	if (e->nhold == 0)
		return 0;
	e->nhold = 0;
	return qp_byte(e, e->hold[0], !at_line_end, out);
}

/* The columns before the "=" of a soft break. */
#define QPC_ROOM	(CODEC_LINE_MAX - 1)

#if defined(__SSE2__)
/*
 * qp_class16 - the QP tokens of the 16 bytes at p (p[16] and p[17]
 * readable too) when no byte is held before them: *one marks the bytes
 * written as themselves (printable ASCII but "=", a space or tab not last
 * on its line, which text mode tells from the next two bytes), *zero
 * those written as no token (the CR of a CRLF, an LF: a hard break);
 * the others are =XX triplets (a blank before a line break included).
 * Returns the bit mask of the LFs (text mode; 0 in binary mode, where CR
 * and LF are data and any next byte releases a blank as itself).
 */
static inline unsigned
qp_class16(const unsigned char *p, int text, __m128i *one, __m128i *zero)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i t, lit, ws;

	t = _mm_sub_epi8(v, _mm_set1_epi8(33));
	lit = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('=')),
	    _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(93)), t));
	ws = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
	if (text) {
		const __m128i n1 = _mm_loadu_si128((const __m128i *)(const
		    void *)(p + 1));
		const __m128i n2 = _mm_loadu_si128((const __m128i *)(const
		    void *)(p + 2));
		const __m128i n1lf = _mm_cmpeq_epi8(n1, _mm_set1_epi8('\n'));
		const __m128i lfv = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
		__m128i wsend;

		wsend = _mm_and_si128(ws, _mm_or_si128(n1lf, _mm_and_si128(
		    _mm_cmpeq_epi8(n1, _mm_set1_epi8('\r')),
		    _mm_cmpeq_epi8(n2, _mm_set1_epi8('\n')))));
		*one = _mm_or_si128(lit, _mm_andnot_si128(wsend, ws));
		*zero = _mm_or_si128(lfv, _mm_and_si128(_mm_cmpeq_epi8(v,
		    _mm_set1_epi8('\r')), n1lf));
		return (unsigned)_mm_movemask_epi8(lfv);
	}
	*one = _mm_or_si128(lit, ws);
	*zero = _mm_setzero_si128();
	return 0;
}
#endif

/*
 * qp_enc_direct - the QP encoder for a chunk, written straight into out
 * after one reservation (the worst case: a held blank and a held CR, then
 * six characters a byte, a triplet and a soft break, and two to spare).
 * Where nothing is held, 16 bytes at a time by the token classes of
 * qp_class16 (a whole 16 copied when all are one-character tokens that
 * fit on the line); elsewhere byte by byte, a lone CR and a space or tab
 * held until the next byte shows what they are. This went through a call
 * and an append per character (14 ns a byte), the 7-bit downgrade's cost
 * for mostly-ASCII text, which is written as quoted-printable.
 */
static int
qp_enc_direct(struct codec_enc *e, const unsigned char *p, size_t len,
    struct buf *out)
{
	int text = !(e->flags & CODEC_ENC_BINARY), held_cr = e->held_cr;
	unsigned col = e->col, nhold = e->nhold;
	unsigned char c, hold = e->hold[0];
	size_t i = 0;
	char *o, *start;

	if (len > (SIZE_MAX - 64) / 6) {
		errno = ENOMEM;
		return -1;
	}
	if (buf_reserve(out, len * 6 + 16) == -1)
		return -1;
	start = o = out->data + out->len;
#define QPD_SOFT(n) do {						\
	if (col + (n) > QPC_ROOM) {					\
		*o++ = '=';						\
		*o++ = '\r';						\
		*o++ = '\n';						\
		col = 0;						\
	}								\
} while (0)
#define QPD_LIT(ch) do {						\
	QPD_SOFT(1);							\
	*o++ = (char)(ch);						\
	col++;								\
} while (0)
#define QPD_ESC(ch) do {						\
	QPD_SOFT(3);							\
	*o++ = '=';							\
	*o++ = hex_upper((unsigned)(ch) >> 4);				\
	*o++ = hex_upper(ch);						\
	col += 3;							\
} while (0)
	/* a hard break: a blank held at the line end is escaped */
#define QPD_BREAK() do {						\
	if (nhold) {							\
		nhold = 0;						\
		QPD_ESC(hold);						\
	}								\
	*o++ = '\r';							\
	*o++ = '\n';							\
	col = 0;							\
} while (0)
	while (i < len) {
#if defined(__SSE2__)
		if (!nhold && !held_cr && len - i >= 18) {
			__m128i one, zero;
			unsigned lf, m1, mz, k, n, lit;

			lf = qp_class16(p + i, text, &one, &zero);
			m1 = (unsigned)_mm_movemask_epi8(one);
			mz = (unsigned)_mm_movemask_epi8(zero);
			if (m1 == 0xffff && col + 16 <= QPC_ROOM) {
				memcpy(o, p + i, 16);
				o += 16;
				col += 16;
				i += 16;
				continue;
			}
			for (k = 0; k < 16; k++) {
				if (mz >> k & 1) {
					/* an LF breaks the line; the CR
					 * before one is part of it */
					if (lf >> k & 1) {
						*o++ = '\r';
						*o++ = '\n';
						col = 0;
					}
					continue;
				}
				/* itself or =XX, without a branch: the
				 * digits are overwritten after a byte
				 * written as itself */
				c = p[i + k];
				lit = m1 >> k & 1;
				n = 3 - 2 * lit;
				QPD_SOFT(n);
				o[0] = (char)('=' + ((c - '=') & -lit));
				o[1] = hex_upper((unsigned)c >> 4);
				o[2] = hex_upper(c);
				o += n;
				col += n;
			}
			i += 16;
			continue;
		}
#endif
		c = p[i++];
		if (held_cr) {
			held_cr = 0;
			if (c == '\n') {
				QPD_BREAK();
				continue;
			}
			if (nhold) {
				nhold = 0;
				QPD_LIT(hold);
			}
			QPD_ESC('\r');
		}
		if (text && c == '\r') {
			held_cr = 1;
			continue;
		}
		if (text && c == '\n') {
			QPD_BREAK();
			continue;
		}
		if (nhold) {
			nhold = 0;
			QPD_LIT(hold);
		}
		if (c == ' ' || c == '\t') {
			hold = c;
			nhold = 1;
		} else if (c >= 33 && c <= 126 && c != '=')
			QPD_LIT(c);
		else
			QPD_ESC(c);
	}
#undef QPD_SOFT
#undef QPD_LIT
#undef QPD_ESC
#undef QPD_BREAK
	out->len += (size_t)(o - start);
	out->data[out->len] = '\0';
	e->total += (size_t)(o - start);
	e->col = col;
	e->nhold = nhold;
	e->hold[0] = hold;
	e->held_cr = held_cr;
	return 0;
}

/*
 * The QP encoder's size without output: the same steps as qp_enc_direct (a
 * held CR, a held space or tab, triplets, soft breaks before column 76)
 * on a copy of the state. Counting every text part's QP size in pass 1
 * of charset repair was a tenth of the intake's time, and with --7bit
 * (where every part is counted, then mostly written as base64) more than
 * half of imc-convert's. check_codec holds it equal to the encoder's
 * output, chunk by chunk.
 */
struct qpc {
	unsigned	 col, nhold;
	int		 held_cr, text;
	size_t		 total;
};

/* qpc_token - one token of n characters, soft-breaking first */
static inline void
qpc_token(struct qpc *q, unsigned n)
{
	if (q->col + n > QPC_ROOM) {
		q->total += 3;
		q->col = 0;
	}
	q->total += n;
	q->col += n;
}

/* qpc_break - a hard break: a space or tab held at the line end is
 * escaped */
static inline void
qpc_break(struct qpc *q)
{
	if (q->nhold) {
		q->nhold = 0;
		qpc_token(q, 3);
	}
	q->total += 2;
	q->col = 0;
}

/* qpc_byte - one byte, as qp_enc_direct steps through it */
static inline void
qpc_byte(struct qpc *q, unsigned char c)
{
	if (q->held_cr) {
		q->held_cr = 0;
		if (c == '\n') {
			qpc_break(q);
			return;
		}
		if (q->nhold) {
			q->nhold = 0;
			qpc_token(q, 1);
		}
		qpc_token(q, 3);	/* the lone CR, escaped */
	}
	if (q->text && c == '\r') {
		q->held_cr = 1;
		return;
	}
	if (q->text && c == '\n') {
		qpc_break(q);
		return;
	}
	if (q->nhold) {
		q->nhold = 0;
		qpc_token(q, 1);
	}
	if (c == ' ' || c == '\t')
		q->nhold = 1;
	else if (c >= 33 && c <= 126 && c != '=')
		qpc_token(q, 1);
	else
		qpc_token(q, 3);
}

#if defined(__SSE2__)
/*
 * qpc_block16 - the 16 bytes at p (p[16] and p[17] readable too), no
 * byte held before them. Each byte's token size comes from its class and
 * the next two bytes: 1 for printable ASCII but "=" and for a blank not
 * last on its line, 3 for a triplet (a blank before a line break
 * included), 0 for the CR of a CRLF and for an LF, after which comes a
 * hard break. Prefix sums of the sizes give each line's width; a line
 * that would pass column 75 soft-breaks before its first token beyond,
 * and once at most: 16 tokens are 48 columns at most.
 */
static inline void
qpc_block16(struct qpc *q, const unsigned char *p)
{
	__m128i one, zero, sz, pre;
	unsigned lf, a, b, base, seg, j, m;
	int at_lf;
	unsigned char pv[16];

	lf = qp_class16(p, q->text, &one, &zero);
	sz = _mm_andnot_si128(zero, _mm_sub_epi8(_mm_set1_epi8(3),
	    _mm_and_si128(one, _mm_set1_epi8(2))));
	pre = _mm_add_epi8(sz, _mm_slli_si128(sz, 1));
	pre = _mm_add_epi8(pre, _mm_slli_si128(pre, 2));
	pre = _mm_add_epi8(pre, _mm_slli_si128(pre, 4));
	pre = _mm_add_epi8(pre, _mm_slli_si128(pre, 8));
	if (lf == 0) {
		seg = (unsigned)_mm_extract_epi16(pre, 7) >> 8;
		if (q->col + seg <= QPC_ROOM) {
			q->col += seg;
			q->total += seg;
			return;
		}
	}
	_mm_storeu_si128((__m128i *)(void *)pv, pre);
	/* lines: [a, b], b an LF or the last byte */
	for (a = 0;;) {
		at_lf = lf != 0;
		b = at_lf ? (unsigned)__builtin_ctz(lf) : 15;
		base = a > 0 ? pv[a - 1] : 0;
		seg = pv[b] - base;
		q->total += seg;
		if (q->col + seg > QPC_ROOM) {
			/* the first token past the column: pv[j] exceeds
			 * it (values up to 48 + 75: signed bytes do; the
			 * lanes before a hold base at most, never more) */
			m = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(pre,
			    _mm_set1_epi8((char)(QPC_ROOM - q->col + base))));
			j = (unsigned)__builtin_ctz(m);
			q->total += 3;
			q->col = pv[b] - (j > 0 ? pv[j - 1] : 0);
		} else
			q->col += seg;
		if (!at_lf)
			break;
		q->total += 2;
		q->col = 0;
		lf &= lf - 1;
		if ((a = b + 1) == 16)
			break;
	}
}
#endif

/* qp_count - the QP encoder's total, col and held bytes after p[0..len):
 * 16 bytes at a time by token sizes (qpc_block16) where nothing is held,
 * the rest byte by byte (qpc_byte) */
static void
qp_count(struct codec_enc *e, const unsigned char *p, size_t len)
{
	struct qpc q;
	size_t i = 0;

	q.col = e->col;
	q.nhold = e->nhold;
	q.held_cr = e->held_cr;
	q.text = !(e->flags & CODEC_ENC_BINARY);
	q.total = e->total;
#if defined(__SSE2__)
	while (len - i >= 18) {
		if (q.nhold || q.held_cr)
			qpc_byte(&q, p[i++]);
		else {
			qpc_block16(&q, p + i);
			i += 16;
		}
	}
#endif
	for (; i < len; i++)
		qpc_byte(&q, p[i]);
	e->col = q.col;
	e->nhold = q.nhold;
	/* codec_enc_finish releases a held byte through qp_byte: any space
	 * or tab has the size of the one held */
	e->hold[0] = ' ';
	e->held_cr = q.held_cr;
	e->total = q.total;
}

/* codec_enc_feed - encode a chunk, appending to out (NULL: count only) */
int
codec_enc_feed(struct codec_enc *e, const void *data, size_t len,
    struct buf *out)
{
	const unsigned char *p = data;
	size_t i;

	if (e->cte == CODEC_CTE_BASE64) {
		for (i = 0; i < len && (e->nhold > 0 || out == NULL ||
		    len - i < 3); i++) {
			e->hold[e->nhold++] = p[i];
			if (e->nhold == 3) {
				e->nhold = 0;
				if (b64_group(e, e->hold, 3, out) == -1)
					return -1;
			}
		}
		if (i < len)
			return b64_enc_bulk(e, p + i, len - i, out);
		return 0;
	}
	if (e->cte == CODEC_CTE_QP) {
		if (out == NULL) {
			qp_count(e, p, len);
			return 0;
		}
		return qp_enc_direct(e, p, len, out);
	}
	return enc_out(e, data, len, out);
}

/* codec_enc_finish - flush the held bytes and end the last line */
int
codec_enc_finish(struct codec_enc *e, struct buf *out)
{
	if (e->cte == CODEC_CTE_BASE64) {
		if (e->nhold > 0 && b64_group(e, e->hold, e->nhold, out) == -1)
			return -1;
		e->nhold = 0;
		if (e->col > 0) {
			e->col = 0;
			return enc_out(e, "\r\n", 2, out);
		}
		return 0;
	}
	if (e->cte == CODEC_CTE_QP) {
		if (e->held_cr) {
			e->held_cr = 0;
			if (qp_release(e, 0, out) == -1 ||
			    qp_byte(e, '\r', 0, out) == -1)
				return -1;
		}
		/* Whitespace at the very end is trailing: encode it. */
		return qp_release(e, 1, out);
	}
	return 0;
}

/* enc_once - encode a whole buffer with a fresh encoder */
static int
enc_once(enum codec_cte cte, unsigned flags, const void *p, size_t n,
    struct buf *out, size_t *total)
{
	struct codec_enc e;

	codec_enc_init(&e, cte, flags);
	if (codec_enc_feed(&e, p, n, out) == -1 ||
	    codec_enc_finish(&e, out) == -1)
		return -1;
	if (total != NULL)
		*total = e.total;
	return 0;
}

/* codec_b64_encode - encode a whole buffer as base64 lines */
int
codec_b64_encode(const void *p, size_t n, struct buf *out)
{
	return enc_once(CODEC_CTE_BASE64, 0, p, n, out, NULL);
}

/* codec_qp_encode - encode a whole buffer as quoted-printable */
int
codec_qp_encode(const void *p, size_t n, unsigned flags, struct buf *out)
{
	return enc_once(CODEC_CTE_QP, flags, p, n, out, NULL);
}

/* codec_b64_encoded_len - size of codec_b64_encode output for n bytes */
size_t
codec_b64_encoded_len(size_t n)
{
	size_t chars, lines;

	chars = (n / 3 + (n % 3 != 0)) * 4;
	lines = chars / CODEC_LINE_MAX + (chars % CODEC_LINE_MAX != 0);
	return chars + 2 * lines;
}

/* codec_qp_encoded_len - size of codec_qp_encode output */
size_t
codec_qp_encoded_len(const void *p, size_t n, unsigned flags)
{
	size_t total = 0;

	/* Counting never allocates, so this cannot fail. */
	(void)enc_once(CODEC_CTE_QP, flags, p, n, NULL, &total);
	return total;
}

/* codec_choose_7bit - QP or base64, whichever is smaller (QP on a tie) */
enum codec_cte
codec_choose_7bit(const void *p, size_t n, unsigned flags)
{
	if (codec_qp_encoded_len(p, n, flags) <= codec_b64_encoded_len(n))
		return CODEC_CTE_QP;
	return CODEC_CTE_BASE64;
}

/* codec_cte_parse - a Content-Transfer-Encoding value (trimmed, any case) */
enum codec_cte
codec_cte_parse(const char *s, size_t n)
{
	static const struct {
		const char	*name;
		enum codec_cte	 cte;
	} names[] = {
		{ "7bit", CODEC_CTE_7BIT },
		{ "8bit", CODEC_CTE_8BIT },
		{ "binary", CODEC_CTE_BINARY },
		{ "quoted-printable", CODEC_CTE_QP },
		{ "base64", CODEC_CTE_BASE64 },
		/* Seen in the wild. */
		{ "7-bit", CODEC_CTE_7BIT },
		{ "8-bit", CODEC_CTE_8BIT },
		{ "quoted_printable", CODEC_CTE_QP },
		{ "x-base64", CODEC_CTE_BASE64 },
	};
	size_t i;

	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n &&
		    strncasecmp(names[i].name, s, n) == 0)
			return names[i].cte;
	return CODEC_CTE_UNKNOWN;
}

/* codec_cte_name - the canonical name of a transfer encoding */
const char *
codec_cte_name(enum codec_cte cte)
{
	switch (cte) {
	case CODEC_CTE_7BIT:
		return "7bit";
	case CODEC_CTE_8BIT:
		return "8bit";
	case CODEC_CTE_BINARY:
		return "binary";
	case CODEC_CTE_QP:
		return "quoted-printable";
	case CODEC_CTE_BASE64:
		return "base64";
	default:
		return "unknown";
	}
}
