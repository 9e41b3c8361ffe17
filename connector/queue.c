/*
 * queue - In/ and Out/ entries (see queue.h, and LAYOUT.md for the files).
 */
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "imc_limits.h"
#include "log.h"
#include "outq.h"
#include "pickup_file.h"
#include "safeio.h"
#include "bounce.h"
#include "repair.h"
#include "store_maildir.h"
#include "strset.h"
#include "xalloc.h"

static void
queue_name(char *out, size_t size, const char *qid, const char *suffix)
{
	snprintf(out, size, "%s%s", qid, suffix);
}

/* Remove In/<qid>.* and Out/<qid>.* (half-written entries). */
static void
queue_remove_entries(struct imc_daemon *d, const char *qid)
{
	static const enum layout_dir dirs[] = { LAYOUT_IN, LAYOUT_OUT };
	char name[QID_SIZE + 16];
	size_t i;

	for (i = 0; i < 2; i++) {
		queue_name(name, sizeof(name), qid, QFILE_ENV);
		unlinkat(d->dir[dirs[i]], name, 0);
		queue_name(name, sizeof(name), qid, QFILE_EML);
		unlinkat(d->dir[dirs[i]], name, 0);
	}
}

static int
queue_open_eml(struct imc_daemon *d, enum layout_dir dir, const char *qid)
{
	char name[QID_SIZE + 16];

	queue_name(name, sizeof(name), qid, QFILE_EML);
	return openat(d->dir[dir], name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
}

static int
queue_make_env(struct qenv *e, const char *qid, const char *origname,
    const char *sender, uint64_t size)
{
	qenv_init(e);
	memcpy(e->qid, qid, QID_SIZE);
	e->arrival = qid_time(qid);
	e->size = size;
	qenv_set(&e->origname, origname);
	qenv_set(&e->sender, sender);
	return 0;
}

static void
queue_archive_copy(struct imc_daemon *d, enum layout_dir from,
    enum layout_dir to, const char *qid)
{
	char name[QID_SIZE + 16];

	queue_name(name, sizeof(name), qid, QFILE_EML);
	if (linkat(d->dir[from], name, d->dir[to], name, 0) == -1 &&
	    errno != EEXIST)
		log_warn("%s: archive copy in %s", qid, layout_name(to));
}

/* The Out/ copy keeps its charsets: SMTP converts per destination. */
static const struct delivery_conv queue_keep = { "preserve", false };

/* The conversion of an In/ entry's content: the one its recipients share,
 * or, when their domains want different ones, none (the labelled charsets
 * kept) and every recipient gets a copy converted at delivery. Derived
 * from the recipient list alone, so intake and every later delivery agree. */
struct queue_base {
	struct delivery_conv conv;
	bool	 any;
};

static void
queue_base_init(struct queue_base *b)
{
	b->conv = queue_keep;
	b->any = false;
}

static void
queue_base_add(struct imc_daemon *d, struct queue_base *b, const char *rcpt)
{
	struct delivery_conv c;

	config_delivery_conv(&d->cfg, addr_domain(rcpt), DELIVERY_STORE, &c);
	if (!b->any)
		b->conv = c;
	else if (!config_delivery_conv_eq(&b->conv, &c))
		b->conv = queue_keep;
	b->any = true;
}

/* Messages below this size are repaired in memory. */
#define REPAIR_IN_MEMORY	(4 * 1024 * 1024)

/* Give a repaired copy (memfd or O_TMPFILE descriptor) the queue name. */
static int
queue_publish(int dirfd, int fd, bool in_memory, const char *tmp,
    const char *name, uint64_t *size)
{
	char proc[64], chunk[IMC_IO_CHUNK];
	struct stat st;
	ssize_t n;
	int out;

	if (fstat(fd, &st) == -1)
		return -1;
	unlinkat(dirfd, tmp, 0);
	if (!in_memory) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW) == -1)
			return -1;
	} else {
		if ((out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
			return -1;
		if (lseek(fd, 0, SEEK_SET) == -1)
			n = -1;
		else
			while ((n = read(fd, chunk, sizeof(chunk))) > 0)
				if (safe_write_all(out, chunk, (size_t)n) == -1) {
					n = -1;
					break;
				}
		if (close(out) == -1 || n == -1) {
			unlinkat(dirfd, tmp, 0);
			return -1;
		}
	}
	if (renameat(dirfd, tmp, dirfd, name) == -1) {
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/*
 * Charset repair of a queue copy (repair.h): the copy is rewritten only when
 * something needs to change, into a temp name renamed over it. legacy: the
 * sender domain's legacy_charset; the destination's charset and encoding
 * come from dest_domain (NULL: keep the charsets, as for Out/, where the
 * SMTP delivery converts per destination).
 */
static int
queue_repair(struct imc_daemon *d, enum layout_dir dir, const char *qid,
    const char *sender, const struct delivery_conv *to, uint64_t *size)
{
	struct imc_charset_conf from;
	struct repair_opts opts;
	struct repair_report rep;
	enum repair_result rr;
	char name[QID_SIZE + 16], tmp[QID_SIZE + 24];
	struct stat st;
	int in, out;

	config_charset_for(&d->cfg, addr_domain(sender), &from);
	memset(&opts, 0, sizeof(opts));
	opts.legacy_charset = from.legacy_charset;
	opts.target = to->charset;
	opts.seven_bit = to->seven_bit;
	queue_name(name, sizeof(name), qid, QFILE_EML);
	snprintf(tmp, sizeof(tmp), ".%s.repair", name);
	if ((in = openat(d->dir[dir], name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(in, &st) == -1) {
		if (in != -1)
			close(in);
		return -1;
	}
	/* Most messages need no repair: the output goes to memory (small
	 * messages) or an unnamed file, and gets a name only if it is used,
	 * since creating a named file is the dearest step of the intake. */
	out = st.st_size < REPAIR_IN_MEMORY ? memfd_create("repair", MFD_CLOEXEC) :
	    openat(d->dir[dir], ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out == -1) {
		close(in);
		return -1;
	}
	repair_report_init(&rep);
	rr = repair_message(in, out, &opts, &rep);
	close(in);
	if (rr == REPAIR_CHANGED && queue_publish(d->dir[dir], out,
	    st.st_size < REPAIR_IN_MEMORY, tmp, name, size) == -1)
		rr = REPAIR_ERROR;
	close(out);
	if (rr == REPAIR_CHANGED) {
		if (rep.undecodable > 0 || rep.kept_utf8 > 0)
			log_warnx("%s: %s: %s", qid, layout_name(dir),
			    buf_cstr(&rep.explain));
		/* One log line: the report's lines joined with "; ". */
		while (rep.explain.len > 0 &&
		    rep.explain.data[rep.explain.len - 1] == '\n')
			rep.explain.data[--rep.explain.len] = '\0';
		for (char *p = rep.explain.data; p != NULL &&
		    (p = strchr(p, '\n')) != NULL; p++)
			*p = ';';
		tracklog_add(d->track, &(struct track_event){ .event = "repaired",
		    .qid = qid, .from = sender, .size = *size,
		    .status = layout_name(dir), .reason = buf_cstr(&rep.explain) });
	}
	repair_report_fini(&rep);
	return rr == REPAIR_ERROR ? -1 : 0;
}

/*
 * A copy that charset repair made too big is neither cut nor delivered:
 * when the file's size plus what repair added to this copy is over
 * max_message_size, its recipients fail 5.3.4 with both sizes in the
 * reason, and the normal path returns it (a report to the sender, Badmail
 * for the null sender). The connector's own changes (trace lines, CRLF)
 * are not counted: before is the copy's size before repair.
 */
static int
queue_check_grown(struct imc_daemon *d, enum layout_dir dir, struct qenv *e,
    uint64_t before, uint64_t original)
{
	uint64_t grown = e->size > before ? e->size - before : 0;
	char text[256];
	size_t i;

	if (grown == 0 || original + grown <= d->cfg.max_message_size)
		return 0;
	snprintf(text, sizeof(text), "message too big after charset repair: "
	    "%llu bytes in %s/ (%llu bytes as written), over max_message_size "
	    "(%llu)", (unsigned long long)e->size, layout_name(dir),
	    (unsigned long long)original,
	    (unsigned long long)d->cfg.max_message_size);
	for (i = 0; i < e->n_rcpts; i++) {
		e->rcpts[i].state = QRCPT_FAILED;
		snprintf(e->rcpts[i].dsn, sizeof(e->rcpts[i].dsn), "5.3.4");
		qenv_set(&e->rcpts[i].text, text);
	}
	log_warnx("%s: %s", e->qid, text);
	return 0;
}

/* queue_accept - parse one claimed file and write its queue entries */
enum accept_result
queue_accept(struct imc_daemon *d, struct claimed *c, struct accepted *a)
{
	char user[64];
	struct pickup_opts opts = { .dots = d->cfg.pickup_dots,
	    .hostname = d->cfg.hostname, .qid = c->qid, .now = c->claimed_at,
	    .max_bytes = c->size, .has_uid = c->has_uid, .uid = c->uid,
	    .user = c->has_uid ? intake_user_name(c->uid, user, sizeof(user)) :
	    NULL };
	struct mail_status why;
	struct pickup_file *pf;
	const struct addr_list *rcpts;
	struct pickup_out outs[2];
	struct qenv out_env;
	struct buf rp, rp_key;
	struct strset mailboxes;
	const char *dom;
	size_t i, nout = 0, n_local = 0;
	uint64_t before[2];
	int in_out = -1, out_out = -1;

	memset(a, 0, sizeof(*a));
	memcpy(a->qid, c->qid, QID_SIZE);
	qenv_init(&a->in);
	qenv_init(&out_env);
	buf_init(&rp);
	buf_init(&rp_key);
	strset_init(&mailboxes);
	if ((pf = pickup_read(c->fd, &opts, &why)) == NULL) {
		if (why.kind == MAIL_PERM) {
			if (intake_archive(d->intake, d->dir[LAYOUT_WORK], c->qid,
			    c->qid, c->origname, why.text) == 0)
				return ACCEPT_ARCHIVED;
		}
		queue_hold_work(d, c->qid, c->origname, why.text);
		return ACCEPT_FAILED;
	}
	rcpts = pickup_recipients(pf);
	for (i = 0; i < rcpts->n; i++) {
		dom = addr_domain(rcpts->items[i]);
		if (dom != NULL && config_is_local_domain(&d->cfg, dom))
			n_local++;
	}
	a->has_in = n_local > 0;
	a->has_out = n_local < rcpts->n;
	if (a->has_in) {
		if ((in_out = queue_open_eml(d, LAYOUT_IN, c->qid)) == -1)
			goto ioerr;
		if (buf_printf(&rp, "Return-Path: <%s>\r\n", pickup_sender(pf)) == -1)
			goto ioerr;
		outs[nout++] = (struct pickup_out){ in_out, rp.data, 0 };
	}
	if (a->has_out) {
		if ((out_out = queue_open_eml(d, LAYOUT_OUT, c->qid)) == -1)
			goto ioerr;
		outs[nout++] = (struct pickup_out){ out_out, NULL, 0 };
	}
	if (pickup_write(pf, outs, nout, &why) == -1)
		goto fail;
	if ((in_out != -1 && close(in_out) == -1) ||
	    (out_out != -1 && close(out_out) == -1)) {
		in_out = out_out = -1;
		goto ioerr;
	}
	in_out = out_out = -1;
	/* Only the size checked at the claim was read; a file that moved on
	 * meanwhile (a writer that kept a descriptor) is not queued half old,
	 * half new: it goes back to Pickup. */
	if (intake_changed(c)) {
		queue_remove_entries(d, c->qid);
		qenv_free(&out_env);
		buf_fini(&rp);
		buf_fini(&rp_key);
		strset_fini(&mailboxes);
		pickup_free(pf);
		if (intake_put_back(d->intake, c, "changed while it was being "
		    "read") == 0)
			return ACCEPT_RETURNED;
		queue_hold_work(d, c->qid, c->origname, "changed while it was "
		    "being read, and cannot be put back into Pickup");
		return ACCEPT_FAILED;
	}
	for (i = 0; i < nout; i++)
		before[i] = outs[i].written;
	if (a->has_in) {
		struct queue_base base;

		queue_base_init(&base);
		for (i = 0; i < rcpts->n; i++) {
			dom = addr_domain(rcpts->items[i]);
			if (dom != NULL && config_is_local_domain(&d->cfg, dom))
				queue_base_add(d, &base, rcpts->items[i]);
		}
		if (queue_repair(d, LAYOUT_IN, c->qid, pickup_sender(pf),
		    &base.conv, &outs[0].written) == -1)
			goto ioerr;
	}
	if (a->has_out && queue_repair(d, LAYOUT_OUT, c->qid, pickup_sender(pf),
	    &queue_keep, &outs[a->has_in ? 1 : 0].written) == -1)
		goto ioerr;
	nout = 0;
	if (a->has_in) {
		if (queue_make_env(&a->in, c->qid, c->origname, pickup_sender(pf),
		    outs[nout++].written) == -1)
			goto ioerr;
	}
	if (a->has_out && queue_make_env(&out_env, c->qid, c->origname,
	    pickup_sender(pf), outs[nout].written) == -1)
		goto ioerr;
	for (i = 0; i < rcpts->n; i++) {
		struct qenv *to;

		dom = addr_domain(rcpts->items[i]);
		to = dom != NULL && config_is_local_domain(&d->cfg, dom) ?
		    &a->in : &out_env;
		/* Two addresses for one mailbox (Bob@ and bob@) are one
		 * delivery: the store's key decides, not the spelling. */
		if (to == &a->in) {
			char *local, *domain;
			int fresh;

			if (maildir_key(rcpts->items[i], &local, &domain) == -1)
				log_fatalx(EX_SOFTWARE, "%s: local recipient "
				    "without a domain", c->qid);
			buf_reset(&rp_key);
			buf_printf(&rp_key, "%s@%s", local, domain);
			free(local);
			free(domain);
			fresh = strset_add(&mailboxes, buf_cstr(&rp_key));
			if (fresh == 0)
				continue;
		}
		qenv_add_rcpt(to, rcpts->items[i]);
		/* DSN parameters travel with remote recipients */
		if (to == &out_env) {
			qenv_set(&to->rcpts[to->n_rcpts - 1].notify,
			    pickup_rcpt_notify(pf, i));
			qenv_set(&to->rcpts[to->n_rcpts - 1].orcpt,
			    pickup_rcpt_orcpt(pf, i));
		}
	}
	if (a->has_out) {
		qenv_set(&out_env.ret, pickup_ret(pf));
		qenv_set(&out_env.envid, pickup_envid(pf));
	}
	if ((a->has_in && queue_check_grown(d, LAYOUT_IN, &a->in, before[0],
	    c->size) == -1) || (a->has_out && queue_check_grown(d, LAYOUT_OUT,
	    &out_env, before[a->has_in ? 1 : 0], c->size) == -1))
		goto ioerr;
	/* The In/ entry's .env is written only if a delivery is deferred:
	 * until the batch ends the Work file is the entry (queue_commit). */
	if (a->has_out &&
	    qenv_store(d->dir[LAYOUT_OUT], &out_env, true, false) == -1)
		goto ioerr;
	if (d->cfg.archive && a->has_in)
		queue_archive_copy(d, LAYOUT_IN, LAYOUT_IN_ARCHIVE, c->qid);
	if (d->cfg.archive && a->has_out)
		queue_archive_copy(d, LAYOUT_OUT, LAYOUT_OUT_ARCHIVE, c->qid);

	tracklog_add(d->track, &(struct track_event){ .event = "picked-up",
	    .qid = c->qid, .from = pickup_sender(pf), .size = c->size,
	    .orig = c->origname, .status = "accepted",
	    .has_uid = opts.has_uid, .uid = opts.uid, .user = opts.user });
	for (i = 0; i < out_env.n_rcpts; i++)
		tracklog_add(d->track, &(struct track_event){ .event = "queued",
		    .qid = c->qid, .from = out_env.sender,
		    .to = out_env.rcpts[i].addr, .size = out_env.size,
		    .status = "queued", .relay = "Out" });
	d->stats.picked_up++;
	qenv_free(&out_env);
	buf_fini(&rp);
	buf_fini(&rp_key);
	strset_fini(&mailboxes);
	pickup_free(pf);
	return ACCEPT_QUEUED;
ioerr:
	mail_status_set(&why, MAIL_TEMP, "4.3.0", "%s", strerror(errno));
fail:
	if (in_out != -1)
		close(in_out);
	if (out_out != -1)
		close(out_out);
	queue_remove_entries(d, c->qid);
	queue_hold_work(d, c->qid, c->origname, why.text);
	qenv_free(&a->in);
	qenv_free(&out_env);
	buf_fini(&rp);
	buf_fini(&rp_key);
	strset_fini(&mailboxes);
	pickup_free(pf);
	return ACCEPT_FAILED;
}

/* queue_barrier - make everything written so far durable */
int
queue_barrier(struct imc_daemon *d)
{
	d->stats.barriers++;
	/* One syncfs covers every file and folder written since the last one:
	 * that is how a batch shares one flush (the Postfix-equivalent
	 * durability the benchmark asks for, without an fsync per file). */
	if (syncfs(d->dir[LAYOUT_ROOT]) == -1) {
		log_warn("syncfs");
		return -1;
	}
	return 0;
}

/* queue_release_work - drop Work/<qid> once its entries are durable */
void
queue_release_work(struct imc_daemon *d, const char *qid)
{
	if (unlinkat(d->dir[LAYOUT_WORK], qid, 0) == -1 && errno != ENOENT)
		log_warn("Work/%s", qid);
}

/* The In/ content has the entry's base conversion (queue_base); a
 * recipient whose domain wants another gets a copy converted from it,
 * In/.<qid>.<k>.conv, linked into its mailbox and removed after the
 * delivery. Into out: the name to link from. */
static int
queue_store_copy(struct imc_daemon *d, const struct qenv *e,
    const struct delivery_conv *conv, unsigned k, char *out, size_t size)
{
	struct imc_charset_conf from;
	struct repair_opts opts;
	struct repair_report rep;
	enum repair_result rr;
	char eml[QID_SIZE + 16], tmp[QID_SIZE + 32];
	struct stat st;
	uint64_t written;
	int in, cfd;

	queue_name(eml, sizeof(eml), e->qid, QFILE_EML);
	config_charset_for(&d->cfg, addr_domain(e->sender), &from);
	memset(&opts, 0, sizeof(opts));
	opts.legacy_charset = from.legacy_charset;
	opts.target = conv->charset;
	opts.seven_bit = conv->seven_bit;
	if ((in = openat(d->dir[LAYOUT_IN], eml, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(in, &st) == -1) {
		if (in != -1)
			close(in);
		return -1;
	}
	cfd = st.st_size < REPAIR_IN_MEMORY ? memfd_create("conv", MFD_CLOEXEC) :
	    openat(d->dir[LAYOUT_IN], ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (cfd == -1) {
		close(in);
		return -1;
	}
	repair_report_init(&rep);
	rr = repair_message(in, cfd, &opts, &rep);
	repair_report_fini(&rep);
	close(in);
	snprintf(out, size, "%s", eml);
	if (rr == REPAIR_CHANGED) {
		snprintf(out, size, ".%s.%u.conv", e->qid, k);
		snprintf(tmp, sizeof(tmp), ".%s.%u.tmp", e->qid, k);
		if (queue_publish(d->dir[LAYOUT_IN], cfd,
		    st.st_size < REPAIR_IN_MEMORY, tmp, out, &written) == -1)
			rr = REPAIR_ERROR;
	}
	close(cfd);
	return rr == REPAIR_ERROR ? -1 : 0;
}

#define QUEUE_MAX_CONVS	8	/* distinct conversions in one entry */

/* queue_deliver - hand pending recipients of an In/ entry to the store */
size_t
queue_deliver(struct imc_daemon *d, struct qenv *e, bool recovering)
{
	char eml[QID_SIZE + 16], unique[QID_SIZE + 32], name[512];
	struct {
		struct delivery_conv conv;
		char	 src[QID_SIZE + 32];
		bool	 ok;
	} copies[QUEUE_MAX_CONVS];
	struct delivery_conv conv0, conv;
	struct queue_base base;
	struct mail_status st;
	struct qrcpt *r;
	const char *src;
	size_t i, k, n = 0, n_copies = 0;

	queue_name(eml, sizeof(eml), e->qid, QFILE_EML);
	queue_base_init(&base);
	for (i = 0; i < e->n_rcpts; i++)
		queue_base_add(d, &base, e->rcpts[i].addr);
	conv0 = base.conv;
	for (i = 0; i < e->n_rcpts; i++) {
		r = &e->rcpts[i];
		if (r->state != QRCPT_PENDING)
			continue;
		src = eml;
		config_delivery_conv(&d->cfg, addr_domain(r->addr),
		    DELIVERY_STORE, &conv);
		if (!config_delivery_conv_eq(&conv, &conv0)) {
			for (k = 0; k < n_copies; k++)
				if (config_delivery_conv_eq(&copies[k].conv,
				    &conv))
					break;
			if (k == n_copies && n_copies < QUEUE_MAX_CONVS) {
				copies[k].conv = conv;
				copies[k].ok = queue_store_copy(d, e, &conv,
				    (unsigned)k, copies[k].src,
				    sizeof(copies[k].src)) == 0;
				n_copies++;
			}
			src = k < n_copies && copies[k].ok ? copies[k].src :
			    NULL;
		}
		snprintf(unique, sizeof(unique), "Q%s_%zu", e->qid, i);
		if (src == NULL)
			mail_status_set(&st, MAIL_TEMP, "4.3.0", "cannot convert "
			    "the message to %s%s for this mailbox",
			    conv.charset, conv.seven_bit ? " (7bit)" : "");
		else if (maildir_name(d->store, (long long)e->arrival, unique,
		    name, sizeof(name)) == -1)
			mail_status_set(&st, MAIL_TEMP, "4.3.0", "name too long");
		else
			(void)maildir_deliver(d->store, d->dir[LAYOUT_IN], src,
			    r->addr, name, recovering, &st);
		snprintf(r->dsn, sizeof(r->dsn), "%s", st.dsn);
		free(r->text);
		r->text = xstrdup(st.text);
		if (st.kind == MAIL_OK) {
			r->state = QRCPT_DONE;
			n++;
		} else if (st.kind == MAIL_PERM)
			r->state = QRCPT_FAILED;
		/* MAIL_TEMP: stays pending; queue_settle records the try */
		tracklog_add(d->track, &(struct track_event){
		    .event = st.kind == MAIL_OK ? "delivered" :
		    st.kind == MAIL_PERM ? "failed" : "deferred",
		    .qid = e->qid, .from = e->sender, .to = r->addr,
		    .size = e->size, .status = st.kind == MAIL_OK ? "sent" :
		    st.kind == MAIL_PERM ? "failed" : "deferred",
		    .dsn = st.dsn, .relay = "maildir",
		    .reason = st.kind == MAIL_OK ? NULL : st.text });
		if (st.kind == MAIL_OK)
			d->stats.delivered++;
		else if (st.kind == MAIL_TEMP)
			d->stats.deferred++;
	}
	/* The mailboxes hold their own links; the converted names go. */
	for (k = 0; k < n_copies; k++)
		if (copies[k].ok && copies[k].src[0] == '.')
			(void)unlinkat(d->dir[LAYOUT_IN], copies[k].src, 0);
	return n;
}

/* Copy a message whose recipients failed for good into Badmail. */
static void
queue_badmail(struct imc_daemon *d, enum layout_dir dir, const struct qenv *e)
{
	char eml[QID_SIZE + 16], bad[QID_SIZE + 16], bdr[QID_SIZE + 16];
	struct buf text;
	size_t i;

	queue_name(eml, sizeof(eml), e->qid, QFILE_EML);
	queue_name(bad, sizeof(bad), e->qid, ".bad");
	queue_name(bdr, sizeof(bdr), e->qid, ".bdr");
	buf_init(&text);
	/* One field a line: names and a peer's words are escaped. */
	buf_printf(&text, "Queue id: %s\r\nSender: <", e->qid);
	log_escape(&text, e->sender, strlen(e->sender));
	buf_puts(&text, ">\r\nOriginal name: ");
	if (e->origname != NULL)
		log_escape(&text, e->origname, strlen(e->origname));
	buf_puts(&text, "\r\nThese recipients failed permanently and the "
	    "sender cannot be told (it is the null sender, or the notification "
	    "could not be written):\r\n");
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_FAILED) {
			buf_puts(&text, "  <");
			log_escape(&text, e->rcpts[i].addr,
			    strlen(e->rcpts[i].addr));
			buf_printf(&text, ">: %s ", e->rcpts[i].dsn);
			if (e->rcpts[i].text != NULL)
				log_escape(&text, e->rcpts[i].text,
				    strlen(e->rcpts[i].text));
			buf_puts(&text, "\r\n");
		}
	if (safe_atomic_write(d->dir[LAYOUT_BADMAIL], bdr, text.data, text.len,
	    0600, 1) == -1 ||
	    (linkat(d->dir[dir], eml, d->dir[LAYOUT_BADMAIL], bad, 0) == -1 &&
	    errno != EEXIST) || safe_fsync_dir(d->dir[LAYOUT_BADMAIL]) == -1)
		log_warn("%s: cannot write Badmail/%s", e->qid, bad);
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_FAILED) {
			tracklog_add(d->track, &(struct track_event){
			    .event = "badmail", .qid = e->qid, .from = e->sender,
			    .to = e->rcpts[i].addr, .size = e->size,
			    .status = "badmail", .dsn = e->rcpts[i].dsn,
			    .reason = e->rcpts[i].text });
			d->stats.failed++;
		}
	buf_fini(&text);
}

/* Take a file already in Work/<qid> through the whole path: entries,
 * barrier, release, store, barrier, settle. Used for recovery and for
 * notifications, which are written into Work first. */
enum accept_result
queue_take_work(struct imc_daemon *d, const char *qid, const char *origname,
    bool recovering)
{
	struct claimed c;
	struct accepted a;
	struct stat st;
	enum accept_result r;
	int fd;

	queue_remove_entries(d, qid);
	fd = openat(d->dir[LAYOUT_WORK], qid, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return ACCEPT_ARCHIVED;	/* gone: nothing to do */
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("%s: Work/%s is not a regular file; left for a person",
		    qid, qid);
		if (fd != -1)
			close(fd);
		return ACCEPT_FAILED;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.qid, qid, QID_SIZE);
	c.origname = (char *)origname;
	c.fd = fd;
	c.size = (uint64_t)st.st_size;
	c.claimed_at = (time_t)qid_time(qid);
	c.st = st;
	/* A recovered Work file is still the writer's; a notification is
	 * the connector's own. */
	c.has_uid = recovering;
	c.uid = st.st_uid;
	if ((r = queue_accept(d, &c, &a)) == ACCEPT_QUEUED) {
		if (queue_commit(d, &a, 1, recovering) == -1) {
			queue_hold_work(d, qid, origname, "the queue files could "
			    "not be made durable");
			r = ACCEPT_FAILED;
		}
		qenv_free(&a.in);
	}
	close(fd);
	return r;
}

/* Return the failed recipients to the sender: the notification is written
 * durably into Work/ first, so a crash before it is queued redoes it. */
static int
queue_bounce(struct imc_daemon *d, enum layout_dir dir, const struct qenv *e,
    enum bounce_kind kind, time_t retry_until)
{
	char bqid[QID_SIZE], eml[QID_SIZE + 16];
	int in = -1, out = -1, r = -1;
	size_t i;

	if (qid_new(bqid) == -1)
		return -1;
	queue_name(eml, sizeof(eml), e->qid, QFILE_EML);
	in = openat(d->dir[dir], eml, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	out = openat(d->dir[LAYOUT_WORK], bqid, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in == -1 || out == -1 ||
	    bounce_write(out, e, in, &(struct bounce_opts){ .kind = kind,
	    .hostname = d->cfg.hostname, .bounce_qid = bqid,
	    .stuff_dots = d->cfg.pickup_dots == PICKUP_DOTS_IIS,
	    .retry_until = retry_until }) == -1 ||
	    fsync(out) == -1 || safe_fsync_dir(d->dir[LAYOUT_WORK]) == -1) {
		log_warn("%s: cannot write the notification", e->qid);
		if (out != -1)
			unlinkat(d->dir[LAYOUT_WORK], bqid, 0);
		goto out;
	}
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == (kind == BOUNCE_DELAYED ?
		    QRCPT_PENDING : QRCPT_FAILED)) {
			tracklog_add(d->track, &(struct track_event){
			    .event = kind == BOUNCE_DELAYED ? "delay-notice" :
			    "bounced", .qid = e->qid, .from = e->sender,
			    .to = e->rcpts[i].addr, .size = e->size,
			    .status = kind == BOUNCE_DELAYED ? "delayed" :
			    "bounced", .dsn = e->rcpts[i].dsn,
			    .reason = e->rcpts[i].text, .orig = bqid });
			if (kind != BOUNCE_DELAYED)
				d->stats.failed++;
		}
	r = 0;
out:
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	if (r == 0)
		(void)queue_take_work(d, bqid, "(delivery status "
		    "notification)", false);
	return r;
}

/* Expire pending recipients of an entry older than max_lifetime. */
static void
queue_expire(struct imc_daemon *d, struct qenv *e, time_t now)
{
	char text[300];
	size_t i;

	if (now - e->arrival < (time_t)d->cfg.max_lifetime)
		return;
	for (i = 0; i < e->n_rcpts; i++) {
		struct qrcpt *r = &e->rcpts[i];

		if (r->state != QRCPT_PENDING)
			continue;
		snprintf(text, sizeof(text), "message expired after %llus in the "
		    "queue: %s", (unsigned long long)d->cfg.max_lifetime,
		    r->text ? r->text : "not delivered");
		qenv_set(&r->text, text);
		snprintf(r->dsn, sizeof(r->dsn), "4.4.7");
		r->state = QRCPT_FAILED;
	}
}

/* Record a deferral: the .env is replaced by rename (created on the first
 * deferral); the caller's next barrier makes it durable. */
static void
queue_defer(struct imc_daemon *d, struct qenv *e)
{
	size_t i;

	e->attempts++;
	e->next_try = time(NULL) + (time_t)d->cfg.local_retry;
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_PENDING && e->rcpts[i].text != NULL)
			qenv_set(&e->error, e->rcpts[i].text);
	if (qenv_store(d->dir[LAYOUT_IN], e, false, false) == -1)
		log_warn("%s: cannot record the deferral", e->qid);
}

/* NOTIFY (RFC 3461) without the word: this recipient wants no such
 * notice. A recipient without NOTIFY gets the default (failures). */
static bool
queue_notify_wants(const struct qrcpt *r, const char *word)
{
	return r->notify == NULL || strcasestr(r->notify, word) != NULL;
}

/* Failed recipients whose NOTIFY asked for no failure notice count as
 * reported (BOUNCED) without one; the tracking log says so. */
static void
queue_notify_filter(struct imc_daemon *d, struct qenv *e)
{
	size_t i;

	for (i = 0; i < e->n_rcpts; i++) {
		struct qrcpt *r = &e->rcpts[i];

		if (r->state != QRCPT_FAILED || queue_notify_wants(r, "FAILURE"))
			continue;
		r->state = QRCPT_BOUNCED;
		tracklog_add(d->track, &(struct track_event){
		    .event = "not-notified", .qid = e->qid, .from = e->sender,
		    .to = r->addr, .size = e->size, .status = "failed",
		    .dsn = r->dsn, .reason = "NOTIFY asked for no failure "
		    "notice" });
		d->stats.failed++;
	}
}

/* queue_finish - a finished entry of In/ or Out/: tell the sender about
 * failures, then remove it */
void
queue_finish(struct imc_daemon *d, enum layout_dir dir, struct qenv *e)
{
	char name[QID_SIZE + 16];

	/* A null sender cannot be told: Badmail. So is a notification that
	 * cannot be written. */
	queue_notify_filter(d, e);
	if (qenv_count(e, QRCPT_FAILED) > 0 &&
	    (e->sender[0] == '\0' ||
	    queue_bounce(d, dir, e, BOUNCE_FAILED, 0) == -1))
		queue_badmail(d, dir, e);
	/* The .env goes first: an .eml without one is an orphan that
	 * recovery removes; the reverse would look like a torn entry. */
	queue_name(name, sizeof(name), e->qid, QFILE_ENV);
	if (unlinkat(d->dir[dir], name, 0) == -1 && errno != ENOENT)
		log_warn("%s/%s", layout_name(dir), name);
	queue_name(name, sizeof(name), e->qid, QFILE_EML);
	if (unlinkat(d->dir[dir], name, 0) == -1 && errno != ENOENT)
		log_warn("%s/%s", layout_name(dir), name);
}

/* queue_report_failed - tell the sender now about recipients that failed
 * for good while others are still pending; they become BOUNCED so the
 * final notification does not list them again */
void
queue_report_failed(struct imc_daemon *d, enum layout_dir dir, struct qenv *e)
{
	size_t i;

	queue_notify_filter(d, e);
	if (qenv_count(e, QRCPT_FAILED) == 0)
		return;
	if (e->sender[0] == '\0' ||
	    queue_bounce(d, dir, e, BOUNCE_FAILED, 0) == -1)
		queue_badmail(d, dir, e);
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_FAILED)
			e->rcpts[i].state = QRCPT_BOUNCED;
}

/* queue_delay_notice - tell the sender that pending recipients are still
 * being retried (one notice per message); -1 if it could not be queued */
int
queue_delay_notice(struct imc_daemon *d, enum layout_dir dir,
    const struct qenv *e, time_t retry_until)
{
	size_t i;

	if (e->sender[0] == '\0')
		return 0;	/* nobody to tell */
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == QRCPT_PENDING &&
		    queue_notify_wants(&e->rcpts[i], "DELAY"))
			break;
	if (i == e->n_rcpts)
		return 0;	/* NOTIFY asked for no delay notice */
	return queue_bounce(d, dir, e, BOUNCE_DELAYED, retry_until);
}

/* queue_settle - after the barrier: drop a finished entry, else reschedule */
void
queue_settle(struct imc_daemon *d, struct qenv *e)
{
	queue_expire(d, e, time(NULL));
	if (qenv_count(e, QRCPT_PENDING) > 0)
		queue_defer(d, e);
	else
		queue_finish(d, LAYOUT_IN, e);
}

/*
 * queue_commit - finish a batch of accepted messages. Barrier 1 makes the
 * queue files durable; then the store gets hard links of the (now durable)
 * content and deferrals get their .env; barrier 2 makes those durable; only
 * then are the Work files dropped and the finished In/ entries removed. A
 * crash before the Work files go redoes the batch with the same queue ids
 * and store names, so nothing is lost or delivered twice.
 */
int
queue_commit(struct imc_daemon *d, struct accepted *a, size_t n,
    bool recovering)
{
	time_t now = time(NULL);
	bool any_in = false;
	size_t i;

	if (n == 0)
		return 0;
	if (queue_barrier(d) == -1)
		return -1;	/* Work files stay: the caller holds them */
	for (i = 0; i < n; i++) {
		if (!a[i].has_in)
			continue;
		any_in = true;
		(void)queue_deliver(d, &a[i].in, recovering);
		queue_expire(d, &a[i].in, now);
		if (qenv_count(&a[i].in, QRCPT_PENDING) > 0)
			queue_defer(d, &a[i].in);
	}
	/* The batch's log lines reach the file before any Work file goes: a
	 * crash after this point may log an event twice (when the batch is
	 * redone) but never loses one. */
	tracklog_flush(d->track);
	if (any_in && queue_barrier(d) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		queue_release_work(d, a[i].qid);
		/* At start-up recovery runs before the Out/ queue exists;
		 * outq_load then finds these entries on disk. */
		if (a[i].has_out && d->outq != NULL)
			(void)outq_add(d->outq, a[i].qid);
	}
	for (i = 0; i < n; i++)
		if (a[i].has_in && qenv_count(&a[i].in, QRCPT_PENDING) == 0)
			queue_finish(d, LAYOUT_IN, &a[i].in);
	return 0;
}

/* Move a queue entry that cannot be read into Badmail with a reason. */
void
queue_quarantine(struct imc_daemon *d, enum layout_dir dir, const char *qid,
    const char *why)
{
	char from[QID_SIZE + 16], to[QID_SIZE + 32];
	struct buf text;

	buf_init(&text);
	buf_printf(&text, "Queue id: %s\r\nThe queue entry in %s could not be "
	    "read: ", qid, layout_name(dir));
	log_escape(&text, why, strlen(why));
	buf_printf(&text, "\r\nThe content is in %s.bad, the envelope in "
	    "%s.env.bad.\r\n", qid, qid);
	queue_name(to, sizeof(to), qid, ".bdr");
	(void)safe_atomic_write(d->dir[LAYOUT_BADMAIL], to, text.data, text.len,
	    0600, 1);
	buf_fini(&text);
	queue_name(from, sizeof(from), qid, QFILE_EML);
	queue_name(to, sizeof(to), qid, ".bad");
	(void)renameat(d->dir[dir], from, d->dir[LAYOUT_BADMAIL], to);
	queue_name(from, sizeof(from), qid, QFILE_ENV);
	queue_name(to, sizeof(to), qid, ".env.bad");
	(void)renameat(d->dir[dir], from, d->dir[LAYOUT_BADMAIL], to);
	safe_fsync_dir(d->dir[LAYOUT_BADMAIL]);
	log_warnx("%s: queue entry in %s unreadable (%s); moved to Badmail",
	    qid, layout_name(dir), why);
	tracklog_add(d->track, &(struct track_event){ .event = "badmail",
	    .qid = qid, .status = "badmail", .reason = why });
}

/* Names in a folder that look like "<qid><suffix>". */
static int
queue_list(int dirfd, const char *suffix, char ***out, size_t *n_out)
{
	DIR *dir;
	struct dirent *de;
	size_t sl = strlen(suffix), n = 0, cap = 0;
	char **v = NULL, qid[QID_SIZE];
	int fd;

	*out = NULL;
	*n_out = 0;
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strlen(de->d_name) != QID_LEN + sl ||
		    strcmp(de->d_name + QID_LEN, suffix) != 0)
			continue;
		memcpy(qid, de->d_name, QID_LEN);
		qid[QID_LEN] = '\0';
		if (!qid_valid(qid))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrdup(qid);
	}
	closedir(dir);
	*out = v;
	*n_out = n;
	return 0;
}

static void
queue_free_list(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

/* Remove ".<...>.tmp", ".<...>.conv" and ".<...>.repair" names. */
static void
queue_sweep_temps(struct imc_daemon *d, enum layout_dir dir)
{
	static const char *const ends[] = { ".tmp", ".conv", ".repair" };
	struct dirent *de;
	DIR *dh;
	size_t i, len, el;
	int fd;

	if ((fd = openat(d->dir[dir], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dh = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] != '.' || de->d_type == DT_DIR)
			continue;
		len = strlen(de->d_name);
		for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
			el = strlen(ends[i]);
			if (len > el + 1 &&
			    strcmp(de->d_name + len - el, ends[i]) == 0) {
				(void)unlinkat(d->dir[dir], de->d_name, 0);
				break;
			}
		}
	}
	closedir(dh);
}

/* queue_recover - redo what a crash interrupted (at start-up) */
int
queue_recover(struct imc_daemon *d)
{
	char **names;
	size_t n, i;
	char name[QID_SIZE + 16];

	/* 1. Work files: the intake did not finish; take them again. */
	if (queue_list(d->dir[LAYOUT_WORK], "", &names, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		log_info("%s: redoing an interrupted intake", names[i]);
		(void)queue_take_work(d, names[i], names[i], true);
	}
	queue_free_list(names, n);

	/* 2. Temp names a crash left (atomic writes, converted store
	 * copies): only this process writes them, under the lock. */
	queue_sweep_temps(d, LAYOUT_IN);
	queue_sweep_temps(d, LAYOUT_OUT);

	/* Orphan .eml files (their .env was removed first): finished. */
	if (queue_list(d->dir[LAYOUT_IN], QFILE_EML, &names, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		queue_name(name, sizeof(name), names[i], QFILE_ENV);
		if (faccessat(d->dir[LAYOUT_IN], name, F_OK, AT_SYMLINK_NOFOLLOW)
		    == -1 && errno == ENOENT) {
			queue_name(name, sizeof(name), names[i], QFILE_EML);
			unlinkat(d->dir[LAYOUT_IN], name, 0);
		}
	}
	queue_free_list(names, n);
	tracklog_flush(d->track);

	/* 3. Every In/ entry is tried now, in recovery mode. */
	(void)queue_run_in(d, true, true);
	return 0;
}

/* queue_run_in - deliver due In/ entries (all of them when all; in
 * recovery mode the store checks for copies a crash left) */
size_t
queue_run_in(struct imc_daemon *d, bool all, bool recovering)
{
	char **names;
	size_t n, i, tried = 0, delivered = 0, j;
	struct qenv *envs;
	struct buf err;
	time_t now = time(NULL);

	if (queue_list(d->dir[LAYOUT_IN], QFILE_ENV, &names, &n) == -1) {
		log_warn("cannot list In");
		return 0;
	}
	if (n == 0) {
		free(names);
		return 0;
	}
	envs = xcalloc(n, sizeof(*envs));
	buf_init(&err);
	for (i = 0; i < n; i++) {
		buf_reset(&err);
		if (qenv_load(d->dir[LAYOUT_IN], names[i], &envs[i], &err) == -1) {
			queue_quarantine(d, LAYOUT_IN, names[i], buf_cstr(&err));
			continue;
		}
		if (!all && envs[i].next_try > now) {
			qenv_free(&envs[i]);
			continue;
		}
		tried++;
		delivered += queue_deliver(d, &envs[i], recovering);
	}
	if (delivered > 0)
		queue_barrier(d);
	for (j = 0; j < n; j++)
		if (envs[j].n_rcpts > 0) {
			queue_settle(d, &envs[j]);
			qenv_free(&envs[j]);
		}
	tracklog_flush(d->track);
	buf_fini(&err);
	free(envs);
	queue_free_list(names, n);
	return tried;
}

/* ------------------------------------------------------ held Work files */

/* A Work file that could not be queued (a full disk, a folder removed
 * under the daemon) is tried again by the running daemon, 1 s, 2 s, 4 s
 * ... at most QUEUE_HOLD_MAX_WAIT apart: it never waits for a restart. */
#define QUEUE_HOLD_MAX_WAIT	300

static int64_t
queue_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* queue_hold_work - remember a Work file to try again, and say so */
void
queue_hold_work(struct imc_daemon *d, const char *qid, const char *origname,
    const char *why)
{
	struct held_work *h = NULL;
	unsigned wait;
	size_t i;
	char text[512];

	for (i = 0; i < d->n_held; i++)
		if (strcmp(d->held[i].qid, qid) == 0) {
			h = &d->held[i];
			break;
		}
	if (h == NULL) {
		if (d->n_held == d->cap_held) {
			size_t cap = d->cap_held ? d->cap_held * 2 : 16;

			d->held = xreallocarray(d->held, cap, sizeof(*d->held));
			d->cap_held = cap;
		}
		h = &d->held[d->n_held++];
		memset(h, 0, sizeof(*h));
		memcpy(h->qid, qid, QID_SIZE);
		h->origname = xstrdup(origname ? origname : qid);
	}
	wait = h->tries >= 9 ? QUEUE_HOLD_MAX_WAIT : 1u << h->tries;
	if (wait > QUEUE_HOLD_MAX_WAIT)
		wait = QUEUE_HOLD_MAX_WAIT;
	h->tries++;
	h->due_ms = queue_now_ms() + (int64_t)wait * 1000;
	snprintf(text, sizeof(text), "%s; kept in Work, tried again in %us",
	    why, wait);
	log_warnx("%s: %s: %s", qid, h->origname, text);
	tracklog_add(d->track, &(struct track_event){ .event = "held",
	    .qid = qid, .orig = h->origname, .status = "work",
	    .reason = text });
	tracklog_flush(d->track);
}

/* queue_held_ms - milliseconds until a held Work file is due (-1: none) */
int64_t
queue_held_ms(const struct imc_daemon *d)
{
	int64_t best = -1, now = queue_now_ms();
	size_t i;

	for (i = 0; i < d->n_held; i++)
		if (best == -1 || d->held[i].due_ms < best)
			best = d->held[i].due_ms;
	if (best == -1)
		return -1;
	return best <= now ? 0 : best - now;
}

/* A queue folder removed while the daemon runs leaves it a descriptor of
 * a deleted folder: make the folder again and put it in place under the
 * same descriptor number, which every module holds. */
static void
queue_reopen_deleted(struct imc_daemon *d)
{
	struct layout_want want;
	struct buf err;
	struct stat st;
	int i, fd;

	buf_init(&err);
	for (i = LAYOUT_ROOT + 1; i < LAYOUT_NDIRS; i++) {
		if (d->dir[i] == -1 || fstat(d->dir[i], &st) == -1 ||
		    st.st_nlink > 0)
			continue;
		buf_reset(&err);
		if (layout_want_from_config(&d->cfg, &want, &err) == -1 ||
		    (mkdirat(d->dir[LAYOUT_ROOT], layout_name(i),
		    layout_mode(i, &want)) == -1 && errno != EEXIST) ||
		    (fd = safe_open_dir(d->dir[LAYOUT_ROOT], layout_name(i))) ==
		    -1) {
			log_warn("%s was removed and cannot be made again",
			    layout_name(i));
			continue;
		}
		if (dup2(fd, d->dir[i]) == -1)
			log_warn("%s: dup2", layout_name(i));
		else
			log_warnx("%s was removed while the connector ran; "
			    "made again", layout_name(i));
		close(fd);
	}
	buf_fini(&err);
}

static ssize_t
queue_held_find(const struct imc_daemon *d, const char *qid)
{
	size_t i;

	for (i = 0; i < d->n_held; i++)
		if (strcmp(d->held[i].qid, qid) == 0)
			return (ssize_t)i;
	return -1;
}

/* queue_retry_held - try the due held Work files again */
size_t
queue_retry_held(struct imc_daemon *d)
{
	int64_t now = queue_now_ms();
	char (*due)[QID_SIZE];
	size_t i, n = 0;
	ssize_t k;
	enum accept_result r;
	char *origname;

	if (d->n_held == 0)
		return 0;
	/* The due ones first: a retry may hold new files (a notification). */
	due = xcalloc(d->n_held, sizeof(*due));
	for (i = 0; i < d->n_held; i++)
		if (d->held[i].due_ms <= now)
			memcpy(due[n++], d->held[i].qid, QID_SIZE);
	if (n > 0)
		queue_reopen_deleted(d);
	for (i = 0; i < n; i++) {
		if ((k = queue_held_find(d, due[i])) == -1)
			continue;
		origname = xstrdup(d->held[k].origname);
		log_info("%s: trying the held Work file again", due[i]);
		r = queue_take_work(d, due[i], origname, true);
		if ((k = queue_held_find(d, due[i])) != -1) {
			if (r != ACCEPT_FAILED) {
				free(d->held[k].origname);
				d->held[k] = d->held[--d->n_held];
			} else if (d->held[k].due_ms <= now)
				queue_hold_work(d, due[i], origname,
				    "still cannot be queued");
		}
		free(origname);
	}
	free(due);
	tracklog_flush(d->track);
	return n;
}

void
queue_held_free(struct imc_daemon *d)
{
	size_t i;

	for (i = 0; i < d->n_held; i++)
		free(d->held[i].origname);
	free(d->held);
	d->held = NULL;
	d->n_held = d->cap_held = 0;
}
