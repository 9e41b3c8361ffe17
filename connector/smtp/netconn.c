/*
 * netconn - TCP and TLS on the event loop (see netconn.h).
 *
 * A connection is a state (connecting, open in plain, TLS handshake, open
 * in TLS, ended) plus what the socket must be watched for. The watch mask
 * is derived from the state each time something changes (nc_update_mask),
 * as in Redis's tls.c: what the owner wants (always input; output while
 * the buffer holds some) plus what OpenSSL wants (an SSL_read that needs
 * the socket writable, an SSL_write that needs it readable, the
 * handshake's direction).
 *
 * Events go out through nc_emit only. It counts how deep we are in the
 * owner's callback, so netconn_free() called from there only marks the
 * connection; nc_emit frees it when the outermost callback returns, and
 * every caller of nc_emit stops touching the connection when it says so.
 *
 * The end (EOF or ERROR) can be found inside a call of the owner's
 * (netconn_read sees the peer close, netconn_write a reset). Events never
 * come from inside netconn_* calls, so it is only recorded there
 * (nc_end), and reported when the owner's callback returns, or, if the
 * call came from elsewhere, by a zero-delay "kick" timer. The same kick
 * announces data OpenSSL holds decrypted when the socket will not become
 * readable again (the owner stopped reading before 0).
 *
 * Timers: one for the connect timeout, one stage timer for the owner, one
 * kick; all are cancelled by netconn_free and at the end. The stage timer
 * is a deadline: nothing moves it but the owner. One armed by
 * netconn_set_write_timeout (RFC 5321 4.5.3.2's timer per block of a
 * body) looks four times a period whether the output moved: more bytes
 * taken by send or SSL_write, or fewer in the kernel's send queue
 * (SIOCOUTQ: bytes not yet acknowledged) than ever since; it runs out a
 * period (up to a quarter more) after the last move. The kernel queue matters: with a slow
 * reader the socket holds megabytes, and the loop sees no writable socket
 * for seconds while the peer takes them.
 *
 * Diagnostics: none logged here; reasons go to the owner in the events.
 */
#include "netconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "evloop.h"
#include "xalloc.h"

/* A reason text: ours plus strerror or OpenSSL's reason string. Longer
 * texts are cut, which only shortens a diagnostic. */
#define NC_WHY_MAX	256
/* The peer's CN in logs: RFC 5280 allows 64 characters. */
#define NC_CN_MAX	256
/* Compact the output buffer once this much has been sent from its front
 * and that is at least half of it, so a long body does not grow it. */
#define NC_COMPACT_MIN	(64 * 1024)
/* One SSL_read/SSL_write call takes an int length. */
#define NC_SSL_IO_MAX	(1 << 30)

enum nc_state {
	NC_CONNECTING,
	NC_OPEN,	/* plain */
	NC_HANDSHAKE,
	NC_TLS,
	NC_ENDED	/* EOF, ERROR or a failed handshake: no more I/O */
};

struct netconn {
	struct evloop	*loop;
	netconn_event_fn *cb;
	void		*arg;
	int		 fd;
	struct evloop_io *io;
	enum nc_state	 state;
	char		 peer[NETCONN_PEER_MAX];

	struct buf	 out;		/* output; out_off bytes already sent */
	size_t		 out_off;

	SSL		*ssl;
	enum tls_verify	 verify;
	int		 hs_want;	/* handshake's wait: EVLOOP_READ/WRITE */
	bool		 read_wants_write;	/* SSL_read: WANT_WRITE */
	bool		 write_wants_read;	/* SSL_write: WANT_READ */
	char		*peer_cn;

	int		 connect_timeout_ms;
	uint64_t	 connect_timer;
	uint64_t	 stage_timer;
	int		 stage_ms;
	bool		 stage_on_write;	/* output moving restarts it */
	uint64_t	 written;	/* bytes send/SSL_write took, in all */
	uint64_t	 mark_written;	/* written at the last look */
	int		 low_outq;	/* the kernel's queue: lowest since
					   the last write; -1 unknown */
	uint64_t	 moved_ms;	/* the loop's time output last moved */
	uint64_t	 kick_timer;

