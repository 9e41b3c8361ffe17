/*
 * config - the connector's configuration file (see config.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "charset.h"
#include "conf.h"
#include "log.h"
#include "xalloc.h"

struct config_parse {
	struct imc_config *cfg;
	bool	seen_root;
	enum config_mode mode;
};

static int
config_strdup(char **dst, const char *value, struct buf *err)
{
	char *p = xstrdup(value);

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
	char *copy, *tok, *save = NULL, *t, *e;
	size_t i;

	for (i = 0; i < cfg->n_local_domains; i++)
		free(cfg->local_domains[i]);
	cfg->n_local_domains = 0;
	copy = xstrdup(value);
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
		cfg->local_domains = xreallocarray(cfg->local_domains,
		    cfg->n_local_domains + 1, sizeof(*cfg->local_domains));
		cfg->local_domains[cfg->n_local_domains++] = xstrdup(t);
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
	cfg->domains = xreallocarray(cfg->domains, cfg->n_domains + 1,
	    sizeof(*cfg->domains));
	d = &cfg->domains[cfg->n_domains];
	d->name = xstrdup(name);
	config_lower(d->name);
	d->line = 0;
	d->cs.legacy_charset = NULL;
	d->cs.charset = NULL;
	d->cs.encoding = ENCODING_UNSET;
	d->relay.hosts = NULL;
	d->relay.n = 0;
	d->tls = IMC_TLS_UNSET;
	d->auth = NULL;
	cfg->n_domains++;
	return 0;
}

/*
 * The range of every number the file sets, in one place; config_number
 * refuses a value outside it and names the range. Why bound them: the
 * code adds durations to the clock and turns them into milliseconds, so a
 * value near 2^64 wrapped (pickup_rescan = 18446744073709551615 made every
 * rescan due at once: a daemon spinning; such a max_lifetime bounced every
 * message at its first deferral). The limits are what an admin could mean:
 * timeouts from 1s to a day (RFC 5321 asks minutes), waits and lifetimes
 * up to a year, counts up to 10000 (each connection and recipient costs
 * memory and descriptors), messages up to 2G. README.md lists the same.
 */
enum config_unit { CONFIG_COUNT, CONFIG_SECONDS, CONFIG_BYTES };

#define CONFIG_DAY	86400ull
#define CONFIG_YEAR	(365 * CONFIG_DAY)

static const struct config_bound {
	const char	*key;
	enum config_unit unit;
	uint64_t	 min, max;
} config_bounds[] = {
	{ "max_message_size", CONFIG_BYTES, 1024, 2ull << 30 },
	{ "pickup_settle", CONFIG_SECONDS, 0, 3600 },
	{ "pickup_rescan", CONFIG_SECONDS, 1, CONFIG_DAY },
	{ "local_retry", CONFIG_SECONDS, 1, CONFIG_DAY },
	{ "max_lifetime", CONFIG_SECONDS, 1, CONFIG_YEAR },
	{ "delay_warning", CONFIG_SECONDS, 0, CONFIG_YEAR },	/* 0: never */
	{ "retry_schedule", CONFIG_SECONDS, 1, 7 * CONFIG_DAY },	/* a step */
	{ "timeout_connect", CONFIG_SECONDS, 1, CONFIG_DAY },
	{ "timeout_greeting", CONFIG_SECONDS, 1, CONFIG_DAY },
	{ "timeout_command", CONFIG_SECONDS, 1, CONFIG_DAY },
	{ "timeout_data_init", CONFIG_SECONDS, 1, CONFIG_DAY },
	{ "timeout_data_block", CONFIG_SECONDS, 1, CONFIG_DAY },
	{ "timeout_data_done", CONFIG_SECONDS, 1, CONFIG_DAY },
	{ "max_hops", CONFIG_COUNT, 1, 10000 },
	{ "max_connections", CONFIG_COUNT, 1, 10000 },
	{ "max_per_destination", CONFIG_COUNT, 1, 10000 },
	{ "max_messages_per_connection", CONFIG_COUNT, 1, 10000 },
	{ "max_rcpts_per_transaction", CONFIG_COUNT, 1, 10000 },
};

/* config_bound - the range of a numeric key; NULL if it has none */
static const struct config_bound *
config_bound(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(config_bounds) / sizeof(config_bounds[0]); i++)
		if (!strcmp(config_bounds[i].key, key))
			return &config_bounds[i];
	return NULL;
}

