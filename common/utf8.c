/*
 * utf8 - the one UTF-8 check (see utf8.h).
 *
 * One state machine, utf8_step(), holds the rules; the whole-text and
 * one-character forms run it too, so the three can never disagree.
 */
#include "utf8.h"

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
	size_t i;

	for (i = 0; i < n && v->ok; i++)
		utf8_step(v, s[i]);
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
