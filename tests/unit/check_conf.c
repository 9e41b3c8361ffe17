/*
 * check_conf - unit tests for common/conf.c and imcdata-layout/config.c.
 *
 * Table-driven: each case is { name, input, want }. The value parsers take
 * a string and want a number (or a failure). Configuration files are
 * written into a mkdtemp folder (removed with everything in it when the
 * test case ends); a good file wants some "key=value" lines of a dump of
 * the loaded struct imc_config, a bad file wants the error to start with
 * "FILE:LINE:" (the exact line) or "FILE:" (a missing key) and to contain
 * a word of the reason.
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "config.h"
#include "imc_limits.h"

static char tmpdir[PATH_MAX];

/* tmp_setup - a scratch folder for the whole test case (runs once) */
static void
tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_conf.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* tmp_teardown - remove the scratch folder and what a failed test left */
static void
tmp_teardown(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text (len bytes) to a file in the scratch folder; path out. */
static void
write_conf(char *path, size_t size, const char *name, const char *text,
    size_t len)
{
	FILE *fp;
	int n;

	n = snprintf(path, size, "%s/%s.conf", tmpdir, name);
	ck_assert(n > 0 && (size_t)n < size);
	fp = fopen(path, "we");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	ck_assert(fwrite(text, 1, len, fp) == len);
	ck_assert(fclose(fp) == 0);
}

/* ------------------------------------------------------------------ */
/* Value parsers */

struct num_case {
	const char *name;
	const char *input;
	bool	 ok;
	uint64_t want;
};

static const struct num_case size_cases[] = {
	{ "size_plain_bytes", "1234", true, 1234 },
	{ "size_zero", "0", true, 0 },
	{ "size_k_is_1024", "10K", true, 10240 },
	{ "size_lowercase_k", "10k", true, 10240 },
	{ "size_m_is_binary_mega", "10M", true, 10485760 },
	{ "size_g_is_binary_giga", "1G", true, 1073741824ull },
	{ "size_mb_suffix", "10MB", true, 10485760 },
	{ "size_kb_lowercase_b", "2Kb", true, 2048 },
	{ "size_b_alone_fails", "10B", false, 0 },
	{ "size_other_suffix_fails", "10X", false, 0 },
	{ "size_tb_fails", "1T", false, 0 },
	{ "size_space_before_suffix_fails", "10 M", false, 0 },
	{ "size_negative_fails", "-1", false, 0 },
	{ "size_plus_fails", "+5", false, 0 },
	{ "size_empty_fails", "", false, 0 },
	{ "size_word_fails", "ten", false, 0 },
	{ "size_fraction_fails", "1.5M", false, 0 },
	{ "size_double_suffix_fails", "10MM", false, 0 },
	{ "size_max_u64", "18446744073709551615", true, UINT64_MAX },
	{ "size_above_u64_fails", "18446744073709551616", false, 0 },
	{ "size_suffix_overflow_fails", "18014398509481984K", false, 0 },
	{ "size_largest_k_fits", "18014398509481983K", true,
	    18014398509481983ull * 1024 },
	{ "size_g_overflow_fails", "17179869184G", false, 0 },
};

static const struct num_case duration_cases[] = {
	{ "duration_plain_seconds", "90", true, 90 },
	{ "duration_zero", "0", true, 0 },
	{ "duration_s_suffix", "90s", true, 90 },
	{ "duration_minutes", "15m", true, 900 },
	{ "duration_hours", "4h", true, 14400 },
	{ "duration_days", "2d", true, 172800 },
	{ "duration_weeks_fail", "1w", false, 0 },
	{ "duration_uppercase_unit_fails", "4H", false, 0 },
	{ "duration_two_letter_unit_fails", "10ms", false, 0 },
	{ "duration_space_before_unit_fails", "10 m", false, 0 },
	{ "duration_negative_fails", "-5", false, 0 },
	{ "duration_empty_fails", "", false, 0 },
	{ "duration_unit_alone_fails", "h", false, 0 },
	{ "duration_fraction_fails", "1.5h", false, 0 },
	{ "duration_overflow_fails", "213503982334602d", false, 0 },
	{ "duration_largest_days_fit", "213503982334601d", true,
	    213503982334601ull * 86400 },
};

/* A failed parse says why: ERANGE for a number past 64 bits (alone or
 * times its unit), EINVAL for anything malformed. */
struct errno_case {
	const char *name;
	bool	 duration;	/* else a size */
	const char *input;
	int	 want_errno;
};

static const struct errno_case errno_cases[] = {
	{ "duration_2_to_64_is_erange", true, "18446744073709551616", ERANGE },
	{ "duration_huge_is_erange", true, "99999999999999999999999d", ERANGE },
	{ "duration_days_overflow_is_erange", true, "213503982334602d",
	    ERANGE },
	{ "duration_u64_max_minutes_is_erange", true, "18446744073709551615m",
	    ERANGE },
	{ "duration_word_is_einval", true, "soon", EINVAL },
	{ "duration_bad_unit_is_einval", true, "5w", EINVAL },
	{ "duration_negative_is_einval", true, "-1", EINVAL },
	{ "size_2_to_64_is_erange", false, "18446744073709551616", ERANGE },
	{ "size_k_overflow_is_erange", false, "18014398509481984K", ERANGE },
	{ "size_g_overflow_is_erange", false, "17179869184G", ERANGE },
	{ "size_word_is_einval", false, "ten", EINVAL },
	{ "size_bad_suffix_is_einval", false, "10X", EINVAL },
};

START_TEST(test_errno_case)
{
	const struct errno_case *c = &errno_cases[_i];
	uint64_t got = 4242;
	int r;

	errno = 0;
	r = c->duration ? conf_parse_duration(c->input, &got) :
	    conf_parse_size(c->input, &got);
	ck_assert_msg(r == -1, "%s: \"%s\" accepted", c->name, c->input);
	ck_assert_msg(errno == c->want_errno, "%s: errno %d (%s), want %d",
	    c->name, errno, strerror(errno), c->want_errno);
	ck_assert_uint_eq(got, 4242);
}
END_TEST

struct bool_case {
	const char *name;
	const char *input;
	bool	 ok;
	bool	 want;
};

static const struct bool_case bool_cases[] = {
	{ "bool_yes", "yes", true, true },
	{ "bool_no", "no", true, false },
	{ "bool_true", "true", true, true },
	{ "bool_false", "false", true, false },
	{ "bool_on", "on", true, true },
	{ "bool_off", "off", true, false },
	{ "bool_one", "1", true, true },
	{ "bool_zero", "0", true, false },
	{ "bool_any_case", "YeS", true, true },
	{ "bool_any_case_off", "OFF", true, false },
	{ "bool_y_fails", "y", false, false },
	{ "bool_two_fails", "2", false, false },
	{ "bool_empty_fails", "", false, false },
	{ "bool_trailing_space_fails", "yes ", false, false },
};

START_TEST(test_size_case)
{
	const struct num_case *c = &size_cases[_i];
	uint64_t got = 4242;
	int r;

	r = conf_parse_size(c->input, &got);
	ck_assert_msg(r == (c->ok ? 0 : -1), "%s: \"%s\" returned %d",
	    c->name, c->input, r);
	if (c->ok)
		ck_assert_msg(got == c->want, "%s: got %" PRIu64 ", want %"
		    PRIu64, c->name, got, c->want);
	else
		ck_assert_msg(got == 4242, "%s: output changed on failure",
		    c->name);
}
END_TEST

START_TEST(test_duration_case)
{
	const struct num_case *c = &duration_cases[_i];
	uint64_t got = 4242;
	int r;

	r = conf_parse_duration(c->input, &got);
	ck_assert_msg(r == (c->ok ? 0 : -1), "%s: \"%s\" returned %d",
	    c->name, c->input, r);
	if (c->ok)
		ck_assert_msg(got == c->want, "%s: got %" PRIu64 ", want %"
		    PRIu64, c->name, got, c->want);
	else
		ck_assert_msg(got == 4242, "%s: output changed on failure",
		    c->name);
}
END_TEST

START_TEST(test_bool_case)
{
	const struct bool_case *c = &bool_cases[_i];
	bool got = !c->want;
	int r;

	r = conf_parse_bool(c->input, &got);
	ck_assert_msg(r == (c->ok ? 0 : -1), "%s: \"%s\" returned %d",
	    c->name, c->input, r);
	if (c->ok)
		ck_assert_msg(got == c->want, "%s: got %d", c->name, got);
}
END_TEST

/* ------------------------------------------------------------------ */
/* conf_parse_file with recording callbacks */

struct recorder {
	struct buf log;		/* one line per callback */
	const char *fail_key;	/* the entry callback refuses this key */
};

static int
rec_section(void *arg, const char *kind, const char *name, struct buf *err)
{
	struct recorder *r = arg;

	(void)err;
	buf_printf(&r->log, "[%s|%s]\n", kind, name);
	return 0;
}

static int
rec_entry(void *arg, const char *kind, const char *name, const char *key,
    const char *value, struct buf *err)
{
	struct recorder *r = arg;

	if (r->fail_key != NULL && strcmp(key, r->fail_key) == 0) {
		buf_printf(err, "refused %s", key);
		return -1;
	}
	buf_printf(&r->log, "%s|%s|%s=<%s>\n", kind ? kind : "-",
	    name ? name : "-", key, value);
	return 0;
}

struct parse_case {
	const char *name;
	const char *input;
	const char *fail_key;
	const char *want_log;	/* the callbacks, in order */
	int	 want_line;	/* error line; 0: must succeed */
	const char *want_err;	/* a part of the error message */
};

static const struct parse_case parse_cases[] = {
	{ "keys_before_a_section_have_no_kind",
	    "a = 1\nb=2\n", NULL, "-|-|a=<1>\n-|-|b=<2>\n", 0, NULL },
	{ "whitespace_around_key_and_value_is_trimmed",
	    "  key \t=\t value with  inner  spaces \t \n", NULL,
	    "-|-|key=<value with  inner  spaces>\n", 0, NULL },
	{ "value_may_hold_an_equals_sign", "k = a=b\n", NULL,
	    "-|-|k=<a=b>\n", 0, NULL },
	{ "empty_value_is_allowed", "k =\n", NULL, "-|-|k=<>\n", 0, NULL },
	{ "comment_after_whitespace_is_cut", "k = v # note\n", NULL,
	    "-|-|k=<v>\n", 0, NULL },
	{ "comment_after_tab_is_cut", "k = v\t# note\n", NULL, "-|-|k=<v>\n",
	    0, NULL },
	{ "hash_inside_a_word_is_data", "k = a#b\n", NULL, "-|-|k=<a#b>\n", 0,
	    NULL },
	{ "comment_and_blank_lines_are_skipped",
	    "# top\n\n   \n\t# indented\nk = v\n", NULL, "-|-|k=<v>\n", 0,
	    NULL },
	{ "crlf_lines_are_accepted", "a = 1\r\n[x y]\r\nb = 2\r\n", NULL,
	    "-|-|a=<1>\n[x|y]\nx|y|b=<2>\n", 0, NULL },
	{ "last_line_without_newline_counts", "a = 1\nb = 2", NULL,
	    "-|-|a=<1>\n-|-|b=<2>\n", 0, NULL },
	{ "section_kind_and_name_reach_entries",
	    "a = 1\n[domain Example.org]\nb = 2\n[other]\nc = 3\n", NULL,
	    "-|-|a=<1>\n[domain|Example.org]\ndomain|Example.org|b=<2>\n"
	    "[other|]\nother||c=<3>\n", 0, NULL },
	{ "section_header_may_have_inner_spaces_and_comment",
	    "[  domain   a.example  ]  # c\nk = v\n", NULL,
	    "[domain|a.example]\ndomain|a.example|k=<v>\n", 0, NULL },
	{ "line_without_equals_is_refused", "a = 1\n\njust words\n", NULL,
	    NULL, 3, "key = value" },
	{ "missing_key_is_refused", "# c\n = value\n", NULL, NULL, 2,
	    "missing key" },
	{ "unclosed_section_is_refused", "a = 1\n[domain x\n", NULL, NULL, 2,
	    "malformed section" },
	{ "text_after_section_is_refused", "[domain x] y\n", NULL, NULL, 1,
	    "malformed section" },
	{ "empty_section_is_refused", "\n\n\n[ ]\n", NULL, NULL, 4,
	    "empty section" },
	{ "callback_refusal_gives_its_line_and_text",
	    "a = 1\n# x\n\nbad = 2\nc = 3\n", "bad", NULL, 4, "refused bad" },
};

START_TEST(test_parse_case)
{
	const struct parse_case *c = &parse_cases[_i];
	struct recorder rec;
	struct buf err;
	char path[PATH_MAX], prefix[PATH_MAX + 32];
	int r;

	write_conf(path, sizeof(path), c->name, c->input, strlen(c->input));
	buf_init(&rec.log);
	buf_init(&err);
	rec.fail_key = c->fail_key;
	r = conf_parse_file(path, rec_section, rec_entry, &rec, &err);
	if (c->want_line == 0) {
		ck_assert_msg(r == 0, "%s: failed: %s", c->name, buf_cstr(&err));
		ck_assert_msg(strcmp(buf_cstr(&rec.log), c->want_log) == 0,
		    "%s: callbacks\n%s\nwant\n%s", c->name, buf_cstr(&rec.log),
		    c->want_log);
	} else {
		ck_assert_msg(r == -1, "%s: accepted", c->name);
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, c->want_line);
		ck_assert_msg(strncmp(buf_cstr(&err), prefix, strlen(prefix))
		    == 0, "%s: error \"%s\" does not start with \"%s\"", c->name,
		    buf_cstr(&err), prefix);
		ck_assert_msg(strstr(buf_cstr(&err), c->want_err) != NULL,
		    "%s: error \"%s\" lacks \"%s\"", c->name, buf_cstr(&err),
		    c->want_err);
	}
	unlink(path);
	buf_fini(&rec.log);
	buf_fini(&err);
}
END_TEST

