/*
 * mime - a streaming MIME parser (see mime.h).
 *
 * The parser keeps a stack of open parts ("entities"): the message, and
 * for each multipart the current child, for each message/rfc822 the
 * enclosed message. Only the top of the stack is being read; it is either
 * in its header block (whole lines are buffered, the block is bounded) or
 * in its body. Body lines are not buffered whole: only as much of a line
 * start is held as it takes to decide whether it can still be a boundary
 * of an open multipart; once it cannot, the rest of the line streams
 * through. The line break ending a data line is held back until the next
 * line shows it is not a boundary delimiter (it then belongs to the data)
 * or is one (it then belongs to the delimiter and is dropped).
 *
 * Memory: the parser owns all it allocates; events borrow it.
 */
#include "mime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"
#include "hex.h"

#define LINE_MAX_OCTETS	998	/* RFC 5322 2.1.1 */
/* A body line start is held at most this long while it may be a boundary. */
#define HOLD_MAX	(2 + MIME_MAX_BOUNDARY + 2 + MIME_MAX_PADDING + 8)

enum ent_kind { ENT_LEAF, ENT_MULTI, ENT_MESSAGE };
enum mp_state { MP_PREAMBLE, MP_CHILD, MP_EPILOGUE };
enum bnd { BND_NO, BND_MAYBE, BND_DELIM, BND_CLOSE };

struct entity {
	struct mime_part	 part;
	enum ent_kind		 kind;
	enum mp_state		 mp_state;
	size_t			 blen;		/* strlen(part.boundary) */
	unsigned		 nparts;	/* children seen (multipart) */
	int			 digest;	/* multipart/digest */
	int			 have_ct, have_cte, have_cd;
	struct buf		 ct, cte, cd;	/* raw values until headers end */
};

struct mime_parser {
	mime_event_fn		*cb;
	void			*arg;
	rfc2047_to_utf8_fn	*to_utf8;
	struct entity		*stack;
	size_t			 nstack, capstack;
	int			 in_headers;	/* top entity reads its headers */
	struct buf		 line;		/* current line (start) */
	struct buf		 field;		/* header field being folded */
	size_t			 nfields;	/* fields in this header block */
	size_t			 hdr_bytes;	/* completed header block bytes */
	size_t			 linelen;	/* octets of the current line */
	int			 passing;	/* rest of the line is data */
	int			 skipping;	/* rest of the line is ignored */
	int			 held_cr;	/* passing: CR at a chunk end */
	char			 eol[2];	/* line break held back */
	size_t			 neol;
	unsigned		 defects;
	int			 dead;
};

/* A parameter as written, before RFC 2231 assembly. */
struct rawparam {
	char	*name;		/* lowercase, with any "*N*" suffix */
	char	*value;		/* unquoted */
	size_t	 vlen;
};

struct rawlist {
	struct rawparam	*v;
	size_t		 n, cap;
};

/* Cursor over a header value. */
struct cur {
	const char	*s;
	size_t		 n, i;
};

static int	feed_bytes(struct mime_parser *, const char *, size_t);

/* defect - record a defect on the top part and the message */
static void
defect(struct mime_parser *p, unsigned bit)
{
	p->defects |= bit;
	if (p->nstack > 0)
		p->stack[p->nstack - 1].part.defects |= bit;
}

/* top - the entity being read */
static struct entity *
top(struct mime_parser *p)
{
	return &p->stack[p->nstack - 1];
}

/* emit - hand an event to the caller */
static int
emit(struct mime_parser *p, struct mime_event *ev)
{
	struct entity *e = top(p);

	ev->depth = e->part.depth;
	ev->part = &e->part;
	if (p->cb(ev, p->arg) != 0) {
		p->dead = 1;
		errno = ECANCELED;
		return -1;
	}
	return 0;
}

/* emit_data - body, preamble or epilogue bytes of the top entity */
static int
emit_data(struct mime_parser *p, const char *d, size_t n)
{
	struct mime_event ev;
	struct entity *e = top(p);

	if (n == 0)
		return 0;
	memset(&ev, 0, sizeof(ev));
	if (e->kind == ENT_MULTI)
		ev.type = e->mp_state == MP_EPILOGUE ? MIME_EV_EPILOGUE :
		    MIME_EV_PREAMBLE;
	else
		ev.type = MIME_EV_BODY;
	ev.data = d;
	ev.len = n;
	return emit(p, &ev);
}

/* flush_eol - the held line break was data after all */
static int
flush_eol(struct mime_parser *p)
{
	size_t n = p->neol;

	p->neol = 0;
	return emit_data(p, p->eol, n);
}

/* set_eol - hold back the line break that ended a data line */
static void
set_eol(struct mime_parser *p, int crlf)
{
	if (crlf) {
		p->eol[0] = '\r';
		p->eol[1] = '\n';
		p->neol = 2;
	} else {
		p->eol[0] = '\n';
		p->neol = 1;
	}
}

/* dupn - a NUL-terminated copy of exactly n bytes */
static char *
dupn(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* lower - ASCII-lowercase a string in place */
static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* params_free - release a parameter array */
static void
params_free(struct mime_param *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
		free(v[i].charset);
		free(v[i].language);
	}
	free(v);
}

/* set_type - replace type and subtype */
static void
set_type(struct mime_part *mp, const char *type, size_t tlen,
    const char *sub, size_t slen)
{
	char *t = dupn(type, tlen), *s = dupn(sub, slen);

	lower(t);
	lower(s);
	free(mp->type);
	free(mp->subtype);
	mp->type = t;
	mp->subtype = s;
}

