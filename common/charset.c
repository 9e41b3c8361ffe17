/*
 * charset - charset labels (see charset.h).
 *
 * The table is the WHATWG Encoding Standard label list (encodings.json,
 * 217 labels) with each encoding mapped to its glibc superset decoder, plus
 * the labels mail has and browsers do not: IANA names, Microsoft legacy
 * labels, the UTF-7 family, the iconv names cp949/cp932/cp936 (which may be
 * read but are never written), and known junk that must not reach iconv.
 * Measured facts behind each choice are in spec/charsets.md.
 */
#include "charset.h"

#include <iconv.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string.h>
#include <strings.h>

#include "utf8.h"

struct charset_row {
	const char *label;	/* normalised: lowercase, no spaces */
	const char *decoder;	/* NULL: known junk, treat as unknown */
	const char *alt_decoder;
	const char *c1_decoder;
	const char *mime;
	const char *encoder;
	unsigned flags;
};

/* One macro per encoding: decoder, alt, c1, mime, encoder, flags. */
#define E_UTF8		"UTF-8", NULL, NULL, "utf-8", "UTF-8", 0
#define E_UTF7		"UTF-7", NULL, NULL, "utf-7", "UTF-7", 0
#define E_UTF16		"UTF-16", NULL, NULL, "utf-16", "UTF-16", 0
#define E_UTF16LE	"UTF-16LE", NULL, NULL, "utf-16le", "UTF-16LE", 0
#define E_UTF16BE	"UTF-16BE", NULL, NULL, "utf-16be", "UTF-16BE", 0
#define E_UTF32		"UTF-32", NULL, NULL, "utf-32", "UTF-32", 0
#define E_UTF32LE	"UTF-32LE", NULL, NULL, "utf-32le", "UTF-32LE", 0
#define E_UTF32BE	"UTF-32BE", NULL, NULL, "utf-32be", "UTF-32BE", 0
#define E_IBM866	"IBM866", NULL, NULL, "ibm866", "IBM866", 0
#define E_IBM850	"IBM850", NULL, NULL, "ibm850", "IBM850", 0
#define E_IBM437	"IBM437", NULL, NULL, "ibm437", "IBM437", 0
#define E_ASCII		"ASCII", NULL, "WINDOWS-1252", "us-ascii", "ASCII", \
			CHARSET_F_7BIT
#define E_LATIN1	"ISO-8859-1", NULL, "WINDOWS-1252", "iso-8859-1", \
			"ISO-8859-1", 0
#define E_8859(n)	"ISO-8859-" #n, NULL, NULL, "iso-8859-" #n, \
			"ISO-8859-" #n, 0
#define E_LATIN5	"ISO-8859-9", NULL, "WINDOWS-1254", "iso-8859-9", \
			"ISO-8859-9", 0
#define E_8859_6	"ISO-8859-6", NULL, NULL, "iso-8859-6", "ISO-8859-6", 0
/* -i (logical order) and -e/visual are the same bytes as iso-8859-8 */
#define E_8859_8I	"ISO-8859-8", NULL, NULL, "iso-8859-8-i", \
			"ISO-8859-8", 0
#define E_WIN(n)	"WINDOWS-" #n, NULL, NULL, "windows-" #n, \
			"WINDOWS-" #n, 0
#define E_WIN874	"CP874", NULL, NULL, "windows-874", "CP874", 0
#define E_KOI8R		"KOI8-R", NULL, NULL, "koi8-r", "KOI8-R", 0
/* WHATWG koi8-u decodes as KOI8-RU (adds U+045E/U+040E at 0xAE/0xBE) */
#define E_KOI8U		"KOI8-RU", NULL, NULL, "koi8-u", "KOI8-U", 0
#define E_KOI8RU	"KOI8-RU", NULL, NULL, "koi8-ru", "KOI8-RU", 0
#define E_MAC		"MACINTOSH", NULL, NULL, "macintosh", "MACINTOSH", 0
#define E_MACCYR	"MAC-CYRILLIC", NULL, NULL, "x-mac-cyrillic", \
			"MAC-CYRILLIC", 0
