/*
 * check_dns - tests for connector/smtp/dns.c against a real DNS server.
 *
 * main() starts dnsmasq (/usr/sbin/dnsmasq, Debian package dnsmasq-base)
 * on 127.0.0.1 at a free high port, authoritative for the zone "test"
 * (--local=/test/: names not defined there get NXDOMAIN), with MX and
 * address records for each case, and stops it by PID at the end. Upstream
 * failures come from forwards: servfail.test goes to a tiny child of ours
 * that answers every query with SERVFAIL, timeout.test to a closed port,
 * refused.test to no server at all (dnsmasq answers REFUSED).
 *
 * dnsmasq runs under timeout(1) with a parent-death signal, so it cannot
 * outlive a test binary that is killed. Without dnsmasq every test FAILS
 * with a message that says how to install it. Every wait is bounded.
 *
 * ptr_lookup covers dns_resolve_ptr (host-record PTRs, one lying PTR).
 *
 * The table cases are { name, domain, family order, want status, want
 * hosts }, the hosts rendered as "name/pref=addr,addr name/pref=...".
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dns.h"

#define DNSMASQ		"/usr/sbin/dnsmasq"
#define TIMEOUT_BIN	"/usr/bin/timeout"
#define SELF		"Me.Test"	/* dns_set_self(); case differs on purpose */
#define WAIT_MS		5000		/* bound on every lookup in a test */
#define BIG_HOSTS	70		/* MX hosts of big.test (> DNS_MAX_HOSTS) */
#define MANY_ADDRS	40		/* addresses of many.test (> DNS_MAX_ADDRS) */

static pid_t dnsmasq_pid = -1;		/* timeout(1) running dnsmasq */
static pid_t servfail_pid = -1;		/* our SERVFAIL upstream */
static int dns_port;
static int closed_port;			/* a UDP port nobody listens on */
static char servers[64];		/* "127.0.0.1:<dns_port>" */
static char start_error[1024];		/* why the server is not up */

/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* udp_socket - a UDP socket on 127.0.0.1:port (0: any); its port in *portp */
static int
udp_socket(int port, int *portp)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*portp = ntohs(sin.sin_port);
	return fd;
}

/* servfail_server - child: answer every DNS query with SERVFAIL, forever */
static void
servfail_server(int fd)
{
	unsigned char pkt[1500];
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;

	for (;;) {
		flen = sizeof(from);
		n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&from,
		    &flen);
		if (n < 12)
			continue;
		pkt[2] = (unsigned char)(0x80 | (pkt[2] & 0x79)); /* QR, RD */
		pkt[3] = 0x80 | 2;		/* RA, RCODE SERVFAIL */
		memset(pkt + 6, 0, 6);		/* no answer, NS, additional */
		(void)sendto(fd, pkt, (size_t)n, 0, (struct sockaddr *)&from,
		    flen);
	}
}

/* start_servfail - fork our SERVFAIL upstream; its port in *portp */
static int
start_servfail(int *portp)
{
	int fd = udp_socket(0, portp);

	if (fd == -1)
		return -1;
	servfail_pid = fork();
	if (servfail_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(300);
		servfail_server(fd);
		_exit(0);
	}
	close(fd);
	return servfail_pid == -1 ? -1 : 0;
}

/* probe - send one A query for ready.test; 1 if dnsmasq answered in time */
static int
probe(int port, int ms)
{
	static const unsigned char q[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		5, 'r', 'e', 'a', 'd', 'y', 4, 't', 'e', 's', 't', 0,
		0, 1, 0, 1
	};
	struct sockaddr_in sin;
	struct pollfd pfd;
	unsigned char ans[512];
	int fd, ok = 0;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (sendto(fd, q, sizeof(q), 0, (struct sockaddr *)&sin,
	    sizeof(sin)) == (ssize_t)sizeof(q)) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) == 1 &&
		    recv(fd, ans, sizeof(ans), 0) >= 12 && ans[0] == 0x12 &&
		    ans[1] == 0x34 && (ans[3] & 0x0f) == 0)
			ok = 1;
	}
	close(fd);
	return ok;
}

