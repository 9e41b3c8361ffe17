/*
 * metrics - Log/metrics.prom (see metrics.h).
 */
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"
#include "mailstatus.h"
#include "safeio.h"

/* The label of each folder, as the tree names it. */
static const char *const metrics_folder_names[METRICS_NFOLDERS] = {
	"Pickup", "Pickup/Archive", "Work", "In", "Out", "Badmail",
};

/* The layout folder of each, and the names that count as one message:
 * a suffix ("" any visible file). Writers' temp files and ours start
 * with a dot; reason files (.reason, .bdr, .env) go with their message. */
static const struct {
	enum layout_dir dir;
	const char	*suffix;
	int		 queue;		/* oldest_age looks here */
} metrics_folders[METRICS_NFOLDERS] = {
	{ LAYOUT_PICKUP, "", 0 },
	{ LAYOUT_PICKUP_ARCHIVE, ".eml", 0 },
	{ LAYOUT_WORK, "", 0 },
	{ LAYOUT_IN, ".eml", 1 },
	{ LAYOUT_OUT, ".eml", 1 },
	{ LAYOUT_BADMAIL, ".bad", 0 },
};

/* metrics_counts - is name one message of a folder with this suffix */
static int
metrics_counts(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (name[0] == '.' || n <= k)
		return 0;
	return strcmp(name + n - k, suffix) == 0;
}

/* metrics_scan - messages per folder, the oldest queue entry */
int
metrics_scan(const int *dir, time_t now, struct metrics *m)
{
	struct dirent *de;
	struct stat st;
	time_t oldest = 0;
	DIR *d;
	int i, fd, r = 0;

	m->now = now;
	for (i = 0; i < METRICS_NFOLDERS; i++) {
		m->folder[i] = 0;
		if ((fd = openat(dir[metrics_folders[i].dir], ".", O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) == -1 ||
		    (d = fdopendir(fd)) == NULL) {
			if (fd != -1)
				close(fd);
			r = -1;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
				continue;
			if (!metrics_counts(de->d_name, metrics_folders[i].suffix))
				continue;
			m->folder[i]++;
			/* a queue file is written once, when it is queued */
			if (metrics_folders[i].queue &&
			    fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 &&
			    (oldest == 0 || st.st_mtime < oldest))
				oldest = st.st_mtime;
		}
		closedir(d);
	}
	m->oldest_age = oldest != 0 && oldest < now ? (uint64_t)(now - oldest) :
	    0;
	return r;
}

/* metrics_rss - resident pages (/proc/self/statm) times the page size */
uint64_t
metrics_rss(void)
{
	unsigned long long size, resident;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f;
	int n;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 && page > 0 ? resident * (uint64_t)page : 0;
}

/* metrics_one - HELP and TYPE, then the value of a metric without labels */
static void
metrics_one(struct buf *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help,
	    name, type, name, (unsigned long long)v);
}

/* metrics_format - the text of Log/metrics.prom */
void
metrics_format(const struct metrics *m, struct buf *b)
{
	static const char *const dests[QSTAT_NDEST] = { "store", "smtp" };
	static const struct {
		enum mail_kind kind;
		const char *name;
	} results[] = { { MAIL_OK, "delivered" }, { MAIL_TEMP, "deferred" },
	    { MAIL_PERM, "failed" } };
	size_t i, j;

	buf_puts(b, "# HELP imc_queue_messages Messages in each folder of "
	    "the Imcdata tree.\n# TYPE imc_queue_messages gauge\n");
	for (i = 0; i < METRICS_NFOLDERS; i++)
		buf_printf(b, "imc_queue_messages{folder=\"%s\"} %llu\n",
		    metrics_folder_names[i], (unsigned long long)m->folder[i]);
	metrics_one(b, "imc_queue_oldest_message_age_seconds", "gauge",
	    "Age of the oldest entry of In and Out (0: both empty).",
	    m->oldest_age);
	metrics_one(b, "imc_messages_picked_up_total", "counter",
	    "Pickup files taken into the queue.", m->stats.picked_up);
	metrics_one(b, "imc_messages_archived_total", "counter",
	    "Pickup files that could not be taken, moved to Pickup/Archive.",
	    m->stats.archived);
	metrics_one(b, "imc_recipients_delivered_total", "counter",
	    "Recipients delivered (store or SMTP).", m->stats.delivered);
	metrics_one(b, "imc_recipients_deferred_total", "counter",
	    "Delivery attempts that failed temporarily, per recipient.",
	    m->stats.deferred);
	metrics_one(b, "imc_recipients_bounced_total", "counter",
	    "Recipients failed for good: returned to the sender, put in "
	    "Badmail, or dropped as NOTIFY asked.", m->stats.failed);
	buf_puts(b, "# HELP imc_deliveries_total Delivery attempts per "
	    "recipient, by destination kind and result.\n"
	    "# TYPE imc_deliveries_total counter\n");
	for (i = 0; i < QSTAT_NDEST; i++)
		for (j = 0; j < sizeof(results) / sizeof(results[0]); j++)
			buf_printf(b, "imc_deliveries_total{destination=\"%s\","
			    "result=\"%s\"} %llu\n", dests[i], results[j].name,
			    (unsigned long long)
			    m->stats.by_dest[i][results[j].kind]);
	metrics_one(b, "imc_smtp_connections", "gauge",
	    "Outbound SMTP connections open now.", m->smtp_open);
	metrics_one(b, "imc_smtp_connections_opened_total", "counter",
	    "Outbound SMTP connections begun.", m->smtp_opened);
	metrics_one(b, "imc_dns_failures_total", "counter",
	    "DNS lookups for delivery that gave no address (NXDOMAIN, "
	    "SERVFAIL, timeout, null MX).", m->dns_failures);
	metrics_one(b, "imc_filesystem_barriers_total", "counter",
	    "Filesystem syncs (syncfs) that made batches durable.",
	    m->stats.barriers);
	metrics_one(b, "imc_process_resident_memory_bytes", "gauge",
	    "Resident memory of the connector process.", m->rss_bytes);
	metrics_one(b, "imc_metrics_written_timestamp_seconds", "gauge",
	    "When this file was written (Unix time).", (uint64_t)m->now);
}

/* metrics_write - format, then replace Log/metrics.prom */
int
metrics_write(int logdir_fd, const struct metrics *m)
{
	struct buf b;
	int r;

	buf_init(&b);
	metrics_format(m, &b);
	r = safe_atomic_write(logdir_fd, METRICS_FILE, b.data, b.len, 0644, 0);
	buf_fini(&b);
	return r;
}
