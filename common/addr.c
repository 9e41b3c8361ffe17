/*
 * addr - RFC 5322 address lists and RFC 5321 envelope paths (see addr.h).
 *
 * The parser works on (text, len) and never looks past len. A lexer turns
 * the text into tokens (atoms, quoted strings, domain literals and the
 * specials < > : ; @ , .), skipping folding whitespace and comments; a
 * small recursive-descent parser on top reads one list element at a time.
 * Each element is first tried as a bare addr-spec; when that does not end
 * at a "," (or ";" in a group, or the end) the element is read again as a
 * display name followed by "<addr>" or, at the top level only, by ":" and
 * a group. Every element is read at most twice, so the work is linear.
 *
 * What is tolerated, as real MTAs do: empty list elements (",,", trailing
 * ","), a group missing its final ";" at the end of the text, "." and "@"
 * inside display names, 8-bit bytes in display names and comments, RFC 2047
 * encoded words holding characters that are not atext (",", for example)
 * in a display name, and dots anywhere in a local part ("foo.@example.jp",
 * which comes back quoted).
 *
 * What is refused: a NUL byte; unbalanced "<", "\"", "(", "["; comments
 * nested deeper than ADDR_MAX_COMMENT_DEPTH; "@" with no domain; 8-bit bytes
 * that are not UTF-8, or control characters, in an addr-spec (UTF-8 local
 * parts and U-labels are kept, RFC 6532: SMTP needs SMTPUTF8 for them); an
 * address longer than IMC_MAX_ADDRESS in canonical form; "<>" in a list
 * (only addr_parse_path knows the null sender); a group inside a group.
 *
 * addr_parse_list appends to out; on failure out is left as it was found.
 * Reasons are appended to err (which may be NULL). Recursion is bounded:
 * a group's members are parsed one level down and groups do not nest;
 * comment nesting is counted, not recursed.
 */
#include "addr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imc_limits.h"
#include "xalloc.h"
#include "utf8.h"

/* Deeper comment nesting than this is refused as hostile. */
#define ADDR_MAX_COMMENT_DEPTH	32

/* Parse results inside this file: a match, a hard error that ends the
 * whole parse, or "not this production" (the caller may try another). */
#define ADDR_OK		0
#define ADDR_FAIL	(-1)
#define ADDR_NOMATCH	1

enum addr_tok_kind {
	TOK_ERROR,	/* lexical error; the reason is in the parser */
	TOK_EOF,
	TOK_ATOM,	/* atext and 8-bit bytes, or an encoded word */
	TOK_QSTR,	/* "quoted string", start and end include the quotes */
	TOK_DLIT,	/* [domain literal], with the brackets */
	TOK_SPECIAL	/* one of < > : ; @ , . */
};

struct addr_tok {
	enum addr_tok_kind kind;
	int	ch;		/* TOK_SPECIAL: the character */
	size_t	start;		/* raw bytes [start, end) of the token */
	size_t	end;
	bool	eword;		/* TOK_ATOM read as an RFC 2047 encoded word */
};

struct addr_parser {
	const unsigned char *s;
	size_t	len;
	const char *why;	/* reason for the last failure, a literal */
};

/* Lexer modes: encoded words are only special inside display names. */
#define LEX_PLAIN	0
#define LEX_PHRASE	1

/* addr_is_atext - RFC 5322 atext, ASCII only */
static bool
addr_is_atext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '/': case '=': case '?':
	case '^': case '_': case '`': case '{': case '|': case '}':
	case '~':
		return true;
	default:
		return false;
	}
}

/* addr_is_wsp - folding whitespace: SP, HT, CR, LF */
static bool
addr_is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* addr_is_special - the one-character tokens */
static bool
addr_is_special(int c)
{
	switch (c) {
	case '<': case '>': case ':': case ';': case '@': case ',': case '.':
		return true;
	default:
		return false;
	}
}

/* addr_tok_is - is the token the special character c */
static bool
addr_tok_is(const struct addr_tok *t, int c)
{
	return t->kind == TOK_SPECIAL && t->ch == c;
}

