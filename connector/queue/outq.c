/*
 * outq - the Out/ queue (see outq.h).
 */
#include "outq.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "batch.h"
#include "dispose.h"
#include "evloop.h"
#include "log.h"
#include "qctx.h"
#include "qlist.h"
#include "route.h"
#include "strset.h"
#include "tracklog.h"
#include "xalloc.h"

struct out_wait {
	char	 qid[QID_SIZE];
	int64_t	 next;		/* unix time of the next try */
};

struct out_msg {
	TAILQ_ENTRY(out_msg) link;	/* settled, waiting for a batch */
	struct outq	*q;
	struct qenv	 env;
	struct out_job	*jobs;
	size_t		 n_jobs;
	size_t		 jobs_left;
	bool		 attempted;	/* some job met a peer (or a DNS answer) */
};

struct outq {
	struct qctx	*qc;
	struct evloop	*loop;
	const struct outq_ops *ops;
	void		*arg;
	TAILQ_HEAD(, out_msg) settled;	/* attempts over, for outq_dispose */
	struct out_wait	*waiting;	/* in the order they came */
	size_t		 n_waiting;
	size_t		 cap_waiting;
	struct strset	 active_set;	/* qids loaded now */
	size_t		 active;
	unsigned	 turn;		/* smarthost rotation, per message */
	bool		 stopping;
	bool		 run_deferred;
};

static void outq_settle(struct out_msg *);

struct outq *
outq_new(struct qctx *qc, struct evloop *loop, const struct outq_ops *ops,
    void *arg)
{
	struct outq *q;

	q = xcalloc(1, sizeof(*q));
	q->qc = qc;
	q->loop = loop;
	q->ops = ops;
	q->arg = arg;
	TAILQ_INIT(&q->settled);
	strset_init(&q->active_set);
	return q;
}

static void outq_free_msg(struct out_msg *);

void
outq_free(struct outq *q)
{
	struct out_msg *m;

	if (q == NULL)
		return;
	/* Settled but never disposed (the daemon ends): the entries stay
	 * on disk as they were. */
	while ((m = TAILQ_FIRST(&q->settled)) != NULL) {
		TAILQ_REMOVE(&q->settled, m, link);
		outq_free_msg(m);
	}
	free(q->waiting);
	strset_fini(&q->active_set);
	free(q);
}

static int
outq_wait(struct outq *q, const char *qid, int64_t next)
{
	if (q->n_waiting == q->cap_waiting) {
		size_t cap = q->cap_waiting ? q->cap_waiting * 2 : 256;

		q->waiting = xreallocarray(q->waiting, cap, sizeof(*q->waiting));
		q->cap_waiting = cap;
	}
	memcpy(q->waiting[q->n_waiting].qid, qid, QID_SIZE);
	q->waiting[q->n_waiting].next = next;
	q->n_waiting++;
	return 0;
}

int
outq_add(struct outq *q, const char *qid)
{
	return outq_wait(q, qid, 0);
}

/* outq_load - list Out/ at start-up: an entry is its content file with
 * its envelope (on it, or beside it as .env); content without one is a
 * finished entry whose removal a crash interrupted */
int
outq_load(struct outq *q)
{
	struct qlist names;
	struct qenv e;
	struct buf err;
	char name[QID_SIZE + 8];
	size_t i;

	if (qlist_read(q->qc->dir[LAYOUT_OUT], QFILE_EML, &names) == -1)
		return -1;
	buf_init(&err);
	for (i = 0; i < names.n; i++) {
		buf_reset(&err);
		if (qenv_load(q->qc->dir[LAYOUT_OUT], names.qids[i], &e, &err) ==
		    -1) {
			if (errno == ENOENT) {
				snprintf(name, sizeof(name), "%s%s",
				    names.qids[i], QFILE_EML);
				(void)unlinkat(q->qc->dir[LAYOUT_OUT], name, 0);
			} else
				dispose_quarantine(q->qc, LAYOUT_OUT,
				    names.qids[i], buf_cstr(&err));
			continue;
		}
		/* held (imc-queue hold): not tried until released */
		if (e.held == 0)
			outq_wait(q, names.qids[i], e.next_try);
		qenv_free(&e);
	}
	buf_fini(&err);
	qlist_free(&names);
	tracklog_flush(q->qc->track);
	log_info("Out: %zu entries queued", q->n_waiting);
	return 0;
}

