/*
 * check_route - which way mail for a domain goes: [domain] relay (longest
 * suffix, "*.x" for subdomains), else smarthost (in turn per message),
 * else MX; TLS and AUTH inherited from the global keys; the destination
 * key that groups transactions.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "route.h"

static char dir[PATH_MAX];

static void
load(struct imc_config *cfg, const char *text)
{
	char path[PATH_MAX + 16], auth[PATH_MAX + 16], full[PATH_MAX + 4096];
	struct buf err;
	int fd;

	snprintf(auth, sizeof(auth), "%s/auth", dir);
	fd = open(auth, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert(write(fd, "lab labuser labpass\nsmart su sp\n", 32) == 32);
	close(fd);
	snprintf(path, sizeof(path), "%s/imc.conf", dir);
	snprintf(full, sizeof(full), "root = /srv/imc\nauth_file = %s\n%s", auth,
	    text);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert(write(fd, full, strlen(full)) == (ssize_t)strlen(full));
	close(fd);
	buf_init(&err);
	ck_assert_msg(config_load(cfg, path, &err) == 0, "%s", buf_cstr(&err));
	buf_fini(&err);
}

START_TEST(mx_without_smarthost_or_relay)
{
	struct imc_config cfg;
	struct route r;

	load(&cfg, "mx_port = 2525\n");
	ck_assert_int_eq(route_for(&cfg, "example.net", 0, &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_MX);
	ck_assert_uint_eq(r.port, 2525);
	ck_assert_int_eq(r.tls, IMC_TLS_MAY);
	ck_assert_str_eq(r.key, "mx:example.net tls=may");
	ck_assert_ptr_null(r.auth_user);
	route_free(&r);
	config_free(&cfg);
}
END_TEST

START_TEST(smarthost_takes_all_in_turn)
{
	struct imc_config cfg;
	struct route r;

	load(&cfg, "smarthost = [10.0.0.1]:2525, relay.example\nauth = smart\n");
	ck_assert_int_eq(route_for(&cfg, "a.example", 0, &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_RELAY);
	ck_assert_uint_eq(r.n_hosts, 2);
	ck_assert_uint_eq(r.first_host, 0);
	ck_assert_str_eq(r.auth_user, "su");
	ck_assert_str_eq(r.key, "smarthost:[10.0.0.1]:2525,relay.example:25 "
	    "tls=may auth=smart");
	route_free(&r);
	ck_assert_int_eq(route_for(&cfg, "b.example", 1, &r), 0);
	ck_assert_uint_eq(r.first_host, 1);
	route_free(&r);
	ck_assert_int_eq(route_for(&cfg, "b.example", 2, &r), 0);
	ck_assert_uint_eq(r.first_host, 0);
	route_free(&r);
	config_free(&cfg);
}
END_TEST

START_TEST(domain_relay_wins_longest_suffix)
{
	struct imc_config cfg;
	struct route r;

	load(&cfg, "smarthost = [10.0.0.1]\n"
	    "[domain *.lab.example]\nrelay = [10.0.0.2]:26\ntls = encrypt\n"
	    "auth = lab\n"
	    "[domain deep.lab.example]\nrelay = mx.deep.example\ntls = none\n"
	    "[domain plain.example]\ntls = verify\n");
	ck_assert_int_eq(route_for(&cfg, "x.lab.example", 0, &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_RELAY);
	ck_assert_str_eq(r.hosts[0].name, "10.0.0.2");
	ck_assert_uint_eq(r.hosts[0].port, 26);
	ck_assert_int_eq(r.tls, IMC_TLS_ENCRYPT);
	ck_assert_str_eq(r.auth_user, "labuser");
	route_free(&r);
	/* the exact name beats the wildcard */
	ck_assert_int_eq(route_for(&cfg, "deep.lab.example", 0, &r), 0);
	ck_assert_str_eq(r.hosts[0].name, "mx.deep.example");
	ck_assert(!r.hosts[0].literal);
	ck_assert_int_eq(r.tls, IMC_TLS_NONE);
	route_free(&r);
	/* "*.lab.example" does not cover lab.example itself: smarthost */
	ck_assert_int_eq(route_for(&cfg, "lab.example", 0, &r), 0);
	ck_assert_str_eq(r.hosts[0].name, "10.0.0.1");
	route_free(&r);
	/* a section without relay still sets tls for the smarthost route */
	ck_assert_int_eq(route_for(&cfg, "plain.example", 0, &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_RELAY);
	ck_assert_int_eq(r.tls, IMC_TLS_VERIFY);
	ck_assert_str_eq(r.key, "smarthost:[10.0.0.1]:25 tls=verify");
	route_free(&r);
	config_free(&cfg);
}
END_TEST