START_TEST(parse_of_missing_file_names_the_file)
{
	struct recorder rec;
	struct buf err;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	buf_init(&rec.log);
	buf_init(&err);
	rec.fail_key = NULL;
	ck_assert_int_eq(conf_parse_file(path, rec_section, rec_entry, &rec,
	    &err), -1);
	ck_assert_msg(strncmp(buf_cstr(&err), path, strlen(path)) == 0 &&
	    buf_cstr(&err)[strlen(path)] == ':', "error \"%s\"", buf_cstr(&err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "cannot open"));
	ck_assert_uint_eq(rec.log.len, 0);
	buf_fini(&rec.log);
	buf_fini(&err);
}
END_TEST

START_TEST(parse_refuses_a_line_over_the_limit)
{
	struct recorder rec;
	struct buf text, err;
	char path[PATH_MAX], prefix[PATH_MAX + 32];
	size_t i;

	buf_init(&text);
	buf_init(&err);
	buf_init(&rec.log);
	rec.fail_key = NULL;
	buf_puts(&text, "a = 1\nb = ");
	for (i = 0; i < IMC_MAX_CONFIG_LINE; i++)
		buf_putc(&text, 'x');
	buf_puts(&text, "\n");
	write_conf(path, sizeof(path), "long_line", text.data, text.len);
	ck_assert_int_eq(conf_parse_file(path, rec_section, rec_entry, &rec,
	    &err), -1);
	snprintf(prefix, sizeof(prefix), "%s:2: ", path);
	ck_assert_msg(strncmp(buf_cstr(&err), prefix, strlen(prefix)) == 0,
	    "error \"%s\"", buf_cstr(&err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "too long"));
	unlink(path);
	buf_fini(&text);
	buf_fini(&err);
	buf_fini(&rec.log);
}
END_TEST

START_TEST(parse_refuses_a_nul_byte)
{
	static const char text[] = "a = 1\nb = x\0y\n";
	struct recorder rec;
	struct buf err;
	char path[PATH_MAX], prefix[PATH_MAX + 32];

	buf_init(&err);
	buf_init(&rec.log);
	rec.fail_key = NULL;
	write_conf(path, sizeof(path), "nul_byte", text, sizeof(text) - 1);
	ck_assert_int_eq(conf_parse_file(path, rec_section, rec_entry, &rec,
	    &err), -1);
	snprintf(prefix, sizeof(prefix), "%s:2: ", path);
	ck_assert_msg(strncmp(buf_cstr(&err), prefix, strlen(prefix)) == 0,
	    "error \"%s\"", buf_cstr(&err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "NUL"));
	unlink(path);
	buf_fini(&err);
	buf_fini(&rec.log);
}
END_TEST

/* ------------------------------------------------------------------ */
/* config_load */

