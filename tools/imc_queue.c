/*
 * imc-queue - look at the queue.
 *
 * imc-queue -c FILE list
 *
 * One line per queue entry, oldest first: queue id, folder (Work, In,
 * Out), age, size, sender, recipients (with their state when not pending),
 * state (intake, queued, deferred) and the last error. An entry that cannot
 * be read is listed with state "unreadable" and the reason. Exit codes
 * from sysexits.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "layout.h"
#include "qfile.h"
#include "qid.h"

struct row {
	char	 qid[QID_SIZE];
	char	*text;
};

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: imc-queue -c FILE list\n");
	exit(EX_USAGE);
}

static void
format_age(char *out, size_t size, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(out, size, "%llds", secs);
	else if (secs < 7200)
		snprintf(out, size, "%lldm", secs / 60);
	else if (secs < 172800)
		snprintf(out, size, "%lldh", secs / 3600);
	else
		snprintf(out, size, "%lldd", secs / 86400);
}

static int
add_row(struct row **rows, size_t *n, size_t *cap, const char *qid,
    struct buf *text)
{
	struct row *v;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((v = realloc(*rows, *cap * sizeof(*v))) == NULL)
			return -1;
		*rows = v;
	}
	memcpy((*rows)[*n].qid, qid, QID_SIZE);
	if (((*rows)[*n].text = buf_steal(text)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static int
row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->qid, ((const struct row *)b)->qid);
}

static int
list_folder(int rootfd, enum layout_dir which, time_t now, struct row **rows,
    size_t *n, size_t *cap)
{
	const char *folder = layout_name(which);
	DIR *dir;
	struct dirent *de;
	struct qenv e;
	struct buf line, err;
	struct stat st;
	char qid[QID_SIZE], age[32];
	size_t len, i;
	int fd;

	if ((fd = openat(rootfd, folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || (dir = fdopendir(fd)) == NULL) {
		fprintf(stderr, "imc-queue: %s: %s\n", folder, strerror(errno));
		return -1;
	}
	buf_init(&line);
	buf_init(&err);
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (which == LAYOUT_WORK) {
			if (!qid_valid(de->d_name))
				continue;
			memcpy(qid, de->d_name, QID_SIZE);
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
				continue;
			format_age(age, sizeof(age), (long long)now - qid_time(qid));
			buf_printf(&line, "%s %-4s %5s %9lld <> - intake -", qid,
			    folder, age, (long long)st.st_size);
			if (add_row(rows, n, cap, qid, &line) == -1)
				return -1;
			continue;
		}
		if (len != QID_LEN + strlen(QFILE_ENV) ||
		    strcmp(de->d_name + QID_LEN, QFILE_ENV) != 0)
			continue;
		memcpy(qid, de->d_name, QID_LEN);
		qid[QID_LEN] = '\0';
		if (!qid_valid(qid))
			continue;
		buf_reset(&err);
		if (qenv_load(fd, qid, &e, &err) == -1) {
			buf_printf(&line, "%s %-4s     ? %9s ? ? unreadable %s", qid,
			    folder, "?", buf_cstr(&err));
			if (add_row(rows, n, cap, qid, &line) == -1)
				return -1;
			continue;
		}
		format_age(age, sizeof(age), (long long)now - e.arrival);
		buf_printf(&line, "%s %-4s %5s %9llu <%s> ", qid, folder, age,
		    (unsigned long long)e.size, e.sender);
		for (i = 0; i < e.n_rcpts; i++) {
			buf_printf(&line, "%s<%s>", i ? "," : "", e.rcpts[i].addr);
			if (e.rcpts[i].state != QRCPT_PENDING)
				buf_printf(&line, "(%s)",
				    qrcpt_state_name(e.rcpts[i].state));
		}
		buf_printf(&line, " %s %s", e.attempts > 0 ? "deferred" : "queued",
		    e.error && e.error[0] ? e.error : "-");
		qenv_free(&e);
		if (add_row(rows, n, cap, qid, &line) == -1)
			return -1;
	}
	closedir(dir);
	buf_fini(&line);
	buf_fini(&err);
	return 0;
}

int
main(int argc, char **argv)
{
	static const enum layout_dir folders[] = { LAYOUT_WORK, LAYOUT_IN,
	    LAYOUT_OUT };
	struct imc_config cfg;
	struct buf err;
	struct row *rows = NULL;
	size_t n = 0, cap = 0, i;
	const char *config = NULL;
	time_t now = time(NULL);
	int ch, rootfd, rc = EX_OK;

	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		if (ch == 'c')
			config = optarg;
		else
			usage();
	}
	if (config == NULL || optind + 1 != argc ||
	    strcmp(argv[optind], "list") != 0)
		usage();
	buf_init(&err);
	if (config_load(&cfg, config, &err) == -1) {
		fprintf(stderr, "imc-queue: %s\n", buf_cstr(&err));
		buf_fini(&err);
		config_free(&cfg);
		return EX_CONFIG;
	}
	if ((rootfd = open(cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "imc-queue: %s: %s\n", cfg.root, strerror(errno));
		buf_fini(&err);
		config_free(&cfg);
		return EX_NOINPUT;
	}
	for (i = 0; i < 3; i++)
		if (list_folder(rootfd, folders[i], now, &rows, &n, &cap) == -1)
			rc = EX_IOERR;
	qsort(rows, n, sizeof(*rows), row_cmp);
	for (i = 0; i < n; i++) {
		printf("%s\n", rows[i].text);
		free(rows[i].text);
	}
	free(rows);
	close(rootfd);
	config_free(&cfg);
	buf_fini(&err);
	return rc;
}
