/*
 * batch - the commit of Work/ files into queue entries (see batch.h).
 */
#include "batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "dispose.h"
#include "handoff.h"
#include "log.h"
#include "monoclock.h"
#include "pickup_file.h"
#include "qconv.h"
#include "qctx.h"
#include "qentry.h"
#include "qfile.h"
#include "safeio.h"
#include "store_maildir.h"
#include "strset.h"
#include "tracklog.h"
#include "xalloc.h"

/* Held Work files are tried again at most this far apart (seconds). */
#define BATCH_HOLD_MAX_WAIT	300
/* A pending tail no batch follows gets a barrier of its own this soon
 * (ms): a little longer than the listener's group commit window, so a
 * busy listener's next batch comes first and its barrier serves both. */
#define BATCH_TAIL_MS		20

/* A Work file taken into the batch. */
struct batch_item {
	char		 qid[QID_SIZE];
	char		*origname;
	bool		 has_in, has_out;
	bool		 notice;	/* the connector's own: In/ waits */
	bool		 recovering;
	struct qenv	 in;		/* the In/ envelope, when has_in */
};

/* An In/ entry the runner found due. */
struct batch_run {
	struct qenv	 env;
	bool		 recovering;
};

/* A change for after the barrier. */
struct batch_after {
	enum layout_dir	 dir;
	char		 qid[QID_SIZE];
	bool		 store;		/* write env; else remove the entry */
	struct qenv	 env;
};

struct batch {
	struct qctx	*q;
	struct batch_item *items;
	size_t		 n_items, cap_items;
	struct batch_run *runs;
	size_t		 n_runs, cap_runs;
	struct batch_after *after;
	size_t		 n_after, cap_after;
};

struct batch *
batch_new(struct qctx *q)
{
	struct batch *b = xcalloc(1, sizeof(*b));

	b->q = q;
	return b;
}

static void
batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n_items; i++) {
		free(b->items[i].origname);
		qenv_free(&b->items[i].in);
	}
	for (i = 0; i < b->n_runs; i++)
		qenv_free(&b->runs[i].env);
	for (i = 0; i < b->n_after; i++)
		qenv_free(&b->after[i].env);
	b->n_items = b->n_runs = b->n_after = 0;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	batch_clear(b);
	free(b->items);
	free(b->runs);
	free(b->after);
	free(b);
}

bool
batch_empty(const struct batch *b)
{
	return b->n_items == 0 && b->n_runs == 0 && b->n_after == 0;
}

/* ------------------------------------------------------------- accept */

static void
batch_make_env(struct qenv *e, const char *qid, const char *origname,
    const char *sender, uint64_t size)
{
	qenv_init(e);
	memcpy(e->qid, qid, QID_SIZE);
	e->arrival = qid_time(qid);
	e->size = size;
	qenv_set(&e->origname, origname);
	qenv_set(&e->sender, sender);
}

/* A recipient's copy goes to In/ for the store handoff: a local domain
 * whose store is in this process (maildir, drop). A local domain handed
 * to an LMTP store goes to Out/ with the SMTP mail: the same connections,
 * retries and per-recipient results (route.h). */
static bool
batch_to_store(const struct imc_config *cfg, const char *dom)
{
	return dom != NULL && config_is_local_domain(cfg, dom) &&
	    config_store_for(cfg, dom)->kind != STORE_LMTP;
}

/* The mailbox key of a local recipient: Bob@ and bob@ are one mailbox. */
static bool
batch_new_mailbox(struct strset *seen, const char *qid, const char *rcpt)
{
	char *local, *domain;
	struct buf key;
	bool fresh;

	if (maildir_key(rcpt, &local, &domain) == -1)
		log_fatalx(EX_SOFTWARE, "%s: local recipient without a domain",
		    qid);
	buf_init(&key);
	buf_printf(&key, "%s@%s", local, domain);
	fresh = strset_add(seen, buf_cstr(&key)) == 1;
	buf_fini(&key);
	free(local);
	free(domain);
	return fresh;
}

