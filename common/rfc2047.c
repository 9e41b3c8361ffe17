/*
 * rfc2047 - encoded-words in header values (see rfc2047.h).
 *
 * Decoding scans the raw value once. An encoded-word is recognised
 * anywhere (real mail glues them to text and to each other), its text may
 * contain folding (removed) and stray spaces (kept, flagged); a "?" that
 * does not close the word makes it malformed and it is copied as written.
 * Consecutive words are collected into a run of raw bytes per charset and
 * converted once, so a multi-byte character split across words survives.
 *
 * Encoding splits the text at whitespace; a word needs encoding when it
 * holds 8-bit or control bytes or something a decoder would take for an
 * encoded-word. Only those runs are encoded. The caller's buffers are the
 * only memory used besides two temporary bufs freed before return.
 */
#include "rfc2047.h"

#include "convert.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "hex.h"
#include "utf8.h"

/* One parsed encoded-word. */
struct eword {
	size_t		 start, end;	/* span in the input, "=?" to "?=" */
	const char	*cs;		/* charset, without "*lang" */
	size_t		 cslen;
	char		 enc;		/* 'B' or 'Q' */
	size_t		 text, textend;	/* span of the encoded text */
};

/* A run of adjacent words in one charset, not yet converted. */
struct run {
	int		 active;
	char		 cs[64];	/* charset label (longer: not joined) */
	size_t		 start, end;	/* raw span, for leaving it as is */
	struct buf	 bytes;		/* decoded payload */
};

/* is_wsp - space or tab */
static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* fold_len - length of a fold (CRLF or LF, then whitespace) at i, or 0 */
static size_t
fold_len(const char *s, size_t len, size_t i)
{
	size_t j = i;

	if (j < len && s[j] == '\r')
		j++;
	if (j < len && s[j] == '\n')
		j++;
	else
		return 0;
	if (j < len && is_wsp((unsigned char)s[j]))
		return j - i;
	return 0;
}

/* parse_word - an encoded-word starting at i ("=?"), or -1 */
static int
parse_word(const char *s, size_t len, size_t i, struct eword *w,
    unsigned *flags)
{
	size_t j, f;
	const char *star;

	if (i + 1 >= len || s[i] != '=' || s[i + 1] != '?')
		return -1;
	w->start = i;
	j = i + 2;
	w->cs = s + j;
	while (j < len && s[j] != '?') {
		if ((unsigned char)s[j] <= ' ' || (unsigned char)s[j] >= 0x7f)
			return -1;
		j++;
	}
	if (j == len || j == i + 2)
		return -1;
	w->cslen = (size_t)(s + j - w->cs);
	if ((star = memchr(w->cs, '*', w->cslen)) != NULL)
		w->cslen = (size_t)(star - w->cs);	/* RFC 2231 language */
	if (w->cslen == 0)
		return -1;
	j++;
	if (j + 1 >= len || s[j + 1] != '?')
		return -1;
	if (s[j] == 'B' || s[j] == 'b')
		w->enc = 'B';
	else if (s[j] == 'Q' || s[j] == 'q')
		w->enc = 'Q';
	else
		return -1;
	j += 2;
	w->text = j;
	while (j < len) {
		if (s[j] == '?') {
			if (j + 1 < len && s[j + 1] == '=') {
				w->textend = j;
				w->end = j + 2;
				return 0;
			}
			return -1;
		}
		if ((f = fold_len(s, len, j)) > 0) {
			*flags |= RFC2047_FOLDED_WORD;
			j += f;
			continue;
		}
		if (s[j] == '\r' || s[j] == '\n')
			return -1;
		j++;
	}
	return -1;
}

