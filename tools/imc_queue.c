/*
 * imc-queue - look at the queue.
 *
 * imc-queue -c FILE list
 * imc-queue -c FILE flush [QID...]
 *
 * list: one line per queue entry, oldest first: queue id, folder (Work,
 * In, Out), age, size, sender, recipients (with their state when not
 * pending), state (intake, queued, deferred) and the last error. An entry
 * that cannot be read is listed with state "unreadable" and the reason.
 *
 * flush: make the deferred entries of In/ and Out/ (or only the named
 * ones) due now, by rewriting their next-try time, then tell the running
 * connector (SIGUSR1 to the PID in Log/imc-connector.pid, checked to be an
 * imc-connector process) to look again. Run as root it writes as the
 * configured service user, so the files stay the connector's. Exit codes
 * from sysexits.h: 0 done, 67 (EX_NOUSER) a named entry does not exist.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
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
	fprintf(stderr, "usage: imc-queue -c FILE list\n"
	    "       imc-queue -c FILE flush [QID...]\n");
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

/* Become the service user (when root), so rewritten files stay its own. */
static int
become_service_user(const struct imc_config *cfg)
{
	uid_t uid;
	gid_t gid, wgid;
	struct buf err;

	if (geteuid() != 0 || cfg->user == NULL)
		return 0;
	buf_init(&err);
	if (config_ids(cfg, &uid, &gid, &wgid, &err) == -1) {
		fprintf(stderr, "imc-queue: %s\n", buf_cstr(&err));
		buf_fini(&err);
		return -1;
	}
	buf_fini(&err);
	if (uid == 0)
		return 0;
	if (setgroups(0, NULL) == -1 || setgid(gid) == -1 || setuid(uid) == -1) {
		fprintf(stderr, "imc-queue: cannot become %s: %s\n", cfg->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Make one entry due now; 1 if changed, 0 if already due, -1 on error. */
static int
flush_entry(int dirfd, const char *folder, const char *qid)
{
	struct qenv e;
	struct buf err;
	int r = 0;

	buf_init(&err);
	if (qenv_load(dirfd, qid, &e, &err) == -1) {
		if (errno != ENOENT)
			fprintf(stderr, "imc-queue: %s/%s: %s\n", folder, qid,
			    buf_cstr(&err));
		buf_fini(&err);
		return -1;
	}
	buf_fini(&err);
	if (e.next_try > 0) {
		e.next_try = 0;
		if (qenv_store(dirfd, &e, false, true) == -1) {
			fprintf(stderr, "imc-queue: %s/%s: %s\n", folder, qid,
			    strerror(errno));
			r = -1;
		} else
			r = 1;
	}
	qenv_free(&e);
	return r;
}

/* SIGUSR1 to the running connector, if there is one. */
static void
wake_connector(int rootfd)
{
	char buf[64], path[64], comm[64];
	ssize_t n;
	long pid;
	int fd;
	FILE *f;

	fd = openat(rootfd, "Log/imc-connector.pid", O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		printf("the connector is not running: entries are due at its "
		    "next start\n");
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	pid = strtol(buf, NULL, 10);
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if (pid <= 1 || (f = fopen(path, "r")) == NULL ||
	    fgets(comm, sizeof(comm), f) == NULL ||
	    strncmp(comm, "imc-connector", 13) != 0) {
		if (pid > 1 && f != NULL)
			fclose(f);
		printf("the connector is not running (stale PID file): entries "
		    "are due at its next start\n");
		return;
	}
	fclose(f);
	if (kill((pid_t)pid, SIGUSR1) == -1)
		fprintf(stderr, "imc-queue: cannot signal the connector (PID "
		    "%ld): %s\n", pid, strerror(errno));
	else
		printf("told the connector (PID %ld)\n", pid);
}

static int
cmd_flush(const struct imc_config *cfg, int rootfd, char **qids, int n_qids)
{
	static const enum layout_dir folders[] = { LAYOUT_IN, LAYOUT_OUT };
	int dirfd[2], i, j, r, rc = EX_OK;
	unsigned changed = 0;
	struct dirent *de;
	DIR *dir;

	if (become_service_user(cfg) == -1)
		return EX_NOPERM;
	for (i = 0; i < 2; i++)
		if ((dirfd[i] = openat(rootfd, layout_name(folders[i]),
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			fprintf(stderr, "imc-queue: %s: %s\n",
			    layout_name(folders[i]), strerror(errno));
			return EX_NOINPUT;
		}
	if (n_qids > 0) {
		for (j = 0; j < n_qids; j++) {
			bool found = false;

			if (!qid_valid(qids[j])) {
				fprintf(stderr, "imc-queue: %s: not a queue id\n",
				    qids[j]);
				rc = EX_USAGE;
				continue;
			}
			for (i = 0; i < 2; i++) {
				r = flush_entry(dirfd[i],
				    layout_name(folders[i]), qids[j]);
				if (r >= 0)
					found = true;
				if (r == 1)
					changed++;
			}
			if (!found) {
				fprintf(stderr, "imc-queue: %s: no such entry in "
				    "In or Out\n", qids[j]);
				if (rc == EX_OK)
					rc = EX_NOUSER;
			}
		}
	} else {
		for (i = 0; i < 2; i++) {
			int fd = dup(dirfd[i]);

			if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
				if (fd != -1)
					close(fd);
				rc = EX_IOERR;
				continue;
			}
			while ((de = readdir(dir)) != NULL) {
				char qid[QID_SIZE];

				if (strlen(de->d_name) != QID_LEN + 4 ||
				    strcmp(de->d_name + QID_LEN, QFILE_ENV) != 0)
					continue;
				memcpy(qid, de->d_name, QID_LEN);
				qid[QID_LEN] = '\0';
				if (qid_valid(qid) && flush_entry(dirfd[i],
				    layout_name(folders[i]), qid) == 1)
					changed++;
			}
			closedir(dir);
		}
	}
	printf("%u entr%s made due now\n", changed, changed == 1 ? "y" : "ies");
	wake_connector(rootfd);
	close(dirfd[0]);
	close(dirfd[1]);
	return rc;
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
	if (config == NULL || optind >= argc ||
	    (strcmp(argv[optind], "list") != 0 &&
	    strcmp(argv[optind], "flush") != 0) ||
	    (strcmp(argv[optind], "list") == 0 && optind + 1 != argc))
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
	if (strcmp(argv[optind], "flush") == 0) {
		rc = cmd_flush(&cfg, rootfd, argv + optind + 1,
		    argc - optind - 1);
		close(rootfd);
		config_free(&cfg);
		buf_fini(&err);
		return rc;
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
