/*
 * evloop - the one event loop (see evloop.h).
 *
 * Watchers. Each watched fd has a struct evloop_io, which epoll carries in
 * data.ptr. Unwatching during a round cannot free the struct at once: the
 * events array of the current epoll_wait may still hold its pointer. So
 * evloop_unwatch takes the fd out of epoll, marks the struct dead, and
 * moves it to a graveyard list that is freed when the round ends; the
 * dispatcher skips dead watchers. Outside a round there is no events
 * array, and the struct is freed at once. A new watcher for a reused fd
 * number is a new struct, so a stale event can never reach it.
 *
 * Timers. Pending timers live in a slot table; a binary min-heap of slot
 * numbers orders them by (deadline, sequence number), so equal deadlines
 * fire in the order they were added. An id is the slot number in the low
 * 32 bits and the slot's generation in the high 32; the generation moves
 * on when the slot is freed, so an old id no longer matches. A timer is
 * taken out of the heap before its callback runs, which makes cancel of
 * the running timer a harmless ENOENT and lets the callback add again.
 * Timers added during the timer pass of a round (sequence number at or
 * past the pass's limit) wait for the next round, so a callback that adds
 * a 0 ms timer cannot starve the fds.
 *
 * Deferred calls are a FIFO list; a round runs the calls queued before it
 * started running them, calls queued by those wait for the next round,
 * and epoll_wait does not block while any are queued.
 */
#include "evloop.h"
#include "monoclock.h"

#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

#define EVLOOP_MAXEVENTS	64
#define TIMER_NOT_PENDING	UINT32_MAX
#define TIMER_MAX_SLOTS		(UINT32_MAX / 2)	/* 2 * i + 2 fits */

struct evloop_io {
	struct evloop	*loop;
	int		 fd;
	int		 mask;		/* EVLOOP_READ | EVLOOP_WRITE */
	int		 in_epoll;	/* registered (mask != 0) */
	int		 dead;		/* unwatched, waits for the round's end */
	evloop_io_fn	*cb;
	void		*arg;
	TAILQ_ENTRY(evloop_io) link;
};
TAILQ_HEAD(evloop_io_list, evloop_io);

struct evloop_timer {
	uint64_t	 deadline;	/* ms on the loop's clock */
	uint64_t	 seq;		/* tie-break: order of adding */
	evloop_timer_fn	*cb;
	void		*arg;
	uint32_t	 gen;		/* never 0 */
	uint32_t	 heap_idx;	/* TIMER_NOT_PENDING when free */
	uint32_t	 next_free;	/* free list, when free */
};

struct evloop_defer {
	evloop_defer_fn	*fn;
	void		*arg;
	STAILQ_ENTRY(evloop_defer) link;
};
STAILQ_HEAD(evloop_defer_list, evloop_defer);

struct evloop_sig {
	evloop_signal_fn *cb;
	void		*arg;
};

struct evloop {
	int		 epfd;
	int		 in_round;
	int		 stop;
	uint64_t	 now;
	struct evloop_io_list ios;	/* live watchers */
	struct evloop_io_list graveyard; /* unwatched during this round */
	struct epoll_event events[EVLOOP_MAXEVENTS];

	struct evloop_timer *timers;	/* slot table */
	uint32_t	*heap;		/* slot numbers, min-heap */
	uint32_t	 ntimers;	/* heap size = pending timers */
	uint32_t	 timer_cap;	/* slots allocated (heap has as many) */
	uint32_t	 free_slot;	/* head of free slot list */
	uint64_t	 timer_seq;

	struct evloop_defer_list defers;

	int		 sigfd;		/* -1 until the first signal */
	struct evloop_io *sigio;
	sigset_t	 sigset;
	struct evloop_sig sigs[_NSIG];
};

/* evloop_new - empty loop with its epoll instance */
struct evloop *
evloop_new(void)
{
	struct evloop *loop;

	loop = xcalloc(1, sizeof(*loop));
	if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(loop);
		return NULL;
	}
	TAILQ_INIT(&loop->ios);
	TAILQ_INIT(&loop->graveyard);
	STAILQ_INIT(&loop->defers);
	loop->free_slot = TIMER_NOT_PENDING;
	loop->sigfd = -1;
	sigemptyset(&loop->sigset);
	loop->now = (uint64_t)monoclock_ms();
	return loop;
}

