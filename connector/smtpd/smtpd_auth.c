/*
 * smtpd_auth - AUTH users and SASL encodings (see smtpd_auth.h).
 */
#include "smtpd_auth.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "xalloc.h"

struct smtpd_auth_user {
	char	*name;
	char	*hash;
};

struct smtpd_auth {
	struct smtpd_auth_user *users;
	size_t	 n;
	char	*dummy;		/* a real yescrypt hash for unknown names */
};


static void
smtpd_auth_wipe(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
}

struct smtpd_auth *
smtpd_auth_load(const char *path, uid_t service_uid, struct buf *err)
{
	struct smtpd_auth *a;
	struct stat st;
	char *data, *line, *save = NULL, *colon;
	size_t lineno = 0;
	int fd;

	if (path == NULL)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		buf_printf(err, "smtpd_auth_file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		buf_printf(err, "smtpd_auth_file %s is not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((st.st_mode & 077) != 0) {
		buf_printf(err, "smtpd_auth_file %s is mode %04o; it must be "
		    "0600 (no access for group or others)", path,
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if (st.st_uid != 0 && st.st_uid != service_uid) {
		buf_printf(err, "smtpd_auth_file %s belongs to uid %u; it must "
		    "belong to root or the service user", path,
		    (unsigned)st.st_uid);
		close(fd);
		return NULL;
	}
	if (st.st_size > 4 * 1024 * 1024) {
		buf_printf(err, "smtpd_auth_file %s is too big", path);
		close(fd);
		return NULL;
	}
	data = xcalloc(1, (size_t)st.st_size + 1);
	if (read(fd, data, (size_t)st.st_size) != st.st_size) {
		buf_printf(err, "smtpd_auth_file %s: cannot read it", path);
		free(data);
		close(fd);
		return NULL;
	}
	close(fd);
	a = xcalloc(1, sizeof(*a));
	for (line = strtok_r(data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		colon = strchr(line, ':');
		if (colon == NULL || colon == line ||
		    (strncmp(colon + 1, "$y$", 3) != 0 &&
		    strncmp(colon + 1, "$6$", 3) != 0)) {
			buf_printf(err, "%s:%zu: want name:hash with a yescrypt "
			    "($y$) or SHA-512 ($6$) hash", path, lineno);
			explicit_bzero(data, (size_t)st.st_size);
			free(data);
			smtpd_auth_free(a);
			return NULL;
		}
		*colon = '\0';
		a->users = xreallocarray(a->users, a->n + 1, sizeof(*a->users));
		a->users[a->n].name = xstrdup(line);
		a->users[a->n].hash = xstrdup(colon + 1);
		a->n++;
	}
	explicit_bzero(data, (size_t)st.st_size);
	free(data);
	{
		struct crypt_data *cd = xcalloc(1, sizeof(*cd));
		char salt[CRYPT_GENSALT_OUTPUT_SIZE];
		const char *h = NULL;

		if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) !=
		    NULL)
			h = crypt_r("no one's password", salt, cd);
		a->dummy = xstrdup(h != NULL && h[0] == '$' ? h : "*");
		free(cd);
	}
	return a;
}

void
smtpd_auth_free(struct smtpd_auth *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->users[i].name);
		smtpd_auth_wipe(a->users[i].hash);
		free(a->users[i].hash);
	}
	free(a->users);
	free(a->dummy);
	free(a);
}

bool
smtpd_auth_check(const struct smtpd_auth *a, const char *user,
    const char *pass)
{
	struct crypt_data *cd;
	const char *hash, *r;
	bool known = false, ok;
	size_t i;

	if (a == NULL)
		return false;
	hash = a->dummy;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->users[i].name, user) == 0) {
			hash = a->users[i].hash;
			known = true;
			break;
		}
	cd = xcalloc(1, sizeof(*cd));
	r = crypt_r(pass, hash, cd);
	ok = known && r != NULL && r[0] != '*' && strcmp(r, hash) == 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

char *
smtpd_auth_b64(const char *b64, size_t len)
{
	struct buf out;
	unsigned defects = 0;

	buf_init(&out);
	if (codec_b64_decode(b64, len, &out, &defects) == -1 || defects != 0) {
		if (out.data != NULL)
			explicit_bzero(out.data, out.len);
		buf_fini(&out);
		return NULL;
	}
	return buf_steal(&out);
}

int
smtpd_auth_plain(const char *b64, size_t len, char **user, char **pass)
{
	struct buf out;
	unsigned defects = 0;
	const char *p, *end, *z1, *z2;

	*user = *pass = NULL;
	buf_init(&out);
	if (codec_b64_decode(b64, len, &out, &defects) == -1 || defects != 0)
		goto bad;
	p = out.data;
	end = out.data + out.len;
	if (p == NULL || (z1 = memchr(p, '\0', out.len)) == NULL ||
	    (z2 = memchr(z1 + 1, '\0', (size_t)(end - z1 - 1))) == NULL ||
	    memchr(z2 + 1, '\0', (size_t)(end - z2 - 1)) != NULL)
		goto bad;
	/* an authzid must be the user itself: no acting for others */
	if (z1 != p && ((size_t)(z1 - p) != (size_t)(z2 - z1 - 1) ||
	    memcmp(p, z1 + 1, (size_t)(z1 - p)) != 0))
		goto bad;
	*user = xstrndup(z1 + 1, (size_t)(z2 - z1 - 1));
	*pass = xstrndup(z2 + 1, (size_t)(end - z2 - 1));
	explicit_bzero(out.data, out.len);
	buf_fini(&out);
	return 0;
bad:
	if (out.data != NULL)
		explicit_bzero(out.data, out.len);
	buf_fini(&out);
	return -1;
}
