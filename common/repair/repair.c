/*
 * repair - charset repair and per-destination conversion (see repair.h).
 *
 * Pass 1 feeds the message to the MIME parser and decides, part by part,
 * what to do: it runs every candidate decoder of a text part (the label's
 * decoder, its windows-1252 reading for C1 bytes, its second choice; or
 * UTF-8 and the legacy charset for unlabelled text) and the target encoder
 * side by side, counting decoding errors, characters the target cannot
 * hold, 8-bit bytes, line lengths and the size of a quoted-printable or
 * base64 encoding, so that no part needs to be held in memory. The
 * decisions are kept in one small plan per part, in the order the parser
 * reports the parts. When no plan changes anything and the input has no
 * bare LF, nothing is written. Pass 2 feeds the message again and writes
 * it: header fields (rewritten where the plan or raw 8-bit text says so),
 * the blank line, boundary delimiters (regenerated: the parser does not
 * report them, so transport padding and text after a close delimiter are
 * not kept), and bodies passed through, re-encoded or converted.
 *
 * Line breaks of the output are CRLF, except inside bodies with
 * Content-Transfer-Encoding binary, which are data.
 *
 * Memory: one plan per part (RP_MAX_PARTS at most: a message with more
 * parts is passed on unchanged, and the report says so), the header field
 * being read, and chunk-sized buffers; bodies are never held.
 *
 * Not done here: guessing a charset (only "valid UTF-8, else the legacy
 * charset"), repairing broken encoded-words (they are decoded where the
 * header module can, and written again as clean words only when the field
 * had raw 8-bit text anyway), RFC 2231 encoding of raw 8-bit parameter
 * values (left as they are and reported), and <meta charset> in HTML.
 */
#include "repair.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "charset.h"
#include "codec.h"
#include "convert.h"
#include "mime.h"
#include "rfc2047.h"
#include "utf8.h"

#define RP_LINE_MAX	998		/* RFC 5322 2.1.1 */
#define RP_CHUNK	(64 * 1024)	/* read and write size */
#define RP_NCAND	4		/* candidate decoders of a text part */
/* Part numbers are kept per depth; the parser never goes deeper. */
#define RP_DEPTHS	(MIME_MAX_DEPTH + 2)
/* Parts planned per message (a plan is ~150 bytes); a message with more
 * is not repaired: it is passed on unchanged and the report says why. */
#define RP_MAX_PARTS	50000
/* A text subtype kept to write a broken Content-Type anew. */
#define RP_SUBTYPE_SIZE	64

enum rp_kind { RP_K_TEXT, RP_K_LEAF, RP_K_MULTI, RP_K_MESSAGE };
enum rp_action { RP_PASS, RP_REENCODE, RP_CONVERT };

/* What pass 2 does with one part, decided by pass 1. */
struct rp_plan {
	unsigned char	 kind;		/* enum rp_kind */
	unsigned char	 action;	/* enum rp_action */
	unsigned char	 out_cte;	/* enum codec_cte written */
	unsigned char	 enc_flags;	/* CODEC_ENC_* for re-encoding */
	unsigned char	 in_cte;	/* enum codec_cte of the input */
	unsigned	 norm:1;	/* decoded content: bare LF -> CRLF */
	unsigned	 set_cte:1;	/* write Content-Transfer-Encoding */
	unsigned	 out8:1;	/* the body written has 8-bit bytes */
	unsigned	 child8:1;	/* a descendant's body has them */
	unsigned	 has_ct:1;	/* a Content-Type field was seen */
	unsigned	 has_cte:1;	/* a Content-Transfer-Encoding field */
	unsigned	 changed:1;	/* anything of this part changes */
	unsigned	 bad_ct:1;	/* Content-Type to be written anew */
	unsigned	 has_mv:1;	/* a MIME-Version field was seen */
	unsigned	 in_msg:1;	/* the part is an enclosed message */
	const char	*label;		/* charset label to write, or NULL */
	const char	*enc;		/* RP_CONVERT: encoder, NULL: UTF-8 */
	char		 dec[CHARSET_NAME_SIZE];	/* RP_CONVERT: decoder */
	char		 sub[RP_SUBTYPE_SIZE];	/* bad_ct: the subtype */
};

/* Counts over a byte stream that may become a body. */
struct rp_ostat {
	uint64_t	 total;
	size_t		 col, maxline;
	int		 has8, prev_cr;
	int		 noqp;		/* the QP size is not needed */
	struct codec_enc qp;		/* counts only */
};

/* One way to read a text part. */
struct rp_cand {
	int		 used;
	char		 dec[CHARSET_NAME_SIZE];
	const char	*mime;		/* label of this reading, or NULL */
	const char	*enc;		/* encoder to try, NULL: UTF-8 */
	struct convert	*dc, *ec;
	int		 bad;		/* decoding errors or no decoder */
	int		 unmap;		/* the encoder cannot hold a char */
	struct rp_ostat	 u8, eo;	/* UTF-8 output, encoder output */
};

/* Pass 1 state of the leaf being read. */
struct rp_scan {
	int		 active;
	struct codec_dec cdec;
	int		 norm, prev_cr;
	int		 nodecode;	/* encoded attachment: raw counts only */
	int		 lazy, on;	/* candidates start at the first 8-bit */
	struct rp_ostat	 raw;		/* the body as written */
	struct rp_ostat	 d;		/* the decoded content */
	struct utf8_check u8v;
	int		 has_c1, has_esc;
	struct rp_cand	 cand[RP_NCAND];
	struct buf	 dbuf, t1, t2;
};

/* Pass 2 state of the leaf being written. */
struct rp_emit {
	struct codec_dec cdec;
	struct codec_enc cenc;
	struct convert	*dc, *ec;
	int		 norm, prev_cr, raw_prev_cr;
	struct buf	 dbuf, t1, t2, o;
};

struct rp_level {
	size_t		 plan;		/* index of the part at this depth */
	unsigned	 num;		/* its number among its siblings */
	unsigned	 nchild;	/* children seen */
	int		 closed;	/* pass 2: close delimiter written */
};

struct rp_state {
	const struct repair_opts *opts;
	struct repair_report *rep;
	int		 pass;		/* 1 or 2 */
	int		 failed;	/* errno of a failure, or 0 */
	/* options resolved */
	int		 t_utf8, t_preserve;
	const char	*t_mime, *t_enc;
	char		 legacy_dec[CHARSET_NAME_SIZE];
	const char	*legacy_mime;
	/* parts */
	struct rp_plan	*plans;
	size_t		 nplans, capplans, cur;
	int		 hdr_open;	/* a header block is being read */
	int		 saw_ct, saw_cte;	/* pass 2, this header block */
	int		 top_mime_version, need_mime_version;
	int		 changed;
	int		 bare_lf, in_prev_cr;
	struct rp_level	 lv[RP_DEPTHS];
	char		*bnd[RP_DEPTHS];	/* pass 2: boundaries by depth */
	int		 at_bol;	/* pass 2: output at a line start */
	int		 data_prev_cr;	/* pass 2: preamble/epilogue CR */
	struct rp_scan	 scan;
	struct rp_emit	 em;
	/* output */
	int		 out_fd;
	struct buf	 out;
	struct buf	 tmp;
	struct buf	 ct_raw;	/* pass 1: this part's Content-Type */
	int		 ct_seen;
};

/* ---------------------------------------------------------------- */
/* Small helpers. */

/* rp_fail - remember the first failure (errno) */
static int
rp_fail(struct rp_state *st, int err)
{
	if (st->failed == 0)
		st->failed = err != 0 ? err : EIO;
	return -1;
}

/* rp_has8 - does the text have a byte 0x80-0xFF */
static int
rp_has8(const char *s, size_t n)
{
	return charset_has_8bit(s, n);
}

/* rp_ascii_compatible - does the charset write ASCII as ASCII bytes */
static int
rp_ascii_compatible(const char *iconv_name)
{
	static const char *const not[] = { "UTF-16", "UTF-32", "UCS",
	    "UTF-7", "ISO-2022", "HZ", "CSISO2022", "UNICODE", NULL };
	size_t i;

	for (i = 0; not[i] != NULL; i++)
		if (strncasecmp(iconv_name, not[i], strlen(not[i])) == 0)
			return 0;
	return 1;
}

/* rp_buf_cut - shorten a buf to n bytes */
static void
rp_buf_cut(struct buf *b, size_t n)
{
	if (b->data != NULL && n <= b->len) {
		b->len = n;
		b->data[n] = '\0';
	}
}

/* rp_ostat_init - start counting a stream */
static void
rp_ostat_init(struct rp_ostat *o, unsigned qp_flags)
{
	memset(o, 0, sizeof(*o));
	codec_enc_init(&o->qp, CODEC_CTE_QP, qp_flags);
}

/* rp_ostat_feed - count more of the stream */
static void
rp_ostat_feed(struct rp_ostat *o, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] >= 0x80)
			o->has8 = 1;
		if (s[i] == '\n') {
			size_t l = o->col - (o->prev_cr ? 1 : 0);

			if (l > o->maxline)
				o->maxline = l;
			o->col = 0;
		} else
			o->col++;
		o->prev_cr = s[i] == '\r';
	}
	o->total += n;
	if (!o->noqp)		/* counting: no memory */
		(void)codec_enc_feed(&o->qp, p, n, NULL);
}

/* rp_ostat_finish - the stream is over */
static void
rp_ostat_finish(struct rp_ostat *o)
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
rp_qp_or_base64(const struct rp_ostat *o)
{
	return o->qp.total <= codec_b64_encoded_len((size_t)o->total) ?
	    CODEC_CTE_QP : CODEC_CTE_BASE64;
}

/* rp_norm - bare LF to CRLF, with the CR state kept across chunks */
static int
rp_norm(const char *s, size_t n, int *prev_cr, struct buf *out)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n' && !*prev_cr) {
			if (buf_append(out, s + start, i - start) == -1 ||
			    buf_append(out, "\r\n", 2) == -1)
				return -1;
			start = i + 1;
		}
		*prev_cr = s[i] == '\r';
	}
	return buf_append(out, s + start, n - start);
}

/* rp_label_eq - does a label as written name the same as lab */
static int
rp_label_eq(const char *written, const char *lab)
{
	return written != NULL && lab != NULL && strcasecmp(written, lab) == 0;
}

