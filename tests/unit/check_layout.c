/*
 * check_layout - unit tests for imcdata-layout/layout.c.
 *
 * Table-driven: each case is { name, input, want }. The folder table is
 * pinned by name and mode; drift cases take a fresh tree made by
 * layout_create under a mkdtemp folder, change one thing (remove a
 * folder, chmod, chown, a symbolic link or a file in a folder's place),
 * and want the drift kind, whether it is unsafe, and what layout_fix
 * leaves. The owners wanted are the running user and group, so the tests
 * need no privileges, except the owner case (only root can give a folder
 * away): without root it is not run and main exits 77, so ctest reports
 * the suite as skipped rather than passed.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "layout.h"

static char base[256];	/* the scratch folder of a test case */
static char tmpdir[512];	/* one test's folder inside it */
static char root[PATH_MAX];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* base_setup - a scratch folder for a test case (in the runner) */
static void
base_setup(void)
{
	snprintf(base, sizeof(base), "/tmp/check_layout.XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

/* base_teardown - remove it with whatever a failed test left there */
static void
base_teardown(void)
{
	if (base[0] != '\0')
		nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* tree_setup - a folder per test; the tree goes in Imcdata */
static void
tree_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(root, sizeof(root), "%s/Imcdata", tmpdir);
}

/* tree_teardown - remove the test's folder */
static void
tree_teardown(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

static struct layout_want
want_of(enum pickup_mode mode)
{
	struct layout_want w;

	w.uid = geteuid();
	w.service_gid = getegid();
	w.writers_gid = getegid();
	w.drop_gid = getegid();
	w.drop_readers = false;
	w.pickup_mode = mode;
	return w;
}

static void
make_tree(const struct layout_want *w)
{
	struct buf err;

	buf_init(&err);
	ck_assert_msg(layout_create(root, w, &err) == 0, "create: %s",
	    buf_cstr(&err));
	buf_fini(&err);
}

static void
path_of(char *out, size_t size, const char *rel)
{
	int n;

	n = rel[0] ? snprintf(out, size, "%s/%s", root, rel) :
	    snprintf(out, size, "%s", root);
	ck_assert(n > 0 && (size_t)n < size);
}

/* All drifts of a report, one per line, for failure messages. */
static const char *
report_text(const struct layout_report *r, struct buf *b)
{
	size_t i;

	buf_reset(b);
	for (i = 0; i < r->n; i++)
		buf_printf(b, "\n  kind %d unsafe %d: %s", (int)r->items[i].kind,
		    (int)r->items[i].unsafe, r->items[i].message);
	return r->n ? buf_cstr(b) : " (none)";
}

/* ------------------------------------------------------------------ */
/* The table */

struct table_case {
	const char *name;
	enum layout_dir dir;
	const char *want_name;
	mode_t	 want_group;	/* pickup_mode = group */
	mode_t	 want_open;	/* pickup_mode = open */
};

static const struct table_case table_cases[] = {
	{ "root_is_0710_or_0711", LAYOUT_ROOT, "", 0710, 0711 },
	{ "pickup_is_sticky_group_writable", LAYOUT_PICKUP, "Pickup", 01730,
	    01733 },
	{ "pickup_archive_is_private", LAYOUT_PICKUP_ARCHIVE, "Pickup/Archive",
	    0700, 0700 },
	{ "work_is_private", LAYOUT_WORK, "Work", 0700, 0700 },
	{ "in_is_private", LAYOUT_IN, "In", 0700, 0700 },
	{ "in_archive_is_private", LAYOUT_IN_ARCHIVE, "In/Archive", 0700, 0700 },
	{ "out_is_private", LAYOUT_OUT, "Out", 0700, 0700 },
	{ "out_archive_is_private", LAYOUT_OUT_ARCHIVE, "Out/Archive", 0700,
	    0700 },
	{ "badmail_is_private", LAYOUT_BADMAIL, "Badmail", 0700, 0700 },
	{ "log_is_group_readable", LAYOUT_LOG, "Log", 0750, 0750 },
	{ "store_is_private", LAYOUT_STORE, "Store", 0700, 0700 },
	{ "drop_is_set_group_id_for_drop_group", LAYOUT_DROP, "Drop", 02770,
	    02770 },
};

START_TEST(test_table_case)
{
	const struct table_case *c = &table_cases[_i];
	struct layout_want wg = want_of(PICKUP_MODE_GROUP);
	struct layout_want wo = want_of(PICKUP_MODE_OPEN);

	ck_assert_msg(strcmp(layout_name(c->dir), c->want_name) == 0,
	    "%s: name \"%s\"", c->name, layout_name(c->dir));
	ck_assert_msg(layout_mode(c->dir, &wg) == c->want_group,
	    "%s: group mode %04o", c->name, (unsigned)layout_mode(c->dir, &wg));
	ck_assert_msg(layout_mode(c->dir, &wo) == c->want_open,
	    "%s: open mode %04o", c->name, (unsigned)layout_mode(c->dir, &wo));
}
END_TEST

/* Drop/ takes drop_group (else the service group); with a store = drop
 * read by another group than the writers', the root lets it pass. */
START_TEST(drop_group_and_root_passage)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct imc_config cfg;
	struct buf err;
	char conf[PATH_MAX];
	FILE *fp;

	w.drop_readers = true;
	ck_assert_uint_eq(layout_mode(LAYOUT_ROOT, &w), 0711);
	ck_assert_uint_eq(layout_mode(LAYOUT_DROP, &w), 02770);
	ck_assert_uint_eq(layout_mode(LAYOUT_PICKUP, &w), 01730);
	snprintf(conf, sizeof(conf), "%s/drop.conf", tmpdir);
	buf_init(&err);
	/* root's group is gid 0: the drop group differs from the writers'
	 * (the caller's group) unless the caller's group is root too */
	ck_assert_ptr_nonnull(fp = fopen(conf, "w"));
	fprintf(fp, "root = %s\nstore = drop\ndrop_group = root\n", root);
	fclose(fp);
	ck_assert_msg(config_load(&cfg, conf, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(layout_want_from_config(&cfg, &w, &err), 0);
	ck_assert_uint_eq(w.drop_gid, 0);
	ck_assert_int_eq(w.drop_readers, w.writers_gid != 0);
	config_free(&cfg);
	/* no drop store: nobody needs to pass */
	ck_assert_ptr_nonnull(fp = fopen(conf, "w"));
	fprintf(fp, "root = %s\ndrop_group = root\n[domain a.example]\n"
	    "store = maildir\n", root);
	fclose(fp);
	ck_assert_msg(config_load(&cfg, conf, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(layout_want_from_config(&cfg, &w, &err), 0);
	ck_assert_uint_eq(w.drop_gid, 0);
	ck_assert(!w.drop_readers);
	ck_assert_uint_eq(layout_mode(LAYOUT_ROOT, &w), 0710);
	config_free(&cfg);
	/* a [domain] with store = drop counts */
	ck_assert_ptr_nonnull(fp = fopen(conf, "w"));
	fprintf(fp, "root = %s\ndrop_group = root\n[domain a.example]\n"
	    "store = drop\n", root);
	fclose(fp);
	ck_assert_msg(config_load(&cfg, conf, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(layout_want_from_config(&cfg, &w, &err), 0);
	ck_assert_int_eq(w.drop_readers, w.writers_gid != 0);
	config_free(&cfg);
	unlink(conf);
	buf_fini(&err);
}
END_TEST

/* create makes every folder of the table with its mode and owner */
static void
assert_tree(const struct layout_want *w, bool open_mode)
{
	struct stat st;
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(table_cases) / sizeof(table_cases[0]); i++) {
		const struct table_case *c = &table_cases[i];

		path_of(path, sizeof(path), c->want_name);
		ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path,
		    strerror(errno));
		ck_assert_msg(S_ISDIR(st.st_mode), "%s: not a folder", path);
		ck_assert_msg((st.st_mode & 07777) ==
		    (open_mode ? c->want_open : c->want_group),
		    "%s: mode %04o", path, (unsigned)(st.st_mode & 07777));
		ck_assert_msg(st.st_uid == w->uid, "%s: uid %u", path,
		    (unsigned)st.st_uid);
		ck_assert_msg(st.st_gid == w->service_gid, "%s: gid %u", path,
		    (unsigned)st.st_gid);
	}
}

START_TEST(create_makes_every_folder_with_its_mode)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);

	make_tree(&w);
	assert_tree(&w, false);
}
END_TEST

START_TEST(create_in_open_mode_makes_pickup_01733)
{
	struct layout_want w = want_of(PICKUP_MODE_OPEN);

	make_tree(&w);
	assert_tree(&w, true);
}
END_TEST

START_TEST(create_makes_missing_parents_of_the_root)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;

	snprintf(root, sizeof(root), "%s/a/b/Imcdata", tmpdir);
	make_tree(&w);
	assert_tree(&w, false);
	ck_assert_int_eq(layout_check(root, &w, true, &r), 0);
	ck_assert_uint_eq(r.n, 0);
	layout_report_free(&r);
}
END_TEST

START_TEST(create_twice_changes_nothing)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	char path[PATH_MAX];

	make_tree(&w);
	/* A message file in Work survives the second create. */
	path_of(path, sizeof(path), "Work/0F3K2J9A1B2XY7QZ");
	ck_assert_int_eq(close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0600)), 0);
	make_tree(&w);
	assert_tree(&w, false);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(create_leaves_an_existing_folder_mode_to_fix)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct buf b;
	char path[PATH_MAX];

	buf_init(&b);
	make_tree(&w);
	path_of(path, sizeof(path), "In");
	ck_assert_int_eq(chmod(path, 0755), 0);
	make_tree(&w);		/* create only makes what is missing */
	ck_assert_int_eq(layout_check(root, &w, false, &r), 0);
	ck_assert_msg(r.n == 1 && r.items[0].kind == DRIFT_MODE,
	    "report:%s", report_text(&r, &b));
	layout_report_free(&r);
	buf_fini(&b);
}
END_TEST

