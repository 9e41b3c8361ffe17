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
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "safeio.h"

/* The set of "logged once" files is bounded; past this it starts over,
 * so a flood of hostile names costs memory only up to here. */
#define INTAKE_REPORTED_MAX	100000

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

/* intake_note - queue a name for a claim attempt (once) */
int
intake_note(struct imc_daemon *d, const char *name)
{
	char **v, *copy;
	size_t ncap;
	int r;

	if (!intake_name_wanted(name))
		return 0;
	if ((r = strset_add(&d->pending_set, name)) <= 0)
		return r;
	if (d->head_pending > 0 && d->head_pending == d->n_pending) {
		d->head_pending = d->n_pending = 0;
	}
	if (d->n_pending == d->cap_pending) {
		if (d->head_pending > 0) {
			memmove(d->pending, d->pending + d->head_pending,
			    (d->n_pending - d->head_pending) * sizeof(*v));
			d->n_pending -= d->head_pending;
			d->head_pending = 0;
		}
		if (d->n_pending == d->cap_pending) {
			ncap = d->cap_pending ? d->cap_pending * 2 : 256;
			if ((v = realloc(d->pending, ncap * sizeof(*v))) == NULL)
				return -1;
			d->pending = v;
			d->cap_pending = ncap;
		}
	}
	if ((copy = strdup(name)) == NULL)
		return -1;
	d->pending[d->n_pending++] = copy;
	return 0;
}

/* intake_next - the next waiting name, the caller's to free */
char *
intake_next(struct imc_daemon *d)
{
	char *name;

	if (d->head_pending == d->n_pending)
		return NULL;
	name = d->pending[d->head_pending++];
	strset_del(&d->pending_set, name);
	if (d->head_pending == d->n_pending)
		d->head_pending = d->n_pending = 0;
	return name;
}