/* batch_accept - parse one claimed file and write its queue entries */
enum accept_result
batch_accept(struct batch *b, struct claimed *c, bool recovering)
{
	struct qctx *q = b->q;
	const struct imc_config *cfg = q->cfg;
	char user[64];
	struct pickup_opts opts = { .dots = cfg->pickup_dots,
	    .hostname = cfg->hostname, .qid = c->qid, .now = c->claimed_at,
	    .max_bytes = c->size, .has_uid = c->has_uid, .uid = c->uid,
	    .user = c->has_uid ? intake_writer_name(q->intake, c->uid, user,
	    sizeof(user)) : NULL };
	struct batch_item item;
	struct mail_status why;
	struct pickup_file *pf;
	const struct addr_list *rcpts;
	struct pickup_out outs[2];
	struct qenv out_env;
	struct buf rp, notes;
	struct strset mailboxes;
	const char *dom;
	size_t i, nout = 0, n_local = 0;
	uint64_t before[2] = { 0, 0 };
	int in_out = -1, out_out = -1;

	/* Only a file the connector's own user wrote may carry a listener's
	 * envelope (pickup_file.h): a writer's Pickup file never does. */
	{
		struct stat st;

		opts.allow_smtp = fstat(c->fd, &st) == 0 &&
		    st.st_uid == geteuid();
	}
	memset(&item, 0, sizeof(item));
	memcpy(item.qid, c->qid, QID_SIZE);
	item.recovering = recovering;
	qenv_init(&item.in);
	qenv_init(&out_env);
	buf_init(&rp);
	buf_init(&notes);
	strset_init(&mailboxes);
	if ((pf = pickup_read(c->fd, &opts, &why)) == NULL) {
		if (why.kind == MAIL_PERM && intake_archive(q->intake,
		    q->dir[LAYOUT_WORK], c->qid, c->qid, c->origname,
		    why.text) == 0)
			return ACCEPT_ARCHIVED;
		batch_hold(q, c->qid, c->origname, why.text);
		return ACCEPT_FAILED;
	}
	rcpts = pickup_recipients(pf);
	for (i = 0; i < rcpts->n; i++) {
		dom = addr_domain(rcpts->items[i]);
		if (batch_to_store(cfg, dom))
			n_local++;
	}
	item.has_in = n_local > 0;
	item.has_out = n_local < rcpts->n;
	if (item.has_in) {
		if ((in_out = qentry_create(q, LAYOUT_IN, c->qid)) == -1)
			goto ioerr;
		buf_printf(&rp, "Return-Path: <%s>\r\n", pickup_sender(pf));
		outs[nout++] = (struct pickup_out){ .fd = in_out, .prefix = rp.data,
		    .lf = true };
	}
	if (item.has_out) {
		if ((out_out = qentry_create(q, LAYOUT_OUT, c->qid)) == -1)
			goto ioerr;
		outs[nout++] = (struct pickup_out){ .fd = out_out };
	}
	if (pickup_write(pf, outs, nout, &why) == -1)
		goto fail;
	/* Only the size checked at the claim was read; a file that moved on
	 * meanwhile (a writer that kept a descriptor) is not queued half old,
	 * half new: it goes back to Pickup. */
	if (intake_changed(c)) {
		if (in_out != -1)
			close(in_out);
		if (out_out != -1)
			close(out_out);
		qentry_remove_all(q, c->qid);
		qenv_free(&out_env);
		buf_fini(&rp);
		buf_fini(&notes);
		strset_fini(&mailboxes);
		pickup_free(pf);
		if (intake_put_back(q->intake, c, "changed while it was being "
		    "read") == 0)
			return ACCEPT_RETURNED;
		batch_hold(q, c->qid, c->origname, "changed while it was "
		    "being read, and cannot be put back into Pickup");
		return ACCEPT_FAILED;
	}
	for (i = 0; i < nout; i++)
		before[i] = outs[i].written;
	if (item.has_in) {
		struct qconv_base base;

		qconv_base_init(&base);
		for (i = 0; i < rcpts->n; i++) {
			dom = addr_domain(rcpts->items[i]);
			if (batch_to_store(cfg, dom))
				qconv_base_add(q, &base, rcpts->items[i]);
		}
		if (qconv_repair(q, LAYOUT_IN, c->qid, in_out,
		    pickup_sender(pf), &base.conv, &outs[0].written) == -1)
			goto ioerr;
	}
	if (item.has_out && qconv_repair(q, LAYOUT_OUT, c->qid, out_out,
	    pickup_sender(pf), &qconv_keep, &outs[item.has_in ? 1 : 0].written)
	    == -1)
		goto ioerr;
	/* a write error a file system reports only at close counts too */
	if ((in_out != -1 && close(in_out) == -1) ||
	    (out_out != -1 && close(out_out) == -1)) {
		in_out = out_out = -1;
		goto ioerr;
	}
	in_out = out_out = -1;
	nout = 0;
	if (item.has_in)
		batch_make_env(&item.in, c->qid, c->origname, pickup_sender(pf),
		    outs[nout++].written);
	if (item.has_out)
		batch_make_env(&out_env, c->qid, c->origname, pickup_sender(pf),
		    outs[nout].written);
	for (i = 0; i < rcpts->n; i++) {
		struct qenv *to;

		dom = addr_domain(rcpts->items[i]);
		to = batch_to_store(cfg, dom) ?
		    &item.in : &out_env;
		if (to == &item.in && !batch_new_mailbox(&mailboxes, c->qid,
		    rcpts->items[i]))
			continue;
		qenv_add_rcpt(to, rcpts->items[i]);
		/* DSN parameters travel with remote recipients */
		if (to == &out_env) {
			qenv_set(&to->rcpts[to->n_rcpts - 1].notify,
			    pickup_rcpt_notify(pf, i));
			qenv_set(&to->rcpts[to->n_rcpts - 1].orcpt,
			    pickup_rcpt_orcpt(pf, i));
		}
	}
	if (item.has_out) {
		qenv_set(&out_env.ret, pickup_ret(pf));
		qenv_set(&out_env.envid, pickup_envid(pf));
		/* known now; repair changes neither (it may only take 8-bit
		 * header text into encoded-words: "eightbit" stays a safe
		 * upper bound) */
		out_env.hops = (int)pickup_received(pf);
		out_env.eightbit = pickup_eightbit(pf) ? 1 : 0;
	}
	if (item.has_in)
		qconv_check_grown(q, LAYOUT_IN, &item.in, before[0], c->size);
	if (item.has_out)
		qconv_check_grown(q, LAYOUT_OUT, &out_env,
		    before[item.has_in ? 1 : 0], c->size);
	/* The In/ entry's envelope is written only if a delivery is
	 * deferred: until the batch ends the Work file is the entry. */
	if (item.has_out &&
	    qenv_store_on_content(q->dir[LAYOUT_OUT], &out_env, false) == -1)
		goto ioerr;
	if (cfg->archive && item.has_in)
		qentry_link(q, LAYOUT_IN, LAYOUT_IN_ARCHIVE, c->qid);
	if (cfg->archive && item.has_out)
		qentry_link(q, LAYOUT_OUT, LAYOUT_OUT_ARCHIVE, c->qid);

	if (pickup_notes(pf, &notes))
		log_info("%s: %s", c->qid, buf_cstr(&notes));
	if (pickup_smtp(pf) != NULL) {
		const struct pickup_smtp *si = pickup_smtp(pf);

		tracklog_add(q->track, &(struct track_event){
		    .event = "received", .qid = c->qid,
		    .from = pickup_sender(pf),
		    .size = c->size - si->envelope_bytes,
		    .status = "accepted", .client = si->client,
		    .helo = si->helo, .tls = si->tls, .auth = si->auth,
		    .reason = notes.len > 0 ? buf_cstr(&notes) : NULL });
	} else
		tracklog_add(q->track, &(struct track_event){
		    .event = "picked-up", .qid = c->qid,
		    .from = pickup_sender(pf), .size = c->size,
		    .orig = c->origname, .status = "accepted",
		    .reason = notes.len > 0 ? buf_cstr(&notes) : NULL,
		    .has_uid = opts.has_uid, .uid = opts.uid,
		    .user = opts.user });
	for (i = 0; i < out_env.n_rcpts; i++)
		tracklog_add(q->track, &(struct track_event){ .event = "queued",
		    .qid = c->qid, .from = out_env.sender,
		    .to = out_env.rcpts[i].addr, .size = out_env.size,
		    .status = "queued", .relay = "Out" });
	q->stats->picked_up++;
	item.origname = xstrdup(c->origname != NULL ? c->origname : c->qid);
	if (b->n_items == b->cap_items) {
		b->cap_items = b->cap_items ? b->cap_items * 2 : 64;
		b->items = xreallocarray(b->items, b->cap_items,
		    sizeof(*b->items));
	}
	b->items[b->n_items++] = item;
	qenv_free(&out_env);
	buf_fini(&rp);
	buf_fini(&notes);
	strset_fini(&mailboxes);
	pickup_free(pf);
	return ACCEPT_QUEUED;
ioerr:
	mail_status_set(&why, MAIL_TEMP, "4.3.0", "%s", strerror(errno));
fail:
	if (in_out != -1)
		close(in_out);
	if (out_out != -1)
		close(out_out);
	qentry_remove_all(q, c->qid);
	batch_hold(q, c->qid, c->origname, why.text);
	qenv_free(&item.in);
	qenv_free(&out_env);
	buf_fini(&rp);
	buf_fini(&notes);
	strset_fini(&mailboxes);
	pickup_free(pf);
	return ACCEPT_FAILED;
}