START_TEST(check_of_a_fresh_tree_reports_nothing)
{
	struct layout_want w;
	struct layout_report r;
	struct buf b;
	int m;

	buf_init(&b);
	for (m = 0; m < 2; m++) {
		w = want_of(m ? PICKUP_MODE_OPEN : PICKUP_MODE_GROUP);
		if (m)
			nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		make_tree(&w);
		ck_assert_int_eq(layout_check(root, &w, false, &r), 0);
		ck_assert_msg(r.n == 0, "mode %d shallow:%s", m,
		    report_text(&r, &b));
		ck_assert(!layout_report_unsafe(&r));
		layout_report_free(&r);
		ck_assert_int_eq(layout_check(root, &w, true, &r), 0);
		ck_assert_msg(r.n == 0, "mode %d deep:%s", m,
		    report_text(&r, &b));
		layout_report_free(&r);
	}
	buf_fini(&b);
}
END_TEST

START_TEST(check_of_a_missing_root_reports_every_folder_missing)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	size_t i;

	ck_assert_int_eq(layout_check(root, &w, true, &r), 0);
	ck_assert_uint_eq(r.n, LAYOUT_NDIRS);
	for (i = 0; i < r.n; i++) {
		ck_assert_int_eq(r.items[i].kind, DRIFT_MISSING);
		ck_assert(!r.items[i].unsafe);
	}
	ck_assert_str_eq(r.items[0].path, root);
	layout_report_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Drifts */

