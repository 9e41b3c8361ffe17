/*
 * check_charset - unit tests for the charset label table (common/charset.c).
 *
 * The big table pins every row of the alias table: label -> the iconv
 * decoder that reads what senders meant, and the MIME label written for
 * it. The first 217 rows are the WHATWG Encoding Standard labels. The
 * other tests pin normalisation, the iconv fallback, the windows-1252
 * upgrade and the output direction, and check that this machine's iconv
 * accepts every name the table hands out.
 */
#include <check.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "convert.h"

struct label_case {
	const char *label;
	const char *decoder;	/* NULL: unknown on purpose */
	const char *mime;
};

static const struct label_case label_cases[] = {
	/* the 217 WHATWG Encoding Standard labels (encodings.json) */
	{ "unicode-1-1-utf-8", "UTF-8", "utf-8" },
	{ "utf-8", "UTF-8", "utf-8" },
	{ "utf8", "UTF-8", "utf-8" },
	{ "866", "IBM866", "ibm866" },
	{ "cp866", "IBM866", "ibm866" },
	{ "csibm866", "IBM866", "ibm866" },
	{ "ibm866", "IBM866", "ibm866" },
	{ "csisolatin2", "ISO-8859-2", "iso-8859-2" },
	{ "iso-8859-2", "ISO-8859-2", "iso-8859-2" },
	{ "iso-ir-101", "ISO-8859-2", "iso-8859-2" },
	{ "iso8859-2", "ISO-8859-2", "iso-8859-2" },
	{ "iso88592", "ISO-8859-2", "iso-8859-2" },
	{ "iso_8859-2", "ISO-8859-2", "iso-8859-2" },
	{ "iso_8859-2:1987", "ISO-8859-2", "iso-8859-2" },
	{ "l2", "ISO-8859-2", "iso-8859-2" },
	{ "latin2", "ISO-8859-2", "iso-8859-2" },
	{ "csisolatin3", "ISO-8859-3", "iso-8859-3" },
	{ "iso-8859-3", "ISO-8859-3", "iso-8859-3" },
	{ "iso-ir-109", "ISO-8859-3", "iso-8859-3" },
	{ "iso8859-3", "ISO-8859-3", "iso-8859-3" },
	{ "iso88593", "ISO-8859-3", "iso-8859-3" },
	{ "iso_8859-3", "ISO-8859-3", "iso-8859-3" },
	{ "iso_8859-3:1988", "ISO-8859-3", "iso-8859-3" },
	{ "l3", "ISO-8859-3", "iso-8859-3" },
	{ "latin3", "ISO-8859-3", "iso-8859-3" },
	{ "csisolatin4", "ISO-8859-4", "iso-8859-4" },
	{ "iso-8859-4", "ISO-8859-4", "iso-8859-4" },
	{ "iso-ir-110", "ISO-8859-4", "iso-8859-4" },
	{ "iso8859-4", "ISO-8859-4", "iso-8859-4" },
	{ "iso88594", "ISO-8859-4", "iso-8859-4" },
	{ "iso_8859-4", "ISO-8859-4", "iso-8859-4" },
	{ "iso_8859-4:1988", "ISO-8859-4", "iso-8859-4" },
	{ "l4", "ISO-8859-4", "iso-8859-4" },
	{ "latin4", "ISO-8859-4", "iso-8859-4" },
	{ "csisolatincyrillic", "ISO-8859-5", "iso-8859-5" },
	{ "cyrillic", "ISO-8859-5", "iso-8859-5" },
	{ "iso-8859-5", "ISO-8859-5", "iso-8859-5" },
	{ "iso-ir-144", "ISO-8859-5", "iso-8859-5" },
	{ "iso8859-5", "ISO-8859-5", "iso-8859-5" },
	{ "iso88595", "ISO-8859-5", "iso-8859-5" },
	{ "iso_8859-5", "ISO-8859-5", "iso-8859-5" },
	{ "iso_8859-5:1988", "ISO-8859-5", "iso-8859-5" },
	{ "arabic", "ISO-8859-6", "iso-8859-6" },
	{ "asmo-708", "ISO-8859-6", "iso-8859-6" },
	{ "csiso88596e", "ISO-8859-6", "iso-8859-6" },
	{ "csiso88596i", "ISO-8859-6", "iso-8859-6" },
	{ "csisolatinarabic", "ISO-8859-6", "iso-8859-6" },
	{ "ecma-114", "ISO-8859-6", "iso-8859-6" },
	{ "iso-8859-6", "ISO-8859-6", "iso-8859-6" },
	{ "iso-8859-6-e", "ISO-8859-6", "iso-8859-6" },
	{ "iso-8859-6-i", "ISO-8859-6", "iso-8859-6" },
	{ "iso-ir-127", "ISO-8859-6", "iso-8859-6" },
	{ "iso8859-6", "ISO-8859-6", "iso-8859-6" },
	{ "iso88596", "ISO-8859-6", "iso-8859-6" },
	{ "iso_8859-6", "ISO-8859-6", "iso-8859-6" },
	{ "iso_8859-6:1987", "ISO-8859-6", "iso-8859-6" },
	{ "csisolatingreek", "ISO-8859-7", "iso-8859-7" },
	{ "ecma-118", "ISO-8859-7", "iso-8859-7" },
	{ "elot_928", "ISO-8859-7", "iso-8859-7" },
	{ "greek", "ISO-8859-7", "iso-8859-7" },
	{ "greek8", "ISO-8859-7", "iso-8859-7" },
	{ "iso-8859-7", "ISO-8859-7", "iso-8859-7" },
	{ "iso-ir-126", "ISO-8859-7", "iso-8859-7" },
	{ "iso8859-7", "ISO-8859-7", "iso-8859-7" },
	{ "iso88597", "ISO-8859-7", "iso-8859-7" },
	{ "iso_8859-7", "ISO-8859-7", "iso-8859-7" },
	{ "iso_8859-7:1987", "ISO-8859-7", "iso-8859-7" },
	{ "sun_eu_greek", "ISO-8859-7", "iso-8859-7" },
	{ "csiso88598e", "ISO-8859-8", "iso-8859-8" },
	{ "csisolatinhebrew", "ISO-8859-8", "iso-8859-8" },
	{ "hebrew", "ISO-8859-8", "iso-8859-8" },
	{ "iso-8859-8", "ISO-8859-8", "iso-8859-8" },
	{ "iso-8859-8-e", "ISO-8859-8", "iso-8859-8" },
	{ "iso-ir-138", "ISO-8859-8", "iso-8859-8" },
	{ "iso8859-8", "ISO-8859-8", "iso-8859-8" },
	{ "iso88598", "ISO-8859-8", "iso-8859-8" },
	{ "iso_8859-8", "ISO-8859-8", "iso-8859-8" },
	{ "iso_8859-8:1988", "ISO-8859-8", "iso-8859-8" },
	{ "visual", "ISO-8859-8", "iso-8859-8" },
	{ "csiso88598i", "ISO-8859-8", "iso-8859-8-i" },
	{ "iso-8859-8-i", "ISO-8859-8", "iso-8859-8-i" },
	{ "logical", "ISO-8859-8", "iso-8859-8-i" },
	{ "csisolatin6", "ISO-8859-10", "iso-8859-10" },
	{ "iso-8859-10", "ISO-8859-10", "iso-8859-10" },
	{ "iso-ir-157", "ISO-8859-10", "iso-8859-10" },
	{ "iso8859-10", "ISO-8859-10", "iso-8859-10" },
	{ "iso885910", "ISO-8859-10", "iso-8859-10" },
	{ "l6", "ISO-8859-10", "iso-8859-10" },
	{ "latin6", "ISO-8859-10", "iso-8859-10" },
	{ "iso-8859-13", "ISO-8859-13", "iso-8859-13" },
	{ "iso8859-13", "ISO-8859-13", "iso-8859-13" },
	{ "iso885913", "ISO-8859-13", "iso-8859-13" },
	{ "iso-8859-14", "ISO-8859-14", "iso-8859-14" },
	{ "iso8859-14", "ISO-8859-14", "iso-8859-14" },
	{ "iso885914", "ISO-8859-14", "iso-8859-14" },
	{ "csisolatin9", "ISO-8859-15", "iso-8859-15" },
	{ "iso-8859-15", "ISO-8859-15", "iso-8859-15" },
	{ "iso8859-15", "ISO-8859-15", "iso-8859-15" },
	{ "iso885915", "ISO-8859-15", "iso-8859-15" },
	{ "iso_8859-15", "ISO-8859-15", "iso-8859-15" },
	{ "l9", "ISO-8859-15", "iso-8859-15" },
	{ "iso-8859-16", "ISO-8859-16", "iso-8859-16" },
	{ "cskoi8r", "KOI8-R", "koi8-r" },
	{ "koi", "KOI8-R", "koi8-r" },
	{ "koi8", "KOI8-R", "koi8-r" },
	{ "koi8-r", "KOI8-R", "koi8-r" },
	{ "koi8_r", "KOI8-R", "koi8-r" },
	{ "koi8-u", "KOI8-RU", "koi8-u" },
	{ "csmacintosh", "MACINTOSH", "macintosh" },
	{ "mac", "MACINTOSH", "macintosh" },
	{ "macintosh", "MACINTOSH", "macintosh" },
	{ "x-mac-roman", "MACINTOSH", "macintosh" },
	{ "dos-874", "CP874", "windows-874" },
	{ "iso-8859-11", "CP874", "windows-874" },
	{ "iso8859-11", "CP874", "windows-874" },
	{ "iso885911", "CP874", "windows-874" },
	{ "tis-620", "CP874", "windows-874" },
	{ "windows-874", "CP874", "windows-874" },
	{ "cp1250", "WINDOWS-1250", "windows-1250" },
	{ "windows-1250", "WINDOWS-1250", "windows-1250" },
	{ "x-cp1250", "WINDOWS-1250", "windows-1250" },
	{ "cp1251", "WINDOWS-1251", "windows-1251" },
	{ "windows-1251", "WINDOWS-1251", "windows-1251" },
	{ "x-cp1251", "WINDOWS-1251", "windows-1251" },
	{ "ansi_x3.4-1968", "ASCII", "us-ascii" },
	{ "ascii", "ASCII", "us-ascii" },
	{ "cp1252", "WINDOWS-1252", "windows-1252" },
	{ "cp819", "ISO-8859-1", "iso-8859-1" },
	{ "csisolatin1", "ISO-8859-1", "iso-8859-1" },
	{ "ibm819", "ISO-8859-1", "iso-8859-1" },
	{ "iso-8859-1", "ISO-8859-1", "iso-8859-1" },
	{ "iso-ir-100", "ISO-8859-1", "iso-8859-1" },
	{ "iso8859-1", "ISO-8859-1", "iso-8859-1" },
	{ "iso88591", "ISO-8859-1", "iso-8859-1" },
	{ "iso_8859-1", "ISO-8859-1", "iso-8859-1" },
	{ "iso_8859-1:1987", "ISO-8859-1", "iso-8859-1" },
	{ "l1", "ISO-8859-1", "iso-8859-1" },
	{ "latin1", "ISO-8859-1", "iso-8859-1" },
	{ "us-ascii", "ASCII", "us-ascii" },
	{ "windows-1252", "WINDOWS-1252", "windows-1252" },
	{ "x-cp1252", "WINDOWS-1252", "windows-1252" },
	{ "cp1253", "WINDOWS-1253", "windows-1253" },
	{ "windows-1253", "WINDOWS-1253", "windows-1253" },
	{ "x-cp1253", "WINDOWS-1253", "windows-1253" },
	{ "cp1254", "WINDOWS-1254", "windows-1254" },
	{ "csisolatin5", "ISO-8859-9", "iso-8859-9" },
	{ "iso-8859-9", "ISO-8859-9", "iso-8859-9" },
	{ "iso-ir-148", "ISO-8859-9", "iso-8859-9" },
	{ "iso8859-9", "ISO-8859-9", "iso-8859-9" },
	{ "iso88599", "ISO-8859-9", "iso-8859-9" },
	{ "iso_8859-9", "ISO-8859-9", "iso-8859-9" },
	{ "iso_8859-9:1989", "ISO-8859-9", "iso-8859-9" },
	{ "l5", "ISO-8859-9", "iso-8859-9" },
	{ "latin5", "ISO-8859-9", "iso-8859-9" },
	{ "windows-1254", "WINDOWS-1254", "windows-1254" },
	{ "x-cp1254", "WINDOWS-1254", "windows-1254" },
	{ "cp1255", "WINDOWS-1255", "windows-1255" },
	{ "windows-1255", "WINDOWS-1255", "windows-1255" },
	{ "x-cp1255", "WINDOWS-1255", "windows-1255" },
	{ "cp1256", "WINDOWS-1256", "windows-1256" },
	{ "windows-1256", "WINDOWS-1256", "windows-1256" },
	{ "x-cp1256", "WINDOWS-1256", "windows-1256" },
	{ "cp1257", "WINDOWS-1257", "windows-1257" },
	{ "windows-1257", "WINDOWS-1257", "windows-1257" },
	{ "x-cp1257", "WINDOWS-1257", "windows-1257" },
	{ "cp1258", "WINDOWS-1258", "windows-1258" },
	{ "windows-1258", "WINDOWS-1258", "windows-1258" },
	{ "x-cp1258", "WINDOWS-1258", "windows-1258" },
	{ "x-mac-cyrillic", "MAC-CYRILLIC", "x-mac-cyrillic" },
	{ "x-mac-ukrainian", "MAC-UK", "x-mac-ukrainian" },
	{ "chinese", "GBK", "gb2312" },
	{ "csgb2312", "GBK", "gb2312" },
	{ "csiso58gb231280", "GBK", "gb2312" },
	{ "gb2312", "GBK", "gb2312" },
	{ "gb_2312", "GBK", "gb2312" },
	{ "gb_2312-80", "GBK", "gb2312" },
	{ "gbk", "GBK", "gbk" },
	{ "iso-ir-58", "GBK", "gb2312" },
	{ "x-gbk", "GBK", "gbk" },
	{ "gb18030", "GB18030", "gb18030" },
	{ "big5", "BIG5-HKSCS", "big5" },
	{ "big5-hkscs", "BIG5-HKSCS", "big5-hkscs" },
	{ "cn-big5", "BIG5-HKSCS", "big5" },
	{ "csbig5", "BIG5-HKSCS", "big5" },
	{ "x-x-big5", "BIG5-HKSCS", "big5" },
	{ "cseucpkdfmtjapanese", "EUC-JP", "euc-jp" },
	{ "euc-jp", "EUC-JP", "euc-jp" },
	{ "x-euc-jp", "EUC-JP", "euc-jp" },
	{ "csiso2022jp", "ISO-2022-JP-2", "iso-2022-jp" },
	{ "iso-2022-jp", "ISO-2022-JP-2", "iso-2022-jp" },
	{ "csshiftjis", "CP932", "shift_jis" },
	{ "ms932", "CP932", "shift_jis" },
	{ "ms_kanji", "CP932", "shift_jis" },
	{ "shift-jis", "CP932", "shift_jis" },
	{ "shift_jis", "CP932", "shift_jis" },
	{ "sjis", "CP932", "shift_jis" },
	{ "windows-31j", "CP932", "shift_jis" },
	{ "x-sjis", "CP932", "shift_jis" },
	{ "cseuckr", "CP949", "euc-kr" },
	{ "csksc56011987", "CP949", "euc-kr" },
	{ "euc-kr", "CP949", "euc-kr" },
	{ "iso-ir-149", "CP949", "euc-kr" },
	{ "korean", "CP949", "euc-kr" },
	{ "ks_c_5601-1987", "CP949", "euc-kr" },
	{ "ks_c_5601-1989", "CP949", "euc-kr" },
	{ "ksc5601", "CP949", "euc-kr" },
	{ "ksc_5601", "CP949", "euc-kr" },
	{ "windows-949", "CP949", "euc-kr" },
	{ "csiso2022kr", "ISO-2022-KR", "iso-2022-kr" },
	{ "hz-gb-2312", NULL, NULL },
	{ "iso-2022-cn", "ISO-2022-CN", "iso-2022-cn" },
	{ "iso-2022-cn-ext", "ISO-2022-CN-EXT", "iso-2022-cn-ext" },
	{ "iso-2022-kr", "ISO-2022-KR", "iso-2022-kr" },
	{ "utf-16be", "UTF-16BE", "utf-16be" },
	{ "utf-16", "UTF-16", "utf-16" },
	{ "utf-16le", "UTF-16LE", "utf-16le" },
	{ "x-user-defined", NULL, NULL },
	/* mail-only labels: UTF-7 family, IANA, Microsoft, junk */
	{ "utf-7", "UTF-7", "utf-7" },
	{ "utf7", "UTF-7", "utf-7" },
	{ "unicode-1-1-utf-7", "UTF-7", "utf-7" },
	{ "csunicode11utf7", "UTF-7", "utf-7" },
	{ "unicode-2-0-utf-7", "UTF-7", "utf-7" },
	{ "x-unicode-2-0-utf-7", "UTF-7", "utf-7" },
	{ "csutf7", "UTF-7", "utf-7" },
	{ "unicode-2-0-utf-8", "UTF-8", "utf-8" },
	{ "x-unicode-2-0-utf-8", "UTF-8", "utf-8" },
	{ "csutf8", "UTF-8", "utf-8" },
	{ "ansi-x3.4-1968", "ASCII", "us-ascii" },
	{ "ansi_x3.4-1986", "ASCII", "us-ascii" },
	{ "iso_646.irv:1991", "ASCII", "us-ascii" },
	{ "iso646-us", "ASCII", "us-ascii" },
	{ "iso-ir-6", "ASCII", "us-ascii" },
	{ "us", "ASCII", "us-ascii" },
	{ "ibm367", "ASCII", "us-ascii" },
	{ "cp367", "ASCII", "us-ascii" },
	{ "csascii", "ASCII", "us-ascii" },
	{ "latin-1", "ISO-8859-1", "iso-8859-1" },
	{ "iso-8859-9-windows-latin-5", "WINDOWS-1254", "windows-1254" },
	{ "iso-8859-1-windows-3.1-latin-1", "WINDOWS-1252", "windows-1252" },
	{ "cswindows31latin1", "WINDOWS-1252", "windows-1252" },
	{ "latin-9", "ISO-8859-15", "iso-8859-15" },
	{ "latin9", "ISO-8859-15", "iso-8859-15" },
	{ "iso_8859-16", "ISO-8859-16", "iso-8859-16" },
	{ "iso8859-16", "ISO-8859-16", "iso-8859-16" },
	{ "latin10", "ISO-8859-16", "iso-8859-16" },
	{ "l10", "ISO-8859-16", "iso-8859-16" },
	{ "iso-2022-jp-2", "ISO-2022-JP-2", "iso-2022-jp-2" },
	{ "csiso2022jp2", "ISO-2022-JP-2", "iso-2022-jp-2" },
	{ "euc-jp-ms", "EUC-JP-MS", "euc-jp" },
	{ "euc-cn", "GBK", "gb2312" },
	{ "x-euc-cn", "GBK", "gb2312" },
	{ "cp936", "GBK", "gbk" },
	{ "ms936", "GBK", "gbk" },
	{ "windows-936", "GBK", "gbk" },
	{ "gb18030-2000", "GB18030", "gb18030" },
	{ "big5hkscs", "BIG5-HKSCS", "big5-hkscs" },
	{ "cp950", "BIG5-HKSCS", "big5" },
	{ "windows-950", "BIG5-HKSCS", "big5" },
	{ "cp932", "CP932", "shift_jis" },
	{ "cp949", "CP949", "euc-kr" },
	{ "uhc", "CP949", "euc-kr" },
	{ "ks_c_5601", "CP949", "euc-kr" },
	{ "ks_c_5601-1992", "CP949", "euc-kr" },
	{ "johab", "JOHAB", "johab" },
	{ "cp874", "CP874", "windows-874" },
	{ "x-cp874", "CP874", "windows-874" },
	{ "koi8-ru", "KOI8-RU", "koi8-ru" },
	{ "x-mac-ce", "MAC-CENTRALEUROPE", "x-mac-ce" },
	{ "x-mac-centraleurope", "MAC-CENTRALEUROPE", "x-mac-ce" },
	{ "ibm850", "IBM850", "ibm850" },
	{ "cp850", "IBM850", "ibm850" },
	{ "850", "IBM850", "ibm850" },
	{ "ibm437", "IBM437", "ibm437" },
	{ "cp437", "IBM437", "ibm437" },
	{ "437", "IBM437", "ibm437" },
	{ "utf-32", "UTF-32", "utf-32" },
	{ "utf-32le", "UTF-32LE", "utf-32le" },
	{ "utf-32be", "UTF-32BE", "utf-32be" },
	{ "x-unknown", NULL, NULL },
	{ "unknown-8bit", NULL, NULL },
	{ "unknown", NULL, NULL },
	{ "uft-8", NULL, NULL },
	{ "utf-8-base64", NULL, NULL },
};