/* Open Work/<qid> as a claimed file (recovery, notices, held files). */
static int
batch_open_work(struct qctx *q, const char *qid, const char *origname,
    bool writer, struct claimed *c)
{
	struct stat st;
	int fd;

	fd = openat(q->dir[LAYOUT_WORK], qid, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		int saved = errno;

		if (fd != -1)
			close(fd);
		errno = fd == -1 ? saved : EINVAL;
		return -1;
	}
	memset(c, 0, sizeof(*c));
	memcpy(c->qid, qid, QID_SIZE);
	c->origname = (char *)origname;
	c->fd = fd;
	c->size = (uint64_t)st.st_size;
	c->claimed_at = (time_t)qid_time(qid);
	c->st = st;
	/* A recovered Work file is still the writer's; a notice is ours. */
	c->has_uid = writer;
	c->uid = st.st_uid;
	return 0;
}

/* batch_take_notice - a notification in Work/: taken into the batch,
 * its In/ copy due now for the In/ runner */
void
batch_take_notice(struct batch *b, const char *qid)
{
	struct claimed c;
	struct batch_item *it;

	if (qid == NULL || qid[0] == '\0')
		return;
	if (batch_open_work(b->q, qid, "(delivery status notification)",
	    false, &c) == -1) {
		log_warn("%s: Work/%s", qid, qid);
		return;
	}
	if (batch_accept(b, &c, false) == ACCEPT_QUEUED) {
		it = &b->items[b->n_items - 1];
		it->notice = true;
		if (it->has_in) {
			/* The envelope is the entry once the Work file goes:
			 * written now, under this batch's barrier. */
			it->in.next_try = 0;
			if (qenv_store(b->q->dir[LAYOUT_IN], &it->in, true,
			    false) == -1)
				log_warn("%s: In/%s.env", qid, qid);
		}
	}
	close(c.fd);
}

