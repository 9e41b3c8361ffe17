/*
 * mailstatus - the one outcome type of every mail step.
 *
 * A kind (OK, TEMP, PERM), an RFC 3463 enhanced status code and a text.
 * Parser defects, store replies and (later) SMTP and DNS answers all map
 * into it, so the queue decides retry or bounce in one place.
 */
#ifndef IMC_MAILSTATUS_H
#define IMC_MAILSTATUS_H

/* TEMP is zero on purpose: a status nobody set (calloc, memset) reads as
 * "try again", never as delivered. */
enum mail_kind { MAIL_TEMP, MAIL_OK, MAIL_PERM };

struct mail_status {
	enum mail_kind	kind;
	char		dsn[16];	/* "2.0.0", "4.3.0", "5.1.3" */
	char		text[256];	/* one line, no CR or LF */
};

void	mail_status_set(struct mail_status *, enum mail_kind, const char *dsn,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
const char *mail_kind_name(enum mail_kind);

#endif
