/*
 * check_qfile - unit tests for imcdata-layout/qfile.c.
 *
 * Table-driven: each case is { name, input, want }. Escape cases take a
 * field value and want its escaped token in the .env text and the same
 * value back after a parse. Malformed cases take .env text and want a
 * refusal whose reason holds a given word. A valid envelope cut at every
 * byte offset must be refused: a torn write is never a valid entry.
 * qenv_load and qenv_store run in a mkdtemp folder, removed when the test
 * case ends.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "buf.h"
#include "qfile.h"
#include "qid.h"

#define QID1 "0F3K2J9A1B2XY7QZ"
#define QID2 "0F3K2J9A1B2XY7R0"

/* The head of a valid envelope; cases add rcpt lines and "end". */
#define HEAD "IMCQ 1\nqid " QID1 "\narrival 1732470000\norigname m1.eml\n" \
	"sender alice@example.com\nsize 12\nattempts 0\nnext 0\nerror =\n"
#define RCPT "rcpt pending - carol@remote.test =\n"
#define NULTEXT "IMCQ 1\nqid " QID1 "\nsender a\0b\nend\n"

static char tmpdir[PATH_MAX];

static void
tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_qfile.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
tmp_teardown(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh, empty folder under the scratch folder; returns its fd. */
static int
fresh_dir(const char *name, char *path, size_t size)
{
	int n, fd;

	n = snprintf(path, size, "%s/%s", tmpdir, name);
	ck_assert(n > 0 && (size_t)n < size);
	ck_assert_msg(mkdir(path, 0700) == 0, "%s: %s", path, strerror(errno));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert(fd != -1);
	return fd;
}

static void
write_at(int dirfd, const char *name, const void *data, size_t len)
{
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd != -1, "%s: %s", name, strerror(errno));
	ck_assert(write(fd, data, len) == (ssize_t)len);
	ck_assert(close(fd) == 0);
}

/* The whole content of dirfd/name into out. */
static void
read_at(int dirfd, const char *name, struct buf *out)
{
	char chunk[4096];
	ssize_t n;
	int fd;

	buf_reset(out);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd != -1, "%s: %s", name, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		ck_assert(buf_append(out, chunk, (size_t)n) == 0);
	ck_assert(n == 0);
	close(fd);
}

static size_t
dir_entries(int dirfd)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;
	int fd;

	fd = dup(dirfd);
	ck_assert(fd != -1);
	d = fdopendir(fd);
	ck_assert_ptr_nonnull(d);
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* A full envelope with odd values in every field. */
static void
sample_env(struct qenv *e)
{
	qenv_init(e);
	memcpy(e->qid, QID1, QID_SIZE);
	e->arrival = 1732470000;
	ck_assert(qenv_set(&e->origname, "my file 100%.eml") == 0);
	ck_assert(qenv_set(&e->sender, "\"john doe\"@example.com") == 0);
	e->size = 2311;
	e->attempts = 3;
	e->next_try = 1732473600;
	ck_assert(qenv_set(&e->error, "4.4.1 connect to mx=a: timed out") == 0);
	ck_assert(qenv_add_rcpt(e, "carol@remote.test") == 0);
	ck_assert(qenv_add_rcpt(e, "d\xc3\xa9j\xc3\xa0@example.org") == 0);
	ck_assert(qenv_add_rcpt(e, "\"x y\"@example.net") == 0);
	e->rcpts[1].state = QRCPT_DONE;
	strcpy(e->rcpts[1].dsn, "2.0.0");
	ck_assert(qenv_set(&e->rcpts[1].text, "delivered to Store/x y") == 0);
	e->rcpts[2].state = QRCPT_FAILED;
	strcpy(e->rcpts[2].dsn, "5.1.1");
	ck_assert(qenv_set(&e->rcpts[2].text, "no such mailbox: 50% = gone")
	    == 0);
}

static const char *
str_or_empty(const char *s)
{
	return s ? s : "";
}

/* Two envelopes hold the same values (NULL and "" are both "none"). */
static void
assert_same_env(const struct qenv *a, const struct qenv *b, const char *name)
{
	size_t i;

	ck_assert_msg(strcmp(a->qid, b->qid) == 0, "%s: qid", name);
	ck_assert_msg(a->arrival == b->arrival, "%s: arrival", name);
	ck_assert_msg(strcmp(str_or_empty(a->origname),
	    str_or_empty(b->origname)) == 0, "%s: origname \"%s\" vs \"%s\"",
	    name, str_or_empty(a->origname), str_or_empty(b->origname));
	ck_assert_msg(b->sender != NULL, "%s: no sender", name);
	ck_assert_msg(strcmp(str_or_empty(a->sender), b->sender) == 0,
	    "%s: sender \"%s\" vs \"%s\"", name, str_or_empty(a->sender),
	    b->sender);
	ck_assert_msg(a->size == b->size, "%s: size", name);
	ck_assert_msg(a->attempts == b->attempts, "%s: attempts", name);
	ck_assert_msg(a->next_try == b->next_try, "%s: next", name);
	ck_assert_msg(a->hops == b->hops, "%s: hops %d vs %d", name, a->hops,
	    b->hops);
	ck_assert_msg(a->eightbit == b->eightbit, "%s: eightbit", name);
	ck_assert_msg(a->held == b->held, "%s: held", name);
	ck_assert_msg(strcmp(str_or_empty(a->error), str_or_empty(b->error))
	    == 0, "%s: error \"%s\" vs \"%s\"", name, str_or_empty(a->error),
	    str_or_empty(b->error));
	ck_assert_msg(a->n_rcpts == b->n_rcpts, "%s: %zu rcpts vs %zu", name,
	    a->n_rcpts, b->n_rcpts);
	for (i = 0; i < a->n_rcpts; i++) {
		ck_assert_msg(strcmp(a->rcpts[i].addr, b->rcpts[i].addr) == 0,
		    "%s: rcpt %zu \"%s\" vs \"%s\"", name, i, a->rcpts[i].addr,
		    b->rcpts[i].addr);
		ck_assert_msg(a->rcpts[i].state == b->rcpts[i].state,
		    "%s: rcpt %zu state", name, i);
		ck_assert_msg(strcmp(a->rcpts[i].dsn, b->rcpts[i].dsn) == 0,
		    "%s: rcpt %zu dsn", name, i);
		ck_assert_msg(strcmp(str_or_empty(a->rcpts[i].text),
		    str_or_empty(b->rcpts[i].text)) == 0, "%s: rcpt %zu text",
		    name, i);
	}
}

