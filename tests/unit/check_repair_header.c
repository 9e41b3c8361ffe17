/*
 * check_repair_header - unit tests for the header pass of the repair
 * library (common/repair/repair_header.c) on the classes of legacy mail of
 * issue 12: header lines over 998 octets, encoded-words inside quoted
 * strings, raw 8-bit display names and file names; and the labels the
 * scan pass reads (unknown labels, labels only iconv knows).
 *
 * Each case is a message run through repair_message (memfd in and out);
 * the output's header field is read back the way a strict reader does
 * (unfolded, encoded-words decoded by rfc2047_decode) and compared with
 * the text the writer meant; the output must hold no line over 998
 * octets, and a second repair of it must change nothing.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "charset.h"
#include "codec.h"
#include "convert.h"
#include "repair.h"
#include "rfc2047.h"

/* to_utf8 - charset conversion for rfc2047_decode */
static int
to_utf8(const char *cs, const char *b, size_t n, struct buf *out)
{
	struct charset_info ci;
	const char *dec;
	size_t errs = 0, mark = out->len;

	if (charset_lookup(cs, strlen(cs), &ci) == CHARSET_UNKNOWN ||
	    (dec = charset_decoder_for(&ci, b, n)) == NULL)
		return -1;
	if (convert_decode_all(dec, CONVERT_STRICT, b, n, out, &errs) !=
	    CONVERT_OK || errs > 0) {
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
		return -1;
	}
	return 0;
}

/* run_detect - repair a message with a detect list (NULL: off); the
 * output (the input when unchanged) in out */
static enum repair_result
run_detect(const char *m, size_t n, const char *detect,
    struct repair_report *rep, struct buf *out)
{
	struct repair_opts o = { .legacy_charset = "windows-1252",
	    .target = "utf-8", .seven_bit = false, .detect = detect };
	int in = memfd_create("in", 0), ofd = memfd_create("out", 0);
	enum repair_result r;
	off_t len;
	char *b;

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(ofd, 0);
	ck_assert_int_eq(write(in, m, n), (ssize_t)n);
	r = repair_message(in, ofd, &o, rep);
	ck_assert_int_ne(r, REPAIR_ERROR);
	len = lseek(ofd, 0, SEEK_END);
	ck_assert_int_ge(len, 0);
	buf_reset(out);
	if (r == REPAIR_UNCHANGED)
		ck_assert_int_eq(buf_append(out, m, n), 0);
	else {
		b = malloc((size_t)len + 1);
		ck_assert_ptr_nonnull(b);
		ck_assert_int_eq(pread(ofd, b, (size_t)len, 0), len);
		ck_assert_int_eq(buf_append(out, b, (size_t)len), 0);
		free(b);
	}
	close(in);
	close(ofd);
	return r;
}

/* run - repair a message, no detection */
static enum repair_result
run(const char *m, size_t n, struct repair_report *rep, struct buf *out)
{
	return run_detect(m, n, NULL, rep, out);
}

/* longest_line - the longest line of a message, without its CRLF */
static size_t
longest_line(const struct buf *m)
{
	size_t i, start = 0, len, max = 0;

	for (i = 0; i <= m->len; i++)
		if (i == m->len || m->data[i] == '\n') {
			len = i - start;
			if (len > 0 && m->data[i - 1] == '\r')
				len--;
			if (len > max)
				max = len;
			start = i + 1;
		}
	return max;
}

/* field_value - the unfolded raw value of the first field NAME of the
 * top-level header */
static void
field_value(const struct buf *m, const char *name, struct buf *out)
{
	size_t nl = strlen(name), i = 0, e;

	buf_reset(out);
	while (i < m->len) {
		if (m->data[i] == '\r' || m->data[i] == '\n')
			break;		/* the blank line */
		if (m->len - i > nl && strncasecmp(m->data + i, name, nl) ==
		    0 && m->data[i + nl] == ':') {
			for (e = i + nl + 1; e < m->len; e++) {
				if (m->data[e] == '\r')
					continue;
				if (m->data[e] == '\n') {
					if (e + 1 < m->len && (m->data[e + 1] ==
					    ' ' || m->data[e + 1] == '\t'))
						continue;
					break;
				}
				buf_putc(out, m->data[e]);
			}
			return;
		}
		while (i < m->len && m->data[i] != '\n')
			i++;
		i++;
	}
	ck_abort_msg("no %s field", name);
}

/* decoded - a field's value as a strict reader shows it */
static void
decoded(const struct buf *m, const char *name, struct buf *out)
{
	struct buf raw;
	unsigned fl = 0;
	const char *p;
	size_t n;

	buf_init(&raw);
	field_value(m, name, &raw);
	p = raw.data ? raw.data : "";
	n = raw.len;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	buf_reset(out);
	ck_assert_int_eq(rfc2047_decode(p, n, to_utf8, out, &fl), 0);
	buf_fini(&raw);
}

/* ------------------------------------------------------------------ */
/* Class 9: header lines over 998 octets */

enum long_kind { LK_WORDS, LK_NO_SPACE, LK_ONE_WORD, LK_REFERENCES,
	LK_UTF8_WORDS };

