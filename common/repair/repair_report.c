/*
 * repair_report - the report of a run (see repair.h, struct
 * repair_report): one line per finding and change, "part 1.2 text/plain:
 * ...", written during pass 1 only, so a message is reported once though
 * it is read twice. The counters are kept where the findings are made.
 * The text is the caller's, released by repair_report_fini.
 */
#include "repair_int.h"

#include <errno.h>

/* repair_report_init - an empty report */
void
repair_report_init(struct repair_report *r)
{
	buf_init(&r->explain);
	r->changes = r->undecodable = r->kept_utf8 = 0;
}

/* repair_report_fini - release the report's text */
void
repair_report_fini(struct repair_report *r)
{
	if (r != NULL)
		buf_fini(&r->explain);
}

/* rp_path - "1.2.3" for the part at depth d */
static int
rp_path(const struct rp_state *st, unsigned d, struct buf *out)
{
	unsigned i;

	if (buf_puts(out, "part 1") == -1)
		return -1;
	for (i = 1; i <= d && i < RP_DEPTHS; i++)
		if (buf_printf(out, ".%u", st->lv[i].num) == -1)
			return -1;
	return 0;
}

/* repair_report_explain - one report line about the part at depth d
 * (pass 1 only) */
void
repair_report_explain(struct rp_state *st, const struct mime_part *mp,
    unsigned d, const char *what, const char *detail)
{
	struct buf *e = &st->rep->explain;

	if (st->pass != 1)
		return;
	if (rp_path(st, d, e) == -1 || (mp != NULL && buf_printf(e,
	    " %s/%s", mp->type, mp->subtype) == -1) ||
	    buf_printf(e, ": %s%s%s\n", what, detail != NULL &&
	    detail[0] != ';' ? " " : "", detail != NULL ? detail : "") == -1)
		(void)repair_fail(st, ENOMEM);
}
