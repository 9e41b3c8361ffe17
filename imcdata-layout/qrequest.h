/*
 * qrequest - requests from tools to the running connector.
 *
 * The connector is the only writer of queue state. A tool that wants a
 * change (imc-queue flush) writes a request file into Log/ and signals
 * the process that holds the tree's lock (instlock.h); the connector
 * applies every request it finds there, at start and on SIGUSR1, then
 * removes it. A request waits on disk while no connector runs.
 *
 * Log/<16 hex digits>.request, written atomically (unique temp name,
 * rename), so each request is whole or absent and two tools never
 * overwrite each other's:
 *
 *	IMCR 1
 *	flush all		(or "flush" and then one "qid QID" a line)
 *	qid 0F3K2J9A1B2XY7QZ
 *	end
 */
#ifndef IMC_QREQUEST_H
#define IMC_QREQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "qid.h"

#define QREQUEST_SUFFIX		".request"
#define QREQUEST_NAME_LEN	(16 + sizeof(QREQUEST_SUFFIX) - 1)
#define QREQUEST_MAX_SIZE	(1024 * 1024)

enum qrequest_verb { QREQUEST_FLUSH };

struct qrequest {
	enum qrequest_verb verb;
	bool	 all;		/* every entry */
	char	(*qids)[QID_SIZE];
	size_t	 n_qids;
};

/* Write a request; its file name goes to name_out (QREQUEST_NAME_LEN+1). */
int	qrequest_write(int log_dirfd, const struct qrequest *, char *name_out);
bool	qrequest_name_valid(const char *name);
/* Read and parse one request file: 0, or -1 with the reason in err. */
int	qrequest_read(int log_dirfd, const char *name, struct qrequest *,
	    struct buf *err);
void	qrequest_free(struct qrequest *);

#endif