/* rp_path - "1.2.3" for the part at depth d */
static int
rp_path(const struct rp_state *st, unsigned d, struct buf *out)
{
	unsigned i;

	if (buf_puts(out, "part 1") == -1)
		return -1;
	for (i = 1; i <= d && i < RP_DEPTHS; i++)
		if (buf_printf(out, ".%u", st->lv[i].num) == -1)
			return -1;
	return 0;
}

/* rp_explain - one report line about the part at depth d (pass 1 only) */
static void
rp_explain(struct rp_state *st, const struct mime_part *mp, unsigned d,
    const char *what, const char *detail)
{
	struct buf *e = &st->rep->explain;

	if (st->pass != 1)
		return;
	if (rp_path(st, d, e) == -1 || (mp != NULL && buf_printf(e,
	    " %s/%s", mp->type, mp->subtype) == -1) ||
	    buf_printf(e, ": %s%s%s\n", what, detail != NULL &&
	    detail[0] != ';' ? " " : "", detail != NULL ? detail : "") == -1)
		(void)rp_fail(st, ENOMEM);
}

/* rp_to_utf8 - charset conversion for encoded-words and RFC 2231 values */
static int
rp_to_utf8(const char *charset, const char *bytes, size_t len, struct buf *out)
{
	struct charset_info ci;
	const char *dec;
	size_t mark = out->len, errs = 0;
	enum convert_result r;

	if (charset_lookup(charset, strlen(charset), &ci) == CHARSET_UNKNOWN ||
	    (dec = charset_decoder_for(&ci, bytes, len)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	r = convert_decode_all(dec, CONVERT_STRICT, bytes, len, out, &errs);
	if (r != CONVERT_OK || errs > 0) {
		int e = r == CONVERT_ESYS ? errno : EILSEQ;

		rp_buf_cut(out, mark);
		errno = e;
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* Output. */

/* rp_flush - write out what is buffered */
static int
rp_flush(struct rp_state *st)
{
	size_t off = 0;
	ssize_t w;

	while (off < st->out.len) {
		w = write(st->out_fd, st->out.data + off, st->out.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return rp_fail(st, errno);
		}
		off += (size_t)w;
	}
	buf_reset(&st->out);
	return 0;
}

/* rp_put - write bytes (pass 2) */
static int
rp_put(struct rp_state *st, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_append(&st->out, p, n) == -1)
		return rp_fail(st, ENOMEM);
	if (st->out.len >= RP_CHUNK)
		return rp_flush(st);
	return 0;
}

/* rp_puts - write a string (pass 2) */
static int
rp_puts(struct rp_state *st, const char *s)
{
	return rp_put(st, s, strlen(s));
}

/* ---------------------------------------------------------------- */
/* Header fields. */

enum rp_hkind { RP_H_UNSTRUCTURED, RP_H_ADDRESS, RP_H_STRUCTURED };

/* rp_hkind - how a field's value may carry encoded-words */
static enum rp_hkind
rp_hkind(const char *name, size_t n)
{
	static const char *const addr[] = { "from", "to", "cc", "bcc",
	    "reply-to", "sender", "resent-from", "resent-to", "resent-cc",
	    "resent-bcc", "resent-sender", "resent-reply-to",
	    "disposition-notification-to", "return-receipt-to",
	    "mail-followup-to", "mail-reply-to", "errors-to", NULL };
	static const char *const structured[] = { "received", "date",
	    "message-id", "in-reply-to", "references", "return-path",
	    "content-type", "content-disposition", "content-id",
	    "content-transfer-encoding", "mime-version", "resent-date",
	    "resent-message-id", "dkim-signature", "arc-seal",
	    "arc-message-signature", "arc-authentication-results",
	    "authentication-results", "received-spf", "list-id",
	    "list-unsubscribe", "list-post", "list-help", "list-subscribe",
	    "content-location", "content-base", "x-sender", "x-receiver",
	    NULL };
	size_t i;

	for (i = 0; addr[i] != NULL; i++)
		if (strlen(addr[i]) == n && strncasecmp(name, addr[i], n) == 0)
			return RP_H_ADDRESS;
	for (i = 0; structured[i] != NULL; i++)
		if (strlen(structured[i]) == n &&
		    strncasecmp(name, structured[i], n) == 0)
			return RP_H_STRUCTURED;
	return RP_H_UNSTRUCTURED;
}

/* rp_words - UTF-8 text as B encoded-words only (phrases, comments), in
 * the charset label when given (encoded with the iconv name encoder), else
 * in UTF-8; -1 with errno EILSEQ if the charset cannot hold the text */
static int
rp_words_in(const char *s, size_t n, struct buf *out, const char *label,
    const char *encoder)
{
	struct buf b, c;
	size_t i = 0, k, cl, mark = out->len;
	int rc = -1;

	buf_init(&b);
	buf_init(&c);
	while (i < n) {
		/* 45 bytes are 60 base64 characters: a 72-character word */
		for (k = i; k < n && k - i < 45;) {
			if ((cl = utf8_char_len(s + k, n - k)) == 0)
				cl = 1;		/* not UTF-8: a byte alone */
			if (k + cl - i > 45 && k > i)
				break;
			k += cl;
		}
		buf_reset(&b);
		buf_reset(&c);
		if (label != NULL && convert_encode_all(encoder, s + i, k - i,
		    &c) != CONVERT_OK) {
			out->len = mark;
			if (out->data != NULL)
				out->data[mark] = '\0';
			errno = EILSEQ;
			goto done;
		}
		if (label != NULL ? codec_b64_encode(c.data ? c.data : "", c.len,
		    &b) == -1 : codec_b64_encode(s + i, k - i, &b) == -1)
			goto done;
		while (b.len > 0 && (b.data[b.len - 1] == '\n' ||
		    b.data[b.len - 1] == '\r'))
			b.len--;
		if ((i > 0 && buf_puts(out, "\r\n ") == -1) ||
		    buf_printf(out, "=?%s?B?", label ? label : "utf-8") == -1 ||
		    buf_append(out, b.data, b.len) == -1 ||
		    buf_puts(out, "?=") == -1)
			goto done;
		i = k;
	}
	rc = 0;
done:
	buf_fini(&b);
	buf_fini(&c);
	return rc;
}

/* rp_words - UTF-8 text as UTF-8 B encoded-words */
static int
rp_words(const char *s, size_t n, struct buf *out)
{
	return rp_words_in(s, n, out, NULL, NULL);
}

/* rp_words_want - in the wanted charset where it can hold the text */
static int
rp_words_want(const char *s, size_t n, struct buf *out, const char *want)
{
	const char *enc;

	if (want != NULL && strcasecmp(want, "utf-8") != 0 &&
	    (enc = charset_encoder(want)) != NULL) {
		if (rp_words_in(s, n, out, want, enc) == 0)
			return 0;
		if (errno != EILSEQ)
			return -1;
	}
	return rp_words(s, n, out);
}

static int	rp_words_label_odd(const char *, size_t, const char *);
static int	rp_parent_is_message(const struct rp_state *, unsigned);

/* rp_phrase_text - the words of a raw phrase as plain UTF-8 text */
static int
rp_phrase_text(const char *s, size_t n, struct buf *out)
{
	size_t i = 0;
	int space = 0, depth;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = out->len > 0;
			i++;
			continue;
		}
		if (space && buf_putc(out, ' ') == -1)
			return -1;
		space = 0;
		if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				if (s[i] == '\r' || s[i] == '\n')
					continue;
				if (buf_putc(out, s[i]) == -1)
					return -1;
			}
			i++;
			continue;
		}
		if (c == '(') {
			/* comments in a phrase say nothing: dropped */
			for (depth = 0; i < n; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
			continue;
		}
		if (buf_putc(out, (char)c) == -1)
			return -1;
		i++;
	}
	return 0;
}

/* rp_copy_comments - copy raw text, encoding the comments with 8-bit text */
static int
rp_copy_comments(const char *s, size_t n, struct buf *out, int *left8)
{
	struct buf t;
	size_t i = 0, j;
	int depth, inq = 0;

	buf_init(&t);
	while (i < n) {
		if (s[i] == '"')
			inq = !inq;
		if (s[i] != '(' || inq) {
			if ((unsigned char)s[i] >= 0x80)
				*left8 = 1;
			if (buf_putc(out, s[i++]) == -1)
				goto fail;
			continue;
		}
		for (j = i, depth = 0; j < n; j++) {
			if (s[j] == '\\' && j + 1 < n)
				j++;
			else if (s[j] == '(')
				depth++;
			else if (s[j] == ')' && --depth == 0)
				break;
		}
		if (j >= n)
			j = n - 1;	/* unclosed: up to the end */
		if (!rp_has8(s + i, j + 1 - i)) {
			if (buf_append(out, s + i, j + 1 - i) == -1)
				goto fail;
		} else {
			size_t k;

			buf_reset(&t);
			for (k = i + 1; k < j || (k == j && s[j] != ')'); k++) {
				if (s[k] == '\\' && k + 1 < n)
					k++;
				if (s[k] == '\r' || s[k] == '\n')
					continue;
				if (buf_putc(&t, s[k]) == -1)
					goto fail;
			}
			if (buf_putc(out, '(') == -1 ||
			    rp_words(t.data ? t.data : "", t.len, out) == -1 ||
			    buf_putc(out, ')') == -1)
				goto fail;
		}
		i = j + 1;
	}
	buf_fini(&t);
	return 0;
fail:
	buf_fini(&t);
	return -1;
}

