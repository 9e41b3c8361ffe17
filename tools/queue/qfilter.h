/*
 * qfilter - which entries imc-queue list shows: the options --held,
 * --deferred, --domain D, --sender S and --older-than DURATION, all of
 * which an entry must pass. A Work/ file (in intake) has no envelope yet:
 * only --older-than can take it. The strings are borrowed from the
 * caller (argv).
 */
#ifndef IMC_QFILTER_H
#define IMC_QFILTER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "qview.h"

struct qfilter {
	bool		 held;		/* only held entries */
	bool		 deferred;	/* only entries tried at least once */
	const char	*domain;	/* a recipient in this domain (any case) */
	const char	*sender;	/* this sender (any case); "<>" or ""
					 * the null sender, "@D" any in domain D */
	int64_t		 older_than;	/* seconds; -1: no limit */
};

void	qfilter_init(struct qfilter *);
/* --older-than's value ("90", "90s", "15m", "4h", "2d"): 0 or -1. */
int	qfilter_set_age(struct qfilter *, const char *duration);
bool	qfilter_match(const struct qfilter *, const struct qview_entry *,
	    time_t now);

#endif
