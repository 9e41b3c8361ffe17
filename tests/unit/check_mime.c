/*
 * check_mime - unit tests of common/mime.c (the streaming MIME parser).
 *
 * Each case is a message and the expected event log: one line an event,
 * adjacent data events of one kind merged (their split into pieces is the
 * parser's business). Every case is also fed in every two-chunk split and
 * byte by byte, and the small multipart message in every three-chunk
 * split with the two cuts at most 64 bytes apart, and must give the same
 * log.
 */
#include <check.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

/* iconv_to_utf8 - strict conversion with glibc iconv, for the tests */
static int
iconv_to_utf8(const char *cs, const char *bytes, size_t len, struct buf *out)
{
	char tmp[64], *in = (char *)bytes, *o;
	size_t inleft = len, oleft, mark = out->len, r;
	iconv_t cd;

	if ((cd = iconv_open("UTF-8", cs)) == (iconv_t)-1) {
		errno = EINVAL;
		return -1;
	}
	while (inleft > 0) {
		o = tmp;
		oleft = sizeof(tmp);
		r = iconv(cd, &in, &inleft, &o, &oleft);
		if (buf_append(out, tmp, (size_t)(o - tmp)) == -1 ||
		    (r == (size_t)-1 && errno != E2BIG)) {
			iconv_close(cd);
			out->len = mark;
			if (out->data != NULL)
				out->data[mark] = '\0';
			errno = EILSEQ;
			return -1;
		}
	}
	iconv_close(cd);
	return 0;
}

/* The event log. */
struct rec {
	struct buf	 log;
	struct buf	 data;		/* data not yet logged (merged) */
	int		 dtype;		/* its event type, -1 none */
	unsigned	 ddepth;
	struct buf	 decoded;	/* BODY decoded per part, if asked */
	struct codec_dec dec;
	int		 decode;
};

/* esc - log bytes readably */
static void
esc(struct buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			buf_puts(b, "\\r");
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\\')
			buf_puts(b, "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, c);
	}
}

/* rec_flush - log merged data */
static void
rec_flush(struct rec *r)
{
	static const char *names[] = { "H", "E", "B", "PRE", "EPI", "P" };

	if (r->dtype < 0)
		return;
	buf_printf(&r->log, "%s%u \"", names[r->dtype], r->ddepth);
	esc(&r->log, buf_cstr(&r->data), r->data.len);
	buf_puts(&r->log, "\"\n");
	buf_reset(&r->data);
	r->dtype = -1;
}

/* log_params - parameters of a part */
static void
log_params(struct buf *b, const struct mime_param *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		buf_printf(b, " %s=", v[i].name);
		esc(b, v[i].value, strlen(v[i].value));
		if (v[i].charset != NULL)
			buf_printf(b, "(%s'%s)", v[i].charset,
			    v[i].language ? v[i].language : "");
	}
}

/* on_event - the test callback: append to the log */
static int
on_event(const struct mime_event *ev, void *arg)
{
	struct rec *r = arg;
	const struct mime_part *mp = ev->part;

	switch (ev->type) {
	case MIME_EV_BODY:
	case MIME_EV_PREAMBLE:
	case MIME_EV_EPILOGUE:
		ck_assert_uint_gt(ev->len, 0);
		if (r->dtype != (int)ev->type || r->ddepth != ev->depth)
			rec_flush(r);
		r->dtype = (int)ev->type;
		r->ddepth = ev->depth;
		buf_append(&r->data, ev->data, ev->len);
		if (r->decode && ev->type == MIME_EV_BODY)
			ck_assert_int_eq(codec_dec_feed(&r->dec, ev->data,
			    ev->len, &r->decoded), 0);
		return 0;
	default:
		break;
	}
	rec_flush(r);
	ck_assert_uint_eq(ev->depth, mp->depth);
	switch (ev->type) {
	case MIME_EV_HEADER:
		ck_assert_ptr_eq(ev->name, ev->data);
		buf_printf(&r->log, "H%u ", ev->depth);
		esc(&r->log, ev->name, ev->name_len);
		buf_puts(&r->log, ":");
		esc(&r->log, ev->value, ev->value_len);
		buf_puts(&r->log, "\n");
		break;
	case MIME_EV_HEADERS_END:
		buf_printf(&r->log, "E%u %s/%s %s%s%s%s", ev->depth, mp->type,
		    mp->subtype, codec_cte_name(mp->cte),
		    mp->flags & MIME_PART_MULTIPART ? " multi" : "",
		    mp->flags & MIME_PART_MESSAGE ? " message" : "",
		    mp->flags & MIME_PART_OPAQUE ? " opaque" : "");
		log_params(&r->log, mp->params, mp->nparams);
		if (mp->disposition != NULL) {
			buf_printf(&r->log, " | %s", mp->disposition);
			log_params(&r->log, mp->disp_params, mp->ndisp_params);
		}
		buf_puts(&r->log, "\n");
		if (r->decode)
			mime_part_decoder_init(&r->dec, mp);
		break;
	case MIME_EV_PART_END:
		buf_printf(&r->log, "P%u\n", ev->depth);
		if (r->decode)
			ck_assert_int_eq(codec_dec_finish(&r->dec, &r->decoded),
			    0);
		break;
	default:
		break;
	}
	return 0;
}

