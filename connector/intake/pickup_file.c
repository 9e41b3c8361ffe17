/*
 * pickup_file - read a Pickup file (see pickup_file.h).
 */
#include "pickup_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "charset.h"
#include "dsn.h"
#include "hex.h"
#include "imc_limits.h"
#include "qfile.h"
#include "safeio.h"
#include "strset.h"
#include "xalloc.h"

/* A segment reader: hands out lines, or pieces of lines too long for the
 * buffer, with CR LF and bare LF both taken as line ends. */
struct line_reader {
	int	 fd;
	char	*buf;
	size_t	 cap;
	size_t	 start;
	size_t	 end;
	bool	 eof;
	bool	 mid_line;	/* a piece of a line was handed out */
	bool	 bounded;
	uint64_t left;		/* bounded: bytes still to read */
};

struct header_field {
	size_t	 off;		/* into hdr: the whole field, folding kept */
	size_t	 len;		/* without the final line end */
	size_t	 name_len;
	bool	 drop;
};

struct pickup_file {
	struct pickup_opts opts;
	struct line_reader lr;
	struct buf	 hdr;		/* header fields, each line LF-ended */
	struct header_field *fields;
	size_t		 n_fields;
	size_t		 cap_fields;
	struct buf	 first_body;	/* a body line met before a blank line */
	bool		 have_first_body;
	bool		 header_only;	/* the file ended inside the header */
	char		*sender;
	struct addr_list rcpts;
	/* DSN parameters from the X- lines (RFC 3461), as given: rcpt_notify
	 * and rcpt_orcpt run parallel to rcpts (NULL: none) */
	char		**rcpt_notify;
	char		**rcpt_orcpt;
	size_t		 n_rcpt_dsn;	/* entries in the two arrays */
	char		*ret;
	char		*envid;
	struct strset	 rcpt_keys;	/* for de-duplication */
	char		*mbox_from;	/* the address of a leading mbox
					   "From " line, which is dropped */
	bool		 mbox_line;	/* such a line was dropped */
	bool		 sender_from_mbox;
	bool		 written_8bit;	/* after pickup_write */
	unsigned	 received;	/* after pickup_write */
	/* a listener's Work file (pickup_file.h): its session, and the
	 * Received: field it wrote */
	bool		 smtp;
	struct pickup_smtp smtp_info;
	char		*smtp_received;
	/* body transform state */
	bool		 at_line_start;
	bool		 held_dot;	/* a line holding only "." waits */
	enum pickup_dots dots;		/* the reading; AUTO: not known yet */
	uint64_t	 body_line;	/* 1-based, the line being written */
	uint64_t	 evidence_line;	/* auto: the single-dot line seen */
	uint64_t	 dots_removed;	/* lines that lost a leading dot */
	bool		 final_dot_dropped;
};

enum { LR_ERROR = -1, LR_EOF = 0, LR_SEGMENT = 1 };

static int
lr_fill(struct line_reader *lr)
{
	size_t want;
	ssize_t n;

	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
		lr->end -= lr->start;
		lr->start = 0;
	}
	want = lr->cap - lr->end;
	if (lr->bounded && want > lr->left)
		want = (size_t)lr->left;
	if (want == 0)
		n = 0;
	else
		do
			n = read(lr->fd, lr->buf + lr->end, want);
		while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (n == 0)
		lr->eof = true;
	if (lr->bounded)
		lr->left -= (uint64_t)n;
	lr->end += (size_t)n;
	return 0;
}

/* Next segment: *eol says it ends a line (the line end is not included). */
static int
lr_next(struct line_reader *lr, const char **seg, size_t *len, bool *eol)
{
	char *lf;
	size_t n;

	for (;;) {
		n = lr->end - lr->start;
		lf = n ? memchr(lr->buf + lr->start, '\n', n) : NULL;
		if (lf != NULL) {
			*seg = lr->buf + lr->start;
			*len = (size_t)(lf - *seg);
			if (*len > 0 && (*seg)[*len - 1] == '\r')
				(*len)--;
			lr->start = (size_t)(lf - lr->buf) + 1;
			*eol = true;
			lr->mid_line = false;
			return LR_SEGMENT;
		}
		if (lr->eof) {
			if (n == 0 && lr->mid_line) {
				/* The file ended right after a piece of a
				 * line: that line still ends here. */
				*seg = lr->buf + lr->start;
				*len = 0;
				*eol = true;
				lr->mid_line = false;
				return LR_SEGMENT;
			}
			if (n == 0)
				return LR_EOF;
			*seg = lr->buf + lr->start;
			*len = n;
			if ((*seg)[*len - 1] == '\r')
				(*len)--;
			lr->start = lr->end;
			*eol = true;
			lr->mid_line = false;
			return LR_SEGMENT;
		}
		if (lr->start == 0 && lr->end == lr->cap) {
			/* A line longer than the buffer: hand out a piece, but
			 * keep a final CR, which may start a CR LF. */
			*seg = lr->buf;
			*len = n;
			if ((*seg)[*len - 1] == '\r')
				(*len)--;
			lr->start = *len;
			*eol = false;
			lr->mid_line = true;
			return LR_SEGMENT;
		}
		if (lr_fill(lr) == -1)
			return LR_ERROR;
	}
}

/* A whole line into out (bounded); 1 line, 0 end of file, -1 error/too long */
static int
lr_line(struct line_reader *lr, struct buf *out, size_t limit, bool *too_long)
{
	const char *seg;
	size_t len;
	bool eol = false;
	int r;

	buf_reset(out);
	*too_long = false;
	while (!eol) {
		r = lr_next(lr, &seg, &len, &eol);
		if (r == LR_ERROR)
			return -1;
		if (r == LR_EOF)
			return out->len > 0 ? 1 : 0;
		if (out->len + len > limit) {
			*too_long = true;
			return -1;
		}
		if (buf_append(out, seg, len) == -1)
			return -1;
	}
	return 1;
}

