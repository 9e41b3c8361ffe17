/*
 * smtpd_cmd - the listener's command parser (see smtpd_cmd.h).
 */
#include "smtpd_cmd.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dsn.h"
#include "imc_limits.h"
#include "utf8.h"
#include "xalloc.h"

static const struct {
	const char	*name;
	enum smtpd_verb	 verb;
} smtpd_verbs[] = {
	{ "HELO", SMTPD_HELO }, { "EHLO", SMTPD_EHLO }, { "MAIL", SMTPD_MAIL },
	{ "RCPT", SMTPD_RCPT }, { "DATA", SMTPD_DATA }, { "RSET", SMTPD_RSET },
	{ "NOOP", SMTPD_NOOP }, { "QUIT", SMTPD_QUIT }, { "VRFY", SMTPD_VRFY },
	{ "EXPN", SMTPD_EXPN }, { "HELP", SMTPD_HELP },
	{ "STARTTLS", SMTPD_STARTTLS }, { "AUTH", SMTPD_AUTH },
	{ "BDAT", SMTPD_BDAT },
};

/* smtpd_cmd_parse - verb (any case) and the rest of the line */
void
smtpd_cmd_parse(const char *line, size_t len, struct smtpd_cmd *c)
{
	size_t i, vl = 0;

	while (vl < len && line[vl] != ' ')
		vl++;
	c->verb = SMTPD_UNKNOWN;
	for (i = 0; i < sizeof(smtpd_verbs) / sizeof(smtpd_verbs[0]); i++)
		if (strlen(smtpd_verbs[i].name) == vl &&
		    strncasecmp(line, smtpd_verbs[i].name, vl) == 0)
			c->verb = smtpd_verbs[i].verb;
	while (vl < len && line[vl] == ' ')
		vl++;
	c->arg = line + vl;
	c->arg_len = len - vl;
	/* trailing spaces are not part of an argument */
	while (c->arg_len > 0 && c->arg[c->arg_len - 1] == ' ')
		c->arg_len--;
}

const char *
smtpd_verb_name(enum smtpd_verb v)
{
	size_t i;

	for (i = 0; i < sizeof(smtpd_verbs) / sizeof(smtpd_verbs[0]); i++)
		if (smtpd_verbs[i].verb == v)
			return smtpd_verbs[i].name;
	return "?";
}

static void
smtpd_set(struct smtpd_reply *r, int code, const char *dsn, const char *text)
{
	r->code = code;
	r->dsn = dsn;
	r->text = text;
}

/* atext of RFC 5321 (and 5322), plus 8-bit bytes under SMTPUTF8 */
static bool
smtpd_atext(unsigned char c, bool utf8)
{
	if (c >= 0x80)
		return utf8;
	/* strchr finds the terminator too: a NUL is never atext */
	return isalnum(c) || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A domain name (labels of letters, digits, "-"; 8-bit under SMTPUTF8)
 * or an address literal; no trailing dot. */
static bool
smtpd_domain_ok(const char *d, size_t len, bool utf8)
{
	size_t i, label = 0;

	if (len == 0)
		return false;
	if (d[0] == '[') {
		if (d[len - 1] != ']' || len < 3)
			return false;
		for (i = 1; i + 1 < len; i++)
			if (!isalnum((unsigned char)d[i]) &&
			    (d[i] == '\0' || strchr(".:-", d[i]) == NULL))
				return false;
		return true;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0)
				return false;	/* "..", leading dot */
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-' || (c == '_') ||
		    (c >= 0x80 && utf8)))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;			/* no trailing dot */
}

/*
 * One path: "<>" (null, when allowed), "<[@route,...:]local@domain>".
 * The address in canonical form into *out. -1: reply set.
 */
