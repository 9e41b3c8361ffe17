/*
 * charset - charset labels: what a label in mail means, and what to write.
 *
 * Decoding: charset_lookup() normalises a label as found in a message
 * (surrounding whitespace and quotes dropped, an RFC 2231 "*language"
 * suffix dropped, ASCII-lowercased, a quoted-printable leak "3D" in front
 * forgiven) and looks it up in one alias table: every WHATWG Encoding
 * Standard label, IANA names, Microsoft legacy labels (ks_c_5601-1987,
 * x-sjis, windows-31j, x-cp125x, ...) and the UTF-7 family. Each label maps
 * to the glibc iconv decoder that reads what senders meant, which is often
 * a superset of the label's literal meaning: CP932 for every Shift_JIS
 * label, CP949 for EUC-KR, GBK for GB2312, BIG5-HKSCS for Big5, CP874 for
 * TIS-620, ISO-8859-8 for iso-8859-8-i. iso-8859-1 and us-ascii keep their
 * own decoder but name windows-1252 as the decoder to use when the text has
 * bytes 0x80-0x9F (charset_has_c1()); charset_decoder_for() applies that
 * rule to a sample. A label the table does not know is tried with
 * iconv_open() as given; otherwise it is "unknown" and the caller applies
 * the unlabelled 8-bit rule (valid UTF-8, else the configured default).
 *
 * Encoding: charset_mime_label() gives the standard label to write for a
 * charset (never cp949/cp932/cp936: euc-kr, shift_jis, gbk, ...) and
 * charset_encoder() the iconv name to encode into. Encoders are strict
 * (euc-kr text is encoded as EUC-KR, not CP949) so that a character the
 * label cannot promise is reported by the converter and the part falls
 * back to UTF-8.
 *
 * This module does not convert text (see convert.h) and does not guess the
 * charset of unlabelled text. It allocates nothing: every string it returns
 * is static, except the names copied into a caller's struct charset_info.
 */
#ifndef IMC_CHARSET_H
#define IMC_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 2978 limits charset names to 40 octets; longer labels are unknown. */
#define CHARSET_NAME_MAX	40
#define CHARSET_NAME_SIZE	(CHARSET_NAME_MAX + 1)

/* How a label was resolved. */
enum charset_status {
	CHARSET_UNKNOWN = 0,	/* no decoder: treat the text as unlabelled */
	CHARSET_TABLE,		/* found in the alias table */
	CHARSET_ICONV		/* not in the table, but iconv_open() knows it */
};

/* The label declares 7-bit text (us-ascii): 8-bit bytes mean the label is
 * wrong and the text is really unlabelled. */
#define CHARSET_F_7BIT		0x01

struct charset_info {
	enum charset_status status;
	/* iconv name that reads what the sender meant ("" when unknown) */
	char	 decoder[CHARSET_NAME_SIZE];
	/* second choice when the decoder reports errors (GB18030 for GBK),
	 * or NULL */
	const char *alt_decoder;
	/* decode with this instead when the text has bytes 0x80-0x9F
	 * (WINDOWS-1252 for iso-8859-1 and us-ascii), or NULL */
	const char *c1_decoder;
	/* standard MIME label and strict iconv encoder for writing this
	 * charset, or NULL (labels known only to iconv are not written) */
	const char *mime;
	const char *encoder;
	unsigned flags;		/* CHARSET_F_* */
};

enum charset_status charset_lookup(const char *label, size_t len,
	    struct charset_info *);
const char *charset_decoder_for(const struct charset_info *,
	    const void *sample, size_t len);
bool	charset_has_c1(const void *, size_t);

/* What charset_high_count() adds up: bytes 0xC0-0xDF and 0xE0-0xFF, and
 * whether a byte 0x80-0x9F was seen. */
struct charset_high {
	uint64_t c0, e0;
	bool	 c1;
};
void	charset_high_count(const void *, size_t, struct charset_high *);
bool	charset_has_8bit(const void *, size_t);
bool	charset_ascii_compatible(const char *iconv_name);
const char *charset_mime_label(const char *label);
const char *charset_encoder(const char *label);
const char *charset_label_at(size_t i);

#endif
