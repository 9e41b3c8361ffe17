/*
 * fuzz_convert - libFuzzer target for the streaming converter and labels.
 *
 * Input: byte 0 picks a charset (and strict or replace mode), byte 1 seeds
 * the chunk ends, the rest is the text. The text is decoded to UTF-8 in
 * one piece, then in pseudo-random chunks of 1 to 23 bytes, in two pieces
 * split at a pseudo-random offset, and one byte at a time: every chunked
 * decode must give the one-piece result (output, result, error count and
 * first error offset), else the target aborts; so must the one-piece
 * decode of the same decoder with every byte through iconv
 * (convert_decoder_new_iconv: the table, copy and UTF-7 fast paths held
 * to glibc alone). The UTF-8 is then encoded
 * back into the charset. The first bytes are also looked up as a charset
 * label. Everything is freed before returning.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "charset.h"
#include "convert.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fuzz_charsets[] = {
	"UTF-8", "WINDOWS-1252", "ISO-8859-1", "CP932", "CP949", "GBK",
	"GB18030", "BIG5-HKSCS", "CP950", "EUC-JP", "EUC-JP-MS",
	"ISO-2022-JP", "ISO-2022-JP-2", "ISO-2022-JP-3", "ISO-2022-KR",
	"ISO-2022-CN", "ISO-2022-CN-EXT", "UTF-7", "UTF-16", "UTF-16LE",
	"UTF-32", "KOI8-R", "KOI8-RU", "WINDOWS-1251", "ISO-8859-8", "CP874",
	"JOHAB", "EUC-KR", "SHIFT_JIS", "MAC-CYRILLIC", "EUC-TW", "ASCII",
	"UTF-7-IMAP", "ISO-2022-JP-MS",
};

#define NCHARSETS (sizeof(fuzz_charsets) / sizeof(fuzz_charsets[0]))

/* fuzz_chunk_exact - does glibc give the same result for any chunking */
static int
fuzz_chunk_exact(const char *name)
{
	/* glibc's ISO-2022-CN-EXT reports a final SO as EILSEQ (consumed)
	 * but reads SO followed by more bytes as a shift: its errors depend
	 * on where a chunk ends. The converter must still not crash. */
	return strcmp(name, "ISO-2022-CN-EXT") != 0;
}

/* fuzz_next - the next value of a small generator */
static uint32_t
fuzz_next(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 16;
}

/* How a decode run cuts its input. */
enum fuzz_cut {
	FUZZ_WHOLE,		/* one piece */
	FUZZ_RANDOM,		/* pieces of 1 to 23 bytes */
	FUZZ_SPLIT,		/* two pieces at one random offset */
	FUZZ_BYTES		/* one byte at a time */
};

/* One decode run: what came out. */
struct fuzz_run {
	enum convert_result r;
	struct buf out;
	size_t	 errors;
	uint64_t first;
};

/* fuzz_feed - run the text through c cut as asked; the result */
static enum convert_result
fuzz_feed(struct convert *c, const uint8_t *p, size_t len, enum fuzz_cut how,
    uint32_t seed, struct buf *out)
{
	enum convert_result r = CONVERT_OK;
	size_t pos, n, at;

	at = len > 0 ? fuzz_next(&seed) % (len + 1) : 0;
	for (pos = 0; pos < len && r == CONVERT_OK; pos += n) {
		switch (how) {
		case FUZZ_WHOLE:
			n = len;
			break;
		case FUZZ_RANDOM:
			n = fuzz_next(&seed) % 23 + 1;
			break;
		case FUZZ_SPLIT:
			n = pos < at ? at - pos : len - pos;
			break;
		default:
			n = 1;
			break;
		}
		if (n > len - pos)
			n = len - pos;
		r = convert_feed(c, p + pos, n, out);
	}
	if (r == CONVERT_OK)
		r = convert_finish(c, out);
	return r;
}

/* fuzz_decode - decode the text cut as asked into run */
static void
fuzz_decode(const char *name, enum convert_mode mode, const uint8_t *p,
    size_t len, enum fuzz_cut how, uint32_t seed, int alone,
    struct fuzz_run *run)
{
	struct convert *c;

