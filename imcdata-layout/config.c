/*
 * config - the connector's configuration file (see config.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "charset.h"
#include "conf.h"

struct config_parse {
	struct imc_config *cfg;
	bool	seen_root;
};

static int
config_strdup(char **dst, const char *value, struct buf *err)
{
	char *p;

	if ((p = strdup(value)) == NULL) {
		buf_puts(err, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = p;
	return 0;
}

static void
config_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static bool
config_domain_name_ok(const char *s)
{
	const char *p;

	if (*s == '\0' || strlen(s) > 253)
		return false;
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return false;
	return s[0] != '.' && s[strlen(s) - 1] != '.';
}

static int
config_local_domains(struct imc_config *cfg, const char *value, struct buf *err)
{
	char *copy, *tok, *save = NULL, *t, *e, **v;
	size_t i;

	for (i = 0; i < cfg->n_local_domains; i++)
		free(cfg->local_domains[i]);
	cfg->n_local_domains = 0;
	if ((copy = strdup(value)) == NULL) {
		buf_puts(err, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (t = tok; isspace((unsigned char)*t); t++)
			;
		e = t + strlen(t);
		while (e > t && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*t == '\0')
			continue;
		config_lower(t);
		if (!config_domain_name_ok(t)) {
			buf_printf(err, "local_domains: \"%s\" is not a domain name", t);
			free(copy);
			return -1;
		}
		v = realloc(cfg->local_domains,
		    (cfg->n_local_domains + 1) * sizeof(*v));
		if (v == NULL || (t = strdup(t)) == NULL) {
			if (v != NULL)
				cfg->local_domains = v;
			buf_puts(err, "out of memory");
			free(copy);
			return -1;
		}
		cfg->local_domains = v;
		cfg->local_domains[cfg->n_local_domains++] = t;
	}
	free(copy);
	return 0;
}

static int
config_section(void *arg, const char *kind, const char *name, struct buf *err)
{
	struct config_parse *cp = arg;
	struct imc_config *cfg = cp->cfg;
	struct imc_domain_conf *d;
	const char *check;

	if (strcmp(kind, "domain") != 0) {
		buf_printf(err, "unknown section kind \"%s\" (only [domain NAME])",
		    kind);
		return -1;
	}
	check = strncmp(name, "*.", 2) == 0 ? name + 2 : name;
	if (!config_domain_name_ok(check)) {
		buf_printf(err, "[domain %s]: not a domain name", name);
		return -1;
	}
	d = realloc(cfg->domains, (cfg->n_domains + 1) * sizeof(*d));
	if (d == NULL) {
		buf_puts(err, "out of memory");
		return -1;
	}
	cfg->domains = d;
	d = &cfg->domains[cfg->n_domains];
	if ((d->name = strdup(name)) == NULL) {
		buf_puts(err, "out of memory");
		return -1;
	}
	config_lower(d->name);
	d->line = 0;
	d->cs.legacy_charset = NULL;
	d->cs.charset = NULL;
	d->cs.encoding = ENCODING_UNSET;
	cfg->n_domains++;
	return 0;
}

static int
config_size(const char *key, const char *value, uint64_t *out, struct buf *err)
{
	if (conf_parse_size(value, out) == -1) {
		buf_printf(err, "%s: \"%s\" is not a size (like 10M, 512K)",
		    key, value);
		return -1;
	}
	return 0;
}

static int
config_duration(const char *key, const char *value, uint64_t *out,
    struct buf *err)
{
	if (conf_parse_duration(value, out) == -1) {
		buf_printf(err, "%s: \"%s\" is not a duration (like 30s, 15m, 4h, 2d)",
		    key, value);
		return -1;
	}
	return 0;
}

/* Charset keys, valid globally and in [domain] sections; 1 if not one. */
static int
config_charset_key(struct imc_charset_conf *cs, const char *key,
    const char *value, struct buf *err)
{
	struct charset_info ci;

	if (!strcmp(key, "legacy_charset")) {
		if (charset_lookup(value, strlen(value), &ci) == CHARSET_UNKNOWN) {
			buf_printf(err, "legacy_charset: unknown charset \"%s\"",
			    value);
			return -1;
		}
		return config_strdup(&cs->legacy_charset, value, err);
	}
	if (!strcmp(key, "charset")) {
		if (strcasecmp(value, "utf-8") != 0 &&
		    strcasecmp(value, "preserve") != 0 &&
		    charset_encoder(value) == NULL) {
			buf_printf(err, "charset: \"%s\" is not utf-8, preserve or "
			    "a charset this connector can write", value);
			return -1;
		}
		if (config_strdup(&cs->charset, value, err) == -1)
			return -1;
		config_lower(cs->charset);
		return 0;
	}
	if (!strcmp(key, "encoding")) {
		if (!strcasecmp(value, "8bit"))
			cs->encoding = ENCODING_8BIT;
		else if (!strcasecmp(value, "7bit"))
			cs->encoding = ENCODING_7BIT;
		else {
			buf_printf(err, "encoding: \"%s\" is not 8bit or 7bit", value);
			return -1;
		}
		return 0;
	}
	return 1;
}

