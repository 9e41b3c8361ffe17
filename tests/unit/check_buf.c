/*
 * check_buf - unit tests for common/buf.c.
 *
 * Table-driven: each case is { name, input, want }. Appends take a list of
 * pieces (with explicit lengths, so NUL bytes count) and want the exact
 * bytes; consume cases take a starting content and a count; printf cases
 * take a format with one int and one string. Every case also checks the
 * contract that a NUL byte follows the data.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define MAXPIECES 4

struct piece {
	const char *p;
	size_t	len;
};

struct append_case {
	const char *name;
	struct piece in[MAXPIECES];	/* ends at p == NULL */
	const char *want;
	size_t	want_len;
};

static const struct append_case append_cases[] = {
	{ "one_string_is_kept", { { "hello", 5 } }, "hello", 5 },
	{ "pieces_are_joined_in_order", { { "ab", 2 }, { "cd", 2 }, { "e", 1 } },
	    "abcde", 5 },
	{ "empty_piece_adds_nothing", { { "ab", 2 }, { "", 0 }, { "c", 1 } },
	    "abc", 3 },
	{ "nul_bytes_are_data", { { "a\0b", 3 }, { "\0", 1 } }, "a\0b\0", 4 },
	{ "high_bytes_are_data", { { "\xff\x80\x01", 3 } }, "\xff\x80\x01", 3 },
	{ "crlf_is_kept", { { "a\r\n", 3 }, { "\r\n", 2 } }, "a\r\n\r\n", 5 },
};

struct consume_case {
	const char *name;
	const char *input;
	size_t	n;
	const char *want;
};

static const struct consume_case consume_cases[] = {
	{ "consume_zero_keeps_everything", "abcdef", 0, "abcdef" },
	{ "consume_part_drops_the_front", "abcdef", 2, "cdef" },
	{ "consume_all_but_one_keeps_the_last", "abcdef", 5, "f" },
	{ "consume_exactly_all_empties", "abcdef", 6, "" },
	{ "consume_more_than_len_empties", "abcdef", 100, "" },
	{ "consume_on_empty_buffer_stays_empty", "", 3, "" },
};

struct printf_case {
	const char *name;
	const char *before;	/* content before the printf */
	const char *fmt;	/* takes an int and a string */
	int	 num;
	const char *str;
	const char *want;
};

static const struct printf_case printf_cases[] = {
	{ "printf_formats_int_and_string", "", "%d-%s", 42, "x", "42-x" },
	{ "printf_appends_after_content", "a=", "%d%s", -7, ";", "a=-7;" },
	{ "printf_percent_is_literal", "", "%d%%%s", 5, "", "5%" },
	{ "printf_width_pads", "", "[%5d|%-3s]", 12, "a", "[   12|a  ]" },
	{ "printf_long_output_grows",
	    "", "%d %s", 1,
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "456789",
	    "1 0123456789012345678901234567890123456789012345678901234567890123"
	    "456789" },
};

/* check_terminated - the contract: a NUL right after the data */
static void
check_terminated(const struct buf *b, const char *name)
{
	ck_assert_msg(b->data != NULL, "%s: no storage", name);
	ck_assert_msg(b->cap > b->len, "%s: cap %zu not above len %zu", name,
	    b->cap, b->len);
	ck_assert_msg(b->data[b->len] == '\0', "%s: no NUL after the data",
	    name);
}

START_TEST(test_append_case)
{
	const struct append_case *c = &append_cases[_i];
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < MAXPIECES && c->in[i].p != NULL; i++)
		ck_assert_msg(buf_append(&b, c->in[i].p, c->in[i].len) == 0,
		    "%s: append failed", c->name);
	ck_assert_msg(b.len == c->want_len, "%s: len %zu, want %zu", c->name,
	    b.len, c->want_len);
	ck_assert_msg(memcmp(b.data, c->want, c->want_len) == 0,
	    "%s: wrong bytes", c->name);
	check_terminated(&b, c->name);
	buf_fini(&b);
}
END_TEST

START_TEST(test_consume_case)
{
	const struct consume_case *c = &consume_cases[_i];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, c->input), 0);
	buf_consume(&b, c->n);
	ck_assert_msg(b.len == strlen(c->want), "%s: len %zu, want %zu",
	    c->name, b.len, strlen(c->want));
	ck_assert_msg(strcmp(buf_cstr(&b), c->want) == 0,
	    "%s: got \"%s\", want \"%s\"", c->name, buf_cstr(&b), c->want);
	check_terminated(&b, c->name);
	buf_fini(&b);
}
END_TEST

