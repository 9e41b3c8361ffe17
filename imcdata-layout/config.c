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
#include <sys/un.h>
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
#include "cidr.h"
#include "conf.h"
#include "log.h"
#include "xalloc.h"

struct config_parse {
	struct imc_config *cfg;
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

/* A comma list of domain names, lowercased, into *list and *n; empty
 * items are skipped, an empty value gives none. */
static int
config_domains(const char *key, const char *value, char ***list, size_t *n,
    struct buf *err)
{
	char *copy, *tok, *save = NULL, *t, *e;
	size_t i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
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
		config_lower(t);
		if (!config_domain_name_ok(t)) {
			buf_printf(err, "%s: \"%s\" is not a domain name", key, t);
			free(copy);
			return -1;
		}
		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		(*list)[(*n)++] = xstrdup(t);
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
	memset(&d->store, 0, sizeof(d->store));
	d->store.kind = STORE_UNSET;
	d->lmtp_tls = IMC_TLS_UNSET;
	cfg->n_domains++;
	return 0;
}

/*
 * Every key of the file is one row of config_keys (below): what its value
 * is (the type, which picks the parser), where it may be written, the
 * field it sets, the range of a number, the words of a choice, its
 * default as the file would write it, and a handler for a key with a rule
 * of its own. config_entry looks a key up there and nowhere else.
 */
enum config_type {
	CONFIG_T_STRING,	/* char *: the value as written */
	CONFIG_T_PATH,		/* char *: a file name */
	CONFIG_T_LABEL,		/* char *: letters, digits, - _ . */
	CONFIG_T_BOOL,		/* bool: yes/no, true/false, on/off, 1/0 */
	CONFIG_T_COUNT,		/* an unsigned integer, bounded */
	CONFIG_T_DURATION,	/* uint64_t seconds, bounded */
	CONFIG_T_SIZE,		/* uint64_t bytes, bounded */
	CONFIG_T_PORT,		/* uint16_t, 1 to 65535 */
	CONFIG_T_CHOICE,	/* an enum: the index of one of the words */
	CONFIG_T_HOSTS,		/* struct imc_relay_list */
	CONFIG_T_DURATIONS,	/* uint64_t *, its count at noff; each bounded */
	CONFIG_T_DOMAINS,	/* char **, its count at noff; lowercased */
	CONFIG_T_STORE		/* struct store_target */
};

#define CONFIG_F_REQUIRED	0x1	/* the file must set it */
#define CONFIG_F_CASE		0x2	/* choice words match in case only */

struct config_key;
/* A key's own rule: check the value, then store it into field (usually
 * through config_value); 0, or -1 with a message in err. */
typedef int config_handler_fn(struct config_parse *,
    const struct config_key *, void *field, const char *value,
    struct buf *err);

struct config_key {
	const char	*name;
	enum config_type type;
	unsigned	 where;		/* CONFIG_GLOBAL | CONFIG_DOMAIN */
	size_t		 off, size;	/* the field in struct imc_config */
	size_t		 noff;		/* lists: their size_t count there */
	size_t		 doff;		/* the field in struct imc_domain_conf */
	uint64_t	 min, max;	/* numbers, and each item of a list */
	const char *const *words;	/* choices, in the enum's order, NULL
					   at the end */
	unsigned	 flags;		/* CONFIG_F_* */
	const char	*def;		/* the default as the file writes it */
	const char	*doc;		/* README's default when it is no value */
	config_handler_fn *handler;	/* instead of the type's parser */
};

enum config_unit { CONFIG_COUNT, CONFIG_SECONDS, CONFIG_BYTES };

#define CONFIG_DAY	86400ull
#define CONFIG_YEAR	(365 * CONFIG_DAY)

/* config_unit - how a bounded key's numbers are written */
static enum config_unit
config_unit(const struct config_key *k)
{
	if (k->type == CONFIG_T_DURATION || k->type == CONFIG_T_DURATIONS)
		return CONFIG_SECONDS;
	return k->type == CONFIG_T_SIZE ? CONFIG_BYTES : CONFIG_COUNT;
}

/* config_bounded - does the key have a range (min, max) */
static bool
config_bounded(const struct config_key *k)
{
	return k->type == CONFIG_T_COUNT || k->type == CONFIG_T_DURATION ||
	    k->type == CONFIG_T_SIZE || k->type == CONFIG_T_DURATIONS;
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
 * config_number - a count, duration (seconds) or size (bytes) for a
 * bounded key, inside its range. A number too big for 64 bits (by itself
 * or times its unit) is out of range like any other.
 */
static int
config_number(const struct config_key *k, const char *value, uint64_t *out,
    struct buf *err)
{
	static const char *const what[] = {
		"a number",
		"a duration (like 30s, 15m, 4h, 2d)",
		"a size (like 10M, 512K)",
	};
	enum config_unit unit = config_unit(k);
	unsigned long long n;
	uint64_t v = 0;
	char *end;
	int r;

	if (unit == CONFIG_SECONDS)
		r = conf_parse_duration(value, &v);
	else if (unit == CONFIG_BYTES)
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
		buf_printf(err, "%s: \"%s\" is not %s", k->name, value,
		    what[unit]);
		return -1;
	}
	if (r == -1 || v < k->min || v > k->max) {
		buf_printf(err, "%s: \"%s\" is out of range: from ", k->name,
		    value);
		config_put_value(err, unit, k->min);
		buf_puts(err, " to ");
		config_put_value(err, unit, k->max);
		return -1;
	}
	*out = v;
	return 0;
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

/* config_put_words - a choice's words as a message lists them: a, b or c */
static void
config_put_words(struct buf *b, const char *const *words)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		buf_printf(b, "%s%s", i == 0 ? "" : words[i + 1] == NULL ?
		    " or " : ", ", words[i]);
}

/* config_choice - one of the key's words (in any case unless the key
 * says CONFIG_F_CASE): its index in out */
static int
config_choice(const struct config_key *k, const char *value, int *out,
    struct buf *err)
{
	int i;

