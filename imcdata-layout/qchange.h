/*
 * qchange - the changes an admin asks for with imc-queue (hold, release,
 * delete, delete with a bounce), made on disk.
 *
 * The connector is the only writer of queue state: while it runs it
 * makes these changes itself when it reads a request (qrequest.h,
 * connector/queue/requests.h); while none runs, imc-queue makes them
 * while it holds the tree's lock (instlock.h), which a starting
 * connector also takes. Both call this, so the two ways cannot drift.
 * qchange changes files only; what the connector keeps in memory (its
 * Out/ queue) is the caller's to update, from the folders reported.
 *
 * On one entry (In/ and Out/: a message split between the store and
 * SMTP has both):
 *   hold	 the envelope gets "held <now>": the runners never try it,
 *		 recovery keeps it, until release;
 *   release	 "held" goes, and the entry is due now;
 *   delete	 its files go (.env first, then .eml), nobody is told;
 *   delete bounce  its pending recipients fail (5.0.0, deleted by the
 *		 administrator) and the entry is due now: the connector's
 *		 next run of it tells the sender and removes it;
 * Every change is a tracking log line (held, released, deleted, requeued)
 * added to track; the caller flushes it.
 */
#ifndef IMC_QCHANGE_H
#define IMC_QCHANGE_H

#include <stdbool.h>
#include <time.h>

#include "buf.h"
#include "layout.h"
#include "qrequest.h"

struct tracklog;

/* The DSN code and text of a recipient deleted with a bounce. */
#define QCHANGE_DELETED_DSN	"5.0.0"
#define QCHANGE_DELETED_TEXT	"deleted from the queue by the administrator"

/* Apply verb (not FLUSH) to qid. dir: LAYOUT_NDIRS folder descriptors
 * (-1: not used). stuff_dots: Pickup is read the IIS way (pickup_dots).
 * *changed gets a bit (1u << folder) for every folder whose entry
 * changed; text what happened, for people. */
enum qrequest_result qchange_apply(const int *dir, struct tracklog *,
	    enum qrequest_verb, const char *qid, time_t now, bool stuff_dots,
	    unsigned *changed, struct buf *text);

#endif
