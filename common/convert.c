/*
 * convert - streaming charset conversion through iconv(3) (see convert.h).
 *
 * glibc iconv stops at the first bad byte (EILSEQ), at an incomplete
 * sequence at the end of its input (EINVAL) and when the output is full
 * (E2BIG). This module turns those into a stream: the output buffer grows,
 * an incomplete sequence is kept as a tail and completed with the next
 * chunk, and a bad byte is replaced (or reported) and skipped.
 *
 * A tail is completed by copying it and the start of the next chunk into a
 * small joint buffer on the stack; once iconv has consumed past the tail,
 * the rest of the chunk is converted in place, without copies.
 *
 * UTF-7 needs more. glibc's decoder never reports an unfinished base64 run
 * as incomplete: it takes the bits into its shift state. And when a run
 * decodes to a lone low surrogate, which its UTF-8 step refuses, glibc backs
 * up to just after the last character it put out in that call and reports
 * the bad byte there, in the state it had there: "+3fk" in one call is a bad
 * '+' followed by "3fk", but "+3f" then "k" is a bad 'k'. So a UTF-7 decoder
 * follows glibc's state in a mirror (struct convert_u7, the same shift and
 * pending bits glibc keeps) and ends each iconv call of a chunk just after
 * the last character put out, keeping the rest as the tail: every call then
 * starts where glibc would have backed up to, and chunk ends change nothing.
 * glibc still does the decoding; the mirror only picks where calls end, and
 * it is switched off for the rest of the stream if it ever disagrees with
 * what glibc did. From the direct state, what is plainly well-formed
 * (direct bytes, "+-", base64 runs of whole characters with nothing left
 * over) is decoded here instead (convert_u7_fast), up to a character in
 * the direct state, where glibc would be too: glibc and the mirror took
 * half of a UTF-7 decoding.
 *
 * A UTF-8 decoder copies instead of calling iconv: whole valid characters
 * (utf8_valid_prefix, RFC 3629) are what glibc's UTF-8 decoder passes
 * unchanged. Only what that check refuses goes to iconv, as a window that
 * ends after the next valid character: glibc also accepts some bytes the
 * check refuses (sequences of 5 and 6 bytes, values above U+10FFFF), and
 * the valid character after them ends every sequence glibc could still be
 * reading, so glibc decides those bytes exactly as it did before and the
 * copy resumes at a boundary glibc also has. iconv converting UTF-8 to
 * UTF-8 was a seventh of the time of a pass-through.
 *
 * A decoder from a single-byte charset (KOI8-R, windows-125x, ISO-8859-x,
 * ...) reads a table of what glibc gives for each byte, built once per
 * charset and process by asking glibc itself (convert_sb_build): a byte
 * that glibc turns into one character by itself, always the same one
 * whatever surrounds it, or refuses by itself. A charset where one byte
 * does anything else (a lead byte, a shift, nothing out, a character
 * that combines with the next, as glibc's CP1255 and CP1258 do) gets no
 * table and stays with iconv. glibc spent most of its time per byte in
 * its UCS-4 steps; the table writes the UTF-8 directly.
 *
 * A decoder from a double-byte charset (CP932, CP949, GBK, BIG5-HKSCS)
 * reads such a table too, with a row of (lead, trail) pairs for each lead
 * byte, also from glibc (convert_db_build, convert_db_row_of). What the
 * table does not know (a pair glibc refuses or reads as more than one
 * character, a lead byte at the end of a chunk) goes to iconv in a window
 * that ends after a byte that ends every sequence (convert_db_run).
 */
#include "convert.h"
#include "jisms.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sysexits.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "log.h"
#include "xalloc.h"

#include "utf8.h"

/* glibc's UTF-7 decoder state: shift 0 is direct text; in base64, shift is
 * 32 minus the number of pending bits, held from bit 31 down in bits
 * (a pending high surrogate included). told is ours: an error was counted
 * since the pending bits began, so a run cut short at the end of the input
 * is not counted twice. */
struct convert_u7 {
	unsigned shift;
	uint32_t bits;
	int	 told;
};

enum convert_u7_kind {
	CONVERT_U7_NONE = 0,
	CONVERT_U7_PLAIN,
	CONVERT_U7_IMAP
};

struct convert {
	iconv_t	 cd;
	int	 encode;	/* UTF-8 -> target; else source -> UTF-8 */
	enum convert_mode mode;
	int	 c1_pass;	/* windows-125x: undefined C1 bytes pass */
	int	 no_bestfit;	/* CP932: refuse U+00A5 and U+203E */
	const struct convert_sb *sb;	/* single-byte table, or NULL */
	struct convert_db *db;	/* double-byte table, or NULL */
	int	 db_on;		/* db is used (see convert_db_run) */
	int	 u8;		/* a UTF-8 decoder with the fast path */
	int	 u8copy;	/* valid UTF-8 is copied (u8, unless glibc
				 * surprised the window; see convert_run) */
	enum convert_u7_kind u7;	/* a glibc UTF-7 decoder */
	int	 u7fast;	/* UTF-7: well-formed runs decoded here */
	int	 u7_on;		/* the mirror agrees with glibc so far */
	struct convert_u7 u7st;	/* glibc's state after the input so far */
	int	 again;		/* an error was counted here: retrying */
	enum convert_result stop;	/* sticky failure, CONVERT_OK if none */
	unsigned char tail[CONVERT_TAIL_MAX];
	size_t	 tail_len;
	uint64_t offset;	/* input offset of tail[0] / the next byte */
	size_t	 errors;
	uint64_t first_error;
	struct jisms *jis;	/* ISO-2022-JP-MS: transcoded to CP932 */
	struct buf jbuf;
};

static const char convert_fffd[] = "\xEF\xBF\xBD";

/* convert_is_windows - a windows-125x code page (WINDOWS-1252, CP1252) */
static int
convert_is_windows(const char *name)
{
	size_t n;

	if (strncasecmp(name, "WINDOWS-125", 11) == 0)
		n = 11;
	else if (strncasecmp(name, "CP125", 5) == 0)
		n = 5;
	else
		return 0;
	/* the length first: indexing past the digit makes GCC's -O3 warn
	 * (array-bounds) where a short constant name is inlined */
	return strlen(name) == n + 1 && name[n] >= '0' && name[n] <= '8';
}

/* convert_is_cp932 - glibc's CP932, which maps U+00A5 and U+203E lossily */
static int
convert_is_cp932(const char *name)
{
	return strcasecmp(name, "CP932") == 0 ||
	    strcasecmp(name, "WINDOWS-31J") == 0 ||
	    strcasecmp(name, "MS932") == 0 || strcasecmp(name, "IBM-943") == 0;
}

/* convert_u7_kind_of - the glibc UTF-7 module's names */
static enum convert_u7_kind
convert_u7_kind_of(const char *name)
{
	if (strcasecmp(name, "UTF-7") == 0 || strcasecmp(name, "UTF7") == 0)
		return CONVERT_U7_PLAIN;
	if (strcasecmp(name, "UTF-7-IMAP") == 0)
		return CONVERT_U7_IMAP;
	return CONVERT_U7_NONE;
}

/* convert_is_utf8 - glibc's names of UTF-8 */
static int
convert_is_utf8(const char *name)
{
	return strcasecmp(name, "UTF-8") == 0 || strcasecmp(name, "UTF8") == 0;
}

