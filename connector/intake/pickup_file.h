/*
 * pickup_file - read a Pickup file: envelope lines, header, body.
 *
 * pickup_read reads the leading X-Sender:/X-Receiver: lines (any case,
 * several receivers) and the header block, keeping them in memory (bounded
 * by IMC_MAX_HEADER_BLOCK), and works out the envelope: the X- lines win;
 * else recipients from To, Cc and Bcc and the sender from Sender, else From,
 * else the address of a leading mbox "From " line (such a first line is
 * always dropped).
 * Unqualified addresses get "@hostname". pickup_write then writes the
 * message as the queue keeps it: a Received: line (naming the uid that
 * wrote the file when known, in a comment as Postfix does: "by HOST
 * (imc-connector, from userid 1001 (alice)) id QID"), the header without the
 * envelope lines and without Bcc, Resent-Bcc, Return-Path and
 * Content-Length (Date, Message-ID and From added when missing), a blank
 * line, and the body streamed from the file with CRLF line ends (LF for an
 * output that asks: the store's copy), one
 * leading dot removed per line under pickup_dots = iis and a final line
 * holding only "." dropped; under literal the body as written; under auto
 * literal when some line starts with a single dot (a final "." line aside),
 * else iis. Lines of any length and NUL bytes pass through.
 *
 * A file the SMTP listener wrote into Work/ (connector/smtpd) starts with
 * its own envelope block instead, honoured only when opts.allow_smtp (the
 * file is the connector's user's own):
 *
 *	IMC-SMTPD 1
 *	sender <escaped>		("=": the null sender)
 *	ret HDRS			(optional, DSN as given at MAIL)
 *	envid <escaped>			(optional)
 *	rcpt <escaped> <notify|-> <escaped orcpt|->	(one a recipient)
 *	client <escaped>		("name [addr]" for the tracking log)
 *	helo <escaped>
 *	tls <escaped>			("=": none)
 *	auth <escaped>			("=": none)
 *	received <escaped>		(the whole Received: field it made)
 *	end
 *
 * escaped as in the queue envelope (qfile.h). The message follows as the
 * client sent it, dot-stuffing undone, CRLF lines: no header supplies
 * recipients, no dot is removed, and the Received: field is the listener's.
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
	bool		 allow_smtp;	/* a listener envelope block is read */
	/* For tests: the reader's buffer (0: IMC_IO_CHUNK; at least 2), and
	 * every body line through the dot rules one at a time instead of
	 * whole runs of lines (what the run writer must equal). */
	size_t		 read_chunk;
	bool		 line_by_line;
};

#define PICKUP_SMTP_MAGIC	"IMC-SMTPD 1"

/* The session a listener's Work file came from (NULL fields: not given). */
struct pickup_smtp {
	char	*client;
	char	*helo;
	char	*tls;
	char	*auth;
	uint64_t envelope_bytes;	/* the block, before the message */
};

struct pickup_file;

/* One output of pickup_write: a descriptor and text written before the
 * Received: line (Return-Path for the store copy), and the bytes written.
 * lf: line ends LF instead of CRLF (the store's copy, as Maildir readers
 * expect; a CR inside a line stays); cr_held and prefix_done are
 * pickup_write's own. */
struct pickup_out {
	int		 fd;
	const char	*prefix;
	uint64_t	 written;
	bool		 lf;
	bool		 cr_held;
	bool		 prefix_done;
};

struct pickup_file *pickup_read(int fd, const struct pickup_opts *,
	    struct mail_status *why);
const char *pickup_sender(const struct pickup_file *);	/* "" null sender */
/* The listener's session for its Work files, NULL for a Pickup file. */
const struct pickup_smtp *pickup_smtp(const struct pickup_file *);
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
/* After pickup_write: a sentence for the logs saying which dot reading was
 * used, when it changed a line or auto chose the literal one (then with
 * the body line that told); NULL otherwise. out holds it. */
const char *pickup_dots_note(const struct pickup_file *, char *out,
	    size_t size);
/* After pickup_write: all the sentences for the logs (a dropped mbox
 * "From " line and whether the sender came from it, the dot note) into
 * out, joined by "; "; false when there is none. */
bool	pickup_notes(const struct pickup_file *, struct buf *out);
unsigned pickup_received(const struct pickup_file *);

#endif