/* rp_put_phrase - a raw phrase, as encoded-words if it has 8-bit text */
static int
rp_put_phrase(const char *s, size_t n, struct buf *out, const char *want)
{
	struct buf t, d;
	const struct buf *text;
	size_t lead = 0, trail = n;
	unsigned flags = 0;
	int rc = -1, has8 = rp_has8(s, n), odd;

	odd = memmem(s, n, "=?", 2) != NULL && rp_words_label_odd(s, n, want);
	if (!has8 && !odd)
		return buf_append(out, s, n);
	while (lead < n && (s[lead] == ' ' || s[lead] == '\t' ||
	    s[lead] == '\r' || s[lead] == '\n'))
		lead++;
	while (trail > lead && (s[trail - 1] == ' ' || s[trail - 1] == '\t' ||
	    s[trail - 1] == '\r' || s[trail - 1] == '\n'))
		trail--;
	buf_init(&t);
	buf_init(&d);
	if (rp_phrase_text(s + lead, trail - lead, &t) == -1)
		goto done;
	/* encoded-words already there are decoded, not encoded twice */
	text = &t;
	if (memmem(t.data ? t.data : "", t.len, "=?", 2) != NULL) {
		if (rfc2047_decode(t.data, t.len, rp_to_utf8, &d, &flags) == -1)
			goto done;
		if (!(flags & (RFC2047_MALFORMED | RFC2047_UNKNOWN_CHARSET |
		    RFC2047_BAD_PAYLOAD)))
			text = &d;
		else if (!has8) {
			rc = buf_append(out, s, n);	/* unsure: as written */
			goto done;
		}
	}
	if (buf_putc(out, ' ') == -1 ||
	    rp_words_want(text->data ? text->data : "", text->len, out,
	    want) == -1 || (trail < n && buf_putc(out, ' ') == -1))
		goto done;
	rc = 0;
done:
	buf_fini(&t);
	buf_fini(&d);
	return rc;
}

/* rp_fix_address - encode display names and comments of an address list */
static int
rp_fix_address(const char *s, size_t n, struct buf *out, int *left8,
    const char *want)
{
	size_t i = 0, seg = 0, depth;

	while (i < n) {
		char c = s[i];

		if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\' && i + 1 < n)
					i++;
			i++;
			continue;
		}
		if (c == '(') {
			for (depth = 0; i < n; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			i++;
			continue;
		}
		if (c == '<' || c == ':') {
			/* what came before is a display name or group name */
			if (rp_put_phrase(s + seg, i - seg, out, want) == -1)
				return -1;
			if (c == '<') {
				size_t j = i;

				while (j < n && s[j] != '>')
					j++;
				if (j < n)
					j++;
				if (rp_has8(s + i, j - i))
					*left8 = 1;
				if (buf_append(out, s + i, j - i) == -1)
					return -1;
				i = j;
			} else {
				if (buf_putc(out, ':') == -1)
					return -1;
				i++;
			}
			seg = i;
			continue;
		}
		if (c == ',' || c == ';') {
			if (rp_copy_comments(s + seg, i - seg, out,
			    left8) == -1 || buf_putc(out, c) == -1)
				return -1;
			seg = ++i;
			continue;
		}
		i++;
	}
	if (seg < n)
		return rp_copy_comments(s + seg, n - seg, out, left8);
	return 0;
}

/* rp_want - the charset encoded-words should be in (NULL: as they are) */
static const char *
rp_want(const struct rp_state *st)
{
	if (st->t_preserve)
		return NULL;
	return st->t_utf8 ? "utf-8" : st->t_mime;
}

/* rp_encode_words - UTF-8 text as encoded-words in the target charset, or in
 * UTF-8 where the target cannot hold it (or is utf-8 or preserve) */
static int
rp_encode_words(const struct rp_state *st, const char *s, size_t n,
    size_t name_len, struct buf *out)
{
	if (!st->t_utf8 && !st->t_preserve && st->t_mime != NULL &&
	    st->t_enc != NULL) {
		if (rfc2047_encode_charset(s, n, name_len, st->t_mime, st->t_enc,
		    out) == 0)
			return 0;
		if (errno != EILSEQ)
			return -1;
	}
	return rfc2047_encode(s, n, name_len, out);
}

/*
 * rp_word_odd - is an encoded-word's label not the standard one, or are
 * its bytes more than the label promises (iso-8859-1 with C1 bytes read as
 * windows-1252, GBK characters under gb2312): strict readers would get it
 * wrong. A word that does not decode is not odd: it is left alone.
 */
static int
rp_word_odd(const char *cs, size_t cslen, char enc, const char *txt,
    size_t tlen, const char *want)
{
	char name[CHARSET_NAME_SIZE];
	struct charset_info ci;
	struct buf raw, q, u8, back;
	const char *mime, *dec, *encoder;
	size_t i, errs = 0;
	unsigned defects = 0;
	int odd = 0;

	if (cslen == 0 || cslen > CHARSET_NAME_MAX)
		return 0;
	memcpy(name, cs, cslen);
	name[cslen] = '\0';
	if ((mime = charset_mime_label(name)) == NULL ||
	    charset_lookup(name, cslen, &ci) == CHARSET_UNKNOWN)
		return 0;
	if (strcasecmp(mime, name) != 0)
		return 1;
	if ((encoder = charset_encoder(name)) == NULL)
		encoder = "UTF-8";	/* only the decode check below matters */
	buf_init(&raw);
	buf_init(&q);
	buf_init(&u8);
	buf_init(&back);
	if (enc == 'b' || enc == 'B') {
		if (codec_b64_decode(txt, tlen, &raw, &defects) == -1)
			goto done;
	} else {
		for (i = 0; i < tlen; i++)
			if (buf_putc(&q, txt[i] == '_' ? ' ' : txt[i]) == -1)
				goto done;
		if (codec_qp_decode(q.data ? q.data : "", q.len, &raw,
		    &defects) == -1)
			goto done;
	}
	if ((dec = charset_decoder_for(&ci, raw.data ? raw.data : "",
	    raw.len)) == NULL || convert_decode_all(dec, CONVERT_STRICT,
	    raw.data ? raw.data : "", raw.len, &u8, &errs) != CONVERT_OK ||
	    errs > 0)
		goto done;
	/* Delivering in a charset (UTF-8 by default): every word is written
	 * in it, so readers that know only standard charsets (or stricter
	 * tables, like Shift_JIS without the CP932 characters) read what was
	 * meant, and a partner that needs ISO-2022-JP gets it in headers too. */
	odd = (want != NULL && strcasecmp(mime, want) != 0 &&
	    strcasecmp(mime, "us-ascii") != 0) ||
	    convert_encode_all(encoder, u8.data ? u8.data : "", u8.len,
	    &back) != CONVERT_OK;
done:
	buf_fini(&raw);
	buf_fini(&q);
	buf_fini(&u8);
	buf_fini(&back);
	return odd;
}

/* rp_words_label_odd - is some encoded-word in the text odd (above) */
static int
rp_words_label_odd(const char *s, size_t n, const char *want)
{
	size_t i, cs, cse, e, t, te;

	for (i = 0; i + 1 < n; i++) {
		if (s[i] != '=' || s[i + 1] != '?')
			continue;
		/* =?charset[*lang]?E?text?= */
		cs = i + 2;
		for (cse = cs; cse < n && s[cse] != '?' && s[cse] != '*' &&
		    cse - cs <= CHARSET_NAME_MAX; cse++)
			;
		for (e = cse; e < n && s[e] != '?' && e - cs <= 2 *
		    CHARSET_NAME_MAX; e++)
			;
		if (e + 2 >= n || s[e] != '?' || s[e + 2] != '?')
			continue;
		t = e + 3;
		for (te = t; te + 1 < n && !(s[te] == '?' && s[te + 1] == '=');
		    te++)
			;
		if (te + 1 >= n)
			continue;
		if (rp_word_odd(s + cs, cse - cs, s[e + 1], s + t, te - t,
		    want))
			return 1;
		i = te + 1;
	}
	return 0;
}

/*
 * rp_fix_words - an unstructured field without raw 8-bit text whose
 * encoded-words need writing again: a non-standard charset label
 * (ks_c_5601-1987, x-sjis) or a word broken by folding. Only when every
 * word decodes; *changed says whether out holds a new field.
 */
static int
rp_fix_words(const struct rp_state *st, const struct mime_event *ev,
    struct buf *out, int *changed,
    const char **note)
{
	struct buf dec, val;
	unsigned flags = 0;
	int odd, rc = -1;

	*changed = 0;
	if (memmem(ev->value, ev->value_len, "=?", 2) == NULL)
		return 0;
	odd = rp_words_label_odd(ev->value, ev->value_len, rp_want(st));
	buf_init(&dec);
	buf_init(&val);
	if (rfc2047_decode(ev->value, ev->value_len, rp_to_utf8, &dec,
	    &flags) == -1)
		goto done;
	rc = 0;
	if ((!odd && !(flags & RFC2047_FOLDED_WORD)) ||
	    (flags & (RFC2047_MALFORMED | RFC2047_UNKNOWN_CHARSET |
	    RFC2047_BAD_PAYLOAD)) || !(flags & RFC2047_DECODED))
		goto done;
	rc = -1;
	if (rp_encode_words(st, dec.data ? dec.data : "", dec.len,
	    ev->name_len, &val) == -1 || buf_append(out, ev->name, ev->name_len) == -1 ||
	    buf_putc(out, ':') == -1)
		goto done;
	if ((val.len == 0 || (val.data[0] != ' ' && val.data[0] != '\t')) &&
	    buf_putc(out, ' ') == -1)
		goto done;
	if (buf_append(out, val.data, val.len) == -1)
		goto done;
	*changed = 1;
	*note = odd ? "encoded-words with a non-standard charset label or "
	    "bytes beyond it written again in utf-8" :
	    "encoded-words broken by folding written again";
	rc = 0;
done:
	buf_fini(&dec);
	buf_fini(&val);
	return rc;
}

/* rp_norm_field - a raw field with every line break as CRLF */
static int
rp_norm_field(const char *s, size_t n, struct buf *out)
{
	int prev_cr = 0;

	return rp_norm(s, n, &prev_cr, out);
}

/*
 * rp_fix_field - the field as it is to be written (without its final line
 * break) in out; *changed when it differs from the input.
 */
static int
rp_fix_field(struct rp_state *st, const struct mime_event *ev,
    struct buf *out, int *changed, const char **note)
{
	struct buf u8, dec, val;
	enum rp_hkind kind;
	size_t errs = 0;
	unsigned flags = 0;
	int left8 = 0, rc = -1;
	enum convert_result r;

	size_t mark = out->len;

