/*
 * qprint - how imc-queue shows entries (see qprint.h).
 */
#include "qprint.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "utf8.h"

void
qprint_safe(struct buf *o, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		buf_putc(o, *p < 0x20 || *p == 0x7f ? '?' : *p);
}

/* qprint_json_str - RFC 8259 string; invalid UTF-8 bytes as \u00XX */
void
qprint_json_str(struct buf *o, const char *s)
{
	const unsigned char *p;
	size_t len, n;

	if (s == NULL) {
		buf_puts(o, "null");
		return;
	}
	buf_putc(o, '"');
	p = (const unsigned char *)s;
	len = strlen(s);
	while (len > 0) {
		if (*p == '"' || *p == '\\') {
			buf_putc(o, '\\');
			buf_putc(o, *p);
		} else if (*p == '\n')
			buf_puts(o, "\\n");
		else if (*p == '\t')
			buf_puts(o, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(o, "\\u%04x", *p);
		else if (*p >= 0x80) {
			n = utf8_char_len(p, len);
			if (n == 0) {
				buf_printf(o, "\\u%04x", *p);
				n = 1;
			} else
				buf_append(o, p, n);
			p += n;
			len -= n;
			continue;
		} else
			buf_putc(o, *p);
		p++;
		len--;
	}
	buf_putc(o, '"');
}

static void
qprint_json_num(struct buf *o, const char *key, long long v, bool comma)
{
	buf_printf(o, "%s\"%s\":%lld", comma ? "," : "", key, v);
}

static void
qprint_json_field(struct buf *o, const char *key, const char *v)
{
	buf_printf(o, ",\"%s\":", key);
	qprint_json_str(o, v);
}

/* qprint_json - one entry, one line */
void
qprint_json(struct buf *o, const struct qview_entry *ve)
{
	const struct qenv *e = &ve->env;
	size_t i;

	buf_puts(o, "{\"queue_id\":");
	qprint_json_str(o, e->qid);
	qprint_json_field(o, "folder", qview_folder_name(ve->folder));
	qprint_json_field(o, "state", qview_state_name(ve->state));
	buf_printf(o, ",\"held\":%s", e->held != 0 ? "true" : "false");
	qprint_json_num(o, "held_since", (long long)e->held, true);
	qprint_json_num(o, "arrival_time", (long long)e->arrival, true);
	qprint_json_num(o, "message_size", (long long)e->size, true);
	qprint_json_field(o, "sender", e->sender);
	qprint_json_num(o, "attempts", (long long)e->attempts, true);
	qprint_json_num(o, "next_try", (long long)e->next_try, true);
	qprint_json_field(o, "last_error", e->error != NULL && e->error[0] ?
	    e->error : NULL);
	qprint_json_field(o, "problem", ve->problem);
	buf_puts(o, ",\"recipients\":[");
	for (i = 0; i < e->n_rcpts; i++) {
		const struct qrcpt *r = &e->rcpts[i];

		buf_puts(o, i ? ",{\"address\":" : "{\"address\":");
		qprint_json_str(o, r->addr);
		qprint_json_field(o, "state", qrcpt_state_name(r->state));
		qprint_json_field(o, "dsn", r->dsn[0] ? r->dsn : NULL);
		qprint_json_field(o, "reason", r->text);
		buf_putc(o, '}');
	}
	buf_puts(o, "]}\n");
}

/* Column of the sender, and of the recipients under it. */
#define QPRINT_INDENT	53

void
qprint_text_head(struct buf *o)
{
	buf_printf(o, "%-17s %8s %-19s %-5s %s\n", "-Queue ID-------",
	    "--Size--", "---Arrival Time----", "-Dir-",
	    "-Sender/Recipient-------");
}

static void
qprint_indent(struct buf *o)
{
	buf_printf(o, "%*s", QPRINT_INDENT, "");
}

/* qprint_text - one entry as postqueue -p shows it, a blank line after */
void
qprint_text(struct buf *o, const struct qview_entry *ve)
{
	const struct qenv *e = &ve->env;
	char when[64];
	struct tm tm;
	time_t t = (time_t)e->arrival;
	size_t i;
	char mark = ve->state == QVIEW_UNREADABLE ? '?' : e->held ? '!' : ' ';

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "%" PRId64, e->arrival);
	buf_printf(o, "%s%c %8" PRIu64 " %-19s %-5s ", e->qid, mark, e->size,
	    when, qview_folder_name(ve->folder));
	if (ve->state == QVIEW_INTAKE)
		buf_puts(o, "(in intake)\n");
	else if (ve->state == QVIEW_UNREADABLE) {
		buf_puts(o, "(unreadable: ");
		qprint_safe(o, ve->problem != NULL ? ve->problem : "?");
		buf_puts(o, ")\n");
	} else {
		qprint_safe(o, e->sender[0] ? e->sender : "<>");
		buf_putc(o, '\n');
	}
	for (i = 0; i < e->n_rcpts; i++) {
		const struct qrcpt *r = &e->rcpts[i];

		/* as Postfix: one reason line over the recipients that
		 * share it */
		if (r->state == QRCPT_PENDING && r->text != NULL &&
		    r->text[0] != '\0' && (i == 0 ||
		    e->rcpts[i - 1].state != QRCPT_PENDING ||
		    e->rcpts[i - 1].text == NULL ||
		    strcmp(e->rcpts[i - 1].text, r->text) != 0)) {
			qprint_indent(o);
			buf_putc(o, '(');
			qprint_safe(o, r->text);
			buf_puts(o, ")\n");
		}
		qprint_indent(o);
		qprint_safe(o, r->addr);
		if (r->state != QRCPT_PENDING)
			buf_printf(o, " [%s%s%s]", qrcpt_state_name(r->state),
			    r->dsn[0] ? " " : "", r->dsn);
		buf_putc(o, '\n');
	}
	buf_putc(o, '\n');
}

void
qprint_text_tail(struct buf *o, size_t entries, uint64_t bytes)
{
	if (entries == 0) {
		buf_puts(o, "Mail queue is empty\n");
		return;
	}
	buf_printf(o, "-- %" PRIu64 " Kbytes in %zu Request%s.\n",
	    (bytes + 1023) / 1024, entries, entries == 1 ? "" : "s");
}
