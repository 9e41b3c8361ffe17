/*
 * qfile - a queue entry on disk: <qid>.eml and its envelope.
 *
 * <qid>.eml is the message content (CRLF lines), written once and never
 * changed. The envelope and state, a small text (format in LAYOUT.md and
 * below), is <qid>.env in In/, and in Out/ the extended attribute
 * QENV_XATTR of <qid>.eml (one file an entry), or a <qid>.env where the
 * file system cannot. It is rewritten whole on every state change: by an
 * atomic replace (temp name, rename; fsetxattr for the attribute), or, on
 * first creation during a batched intake, by a plain write, which the
 * batch's filesystem barrier makes durable. An entry is valid only when
 * its envelope parses to the final "end" line and the .eml has the size
 * it states: recovery at start-up treats anything else as never written.
 *
 *	IMCQ 1
 *	qid 0F3K2J9A1B2XY7QZ
 *	arrival 1732470000
 *	origname <escaped>
 *	sender <escaped>		("=" is the null sender)
 *	size 2311			(bytes of <qid>.eml)
 *	attempts 0
 *	next 0				(unix time of the next try)
 *	error <escaped>			(last temporary error, "=" if none)
 *	warned 1732513200		(optional: when the delay notice went)
 *	held 1732520000			(optional: held by imc-queue hold since;
 *					 never tried until released)
 *	ret HDRS			(optional: DSN RET as given)
 *	envid <escaped>			(optional: DSN ENVID as given)
 *	rcpt <pending|done|failed|bounced> <dsn|-> <escaped address> <escaped text>
 *	    [<notify|-> <orcpt|->]	(DSN parameters, when any was given)
 *	end
 *
 * Escaping: bytes up to 0x20, 0x7F, "%" and "=" become %XX; an empty value
 * is written "=".
 */
#ifndef IMC_QFILE_H
#define IMC_QFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "qid.h"

/* BOUNCED: failed, and the sender was already told (a notification went
 * out while other recipients of the message were still pending). */
enum qrcpt_state { QRCPT_PENDING, QRCPT_DONE, QRCPT_FAILED, QRCPT_BOUNCED };

struct qrcpt {
	char		*addr;
	enum qrcpt_state state;
	char		 dsn[16];	/* "" until a result is known */
	char		*text;		/* last result text, may be NULL */
	char		*notify;	/* DSN NOTIFY as given, or NULL */
	char		*orcpt;		/* DSN ORCPT as given (xtext), or NULL */
};

struct qenv {
	char		 qid[QID_SIZE];
	int64_t		 arrival;
	char		*origname;
	char		*sender;	/* "" is the null sender */
	uint64_t	 size;
	unsigned	 attempts;
	int64_t		 next_try;
	char		*error;
	int64_t		 warned;	/* delay notice sent at (0: not yet) */
	int64_t		 held;		/* held since (0: not held) */
	int		 hops;		/* Received: fields; -1: not known */
	int		 eightbit;	/* a byte above 127; -1: not known */
	char		*ret;		/* DSN RET (FULL, HDRS) or NULL */
	char		*envid;		/* DSN ENVID (xtext) or NULL */
	struct qrcpt	*rcpts;
	size_t		 n_rcpts;
	size_t		 cap_rcpts;
};

/* Every name the queue gives a file (LAYOUT.md lists them with their
 * folders): the entry, Badmail's pair and an unreadable entry's envelope,
 * Pickup/Archive's reason, and the temp names only this process writes
 * (swept at start: qfile_is_temp). */
#define QFILE_EML	".eml"
#define QFILE_ENV	".env"
#define QFILE_BAD	".bad"		/* Badmail/: the message */
#define QFILE_BDR	".bdr"		/* Badmail/: why */
#define QFILE_ENV_BAD	".env.bad"	/* Badmail/: an unreadable envelope */
#define QFILE_REASON	".reason"	/* Pickup/Archive/: why */

/* ".<qid>.eml.repair": a repaired copy on its way over <qid>.eml */
void	qfile_repair_tmp(char *out, size_t size, const char *qid);
/* ".<qid>.<k>.conv" (a copy converted for a mailbox) and its temp name */
void	qfile_conv_name(char *out, size_t size, const char *qid, unsigned k);
void	qfile_conv_tmp(char *out, size_t size, const char *qid, unsigned k);
/* A temp name of the forms above or safe_atomic_write's. */
bool	qfile_is_temp(const char *name);

/* Out of memory is fatal (xalloc.h): qenv_set and qenv_add_rcpt always
 * return 0 (int for the callers' convenience); a -1 of qenv_parse is a
 * malformed file, and of qenv_load a missing, unreadable (the open or
 * read failed) or malformed one, never a want of memory. */
void	qenv_init(struct qenv *);
void	qenv_free(struct qenv *);
int	qenv_set(char **field, const char *value);
int	qenv_add_rcpt(struct qenv *, const char *addr);
size_t	qenv_count(const struct qenv *, enum qrcpt_state);
int	qenv_format(const struct qenv *, struct buf *out);
int	qenv_parse(const char *data, size_t len, struct qenv *, struct buf *err);
/* Read <qid>.env (else the envelope on <qid>.eml) from dirfd and check
 * <qid>.eml's size: 0, or -1 with err (errno ENOENT: no envelope at all). */
int	qenv_load(int dirfd, const char *qid, struct qenv *, struct buf *err);
/* Write <qid>.env. create: a new entry, written in place (a later barrier
 * makes it durable); else replaced atomically by rename, and with sync
 * durably before this returns. */
int	qenv_store(int dirfd, const struct qenv *, bool create, bool sync);
/* Out/: the envelope as the attribute QENV_XATTR of <qid>.eml (one file
 * per entry; setting it replaces it whole); <qid>.env instead where the
 * file system cannot. Never on In/ content, which is linked into
 * mailboxes: its recipients (Bcc too) would travel with it. */
#define QENV_XATTR	"user.imc.env"
int	qenv_store_on_content(int dirfd, const struct qenv *, bool sync);
/* Out/: the mark of an attempt in progress, the attribute QTRY_XATTR of
 * <qid>.eml holding the time it began. Set when an attempt starts (not
 * synced: it is for a stop of the process, whose page cache survives),
 * removed once the attempt's outcome is recorded. Found when an attempt
 * starts, it means the connector stopped during the last one, after the
 * peer may have taken the message: the recipients still pending may get
 * it twice (possible duplicate). qtry_begin sets the mark and puts the
 * one it replaced in *previous (0 none, its time, 1 when it is not a
 * time), one open for both: 0, or -1 with errno when no mark could be set
 * (ENOTSUP: no user attributes here). qtry_clear: 0, or -1 with errno. */
#define QTRY_XATTR	"user.imc.try"
int	qtry_begin(int dirfd, const char *qid, int64_t now, int64_t *previous);
int	qtry_clear(int dirfd, const char *qid);
const char *qrcpt_state_name(enum qrcpt_state);

/* The escaping above: "=" for empty; unescape gives NULL on a malformed
 * token, else a string the caller frees. */
int	qfile_escape(struct buf *, const char *);
char	*qfile_unescape(const char *, size_t len);

#endif
