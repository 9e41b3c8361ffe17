/*
 * repair - charset repair and per-destination conversion of one message.
 *
 * repair_message reads a complete RFC 822 message (CRLF or bare LF lines)
 * from a seekable descriptor twice: the first pass parses its MIME
 * structure (common/mime.h) and notes, per part, what needs repair; the
 * second pass writes the repaired and converted message. When nothing needs
 * to change it writes nothing and says REPAIR_UNCHANGED, so callers keep the
 * input as it is (the common case, all-ASCII mail, costs one read).
 *
 * Repair (always):
 *  - raw 8-bit header text becomes RFC 2047 encoded-words: valid UTF-8 stays
 *    UTF-8, else it is read in legacy_charset; broken encoded-words are
 *    repaired where the meaning is certain, else left as written;
 *    encoded-words inside a quoted display name become proper ones; header
 *    lines over 998 octets are folded (at whitespace, or as encoded-words);
 *    raw 8-bit name=/filename= parameter values become RFC 2231 values;
 *  - charset labels are normalised to their standard MIME names through the
 *    alias table (common/charset.h); text labelled iso-8859-1 or us-ascii
 *    whose bytes 0x80-0x9F are used is relabelled windows-1252;
 *  - an unlabelled 8-bit text part gets a label: utf-8 if it is valid
 *    UTF-8, else legacy_charset (a us-ascii label on 8-bit text counts as
 *    unlabelled);
 *  - content that does not decode in its declared charset is left byte for
 *    byte, labelled as it was, and reported;
 *  - bare LF becomes CRLF (opts.lf: LF stays, and every line end is LF);
 *    a part with lines over 998 octets is re-encoded
 *    instead of being cut: as quoted-printable, or as base64 when that is
 *    smaller (when about 1/6 of the bytes or more would need escaping).
 * Conversion (per destination, from opts):
 *  - target "utf-8": text parts are converted to UTF-8; "preserve": left in
 *    their (normalised) charset; any other name: converted to that charset,
 *    except a part holding a character the target cannot hold, which stays
 *    in UTF-8 and is reported (never a "?");
 *  - seven_bit: every 8-bit part (and 8-bit header text, as encoded-words)
 *    is downgraded to quoted-printable or base64, whichever is smaller,
 *    without changing the decoded content.
 * An HTML part converted or relabelled gets the label written in the
 * <meta> charset of its head.
 * A converted part that was quoted-printable or base64 stays encoded; a
 * quoted-printable one becomes base64 when that is smaller.
 * Non-text parts (attachments) pass through byte for byte.
 *
 * Memory is bounded: parts are streamed; only header blocks (bounded by
 * the MIME parser's limit) are kept, and the text of converted parts up to
 * opts.keep_max (8 MB a message by default) so that pass 2 need not
 * convert them again; beyond that, parts are converted in both passes.
 * The report's text is the caller's to free with repair_report_fini.
 */
#ifndef IMC_REPAIR_H
#define IMC_REPAIR_H

#include <stdbool.h>

#include "buf.h"

struct repair_opts {
	const char	*legacy_charset;	/* e.g. "windows-1252" */
	const char	*target;		/* "utf-8", "preserve", or a label */
	bool		 seven_bit;
	/* Line ends are LF, in and out (the store's copy, as Maildir readers
	 * expect): a bare LF is no defect, and the output's line ends are LF
	 * instead of CRLF (a CR inside a line stays). */
	bool		 lf;
	/* NULL, or a comma list of charsets: unlabelled 8-bit text that is
	 * not UTF-8 is read in the one libuchardet names, when it is in the
	 * list and the text decodes cleanly in it (else legacy_charset) */
	const char	*detect;
	/* With out_fd -1: called once the first pass has found something
	 * to change, for the descriptor to write to (-1 with errno: fail).
	 * Most messages need no change, and so no output file at all. */
	int		(*open_out)(void *arg);
	void		*open_arg;
	/* Converted text pass 1 may keep for pass 2, so that a part is
	 * converted once: 0 is the default (8 MB a message), 1 keeps none
	 * (every part converted in both passes, as tests compare). */
	size_t		 keep_max;
	/* 1: every reading of a text part runs from its start, none left
	 * out until it could matter (what tests hold the default equal to) */
	int		 all_readings;
	/* 1: pass 1's readings decode on past their first error instead of
	 * stopping there (what tests hold the default equal to) */
	int		 readings_read_on;
};

struct repair_report {
	struct buf	 explain;	/* one line per finding and change,
					   "part 1.2 text/plain: ..." */
	unsigned	 changes;	/* things changed */
	unsigned	 undecodable;	/* parts left as they were */
	unsigned	 kept_utf8;	/* parts the target could not hold */
};

enum repair_result { REPAIR_UNCHANGED, REPAIR_CHANGED, REPAIR_ERROR };

void	repair_report_init(struct repair_report *);
void	repair_report_fini(struct repair_report *);
/* in_fd is read from its start (lseek); out_fd -1: see open_out. */
enum repair_result repair_message(int in_fd, int out_fd,
	    const struct repair_opts *, struct repair_report *);

#endif
