/*
 * qfile - the queue entry format (see qfile.h).
 */
#include "qfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "hex.h"
#include "safeio.h"
#include "xalloc.h"

#define QENV_MAX_SIZE	(16 * 1024 * 1024)

/* qenv_init - an empty envelope */
void
qenv_init(struct qenv *e)
{
	memset(e, 0, sizeof(*e));
	e->hops = -1;
	e->eightbit = -1;
}

/* qenv_free - release an envelope */
void
qenv_free(struct qenv *e)
{
	size_t i;

	free(e->origname);
	free(e->sender);
	free(e->error);
	free(e->ret);
	free(e->envid);
	for (i = 0; i < e->n_rcpts; i++) {
		free(e->rcpts[i].addr);
		free(e->rcpts[i].text);
		free(e->rcpts[i].notify);
		free(e->rcpts[i].orcpt);
	}
	free(e->rcpts);
	qenv_init(e);
}

/* qenv_set - replace a string field with a copy (NULL clears it) */
int
qenv_set(char **field, const char *value)
{
	char *p = value != NULL ? xstrdup(value) : NULL;

	free(*field);
	*field = p;
	return 0;
}

/* qenv_add_rcpt - add a pending recipient */
int
qenv_add_rcpt(struct qenv *e, const char *addr)
{
	size_t ncap;

	if (e->n_rcpts == e->cap_rcpts) {
		ncap = e->cap_rcpts ? e->cap_rcpts * 2 : 4;
		e->rcpts = xreallocarray(e->rcpts, ncap, sizeof(*e->rcpts));
		e->cap_rcpts = ncap;
	}
	memset(&e->rcpts[e->n_rcpts], 0, sizeof(e->rcpts[0]));
	e->rcpts[e->n_rcpts].addr = xstrdup(addr);
	e->rcpts[e->n_rcpts].state = QRCPT_PENDING;
	e->n_rcpts++;
	return 0;
}

/* qenv_count - recipients in a state */
size_t
qenv_count(const struct qenv *e, enum qrcpt_state state)
{
	size_t i, n = 0;

	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == state)
			n++;
	return n;
}

/* qrcpt_state_name - the word used in the file and in listings */
const char *
qrcpt_state_name(enum qrcpt_state s)
{
	switch (s) {
	case QRCPT_PENDING:
		return "pending";
	case QRCPT_DONE:
		return "done";
	case QRCPT_FAILED:
		return "failed";
	case QRCPT_BOUNCED:
		return "bounced";
	}
	return "?";
}

static int
qenv_escape(struct buf *out, const char *s)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0')
		return buf_putc(out, '=');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '%' || *p == '=') {
			if (buf_putc(out, '%') == -1 ||
			    buf_putc(out, hex_upper(*p >> 4)) == -1 ||
			    buf_putc(out, hex_upper(*p)) == -1)
				return -1;
		} else if (buf_putc(out, *p) == -1)
			return -1;
	}
	return 0;
}

/* Unescape a token into a new string; NULL on a malformed token, which
 * only a corrupt file holds (out of memory is fatal, never NULL here: a
 * NULL sends the entry to Badmail). */
static char *
qenv_unescape(const char *s, size_t len)
{
	struct buf b;
	size_t i;
	int hi, lo;

	buf_init(&b);
	if (len == 1 && s[0] == '=')
		return buf_steal(&b);
	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			/* qenv_escape never writes these raw: a corrupt file */
			if (s[i] == '=' || (unsigned char)s[i] <= 0x20 ||
			    s[i] == 0x7f)
				goto bad;
			buf_putc(&b, s[i]);
			continue;
		}
		if (i + 2 >= len)
			goto bad;
		hi = hex_value((unsigned char)s[i + 1]);
		lo = hex_value((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			goto bad;
		buf_putc(&b, hi * 16 + lo);
		i += 2;
	}
	return buf_steal(&b);
bad:
	buf_fini(&b);
	return NULL;
}

/* qfile_escape, qfile_unescape - the envelope's escaping, for other
 * formats of the tree that hold the same kind of values (the listener's
 * Work files, LAYOUT.md) */
int
qfile_escape(struct buf *out, const char *s)
{
	return qenv_escape(out, s);
}

