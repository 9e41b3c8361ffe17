/*
 * handoff - the store handoff of one In/ entry (see handoff.h).
 */
#include "handoff.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "addr.h"
#include "qconv.h"
#include "qctx.h"
#include "qentry.h"
#include "qfile.h"
#include "store_drop.h"
#include "store_maildir.h"
#include "tracklog.h"
#include "xalloc.h"

#define HANDOFF_MAX_CONVS	8	/* distinct conversions in one entry */

/* The recipients of one entry that share a Drop file: same conversion. */
struct handoff_drop {
	const char	*src;		/* the copy, in In/ */
	struct delivery_conv conv;
	size_t		 k;		/* drop_name's k */
	size_t		*idx;		/* envelope indexes */
	size_t		 n;
};

/* handoff_record - one recipient's result into the envelope and the log
 * (size: of the file the store holds); 1 when it was delivered */
static size_t
handoff_record(const struct qctx *q, struct qenv *e, struct qrcpt *r,
    const struct mail_status *st, const char *relay, uint64_t size)
{
	snprintf(r->dsn, sizeof(r->dsn), "%s", st->dsn);
	free(r->text);
	r->text = xstrdup(st->text);
	if (st->kind == MAIL_OK)
		r->state = QRCPT_DONE;
	else if (st->kind == MAIL_PERM)
		r->state = QRCPT_FAILED;
	/* MAIL_TEMP: stays pending; the batch records the try */
	tracklog_add(q->track, &(struct track_event){
	    .event = st->kind == MAIL_OK ? "delivered" :
	    st->kind == MAIL_PERM ? "failed" : "deferred",
	    .qid = e->qid, .from = e->sender, .to = r->addr,
	    .size = size, .status = st->kind == MAIL_OK ? "sent" :
	    st->kind == MAIL_PERM ? "failed" : "deferred",
	    .dsn = st->dsn, .relay = relay,
	    .reason = st->kind == MAIL_OK ? NULL : st->text });
	if (st->kind == MAIL_OK)
		q->stats->delivered++;
	else if (st->kind == MAIL_TEMP)
		q->stats->deferred++;
	return st->kind == MAIL_OK ? 1 : 0;
}

/*
 * handoff_drop_k - the k of the Drop file for the recipients of e that
 * take conversion conv: 0 for the file that holds the envelope's first
 * Drop recipient, else the index of its own first recipient. Counted over
 * every recipient whatever its state, so a retry of the ones left names
 * their file as the first try did.
 */
static size_t
handoff_drop_k(const struct qctx *q, const struct qenv *e,
    const struct delivery_conv *conv)
{
	struct delivery_conv c;
	const char *dom;
	size_t i, first = SIZE_MAX;

	for (i = 0; i < e->n_rcpts; i++) {
		dom = addr_domain(e->rcpts[i].addr);
		if (dom == NULL || config_store_for(q->cfg, dom)->kind !=
		    STORE_DROP)
			continue;
		if (first == SIZE_MAX)
			first = i;
		config_delivery_conv(q->cfg, dom, DELIVERY_STORE, &c);
		if (config_delivery_conv_eq(&c, conv))
			return i == first ? 0 : i;
	}
	return 0;
}

