/*
 * tls_client - the shared OpenSSL client context (see tls_client.h).
 *
 * The socket BIO: OpenSSL's own socket BIO writes with write(2), which
 * raises SIGPIPE on a connection the peer has reset. Ours is the same
 * small source/sink on a non-blocking fd, but sends with MSG_NOSIGNAL. It
 * keeps the fd in the BIO's data pointer (no allocation) and marks end
 * of input with BIO_FLAGS_IN_EOF, which OpenSSL asks through BIO_eof() to
 * tell a closed connection from a failed read.
 *
 * Diagnostics: none logged here; tls_client_new reports through err.
 */
#include "tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "xalloc.h"

struct tls_client {
	SSL_CTX		*ctx;
	BIO_METHOD	*sock_method;	/* the MSG_NOSIGNAL socket BIO */
};

/* sock_bio_fd - the fd a BIO of ours works on */
static int
sock_bio_fd(BIO *b)
{
	return (int)(intptr_t)BIO_get_data(b);
}

/* sock_bio_write - send, never SIGPIPE; would-block is a retry */
static int
sock_bio_write(BIO *b, const char *data, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	n = send(sock_bio_fd(b), data, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

/* sock_bio_read - recv; 0 is the peer's end, would-block is a retry */
static int
sock_bio_read(BIO *b, char *data, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	n = recv(sock_bio_fd(b), data, (size_t)len, 0);
	if (n == 0)
		BIO_set_flags(b, BIO_FLAGS_IN_EOF);
	else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

/* sock_bio_puts - BIO_puts, for completeness */
static int
sock_bio_puts(BIO *b, const char *s)
{
	size_t len = strlen(s);

	return sock_bio_write(b, s, len > INT_MAX ? INT_MAX : (int)len);
}

/* sock_bio_ctrl - the few controls a socket sink answers */
static long
sock_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;	/* nothing is buffered here */
	case BIO_CTRL_EOF:
		return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
	case BIO_C_GET_FD:
		if (ptr != NULL)
			*(int *)ptr = sock_bio_fd(b);
		return sock_bio_fd(b);
	default:
		return 0;	/* not supported (kTLS, dgram, ...) */
	}
}

/* tls_client_new - the one client SSL_CTX, with CAs from ca_file or the
 * system */
struct tls_client *
tls_client_new(const char *ca_file, struct buf *err)
{
	struct tls_client *t;
	unsigned long e;
	int type;

	ERR_clear_error();
	t = xcalloc(1, sizeof(*t));
	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1)
		goto openssl_failed;
	/*
	 * Partial writes: SSL_write returns as soon as a record is out, so
	 * a big body does not wait for the whole buffer. Moving buffer: the
	 * output buffer may be compacted or grown between a WANT_WRITE and
	 * the retry. No renegotiation: SMTP never needs it, and without it
	 * SSL_write never has to read. Unexpected EOF: SMTP has its own end
	 * (QUIT, the reply), and many servers close without close_notify.
	 */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
			e = ERR_peek_last_error();
			if (err != NULL)
				(void)buf_printf(err, "TLS CA file %s: %s",
				    ca_file, e != 0 && ERR_reason_error_string(e)
				    != NULL ? ERR_reason_error_string(e) :
				    "cannot load it");
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1)
		goto openssl_failed;
	if ((type = BIO_get_new_index()) == -1 ||
	    (t->sock_method = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK,
	    "imc socket")) == NULL ||
	    BIO_meth_set_write(t->sock_method, sock_bio_write) != 1 ||
	    BIO_meth_set_read(t->sock_method, sock_bio_read) != 1 ||
	    BIO_meth_set_puts(t->sock_method, sock_bio_puts) != 1 ||
	    BIO_meth_set_ctrl(t->sock_method, sock_bio_ctrl) != 1)
		goto openssl_failed;
	ERR_clear_error();
	return t;

openssl_failed:
	e = ERR_peek_last_error();
	if (err != NULL)
		(void)buf_printf(err, "TLS: cannot set up OpenSSL: %s",
		    e != 0 && ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : "out of memory");
fail:
	ERR_clear_error();
	tls_client_free(t);
	return NULL;
}

/* tls_client_free - free the context; NULL is fine */
void
tls_client_free(struct tls_client *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	if (t->sock_method != NULL)
		BIO_meth_free(t->sock_method);
	free(t);
}

/* is_ip_literal - an IPv4 or IPv6 address as text */
static int
is_ip_literal(const char *name)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, name, &a4) == 1 ||
	    inet_pton(AF_INET6, name, &a6) == 1;
}

/* tls_client_ssl_new - a client SSL object on fd with the given policy */
SSL *
tls_client_ssl_new(struct tls_client *t, int fd, const char *server_name,
    enum tls_verify verify)
{
	SSL *ssl = NULL;
	BIO *bio = NULL;
	int ip;

	if (t == NULL || fd < 0 ||
	    (verify == TLS_VERIFY_PEER && server_name == NULL) ||
	    (server_name != NULL && strlen(server_name) >
	    TLSEXT_MAXLEN_host_name)) {
		errno = EINVAL;
		return NULL;
	}
	ERR_clear_error();
	if ((ssl = SSL_new(t->ctx)) == NULL ||
	    (bio = BIO_new(t->sock_method)) == NULL)
		goto nomem;
	BIO_set_data(bio, (void *)(intptr_t)fd);
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio);	/* one BIO both ways: one reference */
	ip = server_name != NULL && is_ip_literal(server_name);
	/* RFC 6066: SNI carries host names only, never addresses. */
	if (server_name != NULL && !ip &&
	    SSL_set_tlsext_host_name(ssl, server_name) != 1)
		goto nomem;
	if (verify == TLS_VERIFY_PEER) {
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    server_name) != 1 : SSL_set1_host(ssl, server_name) != 1)
			goto nomem;
	} else
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	SSL_set_connect_state(ssl);
	return ssl;

nomem:
	ERR_clear_error();
	SSL_free(ssl);		/* and the BIO, once it is set */
	errno = ENOMEM;
	return NULL;
}
