/*
 * fuzz_rfc2047 - libFuzzer target for common/rfc2047.c.
 *
 * Decodes the input as a raw header value; encodes it as UTF-8 text and
 * checks that the encoded value has no line break but folds and decodes
 * back to the input
 * (for inputs without CR or LF, which the encoder unfolds). Everything
 * allocated is freed before returning.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rfc2047.h"

/* fz_to_utf8 - UTF-8 as is, anything else unknown */
static int
fz_to_utf8(const char *cs, const char *b, size_t n, struct buf *out)
{
	if (strcasecmp(cs, "utf-8") == 0)
		return buf_append(out, b, n);
	return -1;
}

/* check_breaks - every line break is CRLF followed by whitespace (a fold) */
static void
check_breaks(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			abort();
		if (s[i] == '\r') {
			if (i + 2 >= n || s[i + 1] != '\n' ||
			    (s[i + 2] != ' ' && s[i + 2] != '\t'))
				abort();
			i++;
		}
	}
}

/* LLVMFuzzerTestOneInput - libFuzzer entry point */
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out, enc, dec;
	unsigned flags;
	size_t name_len;

	if (size < 1)
		return 0;
	name_len = data[0] % 80;
	data++;
	size--;
	buf_init(&out);
	buf_init(&enc);
	buf_init(&dec);
	if (rfc2047_decode((const char *)data, size, fz_to_utf8, &out,
	    &flags) == -1)
		abort();
	if (rfc2047_decode((const char *)data, size, NULL, &out,
	    &flags) == -1)
		abort();
	if (rfc2047_encode((const char *)data, size, name_len, &enc) == -1)
		abort();
	check_breaks(enc.data, enc.len);
	if (memchr(data, '\r', size) == NULL && memchr(data, '\n', size) ==
	    NULL) {
		if (rfc2047_decode(enc.data, enc.len, fz_to_utf8, &dec,
		    &flags) == -1)
			abort();
		if (dec.len != size || memcmp(dec.data, data, size) != 0)
			abort();	/* encode/decode lost something */
	}
	buf_fini(&out);
	buf_fini(&enc);
	buf_fini(&dec);
	return 0;
}
