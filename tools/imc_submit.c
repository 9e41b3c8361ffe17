/*
 * imc-submit - sendmail-compatible injection into Pickup.
 *
 * imc-submit [-c FILE] [-f SENDER] [-t] [-i] [-oi] [-N NOTIFY] [-R RET]
 *     [-V ENVID] [RCPT...]
 *
 * Reads a message on standard input and publishes it into Pickup
 * atomically: it writes a hidden temp name (".submit-XXXX.tmp", which the
 * connector ignores) and renames it to "<random>.eml" when complete. The
 * file starts with an X-Sender: line (-f, else the caller's login name,
 * which the connector qualifies with its hostname) and one X-Receiver:
 * line per recipient: the arguments, plus with -t the To, Cc and Bcc
 * addresses of the header. Addresses are parsed and written in canonical
 * form: a control character or an unparsable address exits 65, so the
 * words a web application passes to -f cannot add envelope lines. The
 * configuration is read as a writer may read it (CONFIG_SUBMIT: auth_file
 * is never opened). Without -i a line holding only "." ends the
 * input, as with sendmail. Leading dots are doubled unless the connector
 * reads Pickup files literally (under auto a stuffed file has no line
 * with a single leading dot, so it is read the IIS way), so the message
 * arrives as it was given. It needs only search and write access to
 * Pickup (a writers' group member who cannot list it). Exit codes are
 * from sysexits.h.
 *
 * -N (NEVER, or a comma list of SUCCESS, FAILURE, DELAY), -R (full or
 * hdrs) and -V (an envelope id) are sendmail's DSN options (RFC 3461):
 * they go on the X- lines as ESMTP parameters (NOTIFY and an ORCPT per
 * recipient, RET and ENVID for the sender), which the connector passes on
 * to peers that offer DSN and obeys for its own notices.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "imc_limits.h"
#include "progopt.h"
#include "safeio.h"
#include "xalloc.h"

struct submit {
	struct imc_config cfg;
	int		 pickup_fd;
	int		 fd;
	char		 tmpname[64];
	struct buf	 out;
	bool		 dot_ends;	/* no -i: "." alone ends the input */
	bool		 stuff_dots;	/* pickup_dots = iis or auto */
};

static const struct progopt prog = { "imc-submit",
	"usage: imc-submit [-c FILE] [-f SENDER] [-t] [-i] [-N NOTIFY] "
	"[-R full|hdrs] [-V ENVID] [RCPT...]\n"
};

static void fail(struct submit *, int, const char *, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

static void
fail(struct submit *s, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "imc-submit: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (s != NULL && s->fd != -1)
		unlinkat(s->pickup_fd, s->tmpname, 0);
	exit(code);
}

/* The temp file while it is not yet published: an exit on the way
 * (fail, or xalloc's when memory runs out) removes it. */
static struct submit *submit_unpublished;

static void
submit_cleanup(void)
{
	if (submit_unpublished != NULL)
		unlinkat(submit_unpublished->pickup_fd,
		    submit_unpublished->tmpname, 0);
}

static void
emit(struct submit *s, const void *p, size_t len)
{
	buf_append(&s->out, p, len);
	if (s->out.len >= IMC_IO_CHUNK) {
		if (safe_write_all(s->fd, s->out.data, s->out.len) == -1)
			fail(s, EX_IOERR, "cannot write to Pickup: %s",
			    strerror(errno));
		buf_reset(&s->out);
	}
}

/* One line of the message, without its line end. */
static void
emit_line(struct submit *s, const char *p, size_t len)
{
	if (s->stuff_dots && len > 0 && p[0] == '.')
		emit(s, ".", 1);
	emit(s, p, len);
	emit(s, "\r\n", 2);
}

static bool
header_name_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

static void
add_rcpt(struct submit *s, struct addr_list *rcpts, const char *text,
    size_t len, bool is_list)
{
	struct buf err;
	char *one;

	buf_init(&err);
	if (is_list) {
		if (addr_parse_list(text, len, rcpts, &err) == -1)
			fail(s, EX_DATAERR, "bad recipient address: %s",
			    buf_cstr(&err));
	} else {
		if (addr_parse_arg(text, &one, &err) == -1)
			fail(s, EX_DATAERR, "bad recipient address: %s",
			    buf_cstr(&err));
		if (one[0] == '\0')
			fail(s, EX_DATAERR, "bad recipient address: %s", text);
		addr_list_add(rcpts, one);
		free(one);
	}
	buf_fini(&err);
}

/* xtext (RFC 3461): "+", "=" and bytes outside 33..126 as +XX */
static void
xtext(struct buf *b, const char *v)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c < 33 || c > 126 || c == '+' || c == '=')
			buf_printf(b, "+%02X", c);
		else
			buf_putc(b, c);
	}
}

