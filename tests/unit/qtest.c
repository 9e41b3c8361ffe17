/*
 * qtest - the scratch tree of the queue suites (see qtest.h).
 */
#include "qtest.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "buf.h"
#include "log.h"
#include "qlist.h"
#include "safeio.h"
#include "store_maildir.h"
#include "tracklog.h"

/* out_entry of the qctx: remember what a commit handed on. */
static void
qtest_out_entry_cb(void *arg, const char *qid)
{
	struct qtest *t = arg;

	ck_assert_uint_lt(t->n_out, QTEST_MAX_OUT);
	memcpy(t->out_qids[t->n_out++], qid, QID_SIZE);
}

static void
qtest_write_path(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	ck_assert_msg(fd != -1, "%s: %s", path, strerror(errno));
	ck_assert_msg(safe_write_all(fd, text, len) == 0, "%s: %s", path,
	    strerror(errno));
	ck_assert_int_eq(close(fd), 0);
}

void
qtest_init(struct qtest *t, const char *extra)
{
	const char *base = getenv("TMPDIR");
	char conf[PATH_MAX + 16], logdir[PATH_MAX + 8];
	struct layout_want want;
	struct buf text, err;
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < LAYOUT_NDIRS; i++)
		t->dir[i] = -1;
	log_init("qtest", LOG_LEVEL_WARN);
	if (base == NULL || base[0] != '/')
		base = "/tmp";
	ck_assert_int_lt(snprintf(t->tmp, sizeof(t->tmp), "%s/qtest.XXXXXX",
	    base), (int)sizeof(t->tmp));
	ck_assert_msg(mkdtemp(t->tmp) != NULL, "mkdtemp: %s", strerror(errno));
	ck_assert_int_lt(snprintf(t->root, sizeof(t->root), "%s/Imcdata",
	    t->tmp), (int)sizeof(t->root));
	snprintf(conf, sizeof(conf), "%s/imc.conf", t->tmp);
	buf_init(&text);
	buf_init(&err);
	buf_printf(&text, "root = %s\nhostname = mx.test.example\n"
	    "local_domains = local.example\n%s", t->root,
	    extra != NULL ? extra : "");
	qtest_write_path(conf, buf_cstr(&text));
	ck_assert_msg(config_load(&t->cfg, conf, &err) == 0, "%s",
	    buf_cstr(&err));
	ck_assert_msg(layout_want_from_config(&t->cfg, &want, &err) == 0, "%s",
	    buf_cstr(&err));
	ck_assert_msg(layout_create(t->root, &want, &err) == 0, "%s",
	    buf_cstr(&err));
	for (i = 0; i < LAYOUT_NDIRS; i++) {
		t->dir[i] = i == LAYOUT_ROOT ? safe_open_dir(AT_FDCWD, t->root) :
		    safe_open_dir(t->dir[LAYOUT_ROOT], layout_name(i));
		ck_assert_msg(t->dir[i] != -1, "%s/%s: %s", t->root,
		    layout_name(i), strerror(errno));
	}
	snprintf(logdir, sizeof(logdir), "%s/Log", t->root);
	t->track = tracklog_open(logdir, &err);
	ck_assert_msg(t->track != NULL, "%s", buf_cstr(&err));
	t->intake = intake_new(&(struct intake_ctx){ .cfg = &t->cfg,
	    .pickup_fd = t->dir[LAYOUT_PICKUP],
	    .archive_fd = t->dir[LAYOUT_PICKUP_ARCHIVE],
	    .work_fd = t->dir[LAYOUT_WORK], .track = t->track,
	    .archived = &t->stats.archived });
	t->store = maildir_open(t->dir[LAYOUT_STORE], t->cfg.hostname);
	ck_assert_ptr_nonnull(t->store);
	t->q = (struct qctx){ .cfg = &t->cfg, .dir = t->dir, .track = t->track,
	    .store = t->store, .intake = t->intake, .stats = &t->stats,
	    .out_entry = qtest_out_entry_cb, .out_arg = t };
	buf_fini(&text);
	buf_fini(&err);
}

static int
qtest_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	if (flag == FTW_DP || flag == FTW_D)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