/* run_defers - run the deferred calls queued now; returns how many */
static int
run_defers(struct evloop *loop)
{
	struct evloop_defer_list batch;
	struct evloop_defer *d;
	int n = 0;

	STAILQ_INIT(&batch);
	STAILQ_CONCAT(&batch, &loop->defers);
	while ((d = STAILQ_FIRST(&batch)) != NULL) {
		STAILQ_REMOVE_HEAD(&batch, link);
		d->fn(loop, d->arg);
		free(d);
		n++;
	}
	return n;
}

/* bury - free the watchers unwatched during the round */
static void
bury(struct evloop *loop)
{
	struct evloop_io *io;

	while ((io = TAILQ_FIRST(&loop->graveyard)) != NULL) {
		TAILQ_REMOVE(&loop->graveyard, io, link);
		free(io);
	}
}

/* evloop_free - run queued deferred calls, then free everything */
void
evloop_free(struct evloop *loop)
{
	struct evloop_io *io;

	if (loop == NULL)
		return;
	/* Deferred calls usually free objects: run them, and what they
	 * queue in turn, with unwatch deferring its frees as in a round. */
	loop->in_round = 1;
	while (!STAILQ_EMPTY(&loop->defers))
		run_defers(loop);
	loop->in_round = 0;
	bury(loop);
	while ((io = TAILQ_FIRST(&loop->ios)) != NULL) {
		TAILQ_REMOVE(&loop->ios, io, link);
		free(io);
	}
	if (loop->sigfd != -1)
		close(loop->sigfd);
	close(loop->epfd);
	free(loop->timers);
	free(loop->heap);
	free(loop);
}

/* evloop_now_ms - the time of the current round, CLOCK_MONOTONIC ms */
uint64_t
evloop_now_ms(const struct evloop *loop)
{
	return loop->now;
}

/* evloop_stop - make evloop_run return after the current round */
void
evloop_stop(struct evloop *loop)
{
	loop->stop = 1;
}

