/*
 * strset - a set of strings (open addressing, grows as needed).
 *
 * The set owns copies of its strings. strset_add returns 1 when added, 0
 * when already present (out of memory is fatal, see xalloc.h).
 */
#ifndef IMC_STRSET_H
#define IMC_STRSET_H

#include <stdbool.h>
#include <stddef.h>

struct strset {
	char	**slots;
	size_t	  cap;		/* a power of two, or 0 */
	size_t	  n;		/* live strings */
	size_t	  used;		/* live plus deleted markers */
};

void	strset_init(struct strset *);
void	strset_fini(struct strset *);
void	strset_clear(struct strset *);
int	strset_add(struct strset *, const char *);
bool	strset_has(const struct strset *, const char *);
bool	strset_del(struct strset *, const char *);

#endif