/* parse - run the parser with chunk cuts at the given offsets */
static char *
parse(const char *msg, size_t len, const size_t *cuts, size_t ncuts,
    unsigned *defects)
{
	struct mime_parser *p;
	struct rec r;
	size_t i, from = 0;

	memset(&r, 0, sizeof(r));
	buf_init(&r.log);
	buf_init(&r.data);
	r.dtype = -1;
	p = mime_parser_new(on_event, &r, iconv_to_utf8);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		ck_assert_int_eq(mime_parser_feed(p, msg + from, to - from), 0);
		from = to;
	}
	ck_assert_int_eq(mime_parser_finish(p), 0);
	rec_flush(&r);
	*defects = mime_parser_defects(p);
	mime_parser_free(p);
	buf_fini(&r.data);
	return buf_steal(&r.log);
}

/* parse_bytewise - feed one byte at a time */
static char *
parse_bytewise(const char *msg, size_t len, unsigned *defects)
{
	size_t *cuts, i;
	char *log;

	if (len < 2)
		return parse(msg, len, NULL, 0, defects);
	cuts = calloc(len - 1, sizeof(*cuts));
	ck_assert_ptr_nonnull(cuts);
	for (i = 0; i < len - 1; i++)
		cuts[i] = i + 1;
	log = parse(msg, len, cuts, len - 1, defects);
	free(cuts);
	return log;
}

struct mime_case {
	const char	*name;
	const char	*msg;
	const char	*want;
	unsigned	 defects;
};