/* io_events - the epoll event bits for an EVLOOP mask */
static uint32_t
io_events(int mask)
{
	uint32_t ev = 0;

	if (mask & EVLOOP_READ)
		ev |= EPOLLIN;
	if (mask & EVLOOP_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

/* io_apply - bring the epoll registration in line with mask */
static int
io_apply(struct evloop_io *io, int mask)
{
	struct epoll_event ev;
	int op;

	if (mask == 0) {
		/* Parked: out of epoll, so EPOLLHUP cannot spin the loop. */
		if (io->in_epoll &&
		    epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) == -1 &&
		    errno != EBADF && errno != ENOENT)
			return -1;
		io->in_epoll = 0;
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = io_events(mask);
	ev.data.ptr = io;
	op = io->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(io->loop->epfd, op, io->fd, &ev) == -1)
		return -1;
	io->in_epoll = 1;
	return 0;
}

/* evloop_watch - call cb when fd is ready for mask; the handle or NULL */
struct evloop_io *
evloop_watch(struct evloop *loop, int fd, int mask, evloop_io_fn *cb,
    void *arg)
{
	struct evloop_io *io;

	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	if ((mask & ~(EVLOOP_READ | EVLOOP_WRITE)) != 0 || cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	io = xcalloc(1, sizeof(*io));
	io->loop = loop;
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	if (io_apply(io, mask) == -1) {
		int saved = errno;

		free(io);
		errno = saved;
		return NULL;
	}
	io->mask = mask;
	TAILQ_INSERT_TAIL(&loop->ios, io, link);
	return io;
}

/* evloop_modify - change the interest of a watcher (0 parks it) */
int
evloop_modify(struct evloop_io *io, int mask)
{
	if (io == NULL || io->dead ||
	    (mask & ~(EVLOOP_READ | EVLOOP_WRITE)) != 0) {
		errno = EINVAL;
		return -1;
	}
	if (mask == io->mask)
		return 0;
	if (io_apply(io, mask) == -1)
		return -1;
	io->mask = mask;
	return 0;
}

/* evloop_mask - the interest of a watcher */
int
evloop_mask(const struct evloop_io *io)
{
	return io->mask;
}

/* evloop_fd - the fd of a watcher */
int
evloop_fd(const struct evloop_io *io)
{
	return io->fd;
}

/* evloop_unwatch - stop watching; no callback for it after this call */
void
evloop_unwatch(struct evloop_io *io)
{
	struct evloop *loop;
	int saved = errno;

	if (io == NULL || io->dead)
		return;
	loop = io->loop;
	/* Errors are ignored: the fd may already be closed (EBADF), and
	 * the watcher is gone either way. */
	(void)io_apply(io, 0);
	io->dead = 1;
	io->mask = 0;
	TAILQ_REMOVE(&loop->ios, io, link);
	if (loop->in_round)
		TAILQ_INSERT_TAIL(&loop->graveyard, io, link);
	else
		free(io);
	errno = saved;
}

/* timer_before - heap order: earlier deadline, then earlier add */
static int
timer_before(const struct evloop *loop, uint32_t a, uint32_t b)
{
	const struct evloop_timer *ta = &loop->timers[a], *tb = &loop->timers[b];

	if (ta->deadline != tb->deadline)
		return ta->deadline < tb->deadline;
	return ta->seq < tb->seq;
}

/* heap_set - put slot at heap position i */
static void
heap_set(struct evloop *loop, uint32_t i, uint32_t slot)
{
	loop->heap[i] = slot;
	loop->timers[slot].heap_idx = i;
}

/* heap_up - move the entry at i toward the root while it is earlier */
static void
heap_up(struct evloop *loop, uint32_t i)
{
	uint32_t slot = loop->heap[i], parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!timer_before(loop, slot, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, slot);
}

/* heap_down - move the entry at i toward the leaves while it is later */
static void
heap_down(struct evloop *loop, uint32_t i)
{
	uint32_t slot = loop->heap[i], child, n = loop->ntimers;

	for (;;) {
		child = 2 * i + 1;
		if (child >= n)
			break;
		if (child + 1 < n &&
		    timer_before(loop, loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timer_before(loop, loop->heap[child], slot))
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, slot);
}

/* heap_remove - take heap position i out, keeping the heap order */
static void
heap_remove(struct evloop *loop, uint32_t i)
{
	uint32_t last;

	loop->ntimers--;
	if (i == loop->ntimers)
		return;
	last = loop->heap[loop->ntimers];
	heap_set(loop, i, last);
	if (i > 0 && timer_before(loop, last, loop->heap[(i - 1) / 2]))
		heap_up(loop, i);
	else
		heap_down(loop, i);
}

/* timer_release - return a slot to the free list; old ids stop matching */
static void
timer_release(struct evloop *loop, uint32_t slot)
{
	struct evloop_timer *t = &loop->timers[slot];

	t->heap_idx = TIMER_NOT_PENDING;
	t->cb = NULL;
	t->arg = NULL;
	if (++t->gen == 0)
		t->gen = 1;
	t->next_free = loop->free_slot;
	loop->free_slot = slot;
}

/* timer_grow - double the slot table and the heap */
static int
timer_grow(struct evloop *loop)
{
	struct evloop_timer *nt;
	uint32_t ncap, i;

	if (loop->timer_cap >= TIMER_MAX_SLOTS) {
		errno = ENOMEM;
		return -1;
	}
	ncap = loop->timer_cap == 0 ? 16 :
	    (loop->timer_cap > TIMER_MAX_SLOTS / 2 ? TIMER_MAX_SLOTS :
	    loop->timer_cap * 2);
	nt = loop->timers = xreallocarray(loop->timers, ncap, sizeof(*nt));
	loop->heap = xreallocarray(loop->heap, ncap, sizeof(*loop->heap));
	/* New slots go on the free list, lowest number first. */
	for (i = ncap; i-- > loop->timer_cap;) {
		nt[i].gen = 1;
		nt[i].heap_idx = TIMER_NOT_PENDING;
		nt[i].cb = NULL;
		nt[i].arg = NULL;
		nt[i].next_free = loop->free_slot;
		loop->free_slot = i;
	}
	loop->timer_cap = ncap;
	return 0;
}

/* evloop_timer_add - call cb once, ms from now; the id, or 0 */
uint64_t
evloop_timer_add(struct evloop *loop, uint64_t ms, evloop_timer_fn *cb,
    void *arg)
{
	struct evloop_timer *t;
	uint32_t slot;

	if (cb == NULL) {
		errno = EINVAL;
		return 0;
	}
	if (loop->free_slot == TIMER_NOT_PENDING && timer_grow(loop) == -1)
		return 0;
	/* Inside a round delays count from the round's time, so timers
	 * added together stay together; outside, the cached time may be
	 * old (start-up work), and the timer would fire early. */
	if (!loop->in_round)
		loop->now = (uint64_t)monoclock_ms();
	slot = loop->free_slot;
	t = &loop->timers[slot];
	loop->free_slot = t->next_free;
	t->deadline = ms > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + ms;
	t->seq = loop->timer_seq++;
	t->cb = cb;
	t->arg = arg;
	loop->heap[loop->ntimers] = slot;
	t->heap_idx = loop->ntimers++;
	heap_up(loop, t->heap_idx);
	return (uint64_t)t->gen << 32 | slot;
}

/* evloop_timer_cancel - forget a pending timer; -1 ENOENT if not pending */
int
evloop_timer_cancel(struct evloop *loop, uint64_t id)
{
	uint32_t slot = (uint32_t)(id & UINT32_MAX), gen = (uint32_t)(id >> 32);

	if (gen == 0 || slot >= loop->timer_cap ||
	    loop->timers[slot].gen != gen ||
	    loop->timers[slot].heap_idx == TIMER_NOT_PENDING) {
		errno = ENOENT;
		return -1;
	}
	heap_remove(loop, loop->timers[slot].heap_idx);
	timer_release(loop, slot);
	return 0;
}

/* evloop_timer_pending - how many timers wait to fire */
int
evloop_timer_pending(const struct evloop *loop)
{
	return loop->ntimers > INT_MAX ? INT_MAX : (int)loop->ntimers;
}

/* evloop_timer_next_ms - ms from now until the earliest timer; -1 none */
int
evloop_timer_next_ms(const struct evloop *loop)
{
	uint64_t deadline, now;

	if (loop->ntimers == 0)
		return -1;
	deadline = loop->timers[loop->heap[0]].deadline;
	now = (uint64_t)monoclock_ms();
	if (deadline <= now)
		return 0;
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

/* run_timers - fire the timers due at the round's time; returns how many */
static int
run_timers(struct evloop *loop)
{
	uint64_t limit = loop->timer_seq;
	struct evloop_timer *t;
	evloop_timer_fn *cb;
	uint32_t slot;
	uint64_t id;
	void *arg;
	int n = 0;

	while (loop->ntimers > 0) {
		slot = loop->heap[0];
		t = &loop->timers[slot];
		if (t->deadline > loop->now || t->seq >= limit)
			break;
		cb = t->cb;
		arg = t->arg;
		id = (uint64_t)t->gen << 32 | slot;
		heap_remove(loop, 0);
		timer_release(loop, slot);
		cb(loop, id, arg);	/* may grow loop->timers: t is stale */
		n++;
	}
	return n;
}

/* dispatch - call the watchers of the events epoll returned */
static int
dispatch(struct evloop *loop, int nev)
{
	struct evloop_io *io;
	uint32_t ev;
	int i, mask, n = 0;

	for (i = 0; i < nev; i++) {
		io = loop->events[i].data.ptr;
		ev = loop->events[i].events;
		if (io->dead)
			continue;	/* unwatched earlier in this round */
		mask = 0;
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			mask |= EVLOOP_READ;
		if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			mask |= EVLOOP_WRITE;
		/* The interest may have changed earlier in this round. */
		mask &= io->mask;
		if (mask == 0)
			continue;
		io->cb(loop, io->fd, mask, io->arg);
		n++;
	}
	return n;
}

/* evloop_run_once - one round; timeout_ms -1 waits as long as needed.
 * Returns the number of callbacks called, or -1 */
int
evloop_run_once(struct evloop *loop, int timeout_ms)
{
	int nev, n, timeout, next;

	if (loop->in_round) {
		errno = EBUSY;	/* no nested rounds */
		return -1;
	}
	timeout = timeout_ms < 0 ? -1 : timeout_ms;
	if (!STAILQ_EMPTY(&loop->defers))
		timeout = 0;
	else if ((next = evloop_timer_next_ms(loop)) >= 0 &&
	    (timeout < 0 || next < timeout))
		timeout = next;

	nev = epoll_wait(loop->epfd, loop->events, EVLOOP_MAXEVENTS, timeout);
	if (nev == -1) {
		if (errno != EINTR)
			return -1;
		nev = 0;
	}
	loop->now = (uint64_t)monoclock_ms();
	loop->in_round = 1;
	n = dispatch(loop, nev);
	n += run_timers(loop);
	n += run_defers(loop);
	loop->in_round = 0;
	bury(loop);
	return n;
}

/* evloop_run - run rounds until evloop_stop; 0, or -1 on a wait error */
int
evloop_run(struct evloop *loop)
{
	int rc = 0;

	while (!loop->stop) {
		if (evloop_run_once(loop, -1) == -1) {
			rc = -1;
			break;
		}
	}
	loop->stop = 0;
	return rc;
}

/* evloop_defer - call fn(loop, arg) at the end of the round */
int
evloop_defer(struct evloop *loop, evloop_defer_fn *fn, void *arg)
{
	struct evloop_defer *d;

	if (fn == NULL) {
		errno = EINVAL;
		return -1;
	}
	d = xmalloc(sizeof(*d));
	d->fn = fn;
	d->arg = arg;
	STAILQ_INSERT_TAIL(&loop->defers, d, link);
	return 0;
}

/* sig_read - read every queued signal from the signalfd and dispatch */
static void
sig_read(struct evloop *loop, int fd, int mask, void *arg)
{
	struct signalfd_siginfo si[8];
	struct evloop_sig *s;
	ssize_t r;
	size_t i;

	for (;;) {
		r = read(fd, si, sizeof(si));
		if (r <= 0)
			return;	/* EAGAIN: drained; EINTR: next round */
		for (i = 0; i < (size_t)r / sizeof(si[0]); i++) {
			if (si[i].ssi_signo >= _NSIG)
				continue;
			s = &loop->sigs[si[i].ssi_signo];
			if (s->cb != NULL)
				s->cb(loop, (int)si[i].ssi_signo, s->arg);
		}
	}
}

/* evloop_signal - deliver signo through the loop (cb NULL: ignore it) */
int
evloop_signal(struct evloop *loop, int signo, evloop_signal_fn *cb,
    void *arg)
{
	sigset_t set, block;
	int fd;

	if (signo <= 0 || signo >= _NSIG || signo == SIGKILL ||
	    signo == SIGSTOP) {
		errno = EINVAL;
		return -1;
	}
	set = loop->sigset;
	if (sigaddset(&set, signo) == -1)
		return -1;
	if ((fd = signalfd(loop->sigfd, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return -1;
	if (loop->sigfd == -1) {
		loop->sigio = evloop_watch(loop, fd, EVLOOP_READ, sig_read, NULL);
		if (loop->sigio == NULL) {
			int saved = errno;

			close(fd);
			errno = saved;
			return -1;
		}
		loop->sigfd = fd;
	}
	/* Blocked, the signal stays pending until the signalfd read. */
	sigemptyset(&block);
	sigaddset(&block, signo);
	if (sigprocmask(SIG_BLOCK, &block, NULL) == -1)
		return -1;
	loop->sigset = set;
	loop->sigs[signo].cb = cb;
	loop->sigs[signo].arg = arg;
	return 0;
}
