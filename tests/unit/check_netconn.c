/*
 * check_netconn - TCP and TLS connections on the event loop, against real
 * sockets on 127.0.0.1: an in-process listener for the TCP cases, and
 * `openssl s_server` (with a certificate made here by `openssl req`) for
 * TLS. Every run of the loop is bounded in time; a test that does not
 * finish in time fails.
 */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "evloop.h"
#include "netconn.h"

static char dir[PATH_MAX];

struct probe {
	struct evloop	*loop;
	struct netconn	*nc;
	int		 events[8];	/* count per event */
	char		 why[256];
	struct buf	 got;
	bool		 free_in_callback;
	bool		 done;
};

static void
probe_cb(struct netconn *nc, int ev, const char *why, void *arg)
{
	struct probe *p = arg;
	char b[4096];
	ssize_t n;

	p->events[ev]++;
	if (why != NULL)
		snprintf(p->why, sizeof(p->why), "%s", why);
	switch (ev) {
	case NETCONN_EV_READ:
		while ((n = netconn_read(nc, b, sizeof(b))) > 0)
			buf_append(&p->got, b, (size_t)n);
		break;
	case NETCONN_EV_CONNECTED:
	case NETCONN_EV_DRAINED:
		break;
	default:
		p->done = true;
		break;
	}
	if (p->free_in_callback && ev != NETCONN_EV_READ) {
		netconn_free(nc);
		p->nc = NULL;
		p->done = true;
	}
}

/* Run the loop until done or ms pass; false on time-out. */
static bool
run_until(struct probe *p, bool (*cond)(struct probe *), int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!cond(p)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return false;
		evloop_run_once(p->loop, 50);
	}
	return true;
}

static bool
is_done(struct probe *p)
{
	return p->done;
}

static bool
is_connected(struct probe *p)
{
	return p->events[NETCONN_EV_CONNECTED] > 0 || p->done;
}

static int
listener(uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
loopback(struct dns_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &a->u.v4);
	snprintf(a->text, sizeof(a->text), "127.0.0.1");
}

static void
probe_init(struct probe *p)
{
	memset(p, 0, sizeof(*p));
	ck_assert_ptr_nonnull(p->loop = evloop_new());
	buf_init(&p->got);
}

static void
probe_fini(struct probe *p)
{
	if (p->nc != NULL)
		netconn_free(p->nc);
	evloop_run_once(p->loop, 0);	/* deferred frees */
	evloop_free(p->loop);
	buf_fini(&p->got);
}

START_TEST(exchange_with_a_listener)
{
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct dns_addr a;
	struct probe p;
	uint16_t port;
	int lfd, cfd;
	char b[64];

	probe_init(&p);
	lfd = listener(&port);
	loopback(&a);
	ck_assert_ptr_nonnull(p.nc = netconn_connect(p.loop, &a, port, &np,
	    probe_cb, &p));
	ck_assert(run_until(&p, is_connected, 3000));
	ck_assert_int_eq(p.events[NETCONN_EV_CONNECTED], 1);
	cfd = accept(lfd, NULL, NULL);
	ck_assert_int_ne(cfd, -1);
	ck_assert_int_eq(netconn_write(p.nc, "EHLO x\r\n", 8), 0);
	ck_assert_int_eq(read(cfd, b, sizeof(b)), 8);
	ck_assert_int_eq(write(cfd, "250 ok\r\n", 8), 8);
	close(cfd);	/* then EOF */
	ck_assert(run_until(&p, is_done, 3000));
	ck_assert_str_eq(buf_cstr(&p.got), "250 ok\r\n");
	ck_assert_int_eq(p.events[NETCONN_EV_EOF], 1);
	close(lfd);
	probe_fini(&p);
}
END_TEST

START_TEST(refused_connection_is_an_error)
{
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct dns_addr a;
	struct probe p;
	uint16_t port;
	int lfd;

	probe_init(&p);
	lfd = listener(&port);
	close(lfd);	/* nothing listens there now */
	loopback(&a);
	ck_assert_ptr_nonnull(p.nc = netconn_connect(p.loop, &a, port, &np,
	    probe_cb, &p));
	ck_assert(run_until(&p, is_done, 3000));
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR], 1);
	ck_assert_msg(strstr(p.why, "refused") != NULL, "%s", p.why);
	probe_fini(&p);
}
END_TEST

