/*
 * daemon - the connector's one context and its main loop.
 *
 * struct imc_daemon is the only mutable state of the process: the
 * configuration, a descriptor for every folder of the tree, the tracking
 * log, the store, intake's lists, and the SMTP side (Out/ queue,
 * destinations with their connections, DNS). The loop is the one evloop:
 * inotify (Pickup), signals, DNS and SMTP sockets, and their timers; the
 * rescan and queue-run deadlines are checked between its rounds.
 * Work is done in batches: claim up to DAEMON_BATCH files, commit their
 * queue entries, one filesystem barrier, hand the local ones to the store,
 * a second barrier, then drop what is finished. A crash anywhere is redone
 * at the next start (queue_recover) without loss or duplicates.
 */
#ifndef IMC_DAEMON_H
#define IMC_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "layout.h"
#include "strset.h"
#include "tracklog.h"

#define DAEMON_BATCH	256

struct maildir_store;
struct evloop;
struct outq;
struct outdest;

struct daemon_stats {
	uint64_t	picked_up;
	uint64_t	archived;
	uint64_t	delivered;	/* recipients */
	uint64_t	deferred;	/* recipient attempts */
	uint64_t	failed;		/* recipients */
	uint64_t	barriers;	/* filesystem syncs */
};

struct imc_daemon {
	struct imc_config cfg;
	bool		 once;
	int		 dir[LAYOUT_NDIRS];
	int		 lock_fd;	/* Log/imc-connector.lock, held */
	struct tracklog	*track;
	struct maildir_store *store;
	/* intake */
	char		**pending;	/* Pickup names waiting, FIFO */
	size_t		 n_pending;
	size_t		 cap_pending;
	size_t		 head_pending;
	struct strset	 pending_set;
	struct strset	 reported;	/* files already logged as skipped */
	struct strset	 events;	/* names an inotify close/move reported */
	bool		 rescan_due;
	bool		 flush_due;	/* SIGUSR1: apply requests in Log/ */
	bool		 wrote_pid;	/* Log/imc-connector.pid is ours */
	time_t		 settle_retry;	/* earliest time a waiting file settles */
	/* loop */
	struct evloop	*loop;
	int		 inotify_fd;
	bool		 stop;
	time_t		 stop_deadline;	/* give up on sessions in hand */
	/* SMTP delivery */
	struct outq	*outq;
	struct outdest	*dests;
	time_t		 next_rescan;
	time_t		 next_queue_run;
	struct daemon_stats stats;
};

int	daemon_init(struct imc_daemon *, const char *config_path, bool once,
	    struct buf *err);
int	daemon_run(struct imc_daemon *);
void	daemon_fini(struct imc_daemon *);

#endif
