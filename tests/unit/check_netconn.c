/*
 * check_netconn - unit tests for connector/smtp/netconn.c and tls_client.c, on
 * real sockets on the loopback interface.
 *
 * TCP: a small server on the test's own event loop (struct tserver)
 * listens on 127.0.0.x port 0 and echoes, says "bye" and closes, stays
 * silent, reads slowly, or resets. TLS: a server in a forked child
 * (blocking OpenSSL, struct tls_plan says what it does), with a test CA,
 * a server certificate for localhost/127.0.0.1 and a self-signed one,
 * all made with the openssl command line into a mkdtemp folder before the
 * suite runs (struct pki, read-only afterwards).
 *
 * Every wait is bounded: the loop runs in rounds of at most 10 ms until a
 * condition holds or a deadline passes (then the test fails), the child
 * server has an alarm and dies with its parent, and Check's own timeout
 * backs that up. SIGPIPE keeps its default action on purpose: netconn
 * must never raise it (a test would die of it).
 *
 * What this host cannot do (no ::1, an OpenSSL that refuses a TLS 1.1
 * server) is found in main before the suite is built: those cases are
 * left out and main exits 77, so ctest reports a skip, not a pass.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "evloop.h"
#include "netconn.h"
#include "tls_client.h"

#define ROUND_MS	10	/* one loop round waits at most this */
#define DEADLINE_MS	5000	/* a step that takes longer has failed */
#define BIG_WRITE	(8u * 1024 * 1024)

/* What the host offers: set in main before the suite is built. */
static bool have_ipv6;		/* ::1 can be bound */
static bool have_tls11_server;	/* OpenSSL sets up a TLS 1.1-only server */
static size_t n_skipped;	/* cases left out for want of those */

/* The test PKI: set once in main before any test runs, read-only then. */
static struct pki {
	char	 dir[PATH_MAX];
	char	 ca[PATH_MAX];		/* the test CA's certificate */
	char	 cert[PATH_MAX];	/* localhost + 127.0.0.1, by the CA */
	char	 key[PATH_MAX];
	char	 self_cert[PATH_MAX];	/* localhost, self-signed */
	char	 self_key[PATH_MAX];
} pki;

/* mono_ms - the test's own reading of CLOCK_MONOTONIC, in ms */
static double
mono_ms(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* pattern_byte - the content of big transfers: byte i of the stream */
static unsigned char
pattern_byte(size_t i)
{
	return (unsigned char)((i * 7 + i / 4093) % 251);
}

/* pattern_fill - bytes [from, from + len) of the stream into out */
static void
pattern_fill(unsigned char *out, size_t from, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = pattern_byte(from + i);
}

/* make_addr - a dns_addr from text */
static struct dns_addr
make_addr(const char *text)
{
	struct dns_addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(a.family, text, a.family == AF_INET ?
	    (void *)&a.u.v4 : (void *)&a.u.v6), 1);
	snprintf(a.text, sizeof(a.text), "%s", text);
	return a;
}

/* bound_socket - a TCP socket bound to text:0; -1 if the address is not
 * there (IPv6 off) */
