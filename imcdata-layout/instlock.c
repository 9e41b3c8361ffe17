/*
 * instlock - one connector per Imcdata tree (see instlock.h).
 */
#include "instlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
instlock_whole(struct flock *fl, short type)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = 0;
	fl->l_len = 0;
}

/* instlock_acquire - take the tree's lock or say who has it */
int
instlock_acquire(int log_dirfd, pid_t *holder)
{
	struct flock fl;
	char text[32];
	int fd, n, saved;

	*holder = 0;
	fd = openat(log_dirfd, INSTLOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	instlock_whole(&fl, F_WRLCK);
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		saved = errno;
		if (saved == EAGAIN || saved == EACCES) {
			instlock_whole(&fl, F_WRLCK);
			if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
				*holder = fl.l_pid;
			saved = EWOULDBLOCK;
		}
		close(fd);
		errno = saved;
		return -1;
	}
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, text, (size_t)n, 0) != n) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* instlock_holder - who holds the lock now (0: nobody) */
pid_t
instlock_holder(int log_dirfd)
{
	struct flock fl;
	int fd;

	fd = openat(log_dirfd, INSTLOCK_FILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	/* F_GETLK with a read lock asks "would a reader be blocked", which
	 * an open-for-reading descriptor may ask. */
	instlock_whole(&fl, F_RDLCK);
	if (fcntl(fd, F_GETLK, &fl) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return fl.l_type == F_UNLCK ? 0 : (fl.l_pid > 0 ? fl.l_pid : 1);
}
