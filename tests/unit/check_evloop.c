/*
 * check_evloop - unit tests for common/evloop.c.
 *
 * Readiness comes from nonblocking AF_UNIX socket pairs on the real
 * kernel; timers run on the real monotonic clock with delays of a few
 * tens of ms at most, so every test ends well under a second. The state a
 * callback touches lives in a struct on the test's stack, passed as arg.
 * Check forks a process per test, so the signals a test blocks do not
 * reach the next one.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"

#define MAX_ROUNDS	1000

/* mono_ms - the test's own reading of CLOCK_MONOTONIC, in ms */
static double
mono_ms(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* make_pair - a nonblocking socket pair */
static void
make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* close_pair - close both ends that are still open */
static void
close_pair(int sv[2])
{
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

/* put - write one byte that must fit */
static void
put(int fd)
{
	ck_assert_int_eq(write(fd, "x", 1), 1);
}

/* fill - write into fd until its buffer is full; returns bytes written */
static size_t
fill(int fd)
{
	char chunk[4096];
	size_t total = 0;
	ssize_t r;

	memset(chunk, 'f', sizeof(chunk));
	while ((r = write(fd, chunk, sizeof(chunk))) > 0)
		total += (size_t)r;
	ck_assert_int_eq((int)r, -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	return total;
}

/* drain - read fd until it would block */
static void
drain(int fd)
{
	char chunk[4096];

	while (read(fd, chunk, sizeof(chunk)) > 0)
		continue;
}

/* io record: what an fd callback saw */
struct io_rec {
	int	 calls;
	int	 last_fd;
	int	 last_mask;
	struct evloop_io *io;
	int	 stop;		/* call evloop_stop */
	int	 unwatch_self;
	int	 modify_to;	/* after the first call, if non-zero */
};

/* io_record - fd callback that records its call */
static void
io_record(struct evloop *loop, int fd, int mask, void *arg)
{
	struct io_rec *r = arg;

	r->calls++;
	r->last_fd = fd;
	r->last_mask = mask;
	if (r->modify_to != 0 && r->calls == 1)
		ck_assert_int_eq(evloop_modify(r->io, r->modify_to), 0);
	if (r->unwatch_self) {
		evloop_unwatch(r->io);
		r->io = NULL;
	}
	if (r->stop)
		evloop_stop(loop);
}

/* --- fd watchers --- */

START_TEST(read_callback_fires_when_peer_writes)
{
	struct evloop *loop = evloop_new();
	struct io_rec r = { 0 };
	int sv[2];

	ck_assert_ptr_nonnull(loop);
	make_pair(sv);
	r.io = evloop_watch(loop, sv[0], EVLOOP_READ, io_record, &r);
	ck_assert_ptr_nonnull(r.io);
	ck_assert_int_eq(evloop_fd(r.io), sv[0]);
	ck_assert_int_eq(evloop_mask(r.io), EVLOOP_READ);
	ck_assert_int_eq(evloop_run_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 0);
	put(sv[1]);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.last_fd, sv[0]);
	ck_assert_int_eq(r.last_mask, EVLOOP_READ);
	evloop_unwatch(r.io);
	evloop_free(loop);
	close_pair(sv);
}
END_TEST

START_TEST(unread_data_fires_every_round_until_drained)
{
	struct evloop *loop = evloop_new();
	struct io_rec r = { 0 };
	int sv[2], i;

	make_pair(sv);
	r.io = evloop_watch(loop, sv[0], EVLOOP_READ, io_record, &r);
	put(sv[1]);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(r.calls, 3);
	drain(sv[0]);
	ck_assert_int_eq(evloop_run_once(loop, 10), 0);
	ck_assert_int_eq(r.calls, 3);
	evloop_free(loop);
	close_pair(sv);
}
END_TEST

START_TEST(write_interest_waits_for_room_in_full_buffer)
{
	struct evloop *loop = evloop_new();
	struct io_rec r = { 0 };
	int sv[2];

	make_pair(sv);
	ck_assert_uint_gt(fill(sv[0]), 0);
	r.io = evloop_watch(loop, sv[0], EVLOOP_WRITE, io_record, &r);
	ck_assert_ptr_nonnull(r.io);
	ck_assert_int_eq(evloop_run_once(loop, 20), 0);
	ck_assert_int_eq(r.calls, 0);
	drain(sv[1]);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.last_mask, EVLOOP_WRITE);
	evloop_free(loop);
	close_pair(sv);
}
END_TEST

START_TEST(modify_from_read_to_write_changes_what_fires)
{
	struct evloop *loop = evloop_new();
	struct io_rec r = { 0 };
	int sv[2];

	make_pair(sv);
	put(sv[1]);	/* sv[0] is readable and writable from here on */
	r.modify_to = EVLOOP_WRITE;
	r.io = evloop_watch(loop, sv[0], EVLOOP_READ, io_record, &r);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(r.last_mask, EVLOOP_READ);
	ck_assert_int_eq(evloop_mask(r.io), EVLOOP_WRITE);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(r.calls, 2);
	ck_assert_int_eq(r.last_mask, EVLOOP_WRITE);
	ck_assert_int_eq(evloop_modify(r.io, EVLOOP_READ | EVLOOP_WRITE), 0);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(r.last_mask, EVLOOP_READ | EVLOOP_WRITE);
	ck_assert_int_eq(evloop_modify(r.io, 4), -1);
	ck_assert_int_eq(errno, EINVAL);
	evloop_free(loop);
	close_pair(sv);
}
END_TEST

START_TEST(mask_zero_parks_a_hung_up_socket)
{
	struct evloop *loop = evloop_new();
	struct io_rec r = { 0 };
	int sv[2];

	make_pair(sv);
	close(sv[1]);
	sv[1] = -1;
	r.io = evloop_watch(loop, sv[0], EVLOOP_READ, io_record, &r);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(evloop_modify(r.io, 0), 0);
	ck_assert_int_eq(evloop_run_once(loop, 10), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(evloop_modify(r.io, EVLOOP_READ), 0);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(r.calls, 2);
	evloop_free(loop);
	close_pair(sv);
}
END_TEST

START_TEST(hangup_reports_every_watched_direction)
{
	struct evloop *loop = evloop_new();
	struct io_rec both = { 0 }, rd = { 0 };
	int a[2], b[2];

	make_pair(a);
	make_pair(b);
	close(a[1]);
	a[1] = -1;
	close(b[1]);
	b[1] = -1;
	both.io = evloop_watch(loop, a[0], EVLOOP_READ | EVLOOP_WRITE,
	    io_record, &both);
	rd.io = evloop_watch(loop, b[0], EVLOOP_READ, io_record, &rd);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 2);
	ck_assert_int_eq(both.last_mask, EVLOOP_READ | EVLOOP_WRITE);
	ck_assert_int_eq(rd.last_mask, EVLOOP_READ);
	evloop_free(loop);
	close_pair(a);
	close_pair(b);
}
END_TEST

START_TEST(unwatch_self_inside_callback_stops_calls)
{
	struct evloop *loop = evloop_new();
	struct io_rec r = { 0 };
	int sv[2];

	make_pair(sv);
	put(sv[1]);	/* stays unread: level-triggered would fire again */
	r.unwatch_self = 1;
	r.io = evloop_watch(loop, sv[0], EVLOOP_READ, io_record, &r);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_ptr_null(r.io);
	ck_assert_int_eq(evloop_run_once(loop, 10), 0);
	ck_assert_int_eq(r.calls, 1);
	/* The fd can be watched again after the round. */
	r.unwatch_self = 0;
	r.io = evloop_watch(loop, sv[0], EVLOOP_READ, io_record, &r);
	ck_assert_ptr_nonnull(r.io);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(r.calls, 2);
	evloop_free(loop);
	close_pair(sv);
}
END_TEST

/* two watchers with events in the same round; the first called kills both */
struct pair_ctx {
	struct evloop_io *io[2];
	int	 fds[2][2];
	int	 calls[2];
};

/* kill_both - unwatch both watchers from whichever is called first */
static void
kill_both(struct pair_ctx *c, int me)
{
	c->calls[me]++;
	evloop_unwatch(c->io[1 - me]);	/* its event is already returned */
	evloop_unwatch(c->io[me]);
	c->io[0] = c->io[1] = NULL;
}

/* first_cb - callback of watcher 0 */
static void
first_cb(struct evloop *loop, int fd, int mask, void *arg)
{
	kill_both(arg, 0);
}

/* second_cb - callback of watcher 1 */
static void
second_cb(struct evloop *loop, int fd, int mask, void *arg)
{
	kill_both(arg, 1);
}

START_TEST(unwatch_other_fd_with_pending_event_skips_its_callback)
{
	struct evloop *loop = evloop_new();
	struct pair_ctx c;

	memset(&c, 0, sizeof(c));
	make_pair(c.fds[0]);
	make_pair(c.fds[1]);
	put(c.fds[0][1]);
	put(c.fds[1][1]);
	c.io[0] = evloop_watch(loop, c.fds[0][0], EVLOOP_READ, first_cb, &c);
	c.io[1] = evloop_watch(loop, c.fds[1][0], EVLOOP_READ, second_cb, &c);
	/* Both fds are ready before the wait, so one epoll_wait has both. */
	ck_assert_int_eq(evloop_run_once(loop, 1000), 1);
	ck_assert_int_eq(c.calls[0] + c.calls[1], 1);
	ck_assert_int_eq(evloop_run_once(loop, 10), 0);
	ck_assert_int_eq(c.calls[0] + c.calls[1], 1);
	evloop_free(loop);
	close_pair(c.fds[0]);
	close_pair(c.fds[1]);
}
END_TEST

/* reuse context: the first callback closes the other fd, opens a new one */
struct reuse_ctx {
	struct evloop *loop;
	struct evloop_io *io[2];
	int	 fds[2][2];
	int	 calls[2];
	struct io_rec fresh;
	int	 fresh_sv[2];
	int	 reused;	/* new fd got the closed fd's number */
};

/* reuse_kill - unwatch and close the other fd, watch a fresh ready one */
static void
reuse_kill(struct reuse_ctx *c, int me)
{
	int other = 1 - me, old;

	c->calls[me]++;
	if (c->io[other] == NULL)
		return;
	old = c->fds[other][0];
	evloop_unwatch(c->io[other]);
	c->io[other] = NULL;
	close(old);
	c->fds[other][0] = -1;
	make_pair(c->fresh_sv);
	put(c->fresh_sv[1]);
	c->reused = c->fresh_sv[0] == old || c->fresh_sv[1] == old;
	c->fresh.io = evloop_watch(c->loop, c->fresh_sv[0], EVLOOP_READ,
	    io_record, &c->fresh);
	ck_assert_ptr_nonnull(c->fresh.io);
}

/* reuse_first - callback of watcher 0 */
static void
reuse_first(struct evloop *loop, int fd, int mask, void *arg)
{
	reuse_kill(arg, 0);
}

/* reuse_second - callback of watcher 1 */
static void
reuse_second(struct evloop *loop, int fd, int mask, void *arg)
{
	reuse_kill(arg, 1);
}

START_TEST(stale_event_is_not_delivered_to_a_reused_fd_number)
{
	struct reuse_ctx c;

	memset(&c, 0, sizeof(c));
	c.loop = evloop_new();
	make_pair(c.fds[0]);
	make_pair(c.fds[1]);
	put(c.fds[0][1]);
	put(c.fds[1][1]);
	c.io[0] = evloop_watch(c.loop, c.fds[0][0], EVLOOP_READ, reuse_first,
	    &c);
	c.io[1] = evloop_watch(c.loop, c.fds[1][0], EVLOOP_READ, reuse_second,
	    &c);
	ck_assert_int_eq(evloop_run_once(c.loop, 1000), 1);
	ck_assert_int_eq(c.calls[0] + c.calls[1], 1);
	ck_assert_int_eq(c.fresh.calls, 0);	/* not in that wait's events */
	ck_assert(c.reused);			/* the case is really tested */
	/* Next round: the survivor (data unread) and the fresh watcher. */
	ck_assert_int_eq(evloop_run_once(c.loop, 1000), 2);
	ck_assert_int_eq(c.fresh.calls, 1);
	ck_assert_int_eq(c.fresh.last_fd, c.fresh_sv[0]);
	evloop_free(c.loop);
	close_pair(c.fds[0]);
	close_pair(c.fds[1]);
	close_pair(c.fresh_sv);
}
END_TEST

enum fd_kind { FD_NEGATIVE, FD_SOCKET, FD_DEVNULL, FD_WATCHED };

struct watch_error_case {
	const char *name;
	enum fd_kind fd;
	int	 mask;
	int	 null_cb;
	int	 want_errno;
};

static const struct watch_error_case watch_error_cases[] = {
	{ "negative_fd_is_ebadf", FD_NEGATIVE, EVLOOP_READ, 0, EBADF },
	{ "unknown_mask_bit_is_einval", FD_SOCKET, 0x4, 0, EINVAL },
	{ "null_callback_is_einval", FD_SOCKET, EVLOOP_READ, 1, EINVAL },
	{ "file_epoll_cannot_poll_is_eperm", FD_DEVNULL, EVLOOP_READ, 0, EPERM },
	{ "second_watch_of_same_fd_is_eexist", FD_WATCHED, EVLOOP_READ, 0,
	    EEXIST },
};

START_TEST(test_watch_error_case)
{
	const struct watch_error_case *c = &watch_error_cases[_i];
	struct evloop *loop = evloop_new();
	struct io_rec r = { 0 };
	struct evloop_io *first = NULL;
	int sv[2], fd = -1, devnull;

	make_pair(sv);
	ck_assert_int_ge(devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
	switch (c->fd) {
	case FD_NEGATIVE:
		fd = -1;
		break;
	case FD_SOCKET:
		fd = sv[0];
		break;
	case FD_DEVNULL:
		fd = devnull;
		break;
	case FD_WATCHED:
		fd = sv[0];
		first = evloop_watch(loop, fd, EVLOOP_READ, io_record, &r);
		ck_assert_ptr_nonnull(first);
		break;
	}
	errno = 0;
	ck_assert_msg(evloop_watch(loop, fd, c->mask,
	    c->null_cb ? NULL : io_record, &r) == NULL, "%s", c->name);
	ck_assert_msg(errno == c->want_errno, "%s: errno %d", c->name, errno);
	evloop_free(loop);
	close(devnull);
	close_pair(sv);
}
END_TEST

/* --- timers --- */

#define ORDER_MAX	16

struct order_ctx {
	struct evloop *loop;
	int	 fired[ORDER_MAX];
	int	 nfired;
};

struct order_arg {
	struct order_ctx *ctx;
	int	 index;
};

/* order_fire - timer callback that records its index */
static void
order_fire(struct evloop *loop, uint64_t id, void *arg)
{
	struct order_arg *a = arg;

	ck_assert_int_lt(a->ctx->nfired, ORDER_MAX);
	a->ctx->fired[a->ctx->nfired++] = a->index;
}

/* run_until - run rounds until *count reaches want; fails on no progress */
static void
run_until(struct evloop *loop, const int *count, int want)
{
	int rounds = 0;

	while (*count < want) {
		ck_assert_int_ge(evloop_run_once(loop, 500), 0);
		ck_assert_int_lt(++rounds, MAX_ROUNDS);
	}
}

START_TEST(timers_fire_in_deadline_order_ties_in_add_order)
{
	static const uint64_t delay[] = { 30, 10, 20, 10, 0, 20, 0, 10 };
	static const int want[] = { 4, 6, 1, 3, 7, 2, 5, 0 };
	enum { N = sizeof(delay) / sizeof(delay[0]) };
	struct order_ctx ctx = { 0 };
	struct order_arg args[N];
	int i;

	ctx.loop = evloop_new();
	for (i = 0; i < N; i++) {
		args[i].ctx = &ctx;
		args[i].index = i;
		ck_assert_uint_ne(evloop_timer_add(ctx.loop, delay[i], order_fire,
		    &args[i]), 0);
	}
	ck_assert_int_eq(evloop_timer_pending(ctx.loop), N);
	run_until(ctx.loop, &ctx.nfired, N);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(ctx.fired[i], want[i]);
	ck_assert_int_eq(evloop_timer_pending(ctx.loop), 0);
	ck_assert_int_eq(evloop_timer_next_ms(ctx.loop), -1);
	evloop_free(ctx.loop);
}
END_TEST

struct delay_ctx {
	uint64_t due;		/* loop time the timer may fire at */
	uint64_t fired_now;
	int	 calls;
};

/* delay_fire - record the loop time at firing */
static void
delay_fire(struct evloop *loop, uint64_t id, void *arg)
{
	struct delay_ctx *c = arg;

	c->calls++;
	c->fired_now = evloop_now_ms(loop);
}

START_TEST(timer_waits_its_delay_and_bounds_the_wait)
{
	struct evloop *loop = evloop_new();
	struct delay_ctx c = { 0 };
	double start, elapsed;

	start = mono_ms();
	c.due = evloop_now_ms(loop) + 20;
	ck_assert_uint_ne(evloop_timer_add(loop, 20, delay_fire, &c), 0);
	ck_assert_int_le(evloop_timer_next_ms(loop), 20);
	/* No fd at all: the timer alone ends the wait of an endless round. */
	while (c.calls == 0)
		ck_assert_int_ge(evloop_run_once(loop, -1), 0);
	elapsed = mono_ms() - start;
	ck_assert_uint_ge(c.fired_now, c.due);
	ck_assert_msg(elapsed >= 19.0 && elapsed < 500.0, "elapsed %.1f ms",
	    elapsed);
	evloop_free(loop);
}
END_TEST

START_TEST(cancelled_timer_never_fires)
{
	struct evloop *loop = evloop_new();
	struct delay_ctx a = { 0 }, b = { 0 };
	uint64_t ida, idb;

	ida = evloop_timer_add(loop, 10, delay_fire, &a);
	idb = evloop_timer_add(loop, 5, delay_fire, &b);
	ck_assert_uint_ne(ida, idb);
	ck_assert_int_eq(evloop_timer_cancel(loop, ida), 0);
	ck_assert_int_eq(evloop_timer_cancel(loop, ida), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(evloop_timer_cancel(loop, 0), -1);
	ck_assert_int_eq(evloop_timer_cancel(loop, UINT64_MAX), -1);
	run_until(loop, &b.calls, 1);
	ck_assert_int_eq(evloop_timer_pending(loop), 0);
	ck_assert_int_eq(evloop_run_once(loop, 30), 0);
	ck_assert_int_eq(a.calls, 0);
	/* The fired timer's id is stale, also once its slot is reused. */
	ck_assert_int_eq(evloop_timer_cancel(loop, idb), -1);
	ck_assert_uint_ne(evloop_timer_add(loop, 1000, delay_fire, &a), idb);
	ck_assert_int_eq(evloop_timer_cancel(loop, idb), -1);
	ck_assert_int_eq(evloop_timer_pending(loop), 1);
	evloop_free(loop);
}
END_TEST

struct cancel_ctx {
	uint64_t self;
	uint64_t victim;
	int	 self_rc;
	int	 self_errno;
	int	 victim_rc;
	int	 killer_calls;
	int	 victim_calls;
};

/* killer_fire - cancel the victim and (uselessly) itself */
static void
killer_fire(struct evloop *loop, uint64_t id, void *arg)
{
	struct cancel_ctx *c = arg;

	c->killer_calls++;
	ck_assert_uint_eq(id, c->self);
	c->victim_rc = evloop_timer_cancel(loop, c->victim);
	c->self_rc = evloop_timer_cancel(loop, c->self);
	c->self_errno = errno;
}

/* victim_fire - must not be called */
static void
victim_fire(struct evloop *loop, uint64_t id, void *arg)
{
	struct cancel_ctx *c = arg;

	c->victim_calls++;
}

START_TEST(cancel_from_another_timers_callback_in_same_round)
{
	struct evloop *loop = evloop_new();
	struct cancel_ctx c = { 0 };

	/* Same deadline, so both are due in the same round. */
	c.self = evloop_timer_add(loop, 0, killer_fire, &c);
	c.victim = evloop_timer_add(loop, 0, victim_fire, &c);
	ck_assert_int_eq(evloop_run_once(loop, 0), 1);
	ck_assert_int_eq(c.killer_calls, 1);
	ck_assert_int_eq(c.victim_rc, 0);
	ck_assert_int_eq(c.self_rc, -1);
	ck_assert_int_eq(c.self_errno, ENOENT);
	ck_assert_int_eq(evloop_run_once(loop, 10), 0);
	ck_assert_int_eq(c.victim_calls, 0);
	ck_assert_int_eq(evloop_timer_pending(loop), 0);
	evloop_free(loop);
}
END_TEST

struct readd_ctx {
	int	 calls;
	int	 limit;
};

/* readd_fire - add itself again with 0 ms until the limit */
static void
readd_fire(struct evloop *loop, uint64_t id, void *arg)
{
	struct readd_ctx *c = arg;

	if (++c->calls < c->limit)
		ck_assert_uint_ne(evloop_timer_add(loop, 0, readd_fire, c), 0);
}

START_TEST(timer_readded_from_callback_fires_next_round)
{
	struct evloop *loop = evloop_new();
	struct readd_ctx c = { 0, 5 };
	int i;

	ck_assert_uint_ne(evloop_timer_add(loop, 0, readd_fire, &c), 0);
	for (i = 1; i <= 5; i++) {
		ck_assert_int_eq(evloop_run_once(loop, 0), 1);
		ck_assert_int_eq(c.calls, i);
	}
	ck_assert_int_eq(evloop_timer_pending(loop), 0);
	evloop_free(loop);
}
END_TEST

#define MANY		10000
#define MANY_SPAN	40	/* ms */

struct many_ctx {
	uint64_t delay[MANY];
	uint64_t deadline[MANY];	/* loop time at add + delay */
	uint64_t id[MANY];
	int	 cancelled[MANY];
	int	 fired[MANY];
	int	 last;		/* index of the previous timer fired, or -1 */
	int	 nfired;
	int	 out_of_order;
	int	 early;
};

struct many_arg {
	struct many_ctx *ctx;
	int	 index;
};

/* many_fire - check (deadline, index) never goes down, nor fires early */
static void
many_fire(struct evloop *loop, uint64_t id, void *arg)
{
	struct many_arg *a = arg;
	struct many_ctx *c = a->ctx;
	int i = a->index;

	if (c->last >= 0 && (c->deadline[i] < c->deadline[c->last] ||
	    (c->deadline[i] == c->deadline[c->last] && i < c->last)))
		c->out_of_order++;
	if (evloop_now_ms(loop) < c->deadline[i])
		c->early++;
	c->fired[i]++;
	c->last = i;
	c->nfired++;
}

START_TEST(many_random_timers_fire_in_heap_order)
{
	struct evloop *loop = evloop_new();
	struct many_ctx *c = calloc(1, sizeof(*c));
	struct many_arg *args = calloc(MANY, sizeof(*args));
	uint64_t x = 0x9e3779b97f4a7c15u;	/* xorshift64 state */
	int i, want = 0;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(args);
	c->last = -1;
	for (i = 0; i < MANY; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		c->delay[i] = x % MANY_SPAN;
		args[i].ctx = c;
		args[i].index = i;
		c->id[i] = evloop_timer_add(loop, c->delay[i], many_fire,
		    &args[i]);
		ck_assert_uint_ne(c->id[i], 0);
		/* Outside a round the add takes the time afresh. */
		c->deadline[i] = evloop_now_ms(loop) + c->delay[i];
	}
	/* Cancel every seventh, from all over the heap. */
	for (i = 0; i < MANY; i += 7) {
		ck_assert_int_eq(evloop_timer_cancel(loop, c->id[i]), 0);
		c->cancelled[i] = 1;
	}
	for (i = 0; i < MANY; i++)
		want += !c->cancelled[i];
	ck_assert_int_eq(evloop_timer_pending(loop), want);
	run_until(loop, &c->nfired, want);
	ck_assert_int_eq(c->out_of_order, 0);
	ck_assert_int_eq(c->early, 0);
	for (i = 0; i < MANY; i++)
		ck_assert_int_eq(c->fired[i], !c->cancelled[i]);
	ck_assert_int_eq(evloop_timer_pending(loop), 0);
	evloop_free(loop);
	free(args);
	free(c);
}
END_TEST

/* --- deferred calls --- */

#define TRACE_MAX	8

struct trace {
	char	 ev[TRACE_MAX];
	int	 n;
	int	 sv[2];
	struct evloop_io *io;
};

/* trace_add - note one event */
static void
trace_add(struct trace *t, char c)
{
	ck_assert_int_lt(t->n, TRACE_MAX);
	t->ev[t->n++] = c;
}

/* defer_one - deferred call 'd' */
static void
defer_one(struct evloop *loop, void *arg)
{
	trace_add(arg, 'd');
}

/* defer_two - deferred call 'e' */
static void
defer_two(struct evloop *loop, void *arg)
{
	trace_add(arg, 'e');
}

/* trace_io - fd callback: note, read the byte, defer two calls */
static void
trace_io(struct evloop *loop, int fd, int mask, void *arg)
{
	struct trace *t = arg;

	trace_add(t, 'i');
	drain(fd);
	ck_assert_int_eq(evloop_defer(loop, defer_one, t), 0);
	ck_assert_int_eq(evloop_defer(loop, defer_two, t), 0);
	trace_add(t, 'I');	/* the deferred calls have not run yet */
}

/* trace_timer - timer callback */
static void
trace_timer(struct evloop *loop, uint64_t id, void *arg)
{
	trace_add(arg, 't');
}

START_TEST(deferred_calls_run_after_fds_and_timers_in_order)
{
	struct evloop *loop = evloop_new();
	struct trace t;

	memset(&t, 0, sizeof(t));
	make_pair(t.sv);
	put(t.sv[1]);
	t.io = evloop_watch(loop, t.sv[0], EVLOOP_READ, trace_io, &t);
	ck_assert_uint_ne(evloop_timer_add(loop, 0, trace_timer, &t), 0);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 4);
	ck_assert_int_eq(t.n, 5);
	ck_assert_mem_eq(t.ev, "iItde", 5);
	evloop_free(loop);
	close_pair(t.sv);
}
END_TEST

struct chain_ctx {
	int	 first;
	int	 second;
};

/* chain_second - queued by chain_first */
static void
chain_second(struct evloop *loop, void *arg)
{
	struct chain_ctx *c = arg;

	c->second++;
}

/* chain_first - queue another deferred call */
static void
chain_first(struct evloop *loop, void *arg)
{
	struct chain_ctx *c = arg;

	c->first++;
	ck_assert_int_eq(evloop_defer(loop, chain_second, c), 0);
}

START_TEST(defer_from_deferred_call_runs_next_round_without_waiting)
{
	struct evloop *loop = evloop_new();
	struct chain_ctx c = { 0 };
	double start;

	ck_assert_int_eq(evloop_defer(loop, chain_first, &c), 0);
	ck_assert_int_eq(evloop_defer(loop, NULL, &c), -1);
	ck_assert_int_eq(errno, EINVAL);
	start = mono_ms();
	/* Endless timeouts: a pending deferred call must not wait. */
	ck_assert_int_eq(evloop_run_once(loop, -1), 1);
	ck_assert_int_eq(c.first, 1);
	ck_assert_int_eq(c.second, 0);
	ck_assert_int_eq(evloop_run_once(loop, -1), 1);
	ck_assert_int_eq(c.second, 1);
	ck_assert_double_lt(mono_ms() - start, 100.0);
	evloop_free(loop);
}
END_TEST

struct owned {
	struct evloop_io *io;
	int	*freed;
};

/* owned_free - deferred free of an object, unwatching its fd first */
static void
owned_free(struct evloop *loop, void *arg)
{
	struct owned *o = arg;

	evloop_unwatch(o->io);
	(*o->freed)++;
	free(o);
}

START_TEST(free_runs_pending_deferred_calls_and_frees_the_rest)
{
	struct evloop *loop = evloop_new();
	struct io_rec r = { 0 };
	struct owned *o = malloc(sizeof(*o));
	int freed = 0, sv[2], other[2];

	ck_assert_ptr_nonnull(o);
	make_pair(sv);
	make_pair(other);
	o->freed = &freed;
	o->io = evloop_watch(loop, sv[0], EVLOOP_READ, io_record, &r);
	ck_assert_ptr_nonnull(o->io);
	/* Left for evloop_free: a watcher, a timer, a deferred call. */
	ck_assert_ptr_nonnull(evloop_watch(loop, other[0], EVLOOP_WRITE,
	    io_record, &r));
	ck_assert_uint_ne(evloop_timer_add(loop, 10000, delay_fire, NULL), 0);
	ck_assert_int_eq(evloop_defer(loop, owned_free, o), 0);
	evloop_free(loop);	/* ASan/LSan: no leak, no double free */
	ck_assert_int_eq(freed, 1);
	ck_assert_int_eq(r.calls, 0);
	evloop_free(NULL);
	close_pair(sv);
	close_pair(other);
}
END_TEST

/* --- signals --- */

struct sig_ctx {
	int	 usr1;
	int	 usr2;
	int	 other;
};

/* sig_count - count the signals by number */
static void
sig_count(struct evloop *loop, int signo, void *arg)
{
	struct sig_ctx *c = arg;

	if (signo == SIGUSR1)
		c->usr1++;
	else if (signo == SIGUSR2)
		c->usr2++;
	else
		c->other++;
}

START_TEST(raised_signal_calls_its_callback)
{
	struct evloop *loop = evloop_new();
	struct sig_ctx c = { 0 };

	ck_assert_int_eq(evloop_signal(loop, SIGUSR1, sig_count, &c), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);	/* blocked: stays pending */
	run_until(loop, &c.usr1, 1);
	ck_assert_int_eq(c.usr1, 1);
	ck_assert_int_eq(evloop_run_once(loop, 10), 0);
	ck_assert_int_eq(c.usr1, 1);
	evloop_free(loop);
}
END_TEST

START_TEST(two_signals_share_one_signalfd)
{
	struct evloop *loop = evloop_new();
	struct sig_ctx c = { 0 };

	ck_assert_int_eq(evloop_signal(loop, SIGUSR1, sig_count, &c), 0);
	ck_assert_int_eq(evloop_signal(loop, SIGUSR2, sig_count, &c), 0);
	ck_assert_int_eq(raise(SIGUSR2), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	run_until(loop, &c.usr2, 1);
	run_until(loop, &c.usr1, 1);
	ck_assert_int_eq(c.other, 0);
	/* Replacing a registration does not add a second watcher. */
	ck_assert_int_eq(evloop_signal(loop, SIGUSR1, sig_count, &c), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	run_until(loop, &c.usr1, 2);
	ck_assert_int_eq(c.usr2, 1);
	evloop_free(loop);
}
END_TEST

START_TEST(signal_that_cannot_be_caught_is_einval)
{
	struct evloop *loop = evloop_new();
	struct sig_ctx c = { 0 };

	ck_assert_int_eq(evloop_signal(loop, SIGKILL, sig_count, &c), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(evloop_signal(loop, 0, sig_count, &c), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(evloop_signal(loop, 100000, sig_count, &c), -1);
	ck_assert_int_eq(errno, EINVAL);
	evloop_free(loop);
}
END_TEST

/* --- run and stop --- */

/* stop_fire - timer callback that stops the loop */
static void
stop_fire(struct evloop *loop, uint64_t id, void *arg)
{
	int *calls = arg;

	(*calls)++;
	evloop_stop(loop);
}

START_TEST(run_returns_after_stop_from_a_timer_and_can_run_again)
{
	struct evloop *loop = evloop_new();
	int calls = 0;

	ck_assert_uint_ne(evloop_timer_add(loop, 5, stop_fire, &calls), 0);
	ck_assert_int_eq(evloop_run(loop), 0);
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_ne(evloop_timer_add(loop, 1, stop_fire, &calls), 0);
	ck_assert_int_eq(evloop_run(loop), 0);
	ck_assert_int_eq(calls, 2);
	evloop_free(loop);
}
END_TEST

START_TEST(run_returns_after_stop_from_an_fd_callback)
{
	struct evloop *loop = evloop_new();
	struct io_rec r = { 0 };
	int sv[2];

	make_pair(sv);
	r.stop = 1;
	r.io = evloop_watch(loop, sv[0], EVLOOP_WRITE, io_record, &r);
	ck_assert_int_eq(evloop_run(loop), 0);
	ck_assert_int_eq(r.calls, 1);
	evloop_free(loop);
	close_pair(sv);
}
END_TEST

struct nest_ctx {
	int	 rc;
	int	 err;
	uint64_t now[2];
	int	 n;
};

/* nest_io - try a nested round; note the round's time */
static void
nest_io(struct evloop *loop, int fd, int mask, void *arg)
{
	struct nest_ctx *c = arg;
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	c->rc = evloop_run_once(loop, 0);
	c->err = errno;
	c->now[c->n++] = evloop_now_ms(loop);
	nanosleep(&ts, NULL);	/* the clock moves, the round's time not */
}

START_TEST(round_time_is_cached_and_rounds_do_not_nest)
{
	struct evloop *loop = evloop_new();
	struct nest_ctx c = { 0 };
	int a[2], b[2];
	uint64_t before;

	make_pair(a);
	make_pair(b);
	ck_assert_ptr_nonnull(evloop_watch(loop, a[0], EVLOOP_WRITE, nest_io,
	    &c));
	ck_assert_ptr_nonnull(evloop_watch(loop, b[0], EVLOOP_WRITE, nest_io,
	    &c));
	before = evloop_now_ms(loop);
	ck_assert_int_eq(evloop_run_once(loop, 1000), 2);
	ck_assert_int_eq(c.rc, -1);
	ck_assert_int_eq(c.err, EBUSY);
	ck_assert_uint_eq(c.now[0], c.now[1]);
	ck_assert_uint_ge(c.now[0], before);
	ck_assert_uint_eq(evloop_now_ms(loop), c.now[0]);
	evloop_free(loop);
	close_pair(a);
	close_pair(b);
}
END_TEST

/* evloop_suite - every evloop test */
static Suite *
evloop_suite(void)
{
	Suite *s = suite_create("evloop");
	TCase *tc;

	tc = tcase_create("io");
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, read_callback_fires_when_peer_writes);
	tcase_add_test(tc, unread_data_fires_every_round_until_drained);
	tcase_add_test(tc, write_interest_waits_for_room_in_full_buffer);
	tcase_add_test(tc, modify_from_read_to_write_changes_what_fires);
	tcase_add_test(tc, mask_zero_parks_a_hung_up_socket);
	tcase_add_test(tc, hangup_reports_every_watched_direction);
	tcase_add_test(tc, unwatch_self_inside_callback_stops_calls);
	tcase_add_test(tc,
	    unwatch_other_fd_with_pending_event_skips_its_callback);
	tcase_add_test(tc, stale_event_is_not_delivered_to_a_reused_fd_number);
	tcase_add_loop_test(tc, test_watch_error_case, 0,
	    (int)(sizeof(watch_error_cases) / sizeof(watch_error_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("timer");
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, timers_fire_in_deadline_order_ties_in_add_order);
	tcase_add_test(tc, timer_waits_its_delay_and_bounds_the_wait);
	tcase_add_test(tc, cancelled_timer_never_fires);
	tcase_add_test(tc, cancel_from_another_timers_callback_in_same_round);
	tcase_add_test(tc, timer_readded_from_callback_fires_next_round);
	tcase_add_test(tc, many_random_timers_fire_in_heap_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("defer");
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, deferred_calls_run_after_fds_and_timers_in_order);
	tcase_add_test(tc,
	    defer_from_deferred_call_runs_next_round_without_waiting);
	tcase_add_test(tc, free_runs_pending_deferred_calls_and_frees_the_rest);
	suite_add_tcase(s, tc);

	tc = tcase_create("signal");
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, raised_signal_calls_its_callback);
	tcase_add_test(tc, two_signals_share_one_signalfd);
	tcase_add_test(tc, signal_that_cannot_be_caught_is_einval);
	suite_add_tcase(s, tc);

	tc = tcase_create("run");
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, run_returns_after_stop_from_a_timer_and_can_run_again);
	tcase_add_test(tc, run_returns_after_stop_from_an_fd_callback);
	tcase_add_test(tc, round_time_is_cached_and_rounds_do_not_nest);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the evloop suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(evloop_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
