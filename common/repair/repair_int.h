/*
 * repair_int.h - what the files of the repair library share; not for
 * callers (they include repair.h).
 *
 * A run is one struct rp_state: the options resolved, one plan per MIME
 * part (what pass 2 does with it, decided by pass 1), the part tree's
 * levels, the state of the leaf being scanned (pass 1) or written
 * (pass 2), and the output buffer. Each file owns one job and exports
 * repair_<file>_* names:
 *
 *   repair.c         the walk: options, both passes over the input, the
 *                    parser's events dispatched to the pass that runs
 *   repair_scan.c    pass 1: what each part needs (candidate readings of
 *                    text, the charset decision, the Content-Type check)
 *   repair_header.c  header fields: raw 8-bit text to encoded-words,
 *                    broken or oddly labelled encoded-words written again,
 *                    the charset parameter of Content-Type
 *   repair_cte.c     transfer encodings: counting a body, choosing 7bit,
 *                    8bit, quoted-printable or base64, decoding input
 *                    chunks, bare LF to CRLF
 *   repair_emit.c    pass 2: writing fields, delimiters and bodies
 *                    (passed through, re-encoded or converted)
 *   repair_html.c    the <meta> charset of converted HTML parts
 *   repair_detect.c  the charset guess of detect = yes (libuchardet)
 *   repair_report.c  the report: one line per finding
 */
#ifndef IMC_REPAIR_INT_H
#define IMC_REPAIR_INT_H

#include <stdint.h>

#include "buf.h"
#include "charset.h"
#include "codec.h"
#include "convert.h"
#include "mime.h"
#include "repair.h"
#include "utf8.h"

#define RP_LINE_MAX	998		/* RFC 5322 2.1.1 */
#define RP_CHUNK	(64 * 1024)	/* read and write size */
/* Candidate decoders of a text part: the label's, its second choice, and
 * for a 7-bit label holding 8-bit bytes UTF-8, EUC-JP and CP932; for
 * unlabelled text under detect = yes one per listed charset too. */
#define RP_NCAND	12
/* Part numbers are kept per depth; the parser never goes deeper. */
#define RP_DEPTHS	(MIME_MAX_DEPTH + 2)
/* Parts planned per message (a plan is ~150 bytes); a message with more
 * is not repaired: it is passed on unchanged and the report says why. */
#define RP_MAX_PARTS	50000
/* Converted text kept from pass 1 for pass 2, per message at most: a
 * part whose text fits is converted once, not twice. */
#define RP_KEEP_MAX	(8 * 1024 * 1024)
/* A text subtype kept to write a broken Content-Type anew. */
#define RP_SUBTYPE_SIZE	64

enum rp_kind { RP_K_TEXT, RP_K_LEAF, RP_K_MULTI, RP_K_MESSAGE };
enum rp_action { RP_PASS, RP_REENCODE, RP_CONVERT };

/* What pass 2 does with one part, decided by pass 1. */
struct rp_plan {
	unsigned char	 kind;		/* enum rp_kind */
	unsigned char	 action;	/* enum rp_action */
	unsigned char	 out_cte;	/* enum codec_cte written */
	unsigned char	 enc_flags;	/* CODEC_ENC_* for re-encoding */
	unsigned char	 in_cte;	/* enum codec_cte of the input */
	unsigned	 norm:1;	/* decoded content: bare LF -> CRLF */
	unsigned	 set_cte:1;	/* write Content-Transfer-Encoding */
	unsigned	 out8:1;	/* the body written has 8-bit bytes */
	unsigned	 child8:1;	/* a descendant's body has them */
	unsigned	 has_ct:1;	/* a Content-Type field was seen */
	unsigned	 has_cte:1;	/* a Content-Transfer-Encoding field */
	unsigned	 changed:1;	/* anything of this part changes */
	unsigned	 bad_ct:1;	/* Content-Type to be written anew */
	unsigned	 has_mv:1;	/* a MIME-Version field was seen */
	unsigned	 in_msg:1;	/* the part is an enclosed message */
	const char	*label;		/* charset label to write, or NULL */
	const char	*enc;		/* RP_CONVERT: encoder, NULL: UTF-8 */
	char		 dec[CHARSET_NAME_SIZE];	/* RP_CONVERT: from */
	char		 sub[RP_SUBTYPE_SIZE];	/* bad_ct: the subtype */
	size_t		 keep;		/* RP_CONVERT: 1 + index of the
					   text kept in pass 1, 0: none */
	uint64_t	 keep_pre;	/* content before it: ASCII, which
					   pass 2 writes as it reads it */
};

/* Counts over a byte stream that may become a body. */
struct rp_ostat {
	uint64_t	 total;
	size_t		 col;		/* bytes of the unfinished line */
	size_t		 maxline;	/* the longest line where one is over
					   RP_LINE_MAX; below, not exact
					   (only the comparison is used) */
	int		 has8, prev_cr;
	int		 noqp;		/* the QP size is not counted */
	struct codec_enc qp;		/* counts only */
};