	for (i = 0; k->words[i] != NULL; i++)
		if ((k->flags & CONFIG_F_CASE) ? !strcmp(value, k->words[i]) :
		    !strcasecmp(value, k->words[i])) {
			*out = i;
			return 0;
		}
	buf_printf(err, "%s: \"%s\" is not ", k->name, value);
	config_put_words(err, k->words);
	return -1;
}

/* The words of the choice keys, in the order of their enums. */
static const char *const config_tls_names[] = { "none", "may", "encrypt",
    "verify", "implicit", NULL };
static const char *const config_lmtp_tls_names[] = { "none", "may",
    "encrypt", "verify", NULL };
static const char *const config_dots_names[] = { "iis", "literal", "auto",
    NULL };
static const char *const config_mode_names[] = { "group", "open", NULL };
static const char *const config_encoding_names[] = { "8bit", "7bit", NULL };
static const char *const config_family_names[] = { "ipv6", "ipv4", NULL };
static const char *const config_protolog_names[] = { "none", "minimum",
    "maximum", NULL };
static const char *const config_loglevel_names[] = { "debug", "info",
    "warning", NULL };

_Static_assert(LOG_LEVEL_DEBUG == 0 && LOG_LEVEL_WARN == 2, "log words");

_Static_assert(IMC_TLS_NONE == 0 && IMC_TLS_IMPLICIT == 4, "tls words");
_Static_assert(IMC_TLS_VERIFY == 3, "lmtp_tls words");
_Static_assert(PICKUP_DOTS_IIS == 0 && PICKUP_DOTS_LITERAL == 1 &&
    PICKUP_DOTS_AUTO == 2,
    "pickup_dots words");
_Static_assert(PICKUP_MODE_GROUP == 0 && PICKUP_MODE_OPEN == 1,
    "pickup_mode words");
_Static_assert(ENCODING_8BIT == 0 && ENCODING_7BIT == 1, "encoding words");
_Static_assert(IMC_FAMILY_IPV6 == 0 && IMC_FAMILY_IPV4 == 1,
    "prefer_family words");
_Static_assert(PROTOLOG_NONE == 0 && PROTOLOG_MAXIMUM == 2,
    "protocol_log words");

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

/* A comma list of 1 to 100 bounded durations into *list and *n. */
static int
config_durations(const struct config_key *k, const char *value,
    uint64_t **list, size_t *nlist, struct buf *err)
{
	char **items;
	size_t n, i;
	uint64_t *v;

	if (config_list(value, &items, &n, err) == -1)
		return -1;
	if (n == 0 || n > 100) {
		buf_printf(err, "%s: give 1 to 100 durations", k->name);
		config_list_free(items, n);
		return -1;
	}
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		if (config_number(k, items[i], &v[i], err) == -1) {
			free(v);
			config_list_free(items, n);
			return -1;
		}
	config_list_free(items, n);
	free(*list);
	*list = v;
	*nlist = n;
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

static void
config_store_clear(struct store_target *t)
{
	free(t->host);
	free(t->unix_path);
	memset(t, 0, sizeof(*t));
}

/*
 * config_store_target - "maildir", "drop", "lmtp:HOST:PORT",
 * "lmtp:[ADDR]:PORT" or "lmtp:unix:/path" into t (see config.h). The
 * words are matched in case, as every choice of the file is.
 */
static int
config_store_target(const char *key, const char *value,
    struct store_target *t, struct buf *err)
{
	struct store_target n = { .kind = STORE_LMTP };
	const char *rest, *port;
	char *host = NULL, *close;

	if (!strcmp(value, "maildir") || !strcmp(value, "drop")) {
		config_store_clear(t);
		t->kind = value[0] == 'm' ? STORE_MAILDIR : STORE_DROP;
		return 0;
	}
	if (strncmp(value, "lmtp:", 5) != 0) {
		buf_printf(err, "%s: \"%s\" is not supported (maildir, drop, "
		    "lmtp:HOST:PORT, lmtp:[ADDR]:PORT or lmtp:unix:/path)", key,
		    value);
		return -1;
	}
	rest = value + 5;
	if (strncmp(rest, "unix:", 5) == 0) {
		rest += 5;
		if (rest[0] != '/') {
			buf_printf(err, "%s: \"%s\": the socket path must be "
			    "absolute (lmtp:unix:/path)", key, value);
			return -1;
		}
		if (strlen(rest) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
			buf_printf(err, "%s: \"%s\": the socket path is longer "
			    "than %zu bytes", key, value,
			    sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
			return -1;
		}
		n.unix_path = xstrdup(rest);
		goto done;
	}
	if (rest[0] == '[') {
		host = xstrdup(rest + 1);
		if ((close = strchr(host, ']')) == NULL) {
			buf_printf(err, "%s: \"%s\" has no closing ]", key, value);
			goto fail;
		}
		*close = '\0';
		port = rest + 1 + (close - host) + 1;
		if (*port != ':') {
			buf_printf(err, "%s: \"%s\": the port is missing "
			    "(lmtp:[ADDR]:PORT)", key, value);
			goto fail;
		}
		port++;
		if (!config_ip_literal(host)) {
			buf_printf(err, "%s: \"%s\": \"%s\" is not an IP address",
			    key, value, host);
			goto fail;
		}
		n.literal = true;
	} else {
		if ((port = strrchr(rest, ':')) == NULL) {
			buf_printf(err, "%s: \"%s\": the port is missing "
			    "(lmtp:HOST:PORT)", key, value);
			return -1;
		}
		host = xstrndup(rest, (size_t)(port - rest));
		port++;
		if (strchr(host, ':') != NULL) {
			buf_printf(err, "%s: \"%s\": write an IPv6 address in "
			    "brackets, like lmtp:[::1]:24", key, value);
			goto fail;
		}
		n.literal = config_ip_literal(host);
		if (!n.literal && !config_domain_name_ok(host)) {
			buf_printf(err, "%s: \"%s\": \"%s\" is not a host name or "
			    "an IP address", key, value, host);
			goto fail;
		}
	}
	if (config_port(key, port, &n.port, err) == -1)
		goto fail;
	config_lower(host);
	n.host = host;
done:
	config_store_clear(t);
	*t = n;
	return 0;
fail:
	free(host);
	return -1;
}

/* config_set_uint - store v into an unsigned field (or an enum) of size */
static void
config_set_uint(void *field, size_t size, uint64_t v)
{
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	switch (size) {
	case sizeof(uint16_t):
		memcpy(field, &v16, size);
		break;
	case sizeof(uint32_t):
		memcpy(field, &v32, size);
		break;
	case sizeof(uint64_t):
		memcpy(field, &v, size);
		break;
	default:
		abort();	/* a row of config_keys with a wrong field */
	}
}

/*
 * config_value - the parser of the key's type: value into field (in cfg,
 * or in a [domain] section). Lists keep their count in cfg at noff.
 */
static int
config_value(struct imc_config *cfg, const struct config_key *k, void *field,
    const char *value, struct buf *err)
{
	uint64_t v;
	int i;

	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_PATH:
		return config_strdup(field, value, err);
	case CONFIG_T_LABEL:
		return config_label(k->name, value, field, err);
	case CONFIG_T_BOOL:
		if (conf_parse_bool(value, field) == -1) {
			buf_printf(err, "%s: \"%s\" is not yes or no", k->name,
			    value);
			return -1;
		}
		return 0;
	case CONFIG_T_COUNT:
	case CONFIG_T_DURATION:
	case CONFIG_T_SIZE:
		if (config_number(k, value, &v, err) == -1)
			return -1;
		config_set_uint(field, k->size, v);
		return 0;
	case CONFIG_T_PORT:
		return config_port(k->name, value, field, err);
	case CONFIG_T_CHOICE:
		if (config_choice(k, value, &i, err) == -1)
			return -1;
		config_set_uint(field, k->size, (uint64_t)i);
		return 0;
	case CONFIG_T_HOSTS:
		return config_relays(k->name, value, field, err);
	case CONFIG_T_DURATIONS:
		return config_durations(k, value, field,
		    (size_t *)(void *)((char *)cfg + k->noff), err);
	case CONFIG_T_DOMAINS:
		return config_domains(k->name, value, field,
		    (size_t *)(void *)((char *)cfg + k->noff), err);
	case CONFIG_T_STORE:
		return config_store_target(k->name, value, field, err);
	}
	abort();
}

/* The handlers: keys with a rule of their own. */

/* root: see config_root */
static int
config_h_root(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	if (config_root(value, err) == -1)
		return -1;
	return config_value(cp->cfg, k, field, value, err);
}

static int
config_h_hostname(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	if (!config_domain_name_ok(value)) {
		buf_printf(err, "hostname: \"%s\" is not a host name", value);
		return -1;
	}
	return config_value(cp->cfg, k, field, value, err);
}

static int
config_h_user(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	if (getpwnam(value) == NULL) {
		buf_printf(err, "user: no such user \"%s\"", value);
		return -1;
	}
	return config_value(cp->cfg, k, field, value, err);
}

static int
config_h_group(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	if (getgrnam(value) == NULL) {
		buf_printf(err, "%s: no such group \"%s\"", k->name, value);
		return -1;
	}
	return config_value(cp->cfg, k, field, value, err);
}

/* legacy_charset: a charset the alias table knows */
static int
config_h_legacy_charset(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	struct charset_info ci;

	if (charset_lookup(value, strlen(value), &ci) == CHARSET_UNKNOWN) {
		buf_printf(err, "legacy_charset: unknown charset \"%s\"", value);
		return -1;
	}
	return config_value(cp->cfg, k, field, value, err);
}

/* charset: utf-8, preserve, or one we can write; kept lowercased */
static int
config_h_charset(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	if (strcasecmp(value, "utf-8") != 0 &&
	    strcasecmp(value, "preserve") != 0 &&
	    charset_encoder(value) == NULL) {
		buf_printf(err, "charset: \"%s\" is not utf-8, preserve or "
		    "a charset this connector can write", value);
		return -1;
	}
	if (config_value(cp->cfg, k, field, value, err) == -1)
		return -1;
	config_lower(*(char **)field);
	return 0;
}

/* detect_charsets: a comma list of charsets the alias table can write */
static int
config_h_detect_charsets(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	const char *p = value, *e;
	char name[CHARSET_NAME_SIZE];
	size_t n, count = 0;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		for (e = p; *e != '\0' && *e != ',' && *e != ' ' && *e != '\t';
		    e++)
			;
		if ((n = (size_t)(e - p)) == 0)
			break;
		if (n > CHARSET_NAME_MAX) {
			buf_printf(err, "detect_charsets: \"%.*s\" is too long",
			    (int)n, p);
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (charset_mime_label(name) == NULL) {
			buf_printf(err, "detect_charsets: unknown charset "
			    "\"%s\"", name);
			return -1;
		}
		count++;
		p = e;
	}
	if (count == 0) {
		buf_puts(err, "detect_charsets: no charset named");
		return -1;
	}
	return config_value(cp->cfg, k, field, value, err);
}

static int
config_h_dns_servers(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	(void)cp;
	(void)k;
	return config_dns_servers(value, field, err);
}

/* A writer may not read the credentials (nor a CA file kept private):
 * with CONFIG_SUBMIT the paths are kept, nothing is opened. */
static int
config_h_tls_ca_file(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	if (cp->mode == CONFIG_ALL && access(value, R_OK) == -1) {
		buf_printf(err, "tls_ca_file: %s: %s", value, strerror(errno));
		return -1;
	}
	return config_value(cp->cfg, k, field, value, err);
}

static int
config_h_auth_file(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	if (cp->mode == CONFIG_ALL &&
	    config_auth_file(value, cp->cfg, err) == -1)
		return -1;
	return config_value(cp->cfg, k, field, value, err);
}

/* listen: "addr:port" or "[ipv6]:port", comma list, addresses only
 * (a listener binds what it is told, never what a name resolves to). */
static int
config_h_listen(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	char **items, *it, *sep, host[64];
	size_t n, i, hl;
	uint16_t port;

	if (config_list(value, &items, &n, err) == -1)
		return -1;
	if (n == 0) {
		buf_printf(err, "%s: no address given", k->name);
		config_list_free(items, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		it = items[i];
		if (it[0] == '[') {
			sep = strchr(it, ']');
			if (sep == NULL || sep[1] != ':')
				goto bad;
			hl = (size_t)(sep - it - 1);
			it++;
			sep++;
		} else {
			sep = strrchr(it, ':');
			if (sep == NULL || memchr(it, ':', (size_t)(sep - it)))
				goto bad;
			hl = (size_t)(sep - it);
		}
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, it, hl);
		host[hl] = '\0';
		if (!config_ip_literal(host) ||
		    config_port(k->name, sep + 1, &port, err) == -1)
			goto bad;
	}
	config_list_free(items, n);
	return config_value(cp->cfg, k, field, value, err);
bad:
	if (err->len == 0)
		buf_printf(err, "%s: \"%s\" is not addr:port or "
		    "[ipv6]:port", k->name, items[i]);
	config_list_free(items, n);
	return -1;
}

static int
config_h_relay_networks(struct config_parse *cp, const struct config_key *k,
    void *field, const char *value, struct buf *err)
{
	struct cidr *list;
	size_t n;

	if (cidr_parse_list(value, &list, &n, err) == -1) {
		struct buf msg;

		buf_init(&msg);
		buf_printf(&msg, "relay_networks: %s", buf_cstr(err));
		buf_reset(err);
		buf_append(err, msg.data, msg.len);
		buf_fini(&msg);
		return -1;
	}
	free(list);
	return config_value(cp->cfg, k, field, value, err);
}

#define CONFIG_G(f)	.off = offsetof(struct imc_config, f), \
			.size = sizeof(((struct imc_config *)NULL)->f)
#define CONFIG_N(f)	.noff = offsetof(struct imc_config, f)
#define CONFIG_D(f)	.doff = offsetof(struct imc_domain_conf, f)
#define CONFIG_BOTH	(CONFIG_GLOBAL | CONFIG_DOMAIN)

/*
 * The keys, in README.md's order (tests/unit/check_config_doc.c holds
 * README's table and its list of [domain] keys against this one).
 *
 * Why every number has a range: the code adds durations to the clock and
 * turns them into milliseconds, so a value near 2^64 wrapped
 * (pickup_rescan = 18446744073709551615 made every rescan due at once: a
 * daemon spinning; such a max_lifetime bounced every message at its first
 * deferral). The limits are what an admin could mean: timeouts from 1s to
 * a day (RFC 5321 asks minutes), waits and lifetimes up to a year, counts
 * up to 10000 (each connection and recipient costs memory and
 * descriptors), messages up to 2G.
 *
 * Defaults of fields that need no allocation are set by config_defaults,
 * the others after the file (when it did not set them); both parse def
 * with the key's parser. Keys whose default is no value (a system
 * setting, "none") have the words README shows in doc instead.
 */
static const struct config_key config_keys[] = {
	{ "root", CONFIG_T_PATH, CONFIG_GLOBAL, CONFIG_G(root),
	    .flags = CONFIG_F_REQUIRED, .doc = "(required)",
	    .handler = config_h_root },
	{ "hostname", CONFIG_T_STRING, CONFIG_GLOBAL, CONFIG_G(hostname),
	    .doc = "system host name", .handler = config_h_hostname },
	{ "local_domains", CONFIG_T_DOMAINS, CONFIG_GLOBAL,
	    CONFIG_G(local_domains), CONFIG_N(n_local_domains),
	    .doc = "(none)" },
	{ "store", CONFIG_T_STORE, CONFIG_BOTH, CONFIG_G(store),
	    CONFIG_D(store), .def = "maildir" },
	{ "lmtp_tls", CONFIG_T_CHOICE, CONFIG_BOTH, CONFIG_G(lmtp_tls),
	    CONFIG_D(lmtp_tls), .words = config_lmtp_tls_names, .def = "none" },
	{ "drop_group", CONFIG_T_STRING, CONFIG_GLOBAL, CONFIG_G(drop_group),
	    .doc = "the service user's group", .handler = config_h_group },
	{ "max_message_size", CONFIG_T_SIZE, CONFIG_GLOBAL,
	    CONFIG_G(max_message_size), .min = 1024, .max = 2ull << 30,
	    .def = "10M" },
	{ "archive", CONFIG_T_BOOL, CONFIG_GLOBAL, CONFIG_G(archive),
	    .def = "no" },
	{ "pickup_dots", CONFIG_T_CHOICE, CONFIG_GLOBAL, CONFIG_G(pickup_dots),
	    .words = config_dots_names, .flags = CONFIG_F_CASE, .def = "auto" },
	{ "user", CONFIG_T_STRING, CONFIG_GLOBAL, CONFIG_G(user),
	    .doc = "the running user", .handler = config_h_user },
	{ "allow_root", CONFIG_T_BOOL, CONFIG_GLOBAL, CONFIG_G(allow_root),
	    .def = "no" },
	{ "group", CONFIG_T_STRING, CONFIG_GLOBAL, CONFIG_G(group),
	    .doc = "the user's group", .handler = config_h_group },
	{ "pickup_mode", CONFIG_T_CHOICE, CONFIG_GLOBAL, CONFIG_G(pickup_mode),
	    .words = config_mode_names, .flags = CONFIG_F_CASE,
	    .def = "group" },
	{ "pickup_settle", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(pickup_settle), .min = 0, .max = 3600, .def = "2s" },
	{ "pickup_rescan", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(pickup_rescan), .min = 1, .max = CONFIG_DAY, .def = "30s" },
	{ "local_retry", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(local_retry), .min = 1, .max = CONFIG_DAY, .def = "5m" },
	{ "max_lifetime", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(max_lifetime), .min = 1, .max = CONFIG_YEAR, .def = "2d" },
	{ "legacy_charset", CONFIG_T_STRING, CONFIG_BOTH,
	    CONFIG_G(cs.legacy_charset), CONFIG_D(cs.legacy_charset),
	    .def = "windows-1252", .handler = config_h_legacy_charset },
	{ "charset", CONFIG_T_STRING, CONFIG_BOTH, CONFIG_G(cs.charset),
	    CONFIG_D(cs.charset), .def = "utf-8",
	    .handler = config_h_charset },
	{ "encoding", CONFIG_T_CHOICE, CONFIG_BOTH, CONFIG_G(cs.encoding),
	    CONFIG_D(cs.encoding), .words = config_encoding_names,
	    .def = "8bit" },
	{ "detect", CONFIG_T_BOOL, CONFIG_GLOBAL, CONFIG_G(detect),
	    .def = "no" },
	{ "detect_charsets", CONFIG_T_STRING, CONFIG_GLOBAL,
	    CONFIG_G(detect_charsets), .def = CONFIG_DETECT_CHARSETS,
	    .handler = config_h_detect_charsets },
	{ "smarthost", CONFIG_T_HOSTS, CONFIG_GLOBAL, CONFIG_G(smarthost),
	    .doc = "(none: DNS MX)" },
	{ "dns_servers", CONFIG_T_STRING, CONFIG_GLOBAL, CONFIG_G(dns_servers),
	    .doc = "system resolver", .handler = config_h_dns_servers },
	{ "mx_port", CONFIG_T_PORT, CONFIG_GLOBAL, CONFIG_G(mx_port),
	    .def = "25" },
	{ "prefer_family", CONFIG_T_CHOICE, CONFIG_GLOBAL,
	    CONFIG_G(prefer_family), .words = config_family_names,
	    .def = "ipv6" },
	{ "max_hops", CONFIG_T_COUNT, CONFIG_GLOBAL, CONFIG_G(max_hops),
	    .min = 1, .max = 10000, .def = "100" },
	{ "tls", CONFIG_T_CHOICE, CONFIG_BOTH, CONFIG_G(tls), CONFIG_D(tls),
	    .words = config_tls_names, .def = "may" },
	{ "tls_ca_file", CONFIG_T_PATH, CONFIG_GLOBAL, CONFIG_G(tls_ca_file),
	    .doc = "system CAs", .handler = config_h_tls_ca_file },
	{ "auth", CONFIG_T_LABEL, CONFIG_BOTH, CONFIG_G(auth), CONFIG_D(auth),
	    .doc = "(none)" },
	{ "auth_file", CONFIG_T_PATH, CONFIG_GLOBAL, CONFIG_G(auth_file),
	    .doc = "(none)", .handler = config_h_auth_file },
	{ "retry_schedule", CONFIG_T_DURATIONS, CONFIG_GLOBAL,
	    CONFIG_G(retry_schedule), CONFIG_N(n_retry_schedule), .min = 1,
	    .max = 7 * CONFIG_DAY, .def = "15m, 30m, 1h, 4h" },
	{ "delay_warning", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(delay_warning), .min = 0, .max = CONFIG_YEAR,
	    .def = "12h" },	/* 0: never */
	{ "protocol_log", CONFIG_T_CHOICE, CONFIG_GLOBAL,
	    CONFIG_G(protocol_log), .words = config_protolog_names,
	    .def = "none" },
	/* RFC 5321 section 4.5.3.2; connect: as Postfix */
	{ "timeout_connect", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(timeout_connect), .min = 1, .max = CONFIG_DAY,
	    .def = "30s" },
	{ "timeout_greeting", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(timeout_greeting), .min = 1, .max = CONFIG_DAY,
	    .def = "5m" },
	{ "timeout_command", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(timeout_command), .min = 1, .max = CONFIG_DAY,
	    .def = "5m" },
	{ "timeout_data_init", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(timeout_data_init), .min = 1, .max = CONFIG_DAY,
	    .def = "2m" },
	{ "timeout_data_block", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(timeout_data_block), .min = 1, .max = CONFIG_DAY,
	    .def = "3m" },
	{ "timeout_data_done", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(timeout_data_done), .min = 1, .max = CONFIG_DAY,
	    .def = "10m" },
	{ "max_connections", CONFIG_T_COUNT, CONFIG_GLOBAL,
	    CONFIG_G(max_connections), .min = 1, .max = 10000, .def = "20" },
	{ "max_per_destination", CONFIG_T_COUNT, CONFIG_GLOBAL,
	    CONFIG_G(max_per_destination), .min = 1, .max = 10000,
	    .def = "4" },
	{ "max_messages_per_connection", CONFIG_T_COUNT, CONFIG_GLOBAL,
	    CONFIG_G(max_messages_per_connection), .min = 1, .max = 10000,
	    .def = "100" },
	{ "max_rcpts_per_transaction", CONFIG_T_COUNT, CONFIG_GLOBAL,
	    CONFIG_G(max_rcpts_per_transaction), .min = 1, .max = 10000,
	    .def = "100" },
	/* The SMTP listener (connector/smtpd/smtpd.h) */
	{ "listen", CONFIG_T_STRING, CONFIG_GLOBAL, CONFIG_G(listen),
	    .doc = "(none: no listener)", .handler = config_h_listen },
	{ "smtpd_banner", CONFIG_T_STRING, CONFIG_GLOBAL,
	    CONFIG_G(smtpd_banner), .doc = "hostname, then ESMTP" },
	{ "relay_domains", CONFIG_T_DOMAINS, CONFIG_GLOBAL,
	    CONFIG_G(relay_domains), CONFIG_N(n_relay_domains),
	    .doc = "(none)" },
	{ "relay_networks", CONFIG_T_STRING, CONFIG_GLOBAL,
	    CONFIG_G(relay_networks), .doc = "(none)",
	    .handler = config_h_relay_networks },
	{ "smtpd_max_connections", CONFIG_T_COUNT, CONFIG_GLOBAL,
	    CONFIG_G(smtpd_max_connections), .min = 1, .max = 100000,
	    .def = "1000" },
	{ "smtpd_max_per_client", CONFIG_T_COUNT, CONFIG_GLOBAL,
	    CONFIG_G(smtpd_max_per_client), .min = 1, .max = 100000,
	    .def = "50" },
	{ "smtpd_max_errors", CONFIG_T_COUNT, CONFIG_GLOBAL,
	    CONFIG_G(smtpd_max_errors), .min = 1, .max = 1000, .def = "10" },
	{ "smtpd_timeout", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(smtpd_timeout), .min = 1, .max = CONFIG_DAY,
	    .def = "5m" },
	{ "smtpd_greet_pause", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(smtpd_greet_pause), .min = 0, .max = 60, .def = "1s" },
	{ "smtpd_reverse_dns", CONFIG_T_BOOL, CONFIG_GLOBAL,
	    CONFIG_G(smtpd_reverse_dns), .def = "no" },
	/* the daemon's own log, and how long tracking logs are kept */
	{ "log_level", CONFIG_T_CHOICE, CONFIG_GLOBAL, CONFIG_G(log_level),
	    .words = config_loglevel_names, .def = "info" },
	{ "log_keep_days", CONFIG_T_COUNT, CONFIG_GLOBAL,
	    CONFIG_G(log_keep_days), .min = 0, .max = 36500, .def = "0" },
	{ "metrics_interval", CONFIG_T_DURATION, CONFIG_GLOBAL,
	    CONFIG_G(metrics_interval), .min = 1, .max = CONFIG_DAY,
	    .def = "15s" },
	{ "listen_implicit_tls", CONFIG_T_STRING, CONFIG_GLOBAL,
	    CONFIG_G(listen_implicit_tls), .doc = "(none)",
	    .handler = config_h_listen },
	{ "tls_cert_file", CONFIG_T_PATH, CONFIG_GLOBAL,
	    CONFIG_G(tls_cert_file), .doc = "(none: no STARTTLS)" },
	{ "tls_key_file", CONFIG_T_PATH, CONFIG_GLOBAL,
	    CONFIG_G(tls_key_file), .doc = "(none)" },
	{ "smtpd_auth_file", CONFIG_T_PATH, CONFIG_GLOBAL,
	    CONFIG_G(smtpd_auth_file), .doc = "(none: no AUTH)" },
	/* [domain NAME] only: the relay hosts for that domain */
	{ "relay", CONFIG_T_HOSTS, CONFIG_DOMAIN, CONFIG_D(relay) },
};

#define CONFIG_NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

/* config_key - the row of a key (names are case-sensitive), or NULL */
static const struct config_key *
config_key(const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++)
		if (!strcmp(config_keys[i].name, name))
			return &config_keys[i];
	return NULL;
}

/* config_alloc_type - does a value of this type live in allocated memory */
static bool
config_alloc_type(enum config_type t)
{
	return t == CONFIG_T_STRING || t == CONFIG_T_PATH ||
	    t == CONFIG_T_LABEL || t == CONFIG_T_HOSTS ||
	    t == CONFIG_T_DURATIONS || t == CONFIG_T_DOMAINS;
}

static int
config_entry(void *arg, const char *kind, const char *name, const char *key,
    const char *value, struct buf *err)
{
	struct config_parse *cp = arg;
	struct imc_config *cfg = cp->cfg;
	const struct config_key *k = config_key(key);
	void *field;

	if (kind != NULL) {
		if (k == NULL || !(k->where & CONFIG_DOMAIN)) {
			buf_printf(err, "unknown key \"%s\" in [%s %s]", key,
			    kind, name);
			return -1;
		}
		field = (char *)&cfg->domains[cfg->n_domains - 1] + k->doff;
	} else {
		if (k == NULL || !(k->where & CONFIG_GLOBAL)) {
			buf_printf(err, "unknown key \"%s\"", key);
			return -1;
		}
		field = (char *)cfg + k->off;
	}
	if (k->handler != NULL)
		return k->handler(cp, k, field, value, err);
	return config_value(cfg, k, field, value, err);
}

/* config_defaults - the values a key has when the file does not set it
 * (those that need no memory; config_load sets the others) */
void
config_defaults(struct imc_config *cfg)
{
	const struct config_key *k;
	struct buf err;
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	buf_init(&err);
	for (i = 0; i < CONFIG_NKEYS; i++) {
		k = &config_keys[i];
		if (k->def == NULL || !(k->where & CONFIG_GLOBAL) ||
		    config_alloc_type(k->type))
			continue;
		if (config_value(cfg, k, (char *)cfg + k->off, k->def, &err) ==
		    -1)
			abort();	/* a default its own parser refuses */
	}
	buf_fini(&err);
}

/* config_is_set - has an allocated field a value */
static bool
config_is_set(const struct config_key *k, const void *field)
{
	switch (k->type) {
	case CONFIG_T_HOSTS:
		return ((const struct imc_relay_list *)field)->n != 0;
	case CONFIG_T_DURATIONS:
		return *(uint64_t *const *)field != NULL;
	case CONFIG_T_DOMAINS:
		return *(char **const *)field != NULL;
	default:
		return *(char *const *)field != NULL;
	}
}

/* config_after_file - required keys, then the defaults that allocate */
static int
config_after_file(struct imc_config *cfg, const char *path, struct buf *err)
{
	const struct config_key *k;
	void *field;
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		k = &config_keys[i];
		if ((k->flags & CONFIG_F_REQUIRED) &&
		    !config_is_set(k, (char *)cfg + k->off)) {
			buf_printf(err, "%s: missing required key \"%s\"", path,
			    k->name);
			return -1;
		}
	}
	for (i = 0; i < CONFIG_NKEYS; i++) {
		k = &config_keys[i];
		field = (char *)cfg + k->off;
		if (k->def != NULL && (k->where & CONFIG_GLOBAL) &&
		    config_alloc_type(k->type) && !config_is_set(k, field) &&
		    config_value(cfg, k, field, k->def, err) == -1)
			return -1;
	}
	return 0;
}