#define NCASES (sizeof(label_cases) / sizeof(label_cases[0]))

/* convert_decoder_accepts - the converter opens a decoder by that name */
static int
convert_decoder_accepts(const char *from)
{
	struct convert *c = convert_decoder_new(from, CONVERT_STRICT);

	convert_free(c);
	return c != NULL;
}

/* iconv_accepts - does this machine's iconv open name in one direction */
static int
iconv_accepts(const char *to, const char *from)
{
	iconv_t cd = iconv_open(to, from);

	if (cd == (iconv_t)-1)
		return 0;
	iconv_close(cd);
	return 1;
}

/* label_known - is label in label_cases */
static const struct label_case *
label_known(const char *label)
{
	size_t i;

	for (i = 0; i < NCASES; i++)
		if (strcmp(label_cases[i].label, label) == 0)
			return &label_cases[i];
	return NULL;
}

/* check_row - one label maps to the expected decoder and MIME label */
static void
check_row(const struct label_case *tc)
{
	struct charset_info ci;

	charset_lookup(tc->label, strlen(tc->label), &ci);
	if (tc->decoder == NULL) {
		ck_assert_msg(ci.status == CHARSET_UNKNOWN, "%s", tc->label);
		ck_assert_str_eq(ci.decoder, "");
		return;
	}
	ck_assert_msg(ci.status == CHARSET_TABLE, "%s", tc->label);
	ck_assert_str_eq(ci.decoder, tc->decoder);
	ck_assert_ptr_nonnull(ci.mime);
	ck_assert_str_eq(ci.mime, tc->mime);
	ck_assert_str_eq(charset_mime_label(tc->label), tc->mime);
	ck_assert_ptr_nonnull(charset_encoder(tc->label));
}

