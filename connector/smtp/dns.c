/*
 * dns - asynchronous MX resolution on c-ares 1.18 (see dns.h).
 *
 * A lookup is a struct dns_query: one ares_query() for the MX records,
 * then one ares_getaddrinfo() (A and AAAA) per MX host kept. The query
 * counts the c-ares lookups it has in flight; when the count drops to zero
 * its outcome is set and it moves from the pending list to the done list.
 * The done list is delivered (callbacks called, queries freed) only at the
 * end of dns_process() and dns_wait(), never from inside dns_resolve_mx()
 * or a c-ares callback, so callers see one simple rule.
 *
 * c-ares reports the sockets it wants through ARES_OPT_SOCK_STATE_CB; the
 * ctx keeps them in a pollfd table (for dns_fds() and dns_wait()) and
 * passes each change on to the caller's dns_sock_fn.
 *
 * Diagnostics: none logged here; every outcome is in the result's
 * struct mail_status. Out of memory while c-ares reports a new socket
 * aborts: c-ares's callback has no way to report it back.
 */
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netdb.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>

#include "log.h"
#include "monoclock.h"
#include "xalloc.h"

struct dns_query;

struct qhost {
	struct dns_query *q;
	char	 name[DNS_NAME_MAX + 1];
	unsigned pref;
	int	 status;		/* ares status of the address lookup */
	size_t	 naddrs;
	struct dns_addr addrs[DNS_MAX_ADDRS];
};

struct dns_query {
	TAILQ_ENTRY(dns_query) link;
	struct dns_ctx *ctx;
	dns_result_fn *cb;
	void	*arg;
	char	 domain[DNS_NAME_MAX + 1];
	int	 implicit_mx;
	int	 host_only;		/* dns_resolve_host: no MX step */
	unsigned outstanding;		/* c-ares lookups in flight (+1 hold) */
	struct qhost *hosts;
	size_t	 nhosts;
	struct dns_host *rhosts;	/* built when done */
	size_t	 nrhosts;
	struct mail_status status;
};

TAILQ_HEAD(dns_query_list, dns_query);

struct dns_ctx {
	ares_channel ch;
	char	*servers;		/* NULL: the system resolver */
	int	 timeout_ms;		/* 0: c-ares / resolv.conf default */
	int	 tries;
	char	 self[DNS_NAME_MAX + 1];	/* "" when not set */
	enum dns_family_order order;
	dns_sock_fn *sock_fn;
	void	*sock_arg;
	struct pollfd *fds;		/* sockets c-ares wants */
	size_t	 nfds;
	size_t	 capfds;
	struct pollfd *scratch;		/* dns_wait()'s copy of fds */
	size_t	 capscratch;
	struct dns_query_list pending;
	struct dns_query_list done;
	size_t	 nqueries;		/* pending + done */
	int	 destroying;
};

/* name_copy - lower-case copy without the trailing dot; -1 if too long */
static int
name_copy(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src), i;

	if (len > 0 && src[len - 1] == '.')
		len--;
	if (len >= size)
		return -1;
	for (i = 0; i < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[len] = '\0';
	return 0;
}

/* dns_valid_hostname - 1 if name is a host name we accept (optional final dot) */
int
dns_valid_hostname(const char *name)
{
	size_t len, label = 0, i;
	int alldigits = 1;

	if (name == NULL)
		return 0;
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0 || name[i - 1] == '-')
				return 0;
			label = 0;
			alldigits = 1;
			continue;
		}
		if (!isascii(c) || !(isalnum(c) || c == '-' || c == '_'))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (!isdigit(c))
			alldigits = 0;
		if (++label > 63)
			return 0;
	}
	/* A last label of digits only is an address, not a name. */
	return name[len - 1] != '-' && !alldigits;
}

