/*
 * outdest - destinations, their targets and connections (see outdest.h).
 */
#include "outdest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/queue.h>

#include "dns.h"
#include "evloop.h"
#include "log.h"
#include "outq.h"
#include "config.h"
#include "protolog.h"
#include "route.h"
#include "netconn.h"
#include "smtp_conn.h"
#include "smtp_proto.h"
#include "xalloc.h"

/* How long a connection waits for another job before QUIT. */
#define DEST_IDLE_MS		2000
/* DNS: per try, and tries, before a lookup counts as failed (4.4.3). */
#define DEST_DNS_TIMEOUT_MS	5000
#define DEST_DNS_TRIES		2
/* Targets kept per destination. */
#define DEST_MAX_TARGETS	64

enum dest_state { DEST_NEW, DEST_RESOLVING, DEST_READY, DEST_FAILED };

struct dest_conn {
	LIST_ENTRY(dest_conn) link;
	struct dest	*dest;
	struct smtp_conn *conn;
	bool		 giving_way;	/* closed for a waiting destination */
};

struct dest {
	TAILQ_ENTRY(dest) link;		/* all destinations */
	TAILQ_ENTRY(dest) wait_link;	/* waiting for a connection slot */
	bool		 waiting;
	struct outdest	*od;
	char		*key;
	/* how to reach it, from the route (pointers into the config) */
	int		 kind;		/* enum route_kind */
	char		*domain;	/* ROUTE_MX: the domain */
	const struct imc_relay_host *hosts;
	size_t		 n_hosts;
	size_t		 first_host;	/* smarthost rotation */
	const struct store_target *store;	/* ROUTE_LMTP */
	uint16_t	 port;
	int		 tls_mode;	/* enum smtp_tls_mode */
	const char	*auth_user;
	const char	*auth_pass;
	/* what DNS said */
	enum dest_state	 state;
	size_t		 resolving_host;	/* relay list: the one in hand */
	struct smtp_target *targets;
	size_t		 n_targets;
	struct mail_status failure;	/* DEST_FAILED: why */
	/* work */
	TAILQ_HEAD(, out_job) jobs;
	size_t		 n_jobs;
	LIST_HEAD(, dest_conn) conns;
	size_t		 n_conns;
	size_t		 n_giving_way;	/* of n_conns, closing for others */
	bool		 freeing;
};

struct outdest {
	const struct imc_config *cfg;
	struct evloop	*loop;
	int		 out_dirfd;	/* Out/, where the contents are */
	const struct outdest_ops *ops;
	void		*ops_arg;
	TAILQ_HEAD(, out_job) done;	/* results to hand back */
	bool		 done_deferred;
	struct dns_ctx	*dns;
	uint64_t	 dns_failures;	/* lookups that gave no address */
	uint64_t	 conns_opened;	/* SMTP connections begun */
	struct tls_client *tls;
	struct protolog	*protolog;
	TAILQ_HEAD(, dest) dests;
	TAILQ_HEAD(, dest) waiting;	/* need a slot, in turn */
	size_t		 n_conns;	/* all destinations */
	size_t		 n_giving_way;	/* of n_conns, closing for others */
	size_t		 n_waiting;	/* destinations in waiting */
	size_t		 n_active;	/* destinations with a connection or
					   waiting for one */
	uint64_t	 rebalance_timer;	/* outdest_rebalance is due */
	/* c-ares sockets on the loop */
	struct dns_watch {
		int	 fd;
		struct evloop_io *io;
	}		*watches;
	size_t		 n_watches;
	uint64_t	 dns_timer;
};

static void dest_pump(struct dest *);
static void dest_resolve_next(struct dest *);
static bool dest_active(const struct dest *);

/* ------------------------------------------------------------------ DNS */

static void outdest_dns_timer(struct evloop *, uint64_t, void *);

static void
outdest_dns_arm(struct outdest *od)
{
	int ms;

	if (od->dns_timer != 0)
		evloop_timer_cancel(od->loop, od->dns_timer);
	od->dns_timer = 0;
	if (dns_pending(od->dns) == 0)
		return;
	ms = dns_timeout_ms(od->dns);
	if (ms < 0 || ms > 1000)
		ms = 1000;
	od->dns_timer = evloop_timer_add(od->loop, (uint64_t)ms,
	    outdest_dns_timer, od);
}