START_TEST(every_table_label_maps_to_the_expected_decoder_and_mime)
{
	size_t i;

	/* one test for all rows: a fork per row is slow under ASan */
	for (i = 0; i < NCASES; i++)
		check_row(&label_cases[i]);
}
END_TEST

START_TEST(every_table_row_has_a_test_case_and_no_duplicate)
{
	const char *label;
	size_t i, j;

	for (i = 0; (label = charset_label_at(i)) != NULL; i++) {
		ck_assert_msg(label_known(label) != NULL, "untested %s", label);
		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(charset_label_at(j), label) != 0,
			    "duplicate %s", label);
	}
	ck_assert_uint_eq(i, NCASES);
	ck_assert_ptr_null(charset_label_at(NCASES));
}
END_TEST

/* check_iconv - this machine's iconv opens every name of one row */
static void
check_iconv(const struct label_case *tc)
{
	struct charset_info ci;

	if (tc->decoder == NULL)
		return;
	charset_lookup(tc->label, strlen(tc->label), &ci);
	ck_assert_msg(iconv_accepts("UTF-8", ci.decoder), "decoder %s",
	    ci.decoder);
	/* ISO-2022-JP-MS is the converter's own (jisms.h), over CP932 */
	if (ci.alt_decoder != NULL)
		ck_assert_msg(strcmp(ci.alt_decoder, "ISO-2022-JP-MS") == 0 ?
		    convert_decoder_accepts(ci.alt_decoder) :
		    iconv_accepts("UTF-8", ci.alt_decoder), "alt %s",
		    ci.alt_decoder);
	if (ci.c1_decoder != NULL)
		ck_assert_msg(iconv_accepts("UTF-8", ci.c1_decoder),
		    "c1 %s", ci.c1_decoder);
	ck_assert_msg(iconv_accepts(ci.encoder, "UTF-8"), "encoder %s",
	    ci.encoder);
}

