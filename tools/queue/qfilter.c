/*
 * qfilter - which entries imc-queue list shows (see qfilter.h).
 */
#include "qfilter.h"

#include <string.h>
#include <strings.h>

#include "addr.h"
#include "conf.h"

void
qfilter_init(struct qfilter *f)
{
	memset(f, 0, sizeof(*f));
	f->older_than = -1;
}

/* qfilter_set_age - the configuration's duration syntax, so an admin
 * writes ages the way the configuration does */
int
qfilter_set_age(struct qfilter *f, const char *duration)
{
	uint64_t secs;

	if (conf_parse_duration(duration, &secs) == -1 ||
	    secs > (uint64_t)INT64_MAX / 2)
		return -1;
	f->older_than = (int64_t)secs;
	return 0;
}

static bool
qfilter_domain_is(const char *addr, const char *domain)
{
	const char *d = addr_domain(addr);

	return d != NULL && strcasecmp(d, domain) == 0;
}

static bool
qfilter_sender(const char *want, const char *sender)
{
	if (strcmp(want, "<>") == 0 || want[0] == '\0')
		return sender[0] == '\0';
	if (want[0] == '@')
		return qfilter_domain_is(sender, want + 1);
	return strcasecmp(want, sender) == 0;
}

/* qfilter_match - does the entry pass every filter given? */
bool
qfilter_match(const struct qfilter *f, const struct qview_entry *ve,
    time_t now)
{
	const struct qenv *e = &ve->env;
	size_t i;
	bool found;

	if (f->older_than >= 0 && (int64_t)now - e->arrival < f->older_than)
		return false;
	if (!f->held && !f->deferred && f->domain == NULL && f->sender == NULL)
		return true;
	/* the rest asks the envelope */
	if (ve->state == QVIEW_INTAKE || ve->state == QVIEW_UNREADABLE)
		return false;
	if (f->held && e->held == 0)
		return false;
	if (f->deferred && ve->state != QVIEW_DEFERRED)
		return false;
	if (f->sender != NULL && !qfilter_sender(f->sender, e->sender))
		return false;
	if (f->domain != NULL) {
		const char *dom = f->domain + (f->domain[0] == '@');

		for (i = 0, found = false; i < e->n_rcpts && !found; i++)
			found = qfilter_domain_is(e->rcpts[i].addr, dom);
		if (!found)
			return false;
	}
	return true;
}
