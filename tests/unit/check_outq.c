/*
 * check_outq - the Out/ queue (connector/queue/outq.c) on a scratch
 * Imcdata tree, with a fake delivery layer: its submit records every job
 * (queue id, recipients, route key, conversion) and the test answers them
 * (fills job->res, calls outq_job_done) as the SMTP side would. Covered:
 * how recipients are grouped into transactions, what each kind of result
 * does to the entry (read back through qenv_load after the batch's
 * commit), retries by retry_schedule, delay notices, expiry, hop count,
 * flush requests (outq_make_due), a stop with jobs not begun, the settled
 * callback and outq_dispose.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "buf.h"
#include "evloop.h"
#include "outq.h"
#include "qtest.h"
#include "route.h"

#define MAX_JOBS	16
#define MAX_RCPTS	8

/* One job as submit saw it. */
struct seen_job {
	struct out_job	*job;
	char		 qid[QID_SIZE];
	char		 key[256];
	char		 charset[64];
	bool		 seven_bit;
	size_t		 n;
	char		 rcpts[MAX_RCPTS][64];
};

static struct qtest T;
static struct evloop *L;
static struct outq *OQ;
static struct {
	struct seen_job	 jobs[MAX_JOBS];
	size_t		 n;
	size_t		 settled;	/* calls of ops->settled */
	bool		 in_submit;
	/* answer every job inside submit (as a cached DNS failure would) */
	bool		 answer_inside;
	size_t		 done_inside;
} F;

static void
fake_submit(void *arg, const struct route *r, struct out_job *job)
{
	struct seen_job *s;
	size_t i;

	ck_assert_ptr_eq(arg, &F);
	ck_assert_uint_lt(F.n, MAX_JOBS);
	s = &F.jobs[F.n++];
	memset(s, 0, sizeof(*s));
	s->job = job;
	snprintf(s->qid, sizeof(s->qid), "%s", job->qid);
	snprintf(s->key, sizeof(s->key), "%s", r->key);
	snprintf(s->charset, sizeof(s->charset), "%s", job->conv.charset);
	s->seven_bit = job->conv.seven_bit;
	s->n = job->n;
	ck_assert_uint_le(job->n, MAX_RCPTS);
	for (i = 0; i < job->n; i++) {
		snprintf(s->rcpts[i], sizeof(s->rcpts[i]), "%s", job->rcpts[i]);
		/* nothing attempted until the delivery says so */
		ck_assert_int_eq(job->res[i].kind, MAIL_TEMP);
	}
	if (F.answer_inside) {
		for (i = 0; i < job->n; i++)
			mail_status_set(&job->res[i], MAIL_TEMP, "4.4.3",
			    "DNS lookup failed");
		F.done_inside++;
		outq_job_done(OQ, job);
	}
}

static void
fake_settled(void *arg)
{
	ck_assert_ptr_eq(arg, &F);
	F.settled++;
}

static const struct outq_ops fake_ops = { fake_submit, fake_settled };

/* What a commit hands on goes to the Out/ queue, as daemon_out_entry. */
static void
to_outq(void *arg, const char *qid)
{
	struct qtest *t = arg;

	ck_assert_uint_lt(t->n_out, QTEST_MAX_OUT);
	memcpy(t->out_qids[t->n_out++], qid, QID_SIZE);
	ck_assert_int_eq(outq_add(OQ, qid), 0);
}

static void
start(const char *conf)
{
	memset(&F, 0, sizeof(F));
	qtest_init(&T, conf);
	ck_assert_ptr_nonnull(L = evloop_new());
	OQ = outq_new(&T.q, L, &fake_ops, &F);
	T.q.out_entry = to_outq;
	T.q.out_arg = &T;
}

static void
finish(void)
{
	/* a run deferred by outq_dispose finds the queue stopped */
	outq_stop(OQ);
	evloop_free(L);
	outq_free(OQ);
	qtest_fini(&T);
}

/* Answer every recipient of job k alike. */
static void
answer(size_t k, enum mail_kind kind, const char *dsn, const char *text)
{
	struct out_job *job = F.jobs[k].job;
	size_t i;

	for (i = 0; i < job->n; i++)
		mail_status_set(&job->res[i], kind, dsn, "%s", text);
}

static void
answer_rcpt(size_t k, size_t i, enum mail_kind kind, const char *dsn,
    const char *text)
{
	mail_status_set(&F.jobs[k].job->res[i], kind, dsn, "%s", text);
}

static void
job_done(size_t k)
{
	struct out_job *job = F.jobs[k].job;

	snprintf(job->relay, sizeof(job->relay), "mx.test[192.0.2.7]:25");
	snprintf(job->tls, sizeof(job->tls), "none");
	outq_job_done(OQ, job);
}