START_TEST(every_table_name_is_accepted_by_this_iconv)
{
	size_t i;

	for (i = 0; i < NCASES; i++)
		check_iconv(&label_cases[i]);
}
END_TEST

START_TEST(the_whatwg_list_is_the_first_217_rows)
{
	/* encodings.json: 217 labels, the last one x-user-defined */
	ck_assert_str_eq(charset_label_at(0), "unicode-1-1-utf-8");
	ck_assert_str_eq(charset_label_at(216), "x-user-defined");
}
END_TEST

START_TEST(mime_labels_never_name_microsoft_code_pages)
{
	static const char *const bad[] = { "cp949", "cp932", "cp936",
	    "cp950", "uhc", "ms932", "windows-31j", "windows-949",
	    "ks_c_5601-1987", "x-sjis", "windows-936" };
	const char *label, *mime;
	size_t i, j;

	for (i = 0; (label = charset_label_at(i)) != NULL; i++) {
		if ((mime = charset_mime_label(label)) == NULL)
			continue;
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++)
			ck_assert_msg(strcmp(mime, bad[j]) != 0, "%s -> %s",
			    label, mime);
	}
}
END_TEST

struct out_case {
	const char *label;
	const char *mime;
	const char *encoder;
};

static const struct out_case out_cases[] = {
	{ "cp949", "euc-kr", "EUC-KR" },
	{ "ks_c_5601-1987", "euc-kr", "EUC-KR" },
	{ "EUC-KR", "euc-kr", "EUC-KR" },
	{ "CP932", "shift_jis", "CP932" },
	{ "Shift_JIS", "shift_jis", "CP932" },
	{ "windows-31j", "shift_jis", "CP932" },
	{ "cp936", "gbk", "GBK" },
	{ "gb2312", "gb2312", "GB2312" },
	{ "GBK", "gbk", "GBK" },
	{ "gb18030", "gb18030", "GB18030" },
	{ "big5", "big5", "BIG5" },
	{ "cp950", "big5", "BIG5" },
	{ "ISO-2022-JP", "iso-2022-jp", "ISO-2022-JP" },
	{ "utf-8", "utf-8", "UTF-8" },
	{ "UTF8", "utf-8", "UTF-8" },
	{ "windows-1252", "windows-1252", "WINDOWS-1252" },
	{ "x-cp1252", "windows-1252", "WINDOWS-1252" },
	{ "iso-8859-1", "iso-8859-1", "ISO-8859-1" },
	{ "latin1", "iso-8859-1", "ISO-8859-1" },
	{ "us-ascii", "us-ascii", "ASCII" },
	{ "KOI8-R", "koi8-r", "KOI8-R" },
	{ "koi8-u", "koi8-u", "KOI8-U" },
	{ "iso-8859-8-i", "iso-8859-8-i", "ISO-8859-8" },
	{ "tis-620", "windows-874", "CP874" },
	{ "unicode-1-1-utf-7", "utf-7", "UTF-7" },
	{ "iso-8859-15", "iso-8859-15", "ISO-8859-15" },
	{ "\"Windows-1251\"", "windows-1251", "WINDOWS-1251" },
};