static int
config_entry(void *arg, const char *kind, const char *name, const char *key,
    const char *value, struct buf *err)
{
	struct config_parse *cp = arg;
	struct imc_config *cfg = cp->cfg;
	int r;

	if (kind != NULL) {
		r = config_charset_key(&cfg->domains[cfg->n_domains - 1].cs, key,
		    value, err);
		if (r == 1)
			buf_printf(err, "unknown key \"%s\" in [%s %s]", key, kind,
			    name);
		return r == 0 ? 0 : -1;
	}
	if ((r = config_charset_key(&cfg->cs, key, value, err)) != 1)
		return r;
	if (!strcmp(key, "detect")) {
		if (conf_parse_bool(value, &cfg->detect) == -1) {
			buf_printf(err, "detect: \"%s\" is not yes or no", value);
			return -1;
		}
		if (cfg->detect) {
			buf_puts(err, "detect: charset detection is not available "
			    "in this version; unlabelled text uses legacy_charset");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "root")) {
		if (value[0] != '/') {
			buf_printf(err, "root: \"%s\" is not an absolute path", value);
			return -1;
		}
		cp->seen_root = true;
		return config_strdup(&cfg->root, value, err);
	}
	if (!strcmp(key, "hostname")) {
		if (!config_domain_name_ok(value)) {
			buf_printf(err, "hostname: \"%s\" is not a host name", value);
			return -1;
		}
		return config_strdup(&cfg->hostname, value, err);
	}
	if (!strcmp(key, "local_domains"))
		return config_local_domains(cfg, value, err);
	if (!strcmp(key, "store")) {
		if (strcmp(value, "maildir") != 0) {
			buf_printf(err, "store: \"%s\" is not supported (maildir)", value);
			return -1;
		}
		cfg->store = STORE_MAILDIR;
		return 0;
	}
	if (!strcmp(key, "max_message_size")) {
		if (config_size(key, value, &cfg->max_message_size, err) == -1)
			return -1;
		if (cfg->max_message_size == 0) {
			buf_puts(err, "max_message_size: must be above 0");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "archive")) {
		if (conf_parse_bool(value, &cfg->archive) == -1) {
			buf_printf(err, "archive: \"%s\" is not yes or no", value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "pickup_dots")) {
		if (!strcmp(value, "iis"))
			cfg->pickup_dots = PICKUP_DOTS_IIS;
		else if (!strcmp(value, "literal"))
			cfg->pickup_dots = PICKUP_DOTS_LITERAL;
		else {
			buf_printf(err, "pickup_dots: \"%s\" is not iis or literal", value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "pickup_mode")) {
		if (!strcmp(value, "group"))
			cfg->pickup_mode = PICKUP_MODE_GROUP;
		else if (!strcmp(value, "open"))
			cfg->pickup_mode = PICKUP_MODE_OPEN;
		else {
			buf_printf(err, "pickup_mode: \"%s\" is not group or open", value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "user")) {
		if (getpwnam(value) == NULL) {
			buf_printf(err, "user: no such user \"%s\"", value);
			return -1;
		}
		return config_strdup(&cfg->user, value, err);
	}
	if (!strcmp(key, "group")) {
		if (getgrnam(value) == NULL) {
			buf_printf(err, "group: no such group \"%s\"", value);
			return -1;
		}
		return config_strdup(&cfg->group, value, err);
	}
	if (!strcmp(key, "pickup_settle"))
		return config_duration(key, value, &cfg->pickup_settle, err);
	if (!strcmp(key, "pickup_rescan")) {
		if (config_duration(key, value, &cfg->pickup_rescan, err) == -1)
			return -1;
		if (cfg->pickup_rescan == 0) {
			buf_puts(err, "pickup_rescan: must be above 0");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "local_retry")) {
		if (config_duration(key, value, &cfg->local_retry, err) == -1)
			return -1;
		if (cfg->local_retry == 0) {
			buf_puts(err, "local_retry: must be above 0");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "max_lifetime")) {
		if (config_duration(key, value, &cfg->max_lifetime, err) == -1)
			return -1;
		if (cfg->max_lifetime == 0) {
			buf_puts(err, "max_lifetime: must be above 0");
			return -1;
		}
		return 0;
	}
	buf_printf(err, "unknown key \"%s\"", key);
	return -1;
}

/* config_defaults - the values a key has when the file does not set it */
void
config_defaults(struct imc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->store = STORE_MAILDIR;
	cfg->max_message_size = 10u * 1024 * 1024;
	cfg->archive = false;
	cfg->pickup_dots = PICKUP_DOTS_IIS;
	cfg->pickup_mode = PICKUP_MODE_GROUP;
	cfg->pickup_settle = 2;
	cfg->pickup_rescan = 30;
	cfg->local_retry = 300;
	cfg->max_lifetime = 2 * 86400;
	cfg->cs.encoding = ENCODING_8BIT;
}

/* config_load - defaults, then the file; -1 with "FILE:LINE: why" in err */
int
config_load(struct imc_config *cfg, const char *path, struct buf *err)
{
	struct config_parse cp = { cfg, false };
	char host[HOST_NAME_MAX + 1];

	config_defaults(cfg);
	if ((cfg->path = strdup(path)) == NULL) {
		buf_puts(err, "out of memory");
		return -1;
	}
	if (conf_parse_file(path, config_section, config_entry, &cp, err) == -1)
		return -1;
	if (!cp.seen_root) {
		buf_printf(err, "%s: missing required key \"root\"", path);
		return -1;
	}
	if ((cfg->cs.legacy_charset == NULL &&
	    (cfg->cs.legacy_charset = strdup("windows-1252")) == NULL) ||
	    (cfg->cs.charset == NULL &&
	    (cfg->cs.charset = strdup("utf-8")) == NULL)) {
		buf_puts(err, "out of memory");
		return -1;
	}
	if (cfg->hostname == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		if (!config_domain_name_ok(host)) {
			buf_printf(err, "%s: the system host name is not usable; "
			    "set \"hostname\"", path);
			return -1;
		}
		if ((cfg->hostname = strdup(host)) == NULL) {
			buf_puts(err, "out of memory");
			return -1;
		}
	}
	config_lower(cfg->hostname);
	return 0;
}

/* config_free - release what config_load allocated */
void
config_free(struct imc_config *cfg)
{
	size_t i;

	free(cfg->path);
	free(cfg->root);
	free(cfg->hostname);
	for (i = 0; i < cfg->n_local_domains; i++)
		free(cfg->local_domains[i]);
	free(cfg->local_domains);
	free(cfg->user);
	free(cfg->group);
	for (i = 0; i < cfg->n_domains; i++) {
		free(cfg->domains[i].name);
		free(cfg->domains[i].cs.legacy_charset);
		free(cfg->domains[i].cs.charset);
	}
	free(cfg->domains);
	free(cfg->cs.legacy_charset);
	free(cfg->cs.charset);
	memset(cfg, 0, sizeof(*cfg));
}

/* config_is_local_domain - is mail for this domain handed to the store */
bool
config_is_local_domain(const struct imc_config *cfg, const char *domain)
{
	size_t i;

	for (i = 0; i < cfg->n_local_domains; i++)
		if (strcasecmp(cfg->local_domains[i], domain) == 0)
			return true;
	return false;
}

/* config_domain - the [domain] section that applies, longest match first */
const struct imc_domain_conf *
config_domain(const struct imc_config *cfg, const char *domain)
{
	const struct imc_domain_conf *best = NULL;
	size_t i, dl = strlen(domain), bl = 0, nl;
	const char *n;

	for (i = 0; i < cfg->n_domains; i++) {
		n = cfg->domains[i].name;
		nl = strlen(n);
		if (strncmp(n, "*.", 2) == 0) {
			/* "*.x" covers a.x and b.a.x, not x itself */
			if (dl > nl - 1 && strcasecmp(domain + dl - (nl - 1),
			    n + 1) == 0 && nl > bl) {
				best = &cfg->domains[i];
				bl = nl;
			}
		} else if (strcasecmp(domain, n) == 0 && nl + 1 > bl) {
			best = &cfg->domains[i];
			bl = nl + 1;	/* an exact name beats a wildcard */
		}
	}
	return best;
}

/* config_charset_for - charset settings for a domain, defaults filled in */
void
config_charset_for(const struct imc_config *cfg, const char *domain,
    struct imc_charset_conf *out)
{
	const struct imc_domain_conf *d = domain ? config_domain(cfg, domain) :
	    NULL;

	*out = cfg->cs;
	if (d == NULL)
		return;
	if (d->cs.legacy_charset != NULL)
		out->legacy_charset = d->cs.legacy_charset;
	if (d->cs.charset != NULL)
		out->charset = d->cs.charset;
	if (d->cs.encoding != ENCODING_UNSET)
		out->encoding = d->cs.encoding;
}

/* config_ids - the numeric service user, its group and the writers' group */
int
config_ids(const struct imc_config *cfg, uid_t *uid, gid_t *service_gid,
    gid_t *writers_gid, struct buf *err)
{
	struct passwd *pw;
	struct group *gr;

	if (cfg->user != NULL) {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			buf_printf(err, "no such user \"%s\"", cfg->user);
			return -1;
		}
		*uid = pw->pw_uid;
		*service_gid = pw->pw_gid;
	} else {
		*uid = geteuid();
		*service_gid = getegid();
	}
	if (cfg->group != NULL) {
		if ((gr = getgrnam(cfg->group)) == NULL) {
			buf_printf(err, "no such group \"%s\"", cfg->group);
			return -1;
		}
		*writers_gid = gr->gr_gid;
	} else
		*writers_gid = *service_gid;
	return 0;
}
