/*
 * qid - queue ids (see qid.h).
 */
#include "qid.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char qid_digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* qid_new - a fresh queue id */
int
qid_new(char out[QID_SIZE])
{
	struct timespec ts;
	uint64_t usec;
	unsigned char rnd[5];
	ssize_t n;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	for (i = 10; i >= 0; i--) {
		out[i] = qid_digits[usec % 36];
		usec /= 36;
	}
	do
		n = getrandom(rnd, sizeof(rnd), 0);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(rnd))
		return -1;
	for (i = 0; i < 5; i++)
		out[11 + i] = qid_digits[rnd[i] % 36];
	out[QID_LEN] = '\0';
	return 0;
}

/* qid_valid - does the name have the shape of a queue id */
bool
qid_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QID_LEN; i++)
		if (s[i] == '\0' || strchr(qid_digits, s[i]) == NULL)
			return false;
	return s[QID_LEN] == '\0';
}

/* qid_time - the seconds part of the clock a queue id was made from */
long long
qid_time(const char *s)
{
	unsigned long long usec = 0;
	int i;

	for (i = 0; i < 11; i++)
		usec = usec * 36 + (unsigned long long)(strchr(qid_digits, s[i]) -
		    qid_digits);
	return (long long)(usec / 1000000u);
}
