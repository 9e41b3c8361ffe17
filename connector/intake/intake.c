/*
 * intake - take files from Pickup safely (see intake.h).
 */
#include "intake.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <sys/inotify.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "monoclock.h"
#include "qfile.h"
#include "safeio.h"
#include "strset.h"
#include "tracklog.h"
#include "xalloc.h"

/* A writer found busy by its lease is asked again this much later. */
#define INTAKE_BUSY_RETRY_MS	1000

/* What intake knows of one Pickup name. */
struct track {
	TAILQ_ENTRY(track) age;		/* oldest first, for eviction */
	struct track	*next;		/* hash chain */
	/* the last look at the file (rescans), and since when it held */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime, ctime;
	int64_t		 seen_ms;
	bool		 observed;
	bool		 writing;	/* created/modified, not yet closed */
	bool		 retry;		/* a retry is scheduled */
	bool		 reported;	/* a skip was logged for rep_ino/ctime */
	int64_t		 hold_until_ms;	/* put back: not before this */
	ino_t		 rep_ino;
	struct timespec	 rep_ctime;
	char		 name[];
};

struct retry {
	int64_t	 due_ms;
	char	*name;
};

struct intake {
	struct intake_ctx ctx;
	/* names waiting for a claim, FIFO */
	char		**pending;
	size_t		 n_pending, cap_pending, head_pending;
	struct strset	 pending_set;
	struct strset	 events;	/* named by a close or move event */
	bool		 rescan_wanted;
	/* per-name state */
	struct track	**buckets;
	size_t		 n_buckets;	/* a power of two */
	size_t		 n_tracks;
	TAILQ_HEAD(, track) ages;
	/* retries of single names, a min-heap by due time */
	struct retry	*retries;
	size_t		 n_retries, cap_retries;
	uid_t		 euid;		/* ours, asked once */
	/* the last writer's name (a passwd lookup costs a file read) */
	uid_t		 name_uid;
	int64_t		 name_at_ms;	/* 0: none kept */
	bool		 name_ok;
	char		 name[64];
	/* skip reports: at most INTAKE_REPORTS_PER_MINUTE a minute */
	int64_t		 report_window;
	unsigned	 reports_in_window;
	uint64_t	 reports_suppressed;
};

static int64_t
intake_settle_ms(const struct intake *in)
{
	uint64_t s = in->ctx.cfg->pickup_settle;

	return s > 86400 ? 86400 * 1000 : (int64_t)s * 1000;
}

/* ---------------------------------------------------------- per name */

static size_t
track_hash(const char *s)
{
	size_t h = 5381;

	for (; *s; s++)
		h = h * 33 ^ (unsigned char)*s;
	return h;
}

static struct track **
track_slot(struct intake *in, const char *name)
{
	struct track **tp;

	if (in->n_buckets == 0)
		return NULL;
	for (tp = &in->buckets[track_hash(name) & (in->n_buckets - 1)];
	    *tp != NULL; tp = &(*tp)->next)
		if (strcmp((*tp)->name, name) == 0)
			break;
	return tp;
}

static struct track *
track_find(struct intake *in, const char *name)
{
	struct track **tp = track_slot(in, name);

	return tp != NULL ? *tp : NULL;
}

static void
track_del(struct intake *in, const char *name)
{
	struct track **tp = track_slot(in, name), *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	*tp = t->next;
	TAILQ_REMOVE(&in->ages, t, age);
	in->n_tracks--;
	free(t);
}

static void
track_grow(struct intake *in)
{
	size_t n = in->n_buckets ? in->n_buckets * 2 : 1024, i;
	struct track **b, *t, *next;

	b = xcalloc(n, sizeof(*b));
	for (i = 0; i < in->n_buckets; i++)
		for (t = in->buckets[i]; t != NULL; t = next) {
			next = t->next;
			t->next = b[track_hash(t->name) & (n - 1)];
			b[track_hash(t->name) & (n - 1)] = t;
		}
	free(in->buckets);
	in->buckets = b;
	in->n_buckets = n;
}

/* The state of a name, made when missing; the oldest name is forgotten
 * when the table is full. */