static const struct {
	const char *name;
	const char *field;
	enum long_kind kind;
	size_t	 max_line;	/* the longest output line allowed */
	const char *note;	/* in the report */
} long_cases[] = {
	{ "subject_with_spaces_folds_near_78", "Subject", LK_WORDS, 78,
	    "folded at whitespace" },
	/* "Subject: " and a 72-character word: 81 */
	{ "subject_without_spaces_becomes_words", "Subject", LK_NO_SPACE, 81,
	    "written as encoded-words" },
	{ "mono_one_long_encoded_word_is_split", "Subject", LK_ONE_WORD, 81,
	    "written as encoded-words" },
	{ "structured_references_fold_at_spaces", "References",
	    LK_REFERENCES, 78, "folded at whitespace" },
	{ "unknown_field_with_utf8_words_folds", "X-Comment", LK_UTF8_WORDS,
	    78, "folded at whitespace" },
};

/* The field's text as meant, and its value as written. */
static void
long_field(enum long_kind k, struct buf *meant, struct buf *written)
{
	struct buf b;
	unsigned fl = 0;
	int i;

	buf_reset(meant);
	buf_reset(written);
	switch (k) {
	case LK_WORDS:
		for (i = 0; i < 220; i++)
			buf_printf(meant, "%sword%03d", i ? " " : "", i);
		buf_append(written, meant->data, meant->len);
		break;
	case LK_NO_SPACE:
		for (i = 0; i < 1500; i++)
			buf_putc(meant, (char)('a' + i % 26));
		buf_append(written, meant->data, meant->len);
		break;
	case LK_ONE_WORD:
		/* Mono: the whole Subject in one B word, 1,700 octets */
		for (i = 0; i < 200; i++)
			buf_puts(meant, "\xe6\x97\xa5\xe6\x9c\xac ");
		meant->len--;
		meant->data[meant->len] = '\0';
		buf_init(&b);
		ck_assert_int_eq(codec_b64_encode(meant->data, meant->len, &b),
		    0);
		while (b.len > 0 && (b.data[b.len - 1] == '\n' ||
		    b.data[b.len - 1] == '\r'))
			b.len--;
		buf_puts(written, "=?utf-8?B?");
		for (i = 0; i < (int)b.len; i++)
			if (b.data[i] != '\r' && b.data[i] != '\n')
				buf_putc(written, b.data[i]);
		buf_puts(written, "?=");
		buf_fini(&b);
		ck_assert_uint_gt(written->len, 998);
		break;
	case LK_REFERENCES:
		for (i = 0; i < 60; i++)
			buf_printf(meant, "%s<msg%04d.abcdef@mail.example.com>",
			    i ? " " : "", i);
		buf_append(written, meant->data, meant->len);
		break;
	case LK_UTF8_WORDS:
		for (i = 0; i < 60; i++)
			buf_printf(written, "%s=?utf-8?Q?caf=C3=A9_%02d?=", i ?
			    " " : "", i);
		buf_init(&b);
		ck_assert_int_eq(rfc2047_decode(written->data, written->len,
		    to_utf8, &b, &fl), 0);
		buf_append(meant, b.data, b.len);
		buf_fini(&b);
		break;
	}
}

START_TEST(long_header_lines_are_folded)
{
	struct buf meant, written, msg, out, again, got;
	struct repair_report rep;

	buf_init(&meant);
	buf_init(&written);
	buf_init(&msg);
	buf_init(&out);
	buf_init(&again);
	buf_init(&got);
	long_field(long_cases[_i].kind, &meant, &written);
	buf_printf(&msg, "From: a@example.org\r\nTo: b@example.org\r\n"
	    "%s: ", long_cases[_i].field);
	buf_append(&msg, written.data, written.len);
	buf_puts(&msg, "\r\n\r\nbody\r\n");
	ck_assert_uint_gt(longest_line(&msg), 998);

	repair_report_init(&rep);
	ck_assert_int_eq(run(msg.data, msg.len, &rep, &out), REPAIR_CHANGED);
	ck_assert_msg(longest_line(&out) <= long_cases[_i].max_line,
	    "%s: a line of %zu octets", long_cases[_i].name,
	    longest_line(&out));
	ck_assert_msg(strstr(buf_cstr(&rep.explain), long_cases[_i].note) !=
	    NULL, "%s: report \"%s\"", long_cases[_i].name,
	    buf_cstr(&rep.explain));
	decoded(&out, long_cases[_i].field, &got);
	ck_assert_msg(got.len == meant.len && memcmp(got.data, meant.data,
	    meant.len) == 0, "%s: read back as\n%s\nwant\n%s",
	    long_cases[_i].name, buf_cstr(&got), buf_cstr(&meant));
	repair_report_fini(&rep);

	repair_report_init(&rep);
	ck_assert_int_eq(run(out.data, out.len, &rep, &again),
	    REPAIR_UNCHANGED);
	repair_report_fini(&rep);
	buf_fini(&meant);
	buf_fini(&written);
	buf_fini(&msg);
	buf_fini(&out);
	buf_fini(&again);
	buf_fini(&got);
}
END_TEST

/* Lines at or under 998 octets are kept as they are, even long ones. */
START_TEST(lines_of_998_octets_are_kept)
{
	struct buf msg, out;
	struct repair_report rep;
	size_t i;

	buf_init(&msg);
	buf_init(&out);
	buf_puts(&msg, "Subject: ");
	for (i = 9; i < 998; i++)
		buf_putc(&msg, i % 10 == 0 ? ' ' : 'x');
	buf_puts(&msg, "\r\nFrom: a@example.org\r\n\r\nbody\r\n");
	repair_report_init(&rep);
	ck_assert_int_eq(run(msg.data, msg.len, &rep, &out),
	    REPAIR_UNCHANGED);
	ck_assert_uint_eq(longest_line(&out), 998);
	repair_report_fini(&rep);
	buf_fini(&msg);
	buf_fini(&out);
}
END_TEST

