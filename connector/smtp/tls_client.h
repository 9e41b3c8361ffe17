/*
 * tls_client - the OpenSSL client context that every outbound connection
 * shares, and the SSL objects made from it, one per connection.
 *
 * tls_client_new() sets up one SSL_CTX for the whole daemon: TLS 1.2 at
 * least, no renegotiation, partial writes and moving write buffers (the
 * output buffer of a connection grows and moves between retries), and
 * the CAs to trust: a PEM file, or the system's default paths.
 *
 * tls_client_ssl_new() makes the SSL object of one connection, in client
 * mode, on a non-blocking socket, with the policy of that connection:
 *   TLS_VERIFY_NONE  encrypt only: any certificate is taken (opportunistic
 *                    TLS to MX hosts, "tls = may" / "encrypt").
 *   TLS_VERIFY_PEER  the chain must lead to a trusted CA and the
 *                    certificate must name server_name (SSL_set1_host, no
 *                    partial wildcards like "f*.example.org"; an IP
 *                    literal is checked against the IP addresses).
 * server_name goes out as SNI unless it is an IP literal.
 *
 * Sockets: the SSL object reads and writes the socket through a BIO of
 * our own that sends with MSG_NOSIGNAL, so a peer that has gone away
 * gives EPIPE and never SIGPIPE, whatever the process does with the
 * signal. The BIO does not own the fd: the caller closes it.
 *
 * What it does not do: no I/O and no event loop (netconn drives the
 * handshake), no client certificates, no session resumption, no DANE.
 *
 * Ownership: the SSL object is the caller's (SSL_free). The tls_client
 * must outlive every SSL object made from it (they use its BIO method).
 * Errors: tls_client_new returns NULL with the reason in err (err may be
 * NULL); tls_client_ssl_new returns NULL with errno set (EINVAL: no
 * server_name to verify, or a name SNI cannot carry; ENOMEM).
 */
#ifndef IMC_TLS_CLIENT_H
#define IMC_TLS_CLIENT_H

#include "buf.h"

struct ssl_st;		/* OpenSSL's SSL */
struct tls_client;

/* The values are 0 and 1, so a true/false "verify?" reads the same. */
enum tls_verify {
	TLS_VERIFY_NONE = 0,	/* encrypt only, no certificate check */
	TLS_VERIFY_PEER = 1	/* trusted chain and matching host name */
};

/* ca_file: PEM file of the CAs to trust; NULL: the system's. */
struct tls_client *tls_client_new(const char *ca_file, struct buf *err);
void	tls_client_free(struct tls_client *);

struct ssl_st *tls_client_ssl_new(struct tls_client *, int fd,
	    const char *server_name, enum tls_verify);

#endif
