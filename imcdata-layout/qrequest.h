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
 *	flush all		(or one of "flush", "hold", "release",
 *				 "delete", "delete bounce", "requeue",
 *				 and then one "qid QID" a line)
 *	qid 0F3K2J9A1B2XY7QZ
 *	end
 *
 * Once it has applied a request the connector answers in
 * Log/<the same hex digits>.reply (atomically), one line per queue id
 * named, which the waiting tool reads and removes:
 *
 *	IMCA 1
 *	flushed 3		(flush: Out entries made due)
 *	result 0F3K2J9A1B2XY7QZ done held in Out
 *	end
 *
 * A result is done, already (nothing to change: held already, not
 * held), unknown (no such entry in In/, Out/, Badmail/ or
 * Pickup/Archive/) or error; the rest of the line says what happened,
 * for people.
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

enum qrequest_verb {
	QREQUEST_FLUSH,
	QREQUEST_HOLD,		/* never tried until released */
	QREQUEST_RELEASE,	/* held no more, and due now */
	QREQUEST_DELETE,	/* removed, nobody told */
	QREQUEST_DELETE_BOUNCE,	/* pending recipients fail, sender told */
	QREQUEST_REQUEUE	/* Badmail/ or Pickup/Archive/ back in */
};

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
/* The word of a verb in the file ("delete bounce"). */
const char *qrequest_verb_name(enum qrequest_verb);

#define QREQUEST_REPLY_SUFFIX	".reply"

enum qrequest_result {
	QREQUEST_DONE,
	QREQUEST_ALREADY,
	QREQUEST_UNKNOWN,
	QREQUEST_ERROR
};

struct qrequest_item {
	char		 qid[QID_SIZE];
	enum qrequest_result result;
	char		*text;
};

struct qrequest_reply {
	size_t		 flushed;
	struct qrequest_item *items;
	size_t		 n, cap;
};

void	qrequest_reply_add(struct qrequest_reply *, const char *qid,
	    enum qrequest_result, const char *text);
/* Log/<hex>.reply for the request named request_name: 0 or -1. */
int	qrequest_reply_write(int log_dirfd, const char *request_name,
	    const struct qrequest_reply *);
/* Read and parse the reply: 0; -1 with errno ENOENT when there is none
 * yet, else -1 with the reason in err. */
int	qrequest_reply_read(int log_dirfd, const char *request_name,
	    struct qrequest_reply *, struct buf *err);
/* The reply's file name for a request name (QREQUEST_NAME_LEN+1 bytes
 * are enough for both). */
void	qrequest_reply_name(char *out, size_t size, const char *request_name);
bool	qrequest_reply_name_valid(const char *name);
const char *qrequest_result_name(enum qrequest_result);
void	qrequest_reply_free(struct qrequest_reply *);

#endif