/* A structured field with no whitespace is left as written, and said so;
 * the parts that do have whitespace are still folded. */
START_TEST(structured_field_without_whitespace_is_reported)
{
	struct buf msg, out, got;
	struct repair_report rep;
	size_t i;

	buf_init(&msg);
	buf_init(&out);
	buf_init(&got);
	buf_puts(&msg, "From: a@example.org\r\nMessage-ID: <");
	for (i = 0; i < 1200; i++)
		buf_putc(&msg, 'm');
	buf_puts(&msg, "@example.org>\r\n\r\nbody\r\n");
	repair_report_init(&rep);
	ck_assert_int_eq(run(msg.data, msg.len, &rep, &out), REPAIR_UNCHANGED);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&rep.explain),
	    "without whitespace to fold at, left as is"));
	repair_report_fini(&rep);
	buf_fini(&msg);
	buf_fini(&out);
	buf_fini(&got);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Field cases: one header field in, the value a strict reader gets
 * (encoded-words decoded, quoted strings as written) out. */

struct fcase {
	const char *name;
	const char *field;	/* the field name */
	const char *in;		/* its value as written */
	const char *want;	/* decoded output value; NULL: unchanged */
	const char *raw;	/* a substring of the raw output, or NULL */
	const char *note;	/* in the report, or NULL */
};

static const struct fcase field_cases[] = {
	/* Class 8: encoded-words inside quoted strings (Mono) */
	{ "quoted_word_display_name", "From",
	    "\"=?utf-8?Q?Caf=C3=A9?=\" <a@example.org>",
	    "Caf\xc3\xa9 <a@example.org>", "<a@example.org>",
	    "encoded-words inside a quoted string written as proper" },
	{ "quoted_word_with_comma_keeps_one_mailbox", "To",
	    "\"Smith, =?iso-8859-1?Q?Ren=E9?=\" <r@example.org>, b@example.org",
	    "Smith, Ren\xc3\xa9 <r@example.org>, b@example.org", NULL, NULL },
	{ "quoted_b_word_and_plain_word", "Cc",
	    "\"=?utf-8?B?w6k=?= x\" <c@example.org>",
	    "\xc3\xa9 x <c@example.org>", NULL, NULL },
	{ "quoted_text_without_words_is_kept", "From",
	    "\"Plain Name\" <a@example.org>", NULL, NULL, NULL },
	{ "quoted_broken_word_is_kept", "From",
	    "\"=?bogus\" <a@example.org>", NULL, NULL, NULL },
	{ "quoted_unknown_charset_word_is_kept", "From",
	    "\"=?x-unknown?Q?caf=E9?=\" <a@example.org>", NULL, NULL, NULL },
	{ "quoted_words_in_subject_are_text", "Subject",
	    "\"=?utf-8?Q?Caf=C3=A9?=\" menu", NULL, NULL, NULL },

	/* Class 7: encoded-words with CP932 bytes under iso-2022-jp (Mono),
	 * and class 11: the report says what was done */
	{ "cp932_encoded_word_under_iso_2022_jp", "Subject",
	    "=?iso-2022-jp?Q?=89=EF=8B=63=82=CC=93=FA=92=F6?=",
	    "\xe4\xbc\x9a\xe8\xad\xb0\xe3\x81\xae\xe6\x97\xa5\xe7\xa8"
	    "\x8b", NULL, "holding 8-bit bytes under a 7-bit charset label" },
	{ "cp932_encoded_word_display_name", "From",
	    "=?ISO-2022-JP?B?ie+LYw==?= <a@example.org>",
	    "\xe4\xbc\x9a\xe8\xad\xb0 <a@example.org>", NULL,
	    "holding 8-bit bytes under a 7-bit charset label" },
	{ "iso_2022_jp_row_13_encoded_word", "Subject",
	    "=?ISO-2022-JP?B?GyRCLSEycTVEGyhC?=",
	    "\xe2\x91\xa0\xe4\xbc\x9a\xe8\xad\xb0", NULL,
	    "bytes beyond their charset label" },
	{ "koi8_r_subject_is_converted_and_said_so", "Subject",
	    "=?koi8-r?B?6dfBzg==?=", "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd", NULL,
	    "encoded-words converted to utf-8, the delivery charset" },
	{ "latin1_subject_is_converted_and_said_so", "Subject",
	    "=?iso-8859-1?Q?caf=E9?=", "caf\xc3\xa9", NULL,
	    "encoded-words converted to utf-8, the delivery charset" },
	{ "non_standard_label_is_said_so", "Subject",
	    "=?ks_c_5601-1987?B?x9GxucH2?=",
	    "\xed\x95\x9c\xea\xb5\xad\xec\xa7\x80", NULL,
	    "with a non-standard charset label written again in utf-8" },
	{ "bytes_beyond_label_are_said_so", "Subject",
	    "=?iso-8859-1?Q?=80uro?=", "\xe2\x82\xac" "uro", NULL,
	    "with bytes beyond their charset label written again" },

	/* Class 3: raw 8-bit display names become phrases (windows-1252
	 * here, the legacy charset), addr-specs are kept */
	{ "raw_cp1252_display_name_unquoted", "From",
	    "Tom\xe1\x9a Nov\xe1k <tomas@example.cz>",
	    "Tom\xc3\xa1\xc5\xa1 Nov\xc3\xa1k <tomas@example.cz>",
	    "<tomas@example.cz>", "raw 8-bit text (legacy charset)" },
	{ "raw_utf8_display_names_in_reply_to", "Reply-To",
	    "\"M\xc3\xbcller, J\xc3\xbcrgen\" <jm@example.org>, "
	    "Zo\xc3\xab <z@example.org>",
	    "M\xc3\xbcller, J\xc3\xbcrgen <jm@example.org>, Zo\xc3\xab "
	    "<z@example.org>", NULL, "raw 8-bit text (utf-8)" },
	{ "raw_8bit_group_name", "Cc", "Gr\xfcppe: a@example.org;",
	    "Gr\xc3\xbcppe: a@example.org;", NULL, NULL },
	{ "raw_8bit_addr_spec_is_left", "To",
	    "J\xfcrgen <j\xfcrgen@example.org>", NULL, NULL,
	    "left as is" },

	/* Class 3: raw 8-bit file names become RFC 2231 values */
	{ "raw_cp1252_filename", "Content-Disposition",
	    "attachment; filename=\"R\xe9sum\xe9.pdf\"", NULL,
	    "attachment;\tfilename*=utf-8''R%C3%A9sum%C3%A9.pdf",
	    "written as RFC 2231" },
	{ "raw_utf8_filename_token_and_size_kept", "Content-Disposition",
	    "attachment; size=12; filename=caf\xc3\xa9.txt; x=\"y\"", NULL,
	    "attachment; size=12;\tfilename*=utf-8''caf%C3%A9.txt; x=\"y\"",
	    NULL },
	{ "long_raw_filename_is_split_in_sections", "Content-Disposition",
	    "inline; filename=\"\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9"
	    "\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9.txt\"", NULL,
	    "filename*0*=utf-8''%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9;\tfilename*1*=%C3%A9", NULL },
	{ "rfc2231_value_is_left", "Content-Disposition",
	    "attachment; filename*=utf-8''caf%C3%A9.txt", NULL, NULL, NULL },
};