static int
smtpd_path(const char *p, size_t len, bool allow_null, bool utf8,
    char **out, size_t *used, struct smtpd_reply *r)
{
	size_t i = 0, end, ls, le, ds;
	struct buf b;
	bool quoted = false, needs_quote = false;

	*out = NULL;
	if (len == 0 || p[0] != '<') {
		smtpd_set(r, 501, "5.5.4", "Syntax: the address must be in "
		    "angle brackets");
		return -1;
	}
	for (end = 1; end < len && p[end] != '>'; end++)
		if (p[end] == '"')	/* a quoted part may hold ">" */
			for (end++; end < len && p[end] != '"'; end++)
				if (p[end] == '\\')
					end++;
	if (end >= len) {
		smtpd_set(r, 501, "5.5.4", "Syntax: no closing angle bracket");
		return -1;
	}
	*used = end + 1;
	if (end - 1 > IMC_MAX_ADDRESS) {
		smtpd_set(r, 501, "5.1.3", "Address too long");
		return -1;
	}
	i = 1;
	if (end == 1) {
		if (!allow_null) {
			smtpd_set(r, 501, "5.1.3", "Empty address");
			return -1;
		}
		*out = xstrdup("");
		return 0;
	}
	/* a source route is skipped (RFC 5321 4.1.2, appendix C): the
	 * mailbox after it is the address */
	if (p[i] == '@') {
		while (i < end && p[i] != ':') {
			if (p[i] == '"' || p[i] == '<') {
				smtpd_set(r, 501, "5.1.3", "Bad source route");
				return -1;
			}
			i++;
		}
		if (i >= end) {
			smtpd_set(r, 501, "5.1.3", "Bad source route");
			return -1;
		}
		i++;
	}
	ls = i;
	buf_init(&b);
	if (i < end && p[i] == '"') {
		/* quoted-string: kept as is, quotes and needed backslashes */
		quoted = true;
		for (i++; i < end && p[i] != '"'; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c == '\\') {
				/* quoted-pairSMTP: %d92 %d32-126 (RFC 5321
				 * 4.1.2; RFC 6531 keeps it ASCII) */
				if (i + 1 >= end || (unsigned char)p[i + 1] < 32 ||
				    (unsigned char)p[i + 1] > 126)
					goto bad_local;
				i++;
				c = (unsigned char)p[i];
				if (c == '"' || c == '\\')
					buf_putc(&b, '\\');
				buf_putc(&b, c);
				continue;
			}
			if (c < 32 || c == 127 || (c >= 0x80 && !utf8))
				goto bad_local;
			buf_putc(&b, c);
		}
		if (i >= end)
			goto bad_local;
		i++;
		le = i;
	} else {
		for (; i < end && p[i] != '@'; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c == '.') {
				if (i == ls || p[i - 1] == '.' || i + 1 >= end ||
				    p[i + 1] == '@')
					goto bad_local;
			} else if (!smtpd_atext(c, utf8))
				goto bad_local;
			buf_putc(&b, c);
		}
		le = i;
	}
	if (le == ls)
		goto bad_local;
	if (le >= end || p[le] != '@') {
		/* RFC 5321: "postmaster" alone is a valid RCPT */
		if (!quoted && le - ls == 10 &&
		    strncasecmp(p + ls, "postmaster", 10) == 0 && le == end) {
			*out = buf_steal(&b);
			return 0;
		}
		buf_fini(&b);
		smtpd_set(r, 501, "5.1.3", "Address needs a domain");
		return -1;
	}
	ds = le + 1;
	if (!smtpd_domain_ok(p + ds, end - ds, utf8)) {
		buf_fini(&b);
		smtpd_set(r, 501, "5.1.2", "Bad domain (no trailing dot, "
		    "letters, digits, hyphens, or an address literal)");
		return -1;
	}
	if (quoted) {
		/* quote only when the content is not a dot-atom */
		size_t k;
		struct buf q;

		for (k = 0; k < b.len; k++) {
			unsigned char c = (unsigned char)b.data[k];

			if (c == '\\' || c == '"' || (c == '.' && (k == 0 ||
			    k + 1 == b.len || b.data[k + 1] == '.')) ||
			    (c != '.' && !smtpd_atext(c, true)))
				needs_quote = true;
		}
		if (b.len == 0)
			needs_quote = true;
		if (needs_quote) {
			buf_init(&q);
			buf_putc(&q, '"');
			buf_append(&q, b.data, b.len);
			buf_putc(&q, '"');
			buf_fini(&b);
			b = q;
		}
	}
	buf_putc(&b, '@');
	buf_append(&b, p + ds, end - ds);
	*out = buf_steal(&b);
	return 0;
bad_local:
	buf_fini(&b);
	smtpd_set(r, 501, "5.1.3", "Bad local part");
	return -1;
}

/* The parameters after a path: "KEY[=VALUE]" separated by spaces. fn is
 * called for each; -1 stops with the reply it set. */
typedef int smtpd_param_fn(void *, const char *key, size_t klen,
	    const char *val, size_t vlen, bool has_val, struct smtpd_reply *);

static int
smtpd_params(const char *p, size_t len, smtpd_param_fn *fn, void *arg,
    struct smtpd_reply *r)
{
	size_t i = 0, s, eq;

	while (i < len) {
		if (p[i] != ' ') {
			smtpd_set(r, 501, "5.5.4", "Syntax: a space must "
			    "separate parameters");
			return -1;
		}
		while (i < len && p[i] == ' ')
			i++;
		if (i >= len)
			break;
		s = i;
		while (i < len && p[i] != ' ')
			i++;
		for (eq = s; eq < i && p[eq] != '='; eq++)
			;
		if (eq == s) {
			smtpd_set(r, 501, "5.5.4", "Syntax: bad parameter");
			return -1;
		}
		if (fn(arg, p + s, eq - s, eq < i ? p + eq + 1 : NULL,
		    eq < i ? i - eq - 1 : 0, eq < i, r) == -1)
			return -1;
	}
	return 0;
}

