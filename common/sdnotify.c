/*
 * sdnotify - the service manager's notify socket (see sdnotify.h).
 */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* sdnotify_send - one datagram with state to $NOTIFY_SOCKET, if set */
int
sdnotify_send(const char *state)
{
	struct sockaddr_un sun;
	const char *name = getenv("NOTIFY_SOCKET");
	size_t n, len = strlen(state);
	socklen_t slen;
	ssize_t sent;
	int fd, saved;

	if (name == NULL || name[0] == '\0')
		return 0;
	n = strlen(name);
	/* an absolute path, or '@' for the abstract namespace */
	if ((name[0] != '/' && name[0] != '@') || n < 2 ||
	    n > sizeof(sun.sun_path) - (name[0] == '/')) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	/* an abstract name is exactly its bytes: no trailing NUL counted */
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (name[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	sent = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    slen);
	saved = errno;
	close(fd);
	if (sent == -1) {
		errno = saved;
		return -1;
	}
	if ((size_t)sent != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* sdnotify_reloading - RELOADING=1 and the time of the reload */
int
sdnotify_reloading(void)
{
	char msg[64];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull +
	    (unsigned long long)ts.tv_nsec / 1000);
	return sdnotify_send(msg);
}