void
batch_deliver_in(struct batch *b, struct qenv *e, bool recovering)
{
	if (b->n_runs == b->cap_runs) {
		b->cap_runs = b->cap_runs ? b->cap_runs * 2 : 16;
		b->runs = xreallocarray(b->runs, b->cap_runs, sizeof(*b->runs));
	}
	b->runs[b->n_runs].env = *e;
	b->runs[b->n_runs].recovering = recovering;
	b->n_runs++;
	qenv_init(e);
}

static struct batch_after *
batch_after_new(struct batch *b, enum layout_dir dir, const char *qid)
{
	struct batch_after *a;

	if (b->n_after == b->cap_after) {
		b->cap_after = b->cap_after ? b->cap_after * 2 : 16;
		b->after = xreallocarray(b->after, b->cap_after,
		    sizeof(*b->after));
	}
	a = &b->after[b->n_after++];
	memset(a, 0, sizeof(*a));
	a->dir = dir;
	memcpy(a->qid, qid, QID_SIZE);
	qenv_init(&a->env);
	return a;
}

void
batch_after_remove(struct batch *b, enum layout_dir dir, const char *qid)
{
	(void)batch_after_new(b, dir, qid);
}

void
batch_after_store(struct batch *b, enum layout_dir dir, struct qenv *e)
{
	struct batch_after *a = batch_after_new(b, dir, e->qid);

	a->store = true;
	a->env = *e;
	qenv_init(e);
}

