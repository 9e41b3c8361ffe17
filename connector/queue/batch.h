/*
 * batch - the commit of Work/ files into queue entries, and every change
 * that must wait for the durability they share.
 *
 * One batch is one filesystem barrier (two when the store is involved):
 *
 *   before:  claimed files are taken (batch_accept): In/ and Out/ entries
 *            written, the Work file kept; notifications written into Work/
 *            by dispose are taken the same way (batch_take_notice); In/
 *            entries the runner found due are added (batch_deliver_in);
 *            entries to remove or rewrite once the barrier is passed are
 *            named (batch_after_remove, batch_after_store).
 *   commit:  barrier 1; the store handoff of the new In/ entries and of
 *            the due ones (their failures notified into this batch, their
 *            deferrals recorded); barrier 2; then the Work files go, the
 *            entries named for it are removed or rewritten, and the new
 *            Out/ entries go to the Out/ queue (qctx.out_entry).
 *
 * With the tail enabled (batch_tail_enable: the running daemon) barrier 2
 * is folded into the next one: after the store handoff, that last step
 * (the tail) is kept in qctx.tail and done right after the next barrier
 * any batch passes (its barrier 1 covers the tail's store links and
 * notices), or after a barrier of its own once BATCH_TAIL_MS passed with
 * no batch (batch_tail_ms, batch_flush_tail), and before the daemon
 * stops. In that gap the Work files are still there, so a crash is redone
 * exactly as a crash before barrier 2; the In/ runner skips the entries
 * the tail will remove or rewrite (batch_tail_has_in), and a barrier that
 * fails holds the tail's Work files as a failed barrier 2 does.
 *
 * So no entry is removed before the notification about it is durable,
 * no Work file goes before its entries are, and nothing syncs the disk
 * outside a batch: an SMTP completion never does. A crash anywhere is
 * redone at start from the Work files (recover.h) with the same queue ids
 * and store names. A notification's local copy is not handed to the
 * store in the batch that made it: its In/ envelope says "due now" and
 * the In/ runner takes it (qctx.in_due).
 *
 * A Work file that cannot be committed (a full disk, a folder removed, a
 * barrier that failed) is held: kept in Work/ and tried again by the
 * running daemon, 1 s, 2 s, 4 s ... 300 s apart (tracking log "held").
 */
#ifndef IMC_BATCH_H
#define IMC_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "intake.h"
#include "layout.h"

struct batch;
struct qctx;
struct qenv;

/* FAILED: kept in Work and held for a retry; RETURNED: put back into
 * Pickup (it changed while it was read). */
enum accept_result { ACCEPT_QUEUED, ACCEPT_ARCHIVED, ACCEPT_FAILED,
	ACCEPT_RETURNED };

struct batch *batch_new(struct qctx *);
void	batch_free(struct batch *);
bool	batch_empty(const struct batch *);
/* A claimed file in Work/<qid>; recovering: a redo (the store looks for
 * copies a crash left). The caller keeps c (and closes c->fd). */
enum accept_result batch_accept(struct batch *, struct claimed *,
	    bool recovering);
/* A notification dispose wrote into Work/<qid> (no-op for ""). */
void	batch_take_notice(struct batch *, const char *qid);
/* A due In/ entry for the store handoff; the batch takes the envelope
 * (moved: e is left empty). */
void	batch_deliver_in(struct batch *, struct qenv *, bool recovering);
/* Once the barrier is passed: remove the entry / write its envelope
 * (moved into the batch, as above). */
void	batch_after_remove(struct batch *, enum layout_dir, const char *qid);
void	batch_after_store(struct batch *, enum layout_dir, struct qenv *);
/* The commit (see above); -1 when a barrier failed: the Work files are
 * held, nothing is removed. The batch is empty afterwards. After barrier
 * 1 it calls qctx.durable, if set. */
int	batch_commit(struct batch *);

/* The pending tail (see above); without batch_tail_enable every commit
 * does its own barrier 2. batch_tail_ms: -1 none, else ms until it wants
 * batch_flush_tail (a barrier, then the tail; -1 when it failed: held). */
void	batch_tail_enable(struct qctx *);
int64_t	batch_tail_ms(const struct qctx *);
int	batch_flush_tail(struct qctx *);
bool	batch_tail_has_in(const struct qctx *, const char *qid);
/* An Out/ entry whose new envelope waits in the tail: not started again
 * before it is written (it would be tried with the old one). */
bool	batch_tail_has_out(const struct qctx *, const char *qid);
void	batch_tail_free(struct qctx *);

/* A file already in Work/<qid> (recovery, a held retry): into this
 * batch, or in a batch of its own. */
enum accept_result batch_accept_work(struct batch *, const char *qid,
	    const char *origname, bool recovering);
enum accept_result batch_take_work(struct qctx *, const char *qid,
	    const char *origname, bool recovering);

/* Held Work files. */
void	batch_hold(struct qctx *, const char *qid, const char *origname,
	    const char *why);
int64_t	batch_held_ms(const struct qctx *);	/* -1: none */
size_t	batch_retry_held(struct qctx *);
void	batch_held_free(struct qctx *);
/* A Work file nobody may deliver (its SMTP client got a 4xx): its hold,
 * its entries and the file go. */
void	batch_forget(struct qctx *, const char *qid);

#endif