/* A dump of the loaded configuration, one "key=value" line each. */
static void
config_dump(const struct imc_config *cfg, struct buf *o)
{
	size_t i;

	buf_printf(o, "\nroot=%s\n", cfg->root ? cfg->root : "(null)");
	buf_printf(o, "hostname=%s\n", cfg->hostname ? cfg->hostname : "(null)");
	buf_puts(o, "local_domains=");
	for (i = 0; i < cfg->n_local_domains; i++)
		buf_printf(o, "%s%s", i ? "," : "", cfg->local_domains[i]);
	buf_puts(o, "\nstore=");
	config_store_put(o, &cfg->store);
	buf_printf(o, "\nstore_parts=%d,%s,%d,%u,%s\n", (int)cfg->store.kind,
	    cfg->store.host ? cfg->store.host : "-", cfg->store.literal,
	    cfg->store.port, cfg->store.unix_path ? cfg->store.unix_path : "-");
	buf_printf(o, "lmtp_tls=%s\n", config_tls_name(cfg->lmtp_tls));
	buf_printf(o, "drop_group=%s\n", cfg->drop_group ? cfg->drop_group :
	    "(null)");
	buf_printf(o, "max_message_size=%" PRIu64 "\n", cfg->max_message_size);
	buf_printf(o, "archive=%s\n", cfg->archive ? "yes" : "no");
	buf_printf(o, "pickup_dots=%s\n", cfg->pickup_dots == PICKUP_DOTS_IIS ?
	    "iis" : cfg->pickup_dots == PICKUP_DOTS_AUTO ? "auto" : "literal");
	buf_printf(o, "detect=%s\n", cfg->detect ? "yes" : "no");
	buf_printf(o, "detect_charsets=%s\n", cfg->detect_charsets ?
	    cfg->detect_charsets : "(null)");
	buf_printf(o, "pickup_mode=%s\n", cfg->pickup_mode == PICKUP_MODE_GROUP ?
	    "group" : "open");
	buf_printf(o, "user=%s\n", cfg->user ? cfg->user : "(null)");
	buf_printf(o, "group=%s\n", cfg->group ? cfg->group : "(null)");
	buf_printf(o, "pickup_settle=%" PRIu64 "\n", cfg->pickup_settle);
	buf_printf(o, "pickup_rescan=%" PRIu64 "\n", cfg->pickup_rescan);
	buf_printf(o, "local_retry=%" PRIu64 "\n", cfg->local_retry);
	buf_printf(o, "max_lifetime=%" PRIu64 "\n", cfg->max_lifetime);
	buf_puts(o, "domains=");
	for (i = 0; i < cfg->n_domains; i++)
		buf_printf(o, "%s%s", i ? "," : "", cfg->domains[i].name);
	buf_puts(o, "\nsmarthost=");
	for (i = 0; i < cfg->smarthost.n; i++)
		buf_printf(o, "%s%s%s%s:%u", i ? "," : "",
		    cfg->smarthost.hosts[i].literal ? "[" : "",
		    cfg->smarthost.hosts[i].name,
		    cfg->smarthost.hosts[i].literal ? "]" : "",
		    cfg->smarthost.hosts[i].port);
	buf_printf(o, "\ndns_servers=%s\n", cfg->dns_servers ? cfg->dns_servers :
	    "(null)");
	buf_printf(o, "mx_port=%u\n", cfg->mx_port);
	buf_printf(o, "prefer_family=%s\n", cfg->prefer_family ==
	    IMC_FAMILY_IPV4 ? "ipv4" : "ipv6");
	buf_printf(o, "max_hops=%u\n", cfg->max_hops);
	buf_printf(o, "tls=%s\n", config_tls_name(cfg->tls));
	buf_puts(o, "retry_schedule=");
	for (i = 0; i < cfg->n_retry_schedule; i++)
		buf_printf(o, "%s%" PRIu64, i ? "," : "", cfg->retry_schedule[i]);
	buf_printf(o, "\ndelay_warning=%" PRIu64 "\n", cfg->delay_warning);
	buf_printf(o, "protocol_log=%d\n", (int)cfg->protocol_log);
	buf_printf(o, "timeouts=%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
	    ",%" PRIu64 ",%" PRIu64 "\n", cfg->timeout_connect,
	    cfg->timeout_greeting, cfg->timeout_command, cfg->timeout_data_init,
	    cfg->timeout_data_block, cfg->timeout_data_done);
	buf_printf(o, "limits=%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
	    cfg->max_connections, cfg->max_per_destination,
	    cfg->max_messages_per_connection, cfg->max_rcpts_per_transaction);
	for (i = 0; i < cfg->n_domains; i++) {
		const struct imc_domain_conf *d = &cfg->domains[i];
		size_t j;

		buf_printf(o, "domain %s relay=", d->name);
		for (j = 0; j < d->relay.n; j++)
			buf_printf(o, "%s%s%s%s:%u", j ? "," : "",
			    d->relay.hosts[j].literal ? "[" : "",
			    d->relay.hosts[j].name,
			    d->relay.hosts[j].literal ? "]" : "",
			    d->relay.hosts[j].port);
		buf_printf(o, " tls=%s auth=%s\n", config_tls_name(d->tls),
		    d->auth ? d->auth : "-");
		buf_printf(o, "domain %s store=", d->name);
		config_store_put(o, &d->store);
		buf_printf(o, " lmtp_tls=%s\n", config_tls_name(d->lmtp_tls));
	}
}

#define MAXWANT 5
#define ROOT "root = /srv/imcdata\n"

struct good_case {
	const char *name;
	const char *input;
	const char *want[MAXWANT];	/* lines of the dump */
};

