/*
 * fuzz_mime - libFuzzer target for common/mime.c.
 *
 * The input is parsed twice, whole and in chunks whose sizes come from
 * the input itself; both event logs (adjacent data merged) must be equal.
 * Bodies are decoded with the part's transfer encoding and header values
 * through rfc2047_decode, so codec.c and rfc2047.c are exercised too.
 * Everything allocated is freed before returning.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

struct fz {
	struct buf	 log;
	struct buf	 scratch;
	struct codec_dec dec;
	int		 last;	/* last data event type, -1 none */
	unsigned	 lastdepth;
};

/* fz_to_utf8 - UTF-8 as is, Latin-1 widened, anything else unknown */
static int
fz_to_utf8(const char *cs, const char *b, size_t n, struct buf *out)
{
	size_t i;

	if (strcasecmp(cs, "utf-8") == 0)
		return buf_append(out, b, n);
	if (strcasecmp(cs, "iso-8859-1") != 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];

		if (c < 0x80 ? buf_putc(out, c) == -1 :
		    (buf_putc(out, 0xc0 | c >> 6) == -1 ||
		    buf_putc(out, 0x80 | (c & 0x3f)) == -1))
			return -1;
	}
	return 0;
}

/* on_event - log events; decode what can be decoded */
static int
on_event(const struct mime_event *ev, void *arg)
{
	struct fz *z = arg;
	unsigned flags;
	size_t i;

	if (ev->type == MIME_EV_BODY || ev->type == MIME_EV_PREAMBLE ||
	    ev->type == MIME_EV_EPILOGUE) {
		if (ev->len == 0)
			abort();
		if (z->last != (int)ev->type || z->lastdepth != ev->depth)
			buf_printf(&z->log, "\n%d.%u:", (int)ev->type,
			    ev->depth);
		z->last = (int)ev->type;
		z->lastdepth = ev->depth;
		buf_append(&z->log, ev->data, ev->len);
		if (ev->type == MIME_EV_BODY) {
			buf_reset(&z->scratch);
			codec_dec_feed(&z->dec, ev->data, ev->len, &z->scratch);
		}
		return 0;
	}
	z->last = -1;
	buf_printf(&z->log, "\n%d.%u:", (int)ev->type, ev->depth);
	switch (ev->type) {
	case MIME_EV_HEADER:
		buf_append(&z->log, ev->data, ev->len);
		buf_reset(&z->scratch);
		rfc2047_decode(ev->value, ev->value_len, fz_to_utf8,
		    &z->scratch, &flags);
		break;
	case MIME_EV_HEADERS_END:
		buf_printf(&z->log, "%s/%s %d %x", ev->part->type,
		    ev->part->subtype, (int)ev->part->cte, ev->part->flags);
		for (i = 0; i < ev->part->nparams; i++)
			buf_printf(&z->log, ";%s=%s", ev->part->params[i].name,
			    ev->part->params[i].value);
		for (i = 0; i < ev->part->ndisp_params; i++)
			buf_printf(&z->log, ";%s=%s",
			    ev->part->disp_params[i].name,
			    ev->part->disp_params[i].value);
		mime_part_decoder_init(&z->dec, ev->part);
		break;
	case MIME_EV_PART_END:
		buf_reset(&z->scratch);
		codec_dec_finish(&z->dec, &z->scratch);
		break;
	default:
		break;
	}
	return 0;
}

/* run - parse with the given chunking (0: whole), return the log */
static char *
run(const uint8_t *data, size_t size, const uint8_t *sizes, size_t nsizes,
    unsigned *defects)
{
	struct mime_parser *p;
	struct fz z;
	size_t off = 0, k = 0, n;
	char *log;

	memset(&z, 0, sizeof(z));
	buf_init(&z.log);
	buf_init(&z.scratch);
	z.last = -1;
	codec_dec_init(&z.dec, CODEC_CTE_7BIT);
	if ((p = mime_parser_new(on_event, &z, fz_to_utf8)) == NULL)
		abort();
	while (off < size) {
		n = nsizes ? (size_t)sizes[k++ % nsizes] + 1 : size;
		if (n > size - off)
			n = size - off;
		if (mime_parser_feed(p, data + off, n) == -1)
			abort();
		off += n;
	}
	if (mime_parser_finish(p) == -1)
		abort();
	*defects = mime_parser_defects(p);
	mime_parser_free(p);
	buf_fini(&z.scratch);
	log = buf_steal(&z.log);
	if (log == NULL)
		abort();
	return log;
}

/* LLVMFuzzerTestOneInput - libFuzzer entry point */
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned d1, d2;
	char *a, *b;
	size_t nsizes;

	if (size < 1)
		return 0;
	nsizes = data[0] % 8 + 1;
	if (nsizes > size - 1)
		nsizes = size - 1;
	a = run(data + 1 + nsizes, size - 1 - nsizes, NULL, 0, &d1);
	b = run(data + 1 + nsizes, size - 1 - nsizes, data + 1, nsizes, &d2);
	if (strcmp(a, b) != 0 || d1 != d2)
		abort();	/* chunking changed the events */
	free(a);
	free(b);
	return 0;
}