/* issue 9: a local domain whose store is LMTP goes to that store (no MX,
 * no smarthost, lmtp_tls not tls, no AUTH); a local domain on the
 * built-in store and a remote one keep their routes; one store, one key,
 * whatever the domain. */
struct lmtp_route_case {
	const char *domain;
	enum route_kind kind;
	const char *key;
};

static const struct lmtp_route_case lmtp_route_cases[] = {
	{ "example.com", ROUTE_LMTP, "lmtp:192.0.2.24:24 tls=may" },
	{ "Example.COM", ROUTE_LMTP, "lmtp:192.0.2.24:24 tls=may" },
	{ "sub.example.com", ROUTE_RELAY, "smarthost:[192.0.2.25]:25 tls=encrypt "
	  "auth=smart" },
	{ "example.org", ROUTE_LMTP, "lmtp:unix:/run/dovecot/lmtp tls=none" },
	{ "example.net", ROUTE_LMTP, "lmtp:192.0.2.24:24 tls=verify" },
	{ "example.edu", ROUTE_RELAY, "smarthost:[192.0.2.25]:25 tls=encrypt "
	  "auth=smart" },
	{ "remote.test", ROUTE_RELAY, "smarthost:[192.0.2.25]:25 tls=encrypt "
	  "auth=smart" },
};

START_TEST(test_lmtp_route)
{
	const struct lmtp_route_case *c = &lmtp_route_cases[_i];
	struct imc_config cfg;
	struct route r;

	load(&cfg, "local_domains = example.com, example.org, example.net, "
	    "example.edu\nsmarthost = [192.0.2.25]\ntls = encrypt\n"
	    "auth = smart\nstore = lmtp:[192.0.2.24]:24\nlmtp_tls = may\n"
	    "[domain example.org]\nstore = lmtp:unix:/run/dovecot/lmtp\n"
	    "lmtp_tls = verify\n"
	    "[domain example.net]\nlmtp_tls = verify\n"
	    "[domain example.edu]\nstore = maildir\n");
	ck_assert_int_eq(route_for(&cfg, c->domain, 0, &r), 0);
	ck_assert_msg(r.kind == c->kind, "%s: kind %d", c->domain, r.kind);
	ck_assert_str_eq(r.key, c->key);
	ck_assert(route_is_lmtp(&cfg, c->domain) == (c->kind == ROUTE_LMTP));
	if (c->kind == ROUTE_LMTP) {
		ck_assert_ptr_nonnull(r.store);
		ck_assert_ptr_null(r.auth_user);
	}
	route_free(&r);
	config_free(&cfg);
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, mx_without_smarthost_or_relay);
	tcase_add_test(tc, smarthost_takes_all_in_turn);
	tcase_add_test(tc, domain_relay_wins_longest_suffix);
	tcase_add_loop_test(tc, test_lmtp_route, 0,
	    sizeof(lmtp_route_cases) / sizeof(lmtp_route_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;
	char tmpl[] = "/tmp/check_route.XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return EXIT_FAILURE;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	sr = srunner_create(route_suite());
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	{
		char p[PATH_MAX + 16];

		snprintf(p, sizeof(p), "%s/auth", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/imc.conf", dir);
		unlink(p);
		rmdir(dir);
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