static void
qtest_rm_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		(void)unlink(path);
		return;
	}
	(void)nftw(path, qtest_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
qtest_fini(struct qtest *t)
{
	int i;

	batch_held_free(&t->q);
	batch_tail_free(&t->q);
	intake_free(t->intake);
	maildir_close(t->store);
	tracklog_free(t->track);
	for (i = 0; i < LAYOUT_NDIRS; i++)
		if (t->dir[i] != -1)
			close(t->dir[i]);
	config_free(&t->cfg);
	if (t->tmp[0] != '\0')
		qtest_rm_path(t->tmp);
}

static char qtest_base[PATH_MAX];
static char *qtest_tmpdir;	/* TMPDIR as the suite found it */

void
qtest_suite_setup(void)
{
	const char *base;

	if (qtest_tmpdir == NULL) {
		base = getenv("TMPDIR");
		qtest_tmpdir = strdup(base != NULL && base[0] == '/' ? base :
		    "/tmp");
		if (qtest_tmpdir == NULL)
			abort();
	}
	base = qtest_tmpdir;
	snprintf(qtest_base, sizeof(qtest_base), "%s/qsuite.XXXXXX", base);
	if (mkdtemp(qtest_base) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", qtest_base, strerror(errno));
		exit(EXIT_FAILURE);
	}
	setenv("TMPDIR", qtest_base, 1);
}

void
qtest_suite_teardown(void)
{
	if (qtest_base[0] != '\0')
		qtest_rm_path(qtest_base);
	qtest_base[0] = '\0';
	if (qtest_tmpdir != NULL)
		setenv("TMPDIR", qtest_tmpdir, 1);
}

TCase *
qtest_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, qtest_suite_setup,
	    qtest_suite_teardown);
	/* every wait in the suites is bounded well below this */
	tcase_set_timeout(tc, 60);
	return tc;
}

void
qtest_claim(struct qtest *t, const char *text, struct claimed *c)
{
	struct stat st;
	int fd;

	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(qid_new(c->qid), 0);
	fd = openat(t->dir[LAYOUT_WORK], c->qid, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(safe_write_all(fd, text, strlen(text)), 0);
	ck_assert_int_eq(close(fd), 0);
	/* what intake_claim leaves: the file read-only in Work, open */
	c->fd = openat(t->dir[LAYOUT_WORK], c->qid, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(c->fd, -1);
	ck_assert_int_eq(fstat(c->fd, &st), 0);
	c->origname = strdup("test.eml");
	ck_assert_ptr_nonnull(c->origname);
	c->size = (uint64_t)st.st_size;
	c->claimed_at = (time_t)qid_time(c->qid);
	c->st = st;
	c->has_uid = true;
	c->uid = st.st_uid;
}

void
qtest_unclaim(struct claimed *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->origname);
	c->origname = NULL;
}

enum accept_result
qtest_accept(struct qtest *t, struct batch *b, const char *text,
    char qid[QID_SIZE])
{
	struct claimed c;
	enum accept_result r;

	qtest_claim(t, text, &c);
	memcpy(qid, c.qid, QID_SIZE);
	r = batch_accept(b, &c, false);
	qtest_unclaim(&c);
	return r;
}

void
qtest_queue(struct qtest *t, const char *text, char qid[QID_SIZE])
{
	struct batch *b = batch_new(&t->q);

	ck_assert_int_eq(qtest_accept(t, b, text, qid), ACCEPT_QUEUED);
	ck_assert_int_eq(batch_commit(b), 0);
	batch_free(b);
}

int
qtest_load(struct qtest *t, enum layout_dir dir, const char *qid,
    struct qenv *e)
{
	struct buf err;
	int r;

	buf_init(&err);
	r = qenv_load(t->dir[dir], qid, e, &err);
	buf_fini(&err);
	return r;
}

void
qtest_must_load(struct qtest *t, enum layout_dir dir, const char *qid,
    struct qenv *e)
{
	struct buf err;

	buf_init(&err);
	ck_assert_msg(qenv_load(t->dir[dir], qid, e, &err) == 0,
	    "%s/%s does not load: %s", layout_name(dir), qid, buf_cstr(&err));
	buf_fini(&err);
}

void
qtest_store(struct qtest *t, enum layout_dir dir, const struct qenv *e)
{
	ck_assert_int_eq(qenv_store(t->dir[dir], e, false, false), 0);
}

int
qtest_rcpt(const struct qenv *e, const char *addr)
{
	size_t i;

	for (i = 0; i < e->n_rcpts; i++)
		if (strcmp(e->rcpts[i].addr, addr) == 0)
			return (int)i;
	return -1;
}

bool
qtest_exists(struct qtest *t, enum layout_dir dir, const char *name)
{
	struct stat st;

	return fstatat(t->dir[dir], name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool
qtest_has(struct qtest *t, enum layout_dir dir, const char *qid,
    const char *suffix)
{
	char name[QID_SIZE + 32];

	snprintf(name, sizeof(name), "%s%s", qid, suffix);
	return qtest_exists(t, dir, name);
}

static char *
qtest_read_fd(int fd)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;

	buf_init(&b);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, (size_t)n), 0);
	ck_assert_int_ge(n, 0);
	close(fd);
	/* an empty file is "" */
	if (b.data == NULL)
		return strdup("");
	return buf_steal(&b);
}

