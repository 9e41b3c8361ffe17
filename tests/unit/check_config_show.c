/*
 * check_config_show - the effective settings (config_show, for
 * imc-connector --check-config -v) and what a reload keeps
 * (config_keep_restart, for SIGHUP).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"

static char dir[] = "/tmp/check_config_show.XXXXXX";

static void
setup(void)
{
	strcpy(dir, "/tmp/check_config_show.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* write_conf - a file named name in dir holding text; its path */
static const char *
write_conf(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static void
load(struct imc_config *cfg, const char *name, const char *text)
{
	struct buf err;

	buf_init(&err);
	if (config_load(cfg, write_conf(name, text), &err) == -1)
		ck_abort_msg("%s: %s", name, buf_cstr(&err));
	buf_fini(&err);
}

#define BASE	"root = /tmp/check-config-show/Imcdata\nhostname = a.example\n"

/* The lines of the output after the first (which names the file). */
static const char *
body(const struct buf *b)
{
	const char *nl = strchr(buf_cstr(b), '\n');

	return nl != NULL ? nl + 1 : "";
}

START_TEST(show_has_every_global_key)
{
	struct imc_config cfg;
	struct buf out, d, r, want1, want2;
	const char *name;
	unsigned where;
	size_t i, n = 0;

	load(&cfg, "a.conf", BASE);
	buf_init(&out);
	config_show(&cfg, &out);
	for (i = 0; ; i++) {
		buf_init(&d);
		buf_init(&r);
		name = config_key_doc(i, &where, &d, &r);
		buf_fini(&d);
		buf_fini(&r);
		if (name == NULL)
			break;
		if (!(where & CONFIG_GLOBAL))
			continue;
		buf_init(&want1);
		buf_init(&want2);
		buf_printf(&want1, "\n%s = ", name);
		buf_printf(&want2, "\n# %s: not set (", name);
		if (strstr(buf_cstr(&out), buf_cstr(&want1)) == NULL &&
		    strstr(buf_cstr(&out), buf_cstr(&want2)) == NULL)
			ck_abort_msg("no line for %s in:\n%s", name,
			    buf_cstr(&out));
		buf_fini(&want1);
		buf_fini(&want2);
		n++;
	}
	ck_assert_uint_gt(n, 30);
	buf_fini(&out);
	config_free(&cfg);
}
END_TEST

/* A value as the file sets it and the line the output shows for it. */
static const struct {
	const char *set, *want;
} show_cases[] = {
	{ "max_message_size = 2048K", "max_message_size = 2M" },
	{ "retry_schedule = 90s, 2h,1d", "retry_schedule = 90s, 2h, 1d" },
	{ "smarthost = relay.example, [192.0.2.7]:2525",
	    "smarthost = relay.example:25, [192.0.2.7]:2525" },
	{ "local_domains = Example.COM, b.example",
	    "local_domains = example.com, b.example" },
	{ "archive = true", "archive = yes" },
	{ "tls = encrypt", "tls = encrypt" },
	{ "mx_port = 2525", "mx_port = 2525" },
	{ "max_hops = 30", "max_hops = 30" },
	{ "pickup_settle = 0s", "pickup_settle = 0s" },
	{ "delay_warning = 0", "delay_warning = 0s" },
	{ "dns_servers = 127.0.0.1:5353", "dns_servers = 127.0.0.1:5353" },
	{ "# nothing", "# dns_servers: not set (system resolver)" },
	{ "# nothing", "# smarthost: not set (none: DNS MX)" },
	{ "# nothing", "max_rcpts_per_transaction = 100" },
};

START_TEST(show_writes_values_as_the_file_would)
{
	struct imc_config cfg;
	struct buf text, out, want;

	buf_init(&text);
	buf_init(&out);
	buf_init(&want);
	buf_printf(&text, "%s%s\n", BASE, show_cases[_i].set);
	load(&cfg, "b.conf", buf_cstr(&text));
	config_show(&cfg, &out);
	buf_printf(&want, "\n%s\n", show_cases[_i].want);
	if (strstr(buf_cstr(&out), buf_cstr(&want)) == NULL)
		ck_abort_msg("\"%s\": no line \"%s\" in:\n%s",
		    show_cases[_i].set, show_cases[_i].want, buf_cstr(&out));
	buf_fini(&text);
	buf_fini(&out);
	buf_fini(&want);
	config_free(&cfg);
}
END_TEST

/* What -v prints is a configuration file that means the same. */
START_TEST(show_output_loads_back_the_same)
{
	struct imc_config a, b;
	struct buf out1, out2;

	load(&a, "c.conf", BASE
	    "local_domains = example.com\n"
	    "retry_schedule = 1m, 1h\n"
	    "smarthost = [127.0.0.1]:2525\n"
	    "timeout_connect = 45s\n"
	    "[domain x.test]\n"
	    "charset = iso-2022-jp\n"
	    "encoding = 7bit\n"
	    "relay = [::1]:26\n"
	    "tls = none\n"
	    "[domain *.y.test]\n"
	    "legacy_charset = koi8-r\n");
	buf_init(&out1);
	buf_init(&out2);
	config_show(&a, &out1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out1),
	    "\n[domain x.test]\ncharset = iso-2022-jp\nencoding = 7bit\n"
	    "tls = none\nrelay = [::1]:26\n"));
	load(&b, "d.conf", buf_cstr(&out1));
	config_show(&b, &out2);
	ck_assert_str_eq(body(&out1), body(&out2));
	buf_fini(&out1);
	buf_fini(&out2);
	config_free(&a);
	config_free(&b);
}
END_TEST

/* A reload takes what may change and keeps what needs a restart. */
START_TEST(reload_keeps_restart_keys)
{
	struct imc_config cur, next;
	struct buf changed;

	load(&cur, "e.conf", BASE "max_hops = 10\nprotocol_log = none\n"
	    "dns_servers = 127.0.0.1\n");
	load(&next, "f.conf", "root = /tmp/check-config-show/Other\n"
	    "hostname = b.example\nmax_hops = 20\nprotocol_log = maximum\n"
	    "dns_servers = 127.0.0.1\n");
	buf_init(&changed);
	ck_assert_uint_eq(config_keep_restart(&next, &cur, &changed), 3);
	ck_assert_str_eq(buf_cstr(&changed), "root, hostname, protocol_log");
	ck_assert_str_eq(next.root, "/tmp/check-config-show/Imcdata");
	ck_assert_str_eq(next.hostname, "a.example");
	ck_assert_int_eq(next.protocol_log, PROTOLOG_NONE);
	ck_assert_uint_eq(next.max_hops, 20);	/* may change */
	/* each keeps its own memory: the other's values, swapped */
	ck_assert_str_eq(cur.hostname, "b.example");
	buf_reset(&changed);
	ck_assert_uint_eq(config_keep_restart(&next, &next, &changed), 0);
	ck_assert_str_eq(buf_cstr(&changed), "");
	buf_fini(&changed);
	config_free(&cur);
	config_free(&next);
}
END_TEST

static Suite *
config_show_suite(void)
{
	Suite *s = suite_create("config_show");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, show_has_every_global_key);
	tcase_add_loop_test(tc, show_writes_values_as_the_file_would, 0,
	    (int)(sizeof(show_cases) / sizeof(show_cases[0])));
	tcase_add_test(tc, show_output_loads_back_the_same);
	tcase_add_test(tc, reload_keeps_restart_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_show_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