	*changed = 0;
	*note = NULL;
	kind = rp_hkind(ev->name, ev->name_len);
	if (!rp_has8(ev->value, ev->value_len)) {
		if (kind == RP_H_UNSTRUCTURED) {
			if (rp_fix_words(st, ev, out, changed, note) == -1)
				return -1;
			if (*changed)
				return 0;
		}
		if (kind != RP_H_ADDRESS || memmem(ev->value, ev->value_len,
		    "=?", 2) == NULL ||
		    !rp_words_label_odd(ev->value, ev->value_len, rp_want(st)))
			return rp_norm_field(ev->data, ev->len, out);
		/* display names in a non-standard charset: as below */
	}
	if (kind == RP_H_STRUCTURED) {
		*note = "raw 8-bit text in a structured field, left as is";
		return rp_norm_field(ev->data, ev->len, out);
	}
	buf_init(&u8);
	buf_init(&dec);
	buf_init(&val);
	/* The unlabelled 8-bit rule: valid UTF-8, else the legacy charset. */
	if (utf8_valid(ev->value, ev->value_len)) {
		if (buf_append(&u8, ev->value, ev->value_len) == -1)
			goto done;
		*note = rp_has8(ev->value, ev->value_len) ?
		    "raw 8-bit text (utf-8) written as encoded-words" :
		    "encoded-words with a non-standard charset label or bytes "
		    "beyond it written again in utf-8";
	} else {
		r = convert_decode_all(st->legacy_dec, CONVERT_REPLACE,
		    ev->value, ev->value_len, &u8, &errs);
		if (r == CONVERT_ESYS)
			goto done;
		if (r != CONVERT_OK || errs > 0) {
			*note = "raw 8-bit text that does not decode in the "
			    "legacy charset, left as is";
			rc = rp_norm_field(ev->data, ev->len, out);
			goto done;
		}
		*note = "raw 8-bit text (legacy charset) written as "
		    "encoded-words";
	}
	if (buf_append(out, ev->name, ev->name_len) == -1 ||
	    buf_putc(out, ':') == -1)
		goto done;
	if (kind == RP_H_UNSTRUCTURED) {
		if (rfc2047_decode(u8.data, u8.len, rp_to_utf8, &dec,
		    &flags) == -1 ||
		    rp_encode_words(st, dec.data ? dec.data : "", dec.len,
		    ev->name_len, &val) == -1)
			goto done;
		if (val.len == 0 || (val.data[0] != ' ' && val.data[0] != '\t'))
			if (buf_putc(out, ' ') == -1)
				goto done;
		if (buf_append(out, val.data, val.len) == -1)
			goto done;
	} else {
		if (rp_fix_address(u8.data, u8.len, &val, &left8, rp_want(st)) == -1 ||
		    rp_norm_field(val.data, val.len, out) == -1)
			goto done;
		if (left8) {
			*note = "8-bit text in an address (not a display name "
			    "or comment), left as is";
			if (!utf8_valid(ev->value, ev->value_len)) {
				/* legacy bytes in an addr-spec: keep it all */
				rp_buf_cut(out, mark);
				rc = rp_norm_field(ev->data, ev->len, out);
				goto done;
			}
		}
	}
	/* a change only when the bytes differ */
	buf_reset(&dec);
	if (rp_norm_field(ev->data, ev->len, &dec) == -1)
		goto done;
	*changed = dec.len != out->len - mark ||
	    memcmp(dec.data, out->data + mark, dec.len) != 0;
	rc = 0;
done:
	buf_fini(&u8);
	buf_fini(&dec);
	buf_fini(&val);
	return rc;
}

/*
 * rp_set_charset - a raw Content-Type value with its charset parameter set
 * to label (added when missing); other parameters are kept as written.
 */
static int
rp_set_charset(const char *s, size_t n, const char *label, struct buf *out)
{
	size_t i = 0, ns, ne, vs, ve;
	int inq = 0, depth = 0;

	while (i < n) {
		char c = s[i];

		if (inq) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '"')
				inq = 0;
			i++;
			continue;
		}
		if (depth > 0) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			i++;
			continue;
		}
		if (c == '"') {
			inq = 1;
			i++;
			continue;
		}
		if (c == '(') {
			depth = 1;
			i++;
			continue;
		}
		if (c != ';') {
			i++;
			continue;
		}
		/* a parameter: name [ws] = [ws] value */
		for (ns = i + 1; ns < n && (s[ns] == ' ' || s[ns] == '\t' ||
		    s[ns] == '\r' || s[ns] == '\n'); ns++)
			;
		for (ne = ns; ne < n && s[ne] != '=' && s[ne] != ';' &&
		    s[ne] != ' ' && s[ne] != '\t' && s[ne] != '\r' &&
		    s[ne] != '\n'; ne++)
			;
		if (!(ne - ns >= 7 && strncasecmp(s + ns, "charset", 7) == 0 &&
		    (ne - ns == 7 || s[ns + 7] == '*'))) {
			i = ns;
			continue;
		}
		for (vs = ne; vs < n && s[vs] != '=' && s[vs] != ';'; vs++)
			;
		if (vs >= n || s[vs] != '=') {
			i = vs;
			continue;
		}
		for (vs++; vs < n && (s[vs] == ' ' || s[vs] == '\t'); vs++)
			;
		ve = vs;
		if (ve < n && s[ve] == '"') {
			for (ve++; ve < n && s[ve] != '"'; ve++)
				if (s[ve] == '\\' && ve + 1 < n)
					ve++;
			if (ve < n)
				ve++;
		} else
			while (ve < n && s[ve] != ';' && s[ve] != ' ' &&
			    s[ve] != '\t' && s[ve] != '\r' && s[ve] != '\n' &&
			    s[ve] != '(')
				ve++;
		/* "charset*=utf-8''x" or "charset*0=": rewrite the name too */
		return buf_append(out, s, ns) == -1 ||
		    buf_printf(out, "charset=%s", label) == -1 ||
		    buf_append(out, s + ve, n - ve) == -1 ? -1 : 0;
	}
	/* none: append, before trailing whitespace, after closing what an
	 * unterminated quoted-string or comment left open */
	ne = n;
	while (!inq && depth == 0 && ne > 0 && (s[ne - 1] == ' ' ||
	    s[ne - 1] == '\t' || s[ne - 1] == '\r' || s[ne - 1] == '\n'))
		ne--;
	if (buf_append(out, s, ne) == -1 || (inq && buf_putc(out, '"') == -1))
		return -1;
	for (; depth > 0; depth--)
		if (buf_putc(out, ')') == -1)
			return -1;
	return buf_printf(out, "; charset=%s", label) == -1 ? -1 : 0;
}

/* ---------------------------------------------------------------- */
/* Parts. */

/* rp_cur_plan - the plan of the part whose headers or body are read */
static struct rp_plan *
rp_cur_plan(struct rp_state *st)
{
	return st->cur < st->nplans ? &st->plans[st->cur] : NULL;
}

/* rp_new_part - a part starts (its first header or its headers end) */
static int
rp_new_part(struct rp_state *st, unsigned depth)
{
	struct rp_plan *np;
	unsigned d = depth < RP_DEPTHS ? depth : RP_DEPTHS - 1;

	st->hdr_open = 1;
	st->saw_ct = st->saw_cte = 0;
	st->ct_seen = 0;
	buf_reset(&st->ct_raw);
	if (st->pass == 1) {
		if (st->nplans == RP_MAX_PARTS)
			return rp_fail(st, E2BIG);
		if (st->nplans == st->capplans) {
			size_t cap = st->capplans ? st->capplans * 2 : 16;

			if (cap > SIZE_MAX / sizeof(*np) ||
			    (np = realloc(st->plans, cap * sizeof(*np))) == NULL)
				return rp_fail(st, ENOMEM);
			st->plans = np;
			st->capplans = cap;
		}
		memset(&st->plans[st->nplans], 0, sizeof(*np));
		st->cur = st->nplans++;
	} else
		st->cur++;
	if (d > 0) {
		st->lv[d].num = ++st->lv[d - 1].nchild;
		/* pass 2: a child of a multipart starts with a delimiter */
		if (st->pass == 2 && st->bnd[d - 1] != NULL) {
			if ((!st->at_bol && rp_puts(st, "\r\n") == -1) ||
			    rp_puts(st, "--") == -1 ||
			    rp_puts(st, st->bnd[d - 1]) == -1 ||
			    rp_puts(st, "\r\n") == -1)
				return -1;
			st->at_bol = 1;
		}
	} else
		st->lv[0].num = 1;
	st->lv[d].plan = st->cur;
	st->lv[d].nchild = 0;
	st->lv[d].closed = 0;
	return 0;
}

