/*
 * qchange - hold, release, delete, requeue on disk (see qchange.h).
 */
#include "qchange.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qfile.h"
#include "safeio.h"
#include "tracklog.h"
#include "xalloc.h"

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

static bool qchange_has(int dirfd, const char *qid, const char *suffix);

/* Copy a queued message into a Pickup file: without the Return-Path
 * line In/ copies start with (intake writes its own), dots doubled at
 * line starts when Pickup is read the IIS way. */
static int
qchange_copy(int in, int out, bool stuff_dots)
{
	char chunk[16384];
	struct buf o;
	bool bol = true, first = true, skipping = false;
	ssize_t n, i;
	int r = 0;

	buf_init(&o);
	while ((n = read(in, chunk, sizeof(chunk))) > 0) {
		i = 0;
		if (first) {
			first = false;
			skipping = n >= 12 && strncasecmp(chunk, "Return-Path:",
			    12) == 0;
		}
		for (; i < n; i++) {
			if (skipping) {
				if (chunk[i] == '\n')
					skipping = false;
				continue;
			}
			if (bol && stuff_dots && chunk[i] == '.')
				buf_putc(&o, '.');
			buf_putc(&o, chunk[i]);
			bol = chunk[i] == '\n';
		}
		if (safe_write_all(out, o.data, o.len) == -1) {
			r = -1;
			break;
		}
		buf_reset(&o);
	}
	if (n < 0)
		r = -1;
	buf_fini(&o);
	return r;
}

/* Badmail/<qid>.bad back into Pickup with its envelope (.env.bad) as
 * X-Sender/X-Receiver lines: the recipients that failed (and any still
 * pending in an entry quarantined as unreadable, once its envelope is
 * mended). */
