/*
 * repair_emit - pass 2 of the repair library (see repair_int.h): the
 * message written as the plans say. Header fields as repair_header_fix
 * gives them (Content-Type and Content-Transfer-Encoding as planned), the
 * fields a part needs added (MIME-Version, Content-Type,
 * Content-Transfer-Encoding), the blank line, boundary delimiters
 * (regenerated: the parser does not report them, so transport padding and
 * text after a close delimiter are not kept), and bodies passed through,
 * re-encoded or converted chunk by chunk.
 *
 * Line breaks of the output are CRLF, except inside bodies with
 * Content-Transfer-Encoding binary, which are data. Output is buffered in
 * RP_CHUNK pieces; a write error is the run's failure.
 */
#include "repair_int.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* rp_write - bytes to the output descriptor */
static int
rp_write(struct rp_state *st, const char *p, size_t n)
{
	size_t off = 0;
	ssize_t w;

	while (off < n) {
		w = write(st->out_fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return repair_fail(st, errno);
		}
		off += (size_t)w;
	}
	return 0;
}

/*
 * rp_to_lf - opts.lf: every CRLF of the buffer becomes LF, in place. A CR
 * at its end is held back (out_cr_held) until the next bytes show whether
 * it ends a line; repair_emit_finish writes one still held.
 */
static int
rp_to_lf(struct rp_state *st)
{
	char *d = st->out.data, *p = st->out.data, *end = p + st->out.len;

	if (st->out_cr_held) {
		st->out_cr_held = 0;
		if (p < end && *p != '\n' && rp_write(st, "\r", 1) == -1)
			return -1;
	}
	for (; p < end; p++) {
		if (*p == '\r' && p + 1 == end) {
			st->out_cr_held = 1;
			break;
		}
		if (*p == '\r' && p[1] == '\n')
			continue;
		*d++ = *p;
	}
	st->out.len = (size_t)(d - st->out.data);
	return 0;
}

/* repair_emit_finish - after the last flush: a CR still held goes out */
int
repair_emit_finish(struct rp_state *st)
{
	if (!st->out_cr_held)
		return 0;
	st->out_cr_held = 0;
	return rp_write(st, "\r", 1);
}

/* repair_emit_flush - write out what is buffered */
int
repair_emit_flush(struct rp_state *st)
{
	size_t off = 0;
	ssize_t w;

	if (st->opts->lf && st->out.len > 0 && rp_to_lf(st) == -1)
		return -1;

	while (off < st->out.len) {
		w = write(st->out_fd, st->out.data + off, st->out.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return repair_fail(st, errno);
		}
		off += (size_t)w;
	}
	buf_reset(&st->out);
	return 0;
}

/* rp_put - write bytes (pass 2) */
static int
rp_put(struct rp_state *st, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_append(&st->out, p, n) == -1)
		return repair_fail(st, ENOMEM);
	if (st->out.len >= RP_CHUNK)
		return repair_emit_flush(st);
	return 0;
}

/* rp_puts - write a string (pass 2) */
static int
rp_puts(struct rp_state *st, const char *s)
{
	return rp_put(st, s, strlen(s));
}

/* rp_delimiter - the delimiter line of the multipart at depth d (the
 * close delimiter when close), on a line of its own */
static int
rp_delimiter(struct rp_state *st, unsigned d, int close)
{
	if ((!st->at_bol && rp_puts(st, "\r\n") == -1) ||
	    rp_puts(st, "--") == -1 || rp_puts(st, st->bnd[d]) == -1 ||
	    rp_puts(st, close ? "--\r\n" : "\r\n") == -1)
		return -1;
	st->at_bol = 1;
	if (close)
		st->lv[d].closed = 1;
	return 0;
}

/* repair_emit_part_start - pass 2: a part at depth d > 0 starts, after a
 * delimiter when its parent is a multipart */
int
repair_emit_part_start(struct rp_state *st, unsigned d)
{
	if (d == 0 || st->bnd[d - 1] == NULL)
		return 0;
	return rp_delimiter(st, d - 1, 0);
}

/* rp_ct_field - the Content-Type field with the planned charset label, as
 * written (other parameters kept) or written anew when it was broken */