/* The last job submitted for qid. */
static size_t
job_of(const char *qid)
{
	size_t k;

	for (k = F.n; k > 0; k--)
		if (strcmp(F.jobs[k - 1].qid, qid) == 0)
			return k - 1;
	ck_abort_msg("no job for %s", qid);
	return 0;
}

/* The envelope as qenv_format writes it, to compare whole. */
static char *
env_text(const char *qid)
{
	struct qenv e;
	struct buf b;

	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	buf_init(&b);
	ck_assert_int_eq(qenv_format(&e, &b), 0);
	qenv_free(&e);
	return buf_steal(&b);
}

/* The daemon's batch: settled entries disposed, committed. */
static size_t
dispose_commit(void)
{
	struct batch *b = batch_new(&T.q);
	size_t n;

	n = outq_dispose(OQ, b);
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);
	return n;
}

/* A file from alice@remote.example to the given recipients, queued. */
static void
queue_to(const char *const *rcpts, size_t n, char qid[QID_SIZE])
{
	char text[2048];
	size_t i, len;

	len = (size_t)snprintf(text, sizeof(text),
	    "X-Sender: <alice@remote.example>\r\n");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "X-Receiver: <%s>\r\n", rcpts[i]);
	snprintf(text + len, sizeof(text) - len,
	    "Subject: out\r\n\r\nbody\r\n");
	qtest_queue(&T, text, qid);
}

static void
queue_two(char qid[QID_SIZE])
{
	static const char *const two[] = { "x@a.example", "y@a.example" };

	queue_to(two, 2, qid);
}

/* Age an entry on disk (arrival moved back by secs). */
static void
age_entry(const char *qid, int64_t secs)
{
	struct qenv e;

	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	e.arrival -= secs;
	qtest_store(&T, LAYOUT_OUT, &e);
	qenv_free(&e);
}

/* ----------------------------------------------------------- grouping */

struct want_job {
	const char	*key;
	const char	*charset;
	bool		 seven_bit;
	const char	*rcpts[MAX_RCPTS];
};

struct group_case {
	const char	*name;
	const char	*conf;
	const char	*rcpts[MAX_RCPTS];
	struct want_job	 jobs[4];
};

static const struct group_case group_cases[] = {
	{ "recipients_of_one_domain_share_a_job", NULL,
	    { "x@a.example", "z@b.example", "y@a.example" },
	    { { "mx:a.example tls=may", "preserve", false,
	    { "x@a.example", "y@a.example" } },
	    { "mx:b.example tls=may", "preserve", false, { "z@b.example" } } } },
	{ "relay_section_groups_its_subdomains",
	    "[domain *.r.example]\nrelay = [192.0.2.1]:2525\n",
	    { "p@one.r.example", "z@b.example", "q@two.r.example" },
	    { { "relay[*.r.example]:[192.0.2.1]:2525 tls=may", "preserve",
	    false, { "p@one.r.example", "q@two.r.example" } },
	    { "mx:b.example tls=may", "preserve", false, { "z@b.example" } } } },
	{ "smarthost_takes_every_domain_in_one_job",
	    "smarthost = [192.0.2.1]:2525\n",
	    { "x@a.example", "z@b.example" },
	    { { "smarthost:[192.0.2.1]:2525 tls=may", "preserve", false,
	    { "x@a.example", "z@b.example" } } } },
	{ "domain_charset_splits_a_route",
	    "smarthost = [192.0.2.1]:2525\n[domain conv.example]\n"
	    "charset = iso-8859-1\n",
	    { "x@a.example", "c@conv.example", "y@a.example" },
	    { { "smarthost:[192.0.2.1]:2525 tls=may", "preserve", false,
	    { "x@a.example", "y@a.example" } },
	    { "smarthost:[192.0.2.1]:2525 tls=may", "iso-8859-1", false,
	    { "c@conv.example" } } } },
	{ "domain_7bit_splits_a_route",
	    "smarthost = [192.0.2.1]:2525\n[domain seven.example]\n"
	    "encoding = 7bit\n",
	    { "s@seven.example", "x@a.example" },
	    { { "smarthost:[192.0.2.1]:2525 tls=may", "preserve", true,
	    { "s@seven.example" } },
	    { "smarthost:[192.0.2.1]:2525 tls=may", "preserve", false,
	    { "x@a.example" } } } },
	{ "domain_tls_makes_its_own_destination",
	    "[domain strict.example]\ntls = encrypt\n",
	    { "x@strict.example", "y@strict.example" },
	    { { "mx:strict.example tls=encrypt", "preserve", false,
	    { "x@strict.example", "y@strict.example" } } } },
	{ "max_rcpts_per_transaction_splits",
	    "max_rcpts_per_transaction = 2\n",
	    { "a1@a.example", "a2@a.example", "a3@a.example", "a4@a.example",
	    "a5@a.example" },
	    { { "mx:a.example tls=may", "preserve", false,
	    { "a1@a.example", "a2@a.example" } },
	    { "mx:a.example tls=may", "preserve", false,
	    { "a3@a.example", "a4@a.example" } },
	    { "mx:a.example tls=may", "preserve", false,
	    { "a5@a.example" } } } },
};