enum mutation { MUT_RMDIR, MUT_CHMOD, MUT_SYMLINK, MUT_FILE, MUT_CHOWN };

struct drift_case {
	const char *name;
	enum pickup_mode pickup_mode;
	const char *dir;		/* relative to the root */
	enum mutation mutation;
	mode_t	 mode;			/* MUT_CHMOD */
	enum layout_drift_kind want_kind;
	bool	 want_unsafe;
	bool	 fix_repairs;		/* layout_fix leaves nothing */
};

static const struct drift_case drift_cases[] = {
	{ "removed_folder_is_missing", PICKUP_MODE_GROUP, "Badmail", MUT_RMDIR,
	    0, DRIFT_MISSING, false, true },
	{ "removed_archive_is_missing", PICKUP_MODE_GROUP, "Out/Archive",
	    MUT_RMDIR, 0, DRIFT_MISSING, false, true },
	{ "world_writable_work_is_unsafe", PICKUP_MODE_GROUP, "Work", MUT_CHMOD,
	    0777, DRIFT_WORLD_WRITABLE, true, true },
	{ "world_writable_store_is_unsafe", PICKUP_MODE_GROUP, "Store",
	    MUT_CHMOD, 0702, DRIFT_WORLD_WRITABLE, true, true },
	{ "open_pickup_in_group_mode_is_unsafe", PICKUP_MODE_GROUP, "Pickup",
	    MUT_CHMOD, 01733, DRIFT_WORLD_WRITABLE, true, true },
	{ "readable_in_is_a_mode_drift", PICKUP_MODE_GROUP, "In", MUT_CHMOD,
	    0755, DRIFT_MODE, false, true },
	{ "narrower_log_is_a_mode_drift", PICKUP_MODE_GROUP, "Log", MUT_CHMOD,
	    0700, DRIFT_MODE, false, true },
	{ "pickup_without_sticky_bit_is_a_mode_drift", PICKUP_MODE_GROUP,
	    "Pickup", MUT_CHMOD, 0730, DRIFT_MODE, false, true },
	{ "group_pickup_in_open_mode_is_a_mode_drift", PICKUP_MODE_OPEN,
	    "Pickup", MUT_CHMOD, 01730, DRIFT_MODE, false, true },
	{ "root_mode_drift", PICKUP_MODE_GROUP, "", MUT_CHMOD, 0755, DRIFT_MODE,
	    false, true },
	{ "out_replaced_by_symlink_is_unsafe", PICKUP_MODE_GROUP, "Out",
	    MUT_SYMLINK, 0, DRIFT_SYMLINK, true, false },
	{ "pickup_replaced_by_symlink_is_unsafe", PICKUP_MODE_OPEN, "Pickup",
	    MUT_SYMLINK, 0, DRIFT_SYMLINK, true, false },
	{ "file_in_place_of_log_is_not_a_folder", PICKUP_MODE_GROUP, "Log",
	    MUT_FILE, 0, DRIFT_NOT_DIR, true, false },
	{ "file_in_place_of_in_archive_is_not_a_folder", PICKUP_MODE_GROUP,
	    "In/Archive", MUT_FILE, 0, DRIFT_NOT_DIR, true, false },
};