/* push_entity - open a part at the next depth */
static void
push_entity(struct mime_parser *p)
{
	struct entity *e;
	size_t ncap;
	int digest = p->nstack > 0 && top(p)->digest;

	if (p->nstack == p->capstack) {
		ncap = p->capstack ? p->capstack * 2 : 4;
		p->stack = xreallocarray(p->stack, ncap, sizeof(*p->stack));
		p->capstack = ncap;
	}
	e = &p->stack[p->nstack];
	memset(e, 0, sizeof(*e));
	buf_init(&e->ct);
	buf_init(&e->cte);
	buf_init(&e->cd);
	e->part.depth = (unsigned)p->nstack;
	e->part.cte = CODEC_CTE_7BIT;
	/* RFC 2046 5.1.5: in a digest the default is message/rfc822. */
	set_type(&e->part, digest ? "message" : "text", digest ? 7 : 4,
	    digest ? "rfc822" : "plain", digest ? 6 : 5);
	p->nstack++;
	p->in_headers = 1;
	p->nfields = 0;
	p->hdr_bytes = 0;
	p->neol = 0;
	buf_reset(&p->field);
}

/* entity_fini - release one entity */
static void
entity_fini(struct entity *e)
{
	free(e->part.type);
	free(e->part.subtype);
	free(e->part.disposition);
	free(e->part.boundary);
	params_free(e->part.params, e->part.nparams);
	params_free(e->part.disp_params, e->part.ndisp_params);
	buf_fini(&e->ct);
	buf_fini(&e->cte);
	buf_fini(&e->cd);
}

/* cur_wsp - skip whitespace, line breaks and (nested) comments */
static void
cur_wsp(struct cur *c)
{
	size_t depth;

	while (c->i < c->n) {
		char ch = c->s[c->i];

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			c->i++;
			continue;
		}
		if (ch != '(')
			return;
		depth = 0;
		while (c->i < c->n) {
			ch = c->s[c->i++];
			if (ch == '\\' && c->i < c->n)
				c->i++;
			else if (ch == '(')
				depth++;
			else if (ch == ')' && --depth == 0)
				break;
		}
	}
}

/* is_tspecial - RFC 2045 tspecials, which end a token */
static int
is_tspecial(char ch)
{
	return strchr("()<>@,;:\\\"/[]?=", ch) != NULL;
}

/* cur_token - a token (8-bit bytes tolerated); returns its length */
static size_t
cur_token(struct cur *c, const char **start)
{
	size_t b = c->i;

	*start = c->s + b;
	while (c->i < c->n) {
		unsigned char ch = (unsigned char)c->s[c->i];

		if (ch <= ' ' || ch == 0x7f || is_tspecial((char)ch))
			break;
		c->i++;
	}
	return c->i - b;
}

/* cur_skip_param - skip to the next ";" outside quotes (after garbage) */
static void
cur_skip_param(struct cur *c)
{
	int q = 0;

	while (c->i < c->n) {
		char ch = c->s[c->i];

		if (q && ch == '\\' && c->i + 1 < c->n)
			c->i++;
		else if (ch == '"')
			q = !q;
		else if (!q && ch == ';')
			return;
		c->i++;
	}
}

/* rawlist_add - keep one parameter as written */
static void
rawlist_add(struct rawlist *l, const char *name, size_t nlen, struct buf *val)
{
	size_t ncap;

	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, ncap, sizeof(*l->v));
		l->cap = ncap;
	}
	l->v[l->n].name = dupn(name, nlen);
	lower(l->v[l->n].name);
	l->v[l->n].vlen = val->len;
	l->v[l->n].value = buf_steal(val);
	l->n++;
}

/* rawlist_fini - release the raw parameters */
static void
rawlist_fini(struct rawlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
}

/* parse_params - "; name=value" list into raw parameters */
static int
parse_params(struct mime_parser *p, struct cur *c, struct rawlist *l)
{
	struct buf val;
	const char *name;
	size_t nlen, b;

	buf_init(&val);
	for (;;) {
		cur_wsp(c);
		if (c->i >= c->n)
			break;
		if (c->s[c->i] == ';') {
			c->i++;
			continue;
		}
		nlen = cur_token(c, &name);
		cur_wsp(c);
		if (nlen == 0 || c->i >= c->n || c->s[c->i] != '=') {
			defect(p, MIME_DEFECT_BAD_PARAM);
			if (c->i < c->n && c->s[c->i] != ';')
				c->i++;
			cur_skip_param(c);
			continue;
		}
		c->i++;
		cur_wsp(c);
		buf_reset(&val);
		if (c->i < c->n && c->s[c->i] == '"') {
			c->i++;
			while (c->i < c->n && c->s[c->i] != '"') {
				if (c->s[c->i] == '\\' && c->i + 1 < c->n)
					c->i++;
				/* Folding inside a quoted string is not data. */
				if (c->s[c->i] != '\r' && c->s[c->i] != '\n' &&
				    buf_putc(&val, c->s[c->i]) == -1)
					goto fail;
				c->i++;
			}
			if (c->i < c->n)
				c->i++;
			else
				defect(p, MIME_DEFECT_BAD_PARAM);
		} else {
			/* Tolerant: tspecials such as "=" appear unquoted. */
			b = c->i;
			while (c->i < c->n && !strchr("; \t\r\n(\"", c->s[c->i]))
				c->i++;
			if (buf_append(&val, c->s + b, c->i - b) == -1)
				goto fail;
		}
		cur_wsp(c);
		if (c->i < c->n && c->s[c->i] != ';')
			defect(p, MIME_DEFECT_BAD_PARAM);	/* no ";" */
		if (l->n >= MIME_MAX_PARAM_SECTIONS) {
			defect(p, MIME_DEFECT_BAD_PARAM);
			continue;
		}
		rawlist_add(l, name, nlen, &val);
	}
	buf_fini(&val);
	return 0;
fail:
	buf_fini(&val);
	return -1;
}