/* config_put_value - a value as the file would write it: 1d, 2G, 100 */
static void
config_put_value(struct buf *b, enum config_unit unit, uint64_t v)
{
	static const struct {
		uint64_t mult;
		char	 suffix;
	} secs[] = { { CONFIG_DAY, 'd' }, { 3600, 'h' }, { 60, 'm' },
	    { 1, 's' } }, bytes[] = { { 1ull << 30, 'G' }, { 1ull << 20, 'M' },
	    { 1ull << 10, 'K' } };
	size_t i;

	if (unit == CONFIG_SECONDS) {
		for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
			if (v % secs[i].mult == 0 && (v > 0 || secs[i].mult == 1)) {
				buf_printf(b, "%llu%c", (unsigned long long)(v /
				    secs[i].mult), secs[i].suffix);
				return;
			}
	}
	if (unit == CONFIG_BYTES)
		for (i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++)
			if (v > 0 && v % bytes[i].mult == 0) {
				buf_printf(b, "%llu%c", (unsigned long long)(v /
				    bytes[i].mult), bytes[i].suffix);
				return;
			}
	buf_printf(b, "%llu", (unsigned long long)v);
}

/*
 * config_number - a count, duration (seconds) or size (bytes) for a key
 * of config_bounds, inside its range. A number too big for 64 bits (by
 * itself or times its unit) is out of range like any other.
 */
static int
config_number(const char *key, const char *value, uint64_t *out,
    struct buf *err)
{
	static const char *const what[] = {
		"a number",
		"a duration (like 30s, 15m, 4h, 2d)",
		"a size (like 10M, 512K)",
	};
	const struct config_bound *b = config_bound(key);
	unsigned long long n;
	uint64_t v = 0;
	char *end;
	int r;

	if (b == NULL)
		abort();	/* a key missing from config_bounds */
	if (b->unit == CONFIG_SECONDS)
		r = conf_parse_duration(value, &v);
	else if (b->unit == CONFIG_BYTES)
		r = conf_parse_size(value, &v);
	else {
		/* strtoull would take "-1" or " 5": digits only */
		errno = EINVAL;
		r = -1;
		if (isdigit((unsigned char)*value)) {
			errno = 0;
			n = strtoull(value, &end, 10);
			if (*end != '\0')
				errno = EINVAL;
			else if (errno == 0) {
				v = n;
				r = 0;
			}
		}
	}
	if (r == -1 && errno != ERANGE) {
		buf_printf(err, "%s: \"%s\" is not %s", key, value,
		    what[b->unit]);
		return -1;
	}
	if (r == -1 || v < b->min || v > b->max) {
		buf_printf(err, "%s: \"%s\" is out of range: from ", key,
		    value);
		config_put_value(err, b->unit, b->min);
		buf_puts(err, " to ");
		config_put_value(err, b->unit, b->max);
		return -1;
	}
	*out = v;
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


/* Split a comma list in place: trimmed, non-empty items. */
static int
config_list(const char *value, char ***items, size_t *n, struct buf *err)
{
	char *copy, *tok, *save = NULL, *t, *e;

	*items = NULL;
	*n = 0;
	copy = xstrdup(value);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (t = tok; isspace((unsigned char)*t); t++)
			;
		e = t + strlen(t);
		while (e > t && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*t == '\0')
			continue;
		*items = xreallocarray(*items, *n + 1, sizeof(**items));
		(*items)[*n] = xstrdup(t);
		(*n)++;
	}
	free(copy);
	return 0;
}

static void
config_list_free(char **items, size_t n)
{
	while (n > 0)
		free(items[--n]);
	free(items);
}