START_TEST(stage_timer_fires_and_free_inside_the_callback_is_safe)
{
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct dns_addr a;
	struct probe p;
	uint16_t port;
	int lfd;

	probe_init(&p);
	lfd = listener(&port);
	loopback(&a);
	ck_assert_ptr_nonnull(p.nc = netconn_connect(p.loop, &a, port, &np,
	    probe_cb, &p));
	ck_assert(run_until(&p, is_connected, 3000));
	p.free_in_callback = true;
	netconn_set_timeout(p.nc, 100);	/* the peer never says anything */
	ck_assert(run_until(&p, is_done, 3000));
	ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 1);
	ck_assert_ptr_null(p.nc);
	/* nothing more is called after the free */
	evloop_run_once(p.loop, 100);
	ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 1);
	close(lfd);
	probe_fini(&p);
}
END_TEST

/* 8 MB to a reader that takes its time: DRAINED comes once, at the end */
START_TEST(large_write_drains)
{
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct dns_addr a;
	struct probe p;
	uint16_t port;
	int lfd, cfd;
	size_t total = 8u << 20, got = 0;
	char *big, b[65536];
	ssize_t n;
	pid_t pid;
	int st;

	probe_init(&p);
	lfd = listener(&port);
	loopback(&a);
	ck_assert_ptr_nonnull(p.nc = netconn_connect(p.loop, &a, port, &np,
	    probe_cb, &p));
	ck_assert(run_until(&p, is_connected, 3000));
	cfd = accept(lfd, NULL, NULL);
	pid = fork();
	if (pid == 0) {		/* the slow reader */
		alarm(30);
		/* not until EOF: this child holds a copy of the client's
		 * socket too, so EOF would never come */
		while (got < total && (n = read(cfd, b, sizeof(b))) > 0) {
			got += (size_t)n;
			usleep(1000);
		}
		_exit(got == total ? 0 : 1);
	}
	close(cfd);
	big = malloc(total);
	memset(big, 'x', total);
	ck_assert_int_eq(netconn_write(p.nc, big, total), 0);
	free(big);
	ck_assert_uint_gt(netconn_out_pending(p.nc), 0);
	{
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (p.events[NETCONN_EV_DRAINED] == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			ck_assert_msg(t.tv_sec - t0.tv_sec < 30, "not drained");
			evloop_run_once(p.loop, 50);
		}
	}
	ck_assert_uint_eq(netconn_out_pending(p.nc), 0);
	netconn_free(p.nc);
	p.nc = NULL;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the reader did not get all 8 MB");
	close(lfd);
	probe_fini(&p);
}
END_TEST

/* ------------------------------------------------------------------ TLS */

static pid_t server_pid = -1;

static uint16_t
start_s_server(const char *cert, const char *key)
{
	uint16_t port;
	int lfd = listener(&port), i, fd;
	char portarg[32];

	close(lfd);	/* s_server binds it itself */
	snprintf(portarg, sizeof(portarg), "127.0.0.1:%u", port);
	server_pid = fork();
	if (server_pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		alarm(60);
		/* serves until killed: the readiness probe below is a
		 * connection too */
		execl("/usr/bin/openssl", "openssl", "s_server", "-accept",
		    portarg, "-cert", cert, "-key", key, "-quiet", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {	/* bounded: until it listens */
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			break;
		}
		close(fd);
		usleep(50000);
	}
	ck_assert_int_lt(i, 100);
	return port;
}

static void
stop_s_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	server_pid = -1;
}

static bool
tls_done(struct probe *p)
{
	return p->events[NETCONN_EV_TLS_DONE] > 0 || p->done;
}

