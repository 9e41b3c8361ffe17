/*
 * safeio - careful file operations shared by every program.
 *
 * Opens never follow symbolic links (O_NOFOLLOW) and never block on FIFOs
 * or devices (O_NONBLOCK, then a check of the type). Writes retry on short
 * counts and EINTR. The durable publish step is: write a temp name, fsync
 * the file, rename, fsync the folder. All functions return 0 or a valid
 * descriptor on success and -1 with errno set on failure.
 */
#ifndef IMC_SAFEIO_H
#define IMC_SAFEIO_H

#include <stddef.h>
#include <sys/types.h>

int	safe_write_all(int fd, const void *, size_t);
ssize_t	safe_read_full(int fd, void *, size_t);
int	safe_fsync_dir(int dirfd);
int	safe_fsync_path_dir(const char *path);
int	safe_open_dir(int atfd, const char *path);
int	safe_atomic_write(int dirfd, const char *name, const void *, size_t,
	    mode_t mode, int sync);
int	safe_mkdir_p(const char *path, mode_t mode);

#endif
