/*
 * dispose - expiry, notifications, Badmail, quarantine (see dispose.h).
 */
#include "dispose.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounce.h"
#include "log.h"
#include "qctx.h"
#include "qentry.h"
#include "qfile.h"
#include "safeio.h"
#include "tracklog.h"
#include "xalloc.h"

/* dispose_expire - the lifetime rule, the same for In/ and Out/ */
bool
dispose_expire(const struct qctx *q, struct qenv *e, time_t now)
{
	char text[512];
	bool any = false;
	size_t i;

	if (now - e->arrival < (int64_t)q->cfg->max_lifetime)
		return false;
	for (i = 0; i < e->n_rcpts; i++) {
		struct qrcpt *r = &e->rcpts[i];

		if (r->state != QRCPT_PENDING)
			continue;
		snprintf(text, sizeof(text), "message expired after %llus in "
		    "the queue; last error: %s",
		    (unsigned long long)q->cfg->max_lifetime,
		    r->text != NULL ? r->text : e->error != NULL ? e->error :
		    "none");
		qenv_set(&r->text, text);
		snprintf(r->dsn, sizeof(r->dsn), "4.4.7");
		r->state = QRCPT_FAILED;
		any = true;
	}
	return any;
}

/* NOTIFY (RFC 3461) without the word: this recipient wants no such
 * notice. A recipient without NOTIFY gets the default (failures). */
static bool
dispose_wants(const struct qrcpt *r, const char *word)
{
	return r->notify == NULL || strcasestr(r->notify, word) != NULL;
}

/* Failed recipients whose NOTIFY asked for no failure notice count as
 * reported (BOUNCED) without one; the tracking log says so. */
static void
dispose_notify_filter(const struct qctx *q, struct qenv *e)
{
	size_t i;

	for (i = 0; i < e->n_rcpts; i++) {
		struct qrcpt *r = &e->rcpts[i];

		if (r->state != QRCPT_FAILED || dispose_wants(r, "FAILURE"))
			continue;
		r->state = QRCPT_BOUNCED;
		tracklog_add(q->track, &(struct track_event){
		    .event = "not-notified", .qid = e->qid, .from = e->sender,
		    .to = r->addr, .size = e->size, .status = "failed",
		    .dsn = r->dsn, .reason = "NOTIFY asked for no failure "
		    "notice" });
		q->stats->failed++;
	}
}

/* A small file of dirfd (an envelope), NUL-terminated; NULL if none. */
static char *
dispose_read_small(int dirfd, const char *name)
{
	struct stat st;
	char *data;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > 16 * 1024 * 1024) {
		close(fd);
		return NULL;
	}
	data = xcalloc(1, (size_t)st.st_size + 1);
	if (safe_read_full(fd, data, (size_t)st.st_size) != st.st_size) {
		free(data);
		data = NULL;
	}
	close(fd);
	return data;
}

static const struct qrcpt *
dispose_find_rcpt(const struct qenv *e, const char *addr)
{
	size_t i;

	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_FAILED &&
		    strcmp(e->rcpts[i].addr, addr) == 0)
			return &e->rcpts[i];
	return NULL;
}

static void
dispose_copy_rcpt(struct qenv *to, const struct qrcpt *r)
{
	struct qrcpt *c;

	qenv_add_rcpt(to, r->addr);
	c = &to->rcpts[to->n_rcpts - 1];
	c->state = r->state;
	memcpy(c->dsn, r->dsn, sizeof(c->dsn));
	qenv_set(&c->text, r->text);
	qenv_set(&c->notify, r->notify);
	qenv_set(&c->orcpt, r->orcpt);
}

/* Keep the envelope of a Badmail message beside it, <qid>.env, with
 * its failed recipients (and those of an earlier Badmail copy of the same
 * entry): imc-queue requeue reads it to send the message again. */
static void
dispose_badmail_env(const struct qctx *q, const struct qenv *e)
{
	char name[QID_SIZE + 16];
	struct qenv keep, old;
	struct buf text, err;
	char *data;
	size_t i;

	qentry_name(name, sizeof(name), e->qid, QFILE_ENV);
	qenv_init(&keep);
	buf_init(&text);
	buf_init(&err);
	/* an earlier copy's recipients stay */
	if ((data = dispose_read_small(q->dir[LAYOUT_BADMAIL], name)) != NULL &&
	    qenv_parse(data, strlen(data), &old, &err) == 0) {
		for (i = 0; i < old.n_rcpts; i++)
			if (old.rcpts[i].state == QRCPT_FAILED &&
			    dispose_find_rcpt(e, old.rcpts[i].addr) == NULL)
				dispose_copy_rcpt(&keep, &old.rcpts[i]);
		qenv_free(&old);
	}
	free(data);
	memcpy(keep.qid, e->qid, QID_SIZE);
	keep.arrival = e->arrival;
	keep.size = e->size;
	qenv_set(&keep.origname, e->origname);
	qenv_set(&keep.sender, e->sender);
	qenv_set(&keep.ret, e->ret);
	qenv_set(&keep.envid, e->envid);
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_FAILED)
			dispose_copy_rcpt(&keep, &e->rcpts[i]);
	qenv_format(&keep, &text);
	if (safe_atomic_write(q->dir[LAYOUT_BADMAIL], name, text.data, text.len,
	    0600, 1) == -1)
		log_warn("%s: cannot write Badmail/%s", e->qid, name);
	qenv_free(&keep);
	buf_fini(&text);
	buf_fini(&err);
}