static const struct mime_case cases[] = {
	{ "simple_message_headers_and_body",
	  "Subject: hi\r\nFrom: a@b\r\n\r\nbody line\r\n",
	  "H0 Subject: hi\n"
	  "H0 From: a@b\n"
	  "E0 text/plain 7bit\n"
	  "B0 \"body line\\r\\n\"\n"
	  "P0\n", 0 },
	{ "folded_header_value_kept_raw",
	  "Subject: a\r\n  b\r\n\tc\r\n\r\nx",
	  "H0 Subject: a\\r\\n  b\\r\\n\\x09c\n"
	  "E0 text/plain 7bit\n"
	  "B0 \"x\"\n"
	  "P0\n", 0 },
	{ "headers_only_no_body",
	  "Subject: hi\r\n",
	  "H0 Subject: hi\n"
	  "E0 text/plain 7bit\n"
	  "P0\n", 0 },
	{ "headers_at_eof_without_line_break",
	  "Subject: hi",
	  "H0 Subject: hi\n"
	  "E0 text/plain 7bit\n"
	  "P0\n", 0 },
	{ "empty_input", "", "E0 text/plain 7bit\nP0\n", 0 },
	{ "bare_lf_message",
	  "Subject: hi\nContent-Type: text/plain; charset=\"utf-8\"\n\nline1\nline2\n",
	  "H0 Subject: hi\n"
	  "H0 Content-Type: text/plain; charset=\"utf-8\"\n"
	  "E0 text/plain 7bit charset=utf-8\n"
	  "B0 \"line1\\nline2\\n\"\n"
	  "P0\n", 0 },
	{ "no_blank_line_after_headers_body_starts",
	  "Subject: hi\r\nthis is body\r\n",
	  "H0 Subject: hi\n"
	  "E0 text/plain 7bit\n"
	  "B0 \"this is body\\r\\n\"\n"
	  "P0\n", MIME_DEFECT_NO_SEPARATOR | MIME_DEFECT_BAD_HEADER },
	{ "name_with_space_before_colon",
	  "Subject : hi\r\n\r\n",
	  "H0 Subject: hi\n"
	  "E0 text/plain 7bit\n"
	  "P0\n", 0 },
	{ "content_type_comments_and_case",
	  "Content-Type: Text/PLAIN (body) ; CharSet=us-ascii (Plain text)\r\n"
	  "Content-Transfer-Encoding: Quoted-Printable\r\n\r\n",
	  "H0 Content-Type: Text/PLAIN (body) ; CharSet=us-ascii (Plain text)\n"
	  "H0 Content-Transfer-Encoding: Quoted-Printable\n"
	  "E0 text/plain quoted-printable charset=us-ascii\n"
	  "P0\n", 0 },
	{ "multipart_with_preamble_and_epilogue",
	  "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
	  "preamble\r\n"
	  "--XX\r\n"
	  "Content-Type: text/plain\r\n\r\n"
	  "one\r\n"
	  "--XX\r\n"
	  "\r\n"
	  "two\r\n\r\n"
	  "--XX--\r\n"
	  "epilogue\r\n",
	  "H0 Content-Type: multipart/mixed; boundary=\"XX\"\n"
	  "E0 multipart/mixed 7bit multi boundary=XX\n"
	  "PRE0 \"preamble\"\n"
	  "H1 Content-Type: text/plain\n"
	  "E1 text/plain 7bit\n"
	  "B1 \"one\"\n"
	  "P1\n"
	  "E1 text/plain 7bit\n"
	  "B1 \"two\\r\\n\"\n"
	  "P1\n"
	  "EPI0 \"epilogue\\r\\n\"\n"
	  "P0\n", 0 },
	{ "transport_padding_after_boundary",
	  "Content-Type: multipart/mixed; boundary=b\n\n"
	  "--b \t\n\nx\n--b-- \n",
	  "H0 Content-Type: multipart/mixed; boundary=b\n"
	  "E0 multipart/mixed 7bit multi boundary=b\n"
	  "E1 text/plain 7bit\n"
	  "B1 \"x\"\n"
	  "P1\n"
	  "P0\n", 0 },
	{ "boundary_with_suffix_is_data",
	  "Content-Type: multipart/mixed; boundary=b\n\n"
	  "--b\n\n--bx\n-b\n--b--\n",
	  "H0 Content-Type: multipart/mixed; boundary=b\n"
	  "E0 multipart/mixed 7bit multi boundary=b\n"
	  "E1 text/plain 7bit\n"
	  "B1 \"--bx\\n-b\"\n"
	  "P1\n"
	  "P0\n", 0 },
	{ "close_delimiter_with_trailing_garbage",
	  "Content-Type: multipart/mixed; boundary=b\n\n"
	  "--b\n\nx\n--b--garbage\nepi",
	  "H0 Content-Type: multipart/mixed; boundary=b\n"
	  "E0 multipart/mixed 7bit multi boundary=b\n"
	  "E1 text/plain 7bit\n"
	  "B1 \"x\"\n"
	  "P1\n"
	  "EPI0 \"epi\"\n"
	  "P0\n", 0 },
	{ "missing_final_boundary_is_a_defect",
	  "Content-Type: multipart/mixed; boundary=b\n\n"
	  "--b\n\nx\n",
	  "H0 Content-Type: multipart/mixed; boundary=b\n"
	  "E0 multipart/mixed 7bit multi boundary=b\n"
	  "E1 text/plain 7bit\n"
	  "B1 \"x\\n\"\n"
	  "P1\n"
	  "P0\n", MIME_DEFECT_NO_CLOSE },
	{ "multipart_without_parts",
	  "Content-Type: multipart/mixed; boundary=b\n\njust text\n",
	  "H0 Content-Type: multipart/mixed; boundary=b\n"
	  "E0 multipart/mixed 7bit multi boundary=b\n"
	  "PRE0 \"just text\\n\"\n"
	  "P0\n", MIME_DEFECT_NO_CLOSE | MIME_DEFECT_NO_PARTS },
	{ "multipart_without_boundary_is_opaque",
	  "Content-Type: multipart/mixed\n\n--b\n\nx\n",
	  "H0 Content-Type: multipart/mixed\n"
	  "E0 multipart/mixed 7bit opaque\n"
	  "B0 \"--b\\n\\nx\\n\"\n"
	  "P0\n", MIME_DEFECT_NO_BOUNDARY },
	{ "nested_multipart",
	  "Content-Type: multipart/mixed; boundary=out\n\n"
	  "--out\n"
	  "Content-Type: multipart/alternative; boundary=in\n\n"
	  "--in\n\nplain\n"
	  "--in\nContent-Type: text/html\n\n<p>html</p>\n"
	  "--in--\n"
	  "--out\nContent-Type: application/octet-stream\n"
	  "Content-Transfer-Encoding: base64\n\nAAEC\n"
	  "--out--\n",
	  "H0 Content-Type: multipart/mixed; boundary=out\n"
	  "E0 multipart/mixed 7bit multi boundary=out\n"
	  "H1 Content-Type: multipart/alternative; boundary=in\n"
	  "E1 multipart/alternative 7bit multi boundary=in\n"
	  "E2 text/plain 7bit\n"
	  "B2 \"plain\"\n"
	  "P2\n"
	  "H2 Content-Type: text/html\n"
	  "E2 text/html 7bit\n"
	  "B2 \"<p>html</p>\"\n"
	  "P2\n"
	  "P1\n"
	  "H1 Content-Type: application/octet-stream\n"
	  "H1 Content-Transfer-Encoding: base64\n"
	  "E1 application/octet-stream base64\n"
	  "B1 \"AAEC\"\n"
	  "P1\n"
	  "P0\n", 0 },
	{ "outer_boundary_closes_inner_parts",
	  "Content-Type: multipart/mixed; boundary=out\n\n"
	  "--out\n"
	  "Content-Type: multipart/alternative; boundary=in\n\n"
	  "--in\n\nplain\n"
	  "--out\n\nsecond\n"
	  "--out--\n",
	  "H0 Content-Type: multipart/mixed; boundary=out\n"
	  "E0 multipart/mixed 7bit multi boundary=out\n"
	  "H1 Content-Type: multipart/alternative; boundary=in\n"
	  "E1 multipart/alternative 7bit multi boundary=in\n"
	  "E2 text/plain 7bit\n"
	  "B2 \"plain\"\n"
	  "P2\n"
	  "P1\n"
	  "E1 text/plain 7bit\n"
	  "B1 \"second\"\n"
	  "P1\n"
	  "P0\n", MIME_DEFECT_NO_CLOSE },
	{ "inner_boundary_extending_outer_one",
	  "Content-Type: multipart/mixed; boundary=ab\n\n"
	  "--ab\n"
	  "Content-Type: multipart/mixed; boundary=ab--x\n\n"
	  "--ab--x\n\ninner\n"
	  "--ab--x--\n"
	  "--ab--\n",
	  "H0 Content-Type: multipart/mixed; boundary=ab\n"
	  "E0 multipart/mixed 7bit multi boundary=ab\n"
	  "H1 Content-Type: multipart/mixed; boundary=ab--x\n"
	  "E1 multipart/mixed 7bit multi boundary=ab--x\n"
	  "E2 text/plain 7bit\n"
	  "B2 \"inner\"\n"
	  "P2\n"
	  "P1\n"
	  "P0\n", 0 },
	{ "message_rfc822_parsed_as_nested_message",
	  "Content-Type: multipart/mixed; boundary=b\n\n"
	  "--b\n"
	  "Content-Type: message/rfc822\n\n"
	  "Subject: inner\n"
	  "Content-Type: text/plain; charset=iso-8859-1\n\n"
	  "inner body\n"
	  "--b--\n",
	  "H0 Content-Type: multipart/mixed; boundary=b\n"
	  "E0 multipart/mixed 7bit multi boundary=b\n"
	  "H1 Content-Type: message/rfc822\n"
	  "E1 message/rfc822 7bit message\n"
	  "H2 Subject: inner\n"
	  "H2 Content-Type: text/plain; charset=iso-8859-1\n"
	  "E2 text/plain 7bit charset=iso-8859-1\n"
	  "B2 \"inner body\"\n"
	  "P2\n"
	  "P1\n"
	  "P0\n", 0 },
	{ "digest_parts_default_to_message",
	  "Content-Type: multipart/digest; boundary=d\n\n"
	  "--d\n\nSubject: m1\n\nbody1\n--d--\n",
	  "H0 Content-Type: multipart/digest; boundary=d\n"
	  "E0 multipart/digest 7bit multi boundary=d\n"
	  "E1 message/rfc822 7bit message\n"
	  "H2 Subject: m1\n"
	  "E2 text/plain 7bit\n"
	  "B2 \"body1\"\n"
	  "P2\n"
	  "P1\n"
	  "P0\n", 0 },
	{ "base64_message_rfc822_is_a_leaf",
	  "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n",
	  "H0 Content-Type: message/rfc822\n"
	  "H0 Content-Transfer-Encoding: base64\n"
	  "E0 message/rfc822 base64\n"
	  "B0 \"U3ViamVjdDogeA==\\n\"\n"
	  "P0\n", MIME_DEFECT_ENCODED_COMPOSITE },
	{ "part_headers_cut_by_boundary",
	  "Content-Type: multipart/mixed; boundary=b\n\n"
	  "--b\nContent-Type: text/html\n--b\n--b--\n",
	  "H0 Content-Type: multipart/mixed; boundary=b\n"
	  "E0 multipart/mixed 7bit multi boundary=b\n"
	  "H1 Content-Type: text/html\n"
	  "E1 text/html 7bit\n"
	  "P1\n"
	  "E1 text/plain 7bit\n"
	  "P1\n"
	  "P0\n", MIME_DEFECT_NO_SEPARATOR },
	{ "rfc2231_continuations_charset_and_language",
	  "Content-Type: application/x-stuff;\r\n"
	  " title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
	  " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n"
	  " title*2=\"isn't it!\"\r\n"
	  "Content-Disposition: attachment; filename*=utf-8''caf%C3%A9.txt\r\n"
	  "\r\n",
	  "H0 Content-Type: application/x-stuff;\\r\\n title*0*=us-ascii'en'This%20is%20even%20more%20;\\r\\n title*1*=%2A%2A%2Afun%2A%2A%2A%20;\\r\\n title*2=\"isn't it!\"\n"
	  "H0 Content-Disposition: attachment; filename*=utf-8''caf%C3%A9.txt\n"
	  "E0 application/x-stuff 7bit title=This is even more ***fun*** isn't it!(us-ascii'en) | attachment filename=caf\\xc3\\xa9.txt(utf-8')\n"
	  "P0\n", 0 },
	{ "rfc2231_latin1_converted_to_utf8",
	  "Content-Type: text/plain; name*0*=ISO-8859-1''%E9t; name*1*=%E9.txt\n\n",
	  "H0 Content-Type: text/plain; name*0*=ISO-8859-1''%E9t; name*1*=%E9.txt\n"
	  "E0 text/plain 7bit name=\\xc3\\xa9t\\xc3\\xa9.txt(iso-8859-1')\n"
	  "P0\n", 0 },
	{ "rfc2231_wins_over_plain_parameter",
	  "Content-Disposition: attachment; filename=\"old.txt\"; filename*=utf-8''new.txt\n\n",
	  "H0 Content-Disposition: attachment; filename=\"old.txt\"; filename*=utf-8''new.txt\n"
	  "E0 text/plain 7bit | attachment filename=new.txt(utf-8')\n"
	  "P0\n", 0 },
	{ "rfc2231_unknown_charset_keeps_bytes",
	  "Content-Type: text/plain; name*=x-nope''%E9\n\n",
	  "H0 Content-Type: text/plain; name*=x-nope''%E9\n"
	  "E0 text/plain 7bit name=\\xe9(x-nope')\n"
	  "P0\n", MIME_DEFECT_CHARSET },
	{ "rfc2231_missing_section_is_a_defect",
	  "Content-Type: text/plain; name*0=a; name*2=c\n\n",
	  "H0 Content-Type: text/plain; name*0=a; name*2=c\n"
	  "E0 text/plain 7bit name=ac\n"
	  "P0\n", MIME_DEFECT_BAD_PARAM },
	{ "rfc2047_in_quoted_filename_decoded",
	  "Content-Disposition: attachment;\n filename=\"=?utf-8?B?Y2Fmw6kudHh0?=\"\n\n",
	  "H0 Content-Disposition: attachment;\\n filename=\"=?utf-8?B?Y2Fmw6kudHh0?=\"\n"
	  "E0 text/plain 7bit | attachment filename=caf\\xc3\\xa9.txt\n"
	  "P0\n", 0 },
	{ "unquoted_boundary_with_equals_and_missing_semicolon",
	  "Content-Type: multipart/mixed; boundary=----=_Part_1 charset=x\n\n"
	  "------=_Part_1\n\nx\n------=_Part_1--\n",
	  "H0 Content-Type: multipart/mixed; boundary=----=_Part_1 charset=x\n"
	  "E0 multipart/mixed 7bit multi boundary=----=_Part_1 charset=x\n"
	  "E1 text/plain 7bit\n"
	  "B1 \"x\"\n"
	  "P1\n"
	  "P0\n", MIME_DEFECT_BAD_PARAM },
	{ "bad_content_type_defaults_to_text_plain",
	  "Content-Type: garbage\nContent-Transfer-Encoding: x-uue\n\nx",
	  "H0 Content-Type: garbage\n"
	  "H0 Content-Transfer-Encoding: x-uue\n"
	  "E0 text/plain unknown\n"
	  "B0 \"x\"\n"
	  "P0\n", MIME_DEFECT_BAD_CONTENT_TYPE | MIME_DEFECT_BAD_CTE },
	{ "duplicate_content_type_first_wins",
	  "Content-Type: text/html\nContent-Type: text/plain\n\n",
	  "H0 Content-Type: text/html\n"
	  "H0 Content-Type: text/plain\n"
	  "E0 text/html 7bit\n"
	  "P0\n", MIME_DEFECT_DUP_FIELD },
	{ "raw_8bit_header_is_reported",
	  "Subject: caf\xc3\xa9\n\n",
	  "H0 Subject: caf\\xc3\\xa9\n"
	  "E0 text/plain 7bit\n"
	  "P0\n", MIME_DEFECT_8BIT_HEADER },
	{ "cr_in_the_middle_of_a_body_line_is_data",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\na\rb\r\r\n--b\r--\n--b--\n",
	  "H0 Content-Type: multipart/mixed; boundary=b\n"
	  "E0 multipart/mixed 7bit multi boundary=b\n"
	  "E1 text/plain 7bit\n"
	  "B1 \"a\\rb\\r\\r\\n--b\\r--\"\n"
	  "P1\n"
	  "P0\n", 0 },
	{ "body_without_final_line_break",
	  "\nabc",
	  "E0 text/plain 7bit\n"
	  "B0 \"abc\"\n"
	  "P0\n", 0 },
};

