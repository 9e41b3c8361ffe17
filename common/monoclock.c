/*
 * monoclock - CLOCK_MONOTONIC in milliseconds (see monoclock.h).
 */
#include "monoclock.h"

#include <stdlib.h>
#include <time.h>

int64_t
monoclock_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		abort();	/* cannot fail with a valid clock id */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