static struct track *
track_get(struct intake *in, const char *name)
{
	struct track *t;
	size_t len = strlen(name), h;

	if ((t = track_find(in, name)) != NULL)
		return t;
	if (in->n_tracks >= INTAKE_TRACK_MAX &&
	    (t = TAILQ_FIRST(&in->ages)) != NULL)
		track_del(in, t->name);
	if (in->n_tracks >= in->n_buckets)
		track_grow(in);
	t = xcalloc(1, sizeof(*t) + len + 1);
	memcpy(t->name, name, len + 1);
	h = track_hash(name) & (in->n_buckets - 1);
	t->next = in->buckets[h];
	in->buckets[h] = t;
	TAILQ_INSERT_TAIL(&in->ages, t, age);
	in->n_tracks++;
	return t;
}

static bool
ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* --------------------------------------------------------------- retries */

static void
retry_swap(struct retry *a, struct retry *b)
{
	struct retry t = *a;

	*a = *b;
	*b = t;
}

/* Ask for one name again at due_ms (once: a retry already planned for it
 * will look at it then). */
static void
intake_retry(struct intake *in, struct track *t, int64_t due_ms)
{
	size_t i;

	if (t->retry)
		return;
	if (in->n_retries == in->cap_retries) {
		size_t cap = in->cap_retries ? in->cap_retries * 2 : 64;

		in->retries = xreallocarray(in->retries, cap,
		    sizeof(*in->retries));
		in->cap_retries = cap;
	}
	in->retries[in->n_retries].name = xstrdup(t->name);
	in->retries[in->n_retries].due_ms = due_ms;
	for (i = in->n_retries++; i > 0 &&
	    in->retries[(i - 1) / 2].due_ms > in->retries[i].due_ms;
	    i = (i - 1) / 2)
		retry_swap(&in->retries[(i - 1) / 2], &in->retries[i]);
	t->retry = true;
}

static void
retry_pop(struct intake *in)
{
	size_t i = 0, l, m;

	in->retries[0] = in->retries[--in->n_retries];
	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < in->n_retries &&
		    in->retries[l].due_ms < in->retries[m].due_ms)
			m = l;
		if (l + 1 < in->n_retries &&
		    in->retries[l + 1].due_ms < in->retries[m].due_ms)
			m = l + 1;
		if (m == i)
			break;
		retry_swap(&in->retries[i], &in->retries[m]);
		i = m;
	}
}

static int intake_note(struct intake *, const char *name);

/* intake_retry_ms - time until the first retry is due */
int64_t
intake_retry_ms(const struct intake *in)
{
	int64_t d;

	if (in->n_retries == 0)
		return -1;
	d = in->retries[0].due_ms - monoclock_ms();
	return d < 0 ? 0 : d;
}

/* intake_run_retries - queue the names whose retry is due */
size_t
intake_run_retries(struct intake *in)
{
	int64_t now = monoclock_ms();
	struct track *t;
	char *name;
	size_t n = 0;

	while (in->n_retries > 0 && in->retries[0].due_ms <= now) {
		name = in->retries[0].name;
		retry_pop(in);
		if ((t = track_find(in, name)) != NULL)
			t->retry = false;
		intake_note(in, name);
		free(name);
		n++;
	}
	return n;
}

/* ---------------------------------------------------------- life cycle */

struct intake *
intake_new(const struct intake_ctx *ctx)
{
	struct intake *in;

	in = xcalloc(1, sizeof(*in));
	in->ctx = *ctx;
	in->euid = geteuid();
	strset_init(&in->pending_set);
	strset_init(&in->events);
	TAILQ_INIT(&in->ages);
	return in;
}

void
intake_free(struct intake *in)
{
	struct track *t;
	size_t i;

	if (in == NULL)
		return;
	for (i = in->head_pending; i < in->n_pending; i++)
		free(in->pending[i]);
	free(in->pending);
	strset_fini(&in->pending_set);
	strset_fini(&in->events);
	while ((t = TAILQ_FIRST(&in->ages)) != NULL) {
		TAILQ_REMOVE(&in->ages, t, age);
		free(t);
	}
	free(in->buckets);
	for (i = 0; i < in->n_retries; i++)
		free(in->retries[i].name);
	free(in->retries);
	free(in);
}

/* ------------------------------------------------------------- names */

