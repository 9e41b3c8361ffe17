/*
 * requests - apply what tools asked for (see requests.h).
 */
#include "requests.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "inq.h"
#include "log.h"
#include "outq.h"
#include "qchange.h"
#include "qctx.h"
#include "qrequest.h"
#include "tracklog.h"
#include "xalloc.h"

/* A reply older than this was given up on by its tool. */
#define REQUESTS_REPLY_KEEP	3600

static void
requests_flush(struct qctx *q, struct outq *oq, const struct qrequest *rq,
    struct qrequest_reply *reply)
{
	size_t i, n = 0;

	if (oq != NULL) {
		if (rq->all)
			n = outq_make_due(oq, NULL);
		else
			for (i = 0; i < rq->n_qids; i++)
				n += outq_make_due(oq, rq->qids[i]);
	}
	/* In/ entries are few (a store that failed for a while): all are
	 * tried now, which covers the named ones. */
	(void)inq_run(q, true, false);
	log_info("flush request: %zu Out entr%s made due", n,
	    n == 1 ? "y" : "ies");
	reply->flushed = n;
	if (oq != NULL)
		(void)outq_run(oq);
}

/* Would the request change an entry the Out/ queue has loaded? */
static bool
requests_busy(struct outq *oq, const struct qrequest *rq)
{
	size_t i;

	if (oq == NULL || rq->verb == QREQUEST_FLUSH)
		return false;
	for (i = 0; i < rq->n_qids; i++)
		if (outq_busy(oq, rq->qids[i]))
			return true;
	return false;
}

/* hold, release, delete, requeue: on disk through qchange, then the
 * Out/ queue's memory and the In/ runner */
static void
requests_change(struct qctx *q, struct outq *oq, const struct qrequest *rq,
    struct qrequest_reply *reply)
{
	struct buf text;
	unsigned changed;
	enum qrequest_result r;
	bool due;
	size_t i;

	buf_init(&text);
	due = rq->verb == QREQUEST_RELEASE ||
	    rq->verb == QREQUEST_DELETE_BOUNCE;
	for (i = 0; i < rq->n_qids; i++) {
		buf_reset(&text);
		r = qchange_apply(q->dir, q->track, rq->verb, rq->qids[i],
		    time(NULL), q->cfg->pickup_dots == PICKUP_DOTS_IIS,
		    &changed, &text);
		qrequest_reply_add(reply, rq->qids[i], r, buf_cstr(&text));
		log_info("%s: %s request: %s", rq->qids[i],
		    qrequest_verb_name(rq->verb), buf_cstr(&text));
		if ((changed & (1u << LAYOUT_OUT)) && oq != NULL) {
			(void)outq_forget(oq, rq->qids[i]);
			if (due)
				(void)outq_add(oq, rq->qids[i]);
		}
		if ((changed & (1u << LAYOUT_IN)) && due)
			q->in_due = true;
	}
	tracklog_flush(q->track);
	buf_fini(&text);
}

/* Remove a reply its tool never collected. */
static void
requests_sweep_reply(int logfd, const char *name, time_t now)
{
	struct stat st;

	if (fstatat(logfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now - st.st_mtime > REQUESTS_REPLY_KEEP)
		(void)unlinkat(logfd, name, 0);
}

/* requests_apply - every request in Log/, oldest name order irrelevant */
size_t
requests_apply(struct qctx *q, struct outq *oq)
{
	struct qrequest rq;
	struct qrequest_reply reply;
	struct buf err;
	struct dirent *de;
	DIR *dir;
	char **names = NULL;
	size_t n = 0, cap = 0, i, applied = 0;
	time_t now = time(NULL);
	int fd;

	q->requests_kept = false;
	if ((fd = openat(q->dir[LAYOUT_LOG], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		log_warn("cannot list Log for requests");
		return 0;
	}
	/* Names first: applying a request must not race the listing. */
	while ((de = readdir(dir)) != NULL) {
		if (qrequest_reply_name_valid(de->d_name)) {
			requests_sweep_reply(q->dir[LAYOUT_LOG], de->d_name, now);
			continue;
		}
		if (!qrequest_name_valid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	/* A request sees every entry as written back: the pending tail
	 * first (it could rewrite what the request changes). */
	if (n > 0)
		(void)batch_flush_tail(q);
	buf_init(&err);
	for (i = 0; i < n; i++) {
		buf_reset(&err);
		memset(&reply, 0, sizeof(reply));
		if (qrequest_read(q->dir[LAYOUT_LOG], names[i], &rq, &err) ==
		    -1)
			log_warnx("Log/%s: request ignored: %s", names[i],
			    buf_cstr(&err));
		else if (requests_busy(oq, &rq)) {
			/* after the batch that writes the entry back */
			q->requests_kept = true;
			qrequest_free(&rq);
			free(names[i]);
			continue;
		} else {
			if (rq.verb == QREQUEST_FLUSH)
				requests_flush(q, oq, &rq, &reply);
			else
				requests_change(q, oq, &rq, &reply);
			qrequest_free(&rq);
			if (qrequest_reply_write(q->dir[LAYOUT_LOG], names[i],
			    &reply) == -1)
				log_warn("Log/%s: cannot answer", names[i]);
			qrequest_reply_free(&reply);
			applied++;
		}
		if (unlinkat(q->dir[LAYOUT_LOG], names[i], 0) == -1 &&
		    errno != ENOENT)
			log_warn("Log/%s", names[i]);
		free(names[i]);
	}
	free(names);
	buf_fini(&err);
	return applied;
}
