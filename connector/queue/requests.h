/*
 * requests - apply what tools asked for (qrequest.h): the connector is
 * the only writer of queue state, so imc-queue leaves a request in Log/
 * and signals; requests_apply runs at start and on SIGUSR1, applies every
 * request found, logs it, and removes the file. A request that cannot be
 * parsed is logged with the reason and removed, so it cannot come back.
 */
#ifndef IMC_REQUESTS_H
#define IMC_REQUESTS_H

#include <stddef.h>

struct outq;
struct qctx;

/* Returns the number of requests applied. oq may be NULL (none yet). */
size_t	requests_apply(struct qctx *, struct outq *);

#endif