/* add_arg - append a printf-made argument to the argv being built */
static void
add_arg(char **argv, int *argc, int max, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
add_arg(char **argv, int *argc, int max, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (*argc >= max - 1)
		abort();
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	argv[(*argc)++] = s;
	argv[*argc] = NULL;
}

/* dnsmasq_argv - the command line: the options and every record we serve */
static char **
dnsmasq_argv(int port, int servfail_port)
{
	enum { MAXARGS = 256 };
	char **argv = calloc(MAXARGS, sizeof(*argv));
	int argc = 0, i;

	if (argv == NULL)
		abort();
	add_arg(argv, &argc, MAXARGS, "%s", TIMEOUT_BIN);
	add_arg(argv, &argc, MAXARGS, "%s", "150");
	add_arg(argv, &argc, MAXARGS, "%s", DNSMASQ);
	/*
	 * Not --no-daemon: in that (debug) mode dnsmasq serves a TCP
	 * connection inline and stops answering UDP until it closes, which
	 * the truncated answers of big.test and many.test run into.
	 */
	add_arg(argv, &argc, MAXARGS, "%s", "--keep-in-foreground");
	add_arg(argv, &argc, MAXARGS, "%s", "--log-facility=-");
	add_arg(argv, &argc, MAXARGS, "%s", "--no-resolv");
	add_arg(argv, &argc, MAXARGS, "%s", "--no-hosts");
	add_arg(argv, &argc, MAXARGS, "--port=%d", port);
	add_arg(argv, &argc, MAXARGS, "%s", "--listen-address=127.0.0.1");
	add_arg(argv, &argc, MAXARGS, "%s", "--bind-interfaces");
	add_arg(argv, &argc, MAXARGS, "%s", "--conf-file=/dev/null");
	add_arg(argv, &argc, MAXARGS, "%s", "--pid-file=");
	add_arg(argv, &argc, MAXARGS, "%s", "--cache-size=0");
	add_arg(argv, &argc, MAXARGS, "%s", "--local=/test/");
	add_arg(argv, &argc, MAXARGS, "--server=/servfail.test/127.0.0.1#%d",
	    servfail_port);
	add_arg(argv, &argc, MAXARGS, "--server=/timeout.test/127.0.0.1#%d",
	    closed_port);
	add_arg(argv, &argc, MAXARGS, "%s", "--server=/refused.test/#");

	static const char *const records[] = {
		"--host-record=ready.test,127.0.0.1",
		/* preferences given out of order: sorting is ours */
		"--mx-host=pref.test,mx30.pref.test,30",
		"--mx-host=pref.test,mx10.pref.test,10",
		"--mx-host=pref.test,mx20.pref.test,20",
		"--host-record=mx10.pref.test,127.0.0.10",
		"--host-record=mx20.pref.test,127.0.0.20",
		"--host-record=mx20.pref.test,127.0.0.21",
		"--host-record=mx30.pref.test,127.0.0.30",
		/* equal preferences */
		"--mx-host=eq.test,a.eq.test,10",
		"--mx-host=eq.test,b.eq.test,10",
		"--mx-host=eq.test,c.eq.test,20",
		"--host-record=a.eq.test,127.0.0.11",
		"--host-record=b.eq.test,127.0.0.12",
		"--host-record=c.eq.test,127.0.0.13",
		/* implicit MX */
		"--host-record=aonly.test,127.0.0.5",
		"--host-record=dual.test,127.0.0.6,::1",
		"--txt-record=empty.test,nothing here",
		/* an MX host with both families */
		"--mx-host=mxdual.test,h.mxdual.test,5",
		"--host-record=h.mxdual.test,127.0.0.7,::1",
		/* null MX: dnsmasq serves "." as the root name */
		"--mx-host=nullmx.test,.,0",
		/* loops */
		"--mx-host=loop.test,me.test,10",
		"--host-record=me.test,127.0.0.99",
		"--mx-host=backup.test,primary.backup.test,10",
		"--mx-host=backup.test,ME.TEST,20",
		"--mx-host=backup.test,peer.backup.test,20",
		"--mx-host=backup.test,third.backup.test,30",
		"--host-record=primary.backup.test,127.0.0.40",
		"--host-record=peer.backup.test,127.0.0.41",
		"--host-record=third.backup.test,127.0.0.42",
		/* hosts without addresses */
		"--mx-host=skip.test,noaddr.skip.test,10",
		"--mx-host=skip.test,ok.skip.test,20",
		"--host-record=ok.skip.test,127.0.0.50",
		"--mx-host=allnoaddr.test,none.allnoaddr.test,10",
		/* dns_resolve_ptr: a PTR name whose address is another */
		"--ptr-record=8.0.0.127.in-addr.arpa,aonly.test",
	};
	for (i = 0; i < (int)(sizeof(records) / sizeof(records[0])); i++)
		add_arg(argv, &argc, MAXARGS, "%s", records[i]);
	/* bounds: more MX hosts and more addresses than are kept */
	for (i = 0; i < BIG_HOSTS; i++) {
		add_arg(argv, &argc, MAXARGS, "--mx-host=big.test,h%02d.big.test,%d",
		    i, 100 + i);
		add_arg(argv, &argc, MAXARGS, "--host-record=h%02d.big.test,127.0.2.%d",
		    i, i + 1);
	}
	for (i = 0; i < MANY_ADDRS; i++)
		add_arg(argv, &argc, MAXARGS, "--host-record=many.test,127.0.1.%d",
		    i + 1);
	return argv;
}

/* free_argv - release what dnsmasq_argv() made */
static void
free_argv(char **argv)
{
	size_t i;

	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* stop_child - SIGTERM, wait up to 3 s, then SIGKILL; reaps the child */
static void
stop_child(pid_t *pidp)
{
	long long end;
	int status;

	if (*pidp <= 0)
		return;
	kill(*pidp, SIGTERM);
	end = now_ms() + 3000;
	while (waitpid(*pidp, &status, WNOHANG) == 0) {
		if (now_ms() > end) {
			kill(*pidp, SIGKILL);
			waitpid(*pidp, &status, 0);
			break;
		}
		usleep(10000);
	}
	*pidp = -1;
}

/* last_line - the last line of a log file, for error messages */
static void
last_line(int fd, char *out, size_t size)
{
	char buf[4096];
	ssize_t n;
	char *p;

	out[0] = '\0';
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	p = strrchr(buf, '\n');
	p = p ? p + 1 : buf;
	/* cut to fit (a log line; its tail does not matter) */
	n = (ssize_t)strlen(p);
	if ((size_t)n >= size)
		n = (ssize_t)size - 1;
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
}

/* start_dnsmasq - run dnsmasq at a free high port; -1 with start_error set */
static int
start_dnsmasq(void)
{
	char logname[] = "/tmp/check_dns.XXXXXX";
	char why[512] = "";
	int servfail_port, attempt, fd, logfd;
	unsigned short rnd;

	if (access(DNSMASQ, X_OK) != 0) {
		snprintf(start_error, sizeof(start_error),
		    "%s not found: install the Debian package dnsmasq-base "
		    "(tools/install-deps.sh)", DNSMASQ);
		return -1;
	}
	if (access(TIMEOUT_BIN, X_OK) != 0) {
		snprintf(start_error, sizeof(start_error), "%s not found",
		    TIMEOUT_BIN);
		return -1;
	}
	/* A port that was free a moment ago and nobody listens on. */
	if ((fd = udp_socket(0, &closed_port)) == -1) {
		snprintf(start_error, sizeof(start_error), "socket: %s",
		    strerror(errno));
		return -1;
	}
	close(fd);
	if (start_servfail(&servfail_port) == -1) {
		snprintf(start_error, sizeof(start_error),
		    "cannot start the SERVFAIL upstream: %s", strerror(errno));
		return -1;
	}
	if ((logfd = mkstemp(logname)) == -1) {
		snprintf(start_error, sizeof(start_error), "mkstemp: %s",
		    strerror(errno));
		return -1;
	}
	unlink(logname);
	for (attempt = 0; attempt < 8; attempt++) {
		char **argv;
		long long end;
		int status, up = 0;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (unsigned short)getpid();
		dns_port = 20000 + rnd % 40000;
		if ((fd = udp_socket(dns_port, &dns_port)) == -1)
			continue;	/* taken */
		close(fd);
		if (ftruncate(logfd, 0) == -1)
			break;
		argv = dnsmasq_argv(dns_port, servfail_port);
		dnsmasq_pid = fork();
		if (dnsmasq_pid == 0) {
			/* timeout(1) passes our SIGTERM on to dnsmasq. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			dup2(logfd, 1);
			dup2(logfd, 2);
			execv(argv[0], argv);
			_exit(127);
		}
		free_argv(argv);
		if (dnsmasq_pid == -1)
			break;
		end = now_ms() + 5000;
		while (now_ms() < end) {
			if (waitpid(dnsmasq_pid, &status, WNOHANG) ==
			    dnsmasq_pid) {
				dnsmasq_pid = -1;
				break;
			}
			if (probe(dns_port, 100)) {
				up = 1;
				break;
			}
		}
		if (up) {
			close(logfd);
			snprintf(servers, sizeof(servers), "127.0.0.1:%d",
			    dns_port);
			return 0;
		}
		last_line(logfd, why, sizeof(why));
		stop_child(&dnsmasq_pid);
	}
	close(logfd);
	snprintf(start_error, sizeof(start_error),
	    "dnsmasq did not start on 127.0.0.1 (last try port %d): %s",
	    dns_port, why[0] ? why : "no answer");
	return -1;
}

/* server_up - every test starts here: fail loudly without a server */
static void
server_up(void)
{
	ck_assert_msg(start_error[0] == '\0', "%s", start_error);
}

/* new_ctx - a resolver on our dnsmasq with short timeouts */
static struct dns_ctx *
new_ctx(void)
{
	struct dns_ctx *ctx;

	server_up();
	ctx = dns_new(servers);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(dns_set_timeout(ctx, 300, 1), 0);
	ck_assert_int_eq(dns_set_self(ctx, SELF), 0);
	return ctx;
}

struct got {
	int	 calls;
	enum mail_kind kind;
	char	 dsn[16];
	char	 text[256];
	int	 implicit_mx;
	size_t	 nhosts;
	size_t	 max_addrs;
	struct buf hosts;	/* "name/pref=addr,addr name/pref=..." */
};

/* got_cb - the result callback: copy what the tests compare */
static void
got_cb(const struct dns_result *r, void *arg)
{
	struct got *g = arg;
	size_t i, j;

	g->calls++;
	g->kind = r->status.kind;
	snprintf(g->dsn, sizeof(g->dsn), "%s", r->status.dsn);
	snprintf(g->text, sizeof(g->text), "%s", r->status.text);
	g->implicit_mx = r->implicit_mx;
	g->nhosts = r->nhosts;
	buf_init(&g->hosts);
	for (i = 0; i < r->nhosts; i++) {
		const struct dns_host *h = &r->hosts[i];
		const struct dns_addr *a[DNS_MAX_ADDRS], *t;

		ck_assert_uint_le(h->naddrs, DNS_MAX_ADDRS);
		if (h->naddrs > g->max_addrs)
			g->max_addrs = h->naddrs;
		/* Within one family the order is c-ares's: compare sorted. */
		for (j = 0; j < h->naddrs; j++)
			a[j] = &h->addrs[j];
		for (j = 1; j < h->naddrs; j++)
			for (size_t k = j; k > 0 && a[k]->family ==
			    a[k - 1]->family && strcmp(a[k]->text,
			    a[k - 1]->text) < 0; k--) {
				t = a[k];
				a[k] = a[k - 1];
				a[k - 1] = t;
			}
		buf_printf(&g->hosts, "%s%s/%u=", i ? " " : "", h->name,
		    h->pref);
		for (j = 0; j < h->naddrs; j++)
			buf_printf(&g->hosts, "%s%s", j ? "," : "", a[j]->text);
	}
}

/* resolve - one lookup, waited for; the callback must have run once */
static void
resolve(struct dns_ctx *ctx, const char *domain, struct got *g)
{
	memset(g, 0, sizeof(*g));
	ck_assert_int_eq(dns_resolve_mx(ctx, domain, got_cb, g), 0);
	ck_assert_msg(dns_wait(ctx, WAIT_MS) == 0, "%s: no result in %d ms",
	    domain, WAIT_MS);
	ck_assert_int_eq(g->calls, 1);
	ck_assert_uint_eq(dns_pending(ctx), 0);
}

struct mx_case {
	const char *name;
	const char *domain;
	enum dns_family_order order;
	enum mail_kind want_kind;
	const char *want_dsn;
	const char *want_hosts;	/* "" when the kind is not OK */
	int	 want_implicit;
};

static const struct mx_case mx_cases[] = {
	{ "mx_hosts_come_in_preference_order_with_their_addresses",
	    "pref.test", DNS_PREFER_IPV6, MAIL_OK, "2.0.0",
	    "mx10.pref.test/10=127.0.0.10 "
	    "mx20.pref.test/20=127.0.0.20,127.0.0.21 "
	    "mx30.pref.test/30=127.0.0.30", 0 },
	{ "domain_case_and_trailing_dot_do_not_matter",
	    "PREF.Test.", DNS_PREFER_IPV6, MAIL_OK, "2.0.0",
	    "mx10.pref.test/10=127.0.0.10 "
	    "mx20.pref.test/20=127.0.0.20,127.0.0.21 "
	    "mx30.pref.test/30=127.0.0.30", 0 },
	{ "no_mx_record_gives_the_implicit_mx",
	    "aonly.test", DNS_PREFER_IPV6, MAIL_OK, "2.0.0",
	    "aonly.test/0=127.0.0.5", 1 },
	{ "implicit_mx_has_aaaa_first_by_default",
	    "dual.test", DNS_PREFER_IPV6, MAIL_OK, "2.0.0",
	    "dual.test/0=::1,127.0.0.6", 1 },
	{ "implicit_mx_has_a_first_when_ipv4_is_preferred",
	    "dual.test", DNS_PREFER_IPV4, MAIL_OK, "2.0.0",
	    "dual.test/0=127.0.0.6,::1", 1 },
	{ "mx_host_has_both_a_and_aaaa",
	    "mxdual.test", DNS_PREFER_IPV6, MAIL_OK, "2.0.0",
	    "h.mxdual.test/5=::1,127.0.0.7", 0 },
	{ "mx_host_has_a_first_when_ipv4_is_preferred",
	    "mxdual.test", DNS_PREFER_IPV4, MAIL_OK, "2.0.0",
	    "h.mxdual.test/5=127.0.0.7,::1", 0 },
	{ "null_mx_is_permanent_5_1_10",
	    "nullmx.test", DNS_PREFER_IPV6, MAIL_PERM, "5.1.10", "", 0 },
	{ "nxdomain_is_permanent_5_1_2",
	    "nx.test", DNS_PREFER_IPV6, MAIL_PERM, "5.1.2", "", 0 },
	{ "invalid_domain_name_is_permanent_5_1_2",
	    "bad..test", DNS_PREFER_IPV6, MAIL_PERM, "5.1.2", "", 0 },
	{ "servfail_is_temporary_4_4_3",
	    "servfail.test", DNS_PREFER_IPV6, MAIL_TEMP, "4.4.3", "", 0 },
	{ "refused_is_temporary_4_4_3",
	    "refused.test", DNS_PREFER_IPV6, MAIL_TEMP, "4.4.3", "", 0 },
	{ "upstream_timeout_is_temporary_4_4_3",
	    "timeout.test", DNS_PREFER_IPV6, MAIL_TEMP, "4.4.3", "", 0 },
	{ "mx_pointing_to_self_is_a_mail_loop_4_4_6",
	    "loop.test", DNS_PREFER_IPV6, MAIL_TEMP, "4.4.6", "", 0 },
	{ "implicit_mx_that_is_self_is_a_mail_loop_4_4_6",
	    "me.test", DNS_PREFER_IPV6, MAIL_TEMP, "4.4.6", "", 1 },
	{ "self_as_backup_mx_keeps_only_more_preferred_hosts",
	    "backup.test", DNS_PREFER_IPV6, MAIL_OK, "2.0.0",
	    "primary.backup.test/10=127.0.0.40", 0 },
	{ "mx_host_without_address_is_skipped",
	    "skip.test", DNS_PREFER_IPV6, MAIL_OK, "2.0.0",
	    "ok.skip.test/20=127.0.0.50", 0 },
	{ "no_mx_host_with_an_address_is_temporary_4_4_3",
	    "allnoaddr.test", DNS_PREFER_IPV6, MAIL_TEMP, "4.4.3", "", 0 },
	{ "implicit_mx_without_address_is_temporary_4_4_3",
	    "empty.test", DNS_PREFER_IPV6, MAIL_TEMP, "4.4.3", "", 1 },
};

/* test_mx_case - one table case */
START_TEST(test_mx_case)
{
	const struct mx_case *c = &mx_cases[_i];
	struct dns_ctx *ctx = new_ctx();
	long long t0 = now_ms();
	struct got g;

	dns_set_family_order(ctx, c->order);
	resolve(ctx, c->domain, &g);
	ck_assert_msg(g.kind == c->want_kind && strcmp(g.dsn, c->want_dsn) == 0,
	    "%s: got %s %s \"%s\", want %s %s", c->name, mail_kind_name(g.kind),
	    g.dsn, g.text, mail_kind_name(c->want_kind), c->want_dsn);
	ck_assert_msg(strcmp(buf_cstr(&g.hosts), c->want_hosts) == 0,
	    "%s: got hosts \"%s\", want \"%s\"", c->name, buf_cstr(&g.hosts),
	    c->want_hosts);
	ck_assert_msg(g.implicit_mx == c->want_implicit, "%s: implicit_mx %d",
	    c->name, g.implicit_mx);
	ck_assert_msg(g.text[0] != '\0', "%s: empty status text", c->name);
	ck_assert_msg(now_ms() - t0 < 3000, "%s: took %lld ms", c->name,
	    now_ms() - t0);
	buf_fini(&g.hosts);
	dns_free(ctx);
}
END_TEST

/* host_lookup_skips_mx - dns_resolve_host takes the name's own addresses,
 * even where the name has MX records, and never fails permanently */
START_TEST(host_lookup_skips_mx)
{
	struct dns_ctx *ctx = new_ctx();
	struct got g;

	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(dns_resolve_host(ctx, "h.mxdual.test", got_cb, &g), 0);
	ck_assert(dns_wait(ctx, WAIT_MS) == 0);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_msg(g.kind == MAIL_OK, "%s", g.text);
	ck_assert_str_eq(buf_cstr(&g.hosts), "h.mxdual.test/0=::1,127.0.0.7");
	buf_fini(&g.hosts);

	/* pref.test has MX records but no address of its own */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(dns_resolve_host(ctx, "pref.test", got_cb, &g), 0);
	ck_assert(dns_wait(ctx, WAIT_MS) == 0);
	ck_assert_msg(g.kind == MAIL_TEMP && strcmp(g.dsn, "4.4.3") == 0,
	    "got %s %s %s", mail_kind_name(g.kind), g.dsn, g.text);
	ck_assert_msg(strstr(g.text, "host pref.test has no address") != NULL,
	    "%s", g.text);
	buf_fini(&g.hosts);

	/* a relay name that does not exist is a local problem: temporary */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(dns_resolve_host(ctx, "nx.test", got_cb, &g), 0);
	ck_assert(dns_wait(ctx, WAIT_MS) == 0);
	ck_assert_msg(g.kind == MAIL_TEMP, "got %s", mail_kind_name(g.kind));
	buf_fini(&g.hosts);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(dns_resolve_host(ctx, "bad..name", got_cb, &g), 0);
	ck_assert(dns_wait(ctx, WAIT_MS) == 0);
	ck_assert_msg(g.kind == MAIL_TEMP, "got %s", mail_kind_name(g.kind));
	buf_fini(&g.hosts);
	dns_free(ctx);
}
END_TEST

/* ptr_lookup - dns_resolve_ptr: the PTR name with that name's own
 * addresses (the caller compares them with the address it asked about) */
START_TEST(ptr_lookup)
{
	struct dns_ctx *ctx = new_ctx();
	struct dns_addr a;
	struct got g;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.7", &a.u.v4), 1);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(dns_resolve_ptr(ctx, &a, got_cb, &g), 0);
	ck_assert(dns_wait(ctx, WAIT_MS) == 0);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_msg(g.kind == MAIL_OK, "%s", g.text);
	ck_assert_str_eq(buf_cstr(&g.hosts), "h.mxdual.test/0=::1,127.0.0.7");
	buf_fini(&g.hosts);

	/* the PTR name's address is another: returned as it is */
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.8", &a.u.v4), 1);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(dns_resolve_ptr(ctx, &a, got_cb, &g), 0);
	ck_assert(dns_wait(ctx, WAIT_MS) == 0);
	ck_assert_msg(g.kind == MAIL_OK, "%s", g.text);
	ck_assert_str_eq(buf_cstr(&g.hosts), "aonly.test/0=127.0.0.5");
	buf_fini(&g.hosts);

	/* no PTR record: temporary, never a name */
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.222", &a.u.v4), 1);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(dns_resolve_ptr(ctx, &a, got_cb, &g), 0);
	ck_assert(dns_wait(ctx, WAIT_MS) == 0);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_msg(g.kind == MAIL_TEMP && g.nhosts == 0, "got %s %s",
	    mail_kind_name(g.kind), g.text);
	buf_fini(&g.hosts);

	/* not an address family */
	a.family = AF_UNIX;
	ck_assert_int_eq(dns_resolve_ptr(ctx, &a, got_cb, &g), -1);
	dns_free(ctx);
}
END_TEST

/* equal_preferences_are_tried_in_random_order - both orders show up */
START_TEST(equal_preferences_are_tried_in_random_order)
{
	struct dns_ctx *ctx = new_ctx();
	int ab = 0, ba = 0, i;
	struct got g;

	for (i = 0; i < 40; i++) {
		resolve(ctx, "eq.test", &g);
		ck_assert_int_eq(g.kind, MAIL_OK);
		if (strcmp(buf_cstr(&g.hosts), "a.eq.test/10=127.0.0.11 "
		    "b.eq.test/10=127.0.0.12 c.eq.test/20=127.0.0.13") == 0)
			ab++;
		else if (strcmp(buf_cstr(&g.hosts), "b.eq.test/10=127.0.0.12 "
		    "a.eq.test/10=127.0.0.11 c.eq.test/20=127.0.0.13") == 0)
			ba++;
		else
			ck_abort_msg("unexpected order \"%s\"",
			    buf_cstr(&g.hosts));
		buf_fini(&g.hosts);
	}
	ck_assert_msg(ab > 0 && ba > 0, "a-b %d times, b-a %d times", ab, ba);
	dns_free(ctx);
}
END_TEST

/* at_most_64_hosts_and_32_addresses_are_kept - the bounds, over TCP */
START_TEST(at_most_64_hosts_and_32_addresses_are_kept)
{
	struct dns_ctx *ctx = new_ctx();
	struct got g;

	resolve(ctx, "big.test", &g);
	ck_assert_msg(g.kind == MAIL_OK, "%s %s", g.dsn, g.text);
	ck_assert_uint_eq(g.nhosts, DNS_MAX_HOSTS);
	ck_assert_msg(strncmp(buf_cstr(&g.hosts), "h00.big.test/100=127.0.2.1 "
	    "h01.big.test/101=127.0.2.2 ", 54) == 0, "%s", buf_cstr(&g.hosts));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&g.hosts),
	    "h63.big.test/163=127.0.2.64"));
	buf_fini(&g.hosts);

	resolve(ctx, "many.test", &g);
	ck_assert_msg(g.kind == MAIL_OK, "%s %s", g.dsn, g.text);
	ck_assert_uint_eq(g.nhosts, 1);
	ck_assert_uint_eq(g.max_addrs, DNS_MAX_ADDRS);
	buf_fini(&g.hosts);
	dns_free(ctx);
}
END_TEST

/* closed_server_port_is_temporary - nobody listens: TEMP, quickly */
START_TEST(closed_server_port_is_temporary)
{
	char where[64];
	struct dns_ctx *ctx;
	struct got g;

	server_up();
	snprintf(where, sizeof(where), "127.0.0.1:%d", closed_port);
	ctx = dns_new(where);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(dns_set_timeout(ctx, 300, 1), 0);
	resolve(ctx, "pref.test", &g);
	ck_assert_int_eq(g.kind, MAIL_TEMP);
	ck_assert_str_eq(g.dsn, "4.4.3");
	buf_fini(&g.hosts);
	dns_free(ctx);
}
END_TEST

/* callback_never_runs_inside_resolve - even for an invalid name */
START_TEST(callback_never_runs_inside_resolve)
{
	struct dns_ctx *ctx = new_ctx();
	struct got g;

	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(dns_resolve_mx(ctx, "-bad-.test", got_cb, &g), 0);
	ck_assert_int_eq(g.calls, 0);
	ck_assert_uint_eq(dns_pending(ctx), 1);
	ck_assert_int_eq(dns_timeout_ms(ctx), 0);
	dns_process(ctx, -1, -1);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(g.kind, MAIL_PERM);
	ck_assert_int_eq(dns_timeout_ms(ctx), -1);
	buf_fini(&g.hosts);
	dns_free(ctx);
}
END_TEST

/* free_with_lookups_in_flight_calls_nothing - and leaks nothing (ASan) */
START_TEST(free_with_lookups_in_flight_calls_nothing)
{
	struct dns_ctx *ctx = new_ctx();
	struct got g1, g2;

	memset(&g1, 0, sizeof(g1));
	memset(&g2, 0, sizeof(g2));
	ck_assert_int_eq(dns_resolve_mx(ctx, "timeout.test", got_cb, &g1), 0);
	ck_assert_int_eq(dns_resolve_mx(ctx, "pref.test", got_cb, &g2), 0);
	ck_assert_uint_eq(dns_pending(ctx), 2);
	dns_free(ctx);
	ck_assert_int_eq(g1.calls, 0);
	ck_assert_int_eq(g2.calls, 0);
}
END_TEST

#define MAXLOOPFDS 16

struct loopfds {
	struct pollfd fds[MAXLOOPFDS];
	int	 n;
	int	 changes;
};

/* loop_sock - a caller's socket hook: keep its own interest table */
static void
loop_sock(void *arg, int fd, int readable, int writable)
{
	struct loopfds *l = arg;
	int i;

	l->changes++;
	for (i = 0; i < l->n; i++)
		if (l->fds[i].fd == fd)
			break;
	if (!readable && !writable) {
		if (i < l->n)
			l->fds[i] = l->fds[--l->n];
		return;
	}
	if (i == l->n) {
		ck_assert_int_lt(l->n, MAXLOOPFDS);
		l->n++;
		l->fds[i].fd = fd;
	}
	l->fds[i].events = (short)((readable ? POLLIN : 0) |
	    (writable ? POLLOUT : 0));
}

/* callers_loop_drives_concurrent_lookups - sock hook + timeout + process */
START_TEST(callers_loop_drives_concurrent_lookups)
{
	static const char *const domains[] = {
		"pref.test", "aonly.test", "nx.test", "nullmx.test",
		"skip.test", "servfail.test", "loop.test", "timeout.test",
	};
	enum { N = sizeof(domains) / sizeof(domains[0]) };
	struct dns_ctx *ctx = new_ctx();
	struct got g[N];
	struct loopfds l;
	struct pollfd snap[MAXLOOPFDS];
	long long end = now_ms() + WAIT_MS;
	size_t i;
	int rc, k;

	memset(&l, 0, sizeof(l));
	dns_set_sock_fn(ctx, loop_sock, &l);
	memset(g, 0, sizeof(g));
	for (i = 0; i < N; i++)
		ck_assert_int_eq(dns_resolve_mx(ctx, domains[i], got_cb,
		    &g[i]), 0);
	while (dns_pending(ctx) > 0) {
		int t = dns_timeout_ms(ctx);

		ck_assert_msg(now_ms() < end, "lookups still pending");
		ck_assert_int_ge(t, 0);
		/* our table must match what the library reports */
		ck_assert_uint_eq(dns_fds(ctx, snap, MAXLOOPFDS),
		    (size_t)l.n);
		memcpy(snap, l.fds, sizeof(snap));
		rc = poll(snap, (nfds_t)l.n, t > 200 ? 200 : t);
		ck_assert_int_ge(rc, 0);
		if (rc == 0) {
			dns_process(ctx, -1, -1);
			continue;
		}
		for (k = 0; k < l.n && k < MAXLOOPFDS; k++)
			if (snap[k].revents != 0)
				dns_process(ctx, (snap[k].revents &
				    (POLLIN | POLLERR | POLLHUP)) ? snap[k].fd :
				    -1, (snap[k].revents & POLLOUT) ?
				    snap[k].fd : -1);
	}
	ck_assert_int_gt(l.changes, 0);
	for (i = 0; i < N; i++)
		ck_assert_msg(g[i].calls == 1, "%s: %d calls", domains[i],
		    g[i].calls);
	ck_assert_str_eq(buf_cstr(&g[0].hosts), "mx10.pref.test/10=127.0.0.10 "
	    "mx20.pref.test/20=127.0.0.20,127.0.0.21 "
	    "mx30.pref.test/30=127.0.0.30");
	ck_assert_str_eq(buf_cstr(&g[1].hosts), "aonly.test/0=127.0.0.5");
	ck_assert_str_eq(g[2].dsn, "5.1.2");
	ck_assert_str_eq(g[3].dsn, "5.1.10");
	ck_assert_str_eq(buf_cstr(&g[4].hosts), "ok.skip.test/20=127.0.0.50");
	ck_assert_str_eq(g[5].dsn, "4.4.3");
	ck_assert_str_eq(g[6].dsn, "4.4.6");
	ck_assert_str_eq(g[7].dsn, "4.4.3");
	for (i = 0; i < N; i++)
		buf_fini(&g[i].hosts);
	dns_free(ctx);
}
END_TEST

/* bad_server_list_is_refused - dns_new() checks "ip[:port],..." */
START_TEST(bad_server_list_is_refused)
{
	struct dns_ctx *ctx;

	ctx = dns_new("not an address");
	ck_assert_ptr_null(ctx);
	ctx = dns_new("127.0.0.1:53,[::1]:53");
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(dns_set_self(ctx, "bad..name"), -1);
	ck_assert_int_eq(dns_set_timeout(ctx, 0, 1), -1);
	dns_free(ctx);
	dns_free(NULL);
}
END_TEST

struct name_case {
	const char *name;
	int	 want;
};

static const struct name_case name_cases[] = {
	{ "example.org", 1 }, { "example.org.", 1 }, { "mx_1.example.org", 1 },
	{ "a", 1 }, { "", 0 }, { ".", 0 }, { "a..b", 0 }, { "-a.org", 0 },
	{ "a-.org", 0 }, { "192.0.2.1", 0 }, { "a b.org", 0 },
	{ "\xc3\xa9.org", 0 }, { "x.123", 0 },
};

/* test_valid_hostname - the name checks applied to every DNS name */
START_TEST(test_valid_hostname)
{
	const struct name_case *c = &name_cases[_i];

	ck_assert_msg(dns_valid_hostname(c->name) == c->want, "\"%s\"",
	    c->name);
}
END_TEST

/* valid_hostname_length_limits - 63 per label, 253 in all */
START_TEST(valid_hostname_length_limits)
{
	char name[300];

	memset(name, 'a', 63);
	strcpy(name + 63, ".org");
	ck_assert_int_eq(dns_valid_hostname(name), 1);
	memset(name, 'a', 64);
	strcpy(name + 64, ".org");
	ck_assert_int_eq(dns_valid_hostname(name), 0);
	memset(name, 0, sizeof(name));
	for (int i = 0; i < 4; i++)
		memcpy(name + i * 64, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.",
		    64);
	name[253] = '\0';	/* 253 characters, last label 61 */
	ck_assert_int_eq(dns_valid_hostname(name), 1);
	name[253] = 'a';
	name[254] = '\0';
	ck_assert_int_eq(dns_valid_hostname(name), 0);
}
END_TEST

/* dns_suite - every dns test */
static Suite *
dns_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_valid_hostname, 0,
	    (int)(sizeof(name_cases) / sizeof(name_cases[0])));
	tcase_add_test(tc, valid_hostname_length_limits);
	tcase_add_test(tc, bad_server_list_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("dnsmasq");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_mx_case, 0,
	    (int)(sizeof(mx_cases) / sizeof(mx_cases[0])));
	tcase_add_test(tc, equal_preferences_are_tried_in_random_order);
	tcase_add_test(tc, host_lookup_skips_mx);
	tcase_add_test(tc, ptr_lookup);
	tcase_add_test(tc, at_most_64_hosts_and_32_addresses_are_kept);
	tcase_add_test(tc, closed_server_port_is_temporary);
	tcase_add_test(tc, callback_never_runs_inside_resolve);
	tcase_add_test(tc, free_with_lookups_in_flight_calls_nothing);
	tcase_add_test(tc, callers_loop_drives_concurrent_lookups);
	suite_add_tcase(s, tc);
	return s;
}

/* main - start dnsmasq, run the suite, stop dnsmasq; non-zero on failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	if (start_dnsmasq() == -1)
		fprintf(stderr, "check_dns: FAIL: %s\n", start_error);
	sr = srunner_create(dns_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	stop_child(&dnsmasq_pid);
	stop_child(&servfail_pid);
	return failed == 0 && start_error[0] == '\0' ? EXIT_SUCCESS :
	    EXIT_FAILURE;
}