/* ------------------------------------------------------------------ */
/* Escaping: sender, origname, error, rcpt address and text */

struct escape_case {
	const char *name;
	const char *input;	/* a field value */
	const char *want;	/* its token in the file */
};

static const struct escape_case escape_cases[] = {
	{ "plain_value_is_written_as_is", "alice@example.com",
	    "alice@example.com" },
	{ "space_is_escaped", "a b", "a%20b" },
	{ "percent_is_escaped", "100%", "100%25" },
	{ "equals_is_escaped", "a=b", "a%3Db" },
	{ "lone_equals_is_escaped", "=", "%3D" },
	{ "empty_value_is_an_equals_sign", "", "=" },
	{ "control_bytes_are_escaped", "\t\r\n\x01", "%09%0D%0A%01" },
	{ "delete_byte_is_escaped", "a\x7f", "a%7F" },
	{ "non_ascii_bytes_are_written_raw", "d\xc3\xa9j\xc3\xa0\xff",
	    "d\xc3\xa9j\xc3\xa0\xff" },
	{ "quoted_local_part_with_space",
	    "\"john doe\"@example.com", "\"john%20doe\"@example.com" },
	{ "escape_lookalike_is_escaped", "%41", "%2541" },
};

START_TEST(test_escape_case)
{
	const struct escape_case *c = &escape_cases[_i];
	struct qenv e, back;
	struct buf text, err, line;

	qenv_init(&e);
	buf_init(&text);
	buf_init(&err);
	buf_init(&line);
	memcpy(e.qid, QID1, QID_SIZE);
	ck_assert(qenv_set(&e.sender, c->input) == 0);
	ck_assert(qenv_set(&e.origname, c->input) == 0);
	ck_assert(qenv_set(&e.error, c->input) == 0);
	ck_assert(qenv_add_rcpt(&e, c->input[0] ? c->input : "x@y") == 0);
	ck_assert(qenv_set(&e.rcpts[0].text, c->input) == 0);
	ck_assert_int_eq(qenv_format(&e, &text), 0);

	buf_printf(&line, "\nsender %s\n", c->want);
	ck_assert_msg(strstr(buf_cstr(&text), buf_cstr(&line)) != NULL,
	    "%s: no \"sender %s\" in\n%s", c->name, c->want, buf_cstr(&text));
	buf_reset(&line);
	buf_printf(&line, "\norigname %s\n", c->want);
	ck_assert_msg(strstr(buf_cstr(&text), buf_cstr(&line)) != NULL,
	    "%s: origname token", c->name);
	buf_reset(&line);
	buf_printf(&line, " %s\nend\n", c->want);
	ck_assert_msg(strstr(buf_cstr(&text), buf_cstr(&line)) != NULL,
	    "%s: rcpt text token", c->name);

	ck_assert_msg(qenv_parse(text.data, text.len, &back, &err) == 0,
	    "%s: parse failed: %s", c->name, buf_cstr(&err));
	assert_same_env(&e, &back, c->name);
	ck_assert_msg(strcmp(back.sender, c->input) == 0, "%s: sender back",
	    c->name);
	qenv_free(&e);
	qenv_free(&back);
	buf_fini(&text);
	buf_fini(&err);
	buf_fini(&line);
}
END_TEST

START_TEST(full_envelope_round_trips)
{
	struct qenv e, back, again;
	struct buf text, text2, err;

	sample_env(&e);
	buf_init(&text);
	buf_init(&text2);
	buf_init(&err);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	ck_assert_msg(qenv_parse(text.data, text.len, &back, &err) == 0, "%s",
	    buf_cstr(&err));
	assert_same_env(&e, &back, "full");
	ck_assert_uint_eq(qenv_count(&back, QRCPT_PENDING), 1);
	ck_assert_uint_eq(qenv_count(&back, QRCPT_DONE), 1);
	ck_assert_uint_eq(qenv_count(&back, QRCPT_FAILED), 1);
	/* Formatting the parsed envelope gives the same bytes. */
	ck_assert_int_eq(qenv_format(&back, &text2), 0);
	ck_assert_uint_eq(text.len, text2.len);
	ck_assert_int_eq(memcmp(text.data, text2.data, text.len), 0);
	ck_assert_int_eq(qenv_parse(text2.data, text2.len, &again, &err), 0);
	assert_same_env(&e, &again, "again");
	qenv_free(&e);
	qenv_free(&back);
	qenv_free(&again);
	buf_fini(&text);
	buf_fini(&text2);
	buf_fini(&err);
}
END_TEST

/* dsn_fields_round_trip - RET, ENVID, NOTIFY and ORCPT survive the file */
START_TEST(dsn_fields_round_trip)
{
	struct qenv e, back;
	struct buf text, err;

	qenv_init(&e);
	memcpy(e.qid, "0F3K2J9A1B2XY7QZ", QID_SIZE);
	ck_assert_int_eq(qenv_set(&e.sender, "a@x.example"), 0);
	ck_assert_int_eq(qenv_set(&e.ret, "HDRS"), 0);
	ck_assert_int_eq(qenv_set(&e.envid, "job+2D1"), 0);
	ck_assert_int_eq(qenv_add_rcpt(&e, "b@y.example"), 0);
	ck_assert_int_eq(qenv_set(&e.rcpts[0].notify, "NEVER"), 0);
	ck_assert_int_eq(qenv_add_rcpt(&e, "c@y.example"), 0);
	ck_assert_int_eq(qenv_set(&e.rcpts[1].orcpt, "rfc822;c@y.example"), 0);
	ck_assert_int_eq(qenv_add_rcpt(&e, "d@y.example"), 0);
	buf_init(&text);
	buf_init(&err);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	ck_assert_msg(strstr(buf_cstr(&text), "rcpt pending - b@y.example = NEVER -\n")
	    != NULL, "%s", buf_cstr(&text));
	ck_assert_msg(strstr(buf_cstr(&text), "rcpt pending - d@y.example =\n")
	    != NULL, "%s", buf_cstr(&text));
	ck_assert_msg(qenv_parse(text.data, text.len, &back, &err) == 0, "%s",
	    buf_cstr(&err));
	ck_assert_str_eq(back.ret, "HDRS");
	ck_assert_str_eq(back.envid, "job+2D1");
	ck_assert_str_eq(back.rcpts[0].notify, "NEVER");
	ck_assert_ptr_null(back.rcpts[0].orcpt);
	ck_assert_ptr_null(back.rcpts[1].notify);
	ck_assert_str_eq(back.rcpts[1].orcpt, "rfc822;c@y.example");
	ck_assert_ptr_null(back.rcpts[2].notify);
	qenv_free(&e);
	qenv_free(&back);
	buf_fini(&text);
	buf_fini(&err);
}
END_TEST

