/*
 * failsyncfs - an LD_PRELOAD shim for the integration tests: syncfs()
 * fails (EIO, as after a disk error) for a number of calls once a named
 * file exists.
 *
 * Environment (read at each call, never written):
 *	FAILSYNCFS_ARM		a path; while no file is there, syncfs works
 *				(the test creates it when the failures are
 *				to begin, so start-up is not counted)
 *	FAILSYNCFS_COUNT	calls that fail once armed (default 1); the
 *				ones after work again
 *
 * Every other call goes to libc's syncfs, found with dlsym(RTLD_NEXT).
 * The connector makes a batch durable with one syncfs (qentry_barrier):
 * with COUNT 1 exactly one batch's barrier 1 fails.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* RTLD_NEXT, syncfs */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int syncfs(int);

static int (*real_syncfs)(int);
static long failed;		/* calls failed so far */

int
syncfs(int fd)
{
	const char *arm = getenv("FAILSYNCFS_ARM");
	const char *count = getenv("FAILSYNCFS_COUNT");
	long want = count != NULL ? strtol(count, NULL, 10) : 1;

	if (real_syncfs == NULL)
		real_syncfs = (int (*)(int))dlsym(RTLD_NEXT, "syncfs");
	if (arm != NULL && access(arm, F_OK) == 0 && failed < want) {
		failed++;
		errno = EIO;
		return -1;
	}
	if (real_syncfs == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real_syncfs(fd);
}