static bool
config_ip_literal(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static int
config_port(const char *key, const char *s, uint16_t *port, struct buf *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v == 0 || v > 65535) {
		buf_printf(err, "%s: \"%s\" is not a port (1-65535)", key, s);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

static void
config_relays_free(struct imc_relay_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->hosts[i].name);
	free(l->hosts);
	l->hosts = NULL;
	l->n = 0;
}

/* "[name]", "[name]:port", "name", "name:port"; IPv6 only in brackets. */
static int
config_relays(const char *key, const char *value, struct imc_relay_list *l,
    struct buf *err)
{
	char **items, *it, *close, *colon;
	size_t n, i;
	struct imc_relay_host *h;

	config_relays_free(l);
	if (config_list(value, &items, &n, err) == -1)
		return -1;
	if (n == 0) {
		buf_printf(err, "%s: no host given", key);
		goto fail;
	}
	l->hosts = xcalloc(n, sizeof(*l->hosts));
	for (i = 0; i < n; i++) {
		it = items[i];
		h = &l->hosts[l->n];
		h->port = 25;
		if (it[0] == '[') {
			if ((close = strchr(it, ']')) == NULL) {
				buf_printf(err, "%s: \"%s\" has no closing ]", key,
				    it);
				goto fail;
			}
			*close = '\0';
			if (close[1] == ':') {
				if (config_port(key, close + 2, &h->port, err) ==
				    -1)
					goto fail;
			} else if (close[1] != '\0') {
				buf_printf(err, "%s: unexpected \"%s\" after ]",
				    key, close + 1);
				goto fail;
			}
			it++;
			if (strncasecmp(it, "IPv6:", 5) == 0)
				it += 5;
			h->literal = true;
		} else if ((colon = strchr(it, ':')) != NULL) {
			if (strchr(colon + 1, ':') != NULL) {
				buf_printf(err, "%s: \"%s\": write an IPv6 "
				    "address in brackets, like [::1]:25", key, it);
				goto fail;
			}
			*colon = '\0';
			if (config_port(key, colon + 1, &h->port, err) == -1)
				goto fail;
		}
		if (!config_ip_literal(it) && !config_domain_name_ok(it)) {
			buf_printf(err, "%s: \"%s\" is not a host name or an IP "
			    "address", key, it);
			goto fail;
		}
		if (config_ip_literal(it) && !h->literal) {
			buf_printf(err, "%s: \"%s\": write an IP address in "
			    "brackets, like [%s]", key, it, it);
			goto fail;
		}
		h->name = xstrdup(it);
		config_lower(h->name);
		l->n++;
	}
	config_list_free(items, n);
	return 0;
fail:
	config_list_free(items, n);
	config_relays_free(l);
	return -1;
}

/* One of a fixed set of words (any case): its index in out. */
static int
config_choice(const char *key, const char *value, const char *const *names,
    int n, int *out, struct buf *err)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(value, names[i])) {
			*out = i;
			return 0;
		}
	buf_printf(err, "%s: \"%s\" is not ", key, value);
	for (i = 0; i < n; i++)
		buf_printf(err, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
		    names[i]);
	return -1;
}

static const char *const config_tls_names[] = { "none", "may", "encrypt",
    "verify", "implicit" };

static int
config_tls(const char *value, enum imc_tls *out, struct buf *err)
{
	int i;

	if (config_choice("tls", value, config_tls_names, 5, &i, err) == -1)
		return -1;
	*out = (enum imc_tls)i;
	return 0;
}

const char *
config_tls_name(enum imc_tls t)
{
	return t >= IMC_TLS_NONE && t <= IMC_TLS_IMPLICIT ?
	    config_tls_names[t] : "unset";
}

static int
config_label(const char *key, const char *value, char **dst, struct buf *err)
{
	const char *p;

	for (p = value; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.') {
			buf_printf(err, "%s: \"%s\" is not a label (letters, "
			    "digits, - _ .)", key, value);
			return -1;
		}
	if (*value == '\0') {
		buf_printf(err, "%s: empty label", key);
		return -1;
	}
	return config_strdup(dst, value, err);
}

/* dns_servers: ip, ip:port or [ipv6]:port, as c-ares takes them. */
static int
config_dns_servers(const char *value, char **out, struct buf *err)
{
	char **items, *it, *close, *colon, host[64];
	size_t n, i, hl;
	uint16_t port;
	struct buf csv;

	if (config_list(value, &items, &n, err) == -1)
		return -1;
	buf_init(&csv);
	for (i = 0; i < n; i++) {
		it = items[i];
		port = 53;
		if (it[0] == '[') {
			if ((close = strchr(it, ']')) == NULL)
				goto bad;
			hl = (size_t)(close - it - 1);
			if (close[1] == ':') {
				if (config_port("dns_servers", close + 2, &port,
				    err) == -1)
					goto fail;
			} else if (close[1] != '\0')
				goto bad;
			if (hl >= sizeof(host))
				goto bad;
			memcpy(host, it + 1, hl);
			host[hl] = '\0';
		} else {
			if ((colon = strchr(it, ':')) != NULL &&
			    strchr(colon + 1, ':') == NULL) {
				if (config_port("dns_servers", colon + 1, &port,
				    err) == -1)
					goto fail;
				*colon = '\0';
			}
			if (strlen(it) >= sizeof(host))
				goto bad;
			snprintf(host, sizeof(host), "%s", it);
		}
		if (!config_ip_literal(host))
			goto bad;
		if (strchr(host, ':') != NULL)
			buf_printf(&csv, "%s[%s]:%u", csv.len ? "," : "", host,
			    port);
		else
			buf_printf(&csv, "%s%s:%u", csv.len ? "," : "", host,
			    port);
	}
	if (n == 0) {
		buf_puts(err, "dns_servers: no server given");
		goto fail;
	}
	config_list_free(items, n);
	free(*out);
	*out = buf_steal(&csv);
	return *out == NULL ? -1 : 0;
bad:
	buf_printf(err, "dns_servers: \"%s\" is not an IP address, ip:port "
	    "or [ipv6]:port", items[i]);
fail:
	buf_fini(&csv);
	config_list_free(items, n);
	return -1;
}

