/*
 * qview - what imc-queue reads of the queue (see qview.h).
 */
#include "qview.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qid.h"
#include "xalloc.h"

static struct qview_entry *
qview_add(struct qview *qv)
{
	if (qv->n == qv->cap) {
		qv->cap = qv->cap ? qv->cap * 2 : 64;
		qv->v = xreallocarray(qv->v, qv->cap, sizeof(*qv->v));
	}
	memset(&qv->v[qv->n], 0, sizeof(qv->v[0]));
	qenv_init(&qv->v[qv->n].env);
	return &qv->v[qv->n++];
}

/* qview_read_work - a Work/ file: what its name and size say */
static int
qview_read_work(int dirfd, const char *qid, struct qview_entry *ve)
{
	struct stat st;

	if (fstatat(dirfd, qid, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = ENOENT;
		return -1;
	}
	ve->folder = LAYOUT_WORK;
	ve->state = QVIEW_INTAKE;
	memcpy(ve->env.qid, qid, QID_SIZE);
	ve->env.arrival = qid_time(qid);
	ve->env.size = (uint64_t)st.st_size;
	return 0;
}

/* qview_read_entry - an In/ or Out/ entry: 0, or -1 with ENOENT when it
 * has no envelope (finished, or being delivered); an envelope that does
 * not parse is an entry too, unreadable */
static int
qview_read_entry(int dirfd, enum layout_dir folder, const char *qid,
    struct qview_entry *ve)
{
	struct buf err;

	buf_init(&err);
	ve->folder = folder;
	if (qenv_load(dirfd, qid, &ve->env, &err) == -1) {
		if (errno == ENOENT) {
			buf_fini(&err);
			return -1;
		}
		qenv_init(&ve->env);
		memcpy(ve->env.qid, qid, QID_SIZE);
		ve->env.arrival = qid_time(qid);
		ve->state = QVIEW_UNREADABLE;
		ve->problem = buf_steal(&err);
		return 0;
	}
	buf_fini(&err);
	ve->state = ve->env.attempts > 0 ? QVIEW_DEFERRED : QVIEW_QUEUED;
	return 0;
}

/* The queue id a folder's file name stands for, or false. */
static bool
qview_name_qid(enum layout_dir folder, const char *name, char qid[QID_SIZE])
{
	size_t len = strlen(name);

	if (folder == LAYOUT_WORK) {
		if (len != QID_LEN)
			return false;
	} else if (len != QID_LEN + strlen(QFILE_EML) ||
	    strcmp(name + QID_LEN, QFILE_EML) != 0)
		return false;	/* an entry is listed by its content */
	memcpy(qid, name, QID_LEN);
	qid[QID_LEN] = '\0';
	return qid_valid(qid);
}

static int
qview_folder(int rootfd, enum layout_dir folder, struct qview *qv,
    struct buf *err)
{
	struct qview_entry *ve;
	struct dirent *de;
	char qid[QID_SIZE];
	DIR *dir;
	int fd, r;

	if ((fd = openat(rootfd, layout_name(folder), O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 || (dir = fdopendir(fd)) == NULL) {
		buf_printf(err, "%s%s: %s", err->len ? "; " : "",
		    layout_name(folder), strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!qview_name_qid(folder, de->d_name, qid))
			continue;
		ve = qview_add(qv);
		if (folder == LAYOUT_WORK)
			r = qview_read_work(fd, qid, ve);
		else
			r = qview_read_entry(fd, folder, qid, ve);
		if (r == -1) {	/* gone meanwhile, or not an entry */
			qview_entry_fini(ve);
			qv->n--;
		}
	}
	closedir(dir);
	return 0;
}

static int
qview_cmp(const void *a, const void *b)
{
	const struct qview_entry *x = a, *y = b;
	int c = strcmp(x->env.qid, y->env.qid);

	return c != 0 ? c : (int)x->folder - (int)y->folder;
}

/* qview_scan - Work/, In/ and Out/, oldest first */
int
qview_scan(int rootfd, struct qview *qv, struct buf *err)
{
	static const enum layout_dir folders[] = { LAYOUT_WORK, LAYOUT_IN,
	    LAYOUT_OUT };
	size_t i;
	int r = 0;

	memset(qv, 0, sizeof(*qv));
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++)
		if (qview_folder(rootfd, folders[i], qv, err) == -1)
			r = -1;
	if (qv->n > 1)
		qsort(qv->v, qv->n, sizeof(*qv->v), qview_cmp);
	return r;
}

/* qview_find - one entry by queue id: Out/ first, then In/, then Work/
 * (a message with local and remote recipients has an entry in each; the
 * Out/ one is the one that waits) */
int
qview_find(int rootfd, const char *qid, struct qview_entry *ve)
{
	static const enum layout_dir folders[] = { LAYOUT_OUT, LAYOUT_IN,
	    LAYOUT_WORK };
	char name[QID_SIZE + 8];
	size_t i;
	int fd, r;

	memset(ve, 0, sizeof(*ve));
	qenv_init(&ve->env);
	if (!qid_valid(qid)) {
		errno = ENOENT;
		return -1;
	}
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		if ((fd = openat(rootfd, layout_name(folders[i]), O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
			continue;
		if (folders[i] == LAYOUT_WORK)
			r = qview_read_work(fd, qid, ve);
		else {
			snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
			r = faccessat(fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ?
			    qview_read_entry(fd, folders[i], qid, ve) : -1;
		}
		close(fd);
		if (r == 0)
			return 0;
		qview_entry_fini(ve);
	}
	errno = ENOENT;
	return -1;
}

void
qview_entry_fini(struct qview_entry *ve)
{
	qenv_free(&ve->env);
	free(ve->problem);
	ve->problem = NULL;
}

void
qview_free(struct qview *qv)
{
	size_t i;

	for (i = 0; i < qv->n; i++)
		qview_entry_fini(&qv->v[i]);
	free(qv->v);
	memset(qv, 0, sizeof(*qv));
}

const char *
qview_state_name(enum qview_state s)
{
	switch (s) {
	case QVIEW_INTAKE:
		return "intake";
	case QVIEW_QUEUED:
		return "queued";
	case QVIEW_DEFERRED:
		return "deferred";
	case QVIEW_UNREADABLE:
		return "unreadable";
	}
	return "?";
}

const char *
qview_folder_name(enum layout_dir folder)
{
	return layout_name(folder);
}