static bool
is_field_name_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Length of the field name if the line starts a header field, else 0. */
static size_t
field_name_len(const char *s, size_t len)
{
	size_t i = 0, name_end;

	while (i < len && is_field_name_char((unsigned char)s[i]))
		i++;
	name_end = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))	/* obs-optional */
		i++;
	if (name_end == 0 || i >= len || s[i] != ':')
		return 0;
	return name_end;
}

static bool
name_is(const char *s, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(s, want, len) == 0;
}

static void
add_field(struct pickup_file *pf, size_t off, size_t name_len)
{
	size_t ncap;

	if (pf->n_fields == pf->cap_fields) {
		ncap = pf->cap_fields ? pf->cap_fields * 2 : 32;
		pf->fields = xreallocarray(pf->fields, ncap,
		    sizeof(*pf->fields));
		pf->cap_fields = ncap;
	}
	pf->fields[pf->n_fields].off = off;
	pf->fields[pf->n_fields].len = 0;
	pf->fields[pf->n_fields].name_len = name_len;
	pf->fields[pf->n_fields].drop = false;
	pf->n_fields++;
}

static const char *
field_value(const struct pickup_file *pf, const struct header_field *f,
    size_t *len)
{
	const char *p = pf->hdr.data + f->off;
	const char *colon = memchr(p, ':', f->len);

	*len = f->len - (size_t)(colon + 1 - p);
	return colon + 1;
}

/* The address with the local host's name when it has no domain. */
static char *
qualify(const struct pickup_file *pf, const char *addr)
{
	struct buf b;

	buf_init(&b);
	if (addr_domain(addr) != NULL || addr[0] == '\0')
		buf_puts(&b, addr);
	else
		buf_printf(&b, "%s@%s", addr, pf->opts.hostname);
	return buf_steal(&b);
}

/* The key that makes two addresses the same recipient: the local part as
 * written, the domain in lower case. */
static char *
rcpt_key(const char *a)
{
	const char *d = addr_domain(a);
	char *k = xstrdup(a), *p;

	if (d != NULL)
		for (p = k + (d - a); *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	return k;
}

static int
add_rcpt(struct pickup_file *pf, const char *addr, struct mail_status *why)
{
	char *q;

	if (addr[0] == '\0') {
		mail_status_set(why, MAIL_PERM, "5.1.3",
		    "empty recipient address");
		return -1;
	}
	q = qualify(pf, addr);
	{
		char *key = rcpt_key(q);
		int added = strset_add(&pf->rcpt_keys, key);

		free(key);
		if (added == 0) {
			free(q);
			return 0;
		}
	}
	if (pf->rcpts.n >= IMC_MAX_RECIPIENTS) {
		free(q);
		mail_status_set(why, MAIL_PERM, "5.5.3",
		    "more than %d recipients", IMC_MAX_RECIPIENTS);
		return -1;
	}
	addr_list_add(&pf->rcpts, q);
	free(q);
	return 0;
}

/* The ESMTP parameters after the "<addr>" of an X- line: NOTIFY and ORCPT
 * of a recipient, RET and ENVID of the sender, kept as given when valid
 * (passed on to SMTP peers that offer DSN); others are ignored. */
static void
dsn_params(const char *v, size_t vlen, bool sender, char **notify,
    char **orcpt, char **ret, char **envid)
{
	const char *gt = NULL, *p, *end = v + vlen, *eq, *we;
	char **dst;
	size_t i;

	for (i = 0; i < vlen; i++)
		if (v[i] == '>')
			gt = v + i;
	if (gt == NULL)
		return;
	for (p = gt + 1; p < end; p = we) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		for (we = p; we < end && *we != ' ' && *we != '\t' &&
		    *we != '\r'; we++)
			;
		if (we == p || (eq = memchr(p, '=', (size_t)(we - p))) == NULL)
			continue;
		dst = NULL;
		if (!sender && eq - p == 6 && strncasecmp(p, "NOTIFY", 6) == 0 &&
		    dsn_notify_ok(eq + 1, (size_t)(we - eq - 1)))
			dst = notify;
		else if (!sender && eq - p == 5 && strncasecmp(p, "ORCPT", 5) ==
		    0 && we - eq - 1 <= IMC_MAX_ADDRESS &&
		    dsn_xtext_ok(eq + 1, (size_t)(we - eq - 1)) &&
		    memchr(eq + 1, ';', (size_t)(we - eq - 1)) != NULL)
			dst = orcpt;
		else if (sender && eq - p == 3 && strncasecmp(p, "RET", 3) == 0 &&
		    ((we - eq - 1 == 4 && (strncasecmp(eq + 1, "FULL", 4) == 0 ||
		    strncasecmp(eq + 1, "HDRS", 4) == 0))))
			dst = ret;
		else if (sender && eq - p == 5 && strncasecmp(p, "ENVID", 5) ==
		    0 && we - eq - 1 <= 100 &&
		    dsn_xtext_ok(eq + 1, (size_t)(we - eq - 1)))
			dst = envid;
		if (dst == NULL)
			continue;
		free(*dst);
		*dst = xstrndup(eq + 1, (size_t)(we - eq - 1));
		if (dst == notify || dst == ret)
			for (char *c = *dst; *c; c++)
				*c = (char)toupper((unsigned char)*c);
	}
}

/* Keep the DSN parameters of the recipient just added (the last one). */
static void
dsn_keep_rcpt(struct pickup_file *pf, size_t before, char **notify,
    char **orcpt)
{
	size_t n = pf->rcpts.n;

	if (n == before)
		return;		/* a duplicate: the first one's parameters */
	pf->rcpt_notify = xreallocarray(pf->rcpt_notify, n,
	    sizeof(*pf->rcpt_notify));
	pf->rcpt_orcpt = xreallocarray(pf->rcpt_orcpt, n,
	    sizeof(*pf->rcpt_orcpt));
	for (before = pf->n_rcpt_dsn; before < n - 1; before++) {
		pf->rcpt_notify[before] = NULL;
		pf->rcpt_orcpt[before] = NULL;
	}
	pf->rcpt_notify[n - 1] = *notify;
	pf->rcpt_orcpt[n - 1] = *orcpt;
	pf->n_rcpt_dsn = n;
	*notify = *orcpt = NULL;
}

