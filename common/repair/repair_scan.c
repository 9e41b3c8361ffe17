/*
 * repair_scan - pass 1 of the repair library (see repair_int.h): what
 * each part needs, decided without holding a body.
 *
 * For a text part it runs every candidate reading side by side (the
 * label's decoder, its windows-1252 reading for C1 bytes, its second
 * choice; or UTF-8 and the legacy charset for unlabelled text), each with
 * the target's encoder behind it, counting decoding errors, characters
 * the target cannot hold, 8-bit bytes, line lengths and encoded sizes
 * (repair_cte.c). At the end of the part one reading is chosen and the
 * part's plan says what pass 2 writes: the charset label, a conversion,
 * the transfer encoding. Charsets that write ASCII as ASCII are started
 * only at the first 8-bit byte. Header fields are read here too, to note
 * the part's Content-Type and whether any field changes.
 *
 * Not done here: guessing a charset (only "valid UTF-8, else the legacy
 * charset"), and <meta charset> in HTML (reported, left as written).
 */
#include "repair_int.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* rp_label_eq - does a label as written name the same as lab */
static int
rp_label_eq(const char *written, const char *lab)
{
	return written != NULL && lab != NULL && strcasecmp(written, lab) == 0;
}

/* repair_scan_header - pass 1: one header field of the part */
int
repair_scan_header(struct rp_state *st, const struct mime_event *ev,
    struct rp_plan *pl, int is_ct, int is_cte)
{
	const char *note = NULL;
	int changed = 0;

	if (ev->name_len == 12 &&
	    strncasecmp(ev->name, "mime-version", 12) == 0) {
		pl->has_mv = 1;
		if (ev->depth == 0)
			st->top_mime_version = 1;
	}
	if (is_ct && !st->ct_seen) {
		st->ct_seen = 1;
		if (buf_append(&st->ct_raw, ev->value, ev->value_len) == -1)
			return repair_fail(st, ENOMEM);
	}
	if (is_ct)
		pl->has_ct = 1;
	if (is_cte)
		pl->has_cte = 1;
	if (repair_header_fix(st, ev, &st->tmp, &changed, &note) == -1)
		return repair_fail(st, ENOMEM);
	if (changed)
		pl->changed = 1;
	if (note != NULL) {
		struct buf nm;

		buf_init(&nm);
		if (buf_printf(&nm, "header %.*s:", (int)ev->name_len,
		    ev->name) == -1) {
			buf_fini(&nm);
			return repair_fail(st, ENOMEM);
		}
		repair_report_explain(st, NULL, ev->depth, nm.data, note);
		buf_fini(&nm);
	}
	return 0;
}

/* rp_cand_free - release a candidate's converters and kept text */
static void
rp_cand_free(struct rp_cand *c)
{
	convert_free(c->dc);
	convert_free(c->ec);
	c->dc = c->ec = NULL;
	buf_fini(&c->keep);
}

/* repair_scan_end - release what pass 1 holds for the leaf */
void
repair_scan_end(struct rp_scan *sc)
{
	size_t i;

	for (i = 0; i < RP_NCAND; i++)
		rp_cand_free(&sc->cand[i]);
	repair_detect_end(sc);
	sc->active = 0;
}

/*
 * rp_cyr_other - for KOI8-R and windows-1251, the other one. .NET names
 * windows-1251 "koi8-r" as a body name (Encoding.BodyName), so Mono's
 * SmtpClient labels windows-1251 bodies koi8-r. The two put the Cyrillic
 * letters in the same octets with the cases swapped: lower case is
 * 0xC0-0xDF in KOI8-R, 0xE0-0xFF in windows-1251, and running text is
 * mostly lower case.
 */
static const char *
rp_cyr_other(const char *dec)
{
	if (strcasecmp(dec, "KOI8-R") == 0 || strcasecmp(dec, "KOI8-RU") == 0)
		return "WINDOWS-1251";
	if (strcasecmp(dec, "WINDOWS-1251") == 0)
		return "KOI8-R";
	return NULL;
}

/* rp_cyr_swapped - do the letters' cases say the label has it backwards:
 * three times more of the other charset's lower case, 8 letters at least */
static int
rp_cyr_swapped(const struct rp_scan *sc, const char *dec)
{
	uint64_t lower = strcasecmp(dec, "WINDOWS-1251") == 0 ? sc->cyr_e0 :
	    sc->cyr_c0;
	uint64_t other = lower == sc->cyr_e0 ? sc->cyr_c0 : sc->cyr_e0;

	return other >= 8 && other > 3 * lower;
}

/* rp_label_latin - iso-8859-1 or windows-1252 (us-ascii has its own
 * rule): text that is all valid UTF-8 under them is UTF-8, since Latin
 * text almost never forms valid multi-byte sequences */
static int
rp_label_latin(const struct charset_info *ci)
{
	return ci->mime != NULL && (strcasecmp(ci->mime, "iso-8859-1") == 0 ||
	    strcasecmp(ci->mime, "windows-1252") == 0);
}