static size_t
count_strs(const char *const *v, size_t max)
{
	size_t n = 0;

	while (n < max && v[n] != NULL)
		n++;
	return n;
}

START_TEST(test_group_case)
{
	const struct group_case *c = &group_cases[_i];
	size_t n_rcpts = count_strs(c->rcpts, MAX_RCPTS), n_jobs = 0, k, i;
	struct qenv e;
	char qid[QID_SIZE];

	while (n_jobs < 4 && c->jobs[n_jobs].key != NULL)
		n_jobs++;
	start(c->conf);
	queue_to(c->rcpts, n_rcpts, qid);
	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_msg(F.n == n_jobs, "%s: %zu jobs", c->name, F.n);
	for (k = 0; k < n_jobs; k++) {
		const struct want_job *w = &c->jobs[k];
		const struct seen_job *s = &F.jobs[k];

		ck_assert_msg(strcmp(s->key, w->key) == 0, "%s: job %zu: %s",
		    c->name, k, s->key);
		ck_assert_str_eq(s->charset, w->charset);
		ck_assert_int_eq(s->seven_bit, w->seven_bit);
		ck_assert_str_eq(s->qid, qid);
		ck_assert_str_eq(s->job->sender, "alice@remote.example");
		ck_assert_uint_eq(s->job->size, e.size);
		ck_assert_uint_eq(s->n, count_strs(w->rcpts, MAX_RCPTS));
		for (i = 0; i < s->n; i++) {
			ck_assert_str_eq(s->rcpts[i], w->rcpts[i]);
			/* idx names the envelope's recipient */
			ck_assert_str_eq(e.rcpts[s->job->idx[i]].addr,
			    w->rcpts[i]);
		}
	}
	ck_assert_uint_eq(outq_active(OQ), 1);
	ck_assert_uint_eq(F.settled, 0);
	qenv_free(&e);
	finish();
}
END_TEST

/* ------------------------------------------------------------ results */

START_TEST(ok_recipients_are_done_and_entry_removed)
{
	struct qenv e;
	char qid[QID_SIZE];

	start(NULL);
	queue_two(qid);
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_uint_eq(F.n, 1);
	answer(0, MAIL_OK, "2.0.0", "250 2.0.0 queued as 1234");
	job_done(0);
	ck_assert_uint_eq(F.settled, 1);
	ck_assert_uint_eq(outq_active(OQ), 0);
	ck_assert_uint_eq(dispose_commit(), 1);
	ck_assert_int_eq(qtest_load(&T, LAYOUT_OUT, qid, &e), -1);
	ck_assert(!qtest_has(&T, LAYOUT_OUT, qid, ".eml"));
	ck_assert_uint_eq(qtest_track(&T, "event=delivered", qid,
	    "status=sent", "relay=mx.test[192.0.2.7]:25", "dsn=2.0.0", NULL),
	    2);
	ck_assert_uint_eq(T.stats.delivered, 2);
	/* no notice, nothing waiting */
	ck_assert_uint_eq(T.n_out, 1);
	ck_assert_uint_eq(qtest_count(&T, "Work"), 0);
	ck_assert_int_eq(outq_next_due_ms(OQ), -1);
	finish();
}
END_TEST

