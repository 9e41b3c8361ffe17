/*
 * netconn - one outbound TCP connection (or a unix socket one, for LMTP)
 * on the event loop, with optional TLS (OpenSSL, non-blocking), for the
 * SMTP client. It owns the socket,
 * the output buffer, the TLS state and the connection's timers; the
 * protocol above it only sees bytes and events.
 *
 * netconn_connect() starts a non-blocking connect (with an optional source
 * address and a connect timeout). Everything that happens afterwards is
 * an event to the callback, always called from the loop, never from
 * inside a netconn_* call:
 *   CONNECTED  the connect succeeded (once).
 *   READ       data may be there: call netconn_read() until it returns 0
 *              or -1. Data OpenSSL has already decrypted is announced even
 *              when the socket is not readable again.
 *   DRAINED    the output buffer has become empty after it had to wait
 *              for the socket (flow control for a big body: write while
 *              netconn_out_pending() is below a mark, go on at DRAINED).
 *              A netconn_write() that goes out at once gives no DRAINED.
 *   TLS_DONE   the handshake ended: why NULL means TLS is up, else the
 *              reason it failed ("certificate verify failed: hostname
 *              mismatch"); after a failure only netconn_free() is left.
 *   EOF        the peer closed the connection (why: a short text).
 *   ERROR      the connection failed (why: "connect: Connection refused",
 *              "connect: timed out after 30000 ms", "read: Connection
 *              reset by peer", ...).
 *   TIMEOUT    the stage timer of netconn_set_timeout() or
 *              netconn_set_write_timeout() ran out; the connection is
 *              left as it is (free it or go on).
 * EOF and ERROR end a connection: one of them (or a failed TLS_DONE) is
 * reported, once, unless the owner frees the connection first; then
 * nothing but netconn_free() is left to do. why is valid until the
 * callback returns.
 *
 * Output: netconn_write() never blocks. It appends to the output buffer
 * (unbounded: the caller keeps it in check with netconn_out_pending())
 * and writes what the socket takes at once; the loop writes the rest.
 * Data written while connecting or during the handshake goes out when the
 * connection (or TLS) is up. netconn_free() drops what was not sent.
 *
 * TLS: netconn_start_tls() starts a client handshake on the connected
 * socket, for STARTTLS (after plain data) or implicit TLS (right after
 * CONNECTED). The output buffer must be empty and no plain input must be
 * waiting unread (bytes after the server's "220 go ahead" would be taken
 * into the TLS session: RFC 3207 injection), else it refuses.
 *
 * Freeing: netconn_free() may be called at any time, also from inside the
 * connection's own callback: no callback follows, the socket is closed at
 * once (close_notify sent if it can be, never waited for), and the memory
 * goes when the callback returns.
 *
 * Signals: the connection never raises SIGPIPE (MSG_NOSIGNAL, also under
 * TLS), so the caller need not ignore it.
 *
 * Errors: netconn_connect returns NULL with errno for local failures (no
 * socket, source address unusable); a failed connect is an ERROR event.
 * Other calls: -1 with errno. Out of memory is fatal (xalloc.h).
 */
#ifndef IMC_NETCONN_H
#define IMC_NETCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dns.h"
#include "tls_client.h"

struct evloop;
struct netconn;

enum netconn_event {
	NETCONN_EV_CONNECTED,
	NETCONN_EV_READ,
	NETCONN_EV_DRAINED,
	NETCONN_EV_TLS_DONE,
	NETCONN_EV_EOF,
	NETCONN_EV_ERROR,
	NETCONN_EV_TIMEOUT
};
#define NETCONN_EV_COUNT	7

/* event: an enum netconn_event; why: see above, NULL for most events */
typedef void netconn_event_fn(struct netconn *, int event, const char *why,
	    void *arg);

/* Zero-initialise: a field left 0 or NULL means "not used". */
struct netconn_params {
	int	 connect_timeout_ms;		/* 0: the kernel's (minutes) */
	const struct dns_addr *bind_addr;	/* source address; NULL: the
						   kernel's. Must have the
						   target's family, else
						   EAFNOSUPPORT. */
};

/* "127.0.0.2:2525", "[::1]:25" */
#define NETCONN_PEER_MAX	(INET6_ADDRSTRLEN + 8)

struct netconn *netconn_connect(struct evloop *, const struct dns_addr *addr,
	    uint16_t port, const struct netconn_params *, netconn_event_fn *,
	    void *arg);
/* The same to a unix stream socket (an LMTP store): path absolute and
 * shorter than sun_path (else NULL, ENAMETOOLONG); no bind_addr, no TLS
 * name checks worth having. netconn_peer() is "unix:" and the path. */
struct netconn *netconn_connect_unix(struct evloop *, const char *path,
	    const struct netconn_params *, netconn_event_fn *, void *arg);
void	netconn_free(struct netconn *);

/* >0: bytes read; 0: nothing now (or still connecting or in the
 * handshake); -1: the connection has ended, errno ENOTCONN (the EOF or
 * ERROR event reports it). */
ssize_t	netconn_read(struct netconn *, void *buf, size_t len);
/* 0: taken; -1: not taken (a size that overflows, ENOMEM), or the
 * connection has ended or has just failed (errno says why; the ERROR
 * event follows too). */
int	netconn_write(struct netconn *, const void *data, size_t len);
size_t	netconn_out_pending(const struct netconn *);

/* (Re)arm the one stage timer: TIMEOUT after ms; 0 cancels. It is a
 * deadline: data coming in or going out does not move it (a peer that
 * sends a reply a line at a time gets no more time). */
int	netconn_set_timeout(struct netconn *, int ms);
/* The same, except that it counts from the last time the output moved
 * (taken from the buffer, or acknowledged by the peer from the kernel's
 * send queue): TIMEOUT after ms (up to a quarter more) without progress
 * of the output; RFC 5321 4.5.3.2's timer per block of a body sent. */
int	netconn_set_write_timeout(struct netconn *, int ms);

/* -1: EBUSY output pending, EPROTO plain input unread, ENOTCONN not an
 * open plain connection, EINVAL/ENOMEM from tls_client_ssl_new. */
int	netconn_start_tls(struct netconn *, struct tls_client *,
	    const char *server_name, enum tls_verify);
bool	netconn_tls_active(const struct netconn *);
/* After TLS_DONE (ok): "TLSv1.3", "TLS_AES_256_GCM_SHA384"; NULL when TLS
 * is not up (also once the connection has ended): copy them at TLS_DONE
 * for logs. */
const char *netconn_tls_version(const struct netconn *);
const char *netconn_tls_cipher(const struct netconn *);
/* The chain and name were checked (TLS_VERIFY_PEER) and TLS is up. */
bool	netconn_tls_verified(const struct netconn *);
/* The peer certificate's subject CN for logs, printable ASCII only
 * (others shown as '?'); NULL when there is none. */
const char *netconn_tls_peer_cn(const struct netconn *);

/* The peer as "127.0.0.2:2525" or "[::1]:25", for logs. */
const char *netconn_peer(const struct netconn *);
const char *netconn_event_name(int event);

#endif
