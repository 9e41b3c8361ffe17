/*
 * layout - the Imcdata tree (see layout.h and LAYOUT.md).
 */
#include "layout.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safeio.h"
#include "xalloc.h"

enum layout_group { GROUP_SERVICE, GROUP_WRITERS, GROUP_DROP };

struct layout_entry {
	const char	*name;
	mode_t		 mode;		/* pickup_mode group; open below */
	mode_t		 mode_open;
	enum layout_group group;
};

/* The tree. Order matters: a parent comes before its children. */
static const struct layout_entry layout_table[LAYOUT_NDIRS] = {
	[LAYOUT_ROOT] =		  { "",		  0710,  0711,  GROUP_WRITERS },
	[LAYOUT_PICKUP] =	  { "Pickup",	  01730, 01733, GROUP_WRITERS },
	[LAYOUT_PICKUP_ARCHIVE] = { "Pickup/Archive", 0700, 0700, GROUP_SERVICE },
	[LAYOUT_WORK] =		  { "Work",	  0700,  0700,  GROUP_SERVICE },
	[LAYOUT_IN] =		  { "In",	  0700,  0700,  GROUP_SERVICE },
	[LAYOUT_IN_ARCHIVE] =	  { "In/Archive", 0700,  0700,  GROUP_SERVICE },
	[LAYOUT_OUT] =		  { "Out",	  0700,  0700,  GROUP_SERVICE },
	[LAYOUT_OUT_ARCHIVE] =	  { "Out/Archive", 0700, 0700,  GROUP_SERVICE },
	[LAYOUT_BADMAIL] =	  { "Badmail",	  0700,  0700,  GROUP_SERVICE },
	[LAYOUT_LOG] =		  { "Log",	  0750,  0750,  GROUP_SERVICE },
	[LAYOUT_STORE] =	  { "Store",	  0700,  0700,  GROUP_SERVICE },
	/* drop_group reads and takes the files; set-group-ID gives them
	 * the folder's group */
	[LAYOUT_DROP] =		  { "Drop",	  02770, 02770, GROUP_DROP },
};

/* layout_name - a folder's path relative to the root */
const char *
layout_name(enum layout_dir d)
{
	return layout_table[d].name;
}

/* layout_want_from_config - owners and modes the configuration asks for */
int
layout_want_from_config(const struct imc_config *cfg, struct layout_want *w,
    struct buf *err)
{
	const struct store_target *t = &cfg->store;
	struct group *gr;
	bool drop = false;
	size_t i;

	if (config_ids(cfg, &w->uid, &w->service_gid, &w->writers_gid, err) == -1)
		return -1;
	w->drop_gid = w->service_gid;
	if (cfg->drop_group != NULL) {
		if ((gr = getgrnam(cfg->drop_group)) == NULL) {
			buf_printf(err, "no such group \"%s\"", cfg->drop_group);
			return -1;
		}
		w->drop_gid = gr->gr_gid;
	}
	for (i = 0; i <= cfg->n_domains; i++) {
		if (i > 0)
			t = &cfg->domains[i - 1].store;
		if (t->kind == STORE_DROP)
			drop = true;
	}
	w->drop_readers = drop && w->drop_gid != w->writers_gid;
	w->pickup_mode = cfg->pickup_mode;
	return 0;
}

/* layout_mode - the mode a folder must have */
mode_t
layout_mode(enum layout_dir d, const struct layout_want *w)
{
	if (d == LAYOUT_ROOT && w->drop_readers)
		return layout_table[d].mode_open;
	return w->pickup_mode == PICKUP_MODE_OPEN ? layout_table[d].mode_open :
	    layout_table[d].mode;
}

static gid_t
layout_gid(enum layout_dir d, const struct layout_want *w)
{
	return layout_table[d].group == GROUP_WRITERS ? w->writers_gid :
	    layout_table[d].group == GROUP_DROP ? w->drop_gid : w->service_gid;
}

