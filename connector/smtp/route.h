/*
 * route - where mail for a recipient domain goes (the IMC's "use DNS" or
 * "forward all messages to host").
 *
 * route_for decides, for one recipient domain: a [domain NAME] section
 * with relay (longest suffix wins, "*.NAME" covers subdomains) sends there;
 * else smarthost, when set, takes all remote mail; else the domain's own MX
 * hosts. TLS and AUTH come from the domain section when it sets them, else
 * from the global keys. The route's key names the destination: recipients
 * with the same key share transactions and connections, and concurrency is
 * counted per key.
 *
 * Smarthost and relay lists are tried in turn per message: message_turn
 * picks the host to start with, the others follow (one that is down is
 * skipped, as the IMC's "forward all messages to host" did).
 *
 * A local domain whose store is LMTP (config_store_for) is routed to that
 * store (ROUTE_LMTP): no MX lookup, lmtp_tls instead of tls, no AUTH; the
 * key names the store, so every domain handed to one store shares its
 * connections.
 *
 * The route points into the configuration (hosts, credentials): it is
 * valid while the configuration is; route_free frees the key only.
 */
#ifndef IMC_ROUTE_H
#define IMC_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum route_kind {
	ROUTE_MX,	/* the MX hosts of domain */
	ROUTE_RELAY,	/* hosts: a relay list or the smarthost */
	ROUTE_LMTP	/* store: a local domain's LMTP store */
};

struct route {
	enum route_kind	 kind;
	char		*key;		/* "mx:example.com", "relay:..." */
	const char	*domain;	/* the recipient domain */
	const struct imc_relay_host *hosts;	/* ROUTE_RELAY */
	size_t		 n_hosts;
	size_t		 first_host;	/* start here (message turn) */
	const struct store_target *store;	/* ROUTE_LMTP */
	uint16_t	 port;		/* ROUTE_MX: mx_port */
	enum imc_tls	 tls;
	const char	*auth_user;	/* NULL: no AUTH */
	const char	*auth_pass;
};

/* Always 0 (out of memory is fatal); int for the callers' convenience. */
int	route_for(const struct imc_config *, const char *domain,
	    unsigned message_turn, struct route *);
void	route_free(struct route *);
/* The route to an LMTP store with its lmtp_tls (outq's job->store and
 * job->store_tls): what route_for gives for a domain on that store. */
void	route_for_store(const struct store_target *, enum imc_tls,
	    struct route *);
/* The recipient domain is handed to an LMTP store (a local domain). */
bool	route_is_lmtp(const struct imc_config *, const char *domain);

#endif
