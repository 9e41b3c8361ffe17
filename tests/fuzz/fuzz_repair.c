/*
 * fuzz_repair - libFuzzer target for charset repair and conversion.
 *
 * Input: byte 0 picks the options (bits 0-1: target utf-8, preserve,
 * iso-2022-jp, windows-1252; bit 2: seven_bit; bit 4: detect = yes with
 * the default list; bit 5: LF line ends (the store's copy); every other
 * option zero; bit 3: legacy charset
 * windows-1252 or shift_jis), the rest is the message, handed to
 * repair_message through a memfd (output to another memfd). A changed
 * message is repaired a second time: with FUZZ_REPAIR_IDEMPOTENT defined,
 * that second run must say REPAIR_UNCHANGED. Everything is freed and
 * closed before returning.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "repair.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* fuzz_fd - a memfd holding the bytes, or -1 */
static int
fuzz_fd(const void *p, size_t n)
{
	int fd = memfd_create("fuzz", 0);
	const char *s = p;
	ssize_t w;

	if (fd == -1)
		return -1;
	while (n > 0) {
		if ((w = write(fd, s, n)) <= 0) {
			close(fd);
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return fd;
}

/* fuzz_run - repair once; the output's descriptor in *out_fd */
static enum repair_result
fuzz_run(const void *p, size_t n, const struct repair_opts *o, int *out_fd)
{
	struct repair_report rep;
	enum repair_result r;
	int in = fuzz_fd(p, n), out = memfd_create("fuzz-out", 0);

	*out_fd = -1;
	if (in == -1 || out == -1) {
		if (in != -1)
			close(in);
		if (out != -1)
			close(out);
		return REPAIR_ERROR;
	}
	repair_report_init(&rep);
	r = repair_message(in, out, o, &rep);
	repair_report_fini(&rep);
	close(in);
	*out_fd = out;
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const targets[] = { "utf-8", "preserve",
	    "iso-2022-jp", "windows-1252" };
	struct repair_opts o = { 0 };
	enum repair_result r;
	int out, out2;
	off_t len;
	char *b;

	if (size < 1)
		return 0;
	o.target = targets[data[0] & 3];
	o.seven_bit = (data[0] & 4) != 0;
	o.legacy_charset = (data[0] & 8) ? "shift_jis" : "windows-1252";
	o.detect = (data[0] & 16) ? "windows-1251, koi8-r, shift_jis, euc-jp, "
	    "euc-kr, gb18030, big5" : NULL;
	o.lf = (data[0] & 32) != 0;
	r = fuzz_run(data + 1, size - 1, &o, &out);
	if (r == REPAIR_CHANGED && (len = lseek(out, 0, SEEK_END)) > 0 &&
	    (b = malloc((size_t)len)) != NULL) {
		if (pread(out, b, (size_t)len, 0) == len) {
			r = fuzz_run(b, (size_t)len, &o, &out2);
#ifdef FUZZ_REPAIR_IDEMPOTENT
			if (r != REPAIR_UNCHANGED)
				abort();
#endif
			if (out2 != -1)
				close(out2);
		}
		free(b);
	}
	if (out != -1)
		close(out);
	return 0;
}