/* word_payload - decode the text of a word, appending raw bytes */
static int
word_payload(const char *s, size_t len, const struct eword *w, struct buf *out,
    unsigned *flags)
{
	struct buf tmp;
	size_t j, f;
	unsigned defects = 0;
	int hi, lo, r;

	if (w->enc == 'B') {
		/* The tolerant decoder skips folds and spaces itself. */
		buf_init(&tmp);
		for (j = w->text; j < w->textend; j++)
			if ((unsigned char)s[j] > ' ' &&
			    buf_putc(&tmp, s[j]) == -1) {
				buf_fini(&tmp);
				return -1;
			}
		r = codec_b64_decode(tmp.data ? tmp.data : "", tmp.len, out,
		    &defects);
		buf_fini(&tmp);
		if (defects != 0)
			*flags |= RFC2047_BAD_PAYLOAD;
		return r;
	}
	for (j = w->text; j < w->textend; j++) {
		unsigned char c = (unsigned char)s[j];

		if ((f = fold_len(s, len, j)) > 0) {
			/* The fold and the space it brought are not data. */
			j += f;
			continue;
		}
		if (c == '_')
			c = ' ';
		else if (c == '=' && j + 2 < w->textend &&
		    (hi = hex_value((unsigned char)s[j + 1])) >= 0 &&
		    (lo = hex_value((unsigned char)s[j + 2])) >= 0) {
			c = (unsigned char)(hi << 4 | lo);
			j += 2;
		} else if (c == '=' || c == ' ' || c == '\t' || c >= 0x7f)
			*flags |= RFC2047_BAD_PAYLOAD;
		if (buf_putc(out, c) == -1)
			return -1;
	}
	return 0;
}

/* is_utf8_label - UTF-8 or US-ASCII, which need no converter */
static int
is_utf8_label(const char *cs)
{
	return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
	    strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0;
}

/* put_unfolded - copy raw text with the line breaks of folding removed */
static int
put_unfolded(const char *s, size_t n, struct buf *out, unsigned *flags)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if ((unsigned char)s[i] >= 0x80)
			*flags |= RFC2047_RAW_8BIT;
		if (buf_putc(out, s[i]) == -1)
			return -1;
	}
	return 0;
}

/* run_flush - convert a run to UTF-8, or copy it as written if we cannot */
static int
run_flush(struct run *r, const char *s, rfc2047_to_utf8_fn *to_utf8,
    struct buf *out, unsigned *flags)
{
	size_t mark = out->len;
	int rc = -1;

	if (!r->active)
		return 0;
	r->active = 0;
	errno = 0;
	if (to_utf8 != NULL)
		rc = to_utf8(r->cs, r->bytes.data ? r->bytes.data : "",
		    r->bytes.len, out);
	else if (is_utf8_label(r->cs))
		rc = buf_append(out, r->bytes.data, r->bytes.len);
	if (rc == 0) {
		*flags |= RFC2047_DECODED;
		return 0;
	}
	if (errno == ENOMEM)
		return -1;
	/* Leave the words as they were written. */
	if (out->data != NULL) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	*flags |= RFC2047_UNKNOWN_CHARSET;
	return put_unfolded(s + r->start, r->end - r->start, out, flags);
}

/* run_add - append a word to the run, starting a new run if needed */
static int
run_add(struct run *r, const char *s, size_t len, const struct eword *w,
    rfc2047_to_utf8_fn *to_utf8, struct buf *out, unsigned *flags)
{
	if (r->active && (w->cslen >= sizeof(r->cs) ||
	    strlen(r->cs) != w->cslen ||
	    strncasecmp(r->cs, w->cs, w->cslen) != 0)) {
		if (run_flush(r, s, to_utf8, out, flags) == -1)
			return -1;
	}
	if (!r->active) {
		if (w->cslen >= sizeof(r->cs)) {
			/* No real charset name is that long. */
			*flags |= RFC2047_UNKNOWN_CHARSET;
			return put_unfolded(s + w->start, w->end - w->start,
			    out, flags);
		}
		memcpy(r->cs, w->cs, w->cslen);
		r->cs[w->cslen] = '\0';
		buf_reset(&r->bytes);
		r->start = w->start;
		r->active = 1;
	}
	r->end = w->end;
	return word_payload(s, len, w, &r->bytes, flags);
}

