/*
 * check_metrics - Log/metrics.prom: the text for known numbers (every
 * metric with its HELP and TYPE, labels as documented), the folder count
 * (what counts as a message in each folder, the oldest queue entry), and
 * the atomic write.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "layout.h"
#include "mailstatus.h"
#include "metrics.h"

static struct metrics
known(void)
{
	struct metrics m;

	memset(&m, 0, sizeof(m));
	m.now = 1796299200;
	m.folder[METRICS_PICKUP] = 3;
	m.folder[METRICS_OUT] = 7;
	m.folder[METRICS_BADMAIL] = 2;
	m.oldest_age = 3600;
	m.stats.picked_up = 12;
	m.stats.archived = 1;
	m.stats.delivered = 6;
	m.stats.deferred = 4;
	m.stats.failed = 2;
	m.stats.barriers = 8;
	m.stats.by_dest[QSTAT_STORE][MAIL_OK] = 5;
	m.stats.by_dest[QSTAT_SMTP][MAIL_OK] = 1;
	m.stats.by_dest[QSTAT_SMTP][MAIL_TEMP] = 4;
	m.stats.by_dest[QSTAT_SMTP][MAIL_PERM] = 2;
	m.smtp_open = 2;
	m.smtp_opened = 9;
	m.dns_failures = 3;
	m.rss_bytes = 4096 * 1000;
	return m;
}

/* A line the file must hold for the known numbers. */
static const char *const want_lines[] = {
	"# TYPE imc_queue_messages gauge",
	"imc_queue_messages{folder=\"Pickup\"} 3",
	"imc_queue_messages{folder=\"Pickup/Archive\"} 0",
	"imc_queue_messages{folder=\"Work\"} 0",
	"imc_queue_messages{folder=\"In\"} 0",
	"imc_queue_messages{folder=\"Out\"} 7",
	"imc_queue_messages{folder=\"Badmail\"} 2",
	"imc_queue_oldest_message_age_seconds 3600",
	"# TYPE imc_messages_picked_up_total counter",
	"imc_messages_picked_up_total 12",
	"imc_messages_archived_total 1",
	"imc_recipients_delivered_total 6",
	"imc_recipients_deferred_total 4",
	"imc_recipients_bounced_total 2",
	"# TYPE imc_deliveries_total counter",
	"imc_deliveries_total{destination=\"store\",result=\"delivered\"} 5",
	"imc_deliveries_total{destination=\"store\",result=\"deferred\"} 0",
	"imc_deliveries_total{destination=\"store\",result=\"failed\"} 0",
	"imc_deliveries_total{destination=\"smtp\",result=\"delivered\"} 1",
	"imc_deliveries_total{destination=\"smtp\",result=\"deferred\"} 4",
	"imc_deliveries_total{destination=\"smtp\",result=\"failed\"} 2",
	"imc_smtp_connections 2",
	"imc_smtp_connections_opened_total 9",
	"imc_dns_failures_total 3",
	"imc_filesystem_barriers_total 8",
	"imc_process_resident_memory_bytes 4096000",
	"imc_metrics_written_timestamp_seconds 1796299200",
};

START_TEST(format_has_line)
{
	struct metrics m = known();
	struct buf b, want;

	buf_init(&b);
	buf_init(&want);
	metrics_format(&m, &b);
	buf_printf(&want, "\n%s\n", want_lines[_i]);
	if (strstr(buf_cstr(&b), buf_cstr(&want)) == NULL)
		ck_abort_msg("no line \"%s\" in:\n%s", want_lines[_i],
		    buf_cstr(&b));
	buf_fini(&b);
	buf_fini(&want);
}
END_TEST

/* Every metric has HELP then TYPE before its first sample; every line is
 * a comment or "name{labels} value". */
START_TEST(format_every_metric_has_help_and_type)
{
	struct metrics m = known();
	struct buf b;
	char *text, *line, *save = NULL, name[128], last[128] = "";
	size_t samples = 0;

	buf_init(&b);
	metrics_format(&m, &b);
	ck_assert_ptr_nonnull(text = strdup(buf_cstr(&b)));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%127s", last), 1);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%127s", name), 1);
			ck_assert_str_eq(name, last);
			continue;
		}
		ck_assert_int_eq(sscanf(line, "%127[a-z_]", name), 1);
		ck_assert_msg(strcmp(name, last) == 0, "%s without HELP", line);
		samples++;
	}
	ck_assert_uint_eq(samples, sizeof(want_lines) / sizeof(want_lines[0]) -
	    3);	/* the three TYPE lines of the list */
	free(text);
	buf_fini(&b);
}
END_TEST