static bool
smtpd_key(const char *k, size_t kl, const char *want)
{
	return strlen(want) == kl && strncasecmp(k, want, kl) == 0;
}

struct smtpd_mail_ctx {
	struct smtpd_mail *m;
	uint64_t	 max_size;
	bool		 seen_size, seen_body, seen_auth;
};

static int
smtpd_mail_param(void *arg, const char *k, size_t kl, const char *v,
    size_t vl, bool has_val, struct smtpd_reply *r)
{
	struct smtpd_mail_ctx *c = arg;
	struct smtpd_mail *m = c->m;
	size_t i;

	if (smtpd_key(k, kl, "SIZE") && has_val && !c->seen_size) {
		uint64_t n = 0;

		c->seen_size = true;
		if (vl == 0 || vl > 20)
			goto syntax;
		for (i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				goto syntax;
			if (n > (UINT64_MAX - 9) / 10) {
				n = UINT64_MAX;
				break;
			}
			n = n * 10 + (uint64_t)(v[i] - '0');
		}
		if (n > c->max_size) {
			smtpd_set(r, 552, "5.3.4", "Message size exceeds the "
			    "fixed maximum message size");
			return -1;
		}
		m->size = n;
		return 0;
	}
	if (smtpd_key(k, kl, "BODY") && has_val && !c->seen_body) {
		c->seen_body = true;
		if (vl == 4 && strncasecmp(v, "7BIT", 4) == 0)
			m->body = SMTPD_BODY_7BIT;
		else if (vl == 8 && strncasecmp(v, "8BITMIME", 8) == 0)
			m->body = SMTPD_BODY_8BITMIME;
		else {
			smtpd_set(r, 555, "5.5.4", "Unsupported BODY value");
			return -1;
		}
		return 0;
	}
	if (smtpd_key(k, kl, "SMTPUTF8") && !has_val && !m->smtputf8) {
		m->smtputf8 = true;
		return 0;
	}
	if (smtpd_key(k, kl, "RET") && has_val && m->ret == NULL) {
		if (vl == 4 && (strncasecmp(v, "FULL", 4) == 0 ||
		    strncasecmp(v, "HDRS", 4) == 0)) {
			m->ret = xstrndup(v, 4);
			for (i = 0; i < 4; i++)
				m->ret[i] = (char)toupper((unsigned char)m->ret[i]);
			return 0;
		}
		goto syntax;
	}
	if (smtpd_key(k, kl, "ENVID") && has_val && m->envid == NULL) {
		if (vl > 100 || !dsn_xtext_ok(v, vl))
			goto syntax;
		m->envid = xstrndup(v, vl);
		return 0;
	}
	/* AUTH=<> from a relaying MTA (RFC 4954 5): taken and ignored, an
	 * unauthenticated session has no use for it */
	if (smtpd_key(k, kl, "AUTH") && has_val && !c->seen_auth) {
		c->seen_auth = true;
		return 0;
	}
	smtpd_set(r, 555, "5.5.4", "Unsupported or repeated MAIL parameter");
	return -1;
syntax:
	smtpd_set(r, 501, "5.5.4", "Syntax error in a MAIL parameter");
	return -1;
}

static int
smtpd_expect(const char *arg, size_t len, const char *kw, size_t *off,
    struct smtpd_reply *r)
{
	size_t kl = strlen(kw);

	if (len < kl || strncasecmp(arg, kw, kl) != 0) {
		smtpd_set(r, 501, "5.5.4", kw[0] == 'F' ?
		    "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
		return -1;
	}
	*off = kl;
	/* one space after the colon is common and harmless */
	while (*off < len && arg[*off] == ' ' && *off < kl + 1)
		(*off)++;
	return 0;
}

/* smtpd_parse_mail - "FROM:<path> params" */
int
smtpd_parse_mail(const char *arg, size_t len, uint64_t max_size,
    struct smtpd_mail *m, struct smtpd_reply *r)
{
	struct smtpd_mail_ctx c = { m, max_size, false, false, false };
	size_t off, used;