/* rfc2047_decode - decode the encoded-words of a header value to UTF-8 */
int
rfc2047_decode(const char *s, size_t len, rfc2047_to_utf8_fn *to_utf8,
    struct buf *out, unsigned *flagsp)
{
	struct run r;
	struct eword w;
	size_t i = 0, j;
	unsigned flags = 0;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	buf_init(&r.bytes);
	while (i < len) {
		if (s[i] == '=' && parse_word(s, len, i, &w, &flags) == 0) {
			if (run_add(&r, s, len, &w, to_utf8, out, &flags) == -1)
				goto done;
			i = w.end;
			continue;
		}
		if (s[i] == '=' && i + 1 < len && s[i + 1] == '?')
			flags |= RFC2047_MALFORMED;
		if (r.active) {
			/* Whitespace between two words is dropped. */
			for (j = i; j < len && (is_wsp((unsigned char)s[j]) ||
			    s[j] == '\r' || s[j] == '\n'); j++)
				;
			if (j > i && j < len && s[j] == '=' &&
			    parse_word(s, len, j, &w, &flags) == 0) {
				i = j;
				continue;
			}
			if (run_flush(&r, s, to_utf8, out, &flags) == -1)
				goto done;
			if (j > i) {
				if (put_unfolded(s + i, j - i, out, &flags) == -1)
					goto done;
				i = j;
				continue;
			}
		}
		if (put_unfolded(s + i, 1, out, &flags) == -1)
			goto done;
		i++;
	}
	if (run_flush(&r, s, to_utf8, out, &flags) == -1)
		goto done;
	if (buf_append(out, "", 0) == -1)	/* "" for an empty value */
		goto done;
	rc = 0;
done:
	buf_fini(&r.bytes);
	if (flagsp != NULL)
		*flagsp = flags;
	return rc;
}

/* q_safe - a byte that stands for itself in Q encoding (RFC 2047 5(3)) */
static int
q_safe(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/';
}

/* q_len - Q-encoded length of n bytes */
static size_t
q_len(const unsigned char *p, size_t n)
{
	size_t i, t = 0;

	for (i = 0; i < n; i++)
		t += (q_safe(p[i]) || p[i] == ' ') ? 1 : 3;
	return t;
}

/* char_len - bytes of the character at p; a byte that does not start a
 * valid UTF-8 character goes alone */
static size_t
char_len(const unsigned char *p, size_t n)
{
	size_t cl = utf8_char_len(p, n);

	return cl > 0 ? cl : 1;
}

/* needs_encoding - a word that cannot be written as itself */
static int
needs_encoding(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return 1;
		if (i + 1 < n && ((p[i] == '=' && p[i + 1] == '?') ||
		    (p[i] == '?' && p[i + 1] == '=')))
			return 1;
	}
	return 0;
}

/* Output state of the encoder. */
struct enc_out {
	struct buf	*out;
	size_t		 col;		/* current column */
	size_t		 linestart;	/* column where this line's text began */
	const char	*label;		/* NULL: UTF-8; else the words' charset */
	const char	*encoder;	/* its iconv name */
};

/* b64_append - base64 of n bytes (no line breaks) */
static int
b64_append(struct buf *w, const unsigned char *p, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t k;

	for (k = 0; k < n; k += 3) {
		unsigned v = (unsigned)p[k] << 16;
		char q[4];

		if (k + 1 < n)
			v |= (unsigned)p[k + 1] << 8;
		if (k + 2 < n)
			v |= p[k + 2];
		q[0] = b64[v >> 18 & 63];
		q[1] = b64[v >> 12 & 63];
		q[2] = k + 1 < n ? b64[v >> 6 & 63] : '=';
		q[3] = k + 2 < n ? b64[v & 63] : '=';
		if (buf_append(w, q, 4) == -1)
			return -1;
	}
	return 0;
}

/*
 * encode_run_charset - write UTF-8 bytes as B words in o->label: whole
 * characters are added to a word while its encoding (converted afresh, so
 * each word ends in the charset's initial state) still fits.
 */