static const struct good_case good_cases[] = {
	{ "defaults_apply_when_unset", ROOT,
	    { "max_message_size=10485760", "archive=no", "pickup_dots=auto",
	      "pickup_mode=group", "store=maildir" } },
	{ "default_durations", ROOT,
	    { "pickup_settle=2", "pickup_rescan=30", "local_retry=300",
	      "max_lifetime=172800" } },
	{ "default_user_group_domains_are_empty", ROOT,
	    { "user=(null)", "group=(null)", "local_domains=", "domains=" } },
	{ "root_is_kept", "root = /var/lib/imc data\n",
	    { "root=/var/lib/imc data" } },
	{ "root_inside_var_lib_is_allowed", "root = /var/lib/imcdata\n",
	    { "root=/var/lib/imcdata" } },
	{ "root_inside_tmp_is_allowed", "root = /tmp/imc-x/Imcdata\n",
	    { "root=/tmp/imc-x/Imcdata" } },
	{ "root_named_like_a_system_folder_is_allowed",
	    "root = /etcetera/imc\n", { "root=/etcetera/imc" } },
	{ "root_dotdot_within_srv_is_allowed", "root = /srv/a/../imc\n",
	    { "root=/srv/a/../imc" } },
	{ "hostname_is_lowercased", ROOT "hostname = Mail.Example.COM\n",
	    { "hostname=mail.example.com" } },
	{ "hostname_with_dash_and_underscore", ROOT "hostname = mx-1_a.example\n",
	    { "hostname=mx-1_a.example" } },
	{ "local_domains_split_on_commas_and_lowercased",
	    ROOT "local_domains = Example.COM,  b.example ,c.EXAMPLE\n",
	    { "local_domains=example.com,b.example,c.example" } },
	{ "local_domains_skip_empty_items",
	    ROOT "local_domains = , a.example,, \t,b.example,\n",
	    { "local_domains=a.example,b.example" } },
	{ "local_domains_last_line_wins",
	    ROOT "local_domains = a.example\nlocal_domains = b.example\n",
	    { "local_domains=b.example" } },
	{ "local_domains_empty_value_gives_none", ROOT "local_domains =\n",
	    { "local_domains=" } },
	{ "store_maildir", ROOT "store = maildir\n", { "store=maildir" } },
	{ "store_defaults", ROOT, { "store=maildir", "store_parts=0,-,0,0,-",
	    "lmtp_tls=none", "drop_group=(null)" } },
	{ "store_drop", ROOT "store = drop\n", { "store=drop",
	    "store_parts=1,-,0,0,-" } },
	{ "store_lmtp_host_port", ROOT "store = lmtp:Mail.Example.ORG:24\n",
	    { "store=lmtp:mail.example.org:24",
	      "store_parts=2,mail.example.org,0,24,-" } },
	{ "store_lmtp_bare_ipv4_is_an_address",
	    ROOT "store = lmtp:127.0.0.1:2424\n",
	    { "store=lmtp:127.0.0.1:2424", "store_parts=2,127.0.0.1,1,2424,-" } },
	{ "store_lmtp_bracketed_ipv6", ROOT "store = lmtp:[::1]:24\n",
	    { "store=lmtp:[::1]:24", "store_parts=2,::1,1,24,-" } },
	{ "store_lmtp_bracketed_ipv4", ROOT "store = lmtp:[192.0.2.7]:65535\n",
	    { "store=lmtp:192.0.2.7:65535",
	      "store_parts=2,192.0.2.7,1,65535,-" } },
	{ "store_lmtp_unix", ROOT "store = lmtp:unix:/run/dovecot/lmtp\n",
	    { "store=lmtp:unix:/run/dovecot/lmtp",
	      "store_parts=2,-,0,0,/run/dovecot/lmtp" } },
	{ "store_last_line_wins", ROOT "store = lmtp:unix:/s\nstore = drop\n",
	    { "store=drop", "store_parts=1,-,0,0,-" } },
	{ "lmtp_tls_words", ROOT "lmtp_tls = verify\n[domain a.example]\n"
	    "lmtp_tls = may\n", { "lmtp_tls=verify",
	      "domain a.example store=unset lmtp_tls=may" } },
	{ "drop_group_that_exists", ROOT "drop_group = root\n",
	    { "drop_group=root" } },
	{ "store_per_domain", ROOT "store = drop\n[domain a.example]\n"
	    "store = lmtp:[::1]:24\n[domain b.example]\nstore = maildir\n"
	    "[domain c.example]\ncharset = utf-8\n",
	    { "store=drop", "domain a.example store=lmtp:[::1]:24 lmtp_tls=unset",
	      "domain b.example store=maildir lmtp_tls=unset",
	      "domain c.example store=unset lmtp_tls=unset" } },
	{ "smtp_defaults", ROOT,
	    { "smarthost=", "mx_port=25", "max_hops=100", "tls=may",
	      "retry_schedule=900,1800,3600,14400" } },
	{ "smtp_defaults_timeouts_and_limits", ROOT,
	    { "timeouts=30,300,300,120,180,600", "limits=20,4,100,100",
	      "delay_warning=43200", "protocol_log=0", "dns_servers=(null)" } },
	{ "smarthost_forms", ROOT "smarthost = [192.0.2.7]:2525, Relay.Example,"
	    " [::1], relay2.example:587, [IPv6:2001:db8::1]:26\n",
	    { "smarthost=[192.0.2.7]:2525,relay.example:25,[::1]:25,"
	      "relay2.example:587,[2001:db8::1]:26" } },
	{ "dns_servers_forms", ROOT "dns_servers = 127.0.0.1:5353, ::1, "
	    "[::1]:53, 192.0.2.1\n",
	    { "dns_servers=127.0.0.1:5353,[::1]:53,[::1]:53,192.0.2.1:53" } },
	{ "smtp_keys_set", ROOT "mx_port = 2525\nprefer_family = ipv4\n"
	    "max_hops = 15\ntls = verify\nretry_schedule = 1m, 2h\n",
	    { "mx_port=2525", "prefer_family=ipv4", "max_hops=15", "tls=verify",
	      "retry_schedule=60,7200" } },
	{ "timeouts_and_limits_set", ROOT "timeout_connect = 5s\n"
	    "timeout_greeting = 1m\ntimeout_command = 2m\ntimeout_data_init = 3m\n"
	    "timeout_data_block = 4m\ntimeout_data_done = 5m\n"
	    "max_connections = 7\nmax_per_destination = 2\n"
	    "max_messages_per_connection = 20\nmax_rcpts_per_transaction = 50\n"
	    "delay_warning = 0\nprotocol_log = maximum\n",
	    { "timeouts=5,60,120,180,240,300", "limits=7,2,20,50",
	      "delay_warning=0", "protocol_log=2" } },
	{ "domain_relay_tls", ROOT "[domain a.example]\nrelay = [10.0.0.1]:25\n"
	    "tls = none\n[domain *.b.example]\nrelay = mx.b.example\n",
	    { "domain a.example relay=[10.0.0.1]:25 tls=none auth=-",
	      "domain *.b.example relay=mx.b.example:25 tls=unset auth=-" } },
	{ "max_message_size_plain", ROOT "max_message_size = 2048\n",
	    { "max_message_size=2048" } },
	{ "max_message_size_k", ROOT "max_message_size = 512K\n",
	    { "max_message_size=524288" } },
	{ "max_message_size_m", ROOT "max_message_size = 25M\n",
	    { "max_message_size=26214400" } },
	{ "max_message_size_g", ROOT "max_message_size = 1G\n",
	    { "max_message_size=1073741824" } },
	{ "archive_yes", ROOT "archive = yes\n", { "archive=yes" } },
	{ "archive_on_any_case", ROOT "archive = On\n", { "archive=yes" } },
	{ "archive_false", ROOT "archive = false\n", { "archive=no" } },
	{ "pickup_dots_literal", ROOT "pickup_dots = literal\n",
	    { "pickup_dots=literal" } },
	{ "pickup_dots_iis", ROOT "pickup_dots = literal\npickup_dots = iis\n",
	    { "pickup_dots=iis" } },
	{ "pickup_dots_auto", ROOT "pickup_dots = iis\npickup_dots = auto\n",
	    { "pickup_dots=auto" } },
	{ "detect_yes_with_a_list", ROOT "detect = yes\n"
	    "detect_charsets = koi8-r, Shift_JIS,big5\n",
	    { "detect=yes", "detect_charsets=koi8-r, Shift_JIS,big5" } },
	{ "detect_charsets_default", ROOT,
	    { "detect=no", "detect_charsets=" CONFIG_DETECT_CHARSETS } },
	{ "pickup_mode_open", ROOT "pickup_mode = open\n",
	    { "pickup_mode=open" } },
	{ "pickup_mode_group", ROOT "pickup_mode = open\npickup_mode = group\n",
	    { "pickup_mode=group" } },
	{ "user_that_exists", ROOT "user = root\n", { "user=root" } },
	{ "group_that_exists", ROOT "group = root\n", { "group=root" } },
	{ "pickup_settle_zero_is_allowed", ROOT "pickup_settle = 0\n",
	    { "pickup_settle=0" } },
	{ "pickup_settle_seconds", ROOT "pickup_settle = 90s\n",
	    { "pickup_settle=90" } },
	{ "pickup_rescan_minutes", ROOT "pickup_rescan = 15m\n",
	    { "pickup_rescan=900" } },
	{ "local_retry_hours", ROOT "local_retry = 4h\n",
	    { "local_retry=14400" } },
	{ "max_lifetime_days", ROOT "max_lifetime = 5d\n",
	    { "max_lifetime=432000" } },
	{ "max_lifetime_plain_number", ROOT "max_lifetime = 3600\n",
	    { "max_lifetime=3600" } },
	{ "comment_after_value_is_cut",
	    "root = /srv/imcdata # the tree\nhostname = a.example\t# tab\n"
	    "max_message_size = 1M # one meg\n",
	    { "root=/srv/imcdata", "hostname=a.example",
	      "max_message_size=1048576" } },
	{ "hash_without_space_is_part_of_value", "root = /srv/imc#1\n",
	    { "root=/srv/imc#1" } },
	{ "comments_blank_lines_and_crlf",
	    "# imc.conf\r\n\r\n  # indented\r\nroot = /srv/x\r\narchive = 1\r\n",
	    { "root=/srv/x", "archive=yes" } },
	{ "domain_sections_are_listed_lowercased",
	    ROOT "[domain Example.ORG]\n[domain *.example.net]\n",
	    { "domains=example.org,*.example.net" } },
	{ "every_key_at_once",
	    "root = /srv/all\nhostname = h.example\nlocal_domains = l.example\n"
	    "store = maildir\nmax_message_size = 3K\narchive = yes\n"
	    "pickup_dots = literal\npickup_mode = open\nuser = root\n"
	    "group = root\npickup_settle = 1m\npickup_rescan = 2m\n"
	    "local_retry = 3m\nmax_lifetime = 4m\n",
	    { "max_message_size=3072", "pickup_settle=60", "pickup_rescan=120",
	      "local_retry=180", "max_lifetime=240" } },
};

START_TEST(test_good_case)
{
	const struct good_case *c = &good_cases[_i];
	struct imc_config cfg;
	struct buf err, dump, line;
	char path[PATH_MAX];
	size_t i;

	write_conf(path, sizeof(path), c->name, c->input, strlen(c->input));
	buf_init(&err);
	buf_init(&dump);
	buf_init(&line);
	ck_assert_msg(config_load(&cfg, path, &err) == 0, "%s: failed: %s",
	    c->name, buf_cstr(&err));
	ck_assert_str_eq(cfg.path, path);
	config_dump(&cfg, &dump);
	for (i = 0; i < MAXWANT && c->want[i] != NULL; i++) {
		buf_reset(&line);
		buf_printf(&line, "\n%s\n", c->want[i]);
		ck_assert_msg(strstr(buf_cstr(&dump), buf_cstr(&line)) != NULL,
		    "%s: want \"%s\" in%s", c->name, c->want[i],
		    buf_cstr(&dump));
	}
	config_free(&cfg);
	unlink(path);
	buf_fini(&err);
	buf_fini(&dump);
	buf_fini(&line);
}
END_TEST

struct bad_case {
	const char *name;
	const char *input;
	int	 want_line;	/* 0: "FILE: " without a line */
	const char *want_err;
};