static void
outdest_dns_io(struct evloop *loop, int fd, int mask, void *arg)
{
	struct outdest *od = arg;

	dns_process(od->dns, (mask & EVLOOP_READ) ? fd : -1,
	    (mask & EVLOOP_WRITE) ? fd : -1);
	outdest_dns_arm(od);
}

static void
outdest_dns_timer(struct evloop *loop, uint64_t id, void *arg)
{
	struct outdest *od = arg;

	od->dns_timer = 0;
	dns_process(od->dns, -1, -1);
	outdest_dns_arm(od);
}

/* c-ares says which sockets it wants watched */
static void
outdest_dns_sock(void *arg, int fd, int readable, int writable)
{
	struct outdest *od = arg;
	int mask = (readable ? EVLOOP_READ : 0) | (writable ? EVLOOP_WRITE : 0);
	size_t i;

	for (i = 0; i < od->n_watches; i++)
		if (od->watches[i].fd == fd)
			break;
	if (i < od->n_watches) {
		if (mask == 0) {
			evloop_unwatch(od->watches[i].io);
			od->watches[i] = od->watches[--od->n_watches];
		} else
			evloop_modify(od->watches[i].io, mask);
		return;
	}
	if (mask == 0)
		return;
	od->watches = xreallocarray(od->watches, od->n_watches + 1,
	    sizeof(*od->watches));
	od->watches[od->n_watches].fd = fd;
	od->watches[od->n_watches].io = evloop_watch(od->loop, fd, mask,
	    outdest_dns_io, od);
	if (od->watches[od->n_watches].io != NULL)
		od->n_watches++;
}

/* ------------------------------------------------------------ lifecycle */

struct outdest *
outdest_new(const struct imc_config *cfg, struct evloop *loop, int out_dirfd,
    const struct outdest_ops *ops, void *arg, struct buf *err)
{
	struct outdest *od;

	od = xcalloc(1, sizeof(*od));
	od->cfg = cfg;
	od->loop = loop;
	od->out_dirfd = out_dirfd;
	od->ops = ops;
	od->ops_arg = arg;
	TAILQ_INIT(&od->done);
	TAILQ_INIT(&od->dests);
	TAILQ_INIT(&od->waiting);
	if ((od->dns = dns_new(cfg->dns_servers)) == NULL) {
		buf_printf(err, "DNS: cannot set up the resolver%s%s",
		    cfg->dns_servers ? " for dns_servers " : "",
		    cfg->dns_servers ? cfg->dns_servers : "");
		goto fail;
	}
	dns_set_timeout(od->dns, DEST_DNS_TIMEOUT_MS, DEST_DNS_TRIES);
	dns_set_self(od->dns, cfg->hostname);
	dns_set_family_order(od->dns, cfg->prefer_family == IMC_FAMILY_IPV4 ?
	    DNS_PREFER_IPV4 : DNS_PREFER_IPV6);
	dns_set_sock_fn(od->dns, outdest_dns_sock, od);
	if ((od->tls = tls_client_new(cfg->tls_ca_file, err)) == NULL)
		goto fail;
	if (cfg->protocol_log != PROTOLOG_NONE) {
		char logdir[4096];

		snprintf(logdir, sizeof(logdir), "%s/Log", cfg->root);
		if ((od->protolog = protolog_open(logdir, cfg->protocol_log,
		    err)) == NULL)
			goto fail;
	}
	return od;
fail:
	outdest_free(od);
	return NULL;
}

static void
dest_free(struct dest *dst)
{
	struct outdest *od = dst->od;

	TAILQ_REMOVE(&od->dests, dst, link);
	if (dest_active(dst))
		od->n_active--;
	if (dst->waiting) {
		TAILQ_REMOVE(&od->waiting, dst, wait_link);
		od->n_waiting--;
	}
	free(dst->targets);
	free(dst->domain);
	free(dst->key);
	free(dst);
}