/* outq_make_due - a flush request: the named entry (NULL: every one) is
 * due now; returns how many waiting entries changed */
size_t
outq_make_due(struct outq *q, const char *qid)
{
	size_t i, n = 0;

	for (i = 0; i < q->n_waiting; i++)
		if ((qid == NULL || strcmp(q->waiting[i].qid, qid) == 0) &&
		    q->waiting[i].next > 0) {
			q->waiting[i].next = 0;
			n++;
		}
	return n;
}

/* outq_forget - take an entry out of the waiting list */
bool
outq_forget(struct outq *q, const char *qid)
{
	size_t i, kept = 0;
	bool found = false;

	for (i = 0; i < q->n_waiting; i++)
		if (strcmp(q->waiting[i].qid, qid) == 0)
			found = true;
		else
			q->waiting[kept++] = q->waiting[i];
	q->n_waiting = kept;
	return found;
}

bool
outq_busy(const struct outq *q, const char *qid)
{
	return strset_has(&q->active_set, qid);
}

/* Facts about the content that decide the transaction: the number of
 * Received: header fields (hop count) and whether any byte is 8-bit. */
struct content_facts {
	unsigned	 received;
	bool		 eightbit;
};

static int
outq_scan_content(struct outq *q, const char *qid, struct content_facts *cf)
{
	static const char want[] = "received:";
	char name[QID_SIZE + 8], chunk[64 * 1024];
	bool in_header = true, line_start = true, prev_lf = false;
	size_t match = 0;	/* chars of "received:" seen at line start */
	ssize_t n, i;
	int fd;

	memset(cf, 0, sizeof(*cf));
	snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
	fd = openat(q->qc->dir[LAYOUT_OUT], name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)chunk[i];

			if (c & 0x80)
				cf->eightbit = true;
			if (!in_header)
				continue;
			if (c == '\n') {
				if (prev_lf)
					in_header = false;
				prev_lf = true;
				line_start = true;
				match = 0;
				continue;
			}
			if (c != '\r')
				prev_lf = false;
			if (!line_start)
				continue;
			if (match < sizeof(want) - 1 &&
			    tolower(c) == want[match]) {
				if (++match == sizeof(want) - 1) {
					cf->received++;
					line_start = false;
				}
			} else if (c != '\r')
				line_start = false;
		}
		if (!in_header && cf->eightbit)
			break;
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

static bool
outq_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s & 0x80)
			return false;
	return true;
}

static void
outq_fail_pending(struct qenv *e, const char *dsn, const char *text)
{
	size_t i;

	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_PENDING) {
			e->rcpts[i].state = QRCPT_FAILED;
			snprintf(e->rcpts[i].dsn, sizeof(e->rcpts[i].dsn), "%s",
			    dsn);
			qenv_set(&e->rcpts[i].text, text);
		}
}

static void
outq_free_msg(struct out_msg *m)
{
	size_t i;

	for (i = 0; i < m->n_jobs; i++) {
		free(m->jobs[i].rcpts);
		free(m->jobs[i].notify);
		free(m->jobs[i].orcpt);
		free(m->jobs[i].idx);
		free(m->jobs[i].res);
	}
	free(m->jobs);
	qenv_free(&m->env);
	free(m);
}

/* Group the pending recipients by destination into jobs. */
static void
outq_make_jobs(struct outq *q, struct out_msg *m, const struct content_facts *cf,
    struct route *routes)
{
	const struct imc_config *cfg = q->qc->cfg;
	struct qenv *e = &m->env;
	size_t i, j, max = cfg->max_rcpts_per_transaction;
	size_t pending = qenv_count(e, QRCPT_PENDING);
	bool sender_utf8 = !outq_ascii(e->sender);
	unsigned turn = q->turn++;

