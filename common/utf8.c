/*
 * utf8 - the one UTF-8 check (see utf8.h).
 *
 * One state machine, utf8_step(), holds the rules; the whole-text and
 * one-character forms run it too, so the three can never disagree. Whole
 * characters between chunk ends are checked by utf8_valid_prefix(), the
 * same rules as a range table with a wide ASCII scan, and on x86-64 with
 * SSSE3 as byte lookups 16 bytes at a time (check_utf8 holds it equal to
 * the stepper and to the earlier byte-wise form over random and
 * adversarial input): text is mostly ASCII or whole characters, and
 * stepping every byte was the cost.
 */
#include "utf8.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <tmmintrin.h>
#endif

/* utf8_step - one more byte; v->ok turns false at the first bad one */
static inline void
utf8_step(struct utf8_check *v, unsigned char c)
{
	if (v->need == 0) {
		if (c < 0x80)
			return;
		if (c >= 0xC2 && c <= 0xDF) {
			v->need = 1;
			v->cp = c & 0x1Fu;
			v->min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			v->need = 2;
			v->cp = c & 0x0Fu;
			v->min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			v->need = 3;
			v->cp = c & 0x07u;
			v->min = 0x10000;
		} else
			v->ok = false;
		return;
	}
	if ((c & 0xC0) != 0x80) {
		v->ok = false;
		return;
	}
	v->cp = (v->cp << 6) | (c & 0x3Fu);
	/* the value is known only now: overlongs, surrogates, > U+10FFFF */
	if (--v->need == 0 && (v->cp < v->min || v->cp > 0x10FFFF ||
	    (v->cp >= 0xD800 && v->cp <= 0xDFFF)))
		v->ok = false;
}

/*
 * The multi-byte rules as a range table: a lead byte's class gives the
 * sequence length and the range its second byte must fall in (that range
 * is where overlongs, surrogates and values above U+10FFFF are refused:
 * E0 needs A0-BF, ED 80-9F, F0 90-BF, F4 80-8F); the later bytes are
 * plain continuation bytes. Class 0 is ASCII or no lead byte (len 0).
 */
static const struct {
	unsigned char	len, lo, hi;
} u8_kind[] = {
	{ 0, 0, 0 },		/* 0: ASCII, 80-C1, F5-FF */
	{ 2, 0x80, 0xBF },	/* 1: C2-DF */
	{ 3, 0xA0, 0xBF },	/* 2: E0 */
	{ 3, 0x80, 0xBF },	/* 3: E1-EC, EE-EF */
	{ 3, 0x80, 0x9F },	/* 4: ED */
	{ 4, 0x90, 0xBF },	/* 5: F0 */
	{ 4, 0x80, 0xBF },	/* 6: F1-F3 */
	{ 4, 0x80, 0x8F },	/* 7: F4 */
};

/* u8_class - the u8_kind row of each byte 80-FF (ASCII is row 0) */
static const unsigned char u8_class[128] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* A0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* B0 */
	0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* C0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* D0 */
	2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3,	/* E0 */
	5, 6, 6, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* F0 */
};

/* u8_ascii_run - how many bytes from s[0] (at most n) are ASCII: 32 or
 * 16 at a time with SSE2 (every x86-64 has it), else a word at a time */
static inline size_t
u8_ascii_run(const unsigned char *s, size_t n)
{
	size_t i = 0;
#if defined(__SSE2__)
	__m128i a, b;
	unsigned m;

	while (n - i >= 32) {
		a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16));
		if (_mm_movemask_epi8(_mm_or_si128(a, b)) != 0)
			break;
		i += 32;
	}
	while (n - i >= 16) {
		a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		/* the first high bit is the first non-ASCII byte */
		if ((m = (unsigned)_mm_movemask_epi8(a)) != 0)
			return i + (size_t)__builtin_ctz(m);
		i += 16;
	}