void
outdest_free(struct outdest *od)
{
	struct dest *dst;
	size_t i;

	if (od == NULL)
		return;
	/* Connections were ended by outdest_abort; what is left is only
	 * bookkeeping. */
	while ((dst = TAILQ_FIRST(&od->dests)) != NULL)
		dest_free(dst);
	for (i = 0; i < od->n_watches; i++)
		evloop_unwatch(od->watches[i].io);
	free(od->watches);
	if (od->dns_timer != 0)
		evloop_timer_cancel(od->loop, od->dns_timer);
	if (od->rebalance_timer != 0)
		evloop_timer_cancel(od->loop, od->rebalance_timer);
	if (od->dns != NULL)
		dns_free(od->dns);
	tls_client_free(od->tls);
	protolog_free(od->protolog);
	free(od);
}

void
outdest_flush_logs(struct outdest *od)
{
	if (od != NULL && od->protolog != NULL)
		protolog_flush(od->protolog);
}

/* Forget a destination with nothing left to do. */
static void
dest_maybe_free(struct dest *dst)
{
	if (dst->n_jobs == 0 && dst->n_conns == 0 &&
	    dst->state != DEST_RESOLVING)
		dest_free(dst);
}

/* Results go back to the owner from a deferred call, after the round:
 * never from inside outdest_submit or an SMTP or DNS callback. */
static void
outdest_done_deferred(struct evloop *loop, void *arg)
{
	struct outdest *od = arg;
	struct out_job *job;

	od->done_deferred = false;
	while ((job = TAILQ_FIRST(&od->done)) != NULL) {
		TAILQ_REMOVE(&od->done, job, link);
		od->ops->job_done(od->ops_arg, job);
	}
}

static void
outdest_complete(struct outdest *od, struct out_job *job)
{
	TAILQ_INSERT_TAIL(&od->done, job, link);
	if (!od->done_deferred) {
		if (evloop_defer(od->loop, outdest_done_deferred, od) == -1)
			log_fatal(EX_OSERR, "deferring a job result");
		od->done_deferred = true;
	}
}

/* End one job with a status for all its recipients. */
static void
dest_fail_job(struct dest *dst, struct out_job *job,
    const struct mail_status *st)
{
	size_t i;

	for (i = 0; i < job->n; i++)
		job->res[i] = *st;
	outdest_complete(dst->od, job);
}

/* End every queued job of a destination with one status. */
static void
dest_fail_all(struct dest *dst, const struct mail_status *st)
{
	struct out_job *job;

	while ((job = TAILQ_FIRST(&dst->jobs)) != NULL) {
		TAILQ_REMOVE(&dst->jobs, job, link);
		dst->n_jobs--;
		dest_fail_job(dst, job, st);
	}
}

/* --------------------------------------------------------------- targets */

static void
dest_add_target(struct dest *dst, const char *host, const struct dns_addr *a,
    uint16_t port)
{
	struct smtp_target *t;

	if (dst->n_targets >= DEST_MAX_TARGETS)
		return;
	dst->targets = xreallocarray(dst->targets, dst->n_targets + 1,
	    sizeof(*dst->targets));
	t = &dst->targets[dst->n_targets++];
	memset(t, 0, sizeof(*t));
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->addr = *a;
	t->port = port;
}

static void
dest_resolved(struct dest *dst)
{
	if (dst->n_targets == 0 && dst->state != DEST_FAILED) {
		dst->state = DEST_FAILED;
		if (dst->failure.dsn[0] == '\0')
			mail_status_set(&dst->failure, MAIL_TEMP, "4.4.3",
			    "no address to connect to for %s", dst->key);
	} else if (dst->n_targets > 0)
		dst->state = DEST_READY;
	if (dst->state == DEST_FAILED) {
		log_info("%s: %s %s", dst->key, dst->failure.dsn,
		    dst->failure.text);
		dest_fail_all(dst, &dst->failure);
		dest_maybe_free(dst);
		return;
	}
	dest_pump(dst);
}

