/*
 * pickup_file - read a Pickup file (see pickup_file.h).
 */
#include "pickup_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "charset.h"
#include "hex.h"
#include "imc_limits.h"
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
	bool		 written_8bit;	/* after pickup_write */
	unsigned	 received;	/* after pickup_write */
	/* body transform state */
	bool		 at_line_start;
	bool		 held_dot;	/* a line holding only "." waits */
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

/* xtext (RFC 3461): printable ASCII without "=" and space, "+XX" hex */
static bool
dsn_xtext_ok(const char *v, size_t len)
{
	size_t i;

	if (len == 0 || len > IMC_MAX_ADDRESS)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 33 || c > 126 || c == '=')
			return false;
		if (c == '+' && (i + 2 >= len ||
		    hex_value((unsigned char)v[i + 1]) < 0 ||
		    hex_value((unsigned char)v[i + 2]) < 0))
			return false;
	}
	return true;
}

static bool
dsn_notify_ok(const char *v, size_t len)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY" };
	size_t i = 0, w, k;

	if (len == 5 && strncasecmp(v, "NEVER", 5) == 0)
		return true;
	while (i < len) {
		for (w = 0; i + w < len && v[i + w] != ','; w++)
			;
		for (k = 0; k < 3; k++)
			if (w == strlen(words[k]) &&
			    strncasecmp(v + i, words[k], w) == 0)
				break;
		if (k == 3)
			return false;
		i += w + 1;
	}
	return len > 0 && v[len - 1] != ',';
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
		    0 && dsn_xtext_ok(eq + 1, (size_t)(we - eq - 1)) &&
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

/* pickup_read - read the envelope lines and header; work out the envelope */
struct pickup_file *
pickup_read(int fd, const struct pickup_opts *opts, struct mail_status *why)
{
	struct pickup_file *pf;
	struct buf line, xlines;
	bool too_long, in_xlines = true, have_field = false, want_rcpts;
	size_t i, n;
	int r;

	pf = xcalloc(1, sizeof(*pf));
	pf->lr.buf = xmalloc(IMC_IO_CHUNK);
	pf->opts = *opts;
	pf->lr.fd = fd;
	pf->lr.cap = IMC_IO_CHUNK;
	pf->lr.bounded = opts->max_bytes > 0;
	pf->lr.left = opts->max_bytes;
	pf->at_line_start = true;
	buf_init(&pf->hdr);
	buf_init(&pf->first_body);
	addr_list_init(&pf->rcpts);
	strset_init(&pf->rcpt_keys);
	buf_init(&line);
	buf_init(&xlines);

	for (;;) {
		r = lr_line(&pf->lr, &line, IMC_MAX_HEADER_BLOCK, &too_long);
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
	if (envelope_from_header(pf, want_rcpts, why) == -1)
		goto fail;
	if (pf->rcpts.n == 0) {
		mail_status_set(why, MAIL_PERM, "5.1.3",
		    xlines.len > 0 || pf->n_fields > 0 ? "no recipients" :
		    pf->have_first_body ? "no header and no recipients" :
		    "empty file");
		goto fail;
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
	bool		 eightbit;	/* a byte above 127 went out */
};

static int
out_flush(struct out_set *o)
{
	size_t i;

	if (o->pending.len == 0)
		return 0;
	for (i = 0; i < o->n; i++) {
		if (safe_write_all(o->outs[i].fd, o->pending.data,
		    o->pending.len) == -1)
			return -1;
		o->outs[i].written += o->pending.len;
	}
	buf_reset(&o->pending);
	return 0;
}

static int
out_put(struct out_set *o, const char *p, size_t len)
{
	/* the SMTP side needs to know (8BITMIME), once, not per attempt */
	if (!o->eightbit && charset_has_8bit(p, len))
		o->eightbit = true;
	if (o->pending.len + len > IMC_IO_CHUNK && out_flush(o) == -1)
		return -1;
	if (len > IMC_IO_CHUNK) {
		size_t i;

		for (i = 0; i < o->n; i++) {
			if (safe_write_all(o->outs[i].fd, p, len) == -1)
				return -1;
			o->outs[i].written += len;
		}
		return 0;
	}
	return buf_append(&o->pending, p, len);
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

/* One body segment through the dot rules. */
static int
body_segment(struct pickup_file *pf, struct out_set *o, const char *seg,
    size_t len, bool eol)
{
	if (pf->held_dot) {
		/* The "." line was not the last: it is an ordinary line. */
		pf->held_dot = false;
		if (pf->opts.dots == PICKUP_DOTS_LITERAL && out_put(o, ".", 1) == -1)
			return -1;
		if (out_put(o, "\r\n", 2) == -1)
			return -1;
	}
	if (pf->at_line_start && eol && len == 1 && seg[0] == '.') {
		pf->held_dot = true;
		return 0;
	}
	if (pf->at_line_start && len > 0 && seg[0] == '.' &&
	    pf->opts.dots == PICKUP_DOTS_IIS) {
		seg++;
		len--;
	}
	if (out_put(o, seg, len) == -1 || (eol && out_put(o, "\r\n", 2) == -1))
		return -1;
	pf->at_line_start = eol;
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
	struct out_set o = { outs, nout, { NULL, 0, 0 }, false };
	const char *seg;
	size_t i, len;
	bool eol;
	char date[64];
	int r;

	for (i = 0; i < nout; i++) {
		outs[i].written = 0;
		if (outs[i].prefix != NULL && outs[i].prefix[0] != '\0' &&
		    (safe_write_all(outs[i].fd, outs[i].prefix,
		    strlen(outs[i].prefix)) == -1))
			goto ioerr;
		outs[i].written = outs[i].prefix ? strlen(outs[i].prefix) : 0;
	}
	rfc5322_date(pf->opts.now, date, sizeof(date));
	/* The writer's uid goes in the comment, where Postfix puts it: the
	 * "from" clause is for the SMTP client's host name. */
	buf_printf(&o.pending, "Received: by %s (imc-connector",
	    pf->opts.hostname);
	if (pf->opts.has_uid)
		buf_printf(&o.pending, ", from userid %lu",
		    (unsigned long)pf->opts.uid);
	if (pf->opts.has_uid && pf->opts.user != NULL)
		buf_printf(&o.pending, " (%s)", pf->opts.user);
	buf_printf(&o.pending, ") id %s;\r\n\t%s\r\n", pf->opts.qid, date);
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
		while ((r = lr_next(&pf->lr, &seg, &len, &eol)) == LR_SEGMENT)
			if (body_segment(pf, &o, seg, len, eol) == -1)
				goto ioerr;
		if (r == LR_ERROR)
			goto ioerr;
	}
	/* A held "." line at the end of the file is dropped. */
	if (out_flush(&o) == -1)
		goto ioerr;
	buf_fini(&o.pending);
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
	return -1;
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
