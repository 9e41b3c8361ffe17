/*
 * repair_header - header fields of the repair library (see repair_int.h).
 *
 * repair_header_fix gives a field as it is to be written: raw 8-bit text
 * in an unstructured field, or in the display names and comments of an
 * address field, becomes RFC 2047 encoded-words (valid UTF-8 read as
 * UTF-8, else in the legacy charset), in the target charset where it can
 * hold the text, else in UTF-8; encoded-words already there are decoded
 * first, never encoded twice. Encoded-words with a non-standard label
 * (ks_c_5601-1987, x-sjis), with bytes beyond their label, or broken by
 * folding are written again, but only when every word decodes. What is
 * uncertain is left as written and reported: raw 8-bit text in a
 * structured field or an addr-spec, text that does not decode in the
 * legacy charset, words that do not decode. Line breaks become CRLF.
 *
 * repair_header_set_charset sets the charset parameter of a raw
 * Content-Type value, and repair_header_ct_edit_ok checks that the MIME
 * parser reads the edited value back as meant.
 *
 * repair_header_params_2231 writes raw 8-bit parameter values of
 * Content-Type and Content-Disposition as RFC 2231 values in UTF-8.
 *
 * Lines over 998 octets are folded at whitespace near 78 octets, or, in
 * unstructured text without whitespace, written as encoded-words.
 */
#include "repair_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "rfc2047.h"

/* rp_buf_cut - shorten a buf to n bytes */
static void
rp_buf_cut(struct buf *b, size_t n)
{
	if (b->data != NULL && n <= b->len) {
		b->len = n;
		b->data[n] = '\0';
	}
}

/*
 * Labels that lie: a 7-bit charset (ISO-2022-*, UTF-7) cannot hold 8-bit
 * bytes, so text labelled so that has them was written in something else.
 * Mono's SmtpClient writes Shift_JIS (CP932) bytes under iso-2022-jp, in
 * bodies and in encoded-words. The readings tried, in order: UTF-8 when
 * valid; for a Japanese label EUC-JP, then CP932 (CP932 text almost never
 * decodes as EUC-JP, whose bytes are all 0xA1 and above, while EUC-JP
 * often decodes as CP932 half-width katakana); for Korean CP949, for
 * Chinese GB18030.
 */

/* repair_header_7bit_decoder - is the iconv name a 7-bit charset */
int
repair_header_7bit_decoder(const char *dec)
{
	return strncasecmp(dec, "ISO-2022", 8) == 0 ||
	    strcasecmp(dec, "UTF-7") == 0;
}

/* repair_header_lie_readings - the decoders to try, in order, for 8-bit
 * bytes under the 7-bit charset dec (NULL-terminated, UTF-8 first) */
const char *const *
repair_header_lie_readings(const char *dec)
{
	static const char *const jp[] = { "UTF-8", "EUC-JP", "CP932", NULL };
	static const char *const kr[] = { "UTF-8", "CP949", NULL };
	static const char *const cn[] = { "UTF-8", "GB18030", NULL };
	static const char *const other[] = { "UTF-8", NULL };

	if (strncasecmp(dec, "ISO-2022-JP", 11) == 0)
		return jp;
	if (strncasecmp(dec, "ISO-2022-KR", 11) == 0)
		return kr;
	if (strncasecmp(dec, "ISO-2022-CN", 11) == 0)
		return cn;
	return other;
}

/* rp_lie_decoder - for 8-bit bytes under a 7-bit label, the first reading
 * that decodes them cleanly, else NULL */
static const char *
rp_lie_decoder(const struct charset_info *ci, const char *b, size_t n)
{
	const char *const *r;
	struct buf t;
	size_t errs;
	int ok;

	if (!repair_header_7bit_decoder(ci->decoder) || !charset_has_8bit(b, n))
		return NULL;
	buf_init(&t);
	for (r = repair_header_lie_readings(ci->decoder); *r != NULL; r++) {
		errs = 0;
		buf_reset(&t);
		ok = strcmp(*r, "UTF-8") == 0 ? utf8_valid(b, n) :
		    convert_decode_all(*r, CONVERT_STRICT, b, n, &t, &errs) ==
		    CONVERT_OK && errs == 0;
		if (ok)
			break;
	}
	buf_fini(&t);
	return *r;
}

