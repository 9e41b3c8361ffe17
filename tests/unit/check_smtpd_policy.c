/*
 * check_smtpd_policy - relay control (connector/smtpd/smtpd_policy.h)
 * and the CIDR matching under it (common/cidr.h): local and relay
 * domains from anyone, every other domain only from relay_networks or
 * after AUTH, and the address tricks, which only ever count by the
 * domain after the last unquoted "@".
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "config.h"
#include "smtpd_policy.h"
#include "xalloc.h"

static struct sockaddr_storage
sa(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
		ss.ss_family = AF_INET6;
	}
	return ss;
}

struct cidr_case {
	const char	*name;
	const char	*net;
	const char	*ip;
	int		 want;		/* 1 match, 0 no match, -1 net refused */
};

static const struct cidr_case cidr_cases[] = {
	{ "v4_inside", "192.0.2.0/24", "192.0.2.77", 1 },
	{ "v4_outside", "192.0.2.0/24", "192.0.3.1", 0 },
	{ "v4_odd_prefix_inside", "10.0.0.0/9", "10.127.255.255", 1 },
	{ "v4_odd_prefix_outside", "10.0.0.0/9", "10.128.0.0", 0 },
	{ "v4_bare_address", "127.0.0.1", "127.0.0.1", 1 },
	{ "v4_bare_address_other", "127.0.0.1", "127.0.0.2", 0 },
	{ "v4_all", "0.0.0.0/0", "203.0.113.9", 1 },
	{ "v4_host_bits_refused", "10.1.2.3/8", NULL, -1 },
	{ "v4_prefix_too_long", "10.0.0.0/33", NULL, -1 },
	{ "not_an_address", "example.com/24", NULL, -1 },
	{ "empty_prefix", "10.0.0.0/", NULL, -1 },
	{ "v6_inside", "2001:db8::/32", "2001:db8:1::5", 1 },
	{ "v6_outside", "2001:db8::/32", "2001:db9::1", 0 },
	{ "v6_net_v4_client", "::/0", "192.0.2.1", 0 },
	{ "v4_net_mapped_client", "192.0.2.0/24", "::ffff:192.0.2.9", 1 },
	{ "v4_net_mapped_client_outside", "192.0.2.0/24", "::ffff:192.0.3.9",
	    0 },
	{ "v6_loopback", "::1", "::1", 1 },
};

START_TEST(test_cidr)
{
	const struct cidr_case *c = &cidr_cases[_i];
	struct cidr net;
	struct buf err;
	struct sockaddr_storage ss;
	int r;

	buf_init(&err);
	r = cidr_parse(c->net, &net, &err);
	if (c->want == -1) {
		ck_assert_msg(r == -1, "%s: accepted", c->name);
		ck_assert(err.len > 0);
	} else {
		ck_assert_msg(r == 0, "%s: %s", c->name, buf_cstr(&err));
		ss = sa(c->ip);
		ck_assert_msg(cidr_match(&net, (struct sockaddr *)&ss) ==
		    (c->want == 1), "%s", c->name);
	}
	buf_fini(&err);
}
END_TEST

