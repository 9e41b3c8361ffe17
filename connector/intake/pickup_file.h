/*
 * pickup_file - read a Pickup file: envelope lines, header, body.
 *
 * pickup_read reads the leading X-Sender:/X-Receiver: lines (any case,
 * several receivers) and the header block, keeping them in memory (bounded
 * by IMC_MAX_HEADER_BLOCK), and works out the envelope: the X- lines win;
 * else recipients from To, Cc and Bcc and the sender from Sender, else From.
 * Unqualified addresses get "@hostname". pickup_write then writes the
 * message as the queue keeps it: a Received: line (naming the uid that
 * wrote the file when known, in a comment as Postfix does: "by HOST
 * (imc-connector, from userid 1001 (alice)) id QID"), the header without the
 * envelope lines and without Bcc, Resent-Bcc, Return-Path and
 * Content-Length (Date, Message-ID and From added when missing), a blank
 * line, and the body streamed from the file with CRLF line ends (LF for an
 * output that asks: the store's copy), one
 * leading dot removed per line under pickup_dots = iis, and a final line
 * holding only "." dropped. Lines of any length and NUL bytes pass through.
 *
 * Both return 0, or -1 with why filled in: MAIL_PERM for a file that cannot
 * be taken (it goes to Pickup/Archive with that reason), MAIL_TEMP for an
 * I/O error (the file stays for a later try).
 */
#ifndef IMC_PICKUP_FILE_H
#define IMC_PICKUP_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "mailstatus.h"

struct pickup_opts {
	enum pickup_dots dots;
	const char	*hostname;
	const char	*qid;
	time_t		 now;
	uint64_t	 max_bytes;	/* read no more than this (0: to EOF):
					   the size intake checked, so a writer
					   that grows the file is not followed */
	bool		 has_uid;	/* the Received: line names the writer */
	uid_t		 uid;
	const char	*user;		/* its login name, or NULL */
};

struct pickup_file;

/* One output of pickup_write: a descriptor and text written before the
 * Received: line (Return-Path for the store copy), and the bytes written.
 * lf: line ends LF instead of CRLF (the store's copy, as Maildir readers
 * expect; a CR inside a line stays); cr_held is pickup_write's own. */
struct pickup_out {
	int		 fd;
	const char	*prefix;
	uint64_t	 written;
	bool		 lf;
	bool		 cr_held;
};

struct pickup_file *pickup_read(int fd, const struct pickup_opts *,
	    struct mail_status *why);
const char *pickup_sender(const struct pickup_file *);	/* "" null sender */
const struct addr_list *pickup_recipients(const struct pickup_file *);
/* DSN parameters (RFC 3461) written after the address on X-Receiver: and
 * X-Sender: lines ("X-Receiver: <a@b> NOTIFY=FAILURE ORCPT=rfc822;a@b",
 * "X-Sender: <c@d> RET=HDRS ENVID=x"), as given when valid, else NULL;
 * per recipient by its index in pickup_recipients. */
const char *pickup_rcpt_notify(const struct pickup_file *, size_t);
const char *pickup_rcpt_orcpt(const struct pickup_file *, size_t);
const char *pickup_ret(const struct pickup_file *);
const char *pickup_envid(const struct pickup_file *);
int	pickup_write(struct pickup_file *, struct pickup_out *, size_t nout,
	    struct mail_status *why);
void	pickup_free(struct pickup_file *);

/* After pickup_write: whether a byte above 127 was written, and how many
 * Received: fields the copy has (the connector's own included). */
bool	pickup_eightbit(const struct pickup_file *);
unsigned pickup_received(const struct pickup_file *);

#endif