/* repair_scan_keeps_free - release the texts kept for pass 2 */
void
repair_scan_keeps_free(struct rp_state *st)
{
	size_t i;

	for (i = 0; i < st->nkeeps; i++)
		buf_fini(&st->keeps[i]);
	free(st->keeps);
	st->keeps = NULL;
	st->nkeeps = st->kept_total = 0;
}

/*
 * rp_keep - keep n more bytes of pass 1's output in b for pass 2, while the
 * message's kept texts stay under RP_KEEP_MAX; else give up on b (*off).
 * Converting a part once instead of in both passes was half the time of a
 * conversion; the cap keeps memory flat for large messages, which are
 * converted twice as before.
 */
static int
rp_keep(struct rp_state *st, struct buf *b, int *off, const void *p,
    size_t n)
{
	struct rp_scan *sc = &st->scan;
	size_t held = st->kept_total, i, max;

	if (*off || sc->keep_off)
		return 0;
	max = st->opts->keep_max != 0 ? st->opts->keep_max : RP_KEEP_MAX;
	for (i = 0; i < RP_NCAND; i++)
		held += sc->cand[i].keep.len;
	if (n >= max || held >= max - n) {
		*off = 1;
		buf_fini(b);
		return 0;
	}
	return buf_append(b, p, n);
}

/* rp_keep_take - the chosen reading's text becomes the plan's */
static void
rp_keep_take(struct rp_state *st, struct rp_cand *src, struct rp_plan *pl)
{
	struct rp_scan *sc = &st->scan;
	struct buf *k;

	/* the kept text is the encoder's when there was one: usable only
	 * if pass 2 writes through that same encoder */
	if (sc->keep_off || src->keep_off ||
	    (pl->enc == NULL) != (src->ec == NULL))
		return;
	st->keeps = xreallocarray(st->keeps, st->nkeeps + 1,
	    sizeof(*st->keeps));
	k = &st->keeps[st->nkeeps++];
	*k = src->keep;
	buf_init(&src->keep);
	st->kept_total += k->len;
	pl->keep = st->nkeeps;
	pl->keep_pre = src->pre;
}

/* rp_cand_add - one more way to read the text part */
static int
rp_cand_add(struct rp_state *st, const char *dec, const char *mime)
{
	struct rp_scan *sc = &st->scan;
	struct rp_cand *c;
	const char *enc;
	size_t i;

	for (i = 0; i < RP_NCAND && sc->cand[i].used; i++)
		if (strcmp(sc->cand[i].dec, dec) == 0) {
			sc->cand[i].rules++;
			return 0;
		}
	if (i == RP_NCAND || strlen(dec) >= CHARSET_NAME_SIZE)
		return 0;
	c = &sc->cand[i];
	memset(c, 0, sizeof(*c));
	c->used = 1;
	c->rules = 1;
	strcpy(c->dec, dec);
	c->mime = mime;
	repair_cte_stat_init(&c->u8, 0);
	repair_cte_stat_init(&c->eo, 0);
	c->u8.noqp = c->eo.noqp = sc->noqp;
	/* strict: the first decoding error makes the reading bad
	 * (rp_cand_feed), so the decoder need not read on to the end of
	 * the chunk; the UTF-8 reading of Latin text did, through iconv at
	 * every byte it refused */
	if ((c->dc = convert_decoder_new(dec, st->opts->readings_read_on ?
	    CONVERT_REPLACE : CONVERT_STRICT)) == NULL) {
		c->bad = 1;
		return 0;
	}
	if (st->t_utf8)
		enc = NULL;
	else if (st->t_preserve)
		enc = mime != NULL ? charset_encoder(mime) : NULL;
	else
		enc = st->t_enc;
	if (enc != NULL && strcasecmp(enc, "UTF-8") == 0)
		enc = NULL;
	c->enc = enc;
	if (enc != NULL && (c->ec = convert_encoder_new(enc)) == NULL)
		c->unmap = 1;
	if (enc == NULL && strcmp(dec, "UTF-8") == 0) {
		/* never converted (read and written as UTF-8): nothing to
		 * keep, and while the text checks as UTF-8 the decoder
		 * would copy it, so it need not run (rp_cand_feed) */
		c->keep_off = 1;
		c->u8same = 1;
	}
	return 0;
}

/* rp_detect_cand - a reading for one charset of the detect list */
static int
rp_detect_cand(const char *name, void *arg)
{
	struct charset_info ci;

	if (charset_lookup(name, strlen(name), &ci) == CHARSET_UNKNOWN)
		return 0;
	return rp_cand_add(arg, ci.decoder, ci.mime);
}

static struct rp_cand *rp_cand_find(struct rp_scan *, const char *);

