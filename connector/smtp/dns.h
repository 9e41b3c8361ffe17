/*
 * dns - asynchronous MX resolution on c-ares (1.18), driven by the caller's
 * event loop.
 *
 * dns_resolve_mx() looks up the MX records of a domain and the A and AAAA
 * addresses of every MX host, and hands the callback the hosts in the order
 * to try them: by MX preference, in random order (getrandom(2)) among equal
 * preferences, each host with its addresses (IPv6 first or IPv4 first, as
 * set with dns_set_family_order()). A domain without MX records has the
 * implicit MX of RFC 5321 section 5.1: the domain itself, preference 0.
 *
 * Every outcome is a struct mail_status:
 *   OK   2.0.0   at least one host with an address
 *   PERM 5.1.10  null MX (RFC 7505: one MX, preference 0, target ".")
 *   PERM 5.1.2   the domain does not exist (NXDOMAIN) or is not a valid name
 *   TEMP 4.4.3   SERVFAIL, REFUSED, timeout, connection or reply errors, or
 *                no MX host with an address (hosts without one are skipped)
 *   TEMP 4.4.6   mail loops back to myself: the most preferred MX host is
 *                the self host name (dns_set_self()); when the self host is
 *                a backup MX, only the hosts more preferred than it are kept
 *
 * What it does not do: no /etc/hosts (DNS only, as an MTA should), no
 * search domains (names are fully qualified), no IDN conversion (give
 * A-labels), no address sorting beyond the family order, no connections.
 * Loopback and private addresses are returned as they are.
 *
 * Limits on what DNS hands us: at most DNS_MAX_HOSTS MX hosts (the most
 * preferred) and DNS_MAX_ADDRS addresses per host are kept; host names
 * must be valid (letters, digits, '-', '_', labels of 1-63, at most 253).
 *
 * Driving it: c-ares tells which sockets it wants through a socket-state
 * callback; the caller either registers a dns_sock_fn (dns_set_sock_fn) or
 * asks for the current set (dns_fds), calls dns_process() when a socket is
 * ready, and arms a timer with dns_timeout_ms() that calls
 * dns_process(ctx, -1, -1) when it fires. dns_wait() does all that itself
 * with poll(2), for tests and tools.
 *
 * Ownership: the struct dns_result and everything it points to belong to
 * the ctx and stay valid only until the callback returns; copy what must
 * live longer. Callbacks are never called from inside dns_resolve_mx(),
 * only from dns_process() and dns_wait(); a callback may start new
 * lookups but must not call dns_free(). dns_free() drops the lookups in
 * flight without calling their callbacks.
 */
#ifndef IMC_DNS_H
#define IMC_DNS_H

#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>

#include "mailstatus.h"

#define DNS_MAX_HOSTS	64	/* MX hosts kept per domain */
#define DNS_MAX_ADDRS	32	/* addresses kept per host */
#define DNS_NAME_MAX	253	/* a domain name as text, no trailing dot */

struct dns_ctx;

struct dns_addr {
	int	 family;			/* AF_INET or AF_INET6 */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	}	 u;
	char	 text[INET6_ADDRSTRLEN];	/* for logs: "192.0.2.7", "::1" */
};

struct dns_host {
	const char *name;		/* lower case, no trailing dot */
	unsigned pref;			/* MX preference (0 for the implicit MX) */
	size_t	 naddrs;		/* 1..DNS_MAX_ADDRS */
	const struct dns_addr *addrs;	/* in try order (see the family
					   order; within a family, c-ares's) */
};

struct dns_result {
	const char *domain;		/* as asked, lower case, no trailing dot */
	struct mail_status status;	/* OK: hosts to try; else why not */
	int	 implicit_mx;		/* no MX record: the domain itself */
	size_t	 nhosts;		/* 0 unless status.kind == MAIL_OK */
	const struct dns_host *hosts;	/* in try order */
};

typedef void dns_result_fn(const struct dns_result *, void *arg);

/* readable/writable: what c-ares waits for; both 0: forget the socket */
typedef void dns_sock_fn(void *arg, int fd, int readable, int writable);

enum dns_family_order {
	DNS_PREFER_IPV6,	/* AAAA addresses first (the default) */
	DNS_PREFER_IPV4		/* A addresses first */
};

struct dns_ctx *dns_new(const char *servers);
void	dns_free(struct dns_ctx *);

int	dns_set_timeout(struct dns_ctx *, int timeout_ms, int tries);
int	dns_set_self(struct dns_ctx *, const char *self_hostname);
void	dns_set_family_order(struct dns_ctx *, enum dns_family_order);
void	dns_set_sock_fn(struct dns_ctx *, dns_sock_fn *, void *arg);

int	dns_resolve_mx(struct dns_ctx *, const char *domain, dns_result_fn *,
	    void *arg);
/* Addresses of one host without MX lookup (a relay written [name]); the
 * result holds that host, or TEMP 4.4.3. */
int	dns_resolve_host(struct dns_ctx *, const char *name, dns_result_fn *,
	    void *arg);

/* The name of an address (PTR), then that name's A and AAAA: the result
 * holds that one host (the caller sees whether the address is among its
 * addresses: forward confirmation), or TEMP 4.4.3 (no PTR, a name that
 * is not a valid host name, no address). */
int	dns_resolve_ptr(struct dns_ctx *, const struct dns_addr *addr,
	    dns_result_fn *, void *arg);

size_t	dns_fds(const struct dns_ctx *, struct pollfd *, size_t max);
void	dns_process(struct dns_ctx *, int read_fd, int write_fd);
int	dns_timeout_ms(struct dns_ctx *);
size_t	dns_pending(const struct dns_ctx *);
int	dns_wait(struct dns_ctx *, int max_ms);

int	dns_valid_hostname(const char *name);

#endif
