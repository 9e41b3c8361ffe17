/*
 * fuzz_smtpd - hostile client bytes into the listener's command parser
 * and DATA reader, as a session hands them over.
 *
 * Byte 0: bit 0 SMTPUTF8 for RCPT, bits 1-7 the chunk size the DATA
 * reader is fed in (1 to 128). The rest is a client's transcript: lines
 * (up to LF) are commands for smtpd_cmd_parse, and MAIL, RCPT and
 * EHLO/HELO go through their parsers and relay policy; after a DATA line
 * the bytes go to the DATA reader until it finds the end, then commands
 * again; after a BDAT line (RFC 3030) whose size smtpd_parse_bdat reads,
 * that many bytes (or what is left) go to the reader in raw mode, then
 * commands again. Checked besides memory safety: a parsed address has no
 * control byte and reads back to itself; the message the reader makes has
 * no bare CR or LF; feeding it in chunks gives exactly what feeding it
 * whole gives (the same bytes, the same end); in raw mode every byte fed
 * is taken, nothing ends the message, and smtpd_data_finish leaves it
 * ending in CRLF (or empty).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "smtpd_cmd.h"
#include "smtpd_data.h"
#include "smtpd_policy.h"
#include "xalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_addr(const char *a, bool utf8)
{
	struct smtpd_rcpt rc;
	struct smtpd_reply r;
	struct buf again;
	const unsigned char *p;

	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p < 32 || *p == 127)
			__builtin_trap();
	if (a[0] == '\0')
		return;
	buf_init(&again);
	buf_printf(&again, "TO:<%s>", a);
	if (smtpd_parse_rcpt(again.data, again.len, utf8, &rc, &r) != 0 ||
	    strcmp(rc.addr, a) != 0)
		__builtin_trap();
	smtpd_rcpt_free(&rc);
	buf_fini(&again);
}

static void
command(const char *line, size_t len, bool utf8)
{
	static char *local[] = { "example.com" };
	static char *relay[] = { "partner.example" };
	struct imc_config cfg;
	struct smtpd_policy pol;
	struct smtpd_cmd c;
	struct smtpd_mail m;
	struct smtpd_rcpt rc;
	struct smtpd_reply r;
	struct buf err;

	smtpd_cmd_parse(line, len, &c);
	(void)smtpd_verb_name(c.verb);
	switch (c.verb) {
	case SMTPD_HELO:
	case SMTPD_EHLO:
		(void)smtpd_check_helo(c.arg, c.arg_len);
		break;
	case SMTPD_MAIL:
		if (smtpd_parse_mail(c.arg, c.arg_len, 1000000, &m, &r) == 0) {
			check_addr(m.addr, m.smtputf8);
			smtpd_mail_free(&m);
		} else if (r.code < 400 || r.dsn == NULL || r.text == NULL)
			__builtin_trap();
		break;
	case SMTPD_RCPT:
		if (smtpd_parse_rcpt(c.arg, c.arg_len, utf8, &rc, &r) != 0) {
			if (r.code < 400 || r.dsn == NULL || r.text == NULL)
				__builtin_trap();
			break;
		}
		check_addr(rc.addr, utf8);
		memset(&cfg, 0, sizeof(cfg));
		cfg.local_domains = local;
		cfg.n_local_domains = 1;
		cfg.relay_domains = relay;
		cfg.n_relay_domains = 1;
		buf_init(&err);
		if (smtpd_policy_init(&pol, &cfg, &err) == 0) {
			(void)smtpd_policy_rcpt(&pol, &rc.addr, (len & 1) != 0);
			smtpd_policy_fini(&pol);
		}
		buf_fini(&err);
		smtpd_rcpt_free(&rc);
		break;
	default:
		break;
	}
}

/* The DATA part from in: bytes used; the message into out. */
static size_t
data(const uint8_t *in, size_t len, size_t step, struct buf *out, bool *done)
{
	struct smtpd_data d;
	size_t off = 0, n, used;

	smtpd_data_init(&d, 1 << 20);
	while (off < len && !d.done) {
		n = step == 0 || len - off < step ? len - off : step;
		used = smtpd_data_feed(&d, (const char *)in + off, n, out);
		if (used > n || (used < n && !d.done))
			__builtin_trap();
		off += used;
	}
	*done = d.done;
	return off;
}

/* One BDAT chunk through the raw reader, fed step bytes at a time (0:
 * whole); the message into out. */
static void
chunk(const uint8_t *in, size_t len, size_t step, struct buf *out)
{
	struct smtpd_data d;
	size_t off = 0, n;

	smtpd_data_init_raw(&d, 1 << 20);
	while (off < len) {
		n = step == 0 || len - off < step ? len - off : step;
		if (smtpd_data_feed(&d, (const char *)in + off, n, out) != n ||
		    d.done)
			__builtin_trap();
		off += n;
	}
	smtpd_data_finish(&d, out);
	if (out->len > 0 && (out->len < 2 ||
	    memcmp(out->data + out->len - 2, "\r\n", 2) != 0))
		__builtin_trap();
}

/* No bare line end ever leaves the reader. */
static void
check_crlf(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if ((b->data[i] == '\r' && (i + 1 >= b->len ||
		    b->data[i + 1] != '\n')) || (b->data[i] == '\n' &&
		    (i == 0 || b->data[i - 1] != '\r')))
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	bool utf8, done1, done2;
	size_t step, off = 1, u1, u2;
	const uint8_t *nl;
	struct buf whole, chunked;

	if (len < 1)
		return 0;
	utf8 = buf[0] & 1;
	step = (size_t)(buf[0] >> 1) + 1;
	while (off < len) {
		size_t ll;

		nl = memchr(buf + off, '\n', len - off);
		ll = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;
		if (ll > 0 && buf[off + ll - 1] == '\r')
			ll--;
		command((const char *)buf + off, ll, utf8);
		{
			struct smtpd_cmd c;
			bool is_data = ll == 4 && memcmp(buf + off, "DATA", 4) == 0;
			uint64_t size;
			bool last;

			smtpd_cmd_parse((const char *)buf + off, ll, &c);
			off = nl != NULL ? (size_t)(nl - buf) + 1 : len;
			if (c.verb == SMTPD_BDAT && smtpd_parse_bdat(c.arg,
			    c.arg_len, &size, &last) == 0) {
				size_t n = size < len - off ? (size_t)size :
				    len - off;

				buf_init(&whole);
				buf_init(&chunked);
				chunk(buf + off, n, 0, &whole);
				chunk(buf + off, n, step, &chunked);
				if (whole.len != chunked.len || (whole.len > 0 &&
				    memcmp(whole.data, chunked.data,
				    whole.len) != 0))
					__builtin_trap();
				check_crlf(&whole);
				buf_fini(&whole);
				buf_fini(&chunked);
				off += n;
				continue;
			}
			if (!is_data)
				continue;
		}
		buf_init(&whole);
		buf_init(&chunked);
		u1 = data(buf + off, len - off, 0, &whole, &done1);
		u2 = data(buf + off, len - off, step, &chunked, &done2);
		if (u1 != u2 || done1 != done2 || whole.len != chunked.len ||
		    (whole.len > 0 && memcmp(whole.data, chunked.data,
		    whole.len) != 0))
			__builtin_trap();
		check_crlf(&whole);
		buf_fini(&whole);
		buf_fini(&chunked);
		off += u1;
	}
	return 0;
}