START_TEST(test_case_table)
{
	const struct mime_case *c = &cases[_i];
	size_t len = strlen(c->msg), cut;
	unsigned defects, d2;
	char *log, *log2;

	log = parse(c->msg, len, NULL, 0, &defects);
	ck_assert_msg(strcmp(log, c->want) == 0, "%s:\n--- got\n%s--- want\n%s",
	    c->name, log, c->want);
	ck_assert_msg(defects == c->defects, "%s: defects %#x, want %#x",
	    c->name, defects, c->defects);
	for (cut = 0; cut <= len; cut++) {
		log2 = parse(c->msg, len, &cut, 1, &d2);
		ck_assert_msg(strcmp(log, log2) == 0,
		    "%s: split at %zu:\n%s", c->name, cut, log2);
		ck_assert_uint_eq(d2, defects);
		free(log2);
	}
	log2 = parse_bytewise(c->msg, len, &d2);
	ck_assert_msg(strcmp(log, log2) == 0, "%s: bytewise:\n%s", c->name,
	    log2);
	ck_assert_uint_eq(d2, defects);
	free(log2);
	free(log);
}
END_TEST

static const char small_multipart[] =
    "From: a@example.org\r\n"
    "Subject: =?utf-8?q?caf=C3=A9?=\r\n"
    "Content-Type: multipart/mixed;\r\n boundary=\"=_b\"\r\n"
    "\r\n"
    "pre\r\n"
    "--=_b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9 =\r\nok\r\n"
    "--=_b  \r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: in\r\n"
    "\r\n"
    "--=_bx\r\n"
    "--=_b--\r\n"
    "epi\r\n";