static enum qrequest_result
qchange_requeue_badmail(const int *dir, struct tracklog *track,
    const char *qid, bool stuff_dots, struct buf *text)
{
	char bad[QID_SIZE + 16], bdr[QID_SIZE + 16], envbad[QID_SIZE + 16];
	char name[QID_SIZE + 32], tmp[QID_SIZE + 32];
	struct buf head, err;
	struct qenv e;
	struct stat st;
	char *data = NULL;
	size_t i, n = 0;
	int in = -1, out = -1, fd;
	enum qrequest_result r = QREQUEST_ERROR;

	snprintf(bad, sizeof(bad), "%s%s", qid, QFILE_BAD);
	snprintf(bdr, sizeof(bdr), "%s%s", qid, QFILE_BDR);
	/* the envelope kept with a Badmail message, else an unreadable
	 * entry's (once mended) */
	snprintf(envbad, sizeof(envbad), "%s%s", qid, QFILE_ENV);
	if (!qchange_has(dir[LAYOUT_BADMAIL], qid, QFILE_ENV))
		snprintf(envbad, sizeof(envbad), "%s%s", qid, QFILE_ENV_BAD);
	snprintf(name, sizeof(name), "requeue-%s%s", qid, QFILE_EML);
	snprintf(tmp, sizeof(tmp), ".requeue-%s.tmp", qid);
	buf_init(&head);
	buf_init(&err);
	qenv_init(&e);
	if ((fd = openat(dir[LAYOUT_BADMAIL], envbad, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1 ||
	    !S_ISREG(st.st_mode) || st.st_size > 16 * 1024 * 1024) {
		buf_printf(text, "Badmail/%s: no envelope kept with it (%s): "
		    "send it again by hand (imc-submit)", envbad,
		    fd == -1 ? strerror(errno) : "not a regular file");
		goto out;
	}
	data = xcalloc(1, (size_t)st.st_size + 1);
	if (safe_read_full(fd, data, (size_t)st.st_size) != st.st_size ||
	    qenv_parse(data, (size_t)st.st_size, &e, &err) == -1) {
		buf_printf(text, "Badmail/%s cannot be read (%s): mend it, or "
		    "send the message again by hand", envbad, buf_cstr(&err));
		goto out;
	}
	buf_printf(&head, "X-Sender: <%s>\r\n", e.sender);
	for (i = 0; i < e.n_rcpts; i++)
		if (e.rcpts[i].state == QRCPT_PENDING ||
		    e.rcpts[i].state == QRCPT_FAILED) {
			buf_printf(&head, "X-Receiver: <%s>\r\n",
			    e.rcpts[i].addr);
			n++;
		}
	if (n == 0) {
		buf_printf(text, "Badmail/%s names no recipient to send to",
		    envbad);
		goto out;
	}
	if ((in = openat(dir[LAYOUT_BADMAIL], bad, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    (out = openat(dir[LAYOUT_PICKUP], tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    safe_write_all(out, head.data, head.len) == -1 ||
	    qchange_copy(in, out, stuff_dots) == -1 || fsync(out) == -1) {
		buf_printf(text, "cannot copy Badmail/%s into Pickup: %s", bad,
		    strerror(errno));
		if (out != -1)
			(void)unlinkat(dir[LAYOUT_PICKUP], tmp, 0);
		goto out;
	}
	/* never over a file of the same name */
	if (renameat2(dir[LAYOUT_PICKUP], tmp, dir[LAYOUT_PICKUP], name,
	    RENAME_NOREPLACE) == -1 || safe_fsync_dir(dir[LAYOUT_PICKUP]) ==
	    -1) {
		buf_printf(text, "Pickup/%s: %s", name, strerror(errno));
		(void)unlinkat(dir[LAYOUT_PICKUP], tmp, 0);
		goto out;
	}
	/* the copy is durable: Badmail's files go */
	snprintf(envbad, sizeof(envbad), "%s%s", qid, QFILE_ENV);
	(void)unlinkat(dir[LAYOUT_BADMAIL], envbad, 0);
	snprintf(envbad, sizeof(envbad), "%s%s", qid, QFILE_ENV_BAD);
	(void)unlinkat(dir[LAYOUT_BADMAIL], envbad, 0);
	(void)unlinkat(dir[LAYOUT_BADMAIL], bdr, 0);
	(void)unlinkat(dir[LAYOUT_BADMAIL], bad, 0);
	(void)safe_fsync_dir(dir[LAYOUT_BADMAIL]);
	if (track != NULL)
		tracklog_add(track, &(struct track_event){ .event = "requeued",
		    .qid = qid, .from = e.sender, .size = e.size,
		    .status = "requeued", .orig = name,
		    .reason = "imc-queue requeue: from Badmail" });
	buf_printf(text, "requeued from Badmail as Pickup/%s (%zu "
	    "recipient%s)", name, n, n == 1 ? "" : "s");
	r = QREQUEST_DONE;
out:
	if (fd != -1)
		close(fd);
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	free(data);
	qenv_free(&e);
	buf_fini(&head);
	buf_fini(&err);
	return r;
}

/* Pickup/Archive/<qid>.eml (the file as a writer left it) back into
 * Pickup by rename; its reason goes. */
static enum qrequest_result
qchange_requeue_archive(const int *dir, struct tracklog *track,
    const char *qid, struct buf *text)
{
	char from[QID_SIZE + 16], reason[QID_SIZE + 16], name[QID_SIZE + 32];

	snprintf(from, sizeof(from), "%s%s", qid, QFILE_EML);
	snprintf(reason, sizeof(reason), "%s%s", qid, QFILE_REASON);
	snprintf(name, sizeof(name), "requeue-%s%s", qid, QFILE_EML);
	if (renameat2(dir[LAYOUT_PICKUP_ARCHIVE], from, dir[LAYOUT_PICKUP],
	    name, RENAME_NOREPLACE) == -1 || safe_fsync_dir(dir[LAYOUT_PICKUP])
	    == -1) {
		buf_printf(text, "Pickup/Archive/%s into Pickup: %s", from,
		    strerror(errno));
		return QREQUEST_ERROR;
	}
	(void)unlinkat(dir[LAYOUT_PICKUP_ARCHIVE], reason, 0);
	(void)safe_fsync_dir(dir[LAYOUT_PICKUP_ARCHIVE]);
	if (track != NULL)
		tracklog_add(track, &(struct track_event){ .event = "requeued",
		    .qid = qid, .status = "requeued", .orig = name,
		    .reason = "imc-queue requeue: from Pickup/Archive" });
	buf_printf(text, "requeued from Pickup/Archive as Pickup/%s", name);
	return QREQUEST_DONE;
}

static bool
qchange_has(int dirfd, const char *qid, const char *suffix)
{
	char name[QID_SIZE + 16];

	snprintf(name, sizeof(name), "%s%s", qid, suffix);
	return dirfd != -1 && faccessat(dirfd, name, F_OK,
	    AT_SYMLINK_NOFOLLOW) == 0;
}

/* requeue: Badmail first (a message the connector had accepted), then
 * Pickup/Archive (a file it never took) */
static enum qrequest_result
qchange_requeue(const int *dir, struct tracklog *track, const char *qid,
    bool stuff_dots, struct buf *text)
{
	if (dir[LAYOUT_PICKUP] == -1) {
		buf_puts(text, "Pickup cannot be opened");
		return QREQUEST_ERROR;
	}
	if (qchange_has(dir[LAYOUT_BADMAIL], qid, QFILE_BAD))
		return qchange_requeue_badmail(dir, track, qid, stuff_dots,
		    text);
	if (qchange_has(dir[LAYOUT_PICKUP_ARCHIVE], qid, QFILE_EML))
		return qchange_requeue_archive(dir, track, qid, text);
	if (qchange_has(dir[LAYOUT_OUT], qid, QFILE_EML) ||
	    qchange_has(dir[LAYOUT_IN], qid, QFILE_ENV)) {
		buf_puts(text, "still queued: nothing to requeue");
		return QREQUEST_ALREADY;
	}
	buf_puts(text, "no such message in Badmail or Pickup/Archive");
	return QREQUEST_UNKNOWN;
}

/* qchange_apply - one verb on the In/ and Out/ entries of qid */
enum qrequest_result
qchange_apply(const int *dir, struct tracklog *track, enum qrequest_verb verb,
    const char *qid, time_t now, bool stuff_dots, unsigned *changed,
    struct buf *text)
{
	static const enum layout_dir folders[] = { LAYOUT_OUT, LAYOUT_IN };
	enum qrequest_result r, all = QREQUEST_UNKNOWN;
	struct qenv e;
	struct buf err;
	size_t i;

	*changed = 0;
	if (verb == QREQUEST_REQUEUE)
		return qchange_requeue(dir, track, qid, stuff_dots, text);
	/* A Work file beside the entry is an intake a crash cut short: the
	 * connector's next start redoes it from that file, and would drop a
	 * change made to the entry now. */
	if (qchange_has(dir[LAYOUT_WORK], qid, "")) {
		buf_puts(text, "in intake (Work/): try again once the "
		    "connector has taken it");
		return QREQUEST_ERROR;
	}
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
