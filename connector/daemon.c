/*
 * daemon - the connector's context and main loop (see daemon.h).
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>

#include "batch.h"
#include "evloop.h"
#include "inq.h"
#include "instlock.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "outdest.h"
#include "outq.h"
#include "recover.h"
#include "requests.h"
#include "safeio.h"
#include "protolog.h"
#include "smtpd.h"
#include "sdnotify.h"
#include "store_maildir.h"
#include "xalloc.h"

/* How often the In/ queue is looked at for due deferred entries (ms). */
#define DAEMON_QUEUE_RUN_MS	30000
#define DAEMON_PID_FILE		LAYOUT_PID_FILE
/* How often old logs are looked for (log_keep_days), ms. */
#define DAEMON_PRUNE_MS		(3600 * 1000)
/* How long SIGTERM waits for SMTP transactions in hand. */
#define DAEMON_STOP_GRACE	30

/*
 * A connector started as root reads files any local user wrote with code
 * that parses MIME, charsets, DNS and TLS: that must not run as root.
 * Without "user" it refuses, unless allow_root = yes says a person wants
 * exactly that (a lab).
 */
static int
daemon_check_root(const struct imc_config *cfg, struct buf *err)
{
	struct passwd *pw;

	if (geteuid() != 0 || cfg->allow_root)
		return 0;
	if (cfg->user == NULL) {
		buf_printf(err, "%s: started as root without \"user\": the "
		    "connector would parse every writer's files as root; set "
		    "user = the service account (or allow_root = yes, for a "
		    "lab only)", cfg->path);
		return -1;
	}
	if ((pw = getpwnam(cfg->user)) != NULL && pw->pw_uid == 0) {
		buf_printf(err, "%s: user = %s is root; set a service account "
		    "(or allow_root = yes, for a lab only)", cfg->path,
		    cfg->user);
		return -1;
	}
	return 0;
}

/*
 * Become the service user, keeping CAP_LEASE only: a read lease is how
 * intake asks whether a writer still has a Pickup file open, and a lease
 * on another user's file needs that capability (fcntl(2), F_SETLEASE).
 * Without it intake falls back to inotify and the settle time.
 */
static int
daemon_drop_privileges(const struct imc_config *cfg, struct buf *err)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	struct passwd *pw;

	if (cfg->user == NULL || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		buf_printf(err, "no such user \"%s\"", cfg->user);
		return -1;
	}
	if (pw->pw_uid == 0)
		return 0;
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) == -1)
		log_warn("prctl(PR_SET_KEEPCAPS)");
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
		buf_printf(err, "cannot become user %s: %s", cfg->user,
		    strerror(errno));
		return -1;
	}
	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	data[CAP_TO_INDEX(CAP_LEASE)].permitted = CAP_TO_MASK(CAP_LEASE);
	data[CAP_TO_INDEX(CAP_LEASE)].effective = CAP_TO_MASK(CAP_LEASE);
	if (syscall(SYS_capset, &hdr, data) == -1)
		log_warn("cannot keep CAP_LEASE as %s; files still being "
		    "written are recognised by inotify and pickup_settle only",
		    cfg->user);
	(void)prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
	return 0;
}

/* daemon_check_config - the file as a start would take it */
int
daemon_check_config(struct imc_config *cfg, const char *config_path,
    struct buf *err)
{
	struct layout_want want;

	if (config_load(cfg, config_path, err) == -1 ||
	    daemon_check_root(cfg, err) == -1 ||
	    layout_want_from_config(cfg, &want, err) == -1)
		return -1;
	return 0;
}