/* What glibc makes of each byte of a single-byte charset. */
struct convert_sb {
	unsigned char	 len[256];	/* UTF-8 bytes; 0: refused */
	unsigned char	 u8[256][3];
	/* u8 and len in 4 bytes: one load and one store a byte
	 * (convert_sb_run); all 0 for a refused byte */
	unsigned char	 e[256][4];
	int		 ascii;		/* 0x00-0x7F give themselves */
};

/* convert_sb_probe - one glibc call from a fresh state over in[0..n):
 * the output length, or -1 when it did not take all of in (with errno).
 * *held: some of the output came only with the flush */
static ssize_t
convert_sb_probe(iconv_t cd, const unsigned char *in, size_t n,
    char *out, size_t cap, int *held)
{
	char *ip = (char *)(uintptr_t)in, *op = out;
	size_t il = n, ol = cap, before;

	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
		return -1;
	if (il != 0) {
		errno = EINVAL;
		return -1;
	}
	/* a state left to flush would be a shift or a held character */
	before = cap - ol;
	if (iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return -1;
	*held = cap - ol != before;
	return (ssize_t)(cap - ol);
}

/* convert_sb_bad - is byte b refused by glibc (its entry our C1 rule) */
static int
convert_sb_bad(const struct convert_sb *t, const unsigned char *refused,
    size_t b)
{
	return t->len[b] == 0 || refused[b];
}

/*
 * convert_sb_build - the table of a single-byte charset, or NULL.
 *
 * A byte's character must not depend on the bytes around it. glibc's
 * CP1255, CP1258 and TCVN hold a character back until the next byte shows
 * whether it combines: their held characters come out only with the flush
 * of a one-byte call, and that is refused. A byte that changed what later
 * bytes mean would show in one call over every byte, in order and then
 * backwards. Over every charset glibc 2.36 names, these two checks refuse
 * exactly the charsets that a check of all 65,536 byte pairs refuses (what
 * this did before: that check was most of a small message's time).
 */
static struct convert_sb *
convert_sb_build(const char *from, int c1_pass)
{
	struct convert_sb *t;
	unsigned char one[1], refused[256], all[512];
	char out[16], expect[512 * 3], got[512 * 3 + 64], *ip, *op;
	size_t nall = 0, nexp = 0, i, b, il, ol;
	ssize_t k;
	iconv_t cd;
	int ok = 1, held = 0;

	if ((cd = iconv_open("UTF-8", from)) == (iconv_t)-1)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	memset(refused, 0, sizeof(refused));
	for (i = 0; i < 256 && ok; i++) {
		one[0] = (unsigned char)i;
		k = convert_sb_probe(cd, one, 1, out, sizeof(out), &held);
		if (k > 0 && k <= 3 && !held && utf8_char_len(out, (size_t)k)
		    == (size_t)k) {
			t->len[i] = (unsigned char)k;
			memcpy(t->u8[i], out, (size_t)k);
		} else if (k == -1 && errno == EILSEQ) {
			/* refused by itself; windows-125x: U+0080-U+009F
			 * (see convert_bad) */
			refused[i] = 1;
			if (c1_pass && i >= 0x80 && i <= 0x9F) {
				t->len[i] = 2;
				t->u8[i][0] = 0xC2;
				t->u8[i][1] = (unsigned char)i;
			}
		} else
			ok = 0;	/* a lead byte, a shift, nothing out, held */
	}
	/* every byte glibc takes, in one call: each gives its character */
	for (i = 0; i < 512 && ok; i++) {
		b = i < 256 ? i : 511 - i;
		if (convert_sb_bad(t, refused, b))
			continue;
		all[nall++] = (unsigned char)b;
		memcpy(expect + nexp, t->u8[b], t->len[b]);
		nexp += t->len[b];
	}
	if (ok) {
		ip = (char *)all;
		il = nall;
		op = got;
		ol = sizeof(got);
		iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0 ||
		    iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1 ||
		    (size_t)(op - got) != nexp ||
		    memcmp(got, expect, nexp) != 0)
			ok = 0;
	}
	iconv_close(cd);
	if (!ok) {
		free(t);
		return NULL;
	}
	for (i = 0; i < 256; i++) {
		memcpy(t->e[i], t->u8[i], 3);
		t->e[i][3] = t->len[i];
	}
	t->ascii = 1;
	for (i = 0; i < 0x80; i++)
		if (t->len[i] != 1 || t->u8[i][0] != i)
			t->ascii = 0;
	return t;
}

/* What glibc makes of each byte and each (lead, trail) pair of a
 * double-byte charset (convert_db_build). An entry is the UTF-8 in 3
 * bytes and its length in the 4th; length 0 is "not known here": the
 * iconv path decides (convert_db_run). A lead byte's row of pairs is made
 * when the lead is first seen (convert_db_row_of): a short message reads
 * few of them, and asking glibc about every pair at once was half of its
 * decoding time. */
struct convert_db {
	unsigned char	 e1[256][4];	/* a byte that is a character alone */
	unsigned char	 lead[256];	/* incomplete alone: a lead byte */
	unsigned char	 term[256];	/* never part of a longer sequence */
	int		 ascii;		/* 0x00-0x7F give themselves */
	iconv_t		 cd;		/* what rows are made with */
	unsigned char	(*row[256])[4];	/* a lead's pairs, or NULL: not yet */
};

/* The trail bytes asked about: what CP932, GBK, UHC and BIG5-HKSCS take
 * as the second byte lies within these (a pair outside stays with iconv),
 * and none of them takes a byte below 0x40 as a trail. */
#define CONVERT_DB_TLO	0x40
#define CONVERT_DB_THI	0xFE
#define CONVERT_DB_NT	(CONVERT_DB_THI - CONVERT_DB_TLO + 1)

/* convert_db_name - a charset whose glibc decoder reads at most two bytes
 * a character, statelessly, with no trail byte below 0x40 (what makes a
 * byte below 0x40 end every sequence, see convert_db_run). glibc's
 * BIG5-HKSCS decoder keeps state only for the second character of its four
 * pairs that give two (8862, 8864, 88A3, 88A5; no entry here) when the
 * output is full; it combines characters only when encoding. */