/* addr_skip_cfws - skip whitespace and (nested) comments from *pos */
static int
addr_skip_cfws(struct addr_parser *p, size_t *pos)
{
	size_t i = *pos;
	int c, depth;

	while (i < p->len) {
		c = p->s[i];
		if (addr_is_wsp(c)) {
			i++;
			continue;
		}
		if (c != '(')
			break;
		/* A counter, not recursion: the depth is bounded. */
		depth = 0;
		do {
			if (i >= p->len) {
				p->why = "unterminated comment";
				return -1;
			}
			c = p->s[i++];
			if (c == '(') {
				if (++depth > ADDR_MAX_COMMENT_DEPTH) {
					p->why = "comments nested too deeply";
					return -1;
				}
			} else if (c == ')')
				depth--;
			else if (c == '\\') {
				if (i >= p->len) {
					p->why = "unterminated comment";
					return -1;
				}
				i++;
			}
		} while (depth > 0);
	}
	*pos = i;
	return 0;
}

/* addr_eword_token - length of an RFC 2047 token (charset, encoding) */
static size_t
addr_eword_token(const unsigned char *s, size_t i, size_t len)
{
	size_t n = 0;

	while (i + n < len && s[i + n] > ' ' && s[i + n] < 0x7f &&
	    strchr("()<>@,;:\"/[]?.=", s[i + n]) == NULL)
		n++;
	return n;
}

/* addr_eword_text - length of encoded text: printable, no "?" or space;
 * no "@" either (real encoders never write one), so that an encoded word
 * cannot swallow the "@" of an address that follows it */
static size_t
addr_eword_text(const unsigned char *s, size_t i, size_t len)
{
	size_t n = 0;

	while (i + n < len && s[i + n] > ' ' && s[i + n] < 0x7f &&
	    s[i + n] != '?' && s[i + n] != '@')
		n++;
	return n;
}

/* addr_eword_len - length of an encoded word =?cs?enc?text?= at i, or 0 */
static size_t
addr_eword_len(const unsigned char *s, size_t i, size_t len)
{
	size_t j = i, n;

	if (len - i < 2 || s[j] != '=' || s[j + 1] != '?')
		return 0;
	j += 2;
	if ((n = addr_eword_token(s, j, len)) == 0)
		return 0;
	j += n;
	if (j >= len || s[j] != '?')
		return 0;
	j++;
	if ((n = addr_eword_token(s, j, len)) == 0)
		return 0;
	j += n;
	if (j >= len || s[j] != '?')
		return 0;
	j++;
	j += addr_eword_text(s, j, len);
	if (len - j < 2 || s[j] != '?' || s[j + 1] != '=')
		return 0;
	return j + 2 - i;
}

/* addr_peek - the token at or after pos (no state changes but p->why) */
static void
addr_peek(struct addr_parser *p, size_t pos, int mode, struct addr_tok *t)
{
	size_t i, n;
	int c;

	memset(t, 0, sizeof(*t));
	if (addr_skip_cfws(p, &pos) == -1) {
		t->kind = TOK_ERROR;
		return;
	}
	t->start = t->end = pos;
	if (pos == p->len) {
		t->kind = TOK_EOF;
		return;
	}
	c = p->s[pos];
	i = pos + 1;
	if (c == '"') {
		for (;;) {
			if (i >= p->len) {
				p->why = "unterminated quoted string";
				t->kind = TOK_ERROR;
				return;
			}
			c = p->s[i++];
			if (c == '"')
				break;
			if (c == '\\') {
				if (i >= p->len) {
					p->why = "unterminated quoted string";
					t->kind = TOK_ERROR;
					return;
				}
				i++;
			}
		}
		t->kind = TOK_QSTR;
	} else if (c == '[') {
		for (;;) {
			if (i >= p->len) {
				p->why = "unbalanced '[' in domain literal";
				t->kind = TOK_ERROR;
				return;
			}
			c = p->s[i++];
			if (c == ']')
				break;
			if (addr_is_wsp(c))
				continue;
			/* "@" is refused so that addr_domain stays exact. */
			if (c < 33 || c > 126 || c == '[' || c == '\\' ||
			    c == '@') {
				p->why = "invalid character in domain literal";
				t->kind = TOK_ERROR;
				return;
			}
		}
		t->kind = TOK_DLIT;
	} else if (addr_is_special(c)) {
		t->kind = TOK_SPECIAL;
		t->ch = c;
	} else if (mode == LEX_PHRASE &&
	    (n = addr_eword_len(p->s, pos, p->len)) > 0) {
		t->kind = TOK_ATOM;
		t->eword = true;
		i = pos + n;
	} else if (addr_is_atext(c) || c >= 0x80) {
		while (i < p->len && (addr_is_atext(p->s[i]) || p->s[i] >= 0x80))
			i++;
		t->kind = TOK_ATOM;
	} else {
		if (c == ')')
			p->why = "unbalanced ')'";
		else if (c == ']')
			p->why = "unbalanced ']'";
		else if (c == '\\')
			p->why = "backslash outside a quoted string";
		else
			p->why = "control character in address";
		t->kind = TOK_ERROR;
		return;
	}
	t->end = i;
}

