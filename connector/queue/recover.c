/*
 * recover - redo what a crash interrupted (see recover.h).
 */
#include "recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "inq.h"
#include "log.h"
#include "qctx.h"
#include "qentry.h"
#include "qfile.h"
#include "qlist.h"
#include "tracklog.h"

/* Work files are redone this many to a batch (one barrier each). */
#define RECOVER_BATCH	256

/* Remove the temp names a crash left (qfile_is_temp): only this process
 * writes them, under the lock. */
static void
recover_sweep_temps(struct qctx *q, enum layout_dir dir)
{
	struct dirent *de;
	DIR *dh;
	int fd;

	if ((fd = openat(q->dir[dir], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dh = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(dh)) != NULL)
		if (de->d_type != DT_DIR && qfile_is_temp(de->d_name))
			(void)unlinkat(q->dir[dir], de->d_name, 0);
	closedir(dh);
}

/* recover_run - at start-up */
int
recover_run(struct qctx *q)
{
	struct qlist names;
	struct batch *b;
	char name[QID_SIZE + 16];
	size_t i;

	/* 0. A listener's message whose final dot never came (Work/.<qid>
	 * .smtp.tmp): nobody was told it was taken; it goes. */
	recover_sweep_temps(q, LAYOUT_WORK);

	/* 1. Work files: their batch did not end; take them again. */
	if (qlist_read(q->dir[LAYOUT_WORK], "", &names) == -1)
		return -1;
	b = batch_new(q);
	for (i = 0; i < names.n; i++) {
		log_info("%s: redoing an interrupted intake", names.qids[i]);
		(void)batch_accept_work(b, names.qids[i], names.qids[i], true);
		if ((i + 1) % RECOVER_BATCH == 0)
			(void)batch_commit(b);
	}
	(void)batch_commit(b);
	batch_free(b);
	qlist_free(&names);

	/* 2. Temp names a crash left. */
	recover_sweep_temps(q, LAYOUT_IN);
	recover_sweep_temps(q, LAYOUT_OUT);

	/* 3. Content without an envelope in In/: finished (the envelope is
	 * removed first). */
	if (qlist_read(q->dir[LAYOUT_IN], QFILE_EML, &names) == -1)
		return -1;
	for (i = 0; i < names.n; i++) {
		qentry_name(name, sizeof(name), names.qids[i], QFILE_ENV);
		if (faccessat(q->dir[LAYOUT_IN], name, F_OK,
		    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT) {
			qentry_name(name, sizeof(name), names.qids[i], QFILE_EML);
			unlinkat(q->dir[LAYOUT_IN], name, 0);
		}
	}
	qlist_free(&names);
	tracklog_flush(q->track);

	/* 4. Every In/ entry is tried now, in recovery mode. */
	(void)inq_run(q, true, true);
	return 0;
}
