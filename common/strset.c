/*
 * strset - a set of strings (see strset.h).
 */
#include "strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* A deleted slot: never a valid string pointer. */
static char strset_tombstone_mark;
#define STRSET_TOMBSTONE (&strset_tombstone_mark)

static uint64_t
strset_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* strset_init - an empty set */
void
strset_init(struct strset *s)
{
	memset(s, 0, sizeof(*s));
}

/* strset_clear - remove every string, keep the storage */
void
strset_clear(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++) {
		if (s->slots[i] != NULL && s->slots[i] != STRSET_TOMBSTONE)
			free(s->slots[i]);
		s->slots[i] = NULL;
	}
	s->n = s->used = 0;
}

/* strset_fini - release everything */
void
strset_fini(struct strset *s)
{
	strset_clear(s);
	free(s->slots);
	strset_init(s);
}

static size_t
strset_find(const struct strset *s, const char *str, bool *found)
{
	size_t mask = s->cap - 1, i = strset_hash(str) & mask, free_slot = SIZE_MAX;

	*found = false;
	for (;;) {
		if (s->slots[i] == NULL)
			return free_slot != SIZE_MAX ? free_slot : i;
		if (s->slots[i] == STRSET_TOMBSTONE) {
			if (free_slot == SIZE_MAX)
				free_slot = i;
		} else if (strcmp(s->slots[i], str) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static void
strset_grow(struct strset *s)
{
	struct strset n;
	size_t i, slot;
	bool found;

	/* Mostly deleted markers: rebuild at the same size instead of growing,
	 * so a set that only churns (add, delete, add...) stays small. */
	n.cap = s->cap == 0 ? 16 : s->n * 2 < s->cap / 2 ? s->cap : s->cap * 2;
	n.slots = xcalloc(n.cap, sizeof(*n.slots));
	n.n = n.used = 0;
	for (i = 0; i < s->cap; i++) {
		if (s->slots[i] == NULL || s->slots[i] == STRSET_TOMBSTONE)
			continue;
		slot = strset_find(&n, s->slots[i], &found);
		n.slots[slot] = s->slots[i];
		n.n++;
		n.used++;
	}
	free(s->slots);
	*s = n;
}

/* strset_add - add a copy of str */
int
strset_add(struct strset *s, const char *str)
{
	size_t slot;
	bool found;

	if ((s->used + 1) * 4 >= s->cap * 3)
		strset_grow(s);
	slot = strset_find(s, str, &found);
	if (found)
		return 0;
	if (s->slots[slot] == NULL)
		s->used++;
	s->slots[slot] = xstrdup(str);
	s->n++;
	return 1;
}

/* strset_has - is str in the set */
bool
strset_has(const struct strset *s, const char *str)
{
	bool found;

	if (s->cap == 0)
		return false;
	(void)strset_find(s, str, &found);
	return found;
}

/* strset_del - remove str; false if it was not there */
bool
strset_del(struct strset *s, const char *str)
{
	size_t slot;
	bool found;

	if (s->cap == 0)
		return false;
	slot = strset_find(s, str, &found);
	if (!found)
		return false;
	free(s->slots[slot]);
	s->slots[slot] = STRSET_TOMBSTONE;
	s->n--;
	return true;
}
