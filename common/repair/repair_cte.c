/*
 * repair_cte - transfer encodings of the repair library (see
 * repair_int.h): counting what a body holds (8-bit bytes, the longest
 * line, its exact size as quoted-printable) without keeping it; choosing
 * what a part is written as (7bit, 8bit, quoted-printable or base64) when
 * its content stays as it is or after conversion; decoding input chunks
 * of either pass; bare LF to CRLF. The encoders and decoders themselves
 * are common/codec.h's.
 */
#include "repair_int.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* repair_cte_stat_init - start counting a stream */
void
repair_cte_stat_init(struct rp_ostat *o, unsigned qp_flags)
{
	memset(o, 0, sizeof(*o));
	codec_enc_init(&o->qp, CODEC_CTE_QP, qp_flags);
}

/*
 * repair_cte_stat_feed - count more of the stream: 8-bit bytes a word at
 * a time until the first; lines only as far as RP_LINE_MAX matters (see
 * rp_ostat.maxline): the last LF among the next bytes that cannot hold a
 * line over the limit ends every line before it, all short, so short
 * lines cost one backward search per window instead of a search each.
 * A line that reaches past the window is measured exactly.
 */
void
repair_cte_stat_feed(struct rp_ostat *o, const void *p, size_t n)
{
	repair_cte_stat_feed8(o, p, n, n > 0 && !o->has8 &&
	    charset_has_8bit(p, n));
}

/* repair_cte_stat_feed8 - the same, for bytes the caller has looked at
 * already: has8, do they hold a byte above 127 (pass 1 scans each chunk
 * once for it, not once per count) */
void
repair_cte_stat_feed8(struct rp_ostat *o, const void *p, size_t n, int has8)
{
	const unsigned char *s = p, *end, *nl;
	size_t l, w, room;
	int cr;

	if (n == 0)
		return;		/* p may be NULL */
	end = s + n;
	if (has8)
		o->has8 = 1;
	while (s < end) {
		/* a line ending among the next room bytes has at most
		 * RP_LINE_MAX before its LF (none if the line has as many) */
		room = o->col < RP_LINE_MAX ? RP_LINE_MAX - o->col + 1 : 0;
		w = (size_t)(end - s) < room ? (size_t)(end - s) : room;
		if (w > 0 && (nl = memrchr(s, '\n', w)) != NULL) {
			o->col = 0;
			o->prev_cr = 0;
			s = nl + 1;
			continue;
		}
		if (w == (size_t)(end - s))
			break;		/* the chunk ends in the line */
		if ((nl = memchr(s + w, '\n', (size_t)(end - s) - w)) ==
		    NULL)
			break;
		/* the line's length without its CR (which may have ended
		 * the previous chunk) */
		cr = nl > s ? nl[-1] == '\r' : o->prev_cr;
		l = o->col + (size_t)(nl - s) - (cr ? 1 : 0);
		if (l > o->maxline)
			o->maxline = l;
		o->col = 0;
		o->prev_cr = 0;
		s = nl + 1;
	}
	if (s < end) {
		o->col += (size_t)(end - s);
		o->prev_cr = end[-1] == '\r';
	}
	o->total += n;
	if (!o->noqp)		/* counting: no memory */
		(void)codec_enc_feed(&o->qp, p, n, NULL);
}

/* repair_cte_stat_finish - the stream is over */
void
repair_cte_stat_finish(struct rp_ostat *o)
{
	if (o->col > o->maxline)
		o->maxline = o->col;
	if (!o->noqp)
		(void)codec_enc_finish(&o->qp, NULL);
}

/*
 * rp_qp_or_base64 - the transfer encoding for a body that must be encoded:
 * quoted-printable while it is no larger than base64, else base64.
 *
 * QP writes an escaped byte as three characters and soft-breaks long lines
 * (about 4% more); base64 writes every byte as 4/3 of a character plus line
 * breaks (about 1.37 in all). The two meet when about 1/6 of the bytes need
 * escaping: below that QP is smaller and keeps mostly-ASCII text readable,
 * above it QP grows up to three times (six for Latin-1 read into UTF-8),
 * which is how a 3 MB Latin-1 line became 18.7 MB. The QP size is counted
 * exactly in pass 1, so the comparison is exact rather than a guessed share.
 */
static enum codec_cte
rp_qp_or_base64(struct rp_state *st, const struct rp_ostat *o)
{
	if (o->noqp) {
		/* not counted (see repair_scan.c): pass 1 runs again */
		st->qp_missing = 1;
		return CODEC_CTE_BASE64;
	}
	return o->qp.total <= codec_b64_encoded_len((size_t)o->total) ?
	    CODEC_CTE_QP : CODEC_CTE_BASE64;
}

/* repair_cte_bare_lf - offset of the first LF in s[0..n) with no CR
 * before it (prev_cr: the byte before s was a CR), or n if none: text
 * is mostly CRLF lines, so this scans 16 bytes at a time where SSE2 is
 * (every x86-64) instead of stopping at every line */
size_t
repair_cte_bare_lf(const char *s, size_t n, int prev_cr)
{
	size_t i = 0;
#if defined(__SSE2__)
	const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
	__m128i v;
	unsigned l, c, carry;

	for (; n - i >= 16; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		if ((l = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)))
		    == 0)
			continue;
		c = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, cr));
		carry = i > 0 ? s[i - 1] == '\r' : prev_cr != 0;
		/* an LF whose byte before is no CR */
		if ((l &= ~(c << 1 | carry)) != 0)
			return i + (size_t)__builtin_ctz(l);
	}
#endif
	for (; i < n; i++)
		if (s[i] == '\n' && !(i > 0 ? s[i - 1] == '\r' : prev_cr))
			return i;
	return n;
}

