/*
 * qentry - one queue entry on disk: In/<qid>.eml or Out/<qid>.eml (the
 * content, written once) with its envelope (qfile.h), plus the names the
 * queue gives to copies it makes for a while (LAYOUT.md lists them all).
 *
 * qentry_create makes the content file; qentry_remove drops an entry
 * (the envelope first: a content file without one is a finished entry a
 * crash left, which recovery removes); qentry_publish gives a repaired or
 * converted copy (a memfd or an O_TMPFILE descriptor) a name;
 * qentry_barrier is the one filesystem sync a batch shares.
 */
#ifndef IMC_QENTRY_H
#define IMC_QENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

struct qctx;

/* "<qid><suffix>" into out (suffix: QFILE_EML, QFILE_ENV, ".bad" ...). */
void	qentry_name(char *out, size_t size, const char *qid, const char *suffix);
/* A new content file In/ or Out/<qid>.eml, for writing. */
int	qentry_create(const struct qctx *, enum layout_dir, const char *qid);
void	qentry_remove(const struct qctx *, enum layout_dir, const char *qid);
/* Both queues: the half-written entries of an intake to redo. */
void	qentry_remove_all(const struct qctx *, const char *qid);
/* A second name for the content (In/Archive, Out/Archive). */
void	qentry_link(const struct qctx *, enum layout_dir from, enum layout_dir to,
	    const char *qid);
/* fd's content under name in dirfd, through tmp; its size into *size. */
int	qentry_publish(int dirfd, int fd, bool in_memory, const char *tmp,
	    const char *name, uint64_t *size);
/* Make everything written so far durable: one syncfs. */
int	qentry_barrier(const struct qctx *);

#endif