START_TEST(format_writes_the_documented_lines)
{
	static const char want[] =
	    "IMCQ 1\nqid " QID1 "\narrival 1732470000\n"
	    "origname my%20file%20100%25.eml\n"
	    "sender \"john%20doe\"@example.com\nsize 2311\nattempts 3\n"
	    "next 1732473600\nerror 4.4.1%20connect%20to%20mx%3Da:%20timed%20out\n"
	    "rcpt pending - carol@remote.test =\n"
	    "rcpt done 2.0.0 d\xc3\xa9j\xc3\xa0@example.org "
	    "delivered%20to%20Store/x%20y\n"
	    "rcpt failed 5.1.1 \"x%20y\"@example.net "
	    "no%20such%20mailbox:%2050%25%20%3D%20gone\n"
	    "end\n";
	struct qenv e;
	struct buf text;

	sample_env(&e);
	buf_init(&text);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	ck_assert_str_eq(buf_cstr(&text), want);
	qenv_free(&e);
	buf_fini(&text);
}
END_TEST

START_TEST(null_sender_round_trips_as_empty)
{
	struct qenv e, back;
	struct buf text, err;

	qenv_init(&e);
	buf_init(&text);
	buf_init(&err);
	memcpy(e.qid, QID1, QID_SIZE);
	ck_assert(qenv_set(&e.sender, "") == 0);
	ck_assert(qenv_add_rcpt(&e, "bob@example.org") == 0);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&text), "\nsender =\n"));
	ck_assert_int_eq(qenv_parse(text.data, text.len, &back, &err), 0);
	ck_assert_ptr_nonnull(back.sender);
	ck_assert_str_eq(back.sender, "");
	/* Unset fields mean none: "=" in the file, empty or NULL back. */
	ck_assert_ptr_nonnull(strstr(buf_cstr(&text), "\norigname =\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&text), "\nerror =\n"));
	ck_assert(back.error == NULL || back.error[0] == '\0');
	ck_assert_ptr_null(back.rcpts[0].text);
	ck_assert_str_eq(back.rcpts[0].dsn, "");
	qenv_free(&e);
	qenv_free(&back);
	buf_fini(&text);
	buf_fini(&err);
}
END_TEST

START_TEST(extreme_numbers_round_trip)
{
	struct qenv e, back;
	struct buf text, err;

	qenv_init(&e);
	buf_init(&text);
	buf_init(&err);
	memcpy(e.qid, QID1, QID_SIZE);
	ck_assert(qenv_set(&e.sender, "a@b") == 0);
	e.arrival = -1;
	e.size = INT64_MAX;
	e.attempts = UINT32_MAX;
	e.next_try = INT64_MIN;
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	ck_assert_msg(qenv_parse(text.data, text.len, &back, &err) == 0, "%s",
	    buf_cstr(&err));
	ck_assert(back.arrival == -1);
	ck_assert(back.size == (uint64_t)INT64_MAX);
	ck_assert(back.attempts == UINT32_MAX);
	ck_assert(back.next_try == INT64_MIN);
	ck_assert_uint_eq(back.n_rcpts, 0);
	qenv_free(&e);
	qenv_free(&back);
	buf_fini(&text);
	buf_fini(&err);
}
END_TEST

START_TEST(many_recipients_round_trip)
{
	struct qenv e, back;
	struct buf text, err;
	char addr[64];
	size_t i;

	qenv_init(&e);
	buf_init(&text);
	buf_init(&err);
	memcpy(e.qid, QID1, QID_SIZE);
	ck_assert(qenv_set(&e.sender, "a@b") == 0);
	for (i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "user%zu@example.org", i);
		ck_assert(qenv_add_rcpt(&e, addr) == 0);
	}
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	ck_assert_int_eq(qenv_parse(text.data, text.len, &back, &err), 0);
	assert_same_env(&e, &back, "many");
	qenv_free(&e);
	qenv_free(&back);
	buf_fini(&text);
	buf_fini(&err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Parsing: accepted odd spellings and refused input */

struct parse_case {
	const char *name;
	const char *input;
	size_t	 len;		/* 0: strlen(input) */
	const char *want_err;	/* NULL: must parse */
};

static const struct parse_case parse_cases[] = {
	{ "minimal_envelope_is_accepted", HEAD "end\n", 0, NULL },
	{ "lowercase_hex_escape_is_accepted",
	    "IMCQ 1\nqid " QID1 "\nsender a%2fb\nend\n", 0, NULL },
	{ "dsn_of_fifteen_bytes_is_accepted",
	    HEAD "rcpt done 2.0.0.0.0.0.0.0 a@b =\nend\n", 0, NULL },
	{ "empty_file_is_refused", "", 0, "incomplete" },
	{ "missing_end_is_refused", HEAD RCPT, 0, "incomplete" },
	{ "end_without_newline_is_refused", HEAD RCPT "end", 0, "no line end" },
	{ "data_after_end_is_refused", HEAD "end\n" RCPT, 0, "after \"end\"" },
	{ "blank_line_after_end_is_refused", HEAD "end\n\n", 0, "after" },
	{ "two_ends_are_refused", HEAD "end\nend\n", 0, "after" },
	{ "partial_line_after_end_is_refused", HEAD "end\nrc", 0,
	    "no line end" },
	{ "wrong_magic_is_refused", "IMCQ 2\nqid " QID1 "\nsender a@b\nend\n",
	    0, "IMCQ 1" },
	{ "lowercase_magic_is_refused",
	    "imcq 1\nqid " QID1 "\nsender a@b\nend\n", 0, "IMCQ 1" },
	{ "magic_not_first_is_refused", "qid " QID1 "\nIMCQ 1\nend\n", 0,
	    "IMCQ 1" },
	{ "crlf_line_ends_are_refused",
	    "IMCQ 1\r\nqid " QID1 "\r\nsender a@b\r\nend\r\n", 0, "IMCQ 1" },
	{ "missing_qid_is_refused", "IMCQ 1\nsender a@b\nend\n", 0,
	    "incomplete" },
	{ "missing_sender_is_refused", "IMCQ 1\nqid " QID1 "\nend\n", 0,
	    "incomplete" },
	{ "short_qid_is_refused", "IMCQ 1\nqid 0F3K2J9A1B2XY7Q\nsender a\nend\n",
	    0, "line 2" },
	{ "long_qid_is_refused",
	    "IMCQ 1\nqid 0F3K2J9A1B2XY7QZZ\nsender a\nend\n", 0, "line 2" },
	{ "lowercase_qid_is_refused",
	    "IMCQ 1\nqid 0f3k2j9a1b2xy7qz\nsender a\nend\n", 0, "line 2" },
	{ "qid_with_slash_is_refused",
	    "IMCQ 1\nqid 0F3K2J9A/B2XY7QZ\nsender a\nend\n", 0, "line 2" },
	{ "bad_state_word_is_refused", HEAD "rcpt sent - a@b =\nend\n", 0,
	    "line 10" },
	{ "state_word_any_case_is_refused", HEAD "rcpt Pending - a@b =\nend\n",
	    0, "line 10" },
	{ "rcpt_with_four_fields_is_refused", HEAD "rcpt pending - a@b\nend\n",
	    0, "line 10" },
	{ "rcpt_with_six_fields_is_refused",
	    HEAD "rcpt pending - a@b = x\nend\n", 0, "line 10" },
	{ "dsn_of_sixteen_bytes_is_refused",
	    HEAD "rcpt done 2.0.0.0.0.0.0.00 a@b =\nend\n", 0, "line 10" },
	{ "bad_escape_in_rcpt_is_refused", HEAD "rcpt pending - a%2@b =\nend\n",
	    0, "line 10" },
	{ "bad_escape_in_rcpt_text_is_refused",
	    HEAD "rcpt failed 5.0.0 a@b bad%zz\nend\n", 0, "line 10" },
	{ "percent_at_end_is_refused",
	    "IMCQ 1\nqid " QID1 "\nsender a%\nend\n", 0, "line 3" },
	{ "percent_with_one_digit_is_refused",
	    "IMCQ 1\nqid " QID1 "\nsender a%4\nend\n", 0, "line 3" },
	{ "non_hex_escape_is_refused",
	    "IMCQ 1\nqid " QID1 "\nsender a%G0\nend\n", 0, "line 3" },
	{ "escaped_nul_is_refused",
	    "IMCQ 1\nqid " QID1 "\nsender a%00b\nend\n", 0, "line 3" },
	{ "raw_equals_inside_value_is_refused",
	    "IMCQ 1\nqid " QID1 "\nsender a=b\nend\n", 0, "line 3" },
	{ "double_equals_is_refused",
	    "IMCQ 1\nqid " QID1 "\nsender ==\nend\n", 0, "line 3" },
	{ "unknown_key_is_refused", HEAD "colour red\nend\n", 0, "line 10" },
	{ "key_without_value_is_refused", HEAD "size\nend\n", 0, "line 10" },
	{ "value_with_space_is_refused", HEAD "sender a b\nend\n", 0,
	    "line 10" },
	{ "blank_line_inside_is_refused", "IMCQ 1\nqid " QID1 "\n\nsender a\nend\n",
	    0, "line 3" },
	{ "word_size_is_refused", HEAD "size twelve\nend\n", 0, "line 10" },
	{ "negative_size_is_refused", HEAD "size -1\nend\n", 0, "line 10" },
	{ "plus_sign_number_is_refused", HEAD "arrival +5\nend\n", 0,
	    "line 10" },
	{ "fraction_is_refused", HEAD "next 1.5\nend\n", 0, "line 10" },
	{ "number_overflow_is_refused", HEAD "arrival 99999999999999999999\nend\n",
	    0, "line 10" },
	{ "attempts_above_u32_is_refused", HEAD "attempts 4294967296\nend\n", 0,
	    "line 10" },
	{ "negative_attempts_is_refused", HEAD "attempts -1\nend\n", 0,
	    "line 10" },
};

/*
 * Regression: qenv_format escapes every byte up
 * to 0x20 and 0x7F, so a raw one in a .env means the file was not written
 * by it (corruption), yet qenv_unescape copies such bytes as they are. A
 * raw NUL is worse: "sender a<NUL>b" is accepted and the sender silently
 * becomes "a".
 */
static const struct parse_case known_bug_cases[] = {
	{ "nul_byte_in_a_line_is_refused",
	    NULTEXT, sizeof(NULTEXT) - 1, "line 3" },
	{ "raw_tab_in_a_value_is_refused",
	    "IMCQ 1\nqid " QID1 "\nsender a\tb\nend\n", 0, "line 3" },
	{ "raw_cr_in_a_value_is_refused",
	    "IMCQ 1\nqid " QID1 "\nsender a\r\nend\n", 0, "line 3" },
};

static void
run_parse_case(const struct parse_case *c)
{
	struct qenv e;
	struct buf err;
	size_t len = c->len ? c->len : strlen(c->input);
	int r;

	buf_init(&err);
	r = qenv_parse(c->input, len, &e, &err);
	if (c->want_err == NULL) {
		ck_assert_msg(r == 0, "%s: refused: %s", c->name, buf_cstr(&err));
		ck_assert_str_eq(e.qid, QID1);
		ck_assert_ptr_nonnull(e.sender);
	} else {
		ck_assert_msg(r == -1, "%s: accepted", c->name);
		ck_assert_msg(strstr(buf_cstr(&err), c->want_err) != NULL,
		    "%s: reason \"%s\" lacks \"%s\"", c->name, buf_cstr(&err),
		    c->want_err);
		/* A refusal leaves an empty envelope. */
		ck_assert_msg(e.n_rcpts == 0 && e.sender == NULL &&
		    e.rcpts == NULL, "%s: envelope not emptied", c->name);
	}
	qenv_free(&e);
	buf_fini(&err);
}

START_TEST(test_parse_case)
{
	run_parse_case(&parse_cases[_i]);
}
END_TEST

START_TEST(test_known_bug_case)
{
	run_parse_case(&known_bug_cases[_i]);
}
END_TEST

START_TEST(parse_reads_every_field)
{
	static const char text[] = HEAD
	    "rcpt done 2.0.0 bob@example.org ok%20thanks\n" RCPT "end\n";
	struct qenv e;
	struct buf err;

	buf_init(&err);
	ck_assert_msg(qenv_parse(text, strlen(text), &e, &err) == 0, "%s",
	    buf_cstr(&err));
	ck_assert_str_eq(e.qid, QID1);
	ck_assert(e.arrival == 1732470000);
	ck_assert_str_eq(e.origname, "m1.eml");
	ck_assert_str_eq(e.sender, "alice@example.com");
	ck_assert(e.size == 12);
	ck_assert_uint_eq(e.attempts, 0);
	ck_assert(e.next_try == 0);
	ck_assert_uint_eq(e.n_rcpts, 2);
	ck_assert_str_eq(e.rcpts[0].addr, "bob@example.org");
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_DONE);
	ck_assert_str_eq(e.rcpts[0].dsn, "2.0.0");
	ck_assert_str_eq(e.rcpts[0].text, "ok thanks");
	ck_assert_str_eq(e.rcpts[1].addr, "carol@remote.test");
	ck_assert_int_eq(e.rcpts[1].state, QRCPT_PENDING);
	ck_assert_str_eq(e.rcpts[1].dsn, "");
	ck_assert_ptr_null(e.rcpts[1].text);
	qenv_free(&e);
	buf_fini(&err);
}
END_TEST

/* held_round_trips_and_only_a_time_is_taken - imc-queue hold marks an
 * entry with the time it was held; no line means not held, and a held
 * line without a positive time is a corrupt file */
START_TEST(held_round_trips_and_only_a_time_is_taken)
{
	static const char held[] = HEAD "held 1732480000\n" RCPT "end\n";
	static const char *const bad[] = { HEAD "held 0\n" RCPT "end\n",
	    HEAD "held -5\n" RCPT "end\n", HEAD "held x\n" RCPT "end\n" };
	struct qenv e;
	struct buf err, text;
	size_t i;

	buf_init(&err);
	buf_init(&text);
	ck_assert_msg(qenv_parse(held, strlen(held), &e, &err) == 0, "%s",
	    buf_cstr(&err));
	ck_assert(e.held == 1732480000);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	ck_assert_str_eq(buf_cstr(&text), held);
	e.held = 0;
	buf_reset(&text);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	ck_assert_ptr_null(strstr(buf_cstr(&text), "held"));
	qenv_free(&e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(qenv_parse(bad[i], strlen(bad[i]), &e, &err) == -1,
		    "case %zu parsed", i);
	buf_fini(&err);
	buf_fini(&text);
}
END_TEST

START_TEST(cut_at_every_byte_offset_is_refused)
{
	struct qenv e, back;
	struct buf text, err;
	size_t cut;

	sample_env(&e);
	buf_init(&text);
	buf_init(&err);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	for (cut = 0; cut < text.len; cut++) {
		buf_reset(&err);
		/* A copy of exactly cut bytes, so a read past it is caught. */
		char *copy = malloc(cut ? cut : 1);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, text.data, cut);
		ck_assert_msg(qenv_parse(copy, cut, &back, &err) == -1,
		    "file cut to %zu of %zu bytes was accepted", cut, text.len);
		ck_assert_msg(err.len > 0, "cut %zu: no reason", cut);
		ck_assert_msg(back.n_rcpts == 0 && back.sender == NULL,
		    "cut %zu: envelope not emptied", cut);
		free(copy);
	}
	ck_assert_int_eq(qenv_parse(text.data, text.len, &back, &err), 0);
	assert_same_env(&e, &back, "whole");
	qenv_free(&back);
	qenv_free(&e);
	buf_fini(&text);
	buf_fini(&err);
}
END_TEST

START_TEST(state_names_are_the_file_words)
{
	ck_assert_str_eq(qrcpt_state_name(QRCPT_PENDING), "pending");
	ck_assert_str_eq(qrcpt_state_name(QRCPT_DONE), "done");
	ck_assert_str_eq(qrcpt_state_name(QRCPT_FAILED), "failed");
}
END_TEST

START_TEST(set_copies_and_null_clears)
{
	char *field = NULL;
	char value[8] = "abc";

	ck_assert_int_eq(qenv_set(&field, value), 0);
	value[0] = 'X';
	ck_assert_str_eq(field, "abc");
	ck_assert_int_eq(qenv_set(&field, "def"), 0);
	ck_assert_str_eq(field, "def");
	ck_assert_int_eq(qenv_set(&field, NULL), 0);
	ck_assert_ptr_null(field);
}
END_TEST

/* ------------------------------------------------------------------ */
/* qenv_load and qenv_store */

static void
store_entry(int dirfd, const struct qenv *e, size_t eml_size)
{
	char name[64], *eml;

	ck_assert_int_eq(qenv_store(dirfd, e, true, false), 0);
	snprintf(name, sizeof(name), "%s.eml", e->qid);
	eml = malloc(eml_size + 1);
	ck_assert_ptr_nonnull(eml);
	memset(eml, 'm', eml_size);
	write_at(dirfd, name, eml, eml_size);
	free(eml);
}

START_TEST(load_reads_a_stored_entry)
{
	struct qenv e, back;
	struct buf err;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("load_ok", path, sizeof(path));
	sample_env(&e);
	store_entry(dfd, &e, 2311);
	buf_init(&err);
	ck_assert_msg(qenv_load(dfd, QID1, &back, &err) == 0, "%s",
	    buf_cstr(&err));
	assert_same_env(&e, &back, "load");
	qenv_free(&e);
	qenv_free(&back);
	buf_fini(&err);
	close(dfd);
}
END_TEST

/* Out/ entries keep the envelope on the content file: one file an
 * entry; a .env beside it wins (the form without user attributes). */
START_TEST(envelope_on_the_content_file)
{
	struct qenv e, back;
	struct buf err;
	char path[PATH_MAX], name[64], *eml;
	struct stat st;
	int dfd;

	dfd = fresh_dir("load_xattr", path, sizeof(path));
	sample_env(&e);
	snprintf(name, sizeof(name), "%s.eml", e.qid);
	eml = malloc(2311);
	ck_assert_ptr_nonnull(eml);
	memset(eml, 'm', 2311);
	write_at(dfd, name, eml, 2311);
	free(eml);
	ck_assert_int_eq(qenv_store_on_content(dfd, &e, false), 0);
	/* no second file: the envelope is an attribute of the content */
	ck_assert_int_eq(fstatat(dfd, QID1 ".env", &st, 0), -1);
	buf_init(&err);
	e.hops = 3;	/* facts known at intake travel along */
	e.eightbit = 1;
	ck_assert_int_eq(qenv_store_on_content(dfd, &e, false), 0);
	ck_assert_msg(qenv_load(dfd, QID1, &back, &err) == 0, "%s",
	    buf_cstr(&err));
	assert_same_env(&e, &back, "xattr");
	qenv_free(&back);
	/* rewritten in place: the new state is what loads */
	e.attempts = 7;
	ck_assert_int_eq(qenv_store_on_content(dfd, &e, false), 0);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), 0);
	ck_assert_uint_eq(back.attempts, 7);
	qenv_free(&back);
	/* a .env beside it wins, and later stores keep to the file */
	e.attempts = 9;
	ck_assert_int_eq(qenv_store(dfd, &e, true, false), 0);
	e.attempts = 11;
	ck_assert_int_eq(qenv_store_on_content(dfd, &e, false), 0);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), 0);
	ck_assert_uint_eq(back.attempts, 11);
	ck_assert_int_eq(fstatat(dfd, QID1 ".env", &st, 0), 0);
	qenv_free(&back);
	qenv_free(&e);
	buf_fini(&err);
	close(dfd);
}
END_TEST

