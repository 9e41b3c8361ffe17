/*
 * fuzz_pickup_file - libFuzzer target for the Pickup file reader: envelope
 * lines, header block, address fields and the streamed body transform.
 * The first input byte picks the dot rule and the reader's buffer (the
 * default, or 2 to 129 bytes); the rest is the file. Each file is written
 * twice, by whole runs of body lines and line by line: the two must agree
 * byte for byte (an abort otherwise).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pickup_file.h"
#include "safeio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The whole content of fd (malloc'd, *len), NULL on a read error. */
static char *
slurp(int fd, size_t *len)
{
	char *b = NULL, *nb;
	size_t cap = 0;
	ssize_t n;

	*len = 0;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return NULL;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(b, cap)) == NULL) {
				free(b);
				return NULL;
			}
			b = nb;
		}
		if ((n = read(fd, b + *len, cap - *len)) <= 0)
			break;
		*len += (size_t)n;
	}
	if (n == -1) {
		free(b);
		return NULL;
	}
	return b;
}

/* One reading of in into a fresh memfd (-1: not taken or no memory). */
static int
write_copy(int in, const struct pickup_opts *opts)
{
	struct mail_status why;
	struct pickup_file *pf;
	struct pickup_out outs[2];
	int out;

	if (lseek(in, 0, SEEK_SET) == -1 ||
	    (out = memfd_create("out", 0)) == -1)
		return -1;
	if ((pf = pickup_read(in, opts, &why)) == NULL) {
		close(out);
		return -1;
	}
	outs[0] = (struct pickup_out){ .fd = out,
	    .prefix = "Return-Path: <x>\r\n", .lf = true };
	outs[1] = (struct pickup_out){ .fd = out };
	(void)pickup_write(pf, outs, 2, &why);
	pickup_free(pf);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS,
	    .hostname = "fuzz.example", .qid = "0000000000000000", .now = 0 };
	char *a, *b;
	size_t alen, blen;
	int in, o1, o2;

	if (size == 0)
		return 0;
	opts.dots = data[0] % 3 == 2 ? PICKUP_DOTS_AUTO : data[0] % 3 == 1 ?
	    PICKUP_DOTS_LITERAL : PICKUP_DOTS_IIS;
	opts.read_chunk = data[0] & 0x80 ? 2 + (data[0] & 0x7F) : 0;
	if ((in = memfd_create("in", 0)) == -1)
		return 0;
	if (safe_write_all(in, data + 1, size - 1) == -1) {
		close(in);
		return 0;
	}
	o1 = write_copy(in, &opts);
	opts.line_by_line = true;
	o2 = write_copy(in, &opts);
	if (o1 != -1 && o2 != -1) {
		a = slurp(o1, &alen);
		b = slurp(o2, &blen);
		if (a != NULL && b != NULL && (alen != blen ||
		    memcmp(a, b, alen) != 0))
			abort();	/* the run writer is not line by line */
		free(a);
		free(b);
	}
	if (o1 != -1)
		close(o1);
	if (o2 != -1)
		close(o2);
	close(in);
	return 0;
}