static const struct bad_case bad_cases[] = {
	{ "missing_root_names_the_file", "hostname = a.example\n", 0,
	    "missing required key \"root\"" },
	{ "empty_file_lacks_root", "", 0, "missing required key" },
	{ "relative_root_is_refused", "# c\nroot = srv/imc\n", 2,
	    "not an absolute path" },
	{ "empty_root_is_refused", "root =\n", 1, "not an absolute path" },
	{ "root_slash_is_refused", "root = /\n", 1,
	    "root: \"/\" is the system folder /;" },
	{ "root_etc_is_refused", "# c\nroot = /etc\n", 2,
	    "root: \"/etc\" is the system folder /etc;" },
	{ "root_inside_etc_is_refused", "root = /etc/imcdata\n", 1,
	    "is inside the system folder /etc" },
	{ "root_dotdot_into_etc_is_refused", "root = /usr/../etc\n", 1,
	    "root: \"/usr/../etc\" (that is /etc) is the system folder /etc" },
	{ "root_with_slashes_and_dots_is_refused", "root = //etc/./\n", 1,
	    "system folder /etc" },
	{ "root_dotdot_above_slash_is_refused", "root = /../../\n", 1,
	    "system folder /;" },
	{ "root_usr_local_is_refused", "root = /usr/local/imc\n", 1,
	    "inside the system folder /usr" },
	{ "root_var_lib_itself_is_refused", "root = /var/lib/\n", 1,
	    "the system folder /var/lib;" },
	{ "root_var_itself_is_refused", "root = /var\n", 1,
	    "the system folder /var;" },
	{ "root_home_itself_is_refused", "root = /home\n", 1,
	    "the system folder /home;" },
	{ "root_tmp_itself_is_refused", "root = /tmp\n", 1,
	    "the system folder /tmp;" },
	{ "root_proc_is_refused", "root = /proc/self\n", 1,
	    "inside the system folder /proc" },
	{ "root_dev_shm_is_refused", "root = /dev/shm/imc\n", 1,
	    "inside the system folder /dev" },
	{ "root_in_root_home_is_refused", "root = /root/imcdata\n", 1,
	    "inside the system folder /root" },
	{ "unknown_key_is_refused", ROOT "\ncolour = blue\n", 3,
	    "unknown key \"colour\"" },
	{ "key_names_are_case_sensitive", ROOT "Root = /x\n", 2,
	    "unknown key \"Root\"" },
	{ "malformed_line_is_refused", ROOT "# c\n\nroot /srv\n", 4,
	    "key = value" },
	{ "bad_section_kind_is_refused", ROOT "[mailbox x]\n", 2,
	    "unknown section kind" },
	{ "unclosed_section_header_is_refused", ROOT "[domain a.example\n", 2,
	    "malformed section header" },
	{ "section_with_bad_domain_is_refused", ROOT "[domain bad!name]\n", 2,
	    "not a domain name" },
	{ "section_without_name_is_refused", ROOT "[domain]\n", 2,
	    "not a domain name" },
	{ "key_inside_domain_section_is_refused",
	    ROOT "[domain a.example]\n# per-domain\narchive = yes\n", 4,
	    "unknown key \"archive\" in [domain a.example]" },
	{ "hostname_with_space_is_refused", ROOT "hostname = bad host\n", 2,
	    "not a host name" },
	{ "hostname_with_leading_dot_is_refused", ROOT "hostname = .a.example\n",
	    2, "not a host name" },
	{ "hostname_with_trailing_dot_is_refused",
	    ROOT "hostname = a.example.\n", 2, "not a host name" },
	{ "empty_hostname_is_refused", ROOT "hostname =\n", 2,
	    "not a host name" },
	{ "local_domain_with_at_is_refused",
	    ROOT "local_domains = a.example, user@b.example\n", 2,
	    "\"user@b.example\" is not a domain name" },
	{ "unknown_store_is_refused", ROOT "store = mbox\n", 2,
	    "store: \"mbox\" is not supported (maildir, drop, lmtp:HOST:PORT, "
	    "lmtp:[ADDR]:PORT or lmtp:unix:/path)" },
	{ "store_words_are_case_sensitive", ROOT "store = Drop\n", 2,
	    "not supported" },
	{ "store_lmtp_without_port", ROOT "store = lmtp:mail.example\n", 2,
	    "store: \"lmtp:mail.example\": the port is missing" },
	{ "store_lmtp_empty", ROOT "store = lmtp:\n", 2,
	    "the port is missing" },
	{ "store_lmtp_bracket_without_port", ROOT "store = lmtp:[::1]\n", 2,
	    "store: \"lmtp:[::1]\": the port is missing (lmtp:[ADDR]:PORT)" },
	{ "store_lmtp_unclosed_bracket", ROOT "store = lmtp:[::1:24\n", 2,
	    "has no closing ]" },
	{ "store_lmtp_name_in_brackets", ROOT "store = lmtp:[mail.example]:24\n",
	    2, "\"mail.example\" is not an IP address" },
	{ "store_lmtp_bare_ipv6", ROOT "store = lmtp:::1:24\n", 2,
	    "write an IPv6 address in brackets" },
	{ "store_lmtp_port_zero", ROOT "store = lmtp:mx.example:0\n", 2,
	    "store: \"0\" is not a port (1-65535)" },
	{ "store_lmtp_port_too_big", ROOT "store = lmtp:[::1]:65536\n", 2,
	    "is not a port" },
	{ "store_lmtp_port_word", ROOT "store = lmtp:mx.example:lmtp\n", 2,
	    "is not a port" },
	{ "store_lmtp_bad_host", ROOT "store = lmtp:bad!host:24\n", 2,
	    "\"bad!host\" is not a host name or an IP address" },
	{ "store_lmtp_empty_host", ROOT "store = lmtp::24\n", 2,
	    "\"\" is not a host name" },
	{ "store_lmtp_unix_relative", ROOT "store = lmtp:unix:run/lmtp\n", 2,
	    "the socket path must be absolute" },
	{ "store_lmtp_unix_empty", ROOT "store = lmtp:unix:\n", 2,
	    "the socket path must be absolute" },
	{ "store_lmtp_unix_too_long", ROOT "store = lmtp:unix:/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 2,
	    "the socket path is longer than 107 bytes" },
	{ "store_in_domain_is_checked",
	    ROOT "[domain a.example]\nstore = lmtp:x.example\n", 3,
	    "the port is missing" },
	{ "lmtp_tls_implicit_is_refused", ROOT "lmtp_tls = implicit\n", 2,
	    "lmtp_tls: \"implicit\" is not none, may, encrypt or verify" },
	{ "lmtp_tls_in_domain_other", ROOT "[domain a.example]\nlmtp_tls = x\n",
	    3, "lmtp_tls: \"x\" is not none" },
	{ "unknown_drop_group_is_refused",
	    ROOT "drop_group = no-such-group-imc\n", 2,
	    "drop_group: no such group \"no-such-group-imc\"" },
	{ "drop_group_in_domain_is_refused",
	    ROOT "[domain a.example]\ndrop_group = root\n", 3,
	    "unknown key \"drop_group\" in [domain a.example]" },
	{ "size_with_bad_suffix_is_refused", ROOT "max_message_size = 10X\n", 2,
	    "not a size" },
	{ "size_word_is_refused", ROOT "max_message_size = ten\n", 2,
	    "not a size" },
	{ "zero_size_is_refused", ROOT "max_message_size = 0\n", 2,
	    "\"0\" is out of range: from 1K to 2G" },
	{ "archive_maybe_is_refused", ROOT "archive = maybe\n", 2,
	    "not yes or no" },
	{ "detect_charsets_unknown_is_refused", ROOT
	    "detect_charsets = koi8-r, klingon\n", 2,
	    "unknown charset \"klingon\"" },
	{ "detect_charsets_empty_is_refused", ROOT "detect_charsets = ,\n", 2,
	    "no charset named" },
	{ "pickup_dots_other_is_refused", ROOT "pickup_dots = smtp\n", 2,
	    "not iis, literal or auto" },
	{ "pickup_mode_other_is_refused", ROOT "pickup_mode = world\n", 2,
	    "not group or open" },
	{ "unknown_user_is_refused", ROOT "user = no-such-user-imc\n", 2,
	    "no such user" },
	{ "unknown_group_is_refused", ROOT "group = no-such-group-imc\n", 2,
	    "no such group" },
	{ "settle_with_bad_unit_is_refused", ROOT "pickup_settle = 5w\n", 2,
	    "not a duration" },
	{ "rescan_fraction_is_refused", ROOT "pickup_rescan = 1.5h\n", 2,
	    "not a duration" },
	{ "zero_rescan_is_refused", ROOT "pickup_rescan = 0\n", 2,
	    "out of range: from 1s to 1d" },
	{ "zero_local_retry_is_refused", ROOT "local_retry = 0s\n", 2,
	    "out of range: from 1s to 1d" },
	{ "bad_local_retry_is_refused", ROOT "local_retry = soon\n", 2,
	    "not a duration" },
	{ "zero_lifetime_is_refused", ROOT "max_lifetime = 0d\n", 2,
	    "out of range: from 1s to 365d" },
	{ "bad_lifetime_is_refused", ROOT "max_lifetime = -1\n", 2,
	    "not a duration" },
	{ "smarthost_unclosed_bracket", ROOT "smarthost = [192.0.2.7:25\n", 2,
	    "no closing ]" },
	{ "smarthost_bad_port", ROOT "smarthost = [192.0.2.7]:99999\n", 2,
	    "not a port" },
	{ "smarthost_bare_ip_needs_brackets", ROOT "smarthost = 192.0.2.7\n", 2,
	    "in brackets" },
	{ "smarthost_bare_ipv6_needs_brackets", ROOT "smarthost = ::1\n", 2,
	    "in brackets" },
	{ "smarthost_bad_name", ROOT "smarthost = bad!host\n", 2,
	    "not a host name" },
	{ "smarthost_empty", ROOT "smarthost = ,\n", 2, "no host" },
	{ "dns_servers_name_is_refused", ROOT "dns_servers = ns.example\n", 2,
	    "not an IP address" },
	{ "mx_port_zero", ROOT "mx_port = 0\n", 2, "not a port" },
	{ "tls_other", ROOT "tls = always\n", 2,
	    "not none, may, encrypt, verify or implicit" },
	{ "tls_in_domain_other", ROOT "[domain a.example]\ntls = yes\n", 3,
	    "not none, may" },
	{ "max_hops_zero", ROOT "max_hops = 0\n", 2,
	    "max_hops: \"0\" is out of range: from 1 to 10000" },
	{ "max_hops_word", ROOT "max_hops = many\n", 2,
	    "max_hops: \"many\" is not a number" },
	{ "max_hops_negative", ROOT "max_hops = -1\n", 2,
	    "max_hops: \"-1\" is not a number" },
	{ "retry_schedule_zero", ROOT "retry_schedule = 15m, 0\n", 2,
	    "retry_schedule: \"0\" is out of range: from 1s to 7d" },
	{ "retry_schedule_not_a_duration", ROOT "retry_schedule = 15m, 1w\n",
	    2, "retry_schedule: \"1w\" is not a duration" },
	{ "retry_schedule_step_overflow",
	    ROOT "retry_schedule = 1m,\t18446744073709551615s\n", 2,
	    "retry_schedule: \"18446744073709551615s\" is out of range" },
	{ "protocol_log_other", ROOT "protocol_log = full\n", 2,
	    "not none, minimum or maximum" },
	{ "timeout_zero", ROOT "timeout_command = 0\n", 2,
	    "timeout_command: \"0\" is out of range: from 1s to 1d" },
	{ "limit_zero", ROOT "max_connections = 0\n", 2,
	    "max_connections: \"0\" is out of range: from 1 to 10000" },
	{ "limit_with_space_inside", ROOT "max_connections = 1 0\n", 2,
	    "is not a number" },
	{ "prefer_family_other", ROOT "prefer_family = ipx\n", 2,
	    "not ipv6 or ipv4" },
	{ "tls_ca_file_missing", ROOT "tls_ca_file = /nonexistent/ca.pem\n", 2,
	    "tls_ca_file: /nonexistent/ca.pem" },
	{ "auth_file_missing", ROOT "auth_file = /nonexistent/auth\n", 2,
	    "auth_file: /nonexistent/auth" },
	{ "auth_without_file", ROOT "auth = relay1\n", 0,
	    "auth: no entry \"relay1\" in auth_file (not set)" },
	{ "domain_auth_without_file", ROOT "[domain a.example]\nauth = x\n", 0,
	    "[domain a.example]: auth: no entry" },
	{ "relay_outside_a_domain_section", ROOT "relay = [10.0.0.1]\n", 2,
	    "unknown key \"relay\"" },
	{ "error_after_many_lines_has_exact_line",
	    "# 1\n# 2\n" ROOT "\n\n# 6\narchive = no\n\n\npickup_mode = x\n", 10,
	    "pickup_mode" },
	{ "comment_does_not_hide_a_bad_value",
	    ROOT "archive = maybe # yes\n", 2, "\"maybe\"" },
};

