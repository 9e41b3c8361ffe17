/*
 * requests - apply what tools asked for (qrequest.h): the connector is
 * the only writer of queue state, so imc-queue leaves a request in Log/
 * and signals; requests_apply runs at start and on SIGUSR1, applies every
 * request found (flush here; hold, release, delete and requeue through
 * qchange.h, the code imc-queue itself runs when no connector does),
 * keeps the Out/ queue's memory in step, logs it, answers in
 * Log/<hex>.reply and removes the request. A request that cannot be
 * parsed is logged with the reason and removed, so it cannot come back.
 *
 * A request that would change an Out/ entry while it is loaded (in
 * delivery, or settled and not yet written back) is kept for later, and
 * qctx.requests_kept says so: the daemon applies requests again after
 * every batch that disposed of settled entries. Replies nobody collected
 * (the tool gave up) are removed after an hour.
 */
#ifndef IMC_REQUESTS_H
#define IMC_REQUESTS_H

#include <stddef.h>

struct outq;
struct qctx;

/* Returns the number of requests applied. oq may be NULL (none yet). */
size_t	requests_apply(struct qctx *, struct outq *);

#endif