START_TEST(perm_recipient_is_notified_and_entry_removed)
{
	struct qenv e, n;
	char qid[QID_SIZE], name[QID_SIZE + 8], *text;

	start(NULL);
	queue_two(qid);
	ck_assert_uint_eq(outq_run(OQ), 1);
	answer_rcpt(0, 0, MAIL_OK, "2.0.0", "250 ok");
	answer_rcpt(0, 1, MAIL_PERM, "5.1.1", "550 5.1.1 no such user");
	job_done(0);
	ck_assert_uint_eq(dispose_commit(), 1);
	ck_assert_int_eq(qtest_load(&T, LAYOUT_OUT, qid, &e), -1);
	ck_assert_uint_eq(qtest_track(&T, "event=failed", qid,
	    "to=<y@a.example>", "dsn=5.1.1", NULL), 1);
	ck_assert_uint_eq(qtest_track(&T, "event=bounced", qid,
	    "to=<y@a.example>", NULL), 1);
	/* the notice was committed in that batch: a new Out/ entry */
	ck_assert_uint_eq(T.n_out, 2);
	ck_assert_str_ne(T.out_qids[1], qid);
	qtest_must_load(&T, LAYOUT_OUT, T.out_qids[1], &n);
	ck_assert_str_eq(n.sender, "");
	ck_assert_uint_eq(n.n_rcpts, 1);
	ck_assert_str_eq(n.rcpts[0].addr, "alice@remote.example");
	qenv_free(&n);
	snprintf(name, sizeof(name), "%s.eml", T.out_qids[1]);
	ck_assert_ptr_nonnull(text = qtest_read(&T, LAYOUT_OUT, name));
	ck_assert_ptr_nonnull(strstr(text, "Final-Recipient: rfc822; "
	    "y@a.example"));
	ck_assert_ptr_null(strstr(text, "x@a.example"));
	free(text);
	ck_assert_uint_eq(qtest_count(&T, "Work"), 0);
	finish();
}
END_TEST

/* Each TEMP attempt: attempts + 1, next try by retry_schedule (the last
 * step repeating), the last error kept. */
START_TEST(temp_recipients_follow_retry_schedule)
{
	static const int64_t steps[] = { 600, 3600, 3600 };
	struct qenv e;
	char qid[QID_SIZE];
	time_t t0, t1;
	size_t k;
	int64_t ms;

	start("retry_schedule = 10m, 1h\n");
	queue_two(qid);
	for (k = 0; k < 3; k++) {
		if (k > 0) {
			ck_assert_uint_eq(outq_run(OQ), 0);	/* not due */
			ck_assert_uint_eq(outq_make_due(OQ, qid), 1);
		}
		ck_assert_uint_eq(outq_run(OQ), 1);
		ck_assert_uint_eq(F.n, k + 1);
		answer(k, MAIL_TEMP, "4.7.1", "451 4.7.1 greylisted");
		job_done(k);
		t0 = time(NULL);
		ck_assert_uint_eq(dispose_commit(), 1);
		t1 = time(NULL);
		qtest_must_load(&T, LAYOUT_OUT, qid, &e);
		ck_assert_uint_eq(e.attempts, k + 1);
		ck_assert_int_ge(e.next_try, (int64_t)t0 + steps[k]);
		ck_assert_int_le(e.next_try, (int64_t)t1 + steps[k]);
		ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
		ck_assert_int_eq(e.rcpts[1].state, QRCPT_PENDING);
		ck_assert_str_eq(e.rcpts[1].dsn, "4.7.1");
		ck_assert_str_eq(e.rcpts[1].text, "451 4.7.1 greylisted");
		ck_assert_str_eq(e.error, "451 4.7.1 greylisted");
		ck_assert_int_eq(e.warned, 0);
		qenv_free(&e);
		ms = outq_next_due_ms(OQ);
		ck_assert_int_gt(ms, (steps[k] - 2) * 1000);
		ck_assert_int_le(ms, steps[k] * 1000);
	}
	ck_assert_uint_eq(qtest_track(&T, "event=deferred", qid, NULL), 6);
	ck_assert_uint_eq(T.stats.deferred, 6);
	ck_assert_uint_eq(T.n_out, 1);	/* no notice */
	finish();
}
END_TEST

/* The next try never goes past the end of the lifetime. */
START_TEST(next_try_stops_at_end_of_lifetime)
{
	struct qenv e;
	char qid[QID_SIZE];

	start("retry_schedule = 4h\nmax_lifetime = 5h\ndelay_warning = 0\n");
	queue_two(qid);
	age_entry(qid, 4 * 3600);	/* one hour left */
	ck_assert_uint_eq(outq_run(OQ), 1);
	answer(0, MAIL_TEMP, "4.4.1", "connection refused");
	job_done(0);
	ck_assert_uint_eq(dispose_commit(), 1);
	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	ck_assert_int_eq(e.next_try, e.arrival + 5 * 3600);
	qenv_free(&e);
	finish();
}
END_TEST

/* The deferral's new envelope waits in the folded tail (its batch also
 * delivered to the store): the entry is not started again before it is
 * written, or it would be tried with the old one (recipients delivered
 * in the attempt just ended would get it twice). */
