/*
 * smtpd_data - the DATA reader (see smtpd_data.h).
 */
#include "smtpd_data.h"

#include <string.h>

#include "imc_limits.h"

void
smtpd_data_init(struct smtpd_data *d, uint64_t max_size)
{
	memset(d, 0, sizeof(*d));
	d->max_size = max_size;
	d->in_header = true;
	d->bol = true;
	d->proper = true;
	d->empty = true;
}

void
smtpd_data_init_raw(struct smtpd_data *d, uint64_t max_size)
{
	smtpd_data_init(d, max_size);
	d->raw = true;
}

/* Bytes of the message, counted and kept while within the limits. */
static void
smtpd_data_put(struct smtpd_data *d, const char *p, size_t n,
    struct buf *out)
{
	size_t i;

	if (d->in_header) {
		d->header += n;
		if (d->header > IMC_MAX_HEADER_BLOCK - IMC_SMTPD_LINE_MAX)
			d->header_too_big = true;
	}
	d->size += n;
	if (d->size > d->max_size)
		d->too_big = true;
	if (d->too_big || d->header_too_big)
		return;
	for (i = 0; i < n && !d->eightbit; i++)
		if ((unsigned char)p[i] & 0x80)
			d->eightbit = true;
	buf_append(out, p, n);
}

/* A line ended; proper: by CRLF. */
static void
smtpd_data_eol(struct smtpd_data *d, bool proper, struct buf *out)
{
	if (!proper)
		d->bare_eol = true;
	smtpd_data_put(d, "\r\n", 2, out);
	if (d->in_header && d->empty)
		d->in_header = false;	/* the blank line */
	d->bol = true;
	d->proper = proper;
	d->dot = false;
	d->empty = true;
}

size_t
smtpd_data_feed(struct smtpd_data *d, const char *in, size_t len,
    struct buf *out)
{
	size_t i, run;

	for (i = 0; i < len && !d->done; i++) {
		char c = in[i];

		if (d->cr) {
			d->cr = false;
			if (c == '\n') {
				if (!d->raw && d->dot && d->proper) {
					d->done = true;
					return i + 1;
				}
				smtpd_data_eol(d, true, out);
				continue;
			}
			smtpd_data_eol(d, false, out);	/* a bare CR */
		}
		if (c == '\r') {
			d->cr = true;
			continue;
		}
		if (c == '\n') {
			smtpd_data_eol(d, false, out);	/* a bare LF */
			continue;
		}
		if (d->bol) {
			d->bol = false;
			if (c == '.' && !d->raw) {
				d->dot = true;
				continue;
			}
		}
		d->dot = false;
		d->empty = false;
		/* the rest of the line up to a CR or LF in one piece */
		for (run = i + 1; run < len && in[run] != '\r' &&
		    in[run] != '\n'; run++)
			;
		smtpd_data_put(d, in + i, run - i, out);
		i = run - 1;
	}
	return i;
}

void
smtpd_data_finish(struct smtpd_data *d, struct buf *out)
{
	if (d->cr) {
		d->cr = false;
		smtpd_data_eol(d, false, out);	/* a bare CR at the end */
	}
	/* a last line without its line end gets one: the queue's files
	 * end with CRLF, as a DATA message always does */
	if (!d->empty)
		smtpd_data_eol(d, true, out);
}