/* handoff_deliver - hand pending recipients of an In/ entry to the store */
size_t
handoff_deliver(const struct qctx *q, struct qenv *e, bool recovering)
{
	char eml[QID_SIZE + 16], unique[QID_SIZE + 32], name[512];
	struct {
		struct delivery_conv conv;
		char	 src[QID_SIZE + 32];
		bool	 ok;
	} copies[HANDOFF_MAX_CONVS];
	struct handoff_drop drops[HANDOFF_MAX_CONVS];
	struct delivery_conv conv;
	struct qconv_base base;
	struct mail_status st;
	struct qrcpt *r;
	const struct store_target *store;
	const char *src, **addrs;
	size_t i, j, k, n = 0, n_copies = 0, n_drops = 0;
	uint64_t size;
	struct stat sb;

	qentry_name(eml, sizeof(eml), e->qid, QFILE_EML);
	qconv_base_init(&base);
	for (i = 0; i < e->n_rcpts; i++)
		qconv_base_add(q, &base, e->rcpts[i].addr);
	for (i = 0; i < e->n_rcpts; i++) {
		r = &e->rcpts[i];
		if (r->state != QRCPT_PENDING)
			continue;
		src = eml;
		config_delivery_conv(q->cfg, addr_domain(r->addr),
		    DELIVERY_STORE, &conv);
		if (!config_delivery_conv_eq(&conv, &base.conv)) {
			for (k = 0; k < n_copies; k++)
				if (config_delivery_conv_eq(&copies[k].conv,
				    &conv))
					break;
			if (k == n_copies && n_copies < HANDOFF_MAX_CONVS) {
				copies[k].conv = conv;
				copies[k].ok = qconv_store_copy(q, e, &conv,
				    (unsigned)k, copies[k].src,
				    sizeof(copies[k].src)) == 0;
				n_copies++;
			}
			src = k < n_copies && copies[k].ok ? copies[k].src :
			    NULL;
		}
		store = config_store_for(q->cfg, addr_domain(r->addr));
		if (src != NULL && store->kind == STORE_DROP) {
			/* delivered below, one file per conversion */
			for (k = 0; k < n_drops; k++)
				if (config_delivery_conv_eq(&drops[k].conv,
				    &conv))
					break;
			if (k < HANDOFF_MAX_CONVS) {
				if (k == n_drops) {
					drops[k] = (struct handoff_drop){
					    .src = src, .conv = conv,
					    .k = handoff_drop_k(q, e, &conv),
					    .idx = xcalloc(e->n_rcpts,
					    sizeof(size_t)) };
					n_drops++;
				}
				drops[k].idx[drops[k].n++] = i;
				continue;
			}
		}
		snprintf(unique, sizeof(unique), "Q%s_%zu", e->qid, i);
		if (src == NULL)
			mail_status_set(&st, MAIL_TEMP, "4.3.0", "cannot convert "
			    "the message to %s%s for this mailbox",
			    conv.charset, conv.seven_bit ? " (7bit)" : "");
		else if (store->kind == STORE_DROP)
			mail_status_set(&st, MAIL_TEMP, "4.3.0", "more than %d "
			    "conversions of one message for Drop/",
			    HANDOFF_MAX_CONVS);
		else if (store->kind != STORE_MAILDIR)
			/* queued while its domain had another store: LMTP
			 * mail travels through Out/ */
			mail_status_set(&st, MAIL_TEMP, "4.3.5", "the store of "
			    "this domain changed since the message was queued; "
			    "kept in In/");
		else if (maildir_name(q->store, (long long)e->arrival, unique,
		    name, sizeof(name)) == -1)
			mail_status_set(&st, MAIL_TEMP, "4.3.0", "name too long");
		else
			(void)maildir_deliver(q->store, q->dir[LAYOUT_IN], src,
			    r->addr, name, recovering, &st);
		/* the mailbox holds the copy: a converted one has its own
		 * size */
		size = e->size;
		if (src != NULL && src != eml && fstatat(q->dir[LAYOUT_IN], src,
		    &sb, AT_SYMLINK_NOFOLLOW) == 0)
			size = (uint64_t)sb.st_size;
		n += handoff_record(q, e, r, &st, store->kind == STORE_DROP ?
		    "drop" : "maildir", size);
	}
	for (k = 0; k < n_drops; k++) {
		addrs = xcalloc(drops[k].n, sizeof(*addrs));
		for (j = 0; j < drops[k].n; j++)
			addrs[j] = e->rcpts[drops[k].idx[j]].addr;
		size = e->size;
		if (drop_name(name, sizeof(name), e->qid, drops[k].k) == -1)
			mail_status_set(&st, MAIL_TEMP, "4.3.0", "name too long");
		else
			/* A redo after a crash finds its earlier file; one a
			 * reader took in the moment between the publication
			 * and the crash is written again (README). */
			(void)drop_deliver(q->dir[LAYOUT_DROP],
			    q->dir[LAYOUT_IN], drops[k].src, e->sender, addrs,
			    drops[k].n, name, &size, &st);
		for (j = 0; j < drops[k].n; j++)
			n += handoff_record(q, e, &e->rcpts[drops[k].idx[j]],
			    &st, "drop", size != 0 ? size : e->size);
		free(addrs);
		free(drops[k].idx);
	}
	/* The mailboxes and Drop/ hold their own links; the converted
	 * names go. */
	for (k = 0; k < n_copies; k++)
		if (copies[k].ok && copies[k].src[0] == '.')
			(void)unlinkat(q->dir[LAYOUT_IN], copies[k].src, 0);
	return n;
}