START_TEST(field_case)
{
	const struct fcase *c = &field_cases[_i];
	struct buf msg, out, again, got, raw;
	struct repair_report rep;
	enum repair_result r;

	buf_init(&msg);
	buf_init(&out);
	buf_init(&again);
	buf_init(&got);
	buf_init(&raw);
	buf_printf(&msg, "%s%s: %s\r\n%s\r\n", strcasecmp(c->field, "from") ?
	    "From: z@example.org\r\n" : "", c->field, c->in,
	    strcasecmp(c->field, "subject") ? "Subject: s" : "To: t@example.org");
	buf_puts(&msg, "MIME-Version: 1.0\r\nContent-Type: text/plain; "
	    "charset=us-ascii\r\n\r\nbody\r\n");
	repair_report_init(&rep);
	r = run(msg.data, msg.len, &rep, &out);
	ck_assert_msg(r == (c->want || c->raw ? REPAIR_CHANGED :
	    REPAIR_UNCHANGED),
	    "%s: result %d, report \"%s\"", c->name, (int)r,
	    buf_cstr(&rep.explain));
	if (c->want != NULL) {
		decoded(&out, c->field, &got);
		ck_assert_msg(strcmp(buf_cstr(&got), c->want) == 0,
		    "%s: read back as \"%s\", want \"%s\"", c->name,
		    buf_cstr(&got), c->want);
	}
	if (c->raw != NULL) {
		field_value(&out, c->field, &raw);
		ck_assert_msg(strstr(buf_cstr(&raw), c->raw) != NULL,
		    "%s: \"%s\" lacks \"%s\"", c->name, buf_cstr(&raw),
		    c->raw);
	}
	if (c->note != NULL)
		ck_assert_msg(strstr(buf_cstr(&rep.explain), c->note) != NULL,
		    "%s: report \"%s\"", c->name, buf_cstr(&rep.explain));
	ck_assert_uint_le(longest_line(&out), 998);
	repair_report_fini(&rep);
	repair_report_init(&rep);
	ck_assert_msg(run(out.data, out.len, &rep, &again) == REPAIR_UNCHANGED,
	    "%s: not idempotent: %s", c->name, buf_cstr(&rep.explain));
	repair_report_fini(&rep);
	buf_fini(&msg);
	buf_fini(&out);
	buf_fini(&again);
	buf_fini(&got);
	buf_fini(&raw);
}
END_TEST

/* A text part whose Content-Type gets a new charset label keeps its raw
 * name= as an RFC 2231 value too (pass 2 writes that field itself). */
