/*
 * requests - apply what tools asked for (see requests.h).
 */
#include "requests.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "inq.h"
#include "log.h"
#include "outq.h"
#include "qctx.h"
#include "qrequest.h"
#include "xalloc.h"

static void
requests_flush(struct qctx *q, struct outq *oq, const struct qrequest *rq)
{
	size_t i, n = 0;

	if (oq != NULL) {
		if (rq->all)
			n = outq_make_due(oq, NULL);
		else
			for (i = 0; i < rq->n_qids; i++)
				n += outq_make_due(oq, rq->qids[i]);
	}
	/* In/ entries are few (a store that failed for a while): all are
	 * tried now, which covers the named ones. */
	(void)inq_run(q, true, false);
	log_info("flush request: %zu Out entr%s made due", n,
	    n == 1 ? "y" : "ies");
	if (oq != NULL)
		(void)outq_run(oq);
}

/* requests_apply - every request in Log/, oldest name order irrelevant */
size_t
requests_apply(struct qctx *q, struct outq *oq)
{
	struct qrequest rq;
	struct buf err;
	struct dirent *de;
	DIR *dir;
	char **names = NULL;
	size_t n = 0, cap = 0, i, applied = 0;
	int fd;

	if ((fd = openat(q->dir[LAYOUT_LOG], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		log_warn("cannot list Log for requests");
		return 0;
	}
	/* Names first: applying a request must not race the listing. */
	while ((de = readdir(dir)) != NULL) {
		if (!qrequest_name_valid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	buf_init(&err);
	for (i = 0; i < n; i++) {
		buf_reset(&err);
		if (qrequest_read(q->dir[LAYOUT_LOG], names[i], &rq, &err) ==
		    -1)
			log_warnx("Log/%s: request ignored: %s", names[i],
			    buf_cstr(&err));
		else {
			requests_flush(q, oq, &rq);
			qrequest_free(&rq);
			applied++;
		}
		if (unlinkat(q->dir[LAYOUT_LOG], names[i], 0) == -1 &&
		    errno != ENOENT)
			log_warn("Log/%s", names[i]);
		free(names[i]);
	}
	free(names);
	buf_fini(&err);
	return applied;
}