START_TEST(output_labels_are_standard_and_encoders_strict)
{
	const struct out_case *tc = &out_cases[_i];

	ck_assert_pstr_eq(charset_mime_label(tc->label), tc->mime);
	ck_assert_pstr_eq(charset_encoder(tc->label), tc->encoder);
}
END_TEST

START_TEST(output_of_unknown_or_junk_labels_is_null)
{
	ck_assert_ptr_null(charset_mime_label("x-unknown"));
	ck_assert_ptr_null(charset_encoder("x-user-defined"));
	ck_assert_ptr_null(charset_mime_label("EUC-TW"));
	ck_assert_ptr_null(charset_mime_label(""));
	ck_assert_ptr_null(charset_mime_label(NULL));
}
END_TEST

struct norm_case {
	const char *label;
	const char *decoder;	/* NULL: unknown */
};

static const struct norm_case norm_cases[] = {
	{ "  \"UTF-8\"  ", "UTF-8" },
	{ "'utf-8'", "UTF-8" },
	{ "Shift_JIS", "CP932" },
	{ "KS_C_5601-1987", "CP949" },
	{ "\tISO-8859-1\r\n", "ISO-8859-1" },
	{ "iso-8859-1*en", "ISO-8859-1" },
	{ "UTF-8*de-DE", "UTF-8" },
	{ "3Dgb2312", "GBK" },
	{ "3D\"utf-8\"", "UTF-8" },
	{ "3Diso-8859-1", "ISO-8859-1" },
	{ "3D", NULL },
	{ "\"\"", NULL },
	{ "", NULL },
	{ "   ", NULL },
	{ "*en", NULL },
	{ "x-unknown", NULL },
	{ "unknown-8bit", NULL },
	{ "X-USER-DEFINED", NULL },
	{ "hz-gb-2312", NULL },
	{ "uft-8", NULL },
	{ "utf-8-base64", NULL },
	{ "x-no-such-charset", NULL },
	{ "utf-8//IGNORE", NULL },
	{ "euc-tw//TRANSLIT", NULL },
	{ "iso 8859-1", NULL },
	{ "utf-8 utf-8", NULL },
	/* longer than RFC 2978 allows */
	{ "iso-8859-1-iso-8859-1-iso-8859-1-iso-8859-1", NULL },
};

