/*
 * repair - charset repair and per-destination conversion of one message
 * (see repair.h): the walk.
 *
 * The message is read twice from its descriptor and fed to the MIME
 * parser both times. This file resolves the options, keeps the part tree
 * (one plan per part, in the order the parser reports the parts, and the
 * part numbers per depth) and hands each parser event to the pass that
 * runs: pass 1 (repair_scan.c) decides what every part needs, and notes
 * bare LF in the input; pass 2 (repair_emit.c) writes. When no plan
 * changes anything and the input has no bare LF, pass 2 does not run and
 * nothing is written. repair_int.h lists the files of the library and
 * what each owns.
 *
 * Memory: one plan per part (RP_MAX_PARTS at most: a message with more
 * parts is passed on unchanged, and the report says so), the header field
 * being read, chunk-sized buffers, and converted text kept for pass 2 up
 * to a bound (repair_scan.c, rp_keep); bodies as written are never held.
 */
#include "repair_int.h"
#include "xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* repair_fail - remember the first failure (errno) */
int
repair_fail(struct rp_state *st, int err)
{
	if (st->failed == 0)
		st->failed = err != 0 ? err : EIO;
	return -1;
}

/* rp_cur_plan - the plan of the part whose headers or body are read */
static struct rp_plan *
rp_cur_plan(struct rp_state *st)
{
	return st->cur < st->nplans ? &st->plans[st->cur] : NULL;
}

/* rp_parent_is_message - is the part at depth d enclosed by message/rfc822 */
static int
rp_parent_is_message(const struct rp_state *st, unsigned d)
{
	size_t idx;

	if (d == 0 || d >= RP_DEPTHS)
		return 0;
	idx = st->lv[d - 1].plan;
	return idx < st->nplans && st->plans[idx].kind == RP_K_MESSAGE;
}

/* rp_new_part - a part starts (its first header or its headers end) */
static int
rp_new_part(struct rp_state *st, unsigned depth)
{
	unsigned d = depth < RP_DEPTHS ? depth : RP_DEPTHS - 1;

	st->hdr_open = 1;
	st->saw_ct = st->saw_cte = 0;
	st->ct_seen = 0;
	buf_reset(&st->ct_raw);
	if (st->pass == 1) {
		if (st->nplans == RP_MAX_PARTS)
			return repair_fail(st, E2BIG);
		if (st->nplans == st->capplans) {
			size_t cap = st->capplans ? st->capplans * 2 : 16;

			st->plans = xreallocarray(st->plans, cap,
			    sizeof(*st->plans));
			st->capplans = cap;
		}
		memset(&st->plans[st->nplans], 0, sizeof(st->plans[0]));
		st->cur = st->nplans++;
	} else
		st->cur++;
	if (d > 0) {
		st->lv[d].num = ++st->lv[d - 1].nchild;
		if (st->pass == 2 && repair_emit_part_start(st, d) == -1)
			return -1;
	} else
		st->lv[0].num = 1;
	st->lv[d].plan = st->cur;
	st->lv[d].nchild = 0;
	st->lv[d].closed = 0;
	return 0;
}

/* rp_on_header - one header field */
static int
rp_on_header(struct rp_state *st, const struct mime_event *ev)
{
	struct rp_plan *pl;
	int is_ct, is_cte;

	if (!st->hdr_open && rp_new_part(st, ev->depth) == -1)
		return -1;
	pl = rp_cur_plan(st);
	is_ct = ev->name_len == 12 &&
	    strncasecmp(ev->name, "content-type", 12) == 0;
	is_cte = ev->name_len == 25 &&
	    strncasecmp(ev->name, "content-transfer-encoding", 25) == 0;
	buf_reset(&st->tmp);
	if (st->pass == 1)
		return repair_scan_header(st, ev, pl, is_ct, is_cte);
	return repair_emit_header(st, ev, pl, is_ct, is_cte);
}

/* rp_on_headers_end - the header block is over */
static int
rp_on_headers_end(struct rp_state *st, const struct mime_event *ev)
{
	struct rp_plan *pl;
	unsigned d = ev->depth < RP_DEPTHS ? ev->depth : RP_DEPTHS - 1;

	if (!st->hdr_open && rp_new_part(st, ev->depth) == -1)
		return -1;
	st->hdr_open = 0;
	if ((pl = rp_cur_plan(st)) == NULL)
		return repair_fail(st, EINVAL);
	if (st->pass == 1) {
		pl->in_msg = rp_parent_is_message(st, d);
		return repair_scan_headers_end(st, ev->part, pl);
	}
	return repair_emit_headers_end(st, ev->part, pl, d);
}

