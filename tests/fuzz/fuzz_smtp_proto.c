/*
 * fuzz_smtp_proto - hostile server bytes into the SMTP client engine.
 *
 * The first input byte picks the engine's settings (TLS mode, AUTH, small
 * limits); the rest is what a server says, cut into chunks whose sizes come
 * from the data itself. The harness plays the driver: it takes output,
 * begins a transaction when the session is ready, ends the body when asked,
 * answers NEED_TLS, and ends with a lost connection. The engine must never
 * crash, leak, read out of bounds or loop.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp_proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
drive(struct smtp_proto *p, const struct smtp_txn *t, unsigned *txns,
    unsigned flags)
{
	struct smtp_event ev;
	size_t len;

	(void)smtp_proto_output(p, &len);
	smtp_proto_output_consumed(p, len);
	while (smtp_proto_next_event(p, &ev) == 1) {
		switch (ev.kind) {
		case SMTP_EV_READY:
			if ((*txns)++ < 3)
				(void)smtp_proto_begin(p, t);
			else
				smtp_proto_quit(p);
			break;
		case SMTP_EV_SEND_BODY:
			smtp_proto_body_done(p);
			break;
		case SMTP_EV_NEED_TLS:
			smtp_proto_tls_done(p, (flags & 8) != 0, "fuzz");
			break;
		case SMTP_EV_TXN_DONE:
			if (ev.n_results != t->n_rcpts)
				__builtin_trap();
			break;
		default:
			break;
		}
		(void)smtp_proto_stage(p);
		(void)smtp_proto_stage_name(p);
	}
	(void)smtp_proto_output(p, &len);
	smtp_proto_output_consumed(p, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *rcpts[] = { "a@x.test", "b@x.test", "c@x.test" };
	static const char *notify[] = { "NEVER", NULL, "SUCCESS" };
	static const char *orcpt[] = { "rfc822;a+b@x", NULL, NULL };
	struct smtp_proto_params pp;
	struct smtp_txn t;
	struct smtp_proto *p;
	unsigned flags, txns = 0;
	size_t pos = 1, n;

	if (size < 1)
		return 0;
	flags = data[0];
	memset(&pp, 0, sizeof(pp));
	pp.helo_name = "fuzz.example";
	pp.peer_name = "peer";
	pp.tls_mode = (enum smtp_tls_mode)(flags % 5);
	pp.tls_active = pp.tls_mode == SMTP_TLS_IMPLICIT;
	if (flags & 16) {
		pp.auth_user = "user";
		pp.auth_pass = "pass";
	}
	if (flags & 32) {
		pp.max_line = 40;
		pp.max_lines = 3;
	}
	memset(&t, 0, sizeof(t));
	t.sender = (flags & 64) ? "" : "s@x.test";
	t.rcpts = rcpts;
	t.n_rcpts = 3;
	t.notify = notify;
	t.orcpt = orcpt;
	t.ret = "FULL";
	t.envid = "e=1";
	t.size = 5000;
	t.needs_smtputf8 = (flags & 128) != 0;
	if ((p = smtp_proto_new(&pp)) == NULL)
		return 0;
	while (pos < size) {
		n = 1 + data[pos] % 64;
		pos++;
		if (n > size - pos)
			n = size - pos;
		(void)smtp_proto_feed(p, (const char *)data + pos, n);
		pos += n;
		drive(p, &t, &txns, flags);
	}
	smtp_proto_lost(p, "end of input");
	drive(p, &t, &txns, flags);
	smtp_proto_free(p);
	return 0;
}
