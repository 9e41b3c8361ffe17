/*
 * imc-queue - look at the queue.
 *
 * imc-queue [-c FILE] list
 * imc-queue [-c FILE] flush [QID...]
 *
 * list: one line per queue entry, oldest first: queue id, folder (Work,
 * In, Out), age, size, sender, recipients (with their state when not
 * pending), state (intake, queued, deferred) and the last error. An entry
 * that cannot be read is listed with state "unreadable" and the reason.
 *
 * flush: ask the connector to make the deferred entries of In/ and Out/
 * (or only the named ones) due now. The connector is the only writer of
 * queue state: this writes a request into Log/ (qrequest.h) and sends
 * SIGUSR1 to the process holding the tree's lock (instlock.h), checked to
 * be an imc-connector; with none running, the request waits for the next
 * start. Run as root it writes as the configured service user, so the
 * file stays the connector's. Exit codes from sysexits.h: 0 done, 67
 * (EX_NOUSER) a named entry does not exist, 73 the request could not be
 * written.
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
#include "instlock.h"
#include "layout.h"
#include "progopt.h"
#include "qrequest.h"
#include "qfile.h"
#include "qid.h"
#include "xalloc.h"

struct row {
	char	 qid[QID_SIZE];
	char	*text;
};

static const struct progopt prog = { "imc-queue",
	"usage: imc-queue [-c FILE] list\n"
	"       imc-queue [-c FILE] flush [QID...]\n"
};

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

static void
add_row(struct row **rows, size_t *n, size_t *cap, const char *qid,
    struct buf *text)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*rows = xreallocarray(*rows, *cap, sizeof(**rows));
	}
	memcpy((*rows)[*n].qid, qid, QID_SIZE);
	(*rows)[*n].text = buf_steal(text);
	(*n)++;
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
			add_row(rows, n, cap, qid, &line);
			continue;
		}
		/* An Out/ entry may keep its envelope on the content file:
		 * entries are listed by their content. */
		if (len != QID_LEN + strlen(QFILE_EML) ||
		    strcmp(de->d_name + QID_LEN, QFILE_EML) != 0)
			continue;
		memcpy(qid, de->d_name, QID_LEN);
		qid[QID_LEN] = '\0';
		if (!qid_valid(qid))
			continue;
		buf_reset(&err);
		if (qenv_load(fd, qid, &e, &err) == -1) {
			if (errno == ENOENT)
				continue;	/* in intake, or finished */
			buf_printf(&line, "%s %-4s     ? %9s ? ? unreadable %s", qid,
			    folder, "?", buf_cstr(&err));
			add_row(rows, n, cap, qid, &line);
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
		add_row(rows, n, cap, qid, &line);
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

/* Does In/ or Out/ hold an entry of this qid? */
static bool
entry_exists(int rootfd, const char *qid)
{
	static const enum layout_dir folders[] = { LAYOUT_IN, LAYOUT_OUT };
	char name[QID_SIZE + 16];
	size_t i;

	snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
	for (i = 0; i < 2; i++) {
		int dirfd = openat(rootfd, layout_name(folders[i]), O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		bool found;

		if (dirfd == -1)
			continue;
		found = faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		close(dirfd);
		if (found)
			return true;
	}
	return false;
}

/* SIGUSR1 to the connector that holds the tree's lock, if one does. */
static void
wake_connector(int logfd)
{
	char path[64], comm[64];
	pid_t pid;
	FILE *f;

	if ((pid = instlock_holder(logfd)) <= 0) {
		printf("no connector is running: the request is applied at its "
		    "next start\n");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((f = fopen(path, "r")) == NULL || fgets(comm, sizeof(comm), f) ==
	    NULL || strncmp(comm, "imc-connector", 13) != 0) {
		if (f != NULL)
			fclose(f);
		printf("the lock holder (PID %ld) is not an imc-connector this "
		    "tool can see: the request waits for the connector\n",
		    (long)pid);
		return;
	}
	fclose(f);
	if (kill(pid, SIGUSR1) == -1)
		fprintf(stderr, "imc-queue: cannot signal the connector (PID "
		    "%ld): %s; the request waits for its next start\n",
		    (long)pid, strerror(errno));
	else
		printf("told the connector (PID %ld)\n", (long)pid);
}

/* flush: the connector is the only writer of queue state, so this asks
 * it (a request in Log/, then a signal) instead of rewriting entries. */
static int
cmd_flush(const struct imc_config *cfg, int rootfd, char **qids, int n_qids)
{
	struct qrequest rq;
	char name[QREQUEST_NAME_LEN + 1];
	int j, logfd, rc = EX_OK;

	if (become_service_user(cfg) == -1)
		return EX_NOPERM;
	memset(&rq, 0, sizeof(rq));
	rq.verb = QREQUEST_FLUSH;
	rq.all = n_qids == 0;
	if (n_qids > 0)
		rq.qids = xcalloc((size_t)n_qids, sizeof(*rq.qids));
	for (j = 0; j < n_qids; j++) {
		if (!qid_valid(qids[j])) {
			fprintf(stderr, "imc-queue: %s: not a queue id\n",
			    qids[j]);
			rc = EX_USAGE;
			continue;
		}
		if (!entry_exists(rootfd, qids[j])) {
			fprintf(stderr, "imc-queue: %s: no such entry in In or "
			    "Out\n", qids[j]);
			if (rc == EX_OK)
				rc = EX_NOUSER;
			continue;
		}
		memcpy(rq.qids[rq.n_qids++], qids[j], QID_SIZE);
	}
	if (n_qids > 0 && rq.n_qids == 0) {
		qrequest_free(&rq);
		return rc;
	}
	if ((logfd = openat(rootfd, layout_name(LAYOUT_LOG), O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		fprintf(stderr, "imc-queue: Log: %s\n", strerror(errno));
		qrequest_free(&rq);
		return EX_NOINPUT;
	}
	if (qrequest_write(logfd, &rq, name) == -1) {
		fprintf(stderr, "imc-queue: cannot write a request into Log: "
		    "%s\n", strerror(errno));
		close(logfd);
		qrequest_free(&rq);
		return EX_CANTCREAT;
	}
	if (rq.all)
		printf("flush of every entry requested (Log/%s)\n", name);
	else
		printf("flush of %zu entr%s requested (Log/%s)\n", rq.n_qids,
		    rq.n_qids == 1 ? "y" : "ies", name);
	wake_connector(logfd);
	close(logfd);
	qrequest_free(&rq);
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

	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		PROGOPT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (ch == 'c')
			config = optarg;
		else if (ch == 'h')
			progopt_help(&prog);
		else
			progopt_other(&prog, ch);
	}
	config = progopt_config(config, NULL);
	if (optind >= argc ||
	    (strcmp(argv[optind], "list") != 0 &&
	    strcmp(argv[optind], "flush") != 0) ||
	    (strcmp(argv[optind], "list") == 0 && optind + 1 != argc))
		progopt_usage(&prog);
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
	if (n > 0)	/* an empty queue: rows is NULL, which qsort may not get */
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
