/*
 * store_drop - the IIS-style Drop folder (see store_drop.h).
 */
#include "store_drop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "imc_limits.h"
#include "safeio.h"

#define DROP_MODE	0640

/* drop_name - "<qid>.eml", or "<qid>_<k>.eml" for a further conversion */
int
drop_name(char *out, size_t size, const char *qid, size_t k)
{
	int n = k == 0 ? snprintf(out, size, "%s.eml", qid) :
	    snprintf(out, size, "%s_%zu.eml", qid, k);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Is name in the folder a file an earlier delivery of ours left: a
 * regular file of this user (its size into *size). 1 yes, 0 no such
 * name, -1 something else (errno EEXIST) or an error. */
static int
drop_ours(int dirfd, const char *name, uint64_t *size)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (S_ISREG(st.st_mode) && st.st_uid == geteuid()) {
		*size = (uint64_t)st.st_size;
		return 1;
	}
	errno = EEXIST;
	return -1;
}

/*
 * drop_copy - the content to out: the connector's leading Return-Path:
 * line left out, every line ending in CRLF (a bare LF gets its CR; a CR
 * already there is kept). Written through a buffer of IMC_IO_CHUNK.
 */
static int
drop_copy(int in, int out, struct buf *o)
{
	char chunk[IMC_IO_CHUNK];
	bool first = true, skipping = false, cr = false;
	ssize_t n, i;

	while ((n = read(in, chunk, sizeof(chunk))) > 0) {
		i = 0;
		if (first) {
			first = false;
			skipping = n >= 12 && strncasecmp(chunk, "Return-Path:",
			    12) == 0;
		}
		if (skipping) {
			while (i < n && chunk[i] != '\n')
				i++;
			if (i == n)
				continue;
			i++;
			skipping = false;
		}
		while (i < n) {
			const char *nl = memchr(chunk + i, '\n', (size_t)(n - i));
			ssize_t end = nl != NULL ? nl - chunk : n;

			if (end > i) {
				if (buf_append(o, chunk + i, (size_t)(end - i)) == -1)
					return -1;
				cr = chunk[end - 1] == '\r';
			}
			if (nl == NULL)
				break;
			if (buf_append(o, cr ? "\n" : "\r\n", cr ? 1 : 2) == -1)
				return -1;
			cr = false;
			i = end + 1;
		}
		if (o->len >= IMC_IO_CHUNK) {
			if (safe_write_all(out, o->data, o->len) == -1)
				return -1;
			buf_reset(o);
		}
	}
	if (n == -1)
		return -1;
	if (o->len > 0 && safe_write_all(out, o->data, o->len) == -1)
		return -1;
	buf_reset(o);
	return 0;
}

/* drop_deliver - publish one Drop file, whole, never over another */
int
drop_deliver(int drop_dirfd, int src_dirfd, const char *src_name,
    const char *sender, const char *const *rcpts, size_t n, const char *name,
    uint64_t *size, struct mail_status *st)
{
	char proc[64], tmp[300];
	struct stat dst, fst;
	struct buf o;
	bool named = false;
	int in = -1, out = -1, r = -1, ours;
	size_t i;

	buf_init(&o);
	*size = 0;
	if ((ours = drop_ours(drop_dirfd, name, size)) == 1) {
		r = 1;
		goto done;
	}
	if (ours == -1)
		goto fail;
	if ((in = openat(src_dirfd, src_name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(drop_dirfd, &dst) == -1)
		goto fail;
	out = openat(drop_dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
	    DROP_MODE);
	if (out == -1 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		/* a filesystem without O_TMPFILE: a hidden temp name */
		if (snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >=
		    (int)sizeof(tmp)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		(void)unlinkat(drop_dirfd, tmp, 0);
		out = openat(drop_dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, DROP_MODE);
		named = out != -1;
	}
	if (out == -1)
		goto fail;
	/* The umask does not decide who may read; the folder's group
	 * (drop_group) does, also where set-group-ID did not give it. */
	if (fchmod(out, DROP_MODE) == -1 || fstat(out, &fst) == -1 ||
	    (fst.st_gid != dst.st_gid && fchown(out, (uid_t)-1, dst.st_gid) ==
	    -1))
		goto fail;
	buf_printf(&o, "x-sender: %s\r\n", sender[0] != '\0' ? sender : "<>");
	for (i = 0; i < n; i++)
		buf_printf(&o, "x-receiver: %s\r\n", rcpts[i]);
	if (drop_copy(in, out, &o) == -1 || fstat(out, &fst) == -1)
		goto fail;
	*size = (uint64_t)fst.st_size;
	if (named) {
		if (linkat(drop_dirfd, tmp, drop_dirfd, name, 0) == -1)
			goto fail;
	} else {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", out);
		if (linkat(AT_FDCWD, proc, drop_dirfd, name,
		    AT_SYMLINK_FOLLOW) == -1)
			goto fail;
	}
	r = 0;
done:
	mail_status_set(st, MAIL_OK, "2.0.0", "delivered to Drop/%s", name);
	goto out;
fail:
	if (errno == EEXIST)
		mail_status_set(st, MAIL_TEMP, "4.3.0", "Drop/%s exists and is "
		    "not the connector's file; not replaced", name);
	else
		mail_status_set(st, MAIL_TEMP, errno == ENOSPC ||
		    errno == EDQUOT ? "4.3.1" : "4.3.0", "Drop/%s: %s", name,
		    strerror(errno));
out:
	if (named)
		(void)unlinkat(drop_dirfd, tmp, 0);
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	buf_fini(&o);
	return r;
}
