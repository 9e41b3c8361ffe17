/*
 * qconv - charset repair and conversion of queue copies (see qconv.h).
 */
#include "qconv.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "qctx.h"
#include "qentry.h"
#include "qfile.h"
#include "repair.h"
#include "tracklog.h"

/* Messages below this size are repaired in memory. */
#define QCONV_IN_MEMORY	(4 * 1024 * 1024)

const struct delivery_conv qconv_keep = { "preserve", false };

void
qconv_base_init(struct qconv_base *b)
{
	b->conv = qconv_keep;
	b->any = false;
}

void
qconv_base_add(const struct qctx *q, struct qconv_base *b, const char *rcpt)
{
	struct delivery_conv c;

	config_delivery_conv(q->cfg, addr_domain(rcpt), DELIVERY_STORE, &c);
	if (!b->any)
		b->conv = c;
	else if (!config_delivery_conv_eq(&b->conv, &c))
		b->conv = qconv_keep;
	b->any = true;
}

/* A memfd for small messages, else an unnamed file in the folder: most
 * copies need no change, and creating a named file is the dearest step
 * of the intake. */
static int
qconv_scratch(int dirfd, off_t size)
{
	return size < QCONV_IN_MEMORY ? memfd_create("qconv", MFD_CLOEXEC) :
	    openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

/* The output file, made only once repair has found something to change. */
struct qconv_out {
	int	 dirfd;
	off_t	 size;
	int	 fd;
};

static int
qconv_open_out(void *arg)
{
	struct qconv_out *o = arg;

	return o->fd = qconv_scratch(o->dirfd, o->size);
}

static void
qconv_opts(const struct qctx *q, const char *sender,
    const struct delivery_conv *to, struct repair_opts *opts)
{
	struct imc_charset_conf from;

	config_charset_for(q->cfg, addr_domain(sender), &from);
	memset(opts, 0, sizeof(*opts));
	opts->legacy_charset = from.legacy_charset;
	opts->target = to->charset;
	opts->seven_bit = to->seven_bit;
}

/* qconv_repair - repair one queue copy in place; in_fd: the copy, open
 * for reading (-1: opened here), *size its size */
int
qconv_repair(const struct qctx *q, enum layout_dir dir, const char *qid,
    int in_fd, const char *sender, const struct delivery_conv *to,
    uint64_t *size)
{
	struct repair_opts opts;
	struct repair_report rep;
	enum repair_result rr;
	struct qconv_out out = { q->dir[dir], (off_t)*size, -1 };
	char name[QID_SIZE + 16], tmp[QID_SIZE + 24];
	int in = in_fd;

	qconv_opts(q, sender, to, &opts);
	opts.lf = dir == LAYOUT_IN;	/* the store's copy: LF (batch.c) */
	opts.open_out = qconv_open_out;
	opts.open_arg = &out;
	qentry_name(name, sizeof(name), qid, QFILE_EML);
	qfile_repair_tmp(tmp, sizeof(tmp), qid);
	if (in == -1 && (in = openat(q->dir[dir], name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	repair_report_init(&rep);
	rr = repair_message(in, -1, &opts, &rep);
	if (in_fd == -1)
		close(in);
	if (rr == REPAIR_CHANGED && qentry_publish(q->dir[dir], out.fd,
	    out.size < QCONV_IN_MEMORY, tmp, name, size) == -1)
		rr = REPAIR_ERROR;
	if (out.fd != -1)
		close(out.fd);
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
		tracklog_add(q->track, &(struct track_event){
		    .event = "repaired", .qid = qid, .from = sender,
		    .size = *size, .status = layout_name(dir),
		    .reason = buf_cstr(&rep.explain) });
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
void
qconv_check_grown(const struct qctx *q, enum layout_dir dir, struct qenv *e,
    uint64_t before, uint64_t original)
{
	uint64_t grown = e->size > before ? e->size - before : 0;
	char text[256];
	size_t i;

	if (grown == 0 || original + grown <= q->cfg->max_message_size)
		return;
	snprintf(text, sizeof(text), "message too big after charset repair: "
	    "%llu bytes in %s/ (%llu bytes as written), over max_message_size "
	    "(%llu)", (unsigned long long)e->size, layout_name(dir),
	    (unsigned long long)original,
	    (unsigned long long)q->cfg->max_message_size);
	for (i = 0; i < e->n_rcpts; i++) {
		e->rcpts[i].state = QRCPT_FAILED;
		snprintf(e->rcpts[i].dsn, sizeof(e->rcpts[i].dsn), "5.3.4");
		qenv_set(&e->rcpts[i].text, text);
	}
	log_warnx("%s: %s", e->qid, text);
}

/* qconv_store_copy - a copy for a recipient whose domain wants another
 * conversion than the entry's base; linked into its mailbox and removed
 * after the delivery */
int
qconv_store_copy(const struct qctx *q, const struct qenv *e,
    const struct delivery_conv *conv, unsigned k, char *out, size_t size)
{
	struct repair_opts opts;
	struct repair_report rep;
	enum repair_result rr;
	char eml[QID_SIZE + 16], tmp[QID_SIZE + 32];
	struct qconv_out copy;
	struct stat st;
	uint64_t written;
	int in;

	qentry_name(eml, sizeof(eml), e->qid, QFILE_EML);
	qconv_opts(q, e->sender, conv, &opts);
	opts.lf = true;
	if ((in = openat(q->dir[LAYOUT_IN], eml, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(in, &st) == -1) {
		if (in != -1)
			close(in);
		return -1;
	}
	copy.dirfd = q->dir[LAYOUT_IN];
	copy.size = st.st_size;
	copy.fd = -1;
	opts.open_out = qconv_open_out;
	opts.open_arg = &copy;
	repair_report_init(&rep);
	rr = repair_message(in, -1, &opts, &rep);
	repair_report_fini(&rep);
	close(in);
	snprintf(out, size, "%s", eml);
	if (rr == REPAIR_CHANGED) {
		qfile_conv_name(out, size, e->qid, k);
		qfile_conv_tmp(tmp, sizeof(tmp), e->qid, k);
		if (qentry_publish(q->dir[LAYOUT_IN], copy.fd,
		    st.st_size < QCONV_IN_MEMORY, tmp, out, &written) == -1)
			rr = REPAIR_ERROR;
	}
	if (copy.fd != -1)
		close(copy.fd);
	return rr == REPAIR_ERROR ? -1 : 0;
}