	m->jobs = xcalloc(e->n_rcpts, sizeof(*m->jobs));
	for (i = 0; i < e->n_rcpts; i++) {
		struct qrcpt *r = &e->rcpts[i];
		const char *dom;
		struct out_job *job = NULL;
		struct delivery_conv conv;

		if (r->state != QRCPT_PENDING)
			continue;
		if ((dom = addr_domain(r->addr)) == NULL || *dom == '\0') {
			r->state = QRCPT_FAILED;
			snprintf(r->dsn, sizeof(r->dsn), "5.1.3");
			qenv_set(&r->text, "recipient address has no domain");
			continue;
		}
		if (config_is_local_domain(cfg, dom) &&
		    !route_is_lmtp(cfg, dom)) {
			/* Queued while its domain's store was LMTP; the
			 * store changed since. Never to the MX of our own
			 * domain: it waits, as In/ mail waits for a store
			 * changed to LMTP (handoff.c), until the store is
			 * set back or the message expires. */
			snprintf(r->dsn, sizeof(r->dsn), "4.3.5");
			qenv_set(&r->text, "the store of this domain changed "
			    "since the message was queued; kept in Out/");
			qenv_set(&e->error, r->text);
			tracklog_add(q->qc->track, &(struct track_event){
			    .event = "deferred", .qid = e->qid,
			    .from = e->sender, .to = r->addr, .size = e->size,
			    .status = "deferred", .dsn = r->dsn,
			    .reason = r->text });
			m->attempted = true;
			continue;
		}
		route_for(cfg, dom, turn, &routes[m->n_jobs]);
		/* One transaction carries one copy: recipients share a job when
		 * they share the route and the conversion for their domain. A
		 * store over LMTP gets what the built-in store would: the
		 * domain's charset policy (utf-8 by default). */
		config_delivery_conv(cfg, dom, routes[m->n_jobs].kind ==
		    ROUTE_LMTP ? DELIVERY_STORE : DELIVERY_SMTP, &conv);
		for (j = 0; j < m->n_jobs; j++)
			if (m->jobs[j].n < max &&
			    strcmp(routes[j].key, routes[m->n_jobs].key) == 0 &&
			    config_delivery_conv_eq(&m->jobs[j].conv, &conv)) {
				job = &m->jobs[j];
				route_free(&routes[m->n_jobs]);
				break;
			}
		if (job == NULL) {
			job = &m->jobs[m->n_jobs++];
			job->msg = m;
			job->qid = e->qid;
			job->sender = e->sender;
			job->size = e->size;
			job->body_8bit = cf->eightbit;
			job->needs_smtputf8 = sender_utf8;
			/* Sized for what can land here: most messages
			 * have one recipient, and results are big. */
			size_t cap = pending < max ? pending : max;

			job->rcpts = xcalloc(cap, sizeof(*job->rcpts));
			job->idx = xcalloc(cap, sizeof(*job->idx));
			job->res = xcalloc(cap, sizeof(*job->res));
			job->notify = xcalloc(cap, sizeof(*job->notify));
			job->orcpt = xcalloc(cap, sizeof(*job->orcpt));
			job->ret = e->ret;
			job->envid = e->envid;
			job->conv = conv;
		}
		/* Until the delivery layer reports a reply, nothing was
		 * attempted for this recipient. */
		mail_status_set(&job->res[job->n], MAIL_TEMP, "4.4.0",
		    "not attempted");
		job->rcpts[job->n] = r->addr;
		job->notify[job->n] = r->notify;
		job->orcpt[job->n] = r->orcpt;
		job->idx[job->n] = i;
		job->n++;
		if (!outq_ascii(r->addr))
			job->needs_smtputf8 = true;
	}
}

/* An attempt begins: a mark left by the last one means the connector
 * stopped during it (a crash, a kill, a second SIGTERM), maybe after the
 * peer had taken the message; its pending recipients are logged as
 * possible duplicates before they are tried again. Then this attempt's
 * mark (batch_commit removes it with the outcome). */