/* Cases that need root (chown to another user). */
static const struct drift_case root_drift_cases[] = {
	{ "other_owner_is_an_owner_drift", PICKUP_MODE_GROUP, "Work", MUT_CHOWN,
	    0, DRIFT_OWNER, false, true },
};

/* Apply a case's change to the fresh tree. */
static void
mutate(const struct drift_case *c, char *path, size_t size)
{
	char target[PATH_MAX];
	int fd;

	path_of(path, size, c->dir);
	switch (c->mutation) {
	case MUT_RMDIR:
		ck_assert_msg(rmdir(path) == 0, "%s: %s", path, strerror(errno));
		break;
	case MUT_CHMOD:
		ck_assert_msg(chmod(path, c->mode) == 0, "%s: %s", path,
		    strerror(errno));
		break;
	case MUT_SYMLINK:
		/* The real folder moves aside; a link takes its place. */
		snprintf(target, sizeof(target), "%s/elsewhere", tmpdir);
		ck_assert_int_eq(rename(path, target), 0);
		ck_assert_int_eq(symlink(target, path), 0);
		break;
	case MUT_FILE:
		ck_assert_int_eq(rmdir(path), 0);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ck_assert(fd != -1);
		ck_assert(write(fd, "file", 4) == 4);
		close(fd);
		break;
	case MUT_CHOWN:
		ck_assert_int_eq(chown(path, geteuid() + 1, getegid() + 1), 0);
		break;
	}
}

/* run_drift_case - make a tree, apply the case's change, check and fix */
static void
run_drift_case(const struct drift_case *c)
{
	struct layout_want w = want_of(c->pickup_mode);
	struct layout_report r;
	struct buf b;
	struct stat st;
	char path[PATH_MAX], label[64];
	size_t i;

	buf_init(&b);
	make_tree(&w);
	mutate(c, path, sizeof(path));

	/* The connector's check: exactly this one drift. */
	ck_assert_int_eq(layout_check(root, &w, false, &r), 0);
	ck_assert_msg(r.n == 1, "%s: %zu drifts:%s", c->name, r.n,
	    report_text(&r, &b));
	ck_assert_msg(r.items[0].kind == c->want_kind, "%s: kind %d, want %d",
	    c->name, (int)r.items[0].kind, (int)c->want_kind);
	ck_assert_msg(r.items[0].unsafe == c->want_unsafe, "%s: unsafe %d",
	    c->name, (int)r.items[0].unsafe);
	ck_assert_msg(layout_report_unsafe(&r) == c->want_unsafe,
	    "%s: report unsafe", c->name);
	ck_assert_msg(strcmp(r.items[0].path, path) == 0, "%s: path %s",
	    c->name, r.items[0].path);
	snprintf(label, sizeof(label), "%s:", c->dir[0] ? c->dir : "root");
	ck_assert_msg(strncmp(r.items[0].message, label, strlen(label)) == 0,
	    "%s: message \"%s\"", c->name, r.items[0].message);
	layout_report_free(&r);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_ptr_null(r.items);

	/* The fix repairs what is safe to repair and reports the rest. */
	ck_assert_int_eq(layout_fix(root, &w, &r), 0);
	if (c->fix_repairs) {
		ck_assert_msg(r.n == 0, "%s: after fix:%s", c->name,
		    report_text(&r, &b));
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert(S_ISDIR(st.st_mode));
	} else {
		ck_assert_msg(r.n >= 1, "%s: fix reports nothing", c->name);
		for (i = 0; i < r.n; i++) {
			ck_assert_msg(r.items[i].kind == c->want_kind &&
			    strcmp(r.items[i].path, path) == 0,
			    "%s: after fix:%s", c->name, report_text(&r, &b));
		}
		ck_assert(layout_report_unsafe(&r));
		/* A person decides: the link or file is still there. */
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert(c->mutation == MUT_SYMLINK ? S_ISLNK(st.st_mode) :
		    S_ISREG(st.st_mode));
	}
	layout_report_free(&r);
	buf_fini(&b);
}