#define E_MACUK		"MAC-UK", NULL, NULL, "x-mac-ukrainian", "MAC-UK", 0
#define E_MACCE		"MAC-CENTRALEUROPE", NULL, NULL, "x-mac-ce", \
			"MAC-CENTRALEUROPE", 0
#define E_GB2312	"GBK", "GB18030", NULL, "gb2312", "GB2312", 0
#define E_GBK		"GBK", "GB18030", NULL, "gbk", "GBK", 0
#define E_GB18030	"GB18030", NULL, NULL, "gb18030", "GB18030", 0
#define E_BIG5		"BIG5-HKSCS", "CP950", NULL, "big5", "BIG5", 0
#define E_HKSCS		"BIG5-HKSCS", "CP950", NULL, "big5-hkscs", \
			"BIG5-HKSCS", 0
#define E_EUCJP		"EUC-JP", "EUC-JP-MS", NULL, "euc-jp", "EUC-JP", 0
/* ISO-2022-JP copies unknown escapes (ESC ( I) through; -2 decodes them.
 * Windows mailers wrote NEC row 13 and the IBM extensions under the same
 * label (CP50221): the second choice reads that superset (jisms.h). */
#define E_2022JP	"ISO-2022-JP-2", "ISO-2022-JP-MS", NULL, "iso-2022-jp", \
			"ISO-2022-JP", 0
#define E_2022JP2	"ISO-2022-JP-2", NULL, NULL, "iso-2022-jp-2", \
			"ISO-2022-JP-2", 0
/* CP932 keeps 0x5C as '\' and has the NEC/IBM rows; SHIFT_JIS has not */
#define E_SJIS		"CP932", NULL, NULL, "shift_jis", "CP932", 0
/* EUC-KR in glibc corrupts UHC syllables silently; CP949 reads them */
#define E_EUCKR		"CP949", NULL, NULL, "euc-kr", "EUC-KR", 0
#define E_JOHAB		"JOHAB", NULL, NULL, "johab", "JOHAB", 0
#define E_2022KR	"ISO-2022-KR", NULL, NULL, "iso-2022-kr", \
			"ISO-2022-KR", 0
#define E_2022CN	"ISO-2022-CN", NULL, NULL, "iso-2022-cn", \
			"ISO-2022-CN", 0
#define E_2022CNEXT	"ISO-2022-CN-EXT", NULL, NULL, "iso-2022-cn-ext", \
			"ISO-2022-CN-EXT", 0
#define E_NONE		NULL, NULL, NULL, NULL, NULL, 0

