/*
 * check_qtool - unit tests for what imc-queue is made of (tools/queue/):
 * the list filters (qfilter), the JSON and text listings (qprint), the
 * status counts from a scan and from tracking log lines (qstatus), and
 * the read-only scan of a scratch tree's Work/, In/ and Out/ (qview).
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qfilter.h"
#include "qprint.h"
#include "qstatus.h"
#include "qview.h"

#define NOW	1796300000	/* a fixed "now" for ages */
#define QA	"0HOQC42OJD2SPDO9"
#define QB	"0HOQC42OK1IT3QAI"
#define QC	"0HOQC42OL0000000"

/* An entry as qview gives it: state, sender, recipients "addr/state". */
static void
make_entry(struct qview_entry *ve, const char *qid, enum layout_dir folder,
    enum qview_state st, const char *sender, int64_t age, int64_t held,
    const char *const *rcpts)
{
	size_t i;

	memset(ve, 0, sizeof(*ve));
	qenv_init(&ve->env);
	memcpy(ve->env.qid, qid, QID_SIZE);
	ve->folder = folder;
	ve->state = st;
	ve->env.arrival = NOW - age;
	ve->env.held = held;
	ve->env.size = 1000;
	ve->env.attempts = st == QVIEW_DEFERRED ? 2 : 0;
	if (sender != NULL)
		qenv_set(&ve->env.sender, sender);
	for (i = 0; rcpts != NULL && rcpts[i] != NULL; i++) {
		char addr[128], *slash;

		snprintf(addr, sizeof(addr), "%s", rcpts[i]);
		slash = strchr(addr, '/');
		if (slash != NULL)
			*slash = '\0';
		qenv_add_rcpt(&ve->env, addr);
		if (slash != NULL && strcmp(slash + 1, "done") == 0)
			ve->env.rcpts[i].state = QRCPT_DONE;
	}
}

/* ------------------------------------------------------------------ */
/* qfilter */

static const char *const rc_remote[] = { "carol@Remote.Test",
	"bob@example.com/done", NULL };
static const char *const rc_other[] = { "dave@other.test", NULL };

struct filter_case {
	const char	*name;
	const char	*held, *deferred;	/* non-NULL: set */
	const char	*domain, *sender, *older;
	int		 want[4];	/* deferred+held, queued, intake, null */
};

/* The four entries: QA deferred and held, remote.test, from alice, 2h
 * old; QB queued, other.test, from bob, 10 min; QC in intake, 3 days;
 * QD queued, from the null sender, 30 s. */
static const struct filter_case filter_cases[] = {
	{ "no_filter_takes_everything", NULL, NULL, NULL, NULL, NULL,
	    { 1, 1, 1, 1 } },
	{ "held_takes_only_held", "", NULL, NULL, NULL, NULL, { 1, 0, 0, 0 } },
	{ "deferred_takes_only_tried", NULL, "", NULL, NULL, NULL,
	    { 1, 0, 0, 0 } },
	{ "domain_any_case", NULL, NULL, "REMOTE.test", NULL, NULL,
	    { 1, 0, 0, 0 } },
	{ "domain_with_at_sign", NULL, NULL, "@other.test", NULL, NULL,
	    { 0, 1, 0, 0 } },
	{ "domain_also_matches_done_recipients", NULL, NULL, "example.com",
	    NULL, NULL, { 1, 0, 0, 0 } },
	{ "domain_is_not_a_suffix_match", NULL, NULL, "test", NULL, NULL,
	    { 0, 0, 0, 0 } },
	{ "sender_any_case", NULL, NULL, NULL, "Alice@Example.org", NULL,
	    { 1, 0, 0, 0 } },
	{ "sender_domain", NULL, NULL, NULL, "@example.net", NULL,
	    { 0, 1, 0, 0 } },
	{ "null_sender_as_brackets", NULL, NULL, NULL, "<>", NULL,
	    { 0, 0, 0, 1 } },
	{ "null_sender_as_empty", NULL, NULL, NULL, "", NULL, { 0, 0, 0, 1 } },
	{ "older_than_an_hour", NULL, NULL, NULL, NULL, "1h", { 1, 0, 1, 0 } },
	{ "older_than_bare_seconds", NULL, NULL, NULL, NULL, "60",
	    { 1, 1, 1, 0 } },
	{ "older_than_exactly_the_age_counts", NULL, NULL, NULL, NULL, "600",
	    { 1, 1, 1, 0 } },
	{ "filters_all_apply", "", NULL, NULL, "@example.org", "3h",
	    { 0, 0, 0, 0 } },
	{ "intake_entry_fails_envelope_filters", NULL, NULL, NULL, NULL, "2d",
	    { 0, 0, 1, 0 } },
};

