/*
 * mailstatus - the outcome type (see mailstatus.h).
 */
#include "mailstatus.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* mail_status_set - fill in an outcome; the text is cut to one line */
void
mail_status_set(struct mail_status *st, enum mail_kind kind, const char *dsn,
    const char *fmt, ...)
{
	va_list ap;
	char *p;

	st->kind = kind;
	snprintf(st->dsn, sizeof(st->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(st->text, sizeof(st->text), fmt, ap);
	va_end(ap);
	for (p = st->text; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
}

/* mail_kind_name - for logs */
const char *
mail_kind_name(enum mail_kind kind)
{
	switch (kind) {
	case MAIL_OK:
		return "ok";
	case MAIL_TEMP:
		return "temporary";
	case MAIL_PERM:
		return "permanent";
	}
	return "?";
}
