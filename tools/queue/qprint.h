/*
 * qprint - how imc-queue shows entries: the text listing modelled on
 * Postfix's "postqueue -p", and one JSON object a line for scripts.
 *
 * Text: a heading, then per entry a line "QID[!] SIZE ARRIVAL FOLDER
 * SENDER" ("!" marks a held entry, "?" an unreadable one; the arrival in
 * local time), and under it each recipient, those still pending after
 * their last reason in parentheses, the others with their state and DSN
 * code in brackets; a blank line; at the end "-- N Kbytes in M
 * Requests." or "Mail queue is empty". Bytes a terminal would act on
 * (controls, DEL) are shown as "?".
 *
 * JSON (field names are stable, README lists them): queue_id, folder,
 * state (intake, queued, deferred, unreadable), held (true/false),
 * held_since (unix time, 0 when not held), arrival_time, message_size,
 * sender (null in intake; "" the null sender), attempts, next_try,
 * last_error, problem (why an entry is unreadable, else null) and
 * recipients: [{address, state, dsn, reason}]. Strings are valid UTF-8
 * JSON: a byte that is not part of valid UTF-8 is written as the
 * character of the same number (\u00XX).
 */
#ifndef IMC_QPRINT_H
#define IMC_QPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "qview.h"

/* A JSON string literal of s (NULL: null). */
void	qprint_json_str(struct buf *, const char *s);
/* One entry as a JSON object and a newline. */
void	qprint_json(struct buf *, const struct qview_entry *);
void	qprint_text_head(struct buf *);
void	qprint_text(struct buf *, const struct qview_entry *);
void	qprint_text_tail(struct buf *, size_t entries, uint64_t bytes);
/* Text for a terminal: controls and DEL as "?". */
void	qprint_safe(struct buf *, const char *s);

#endif