static int
envelope_from_xlines(struct pickup_file *pf, struct buf *xlines,
    struct mail_status *why)
{
	const char *p = xlines->data, *end = xlines->data + xlines->len, *nl;
	const char *v;
	size_t len, vlen;
	struct buf err;
	char *addr;
	int r = 0;

	buf_init(&err);
	for (; p != NULL && p < end && r == 0; p = nl ? nl + 1 : NULL) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		v = memchr(p, ':', len);
		vlen = len - (size_t)(v + 1 - p);
		buf_reset(&err);
		if (addr_parse_path(v + 1, vlen, &addr, &err) == -1) {
			mail_status_set(why, MAIL_PERM, "5.1.3",
			    "unparsable address in %.*s line: %s",
			    (int)(v - p), p, buf_cstr(&err));
			r = -1;
			break;
		}
		if (name_is(p, (size_t)(v - p), "x-sender")) {
			free(pf->sender);
			pf->sender = NULL;
			pf->sender = qualify(pf, addr);
			dsn_params(v + 1, vlen, true, NULL, NULL, &pf->ret,
			    &pf->envid);
		} else {
			char *notify = NULL, *orcpt = NULL;
			size_t before = pf->rcpts.n;

			r = add_rcpt(pf, addr, why);
			if (r == 0) {
				dsn_params(v + 1, vlen, false, &notify, &orcpt,
				    NULL, NULL);
				dsn_keep_rcpt(pf, before, &notify, &orcpt);
			}
			free(notify);
			free(orcpt);
		}
		free(addr);
	}
	buf_fini(&err);
	return r;
}

static int
envelope_from_header(struct pickup_file *pf, bool want_rcpts,
    struct mail_status *why)
{
	static const char *const rcpt_fields[] = { "to", "cc", "bcc" };
	struct addr_list list;
	struct buf err;
	const char *name, *v;
	size_t i, j, k, vlen;
	int r = 0;

	buf_init(&err);
	for (i = 0; i < pf->n_fields && r == 0; i++) {
		struct header_field *f = &pf->fields[i];
		bool is_rcpt = false;

		name = pf->hdr.data + f->off;
		for (k = 0; k < 3; k++)
			if (name_is(name, f->name_len, rcpt_fields[k]))
				is_rcpt = true;
		if (!is_rcpt || !want_rcpts)
			continue;
		v = field_value(pf, f, &vlen);
		addr_list_init(&list);
		buf_reset(&err);
		if (addr_parse_list(v, vlen, &list, &err) == -1) {
			mail_status_set(why, MAIL_PERM, "5.1.3",
			    "unparsable address in %.*s: %s", (int)f->name_len,
			    name, buf_cstr(&err));
			r = -1;
		} else {
			for (j = 0; j < list.n && r == 0; j++)
				r = add_rcpt(pf, list.items[j], why);
		}
		addr_list_free(&list);
	}
	/* Sender wins over From, whatever their order. */
	for (k = 0; k < 2 && r == 0 && pf->sender == NULL; k++) {
		for (i = 0; i < pf->n_fields && pf->sender == NULL; i++) {
			struct header_field *f = &pf->fields[i];

			name = pf->hdr.data + f->off;
			if (!name_is(name, f->name_len, k == 0 ? "sender" : "from"))
				continue;
			v = field_value(pf, f, &vlen);
			addr_list_init(&list);
			buf_reset(&err);
			if (addr_parse_list(v, vlen, &list, &err) == 0 &&
			    list.n > 0)
				pf->sender = qualify(pf, list.items[0]);
			addr_list_free(&list);
		}
	}
	buf_fini(&err);
	return r;
}

static bool
is_xline(const char *s, size_t len)
{
	size_t n = field_name_len(s, len);

	return n > 0 && (name_is(s, n, "x-sender") || name_is(s, n, "x-receiver"));
}

/*
 * A first line "From sender@host  Fri Apr  6 22:43:55 2007" (after any
 * X- lines), as mbox
 * exports, list archives and Unix tools write it, is not part of the
 * message: it is dropped, as Postfix's sendmail does, and its address kept
 * in case nothing else names the sender. "From:" is a header field, and
 * ">From " or a later "From " line is the writer's text.
 */
static bool
mbox_from_line(struct pickup_file *pf, const char *s, size_t len)
{
	size_t i = 5, e;

	if (len < 5 || memcmp(s, "From ", 5) != 0 || field_name_len(s, len) != 0)
		return false;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (e = i; e < len && s[e] != ' ' && s[e] != '\t'; e++)
		;
	pf->mbox_line = true;
	if (e > i && e - i <= IMC_MAX_ADDRESS && memchr(s + i, '\0', e - i) ==
	    NULL)
		pf->mbox_from = xstrndup(s + i, e - i);
	return true;
}

/* One "key value" line of a listener's envelope block into *dst. */
static int
smtp_value(const char *v, size_t len, char **dst)
{
	char *x = qfile_unescape(v, len);

	if (x == NULL)
		return -1;
	free(*dst);
	*dst = x;
	return 0;
}

/* The envelope block of a listener's Work file, after its first line,
 * through "end". Only the connector writes it: anything malformed is a
 * damaged file (MAIL_PERM). */
