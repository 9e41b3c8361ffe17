/*
 * smtpd_policy - relay control (see smtpd_policy.h).
 */
#include "smtpd_policy.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "xalloc.h"

int
smtpd_policy_init(struct smtpd_policy *p, const struct imc_config *cfg,
    struct buf *err)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	if (cfg->relay_networks != NULL &&
	    cidr_parse_list(cfg->relay_networks, &p->nets, &p->n_nets,
	    err) == -1)
		return -1;
	return 0;
}

void
smtpd_policy_fini(struct smtpd_policy *p)
{
	free(p->nets);
	p->nets = NULL;
	p->n_nets = 0;
}

bool
smtpd_policy_trusted(const struct smtpd_policy *p,
    const struct sockaddr *client, bool authenticated)
{
	return authenticated || cidr_match_list(p->nets, p->n_nets, client);
}

/* smtpd_policy_rcpt - where a recipient goes, or whether it is refused */
enum smtpd_verdict
smtpd_policy_rcpt(const struct smtpd_policy *p, char **addr, bool trusted)
{
	const char *dom = addr_domain(*addr);

	if (dom == NULL) {
		/* only "postmaster" comes here (smtpd_cmd.h) */
		char *q;

		if (p->cfg->n_local_domains == 0)
			return SMTPD_DENY;
		q = xmalloc(strlen(*addr) + strlen(p->cfg->local_domains[0]) + 2);
		strcpy(q, *addr);
		strcat(q, "@");
		strcat(q, p->cfg->local_domains[0]);
		free(*addr);
		*addr = q;
		return SMTPD_LOCAL;
	}
	if (config_is_local_domain(p->cfg, dom))
		return SMTPD_LOCAL;
	if (config_is_relay_domain(p->cfg, dom))
		return SMTPD_RELAY_DOMAIN;
	return trusted ? SMTPD_RELAY_TRUSTED : SMTPD_DENY;
}
