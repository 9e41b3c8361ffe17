/*
 * smtpd - the SMTP listener (see smtpd.h).
 */
#include "smtpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dns.h"
#include "evloop.h"
#include "imc_limits.h"
#include "log.h"
#include "pickup_file.h"
#include "protolog.h"
#include "qfile.h"
#include "qid.h"
#include "safeio.h"
#include "smtpd_auth.h"
#include "smtpd_cmd.h"
#include "smtpd_data.h"
#include "smtpd_policy.h"
#include "smtpd_tls.h"
#include "xalloc.h"

/* Accepts per readiness of a listener: others get their turn. */
#define SMTPD_ACCEPT_BURST	64
/* Message bytes written to the Work file at once. */
#define SMTPD_WRITE_CHUNK	(64 * 1024)
/* smtpd_reverse_dns: how long the greeting waits for the client's name,
 * and each DNS try within that */
#define SMTPD_RDNS_WAIT_MS	3000
#define SMTPD_RDNS_TRY_MS	1000
#define SMTPD_RDNS_TRIES	2

struct smtpd_session;

/* A client name lookup in flight; s is NULL once its session went (the
 * answer is then thrown away). */
TAILQ_HEAD(smtpd_rdns_list, smtpd_rdns);
struct smtpd_rdns {
	TAILQ_ENTRY(smtpd_rdns) link;
	struct smtpd_rdns_list *list;	/* sd->rdns, where it is kept */
	struct smtpd_session *s;
	struct dns_addr addr;
};

struct smtpd_dns_watch {
	int		 fd;
	struct evloop_io *io;
};

enum smtpd_state {
	SMTPD_S_GREET,		/* greet pause: the client must be silent */
	SMTPD_S_TLS_WAIT,	/* 220 to STARTTLS going out, then TLS */
	SMTPD_S_HANDSHAKE,	/* TLS handshake */
	SMTPD_S_CMD,
	SMTPD_S_DATA,
	SMTPD_S_BDAT,		/* a BDAT chunk's bytes */
	SMTPD_S_COMMIT,		/* final dot read, waiting for the batch */
	SMTPD_S_CLOSE		/* replies flushed, then closed */
};

struct smtpd_session {
	TAILQ_ENTRY(smtpd_session) link;
	struct smtpd	*sd;
	int		 fd;
	struct evloop_io *io;
	uint64_t	 timer;
	struct sockaddr_storage peer;
	char		 addr[INET6_ADDRSTRLEN + 8];
	char		*name;		/* forward-confirmed PTR name, or NULL */
	struct smtpd_rdns *rdns;	/* the lookup of name, in flight */
	uint64_t	 accepted_ms;	/* evloop ms of the accept */
	bool		 greet_due;	/* the greet pause passed, DNS waits */
	enum smtpd_state state;
	char		 sid[QID_SIZE];	/* for the protocol log */
	struct buf	 in, out;
	/* TLS */
	SSL		*ssl;
	bool		 implicit;	/* a listen_implicit_tls session */
	bool		 tls_want_write; /* OpenSSL waits to write */
	bool		 starttls;	/* STARTTLS taken: the 220, then TLS */
	char		*tls_desc;	/* "TLSv1.3/cipher" once up */
	/* AUTH */
	enum { SMTPD_AUTH_NONE, SMTPD_AUTH_PLAIN, SMTPD_AUTH_LOGIN_USER,
	    SMTPD_AUTH_LOGIN_PASS } auth_step;
	char		*auth_login_user;
	char		*auth_user;	/* once authenticated */
	bool		 skip_line;	/* a command line too long: to its end */
	unsigned	 errors;
	char		*helo;
	bool		 esmtp;
	bool		 trusted;
	/* the transaction */
	bool		 have_mail;
	struct smtpd_mail mail;
	struct smtpd_rcpt *rcpts;
	size_t		 n_rcpts;
	/* DATA */
	char		 qid[QID_SIZE];
	char		 tmp[QID_SIZE + 16];
	int		 work;
	bool		 write_failed;
	bool		 resume;	/* 250 sent from inside a commit */
	struct smtpd_data dr;
	struct buf	 dbuf;
	/* BDAT (RFC 3030) */
	bool		 bdat;		/* this transaction's message is in
					 * chunks (the Work file is open) */
	uint64_t	 bdat_left;	/* bytes of this chunk still to come */
	uint64_t	 bdat_total;	/* chunk bytes so far */
	bool		 bdat_last;
	/* the chunk is read and dropped, then this reply (code 0: none) */
	int		 bdat_code;
	const char	*bdat_dsn, *bdat_text;
};

TAILQ_HEAD(smtpd_list, smtpd_session);

struct smtpd {
	const struct imc_config *cfg;
	struct evloop	*loop;
	int		 work_fd;
	struct smtpd_listeners ls;
	SSL_CTX		*tls;		/* NULL: no STARTTLS */
	struct smtpd_auth *auth;	/* NULL: no AUTH */
	struct protolog	*plog;
	struct evloop_io **lio;
	bool		 paused;	/* listeners parked: too many sessions */
	bool		 stopping;
	struct smtpd_policy policy;
	const struct smtpd_ops *ops;
	void		*arg;
	struct smtpd_list sessions;
	size_t		 n_sessions;
	size_t		 n_waiting;
	uint64_t	 first_wait;	/* evloop ms of the first dot waiting */
	/* smtpd_reverse_dns */
	struct dns_ctx	*dns;
	struct smtpd_dns_watch *dns_watches;
	size_t		 n_dns_watches;
	uint64_t	 dns_timer;
	struct smtpd_rdns_list rdns;
};

static void smtpd_io(struct evloop *, int, int, void *);
static void smtpd_process(struct smtpd_session *);

/* ---------------------------------------------------------- listeners */