START_TEST(test_printf_case)
{
	const struct printf_case *c = &printf_cases[_i];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, c->before), 0);
	/* The formats come from the table above, not from input. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	ck_assert_msg(buf_printf(&b, c->fmt, c->num, c->str) == 0,
	    "%s: printf failed", c->name);
#pragma GCC diagnostic pop
	ck_assert_msg(strcmp(buf_cstr(&b), c->want) == 0,
	    "%s: got \"%s\", want \"%s\"", c->name, buf_cstr(&b), c->want);
	ck_assert_msg(b.len == strlen(c->want), "%s: len %zu, want %zu",
	    c->name, b.len, strlen(c->want));
	check_terminated(&b, c->name);
	buf_fini(&b);
}
END_TEST

START_TEST(new_buffer_is_empty_string)
{
	struct buf b;

	buf_init(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_fini(&b);
	ck_assert_ptr_null(b.data);
	buf_fini(&b);		/* twice is harmless */
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(byte_by_byte_growth_keeps_every_byte)
{
	struct buf b;
	size_t i, n = 100000;

	buf_init(&b);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(buf_putc(&b, (int)('a' + i % 26)), 0);
		ck_assert_msg(b.data[b.len] == '\0', "no NUL after %zu bytes",
		    b.len);
	}
	ck_assert_uint_eq(b.len, n);
	ck_assert_uint_gt(b.cap, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(b.data[i] == (char)('a' + i % 26),
		    "byte %zu is %d", i, b.data[i]);
	buf_fini(&b);
}
END_TEST

START_TEST(large_append_grows_in_one_step)
{
	struct buf b;
	char *big;
	size_t n = 1000000;

	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, 'z', n);
	big[n / 2] = '\0';
	buf_init(&b);
	ck_assert_int_eq(buf_append(&b, "x", 1), 0);
	ck_assert_int_eq(buf_append(&b, big, n), 0);
	ck_assert_uint_eq(b.len, n + 1);
	ck_assert_int_eq(b.data[0], 'x');
	ck_assert_int_eq(memcmp(b.data + 1, big, n), 0);
	check_terminated(&b, "large_append");
	free(big);
	buf_fini(&b);
}
END_TEST

START_TEST(putc_stores_nul_and_high_bytes)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(buf_putc(&b, 0), 0);
	ck_assert_int_eq(buf_putc(&b, 0xff), 0);
	ck_assert_int_eq(buf_putc(&b, 'A'), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "\0\xff" "A", 3), 0);
	check_terminated(&b, "putc");
	buf_fini(&b);
}
END_TEST

START_TEST(reserve_keeps_content_and_makes_room)
{
	struct buf b;
	char *before;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	ck_assert_int_eq(buf_reserve(&b, 5000), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_uint_ge(b.cap, 3 + 5000 + 1);
	ck_assert_str_eq(buf_cstr(&b), "abc");
	/* The room is there: appending it does not move the storage. */
	before = b.data;
	for (int i = 0; i < 5000; i++)
		ck_assert_int_eq(buf_putc(&b, 'y'), 0);
	ck_assert_ptr_eq(b.data, before);
	buf_fini(&b);
}
END_TEST

START_TEST(reserve_overflow_fails_and_leaves_buffer)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "keep"), 0);
	errno = 0;
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), -1);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX - 4), -1);
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 2), -1);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_str_eq(buf_cstr(&b), "keep");
	buf_fini(&b);
}
END_TEST

START_TEST(reset_forgets_content_keeps_storage)
{
	struct buf b;
	size_t cap;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "some text here"), 0);
	cap = b.cap;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_str_eq(buf_cstr(&b), "");
	ck_assert_int_eq(buf_puts(&b, "new"), 0);
	ck_assert_str_eq(buf_cstr(&b), "new");
	buf_fini(&b);
}
END_TEST

START_TEST(consume_keeps_binary_tail)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(buf_append(&b, "ab\0c\0d", 6), 0);
	buf_consume(&b, 2);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_int_eq(memcmp(b.data, "\0c\0d", 4), 0);
	check_terminated(&b, "consume_binary");
	buf_fini(&b);
}
END_TEST

START_TEST(consume_then_append_continues)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "line1\nline2"), 0);
	buf_consume(&b, 6);
	ck_assert_int_eq(buf_puts(&b, "+more"), 0);
	ck_assert_str_eq(buf_cstr(&b), "line2+more");
	ck_assert_uint_eq(b.len, 10);
	buf_fini(&b);
}
END_TEST