static void
dest_dns_done(const struct dns_result *r, void *arg)
{
	struct dest *dst = arg;
	uint16_t port = dst->kind != ROUTE_RELAY ? dst->port :
	    dst->hosts[(dst->first_host + dst->resolving_host) %
	    dst->n_hosts].port;
	size_t i, j;

	if (r->status.kind != MAIL_OK)
		dst->od->dns_failures++;
	if (r->status.kind != MAIL_OK && dst->kind == ROUTE_LMTP) {
		/* A store's name that does not resolve is the store being
		 * unreachable: local mail waits, it never bounces for it. */
		mail_status_set(&dst->failure, MAIL_TEMP, "4.4.3", "LMTP store "
		    "%s: %s", dst->store->host, r->status.text);
		dst->state = DEST_FAILED;
	} else if (r->status.kind != MAIL_OK) {
		/* For a relay list, one name that fails is skipped as long
		 * as another gives targets; its status is kept for the case
		 * that none does. */
		dst->failure = r->status;
		if (dst->kind == ROUTE_MX)
			dst->state = DEST_FAILED;
	} else {
		for (i = 0; i < r->nhosts; i++)
			for (j = 0; j < r->hosts[i].naddrs; j++)
				dest_add_target(dst, r->hosts[i].name,
				    &r->hosts[i].addrs[j], port);
	}
	if (dst->kind == ROUTE_RELAY && dst->state != DEST_FAILED &&
	    ++dst->resolving_host < dst->n_hosts) {
		dest_resolve_next(dst);
		return;
	}
	if (dst->state == DEST_RESOLVING)
		dst->state = DEST_NEW;	/* dest_resolved decides */
	dest_resolved(dst);
}

/* An IP literal needs no DNS. */
static int
dest_literal(const char *text, struct dns_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, &a->u.v4) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, text, &a->u.v6) == 1)
		a->family = AF_INET6;
	else
		return -1;
	snprintf(a->text, sizeof(a->text), "%s", text);
	return 0;
}

/* Resolve the relay host in hand; IP literals go straight in. */
static void
dest_resolve_next(struct dest *dst)
{
	struct outdest *od = dst->od;
	const struct imc_relay_host *h;
	struct dns_addr a;
	int rc;

	while (dst->resolving_host < dst->n_hosts) {
		h = &dst->hosts[(dst->first_host + dst->resolving_host) %
		    dst->n_hosts];
		if (dest_literal(h->name, &a) == 0) {
			dest_add_target(dst, h->name, &a, h->port);
			dst->resolving_host++;
			continue;
		}
		rc = h->literal ? dns_resolve_host(od->dns, h->name,
		    dest_dns_done, dst) : dns_resolve_mx(od->dns, h->name,
		    dest_dns_done, dst);
		if (rc == -1) {
			mail_status_set(&dst->failure, MAIL_TEMP, "4.3.0",
			    "DNS lookup of %s: %s", h->name, strerror(errno));
			dst->state = DEST_FAILED;
			break;
		}
		dst->state = DEST_RESOLVING;
		outdest_dns_arm(od);
		return;
	}
	if (dst->state == DEST_RESOLVING)
		dst->state = DEST_NEW;
	dest_resolved(dst);
}

/* An LMTP store: its socket, its address, or the addresses of its name
 * (A/AAAA, never MX). */
static void
dest_resolve_store(struct dest *dst)
{
	const struct store_target *st = dst->store;
	struct dns_addr a;

	if (st->unix_path != NULL) {
		memset(&a, 0, sizeof(a));
		dest_add_target(dst, "localhost", &a, 0);
		dst->targets[dst->n_targets - 1].unix_path = st->unix_path;
		dst->state = DEST_NEW;
		dest_resolved(dst);
		return;
	}
	if (dest_literal(st->host, &a) == 0) {
		dest_add_target(dst, st->host, &a, st->port);
		dst->state = DEST_NEW;
		dest_resolved(dst);
		return;
	}
	if (dns_resolve_host(dst->od->dns, st->host, dest_dns_done, dst) ==
	    -1) {
		mail_status_set(&dst->failure, MAIL_TEMP, "4.3.0", "DNS lookup "
		    "of %s: %s", st->host, strerror(errno));
		dst->state = DEST_FAILED;
		dest_resolved(dst);
		return;
	}
	outdest_dns_arm(dst->od);
}

static void
dest_resolve(struct dest *dst)
{
	dst->state = DEST_RESOLVING;
	dst->resolving_host = 0;
	if (dst->kind == ROUTE_LMTP) {
		dest_resolve_store(dst);
		return;
	}
	if (dst->kind == ROUTE_MX) {
		if (dns_resolve_mx(dst->od->dns, dst->domain, dest_dns_done,
		    dst) == -1) {
			mail_status_set(&dst->failure, MAIL_TEMP, "4.3.0",
			    "DNS lookup of %s: %s", dst->domain,
			    strerror(errno));
			dst->state = DEST_FAILED;
			dest_resolved(dst);
			return;
		}
		outdest_dns_arm(dst->od);
		return;
	}
	dest_resolve_next(dst);
}