START_TEST(test_three_chunk_splits_give_identical_events)
{
	size_t len = sizeof(small_multipart) - 1, cuts[2];
	unsigned defects, d2;
	char *log, *log2;

	log = parse(small_multipart, len, NULL, 0, &defects);
	ck_assert_uint_eq(defects, 0);
	ck_assert_ptr_nonnull(strstr(log, "B1 \"caf=C3=A9 =\\r\\nok\"\n"));
	ck_assert_ptr_nonnull(strstr(log, "B2 \"--=_bx\"\n"));
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++)
		/* Cuts far apart act alone (the two-chunk splits of the
		 * table cover that); every pair within 64 bytes is tried. */
		for (cuts[1] = cuts[0]; cuts[1] <= len &&
		    cuts[1] <= cuts[0] + 64; cuts[1]++) {
			log2 = parse(small_multipart, len, cuts, 2, &d2);
			ck_assert_msg(strcmp(log, log2) == 0,
			    "split %zu,%zu:\n%s", cuts[0], cuts[1], log2);
			ck_assert_uint_eq(d2, defects);
			free(log2);
		}
	free(log);
}
END_TEST

START_TEST(test_body_decoder_helper_decodes_qp_part)
{
	struct mime_parser *p;
	struct rec r;

	memset(&r, 0, sizeof(r));
	buf_init(&r.log);
	buf_init(&r.data);
	buf_init(&r.decoded);
	r.dtype = -1;
	r.decode = 1;
	p = mime_parser_new(on_event, &r, iconv_to_utf8);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(mime_parser_feed(p, small_multipart,
	    sizeof(small_multipart) - 1), 0);
	ck_assert_int_eq(mime_parser_finish(p), 0);
	/* QP body of part 1, then the 7bit body of the enclosed message. */
	ck_assert_str_eq(buf_cstr(&r.decoded), "caf\xc3\xa9 ok--=_bx");
	mime_parser_free(p);
	buf_fini(&r.log);
	buf_fini(&r.data);
	buf_fini(&r.decoded);
}
END_TEST