/* rp_data - body, preamble or epilogue bytes, to the pass that runs */
static int
rp_data(struct rp_state *st, const struct mime_event *ev)
{
	unsigned d = ev->depth < RP_DEPTHS ? ev->depth : RP_DEPTHS - 1;
	struct rp_plan *pl = rp_cur_plan(st);

	if (st->hdr_open) {
		/* data before any header: the parser says the headers
		 * ended; it always reports HEADERS_END first */
		return repair_fail(st, EINVAL);
	}
	if (ev->type == MIME_EV_BODY && pl == NULL)
		return repair_fail(st, EINVAL);
	if (st->pass == 2)
		return repair_emit_data(st, ev, pl, d);
	if (ev->type == MIME_EV_BODY)
		return repair_scan_body(st, ev->data, ev->len, 0);
	return 0;
}

/* rp_body_flush - hand on the body bytes gathered (see rp_on_data) */
static int
rp_body_flush(struct rp_state *st)
{
	struct mime_event ev;

	if (!st->body_pend)
		return 0;
	st->body_pend = 0;
	memset(&ev, 0, sizeof(ev));
	ev.type = MIME_EV_BODY;
	ev.depth = st->body_depth;
	ev.data = st->body.data != NULL ? st->body.data : "";
	ev.len = st->body.len;
	if (rp_data(st, &ev) == -1)
		return -1;
	buf_reset(&st->body);
	return 0;
}

/*
 * rp_on_data - body, preamble or epilogue bytes. The parser gives a body a
 * line at a time (it looks for boundaries); both passes are streams that
 * any cut gives the same result, so a body's lines are gathered into
 * chunks of RP_CHUNK first: per line, the fixed cost of each step
 * (converter calls, scans for 8-bit bytes) was most of a pass. Every other
 * event hands on what was gathered first, so nothing moves.
 */
static int
rp_on_data(struct rp_state *st, const struct mime_event *ev)
{
	if (ev->type != MIME_EV_BODY)
		return rp_body_flush(st) == -1 ? -1 : rp_data(st, ev);
	if (st->body_pend && st->body_depth != ev->depth &&
	    rp_body_flush(st) == -1)
		return -1;
	if (!st->body_pend && ev->len >= RP_CHUNK)
		return rp_data(st, ev);
	st->body_pend = 1;
	st->body_depth = ev->depth;
	if (buf_append(&st->body, ev->data, ev->len) == -1)
		return repair_fail(st, ENOMEM);
	return st->body.len >= RP_CHUNK ? rp_body_flush(st) : 0;
}

/* rp_on_part_end - a part is over */
static int
rp_on_part_end(struct rp_state *st, const struct mime_event *ev)
{
	unsigned d = ev->depth < RP_DEPTHS ? ev->depth : RP_DEPTHS - 1;
	size_t idx = st->lv[d].plan;

	if (idx >= st->nplans)
		return repair_fail(st, EINVAL);
	if (st->pass == 1)
		return repair_scan_part_end(st, ev, &st->plans[idx], d);
	return repair_emit_part_end(st, &st->plans[idx], d);
}

/* rp_event - the parser's callback */
static int
rp_event(const struct mime_event *ev, void *arg)
{
	struct rp_state *st = arg;
	int rc;

	if (st->failed)
		return -1;
	if (ev->type != MIME_EV_BODY && ev->type != MIME_EV_PREAMBLE &&
	    ev->type != MIME_EV_EPILOGUE && rp_body_flush(st) == -1) {
		if (st->failed == 0)
			st->failed = EIO;
		return -1;
	}
	switch (ev->type) {
	case MIME_EV_HEADER:
		rc = rp_on_header(st, ev);
		break;
	case MIME_EV_HEADERS_END:
		rc = rp_on_headers_end(st, ev);
		break;
	case MIME_EV_BODY:
	case MIME_EV_PREAMBLE:
	case MIME_EV_EPILOGUE:
		rc = rp_on_data(st, ev);
		break;
	case MIME_EV_PART_END:
		rc = rp_on_part_end(st, ev);
		break;
	default:
		rc = 0;
	}
	if (rc == -1 && st->failed == 0)
		st->failed = EIO;
	return rc;
}