static int
config_retry_schedule(const char *value, struct imc_config *cfg,
    struct buf *err)
{
	char **items;
	size_t n, i;
	uint64_t *v;

	if (config_list(value, &items, &n, err) == -1)
		return -1;
	if (n == 0 || n > 100) {
		buf_puts(err, "retry_schedule: give 1 to 100 durations");
		config_list_free(items, n);
		return -1;
	}
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		if (config_number("retry_schedule", items[i], &v[i], err) ==
		    -1) {
			free(v);
			config_list_free(items, n);
			return -1;
		}
	config_list_free(items, n);
	free(cfg->retry_schedule);
	cfg->retry_schedule = v;
	cfg->n_retry_schedule = n;
	return 0;
}

static void
config_auths_free(struct imc_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_auths; i++) {
		free(cfg->auths[i].label);
		free(cfg->auths[i].user);
		if (cfg->auths[i].pass != NULL) {
			explicit_bzero(cfg->auths[i].pass,
			    strlen(cfg->auths[i].pass));
			free(cfg->auths[i].pass);
		}
	}
	free(cfg->auths);
	cfg->auths = NULL;
	cfg->n_auths = 0;
}

/* auth_file: a regular file, no group or other access, owned by us or
 * root; lines "LABEL USERNAME PASSWORD", # comments. */
