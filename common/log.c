/*
 * log - diagnostic log to stderr or syslog (see log.h).
 *
 * The program name, the level and the destination are set at start-up,
 * before anything else runs; they are the only file-scope state. The level
 * may change later (a reload), from the one thread there is.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_progname = "imc";
static enum log_level log_min = LOG_LEVEL_INFO;
static bool log_to_syslog;

/* log_init - name the program and choose the least level shown */
void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_min = level;
}

/* log_set_level - the least level shown from now on */
void
log_set_level(enum log_level level)
{
	log_min = level;
}

/* log_open_syslog - lines go to syslog(3) with this facility from now on
 * (the daemon when not in the foreground); LOG_NDELAY connects now, while
 * the socket can still be reached before any chroot or privilege drop. */
void
log_open_syslog(int facility)
{
	openlog(log_progname, LOG_PID | LOG_NDELAY, facility);
	log_to_syslog = true;
}

/* log_escape - append text with its control bytes made visible */
int
log_escape(struct buf *out, const char *s, size_t len)
{
	size_t i, keep = out->len;
	unsigned char c;
	int r = 0;

	for (i = 0; i < len && r == 0; i++) {
		c = (unsigned char)s[i];
		if (c == '\n')
			r = buf_puts(out, "\\n");
		else if (c == '\r')
			r = buf_puts(out, "\\r");
		else if (c == '\t')
			r = buf_puts(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			r = buf_printf(out, "\\x%02x", c);
		else
			r = buf_putc(out, c);
	}
	if (r == -1) {
		out->len = keep;
		if (out->data != NULL)
			out->data[keep] = '\0';
	}
	return r;
}

static void log_emit(int, const char *, int, int, const char *, va_list)
    __attribute__((format(printf, 5, 0)));

/* One line, written with one call so that lines of several processes
 * sharing stderr do not interleave. */
static void
log_emit(int prio, const char *tag, int with_errno, int saved,
    const char *fmt, va_list ap)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	struct buf msg, line;
	unsigned char *p;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	buf_init(&msg);
	buf_init(&line);
	r = buf_vprintf(&msg, fmt, ap);
	if (r == 0 && with_errno)
		r = buf_printf(&msg, ": %s", strerror(saved));
	if (r == 0 && log_to_syslog) {
		/* syslog stamps and names the line itself; the level word
		 * stays in the text for those who read the file */
		r = buf_printf(&line, "%s: ", tag);
		if (r == 0)
			r = log_escape(&line, msg.data ? msg.data : "", msg.len);
		if (r == 0) {
			syslog(prio, "%s", line.data);
			/* a fatal line also where a service manager sees it */
			if (prio != LOG_CRIT)
				goto out;
			buf_reset(&line);
		}
	}
	if (r == 0)
		r = buf_printf(&line, "%s.%03ldZ %s[%s]: ", stamp,
		    ts.tv_nsec / 1000000, log_progname, tag);
	if (r == 0)
		r = log_escape(&line, msg.data ? msg.data : "", msg.len);
	if (r == 0)
		r = buf_putc(&line, '\n');
	if (r == 0)
		fwrite(line.data, 1, line.len, stderr);
	else {
		/* A size that overflowed (out of memory is fatal in buf):
		 * what was formatted, control bytes blanked in place, still
		 * on one line. */
		for (p = (unsigned char *)msg.data; p != NULL && *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				*p = '?';
		fprintf(stderr, "%s %s[%s]: %s (too long to log)\n", stamp,
		    log_progname, tag, msg.data ? msg.data : "");
	}
	fflush(stderr);
out:
	buf_fini(&msg);
	buf_fini(&line);
}

#define LOG_BODY(prio, tag, minlevel, with_errno)		\
	va_list ap;						\
	int saved = errno;					\
	if (log_min > (minlevel))				\
		return;						\
	va_start(ap, fmt);					\
	log_emit(prio, tag, with_errno, saved, fmt, ap);	\
	va_end(ap);						\
	errno = saved;

/* log_debug - detail for developers */
void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_DEBUG, "debug", LOG_LEVEL_DEBUG, 0)
}

/* log_info - normal operation */
void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "info", LOG_LEVEL_INFO, 0)
}

/* log_warn - a problem, with errno's text */
void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning", LOG_LEVEL_WARN, 1)
}

/* log_warnx - a problem */
void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning", LOG_LEVEL_WARN, 0)
}

/* log_fatal - report with errno's text and exit */
void
log_fatal(int code, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal", 1, saved, fmt, ap);
	va_end(ap);
	exit(code);
}

/* log_nomem - the out-of-memory line of xalloc, then exit. Everything
 * here is on the stack and written with one write(2): nothing allocates
 * (log_emit's bufs would), so this cannot recurse into xalloc. */
void
log_nomem(int code, const char *fn, size_t count, size_t size)
{
	char stamp[32], line[256];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	if (count == 0)
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[fatal]: out of "
		    "memory (%s)\n", stamp, ts.tv_nsec / 1000000, log_progname,
		    fn);
	else if (count == 1)
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[fatal]: out of "
		    "memory (%s of %zu bytes)\n", stamp, ts.tv_nsec / 1000000,
		    log_progname, fn, size);
	else
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[fatal]: out of "
		    "memory (%s of %zu x %zu bytes)\n", stamp,
		    ts.tv_nsec / 1000000, log_progname, fn, count, size);
	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(line)) {
		/* a long program name: the line still ends */
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* what stdio already holds goes first, so the lines keep order */
	fflush(stderr);
	if (write(STDERR_FILENO, line, (size_t)n) == -1) {
		/* nowhere left to say it */
	}
	exit(code);
}

/* log_fatalx - report and exit */
void
log_fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal", 0, 0, fmt, ap);
	va_end(ap);
	exit(code);
}