/*
 * rp_spares - readings that need not run from the start. Each reading
 * asked for by one rule only is looked at by that rule only:
 * - the second choice of a label (GB18030 for gb2312) is chosen only when
 *   the label's own reading (cand[0]) is bad: it does not run, and if
 *   cand[0] goes bad pass 1 runs again with every reading;
 * - the other one of KOI8-R and windows-1251 is chosen only when the
 *   letters' case says the label has it backwards: the same;
 * - the windows reading of a label (windows-1252 for iso-8859-1), when
 *   both are single-byte tables alike outside 0x80-0x9F and write UTF-8,
 *   starts at the first C1 byte as a copy of cand[0] (rp_c1_start).
 * Both were a second decoding of every 8-bit byte.
 */
static void
rp_spares(struct rp_state *st, const struct charset_info *ci)
{
	struct rp_scan *sc = &st->scan;
	struct rp_cand *p = &sc->cand[0], *c;

	if (st->all_readings || !p->used || strcmp(p->dec, ci->decoder) != 0)
		return;
	if (ci->alt_decoder != NULL &&
	    (c = rp_cand_find(sc, ci->alt_decoder)) != NULL && c != p &&
	    c->rules == 1) {
		c->spare = 1;
		c->need = 0;
	}
	if (sc->cyr && (c = rp_cand_find(sc, rp_cyr_other(ci->decoder))) !=
	    NULL && c != p && c->rules == 1) {
		c->spare = 1;
		c->need = RP_NEED_CASE;
	}
	if (ci->c1_decoder != NULL &&
	    (c = rp_cand_find(sc, ci->c1_decoder)) != NULL && c != p &&
	    c->rules == 1 && !p->bad && !c->bad && p->ec == NULL &&
	    c->ec == NULL && !p->u8same && !c->u8same &&
	    convert_same_but_c1(p->dc, c->dc))
		c->shadow = 1;
}

/*
 * rp_c1_start - the first C1 byte of a part whose windows reading was not
 * started: it takes the label reading's state (the same text so far), and
 * the label's reading, which the windows reading now always beats (see
 * rp_decide_text), stops unless another rule asked for it too; it is
 * wanted again only if the windows reading goes bad (pass 1 then runs
 * again with every reading).
 */
static int
rp_c1_start(struct rp_state *st, struct rp_cand *p, struct rp_cand *c)
{
	struct rp_scan *sc = &st->scan;

	c->shadow = 0;
	c->bad = p->bad;
	c->u8 = p->u8;
	c->eo = p->eo;
	if (p->keep_off) {
		c->keep_off = 1;
		buf_fini(&c->keep);
	} else if (p->keep.len > 0 && rp_keep(st, &c->keep, &c->keep_off,
	    p->keep.data, p->keep.len) == -1)
		return repair_fail(st, ENOMEM);
	if (p->rules == 1) {
		p->spare = 1;
		p->need = (size_t)(c - sc->cand);
		p->keep_off = 1;
		buf_fini(&p->keep);
	}
	return 0;
}

/* rp_leaf_start - pass 1: get ready to read a leaf's body */
static int
rp_leaf_start(struct rp_state *st, const struct mime_part *mp,
    struct rp_plan *pl)
{
	struct rp_scan *sc = &st->scan;
	size_t i;