/* Copy a message whose recipients failed for good into Badmail. */
static void
dispose_badmail(const struct qctx *q, enum layout_dir dir,
    const struct qenv *e)
{
	char eml[QID_SIZE + 16], bad[QID_SIZE + 16], bdr[QID_SIZE + 16];
	struct buf text;
	size_t i;

	qentry_name(eml, sizeof(eml), e->qid, QFILE_EML);
	qentry_name(bad, sizeof(bad), e->qid, QFILE_BAD);
	qentry_name(bdr, sizeof(bdr), e->qid, QFILE_BDR);
	buf_init(&text);
	/* One field a line: names and a peer's words are escaped. */
	buf_printf(&text, "Queue id: %s\r\nSender: <", e->qid);
	log_escape(&text, e->sender, strlen(e->sender));
	buf_puts(&text, ">\r\nOriginal name: ");
	if (e->origname != NULL)
		log_escape(&text, e->origname, strlen(e->origname));
	buf_puts(&text, "\r\nThese recipients failed permanently and the "
	    "sender cannot be told (it is the null sender, or the notification "
	    "could not be written):\r\n");
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_FAILED) {
			buf_puts(&text, "  <");
			log_escape(&text, e->rcpts[i].addr,
			    strlen(e->rcpts[i].addr));
			buf_printf(&text, ">: %s ", e->rcpts[i].dsn);
			if (e->rcpts[i].text != NULL)
				log_escape(&text, e->rcpts[i].text,
				    strlen(e->rcpts[i].text));
			buf_puts(&text, "\r\n");
		}
	/* Badmail is the end of the road: made durable here, since nothing
	 * later would notice if it were lost. */
	if (safe_atomic_write(q->dir[LAYOUT_BADMAIL], bdr, text.data, text.len,
	    0600, 1) == -1 ||
	    (linkat(q->dir[dir], eml, q->dir[LAYOUT_BADMAIL], bad, 0) == -1 &&
	    errno != EEXIST) || safe_fsync_dir(q->dir[LAYOUT_BADMAIL]) == -1)
		log_warn("%s: cannot write Badmail/%s", e->qid, bad);
	dispose_badmail_env(q, e);
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_FAILED) {
			tracklog_add(q->track, &(struct track_event){
			    .event = "badmail", .qid = e->qid, .from = e->sender,
			    .to = e->rcpts[i].addr, .size = e->size,
			    .status = "badmail", .dsn = e->rcpts[i].dsn,
			    .reason = e->rcpts[i].text });
			q->stats->failed++;
		}
	buf_fini(&text);
}

/* Write a notification into Work/<bqid> for the batch to commit. */
static int
dispose_notice(const struct qctx *q, enum layout_dir dir, const struct qenv *e,
    enum bounce_kind kind, time_t retry_until, char bqid[QID_SIZE])
{
	char eml[QID_SIZE + 16];
	int in = -1, out = -1, r = -1;
	size_t i;

	bqid[0] = '\0';
	if (qid_new(bqid) == -1)
		return -1;
	qentry_name(eml, sizeof(eml), e->qid, QFILE_EML);
	in = openat(q->dir[dir], eml, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	out = openat(q->dir[LAYOUT_WORK], bqid, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in == -1 || out == -1 ||
	    bounce_write(out, e, in, &(struct bounce_opts){ .kind = kind,
	    .hostname = q->cfg->hostname, .bounce_qid = bqid,
	    .stuff_dots = q->cfg->pickup_dots != PICKUP_DOTS_LITERAL,
	    .retry_until = retry_until }) == -1) {
		log_warn("%s: cannot write the notification", e->qid);
		if (out != -1)
			unlinkat(q->dir[LAYOUT_WORK], bqid, 0);
		bqid[0] = '\0';
		goto out;
	}
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == (kind == BOUNCE_DELAYED ?
		    QRCPT_PENDING : QRCPT_FAILED)) {
			tracklog_add(q->track, &(struct track_event){
			    .event = kind == BOUNCE_DELAYED ? "delay-notice" :
			    "bounced", .qid = e->qid, .from = e->sender,
			    .to = e->rcpts[i].addr, .size = e->size,
			    .status = kind == BOUNCE_DELAYED ? "delayed" :
			    "bounced", .dsn = e->rcpts[i].dsn,
			    .reason = e->rcpts[i].text, .orig = bqid });
			if (kind != BOUNCE_DELAYED)
				q->stats->failed++;
		}
	r = 0;
out:
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	return r;
}