/* ----------------------------------------------------------- connections */

/*
 * Fairness. max_connections slots are shared by all destinations. While
 * none waits, a destination opens what its jobs need (up to
 * max_per_destination). Once one waits, each has a fair share: the slots
 * divided by the destinations that hold a connection or wait for one, at
 * least 1. A destination below its share is "needy"; while one is, no
 * other may open a connection beyond its share, a freed slot goes to the
 * waiting list first (in turn), a connection of a destination over its
 * share takes no further job, and outdest_rebalance frees slots for the
 * needy at once: idle connections say QUIT, and connections of a
 * destination over its share that hold no job yet (connecting, in the
 * greeting, EHLO, TLS) are closed; their destination's jobs stay queued.
 * So a few destinations whose peers drip their greetings cannot hold
 * every slot while others wait (issue 13 item 14); and once every
 * destination holds its share, a dripping peer is bounded by the stage
 * deadlines (smtp_conn).
 */

/* dest_active - holds a connection or waits for one */
static bool
dest_active(const struct dest *dst)
{
	return dst->n_conns > 0 || dst->waiting;
}

/* dest_note_active - keep od->n_active right after a change of dst */
static void
dest_note_active(struct dest *dst, bool was_active)
{
	bool now = dest_active(dst);

	if (now && !was_active)
		dst->od->n_active++;
	else if (!now && was_active)
		dst->od->n_active--;
}

static void
dest_set_waiting(struct dest *dst, bool waiting)
{
	struct outdest *od = dst->od;
	bool was = dest_active(dst);

	if (dst->waiting == waiting)
		return;
	if (waiting) {
		TAILQ_INSERT_TAIL(&od->waiting, dst, wait_link);
		od->n_waiting++;
	} else {
		TAILQ_REMOVE(&od->waiting, dst, wait_link);
		od->n_waiting--;
	}
	dst->waiting = waiting;
	dest_note_active(dst, was);
}

/* outdest_share - a destination's fair share of the slots */
static size_t
outdest_share(const struct outdest *od)
{
	size_t share = od->n_active > 0 ?
	    (size_t)od->cfg->max_connections / od->n_active : 0;

	return share > 0 ? share : 1;
}

/* dest_kept - connections not on their way out */
static size_t
dest_kept(const struct dest *dst)
{
	return dst->n_conns - dst->n_giving_way;
}

/* outdest_needy - a waiting destination other than except below its
 * share, or NULL */
static struct dest *
outdest_needy(const struct outdest *od, const struct dest *except)
{
	size_t share = outdest_share(od);
	struct dest *w;

	TAILQ_FOREACH(w, &od->waiting, wait_link)
		if (w != except && dest_kept(w) < share)
			return w;
	return NULL;
}

/* outdest_n_needy - waiting destinations below their share */
static size_t
outdest_n_needy(const struct outdest *od)
{
	size_t share = outdest_share(od), n = 0;
	const struct dest *w;

	TAILQ_FOREACH(w, &od->waiting, wait_link)
		if (dest_kept(w) < share)
			n++;
	return n;
}

/* dest_may_open - a free slot, and not one a needy destination should get */
static bool
dest_may_open(const struct dest *dst)
{
	const struct outdest *od = dst->od;

	if (od->n_conns >= od->cfg->max_connections)
		return false;
	return dest_kept(dst) < outdest_share(od) ||
	    outdest_needy(od, dst) == NULL;
}

static void outdest_rebalance(struct evloop *, uint64_t, void *);

/* outdest_rebalance_soon - run outdest_rebalance at the next round, out
 * of any connection's callback */
static void
outdest_rebalance_soon(struct outdest *od)
{
	if (od->rebalance_timer == 0)
		od->rebalance_timer = evloop_timer_add(od->loop, 0,
		    outdest_rebalance, od);
	/* Without memory for the timer, slots come free by themselves,
	 * later: the stage deadlines bound every connection. */
}

