/*
 * log - the diagnostic log of the programs (not the tracking log).
 *
 * Lines go to stderr with a time stamp and the program name, or, once
 * log_open_syslog is called (the daemon when not in the foreground), to
 * syslog(3) with that facility and the level's priority (a fatal line to
 * both). log_warn adds strerror(errno); the x
 * variants do not. log_fatal and log_fatalx exit with the given sysexits
 * code. Never pass message bodies or credentials. log_nomem is the one
 * line of xalloc when memory runs out: it allocates nothing itself.
 *
 * Every line is one line: control bytes in the formatted message (a file
 * name or a peer's words holding a newline) are written as \n, \r, \t or
 * \xNN, so no argument can forge a line of its own. log_escape is that
 * rule for other text files that hold untrusted words one field a line
 * (Archive .reason and Badmail .bdr files).
 */
#ifndef IMC_LOG_H
#define IMC_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN };

void	log_init(const char *progname, enum log_level);
void	log_set_level(enum log_level);
/* From now on to syslog(3) (facility: LOG_MAIL, ...) instead of stderr. */
void	log_open_syslog(int facility);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_fatal(int code, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	log_fatalx(int code, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
/* "out of memory (FN of COUNT x SIZE bytes)" ("(FN)" alone when count is
 * 0: a library that does not say how much), written without allocating
 * anything, then exit(code). */
void	log_nomem(int code, const char *fn, size_t count, size_t size)
	    __attribute__((noreturn));
/* Append len bytes of s with bytes below 0x20 and 0x7f escaped; -1 only
 * when the size overflows (see buf.h), out then unchanged. */
int	log_escape(struct buf *out, const char *s, size_t len);

#endif
