/*
 * smtpd_auth - the listener's users for AUTH (smtpd_auth_file) and the
 * SASL PLAIN and LOGIN encodings.
 *
 * The file has one "name:hash" line per user (# comments, blank lines),
 * the hash as crypt(3) makes it: yescrypt ($y$) or SHA-512 ($6$); other
 * schemes (DES, MD5) are refused, as is a file group or others may touch
 * (it must be mode 0600 or 0400, owned by root or the service user, as
 * for auth_file). It is read once at start, before the daemon gives up
 * root. smtpd_auth_check runs crypt_r on the given password; a name not
 * in the file costs a crypt_r too, against a dummy hash, so the time does
 * not tell which names exist. Passwords are never logged and are wiped
 * from memory after the check.
 */
#ifndef IMC_SMTPD_AUTH_H
#define IMC_SMTPD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

struct smtpd_auth;

/* NULL with err set (err empty: no file configured). */
struct smtpd_auth *smtpd_auth_load(const char *path, uid_t service_uid,
	    struct buf *err);
void	smtpd_auth_free(struct smtpd_auth *);
bool	smtpd_auth_check(const struct smtpd_auth *, const char *user,
	    const char *pass);
/* PLAIN: base64 of "authzid\0user\0pass"; 0 with *user and *pass (the
 * caller frees them), -1 when malformed or authzid is another user. */
int	smtpd_auth_plain(const char *b64, size_t len, char **user, char **pass);
/* One base64 line of a LOGIN exchange, decoded; NULL when malformed. */
char	*smtpd_auth_b64(const char *b64, size_t len);

#endif
