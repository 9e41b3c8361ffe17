/*
 * jisms - ISO-2022-JP (Windows superset) to CP932 bytes (see jisms.h).
 */
#include "jisms.h"

#include <string.h>

enum { JISMS_ASCII, JISMS_KANJI, JISMS_KANA, JISMS_OTHER };

#define JISMS_BAD	0xFF	/* no CP932 character */

/* jisms_init - the initial state: ASCII */
void
jisms_init(struct jisms *j)
{
	memset(j, 0, sizeof(*j));
	j->mode = JISMS_ASCII;
}

/* jisms_escape - the mode an escape sequence selects, -1 not complete yet,
 * JISMS_OTHER for one not known here */
static int
jisms_escape(const unsigned char *e, size_t n)
{
	if (n < 3)
		return n < 2 || e[1] == '(' || e[1] == '$' ? -1 : JISMS_OTHER;
	if (e[1] == '(' && (e[2] == 'B' || e[2] == 'J'))
		return JISMS_ASCII;
	if (e[1] == '(' && e[2] == 'I')
		return JISMS_KANA;
	if (e[1] == '$' && (e[2] == '@' || e[2] == 'B'))
		return JISMS_KANJI;
	if (e[1] == '$' && e[2] == '(' && n < 4)
		return -1;	/* ESC $ ( B, ESC $ ( D, ... */
	if (e[1] == '$' && e[2] == '(' && e[3] == 'B')
		return JISMS_KANJI;
	return JISMS_OTHER;
}

/* jisms_pair - one JIS X 0208 position as its CP932 bytes */
static int
jisms_pair(unsigned char j1, unsigned char j2, struct buf *out)
{
	unsigned char s[2];

	s[0] = (unsigned char)(((j1 + 1) >> 1) + (j1 <= 0x5E ? 0x70 : 0xB0));
	s[1] = (unsigned char)(j2 + ((j1 & 1) ? (j2 >= 0x60 ? 0x20 : 0x1F) :
	    0x7E));
	return buf_append(out, s, 2);
}

/* jisms_feed - transcode a chunk */
int
jisms_feed(struct jisms *j, const void *data, size_t len, struct buf *out)
{
	const unsigned char *p = data;
	size_t i;
	int m;

	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (j->npend > 0 && j->pend[0] == 0x1B) {
			j->pend[j->npend++] = c;
			if ((m = jisms_escape(j->pend, j->npend)) == -1 &&
			    j->npend < sizeof(j->pend))
				continue;
			if (m == -1 || m == JISMS_OTHER) {
				/* unknown: the escape is an error, the
				 * text after it is unreadable */
				if (buf_putc(out, (char)JISMS_BAD) == -1)
					return -1;
				m = JISMS_OTHER;
			}
			j->mode = m;
			j->so = 0;
			j->npend = 0;
			continue;
		}
		if (c == 0x1B) {
			if (j->npend > 0 && buf_putc(out, (char)JISMS_BAD) == -1)
				return -1;	/* half a pair */
			j->pend[0] = c;
			j->npend = 1;
			continue;
		}
		if (c == 0x0E || c == 0x0F) {		/* SO, SI */
			j->so = c == 0x0E;
			continue;
		}
		if (c >= 0x80) {
			if (buf_putc(out, (char)JISMS_BAD) == -1)
				return -1;
			continue;
		}
		if (c < 0x21 || c == 0x7F) {
			/* controls and space end a pair and pass */
			if (j->npend > 0 &&
			    buf_putc(out, (char)JISMS_BAD) == -1)
				return -1;
			j->npend = 0;
			if (buf_putc(out, (char)c) == -1)
				return -1;
			continue;
		}
		if (j->so || j->mode == JISMS_KANA) {
			if (buf_putc(out, (char)(c <= 0x5F ? c + 0x80 :
			    JISMS_BAD)) == -1)
				return -1;
		} else if (j->mode == JISMS_KANJI) {
			if (j->npend == 0) {
				j->pend[0] = c;
				j->npend = 1;
			} else {
				j->npend = 0;
				if (jisms_pair(j->pend[0], c, out) == -1)
					return -1;
			}
		} else if (j->mode == JISMS_OTHER) {
			if (buf_putc(out, (char)JISMS_BAD) == -1)
				return -1;
		} else if (buf_putc(out, (char)c) == -1)
			return -1;
	}
	return 0;
}

/* jisms_finish - an unfinished escape or pair is one bad byte */
int
jisms_finish(struct jisms *j, struct buf *out)
{
	int r = 0;

	if (j->npend > 0)
		r = buf_putc(out, (char)JISMS_BAD);
	jisms_init(j);
	return r == -1 ? -1 : 0;
}