static int
bound_socket(const char *text, int type_flags, uint16_t *port)
{
	struct dns_addr a = make_addr(text);
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (a.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = a.u.v4;
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a.u.v6;
		len = sizeof(*sin6);
	}
	if ((fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC | type_flags,
	    0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(a.family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* ------------------------------------------------------- the client side */

struct probe;
typedef void probe_hook_fn(struct probe *, int event);

/* probe: the owner of one netconn, recording what it hears */
struct probe {
	struct evloop	*loop;
	struct netconn	*nc;
	int		 events[NETCONN_EV_COUNT];
	int		 total_events;
	int		 events_after_free;
	char		 why[256];	/* of the last event with a reason */
	struct buf	 got;		/* everything read */
	bool		 read_failed;	/* netconn_read returned -1 */
	bool		 manual_read;	/* the hook reads, not probe_cb */
	bool		 in_api;	/* the test is inside a netconn call */
	int		 free_at;	/* free inside this event; -1: never */
	bool		 freed;
	bool		 done;		/* EOF, ERROR, failed TLS_DONE seen */
	probe_hook_fn	*hook;		/* the test's own reaction */
	void		*ctx;		/* for the hook */
};

/* probe_cb - the netconn callback: count, read, react, maybe free */
static void
probe_cb(struct netconn *nc, int event, const char *why, void *arg)
{
	struct probe *p = arg;
	char chunk[16 * 1024];
	ssize_t n;

	ck_assert_msg(!p->in_api, "event %s from inside a netconn call",
	    netconn_event_name(event));
	ck_assert_int_ge(event, 0);
	ck_assert_int_lt(event, NETCONN_EV_COUNT);
	if (p->freed) {
		p->events_after_free++;
		return;
	}
	ck_assert_ptr_eq(nc, p->nc);
	p->events[event]++;
	p->total_events++;
	if (why != NULL)
		snprintf(p->why, sizeof(p->why), "%s", why);
	if (event == NETCONN_EV_READ && !p->manual_read) {
		while ((n = netconn_read(nc, chunk, sizeof(chunk))) > 0)
			ck_assert_int_eq(buf_append(&p->got, chunk, (size_t)n),
			    0);
		if (n == -1)
			p->read_failed = true;
	}
	if (event == NETCONN_EV_EOF || event == NETCONN_EV_ERROR ||
	    (event == NETCONN_EV_TLS_DONE && why != NULL))
		p->done = true;
	if (p->hook != NULL)
		p->hook(p, event);
	if (!p->freed && p->free_at == event) {
		netconn_free(nc);
		p->freed = true;
		p->nc = NULL;
		p->done = true;
	}
}

/* probe_init - a fresh loop and an empty record */
static void
probe_init(struct probe *p)
{
	memset(p, 0, sizeof(*p));
	p->loop = evloop_new();
	ck_assert_ptr_nonnull(p->loop);
	p->free_at = -1;
	buf_init(&p->got);
}

/* probe_connect - netconn_connect to text:port, which must start */
static void
probe_connect(struct probe *p, const char *text, uint16_t port,
    const struct netconn_params *np)
{
	struct dns_addr a = make_addr(text);

	p->in_api = true;
	p->nc = netconn_connect(p->loop, &a, port, np, probe_cb, p);
	p->in_api = false;
	ck_assert_msg(p->nc != NULL, "connect %s:%u: %s", text, port,
	    strerror(errno));
}

/* probe_fini - free what is left, let the loop finish, free it */
static void
probe_fini(struct probe *p)
{
	if (p->nc != NULL && !p->freed)
		netconn_free(p->nc);
	p->nc = NULL;
	evloop_free(p->loop);
	buf_fini(&p->got);
}

typedef bool cond_fn(const struct probe *);

/* run_until - run rounds until cond holds; false when ms pass first */
static bool
run_until(struct probe *p, cond_fn *cond, int ms)
{
	double end = mono_ms() + ms;

	while (!cond(p)) {
		if (mono_ms() > end)
			return false;
		ck_assert_int_ge(evloop_run_once(p->loop, ROUND_MS), 0);
	}
	return true;
}

/* run_for - run rounds for ms, whatever happens */
static void
run_for(struct probe *p, int ms)
{
	double end = mono_ms() + ms;

	while (mono_ms() < end)
		ck_assert_int_ge(evloop_run_once(p->loop, ROUND_MS), 0);
}

static bool
is_done(const struct probe *p)
{
	return p->done;
}

static bool
is_connected(const struct probe *p)
{
	return p->events[NETCONN_EV_CONNECTED] > 0 || p->done;
}

static bool
tls_done_seen(const struct probe *p)
{
	return p->events[NETCONN_EV_TLS_DONE] > 0 || p->done;
}

/* ------------------------------------------------ the in-process server */

enum ts_mode {
	TS_ECHO,		/* send back what arrives */
	TS_BYE,			/* say "bye\r\n" and close */
	TS_SILENT,		/* accept, then nothing */
	TS_SLOW_SINK,		/* read a little every ms, check the pattern */
	TS_RESET_ON_DATA,	/* reset the connection when data arrives */
	TS_DRIP,		/* a line every TS_DRIP_MS, never more */
	TS_CRAWL_SINK		/* read TS_CRAWL_BYTES every TS_CRAWL_MS */
};

#define TS_DRIP_MS	20
#define TS_CRAWL_BYTES	(8 * 1024)
#define TS_CRAWL_MS	5

struct tserver {
	struct evloop	*loop;
	enum ts_mode	 mode;
	int		 lfd;
	int		 fd;
	uint16_t	 port;
	struct evloop_io *lio;
	struct evloop_io *io;
	struct buf	 echo;		/* TS_ECHO: not sent back yet */
	size_t		 received;
	size_t		 mismatches;	/* TS_SLOW_SINK: bytes off pattern */
	uint64_t	 slow_timer;
	uint64_t	 drip_timer;
	unsigned	 dripped;	/* TS_DRIP: lines sent */
	bool		 peer_closed;
	char		 peer[INET6_ADDRSTRLEN];	/* the client's address */
};

static void ts_io(struct evloop *, int, int, void *);

/* ts_echo_flush - send back what the echo buffer holds */
static void
ts_echo_flush(struct tserver *ts)
{
	ssize_t n;

	while (ts->echo.len > 0) {
		n = send(ts->fd, ts->echo.data, ts->echo.len, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		buf_consume(&ts->echo, (size_t)n);
	}
	ck_assert_int_eq(evloop_modify(ts->io, EVLOOP_READ |
	    (ts->echo.len > 0 ? EVLOOP_WRITE : 0)), 0);
}

/* ts_drip - TS_DRIP's tick: one line, then wait */
static void
ts_drip(struct evloop *loop, uint64_t id, void *arg)
{
	struct tserver *ts = arg;

	ts->drip_timer = 0;
	if (send(ts->fd, "250-more\r\n", 10, MSG_NOSIGNAL) != 10)
		return;		/* the client has gone */
	ts->dripped++;
	ts->drip_timer = evloop_timer_add(loop, TS_DRIP_MS, ts_drip, ts);
	ck_assert_uint_ne(ts->drip_timer, 0);
}

/* ts_slow_read - the slow sink's tick: one read, then wait (a ms, or
 * TS_CRAWL_MS for the crawling sink, which reads less each time) */
static void
ts_slow_read(struct evloop *loop, uint64_t id, void *arg)
{
	struct tserver *ts = arg;
	unsigned char chunk[64 * 1024];
	ssize_t n, i;
	bool crawl = ts->mode == TS_CRAWL_SINK;

	ts->slow_timer = 0;
	n = recv(ts->fd, chunk, crawl ? TS_CRAWL_BYTES : sizeof(chunk),
	    MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		ts->peer_closed = true;
		return;
	}
	for (i = 0; i < n; i++)
		if (chunk[i] != pattern_byte(ts->received + (size_t)i))
			ts->mismatches++;
	if (n > 0)
		ts->received += (size_t)n;
	ts->slow_timer = evloop_timer_add(loop, crawl ? TS_CRAWL_MS : 1,
	    ts_slow_read, ts);
	ck_assert_uint_ne(ts->slow_timer, 0);
}

/* ts_accept - take the one connection and start the mode's behaviour */
static void
ts_accept(struct evloop *loop, int lfd, int mask, void *arg)
{
	struct tserver *ts = arg;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	ts->fd = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	ck_assert_int_ge(ts->fd, 0);
	ck_assert_ptr_nonnull(inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
	    (void *)&((struct sockaddr_in *)&ss)->sin_addr :
	    (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr, ts->peer,
	    sizeof(ts->peer)));
	evloop_unwatch(ts->lio);
	ts->lio = NULL;
	switch (ts->mode) {
	case TS_ECHO:
	case TS_RESET_ON_DATA:
		ts->io = evloop_watch(loop, ts->fd, EVLOOP_READ, ts_io, ts);
		ck_assert_ptr_nonnull(ts->io);
		break;
	case TS_BYE:
		ck_assert_int_eq(send(ts->fd, "bye\r\n", 5, MSG_NOSIGNAL), 5);
		ck_assert_int_eq(close(ts->fd), 0);
		ts->fd = -1;
		break;
	case TS_SILENT:
		break;
	case TS_SLOW_SINK:
	case TS_CRAWL_SINK:
		ts->slow_timer = evloop_timer_add(loop, 1, ts_slow_read, ts);
		ck_assert_uint_ne(ts->slow_timer, 0);
		break;
	case TS_DRIP:
		ts->drip_timer = evloop_timer_add(loop, 1, ts_drip, ts);
		ck_assert_uint_ne(ts->drip_timer, 0);
		break;
	}
}

/* ts_io - data for the echo or the reset mode */
static void
ts_io(struct evloop *loop, int fd, int mask, void *arg)
{
	struct tserver *ts = arg;
	struct linger lin = { 1, 0 };
	char chunk[16 * 1024];
	ssize_t n;

	if (ts->mode == TS_RESET_ON_DATA) {
		/* Linger 0: close sends RST instead of FIN. */
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin,
		    sizeof(lin)), 0);
		evloop_unwatch(ts->io);
		ts->io = NULL;
		close(ts->fd);
		ts->fd = -1;
		return;
	}
	if (mask & EVLOOP_READ) {
		while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
			ts->received += (size_t)n;
			ck_assert_int_eq(buf_append(&ts->echo, chunk,
			    (size_t)n), 0);
		}
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			ts->peer_closed = true;
			ck_assert_int_eq(evloop_modify(ts->io, 0), 0);
			return;
		}
	}
	ts_echo_flush(ts);
}

/* ts_start - listen on text:0 for one connection; false if the address
 * is not available here (IPv6 off) */
static bool
ts_start(struct tserver *ts, struct evloop *loop, const char *text,
    enum ts_mode mode)
{
	int small = 16 * 1024;

	memset(ts, 0, sizeof(*ts));
	ts->loop = loop;
	ts->mode = mode;
	ts->fd = -1;
	buf_init(&ts->echo);
	if ((ts->lfd = bound_socket(text, SOCK_NONBLOCK, &ts->port)) == -1)
		return false;
	/* A small receive window (inherited by the accepted socket) makes
	 * the client's big writes wait for the slow reader. */
	if (mode == TS_SLOW_SINK || mode == TS_CRAWL_SINK)
		ck_assert_int_eq(setsockopt(ts->lfd, SOL_SOCKET, SO_RCVBUF,
		    &small, sizeof(small)), 0);
	ck_assert_int_eq(listen(ts->lfd, 4), 0);
	ts->lio = evloop_watch(loop, ts->lfd, EVLOOP_READ, ts_accept, ts);
	ck_assert_ptr_nonnull(ts->lio);
	return true;
}

/* ts_stop - close everything of the server's */
static void
ts_stop(struct tserver *ts)
{
	if (ts->slow_timer != 0)
		evloop_timer_cancel(ts->loop, ts->slow_timer);
	if (ts->drip_timer != 0)
		evloop_timer_cancel(ts->loop, ts->drip_timer);
	if (ts->lio != NULL)
		evloop_unwatch(ts->lio);
	if (ts->io != NULL)
		evloop_unwatch(ts->io);
	if (ts->lfd != -1)
		close(ts->lfd);
	if (ts->fd != -1)
		close(ts->fd);
	buf_fini(&ts->echo);
}

/* ------------------------------------------------------------ TCP tests */

/* send_line_at_connect - hook: say one line when connected */
static void
send_line_at_connect(struct probe *p, int event)
{
	if (event == NETCONN_EV_CONNECTED)
		ck_assert_int_eq(netconn_write(p->nc, "EHLO test\r\n", 11), 0);
}

static bool
got_echo_line(const struct probe *p)
{
	return p->got.len >= 11 || p->done;
}

START_TEST(connect_and_echo_exchange_on_loopback)
{
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct tserver ts;
	struct probe p;
	char want_peer[64];

	probe_init(&p);
	ck_assert(ts_start(&ts, p.loop, "127.0.0.1", TS_ECHO));
	p.hook = send_line_at_connect;
	probe_connect(&p, "127.0.0.1", ts.port, &np);
	snprintf(want_peer, sizeof(want_peer), "127.0.0.1:%u", ts.port);
	ck_assert_str_eq(netconn_peer(p.nc), want_peer);
	ck_assert(run_until(&p, got_echo_line, DEADLINE_MS));
	ck_assert_int_eq(p.events[NETCONN_EV_CONNECTED], 1);
	ck_assert_uint_eq(p.got.len, 11);
	ck_assert_mem_eq(p.got.data, "EHLO test\r\n", 11);
	ck_assert_uint_eq(netconn_out_pending(p.nc), 0);
	ck_assert(!netconn_tls_active(p.nc));
	ck_assert_ptr_null(netconn_tls_version(p.nc));
	ck_assert_ptr_null(netconn_tls_cipher(p.nc));
	ck_assert(!netconn_tls_verified(p.nc));
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR] + p.events[NETCONN_EV_EOF],
	    0);
	ts_stop(&ts);
	probe_fini(&p);
}
END_TEST

START_TEST(write_while_connecting_goes_out_once_connected)
{
	struct tserver ts;
	struct probe p;
	char byte[16];

	probe_init(&p);
	ck_assert(ts_start(&ts, p.loop, "127.0.0.1", TS_ECHO));
	probe_connect(&p, "127.0.0.1", ts.port, NULL);
	ck_assert_int_eq(netconn_write(p.nc, "EHLO test\r\n", 11), 0);
	ck_assert_uint_eq(netconn_out_pending(p.nc), 11);
	/* Nothing to read while connecting, and no error either. */
	ck_assert_int_eq(netconn_read(p.nc, byte, sizeof(byte)), 0);
	ck_assert(run_until(&p, got_echo_line, DEADLINE_MS));
	ck_assert_mem_eq(p.got.data, "EHLO test\r\n", 11);
	/* It waited for the connect, so its sending is a DRAINED. */
	ck_assert_int_eq(p.events[NETCONN_EV_DRAINED], 1);
	ts_stop(&ts);
	probe_fini(&p);
}
END_TEST

/* a connection to an address of 127/8 or ::1, maybe from a source */
struct loopback_case {
	const char *name;
	const char *listen;
	const char *bind;	/* NULL: the kernel's choice */
	const char *want_peer;	/* netconn_peer, without ":port" */
	const char *want_seen_from;	/* the server's view of the client */
};

static const struct loopback_case loopback_cases[] = {
	{ "other_loopback_address", "127.0.0.2", NULL, "127.0.0.2",
	    "127.0.0.1" },
	{ "source_address_is_bound", "127.0.0.2", "127.0.0.3",
	    "127.0.0.2", "127.0.0.3" },
	{ "ipv6_loopback_is_bracketed", "::1", NULL, "[::1]", "::1" },
	{ "ipv6_source_address_is_bound", "::1", "::1", "[::1]", "::1" },
};