static int
rp_ct_field(struct rp_state *st, const struct mime_event *ev,
    const struct rp_plan *pl)
{
	struct buf v, p;
	int prev_cr = 0, rc, pch = 0;

	if (buf_append(&st->tmp, ev->name, ev->name_len) == -1 ||
	    buf_putc(&st->tmp, ':') == -1)
		return -1;
	buf_init(&v);
	buf_init(&p);
	/* raw 8-bit name= values as RFC 2231, as repair_header_fix does */
	if (!pl->bad_ct && charset_has_8bit(ev->value, ev->value_len) &&
	    repair_header_params_2231(st->legacy_dec, ev->value,
	    ev->value_len, &p, &pch) == -1) {
		buf_fini(&p);
		buf_fini(&v);
		return -1;
	}
	if (pl->bad_ct)
		rc = buf_printf(&v, " text/%s; charset=%s", pl->sub, pl->label);
	else if (pch)
		rc = repair_header_set_charset(p.data, p.len, pl->label, &v);
	else
		rc = repair_header_set_charset(ev->value, ev->value_len,
		    pl->label, &v);
	buf_fini(&p);
	if (rc == 0)
		rc = repair_cte_crlf(v.data, v.len, &prev_cr, &st->tmp);
	buf_fini(&v);
	return rc;
}