/* intake_name_wanted - is this a name writers publish (not a temp name) */
bool
intake_name_wanted(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.' || n == 0)
		return false;
	if (n >= 4 && strcasecmp(name + n - 4, ".tmp") == 0)
		return false;
	return true;
}

/* Queue a name for a claim attempt (once while it waits). */
static int
intake_note(struct intake *in, const char *name)
{
	size_t ncap;
	int r;

	if (!intake_name_wanted(name))
		return 0;
	if ((r = strset_add(&in->pending_set, name)) <= 0)
		return r;
	if (in->n_pending == in->cap_pending) {
		if (in->head_pending > 0) {
			memmove(in->pending, in->pending + in->head_pending,
			    (in->n_pending - in->head_pending) *
			    sizeof(*in->pending));
			in->n_pending -= in->head_pending;
			in->head_pending = 0;
		}
		if (in->n_pending == in->cap_pending) {
			ncap = in->cap_pending ? in->cap_pending * 2 : 256;
			in->pending = xreallocarray(in->pending, ncap,
			    sizeof(*in->pending));
			in->cap_pending = ncap;
		}
	}
	in->pending[in->n_pending++] = xstrdup(name);
	return 0;
}

bool
intake_pending(const struct intake *in)
{
	return in->head_pending < in->n_pending;
}

/* intake_next - the next waiting name, the caller's to free */
char *
intake_next(struct intake *in, bool *from_event)
{
	char *name;

	if (in->head_pending == in->n_pending)
		return NULL;
	name = in->pending[in->head_pending++];
	strset_del(&in->pending_set, name);
	if (in->head_pending == in->n_pending)
		in->head_pending = in->n_pending = 0;
	*from_event = strset_del(&in->events, name);
	return name;
}

/* intake_event - what inotify saw happen to one name in Pickup */
void
intake_event(struct intake *in, uint32_t mask, const char *name)
{
	struct track *t;

	if (!intake_name_wanted(name))
		return;
	if (mask & (IN_CREATE | IN_MODIFY)) {
		/* A writer has it open: nothing is taken before its close
		 * event, whatever the settle time says. */
		track_get(in, name)->writing = true;
		return;
	}
	if (mask & (IN_DELETE | IN_MOVED_FROM)) {
		track_del(in, name);
		return;
	}
	if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
		if ((t = track_find(in, name)) != NULL)
			t->writing = false;
		strset_add(&in->events, name);
		intake_note(in, name);
	}
}

/* intake_overflow - events were lost: so is what they said of writers */
void
intake_overflow(struct intake *in)
{
	struct track *t;

	TAILQ_FOREACH(t, &in->ages, age)
		t->writing = false;
	in->rescan_wanted = true;
}

bool
intake_take_rescan(struct intake *in)
{
	bool r = in->rescan_wanted;

	in->rescan_wanted = false;
	return r;
}