static int
encode_run_charset(struct enc_out *o, const char *sep, size_t seplen,
    const unsigned char *p, size_t n)
{
	struct buf word, cur, best;
	size_t i = 0, cl, avail, start, overhead;
	int rc = -1;

	overhead = strlen(o->label) + 7;	/* =? ?B? ?= */
	buf_init(&word);
	buf_init(&cur);
	buf_init(&best);
	while (i < n) {
		avail = o->col + seplen < RFC2047_LINE_MAX ?
		    RFC2047_LINE_MAX - o->col - seplen : 0;
		if (avail < overhead + 8 && o->col > o->linestart && seplen > 0) {
			if (buf_puts(o->out, "\r\n") == -1)
				goto done;
			o->col = o->linestart = 0;
			avail = RFC2047_LINE_MAX - seplen;
		}
		if (avail > RFC2047_WORD_MAX)
			avail = RFC2047_WORD_MAX;
		if (avail < overhead + 8)
			avail = overhead + 8;
		start = i;
		buf_reset(&best);
		while (i < n) {
			cl = char_len(p + i, n - i);
			buf_reset(&cur);
			if (convert_encode_all(o->encoder, p + start, i + cl - start,
			    &cur) != CONVERT_OK) {
				errno = EILSEQ;
				goto done;
			}
			if (overhead + (cur.len + 2) / 3 * 4 > avail && i > start)
				break;
			buf_reset(&best);
			if (buf_append(&best, cur.data ? cur.data : "", cur.len) == -1)
				goto done;
			i += cl;
		}
		buf_reset(&word);
		if (buf_printf(&word, "=?%s?B?", o->label) == -1 ||
		    b64_append(&word, (const unsigned char *)(best.data ?
		    best.data : ""), best.len) == -1 || buf_puts(&word, "?=") == -1)
			goto done;
		if (buf_append(o->out, sep, seplen) == -1 ||
		    buf_append(o->out, word.data, word.len) == -1)
			goto done;
		o->col += seplen + word.len;
		sep = " ";
		seplen = 1;
	}
	rc = 0;
done:
	buf_fini(&word);
	buf_fini(&cur);
	buf_fini(&best);
	return rc;
}

/* put_word - write sep and a word, folding before them if too long */
static int
put_word(struct enc_out *o, const char *sep, size_t seplen, const char *w,
    size_t wlen)
{
	if (o->col > o->linestart && seplen > 0 &&
	    o->col + seplen + wlen > RFC2047_LINE_MAX) {
		if (buf_puts(o->out, "\r\n") == -1)
			return -1;
		o->col = 0;
		o->linestart = 0;
	}
	if (buf_append(o->out, sep, seplen) == -1 ||
	    buf_append(o->out, w, wlen) == -1)
		return -1;
	o->col += seplen + wlen;
	return 0;
}

/* encode_run - write bytes as encoded-words, sep before the first one */
static int
encode_run(struct enc_out *o, const char *sep, size_t seplen,
    const unsigned char *p, size_t n)
{
	struct buf word;
	size_t i = 0, k, cl, avail, used, start, overhead = 12;
	int useq, rc = -1;

	if (o->label != NULL)
		return encode_run_charset(o, sep, seplen, p, n);
	useq = q_len(p, n) <= (n + 2) / 3 * 4;
	buf_init(&word);
	/* A run that fits one word on a fresh line is not cut in two. */
	k = overhead + (useq ? q_len(p, n) : (n + 2) / 3 * 4);
	if (k <= RFC2047_WORD_MAX && o->col > o->linestart && seplen > 0 &&
	    o->col + seplen + k > RFC2047_LINE_MAX) {
		if (buf_puts(o->out, "\r\n") == -1)
			goto done;
		o->col = o->linestart = 0;
	}
	while (i < n) {
		/* Room for the word on this line, at most 75. */
		avail = o->col + seplen < RFC2047_LINE_MAX ?
		    RFC2047_LINE_MAX - o->col - seplen : 0;
		cl = char_len(p + i, n - i);
		/* Fold where there is whitespace to fold at; the value
		 * itself never starts with a fold, a long header name gets
		 * a short first word instead. */
		if (avail < overhead + (useq ? 3 * cl : 8) &&
		    o->col > o->linestart && seplen > 0) {
			if (buf_puts(o->out, "\r\n") == -1)
				goto done;
			o->col = o->linestart = 0;
			avail = RFC2047_LINE_MAX - seplen;
		}
		if (avail > RFC2047_WORD_MAX)
			avail = RFC2047_WORD_MAX;
		if (avail < overhead + (useq ? 3 * cl : 8))
			avail = overhead + (useq ? 3 * cl : 8);	/* no fold */
		/* Take whole characters while they fit. */
		start = i;
		used = 0;
		while (i < n) {
			cl = char_len(p + i, n - i);
			if (useq)
				k = used + q_len(p + i, cl);
			else
				k = (i + cl - start + 2) / 3 * 4;
			if (overhead + k > avail && i > start)
				break;
			used = k;
			i += cl;
		}
		buf_reset(&word);
		if (buf_puts(&word, useq ? "=?UTF-8?Q?" : "=?UTF-8?B?") == -1)
			goto done;
		if (useq) {
			for (k = start; k < i; k++) {
				if (q_safe(p[k]))
					rc = buf_putc(&word, p[k]);
				else if (p[k] == ' ')
					rc = buf_putc(&word, '_');
				else
					rc = buf_printf(&word, "=%c%c",
					    hex_upper(p[k] >> 4), hex_upper(p[k]));
				if (rc == -1)
					goto done;
			}
		} else if (b64_append(&word, p + start, i - start) == -1)
			goto done;
		if (buf_puts(&word, "?=") == -1)
			goto done;
		if (buf_append(o->out, sep, seplen) == -1 ||
		    buf_append(o->out, word.data, word.len) == -1)
			goto done;
		o->col += seplen + word.len;
		/* Whitespace between encoded-words is not data: one space. */
		sep = " ";
		seplen = 1;
	}
	rc = 0;
done:
	buf_fini(&word);
	return rc;
}