static int
convert_db_name(const char *name)
{
	static const char *const names[] = {
		"CP932", "WINDOWS-31J", "MS932", "CP949", "UHC", "GBK",
		"CP936", "BIG5-HKSCS", "BIG5HKSCS",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* convert_db_fits - UTF-8 out[0..n) is one character a table entry holds:
 * 1 to 3 bytes, and not U+00A5 or U+203E (the characters CP932 maps
 * lossily, kept with iconv) */
static int
convert_db_fits(const char *out, size_t n)
{
	if (n < 1 || n > 3 || utf8_char_len(out, n) != n)
		return 0;
	return memcmp(out, "\xC2\xA5", n) != 0 &&
	    memcmp(out, "\xE2\x80\xBE", n) != 0;
}

/* convert_db_row - the pairs of lead byte l: one call over "l t \n" for
 * every trail t asked about, started again after a pair glibc refuses;
 * 0 if glibc did anything a stateless double-byte decoder does not */
static int
convert_db_row(iconv_t cd, unsigned l, unsigned char (*row)[4])
{
	unsigned char in[3 * CONVERT_DB_NT];
	char out[16 * CONVERT_DB_NT], *ip, *op, *s, *nl;
	size_t i, at = 0, il, ol, k, pairs;
	int err;

	for (i = 0; i < CONVERT_DB_NT; i++) {
		in[3 * i] = (unsigned char)l;
		in[3 * i + 1] = (unsigned char)(CONVERT_DB_TLO + i);
		in[3 * i + 2] = '\n';
	}
	while (at < sizeof(in)) {
		ip = (char *)in + at;
		il = sizeof(in) - at;
		op = out;
		ol = sizeof(out);
		iconv(cd, NULL, NULL, NULL, NULL);
		err = iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ? errno : 0;
		if (err != 0 && err != EILSEQ)
			return 0;
		if (err == 0 && iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
			return 0;
		/* the pairs glibc went past, each one piece ending in \n */
		k = (size_t)(ip - (char *)in);
		pairs = (k - at) / 3;
		s = out;
		for (i = 0; i < pairs; i++) {
			nl = memchr(s, '\n', (size_t)(op - s));
			if (nl == NULL)
				return 0;
			if (convert_db_fits(s, (size_t)(nl - s))) {
				memcpy(row[CONVERT_DB_TLO + at / 3 + i], s,
				    (size_t)(nl - s));
				row[CONVERT_DB_TLO + at / 3 + i][3] =
				    (unsigned char)(nl - s);
			}
			s = nl + 1;
		}
		if (s != op)
			return 0;	/* output no pair accounts for */
		/* past a refused pair (some decoders consume it first) */
		at = err == EILSEQ ? (k / 3 + 1) * 3 : k;
	}
	return 1;
}

/* convert_db_row_of - lead byte l's row, made on first use: from
 * convert_db_row, then all its pairs in one call, a character alone after
 * each, must give what they gave apart; a row glibc surprised in is left
 * empty (iconv decides every pair of it) */
static unsigned char (*convert_db_row_of(struct convert_db *t,
    unsigned l))[4]
{
	unsigned char (*row)[4], in[3 * 256];
	char expect[6 * 256], got[6 * 256 + 64], *ip, *op;
	size_t t2, s = 0, n = 0, ne = 0, il, ol;
	int ok;

	if (t->row[l] != NULL)
		return t->row[l];
	row = xcalloc(256, sizeof(*row));
	ok = convert_db_row(t->cd, l, row);
	for (t2 = 0; t2 < 256 && ok; t2++) {
		if (row[t2][3] == 0)
			continue;
		in[n++] = (unsigned char)l;
		in[n++] = (unsigned char)t2;
		memcpy(expect + ne, row[t2], row[t2][3]);
		ne += row[t2][3];
		/* the next byte that is a character alone */
		while (t->e1[s][3] == 0)
			s = (s + 1) & 0xFF;
		in[n++] = (unsigned char)s;
		memcpy(expect + ne, t->e1[s], t->e1[s][3]);
		ne += t->e1[s][3];
		s = (s + 1) & 0xFF;
	}
	if (ok) {
		ip = (char *)in;
		il = n;
		op = got;
		ol = sizeof(got);
		iconv(t->cd, NULL, NULL, NULL, NULL);
		if (iconv(t->cd, &ip, &il, &op, &ol) == (size_t)-1 ||
		    il != 0 || iconv(t->cd, NULL, NULL, &op, &ol) ==
		    (size_t)-1 || (size_t)(op - got) != ne ||
		    memcmp(got, expect, ne) != 0)
			ok = 0;
	}
	if (!ok)
		memset(row, 0, 256 * sizeof(*row));
	t->row[l] = row;
	return row;
}

/*
 * convert_db_build - the table of a double-byte charset, or NULL.
 *
 * A byte alone is a character (an entry), refused (none: iconv decides),
 * or a lead byte (incomplete alone), whose row comes later. Every byte
 * that is a character alone, in one call forwards and backwards, with
 * nothing held for the flush, must give what it gave alone.
 */
static struct convert_db *
convert_db_build(const char *from)
{
	struct convert_db *t;
	unsigned char one[1], all[512];
	char out[16], expect[512 * 3], got[512 * 3 + 64], *ip, *op;
	size_t nall = 0, nexp = 0, i, b, il, ol, nlead = 0;
	ssize_t k;
	int ok = 1, held = 0;

	t = xcalloc(1, sizeof(*t));
	if ((t->cd = iconv_open("UTF-8", from)) == (iconv_t)-1) {
		free(t);
		return NULL;
	}
	for (i = 0; i < 256 && ok; i++) {
		one[0] = (unsigned char)i;
		k = convert_sb_probe(t->cd, one, 1, out, sizeof(out), &held);
		if (k > 0 && !held && convert_db_fits(out, (size_t)k)) {
			memcpy(t->e1[i], out, (size_t)k);
			t->e1[i][3] = (unsigned char)k;
			t->term[i] = i < CONVERT_DB_TLO;
		} else if (k == -1 && errno == EINVAL) {
			t->lead[i] = 1;
			nlead++;
		} else if (!(k == -1 && errno == EILSEQ) &&
		    !(k > 0 && !held && utf8_char_len(out, (size_t)k) ==
		    (size_t)k))
			ok = 0;	/* nothing out, or held for the flush */
	}
	for (i = 0; i < 512 && ok; i++) {
		b = i < 256 ? i : 511 - i;
		if (t->e1[b][3] == 0)
			continue;
		all[nall++] = (unsigned char)b;
		memcpy(expect + nexp, t->e1[b], t->e1[b][3]);
		nexp += t->e1[b][3];
	}
	if (ok) {
		ip = (char *)all;
		il = nall;
		op = got;
		ol = sizeof(got);
		iconv(t->cd, NULL, NULL, NULL, NULL);
		if (iconv(t->cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0 ||
		    iconv(t->cd, NULL, NULL, &op, &ol) == (size_t)-1 ||
		    (size_t)(op - got) != nexp ||
		    memcmp(got, expect, nexp) != 0)
			ok = 0;
	}
	if (!ok || nlead == 0 || !t->term['\n']) {
		iconv_close(t->cd);
		free(t);
		return NULL;
	}
	t->ascii = 1;
	for (i = 0; i < 0x80; i++)
		if (t->e1[i][3] != 1 || t->e1[i][0] != i)
			t->ascii = 0;
	return t;
}

/* Tables built so far (and charsets found to have none), by iconv name:
 * a process converts from few charsets, and builds each table once; they
 * (and a double-byte table's iconv descriptor) live as long as the
 * process. The callers are single-threaded. */
#define CONVERT_TABLES		40
#define CONVERT_TABLE_NAME	48
static struct convert_table {
	char		 name[CONVERT_TABLE_NAME];
	struct convert_sb *sb;		/* a single-byte charset's */
	struct convert_db *db;		/* a double-byte charset's */
} convert_tables[CONVERT_TABLES];
static size_t convert_ntables;

/* convert_table_for - the cached tables of a charset, built on first use
 * (both NULL: it has none); NULL when the cache is full */
static const struct convert_table *
convert_table_for(const char *from, int c1_pass)
{
	struct convert_table *t;
	size_t i;

	if (strlen(from) >= CONVERT_TABLE_NAME)
		return NULL;
	for (i = 0; i < convert_ntables; i++)
		if (strcasecmp(convert_tables[i].name, from) == 0)
			return &convert_tables[i];
	if (convert_ntables == CONVERT_TABLES)
		return NULL;	/* full: no table rather than one each */
	t = &convert_tables[convert_ntables++];
	strcpy(t->name, from);
	if (convert_db_name(from))
		t->db = convert_db_build(from);
	else
		t->sb = convert_sb_build(from, c1_pass);
	return t;
}

/* convert_new - common part of the constructors */
static struct convert *
convert_new(const char *to, const char *from, int encode,
    enum convert_mode mode, int fast)
{
	const struct convert_table *tb;
	struct convert *c;
	int saved;

	if (to == NULL || from == NULL || *to == '\0' || *from == '\0' ||
	    strchr(to, '/') != NULL || strchr(from, '/') != NULL) {
		/* "" is the locale charset and "//IGNORE" would hide errors */
		errno = EINVAL;
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	if ((c->cd = iconv_open(to, from)) == (iconv_t)-1) {
		/* glibc's own allocation failing is out of memory too, not
		 * an unknown charset */
		if (errno == ENOMEM)
			log_nomem(EX_OSERR, "iconv_open", 0, 0);
		saved = errno;
		free(c);
		errno = saved;
		return NULL;
	}
	c->encode = encode;
	c->mode = encode ? CONVERT_STRICT : mode;
	c->c1_pass = !encode && convert_is_windows(from);
	c->no_bestfit = encode && convert_is_cp932(to);
	c->u7 = encode ? CONVERT_U7_NONE : convert_u7_kind_of(from);
	c->u7_on = c->u7 != CONVERT_U7_NONE;
	c->u7fast = fast && c->u7 == CONVERT_U7_PLAIN;
	c->u8 = fast && !encode && convert_is_utf8(from);
	c->u8copy = c->u8;
	if (fast && !encode && !c->u8 && c->u7 == CONVERT_U7_NONE &&
	    (tb = convert_table_for(from, c->c1_pass)) != NULL) {
		c->sb = tb->sb;
		c->db = tb->db;
	}
	c->db_on = c->db != NULL;
	c->first_error = CONVERT_NO_ERROR;
	return c;
}

/* convert_decoder_new - a converter from a source charset to UTF-8; the
 * Windows superset of ISO-2022-JP, which iconv lacks, goes through CP932
 * (jisms.h) */
struct convert *
convert_decoder_new(const char *from, enum convert_mode mode)
{
	struct convert *c;

	if (from == NULL || strcasecmp(from, "ISO-2022-JP-MS") != 0)
		return convert_new("UTF-8", from, 0, mode, 1);
	if ((c = convert_new("UTF-8", "CP932", 0, mode, 0)) == NULL)
		return NULL;
	c->jis = xmalloc(sizeof(*c->jis));
	jisms_init(c->jis);
	buf_init(&c->jbuf);
	return c;
}

/* convert_decoder_new_iconv - the same decoder, every byte through iconv
 * (no fast path): what tests hold the fast paths equal to */
struct convert *
convert_decoder_new_iconv(const char *from, enum convert_mode mode)
{
	return convert_new("UTF-8", from, 0, mode, 0);
}

/* convert_encoder_new - a converter from UTF-8 to a target charset */
struct convert *
convert_encoder_new(const char *to)
{
	return convert_new(to, "UTF-8", 1, CONVERT_STRICT, 0);
}

/* convert_free - release a converter (NULL is fine) */
void
convert_free(struct convert *c)
{
	if (c == NULL)
		return;
	iconv_close(c->cd);
	if (c->jis != NULL) {
		free(c->jis);
		buf_fini(&c->jbuf);
	}
	free(c);
}

/* convert_reset - back to the initial state, counters cleared */
void
convert_reset(struct convert *c)
{
	iconv(c->cd, NULL, NULL, NULL, NULL);
	if (c->jis != NULL)
		jisms_init(c->jis);
	c->stop = CONVERT_OK;
	c->u8copy = c->u8;
	c->db_on = c->db != NULL;
	c->u7_on = c->u7 != CONVERT_U7_NONE;
	memset(&c->u7st, 0, sizeof(c->u7st));
	c->again = 0;
	c->tail_len = 0;
	c->offset = 0;
	c->errors = 0;
	c->first_error = CONVERT_NO_ERROR;
}

/* convert_errors - decoding errors (each one U+FFFD) so far */
size_t
convert_errors(const struct convert *c)
{
	return c->errors;
}

/* convert_first_error - input offset of the first bad byte */
uint64_t
convert_first_error(const struct convert *c)
{
	return c->first_error;
}

/* convert_find_bestfit - first U+00A5 or U+203E in UTF-8 input, or NULL */
static const unsigned char *
convert_find_bestfit(const unsigned char *p, size_t len)
{
	size_t i;

	/* In UTF-8 these byte pairs only start the two characters. */
	for (i = 0; i + 1 < len; i++) {
		if (p[i] == 0xC2 && p[i + 1] == 0xA5)
			return p + i;
		if (p[i] == 0xE2 && p[i + 1] == 0x80 && i + 2 < len &&
		    p[i + 2] == 0xBE)
			return p + i;
	}
	return NULL;
}

/* convert_bad - byte p[0] (at input offset off) did not convert */
static enum convert_result
convert_bad(struct convert *c, const unsigned char *p, size_t avail,
    uint64_t off, struct buf *out)
{
	char c1[2];

	if (c->encode) {
		/* a valid character iconv refused is one the target lacks */
		c->stop = utf8_char_len(p, avail) > 0 ?
		    CONVERT_EUNMAPPABLE : CONVERT_EBADINPUT;
		return c->stop;
	}
	if (c->c1_pass && avail > 0 && *p >= 0x80 && *p <= 0x9F) {
		/* undefined in windows-125x; Windows and WHATWG give U+00xx */
		c1[0] = (char)0xC2;
		c1[1] = (char)*p;
		return buf_append(out, c1, 2) == -1 ? CONVERT_ESYS : CONVERT_OK;
	}
	if (c->errors++ == 0)
		c->first_error = off;
	if (c->mode == CONVERT_STRICT) {
		c->stop = CONVERT_EBADINPUT;
		return c->stop;
	}
	return buf_append(out, convert_fffd, 3) == -1 ? CONVERT_ESYS :
	    CONVERT_OK;
}

/* convert_iconv - iconv(3) into out, growing it; 1 lossy, -1 with errno */
static int
convert_iconv(struct convert *c, char **ip, size_t *ileft, struct buf *out)
{
	size_t want, oleft, r;
	char *op;

	want = (ileft != NULL && *ileft < SIZE_MAX / 4 ? *ileft * 2 : 0) + 32;
	for (;;) {
		if (buf_reserve(out, want) == -1)
			return -1;
		op = out->data + out->len;
		oleft = out->cap - out->len - 1;
		r = iconv(c->cd, ip, ileft, &op, &oleft);
		out->len = (size_t)(op - out->data);
		out->data[out->len] = '\0';
		if (r != (size_t)-1) {
			/* glibc counts lossy (irreversible) conversions; an
			 * encoder must not make any */
			return r > 0 && c->encode ? 1 : 0;
		}
		if (errno != E2BIG)
			return -1;
		if (want > SIZE_MAX / 2) {
			errno = ENOMEM;
			return -1;
		}
		want = (out->cap - out->len) * 2 + 32;
	}
}

/* The bytes glibc's UTF-7 decoder passes as themselves, as a bit set: the
 * letters, the digits and ' ( ) , - . / : ? space TAB CR LF ! " # $ % & *
 * ; < = > @ [ ] ^ _ ` { | } (a search of that punctuation for every byte
 * was a tenth of a UTF-7 decoding); check_convert's UTF-7 tests against
 * glibc alone fail when a byte glibc does not pass is set here. */
static const uint64_t convert_u7_set[2] = {
	UINT64_C(0xFFFFF7FF00002600), UINT64_C(0x3FFFFFFFEFFFFFFF)
};

/* convert_u7_direct - a byte glibc's UTF-7 decoder passes as itself */
static int
convert_u7_direct(unsigned char ch, enum convert_u7_kind kind)
{
	if (kind == CONVERT_U7_IMAP)
		return ch >= 0x20 && ch <= 0x7E && ch != '&';
	return ch < 0x80 && (convert_u7_set[ch >> 6] >> (ch & 63) & 1) != 0;
}

/* convert_u7_b64 - value of a base64 digit, -1 for any other byte */
static int
convert_u7_b64(unsigned char ch, enum convert_u7_kind kind)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == (kind == CONVERT_U7_IMAP ? ',' : '/'))
		return 63;
	return -1;
}

/* How one iconv call over some UTF-7 input ends, as the mirror sees it. */
enum convert_u7_end { CONVERT_U7_END, CONVERT_U7_INCOMPLETE, CONVERT_U7_BAD };

struct convert_u7_sim {
	enum convert_u7_end how;
	size_t	 stop;		/* where iconv stops (len at END) */
	struct convert_u7 at_stop;	/* glibc's state there */
	size_t	 mark;		/* just after the last character put out */
	struct convert_u7 at_mark;
	int	 early;		/* ended at the first character put out in
				 * the direct state (u7fast: the rest is
				 * for convert_u7_fast) */
};

/* convert_u7_sim - what one glibc iconv call over p[0..len) does */
static void
convert_u7_sim(const struct convert *c, const unsigned char *p, size_t len,
    struct convert_u7_sim *sim)
{
	struct convert_u7 st = c->u7st;
	unsigned char shift_char = c->u7 == CONVERT_U7_IMAP ? '&' : '+';
	uint32_t bits, unit;
	unsigned shift;
	size_t i = 0;
	int v, put;

	sim->mark = 0;
	sim->at_mark = st;
	sim->early = 0;
	while (i < len) {
		put = 0;
		unit = 0;
		if (st.shift == 0) {
			if (convert_u7_direct(p[i], c->u7)) {
				i++;
				put = 1;
			} else if (p[i] == shift_char) {
				/* glibc needs the next byte to tell "+-" */
				if (i + 1 == len) {
					sim->how = CONVERT_U7_INCOMPLETE;
					goto stop;
				}
				if (p[i + 1] == '-') {
					i += 2;
					put = 1;
				} else {
					st.shift = 32;
					st.bits = 0;
					st.told = 0;
					i++;
				}
			} else {
				sim->how = CONVERT_U7_BAD;
				goto stop;
			}
		} else if ((v = convert_u7_b64(p[i], c->u7)) < 0) {
			/* end of a run: only with nothing pending; glibc
			 * reads any byte but '-' again as direct text */
			if (st.bits != 0 || st.shift <= 26 ||
			    (c->u7 == CONVERT_U7_IMAP && p[i] != '-')) {
				sim->how = CONVERT_U7_BAD;
				goto stop;
			}
			st.shift = 0;
			if (p[i] == '-')
				i++;
		} else if (st.shift > 6) {
			shift = st.shift - 6;
			bits = st.bits | (uint32_t)v << shift;
			if (shift > 10 && shift <= 16) {
				/* 16 bits complete; a high surrogate waits
				 * for its low half */
				unit = bits >> 16;
				if (unit < 0xD800 || unit >= 0xDC00) {
					bits <<= 16;
					shift += 16;
					put = 1;
				}
			} else if (shift > 4 && shift <= 10 &&
			    ((bits & 0xFFFF) < 0xDC00 ||
			    (bits & 0xFFFF) >= 0xE000)) {
				/* the first 6 bits after a high surrogate
				 * already tell it is not followed by a low */
				sim->how = CONVERT_U7_BAD;
				goto stop;
			}
			st.shift = shift;
			st.bits = bits;
			i++;
		} else {
			/* the low half of a surrogate pair is complete */
			st.bits = ((uint32_t)v << st.shift) << 26;
			st.shift += 26;
			put = 1;
			i++;
		}
		if (put && unit >= 0xDC00 && unit < 0xE000) {
			/* a lone low surrogate: glibc's UTF-8 step refuses
			 * it and the call backs up to the mark */
			sim->how = CONVERT_U7_BAD;
			sim->stop = sim->mark;
			sim->at_stop = sim->at_mark;
			return;
		}
		if (put) {
			st.told = 0;
			sim->mark = i;
			sim->at_mark = st;
			if (c->u7fast && st.shift == 0) {
				sim->early = 1;
				break;
			}
		}
	}
	sim->how = CONVERT_U7_END;
stop:
	sim->stop = i;
	sim->at_stop = st;
}

/* convert_u7_follow - glibc consumed n bytes (err: its errno, or 0) */
static void
convert_u7_follow(struct convert *c, const struct convert_u7_sim *sim,
    size_t n, int err)
{
	if (err == 0 && n == sim->mark)
		c->u7st = sim->at_mark;
	else if ((err == 0 && sim->how == CONVERT_U7_END) ||
	    (err == EILSEQ && sim->how == CONVERT_U7_BAD) ||
	    (err == EINVAL && sim->how == CONVERT_U7_INCOMPLETE)) {
		if (n != sim->stop)
			c->u7_on = 0;
		else
			c->u7st = sim->at_stop;
		/* the caller counts this error */
		if (err == EILSEQ)
			c->u7st.told = 1;
	} else
		/* not the glibc the mirror knows: stop cutting, decode on */
		c->u7_on = 0;
}

/* convert_u7_tab - per byte: its base64 value, or CONVERT_U7_DIRECT for
 * a byte glibc's UTF-7 decoder passes as itself (convert_u7_set), or
 * CONVERT_U7_OTHER (written out from convert_u7_b64 and convert_u7_set;
 * the UTF-7 tests against glibc alone fail when a byte is taken as direct
 * that glibc does not pass; a direct byte marked other only goes the slow
 * way) */
#define CONVERT_U7_DIRECT 0x40
#define CONVERT_U7_OTHER 0x80
static const unsigned char convert_u7_tab[256] = {
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x40, 0x80,
	0x80, 0x40, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x40, 0x40, 0x40,
	0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x3E, 0x40, 0x40, 0x40, 0x3F,
	0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x40, 0x40,
	0x40, 0x40, 0x40, 0x40, 0x40, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12,
	0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x40, 0x80, 0x40, 0x40, 0x40,
	0x40, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24,
	0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30,
	0x31, 0x32, 0x33, 0x40, 0x40, 0x40, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80,
};

/* convert_u7_fast - decode p[0..len) ourselves from glibc's direct state,
 * as far as it is plainly well-formed; *used: bytes taken, always just
 * after a character put out in the direct state (a direct byte or "+-"),
 * where glibc's mark and state (direct, nothing pending) are what the
 * mirror would have: a later lone low surrogate backs up to the same
 * place. A base64 run counts only when its units pair every surrogate
 * and it ends (by '-' or a direct byte) with fewer than 6 bits, all zero,
 * left over: glibc decodes exactly those characters then. Anything else
 * stops here and goes to glibc from the last such place. */
static int
convert_u7_fast(const unsigned char *p, size_t len, struct buf *out,
    size_t *used)
{
	unsigned char *o, *okeep;
	uint32_t acc, unit, hi, cp;
	size_t i = 0, done = 0;
	unsigned nbits, t;

	*used = 0;
	/* at most one byte out per byte in, but 3 for 2 base64 digits: a
	 * run of k digits makes at most 6k/16 units of 3 bytes */
	if (len > (SIZE_MAX - 16) / 2 || buf_reserve(out, 2 * len + 8) == -1)
		return -1;
	o = okeep = (unsigned char *)out->data + out->len;
	while (i < len) {
		t = convert_u7_tab[p[i]];
		if (t == CONVERT_U7_DIRECT || (t < 0x40 && p[i] != '+')) {
			/* direct (letters and digits are base64 too) */
			*o++ = p[i++];
			done = i;
			okeep = o;
			continue;
		}
		if (p[i] != '+' || i + 1 == len)
			break;
		if (p[i + 1] == '-') {
			*o++ = '+';
			i += 2;
			done = i;
			okeep = o;
			continue;
		}
		acc = 0;
		hi = 0;
		nbits = 0;
		for (i++; i < len && (t = convert_u7_tab[p[i]]) < 0x40; i++) {
			acc = acc << 6 | t;
			if ((nbits += 6) < 16)
				continue;
			nbits -= 16;
			unit = acc >> nbits & 0xFFFF;
			acc &= (UINT32_C(1) << nbits) - 1;
			if (hi != 0) {
				if (unit < 0xDC00 || unit >= 0xE000)
					goto stop;
				cp = 0x10000 + ((hi - 0xD800) << 10) +
				    (unit - 0xDC00);
				hi = 0;
				o[0] = (unsigned char)(0xF0 | cp >> 18);
				o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
				o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
				o[3] = (unsigned char)(0x80 | (cp & 0x3F));
				o += 4;
			} else if (unit >= 0xD800 && unit < 0xDC00)
				hi = unit;
			else if (unit >= 0xDC00 && unit < 0xE000)
				goto stop;
			else if (unit < 0x80)
				*o++ = (unsigned char)unit;
			else if (unit < 0x800) {
				o[0] = (unsigned char)(0xC0 | unit >> 6);
				o[1] = (unsigned char)(0x80 | (unit & 0x3F));
				o += 2;
			} else {
				o[0] = (unsigned char)(0xE0 | unit >> 12);
				o[1] = (unsigned char)(0x80 | (unit >> 6 & 0x3F));
				o[2] = (unsigned char)(0x80 | (unit & 0x3F));
				o += 3;
			}
		}
		/* cut by the end, or bits glibc calls an error */
		if (i == len || hi != 0 || nbits >= 6 || acc != 0)
			break;
		if (p[i] == '-')
			i++;
		/* direct again, but glibc's mark is still inside the run:
		 * nothing is taken until a character in the direct state */
	}
stop:
	out->len = (size_t)((char *)okeep - out->data);
	out->data[out->len] = '\0';
	*used = done;
	return 0;
}

/* convert_u8_window - how much of p (which starts with bytes the UTF-8
 * check refuses) to give iconv: up to the end of the next valid character,
 * or all of it */
static size_t
convert_u8_window(const unsigned char *p, size_t len)
{
	size_t q, k;

	for (q = 1; q < len; q++) {
		if ((p[q] & 0xC0) == 0x80)
			continue;	/* a continuation byte starts nothing */
		if ((k = utf8_char_len(p + q, len - q)) > 0)
			return q + k;
	}
	return len;
}

/* convert_sb_mask16 - bit i set: s[i] is not ASCII (16 bytes); and where
 * SSE2 is (every x86-64) the 16 bytes stored at o, as they are, for the
 * caller to keep as many as are ASCII */
static inline unsigned
convert_sb_mask16(unsigned char *o, const unsigned char *s)
{
#if defined(__SSE2__)
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);

	_mm_storeu_si128((__m128i *)(void *)o, v);
	return (unsigned)_mm_movemask_epi8(v);
#else
	unsigned m = 0, i;

	memcpy(o, s, 16);
	for (i = 0; i < 16; i++)
		m |= (unsigned)(s[i] >> 7) << i;
	return m;
#endif
}

/* convert_sb_run - a single-byte decoder's chunk through its table: what
 * the iconv path gives, a refused byte being one error (or a stop). Where
 * ASCII gives itself, 16 bytes at a time: a block of ASCII is copied
 * whole, as is the ASCII before the first 8-bit byte of a block with one
 * or two (mail in Latin charsets); a block with more (Cyrillic, Greek)
 * goes through the table byte by byte, which was faster there than
 * copying the short ASCII runs between its letters one by one. */
static enum convert_result
convert_sb_run(struct convert *c, const unsigned char *in, size_t len,
    struct buf *out)
{
	const struct convert_sb *t = c->sb;
	enum convert_result r;
	size_t pos = 0, end;
	unsigned char *o;
	unsigned m, m2;

	/* at most 3 bytes out per byte in (U+FFFD too), so never more than
	 * 3 * pos before in[pos]: room for a block of 16 while 16 are left;
	 * a table entry stores 4 (the 4 more reserved) */
	if (len > (SIZE_MAX - 64) / 3 || buf_reserve(out, 3 * len + 4) == -1) {
		c->stop = CONVERT_ESYS;
		return c->stop;
	}
	while (pos < len) {
		o = (unsigned char *)out->data + out->len;
		while (pos < len) {
			end = len - pos > 16 ? pos + 16 : len;
			if (t->ascii && len - pos >= 16) {
				m = convert_sb_mask16(o, in + pos);
				if (m == 0) {
					o += 16;
					pos += 16;
					continue;
				}
				m2 = m & (m - 1);
				if ((m2 & (m2 - 1)) == 0) {
					/* one or two: the ASCII before the
					 * first, then that byte */
					m = (unsigned)__builtin_ctz(m);
					o += m;
					pos += m;
					end = pos + 1;
				}
			}
			for (; pos < end && t->e[in[pos]][3] != 0; pos++) {
				memcpy(o, t->e[in[pos]], 4);
				o += t->e[in[pos]][3];
			}
			if (pos < end)
				break;
		}
		out->len = (size_t)((char *)o - out->data);
		out->data[out->len] = '\0';
		if (pos < len) {
			if ((r = convert_bad(c, in + pos, len - pos,
			    c->offset + pos, out)) != CONVERT_OK)
				return r;
			pos++;
		}
	}
	return CONVERT_OK;
}

/* convert_run_iconv - convert what is complete in in[pos..len) through
 * iconv (in[0] is at c->offset); *used: where it ended */
static enum convert_result
convert_run_iconv(struct convert *c, const unsigned char *in, size_t pos,
    size_t len, int final, struct buf *out, size_t *used)
{
	struct convert_u7_sim sim;
	const unsigned char *bestfit;
	enum convert_result r;
	size_t part, left, win, win_end = 0;
	char *ip;
	int rc = 0, cut;

	memset(&sim, 0, sizeof(sim));
	while (pos < len) {
		if (c->u7fast && c->u7_on && c->u7st.shift == 0) {
			if (convert_u7_fast(in + pos, len - pos, out, &part) ==
			    -1) {
				c->stop = CONVERT_ESYS;
				return c->stop;
			}
			if (part > 0) {
				/* glibc, untouched, is in the direct state
				 * the mirror now holds */
				c->again = 0;
				memset(&c->u7st, 0, sizeof(c->u7st));
				if ((pos += part) == len)
					break;
			}
		}
		win = len - pos;
		if (c->u8copy) {
			if (pos >= win_end) {
				/* not inside a window: copy what is valid,
				 * then find the window after it (once: a
				 * window of bad bytes takes many calls) */
				part = utf8_valid_prefix(in + pos, len - pos);
				if (part > 0 &&
				    buf_append(out, in + pos, part) == -1) {
					c->stop = CONVERT_ESYS;
					return c->stop;
				}
				if (part > 0)
					c->again = 0;
				if ((pos += part) == len)
					break;
				win_end = pos + convert_u8_window(in + pos,
				    len - pos);
			}
			win = win_end - pos;
		}
		bestfit = c->no_bestfit ?
		    convert_find_bestfit(in + pos, len - pos) : NULL;
		part = bestfit != NULL ? (size_t)(bestfit - in) - pos :
		    win;
		cut = 0;
		if (c->u7_on) {
			convert_u7_sim(c, in + pos, len - pos, &sim);
			if (sim.early)
				/* glibc up to the direct state, where the
				 * fast path takes over again */
				part = sim.mark;
			else if (!final && sim.how != CONVERT_U7_BAD &&
			    sim.mark < part) {
				/* end the call where glibc would back up to;
				 * the rest waits for more input */
				part = sim.mark;
				cut = 1;
				if (part == 0)
					break;
			}
		}
		/* iconv takes char ** but does not write through it */
		ip = (char *)(uintptr_t)(in + pos);
		left = part;
		rc = part > 0 ? convert_iconv(c, &ip, &left, out) : 0;
		if (c->u7_on)
			convert_u7_follow(c, &sim, part - left,
			    rc == -1 ? errno : 0);
		if (rc == 1) {
			c->stop = CONVERT_EUNMAPPABLE;
			return c->stop;
		}
		if (part > left)
			c->again = 0;
		if (rc == -1) {
			pos += part - left;
			if (errno == EINVAL && c->u8copy && win_end < len) {
				/* glibc saw an unfinished character inside the
				 * window: not the glibc the window was made
				 * for; convert the rest as before */
				c->u8copy = 0;
				continue;
			}
			if (errno == EINVAL && bestfit == NULL)
				break;	/* incomplete: the caller keeps it */
			if (errno != EILSEQ && errno != EINVAL) {
				c->stop = CONVERT_ESYS;
				return c->stop;
			}
			if (c->again) {
				/* stuck where the error was counted: this
				 * byte is the bad one */
				c->again = 0;
				pos++;
				continue;
			}
			/* EINVAL before a best-fit cut is a broken sequence */
			if ((r = convert_bad(c, in + pos, len - pos,
			    c->offset + pos, out)) != CONVERT_OK)
				return r;
			/* glibc stops at a bad byte, but some decoders report
			 * it after consuming it (UHC the unmapped pair A2 E8,
			 * ISO-2022-CN-EXT a final SO): try again here, and
			 * skip a byte only if that does not move on. The flag
			 * outlives the chunk, so chunk ends change nothing. */
			c->again = 1;
			continue;
		}
		pos += part;
		if (bestfit != NULL) {
			c->stop = CONVERT_EUNMAPPABLE;
			return c->stop;
		}
		if (cut)
			break;
	}
	*used = pos;
	return CONVERT_OK;
}

/*
 * convert_db_run - a double-byte decoder's chunk: the characters of the
 * table copied (ASCII 16 bytes at a time, as convert_sb_run), anything
 * else (a byte or pair the table does not know, a lead byte at the end)
 * through iconv, in a window that ends after the next byte below 0x40 or
 * at the end of the chunk. Such a byte ends any sequence it is in (no
 * trail byte is below 0x40, no sequence is longer than a pair), so glibc
 * decides the window as it did before, and the table resumes at a
 * boundary glibc also has. *used: where it ended (before an incomplete
 * pair at the end).
 */
static enum convert_result
convert_db_run(struct convert *c, const unsigned char *in, size_t len,
    int final, struct buf *out, size_t *used)
{
	struct convert_db *t = c->db;
	const unsigned char *e;
	enum convert_result r;
	size_t pos = 0, start, w, got;
	unsigned char *o;
	unsigned m;

	while (pos < len) {
		/* at most 3 bytes out per byte in: room for a block of 16
		 * and a 4-byte entry store */
		if (len - pos > (SIZE_MAX - 64) / 3 ||
		    buf_reserve(out, 3 * (len - pos) + 20) == -1) {
			c->stop = CONVERT_ESYS;
			return c->stop;
		}
		o = (unsigned char *)out->data + out->len;
		start = pos;
		while (pos < len) {
			if (t->ascii && len - pos >= 16) {
				m = convert_sb_mask16(o, in + pos);
				if (m == 0) {
					o += 16;
					pos += 16;
					continue;
				}
				m = (unsigned)__builtin_ctz(m);
				o += m;
				pos += m;
			}
			/* then characters up to the next ASCII byte */
			do {
				e = t->e1[in[pos]];
				if (e[3] != 0) {
					memcpy(o, e, 4);
					o += e[3];
					pos++;
					continue;
				}
				if (t->lead[in[pos]] == 0 || pos + 1 == len)
					goto other;
				e = (t->row[in[pos]] != NULL ? t->row[in[pos]] :
				    convert_db_row_of(t, in[pos]))[in[pos + 1]];
				if (e[3] == 0)
					goto other;
				memcpy(o, e, 4);
				o += e[3];
				pos += 2;
			} while (pos < len && in[pos] >= 0x80);
		}
other:
		out->len = (size_t)((char *)o - out->data);
		out->data[out->len] = '\0';
		if (pos > start)
			c->again = 0;	/* as iconv moving on */
		if (pos == len)
			break;
		for (w = pos + 1; w < len && !t->term[in[w]]; w++)
			continue;
		if (w < len)
			w++;
		if ((r = convert_run_iconv(c, in, pos, w, final, out, &got)) !=
		    CONVERT_OK)
			return r;
		if (got < w && w < len) {
			/* glibc waits for more inside the window: not the
			 * glibc the table was made for; iconv from here */
			c->db_on = 0;
			return convert_run_iconv(c, in, got, len, final, out,
			    used);
		}
		pos = got;
		if (pos < w)
			break;	/* incomplete at the end: the caller keeps it */
	}
	*used = pos;
	return CONVERT_OK;
}

/* convert_run - convert what is complete in in[0..len); *used: consumed */
static enum convert_result
convert_run(struct convert *c, const unsigned char *in, size_t len,
    int final, struct buf *out, size_t *used)
{
	if (c->sb != NULL) {
		/* every byte is complete by itself */
		*used = len;
		return convert_sb_run(c, in, len, out);
	}
	if (c->db_on)
		return convert_db_run(c, in, len, final, out, used);
	return convert_run_iconv(c, in, 0, len, final, out, used);
}

/* convert_keep - keep an incomplete sequence as the tail for later */
static enum convert_result
convert_keep(struct convert *c, const unsigned char *p, size_t n,
    struct buf *out)
{
	enum convert_result r;
	size_t used;

	/* longer than any character: its first byte is bad, go on after it */
	while (n > CONVERT_TAIL_MAX) {
		if ((r = convert_bad(c, p, n, c->offset, out)) != CONVERT_OK)
			return r;
		c->again = 0;
		c->offset++;
		p++;
		n--;
		if ((r = convert_run(c, p, n, 0, out, &used)) != CONVERT_OK)
			return r;
		c->offset += used;
		p += used;
		n -= used;
	}
	memcpy(c->tail, p, n);
	c->tail_len = n;
	return CONVERT_OK;
}

static enum convert_result convert_feed_bytes(struct convert *,
    const void *, size_t, struct buf *);

/* convert_feed - convert one chunk, appending to out */
enum convert_result
convert_feed(struct convert *c, const void *data, size_t len, struct buf *out)
{
	if (c->jis == NULL || c->stop != CONVERT_OK)
		return convert_feed_bytes(c, data, len, out);
	buf_reset(&c->jbuf);
	if (jisms_feed(c->jis, data, len, &c->jbuf) == -1) {
		c->stop = CONVERT_ESYS;
		return c->stop;
	}
	return convert_feed_bytes(c, c->jbuf.data ? c->jbuf.data : "",
	    c->jbuf.len, out);
}

/* convert_feed_bytes - convert_feed on the bytes iconv reads */
static enum convert_result
convert_feed_bytes(struct convert *c, const void *data, size_t len,
    struct buf *out)
{
	unsigned char joint[2 * CONVERT_TAIL_MAX];
	const unsigned char *p = data;
	enum convert_result r;
	size_t n, total, used;

	if (c->stop != CONVERT_OK)
		return c->stop;
	while (c->tail_len > 0 && len > 0) {
		n = len < sizeof(joint) - c->tail_len ? len :
		    sizeof(joint) - c->tail_len;
		memcpy(joint, c->tail, c->tail_len);
		memcpy(joint + c->tail_len, p, n);
		total = c->tail_len + n;
		if ((r = convert_run(c, joint, total, 0, out, &used)) !=
		    CONVERT_OK)
			return r;
		if (used >= c->tail_len) {
			/* the tail is complete; go on in place in the chunk */
			p += used - c->tail_len;
			len -= used - c->tail_len;
			c->offset += used;
			c->tail_len = 0;
			break;
		}
		c->offset += used;
		if (n == len) {
			/* all of the chunk is in the joint: still incomplete */
			c->tail_len = 0;
			return convert_keep(c, joint + used, total - used, out);
		}
		/* the joint is full and the sequence still incomplete */
		if ((r = convert_bad(c, joint + used, total - used, c->offset,
		    out)) != CONVERT_OK)
			return r;
		c->again = 0;
		c->offset++;
		c->tail_len -= used + 1;
		memmove(c->tail, joint + used + 1, c->tail_len);
	}
	if (len == 0)
		return CONVERT_OK;
	if ((r = convert_run(c, p, len, 0, out, &used)) != CONVERT_OK)
		return r;
	c->offset += used;
	if (used < len)
		return convert_keep(c, p + used, len - used, out);
	return CONVERT_OK;
}

/* convert_finish - end of input: flag an incomplete tail, flush state */
enum convert_result
convert_finish(struct convert *c, struct buf *out)
{
	enum convert_result r;
	uint64_t start;
	size_t used;

	if (c->stop != CONVERT_OK)
		return c->stop;
	if (c->jis != NULL) {
		buf_reset(&c->jbuf);
		if (jisms_finish(c->jis, &c->jbuf) == -1) {
			c->stop = CONVERT_ESYS;
			return c->stop;
		}
		if (c->jbuf.len > 0 && (r = convert_feed_bytes(c,
		    c->jbuf.data, c->jbuf.len, out)) != CONVERT_OK)
			return r;
	}
	start = c->offset;
	if (c->tail_len > 0 && c->u7 != CONVERT_U7_NONE) {
		/* an unfinished UTF-7 run kept back from iconv: give it now,
		 * as one call over the whole input would have */
		if ((r = convert_run(c, c->tail, c->tail_len, 1, out, &used)) !=
		    CONVERT_OK)
			return r;
		c->offset += used;
		c->tail_len -= used;
		memmove(c->tail, c->tail + used, c->tail_len);
	}
	if (c->u7_on && c->u7st.shift != 0 && !c->u7st.told &&
	    (c->u7st.bits != 0 || c->u7st.shift <= 26)) {
		/* glibc drops a base64 run that ends inside a character;
		 * count it as the incomplete character it is, just as a
		 * '-' there would be */
		if ((r = convert_bad(c, c->tail, 0, start, out)) != CONVERT_OK)
			return r;
		memset(&c->u7st, 0, sizeof(c->u7st));
	}
	if (c->tail_len > 0) {
		/* iconv called the tail the start of one character that never
		 * ended: one bad sequence, one U+FFFD */
		if (c->encode) {
			c->stop = CONVERT_EBADINPUT;
			return c->stop;
		}
		r = convert_bad(c, c->tail, c->tail_len, c->offset, out);
		c->offset += c->tail_len;
		c->tail_len = 0;
		if (r != CONVERT_OK)
			return r;
	}
	/* back to the initial shift state (ESC ( B for ISO-2022-JP) */
	switch (convert_iconv(c, NULL, NULL, out)) {
	case 0:
		break;
	case 1:
		c->stop = CONVERT_EUNMAPPABLE;
		return c->stop;
	default:
		c->stop = CONVERT_ESYS;
		return c->stop;
	}
	return CONVERT_OK;
}

/* convert_decode_all - decode a whole string to UTF-8 */
enum convert_result
convert_decode_all(const char *from, enum convert_mode mode, const void *in,
    size_t len, struct buf *out, size_t *errors)
{
	struct convert *c;
	enum convert_result r;

	if (errors != NULL)
		*errors = 0;
	if ((c = convert_decoder_new(from, mode)) == NULL)
		return CONVERT_ESYS;
	if ((r = convert_feed(c, in, len, out)) == CONVERT_OK)
		r = convert_finish(c, out);
	if (errors != NULL)
		*errors = c->errors;
	convert_free(c);
	return r;
}

/* convert_encode_all - encode a whole UTF-8 string */
enum convert_result
convert_encode_all(const char *to, const void *in, size_t len,
    struct buf *out)
{
	struct convert *c;
	enum convert_result r;

	if ((c = convert_encoder_new(to)) == NULL)
		return CONVERT_ESYS;
	if ((r = convert_feed(c, in, len, out)) == CONVERT_OK)
		r = convert_finish(c, out);
	convert_free(c);
	return r;
}

/* convert_same_but_c1 - do two single-byte table decoders give the same
 * for every byte outside 0x80-0x9F (see convert.h) */
int
convert_same_but_c1(const struct convert *a, const struct convert *b)
{
	size_t i;

	if (a->sb == NULL || b->sb == NULL || a->mode != b->mode ||
	    a->jis != NULL || b->jis != NULL)
		return 0;
	for (i = 0; i < 256; i++) {
		if (i >= 0x80 && i <= 0x9F)
			continue;
		if (a->sb->len[i] != b->sb->len[i] ||
		    memcmp(a->sb->u8[i], b->sb->u8[i], a->sb->len[i]) != 0)
			return 0;
	}
	return 1;
}

/* convert_double_byte - does the decoder have a double-byte table */
int
convert_double_byte(const struct convert *c)
{
	return c->db != NULL;
}

/* convert_strerror - a result as text for logs */
const char *
convert_strerror(enum convert_result r)
{
	switch (r) {
	case CONVERT_OK:
		return "ok";
	case CONVERT_ESYS:
		return "system error";
	case CONVERT_EBADINPUT:
		return "input not valid in the source charset";
	case CONVERT_EUNMAPPABLE:
		return "character not representable in the target charset";
	}
	return "unknown result";
}