#else
	uint64_t w;

	while (n - i >= 8) {
		memcpy(&w, s + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
		i += 8;
	}
#endif
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

/* u8_scalar_prefix - utf8_valid_prefix a character at a time: the wide
 * scan over ASCII runs, the range table for the rest */
static size_t
u8_scalar_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0, len;
	unsigned char c, k;

	for (;;) {
		i += u8_ascii_run(s + i, n - i);
		for (;;) {
			if (i == n)
				return i;
			if ((c = s[i]) < 0x80) {
				/* one ASCII byte between characters (a space
				 * between words) is not worth the wide scan */
				if (i + 1 < n && s[i + 1] >= 0x80) {
					i++;
					continue;
				}
				break;
			}
			k = u8_class[c - 0x80];
			len = u8_kind[k].len;
			if (len == 0 || n - i < len ||
			    s[i + 1] < u8_kind[k].lo ||
			    s[i + 1] > u8_kind[k].hi ||
			    (len > 2 && (s[i + 2] & 0xC0) != 0x80) ||
			    (len > 3 && (s[i + 3] & 0xC0) != 0x80))
				return i;
			i += len;
		}
	}
}

/* u8_char_start - where the character holding s[b - 1] starts, given that
 * s[0..b) is whole characters save perhaps the last one cut short (b
 * itself when s[b - 1] is ASCII) */
static size_t
u8_char_start(const unsigned char *s, size_t b)
{
	size_t j = b;

	while (b - j < 3 && j > 0 && (s[j - 1] & 0xC0) == 0x80)
		j--;
	if (j > 0 && s[j - 1] >= 0xC0)
		j--;
	return j;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * u8_simd_prefix - 16 bytes at a time with SSSE3 byte lookups (the
 * classification of W. Keiser and D. Lemire, "Validating UTF-8 in less
 * than one instruction per byte", 2021): each byte with the one before it
 * is looked up by three nibbles in tables of error bits, an error showing
 * when all three agree; the third and fourth bytes of a sequence are
 * checked by the two and three bytes before them. A block with an error,
 * and the tail shorter than a block, are left to u8_scalar_prefix from the
 * start of the character there, so the answer is that of the scalar form.
 */
#define U8_TOO_SHORT	0x01	/* lead, then no continuation */
#define U8_TOO_LONG	0x02	/* ASCII, then a continuation */
#define U8_OVERLONG_3	0x04	/* E0 80-9F */
#define U8_TOO_LARGE	0x08	/* F4 90-BF, F5-FF 90-BF */
#define U8_SURROGATE	0x10	/* ED A0-BF */
#define U8_OVERLONG_2	0x20	/* C0-C1 80-BF */
#define U8_BIT6		0x40	/* F0 80-8F (overlong), F5-FF 80-8F */
#define U8_TWO_CONTS	0x80	/* continuation, then continuation */
#define U8_CARRY	(U8_TOO_SHORT | U8_TOO_LONG | U8_TWO_CONTS)

__attribute__((target("ssse3"))) static size_t
u8_simd_prefix(const unsigned char *s, size_t n)
{
	const __m128i hi1 = _mm_setr_epi8(
	    U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG,
	    U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG,
	    (char)U8_TWO_CONTS, (char)U8_TWO_CONTS, (char)U8_TWO_CONTS,
	    (char)U8_TWO_CONTS,
	    U8_TOO_SHORT | U8_OVERLONG_2,
	    U8_TOO_SHORT,
	    U8_TOO_SHORT | U8_OVERLONG_3 | U8_SURROGATE,
	    U8_TOO_SHORT | U8_TOO_LARGE | U8_BIT6);
	const __m128i lo1 = _mm_setr_epi8(
	    (char)(U8_CARRY | U8_OVERLONG_3 | U8_OVERLONG_2 | U8_BIT6),
	    (char)(U8_CARRY | U8_OVERLONG_2),
	    (char)U8_CARRY, (char)U8_CARRY,
	    (char)(U8_CARRY | U8_TOO_LARGE),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6 | U8_SURROGATE),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6),
	    (char)(U8_CARRY | U8_TOO_LARGE | U8_BIT6));
	const __m128i hi2 = _mm_setr_epi8(
	    U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT,
	    U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT,
	    (char)(U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS |
	    U8_OVERLONG_3 | U8_BIT6),
	    (char)(U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS |
	    U8_OVERLONG_3 | U8_TOO_LARGE),
	    (char)(U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS |
	    U8_SURROGATE | U8_TOO_LARGE),
	    (char)(U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS |
	    U8_SURROGATE | U8_TOO_LARGE),
	    U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT);
	const __m128i nib = _mm_set1_epi8(0x0F);
	const __m128i top = _mm_set1_epi8((char)0x80);
	const __m128i third = _mm_set1_epi8(0xE0 - 0x80);
	const __m128i fourth = _mm_set1_epi8(0xF0 - 0x80);
	__m128i prev = _mm_setzero_si128(), in, p1, p2, p3, sc, must, err;
	size_t b = 0;

	for (; n - b >= 16; b += 16, prev = in) {
		in = _mm_loadu_si128((const __m128i *)(const void *)(s + b));
		/* ASCII after a block that ends in ASCII: nothing to check */
		if (_mm_movemask_epi8(in) == 0 &&
		    _mm_movemask_epi8(_mm_srli_si128(prev, 13)) == 0)
			continue;
		p1 = _mm_alignr_epi8(in, prev, 15);
		sc = _mm_and_si128(_mm_and_si128(
		    _mm_shuffle_epi8(hi1, _mm_and_si128(_mm_srli_epi16(p1, 4),
		    nib)),
		    _mm_shuffle_epi8(lo1, _mm_and_si128(p1, nib))),
		    _mm_shuffle_epi8(hi2, _mm_and_si128(_mm_srli_epi16(in, 4),
		    nib)));
		p2 = _mm_alignr_epi8(in, prev, 14);
		p3 = _mm_alignr_epi8(in, prev, 13);
		/* top bit: this byte is the third or fourth of a sequence */
		must = _mm_and_si128(_mm_or_si128(_mm_subs_epu8(p2, third),
		    _mm_subs_epu8(p3, fourth)), top);
		err = _mm_xor_si128(must, sc);
		if (_mm_movemask_epi8(_mm_cmpeq_epi8(err,
		    _mm_setzero_si128())) != 0xFFFF)
			break;
	}
	/* s[0..b) is whole characters but for one cut at b perhaps */
	b = u8_char_start(s, b);
	return b + u8_scalar_prefix(s + b, n - b);
}
#endif

