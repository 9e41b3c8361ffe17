/*
 * store_maildir - the built-in Maildir store (see store_maildir.h).
 */
#include "store_maildir.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "imc_limits.h"
#include "safeio.h"
#include "xalloc.h"

#define MAILDIR_CACHE	64

struct maildir_box {
	char	*key;		/* "domain/local" */
	int	 dirfd;		/* the mailbox */
	int	 newfd;
};

struct maildir_store {
	int		 store_fd;
	char		*host;	/* for file names: "/" and ":" escaped */
	struct maildir_box cache[MAILDIR_CACHE];
	size_t		 n_cache;
	size_t		 next_evict;
};

/* maildir_open - a store over the Store folder (the descriptor is borrowed) */
struct maildir_store *
maildir_open(int store_dirfd, const char *hostname)
{
	struct maildir_store *s;
	struct buf h;
	const char *p;

	s = xcalloc(1, sizeof(*s));
	s->store_fd = store_dirfd;
	buf_init(&h);
	for (p = hostname; *p != '\0'; p++) {
		if (*p == '/' ? buf_puts(&h, "\\057") :
		    *p == ':' ? buf_puts(&h, "\\072") : buf_putc(&h, *p))
			break;
	}
	s->host = buf_steal(&h);
	return s;
}

/* maildir_name - the file name of one delivery */
int
maildir_name(const struct maildir_store *s, long long t, const char *unique,
    char *out, size_t size)
{
	int n = snprintf(out, size, "%lld.%s.%s", t, unique, s->host);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static bool
maildir_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > IMC_MAX_MAILBOX_NAME || s[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '/' || s[i] == 0x7f)
			return false;
	return true;
}

static int
maildir_subdir(int parent, const char *name, bool create)
{
	int fd;

	fd = safe_open_dir(parent, name);
	if (fd == -1 && errno == ENOENT && create) {
		if (mkdirat(parent, name, 0700) == -1 && errno != EEXIST)
			return -1;
		fd = safe_open_dir(parent, name);
	}
	return fd;
}

static void
maildir_box_close(struct maildir_box *b)
{
	free(b->key);
	if (b->dirfd != -1)
		close(b->dirfd);
	if (b->newfd != -1)
		close(b->newfd);
	b->key = NULL;
	b->dirfd = b->newfd = -1;
}

/* The mailbox for domain/local, created when missing, cached. */
static struct maildir_box *
maildir_box(struct maildir_store *s, const char *domain, const char *local,
    struct mail_status *st)
{
	struct maildir_box *b;
	struct buf kb;
	char *key;
	int dfd = -1, mfd = -1, sub;
	size_t i;
	static const char *const subs[] = { "tmp", "new", "cur" };

	buf_init(&kb);
	buf_printf(&kb, "%s/%s", domain, local);
	key = buf_steal(&kb);
	for (i = 0; i < s->n_cache; i++)
		if (strcmp(s->cache[i].key, key) == 0) {
			free(key);
			return &s->cache[i];
		}
	if ((dfd = maildir_subdir(s->store_fd, domain, true)) == -1 ||
	    (mfd = maildir_subdir(dfd, local, true)) == -1)
		goto fail;
	for (i = 0; i < 3; i++) {
		if ((sub = maildir_subdir(mfd, subs[i], true)) == -1)
			goto fail;
		close(sub);
	}
	close(dfd);
	dfd = -1;
	if (s->n_cache < MAILDIR_CACHE)
		b = &s->cache[s->n_cache++];
	else {
		b = &s->cache[s->next_evict];
		s->next_evict = (s->next_evict + 1) % MAILDIR_CACHE;
		maildir_box_close(b);
	}
	b->key = key;
	b->dirfd = mfd;
	if ((b->newfd = safe_open_dir(mfd, "new")) == -1) {
		mail_status_set(st, MAIL_TEMP, "4.2.0", "mailbox %s: new/: %s",
		    key, errno == ELOOP || errno == ENOTDIR ?
		    "symbolic link or file in the store path (not followed)" :
		    strerror(errno));
		b->dirfd = -1;
		close(mfd);
		b->key = NULL;
		free(key);
		if (b == &s->cache[s->n_cache - 1])
			s->n_cache--;
		return NULL;
	}
	return b;
fail:
	mail_status_set(st, MAIL_TEMP, errno == ENOSPC || errno == EDQUOT ?
	    "4.2.2" : "4.2.0", "mailbox %s: %s", key, errno == ELOOP || errno == ENOTDIR ?
	    "symbolic link or file in the store path (not followed)" :
	    strerror(errno));
	if (dfd != -1)
		close(dfd);
	if (mfd != -1)
		close(mfd);
	free(key);
	return NULL;
}