START_TEST(test_cidr_list)
{
	struct cidr *l;
	size_t n;
	struct buf err;
	struct sockaddr_storage a = sa("10.9.8.7"), b = sa("2001:db8::1"),
	    c = sa("172.16.0.1");

	buf_init(&err);
	ck_assert_int_eq(cidr_parse_list("10.0.0.0/8, 2001:db8::/32", &l, &n,
	    &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert(cidr_match_list(l, n, (struct sockaddr *)&a));
	ck_assert(cidr_match_list(l, n, (struct sockaddr *)&b));
	ck_assert(!cidr_match_list(l, n, (struct sockaddr *)&c));
	free(l);
	ck_assert_int_eq(cidr_parse_list("10.0.0.0/8, nonsense", &l, &n, &err),
	    -1);
	buf_fini(&err);
}
END_TEST

struct rcpt_case {
	const char	*name;
	const char	*addr;
	bool		 trusted;
	enum smtpd_verdict want;
	const char	*final;		/* the address after the policy */
};

static const struct rcpt_case rcpt_cases[] = {
	{ "local_from_outside", "bob@example.com", false, SMTPD_LOCAL, NULL },
	{ "local_any_case", "bob@EXAMPLE.Com", false, SMTPD_LOCAL, NULL },
	{ "relay_domain_from_outside", "bob@partner.example", false,
	    SMTPD_RELAY_DOMAIN, NULL },
	{ "remote_from_outside", "bob@remote.example", false, SMTPD_DENY,
	    NULL },
	{ "remote_from_inside", "bob@remote.example", true,
	    SMTPD_RELAY_TRUSTED, NULL },
	{ "subdomain_is_not_local", "bob@sub.example.com", false, SMTPD_DENY,
	    NULL },
	{ "percent_hack_stays_local", "bob%remote.example@example.com", false,
	    SMTPD_LOCAL, NULL },
	{ "bang_path_stays_local", "remote.example!bob@example.com", false,
	    SMTPD_LOCAL, NULL },
	{ "quoted_at_stays_local", "\"bob@remote.example\"@example.com", false,
	    SMTPD_LOCAL, NULL },
	{ "local_percent_remote_refused", "bob%example.com@remote.example",
	    false, SMTPD_DENY, NULL },
	{ "quoted_local_domain_remote_refused",
	    "\"bob@example.com\"@remote.example", false, SMTPD_DENY, NULL },
	{ "ip_literal_from_outside", "bob@[192.0.2.7]", false, SMTPD_DENY,
	    NULL },
	{ "ip_literal_from_inside", "bob@[192.0.2.7]", true,
	    SMTPD_RELAY_TRUSTED, NULL },
	{ "postmaster_alone", "postmaster", false, SMTPD_LOCAL,
	    "postmaster@example.com" },
};

START_TEST(test_rcpt)
{
	const struct rcpt_case *c = &rcpt_cases[_i];
	struct imc_config cfg;
	struct smtpd_policy p;
	struct buf err;
	char *local[] = { "example.com", "example.org" };
	char *relay[] = { "partner.example" };
	char *addr = xstrdup(c->addr);

	memset(&cfg, 0, sizeof(cfg));
	cfg.local_domains = local;
	cfg.n_local_domains = 2;
	cfg.relay_domains = relay;
	cfg.n_relay_domains = 1;
	buf_init(&err);
	ck_assert_int_eq(smtpd_policy_init(&p, &cfg, &err), 0);
	ck_assert_msg(smtpd_policy_rcpt(&p, &addr, c->trusted) == c->want,
	    "%s", c->name);
	ck_assert_str_eq(addr, c->final != NULL ? c->final : c->addr);
	smtpd_policy_fini(&p);
	buf_fini(&err);
	free(addr);
}
END_TEST

START_TEST(test_trusted_by_network_or_auth)
{
	struct imc_config cfg;
	struct smtpd_policy p;
	struct buf err;
	struct sockaddr_storage in = sa("127.0.0.2"), out = sa("127.0.0.3");

	memset(&cfg, 0, sizeof(cfg));
	cfg.relay_networks = "127.0.0.2/32, ::1";
	buf_init(&err);
	ck_assert_int_eq(smtpd_policy_init(&p, &cfg, &err), 0);
	ck_assert(smtpd_policy_trusted(&p, (struct sockaddr *)&in, false));
	ck_assert(!smtpd_policy_trusted(&p, (struct sockaddr *)&out, false));
	ck_assert(smtpd_policy_trusted(&p, (struct sockaddr *)&out, true));
	smtpd_policy_fini(&p);
	/* no relay_networks: nobody but the authenticated */
	cfg.relay_networks = NULL;
	ck_assert_int_eq(smtpd_policy_init(&p, &cfg, &err), 0);
	ck_assert(!smtpd_policy_trusted(&p, (struct sockaddr *)&in, false));
	smtpd_policy_fini(&p);
	buf_fini(&err);
}
END_TEST

START_TEST(test_postmaster_without_local_domains_refused)
{
	struct imc_config cfg;
	struct smtpd_policy p;
	struct buf err;
	char *addr = xstrdup("postmaster");

	memset(&cfg, 0, sizeof(cfg));
	buf_init(&err);
	ck_assert_int_eq(smtpd_policy_init(&p, &cfg, &err), 0);
	ck_assert(smtpd_policy_rcpt(&p, &addr, true) == SMTPD_DENY);
	smtpd_policy_fini(&p);
	buf_fini(&err);
	free(addr);
}
END_TEST

static Suite *
smtpd_policy_suite(void)
{
	Suite *s = suite_create("smtpd_policy");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cidr, 0,
	    sizeof(cidr_cases) / sizeof(cidr_cases[0]));
	tcase_add_test(tc, test_cidr_list);
	tcase_add_loop_test(tc, test_rcpt, 0,
	    sizeof(rcpt_cases) / sizeof(rcpt_cases[0]));
	tcase_add_test(tc, test_trusted_by_network_or_auth);
	tcase_add_test(tc, test_postmaster_without_local_domains_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtpd_policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