/* Connect to a fresh s_server and run a handshake; returns the probe. */
static void
handshake(struct probe *p, const char *ca, const char *name, bool verify,
    bool *ok)
{
	char cert[PATH_MAX + 16], key[PATH_MAX + 16];
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct tls_client *tc;
	struct dns_addr a;
	struct buf err;
	uint16_t port;

	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	port = start_s_server(cert, key);
	buf_init(&err);
	tc = tls_client_new(ca, &err);
	ck_assert_msg(tc != NULL, "%s", buf_cstr(&err));
	loopback(&a);
	ck_assert_ptr_nonnull(p->nc = netconn_connect(p->loop, &a, port, &np,
	    probe_cb, p));
	ck_assert(run_until(p, is_connected, 3000));
	ck_assert_int_eq(netconn_start_tls(p->nc, tc, name, verify), 0);
	ck_assert(run_until(p, tls_done, 5000));
	*ok = p->events[NETCONN_EV_TLS_DONE] == 1 && p->why[0] == '\0';
	if (*ok) {
		ck_assert(netconn_tls_active(p->nc));
		ck_assert_msg(strcmp(netconn_tls_version(p->nc), "TLSv1.2") == 0 ||
		    strcmp(netconn_tls_version(p->nc), "TLSv1.3") == 0, "%s",
		    netconn_tls_version(p->nc));
	}
	netconn_free(p->nc);
	p->nc = NULL;
	evloop_run_once(p->loop, 0);
	tls_client_free(tc);
	buf_fini(&err);
	stop_s_server();
}

START_TEST(tls_verified_by_the_right_ca_and_name)
{
	char ca[PATH_MAX + 16];
	struct probe p;
	bool ok;

	snprintf(ca, sizeof(ca), "%s/server.pem", dir);	/* self-signed */
	probe_init(&p);
	handshake(&p, ca, "mx.lab.test", true, &ok);
	ck_assert_msg(ok, "%s", p.why);
	probe_fini(&p);
}
END_TEST

START_TEST(tls_wrong_name_fails_verification)
{
	char ca[PATH_MAX + 16];
	struct probe p;
	bool ok;

	snprintf(ca, sizeof(ca), "%s/server.pem", dir);
	probe_init(&p);
	handshake(&p, ca, "other.example", true, &ok);
	ck_assert(!ok);
	ck_assert_msg(strstr(p.why, "certificate verify failed") != NULL &&
	    strstr(p.why, "mismatch") != NULL, "%s", p.why);
	probe_fini(&p);
}
END_TEST

START_TEST(tls_unknown_ca_fails_but_no_verify_succeeds)
{
	struct probe p;
	bool ok;

	probe_init(&p);
	handshake(&p, NULL, "mx.lab.test", true, &ok);	/* system CAs */
	ck_assert(!ok);
	ck_assert_msg(strstr(p.why, "certificate verify failed") != NULL, "%s",
	    p.why);
	probe_fini(&p);
	probe_init(&p);
	handshake(&p, NULL, "mx.lab.test", false, &ok);	/* encrypt only */
	ck_assert_msg(ok, "%s", p.why);
	probe_fini(&p);
}
END_TEST

static Suite *
netconn_suite(void)
{
	Suite *s = suite_create("netconn");
	TCase *tc = tcase_create("tcp");
	TCase *tls = tcase_create("tls");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, exchange_with_a_listener);
	tcase_add_test(tc, refused_connection_is_an_error);
	tcase_add_test(tc, stage_timer_fires_and_free_inside_the_callback_is_safe);
	tcase_add_test(tc, large_write_drains);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tls, 60);
	tcase_add_test(tls, tls_verified_by_the_right_ca_and_name);
	tcase_add_test(tls, tls_wrong_name_fails_verification);
	tcase_add_test(tls, tls_unknown_ca_fails_but_no_verify_succeeds);
	suite_add_tcase(s, tls);
	return s;
}

int
main(void)
{
	char tmpl[] = "/tmp/check_netconn.XXXXXX", cmd[PATH_MAX * 3];
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);	/* as the daemon does (netconn.h) */
	if (mkdtemp(tmpl) == NULL)
		return EXIT_FAILURE;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	snprintf(cmd, sizeof(cmd), "timeout 60 openssl req -x509 -newkey "
	    "rsa:2048 -nodes -days 2 -subj /CN=mx.lab.test -addext "
	    "subjectAltName=DNS:mx.lab.test -keyout %s/server.key -out "
	    "%s/server.pem >/dev/null 2>&1", dir, dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "check_netconn: openssl req failed (package "
		    "openssl)\n");
		return EXIT_FAILURE;
	}
	sr = srunner_create(netconn_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
