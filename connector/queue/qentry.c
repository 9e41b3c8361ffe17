/*
 * qentry - one queue entry on disk (see qentry.h).
 */
#include "qentry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imc_limits.h"
#include "log.h"
#include "qctx.h"
#include "qfile.h"
#include "safeio.h"

void
qentry_name(char *out, size_t size, const char *qid, const char *suffix)
{
	snprintf(out, size, "%s%s", qid, suffix);
}

int
qentry_create(const struct qctx *q, enum layout_dir dir, const char *qid)
{
	char name[QID_SIZE + 16];

	qentry_name(name, sizeof(name), qid, QFILE_EML);
	/* read and write: charset repair reads it back through the same
	 * descriptor */
	return openat(q->dir[dir], name, O_RDWR | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* qentry_remove - the envelope first, then the content */
void
qentry_remove(const struct qctx *q, enum layout_dir dir, const char *qid)
{
	char name[QID_SIZE + 16];

	qentry_name(name, sizeof(name), qid, QFILE_ENV);
	if (unlinkat(q->dir[dir], name, 0) == -1 && errno != ENOENT)
		log_warn("%s/%s", layout_name(dir), name);
	qentry_name(name, sizeof(name), qid, QFILE_EML);
	if (unlinkat(q->dir[dir], name, 0) == -1 && errno != ENOENT)
		log_warn("%s/%s", layout_name(dir), name);
}

void
qentry_remove_all(const struct qctx *q, const char *qid)
{
	qentry_remove(q, LAYOUT_IN, qid);
	qentry_remove(q, LAYOUT_OUT, qid);
}

void
qentry_link(const struct qctx *q, enum layout_dir from, enum layout_dir to,
    const char *qid)
{
	char name[QID_SIZE + 16];

	qentry_name(name, sizeof(name), qid, QFILE_EML);
	if (linkat(q->dir[from], name, q->dir[to], name, 0) == -1 &&
	    errno != EEXIST)
		log_warn("%s: archive copy in %s", qid, layout_name(to));
}

/* qentry_publish - name a copy: an O_TMPFILE is linked in, a memfd is
 * written out; either through tmp, then renamed over name */
int
qentry_publish(int dirfd, int fd, bool in_memory, const char *tmp,
    const char *name, uint64_t *size)
{
	char proc[64], chunk[IMC_IO_CHUNK];
	struct stat st;
	ssize_t n;
	int out;

	if (fstat(fd, &st) == -1)
		return -1;
	unlinkat(dirfd, tmp, 0);
	if (!in_memory) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW) == -1)
			return -1;
	} else {
		if ((out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
			return -1;
		if (lseek(fd, 0, SEEK_SET) == -1)
			n = -1;
		else
			while ((n = read(fd, chunk, sizeof(chunk))) > 0)
				if (safe_write_all(out, chunk, (size_t)n) == -1) {
					n = -1;
					break;
				}
		if (close(out) == -1 || n == -1) {
			unlinkat(dirfd, tmp, 0);
			return -1;
		}
	}
	if (renameat(dirfd, tmp, dirfd, name) == -1) {
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* qentry_barrier - one syncfs covers every file and folder written since
 * the last one: that is how a batch shares one flush */
int
qentry_barrier(const struct qctx *q)
{
	q->stats->barriers++;
	if (syncfs(q->dir[LAYOUT_ROOT]) == -1) {
		log_warn("syncfs");
		return -1;
	}
	return 0;
}