START_TEST(entry_waits_for_its_envelope_in_the_tail)
{
	struct batch *b;
	struct qenv e;
	char qid[QID_SIZE], local[QID_SIZE];

	start("retry_schedule = 1h\n");
	batch_tail_enable(&T.q);
	queue_two(qid);
	ck_assert_uint_eq(outq_run(OQ), 1);
	answer(0, MAIL_TEMP, "4.4.1", "connection refused");
	job_done(0);
	b = batch_new(&T.q);
	ck_assert_int_eq(qtest_accept(&T, b, "X-Sender: <a@remote.example>\r\n"
	    "X-Receiver: <bob@local.example>\r\n\r\nbody\r\n", local),
	    ACCEPT_QUEUED);
	ck_assert_uint_eq(outq_dispose(OQ, b), 1);
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);
	ck_assert(batch_tail_has_out(&T.q, qid));
	ck_assert_uint_eq(outq_make_due(OQ, qid), 1);
	ck_assert_int_eq(outq_next_due_ms(OQ), -1);
	ck_assert_uint_eq(outq_run(OQ), 0);	/* its envelope is not written */
	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(e.attempts, 0);
	qenv_free(&e);
	ck_assert_int_eq(batch_flush_tail(&T.q), 0);
	ck_assert(!batch_tail_has_out(&T.q, qid));
	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(e.attempts, 1);
	qenv_free(&e);
	ck_assert_int_eq(outq_next_due_ms(OQ), 0);
	ck_assert_uint_eq(outq_run(OQ), 1);
	batch_tail_free(&T.q);
	finish();
}
END_TEST

START_TEST(perm_and_temp_reports_failure_and_keeps_pending)
{
	struct qenv e;
	char qid[QID_SIZE];
	size_t k;

	start(NULL);
	queue_two(qid);
	ck_assert_uint_eq(outq_run(OQ), 1);
	answer_rcpt(0, 0, MAIL_PERM, "5.1.1", "550 no such user");
	answer_rcpt(0, 1, MAIL_TEMP, "4.2.2", "452 mailbox full");
	job_done(0);
	ck_assert_uint_eq(dispose_commit(), 1);
	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_BOUNCED);
	ck_assert_int_eq(e.rcpts[1].state, QRCPT_PENDING);
	ck_assert_uint_eq(e.attempts, 1);
	qenv_free(&e);
	/* the failure was reported at once, in its own notice */
	ck_assert_uint_eq(T.n_out, 2);
	ck_assert_uint_eq(qtest_track(&T, "event=bounced", qid,
	    "to=<x@a.example>", NULL), 1);
	/* the rest delivered later (beside the notice, due now): no second
	 * report of x@ */
	ck_assert_uint_eq(outq_make_due(OQ, qid), 1);
	ck_assert_uint_eq(outq_run(OQ), 2);
	ck_assert_uint_eq(F.n, 3);
	k = job_of(qid);
	ck_assert_uint_eq(F.jobs[k].n, 1);
	ck_assert_str_eq(F.jobs[k].rcpts[0], "y@a.example");
	answer(k, MAIL_OK, "2.0.0", "250 ok");
	job_done(k);
	ck_assert_uint_eq(dispose_commit(), 1);
	ck_assert_int_eq(qtest_load(&T, LAYOUT_OUT, qid, &e), -1);
	ck_assert_uint_eq(T.n_out, 2);
	ck_assert_uint_eq(qtest_track(&T, "event=bounced", qid, NULL), 1);
	finish();
}
END_TEST

struct delay_case {
	const char	*name;
	int64_t		 age;		/* seconds since arrival */
	bool		 want;
};

static const struct delay_case delay_cases[] = {
	{ "delay_notice_after_delay_warning", 2 * 3600, true },
	{ "no_delay_notice_before_delay_warning", 600, false },
};

START_TEST(test_delay_case)
{
	const struct delay_case *c = &delay_cases[_i];
	struct qenv e;
	char qid[QID_SIZE], name[QID_SIZE + 8], *text;
	time_t t0;
	size_t k;

	start("delay_warning = 1h\n");
	queue_two(qid);
	age_entry(qid, c->age);
	ck_assert_uint_eq(outq_run(OQ), 1);
	answer(0, MAIL_TEMP, "4.4.1", "connection timed out");
	job_done(0);
	t0 = time(NULL);
	ck_assert_uint_eq(dispose_commit(), 1);
	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(T.n_out, c->want ? 2 : 1);
	if (!c->want) {
		ck_assert_int_eq(e.warned, 0);
		qenv_free(&e);
		finish();
		return;
	}
	ck_assert_int_ge(e.warned, (int64_t)t0);
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
	qenv_free(&e);
	snprintf(name, sizeof(name), "%s.eml", T.out_qids[1]);
	ck_assert_ptr_nonnull(text = qtest_read(&T, LAYOUT_OUT, name));
	ck_assert_ptr_nonnull(strstr(text, "Action: delayed"));
	free(text);
	ck_assert_uint_eq(qtest_track(&T, "event=delay-notice", qid, NULL), 2);
	/* once only (the notice itself starts too, due now) */
	ck_assert_uint_eq(outq_make_due(OQ, qid), 1);
	ck_assert_uint_eq(outq_run(OQ), 2);
	k = job_of(qid);
	answer(k, MAIL_TEMP, "4.4.1", "connection timed out");
	job_done(k);
	ck_assert_uint_eq(dispose_commit(), 1);
	ck_assert_uint_eq(T.n_out, 2);
	ck_assert_uint_eq(qtest_track(&T, "event=delay-notice", qid, NULL), 2);
	finish();
}
END_TEST

