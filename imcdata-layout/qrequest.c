/*
 * qrequest - requests from tools to the running connector (qrequest.h).
 */
#include "qrequest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safeio.h"
#include "xalloc.h"

/* qrequest_name_valid - "<16 hex>.request" */
bool
qrequest_name_valid(const char *name)
{
	size_t i;

	if (strlen(name) != QREQUEST_NAME_LEN ||
	    strcmp(name + 16, QREQUEST_SUFFIX) != 0)
		return false;
	for (i = 0; i < 16; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return true;
}

/* qrequest_write - publish one request under a fresh unique name */
int
qrequest_write(int log_dirfd, const struct qrequest *rq, char *name_out)
{
	struct buf text;
	uint32_t rnd[2];
	size_t i;
	int r, tries;

	buf_init(&text);
	buf_puts(&text, "IMCR 1\n");
	if (rq->all && rq->verb == QREQUEST_FLUSH)
		buf_puts(&text, "flush all\n");
	else {
		buf_printf(&text, "%s\n", qrequest_verb_name(rq->verb));
		for (i = 0; i < rq->n_qids; i++)
			buf_printf(&text, "qid %s\n", rq->qids[i]);
	}
	buf_puts(&text, "end\n");
	for (tries = 0; tries < 8; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			break;
		snprintf(name_out, QREQUEST_NAME_LEN + 1, "%08x%08x%s", rnd[0],
		    rnd[1], QREQUEST_SUFFIX);
		/* a name in use would be replaced: pick another */
		if (faccessat(log_dirfd, name_out, F_OK, AT_SYMLINK_NOFOLLOW) ==
		    0)
			continue;
		r = safe_atomic_write(log_dirfd, name_out, text.data, text.len,
		    0644, 1);
		buf_fini(&text);
		return r;
	}
	buf_fini(&text);
	errno = EEXIST;
	return -1;
}

static void
qrequest_add_qid(struct qrequest *rq, const char *qid)
{
	rq->qids = xreallocarray(rq->qids, rq->n_qids + 1, sizeof(*rq->qids));
	memcpy(rq->qids[rq->n_qids++], qid, QID_SIZE);
}

static const char *const qrequest_verbs[] = {
	[QREQUEST_FLUSH] = "flush",
	[QREQUEST_HOLD] = "hold",
	[QREQUEST_RELEASE] = "release",
	[QREQUEST_DELETE] = "delete",
	[QREQUEST_DELETE_BOUNCE] = "delete bounce",
	[QREQUEST_REQUEUE] = "requeue",
};

const char *
qrequest_verb_name(enum qrequest_verb v)
{
	return (size_t)v < sizeof(qrequest_verbs) / sizeof(qrequest_verbs[0]) ?
	    qrequest_verbs[v] : "?";
}

static bool
qrequest_verb_parse(const char *line, enum qrequest_verb *v)
{
	size_t i;

	for (i = 0; i < sizeof(qrequest_verbs) / sizeof(qrequest_verbs[0]); i++)
		if (strcmp(line, qrequest_verbs[i]) == 0) {
			*v = (enum qrequest_verb)i;
			return true;
		}
	return false;
}

/* qrequest_read - one request file, parsed strictly */
int
qrequest_read(int log_dirfd, const char *name, struct qrequest *rq,
    struct buf *err)
{
	struct stat st;
	char *data = NULL, *line, *save = NULL;
	size_t lineno = 0;
	bool seen_end = false, seen_verb = false;
	int fd;

	memset(rq, 0, sizeof(*rq));
	fd = openat(log_dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1) {
		buf_printf(err, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > QREQUEST_MAX_SIZE) {
		buf_puts(err, "not a regular file of a sane size");
		goto fail;
	}
	data = xcalloc(1, (size_t)st.st_size + 1);
	if (safe_read_full(fd, data, (size_t)st.st_size) != st.st_size) {
		buf_puts(err, "cannot read it");
		goto fail;
	}
	for (line = strtok_r(data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (seen_end) {
			buf_printf(err, "line %zu: text after \"end\"", lineno);
			goto fail;
		}
		if (lineno == 1) {
			if (strcmp(line, "IMCR 1") != 0) {
				buf_puts(err, "not a request (no \"IMCR 1\")");
				goto fail;
			}
		} else if (!seen_verb && strcmp(line, "flush all") == 0) {
			rq->verb = QREQUEST_FLUSH;
			rq->all = seen_verb = true;
		} else if (!seen_verb && qrequest_verb_parse(line, &rq->verb))
			seen_verb = true;
		else if (seen_verb && !rq->all && strncmp(line, "qid ", 4) == 0 &&
		    qid_valid(line + 4))
			qrequest_add_qid(rq, line + 4);
		else if (seen_verb && strcmp(line, "end") == 0)
			seen_end = true;
		else {
			buf_printf(err, "line %zu: not understood", lineno);
			goto fail;
		}
	}
	if (!seen_end) {
		buf_puts(err, "incomplete (no \"end\" line)");
		goto fail;
	}
	free(data);
	close(fd);
	return 0;
fail:
	free(data);
	close(fd);
	qrequest_free(rq);
	return -1;
}

void
qrequest_free(struct qrequest *rq)
{
	free(rq->qids);
	memset(rq, 0, sizeof(*rq));
}

/* ------------------------------------------------------------ replies */

static const char *const qrequest_results[] = {
	[QREQUEST_DONE] = "done",
	[QREQUEST_ALREADY] = "already",
	[QREQUEST_UNKNOWN] = "unknown",
	[QREQUEST_ERROR] = "error",
};

const char *
qrequest_result_name(enum qrequest_result r)
{
	return (size_t)r < sizeof(qrequest_results) /
	    sizeof(qrequest_results[0]) ? qrequest_results[r] : "?";
}

void
qrequest_reply_name(char *out, size_t size, const char *request_name)
{
	snprintf(out, size, "%.16s%s", request_name, QREQUEST_REPLY_SUFFIX);
}

/* qrequest_reply_name_valid - "<16 hex>.reply" */
bool
qrequest_reply_name_valid(const char *name)
{
	char as_request[QREQUEST_NAME_LEN + 1];

	if (strlen(name) != 16 + sizeof(QREQUEST_REPLY_SUFFIX) - 1 ||
	    strcmp(name + 16, QREQUEST_REPLY_SUFFIX) != 0)
		return false;
	snprintf(as_request, sizeof(as_request), "%.16s%s", name,
	    QREQUEST_SUFFIX);
	return qrequest_name_valid(as_request);
}

void
qrequest_reply_add(struct qrequest_reply *r, const char *qid,
    enum qrequest_result result, const char *text)
{
	struct qrequest_item *it;
	char *p;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->items = xreallocarray(r->items, r->cap, sizeof(*r->items));
	}
	it = &r->items[r->n++];
	memcpy(it->qid, qid, QID_SIZE);
	it->result = result;
	it->text = xstrdup(text != NULL ? text : "");
	/* one line each: a line end in the text would start another */
	for (p = it->text; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int
qrequest_reply_write(int log_dirfd, const char *request_name,
    const struct qrequest_reply *r)
{
	char name[QREQUEST_NAME_LEN + 1];
	struct buf text;
	size_t i;
	int rc;

	buf_init(&text);
	buf_printf(&text, "IMCA 1\nflushed %zu\n", r->flushed);
	for (i = 0; i < r->n; i++)
		buf_printf(&text, "result %s %s%s%s\n", r->items[i].qid,
		    qrequest_result_name(r->items[i].result),
		    r->items[i].text[0] ? " " : "", r->items[i].text);
	buf_puts(&text, "end\n");
	qrequest_reply_name(name, sizeof(name), request_name);
	/* the tool reads it at once: no need to sync */
	rc = safe_atomic_write(log_dirfd, name, text.data, text.len, 0600, 0);
	buf_fini(&text);
	return rc;
}

int
qrequest_reply_read(int log_dirfd, const char *request_name,
    struct qrequest_reply *r, struct buf *err)
{
	char name[QREQUEST_NAME_LEN + 1], *data = NULL, *line, *save = NULL;
	struct stat st;
	size_t lineno = 0, k;
	bool ended = false;
	int fd;

	memset(r, 0, sizeof(*r));
	qrequest_reply_name(name, sizeof(name), request_name);
	if ((fd = openat(log_dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		int saved = errno;

		buf_printf(err, "%s: %s", name, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > QREQUEST_MAX_SIZE) {
		buf_printf(err, "%s: not a regular file of a sane size", name);
		goto fail;
	}
	data = xcalloc(1, (size_t)st.st_size + 1);
	if (safe_read_full(fd, data, (size_t)st.st_size) != st.st_size) {
		buf_printf(err, "%s: cannot read it", name);
		goto fail;
	}
	for (line = strtok_r(data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char qid[QID_SIZE], *word, *rest;

		lineno++;
		if (ended)
			goto bad;
		if (lineno == 1) {
			if (strcmp(line, "IMCA 1") != 0)
				goto bad;
		} else if (strncmp(line, "flushed ", 8) == 0)
			r->flushed = strtoul(line + 8, NULL, 10);
		else if (strncmp(line, "result ", 7) == 0 &&
		    strlen(line) > 7 + QID_LEN && line[7 + QID_LEN] == ' ') {
			memcpy(qid, line + 7, QID_LEN);
			qid[QID_LEN] = '\0';
			word = line + 8 + QID_LEN;
			rest = strchr(word, ' ');
			if (rest != NULL)
				*rest++ = '\0';
			for (k = 0; k < sizeof(qrequest_results) /
			    sizeof(qrequest_results[0]); k++)
				if (strcmp(word, qrequest_results[k]) == 0)
					break;
			if (!qid_valid(qid) || k == sizeof(qrequest_results) /
			    sizeof(qrequest_results[0]))
				goto bad;
			qrequest_reply_add(r, qid, (enum qrequest_result)k,
			    rest);
		} else if (strcmp(line, "end") == 0)
			ended = true;
		else
			goto bad;
	}
	if (!ended)
		goto bad;
	free(data);
	close(fd);
	return 0;
bad:
	buf_printf(err, "%s: line %zu: not understood", name, lineno);
fail:
	free(data);
	close(fd);
	qrequest_reply_free(r);
	errno = EINVAL;
	return -1;
}

void
qrequest_reply_free(struct qrequest_reply *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->items[i].text);
	free(r->items);
	memset(r, 0, sizeof(*r));
}
