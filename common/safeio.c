/*
 * safeio - careful file operations (see safeio.h).
 */
#include "safeio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

#include "xalloc.h"

/* safe_write_all - write every byte or fail */
int
safe_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* safe_read_full - read until len bytes or end of file; returns the count */
ssize_t
safe_read_full(int fd, void *data, size_t len)
{
	char *p = data;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* safe_fsync_dir - make a folder's entries durable */
int
safe_fsync_dir(int dirfd)
{
	if (fsync(dirfd) == -1 && errno != EINVAL)
		return -1;
	return 0;
}

/* safe_fsync_path_dir - fsync the folder that holds path */
int
safe_fsync_path_dir(const char *path)
{
	char *copy, *slash;
	int fd, r;

	copy = xstrdup(path);
	slash = strrchr(copy, '/');
	if (slash == NULL)
		strcpy(copy, ".");
	else if (slash == copy)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd == -1)
		return -1;
	r = safe_fsync_dir(fd);
	close(fd);
	return r;
}

/* safe_open_dir - open a folder without following a symbolic link */
int
safe_open_dir(int atfd, const char *path)
{
	return openat(atfd, path,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/*
 * safe_atomic_write - replace name in dirfd with the given content.
 * With sync, the file and the folder are fsynced, so the new content is
 * durable when this returns 0; a crash leaves the old or the new file.
 * The temp name is unique (random, created with O_EXCL), so two writers
 * of the same name never share one temp file: the last rename wins whole.
 */
int
safe_atomic_write(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode, int sync)
{
	char tmp[PATH_MAX];
	uint32_t rnd[2];
	int fd = -1, n, saved, tries;

	for (tries = 0; tries < 8 && fd == -1; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		n = snprintf(tmp, sizeof(tmp), ".%s.%08x%08x.tmp", name,
		    rnd[0], rnd[1]);
		if (n < 0 || (size_t)n >= sizeof(tmp)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd == -1 && errno != EEXIST)
			return -1;
	}
	if (fd == -1)
		return -1;
	if (safe_write_all(fd, data, len) == -1 ||
	    (sync && fsync(fd) == -1)) {
		saved = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	if (close(fd) == -1 || renameat(dirfd, tmp, dirfd, name) == -1) {
		saved = errno;
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	if (sync && safe_fsync_dir(dirfd) == -1)
		return -1;
	return 0;
}

/* safe_mkdir_p - create a folder and its missing parents */
int
safe_mkdir_p(const char *path, mode_t mode)
{
	char *copy, *p;
	int r = 0;

	copy = xstrdup(path);
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) == -1 && errno != EEXIST) {
			r = -1;
			break;
		}
		*p = '/';
	}
	if (r == 0 && mkdir(copy, mode) == -1 && errno != EEXIST)
		r = -1;
	free(copy);
	return r;
}