START_TEST(labels_are_normalised_before_lookup)
{
	const struct norm_case *tc = &norm_cases[_i];
	struct charset_info ci;

	charset_lookup(tc->label, strlen(tc->label), &ci);
	if (tc->decoder == NULL) {
		ck_assert_msg(ci.status == CHARSET_UNKNOWN, "%s", tc->label);
		ck_assert_ptr_null(charset_decoder_for(&ci, "x", 1));
	} else {
		ck_assert_msg(ci.status == CHARSET_TABLE, "%s", tc->label);
		ck_assert_str_eq(ci.decoder, tc->decoder);
	}
}
END_TEST

START_TEST(lookup_uses_the_given_length_not_the_nul)
{
	struct charset_info ci;

	/* a label cut out of a header line: "utf-8; format=flowed" */
	charset_lookup("utf-8; format=flowed", 5, &ci);
	ck_assert_int_eq(ci.status, CHARSET_TABLE);
	ck_assert_str_eq(ci.decoder, "UTF-8");
	/* an embedded NUL is no label */
	charset_lookup("utf\0-8", 6, &ci);
	ck_assert_int_eq(ci.status, CHARSET_UNKNOWN);
}
END_TEST

START_TEST(labels_unknown_to_the_table_fall_back_to_iconv)
{
	struct charset_info ci;

	ck_assert_int_eq(charset_lookup("EUC-TW", 6, &ci), CHARSET_ICONV);
	ck_assert_str_eq(ci.decoder, "EUC-TW");
	ck_assert_ptr_null(ci.mime);
	ck_assert_ptr_null(ci.encoder);
	ck_assert_str_eq(charset_decoder_for(&ci, "a", 1), "EUC-TW");
	ck_assert_int_eq(charset_lookup(" \"viscii\" ", 10, &ci),
	    CHARSET_ICONV);
	ck_assert_str_eq(ci.decoder, "VISCII");
	ck_assert_int_eq(charset_lookup("Euc-Jisx0213", 12, &ci),
	    CHARSET_ICONV);
	ck_assert_str_eq(ci.decoder, "EUC-JISX0213");
}
END_TEST

