/*
 * store_drop - the IIS-style Drop folder (store = drop): Imcdata/Drop/.
 *
 * One file per message and conversion: "<qid>.eml" (drop_name), starting
 * with "x-sender: ADDR" (the null sender as "<>") and one "x-receiver:
 * ADDR" line per recipient, lower case as IIS wrote them, then the message
 * with CRLF line ends. The queue copy's own "Return-Path:" line (the
 * connector's, for Maildir) is left out: IIS wrote none.
 *
 * A file is published whole: written as an unnamed O_TMPFILE in Drop/
 * (else under a hidden temp name, ".<name>.tmp") and then linked in under
 * its name, which fails rather than replace anything: a reader polling
 * the folder sees nothing or the whole file. Mode 0640; the group is the
 * folder's (imc-layout gives Drop/ the drop_group, set-group-ID), so
 * members of drop_group may read the files and others may not. The name
 * comes from the queue id, so a delivery redone after a crash finds its
 * own file (a regular file of the connector's user) and does not write a
 * second one; anything else under that name defers the delivery.
 * Durability is the caller's: the batch's barrier covers the new names.
 */
#ifndef IMC_STORE_DROP_H
#define IMC_STORE_DROP_H

#include <stddef.h>
#include <stdint.h>

#include "mailstatus.h"

/* The name of a Drop file: "<qid>.eml" for k == 0, else "<qid>_<k>.eml"
 * (a further conversion of the same message); -1 if it does not fit. */
int	drop_name(char *out, size_t size, const char *qid, size_t k);
/* Publish drop_dirfd/name from src_dirfd/src_name for sender ("" is the
 * null sender) and n recipients: 0 written now, 1 found there (an earlier
 * delivery's), either with the file's size in *size; -1 with the reason in
 * st (TEMP). */
int	drop_deliver(int drop_dirfd, int src_dirfd, const char *src_name,
	    const char *sender, const char *const *rcpts, size_t n,
	    const char *name, uint64_t *size, struct mail_status *st);

#endif