/* A name whose skip was logged for this very file needs no new look. */
static bool
intake_still_reported(struct intake *in, const char *name)
{
	struct track *t = track_find(in, name);
	struct stat st;

	if (t == NULL || !t->reported)
		return false;
	if (fstatat(in->ctx.pickup_fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return false;
	return st.st_ino == t->rep_ino && ts_eq(&st.st_ctim, &t->rep_ctime);
}

/* intake_scan - note every name in Pickup */
int
intake_scan(struct intake *in)
{
	DIR *dir;
	struct dirent *de;
	int fd;

	if ((fd = openat(in->ctx.pickup_fd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_type == DT_DIR || !intake_name_wanted(de->d_name))
			continue;	/* Archive, stray folders, temp names */
		if (intake_still_reported(in, de->d_name))
			continue;
		intake_note(in, de->d_name);
	}
	closedir(dir);
	return 0;
}

/* ----------------------------------------------------------- reports */

/* Log a skipped file once per (name, inode, change time), and at most
 * INTAKE_REPORTS_PER_MINUTE a minute: a flood of hostile names costs a
 * summary line, not a line each. */
static void
intake_report(struct intake *in, const char *name, const struct stat *st,
    const char *detail)
{
	struct track *t = track_get(in, name);
	ino_t ino = st ? st->st_ino : 0;
	struct timespec ct = { 0, 0 };
	int64_t now = monoclock_ms();

	if (st != NULL)
		ct = st->st_ctim;
	if (t->reported && t->rep_ino == ino && ts_eq(&t->rep_ctime, &ct))
		return;
	t->reported = true;
	t->rep_ino = ino;
	t->rep_ctime = ct;
	if (now - in->report_window >= 60000) {
		if (in->reports_suppressed > 0)
			log_warnx("%llu more files were left in Pickup in the "
			    "last minute and not logged one by one",
			    (unsigned long long)in->reports_suppressed);
		in->report_window = now;
		in->reports_in_window = 0;
		in->reports_suppressed = 0;
	}
	if (in->reports_in_window >= INTAKE_REPORTS_PER_MINUTE) {
		in->reports_suppressed++;
		return;
	}
	in->reports_in_window++;
	log_warnx("%s: %s; left in Pickup", name, detail);
	tracklog_add(in->ctx.track, &(struct track_event){
	    .event = "skipped", .orig = name, .status = "left-in-pickup",
	    .reason = detail });
	tracklog_flush(in->ctx.track);
}

/* intake_user_name - the login name of a file's owner, when plain */
const char *
intake_user_name(uid_t uid, char *buf, size_t size)
{
	const struct passwd *pw = getpwuid(uid);
	size_t i, n;

	if (pw == NULL || pw->pw_name == NULL || (n = strlen(pw->pw_name)) == 0 ||
	    n >= size)
		return NULL;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)pw->pw_name[i]) &&
		    strchr("._-@$+", pw->pw_name[i]) == NULL)
			return NULL;
	memcpy(buf, pw->pw_name, n + 1);
	return buf;
}

/* intake_writer_name - intake_user_name, the last answer kept a minute:
 * a burst of files from one writer costs one lookup */
const char *
intake_writer_name(struct intake *in, uid_t uid, char *buf, size_t size)
{
	int64_t now = monoclock_ms();

	if (in->name_at_ms == 0 || in->name_uid != uid ||
	    now - in->name_at_ms > 60000) {
		in->name_ok = intake_user_name(uid, in->name, sizeof(in->name)) !=
		    NULL;
		in->name_uid = uid;
		in->name_at_ms = now > 0 ? now : 1;
	}
	if (!in->name_ok || strlen(in->name) >= size)
		return NULL;
	memcpy(buf, in->name, strlen(in->name) + 1);
	return buf;
}

/* intake_archive - move a file that cannot be taken to Pickup/Archive */
int
intake_archive(struct intake *in, int from_dirfd, const char *from_name,
    const char *qid, const char *origname, const char *reason)
{
	char name[QID_SIZE + 16], stamp[32];
	struct buf text;
	struct tm tm;
	time_t now = time(NULL);
	int r;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_init(&text);
	/* One field a line: the name is the writer's and the reason may
	 * quote it, so their control bytes are escaped. */
	if (buf_puts(&text, "reason: ") == -1 ||
	    log_escape(&text, reason, strlen(reason)) == -1 ||
	    buf_puts(&text, "\r\noriginal-name: ") == -1 ||
	    log_escape(&text, origname, strlen(origname)) == -1 ||
	    buf_printf(&text, "\r\ntime: %s\r\nqueue-id: %s\r\n", stamp,
	    qid) == -1) {
		buf_fini(&text);
		return -1;
	}
	snprintf(name, sizeof(name), "%s%s", qid, QFILE_REASON);
	r = safe_atomic_write(in->ctx.archive_fd, name, text.data, text.len,
	    0600, 1);
	buf_fini(&text);
	if (r == -1) {
		log_warn("Pickup/Archive/%s", name);
		return -1;
	}
	snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
	if (renameat(from_dirfd, from_name, in->ctx.archive_fd, name) == -1 ||
	    safe_fsync_dir(in->ctx.archive_fd) == -1) {
		log_warn("cannot move %s to Pickup/Archive", origname);
		return -1;
	}
	log_warnx("%s: the file %s in Pickup could not be taken (%s); it was "
	    "moved to Pickup/Archive/%s", qid, origname, reason, name);
	tracklog_add(in->ctx.track, &(struct track_event){
	    .event = "archived", .qid = qid, .orig = origname,
	    .status = "pickup-archive", .reason = reason });
	if (in->ctx.archived != NULL)
		(*in->ctx.archived)++;
	return 0;
}

