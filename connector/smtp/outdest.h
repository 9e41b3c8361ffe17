/*
 * outdest - destinations: where jobs wait for a connection.
 *
 * A destination is everything sent the same way: the MX hosts of one
 * domain, or one relay or smarthost list (route.h gives the key). It
 * resolves its targets once (c-ares, on the daemon's loop: MX lookup, or
 * the addresses of [relay] names, or IP literals as they are), keeps a
 * queue of jobs, and opens connections (smtp_conn) within two limits:
 * max_per_destination and max_connections overall. While destinations
 * wait for a slot, the slots are shared fairly: none opens more than its
 * share (max_connections over the destinations in play, at least 1), a
 * freed slot goes to those waiting first, in turn, and a destination over
 * its share gives up a connection that holds no job yet (or an idle one)
 * to one below it. Connections take jobs one after the other (connection
 * reuse) and linger briefly for more.
 *
 * Failures that concern the whole destination end every job queued for
 * it at once with the same status: a DNS answer (null MX 5.1.10, NXDOMAIN
 * 5.1.2, SERVFAIL 4.4.3, mail loop 4.4.6) or no target reachable. A
 * destination without jobs or connections is forgotten, so the next job
 * resolves afresh.
 *
 * An LMTP store (route.h ROUTE_LMTP) is a destination like the others:
 * its socket or address (or its name's A/AAAA records) are its targets,
 * its connections speak LMTP, and the same limits and reuse apply; a
 * store that cannot be reached defers its jobs, never bounces them.
 *
 * outdest also owns what every connection shares: the DNS channel, the
 * TLS client context, the protocol log.
 */
#ifndef IMC_OUTDEST_H
#define IMC_OUTDEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct evloop;
struct imc_config;
struct out_job;
struct outdest;
struct route;

struct outdest_ops {
	/* A job's results are filled in; called from a deferred call, never
	 * from inside outdest_submit or a connection's callback. */
	void	(*job_done)(void *arg, struct out_job *);
};

struct outdest *outdest_new(const struct imc_config *, struct evloop *,
	    int out_dirfd, const struct outdest_ops *, void *arg,
	    struct buf *err);
void	outdest_free(struct outdest *);
/* Queue a job for its route; its results come through ops->job_done. */
void	outdest_submit(struct outdest *, const struct route *, struct out_job *);
/* Idle connections say QUIT (at the end of --once or a stop); returns the
 * connections still open. */
size_t	outdest_quit_idle(struct outdest *);
size_t	outdest_connections(const struct outdest *);
/* What the metrics show: SMTP connections open now and begun since the
 * start, and DNS lookups that gave no address (NXDOMAIN, SERVFAIL,
 * timeout, null MX). */
struct outdest_counters {
	uint64_t	open;
	uint64_t	opened;
	uint64_t	dns_failures;
};
void	outdest_counters(const struct outdest *, struct outdest_counters *);
/* A stop begins: queued jobs go back unstarted (job->not_started), and
 * connections not in a transaction end; transactions in hand go on. */
void	outdest_stop(struct outdest *, const char *why);
/* End every connection and job now (shutdown): jobs deferred with why. */
void	outdest_abort(struct outdest *, const char *why);
/* Write buffered protocol-log lines (end of a loop round). */
void	outdest_flush_logs(struct outdest *);

#endif
