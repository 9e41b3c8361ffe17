/*
 * repair_html - the <meta> charset of an HTML part (see repair_int.h).
 *
 * A converted HTML part that still says <meta charset="windows-1251"> or
 * <meta http-equiv="Content-Type" content="text/html; charset=koi8-r">
 * makes a browser show mojibake where a mail reader, which follows the
 * MIME label, shows the text. While its head is written, the converted
 * text is held (up to "</head", "<body" or RP_HTML_HOLD octets, whichever
 * comes first: a <meta> later than that is not one browsers honour), every
 * charset named by a <meta> tag in it is set to the label written, and
 * the text is passed on; after that the part streams as before. The held
 * text is in the output charset, which keeps ASCII as ASCII for every
 * label written here (UTF-8, the legacy charsets, ISO-2022-JP outside its
 * escapes), so the tags are found by their ASCII bytes.
 */
#include "repair_int.h"

#include <string.h>
#include <strings.h>

#define RP_HTML_HOLD	8192

/* rp_ci_find - case-insensitive search for an ASCII word */
static const char *
rp_ci_find(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w), i;

	for (i = 0; wl <= n && i <= n - wl; i++)
		if (strncasecmp(s + i, w, wl) == 0)
			return s + i;
	return NULL;
}

/* rp_html_set - the held head with every <meta> charset set to label */
static int
rp_html_set(const char *s, size_t n, const char *label, struct buf *out,
    int *changed)
{
	const char *p = s, *end = s + n, *tag, *gt, *cs, *v, *ve;

	while ((tag = rp_ci_find(p, (size_t)(end - p), "<meta")) != NULL) {
		gt = memchr(tag, '>', (size_t)(end - tag));
		if (gt == NULL)
			break;
		cs = rp_ci_find(tag, (size_t)(gt - tag), "charset");
		if (cs == NULL) {
			if (buf_append(out, p, (size_t)(gt - p)) == -1)
				return -1;
			p = gt;
			continue;
		}
		for (v = cs + 7; v < gt && (*v == ' ' || *v == '\t'); v++)
			;
		if (v >= gt || *v != '=') {
			if (buf_append(out, p, (size_t)(gt - p)) == -1)
				return -1;
			p = gt;
			continue;
		}
		for (v++; v < gt && (*v == ' ' || *v == '\t' || *v == '"' ||
		    *v == '\''); v++)
			;
		for (ve = v; ve < gt && *ve != '"' && *ve != '\'' &&
		    *ve != ';' && *ve != ' ' && *ve != '\t' && *ve != '/' &&
		    *ve != '\r' && *ve != '\n'; ve++)
			;
		if ((size_t)(ve - v) != strlen(label) ||
		    strncasecmp(v, label, (size_t)(ve - v)) != 0)
			*changed = 1;
		if (buf_append(out, p, (size_t)(v - p)) == -1 ||
		    buf_puts(out, label) == -1)
			return -1;
		p = ve;
	}
	return buf_append(out, p, (size_t)(end - p));
}

/* repair_html_start - pass 2: hold the head of a converted HTML part */
void
repair_html_start(struct rp_emit *em, const struct mime_part *mp,
    const struct rp_plan *pl)
{
	em->html_label = NULL;
	buf_reset(&em->hold);
	/* a part passed on with a new label is written as it came, in
	 * 7bit or 8bit: its bytes can be edited too */
	if ((pl->action == RP_CONVERT || (pl->action == RP_PASS &&
	    (pl->in_cte == CODEC_CTE_7BIT || pl->in_cte == CODEC_CTE_8BIT))) &&
	    pl->label != NULL && strcasecmp(mp->type, "text") == 0 &&
	    strcasecmp(mp->subtype, "html") == 0)
		em->html_label = pl->label;
}

/*
 * repair_html_filter - pass 2: the converted text of a chunk goes through
 * here; *text is what to write now (possibly nothing while the head is
 * held). -1 only when a size overflows.
 */
int
repair_html_filter(struct rp_emit *em, struct buf **text, int fin)
{
	struct buf *t = *text;
	int changed = 0;

	if (em->html_label == NULL)
		return 0;
	if (buf_append(&em->hold, t->data ? t->data : "", t->len) == -1)
		return -1;
	if (!fin && em->hold.len < RP_HTML_HOLD &&
	    rp_ci_find(em->hold.data, em->hold.len, "</head") == NULL &&
	    rp_ci_find(em->hold.data, em->hold.len, "<body") == NULL) {
		buf_reset(t);		/* held */
		return 0;
	}
	buf_reset(t);
	if (rp_html_set(em->hold.data, em->hold.len, em->html_label, t,
	    &changed) == -1)
		return -1;
	em->html_label = NULL;		/* the rest streams */
	buf_reset(&em->hold);
	return 0;
}
