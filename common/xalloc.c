/*
 * xalloc - allocation that exits on failure (see xalloc.h).
 */
#include "xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"

/* xalloc_fail - the one way out when memory is refused */
static void __attribute__((noreturn))
xalloc_fail(const char *fn, size_t count, size_t size)
{
	log_nomem(EX_OSERR, fn, count, size);
}

/* xmalloc - malloc that never returns NULL */
void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		xalloc_fail("xmalloc", 1, n);
	return p;
}

/* xcalloc - zeroed array; count * size is checked for overflow */
void *
xcalloc(size_t count, size_t size)
{
	void *p;

	if (count == 0 || size == 0)
		count = size = 1;
	/* calloc checks the product itself; the test is here so that the
	 * message names the size asked for either way */
	if (size > SIZE_MAX / count || (p = calloc(count, size)) == NULL)
		xalloc_fail("xcalloc", count, size);
	return p;
}

/* xrealloc - resize, never NULL (a zero size keeps one byte) */
void *
xrealloc(void *old, size_t n)
{
	void *p;

	if ((p = realloc(old, n ? n : 1)) == NULL)
		xalloc_fail("xrealloc", 1, n);
	return p;
}

/* xreallocarray - resize to count elements of size; overflow is fatal */
void *
xreallocarray(void *old, size_t count, size_t size)
{
	size_t n;
	void *p;

	if (size != 0 && count > SIZE_MAX / size)
		xalloc_fail("xreallocarray", count, size);
	n = count * size;
	if ((p = realloc(old, n != 0 ? n : 1)) == NULL)
		xalloc_fail("xreallocarray", count, size);
	return p;
}

/* xstrdup - copy of a C string */
char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

/* xstrndup - copy of at most maxlen bytes of s, NUL-terminated */
char *
xstrndup(const char *s, size_t maxlen)
{
	size_t n = strnlen(s, maxlen);
	char *p;

	if (n == SIZE_MAX)
		xalloc_fail("xstrndup", 1, n);
	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* xmemdup - copy of n bytes */
void *
xmemdup(const void *src, size_t n)
{
	void *p = xmalloc(n);

	if (n > 0)
		memcpy(p, src, n);
	return p;
}

/* xgetline - getline, fatal when memory runs out (see xalloc.h) */
ssize_t
xgetline(char **line, size_t *cap, FILE *fp)
{
	ssize_t n;

	/* glibc reports a failed growth as -1 with ENOMEM and leaves the
	 * stream's error flag clear: it would look like the end. */
	errno = 0;
	if ((n = getline(line, cap, fp)) == -1 && errno == ENOMEM)
		xalloc_fail("getline", 1, *cap);
	return n;
}