static int
smtp_envelope(struct pickup_file *pf, struct buf *line, struct mail_status *why)
{
	struct pickup_smtp *si = &pf->smtp_info;
	const char *sp, *v, *end;
	char *tok[3];
	size_t klen, n, before;
	bool too_long, have_sender = false;
	int r;

	si->envelope_bytes = strlen(PICKUP_SMTP_MAGIC) + 1;
	for (;;) {
		r = lr_line(&pf->lr, line, IMC_MAX_HEADER_BLOCK, &too_long);
		if (r != 1)
			goto bad;
		si->envelope_bytes += line->len + 1;	/* the writer's LF */
		if (line->len == 3 && memcmp(line->data, "end", 3) == 0)
			break;
		sp = memchr(line->data, ' ', line->len);
		if (sp == NULL)
			goto bad;
		klen = (size_t)(sp - line->data);
		v = sp + 1;
		end = line->data + line->len;
#define KEY(k)	(klen == strlen(k) && memcmp(line->data, k, klen) == 0)
		if (KEY("sender")) {
			char *a = NULL;

			if (smtp_value(v, (size_t)(end - v), &a) == -1)
				goto bad;
			free(pf->sender);
			pf->sender = qualify(pf, a);
			free(a);
			have_sender = true;
		} else if (KEY("rcpt")) {
			/* address, NOTIFY or "-", ORCPT or "-" */
			memset(tok, 0, sizeof(tok));
			for (n = 0; n < 3 && v <= end; n++) {
				const char *e = memchr(v, ' ', (size_t)(end - v));

				if (e == NULL)
					e = end;
				if (n > 0 && e - v == 1 && *v == '-')
					tok[n] = NULL;
				else if (smtp_value(v, (size_t)(e - v),
				    &tok[n]) == -1)
					break;
				v = e + 1;
			}
			before = pf->rcpts.n;
			if (n < 3 || tok[0] == NULL || add_rcpt(pf, tok[0],
			    why) == -1) {
				for (n = 0; n < 3; n++)
					free(tok[n]);
				if (why->kind == MAIL_PERM && why->text[0])
					return -1;
				goto bad;
			}
			dsn_keep_rcpt(pf, before, &tok[1], &tok[2]);
			for (n = 0; n < 3; n++)
				free(tok[n]);
		} else if (KEY("ret")) {
			if (smtp_value(v, (size_t)(end - v), &pf->ret) == -1)
				goto bad;
		} else if (KEY("envid")) {
			if (smtp_value(v, (size_t)(end - v), &pf->envid) == -1)
				goto bad;
		} else if (KEY("client")) {
			if (smtp_value(v, (size_t)(end - v), &si->client) == -1)
				goto bad;
		} else if (KEY("helo")) {
			if (smtp_value(v, (size_t)(end - v), &si->helo) == -1)
				goto bad;
		} else if (KEY("tls")) {
			if (smtp_value(v, (size_t)(end - v), &si->tls) == -1)
				goto bad;
		} else if (KEY("auth")) {
			if (smtp_value(v, (size_t)(end - v), &si->auth) == -1)
				goto bad;
		} else if (KEY("received")) {
			if (smtp_value(v, (size_t)(end - v),
			    &pf->smtp_received) == -1)
				goto bad;
		} else
			goto bad;
#undef KEY
	}
	if (!have_sender || pf->rcpts.n == 0 || pf->smtp_received == NULL)
		goto bad;
	/* "=" (empty): not given */
	{
		char **f[] = { &si->client, &si->helo, &si->tls, &si->auth };

		for (n = 0; n < 4; n++)
			if (*f[n] != NULL && **f[n] == '\0') {
				free(*f[n]);
				*f[n] = NULL;
			}
	}
	return 0;
bad:
	mail_status_set(why, MAIL_PERM, "5.3.0",
	    "damaged listener envelope in the Work file");
	return -1;
}

/* pickup_read - read the envelope lines and header; work out the envelope */
struct pickup_file *
pickup_read(int fd, const struct pickup_opts *opts, struct mail_status *why)
{
	struct pickup_file *pf;
	struct buf line, xlines;
	bool too_long, in_xlines = true, have_field = false, want_rcpts;
	bool have_line = false;
	size_t i, n;
	int r;

	pf = xcalloc(1, sizeof(*pf));
	pf->opts = *opts;
	pf->lr.cap = opts->read_chunk == 0 ? IMC_IO_CHUNK :
	    opts->read_chunk < 2 ? 2 : opts->read_chunk;
	pf->lr.buf = xmalloc(pf->lr.cap);
	pf->lr.fd = fd;
	pf->lr.bounded = opts->max_bytes > 0;
	pf->lr.left = opts->max_bytes;
	pf->at_line_start = true;
	pf->dots = opts->dots;
	buf_init(&pf->hdr);
	buf_init(&pf->first_body);
	addr_list_init(&pf->rcpts);
	strset_init(&pf->rcpt_keys);
	buf_init(&line);
	buf_init(&xlines);
	why->kind = MAIL_OK;
	why->text[0] = '\0';

	/* A listener's Work file starts with its envelope block; only files
	 * the connector's own user wrote may (batch.c decides). */
	r = lr_line(&pf->lr, &line, IMC_MAX_HEADER_BLOCK, &too_long);
	if (r == 1 && opts->allow_smtp && line.len == strlen(PICKUP_SMTP_MAGIC)
	    && memcmp(line.data, PICKUP_SMTP_MAGIC, line.len) == 0) {
		pf->smtp = true;
		in_xlines = false;
		if (smtp_envelope(pf, &line, why) == -1)
			goto fail;
	} else
		have_line = true;

	for (;;) {
		if (!have_line)
			r = lr_line(&pf->lr, &line, IMC_MAX_HEADER_BLOCK,
			    &too_long);
		have_line = false;
		if (r == -1) {
			if (too_long)
				mail_status_set(why, MAIL_PERM, "5.6.0",
				    "header line or block larger than %d bytes",
				    IMC_MAX_HEADER_BLOCK);
			else
				mail_status_set(why, MAIL_TEMP, "4.3.0",
				    "read error: %s", strerror(errno));
			goto fail;
		}
		if (r == 0) {
			pf->header_only = true;
			break;
		}
		if (pf->hdr.len + xlines.len + line.len > IMC_MAX_HEADER_BLOCK) {
			mail_status_set(why, MAIL_PERM, "5.6.0",
			    "header block larger than %d bytes",
			    IMC_MAX_HEADER_BLOCK);
			goto fail;
		}
		/* the first line of the message proper (after X- lines a
		 * wrapper may have put before it) */
		if (!have_field && !pf->mbox_line && !pf->have_first_body &&
		    mbox_from_line(pf, line.data, line.len))
			continue;
		if (in_xlines && is_xline(line.data, line.len)) {
			buf_append(&xlines, line.data, line.len);
			buf_putc(&xlines, '\n');
			continue;
		}
		in_xlines = false;
		if (line.len == 0)
			break;			/* the blank line */
		if ((line.data[0] == ' ' || line.data[0] == '\t') && have_field) {
			/* folded continuation of the previous field */
			buf_append(&pf->hdr, line.data, line.len);
			buf_putc(&pf->hdr, '\n');
			pf->fields[pf->n_fields - 1].len += line.len + 1;
			continue;
		}
		if ((n = field_name_len(line.data, line.len)) == 0) {
			/* No blank line before the body: keep this line. */
			buf_append(&pf->first_body, line.data, line.len);
			pf->have_first_body = true;
			break;
		}
		add_field(pf, pf->hdr.len, n);
		buf_append(&pf->hdr, line.data, line.len);
		buf_putc(&pf->hdr, '\n');
		pf->fields[pf->n_fields - 1].len = line.len;
		have_field = true;
	}
	/* Field lengths include the folded lines' LFs but not the last one. */
	for (i = 0; i < pf->n_fields; i++) {
		struct header_field *f = &pf->fields[i];
		const char *name = pf->hdr.data + f->off;

		if (name_is(name, f->name_len, "bcc") ||
		    name_is(name, f->name_len, "resent-bcc") ||
		    name_is(name, f->name_len, "return-path") ||
		    name_is(name, f->name_len, "content-length"))
			f->drop = true;
	}

	if (xlines.len > 0 && envelope_from_xlines(pf, &xlines, why) == -1)
		goto fail;
	want_rcpts = pf->rcpts.n == 0;
	/* the SMTP envelope is the whole truth, also an empty sender */
	if (!pf->smtp && envelope_from_header(pf, want_rcpts, why) == -1)
		goto fail;
	if (pf->rcpts.n == 0) {
		mail_status_set(why, MAIL_PERM, "5.1.3",
		    xlines.len > 0 || pf->n_fields > 0 ? "no recipients" :
		    pf->have_first_body ? "no header and no recipients" :
		    "empty file");
		goto fail;
	}
	if (pf->sender == NULL && pf->mbox_from != NULL) {
		/* the last resort: nothing else names an originator */
		char *addr = NULL;
		struct buf err;

		buf_init(&err);
		if (addr_parse_path(pf->mbox_from, strlen(pf->mbox_from), &addr,
		    &err) == 0 && addr[0] != '\0') {
			pf->sender = qualify(pf, addr);
			pf->sender_from_mbox = true;
		}
		free(addr);
		buf_fini(&err);
	}
	if (pf->sender == NULL) {
		mail_status_set(why, MAIL_PERM, "5.1.7",
		    "no originator (no X-Sender line, Sender or From)");
		goto fail;
	}
	buf_fini(&line);
	buf_fini(&xlines);
	return pf;
fail:
	buf_fini(&line);
	buf_fini(&xlines);
	pickup_free(pf);
	return NULL;
}

