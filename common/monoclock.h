/*
 * monoclock - CLOCK_MONOTONIC in milliseconds: the one clock for due
 * times and deadlines (it does not jump with the wall clock).
 */
#ifndef IMC_MONOCLOCK_H
#define IMC_MONOCLOCK_H

#include <stdint.h>

int64_t	monoclock_ms(void);

#endif
