/*
 * fuzz_addr - libFuzzer target for common/addr.c.
 *
 * Feeds the input to addr_parse_list and addr_parse_path, and checks what
 * comes back: every address fits IMC_MAX_ADDRESS, and a canonical address
 * parses again to itself through both functions (the canonical form is a
 * fixed point). A broken invariant aborts, which libFuzzer reports as a
 * crash. Everything is freed (LeakSanitizer runs).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "imc_limits.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* fuzz_fail - report a broken invariant and crash */
static void
fuzz_fail(const char *what, const char *addr)
{
	fprintf(stderr, "fuzz_addr: %s: \"%s\"\n", what, addr);
	abort();
}

/* fuzz_check_canonical - a canonical address must parse to itself */
static void
fuzz_check_canonical(const char *a)
{
	struct addr_list again;
	struct buf err;
	char *path = NULL;
	size_t n = strlen(a);

	if (n > IMC_MAX_ADDRESS)
		fuzz_fail("address longer than the limit", a);
	(void)addr_domain(a);
	buf_init(&err);
	addr_list_init(&again);
	if (addr_parse_list(a, n, &again, &err) == -1)
		fuzz_fail("canonical address does not parse as a list", a);
	if (again.n != 1 || strcmp(again.items[0], a) != 0)
		fuzz_fail("canonical address changes on a second parse", a);
	addr_list_free(&again);
	if (addr_parse_path(a, n, &path, &err) == -1)
		fuzz_fail("canonical address does not parse as a path", a);
	if (strcmp(path, a) != 0)
		fuzz_fail("canonical address changes as a path", a);
	free(path);
	buf_fini(&err);
}

/* LLVMFuzzerTestOneInput - one input through both parsers */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_list l;
	struct buf err;
	char *path = NULL;
	size_t i;

	buf_init(&err);
	addr_list_init(&l);
	if (addr_parse_list((const char *)data, size, &l, &err) == 0) {
		for (i = 0; i < l.n; i++)
			fuzz_check_canonical(l.items[i]);
	} else if (l.n != 0)
		fuzz_fail("addresses left after a failure", "");
	addr_list_free(&l);

	buf_reset(&err);
	if (addr_parse_path((const char *)data, size, &path, &err) == 0) {
		if (path == NULL)
			fuzz_fail("success without a result", "");
		if (path[0] != '\0')
			fuzz_check_canonical(path);
		free(path);
	} else if (path != NULL)
		fuzz_fail("result left after a failure", path);
	buf_fini(&err);
	return 0;
}