/* repair_header_to_utf8 - charset conversion for encoded-words and
 * RFC 2231 values (an rfc2047_to_utf8_fn) */
int
repair_header_to_utf8(const char *charset, const char *bytes, size_t len,
    struct buf *out)
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
	if (rp_lie_decoder(&ci, bytes, len) != NULL)
		dec = rp_lie_decoder(&ci, bytes, len);
	r = convert_decode_all(dec, CONVERT_STRICT, bytes, len, out, &errs);
	if ((r == CONVERT_EBADINPUT || errs > 0) && ci.alt_decoder != NULL &&
	    dec == ci.decoder) {
		/* the second choice: GB18030 for GBK, the Windows superset
		 * of ISO-2022-JP */
		rp_buf_cut(out, mark);
		errs = 0;
		r = convert_decode_all(ci.alt_decoder, CONVERT_STRICT, bytes,
		    len, out, &errs);
	}
	if (r != CONVERT_OK || errs > 0) {
		int e = r == CONVERT_ESYS ? errno : EILSEQ;

		rp_buf_cut(out, mark);
		errno = e;
		return -1;
	}
	return 0;
}

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

/* rp_words_in - UTF-8 text as B encoded-words only (phrases, comments), in
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
		if (label != NULL ? codec_b64_encode(c.data ? c.data : "",
		    c.len, &b) == -1 : codec_b64_encode(s + i, k - i, &b) == -1)
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

/*
 * Why an encoded-word is written again (bits, for the report's wording):
 * its label is not the standard one (ks_c_5601-1987), its bytes are more
 * than the label promises (iso-8859-1 with C1 bytes read as windows-1252,
 * GBK characters under gb2312), it holds 8-bit bytes under a 7-bit label,
 * or it is simply in another charset than the one delivered. A word that
 * does not decode is not odd: it is left alone.
 */
#define RP_ODD_LABEL	0x01
#define RP_ODD_BEYOND	0x02
#define RP_ODD_LIE	0x04
#define RP_ODD_TARGET	0x08

/* rp_word_odd - why the word is to be written again (RP_ODD_*), or 0 */
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
		return RP_ODD_LABEL;
	if ((encoder = charset_encoder(name)) == NULL)
		encoder = "UTF-8";	/* only the decode check matters */
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
	/* 8-bit bytes under a 7-bit label: the label lies, write it again */
	if (rp_lie_decoder(&ci, raw.data ? raw.data : "", raw.len) != NULL) {
		odd = RP_ODD_LIE;
		goto done;
	}
	if ((dec = charset_decoder_for(&ci, raw.data ? raw.data : "",
	    raw.len)) == NULL)
		goto done;
	if (convert_decode_all(dec, CONVERT_STRICT, raw.data ? raw.data : "",
	    raw.len, &u8, &errs) != CONVERT_OK || errs > 0) {
		/* only the second choice reads it (the Windows superset of
		 * ISO-2022-JP): beyond the label */
		buf_reset(&u8);
		errs = 0;
		if (ci.alt_decoder != NULL && dec == ci.decoder &&
		    convert_decode_all(ci.alt_decoder, CONVERT_STRICT,
		    raw.data ? raw.data : "", raw.len, &u8, &errs) ==
		    CONVERT_OK && errs == 0)
			odd = RP_ODD_BEYOND;
		goto done;
	}
	/* Delivering in a charset (UTF-8 by default): every word is written
	 * in it, so readers that know only standard charsets (or stricter
	 * tables, like Shift_JIS without the CP932 characters) read what was
	 * meant, and a partner that needs ISO-2022-JP gets it in headers
	 * too. */
	if (convert_encode_all(encoder, u8.data ? u8.data : "", u8.len,
	    &back) != CONVERT_OK)
		odd = RP_ODD_BEYOND;
	else if (want != NULL && strcasecmp(mime, want) != 0 &&
	    strcasecmp(mime, "us-ascii") != 0)
		odd = RP_ODD_TARGET;
