/*
 * outq - the Out/ queue: which entries are due, what each attempt found,
 * retries, delay notices, expiry and bounces.
 *
 * Every Out/ entry is known in memory by its queue id and the time of its
 * next try; the content and envelope stay on disk. A due entry is loaded,
 * checked (lifetime, hop count), and its pending recipients are grouped by
 * route and conversion (route.h, config_delivery_conv) into jobs, one
 * SMTP transaction each, of at most max_rcpts_per_transaction recipients;
 * the jobs go to the delivery layer through ops->submit, and come back
 * through outq_job_done (from a deferred call, never inside submit). When
 * the last job of an entry is back the entry is settled: ops->settled asks
 * the daemon for a batch, and outq_dispose then records it into that
 * batch (batch.h): accepted recipients are done, refused ones failed
 * (reported to the sender at once), the rest wait for the next step of
 * retry_schedule, with one delay notice after delay_warning; an entry with
 * nothing pending is finished and removed once its notices are durable.
 * outq depends on neither the daemon nor the delivery layer.
 *
 * At most OUTQ_MAX_ACTIVE entries are loaded at a time, so memory stays
 * flat however long the queue is. A flush request (imc-queue flush) makes
 * waiting entries due in memory; the next outq_run starts them.
 */
#ifndef IMC_OUTQ_H
#define IMC_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "config.h"
#include "mailstatus.h"
#include "qfile.h"

#define OUTQ_MAX_ACTIVE	2000	/* entries loaded and in delivery */

struct batch;
struct evloop;
struct outq;
struct out_msg;
struct qctx;
struct route;

/* One transaction: some recipients of one message, to one destination. */
struct out_job {
	TAILQ_ENTRY(out_job) link;	/* in its destination's queue */
	struct out_msg	*msg;
	const char	*qid;
	const char	*sender;	/* "" is the null sender */
	uint64_t	 size;		/* bytes of Out/<qid>.eml */
	bool		 body_8bit;	/* a byte above 127 in the content */
	bool		 needs_smtputf8; /* a non-ASCII address */
	size_t		 n;
	const char	**rcpts;	/* addresses */
	const char	**notify;	/* DSN NOTIFY per rcpt, or NULL */
	const char	**orcpt;	/* DSN ORCPT per rcpt, or NULL */
	const char	*ret;		/* DSN RET, ENVID of the message */
	const char	*envid;
	size_t		*idx;		/* their index in the envelope */
	struct mail_status *res;	/* filled by the delivery, per rcpt */
	bool		 not_started;	/* called back unstarted (a stop) */
	struct delivery_conv conv;	/* what the copy becomes for them */
	char		 relay[320];	/* "mx.example[192.0.2.7]:25" */
	char		 tls[128];	/* "TLSv1.3/TLS_AES_..." or "none" */
};

struct out_job;

struct outq_ops {
	/* Hand a job to the delivery layer (its results come back through
	 * outq_job_done). */
	void	(*submit)(void *arg, const struct route *, struct out_job *);
	/* Entries were settled: call outq_dispose in a batch soon. */
	void	(*settled)(void *arg);
};

struct outq *outq_new(struct qctx *, struct evloop *, const struct outq_ops *,
	    void *arg);
void	outq_free(struct outq *);
/* List Out/ at start-up: every entry with its next try. */
int	outq_load(struct outq *);
/* A new entry (just committed): due now. */
int	outq_add(struct outq *, const char *qid);
/* A flush request (qrequest.h): the entry (NULL: all) is due now;
 * returns how many changed. outq_run starts them. */
size_t	outq_make_due(struct outq *, const char *qid);
/* Start what is due, within the limits; returns entries started. */
size_t	outq_run(struct outq *);
/* Called by the delivery layer when a job's results are filled in. */
void	outq_job_done(struct outq *, struct out_job *);
/* Settled entries into a batch; returns how many. */
bool	outq_has_settled(const struct outq *);
size_t	outq_dispose(struct outq *, struct batch *);
/* Entries loaded and not yet settled. */
size_t	outq_active(const struct outq *);
/* Milliseconds until the next entry is due (-1: none waiting). */
int64_t	outq_next_due_ms(const struct outq *);
/* Stop starting entries (SIGTERM); jobs in hand finish. */
void	outq_stop(struct outq *);

#endif
