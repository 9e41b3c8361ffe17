/*
 * codec - tolerant base64 and quoted-printable, streaming, both directions.
 *
 * A decoder or encoder is a small struct the caller embeds (no allocation,
 * nothing to free): init it, feed it chunks of any size, then finish it.
 * Output is appended to a struct buf the caller owns. Chunk boundaries never
 * change the result: the little state that spans them (a partial base64
 * quantum, an "=" waiting for its hex digits, whitespace that may turn out to
 * be trailing) lives in the struct. The fields are private.
 *
 * Decoders accept what real mail contains and count what they had to forgive
 * (CODEC_DEFECT_* bits plus a counter): base64 with line breaks, spaces or
 * other garbage between the characters, missing or extra padding; quoted-
 * printable with lowercase hex, soft line breaks followed by spaces, "="
 * not followed by two hex digits (passed through literally), raw 8-bit
 * bytes. Quoted-printable decoding drops whitespace at the end of a line
 * (RFC 2045 6.7 rule 3) and keeps the line breaks as written (CRLF or LF).
 *
 * Encoders write 76-column lines ending in CRLF. Base64 ends its last line
 * with CRLF too. Quoted-printable soft-breaks lines at 76 columns (the "="
 * included), never inside an "=XX" triplet, encodes "=", 8-bit bytes,
 * control characters and whitespace before a line break or at the end; in
 * text mode a CRLF or bare LF of the input is a line break of the output,
 * in binary mode (CODEC_ENC_BINARY) CR and LF are encoded as =0D and =0A.
 *
 * Errors: functions returning int give 0, or -1 only when a size
 * overflows (see buf.h; out of memory is fatal, see xalloc.h); the output
 * buffer may then hold part of the result.
 */
#ifndef IMC_CODEC_H
#define IMC_CODEC_H

#include <stddef.h>

#include "buf.h"

/* Content-Transfer-Encoding values (RFC 2045 6.1). */
enum codec_cte {
	CODEC_CTE_7BIT,
	CODEC_CTE_8BIT,
	CODEC_CTE_BINARY,
	CODEC_CTE_QP,
	CODEC_CTE_BASE64,
	CODEC_CTE_UNKNOWN	/* decoded as identity */
};

/* Defects a decoder forgave (bit mask). */
#define CODEC_DEFECT_B64_GARBAGE	0x0001	/* non-alphabet bytes skipped */
#define CODEC_DEFECT_B64_PADDING	0x0002	/* missing, short or stray "=" */
#define CODEC_DEFECT_B64_TRUNCATED	0x0004	/* a lone 6-bit group at the end */
#define CODEC_DEFECT_B64_AFTER_PAD	0x0008	/* data after the padding */
#define CODEC_DEFECT_QP_BAD_ESCAPE	0x0010	/* "=" not followed by 2 hex */
#define CODEC_DEFECT_QP_LOWER_HEX	0x0020	/* "=3d" instead of "=3D" */
#define CODEC_DEFECT_QP_RAW_BYTE	0x0040	/* 8-bit or control byte */
#define CODEC_DEFECT_QP_LONG_LINE	0x0080	/* line over 76 characters */

/* Encoder flags. */
#define CODEC_ENC_BINARY	0x01	/* QP: CR and LF are data, not breaks */

#define CODEC_LINE_MAX		76	/* encoded line length, CRLF excluded */

struct codec_dec {
	enum codec_cte	 cte;
	unsigned	 defects;	/* CODEC_DEFECT_* */
	size_t		 ndefects;	/* forgiven defects, counted */
	/* private */
	unsigned	 state;
	unsigned	 acc;		/* base64 bits; QP first hex digit */
	unsigned	 nacc;		/* base64 characters in the quantum */
	unsigned	 padneed;	/* base64 "=" still expected */
	size_t		 col;		/* QP input column */
	unsigned char	 ws[32];	/* QP whitespace that may be trailing */
	unsigned	 nws;
};

struct codec_enc {
	enum codec_cte	 cte;
	unsigned	 flags;		/* CODEC_ENC_* */
	size_t		 total;		/* output bytes so far */
	/* private */
	unsigned	 col;		/* output column */
	unsigned char	 hold[3];	/* base64 partial group; QP held byte */
	unsigned	 nhold;
	int		 held_cr;	/* QP text mode: CR waiting for LF */
};

/* Decoding. */
void	codec_dec_init(struct codec_dec *, enum codec_cte);
int	codec_dec_feed(struct codec_dec *, const void *, size_t, struct buf *);
int	codec_dec_finish(struct codec_dec *, struct buf *);

int	codec_b64_decode(const void *, size_t, struct buf *, unsigned *defects);
int	codec_qp_decode(const void *, size_t, struct buf *, unsigned *defects);

/* Encoding; a NULL output buffer only counts (see total). */
void	codec_enc_init(struct codec_enc *, enum codec_cte, unsigned flags);
int	codec_enc_feed(struct codec_enc *, const void *, size_t, struct buf *);
int	codec_enc_finish(struct codec_enc *, struct buf *);

int	codec_b64_encode(const void *, size_t, struct buf *);
int	codec_qp_encode(const void *, size_t, unsigned flags, struct buf *);

/* Sizes and the choice for a 7-bit downgrade. */
size_t	codec_b64_encoded_len(size_t);
size_t	codec_qp_encoded_len(const void *, size_t, unsigned flags);
enum codec_cte codec_choose_7bit(const void *, size_t, unsigned flags);

/* Names. */
enum codec_cte codec_cte_parse(const char *, size_t);
const char *codec_cte_name(enum codec_cte);

#endif
