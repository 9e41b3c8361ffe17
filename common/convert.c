/*
 * convert - streaming charset conversion through iconv(3) (see convert.h).
 *
 * glibc iconv stops at the first bad byte (EILSEQ), at an incomplete
 * sequence at the end of its input (EINVAL) and when the output is full
 * (E2BIG). This module turns those into a stream: the output buffer grows,
 * an incomplete sequence is kept as a tail and completed with the next
 * chunk, and a bad byte is replaced (or reported) and skipped.
 *
 * A tail is completed by copying it and the start of the next chunk into a
 * small joint buffer on the stack; once iconv has consumed past the tail,
 * the rest of the chunk is converted in place, without copies.
 */
#include "convert.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct convert {
	iconv_t	 cd;
	int	 encode;	/* UTF-8 -> target; else source -> UTF-8 */
	enum convert_mode mode;
	int	 c1_pass;	/* windows-125x: undefined C1 bytes pass */
	int	 no_bestfit;	/* CP932: refuse U+00A5 and U+203E */
	enum convert_result stop;	/* sticky failure, CONVERT_OK if none */
	unsigned char tail[CONVERT_TAIL_MAX];
	size_t	 tail_len;
	uint64_t offset;	/* input offset of tail[0] / the next byte */
	size_t	 errors;
	uint64_t first_error;
};

static const char convert_fffd[] = "\xEF\xBF\xBD";

/* convert_is_windows - a windows-125x code page (WINDOWS-1252, CP1252) */
static int
convert_is_windows(const char *name)
{
	size_t n;

	if (strncasecmp(name, "WINDOWS-125", 11) == 0)
		n = 11;
	else if (strncasecmp(name, "CP125", 5) == 0)
		n = 5;
	else
		return 0;
	return name[n] >= '0' && name[n] <= '8' && name[n + 1] == '\0';
}

/* convert_is_cp932 - glibc's CP932, which maps U+00A5 and U+203E lossily */
static int
convert_is_cp932(const char *name)
{
	return strcasecmp(name, "CP932") == 0 ||
	    strcasecmp(name, "WINDOWS-31J") == 0 ||
	    strcasecmp(name, "MS932") == 0 || strcasecmp(name, "IBM-943") == 0;
}

/* convert_new - common part of the constructors */
static struct convert *
convert_new(const char *to, const char *from, int encode,
    enum convert_mode mode)
{
	struct convert *c;
	int saved;

	if (to == NULL || from == NULL || *to == '\0' || *from == '\0' ||
	    strchr(to, '/') != NULL || strchr(from, '/') != NULL) {
		/* "" is the locale charset and "//IGNORE" would hide errors */
		errno = EINVAL;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->cd = iconv_open(to, from)) == (iconv_t)-1) {
		saved = errno;
		free(c);
		errno = saved;
		return NULL;
	}
	c->encode = encode;
	c->mode = encode ? CONVERT_STRICT : mode;
	c->c1_pass = !encode && convert_is_windows(from);
	c->no_bestfit = encode && convert_is_cp932(to);
	c->first_error = CONVERT_NO_ERROR;
	return c;
}

/* convert_decoder_new - a converter from a source charset to UTF-8 */
struct convert *
convert_decoder_new(const char *from, enum convert_mode mode)
{
	return convert_new("UTF-8", from, 0, mode);
}

/* convert_encoder_new - a converter from UTF-8 to a target charset */
struct convert *
convert_encoder_new(const char *to)
{
	return convert_new(to, "UTF-8", 1, CONVERT_STRICT);
}

/* convert_free - release a converter (NULL is fine) */
void
convert_free(struct convert *c)
{
	if (c == NULL)
		return;
	iconv_close(c->cd);
	free(c);
}

/* convert_reset - back to the initial state, counters cleared */
void
convert_reset(struct convert *c)
{
	iconv(c->cd, NULL, NULL, NULL, NULL);
	c->stop = CONVERT_OK;
	c->tail_len = 0;
	c->offset = 0;
	c->errors = 0;
	c->first_error = CONVERT_NO_ERROR;
}

/* convert_errors - decoding errors (each one U+FFFD) so far */
size_t
convert_errors(const struct convert *c)
{
	return c->errors;
}

/* convert_first_error - input offset of the first bad byte */
uint64_t
convert_first_error(const struct convert *c)
{
	return c->first_error;
}