/* Set the attempt mark to a raw value, as a damaged file could hold. */
static int
fsetxattrat_helper(int dfd, const char *name, const char *value)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC), r;

	if (fd == -1)
		return -1;
	r = fsetxattr(fd, QTRY_XATTR, value, strlen(value), 0);
	close(fd);
	return r;
}

/* attempt_mark_round_trips - the mark of an attempt in progress: none on
 * a new entry, the time once set, gone after a clear, kept apart from the
 * envelope (storing the envelope does not touch it: batch_commit clears
 * it after the outcome is stored, never before) */
START_TEST(attempt_mark_round_trips)
{
	int64_t prev;
	struct qenv e;
	char path[PATH_MAX], name[64];
	int dfd;

	dfd = fresh_dir("try_mark", path, sizeof(path));
	sample_env(&e);
	snprintf(name, sizeof(name), "%s.eml", e.qid);
	write_at(dfd, name, "0123456789ab", 12);
	ck_assert_int_eq(qenv_store_on_content(dfd, &e, false), 0);
	ck_assert_int_eq(qtry_clear(dfd, QID1), 0);	/* none: fine */
	ck_assert_int_eq(qtry_begin(dfd, QID1, 1764763200, &prev), 0);
	ck_assert_int_eq(prev, 0);			/* none before */
	e.attempts = 2;
	ck_assert_int_eq(qenv_store_on_content(dfd, &e, false), 0);
	/* the envelope's store kept the mark; a new attempt replaces it */
	ck_assert_int_eq(qtry_begin(dfd, QID1, 1764763300, &prev), 0);
	ck_assert_int_eq(prev, 1764763200);
	ck_assert_int_eq(qtry_clear(dfd, QID1), 0);
	ck_assert_int_eq(qtry_begin(dfd, QID1, 1764763400, &prev), 0);
	ck_assert_int_eq(prev, 0);			/* cleared */
	/* a mark that is not a time still says an attempt was cut off */
	ck_assert_int_eq(fsetxattrat_helper(dfd, name, "garbage"), 0);
	ck_assert_int_eq(qtry_begin(dfd, QID1, 5, &prev), 0);
	ck_assert_int_eq(prev, 1);
	/* no entry: no mark, and marking fails */
	ck_assert_int_eq(qtry_begin(dfd, QID2, 5, &prev), -1);
	ck_assert_int_eq(prev, 0);
	qenv_free(&e);
	close(dfd);
}
END_TEST