/* split_name - base name length and RFC 2231 section/extended flags */
static int
split_name(const char *name, size_t *baselen, long *section, int *ext)
{
	const char *star = strchr(name, '*');
	char *end;

	*section = -1;
	*ext = 0;
	if (star == NULL) {
		*baselen = strlen(name);
		return 0;
	}
	*baselen = (size_t)(star - name);
	if (*baselen == 0)
		return -1;
	star++;
	if (*star == '\0') {
		*ext = 1;
		return 0;
	}
	if (*star < '0' || *star > '9')
		return -1;
	*section = strtol(star, &end, 10);
	if (*section < 0 || *section >= MIME_MAX_PARAM_SECTIONS)
		return -1;
	if (*end == '*') {
		*ext = 1;
		end++;
	}
	return *end == '\0' ? 0 : -1;
}

/* pct_decode - RFC 2231 %XX decoding, appending bytes */
static int
pct_decode(struct mime_parser *p, const char *s, size_t n, struct buf *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
			if (buf_putc(out, hi << 4 | lo) == -1)
				return -1;
			i += 2;
			continue;
		}
		if (s[i] == '%')
			defect(p, MIME_DEFECT_BAD_PARAM);
		if (buf_putc(out, s[i]) == -1)
			return -1;
	}
	return 0;
}