/* repair_cte_crlf - bare LF to CRLF, with the CR state kept across chunks.
 * The lines are copied straight into out's room (LF-ended text, the
 * store's copy, has a bare LF on every line: a buf_append per piece cost
 * more than the scan); out grows as buf_append would make it. */
int
repair_cte_crlf(const char *s, size_t n, int *prev_cr, struct buf *out)
{
	const char *p = s, *end;
	size_t k, left;
	int pc;

	if (n == 0)
		return 0;	/* s may be NULL */
	end = s + n;
	pc = *prev_cr;
	if (buf_reserve(out, n) == -1)
		return -1;
	while ((k = repair_cte_bare_lf(p, (size_t)(end - p), pc)) <
	    (size_t)(end - p)) {
		/* the line, CR LF, and the rest as it is at most */
		left = (size_t)(end - p) - k - 1;
		if (out->cap - out->len - 1 < k + 2 + left &&
		    buf_reserve(out, k + 2 + left) == -1)
			return -1;
		memcpy(out->data + out->len, p, k);
		out->data[out->len + k] = '\r';
		out->data[out->len + k + 1] = '\n';
		out->len += k + 2;
		p += k + 1;
		pc = 0;		/* the byte before p is that LF */
	}
	*prev_cr = s[n - 1] == '\r';
	memcpy(out->data + out->len, p, (size_t)(end - p));
	out->len += (size_t)(end - p);
	out->data[out->len] = '\0';
	return 0;
}

/* repair_cte_decode - raw body bytes to decoded content (both passes) */
int
repair_cte_decode(struct codec_dec *cd, int norm, int *prev_cr, const char *s,
    size_t n, int fin, struct buf *tmp, struct buf *out)
{
	buf_reset(tmp);
	buf_reset(out);
	if (cd->cte != CODEC_CTE_QP && cd->cte != CODEC_CTE_BASE64) {
		/* the identity: no copy through tmp */
		if (s == NULL)
			return 0;
		return norm ? repair_cte_crlf(s, n, prev_cr, out) :
		    buf_append(out, s, n);
	}
	if ((s != NULL && codec_dec_feed(cd, s, n, tmp) == -1) ||
	    (fin && codec_dec_finish(cd, tmp) == -1))
		return -1;
	if (!norm)
		return buf_append(out, tmp->data, tmp->len);
	return repair_cte_crlf(tmp->data ? tmp->data : "", tmp->len, prev_cr,
	    out);
}

/* repair_cte_for - the transfer encoding a body needs */
enum codec_cte
repair_cte_for(struct rp_state *st, const struct rp_ostat *o,
    enum codec_cte in, int reencoding)
{
	/* converted content was encoded: it stays encoded, base64 as it
	 * was, quoted-printable unless converting made base64 smaller */
	if (reencoding && in == CODEC_CTE_BASE64)
		return in;
	if ((reencoding && in == CODEC_CTE_QP) ||
	    (o->has8 && st->opts->seven_bit) || o->maxline > RP_LINE_MAX)
		return rp_qp_or_base64(st, o);
	return o->has8 ? CODEC_CTE_8BIT : CODEC_CTE_7BIT;
}

/* repair_cte_decide - PASS or REENCODE for content that stays as it is */
void
repair_cte_decide(struct rp_state *st, const struct mime_part *mp,
    struct rp_plan *pl, struct buf *why)
{
	struct rp_scan *sc = &st->scan;
	enum codec_cte in = mp->cte, want;

	pl->action = RP_PASS;
	pl->out_cte = (unsigned char)in;
	pl->out8 = sc->raw.has8;
	if (in == CODEC_CTE_UNKNOWN) {
		if (sc->raw.has8 && st->opts->seven_bit)
			(void)buf_puts(why, "; 8-bit body in an unknown "
			    "transfer encoding cannot be downgraded, left as "
			    "is");
		return;
	}
	if (in == CODEC_CTE_QP || in == CODEC_CTE_BASE64) {
		if (sc->raw.maxline > RP_LINE_MAX || (sc->raw.has8 &&
		    st->opts->seven_bit)) {
			pl->action = RP_REENCODE;
			pl->out8 = 0;
			(void)buf_printf(why, "; re-encoded as %s (%s)",
			    codec_cte_name(in), sc->raw.has8 ?
			    "raw 8-bit bytes" : "lines over 998 octets");
		}
		return;
	}
	if (in == CODEC_CTE_BINARY) {
		if (st->opts->seven_bit) {
			pl->action = RP_REENCODE;
			pl->enc_flags = pl->kind == RP_K_TEXT ? 0 :
			    CODEC_ENC_BINARY;
			pl->out_cte = (unsigned char)rp_qp_or_base64(st, &sc->d);
			pl->set_cte = 1;
			pl->out8 = 0;
			(void)buf_printf(why, "; downgraded to %s",
			    codec_cte_name((enum codec_cte)pl->out_cte));
		}
		return;
	}
	want = repair_cte_for(st, &sc->d, in, 0);
	if (want == CODEC_CTE_QP || want == CODEC_CTE_BASE64) {
		pl->action = RP_REENCODE;
		pl->out_cte = (unsigned char)want;
		pl->set_cte = 1;
		pl->out8 = 0;
		(void)buf_printf(why, "; %s as %s", sc->d.has8 &&
		    st->opts->seven_bit ? "downgraded to 7 bit" :
		    "lines over 998 octets re-encoded", codec_cte_name(want));
	} else if (want == CODEC_CTE_8BIT && in == CODEC_CTE_7BIT) {
		pl->out_cte = CODEC_CTE_8BIT;
		pl->set_cte = 1;
		(void)buf_puts(why, "; Content-Transfer-Encoding 8bit "
		    "(8-bit bytes)");
	}
}
