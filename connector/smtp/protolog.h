/*
 * protolog - the SMTP protocol transcript, as the IMC's protocol logging
 * wrote it: Log/smtp-YYYYMMDD.log (UTC dates), one line per event:
 *
 *   2026-11-24T23:59:01.123Z 0HOGURGW37S4N8SO > MAIL FROM:<a@b.example>
 *
 * with the session id (one per connection attempt) and the direction: '>'
 * sent, '<' received, '*' a note (connecting, TLS, results). "minimum"
 * writes the commands, the first line of each reply and the notes;
 * "maximum" also every further line of multi-line replies and detail notes.
 * Never message bodies or credentials: the protocol engine masks AUTH, and
 * a line starting "AUTH " is masked here again. Control bytes are written
 * as \xNN so a peer cannot forge lines. Lines are buffered and written by
 * protolog_flush (each loop round) or when 64 KB are waiting.
 */
#ifndef IMC_PROTOLOG_H
#define IMC_PROTOLOG_H

#include <stdbool.h>

#include "buf.h"
#include "config.h"

struct protolog;

struct protolog *protolog_open(const char *logdir, enum imc_protocol_log,
	    struct buf *err);
/* The file name's prefix, "smtp" unless set ("smtpd": the listener). */
void	protolog_set_prefix(struct protolog *, const char *prefix);
/* detail: written only at "maximum". */
void	protolog_line(struct protolog *, const char *session, char dir,
	    const char *text, bool detail);
int	protolog_flush(struct protolog *);
void	protolog_free(struct protolog *);

#endif