done:
	buf_fini(&raw);
	buf_fini(&q);
	buf_fini(&u8);
	buf_fini(&back);
	return odd;
}

/* rp_words_label_odd - why encoded-words of the text are to be written
 * again (RP_ODD_* of all of them), or 0 */
static int
rp_words_label_odd(const char *s, size_t n, const char *want)
{
	size_t i, cs, cse, e, t, te;
	int why = 0;

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
		why |= rp_word_odd(s + cs, cse - cs, s[e + 1], s + t, te - t,
		    want);
		i = te + 1;
	}
	return why;
}

/* rp_odd_note - what was done, in words, for the RP_ODD_* bits */
static const char *
rp_odd_note(int why, const char *want)
{
	int u8 = want == NULL || strcasecmp(want, "utf-8") == 0;

	if (why & RP_ODD_LIE)
		return u8 ? "encoded-words holding 8-bit bytes under a 7-bit "
		    "charset label read as what they are and written again "
		    "in utf-8" : "encoded-words holding 8-bit bytes under a "
		    "7-bit charset label read as what they are and written "
		    "again in the delivery charset";
	if (why & RP_ODD_LABEL)
		return u8 ? "encoded-words with a non-standard charset label "
		    "written again in utf-8" : "encoded-words with a "
		    "non-standard charset label written again in the "
		    "delivery charset";
	if (why & RP_ODD_BEYOND)
		return u8 ? "encoded-words with bytes beyond their charset "
		    "label written again in utf-8" : "encoded-words with "
		    "bytes beyond their charset label written again in the "
		    "delivery charset";
	return u8 ? "encoded-words converted to utf-8, the delivery charset" :
	    "encoded-words converted to the delivery charset";
}

/* rp_comment_end - the index of the ")" that closes the comment opening at
 * s[i] (nested comments and quoted pairs honoured), n if none does */
static size_t
rp_comment_end(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	for (; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i;
	}
	return n;
}