START_TEST(text_part_name_with_new_label)
{
	static const char in[] = "From: a@example.org\r\nSubject: s\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1;"
	    " name=\"caf\xe9.txt\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	    "caf\xe9\r\n";
	struct buf out, again, raw;
	struct repair_report rep;

	buf_init(&out);
	buf_init(&again);
	buf_init(&raw);
	repair_report_init(&rep);
	ck_assert_int_eq(run(in, sizeof(in) - 1, &rep, &out), REPAIR_CHANGED);
	field_value(&out, "Content-Type", &raw);
	ck_assert_msg(strstr(buf_cstr(&raw), "charset=utf-8") != NULL &&
	    strstr(buf_cstr(&raw), "name*=utf-8''caf%C3%A9.txt") != NULL,
	    "Content-Type:%s", buf_cstr(&raw));
	ck_assert(!charset_has_8bit(raw.data, raw.len));
	repair_report_fini(&rep);
	repair_report_init(&rep);
	ck_assert_int_eq(run(out.data, out.len, &rep, &again),
	    REPAIR_UNCHANGED);
	repair_report_fini(&rep);
	buf_fini(&out);
	buf_fini(&again);
	buf_fini(&raw);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Class 2: unknown charset labels, and labels only iconv knows, are read
 * as unlabelled text (valid UTF-8, else the legacy charset) and written
 * with a label strict readers know. */

static const struct {
	const char *name;
	const char *ct;		/* the Content-Type value */
	const char *body;	/* 8bit body as written */
	const char *label;	/* the label written */
	const char *text;	/* the body read in that label, UTF-8 */
	const char *why;	/* in the report */
} label_cases[] = {
	{ "unknown_label_utf8_bytes", "text/plain; charset=us-askey",
	    "caf\xc3\xa9", "utf-8", "caf\xc3\xa9", "an unknown label" },
	{ "unknown_label_legacy_bytes", "text/plain; charset=fakescii",
	    "caf\xe9 \x80", "utf-8", "caf\xc3\xa9 \xe2\x82\xac",
	    "read as WINDOWS-1252 (unlabelled)" },
	{ "unknown_label_ascii_text", "text/plain; charset=fakescii",
	    "plain text", "us-ascii", "plain text", "labelled us-ascii" },
	{ "escaped_crlf_in_quoted_label", "text/plain; charset=\"utf-8\\r\\n\"",
	    "caf\xc3\xa9", "utf-8", "caf\xc3\xa9", "an unknown label" },
	{ "escaped_crlf_in_quoted_label_ascii",
	    "text/plain; charset=\"utf-8\\r\\n\"", "plain", "us-ascii",
	    "plain", "labelled us-ascii" },
	{ "iconv_only_label_utf8_bytes", "text/plain; charset=ansi_x3.110-1983",
	    "caf\xc3\xa9", "utf-8", "caf\xc3\xa9",
	    "a label modern readers do not know" },
	{ "iconv_only_label_legacy_bytes",
	    "text/plain; charset=ANSI_X3.110-1983", "na\xefve", "utf-8",
	    "na\xc3\xafve", "read as WINDOWS-1252 (unlabelled)" },
	{ "iconv_only_label_ascii_text", "text/plain; charset=ansi_x3.110-1983",
	    "plain", "us-ascii", "plain", "labelled us-ascii" },

	/* Class 7: labels that lie. CP932 (Mono) and EUC-JP bytes under
	 * iso-2022-jp; UTF-8 under a 7-bit label; valid UTF-8 under
	 * iso-8859-1 and windows-1252 (documented rule) */
	{ "cp932_under_iso_2022_jp", "text/plain; charset=iso-2022-jp",
	    "\x83\x65\x83\x58\x83\x67\x96\x7b\x95\xb6", "utf-8",
	    "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88\xe6\x9c\xac\xe6\x96"
	    "\x87", "8-bit bytes under the 7-bit label iso-2022-jp; read as "
	    "CP932" },
	{ "euc_jp_under_iso_2022_jp", "text/plain; charset=ISO-2022-JP",
	    "\xa5\xc6\xa5\xb9\xa5\xc8\xcb\xdc\xca\xb8", "utf-8",
	    "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88\xe6\x9c\xac\xe6\x96"
	    "\x87", "read as EUC-JP" },
	{ "utf8_under_iso_2022_jp", "text/plain; charset=iso-2022-jp",
	    "\xe6\x9c\xac", "utf-8", "\xe6\x9c\xac", "read as UTF-8" },
	{ "cp949_under_iso_2022_kr", "text/plain; charset=iso-2022-kr",
	    "\xc7\xd1\xb1\xb9", "utf-8", "\xed\x95\x9c\xea\xb5\xad",
	    "read as CP949" },
	{ "utf8_under_iso_8859_1", "text/plain; charset=iso-8859-1",
	    "Gr\xc3\xbc\xc3\x9f" "e", "utf-8", "Gr\xc3\xbc\xc3\x9f" "e",
	    "all valid UTF-8 under the label iso-8859-1" },
	{ "utf8_under_windows_1252", "text/plain; charset=windows-1252",
	    "\xe2\x80\x9c" "q\xe2\x80\x9d", "utf-8",
	    "\xe2\x80\x9c" "q\xe2\x80\x9d",
	    "all valid UTF-8 under the label windows-1252" },
	/* Mono labels windows-1251 bodies koi8-r (.NET's BodyName): the
	 * letters' case tells them apart */
	{ "cp1251_under_koi8_r", "text/plain; charset=koi8-r",
	    "\xc7\xe4\xf0\xe0\xe2\xf1\xf2\xe2\xf3\xe9\xf2\xe5, \xfd\xf2\xee "
	    "\xf2\xe5\xf1\xf2", "utf-8",
	    "\xd0\x97\xd0\xb4\xd1\x80\xd0\xb0\xd0\xb2\xd1\x81\xd1\x82\xd0"
	    "\xb2\xd1\x83\xd0\xb9\xd1\x82\xd0\xb5, \xd1\x8d\xd1\x82\xd0\xbe "
	    "\xd1\x82\xd0\xb5\xd1\x81\xd1\x82",
	    "the letters' case says windows-1251, not koi8-r" },
	{ "koi8_r_under_windows_1251", "text/plain; charset=windows-1251",
	    "\xfa\xc4\xd2\xc1\xd7\xd3\xd4\xd7\xd5\xca\xd4\xc5, \xdc\xd4\xcf "
	    "\xd4\xc5\xd3\xd4", "utf-8",
	    "\xd0\x97\xd0\xb4\xd1\x80\xd0\xb0\xd0\xb2\xd1\x81\xd1\x82\xd0"
	    "\xb2\xd1\x83\xd0\xb9\xd1\x82\xd0\xb5, \xd1\x8d\xd1\x82\xd0\xbe "
	    "\xd1\x82\xd0\xb5\xd1\x81\xd1\x82",
	    "the letters' case says koi8-r, not windows-1251" },
	{ "koi8_r_text_stays_koi8_r", "text/plain; charset=koi8-r",
	    "\xfa\xc4\xd2\xc1\xd7\xd3\xd4\xd7\xd5\xca\xd4\xc5, \xdc\xd4\xcf "
	    "\xd4\xc5\xd3\xd4", "utf-8",
	    "\xd0\x97\xd0\xb4\xd1\x80\xd0\xb0\xd0\xb2\xd1\x81\xd1\x82\xd0"
	    "\xb2\xd1\x83\xd0\xb9\xd1\x82\xd0\xb5, \xd1\x8d\xd1\x82\xd0\xbe "
	    "\xd1\x82\xd0\xb5\xd1\x81\xd1\x82", "read as KOI8-R" },
	{ "short_cyrillic_keeps_its_label", "text/plain; charset=koi8-r",
	    "\xcf\xf0\xe8\xe2\xe5\xf2", "utf-8",
	    "\xd0\xbe\xd0\x9f\xd0\xa5\xd0\x91\xd0\x95\xd0\xa0",
	    "read as KOI8-R" },

	/* Class 4: ISO-2022-JP with the Windows rows (CP50221) */
	{ "iso_2022_jp_nec_row_13", "text/plain; charset=iso-2022-jp",
	    "\x1b$B-!-5|b\x1b(B No.1", "utf-8",
	    "\xe2\x91\xa0\xe2\x85\xa0\xe9\xab\x99 No.1",
	    "read as ISO-2022-JP-MS" },
	{ "latin1_text_stays_latin1", "text/plain; charset=iso-8859-1",
	    "Gr\xfc\xdf" "e", "utf-8", "Gr\xc3\xbc\xc3\x9f" "e",
	    "read as ISO-8859-1" },
};

/* 8-bit bytes under iso-2022-jp that no reading takes: left as they were,
 * and counted (the connector logs them even when nothing else changes) */
START_TEST(lying_label_no_reading_is_left_and_counted)
{
	static const char in[] = "From: a@example.org\r\nSubject: s\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; "
	    "charset=iso-2022-jp\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	    "\xff\xfe\xfd\x80\r\n";
	struct buf out;
	struct repair_report rep;

	buf_init(&out);
	repair_report_init(&rep);
	ck_assert_int_eq(run(in, sizeof(in) - 1, &rep, &out),
	    REPAIR_UNCHANGED);
	ck_assert_uint_eq(rep.undecodable, 1);
	ck_assert_msg(strstr(buf_cstr(&rep.explain), "8-bit bytes under the "
	    "7-bit label iso-2022-jp; does not decode") != NULL, "%s",
	    buf_cstr(&rep.explain));
	repair_report_fini(&rep);
	buf_fini(&out);
}
END_TEST

/* the charset parameter of the first Content-Type, unquoted */
static void
ct_charset(const struct buf *m, struct buf *out)
{
	struct buf v;
	const char *p, *e;

	buf_init(&v);
	field_value(m, "Content-Type", &v);
	buf_reset(out);
	p = strstr(buf_cstr(&v), "charset=");
	ck_assert_msg(p != NULL, "no charset in \"%s\"", buf_cstr(&v));
	p += 8;
	if (*p == '"')
		p++;
	for (e = p; *e && *e != '"' && *e != ';' && *e != ' '; e++)
		;
	buf_append(out, p, (size_t)(e - p));
	buf_fini(&v);
}

START_TEST(label_case)
{
	struct buf msg, out, again, label, text;
	struct repair_report rep;
	const char *body;

	buf_init(&msg);
	buf_init(&out);
	buf_init(&again);
	buf_init(&label);
	buf_init(&text);
	buf_printf(&msg, "From: a@example.org\r\nSubject: s\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: %s\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
	    label_cases[_i].ct, label_cases[_i].body);
	repair_report_init(&rep);
	ck_assert_int_eq(run(msg.data, msg.len, &rep, &out), REPAIR_CHANGED);
	ck_assert_msg(strstr(buf_cstr(&rep.explain), label_cases[_i].why) !=
	    NULL, "%s: report \"%s\"", label_cases[_i].name,
	    buf_cstr(&rep.explain));
	ct_charset(&out, &label);
	ck_assert_msg(strcmp(buf_cstr(&label), label_cases[_i].label) == 0,
	    "%s: labelled \"%s\"", label_cases[_i].name, buf_cstr(&label));
	body = strstr(buf_cstr(&out), "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	body += 4;
	ck_assert_int_eq(to_utf8(label.data, body, strlen(body) - 2, &text),
	    0);
	ck_assert_msg(strcmp(buf_cstr(&text), label_cases[_i].text) == 0,
	    "%s: text \"%s\"", label_cases[_i].name, buf_cstr(&text));
	repair_report_fini(&rep);
	repair_report_init(&rep);
	ck_assert_int_eq(run(out.data, out.len, &rep, &again),
	    REPAIR_UNCHANGED);
	repair_report_fini(&rep);
	buf_fini(&msg);
	buf_fini(&out);
	buf_fini(&again);
	buf_fini(&label);
	buf_fini(&text);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Class 6: the <meta> charset of an HTML part follows the label written */

static const struct {
	const char *name;
	const char *ct;
	const char *cte;
	const char *body;	/* as written */
	const char *want;	/* substring of the output body */
	const char *not;	/* must not be in it, or NULL */
} html_cases[] = {
	{ "meta_charset_converted", "text/html; charset=windows-1251", "8bit",
	    "<html><head><meta charset=\"windows-1251\"><title>\xcf\xf0"
	    "</title></head><body>\xcf</body></html>",
	    "<meta charset=\"utf-8\"><title>\xd0\x9f\xd1\x80", "1251" },
	{ "http_equiv_converted", "text/html; charset=koi8-r", "8bit",
	    "<HTML><HEAD><META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html;"
	    " charset=koi8-r\"></HEAD><BODY>\xf0</BODY></HTML>",
	    "CONTENT=\"text/html; charset=utf-8\">", "koi8" },
	{ "single_quoted_and_unquoted", "text/html; charset=iso-8859-1",
	    "8bit", "<head><meta charset='iso-8859-1'/><meta http-equiv="
	    "content-type content=text/html;charset=iso-8859-1></head>\xe9",
	    "<meta charset='utf-8'/><meta http-equiv=content-type "
	    "content=text/html;charset=utf-8>", "8859" },
	{ "quoted_printable_html", "text/html; charset=windows-1252",
	    "quoted-printable", "<head><meta charset=3D\"windows-1252\">"
	    "</head>caf=E9", "<meta charset=3D\"utf-8\">", "1252" },
	{ "relabelled_without_conversion", "text/html; charset=iso-8859-1",
	    "8bit", "<head><meta charset=\"iso-8859-1\"></head>Gr\xc3\xbc",
	    "<meta charset=\"utf-8\"></head>Gr\xc3\xbc", "8859" },
	{ "html_without_meta_is_kept", "text/html; charset=windows-1251",
	    "8bit", "<p>\xcf\xf0</p>", "<p>\xd0\x9f\xd1\x80</p>", NULL },
};

START_TEST(html_case)
{
	struct buf msg, out, again;
	struct repair_report rep;
	const char *body;

	buf_init(&msg);
	buf_init(&out);
	buf_init(&again);
	buf_printf(&msg, "From: a@example.org\r\nSubject: s\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: %s\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n%s\r\n",
	    html_cases[_i].ct, html_cases[_i].cte, html_cases[_i].body);
	repair_report_init(&rep);
	ck_assert_int_eq(run(msg.data, msg.len, &rep, &out), REPAIR_CHANGED);
	body = strstr(buf_cstr(&out), "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	ck_assert_msg(strstr(body, html_cases[_i].want) != NULL,
	    "%s: body \"%s\"", html_cases[_i].name, body + 4);
	ck_assert_msg(html_cases[_i].not == NULL ||
	    strstr(body, html_cases[_i].not) == NULL, "%s: body \"%s\"",
	    html_cases[_i].name, body + 4);
	repair_report_fini(&rep);
	repair_report_init(&rep);
	ck_assert_int_eq(run(out.data, out.len, &rep, &again),
	    REPAIR_UNCHANGED);
	repair_report_fini(&rep);
	buf_fini(&msg);
	buf_fini(&out);
	buf_fini(&again);
}
END_TEST

/* A head longer than a read chunk: held until "</head>", rewritten. */
START_TEST(html_meta_after_a_long_head)
{
	struct buf msg, out;
	struct repair_report rep;
	size_t i;

	buf_init(&msg);
	buf_init(&out);
	buf_puts(&msg, "Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: "
	    "text/html; charset=windows-1251\r\n\r\n<html><head>\r\n");
	for (i = 0; i < 100; i++)
		buf_puts(&msg, "<!-- a comment line in a long head, about "
		    "seventy octets -->\r\n");
	buf_puts(&msg, "<meta charset=windows-1251></head><body>\xcf");
	for (i = 0; i < 200000; i++)
		buf_putc(&msg, i % 70 ? 'x' : '\n');
	buf_puts(&msg, "</body></html>\r\n");
	repair_report_init(&rep);
	ck_assert_int_eq(run(msg.data, msg.len, &rep, &out), REPAIR_CHANGED);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "<meta charset=utf-8></head><body>\xd0\x9f"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "1251>"));
	repair_report_fini(&rep);
	buf_fini(&msg);
	buf_fini(&out);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Class 5: detect = yes (libuchardet), only for unlabelled text that is
 * not UTF-8, only a guess in the list that decodes cleanly */

#define DETECT_ALL	"windows-1251, koi8-r, shift_jis, euc-jp, euc-kr, " \
	"gb18030, big5"
/* Привет! Как дела? Встретимся завтра в офисе. */
#define RU_1251	"\xcf\xf0\xe8\xe2\xe5\xf2! \xca\xe0\xea \xe4\xe5\xeb\xe0? " \
	"\xc2\xf1\xf2\xf0\xe5\xf2\xe8\xec\xf1\xff \xe7\xe0\xe2\xf2\xf0\xe0 " \
	"\xe2 \xee\xf4\xe8\xf1\xe5."
#define RU_UTF8	"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82! \xd0\x9a" \
	"\xd0\xb0\xd0\xba \xd0\xb4\xd0\xb5\xd0\xbb\xd0\xb0? \xd0\x92\xd1" \
	"\x81\xd1\x82\xd1\x80\xd0\xb5\xd1\x82\xd0\xb8\xd0\xbc\xd1\x81\xd1" \
	"\x8f \xd0\xb7\xd0\xb0\xd0\xb2\xd1\x82\xd1\x80\xd0\xb0 \xd0\xb2 " \
	"\xd0\xbe\xd1\x84\xd0\xb8\xd1\x81\xd0\xb5."
/* 明日の会議は十時からです。 in Shift_JIS and UTF-8 */
#define JA_SJIS	"\x96\xbe\x93\xfa\x82\xcc\x89\xef\x8b\x63\x82\xcd\x8f\x5c" \
	"\x8e\x9e\x82\xa9\x82\xe7\x82\xc5\x82\xb7\x81\x42"
#define JA_UTF8	"\xe6\x98\x8e\xe6\x97\xa5\xe3\x81\xae\xe4\xbc\x9a\xe8\xad" \
	"\xb0\xe3\x81\xaf\xe5\x8d\x81\xe6\x99\x82\xe3\x81\x8b\xe3\x82\x89" \
	"\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82"

static const struct {
	const char *name;
	const char *ct;		/* NULL: no Content-Type */
	const char *body;
	const char *detect;	/* the list, NULL: off */
	const char *text;	/* UTF-8 read back */
	const char *why;
} detect_cases[] = {
	{ "cp1251_detected", NULL, RU_1251, DETECT_ALL, RU_UTF8,
	    "libuchardet says WINDOWS-1251; read as WINDOWS-1251" },
	{ "shift_jis_under_us_ascii_detected", "text/plain; charset=us-ascii",
	    JA_SJIS, DETECT_ALL, JA_UTF8, "read as CP932" },
	{ "unknown_label_detected", "text/plain; charset=x-user-defined-ish",
	    JA_SJIS, "shift_jis", JA_UTF8, "libuchardet says SHIFT_JIS" },
	{ "guess_not_in_the_list_is_not_taken", NULL, RU_1251, "koi8-r, big5",
	    NULL, "libuchardet says WINDOWS-1251, not taken; read as "
	    "WINDOWS-1252" },
	{ "detection_off_reads_legacy", NULL, RU_1251, NULL, NULL,
	    "read as WINDOWS-1252 (unlabelled)" },
	{ "valid_utf8_needs_no_guess", NULL, RU_UTF8, DETECT_ALL, RU_UTF8,
	    "read as UTF-8 (unlabelled)" },
	{ "labelled_text_is_not_guessed", "text/plain; charset=windows-1251",
	    RU_1251, DETECT_ALL, RU_UTF8, "read as WINDOWS-1251; converted" },
};

START_TEST(detect_case)
{
	struct buf msg, out, text;
	struct repair_report rep;
	const char *body;

	buf_init(&msg);
	buf_init(&out);
	buf_init(&text);
	buf_puts(&msg, "From: a@example.org\r\nSubject: s\r\n");
	if (detect_cases[_i].ct != NULL)
		buf_printf(&msg, "MIME-Version: 1.0\r\nContent-Type: %s\r\n",
		    detect_cases[_i].ct);
	buf_printf(&msg, "\r\n%s\r\n", detect_cases[_i].body);
	repair_report_init(&rep);
	ck_assert_int_eq(run_detect(msg.data, msg.len, detect_cases[_i].detect,
	    &rep, &out), REPAIR_CHANGED);
	ck_assert_msg(strstr(buf_cstr(&rep.explain), detect_cases[_i].why) !=
	    NULL, "%s: report \"%s\"", detect_cases[_i].name,
	    buf_cstr(&rep.explain));
	if (detect_cases[_i].text != NULL) {
		body = strstr(buf_cstr(&out), "\r\n\r\n");
		ck_assert_ptr_nonnull(body);
		body += 4;
		ck_assert_int_eq(to_utf8("utf-8", body, strlen(body) - 2, &text),
		    0);
		ck_assert_msg(strcmp(buf_cstr(&text), detect_cases[_i].text) ==
		    0, "%s: text \"%s\"", detect_cases[_i].name,
		    buf_cstr(&text));
	}
	repair_report_fini(&rep);
	buf_fini(&msg);
	buf_fini(&out);
	buf_fini(&text);
}
END_TEST

static Suite *
repair_header_suite(void)
{
	Suite *s = suite_create("repair_header");
	TCase *tc = tcase_create("long_lines");

	tcase_add_loop_test(tc, long_header_lines_are_folded, 0,
	    (int)(sizeof(long_cases) / sizeof(long_cases[0])));
	tcase_add_test(tc, lines_of_998_octets_are_kept);
	tcase_add_test(tc, structured_field_without_whitespace_is_reported);
	suite_add_tcase(s, tc);
	tc = tcase_create("fields");
	tcase_add_loop_test(tc, field_case, 0,
	    (int)(sizeof(field_cases) / sizeof(field_cases[0])));
	tcase_add_test(tc, text_part_name_with_new_label);
	suite_add_tcase(s, tc);
	tc = tcase_create("labels");
	tcase_add_loop_test(tc, label_case, 0,
	    (int)(sizeof(label_cases) / sizeof(label_cases[0])));
	tcase_add_test(tc, lying_label_no_reading_is_left_and_counted);
	suite_add_tcase(s, tc);
	tc = tcase_create("detect");
	tcase_add_loop_test(tc, detect_case, 0,
	    (int)(sizeof(detect_cases) / sizeof(detect_cases[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("html");
	tcase_add_loop_test(tc, html_case, 0,
	    (int)(sizeof(html_cases) / sizeof(html_cases[0])));
	tcase_add_test(tc, html_meta_after_a_long_head);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(repair_header_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
