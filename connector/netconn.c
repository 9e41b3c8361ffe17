/*
 * netconn - TCP and TLS on the event loop (see netconn.h).
 */
#include "netconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "evloop.h"

enum nc_state { NC_CONNECTING, NC_OPEN, NC_HANDSHAKE, NC_TLS, NC_CLOSED };

struct tls_client {
	SSL_CTX	*ctx;
};

struct netconn {
	struct evloop	*loop;
	int		 fd;
	struct evloop_io *io;
	enum nc_state	 state;
	struct buf	 out;
	size_t		 out_off;	/* written so far of out */
	SSL		*ssl;
	bool		 read_wants_write;
	bool		 write_wants_read;
	bool		 eof;		/* seen by a read */
	char		 err[256];	/* set by a failed read/write */
	uint64_t	 timer;
	netconn_event_fn *cb;
	void		*arg;
	bool		 dead;		/* freed by the caller */
	bool		 pending_check;	/* deferred SSL_pending look queued */
};

static void nc_io(struct evloop *, int, int, void *);

/* ---------------------------------------------------------------- TLS ctx */

struct tls_client *
tls_client_new(const char *ca_file, struct buf *err)
{
	struct tls_client *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		buf_puts(err, "out of memory");
		return NULL;
	}
	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1) {
		buf_puts(err, "TLS: cannot set up OpenSSL");
		goto fail;
	}
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
			buf_printf(err, "tls_ca_file %s: cannot load it", ca_file);
			goto fail;
		}
	} else
		(void)SSL_CTX_set_default_verify_paths(t->ctx);
	return t;
fail:
	tls_client_free(t);
	return NULL;
}

