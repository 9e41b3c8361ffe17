/*
 * check_strset - unit tests for common/strset.c.
 *
 * Table-driven: each case is { name, input, want }: the input is a script
 * of operations (add, del, has, clear) and the want is each operation's
 * expected result; the set's count is checked after the script. Growth and
 * churn cases build their keys in a loop and have their own tests.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strset.h"

#define MAXOPS 12

enum op_kind { OP_END, OP_ADD, OP_DEL, OP_HAS, OP_CLEAR };

struct op {
	enum op_kind kind;
	const char *str;
	int	 want;		/* add: 1/0; del and has: 1 true, 0 false */
};

struct script_case {
	const char *name;
	struct op ops[MAXOPS];
	size_t	 want_n;
};

static const struct script_case script_cases[] = {
	{ "empty_set_has_nothing",
	    { { OP_HAS, "a", 0 }, { OP_HAS, "", 0 } }, 0 },
	{ "delete_from_empty_set_is_false",
	    { { OP_DEL, "a", 0 } }, 0 },
	{ "add_then_has",
	    { { OP_ADD, "alpha", 1 }, { OP_HAS, "alpha", 1 },
	      { OP_HAS, "beta", 0 } }, 1 },
	{ "second_add_of_same_string_returns_zero",
	    { { OP_ADD, "alpha", 1 }, { OP_ADD, "alpha", 0 } }, 1 },
	{ "strings_are_case_sensitive",
	    { { OP_ADD, "Alpha", 1 }, { OP_HAS, "alpha", 0 },
	      { OP_ADD, "alpha", 1 } }, 2 },
	{ "prefix_is_a_different_string",
	    { { OP_ADD, "abc", 1 }, { OP_HAS, "ab", 0 }, { OP_HAS, "abcd", 0 } },
	    1 },
	{ "empty_string_is_a_member",
	    { { OP_ADD, "", 1 }, { OP_HAS, "", 1 }, { OP_ADD, "", 0 },
	      { OP_DEL, "", 1 }, { OP_HAS, "", 0 } }, 0 },
	{ "delete_removes_only_that_string",
	    { { OP_ADD, "a", 1 }, { OP_ADD, "b", 1 }, { OP_DEL, "a", 1 },
	      { OP_HAS, "a", 0 }, { OP_HAS, "b", 1 } }, 1 },
	{ "second_delete_is_false",
	    { { OP_ADD, "a", 1 }, { OP_DEL, "a", 1 }, { OP_DEL, "a", 0 } }, 0 },
	{ "delete_of_absent_string_is_false",
	    { { OP_ADD, "a", 1 }, { OP_DEL, "b", 0 }, { OP_HAS, "a", 1 } }, 1 },
	{ "re_add_after_delete_returns_one",
	    { { OP_ADD, "a", 1 }, { OP_DEL, "a", 1 }, { OP_ADD, "a", 1 },
	      { OP_HAS, "a", 1 }, { OP_ADD, "a", 0 } }, 1 },
	{ "clear_empties_the_set",
	    { { OP_ADD, "a", 1 }, { OP_ADD, "b", 1 }, { OP_CLEAR, NULL, 0 },
	      { OP_HAS, "a", 0 }, { OP_HAS, "b", 0 }, { OP_DEL, "a", 0 } }, 0 },
	{ "add_after_clear_returns_one",
	    { { OP_ADD, "a", 1 }, { OP_CLEAR, NULL, 0 }, { OP_ADD, "a", 1 },
	      { OP_HAS, "a", 1 } }, 1 },
	{ "clear_of_empty_set_is_harmless",
	    { { OP_CLEAR, NULL, 0 }, { OP_ADD, "x", 1 } }, 1 },
	{ "high_bytes_are_compared_exactly",
	    { { OP_ADD, "caf\xc3\xa9", 1 }, { OP_HAS, "caf\xc3\xa9", 1 },
	      { OP_HAS, "cafe", 0 } }, 1 },
};

