/*
 * intake - take files from Pickup safely.
 *
 * intake_scan lists Pickup (at start, on an inotify overflow, and every
 * pickup_rescan seconds, which also covers network filesystems where
 * inotify sees nothing) and intake_event takes one inotify event. Names
 * starting with "." or ending in ".tmp" are skipped: writers publish by
 * renaming them. intake_claim opens one file without following links or
 * blocking, refuses what is not a plain file with one link (symbolic
 * links, hard links, FIFOs, devices, folders: left in place and logged),
 * and waits while the file may still be written:
 *   - a read lease (F_SETLEASE, which needs CAP_LEASE or ownership) says
 *     whether anyone has it open for writing; busy: that one name is
 *     tried again a second later (never a rescan of everything);
 *   - without a lease: a name inotify saw created or modified and not yet
 *     closed after writing is left alone until its close event; a name
 *     found only by a rescan is claimed once it has stayed unchanged
 *     (size, mtime, ctime, inode) for pickup_settle, as seen by us.
 * Over-size and empty files move to Pickup/Archive with a reason; the rest
 * is claimed by rename() into Work/<qid> and, when the connector owns it,
 * made read-only (a writer holding a descriptor cannot reopen it for
 * writing through /proc). The claimed size bounds what is read;
 * intake_changed tells whether the file changed while it was read.
 *
 * Per-file state (what a rescan saw, whether a skip was logged, whether a
 * writer has it open) is bounded: past INTAKE_TRACK_MAX names the oldest
 * is forgotten, one at a time, never the whole table. Skip messages are
 * rate-limited (INTAKE_REPORTS_PER_MINUTE, then one summary line).
 */
#ifndef IMC_INTAKE_H
#define IMC_INTAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "qid.h"

#define INTAKE_TRACK_MAX		100000
#define INTAKE_REPORTS_PER_MINUTE	100

struct imc_config;
struct intake;
struct tracklog;

/* What intake needs from the daemon, borrowed for intake's lifetime. */
struct intake_ctx {
	const struct imc_config *cfg;
	int		 pickup_fd;
	int		 archive_fd;	/* Pickup/Archive */
	int		 work_fd;
	struct tracklog	*track;
	uint64_t	*archived;	/* counter, may be NULL */
};

enum claim_result {
	CLAIM_OK,	/* in Work/<qid>, fd open on it */
	CLAIM_SKIP,	/* left in Pickup (logged, or another node took it) */
	CLAIM_WAIT,	/* still being written: tried again later */
	CLAIM_DONE,	/* moved to Pickup/Archive with a reason */
	CLAIM_ERROR	/* no queue id (getrandom failed): left in Pickup */
};

struct claimed {
	char		 qid[QID_SIZE];
	char		*origname;
	int		 fd;
	uint64_t	 size;		/* read no more than this */
	time_t		 claimed_at;
	struct stat	 st;		/* as claimed; st_ino 0: not checked */
	bool		 has_uid;	/* uid is the writer's (the file's owner) */
	uid_t		 uid;
};

struct intake *intake_new(const struct intake_ctx *);
void	intake_free(struct intake *);
bool	intake_name_wanted(const char *name);
/* One inotify event on Pickup (mask and name as the kernel gave them). */
void	intake_event(struct intake *, uint32_t mask, const char *name);
/* The inotify queue overflowed: what it said about writers is lost. */
void	intake_overflow(struct intake *);
/* A rescan is wanted now (an inotify overflow); clears the wish. */
bool	intake_take_rescan(struct intake *);
int	intake_scan(struct intake *);
bool	intake_pending(const struct intake *);
/* Pop the next waiting name (the caller frees it), NULL when none;
 * *from_event: a close or move event named it. */
char	*intake_next(struct intake *, bool *from_event);
enum claim_result intake_claim(struct intake *, const char *name,
	    bool from_event, struct claimed *);
/* The login name of a uid for logs and Received: lines, in buf; NULL when
 * it has none, or one too long or with bytes other than letters, digits
 * and ._-@$+ (a name from NSS is not trusted to be plain). */
const char *intake_user_name(uid_t, char *buf, size_t size);
/* The same, the last answer kept a minute. */
const char *intake_writer_name(struct intake *, uid_t, char *buf,
	    size_t size);
/* Did the claimed file change since the claim (size, times)? */
bool	intake_changed(const struct claimed *);
/* A claimed file changed while it was read: back into Pickup (its name,
 * or <qid>.eml if that is taken) to be taken again later; logged. */
int	intake_put_back(struct intake *, const struct claimed *, const char *why);
/* Names waiting for a retry (busy, settling): milliseconds until the
 * first is due (-1: none); intake_run_retries queues the due ones. */
int64_t	intake_retry_ms(const struct intake *);
size_t	intake_run_retries(struct intake *);
/* Move a file (from_dirfd/from_name) to Pickup/Archive/<qid>.eml with
 * <qid>.reason, as the IMC did with its event 4164, and log it. */
int	intake_archive(struct intake *, int from_dirfd, const char *from_name,
	    const char *qid, const char *origname, const char *reason);

#endif