static bool
notify_ok(const char *v)
{
	char *copy, *w, *save = NULL;
	bool ok = true;

	if (strcasecmp(v, "never") == 0)
		return true;
	if (*v == '\0' || v[strlen(v) - 1] == ',')
		return false;
	copy = xstrdup(v);
	for (w = strtok_r(copy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save))
		if (strcasecmp(w, "success") != 0 &&
		    strcasecmp(w, "failure") != 0 && strcasecmp(w, "delay") != 0)
			ok = false;
	free(copy);
	return ok;
}

int
main(int argc, char **argv)
{
	struct submit s;
	struct buf err, header, line;
	struct addr_list rcpts;
	const char *sender = NULL;
	char *sender_addr = NULL, *lineptr = NULL, finalname[64];
	unsigned char rnd[12];
	size_t cap = 0, i, hlen;
	ssize_t n;
	bool from_headers = false, eof_by_dot = false;
	const char *dsn_notify = NULL, *dsn_ret = NULL, *dsn_envid = NULL;
	int ch;
	struct passwd *pw;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.dot_ends = true;
	buf_init(&s.out);
	buf_init(&err);
	buf_init(&header);
	buf_init(&line);
	addr_list_init(&rcpts);
	{
		static const struct option longopts[] = {
			PROGOPT_LONGOPTS,
			{ NULL, 0, NULL, 0 }
		};
		const char *config = NULL;

		while ((ch = getopt_long(argc, argv, "c:f:r:tio:F:B:N:R:V:",
		    longopts, NULL)) != -1) {
			switch (ch) {
			case 'c':
				config = optarg;
				break;
			case 'f':
			case 'r':
				sender = optarg;
				break;
			case 't':
				from_headers = true;
				break;
			case 'i':
				s.dot_ends = false;
				break;
			case 'o':	/* -oi as sendmail spells -i */
				if (strcmp(optarg, "i") == 0)
					s.dot_ends = false;
				break;
			case 'N':
				dsn_notify = optarg;
				break;
			case 'R':
				dsn_ret = optarg;
				break;
			case 'V':
				dsn_envid = optarg;
				break;
			case 'F': case 'B':
				break;	/* sendmail options with no meaning here */
			default:
				progopt_other(&prog, ch);
			}
		}
		config = progopt_config(config, NULL);
		/* Parsed like a recipient and written in canonical form: a
		 * web application passing its user's words to -f must not be
		 * able to add envelope lines (a CR or LF is refused). */
		if (sender != NULL && addr_parse_arg(sender, &sender_addr,
		    &err) == -1)
			fail(NULL, EX_DATAERR, "bad sender address (-f): %s",
			    buf_cstr(&err));
		if (dsn_notify != NULL && !notify_ok(dsn_notify))
			fail(NULL, EX_USAGE, "-N %s: want NEVER or a list of "
			    "SUCCESS, FAILURE, DELAY", dsn_notify);
		if (dsn_ret != NULL && strcasecmp(dsn_ret, "full") != 0 &&
		    strcasecmp(dsn_ret, "hdrs") != 0)
			fail(NULL, EX_USAGE, "-R %s: want full or hdrs", dsn_ret);
		if (dsn_envid != NULL && (strlen(dsn_envid) == 0 ||
		    strlen(dsn_envid) > 100))
			fail(NULL, EX_USAGE, "-V: an envelope id of 1 to 100 "
			    "characters");
		/* Only what a writer needs and may read: not auth_file. */
		if (config_load_mode(&s.cfg, config, CONFIG_SUBMIT, &err) == -1)
			fail(NULL, EX_CONFIG, "%s", buf_cstr(&err));
	}
	s.stuff_dots = s.cfg.pickup_dots != PICKUP_DOTS_LITERAL;
	for (i = (size_t)optind; i < (size_t)argc; i++)
		add_rcpt(&s, &rcpts, argv[i], strlen(argv[i]), false);
	if (sender_addr == NULL) {
		if ((pw = getpwuid(getuid())) == NULL)
			fail(NULL, EX_NOUSER, "%s", "who are you? (no passwd entry)");
		if (addr_parse_arg(pw->pw_name, &sender_addr, &err) == -1 ||
		    sender_addr[0] == '\0')
			fail(NULL, EX_NOUSER, "login name \"%s\" is not usable "
			    "as a sender; give one with -f", pw->pw_name);
	}

	/* The header is read first: -t needs its recipients before the
	 * X-Receiver lines are written. */
	while ((n = xgetline(&lineptr, &cap, stdin)) != -1) {
		hlen = (size_t)n;
		if (hlen > 0 && lineptr[hlen - 1] == '\n')
			hlen--;
		if (hlen > 0 && lineptr[hlen - 1] == '\r')
			hlen--;
		if (s.dot_ends && hlen == 1 && lineptr[0] == '.') {
			eof_by_dot = true;
			break;
		}
		buf_append(&header, lineptr, hlen);
		buf_putc(&header, '\n');
		if (header.len > IMC_MAX_HEADER_BLOCK)
			fail(NULL, EX_DATAERR, "%s", "header too large");
		if (hlen == 0)
			break;
	}
	if (from_headers) {
		/* Each field with its folded lines. */
		const char *p = header.data ? header.data : "", *end = p + header.len;
		const char *f, *nl;

		while (p < end) {
			f = p;
			do {
				nl = memchr(p, '\n', (size_t)(end - p));
				p = nl ? nl + 1 : end;
			} while (p < end && (*p == ' ' || *p == '\t'));
			hlen = (size_t)(p - f);
			if (header_name_is(f, hlen, "to") || header_name_is(f, hlen, "cc"))
				add_rcpt(&s, &rcpts, f + 3, hlen - 3, true);
			else if (header_name_is(f, hlen, "bcc"))
				add_rcpt(&s, &rcpts, f + 4, hlen - 4, true);
		}
	}
	if (rcpts.n == 0)
		fail(NULL, EX_NOINPUT, "%s", "no recipients (give them as "
		    "arguments, or use -t)");

	if ((s.pickup_fd = open(s.cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC))
	    == -1 || (i = (size_t)openat(s.pickup_fd, "Pickup", O_PATH |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == (size_t)-1)
		fail(NULL, EX_CANTCREAT, "cannot reach Pickup: %s", strerror(errno));
	close(s.pickup_fd);
	s.pickup_fd = (int)i;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		fail(NULL, EX_OSERR, "%s", "getrandom failed");
	{
		char hex[sizeof(rnd) * 2 + 1];

		for (i = 0; i < sizeof(rnd); i++)
			snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
		snprintf(s.tmpname, sizeof(s.tmpname), ".submit-%s.tmp", hex);
		snprintf(finalname, sizeof(finalname), "%s.eml", hex);
	}
	/* 0644: Pickup itself cannot be listed by others, and the service
	 * user must be able to read what any writer leaves. */
	s.fd = openat(s.pickup_fd, s.tmpname, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644);
	if (s.fd == -1)
		fail(NULL, EX_CANTCREAT, "cannot create a file in Pickup: %s",
		    strerror(errno));
	submit_unpublished = &s;
	atexit(submit_cleanup);
	fchmod(s.fd, 0644);

	buf_printf(&line, "X-Sender: <%s>", sender_addr);
	if (dsn_ret != NULL)
		buf_printf(&line, " RET=%s", strcasecmp(dsn_ret, "full") == 0 ?
		    "FULL" : "HDRS");
	if (dsn_envid != NULL) {
		buf_puts(&line, " ENVID=");
		xtext(&line, dsn_envid);
	}
	buf_puts(&line, "\r\n");
	emit(&s, line.data, line.len);
	for (i = 0; i < rcpts.n; i++) {
		buf_reset(&line);
		buf_printf(&line, "X-Receiver: <%s>", rcpts.items[i]);
		if (dsn_notify != NULL) {
			buf_printf(&line, " NOTIFY=%s ORCPT=rfc822;", dsn_notify);
			xtext(&line, rcpts.items[i]);
		}
		buf_puts(&line, "\r\n");
		emit(&s, line.data, line.len);
	}
	{
		const char *p = header.data ? header.data : "", *end = p + header.len;
		const char *nl;

		while (p < end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			emit_line(&s, p, (size_t)(nl - p));
			p = nl + 1;
		}
	}
	if (!eof_by_dot) {
		while ((n = xgetline(&lineptr, &cap, stdin)) != -1) {
			hlen = (size_t)n;
			if (hlen > 0 && lineptr[hlen - 1] == '\n')
				hlen--;
			if (hlen > 0 && lineptr[hlen - 1] == '\r')
				hlen--;
			if (s.dot_ends && hlen == 1 && lineptr[0] == '.')
				break;
			emit_line(&s, lineptr, hlen);
		}
	}
	if (ferror(stdin))
		fail(&s, EX_IOERR, "reading standard input: %s", strerror(errno));
	if (s.out.len > 0 && safe_write_all(s.fd, s.out.data, s.out.len) == -1)
		fail(&s, EX_IOERR, "cannot write to Pickup: %s", strerror(errno));
	if (fsync(s.fd) == -1 || close(s.fd) == -1)
		fail(&s, EX_IOERR, "cannot write to Pickup: %s", strerror(errno));
	if (renameat(s.pickup_fd, s.tmpname, s.pickup_fd, finalname) == -1)
		fail(&s, EX_CANTCREAT, "cannot publish into Pickup: %s",
		    strerror(errno));
	submit_unpublished = NULL;
	free(lineptr);
	free(sender_addr);
	addr_list_free(&rcpts);
	buf_fini(&s.out);
	buf_fini(&err);
	buf_fini(&header);
	buf_fini(&line);
	config_free(&s.cfg);
	return EX_OK;
}