/* has_8bit - any byte outside ASCII */
static int
has_8bit(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* to_utf8 - convert an RFC 2231 value, keeping the bytes if we cannot */
static int
param_to_utf8(struct mime_parser *p, const char *cs, struct buf *bytes,
    struct buf *out)
{
	size_t mark = out->len;
	int rc = -1;

	if (cs != NULL && *cs != '\0' && p->to_utf8 != NULL) {
		errno = 0;
		rc = p->to_utf8(cs, bytes->data ? bytes->data : "",
		    bytes->len, out);
		if (rc == -1 && errno == ENOMEM)
			return -1;
	}
	if (rc == 0)
		return 0;
	if (out->data != NULL) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	if (has_8bit(bytes->data, bytes->len) && (cs == NULL ||
	    (strcasecmp(cs, "utf-8") != 0 && strcasecmp(cs, "utf8") != 0)))
		defect(p, MIME_DEFECT_CHARSET);
	return buf_append(out, bytes->data, bytes->len);
}

/* assemble_one - build one parameter from its raw pieces (RFC 2231 4.1) */
static int
assemble_one(struct mime_parser *p, struct rawlist *l, const char *base,
    size_t baselen, struct mime_param *mp)
{
	struct rawparam *sec[MIME_MAX_PARAM_SECTIONS];
	struct rawparam *ext = NULL, *plain = NULL;
	int secext[MIME_MAX_PARAM_SECTIONS];
	struct buf bytes, val;
	char *cs = NULL, *lang = NULL;
	const char *v, *q1, *q2;
	size_t i, bl, nsec = 0, vn;
	long s;
	int e, rc = -1;

	memset(sec, 0, sizeof(sec));
	buf_init(&bytes);
	buf_init(&val);
	for (i = 0; i < l->n; i++) {
		if (split_name(l->v[i].name, &bl, &s, &e) == -1 ||
		    bl != baselen || strncmp(l->v[i].name, base, bl) != 0)
			continue;
		if (s >= 0) {
			if (sec[s] != NULL) {
				defect(p, MIME_DEFECT_BAD_PARAM);
				continue;
			}
			sec[s] = &l->v[i];
			secext[s] = e;
			if ((size_t)s + 1 > nsec)
				nsec = (size_t)s + 1;
		} else if (e) {
			if (ext == NULL)
				ext = &l->v[i];
		} else if (plain == NULL)
			plain = &l->v[i];
		else
			defect(p, MIME_DEFECT_BAD_PARAM);
	}
	if (nsec > 0 || ext != NULL) {
		for (i = 0; i < nsec || (nsec == 0 && i == 0); i++) {
			struct rawparam *r = nsec > 0 ? sec[i] : ext;
			int isext = nsec > 0 ? secext[i] : 1;

			if (r == NULL) {
				defect(p, MIME_DEFECT_BAD_PARAM);  /* a gap */
				continue;
			}
			v = r->value;
			vn = r->vlen;
			if (isext && cs == NULL && (i == 0 || nsec == 0)) {
				/* charset'language'value */
				q1 = memchr(v, '\'', vn);
				q2 = q1 ? memchr(q1 + 1, '\'',
				    vn - (size_t)(q1 + 1 - v)) : NULL;
				if (q2 != NULL) {
					cs = dupn(v, (size_t)(q1 - v));
					lang = dupn(q1 + 1,
					    (size_t)(q2 - q1 - 1));
					vn -= (size_t)(q2 + 1 - v);
					v = q2 + 1;
				} else
					defect(p, MIME_DEFECT_BAD_PARAM);
			}
			if (isext) {
				if (pct_decode(p, v, vn, &bytes) == -1)
					goto done;
			} else if (buf_append(&bytes, v, vn) == -1)
				goto done;
		}
		if (param_to_utf8(p, cs, &bytes, &val) == -1)
			goto done;
	} else if (plain != NULL) {
		unsigned fl = 0;

		/* Outlook and others put encoded-words in quoted values. */
		if (strcmp(plain->name, "boundary") != 0 &&
		    strstr(plain->value, "=?") != NULL) {
			if (rfc2047_decode(plain->value, plain->vlen, p->to_utf8,
			    &val, &fl) == -1)
				goto done;
		} else if (buf_append(&val, plain->value, plain->vlen) == -1)
			goto done;
	}
	mp->name = dupn(base, baselen);
	mp->value = buf_steal(&val);
	if (cs != NULL)
		lower(cs);
	mp->charset = cs;
	mp->language = lang;
	cs = lang = NULL;
	rc = 0;
done:
	free(cs);
	free(lang);
	buf_fini(&bytes);
	buf_fini(&val);
	return rc;
}

/* assemble - turn raw parameters into the final list */
static int
assemble(struct mime_parser *p, struct rawlist *l, struct mime_param **outv,
    size_t *outn)
{
	struct mime_param *v;
	size_t i, j, bl, bl2, n = 0;
	long s;
	int e;

	*outv = NULL;
	*outn = 0;
	if (l->n == 0)
		return 0;
	v = xcalloc(l->n, sizeof(*v));
	for (i = 0; i < l->n; i++) {
		if (split_name(l->v[i].name, &bl, &s, &e) == -1) {
			defect(p, MIME_DEFECT_BAD_PARAM);
			continue;
		}
		/* Only the first piece of a name builds the parameter. */
		for (j = 0; j < i; j++)
			if (split_name(l->v[j].name, &bl2, &s, &e) == 0 &&
			    bl2 == bl && strncmp(l->v[j].name, l->v[i].name,
			    bl) == 0)
				break;
		if (j < i)
			continue;
		if (n == MIME_MAX_PARAMS) {
			defect(p, MIME_DEFECT_BAD_PARAM);
			break;
		}
		if (assemble_one(p, l, l->v[i].name, bl, &v[n]) == -1) {
			params_free(v, n + 1);
			return -1;
		}
		n++;
	}
	*outv = v;
	*outn = n;
	return 0;
}

/* parse_content_type - type/subtype and parameters */
static int
parse_content_type(struct mime_parser *p, struct entity *e)
{
	struct cur c = { e->ct.data, e->ct.len, 0 };
	struct rawlist l = { NULL, 0, 0 };
	const char *t, *s;
	size_t tl, sl;
	int rc = -1;

	cur_wsp(&c);
	tl = cur_token(&c, &t);
	cur_wsp(&c);
	if (tl > 0 && c.i < c.n && c.s[c.i] == '/') {
		c.i++;
		cur_wsp(&c);
		sl = cur_token(&c, &s);
		if (sl > 0)
			set_type(&e->part, t, tl, s, sl);
		if (sl == 0)
			defect(p, MIME_DEFECT_BAD_CONTENT_TYPE);
	} else
		defect(p, MIME_DEFECT_BAD_CONTENT_TYPE);
	/* A broken type keeps the default but its parameters still count. */
	cur_skip_param(&c);
	if (parse_params(p, &c, &l) == -1 ||
	    assemble(p, &l, &e->part.params, &e->part.nparams) == -1)
		goto done;
	rc = 0;
done:
	rawlist_fini(&l);
	return rc;
}

/* parse_disposition - Content-Disposition value and parameters */
static int
parse_disposition(struct mime_parser *p, struct entity *e)
{
	struct cur c = { e->cd.data, e->cd.len, 0 };
	struct rawlist l = { NULL, 0, 0 };
	const char *t;
	size_t tl;
	int rc = -1;

	cur_wsp(&c);
	tl = cur_token(&c, &t);
	if (tl > 0) {
		e->part.disposition = dupn(t, tl);
		lower(e->part.disposition);
	}
	cur_skip_param(&c);
	if (parse_params(p, &c, &l) == -1 ||
	    assemble(p, &l, &e->part.disp_params, &e->part.ndisp_params) == -1)
		goto done;
	rc = 0;
done:
	rawlist_fini(&l);
	return rc;
}

/* end_headers - the header block is over: describe the part, go to body */
static int
end_headers(struct mime_parser *p)
{
	struct entity *e = top(p);
	struct mime_part *mp = &e->part;
	struct mime_event ev;
	const char *b;

	if (e->have_ct && parse_content_type(p, e) == -1)
		return -1;
	if (e->have_cd && parse_disposition(p, e) == -1)
		return -1;
	if (e->have_cte) {
		mp->cte = codec_cte_parse(e->cte.data, e->cte.len);
		if (mp->cte == CODEC_CTE_UNKNOWN)
			defect(p, MIME_DEFECT_BAD_CTE);
	}
	e->kind = ENT_LEAF;
	if (strcmp(mp->type, "multipart") == 0) {
		b = mime_param_get(mp->params, mp->nparams, "boundary");
		if (mp->depth >= MIME_MAX_DEPTH) {
			defect(p, MIME_DEFECT_TOO_DEEP);
			mp->flags |= MIME_PART_OPAQUE;
		} else if (b == NULL || *b == '\0' ||
		    strlen(b) > MIME_MAX_BOUNDARY) {
			defect(p, MIME_DEFECT_NO_BOUNDARY);
			mp->flags |= MIME_PART_OPAQUE;
		} else {
			mp->boundary = xstrdup(b);
			e->blen = strlen(b);
			e->kind = ENT_MULTI;
			e->mp_state = MP_PREAMBLE;
			e->digest = strcmp(mp->subtype, "digest") == 0;
			mp->flags |= MIME_PART_MULTIPART;
			if (mp->cte == CODEC_CTE_QP || mp->cte == CODEC_CTE_BASE64)
				defect(p, MIME_DEFECT_ENCODED_COMPOSITE);
		}
	} else if (strcmp(mp->type, "message") == 0 &&
	    (strcmp(mp->subtype, "rfc822") == 0 ||
	    strcmp(mp->subtype, "global") == 0)) {
		if (mp->cte == CODEC_CTE_QP || mp->cte == CODEC_CTE_BASE64)
			defect(p, MIME_DEFECT_ENCODED_COMPOSITE);
		else if (mp->depth >= MIME_MAX_DEPTH) {
			defect(p, MIME_DEFECT_TOO_DEEP);
			mp->flags |= MIME_PART_OPAQUE;
		} else {
			e->kind = ENT_MESSAGE;
			mp->flags |= MIME_PART_MESSAGE;
		}
	}
	buf_fini(&e->ct);
	buf_fini(&e->cte);
	buf_fini(&e->cd);
	p->in_headers = 0;
	p->neol = 0;
	memset(&ev, 0, sizeof(ev));
	ev.type = MIME_EV_HEADERS_END;
	if (emit(p, &ev) == -1)
		return -1;
	if (e->kind == ENT_MESSAGE)
		push_entity(p);
	return 0;
}

/* pop_entity - close the top part */
static int
pop_entity(struct mime_parser *p)
{
	struct entity *e;
	struct mime_event ev;

	if (p->in_headers) {
		/* Headers cut short by a boundary or the end of input. */
		if (end_headers(p) == -1)
			return -1;
		if (p->in_headers)
			return 0;	/* a message/rfc822 child; pop it next */
	}
	e = top(p);
	if (e->kind == ENT_MULTI && e->mp_state != MP_EPILOGUE) {
		defect(p, MIME_DEFECT_NO_CLOSE);
		if (e->nparts == 0)
			defect(p, MIME_DEFECT_NO_PARTS);
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = MIME_EV_PART_END;
	if (emit(p, &ev) == -1)
		return -1;
	entity_fini(e);
	p->nstack--;
	p->in_headers = 0;
	p->neol = 0;
	return 0;
}

/* emit_field - the folded field is complete: report and remember it */
static int
emit_field(struct mime_parser *p)
{
	struct mime_event ev;
	struct entity *e = top(p);
	const char *s = p->field.data, *colon;
	size_t n = p->field.len, nl;
	struct buf *keep = NULL;
	int *have = NULL;

	if (n == 0)
		return 0;
	if (s[n - 1] == '\n')
		n--;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	colon = memchr(s, ':', n);	/* present: checked by is_field */
	nl = (size_t)(colon - s);
	while (nl > 0 && (s[nl - 1] == ' ' || s[nl - 1] == '\t'))
		nl--;
	if (has_8bit(s, n))
		defect(p, MIME_DEFECT_8BIT_HEADER);
	memset(&ev, 0, sizeof(ev));
	ev.type = MIME_EV_HEADER;
	ev.name = s;
	ev.name_len = nl;
	ev.value = colon + 1;
	ev.value_len = n - (size_t)(colon + 1 - s);
	ev.data = s;
	ev.len = n;
	if (nl == 12 && strncasecmp(s, "content-type", 12) == 0) {
		keep = &e->ct;
		have = &e->have_ct;
	} else if (nl == 25 &&
	    strncasecmp(s, "content-transfer-encoding", 25) == 0) {
		keep = &e->cte;
		have = &e->have_cte;
	} else if (nl == 19 && strncasecmp(s, "content-disposition", 19) == 0) {
		keep = &e->cd;
		have = &e->have_cd;
	}
	if (keep != NULL) {
		if (*have)
			defect(p, MIME_DEFECT_DUP_FIELD);	/* first wins */
		else {
			*have = 1;
			if (buf_append(keep, ev.value, ev.value_len) == -1)
				return -1;
		}
	}
	p->nfields++;
	if (emit(p, &ev) == -1)
		return -1;
	buf_reset(&p->field);
	return 0;
}

/* is_field - "name:" with a printable ASCII name */
static int
is_field(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 0x7f &&
	    s[i] != ':')
		i++;
	if (i == 0)
		return 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < n && s[i] == ':';
}

/* match_one - compare a line (start) with one boundary */
static enum bnd
match_one(const char *s, size_t n, const char *b, size_t bl, int complete)
{
	size_t i;

	if (n < 2 + bl) {
		if (complete || (n >= 1 && s[0] != '-') || (n >= 2 &&
		    s[1] != '-') || (n > 2 && memcmp(s + 2, b, n - 2) != 0))
			return BND_NO;
		return BND_MAYBE;
	}
	if (s[0] != '-' || s[1] != '-' || memcmp(s + 2, b, bl) != 0)
		return BND_NO;
	s += 2 + bl;
	n -= 2 + bl;
	if (n >= 2 && s[0] == '-' && s[1] == '-')
		return BND_CLOSE;
	if (n == 1 && s[0] == '-')
		return complete ? BND_NO : BND_MAYBE;
	/* The same answer whether or not the CR of a CRLF is there yet. */
	if (complete ? n > MIME_MAX_PADDING : (n > MIME_MAX_PADDING + 1 ||
	    (n == MIME_MAX_PADDING + 1 && s[n - 1] != '\r')))
		return BND_NO;
	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' &&
		    !(s[i] == '\r' && !complete && i == n - 1))
			return BND_NO;
	return complete ? BND_DELIM : BND_MAYBE;
}