/* convert_utf8_char - length of a valid UTF-8 character at p, 0 if none */
static size_t
convert_utf8_char(const unsigned char *p, size_t len)
{
	size_t n, k;
	unsigned long cp;

	if (len == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		n = 2;
		cp = p[0] & 0x1Fu;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3;
		cp = p[0] & 0x0Fu;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4;
		cp = p[0] & 0x07u;
	} else
		return 0;
	if (len < n)
		return 0;
	for (k = 1; k < n; k++) {
		if ((p[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3Fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* convert_find_bestfit - first U+00A5 or U+203E in UTF-8 input, or NULL */
static const unsigned char *
convert_find_bestfit(const unsigned char *p, size_t len)
{
	size_t i;

	/* In UTF-8 these byte pairs only start the two characters. */
	for (i = 0; i + 1 < len; i++) {
		if (p[i] == 0xC2 && p[i + 1] == 0xA5)
			return p + i;
		if (p[i] == 0xE2 && p[i + 1] == 0x80 && i + 2 < len &&
		    p[i + 2] == 0xBE)
			return p + i;
	}
	return NULL;
}

/* convert_bad - byte p[0] (at input offset off) did not convert */
static enum convert_result
convert_bad(struct convert *c, const unsigned char *p, size_t avail,
    uint64_t off, struct buf *out)
{
	char c1[2];

	if (c->encode) {
		/* a valid character iconv refused is one the target lacks */
		c->stop = convert_utf8_char(p, avail) > 0 ?
		    CONVERT_EUNMAPPABLE : CONVERT_EBADINPUT;
		return c->stop;
	}
	if (c->c1_pass && avail > 0 && *p >= 0x80 && *p <= 0x9F) {
		/* undefined in windows-125x; Windows and WHATWG give U+00xx */
		c1[0] = (char)0xC2;
		c1[1] = (char)*p;
		return buf_append(out, c1, 2) == -1 ? CONVERT_ESYS : CONVERT_OK;
	}
	if (c->errors++ == 0)
		c->first_error = off;
	if (c->mode == CONVERT_STRICT) {
		c->stop = CONVERT_EBADINPUT;
		return c->stop;
	}
	return buf_append(out, convert_fffd, 3) == -1 ? CONVERT_ESYS :
	    CONVERT_OK;
}

/* convert_iconv - iconv(3) into out, growing it; 1 lossy, -1 with errno */
static int
convert_iconv(struct convert *c, char **ip, size_t *ileft, struct buf *out)
{
	size_t want, oleft, r;
	char *op;

	want = (ileft != NULL && *ileft < SIZE_MAX / 4 ? *ileft * 2 : 0) + 32;
	for (;;) {
		if (buf_reserve(out, want) == -1)
			return -1;
		op = out->data + out->len;
		oleft = out->cap - out->len - 1;
		r = iconv(c->cd, ip, ileft, &op, &oleft);
		out->len = (size_t)(op - out->data);
		out->data[out->len] = '\0';
		if (r != (size_t)-1) {
			/* glibc counts lossy (irreversible) conversions; an
			 * encoder must not make any */
			return r > 0 && c->encode ? 1 : 0;
		}
		if (errno != E2BIG)
			return -1;
		if (want > SIZE_MAX / 2) {
			errno = ENOMEM;
			return -1;
		}
		want = (out->cap - out->len) * 2 + 32;
	}
}

/* convert_run - convert what is complete in in[0..len); *used: consumed */
static enum convert_result
convert_run(struct convert *c, const unsigned char *in, size_t len,
    struct buf *out, size_t *used)
{
	const unsigned char *bestfit;
	enum convert_result r;
	size_t pos = 0, part, left;
	char *ip;
	int rc = 0;

	while (pos < len) {
		bestfit = c->no_bestfit ?
		    convert_find_bestfit(in + pos, len - pos) : NULL;
		part = bestfit != NULL ? (size_t)(bestfit - in) - pos :
		    len - pos;
		/* iconv takes char ** but does not write through it */
		ip = (char *)(uintptr_t)(in + pos);
		left = part;
		if (part > 0 && (rc = convert_iconv(c, &ip, &left, out)) == 1) {
			c->stop = CONVERT_EUNMAPPABLE;
			return c->stop;
		}
		if (part > 0 && rc == -1) {
			pos += part - left;
			if (errno == EINVAL && bestfit == NULL)
				break;	/* incomplete: the caller keeps it */
			if (errno != EILSEQ && errno != EINVAL) {
				c->stop = CONVERT_ESYS;
				return c->stop;
			}
			/* EINVAL before a best-fit cut is a broken sequence */
			if ((r = convert_bad(c, in + pos, len - pos,
			    c->offset + pos, out)) != CONVERT_OK)
				return r;
			/* glibc's ISO-2022-CN-EXT reports EILSEQ after it
			 * consumed the bad byte (a final SO): nothing to skip */
			if (pos < len)
				pos++;
			continue;
		}
		pos += part;
		if (bestfit != NULL) {
			c->stop = CONVERT_EUNMAPPABLE;
			return c->stop;
		}
	}
	*used = pos;
	return CONVERT_OK;
}

/* convert_keep - keep an incomplete sequence as the tail for later */
static enum convert_result
convert_keep(struct convert *c, const unsigned char *p, size_t n,
    struct buf *out)
{
	enum convert_result r;
	size_t used;

	/* longer than any character: its first byte is bad, go on after it */
	while (n > CONVERT_TAIL_MAX) {
		if ((r = convert_bad(c, p, n, c->offset, out)) != CONVERT_OK)
			return r;
		c->offset++;
		p++;
		n--;
		if ((r = convert_run(c, p, n, out, &used)) != CONVERT_OK)
			return r;
		c->offset += used;
		p += used;
		n -= used;
	}
	memcpy(c->tail, p, n);
	c->tail_len = n;
	return CONVERT_OK;
}

/* convert_feed - convert one chunk, appending to out */
enum convert_result
convert_feed(struct convert *c, const void *data, size_t len, struct buf *out)
{
	unsigned char joint[2 * CONVERT_TAIL_MAX];
	const unsigned char *p = data;
	enum convert_result r;
	size_t n, total, used;

	if (c->stop != CONVERT_OK)
		return c->stop;
	while (c->tail_len > 0 && len > 0) {
		n = len < sizeof(joint) - c->tail_len ? len :
		    sizeof(joint) - c->tail_len;
		memcpy(joint, c->tail, c->tail_len);
		memcpy(joint + c->tail_len, p, n);
		total = c->tail_len + n;
		if ((r = convert_run(c, joint, total, out, &used)) !=
		    CONVERT_OK)
			return r;
		if (used >= c->tail_len) {
			/* the tail is complete; go on in place in the chunk */
			p += used - c->tail_len;
			len -= used - c->tail_len;
			c->offset += used;
			c->tail_len = 0;
			break;
		}
		c->offset += used;
		if (n == len) {
			/* all of the chunk is in the joint: still incomplete */
			c->tail_len = 0;
			return convert_keep(c, joint + used, total - used, out);
		}
		/* the joint is full and the sequence still incomplete */
		if ((r = convert_bad(c, joint + used, total - used, c->offset,
		    out)) != CONVERT_OK)
			return r;
		c->offset++;
		c->tail_len -= used + 1;
		memmove(c->tail, joint + used + 1, c->tail_len);
	}
	if (len == 0)
		return CONVERT_OK;
	if ((r = convert_run(c, p, len, out, &used)) != CONVERT_OK)
		return r;
	c->offset += used;
	if (used < len)
		return convert_keep(c, p + used, len - used, out);
	return CONVERT_OK;
}

/* convert_finish - end of input: flag an incomplete tail, flush state */
enum convert_result
convert_finish(struct convert *c, struct buf *out)
{
	enum convert_result r;

	if (c->stop != CONVERT_OK)
		return c->stop;
	if (c->tail_len > 0) {
		/* iconv called the tail the start of one character that never
		 * ended: one bad sequence, one U+FFFD */
		if (c->encode) {
			c->stop = CONVERT_EBADINPUT;
			return c->stop;
		}
		r = convert_bad(c, c->tail, c->tail_len, c->offset, out);
		c->offset += c->tail_len;
		c->tail_len = 0;
		if (r != CONVERT_OK)
			return r;
	}
	/* back to the initial shift state (ESC ( B for ISO-2022-JP) */
	switch (convert_iconv(c, NULL, NULL, out)) {
	case 0:
		break;
	case 1:
		c->stop = CONVERT_EUNMAPPABLE;
		return c->stop;
	default:
		c->stop = CONVERT_ESYS;
		return c->stop;
	}
	return CONVERT_OK;
}

/* convert_decode_all - decode a whole string to UTF-8 */
enum convert_result
convert_decode_all(const char *from, enum convert_mode mode, const void *in,
    size_t len, struct buf *out, size_t *errors)
{
	struct convert *c;
	enum convert_result r;

	if (errors != NULL)
		*errors = 0;
	if ((c = convert_decoder_new(from, mode)) == NULL)
		return CONVERT_ESYS;
	if ((r = convert_feed(c, in, len, out)) == CONVERT_OK)
		r = convert_finish(c, out);
	if (errors != NULL)
		*errors = c->errors;
	convert_free(c);
	return r;
}

/* convert_encode_all - encode a whole UTF-8 string */
enum convert_result
convert_encode_all(const char *to, const void *in, size_t len,
    struct buf *out)
{
	struct convert *c;
	enum convert_result r;

	if ((c = convert_encoder_new(to)) == NULL)
		return CONVERT_ESYS;
	if ((r = convert_feed(c, in, len, out)) == CONVERT_OK)
		r = convert_finish(c, out);
	convert_free(c);
	return r;
}

/* convert_strerror - a result as text for logs */
const char *
convert_strerror(enum convert_result r)
{
	switch (r) {
	case CONVERT_OK:
		return "ok";
	case CONVERT_ESYS:
		return "system error";
	case CONVERT_EBADINPUT:
		return "input not valid in the source charset";
	case CONVERT_EUNMAPPABLE:
		return "character not representable in the target charset";
	}
	return "unknown result";
}
