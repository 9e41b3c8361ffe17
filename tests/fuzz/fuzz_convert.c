/*
 * fuzz_convert - libFuzzer target for the streaming converter and labels.
 *
 * Input: byte 0 picks a charset (and strict or replace mode), byte 1 seeds
 * the chunk sizes, the rest is the text. The text is decoded to UTF-8 in
 * pseudo-random chunks, checked against a one-shot decode (chunking must
 * not change the result), and the UTF-8 is encoded back into the charset.
 * The first bytes are also looked up as a charset label. Everything is
 * freed before returning.
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

/* fuzz_next - the next chunk size from a small generator */
static size_t
fuzz_next(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) % 23 + 1;
}

/* fuzz_chunks - run the text through c in chunks; the result */
static enum convert_result
fuzz_chunks(struct convert *c, const uint8_t *p, size_t len, uint32_t seed,
    struct buf *out)
{
	enum convert_result r = CONVERT_OK;
	size_t pos, n;

	for (pos = 0; pos < len && r == CONVERT_OK; pos += n) {
		n = fuzz_next(&seed);
		if (n > len - pos)
			n = len - pos;
		r = convert_feed(c, p + pos, n, out);
	}
	if (r == CONVERT_OK)
		r = convert_finish(c, out);
	return r;
}

/* LLVMFuzzerTestOneInput - one fuzz input */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct charset_info ci;
	struct convert *c;
	struct buf out, whole, back;
	enum convert_result r, r1;
	enum convert_mode mode;
	const char *name;
	size_t errors;
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

	buf_init(&out);
	buf_init(&whole);
	buf_init(&back);
	if ((c = convert_decoder_new(name, mode)) == NULL)
		abort();
	r = fuzz_chunks(c, data, size, seed, &out);
	r1 = convert_decode_all(name, mode, data, size, &whole, &errors);
	/* chunk ends must not change what comes out */
	if (fuzz_chunk_exact(name) && (r != r1 || (r == CONVERT_OK &&
	    (out.len != whole.len ||
	    memcmp(buf_cstr(&out), buf_cstr(&whole), out.len) != 0 ||
	    errors != convert_errors(c)))))
		abort();
	if (r == CONVERT_OK && mode == CONVERT_REPLACE && errors == 0 &&
	    convert_first_error(c) != CONVERT_NO_ERROR)
		abort();
	convert_free(c);

	/* decoder output is valid UTF-8: the encoder may only refuse
	 * characters, never call the input bad */
	if (r == CONVERT_OK) {
		if ((c = convert_encoder_new(name)) == NULL)
			abort();
		r = fuzz_chunks(c, (const uint8_t *)buf_cstr(&out), out.len,
		    seed + 1, &back);
		if (r == CONVERT_EBADINPUT || r == CONVERT_ESYS)
			abort();
		convert_free(c);
	}
	buf_fini(&out);
	buf_fini(&whole);
	buf_fini(&back);
	return 0;
}
