/*
 * tracklog - the message tracking log (see tracklog.h).
 */
#include "tracklog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safeio.h"
#include "xalloc.h"

struct tracklog {
	int		dirfd;
	int		fd;
	char		day[9];		/* YYYYMMDD of the open file */
	struct buf	pending;
	char		pending_day[9];
};

/* tracklog_open - get ready to log into the Log folder */
struct tracklog *
tracklog_open(const char *logdir, struct buf *err)
{
	struct tracklog *t;

	t = xcalloc(1, sizeof(*t));
	t->fd = -1;
	buf_init(&t->pending);
	if ((t->dirfd = safe_open_dir(AT_FDCWD, logdir)) == -1) {
		buf_printf(err, "%s: %s", logdir, strerror(errno));
		free(t);
		return NULL;
	}
	return t;
}

static int
tracklog_value(struct buf *o, const char *key, const char *v, int brackets)
{
	const unsigned char *p;
	int quote = 0;

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= 0x20 || *p == '"' || *p == '\\' || *p == 0x7f)
			quote = 1;
	if (buf_printf(o, " %s=", key) == -1)
		return -1;
	if (!quote)
		return buf_printf(o, brackets ? "<%s>" : "%s", v);
	if (buf_putc(o, '"') == -1 || (brackets && buf_putc(o, '<') == -1))
		return -1;
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			if (buf_putc(o, '\\') == -1 || buf_putc(o, *p) == -1)
				return -1;
		} else if (*p < 0x20 || *p == 0x7f) {
			if (buf_printf(o, "\\x%02x", *p) == -1)
				return -1;
		} else if (buf_putc(o, *p) == -1)
			return -1;
	}
	if (brackets && buf_putc(o, '>') == -1)
		return -1;
	return buf_putc(o, '"');
}

/* tracklog_add - queue one event line (written by tracklog_flush) */
int
tracklog_add(struct tracklog *t, const struct track_event *ev)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32], day[9];
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	/* A day change flushes the previous day's lines into their file. */
	if (t->pending.len > 0 && strcmp(day, t->pending_day) != 0 &&
	    tracklog_flush(t) == -1)
		r = -1;
	memcpy(t->pending_day, day, sizeof(day));
	r |= buf_printf(&t->pending, "%s.%03ldZ event=%s", stamp,
	    ts.tv_nsec / 1000000, ev->event);
	if (ev->qid)
		r |= tracklog_value(&t->pending, "qid", ev->qid, 0);
	if (ev->from)
		r |= tracklog_value(&t->pending, "from", ev->from, 1);
	if (ev->to)
		r |= tracklog_value(&t->pending, "to", ev->to, 1);
	if (ev->size)
		r |= buf_printf(&t->pending, " size=%llu",
		    (unsigned long long)ev->size);
	if (ev->status)
		r |= tracklog_value(&t->pending, "status", ev->status, 0);
	if (ev->dsn)
		r |= tracklog_value(&t->pending, "dsn", ev->dsn, 0);
	if (ev->relay)
		r |= tracklog_value(&t->pending, "relay", ev->relay, 0);
	if (ev->tls)
		r |= tracklog_value(&t->pending, "tls", ev->tls, 0);
	if (ev->orig)
		r |= tracklog_value(&t->pending, "orig", ev->orig, 0);
	if (ev->client)
		r |= tracklog_value(&t->pending, "client", ev->client, 0);
	if (ev->helo)
		r |= tracklog_value(&t->pending, "helo", ev->helo, 0);
	if (ev->auth)
		r |= tracklog_value(&t->pending, "auth", ev->auth, 0);
	if (ev->has_uid)
		r |= buf_printf(&t->pending, " uid=%lu", (unsigned long)ev->uid);
	if (ev->has_uid && ev->user)
		r |= tracklog_value(&t->pending, "user", ev->user, 0);
	if (ev->reason) {
		r |= buf_puts(&t->pending, " reason=");
		r |= buf_putc(&t->pending, '"');
		{
			const unsigned char *p;

			for (p = (const unsigned char *)ev->reason; *p; p++) {
				if (*p == '"' || *p == '\\')
					r |= buf_putc(&t->pending, '\\');
				if (*p < 0x20 || *p == 0x7f)
					r |= buf_printf(&t->pending, "\\x%02x", *p);
				else
					r |= buf_putc(&t->pending, *p);
			}
		}
		r |= buf_putc(&t->pending, '"');
	}
	r |= buf_putc(&t->pending, '\n');
	return r ? -1 : 0;
}

/* tracklog_flush - append the collected lines to the day's file */
int
tracklog_flush(struct tracklog *t)
{
	char name[32];

	if (t->pending.len == 0)
		return 0;
	if (t->fd == -1 || strcmp(t->day, t->pending_day) != 0) {
		if (t->fd != -1)
			close(t->fd);
		snprintf(name, sizeof(name), "%s.log", t->pending_day);
		t->fd = openat(t->dirfd, name, O_WRONLY | O_APPEND | O_CREAT |
		    O_NOFOLLOW | O_CLOEXEC, 0640);
		if (t->fd == -1)
			return -1;
		memcpy(t->day, t->pending_day, sizeof(t->day));
	}
	if (safe_write_all(t->fd, t->pending.data, t->pending.len) == -1)
		return -1;
	buf_reset(&t->pending);
	return 0;
}

/* tracklog_free - flush and close */
void
tracklog_free(struct tracklog *t)
{
	if (t == NULL)
		return;
	(void)tracklog_flush(t);
	if (t->fd != -1)
		close(t->fd);
	close(t->dirfd);
	buf_fini(&t->pending);
	free(t);
}

/* tracklog_dated - the YYYYMMDD of a dated log name ("20261203.log",
 * "smtp-20261203.log") into day (9 bytes), or false for any other name */
static bool
tracklog_dated(const char *name, char *day)
{
	size_t i;

	if (strncmp(name, "smtp-", 5) == 0)
		name += 5;
	for (i = 0; i < 8; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	if (strcmp(name + 8, ".log") != 0)
		return false;
	memcpy(day, name, 8);
	day[8] = '\0';
	return true;
}

/* tracklog_prune - log_keep_days: remove the dated logs of days before
 * (today - keep_days), UTC as their names; keep_days 0 removes nothing */
int
tracklog_prune(int logdir_fd, uint64_t keep_days, time_t now,
    size_t *removed)
{
	char cutoff[16], day[9];
	struct dirent *de;
	struct tm tm;
	time_t t;
	DIR *d;
	int fd, r = 0;

	*removed = 0;
	if (keep_days == 0)
		return 0;
	if (keep_days > (uint64_t)now / 86400)
		return 0;	/* before the epoch: nothing that old */
	t = now - (time_t)keep_days * 86400;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(cutoff, sizeof(cutoff), "%Y%m%d", &tm) != 8)
		return -1;
	if ((fd = openat(logdir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!tracklog_dated(de->d_name, day) || strcmp(day, cutoff) >= 0)
			continue;
		if (unlinkat(logdir_fd, de->d_name, 0) == 0)
			(*removed)++;
		else if (errno != ENOENT)
			r = -1;
	}
	closedir(d);
	return r;
}
