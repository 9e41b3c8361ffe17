/*
 * inq - the In/ queue: entries whose store handoff was deferred (their
 * envelope, In/<qid>.env, holds the next try) and notifications' local
 * copies (due at once). inq_run lists In/, reads each envelope (one that
 * cannot be read is quarantined to Badmail), leaves held ones alone
 * (imc-queue hold), and hands the due ones to a
 * batch (batch.h) that delivers, notifies, records and removes them under
 * its barriers.
 */
#ifndef IMC_INQ_H
#define IMC_INQ_H

#include <stdbool.h>
#include <stddef.h>

struct qctx;

/* all: every entry, due or not; recovering: after a crash (the store
 * looks for copies it left). Returns the entries tried. */
size_t	inq_run(struct qctx *, bool all, bool recovering);

#endif