	sc->active = 1;
	mime_part_decoder_init(&sc->cdec, mp);
	sc->norm = mp->cte == CODEC_CTE_7BIT || mp->cte == CODEC_CTE_8BIT ||
	    (mp->cte == CODEC_CTE_QP && pl->kind == RP_K_TEXT);
	pl->norm = sc->norm;
	sc->prev_cr = 0;
	repair_cte_stat_init(&sc->raw, 0);
	sc->raw.noqp = 1;
	repair_cte_stat_init(&sc->d, pl->kind != RP_K_TEXT &&
	    (mp->cte == CODEC_CTE_BINARY || mp->cte == CODEC_CTE_BASE64) ?
	    CODEC_ENC_BINARY : 0);
	/* A QP size decides only between quoted-printable and base64: for
	 * 7-bit output, a quoted-printable part converted, and lines over
	 * 998 octets. The last is rare and known only at the end: counting
	 * every part for it was a third of a pass-through's time, so such
	 * a part makes pass 1 run again with every size counted. */
	sc->noqp = !st->qp_all && !st->opts->seven_bit &&
	    mp->cte != CODEC_CTE_QP;
	sc->d.noqp = sc->noqp;
	sc->nodecode = pl->kind != RP_K_TEXT && (mp->cte == CODEC_CTE_QP ||
	    mp->cte == CODEC_CTE_BASE64 || mp->cte == CODEC_CTE_UNKNOWN);
	sc->lazy = 1;
	sc->on = 0;
	utf8_check_init(&sc->u8v);
	sc->has_c1 = sc->has_esc = 0;
	sc->want_esc = 1;
	sc->cyr = 0;
	sc->cyr_c0 = sc->cyr_e0 = 0;
	sc->ud = NULL;
	memset(sc->cand, 0, sizeof(sc->cand));
	sc->pre = 0;
	sc->keep_off = pl->kind != RP_K_TEXT;
	if (pl->kind == RP_K_TEXT) {
		const char *cs = mime_param_get(mp->params, mp->nparams,
		    "charset");
		struct charset_info ci;

		if (cs != NULL && charset_lookup(cs, strlen(cs), &ci) !=
		    CHARSET_UNKNOWN) {
			if (rp_cand_add(st, ci.decoder, ci.mime) == -1)
				return -1;
			if (ci.c1_decoder != NULL && rp_cand_add(st,
			    ci.c1_decoder, charset_mime_label(ci.c1_decoder))
			    == -1)
				return -1;
			if (ci.alt_decoder != NULL && rp_cand_add(st,
			    ci.alt_decoder, ci.mime) == -1)
				return -1;
			if (((ci.flags & CHARSET_F_7BIT) ||
			    repair_scan_label_foreign(&ci)) && (rp_cand_add(st,
			    "UTF-8", "utf-8") == -1 || rp_cand_add(st,
			    st->legacy_dec, st->legacy_mime) == -1))
				return -1;
			/* KOI8-R and windows-1251 are told apart by case */
			if (rp_cyr_other(ci.decoder) != NULL) {
				sc->cyr = 1;
				if (rp_cand_add(st, rp_cyr_other(ci.decoder),
				    charset_mime_label(rp_cyr_other(
				    ci.decoder))) == -1)
					return -1;
			}
			/* valid UTF-8 under a Latin label is UTF-8 */
			if (rp_label_latin(&ci) && rp_cand_add(st, "UTF-8",
			    "utf-8") == -1)
				return -1;
			/* 8-bit bytes under a 7-bit label: other readings */
			if (repair_header_7bit_decoder(ci.decoder)) {
				const char *const *r =
				    repair_header_lie_readings(ci.decoder);

				for (; *r != NULL; r++)
					if (rp_cand_add(st, *r,
					    charset_mime_label(*r)) == -1)
						return -1;
			}
		} else if (rp_cand_add(st, "UTF-8", "utf-8") == -1 ||
		    rp_cand_add(st, st->legacy_dec, st->legacy_mime) == -1)
			return -1;
		/* detect = yes: text that may be read as unlabelled gets a
		 * reading per listed charset, and a detector */
		if (st->opts->detect != NULL && (cs == NULL || charset_lookup(cs,
		    strlen(cs), &ci) == CHARSET_UNKNOWN ||
		    (ci.flags & CHARSET_F_7BIT) ||
		    repair_scan_label_foreign(&ci))) {
			if (repair_detect_each(st->opts->detect, rp_detect_cand,
			    st) == -1)
				return -1;
			repair_detect_start(sc);
		}
		if (cs != NULL && charset_lookup(cs, strlen(cs), &ci) !=
		    CHARSET_UNKNOWN) {
			rp_spares(st, &ci);
			/* 7-bit text under a known ASCII-compatible label
			 * is that text, whatever escapes it holds */
			sc->want_esc = repair_scan_label_foreign(&ci) ||
			    !charset_ascii_compatible(ci.decoder);
		} else
			/* unlabelled 7-bit text is ASCII either way; an
			 * unknown label becomes us-ascii only without them */
			sc->want_esc = cs != NULL;
	}
	/* ASCII reads and writes as itself in these charsets: the
	 * candidates need not see text before its first 8-bit byte; beside
	 * one that must (ISO-2022-JP, UTF-7), each that need not starts
	 * there by itself (its pre) */
	for (i = 0; i < RP_NCAND; i++)
		if (sc->cand[i].used) {
			sc->cand[i].late = charset_ascii_compatible(
			    sc->cand[i].dec) && (sc->cand[i].enc == NULL ||
			    charset_ascii_compatible(sc->cand[i].enc));
			if (!sc->cand[i].late)
				sc->lazy = 0;
		}
	for (i = 0; i < RP_NCAND; i++)
		if (sc->lazy || st->all_readings)
			sc->cand[i].late = 0;
	sc->on = !sc->lazy;
	return 0;
}

/*
 * repair_scan_label_foreign - a label iconv knows but that has no MIME name
 * modern readers know (ansi_x3.110-1983): what it promises cannot be
 * written, and no strict reader would read it, so its text is read as
 * unlabelled text. Only ASCII-compatible charsets: a 7-bit charset such
 * as UTF-7 still needs its own decoder.
 */
int
repair_scan_label_foreign(const struct charset_info *ci)
{
	return ci->status == CHARSET_ICONV && ci->mime == NULL &&
	    charset_ascii_compatible(ci->decoder);
}