/* addr_unexpected - a reason naming the token found instead of an address */
static const char *
addr_unexpected(const struct addr_tok *t)
{
	if (t->kind == TOK_EOF)
		return "unexpected end of text";
	if (t->kind != TOK_SPECIAL)
		return "expected ',' after address";
	switch (t->ch) {
	case '<':
		return "unexpected '<'";
	case '>':
		return "unexpected '>' (unbalanced)";
	case ':':
		return "unexpected ':'";
	case ';':
		return "unexpected ';' outside a group";
	case '@':
		return "unexpected '@'";
	case ',':
		return "unexpected ','";
	default:
		return "unexpected '.'";
	}
}

/* addr_check_bytes - local part or domain bytes: printable ASCII, or
 * UTF-8 (RFC 6532 addresses, which need SMTPUTF8 to leave) */
static int
addr_check_bytes(struct addr_parser *p, const unsigned char *s, size_t n,
    bool atext_only)
{
	size_t i, u;

	for (i = 0; i < n; i++) {
		if (s[i] >= 0x80) {
			if ((u = utf8_char_len(s + i, n - i)) == 0) {
				p->why = "8-bit character in address that is "
				    "not UTF-8";
				return ADDR_NOMATCH;
			}
			i += u - 1;
			continue;
		}
		if (s[i] < 32 || s[i] == 127 ||
		    (atext_only && !addr_is_atext(s[i]))) {
			p->why = "invalid character in address";
			return ADDR_NOMATCH;
		}
	}
	return ADDR_OK;
}

/* addr_qstr_value - append the content of a quoted string, unescaped and
 * unfolded (CR and LF dropped) */
static int
addr_qstr_value(struct addr_parser *p, const struct addr_tok *t,
    struct buf *out)
{
	size_t i;
	int c;

	for (i = t->start + 1; i < t->end - 1; i++) {
		c = p->s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\')
			c = p->s[++i];
		buf_putc(out, c);
	}
	return ADDR_OK;
}