	memset(m, 0, sizeof(*m));
	if (smtpd_expect(arg, len, "FROM:", &off, r) == -1)
		return -1;
	/* SMTPUTF8 decides whether the path may be 8-bit: parameters
	 * first, on a copy of the state */
	{
		const char *gt = memchr(arg + off, '>', len - off);

		if (gt != NULL) {
			struct smtpd_mail tmp;
			struct smtpd_mail_ctx tc = { &tmp, UINT64_MAX, false,
			    false, false };
			struct smtpd_reply ignored;

			memset(&tmp, 0, sizeof(tmp));
			(void)smtpd_params(gt + 1, (size_t)(arg + len - gt - 1),
			    smtpd_mail_param, &tc, &ignored);
			m->smtputf8 = tmp.smtputf8;
			free(tmp.ret);
			free(tmp.envid);
		}
	}
	if (smtpd_path(arg + off, len - off, true, m->smtputf8, &m->addr,
	    &used, r) == -1)
		goto fail;
	if (m->smtputf8 && !utf8_valid(m->addr, strlen(m->addr))) {
		smtpd_set(r, 553, "5.6.7", "Address is not valid UTF-8");
		goto fail;
	}
	m->smtputf8 = false;
	if (smtpd_params(arg + off + used, len - off - used, smtpd_mail_param,
	    &c, r) == -1)
		goto fail;
	return 0;
fail:
	smtpd_mail_free(m);
	return -1;
}

static int
smtpd_rcpt_param(void *arg, const char *k, size_t kl, const char *v,
    size_t vl, bool has_val, struct smtpd_reply *r)
{
	struct smtpd_rcpt *rc = arg;
	size_t i;

	if (smtpd_key(k, kl, "NOTIFY") && has_val && rc->notify == NULL) {
		if (!dsn_notify_ok(v, vl))
			goto syntax;
		rc->notify = xstrndup(v, vl);
		for (i = 0; i < vl; i++)
			rc->notify[i] = (char)toupper((unsigned char)rc->notify[i]);
		return 0;
	}
	if (smtpd_key(k, kl, "ORCPT") && has_val && rc->orcpt == NULL) {
		if (vl > IMC_MAX_ADDRESS || !dsn_xtext_ok(v, vl) ||
		    memchr(v, ';', vl) == NULL)
			goto syntax;
		rc->orcpt = xstrndup(v, vl);
		return 0;
	}
	smtpd_set(r, 555, "5.5.4", "Unsupported or repeated RCPT parameter");
	return -1;
syntax:
	smtpd_set(r, 501, "5.5.4", "Syntax error in a RCPT parameter");
	return -1;
}

/* smtpd_parse_rcpt - "TO:<path> params" */
int
smtpd_parse_rcpt(const char *arg, size_t len, bool smtputf8,
    struct smtpd_rcpt *rc, struct smtpd_reply *r)
{
	size_t off, used;

	memset(rc, 0, sizeof(*rc));
	if (smtpd_expect(arg, len, "TO:", &off, r) == -1)
		return -1;
	if (smtpd_path(arg + off, len - off, false, smtputf8, &rc->addr, &used,
	    r) == -1)
		goto fail;
	if (smtputf8 && !utf8_valid(rc->addr, strlen(rc->addr))) {
		smtpd_set(r, 553, "5.6.7", "Address is not valid UTF-8");
		goto fail;
	}
	if (smtpd_params(arg + off + used, len - off - used, smtpd_rcpt_param,
	    rc, r) == -1)
		goto fail;
	return 0;
fail:
	smtpd_rcpt_free(rc);
	return -1;
}

void
smtpd_mail_free(struct smtpd_mail *m)
{
	free(m->addr);
	free(m->ret);
	free(m->envid);
	memset(m, 0, sizeof(*m));
}

void
smtpd_rcpt_free(struct smtpd_rcpt *rc)
{
	free(rc->addr);
	free(rc->notify);
	free(rc->orcpt);
	memset(rc, 0, sizeof(*rc));
}

/* smtpd_check_helo - a name or literal a Received: field may carry */
int
smtpd_check_helo(const char *arg, size_t len)
{
	size_t i;

	if (len == 0 || len > 255)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)arg[i] <= 32 || (unsigned char)arg[i] >= 127 ||
		    strchr("()<>\\\";", arg[i]) != NULL)
			return -1;
	return 0;
}

/* smtpd_parse_bdat - "chunk-size [LAST]" (RFC 3030 2: chunk-size is
 * 1*DIGIT; LAST in any case, after spaces) */
int
smtpd_parse_bdat(const char *arg, size_t len, uint64_t *size, bool *last)
{
	size_t i = 0;
	uint64_t n = 0;

	*size = 0;
	*last = false;
	if (len == 0 || arg[0] < '0' || arg[0] > '9')
		return -1;
	for (; i < len && arg[i] >= '0' && arg[i] <= '9'; i++) {
		if (n > (UINT64_MAX - (uint64_t)(arg[i] - '0')) / 10)
			return -1;	/* no size that large is read */
		n = n * 10 + (uint64_t)(arg[i] - '0');
	}
	if (i < len) {
		if (arg[i] != ' ')
			return -1;
		while (i < len && arg[i] == ' ')
			i++;
		if (len - i != 4 || strncasecmp(arg + i, "LAST", 4) != 0)
			return -1;
		*last = true;
	}
	*size = n;
	return 0;
}