START_TEST(test_filter_case)
{
	const struct filter_case *c = &filter_cases[_i];
	static const char *const rc_null[] = { "x@null.test", NULL };
	struct qview_entry ve[4];
	struct qfilter f;
	size_t i;

	make_entry(&ve[0], QA, LAYOUT_OUT, QVIEW_DEFERRED, "alice@example.org",
	    7200, NOW - 60, rc_remote);
	make_entry(&ve[1], QB, LAYOUT_OUT, QVIEW_QUEUED, "bob@example.net",
	    600, 0, rc_other);
	make_entry(&ve[2], QC, LAYOUT_WORK, QVIEW_INTAKE, NULL, 3 * 86400, 0,
	    NULL);
	make_entry(&ve[3], QC, LAYOUT_IN, QVIEW_QUEUED, "", 30, 0, rc_null);
	qfilter_init(&f);
	f.held = c->held != NULL;
	f.deferred = c->deferred != NULL;
	f.domain = c->domain;
	f.sender = c->sender;
	if (c->older != NULL)
		ck_assert_int_eq(qfilter_set_age(&f, c->older), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_msg(qfilter_match(&f, &ve[i], NOW) == (c->want[i] != 0),
		    "%s: entry %zu: got %d", c->name, i,
		    qfilter_match(&f, &ve[i], NOW));
		qview_entry_fini(&ve[i]);
	}
}
END_TEST