static int
layout_path(char *out, size_t size, const char *root, enum layout_dir d)
{
	int n;

	if (d == LAYOUT_ROOT)
		n = snprintf(out, size, "%s", root);
	else
		n = snprintf(out, size, "%s/%s", root, layout_table[d].name);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static const char *
layout_label(enum layout_dir d)
{
	return d == LAYOUT_ROOT ? "root" : layout_table[d].name;
}

static int
layout_add(struct layout_report *r, enum layout_drift_kind kind, bool unsafe,
    const char *path, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
layout_add(struct layout_report *r, enum layout_drift_kind kind, bool unsafe,
    const char *path, const char *fmt, ...)
{
	struct layout_drift *v;
	struct buf msg;
	va_list ap;

	v = r->items = xreallocarray(r->items, r->n + 1, sizeof(*v));
	buf_init(&msg);
	va_start(ap, fmt);
	if (buf_vprintf(&msg, fmt, ap) == -1) {
		va_end(ap);
		buf_fini(&msg);
		return -1;
	}
	va_end(ap);
	v[r->n].kind = kind;
	v[r->n].unsafe = unsafe;
	v[r->n].path = xstrdup(path);
	v[r->n].message = buf_steal(&msg);
	r->n++;
	return 0;
}

/* Is the entry one the tree puts in its root (or a filesystem's own). */
static bool
layout_root_entry_known(const char *name)
{
	int d;

	if (!strcmp(name, ".") || !strcmp(name, "..") ||
	    !strcmp(name, "lost+found"))
		return true;
	for (d = 1; d < LAYOUT_NDIRS; d++)
		if (strchr(layout_table[d].name, '/') == NULL &&
		    !strcmp(name, layout_table[d].name))
			return true;
	return false;
}

/* The root is foreign when it exists, is not the service user's, and
 * holds something the tree does not: the tree did not make it, so no tool
 * of ours may give it away. *what is the first such entry (the caller's
 * to free). 1 foreign, 0 not, -1 error. */
static int
layout_root_foreign(const char *root, const struct layout_want *w,
    const struct stat *st, char **what)
{
	DIR *dir;
	struct dirent *de;
	int fd, r = 0;

	*what = NULL;
	if (!S_ISDIR(st->st_mode) || st->st_uid == w->uid)
		return 0;
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL)
		if (!layout_root_entry_known(de->d_name)) {
			*what = xstrdup(de->d_name);
			r = 1;
			break;
		}
	closedir(dir);
	return r;
}

/* Report a foreign root with the commands that would hand it over. */
static int
layout_add_foreign(struct layout_report *r, const char *root,
    const struct layout_want *w, const struct stat *st, const char *what)
{
	const struct passwd *pw = getpwuid(w->uid);
	const struct group *gr = getgrgid(w->writers_gid);
	char user[32], group[32];

	if (pw != NULL && strlen(pw->pw_name) < sizeof(user))
		snprintf(user, sizeof(user), "%s", pw->pw_name);
	else
		snprintf(user, sizeof(user), "%u", (unsigned)w->uid);
	if (gr != NULL && strlen(gr->gr_name) < sizeof(group))
		snprintf(group, sizeof(group), "%s", gr->gr_name);
	else
		snprintf(group, sizeof(group), "%u", (unsigned)w->writers_gid);
	return layout_add(r, DRIFT_FOREIGN, false, root,
	    "root: %s belongs to uid %u and holds other things (\"%s\"), so it "
	    "is not a folder the tree made; imc-layout leaves it as it is. If "
	    "this folder is meant for the connector, run \"chown %s:%s %s\" "
	    "and \"chmod %04o %s\" yourself; else set root to a new or empty "
	    "folder", root, (unsigned)st->st_uid, what, user, group, root,
	    (unsigned)layout_mode(LAYOUT_ROOT, w), root);
}

/* layout_create - make every missing folder with its owner and mode */
int
layout_create(const char *root, const struct layout_want *w, struct buf *err)
{
	char path[PATH_MAX];
	struct stat st;
	int d, fd;

	for (d = 0; d < LAYOUT_NDIRS; d++) {
		if (layout_path(path, sizeof(path), root, d) == -1) {
			buf_printf(err, "%s: path too long", root);
			return -1;
		}
		if (lstat(path, &st) == 0)
			continue;
		if (errno != ENOENT) {
			buf_printf(err, "%s: %s", path, strerror(errno));
			return -1;
		}
		if ((d == LAYOUT_ROOT ? safe_mkdir_p(path, 0700) :
		    mkdir(path, 0700)) == -1) {
			buf_printf(err, "%s: cannot create: %s", path, strerror(errno));
			return -1;
		}
		/* Owner first, then mode: chown clears set-id bits. */
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1 ||
		    ((geteuid() == 0 || w->uid != geteuid()) &&
		    fchown(fd, w->uid, layout_gid(d, w)) == -1) ||
		    fchmod(fd, layout_mode(d, w)) == -1) {
			buf_printf(err, "%s: cannot set owner or mode: %s", path,
			    strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

#define LAYOUT_WALK_DEPTH 16

/* Walk a folder for symbolic links, without following any. Store trees are
 * domain/mailbox/{tmp,new,cur}, so the depth bound is generous. */
static int
layout_walk(int walk_fd, struct buf *path, int depth, struct layout_report *r)
{
	DIR *dir;
	struct dirent *de;
	size_t keep = path->len;
	int fd, rc = 0;

	if ((dir = fdopendir(walk_fd)) == NULL) {
		close(walk_fd);
		return layout_add(r, DRIFT_ERROR, true, buf_cstr(path),
		    "cannot read %s: %s", buf_cstr(path), strerror(errno));
	}
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path->len = keep;
		if (buf_printf(path, "/%s", de->d_name) == -1) {
			rc = -1;
			break;
		}
		if (de->d_type == DT_LNK) {
			rc = layout_add(r, DRIFT_SYMLINK, true, buf_cstr(path),
			    "%s: symbolic link inside the tree", buf_cstr(path));
			continue;
		}
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1) {
			if (errno == ELOOP)
				rc = layout_add(r, DRIFT_SYMLINK, true,
				    buf_cstr(path), "%s: symbolic link inside the tree",
				    buf_cstr(path));
			continue;	/* a file (DT_UNKNOWN) or gone */
		}
		if (depth >= LAYOUT_WALK_DEPTH) {
			close(fd);
			rc = layout_add(r, DRIFT_ERROR, true, buf_cstr(path),
			    "%s: folders nested too deep", buf_cstr(path));
			continue;
		}
		rc = layout_walk(fd, path, depth + 1, r);
	}
	closedir(dir);
	path->len = keep;
	if (path->data != NULL)
		path->data[keep] = '\0';
	return rc;
}

/* layout_check - list every drift from the table */
int
layout_check(const char *root, const struct layout_want *w, bool deep,
    struct layout_report *r)
{
	char path[PATH_MAX];
	struct stat st;
	dev_t pickup_dev = 0;
	mode_t want, have;
	bool have_pickup = false, foreign = false;
	int d, rc = 0;

	r->items = NULL;
	r->n = 0;
	for (d = 0; d < LAYOUT_NDIRS && rc == 0; d++) {
		const char *label = layout_label(d);

		if (layout_path(path, sizeof(path), root, d) == -1)
			return -1;
		if (lstat(path, &st) == -1) {
			if (errno == ENOENT)
				rc = layout_add(r, DRIFT_MISSING, false, path,
				    "%s: missing (%s)", label, path);
			else
				rc = layout_add(r, DRIFT_ERROR, true, path,
				    "%s: %s", label, strerror(errno));
			continue;
		}
		if (d == LAYOUT_ROOT && S_ISDIR(st.st_mode)) {
			char *what;
			int f = layout_root_foreign(root, w, &st, &what);

			if (f == 1) {
				rc = layout_add_foreign(r, root, w, &st, what);
				foreign = true;
			}
			else if (f == -1)
				rc = layout_add(r, DRIFT_ERROR, true, path,
				    "root: cannot read %s: %s", path,
				    strerror(errno));
			free(what);
			if (f != 0)
				continue;
		}
		if (S_ISLNK(st.st_mode)) {
			rc = layout_add(r, DRIFT_SYMLINK, true, path,
			    "%s: is a symbolic link (%s); the tree must hold real folders",
			    label, path);
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = layout_add(r, DRIFT_NOT_DIR, true, path,
			    "%s: is not a folder (%s)", label, path);
			continue;
		}
		want = layout_mode(d, w);
		have = st.st_mode & 07777;
		if (st.st_uid != w->uid || st.st_gid != layout_gid(d, w))
			rc = layout_add(r, DRIFT_OWNER, false, path,
			    "%s: owner %u:%u, want %u:%u", label,
			    (unsigned)st.st_uid, (unsigned)st.st_gid,
			    (unsigned)w->uid, (unsigned)layout_gid(d, w));
		if (rc == 0 && (have & S_IWOTH) && !(want & S_IWOTH))
			rc = layout_add(r, DRIFT_WORLD_WRITABLE, true, path,
			    "%s: world-writable (mode %04o, want %04o)", label,
			    (unsigned)have, (unsigned)want);
		else if (rc == 0 && have != want)
			rc = layout_add(r, DRIFT_MODE, false, path,
			    "%s: mode %04o, want %04o", label, (unsigned)have,
			    (unsigned)want);
		if (d == LAYOUT_PICKUP) {
			pickup_dev = st.st_dev;
			have_pickup = true;
		} else if (rc == 0 && d != LAYOUT_ROOT && d != LAYOUT_LOG &&
		    have_pickup && st.st_dev != pickup_dev)
			rc = layout_add(r, DRIFT_OTHER_FS, true, path,
			    "%s: on another filesystem than Pickup; messages move "
			    "by rename, so the tree must be on one filesystem", label);
	}
	/* Someone else's folder is not walked: its links are not ours. */
	if (rc == 0 && deep && !foreign && lstat(root, &st) == 0 &&
	    S_ISDIR(st.st_mode)) {
		struct buf walk_path;
		int fd;

		buf_init(&walk_path);
		fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			rc = layout_add(r, DRIFT_ERROR, true, root,
			    "cannot walk %s: %s", root, strerror(errno));
		else if (buf_puts(&walk_path, root) == -1)
			rc = -1, close(fd);
		else
			rc = layout_walk(fd, &walk_path, 0, r);
		buf_fini(&walk_path);
	}
	return rc;
}

/* layout_fix - repair missing folders, owners and modes; report the rest */
int
layout_fix(const char *root, const struct layout_want *w,
    struct layout_report *remaining)
{
	struct layout_report r;
	struct buf err;
	size_t i;
	int d, fd;
	char path[PATH_MAX];

	if (layout_check(root, w, false, &r) == -1)
		return -1;
	/* Someone else's folder: nothing is made in it, nothing changed. */
	for (i = 0; i < r.n; i++)
		if (r.items[i].kind == DRIFT_FOREIGN) {
			layout_report_free(&r);
			return layout_check(root, w, true, remaining);
		}
	layout_report_free(&r);
	buf_init(&err);
	if (layout_create(root, w, &err) == -1) {
		buf_fini(&err);
		/* What could not be created shows up in the check below. */
	}
	buf_fini(&err);
	if (layout_check(root, w, false, &r) == -1)
		return -1;
	for (i = 0; i < r.n; i++) {
		if (r.items[i].kind != DRIFT_OWNER && r.items[i].kind != DRIFT_MODE &&
		    r.items[i].kind != DRIFT_WORLD_WRITABLE)
			continue;
		for (d = 0; d < LAYOUT_NDIRS; d++) {
			if (layout_path(path, sizeof(path), root, d) == -1 ||
			    strcmp(path, r.items[i].path) != 0)
				continue;
			fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
			if (fd == -1)
				break;
			if (r.items[i].kind == DRIFT_OWNER)
				(void)fchown(fd, w->uid, layout_gid(d, w));
			(void)fchmod(fd, layout_mode(d, w));
			close(fd);
			break;
		}
	}
	layout_report_free(&r);
	return layout_check(root, w, true, remaining);
}

/* layout_report_unsafe - does any drift stop the connector */
bool
layout_report_unsafe(const struct layout_report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->items[i].unsafe)
			return true;
	return false;
}

/* layout_report_free - release a report */
void
layout_report_free(struct layout_report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->items[i].path);
		free(r->items[i].message);
	}
	free(r->items);
	r->items = NULL;
	r->n = 0;
}
