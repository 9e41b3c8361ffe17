/*
 * check_repair_cte - the counts of repair_cte_stat_feed (repair's pass 1)
 * against a plain line-by-line count: whether a line is over RP_LINE_MAX,
 * the unfinished line, 8-bit bytes and the total, over random texts with
 * lines around the limit, CR LF and bare LF, cut into random chunks; and
 * the 16-byte bare-LF scan (repair_cte_bare_lf, repair_cte_crlf) against
 * a byte-wise one.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repair_int.h"

/* ref - the longest line (without the CR before its LF) and the last
 * line's length, one byte at a time */
static void
ref(const unsigned char *s, size_t n, size_t *maxline, size_t *col)
{
	size_t i, c = 0, m = 0, l;

	for (i = 0; i < n; i++) {
		if (s[i] != '\n') {
			c++;
			continue;
		}
		l = c - (i > 0 && s[i - 1] == '\r' ? 1 : 0);
		if (l > m)
			m = l;
		c = 0;
	}
	*maxline = m;
	*col = c;
}

static uint64_t
next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

START_TEST(line_counts_match_a_plain_count)
{
	uint64_t seed = 0x2545F4914F6CDD1DULL + (uint64_t)_i * 104729;
	unsigned char *t = malloc(40000);
	size_t n = 0, i, len, pos, k, mref, cref;
	struct rp_ostat o;

	ck_assert_ptr_nonnull(t);
	/* lines of lengths near the limit (and short ones), ending in CR LF,
	 * LF, or CR CR LF; sometimes no end at all */
	while (n < 30000) {
		uint64_t r = next(&seed);

		/* each text has its own longest line: 997 to 1001 octets
		 * before the line end */
		len = r % 4 == 0 ? r % 100 : RP_LINE_MAX - 3 + (r >> 8) %
		    (2 + (size_t)_i % 5);
		for (i = 0; i < len; i++)
			t[n++] = (r >> 20) % 9 == 0 && i % 7 == 3 ? 0xE9 : 'x';
		/* line ends: LF only, CR LF only, or any (CR CR LF too) */
		switch (_i % 7 < 2 ? 0 : _i % 7 < 4 ? 2 : (r >> 32) % 4) {
		case 0:
			t[n++] = '\n';
			break;
		case 1:
			t[n++] = '\r';
			t[n++] = '\r';
			t[n++] = '\n';
			break;
		default:
			t[n++] = '\r';
			t[n++] = '\n';
		}
	}
	if (_i % 3 == 0)
		n -= 1 + next(&seed) % 5;	/* an unfinished last line */
	repair_cte_stat_init(&o, 0);
	o.noqp = 1;
	for (pos = 0; pos < n; pos += k) {
		k = 1 + next(&seed) % (_i % 2 ? 50 : 5000);
		if (k > n - pos)
			k = n - pos;
		/* half the texts through the form that is told whether the
		 * bytes hold an 8-bit one */
		if (_i % 4 < 2)
			repair_cte_stat_feed(&o, t + pos, k);
		else
			repair_cte_stat_feed8(&o, t + pos, k,
			    memchr(t + pos, 0xE9, k) != NULL);
	}
	ref(t, n, &mref, &cref);
	ck_assert_uint_eq(o.col, cref);
	ck_assert_uint_eq(o.total, n);
	ck_assert_int_eq(o.has8, memchr(t, 0xE9, n) != NULL);
	repair_cte_stat_finish(&o);
	if (cref > mref)
		mref = cref;
	ck_assert_msg((o.maxline > RP_LINE_MAX) == (mref > RP_LINE_MAX),
	    "text %d: longest line %zu, counted %zu", _i, mref, o.maxline);
	if (mref > RP_LINE_MAX)
		ck_assert_uint_eq(o.maxline, mref);
	free(t);
}
END_TEST

/* ref_bare_lf - the first LF with no CR before it, a byte at a time */
static size_t
ref_bare_lf(const unsigned char *s, size_t n, int prev_cr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\n' && !(i > 0 ? s[i - 1] == '\r' : prev_cr))
			return i;
	return n;
}

/* fill_lines - text of CR, LF and letters, CRLF mostly, runs of letters
 * of lengths around the 16-byte blocks */
static void
fill_lines(unsigned char *t, size_t n, uint64_t *x)
{
	size_t i = 0, k;

	while (i < n) {
		switch (next(x) % 6) {
		case 0:
			t[i++] = '\n';
			break;
		case 1:
			t[i++] = '\r';
			break;
		case 2:
		case 3:
			t[i++] = '\r';
			if (i < n)
				t[i++] = '\n';
			break;
		default:
			for (k = next(x) % 40; k > 0 && i < n; k--)
				t[i++] = (unsigned char)('a' + next(x) % 26);
		}
	}
}

