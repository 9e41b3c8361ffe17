/*
 * convert - streaming charset conversion through iconv(3).
 *
 * A decoder turns text in a source charset into UTF-8, an encoder turns
 * UTF-8 into a target charset. Feed chunks of any size (one byte at a time
 * works); the output is appended to the caller's struct buf. Between chunks
 * the converter keeps only the incomplete tail of a character or escape
 * sequence (at most CONVERT_TAIL_MAX bytes) plus the iconv shift state, so
 * memory does not grow with the input. convert_finish() ends the input:
 * an incomplete tail is an error there, and stateful encodings (ISO-2022-JP,
 * UTF-7) are flushed back to their initial state.
 *
 * Decoding errors never drop the rest of the input. In CONVERT_REPLACE mode
 * a byte that does not decode becomes U+FFFD, decoding resumes at the next
 * byte, and the error is counted (convert_errors(), convert_first_error()
 * gives its input offset), so the caller can tell that the text did not
 * decode cleanly and keep the original bytes instead. An incomplete
 * character at the end of the input is one error (one U+FFFD). In
 * CONVERT_STRICT mode the first such error stops the converter with
 * CONVERT_EBADINPUT. Decoders from windows-125x map the
 * bytes 0x80-0x9F that Windows leaves undefined (0x81 0x8D 0x8F 0x90 0x9D in
 * windows-1252) to U+0080-U+009F, as the WHATWG standard and Windows do.
 *
 * Encoders are always strict: a character the target cannot hold is never
 * turned into '?' or a look-alike; the converter stops with
 * CONVERT_EUNMAPPABLE so the caller can fall back to UTF-8. Invalid UTF-8
 * input stops it with CONVERT_EBADINPUT. After a stop, every call returns
 * the same result until convert_reset(); what was appended to the output
 * before the stop is a partial result the caller should discard.
 *
 * The decoder name "ISO-2022-JP-MS" is the converter's own: ISO-2022-JP
 * as Windows writes it (CP50221, jisms.h), read through CP932; its error
 * offsets count the CP932 bytes.
 * Speed: a UTF-8 decoder copies valid UTF-8 instead of calling iconv (see
 * convert.c); convert_decoder_new_iconv() gives the same decoder without
 * that path, for tests that hold the two equal. The results are the same
 * byte for byte, errors and their offsets included.
 *
 * convert_same_but_c1() tells whether two decoders read every byte
 * outside 0x80-0x9F by itself and alike (both single-byte tables): then
 * text without such a byte decodes the same in both, errors included,
 * wherever the chunks end (ISO-8859-1 and windows-1252).
 * convert_double_byte() tells whether a decoder reads a double-byte charset
 * (CP932, CP949, GBK, BIG5-HKSCS) through a table, for tests that hold
 * it to iconv.
 *
 * Ownership: the caller owns the struct buf and everything in it; a struct
 * convert is the caller's to release with convert_free(). Charset names are
 * iconv names (see charset.h for labels found in mail).
 */
#ifndef IMC_CONVERT_H
#define IMC_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Longest incomplete sequence kept between chunks: GB18030 and UTF-8 need
 * 4 bytes, ISO-2022 escapes 4; a longer one is bad input. */
#define CONVERT_TAIL_MAX	16

/* No decoding error yet (convert_first_error()). */
#define CONVERT_NO_ERROR	UINT64_MAX

enum convert_mode {
	CONVERT_REPLACE = 0,	/* bad bytes become U+FFFD and are counted */
	CONVERT_STRICT		/* the first bad byte stops the decoder */
};

enum convert_result {
	CONVERT_OK = 0,
	CONVERT_ESYS = -1,		/* iconv failure, or a size that overflows
					 * (ENOMEM): errno; out of memory itself
					 * is fatal (xalloc.h) */
	CONVERT_EBADINPUT = -2,		/* strict decoder: input not valid in
					 * the source; encoder: bad UTF-8 */
	CONVERT_EUNMAPPABLE = -3	/* encoder: the target cannot hold a
					 * character of the input */
};

struct convert;

struct convert *convert_decoder_new(const char *from, enum convert_mode);
struct convert *convert_decoder_new_iconv(const char *from,
	    enum convert_mode);
struct convert *convert_encoder_new(const char *to);
void	convert_free(struct convert *);
void	convert_reset(struct convert *);
enum convert_result convert_feed(struct convert *, const void *, size_t,
	    struct buf *out);
enum convert_result convert_finish(struct convert *, struct buf *out);
size_t	convert_errors(const struct convert *);
uint64_t convert_first_error(const struct convert *);
enum convert_result convert_decode_all(const char *from, enum convert_mode,
	    const void *, size_t, struct buf *out, size_t *errors);
enum convert_result convert_encode_all(const char *to, const void *, size_t,
	    struct buf *out);
const char *convert_strerror(enum convert_result);
int	convert_same_but_c1(const struct convert *, const struct convert *);
int	convert_double_byte(const struct convert *);

#endif