/* match_boundary - is this line a boundary? innermost multipart first */
static enum bnd
match_boundary(struct mime_parser *p, const char *s, size_t n, int complete,
    size_t *level)
{
	size_t k;
	enum bnd r;

	if (n > 0 && s[0] != '-')
		return BND_NO;
	for (k = p->nstack; k-- > 0;) {
		struct entity *e = &p->stack[k];

		if (e->kind != ENT_MULTI || e->mp_state == MP_EPILOGUE)
			continue;
		r = match_one(s, n, e->part.boundary, e->blen, complete);
		if (r == BND_NO)
			continue;
		*level = k;
		return r;
	}
	return BND_NO;
}

/* on_boundary - a delimiter of the multipart at level: close, open */
static int
on_boundary(struct mime_parser *p, size_t level, int close)
{
	struct entity *e;

	p->neol = 0;	/* the line break before belongs to the delimiter */
	while (p->nstack > level + 1)
		if (pop_entity(p) == -1)
			return -1;
	e = top(p);
	if (close) {
		e->mp_state = MP_EPILOGUE;
		return 0;
	}
	e->mp_state = MP_CHILD;
	e->nparts++;
	push_entity(p);
	return 0;
}

/* line_eol - length of the content and whether the break was CRLF */
static size_t
line_eol(const char *s, size_t n, int *crlf, int *has_eol)
{
	*crlf = 0;
	*has_eol = 0;
	if (n > 0 && s[n - 1] == '\n') {
		*has_eol = 1;
		n--;
		if (n > 0 && s[n - 1] == '\r') {
			*crlf = 1;
			n--;
		}
	}
	return n;
}