/* repair_emit_header - pass 2: write one header field as planned */
int
repair_emit_header(struct rp_state *st, const struct mime_event *ev,
    const struct rp_plan *pl, int is_ct, int is_cte)
{
	const char *note = NULL;
	int changed = 0;

	if (is_ct && !st->saw_ct && pl != NULL && pl->label != NULL) {
		st->saw_ct = 1;
		if (rp_ct_field(st, ev, pl) == -1)
			return repair_fail(st, ENOMEM);
	} else if (is_cte && !st->saw_cte && pl != NULL && pl->set_cte) {
		st->saw_cte = 1;
		if (buf_append(&st->tmp, ev->name, ev->name_len) == -1 ||
		    buf_printf(&st->tmp, ": %s",
		    codec_cte_name((enum codec_cte)pl->out_cte)) == -1)
			return repair_fail(st, ENOMEM);
	} else {
		if (is_ct)
			st->saw_ct = 1;
		if (is_cte)
			st->saw_cte = 1;
		if (repair_header_fix(st, ev, &st->tmp, &changed, &note) == -1)
			return repair_fail(st, ENOMEM);
	}
	if (rp_put(st, st->tmp.data, st->tmp.len) == -1 ||
	    rp_put(st, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* rp_emit_start - pass 2: get ready to write a leaf's body */
static int
rp_emit_start(struct rp_state *st, const struct mime_part *mp,
    const struct rp_plan *pl)
{
	struct rp_emit *em = &st->em;

	mime_part_decoder_init(&em->cdec, mp);
	em->norm = pl->norm;
	em->prev_cr = em->raw_prev_cr = 0;
	repair_html_start(em, mp, pl);
	if (pl->action == RP_PASS)
		return 0;
	codec_enc_init(&em->cenc, (enum codec_cte)pl->out_cte,
	    pl->enc_flags);
	/* converted in pass 1 already (repair_scan.c, rp_keep); not an HTML
	 * part whose <meta> charset pass 2 rewrites: the kept text skips the
	 * filter */
	if (pl->action == RP_CONVERT && pl->keep > 0 &&
	    pl->keep <= st->nkeeps && em->html_label == NULL) {
		em->kept = &st->keeps[pl->keep - 1];
		em->pre_left = pl->keep_pre;
		return 0;
	}
	if (pl->action == RP_CONVERT) {
		if ((em->dc = convert_decoder_new(pl->dec,
		    CONVERT_REPLACE)) == NULL)
			return repair_fail(st, errno);
		if (pl->enc != NULL &&
		    (em->ec = convert_encoder_new(pl->enc)) == NULL)
			return repair_fail(st, errno);
	}
	return 0;
}

/* repair_emit_end - pass 2: release the converters */
void
repair_emit_end(struct rp_emit *em)
{
	convert_free(em->dc);
	convert_free(em->ec);
	em->dc = em->ec = NULL;
	em->kept = NULL;
}

/* rp_emit_text - pass 2: a leaf's final text in its transfer encoding */
static int
rp_emit_text(struct rp_state *st, const struct rp_plan *pl, const char *t,
    size_t n, int fin, int strip_b64)
{
	struct rp_emit *em = &st->em;
	enum codec_cte oc = (enum codec_cte)pl->out_cte;
	struct buf *o = &st->out;
	size_t before = o->len;

	/* straight into the output buffer, not through em->o: the encoded
	 * text is most of what a 7-bit downgrade writes, copied once less */
	if (oc == CODEC_CTE_QP || oc == CODEC_CTE_BASE64) {
		if (codec_enc_feed(&em->cenc, t, n, o) == -1 ||
		    (fin && codec_enc_finish(&em->cenc, o) == -1))
			return repair_fail(st, ENOMEM);
		if (fin && strip_b64 && oc == CODEC_CTE_BASE64 &&
		    o->len - before >= 2 && o->data[o->len - 1] == '\n' &&
		    o->data[o->len - 2] == '\r') {
			o->len -= 2;
			o->data[o->len] = '\0';
		}
	} else if (repair_cte_crlf(t, n, &em->raw_prev_cr, o) == -1)
		return repair_fail(st, ENOMEM);
	if (o->len >= RP_CHUNK)
		return repair_emit_flush(st);
	return 0;
}

/* rp_emit_kept - pass 2: a part converted in pass 1: the ASCII content
 * before its first 8-bit byte as read, then the text pass 1 kept (in
 * chunks, so that the encoded form is never held whole) */
static int
rp_emit_kept(struct rp_state *st, const struct rp_plan *pl, int fin,
    int strip_b64)
{
	struct rp_emit *em = &st->em;
	const struct buf *k = em->kept;
	size_t m, off = 0;

	m = em->pre_left < em->dbuf.len ? (size_t)em->pre_left : em->dbuf.len;
	em->pre_left -= m;
	if (m > 0 && rp_emit_text(st, pl, em->dbuf.data, m, 0, 0) == -1)
		return -1;
	if (!fin)
		return 0;
	do {
		m = k->len - off < RP_CHUNK ? k->len - off : RP_CHUNK;
		if (rp_emit_text(st, pl, k->data != NULL ? k->data + off : "",
		    m, off + m == k->len, strip_b64) == -1)
			return -1;
		off += m;
	} while (off < k->len);
	return 0;
}

/* rp_emit_body - pass 2: write a chunk of a leaf's body */
static int
rp_emit_body(struct rp_state *st, const struct rp_plan *pl, const char *s,
    size_t n, int fin, int strip_b64)
{
	struct rp_emit *em = &st->em;
	struct buf *text;
	enum convert_result r;

	if (pl->action == RP_PASS) {
		if (s == NULL && em->html_label == NULL)
			return 0;
		if (pl->in_cte == CODEC_CTE_BINARY)
			return rp_put(st, s, n);
		buf_reset(&em->o);
		if (s != NULL &&
		    repair_cte_crlf(s, n, &em->raw_prev_cr, &em->o) == -1)
			return repair_fail(st, ENOMEM);
		text = &em->o;
		if (repair_html_filter(em, &text, fin) == -1)
			return repair_fail(st, ENOMEM);
		return rp_put(st, text->data, text->len);
	}
	if (em->kept != NULL && em->pre_left == 0) {
		/* the rest of the input is what pass 1 kept */
		buf_reset(&em->dbuf);
		return rp_emit_kept(st, pl, fin, strip_b64);
	}
	if (repair_cte_decode(&em->cdec, em->norm, &em->prev_cr, s, n, fin,
	    &st->tmp, &em->dbuf) == -1)
		return repair_fail(st, ENOMEM);
	if (em->kept != NULL)
		return rp_emit_kept(st, pl, fin, strip_b64);
	text = &em->dbuf;
	if (pl->action == RP_CONVERT) {
		buf_reset(&em->t1);
		r = convert_feed(em->dc, em->dbuf.data ? em->dbuf.data : "",
		    em->dbuf.len, &em->t1);
		if (r == CONVERT_OK && fin)
			r = convert_finish(em->dc, &em->t1);
		if (r != CONVERT_OK)
			return repair_fail(st, r == CONVERT_ESYS ? errno :
			    EILSEQ);
		text = &em->t1;
		if (em->ec != NULL) {
			buf_reset(&em->t2);
			r = convert_feed(em->ec, em->t1.data ? em->t1.data :
			    "", em->t1.len, &em->t2);
			if (r == CONVERT_OK && fin)
				r = convert_finish(em->ec, &em->t2);
			if (r != CONVERT_OK)
				return repair_fail(st, r == CONVERT_ESYS ?
				    errno : EILSEQ);
			text = &em->t2;
		}
		if (repair_html_filter(em, &text, fin) == -1)
			return repair_fail(st, ENOMEM);
	}
	return rp_emit_text(st, pl, text->data ? text->data : "", text->len,
	    fin, strip_b64);
}

/* rp_under_multipart - is some ancestor of depth d a multipart */
static int
rp_under_multipart(const struct rp_state *st, unsigned d)
{
	unsigned i;

	for (i = 0; i < d && i < RP_DEPTHS; i++)
		if (st->bnd[i] != NULL)
			return 1;
	return 0;
}

/* repair_emit_headers_end - pass 2: the header block of the part at
 * depth d is over */
int
repair_emit_headers_end(struct rp_state *st, const struct mime_part *mp,
    const struct rp_plan *pl, unsigned d)
{
	/* fields to add, then the blank line; an enclosed message that gets
	 * Content-* fields gets MIME-Version too */
	if (((d == 0 && st->need_mime_version) || (pl->in_msg &&
	    !pl->has_mv && ((pl->label != NULL && !st->saw_ct) ||
	    (pl->set_cte && !st->saw_cte)))) &&
	    rp_puts(st, "MIME-Version: 1.0\r\n") == -1)
		return -1;
	if (pl->label != NULL && !st->saw_ct) {
		if (rp_puts(st, "Content-Type: ") == -1 ||
		    rp_puts(st, mp->type) == -1 || rp_puts(st, "/") == -1 ||
		    rp_puts(st, mp->subtype) == -1 ||
		    rp_puts(st, "; charset=") == -1 ||
		    rp_puts(st, pl->label) == -1 || rp_puts(st, "\r\n") == -1)
			return -1;
	}
	if (pl->set_cte && !st->saw_cte) {
		if (rp_puts(st, "Content-Transfer-Encoding: ") == -1 ||
		    rp_puts(st, codec_cte_name((enum codec_cte)pl->out_cte))
		    == -1 || rp_puts(st, "\r\n") == -1)
			return -1;
	}
	if (rp_puts(st, "\r\n") == -1)
		return -1;
	st->at_bol = 1;
	st->data_prev_cr = 0;
	free(st->bnd[d]);
	st->bnd[d] = NULL;
	if (pl->kind == RP_K_MULTI && mp->boundary != NULL)
		st->bnd[d] = xstrdup(mp->boundary);
	if (pl->kind == RP_K_TEXT || pl->kind == RP_K_LEAF)
		return rp_emit_start(st, mp, pl);
	return 0;
}

/* repair_emit_data - pass 2: body, preamble or epilogue bytes at depth d
 * (an epilogue follows the close delimiter, written here if not yet) */
int
repair_emit_data(struct rp_state *st, const struct mime_event *ev,
    const struct rp_plan *pl, unsigned d)
{
	if (ev->type == MIME_EV_BODY) {
		st->at_bol = 0;
		return rp_emit_body(st, pl, ev->data, ev->len, 0, 0);
	}
	if (ev->type == MIME_EV_EPILOGUE && !st->lv[d].closed &&
	    st->bnd[d] != NULL) {
		if (rp_delimiter(st, d, 1) == -1)
			return -1;
		st->data_prev_cr = 0;
	}
	st->at_bol = 0;
	buf_reset(&st->em.o);
	if (repair_cte_crlf(ev->data, ev->len, &st->data_prev_cr,
	    &st->em.o) == -1)
		return repair_fail(st, ENOMEM);
	return rp_put(st, st->em.o.data, st->em.o.len);
}

/* repair_emit_part_end - pass 2: the part at depth d is over */
int
repair_emit_part_end(struct rp_state *st, const struct rp_plan *pl,
    unsigned d)
{
	if (pl->kind == RP_K_TEXT || pl->kind == RP_K_LEAF) {
		int rc = rp_emit_body(st, pl, NULL, 0, 1,
		    rp_under_multipart(st, d));

		repair_emit_end(&st->em);
		if (rc == -1)
			return -1;
		if (pl->action != RP_PASS)
			st->at_bol = 0;
	}
	if (pl->kind == RP_K_MULTI && st->bnd[d] != NULL) {
		if (!st->lv[d].closed && rp_delimiter(st, d, 1) == -1)
			return -1;
		free(st->bnd[d]);
		st->bnd[d] = NULL;
	}
	return 0;
}