/* repair_scan_headers_end - pass 1: the part's kind, from its header */
int
repair_scan_headers_end(struct rp_state *st, const struct mime_part *mp,
    struct rp_plan *pl)
{
	pl->in_cte = (unsigned char)mp->cte;
	pl->out_cte = (unsigned char)mp->cte;
	if (mp->flags & MIME_PART_MULTIPART)
		pl->kind = RP_K_MULTI;
	else if (mp->flags & MIME_PART_MESSAGE)
		pl->kind = RP_K_MESSAGE;
	else if (strcmp(mp->type, "text") == 0 &&
	    mp->cte != CODEC_CTE_UNKNOWN)
		pl->kind = RP_K_TEXT;
	else
		pl->kind = RP_K_LEAF;
	/* A Content-Type the parser could not read whole is written
	 * anew (as the parser read it) if its charset changes. */
	if (pl->kind == RP_K_TEXT)
		strcpy(pl->sub, strlen(mp->subtype) < sizeof(pl->sub) ?
		    mp->subtype : "plain");
	if ((mp->defects & (MIME_DEFECT_BAD_CONTENT_TYPE |
	    MIME_DEFECT_BAD_PARAM)) && pl->kind == RP_K_TEXT)
		pl->bad_ct = 1;
	if (pl->kind == RP_K_TEXT || pl->kind == RP_K_LEAF)
		return rp_leaf_start(st, mp, pl);
	return 0;
}

/* rp_cand_feed - pass 1: one candidate reads more decoded content */
static int
rp_cand_feed(struct rp_state *st, struct rp_cand *c, const char *d,
    size_t n, int fin)
{
	struct rp_scan *sc = &st->scan;
	enum convert_result r;

	if (c->bad)
		return 0;
	if (c->u8same && utf8_check_ok(&sc->u8v)) {
		/* valid so far, ending between characters: the decoder
		 * (which has seen nothing yet) would give d as it is, and
		 * the counts are the content's (sc->d, fed and finished
		 * with the same bytes from the same start, see rp_content):
		 * copied, not counted again */
		c->u8 = sc->d;
		return 0;
	}
	if (c->u8same) {
		/* from here on the decoder decides, from a character
		 * boundary: the text before it was whole characters */
		c->u8same = 0;
	}
	buf_reset(&sc->t1);
	r = fin ? convert_finish(c->dc, &sc->t1) :
	    convert_feed(c->dc, d, n, &sc->t1);
	if (r == CONVERT_ESYS)
		return repair_fail(st, errno);
	if (r != CONVERT_OK || convert_errors(c->dc) > 0) {
		c->bad = 1;
		return 0;
	}
	repair_cte_stat_feed(&c->u8, sc->t1.data, sc->t1.len);
	if (fin)
		repair_cte_stat_finish(&c->u8);
	if (c->ec == NULL && rp_keep(st, &c->keep, &c->keep_off,
	    sc->t1.data, sc->t1.len) == -1)
		return repair_fail(st, ENOMEM);
	if (c->ec == NULL || c->unmap)
		return 0;
	buf_reset(&sc->t2);
	r = convert_feed(c->ec, sc->t1.data, sc->t1.len, &sc->t2);
	if (r == CONVERT_OK && fin)
		r = convert_finish(c->ec, &sc->t2);
	if (r == CONVERT_ESYS)
		return repair_fail(st, errno);
	if (r != CONVERT_OK) {
		c->unmap = 1;
		return 0;
	}
	repair_cte_stat_feed(&c->eo, sc->t2.data, sc->t2.len);
	if (fin)
		repair_cte_stat_finish(&c->eo);
	if (rp_keep(st, &c->keep, &c->keep_off, sc->t2.data, sc->t2.len) ==
	    -1)
		return repair_fail(st, ENOMEM);
	return 0;
}

/* rp_cand_runs - is this reading being read (see rp_spares) */
static int
rp_cand_runs(const struct rp_cand *c)
{
	return c->used && !c->spare && !c->shadow && !c->late;
}