START_TEST(older_than_refuses_what_is_not_a_duration)
{
	static const char *const bad[] = { "", "x", "-1h", "1y", "1hh",
	    "99999999999999999999", "1.5h" };
	struct qfilter f;
	size_t i;

	qfilter_init(&f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(qfilter_set_age(&f, bad[i]) == -1, "\"%s\" taken",
		    bad[i]);
	ck_assert(f.older_than == -1);
	ck_assert_int_eq(qfilter_set_age(&f, "2d"), 0);
	ck_assert(f.older_than == 172800);
}
END_TEST

/* ------------------------------------------------------------------ */
/* qprint */

struct json_case {
	const char	*name;
	const char	*in;
	const char	*want;
};

static const struct json_case json_cases[] = {
	{ "plain", "alice@example.com", "\"alice@example.com\"" },
	{ "null_is_null", NULL, "null" },
	{ "empty_string", "", "\"\"" },
	{ "quote_and_backslash", "a\"b\\c", "\"a\\\"b\\\\c\"" },
	{ "newline_and_tab", "a\nb\tc", "\"a\\nb\\tc\"" },
	{ "control_bytes", "\x01\x1b\x7f", "\"\\u0001\\u001b\\u007f\"" },
	{ "valid_utf8_kept", "d\xc3\xa9j\xc3\xa0", "\"d\xc3\xa9j\xc3\xa0\"" },
	{ "four_byte_utf8_kept", "\xf0\x9f\x93\xa7", "\"\xf0\x9f\x93\xa7\"" },
	{ "latin1_byte_as_its_character", "caf\xe9", "\"caf\\u00e9\"" },
	{ "cut_utf8_sequence", "a\xc3", "\"a\\u00c3\"" },
	{ "overlong_encoding_refused", "\xc0\xaf", "\"\\u00c0\\u00af\"" },
};

START_TEST(test_json_case)
{
	const struct json_case *c = &json_cases[_i];
	struct buf o;

	buf_init(&o);
	qprint_json_str(&o, c->in);
	ck_assert_msg(strcmp(buf_cstr(&o), c->want) == 0, "%s: %s, want %s",
	    c->name, buf_cstr(&o), c->want);
	buf_fini(&o);
}
END_TEST

START_TEST(json_entry_has_the_documented_fields_in_order)
{
	struct qview_entry ve;
	struct buf o;

	make_entry(&ve, QA, LAYOUT_OUT, QVIEW_DEFERRED, "alice@example.org",
	    7200, NOW - 60, rc_remote);
	ve.env.next_try = NOW + 900;
	qenv_set(&ve.env.error, "connect: refused");
	qenv_set(&ve.env.rcpts[0].text, "connect: refused");
	snprintf(ve.env.rcpts[0].dsn, sizeof(ve.env.rcpts[0].dsn), "4.4.1");
	buf_init(&o);
	qprint_json(&o, &ve);
	ck_assert_str_eq(buf_cstr(&o), "{\"queue_id\":\"" QA "\","
	    "\"folder\":\"Out\",\"state\":\"deferred\",\"held\":true,"
	    "\"held_since\":1796299940,\"arrival_time\":1796292800,"
	    "\"message_size\":1000,\"sender\":\"alice@example.org\","
	    "\"attempts\":2,\"next_try\":1796300900,"
	    "\"last_error\":\"connect: refused\",\"problem\":null,"
	    "\"recipients\":[{\"address\":\"carol@Remote.Test\","
	    "\"state\":\"pending\",\"dsn\":\"4.4.1\","
	    "\"reason\":\"connect: refused\"},{\"address\":"
	    "\"bob@example.com\",\"state\":\"done\",\"dsn\":null,"
	    "\"reason\":null}]}\n");
	qview_entry_fini(&ve);
	buf_fini(&o);
}
END_TEST

START_TEST(json_intake_entry_has_null_sender_and_no_recipients)
{
	struct qview_entry ve;
	struct buf o;

	make_entry(&ve, QC, LAYOUT_WORK, QVIEW_INTAKE, NULL, 5, 0, NULL);
	buf_init(&o);
	qprint_json(&o, &ve);
	ck_assert_msg(strstr(buf_cstr(&o), "\"state\":\"intake\",\"held\":false"
	    ) != NULL, "%s", buf_cstr(&o));
	ck_assert_msg(strstr(buf_cstr(&o), "\"sender\":null") != NULL, "%s",
	    buf_cstr(&o));
	ck_assert_msg(strstr(buf_cstr(&o), "\"recipients\":[]}\n") != NULL,
	    "%s", buf_cstr(&o));
	qview_entry_fini(&ve);
	buf_fini(&o);
}
END_TEST

/* text_marks_held_groups_reasons_and_hides_controls - "!" after a held
 * entry's id, one reason line over recipients that share it, done
 * recipients in brackets, a control byte from a peer's reply as "?" */
START_TEST(text_marks_held_groups_reasons_and_hides_controls)
{
	static const char *const rc[] = { "a@r.test", "b@r.test", "c@r.test",
	    "d@r.test/done", NULL };
	struct qview_entry ve;
	struct buf o;
	const char *s, *p;

	make_entry(&ve, QA, LAYOUT_OUT, QVIEW_DEFERRED, "", 60, NOW - 5, rc);
	qenv_set(&ve.env.rcpts[0].text, "busy\x1b[2J");
	qenv_set(&ve.env.rcpts[1].text, "busy\x1b[2J");
	qenv_set(&ve.env.rcpts[2].text, "full");
	snprintf(ve.env.rcpts[3].dsn, sizeof(ve.env.rcpts[3].dsn), "2.0.0");
	buf_init(&o);
	qprint_text(&o, &ve);
	s = buf_cstr(&o);
	ck_assert_msg(strncmp(s, QA "!     1000 ", 27) == 0, "%s", s);
	ck_assert_msg(strstr(s, " Out   <>\n") != NULL, "%s", s);
	ck_assert_ptr_null(strchr(s, '\x1b'));
	p = strstr(s, "(busy?[2J)\n");
	ck_assert_msg(p != NULL, "%s", s);
	ck_assert_msg(strstr(p + 1, "(busy") == NULL, "reason repeated: %s", s);
	ck_assert_msg(strstr(s, "a@r.test\n") < strstr(s, "b@r.test\n"), "%s",
	    s);
	ck_assert_msg(strstr(s, "b@r.test\n") < strstr(s, "(full)\n"), "%s", s);
	ck_assert_msg(strstr(s, "(full)\n") < strstr(s, "c@r.test\n"), "%s", s);
	ck_assert_msg(strstr(s, "d@r.test [done 2.0.0]\n") != NULL, "%s", s);
	ck_assert_msg(s[o.len - 1] == '\n' && s[o.len - 2] == '\n', "%s", s);
	qview_entry_fini(&ve);
	buf_fini(&o);
}
END_TEST

START_TEST(text_tail_counts_kbytes_and_requests)
{
	struct buf o;

	buf_init(&o);
	qprint_text_tail(&o, 0, 0);
	ck_assert_str_eq(buf_cstr(&o), "Mail queue is empty\n");
	buf_reset(&o);
	qprint_text_tail(&o, 1, 1);
	ck_assert_str_eq(buf_cstr(&o), "-- 1 Kbytes in 1 Request.\n");
	buf_reset(&o);
	qprint_text_tail(&o, 3, 2049);
	ck_assert_str_eq(buf_cstr(&o), "-- 3 Kbytes in 3 Requests.\n");
	buf_fini(&o);
}
END_TEST

/* ------------------------------------------------------------------ */
/* qstatus: tracking log lines */

struct log_case {
	const char	*name;
	const char	*line;
	int		 delivered[2], failed[2], deferred[2];
};

/* NOW is 2026-12-03T12:13:20Z. */
static const struct log_case log_cases[] = {
	{ "delivered_now", "2026-12-03T12:13:20.001Z event=delivered qid=X",
	    { 1, 1 }, { 0, 0 }, { 0, 0 } },
	{ "delivered_59s_ago", "2026-12-03T12:12:21.999Z event=delivered",
	    { 1, 1 }, { 0, 0 }, { 0, 0 } },
	{ "delivered_60s_ago_is_not_last_minute",
	    "2026-12-03T12:12:20.000Z event=delivered", { 0, 1 }, { 0, 0 },
	    { 0, 0 } },
	{ "failed_59m_ago", "2026-12-03T11:14:00.000Z event=failed qid=X",
	    { 0, 0 }, { 0, 1 }, { 0, 0 } },
	{ "deferred_an_hour_ago_is_out",
	    "2026-12-03T11:13:20.000Z event=deferred", { 0, 0 }, { 0, 0 },
	    { 0, 0 } },
	{ "deferred_30s_ago", "2026-12-03T12:12:50.500Z event=deferred to=<a>",
	    { 0, 0 }, { 0, 0 }, { 1, 1 } },
	{ "in_the_future_is_out", "2026-12-03T12:13:30.000Z event=delivered",
	    { 0, 0 }, { 0, 0 }, { 0, 0 } },
	{ "other_events_are_not_counted",
	    "2026-12-03T12:13:10.000Z event=picked-up", { 0, 0 }, { 0, 0 },
	    { 0, 0 } },
	{ "event_name_must_be_whole",
	    "2026-12-03T12:13:10.000Z event=delivered2", { 0, 0 }, { 0, 0 },
	    { 0, 0 } },
	{ "a_forged_field_later_in_the_line_is_not_an_event",
	    "2026-12-03T12:13:10.000Z event=picked-up orig=\"x event=failed\"",
	    { 0, 0 }, { 0, 0 }, { 0, 0 } },
	{ "no_milliseconds_still_read", "2026-12-03T12:13:10Z event=failed",
	    { 0, 0 }, { 1, 1 }, { 0, 0 } },
	{ "garbage_time", "2026-12-0xT14:13:10.000Z event=delivered",
	    { 0, 0 }, { 0, 0 }, { 0, 0 } },
	{ "short_line", "2026-12", { 0, 0 }, { 0, 0 }, { 0, 0 } },
	{ "empty_line", "", { 0, 0 }, { 0, 0 }, { 0, 0 } },
};

START_TEST(test_log_case)
{
	const struct log_case *c = &log_cases[_i];
	struct qstatus_rates r;
	int k;

	memset(&r, 0, sizeof(r));
	qstatus_add_log_line(&r, c->line, strlen(c->line), NOW);
	for (k = 0; k < 2; k++) {
		ck_assert_msg(r.delivered[k] == (unsigned long)c->delivered[k],
		    "%s: delivered[%d] %lu", c->name, k, r.delivered[k]);
		ck_assert_msg(r.failed[k] == (unsigned long)c->failed[k],
		    "%s: failed[%d] %lu", c->name, k, r.failed[k]);
		ck_assert_msg(r.deferred[k] == (unsigned long)c->deferred[k],
		    "%s: deferred[%d] %lu", c->name, k, r.deferred[k]);
	}
}
END_TEST

/* status_counts_folders_destinations_and_the_oldest - an entry counts
 * once per destination however many of its recipients go there; done
 * recipients are no longer pending anywhere */
START_TEST(status_counts_folders_destinations_and_the_oldest)
{
	static const char *const two[] = { "a@R.test", "b@r.TEST",
	    "c@s.test", "d@t.test/done", NULL };
	static const char *const one[] = { "e@r.test", NULL };
	static const char *const local[] = { "f@r.test", NULL };
	struct qview qv;
	struct qstatus st;
	struct buf o;
	size_t i;

	memset(&qv, 0, sizeof(qv));
	qv.v = calloc(4, sizeof(*qv.v));
	ck_assert_ptr_nonnull(qv.v);
	qv.n = qv.cap = 4;
	make_entry(&qv.v[0], QB, LAYOUT_OUT, QVIEW_DEFERRED, "x@y", 100, NOW,
	    two);
	make_entry(&qv.v[1], QC, LAYOUT_OUT, QVIEW_QUEUED, "x@y", 50, 0, one);
	make_entry(&qv.v[2], QA, LAYOUT_IN, QVIEW_DEFERRED, "x@y", 900, 0,
	    local);
	make_entry(&qv.v[3], QC, LAYOUT_WORK, QVIEW_INTAKE, NULL, 10, 0, NULL);
	qstatus_init(&st);
	qstatus_add_view(&st, &qv);
	ck_assert_uint_eq(st.files[LAYOUT_OUT], 2);
	ck_assert_uint_eq(st.files[LAYOUT_IN], 1);
	ck_assert_uint_eq(st.files[LAYOUT_WORK], 1);
	ck_assert_uint_eq(st.held[LAYOUT_OUT], 1);
	ck_assert_str_eq(st.oldest, QA);
	ck_assert_int_eq(st.oldest_folder, LAYOUT_IN);
	ck_assert_uint_eq(st.n_dests, 3);
	for (i = 0; i < st.n_dests; i++) {
		const struct qstatus_dest *d = &st.dests[i];

		if (strcmp(d->domain, "r.test") == 0 && d->folder == LAYOUT_OUT) {
			ck_assert_uint_eq(d->entries, 2);
			ck_assert_uint_eq(d->rcpts, 3);
		} else if (strcmp(d->domain, "r.test") == 0) {
			ck_assert_int_eq(d->folder, LAYOUT_IN);
			ck_assert_uint_eq(d->entries, 1);
		} else {
			ck_assert_str_eq(d->domain, "s.test");
			ck_assert_uint_eq(d->entries, 1);
			ck_assert_uint_eq(d->rcpts, 1);
		}
	}
	buf_init(&o);
	qstatus_format(&st, &o, NOW);
	ck_assert_msg(strstr(buf_cstr(&o), "Out                     2      1\n")
	    != NULL, "%s", buf_cstr(&o));
	ck_assert_msg(strstr(buf_cstr(&o), "oldest entry: " QA " in In, "
	    "arrived 2026-12-03 11:58:20 UTC, 15m ago\n") != NULL, "%s",
	    buf_cstr(&o));
	buf_fini(&o);
	qstatus_fini(&st);
	qview_free(&qv);
}
END_TEST

/* ------------------------------------------------------------------ */
/* qview on a scratch tree */

static char root[PATH_MAX];

static void
put(const char *rel, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* scan_lists_work_in_out_and_unreadable_entries - and leaves out what is
 * not an entry: an In/ content without envelope (being delivered), temp
 * names, other files */
START_TEST(scan_lists_work_in_out_and_unreadable_entries)
{
	static const char *const dirs[] = { "Work", "In", "Out" };
	char path[PATH_MAX + 64];
	struct qview qv;
	struct qview_entry one;
	struct buf err;
	size_t i;
	int fd;

	snprintf(root, sizeof(root), "/tmp/check_qtool.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		ck_assert_int_eq(mkdir(path, 0700), 0);
	}
	put("Work/" QC, "X-Receiver: a@b\r\n\r\nhi\r\n");
	put("Work/.junk.tmp", "x");
	put("Out/" QA ".eml", "Subject: s\r\n\r\nbody\r\n");
	put("Out/" QA ".env", "IMCQ 1\nqid " QA "\narrival 1796290000\n"
	    "origname =\nsender a@b.test\nsize 20\nattempts 1\nnext 0\n"
	    "error =\nheld 1796290100\nrcpt pending 4.4.1 c@d.test busy\n"
	    "end\n");
	put("Out/" QB ".eml", "x");
	put("Out/" QB ".env", "IMCQ 1\nqid " QB "\ntorn");
	put("In/" QB ".eml", "Return-Path: <>\r\n\r\n");	/* no .env */
	put("In/notes.txt", "x");
	ck_assert_int_ne(fd = open(root, O_RDONLY | O_DIRECTORY), -1);
	buf_init(&err);
	ck_assert_int_eq(qview_scan(fd, &qv, &err), 0);
	ck_assert_uint_eq(qv.n, 3);
	ck_assert_str_eq(qv.v[0].env.qid, QA);
	ck_assert_int_eq(qv.v[0].folder, LAYOUT_OUT);
	ck_assert_int_eq(qv.v[0].state, QVIEW_DEFERRED);
	ck_assert(qv.v[0].env.held == 1796290100);
	ck_assert_str_eq(qv.v[1].env.qid, QB);
	ck_assert_int_eq(qv.v[1].state, QVIEW_UNREADABLE);
	ck_assert_ptr_nonnull(qv.v[1].problem);
	ck_assert_str_eq(qv.v[2].env.qid, QC);
	ck_assert_int_eq(qv.v[2].state, QVIEW_INTAKE);
	ck_assert(qv.v[2].env.size == 23);
	qview_free(&qv);
	ck_assert_int_eq(qview_find(fd, QA, &one), 0);
	ck_assert_int_eq(one.folder, LAYOUT_OUT);
	qview_entry_fini(&one);
	ck_assert_int_eq(qview_find(fd, "0000000000000000", &one), -1);
	ck_assert_int_eq(qview_find(fd, "../../etc/passwd", &one), -1);
	close(fd);
	buf_fini(&err);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

static Suite *
qtool_suite(void)
{
	Suite *s = suite_create("qtool");
	TCase *tc = tcase_create("filter");

	tcase_add_loop_test(tc, test_filter_case, 0,
	    sizeof(filter_cases) / sizeof(filter_cases[0]));
	tcase_add_test(tc, older_than_refuses_what_is_not_a_duration);
	suite_add_tcase(s, tc);
	tc = tcase_create("print");
	tcase_add_loop_test(tc, test_json_case, 0,
	    sizeof(json_cases) / sizeof(json_cases[0]));
	tcase_add_test(tc, json_entry_has_the_documented_fields_in_order);
	tcase_add_test(tc, json_intake_entry_has_null_sender_and_no_recipients);
	tcase_add_test(tc, text_marks_held_groups_reasons_and_hides_controls);
	tcase_add_test(tc, text_tail_counts_kbytes_and_requests);
	suite_add_tcase(s, tc);
	tc = tcase_create("status");
	tcase_add_loop_test(tc, test_log_case, 0,
	    sizeof(log_cases) / sizeof(log_cases[0]));
	tcase_add_test(tc, status_counts_folders_destinations_and_the_oldest);
	suite_add_tcase(s, tc);
	tc = tcase_create("view");
	tcase_add_test(tc, scan_lists_work_in_out_and_unreadable_entries);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(qtool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