/* corrupt_envelope_on_the_content_is_not_taken_for_none - ENOENT means
 * "no envelope" (a finished entry, whose content outq_load removes): a
 * torn attribute, a torn .env, or a content of the wrong size must give
 * another errno, or a valid message would be deleted instead of
 * quarantined (the open of the absent .env left ENOENT behind) */
START_TEST(corrupt_envelope_on_the_content_is_not_taken_for_none)
{
	static const char torn[] = "IMCQ 1\nqid " QID1 "\nsender a\n";
	struct qenv e, back;
	struct buf err, text;
	char path[PATH_MAX];
	int dfd, fd;

	dfd = fresh_dir("load_torn_xattr", path, sizeof(path));
	write_at(dfd, QID1 ".eml", "x", 1);
	fd = openat(dfd, QID1 ".eml", O_RDONLY);
	ck_assert_int_ne(fd, -1);
	if (fsetxattr(fd, QENV_XATTR, torn, sizeof(torn) - 1, 0) == -1) {
		close(fd);
		close(dfd);
		return;	/* no user attributes here: the .env cases below */
	}
	close(fd);
	buf_init(&err);
	errno = 0;
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	ck_assert_msg(errno != ENOENT, "a torn attribute reads as no envelope");
	/* a whole envelope on a content of another size */
	sample_env(&e);
	buf_init(&text);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	fd = openat(dfd, QID1 ".eml", O_RDONLY);
	ck_assert_int_eq(fsetxattr(fd, QENV_XATTR, text.data, text.len, 0), 0);
	close(fd);
	buf_reset(&err);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	ck_assert_msg(errno != ENOENT, "a short content reads as no envelope");
	/* a torn .env, with ENOENT left over from an earlier call */
	write_at(dfd, QID1 ".env", torn, sizeof(torn) - 1);
	errno = ENOENT;
	buf_reset(&err);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	ck_assert_msg(errno != ENOENT, "a torn .env reads as no envelope");
	qenv_free(&e);
	buf_fini(&text);
	buf_fini(&err);
	close(dfd);
}
END_TEST

