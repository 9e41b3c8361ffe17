/*
 * jisms - ISO-2022-JP as Windows writes it (CP50220/CP50221, known as
 * ISO-2022-JP-MS), turned into CP932 bytes for iconv to decode.
 *
 * Outlook Express and other Windows mailers wrote the NEC row 13 symbols
 * (circled numbers, Roman numerals), the NEC-selected IBM extensions and
 * half-width katakana under the iso-2022-jp label. glibc has no CP5022x
 * decoder, and its ISO-2022-JP decoders reject those rows; but every
 * JIS X 0208 position of the Windows superset is the CP932 character at
 * the position the usual JIS to Shift_JIS arithmetic gives, so this
 * transcoder writes CP932 bytes and glibc's CP932 does the table. Escapes
 * known: ESC ( B and ESC ( J (ASCII), ESC $ @ and ESC $ B (JIS X 0208 and
 * its Windows rows), ESC ( I and SO/SI (half-width katakana). Anything
 * else (another escape, an 8-bit byte, a lone byte of a pair) becomes the
 * byte 0xFF, which CP932 does not decode, so the caller's decoder counts
 * the error where it was.
 *
 * Streaming: feed chunks of any size; the state between them is the mode
 * and at most an unfinished escape or half a pair. No allocation.
 */
#ifndef IMC_JISMS_H
#define IMC_JISMS_H

#include <stddef.h>

#include "buf.h"

struct jisms {
	int		 mode;		/* JISMS_* below */
	int		 so;		/* shifted out: katakana */
	unsigned char	 pend[4];	/* an escape or a lead byte */
	size_t		 npend;
};

void	jisms_init(struct jisms *);
/* Transcode bytes; 0, or -1 when a size overflows (buf.h). */
int	jisms_feed(struct jisms *, const void *, size_t, struct buf *out);
/* The end: an unfinished escape or pair is one bad byte. */
int	jisms_finish(struct jisms *, struct buf *out);

#endif