START_TEST(test_loopback_case)
{
	const struct loopback_case *c = &loopback_cases[_i];
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct dns_addr src;
	struct tserver ts;
	struct probe p;
	char want[64];

	probe_init(&p);
	/* main left the IPv6 cases out if ::1 is missing: a failure here is
	 * a failure, not a missing address */
	ck_assert_msg(ts_start(&ts, p.loop, c->listen, TS_ECHO),
	    "%s: cannot listen on %s", c->name, c->listen);
	if (c->bind != NULL) {
		src = make_addr(c->bind);
		np.bind_addr = &src;
	}
	p.hook = send_line_at_connect;
	probe_connect(&p, c->listen, ts.port, &np);
	snprintf(want, sizeof(want), "%s:%u", c->want_peer, ts.port);
	ck_assert_str_eq(netconn_peer(p.nc), want);
	ck_assert_msg(run_until(&p, got_echo_line, DEADLINE_MS), "%s", c->name);
	ck_assert_msg(p.got.len == 11, "%s: %s", c->name, p.why);
	ck_assert_str_eq(ts.peer, c->want_seen_from);
	ts_stop(&ts);
	probe_fini(&p);
}
END_TEST

START_TEST(source_address_of_the_other_family_is_refused)
{
	struct dns_addr dst = make_addr("127.0.0.1"), src = make_addr("::1");
	struct netconn_params np = { .bind_addr = &src };
	struct evloop *loop = evloop_new();

	errno = 0;
	ck_assert_ptr_null(netconn_connect(loop, &dst, 25, &np, probe_cb,
	    NULL));
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	dst.family = AF_UNIX;
	ck_assert_ptr_null(netconn_connect(loop, &dst, 25, NULL, probe_cb,
	    NULL));
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	evloop_free(loop);
}
END_TEST

/* closed_port - a loopback port with nothing listening */
static uint16_t
closed_port(void)
{
	uint16_t port;
	int fd = bound_socket("127.0.0.1", 0, &port);

	ck_assert_int_ge(fd, 0);
	close(fd);	/* bound, never listened: the port refuses */
	return port;
}

START_TEST(refused_connection_is_an_error_event)
{
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct probe p;
	double start;
	char byte[16];

	probe_init(&p);
	start = mono_ms();
	probe_connect(&p, "127.0.0.1", closed_port(), &np);
	ck_assert(run_until(&p, is_done, DEADLINE_MS));
	ck_assert_double_lt(mono_ms() - start, 1000.0);
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR], 1);
	ck_assert_int_eq(p.events[NETCONN_EV_CONNECTED], 0);
	ck_assert_msg(strstr(p.why, "refused") != NULL, "why: %s", p.why);
	/* Ended: reads and writes say so, no second end event. */
	ck_assert_int_eq(netconn_read(p.nc, byte, sizeof(byte)), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	ck_assert_int_eq(netconn_write(p.nc, "x", 1), -1);
	run_for(&p, 50);
	ck_assert_int_eq(p.total_events, 1);
	probe_fini(&p);
}
END_TEST

/* issue 9: an LMTP store on a unix socket. The same events as TCP: the
 * connect, data both ways, and a socket nobody listens on is an ERROR
 * event from the loop; a path too long for sun_path is refused. */
static bool
got_greeting(const struct probe *p)
{
	return p->got.len >= 8 || p->done;
}

START_TEST(unix_socket_connect_exchange_and_refusal)
{
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct sockaddr_un sun;
	char dirt[] = "/tmp/check_netconn_unix.XXXXXX", path[64], longp[200];
	struct probe p;
	int lfd, afd;
	char line[16];

	ck_assert_ptr_nonnull(mkdtemp(dirt));
	snprintf(path, sizeof(path), "%s/lmtp", dirt);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);

	probe_init(&p);
	p.in_api = true;
	p.nc = netconn_connect_unix(p.loop, path, &np, probe_cb, &p);
	p.in_api = false;
	ck_assert_ptr_nonnull(p.nc);
	ck_assert_msg(strncmp(netconn_peer(p.nc), "unix:/tmp/check_netconn_"
	    "unix.", 24) == 0, "%s", netconn_peer(p.nc));
	ck_assert(run_until(&p, is_connected, DEADLINE_MS));
	ck_assert_int_eq(p.events[NETCONN_EV_CONNECTED], 1);
	afd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(afd, 0);
	ck_assert(write(afd, "220 hi\r\n", 8) == 8);
	ck_assert(run_until(&p, got_greeting, DEADLINE_MS));
	ck_assert_mem_eq(p.got.data, "220 hi\r\n", 8);
	ck_assert_int_eq(netconn_write(p.nc, "LHLO x\r\n", 8), 0);
	ck_assert(read(afd, line, 8) == 8);
	ck_assert_mem_eq(line, "LHLO x\r\n", 8);
	close(afd);
	probe_fini(&p);

	/* nobody listens any more: an ERROR event, never a NULL */
	close(lfd);
	probe_init(&p);
	p.nc = netconn_connect_unix(p.loop, path, &np, probe_cb, &p);
	ck_assert_ptr_nonnull(p.nc);
	ck_assert(run_until(&p, is_done, DEADLINE_MS));
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR], 1);
	ck_assert_int_eq(p.events[NETCONN_EV_CONNECTED], 0);
	ck_assert_msg(strstr(p.why, "refused") != NULL, "why: %s", p.why);
	probe_fini(&p);
	unlink(path);
	rmdir(dirt);

	probe_init(&p);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	errno = 0;
	ck_assert_ptr_null(netconn_connect_unix(p.loop, longp, &np, probe_cb,
	    &p));
	ck_assert_int_eq(errno, ENAMETOOLONG);
	probe_fini(&p);
}
END_TEST

START_TEST(connect_failing_at_once_is_still_an_event_from_the_loop)
{
	struct probe p;

	/* Linux refuses a TCP connect to a multicast address inside
	 * connect() (ENETUNREACH), before any packet. */
	probe_init(&p);
	probe_connect(&p, "224.0.0.1", 25, NULL);
	ck_assert_int_eq(p.total_events, 0);
	ck_assert(run_until(&p, is_done, DEADLINE_MS));
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR], 1);
	ck_assert_int_eq(p.total_events, 1);
	ck_assert_msg(strstr(p.why, "connect: ") == p.why, "why: %s", p.why);
	probe_fini(&p);
}
END_TEST

START_TEST(connect_timeout_when_the_listen_queue_is_full)
{
	struct netconn_params np = { .connect_timeout_ms = 200 };
	struct dns_addr a = make_addr("127.0.0.1");
	struct sockaddr_in sin;
	int lfd, fillers[16], nfill = 0, fd;
	struct pollfd pfd;
	bool full = false;
	struct probe p;
	uint16_t port;
	double start, took;

	/* Backlog 0 and nobody accepting: once the queue holds its one
	 * connection, Linux drops further SYNs, so a connect hangs until
	 * our timer ends it. Fill until a connect does not complete. */
	lfd = bound_socket("127.0.0.1", 0, &port);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr = a.u.v4;
	while (!full && nfill < 16) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		ck_assert_int_ge(fd, 0);
		fillers[nfill++] = fd;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			continue;
		ck_assert_int_eq(errno, EINPROGRESS);
		pfd.fd = fd;
		pfd.events = POLLOUT;
		full = poll(&pfd, 1, 100) == 0;
	}
	ck_assert_msg(full, "the listen queue never filled");
	probe_init(&p);
	start = mono_ms();
	probe_connect(&p, "127.0.0.1", port, &np);
	ck_assert(run_until(&p, is_done, DEADLINE_MS));
	took = mono_ms() - start;
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR], 1);
	ck_assert_int_eq(p.events[NETCONN_EV_CONNECTED], 0);
	ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 0);
	ck_assert_str_eq(p.why, "connect: timed out after 200 ms");
	ck_assert_msg(took >= 195.0 && took < 1000.0, "took %.1f ms", took);
	probe_fini(&p);
	while (nfill > 0)
		close(fillers[--nfill]);
	close(lfd);
}
END_TEST

/* stage_hook - arm the stage timer at CONNECTED; at the first TIMEOUT,
 * arm it again and cancel it at once */
static void
stage_hook(struct probe *p, int event)
{
	if (event == NETCONN_EV_CONNECTED)
		ck_assert_int_eq(netconn_set_timeout(p->nc, 50), 0);
	if (event == NETCONN_EV_TIMEOUT) {
		ck_assert_int_eq(netconn_set_timeout(p->nc, 20), 0);
		ck_assert_int_eq(netconn_set_timeout(p->nc, 0), 0);
	}
}

static bool
timed_out(const struct probe *p)
{
	return p->events[NETCONN_EV_TIMEOUT] > 0 || p->done;
}

START_TEST(stage_timer_fires_on_a_silent_peer_and_can_be_cancelled)
{
	struct tserver ts;
	struct probe p;
	double start, took;

	probe_init(&p);
	ck_assert(ts_start(&ts, p.loop, "127.0.0.1", TS_SILENT));
	p.hook = stage_hook;
	start = mono_ms();
	probe_connect(&p, "127.0.0.1", ts.port, NULL);
	ck_assert_int_eq(netconn_set_timeout(p.nc, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(run_until(&p, timed_out, DEADLINE_MS));
	took = mono_ms() - start;
	ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 1);
	ck_assert_msg(took >= 49.0 && took < 1000.0, "took %.1f ms", took);
	/* The connection is left as it was: still usable. */
	ck_assert_int_eq(netconn_write(p.nc, "NOOP\r\n", 6), 0);
	run_for(&p, 60);
	ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 1);
	ck_assert_int_eq(p.done, false);
	ts_stop(&ts);
	probe_fini(&p);
}
END_TEST

/* deadline_hook - a 200 ms deadline from CONNECTED */
static void
deadline_hook(struct probe *p, int event)
{
	if (event == NETCONN_EV_CONNECTED)
		ck_assert_int_eq(netconn_set_timeout(p->nc, 200), 0);
}

/* A peer that drips input (a reply line every 20 ms) does not move the
 * deadline: it fires 200 ms after it was set, after many reads. */
