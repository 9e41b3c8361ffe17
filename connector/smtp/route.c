/*
 * route - where mail for a recipient domain goes (see route.h).
 */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int
route_for(const struct imc_config *cfg, const char *domain,
    unsigned message_turn, struct route *r)
{
	const struct imc_domain_conf *dc = config_domain(cfg, domain);
	const struct imc_relay_list *relays = NULL;
	const struct imc_auth *auth;
	const char *label = cfg->auth;
	struct buf key;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->domain = domain;
	if (route_is_lmtp(cfg, domain)) {
		route_for_store(config_store_for(cfg, domain),
		    config_lmtp_tls_for(cfg, domain), r);
		r->domain = domain;
		return 0;
	}
	r->tls = cfg->tls;
	if (dc != NULL && dc->tls != IMC_TLS_UNSET)
		r->tls = dc->tls;
	buf_init(&key);
	if (dc != NULL && dc->relay.n > 0) {
		relays = &dc->relay;
		label = dc->auth;
		buf_printf(&key, "relay[%s]:", dc->name);
	} else if (cfg->smarthost.n > 0) {
		relays = &cfg->smarthost;
		if (dc != NULL && dc->auth != NULL)
			label = dc->auth;
		buf_puts(&key, "smarthost:");
	} else {
		label = dc != NULL ? dc->auth : NULL;
		r->kind = ROUTE_MX;
		r->port = cfg->mx_port;
		buf_printf(&key, "mx:%s", domain);
	}
	if (relays != NULL) {
		r->kind = ROUTE_RELAY;
		r->hosts = relays->hosts;
		r->n_hosts = relays->n;
		r->first_host = message_turn % relays->n;
		for (i = 0; i < relays->n; i++)
			buf_printf(&key, "%s%s%s%s:%u", i ? "," : "",
			    relays->hosts[i].literal ? "[" : "",
			    relays->hosts[i].name,
			    relays->hosts[i].literal ? "]" : "",
			    relays->hosts[i].port);
	}
	/* Different TLS or credentials are different destinations. */
	buf_printf(&key, " tls=%s", config_tls_name(r->tls));
	if ((auth = config_auth(cfg, label)) != NULL) {
		r->auth_user = auth->user;
		r->auth_pass = auth->pass;
		buf_printf(&key, " auth=%s", auth->label);
	}
	r->key = buf_steal(&key);
	return 0;
}

/* route_for_store - the route to an LMTP store; no TLS on a socket */
void
route_for_store(const struct store_target *store, enum imc_tls tls,
    struct route *r)
{
	struct buf key;

	memset(r, 0, sizeof(*r));
	r->kind = ROUTE_LMTP;
	r->store = store;
	r->tls = store->unix_path != NULL ? IMC_TLS_NONE : tls;
	buf_init(&key);
	config_store_put(&key, store);
	buf_printf(&key, " tls=%s", config_tls_name(r->tls));
	r->key = buf_steal(&key);
}

bool
route_is_lmtp(const struct imc_config *cfg, const char *domain)
{
	return domain != NULL && config_is_local_domain(cfg, domain) &&
	    config_store_for(cfg, domain)->kind == STORE_LMTP;
}

void
route_free(struct route *r)
{
	free(r->key);
	r->key = NULL;
}