/* addr_is_dot_atom - is the text a dot-atom (atext runs joined by dots) */
static bool
addr_is_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if ((unsigned char)s[i] >= 0x80) {
			/* RFC 6532: UTF-8 is atext (checked valid before) */
			continue;
		} else if (!addr_is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* addr_local_part - read word *("." word), tolerating stray dots; the
 * unquoted value goes to lp */
static int
addr_local_part(struct addr_parser *p, size_t *pos, struct buf *lp)
{
	struct addr_tok t;
	size_t at = *pos, words = 0;
	bool after_word = false;
	int r;

	for (;;) {
		addr_peek(p, at, LEX_PLAIN, &t);
		if (t.kind == TOK_ERROR)
			return ADDR_FAIL;
		if (t.kind == TOK_ATOM || t.kind == TOK_QSTR) {
			/* Two words in a row: this is a display name. */
			if (after_word)
				break;
			if (t.kind == TOK_ATOM) {
				r = addr_check_bytes(p, p->s + t.start,
				    t.end - t.start, true);
				if (r != ADDR_OK)
					return r;
				buf_append(lp, p->s + t.start, t.end - t.start);
			} else {
				size_t from = lp->len;

				if ((r = addr_qstr_value(p, &t, lp)) != ADDR_OK)
					return r;
				r = addr_check_bytes(p,
				    (const unsigned char *)buf_cstr(lp) + from,
				    lp->len - from, false);
				if (r != ADDR_OK)
					return r;
			}
			after_word = true;
			words++;
		} else if (addr_tok_is(&t, '.')) {
			buf_putc(lp, '.');
			after_word = false;
		} else
			break;
		at = t.end;
		if (lp->len > IMC_MAX_ADDRESS) {
			p->why = "address too long";
			return ADDR_NOMATCH;
		}
	}
	if (words == 0) {
		p->why = t.kind == TOK_EOF ? "expected an address" :
		    addr_unexpected(&t);
		return ADDR_NOMATCH;
	}
	*pos = at;
	return ADDR_OK;
}

/* addr_domain_part - read a dot-atom domain or a domain literal; append it
 * to out unless out is NULL */
static int
addr_domain_part(struct addr_parser *p, size_t *pos, struct buf *out)
{
	struct addr_tok t;
	size_t at = *pos, i;
	int r;

	addr_peek(p, at, LEX_PLAIN, &t);
	if (t.kind == TOK_ERROR)
		return ADDR_FAIL;
	if (t.kind == TOK_DLIT) {
		/* Brackets and dtext, folding whitespace dropped. */
		for (i = t.start; i < t.end; i++)
			if (!addr_is_wsp(p->s[i]) && out != NULL)
				buf_putc(out, p->s[i]);
		*pos = t.end;
		return ADDR_OK;
	}
	if (t.kind != TOK_ATOM) {
		p->why = "missing domain after '@'";
		return ADDR_NOMATCH;
	}
	for (;;) {
		r = addr_check_bytes(p, p->s + t.start, t.end - t.start, true);
		if (r != ADDR_OK)
			return r;
		if (out != NULL)
			buf_append(out, p->s + t.start, t.end - t.start);
		at = t.end;
		if (out != NULL && out->len > IMC_MAX_ADDRESS) {
			p->why = "address too long";
			return ADDR_NOMATCH;
		}
		addr_peek(p, at, LEX_PLAIN, &t);
		if (t.kind == TOK_ERROR)
			return ADDR_FAIL;
		if (!addr_tok_is(&t, '.'))
			break;
		addr_peek(p, t.end, LEX_PLAIN, &t);
		if (t.kind == TOK_ERROR)
			return ADDR_FAIL;
		if (t.kind != TOK_ATOM) {
			p->why = "malformed domain";
			return ADDR_NOMATCH;
		}
		if (out != NULL)
			buf_putc(out, '.');
	}
	*pos = at;
	return ADDR_OK;
}

/* addr_spec - read local-part ["@" domain] into out in canonical form */
static int
addr_spec(struct addr_parser *p, size_t *pos, struct buf *out)
{
	struct addr_tok t;
	struct buf lp;
	size_t at = *pos, i;
	int r;

	buf_init(&lp);
	if ((r = addr_local_part(p, &at, &lp)) != ADDR_OK)
		goto done;
	r = ADDR_FAIL;
	if (addr_is_dot_atom(buf_cstr(&lp), lp.len))
		buf_append(out, buf_cstr(&lp), lp.len);
	else {
		/* Quote, with backslashes only where qtext ends. */
		buf_putc(out, '"');
		for (i = 0; i < lp.len; i++) {
			if (lp.data[i] == '"' || lp.data[i] == '\\')
				buf_putc(out, '\\');
			buf_putc(out, lp.data[i]);
		}
		buf_putc(out, '"');
	}
	addr_peek(p, at, LEX_PLAIN, &t);
	if (t.kind == TOK_ERROR)
		goto done;
	if (addr_tok_is(&t, '@')) {
		at = t.end;
		buf_putc(out, '@');
		if ((r = addr_domain_part(p, &at, out)) != ADDR_OK)
			goto done;
	}
	if (out->len > IMC_MAX_ADDRESS) {
		p->why = "address too long";
		r = ADDR_NOMATCH;
		goto done;
	}
	*pos = at;
	r = ADDR_OK;
done:
	buf_fini(&lp);
	return r;
}

/* addr_angle - read "<" [route ":"] addr-spec ">" (or "<>" if allowed) */
static int
addr_angle(struct addr_parser *p, size_t *pos, struct buf *out,
    bool allow_null)
{
	struct addr_tok t;
	size_t at;
	int r;

	addr_peek(p, *pos, LEX_PLAIN, &t);
	if (t.kind == TOK_ERROR)
		return ADDR_FAIL;
	at = t.end;			/* the "<" */
	addr_peek(p, at, LEX_PLAIN, &t);
	if (t.kind == TOK_ERROR)
		return ADDR_FAIL;
	if (addr_tok_is(&t, '>')) {
		if (!allow_null) {
			p->why = "empty address <>";
			return ADDR_FAIL;
		}
		*pos = t.end;
		return ADDR_OK;
	}
	if (addr_tok_is(&t, '@')) {
		/* Obsolete source route "@a,@b:": read and dropped. */
		while (addr_tok_is(&t, '@')) {
			at = t.end;
			r = addr_domain_part(p, &at, NULL);
			if (r == ADDR_FAIL)
				return ADDR_FAIL;
			if (r != ADDR_OK) {
				p->why = "malformed source route";
				return ADDR_FAIL;
			}
			addr_peek(p, at, LEX_PLAIN, &t);
			while (addr_tok_is(&t, ',')) {
				at = t.end;
				addr_peek(p, at, LEX_PLAIN, &t);
			}
			if (t.kind == TOK_ERROR)
				return ADDR_FAIL;
		}
		if (!addr_tok_is(&t, ':')) {
			p->why = "malformed source route";
			return ADDR_FAIL;
		}
		at = t.end;
	}
	if ((r = addr_spec(p, &at, out)) != ADDR_OK)
		return ADDR_FAIL;
	addr_peek(p, at, LEX_PLAIN, &t);
	if (t.kind == TOK_ERROR)
		return ADDR_FAIL;
	if (!addr_tok_is(&t, '>')) {
		p->why = t.kind == TOK_EOF ? "unbalanced '<' (missing '>')" :
		    "expected '>' after address";
		return ADDR_FAIL;
	}
	*pos = t.end;
	return ADDR_OK;
}

/* addr_phrase - skip a display name; count its words */
static int
addr_phrase(struct addr_parser *p, size_t *pos, size_t *words)
{
	struct addr_tok t;
	size_t at = *pos;

	*words = 0;
	for (;;) {
		addr_peek(p, at, LEX_PHRASE, &t);
		if (t.kind == TOK_ERROR)
			return ADDR_FAIL;
		if (t.kind == TOK_ATOM || t.kind == TOK_QSTR)
			(*words)++;
		else if (*words == 0 ||
		    !(addr_tok_is(&t, '.') || addr_tok_is(&t, '@')))
			break;
		at = t.end;
	}
	*pos = at;
	return ADDR_OK;
}

/* addr_odd_eword - does the text at pos start with an encoded word that
 * holds characters a local part cannot (then it is a display name) */
static bool
addr_odd_eword(struct addr_parser *p, size_t pos)
{
	struct addr_tok t;
	size_t i;

	addr_peek(p, pos, LEX_PHRASE, &t);
	if (t.kind != TOK_ATOM || !t.eword)
		return false;
	for (i = t.start; i < t.end; i++)
		if (!addr_is_atext(p->s[i]) && p->s[i] != '.')
			return true;
	return false;
}

/* addr_emit - add the canonical address in a to the list */
static int
addr_emit(struct addr_parser *p, struct addr_list *out, struct buf *a)
{
	addr_list_add(out, buf_cstr(a));
	return ADDR_OK;
}

static int addr_group(struct addr_parser *, size_t *, struct addr_list *);

/* addr_element - one list element: a mailbox, or a group unless in_group;
 * the caller checks what follows an element read through "<" or ":" */
static int
addr_element(struct addr_parser *p, size_t *pos, struct addr_list *out,
    bool in_group)
{
	struct addr_tok t;
	struct buf a;
	size_t at = *pos, words;
	const char *soft = NULL;
	int r;

	buf_init(&a);
	if (!addr_odd_eword(p, at)) {
		r = addr_spec(p, &at, &a);
		if (r == ADDR_FAIL)
			goto done;
		if (r == ADDR_OK) {
			addr_peek(p, at, LEX_PLAIN, &t);
			if (t.kind == TOK_ERROR) {
				r = ADDR_FAIL;
				goto done;
			}
			if (t.kind == TOK_EOF || addr_tok_is(&t, ',') ||
			    (in_group && addr_tok_is(&t, ';'))) {
				r = addr_emit(p, out, &a);
				*pos = at;
				goto done;
			}
			soft = addr_unexpected(&t);
		} else
			soft = p->why;
	}

	/* Not a bare addr-spec: a display name, then "<" or ":". */
	buf_reset(&a);
	at = *pos;
	if ((r = addr_phrase(p, &at, &words)) != ADDR_OK)
		goto done;
	addr_peek(p, at, LEX_PLAIN, &t);
	r = ADDR_FAIL;
	if (t.kind == TOK_ERROR)
		goto done;
	if (addr_tok_is(&t, '<')) {
		if (addr_angle(p, &at, &a, false) != ADDR_OK)
			goto done;
		if ((r = addr_emit(p, out, &a)) == ADDR_OK)
			*pos = at;
	} else if (addr_tok_is(&t, ':') && !in_group && words > 0) {
		at = t.end;
		if ((r = addr_group(p, &at, out)) == ADDR_OK)
			*pos = at;
	} else if (addr_tok_is(&t, ':')) {
		p->why = in_group ? "group inside a group" :
		    "group without a name";
	} else if (words == 0)
		p->why = addr_unexpected(&t);
	else
		p->why = soft != NULL ? soft : "display name without an address";
done:
	buf_fini(&a);
	return r;
}

/* addr_group - the members of a group, after its ":", up to the ";" */
static int
addr_group(struct addr_parser *p, size_t *pos, struct addr_list *out)
{
	struct addr_tok t;
	size_t at = *pos;

	for (;;) {
		addr_peek(p, at, LEX_PLAIN, &t);
		if (t.kind == TOK_ERROR)
			return ADDR_FAIL;
		/* A missing ";" at the very end is common: allowed. */
		if (t.kind == TOK_EOF)
			break;
		if (addr_tok_is(&t, ';')) {
			at = t.end;
			break;
		}
		if (addr_tok_is(&t, ',')) {
			at = t.end;
			continue;
		}
		if (addr_element(p, &at, out, true) != ADDR_OK)
			return ADDR_FAIL;
		addr_peek(p, at, LEX_PLAIN, &t);
		if (t.kind == TOK_ERROR)
			return ADDR_FAIL;
		if (!(t.kind == TOK_EOF || addr_tok_is(&t, ',') ||
		    addr_tok_is(&t, ';'))) {
			p->why = addr_unexpected(&t);
			return ADDR_FAIL;
		}
	}
	*pos = at;
	return ADDR_OK;
}

/* addr_fail - report why into err */
static int
addr_fail(struct addr_parser *p, struct buf *err)
{
	if (err != NULL)
		(void)buf_puts(err, p->why != NULL ? p->why : "invalid address");
	return -1;
}

/* addr_has_nul - does the text hold a NUL byte */
static bool
addr_has_nul(const char *text, size_t len)
{
	return len > 0 && memchr(text, '\0', len) != NULL;
}

/* addr_list_init - empty list */
void
addr_list_init(struct addr_list *l)
{
	l->items = NULL;
	l->n = 0;
	l->cap = 0;
}

/* addr_list_free - free the items and the array; the list is empty after */
void
addr_list_free(struct addr_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	addr_list_init(l);
}

/* addr_list_add - append a copy of s */
void
addr_list_add(struct addr_list *l, const char *s)
{
	size_t ncap;

	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : 8;
		l->items = xreallocarray(l->items, ncap, sizeof(*l->items));
		l->cap = ncap;
	}
	l->items[l->n++] = xstrdup(s);
}