	int		 end_event;	/* EOF or ERROR, once state is ENDED */
	int		 end_errno;	/* a failed write's errno, for its -1 */
	bool		 end_reported;
	char		 why[NC_WHY_MAX];

	int		 depth;		/* nesting of the owner's callback */
	bool		 freed;		/* netconn_free was called */
};

static const char *const event_names[NETCONN_EV_COUNT] = {
	"connected", "read", "drained", "tls_done", "eof", "error", "timeout"
};

static void nc_io(struct evloop *, int, int, void *);
static void nc_kick(struct evloop *, uint64_t, void *);

/* ---------------------------------------------------------------- helpers */

/* nc_set_why - format the reason text of the connection */
static void nc_set_why(struct netconn *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
nc_set_why(struct netconn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* A cut text is still a useful diagnostic: truncation is fine. */
	(void)vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

/* nc_cancel - cancel one of the connection's timers, if pending */
static void
nc_cancel(struct netconn *c, uint64_t *timer)
{
	if (*timer != 0)
		(void)evloop_timer_cancel(c->loop, *timer);
	*timer = 0;
}

/* nc_destroy - free the memory; everything else is already released */
static void
nc_destroy(struct netconn *c)
{
	buf_fini(&c->out);
	free(c->peer_cn);
	free(c);
}

/* nc_release - give back the socket, TLS state and timers */
static void
nc_release(struct netconn *c)
{
	nc_cancel(c, &c->connect_timer);
	nc_cancel(c, &c->stage_timer);
	nc_cancel(c, &c->kick_timer);
	if (c->io != NULL)
		evloop_unwatch(c->io);
	c->io = NULL;
	if (c->ssl != NULL) {
		/* close_notify if it goes out now; never wait for the peer's.
		 * Not after a failure: OpenSSL forbids it then. */
		if (c->state == NC_TLS) {
			ERR_clear_error();
			(void)SSL_shutdown(c->ssl);
			ERR_clear_error();
		}
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		(void)close(c->fd);
	c->fd = -1;
}

/*
 * nc_emit - call the owner. Returns false when the owner freed the
 * connection: it is gone (or goes when the outer callback returns) and
 * the caller must not touch it. An end found during the callback is
 * reported right after it.
 */
static bool
nc_emit(struct netconn *c, int event, const char *why)
{
	c->depth++;
	c->cb(c, event, why, c->arg);
	c->depth--;
	if (c->freed) {
		if (c->depth == 0)
			nc_destroy(c);
		return false;
	}
	if (c->depth == 0 && c->state == NC_ENDED && !c->end_reported) {
		c->end_reported = true;
		nc_cancel(c, &c->kick_timer);
		return nc_emit(c, c->end_event, c->why);
	}
	return true;
}

/* nc_update_mask - watch the socket for what the state needs */
static void
nc_update_mask(struct netconn *c)
{
	bool pending = c->out.len > c->out_off;
	int mask = 0;

	if (c->io == NULL)
		return;
	switch (c->state) {
	case NC_CONNECTING:
		mask = EVLOOP_WRITE;
		break;
	case NC_OPEN:
		mask = EVLOOP_READ | (pending ? EVLOOP_WRITE : 0);
		break;
	case NC_HANDSHAKE:
		mask = c->hs_want;
		break;
	case NC_TLS:
		/* Input is always wanted, so an SSL_write that waits for
		 * the socket to be readable is covered by EVLOOP_READ. */
		mask = EVLOOP_READ;
		if ((pending && !c->write_wants_read) || c->read_wants_write)
			mask |= EVLOOP_WRITE;
		break;
	case NC_ENDED:
		mask = 0;	/* parked: a dead socket must not spin */
		break;
	}
	if (evloop_mask(c->io) != mask)
		(void)evloop_modify(c->io, mask);	/* fails only on a
							   broken invariant */
}

/* nc_kick_arm - run nc_kick at the next round (no wait) */
static void
nc_kick_arm(struct netconn *c)
{
	if (c->kick_timer == 0)
		c->kick_timer = evloop_timer_add(c->loop, 0, nc_kick, c);
	/* Without memory for the timer the news waits for the next socket
	 * event or the owner's stage timer, which smtp_conn always arms: late,
	 * never lost. */
}

/*
 * nc_end - the connection has ended (EOF or ERROR, why already set): no
 * more I/O, timers stopped. Reported by the caller (from the loop), by
 * nc_emit (inside the owner's callback), or by the kick.
 */
static void
nc_end(struct netconn *c, int event)
{
	if (c->state == NC_ENDED)
		return;
	c->state = NC_ENDED;
	c->end_event = event;
	nc_cancel(c, &c->connect_timer);
	nc_cancel(c, &c->stage_timer);
	nc_update_mask(c);
	if (c->depth == 0)
		nc_kick_arm(c);
}

/* nc_report_end - from the loop: tell the owner about the end now */
static bool
nc_report_end(struct netconn *c)
{
	if (c->state != NC_ENDED || c->end_reported)
		return true;
	c->end_reported = true;
	nc_cancel(c, &c->kick_timer);
	return nc_emit(c, c->end_event, c->why);
}

/* nc_ssl_reason - OpenSSL's reason for the last failure, or fallback */
static const char *
nc_ssl_reason(const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	return reason != NULL ? reason : fallback;
}

/* nc_ssl_failed - note why an SSL call failed (not WANT_*) and end */
static void
nc_ssl_failed(struct netconn *c, const char *what, int ssl_error, int err)
{
	if (ssl_error == SSL_ERROR_ZERO_RETURN ||
	    (ssl_error == SSL_ERROR_SYSCALL && err == 0 &&
	    ERR_peek_error() == 0)) {
		nc_set_why(c, "connection closed by the peer");
		ERR_clear_error();
		nc_end(c, NETCONN_EV_EOF);
		return;
	}
	if (ssl_error == SSL_ERROR_SYSCALL && err != 0)
		nc_set_why(c, "%s: %s", what, strerror(err));
	else
		nc_set_why(c, "%s: %s", what, nc_ssl_reason("TLS error"));
	ERR_clear_error();
	nc_end(c, NETCONN_EV_ERROR);
}

/* nc_compact - drop what has been sent from the front of the buffer */
static void
nc_compact(struct netconn *c)
{
	if (c->out_off == c->out.len) {
		buf_reset(&c->out);
		c->out_off = 0;
	} else if (c->out_off >= NC_COMPACT_MIN &&
	    c->out_off >= c->out.len / 2) {
		/* Same bytes at a new address: fine for a pending SSL_write
		 * (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER). */
		buf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
}

/*
 * nc_flush - write out what the buffer holds, as far as the socket takes
 * it. Returns 0 (all or part written, or must wait), or -1 with the
 * connection ended.
 */
static int
nc_flush(struct netconn *c)
{
	size_t len;
	ssize_t n;
	int r, e, err;

	if (c->state == NC_TLS)
		c->write_wants_read = false;
	while (c->out.len > c->out_off) {
		len = c->out.len - c->out_off;
		if (c->state == NC_TLS) {
			/* The length never shrinks between a WANT_WRITE and
			 * its retry: the buffer only grows at the end. */
			ERR_clear_error();
			errno = 0;
			r = SSL_write(c->ssl, c->out.data + c->out_off,
			    len > NC_SSL_IO_MAX ? NC_SSL_IO_MAX : (int)len);
			if (r > 0) {
				c->out_off += (size_t)r;
				c->written += (uint64_t)r;
				continue;
			}
			err = errno;
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE)
				break;
			if (e == SSL_ERROR_WANT_READ) {
				c->write_wants_read = true;
				break;
			}
			c->end_errno = err != 0 ? err : EPIPE;
			nc_ssl_failed(c, "TLS write", e, err);
			return -1;
		}
		n = send(c->fd, c->out.data + c->out_off, len, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			c->written += (uint64_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			break;
		c->end_errno = n < 0 ? errno : EPIPE;
		nc_set_why(c, "write: %s", strerror(c->end_errno));
		nc_end(c, NETCONN_EV_ERROR);
		return -1;
	}
	nc_compact(c);
	return 0;
}

/* nc_check_decrypted - data OpenSSL holds decrypted is announced by the
 * kick: the socket will not say so */
static void
nc_check_decrypted(struct netconn *c)
{
	if (c->state == NC_TLS && SSL_pending(c->ssl) > 0)
		nc_kick_arm(c);
}

/* nc_keep_peer_cn - copy the certificate's subject CN for logs */
static void
nc_keep_peer_cn(struct netconn *c)
{
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	X509_NAME_ENTRY *entry;
	unsigned char *utf8 = NULL;
	X509_NAME *name;
	size_t i, n;
	int idx, len;

	if (cert == NULL || (name = X509_get_subject_name(cert)) == NULL ||
	    (idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0 ||
	    (entry = X509_NAME_get_entry(name, idx)) == NULL ||
	    (len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry)))
	    < 0) {
		ERR_clear_error();
		return;
	}
	n = (size_t)len > NC_CN_MAX ? NC_CN_MAX : (size_t)len;
	c->peer_cn = xmalloc(n + 1);
	/* The peer chose these bytes: keep logs one clean line. */
	for (i = 0; i < n; i++)
		c->peer_cn[i] = utf8[i] >= 0x20 && utf8[i] < 0x7f ?
		    (char)utf8[i] : '?';
	c->peer_cn[n] = '\0';
	OPENSSL_free(utf8);
}

/* nc_handshake - one step of the TLS handshake */
static void
nc_handshake(struct netconn *c)
{
	long verify_result;
	int r, e, err;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->state = NC_TLS;
		nc_keep_peer_cn(c);
		nc_update_mask(c);	/* output written meanwhile: send it */
		if (!nc_emit(c, NETCONN_EV_TLS_DONE, NULL))
			return;
		nc_check_decrypted(c);
		return;
	}
	err = errno;
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->hs_want = e == SSL_ERROR_WANT_READ ? EVLOOP_READ :
		    EVLOOP_WRITE;
		nc_update_mask(c);
		return;
	}
	verify_result = SSL_get_verify_result(c->ssl);
	if (c->verify == TLS_VERIFY_PEER && verify_result != X509_V_OK)
		nc_set_why(c, "certificate verify failed: %s",
		    X509_verify_cert_error_string(verify_result));
	else if (e == SSL_ERROR_ZERO_RETURN ||
	    (e == SSL_ERROR_SYSCALL && err == 0 && ERR_peek_error() == 0))
		nc_set_why(c, "TLS handshake: connection closed by the peer");
	else if (e == SSL_ERROR_SYSCALL && err != 0)
		nc_set_why(c, "TLS handshake: %s", strerror(err));
	else
		nc_set_why(c, "TLS handshake: %s",
		    nc_ssl_reason("failed"));
	ERR_clear_error();
	/* TLS_DONE is the end: no EOF or ERROR after it. */
	nc_end(c, NETCONN_EV_ERROR);
	c->end_reported = true;
	nc_cancel(c, &c->kick_timer);
	(void)nc_emit(c, NETCONN_EV_TLS_DONE, c->why);
}

/* nc_connected - the connect has finished: how? */
static void
nc_connected(struct netconn *c)
{
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0) {
		nc_set_why(c, "connect: %s", strerror(soerr));
		nc_end(c, NETCONN_EV_ERROR);
		(void)nc_report_end(c);
		return;
	}
	c->state = NC_OPEN;
	nc_cancel(c, &c->connect_timer);
	nc_update_mask(c);	/* output written while connecting */
	(void)nc_emit(c, NETCONN_EV_CONNECTED, NULL);
}

/* --------------------------------------------------------------- loop side */

/* nc_io - the socket is ready */
static void
nc_io(struct evloop *loop, int fd, int mask, void *arg)
{
	struct netconn *c = arg;
	bool had_output, can_write, can_read;

	switch (c->state) {
	case NC_CONNECTING:
		nc_connected(c);
		return;
	case NC_HANDSHAKE:
		nc_handshake(c);
		return;
	case NC_ENDED:
		return;		/* parked since this round's wait */
	case NC_OPEN:
	case NC_TLS:
		break;
	}
	/* What each direction can do now, TLS's crossed wants included. */
	can_write = c->write_wants_read ? (mask & EVLOOP_READ) != 0 :
	    (mask & EVLOOP_WRITE) != 0;
	can_read = (mask & EVLOOP_READ) != 0 ||
	    (c->read_wants_write && (mask & EVLOOP_WRITE) != 0);
	if (c->read_wants_write && (mask & EVLOOP_WRITE) != 0)
		c->read_wants_write = false;	/* the owner reads again */
	/* Output here has waited: netconn_write sends what it can at once. */
	had_output = c->out.len > c->out_off;
	if (had_output && can_write && nc_flush(c) == -1) {
		(void)nc_report_end(c);
		return;
	}
	nc_update_mask(c);
	if (had_output && c->out.len == c->out_off) {
		if (!nc_emit(c, NETCONN_EV_DRAINED, NULL))
			return;
		if (c->state != NC_OPEN && c->state != NC_TLS)
			return;
	}
	if (can_read) {
		if (!nc_emit(c, NETCONN_EV_READ, NULL))
			return;
		nc_check_decrypted(c);
	}
}

/* nc_kick - the zero-delay timer: an end to report, or decrypted data */
static void
nc_kick(struct evloop *loop, uint64_t id, void *arg)
{
	struct netconn *c = arg;

	c->kick_timer = 0;
	if (c->state == NC_ENDED) {
		(void)nc_report_end(c);
		return;
	}
	if (c->state == NC_TLS && SSL_pending(c->ssl) > 0) {
		if (!nc_emit(c, NETCONN_EV_READ, NULL))
			return;
		nc_check_decrypted(c);
	}
}

/* nc_connect_timer - the connect took too long */
static void
nc_connect_timer(struct evloop *loop, uint64_t id, void *arg)
{
	struct netconn *c = arg;

	c->connect_timer = 0;
	if (c->state != NC_CONNECTING)
		return;
	nc_set_why(c, "connect: timed out after %d ms", c->connect_timeout_ms);
	nc_end(c, NETCONN_EV_ERROR);
	(void)nc_report_end(c);
}

/* nc_outq - bytes in the kernel's send queue not yet acknowledged; -1
 * when it cannot say */
static int
nc_outq(const struct netconn *c)
{
	int n;

	if (c->fd == -1 || ioctl(c->fd, SIOCOUTQ, &n) == -1)
		return -1;
	return n;
}

/*
 * nc_output_moved - has our output moved since the last look? More taken
 * by send or SSL_write, or the peer has acknowledged more of it: the
 * kernel's queue fell below its lowest since our last write. A queue that
 * grows without a write of ours (OpenSSL answering a KeyUpdate inside
 * SSL_read) and shrinks back is no progress: a peer cannot buy time so.
 */
static bool
nc_output_moved(struct netconn *c)
{
	int outq = nc_outq(c);

	if (c->written != c->mark_written) {
		c->mark_written = c->written;
		c->low_outq = outq;
		return true;
	}
	if (outq >= 0 && c->low_outq >= 0 && outq < c->low_outq) {
		c->low_outq = outq;
		return true;
	}
	if (c->low_outq < 0)
		c->low_outq = outq;
	return false;
}

/* nc_stage_timer - the owner's stage timer ran out, or a write timer's
 * look: did the output move? */
static void
nc_stage_timer(struct evloop *loop, uint64_t id, void *arg)
{
	struct netconn *c = arg;
	uint64_t now, step, left;

	c->stage_timer = 0;
	if (c->state == NC_ENDED)
		return;
	if (c->stage_on_write) {
		now = evloop_now_ms(loop);
		if ((c->state == NC_OPEN || c->state == NC_TLS) &&
		    nc_output_moved(c))
			c->moved_ms = now;
		if (c->moved_ms + (uint64_t)c->stage_ms > now) {
			left = c->moved_ms + (uint64_t)c->stage_ms - now;
			step = (uint64_t)c->stage_ms / 4 + 1;
			c->stage_timer = evloop_timer_add(loop, left < step ?
			    left : step, nc_stage_timer, c);
			if (c->stage_timer != 0)
				return;
			/* without memory for the timer: the timeout, now */
		}
	}
	(void)nc_emit(c, NETCONN_EV_TIMEOUT, NULL);
}

/* ------------------------------------------------------------------ public */

/* fill_sockaddr - a dns_addr and port as a sockaddr; 0, or -1 */
static int
fill_sockaddr(const struct dns_addr *a, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = a->u.v4;
		*len = sizeof(*sin);
		return 0;
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = a->u.v6;
		*len = sizeof(*sin6);
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

/* format_peer - "192.0.2.7:25" or "[2001:db8::7]:25" */
static void
format_peer(const struct dns_addr *a, uint16_t port, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->u.v4 :
	    (const void *)&a->u.v6, text, sizeof(text)) == NULL)
		(void)snprintf(text, sizeof(text), "?");
	/* Fits: NETCONN_PEER_MAX has room for the longest address. */
	(void)snprintf(out, size, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    text, (unsigned)port);
}

