/*
 * handoff - the store handoff of one In/ entry (see handoff.h).
 */
#include "handoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "addr.h"
#include "qconv.h"
#include "qctx.h"
#include "qentry.h"
#include "qfile.h"
#include "store_maildir.h"
#include "tracklog.h"
#include "xalloc.h"

#define HANDOFF_MAX_CONVS	8	/* distinct conversions in one entry */

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
	struct delivery_conv conv;
	struct qconv_base base;
	struct mail_status st;
	struct qrcpt *r;
	const char *src;
	size_t i, k, n = 0, n_copies = 0;

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
		snprintf(unique, sizeof(unique), "Q%s_%zu", e->qid, i);
		if (src == NULL)
			mail_status_set(&st, MAIL_TEMP, "4.3.0", "cannot convert "
			    "the message to %s%s for this mailbox",
			    conv.charset, conv.seven_bit ? " (7bit)" : "");
		else if (maildir_name(q->store, (long long)e->arrival, unique,
		    name, sizeof(name)) == -1)
			mail_status_set(&st, MAIL_TEMP, "4.3.0", "name too long");
		else
			(void)maildir_deliver(q->store, q->dir[LAYOUT_IN], src,
			    r->addr, name, recovering, &st);
		snprintf(r->dsn, sizeof(r->dsn), "%s", st.dsn);
		free(r->text);
		r->text = xstrdup(st.text);
		if (st.kind == MAIL_OK) {
			r->state = QRCPT_DONE;
			n++;
		} else if (st.kind == MAIL_PERM)
			r->state = QRCPT_FAILED;
		/* MAIL_TEMP: stays pending; the batch records the try */
		tracklog_add(q->track, &(struct track_event){
		    .event = st.kind == MAIL_OK ? "delivered" :
		    st.kind == MAIL_PERM ? "failed" : "deferred",
		    .qid = e->qid, .from = e->sender, .to = r->addr,
		    .size = e->size, .status = st.kind == MAIL_OK ? "sent" :
		    st.kind == MAIL_PERM ? "failed" : "deferred",
		    .dsn = st.dsn, .relay = "maildir",
		    .reason = st.kind == MAIL_OK ? NULL : st.text });
		if (st.kind == MAIL_OK)
			q->stats->delivered++;
		else if (st.kind == MAIL_TEMP)
			q->stats->deferred++;
		q->stats->by_dest[QSTAT_STORE][st.kind]++;
	}
	/* The mailboxes hold their own links; the converted names go. */
	for (k = 0; k < n_copies; k++)
		if (copies[k].ok && copies[k].src[0] == '.')
			(void)unlinkat(q->dir[LAYOUT_IN], copies[k].src, 0);
	return n;
}
