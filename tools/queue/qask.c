/*
 * qask - ask the connector, or change under the lock (see qask.h).
 */
#include "qask.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "instlock.h"
#include "monoclock.h"
#include "qchange.h"
#include "tracklog.h"

/* The PID of the imc-connector holding the lock: >0; 0 none; -1 the
 * holder is not an imc-connector this process can see (another user's
 * /proc, another PID namespace). */
static pid_t
qask_connector(int logfd)
{
	char path[64], comm[64];
	pid_t pid;
	FILE *f;
	bool ours;

	if ((pid = instlock_holder(logfd)) <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ours = fgets(comm, sizeof(comm), f) != NULL &&
	    strncmp(comm, "imc-connector", 13) == 0;
	fclose(f);
	return ours ? pid : -1;
}

/* Wait for Log/<hex>.reply, read it and remove it. */
static int
qask_wait(const struct qask *a, const char *name, struct qrequest_reply *reply,
    struct buf *msg)
{
	char rname[QREQUEST_NAME_LEN + 1];
	int64_t end = monoclock_ms() + a->wait_ms;
	struct buf err;

	buf_init(&err);
	qrequest_reply_name(rname, sizeof(rname), name);
	for (;;) {
		buf_reset(&err);
		if (qrequest_reply_read(a->logfd, name, reply, &err) == 0) {
			(void)unlinkat(a->logfd, rname, 0);
			buf_fini(&err);
			return 0;
		}
		if (errno != ENOENT) {
			/* written atomically: a bad one stays bad */
			buf_printf(msg, "the connector's answer cannot be read "
			    "(%s)", buf_cstr(&err));
			buf_fini(&err);
			return -1;
		}
		if (monoclock_ms() >= end)
			break;
		usleep(20 * 1000);
	}
	buf_printf(msg, "no answer from the connector in %d s: the request "
	    "stays in Log/%s and is applied when the connector gets to it",
	    (a->wait_ms + 999) / 1000, name);
	buf_fini(&err);
	return -1;
}

/* No connector runs: make the change here, holding the tree's lock. */
static enum qask_outcome
qask_local(const struct qask *a, int lockfd, const struct qrequest *rq,
    struct qrequest_reply *reply, struct buf *msg)
{
	static const enum layout_dir used[] = { LAYOUT_PICKUP,
	    LAYOUT_PICKUP_ARCHIVE, LAYOUT_WORK, LAYOUT_IN, LAYOUT_OUT,
	    LAYOUT_BADMAIL };
	int dir[LAYOUT_NDIRS];
	char logdir[4096];
	struct tracklog *track;
	struct buf text, err;
	unsigned changed;
	enum qrequest_result r;
	size_t i;

	for (i = 0; i < LAYOUT_NDIRS; i++)
		dir[i] = -1;
	for (i = 0; i < sizeof(used) / sizeof(used[0]); i++)
		dir[used[i]] = openat(a->rootfd, layout_name(used[i]),
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	dir[LAYOUT_LOG] = a->logfd;
	buf_init(&err);
	snprintf(logdir, sizeof(logdir), "%s/%s", a->root,
	    layout_name(LAYOUT_LOG));
	/* without a tracking log the change is still made, and said here */
	if ((track = tracklog_open(logdir, &err)) == NULL)
		buf_printf(msg, "no tracking log (%s); ", buf_cstr(&err));
	buf_init(&text);
	for (i = 0; i < rq->n_qids; i++) {
		buf_reset(&text);
		r = qchange_apply(dir, track, rq->verb, rq->qids[i], time(NULL),
		    a->stuff_dots, &changed, &text);
		qrequest_reply_add(reply, rq->qids[i], r, buf_cstr(&text));
	}
	if (track != NULL) {
		tracklog_flush(track);
		tracklog_free(track);
	}
	buf_fini(&text);
	buf_fini(&err);
	for (i = 0; i < sizeof(used) / sizeof(used[0]); i++)
		if (dir[used[i]] != -1)
			close(dir[used[i]]);
	/* the lock goes with the last change */
	close(lockfd);
	buf_puts(msg, "no connector is running: changed here, under the "
	    "tree's lock");
	return QASK_APPLIED;
}

enum qask_outcome
qask_run(const struct qask *a, const struct qrequest *rq,
    struct qrequest_reply *reply, struct buf *msg)
{
	char name[QREQUEST_NAME_LEN + 1];
	pid_t pid, holder;
	int lockfd;

	memset(reply, 0, sizeof(*reply));
	pid = qask_connector(a->logfd);
	if (pid == 0 && rq->verb != QREQUEST_FLUSH) {
		/* instlock_holder has closed its descriptor: taking the lock
		 * now is safe (closing one would drop it) */
		if ((lockfd = instlock_acquire(a->logfd, &holder)) != -1)
			return qask_local(a, lockfd, rq, reply, msg);
		if (errno != EWOULDBLOCK) {
			buf_printf(msg, "Log/%s: %s", INSTLOCK_FILE,
			    strerror(errno));
			return QASK_FAILED;
		}
		/* a connector has just started: it is the one to ask */
		pid = qask_connector(a->logfd);
	}
	if (qrequest_write(a->logfd, rq, name) == -1) {
		buf_printf(msg, "cannot write a request into Log: %s",
		    strerror(errno));
		return QASK_FAILED;
	}
	if (pid == 0) {
		buf_printf(msg, "request Log/%s written; no connector is "
		    "running: the request is applied at its next start", name);
		return QASK_LEFT;
	}
	if (pid < 0)
		buf_printf(msg, "request Log/%s written; the lock holder is not "
		    "an imc-connector this tool can see: waiting for its "
		    "answer; ", name);
	else if (kill(pid, SIGUSR1) == -1)
		buf_printf(msg, "request Log/%s written; cannot signal the "
		    "connector (PID %ld): %s; waiting for its answer; ", name,
		    (long)pid, strerror(errno));
	else
		buf_printf(msg, "told the connector (PID %ld); ", (long)pid);
	if (qask_wait(a, name, reply, msg) == -1)
		return QASK_NO_ANSWER;
	buf_puts(msg, "it answered");
	return QASK_ANSWERED;
}
