/*
 * daemon - the connector's one context and its main loop: wiring.
 *
 * struct imc_daemon is the only mutable state of the process: the
 * configuration, a descriptor for every folder of the tree, the tracking
 * log, the store, intake, the queue context handed to the queue modules
 * (queue/qctx.h), the batch in hand, and the SMTP side (the Out/ queue,
 * destinations with their connections, DNS). The daemon itself only wires
 * them: the Out/ queue submits jobs to the destinations and gets their
 * results through callback tables, settled entries and new Out/ entries
 * come back through the queue context, and no module calls up into it.
 *
 * The loop is the one evloop: inotify (Pickup), signals, DNS and SMTP
 * sockets, and timers for everything that has a due time (rescans, the
 * In/ runner, files still being written, held Work files, Out/ entries,
 * settled entries waiting for a batch). Work is done in batches
 * (queue/batch.h): claimed files and settled entries are committed
 * together under one barrier. A crash anywhere is redone at the next
 * start (queue/recover.h) without loss or duplicates.
 */
#ifndef IMC_DAEMON_H
#define IMC_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "layout.h"
#include "qctx.h"
#include "smtpd.h"
#include "tracklog.h"

#define DAEMON_BATCH	2048

struct batch;
struct evloop;
struct intake;
struct maildir_store;
struct outdest;
struct outq;
struct protolog;

struct imc_daemon {
	struct imc_config cfg;
	bool		 once;
	int		 dir[LAYOUT_NDIRS];
	int		 lock_fd;	/* Log/imc-connector.lock, held */
	struct tracklog	*track;
	struct maildir_store *store;
	struct intake	*intake;
	struct qctx	 q;		/* what the queue modules get */
	struct batch	*batch;
	struct imc_stats stats;
	bool		 wrote_pid;	/* Log/imc-connector.pid is ours */
	/* loop */
	struct evloop	*loop;
	int		 inotify_fd;
	bool		 stop;
	time_t		 stop_deadline;	/* give up on sessions in hand */
	uint64_t	 rescan_timer, retry_timer, held_timer, inq_timer,
			 out_timer, settled_timer, prune_timer, metrics_timer,
			 tail_timer;
	/* SMTP delivery */
	struct outq	*outq;
	struct outdest	*dests;
	/* SIGHUP: a reload waits for the top of the loop, where no module
	 * holds a step in hand. Configurations replaced by a reload stay
	 * allocated until exit: work in hand (routes, connections) may still
	 * point into them. */
	bool		 reload;
	bool		 debug;		/* --debug: log_level is not followed */
	bool		 notify_failed;	/* NOTIFY_SOCKET: said once */
	struct imc_config **retired;
	size_t		 n_retired;
	/* SMTP listener */
	struct smtpd_listeners listeners;	/* bound before the drop */
	struct smtpd	*smtpd;
	struct protolog	*smtpd_log;	/* Log/smtpd-YYYYMMDD.log */
};

/* Load and check a configuration as the daemon would start with it
 * (root without "user" refused, user and group known): 0, or -1 with
 * "FILE:LINE: why" in err (exit 78). cfg is the caller's to config_free. */
int	daemon_check_config(struct imc_config *, const char *config_path,
	    struct buf *err);
/* debug: --debug, the log level log_level would set is not taken */
int	daemon_init(struct imc_daemon *, const char *config_path, bool once,
	    bool debug, struct buf *err);
int	daemon_run(struct imc_daemon *);
void	daemon_fini(struct imc_daemon *);

#endif
