/*
 * xalloc - memory allocation that cannot fail.
 *
 * Running out of memory is fatal in every program here: the queue is on
 * disk and a restart is safe, while carrying on with a half-built object
 * could turn a valid queue entry into "corrupt" (Badmail) or lose a
 * message. Each function below returns usable memory or writes one
 * "out of memory" line through the log module and exits with EX_OSERR
 * (71). A request whose size does not fit in size_t (count times size in
 * xcalloc and xreallocarray) is the same: it cannot be satisfied.
 *
 * A zero size gives a valid unique pointer, never NULL, so a NULL return
 * never needs a check. The results are the caller's to free(). The "x"
 * prefix stands for the module name (the usual spelling of these helpers).
 */
#ifndef IMC_XALLOC_H
#define IMC_XALLOC_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t count, size_t size);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t count, size_t size);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t maxlen);
void	*xmemdup(const void *, size_t);
/* getline(3), except that running out of memory is fatal: -1 is the end
 * of the input or a read error (ferror tells which), never a line cut
 * short for want of memory. */
ssize_t	xgetline(char **line, size_t *cap, FILE *);

#endif