static int
config_auth_file(const char *path, struct imc_config *cfg, struct buf *err)
{
	struct stat st;
	char *data = NULL, *line, *save = NULL, *f[4], *s2;
	size_t lineno = 0;
	ssize_t n;
	int fd, k;
	struct imc_auth *v;

	config_auths_free(cfg);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		buf_printf(err, "auth_file: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		buf_printf(err, "auth_file: %s is not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		buf_printf(err, "auth_file: %s is mode %04o; it must be 0600 (no "
		    "access for group or others)", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	/* The owner is checked against the service user once the whole
	 * file is read (config_check_auth_owner): "user" may come later. */
	cfg->auth_file_uid = st.st_uid;
	if (st.st_size > 1024 * 1024) {
		buf_printf(err, "auth_file: %s is too big", path);
		goto fail;
	}
	data = xcalloc(1, (size_t)st.st_size + 1);
	if ((n = read(fd, data, (size_t)st.st_size)) != st.st_size) {
		buf_printf(err, "auth_file: %s: cannot read it", path);
		goto fail;
	}
	for (line = strtok_r(data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if ((s2 = strchr(line, '#')) != NULL && (s2 == line ||
		    isspace((unsigned char)s2[-1])))
			*s2 = '\0';
		for (k = 0; k < 4; k++) {
			while (*line != '\0' && isspace((unsigned char)*line))
				line++;
			if (*line == '\0') {
				f[k] = NULL;
				break;
			}
			f[k] = line;
			while (*line != '\0' && !isspace((unsigned char)*line))
				line++;
			if (*line != '\0')
				*line++ = '\0';
		}
		if (k == 0 || f[0] == NULL)
			continue;
		if (k != 3) {
			buf_printf(err, "auth_file: %s:%zu: want \"LABEL USERNAME "
			    "PASSWORD\"", path, lineno);
			goto fail;
		}
		cfg->auths = xreallocarray(cfg->auths, cfg->n_auths + 1,
		    sizeof(*cfg->auths));
		v = &cfg->auths[cfg->n_auths++];
		v->label = xstrdup(f[0]);
		v->user = xstrdup(f[1]);
		v->pass = xstrdup(f[2]);
	}
	explicit_bzero(data, (size_t)st.st_size);
	free(data);
	close(fd);
	return 0;
fail:
	if (data != NULL) {
		explicit_bzero(data, (size_t)st.st_size);
		free(data);
	}
	close(fd);
	return -1;
}

const struct imc_auth *
config_auth(const struct imc_config *cfg, const char *label)
{
	size_t i;

	if (label == NULL)
		return NULL;
	for (i = 0; i < cfg->n_auths; i++)
		if (!strcmp(cfg->auths[i].label, label))
			return &cfg->auths[i];
	return NULL;
}

/* SMTP keys valid in [domain] sections; 1 if not one of them. */
static int
config_domain_smtp_key(struct imc_domain_conf *d, const char *key,
    const char *value, struct buf *err)
{
	if (!strcmp(key, "relay"))
		return config_relays(key, value, &d->relay, err);
	if (!strcmp(key, "tls"))
		return config_tls(value, &d->tls, err);
	if (!strcmp(key, "auth"))
		return config_label(key, value, &d->auth, err);
	return 1;
}

/* SMTP keys of the global part; 1 if not one of them. */
static int
config_smtp_key(struct imc_config *cfg, const char *key, const char *value,
    struct buf *err)
{
	uint64_t v;

	if (!strcmp(key, "smarthost"))
		return config_relays(key, value, &cfg->smarthost, err);
	if (!strcmp(key, "dns_servers"))
		return config_dns_servers(value, &cfg->dns_servers, err);
	if (!strcmp(key, "mx_port"))
		return config_port(key, value, &cfg->mx_port, err);
	if (!strcmp(key, "prefer_family")) {
		static const char *const names[] = { "ipv6", "ipv4" };
		int i;

		if (config_choice(key, value, names, 2, &i, err) == -1)
			return -1;
		cfg->prefer_family = i == 1 ? IMC_FAMILY_IPV4 : IMC_FAMILY_IPV6;
		return 0;
	}
	if (!strcmp(key, "max_hops")) {
		if (config_number(key, value, &v, err) == -1)
			return -1;
		cfg->max_hops = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "tls"))
		return config_tls(value, &cfg->tls, err);
	if (!strcmp(key, "tls_ca_file")) {
		if (access(value, R_OK) == -1) {
			buf_printf(err, "tls_ca_file: %s: %s", value,
			    strerror(errno));
			return -1;
		}
		return config_strdup(&cfg->tls_ca_file, value, err);
	}
	if (!strcmp(key, "auth"))
		return config_label(key, value, &cfg->auth, err);
	if (!strcmp(key, "auth_file")) {
		if (config_auth_file(value, cfg, err) == -1)
			return -1;
		return config_strdup(&cfg->auth_file, value, err);
	}
	if (!strcmp(key, "retry_schedule"))
		return config_retry_schedule(value, cfg, err);
	if (!strcmp(key, "delay_warning"))
		return config_number(key, value, &cfg->delay_warning, err);
	if (!strcmp(key, "protocol_log")) {
		/* in the order of enum imc_protocol_log */
		static const char *const names[] = { "none", "minimum",
		    "maximum" };
		int i;

		if (config_choice(key, value, names, 3, &i, err) == -1)
			return -1;
		cfg->protocol_log = (enum imc_protocol_log)i;
		return 0;
	}
	{
		static const struct {
			const char *key;
			size_t off;
		} durs[] = {
			{ "timeout_connect", offsetof(struct imc_config,
			    timeout_connect) },
			{ "timeout_greeting", offsetof(struct imc_config,
			    timeout_greeting) },
			{ "timeout_command", offsetof(struct imc_config,
			    timeout_command) },
			{ "timeout_data_init", offsetof(struct imc_config,
			    timeout_data_init) },
			{ "timeout_data_block", offsetof(struct imc_config,
			    timeout_data_block) },
			{ "timeout_data_done", offsetof(struct imc_config,
			    timeout_data_done) },
		}, counts[] = {
			{ "max_connections", offsetof(struct imc_config,
			    max_connections) },
			{ "max_per_destination", offsetof(struct imc_config,
			    max_per_destination) },
			{ "max_messages_per_connection", offsetof(struct
			    imc_config, max_messages_per_connection) },
			{ "max_rcpts_per_transaction", offsetof(struct
			    imc_config, max_rcpts_per_transaction) },
		};
		size_t i;

		for (i = 0; i < sizeof(durs) / sizeof(durs[0]); i++)
			if (!strcmp(key, durs[i].key)) {
				uint64_t *dst = (uint64_t *)((char *)cfg +
				    durs[i].off);

				return config_number(key, value, dst, err);
			}
		for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
			if (!strcmp(key, counts[i].key))
				return config_number(key, value,
				    (uint64_t *)((char *)cfg + counts[i].off),
				    err);
	}
	return 1;
}

/* Folders of the system: a root may be neither one of them nor inside one
 * (imc-layout would hand it to the service user). */
static const char *const config_system_trees[] = {
	"/bin", "/boot", "/dev", "/efi", "/etc", "/lib", "/lib32", "/lib64",
	"/libx32", "/lost+found", "/proc", "/root", "/run", "/sbin", "/snap",
	"/sys", "/usr", "/var/lock", "/var/run",
};
/* Folders shared by many: a root may be inside them, never one of them. */
static const char *const config_shared_dirs[] = {
	"/", "/home", "/media", "/mnt", "/opt", "/srv", "/tmp", "/var",
	"/var/backups", "/var/cache", "/var/lib", "/var/local", "/var/log",
	"/var/mail", "/var/opt", "/var/spool", "/var/tmp",
};

/* "/a/./b//../c/" as "/a/c": the path's meaning without the filesystem. */
static int
config_path_clean(const char *in, struct buf *out)
{
	const char *p = in, *e;
	size_t n;

	buf_reset(out);
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (out->len > 0 && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > 0)
				out->len--;	/* the "/" before it */
			if (out->data != NULL)
				out->data[out->len] = '\0';
		} else if (!(n == 1 && p[0] == '.') &&
		    (buf_putc(out, '/') == -1 || buf_append(out, p, n) == -1))
			return -1;
		p += n;
	}
	if (out->len == 0 && buf_putc(out, '/') == -1)
		return -1;
	return 0;
}