/* body_line - a complete body line (or the last one, without a break) */
static int
body_line(struct mime_parser *p, const char *s, size_t n)
{
	size_t level, cn;
	int crlf, has_eol;
	enum bnd r;

	cn = line_eol(s, n, &crlf, &has_eol);
	r = match_boundary(p, s, cn, 1, &level);
	if (r == BND_DELIM || r == BND_CLOSE)
		return on_boundary(p, level, r == BND_CLOSE);
	if (flush_eol(p) == -1 || emit_data(p, s, cn) == -1)
		return -1;
	if (has_eol)
		set_eol(p, crlf);
	return 0;
}

/* header_line - a complete line of a header block */
static int
header_line(struct mime_parser *p, const char *s, size_t n)
{
	size_t level, cn;
	int crlf, has_eol;
	enum bnd r;

	cn = line_eol(s, n, &crlf, &has_eol);
	r = match_boundary(p, s, cn, 1, &level);
	if (r == BND_DELIM || r == BND_CLOSE) {
		if (emit_field(p) == -1)
			return -1;
		if (p->nfields > 0)
			defect(p, MIME_DEFECT_NO_SEPARATOR);
		return on_boundary(p, level, r == BND_CLOSE);
	}
	if (cn == 0 && has_eol) {
		/* The blank line: the body follows. */
		if (emit_field(p) == -1)
			return -1;
		return end_headers(p);
	}
	if (cn > 0 && (s[0] == ' ' || s[0] == '\t') && p->field.len > 0)
		return buf_append(&p->field, s, n);
	if (cn > 0 && is_field(s, cn)) {
		if (emit_field(p) == -1)
			return -1;
		return buf_append(&p->field, s, n);
	}
	if (cn == 0)
		return emit_field(p);	/* the last line, empty, no break */
	/* Not a header: the body starts here without a blank line. */
	if (emit_field(p) == -1)
		return -1;
	defect(p, MIME_DEFECT_NO_SEPARATOR);
	if (s[0] != ' ' && s[0] != '\t')
		defect(p, MIME_DEFECT_BAD_HEADER);
	if (end_headers(p) == -1)
		return -1;
	if (p->in_headers)		/* message/rfc822: it is its header */
		return header_line(p, s, n);
	return body_line(p, s, n);
}

/* header_overflow - the block is too big: what is held becomes body */
static int
header_overflow(struct mime_parser *p)
{
	struct buf held;
	int rc;

	defect(p, MIME_DEFECT_HEADER_TOO_BIG);
	held = p->field;
	buf_init(&p->field);
	if (buf_append(&held, p->line.data, p->line.len) == -1) {
		buf_fini(&held);
		return -1;
	}
	buf_reset(&p->line);
	/* The held bytes are not fields: forget them before the headers end. */
	if (end_headers(p) == -1) {
		buf_fini(&held);
		return -1;
	}
	if (p->in_headers) {
		/* A message/rfc822 child would read them as its header; make
		 * them its body instead, the child's header is empty. */
		if (end_headers(p) == -1) {
			buf_fini(&held);
			return -1;
		}
	}
	rc = feed_bytes(p, held.data, held.len);
	buf_fini(&held);
	return rc;
}

