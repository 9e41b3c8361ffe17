/*
 * check_repair_cte - the counts of repair_cte_stat_feed (repair's pass 1)
 * against a plain line-by-line count: whether a line is over RP_LINE_MAX,
 * the unfinished line, 8-bit bytes and the total, over random texts with
 * lines around the limit, CR LF and bare LF, cut into random chunks.
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
		repair_cte_stat_feed(&o, t + pos, k);
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

static Suite *
repair_cte_suite(void)
{
	Suite *s = suite_create("repair_cte");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, line_counts_match_a_plain_count, 0, 300);
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