/* An entry past max_lifetime is not sent: its recipients fail 4.4.7. */
START_TEST(expired_entry_bounces_without_attempt)
{
	struct qenv e;
	char qid[QID_SIZE], name[QID_SIZE + 8], *text;

	start("max_lifetime = 1h\n");
	queue_two(qid);
	age_entry(qid, 2 * 3600);
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_uint_eq(F.n, 0);
	ck_assert_uint_eq(F.settled, 1);
	ck_assert(outq_has_settled(OQ));
	ck_assert_uint_eq(dispose_commit(), 1);
	ck_assert_int_eq(qtest_load(&T, LAYOUT_OUT, qid, &e), -1);
	ck_assert_uint_eq(qtest_track(&T, "event=bounced", qid, "dsn=4.4.7",
	    NULL), 2);
	ck_assert_uint_eq(T.n_out, 2);
	snprintf(name, sizeof(name), "%s.eml", T.out_qids[1]);
	ck_assert_ptr_nonnull(text = qtest_read(&T, LAYOUT_OUT, name));
	ck_assert_ptr_nonnull(strstr(text, "Status: 4.4.7"));
	free(text);
	finish();
}
END_TEST

/* Too many Received: lines: a loop, failed 5.4.6 without an attempt. */
START_TEST(too_many_hops_fail_without_attempt)
{
	struct qenv e;
	char qid[QID_SIZE];

	start("max_hops = 2\n");
	qtest_queue(&T, "X-Sender: <alice@remote.example>\r\n"
	    "X-Receiver: <x@a.example>\r\n"
	    "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "received: from c by d; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "Subject: loop\r\n\r\nbody\r\n", qid);
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_uint_eq(F.n, 0);
	ck_assert_uint_eq(dispose_commit(), 1);
	ck_assert_int_eq(qtest_load(&T, LAYOUT_OUT, qid, &e), -1);
	ck_assert_uint_eq(qtest_track(&T, "event=bounced", qid, "dsn=5.4.6",
	    NULL), 1);
	finish();
}
END_TEST

START_TEST(unreadable_entry_is_quarantined_at_start)
{
	char qid[QID_SIZE], name[QID_SIZE + 8];
	int fd;

	start(NULL);
	queue_two(qid);
	snprintf(name, sizeof(name), "%s.eml", qid);
	fd = openat(T.dir[LAYOUT_OUT], name, O_WRONLY | O_APPEND);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	(void)outq_run(OQ);
	ck_assert_uint_eq(F.n, 0);
	ck_assert_uint_eq(F.settled, 0);
	ck_assert_uint_eq(outq_active(OQ), 0);
	ck_assert(qtest_has(&T, LAYOUT_BADMAIL, qid, ".bad"));
	ck_assert(qtest_has(&T, LAYOUT_BADMAIL, qid, ".bdr"));
	ck_assert(!qtest_has(&T, LAYOUT_OUT, qid, ".eml"));
	ck_assert_int_eq(outq_next_due_ms(OQ), -1);
	finish();
}
END_TEST

/* ------------------------------------------------------- flush, load */

START_TEST(make_due_starts_waiting_entries)
{
	char a[QID_SIZE], b[QID_SIZE], other[QID_SIZE];
	size_t k;

	start(NULL);
	queue_two(a);
	queue_two(b);
	ck_assert_uint_eq(outq_run(OQ), 2);
	for (k = 0; k < 2; k++) {
		answer(k, MAIL_TEMP, "4.4.1", "refused");
		job_done(k);
	}
	ck_assert_uint_eq(dispose_commit(), 2);
	ck_assert_uint_eq(outq_run(OQ), 0);
	ck_assert_int_gt(outq_next_due_ms(OQ), 0);
	/* an unknown queue id changes nothing */
	ck_assert_int_eq(qid_new(other), 0);
	ck_assert_uint_eq(outq_make_due(OQ, other), 0);
	ck_assert_uint_eq(outq_make_due(OQ, b), 1);
	ck_assert_uint_eq(outq_make_due(OQ, b), 0);	/* due already */
	ck_assert_int_eq(outq_next_due_ms(OQ), 0);
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_uint_eq(F.n, 3);
	ck_assert_str_eq(F.jobs[2].qid, b);
	answer(2, MAIL_TEMP, "4.4.1", "refused");
	job_done(2);
	ck_assert_uint_eq(dispose_commit(), 1);
	/* NULL: every waiting entry */
	ck_assert_uint_eq(outq_make_due(OQ, NULL), 2);
	ck_assert_uint_eq(outq_run(OQ), 2);
	ck_assert_uint_eq(F.n, 5);
	finish();
}
END_TEST