/* intake_scan - note every name in Pickup */
int
intake_scan(struct imc_daemon *d)
{
	DIR *dir;
	struct dirent *de;
	int fd;

	if ((fd = openat(d->dir[LAYOUT_PICKUP], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_type == DT_DIR)
			continue;	/* Archive, and stray folders */
		if (intake_note(d, de->d_name) == -1) {
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	return 0;
}

/* Log a skipped file once per (name, inode, change time). */
static void
intake_report(struct imc_daemon *d, const char *name, const struct stat *st,
    const char *detail)
{
	char key[512];

	snprintf(key, sizeof(key), "%s|%llu|%lld", name,
	    st ? (unsigned long long)st->st_ino : 0ull,
	    st ? (long long)st->st_ctime : 0ll);
	if (d->reported.n >= INTAKE_REPORTED_MAX)
		strset_clear(&d->reported);
	if (strset_add(&d->reported, key) == 0)
		return;
	log_warnx("%s: %s; left in Pickup", name, detail);
	tracklog_add(d->track, &(struct track_event){
	    .event = "skipped", .orig = name, .status = "left-in-pickup",
	    .reason = detail });
	tracklog_flush(d->track);
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

/* intake_archive - move a file that cannot be taken to Pickup/Archive */
int
intake_archive(struct imc_daemon *d, int from_dirfd, const char *from_name,
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
	snprintf(name, sizeof(name), "%s.reason", qid);
	r = safe_atomic_write(d->dir[LAYOUT_PICKUP_ARCHIVE], name, text.data,
	    text.len, 0600, 1);
	buf_fini(&text);
	if (r == -1) {
		log_warn("Pickup/Archive/%s", name);
		return -1;
	}
	snprintf(name, sizeof(name), "%s.eml", qid);
	if (renameat(from_dirfd, from_name, d->dir[LAYOUT_PICKUP_ARCHIVE],
	    name) == -1 || safe_fsync_dir(d->dir[LAYOUT_PICKUP_ARCHIVE]) == -1) {
		log_warn("cannot move %s to Pickup/Archive", origname);
		return -1;
	}
	log_warnx("%s: the file %s in Pickup could not be taken (%s); it was "
	    "moved to Pickup/Archive/%s", qid, origname, reason, name);
	tracklog_add(d->track, &(struct track_event){
	    .event = "archived", .qid = qid, .orig = origname,
	    .status = "pickup-archive", .reason = reason });
	d->stats.archived++;
	return 0;
}

/* Is the file open for writing by anyone? 1 yes, 0 no, -1 cannot tell. */
static int
intake_open_for_write(int fd)
{
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == -1)
		return errno == EAGAIN || errno == EBUSY ? 1 : -1;
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	return 0;
}

/* intake_claim - try to take one file out of Pickup */
enum claim_result
intake_claim(struct imc_daemon *d, const char *name, bool from_event,
    struct claimed *c)
{
	int pfd = d->dir[LAYOUT_PICKUP], fd, busy;
	struct stat st;
	char reason[160];
	time_t now = time(NULL);

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return CLAIM_SKIP;	/* gone: another node took it */
		if (errno == ELOOP) {
			struct stat lst;

			if (fstatat(pfd, name, &lst, AT_SYMLINK_NOFOLLOW) == -1)
				return CLAIM_SKIP;
			intake_report(d, name, &lst,
			    "symbolic link (never followed)");
			return CLAIM_SKIP;
		}
		if (errno == ENXIO || errno == ENODEV) {
			intake_report(d, name, NULL, "not a regular file");
			return CLAIM_SKIP;
		}
		{
			struct stat lst;
			int saved = errno;

			if (fstatat(pfd, name, &lst, AT_SYMLINK_NOFOLLOW) == -1)
				return CLAIM_SKIP;
			snprintf(reason, sizeof(reason), "cannot open: %s",
			    strerror(saved));
			intake_report(d, name, &lst, reason);
		}
		return CLAIM_SKIP;
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		return CLAIM_SKIP;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (!S_ISDIR(st.st_mode))
			intake_report(d, name, &st,
			    S_ISFIFO(st.st_mode) ? "a FIFO, not a regular file" :
			    "a device or socket, not a regular file");
		return CLAIM_SKIP;
	}
	if (st.st_nlink > 1) {
		close(fd);
		intake_report(d, name, &st,
		    "has more than one hard link (may be another user's file)");
		return CLAIM_SKIP;
	}
	busy = intake_open_for_write(fd);
	if (busy == 1 || (busy == -1 && !from_event &&
	    now - st.st_mtime < (time_t)d->cfg.pickup_settle)) {
		/* Still being written: an inotify close event or the settle
		 * timer brings it back. */
		time_t when = busy == 1 ? now + 1 :
		    st.st_mtime + (time_t)d->cfg.pickup_settle;

		if (d->settle_retry == 0 || when < d->settle_retry)
			d->settle_retry = when;
		close(fd);
		return CLAIM_WAIT;
	}
	if (qid_new(c->qid) == -1) {
		close(fd);
		return CLAIM_ERROR;
	}
	if ((c->origname = strdup(name)) == NULL) {
		close(fd);
		return CLAIM_ERROR;
	}
	if ((uint64_t)st.st_size > d->cfg.max_message_size ||
	    st.st_size == 0) {
		if (st.st_size == 0)
			snprintf(reason, sizeof(reason), "empty file");
		else
			snprintf(reason, sizeof(reason),
			    "%lld bytes is over max_message_size (%llu)",
			    (long long)st.st_size,
			    (unsigned long long)d->cfg.max_message_size);
		close(fd);
		if (intake_archive(d, pfd, name, c->qid, name, reason) == -1) {
			intake_report(d, name, &st,
			    "cannot move to Pickup/Archive");
			free(c->origname);
			c->origname = NULL;
			return CLAIM_SKIP;
		}
		free(c->origname);
		c->origname = NULL;
		return CLAIM_DONE;
	}
	if (renameat(pfd, name, d->dir[LAYOUT_WORK], c->qid) == -1) {
		int saved = errno;

		close(fd);
		free(c->origname);
		c->origname = NULL;
		if (saved != ENOENT) {
			snprintf(reason, sizeof(reason),
			    "cannot move it out of Pickup: %s", strerror(saved));
			intake_report(d, name, &st, reason);
		}
		return CLAIM_SKIP;
	}
	c->fd = fd;
	c->size = (uint64_t)st.st_size;
	c->claimed_at = now;
	c->has_uid = true;
	c->uid = st.st_uid;
	return CLAIM_OK;
}
