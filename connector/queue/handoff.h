/*
 * handoff - the store handoff of one In/ entry: each pending recipient's
 * copy goes into its mailbox (store_maildir: a hard link of the entry's
 * content, or of a copy converted for the recipient's domain, under a
 * name made from the queue id and the recipient's index, so a delivery
 * redone after a crash finds its own file). Results go into the envelope
 * (done, failed, or still pending with the reason) and the tracking log.
 * Recipients whose domain's store is Drop (config_store_for) share one
 * Drop/ file per conversion (store_drop.h), named from the queue id the
 * same way at every try.
 * Durability is the caller's: the batch's barrier covers the new names.
 */
#ifndef IMC_HANDOFF_H
#define IMC_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>

struct qctx;
struct qenv;

/* recovering: look for copies a crash left (cur/ too). Returns the
 * recipients delivered now. */
size_t	handoff_deliver(const struct qctx *, struct qenv *, bool recovering);

#endif