START_TEST(test_depth_limit_makes_deep_parts_opaque)
{
	struct buf msg;
	unsigned defects;
	char *log, want[64];
	int i, n = MIME_MAX_DEPTH + 5;

	buf_init(&msg);
	for (i = 0; i < n; i++)
		buf_printf(&msg, "Content-Type: multipart/mixed; boundary=b%d\n"
		    "\n--b%d\n", i, i);
	buf_puts(&msg, "\ndeep\n");
	log = parse(msg.data, msg.len, NULL, 0, &defects);
	ck_assert(defects & MIME_DEFECT_TOO_DEEP);
	snprintf(want, sizeof(want), "E%d multipart/mixed 7bit opaque",
	    MIME_MAX_DEPTH);
	ck_assert_msg(strstr(log, want) != NULL, "%s", log);
	snprintf(want, sizeof(want), "E%d ", MIME_MAX_DEPTH + 1);
	ck_assert_msg(strstr(log, want) == NULL, "%s", log);
	/* The deeper boundaries are body text of the opaque part. */
	snprintf(want, sizeof(want), "--b%d\\n", MIME_MAX_DEPTH + 1);
	ck_assert_msg(strstr(log, want) != NULL, "%s", log);
	free(log);
	buf_fini(&msg);
}
END_TEST