static int
daemon_open_tree(struct imc_daemon *d, struct buf *err)
{
	int i;

	for (i = 0; i < LAYOUT_NDIRS; i++) {
		d->dir[i] = i == LAYOUT_ROOT ? safe_open_dir(AT_FDCWD, d->cfg.root) :
		    safe_open_dir(d->dir[LAYOUT_ROOT], layout_name(i));
		if (d->dir[i] == -1) {
			buf_printf(err, "%s/%s: %s", d->cfg.root, layout_name(i),
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
daemon_check_tree(struct imc_daemon *d, struct buf *err)
{
	struct layout_want want;
	struct layout_report rep;
	size_t i;

	if (layout_want_from_config(&d->cfg, &want, err) == -1)
		return -1;
	/* Missing folders are made again at every start, as the IMC did. */
	if (layout_create(d->cfg.root, &want, err) == -1)
		return -1;
	if (layout_check(d->cfg.root, &want, false, &rep) == -1) {
		buf_puts(err, "cannot check the tree");
		return -1;
	}
	for (i = 0; i < rep.n; i++)
		if (rep.items[i].unsafe)
			buf_printf(err, "%s%s", err->len ? "\n" : "",
			    rep.items[i].message);
		else
			log_warnx("layout: %s%s", rep.items[i].message,
			    rep.items[i].kind == DRIFT_FOREIGN ? "" :
			    " (imc-layout fix repairs it)");
	if (layout_report_unsafe(&rep)) {
		buf_puts(err, "\nthe Imcdata tree fails the safety rules; not "
		    "starting (see imc-layout check)");
		layout_report_free(&rep);
		return -1;
	}
	layout_report_free(&rep);
	return 0;
}

static void daemon_read_inotify(struct evloop *, int, int, void *);
static void daemon_signal(struct evloop *, int, void *);

static int
daemon_setup_loop(struct imc_daemon *d, struct buf *err)
{
	char path[64];

	if ((d->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1) {
		buf_printf(err, "inotify: %s", strerror(errno));
		return -1;
	}
	/* Watched by descriptor path so a renamed tree cannot redirect it. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", d->dir[LAYOUT_PICKUP]);
	/* Create and modify say a writer has a file open; close-write and
	 * moved-to that it is done; delete and moved-from that it is gone. */
	if (inotify_add_watch(d->inotify_fd, path, IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM |
	    IN_ONLYDIR) == -1) {
		buf_printf(err, "inotify on Pickup: %s", strerror(errno));
		return -1;
	}
	if (evloop_watch(d->loop, d->inotify_fd, EVLOOP_READ,
	    daemon_read_inotify, d) == NULL ||
	    evloop_signal(d->loop, SIGTERM, daemon_signal, d) == -1 ||
	    evloop_signal(d->loop, SIGINT, daemon_signal, d) == -1 ||
	    evloop_signal(d->loop, SIGHUP, daemon_signal, d) == -1 ||
	    evloop_signal(d->loop, SIGUSR1, daemon_signal, d) == -1) {
		buf_printf(err, "event loop: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- wiring */

static void
daemon_job_done(void *arg, struct out_job *job)
{
	struct imc_daemon *d = arg;

	outq_job_done(d->outq, job);
}

static void
daemon_submit(void *arg, const struct route *r, struct out_job *job)
{
	struct imc_daemon *d = arg;

	outdest_submit(d->dests, r, job);
}

/* Out/ entries were settled: a batch disposes of them, from the loop. */
static void daemon_timer_settled(struct evloop *, uint64_t, void *);

static void
daemon_settled(void *arg)
{
	struct imc_daemon *d = arg;

	if (d->settled_timer == 0)
		d->settled_timer = evloop_timer_add(d->loop, 0,
		    daemon_timer_settled, d);
}

static void
daemon_out_entry(void *arg, const char *qid)
{
	struct imc_daemon *d = arg;

	(void)outq_add(d->outq, qid);
}

/* A listener's message is complete in Work/: into the batch in hand,
 * committed at the end of this loop round with whatever else came. */
static void
daemon_smtpd_durable(void *arg)
{
	struct imc_daemon *d = arg;

	smtpd_durable(d->smtpd);
}

static enum accept_result
daemon_smtpd_accept(void *arg, const char *qid)
{
	struct imc_daemon *d = arg;

	return batch_accept_work(d->batch, qid, qid, false);
}

static void
daemon_smtpd_forget(void *arg, const char *qid)
{
	struct imc_daemon *d = arg;

	batch_forget(&d->q, qid);
}

static const struct smtpd_ops daemon_smtpd_ops = { daemon_smtpd_accept,
	daemon_smtpd_forget };
static const struct outdest_ops daemon_outdest_ops = { daemon_job_done };
static const struct outq_ops daemon_outq_ops = { daemon_submit,
	daemon_settled };

/* The SMTP side: DNS, TLS context, protocol log, destinations, Out/. */
static int
daemon_setup_smtp(struct imc_daemon *d, struct buf *err)
{
	if ((d->dests = outdest_new(&d->cfg, d->loop, d->dir[LAYOUT_OUT],
	    &daemon_outdest_ops, d, err)) == NULL)
		return -1;
	d->outq = outq_new(&d->q, d->loop, &daemon_outq_ops, d);
	if (outq_load(d->outq) == -1) {
		buf_printf(err, "cannot list Out: %s", strerror(errno));
		return -1;
	}
	d->q.out_entry = daemon_out_entry;
	d->q.out_arg = d;
	return 0;
}

/* daemon_init - configuration, tree, logs, store; recovery of a crash */
int
daemon_init(struct imc_daemon *d, const char *config_path, bool once,
    bool debug, struct buf *err)
{
	pid_t holder;
	int i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < LAYOUT_NDIRS; i++)
		d->dir[i] = -1;
	d->inotify_fd = -1;
	d->lock_fd = -1;
	d->once = once;
	d->debug = debug;
	if (daemon_check_config(&d->cfg, config_path, err) == -1)
		return EX_CONFIG;
	if (!debug)
		log_set_level(d->cfg.log_level);
	if (daemon_check_tree(d, err) == -1)
		return EX_CONFIG;
	/* Port 25 needs root: the listen sockets come before the drop. */
	if (!once && (i = smtpd_bind(&d->cfg, &d->listeners, err)) != 0)
		return i;
	if (daemon_drop_privileges(&d->cfg, err) == -1)
		return EX_NOPERM;
	if (daemon_open_tree(d, err) == -1)
		return EX_OSFILE;
	/* One connector per tree: a second one (a cron --once beside the
	 * daemon, a double start) would take the first one's Work files for
	 * interrupted intakes. */
	if ((d->lock_fd = instlock_acquire(d->dir[LAYOUT_LOG], &holder)) ==
	    -1) {
		if (errno == EWOULDBLOCK) {
			buf_printf(err, "another imc-connector (pid %ld) is "
			    "running on %s (it holds Log/%s); not starting",
			    (long)holder, d->cfg.root, INSTLOCK_FILE);
			return EX_TEMPFAIL;
		}
		buf_printf(err, "Log/%s: %s", INSTLOCK_FILE, strerror(errno));
		return EX_OSFILE;
	}
	{
		char logdir[4096];

		snprintf(logdir, sizeof(logdir), "%s/Log", d->cfg.root);
		if ((d->track = tracklog_open(logdir, err)) == NULL)
			return EX_OSFILE;
	}
	d->intake = intake_new(&(struct intake_ctx){ .cfg = &d->cfg,
	    .pickup_fd = d->dir[LAYOUT_PICKUP],
	    .archive_fd = d->dir[LAYOUT_PICKUP_ARCHIVE],
	    .work_fd = d->dir[LAYOUT_WORK], .track = d->track,
	    .archived = &d->stats.archived });
	d->store = maildir_open(d->dir[LAYOUT_STORE], d->cfg.hostname);
	d->q = (struct qctx){ .cfg = &d->cfg, .dir = d->dir, .track = d->track,
	    .store = d->store, .intake = d->intake, .stats = &d->stats };
	d->batch = batch_new(&d->q);
	/* A peer that closes while we write must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	/* imc-queue signals whoever holds the lock; an --once run picks its
	 * requests up at its next start instead of dying of SIGUSR1. */
	if (once)
		signal(SIGUSR1, SIG_IGN);
	if ((d->loop = evloop_new()) == NULL) {
		buf_printf(err, "event loop: %s", strerror(errno));
		return EX_OSERR;
	}
	if (!once && daemon_setup_loop(d, err) == -1)
		return EX_OSERR;
	if (!once) {
		/* systemd and people find the daemon here. */
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

		if (safe_atomic_write(d->dir[LAYOUT_LOG], DAEMON_PID_FILE, pid,
		    (size_t)n, 0644, 0) == -1)
			log_warn("Log/%s", DAEMON_PID_FILE);
		else
			d->wrote_pid = true;
	}
	/* Recovery commits before the Out/ queue exists: outq_load then
	 * finds those entries on disk. */
	if (recover_run(&d->q) == -1) {
		buf_printf(err, "recovery: %s", strerror(errno));
		return EX_OSERR;
	}
	if (daemon_setup_smtp(d, err) == -1)
		return EX_OSERR;
	/* The running daemon folds each batch's second barrier into the
	 * next batch's first (batch.h); --once and recovery do not. */
	if (!once)
		batch_tail_enable(&d->q);
	if (!once && d->listeners.n > 0) {
		if ((d->smtpd = smtpd_new(&d->cfg, d->loop,
		    d->dir[LAYOUT_WORK], &d->listeners, &daemon_smtpd_ops, d,
		    err)) == NULL)
			return EX_OSERR;
		d->q.durable = daemon_smtpd_durable;
		d->q.durable_arg = d;
		if (d->cfg.protocol_log != PROTOLOG_NONE) {
			char logdir[4096];

			snprintf(logdir, sizeof(logdir), "%s/Log", d->cfg.root);
			if ((d->smtpd_log = protolog_open(logdir,
			    d->cfg.protocol_log, err)) == NULL)
				return EX_OSFILE;
			protolog_set_prefix(d->smtpd_log, "smtpd");
			smtpd_set_protolog(d->smtpd, d->smtpd_log);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- steps */

/*
 * One batch (batch.h): claim up to DAEMON_BATCH waiting Pickup files and
 * take them, take what the Out/ queue settled since the last batch (their
 * notices, removals and new envelopes), then commit it all under one
 * barrier (two with store deliveries).
 */
static void
daemon_batch(struct imc_daemon *d)
{
	struct claimed c;
	enum claim_result cr;
	size_t n = 0;
	char *name;
	bool from_event;

	while (n < DAEMON_BATCH && !d->stop && (name = intake_next(d->intake,
	    &from_event)) != NULL) {
		cr = intake_claim(d->intake, name, from_event, &c);
		if (cr == CLAIM_OK) {
			(void)batch_accept(d->batch, &c, false);
			close(c.fd);
			free(c.origname);
			n++;
		} else if (cr == CLAIM_ERROR)
			log_warnx("%s: no queue id could be made; left in "
			    "Pickup", name);
		free(name);
	}
	if (d->outq != NULL)
		(void)outq_dispose(d->outq, d->batch);
	/* the listener's sessions waiting in this batch hear the result */
	smtpd_committed(d->smtpd, batch_commit(d->batch) == 0);
	tracklog_flush(d->track);
	/* a request that waited for an entry in delivery: the entry is
	 * written back now (before the Out/ queue's next run) */
	if (d->q.requests_kept)
		(void)requests_apply(&d->q, d->outq);
}

static void
daemon_drain(struct imc_daemon *d)
{
	do
		daemon_batch(d);
	while (intake_pending(d->intake) && !d->stop);
}

/* One-shot timers, re-armed after every step from the modules' own due
 * times: the loop sleeps until the earliest of them. */
static void
daemon_arm(struct imc_daemon *d, uint64_t *id, int64_t ms,
    evloop_timer_fn *fn)
{
	if (*id != 0)
		evloop_timer_cancel(d->loop, *id);
	*id = 0;
	if (ms >= 0 && (*id = evloop_timer_add(d->loop, (uint64_t)ms, fn,
	    d)) == 0)
		log_fatal(EX_OSERR, "event loop timer");
}

static void daemon_arm_all(struct imc_daemon *);

static void
daemon_timer_rescan(struct evloop *loop, uint64_t id, void *arg)
{
	struct imc_daemon *d = arg;

	d->rescan_timer = 0;
	d->stats.rescans++;
	if (intake_scan(d->intake) == -1)
		log_warn("cannot list Pickup");
	daemon_arm(d, &d->rescan_timer, (int64_t)d->cfg.pickup_rescan * 1000,
	    daemon_timer_rescan);
}

/* log_keep_days: tracking and protocol logs of older days go. */
static void
daemon_prune_logs(struct imc_daemon *d)
{
	size_t n = 0;

	if (d->cfg.log_keep_days == 0)
		return;
	if (tracklog_prune(d->dir[LAYOUT_LOG], d->cfg.log_keep_days,
	    time(NULL), &n) == -1)
		log_warn("log_keep_days: cannot remove every old log in %s/Log",
		    d->cfg.root);
	if (n > 0)
		log_info("log_keep_days = %llu: %zu old log file%s removed",
		    (unsigned long long)d->cfg.log_keep_days, n,
		    n == 1 ? "" : "s");
}

static void
daemon_timer_prune(struct evloop *loop, uint64_t id, void *arg)
{
	struct imc_daemon *d = arg;

	d->prune_timer = 0;
	daemon_prune_logs(d);
	daemon_arm(d, &d->prune_timer, DAEMON_PRUNE_MS, daemon_timer_prune);
}

/* Log/metrics.prom: the folders counted now, the counters so far. */
static void
daemon_write_metrics(struct imc_daemon *d)
{
	struct metrics m;
	struct outdest_counters oc = { 0, 0, 0 };

	memset(&m, 0, sizeof(m));
	if (metrics_scan(d->dir, time(NULL), &m) == -1)
		log_warn("metrics: cannot count every folder");
	m.stats = d->stats;
	if (d->dests != NULL)
		outdest_counters(d->dests, &oc);
	m.smtp_open = oc.open;
	m.smtp_opened = oc.opened;
	m.dns_failures = oc.dns_failures;
	m.rss_bytes = metrics_rss();
	if (metrics_write(d->dir[LAYOUT_LOG], &m) == -1)
		log_warn("Log/%s", METRICS_FILE);
}

static void
daemon_timer_metrics(struct evloop *loop, uint64_t id, void *arg)
{
	struct imc_daemon *d = arg;

	d->metrics_timer = 0;
	daemon_write_metrics(d);
	daemon_arm(d, &d->metrics_timer,
	    (int64_t)d->cfg.metrics_interval * 1000, daemon_timer_metrics);
}

static void
daemon_timer_retry(struct evloop *loop, uint64_t id, void *arg)
{
	struct imc_daemon *d = arg;

	d->retry_timer = 0;
	(void)intake_run_retries(d->intake);
}

static void
daemon_timer_held(struct evloop *loop, uint64_t id, void *arg)
{
	struct imc_daemon *d = arg;

	d->held_timer = 0;
	(void)batch_retry_held(&d->q);
	(void)outq_run(d->outq);
}

static void
daemon_timer_inq(struct evloop *loop, uint64_t id, void *arg)
{
	struct imc_daemon *d = arg;

	d->inq_timer = 0;
	(void)inq_run(&d->q, false, false);
	daemon_arm(d, &d->inq_timer, DAEMON_QUEUE_RUN_MS, daemon_timer_inq);
}

static void
daemon_timer_out(struct evloop *loop, uint64_t id, void *arg)
{
	struct imc_daemon *d = arg;

	d->out_timer = 0;
	(void)outq_run(d->outq);
}

/* No batch came to cover the pending tail: a barrier of its own. */
static void
daemon_timer_tail(struct evloop *loop, uint64_t id, void *arg)
{
	struct imc_daemon *d = arg;

	d->tail_timer = 0;
	(void)batch_flush_tail(&d->q);
}

static void
daemon_timer_settled(struct evloop *loop, uint64_t id, void *arg)
{
	struct imc_daemon *d = arg;

	d->settled_timer = 0;
	daemon_batch(d);
}

/* The timers that follow the modules' due times. */
static void
daemon_arm_all(struct imc_daemon *d)
{
	daemon_arm(d, &d->retry_timer, intake_retry_ms(d->intake),
	    daemon_timer_retry);
	daemon_arm(d, &d->held_timer, batch_held_ms(&d->q), daemon_timer_held);
	daemon_arm(d, &d->tail_timer, batch_tail_ms(&d->q), daemon_timer_tail);
	daemon_arm(d, &d->out_timer, d->stop ? -1 : outq_next_due_ms(d->outq),
	    daemon_timer_out);
	/* a notice's local copy: the In/ runner now */
	if (d->q.in_due && !d->stop)
		daemon_arm(d, &d->inq_timer, 0, daemon_timer_inq);
}

static void
daemon_read_inotify(struct evloop *loop, int fd, int mask, void *arg)
{
	struct imc_daemon *d = arg;
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	for (;;) {
		n = read(d->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				intake_overflow(d->intake);
				continue;
			}
			if (ev->len == 0)
				continue;
			intake_event(d->intake, ev->mask, ev->name);
		}
	}
}

/* The service manager (Type=notify), if it asked: READY=1 once running
 * and after every reload, RELOADING=1 before, STOPPING=1 on SIGTERM. A
 * failure is logged once: the daemon runs on without it. */
static void
daemon_notify(struct imc_daemon *d, const char *state)
{
	int r = strcmp(state, "RELOADING=1") == 0 ? sdnotify_reloading() :
	    sdnotify_send(state);

	if (r == -1 && !d->notify_failed) {
		d->notify_failed = true;
		log_warn("NOTIFY_SOCKET: cannot tell the service manager %s",
		    state);
	}
}

static void
daemon_signal(struct evloop *loop, int signo, void *arg)
{
	struct imc_daemon *d = arg;

	switch (signo) {
	case SIGTERM:
	case SIGINT:
		if (d->stop) {
			log_info("signal %d again: stopping now", signo);
			d->stop_deadline = time(NULL);
			break;
		}
		log_info("signal %d: finishing the transactions in hand, then "
		    "stopping", signo);
		daemon_notify(d, "STOPPING=1");
		d->stop = true;
		d->stop_deadline = time(NULL) + DAEMON_STOP_GRACE;
		outq_stop(d->outq);
		smtpd_stop(d->smtpd);
		/* Jobs not begun wait for the next start as they are. */
		outdest_stop(d->dests, "the connector is stopping");
		break;
	case SIGHUP:
		/* the loop reloads at its top, between steps */
		d->reload = true;
		break;
	case SIGUSR1:
		/* imc-queue flush: a request waits in Log/; a rescan too */
		(void)requests_apply(&d->q, d->outq);
		daemon_arm(d, &d->rescan_timer, 0, daemon_timer_rescan);
		break;
	default:
		break;
	}
}

static void
daemon_log_stats(const struct imc_daemon *d)
{
	/* syncs per message: what the group commit and the folded second
	 * barrier (batch.h) save */
	log_info("stats: picked_up=%llu archived=%llu delivered=%llu "
	    "deferred=%llu failed=%llu barriers=%llu rescans=%llu "
	    "barriers_per_msg=%.3f",
	    (unsigned long long)d->stats.picked_up,
	    (unsigned long long)d->stats.archived,
	    (unsigned long long)d->stats.delivered,
	    (unsigned long long)d->stats.deferred,
	    (unsigned long long)d->stats.failed,
	    (unsigned long long)d->stats.barriers,
	    (unsigned long long)d->stats.rescans,
	    d->stats.picked_up > 0 ? (double)d->stats.barriers /
	    (double)d->stats.picked_up : 0.0);
}

/* Wait in the loop until every SMTP job in hand has ended (bounded by
 * the sessions' own timeouts, and by the deadline when stopping); what
 * they settled is disposed of in batches on the way. */
static void
daemon_finish_smtp(struct imc_daemon *d, bool bounded)
{
	/* d->stop_deadline is read at every round: a second SIGTERM moves
	 * it to now. */
#define DAEMON_IN_TIME() (!bounded || time(NULL) < d->stop_deadline)
	while (outq_active(d->outq) > 0 && DAEMON_IN_TIME()) {
		if (evloop_run_once(d->loop, 200) == -1 && errno != EINTR)
			log_fatal(EX_OSERR, "event loop");
		if (outq_has_settled(d->outq))
			daemon_batch(d);
		tracklog_flush(d->track);
		outdest_flush_logs(d->dests);
	}
	/* Idle connections say QUIT; a peer gets a few seconds to answer. */
	if (outdest_quit_idle(d->dests) > 0) {
		time_t quit_end = time(NULL) + 3;

		while (outdest_connections(d->dests) > 0 &&
		    outq_active(d->outq) == 0 && time(NULL) < quit_end &&
		    DAEMON_IN_TIME())
			if (evloop_run_once(d->loop, 200) == -1 &&
			    errno != EINTR)
				break;
	}
#undef DAEMON_IN_TIME
	if (outq_active(d->outq) > 0 || outdest_connections(d->dests) > 0)
		outdest_abort(d->dests, "the connector is stopping");
	/* Calls deferred to the end of the round (results of the aborted
	 * jobs, freeing connections) run now, while everything still
	 * exists; what they settled is disposed of in a last batch. */
	outq_stop(d->outq);
	(void)evloop_run_once(d->loop, 0);
	(void)evloop_run_once(d->loop, 0);
	if (outq_has_settled(d->outq))
		daemon_batch(d);
	tracklog_flush(d->track);
	outdest_flush_logs(d->dests);
}

/* --once waits this long at most for files still being written (or
 * settling, without a lease) before it leaves them for the next run. */
#define DAEMON_ONCE_WAIT_MS	5000

/* Once: every Pickup file and every due entry, then return. */
static int
daemon_run_once(struct imc_daemon *d)
{
	int64_t wait, waited = 0, limit;

	limit = (int64_t)(d->cfg.pickup_settle > 3600 ? 3600 :
	    d->cfg.pickup_settle) * 1000 + DAEMON_ONCE_WAIT_MS;
	d->stats.rescans++;
	if (intake_scan(d->intake) == -1)
		log_warn("cannot list Pickup");
	daemon_drain(d);
	/* Files still being written, or settling without a lease, are
	 * asked again one by one when due, within a bound. */
	while (!d->stop && (wait = intake_retry_ms(d->intake)) >= 0 &&
	    waited + wait <= limit) {
		if (wait > 0)
			usleep((useconds_t)(wait > 1000 ? 1000 : wait) * 1000);
		waited += wait > 1000 ? 1000 : wait;
		(void)intake_run_retries(d->intake);
		daemon_drain(d);
	}
	if (intake_retry_ms(d->intake) >= 0)
		log_info("files still being written are left in Pickup for "
		    "the next run");
	(void)batch_retry_held(&d->q);
	(void)inq_run(&d->q, false, false);
	(void)outq_run(d->outq);
	daemon_finish_smtp(d, false);
	/* notices' local copies made on the way */
	if (d->q.in_due)
		(void)inq_run(&d->q, false, false);
	daemon_prune_logs(d);
	daemon_write_metrics(d);
	daemon_log_stats(d);
	return 0;
}

/*
 * daemon_reload - SIGHUP: read the file again. A file with an error
 * changes nothing (the error is logged with its FILE:LINE). A good one
 * replaces the configuration every module reads through its pointer to
 * d->cfg, so new work (the next Pickup file, the next routing, the next
 * attempt's timeouts) follows it, while queued entries and open
 * connections stay as they are. Keys that need a restart keep their
 * values in use, and the log says so.
 */
static void
daemon_reload(struct imc_daemon *d)
{
	struct imc_config next, *old;
	struct buf err, changed;

	d->reload = false;
	daemon_notify(d, "RELOADING=1");
	buf_init(&err);
	buf_init(&changed);
	if (daemon_check_config(&next, d->cfg.path, &err) == -1) {
		log_warnx("reload: %s; the configuration in use stays",
		    buf_cstr(&err));
		config_free(&next);
		goto out;
	}
	if (config_keep_restart(&next, &d->cfg, &changed) > 0)
		log_warnx("reload: %s changed in %s: that needs a restart; "
		    "the values in use stay until then", buf_cstr(&changed),
		    next.path);
	old = xmalloc(sizeof(*old));
	*old = d->cfg;
	d->retired = xreallocarray(d->retired, d->n_retired + 1,
	    sizeof(*d->retired));
	d->retired[d->n_retired++] = old;
	d->cfg = next;
	if (!d->debug)
		log_set_level(d->cfg.log_level);
	log_info("reload: %s loaded; new work follows it", d->cfg.path);
out:
	daemon_notify(d, "READY=1");
	buf_fini(&err);
	buf_fini(&changed);
}

/* daemon_run - the main loop, until SIGTERM (or one pass with --once) */
int
daemon_run(struct imc_daemon *d)
{
	/* Requests left while no connector ran (imc-queue flush). */
	(void)requests_apply(&d->q, d->outq);
	if (d->once)
		return daemon_run_once(d);
	log_info("watching %s/Pickup", d->cfg.root);
	daemon_arm(d, &d->rescan_timer, 0, daemon_timer_rescan);
	daemon_arm(d, &d->inq_timer, DAEMON_QUEUE_RUN_MS, daemon_timer_inq);
	daemon_arm(d, &d->prune_timer, 0, daemon_timer_prune);
	daemon_arm(d, &d->metrics_timer, 0, daemon_timer_metrics);
	(void)outq_run(d->outq);
	daemon_notify(d, "READY=1");
	while (!d->stop) {
		if (d->reload)
			daemon_reload(d);
		if (intake_pending(d->intake))
			daemon_batch(d);
		daemon_arm_all(d);
		/* No wait while Pickup files wait; else until an fd, a
		 * signal or the earliest timer. */
		if (evloop_run_once(d->loop, intake_pending(d->intake) ? 0 :
		    (int)smtpd_commit_in_ms(d->smtpd)) == -1 && errno != EINTR)
			log_fatal(EX_OSERR, "event loop");
		/* group commit: the messages whose final dot came share one
		 * batch (smtpd_commit_in_ms says when) */
		if (smtpd_commit_in_ms(d->smtpd) == 0)
			daemon_batch(d);
		tracklog_flush(d->track);
		smtpd_flush_logs(d->smtpd);
		outdest_flush_logs(d->dests);
	}
	/* messages whose final dot came: committed and answered */
	if (smtpd_waiting(d->smtpd) > 0)
		daemon_batch(d);
	daemon_finish_smtp(d, true);
	/* the last batch's tail: its Work files go, nothing is redone */
	(void)batch_flush_tail(&d->q);
	daemon_write_metrics(d);
	daemon_log_stats(d);
	return 0;
}

/* daemon_fini - release everything */
void
daemon_fini(struct imc_daemon *d)
{
	int i;

	smtpd_flush_logs(d->smtpd);
	smtpd_free(d->smtpd);
	protolog_free(d->smtpd_log);
	smtpd_listeners_close(&d->listeners);
	intake_free(d->intake);
	batch_held_free(&d->q);
	batch_tail_free(&d->q);
	batch_free(d->batch);
	if (d->wrote_pid && d->dir[LAYOUT_LOG] != -1)
		(void)unlinkat(d->dir[LAYOUT_LOG], DAEMON_PID_FILE, 0);
	outq_free(d->outq);
	outdest_free(d->dests);
	maildir_close(d->store);
	tracklog_free(d->track);
	/* The lock goes last, with the process's last queue change. */
	if (d->lock_fd != -1)
		close(d->lock_fd);
	for (i = 0; i < LAYOUT_NDIRS; i++)
		if (d->dir[i] != -1)
			close(d->dir[i]);
	if (d->loop != NULL)
		evloop_free(d->loop);
	if (d->inotify_fd != -1)
		close(d->inotify_fd);
	config_free(&d->cfg);
	for (i = 0; i < (int)d->n_retired; i++) {
		config_free(d->retired[i]);
		free(d->retired[i]);
	}
	free(d->retired);
}