/* dispose_finish - tell the sender about the failures of a finished
 * entry, or put them in Badmail */
void
dispose_finish(const struct qctx *q, enum layout_dir dir, struct qenv *e,
    char notice[QID_SIZE])
{
	notice[0] = '\0';
	dispose_notify_filter(q, e);
	if (qenv_count(e, QRCPT_FAILED) > 0 && (e->sender[0] == '\0' ||
	    dispose_notice(q, dir, e, BOUNCE_FAILED, 0, notice) == -1))
		dispose_badmail(q, dir, e);
}

/* dispose_report_failed - failures reported while others are pending */
void
dispose_report_failed(const struct qctx *q, enum layout_dir dir,
    struct qenv *e, char notice[QID_SIZE])
{
	size_t i;

	notice[0] = '\0';
	dispose_notify_filter(q, e);
	if (qenv_count(e, QRCPT_FAILED) == 0)
		return;
	if (e->sender[0] == '\0' ||
	    dispose_notice(q, dir, e, BOUNCE_FAILED, 0, notice) == -1)
		dispose_badmail(q, dir, e);
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_FAILED)
			e->rcpts[i].state = QRCPT_BOUNCED;
}

/* dispose_delay_notice - one notice that pending recipients wait */
int
dispose_delay_notice(const struct qctx *q, enum layout_dir dir,
    const struct qenv *e, time_t retry_until, char notice[QID_SIZE])
{
	struct qenv told;
	size_t i, n = 0;
	int r;

	notice[0] = '\0';
	if (e->sender[0] == '\0')
		return 0;	/* nobody to tell */
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_PENDING &&
		    dispose_wants(&e->rcpts[i], "DELAY"))
			n++;
	if (n == 0)
		return 0;	/* NOTIFY asked for no delay notice */
	/* Only the recipients whose NOTIFY asks for DELAY (or who gave
	 * none) are reported delayed (RFC 3461): a shallow copy of the
	 * envelope lists just them as pending; its strings are e's. */
	told = *e;
	told.rcpts = xcalloc(e->n_rcpts, sizeof(*told.rcpts));
	for (i = 0; i < e->n_rcpts; i++) {
		told.rcpts[i] = e->rcpts[i];
		if (told.rcpts[i].state == QRCPT_PENDING &&
		    !dispose_wants(&e->rcpts[i], "DELAY"))
			told.rcpts[i].state = QRCPT_DONE;
	}
	r = dispose_notice(q, dir, &told, BOUNCE_DELAYED, retry_until, notice);
	free(told.rcpts);
	return r;
}

/* dispose_quarantine - an unreadable entry into Badmail with a reason */
void
dispose_quarantine(const struct qctx *q, enum layout_dir dir, const char *qid,
    const char *why)
{
	char from[QID_SIZE + 16], to[QID_SIZE + 32];
	struct buf text;

	buf_init(&text);
	buf_printf(&text, "Queue id: %s\r\nThe queue entry in %s could not be "
	    "read: ", qid, layout_name(dir));
	log_escape(&text, why, strlen(why));
	buf_printf(&text, "\r\nThe content is in %s.bad, the envelope in "
	    "%s.env.bad.\r\n", qid, qid);
	qentry_name(to, sizeof(to), qid, QFILE_BDR);
	(void)safe_atomic_write(q->dir[LAYOUT_BADMAIL], to, text.data, text.len,
	    0600, 1);
	buf_fini(&text);
	qentry_name(from, sizeof(from), qid, QFILE_EML);
	qentry_name(to, sizeof(to), qid, QFILE_BAD);
	(void)renameat(q->dir[dir], from, q->dir[LAYOUT_BADMAIL], to);
	qentry_name(from, sizeof(from), qid, QFILE_ENV);
	qentry_name(to, sizeof(to), qid, QFILE_ENV_BAD);
	(void)renameat(q->dir[dir], from, q->dir[LAYOUT_BADMAIL], to);
	safe_fsync_dir(q->dir[LAYOUT_BADMAIL]);
	log_warnx("%s: queue entry in %s unreadable (%s); moved to Badmail",
	    qid, layout_name(dir), why);
	tracklog_add(q->track, &(struct track_event){ .event = "badmail",
	    .qid = qid, .status = "badmail", .reason = why });
}
