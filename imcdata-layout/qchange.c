/*
 * qchange - hold, release, delete, requeue on disk (see qchange.h).
 */
#include "qchange.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qfile.h"
#include "safeio.h"
#include "tracklog.h"

static int
qchange_store(const int *dir, enum layout_dir f, const struct qenv *e)
{
	return f == LAYOUT_OUT ? qenv_store_on_content(dir[f], e, true) :
	    qenv_store(dir[f], e, false, true);
}

/* Remove an entry: the envelope first (an In/ content without one is a
 * finished entry), then the content, then make it durable. */
static int
qchange_remove(int dirfd, const char *qid)
{
	char name[QID_SIZE + 8];

	snprintf(name, sizeof(name), "%s%s", qid, QFILE_ENV);
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
		return -1;
	snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
		return -1;
	return safe_fsync_dir(dirfd);
}

static void
qchange_log(struct tracklog *track, const char *event, const struct qenv *e,
    const char *to, const char *status, const char *reason)
{
	if (track == NULL)
		return;
	tracklog_add(track, &(struct track_event){ .event = event,
	    .qid = e->qid, .from = e->sender, .to = to, .size = e->size,
	    .status = status, .reason = reason });
}

/* One folder's entry; DONE, ALREADY or ERROR. */
static enum qrequest_result
qchange_entry(const int *dir, enum layout_dir f, struct tracklog *track,
    enum qrequest_verb verb, struct qenv *e, time_t now)
{
	size_t i;

	switch (verb) {
	case QREQUEST_HOLD:
		if (e->held != 0)
			return QREQUEST_ALREADY;
		e->held = (int64_t)now;
		if (qchange_store(dir, f, e) == -1)
			return QREQUEST_ERROR;
		qchange_log(track, "held", e, NULL, "held", "imc-queue hold");
		return QREQUEST_DONE;
	case QREQUEST_RELEASE:
		if (e->held == 0)
			return QREQUEST_ALREADY;
		e->held = 0;
		e->next_try = 0;
		if (qchange_store(dir, f, e) == -1)
			return QREQUEST_ERROR;
		qchange_log(track, "released", e, NULL, "released",
		    "imc-queue release");
		return QREQUEST_DONE;
	case QREQUEST_DELETE:
		if (qchange_remove(dir[f], e->qid) == -1)
			return QREQUEST_ERROR;
		for (i = 0; i < e->n_rcpts; i++)
			if (e->rcpts[i].state == QRCPT_PENDING)
				qchange_log(track, "deleted", e,
				    e->rcpts[i].addr, "deleted",
				    "imc-queue delete: nobody told");
		return QREQUEST_DONE;
	case QREQUEST_DELETE_BOUNCE:
		for (i = 0; i < e->n_rcpts; i++) {
			struct qrcpt *r = &e->rcpts[i];

			if (r->state != QRCPT_PENDING)
				continue;
			r->state = QRCPT_FAILED;
			snprintf(r->dsn, sizeof(r->dsn), "%s",
			    QCHANGE_DELETED_DSN);
			qenv_set(&r->text, QCHANGE_DELETED_TEXT);
		}
		/* the next run of the entry tells the sender and removes it */
		e->held = 0;
		e->next_try = 0;
		if (qchange_store(dir, f, e) == -1)
			return QREQUEST_ERROR;
		for (i = 0; i < e->n_rcpts; i++)
			if (e->rcpts[i].state == QRCPT_FAILED &&
			    strcmp(e->rcpts[i].dsn, QCHANGE_DELETED_DSN) == 0)
				qchange_log(track, "deleted", e,
				    e->rcpts[i].addr, "bounce",
				    "imc-queue delete --bounce: the sender "
				    "is told");
		return QREQUEST_DONE;
	default:
		return QREQUEST_ERROR;
	}
}

/* qchange_apply - one verb on the In/ and Out/ entries of qid */
enum qrequest_result
qchange_apply(const int *dir, struct tracklog *track, enum qrequest_verb verb,
    const char *qid, time_t now, unsigned *changed, struct buf *text)
{
	static const enum layout_dir folders[] = { LAYOUT_OUT, LAYOUT_IN };
	enum qrequest_result r, all = QREQUEST_UNKNOWN;
	struct qenv e;
	struct buf err;
	size_t i;

	*changed = 0;
	buf_init(&err);
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		enum layout_dir f = folders[i];

		buf_reset(&err);
		if (dir[f] == -1)
			continue;
		if (qenv_load(dir[f], qid, &e, &err) == -1) {
			if (errno == ENOENT)
				continue;	/* none here, or finished */
			buf_printf(text, "%s%s: unreadable (%s)",
			    text->len ? "; " : "", layout_name(f),
			    buf_cstr(&err));
			all = QREQUEST_ERROR;
			continue;
		}
		r = qchange_entry(dir, f, track, verb, &e, now);
		if (r == QREQUEST_ERROR) {
			buf_printf(text, "%s%s: %s", text->len ? "; " : "",
			    layout_name(f), strerror(errno));
			all = QREQUEST_ERROR;
		} else {
			buf_printf(text, "%s%s %s%s", text->len ? "; " : "",
			    r == QREQUEST_ALREADY ? (verb == QREQUEST_HOLD ?
			    "held already in" : "not held in") :
			    verb == QREQUEST_HOLD ? "held in" :
			    verb == QREQUEST_RELEASE ? "released in" :
			    "deleted from", layout_name(f),
			    r == QREQUEST_DONE && verb == QREQUEST_DELETE_BOUNCE ?
			    " (the sender is told)" : "");
			if (r == QREQUEST_DONE) {
				*changed |= 1u << f;
				if (all != QREQUEST_ERROR)
					all = QREQUEST_DONE;
			} else if (all == QREQUEST_UNKNOWN)
				all = QREQUEST_ALREADY;
		}
		qenv_free(&e);
	}
	if (all == QREQUEST_UNKNOWN)
		buf_puts(text, "no such entry in In or Out");
	buf_fini(&err);
	return all;
}