/* ------------------------------------------------------------- commit */

/* After the store handoff of an In/ envelope: expiry, notices into this
 * batch, the deferral. work: the Work file still backs the entry, so its
 * envelope is written before barrier 2; else after it, once the notice
 * it may name is durable. */
static void
batch_settle_in(struct batch *b, struct qenv *e, bool work)
{
	struct qctx *q = b->q;
	char notice[QID_SIZE];
	size_t i;

	(void)dispose_expire(q, e, time(NULL));
	if (qenv_count(e, QRCPT_PENDING) == 0) {
		dispose_finish(q, LAYOUT_IN, e, notice);
		batch_take_notice(b, notice);
		batch_after_remove(b, LAYOUT_IN, e->qid);
		return;
	}
	dispose_report_failed(q, LAYOUT_IN, e, notice);
	batch_take_notice(b, notice);
	e->attempts++;
	e->next_try = time(NULL) + (time_t)q->cfg->local_retry;
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_PENDING && e->rcpts[i].text != NULL)
			qenv_set(&e->error, e->rcpts[i].text);
	if (work) {
		if (qenv_store(q->dir[LAYOUT_IN], e, false, false) == -1)
			log_warn("%s: cannot record the deferral", e->qid);
	} else
		batch_after_store(b, LAYOUT_IN, e);	/* moves e */
}

/* The Work files of the batch are kept and held: a barrier failed. */
static void
batch_hold_all(struct batch *b, const char *why)
{
	size_t i;

	for (i = 0; i < b->n_items; i++)
		batch_hold(b->q, b->items[i].qid, b->items[i].origname, why);
}

/* The tail: what waits for the barrier after the store handoff. */

/* Move b's items and after-changes to the end of t (t's order is the
 * order they were made in). */
static void
batch_move_tail(struct batch *t, struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n_items; i++) {
		if (t->n_items == t->cap_items) {
			t->cap_items = t->cap_items ? t->cap_items * 2 : 64;
			t->items = xreallocarray(t->items, t->cap_items,
			    sizeof(*t->items));
		}
		if (b->items[i].has_in)
			(void)strset_add(&t->q->tail_in, b->items[i].qid);
		t->items[t->n_items++] = b->items[i];
	}
	for (i = 0; i < b->n_after; i++) {
		if (t->n_after == t->cap_after) {
			t->cap_after = t->cap_after ? t->cap_after * 2 : 16;
			t->after = xreallocarray(t->after, t->cap_after,
			    sizeof(*t->after));
		}
		if (b->after[i].dir == LAYOUT_IN)
			(void)strset_add(&t->q->tail_in, b->after[i].qid);
		else
			(void)strset_add(&t->q->tail_out, b->after[i].qid);
		t->after[t->n_after++] = b->after[i];
	}
	/* moved: nothing of them is freed with b */
	b->n_items = b->n_after = 0;
	batch_clear(b);
}

/* A barrier covers b: the Work files go, the entries named for it are
 * removed or rewritten, the new Out/ entries go to the Out/ queue. */
static void
batch_finish(struct batch *b)
{
	struct qctx *q = b->q;
	size_t i;

	for (i = 0; i < b->n_items; i++) {
		struct batch_item *it = &b->items[i];

		if (unlinkat(q->dir[LAYOUT_WORK], it->qid, 0) == -1 &&
		    errno != ENOENT)
			log_warn("Work/%s", it->qid);
		if (it->has_out && q->out_entry != NULL)
			q->out_entry(q->out_arg, it->qid);
		if (it->notice && it->has_in)
			q->in_due = true;
	}
	for (i = 0; i < b->n_after; i++) {
		struct batch_after *a = &b->after[i];

		if (!a->store)
			qentry_remove(q, a->dir, a->qid);
		else if ((a->dir == LAYOUT_OUT ?
		    qenv_store_on_content(q->dir[a->dir], &a->env, false) :
		    qenv_store(q->dir[a->dir], &a->env, false, false)) == -1)
			log_warn("%s: cannot record the attempt in %s/%s.env; "
			    "it is tried again as it was", a->qid,
			    layout_name(a->dir), a->qid);
		else if (a->dir == LAYOUT_OUT &&
		    qtry_clear(q->dir[LAYOUT_OUT], a->qid) == -1)
			/* the outcome is recorded: the attempt mark goes
			 * (outq.c), after the envelope, never before */
			log_warn("%s: Out/%s.eml: attempt mark", a->qid, a->qid);
	}
	tracklog_flush(q->track);
	if (b == q->tail) {
		strset_clear(&q->tail_in);
		strset_clear(&q->tail_out);
	}
	batch_clear(b);
}

