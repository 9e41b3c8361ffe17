/*
 * smtpd_data - the DATA reader: the bytes a client sends after 354 in,
 * the message out, and where it ends.
 *
 * The end is only <CRLF>.<CRLF> (or ".<CRLF>" as the first line): a
 * line of one dot that a bare LF or a bare CR began or ended is not the
 * end (SMTP smuggling: <LF>.<LF>, <CR>.<CR>, <LF>.<CRLF>, <CRLF>.<LF>
 * stay inside the message). Bare LF and bare CR are accepted as line ends,
 * as the IMC and IIS did for old clients, and become CRLF, so no bare
 * line end ever leaves the connector. One leading dot of every line is
 * removed (RFC 5321 4.5.2), whichever line end began it.
 *
 * BDAT (RFC 3030) chunks go through the same reader in raw mode
 * (smtpd_data_init_raw): the caller feeds exactly the chunk's bytes, no
 * dot is removed and nothing ends the message (the chunk sizes do); bare
 * CR and LF become CRLF as in DATA, also when a CRLF is split between two
 * chunks; smtpd_data_finish after the LAST chunk turns a CR left at the
 * end into CRLF and ends a last line that has no line end.
 *
 * Memory: the reader keeps two flags and a few counters; the caller
 * passes the output buffer and empties it as it likes, so a line of any
 * length costs nothing here. Past max_size bytes of message, or a header
 * block past IMC_MAX_HEADER_BLOCK, output stops (the rest is read and
 * dropped up to the end) and the flag says why.
 */
#ifndef IMC_SMTPD_DATA_H
#define IMC_SMTPD_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct smtpd_data {
	uint64_t	 max_size;
	uint64_t	 size;		/* message bytes written out */
	uint64_t	 header;	/* bytes of the header block so far */
	bool		 in_header;
	bool		 too_big;
	bool		 header_too_big;
	bool		 bare_eol;	/* a bare CR or LF was seen */
	bool		 eightbit;
	/* line state */
	bool		 bol;		/* at the start of a line */
	bool		 proper;	/* this line began after CRLF (or first) */
	bool		 dot;		/* the line so far is one (removed) dot */
	bool		 cr;		/* a CR waits for its LF */
	bool		 empty;		/* the line so far is empty */
	bool		 done;
	bool		 raw;		/* BDAT: no dots, no end */
};

void	smtpd_data_init(struct smtpd_data *, uint64_t max_size);
void	smtpd_data_init_raw(struct smtpd_data *, uint64_t max_size);
/* Reads from in until the end of the message or of the input; returns
 * the bytes consumed (the rest belongs to the next command; in raw mode
 * always len). */
size_t	smtpd_data_feed(struct smtpd_data *, const char *in, size_t len,
	    struct buf *out);
/* Raw mode, after the last chunk: the message's final line end. */
void	smtpd_data_finish(struct smtpd_data *, struct buf *out);

#endif
