/*
 * queue - commit messages into In/ and Out/, hand In/ to the store, and
 * redo whatever a crash interrupted.
 *
 * queue_accept turns one claimed Work/<qid> file into queue entries: local
 * recipients (config local_domains) into In/<qid>.{eml,env} (the content
 * starts with a Return-Path: line), the others into Out/<qid>.{eml,env},
 * a split message into both; with archive = yes the content is also linked
 * into In/Archive or Out/Archive. A file that cannot be taken goes to
 * Pickup/Archive with its reason. Nothing is durable until the caller's
 * queue_commit, which barriers, delivers, barriers again, and only then
 * drops Work/<qid> (see queue_commit in queue.c for the order).
 *
 * queue_deliver hands an In/ entry's pending recipients to the store and
 * queue_settle, after the next barrier, removes a finished entry or records
 * a deferral. Recipients that failed for good are returned to the sender
 * (bounce.h); what cannot be returned goes to Badmail with a reason.
 *
 * queue_recover runs at start-up: a Work/<qid> file means its intake did
 * not finish, so any half-written entries of that qid are removed and the
 * file is taken again (same queue id, same store file names, so nothing is
 * delivered twice); valid In/ entries are delivered; invalid ones and
 * orphans are moved to Badmail or removed, never silently lost.
 */
#ifndef IMC_QUEUE_H
#define IMC_QUEUE_H

#include <stdbool.h>

#include "intake.h"
#include "layout.h"
#include "qfile.h"

struct imc_daemon;

enum accept_result { ACCEPT_QUEUED, ACCEPT_ARCHIVED, ACCEPT_FAILED };

struct accepted {
	char		 qid[QID_SIZE];
	bool		 has_in;
	bool		 has_out;
	struct qenv	 in;	/* In/ entry, when has_in */
};

enum accept_result queue_accept(struct imc_daemon *, struct claimed *,
	    struct accepted *);
int	queue_barrier(struct imc_daemon *);
void	queue_release_work(struct imc_daemon *, const char *qid);
void	queue_commit(struct imc_daemon *, struct accepted *, size_t n,
	    bool recovering);
/* Deliver pending recipients; returns how many were handed over. */
size_t	queue_deliver(struct imc_daemon *, struct qenv *, bool recovering);
void	queue_settle(struct imc_daemon *, struct qenv *);
/* A finished In/ or Out/ entry: bounce or Badmail its failed recipients,
 * then remove it. */
void	queue_finish(struct imc_daemon *, enum layout_dir, struct qenv *);
/* Notify now about FAILED recipients while others are pending (they
 * become BOUNCED). */
void	queue_report_failed(struct imc_daemon *, enum layout_dir, struct qenv *);
/* Move an unreadable entry (.eml, .env) to Badmail with why. */
void	queue_quarantine(struct imc_daemon *, enum layout_dir, const char *qid,
	    const char *why);
/* One delay notice for the pending recipients (none for a null sender). */
int	queue_delay_notice(struct imc_daemon *, enum layout_dir,
	    const struct qenv *, time_t retry_until);
int	queue_recover(struct imc_daemon *);
/* Deliver In/ entries whose next try is due (all: every one); returns
 * entries tried. */
size_t	queue_run_in(struct imc_daemon *, bool all, bool recovering);

#endif