START_TEST(test_bad_case)
{
	const struct bad_case *c = &bad_cases[_i];
	struct imc_config cfg;
	struct buf err;
	char path[PATH_MAX], prefix[PATH_MAX + 32];

	write_conf(path, sizeof(path), c->name, c->input, strlen(c->input));
	buf_init(&err);
	ck_assert_msg(config_load(&cfg, path, &err) == -1, "%s: accepted",
	    c->name);
	if (c->want_line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, c->want_line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	ck_assert_msg(strncmp(buf_cstr(&err), prefix, strlen(prefix)) == 0,
	    "%s: error \"%s\" does not start with \"%s\"", c->name,
	    buf_cstr(&err), prefix);
	ck_assert_msg(strstr(buf_cstr(&err), c->want_err) != NULL,
	    "%s: error \"%s\" lacks \"%s\"", c->name, buf_cstr(&err),
	    c->want_err);
	config_free(&cfg);
	unlink(path);
	buf_fini(&err);
}
END_TEST

/*
 * Every bounded key at the edges of its range: min-1 (when min is above
 * 0) and max+1 are refused naming the range, min and max are taken; and
 * the values of issue 13 item 15, 2^64-1 (which used to wrap) and 2^64
 * (which overflows the parse), are out of range too, never accepted.
 */
struct bound_case {
	const char *key;
	const char *below;	/* min-1, or NULL when min is 0 */
	const char *at_min;
	uint64_t want_min;
	const char *at_max;
	uint64_t want_max;
	const char *above;	/* max+1 */
	const char *range;	/* as the message says it */
};

static const struct bound_case bound_cases[] = {
	{ "max_message_size", "1023", "1K", 1024, "2G", 2147483648ull,
	    "2147483649", "from 1K to 2G" },
	{ "pickup_settle", NULL, "0", 0, "1h", 3600, "3601",
	    "from 0s to 1h" },
	{ "pickup_rescan", "0", "1s", 1, "1d", 86400, "86401",
	    "from 1s to 1d" },
	{ "local_retry", "0", "1", 1, "24h", 86400, "1441m",
	    "from 1s to 1d" },
	{ "max_lifetime", "0", "1s", 1, "365d", 31536000, "31536001",
	    "from 1s to 365d" },
	{ "delay_warning", NULL, "0", 0, "365d", 31536000, "366d",
	    "from 0s to 365d" },
	{ "retry_schedule", "0", "1s", 1, "7d", 604800, "604801",
	    "from 1s to 7d" },
	{ "timeout_connect", "0", "1s", 1, "1d", 86400, "86401",
	    "from 1s to 1d" },
	{ "timeout_greeting", "0s", "1", 1, "1440m", 86400, "86401s",
	    "from 1s to 1d" },
	{ "timeout_command", "0", "1s", 1, "1d", 86400, "25h",
	    "from 1s to 1d" },
	{ "timeout_data_init", "0", "1s", 1, "1d", 86400, "86401",
	    "from 1s to 1d" },
	{ "timeout_data_block", "0", "1s", 1, "1d", 86400, "86401",
	    "from 1s to 1d" },
	{ "timeout_data_done", "0", "1s", 1, "1d", 86400, "86401",
	    "from 1s to 1d" },
	{ "max_hops", "0", "1", 1, "10000", 10000, "10001",
	    "from 1 to 10000" },
	{ "max_connections", "0", "1", 1, "10000", 10000, "10001",
	    "from 1 to 10000" },
	{ "max_per_destination", "0", "1", 1, "10000", 10000, "10001",
	    "from 1 to 10000" },
	{ "max_messages_per_connection", "0", "1", 1, "10000", 10000, "10001",
	    "from 1 to 10000" },
	{ "max_rcpts_per_transaction", "0", "1", 1, "10000", 10000, "10001",
	    "from 1 to 10000" },
};

/* bound_value - the loaded value of a bounded key */
static uint64_t
bound_value(const struct imc_config *cfg, const char *key)
{
	static const struct {
		const char *key;
		size_t	 off;
	} fields[] = {
#define F(k)	{ #k, offsetof(struct imc_config, k) }
		F(max_message_size), F(pickup_settle), F(pickup_rescan),
		F(local_retry), F(max_lifetime), F(delay_warning),
		F(timeout_connect), F(timeout_greeting), F(timeout_command),
		F(timeout_data_init), F(timeout_data_block),
		F(timeout_data_done), F(max_connections),
		F(max_per_destination), F(max_messages_per_connection),
		F(max_rcpts_per_transaction),
#undef F
	};
	size_t i;

	if (!strcmp(key, "max_hops"))
		return cfg->max_hops;
	if (!strcmp(key, "retry_schedule")) {
		ck_assert_uint_eq(cfg->n_retry_schedule, 1);
		return cfg->retry_schedule[0];
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!strcmp(fields[i].key, key))
			return *(const uint64_t *)(const void *)((const char *)
			    cfg + fields[i].off);
	ck_abort_msg("no field for %s", key);
	return 0;
}

/* bound_try - load "KEY = VALUE" on line 2; want it taken as want, or
 * (want_ok false) refused on line 2 as out of range, naming the range */
static void
bound_try(const struct bound_case *c, const char *value, bool want_ok,
    uint64_t want)
{
	struct imc_config cfg;
	struct buf err, text, msg;
	char path[PATH_MAX];

	buf_init(&err);
	buf_init(&text);
	buf_init(&msg);
	buf_printf(&text, ROOT "%s = %s\n", c->key, value);
	write_conf(path, sizeof(path), c->key, text.data, text.len);
	if (want_ok) {
		ck_assert_msg(config_load(&cfg, path, &err) == 0,
		    "%s = %s refused: %s", c->key, value, buf_cstr(&err));
		ck_assert_msg(bound_value(&cfg, c->key) == want,
		    "%s = %s gave %" PRIu64 ", want %" PRIu64, c->key, value,
		    bound_value(&cfg, c->key), want);
	} else {
		ck_assert_msg(config_load(&cfg, path, &err) == -1,
		    "%s = %s accepted", c->key, value);
		buf_printf(&msg, "%s:2: %s: \"%s\" is out of range: %s", path,
		    c->key, value, c->range);
		ck_assert_msg(strcmp(buf_cstr(&err), buf_cstr(&msg)) == 0,
		    "%s = %s: error \"%s\", want \"%s\"", c->key, value,
		    buf_cstr(&err), buf_cstr(&msg));
	}
	config_free(&cfg);
	unlink(path);
	buf_fini(&err);
	buf_fini(&text);
	buf_fini(&msg);
}

START_TEST(test_bound_edges)
{
	const struct bound_case *c = &bound_cases[_i];

	if (c->below != NULL)
		bound_try(c, c->below, false, 0);
	bound_try(c, c->at_min, true, c->want_min);
	bound_try(c, c->at_max, true, c->want_max);
	bound_try(c, c->above, false, 0);
}
END_TEST

START_TEST(test_bound_u64)
{
	const struct bound_case *c = &bound_cases[_i];

	bound_try(c, "18446744073709551615", false, 0);	/* 2^64-1 */
	bound_try(c, "18446744073709551616", false, 0);	/* 2^64 */
}
END_TEST

START_TEST(default_hostname_is_the_system_name_lowercased)
{
	struct imc_config cfg;
	struct buf err;
	char path[PATH_MAX], host[HOST_NAME_MAX + 1];
	char *p;

	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	for (p = host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	write_conf(path, sizeof(path), "default_hostname", ROOT, strlen(ROOT));
	buf_init(&err);
	ck_assert_msg(config_load(&cfg, path, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_str_eq(cfg.hostname, host);
	config_free(&cfg);
	unlink(path);
	buf_fini(&err);
}
END_TEST

START_TEST(missing_config_file_names_the_file)
{
	struct imc_config cfg;
	struct buf err;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/nowhere.conf", tmpdir);
	buf_init(&err);
	ck_assert_int_eq(config_load(&cfg, path, &err), -1);
	ck_assert_msg(strncmp(buf_cstr(&err), path, strlen(path)) == 0,
	    "error \"%s\"", buf_cstr(&err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "cannot open"));
	config_free(&cfg);
	buf_fini(&err);
}
END_TEST

START_TEST(local_domain_match_ignores_case)
{
	static const char text[] = ROOT "local_domains = a.example, B.example\n";
	struct imc_config cfg;
	struct buf err;
	char path[PATH_MAX];

	write_conf(path, sizeof(path), "local_match", text, strlen(text));
	buf_init(&err);
	ck_assert_msg(config_load(&cfg, path, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_uint_eq(cfg.n_local_domains, 2);
	ck_assert(config_is_local_domain(&cfg, "A.EXAMPLE"));
	ck_assert(config_is_local_domain(&cfg, "b.example"));
	ck_assert(!config_is_local_domain(&cfg, "c.example"));
	ck_assert(!config_is_local_domain(&cfg, "example"));
	ck_assert(!config_is_local_domain(&cfg, "sub.a.example"));
	config_free(&cfg);
	unlink(path);
	buf_fini(&err);
}
END_TEST

START_TEST(config_ids_give_the_named_user_and_group)
{
	static const char text[] = ROOT "user = nobody\ngroup = root\n";
	struct imc_config cfg;
	struct buf err;
	char path[PATH_MAX];
	uid_t uid = 1;
	gid_t sgid = 1, wgid = 1;

	write_conf(path, sizeof(path), "ids", text, strlen(text));
	buf_init(&err);
	ck_assert_msg(config_load(&cfg, path, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(config_ids(&cfg, &uid, &sgid, &wgid, &err), 0);
	ck_assert_uint_eq(uid, 65534);
	ck_assert_uint_eq(sgid, 65534);
	ck_assert_uint_eq(wgid, 0);
	config_free(&cfg);
	unlink(path);
	buf_fini(&err);
}
END_TEST

START_TEST(config_ids_default_to_the_running_ids)
{
	struct imc_config cfg;
	struct buf err;
	char path[PATH_MAX];
	uid_t uid = 12345;
	gid_t sgid = 12345, wgid = 12345;

	write_conf(path, sizeof(path), "ids_default", ROOT, strlen(ROOT));
	buf_init(&err);
	ck_assert_msg(config_load(&cfg, path, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(config_ids(&cfg, &uid, &sgid, &wgid, &err), 0);
	ck_assert_uint_eq(uid, geteuid());
	ck_assert_uint_eq(sgid, getegid());
	ck_assert_uint_eq(wgid, getegid());
	config_free(&cfg);
	unlink(path);
	buf_fini(&err);
}
END_TEST

/* The credentials file: mode, owner, format, labels. */
START_TEST(auth_file_rules)
{
	struct imc_config cfg;
	struct buf err;
	char conf[PATH_MAX], auth[PATH_MAX + 16], text[PATH_MAX * 2];
	int fd;

	snprintf(auth, sizeof(auth), "%s/auth", tmpdir);
	fd = open(auth, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert(write(fd, "# label user password\nrelay1 u1 p1\n\n"
	    "relay2 u2 p2 # note\n", 55) == 55);
	close(fd);
	snprintf(text, sizeof(text), ROOT "auth_file = %s\nauth = relay2\n"
	    "[domain a.example]\nauth = relay1\n", auth);
	write_conf(conf, sizeof(conf), "auth_ok", text, strlen(text));
	buf_init(&err);
	ck_assert_msg(config_load(&cfg, conf, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_uint_eq(cfg.n_auths, 2);
	ck_assert_str_eq(config_auth(&cfg, "relay2")->user, "u2");
	ck_assert_str_eq(config_auth(&cfg, "relay2")->pass, "p2");
	ck_assert_ptr_null(config_auth(&cfg, "relay3"));
	config_free(&cfg);

	/* group or other access: refused, with the mode in the message */
	chmod(auth, 0640);
	buf_reset(&err);
	ck_assert_int_eq(config_load(&cfg, conf, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), "is mode 0640; it must be 0600") !=
	    NULL, "%s", buf_cstr(&err));
	config_free(&cfg);
	chmod(auth, 0600);

	/* a label the file lacks */
	snprintf(text, sizeof(text), ROOT "auth_file = %s\nauth = nope\n", auth);
	write_conf(conf, sizeof(conf), "auth_label", text, strlen(text));
	buf_reset(&err);
	ck_assert_int_eq(config_load(&cfg, conf, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), "no entry \"nope\"") != NULL, "%s",
	    buf_cstr(&err));
	config_free(&cfg);

	/* auth over tls = none */
	snprintf(text, sizeof(text), ROOT "auth_file = %s\nauth = relay1\n"
	    "tls = none\n", auth);
	write_conf(conf, sizeof(conf), "auth_notls", text, strlen(text));
	buf_reset(&err);
	ck_assert_int_eq(config_load(&cfg, conf, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), "only sent over TLS") != NULL, "%s",
	    buf_cstr(&err));
	config_free(&cfg);

	/* a line without a password */
	fd = open(auth, O_WRONLY | O_TRUNC);
	ck_assert(write(fd, "relay1 u1\n", 10) == 10);
	close(fd);
	snprintf(text, sizeof(text), ROOT "auth_file = %s\n", auth);
	write_conf(conf, sizeof(conf), "auth_short", text, strlen(text));
	buf_reset(&err);
	ck_assert_int_eq(config_load(&cfg, conf, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), ":1: want \"LABEL USERNAME "
	    "PASSWORD\"") != NULL, "%s", buf_cstr(&err));
	config_free(&cfg);

	/* a symbolic link is not followed */
	unlink(auth);
	ck_assert_int_eq(symlink("/etc/hostname", auth), 0);
	buf_reset(&err);
	ck_assert_int_eq(config_load(&cfg, conf, &err), -1);
	config_free(&cfg);
	unlink(auth);
	unlink(conf);
	buf_fini(&err);
}
END_TEST

/* issue 13.10: the owner is compared with the configured service user,
 * not with the euid of a connector started as root. */
START_TEST(auth_file_owned_by_the_service_user_is_accepted)
{
	struct imc_config cfg;
	struct buf err;
	struct passwd *svc, *other;
	char conf[PATH_MAX], auth[PATH_MAX + 16], text[PATH_MAX * 2];
	int fd;

	ck_assert_msg(geteuid() == 0, "this case needs root (CI runs as root)");
	svc = getpwnam("imcsvc");
	ck_assert_msg(svc != NULL, "needs the imcsvc account "
	    "(tools/install-deps.sh makes it)");
	snprintf(auth, sizeof(auth), "%s/auth_svc", tmpdir);
	fd = open(auth, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert(write(fd, "relay1 u1 p1\n", 13) == 13);
	close(fd);
	ck_assert_int_eq(chown(auth, svc->pw_uid, svc->pw_gid), 0);
	buf_init(&err);

	snprintf(text, sizeof(text), ROOT "auth_file = %s\nuser = imcsvc\n",
	    auth);
	write_conf(conf, sizeof(conf), "auth_svc", text, strlen(text));
	ck_assert_msg(config_load(&cfg, conf, &err) == 0, "%s", buf_cstr(&err));
	config_free(&cfg);

	/* without "user" the connector runs as root: imcsvc's file is not
	 * its own, and the message names the uid */
	snprintf(text, sizeof(text), ROOT "auth_file = %s\n", auth);
	write_conf(conf, sizeof(conf), "auth_svc2", text, strlen(text));
	buf_reset(&err);
	ck_assert_int_eq(config_load(&cfg, conf, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), "root's or the service user's") !=
	    NULL, "%s", buf_cstr(&err));
	config_free(&cfg);

	/* another user's file is refused whatever "user" says */
	if ((other = getpwnam("imcother")) != NULL) {
		ck_assert_int_eq(chown(auth, other->pw_uid, other->pw_gid), 0);
		snprintf(text, sizeof(text), ROOT "auth_file = %s\n"
		    "user = imcsvc\n", auth);
		write_conf(conf, sizeof(conf), "auth_svc3", text, strlen(text));
		buf_reset(&err);
		ck_assert_int_eq(config_load(&cfg, conf, &err), -1);
		config_free(&cfg);
	}
	unlink(auth);
	unlink(conf);
	buf_fini(&err);
}
END_TEST

/* imc-submit's mode: auth_file and tls_ca_file are named, never opened
 * (a writer may not read them), and auth labels are not looked up; every
 * other key is still checked. */
START_TEST(submit_mode_never_opens_the_credentials)
{
	struct imc_config cfg;
	struct buf err;
	char conf[PATH_MAX], auth[PATH_MAX + 16], text[PATH_MAX * 3];
	int fd;

	/* group-readable: the daemon refuses it; a missing CA file too */
	snprintf(auth, sizeof(auth), "%s/auth-submit", tmpdir);
	fd = open(auth, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	ck_assert_int_ne(fd, -1);
	ck_assert(write(fd, "relay1 u1 p1\n", 13) == 13);
	close(fd);
	chmod(auth, 0640);
	snprintf(text, sizeof(text), ROOT "auth_file = %s\nauth = relay1\n"
	    "tls_ca_file = %s/no-such-ca.pem\n[domain a.example]\n"
	    "auth = other\n", auth, tmpdir);
	write_conf(conf, sizeof(conf), "submit_mode", text, strlen(text));
	buf_init(&err);
	ck_assert_int_eq(config_load(&cfg, conf, &err), -1);
	config_free(&cfg);
	buf_reset(&err);
	ck_assert_msg(config_load_mode(&cfg, conf, CONFIG_SUBMIT, &err) == 0,
	    "%s", buf_cstr(&err));
	ck_assert_str_eq(cfg.root, "/srv/imcdata");
	ck_assert_str_eq(cfg.auth_file, auth);
	ck_assert_uint_eq(cfg.n_auths, 0);
	ck_assert_ptr_null(config_auth(&cfg, "relay1"));
	config_free(&cfg);

	/* a missing auth_file, likewise */
	unlink(auth);
	buf_reset(&err);
	ck_assert_int_eq(config_load(&cfg, conf, &err), -1);
	config_free(&cfg);
	buf_reset(&err);
	ck_assert_msg(config_load_mode(&cfg, conf, CONFIG_SUBMIT, &err) == 0,
	    "%s", buf_cstr(&err));
	config_free(&cfg);

	/* other keys are still checked */
	snprintf(text, sizeof(text), ROOT "auth_file = %s\nnosuchkey = 1\n",
	    auth);
	write_conf(conf, sizeof(conf), "submit_mode_bad", text, strlen(text));
	buf_reset(&err);
	ck_assert_int_eq(config_load_mode(&cfg, conf, CONFIG_SUBMIT, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), ":3: unknown key") != NULL, "%s",
	    buf_cstr(&err));
	config_free(&cfg);
	unlink(conf);
	buf_fini(&err);
}
END_TEST

/* A root reached through a symbolic link into a system folder: refused
 * once the link is resolved, whether the root itself exists or not. */
START_TEST(root_through_a_link_into_etc_is_refused)
{
	struct imc_config cfg;
	struct buf err;
	char conf[PATH_MAX], link[PATH_MAX + 16], text[PATH_MAX * 2];
	const char *tails[] = { "", "/imcdata", "/no/such/sub" };
	size_t i;

	snprintf(link, sizeof(link), "%s/etc-link", tmpdir);
	ck_assert_int_eq(symlink("/etc", link), 0);
	buf_init(&err);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(text, sizeof(text), "root = %s%s\n", link, tails[i]);
		write_conf(conf, sizeof(conf), "root_link", text, strlen(text));
		buf_reset(&err);
		ck_assert_msg(config_load(&cfg, conf, &err) == -1,
		    "%s%s accepted", link, tails[i]);
		ck_assert_msg(strstr(buf_cstr(&err), ":1: root: ") != NULL &&
		    strstr(buf_cstr(&err), "(that is /etc") != NULL &&
		    strstr(buf_cstr(&err), "system folder /etc") != NULL,
		    "%s", buf_cstr(&err));
		config_free(&cfg);
	}
	/* a link to a folder of its own is fine */
	unlink(link);
	ck_assert_int_eq(symlink(tmpdir, link), 0);
	snprintf(text, sizeof(text), "root = %s/imcdata\n", link);
	write_conf(conf, sizeof(conf), "root_link_ok", text, strlen(text));
	buf_reset(&err);
	ck_assert_msg(config_load(&cfg, conf, &err) == 0, "%s", buf_cstr(&err));
	config_free(&cfg);
	unlink(link);
	unlink(conf);
	buf_fini(&err);
}
END_TEST

START_TEST(defaults_without_a_file)
{
	struct imc_config cfg;

	config_defaults(&cfg);
	ck_assert_uint_eq(cfg.max_message_size, 10485760);
	ck_assert(!cfg.archive);
	ck_assert_int_eq(cfg.pickup_dots, PICKUP_DOTS_AUTO);
	ck_assert_int_eq(cfg.pickup_mode, PICKUP_MODE_GROUP);
	ck_assert_int_eq(cfg.store.kind, STORE_MAILDIR);
	ck_assert_int_eq(cfg.lmtp_tls, IMC_TLS_NONE);
	ck_assert_ptr_null(cfg.root);
	ck_assert_uint_eq(cfg.n_local_domains, 0);
	config_free(&cfg);
}
END_TEST

/* A domain's store and lmtp_tls: its section's (the longest match, a
 * wildcard covering subdomains), else the global ones. */
START_TEST(store_for_a_domain_falls_back_to_the_global_one)
{
	static const char text[] = ROOT "store = drop\nlmtp_tls = may\n"
	    "[domain *.example.org]\nstore = lmtp:unix:/s/lmtp\n"
	    "lmtp_tls = verify\n[domain a.example.org]\nstore = maildir\n"
	    "[domain b.example.org]\ncharset = utf-8\n";
	static const struct {
		const char *domain, *want;
		enum imc_tls tls;
	} cases[] = {
		{ "example.org", "drop", IMC_TLS_MAY },
		{ "x.example.org", "lmtp:unix:/s/lmtp", IMC_TLS_VERIFY },
		{ "A.Example.ORG", "maildir", IMC_TLS_MAY },
		{ "b.example.org", "drop", IMC_TLS_MAY },
		{ "other.example", "drop", IMC_TLS_MAY },
	};
	struct imc_config cfg;
	struct buf err, got;
	char path[PATH_MAX];
	size_t i;

	write_conf(path, sizeof(path), "store_for", text, strlen(text));
	buf_init(&err);
	buf_init(&got);
	ck_assert_msg(config_load(&cfg, path, &err) == 0, "%s", buf_cstr(&err));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&got);
		config_store_put(&got, config_store_for(&cfg, cases[i].domain));
		ck_assert_msg(!strcmp(buf_cstr(&got), cases[i].want),
		    "%s: store %s, want %s", cases[i].domain, buf_cstr(&got),
		    cases[i].want);
		ck_assert_int_eq(config_lmtp_tls_for(&cfg, cases[i].domain),
		    cases[i].tls);
	}
	buf_reset(&got);
	config_store_put(&got, config_store_for(&cfg, NULL));
	ck_assert_str_eq(buf_cstr(&got), "drop");
	config_free(&cfg);
	unlink(path);
	buf_fini(&err);
	buf_fini(&got);
}
END_TEST

/* conf_suite - every conf and config test */
static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("values");
	tcase_add_loop_test(tc, test_size_case, 0,
	    (int)(sizeof(size_cases) / sizeof(size_cases[0])));
	tcase_add_loop_test(tc, test_duration_case, 0,
	    (int)(sizeof(duration_cases) / sizeof(duration_cases[0])));
	tcase_add_loop_test(tc, test_bool_case, 0,
	    (int)(sizeof(bool_cases) / sizeof(bool_cases[0])));
	tcase_add_loop_test(tc, test_errno_case, 0,
	    (int)(sizeof(errno_cases) / sizeof(errno_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_loop_test(tc, test_parse_case, 0,
	    (int)(sizeof(parse_cases) / sizeof(parse_cases[0])));
	tcase_add_test(tc, parse_of_missing_file_names_the_file);
	tcase_add_test(tc, parse_refuses_a_line_over_the_limit);
	tcase_add_test(tc, parse_refuses_a_nul_byte);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_loop_test(tc, test_good_case, 0,
	    (int)(sizeof(good_cases) / sizeof(good_cases[0])));
	tcase_add_loop_test(tc, test_bad_case, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_loop_test(tc, test_bound_edges, 0,
	    (int)(sizeof(bound_cases) / sizeof(bound_cases[0])));
	tcase_add_loop_test(tc, test_bound_u64, 0,
	    (int)(sizeof(bound_cases) / sizeof(bound_cases[0])));
	tcase_add_test(tc, default_hostname_is_the_system_name_lowercased);
	tcase_add_test(tc, missing_config_file_names_the_file);
	tcase_add_test(tc, local_domain_match_ignores_case);
	tcase_add_test(tc, config_ids_give_the_named_user_and_group);
	tcase_add_test(tc, config_ids_default_to_the_running_ids);
	tcase_add_test(tc, defaults_without_a_file);
	tcase_add_test(tc, store_for_a_domain_falls_back_to_the_global_one);
	tcase_add_test(tc, auth_file_rules);
	tcase_add_test(tc, auth_file_owned_by_the_service_user_is_accepted);
	tcase_add_test(tc, root_through_a_link_into_etc_is_refused);
	tcase_add_test(tc, submit_mode_never_opens_the_credentials);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the conf suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