START_TEST(test_drift_case)
{
	run_drift_case(&drift_cases[_i]);
}
END_TEST

START_TEST(test_root_drift_case)
{
	run_drift_case(&root_drift_cases[_i]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A root the tree did not make */

/* Someone else's folder named as root: the service user wanted here is
 * not the folder's owner, so the test needs no privileges. */
static struct layout_want
want_someone_else(void)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);

	w.uid = geteuid() + 1;
	return w;
}

static void
make_foreign_root(const char *entry, bool entry_is_dir)
{
	char path[PATH_MAX + 64];
	int fd;

	ck_assert_int_eq(mkdir(root, 0755), 0);
	ck_assert_int_eq(chmod(root, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s", root, entry);
	if (entry_is_dir)
		ck_assert_int_eq(mkdir(path, 0755), 0);
	else {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		ck_assert(fd != -1);
		close(fd);
	}
}

static size_t
count_kind(const struct layout_report *r, enum layout_drift_kind k)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->items[i].kind == k;
	return n;
}

START_TEST(foreign_root_is_reported_with_what_to_do)
{
	struct layout_want w = want_someone_else();
	struct layout_report r;
	struct buf b;
	size_t i;

	buf_init(&b);
	make_foreign_root("index.html", false);
	ck_assert_int_eq(layout_check(root, &w, true, &r), 0);
	ck_assert_msg(count_kind(&r, DRIFT_FOREIGN) == 1 &&
	    count_kind(&r, DRIFT_OWNER) == 0 && count_kind(&r, DRIFT_MODE) == 0,
	    "%s", report_text(&r, &b));
	for (i = 0; i < r.n; i++)
		if (r.items[i].kind == DRIFT_FOREIGN) {
			ck_assert_str_eq(r.items[i].path, root);
			ck_assert(!r.items[i].unsafe);
			ck_assert_msg(strstr(r.items[i].message, "\"index.html\"")
			    && strstr(r.items[i].message, "chown ") &&
			    strstr(r.items[i].message, root) &&
			    strstr(r.items[i].message, "yourself"), "%s",
			    r.items[i].message);
		}
	layout_report_free(&r);
	buf_fini(&b);
}
END_TEST

START_TEST(fix_leaves_a_foreign_root_as_it_is)
{
	struct layout_want w = want_someone_else();
	struct layout_report r;
	struct stat before, after;
	struct buf b;
	char pickup[PATH_MAX];

	buf_init(&b);
	make_foreign_root("data", true);
	ck_assert_int_eq(stat(root, &before), 0);
	ck_assert_int_eq(layout_fix(root, &w, &r), 0);
	ck_assert_msg(count_kind(&r, DRIFT_FOREIGN) == 1, "%s",
	    report_text(&r, &b));
	layout_report_free(&r);
	ck_assert_int_eq(stat(root, &after), 0);
	ck_assert_uint_eq(after.st_uid, before.st_uid);
	ck_assert_uint_eq(after.st_gid, before.st_gid);
	ck_assert_uint_eq(after.st_mode & 07777, 0755);
	path_of(pickup, sizeof(pickup), "Pickup");
	ck_assert_msg(access(pickup, F_OK) == -1, "fix made Pickup inside");
	buf_fini(&b);
}
END_TEST

/* What the tree itself holds does not make a root foreign: an empty root,
 * one with only the tree's folders or lost+found, one already the
 * service user's. */
START_TEST(a_root_holding_only_the_tree_is_not_foreign)
{
	struct layout_want w = want_someone_else();
	struct layout_want mine = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct buf b;
	char path[PATH_MAX];

	buf_init(&b);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	ck_assert_int_eq(layout_check(root, &w, false, &r), 0);
	ck_assert_msg(count_kind(&r, DRIFT_FOREIGN) == 0, "empty:%s",
	    report_text(&r, &b));
	layout_report_free(&r);
	path_of(path, sizeof(path), "lost+found");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	path_of(path, sizeof(path), "Pickup");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	path_of(path, sizeof(path), "Store");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(layout_check(root, &w, false, &r), 0);
	ck_assert_msg(count_kind(&r, DRIFT_FOREIGN) == 0 &&
	    count_kind(&r, DRIFT_OWNER) >= 1, "tree only:%s",
	    report_text(&r, &b));
	layout_report_free(&r);
	/* the service user's own folder with other things: its to give */
	path_of(path, sizeof(path), "README");
	ck_assert_int_eq(close(open(path, O_WRONLY | O_CREAT, 0644)), 0);
	ck_assert_int_eq(layout_check(root, &mine, false, &r), 0);
	ck_assert_msg(count_kind(&r, DRIFT_FOREIGN) == 0, "own:%s",
	    report_text(&r, &b));
	layout_report_free(&r);
	buf_fini(&b);
}
END_TEST

/* As root: a tree whose root lost its owner is still given back. */
START_TEST(fix_gives_back_a_tree_root_of_another_owner)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct stat st;
	struct buf b;

	if (geteuid() != 0)
		return;		/* only root can give a folder away */
	buf_init(&b);
	make_tree(&w);
	ck_assert_int_eq(chown(root, geteuid() + 1, getegid() + 1), 0);
	ck_assert_int_eq(layout_fix(root, &w, &r), 0);
	ck_assert_msg(r.n == 0, "%s", report_text(&r, &b));
	layout_report_free(&r);
	ck_assert_int_eq(stat(root, &st), 0);
	ck_assert_uint_eq(st.st_uid, geteuid());
	buf_fini(&b);
}
END_TEST