/* rp_on_header - one header field */
static int
rp_on_header(struct rp_state *st, const struct mime_event *ev)
{
	struct rp_plan *pl;
	const char *note = NULL;
	int changed = 0, is_ct, is_cte;

	if (!st->hdr_open && rp_new_part(st, ev->depth) == -1)
		return -1;
	pl = rp_cur_plan(st);
	is_ct = ev->name_len == 12 &&
	    strncasecmp(ev->name, "content-type", 12) == 0;
	is_cte = ev->name_len == 25 &&
	    strncasecmp(ev->name, "content-transfer-encoding", 25) == 0;
	buf_reset(&st->tmp);
	if (st->pass == 1) {
		if (ev->name_len == 12 &&
		    strncasecmp(ev->name, "mime-version", 12) == 0) {
			pl->has_mv = 1;
			if (ev->depth == 0)
				st->top_mime_version = 1;
		}
		if (is_ct && !st->ct_seen) {
			st->ct_seen = 1;
			if (buf_append(&st->ct_raw, ev->value, ev->value_len)
			    == -1)
				return rp_fail(st, ENOMEM);
		}
		if (is_ct)
			pl->has_ct = 1;
		if (is_cte)
			pl->has_cte = 1;
		if (rp_fix_field(st, ev, &st->tmp, &changed, &note) == -1)
			return rp_fail(st, ENOMEM);
		if (changed)
			pl->changed = 1;
		if (note != NULL) {
			struct buf nm;

			buf_init(&nm);
			if (buf_printf(&nm, "header %.*s:", (int)ev->name_len,
			    ev->name) == -1) {
				buf_fini(&nm);
				return rp_fail(st, ENOMEM);
			}
			rp_explain(st, NULL, ev->depth, nm.data, note);
			buf_fini(&nm);
		}
		return 0;
	}
	/* pass 2 */
	if (is_ct && !st->saw_ct && pl != NULL && pl->label != NULL) {
		st->saw_ct = 1;
		if (buf_append(&st->tmp, ev->name, ev->name_len) == -1 ||
		    buf_putc(&st->tmp, ':') == -1)
			return rp_fail(st, ENOMEM);
		{
			struct buf v;
			int rc;

			buf_init(&v);
			if (pl->bad_ct)
				rc = buf_printf(&v, " text/%s; charset=%s",
				    pl->sub, pl->label);
			else
				rc = rp_set_charset(ev->value, ev->value_len,
				    pl->label, &v);
			if (rc == 0)
				rc = rp_norm_field(v.data, v.len, &st->tmp);
			buf_fini(&v);
			if (rc == -1)
				return rp_fail(st, ENOMEM);
		}
	} else if (is_cte && !st->saw_cte && pl != NULL && pl->set_cte) {
		st->saw_cte = 1;
		if (buf_append(&st->tmp, ev->name, ev->name_len) == -1 ||
		    buf_printf(&st->tmp, ": %s",
		    codec_cte_name((enum codec_cte)pl->out_cte)) == -1)
			return rp_fail(st, ENOMEM);
	} else {
		if (is_ct)
			st->saw_ct = 1;
		if (is_cte)
			st->saw_cte = 1;
		if (rp_fix_field(st, ev, &st->tmp, &changed, &note) == -1)
			return rp_fail(st, ENOMEM);
	}
	if (rp_put(st, st->tmp.data, st->tmp.len) == -1 ||
	    rp_put(st, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* rp_cand_free - release a candidate's converters */
static void
rp_cand_free(struct rp_cand *c)
{
	convert_free(c->dc);
	convert_free(c->ec);
	c->dc = c->ec = NULL;
}

/* rp_scan_end - release what pass 1 holds for the leaf */
static void
rp_scan_end(struct rp_scan *sc)
{
	size_t i;

	for (i = 0; i < RP_NCAND; i++)
		rp_cand_free(&sc->cand[i]);
	sc->active = 0;
}

/* rp_cand_add - one more way to read the text part */
static int
rp_cand_add(struct rp_state *st, const char *dec, const char *mime)
{
	struct rp_scan *sc = &st->scan;
	struct rp_cand *c;
	const char *enc;
	size_t i;

	for (i = 0; i < RP_NCAND && sc->cand[i].used; i++)
		if (strcmp(sc->cand[i].dec, dec) == 0)
			return 0;
	if (i == RP_NCAND || strlen(dec) >= CHARSET_NAME_SIZE)
		return 0;
	c = &sc->cand[i];
	memset(c, 0, sizeof(*c));
	c->used = 1;
	strcpy(c->dec, dec);
	c->mime = mime;
	rp_ostat_init(&c->u8, 0);
	rp_ostat_init(&c->eo, 0);
	if ((c->dc = convert_decoder_new(dec, CONVERT_REPLACE)) == NULL) {
		c->bad = 1;
		return 0;
	}
	if (st->t_utf8)
		enc = NULL;
	else if (st->t_preserve)
		enc = mime != NULL ? charset_encoder(mime) : NULL;
	else
		enc = st->t_enc;
	if (enc != NULL && strcasecmp(enc, "UTF-8") == 0)
		enc = NULL;
	c->enc = enc;
	if (enc != NULL && (c->ec = convert_encoder_new(enc)) == NULL)
		c->unmap = 1;
	return 0;
}

/* rp_leaf_start - pass 1: get ready to read a leaf's body */
static int
rp_leaf_start(struct rp_state *st, const struct mime_part *mp,
    struct rp_plan *pl)
{
	struct rp_scan *sc = &st->scan;
	size_t i;

	sc->active = 1;
	mime_part_decoder_init(&sc->cdec, mp);
	sc->norm = mp->cte == CODEC_CTE_7BIT || mp->cte == CODEC_CTE_8BIT ||
	    (mp->cte == CODEC_CTE_QP && pl->kind == RP_K_TEXT);
	pl->norm = sc->norm;
	sc->prev_cr = 0;
	rp_ostat_init(&sc->raw, 0);
	sc->raw.noqp = 1;
	rp_ostat_init(&sc->d, pl->kind != RP_K_TEXT &&
	    (mp->cte == CODEC_CTE_BINARY || mp->cte == CODEC_CTE_BASE64) ?
	    CODEC_ENC_BINARY : 0);
	sc->nodecode = pl->kind != RP_K_TEXT && (mp->cte == CODEC_CTE_QP ||
	    mp->cte == CODEC_CTE_BASE64 || mp->cte == CODEC_CTE_UNKNOWN);
	sc->lazy = 1;
	sc->on = 0;
	utf8_check_init(&sc->u8v);
	sc->has_c1 = sc->has_esc = 0;
	memset(sc->cand, 0, sizeof(sc->cand));
	if (pl->kind == RP_K_TEXT) {
		const char *cs = mime_param_get(mp->params, mp->nparams,
		    "charset");
		struct charset_info ci;

		if (cs != NULL && charset_lookup(cs, strlen(cs), &ci) !=
		    CHARSET_UNKNOWN) {
			if (rp_cand_add(st, ci.decoder, ci.mime) == -1)
				return -1;
			if (ci.c1_decoder != NULL && rp_cand_add(st,
			    ci.c1_decoder, charset_mime_label(ci.c1_decoder))
			    == -1)
				return -1;
			if (ci.alt_decoder != NULL && rp_cand_add(st,
			    ci.alt_decoder, ci.mime) == -1)
				return -1;
			if ((ci.flags & CHARSET_F_7BIT) && (rp_cand_add(st,
			    "UTF-8", "utf-8") == -1 || rp_cand_add(st,
			    st->legacy_dec, st->legacy_mime) == -1))
				return -1;
		} else if (rp_cand_add(st, "UTF-8", "utf-8") == -1 ||
		    rp_cand_add(st, st->legacy_dec, st->legacy_mime) == -1)
			return -1;
	}
	/* ASCII reads and writes as itself in these charsets: the
	 * candidates need not see text before its first 8-bit byte */
	for (i = 0; i < RP_NCAND; i++)
		if (sc->cand[i].used && (!rp_ascii_compatible(sc->cand[i].dec)
		    || (sc->cand[i].enc != NULL &&
		    !rp_ascii_compatible(sc->cand[i].enc))))
			sc->lazy = 0;
	sc->on = !sc->lazy;
	return 0;
}

/* rp_cand_feed - pass 1: one candidate reads more decoded content */
static int
rp_cand_feed(struct rp_state *st, struct rp_cand *c, const char *d,
    size_t n, int fin)
{
	struct rp_scan *sc = &st->scan;
	enum convert_result r;

	if (c->bad)
		return 0;
	buf_reset(&sc->t1);
	r = fin ? convert_finish(c->dc, &sc->t1) :
	    convert_feed(c->dc, d, n, &sc->t1);
	if (r == CONVERT_ESYS)
		return rp_fail(st, errno);
	if (r != CONVERT_OK || convert_errors(c->dc) > 0) {
		c->bad = 1;
		return 0;
	}
	rp_ostat_feed(&c->u8, sc->t1.data, sc->t1.len);
	if (fin)
		rp_ostat_finish(&c->u8);
	if (c->ec == NULL || c->unmap)
		return 0;
	buf_reset(&sc->t2);
	r = convert_feed(c->ec, sc->t1.data, sc->t1.len, &sc->t2);
	if (r == CONVERT_OK && fin)
		r = convert_finish(c->ec, &sc->t2);
	if (r == CONVERT_ESYS)
		return rp_fail(st, errno);
	if (r != CONVERT_OK) {
		c->unmap = 1;
		return 0;
	}
	rp_ostat_feed(&c->eo, sc->t2.data, sc->t2.len);
	if (fin)
		rp_ostat_finish(&c->eo);
	return 0;
}

/* rp_content - pass 1: decoded content of the leaf */
static int
rp_content(struct rp_state *st, const char *d, size_t n, int fin)
{
	struct rp_scan *sc = &st->scan;
	size_t i;

	if (!sc->on && charset_has_8bit(d, n)) {
		/* what came before was ASCII: the same in every output */
		for (i = 0; i < RP_NCAND; i++)
			sc->cand[i].u8 = sc->cand[i].eo = sc->d;
		sc->on = 1;
	}
	rp_ostat_feed(&sc->d, d, n);
	utf8_check_feed(&sc->u8v, d, n);
	if (!sc->has_c1)
		sc->has_c1 = charset_has_c1(d, n);
	if (!sc->has_esc)
		sc->has_esc = memchr(d, 0x1B, n) != NULL ||
		    memchr(d, '+', n) != NULL || memchr(d, '~', n) != NULL;
	for (i = 0; i < RP_NCAND && sc->on; i++)
		if (sc->cand[i].used &&
		    rp_cand_feed(st, &sc->cand[i], d, n, 0) == -1)
			return -1;
	if (fin) {
		rp_ostat_finish(&sc->d);
		for (i = 0; i < RP_NCAND && sc->on; i++)
			if (sc->cand[i].used &&
			    rp_cand_feed(st, &sc->cand[i], NULL, 0, 1) == -1)
				return -1;
	}
	return 0;
}

/* rp_decode_chunk - raw body bytes to decoded content (both passes) */
static int
rp_decode_chunk(struct codec_dec *cd, int norm, int *prev_cr, const char *s,
    size_t n, int fin, struct buf *tmp, struct buf *out)
{
	buf_reset(tmp);
	buf_reset(out);
	if ((s != NULL && codec_dec_feed(cd, s, n, tmp) == -1) ||
	    (fin && codec_dec_finish(cd, tmp) == -1))
		return -1;
	if (!norm)
		return buf_append(out, tmp->data, tmp->len);
	return rp_norm(tmp->data ? tmp->data : "", tmp->len, prev_cr, out);
}

/* rp_scan_body - pass 1: a chunk of a leaf's body */
static int
rp_scan_body(struct rp_state *st, const char *s, size_t n, int fin)
{
	struct rp_scan *sc = &st->scan;

	if (s != NULL)
		rp_ostat_feed(&sc->raw, s, n);
	if (fin)
		rp_ostat_finish(&sc->raw);
	if (sc->nodecode)
		return 0;
	if (rp_decode_chunk(&sc->cdec, sc->norm, &sc->prev_cr, s, n, fin,
	    &st->tmp, &sc->dbuf) == -1)
		return rp_fail(st, ENOMEM);
	return rp_content(st, sc->dbuf.data ? sc->dbuf.data : "",
	    sc->dbuf.len, fin);
}

/* rp_cte_for - the transfer encoding a body needs */
static enum codec_cte
rp_cte_for(const struct rp_state *st, const struct rp_ostat *o,
    enum codec_cte in, int reencoding)
{
	/* converted content was encoded: it stays encoded, base64 as it
	 * was, quoted-printable unless converting made base64 smaller */
	if (reencoding && in == CODEC_CTE_BASE64)
		return in;
	if ((reencoding && in == CODEC_CTE_QP) ||
	    (o->has8 && st->opts->seven_bit) || o->maxline > RP_LINE_MAX)
		return rp_qp_or_base64(o);
	return o->has8 ? CODEC_CTE_8BIT : CODEC_CTE_7BIT;
}

/* rp_decide_transfer - PASS or REENCODE for content that stays as it is */
static void
rp_decide_transfer(struct rp_state *st, const struct mime_part *mp,
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
			pl->out_cte = (unsigned char)rp_qp_or_base64(&sc->d);
			pl->set_cte = 1;
			pl->out8 = 0;
			(void)buf_printf(why, "; downgraded to %s",
			    codec_cte_name((enum codec_cte)pl->out_cte));
		}
		return;
	}
	want = rp_cte_for(st, &sc->d, in, 0);
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

/* rp_cand_find - the candidate reading with this decoder, or NULL */
static struct rp_cand *
rp_cand_find(struct rp_scan *sc, const char *dec)
{
	size_t i;

	for (i = 0; i < RP_NCAND; i++)
		if (sc->cand[i].used && strcmp(sc->cand[i].dec, dec) == 0)
			return &sc->cand[i];
	return NULL;
}

/* rp_decide_text - pass 1: the charset decisions of a text part */
static void
rp_decide_text(struct rp_state *st, const struct mime_part *mp,
    struct rp_plan *pl, struct buf *why)
{
	struct rp_scan *sc = &st->scan;
	const char *cs = mime_param_get(mp->params, mp->nparams, "charset");
	struct charset_info ci;
	struct rp_cand *src = NULL;
	const char *out_label;
	int labelled, i;

	memset(&ci, 0, sizeof(ci));
	labelled = cs != NULL && charset_lookup(cs, strlen(cs), &ci) !=
	    CHARSET_UNKNOWN;
	(void)buf_printf(why, "charset %s%s%s, %s", cs ? cs : "(none)",
	    cs && !labelled ? " (unknown)" : "",
	    ci.status == CHARSET_ICONV ? " (iconv only)" : "",
	    sc->d.has8 ? "8-bit" : "7-bit");
	if (labelled && (ci.flags & CHARSET_F_7BIT) && sc->d.has8)
		labelled = 0;
	/* 7-bit text in an ASCII-compatible charset: nothing to convert */
	if (!sc->d.has8 && (!labelled || rp_ascii_compatible(ci.decoder) ||
	    !sc->has_esc)) {
		if (labelled && ci.mime != NULL && !rp_label_eq(cs, ci.mime)) {
			pl->label = ci.mime;
			(void)buf_printf(why, "; label normalised to %s",
			    ci.mime);
		}
		rp_decide_transfer(st, mp, pl, why);
		return;
	}
	/* Which reading of the bytes. */
	if (labelled) {
		for (i = 0; i < RP_NCAND; i++) {
			struct rp_cand *c = &sc->cand[i];

			if (!c->used || c->bad)
				continue;
			if (ci.c1_decoder != NULL &&
			    strcmp(c->dec, ci.c1_decoder) == 0 && !sc->has_c1)
				continue;
			if (src == NULL || (ci.c1_decoder != NULL &&
			    strcmp(c->dec, ci.c1_decoder) == 0))
				src = c;
		}
	} else {
		struct rp_cand *u = rp_cand_find(sc, "UTF-8");
		struct rp_cand *l = rp_cand_find(sc, st->legacy_dec);

		if (u != NULL && !u->bad && utf8_check_ok(&sc->u8v))
			src = u;
		else if (l != NULL && !l->bad)
			src = l;
	}
	if (src == NULL) {
		st->rep->undecodable++;
		(void)buf_printf(why, "; does not decode as %s, left as it was",
		    labelled ? ci.decoder : "utf-8 or the legacy charset");
		rp_decide_transfer(st, mp, pl, why);
		return;
	}
	(void)buf_printf(why, "; read as %s", src->dec);
	if (!labelled)
		(void)buf_printf(why, " (unlabelled)");
	/* What to write. */
	out_label = st->t_utf8 ? "utf-8" : st->t_preserve ? src->mime :
	    st->t_mime;
	if (out_label == NULL)
		out_label = "utf-8";	/* no MIME label for the source */
	if (src->enc != NULL && src->unmap) {
		st->rep->kept_utf8++;
		(void)buf_printf(why, "; %s cannot hold every character: "
		    "kept in utf-8", src->enc);
		out_label = "utf-8";
	}
	if (strcasecmp(out_label, "utf-8") == 0) {
		if (strcmp(src->dec, "UTF-8") == 0)
			pl->action = RP_PASS;
		else {
			pl->action = RP_CONVERT;
			pl->enc = NULL;
		}
		if (pl->action == RP_CONVERT)
			pl->out_cte = (unsigned char)rp_cte_for(st, &src->u8,
			    mp->cte, 1);
		pl->out8 = src->u8.has8;
	} else if (rp_label_eq(src->mime, out_label)) {
		pl->action = RP_PASS;	/* the bytes are right as they are */
	} else {
		pl->action = RP_CONVERT;
		pl->enc = src->enc;
		pl->out_cte = (unsigned char)rp_cte_for(st, &src->eo, mp->cte,
		    1);
		pl->out8 = src->eo.has8;
	}
	if (pl->action == RP_CONVERT) {
		strcpy(pl->dec, src->dec);
		pl->set_cte = pl->out_cte != mp->cte;
		(void)buf_printf(why, "; converted to %s, %s", out_label,
		    codec_cte_name((enum codec_cte)pl->out_cte));
		if (strcmp(mp->subtype, "html") == 0)
			(void)buf_puts(why, "; an HTML <meta> charset, if any, "
			    "is left as written");
	} else
		rp_decide_transfer(st, mp, pl, why);
	if (!rp_label_eq(cs, out_label)) {
		pl->label = out_label;
		if (pl->action == RP_PASS)
			(void)buf_printf(why, "; labelled %s", out_label);
	}
}

/* What the parser reads in a rewritten Content-Type. */
struct rp_ct_seen {
	struct buf	 charset, type;
};

/* rp_ct_check_cb - note the type and charset the parser reads */
static int
rp_ct_check_cb(const struct mime_event *ev, void *arg)
{
	struct rp_ct_seen *cs = arg;
	const char *c;

	if (ev->type != MIME_EV_HEADERS_END || ev->depth != 0)
		return 0;
	c = mime_param_get(ev->part->params, ev->part->nparams, "charset");
	if ((c != NULL && buf_puts(&cs->charset, c) == -1) ||
	    buf_printf(&cs->type, "%s/%s", ev->part->type,
	    ev->part->subtype) == -1)
		return -1;
	return 0;
}

/*
 * rp_ct_edit_ok - is the Content-Type value with its charset set to label
 * read back as label, with the same type, by the MIME parser (a broken
 * value may hide an appended parameter in a comment)
 */
static int
rp_ct_edit_ok(const struct buf *raw, const struct mime_part *mp,
    const char *label, int *ok)
{
	struct buf f;
	struct rp_ct_seen cs;
	struct mime_parser *p = NULL;
	int rc = -1;

	*ok = 0;
	buf_init(&f);
	buf_init(&cs.charset);
	buf_init(&cs.type);
	if (buf_puts(&f, "Content-Type:") == -1 ||
	    rp_set_charset(raw->data ? raw->data : "", raw->len, label,
	    &f) == -1 || buf_puts(&f, "\r\n\r\n") == -1 ||
	    (p = mime_parser_new(rp_ct_check_cb, &cs, NULL)) == NULL ||
	    mime_parser_feed(p, f.data, f.len) == -1 ||
	    mime_parser_finish(p) == -1)
		goto done;
	*ok = strcmp(buf_cstr(&cs.charset), label) == 0 &&
	    strncmp(buf_cstr(&cs.type), mp->type, strlen(mp->type)) == 0 &&
	    cs.type.len == strlen(mp->type) + 1 + strlen(mp->subtype) &&
	    strcmp(buf_cstr(&cs.type) + strlen(mp->type) + 1,
	    mp->subtype) == 0;
	rc = 0;
done:
	mime_parser_free(p);
	buf_fini(&f);
	buf_fini(&cs.charset);
	buf_fini(&cs.type);
	return rc;
}

/* rp_leaf_end - pass 1: the leaf is read, decide */
static int
rp_leaf_end(struct rp_state *st, const struct mime_event *ev,
    struct rp_plan *pl)
{
	struct buf why;
	int rc = 0;

	if (rp_scan_body(st, NULL, 0, 1) == -1) {
		rp_scan_end(&st->scan);
		return -1;
	}
	buf_init(&why);
	if (pl->kind == RP_K_TEXT)
		rp_decide_text(st, ev->part, pl, &why);
	else {
		(void)buf_puts(&why, st->scan.raw.has8 ? "8-bit" : "7-bit");
		rp_decide_transfer(st, ev->part, pl, &why);
	}
	if (pl->label != NULL && pl->has_ct && !pl->bad_ct) {
		int ok;

		if (rp_ct_edit_ok(&st->ct_raw, ev->part, pl->label, &ok) == -1)
			rc = rp_fail(st, ENOMEM);
		else if (!ok) {
			pl->bad_ct = 1;
			(void)buf_puts(&why, "; Content-Type written anew "
			    "(the value could not take a charset parameter)");
		}
	}
	if (pl->label != NULL || pl->set_cte || pl->action != RP_PASS)
		pl->changed = 1;
	if (pl->set_cte && !pl->has_cte && pl->out_cte == CODEC_CTE_7BIT)
		pl->set_cte = 0;	/* the default, no field needed */
	rp_explain(st, ev->part, ev->depth, why.data ? why.data : "",
	    NULL);
	buf_fini(&why);
	rp_scan_end(&st->scan);
	return rc;
}

/* rp_emit_start - pass 2: get ready to write a leaf's body */
static int
rp_emit_start(struct rp_state *st, const struct mime_part *mp,
    const struct rp_plan *pl)
{
	struct rp_emit *em = &st->em;

	mime_part_decoder_init(&em->cdec, mp);
	em->norm = pl->norm;
	em->prev_cr = em->raw_prev_cr = 0;
	if (pl->action == RP_PASS)
		return 0;
	codec_enc_init(&em->cenc, (enum codec_cte)pl->out_cte,
	    pl->enc_flags);
	if (pl->action == RP_CONVERT) {
		if ((em->dc = convert_decoder_new(pl->dec,
		    CONVERT_REPLACE)) == NULL)
			return rp_fail(st, errno);
		if (pl->enc != NULL &&
		    (em->ec = convert_encoder_new(pl->enc)) == NULL)
			return rp_fail(st, errno);
	}
	return 0;
}

/* rp_emit_end - pass 2: release the converters */
static void
rp_emit_end(struct rp_emit *em)
{
	convert_free(em->dc);
	convert_free(em->ec);
	em->dc = em->ec = NULL;
}

/* rp_emit_body - pass 2: write a chunk of a leaf's body */
static int
rp_emit_body(struct rp_state *st, const struct rp_plan *pl, const char *s,
    size_t n, int fin, int strip_b64)
{
	struct rp_emit *em = &st->em;
	struct buf *text;
	enum convert_result r;
	enum codec_cte oc = (enum codec_cte)pl->out_cte;

	if (pl->action == RP_PASS) {
		if (s == NULL)
			return 0;
		if (pl->in_cte == CODEC_CTE_BINARY)
			return rp_put(st, s, n);
		buf_reset(&em->o);
		if (rp_norm(s, n, &em->raw_prev_cr, &em->o) == -1)
			return rp_fail(st, ENOMEM);
		return rp_put(st, em->o.data, em->o.len);
	}
	if (rp_decode_chunk(&em->cdec, em->norm, &em->prev_cr, s, n, fin,
	    &st->tmp, &em->dbuf) == -1)
		return rp_fail(st, ENOMEM);
	text = &em->dbuf;
	if (pl->action == RP_CONVERT) {
		buf_reset(&em->t1);
		r = convert_feed(em->dc, em->dbuf.data ? em->dbuf.data : "",
		    em->dbuf.len, &em->t1);
		if (r == CONVERT_OK && fin)
			r = convert_finish(em->dc, &em->t1);
		if (r != CONVERT_OK)
			return rp_fail(st, r == CONVERT_ESYS ? errno : EILSEQ);
		text = &em->t1;
		if (em->ec != NULL) {
			buf_reset(&em->t2);
			r = convert_feed(em->ec, em->t1.data ? em->t1.data :
			    "", em->t1.len, &em->t2);
			if (r == CONVERT_OK && fin)
				r = convert_finish(em->ec, &em->t2);
			if (r != CONVERT_OK)
				return rp_fail(st, r == CONVERT_ESYS ? errno :
				    EILSEQ);
			text = &em->t2;
		}
	}
	buf_reset(&em->o);
	if (oc == CODEC_CTE_QP || oc == CODEC_CTE_BASE64) {
		if (codec_enc_feed(&em->cenc, text->data ? text->data : "",
		    text->len, &em->o) == -1 ||
		    (fin && codec_enc_finish(&em->cenc, &em->o) == -1))
			return rp_fail(st, ENOMEM);
		if (fin && strip_b64 && oc == CODEC_CTE_BASE64 &&
		    em->o.len >= 2 && em->o.data[em->o.len - 1] == '\n' &&
		    em->o.data[em->o.len - 2] == '\r')
			rp_buf_cut(&em->o, em->o.len - 2);
	} else if (rp_norm(text->data ? text->data : "", text->len,
	    &em->raw_prev_cr, &em->o) == -1)
		return rp_fail(st, ENOMEM);
	return rp_put(st, em->o.data, em->o.len);
}

/* rp_under_multipart - is some ancestor of depth d a multipart */
static int
rp_under_multipart(const struct rp_state *st, unsigned d)
{
	unsigned i;

	for (i = 0; i < d && i < RP_DEPTHS; i++)
		if (st->bnd[i] != NULL)
			return 1;
	return 0;
}

/* rp_on_headers_end - the header block is over */
static int
rp_on_headers_end(struct rp_state *st, const struct mime_event *ev)
{
	const struct mime_part *mp = ev->part;
	struct rp_plan *pl;
	unsigned d = ev->depth < RP_DEPTHS ? ev->depth : RP_DEPTHS - 1;

	if (!st->hdr_open && rp_new_part(st, ev->depth) == -1)
		return -1;
	st->hdr_open = 0;
	if ((pl = rp_cur_plan(st)) == NULL)
		return rp_fail(st, EINVAL);
	if (st->pass == 1) {
		pl->in_cte = (unsigned char)mp->cte;
		pl->in_msg = rp_parent_is_message(st, d);
		pl->out_cte = (unsigned char)mp->cte;
		if (mp->flags & MIME_PART_MULTIPART)
			pl->kind = RP_K_MULTI;
		else if (mp->flags & MIME_PART_MESSAGE)
			pl->kind = RP_K_MESSAGE;
		else if (strcmp(mp->type, "text") == 0 &&
		    mp->cte != CODEC_CTE_UNKNOWN)
			pl->kind = RP_K_TEXT;
		else
			pl->kind = RP_K_LEAF;
		/* A Content-Type the parser could not read whole is written
		 * anew (as the parser read it) if its charset changes. */
		if (pl->kind == RP_K_TEXT)
			strcpy(pl->sub, strlen(mp->subtype) < sizeof(pl->sub) ?
			    mp->subtype : "plain");
		if ((mp->defects & (MIME_DEFECT_BAD_CONTENT_TYPE |
		    MIME_DEFECT_BAD_PARAM)) && pl->kind == RP_K_TEXT)
			pl->bad_ct = 1;
		if (pl->kind == RP_K_TEXT || pl->kind == RP_K_LEAF)
			return rp_leaf_start(st, mp, pl);
		return 0;
	}
	/* pass 2: fields to add, then the blank line; an enclosed message
	 * that gets Content-* fields gets MIME-Version too */
	if (((d == 0 && st->need_mime_version) || (pl->in_msg &&
	    !pl->has_mv && ((pl->label != NULL && !st->saw_ct) ||
	    (pl->set_cte && !st->saw_cte)))) &&
	    rp_puts(st, "MIME-Version: 1.0\r\n") == -1)
		return -1;
	if (pl->label != NULL && !st->saw_ct) {
		if (rp_puts(st, "Content-Type: ") == -1 ||
		    rp_puts(st, mp->type) == -1 || rp_puts(st, "/") == -1 ||
		    rp_puts(st, mp->subtype) == -1 ||
		    rp_puts(st, "; charset=") == -1 ||
		    rp_puts(st, pl->label) == -1 || rp_puts(st, "\r\n") == -1)
			return -1;
	}
	if (pl->set_cte && !st->saw_cte) {
		if (rp_puts(st, "Content-Transfer-Encoding: ") == -1 ||
		    rp_puts(st, codec_cte_name((enum codec_cte)pl->out_cte))
		    == -1 || rp_puts(st, "\r\n") == -1)
			return -1;
	}
	if (rp_puts(st, "\r\n") == -1)
		return -1;
	st->at_bol = 1;
	st->data_prev_cr = 0;
	free(st->bnd[d]);
	st->bnd[d] = NULL;
	if (pl->kind == RP_K_MULTI && mp->boundary != NULL &&
	    (st->bnd[d] = strdup(mp->boundary)) == NULL)
		return rp_fail(st, ENOMEM);
	if (pl->kind == RP_K_TEXT || pl->kind == RP_K_LEAF)
		return rp_emit_start(st, mp, pl);
	return 0;
}

/* rp_parent_is_message - is the part at depth d enclosed by message/rfc822 */
static int
rp_parent_is_message(const struct rp_state *st, unsigned d)
{
	size_t idx;

	if (d == 0 || d >= RP_DEPTHS)
		return 0;
	idx = st->lv[d - 1].plan;
	return idx < st->nplans && st->plans[idx].kind == RP_K_MESSAGE;
}

/* rp_on_data - body, preamble or epilogue bytes */
static int
rp_on_data(struct rp_state *st, const struct mime_event *ev)
{
	unsigned d = ev->depth < RP_DEPTHS ? ev->depth : RP_DEPTHS - 1;
	struct rp_plan *pl = rp_cur_plan(st);

	if (st->hdr_open) {
		/* data before any header: the parser says the headers
		 * ended; it always reports HEADERS_END first */
		return rp_fail(st, EINVAL);
	}
	if (ev->type == MIME_EV_BODY) {
		if (pl == NULL)
			return rp_fail(st, EINVAL);
		if (st->pass == 1)
			return rp_scan_body(st, ev->data, ev->len, 0);
		st->at_bol = 0;
		return rp_emit_body(st, pl, ev->data, ev->len, 0, 0);
	}
	if (st->pass == 1)
		return 0;
	if (ev->type == MIME_EV_EPILOGUE && !st->lv[d].closed &&
	    st->bnd[d] != NULL) {
		if ((!st->at_bol && rp_puts(st, "\r\n") == -1) ||
		    rp_puts(st, "--") == -1 || rp_puts(st, st->bnd[d]) == -1 ||
		    rp_puts(st, "--\r\n") == -1)
			return -1;
		st->lv[d].closed = 1;
		st->data_prev_cr = 0;
	}
	st->at_bol = 0;
	buf_reset(&st->em.o);
	if (rp_norm(ev->data, ev->len, &st->data_prev_cr, &st->em.o) == -1)
		return rp_fail(st, ENOMEM);
	return rp_put(st, st->em.o.data, st->em.o.len);
}

/* rp_on_part_end - a part is over */
static int
rp_on_part_end(struct rp_state *st, const struct mime_event *ev)
{
	unsigned d = ev->depth < RP_DEPTHS ? ev->depth : RP_DEPTHS - 1;
	struct rp_plan *pl;
	size_t idx = st->lv[d].plan;
	const struct mime_part *mp = ev->part;

	if (idx >= st->nplans)
		return rp_fail(st, EINVAL);
	pl = &st->plans[idx];
	if (st->pass == 1) {
		if (pl->kind == RP_K_TEXT || pl->kind == RP_K_LEAF) {
			if (rp_leaf_end(st, ev, pl) == -1)
				return -1;
		} else {
			enum codec_cte c = (enum codec_cte)pl->in_cte;
			const char *what = pl->kind == RP_K_MULTI ?
			    "multipart" : "enclosed message";

			if (st->opts->seven_bit && (c == CODEC_CTE_8BIT ||
			    c == CODEC_CTE_BINARY) && pl->has_cte) {
				pl->out_cte = CODEC_CTE_7BIT;
				pl->set_cte = pl->changed = 1;
				rp_explain(st, mp, ev->depth, what,
				    "; Content-Transfer-Encoding set to 7bit");
			} else if (!st->opts->seven_bit && pl->child8 &&
			    c == CODEC_CTE_7BIT && pl->has_cte) {
				pl->out_cte = CODEC_CTE_8BIT;
				pl->set_cte = pl->changed = 1;
				rp_explain(st, mp, ev->depth, what,
				    "; Content-Transfer-Encoding set to 8bit");
			} else
				rp_explain(st, mp, ev->depth, what, NULL);
		}
		if (pl->changed)
			st->changed = 1;
		if ((pl->out8 || pl->child8) && d > 0)
			st->plans[st->lv[d - 1].plan].child8 = 1;
		return 0;
	}
	/* pass 2 */
	if (pl->kind == RP_K_TEXT || pl->kind == RP_K_LEAF) {
		int rc = rp_emit_body(st, pl, NULL, 0, 1,
		    rp_under_multipart(st, d));

		rp_emit_end(&st->em);
		if (rc == -1)
			return -1;
		if (pl->action != RP_PASS)
			st->at_bol = 0;
	}
	if (pl->kind == RP_K_MULTI && st->bnd[d] != NULL) {
		if (!st->lv[d].closed) {
			if ((!st->at_bol && rp_puts(st, "\r\n") == -1) ||
			    rp_puts(st, "--") == -1 ||
			    rp_puts(st, st->bnd[d]) == -1 ||
			    rp_puts(st, "--\r\n") == -1)
				return -1;
			st->lv[d].closed = 1;
			st->at_bol = 1;
		}
		free(st->bnd[d]);
		st->bnd[d] = NULL;
	}
	return 0;
}

/* rp_event - the parser's callback */
static int
rp_event(const struct mime_event *ev, void *arg)
{
	struct rp_state *st = arg;
	int rc;

	if (st->failed)
		return -1;
	switch (ev->type) {
	case MIME_EV_HEADER:
		rc = rp_on_header(st, ev);
		break;
	case MIME_EV_HEADERS_END:
		rc = rp_on_headers_end(st, ev);
		break;
	case MIME_EV_BODY:
	case MIME_EV_PREAMBLE:
	case MIME_EV_EPILOGUE:
		rc = rp_on_data(st, ev);
		break;
	case MIME_EV_PART_END:
		rc = rp_on_part_end(st, ev);
		break;
	default:
		rc = 0;
	}
	if (rc == -1 && st->failed == 0)
		st->failed = EIO;
	return rc;
}

/* rp_note_lf - pass 1: look for bare LF in the raw input */
static void
rp_note_lf(struct rp_state *st, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && !st->bare_lf; i++) {
		if (s[i] == '\n' && !st->in_prev_cr)
			st->bare_lf = 1;
		st->in_prev_cr = s[i] == '\r';
	}
}

/* rp_run - one pass over the input */
static int
rp_run(struct rp_state *st, int in_fd, char *chunk)
{
	struct mime_parser *p;
	ssize_t n;
	int rc = -1;
	size_t i;

	if (lseek(in_fd, 0, SEEK_SET) == (off_t)-1)
		return rp_fail(st, errno);
	if ((p = mime_parser_new(rp_event, st, rp_to_utf8)) == NULL)
		return rp_fail(st, ENOMEM);
	st->cur = (size_t)-1;
	st->hdr_open = 0;
	st->at_bol = 1;
	memset(st->lv, 0, sizeof(st->lv));
	for (i = 0; i < RP_DEPTHS; i++) {
		free(st->bnd[i]);
		st->bnd[i] = NULL;
	}
	for (;;) {
		n = read(in_fd, chunk, RP_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			(void)rp_fail(st, errno);
			goto done;
		}
		if (n == 0)
			break;
		if (st->pass == 1)
			rp_note_lf(st, chunk, (size_t)n);
		if (mime_parser_feed(p, chunk, (size_t)n) == -1) {
			(void)rp_fail(st, errno);
			goto done;
		}
	}
	if (mime_parser_finish(p) == -1) {
		(void)rp_fail(st, errno);
		goto done;
	}
	rc = st->failed ? -1 : 0;
done:
	mime_parser_free(p);
	return rc;
}

/* rp_options - resolve the options into the state */
static int
rp_options(struct rp_state *st, const struct repair_opts *o)
{
	struct charset_info ci;
	const char *legacy = o->legacy_charset, *t = o->target, *dec;

	if (legacy == NULL || *legacy == '\0' || charset_lookup(legacy,
	    strlen(legacy), &ci) == CHARSET_UNKNOWN)
		(void)charset_lookup("windows-1252", 12, &ci);
	dec = ci.c1_decoder != NULL ? ci.c1_decoder : ci.decoder;
	if (!rp_ascii_compatible(dec)) {
		/* a legacy charset must read ASCII as ASCII */
		(void)charset_lookup("windows-1252", 12, &ci);
		dec = ci.decoder;
	}
	if (strlen(dec) >= sizeof(st->legacy_dec))
		return -1;
	strcpy(st->legacy_dec, dec);
	st->legacy_mime = charset_mime_label(dec);
	if (t == NULL || *t == '\0' || strcasecmp(t, "utf-8") == 0 ||
	    strcasecmp(t, "utf8") == 0) {
		st->t_utf8 = 1;
		return 0;
	}
	if (strcasecmp(t, "preserve") == 0) {
		st->t_preserve = 1;
		return 0;
	}
	st->t_mime = charset_mime_label(t);
	st->t_enc = charset_encoder(t);
	if (st->t_mime == NULL || st->t_enc == NULL ||
	    strncasecmp(st->t_enc, "UTF-16", 6) == 0 ||
	    strncasecmp(st->t_enc, "UTF-32", 6) == 0)
		return -1;
	if (strcasecmp(st->t_mime, "utf-8") == 0)
		st->t_utf8 = 1;
	return 0;
}

/* repair_report_init - an empty report */
void
repair_report_init(struct repair_report *r)
{
	buf_init(&r->explain);
	r->changes = r->undecodable = r->kept_utf8 = 0;
}

/* repair_report_fini - release the report's text */
void
repair_report_fini(struct repair_report *r)
{
	if (r != NULL)
		buf_fini(&r->explain);
}

/* rp_state_fini - release everything of a run */
static void
rp_state_fini(struct rp_state *st)
{
	size_t i;

	rp_scan_end(&st->scan);
	rp_emit_end(&st->em);
	buf_fini(&st->scan.dbuf);
	buf_fini(&st->scan.t1);
	buf_fini(&st->scan.t2);
	buf_fini(&st->em.dbuf);
	buf_fini(&st->em.t1);
	buf_fini(&st->em.t2);
	buf_fini(&st->em.o);
	buf_fini(&st->out);
	buf_fini(&st->tmp);
	buf_fini(&st->ct_raw);
	for (i = 0; i < RP_DEPTHS; i++)
		free(st->bnd[i]);
	free(st->plans);
}

/* repair_message - repair and convert one message (see repair.h) */
enum repair_result
repair_message(int in_fd, int out_fd, const struct repair_opts *opts,
    struct repair_report *rep)
{
	struct rp_state *st;
	char *chunk;
	enum repair_result res = REPAIR_ERROR;
	size_t i;
	int err = 0;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return REPAIR_ERROR;
	if ((chunk = malloc(RP_CHUNK)) == NULL) {
		free(st);
		return REPAIR_ERROR;
	}
	st->opts = opts;
	st->rep = rep;
	st->out_fd = out_fd;
	buf_init(&st->out);
	buf_init(&st->tmp);
	buf_init(&st->ct_raw);
	buf_init(&st->scan.dbuf);
	buf_init(&st->scan.t1);
	buf_init(&st->scan.t2);
	buf_init(&st->em.dbuf);
	buf_init(&st->em.t1);
	buf_init(&st->em.t2);
	buf_init(&st->em.o);
	if (rp_options(st, opts) == -1) {
		err = EINVAL;
		(void)buf_printf(&rep->explain, "unknown target charset %s\n",
		    opts->target);
		goto done;
	}
	st->pass = 1;
	if (rp_run(st, in_fd, chunk) == -1) {
		err = st->failed;
		if (err == E2BIG) {
			(void)buf_printf(&rep->explain, "message: more than %d "
			    "parts, not repaired\n", RP_MAX_PARTS);
			res = REPAIR_UNCHANGED;
		}
		goto done;
	}
	for (i = 0; i < st->nplans; i++)
		if (st->plans[i].changed)
			rep->changes++;
	if (st->bare_lf) {
		rep->changes++;
		st->changed = 1;
		(void)buf_puts(&rep->explain,
		    "message: bare LF line breaks written as CRLF\n");
	}
	if (!st->changed) {
		res = REPAIR_UNCHANGED;
		goto done;
	}
	for (i = 0; i < st->nplans; i++)
		if (st->plans[i].label != NULL || st->plans[i].set_cte)
			st->need_mime_version = !st->top_mime_version;
	if (st->need_mime_version)
		(void)buf_puts(&rep->explain,
		    "message: MIME-Version: 1.0 added\n");
	st->pass = 2;
	if (rp_run(st, in_fd, chunk) == -1 || rp_flush(st) == -1) {
		err = st->failed;
		goto done;
	}
	res = REPAIR_CHANGED;
done:
	rp_state_fini(st);
	free(st);
	free(chunk);
	if (res == REPAIR_ERROR)
		errno = err != 0 ? err : EIO;
	return res;
}
