/*
 * metrics - Log/metrics.prom, the connector's numbers in the Prometheus
 * text format, for node_exporter's textfile collector.
 *
 * The daemon fills a struct metrics (metrics_scan counts the folders and
 * finds the oldest queue entry; the counters come from struct imc_stats
 * and the SMTP side) and metrics_write replaces the file atomically
 * (temp name, rename): a reader sees the old file or the new one, never a
 * part. Counters count from the start of the process, as Prometheus
 * expects (a restart is a reset). Nothing here knows the daemon.
 */
#ifndef IMC_METRICS_H
#define IMC_METRICS_H

#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "qctx.h"

#define METRICS_FILE	"metrics.prom"

/* The folders counted, in the order of metrics_folder_names. */
enum metrics_folder {
	METRICS_PICKUP, METRICS_PICKUP_ARCHIVE, METRICS_WORK, METRICS_IN,
	METRICS_OUT, METRICS_BADMAIL, METRICS_NFOLDERS
};

struct metrics {
	time_t		 now;
	uint64_t	 folder[METRICS_NFOLDERS];	/* messages in each */
	uint64_t	 oldest_age;	/* seconds, oldest In/ or Out/ entry;
					   0 when both are empty */
	struct imc_stats stats;		/* the daemon's counters */
	uint64_t	 smtp_open;	/* SMTP connections open now */
	uint64_t	 smtp_opened;	/* and begun since the start */
	uint64_t	 dns_failures;
	uint64_t	 rss_bytes;	/* resident set of the process */
};

/* Count the messages of every folder (dir: the daemon's LAYOUT_NDIRS
 * descriptors) and the age of the oldest queue entry; -1 with errno if a
 * folder cannot be read (what was counted stays). */
int	metrics_scan(const int *dir, time_t now, struct metrics *);
/* The resident set size of this process in bytes, 0 if unknown. */
uint64_t metrics_rss(void);
/* The file's text. */
void	metrics_format(const struct metrics *, struct buf *out);
/* Replace Log/metrics.prom (mode 0644: the collector reads it). */
int	metrics_write(int logdir_fd, const struct metrics *);

#endif