START_TEST(load_lists_entries_with_their_next_try)
{
	struct qenv e;
	char a[QID_SIZE], b[QID_SIZE];

	start(NULL);
	/* queued while no Out/ queue listened */
	T.q.out_entry = NULL;
	queue_two(a);
	queue_two(b);
	qtest_must_load(&T, LAYOUT_OUT, b, &e);
	e.next_try = (int64_t)time(NULL) + 3600;
	qtest_store(&T, LAYOUT_OUT, &e);
	qenv_free(&e);
	ck_assert_uint_eq(outq_run(OQ), 0);
	ck_assert_int_eq(outq_load(OQ), 0);
	ck_assert_int_eq(outq_next_due_ms(OQ), 0);
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_uint_eq(F.n, 1);
	ck_assert_str_eq(F.jobs[0].qid, a);
	ck_assert_int_gt(outq_next_due_ms(OQ), 3590 * 1000);
	finish();
}
END_TEST

/* ------------------------------------------------- stop, settle, dispose */

/* Jobs given back unstarted at a stop are no attempt: nothing recorded,
 * the entry waits on disk as it was; a job in hand is recorded. */
START_TEST(stop_with_unstarted_jobs_records_nothing)
{
	struct qenv e;
	char a[QID_SIZE], b[QID_SIZE], *before, *after;

	start(NULL);
	queue_two(a);
	queue_two(b);
	before = env_text(a);
	ck_assert_uint_eq(outq_run(OQ), 2);
	ck_assert_str_eq(F.jobs[0].qid, a);
	outq_stop(OQ);
	/* a: never left its destination's queue */
	F.jobs[0].job->not_started = true;
	answer(0, MAIL_TEMP, "4.3.2", "the connector is stopping");
	job_done(0);
	/* b: in a transaction when the stop came */
	answer(1, MAIL_OK, "2.0.0", "250 ok");
	job_done(1);
	ck_assert_uint_eq(F.settled, 2);
	ck_assert_uint_eq(outq_active(OQ), 0);
	ck_assert_uint_eq(dispose_commit(), 2);
	after = env_text(a);
	ck_assert_str_eq(after, before);
	free(after);
	free(before);
	ck_assert_uint_eq(qtest_track(&T, a, "event=deferred", NULL), 0);
	ck_assert_uint_eq(T.stats.deferred, 0);
	ck_assert_int_eq(qtest_load(&T, LAYOUT_OUT, b, &e), -1);
	ck_assert_uint_eq(qtest_track(&T, b, "event=delivered", NULL), 2);
	/* nothing starts any more */
	ck_assert_uint_eq(outq_make_due(OQ, NULL), 0);
	ck_assert_uint_eq(outq_run(OQ), 0);
	ck_assert_uint_eq(F.n, 2);
	finish();
}
END_TEST

/* settled fires when the last job of an entry is back, not before; the
 * entry's new state reaches the disk only with the batch's commit. */
START_TEST(settled_fires_after_last_job_and_dispose_waits_for_commit)
{
	static const char *const rcpts[] = { "x@a.example", "z@b.example" };
	struct batch *b;
	struct qenv e;
	char qid[QID_SIZE];

	start(NULL);
	queue_to(rcpts, 2, qid);
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_uint_eq(F.n, 2);
	answer(0, MAIL_OK, "2.0.0", "250 ok");
	job_done(0);
	ck_assert_uint_eq(F.settled, 0);
	ck_assert(!outq_has_settled(OQ));
	ck_assert_uint_eq(outq_active(OQ), 1);
	answer(1, MAIL_TEMP, "4.4.1", "refused");
	job_done(1);
	ck_assert_uint_eq(F.settled, 1);
	ck_assert(outq_has_settled(OQ));
	ck_assert_uint_eq(outq_active(OQ), 0);
	/* a settled entry is not started again before it is disposed of */
	ck_assert_uint_eq(outq_make_due(OQ, qid), 0);
	ck_assert_uint_eq(outq_run(OQ), 0);

	b = batch_new(&T.q);
	ck_assert_uint_eq(outq_dispose(OQ, b), 1);
	ck_assert(!outq_has_settled(OQ));
	ck_assert(!batch_empty(b));
	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(e.attempts, 0);
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_PENDING);
	qenv_free(&e);
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);
	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(e.attempts, 1);
	ck_assert_int_eq(e.rcpts[0].state, QRCPT_DONE);
	ck_assert_int_eq(e.rcpts[1].state, QRCPT_PENDING);
	qenv_free(&e);
	/* the next attempt has the pending recipient only */
	ck_assert_uint_eq(outq_make_due(OQ, qid), 1);
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_uint_eq(F.n, 3);
	ck_assert_uint_eq(F.jobs[2].n, 1);
	ck_assert_str_eq(F.jobs[2].rcpts[0], "z@b.example");
	finish();
}
END_TEST