START_TEST(load_refuses_eml_of_another_size)
{
	struct qenv e, back;
	struct buf err;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("load_size", path, sizeof(path));
	sample_env(&e);
	store_entry(dfd, &e, 2310);
	buf_init(&err);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), QID1 ".eml") != NULL &&
	    strstr(buf_cstr(&err), "2311") != NULL, "reason \"%s\"",
	    buf_cstr(&err));
	ck_assert_uint_eq(back.n_rcpts, 0);
	ck_assert_ptr_null(back.sender);
	/* One byte more is refused too; the right size is accepted. */
	store_entry(dfd, &e, 2312);
	buf_reset(&err);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	store_entry(dfd, &e, 2311);
	ck_assert_msg(qenv_load(dfd, QID1, &back, &err) == 0, "%s",
	    buf_cstr(&err));
	qenv_free(&back);
	qenv_free(&e);
	buf_fini(&err);
	close(dfd);
}
END_TEST

START_TEST(load_refuses_missing_eml)
{
	struct qenv e, back;
	struct buf err;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("load_noeml", path, sizeof(path));
	sample_env(&e);
	ck_assert_int_eq(qenv_store(dfd, &e, true, false), 0);
	buf_init(&err);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), QID1 ".eml"));
	qenv_free(&e);
	buf_fini(&err);
	close(dfd);
}
END_TEST