START_TEST(test_script_case)
{
	const struct script_case *c = &script_cases[_i];
	struct strset s;
	size_t i;
	int got;

	strset_init(&s);
	for (i = 0; i < MAXOPS && c->ops[i].kind != OP_END; i++) {
		const struct op *o = &c->ops[i];

		switch (o->kind) {
		case OP_ADD:
			got = strset_add(&s, o->str);
			break;
		case OP_DEL:
			got = strset_del(&s, o->str) ? 1 : 0;
			break;
		case OP_HAS:
			got = strset_has(&s, o->str) ? 1 : 0;
			break;
		case OP_CLEAR:
			strset_clear(&s);
			got = 0;
			break;
		default:
			got = -99;
			break;
		}
		ck_assert_msg(got == o->want, "%s: step %zu (\"%s\") gave %d, "
		    "want %d", c->name, i, o->str ? o->str : "", got, o->want);
	}
	ck_assert_msg(s.n == c->want_n, "%s: %zu strings, want %zu", c->name,
	    s.n, c->want_n);
	strset_fini(&s);
}
END_TEST

static void
key(char *out, size_t size, const char *prefix, int i)
{
	int n = snprintf(out, size, "%s-%d", prefix, i);

	ck_assert(n > 0 && (size_t)n < size);
}

START_TEST(set_owns_copies_of_its_strings)
{
	struct strset s;
	char word[16] = "mutable";

	strset_init(&s);
	ck_assert_int_eq(strset_add(&s, word), 1);
	memcpy(word, "changed", 8);
	ck_assert(strset_has(&s, "mutable"));
	ck_assert(!strset_has(&s, "changed"));
	strset_fini(&s);
}
END_TEST

START_TEST(thousands_of_entries_are_all_found)
{
	struct strset s;
	char k[64];
	int i, n = 20000;

	strset_init(&s);
	for (i = 0; i < n; i++) {
		key(k, sizeof(k), "file", i);
		ck_assert_int_eq(strset_add(&s, k), 1);
	}
	ck_assert_uint_eq(s.n, (size_t)n);
	ck_assert_uint_ge(s.cap, (size_t)n);
	ck_assert_uint_eq(s.cap & (s.cap - 1), 0);	/* a power of two */
	for (i = 0; i < n; i++) {
		key(k, sizeof(k), "file", i);
		ck_assert_msg(strset_has(&s, k), "%s lost after growth", k);
		ck_assert_int_eq(strset_add(&s, k), 0);
	}
	key(k, sizeof(k), "file", n);
	ck_assert(!strset_has(&s, k));
	key(k, sizeof(k), "other", 1);
	ck_assert(!strset_has(&s, k));
	ck_assert_uint_eq(s.n, (size_t)n);
	strset_fini(&s);
}
END_TEST

START_TEST(deleting_half_of_a_large_set_keeps_the_other_half)
{
	struct strset s;
	char k[64];
	int i, n = 5000;

	strset_init(&s);
	for (i = 0; i < n; i++) {
		key(k, sizeof(k), "q", i);
		ck_assert_int_eq(strset_add(&s, k), 1);
	}
	for (i = 0; i < n; i += 2) {
		key(k, sizeof(k), "q", i);
		ck_assert(strset_del(&s, k));
	}
	ck_assert_uint_eq(s.n, (size_t)n / 2);
	for (i = 0; i < n; i++) {
		key(k, sizeof(k), "q", i);
		ck_assert_msg(strset_has(&s, k) == (i % 2 == 1),
		    "%s: wrong membership after deletes", k);
	}
	/* Re-adding the deleted half reuses their slots and finds all. */
	for (i = 0; i < n; i += 2) {
		key(k, sizeof(k), "q", i);
		ck_assert_int_eq(strset_add(&s, k), 1);
	}
	ck_assert_uint_eq(s.n, (size_t)n);
	for (i = 0; i < n; i++) {
		key(k, sizeof(k), "q", i);
		ck_assert(strset_has(&s, k));
	}
	strset_fini(&s);
}
END_TEST