START_TEST(stage_deadline_is_not_moved_by_input)
{
	struct tserver ts;
	struct probe p;
	double start, took;

	probe_init(&p);
	ck_assert(ts_start(&ts, p.loop, "127.0.0.1", TS_DRIP));
	p.hook = deadline_hook;
	start = mono_ms();
	probe_connect(&p, "127.0.0.1", ts.port, NULL);
	ck_assert(run_until(&p, timed_out, DEADLINE_MS));
	took = mono_ms() - start;
	ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 1);
	ck_assert_msg(took >= 195.0 && took < 600.0, "took %.1f ms", took);
	ck_assert_int_ge(p.events[NETCONN_EV_READ], 3);
	ck_assert_uint_ge(p.got.len, 30);
	ts_stop(&ts);
	probe_fini(&p);
}
END_TEST

struct crawl {
	int	 ms;		/* the timer */
	bool	 write_timer;	/* netconn_set_write_timeout, else a deadline */
	unsigned char *big;
	size_t	 len;
};

/* crawl_hook - at CONNECTED: the timer, then one big write */
static void
crawl_hook(struct probe *p, int event)
{
	struct crawl *cr = p->ctx;

	if (event != NETCONN_EV_CONNECTED)
		return;
	ck_assert_int_eq(cr->write_timer ? netconn_set_write_timeout(p->nc,
	    cr->ms) : netconn_set_timeout(p->nc, cr->ms), 0);
	ck_assert_int_eq(netconn_write(p->nc, cr->big, cr->len), 0);
}

/* A body to a reader that takes 8 KB every 5 ms: the transfer lasts far
 * longer than the 300 ms timer. As a write timeout it does not run out
 * while the data moves (much of it from the kernel's send buffer, with no
 * writable event for the loop), and does once nothing moves any more; as
 * a deadline it runs out mid-transfer. */
START_TEST(write_timeout_restarts_while_output_moves_a_deadline_does_not)
{
	struct crawl cr = { 300, true, NULL, 2u * 1024 * 1024 };
	struct tserver ts;
	struct probe p;
	double start, took, end;
	int round;

	ck_assert_ptr_nonnull(cr.big = malloc(cr.len));
	pattern_fill(cr.big, 0, cr.len);
	for (round = 0; round < 2; round++) {
		cr.write_timer = round == 0;
		probe_init(&p);
		ck_assert(ts_start(&ts, p.loop, "127.0.0.1", TS_CRAWL_SINK));
		p.hook = crawl_hook;
		p.ctx = &cr;
		start = mono_ms();
		probe_connect(&p, "127.0.0.1", ts.port, NULL);
		end = start + 20000;
		while (ts.received < cr.len && !timed_out(&p) &&
		    mono_ms() < end)
			ck_assert_int_ge(evloop_run_once(p.loop, ROUND_MS), 0);
		took = mono_ms() - start;
		if (cr.write_timer) {
			ck_assert_msg(p.events[NETCONN_EV_TIMEOUT] == 0,
			    "write timeout ran out after %.0f ms with %zu of "
			    "%zu bytes taken", took, ts.received, cr.len);
			ck_assert_uint_eq(ts.received, cr.len);
			/* it did last longer than the timer */
			ck_assert_msg(took > 3.0 * cr.ms, "took %.0f ms", took);
			/* all taken: nothing moves, so it runs out */
			ck_assert(run_until(&p, timed_out, 3 * cr.ms));
			ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 1);
			ck_assert(!p.done);
		} else {
			ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 1);
			ck_assert_msg(took >= cr.ms - 5 && took < cr.ms + 400,
			    "deadline after %.0f ms", took);
			ck_assert_uint_gt(ts.received, 0);	/* it moved */
			ck_assert_uint_lt(ts.received, cr.len);
		}
		ck_assert_uint_eq(ts.mismatches, 0);
		ts_stop(&ts);
		probe_fini(&p);
	}
	free(cr.big);
}
END_TEST

START_TEST(peer_close_is_read_then_eof)
{
	struct tserver ts;
	struct probe p;
	char byte;

	probe_init(&p);
	ck_assert(ts_start(&ts, p.loop, "127.0.0.1", TS_BYE));
	probe_connect(&p, "127.0.0.1", ts.port, NULL);
	ck_assert(run_until(&p, is_done, DEADLINE_MS));
	ck_assert_int_eq(p.events[NETCONN_EV_EOF], 1);
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR], 0);
	ck_assert_uint_eq(p.got.len, 5);
	ck_assert_mem_eq(p.got.data, "bye\r\n", 5);
	ck_assert(p.read_failed);
	ck_assert_int_eq(netconn_read(p.nc, &byte, 1), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	ck_assert_int_eq(netconn_write(p.nc, "QUIT\r\n", 6), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	ck_assert_int_eq(netconn_set_timeout(p.nc, 10), 0);
	run_for(&p, 40);
	ck_assert_int_eq(p.events[NETCONN_EV_EOF], 1);
	ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 0);	/* ended */
	ts_stop(&ts);
	probe_fini(&p);
}
END_TEST

/* the flow control a body sender does: write while below the mark */
struct feeder {
	size_t	 total;
	size_t	 sent;
	size_t	 chunk;
	size_t	 high_water;
	size_t	 max_pending;
	unsigned char *buf;
};

/* feed_hook - write chunks while out_pending is below the mark; go on
 * at CONNECTED and at each DRAINED */
static void
feed_hook(struct probe *p, int event)
{
	struct feeder *f = p->ctx;
	size_t n;

	if (event != NETCONN_EV_CONNECTED && event != NETCONN_EV_DRAINED)
		return;
	while (f->sent < f->total &&
	    netconn_out_pending(p->nc) < f->high_water) {
		n = f->total - f->sent < f->chunk ? f->total - f->sent :
		    f->chunk;
		pattern_fill(f->buf, f->sent, n);
		ck_assert_int_eq(netconn_write(p->nc, f->buf, n), 0);
		f->sent += n;
		if (netconn_out_pending(p->nc) > f->max_pending)
			f->max_pending = netconn_out_pending(p->nc);
	}
}

/* all_written - the feeder has handed everything to netconn_write */
static bool
all_written(const struct probe *p)
{
	const struct feeder *f = p->ctx;

	return p->done || f->sent == f->total;
}

START_TEST(big_body_with_flow_control_reaches_a_slow_reader)
{
	struct feeder f = { BIG_WRITE, 0, 256 * 1024, 1024 * 1024, 0, NULL };
	struct tserver ts;
	struct probe p;
	double end;

	ck_assert_ptr_nonnull(f.buf = malloc(f.chunk));
	probe_init(&p);
	ck_assert(ts_start(&ts, p.loop, "127.0.0.1", TS_SLOW_SINK));
	p.hook = feed_hook;
	p.ctx = &f;
	probe_connect(&p, "127.0.0.1", ts.port, NULL);
	ck_assert(run_until(&p, all_written, 20000));
	end = mono_ms() + 20000;
	while (ts.received < f.total && mono_ms() < end)
		ck_assert_int_ge(evloop_run_once(p.loop, ROUND_MS), 0);
	ck_assert_uint_eq(ts.received, f.total);
	ck_assert_uint_eq(ts.mismatches, 0);
	ck_assert_int_ge(p.events[NETCONN_EV_DRAINED], 1);
	ck_assert_uint_eq(netconn_out_pending(p.nc), 0);
	/* The mark held: never much more than one chunk above it. */
	ck_assert_uint_lt(f.max_pending, f.high_water + f.chunk);
	ck_assert_int_eq(p.done, false);
	ts_stop(&ts);
	probe_fini(&p);
	free(f.buf);
}
END_TEST

static bool
drained_once(const struct probe *p)
{
	return p->events[NETCONN_EV_DRAINED] > 0 || p->done;
}

START_TEST(single_big_write_waits_then_drains_once)
{
	struct tserver ts;
	struct probe p;
	unsigned char *big;
	struct tls_client *tls;
	struct buf err;

	ck_assert_ptr_nonnull(big = malloc(BIG_WRITE));
	pattern_fill(big, 0, BIG_WRITE);
	buf_init(&err);
	ck_assert_ptr_nonnull(tls = tls_client_new(NULL, &err));
	probe_init(&p);
	ck_assert(ts_start(&ts, p.loop, "127.0.0.1", TS_SLOW_SINK));
	probe_connect(&p, "127.0.0.1", ts.port, NULL);
	ck_assert(run_until(&p, is_connected, DEADLINE_MS));
	p.in_api = true;
	ck_assert_int_eq(netconn_write(p.nc, big, BIG_WRITE), 0);
	p.in_api = false;
	/* 8 MB cannot fit in the socket buffers of a slow 16 KB window. */
	ck_assert_uint_gt(netconn_out_pending(p.nc), 0);
	/* STARTTLS needs an empty output buffer. */
	ck_assert_int_eq(netconn_start_tls(p.nc, tls, "localhost",
	    TLS_VERIFY_NONE), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert(run_until(&p, drained_once, 20000));
	ck_assert_int_eq(p.events[NETCONN_EV_DRAINED], 1);
	ck_assert_uint_eq(netconn_out_pending(p.nc), 0);
	run_for(&p, 50);
	ck_assert_int_eq(p.events[NETCONN_EV_DRAINED], 1);
	ts_stop(&ts);
	probe_fini(&p);
	tls_client_free(tls);
	buf_fini(&err);
	free(big);
}
END_TEST

START_TEST(peer_reset_during_a_big_write_is_an_error_event)
{
	struct feeder f = { BIG_WRITE, 0, 256 * 1024, 1024 * 1024, 0, NULL };
	struct tserver ts;
	struct probe p;

	ck_assert_ptr_nonnull(f.buf = malloc(f.chunk));
	probe_init(&p);
	ck_assert(ts_start(&ts, p.loop, "127.0.0.1", TS_RESET_ON_DATA));
	p.hook = feed_hook;
	p.ctx = &f;
	probe_connect(&p, "127.0.0.1", ts.port, NULL);
	ck_assert(run_until(&p, is_done, DEADLINE_MS));
	/* A reset may show on the write or on a read: either is the end. */
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR] +
	    p.events[NETCONN_EV_EOF], 1);
	ck_assert_msg(p.events[NETCONN_EV_EOF] == 1 ||
	    strstr(p.why, "reset") != NULL || strstr(p.why, "pipe") != NULL,
	    "why: %s", p.why);
	run_for(&p, 30);
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR] +
	    p.events[NETCONN_EV_EOF], 1);
	ts_stop(&ts);
	probe_fini(&p);
	free(f.buf);
}
END_TEST