START_TEST(latin1_with_c1_bytes_is_read_as_windows_1252)
{
	struct charset_info ci;

	charset_lookup("iso-8859-1", 10, &ci);
	ck_assert_str_eq(ci.decoder, "ISO-8859-1");
	ck_assert_str_eq(ci.c1_decoder, "WINDOWS-1252");
	ck_assert_str_eq(charset_decoder_for(&ci, "\x93quoted\x94", 8),
	    "WINDOWS-1252");
	ck_assert_str_eq(charset_decoder_for(&ci, "caf\xe9", 4),
	    "ISO-8859-1");
	charset_lookup("latin5", 6, &ci);
	ck_assert_str_eq(charset_decoder_for(&ci, "\x80", 1),
	    "WINDOWS-1254");
	ck_assert_str_eq(charset_decoder_for(&ci, "\xfe", 1), "ISO-8859-9");
	/* windows-1252 itself needs no upgrade */
	charset_lookup("windows-1252", 12, &ci);
	ck_assert_ptr_null(ci.c1_decoder);
	ck_assert_str_eq(charset_decoder_for(&ci, "\x93", 1),
	    "WINDOWS-1252");
}
END_TEST

START_TEST(us_ascii_with_8bit_bytes_is_unlabelled)
{
	struct charset_info ci;

	charset_lookup("us-ascii", 8, &ci);
	ck_assert_str_eq(ci.decoder, "ASCII");
	ck_assert(ci.flags & CHARSET_F_7BIT);
	ck_assert_str_eq(charset_decoder_for(&ci, "plain", 5), "ASCII");
	/* valid UTF-8 stays UTF-8 */
	ck_assert_str_eq(charset_decoder_for(&ci, "caf\xc3\xa9", 5),
	    "UTF-8");
	/* anything else is windows-1252, as WHATWG reads it */
	ck_assert_str_eq(charset_decoder_for(&ci, "caf\xe9", 4),
	    "WINDOWS-1252");
	/* overlong and surrogate forms are not UTF-8 */
	ck_assert_str_eq(charset_decoder_for(&ci, "\xc0\xaf", 2),
	    "WINDOWS-1252");
	ck_assert_str_eq(charset_decoder_for(&ci, "\xed\xa0\x80", 3),
	    "WINDOWS-1252");
	ck_assert_str_eq(charset_decoder_for(&ci, "\xe2\x82", 2),
	    "WINDOWS-1252");
}
END_TEST

START_TEST(c1_and_8bit_detection)
{
	ck_assert(!charset_has_c1("", 0));
	ck_assert(!charset_has_c1("abc\x7f\xa0\xff", 6));
	ck_assert(charset_has_c1("abc\x80", 4));
	ck_assert(charset_has_c1("\x9f", 1));
	ck_assert(charset_has_c1("a\0\x85", 3));
	ck_assert(!charset_has_8bit("abc\x7f", 4));
	ck_assert(charset_has_8bit("abc\xa0", 4));
}
END_TEST