char *
qtest_read(struct qtest *t, enum layout_dir dir, const char *name)
{
	int fd = openat(t->dir[dir], name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	return fd == -1 ? NULL : qtest_read_fd(fd);
}

size_t
qtest_count(struct qtest *t, const char *relpath)
{
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	DIR *d;
	int fd;

	if ((fd = openat(t->dir[LAYOUT_ROOT], relpath, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return 0;
	ck_assert_ptr_nonnull(d = fdopendir(fd));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

size_t
qtest_entries(struct qtest *t, enum layout_dir dir, char (*out)[QID_SIZE],
    size_t max)
{
	struct qlist names;
	size_t i, n;

	ck_assert_int_eq(qlist_read(t->dir[dir], QFILE_EML, &names), 0);
	for (i = 0; i < names.n && i < max; i++)
		memcpy(out[i], names.qids[i], QID_SIZE);
	n = names.n;
	qlist_free(&names);
	return n;
}

size_t
qtest_work_files(struct qtest *t, char (*out)[QID_SIZE], size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int fd;

	fd = openat(t->dir[LAYOUT_WORK], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	ck_assert_ptr_nonnull(d = fdopendir(fd));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		ck_assert_uint_lt(n, max);
		ck_assert_uint_eq(strlen(de->d_name), QID_LEN);
		memcpy(out[n++], de->d_name, QID_SIZE);
	}
	closedir(d);
	return n;
}

static int
qtest_mailbox_dir(struct qtest *t, const char *domain, const char *local)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/new", domain, local);
	return openat(t->dir[LAYOUT_STORE], path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
}

size_t
qtest_mailbox(struct qtest *t, const char *domain, const char *local)
{
	char path[512];

	snprintf(path, sizeof(path), "Store/%s/%s/new", domain, local);
	return qtest_count(t, path);
}

char *
qtest_mailbox_first(struct qtest *t, const char *domain, const char *local)
{
	struct dirent *de;
	char *text = NULL;
	DIR *d;
	int fd;

	if ((fd = qtest_mailbox_dir(t, domain, local)) == -1)
		return NULL;
	ck_assert_ptr_nonnull(d = fdopendir(fd));
	while (text == NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC);
		ck_assert_int_ne(fd, -1);
		text = qtest_read_fd(fd);
	}
	closedir(d);
	return text;
}

size_t
qtest_track(struct qtest *t, ...)
{
	const char *needle;
	struct dirent *de;
	char *text, *line, *save;
	size_t n = 0;
	va_list ap;
	bool all;
	DIR *d;
	int fd;

	ck_assert_int_eq(tracklog_flush(t->track), 0);
	fd = openat(t->dir[LAYOUT_LOG], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	ck_assert_ptr_nonnull(d = fdopendir(fd));
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 4 || strcmp(de->d_name + len - 4, ".log") != 0)
			continue;
		ck_assert_ptr_nonnull(text = qtest_read(t, LAYOUT_LOG,
		    de->d_name));
		for (line = strtok_r(text, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			all = true;
			va_start(ap, t);
			while ((needle = va_arg(ap, const char *)) != NULL)
				if (strstr(line, needle) == NULL)
					all = false;
			va_end(ap);
			if (all)
				n++;
		}
		free(text);
	}
	closedir(d);
	return n;
}

bool
qtest_out_entry(const struct qtest *t, const char *qid)
{
	size_t i;

	for (i = 0; i < t->n_out; i++)
		if (strcmp(t->out_qids[i], qid) == 0)
			return true;
	return false;
}

void
qtest_write(struct qtest *t, const char *relpath, const char *text)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", t->root, relpath);
	qtest_write_path(path, text);
}

void
qtest_rm(struct qtest *t, const char *relpath)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", t->root, relpath);
	qtest_rm_path(path);
}

long long
qtest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