static void
outq_mark_attempt(struct qctx *qc, const struct qenv *e, time_t now)
{
	int64_t began;
	char when[32], reason[160];
	size_t i;

	if (qtry_begin(qc->dir[LAYOUT_OUT], e->qid, (int64_t)now, &began) ==
	    -1 && errno != ENOTSUP)
		log_warn("%s: Out/%s.eml: attempt mark", e->qid, e->qid);
	if (began != 0) {
		time_t t = (time_t)began;
		struct tm tm;

		if (began > 1 && gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		else
			snprintf(when, sizeof(when), "an unknown time");
		snprintf(reason, sizeof(reason), "the connector stopped during "
		    "the attempt begun %s: the peer may hold a copy already "
		    "(possible duplicate); tried again", when);
		log_info("%s: %s", e->qid, reason);
		for (i = 0; i < e->n_rcpts; i++)
			if (e->rcpts[i].state == QRCPT_PENDING)
				tracklog_add(qc->track, &(struct track_event){
				    .event = "interrupted", .qid = e->qid,
				    .from = e->sender, .to = e->rcpts[i].addr,
				    .size = e->size, .status = "deferred",
				    .reason = reason });
	}
}

/* Load one entry and hand its jobs to the destinations. */
static void
outq_start(struct outq *q, const char *qid)
{
	struct qctx *qc = q->qc;
	struct out_msg *m;
	struct content_facts cf;
	struct route *routes = NULL;
	struct buf err;
	time_t now = time(NULL);
	size_t i;
	char text[256];

	m = xcalloc(1, sizeof(*m));
	m->q = q;
	qenv_init(&m->env);
	buf_init(&err);
	if (qenv_load(qc->dir[LAYOUT_OUT], qid, &m->env, &err) == -1) {
		if (errno != ENOENT)	/* else gone, or finished */
			dispose_quarantine(qc, LAYOUT_OUT, qid, buf_cstr(&err));
		buf_fini(&err);
		free(m);
		return;
	}
	buf_fini(&err);
	if (m->env.held != 0) {
		/* held on disk: only a release makes it waiting again */
		qenv_free(&m->env);
		free(m);
		return;
	}
	strset_add(&q->active_set, qid);
	q->active++;
	if (dispose_expire(qc, &m->env, now)) {
		outq_settle(m);
		return;
	}
	if (m->env.hops >= 0 && m->env.eightbit >= 0) {
		/* written at intake: no read of the content per attempt */
		cf.received = (unsigned)m->env.hops;
		cf.eightbit = m->env.eightbit == 1;
	} else if (outq_scan_content(q, qid, &cf) == -1) {
		log_warn("%s: cannot read Out/%s.eml", qid, qid);
		m->env.attempts++;
		outq_settle(m);
		return;
	}
	if (cf.received > qc->cfg->max_hops) {
		snprintf(text, sizeof(text), "too many hops: %u Received: header "
		    "fields, more than max_hops %u (a mail loop?)", cf.received,
		    (unsigned)qc->cfg->max_hops);
		outq_fail_pending(&m->env, "5.4.6", text);
		outq_settle(m);
		return;
	}
	routes = xcalloc(m->env.n_rcpts + 1, sizeof(*routes));
	outq_make_jobs(q, m, &cf, routes);
	m->jobs_left = m->n_jobs;
	if (m->n_jobs == 0) {
		free(routes);
		outq_settle(m);
		return;
	}
	outq_mark_attempt(qc, &m->env, now);
	/* Submitting can finish a job at once (a cached DNS failure): keep
	 * one count back until every job is handed over. */
	m->jobs_left++;
	for (i = 0; i < m->n_jobs; i++) {
		q->ops->submit(q->arg, &routes[i], &m->jobs[i]);
		route_free(&routes[i]);
	}
	free(routes);
	if (--m->jobs_left == 0)
		outq_settle(m);
}

static void
outq_run_deferred(struct evloop *loop, void *arg)
{
	struct outq *q = arg;

	q->run_deferred = false;
	(void)outq_run(q);
}

/* outq_run - start due entries while there is room */
size_t
outq_run(struct outq *q)
{
	time_t now = time(NULL);
	size_t i, kept = 0, n_due = 0, room;
	struct out_wait *due;

	if (q->stopping || q->active >= OUTQ_MAX_ACTIVE || q->n_waiting == 0)
		return 0;
	room = OUTQ_MAX_ACTIVE - q->active;
	due = xcalloc(room < q->n_waiting ? room : q->n_waiting, sizeof(*due));
	/* Take the due ones out first: starting one may settle it at once
	 * and append it to the waiting list again. */
	for (i = 0; i < q->n_waiting; i++) {
		if (n_due < room && q->waiting[i].next <= (int64_t)now &&
		    !strset_has(&q->active_set, q->waiting[i].qid) &&
		    !batch_tail_has_out(q->qc, q->waiting[i].qid))
			due[n_due++] = q->waiting[i];
		else
			q->waiting[kept++] = q->waiting[i];
	}
	q->n_waiting = kept;
	for (i = 0; i < n_due; i++)
		outq_start(q, due[i].qid);
	free(due);
	tracklog_flush(q->qc->track);
	return n_due;
}

/* Record one job's results in the envelope. */
void
outq_job_done(struct outq *q, struct out_job *job)
{
	struct qctx *qc = q->qc;
	struct out_msg *m = job->msg;
	size_t i;

	/* A job that never left its destination's queue because the
	 * connector is stopping is no attempt: nothing about it is
	 * recorded, and the entry is due again at the next start. */
	if (job->not_started && q->stopping) {
		if (--m->jobs_left == 0)
			outq_settle(m);
		return;
	}
	m->attempted = true;
	for (i = 0; i < job->n; i++) {
		struct qrcpt *r = &m->env.rcpts[job->idx[i]];
		const struct mail_status *st = &job->res[i];

		snprintf(r->dsn, sizeof(r->dsn), "%s", st->dsn);
		qenv_set(&r->text, st->text);
		/* an LMTP store's recipients count as store deliveries */
		qc->stats->by_dest[route_is_lmtp(qc->cfg,
		    addr_domain(r->addr)) ? QSTAT_STORE : QSTAT_SMTP][st->kind]++;
		switch (st->kind) {
		case MAIL_OK:
			r->state = QRCPT_DONE;
			qc->stats->delivered++;
			tracklog_add(qc->track, &(struct track_event){
			    .event = "delivered", .qid = m->env.qid,
			    .from = m->env.sender, .to = r->addr,
			    .size = m->env.size, .status = "sent",
			    .dsn = st->dsn, .relay = job->relay,
			    .tls = job->tls[0] ? job->tls : NULL,
			    .reason = st->text });
			break;
		case MAIL_PERM:
			r->state = QRCPT_FAILED;
			tracklog_add(qc->track, &(struct track_event){
			    .event = "failed", .qid = m->env.qid,
			    .from = m->env.sender, .to = r->addr,
			    .size = m->env.size, .status = "failed",
			    .dsn = st->dsn, .relay = job->relay[0] ?
			    job->relay : NULL, .tls = job->tls[0] ? job->tls :
			    NULL, .reason = st->text });
			break;
		case MAIL_TEMP:
			qc->stats->deferred++;
			qenv_set(&m->env.error, st->text);
			tracklog_add(qc->track, &(struct track_event){
			    .event = "deferred", .qid = m->env.qid,
			    .from = m->env.sender, .to = r->addr,
			    .size = m->env.size, .status = "deferred",
			    .dsn = st->dsn, .relay = job->relay[0] ?
			    job->relay : NULL, .tls = job->tls[0] ? job->tls :
			    NULL, .reason = st->text });
			break;
		}
	}
	if (--m->jobs_left == 0)
		outq_settle(m);
}

/* The wait before the next try: retry_schedule, the last step repeating,
 * but never past the end of the message's lifetime. */
static int64_t
outq_next_try(const struct outq *q, const struct qenv *e, time_t now)
{
	const struct imc_config *cfg = q->qc->cfg;
	size_t step = e->attempts == 0 ? 0 : e->attempts - 1;
	int64_t next, end = e->arrival + (int64_t)cfg->max_lifetime;

	if (cfg->n_retry_schedule == 0)
		next = (int64_t)now + 900;
	else {
		if (step >= cfg->n_retry_schedule)
			step = cfg->n_retry_schedule - 1;
		next = (int64_t)now + (int64_t)cfg->retry_schedule[step];
	}
	return next > end ? end : next;
}

/* An attempt has ended for every recipient: the entry waits for the
 * daemon's next batch (outq_dispose), where notices and the new state
 * are written under a barrier; nothing here touches the disk, since this
 * runs inside SMTP and DNS completions. Its qid stays in active_set so
 * it is not started again before then. */
static void
outq_settle(struct out_msg *m)
{
	struct outq *q = m->q;

	TAILQ_INSERT_TAIL(&q->settled, m, link);
	q->active--;
	q->ops->settled(q->arg);
}

bool
outq_has_settled(const struct outq *q)
{
	return !TAILQ_EMPTY(&q->settled);
}

/* outq_lmtp_pending - a pending recipient goes to an LMTP store */
static bool
outq_lmtp_pending(const struct outq *q, const struct qenv *e)
{
	size_t i;

	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_PENDING &&
		    route_is_lmtp(q->qc->cfg, addr_domain(e->rcpts[i].addr)))
			return true;
	return false;
}

