/*
 * protolog - the SMTP protocol transcript (see protolog.h).
 */
#include "protolog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "safeio.h"
#include "xalloc.h"

#define PROTOLOG_FLUSH_AT	(64 * 1024)

struct protolog {
	enum imc_protocol_log level;
	int		 dirfd;
	int		 fd;
	char		 day[40];	/* YYYYMMDD of the open file */
	struct buf	 pending;
	const char	*prefix;	/* "smtp": smtp-YYYYMMDD.log */
};

struct protolog *
protolog_open(const char *logdir, enum imc_protocol_log level,
    struct buf *err)
{
	struct protolog *pl;

	pl = xcalloc(1, sizeof(*pl));
	pl->level = level;
	pl->fd = -1;
	pl->prefix = "smtp";
	buf_init(&pl->pending);
	if ((pl->dirfd = safe_open_dir(AT_FDCWD, logdir)) == -1) {
		buf_printf(err, "protocol log: %s: %s", logdir, strerror(errno));
		free(pl);
		return NULL;
	}
	return pl;
}

/* protolog_set_prefix - another file name: the listener's smtpd-DATE.log
 * (prefix is a constant the caller keeps) */
void
protolog_set_prefix(struct protolog *pl, const char *prefix)
{
	if (pl != NULL)
		pl->prefix = prefix;
}

void
protolog_line(struct protolog *pl, const char *session, char dir,
    const char *text, bool detail)
{
	struct timeval tv;
	struct tm tm;
	const unsigned char *p;

	if (pl == NULL || pl->level == PROTOLOG_NONE ||
	    (detail && pl->level != PROTOLOG_MAXIMUM))
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	buf_printf(&pl->pending, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %c ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000), session, dir);
	if (dir == '>' && strncasecmp(text, "AUTH ", 5) == 0) {
		const char *sp = strchr(text + 5, ' ');

		buf_append(&pl->pending, text, sp ? (size_t)(sp - text) :
		    strlen(text));
		if (sp != NULL)
			buf_puts(&pl->pending, " ****");
	} else
		for (p = (const unsigned char *)text; *p; p++) {
			if (*p < 0x20 || *p == 0x7f || *p == '\\')
				buf_printf(&pl->pending, "\\x%02X", *p);
			else
				buf_putc(&pl->pending, *p);
		}
	buf_putc(&pl->pending, '\n');
	if (pl->pending.len >= PROTOLOG_FLUSH_AT)
		(void)protolog_flush(pl);
}

int
protolog_flush(struct protolog *pl)
{
	char day[40], name[64];
	time_t now;
	struct tm tm;

	if (pl == NULL || pl->pending.len == 0)
		return 0;
	now = time(NULL);
	gmtime_r(&now, &tm);
	snprintf(day, sizeof(day), "%04d%02d%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	if (pl->fd == -1 || strcmp(day, pl->day) != 0) {
		if (pl->fd != -1)
			close(pl->fd);
		snprintf(name, sizeof(name), "%s-%s.log", pl->prefix, day);
		pl->fd = openat(pl->dirfd, name, O_WRONLY | O_APPEND | O_CREAT |
		    O_NOFOLLOW | O_CLOEXEC, 0640);
		if (pl->fd == -1) {
			buf_reset(&pl->pending);
			return -1;
		}
		memcpy(pl->day, day, sizeof(pl->day));
	}
	if (safe_write_all(pl->fd, pl->pending.data, pl->pending.len) == -1) {
		buf_reset(&pl->pending);
		return -1;
	}
	buf_reset(&pl->pending);
	return 0;
}

void
protolog_free(struct protolog *pl)
{
	if (pl == NULL)
		return;
	(void)protolog_flush(pl);
	if (pl->fd != -1)
		close(pl->fd);
	close(pl->dirfd);
	buf_fini(&pl->pending);
	free(pl);
}