/*
 * charset_has_c1 and charset_high_count against a byte-at-a-time reading:
 * random texts (some without a C1 byte, some with one at a random place,
 * longer than the 255 blocks the counters of the wide scan hold) counted
 * whole and in random chunks.
 */
static uint32_t
c1_rand(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

START_TEST(c1_and_high_counts_match_a_byte_scan)
{
	static unsigned char in[9000];
	uint32_t seed = 777;
	unsigned round;

	for (round = 0; round < 300; round++) {
		size_t len = c1_rand(&seed) % sizeof(in), i, off, n;
		uint64_t c0 = 0, e0 = 0;
		bool c1 = false, c1_part;
		struct charset_high h = { 0, 0, false };
		unsigned kind = c1_rand(&seed) % 5;

		for (i = 0; i < len; i++) {
			/* random bytes; Cyrillic-like text (high bytes
			 * 0xA0-0xFF, ASCII); runs of one case only, which
			 * fill the wide scan's counters */
			uint32_t r = c1_rand(&seed);

			in[i] = (unsigned char)(kind == 0 ? r % 256 :
			    kind == 3 ? 0xE0 + r % 32 : kind == 4 ? 0xC0 +
			    r % 32 : r % 4 == 0 ? ' ' + r % 90 : 0xA0 + r % 96);
		}
		if ((kind == 2 || (kind > 2 && round % 2)) && len > 0)
			in[c1_rand(&seed) % len] = (unsigned char)(0x80 +
			    c1_rand(&seed) % 32);
		for (i = 0; i < len; i++) {
			c0 += in[i] >= 0xC0 && in[i] <= 0xDF;
			e0 += in[i] >= 0xE0;
			c1 = c1 || (in[i] >= 0x80 && in[i] <= 0x9F);
		}
		ck_assert_msg(charset_has_c1(in, len) == c1, "round %u", round);
		for (off = 0; off < len; off += n) {
			n = c1_rand(&seed) % 2 ? len - off :
			    c1_rand(&seed) % 40 + 1;
			if (n > len - off)
				n = len - off;
			for (i = off, c1_part = false; i < off + n; i++)
				c1_part = c1_part || (in[i] >= 0x80 &&
				    in[i] <= 0x9F);
			ck_assert_msg(charset_has_c1(in + off, n) == c1_part,
			    "round %u at %zu", round, off);
			charset_high_count(in + off, n, &h);
		}
		ck_assert_msg(h.c0 == c0 && h.e0 == e0 && h.c1 == c1,
		    "round %u: %llu %llu %d, by bytes %llu %llu %d", round,
		    (unsigned long long)h.c0, (unsigned long long)h.e0,
		    (int)h.c1, (unsigned long long)c0, (unsigned long long)e0,
		    (int)c1);
	}
}
END_TEST

START_TEST(alternative_decoders_for_supersets)
{
	struct charset_info ci;

	charset_lookup("gb2312", 6, &ci);
	ck_assert_str_eq(ci.decoder, "GBK");
	ck_assert_str_eq(ci.alt_decoder, "GB18030");
	charset_lookup("big5", 4, &ci);
	ck_assert_str_eq(ci.decoder, "BIG5-HKSCS");
	charset_lookup("iso-2022-jp", 11, &ci);
	ck_assert_str_eq(ci.decoder, "ISO-2022-JP-2");
	ck_assert_str_eq(ci.mime, "iso-2022-jp");
	/* the Windows superset (NEC row 13, IBM extensions) second */
	ck_assert_str_eq(ci.alt_decoder, "ISO-2022-JP-MS");
}
END_TEST

/* charset_suite - all charset tests */
static Suite *
charset_suite(void)
{
	Suite *s = suite_create("charset");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc,
	    every_table_label_maps_to_the_expected_decoder_and_mime);
	tcase_add_test(tc, every_table_row_has_a_test_case_and_no_duplicate);
	tcase_add_test(tc, every_table_name_is_accepted_by_this_iconv);
	tcase_add_test(tc, the_whatwg_list_is_the_first_217_rows);
	tcase_add_test(tc, mime_labels_never_name_microsoft_code_pages);
	tcase_add_loop_test(tc, output_labels_are_standard_and_encoders_strict,
	    0, (int)(sizeof(out_cases) / sizeof(out_cases[0])));
	tcase_add_test(tc, output_of_unknown_or_junk_labels_is_null);
	tcase_add_loop_test(tc, labels_are_normalised_before_lookup, 0,
	    (int)(sizeof(norm_cases) / sizeof(norm_cases[0])));
	tcase_add_test(tc, lookup_uses_the_given_length_not_the_nul);
	tcase_add_test(tc, labels_unknown_to_the_table_fall_back_to_iconv);
	tcase_add_test(tc, latin1_with_c1_bytes_is_read_as_windows_1252);
	tcase_add_test(tc, us_ascii_with_8bit_bytes_is_unlabelled);
	tcase_add_test(tc, c1_and_8bit_detection);
	tcase_add_test(tc, c1_and_high_counts_match_a_byte_scan);
	tcase_add_test(tc, alternative_decoders_for_supersets);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(charset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