/* rp_note_lf - pass 1: look for bare LF in the raw input */
static void
rp_note_lf(struct rp_state *st, const char *s, size_t n)
{
	if (st->bare_lf || n == 0)
		return;
	if (repair_cte_bare_lf(s, n, st->in_prev_cr) < n) {
		st->bare_lf = 1;
		return;
	}
	st->in_prev_cr = s[n - 1] == '\r';
}

/* rp_run - one pass over the input */
static int
rp_run(struct rp_state *st, int in_fd, char *chunk)
{
	struct mime_parser *p;
	ssize_t n;
	int rc = -1;
	size_t i;

	if (lseek(in_fd, 0, SEEK_SET) == (off_t)-1)
		return repair_fail(st, errno);
	if ((p = mime_parser_new(rp_event, st, repair_header_to_utf8)) == NULL)
		return repair_fail(st, ENOMEM);
	st->cur = (size_t)-1;
	st->hdr_open = 0;
	st->at_bol = 1;
	st->body_pend = 0;
	buf_reset(&st->body);
	memset(st->lv, 0, sizeof(st->lv));
	for (i = 0; i < RP_DEPTHS; i++) {
		free(st->bnd[i]);
		st->bnd[i] = NULL;
	}
	for (;;) {
		n = read(in_fd, chunk, RP_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			(void)repair_fail(st, errno);
			goto done;
		}
		if (n == 0)
			break;
		if (st->pass == 1)
			rp_note_lf(st, chunk, (size_t)n);
		if (mime_parser_feed(p, chunk, (size_t)n) == -1) {
			(void)repair_fail(st, errno);
			goto done;
		}
	}
	if (mime_parser_finish(p) == -1 || rp_body_flush(st) == -1) {
		(void)repair_fail(st, errno);
		goto done;
	}
	rc = st->failed ? -1 : 0;
done:
	mime_parser_free(p);
	return rc;
}

/* rp_pass1_reset - forget what a pass 1 found, to run it again */
static void
rp_pass1_reset(struct rp_state *st)
{
	repair_scan_end(&st->scan);
	repair_scan_keeps_free(st);
	st->nplans = 0;
	st->changed = 0;
	st->top_mime_version = 0;
	st->bare_lf = 0;
	st->in_prev_cr = 0;
	st->qp_missing = 0;
	st->readings_missing = 0;
}

/* rp_options - resolve the options into the state */
static int
rp_options(struct rp_state *st, const struct repair_opts *o)
{
	struct charset_info ci;
	const char *legacy = o->legacy_charset, *t = o->target, *dec;

	if (legacy == NULL || *legacy == '\0' || charset_lookup(legacy,
	    strlen(legacy), &ci) == CHARSET_UNKNOWN)
		(void)charset_lookup("windows-1252", 12, &ci);
	dec = ci.c1_decoder != NULL ? ci.c1_decoder : ci.decoder;
	if (!charset_ascii_compatible(dec)) {
		/* a legacy charset must read ASCII as ASCII */
		(void)charset_lookup("windows-1252", 12, &ci);
		dec = ci.decoder;
	}
	if (strlen(dec) >= sizeof(st->legacy_dec))
		return -1;
	strcpy(st->legacy_dec, dec);
	st->legacy_mime = charset_mime_label(dec);
	if (t == NULL || *t == '\0' || strcasecmp(t, "utf-8") == 0 ||
	    strcasecmp(t, "utf8") == 0) {
		st->t_utf8 = 1;
		return 0;
	}
	if (strcasecmp(t, "preserve") == 0) {
		st->t_preserve = 1;
		return 0;
	}
	st->t_mime = charset_mime_label(t);
	st->t_enc = charset_encoder(t);
	if (st->t_mime == NULL || st->t_enc == NULL ||
	    strncasecmp(st->t_enc, "UTF-16", 6) == 0 ||
	    strncasecmp(st->t_enc, "UTF-32", 6) == 0)
		return -1;
	if (strcasecmp(st->t_mime, "utf-8") == 0)
		st->t_utf8 = 1;
	return 0;
}

