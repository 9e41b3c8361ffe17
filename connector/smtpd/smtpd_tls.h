/*
 * smtpd_tls - the listener's OpenSSL server context (STARTTLS and
 * listen_implicit_tls): tls_cert_file (the chain, PEM) and tls_key_file.
 *
 * Made once at start, before the daemon gives up root, so a key only root
 * may read works. A key file that others may read, or that group or
 * others may write, is refused (the daemon does not start): a private key
 * others could read is no longer private. TLS 1.2 at least, no
 * renegotiation, partial writes and moving write buffers (the session's
 * output buffer grows between retries), no session tickets kept across
 * restarts. The SSL objects made from it are the caller's (SSL_free).
 */
#ifndef IMC_SMTPD_TLS_H
#define IMC_SMTPD_TLS_H

#include "buf.h"
#include "config.h"

struct ssl_ctx_st;
struct ssl_st;

/* NULL with err set; NULL with err empty: no certificate configured. */
struct ssl_ctx_st *smtpd_tls_new(const struct imc_config *, struct buf *err);
void	smtpd_tls_free(struct ssl_ctx_st *);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384" of a finished handshake. */
void	smtpd_tls_describe(struct ssl_st *, struct buf *out);

#endif
