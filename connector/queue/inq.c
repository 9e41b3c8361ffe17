/*
 * inq - the In/ queue runner (see inq.h).
 */
#include "inq.h"

#include <time.h>

#include "batch.h"
#include "dispose.h"
#include "log.h"
#include "qctx.h"
#include "qfile.h"
#include "qlist.h"
#include "tracklog.h"

/* inq_run - deliver due In/ entries, in batches */
size_t
inq_run(struct qctx *q, bool all, bool recovering)
{
	struct qlist names;
	struct batch *b;
	struct qenv e;
	struct buf err;
	time_t now = time(NULL);
	size_t i, tried = 0;

	q->in_due = false;
	if (qlist_read(q->dir[LAYOUT_IN], QFILE_ENV, &names) == -1) {
		log_warn("cannot list In");
		return 0;
	}
	b = batch_new(q);
	buf_init(&err);
	for (i = 0; i < names.n; i++) {
		buf_reset(&err);
		if (qenv_load(q->dir[LAYOUT_IN], names.qids[i], &e, &err) ==
		    -1) {
			dispose_quarantine(q, LAYOUT_IN, names.qids[i],
			    buf_cstr(&err));
			continue;
		}
		/* held (imc-queue hold): never tried, not even by a flush
		 * or after a crash, until released; an entry the pending
		 * tail will remove or rewrite is settled already */
		if (e.held != 0 || (!all && e.next_try > now) ||
		    batch_tail_has_in(q, e.qid)) {
			qenv_free(&e);
			continue;
		}
		tried++;
		batch_deliver_in(b, &e, recovering);
		qenv_free(&e);
	}
	(void)batch_commit(b);
	batch_free(b);
	buf_fini(&err);
	qlist_free(&names);
	tracklog_flush(q->track);
	return tried;
}