/* After the file: checks across keys. */
static int
config_finish_smtp(struct imc_config *cfg, const char *path,
    enum config_mode mode, struct buf *err)
{
	size_t i;

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
	struct config_parse cp = { cfg, mode };
	char host[HOST_NAME_MAX + 1];

	config_defaults(cfg);
	cfg->path = xstrdup(path);
	if (conf_parse_file(path, config_section, config_entry, &cp, err) == -1)
		return -1;
	if (config_after_file(cfg, path, err) == -1)
		return -1;
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
	free(cfg->drop_group);
	config_store_clear(&cfg->store);
	for (i = 0; i < cfg->n_domains; i++) {
		config_store_clear(&cfg->domains[i].store);
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
	free(cfg->listen);
	free(cfg->smtpd_banner);
	for (i = 0; i < cfg->n_relay_domains; i++)
		free(cfg->relay_domains[i]);
	free(cfg->relay_domains);
	free(cfg->relay_networks);
	free(cfg->listen_implicit_tls);
	free(cfg->tls_cert_file);
	free(cfg->tls_key_file);
	free(cfg->smtpd_auth_file);
	free(cfg->domains);
	free(cfg->cs.legacy_charset);
	free(cfg->cs.charset);
	free(cfg->detect_charsets);
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

/* config_is_relay_domain - is mail for this domain taken by the listener
 * from anyone and forwarded (relay_domains) */
bool
config_is_relay_domain(const struct imc_config *cfg, const char *domain)
{
	size_t i;

	for (i = 0; i < cfg->n_relay_domains; i++)
		if (strcasecmp(cfg->relay_domains[i], domain) == 0)
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

/* config_store_for - the store of a domain: its section's, else global */
const struct store_target *
config_store_for(const struct imc_config *cfg, const char *domain)
{
	const struct imc_domain_conf *d = domain ? config_domain(cfg, domain) :
	    NULL;

	if (d != NULL && d->store.kind != STORE_UNSET)
		return &d->store;
	return &cfg->store;
}

/* config_lmtp_tls_for - lmtp_tls of a domain: its section's, else global */
enum imc_tls
config_lmtp_tls_for(const struct imc_config *cfg, const char *domain)
{
	const struct imc_domain_conf *d = domain ? config_domain(cfg, domain) :
	    NULL;

	if (d != NULL && d->lmtp_tls != IMC_TLS_UNSET)
		return d->lmtp_tls;
	return cfg->lmtp_tls;
}

/* config_store_put - a store as the file writes it */
void
config_store_put(struct buf *out, const struct store_target *t)
{
	switch (t->kind) {
	case STORE_MAILDIR:
		buf_puts(out, "maildir");
		break;
	case STORE_DROP:
		buf_puts(out, "drop");
		break;
	case STORE_LMTP:
		if (t->unix_path != NULL)
			buf_printf(out, "lmtp:unix:%s", t->unix_path);
		else if (t->literal && strchr(t->host, ':') != NULL)
			buf_printf(out, "lmtp:[%s]:%u", t->host, t->port);
		else
			buf_printf(out, "lmtp:%s:%u", t->host, t->port);
		break;
	default:
		buf_puts(out, "unset");
		break;
	}
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

/* config_key_doc - key i of the table, as README.md documents it */
const char *
config_key_doc(size_t i, unsigned *where, struct buf *dflt,
    struct buf *range)
{
	const struct config_key *k;

	if (i >= CONFIG_NKEYS)
		return NULL;
	k = &config_keys[i];
	*where = k->where;
	if (k->doc != NULL)
		buf_puts(dflt, k->doc);
	else if (k->def != NULL)
		buf_printf(dflt, "`%s`", k->def);
	if (config_bounded(k)) {
		config_put_value(range, config_unit(k), k->min);
		buf_puts(range, " to ");
		config_put_value(range, config_unit(k), k->max);
	}
	return k->name;
}

/* config_get_uint - an unsigned field (or an enum) of size, as uint64_t */
static uint64_t
config_get_uint(const void *field, size_t size)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v;

	switch (size) {
	case sizeof(uint16_t):
		memcpy(&v16, field, size);
		return v16;
	case sizeof(uint32_t):
		memcpy(&v32, field, size);
		return v32;
	case sizeof(uint64_t):
		memcpy(&v, field, size);
		return v;
	default:
		abort();	/* a row of config_keys with a wrong field */
	}
}

/*
 * config_put_field - the value of key k held at field, as the file would
 * write it; false (nothing written) when it has none: a string not set,
 * an empty list, a [domain] choice left to the global one. count is the
 * list's size_t count for DURATIONS and DOMAINS.
 */
static bool
config_put_field(struct buf *b, const struct config_key *k,
    const void *field, size_t count)
{
	const struct imc_relay_list *l;
	uint64_t v;
	size_t i;

	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_PATH:
	case CONFIG_T_LABEL:
		if (*(char *const *)field == NULL)
			return false;
		buf_puts(b, *(char *const *)field);
		return true;
	case CONFIG_T_BOOL:
		buf_puts(b, *(const bool *)field ? "yes" : "no");
		return true;
	case CONFIG_T_COUNT:
	case CONFIG_T_DURATION:
	case CONFIG_T_SIZE:
		config_put_value(b, config_unit(k), config_get_uint(field,
		    k->size));
		return true;
	case CONFIG_T_PORT:
		buf_printf(b, "%u", (unsigned)*(const uint16_t *)field);
		return true;
	case CONFIG_T_CHOICE:
		v = config_get_uint(field, k->size);
		for (i = 0; k->words[i] != NULL; i++)
			if (i == v) {
				buf_puts(b, k->words[i]);
				return true;
			}
		return false;	/* UNSET: as the global setting */
	case CONFIG_T_HOSTS:
		l = field;
		for (i = 0; i < l->n; i++)
			buf_printf(b, "%s%s%s%s:%u", i ? ", " : "",
			    l->hosts[i].literal ? "[" : "", l->hosts[i].name,
			    l->hosts[i].literal ? "]" : "",
			    (unsigned)l->hosts[i].port);
		return l->n > 0;
	case CONFIG_T_DURATIONS:
		for (i = 0; i < count; i++) {
			if (i > 0)
				buf_puts(b, ", ");
			config_put_value(b, CONFIG_SECONDS,
			    (*(uint64_t *const *)field)[i]);
		}
		return count > 0;
	case CONFIG_T_DOMAINS:
		for (i = 0; i < count; i++)
			buf_printf(b, "%s%s", i ? ", " : "",
			    (*(char **const *)field)[i]);
		return count > 0;
	case CONFIG_T_STORE:
		if (((const struct store_target *)field)->kind == STORE_UNSET)
			return false;	/* as the global setting */
		config_store_put(b, field);
		return true;
	}
	abort();
}

/* config_put_key - "key = value\n", or a comment saying it is not set */
static void
config_put_key(struct buf *out, const struct config_key *k,
    const void *field, size_t count, bool global)
{
	struct buf v;

	buf_init(&v);
	if (config_put_field(&v, k, field, count))
		buf_printf(out, "%s = %s\n", k->name, buf_cstr(&v));
	else if (global) {
		/* README's words, without their parentheses */
		const char *doc = k->doc != NULL ? k->doc : "none";
		size_t n = strlen(doc);

		if (n >= 2 && doc[0] == '(' && doc[n - 1] == ')') {
			doc++;
			n -= 2;
		}
		buf_printf(out, "# %s: not set (%.*s)\n", k->name, (int)n,
		    doc);
	}
	buf_fini(&v);
}

/* config_show - every key with its effective value (imc-connector
 * --check-config -v): the global keys in the table's order, unset ones as
 * a comment with what that means, then each [domain] section with the keys
 * it sets. Credentials are never shown (only auth_file's name). */
void
config_show(const struct imc_config *cfg, struct buf *out)
{
	const struct config_key *k;
	const struct imc_domain_conf *d;
	size_t i, j, count;

	buf_printf(out, "# %s: the effective settings\n", cfg->path ?
	    cfg->path : "(defaults)");
	for (i = 0; i < CONFIG_NKEYS; i++) {
		k = &config_keys[i];
		if (!(k->where & CONFIG_GLOBAL))
			continue;
		count = 0;
		if (k->type == CONFIG_T_DURATIONS || k->type == CONFIG_T_DOMAINS)
			memcpy(&count, (const char *)cfg + k->noff,
			    sizeof(count));
		config_put_key(out, k, (const char *)cfg + k->off, count, true);
	}
	for (j = 0; j < cfg->n_domains; j++) {
		d = &cfg->domains[j];
		buf_printf(out, "\n[domain %s]\n", d->name);
		for (i = 0; i < CONFIG_NKEYS; i++) {
			k = &config_keys[i];
			if (k->where & CONFIG_DOMAIN)
				config_put_key(out, k, (const char *)d + k->doff,
				    0, false);
		}
	}
}

/* The keys a running connector cannot take over without a restart: the
 * tree and its owners (made and checked at start, privileges dropped),
 * and what the SMTP side builds once (the resolver, the TLS context, the
 * protocol log, the name the store and DNS know as "self"). */
static const char *const config_restart_names[] = {
	"root", "hostname", "store", "user", "allow_root", "group",
	"pickup_mode", "dns_servers", "prefer_family", "tls_ca_file",
	"protocol_log", "listen",
};

/* config_keep_restart - for a reload: every restart key whose value in
 * next differs from cur keeps cur's value in next (the two fields are
 * swapped, so each struct still owns what it points to); the names are
 * appended to changed, comma separated. Returns how many. */
size_t
config_keep_restart(struct imc_config *next, struct imc_config *cur,
    struct buf *changed)
{
	const struct config_key *k;
	struct buf a, b;
	/* room for the largest field a restart key has: a store target */
	unsigned char tmp[sizeof(struct store_target) > sizeof(uint64_t) ?
	    sizeof(struct store_target) : sizeof(uint64_t)];
	size_t i, n = 0;
	bool ha, hb;

	buf_init(&a);
	buf_init(&b);
	for (i = 0; i < sizeof(config_restart_names) /
	    sizeof(config_restart_names[0]); i++) {
		k = config_key(config_restart_names[i]);
		if (k == NULL || k->size > sizeof(tmp))
			abort();	/* a name not in the table */
		buf_reset(&a);
		buf_reset(&b);
		ha = config_put_field(&a, k, (char *)next + k->off, 0);
		hb = config_put_field(&b, k, (char *)cur + k->off, 0);
		if (ha == hb && strcmp(buf_cstr(&a), buf_cstr(&b)) == 0)
			continue;
		memcpy(tmp, (char *)next + k->off, k->size);
		memcpy((char *)next + k->off, (char *)cur + k->off, k->size);
		memcpy((char *)cur + k->off, tmp, k->size);
		buf_printf(changed, "%s%s", n++ ? ", " : "", k->name);
	}
	buf_fini(&a);
	buf_fini(&b);
	return n;
}