/* The pending tail after a barrier: done when it passed; held as a
 * failed second barrier holds them when it did not (nothing removed,
 * the Work files tried again). */
static void
batch_tail_after(struct qctx *q, bool passed)
{
	if (q->tail == NULL || batch_empty(q->tail))
		return;
	if (passed) {
		batch_finish(q->tail);
		return;
	}
	batch_hold_all(q->tail, "the store deliveries could not be made "
	    "durable");
	strset_clear(&q->tail_in);
	strset_clear(&q->tail_out);
	batch_clear(q->tail);
}

/* batch_commit - barrier, store, barrier (or the next batch's), then
 * what had to wait */
int
batch_commit(struct batch *b)
{
	struct qctx *q = b->q;
	size_t i, n_items, n_runs;
	bool stored = false;

	if (batch_empty(b))
		return 0;
	if (b->n_items > 0 && qentry_barrier(q) == -1) {
		batch_hold_all(b, "the queue files could not be made durable");
		batch_clear(b);
		batch_tail_after(q, false);
		return -1;
	}
	/* Work files and entries are durable now: a crash from here on is
	 * redone from the Work files. Nothing may join this batch from the
	 * callback (it only answers). */
	if (b->n_items > 0 && q->durable != NULL)
		q->durable(q->durable_arg);
	/* The same barrier covered the store links of the tail before. */
	if (b->n_items > 0)
		batch_tail_after(q, true);
	/* The store handoff: this batch's new In/ entries (not notices,
	 * whose envelopes say "due now"), and the due ones. Notices made
	 * here join the batch (items past n_items) and are covered by
	 * barrier 2. */
	n_items = b->n_items;
	n_runs = b->n_runs;
	for (i = 0; i < n_items; i++) {
		struct batch_item *it = &b->items[i];

		if (!it->has_in || it->notice)
			continue;
		(void)handoff_deliver(q, &it->in, it->recovering);
		stored = true;
		/* b->items may move while notices join: settle a copy */
		{
			struct qenv e = it->in;

			qenv_init(&it->in);
			batch_settle_in(b, &e, true);
			qenv_free(&e);
		}
	}
	for (i = 0; i < n_runs; i++) {
		struct qenv e = b->runs[i].env;
		bool rec = b->runs[i].recovering;

		qenv_init(&b->runs[i].env);
		(void)handoff_deliver(q, &e, rec);
		stored = true;
		batch_settle_in(b, &e, false);
		qenv_free(&e);
	}
	/* The batch's log lines reach the file before any Work file goes:
	 * a crash after this point may log an event twice (when the batch
	 * is redone) but never loses one. */
	tracklog_flush(q->track);
	/* Barrier 2 folded: the rest waits in the tail for the next barrier
	 * (the next batch's first, or batch_flush_tail). A batch that needs
	 * no second barrier (settled Out/ entries, notices under barrier 1)
	 * ends now, as before: its entries are not the tail's (those reach
	 * the Out/ queue only when the tail is done, and a request flushes
	 * the tail before it changes an entry). */
	if (q->tail != NULL && (stored || b->n_items > n_items)) {
		if (batch_empty(q->tail))
			q->tail_since_ms = monoclock_ms();
		batch_move_tail(q->tail, b);
		return 0;
	}
	if ((stored || b->n_items > n_items) && qentry_barrier(q) == -1) {
		batch_hold_all(b, "the store deliveries could not be made "
		    "durable");
		batch_clear(b);
		return -1;
	}
	batch_finish(b);
	return 0;
}

void
batch_tail_enable(struct qctx *q)
{
	if (q->tail == NULL) {
		q->tail = batch_new(q);
		strset_init(&q->tail_in);
		strset_init(&q->tail_out);
	}
}

