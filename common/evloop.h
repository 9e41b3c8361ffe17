/*
 * evloop - the one single-threaded event loop: level-triggered epoll, a
 * timer heap on CLOCK_MONOTONIC, signals through one signalfd, and a list
 * of calls deferred to the end of a round.
 *
 * A round (evloop_run_once) is: wait in epoll_wait until an fd is ready,
 * the earliest timer is due, or the caller's timeout ends (no wait at all
 * while deferred calls are pending); take the time once (evloop_now_ms);
 * call the fd callbacks of that wait; call the timers that are due; call
 * the deferred calls that were queued before they started. evloop_run
 * repeats rounds until evloop_stop (a stop before evloop_run makes it
 * return at once); the loop can be run again afterwards.
 *
 * What it does not do: no threads, no edge triggering (a callback that
 * leaves data unread is called again next round), no reading or writing
 * of the fds, no closing of them. One watcher per fd; mask 0 parks a
 * watcher (the fd leaves epoll, so a hung-up socket does not spin).
 *
 * Ownership. The loop owns the watcher handles it returns: a handle is
 * valid until evloop_unwatch, which may be called from any callback,
 * also for the fd whose callback is running, and guarantees that the
 * callback is not called again, not even for an event already returned
 * by the same epoll_wait. Unwatch before close(2). Callback arguments
 * are the caller's; the loop never frees them. Timer ids are never 0 and
 * are not reused while a timer is pending (a stale id cancels nothing,
 * unless its slot has been reused 2^32 times). Timers are one-shot; a
 * callback may add again. Delays count from evloop_now_ms: inside a round
 * that is the round's time, outside one the time is taken afresh.
 * evloop_free runs the deferred calls still queued (they typically free
 * objects), then frees the watchers, timers and signal registrations
 * without calling them and without closing the callers' fds. It must not
 * be called from inside a callback.
 *
 * Signals: evloop_signal blocks the signal in the process mask and reads
 * it from the loop's signalfd; the signal stays blocked after evloop_free
 * (unblocking could deliver a pending one with its default action). Use
 * one loop per process for signals.
 *
 * Errors: 0 or a handle/id on success; -1, NULL or 0 with errno set.
 */
#ifndef IMC_EVLOOP_H
#define IMC_EVLOOP_H

#include <stdint.h>

#define EVLOOP_READ	0x1
#define EVLOOP_WRITE	0x2

struct evloop;
struct evloop_io;

/* fd ready: mask is the subset of the watched mask that is ready; an
 * error or hang-up on the fd reports every watched direction. */
typedef void evloop_io_fn(struct evloop *, int fd, int mask, void *arg);
/* the timer id is no longer pending when the callback runs */
typedef void evloop_timer_fn(struct evloop *, uint64_t id, void *arg);
typedef void evloop_signal_fn(struct evloop *, int signo, void *arg);
typedef void evloop_defer_fn(struct evloop *, void *arg);

struct evloop *evloop_new(void);
void	evloop_free(struct evloop *);
int	evloop_run(struct evloop *);
int	evloop_run_once(struct evloop *, int timeout_ms);
void	evloop_stop(struct evloop *);
uint64_t evloop_now_ms(const struct evloop *);

struct evloop_io *evloop_watch(struct evloop *, int fd, int mask,
	    evloop_io_fn *, void *arg);
int	evloop_modify(struct evloop_io *, int mask);
int	evloop_mask(const struct evloop_io *);
int	evloop_fd(const struct evloop_io *);
void	evloop_unwatch(struct evloop_io *);

uint64_t evloop_timer_add(struct evloop *, uint64_t ms, evloop_timer_fn *,
	    void *arg);
int	evloop_timer_cancel(struct evloop *, uint64_t id);
int	evloop_timer_pending(const struct evloop *);
int	evloop_timer_next_ms(const struct evloop *);

int	evloop_defer(struct evloop *, evloop_defer_fn *, void *arg);
int	evloop_signal(struct evloop *, int signo, evloop_signal_fn *,
	    void *arg);

#endif