START_TEST(fix_of_mode_drift_sets_the_table_mode)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct stat st;
	char in[PATH_MAX], work[PATH_MAX], pickup[PATH_MAX];

	make_tree(&w);
	path_of(in, sizeof(in), "In");
	path_of(work, sizeof(work), "Work");
	path_of(pickup, sizeof(pickup), "Pickup");
	ck_assert_int_eq(chmod(in, 0755), 0);
	ck_assert_int_eq(chmod(work, 0777), 0);
	ck_assert_int_eq(chmod(pickup, 0777), 0);
	ck_assert_int_eq(layout_fix(root, &w, &r), 0);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_int_eq(stat(in, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(work, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(pickup, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 01730);
	layout_report_free(&r);
}
END_TEST

START_TEST(fix_of_a_missing_tree_creates_it)
{
	struct layout_want w = want_of(PICKUP_MODE_OPEN);
	struct layout_report r;

	ck_assert_int_eq(layout_fix(root, &w, &r), 0);
	ck_assert_uint_eq(r.n, 0);
	layout_report_free(&r);
	assert_tree(&w, true);
}
END_TEST

START_TEST(fix_of_missing_parent_recreates_its_children)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct buf b;
	char path[PATH_MAX];

	buf_init(&b);
	make_tree(&w);
	path_of(path, sizeof(path), "In/Archive");
	ck_assert_int_eq(rmdir(path), 0);
	path_of(path, sizeof(path), "In");
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(layout_check(root, &w, false, &r), 0);
	ck_assert_msg(r.n == 2 && r.items[0].kind == DRIFT_MISSING &&
	    r.items[1].kind == DRIFT_MISSING, "report:%s", report_text(&r, &b));
	layout_report_free(&r);
	ck_assert_int_eq(layout_fix(root, &w, &r), 0);
	ck_assert_msg(r.n == 0, "after fix:%s", report_text(&r, &b));
	layout_report_free(&r);
	assert_tree(&w, false);
	buf_fini(&b);
}
END_TEST

START_TEST(several_drifts_are_all_reported)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct buf b;
	char path[PATH_MAX];
	bool saw_missing = false, saw_ww = false, saw_mode = false;
	size_t i;

	buf_init(&b);
	make_tree(&w);
	path_of(path, sizeof(path), "Badmail");
	ck_assert_int_eq(rmdir(path), 0);
	path_of(path, sizeof(path), "Work");
	ck_assert_int_eq(chmod(path, 0777), 0);
	path_of(path, sizeof(path), "In");
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(layout_check(root, &w, false, &r), 0);
	ck_assert_msg(r.n == 3, "report:%s", report_text(&r, &b));
	for (i = 0; i < r.n; i++) {
		saw_missing |= r.items[i].kind == DRIFT_MISSING;
		saw_ww |= r.items[i].kind == DRIFT_WORLD_WRITABLE;
		saw_mode |= r.items[i].kind == DRIFT_MODE;
	}
	ck_assert(saw_missing && saw_ww && saw_mode);
	ck_assert(layout_report_unsafe(&r));
	layout_report_free(&r);
	buf_fini(&b);
}
END_TEST