/* rp_content - pass 1: decoded content of the leaf */
static int
rp_content(struct rp_state *st, const char *d, size_t n, int fin)
{
	struct rp_scan *sc = &st->scan;
	size_t i;
	int has8;

	has8 = charset_has_8bit(d, n);
	if (!sc->on && has8) {
		/* what came before was ASCII: the same in every output */
		for (i = 0; i < RP_NCAND; i++) {
			sc->cand[i].u8 = sc->cand[i].eo = sc->d;
			sc->cand[i].pre = sc->d.total;
		}
		sc->on = 1;
		sc->pre = sc->d.total;
	}
	for (i = 0; i < RP_NCAND && (has8 || fin); i++)
		if (sc->cand[i].late) {
			/* the same, for this reading by itself */
			sc->cand[i].late = 0;
			sc->cand[i].u8 = sc->cand[i].eo = sc->d;
			sc->cand[i].pre = sc->d.total;
		}
	/* ASCII bytes are scanned once: they count no 8-bit byte, no C1
	 * byte, and keep a UTF-8 check that stands between characters
	 * valid */
	repair_cte_stat_feed8(&sc->d, d, n, has8);
	if (has8 || !utf8_check_ok(&sc->u8v))
		utf8_check_feed(&sc->u8v, d, n);
	if (sc->ud != NULL)
		repair_detect_feed(sc, d, n);
	if (sc->cyr && has8) {
		/* the letters' cases and C1 bytes in one pass (an ASCII
		 * chunk has neither) */
		struct charset_high h;

		h.c0 = sc->cyr_c0;
		h.e0 = sc->cyr_e0;
		h.c1 = sc->has_c1 != 0;
		charset_high_count(d, n, &h);
		sc->cyr_c0 = h.c0;
		sc->cyr_e0 = h.e0;
		sc->has_c1 = h.c1;
	} else if (has8 && !sc->has_c1)
		sc->has_c1 = charset_has_c1(d, n);
	for (i = 0; i < RP_NCAND && sc->has_c1; i++)
		if (sc->cand[i].used && sc->cand[i].shadow &&
		    rp_c1_start(st, &sc->cand[0], &sc->cand[i]) == -1)
			return -1;
	if (sc->want_esc && !sc->has_esc)
		sc->has_esc = memchr(d, 0x1B, n) != NULL ||
		    memchr(d, '+', n) != NULL || memchr(d, '~', n) != NULL;
	for (i = 0; i < RP_NCAND && sc->on; i++)
		if (rp_cand_runs(&sc->cand[i]) &&
		    rp_cand_feed(st, &sc->cand[i], d, n, 0) == -1)
			return -1;
	if (fin) {
		repair_cte_stat_finish(&sc->d);
		for (i = 0; i < RP_NCAND && sc->on; i++)
			if (rp_cand_runs(&sc->cand[i]) &&
			    rp_cand_feed(st, &sc->cand[i], NULL, 0, 1) == -1)
				return -1;
	}
	return 0;
}

/* repair_scan_body - pass 1: a chunk of a leaf's body */
int
repair_scan_body(struct rp_state *st, const char *s, size_t n, int fin)
{
	struct rp_scan *sc = &st->scan;
	/* 7bit, 8bit, binary: the content is the body (bare LF made CRLF at
	 * most), with the same 8-bit bytes and line lengths: counted once */
	int same = !sc->nodecode && (sc->cdec.cte == CODEC_CTE_7BIT ||
	    sc->cdec.cte == CODEC_CTE_8BIT || sc->cdec.cte == CODEC_CTE_BINARY);

	if (s != NULL && !same)
		repair_cte_stat_feed(&sc->raw, s, n);
	if (fin && !same)
		repair_cte_stat_finish(&sc->raw);
	if (sc->nodecode)
		return 0;
	if (repair_cte_decode(&sc->cdec, sc->norm, &sc->prev_cr, s, n, fin,
	    &st->tmp, &sc->dbuf) == -1)
		return repair_fail(st, ENOMEM);
	if (rp_content(st, sc->dbuf.data ? sc->dbuf.data : "", sc->dbuf.len,
	    fin) == -1)
		return -1;
	if (fin && same) {
		sc->raw.has8 = sc->d.has8;
		sc->raw.maxline = sc->d.maxline;
	}
	return 0;
}

/* rp_cand_find - the candidate reading with this decoder, or NULL */
static struct rp_cand *
rp_cand_find(struct rp_scan *sc, const char *dec)
{
	size_t i;

	for (i = 0; i < RP_NCAND; i++)
		if (sc->cand[i].used && strcmp(sc->cand[i].dec, dec) == 0)
			return &sc->cand[i];
	return NULL;
}

/* rp_decide_text - pass 1: the charset decisions of a text part */
static void
rp_decide_text(struct rp_state *st, const struct mime_part *mp,
    struct rp_plan *pl, struct buf *why)
{
	struct rp_scan *sc = &st->scan;
	const char *cs = mime_param_get(mp->params, mp->nparams, "charset");
	struct charset_info ci;
	struct rp_cand *src = NULL, *cyr = NULL;
	const char *out_label;
	int labelled, i;