START_TEST(steal_of_empty_buffer_gives_empty_string)
{
	struct buf b;
	char *s;

	buf_init(&b);
	s = buf_steal(&b);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	free(s);
}
END_TEST

START_TEST(steal_of_reset_buffer_gives_empty_string)
{
	struct buf b;
	char *s;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "gone"), 0);
	buf_reset(&b);
	s = buf_steal(&b);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(steal_hands_over_content_and_empties_buffer)
{
	struct buf b;
	char *s;

	buf_init(&b);
	ck_assert_int_eq(buf_printf(&b, "%s=%d", "n", 3), 0);
	s = buf_steal(&b);
	ck_assert_str_eq(s, "n=3");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	/* The buffer is usable again and does not share the old storage. */
	ck_assert_int_eq(buf_puts(&b, "other"), 0);
	ck_assert_str_eq(s, "n=3");
	ck_assert_str_eq(buf_cstr(&b), "other");
	free(s);
	buf_fini(&b);
}
END_TEST

START_TEST(printf_of_empty_text_allocates_terminated_storage)
{
	struct buf b;
	const char *empty = "";

	buf_init(&b);
	ck_assert_int_eq(buf_printf(&b, "%s", empty), 0);
	ck_assert_uint_eq(b.len, 0);
	check_terminated(&b, "printf_empty");
	buf_fini(&b);
}
END_TEST

START_TEST(printf_after_binary_data_appends_after_it)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(buf_append(&b, "x\0y", 3), 0);
	ck_assert_int_eq(buf_printf(&b, "%c%s", 'z', "w"), 0);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_int_eq(memcmp(b.data, "x\0yzw", 5), 0);
	check_terminated(&b, "printf_after_binary");
	buf_fini(&b);
}
END_TEST

START_TEST(printf_many_times_grows_past_first_allocation)
{
	struct buf b;
	char want[32];
	int i;
	size_t off = 0;

	buf_init(&b);
	for (i = 0; i < 2000; i++)
		ck_assert_int_eq(buf_printf(&b, "%04d,", i), 0);
	ck_assert_uint_eq(b.len, 2000 * 5);
	for (i = 0; i < 2000; i++, off += 5) {
		snprintf(want, sizeof(want), "%04d,", i);
		ck_assert_int_eq(memcmp(b.data + off, want, 5), 0);
	}
	check_terminated(&b, "printf_many");
	buf_fini(&b);
}
END_TEST

/* buf_suite - every buf test */
static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc;

	tc = tcase_create("append");
	tcase_add_loop_test(tc, test_append_case, 0,
	    (int)(sizeof(append_cases) / sizeof(append_cases[0])));
	tcase_add_test(tc, new_buffer_is_empty_string);
	tcase_add_test(tc, byte_by_byte_growth_keeps_every_byte);
	tcase_add_test(tc, large_append_grows_in_one_step);
	tcase_add_test(tc, putc_stores_nul_and_high_bytes);
	tcase_add_test(tc, reserve_keeps_content_and_makes_room);
	tcase_add_test(tc, reserve_overflow_fails_and_leaves_buffer);
	tcase_add_test(tc, reset_forgets_content_keeps_storage);
	suite_add_tcase(s, tc);

	tc = tcase_create("consume");
	tcase_add_loop_test(tc, test_consume_case, 0,
	    (int)(sizeof(consume_cases) / sizeof(consume_cases[0])));
	tcase_add_test(tc, consume_keeps_binary_tail);
	tcase_add_test(tc, consume_then_append_continues);
	suite_add_tcase(s, tc);

	tc = tcase_create("printf");
	tcase_add_loop_test(tc, test_printf_case, 0,
	    (int)(sizeof(printf_cases) / sizeof(printf_cases[0])));
	tcase_add_test(tc, printf_of_empty_text_allocates_terminated_storage);
	tcase_add_test(tc, printf_after_binary_data_appends_after_it);
	tcase_add_test(tc, printf_many_times_grows_past_first_allocation);
	suite_add_tcase(s, tc);

	tc = tcase_create("steal");
	tcase_add_test(tc, steal_of_empty_buffer_gives_empty_string);
	tcase_add_test(tc, steal_of_reset_buffer_gives_empty_string);
	tcase_add_test(tc, steal_hands_over_content_and_empties_buffer);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the buf suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(buf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