/* Is there a file in cur/ whose name starts with name (Maildir flags may
 * follow after ":")? Only used when redoing a delivery after a crash. */
static bool
maildir_in_cur(int mfd, const char *name)
{
	DIR *d;
	struct dirent *de;
	size_t n = strlen(name);
	bool found = false;
	int fd;

	if ((fd = safe_open_dir(mfd, "cur")) == -1)
		return false;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	while (!found && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, name, n) == 0 &&
		    (de->d_name[n] == '\0' || de->d_name[n] == ':'))
			found = true;
	closedir(d);
	return found;
}

static int
maildir_copy(int src_dirfd, const char *src_name, struct maildir_box *b,
    const char *name)
{
	char buf[IMC_IO_CHUNK];
	int in = -1, out = -1, tmpfd = -1, r = -1;
	ssize_t n;

	if ((tmpfd = safe_open_dir(b->dirfd, "tmp")) == -1)
		return -1;
	in = openat(src_dirfd, src_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	out = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (in == -1 || out == -1)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (safe_write_all(out, buf, (size_t)n) == -1)
			goto out;
	if (n == -1 || fsync(out) == -1)
		goto out;
	if (renameat(tmpfd, name, b->newfd, name) == -1)
		goto out;
	r = 0;
out:
	if (r == -1 && out != -1)
		unlinkat(tmpfd, name, 0);
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	close(tmpfd);
	return r;
}

/* maildir_key - the mailbox an address lands in: the local part without
 * the quotes of a quoted one, both parts lowercased */
int
maildir_key(const char *rcpt, char **local_out, char **domain_out)
{
	const char *at = addr_domain(rcpt);
	char *local, *domain, *p;

	*local_out = *domain_out = NULL;
	if (at == NULL) {
		errno = EINVAL;
		return -1;
	}
	local = xstrndup(rcpt, (size_t)(at - 1 - rcpt));
	domain = xstrdup(at);
	if (local[0] == '"') {
		size_t i, j, n = strlen(local);

		for (i = 1, j = 0; i + 1 < n; i++) {
			if (local[i] == '\\' && i + 2 < n)
				i++;
			local[j++] = local[i];
		}
		local[j] = '\0';
	}
	for (p = local; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (p = domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*local_out = local;
	*domain_out = domain;
	return 0;
}

/* maildir_deliver - put one copy in the recipient's mailbox */
int
maildir_deliver(struct maildir_store *s, int src_dirfd, const char *src_name,
    const char *rcpt, const char *name, bool recovering, struct mail_status *st)
{
	char *local = NULL, *domain = NULL;
	struct maildir_box *b;
	int r = -1;

	if (addr_domain(rcpt) == NULL) {
		mail_status_set(st, MAIL_PERM, "5.1.3", "address has no domain");
		return -1;
	}
	if (maildir_key(rcpt, &local, &domain) == -1) {
		mail_status_set(st, MAIL_TEMP, "4.3.0", "recipient address has "
		    "no domain");
		goto out;
	}
	if (!maildir_name_ok(local, strlen(local)) ||
	    !maildir_name_ok(domain, strlen(domain))) {
		mail_status_set(st, MAIL_PERM, "5.1.3",
		    "mailbox name cannot be a folder name");
		goto out;
	}
	if ((b = maildir_box(s, domain, local, st)) == NULL)
		goto out;
	if (recovering && maildir_in_cur(b->dirfd, name)) {
		r = 0;
		goto done;
	}
	if (linkat(src_dirfd, src_name, b->newfd, name, 0) == 0 ||
	    errno == EEXIST) {
		r = 0;
		goto done;
	}
	if ((errno == EXDEV || errno == EMLINK || errno == EPERM) &&
	    maildir_copy(src_dirfd, src_name, b, name) == 0) {
		r = 0;
		goto done;
	}
	mail_status_set(st, MAIL_TEMP, errno == ENOSPC || errno == EDQUOT ?
	    "4.2.2" : "4.3.0", "mailbox %s@%s: %s", local, domain,
	    strerror(errno));
	goto out;
done:
	mail_status_set(st, MAIL_OK, "2.0.0", "delivered to maildir");
out:
	free(local);
	free(domain);
	return r;
}

/* maildir_close - close cached mailboxes */
void
maildir_close(struct maildir_store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_cache; i++)
		maildir_box_close(&s->cache[i]);
	free(s->host);
	free(s);
}