/* sock_state - c-ares socket-state callback: keep the table, tell the caller */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_ctx *ctx = data;
	size_t i;

	for (i = 0; i < ctx->nfds; i++)
		if (ctx->fds[i].fd == fd)
			break;
	if (!readable && !writable) {
		if (i < ctx->nfds)
			ctx->fds[i] = ctx->fds[--ctx->nfds];
	} else {
		if (i == ctx->nfds) {
			if (ctx->nfds == ctx->capfds) {
				size_t cap = ctx->capfds ? 2 * ctx->capfds : 8;

				ctx->fds = xreallocarray(ctx->fds, cap,
				    sizeof(*ctx->fds));
				ctx->capfds = cap;
			}
			ctx->nfds++;
			ctx->fds[i].fd = fd;
			ctx->fds[i].revents = 0;
		}
		ctx->fds[i].events = (short)((readable ? POLLIN : 0) |
		    (writable ? POLLOUT : 0));
	}
	if (ctx->sock_fn != NULL)
		ctx->sock_fn(ctx->sock_arg, fd, readable, writable);
}

/* channel_open - a c-ares channel with the ctx's settings */
static int
channel_open(struct dns_ctx *ctx, ares_channel *chp)
{
	struct ares_options o;
	char lookups[] = "b";	/* DNS only: no /etc/hosts for mail routing */
	int mask, rc;

	memset(&o, 0, sizeof(o));
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = ctx;
	o.lookups = lookups;
	o.domains = NULL;	/* no search list: names are fully qualified */
	o.ndomains = 0;
	o.flags = ARES_FLAG_NOSEARCH;
	mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS |
	    ARES_OPT_FLAGS;
	if (ctx->timeout_ms > 0) {
		o.timeout = ctx->timeout_ms;
		mask |= ARES_OPT_TIMEOUTMS;
	}
	if (ctx->tries > 0) {
		o.tries = ctx->tries;
		mask |= ARES_OPT_TRIES;
	}
	rc = ares_init_options(chp, &o, mask);
	if (rc == ARES_ENOMEM)
		log_nomem(EX_OSERR, "ares_init_options", 0, 0);
	if (rc != ARES_SUCCESS) {
		errno = EIO;
		return -1;
	}
	if (ctx->servers != NULL) {
		rc = ares_set_servers_ports_csv(*chp, ctx->servers);
		if (rc == ARES_ENOMEM)
			log_nomem(EX_OSERR, "ares_set_servers_ports_csv", 0, 0);
		if (rc != ARES_SUCCESS) {
			ares_destroy(*chp);
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}

/* dns_new - a resolver on the given servers ("ip[:port],...") or the system's */
struct dns_ctx *
dns_new(const char *servers)
{
	struct dns_ctx *ctx;
	int rc, saved;

	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc == ARES_ENOMEM)
		log_nomem(EX_OSERR, "ares_library_init", 0, 0);
	if (rc != ARES_SUCCESS) {
		errno = EIO;
		return NULL;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	TAILQ_INIT(&ctx->pending);
	TAILQ_INIT(&ctx->done);
	ctx->order = DNS_PREFER_IPV6;
	if (servers != NULL)
		ctx->servers = xstrdup(servers);
	if (channel_open(ctx, &ctx->ch) == -1)
		goto fail;
	return ctx;

fail:
	saved = errno;
	if (ctx != NULL) {
		free(ctx->servers);
		free(ctx);
	}
	ares_library_cleanup();
	errno = saved;
	return NULL;
}

/* query_free - release a query that c-ares no longer refers to */
static void
query_free(struct dns_query *q)
{
	free(q->hosts);
	free(q->rhosts);
	free(q);
}

/* dns_free - stop every lookup (no callbacks) and release the resolver */
void
dns_free(struct dns_ctx *ctx)
{
	struct dns_query *q;

	if (ctx == NULL)
		return;
	ctx->destroying = 1;
	ctx->sock_fn = NULL;
	ares_destroy(ctx->ch);	/* internal callbacks see ARES_EDESTRUCTION */
	while ((q = TAILQ_FIRST(&ctx->pending)) != NULL) {
		TAILQ_REMOVE(&ctx->pending, q, link);
		query_free(q);
	}
	while ((q = TAILQ_FIRST(&ctx->done)) != NULL) {
		TAILQ_REMOVE(&ctx->done, q, link);
		query_free(q);
	}
	free(ctx->fds);
	free(ctx->scratch);
	free(ctx->servers);
	free(ctx);
	ares_library_cleanup();
}

/* dns_set_timeout - per-try timeout and tries; only while nothing is pending */
int
dns_set_timeout(struct dns_ctx *ctx, int timeout_ms, int tries)
{
	ares_channel ch;
	int old_ms = ctx->timeout_ms, old_tries = ctx->tries;

	if (timeout_ms <= 0 || tries <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (ctx->nqueries > 0) {
		errno = EBUSY;
		return -1;
	}
	/* c-ares 1.18 cannot change these on a live channel: make a new one. */
	ctx->timeout_ms = timeout_ms;
	ctx->tries = tries;
	if (channel_open(ctx, &ch) == -1) {
		ctx->timeout_ms = old_ms;
		ctx->tries = old_tries;
		return -1;
	}
	ares_destroy(ctx->ch);
	ctx->ch = ch;
	return 0;
}

/* dns_set_self - this host's name, for the mail loop check; NULL: none */
int
dns_set_self(struct dns_ctx *ctx, const char *self_hostname)
{
	if (self_hostname == NULL) {
		ctx->self[0] = '\0';
		return 0;
	}
	if (!dns_valid_hostname(self_hostname) ||
	    name_copy(ctx->self, sizeof(ctx->self), self_hostname) == -1) {
		ctx->self[0] = '\0';
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* dns_set_family_order - IPv6 or IPv4 addresses first within each host */
void
dns_set_family_order(struct dns_ctx *ctx, enum dns_family_order order)
{
	ctx->order = order;
}

/* dns_set_sock_fn - the caller's socket hook; told about current sockets now */
void
dns_set_sock_fn(struct dns_ctx *ctx, dns_sock_fn *fn, void *arg)
{
	size_t i;

	ctx->sock_fn = fn;
	ctx->sock_arg = arg;
	if (fn == NULL)
		return;
	for (i = 0; i < ctx->nfds; i++)
		fn(arg, ctx->fds[i].fd, (ctx->fds[i].events & POLLIN) != 0,
		    (ctx->fds[i].events & POLLOUT) != 0);
}

/* is_self - whether a (normalised) host name is this host */
static int
is_self(const struct dns_ctx *ctx, const char *name)
{
	return ctx->self[0] != '\0' && strcasecmp(ctx->self, name) == 0;
}

/* query_finish - the outcome is known: move the query to the done list */
static void
query_finish(struct dns_query *q)
{
	TAILQ_REMOVE(&q->ctx->pending, q, link);
	TAILQ_INSERT_TAIL(&q->ctx->done, q, link);
}

/* order_addrs - put the preferred family first, keeping DNS order within */
static void
order_addrs(struct qhost *h, enum dns_family_order order)
{
	struct dns_addr tmp[DNS_MAX_ADDRS];
	int first = order == DNS_PREFER_IPV4 ? AF_INET : AF_INET6;
	size_t i, n = 0;

	for (i = 0; i < h->naddrs; i++)
		if (h->addrs[i].family == first)
			tmp[n++] = h->addrs[i];
	for (i = 0; i < h->naddrs; i++)
		if (h->addrs[i].family != first)
			tmp[n++] = h->addrs[i];
	memcpy(h->addrs, tmp, n * sizeof(tmp[0]));
}

/* hosts_done - every address lookup has ended: build the result */
static void
hosts_done(struct dns_query *q)
{
	const char *lasterr = NULL;
	size_t i, n = 0;

	for (i = 0; i < q->nhosts; i++) {
		if (q->hosts[i].naddrs > 0)
			n++;
		else if (q->hosts[i].status != ARES_SUCCESS &&
		    q->hosts[i].status != ARES_ENOTFOUND &&
		    q->hosts[i].status != ARES_ENODATA)
			lasterr = ares_strerror(q->hosts[i].status);
	}
	if (n == 0) {
		if (q->host_only)
			mail_status_set(&q->status, MAIL_TEMP, "4.4.3",
			    "host %s has no address%s%s", q->domain,
			    lasterr ? ": " : "", lasterr ? lasterr : "");
		else if (q->implicit_mx)
			mail_status_set(&q->status, MAIL_TEMP, "4.4.3",
			    "domain %s has no MX and no address%s%s",
			    q->domain, lasterr ? ": " : "",
			    lasterr ? lasterr : "");
		else
			mail_status_set(&q->status, MAIL_TEMP, "4.4.3",
			    "no MX host of %s has an address%s%s", q->domain,
			    lasterr ? ": " : "", lasterr ? lasterr : "");
		query_finish(q);
		return;
	}
	q->rhosts = xcalloc(n, sizeof(*q->rhosts));
	for (i = 0; i < q->nhosts; i++) {
		struct qhost *h = &q->hosts[i];
		struct dns_host *r;

		if (h->naddrs == 0)
			continue;
		order_addrs(h, q->ctx->order);
		r = &q->rhosts[q->nrhosts++];
		r->name = h->name;
		r->pref = h->pref;
		r->naddrs = h->naddrs;
		r->addrs = h->addrs;
	}
	mail_status_set(&q->status, MAIL_OK, "2.0.0", "%zu %s for %s",
	    q->nrhosts, q->implicit_mx ? "implicit MX host" : "MX hosts",
	    q->domain);
	query_finish(q);
}

/* add_addr - keep one address of a host (bounded, no duplicates) */
static void
add_addr(struct qhost *h, const struct sockaddr *sa)
{
	struct dns_addr a;
	size_t i;

	if (h->naddrs >= DNS_MAX_ADDRS)
		return;
	memset(&a, 0, sizeof(a));
	if (sa->sa_family == AF_INET) {
		a.family = AF_INET;
		a.u.v4 = ((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a.family = AF_INET6;
		a.u.v6 =
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	} else
		return;
	for (i = 0; i < h->naddrs; i++)
		if (h->addrs[i].family == a.family &&
		    memcmp(&h->addrs[i].u, &a.u, sizeof(a.u)) == 0)
			return;
	if (inet_ntop(a.family, &a.u, a.text, sizeof(a.text)) == NULL)
		return;
	h->addrs[h->naddrs++] = a;
}

/* addr_cb - c-ares getaddrinfo callback for one MX host */
static void
addr_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct qhost *h = arg;
	struct dns_query *q = h->q;
	struct ares_addrinfo_node *n;

	q->outstanding--;
	if (q->ctx->destroying || status == ARES_EDESTRUCTION) {
		if (res != NULL)
			ares_freeaddrinfo(res);
		return;
	}
	if (status == ARES_ENOMEM)
		log_nomem(EX_OSERR, "ares_getaddrinfo", 0, 0);
	h->status = status;
	if (status == ARES_SUCCESS && res != NULL)
		for (n = res->nodes; n != NULL; n = n->ai_next)
			if (n->ai_addr != NULL)
				add_addr(h, n->ai_addr);
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (q->outstanding == 0)
		hosts_done(q);
}

/* lookup_hosts - start the A/AAAA lookups of every host kept */
static void
lookup_hosts(struct dns_query *q)
{
	struct ares_addrinfo_hints hints;
	size_t i;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = ARES_AI_NOSORT;
	q->outstanding++;	/* hold: callbacks may run synchronously */
	for (i = 0; i < q->nhosts; i++) {
		q->hosts[i].q = q;
		q->outstanding++;
		ares_getaddrinfo(q->ctx->ch, q->hosts[i].name, NULL, &hints,
		    addr_cb, &q->hosts[i]);
	}
	if (--q->outstanding == 0)
		hosts_done(q);
}

struct mxent {
	const char *host;
	unsigned pref;
	uint32_t key;
};

/* mxent_cmp - by preference, then by the random key */
static int
mxent_cmp(const void *a, const void *b)
{
	const struct mxent *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return 0;
}

/* fill_random - random bytes from getrandom(2); -1 if it cannot */
static int
fill_random(void *p, size_t len)
{
	unsigned char *c = p;
	ssize_t n;

	while (len > 0) {
		n = getrandom(c, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* lookup_domain_as_host - the query's name is the one host: its A and
 * AAAA records (no MX, a host name given, a PTR name) */
static void
lookup_domain_as_host(struct dns_query *q)
{
	q->hosts = xcalloc(1, sizeof(*q->hosts));
	memcpy(q->hosts[0].name, q->domain, sizeof(q->hosts[0].name));
	q->nhosts = 1;
	lookup_hosts(q);
}

/* implicit_mx - no MX record: the domain itself, preference 0 */
static void
implicit_mx(struct dns_query *q)
{
	q->implicit_mx = 1;
	if (is_self(q->ctx, q->domain)) {
		mail_status_set(&q->status, MAIL_TEMP, "4.4.6",
		    "mail for %s loops back to myself", q->domain);
		query_finish(q);
		return;
	}
	lookup_domain_as_host(q);
}

/* take_mx - sort, check and bound the MX records, then look up addresses */
static void
take_mx(struct dns_query *q, const struct ares_mx_reply *mx)
{
	const struct ares_mx_reply *m;
	struct mxent *e;
	size_t n = 0, i, j, kept = 0;
	unsigned self_pref = 0;
	int self_seen = 0;

	for (m = mx; m != NULL; m = m->next)
		n++;
	if (n == 0) {
		implicit_mx(q);
		return;
	}
	if (n == 1 && mx->priority == 0 &&
	    (mx->host[0] == '\0' || strcmp(mx->host, ".") == 0)) {
		mail_status_set(&q->status, MAIL_PERM, "5.1.10",
		    "domain %s does not accept mail (null MX)", q->domain);
		query_finish(q);
		return;
	}
	e = xcalloc(n, sizeof(*e));
	q->hosts = xcalloc(n < DNS_MAX_HOSTS ? n : DNS_MAX_HOSTS,
	    sizeof(*q->hosts));
	for (i = 0, m = mx; m != NULL; m = m->next, i++) {
		e[i].host = m->host;
		e[i].pref = m->priority;
	}
	/* Random keys shuffle equal preferences; without them, DNS order. */
	for (i = 0; i < n; i++)
		e[i].key = (uint32_t)i;
	{
		uint32_t *keys = xcalloc(n, sizeof(*keys));

		if (fill_random(keys, n * sizeof(*keys)) == 0)
			for (i = 0; i < n; i++)
				e[i].key = keys[i];
		free(keys);
	}
	qsort(e, n, sizeof(*e), mxent_cmp);

	/* RFC 5321 5.1: self and everything not more preferred is dropped. */
	for (i = 0; i < n; i++) {
		char name[DNS_NAME_MAX + 1];

		if (!dns_valid_hostname(e[i].host) ||
		    name_copy(name, sizeof(name), e[i].host) == -1)
			continue;
		if (is_self(q->ctx, name)) {
			self_seen = 1;
			self_pref = e[i].pref;
			break;
		}
	}
	for (i = 0; i < n && kept < DNS_MAX_HOSTS; i++) {
		struct qhost *h = &q->hosts[kept];

		if (self_seen && e[i].pref >= self_pref)
			break;
		if (!dns_valid_hostname(e[i].host) ||
		    name_copy(h->name, sizeof(h->name), e[i].host) == -1)
			continue;
		for (j = 0; j < kept; j++)
			if (strcmp(q->hosts[j].name, h->name) == 0)
				break;
		if (j < kept)
			continue;	/* listed twice: keep the best */
		h->pref = e[i].pref;
		kept++;
	}
	free(e);
	q->nhosts = kept;
	if (kept == 0) {
		if (self_seen)
			mail_status_set(&q->status, MAIL_TEMP, "4.4.6",
			    "mail for %s loops back to myself", q->domain);
		else
			mail_status_set(&q->status, MAIL_TEMP, "4.4.3",
			    "no valid MX host name for %s", q->domain);
		query_finish(q);
		return;
	}
	lookup_hosts(q);
}

/* mx_cb - c-ares callback for the MX query */
static void
mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct ares_mx_reply *mx = NULL;
	int rc;

	q->outstanding--;
	if (q->ctx->destroying || status == ARES_EDESTRUCTION)
		return;
	switch (status) {
	case ARES_SUCCESS:
		rc = ares_parse_mx_reply(abuf, alen, &mx);
		if (rc == ARES_ENOMEM)
			log_nomem(EX_OSERR, "ares_parse_mx_reply", 0, 0);
		if (rc == ARES_ENODATA)
			implicit_mx(q);
		else if (rc != ARES_SUCCESS)
			mail_status_set(&q->status, MAIL_TEMP, "4.4.3",
			    "bad MX reply for %s: %s", q->domain,
			    ares_strerror(rc));
		else
			take_mx(q, mx);
		if (mx != NULL)
			ares_free_data(mx);
		if (rc != ARES_SUCCESS && rc != ARES_ENODATA)
			query_finish(q);
		return;
	case ARES_ENODATA:
		implicit_mx(q);
		return;
	case ARES_ENOTFOUND:
		mail_status_set(&q->status, MAIL_PERM, "5.1.2",
		    "domain %s not found (NXDOMAIN)", q->domain);
		break;
	case ARES_ENOMEM:
		log_nomem(EX_OSERR, "ares_query", 0, 0);
	default:
		mail_status_set(&q->status, MAIL_TEMP, "4.4.3",
		    "MX lookup for %s failed: %s", q->domain,
		    ares_strerror(status));
		break;
	}
	query_finish(q);
}

/* query_new - a pending query (its callback runs once, from dns_process) */
static struct dns_query *
query_new(struct dns_ctx *ctx, const char *name, dns_result_fn *cb, void *arg)
{
	struct dns_query *q;

	if (ctx == NULL || name == NULL || cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	q = xcalloc(1, sizeof(*q));
	q->ctx = ctx;
	q->cb = cb;
	q->arg = arg;
	ctx->nqueries++;
	TAILQ_INSERT_TAIL(&ctx->pending, q, link);
	return q;
}

/* dns_resolve_mx - start the lookup; cb is called once, later; -1 on error */
int
dns_resolve_mx(struct dns_ctx *ctx, const char *domain, dns_result_fn *cb,
    void *arg)
{
	struct dns_query *q;

	if ((q = query_new(ctx, domain, cb, arg)) == NULL)
		return -1;
	if (!dns_valid_hostname(domain) ||
	    name_copy(q->domain, sizeof(q->domain), domain) == -1) {
		snprintf(q->domain, sizeof(q->domain), "%s", domain);
		mail_status_set(&q->status, MAIL_PERM, "5.1.2",
		    "invalid domain name");
		query_finish(q);
		return 0;
	}
	q->outstanding = 1;
	ares_query(ctx->ch, q->domain, ns_c_in, ns_t_mx, mx_cb, q);
	return 0;
}

/* dns_resolve_host - A and AAAA of one host, no MX lookup (a relay given
 * as [name]); the result has that one host, or TEMP 4.4.3 without an
 * address: a relay that cannot be found is a local problem, not the
 * recipient's, so it never bounces mail by itself. */
int
dns_resolve_host(struct dns_ctx *ctx, const char *name, dns_result_fn *cb,
    void *arg)
{
	struct dns_query *q;

	if ((q = query_new(ctx, name, cb, arg)) == NULL)
		return -1;
	q->implicit_mx = 1;
	if (!dns_valid_hostname(name) ||
	    name_copy(q->domain, sizeof(q->domain), name) == -1) {
		snprintf(q->domain, sizeof(q->domain), "%s", name);
		mail_status_set(&q->status, MAIL_TEMP, "4.4.3",
		    "invalid host name");
		query_finish(q);
		return 0;
	}
	q->host_only = 1;
	lookup_domain_as_host(q);
	return 0;
}

/* ptr_cb - the PTR name of an address: then its A and AAAA */
static void
ptr_cb(void *arg, int status, int timeouts, struct hostent *he)
{
	struct dns_query *q = arg;

	(void)timeouts;
	q->outstanding--;
	if (q->ctx->destroying || status == ARES_EDESTRUCTION)
		return;
	if (status == ARES_ENOMEM)
		log_nomem(EX_OSERR, "ares_gethostbyaddr", 0, 0);
	if (status != ARES_SUCCESS || he == NULL || he->h_name == NULL ||
	    !dns_valid_hostname(he->h_name) ||
	    name_copy(q->domain, sizeof(q->domain), he->h_name) == -1) {
		mail_status_set(&q->status, MAIL_TEMP, "4.4.3",
		    "no valid PTR name for %s%s%s", q->domain,
		    status != ARES_SUCCESS ? ": " : "",
		    status != ARES_SUCCESS ? ares_strerror(status) : "");
		query_finish(q);
		return;
	}
	lookup_domain_as_host(q);
}

/* dns_resolve_ptr - the name of an address, and that name's addresses */
int
dns_resolve_ptr(struct dns_ctx *ctx, const struct dns_addr *addr,
    dns_result_fn *cb, void *arg)
{
	struct dns_query *q;
	char text[INET6_ADDRSTRLEN];

	if (addr == NULL || (addr->family != AF_INET &&
	    addr->family != AF_INET6) ||
	    inet_ntop(addr->family, &addr->u, text, sizeof(text)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((q = query_new(ctx, text, cb, arg)) == NULL)
		return -1;
	/* the address, for messages, until the PTR name replaces it */
	snprintf(q->domain, sizeof(q->domain), "%s", text);
	q->implicit_mx = 1;
	q->host_only = 1;
	q->outstanding = 1;
	ares_gethostbyaddr(ctx->ch, &addr->u, addr->family == AF_INET ?
	    (int)sizeof(addr->u.v4) : (int)sizeof(addr->u.v6), addr->family,
	    ptr_cb, q);
	return 0;
}

/* deliver - call the callbacks of finished queries and free them */
static void
deliver(struct dns_ctx *ctx)
{
	struct dns_query *q;
	struct dns_result r;

	while ((q = TAILQ_FIRST(&ctx->done)) != NULL) {
		TAILQ_REMOVE(&ctx->done, q, link);
		ctx->nqueries--;
		memset(&r, 0, sizeof(r));
		r.domain = q->domain;
		r.status = q->status;
		r.implicit_mx = q->implicit_mx;
		if (q->status.kind == MAIL_OK) {
			r.nhosts = q->nrhosts;
			r.hosts = q->rhosts;
		}
		q->cb(&r, q->arg);
		query_free(q);
	}
}

/* dns_fds - copy up to max wanted sockets; returns how many there are */
size_t
dns_fds(const struct dns_ctx *ctx, struct pollfd *fds, size_t max)
{
	size_t i;

	for (i = 0; i < ctx->nfds && i < max; i++) {
		fds[i] = ctx->fds[i];
		fds[i].revents = 0;
	}
	return ctx->nfds;
}

/* dns_process - a socket is ready (or -1, -1: a timer fired): run c-ares */
void
dns_process(struct dns_ctx *ctx, int read_fd, int write_fd)
{
	ares_process_fd(ctx->ch, read_fd < 0 ? ARES_SOCKET_BAD : read_fd,
	    write_fd < 0 ? ARES_SOCKET_BAD : write_fd);
	deliver(ctx);
}

/* dns_timeout_ms - when to call dns_process(ctx, -1, -1); -1: no need */
int
dns_timeout_ms(struct dns_ctx *ctx)
{
	struct timeval tv, *tvp;
	long ms;

	if (!TAILQ_EMPTY(&ctx->done))
		return 0;
	if (TAILQ_EMPTY(&ctx->pending))
		return -1;
	if ((tvp = ares_timeout(ctx->ch, NULL, &tv)) == NULL)
		return -1;
	/* Round up so that the timer does not fire just before c-ares's. */
	ms = (long)tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000;
	return ms > 24L * 3600 * 1000 ? 24 * 3600 * 1000 : (int)ms;
}

/* dns_pending - lookups whose callback has not been called yet */
size_t
dns_pending(const struct dns_ctx *ctx)
{
	return ctx->nqueries;
}

/* dns_wait - poll(2) c-ares's sockets until nothing is pending or max_ms */
int
dns_wait(struct dns_ctx *ctx, int max_ms)
{
	long long deadline = max_ms >= 0 ? monoclock_ms() + max_ms : 0;
	size_t i, n;
	int t, rc;

	for (;;) {
		deliver(ctx);
		if (ctx->nqueries == 0)
			return 0;
		t = dns_timeout_ms(ctx);
		if (max_ms >= 0) {
			long long left = deadline - monoclock_ms();

			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			if (t < 0 || t > left)
				t = (int)left;
		}
		n = ctx->nfds;
		if (n > ctx->capscratch) {
			ctx->scratch = xreallocarray(ctx->scratch, n,
			    sizeof(*ctx->scratch));
			ctx->capscratch = n;
		}
		n = dns_fds(ctx, ctx->scratch, n);
		rc = poll(ctx->scratch, n, t);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (rc == 0) {
			ares_process_fd(ctx->ch, ARES_SOCKET_BAD,
			    ARES_SOCKET_BAD);
			continue;
		}
		for (i = 0; i < n; i++) {
			short re = ctx->scratch[i].revents;

			if (re == 0)
				continue;
			ares_process_fd(ctx->ch,
			    (re & (POLLIN | POLLERR | POLLHUP)) ?
			    ctx->scratch[i].fd : ARES_SOCKET_BAD,
			    (re & POLLOUT) ? ctx->scratch[i].fd :
			    ARES_SOCKET_BAD);
		}
	}
}
