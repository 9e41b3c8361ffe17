/*
 * qstatus - what imc-queue status counts: files per folder (Pickup,
 * Pickup/Archive, Work, In, Out, Badmail; held entries apart), pending
 * recipients per destination domain, the oldest entry, and from the
 * tracking log (tracklog.h) the deliveries, failures and deferrals of the
 * last minute and the last hour.
 *
 * The tracking log is read from today's and yesterday's Log/YYYYMMDD.log
 * (UTC; the hour may reach over midnight): a line counts by its
 * timestamp, "YYYY-MM-DDTHH:MM:SS.mmmZ event=NAME ...". A line of another
 * shape is not counted.
 */
#ifndef IMC_QSTATUS_H
#define IMC_QSTATUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "qview.h"

enum { QSTATUS_MINUTE, QSTATUS_HOUR, QSTATUS_SPANS };

struct qstatus_rates {
	unsigned long	 delivered[QSTATUS_SPANS];	/* recipients */
	unsigned long	 failed[QSTATUS_SPANS];		/* recipients */
	unsigned long	 deferred[QSTATUS_SPANS];	/* attempts */
};

struct qstatus_dest {
	char		*domain;	/* lowercased */
	enum layout_dir	 folder;	/* LAYOUT_IN or LAYOUT_OUT */
	size_t		 rcpts;		/* pending */
	size_t		 entries;
};

struct qstatus {
	size_t		 files[LAYOUT_NDIRS];	/* entries; files elsewhere */
	size_t		 held[LAYOUT_NDIRS];
	struct qstatus_dest *dests;
	size_t		 n_dests, cap_dests;
	char		 oldest[QID_SIZE];	/* "" when the queue is empty */
	enum layout_dir	 oldest_folder;
	int64_t		 oldest_arrival;
	struct qstatus_rates rates;
};

void	qstatus_init(struct qstatus *);
void	qstatus_fini(struct qstatus *);
/* Count the entries of a scan (qview_scan). */
void	qstatus_add_view(struct qstatus *, const struct qview *);
/* Count one tracking log line (len bytes, no newline) seen at now. */
void	qstatus_add_log_line(struct qstatus_rates *, const char *line,
	    size_t len, time_t now);
/* Read today's and yesterday's tracking logs from Log/. */
void	qstatus_read_logs(struct qstatus_rates *, int log_dirfd, time_t now);
/* Count the regular files of a folder that are not temp names. */
size_t	qstatus_count_files(int rootfd, enum layout_dir);
/* The report for people. */
void	qstatus_format(const struct qstatus *, struct buf *, time_t now);

#endif
