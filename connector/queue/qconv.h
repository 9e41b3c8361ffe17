/*
 * qconv - charset repair and conversion of queue copies (repair.h does
 * the work; config_delivery_conv says what a domain wants).
 *
 * At intake each copy is repaired: the Out/ copy keeps its charsets
 * (qconv_keep: SMTP converts per destination), the In/ copy gets its
 * base conversion: the one all its recipients' domains share, or none
 * when they differ (qconv_base, derived from the recipient list alone, so
 * intake and every later delivery agree). A recipient whose domain wants
 * something else than the base gets its own copy at delivery
 * (qconv_store_copy). A copy that repair made too big fails its
 * recipients 5.3.4 (qconv_check_grown) instead of being cut.
 */
#ifndef IMC_QCONV_H
#define IMC_QCONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "layout.h"

struct qctx;
struct qenv;

extern const struct delivery_conv qconv_keep;

struct qconv_base {
	struct delivery_conv conv;
	bool	 any;
};

void	qconv_base_init(struct qconv_base *);
void	qconv_base_add(const struct qctx *, struct qconv_base *, const char *rcpt);
/* Repair dir/<qid>.eml in place (a new file renamed over it when
 * something changes); in_fd: the copy open for reading, or -1; *size is
 * its size, and gets the new size then. */
int	qconv_repair(const struct qctx *, enum layout_dir, const char *qid,
	    int in_fd, const char *sender, const struct delivery_conv *,
	    uint64_t *size);
/* before: the copy's size before repair; original: the file's size. */
void	qconv_check_grown(const struct qctx *, enum layout_dir, struct qenv *,
	    uint64_t before, uint64_t original);
/* A copy of In/<qid>.eml converted for conv: In/.<qid>.<k>.conv, or the
 * entry's own content when nothing changes; its name into out. */
int	qconv_store_copy(const struct qctx *, const struct qenv *,
	    const struct delivery_conv *, unsigned k, char *out, size_t size);

#endif
