/*
 * fuzz_pickup_file - libFuzzer target for the Pickup file reader: envelope
 * lines, header block, address fields and the streamed body transform.
 * The first input byte picks the dot rule; the rest is the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pickup_file.h"
#include "safeio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS,
	    .hostname = "fuzz.example", .qid = "0000000000000000", .now = 0 };
	struct mail_status why;
	struct pickup_file *pf;
	struct pickup_out outs[2];
	int in, out;

	if (size == 0)
		return 0;
	opts.dots = data[0] & 1 ? PICKUP_DOTS_LITERAL : PICKUP_DOTS_IIS;
	if ((in = memfd_create("in", 0)) == -1)
		return 0;
	if (safe_write_all(in, data + 1, size - 1) == -1 ||
	    lseek(in, 0, SEEK_SET) == -1 ||
	    (out = memfd_create("out", 0)) == -1) {
		close(in);
		return 0;
	}
	if ((pf = pickup_read(in, &opts, &why)) != NULL) {
		outs[0] = (struct pickup_out){ .fd = out,
		    .prefix = "Return-Path: <x>\r\n", .lf = true };
		outs[1] = (struct pickup_out){ .fd = out };
		(void)pickup_write(pf, outs, 2, &why);
		pickup_free(pf);
	}
	close(in);
	close(out);
	return 0;
}