char *
qfile_unescape(const char *s, size_t len)
{
	return qenv_unescape(s, len);
}

/* qenv_format - the .env text */
int
qenv_format(const struct qenv *e, struct buf *o)
{
	size_t i;
	int r = 0;

	r |= buf_printf(o, "IMCQ 1\nqid %s\narrival %" PRId64 "\norigname ",
	    e->qid, e->arrival);
	r |= qenv_escape(o, e->origname);
	r |= buf_puts(o, "\nsender ");
	r |= qenv_escape(o, e->sender);
	r |= buf_printf(o, "\nsize %" PRIu64 "\nattempts %u\nnext %" PRId64
	    "\nerror ", e->size, e->attempts, e->next_try);
	r |= qenv_escape(o, e->error);
	r |= buf_putc(o, '\n');
	if (e->warned != 0)
		r |= buf_printf(o, "warned %" PRId64 "\n", e->warned);
	if (e->held != 0)
		r |= buf_printf(o, "held %" PRId64 "\n", e->held);
	if (e->hops >= 0)
		r |= buf_printf(o, "hops %d\n", e->hops);
	if (e->eightbit >= 0)
		r |= buf_printf(o, "eightbit %d\n", e->eightbit);
	if (e->ret != NULL) {
		r |= buf_puts(o, "ret ");
		r |= qenv_escape(o, e->ret);
		r |= buf_putc(o, '\n');
	}
	if (e->envid != NULL) {
		r |= buf_puts(o, "envid ");
		r |= qenv_escape(o, e->envid);
		r |= buf_putc(o, '\n');
	}
	for (i = 0; i < e->n_rcpts && r == 0; i++) {
		r |= buf_printf(o, "rcpt %s %s ",
		    qrcpt_state_name(e->rcpts[i].state),
		    e->rcpts[i].dsn[0] ? e->rcpts[i].dsn : "-");
		r |= qenv_escape(o, e->rcpts[i].addr);
		r |= buf_putc(o, ' ');
		r |= qenv_escape(o, e->rcpts[i].text);
		if (e->rcpts[i].notify != NULL || e->rcpts[i].orcpt != NULL) {
			/* DSN parameters as given ("-": none) */
			r |= buf_putc(o, ' ');
			if (e->rcpts[i].notify != NULL)
				r |= qenv_escape(o, e->rcpts[i].notify);
			else
				r |= buf_putc(o, '-');
			r |= buf_putc(o, ' ');
			if (e->rcpts[i].orcpt != NULL)
				r |= qenv_escape(o, e->rcpts[i].orcpt);
			else
				r |= buf_putc(o, '-');
		}
		r |= buf_putc(o, '\n');
	}
	r |= buf_puts(o, "end\n");
	return r ? -1 : 0;
}

static int
qenv_number(const char *s, size_t len, int64_t *out)
{
	char tmp[32];
	char *end;
	long long v;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0' || (tmp[0] != '-' && (tmp[0] < '0' ||
	    tmp[0] > '9')))
		return -1;
	*out = v;
	return 0;
}

/* Split a line into at most max space-separated tokens. */
static size_t
qenv_tokens(const char *line, size_t len, const char **tok, size_t *tlen,
    size_t max)
{
	size_t n = 0, i = 0, start;

	while (i < len && n < max) {
		while (i < len && line[i] == ' ')
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && line[i] != ' ')
			i++;
		tok[n] = line + start;
		tlen[n] = i - start;
		n++;
	}
	while (i < len && line[i] == ' ')
		i++;
	return i < len ? max + 1 : n;
}

static enum qrcpt_state
qenv_state(const char *s, size_t len, bool *ok)
{
	*ok = true;
	if (len == 7 && !memcmp(s, "pending", 7))
		return QRCPT_PENDING;
	if (len == 4 && !memcmp(s, "done", 4))
		return QRCPT_DONE;
	if (len == 6 && !memcmp(s, "failed", 6))
		return QRCPT_FAILED;
	if (len == 7 && !memcmp(s, "bounced", 7))
		return QRCPT_BOUNCED;
	*ok = false;
	return QRCPT_PENDING;
}

#define TOKEQ(i, lit) (tlen[i] == sizeof(lit) - 1 && !memcmp(tok[i], lit, tlen[i]))