static struct out_job *
dest_next_job(void *arg, struct smtp_conn *conn)
{
	struct dest_conn *dc = arg;
	struct dest *dst = dc->dest;
	struct outdest *od = dst->od;
	struct out_job *job;

	if (dc->giving_way || (job = TAILQ_FIRST(&dst->jobs)) == NULL)
		return NULL;
	/* Over its share while another waits below it: this connection
	 * ends (idle, then QUIT) and the slot goes to the other. */
	if (dest_kept(dst) > outdest_share(od) &&
	    outdest_needy(od, dst) != NULL) {
		outdest_rebalance_soon(od);
		return NULL;
	}
	TAILQ_REMOVE(&dst->jobs, job, link);
	dst->n_jobs--;
	return job;
}

static void
dest_job_done(void *arg, struct smtp_conn *conn, struct out_job *job)
{
	struct dest_conn *dc = arg;

	outdest_complete(dc->dest->od, job);
}

/* Give freed slots to waiting destinations, each once, in turn (one that
 * still lacks a slot goes to the end of the list). */
static void
outdest_serve_waiting(struct outdest *od)
{
	struct dest *dst;
	size_t n, turns = od->n_waiting;

	for (n = 0; n < turns && (dst = TAILQ_FIRST(&od->waiting)) != NULL;
	    n++) {
		if (od->n_conns >= od->cfg->max_connections)
			break;
		dest_set_waiting(dst, false);
		dest_pump(dst);
	}
}

/* outdest_victim - a connection to close for a needy destination: an
 * idle one, else one without a job of the destination most over its
 * share; NULL when there is none */
static struct dest_conn *
outdest_victim(struct outdest *od, const struct dest *needy)
{
	size_t share = outdest_share(od), most = share;
	struct dest_conn *dc, *pick = NULL;
	struct dest *dst;

	TAILQ_FOREACH(dst, &od->dests, link) {
		if (dst == needy)
			continue;
		LIST_FOREACH(dc, &dst->conns, link) {
			if (dc->giving_way)
				continue;
			if (smtp_conn_idle(dc->conn))
				return dc;
			if (dest_kept(dst) > most &&
			    !smtp_conn_busy(dc->conn)) {
				most = dest_kept(dst);
				pick = dc;
			}
		}
	}
	return pick;
}

/* outdest_rebalance - free slots for needy destinations (see above) */
static void
outdest_rebalance(struct evloop *loop, uint64_t id, void *arg)
{
	struct outdest *od = arg;
	const struct imc_config *cfg = od->cfg;
	struct dest_conn *dc;
	struct dest *needy;
	size_t guard, coming;

	od->rebalance_timer = 0;
	/* Each round closes one connection or stops; the scan starts
	 * afresh, as closing runs callbacks that change the lists. */
	for (guard = 0; guard < cfg->max_connections; guard++) {
		outdest_serve_waiting(od);
		if ((needy = outdest_needy(od, NULL)) == NULL)
			return;
		/* slots free now or once the connections giving way end */
		coming = od->n_conns - od->n_giving_way < cfg->max_connections ?
		    cfg->max_connections - (od->n_conns - od->n_giving_way) : 0;
		if (outdest_n_needy(od) <= coming)
			return;
		if ((dc = outdest_victim(od, needy)) == NULL)
			return;
		log_info("%s: a connection makes way for %s, waiting for a "
		    "slot", dc->dest->key, needy->key);
		dc->giving_way = true;
		dc->dest->n_giving_way++;
		od->n_giving_way++;
		if (smtp_conn_idle(dc->conn))
			smtp_conn_quit_idle(dc->conn);	/* closed() follows */
		else
			smtp_conn_abort(dc->conn, "making way for a "
			    "destination waiting for a slot");
	}
}

