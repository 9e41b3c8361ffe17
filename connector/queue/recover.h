/*
 * recover - redo what a crash interrupted, at start-up (under the tree's
 * lock, before anything else runs).
 *
 * A Work/<qid> file means its batch did not end: the half-written entries
 * of that qid are removed and the file is taken again, with the same
 * queue id and so the same store names (nothing is delivered twice), in
 * batches. Temp names a crash left are removed; an In/ content file
 * without its envelope is a finished entry whose removal was cut short;
 * then every In/ entry is tried in recovery mode. Out/ is listed by the
 * Out/ queue itself (outq_load).
 */
#ifndef IMC_RECOVER_H
#define IMC_RECOVER_H

struct qctx;

int	recover_run(struct qctx *);

#endif
