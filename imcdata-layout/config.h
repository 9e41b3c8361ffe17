/*
 * config - the connector's configuration file, shared by every program.
 *
 * One file of "key = value" lines (see common/conf.h for the syntax) with
 * [domain NAME] sections for per-domain overrides. config_load fills a
 * struct imc_config with defaults, then the file's values; an unknown key,
 * a bad value or a missing required key gives "FILE:LINE: message" (or
 * "FILE: message") in err and -1; programs then exit 78 (EX_CONFIG).
 * Every key is one row of a table in config.c (its type, where it may be
 * written, its field, range, words and default); README.md has the same
 * table for people, and tests/unit/check_config_doc.c holds the two
 * together.
 *
 * config_load_mode with CONFIG_SUBMIT reads what a submitting writer needs
 * and may read (imc-submit runs as any writer): the credentials file and
 * the CA file are only named, never opened, and auth labels are not looked
 * up in them. Everything else is read and checked as for the daemon.
 */
#ifndef IMC_CONFIG_H
#define IMC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "log.h"

/* The charsets detect = yes may take, unless detect_charsets says. */
#define CONFIG_DETECT_CHARSETS	"windows-1251, koi8-r, shift_jis, euc-jp, " \
	"euc-kr, gb18030, big5"

enum pickup_dots { PICKUP_DOTS_IIS, PICKUP_DOTS_LITERAL, PICKUP_DOTS_AUTO };
enum pickup_mode { PICKUP_MODE_GROUP, PICKUP_MODE_OPEN };

/*
 * The store a local domain's mail is handed to ("store", globally and in
 * [domain NAME]): the built-in Maildir under Store/, the IIS-style Drop
 * folder, or an LMTP server (RFC 2033) over TCP or a unix socket. The
 * words of the file:
 *
 *   maildir                  STORE_MAILDIR
 *   drop                     STORE_DROP
 *   lmtp:HOST:PORT           STORE_LMTP, host a name or an IPv4 address
 *   lmtp:[ADDR]:PORT         STORE_LMTP, host an IPv4/IPv6 address
 *   lmtp:unix:/path          STORE_LMTP, unix_path (absolute, fits
 *                            sun_path), host NULL, port 0
 *
 * A port is required for TCP (LMTP has no port of its own). host is
 * lowercased and kept without brackets; literal says it is an IP address
 * (no name lookup). The strings belong to the configuration.
 */
enum store_kind { STORE_UNSET = -1, STORE_MAILDIR, STORE_DROP, STORE_LMTP };

struct store_target {
	enum store_kind	 kind;		/* STORE_UNSET: [domain] without store */
	char		*host;		/* LMTP over TCP, else NULL */
	bool		 literal;	/* host is an IP address */
	uint16_t	 port;		/* LMTP over TCP, else 0 */
	char		*unix_path;	/* LMTP over a unix socket, else NULL */
};
enum out_encoding { ENCODING_UNSET = -1, ENCODING_8BIT, ENCODING_7BIT };

/* Charset settings: globally, and per [domain NAME] where NULL / UNSET
 * means "as the global setting". */
struct imc_charset_conf {
	char		*legacy_charset; /* unlabelled 8-bit text that is not
					    UTF-8, from senders of this domain */
	char		*charset;	/* at delivery: "utf-8", "preserve", or
					   a charset label such as iso-2022-jp */
	enum out_encoding encoding;	/* at delivery: 8bit or 7bit */
};

/* TLS for SMTP delivery; the order is smtp_proto's enum smtp_tls_mode. */
enum imc_tls {
	IMC_TLS_UNSET = -1,	/* [domain]: as the global setting */
	IMC_TLS_NONE,
	IMC_TLS_MAY,
	IMC_TLS_ENCRYPT,
	IMC_TLS_VERIFY,
	IMC_TLS_IMPLICIT
};
enum imc_family { IMC_FAMILY_IPV6, IMC_FAMILY_IPV4 };
enum imc_protocol_log { PROTOLOG_NONE, PROTOLOG_MINIMUM, PROTOLOG_MAXIMUM };

/* One relay or smarthost: "[name]:port" (literal: no MX lookup; the name
 * may be an IP address) or "name:port" (the MX of name). */
