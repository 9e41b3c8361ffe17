/*
 * qstatus - what imc-queue status counts (see qstatus.h).
 */
#include "qstatus.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "qfile.h"
#include "xalloc.h"

void
qstatus_init(struct qstatus *s)
{
	memset(s, 0, sizeof(*s));
}

void
qstatus_fini(struct qstatus *s)
{
	size_t i;

	for (i = 0; i < s->n_dests; i++)
		free(s->dests[i].domain);
	free(s->dests);
	qstatus_init(s);
}

static struct qstatus_dest *
qstatus_dest(struct qstatus *s, const char *domain, enum layout_dir folder)
{
	struct qstatus_dest *d;
	size_t i;
	char *p;

	for (i = 0; i < s->n_dests; i++)
		if (s->dests[i].folder == folder &&
		    strcasecmp(s->dests[i].domain, domain) == 0)
			return &s->dests[i];
	if (s->n_dests == s->cap_dests) {
		s->cap_dests = s->cap_dests ? s->cap_dests * 2 : 16;
		s->dests = xreallocarray(s->dests, s->cap_dests,
		    sizeof(*s->dests));
	}
	d = &s->dests[s->n_dests++];
	memset(d, 0, sizeof(*d));
	d->domain = xstrdup(domain);
	for (p = d->domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	d->folder = folder;
	return d;
}

/* qstatus_add_view - folder counts, destinations, the oldest entry */
void
qstatus_add_view(struct qstatus *s, const struct qview *qv)
{
	size_t i, j, k, before;

	for (i = 0; i < qv->n; i++) {
		const struct qview_entry *ve = &qv->v[i];
		const struct qenv *e = &ve->env;

		s->files[ve->folder]++;
		if (e->held != 0)
			s->held[ve->folder]++;
		if (s->oldest[0] == '\0' || e->arrival < s->oldest_arrival) {
			memcpy(s->oldest, e->qid, QID_SIZE);
			s->oldest_folder = ve->folder;
			s->oldest_arrival = e->arrival;
		}
		for (j = 0; j < e->n_rcpts; j++) {
			const char *dom = addr_domain(e->rcpts[j].addr);
			struct qstatus_dest *d;
			bool seen = false;

			if (e->rcpts[j].state != QRCPT_PENDING)
				continue;
			before = s->n_dests;
			d = qstatus_dest(s, dom != NULL && *dom ? dom : "(none)",
			    ve->folder);
			d->rcpts++;
			/* an entry counts once per destination */
			for (k = 0; k < j && s->n_dests == before; k++) {
				const char *o = addr_domain(e->rcpts[k].addr);

				if (e->rcpts[k].state == QRCPT_PENDING &&
				    strcasecmp(o != NULL && *o ? o : "(none)",
				    d->domain) == 0)
					seen = true;
			}
			if (!seen)
				d->entries++;
		}
	}
}

static int
qstatus_digits(const char *p, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* qstatus_add_log_line - "YYYY-MM-DDTHH:MM:SS.mmmZ event=NAME ..." */
void
qstatus_add_log_line(struct qstatus_rates *r, const char *line, size_t len,
    time_t now)
{
	static const char ev[] = "Z event=";
	struct tm tm;
	const char *name, *dot;
	size_t nlen;
	int y, mo, d, h, mi, se;
	int64_t age;
	unsigned long *slot;

	if (len < 20 || line[4] != '-' || line[7] != '-' || line[10] != 'T' ||
	    line[13] != ':' || line[16] != ':' ||
	    qstatus_digits(line, 4, &y) == -1 ||
	    qstatus_digits(line + 5, 2, &mo) == -1 ||
	    qstatus_digits(line + 8, 2, &d) == -1 ||
	    qstatus_digits(line + 11, 2, &h) == -1 ||
	    qstatus_digits(line + 14, 2, &mi) == -1 ||
	    qstatus_digits(line + 17, 2, &se) == -1)
		return;
	/* milliseconds, then "Z event=" */
	dot = line + 19;
	if (*dot == '.')
		for (dot++; dot < line + len && *dot >= '0' && *dot <= '9';)
			dot++;
	if ((size_t)(line + len - dot) < sizeof(ev) - 1 ||
	    memcmp(dot, ev, sizeof(ev) - 1) != 0)
		return;
	name = dot + sizeof(ev) - 1;
	for (nlen = 0; name + nlen < line + len && name[nlen] != ' '; nlen++)
		;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	age = (int64_t)now - (int64_t)timegm(&tm);
	if (age < 0 || age >= 3600)
		return;
	if (nlen == 9 && memcmp(name, "delivered", 9) == 0)
		slot = r->delivered;
	else if (nlen == 6 && memcmp(name, "failed", 6) == 0)
		slot = r->failed;
	else if (nlen == 8 && memcmp(name, "deferred", 8) == 0)
		slot = r->deferred;
	else
		return;
	slot[QSTATUS_HOUR]++;
	if (age < 60)
		slot[QSTATUS_MINUTE]++;
}

static void
qstatus_read_log(struct qstatus_rates *r, int log_dirfd, time_t day,
    time_t now)
{
	char name[32], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct tm tm;
	FILE *f;
	int fd;

	if (gmtime_r(&day, &tm) == NULL ||
	    strftime(name, sizeof(name), "%Y%m%d.log", &tm) == 0)
		return;
	if ((fd = openat(log_dirfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		qstatus_add_log_line(r, line, (size_t)n, now);
	}
	free(line);
	fclose(f);
}

/* qstatus_read_logs - today's log, and yesterday's for the hour that may
 * reach back over midnight */
void
qstatus_read_logs(struct qstatus_rates *r, int log_dirfd, time_t now)
{
	struct tm a, b;
	time_t hour_ago = now - 3600;

	qstatus_read_log(r, log_dirfd, now, now);
	if (gmtime_r(&now, &a) != NULL && gmtime_r(&hour_ago, &b) != NULL &&
	    a.tm_yday != b.tm_yday)
		qstatus_read_log(r, log_dirfd, hour_ago, now);
}

/* What counts as one item of a folder that qview does not read. */
static bool
qstatus_counts(enum layout_dir folder, const char *name)
{
	size_t len = strlen(name);

	switch (folder) {
	case LAYOUT_PICKUP:	/* writers' temp names are not mail yet */
		return name[0] != '.' && !(len > 4 &&
		    strcmp(name + len - 4, ".tmp") == 0);
	case LAYOUT_PICKUP_ARCHIVE:
		return len > 4 && strcmp(name + len - 4, QFILE_EML) == 0;
	case LAYOUT_BADMAIL:	/* messages, not unreadable envelopes */
		return len > 4 && strcmp(name + len - 4, QFILE_BAD) == 0 &&
		    !(len > 8 && strcmp(name + len - 8, QFILE_ENV_BAD) == 0);
	default:
		return name[0] != '.';
	}
}

/* qstatus_count_files - the items of Pickup, Pickup/Archive, Badmail */
size_t
qstatus_count_files(int rootfd, enum layout_dir folder)
{
	struct dirent *de;
	DIR *dir;
	size_t n = 0;
	int fd;

	if ((fd = openat(rootfd, layout_name(folder), O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return 0;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(dir)) != NULL)
		if ((de->d_type == DT_REG || de->d_type == DT_UNKNOWN) &&
		    qstatus_counts(folder, de->d_name))
			n++;
	closedir(dir);
	return n;
}

static void
qstatus_age(struct buf *o, int64_t secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		buf_printf(o, "%" PRId64 "s", secs);
	else if (secs < 7200)
		buf_printf(o, "%" PRId64 "m", secs / 60);
	else if (secs < 172800)
		buf_printf(o, "%" PRId64 "h", secs / 3600);
	else
		buf_printf(o, "%" PRId64 "d", secs / 86400);
}

/* qstatus_format - the report */
void
qstatus_format(const struct qstatus *s, struct buf *o, time_t now)
{
	static const enum layout_dir folders[] = { LAYOUT_PICKUP,
	    LAYOUT_PICKUP_ARCHIVE, LAYOUT_WORK, LAYOUT_IN, LAYOUT_OUT,
	    LAYOUT_BADMAIL };
	static const char *const what[] = { "delivered", "failed",
	    "deferred" };
	const unsigned long *counts[3] = { s->rates.delivered,
	    s->rates.failed, s->rates.deferred };
	char when[64];
	struct tm tm;
	time_t t;
	size_t i;

	buf_printf(o, "%-16s %8s %6s\n", "folder", "entries", "held");
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		buf_printf(o, "%-16s %8zu", layout_name(folders[i]),
		    s->files[folders[i]]);
		if (folders[i] == LAYOUT_IN || folders[i] == LAYOUT_OUT)
			buf_printf(o, " %6zu", s->held[folders[i]]);
		buf_putc(o, '\n');
	}
	buf_printf(o, "\n%-32s %-4s %8s %10s\n", "destination (pending)", "dir",
	    "entries", "recipients");
	if (s->n_dests == 0)
		buf_puts(o, "(none)\n");
	for (i = 0; i < s->n_dests; i++)
		buf_printf(o, "%-32s %-4s %8zu %10zu\n", s->dests[i].domain,
		    layout_name(s->dests[i].folder), s->dests[i].entries,
		    s->dests[i].rcpts);
	buf_puts(o, "\noldest entry: ");
	if (s->oldest[0] == '\0')
		buf_puts(o, "(queue empty)\n");
	else {
		t = (time_t)s->oldest_arrival;
		if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when),
		    "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
			snprintf(when, sizeof(when), "%" PRId64,
			    s->oldest_arrival);
		buf_printf(o, "%s in %s, arrived %s, ", s->oldest,
		    layout_name(s->oldest_folder), when);
		qstatus_age(o, (int64_t)now - s->oldest_arrival);
		buf_puts(o, " ago\n");
	}
	buf_printf(o, "\n%-16s %12s %10s\n", "tracking log", "last minute",
	    "last hour");
	for (i = 0; i < 3; i++)
		buf_printf(o, "%-16s %12lu %10lu\n", what[i],
		    counts[i][QSTATUS_MINUTE], counts[i][QSTATUS_HOUR]);
}
