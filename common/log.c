/*
 * log - diagnostic log to stderr (see log.h).
 *
 * The program name and level are set once at start-up, before anything
 * else runs; they are the only file-scope state and are never changed later.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_progname = "imc";
static enum log_level log_min = LOG_LEVEL_INFO;

/* log_init - name the program and choose the least level shown */
void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_min = level;
}

static void log_emit(const char *, int, int, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

static void
log_emit(const char *tag, int with_errno, int saved, const char *fmt, va_list ap)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	fprintf(stderr, "%s.%03ldZ %s[%s]: ", stamp, ts.tv_nsec / 1000000,
	    log_progname, tag);
	vfprintf(stderr, fmt, ap);
	if (with_errno)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
	fflush(stderr);
}

#define LOG_BODY(tag, minlevel, with_errno)			\
	va_list ap;						\
	int saved = errno;					\
	if (log_min > (minlevel))				\
		return;						\
	va_start(ap, fmt);					\
	log_emit(tag, with_errno, saved, fmt, ap);		\
	va_end(ap);						\
	errno = saved;

/* log_debug - detail for developers */
void
log_debug(const char *fmt, ...)
{
	LOG_BODY("debug", LOG_LEVEL_DEBUG, 0)
}

/* log_info - normal operation */
void
log_info(const char *fmt, ...)
{
	LOG_BODY("info", LOG_LEVEL_INFO, 0)
}

/* log_warn - a problem, with errno's text */
void
log_warn(const char *fmt, ...)
{
	LOG_BODY("warning", LOG_LEVEL_WARN, 1)
}

/* log_warnx - a problem */
void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning", LOG_LEVEL_WARN, 0)
}

/* log_fatal - report with errno's text and exit */
void
log_fatal(int code, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit("fatal", 1, saved, fmt, ap);
	va_end(ap);
	exit(code);
}

/* log_fatalx - report and exit */
void
log_fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("fatal", 0, 0, fmt, ap);
	va_end(ap);
	exit(code);
}