	memset(&ci, 0, sizeof(ci));
	labelled = cs != NULL && charset_lookup(cs, strlen(cs), &ci) !=
	    CHARSET_UNKNOWN;
	(void)buf_printf(why, "charset %s%s%s, %s", cs ? cs : "(none)",
	    cs && !labelled ? " (unknown)" : "",
	    ci.status == CHARSET_ICONV ? " (iconv only)" : "",
	    sc->d.has8 ? "8-bit" : "7-bit");
	if (labelled && (ci.flags & CHARSET_F_7BIT) && sc->d.has8)
		labelled = 0;
	if (labelled && repair_scan_label_foreign(&ci)) {
		labelled = 0;
		(void)buf_puts(why, "; a label modern readers do not know, "
		    "read as unlabelled text");
	} else if (cs != NULL && !labelled && ci.status == CHARSET_UNKNOWN)
		(void)buf_puts(why, "; an unknown label, read as unlabelled "
		    "text");
	/* 7-bit text in an ASCII-compatible charset: nothing to convert */
	if (!sc->d.has8 && (!labelled || charset_ascii_compatible(ci.decoder) ||
	    !sc->has_esc)) {
		if (labelled && ci.mime != NULL && !rp_label_eq(cs, ci.mime)) {
			pl->label = ci.mime;
			(void)buf_printf(why, "; label normalised to %s",
			    ci.mime);
		} else if (cs != NULL && !labelled && !sc->has_esc) {
			/* strict readers refuse a label they do not know,
			 * even on ASCII text */
			pl->label = "us-ascii";
			(void)buf_puts(why, "; labelled us-ascii");
		}
		repair_cte_decide(st, mp, pl, why);
		return;
	}
	/* Which reading of the bytes. */
	if (labelled && sc->cyr && rp_cyr_swapped(sc, ci.decoder) &&
	    (cyr = rp_cand_find(sc, rp_cyr_other(ci.decoder))) != NULL &&
	    cyr->spare)
		st->readings_missing = 1;	/* not read: pass 1 again */
	if (cyr != NULL && cyr->bad)
		cyr = NULL;
	if (labelled && sc->d.has8 && repair_header_7bit_decoder(ci.decoder)) {
		/* the label lies: the first of its other readings that
		 * decodes (UTF-8 only when valid) */
		const char *const *r = repair_header_lie_readings(ci.decoder);
		struct rp_cand *c;

		for (; *r != NULL && src == NULL; r++)
			if ((c = rp_cand_find(sc, *r)) != NULL && !c->bad &&
			    (strcmp(*r, "UTF-8") != 0 ||
			    utf8_check_ok(&sc->u8v)))
				src = c;
		(void)buf_printf(why, "; 8-bit bytes under the 7-bit label %s",
		    cs);
	} else if (cyr != NULL) {
		src = cyr;
		(void)buf_printf(why, "; the letters' case says %s, not %s",
		    src->mime ? src->mime : src->dec, cs);
	} else if (labelled && sc->d.has8 && rp_label_latin(&ci) &&
	    utf8_check_ok(&sc->u8v) && rp_cand_find(sc, "UTF-8") != NULL &&
	    !rp_cand_find(sc, "UTF-8")->bad) {
		src = rp_cand_find(sc, "UTF-8");
		(void)buf_printf(why, "; all valid UTF-8 under the label %s",
		    cs);
	} else if (labelled) {
		/* a reading left out that this choice may want: pass 1
		 * again (rp_spares) */
		for (i = 0; i < RP_NCAND; i++)
			if (sc->cand[i].used && sc->cand[i].spare &&
			    sc->cand[i].need != RP_NEED_CASE &&
			    sc->cand[sc->cand[i].need].bad)
				st->readings_missing = 1;
		for (i = 0; i < RP_NCAND; i++) {
			struct rp_cand *c = &sc->cand[i];

			if (!c->used || c->bad)
				continue;
			if (ci.c1_decoder != NULL &&
			    strcmp(c->dec, ci.c1_decoder) == 0 && !sc->has_c1)
				continue;
			if (src == NULL || (ci.c1_decoder != NULL &&
			    strcmp(c->dec, ci.c1_decoder) == 0))
				src = c;
		}
	} else {
		struct rp_cand *u = rp_cand_find(sc, "UTF-8");
		struct rp_cand *l = rp_cand_find(sc, st->legacy_dec);

		const char *guess = NULL, *dd;
		struct rp_cand *dc;

		if (u != NULL && !u->bad && utf8_check_ok(&sc->u8v))
			src = u;
		else if (sc->ud != NULL && sc->d.has8 &&
		    (dd = repair_detect_result(st, &guess)) != NULL &&
		    (dc = rp_cand_find(sc, dd)) != NULL && !dc->bad) {
			src = dc;
			(void)buf_printf(why, "; libuchardet says %s", guess);
		} else {
			if (guess != NULL)
				(void)buf_printf(why, "; libuchardet says %s, "
				    "not taken", guess);
			if (l != NULL && !l->bad)
				src = l;
		}
	}
	if (src == NULL) {
		st->rep->undecodable++;
		(void)buf_printf(why, "; does not decode as %s, left as it was",
		    labelled ? ci.decoder : "utf-8 or the legacy charset");
		repair_cte_decide(st, mp, pl, why);
		return;
	}
	(void)buf_printf(why, "; read as %s", src->dec);
	if (!labelled)
		(void)buf_printf(why, " (unlabelled)");
	/* What to write. */
	out_label = st->t_utf8 ? "utf-8" : st->t_preserve ? src->mime :
	    st->t_mime;
	if (out_label == NULL)
		out_label = "utf-8";	/* no MIME label for the source */
	if (src->enc != NULL && src->unmap) {
		st->rep->kept_utf8++;
		(void)buf_printf(why, "; %s cannot hold every character: "
		    "kept in utf-8", src->enc);
		out_label = "utf-8";
	}
	if (strcasecmp(out_label, "utf-8") == 0) {
		if (strcmp(src->dec, "UTF-8") == 0)
			pl->action = RP_PASS;
		else {
			pl->action = RP_CONVERT;
			pl->enc = NULL;
		}
		if (pl->action == RP_CONVERT)
			pl->out_cte = (unsigned char)repair_cte_for(st,
			    &src->u8, mp->cte, 1);
		pl->out8 = src->u8.has8;
	} else if (rp_label_eq(src->mime, out_label)) {
		pl->action = RP_PASS;	/* the bytes are right as they are */
	} else {
		pl->action = RP_CONVERT;
		pl->enc = src->enc;
		pl->out_cte = (unsigned char)repair_cte_for(st, &src->eo,
		    mp->cte, 1);
		pl->out8 = src->eo.has8;
	}
	if (pl->action == RP_CONVERT) {
		strcpy(pl->dec, src->dec);
		rp_keep_take(st, src, pl);
		pl->set_cte = pl->out_cte != mp->cte;
		(void)buf_printf(why, "; converted to %s, %s", out_label,
		    codec_cte_name((enum codec_cte)pl->out_cte));
	} else
		repair_cte_decide(st, mp, pl, why);
	if (!rp_label_eq(cs, out_label)) {
		pl->label = out_label;
		if (pl->action == RP_PASS)
			(void)buf_printf(why, "; labelled %s", out_label);
	}
	if ((pl->action == RP_CONVERT || mp->cte == CODEC_CTE_7BIT ||
	    mp->cte == CODEC_CTE_8BIT) && pl->label != NULL &&
	    strcasecmp(mp->subtype, "html") == 0)
		(void)buf_printf(why, "; an HTML <meta> charset in its head, "
		    "if any, set to %s", pl->label);
}