/* A maildir folder deep in Store, with a link at its bottom. */
static void
deep_store_link(char *link, size_t size)
{
	static const char *const parts[] = { "Store/example.org",
	    "Store/example.org/alice", "Store/example.org/alice/new" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		path_of(path, sizeof(path), parts[i]);
		ck_assert_int_eq(mkdir(path, 0700), 0);
	}
	path_of(link, size, "Store/example.org/alice/new/1.eml");
	ck_assert_int_eq(symlink("/etc/passwd", link), 0);
	/* An ordinary file beside it is no drift. */
	path_of(path, sizeof(path), "Store/example.org/alice/new/2.eml");
	ck_assert_int_eq(close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0600)), 0);
}

START_TEST(symlink_deep_in_store_is_found_by_deep_check_only)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct buf b;
	char link[PATH_MAX];

	buf_init(&b);
	make_tree(&w);
	deep_store_link(link, sizeof(link));
	ck_assert_int_eq(layout_check(root, &w, false, &r), 0);
	ck_assert_msg(r.n == 0, "shallow:%s", report_text(&r, &b));
	ck_assert(!layout_report_unsafe(&r));
	layout_report_free(&r);

	ck_assert_int_eq(layout_check(root, &w, true, &r), 0);
	ck_assert_msg(r.n == 1, "deep:%s", report_text(&r, &b));
	ck_assert_int_eq(r.items[0].kind, DRIFT_SYMLINK);
	ck_assert(r.items[0].unsafe);
	ck_assert_str_eq(r.items[0].path, link);
	ck_assert(layout_report_unsafe(&r));
	layout_report_free(&r);
	buf_fini(&b);
}
END_TEST

START_TEST(symlink_to_a_folder_in_store_is_found_not_followed)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct buf b;
	char link[PATH_MAX], outside[PATH_MAX], inner[PATH_MAX];

	buf_init(&b);
	make_tree(&w);
	/* A folder outside the tree holding a link of its own: the walk
	 * must report the link into it and not descend. */
	snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/outside/inner-link", tmpdir);
	ck_assert_int_eq(symlink("/", inner), 0);
	path_of(link, sizeof(link), "Store/example.org");
	ck_assert_int_eq(symlink(outside, link), 0);
	ck_assert_int_eq(layout_check(root, &w, true, &r), 0);
	ck_assert_msg(r.n == 1, "deep:%s", report_text(&r, &b));
	ck_assert_int_eq(r.items[0].kind, DRIFT_SYMLINK);
	ck_assert_str_eq(r.items[0].path, link);
	layout_report_free(&r);
	buf_fini(&b);
}
END_TEST

START_TEST(fix_leaves_a_deep_symlink_reported)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct buf b;
	struct stat st;
	char link[PATH_MAX], path[PATH_MAX];

	buf_init(&b);
	make_tree(&w);
	deep_store_link(link, sizeof(link));
	path_of(path, sizeof(path), "Work");
	ck_assert_int_eq(chmod(path, 0777), 0);
	ck_assert_int_eq(layout_fix(root, &w, &r), 0);
	ck_assert_msg(r.n == 1, "after fix:%s", report_text(&r, &b));
	ck_assert_int_eq(r.items[0].kind, DRIFT_SYMLINK);
	ck_assert_str_eq(r.items[0].path, link);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	layout_report_free(&r);
	buf_fini(&b);
}
END_TEST

START_TEST(deep_walk_reports_folders_nested_too_deep)
{
	struct layout_want w = want_of(PICKUP_MODE_GROUP);
	struct layout_report r;
	struct buf b, path;
	int i;

	buf_init(&b);
	buf_init(&path);
	make_tree(&w);
	buf_printf(&path, "%s/Store", root);
	for (i = 0; i < 20; i++) {
		buf_puts(&path, "/d");
		ck_assert_int_eq(mkdir(buf_cstr(&path), 0700), 0);
	}
	ck_assert_int_eq(layout_check(root, &w, true, &r), 0);
	ck_assert_msg(r.n == 1, "deep:%s", report_text(&r, &b));
	ck_assert_int_eq(r.items[0].kind, DRIFT_ERROR);
	ck_assert(r.items[0].unsafe);
	ck_assert_ptr_nonnull(strstr(r.items[0].message, "too deep"));
	layout_report_free(&r);
	buf_fini(&path);
	buf_fini(&b);
}
END_TEST