static const struct charset_row charset_table[] = {
	/* WHATWG "The Encoding" */
	{ "unicode-1-1-utf-8", E_UTF8 },
	{ "utf-8", E_UTF8 },
	{ "utf8", E_UTF8 },
	/* WHATWG legacy single-byte encodings */
	{ "866", E_IBM866 },
	{ "cp866", E_IBM866 },
	{ "csibm866", E_IBM866 },
	{ "ibm866", E_IBM866 },
	{ "csisolatin2", E_8859(2) },
	{ "iso-8859-2", E_8859(2) },
	{ "iso-ir-101", E_8859(2) },
	{ "iso8859-2", E_8859(2) },
	{ "iso88592", E_8859(2) },
	{ "iso_8859-2", E_8859(2) },
	{ "iso_8859-2:1987", E_8859(2) },
	{ "l2", E_8859(2) },
	{ "latin2", E_8859(2) },
	{ "csisolatin3", E_8859(3) },
	{ "iso-8859-3", E_8859(3) },
	{ "iso-ir-109", E_8859(3) },
	{ "iso8859-3", E_8859(3) },
	{ "iso88593", E_8859(3) },
	{ "iso_8859-3", E_8859(3) },
	{ "iso_8859-3:1988", E_8859(3) },
	{ "l3", E_8859(3) },
	{ "latin3", E_8859(3) },
	{ "csisolatin4", E_8859(4) },
	{ "iso-8859-4", E_8859(4) },
	{ "iso-ir-110", E_8859(4) },
	{ "iso8859-4", E_8859(4) },
	{ "iso88594", E_8859(4) },
	{ "iso_8859-4", E_8859(4) },
	{ "iso_8859-4:1988", E_8859(4) },
	{ "l4", E_8859(4) },
	{ "latin4", E_8859(4) },
	{ "csisolatincyrillic", E_8859(5) },
	{ "cyrillic", E_8859(5) },
	{ "iso-8859-5", E_8859(5) },
	{ "iso-ir-144", E_8859(5) },
	{ "iso8859-5", E_8859(5) },
	{ "iso88595", E_8859(5) },
	{ "iso_8859-5", E_8859(5) },
	{ "iso_8859-5:1988", E_8859(5) },
	{ "arabic", E_8859_6 },
	{ "asmo-708", E_8859_6 },
	{ "csiso88596e", E_8859_6 },
	{ "csiso88596i", E_8859_6 },
	{ "csisolatinarabic", E_8859_6 },
	{ "ecma-114", E_8859_6 },
	{ "iso-8859-6", E_8859_6 },
	{ "iso-8859-6-e", E_8859_6 },
	{ "iso-8859-6-i", E_8859_6 },
	{ "iso-ir-127", E_8859_6 },
	{ "iso8859-6", E_8859_6 },
	{ "iso88596", E_8859_6 },
	{ "iso_8859-6", E_8859_6 },
	{ "iso_8859-6:1987", E_8859_6 },
	{ "csisolatingreek", E_8859(7) },
	{ "ecma-118", E_8859(7) },
	{ "elot_928", E_8859(7) },
	{ "greek", E_8859(7) },
	{ "greek8", E_8859(7) },
	{ "iso-8859-7", E_8859(7) },
	{ "iso-ir-126", E_8859(7) },
	{ "iso8859-7", E_8859(7) },
	{ "iso88597", E_8859(7) },
	{ "iso_8859-7", E_8859(7) },
	{ "iso_8859-7:1987", E_8859(7) },
	{ "sun_eu_greek", E_8859(7) },
	{ "csiso88598e", E_8859(8) },
	{ "csisolatinhebrew", E_8859(8) },
	{ "hebrew", E_8859(8) },
	{ "iso-8859-8", E_8859(8) },
	{ "iso-8859-8-e", E_8859(8) },
	{ "iso-ir-138", E_8859(8) },
	{ "iso8859-8", E_8859(8) },
	{ "iso88598", E_8859(8) },
	{ "iso_8859-8", E_8859(8) },
	{ "iso_8859-8:1988", E_8859(8) },
	{ "visual", E_8859(8) },
	{ "csiso88598i", E_8859_8I },
	{ "iso-8859-8-i", E_8859_8I },
	{ "logical", E_8859_8I },
	{ "csisolatin6", E_8859(10) },
	{ "iso-8859-10", E_8859(10) },
	{ "iso-ir-157", E_8859(10) },
	{ "iso8859-10", E_8859(10) },
	{ "iso885910", E_8859(10) },
	{ "l6", E_8859(10) },
	{ "latin6", E_8859(10) },
	{ "iso-8859-13", E_8859(13) },
	{ "iso8859-13", E_8859(13) },
	{ "iso885913", E_8859(13) },
	{ "iso-8859-14", E_8859(14) },
	{ "iso8859-14", E_8859(14) },
	{ "iso885914", E_8859(14) },
	{ "csisolatin9", E_8859(15) },
	{ "iso-8859-15", E_8859(15) },
	{ "iso8859-15", E_8859(15) },
	{ "iso885915", E_8859(15) },
	{ "iso_8859-15", E_8859(15) },
	{ "l9", E_8859(15) },
	{ "iso-8859-16", E_8859(16) },
	{ "cskoi8r", E_KOI8R },
	{ "koi", E_KOI8R },
	{ "koi8", E_KOI8R },
	{ "koi8-r", E_KOI8R },
	{ "koi8_r", E_KOI8R },
	{ "koi8-u", E_KOI8U },
	{ "csmacintosh", E_MAC },
	{ "mac", E_MAC },
	{ "macintosh", E_MAC },
	{ "x-mac-roman", E_MAC },
	{ "dos-874", E_WIN874 },
	{ "iso-8859-11", E_WIN874 },
	{ "iso8859-11", E_WIN874 },
	{ "iso885911", E_WIN874 },
	{ "tis-620", E_WIN874 },
	{ "windows-874", E_WIN874 },
	{ "cp1250", E_WIN(1250) },
	{ "windows-1250", E_WIN(1250) },
	{ "x-cp1250", E_WIN(1250) },
	{ "cp1251", E_WIN(1251) },
	{ "windows-1251", E_WIN(1251) },
	{ "x-cp1251", E_WIN(1251) },
	/* WHATWG windows-1252: the ASCII and Latin-1 labels keep their own
	 * decoder and upgrade to windows-1252 only when C1 bytes occur */
	{ "ansi_x3.4-1968", E_ASCII },
	{ "ascii", E_ASCII },
	{ "cp1252", E_WIN(1252) },
	{ "cp819", E_LATIN1 },
	{ "csisolatin1", E_LATIN1 },
	{ "ibm819", E_LATIN1 },
	{ "iso-8859-1", E_LATIN1 },
	{ "iso-ir-100", E_LATIN1 },
	{ "iso8859-1", E_LATIN1 },
	{ "iso88591", E_LATIN1 },
	{ "iso_8859-1", E_LATIN1 },
	{ "iso_8859-1:1987", E_LATIN1 },
	{ "l1", E_LATIN1 },
	{ "latin1", E_LATIN1 },
	{ "us-ascii", E_ASCII },
	{ "windows-1252", E_WIN(1252) },
	{ "x-cp1252", E_WIN(1252) },
	{ "cp1253", E_WIN(1253) },
	{ "windows-1253", E_WIN(1253) },
	{ "x-cp1253", E_WIN(1253) },
	{ "cp1254", E_WIN(1254) },
	{ "csisolatin5", E_LATIN5 },
	{ "iso-8859-9", E_LATIN5 },
	{ "iso-ir-148", E_LATIN5 },
	{ "iso8859-9", E_LATIN5 },
	{ "iso88599", E_LATIN5 },
	{ "iso_8859-9", E_LATIN5 },
	{ "iso_8859-9:1989", E_LATIN5 },
	{ "l5", E_LATIN5 },
	{ "latin5", E_LATIN5 },
	{ "windows-1254", E_WIN(1254) },
	{ "x-cp1254", E_WIN(1254) },
	{ "cp1255", E_WIN(1255) },
	{ "windows-1255", E_WIN(1255) },
	{ "x-cp1255", E_WIN(1255) },
	{ "cp1256", E_WIN(1256) },
	{ "windows-1256", E_WIN(1256) },
	{ "x-cp1256", E_WIN(1256) },
	{ "cp1257", E_WIN(1257) },
	{ "windows-1257", E_WIN(1257) },
	{ "x-cp1257", E_WIN(1257) },
	{ "cp1258", E_WIN(1258) },
	{ "windows-1258", E_WIN(1258) },
	{ "x-cp1258", E_WIN(1258) },
	{ "x-mac-cyrillic", E_MACCYR },
	{ "x-mac-ukrainian", E_MACUK },
	/* WHATWG legacy multi-byte Chinese (simplified) */
	{ "chinese", E_GB2312 },
	{ "csgb2312", E_GB2312 },
	{ "csiso58gb231280", E_GB2312 },
	{ "gb2312", E_GB2312 },
	{ "gb_2312", E_GB2312 },
	{ "gb_2312-80", E_GB2312 },
	{ "gbk", E_GBK },
	{ "iso-ir-58", E_GB2312 },
	{ "x-gbk", E_GBK },
	{ "gb18030", E_GB18030 },
	/* WHATWG legacy multi-byte Chinese (traditional) */
	{ "big5", E_BIG5 },
	{ "big5-hkscs", E_HKSCS },
	{ "cn-big5", E_BIG5 },
	{ "csbig5", E_BIG5 },
	{ "x-x-big5", E_BIG5 },
	/* WHATWG legacy multi-byte Japanese */
	{ "cseucpkdfmtjapanese", E_EUCJP },
	{ "euc-jp", E_EUCJP },
	{ "x-euc-jp", E_EUCJP },
	{ "csiso2022jp", E_2022JP },
	{ "iso-2022-jp", E_2022JP },
	{ "csshiftjis", E_SJIS },
	{ "ms932", E_SJIS },
	{ "ms_kanji", E_SJIS },
	{ "shift-jis", E_SJIS },
	{ "shift_jis", E_SJIS },
	{ "sjis", E_SJIS },
	{ "windows-31j", E_SJIS },
	{ "x-sjis", E_SJIS },
	/* WHATWG legacy multi-byte Korean */
	{ "cseuckr", E_EUCKR },
	{ "csksc56011987", E_EUCKR },
	{ "euc-kr", E_EUCKR },
	{ "iso-ir-149", E_EUCKR },
	{ "korean", E_EUCKR },
	{ "ks_c_5601-1987", E_EUCKR },
	{ "ks_c_5601-1989", E_EUCKR },
	{ "ksc5601", E_EUCKR },
	{ "ksc_5601", E_EUCKR },
	{ "windows-949", E_EUCKR },
	/* WHATWG "replacement" (browsers refuse them); mail has real
	 * ISO-2022-KR/CN (RFC 1557, 1922) and glibc reads them. glibc has
	 * no HZ. */
	{ "csiso2022kr", E_2022KR },
	{ "hz-gb-2312", E_NONE },
	{ "iso-2022-cn", E_2022CN },
	{ "iso-2022-cn-ext", E_2022CNEXT },
	{ "iso-2022-kr", E_2022KR },
	/* WHATWG legacy miscellaneous; glibc UTF-16 honours a BOM */
	{ "utf-16be", E_UTF16BE },
	{ "utf-16", E_UTF16 },
	{ "utf-16le", E_UTF16LE },
	{ "x-user-defined", E_NONE },
	/* end of the 217 WHATWG labels */

	/* UTF-7 family (absent from WHATWG; Exchange writes it) and the
	 * UTF-8 twins of the same vintage */
	{ "utf-7", E_UTF7 },
	{ "utf7", E_UTF7 },
	{ "unicode-1-1-utf-7", E_UTF7 },
	{ "csunicode11utf7", E_UTF7 },
	{ "unicode-2-0-utf-7", E_UTF7 },
	{ "x-unicode-2-0-utf-7", E_UTF7 },
	{ "csutf7", E_UTF7 },
	{ "unicode-2-0-utf-8", E_UTF8 },
	{ "x-unicode-2-0-utf-8", E_UTF8 },
	{ "csutf8", E_UTF8 },
	/* IANA names and aliases not in WHATWG */
	{ "ansi-x3.4-1968", E_ASCII },
	{ "ansi_x3.4-1986", E_ASCII },
	{ "iso_646.irv:1991", E_ASCII },
	{ "iso646-us", E_ASCII },
	{ "iso-ir-6", E_ASCII },
	{ "us", E_ASCII },
	{ "ibm367", E_ASCII },
	{ "cp367", E_ASCII },
	{ "csascii", E_ASCII },
	{ "latin-1", E_LATIN1 },
	{ "iso-8859-9-windows-latin-5", E_WIN(1254) },
	{ "iso-8859-1-windows-3.1-latin-1", E_WIN(1252) },
	{ "cswindows31latin1", E_WIN(1252) },
	{ "latin-9", E_8859(15) },
	{ "latin9", E_8859(15) },
	{ "iso_8859-16", E_8859(16) },
	{ "iso8859-16", E_8859(16) },
	{ "latin10", E_8859(16) },
	{ "l10", E_8859(16) },
	{ "iso-2022-jp-2", E_2022JP2 },
	{ "csiso2022jp2", E_2022JP2 },
	{ "euc-jp-ms", "EUC-JP-MS", NULL, NULL, "euc-jp", "EUC-JP", 0 },
	{ "euc-cn", E_GB2312 },
	{ "x-euc-cn", E_GB2312 },
	{ "cp936", E_GBK },
	{ "ms936", E_GBK },
	{ "windows-936", E_GBK },
	{ "gb18030-2000", E_GB18030 },
	{ "big5hkscs", E_HKSCS },
	{ "cp950", E_BIG5 },
	{ "windows-950", E_BIG5 },
	{ "cp932", E_SJIS },
	{ "cp949", E_EUCKR },
	{ "uhc", E_EUCKR },
	{ "ks_c_5601", E_EUCKR },
	{ "ks_c_5601-1992", E_EUCKR },
	{ "johab", E_JOHAB },
	{ "cp874", E_WIN874 },
	{ "x-cp874", E_WIN874 },
	{ "koi8-ru", E_KOI8RU },
	{ "x-mac-ce", E_MACCE },
	{ "x-mac-centraleurope", E_MACCE },
	{ "ibm850", E_IBM850 },
	{ "cp850", E_IBM850 },
	{ "850", E_IBM850 },
	{ "ibm437", E_IBM437 },
	{ "cp437", E_IBM437 },
	{ "437", E_IBM437 },
	{ "utf-32", E_UTF32 },
	{ "utf-32le", E_UTF32LE },
	{ "utf-32be", E_UTF32BE },
	/* junk seen in mail: unknown on purpose, so that the text gets the
	 * unlabelled rule instead of a guess */
	{ "x-unknown", E_NONE },
	{ "unknown-8bit", E_NONE },
	{ "unknown", E_NONE },
	{ "uft-8", E_NONE },
	{ "utf-8-base64", E_NONE },
};