static void
dest_conn_closed(void *arg, struct smtp_conn *conn, bool reached,
    const struct mail_status *why)
{
	struct dest_conn *dc = arg;
	struct dest *dst = dc->dest;
	struct outdest *od = dst->od;
	bool was = dest_active(dst);

	LIST_REMOVE(dc, link);
	dst->n_conns--;
	od->n_conns--;
	if (dc->giving_way) {
		dst->n_giving_way--;
		od->n_giving_way--;
	}
	dest_note_active(dst, was);
	if (!reached && why != NULL && !dc->giving_way) {
		/* No target answered: the jobs queued here would meet the
		 * same; they are deferred now rather than each trying every
		 * host again. A connection closed to make way tells nothing
		 * of the destination. */
		dest_fail_all(dst, why);
	}
	free(dc);
	/* The slot goes to those waiting first, then to this one. */
	if (!dst->freeing) {
		outdest_serve_waiting(od);
		dest_pump(dst);
		dest_maybe_free(dst);
	}
}

static const struct smtp_conn_ops dest_conn_ops = {
	dest_next_job, dest_job_done, dest_conn_closed
};

static void
dest_open_conn(struct dest *dst)
{
	struct outdest *od = dst->od;
	const struct imc_config *cfg = od->cfg;
	struct smtp_conn_params p;
	struct dest_conn *dc;
	bool was = dest_active(dst);

	dc = xcalloc(1, sizeof(*dc));
	memset(&p, 0, sizeof(p));
	p.helo_name = cfg->hostname;
	p.lmtp = dst->kind == ROUTE_LMTP;
	p.tls_mode = dst->tls_mode;
	p.tls = od->tls;
	p.auth_user = dst->auth_user;
	p.auth_pass = dst->auth_pass;
	p.out_dirfd = od->out_dirfd;
	p.cfg = cfg;
	p.protolog = od->protolog;
	p.max_messages = (unsigned)cfg->max_messages_per_connection;
	p.idle_ms = DEST_IDLE_MS;
	p.targets = dst->targets;
	p.n_targets = dst->n_targets;
	dc->dest = dst;
	LIST_INSERT_HEAD(&dst->conns, dc, link);
	dst->n_conns++;
	od->n_conns++;
	if ((dc->conn = smtp_conn_new(od->loop, &p, &dest_conn_ops, dc)) ==
	    NULL) {
		LIST_REMOVE(dc, link);
		dst->n_conns--;
		od->n_conns--;
		free(dc);
		log_warn("%s: cannot open a connection", dst->key);
	} else
		od->conns_opened++;
	dest_note_active(dst, was);
}

/* Move jobs along: resolve, wake idle connections, open new ones. */
static void
dest_pump(struct dest *dst)
{
	const struct imc_config *cfg = dst->od->cfg;
	struct dest_conn *dc;
	size_t idle = 0;

	if (dst->n_jobs == 0)
		return;
	switch (dst->state) {
	case DEST_NEW:
		dest_resolve(dst);
		return;
	case DEST_RESOLVING:
		return;
	case DEST_FAILED:
		dest_fail_all(dst, &dst->failure);
		return;
	case DEST_READY:
		break;
	}
	LIST_FOREACH(dc, &dst->conns, link)
		if (smtp_conn_idle(dc->conn) && !dc->giving_way) {
			idle++;
			smtp_conn_wake(dc->conn);
			if (dst->n_jobs == 0)
				return;
		}
	/* One new connection per queued job beyond what is open, within
	 * the limits; connections not yet ready will take jobs too. */
	while (dst->n_jobs > dest_kept(dst) - idle &&
	    dst->n_conns < cfg->max_per_destination) {
		if (!dest_may_open(dst)) {
			dest_set_waiting(dst, true);
			/* Others may hold more than their share now. */
			if (outdest_needy(dst->od, NULL) != NULL)
				outdest_rebalance_soon(dst->od);
			return;
		}
		dest_open_conn(dst);
		if (dst->n_conns == 0)
			break;	/* could not open one */
	}
	if (dst->n_conns == 0 && dst->n_jobs > 0) {
		struct mail_status st;

		mail_status_set(&st, MAIL_TEMP, "4.3.0", "cannot open a "
		    "connection: %s", strerror(errno));
		dest_fail_all(dst, &st);
	}
}