/* qenv_parse - read .env text; -1 with a reason for anything malformed */
int
qenv_parse(const char *data, size_t len, struct qenv *e, struct buf *err)
{
	const char *line, *nl, *tok[7];
	size_t tlen[7], n, pos = 0;
	int64_t num;
	bool ended = false, ok, have_qid = false;
	long lineno = 0;
	char **field;

	qenv_init(e);
	while (pos < len) {
		line = data + pos;
		if ((nl = memchr(line, '\n', len - pos)) == NULL) {
			buf_printf(err, "line %ld: no line end (file cut short)",
			    lineno + 1);
			goto bad;
		}
		pos = (size_t)(nl - data) + 1;
		lineno++;
		if (ended) {
			buf_printf(err, "line %ld: data after \"end\"", lineno);
			goto bad;
		}
		n = qenv_tokens(line, (size_t)(nl - line), tok, tlen, 7);
		if (lineno == 1) {
			if (n != 2 || !TOKEQ(0, "IMCQ") || !TOKEQ(1, "1")) {
				buf_puts(err, "not a queue envelope (IMCQ 1)");
				goto bad;
			}
			continue;
		}
		if (n == 1 && TOKEQ(0, "end")) {
			ended = true;
			continue;
		}
		if ((n == 5 || n == 7) && TOKEQ(0, "rcpt")) {
			enum qrcpt_state st = qenv_state(tok[1], tlen[1], &ok);
			char *addr;

			if (!ok || tlen[2] == 0 || tlen[2] >= sizeof(e->rcpts[0].dsn))
				goto badline;
			if ((addr = qenv_unescape(tok[3], tlen[3])) == NULL)
				goto badline;
			qenv_add_rcpt(e, addr);
			free(addr);
			e->rcpts[e->n_rcpts - 1].state = st;
			if (!(tlen[2] == 1 && tok[2][0] == '-')) {
				memcpy(e->rcpts[e->n_rcpts - 1].dsn, tok[2], tlen[2]);
				e->rcpts[e->n_rcpts - 1].dsn[tlen[2]] = '\0';
			}
			if (!(tlen[4] == 1 && tok[4][0] == '=') &&
			    (e->rcpts[e->n_rcpts - 1].text =
			    qenv_unescape(tok[4], tlen[4])) == NULL)
				goto badline;
			if (n == 7 && !(tlen[5] == 1 && tok[5][0] == '-') &&
			    (e->rcpts[e->n_rcpts - 1].notify =
			    qenv_unescape(tok[5], tlen[5])) == NULL)
				goto badline;
			if (n == 7 && !(tlen[6] == 1 && tok[6][0] == '-') &&
			    (e->rcpts[e->n_rcpts - 1].orcpt =
			    qenv_unescape(tok[6], tlen[6])) == NULL)
				goto badline;
			continue;
		}
		if (n != 2)
			goto badline;
		field = NULL;
		if (TOKEQ(0, "qid")) {
			if (tlen[1] != QID_LEN)
				goto badline;
			memcpy(e->qid, tok[1], QID_LEN);
			e->qid[QID_LEN] = '\0';
			if (!qid_valid(e->qid))
				goto badline;
			have_qid = true;
		} else if (TOKEQ(0, "origname"))
			field = &e->origname;
		else if (TOKEQ(0, "sender"))
			field = &e->sender;
		else if (TOKEQ(0, "error"))
			field = &e->error;
		else if (TOKEQ(0, "ret"))
			field = &e->ret;
		else if (TOKEQ(0, "envid"))
			field = &e->envid;
		else if (qenv_number(tok[1], tlen[1], &num) == -1)
			goto badline;
		else if (TOKEQ(0, "arrival"))
			e->arrival = num;
		else if (TOKEQ(0, "size") && num >= 0)
			e->size = (uint64_t)num;
		else if (TOKEQ(0, "attempts") && num >= 0 && num <= UINT32_MAX)
			e->attempts = (unsigned)num;
		else if (TOKEQ(0, "next"))
			e->next_try = num;
		else if (TOKEQ(0, "warned"))
			e->warned = num;
		else if (TOKEQ(0, "held") && num > 0)
			e->held = num;
		else if (TOKEQ(0, "hops") && num >= 0 && num <= 1000000)
			e->hops = (int)num;
		else if (TOKEQ(0, "eightbit") && (num == 0 || num == 1))
			e->eightbit = (int)num;
		else
			goto badline;
		if (field != NULL) {
			free(*field);
			if ((*field = qenv_unescape(tok[1], tlen[1])) == NULL)
				goto badline;
		}
	}
	if (!ended || !have_qid || e->sender == NULL) {
		buf_puts(err, "incomplete envelope (no \"end\", qid or sender)");
		goto bad;
	}
	return 0;
badline:
	buf_printf(err, "line %ld: malformed", lineno);
bad:
	qenv_free(e);
	return -1;
}

