/*
 * utf8 - the one UTF-8 check (see utf8.h).
 *
 * One state machine, utf8_step(), holds the rules; the whole-text and
 * one-character forms run it too, so the three can never disagree. Whole
 * characters between chunk ends are checked by utf8_one(), the same rules
 * written out (check_utf8 holds the two equal over random input): text is
 * mostly ASCII or whole characters, and stepping every byte was the cost.
 */
#include "utf8.h"

#include <string.h>

/* utf8_step - one more byte; v->ok turns false at the first bad one */
static inline void
utf8_step(struct utf8_check *v, unsigned char c)
{
	if (v->need == 0) {
		if (c < 0x80)
			return;
		if (c >= 0xC2 && c <= 0xDF) {
			v->need = 1;
			v->cp = c & 0x1Fu;
			v->min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			v->need = 2;
			v->cp = c & 0x0Fu;
			v->min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			v->need = 3;
			v->cp = c & 0x07u;
			v->min = 0x10000;
		} else
			v->ok = false;
		return;
	}
	if ((c & 0xC0) != 0x80) {
		v->ok = false;
		return;
	}
	v->cp = (v->cp << 6) | (c & 0x3Fu);
	/* the value is known only now: overlongs, surrogates, > U+10FFFF */
	if (--v->need == 0 && (v->cp < v->min || v->cp > 0x10FFFF ||
	    (v->cp >= 0xD800 && v->cp <= 0xDFFF)))
		v->ok = false;
}

/* utf8_one - bytes of the complete valid character at s (2 to 4), or 0
 * when s[0] starts none (the same rules as utf8_step, written out so
 * that whole characters are checked without the stepper) */
static inline size_t
utf8_one(const unsigned char *s, size_t n)
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

/* utf8_valid_prefix - length of the longest prefix of p made of complete
 * valid characters: ASCII runs are skipped a word at a time */
size_t
utf8_valid_prefix(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0, k;
	uint64_t w;

	while (i < n) {
		while (n - i >= 8) {
			memcpy(&w, s + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		while (i < n && s[i] < 0x80)
			i++;
		if (i == n || (k = utf8_one(s + i, n - i)) == 0)
			break;
		i += k;
	}
	return i;
}

/* utf8_check_init - start checking a stream */
void
utf8_check_init(struct utf8_check *v)
{
	v->cp = v->min = 0;
	v->need = 0;
	v->ok = true;
}

/* utf8_check_feed - check more bytes; a chunk may end inside a character */
void
utf8_check_feed(struct utf8_check *v, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0;

	while (i < n && v->ok) {
		/* between characters: whole valid ones need no stepping */
		if (v->need == 0 && (i += utf8_valid_prefix(s + i, n - i)) == n)
			break;
		utf8_step(v, s[i++]);
	}
}

/* utf8_check_ok - was everything fed UTF-8, ending between characters */
bool
utf8_check_ok(const struct utf8_check *v)
{
	return v->ok && v->need == 0;
}

/* utf8_valid - is the whole text UTF-8 */
bool
utf8_valid(const void *p, size_t n)
{
	struct utf8_check v;

	utf8_check_init(&v);
	utf8_check_feed(&v, p, n);
	return utf8_check_ok(&v);
}

/* utf8_char_len - bytes of the character at p (1 for ASCII, at most 4),
 * 0 if p holds no complete valid character (or n is 0) */
size_t
utf8_char_len(const void *p, size_t n)
{
	const unsigned char *s = p;
	struct utf8_check v;
	size_t i;

	utf8_check_init(&v);
	for (i = 0; i < n && i < 4; i++) {
		utf8_step(&v, s[i]);
		if (!v.ok)
			return 0;
		if (v.need == 0)
			return i + 1;
	}
	return 0;
}