/* the 16-byte bare-LF scan against the byte-wise one at every offset and
 * length, both CR states before, each slice in a buffer of its own size */
START_TEST(bare_lf_matches_a_plain_scan)
{
	unsigned char t[100], *slice;
	uint64_t x = 0x9E3779B97F4A7C15u + (uint64_t)_i;
	size_t off, n, got, want;
	int pc;

	fill_lines(t, sizeof(t), &x);
	for (off = 0; off < sizeof(t); off++)
		for (n = 0; off + n <= sizeof(t); n++)
			for (pc = 0; pc < 2; pc++) {
				slice = malloc(n > 0 ? n : 1);
				ck_assert_ptr_nonnull(slice);
				memcpy(slice, t + off, n);
				got = repair_cte_bare_lf((const char *)slice, n,
				    pc);
				want = ref_bare_lf(slice, n, pc);
				free(slice);
				if (got != want)
					ck_abort_msg("text %d off %zu len %zu cr"
					    " %d: %zu, plain %zu", _i, off, n, pc,
					    got, want);
			}
}
END_TEST

/* repair_cte_crlf over a text cut in two anywhere gives what a byte-wise
 * bare LF to CRLF gives */
START_TEST(crlf_matches_a_plain_rewrite)
{
	unsigned char t[150];
	uint64_t x = 0x2545F4914F6CDD1Du + (uint64_t)_i;
	struct buf out, want;
	size_t cut, i;
	int pc;

	fill_lines(t, sizeof(t), &x);
	buf_init(&want);
	for (i = 0; i < sizeof(t); i++) {
		if (t[i] == '\n' && !(i > 0 && t[i - 1] == '\r'))
			ck_assert_int_eq(buf_putc(&want, '\r'), 0);
		ck_assert_int_eq(buf_putc(&want, t[i]), 0);
	}
	for (cut = 0; cut <= sizeof(t); cut++) {
		buf_init(&out);
		pc = 0;
		ck_assert_int_eq(repair_cte_crlf((const char *)t, cut, &pc,
		    &out), 0);
		ck_assert_int_eq(repair_cte_crlf((const char *)t + cut,
		    sizeof(t) - cut, &pc, &out), 0);
		ck_assert_msg(out.len == want.len &&
		    memcmp(out.data, want.data, want.len) == 0,
		    "text %d cut %zu: differs", _i, cut);
		buf_fini(&out);
	}
	buf_fini(&want);
}
END_TEST

/* repair_cte_crlf appends to what out holds, also when every line ends
 * in a bare LF (the store's LF copy: out grows line by line) */
START_TEST(crlf_appends_lf_lines_to_what_out_holds)
{
	struct buf in, out, want;
	size_t i, lines = (size_t)_i * 37;
	int pc = 0;

	buf_init(&in);
	buf_init(&out);
	buf_init(&want);
	ck_assert_int_eq(buf_puts(&out, "held\r"), 0);
	ck_assert_int_eq(buf_puts(&want, "held\r"), 0);
	for (i = 0; i < lines; i++) {
		ck_assert_int_eq(buf_printf(&in, "%.*s\n", (int)(i % 90),
		    "The quick brown fox jumps over the lazy dog; 0123456789 "
		    "abcdefghijklmnopqrstuvwxyz."), 0);
		ck_assert_int_eq(buf_printf(&want, "%.*s\r\n", (int)(i % 90),
		    "The quick brown fox jumps over the lazy dog; 0123456789 "
		    "abcdefghijklmnopqrstuvwxyz."), 0);
	}
	ck_assert_int_eq(buf_puts(&in, "no end"), 0);
	ck_assert_int_eq(buf_puts(&want, "no end"), 0);
	ck_assert_int_eq(repair_cte_crlf(in.data, in.len, &pc, &out), 0);
	ck_assert_uint_eq(out.len, want.len);
	ck_assert_int_eq(memcmp(out.data, want.data, want.len), 0);
	ck_assert_int_eq(out.data[out.len], '\0');
	ck_assert_int_eq(pc, 0);
	buf_fini(&in);
	buf_fini(&out);
	buf_fini(&want);
}
END_TEST

static Suite *
repair_cte_suite(void)
{
	Suite *s = suite_create("repair_cte");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, line_counts_match_a_plain_count, 0, 300);
	tcase_add_loop_test(tc, bare_lf_matches_a_plain_scan, 0, 20);
	tcase_add_loop_test(tc, crlf_matches_a_plain_rewrite, 0, 50);
	tcase_add_loop_test(tc, crlf_appends_lf_lines_to_what_out_holds, 0,
	    60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(repair_cte_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