static int
smtpd_parse_listen(const char *item, struct sockaddr_storage *ss,
    socklen_t *sl)
{
	char host[64];
	const char *sep;
	size_t hl;
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (item[0] == '[') {
		if ((sep = strchr(item, ']')) == NULL || sep[1] != ':')
			return -1;
		hl = (size_t)(sep - item - 1);
		item++;
		sep++;
	} else {
		if ((sep = strrchr(item, ':')) == NULL)
			return -1;
		hl = (size_t)(sep - item);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, item, hl);
	host[hl] = '\0';
	port = strtol(sep + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, host,
	    &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*sl = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*sl = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -1;
}

/* One list of listen addresses into ls. */
static int
smtpd_bind_list(const char *list, bool implicit, struct smtpd_listeners *ls,
    struct buf *err)
{
	char *copy, *tok, *save = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	copy = xstrdup(list);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (smtpd_parse_listen(tok, &ss, &sl) == -1) {
			buf_printf(err, "listen: \"%s\" is not addr:port", tok);
			goto fail;
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			buf_printf(err, "listen %s: %s", tok, strerror(errno));
			goto fail;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		/* "[::]:25" is IPv6 only: "0.0.0.0:25" is listed apart */
		if (ss.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
		    listen(fd, 1024) == -1) {
			buf_printf(err, "listen %s: %s", tok, strerror(errno));
			close(fd);
			goto fail;
		}
		ls->fds = xreallocarray(ls->fds, ls->n + 1, sizeof(*ls->fds));
		ls->implicit = xreallocarray(ls->implicit, ls->n + 1,
		    sizeof(*ls->implicit));
		ls->implicit[ls->n] = implicit;
		ls->fds[ls->n++] = fd;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

/* smtpd_bind - sockets, TLS, users, before privileges are dropped */
int
smtpd_bind(const struct imc_config *cfg, struct smtpd_listeners *ls,
    struct buf *err)
{
	uid_t svc = geteuid();

	memset(ls, 0, sizeof(*ls));
	if (cfg->listen == NULL && cfg->listen_implicit_tls == NULL)
		return 0;
	if (cfg->user != NULL) {
		struct passwd *pw = getpwnam(cfg->user);

		if (pw != NULL)
			svc = pw->pw_uid;
	}
	ls->tls = smtpd_tls_new(cfg, err);
	if (ls->tls == NULL && err->len > 0)
		return EX_CONFIG;
	if (cfg->listen_implicit_tls != NULL && ls->tls == NULL) {
		buf_printf(err, "%s: listen_implicit_tls needs tls_cert_file "
		    "and tls_key_file", cfg->path);
		return EX_CONFIG;
	}
	if (cfg->smtpd_auth_file != NULL) {
		ls->auth = smtpd_auth_load(cfg->smtpd_auth_file, svc, err);
		if (ls->auth == NULL) {
			smtpd_listeners_close(ls);
			return EX_CONFIG;
		}
	}
	if ((cfg->listen != NULL &&
	    smtpd_bind_list(cfg->listen, false, ls, err) == -1) ||
	    (cfg->listen_implicit_tls != NULL &&
	    smtpd_bind_list(cfg->listen_implicit_tls, true, ls, err) == -1)) {
		smtpd_listeners_close(ls);
		return EX_OSERR;
	}
	return 0;
}

void
smtpd_listeners_close(struct smtpd_listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		close(ls->fds[i]);
	free(ls->fds);
	free(ls->implicit);
	smtpd_tls_free(ls->tls);
	smtpd_auth_free(ls->auth);
	memset(ls, 0, sizeof(*ls));
}

/* ------------------------------------------------------------- output */

static void
smtpd_want(struct smtpd_session *s)
{
	int mask = 0;

	if (s->state == SMTPD_S_HANDSHAKE) {
		mask = s->tls_want_write ? EVLOOP_WRITE : EVLOOP_READ;
		if (s->io != NULL && evloop_mask(s->io) != mask)
			(void)evloop_modify(s->io, mask);
		return;
	}
	if (s->out.len > 0 || s->tls_want_write)
		mask |= EVLOOP_WRITE;
	/* read while there is room, and only in states that read */
	if ((s->state == SMTPD_S_GREET || s->state == SMTPD_S_CMD ||
	    s->state == SMTPD_S_DATA || s->state == SMTPD_S_BDAT) &&
	    s->in.len < SMTPD_IN_MAX &&
	    s->out.len < SMTPD_OUT_MAX)
		mask |= EVLOOP_READ;
	if (s->io != NULL && evloop_mask(s->io) != mask)
		(void)evloop_modify(s->io, mask);
}

static void smtpd_close(struct smtpd_session *);

/* An OpenSSL result as errno: EAGAIN with what it waits for, else EIO. */
static ssize_t
smtpd_tls_result(struct smtpd_session *s, int r)
{
	switch (SSL_get_error(s->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		s->tls_want_write = false;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		s->tls_want_write = true;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

/* ACK at once: a client that writes the final dot apart from the text
 * (smtp-source, many libraries) holds it under Nagle until the text is
 * ACKed, and a delayed ACK made every dot-to-250 wait ~40 ms. The kernel
 * clears the flag again, so it is set after every read. */
static void
smtpd_quickack(struct smtpd_session *s)
{
	int one = 1;

	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static ssize_t
smtpd_sock_read(struct smtpd_session *s, void *p, size_t n)
{
	ssize_t r;
	int k;

	if (s->ssl == NULL) {
		do
			r = recv(s->fd, p, n, 0);
		while (r == -1 && errno == EINTR);
		if (r > 0)
			smtpd_quickack(s);
		return r;
	}
	ERR_clear_error();
	k = SSL_read(s->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (k > 0) {
		smtpd_quickack(s);
		s->tls_want_write = false;
		return k;
	}
	return smtpd_tls_result(s, k);
}

static ssize_t
smtpd_sock_write(struct smtpd_session *s, const void *p, size_t n)
{
	ssize_t r;
	int k;

	if (s->ssl == NULL) {
		do
			r = send(s->fd, p, n, MSG_NOSIGNAL);
		while (r == -1 && errno == EINTR);
		return r;
	}
	ERR_clear_error();
	k = SSL_write(s->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (k > 0) {
		s->tls_want_write = false;
		return k;
	}
	r = smtpd_tls_result(s, k);
	return r == 0 ? -1 : r;
}

/* Write what can be written now; -1: the connection is gone. */
static int
smtpd_flush(struct smtpd_session *s)
{
	ssize_t n;

	while (s->out.len > 0) {
		n = smtpd_sock_write(s, s->out.data, s->out.len);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		buf_consume(&s->out, (size_t)n);
	}
	return 0;
}

static void
smtpd_reply(struct smtpd_session *s, int code, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
smtpd_reply(struct smtpd_session *s, int code, const char *dsn,
    const char *fmt, ...)
{
	va_list ap;
	size_t start = s->out.len;

	buf_printf(&s->out, "%d %s%s", code, dsn != NULL ? dsn : "",
	    dsn != NULL ? " " : "");
	va_start(ap, fmt);
	buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (s->sd->plog != NULL) {
		char *line = xstrndup(s->out.data + start, s->out.len - start);

		protolog_line(s->sd->plog, s->sid, '>', line, false);
		free(line);
	}
	buf_puts(&s->out, "\r\n");
	if (code >= 400 && code != 421)
		s->errors++;
}

/* ------------------------------------------------------------ session */

/* The message being received is dropped: no trace in Work/. */
static void
smtpd_drop_work(struct smtpd_session *s)
{
	if (s->work != -1) {
		close(s->work);
		s->work = -1;
		(void)unlinkat(s->sd->work_fd, s->tmp, 0);
	}
	buf_reset(&s->dbuf);
}

/* The transaction ends: with a BDAT message still open (RSET, EHLO,
 * an error) its Work file goes too. */
static void
smtpd_reset(struct smtpd_session *s)
{
	size_t i;

	if (s->bdat)
		smtpd_drop_work(s);
	s->bdat = false;
	s->bdat_total = 0;
	smtpd_mail_free(&s->mail);
	for (i = 0; i < s->n_rcpts; i++)
		smtpd_rcpt_free(&s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->n_rcpts = 0;
	s->have_mail = false;
}

static void smtpd_timer(struct evloop *, uint64_t, void *);

/* The 220, once the greet pause passed (or TLS is up on an implicit
 * listener). */
static void
smtpd_greet(struct smtpd_session *s)
{
	s->state = SMTPD_S_CMD;
	if (s->sd->cfg->smtpd_banner != NULL)
		smtpd_reply(s, 220, NULL, "%s", s->sd->cfg->smtpd_banner);
	else
		smtpd_reply(s, 220, NULL, "%s ESMTP", s->sd->cfg->hostname);
	if (s->timer != 0)
		evloop_timer_cancel(s->sd->loop, s->timer);
	s->timer = evloop_timer_add(s->sd->loop,
	    s->sd->cfg->smtpd_timeout * 1000, smtpd_timer, s);
	if (smtpd_flush(s) == -1) {
		smtpd_close(s);
		return;
	}
	smtpd_want(s);
}

static void
smtpd_timer(struct evloop *loop, uint64_t id, void *arg)
{
	struct smtpd_session *s = arg;

	(void)loop;
	(void)id;
	s->timer = 0;
	if (s->state == SMTPD_S_GREET) {
		uint64_t waited = evloop_now_ms(s->sd->loop) - s->accepted_ms;

		/* the client's name is still being looked up: the greeting
		 * waits for it, up to SMTPD_RDNS_WAIT_MS after the accept */
		if (s->rdns != NULL && waited < SMTPD_RDNS_WAIT_MS) {
			s->greet_due = true;
			s->timer = evloop_timer_add(s->sd->loop,
			    SMTPD_RDNS_WAIT_MS - waited, smtpd_timer, s);
			return;
		}
		if (s->rdns != NULL) {
			log_info("smtpd: %s: no name for the client within "
			    "%d ms", s->addr, SMTPD_RDNS_WAIT_MS);
			s->rdns->s = NULL;	/* its answer comes too late */
			s->rdns = NULL;
		}
		smtpd_greet(s);
		return;
	}
	if (s->state == SMTPD_S_COMMIT) {
		/* the batch decides; the client waits for it */
		s->timer = evloop_timer_add(s->sd->loop,
		    s->sd->cfg->smtpd_timeout * 1000, smtpd_timer, s);
		return;
	}
	log_info("smtpd: %s: timeout", s->addr);
	smtpd_drop_work(s);
	smtpd_reply(s, 421, "4.4.2", "%s Timeout, closing",
	    s->sd->cfg->hostname);
	(void)smtpd_flush(s);
	smtpd_close(s);
}

static void
smtpd_rearm(struct smtpd_session *s)
{
	if (s->timer != 0)
		evloop_timer_cancel(s->sd->loop, s->timer);
	s->timer = evloop_timer_add(s->sd->loop,
	    s->sd->cfg->smtpd_timeout * 1000, smtpd_timer, s);
}

static void
smtpd_session_free(struct evloop *loop, void *arg)
{
	struct smtpd_session *s = arg;

	(void)loop;
	smtpd_reset(s);
	free(s->name);
	buf_fini(&s->in);
	buf_fini(&s->out);
	buf_fini(&s->dbuf);
	free(s->helo);
	SSL_free(s->ssl);
	free(s->tls_desc);
	if (s->auth_login_user != NULL)
		explicit_bzero(s->auth_login_user, strlen(s->auth_login_user));
	free(s->auth_login_user);
	free(s->auth_user);
	free(s);
}

static void smtpd_resume(struct smtpd *);

/* Close at once; the memory goes at the end of the round. */
static void
smtpd_close(struct smtpd_session *s)
{
	struct smtpd *sd = s->sd;

	if (s->fd == -1)
		return;
	smtpd_drop_work(s);
	if (s->state == SMTPD_S_COMMIT) {
		/* the entry is in the batch: it stays (the client will not
		 * hear its 250: "possible duplicate", as qmail says) */
		sd->n_waiting--;
		log_info("smtpd: %s: %s: the client left before the reply; "
		    "possible duplicate", s->addr, s->qid);
	}
	if (s->timer != 0)
		evloop_timer_cancel(sd->loop, s->timer);
	s->timer = 0;
	if (s->rdns != NULL) {
		s->rdns->s = NULL;	/* the answer finds nobody */
		s->rdns = NULL;
	}
	protolog_line(sd->plog, s->sid, '*', "disconnected", false);
	if (s->io != NULL)
		evloop_unwatch(s->io);
	s->io = NULL;
	close(s->fd);
	s->fd = -1;
	TAILQ_REMOVE(&sd->sessions, s, link);
	sd->n_sessions--;
	if (evloop_defer(sd->loop, smtpd_session_free, s) == -1)
		smtpd_session_free(sd->loop, s);
	smtpd_resume(sd);
}

/* ----------------------------------------------------------- commands */

static void
smtpd_ehlo(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	const struct imc_config *cfg = s->sd->cfg;

	if (smtpd_check_helo(c->arg, c->arg_len) == -1) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: %s hostname",
		    smtpd_verb_name(c->verb));
		return;
	}
	smtpd_reset(s);
	free(s->helo);
	s->helo = xstrndup(c->arg, c->arg_len);
	s->esmtp = c->verb == SMTPD_EHLO;
	if (!s->esmtp) {
		smtpd_reply(s, 250, NULL, "%s", cfg->hostname);
		return;
	}
	protolog_line(s->sd->plog, s->sid, '>', "250 (EHLO extensions)",
	    false);
	buf_printf(&s->out, "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n"
	    "250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250-CHUNKING\r\n",
	    cfg->hostname,
	    (unsigned long long)cfg->max_message_size);
	if (s->sd->tls != NULL && s->ssl == NULL)
		buf_puts(&s->out, "250-STARTTLS\r\n");
	/* credentials only ever travel encrypted */
	if (s->sd->auth != NULL && s->ssl != NULL && s->auth_user == NULL)
		buf_puts(&s->out, "250-AUTH PLAIN LOGIN\r\n");
	buf_puts(&s->out, "250 ENHANCEDSTATUSCODES\r\n");
}

static void
smtpd_mail(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	struct smtpd_reply r;

	if (s->helo == NULL) {
		smtpd_reply(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (s->have_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (smtpd_parse_mail(c->arg, c->arg_len, s->sd->cfg->max_message_size,
	    &s->mail, &r) == -1) {
		smtpd_reply(s, r.code, r.dsn, "%s", r.text);
		return;
	}
	s->have_mail = true;
	smtpd_reply(s, 250, "2.1.0", "Ok");
}

static void
smtpd_rcpt(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	struct smtpd_reply r;
	struct smtpd_rcpt rc;
	size_t i;

	if (!s->have_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (s->n_rcpts >= s->sd->cfg->max_rcpts_per_transaction) {
		smtpd_reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (smtpd_parse_rcpt(c->arg, c->arg_len, s->mail.smtputf8, &rc,
	    &r) == -1) {
		smtpd_reply(s, r.code, r.dsn, "%s", r.text);
		return;
	}
	if (smtpd_policy_rcpt(&s->sd->policy, &rc.addr, s->trusted) ==
	    SMTPD_DENY) {
		smtpd_reply(s, 554, "5.7.1", "<%s>: Relay access denied",
		    rc.addr);
		smtpd_rcpt_free(&rc);
		return;
	}
	for (i = 0; i < s->n_rcpts; i++)
		if (strcmp(s->rcpts[i].addr, rc.addr) == 0)
			break;
	if (i < s->n_rcpts)
		smtpd_rcpt_free(&rc);	/* the same again: one copy */
	else {
		s->rcpts = xreallocarray(s->rcpts, s->n_rcpts + 1,
		    sizeof(*s->rcpts));
		s->rcpts[s->n_rcpts++] = rc;
	}
	smtpd_reply(s, 250, "2.1.5", "Ok");
}

static void
smtpd_date(char *out, size_t size)
{
	struct tm tm;
	time_t t = time(NULL);

	gmtime_r(&t, &tm);
	if (strftime(out, size, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		out[0] = '\0';
}

/* The Work file's envelope block (pickup_file.h) and Received: field. */
static void
smtpd_envelope(struct smtpd_session *s, struct buf *b)
{
	const struct imc_config *cfg = s->sd->cfg;
	struct buf rcv, client;
	char date[64];
	size_t i;

	buf_init(&rcv);
	buf_init(&client);
	buf_printf(&client, "[%s]", s->addr);
	smtpd_date(date, sizeof(date));
	if (s->name != NULL)
		buf_printf(&rcv, "Received: from %s (%s %s)\r\n", s->helo,
		    s->name, client.data);
	else
		buf_printf(&rcv, "Received: from %s (%s)\r\n", s->helo,
		    client.data);
	if (s->tls_desc != NULL)
		buf_printf(&rcv, "\t(using %s)\r\n", s->tls_desc);
	/* RFC 3848 (ESMTPS, ESMTPA, ESMTPSA) and RFC 6531 (UTF8SMTP...) */
	buf_printf(&rcv, "\tby %s (imc-connector) with %s%s%s id %s",
	    cfg->hostname, s->mail.smtputf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" :
	    "SMTP", s->ssl != NULL ? "S" : "", s->auth_user != NULL ? "A" : "",
	    s->qid);
	if (s->n_rcpts == 1)
		buf_printf(&rcv, "\r\n\tfor <%s>", s->rcpts[0].addr);
	buf_printf(&rcv, ";\r\n\t%s", date);

	buf_printf(b, "%s\nsender ", PICKUP_SMTP_MAGIC);
	qfile_escape(b, s->mail.addr);
	if (s->mail.ret != NULL)
		buf_printf(b, "\nret %s", s->mail.ret);
	if (s->mail.envid != NULL) {
		buf_puts(b, "\nenvid ");
		qfile_escape(b, s->mail.envid);
	}
	for (i = 0; i < s->n_rcpts; i++) {
		buf_puts(b, "\nrcpt ");
		qfile_escape(b, s->rcpts[i].addr);
		buf_putc(b, ' ');
		if (s->rcpts[i].notify != NULL)
			qfile_escape(b, s->rcpts[i].notify);
		else
			buf_putc(b, '-');
		buf_putc(b, ' ');
		if (s->rcpts[i].orcpt != NULL)
			qfile_escape(b, s->rcpts[i].orcpt);
		else
			buf_putc(b, '-');
	}
	buf_puts(b, "\nclient ");
	qfile_escape(b, client.data);
	buf_puts(b, "\nhelo ");
	qfile_escape(b, s->helo);
	buf_puts(b, "\ntls ");
	qfile_escape(b, s->tls_desc != NULL ? s->tls_desc : "none");
	buf_puts(b, "\nauth ");
	qfile_escape(b, s->auth_user);
	buf_puts(b, "\nreceived ");
	qfile_escape(b, rcv.data);
	buf_puts(b, "\nend\n");
	buf_fini(&rcv);
	buf_fini(&client);
}

/* The Work file of a new message, its envelope block first: 0, or -1
 * (logged; the caller gives the 451). */
static int
smtpd_work_open(struct smtpd_session *s)
{
	if (qid_new(s->qid) == -1) {
		log_warnx("smtpd: %s: no queue id could be made", s->addr);
		return -1;
	}
	snprintf(s->tmp, sizeof(s->tmp), ".%s.smtp.tmp", s->qid);
	s->work = openat(s->sd->work_fd, s->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->work == -1) {
		log_warn("smtpd: Work/%s", s->tmp);
		return -1;
	}
	s->write_failed = false;
	buf_reset(&s->dbuf);
	smtpd_envelope(s, &s->dbuf);
	return 0;
}

static void
smtpd_data_cmd(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	if (s->bdat) {
		/* RFC 3030 3: never both in one transaction; the state after
		 * it is "indeterminate": the transaction is dropped */
		smtpd_reset(s);
		smtpd_reply(s, 503, "5.5.1", "Error: DATA after BDAT; "
		    "transaction dropped, send RSET");
		return;
	}
	if (c->arg_len > 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (!s->have_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (s->n_rcpts == 0) {
		smtpd_reply(s, 554, "5.5.1", "Error: no valid recipients");
		return;
	}
	if (smtpd_work_open(s) == -1) {
		smtpd_reply(s, 451, "4.3.0", "Error: cannot queue now");
		return;
	}
	smtpd_data_init(&s->dr, s->sd->cfg->max_message_size);
	s->state = SMTPD_S_DATA;
	smtpd_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

static void
smtpd_write_work(struct smtpd_session *s)
{
	if (s->dbuf.len == 0 || s->work == -1)
		return;
	if (!s->write_failed && safe_write_all(s->work, s->dbuf.data,
	    s->dbuf.len) == -1) {
		log_warn("smtpd: Work/%s", s->tmp);
		s->write_failed = true;
	}
	buf_reset(&s->dbuf);
}

/* The final dot: refuse, or hand Work/<qid> to the batch. */
static void
smtpd_data_end(struct smtpd_session *s)
{
	struct smtpd *sd = s->sd;
	enum accept_result r;

	smtpd_write_work(s);
	s->state = SMTPD_S_CMD;
	if (s->dr.too_big) {
		smtpd_drop_work(s);
		smtpd_reply(s, 552, "5.3.4", "Error: message larger than "
		    "%llu bytes", (unsigned long long)sd->cfg->max_message_size);
		smtpd_reset(s);
		return;
	}
	if (s->dr.header_too_big) {
		smtpd_drop_work(s);
		smtpd_reply(s, 552, "5.3.4", "Error: header block too large");
		smtpd_reset(s);
		return;
	}
	if (s->write_failed || close(s->work) == -1) {
		s->write_failed = true;
		smtpd_drop_work(s);
		smtpd_reply(s, 451, "4.3.0", "Error: cannot queue now");
		smtpd_reset(s);
		return;
	}
	s->work = -1;
	if (renameat(sd->work_fd, s->tmp, sd->work_fd, s->qid) == -1) {
		log_warn("smtpd: Work/%s", s->qid);
		(void)unlinkat(sd->work_fd, s->tmp, 0);
		smtpd_reply(s, 451, "4.3.0", "Error: cannot queue now");
		smtpd_reset(s);
		return;
	}
	smtpd_reset(s);
	r = sd->ops->accept(sd->arg, s->qid);
	if (r == ACCEPT_QUEUED) {
		s->state = SMTPD_S_COMMIT;
		if (sd->n_waiting++ == 0)
			sd->first_wait = evloop_now_ms(sd->loop);
		return;
	}
	if (r == ACCEPT_ARCHIVED) {
		/* pickup_read refused it: it is in Pickup/Archive with the
		 * reason, and the client is told no */
		smtpd_reply(s, 554, "5.6.0", "Error: message refused (%s)",
		    s->qid);
		return;
	}
	sd->ops->forget(sd->arg, s->qid);
	smtpd_reply(s, 451, "4.3.0", "Error: cannot queue now");
}

/* The chunk that follows is read and dropped, then this reply. */
static void
smtpd_bdat_refuse(struct smtpd_session *s, int code, const char *dsn,
    const char *text)
{
	s->bdat_code = code;
	s->bdat_dsn = dsn;
	s->bdat_text = text;
}

/* BDAT n [LAST]: the next n bytes are message (RFC 3030). Whatever the
 * answer, those bytes are read as the chunk, never as commands: a
 * refused chunk is dropped, its reply given once it is read. */
static void
smtpd_bdat_cmd(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	const struct imc_config *cfg = s->sd->cfg;
	uint64_t size;
	bool last;

	if (smtpd_parse_bdat(c->arg, c->arg_len, &size, &last) == -1) {
		/* where the chunk ends is unknown: its bytes would be read
		 * as commands, so the session ends here */
		smtpd_reset(s);
		smtpd_reply(s, 501, "5.5.4", "Syntax: BDAT size [LAST]; "
		    "closing");
		s->state = SMTPD_S_CLOSE;
		return;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	s->bdat_code = 0;
	s->state = SMTPD_S_BDAT;
	if (!s->have_mail) {
		smtpd_bdat_refuse(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (s->n_rcpts == 0) {
		smtpd_bdat_refuse(s, 554, "5.5.1", "Error: no valid recipients");
		smtpd_reset(s);
		return;
	}
	/* SIZE at each chunk: what was sent so far and this chunk */
	if (size > cfg->max_message_size ||
	    s->bdat_total > cfg->max_message_size - size) {
		smtpd_reset(s);
		smtpd_bdat_refuse(s, 552, "5.3.4", "Error: message too large");
		return;
	}
	if (!s->bdat) {
		if (smtpd_work_open(s) == -1) {
			smtpd_reset(s);
			smtpd_bdat_refuse(s, 451, "4.3.0",
			    "Error: cannot queue now");
			return;
		}
		smtpd_data_init_raw(&s->dr, cfg->max_message_size);
		s->bdat = true;
	}
	s->bdat_total += size;
}

/* A chunk was read whole. */
static void
smtpd_bdat_end(struct smtpd_session *s)
{
	s->state = SMTPD_S_CMD;
	if (s->bdat_code != 0) {
		smtpd_reply(s, s->bdat_code, s->bdat_dsn, "%s", s->bdat_text);
		s->bdat_code = 0;
		return;
	}
	if (s->dr.too_big || s->dr.header_too_big) {
		smtpd_reset(s);
		smtpd_reply(s, 552, "5.3.4", s->dr.too_big ?
		    "Error: message too large" :
		    "Error: header block too large");
		return;
	}
	if (!s->bdat_last) {
		smtpd_write_work(s);
		smtpd_reply(s, 250, "2.0.0", "%llu octets received",
		    (unsigned long long)s->bdat_total);
		return;
	}
	/* LAST: the same end as DATA's final dot (durable, then 250) */
	smtpd_data_finish(&s->dr, &s->dbuf);
	smtpd_data_end(s);
}

static void
smtpd_starttls(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	if (s->sd->tls == NULL) {
		smtpd_reply(s, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	if (s->ssl != NULL) {
		smtpd_reply(s, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	if (c->arg_len > 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: STARTTLS");
		return;
	}
	smtpd_reply(s, 220, "2.0.0", "Ready to start TLS");
	s->starttls = true;	/* smtpd_process takes it from here */
}

/* A user and password to check: 235, or 535. Both are wiped. */
static void
smtpd_auth_try(struct smtpd_session *s, char *user, char *pass)
{
	bool ok = smtpd_auth_check(s->sd->auth, user, pass);

	explicit_bzero(pass, strlen(pass));
	free(pass);
	s->auth_step = SMTPD_AUTH_NONE;
	if (ok) {
		s->auth_user = user;
		s->trusted = true;
		log_info("smtpd: %s: authenticated as %s", s->addr, user);
		smtpd_reply(s, 235, "2.7.0", "Authentication successful");
		return;
	}
	log_info("smtpd: %s: authentication failed", s->addr);
	free(user);
	smtpd_reply(s, 535, "5.7.8", "Error: authentication credentials "
	    "invalid");
}

static void
smtpd_auth_cmd(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	const char *sp;
	size_t ml;
	char *user, *pass;

	if (s->sd->auth == NULL) {
		smtpd_reply(s, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	if (s->ssl == NULL) {
		smtpd_reply(s, 538, "5.7.11", "Error: encryption required for "
		    "authentication (STARTTLS first)");
		return;
	}
	if (s->auth_user != NULL || s->have_mail || s->helo == NULL) {
		smtpd_reply(s, 503, "5.5.1", "Error: AUTH not allowed now");
		return;
	}
	sp = memchr(c->arg, ' ', c->arg_len);
	ml = sp != NULL ? (size_t)(sp - c->arg) : c->arg_len;
	if (ml == 5 && strncasecmp(c->arg, "PLAIN", 5) == 0) {
		if (sp == NULL) {
			s->auth_step = SMTPD_AUTH_PLAIN;
			buf_puts(&s->out, "334 \r\n");
			return;
		}
		if (smtpd_auth_plain(sp + 1, c->arg_len - ml - 1, &user,
		    &pass) == -1) {
			smtpd_reply(s, 501, "5.5.2", "Error: bad PLAIN response");
			return;
		}
		smtpd_auth_try(s, user, pass);
		return;
	}
	if (ml == 5 && strncasecmp(c->arg, "LOGIN", 5) == 0) {
		if (sp == NULL) {
			s->auth_step = SMTPD_AUTH_LOGIN_USER;
			buf_puts(&s->out, "334 VXNlcm5hbWU6\r\n");
			return;
		}
		if ((s->auth_login_user = smtpd_auth_b64(sp + 1,
		    c->arg_len - ml - 1)) == NULL) {
			smtpd_reply(s, 501, "5.5.2", "Error: bad LOGIN response");
			return;
		}
		s->auth_step = SMTPD_AUTH_LOGIN_PASS;
		buf_puts(&s->out, "334 UGFzc3dvcmQ6\r\n");
		return;
	}
	smtpd_reply(s, 504, "5.5.4", "Error: unsupported mechanism");
}

/* A line answering a 334. */
static void
smtpd_auth_line(struct smtpd_session *s, const char *line, size_t len)
{
	char *user, *pass;

	if (len == 1 && line[0] == '*') {
		s->auth_step = SMTPD_AUTH_NONE;
		free(s->auth_login_user);
		s->auth_login_user = NULL;
		smtpd_reply(s, 501, "5.0.0", "Authentication cancelled");
		return;
	}
	switch (s->auth_step) {
	case SMTPD_AUTH_PLAIN:
		if (smtpd_auth_plain(line, len, &user, &pass) == -1)
			break;
		smtpd_auth_try(s, user, pass);
		return;
	case SMTPD_AUTH_LOGIN_USER:
		if ((s->auth_login_user = smtpd_auth_b64(line, len)) == NULL)
			break;
		s->auth_step = SMTPD_AUTH_LOGIN_PASS;
		buf_puts(&s->out, "334 UGFzc3dvcmQ6\r\n");
		return;
	case SMTPD_AUTH_LOGIN_PASS:
		if ((pass = smtpd_auth_b64(line, len)) == NULL)
			break;
		user = s->auth_login_user;
		s->auth_login_user = NULL;
		smtpd_auth_try(s, user, pass);
		return;
	default:
		break;
	}
	s->auth_step = SMTPD_AUTH_NONE;
	free(s->auth_login_user);
	s->auth_login_user = NULL;
	smtpd_reply(s, 501, "5.5.2", "Error: bad AUTH response");
}

static void
smtpd_command(struct smtpd_session *s, const char *line, size_t len)
{
	struct smtpd_cmd c;

	smtpd_cmd_parse(line, len, &c);
	if (s->sd->plog != NULL) {
		/* never a credential: AUTH keeps only its mechanism */
		size_t keep = len;
		char *text;

		if (c.verb == SMTPD_AUTH) {
			const char *sp = memchr(c.arg, ' ', c.arg_len);

			keep = (size_t)((sp != NULL ? sp : c.arg + c.arg_len) -
			    line);
		}
		text = xstrndup(line, keep);

		protolog_line(s->sd->plog, s->sid, '<', text, false);
		free(text);
	}
	switch (c.verb) {
	case SMTPD_HELO:
	case SMTPD_EHLO:
		smtpd_ehlo(s, &c);
		break;
	case SMTPD_MAIL:
		smtpd_mail(s, &c);
		break;
	case SMTPD_RCPT:
		smtpd_rcpt(s, &c);
		break;
	case SMTPD_DATA:
		smtpd_data_cmd(s, &c);
		break;
	case SMTPD_RSET:
		smtpd_reset(s);
		smtpd_reply(s, 250, "2.0.0", "Ok");
		break;
	case SMTPD_NOOP:
		smtpd_reply(s, 250, "2.0.0", "Ok");
		break;
	case SMTPD_VRFY:
		smtpd_reply(s, 252, "2.5.2", "Cannot VRFY user, but will "
		    "accept message and attempt delivery");
		break;
	case SMTPD_HELP:
		smtpd_reply(s, 214, "2.0.0", "See RFC 5321");
		break;
	case SMTPD_QUIT:
		smtpd_reply(s, 221, "2.0.0", "Bye");
		s->state = SMTPD_S_CLOSE;
		break;
	case SMTPD_STARTTLS:
		smtpd_starttls(s, &c);
		break;
	case SMTPD_AUTH:
		smtpd_auth_cmd(s, &c);
		break;
	case SMTPD_BDAT:
		smtpd_bdat_cmd(s, &c);
		break;
	case SMTPD_EXPN:
		smtpd_reply(s, 502, "5.5.1", "Error: command not implemented");
		break;
	default:
		smtpd_reply(s, 500, "5.5.2", "Error: command not recognized");
		break;
	}
}

/* TLS on this socket: SSL_accept until it is done. */
static void
smtpd_handshake(struct smtpd_session *s)
{
	int r;

	ERR_clear_error();
	r = SSL_accept(s->ssl);
	if (r == 1) {
		struct buf d;

		s->tls_want_write = false;
		buf_reset(&s->in);	/* nothing from before TLS survives */
		buf_init(&d);
		smtpd_tls_describe(s->ssl, &d);
		s->tls_desc = buf_steal(&d);
		protolog_line(s->sd->plog, s->sid, '*', s->tls_desc, false);
		smtpd_rearm(s);
		if (s->implicit) {
			smtpd_greet(s);
			return;
		}
		/* RFC 3207 4.2: what was said before TLS is forgotten */
		s->state = SMTPD_S_CMD;
		free(s->helo);
		s->helo = NULL;
		s->esmtp = false;
		smtpd_reset(s);
		smtpd_want(s);
		return;
	}
	if (smtpd_tls_result(s, r) == -1 && errno == EAGAIN) {
		smtpd_want(s);
		return;
	}
	log_info("smtpd: %s: TLS handshake failed", s->addr);
	smtpd_close(s);
}

static void
smtpd_tls_begin(struct smtpd_session *s)
{
	if ((s->ssl = SSL_new(s->sd->tls)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1) {
		ERR_clear_error();
		log_warnx("smtpd: %s: cannot start TLS", s->addr);
		smtpd_close(s);
		return;
	}
	s->state = SMTPD_S_HANDSHAKE;
	smtpd_handshake(s);
}

/* Work through the input: commands, message data, what waits. */
static void
smtpd_process(struct smtpd_session *s)
{
	size_t used;
	char *nl;

	while (s->fd != -1) {
		if (s->state == SMTPD_S_DATA) {
			if (s->in.len == 0)
				break;
			used = smtpd_data_feed(&s->dr, s->in.data, s->in.len,
			    &s->dbuf);
			buf_consume(&s->in, used);
			if (s->dbuf.len >= SMTPD_WRITE_CHUNK || s->dr.done)
				smtpd_write_work(s);
			if (s->dr.done)
				smtpd_data_end(s);
			continue;
		}
		if (s->state == SMTPD_S_BDAT) {
			if (s->bdat_left > 0) {
				if (s->in.len == 0)
					break;
				used = s->in.len < s->bdat_left ? s->in.len :
				    (size_t)s->bdat_left;
				if (s->bdat_code == 0)
					(void)smtpd_data_feed(&s->dr,
					    s->in.data, used, &s->dbuf);
				buf_consume(&s->in, used);
				s->bdat_left -= used;
				if (s->dbuf.len >= SMTPD_WRITE_CHUNK)
					smtpd_write_work(s);
				if (s->bdat_left > 0)
					continue;
			}
			smtpd_bdat_end(s);
			continue;
		}
		if (s->state != SMTPD_S_CMD)
			break;
		if (s->errors >= s->sd->cfg->smtpd_max_errors) {
			smtpd_reply(s, 421, "4.7.0", "%s Error: too many errors",
			    s->sd->cfg->hostname);
			s->state = SMTPD_S_CLOSE;
			break;
		}
		if (s->out.len >= SMTPD_OUT_MAX)
			break;		/* the client must read first */
		nl = s->in.len ? memchr(s->in.data, '\n', s->in.len) : NULL;
		if (nl == NULL) {
			if (s->in.len > IMC_SMTPD_LINE_MAX) {
				/* no line end in sight: refuse once, skip to it */
				if (!s->skip_line)
					smtpd_reply(s, 500, "5.5.2",
					    "Error: line too long");
				s->skip_line = true;
				buf_reset(&s->in);
			}
			break;
		}
		used = (size_t)(nl - s->in.data);
		if (s->skip_line) {
			s->skip_line = false;
			buf_consume(&s->in, used + 1);
			continue;
		}
		if (used > 0 && s->in.data[used - 1] == '\r')
			used--;
		if (used > IMC_SMTPD_LINE_MAX)
			smtpd_reply(s, 500, "5.5.2", "Error: line too long");
		else if (memchr(s->in.data, '\0', used) != NULL)
			smtpd_reply(s, 500, "5.5.2", "Error: NUL in command");
		else if (s->auth_step != SMTPD_AUTH_NONE)
			smtpd_auth_line(s, s->in.data, used);
		else
			smtpd_command(s, s->in.data, used);
		buf_consume(&s->in, (size_t)(nl - s->in.data) + 1);
		if (s->starttls) {
			/* STARTTLS injection (CVE-2011-0411 and kin): what
			 * the client sent after STARTTLS, before our 220, is
			 * never taken as said inside TLS */
			s->starttls = false;
			if (s->in.len > 0) {
				log_info("smtpd: %s: %zu bytes sent after "
				    "STARTTLS before the reply; discarded",
				    s->addr, s->in.len);
				buf_reset(&s->in);
			}
			s->state = SMTPD_S_TLS_WAIT;
			break;
		}
	}
	if (s->fd == -1)
		return;
	if (smtpd_flush(s) == -1 || (s->state == SMTPD_S_CLOSE &&
	    s->out.len == 0)) {
		smtpd_close(s);
		return;
	}
	if (s->state == SMTPD_S_TLS_WAIT && s->out.len == 0) {
		smtpd_tls_begin(s);
		return;
	}
	smtpd_want(s);
}

static void
smtpd_io(struct evloop *loop, int fd, int mask, void *arg)
{
	struct smtpd_session *s = arg;
	ssize_t n;
	size_t room;

	(void)loop;
	(void)fd;
	if (s->state == SMTPD_S_HANDSHAKE) {
		smtpd_handshake(s);
		return;
	}
	if (mask & EVLOOP_WRITE) {
		if (smtpd_flush(s) == -1) {
			smtpd_close(s);
			return;
		}
		if (s->state == SMTPD_S_CLOSE && s->out.len == 0) {
			smtpd_close(s);
			return;
		}
		if (s->state == SMTPD_S_TLS_WAIT && s->out.len == 0) {
			smtpd_tls_begin(s);
			return;
		}
	}
	/* between STARTTLS and the handshake nothing is read as plain text:
	 * an honest client waits for the 220 and then speaks TLS */
	if (s->state == SMTPD_S_TLS_WAIT) {
		smtpd_want(s);
		return;
	}
	if (mask & EVLOOP_READ || (s->ssl != NULL && SSL_pending(s->ssl) > 0)) {
		bool got = false;

		/* with TLS, bytes OpenSSL has decrypted already are taken
		 * now: the socket will not say they are there */
		do {
			if (s->in.len >= SMTPD_IN_MAX)
				break;
			room = SMTPD_IN_MAX - s->in.len;
			buf_reserve(&s->in, room);
			n = smtpd_sock_read(s, s->in.data + s->in.len, room);
			if (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				smtpd_close(s);
				return;
			}
			s->in.len += (size_t)n;
			s->in.data[s->in.len] = '\0';
			got = true;
		} while (s->ssl != NULL && SSL_pending(s->ssl) > 0);
		if (!got) {
			smtpd_want(s);
			return;
		}
		if (s->state == SMTPD_S_GREET) {
			/* talked before the greeting: a spam engine */
			log_info("smtpd: %s: talked before the greeting; "
			    "dropped", s->addr);
			buf_reset(&s->in);
			smtpd_reply(s, 554, "5.5.0", "Error: talked before "
			    "the greeting");
			s->state = SMTPD_S_CLOSE;
			(void)smtpd_flush(s);
			smtpd_close(s);
			return;
		}
		smtpd_rearm(s);
	}
	smtpd_process(s);
}

/* ------------------------------------------------------------- accept */

static size_t
smtpd_count_client(const struct smtpd *sd, const struct sockaddr_storage *ss)
{
	const struct smtpd_session *s;
	size_t n = 0;

	TAILQ_FOREACH(s, &sd->sessions, link) {
		if (s->peer.ss_family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET ?
		    memcmp(&((const struct sockaddr_in *)&s->peer)->sin_addr,
		    &((const struct sockaddr_in *)ss)->sin_addr, 4) == 0 :
		    memcmp(&((const struct sockaddr_in6 *)&s->peer)->sin6_addr,
		    &((const struct sockaddr_in6 *)ss)->sin6_addr, 16) == 0)
			n++;
	}
	return n;
}

static void
smtpd_pause(struct smtpd *sd, bool pause)
{
	size_t i;

	if (sd->paused == pause)
		return;
	sd->paused = pause;
	for (i = 0; i < sd->ls.n; i++)
		if (sd->lio[i] != NULL)
			(void)evloop_modify(sd->lio[i], pause ? 0 : EVLOOP_READ);
}

static void
smtpd_resume(struct smtpd *sd)
{
	if (sd->paused && !sd->stopping &&
	    sd->n_sessions < sd->cfg->smtpd_max_connections)
		smtpd_pause(sd, false);
}

/* ----------------------------------------------- the client's name */

static void smtpd_dns_arm(struct smtpd *);

static void
smtpd_dns_timer(struct evloop *loop, uint64_t id, void *arg)
{
	struct smtpd *sd = arg;

	(void)loop;
	(void)id;
	sd->dns_timer = 0;
	dns_process(sd->dns, -1, -1);
	smtpd_dns_arm(sd);
}

/* c-ares's next timeout on the loop's timer */
static void
smtpd_dns_arm(struct smtpd *sd)
{
	int ms;

	if (sd->dns_timer != 0)
		evloop_timer_cancel(sd->loop, sd->dns_timer);
	sd->dns_timer = 0;
	if ((ms = dns_timeout_ms(sd->dns)) >= 0)
		sd->dns_timer = evloop_timer_add(sd->loop, (uint64_t)ms,
		    smtpd_dns_timer, sd);
}

static void
smtpd_dns_io(struct evloop *loop, int fd, int mask, void *arg)
{
	struct smtpd *sd = arg;

	(void)loop;
	dns_process(sd->dns, (mask & EVLOOP_READ) ? fd : -1,
	    (mask & EVLOOP_WRITE) ? fd : -1);
	smtpd_dns_arm(sd);
}

/* c-ares says which sockets it wants watched */
static void
smtpd_dns_sock(void *arg, int fd, int readable, int writable)
{
	struct smtpd *sd = arg;
	int mask = (readable ? EVLOOP_READ : 0) | (writable ? EVLOOP_WRITE : 0);
	size_t i;

	for (i = 0; i < sd->n_dns_watches; i++)
		if (sd->dns_watches[i].fd == fd)
			break;
	if (i < sd->n_dns_watches) {
		if (mask == 0) {
			evloop_unwatch(sd->dns_watches[i].io);
			sd->dns_watches[i] =
			    sd->dns_watches[--sd->n_dns_watches];
		} else
			(void)evloop_modify(sd->dns_watches[i].io, mask);
		return;
	}
	if (mask == 0)
		return;
	sd->dns_watches = xreallocarray(sd->dns_watches,
	    sd->n_dns_watches + 1, sizeof(*sd->dns_watches));
	sd->dns_watches[sd->n_dns_watches].fd = fd;
	sd->dns_watches[sd->n_dns_watches].io = evloop_watch(sd->loop, fd,
	    mask, smtpd_dns_io, sd);
	if (sd->dns_watches[sd->n_dns_watches].io != NULL)
		sd->n_dns_watches++;
}

/* The PTR name and its addresses: the name counts only when one of
 * them is the client's (forward-confirmed), so a client cannot name
 * itself with a PTR record it controls. */
static void
smtpd_rdns_done(const struct dns_result *r, void *arg)
{
	struct smtpd_rdns *h = arg;
	struct smtpd_session *s = h->s;
	struct smtpd *sd;
	size_t i;
	bool confirmed = false;

	if (s == NULL) {
		/* the session went: nothing to tell (sd is gone from h) */
		TAILQ_REMOVE(h->list, h, link);
		free(h);
		return;
	}
	sd = s->sd;
	TAILQ_REMOVE(&sd->rdns, h, link);
	if (r->status.kind == MAIL_OK && r->nhosts == 1)
		for (i = 0; i < r->hosts[0].naddrs; i++) {
			const struct dns_addr *a = &r->hosts[0].addrs[i];

			if (a->family == h->addr.family &&
			    memcmp(&a->u, &h->addr.u, a->family == AF_INET ?
			    sizeof(a->u.v4) : sizeof(a->u.v6)) == 0)
				confirmed = true;
		}
	if (confirmed)
		s->name = xstrdup(r->hosts[0].name);
	else
		log_info("smtpd: %s: no confirmed name (%s)", s->addr,
		    r->status.kind == MAIL_OK ? "the name's addresses are "
		    "others" : r->status.text);
	s->rdns = NULL;
	free(h);
	if (s->greet_due && s->state == SMTPD_S_GREET)
		smtpd_greet(s);
}

/* The lookup of a new session's client name. */
static void
smtpd_rdns_start(struct smtpd_session *s, const struct sockaddr_storage *ss)
{
	struct smtpd *sd = s->sd;
	struct smtpd_rdns *h;

	if (sd->dns == NULL)
		return;
	h = xcalloc(1, sizeof(*h));
	h->list = &sd->rdns;
	if (ss->ss_family == AF_INET) {
		h->addr.family = AF_INET;
		h->addr.u.v4 = ((const struct sockaddr_in *)ss)->sin_addr;
	} else {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			h->addr.family = AF_INET;
			memcpy(&h->addr.u.v4, &a6->s6_addr[12], 4);
		} else {
			h->addr.family = AF_INET6;
			h->addr.u.v6 = *a6;
		}
	}
	if (dns_resolve_ptr(sd->dns, &h->addr, smtpd_rdns_done, h) == -1) {
		free(h);
		return;
	}
	h->s = s;
	s->rdns = h;
	TAILQ_INSERT_TAIL(&sd->rdns, h, link);
	smtpd_dns_arm(sd);
}

static void
smtpd_accept(struct evloop *loop, int lfd, int mask, void *arg)
{
	struct smtpd *sd = arg;
	struct smtpd_session *s;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, k;
	bool implicit = false;
	size_t li;

	(void)mask;
	for (li = 0; li < sd->ls.n; li++)
		if (sd->ls.fds[li] == lfd)
			implicit = sd->ls.implicit[li];
	for (k = 0; k < SMTPD_ACCEPT_BURST; k++) {
		if (sd->n_sessions >= sd->cfg->smtpd_max_connections) {
			smtpd_pause(sd, true);
			return;
		}
		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("smtpd: accept");
			return;
		}
		s = xcalloc(1, sizeof(*s));
		s->sd = sd;
		s->fd = fd;
		s->work = -1;
		s->peer = ss;
		buf_init(&s->in);
		buf_init(&s->out);
		buf_init(&s->dbuf);
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			    s->addr, sizeof(s->addr));
		else {
			const struct in6_addr *a6 =
			    &((struct sockaddr_in6 *)&ss)->sin6_addr;

			/* a v4 client on a dual-stack socket */
			if (IN6_IS_ADDR_V4MAPPED(a6))
				inet_ntop(AF_INET, &a6->s6_addr[12], s->addr,
				    sizeof(s->addr));
			else {
				strcpy(s->addr, "IPv6:");
				inet_ntop(AF_INET6, a6, s->addr + 5,
				    sizeof(s->addr) - 5);
			}
		}
		s->trusted = smtpd_policy_trusted(&sd->policy,
		    (struct sockaddr *)&ss, false);
		s->accepted_ms = evloop_now_ms(loop);
		s->implicit = implicit;
		if (qid_new(s->sid) == -1)
			snprintf(s->sid, sizeof(s->sid), "-");
		if (sd->plog != NULL) {
			char note[96];

			snprintf(note, sizeof(note), "connect from [%s]%s",
			    s->addr, implicit ? " (implicit TLS)" : "");
			protolog_line(sd->plog, s->sid, '*', note, false);
		}
		TAILQ_INSERT_TAIL(&sd->sessions, s, link);
		sd->n_sessions++;
		if ((s->io = evloop_watch(loop, fd, EVLOOP_READ, smtpd_io,
		    s)) == NULL) {
			log_warn("smtpd: event loop");
			smtpd_close(s);
			continue;
		}
		if (smtpd_count_client(sd, &ss) > sd->cfg->smtpd_max_per_client) {
			s->state = SMTPD_S_CLOSE;
			smtpd_reply(s, 421, "4.7.0", "%s Error: too many "
			    "connections from %s", sd->cfg->hostname, s->addr);
			(void)smtpd_flush(s);
			smtpd_close(s);
			continue;
		}
		/* the client's name, with smtpd_reverse_dns: the greeting
		 * waits for it (bounded); under implicit TLS the handshake
		 * runs meanwhile */
		smtpd_rdns_start(s, &ss);
		if (implicit) {
			/* the client speaks first here: its ClientHello */
			s->timer = evloop_timer_add(loop,
			    sd->cfg->smtpd_timeout * 1000, smtpd_timer, s);
			smtpd_tls_begin(s);
			continue;
		}
		/* greeting after the pause (and the client's name, with
		 * smtpd_reverse_dns); silence is asked meanwhile */
		s->state = SMTPD_S_GREET;
		s->timer = evloop_timer_add(loop,
		    sd->cfg->smtpd_greet_pause * 1000, smtpd_timer, s);
	}
}

/* smtpd_new - the listener on the loop */
struct smtpd *
smtpd_new(const struct imc_config *cfg, struct evloop *loop, int work_fd,
    struct smtpd_listeners *ls, const struct smtpd_ops *ops, void *arg,
    struct buf *err)
{
	struct smtpd *sd = xcalloc(1, sizeof(*sd));
	size_t i;

	sd->cfg = cfg;
	sd->loop = loop;
	sd->work_fd = work_fd;
	sd->ops = ops;
	sd->arg = arg;
	TAILQ_INIT(&sd->sessions);
	sd->ls = *ls;
	sd->tls = ls->tls;
	sd->auth = ls->auth;
	memset(ls, 0, sizeof(*ls));
	sd->lio = xcalloc(sd->ls.n ? sd->ls.n : 1, sizeof(*sd->lio));
	TAILQ_INIT(&sd->rdns);
	if (cfg->smtpd_reverse_dns) {
		if ((sd->dns = dns_new(cfg->dns_servers)) == NULL) {
			buf_printf(err, "smtpd_reverse_dns: cannot set up the "
			    "resolver");
			smtpd_free(sd);
			return NULL;
		}
		(void)dns_set_timeout(sd->dns, SMTPD_RDNS_TRY_MS,
		    SMTPD_RDNS_TRIES);
		dns_set_sock_fn(sd->dns, smtpd_dns_sock, sd);
	}
	if (smtpd_policy_init(&sd->policy, cfg, err) == -1) {
		smtpd_free(sd);
		return NULL;
	}
	for (i = 0; i < sd->ls.n; i++)
		if ((sd->lio[i] = evloop_watch(loop, sd->ls.fds[i], EVLOOP_READ,
		    smtpd_accept, sd)) == NULL) {
			buf_printf(err, "event loop: %s", strerror(errno));
			smtpd_free(sd);
			return NULL;
		}
	return sd;
}

void
smtpd_set_protolog(struct smtpd *sd, struct protolog *pl)
{
	if (sd != NULL)
		sd->plog = pl;
}

void
smtpd_flush_logs(struct smtpd *sd)
{
	if (sd != NULL && sd->plog != NULL)
		(void)protolog_flush(sd->plog);
}

size_t
smtpd_waiting(const struct smtpd *sd)
{
	return sd != NULL ? sd->n_waiting : 0;
}

size_t
smtpd_sessions(const struct smtpd *sd)
{
	return sd != NULL ? sd->n_sessions : 0;
}

/* Sessions between MAIL and the end of DATA, not yet waiting. */
static size_t
smtpd_count_in_txn(const struct smtpd *sd)
{
	const struct smtpd_session *s;
	size_t n = 0;

	TAILQ_FOREACH(s, &sd->sessions, link)
		if (s->state == SMTPD_S_DATA || s->state == SMTPD_S_BDAT ||
		    (s->state == SMTPD_S_CMD && s->have_mail))
			n++;
	return n;
}

int64_t
smtpd_commit_in_ms(const struct smtpd *sd)
{
	uint64_t now, due;

	if (sd == NULL || sd->n_waiting == 0)
		return -1;
	if (sd->stopping || smtpd_count_in_txn(sd) == 0)
		return 0;
	now = evloop_now_ms(sd->loop);
	due = sd->first_wait + SMTPD_GROUP_MS;
	return now >= due ? 0 : (int64_t)(due - now);
}

/* The reply to a session whose commit is settled. */
static void
smtpd_settle(struct smtpd_session *s, bool ok)
{
	struct smtpd *sd = s->sd;

	sd->n_waiting--;
	s->state = SMTPD_S_CMD;
	if (ok)
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", s->qid);
	else {
		sd->ops->forget(sd->arg, s->qid);
		smtpd_reply(s, 451, "4.3.0", "Error: cannot queue now");
	}
	if (sd->stopping)
		s->state = SMTPD_S_CLOSE;
	smtpd_rearm(s);
}

/* smtpd_durable - barrier 1 is passed: the 250s, nothing else (we are
 * inside batch_commit: no input is taken, no entry may join the batch) */
void
smtpd_durable(struct smtpd *sd)
{
	struct smtpd_session *s;

	if (sd == NULL || sd->n_waiting == 0)
		return;
	TAILQ_FOREACH(s, &sd->sessions, link) {
		if (s->state != SMTPD_S_COMMIT)
			continue;
		smtpd_settle(s, true);
		s->resume = true;
		/* a write error is seen at the next round */
		(void)smtpd_flush(s);
	}
}

/* smtpd_committed - the 250s (or 451s) of the sessions still waiting,
 * then what they and those answered in smtpd_durable pipelined */
void
smtpd_committed(struct smtpd *sd, bool ok)
{
	struct smtpd_session *s, *next;

	if (sd == NULL)
		return;
	for (s = TAILQ_FIRST(&sd->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		if (s->state == SMTPD_S_COMMIT)
			smtpd_settle(s, ok);
		else if (!s->resume)
			continue;
		s->resume = false;
		/* commands pipelined after the dot are taken now */
		smtpd_process(s);
	}
}

/* smtpd_stop - no new sessions; those not waiting for a commit go */
void
smtpd_stop(struct smtpd *sd)
{
	struct smtpd_session *s, *next;
	size_t i;

	if (sd == NULL)
		return;
	sd->stopping = true;
	for (i = 0; i < sd->ls.n; i++)
		if (sd->lio[i] != NULL) {
			evloop_unwatch(sd->lio[i]);
			sd->lio[i] = NULL;
		}
	for (s = TAILQ_FIRST(&sd->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		if (s->state == SMTPD_S_COMMIT)
			continue;
		smtpd_drop_work(s);
		smtpd_reply(s, 421, "4.3.2", "%s Service shutting down",
		    sd->cfg->hostname);
		(void)smtpd_flush(s);
		smtpd_close(s);
	}
}

void
smtpd_free(struct smtpd *sd)
{
	struct smtpd_session *s;
	size_t i;

	if (sd == NULL)
		return;
	sd->stopping = true;
	while ((s = TAILQ_FIRST(&sd->sessions)) != NULL) {
		if (s->state == SMTPD_S_COMMIT)
			s->state = SMTPD_S_CLOSE;	/* counted below */
		smtpd_close(s);
	}
	for (i = 0; i < sd->ls.n; i++)
		if (sd->lio[i] != NULL)
			evloop_unwatch(sd->lio[i]);
	smtpd_listeners_close(&sd->ls);	/* with the TLS context and users */
	free(sd->lio);
	/* lookups in flight: dns_free drops them without their callbacks */
	for (i = 0; i < sd->n_dns_watches; i++)
		evloop_unwatch(sd->dns_watches[i].io);
	free(sd->dns_watches);
	if (sd->dns_timer != 0)
		evloop_timer_cancel(sd->loop, sd->dns_timer);
	dns_free(sd->dns);
	{
		struct smtpd_rdns *h;

		while ((h = TAILQ_FIRST(&sd->rdns)) != NULL) {
			TAILQ_REMOVE(&sd->rdns, h, link);
			free(h);
		}
	}
	smtpd_policy_fini(&sd->policy);
	free(sd);
}