/* pickup_smtp - the session of a listener's Work file, or NULL */
const struct pickup_smtp *
pickup_smtp(const struct pickup_file *pf)
{
	return pf->smtp ? &pf->smtp_info : NULL;
}

/* pickup_sender - the envelope sender ("" is the null sender) */
const char *
pickup_sender(const struct pickup_file *pf)
{
	return pf->sender;
}

/* DSN parameters given on the X- lines, NULL when none */
const char *
pickup_rcpt_notify(const struct pickup_file *pf, size_t i)
{
	return i < pf->n_rcpt_dsn ? pf->rcpt_notify[i] : NULL;
}

const char *
pickup_rcpt_orcpt(const struct pickup_file *pf, size_t i)
{
	return i < pf->n_rcpt_dsn ? pf->rcpt_orcpt[i] : NULL;
}

const char *
pickup_ret(const struct pickup_file *pf)
{
	return pf->ret;
}

const char *
pickup_envid(const struct pickup_file *pf)
{
	return pf->envid;
}

/* pickup_recipients - the envelope recipients, canonical and unique */
const struct addr_list *
pickup_recipients(const struct pickup_file *pf)
{
	return &pf->rcpts;
}

/* Buffered writes to every output. */
struct out_set {
	struct pickup_out *outs;
	size_t		 n;
	struct buf	 pending;
	struct buf	 lf;		/* an LF output's bytes, made from pending */
	bool		 eightbit;	/* a byte above 127 went out */
};

/*
 * lf_append - bytes for an LF output into scratch, every CRLF as LF. A CR
 * at the end of the bytes is held until the next byte shows whether it
 * ends a line (pickup_write writes a held CR out at the end). The result
 * is never longer than the bytes and a held CR: room once, then plain
 * copies.
 */
static int
lf_append(struct pickup_out *po, struct buf *scratch, const char *p,
    size_t len)
{
	const char *end = p + len, *cr;
	char *q;
	size_t n;

	if (buf_reserve(scratch, len + 1) == -1)
		return -1;
	q = scratch->data + scratch->len;
	if (po->cr_held && len > 0) {
		po->cr_held = false;
		if (*p != '\n')
			*q++ = '\r';
	}
	while (p < end) {
		cr = memchr(p, '\r', (size_t)(end - p));
		n = cr != NULL ? (size_t)(cr - p) : (size_t)(end - p);
		memcpy(q, p, n);
		q += n;
		if (cr == NULL)
			break;
		if (cr + 1 == end) {
			po->cr_held = true;
			break;
		}
		if (cr[1] != '\n')
			*q++ = '\r';
		p = cr + 1;
	}
	scratch->len = (size_t)(q - scratch->data);
	scratch->data[scratch->len] = '\0';
	return 0;
}

/*
 * out_write - bytes to one output, after its prefix the first time; an LF
 * output's are gathered in scratch and written at once (one write(2) per
 * chunk, not one per line, and the prefix in the same).
 */