#define CHARSET_ROWS (sizeof(charset_table) / sizeof(charset_table[0]))

/* charset_is_space - ASCII whitespace as WHATWG strips it */
static int
charset_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* charset_trim - drop whitespace and quotes on both sides */
static void
charset_trim(const char **p, size_t *len)
{
	const char *s = *p;
	size_t n = *len;

	while (n > 0 && (charset_is_space((unsigned char)s[0]) ||
	    s[0] == '"' || s[0] == '\'')) {
		s++;
		n--;
	}
	while (n > 0 && (charset_is_space((unsigned char)s[n - 1]) ||
	    s[n - 1] == '"' || s[n - 1] == '\''))
		n--;
	*p = s;
	*len = n;
}

/* charset_normalise - label to lowercase key; -1 if empty or too long */
static int
charset_normalise(const char *label, size_t len, char key[CHARSET_NAME_SIZE])
{
	const char *star;
	size_t i;

	charset_trim(&label, &len);
	/* RFC 2231 / RFC 2184 "charset*language": the language is no part
	 * of the charset */
	if ((star = memchr(label, '*', len)) != NULL) {
		len = (size_t)(star - label);
		charset_trim(&label, &len);
	}
	if (len == 0 || len > CHARSET_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)label[i];

		if (c == '\0')
			return -1;
		key[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	key[len] = '\0';
	return 0;
}

/* charset_find - the table row for a normalised key, or NULL */
static const struct charset_row *
charset_find(const char *key)
{
	size_t i;

	for (i = 0; i < CHARSET_ROWS; i++)
		if (strcmp(charset_table[i].label, key) == 0)
			return &charset_table[i];
	return NULL;
}

/* charset_find_key - look a label up, forgiving a quoted-printable "3D" */
static const struct charset_row *
charset_find_key(char key[CHARSET_NAME_SIZE])
{
	const struct charset_row *row;
	const char *rest;
	size_t len;

	if ((row = charset_find(key)) != NULL)
		return row;
	/* charset=3Dgb2312: a "=" encoded as in quoted-printable leaked into
	 * the header; "3d" itself is no label, so the meaning is certain. */
	if (key[0] == '3' && key[1] == 'd') {
		rest = key + 2;
		len = strlen(rest);
		charset_trim(&rest, &len);
		if (len > 0) {
			memmove(key, rest, len);
			key[len] = '\0';
			return charset_find(key);
		}
	}
	return NULL;
}

/* charset_iconv_safe - may this key be handed to iconv_open() as a name */
static int
charset_iconv_safe(const char *key)
{
	const char *p;

	/* "" is the locale charset and "//" adds TRANSLIT/IGNORE; allow
	 * only the characters of registered names */
	if (*key == '\0')
		return 0;
	for (p = key; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.:()+", *p) != NULL))
			return 0;
	return 1;
}

/* charset_iconv_knows - does glibc open a decoder for this name */
static int
charset_iconv_knows(const char *name)
{
	iconv_t cd;

	if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
		return 0;
	iconv_close(cd);
	return 1;
}

/* charset_lookup - what a label found in mail means */
enum charset_status
charset_lookup(const char *label, size_t len, struct charset_info *ci)
{
	const struct charset_row *row;
	char key[CHARSET_NAME_SIZE];
	size_t i;

	memset(ci, 0, sizeof(*ci));
	ci->status = CHARSET_UNKNOWN;
	if (label == NULL || charset_normalise(label, len, key) == -1)
		return ci->status;
	if ((row = charset_find_key(key)) != NULL) {
		if (row->decoder == NULL)
			return ci->status;
		ci->status = CHARSET_TABLE;
		/* table names are shorter than CHARSET_NAME_SIZE */
		strcpy(ci->decoder, row->decoder);
		ci->alt_decoder = row->alt_decoder;
		ci->c1_decoder = row->c1_decoder;
		ci->mime = row->mime;
		ci->encoder = row->encoder;
		ci->flags = row->flags;
		return ci->status;
	}
	if (!charset_iconv_safe(key) || !charset_iconv_knows(key))
		return ci->status;
	ci->status = CHARSET_ICONV;
	for (i = 0; key[i] != '\0'; i++)
		ci->decoder[i] = (char)(key[i] >= 'a' && key[i] <= 'z' ?
		    key[i] - ('a' - 'A') : key[i]);
	ci->decoder[i] = '\0';
	return ci->status;
}

/* charset_8bit_at - offset of the first 32-byte block of s holding a byte
 * 0x80-0xFF (len rounded down to blocks if none): bodies are scanned for
 * 8-bit bytes many times, and ASCII text is most of them */
static size_t
charset_8bit_at(const unsigned char *s, size_t len)
{
	uint64_t w[4];
	size_t i;

	for (i = 0; len - i >= sizeof(w); i += sizeof(w)) {
		memcpy(w, s + i, sizeof(w));
		if ((w[0] | w[1] | w[2] | w[3]) & UINT64_C(0x8080808080808080))
			break;
	}
	return i;
}

/* charset_has_c1 - does the text have a byte 0x80-0x9F: 16 bytes at a time
 * where SSE2 is (every x86-64), as text in Cyrillic or Greek has 8-bit
 * bytes in every block and none of them C1 */
bool
charset_has_c1(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i = 0, end;
#if defined(__SSE2__)
	const __m128i top3 = _mm_set1_epi8((char)0xE0);
	const __m128i c1 = _mm_set1_epi8((char)0x80);
	__m128i v;

	for (; len - i >= 16; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		v = _mm_and_si128(v, top3);
		if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, c1)) != 0)
			return true;
	}