/* --- freeing inside the connection's own callback --- */

struct free_case {
	const char *name;
	enum ts_mode mode;
	bool	 refused;	/* connect to a closed port instead */
	int	 free_at;	/* the event whose callback frees */
	bool	 write_first;	/* netconn_write just before the free */
	bool	 big_write;	/* 8 MB at CONNECTED, for DRAINED */
	int	 stage_ms;	/* stage timer at CONNECTED */
};

static const struct free_case free_cases[] = {
	{ "free_in_connected_drops_output", TS_ECHO, false,
	    NETCONN_EV_CONNECTED, true, false, 0 },
	/* READ reads to the EOF, then frees: the EOF is not reported. */
	{ "free_in_read_after_end_found", TS_BYE, false, NETCONN_EV_READ,
	    false, false, 0 },
	{ "free_in_eof", TS_BYE, false, NETCONN_EV_EOF, false, false, 0 },
	{ "free_in_error", TS_ECHO, true, NETCONN_EV_ERROR, false, false, 0 },
	{ "free_in_timeout", TS_SILENT, false, NETCONN_EV_TIMEOUT, true, false,
	    20 },
	{ "free_in_drained", TS_SLOW_SINK, false, NETCONN_EV_DRAINED, true,
	    true, 0 },
};

/* free_case_hook - the set-up a free case needs at CONNECTED */
static void
free_case_hook(struct probe *p, int event)
{
	const struct free_case *c = p->ctx;
	unsigned char *big;

	if (event == NETCONN_EV_CONNECTED && c->stage_ms > 0)
		ck_assert_int_eq(netconn_set_timeout(p->nc, c->stage_ms), 0);
	if (event == NETCONN_EV_CONNECTED && c->big_write) {
		ck_assert_ptr_nonnull(big = malloc(BIG_WRITE));
		pattern_fill(big, 0, BIG_WRITE);
		ck_assert_int_eq(netconn_write(p->nc, big, BIG_WRITE), 0);
		free(big);
	}
	if (event == c->free_at && c->write_first)
		ck_assert_int_eq(netconn_write(p->nc, "DATA\r\n", 6), 0);
}

START_TEST(test_free_case)
{
	const struct free_case *c = &free_cases[_i];
	struct tserver ts;
	struct probe p;

	probe_init(&p);
	ck_assert(ts_start(&ts, p.loop, "127.0.0.1", c->mode));
	p.free_at = c->free_at;
	p.hook = free_case_hook;
	p.ctx = (void *)c;
	probe_connect(&p, "127.0.0.1", c->refused ? closed_port() : ts.port,
	    NULL);
	ck_assert_msg(run_until(&p, is_done, 20000), "%s", c->name);
	ck_assert_msg(p.freed, "%s: ended by %s before the free", c->name,
	    p.why);
	ck_assert_int_eq(p.events[c->free_at], 1);
	/* Nothing more may come, and ASan watches the memory. */
	run_for(&p, 50);
	ck_assert_msg(p.events_after_free == 0, "%s", c->name);
	if (c->free_at == NETCONN_EV_READ)
		ck_assert_int_eq(p.events[NETCONN_EV_EOF], 0);
	ts_stop(&ts);
	probe_fini(&p);
}
END_TEST

/* --- names --- */

START_TEST(event_names_for_logs)
{
	ck_assert_str_eq(netconn_event_name(NETCONN_EV_CONNECTED), "connected");
	ck_assert_str_eq(netconn_event_name(NETCONN_EV_TLS_DONE), "tls_done");
	ck_assert_str_eq(netconn_event_name(NETCONN_EV_TIMEOUT), "timeout");
	ck_assert_str_eq(netconn_event_name(-1), "unknown");
	ck_assert_str_eq(netconn_event_name(NETCONN_EV_COUNT), "unknown");
}
END_TEST

/* ------------------------------------------------- the TLS child server */

/* What the forked TLS server does with its one connection. */
struct tls_plan {
	bool	 self_signed;		/* the self-signed certificate */
	bool	 starttls;		/* plain "220 ready", STARTTLS, "220 go" */
	bool	 inject;		/* "220 go" and a plain line after it,
					   in one write */
	int	 max_version;		/* 0, or e.g. TLS1_1_VERSION */
	bool	 close_mid_handshake;	/* read the ClientHello, close */
	bool	 reset_after_handshake;	/* RST right after the handshake */
	size_t	 echo_bytes;		/* echo this many, then close_notify */
	bool	 hold_after_echo;	/* then wait for the client to go */
	int	 key_update_ms;		/* this long: every 20 ms a TLS 1.3
					   KeyUpdate the client must answer
					   and a byte, then close_notify */
};

/* Exit codes of the child, for the test's assertions. */
enum {
	CHILD_OK = 0,
	CHILD_SETUP = 2,
	CHILD_PLAIN = 3,
	CHILD_HANDSHAKE = 4,
	CHILD_ECHO = 5
};

/* child_line - read one plain line (blocking, byte by byte) */
static bool
child_line(int fd, char *line, size_t size)
{
	size_t len = 0;
	char ch;

	while (len + 1 < size && read(fd, &ch, 1) == 1) {
		line[len++] = ch;
		if (ch == '\n') {
			line[len] = '\0';
			return true;
		}
	}
	return false;
}

/* child_ctx - the server context the plan asks for */
static SSL_CTX *
child_ctx(const struct tls_plan *plan)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, plan->self_signed ?
	    pki.self_cert : pki.cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, plan->self_signed ? pki.self_key :
	    pki.key, SSL_FILETYPE_PEM) != 1)
		return NULL;
	if (plan->max_version != 0 &&
	    (SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, plan->max_version) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1))
		return NULL;
	if (plan->max_version != 0)
		SSL_CTX_set_security_level(ctx, 0);
	return ctx;
}

/* tls_child - the server's life: one connection as the plan says */
static void __attribute__((noreturn))
tls_child(int lfd, const struct tls_plan *plan)
{
	static const char go[] = "220 go\r\n";
	static const char injected[] = "220 go\r\nRSET\r\n";
	struct linger lin = { 1, 0 };
	char line[256], chunk[32 * 1024];
	size_t echoed = 0;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, r, w, off;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	(void)alarm(10);
	(void)signal(SIGPIPE, SIG_IGN);		/* the test server's own */
	if ((ctx = child_ctx(plan)) == NULL ||
	    (fd = accept(lfd, NULL, NULL)) == -1)
		_exit(CHILD_SETUP);
	if (plan->starttls) {
		if (write(fd, "220 ready\r\n", 11) != 11 ||
		    !child_line(fd, line, sizeof(line)) ||
		    strcmp(line, "STARTTLS\r\n") != 0)
			_exit(CHILD_PLAIN);
		if (plan->inject ?
		    write(fd, injected, sizeof(injected) - 1) !=
		    (ssize_t)sizeof(injected) - 1 :
		    write(fd, go, sizeof(go) - 1) != (ssize_t)sizeof(go) - 1)
			_exit(CHILD_PLAIN);
	}
	if (plan->close_mid_handshake) {
		/* The ClientHello arrives; we go without an answer. */
		(void)read(fd, chunk, sizeof(chunk));
		close(fd);
		_exit(CHILD_OK);
	}
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		_exit(CHILD_SETUP);
	if (SSL_accept(ssl) != 1)
		_exit(CHILD_HANDSHAKE);
	if (plan->reset_after_handshake) {
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
		close(fd);
		_exit(CHILD_OK);
	}
	for (r = 0; r < plan->key_update_ms / 20; r++) {
		struct timespec pause = { 0, 20 * 1000 * 1000 };

		if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1 ||
		    SSL_write(ssl, "k", 1) != 1)
			_exit(CHILD_ECHO);
		nanosleep(&pause, NULL);
	}
	while (echoed < plan->echo_bytes) {
		if ((r = SSL_read(ssl, chunk, sizeof(chunk))) <= 0)
			_exit(CHILD_ECHO);
		for (off = 0; off < r; off += w)
			if ((w = SSL_write(ssl, chunk + off, r - off)) <= 0)
				_exit(CHILD_ECHO);
		echoed += (size_t)r;
	}
	/* Quiet and open: the client's socket turns readable no more. */
	if (plan->hold_after_echo)
		(void)SSL_read(ssl, chunk, sizeof(chunk));
	(void)SSL_shutdown(ssl);
	close(fd);
	_exit(CHILD_OK);
}

/* tls_server_start - fork the server on 127.0.0.1:port */
static pid_t
tls_server_start(const struct tls_plan *plan, uint16_t *port)
{
	pid_t pid;
	int lfd;

	lfd = bound_socket("127.0.0.1", 0, port);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		tls_child(lfd, plan);
	/* The child's copy keeps listening; connects queue until accept. */
	close(lfd);
	return pid;
}