START_TEST(want_from_config_uses_config_ids_and_mode)
{
	struct imc_config cfg;
	struct layout_want w;
	struct buf err;

	config_defaults(&cfg);
	cfg.pickup_mode = PICKUP_MODE_OPEN;
	buf_init(&err);
	ck_assert_int_eq(layout_want_from_config(&cfg, &w, &err), 0);
	ck_assert_uint_eq(w.uid, geteuid());
	ck_assert_uint_eq(w.service_gid, getegid());
	ck_assert_uint_eq(w.writers_gid, getegid());
	ck_assert_int_eq(w.pickup_mode, PICKUP_MODE_OPEN);
	buf_fini(&err);
	config_free(&cfg);
}
END_TEST

/* layout_suite - every layout test (as_root: the root-only ones too) */
static Suite *
layout_suite(bool as_root)
{
	Suite *s = suite_create("layout");
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_loop_test(tc, test_table_case, 0,
	    (int)(sizeof(table_cases) / sizeof(table_cases[0])));
	tcase_add_test(tc, want_from_config_uses_config_ids_and_mode);
	suite_add_tcase(s, tc);

	tc = tcase_create("create");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, tree_setup, tree_teardown);
	tcase_add_test(tc, create_makes_every_folder_with_its_mode);
	tcase_add_test(tc, drop_group_and_root_passage);
	tcase_add_test(tc, create_in_open_mode_makes_pickup_01733);
	tcase_add_test(tc, create_makes_missing_parents_of_the_root);
	tcase_add_test(tc, create_twice_changes_nothing);
	tcase_add_test(tc, create_leaves_an_existing_folder_mode_to_fix);
	tcase_add_test(tc, check_of_a_fresh_tree_reports_nothing);
	tcase_add_test(tc, check_of_a_missing_root_reports_every_folder_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("drift");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, tree_setup, tree_teardown);
	tcase_add_loop_test(tc, test_drift_case, 0,
	    (int)(sizeof(drift_cases) / sizeof(drift_cases[0])));
	tcase_add_test(tc, fix_of_mode_drift_sets_the_table_mode);
	tcase_add_test(tc, fix_of_a_missing_tree_creates_it);
	tcase_add_test(tc, fix_of_missing_parent_recreates_its_children);
	tcase_add_test(tc, several_drifts_are_all_reported);
	tcase_add_test(tc, symlink_deep_in_store_is_found_by_deep_check_only);
	tcase_add_test(tc, symlink_to_a_folder_in_store_is_found_not_followed);
	tcase_add_test(tc, fix_leaves_a_deep_symlink_reported);
	tcase_add_test(tc, deep_walk_reports_folders_nested_too_deep);
	tcase_add_test(tc, foreign_root_is_reported_with_what_to_do);
	tcase_add_test(tc, fix_leaves_a_foreign_root_as_it_is);
	tcase_add_test(tc, a_root_holding_only_the_tree_is_not_foreign);
	tcase_add_test(tc, fix_gives_back_a_tree_root_of_another_owner);
	suite_add_tcase(s, tc);

	if (as_root) {
		tc = tcase_create("drift_as_root");
		tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
		tcase_add_checked_fixture(tc, tree_setup, tree_teardown);
		tcase_add_loop_test(tc, test_root_drift_case, 0,
		    (int)(sizeof(root_drift_cases) /
		    sizeof(root_drift_cases[0])));
		suite_add_tcase(s, tc);
	}
	return s;
}

/* main - run the layout suite; exit status 1 on any failure, else 77
 * (skipped, for ctest) when the root-only cases could not run */
int
main(void)
{
	bool as_root = geteuid() == 0;
	SRunner *sr;
	int failed;

	sr = srunner_create(layout_suite(as_root));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed != 0)
		return EXIT_FAILURE;
	if (!as_root) {
		fprintf(stderr, "check_layout: %zu root-only case(s) skipped: "
		    "not root\n", sizeof(root_drift_cases) /
		    sizeof(root_drift_cases[0]));
		return 77;
	}
	return EXIT_SUCCESS;
}