/* outdest_submit - queue a job at its destination */
void
outdest_submit(struct outdest *od, const struct route *r, struct out_job *job)
{
	struct dest *dst;

	TAILQ_FOREACH(dst, &od->dests, link)
		if (strcmp(dst->key, r->key) == 0)
			break;
	if (dst == NULL) {
		dst = xcalloc(1, sizeof(*dst));
		dst->key = xstrdup(r->key);
		if (r->kind == ROUTE_MX)
			dst->domain = xstrdup(r->domain);
		dst->od = od;
		dst->kind = r->kind;
		dst->hosts = r->hosts;
		dst->n_hosts = r->n_hosts;
		dst->first_host = r->first_host;
		dst->port = r->kind == ROUTE_LMTP ? r->store->port : r->port;
		dst->store = r->store;
		dst->tls_mode = (int)r->tls;
		dst->auth_user = r->auth_user;
		dst->auth_pass = r->auth_pass;
		TAILQ_INIT(&dst->jobs);
		LIST_INIT(&dst->conns);
		TAILQ_INSERT_TAIL(&od->dests, dst, link);
	}
	/* An LMTP store is named as configured until a session gives its
	 * address ("lmtp:HOST[ADDR]:PORT"): one that cannot be reached is
	 * named in the tracking log too. */
	if (r->kind == ROUTE_LMTP) {
		struct buf name;

		buf_init(&name);
		config_store_put(&name, r->store);
		snprintf(job->relay, sizeof(job->relay), "%s", buf_cstr(&name));
		buf_fini(&name);
	}
	TAILQ_INSERT_TAIL(&dst->jobs, job, link);
	dst->n_jobs++;
	dest_pump(dst);
}

/* outdest_quit_idle - polite end: idle connections send QUIT now */
size_t
outdest_quit_idle(struct outdest *od)
{
	struct dest *dst;
	struct dest_conn *dc;

	TAILQ_FOREACH(dst, &od->dests, link)
		LIST_FOREACH(dc, &dst->conns, link)
			smtp_conn_quit_idle(dc->conn);
	return od->n_conns;
}

size_t
outdest_connections(const struct outdest *od)
{
	return od->n_conns;
}

/* outdest_counters - for the metrics: since the start */
void
outdest_counters(const struct outdest *od, struct outdest_counters *c)
{
	c->open = od->n_conns;
	c->opened = od->conns_opened;
	c->dns_failures = od->dns_failures;
}

/* outdest_stop - the first SIGTERM: jobs still queued are given back
 * unstarted, connections not in a transaction end (idle ones with QUIT);
 * transactions in hand go on, within the daemon's grace period */
void
outdest_stop(struct outdest *od, const char *why)
{
	struct dest *dst;
	struct dest_conn *dc;
	struct out_job *job;
	struct mail_status st;
	struct smtp_conn **v = NULL;
	size_t n = 0, i;

	mail_status_set(&st, MAIL_TEMP, "4.3.2", "%s", why);
	TAILQ_FOREACH(dst, &od->dests, link)
		while ((job = TAILQ_FIRST(&dst->jobs)) != NULL) {
			TAILQ_REMOVE(&dst->jobs, job, link);
			dst->n_jobs--;
			job->not_started = true;
			dest_fail_job(dst, job, &st);
		}
	/* The connections to end, first: ending one may free others'
	 * bookkeeping (dest_conn), never another connection. */
	if (od->n_conns > 0)
		v = xcalloc(od->n_conns, sizeof(*v));
	TAILQ_FOREACH(dst, &od->dests, link)
		LIST_FOREACH(dc, &dst->conns, link)
			if (n < od->n_conns && !smtp_conn_busy(dc->conn))
				v[n++] = dc->conn;
	for (i = 0; i < n; i++) {
		if (smtp_conn_idle(v[i]))
			smtp_conn_quit_idle(v[i]);
		else
			smtp_conn_abort(v[i], why);
	}
	free(v);
}

/* outdest_abort - shutdown: every connection ends, every job is deferred */
void
outdest_abort(struct outdest *od, const char *why)
{
	struct dest *dst, *next;
	struct dest_conn *dc;
	struct mail_status st;

	mail_status_set(&st, MAIL_TEMP, "4.3.2", "%s", why);
	for (dst = TAILQ_FIRST(&od->dests); dst != NULL; dst = next) {
		next = TAILQ_NEXT(dst, link);
		dst->freeing = true;
		dest_fail_all(dst, &st);
		while ((dc = LIST_FIRST(&dst->conns)) != NULL)
			smtp_conn_abort(dc->conn, why);	/* closed() frees dc */
		dest_free(dst);
	}
}