/* One way to read a text part. */
struct rp_cand {
	int		 used;
	char		 dec[CHARSET_NAME_SIZE];
	const char	*mime;		/* label of this reading, or NULL */
	const char	*enc;		/* encoder to try, NULL: UTF-8 */
	struct convert	*dc, *ec;
	int		 bad;		/* decoding errors or no decoder */
	int		 unmap;		/* the encoder cannot hold a char */
	struct rp_ostat	 u8, eo;	/* UTF-8 output, encoder output */
	struct buf	 keep;		/* the output (encoder's if any) */
	int		 keep_off;	/* not kept (over RP_KEEP_MAX) */
	int		 u8same;	/* UTF-8 read as UTF-8: the output is
					   the input while the part's UTF-8
					   check holds; no converter yet */
	int		 rules;		/* rules of rp_leaf_start that
					   asked for this reading */
	int		 spare;		/* not read (any more): chosen only
					   if cand[need] is bad, and then
					   pass 1 runs again reading all */
	size_t		 need;
	int		 shadow;	/* the windows reading of a label
					   (c1_decoder), not started: the
					   same as cand[0]'s until a C1 byte */
	int		 late;		/* ASCII-compatible reading beside
					   one that is not: started at the
					   first 8-bit byte (or the end) */
	uint64_t	 pre;		/* content before it started */
};

/* rp_cand.need of a reading wanted when the letters' case says the
 * label has KOI8-R and windows-1251 backwards (rp_cyr_swapped) */
#define RP_NEED_CASE	((size_t)-1)

/* Pass 1 state of the leaf being read. */
struct rp_scan {
	int		 active;
	struct codec_dec cdec;
	int		 norm, prev_cr;
	int		 nodecode;	/* encoded attachment: raw counts */
	int		 noqp;		/* QP sizes not counted (qp_all) */
	int		 lazy, on;	/* candidates start at an 8-bit byte */
	struct rp_ostat	 raw;		/* the body as written (its 8-bit
					   bytes and lines: d's for 7bit,
					   8bit, binary) */
	struct rp_ostat	 d;		/* the decoded content */
	struct utf8_check u8v;
	int		 has_c1, has_esc;
	int		 want_esc;	/* has_esc can decide the part (a label
					   that is not plain ASCII-compatible) */
	/* Cyrillic labels: octets 0xC0-0xDF and 0xE0-0xFF (the letters'
	 * case tells KOI8-R from windows-1251) */
	int		 cyr;
	uint64_t	 cyr_c0, cyr_e0;
	void		*ud;		/* detect: a uchardet_t, or NULL */
	size_t		 ud_fed;
	char		 ud_dec[CHARSET_NAME_SIZE];	/* its guess */
	struct rp_cand	 cand[RP_NCAND];
	struct buf	 dbuf, t1, t2;
	uint64_t	 pre;		/* content before the candidates
					   started (ASCII, the same in
					   every output) */
	int		 keep_off;	/* nothing of this part kept */
};

/* Pass 2 state of the leaf being written. */
struct rp_emit {
	struct codec_dec cdec;
	struct codec_enc cenc;
	struct convert	*dc, *ec;
	const struct buf *kept;		/* the text from pass 1, or NULL */
	uint64_t	 pre_left;	/* content to write before it */
	int		 norm, prev_cr, raw_prev_cr;
	struct buf	 dbuf, t1, t2, o;
	const char	*html_label;	/* the head of an HTML part is held */
	struct buf	 hold;
};

struct rp_level {
	size_t		 plan;		/* index of the part at this depth */
	unsigned	 num;		/* its number among its siblings */
	unsigned	 nchild;	/* children seen */
	int		 closed;	/* pass 2: close delimiter written */
};

struct rp_state {
	const struct repair_opts *opts;
	struct repair_report *rep;
	int		 pass;		/* 1 or 2 */
	int		 failed;	/* errno of a failure, or 0 */
	/* options resolved */
	int		 t_utf8, t_preserve;
	const char	*t_mime, *t_enc;
	char		 legacy_dec[CHARSET_NAME_SIZE];
	const char	*legacy_mime;
	/* parts */
	struct rp_plan	*plans;
	size_t		 nplans, capplans, cur;
	int		 hdr_open;	/* a header block is being read */
	int		 saw_ct, saw_cte;	/* pass 2, this header block */
	int		 top_mime_version, need_mime_version;
	int		 changed;
	int		 bare_lf, in_prev_cr;
	int		 out_cr_held;	/* opts.lf: a CR at the end of a flush */
	/* QP sizes: counted only where a choice may need them (7-bit
	 * output, quoted-printable input) unless qp_all; a choice that
	 * needed one not counted sets qp_missing and pass 1 runs again */
	int		 qp_all, qp_missing;
	/* Readings that can matter only if another goes bad are not run
	 * (rp_spares) unless all_readings; a choice that needed one sets
	 * readings_missing and pass 1 runs again */
	int		 all_readings, readings_missing;
	struct rp_level	 lv[RP_DEPTHS];
	char		*bnd[RP_DEPTHS];	/* pass 2: boundary by depth */
	int		 at_bol;	/* pass 2: output at a line start */
	int		 data_prev_cr;	/* pass 2: preamble/epilogue CR */
	struct rp_scan	 scan;
	struct rp_emit	 em;
	/* output */
	int		 out_fd;
	struct buf	 out;
	struct buf	 tmp;
	struct buf	 ct_raw;	/* pass 1: this part's Content-Type */
	int		 ct_seen;
	/* pass 1's converted texts for pass 2 (plan.keep) */
	struct buf	*keeps;
	size_t		 nkeeps, kept_total;
	/* body lines gathered into chunks (repair.c, rp_on_data) */
	struct buf	 body;
	int		 body_pend;	/* body events not handed on yet */
	unsigned	 body_depth;	/* their depth */
};