/* rp_leaf_end - pass 1: the leaf is read, decide */
static int
rp_leaf_end(struct rp_state *st, const struct mime_event *ev,
    struct rp_plan *pl)
{
	struct buf why;
	int rc = 0;

	if (repair_scan_body(st, NULL, 0, 1) == -1) {
		repair_scan_end(&st->scan);
		return -1;
	}
	buf_init(&why);
	if (pl->kind == RP_K_TEXT)
		rp_decide_text(st, ev->part, pl, &why);
	else {
		(void)buf_puts(&why, st->scan.raw.has8 ? "8-bit" : "7-bit");
		repair_cte_decide(st, ev->part, pl, &why);
	}
	if (pl->label != NULL && pl->has_ct && !pl->bad_ct) {
		int ok;

		if (repair_header_ct_edit_ok(&st->ct_raw, ev->part, pl->label,
		    &ok) == -1)
			rc = repair_fail(st, ENOMEM);
		else if (!ok) {
			pl->bad_ct = 1;
			(void)buf_puts(&why, "; Content-Type written anew "
			    "(the value could not take a charset parameter)");
		}
	}
	if (pl->label != NULL || pl->set_cte || pl->action != RP_PASS)
		pl->changed = 1;
	if (pl->set_cte && !pl->has_cte && pl->out_cte == CODEC_CTE_7BIT)
		pl->set_cte = 0;	/* the default, no field needed */
	repair_report_explain(st, ev->part, ev->depth, why.data ? why.data : "",
	    NULL);
	buf_fini(&why);
	repair_scan_end(&st->scan);
	return rc;
}

/* repair_scan_part_end - pass 1: the part (at depth d) is over: decide */
int
repair_scan_part_end(struct rp_state *st, const struct mime_event *ev,
    struct rp_plan *pl, unsigned d)
{
	const struct mime_part *mp = ev->part;

	if (pl->kind == RP_K_TEXT || pl->kind == RP_K_LEAF) {
		if (rp_leaf_end(st, ev, pl) == -1)
			return -1;
	} else {
		enum codec_cte c = (enum codec_cte)pl->in_cte;
		const char *what = pl->kind == RP_K_MULTI ?
		    "multipart" : "enclosed message";

		if (st->opts->seven_bit && (c == CODEC_CTE_8BIT ||
		    c == CODEC_CTE_BINARY) && pl->has_cte) {
			pl->out_cte = CODEC_CTE_7BIT;
			pl->set_cte = pl->changed = 1;
			repair_report_explain(st, mp, ev->depth, what,
			    "; Content-Transfer-Encoding set to 7bit");
		} else if (!st->opts->seven_bit && pl->child8 &&
		    c == CODEC_CTE_7BIT && pl->has_cte) {
			pl->out_cte = CODEC_CTE_8BIT;
			pl->set_cte = pl->changed = 1;
			repair_report_explain(st, mp, ev->depth, what,
			    "; Content-Transfer-Encoding set to 8bit");
		} else
			repair_report_explain(st, mp, ev->depth, what, NULL);
	}
	if (pl->changed)
		st->changed = 1;
	if ((pl->out8 || pl->child8) && d > 0)
		st->plans[st->lv[d - 1].plan].child8 = 1;
	return 0;
}