int64_t
batch_tail_ms(const struct qctx *q)
{
	int64_t now = monoclock_ms();

	if (q->tail == NULL || batch_empty(q->tail))
		return -1;
	return q->tail_since_ms + BATCH_TAIL_MS <= now ? 0 :
	    q->tail_since_ms + BATCH_TAIL_MS - now;
}

bool
batch_tail_has_in(const struct qctx *q, const char *qid)
{
	return q->tail != NULL && strset_has(&q->tail_in, qid);
}

bool
batch_tail_has_out(const struct qctx *q, const char *qid)
{
	return q->tail != NULL && strset_has(&q->tail_out, qid);
}

/* batch_flush_tail - a barrier of its own for the pending tail */
int
batch_flush_tail(struct qctx *q)
{
	int r;

	if (q->tail == NULL || batch_empty(q->tail))
		return 0;
	r = qentry_barrier(q);
	batch_tail_after(q, r == 0);
	return r;
}

void
batch_tail_free(struct qctx *q)
{
	if (q->tail == NULL)
		return;
	batch_free(q->tail);
	strset_fini(&q->tail_in);
	strset_fini(&q->tail_out);
	q->tail = NULL;
}

/* batch_accept_work - a file already in Work/<qid>, into this batch */
enum accept_result
batch_accept_work(struct batch *b, const char *qid, const char *origname,
    bool recovering)
{
	struct claimed c;
	enum accept_result r;

	qentry_remove_all(b->q, qid);
	if (batch_open_work(b->q, qid, origname, recovering, &c) == -1) {
		if (errno == ENOENT)
			return ACCEPT_ARCHIVED;	/* gone: nothing to do */
		log_warnx("%s: Work/%s is not a regular file; left for a person",
		    qid, qid);
		return ACCEPT_FAILED;
	}
	r = batch_accept(b, &c, recovering);
	close(c.fd);
	return r;
}

/* batch_take_work - one Work file through a batch of its own */
enum accept_result
batch_take_work(struct qctx *q, const char *qid, const char *origname,
    bool recovering)
{
	struct batch *b = batch_new(q);
	enum accept_result r;

	r = batch_accept_work(b, qid, origname, recovering);
	if (r == ACCEPT_QUEUED && batch_commit(b) == -1)
		r = ACCEPT_FAILED;
	batch_free(b);
	return r;
}

/* --------------------------------------------------------------- held */

static ssize_t
batch_held_find(const struct qctx *q, const char *qid)
{
	size_t i;

	for (i = 0; i < q->n_held; i++)
		if (strcmp(q->held[i].qid, qid) == 0)
			return (ssize_t)i;
	return -1;
}

/* batch_hold - remember a Work file to try again, and say so */
void
batch_hold(struct qctx *q, const char *qid, const char *origname,
    const char *why)
{
	struct held_work *h;
	unsigned wait;
	ssize_t k;
	char text[512];

	if ((k = batch_held_find(q, qid)) >= 0)
		h = &q->held[k];
	else {
		if (q->n_held == q->cap_held) {
			q->cap_held = q->cap_held ? q->cap_held * 2 : 16;
			q->held = xreallocarray(q->held, q->cap_held,
			    sizeof(*q->held));
		}
		h = &q->held[q->n_held++];
		memset(h, 0, sizeof(*h));
		memcpy(h->qid, qid, QID_SIZE);
		h->origname = xstrdup(origname != NULL ? origname : qid);
	}
	wait = h->tries >= 9 ? BATCH_HOLD_MAX_WAIT : 1u << h->tries;
	if (wait > BATCH_HOLD_MAX_WAIT)
		wait = BATCH_HOLD_MAX_WAIT;
	h->tries++;
	h->due_ms = monoclock_ms() + (int64_t)wait * 1000;
	snprintf(text, sizeof(text), "%s; kept in Work, tried again in %us",
	    why, wait);
	log_warnx("%s: %s: %s", qid, h->origname, text);
	tracklog_add(q->track, &(struct track_event){ .event = "held",
	    .qid = qid, .orig = h->origname, .status = "work",
	    .reason = text });
	tracklog_flush(q->track);
}