/* bounds_active - can a line be a boundary here (a multipart open and
 * not past its close delimiter, at any level) */
static int
bounds_active(const struct mime_parser *p)
{
	size_t k;

	for (k = 0; k < p->nstack; k++)
		if (p->stack[k].kind == ENT_MULTI &&
		    p->stack[k].mp_state != MP_EPILOGUE)
			return 1;
	return 0;
}

/*
 * data_lines - data lines where no line can be a boundary, handed on as
 * one event: what body_line does a line at a time (the break of the last
 * line held back, the one held before handed on first), for the whole
 * lines at the start of s up to 998 octets each, which are no defect.
 * Returns how much of s it took (0: none; a longer line goes the slow
 * way). Two events and two copies a line were most of a body's cost.
 */
static size_t
data_lines(struct mime_parser *p, const char *s, size_t n, int *err)
{
	const char *q = s, *end = s + n, *lf;
	size_t w;
	int crlf;

	*err = 0;
	/* the last LF within a line's longest reach from q: every line up
	 * to it is short enough, and many lines are passed per call */
	while (q < end) {
		w = (size_t)(end - q);
		if (w > LINE_MAX_OCTETS + 2)
			w = LINE_MAX_OCTETS + 2;
		if ((lf = memrchr(q, '\n', w)) == NULL)
			break;
		q = lf + 1;
	}
	if (q == s)
		return 0;
	/* the last line's break, as line_eol reads it (a CR before its LF
	 * is in the same line: a line is never cut before its LF here) */
	crlf = q - s >= 2 && q[-2] == '\r';
	if (flush_eol(p) == -1 ||
	    emit_data(p, s, (size_t)(q - s) - (crlf ? 2 : 1)) == -1) {
		*err = 1;
		return 0;
	}
	set_eol(p, crlf);
	p->linelen = 0;
	return (size_t)(q - s);
}

/* pass_data - stream the rest of a line that is known to be data */
static size_t
pass_data(struct mime_parser *p, const char *s, size_t n, int *err)
{
	const char *lf = memchr(s, '\n', n);
	size_t k, cn;

	*err = 0;
	if (lf == NULL) {
		if (p->held_cr) {
			p->held_cr = 0;
			if (emit_data(p, "\r", 1) == -1)
				goto fail;
		}
		cn = n;
		if (s[n - 1] == '\r') {
			cn--;
			p->held_cr = 1;
		}
		p->linelen += n;
		if (emit_data(p, s, cn) == -1)
			goto fail;
		return n;
	}
	k = (size_t)(lf - s);
	p->linelen += k;
	if (k == 0 && p->held_cr) {
		p->held_cr = 0;
		set_eol(p, 1);
	} else {
		if (p->held_cr) {
			p->held_cr = 0;
			if (emit_data(p, "\r", 1) == -1)
				goto fail;
		}
		cn = k;
		if (k > 0 && s[k - 1] == '\r')
			cn--;
		if (emit_data(p, s, cn) == -1)
			goto fail;
		set_eol(p, cn < k);
	}
	p->passing = 0;
	return k + 1;
fail:
	*err = 1;
	return 0;
}

/* start_passing - a held line start cannot be a boundary: it is data */
static int
start_passing(struct mime_parser *p)
{
	size_t n = p->line.len;

	if (flush_eol(p) == -1)
		return -1;
	p->passing = 1;
	p->held_cr = 0;
	if (n > 0 && p->line.data[n - 1] == '\r') {
		n--;
		p->held_cr = 1;
	}
	if (emit_data(p, p->line.data, n) == -1)
		return -1;
	buf_reset(&p->line);
	return 0;
}

/* feed_bytes - the parser loop: one line (piece) at a time */
static int
feed_bytes(struct mime_parser *p, const char *s, size_t n)
{
	const char *lf;
	size_t take, room, level;
	enum bnd r;
	int err;

	while (n > 0 && p->nstack > 0) {
		if (p->skipping) {
			lf = memchr(s, '\n', n);
			take = lf ? (size_t)(lf - s) + 1 : n;
			if (lf) {
				p->skipping = 0;
				p->linelen = 0;
			}
			s += take;
			n -= take;
			continue;
		}
		if (p->passing) {
			take = pass_data(p, s, n, &err);
			if (err)
				return -1;
			if (!p->passing) {
				if (p->linelen > LINE_MAX_OCTETS + 1)
					defect(p, MIME_DEFECT_LONG_LINE);
				p->linelen = 0;
			}
			s += take;
			n -= take;
			continue;
		}
		if (!p->in_headers && p->line.len == 0 && !bounds_active(p)) {
			take = data_lines(p, s, n, &err);
			if (err)
				return -1;
			if (take > 0) {
				s += take;
				n -= take;
				continue;
			}
		}
		lf = memchr(s, '\n', n);
		take = lf ? (size_t)(lf - s) + 1 : n;
		if (p->in_headers) {
			room = MIME_MAX_HEADER_BLOCK - p->hdr_bytes - p->line.len;
			if (take > room) {
				if (buf_append(&p->line, s, room) == -1)
					return -1;
				s += room;
				n -= room;
				if (header_overflow(p) == -1)
					return -1;
				continue;
			}
		} else if (p->line.len + take > HOLD_MAX) {
			/* Cannot be a boundary any more. */
			take = HOLD_MAX - p->line.len;
			lf = NULL;
		}
		if (buf_append(&p->line, s, take) == -1)
			return -1;
		s += take;
		n -= take;
		if (lf != NULL) {
			/* 998 octets, a CR, the LF */
			if (p->line.len > LINE_MAX_OCTETS + 2)
				defect(p, MIME_DEFECT_LONG_LINE);
			p->linelen = 0;
			if (p->in_headers) {
				p->hdr_bytes += p->line.len;
				if (header_line(p, p->line.data,
				    p->line.len) == -1)
					return -1;
			} else if (body_line(p, p->line.data,
			    p->line.len) == -1)
				return -1;
			buf_reset(&p->line);
			continue;
		}
		if (p->in_headers)
			continue;
		/* A partial body line: decide as early as we can. */
		r = match_boundary(p, p->line.data, p->line.len, 0, &level);
		if (r == BND_MAYBE && p->line.len < HOLD_MAX)
			continue;
		p->linelen = p->line.len;
		if (r == BND_CLOSE) {
			buf_reset(&p->line);
			p->skipping = 1;
			if (on_boundary(p, level, 1) == -1)
				return -1;
			continue;
		}
		if (start_passing(p) == -1)
			return -1;
	}
	return 0;
}

