/*
 * mime - a streaming MIME parser (RFC 2045, 2046, 2231, 5322).
 *
 * The parser is opaque state fed the message a chunk at a time (chunks of
 * any size; a line may be split across chunks and may be longer than any
 * buffer). It calls back with events, in order:
 *
 *   for every part, the top-level message included:
 *     MIME_EV_HEADER       one field: name, raw value (folding kept)
 *     MIME_EV_HEADERS_END  the header block is over; part describes it
 *     then, by kind of part:
 *       leaf               MIME_EV_BODY ... (raw, still transfer-encoded)
 *       multipart          MIME_EV_PREAMBLE ..., child parts, MIME_EV_EPILOGUE ...
 *       message/rfc822     the enclosed message as a child part
 *     MIME_EV_PART_END
 *
 * Body, preamble and epilogue bytes come in pieces of any size; their
 * concatenation is the content exactly, without the line break that
 * belongs to the next boundary delimiter (RFC 2046 5.1.1). Line breaks may
 * be CRLF or bare LF, and are passed on as written.
 *
 * Boundaries: "--" boundary at the start of a line, then only whitespace
 * (transport padding), or "--" for the close delimiter (anything after it
 * on that line is ignored). A line that is a boundary of an enclosing
 * multipart ends the inner parts too. Nesting deeper than MIME_MAX_DEPTH
 * is not parsed: such a part is an opaque leaf (MIME_PART_OPAQUE).
 * A header block larger than MIME_MAX_HEADER_BLOCK ends there: the rest,
 * from the field that did not fit, is body.
 *
 * What was wrong is kept as MIME_DEFECT_* bits, per part and in total;
 * the parser never gives up on a message because of them.
 *
 * Memory: everything an event points to (names, values, data, the part
 * and its parameters) is owned by the parser and valid only until the
 * callback returns. The caller owns the parser (mime_parser_free).
 * Errors: functions returning int give 0, or -1 with errno (ECANCELED when
 * the callback returned non-zero, the parser is then dead; or a size that
 * overflows, see buf.h). Out of memory is fatal (xalloc.h), and
 * mime_parser_new never returns NULL.
 */
#ifndef IMC_MIME_H
#define IMC_MIME_H

#include <stddef.h>

#include "codec.h"
#include "rfc2047.h"

/* Limits on untrusted input. */
#define MIME_MAX_DEPTH		32		/* nested parts */
#define MIME_MAX_HEADER_BLOCK	(256 * 1024)	/* one part's header block */
#define MIME_MAX_BOUNDARY	256		/* longer: multipart is opaque */
#define MIME_MAX_PARAMS		64		/* parameters kept per field */
#define MIME_MAX_PARAM_SECTIONS	256		/* RFC 2231 name*N */
#define MIME_MAX_PADDING	1024		/* whitespace after a boundary */

/* Defects (bit mask); mime_defect_name gives a name for logs. */
#define MIME_DEFECT_NO_SEPARATOR	0x00001	/* no blank line after headers */
#define MIME_DEFECT_HEADER_TOO_BIG	0x00002	/* header block cut, rest body */
#define MIME_DEFECT_TOO_DEEP		0x00004	/* nesting past MIME_MAX_DEPTH */
#define MIME_DEFECT_NO_CLOSE		0x00008	/* missing final boundary */
#define MIME_DEFECT_NO_BOUNDARY		0x00010	/* multipart, no usable boundary */
#define MIME_DEFECT_NO_PARTS		0x00020	/* multipart without any part */
#define MIME_DEFECT_BAD_CONTENT_TYPE	0x00040	/* unparsable Content-Type */
#define MIME_DEFECT_BAD_PARAM		0x00080	/* bad parameter syntax or 2231 */
#define MIME_DEFECT_BAD_CTE		0x00100	/* unknown transfer encoding */
#define MIME_DEFECT_ENCODED_COMPOSITE	0x00200	/* multipart/message with QP/b64 */
#define MIME_DEFECT_DUP_FIELD		0x00400	/* second Content-* field */
#define MIME_DEFECT_8BIT_HEADER		0x00800	/* raw 8-bit bytes in a header */
#define MIME_DEFECT_BAD_HEADER		0x01000	/* header line with no name */
#define MIME_DEFECT_LONG_LINE		0x02000	/* line over 998 octets */
#define MIME_DEFECT_CHARSET		0x04000	/* 2231 value not convertible */

/* Part flags. */
#define MIME_PART_MULTIPART	0x01	/* children follow */
#define MIME_PART_MESSAGE	0x02	/* an enclosed message follows */
#define MIME_PART_OPAQUE	0x04	/* composite, but not parsed (defect) */

/* One Content-Type or Content-Disposition parameter. */
struct mime_param {
	char	*name;		/* lowercase, without "*" or "*N" */
	char	*value;		/* UTF-8 when decodable, else as written */
	char	*charset;	/* RFC 2231 charset, or NULL */
	char	*language;	/* RFC 2231 language, or NULL */
};

struct mime_part {
	unsigned		 depth;		/* 0: the message itself */
	unsigned		 flags;		/* MIME_PART_* */
	unsigned		 defects;	/* MIME_DEFECT_* of this part */
	char			*type;		/* lowercase, "text" by default */
	char			*subtype;	/* lowercase, "plain" by default */
	struct mime_param	*params;
	size_t			 nparams;
	char			*disposition;	/* lowercase, or NULL */
	struct mime_param	*disp_params;
	size_t			 ndisp_params;
	enum codec_cte		 cte;		/* CODEC_CTE_7BIT by default */
	char			*boundary;	/* multiparts only, as written */
};

enum mime_event_type {
	MIME_EV_HEADER,
	MIME_EV_HEADERS_END,
	MIME_EV_BODY,
	MIME_EV_PREAMBLE,
	MIME_EV_EPILOGUE,
	MIME_EV_PART_END
};

struct mime_event {
	enum mime_event_type	 type;
	unsigned		 depth;
	const struct mime_part	*part;	/* the part the event belongs to;
					 * for HEADER: type not parsed yet */
	/* MIME_EV_HEADER */
	const char		*name;	/* as written, not NUL-terminated */
	size_t			 name_len;
	const char		*value;	/* after the colon, folding kept */
	size_t			 value_len;
	/* MIME_EV_HEADER: the whole field; BODY, PREAMBLE, EPILOGUE: data */
	const char		*data;
	size_t			 len;
};

/* Return 0 to go on, non-zero to stop the parser. */
typedef int mime_event_fn(const struct mime_event *, void *arg);

struct mime_parser;

struct mime_parser *mime_parser_new(mime_event_fn *, void *arg,
	    rfc2047_to_utf8_fn *to_utf8);
int	mime_parser_feed(struct mime_parser *, const void *, size_t);
int	mime_parser_finish(struct mime_parser *);
unsigned mime_parser_defects(const struct mime_parser *);
void	mime_parser_free(struct mime_parser *);

const char *mime_param_get(const struct mime_param *, size_t n,
	    const char *name);
void	mime_part_decoder_init(struct codec_dec *, const struct mime_part *);
const char *mime_defect_name(unsigned bit);

#endif
