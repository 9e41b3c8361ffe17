/*
 * store_maildir - the built-in store: Maildir under Store/<domain>/<local>/.
 *
 * A delivery hard-links the queue's content file (already durable, written
 * once and never changed) into the mailbox's new/ under a name made from
 * the queue id and the recipient's index, so a delivery redone after a
 * crash finds its own earlier file instead of making a second one. The
 * link is atomic, as the tmp-then-rename of the Maildir convention is; if
 * the filesystem refuses the link, the file is copied into tmp/, fsynced
 * and renamed into new/. The caller makes the new names durable with one
 * filesystem barrier per batch.
 *
 * Mailbox folders are created on first delivery (mode 0700); every path
 * step is opened with O_NOFOLLOW, so a symbolic link in the store is never
 * followed. Names are lowercased; a local part that cannot be a folder
 * name ("/", a leading ".", control bytes) fails permanently (5.1.3).
 */
#ifndef IMC_STORE_MALDIR_H
#define IMC_STORE_MALDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "mailstatus.h"

struct maildir_store;

struct maildir_store *maildir_open(int store_dirfd, const char *hostname);
/* recovering: also look in cur/ for an earlier copy (after a crash). */
int	maildir_deliver(struct maildir_store *, int src_dirfd,
	    const char *src_name, const char *rcpt, const char *unique,
	    bool recovering, struct mail_status *);
/* The mailbox of an address, as two new strings (the caller frees them):
 * the local part unquoted, both lowercased. Two addresses with the same
 * key are one mailbox. -1: no domain (EINVAL). */
int	maildir_key(const char *rcpt, char **local, char **domain);
/* The file name a delivery uses: "<time>.<unique>.<host>". */
int	maildir_name(const struct maildir_store *, long long time,
	    const char *unique, char *out, size_t size);
void	maildir_close(struct maildir_store *);

#endif
