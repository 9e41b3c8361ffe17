/*
 * log - the diagnostic log of the programs (not the tracking log).
 *
 * Lines go to stderr with a time stamp and the program name; the daemon's
 * service manager collects them. log_warn adds strerror(errno); the x
 * variants do not. log_fatal and log_fatalx exit with the given sysexits
 * code. Never pass message bodies or credentials.
 */
#ifndef IMC_LOG_H
#define IMC_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN };

void	log_init(const char *progname, enum log_level);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_fatal(int code, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	log_fatalx(int code, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
