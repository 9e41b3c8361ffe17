/*
 * qlist - the queue ids in a folder, from names "<qid><suffix>" (anything
 * else there is not the queue's and is left alone).
 */
#ifndef IMC_QLIST_H
#define IMC_QLIST_H

#include <stddef.h>

#include "qid.h"

struct qlist {
	char	(*qids)[QID_SIZE];
	size_t	 n, cap;
};

/* 0, or -1 with errno when the folder cannot be read. */
int	qlist_read(int dirfd, const char *suffix, struct qlist *);
void	qlist_free(struct qlist *);

#endif
