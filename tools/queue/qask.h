/*
 * qask - how imc-queue gets a change made. The connector is the only
 * writer of queue state: while one runs on the tree (it holds
 * Log/imc-connector.lock, instlock.h), qask writes a request into Log/
 * (qrequest.h), sends it SIGUSR1 and waits, bounded, for its answer in
 * Log/<hex>.reply. While none runs, qask takes the tree's lock itself
 * (a connector starting meanwhile is refused and says so) and makes the
 * change with qchange.h, the code the connector runs, so both ways agree;
 * a flush, which only means something to a running connector, is left as
 * a request for its next start. The caller is the service user already.
 */
#ifndef IMC_QASK_H
#define IMC_QASK_H

#include <stdbool.h>

#include "buf.h"
#include "qrequest.h"

enum qask_outcome {
	QASK_ANSWERED,	/* the connector answered: reply filled in */
	QASK_APPLIED,	/* no connector: made here under the lock */
	QASK_LEFT,	/* no connector: the request waits for its start */
	QASK_NO_ANSWER,	/* the connector did not answer in time */
	QASK_FAILED	/* the request could not be written (msg says) */
};

struct qask {
	int		 rootfd;
	int		 logfd;		/* Log/ */
	const char	*root;		/* the tree's path (tracking log) */
	int		 wait_ms;	/* for the answer */
	bool		 stuff_dots;	/* pickup_dots = iis (requeue) */
};

/* msg gets what happened for people (the connector's PID, the request's
 * name); reply the results (QASK_ANSWERED, QASK_APPLIED). */
enum qask_outcome qask_run(const struct qask *, const struct qrequest *,
	    struct qrequest_reply *reply, struct buf *msg);

#endif