/* utf8_valid_prefix - length of the longest prefix of p made of complete
 * valid characters */
size_t
utf8_valid_prefix(const void *p, size_t n)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (n >= 64 && __builtin_cpu_supports("ssse3"))
		return u8_simd_prefix(p, n);
#endif
	return u8_scalar_prefix(p, n);
}

/* utf8_check_init - start checking a stream */
void
utf8_check_init(struct utf8_check *v)
{
	v->cp = v->min = 0;
	v->need = 0;
	v->ok = true;
}

/* utf8_check_feed - check more bytes; a chunk may end inside a character */
void
utf8_check_feed(struct utf8_check *v, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0;

	while (i < n && v->ok) {
		/* between characters: whole valid ones need no stepping */
		if (v->need == 0 && (i += utf8_valid_prefix(s + i, n - i)) == n)
			break;
		utf8_step(v, s[i++]);
	}
}

/* utf8_check_ok - was everything fed UTF-8, ending between characters */
bool
utf8_check_ok(const struct utf8_check *v)
{
	return v->ok && v->need == 0;
}

/* utf8_valid - is the whole text UTF-8 */
bool
utf8_valid(const void *p, size_t n)
{
	struct utf8_check v;

	utf8_check_init(&v);
	utf8_check_feed(&v, p, n);
	return utf8_check_ok(&v);
}

/* utf8_char_len - bytes of the character at p (1 for ASCII, at most 4),
 * 0 if p holds no complete valid character (or n is 0) */
size_t
utf8_char_len(const void *p, size_t n)
{
	const unsigned char *s = p;
	struct utf8_check v;
	size_t i;

	utf8_check_init(&v);
	for (i = 0; i < n && i < 4; i++) {
		utf8_step(&v, s[i]);
		if (!v.ok)
			return 0;
		if (v.need == 0)
			return i + 1;
	}
	return 0;
}
