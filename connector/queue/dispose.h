/*
 * dispose - what happens to recipients that are done with: the one
 * expiry rule of both queues, notifications to the sender (RFC 3464,
 * bounce.h), Badmail, and quarantine of an entry that cannot be read.
 *
 * A notification is written into Work/<new qid> as a Pickup-format file
 * and its qid handed back: the caller's batch takes it like any claimed
 * file and commits it under the batch's barrier, and removes the entry
 * it reports on only after that barrier. Nothing here syncs the disk,
 * and nothing here calls back into the queues: it is called by them.
 * What cannot be notified (the null sender, a notification that cannot
 * be written) goes to Badmail/<qid>.bad with <qid>.bdr.
 */
#ifndef IMC_DISPOSE_H
#define IMC_DISPOSE_H

#include <stdbool.h>
#include <time.h>

#include "layout.h"
#include "qid.h"

struct qctx;
struct qenv;

/* Pending recipients of an entry older than max_lifetime fail 4.4.7 with
 * their last error; true when any did. */
bool	dispose_expire(const struct qctx *, struct qenv *, time_t now);
/* A finished entry's failures: a notice (its qid into notice, "" when
 * none was needed) or Badmail. The entry itself stays for the caller. */
void	dispose_finish(const struct qctx *, enum layout_dir, struct qenv *,
	    char notice[QID_SIZE]);
/* Failures while other recipients are pending: reported now; they
 * become BOUNCED so the final report does not list them again. */
void	dispose_report_failed(const struct qctx *, enum layout_dir,
	    struct qenv *, char notice[QID_SIZE]);
/* One delay notice for the pending recipients whose NOTIFY asks for
 * DELAY (or who gave none); 0 when written or not wanted (null sender,
 * no such recipient), -1 when it could not be. */
int	dispose_delay_notice(const struct qctx *, enum layout_dir,
	    const struct qenv *, time_t retry_until, char notice[QID_SIZE]);
/* An entry that cannot be read: its files to Badmail with the reason. */
void	dispose_quarantine(const struct qctx *, enum layout_dir,
	    const char *qid, const char *why);

#endif