/* One settled entry into the batch: finished (notices, then removal once
 * they are durable), or deferred (notices, the new envelope after the
 * barrier, the next try). */
static void
outq_dispose_one(struct outq *q, struct out_msg *m, struct batch *b)
{
	const struct imc_config *cfg = q->qc->cfg;
	struct qenv *e = &m->env;
	time_t now = time(NULL);
	char notice[QID_SIZE], qid[QID_SIZE];
	int64_t next;

	memcpy(qid, e->qid, QID_SIZE);
	if (q->stopping && !m->attempted && m->n_jobs > 0) {
		/* called back unstarted: left as it is on disk, without the
		 * mark of an attempt that never began */
		if (qtry_clear(q->qc->dir[LAYOUT_OUT], qid) == -1)
			log_warn("%s: Out/%s.eml: attempt mark", qid, qid);
		return;
	}
	(void)dispose_expire(q->qc, e, now);
	if (qenv_count(e, QRCPT_PENDING) == 0) {
		dispose_finish(q->qc, LAYOUT_OUT, e, notice);
		batch_take_notice(b, notice);
		batch_after_remove(b, LAYOUT_OUT, qid);
		return;
	}
	dispose_report_failed(q->qc, LAYOUT_OUT, e, notice);
	batch_take_notice(b, notice);
	e->attempts++;
	e->next_try = outq_next_try(q, e, now);
	if (cfg->delay_warning > 0 && e->warned == 0 &&
	    now - e->arrival >= (int64_t)cfg->delay_warning &&
	    dispose_delay_notice(q->qc, LAYOUT_OUT, e,
	    (time_t)(e->arrival + (int64_t)cfg->max_lifetime), notice) == 0) {
		e->warned = (int64_t)now;
		batch_take_notice(b, notice);
	}
	/* A recipient waiting for an LMTP store is local mail: its wait
	 * is local_retry, as for the built-in store. */
	if (outq_lmtp_pending(q, e) && e->next_try > (int64_t)now +
	    (int64_t)cfg->local_retry)
		e->next_try = (int64_t)now + (int64_t)cfg->local_retry;
	next = e->next_try;
	batch_after_store(b, LAYOUT_OUT, e);	/* moves the envelope */
	outq_wait(q, qid, next);
}