/* addr_parse_list - parse an address-list header value */
int
addr_parse_list(const char *text, size_t len, struct addr_list *out,
    struct buf *err)
{
	struct addr_parser p;
	struct addr_tok t;
	size_t at = 0, n0 = out->n;

	p.s = (const unsigned char *)text;
	p.len = len;
	p.why = NULL;
	if (addr_has_nul(text, len)) {
		p.why = "NUL byte in address";
		return addr_fail(&p, err);
	}
	for (;;) {
		addr_peek(&p, at, LEX_PLAIN, &t);
		if (t.kind == TOK_ERROR)
			goto fail;
		if (t.kind == TOK_EOF)
			break;
		/* Empty elements (",,", a trailing ","): skipped. */
		if (addr_tok_is(&t, ',')) {
			at = t.end;
			continue;
		}
		if (addr_element(&p, &at, out, false) != ADDR_OK)
			goto fail;
		addr_peek(&p, at, LEX_PLAIN, &t);
		if (t.kind == TOK_ERROR)
			goto fail;
		if (t.kind != TOK_EOF && !addr_tok_is(&t, ',')) {
			p.why = addr_unexpected(&t);
			goto fail;
		}
	}
	return 0;

fail:
	while (out->n > n0)
		free(out->items[--out->n]);
	return addr_fail(&p, err);
}

