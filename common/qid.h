/*
 * qid - queue ids.
 *
 * A queue id is given when a Pickup file is claimed and names every file of
 * that message (Work/<qid>, In/<qid>.eml, ...). It is 16 characters of
 * [0-9A-Z]: 11 for the microsecond clock (so ids sort by time) and 5 random
 * ones from getrandom(2), so several connectors sharing one Pickup never
 * collide in practice (the claim by rename is what makes it exact).
 */
#ifndef IMC_QID_H
#define IMC_QID_H

#include <stdbool.h>

#define QID_LEN		16
#define QID_SIZE	(QID_LEN + 1)

int	qid_new(char out[QID_SIZE]);
bool	qid_valid(const char *);
/* The claim time a valid queue id carries, in seconds. */
long long qid_time(const char *);

#endif