/* outq_dispose - every settled entry into the batch */
size_t
outq_dispose(struct outq *q, struct batch *b)
{
	struct out_msg *m;
	size_t n = 0;

	char qid[QID_SIZE];

	while ((m = TAILQ_FIRST(&q->settled)) != NULL) {
		TAILQ_REMOVE(&q->settled, m, link);
		memcpy(qid, m->env.qid, QID_SIZE);	/* the envelope may move */
		outq_dispose_one(q, m, b);
		strset_del(&q->active_set, qid);
		outq_free_msg(m);
		n++;
	}
	if (n > 0 && !q->run_deferred && !q->stopping &&
	    evloop_defer(q->loop, outq_run_deferred, q) == 0)
		q->run_deferred = true;
	return n;
}

size_t
outq_active(const struct outq *q)
{
	return q->active;
}

int64_t
outq_next_due_ms(const struct outq *q)
{
	int64_t best = -1, now = (int64_t)time(NULL);
	size_t i;

	for (i = 0; i < q->n_waiting; i++)
		if (!strset_has(&q->active_set, q->waiting[i].qid) &&
		    !batch_tail_has_out(q->qc, q->waiting[i].qid) &&
		    (best == -1 || q->waiting[i].next < best))
			best = q->waiting[i].next;
	if (best == -1)
		return -1;
	return best <= now ? 0 : (best - now) * 1000;
}

void
outq_stop(struct outq *q)
{
	q->stopping = true;
}
