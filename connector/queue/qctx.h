/*
 * qctx - what the queue modules share: the small context the daemon hands
 * them instead of itself.
 *
 * The configuration, a descriptor for every folder of the tree (the
 * daemon's array; a folder made again keeps its number), the tracking
 * log, the store, intake (for Pickup/Archive and putting files back), the
 * counters, and two ways out: new Out/ entries go to out_entry once they
 * are durable, and in_due says the In/ queue has entries due now (a
 * notification's local copy). The Work files held for a retry and the
 * pending tail of the last batch are kept here too (batch.c owns them).
 * Everything is borrowed from the daemon, which outlives the queue
 * modules.
 */
#ifndef IMC_QCTX_H
#define IMC_QCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "layout.h"
#include "qid.h"
#include "strset.h"

struct batch;
struct intake;
struct maildir_store;
struct tracklog;

enum qstat_dest { QSTAT_STORE, QSTAT_SMTP, QSTAT_NDEST };

struct imc_stats {
	uint64_t	picked_up;
	uint64_t	archived;
	uint64_t	delivered;	/* recipients */
	uint64_t	deferred;	/* recipient attempts */
	uint64_t	failed;		/* recipients */
	uint64_t	barriers;	/* filesystem syncs */
	uint64_t	rescans;	/* listings of Pickup */
	/* delivery attempts per recipient, by where they went and by
	 * result: [QSTAT_STORE or QSTAT_SMTP][enum mail_kind] */
	uint64_t	by_dest[QSTAT_NDEST][3];
};

/* A Work file that could not be queued, tried again (batch.c). */
struct held_work {
	char		 qid[QID_SIZE];
	char		*origname;
	unsigned	 tries;
	int64_t		 due_ms;	/* CLOCK_MONOTONIC */
};

struct qctx {
	const struct imc_config *cfg;
	const int	*dir;		/* LAYOUT_NDIRS folder descriptors */
	struct tracklog	*track;
	struct maildir_store *store;
	struct intake	*intake;
	struct imc_stats *stats;
	void		(*out_entry)(void *arg, const char *qid);
	void		*out_arg;
	/* The batch's new entries passed their barrier (before the store
	 * handoff and its second barrier): what waits for durability may be
	 * told now (the SMTP listener's 250s). NULL: nobody waits. */
	void		(*durable)(void *arg);
	void		*durable_arg;
	bool		 in_due;	/* the In/ queue has entries due now */
	bool		 requests_kept;	/* a request waits for an entry in
					 * delivery (requests.h) */
	struct held_work *held;
	size_t		 n_held, cap_held;
	/* The pending tail of the last batches (batch.h; NULL: not folded),
	 * since when, and the In/ and Out/ queue ids it will remove or
	 * rewrite. */
	struct batch	*tail;
	int64_t		 tail_since_ms;
	struct strset	 tail_in;
	struct strset	 tail_out;
};

#endif