START_TEST(load_refuses_missing_env)
{
	struct qenv back;
	struct buf err;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("load_noenv", path, sizeof(path));
	write_at(dfd, QID1 ".eml", "abc", 3);
	buf_init(&err);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	/* no <qid>.env and no envelope on <qid>.eml: "no envelope" */
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_msg(strstr(buf_cstr(&err), QID1 ".eml: no envelope") != NULL,
	    "%s", buf_cstr(&err));
	buf_fini(&err);
	close(dfd);
}
END_TEST

START_TEST(load_refuses_env_naming_another_qid)
{
	struct qenv e, back;
	struct buf err, text;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("load_otherqid", path, sizeof(path));
	sample_env(&e);
	buf_init(&text);
	ck_assert_int_eq(qenv_format(&e, &text), 0);	/* names QID1 */
	write_at(dfd, QID2 ".env", text.data, text.len);
	write_at(dfd, QID2 ".eml", "x", 1);
	buf_init(&err);
	ck_assert_int_eq(qenv_load(dfd, QID2, &back, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), "names queue id") != NULL,
	    "reason \"%s\"", buf_cstr(&err));
	ck_assert_ptr_null(back.sender);
	qenv_free(&e);
	buf_fini(&err);
	buf_fini(&text);
	close(dfd);
}
END_TEST

START_TEST(load_refuses_a_torn_env)
{
	struct qenv e, back;
	struct buf err, text;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("load_torn", path, sizeof(path));
	sample_env(&e);
	buf_init(&text);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	write_at(dfd, QID1 ".env", text.data, text.len - 4);	/* no "end" */
	write_at(dfd, QID1 ".eml", "", 0);
	buf_init(&err);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	ck_assert_ptr_null(back.sender);
	qenv_free(&e);
	buf_fini(&err);
	buf_fini(&text);
	close(dfd);
}
END_TEST

START_TEST(load_does_not_follow_symlinks)
{
	struct qenv e, back;
	struct buf err;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("load_links", path, sizeof(path));
	sample_env(&e);
	/* The real files under other names, links in their place. */
	memcpy(e.qid, QID2, QID_SIZE);
	store_entry(dfd, &e, 2311);
	ck_assert_int_eq(symlinkat(QID2 ".eml", dfd, QID1 ".eml"), 0);
	memcpy(e.qid, QID1, QID_SIZE);
	ck_assert_int_eq(qenv_store(dfd, &e, true, false), 0);
	buf_init(&err);
	/* An .eml that is a link to a file of the right size is refused. */
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), QID1 ".eml"));
	/* An .env that is a link is refused. */
	ck_assert_int_eq(unlinkat(dfd, QID1 ".eml", 0), 0);
	ck_assert_int_eq(unlinkat(dfd, QID1 ".env", 0), 0);
	ck_assert_int_eq(symlinkat(QID2 ".env", dfd, QID1 ".env"), 0);
	write_at(dfd, QID1 ".eml", "", 0);
	buf_reset(&err);
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), QID1 ".env"));
	qenv_free(&e);
	buf_fini(&err);
	close(dfd);
}
END_TEST

