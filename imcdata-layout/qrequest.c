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
	if (rq->all)
		buf_puts(&text, "flush all\n");
	else {
		buf_puts(&text, "flush\n");
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
		} else if (!seen_verb && strcmp(line, "flush") == 0) {
			rq->verb = QREQUEST_FLUSH;
			seen_verb = true;
		} else if (seen_verb && !rq->all && strncmp(line, "qid ", 4) == 0 &&
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