/* A delivery layer that answers inside submit (it must not, but a slip
 * must not settle an entry whose other jobs are not yet handed over). */
START_TEST(answer_inside_submit_settles_once_after_all_jobs)
{
	static const char *const rcpts[] = { "x@a.example", "z@b.example",
	    "w@c.example" };
	struct qenv e;
	char qid[QID_SIZE];

	start(NULL);
	queue_to(rcpts, 3, qid);
	F.answer_inside = true;
	ck_assert_uint_eq(outq_run(OQ), 1);
	ck_assert_uint_eq(F.n, 3);
	ck_assert_uint_eq(F.done_inside, 3);
	ck_assert_uint_eq(F.settled, 1);
	ck_assert_uint_eq(dispose_commit(), 1);
	qtest_must_load(&T, LAYOUT_OUT, qid, &e);
	ck_assert_uint_eq(e.attempts, 1);
	ck_assert_uint_eq(qenv_count(&e, QRCPT_PENDING), 3);
	qenv_free(&e);
	finish();
}
END_TEST

/* outq_dispose asks the loop for a run: entries due meanwhile start
 * from there, not from inside the batch. */
START_TEST(dispose_defers_the_next_run_to_the_loop)
{
	char a[QID_SIZE], b[QID_SIZE];

	start(NULL);
	queue_two(a);
	ck_assert_uint_eq(outq_run(OQ), 1);
	queue_two(b);		/* due, not started yet */
	answer(0, MAIL_OK, "2.0.0", "250 ok");
	job_done(0);
	ck_assert_uint_eq(dispose_commit(), 1);
	ck_assert_uint_eq(F.n, 1);
	ck_assert_int_ne(evloop_run_once(L, 0), -1);
	ck_assert_uint_eq(F.n, 2);
	ck_assert_str_eq(F.jobs[1].qid, b);
	finish();
}
END_TEST

static Suite *
outq_suite(void)
{
	Suite *s = suite_create("outq");
	TCase *tc;

	tc = qtest_tcase("jobs");
	tcase_add_loop_test(tc, test_group_case, 0,
	    (int)(sizeof(group_cases) / sizeof(group_cases[0])));
	suite_add_tcase(s, tc);

	tc = qtest_tcase("results");
	tcase_add_test(tc, ok_recipients_are_done_and_entry_removed);
	tcase_add_test(tc, perm_recipient_is_notified_and_entry_removed);
	tcase_add_test(tc, temp_recipients_follow_retry_schedule);
	tcase_add_test(tc, next_try_stops_at_end_of_lifetime);
	tcase_add_test(tc, entry_waits_for_its_envelope_in_the_tail);
	tcase_add_test(tc, perm_and_temp_reports_failure_and_keeps_pending);
	tcase_add_loop_test(tc, test_delay_case, 0,
	    (int)(sizeof(delay_cases) / sizeof(delay_cases[0])));
	tcase_add_test(tc, expired_entry_bounces_without_attempt);
	tcase_add_test(tc, too_many_hops_fail_without_attempt);
	tcase_add_test(tc, unreadable_entry_is_quarantined_at_start);
	suite_add_tcase(s, tc);

	tc = qtest_tcase("queue");
	tcase_add_test(tc, make_due_starts_waiting_entries);
	tcase_add_test(tc, load_lists_entries_with_their_next_try);
	tcase_add_test(tc, stop_with_unstarted_jobs_records_nothing);
	tcase_add_test(tc,
	    settled_fires_after_last_job_and_dispose_waits_for_commit);
	tcase_add_test(tc, answer_inside_submit_settles_once_after_all_jobs);
	tcase_add_test(tc, dispose_defers_the_next_run_to_the_loop);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(outq_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