/* tls_server_wait - the child's exit code; killed after ms */
static int
tls_server_wait(pid_t pid, int ms)
{
	double end = mono_ms() + ms;
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (mono_ms() > end) {
			kill(pid, SIGKILL);
			ck_assert_int_eq(waitpid(pid, &status, 0), pid);
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ------------------------------------------------------------ TLS tests */

/* one client run against the TLS server */
struct tls_case {
	const char *name;
	struct tls_plan plan;
	bool	 trust_test_ca;		/* else the system CAs */
	const char *server_name;
	enum tls_verify verify;
	const char *want_why;		/* NULL: TLS comes up; else part of
					   the reason it fails */
	const char *or_why;		/* another acceptable reason */
	bool	 free_in_tls_done;	/* netconn_free inside TLS_DONE */
	int	 write_timer_ms;	/* netconn_set_write_timeout at
					   TLS_DONE */
	size_t	 sip;			/* read at most this much per READ
					   event and stop at the full echo;
					   0: read all, wait for the end */
};

/* what the client saw of a TLS run */
struct tls_run {
	const struct tls_case *c;
	struct tls_client *tls;
	int	 stage;			/* starttls dialogue: 0, 1, 2 */
	char	 version[32];
	char	 cipher[64];
	char	 cn[64];
	bool	 verified;
	bool	 tls_ok;
	unsigned char *sent;		/* the echo's pattern */
	pid_t	 held;			/* the server, if it waits for us */
	double	 tls_at;		/* when TLS_DONE came */
	double	 timeout_at;		/* when the first TIMEOUT came */
	int	 start_rc;
	int	 start_errno;
};

/* tls_start_now - start the handshake with the case's policy */
static void
tls_start_now(struct probe *p, struct tls_run *run)
{
	run->start_rc = netconn_start_tls(p->nc, run->tls,
	    run->c->server_name, run->c->verify);
	run->start_errno = errno;
	if (run->start_rc == -1)
		p->done = true;
}

/* got_is - got holds exactly this line so far */
static bool
got_is(const struct probe *p, const char *line)
{
	return p->got.len == strlen(line) &&
	    memcmp(p->got.data, line, p->got.len) == 0;
}

/* tls_sip - read one small piece (the rest stays inside OpenSSL) */
static void
tls_sip(struct probe *p, struct tls_run *run)
{
	char piece[256];
	ssize_t n;

	ck_assert_uint_le(run->c->sip, sizeof(piece));
	if ((n = netconn_read(p->nc, piece, run->c->sip)) > 0)
		ck_assert_int_eq(buf_append(&p->got, piece, (size_t)n), 0);
	if (p->got.len == run->c->plan.echo_bytes)
		p->done = true;
}

/* tls_hook - the client side of a TLS case */
static void
tls_hook(struct probe *p, int event)
{
	struct tls_run *run = p->ctx;
	const struct tls_case *c = run->c;
	const char *s;

	switch (event) {
	case NETCONN_EV_CONNECTED:
		if (!c->plan.starttls)
			tls_start_now(p, run);
		break;
	case NETCONN_EV_READ:
		if (c->sip > 0 && run->tls_ok) {
			tls_sip(p, run);
			break;
		}
		if (run->stage == 0 && c->plan.starttls &&
		    got_is(p, "220 ready\r\n")) {
			buf_reset(&p->got);
			ck_assert_int_eq(netconn_write(p->nc, "STARTTLS\r\n",
			    10), 0);
			run->stage = 1;
		} else if (run->stage == 1 && got_is(p, "220 go\r\n")) {
			buf_reset(&p->got);
			run->stage = 2;
			tls_start_now(p, run);
		}
		break;
	case NETCONN_EV_TLS_DONE:
		if (p->why[0] != '\0')
			break;
		run->tls_ok = true;
		ck_assert(netconn_tls_active(p->nc));
		snprintf(run->version, sizeof(run->version), "%s",
		    netconn_tls_version(p->nc));
		snprintf(run->cipher, sizeof(run->cipher), "%s",
		    netconn_tls_cipher(p->nc));
		s = netconn_tls_peer_cn(p->nc);
		snprintf(run->cn, sizeof(run->cn), "%s", s != NULL ? s : "");
		run->verified = netconn_tls_verified(p->nc);
		run->tls_at = mono_ms();
		if (c->write_timer_ms > 0)
			ck_assert_int_eq(netconn_set_write_timeout(p->nc,
			    c->write_timer_ms), 0);
		if (c->plan.echo_bytes > 0 && !c->free_in_tls_done)
			ck_assert_int_eq(netconn_write(p->nc, run->sent,
			    c->plan.echo_bytes), 0);
		break;
	case NETCONN_EV_TIMEOUT:
		if (run->timeout_at == 0)
			run->timeout_at = mono_ms();
		break;
	default:
		break;
	}
}

/* run_tls_case - one client against a fresh server; fills run */
static void
run_tls_case(const struct tls_case *c, struct probe *p, struct tls_run *run,
    int *child_status)
{
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct buf err;
	uint16_t port;
	pid_t pid;

	memset(run, 0, sizeof(*run));
	run->c = c;
	buf_init(&err);
	run->tls = tls_client_new(c->trust_test_ca ? pki.ca : NULL, &err);
	ck_assert_msg(run->tls != NULL, "%s: %s", c->name, buf_cstr(&err));
	buf_fini(&err);
	if (c->plan.echo_bytes > 0) {
		ck_assert_ptr_nonnull(run->sent = malloc(c->plan.echo_bytes));
		pattern_fill(run->sent, 0, c->plan.echo_bytes);
	}
	pid = tls_server_start(&c->plan, &port);
	probe_init(p);
	p->hook = tls_hook;
	p->ctx = run;
	p->free_at = c->free_in_tls_done ? NETCONN_EV_TLS_DONE : -1;
	p->manual_read = c->sip > 0;
	probe_connect(p, "127.0.0.1", port, &np);
	ck_assert_msg(run_until(p, is_done, DEADLINE_MS), "%s: no end; %s",
	    c->name, p->why);
	if (c->plan.hold_after_echo) {
		run->held = pid;	/* it ends when we close */
		*child_status = -1;
	} else
		*child_status = tls_server_wait(pid, DEADLINE_MS);
}

/* tls_run_fini - free the run's resources and the probe */
static void
tls_run_fini(struct probe *p, struct tls_run *run)
{
	probe_fini(p);
	tls_client_free(run->tls);
	free(run->sent);
}

static const struct tls_case tls_cases[] = {
	{ .name = "right_ca_and_name_verify",
	    .plan = { .echo_bytes = 100 }, .trust_test_ca = true,
	    .server_name = "localhost", .verify = TLS_VERIFY_PEER },
	{ .name = "right_ca_and_ip_literal_verify",
	    .plan = { .echo_bytes = 100 }, .trust_test_ca = true,
	    .server_name = "127.0.0.1", .verify = TLS_VERIFY_PEER },
	{ .name = "wrong_name_fails_with_hostname_mismatch",
	    .trust_test_ca = true, .server_name = "mx.example.org",
	    .verify = TLS_VERIFY_PEER,
	    .want_why = "certificate verify failed: hostname mismatch" },
	{ .name = "wrong_ip_literal_fails",
	    .trust_test_ca = true, .server_name = "127.0.0.9",
	    .verify = TLS_VERIFY_PEER,
	    .want_why = "certificate verify failed: IP address mismatch" },
	/* The server sends its leaf only: the issuer is unknown. */
	{ .name = "system_cas_fail_with_a_chain_reason",
	    .server_name = "localhost", .verify = TLS_VERIFY_PEER,
	    .want_why = "certificate verify failed: unable to get local "
	    "issuer certificate" },
	{ .name = "self_signed_taken_without_verification",
	    .plan = { .self_signed = true, .echo_bytes = 100 },
	    .server_name = "localhost", .verify = TLS_VERIFY_NONE },
	{ .name = "self_signed_refused_with_verification",
	    .plan = { .self_signed = true }, .trust_test_ca = true,
	    .server_name = "localhost", .verify = TLS_VERIFY_PEER,
	    .want_why = "certificate verify failed: self-signed certificate",
	    .or_why = "certificate verify failed: self signed certificate" },
	{ .name = "peer_closing_mid_handshake_fails",
	    .plan = { .close_mid_handshake = true }, .trust_test_ca = true,
	    .server_name = "localhost", .verify = TLS_VERIFY_NONE,
	    .want_why = "TLS handshake: " },
	{ .name = "free_inside_tls_done",
	    .plan = { .echo_bytes = 100 }, .trust_test_ca = true,
	    .server_name = "localhost", .verify = TLS_VERIFY_PEER,
	    .free_in_tls_done = true },
};

START_TEST(test_tls_case)
{
	const struct tls_case *c = &tls_cases[_i];
	struct tls_run run;
	struct probe p;
	int status;

	run_tls_case(c, &p, &run, &status);
	ck_assert_msg(run.start_rc == 0, "%s: start_tls: %s", c->name,
	    strerror(run.start_errno));
	ck_assert_int_eq(p.events[NETCONN_EV_TLS_DONE], 1);
	if (c->want_why != NULL) {
		ck_assert_msg(!run.tls_ok, "%s: TLS came up", c->name);
		ck_assert_msg(strstr(p.why, c->want_why) != NULL ||
		    (c->or_why != NULL && strstr(p.why, c->or_why) != NULL),
		    "%s: why: %s", c->name, p.why);
		/* A failed handshake is the end: nothing follows. */
		run_for(&p, 30);
		ck_assert_int_eq(p.total_events, 2);
		ck_assert(!netconn_tls_active(p.nc));
		tls_run_fini(&p, &run);
		return;
	}
	ck_assert_msg(run.tls_ok, "%s: %s", c->name, p.why);
	ck_assert_msg(strcmp(run.version, "TLSv1.2") == 0 ||
	    strcmp(run.version, "TLSv1.3") == 0, "%s: %s", c->name,
	    run.version);
	ck_assert_str_ne(run.cipher, "");
	ck_assert_str_eq(run.cn, "localhost");
	ck_assert_int_eq(run.verified, c->verify == TLS_VERIFY_PEER);
	if (!c->free_in_tls_done) {
		ck_assert_int_eq(p.events[NETCONN_EV_EOF], 1);
		ck_assert_uint_eq(p.got.len, c->plan.echo_bytes);
		ck_assert_mem_eq(p.got.data, run.sent, c->plan.echo_bytes);
		ck_assert_int_eq(status, CHILD_OK);
	} else {
		run_for(&p, 30);
		ck_assert_int_eq(p.events_after_free, 0);
	}
	tls_run_fini(&p, &run);
}
END_TEST

START_TEST(starttls_upgrade_after_plain_lines)
{
	static const struct tls_case c = { .name = "starttls",
	    .plan = { .starttls = true, .echo_bytes = 64 * 1024 },
	    .trust_test_ca = true, .server_name = "localhost",
	    .verify = TLS_VERIFY_PEER };
	struct tls_run run;
	struct probe p;
	int status;

	run_tls_case(&c, &p, &run, &status);
	ck_assert_int_eq(run.stage, 2);
	ck_assert_msg(run.tls_ok, "%s", p.why);
	ck_assert(run.verified);
	ck_assert_str_eq(run.cn, "localhost");
	ck_assert(strncmp(run.version, "TLSv1.", 6) == 0 &&
	    (run.version[6] == '2' || run.version[6] == '3'));
	ck_assert_uint_eq(p.got.len, c.plan.echo_bytes);
	ck_assert_mem_eq(p.got.data, run.sent, c.plan.echo_bytes);
	ck_assert_int_eq(p.events[NETCONN_EV_EOF], 1);
	ck_assert_int_eq(status, CHILD_OK);
	tls_run_fini(&p, &run);
}
END_TEST

START_TEST(tls_exchange_of_a_megabyte_both_ways)
{
	static const struct tls_case c = { .name = "megabyte",
	    .plan = { .echo_bytes = 1024 * 1024 }, .trust_test_ca = true,
	    .server_name = "localhost", .verify = TLS_VERIFY_PEER };
	struct tls_run run;
	struct probe p;
	int status;

	run_tls_case(&c, &p, &run, &status);
	ck_assert_msg(run.tls_ok, "%s", p.why);
	ck_assert_uint_eq(p.got.len, c.plan.echo_bytes);
	ck_assert_mem_eq(p.got.data, run.sent, c.plan.echo_bytes);
	ck_assert_int_eq(p.events[NETCONN_EV_EOF], 1);
	ck_assert_int_eq(status, CHILD_OK);
	tls_run_fini(&p, &run);
}
END_TEST

/* A TLS 1.3 peer that sends KeyUpdate requests (which OpenSSL answers by
 * writing inside SSL_read) and a byte every 20 ms, for 1.5 s: a write
 * timer with nothing of ours to send still runs out 300 ms (and up to a
 * quarter more) after it was set; input and TLS's own answers are no
 * progress of our output. */
START_TEST(tls_key_updates_do_not_feed_a_write_timer)
{
	static const struct tls_case c = { .name = "key updates",
	    .plan = { .key_update_ms = 1500 }, .trust_test_ca = true,
	    .server_name = "localhost", .verify = TLS_VERIFY_PEER,
	    .write_timer_ms = 300 };
	struct tls_run run;
	struct probe p;
	double after;
	int status;

	run_tls_case(&c, &p, &run, &status);
	ck_assert_msg(run.tls_ok, "%s", p.why);
	ck_assert_str_eq(run.version, "TLSv1.3");
	ck_assert_int_eq(status, CHILD_OK);	/* every update was sent */
	ck_assert_uint_ge(p.got.len, 30);	/* and the bytes read */
	ck_assert_int_eq(p.events[NETCONN_EV_TIMEOUT], 1);
	/* The timer counts from the loop round's time, which is taken
	 * before TLS_DONE is handled: a slow round (ASan) makes it look
	 * early by that much. */
	after = run.timeout_at - run.tls_at;
	ck_assert_msg(after >= 250.0 && after < 500.0, "timeout after %.0f ms",
	    after);
	tls_run_fini(&p, &run);
}
END_TEST

START_TEST(tls_data_held_by_openssl_is_announced_without_socket_input)
{
	/* One record of 12000 bytes, read 100 at a time, one read per
	 * event: after the first, the socket has nothing more to say, and
	 * only netconn's own check of SSL_pending brings the rest. */
	static const struct tls_case c = { .name = "sip",
	    .plan = { .echo_bytes = 12000, .hold_after_echo = true },
	    .trust_test_ca = true, .server_name = "localhost",
	    .verify = TLS_VERIFY_PEER, .sip = 100 };
	struct tls_run run;
	struct probe p;
	int status;

	run_tls_case(&c, &p, &run, &status);
	ck_assert_msg(run.tls_ok, "%s", p.why);
	ck_assert_uint_eq(p.got.len, c.plan.echo_bytes);
	ck_assert_mem_eq(p.got.data, run.sent, c.plan.echo_bytes);
	ck_assert_int_ge(p.events[NETCONN_EV_READ], 120);
	ck_assert_int_eq(p.events[NETCONN_EV_EOF] + p.events[NETCONN_EV_ERROR],
	    0);
	tls_run_fini(&p, &run);
	ck_assert_int_eq(tls_server_wait(run.held, DEADLINE_MS), CHILD_OK);
}
END_TEST

/* inject_hook - read the plain reply byte by byte, as a careful protocol
 * layer would, and start TLS right after the "220 go" line */
static void
inject_hook(struct probe *p, int event)
{
	struct tls_run *run = p->ctx;
	char ch;

	if (event == NETCONN_EV_CONNECTED)
		return;
	if (event != NETCONN_EV_READ || run->stage == 2)
		return;
	while (run->stage < 2 && netconn_read(p->nc, &ch, 1) == 1) {
		ck_assert_int_eq(buf_putc(&p->got, ch), 0);
		if (run->stage == 0 && got_is(p, "220 ready\r\n")) {
			buf_reset(&p->got);
			ck_assert_int_eq(netconn_write(p->nc, "STARTTLS\r\n",
			    10), 0);
			run->stage = 1;
		} else if (run->stage == 1 && got_is(p, "220 go\r\n")) {
			run->stage = 2;
			tls_start_now(p, run);
		}
	}
}

START_TEST(starttls_refused_when_plain_bytes_follow_the_reply)
{
	static const struct tls_case c = { .name = "inject",
	    .plan = { .starttls = true, .inject = true },
	    .trust_test_ca = true, .server_name = "localhost",
	    .verify = TLS_VERIFY_PEER };
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct tls_run run;
	struct buf err;
	struct probe p;
	uint16_t port;
	pid_t pid;

	memset(&run, 0, sizeof(run));
	run.c = &c;
	buf_init(&err);
	ck_assert_ptr_nonnull(run.tls = tls_client_new(pki.ca, &err));
	pid = tls_server_start(&c.plan, &port);
	probe_init(&p);
	p.manual_read = true;
	p.hook = inject_hook;
	p.ctx = &run;
	probe_connect(&p, "127.0.0.1", port, &np);
	ck_assert(run_until(&p, is_done, DEADLINE_MS));
	ck_assert_int_eq(run.stage, 2);
	ck_assert_int_eq(run.start_rc, -1);
	ck_assert_int_eq(run.start_errno, EPROTO);
	ck_assert(!netconn_tls_active(p.nc));
	tls_run_fini(&p, &run);
	(void)tls_server_wait(pid, DEADLINE_MS);
	buf_fini(&err);
}
END_TEST

/* old_tls_server_possible - can this OpenSSL even set up a server that
 * stops at TLS 1.1? */
static bool
old_tls_server_possible(void)
{
	struct tls_plan plan = { .max_version = TLS1_1_VERSION };
	SSL_CTX *ctx = child_ctx(&plan);
	bool ok = ctx != NULL;

	SSL_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

START_TEST(server_offering_only_tls_1_1_is_refused)
{
	static const struct tls_case c = { .name = "tls11",
	    .plan = { .max_version = TLS1_1_VERSION }, .trust_test_ca = true,
	    .server_name = "localhost", .verify = TLS_VERIFY_NONE };
	struct tls_run run;
	struct probe p;
	int status;

	/* main adds this test only if old_tls_server_possible() */
	run_tls_case(&c, &p, &run, &status);
	ck_assert_int_eq(run.start_rc, 0);
	ck_assert(!run.tls_ok);
	ck_assert_int_eq(p.events[NETCONN_EV_TLS_DONE], 1);
	ck_assert_msg(strstr(p.why, "TLS handshake: ") == p.why &&
	    strstr(p.why, "protocol") != NULL, "why: %s", p.why);
	ck_assert_int_ne(status, CHILD_OK);	/* its handshake failed too */
	tls_run_fini(&p, &run);
}
END_TEST

/* late_write_timer - send a lot to the peer that has gone */
static void
late_write_timer(struct evloop *loop, uint64_t id, void *arg)
{
	struct probe *p = arg;
	struct tls_run *run = p->ctx;

	if (p->nc != NULL && !p->done)
		(void)netconn_write(p->nc, run->sent, BIG_WRITE);
}

/* late_write_hook - after the handshake, wait for the reset */
static void
late_write_hook(struct probe *p, int event)
{
	if (event == NETCONN_EV_TLS_DONE && p->why[0] == '\0')
		ck_assert_uint_ne(evloop_timer_add(p->loop, 50,
		    late_write_timer, p), 0);
}

START_TEST(tls_write_to_a_reset_peer_is_an_error_not_sigpipe)
{
	static const struct tls_case c = { .name = "reset",
	    .plan = { .reset_after_handshake = true }, .trust_test_ca = true,
	    .server_name = "localhost", .verify = TLS_VERIFY_PEER };
	struct netconn_params np = { .connect_timeout_ms = 2000 };
	struct tls_run run;
	struct buf err;
	struct probe p;
	uint16_t port;
	pid_t pid;

	memset(&run, 0, sizeof(run));
	run.c = &c;
	buf_init(&err);
	ck_assert_ptr_nonnull(run.tls = tls_client_new(pki.ca, &err));
	ck_assert_ptr_nonnull(run.sent = malloc(BIG_WRITE));
	pattern_fill(run.sent, 0, BIG_WRITE);
	pid = tls_server_start(&c.plan, &port);
	probe_init(&p);
	p.hook = tls_hook;
	p.ctx = &run;
	probe_connect(&p, "127.0.0.1", port, &np);
	ck_assert(run_until(&p, tls_done_seen, DEADLINE_MS));
	ck_assert_msg(run.tls_ok, "%s", p.why);
	p.hook = late_write_hook;
	late_write_hook(&p, NETCONN_EV_TLS_DONE);
	ck_assert(run_until(&p, is_done, DEADLINE_MS));
	ck_assert_int_eq(p.events[NETCONN_EV_ERROR] +
	    p.events[NETCONN_EV_EOF], 1);
	ck_assert_int_eq(tls_server_wait(pid, DEADLINE_MS), CHILD_OK);
	tls_run_fini(&p, &run);
	buf_fini(&err);
}
END_TEST

START_TEST(tls_client_setup_errors)
{
	struct tls_client *tls;
	struct buf err;
	char missing[PATH_MAX + 16];

	buf_init(&err);
	snprintf(missing, sizeof(missing), "%s/nothing.pem", pki.dir);
	ck_assert_ptr_null(tls_client_new(missing, &err));
	ck_assert_msg(strstr(buf_cstr(&err), "nothing.pem") != NULL, "%s",
	    buf_cstr(&err));
	ck_assert_ptr_null(tls_client_new(missing, NULL));
	ck_assert_ptr_nonnull(tls = tls_client_new(pki.ca, &err));
	/* Verification needs a name to check. */
	ck_assert_ptr_null(tls_client_ssl_new(tls, 0, NULL, TLS_VERIFY_PEER));
	ck_assert_int_eq(errno, EINVAL);
	tls_client_free(tls);
	tls_client_free(NULL);
	buf_fini(&err);
}
END_TEST

/* ------------------------------------------------------------ the PKI */

/* run_openssl - one openssl command in the PKI folder; false on failure */
static bool
run_openssl(const char *args)
{
	char cmd[4 * PATH_MAX];
	int n;

	n = snprintf(cmd, sizeof(cmd), "cd '%s' && openssl %s >>log 2>&1",
	    pki.dir, args);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return false;
	if (system(cmd) != 0) {
		fprintf(stderr, "check_netconn: failed: %s (see %s/log)\n",
		    cmd, pki.dir);
		return false;
	}
	return true;
}

/* pki_path - a file of the PKI folder */
static void
pki_path(char *out, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", pki.dir, name);

	if (n < 0 || n >= PATH_MAX)
		abort();
}

/* pki_make - the test CA, a server certificate by it, a self-signed one */
static bool
pki_make(void)
{
	static const char cnf[] =
	    "[req]\n"
	    "distinguished_name = dn\n"
	    "prompt = no\n"
	    "[dn]\n"
	    "CN = unused\n"
	    "[v3_ca]\n"
	    "basicConstraints = critical, CA:TRUE\n"
	    "keyUsage = critical, keyCertSign, cRLSign\n"
	    "subjectKeyIdentifier = hash\n"
	    "[v3_server]\n"
	    "basicConstraints = CA:FALSE\n"
	    "keyUsage = critical, digitalSignature\n"
	    "extendedKeyUsage = serverAuth\n"
	    "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
	    "authorityKeyIdentifier = keyid\n"
	    "[v3_self]\n"
	    "basicConstraints = CA:FALSE\n"
	    "subjectAltName = DNS:localhost, IP:127.0.0.1\n";
	static const char ec[] =
	    "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc";
	char path[PATH_MAX], args[1024];
	FILE *fp;

	snprintf(pki.dir, sizeof(pki.dir), "/tmp/check_netconn.XXXXXX");
	if (mkdtemp(pki.dir) == NULL)
		return false;
	pki_path(path, "openssl.cnf");
	if ((fp = fopen(path, "we")) == NULL)
		return false;
	if (fwrite(cnf, 1, sizeof(cnf) - 1, fp) != sizeof(cnf) - 1) {
		fclose(fp);
		return false;
	}
	if (fclose(fp) != 0)
		return false;
	pki_path(pki.ca, "ca.pem");
	pki_path(pki.cert, "server.pem");
	pki_path(pki.key, "server.key");
	pki_path(pki.self_cert, "self.pem");
	pki_path(pki.self_key, "self.key");
	snprintf(args, sizeof(args), "req -x509 -config openssl.cnf "
	    "-extensions v3_ca %s -keyout ca.key -out ca.pem -days 2 "
	    "-subj '/CN=IMC Test CA'", ec);
	if (!run_openssl(args))
		return false;
	snprintf(args, sizeof(args), "req -new -config openssl.cnf %s "
	    "-keyout server.key -out server.csr -subj /CN=localhost", ec);
	if (!run_openssl(args))
		return false;
	if (!run_openssl("x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
	    "-set_serial 2 -days 2 -extfile openssl.cnf -extensions v3_server "
	    "-out server.pem"))
		return false;
	snprintf(args, sizeof(args), "req -x509 -config openssl.cnf "
	    "-extensions v3_self %s -keyout self.key -out self.pem -days 2 "
	    "-subj /CN=localhost", ec);
	return run_openssl(args);
}

/* rm_entry - nftw: remove one entry */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* ipv6_loopback_available - can a TCP socket be bound to ::1? */
static bool
ipv6_loopback_available(void)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
	    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd != -1 &&
	    bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;

	if (fd != -1)
		close(fd);
	return ok;
}

/* netconn_suite - every netconn test this host can run */
static Suite *
netconn_suite(void)
{
	Suite *s = suite_create("netconn");
	TCase *tc;
	size_t i;

	tc = tcase_create("tcp");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, connect_and_echo_exchange_on_loopback);
	tcase_add_test(tc, write_while_connecting_goes_out_once_connected);
	for (i = 0; i < sizeof(loopback_cases) / sizeof(loopback_cases[0]);
	    i++) {
		if (strchr(loopback_cases[i].listen, ':') != NULL && !have_ipv6) {
			fprintf(stderr, "%s: skipped: ::1 not available\n",
			    loopback_cases[i].name);
			n_skipped++;
			continue;
		}
		tcase_add_loop_test(tc, test_loopback_case, (int)i, (int)i + 1);
	}
	tcase_add_test(tc, source_address_of_the_other_family_is_refused);
	tcase_add_test(tc, refused_connection_is_an_error_event);
	tcase_add_test(tc, unix_socket_connect_exchange_and_refusal);
	tcase_add_test(tc,
	    connect_failing_at_once_is_still_an_event_from_the_loop);
	tcase_add_test(tc, connect_timeout_when_the_listen_queue_is_full);
	tcase_add_test(tc,
	    stage_timer_fires_on_a_silent_peer_and_can_be_cancelled);
	tcase_add_test(tc, stage_deadline_is_not_moved_by_input);
	tcase_add_test(tc,
	    write_timeout_restarts_while_output_moves_a_deadline_does_not);
	tcase_add_test(tc, peer_close_is_read_then_eof);
	tcase_add_test(tc, big_body_with_flow_control_reaches_a_slow_reader);
	tcase_add_test(tc, single_big_write_waits_then_drains_once);
	tcase_add_test(tc, peer_reset_during_a_big_write_is_an_error_event);
	tcase_add_loop_test(tc, test_free_case, 0,
	    (int)(sizeof(free_cases) / sizeof(free_cases[0])));
	tcase_add_test(tc, event_names_for_logs);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_tls_case, 0,
	    (int)(sizeof(tls_cases) / sizeof(tls_cases[0])));
	tcase_add_test(tc, starttls_upgrade_after_plain_lines);
	tcase_add_test(tc, tls_exchange_of_a_megabyte_both_ways);
	tcase_add_test(tc, tls_key_updates_do_not_feed_a_write_timer);
	tcase_add_test(tc,
	    tls_data_held_by_openssl_is_announced_without_socket_input);
	tcase_add_test(tc, starttls_refused_when_plain_bytes_follow_the_reply);
	if (have_tls11_server)
		tcase_add_test(tc, server_offering_only_tls_1_1_is_refused);
	else {
		fprintf(stderr, "server_offering_only_tls_1_1_is_refused: "
		    "skipped: this OpenSSL will not set up a TLS 1.1 server\n");
		n_skipped++;
	}
	tcase_add_test(tc, tls_write_to_a_reset_peer_is_an_error_not_sigpipe);
	tcase_add_test(tc, tls_client_setup_errors);
	suite_add_tcase(s, tc);
	return s;
}

/* main - make the PKI, run the suite, clean up */
int
main(void)
{
	SRunner *sr;
	int failed;

	if (!pki_make()) {
		fprintf(stderr, "check_netconn: cannot make the test PKI\n");
		return EXIT_FAILURE;
	}
	have_ipv6 = ipv6_loopback_available();
	have_tls11_server = old_tls_server_possible();
	sr = srunner_create(netconn_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(pki.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (failed != 0)
		return EXIT_FAILURE;
	if (n_skipped > 0) {
		fprintf(stderr, "check_netconn: %zu case(s) skipped\n",
		    n_skipped);
		return 77;	/* ctest: skipped */
	}
	return EXIT_SUCCESS;
}