struct imc_relay_host {
	char	*name;
	bool	 literal;
	uint16_t port;
};

struct imc_relay_list {
	struct imc_relay_host *hosts;
	size_t	 n;
};

/* One entry of auth_file: "LABEL USERNAME PASSWORD". */
struct imc_auth {
	char	*label;
	char	*user;
	char	*pass;
};

struct imc_domain_conf {
	char	*name;		/* "example.com" or "*.example.com" */
	int	 line;
	struct imc_charset_conf cs;
	struct imc_relay_list relay;	/* n == 0: none */
	enum imc_tls tls;		/* IMC_TLS_UNSET: the global one */
	char	*auth;			/* label in auth_file, or NULL */
	struct store_target store;	/* STORE_UNSET: the global one */
	enum imc_tls lmtp_tls;		/* IMC_TLS_UNSET: the global one */
};

struct imc_config {
	char		*path;		/* the file it came from */
	char		*root;		/* Imcdata folder (required) */
	char		*hostname;	/* default: gethostname() */
	char		**local_domains; /* lowercased */
	size_t		 n_local_domains;
	struct store_target store;	/* never STORE_UNSET */
	enum imc_tls	 lmtp_tls;	/* none, may, encrypt or verify */
	char		*drop_group;	/* group that may read Drop/, NULL:
					   the service user's */
	uint64_t	 max_message_size;
	bool		 archive;
	enum pickup_dots pickup_dots;
	char		*user;		/* service user, NULL: the running one */
	bool		 allow_root;	/* run as root without "user" (labs) */
	char		*group;		/* writers' group, NULL: the user's */
	enum pickup_mode pickup_mode;
	uint64_t	 pickup_settle;	/* seconds a rescanned file must rest */
	uint64_t	 pickup_rescan;	/* seconds between rescans of Pickup */
	uint64_t	 local_retry;	/* seconds before a deferred store handoff
					   is tried again */
	uint64_t	 max_lifetime;	/* seconds a message may wait; then it
					   bounces */
	struct imc_charset_conf cs;	/* global: never NULL or UNSET */
	bool		 detect;	/* guess unlabelled charsets */
	char		*detect_charsets; /* the guesses taken, a comma list */
	struct imc_domain_conf *domains;
	size_t		 n_domains;
	/* SMTP delivery */
	struct imc_relay_list smarthost; /* n == 0: by DNS MX */
	char		*dns_servers;	/* c-ares CSV, NULL: the system's */
	uint16_t	 mx_port;
	enum imc_family	 prefer_family;
	unsigned	 max_hops;
	enum imc_tls	 tls;
	char		*tls_ca_file;
	char		*auth;		/* label for the smarthost, or NULL */
	char		*auth_file;
	uid_t		 auth_file_uid;	/* its owner, checked after the file */
	struct imc_auth	*auths;
	size_t		 n_auths;
	uint64_t	*retry_schedule;	/* seconds, the last repeating */
	size_t		 n_retry_schedule;
	uint64_t	 delay_warning;	/* seconds; 0: no delay notice */
	enum imc_protocol_log protocol_log;
	uint64_t	 timeout_connect;
	uint64_t	 timeout_greeting;
	uint64_t	 timeout_command;
	uint64_t	 timeout_data_init;
	uint64_t	 timeout_data_block;
	uint64_t	 timeout_data_done;
	uint64_t	 max_connections;
	uint64_t	 max_per_destination;
	uint64_t	 max_messages_per_connection;
	uint64_t	 max_rcpts_per_transaction;
	/* SMTP listener (connector/smtpd) */
	char		*listen;	/* "addr:port, [addr6]:port", NULL: off */
	char		*smtpd_banner;	/* NULL: "HOSTNAME ESMTP" */
	char		**relay_domains; /* lowercased */
	size_t		 n_relay_domains;
	char		*relay_networks; /* CIDR list, NULL: none */
	uint64_t	 smtpd_max_connections;
	uint64_t	 smtpd_max_per_client;
	uint64_t	 smtpd_max_errors;
	uint64_t	 smtpd_timeout;
	uint64_t	 smtpd_greet_pause;
	bool		 smtpd_reverse_dns; /* the client's name in Received: */
	enum log_level	 log_level;	/* the daemon's diagnostic log */
	uint64_t	 log_keep_days;	/* 0: tracking logs kept for ever */
	uint64_t	 metrics_interval; /* seconds between Log/metrics.prom */
	char		*listen_implicit_tls;	/* TLS from the first byte */
	char		*tls_cert_file;
	char		*tls_key_file;
	char		*smtpd_auth_file;
};