START_TEST(clear_of_large_set_keeps_storage_and_forgets_all)
{
	struct strset s;
	char k[64];
	size_t cap;
	int i, n = 3000;

	strset_init(&s);
	for (i = 0; i < n; i++) {
		key(k, sizeof(k), "c", i);
		ck_assert_int_eq(strset_add(&s, k), 1);
	}
	cap = s.cap;
	strset_clear(&s);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(s.cap, cap);
	for (i = 0; i < n; i++) {
		key(k, sizeof(k), "c", i);
		ck_assert(!strset_has(&s, k));
	}
	for (i = 0; i < n; i++) {
		key(k, sizeof(k), "c", i);
		ck_assert_int_eq(strset_add(&s, k), 1);
	}
	ck_assert_uint_eq(s.n, (size_t)n);
	ck_assert_uint_eq(s.cap, cap);
	strset_fini(&s);
}
END_TEST

START_TEST(fini_leaves_a_reusable_empty_set)
{
	struct strset s;

	strset_init(&s);
	ck_assert_int_eq(strset_add(&s, "a"), 1);
	strset_fini(&s);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(s.cap, 0);
	ck_assert(!strset_has(&s, "a"));
	ck_assert_int_eq(strset_add(&s, "a"), 1);
	ck_assert(strset_has(&s, "a"));
	strset_fini(&s);
	strset_fini(&s);	/* twice is harmless */
}
END_TEST

START_TEST(add_delete_churn_keeps_lookups_right)
{
	struct strset s;
	char k[64];
	int i;

	/* The daemon adds a Pickup name when it claims a file and deletes it
	 * when done: a long run of add/delete with few live entries. */
	strset_init(&s);
	ck_assert_int_eq(strset_add(&s, "resident"), 1);
	for (i = 0; i < 50000; i++) {
		key(k, sizeof(k), "churn", i);
		ck_assert_int_eq(strset_add(&s, k), 1);
		ck_assert(strset_has(&s, k));
		ck_assert(strset_del(&s, k));
		ck_assert(!strset_has(&s, k));
	}
	ck_assert_uint_eq(s.n, 1);
	ck_assert(strset_has(&s, "resident"));
	key(k, sizeof(k), "churn", 17);
	ck_assert(!strset_has(&s, k));
	strset_fini(&s);
}
END_TEST

/*
 * Regression: strset_grow always doubles the
 * table, even when nearly every used slot is a deleted marker. Add/delete
 * churn with one live entry thus grows the table without bound: after
 * 50000 cycles cap is 32768 slots (256 KiB of pointers) for one string,
 * and it keeps doubling with the number of cycles. The daemon's
 * pending_set does exactly this for every Pickup file.
 */
START_TEST(add_delete_churn_keeps_table_small)
{
	struct strset s;
	char k[64];
	int i;

	strset_init(&s);
	ck_assert_int_eq(strset_add(&s, "resident"), 1);
	for (i = 0; i < 50000; i++) {
		key(k, sizeof(k), "churn", i);
		ck_assert_int_eq(strset_add(&s, k), 1);
		ck_assert(strset_del(&s, k));
	}
	ck_assert_msg(s.cap <= 64, "cap %zu for %zu live strings", s.cap, s.n);
	strset_fini(&s);
}
END_TEST

/* strset_suite - every strset test */
static Suite *
strset_suite(void)
{
	Suite *s = suite_create("strset");
	TCase *tc;

	tc = tcase_create("script");
	tcase_add_loop_test(tc, test_script_case, 0,
	    (int)(sizeof(script_cases) / sizeof(script_cases[0])));
	tcase_add_test(tc, set_owns_copies_of_its_strings);
	tcase_add_test(tc, fini_leaves_a_reusable_empty_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("growth");
	tcase_add_test(tc, thousands_of_entries_are_all_found);
	tcase_add_test(tc, deleting_half_of_a_large_set_keeps_the_other_half);
	tcase_add_test(tc, clear_of_large_set_keeps_storage_and_forgets_all);
	tcase_add_test(tc, add_delete_churn_keeps_lookups_right);
	tcase_add_test(tc, add_delete_churn_keeps_table_small);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the strset suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(strset_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