static int
out_write(struct pickup_out *po, struct buf *scratch, const char *p,
    size_t len)
{
	const char *pre = po->prefix_done || po->prefix == NULL ? "" :
	    po->prefix;

	po->prefix_done = true;
	if (!po->lf) {
		if ((*pre != '\0' && safe_write_all(po->fd, pre,
		    strlen(pre)) == -1) || safe_write_all(po->fd, p, len) == -1)
			return -1;
		po->written += strlen(pre) + len;
		return 0;
	}
	buf_reset(scratch);
	if (lf_append(po, scratch, pre, strlen(pre)) == -1 ||
	    lf_append(po, scratch, p, len) == -1 || (scratch->len > 0 &&
	    safe_write_all(po->fd, scratch->data, scratch->len) == -1))
		return -1;
	po->written += scratch->len;
	return 0;
}

static int
out_flush(struct out_set *o)
{
	size_t i;

	if (o->pending.len == 0)
		return 0;
	for (i = 0; i < o->n; i++)
		if (out_write(&o->outs[i], &o->lf, o->pending.data,
		    o->pending.len) == -1)
			return -1;
	buf_reset(&o->pending);
	return 0;
}

/* Bytes for every output, written a chunk at a time (a piece larger than
 * a chunk goes out directly). */
static int
out_put(struct out_set *o, const char *p, size_t len)
{
	size_t i;

	/* the SMTP side needs to know (8BITMIME), once, not per attempt */
	if (!o->eightbit && charset_has_8bit(p, len))
		o->eightbit = true;
	if (len > IMC_IO_CHUNK) {
		if (out_flush(o) == -1)
			return -1;
		for (i = 0; i < o->n; i++)
			if (out_write(&o->outs[i], &o->lf, p, len) == -1)
				return -1;
		return 0;
	}
	if (buf_append(&o->pending, p, len) == -1)
		return -1;
	return o->pending.len >= IMC_IO_CHUNK ? out_flush(o) : 0;
}

static int
out_str(struct out_set *o, const char *s)
{
	return out_put(o, s, strlen(s));
}