/* The envelope kept on the content file (QENV_XATTR); -1 with ENOENT
 * when there is none. st gets the content file's status. */
static int
qenv_read_xattr(int dirfd, const char *qid, struct buf *data, struct stat *st,
    struct buf *err)
{
	char name[QID_SIZE + 8];
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		buf_printf(err, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		buf_printf(err, "%s: not a regular file", name);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* The value may grow between asking its size and reading it only
	 * if another process writes it; the daemon is the only writer. */
	if ((n = fgetxattr(fd, QENV_XATTR, NULL, 0)) == -1) {
		int saved = errno;

		close(fd);
		if (saved == ENODATA || saved == ENOTSUP) {
			buf_printf(err, "%s: no envelope", name);
			errno = ENOENT;
		} else {
			buf_printf(err, "%s: envelope: %s", name, strerror(saved));
			errno = saved;
		}
		return -1;
	}
	if (n > QENV_MAX_SIZE || buf_reserve(data, (size_t)n) == -1 ||
	    fgetxattr(fd, QENV_XATTR, data->data, (size_t)n) != n) {
		buf_printf(err, "%s: cannot read its envelope", name);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	data->len = (size_t)n;
	close(fd);
	return 0;
}

/* qenv_load - read and check a queue entry: <qid>.env when there is one,
 * else the envelope kept on <qid>.eml */
int
qenv_load(int dirfd, const char *qid, struct qenv *e, struct buf *err)
{
	char name[QID_SIZE + 8];
	struct stat st;
	struct buf data;
	bool on_content = false;
	ssize_t n;
	int fd;

	qenv_init(e);
	buf_init(&data);
	snprintf(name, sizeof(name), "%s%s", qid, QFILE_ENV);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if (qenv_read_xattr(dirfd, qid, &data, &st, err) == -1) {
			buf_fini(&data);
			return -1;
		}
		on_content = true;
	} else if (fd == -1) {
		buf_printf(err, "%s: %s", name, strerror(errno));
		return -1;
	} else {
		/* buf_reserve cannot fail below QENV_MAX_SIZE (out of memory
		 * is fatal): every -1 here is a file that is not what it must
		 * be. */
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_size > QENV_MAX_SIZE ||
		    buf_reserve(&data, (size_t)st.st_size) == -1 ||
		    (n = safe_read_full(fd, data.data, (size_t)st.st_size)) !=
		    st.st_size) {
			buf_printf(err, "%s: cannot read", name);
			close(fd);
			buf_fini(&data);
			return -1;
		}
		close(fd);
		data.len = (size_t)n;
	}
	/* From here every -1 is a corrupt entry, never "no envelope": the
	 * open of an absent .env above may have left ENOENT in errno, and
	 * callers remove content that has no envelope. */
	if (qenv_parse(data.data, data.len, e, err) == -1) {
		buf_fini(&data);
		errno = EINVAL;
		return -1;
	}
	buf_fini(&data);
	if (strcmp(e->qid, qid) != 0) {
		buf_printf(err, "%s: names queue id %s", name, e->qid);
		qenv_free(e);
		errno = EINVAL;
		return -1;
	}
	snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
	if (!on_content && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) ==
	    -1) {
		/* errno as fstatat left it: ENOENT is an entry being removed
		 * (its .env goes first) */
		buf_printf(err, "%s: missing", name);
		qenv_free(e);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size) {
		buf_printf(err, "%s: not %" PRIu64 " bytes", name, e->size);
		qenv_free(e);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* qenv_store - write <qid>.env (see qfile.h) */
int
qenv_store(int dirfd, const struct qenv *e, bool create, bool sync)
{
	char name[QID_SIZE + 8];
	struct buf text;
	int fd, r;

	buf_init(&text);
	if (qenv_format(e, &text) == -1) {
		buf_fini(&text);
		return -1;
	}
	snprintf(name, sizeof(name), "%s%s", e->qid, QFILE_ENV);
	if (!create)
		r = safe_atomic_write(dirfd, name, text.data, text.len, 0600,
		    sync);
	else {
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		r = fd == -1 ? -1 : safe_write_all(fd, text.data, text.len);
		if (fd != -1 && close(fd) == -1)
			r = -1;
	}
	buf_fini(&text);
	return r;
}

/* qenv_store_on_content - the envelope as an attribute of <qid>.eml, so
 * an entry is one file; <qid>.env where the file system has no user
 * attributes or the envelope is too big for one (and from then on, since
 * a .env file wins at load) */
int
qenv_store_on_content(int dirfd, const struct qenv *e, bool sync)
{
	char name[QID_SIZE + 8];
	struct buf text;
	int fd, r, saved;

	snprintf(name, sizeof(name), "%s%s", e->qid, QFILE_ENV);
	if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return qenv_store(dirfd, e, false, sync);
	snprintf(name, sizeof(name), "%s%s", e->qid, QFILE_EML);
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	buf_init(&text);
	qenv_format(e, &text);
	r = fsetxattr(fd, QENV_XATTR, text.data, text.len, 0);
	saved = errno;
	if (r == 0 && sync)
		r = fsync(fd);
	buf_fini(&text);
	close(fd);
	if (r == -1 && (saved == ENOTSUP || saved == E2BIG ||
	    saved == ENOSPC || saved == ERANGE || saved == EPERM))
		return qenv_store(dirfd, e, true, sync);
	if (r == -1)
		errno = saved;
	return r;
}

/* The content file of an Out/ entry, for its attributes. */
static int
qtry_open(int dirfd, const char *qid)
{
	char name[QID_SIZE + 8];

	snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
	return openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
}

int
qtry_begin(int dirfd, const char *qid, int64_t now, int64_t *previous)
{
	char value[32];
	long long t;
	ssize_t n;
	int fd, r, saved;

	*previous = 0;
	if ((fd = qtry_open(dirfd, qid)) == -1)
		return -1;
	n = fgetxattr(fd, QTRY_XATTR, value, sizeof(value) - 1);
	if (n > 0) {
		value[n] = '\0';
		/* a mark that is not a time still says an attempt was cut
		 * off */
		*previous = sscanf(value, "%lld", &t) == 1 && t > 0 ?
		    (int64_t)t : 1;
	}
	snprintf(value, sizeof(value), "%lld", (long long)now);
	r = fsetxattr(fd, QTRY_XATTR, value, strlen(value), 0);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
qtry_clear(int dirfd, const char *qid)
{
	int fd, r, saved;

	if ((fd = qtry_open(dirfd, qid)) == -1)
		return -1;
	r = fremovexattr(fd, QTRY_XATTR);
	saved = errno;
	close(fd);
	if (r == -1 && (saved == ENODATA || saved == ENOTSUP))
		return 0;
	errno = saved;
	return r;
}

void
qfile_repair_tmp(char *out, size_t size, const char *qid)
{
	snprintf(out, size, ".%s%s.repair", qid, QFILE_EML);
}

void
qfile_conv_name(char *out, size_t size, const char *qid, unsigned k)
{
	snprintf(out, size, ".%s.%u.conv", qid, k);
}

void
qfile_conv_tmp(char *out, size_t size, const char *qid, unsigned k)
{
	snprintf(out, size, ".%s.%u.tmp", qid, k);
}

bool
qfile_is_temp(const char *name)
{
	static const char *const ends[] = { ".tmp", ".conv", ".repair" };
	size_t i, len = strlen(name), el;

	if (name[0] != '.')
		return false;
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		el = strlen(ends[i]);
		if (len > el + 1 && strcmp(name + len - el, ends[i]) == 0)
			return true;
	}
	return false;
}