static int encode_value(const char *, size_t, size_t, const char *,
    const char *, struct buf *);

/* rfc2047_encode - UTF-8 text to a folded value with encoded-words */
int
rfc2047_encode(const char *text, size_t len, size_t name_len,
    struct buf *out)
{
	return encode_value(text, len, name_len, NULL, NULL, out);
}

/* rfc2047_encode_charset - the same, the words in another charset */
int
rfc2047_encode_charset(const char *text, size_t len, size_t name_len,
    const char *label, const char *encoder, struct buf *out)
{
	size_t mark = out->len;
	int r;

	r = encode_value(text, len, name_len, label, encoder, out);
	if (r == -1) {
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
	}
	return r;
}

/* encode_value - the encoder behind both entry points */
static int
encode_value(const char *text, size_t len, size_t name_len, const char *label,
    const char *encoder, struct buf *out)
{
	struct buf u;
	struct enc_out o;
	const unsigned char *p;
	size_t i, n, ws, we, wordend, runend, k;
	int rc = -1;

	/* Unfold: a line break followed by whitespace is folding. */
	buf_init(&u);
	for (i = 0; i < len; i++) {
		if ((k = fold_len(text, len, i)) > 0) {
			i += k - 1;
			continue;
		}
		if (buf_putc(&u, text[i]) == -1)
			goto done;
	}
	p = (const unsigned char *)(u.data ? u.data : "");
	n = u.len;
	o.out = out;
	o.col = o.linestart = name_len + 2;	/* "Name: " */
	o.label = label;
	o.encoder = encoder;
	if (buf_append(out, "", 0) == -1)
		goto done;
	i = 0;
	while (i < n) {
		/* Whitespace [ws, we), then a word [we, wordend). */
		for (ws = i; i < n && is_wsp(p[i]); i++)
			;
		we = i;
		for (; i < n && !is_wsp(p[i]); i++)
			;
		wordend = i;
		if (we == wordend) {
			/* Trailing whitespace. */
			if (buf_append(out, p + ws, we - ws) == -1)
				goto done;
			o.col += we - ws;
			break;
		}
		if (!needs_encoding(p + we, wordend - we)) {
			if (put_word(&o, (const char *)p + ws, we - ws,
			    (const char *)p + we, wordend - we) == -1)
				goto done;
			continue;
		}
		/* Extend the run over following words that need encoding. */
		runend = wordend;
		for (;;) {
			for (k = runend; k < n && is_wsp(p[k]); k++)
				;
			if (k == n)
				break;
			for (i = k; i < n && !is_wsp(p[i]); i++)
				;
			if (!needs_encoding(p + k, i - k))
				break;
			runend = i;
		}
		if (encode_run(&o, (const char *)p + ws, we - ws, p + we,
		    runend - we) == -1)
			goto done;
		i = runend;
	}
	rc = 0;
done:
	buf_fini(&u);
	return rc;
}