/* mime_parser_new - a parser calling cb for each event */
struct mime_parser *
mime_parser_new(mime_event_fn *cb, void *arg, rfc2047_to_utf8_fn *to_utf8)
{
	struct mime_parser *p;

	p = xcalloc(1, sizeof(*p));
	p->cb = cb;
	p->arg = arg;
	p->to_utf8 = to_utf8;
	buf_init(&p->line);
	buf_init(&p->field);
	push_entity(p);
	return p;
}

/* mime_parser_feed - parse the next chunk of the message */
int
mime_parser_feed(struct mime_parser *p, const void *data, size_t len)
{
	if (p->dead) {
		errno = ECANCELED;
		return -1;
	}
	if (feed_bytes(p, data, len) == -1) {
		p->dead = 1;
		return -1;
	}
	return 0;
}

/* mime_parser_finish - end of input: flush and close every open part */
int
mime_parser_finish(struct mime_parser *p)
{
	if (p->dead) {
		errno = ECANCELED;
		return -1;
	}
	p->dead = 1;	/* whatever happens, no more input */
	if (p->nstack == 0)
		return 0;
	if (p->passing) {
		if (p->held_cr && emit_data(p, "\r", 1) == -1)
			return -1;
		if (p->linelen > LINE_MAX_OCTETS + 1)
			defect(p, MIME_DEFECT_LONG_LINE);
		p->passing = 0;
	} else if (p->line.len > 0) {
		if (p->line.len > LINE_MAX_OCTETS + 1)
			defect(p, MIME_DEFECT_LONG_LINE);
		if (p->in_headers) {
			if (header_line(p, p->line.data, p->line.len) == -1)
				return -1;
		} else if (body_line(p, p->line.data, p->line.len) == -1)
			return -1;
		buf_reset(&p->line);
	}
	if (p->in_headers && emit_field(p) == -1)
		return -1;
	if (!p->in_headers && flush_eol(p) == -1)
		return -1;
	while (p->nstack > 0)
		if (pop_entity(p) == -1)
			return -1;
	return 0;
}

/* mime_parser_defects - every defect seen so far */
unsigned
mime_parser_defects(const struct mime_parser *p)
{
	return p->defects;
}

/* mime_parser_free - release the parser (NULL is fine) */
void
mime_parser_free(struct mime_parser *p)
{
	if (p == NULL)
		return;
	while (p->nstack > 0)
		entity_fini(&p->stack[--p->nstack]);
	free(p->stack);
	buf_fini(&p->line);
	buf_fini(&p->field);
	free(p);
}

/* mime_param_get - a parameter value by (lowercase) name, or NULL */
const char *
mime_param_get(const struct mime_param *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v[i].name, name) == 0)
			return v[i].value;
	return NULL;
}

/* mime_part_decoder_init - a codec decoder for the part's body */
void
mime_part_decoder_init(struct codec_dec *d, const struct mime_part *mp)
{
	codec_dec_init(d, mp->cte);
}

/* mime_defect_name - a short name of one defect bit, for logs */
const char *
mime_defect_name(unsigned bit)
{
	switch (bit) {
	case MIME_DEFECT_NO_SEPARATOR:		return "no-separator";
	case MIME_DEFECT_HEADER_TOO_BIG:	return "header-too-big";
	case MIME_DEFECT_TOO_DEEP:		return "too-deep";
	case MIME_DEFECT_NO_CLOSE:		return "no-close-boundary";
	case MIME_DEFECT_NO_BOUNDARY:		return "no-boundary";
	case MIME_DEFECT_NO_PARTS:		return "no-parts";
	case MIME_DEFECT_BAD_CONTENT_TYPE:	return "bad-content-type";
	case MIME_DEFECT_BAD_PARAM:		return "bad-parameter";
	case MIME_DEFECT_BAD_CTE:		return "bad-transfer-encoding";
	case MIME_DEFECT_ENCODED_COMPOSITE:	return "encoded-composite";
	case MIME_DEFECT_DUP_FIELD:		return "duplicate-field";
	case MIME_DEFECT_8BIT_HEADER:		return "8bit-header";
	case MIME_DEFECT_BAD_HEADER:		return "bad-header";
	case MIME_DEFECT_LONG_LINE:		return "long-line";
	case MIME_DEFECT_CHARSET:		return "charset";
	default:				return "unknown";
	}
}