/* addr_path_params - after the address: nothing, or whitespace and ESMTP
 * parameters keyword[=value] (checked for shape, otherwise ignored) */
static bool
addr_path_params(const unsigned char *s, size_t i, size_t len)
{
	size_t v;

	if (i < len && !addr_is_wsp(s[i]))
		return false;
	for (;;) {
		while (i < len && addr_is_wsp(s[i]))
			i++;
		if (i == len)
			return true;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
		while (i < len && ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			i++;
		if (i < len && s[i] == '=') {
			for (v = ++i; i < len && s[i] > 32 && s[i] < 127 &&
			    s[i] != '='; i++)
				;
			if (i == v)
				return false;
		}
		if (i < len && !addr_is_wsp(s[i]))
			return false;
	}
}

/* addr_parse_path - parse an envelope address ("<>" gives "") */
int
addr_parse_path(const char *text, size_t len, char **out, struct buf *err)
{
	struct addr_parser p;
	struct addr_tok t;
	struct buf a;
	size_t at = 0, words;
	const char *soft = NULL;
	int r;

	*out = NULL;
	p.s = (const unsigned char *)text;
	p.len = len;
	p.why = NULL;
	buf_init(&a);
	if (addr_has_nul(text, len)) {
		p.why = "NUL byte in address";
		goto fail;
	}
	addr_peek(&p, at, LEX_PLAIN, &t);
	if (t.kind == TOK_ERROR)
		goto fail;
	if (t.kind == TOK_EOF) {
		p.why = "empty address";
		goto fail;
	}
	if (!addr_tok_is(&t, '<') && !addr_odd_eword(&p, at)) {
		r = addr_spec(&p, &at, &a);
		if (r == ADDR_FAIL)
			goto fail;
		if (r == ADDR_OK) {
			addr_peek(&p, at, LEX_PLAIN, &t);
			if (t.kind == TOK_ERROR)
				goto fail;
			/* Parameters only after a full address: "John
			 * Smith" is a name, not "John" and a keyword. */
			if (t.kind == TOK_EOF ||
			    (addr_domain(buf_cstr(&a)) != NULL &&
			    addr_path_params(p.s, at, p.len)))
				goto ok;
			soft = "unexpected text after address";
		} else
			soft = p.why;
		buf_reset(&a);
		at = 0;
	}
	/* "<addr>", perhaps after a display name, then parameters. */
	if (addr_phrase(&p, &at, &words) != ADDR_OK)
		goto fail;
	addr_peek(&p, at, LEX_PLAIN, &t);
	if (t.kind == TOK_ERROR)
		goto fail;
	if (!addr_tok_is(&t, '<')) {
		p.why = soft != NULL ? soft : words == 0 ?
		    addr_unexpected(&t) : "display name without an address";
		goto fail;
	}
	if (addr_angle(&p, &at, &a, true) != ADDR_OK)
		goto fail;
	if (!addr_path_params(p.s, at, p.len)) {
		p.why = "malformed parameters after address";
		goto fail;
	}
ok:
	*out = buf_steal(&a);
	return 0;

fail:
	buf_fini(&a);
	return addr_fail(&p, err);
}

/* addr_parse_arg - parse an address given on a command line */
int
addr_parse_arg(const char *text, char **out, struct buf *err)
{
	const unsigned char *s;

	*out = NULL;
	for (s = (const unsigned char *)text; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f) {
			if (err != NULL)
				buf_printf(err, "control character 0x%02x in "
				    "address", *s);
			return -1;
		}
	if (text[0] == '\0') {
		*out = xstrdup("");
		return 0;
	}
	return addr_parse_path(text, strlen(text), out, err);
}

/* addr_domain - the part after the last "@" outside quotes, or NULL */
const char *
addr_domain(const char *addr)
{
	const char *s, *at = NULL;
	bool quoted = false;

	if (addr == NULL)
		return NULL;
	for (s = addr; *s != '\0'; s++) {
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '"')
			quoted = !quoted;
		else if (!quoted && *s == '@')
			at = s;
	}
	return at != NULL ? at + 1 : NULL;
}