static int
touch_at(int dirfd, const char *name, time_t mtime)
{
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1)
		return -1;
	close(fd);
	return utimensat(dirfd, name, ts, 0);
}

START_TEST(scan_counts_messages_and_the_oldest_entry)
{
	char root[] = "/tmp/check_metrics.XXXXXX", cmd[128];
	static const struct {
		enum layout_dir dir;
		const char *name;
		time_t mtime;
	} files[] = {
		{ LAYOUT_PICKUP, "a.eml", 0 },
		{ LAYOUT_PICKUP, "b.txt", 0 },
		{ LAYOUT_PICKUP, ".writer.tmp", 0 },	/* not yet there */
		{ LAYOUT_PICKUP_ARCHIVE, "Q1.eml", 0 },
		{ LAYOUT_PICKUP_ARCHIVE, "Q1.reason", 0 },
		{ LAYOUT_WORK, "Q2", 0 },
		{ LAYOUT_IN, "Q3.eml", 1796290000 },
		{ LAYOUT_IN, "Q3.env", 1796200000 },	/* not an entry */
		{ LAYOUT_OUT, "Q4.eml", 1796295600 },
		{ LAYOUT_OUT, "Q5.eml", 1796280000 },	/* the oldest */
		{ LAYOUT_OUT, ".Q6.eml.tmp", 1796100000 },
		{ LAYOUT_BADMAIL, "Q7.bad", 0 },
		{ LAYOUT_BADMAIL, "Q7.bdr", 0 },
	};
	int dir[LAYOUT_NDIRS], i;
	size_t k;
	struct metrics m;

	ck_assert_ptr_nonnull(mkdtemp(root));
	for (i = 0; i < LAYOUT_NDIRS; i++) {
		if (i != LAYOUT_ROOT) {
			snprintf(cmd, sizeof(cmd), "%s/%s", root, layout_name(i));
			ck_assert_int_eq(mkdir(cmd, 0700), 0);
		}
		snprintf(cmd, sizeof(cmd), "%s/%s", root, i == LAYOUT_ROOT ?
		    "." : layout_name(i));
		ck_assert_int_ne(dir[i] = open(cmd, O_RDONLY | O_DIRECTORY), -1);
	}
	for (k = 0; k < sizeof(files) / sizeof(files[0]); k++)
		ck_assert_int_eq(touch_at(dir[files[k].dir], files[k].name,
		    files[k].mtime ? files[k].mtime : 1796299000), 0);
	memset(&m, 0xff, sizeof(m));
	ck_assert_int_eq(metrics_scan(dir, 1796299200, &m), 0);
	ck_assert_uint_eq(m.folder[METRICS_PICKUP], 2);
	ck_assert_uint_eq(m.folder[METRICS_PICKUP_ARCHIVE], 1);
	ck_assert_uint_eq(m.folder[METRICS_WORK], 1);
	ck_assert_uint_eq(m.folder[METRICS_IN], 1);
	ck_assert_uint_eq(m.folder[METRICS_OUT], 2);
	ck_assert_uint_eq(m.folder[METRICS_BADMAIL], 1);
	ck_assert_uint_eq(m.oldest_age, 1796299200 - 1796280000);
	/* written under its name (through a temp name and rename) */
	ck_assert_int_eq(metrics_write(dir[LAYOUT_LOG], &m), 0);
	{
		struct stat st;

		ck_assert_int_eq(fstatat(dir[LAYOUT_LOG], METRICS_FILE, &st, 0),
		    0);
		ck_assert_uint_gt(st.st_size, 100);
	}
	for (i = 0; i < LAYOUT_NDIRS; i++)
		close(dir[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_uint_gt(metrics_rss(), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, format_has_line, 0,
	    (int)(sizeof(want_lines) / sizeof(want_lines[0])));
	tcase_add_test(tc, format_every_metric_has_help_and_type);
	tcase_add_test(tc, scan_counts_messages_and_the_oldest_entry);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