/* ------------------------------------------------------------- claims */

/* Is the file open for writing by anyone? 1 yes, 0 no, -1 cannot tell. */
static int
intake_open_for_write(int fd)
{
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == -1)
		return errno == EAGAIN || errno == EBUSY ? 1 : -1;
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	return 0;
}

/* Without a lease: has the file stayed as it is for the settle time, as
 * seen by this process? 1 yes, 0 not yet (a retry is planned). */
static int
intake_settled(struct intake *in, struct track *t, const struct stat *st)
{
	int64_t now = monoclock_ms(), settle = intake_settle_ms(in);

	if (!t->observed || t->dev != st->st_dev || t->ino != st->st_ino ||
	    t->size != st->st_size || !ts_eq(&t->mtime, &st->st_mtim) ||
	    !ts_eq(&t->ctime, &st->st_ctim)) {
		t->observed = true;
		t->dev = st->st_dev;
		t->ino = st->st_ino;
		t->size = st->st_size;
		t->mtime = st->st_mtim;
		t->ctime = st->st_ctim;
		t->seen_ms = now;
	}
	if (now - t->seen_ms >= settle)
		return 1;
	intake_retry(in, t, t->seen_ms + settle);
	return 0;
}

static enum claim_result
intake_open_failed(struct intake *in, const char *name, int saved)
{
	struct stat lst;
	char reason[160];

	if (saved == ENOENT)
		return CLAIM_SKIP;	/* gone: another node took it */
	if (saved == ENXIO || saved == ENODEV) {
		intake_report(in, name, NULL, "not a regular file");
		return CLAIM_SKIP;
	}
	if (fstatat(in->ctx.pickup_fd, name, &lst, AT_SYMLINK_NOFOLLOW) == -1)
		return CLAIM_SKIP;
	if (saved == ELOOP) {
		intake_report(in, name, &lst, "symbolic link (never followed)");
		return CLAIM_SKIP;
	}
	snprintf(reason, sizeof(reason), "cannot open: %s", strerror(saved));
	intake_report(in, name, &lst, reason);
	return CLAIM_SKIP;
}

