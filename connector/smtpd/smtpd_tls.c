/*
 * smtpd_tls - the listener's TLS server context (see smtpd_tls.h).
 */
#include "smtpd_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static void
smtpd_tls_error(struct buf *err, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char text[256];

	ERR_error_string_n(e, text, sizeof(text));
	buf_printf(err, "%s %s: %s", what, path, e != 0 ? text : "failed");
	ERR_clear_error();
}

/* smtpd_tls_new - the server context, or NULL */
struct ssl_ctx_st *
smtpd_tls_new(const struct imc_config *cfg, struct buf *err)
{
	SSL_CTX *ctx;
	struct stat st;
	int fd;

	if (cfg->tls_cert_file == NULL && cfg->tls_key_file == NULL)
		return NULL;
	if (cfg->tls_cert_file == NULL || cfg->tls_key_file == NULL) {
		buf_printf(err, "%s: tls_cert_file and tls_key_file go "
		    "together", cfg->path);
		return NULL;
	}
	/* the mode of the file itself, not of what a link points to */
	if ((fd = open(cfg->tls_key_file, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		buf_printf(err, "%s: tls_key_file %s: %s", cfg->path,
		    cfg->tls_key_file, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	close(fd);
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IROTH | S_IWOTH |
	    S_IWGRP)) != 0) {
		buf_printf(err, "%s: tls_key_file %s is mode %04o: a private "
		    "key must not be readable by others nor writable by group "
		    "or others (0600 or 0640)", cfg->path, cfg->tls_key_file,
		    (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		smtpd_tls_error(err, "TLS", "context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
		smtpd_tls_error(err, "tls_cert_file", cfg->tls_cert_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		smtpd_tls_error(err, "tls_key_file", cfg->tls_key_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
smtpd_tls_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}

void
smtpd_tls_describe(struct ssl_st *ssl, struct buf *out)
{
	buf_printf(out, "%s/%s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
}
