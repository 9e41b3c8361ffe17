/*
 * tracklog - the message tracking log, Log/YYYYMMDD.log (UTC dates).
 *
 * One line per mail event (picked-up, queued, delivered, deferred, bounced,
 * badmail, archived; interrupted: an attempt cut off by a stop of the
 * connector, a possible duplicate; refused: a listener message answered
 * 451 and not kept), with stable key=value fields a script can parse:
 *
 *   2026-11-24T18:43:28.123Z event=delivered qid=0F3K... from=<a@b.example>
 *     to=<c@d.example> size=2311 status=sent dsn=2.0.0 relay=maildir
 *     tls=TLSv1.3/TLS_AES_256_GCM_SHA384 reason="..." orig="name in Pickup"
 *
 * (one line in the file). A picked-up line also names who wrote the
 * Pickup file: uid=1001 user=alice (the file's owner; user only when the
 * uid has a name); a received line (the SMTP listener) the client:
 * client="host [192.0.2.7]" helo=... tls=... auth=... A value with a space, a quote or a control
 * character is written as a quoted string with backslash escapes. Lines are
 * collected in memory and written by tracklog_flush, which the daemon calls
 * at the end of every batch, so a line never appears before the event it
 * reports is durable. Never log message bodies or credentials.
 */
#ifndef IMC_TRACKLOG_H
#define IMC_TRACKLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"

struct tracklog;

struct track_event {
	const char	*event;		/* required */
	const char	*qid;
	const char	*from;		/* NULL: field left out; "" the null sender */
	const char	*to;
	uint64_t	 size;		/* 0: left out */
	const char	*status;
	const char	*dsn;
	const char	*relay;	/* "maildir", or "mx.example[192.0.2.7]:25" */
	const char	*tls;	/* "TLSv1.3/TLS_AES_256_GCM_SHA384" or "none" */
	const char	*reason;
	const char	*orig;
	const char	*client;	/* SMTP listener: "name [addr]", */
	const char	*helo;		/* the client's EHLO/HELO name, */
	const char	*auth;		/* the name it authenticated as */
	bool		 has_uid;	/* uid (and user, if not NULL) logged */
	uid_t		 uid;
	const char	*user;
};

struct tracklog *tracklog_open(const char *logdir, struct buf *err);
int	tracklog_add(struct tracklog *, const struct track_event *);
int	tracklog_flush(struct tracklog *);
void	tracklog_free(struct tracklog *);
/* log_keep_days: remove the tracking logs (YYYYMMDD.log) and protocol
 * logs (smtp-YYYYMMDD.log) in the Log folder dated before the UTC day
 * keep_days before now (0: none); nothing else is touched. *removed is
 * how many went; -1 if the folder could not be read or a file not
 * removed (errno). */
int	tracklog_prune(int logdir_fd, uint64_t keep_days, time_t now,
	    size_t *removed);

#endif