int64_t
batch_held_ms(const struct qctx *q)
{
	int64_t best = -1, now = monoclock_ms();
	size_t i;

	for (i = 0; i < q->n_held; i++)
		if (best == -1 || q->held[i].due_ms < best)
			best = q->held[i].due_ms;
	if (best == -1)
		return -1;
	return best <= now ? 0 : best - now;
}

/* A queue folder removed while the daemon runs leaves it a descriptor of
 * a deleted folder: make the folder again and put it in place under the
 * same descriptor number, which every module holds. */
static void
batch_reopen_deleted(struct qctx *q)
{
	struct layout_want want;
	struct buf err;
	struct stat st;
	int i, fd;

	buf_init(&err);
	for (i = LAYOUT_ROOT + 1; i < LAYOUT_NDIRS; i++) {
		if (q->dir[i] == -1 || fstat(q->dir[i], &st) == -1 ||
		    st.st_nlink > 0)
			continue;
		buf_reset(&err);
		if (layout_want_from_config(q->cfg, &want, &err) == -1 ||
		    (mkdirat(q->dir[LAYOUT_ROOT], layout_name(i),
		    layout_mode(i, &want)) == -1 && errno != EEXIST) ||
		    (fd = safe_open_dir(q->dir[LAYOUT_ROOT], layout_name(i))) ==
		    -1) {
			log_warn("%s was removed and cannot be made again",
			    layout_name(i));
			continue;
		}
		if (dup2(fd, q->dir[i]) == -1)
			log_warn("%s: dup2", layout_name(i));
		else
			log_warnx("%s was removed while the connector ran; "
			    "made again", layout_name(i));
		close(fd);
	}
	buf_fini(&err);
}

/* batch_retry_held - try the due held Work files again */
size_t
batch_retry_held(struct qctx *q)
{
	int64_t now = monoclock_ms();
	char (*due)[QID_SIZE];
	size_t i, n = 0;
	ssize_t k;
	enum accept_result r;
	char *origname;

	if (q->n_held == 0)
		return 0;
	/* The due ones first: a retry may hold new files (a notice). */
	due = xcalloc(q->n_held, sizeof(*due));
	for (i = 0; i < q->n_held; i++)
		if (q->held[i].due_ms <= now)
			memcpy(due[n++], q->held[i].qid, QID_SIZE);
	if (n > 0)
		batch_reopen_deleted(q);
	for (i = 0; i < n; i++) {
		if ((k = batch_held_find(q, due[i])) == -1)
			continue;
		origname = xstrdup(q->held[k].origname);
		log_info("%s: trying the held Work file again", due[i]);
		r = batch_take_work(q, due[i], origname, true);
		if ((k = batch_held_find(q, due[i])) != -1) {
			if (r != ACCEPT_FAILED) {
				free(q->held[k].origname);
				q->held[k] = q->held[--q->n_held];
			} else if (q->held[k].due_ms <= now)
				batch_hold(q, due[i], origname,
				    "still cannot be queued");
		}
		free(origname);
	}
	free(due);
	tracklog_flush(q->track);
	return n;
}

/* batch_forget - a Work file whose sender was told it failed (the
 * listener's 4xx after a failed barrier): not held, not queued, gone */
void
batch_forget(struct qctx *q, const char *qid)
{
	ssize_t k;

	if ((k = batch_held_find(q, qid)) >= 0) {
		free(q->held[k].origname);
		q->held[k] = q->held[--q->n_held];
	}
	qentry_remove_all(q, qid);
	if (unlinkat(q->dir[LAYOUT_WORK], qid, 0) == -1 && errno != ENOENT)
		log_warn("Work/%s", qid);
	/* after "received" (and maybe "held ... tried again"): the last
	 * word on this queue id, so the log does not promise a retry */
	tracklog_add(q->track, &(struct track_event){ .event = "refused",
	    .qid = qid, .status = "tempfail", .dsn = "4.3.0",
	    .reason = "not kept: the queue could not take it; the client "
	    "was answered 451 and keeps the message" });
	tracklog_flush(q->track);
}

void
batch_held_free(struct qctx *q)
{
	size_t i;

	for (i = 0; i < q->n_held; i++)
		free(q->held[i].origname);
	free(q->held);
	q->held = NULL;
	q->n_held = q->cap_held = 0;
}