	buf_init(&run->out);
	c = alone ? convert_decoder_new_iconv(name, mode) :
	    convert_decoder_new(name, mode);
	if (c == NULL)
		abort();
	run->r = fuzz_feed(c, p, len, how, seed, &run->out);
	run->errors = convert_errors(c);
	run->first = convert_first_error(c);
	convert_free(c);
	/* an error has an offset, and only an error */
	if (run->r == CONVERT_OK && mode == CONVERT_REPLACE &&
	    (run->errors == 0) != (run->first == CONVERT_NO_ERROR))
		abort();
}

/* fuzz_same - two runs gave the same result */
static int
fuzz_same(const struct fuzz_run *a, const struct fuzz_run *b)
{
	if (a->r != b->r || a->errors != b->errors || a->first != b->first)
		return 0;
	/* after a stop the output is a partial result to discard */
	return a->r != CONVERT_OK || (a->out.len == b->out.len &&
	    memcmp(buf_cstr(&a->out), buf_cstr(&b->out), a->out.len) == 0);
}

/* LLVMFuzzerTestOneInput - one fuzz input */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum fuzz_cut cuts[] = { FUZZ_RANDOM, FUZZ_SPLIT,
	    FUZZ_BYTES };
	struct charset_info ci;
	struct convert *c;
	struct fuzz_run whole, run;
	struct buf all, back;
	enum convert_result r;
	enum convert_mode mode;
	const char *name;
	size_t errors, i;
	uint32_t seed;

	if (size < 2)
		return 0;
	charset_lookup((const char *)data, size < 48 ? size : 48, &ci);
	if (ci.status != CHARSET_UNKNOWN)
		(void)charset_decoder_for(&ci, data, size);
	name = fuzz_charsets[data[0] % NCHARSETS];
	mode = (data[0] & 0x80) ? CONVERT_STRICT : CONVERT_REPLACE;
	seed = data[1];
	data += 2;
	size -= 2;

	fuzz_decode(name, mode, data, size, FUZZ_WHOLE, seed, 0, &whole);
	/* the fast paths decide as glibc alone (ISO-2022-JP-MS is ours,
	 * jisms.h: glibc has no such decoder to hold it to) */
	if (strcmp(name, "ISO-2022-JP-MS") != 0) {
		fuzz_decode(name, mode, data, size, FUZZ_WHOLE, seed, 1, &run);
		if (!fuzz_same(&whole, &run))
			abort();
		buf_fini(&run.out);
	}
	/* convert_decode_all is the same one-piece decode */
	buf_init(&all);
	r = convert_decode_all(name, mode, data, size, &all, &errors);
	if (r != whole.r || errors != whole.errors || (r == CONVERT_OK &&
	    (all.len != whole.out.len ||
	    memcmp(buf_cstr(&all), buf_cstr(&whole.out), all.len) != 0)))
		abort();
	buf_fini(&all);
	/* chunk ends must not change what comes out */
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] == FUZZ_BYTES && size > 512)
			continue;
		fuzz_decode(name, mode, data, size, cuts[i], seed, 0, &run);
		if (fuzz_chunk_exact(name) && !fuzz_same(&whole, &run))
			abort();
		buf_fini(&run.out);
	}

	/* decoder output is valid UTF-8: the encoder may only refuse
	 * characters, never call the input bad */
	buf_init(&back);
	/* ISO-2022-JP-MS is a decoder only (jisms.h): text is never written
	 * in it */
	if (whole.r == CONVERT_OK && strcmp(name, "ISO-2022-JP-MS") != 0) {
		if ((c = convert_encoder_new(name)) == NULL)
			abort();
		r = fuzz_feed(c, (const uint8_t *)buf_cstr(&whole.out),
		    whole.out.len, FUZZ_RANDOM, seed + 1, &back);
		if (r == CONVERT_EBADINPUT || r == CONVERT_ESYS)
			abort();
		convert_free(c);
	}
	buf_fini(&whole.out);
	buf_fini(&back);
	return 0;
}
