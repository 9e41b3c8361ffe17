/*
 * intake - take files from Pickup safely.
 *
 * intake_scan lists Pickup (at start, on an inotify overflow, and every
 * pickup_rescan seconds, which also covers network filesystems where
 * inotify sees nothing) and intake_note adds one name from an inotify
 * event. Names starting with "." or ending in ".tmp" are skipped: writers
 * publish by renaming them. intake_claim opens one file without following
 * links or blocking, refuses what is not a plain file with one link
 * (symbolic links, hard links, FIFOs, devices, folders: left in place and
 * logged once), waits while the file is still open for writing (a read
 * lease cannot be had, or, where leases are not allowed, its mtime is
 * younger than pickup_settle), moves over-size and empty files to
 * Pickup/Archive, and claims the rest by rename() into Work/<qid>. A file
 * that cannot be read or moved is left in place and logged once.
 */
#ifndef IMC_INTAKE_H
#define IMC_INTAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "qid.h"

struct imc_daemon;

enum claim_result {
	CLAIM_OK,	/* in Work/<qid>, fd open on it */
	CLAIM_SKIP,	/* left in Pickup (logged, or another node took it) */
	CLAIM_WAIT,	/* still being written: try again later */
	CLAIM_DONE,	/* moved to Pickup/Archive with a reason */
	CLAIM_ERROR	/* out of memory and the like */
};

struct claimed {
	char		 qid[QID_SIZE];
	char		*origname;
	int		 fd;
	uint64_t	 size;
	time_t		 claimed_at;
	bool		 has_uid;	/* uid is the writer's (the file's owner) */
	uid_t		 uid;
};

bool	intake_name_wanted(const char *name);
int	intake_note(struct imc_daemon *, const char *name);
int	intake_scan(struct imc_daemon *);
/* Pop the next waiting name (the caller frees it), NULL when none. */
char	*intake_next(struct imc_daemon *);
enum claim_result intake_claim(struct imc_daemon *, const char *name,
	    bool from_event, struct claimed *);
/* The login name of a uid for logs and Received: lines, in buf; NULL when
 * it has none, or one too long or with bytes other than letters, digits
 * and ._-@$+ (a name from NSS is not trusted to be plain). */
const char *intake_user_name(uid_t, char *buf, size_t size);
/* Move a file (from_dirfd/from_name) to Pickup/Archive/<qid>.eml with
 * <qid>.reason, as the IMC did with its event 4164, and log it. */
int	intake_archive(struct imc_daemon *, int from_dirfd, const char *from_name,
	    const char *qid, const char *origname, const char *reason);

#endif