/* repair.c */
int	repair_fail(struct rp_state *, int);

/* repair_scan.c (pass 1) */
int	repair_scan_header(struct rp_state *, const struct mime_event *,
	    struct rp_plan *, int is_ct, int is_cte);
int	repair_scan_headers_end(struct rp_state *, const struct mime_part *,
	    struct rp_plan *);
int	repair_scan_body(struct rp_state *, const char *, size_t, int fin);
int	repair_scan_part_end(struct rp_state *, const struct mime_event *,
	    struct rp_plan *, unsigned depth);
void	repair_scan_end(struct rp_scan *);
int	repair_scan_label_foreign(const struct charset_info *);
void	repair_scan_keeps_free(struct rp_state *);

/* repair_header.c */
int	repair_header_fix(struct rp_state *, const struct mime_event *,
	    struct buf *out, int *changed, const char **note);
int	repair_header_set_charset(const char *, size_t, const char *label,
	    struct buf *);
int	repair_header_ct_edit_ok(const struct buf *, const struct mime_part *,
	    const char *label, int *ok);
int	repair_header_to_utf8(const char *, const char *, size_t,
	    struct buf *);
int	repair_header_params_2231(const char *legacy_dec, const char *,
	    size_t, struct buf *, int *changed);
int	repair_header_7bit_decoder(const char *);
const char *const *repair_header_lie_readings(const char *);

/* repair_cte.c */
void	repair_cte_stat_init(struct rp_ostat *, unsigned qp_flags);
void	repair_cte_stat_feed(struct rp_ostat *, const void *, size_t);
void	repair_cte_stat_feed8(struct rp_ostat *, const void *, size_t,
	    int has8);
void	repair_cte_stat_finish(struct rp_ostat *);
enum codec_cte repair_cte_for(struct rp_state *,
	    const struct rp_ostat *, enum codec_cte in, int reencoding);
void	repair_cte_decide(struct rp_state *, const struct mime_part *,
	    struct rp_plan *, struct buf *why);
size_t	repair_cte_bare_lf(const char *, size_t, int prev_cr);
int	repair_cte_crlf(const char *, size_t, int *prev_cr, struct buf *);
int	repair_cte_decode(struct codec_dec *, int norm, int *prev_cr,
	    const char *, size_t, int fin, struct buf *tmp, struct buf *out);

/* repair_emit.c (pass 2) */
int	repair_emit_header(struct rp_state *, const struct mime_event *,
	    const struct rp_plan *, int is_ct, int is_cte);
int	repair_emit_headers_end(struct rp_state *, const struct mime_part *,
	    const struct rp_plan *, unsigned depth);
int	repair_emit_part_start(struct rp_state *, unsigned depth);
int	repair_emit_data(struct rp_state *, const struct mime_event *,
	    const struct rp_plan *, unsigned depth);
int	repair_emit_part_end(struct rp_state *, const struct rp_plan *,
	    unsigned depth);
int	repair_emit_flush(struct rp_state *);
int	repair_emit_finish(struct rp_state *);
void	repair_emit_end(struct rp_emit *);

/* repair_html.c (pass 2) */
void	repair_html_start(struct rp_emit *, const struct mime_part *,
	    const struct rp_plan *);
int	repair_html_filter(struct rp_emit *, struct buf **text, int fin);

/* repair_detect.c (pass 1, detect = yes) */
int	repair_detect_each(const char *list, int (*)(const char *, void *),
	    void *);
void	repair_detect_start(struct rp_scan *);
void	repair_detect_feed(struct rp_scan *, const char *, size_t);
const char *repair_detect_result(struct rp_state *, const char **guess);
void	repair_detect_end(struct rp_scan *);

/* repair_report.c */
void	repair_report_explain(struct rp_state *, const struct mime_part *,
	    unsigned depth, const char *what, const char *detail);

#endif