/* rp_phrase_text - the words of a raw phrase as plain UTF-8 text */
static int
rp_phrase_text(const char *s, size_t n, struct buf *out)
{
	size_t i = 0;
	int space = 0;

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
			i = rp_comment_end(s, n, i);
			i += i < n;
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
	int inq = 0;

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
		j = rp_comment_end(s, n, i);
		if (j >= n)
			j = n - 1;	/* unclosed: up to the end */
		if (!charset_has_8bit(s + i, j + 1 - i)) {
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

/*
 * rp_quoted_words - does a quoted-string of the text hold encoded-words
 * ("=?utf-8?Q?Caf=C3=A9?=" as Mono writes display names)? RFC 2047 5
 * forbids them there, so strict readers show them raw, although the
 * writer meant the decoded text. Only words that all decode count.
 */
static int
rp_quoted_words(const char *s, size_t n)
{
	struct buf q, d;
	size_t i = 0;
	unsigned flags;
	int found = 0;

	buf_init(&q);
	buf_init(&d);
	while (i < n && !found) {
		if (s[i] == '(') {
			i = rp_comment_end(s, n, i) + 1;
			continue;
		}
		if (s[i++] != '"')
			continue;
		buf_reset(&q);
		for (; i < n && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			if (s[i] != '\r' && s[i] != '\n')
				(void)buf_putc(&q, s[i]);
		}
		i++;
		if (q.len == 0 || memmem(q.data, q.len, "=?", 2) == NULL)
			continue;
		buf_reset(&d);
		flags = 0;
		found = rfc2047_decode(q.data, q.len, repair_header_to_utf8, &d,
		    &flags) == 0 && (flags & RFC2047_DECODED) &&
		    !(flags & (RFC2047_MALFORMED | RFC2047_UNKNOWN_CHARSET |
		    RFC2047_BAD_PAYLOAD));
	}
	buf_fini(&q);
	buf_fini(&d);
	return found;
}

/* rp_put_phrase - a raw phrase, as encoded-words if it has 8-bit text */
static int
rp_put_phrase(const char *s, size_t n, struct buf *out, const char *want)
{
	struct buf t, d;
	const struct buf *text;
	size_t lead = 0, trail = n;
	unsigned flags = 0;
	int rc = -1, has8 = charset_has_8bit(s, n), odd;

	odd = memmem(s, n, "=?", 2) != NULL && (rp_words_label_odd(s, n,
	    want) || rp_quoted_words(s, n));
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
		if (rfc2047_decode(t.data, t.len, repair_header_to_utf8, &d,
		    &flags) == -1)
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
	size_t i = 0, seg = 0;

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
			i = rp_comment_end(s, n, i) + 1;
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
				if (charset_has_8bit(s + i, j - i))
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
		if (rfc2047_encode_charset(s, n, name_len, st->t_mime,
		    st->t_enc, out) == 0)
			return 0;
		if (errno != EILSEQ)
			return -1;
	}
	return rfc2047_encode(s, n, name_len, out);
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
	if (rfc2047_decode(ev->value, ev->value_len, repair_header_to_utf8,
	    &dec, &flags) == -1)
		goto done;
	rc = 0;
	if ((!odd && !(flags & RFC2047_FOLDED_WORD)) ||
	    (flags & (RFC2047_MALFORMED | RFC2047_UNKNOWN_CHARSET |
	    RFC2047_BAD_PAYLOAD)) || !(flags & RFC2047_DECODED))
		goto done;
	rc = -1;
	if (rp_encode_words(st, dec.data ? dec.data : "", dec.len,
	    ev->name_len, &val) == -1 ||
	    buf_append(out, ev->name, ev->name_len) == -1 ||
	    buf_putc(out, ':') == -1)
		goto done;
	if ((val.len == 0 || (val.data[0] != ' ' && val.data[0] != '\t')) &&
	    buf_putc(out, ' ') == -1)
		goto done;
	if (buf_append(out, val.data, val.len) == -1)
		goto done;
	*changed = 1;
	*note = odd ? rp_odd_note(odd, rp_want(st)) :
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

	return repair_cte_crlf(s, n, &prev_cr, out);
}

/*
 * Raw 8-bit parameter values (name="Résumé.pdf" in Content-Type or
 * filename= in Content-Disposition, as old mailers wrote them) become
 * RFC 2231 values in UTF-8: filename*=utf-8''R%C3%A9sum%C3%A9.pdf, split
 * into numbered sections (filename*0*=, filename*1*=) when long, each on a
 * line of its own. The bytes are read by the unlabelled 8-bit rule (valid
 * UTF-8, else the legacy charset); when they do not decode, the whole
 * value is left as written.
 */
#define RP_2231_SECTION	60	/* encoded octets per section */

/* rp_attr_char - may the octet stand for itself in an RFC 2231 value */
static int
rp_attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$&+-.^_`{|}~", c) != NULL;
}

/* rp_param_2231 - one parameter (name, UTF-8 text) in RFC 2231 form */
static int
rp_param_2231(const char *name, size_t nlen, const char *t, size_t tn,
    struct buf *out)
{
	struct buf enc;
	size_t i, start, sect = 0, cut;
	int rc = -1;

	buf_init(&enc);
	for (i = 0; i < tn; i++) {
		unsigned char c = (unsigned char)t[i];

		if (rp_attr_char(c) ? buf_putc(&enc, (char)c) == -1 :
		    buf_printf(&enc, "%%%02X", c) == -1)
			goto done;
	}
	if (enc.len <= RP_2231_SECTION) {
		rc = buf_puts(out, ";\r\n\t") == -1 ||
		    buf_append(out, name, nlen) == -1 ||
		    buf_puts(out, "*=utf-8''") == -1 ||
		    buf_append(out, enc.data ? enc.data : "", enc.len) == -1 ?
		    -1 : 0;
		goto done;
	}
	for (start = 0; start < enc.len; start = cut, sect++) {
		cut = start + RP_2231_SECTION;
		if (cut >= enc.len)
			cut = enc.len;
		else	/* never inside a %XX */
			while (cut > start + 2 && (enc.data[cut - 1] == '%' ||
			    enc.data[cut - 2] == '%'))
				cut--;
		if (buf_puts(out, ";\r\n\t") == -1 ||
		    buf_append(out, name, nlen) == -1 ||
		    buf_printf(out, "*%zu*=%s", sect, sect == 0 ? "utf-8''" :
		    "") == -1 || buf_append(out, enc.data + start,
		    cut - start) == -1)
			goto done;
	}
	rc = 0;
done:
	buf_fini(&enc);
	return rc;
}

/* rp_value_utf8 - raw value bytes as UTF-8 by the unlabelled 8-bit rule;
 * 1 done, 0 they do not decode */
static int
rp_value_utf8(const char *legacy_dec, const char *v, size_t n,
    struct buf *out)
{
	size_t errs = 0;
	enum convert_result r;

	if (utf8_valid(v, n))
		return buf_append(out, v, n) == -1 ? -1 : 1;
	r = convert_decode_all(legacy_dec, CONVERT_STRICT, v, n, out, &errs);
	if (r == CONVERT_ESYS)
		return -1;
	return r == CONVERT_OK && errs == 0;
}

/*
 * repair_header_params_2231 - a raw Content-Type or Content-Disposition
 * value with its raw 8-bit parameter values written as RFC 2231; *changed
 * when out differs; 0 also when nothing could be done (out = the value).
 */
int
repair_header_params_2231(const char *legacy_dec, const char *s, size_t n,
    struct buf *out, int *changed)
{
	struct buf val, u8;
	size_t i = 0, seg, ns, ne, vs, ve, mark = out->len;
	int inq = 0, depth = 0, r, rc = -1;

	*changed = 0;
	buf_init(&val);
	buf_init(&u8);
	/* the type, up to the first ";" outside quotes and comments */
	for (; i < n; i++) {
		if (inq) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			else if (s[i] == '"')
				inq = 0;
		} else if (depth > 0) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			else if (s[i] == '(')
				depth++;
			else if (s[i] == ')')
				depth--;
		} else if (s[i] == '"')
			inq = 1;
		else if (s[i] == '(')
			depth = 1;
		else if (s[i] == ';')
			break;
	}
	if (buf_append(out, s, i) == -1)
		goto done;
	while (i < n) {
		/* s[i] is ";": one parameter up to the next one */
		seg = i;
		for (ns = i + 1; ns < n && (s[ns] == ' ' || s[ns] == '\t' ||
		    s[ns] == '\r' || s[ns] == '\n'); ns++)
			;
		for (ne = ns; ne < n && s[ne] != '=' && s[ne] != ';' &&
		    s[ne] != ' ' && s[ne] != '\t' && s[ne] != '"' &&
		    s[ne] != '\r' && s[ne] != '\n' && s[ne] != '('; ne++)
			;
		for (vs = ne; vs < n && (s[vs] == ' ' || s[vs] == '\t'); vs++)
			;
		ve = vs;
		buf_reset(&val);
		if (vs < n && s[vs] == '=') {
			for (vs++; vs < n && (s[vs] == ' ' || s[vs] == '\t');
			    vs++)
				;
			ve = vs;
			if (ve < n && s[ve] == '"') {
				for (ve++; ve < n && s[ve] != '"'; ve++) {
					if (s[ve] == '\\' && ve + 1 < n)
						ve++;
					if (s[ve] != '\r' && s[ve] != '\n' &&
					    buf_putc(&val, s[ve]) == -1)
						goto done;
				}
				ve += ve < n;
			} else {
				while (ve < n && s[ve] != ';' && s[ve] != ' ' &&
				    s[ve] != '\t' && s[ve] != '\r' &&
				    s[ve] != '\n' && s[ve] != '(')
					ve++;
				if (buf_append(&val, s + vs, ve - vs) == -1)
					goto done;
			}
		}
		/* the rest of the segment: whitespace, comments, junk */
		for (i = ve; i < n && s[i] != ';'; i++) {
			if (s[i] == '(') {
				i = rp_comment_end(s, n, i);
				if (i >= n)
					break;
			} else if (s[i] == '"') {
				for (i++; i < n && s[i] != '"'; i++)
					if (s[i] == '\\' && i + 1 < n)
						i++;
				if (i >= n)
					break;
			}
		}
		if (i > n)
			i = n;
		buf_reset(&u8);
		if (ne == ns || s[ne - 1] == '*' || val.len == 0 ||
		    !charset_has_8bit(val.data, val.len) ||
		    charset_has_8bit(s + ve, i - ve) ||
		    (r = rp_value_utf8(legacy_dec, val.data, val.len,
		    &u8)) == 0) {
			if (buf_append(out, s + seg, i - seg) == -1)
				goto done;
			continue;
		}
		if (r == -1 || rp_param_2231(s + ns, ne - ns, u8.data,
		    u8.len, out) == -1)
			goto done;
		*changed = 1;
	}
	rc = 0;
done:
	if (rc == -1 || !*changed) {
		rp_buf_cut(out, mark);
		*changed = 0;
		if (rc == 0)
			rc = buf_append(out, s, n);
	}
	buf_fini(&val);
	buf_fini(&u8);
	return rc;
}

/*
 * rp_header_fix - the field as it is to be written (without its final line
 * break) in out; *changed when it differs from the input.
 */
static int
rp_header_fix(struct rp_state *st, const struct mime_event *ev,
    struct buf *out, int *changed, const char **note)
{
	struct buf u8, dec, val;
	enum rp_hkind kind;
	size_t errs = 0;
	unsigned flags = 0;
	int left8 = 0, rc = -1, quoted = 0, odd = 0;
	enum convert_result r;

	size_t mark = out->len;

	*changed = 0;
	*note = NULL;
	kind = rp_hkind(ev->name, ev->name_len);
	if (!charset_has_8bit(ev->value, ev->value_len)) {
		if (kind == RP_H_UNSTRUCTURED) {
			if (rp_fix_words(st, ev, out, changed, note) == -1)
				return -1;
			if (*changed)
				return 0;
		}
		if (kind != RP_H_ADDRESS || memmem(ev->value, ev->value_len,
		    "=?", 2) == NULL)
			return rp_norm_field(ev->data, ev->len, out);
		quoted = rp_quoted_words(ev->value, ev->value_len);
		odd = rp_words_label_odd(ev->value, ev->value_len, rp_want(st));
		if (!quoted && !odd)
			return rp_norm_field(ev->data, ev->len, out);
		/* display names in a non-standard charset: as below */
	}
	if (kind == RP_H_STRUCTURED && ((ev->name_len == 12 &&
	    strncasecmp(ev->name, "content-type", 12) == 0) ||
	    (ev->name_len == 19 && strncasecmp(ev->name,
	    "content-disposition", 19) == 0))) {
		buf_init(&val);
		if (repair_header_params_2231(st->legacy_dec, ev->value,
		    ev->value_len, &val, changed) == -1 ||
		    (*changed && (buf_append(out, ev->name, ev->name_len) ==
		    -1 || buf_putc(out, ':') == -1 ||
		    rp_norm_field(val.data, val.len, out) == -1))) {
			buf_fini(&val);
			return -1;
		}
		buf_fini(&val);
		if (*changed && !charset_has_8bit(out->data + mark,
		    out->len - mark)) {
			*note = "raw 8-bit parameter values written as RFC 2231 "
			    "(utf-8)";
			return 0;
		}
		rp_buf_cut(out, mark);
		*changed = 0;
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
		*note = charset_has_8bit(ev->value, ev->value_len) ?
		    "raw 8-bit text (utf-8) written as encoded-words" :
		    quoted ? "encoded-words inside a quoted string written "
		    "as proper encoded-words" : rp_odd_note(odd, rp_want(st));
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
		if (rfc2047_decode(u8.data, u8.len, repair_header_to_utf8, &dec,
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
		if (rp_fix_address(u8.data, u8.len, &val, &left8,
		    rp_want(st)) == -1 ||
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
 * repair_header_set_charset - a raw Content-Type value with its charset
 * parameter set to label (added when missing); other parameters are kept
 * as written.
 */
int
repair_header_set_charset(const char *s, size_t n, const char *label,
    struct buf *out)
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
 * repair_header_ct_edit_ok - is the Content-Type value with its charset
 * set to label read back as label, with the same type, by the MIME parser
 * (a broken value may hide an appended parameter in a comment)
 */
int
repair_header_ct_edit_ok(const struct buf *raw, const struct mime_part *mp,
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
	    repair_header_set_charset(raw->data ? raw->data : "", raw->len,
	    label, &f) == -1 || buf_puts(&f, "\r\n\r\n") == -1 ||
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

/*
 * Lines over 998 octets (RFC 5322 2.1.1; Mono writes a 1,728-octet
 * Subject) are folded: a fold is a CRLF put before whitespace, which
 * unfolding takes away again, so any field may be folded where it has
 * whitespace (inside quoted strings too). A line that needs folding is cut
 * near 78 octets where it can be; lines already short enough are kept.
 * An unstructured field with no whitespace to fold at is written as
 * encoded-words instead, which carry the same text; anything else that
 * folding cannot bring under the limit is left as written and reported.
 */
#define RP_FOLD_AT	78

static int
rp_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* rp_fold_line - one line (no line break) folded into out; *fits says
 * whether every line written is at most RP_LINE_MAX octets */
static int
rp_fold_line(const char *s, size_t n, struct buf *out, int *fits)
{
	size_t pos = 0, last = n, b, best, i;

	while (last > 0 && rp_wsp(s[last - 1]))
		last--;
	/* a fold point b: whitespace starting a run, after text on this
	 * line and before text still to come */
	while (n - pos > RP_FOLD_AT) {
		best = 0;
		for (i = pos + 1; i < last; i++) {
			if (i - pos > RP_FOLD_AT && best != 0)
				break;	/* the last one within 78 */
			if (rp_wsp(s[i]) && !rp_wsp(s[i - 1])) {
				best = i;
				if (i - pos > RP_FOLD_AT)
					break;	/* none within: the first */
			}
		}
		if ((b = best) == 0)
			break;
		if (b - pos > RP_LINE_MAX)
			*fits = 0;
		if (buf_append(out, s + pos, b - pos) == -1 ||
		    buf_puts(out, "\r\n") == -1)
			return -1;
		pos = b;
	}
	if (n - pos > RP_LINE_MAX)
		*fits = 0;
	return buf_append(out, s + pos, n - pos);
}

/* rp_fold_field - fold the lines over RP_LINE_MAX of a field (CRLF line
 * breaks, no final one) into out; *fits as above */
static int
rp_fold_field(const char *s, size_t n, struct buf *out, int *fits)
{
	const char *p = s, *end = s + n, *e;

	*fits = 1;
	while (p <= end) {
		e = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (e == NULL)
			e = end;
		if ((size_t)(e - p) > RP_LINE_MAX) {
			if (rp_fold_line(p, (size_t)(e - p), out, fits) == -1)
				return -1;
		} else if (buf_append(out, p, (size_t)(e - p)) == -1)
			return -1;
		if (e == end)
			break;
		if (buf_puts(out, "\r\n") == -1)
			return -1;
		p = e + 2;
	}
	return 0;
}

/* rp_longest_line - the longest line of a field with CRLF breaks */
static size_t
rp_longest_line(const char *s, size_t n)
{
	const char *p = s, *end = s + n, *e;
	size_t m = 0;

	for (;;) {
		e = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (e == NULL)
			e = end;
		if ((size_t)(e - p) > m)
			m = (size_t)(e - p);
		if (e == end)
			return m;
		p = e + 2;
	}
}

/* rp_fold_as_words - an unstructured field's text as encoded-words (in the
 * target charset where it can hold it), which fold anywhere; 1 done, 0 the
 * text cannot be read for sure (left as it is) */
static int
rp_fold_as_words(const struct rp_state *st, const char *field, size_t n,
    size_t name_len, struct buf *out)
{
	struct buf dec;
	const char *v = field + name_len + 1, *t;
	size_t vn = n - name_len - 1, tn;
	unsigned flags = 0;
	int rc = -1;

	buf_init(&dec);
	if (rfc2047_decode(v, vn, repair_header_to_utf8, &dec, &flags) == -1)
		goto done;
	rc = 0;
	if ((flags & (RFC2047_MALFORMED | RFC2047_UNKNOWN_CHARSET |
	    RFC2047_BAD_PAYLOAD | RFC2047_RAW_8BIT)) ||
	    !utf8_valid(dec.data ? dec.data : "", dec.len))
		goto done;
	t = dec.data ? dec.data : "";
	tn = dec.len;
	while (tn > 0 && rp_wsp(*t)) {
		t++;
		tn--;
	}
	while (tn > 0 && rp_wsp(t[tn - 1]))
		tn--;
	rc = -1;
	if (buf_append(out, field, name_len + 1) == -1 ||
	    buf_putc(out, ' ') == -1 ||
	    rp_words_want(t, tn, out, rp_want(st)) == -1)
		goto done;
	rc = 1;
done:
	buf_fini(&dec);
	return rc;
}

/*
 * repair_header_fix - the field as it is to be written (without its final
 * line break) in out, no line over 998 octets where it can be folded;
 * *changed when it differs from the input.
 */
int
repair_header_fix(struct rp_state *st, const struct mime_event *ev,
    struct buf *out, int *changed, const char **note)
{
	size_t mark = out->len;
	struct buf f;
	int fits, r;

	if (rp_header_fix(st, ev, out, changed, note) == -1)
		return -1;
	if (out->len - mark <= RP_LINE_MAX ||
	    rp_longest_line(out->data + mark, out->len - mark) <= RP_LINE_MAX)
		return 0;
	buf_init(&f);
	if (rp_fold_field(out->data + mark, out->len - mark, &f, &fits) == -1)
		goto fail;
	if (!fits && rp_hkind(ev->name, ev->name_len) == RP_H_UNSTRUCTURED) {
		buf_reset(&f);
		if ((r = rp_fold_as_words(st, out->data + mark, out->len - mark,
		    ev->name_len, &f)) == -1)
			goto fail;
		if (r == 1) {
			rp_buf_cut(out, mark);
			if (buf_append(out, f.data, f.len) == -1)
				goto fail;
			*changed = 1;
			*note = "a line over 998 octets without whitespace to "
			    "fold at, written as encoded-words";
			buf_fini(&f);
			return 0;
		}
	}
	/* folding that still leaves a line too long helps no reader */
	if (!fits) {
		*note = "a line over 998 octets without whitespace to fold "
		    "at, left as is";
		buf_fini(&f);
		return 0;
	}
	rp_buf_cut(out, mark);
	if (buf_append(out, f.data, f.len) == -1)
		goto fail;
	*changed = 1;
	*note = "a line over 998 octets folded at whitespace";
	buf_fini(&f);
	return 0;
fail:
	buf_fini(&f);
	return -1;
}
