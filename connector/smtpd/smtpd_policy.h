/*
 * smtpd_policy - relay control: may this client give this recipient?
 *
 * Only the domain after the last unquoted "@" decides (a "%", "!" or
 * quoted "@" in the local part is just a local part, never a route):
 *   - a domain in local_domains: accepted from anyone, for the store;
 *   - a domain in relay_domains: accepted from anyone, forwarded (Out/);
 *   - any other domain (an address literal too): only from a client in
 *     relay_networks or one that authenticated, else 554 5.7.1;
 *   - "postmaster" without a domain (RFC 5321 4.5.1): the local postmaster
 *     of the first local domain, or refused when there is none.
 * Domains compare in any case. Nothing here allocates but the rewritten
 * postmaster address.
 */
#ifndef IMC_SMTPD_POLICY_H
#define IMC_SMTPD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cidr.h"
#include "config.h"

enum smtpd_verdict {
	SMTPD_LOCAL,		/* for the store */
	SMTPD_RELAY_DOMAIN,	/* forwarded for a relay_domains domain */
	SMTPD_RELAY_TRUSTED,	/* forwarded for a trusted client */
	SMTPD_DENY		/* 554 5.7.1 Relay access denied */
};

struct smtpd_policy {
	const struct imc_config *cfg;
	struct cidr	*nets;
	size_t		 n_nets;
};

/* -1 when relay_networks does not parse (config_load checked it). */
int	smtpd_policy_init(struct smtpd_policy *, const struct imc_config *,
	    struct buf *err);
void	smtpd_policy_fini(struct smtpd_policy *);
bool	smtpd_policy_trusted(const struct smtpd_policy *,
	    const struct sockaddr *client, bool authenticated);
/* *addr may be replaced (postmaster qualified; the caller frees). */
enum smtpd_verdict smtpd_policy_rcpt(const struct smtpd_policy *,
	    char **addr, bool trusted);

#endif
