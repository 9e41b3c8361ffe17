/*
 * netconn - one outbound TCP connection on the event loop, with optional
 * TLS (OpenSSL, non-blocking), for the SMTP client.
 *
 * netconn_connect starts a non-blocking connect; the callback hears
 * CONNECTED, then READ when data can be read (drain it with netconn_read
 * until it returns 0), DRAINED when the output buffer has been written out,
 * TLS_DONE when a handshake ends (why NULL: ok, else the reason), EOF,
 * ERROR (why says what), and TIMEOUT when the stage timer set with
 * netconn_set_timeout runs out. netconn_write never blocks: it appends to
 * an output buffer that the loop writes as the socket allows.
 *
 * TLS: netconn_start_tls begins a client handshake on the connected
 * socket (STARTTLS, or implicit TLS right after CONNECTED), with SNI for a
 * host name and, when verify is set, the chain and the host name checked
 * (SSL_set1_host). Data OpenSSL has already decrypted is delivered even
 * when the socket is not readable again.
 *
 * The caller must ignore SIGPIPE (the daemon does). netconn_free may be
 * called from inside the callback: the memory goes at the end of the loop
 * round and no further callback is made.
 */
#ifndef IMC_NETCONN_H
#define IMC_NETCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "dns.h"

struct evloop;
struct netconn;
struct tls_client;

enum netconn_event {
	NETCONN_EV_CONNECTED,
	NETCONN_EV_READ,
	NETCONN_EV_DRAINED,
	NETCONN_EV_TLS_DONE,
	NETCONN_EV_EOF,
	NETCONN_EV_ERROR,
	NETCONN_EV_TIMEOUT
};

typedef void netconn_event_fn(struct netconn *, int event, const char *why,
	    void *arg);

struct netconn_params {
	int	 connect_timeout_ms;	/* 0: none */
};

struct netconn *netconn_connect(struct evloop *, const struct dns_addr *,
	    uint16_t port, const struct netconn_params *, netconn_event_fn *,
	    void *arg);
void	netconn_free(struct netconn *);
/* >0 bytes; 0 nothing now (or the end: EOF/ERROR is reported). */
ssize_t	netconn_read(struct netconn *, void *, size_t);
int	netconn_write(struct netconn *, const void *, size_t);
size_t	netconn_out_pending(const struct netconn *);
/* (Re)arm the stage timer; 0 cancels. */
void	netconn_set_timeout(struct netconn *, int ms);
int	netconn_start_tls(struct netconn *, struct tls_client *,
	    const char *server_name, bool verify);
bool	netconn_tls_active(const struct netconn *);
const char *netconn_tls_version(const struct netconn *);
const char *netconn_tls_cipher(const struct netconn *);

/* One SSL_CTX for every connection: TLS 1.2 at least; ca_file NULL: the
 * system's CAs. */
struct tls_client *tls_client_new(const char *ca_file, struct buf *err);
void	tls_client_free(struct tls_client *);

#endif
