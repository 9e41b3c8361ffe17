/*
 * failalloc - an LD_PRELOAD shim for the integration tests: one memory
 * allocation fails, right after a named file is opened.
 *
 * Environment (read at the first call, never written):
 *	FAILALLOC_OPEN_SUFFIX	a file name ending ("Out/...env": ".env");
 *				the first openat() of a name with it arms
 *				the shim; unset, the shim does nothing
 *	FAILALLOC_SKIP		allocations to let through once armed
 *				(default 0: the very next one fails)
 *
 * The one failing malloc, calloc or realloc returns NULL with ENOMEM, as
 * glibc does when memory runs out; every other call goes to the next
 * definition (libc's, or the sanitizer's under ASan), found with
 * dlsym(RTLD_NEXT). The trigger is a file being opened rather than a count
 * from the start, so the failure lands at the same point of the program
 * (for example qenv_load: the read buffer, then the first unescaped
 * field) whatever ran before.
 *
 * dlsym may allocate while the real functions are being looked up: those
 * few bytes come from a static arena, and free() ignores them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* RTLD_NEXT, O_TMPFILE (the build defines it too) */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_openat)(int, const char *, int, ...);

static int resolving;		/* inside failalloc_resolve */
static int triggered;		/* the named file was opened (once) */
static int armed;		/* the failure is still to come */
static long skip_left;

static _Alignas(max_align_t) unsigned char arena[4096];
static size_t arena_used;

static void *
failalloc_arena(size_t n)
{
	size_t a = _Alignof(max_align_t);
	void *p;

	n = (n + a - 1) / a * a;
	if (n > sizeof(arena) - arena_used)
		return NULL;
	p = arena + arena_used;
	arena_used += n;
	return p;
}

static int
failalloc_in_arena(const void *p)
{
	return (const unsigned char *)p >= arena &&
	    (const unsigned char *)p < arena + sizeof(arena);
}

static void
failalloc_resolve(void)
{
	if (real_malloc != NULL || resolving)
		return;
	resolving = 1;
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT,
	    "openat");
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	resolving = 0;
}

/* Is this the allocation that fails? */
static int
failalloc_now(void)
{
	if (!armed)
		return 0;
	if (skip_left > 0) {
		skip_left--;
		return 0;
	}
	armed = 0;
	return 1;
}

void *
malloc(size_t n)
{
	if (real_malloc == NULL) {
		if (resolving)
			return failalloc_arena(n);
		failalloc_resolve();
	}
	if (failalloc_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_malloc(n);
}

void *
calloc(size_t count, size_t size)
{
	void *p;

	if (real_calloc == NULL) {
		if (resolving) {
			if (size != 0 && count > SIZE_MAX / size)
				return NULL;
			if ((p = failalloc_arena(count * size)) != NULL)
				memset(p, 0, count * size);
			return p;
		}
		failalloc_resolve();
	}
	if (failalloc_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_calloc(count, size);
}

void *
realloc(void *old, size_t n)
{
	if (real_realloc == NULL)
		failalloc_resolve();
	if (failalloc_in_arena(old))
		return NULL;	/* never asked for: dlsym does not grow */
	if (failalloc_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_realloc(old, n);
}

void
free(void *p)
{
	if (p == NULL || failalloc_in_arena(p))
		return;
	if (real_free == NULL)
		failalloc_resolve();
	real_free(p);
}

static int
failalloc_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	const char *suffix;
	size_t pl, sl;

	if (real_openat == NULL)
		failalloc_resolve();
	if (!triggered && path != NULL &&
	    (suffix = getenv("FAILALLOC_OPEN_SUFFIX")) != NULL &&
	    (sl = strlen(suffix)) > 0 && (pl = strlen(path)) >= sl &&
	    strcmp(path + pl - sl, suffix) == 0) {
		const char *skip = getenv("FAILALLOC_SKIP");

		triggered = 1;
		armed = 1;
		skip_left = skip != NULL ? strtol(skip, NULL, 10) : 0;
	}
	return real_openat(dirfd, path, flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return failalloc_openat(dirfd, path, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return failalloc_openat(dirfd, path, flags, mode);
}
