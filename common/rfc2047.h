/*
 * rfc2047 - encoded-words in header values ("=?charset?Q?...?=").
 *
 * Decoding turns a raw header value (folding included) into unfolded UTF-8.
 * Q and B words of any charset are decoded; the charset conversion is the
 * caller's, through a to_utf8 function, so this module knows no charset
 * tables. Adjacent encoded-words separated only by whitespace or folding
 * are joined (the whitespace is dropped, and words of the same charset are
 * converted together, so a character split across two words survives).
 * Encoded-words broken by a fold are rejoined. Words in a charset the
 * converter does not know, and text that only looks like an encoded-word,
 * are left exactly as written. Unencoded 8-bit bytes are kept as they are
 * and reported (RFC2047_RAW_8BIT) so the caller can apply its unlabelled
 * 8-bit rule.
 *
 * Encoding turns UTF-8 text into a folded header value: only the words that
 * need it become encoded-words (adjacent ones merged into one run, the
 * spaces between them encoded too), each at most 75 characters, never
 * splitting a UTF-8 character, Q or B whichever is shorter, lines at most
 * 76 characters given the length of the header name. Meant for unstructured
 * text (Subject) and display-name phrases: the Q alphabet used is the
 * strict one of RFC 2047 5(3).
 *
 * Memory: output is appended to the caller's struct buf; nothing is kept.
 * Functions return 0, or -1 only when a size overflows (see buf.h; out of
 * memory is fatal, see xalloc.h).
 */
#ifndef IMC_RFC2047_H
#define IMC_RFC2047_H

#include <stddef.h>

#include "buf.h"

/*
 * Convert len bytes in charset (a label as written in the mail, without
 * any RFC 2231 language suffix) to UTF-8, appending to out. Return 0 on
 * success; -1 when the charset is unknown or the bytes cannot be converted
 * (out must then be left as it was); errno ENOMEM (a size that overflows,
 * see convert.h) makes rfc2047_decode fail instead of keeping the word.
 */
typedef int rfc2047_to_utf8_fn(const char *charset, const char *bytes,
    size_t len, struct buf *out);

/* What rfc2047_decode saw (bit mask). */
#define RFC2047_DECODED		0x01	/* at least one word was decoded */
#define RFC2047_RAW_8BIT	0x02	/* unencoded 8-bit bytes, kept */
#define RFC2047_MALFORMED	0x04	/* "=?" that is no word, left as is */
#define RFC2047_UNKNOWN_CHARSET	0x08	/* word left as written */
#define RFC2047_BAD_PAYLOAD	0x10	/* damaged B/Q text, decoded anyway */
#define RFC2047_FOLDED_WORD	0x20	/* a word broken by folding, rejoined */

#define RFC2047_WORD_MAX	75	/* encoded-word length (RFC 2047 2) */
#define RFC2047_LINE_MAX	76	/* line length with encoded-words */

/* to_utf8 may be NULL: then only UTF-8 and US-ASCII words are decoded. */
int	rfc2047_decode(const char *, size_t, rfc2047_to_utf8_fn *to_utf8,
	    struct buf *out, unsigned *flags);
int	rfc2047_encode(const char *utf8, size_t, size_t name_len,
	    struct buf *out);
/* As rfc2047_encode, but the words carry the text in another charset:
 * label is the MIME name written in the words ("ISO-2022-JP"), encoder the
 * iconv name to encode with; B encoding, and every word complete in itself
 * (a stateful charset returns to ASCII at each word's end). -1 with errno
 * EILSEQ when a character cannot be held in it: then write UTF-8. */
int	rfc2047_encode_charset(const char *utf8, size_t, size_t name_len,
	    const char *label, const char *encoder, struct buf *out);

#endif