/* A header field's lines, re-ended with CR LF. */
static int
out_field(struct out_set *o, const char *p, size_t len)
{
	const char *nl;

	while ((nl = memchr(p, '\n', len)) != NULL) {
		if (out_put(o, p, (size_t)(nl - p)) == -1 ||
		    out_put(o, "\r\n", 2) == -1)
			return -1;
		len -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	if (out_put(o, p, len) == -1 || out_put(o, "\r\n", 2) == -1)
		return -1;
	return 0;
}

static bool
has_field(const struct pickup_file *pf, const char *name)
{
	size_t i;

	for (i = 0; i < pf->n_fields; i++)
		if (name_is(pf->hdr.data + pf->fields[i].off,
		    pf->fields[i].name_len, name))
			return true;
	return false;
}

/*
 * pickup_dots = auto. A dot-stuffing writer doubles every leading dot, so
 * a line that starts with one dot only (a lone "." line too, unless it is
 * the last line: stuffing writers sometimes end with the SMTP terminator)
 * proves the file was written literally. The question only arises at the
 * first line that starts with a dot; from there the rest of the file is
 * scanned once, without moving the reader, and the answer holds for the
 * whole body. Files without such lines cost nothing.
 */
enum dot_state { DS_LINE_START, DS_IN_LINE, DS_DOT, DS_DOT_CR, DS_LONE_DOT };

struct dot_scan {
	enum dot_state st;
	uint64_t	 line;	/* of the byte being looked at */
};

/* Feed bytes; true when they prove a literal file (ds->line: where). */
static bool
dot_scan_feed(struct dot_scan *ds, const char *p, size_t len)
{
	const char *end = p + len, *lf;

	while (p < end) {
		switch (ds->st) {
		case DS_IN_LINE:
			if ((lf = memchr(p, '\n', (size_t)(end - p))) == NULL)
				return false;
			p = lf + 1;
			ds->line++;
			ds->st = DS_LINE_START;
			continue;
		case DS_LINE_START:
			if (*p == '\n')
				ds->line++;
			ds->st = *p == '.' ? DS_DOT : *p == '\n' ?
			    DS_LINE_START : DS_IN_LINE;
			break;
		case DS_DOT:
			if (*p == '.')
				ds->st = DS_IN_LINE;	/* "..": stuffed */
			else if (*p == '\n') {
				ds->line++;
				ds->st = DS_LONE_DOT;
			} else if (*p == '\r')
				ds->st = DS_DOT_CR;
			else
				return true;
			break;
		case DS_DOT_CR:
			if (*p != '\n')
				return true;	/* ".\rx" starts with one dot */
			ds->line++;
			ds->st = DS_LONE_DOT;
			break;
		case DS_LONE_DOT:
			return true;		/* a "." line, not the last */
		}
		p++;
	}
	return false;
}

/* The rest of the file from the reader's position: does it prove a
 * literal file? -1 on a read error. */
static int
dot_scan_rest(struct pickup_file *pf, struct dot_scan *ds)
{
	struct line_reader *lr = &pf->lr;
	uint64_t left = lr->left;
	off_t off;
	char *chunk;
	ssize_t n;
	int r = 0;

	if (dot_scan_feed(ds, lr->buf + lr->start, lr->end - lr->start))
		return 1;
	if (lr->eof || (lr->bounded && left == 0))
		return 0;
	/* a descriptor that cannot be read ahead (a pipe) shows no more:
	 * no evidence, the IIS reading */
	if ((off = lseek(lr->fd, 0, SEEK_CUR)) == -1)
		return errno == ESPIPE ? 0 : -1;
	chunk = xmalloc(IMC_IO_CHUNK);
	for (;;) {
		size_t want = IMC_IO_CHUNK;

		if (lr->bounded && want > left)
			want = (size_t)left;
		if (want == 0)
			break;
		do
			n = pread(lr->fd, chunk, want, off);
		while (n == -1 && errno == EINTR);
		if (n <= 0) {
			r = n == 0 ? 0 : -1;
			break;
		}
		off += n;
		left -= (uint64_t)n;
		if (dot_scan_feed(ds, chunk, (size_t)n)) {
			r = 1;
			break;
		}
	}
	free(chunk);
	return r;
}

/* Settle the reading at a line starting with "." that is not a lone "."
 * (seg, len: the first segment of that line). */
static int
dots_decide(struct pickup_file *pf, const char *seg, size_t len, bool eol)
{
	struct dot_scan ds;
	int r;

	if (len >= 2 && seg[1] != '.') {
		pf->dots = PICKUP_DOTS_LITERAL;
		pf->evidence_line = pf->body_line;
		return 0;
	}
	ds.st = len == 1 ? DS_DOT : eol ? DS_LINE_START : DS_IN_LINE;
	ds.line = pf->body_line + (eol ? 1 : 0);
	if ((r = dot_scan_rest(pf, &ds)) == -1)
		return -1;
	pf->dots = r == 1 ? PICKUP_DOTS_LITERAL : PICKUP_DOTS_IIS;
	/* a lone "." proves it only once the next line has begun */
	if (r == 1)
		pf->evidence_line = ds.st == DS_LONE_DOT ? ds.line - 1 :
		    ds.line;
	return 0;
}

/* One body segment through the dot rules. */
static int
body_segment(struct pickup_file *pf, struct out_set *o, const char *seg,
    size_t len, bool eol)
{
	/* The listener has undone the dot-stuffing already: its lines are
	 * the message's, a lone "." too. */
	if (pf->smtp)
		return out_put(o, seg, len) == -1 ||
		    (eol && out_put(o, "\r\n", 2) == -1) ? -1 : 0;
	if (pf->held_dot) {
		/* The "." line was not the last: it is an ordinary line, and
		 * under auto the proof of a literal file. */
		pf->held_dot = false;
		if (pf->dots == PICKUP_DOTS_AUTO) {
			pf->dots = PICKUP_DOTS_LITERAL;
			pf->evidence_line = pf->body_line;
		}
		if (pf->dots == PICKUP_DOTS_LITERAL && out_put(o, ".", 1) == -1)
			return -1;
		if (pf->dots == PICKUP_DOTS_IIS)
			pf->dots_removed++;
		if (out_put(o, "\r\n", 2) == -1)
			return -1;
	}
	if (pf->at_line_start)
		pf->body_line++;
	if (pf->at_line_start && eol && len == 1 && seg[0] == '.') {
		pf->held_dot = true;
		return 0;
	}
	if (pf->at_line_start && len > 0 && seg[0] == '.') {
		if (pf->dots == PICKUP_DOTS_AUTO &&
		    dots_decide(pf, seg, len, eol) == -1)
			return -1;
		if (pf->dots == PICKUP_DOTS_IIS) {
			seg++;
			len--;
			pf->dots_removed++;
		}
	}
	if (out_put(o, seg, len) == -1 || (eol && out_put(o, "\r\n", 2) == -1))
		return -1;
	pf->at_line_start = eol;
	return 0;
}

/*
 * The whole lines already in the reader's buffer, up to the first that
 * starts with a dot (the dot rules' business): written in runs, not line
 * by line. The bytes are those body_segment writes: a line ending in CR LF
 * as it is (its text may end in a CR of its own: "a\r\r\n"), a bare LF
 * made CR LF.
 */
static int
body_lines(struct pickup_file *pf, struct out_set *o)
{
	struct line_reader *lr = &pf->lr;
	const char *p = lr->buf + lr->start, *end = lr->buf + lr->end;
	const char *run = p, *lf;
	uint64_t lines = 0;

	if (!pf->at_line_start || pf->held_dot || pf->opts.line_by_line)
		return 0;
	while (p < end && (pf->smtp || *p != '.') &&
	    (lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (lf == p || lf[-1] != '\r') {
			if (out_put(o, run, (size_t)(lf - run)) == -1 ||
			    out_put(o, "\r\n", 2) == -1)
				return -1;
			run = lf + 1;
		}
		lines++;
		p = lf + 1;
	}
	if (p > run && out_put(o, run, (size_t)(p - run)) == -1)
		return -1;
	lr->start = (size_t)(p - lr->buf);
	pf->body_line += lines;
	return 0;
}

static void
rfc5322_date(time_t t, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, size, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		out[0] = '\0';
}

/* pickup_write - write the queue copy to every output */
int
pickup_write(struct pickup_file *pf, struct pickup_out *outs, size_t nout,
    struct mail_status *why)
{
	struct out_set o = { outs, nout, { NULL, 0, 0 }, { NULL, 0, 0 },
	    false };
	const char *seg;
	size_t i, len;
	bool eol;
	char date[64];
	int r;

	for (i = 0; i < nout; i++) {
		outs[i].written = 0;
		outs[i].cr_held = false;
		outs[i].prefix_done = false;
	}
	rfc5322_date(pf->opts.now, date, sizeof(date));
	/* The writer's uid goes in the comment, where Postfix puts it: the
	 * "from" clause is for the SMTP client's host name, which the
	 * listener wrote. */
	if (pf->smtp)
		buf_printf(&o.pending, "%s\r\n", pf->smtp_received);
	else {
		buf_printf(&o.pending, "Received: by %s (imc-connector",
		    pf->opts.hostname);
		if (pf->opts.has_uid)
			buf_printf(&o.pending, ", from userid %lu",
			    (unsigned long)pf->opts.uid);
		if (pf->opts.has_uid && pf->opts.user != NULL)
			buf_printf(&o.pending, " (%s)", pf->opts.user);
		buf_printf(&o.pending, ") id %s;\r\n\t%s\r\n", pf->opts.qid,
		    date);
	}
	for (i = 0; i < pf->n_fields; i++)
		if (!pf->fields[i].drop && out_field(&o,
		    pf->hdr.data + pf->fields[i].off, pf->fields[i].len) == -1)
			goto ioerr;
	if (!has_field(pf, "date") && (out_str(&o, "Date: ") == -1 ||
	    out_str(&o, date) == -1 || out_str(&o, "\r\n") == -1))
		goto ioerr;
	if (!has_field(pf, "message-id") && (out_str(&o, "Message-ID: <") == -1 ||
	    out_str(&o, pf->opts.qid) == -1 || out_str(&o, "@") == -1 ||
	    out_str(&o, pf->opts.hostname) == -1 || out_str(&o, ">\r\n") == -1))
		goto ioerr;
	if (!has_field(pf, "from") && pf->sender[0] != '\0' &&
	    (out_str(&o, "From: <") == -1 || out_str(&o, pf->sender) == -1 ||
	    out_str(&o, ">\r\n") == -1))
		goto ioerr;
	if (out_put(&o, "\r\n", 2) == -1)
		goto ioerr;
	if (pf->have_first_body &&
	    body_segment(pf, &o, pf->first_body.data, pf->first_body.len,
	    true) == -1)
		goto ioerr;
	if (!pf->header_only) {
		for (;;) {
			if (body_lines(pf, &o) == -1)
				goto ioerr;
			if ((r = lr_next(&pf->lr, &seg, &len, &eol)) !=
			    LR_SEGMENT)
				break;
			if (body_segment(pf, &o, seg, len, eol) == -1)
				goto ioerr;
		}
		if (r == LR_ERROR)
			goto ioerr;
	}
	/* A held "." line at the end of the file is no evidence: dropped
	 * under the iis reading (auto's too, when nothing else told), the
	 * application's text under the literal one. */
	if (pf->held_dot) {
		pf->held_dot = false;
		if (pf->dots == PICKUP_DOTS_LITERAL) {
			if (out_put(&o, ".\r\n", 3) == -1)
				goto ioerr;
		} else {
			pf->final_dot_dropped = true;
		}
	}
	if (pf->dots == PICKUP_DOTS_AUTO && pf->final_dot_dropped)
		pf->dots = PICKUP_DOTS_IIS;
	if (out_flush(&o) == -1)
		goto ioerr;
	for (i = 0; i < nout; i++)
		if (!outs[i].prefix_done && out_write(&outs[i], &o.lf, "", 0) ==
		    -1)
			goto ioerr;
	for (i = 0; i < nout; i++)
		if (outs[i].cr_held) {
			outs[i].cr_held = false;
			if (safe_write_all(outs[i].fd, "\r", 1) == -1)
				goto ioerr;
			outs[i].written++;
		}
	buf_fini(&o.pending);
	buf_fini(&o.lf);
	/* What the queue keeps about the copy, so that no delivery attempt
	 * reads it again for this: 8-bit bytes, and the Received: fields
	 * (the hop count; ours is one). */
	pf->written_8bit = o.eightbit;
	pf->received = 1;
	for (i = 0; i < pf->n_fields; i++)
		if (!pf->fields[i].drop && name_is(pf->hdr.data +
		    pf->fields[i].off, pf->fields[i].name_len, "received"))
			pf->received++;
	return 0;
ioerr:
	mail_status_set(why, MAIL_TEMP, "4.3.0", "I/O error: %s",
	    strerror(errno));
	buf_fini(&o.pending);
	buf_fini(&o.lf);
	return -1;
}

/* pickup_dots_note - what the dot rule did, or NULL when it changed no
 * line and chose nothing (see pickup_file.h) */
const char *
pickup_dots_note(const struct pickup_file *pf, char *out, size_t size)
{
	const char *rule = pf->opts.dots == PICKUP_DOTS_AUTO ? "auto" :
	    pf->opts.dots == PICKUP_DOTS_IIS ? "iis" : "literal";

	if (pf->dots == PICKUP_DOTS_LITERAL && pf->evidence_line > 0)
		snprintf(out, size, "pickup_dots %s: read as written (body "
		    "line %llu starts with a single dot)", rule,
		    (unsigned long long)pf->evidence_line);
	else if (pf->dots == PICKUP_DOTS_IIS && (pf->dots_removed > 0 ||
	    pf->final_dot_dropped))
		snprintf(out, size, "pickup_dots %s: read as dot-stuffed, "
		    "%llu line%s lost a leading dot%s", rule,
		    (unsigned long long)pf->dots_removed,
		    pf->dots_removed == 1 ? "" : "s", pf->final_dot_dropped ?
		    ", a final \".\" line dropped" : "");
	else
		return NULL;
	return out;
}

/* pickup_notes - every sentence for the logs, "; " between them */
bool
pickup_notes(const struct pickup_file *pf, struct buf *out)
{
	char dots[200];
	const char *d = pickup_dots_note(pf, dots, sizeof(dots));

	buf_reset(out);
	if (pf->mbox_line)
		buf_printf(out, "a leading mbox \"From \" line dropped%s",
		    pf->sender_from_mbox ? ", the sender taken from it (no "
		    "X-Sender, Sender or From)" : "");
	if (d != NULL)
		buf_printf(out, "%s%s", out->len > 0 ? "; " : "", d);
	return out->len > 0;
}

/* pickup_free - release everything */
void
pickup_free(struct pickup_file *pf)
{
	if (pf == NULL)
		return;
	free(pf->lr.buf);
	buf_fini(&pf->hdr);
	buf_fini(&pf->first_body);
	free(pf->fields);
	free(pf->sender);
	addr_list_free(&pf->rcpts);
	strset_fini(&pf->rcpt_keys);
	for (size_t i = 0; i < pf->n_rcpt_dsn; i++) {
		free(pf->rcpt_notify[i]);
		free(pf->rcpt_orcpt[i]);
	}
	free(pf->rcpt_notify);
	free(pf->rcpt_orcpt);
	free(pf->ret);
	free(pf->envid);
	free(pf->mbox_from);
	free(pf->smtp_info.client);
	free(pf->smtp_info.helo);
	free(pf->smtp_info.tls);
	free(pf->smtp_info.auth);
	free(pf->smtp_received);
	free(pf);
}

/* pickup_eightbit - did pickup_write write a byte above 127 */
bool
pickup_eightbit(const struct pickup_file *pf)
{
	return pf->written_8bit;
}

/* pickup_received - Received: fields in what pickup_write wrote */
unsigned
pickup_received(const struct pickup_file *pf)
{
	return pf->received;
}