START_TEST(test_header_block_limit_turns_rest_into_body)
{
	struct buf msg;
	unsigned defects;
	char *log;
	size_t i;

	buf_init(&msg);
	buf_puts(&msg, "Subject: first\n");
	for (i = 0; msg.len < MIME_MAX_HEADER_BLOCK + 100; i++)
		buf_printf(&msg, "X-Filler-%zu: %s\n", i,
		    "0123456789012345678901234567890123456789");
	buf_puts(&msg, "\nbody\n");
	log = parse(msg.data, msg.len, NULL, 0, &defects);
	ck_assert_uint_eq(defects, MIME_DEFECT_HEADER_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(log, "H0 Subject: first\n"));
	ck_assert_ptr_nonnull(strstr(log, "E0 text/plain 7bit\nB0 \""));
	ck_assert_ptr_nonnull(strstr(log, "\\nbody\\n\"\nP0\n"));
	free(log);
	buf_fini(&msg);
}
END_TEST

START_TEST(test_long_body_line_streams_through_in_pieces)
{
	struct buf msg, want;
	unsigned defects;
	char *log;
	size_t i, cuts[3] = { 100, 5000, 70000 };

	buf_init(&msg);
	buf_init(&want);
	buf_puts(&msg, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n");
	buf_puts(&want, "B1 \"");
	for (i = 0; i < 100000; i++) {
		buf_putc(&msg, "-b"[i % 2]);
		buf_putc(&want, "-b"[i % 2]);
	}
	buf_puts(&msg, "\r\n--b--\n");
	buf_puts(&want, "\"\n");
	log = parse(msg.data, msg.len, cuts, 3, &defects);
	ck_assert_uint_eq(defects, MIME_DEFECT_LONG_LINE);
	ck_assert_ptr_nonnull(strstr(log, want.data));
	free(log);
	log = parse(msg.data, msg.len, NULL, 0, &defects);
	ck_assert_ptr_nonnull(strstr(log, want.data));
	free(log);
	buf_fini(&msg);
	buf_fini(&want);
}
END_TEST

/* a body no boundary can end (no multipart) is handed on many lines at
 * a time: lines of 998 octets and more, CRLF and bare LF, a CR alone,
 * give the same events and defects whole, in pieces and a byte at a
 * time, and a line over 998 octets is still a defect */
START_TEST(test_body_lines_without_boundaries_near_the_limit)
{
	static const size_t lens[] = { 996, 997, 998, 999, 1000, 2000 };
	struct buf msg;
	unsigned d1, d2, d3, want;
	char *l1, *l2, *l3;
	size_t i, j, k, cuts[2];

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (j = 0; j < 2; j++) {
			buf_init(&msg);
			buf_puts(&msg, "Subject: s\n\nfirst\r\n\n\r\n");
			for (k = 0; k < lens[i]; k++)
				buf_putc(&msg, k % 7 ? 'x' : '-');
			buf_puts(&msg, j ? "\r\nnext\rline\n" : "\nnext\n");
			buf_puts(&msg, "--b\n\nlast");
			cuts[0] = msg.len / 2;
			cuts[1] = msg.len / 2 + 1;
			l1 = parse(msg.data, msg.len, NULL, 0, &d1);
			l2 = parse(msg.data, msg.len, cuts, 2, &d2);
			l3 = parse_bytewise(msg.data, msg.len, &d3);
			ck_assert_str_eq(l1, l2);
			ck_assert_str_eq(l1, l3);
			ck_assert_uint_eq(d1, d2);
			ck_assert_uint_eq(d1, d3);
			want = lens[i] + (j ? 2 : 1) > 1000 ?
			    MIME_DEFECT_LONG_LINE : 0;
			ck_assert_uint_eq(d1 & MIME_DEFECT_LONG_LINE, want);
			free(l1);
			free(l2);
			free(l3);
			buf_fini(&msg);
		}
}
END_TEST

/* stop_at_body - a callback that stops the parser */
static int
stop_at_body(const struct mime_event *ev, void *arg)
{
	(void)arg;
	return ev->type == MIME_EV_BODY;
}

START_TEST(test_callback_can_stop_the_parser)
{
	struct mime_parser *p;

	p = mime_parser_new(stop_at_body, NULL, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(mime_parser_feed(p, "\nbody\n", 6), -1);
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert_int_eq(mime_parser_feed(p, "x", 1), -1);
	mime_parser_free(p);
	mime_parser_free(NULL);
}
END_TEST

START_TEST(test_defect_names)
{
	ck_assert_str_eq(mime_defect_name(MIME_DEFECT_NO_CLOSE),
	    "no-close-boundary");
	ck_assert_str_eq(mime_defect_name(0x80000000u), "unknown");
}
END_TEST

/* mime_suite - all mime tests */
static Suite *
mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_case_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_three_chunk_splits_give_identical_events);
	tcase_add_test(tc, test_body_decoder_helper_decodes_qp_part);
	tcase_add_test(tc, test_depth_limit_makes_deep_parts_opaque);
	tcase_add_test(tc, test_header_block_limit_turns_rest_into_body);
	tcase_add_test(tc, test_long_body_line_streams_through_in_pieces);
	tcase_add_test(tc, test_body_lines_without_boundaries_near_the_limit);
	tcase_add_test(tc, test_callback_can_stop_the_parser);
	tcase_add_test(tc, test_defect_names);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(mime_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