/* intake_claim - try to take one file out of Pickup */
enum claim_result
intake_claim(struct intake *in, const char *name, bool from_event,
    struct claimed *c)
{
	const struct imc_config *cfg = in->ctx.cfg;
	int pfd = in->ctx.pickup_fd, fd, busy;
	struct track *t;
	struct stat st;
	char reason[160];

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1)
		return intake_open_failed(in, name, errno);
	if (fstat(fd, &st) == -1) {
		close(fd);
		return CLAIM_SKIP;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (!S_ISDIR(st.st_mode))
			intake_report(in, name, &st,
			    S_ISFIFO(st.st_mode) ? "a FIFO, not a regular file" :
			    "a device or socket, not a regular file");
		return CLAIM_SKIP;
	}
	if (st.st_nlink > 1) {
		close(fd);
		intake_report(in, name, &st,
		    "has more than one hard link (may be another user's file)");
		return CLAIM_SKIP;
	}
	busy = intake_open_for_write(fd);
	t = track_get(in, name);
	if (t->hold_until_ms > monoclock_ms()) {
		/* Put back after it changed under us: our own move event
		 * must not bring it straight back. */
		intake_retry(in, t, t->hold_until_ms);
		close(fd);
		return CLAIM_WAIT;
	}
	if (busy == 1) {
		/* Still open for writing: this one name again shortly. */
		intake_retry(in, t, monoclock_ms() + INTAKE_BUSY_RETRY_MS);
		close(fd);
		return CLAIM_WAIT;
	}
	if (busy == -1 && (t->writing ||
	    (!from_event && intake_settled(in, t, &st) == 0))) {
		/* No lease to ask: a writer inotify saw has not closed it yet
		 * (its close event brings it back), or a file found by a
		 * rescan has not stayed unchanged for the settle time. */
		close(fd);
		return CLAIM_WAIT;
	}
	if (qid_new(c->qid) == -1) {
		close(fd);
		return CLAIM_ERROR;
	}
	c->origname = xstrdup(name);
	if ((uint64_t)st.st_size > cfg->max_message_size || st.st_size == 0) {
		if (st.st_size == 0)
			snprintf(reason, sizeof(reason), "empty file");
		else
			snprintf(reason, sizeof(reason),
			    "%lld bytes is over max_message_size (%llu)",
			    (long long)st.st_size,
			    (unsigned long long)cfg->max_message_size);
		close(fd);
		if (intake_archive(in, pfd, name, c->qid, name, reason) == -1) {
			intake_report(in, name, &st,
			    "cannot move to Pickup/Archive");
			free(c->origname);
			c->origname = NULL;
			return CLAIM_SKIP;
		}
		track_del(in, name);
		free(c->origname);
		c->origname = NULL;
		return CLAIM_DONE;
	}
	if (renameat(pfd, name, in->ctx.work_fd, c->qid) == -1) {
		int saved = errno;

		close(fd);
		free(c->origname);
		c->origname = NULL;
		if (saved != ENOENT) {
			snprintf(reason, sizeof(reason),
			    "cannot move it out of Pickup: %s", strerror(saved));
			intake_report(in, name, &st, reason);
		}
		return CLAIM_SKIP;
	}
	/* Ours now: a writer that kept a descriptor cannot reopen it for
	 * writing through /proc once it is read-only (when we own it; when
	 * we do not, only the checked size is read). */
	if (st.st_uid == in->euid)
		(void)fchmod(fd, 0400);
	track_del(in, name);
	c->fd = fd;
	c->size = (uint64_t)st.st_size;
	c->claimed_at = time(NULL);
	c->has_uid = true;
	c->uid = st.st_uid;
	/* The reference for intake_changed is taken after the rename and
	 * the chmod, which change ctime; a write since the checks above
	 * shows as another size or mtime. */
	if ((fstat(fd, &c->st) == -1 || c->st.st_size != st.st_size ||
	    !ts_eq(&c->st.st_mtim, &st.st_mtim)) &&
	    intake_put_back(in, c, "was written to while it was being "
	    "claimed") == 0) {
		/* (if it cannot go back, reading finds the change and the
		 * queue holds it in Work for a later try) */
		close(fd);
		free(c->origname);
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		return CLAIM_WAIT;
	}
	return CLAIM_OK;
}

/* intake_changed - the file moved on since the claim */
bool
intake_changed(const struct claimed *c)
{
	struct stat now;

	if (c->st.st_ino == 0)
		return false;
	if (fstat(c->fd, &now) == -1)
		return true;
	return now.st_size != c->st.st_size ||
	    !ts_eq(&now.st_mtim, &c->st.st_mtim) ||
	    !ts_eq(&now.st_ctim, &c->st.st_ctim);
}

/* intake_put_back - a file that changed while it was read goes back */
int
intake_put_back(struct intake *in, const struct claimed *c, const char *why)
{
	char alt[QID_SIZE + 8];
	const char *to = c->origname;

	if (!intake_name_wanted(to) || renameat2(in->ctx.work_fd, c->qid,
	    in->ctx.pickup_fd, to, RENAME_NOREPLACE) == -1) {
		snprintf(alt, sizeof(alt), "%s%s", c->qid, QFILE_EML);
		to = alt;
		if (renameat2(in->ctx.work_fd, c->qid, in->ctx.pickup_fd, to,
		    RENAME_NOREPLACE) == -1) {
			log_warn("%s: cannot put %s back into Pickup; it stays "
			    "in Work", c->qid, c->origname);
			return -1;
		}
	}
	log_warnx("%s: %s %s; put back into Pickup as %s, to be taken again",
	    c->qid, c->origname, why, to);
	tracklog_add(in->ctx.track, &(struct track_event){
	    .event = "returned", .qid = c->qid, .orig = c->origname,
	    .status = "pickup", .reason = why });
	tracklog_flush(in->ctx.track);
	/* The writer may not be done: the name waits at least a second
	 * and a settle time. */
	{
		struct track *t = track_get(in, to);

		t->hold_until_ms = monoclock_ms() + intake_settle_ms(in) +
		    INTAKE_BUSY_RETRY_MS;
		intake_retry(in, t, t->hold_until_ms);
	}
	return 0;
}