void
tls_client_free(struct tls_client *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

/* ------------------------------------------------------------- internals */

static void
nc_emit(struct netconn *c, int ev, const char *why)
{
	if (!c->dead)
		c->cb(c, ev, why, c->arg);
}

static void
nc_update_mask(struct netconn *c)
{
	int mask = 0;

	if (c->dead || c->io == NULL)
		return;
	switch (c->state) {
	case NC_CONNECTING:
		mask = EVLOOP_WRITE;
		break;
	case NC_HANDSHAKE:
		mask = c->read_wants_write ? EVLOOP_WRITE : EVLOOP_READ;
		break;
	case NC_OPEN:
	case NC_TLS:
		mask = EVLOOP_READ;
		if (c->out.len > c->out_off || c->read_wants_write)
			mask |= EVLOOP_WRITE;
		break;
	case NC_CLOSED:
		mask = 0;
		break;
	}
	evloop_modify(c->io, mask);
}

static void
nc_set_err(struct netconn *c, const char *what)
{
	unsigned long e = ERR_get_error();

	if (e != 0) {
		char text[200];

		ERR_error_string_n(e, text, sizeof(text));
		snprintf(c->err, sizeof(c->err), "%s: %s", what, text);
	} else if (errno != 0)
		snprintf(c->err, sizeof(c->err), "%s: %s", what,
		    strerror(errno));
	else
		snprintf(c->err, sizeof(c->err), "%s", what);
	ERR_clear_error();
}

/* Write out what the buffer holds, as far as the socket takes it; 0, or
 * -1 with c->err set. */
static int
nc_flush(struct netconn *c)
{
	ssize_t n;
	int r, e;

	c->write_wants_read = false;
	while (c->out.len > c->out_off) {
		size_t len = c->out.len - c->out_off;

		if (c->state == NC_TLS) {
			ERR_clear_error();
			r = SSL_write(c->ssl, c->out.data + c->out_off,
			    len > 1 << 30 ? 1 << 30 : (int)len);
			if (r > 0) {
				c->out_off += (size_t)r;
				continue;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE)
				return 0;
			if (e == SSL_ERROR_WANT_READ) {
				c->write_wants_read = true;
				return 0;
			}
			nc_set_err(c, "TLS write failed");
			return -1;
		}
		n = send(c->fd, c->out.data + c->out_off, len, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return 0;
		nc_set_err(c, "write failed");
		return -1;
	}
	buf_reset(&c->out);
	c->out_off = 0;
	return 0;
}

static void
nc_handshake(struct netconn *c)
{
	int r, e;
	long vr;

	c->read_wants_write = false;
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->state = NC_TLS;
		nc_update_mask(c);
		nc_emit(c, NETCONN_EV_TLS_DONE, NULL);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->read_wants_write = e == SSL_ERROR_WANT_WRITE;
		nc_update_mask(c);
		return;
	}
	vr = SSL_get_verify_result(c->ssl);
	if (vr != X509_V_OK)
		snprintf(c->err, sizeof(c->err), "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		snprintf(c->err, sizeof(c->err), "TLS handshake: %s",
		    errno != 0 ? strerror(errno) : "connection closed");
	else
		nc_set_err(c, "TLS handshake failed");
	ERR_clear_error();
	c->state = NC_CLOSED;
	nc_update_mask(c);
	nc_emit(c, NETCONN_EV_TLS_DONE, c->err);
}

static void
nc_pending_check(struct evloop *loop, void *arg)
{
	struct netconn *c = arg;

	c->pending_check = false;
	if (!c->dead && c->state == NC_TLS && SSL_pending(c->ssl) > 0)
		nc_emit(c, NETCONN_EV_READ, NULL);
}

static void
nc_free_deferred(struct evloop *loop, void *arg)
{
	struct netconn *c = arg;

	buf_fini(&c->out);
	free(c);
}

static void
nc_timer(struct evloop *loop, uint64_t id, void *arg)
{
	struct netconn *c = arg;

	c->timer = 0;
	nc_emit(c, NETCONN_EV_TIMEOUT, NULL);
}

static void
nc_io(struct evloop *loop, int fd, int mask, void *arg)
{
	struct netconn *c = arg;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	switch (c->state) {
	case NC_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
			soerr = errno;
		if (soerr != 0) {
			snprintf(c->err, sizeof(c->err), "connect: %s",
			    strerror(soerr));
			c->state = NC_CLOSED;
			nc_update_mask(c);
			nc_emit(c, NETCONN_EV_ERROR, c->err);
			return;
		}
		c->state = NC_OPEN;
		netconn_set_timeout(c, 0);
		nc_update_mask(c);
		nc_emit(c, NETCONN_EV_CONNECTED, NULL);
		return;
	case NC_HANDSHAKE:
		nc_handshake(c);
		return;
	case NC_CLOSED:
		return;
	case NC_OPEN:
	case NC_TLS:
		break;
	}
	if ((mask & EVLOOP_WRITE) || c->write_wants_read) {
		bool had = c->out.len > c->out_off;

		if (c->read_wants_write) {
			/* a TLS read was waiting to write: read again */
			c->read_wants_write = false;
			mask |= EVLOOP_READ;
		}
		if (nc_flush(c) == -1) {
			c->state = NC_CLOSED;
			nc_update_mask(c);
			nc_emit(c, NETCONN_EV_ERROR, c->err);
			return;
		}
		nc_update_mask(c);
		if (had && c->out.len == 0) {
			nc_emit(c, NETCONN_EV_DRAINED, NULL);
			if (c->dead)
				return;
		}
	}
	if (mask & EVLOOP_READ) {
		nc_emit(c, NETCONN_EV_READ, NULL);
		if (c->dead)
			return;
		if (c->eof || c->err[0] != '\0') {
			c->state = NC_CLOSED;
			nc_update_mask(c);
			if (c->err[0] != '\0')
				nc_emit(c, NETCONN_EV_ERROR, c->err);
			else
				nc_emit(c, NETCONN_EV_EOF, NULL);
			return;
		}
		if (c->state == NC_TLS && SSL_pending(c->ssl) > 0 &&
		    !c->pending_check &&
		    evloop_defer(c->loop, nc_pending_check, c) == 0)
			c->pending_check = true;
	}
}

/* ---------------------------------------------------------------- public */

struct netconn *
netconn_connect(struct evloop *loop, const struct dns_addr *a, uint16_t port,
    const struct netconn_params *p, netconn_event_fn *cb, void *arg)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct netconn *c;

	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = a->u.v4;
		sl = sizeof(*sin);
	} else if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = a->u.v6;
		sl = sizeof(*sin6);
	} else {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = loop;
	c->cb = cb;
	c->arg = arg;
	buf_init(&c->out);
	c->state = NC_CONNECTING;
	if ((c->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	/* SMTP writes small commands and waits for replies: without
	 * TCP_NODELAY, Nagle and the peer's delayed ACK cost 40 ms a turn. */
	{
		int one = 1;

		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	if (connect(c->fd, (struct sockaddr *)&ss, sl) == -1 &&
	    errno != EINPROGRESS)
		goto fail;
	if ((c->io = evloop_watch(loop, c->fd, EVLOOP_WRITE, nc_io, c)) ==
	    NULL)
		goto fail;
	if (p != NULL && p->connect_timeout_ms > 0)
		netconn_set_timeout(c, p->connect_timeout_ms);
	return c;
fail:
	{
		int e = errno;

		if (c->fd != -1)
			close(c->fd);
		buf_fini(&c->out);
		free(c);
		errno = e;
	}
	return NULL;
}

void
netconn_free(struct netconn *c)
{
	if (c == NULL || c->dead)
		return;
	c->dead = true;
	if (c->timer != 0)
		evloop_timer_cancel(c->loop, c->timer);
	c->timer = 0;
	if (c->io != NULL)
		evloop_unwatch(c->io);
	c->io = NULL;
	if (c->ssl != NULL) {
		/* Best effort close_notify: never wait for the peer's. */
		if (c->state == NC_TLS)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
	if (evloop_defer(c->loop, nc_free_deferred, c) == -1) {
		/* Without memory for the deferral the struct leaks rather
		 * than being freed under a running callback. */
	}
}

ssize_t
netconn_read(struct netconn *c, void *buf, size_t len)
{
	ssize_t n;
	int r, e;

	if (c->dead || c->eof || c->err[0] != '\0' ||
	    (c->state != NC_OPEN && c->state != NC_TLS))
		return 0;
	if (c->state == NC_TLS) {
		ERR_clear_error();
		r = SSL_read(c->ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len);
		if (r > 0)
			return r;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return 0;
		if (e == SSL_ERROR_WANT_WRITE) {
			c->read_wants_write = true;
			nc_update_mask(c);
			return 0;
		}
		if (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
		    errno == 0))
			c->eof = true;
		else
			nc_set_err(c, "TLS read failed");
		return 0;
	}
	n = recv(c->fd, buf, len, 0);
	if (n > 0)
		return n;
	if (n == 0)
		c->eof = true;
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		nc_set_err(c, "read failed");
	return 0;
}

int
netconn_write(struct netconn *c, const void *data, size_t len)
{
	if (c->dead || (c->state != NC_OPEN && c->state != NC_TLS)) {
		errno = ENOTCONN;
		return -1;
	}
	if (c->out_off > 0 && c->out_off == c->out.len) {
		buf_reset(&c->out);
		c->out_off = 0;
	}
	if (buf_append(&c->out, data, len) == -1)
		return -1;
	/* Try at once; DRAINED comes only from the loop, never from here,
	 * so a caller writing in a loop is not called back inside it. */
	if (!c->write_wants_read && nc_flush(c) == -1) {
		errno = EPIPE;
		return -1;
	}
	nc_update_mask(c);
	return 0;
}

size_t
netconn_out_pending(const struct netconn *c)
{
	return c->out.len - c->out_off;
}

void
netconn_set_timeout(struct netconn *c, int ms)
{
	if (c->dead)
		return;
	if (c->timer != 0)
		evloop_timer_cancel(c->loop, c->timer);
	c->timer = 0;
	if (ms > 0)
		c->timer = evloop_timer_add(c->loop, (uint64_t)ms, nc_timer, c);
}

int
netconn_start_tls(struct netconn *c, struct tls_client *t,
    const char *server_name, bool verify)
{
	struct in6_addr a6;
	struct in_addr a4;
	bool is_ip;

	if (c->dead || c->state != NC_OPEN || c->out.len > c->out_off ||
	    t == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((c->ssl = SSL_new(t->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		errno = ENOMEM;
		return -1;
	}
	is_ip = server_name == NULL ||
	    inet_pton(AF_INET, server_name, &a4) == 1 ||
	    inet_pton(AF_INET6, server_name, &a6) == 1;
	if (!is_ip)
		(void)SSL_set_tlsext_host_name(c->ssl, server_name);
	if (verify) {
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (server_name != NULL && (is_ip ?
		    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    server_name) != 1 : SSL_set1_host(c->ssl, server_name) != 1)) {
			errno = EINVAL;
			return -1;
		}
	} else
		SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
	SSL_set_connect_state(c->ssl);
	/* The handshake starts from the loop (the socket is writable), so
	 * TLS_DONE never comes from inside this call. */
	c->state = NC_HANDSHAKE;
	c->read_wants_write = true;
	nc_update_mask(c);
	return 0;
}

bool
netconn_tls_active(const struct netconn *c)
{
	return c->state == NC_TLS;
}

const char *
netconn_tls_version(const struct netconn *c)
{
	return c->ssl != NULL ? SSL_get_version(c->ssl) : "none";
}

const char *
netconn_tls_cipher(const struct netconn *c)
{
	const char *name = c->ssl != NULL ? SSL_get_cipher_name(c->ssl) : NULL;

	return name != NULL ? name : "none";
}