enum config_mode {
	CONFIG_ALL,	/* the daemon and the admin tools */
	CONFIG_SUBMIT	/* a writer: no credentials, no private files */
};

void	config_defaults(struct imc_config *);
int	config_load(struct imc_config *, const char *path, struct buf *err);
int	config_load_mode(struct imc_config *, const char *path, enum config_mode,
	    struct buf *err);
void	config_free(struct imc_config *);
bool	config_is_local_domain(const struct imc_config *, const char *domain);
bool	config_is_relay_domain(const struct imc_config *, const char *domain);
/* The [domain] section for a domain: the longest match, "*.x" covering
 * subdomains of x; NULL if none. */
const struct imc_domain_conf *config_domain(const struct imc_config *,
	    const char *domain);
/* The store for mail to a domain: its [domain] section's store, else
 * the global one. Never NULL; borrowed from the configuration. */
const struct store_target *config_store_for(const struct imc_config *,
	    const char *domain);
/* lmtp_tls for a domain: its [domain] section's, else the global one. */
enum imc_tls config_lmtp_tls_for(const struct imc_config *,
	    const char *domain);
/* A store as the file writes it ("lmtp:[::1]:24"), appended to out: for
 * logs (the tracking log's relay=) and messages. */
void	config_store_put(struct buf *out, const struct store_target *);
/* The charset settings for a domain (sender domain for legacy_charset,
 * destination domain for charset and encoding), defaults filled in. */
void	config_charset_for(const struct imc_config *, const char *domain,
	    struct imc_charset_conf *out);
/* The one rule for what a copy becomes at delivery to a domain (the
 * connector's store and SMTP sides and imc-convert all ask here). The
 * store applies the domain's charset and encoding, else the global ones;
 * SMTP keeps the labelled charsets ("preserve") unless the domain sets a
 * charset, and takes the domain's encoding, else the global one. A NULL
 * domain (the Out/ queue copy) keeps everything. charset points into the
 * configuration. */
enum delivery_side { DELIVERY_STORE, DELIVERY_SMTP };
struct delivery_conv {
	const char	*charset;	/* "utf-8", "preserve", "iso-2022-jp" */
	bool		 seven_bit;
};
void	config_delivery_conv(const struct imc_config *, const char *domain,
	    enum delivery_side, struct delivery_conv *);
bool	config_delivery_conv_eq(const struct delivery_conv *,
	    const struct delivery_conv *);
/*
 * The key table as README.md documents it: the name of key i (from 0),
 * NULL past the last; where it may be written (CONFIG_GLOBAL: outside any
 * section, CONFIG_DOMAIN: in [domain NAME]); its default as README's
 * table shows it ("`10M`", or words such as "(required)" when the default
 * is no value; nothing for a key only allowed in [domain]) appended to
 * dflt; and its range ("1K to 2G"; nothing when it has none) to range.
 */
#define CONFIG_GLOBAL	0x1u
#define CONFIG_DOMAIN	0x2u
const char *config_key_doc(size_t i, unsigned *where, struct buf *dflt,
	    struct buf *range);
/* Every key with its effective value, as "key = value" lines (unset
 * keys as comments), then the [domain] sections; for --check-config -v. */
void	config_show(const struct imc_config *, struct buf *out);
/* For a reload (SIGHUP): the keys that need a restart (root, user,
 * hostname, dns_servers, ...) keep their current values in next; the
 * names of those that changed are appended to changed; their count. */
size_t	config_keep_restart(struct imc_config *next, struct imc_config *cur,
	    struct buf *changed);
/* The auth_file entry of a label, NULL if none. */
const struct imc_auth *config_auth(const struct imc_config *, const char *label);
const char *config_tls_name(enum imc_tls);
int	config_ids(const struct imc_config *, uid_t *, gid_t *service_gid,
	    gid_t *writers_gid, struct buf *err);

#endif