/* nc_start - a socket of the family, connecting to ss; the outcome comes
 * as an event. src: the source address, or NULL. */
static struct netconn *
nc_start(struct evloop *loop, int family, const struct sockaddr_storage *ss,
    socklen_t sslen, const struct sockaddr_storage *src, socklen_t srclen,
    const char *peer, const struct netconn_params *params,
    netconn_event_fn *cb, void *arg)
{
	struct netconn *c;
	int one = 1, e;

	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->cb = cb;
	c->arg = arg;
	c->state = NC_CONNECTING;
	buf_init(&c->out);
	(void)snprintf(c->peer, sizeof(c->peer), "%s", peer);
	if ((c->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	/* SMTP sends a short command and waits for the reply: with Nagle
	 * and the peer's delayed ACK that costs up to 40 ms a turn. */
	if (family != AF_UNIX)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (src != NULL) {
		/* The port is picked at connect(), per destination, so many
		 * connections from one source address do not run out. */
		(void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
		    &one, sizeof(one));
		if (bind(c->fd, (const struct sockaddr *)src, srclen) == -1)
			goto fail;
	}
	if ((c->io = evloop_watch(loop, c->fd, EVLOOP_WRITE, nc_io, c)) == NULL)
		goto fail;
	if (params != NULL && params->connect_timeout_ms > 0) {
		c->connect_timeout_ms = params->connect_timeout_ms;
		if ((c->connect_timer = evloop_timer_add(loop,
		    (uint64_t)params->connect_timeout_ms, nc_connect_timer,
		    c)) == 0)
			goto fail;
	}
	if (connect(c->fd, (const struct sockaddr *)ss, sslen) == -1 &&
	    errno != EINPROGRESS) {
		/* Refused or unreachable at once: an event like any other
		 * outcome of connecting, from the loop. A unix socket whose
		 * listener is busy says EAGAIN: refused for now, too. */
		nc_set_why(c, "connect: %s", strerror(errno));
		nc_end(c, NETCONN_EV_ERROR);
		if (c->kick_timer == 0)
			goto fail;
	}
	/* Connected or not, the socket turns writable: nc_io finds out. */
	return c;

fail:
	e = errno;
	nc_release(c);
	nc_destroy(c);
	errno = e != 0 ? e : ENOMEM;
	return NULL;
}

/* netconn_connect - start connecting; the outcome comes as an event */
struct netconn *
netconn_connect(struct evloop *loop, const struct dns_addr *addr,
    uint16_t port, const struct netconn_params *params, netconn_event_fn *cb,
    void *arg)
{
	struct sockaddr_storage ss, src;
	socklen_t sslen, srclen = 0;
	char peer[NETCONN_PEER_MAX];
	bool bind_src = params != NULL && params->bind_addr != NULL;

	if (loop == NULL || addr == NULL || cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (fill_sockaddr(addr, port, &ss, &sslen) == -1)
		return NULL;
	if (bind_src) {
		if (params->bind_addr->family != addr->family) {
			errno = EAFNOSUPPORT;
			return NULL;
		}
		if (fill_sockaddr(params->bind_addr, 0, &src, &srclen) == -1)
			return NULL;
	}
	format_peer(addr, port, peer, sizeof(peer));
	return nc_start(loop, addr->family, &ss, sslen, bind_src ? &src : NULL,
	    srclen, peer, params, cb, arg);
}

/* netconn_connect_unix - the same to a unix stream socket (LMTP) */
struct netconn *
netconn_connect_unix(struct evloop *loop, const char *path,
    const struct netconn_params *params, netconn_event_fn *cb, void *arg)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	size_t len;

	if (loop == NULL || path == NULL || cb == NULL ||
	    (params != NULL && params->bind_addr != NULL)) {
		errno = EINVAL;
		return NULL;
	}
	if ((len = strlen(path)) == 0 || len >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	/* the peer for logs is "unix:" and the path, cut to fit */
	{
		char peer[NETCONN_PEER_MAX];

		if (snprintf(peer, sizeof(peer), "unix:%s", path) >=
		    (int)sizeof(peer))
			peer[sizeof(peer) - 2] = '~';	/* cut: logs only */
		return nc_start(loop, AF_UNIX, &ss, (socklen_t)(offsetof(struct
		    sockaddr_un, sun_path) + len + 1), NULL, 0, peer, params,
		    cb, arg);
	}
}

/* netconn_free - close and forget; safe inside the callback; NULL is fine */
void
netconn_free(struct netconn *c)
{
	if (c == NULL || c->freed)
		return;
	c->freed = true;
	nc_release(c);
	if (c->depth == 0)
		nc_destroy(c);
	/* else nc_emit frees it when the callback returns */
}

/* netconn_read - what has arrived, plain or decrypted */
ssize_t
netconn_read(struct netconn *c, void *buf, size_t len)
{
	ssize_t n;
	int r, e, err;

	if (c->freed || c->state == NC_ENDED) {
		errno = ENOTCONN;
		return -1;
	}
	if ((c->state != NC_OPEN && c->state != NC_TLS) || len == 0)
		return 0;
	if (c->state == NC_TLS) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(c->ssl, buf, len > NC_SSL_IO_MAX ? NC_SSL_IO_MAX :
		    (int)len);
		if (r > 0)
			return r;
		err = errno;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return 0;
		if (e == SSL_ERROR_WANT_WRITE) {
			c->read_wants_write = true;
			nc_update_mask(c);
			return 0;
		}
		nc_ssl_failed(c, "TLS read", e, err);
		errno = ENOTCONN;
		return -1;
	}
	n = recv(c->fd, buf, len, 0);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 0;
	if (n == 0) {
		nc_set_why(c, "connection closed by the peer");
		nc_end(c, NETCONN_EV_EOF);
	} else {
		nc_set_why(c, "read: %s", strerror(errno));
		nc_end(c, NETCONN_EV_ERROR);
	}
	errno = ENOTCONN;
	return -1;
}

/* netconn_write - queue data and send what the socket takes now */
int
netconn_write(struct netconn *c, const void *data, size_t len)
{
	if (c->freed || c->state == NC_ENDED) {
		errno = ENOTCONN;
		return -1;
	}
	if (len == 0)
		return 0;
	nc_compact(c);
	if (buf_append(&c->out, data, len) == -1) {
		errno = ENOMEM;
		return -1;
	}
	/* Try at once (one round less per command); DRAINED is only for
	 * output that had to wait, so none comes from here. */
	if (c->state == NC_OPEN || (c->state == NC_TLS &&
	    !c->write_wants_read)) {
		if (nc_flush(c) == -1) {
			/* nc_flush ended the connection; say why now, the
			 * ERROR event follows. */
			errno = c->end_errno;
			return -1;
		}
	}
	nc_update_mask(c);
	return 0;
}

/* netconn_out_pending - bytes taken by netconn_write and not yet sent */
size_t
netconn_out_pending(const struct netconn *c)
{
	return c->out.len - c->out_off;
}

/* nc_set_stage - (re)arm the stage timer, a deadline or a write timeout */
static int
nc_set_stage(struct netconn *c, int ms, bool on_write)
{
	if (ms < 0) {
		errno = EINVAL;
		return -1;
	}
	nc_cancel(c, &c->stage_timer);
	c->stage_ms = ms;
	c->stage_on_write = on_write;
	if (ms == 0 || c->freed || c->state == NC_ENDED)
		return 0;
	if (on_write) {
		c->mark_written = c->written;	/* marks from now */
		c->low_outq = nc_outq(c);
		c->moved_ms = evloop_now_ms(c->loop);
	}
	if ((c->stage_timer = evloop_timer_add(c->loop, on_write ?
	    (uint64_t)ms / 4 + 1 : (uint64_t)ms, nc_stage_timer, c)) == 0)
		return -1;
	return 0;
}

/* netconn_set_timeout - (re)arm the stage timer as a deadline; 0 cancels */
int
netconn_set_timeout(struct netconn *c, int ms)
{
	return nc_set_stage(c, ms, false);
}

/* netconn_set_write_timeout - the same, restarted by output progress */
int
netconn_set_write_timeout(struct netconn *c, int ms)
{
	return nc_set_stage(c, ms, true);
}

/* netconn_start_tls - begin the client handshake on the open socket */
int
netconn_start_tls(struct netconn *c, struct tls_client *tls,
    const char *server_name, enum tls_verify verify)
{
	char byte;
	ssize_t n;

	if (c->freed || c->state != NC_OPEN) {
		errno = ENOTCONN;
		return -1;
	}
	if (c->out.len > c->out_off) {
		errno = EBUSY;
		return -1;
	}
	/* Plain bytes after the "220" (or before an implicit handshake)
	 * were not sent under TLS: taking them in would be the STARTTLS
	 * command injection of CVE-2011-0411. */
	n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0) {
		errno = EPROTO;
		return -1;
	}
	if ((c->ssl = tls_client_ssl_new(tls, c->fd, server_name, verify)) ==
	    NULL)
		return -1;
	c->verify = verify;
	c->state = NC_HANDSHAKE;
	/* The ClientHello goes out from the loop (the socket is writable),
	 * so TLS_DONE never comes from inside this call. */
	c->hs_want = EVLOOP_WRITE;
	nc_update_mask(c);
	return 0;
}

/* netconn_tls_active - TLS is up */
bool
netconn_tls_active(const struct netconn *c)
{
	return c->state == NC_TLS;
}

/* netconn_tls_version - "TLSv1.3", or NULL */
const char *
netconn_tls_version(const struct netconn *c)
{
	return c->state == NC_TLS ? SSL_get_version(c->ssl) : NULL;
}

/* netconn_tls_cipher - the cipher suite's name, or NULL */
const char *
netconn_tls_cipher(const struct netconn *c)
{
	return c->state == NC_TLS ? SSL_get_cipher_name(c->ssl) : NULL;
}

/* netconn_tls_verified - up with the chain and the name checked */
bool
netconn_tls_verified(const struct netconn *c)
{
	return c->state == NC_TLS && c->verify == TLS_VERIFY_PEER &&
	    SSL_get_verify_result(c->ssl) == X509_V_OK;
}

/* netconn_tls_peer_cn - the subject CN, printable, or NULL */
const char *
netconn_tls_peer_cn(const struct netconn *c)
{
	return c->peer_cn;
}

/* netconn_peer - the peer address for logs */
const char *
netconn_peer(const struct netconn *c)
{
	return c->peer;
}

/* netconn_event_name - an event as a word for logs */
const char *
netconn_event_name(int event)
{
	if (event < 0 || event >= NETCONN_EV_COUNT)
		return "unknown";
	return event_names[event];
}