/* rp_state_fini - release everything of a run */
static void
rp_state_fini(struct rp_state *st)
{
	size_t i;

	repair_scan_end(&st->scan);
	repair_scan_keeps_free(st);
	repair_emit_end(&st->em);
	buf_fini(&st->scan.dbuf);
	buf_fini(&st->scan.t1);
	buf_fini(&st->scan.t2);
	buf_fini(&st->em.dbuf);
	buf_fini(&st->em.t1);
	buf_fini(&st->em.t2);
	buf_fini(&st->em.o);
	buf_fini(&st->em.hold);
	buf_fini(&st->out);
	buf_fini(&st->tmp);
	buf_fini(&st->ct_raw);
	buf_fini(&st->body);
	for (i = 0; i < RP_DEPTHS; i++)
		free(st->bnd[i]);
	free(st->plans);
}

/* repair_message - repair and convert one message (see repair.h) */
enum repair_result
repair_message(int in_fd, int out_fd, const struct repair_opts *opts,
    struct repair_report *rep)
{
	struct rp_state *st;
	char *chunk;
	enum repair_result res = REPAIR_ERROR;
	size_t i, explain_len;
	unsigned undecodable, kept_utf8;
	int err = 0;

	st = xcalloc(1, sizeof(*st));
	chunk = xmalloc(RP_CHUNK);
	st->opts = opts;
	st->rep = rep;
	st->out_fd = out_fd;
	buf_init(&st->out);
	buf_init(&st->tmp);
	buf_init(&st->ct_raw);
	buf_init(&st->body);
	buf_init(&st->scan.dbuf);
	buf_init(&st->scan.t1);
	buf_init(&st->scan.t2);
	buf_init(&st->em.dbuf);
	buf_init(&st->em.t1);
	buf_init(&st->em.t2);
	buf_init(&st->em.o);
	buf_init(&st->em.hold);
	if (rp_options(st, opts) == -1) {
		err = EINVAL;
		(void)buf_printf(&rep->explain, "unknown target charset %s\n",
		    opts->target);
		goto done;
	}
	st->all_readings = opts->all_readings;
	st->pass = 1;
	explain_len = rep->explain.len;
	undecodable = rep->undecodable;
	kept_utf8 = rep->kept_utf8;
	/* a choice needed a QP size not counted, or a reading not run:
	 * again, counting all or reading all, with the findings of the try
	 * before forgotten (at most two more runs: the third counts and reads
	 * everything) */
	for (i = 0; rp_run(st, in_fd, chunk) == 0 && i < 2 &&
	    (st->qp_missing || st->readings_missing); i++) {
		if (st->qp_missing)
			st->qp_all = 1;
		if (st->readings_missing)
			st->all_readings = 1;
		rp_pass1_reset(st);
		rep->explain.len = explain_len;
		if (rep->explain.data != NULL)
			rep->explain.data[explain_len] = '\0';
		rep->undecodable = undecodable;
		rep->kept_utf8 = kept_utf8;
	}
	if (st->failed) {
		err = st->failed;
		if (err == E2BIG) {
			(void)buf_printf(&rep->explain, "message: more than %d "
			    "parts, not repaired\n", RP_MAX_PARTS);
			res = REPAIR_UNCHANGED;
		}
		goto done;
	}
	for (i = 0; i < st->nplans; i++)
		if (st->plans[i].changed)
			rep->changes++;
	if (st->bare_lf && !opts->lf) {
		rep->changes++;
		st->changed = 1;
		(void)buf_puts(&rep->explain,
		    "message: bare LF line breaks written as CRLF\n");
	}
	if (!st->changed) {
		res = REPAIR_UNCHANGED;
		goto done;
	}
	for (i = 0; i < st->nplans; i++)
		if (st->plans[i].label != NULL || st->plans[i].set_cte)
			st->need_mime_version = !st->top_mime_version;
	if (st->need_mime_version)
		(void)buf_puts(&rep->explain,
		    "message: MIME-Version: 1.0 added\n");
	if (st->out_fd == -1) {
		if (opts->open_out == NULL ||
		    (st->out_fd = opts->open_out(opts->open_arg)) == -1) {
			err = opts->open_out == NULL ? EINVAL : errno;
			goto done;
		}
	}
	st->pass = 2;
	if (rp_run(st, in_fd, chunk) == -1 || repair_emit_flush(st) == -1 ||
	    repair_emit_finish(st) == -1) {
		err = st->failed;
		goto done;
	}
	res = REPAIR_CHANGED;
done:
	rp_state_fini(st);
	free(st);
	free(chunk);
	if (res == REPAIR_ERROR)
		errno = err != 0 ? err : EIO;
	return res;
}
