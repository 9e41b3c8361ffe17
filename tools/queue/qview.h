/*
 * qview - what imc-queue reads of the queue, read-only.
 *
 * An entry is a Work/ file (in intake: only its size and claim time are
 * known), or an In/ or Out/ entry with its envelope (qfile.h). An In/
 * content file without an envelope is being delivered or finished and is
 * not listed; one whose envelope cannot be read is listed as unreadable
 * with the reason. qview never changes a file: the connector is the only
 * writer of queue state. The entries own their strings; qview_free
 * releases them.
 */
#ifndef IMC_QVIEW_H
#define IMC_QVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "layout.h"
#include "qfile.h"

enum qview_state {
	QVIEW_INTAKE,		/* a Work/ file */
	QVIEW_QUEUED,		/* never tried yet */
	QVIEW_DEFERRED,		/* tried, something pending */
	QVIEW_UNREADABLE	/* its envelope cannot be read */
};

struct qview_entry {
	enum layout_dir	 folder;	/* LAYOUT_WORK, LAYOUT_IN, LAYOUT_OUT */
	enum qview_state state;
	struct qenv	 env;	/* qid always; the rest when readable */
	char		*problem;	/* unreadable: why, else NULL */
};

struct qview {
	struct qview_entry *v;
	size_t		 n, cap;
};

/* Every entry of Work/, In/ and Out/, sorted by queue id (arrival order).
 * Returns 0, or -1 when a folder cannot be listed (its name and the
 * reason appended to err; the other folders are read all the same). */
int	qview_scan(int rootfd, struct qview *, struct buf *err);
/* The entry qid in Work/, In/ or Out/: 0, or -1 with errno ENOENT when
 * there is none. */
int	qview_find(int rootfd, const char *qid, struct qview_entry *);
void	qview_entry_fini(struct qview_entry *);
void	qview_free(struct qview *);
const char *qview_state_name(enum qview_state);
/* The folder's name as listings show it ("Work", "In", "Out"). */
const char *qview_folder_name(enum layout_dir);

#endif