START_TEST(store_create_writes_the_format)
{
	struct qenv e;
	struct buf text, file;
	struct stat st;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("store_create", path, sizeof(path));
	sample_env(&e);
	buf_init(&text);
	buf_init(&file);
	ck_assert_int_eq(qenv_store(dfd, &e, true, false), 0);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	read_at(dfd, QID1 ".env", &file);
	ck_assert_uint_eq(file.len, text.len);
	ck_assert_int_eq(memcmp(file.data, text.data, text.len), 0);
	ck_assert_int_eq(fstatat(dfd, QID1 ".env", &st, 0), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(dir_entries(dfd), 1);
	qenv_free(&e);
	buf_fini(&text);
	buf_fini(&file);
	close(dfd);
}
END_TEST

START_TEST(store_replace_changes_state_and_leaves_no_temp)
{
	struct qenv e, back;
	struct buf err;
	char path[PATH_MAX];
	int dfd, sync;

	dfd = fresh_dir("store_replace", path, sizeof(path));
	sample_env(&e);
	store_entry(dfd, &e, 2311);
	buf_init(&err);
	for (sync = 0; sync <= 1; sync++) {
		e.attempts++;
		e.rcpts[0].state = QRCPT_FAILED;
		strcpy(e.rcpts[0].dsn, sync ? "5.4.4" : "4.4.1");
		ck_assert(qenv_set(&e.error, sync ? "final" : "retry later") == 0);
		ck_assert_int_eq(qenv_store(dfd, &e, false, sync != 0), 0);
		ck_assert_msg(qenv_load(dfd, QID1, &back, &err) == 0, "%s",
		    buf_cstr(&err));
		assert_same_env(&e, &back, sync ? "sync" : "nosync");
		qenv_free(&back);
		ck_assert_uint_eq(dir_entries(dfd), 2);	/* .env and .eml */
	}
	ck_assert_int_eq(qenv_load(dfd, QID1, &back, &err), 0);
	ck_assert_uint_eq(back.attempts, 5);
	ck_assert_str_eq(back.error, "final");
	qenv_free(&back);
	qenv_free(&e);
	buf_fini(&err);
	close(dfd);
}
END_TEST

START_TEST(store_replace_without_old_file_creates_it)
{
	struct qenv e;
	struct buf text, file;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("store_replace_new", path, sizeof(path));
	sample_env(&e);
	buf_init(&text);
	buf_init(&file);
	ck_assert_int_eq(qenv_store(dfd, &e, false, true), 0);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	read_at(dfd, QID1 ".env", &file);
	ck_assert_str_eq(buf_cstr(&file), buf_cstr(&text));
	ck_assert_uint_eq(dir_entries(dfd), 1);
	qenv_free(&e);
	buf_fini(&text);
	buf_fini(&file);
	close(dfd);
}
END_TEST

START_TEST(store_create_over_a_longer_file_truncates_it)
{
	struct qenv e;
	struct buf text, file;
	char path[PATH_MAX], junk[8192];
	int dfd;

	dfd = fresh_dir("store_trunc", path, sizeof(path));
	memset(junk, 'j', sizeof(junk));
	write_at(dfd, QID1 ".env", junk, sizeof(junk));
	sample_env(&e);
	buf_init(&text);
	buf_init(&file);
	ck_assert_int_eq(qenv_store(dfd, &e, true, false), 0);
	ck_assert_int_eq(qenv_format(&e, &text), 0);
	read_at(dfd, QID1 ".env", &file);
	ck_assert_uint_eq(file.len, text.len);
	ck_assert_str_eq(buf_cstr(&file), buf_cstr(&text));
	qenv_free(&e);
	buf_fini(&text);
	buf_fini(&file);
	close(dfd);
}
END_TEST

START_TEST(store_create_does_not_write_through_a_symlink)
{
	struct qenv e;
	struct buf file;
	char path[PATH_MAX];
	int dfd;

	dfd = fresh_dir("store_link", path, sizeof(path));
	write_at(dfd, "target", "keep", 4);
	ck_assert_int_eq(symlinkat("target", dfd, QID1 ".env"), 0);
	sample_env(&e);
	buf_init(&file);
	ck_assert_int_eq(qenv_store(dfd, &e, true, false), -1);
	read_at(dfd, "target", &file);
	ck_assert_str_eq(buf_cstr(&file), "keep");
	qenv_free(&e);
	buf_fini(&file);
	close(dfd);
}
END_TEST

/* qfile_suite - every qfile test */
static Suite *
qfile_suite(void)
{
	Suite *s = suite_create("qfile");
	TCase *tc;

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_escape_case, 0,
	    (int)(sizeof(escape_cases) / sizeof(escape_cases[0])));
	tcase_add_test(tc, full_envelope_round_trips);
	tcase_add_test(tc, dsn_fields_round_trip);
	tcase_add_test(tc, format_writes_the_documented_lines);
	tcase_add_test(tc, null_sender_round_trips_as_empty);
	tcase_add_test(tc, extreme_numbers_round_trip);
	tcase_add_test(tc, many_recipients_round_trip);
	tcase_add_test(tc, state_names_are_the_file_words);
	tcase_add_test(tc, set_copies_and_null_clears);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_case, 0,
	    (int)(sizeof(parse_cases) / sizeof(parse_cases[0])));
	tcase_add_loop_test(tc, test_known_bug_case, 0,
	    (int)(sizeof(known_bug_cases) / sizeof(known_bug_cases[0])));
	tcase_add_test(tc, parse_reads_every_field);
	tcase_add_test(tc, held_round_trips_and_only_a_time_is_taken);
	tcase_add_test(tc, cut_at_every_byte_offset_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("disk");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, load_reads_a_stored_entry);
	tcase_add_test(tc, load_refuses_eml_of_another_size);
	tcase_add_test(tc, corrupt_envelope_on_the_content_is_not_taken_for_none);
	tcase_add_test(tc, load_refuses_missing_eml);
	tcase_add_test(tc, load_refuses_missing_env);
	tcase_add_test(tc, envelope_on_the_content_file);
	tcase_add_test(tc, attempt_mark_round_trips);
	tcase_add_test(tc, load_refuses_env_naming_another_qid);
	tcase_add_test(tc, load_refuses_a_torn_env);
	tcase_add_test(tc, load_does_not_follow_symlinks);
	tcase_add_test(tc, store_create_writes_the_format);
	tcase_add_test(tc, store_replace_changes_state_and_leaves_no_temp);
	tcase_add_test(tc, store_replace_without_old_file_creates_it);
	tcase_add_test(tc, store_create_over_a_longer_file_truncates_it);
	tcase_add_test(tc, store_create_does_not_write_through_a_symlink);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the qfile suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(qfile_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