#endif
	while (i < len) {
		i += charset_8bit_at(s + i, len - i);
		end = len - i > 32 ? i + 32 : len;
		for (; i < end; i++)
			if (s[i] >= 0x80 && s[i] <= 0x9F)
				return true;
	}
	return false;
}

/* charset_high_count - add to h what the text holds of bytes 0xC0-0xDF and
 * 0xE0-0xFF, and set h->c1 if it has a byte 0x80-0x9F: one pass, 16 bytes
 * at a time where SSE2 is (the repair library counts these in every body
 * labelled KOI8-R or windows-1251, to tell the two apart) */
void
charset_high_count(const void *p, size_t len, struct charset_high *h)
{
	const unsigned char *s = p;
	uint64_t c0 = 0, e0 = 0;
	size_t i = 0;
	bool c1 = h->c1;
#if defined(__SSE2__)
	const __m128i top3 = _mm_set1_epi8((char)0xE0);
	const __m128i kc0 = _mm_set1_epi8((char)0xC0);
	const __m128i k80 = _mm_set1_epi8((char)0x80);
	const __m128i zero = _mm_setzero_si128();
	__m128i v, a0, ae, sum;
	size_t k;

	while (len - i >= 16) {
		/* per-byte counters (a match is -1, subtracted): 255 blocks at
		 * most before they are summed */
		a0 = ae = zero;
		for (k = 0; k < 255 && len - i >= 16; k++, i += 16) {
			v = _mm_and_si128(_mm_loadu_si128((const __m128i *)
			    (const void *)(s + i)), top3);
			a0 = _mm_sub_epi8(a0, _mm_cmpeq_epi8(v, kc0));
			ae = _mm_sub_epi8(ae, _mm_cmpeq_epi8(v, top3));
			if (!c1 && _mm_movemask_epi8(_mm_cmpeq_epi8(v,
			    k80)) != 0)
				c1 = true;
		}
		sum = _mm_sad_epu8(a0, zero);
		c0 += (uint64_t)_mm_cvtsi128_si32(sum) +
		    (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
		sum = _mm_sad_epu8(ae, zero);
		e0 += (uint64_t)_mm_cvtsi128_si32(sum) +
		    (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
	}
#endif
	for (; i < len; i++) {
		c0 += s[i] >= 0xC0 && s[i] <= 0xDF;
		e0 += s[i] >= 0xE0;
		c1 = c1 || (s[i] >= 0x80 && s[i] <= 0x9F);
	}
	h->c0 += c0;
	h->e0 += e0;
	h->c1 = c1;
}

/* charset_has_8bit - does the text have a byte 0x80-0xFF */
bool
charset_has_8bit(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	for (i = charset_8bit_at(s, len); i < len; i++)
		if (s[i] >= 0x80)
			return true;
	return false;
}

/* charset_ascii_compatible - does the iconv charset write ASCII as the
 * same bytes and use no ASCII byte for anything else (not UTF-16/32,
 * UTF-7, ISO-2022 or HZ, which shift with ESC, "+" or "~") */
bool
charset_ascii_compatible(const char *iconv_name)
{
	static const char *const not[] = { "UTF-16", "UTF-32", "UCS",
	    "UTF-7", "ISO-2022", "HZ", "CSISO2022", "UNICODE", NULL };
	size_t i;

	for (i = 0; not[i] != NULL; i++)
		if (strncasecmp(iconv_name, not[i], strlen(not[i])) == 0)
			return false;
	return true;
}

/* charset_decoder_for - the decoder to use for this text under this label */
const char *
charset_decoder_for(const struct charset_info *ci, const void *sample,
    size_t len)
{
	if (ci->status == CHARSET_UNKNOWN)
		return NULL;
	/* us-ascii with 8-bit bytes is unlabelled: UTF-8 if it is valid
	 * UTF-8, else windows-1252 (WHATWG reads every byte with it) */
	if ((ci->flags & CHARSET_F_7BIT) && charset_has_8bit(sample, len))
		return utf8_valid(sample, len) ? "UTF-8" :
		    ci->c1_decoder;
	if (ci->c1_decoder != NULL && charset_has_c1(sample, len))
		return ci->c1_decoder;
	return ci->decoder;
}

/* charset_output_row - the table row for a label in the output direction */
static const struct charset_row *
charset_output_row(const char *label)
{
	const struct charset_row *row;
	char key[CHARSET_NAME_SIZE];

	if (label == NULL ||
	    charset_normalise(label, strlen(label), key) == -1)
		return NULL;
	if ((row = charset_find_key(key)) == NULL || row->mime == NULL)
		return NULL;
	return row;
}

/* charset_mime_label - the standard MIME label to write for a charset */
const char *
charset_mime_label(const char *label)
{
	const struct charset_row *row = charset_output_row(label);

	return row != NULL ? row->mime : NULL;
}

/* charset_encoder - the iconv name to encode into for a charset */
const char *
charset_encoder(const char *label)
{
	const struct charset_row *row = charset_output_row(label);

	return row != NULL ? row->encoder : NULL;
}

/* charset_label_at - the i-th label of the table (NULL past the end) */
const char *
charset_label_at(size_t i)
{
	return i < CHARSET_ROWS ? charset_table[i].label : NULL;
}