/* The path with symbolic links resolved as far as it exists: realpath of
 * the deepest existing folder, then the rest as written. */
static int
config_path_resolve(const char *clean, struct buf *out)
{
	char *head, *real, *slash;
	size_t cut;
	int r = -1;

	head = xstrdup(clean);
	for (;;) {
		if ((real = realpath(head, NULL)) != NULL)
			break;
		if (errno == ENOMEM)
			log_nomem(EX_OSERR, "realpath", 0, 0);
		if (strcmp(head, "/") == 0) {
			free(head);
			return config_path_clean(clean, out);
		}
		slash = strrchr(head, '/');
		*slash = '\0';
		if (head[0] == '\0')
			head[0] = '/', head[1] = '\0';
	}
	cut = strcmp(head, "/") == 0 ? 0 : strlen(head);
	buf_reset(out);
	if (buf_puts(out, real) == 0 && (clean[cut] == '\0' ||
	    ((strcmp(real, "/") == 0 || buf_putc(out, '/') == 0) &&
	    buf_puts(out, clean + cut + (clean[cut] == '/')) == 0)))
		r = 0;
	free(real);
	free(head);
	return r;
}

/* Is path dir itself (exact) or inside it. */
static bool
config_path_within(const char *path, const char *dir, bool exact)
{
	size_t n = strlen(dir);

	if (strcmp(path, dir) == 0)
		return true;
	return !exact && strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* The system folder a root would be or be inside, or NULL. */
static const char *
config_root_system_dir(const char *path, bool *inside)
{
	size_t i;

	for (i = 0; i < sizeof(config_shared_dirs) /
	    sizeof(config_shared_dirs[0]); i++)
		if (config_path_within(path, config_shared_dirs[i], true)) {
			*inside = false;
			return config_shared_dirs[i];
		}
	for (i = 0; i < sizeof(config_system_trees) /
	    sizeof(config_system_trees[0]); i++)
		if (config_path_within(path, config_system_trees[i], false)) {
			*inside = strcmp(path, config_system_trees[i]) != 0;
			return config_system_trees[i];
		}
	return NULL;
}

/* root: absolute, and neither a system folder nor inside one, as written
 * (after "." and ".."), nor once symbolic links are resolved. */
static int
config_root(const char *value, struct buf *err)
{
	struct buf clean, real;
	const char *sys = NULL, *shown = NULL;
	bool inside = false;
	int r = -1;

	if (value[0] != '/') {
		buf_printf(err, "root: \"%s\" is not an absolute path", value);
		return -1;
	}
	buf_init(&clean);
	buf_init(&real);
	if (config_path_clean(value, &clean) == -1 ||
	    config_path_resolve(buf_cstr(&clean), &real) == -1) {
		buf_printf(err, "root: \"%s\" is too long", value);
		goto out;
	}
	if ((sys = config_root_system_dir(buf_cstr(&clean), &inside)) != NULL)
		shown = buf_cstr(&clean);
	else if ((sys = config_root_system_dir(buf_cstr(&real), &inside)) != NULL)
		shown = buf_cstr(&real);
	if (sys == NULL)
		r = 0;
	else
		buf_printf(err, "root: \"%s\"%s%s%s is %s system folder %s; the "
		    "tree needs a folder of its own (such as /var/lib/imcdata), "
		    "because imc-layout gives the root to the service user",
		    value, strcmp(shown, value) != 0 ? " (that is " : "",
		    strcmp(shown, value) != 0 ? shown : "",
		    strcmp(shown, value) != 0 ? ")" : "",
		    inside ? "inside the" : "the", sys);
out:
	buf_fini(&clean);
	buf_fini(&real);
	return r;
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
			r = config_domain_smtp_key(&cfg->domains[cfg->n_domains -
			    1], key, value, err);
		if (r == 1)
			buf_printf(err, "unknown key \"%s\" in [%s %s]", key, kind,
			    name);
		return r == 0 ? 0 : -1;
	}
	if ((r = config_charset_key(&cfg->cs, key, value, err)) != 1)
		return r;
	/* A writer may not read the credentials (nor a CA file kept
	 * private): the paths are kept, nothing is opened. */
	if (cp->mode == CONFIG_SUBMIT && !strcmp(key, "auth_file"))
		return config_strdup(&cfg->auth_file, value, err);
	if (cp->mode == CONFIG_SUBMIT && !strcmp(key, "tls_ca_file"))
		return config_strdup(&cfg->tls_ca_file, value, err);
	if ((r = config_smtp_key(cfg, key, value, err)) != 1)
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
		if (config_root(value, err) == -1)
			return -1;
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
		return config_number(key, value, &cfg->max_message_size, err);
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
	if (!strcmp(key, "allow_root")) {
		if (conf_parse_bool(value, &cfg->allow_root) == -1) {
			buf_printf(err, "allow_root: \"%s\" is not yes or no",
			    value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "group")) {
		if (getgrnam(value) == NULL) {
			buf_printf(err, "group: no such group \"%s\"", value);
			return -1;
		}
		return config_strdup(&cfg->group, value, err);
	}
	if (!strcmp(key, "pickup_settle"))
		return config_number(key, value, &cfg->pickup_settle, err);
	if (!strcmp(key, "pickup_rescan"))
		return config_number(key, value, &cfg->pickup_rescan, err);
	if (!strcmp(key, "local_retry"))
		return config_number(key, value, &cfg->local_retry, err);
	if (!strcmp(key, "max_lifetime"))
		return config_number(key, value, &cfg->max_lifetime, err);
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
	cfg->mx_port = 25;
	cfg->prefer_family = IMC_FAMILY_IPV6;
	cfg->max_hops = 100;
	cfg->tls = IMC_TLS_MAY;
	cfg->delay_warning = 12 * 3600;
	cfg->protocol_log = PROTOLOG_NONE;
	/* RFC 5321 section 4.5.3.2; connect: as Postfix */
	cfg->timeout_connect = 30;
	cfg->timeout_greeting = 300;
	cfg->timeout_command = 300;
	cfg->timeout_data_init = 120;
	cfg->timeout_data_block = 180;
	cfg->timeout_data_done = 600;
	cfg->max_connections = 20;
	cfg->max_per_destination = 4;
	cfg->max_messages_per_connection = 100;
	cfg->max_rcpts_per_transaction = 100;
}

static const uint64_t config_default_retry[] = { 900, 1800, 3600, 14400 };

/* After the file: defaults that allocate, and checks across keys. */
static int
config_finish_smtp(struct imc_config *cfg, const char *path,
    enum config_mode mode, struct buf *err)
{
	size_t i;

	if (cfg->retry_schedule == NULL) {
		cfg->retry_schedule = xmemdup(config_default_retry,
		    sizeof(config_default_retry));
		cfg->n_retry_schedule = 4;
	}
	if (cfg->auth != NULL) {
		if (mode == CONFIG_ALL && config_auth(cfg, cfg->auth) == NULL) {
			buf_printf(err, "%s: auth: no entry \"%s\" in %s", path,
			    cfg->auth, cfg->auth_file ? cfg->auth_file :
			    "auth_file (not set)");
			return -1;
		}
		if (cfg->tls == IMC_TLS_NONE) {
			buf_printf(err, "%s: auth is set with tls = none; "
			    "credentials are only sent over TLS", path);
			return -1;
		}
	}
	for (i = 0; i < cfg->n_domains; i++) {
		const struct imc_domain_conf *d = &cfg->domains[i];
		enum imc_tls t = d->tls != IMC_TLS_UNSET ? d->tls : cfg->tls;

		if (d->auth == NULL)
			continue;
		if (mode == CONFIG_ALL && config_auth(cfg, d->auth) == NULL) {
			buf_printf(err, "%s: [domain %s]: auth: no entry \"%s\" "
			    "in %s", path, d->name, d->auth, cfg->auth_file ?
			    cfg->auth_file : "auth_file (not set)");
			return -1;
		}
		if (t == IMC_TLS_NONE) {
			buf_printf(err, "%s: [domain %s]: auth is set with tls "
			    "= none; credentials are only sent over TLS", path,
			    d->name);
			return -1;
		}
	}
	return 0;
}

/* auth_file must belong to root or to the user the connector runs as:
 * the configured service user, else the one running it now. */
static int
config_check_auth_owner(const struct imc_config *cfg, const char *path,
    struct buf *err)
{
	struct passwd *pw;
	uid_t svc = geteuid();

	if (cfg->auth_file == NULL || cfg->auth_file_uid == 0)
		return 0;
	if (cfg->user != NULL && (pw = getpwnam(cfg->user)) != NULL)
		svc = pw->pw_uid;
	if (cfg->auth_file_uid == svc)
		return 0;
	buf_printf(err, "%s: auth_file: %s belongs to uid %u; it must be "
	    "root's or the service user's (uid %u)", path, cfg->auth_file,
	    (unsigned)cfg->auth_file_uid, (unsigned)svc);
	return -1;
}

/* config_load - defaults, then the file; -1 with "FILE:LINE: why" in err */
int
config_load(struct imc_config *cfg, const char *path, struct buf *err)
{
	return config_load_mode(cfg, path, CONFIG_ALL, err);
}

/* config_load_mode - config_load, reading only what the mode allows */
int
config_load_mode(struct imc_config *cfg, const char *path,
    enum config_mode mode, struct buf *err)
{
	struct config_parse cp = { cfg, false, mode };
	char host[HOST_NAME_MAX + 1];

	config_defaults(cfg);
	cfg->path = xstrdup(path);
	if (conf_parse_file(path, config_section, config_entry, &cp, err) == -1)
		return -1;
	if (!cp.seen_root) {
		buf_printf(err, "%s: missing required key \"root\"", path);
		return -1;
	}
	if (cfg->cs.legacy_charset == NULL)
		cfg->cs.legacy_charset = xstrdup("windows-1252");
	if (cfg->cs.charset == NULL)
		cfg->cs.charset = xstrdup("utf-8");
	if (cfg->hostname == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		if (!config_domain_name_ok(host)) {
			buf_printf(err, "%s: the system host name is not usable; "
			    "set \"hostname\"", path);
			return -1;
		}
		cfg->hostname = xstrdup(host);
	}
	config_lower(cfg->hostname);
	/* a writer's run never read the file: nothing to compare */
	if (mode == CONFIG_ALL && config_check_auth_owner(cfg, path, err) == -1)
		return -1;
	return config_finish_smtp(cfg, path, mode, err);
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
		config_relays_free(&cfg->domains[i].relay);
		free(cfg->domains[i].auth);
	}
	config_relays_free(&cfg->smarthost);
	free(cfg->dns_servers);
	free(cfg->tls_ca_file);
	free(cfg->auth);
	free(cfg->auth_file);
	config_auths_free(cfg);
	free(cfg->retry_schedule);
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

/* config_delivery_conv - the conversion of a copy delivered to domain */
void
config_delivery_conv(const struct imc_config *cfg, const char *domain,
    enum delivery_side side, struct delivery_conv *out)
{
	const struct imc_domain_conf *d = domain ? config_domain(cfg, domain) :
	    NULL;
	enum out_encoding enc = cfg->cs.encoding;

	out->charset = "preserve";
	out->seven_bit = false;
	if (domain == NULL)
		return;
	if (d != NULL && d->cs.encoding != ENCODING_UNSET)
		enc = d->cs.encoding;
	out->seven_bit = enc == ENCODING_7BIT;
	if (d != NULL && d->cs.charset != NULL)
		out->charset = d->cs.charset;
	else if (side == DELIVERY_STORE)
		out->charset = cfg->cs.charset != NULL ? cfg->cs.charset :
		    "utf-8";	/* config_defaults alone (imc-convert) */
}

bool
config_delivery_conv_eq(const struct delivery_conv *a,
    const struct delivery_conv *b)
{
	return a->seven_bit == b->seven_bit &&
	    strcasecmp(a->charset, b->charset) == 0;
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
