/*
 * sdnotify - tell a service manager (systemd, Type=notify) about our state
 * without libsystemd: one datagram to the unix socket $NOTIFY_SOCKET.
 *
 * The state is sd_notify(3)'s text, "READY=1", "STOPPING=1",
 * "RELOADING=1\nMONOTONIC_USEC=...". A name starting with '@' is in the
 * abstract namespace ('@' stands for the leading NUL byte). Without
 * $NOTIFY_SOCKET (not started by a service manager) nothing is sent and
 * 0 is returned; -1 with errno when the name is not usable or the
 * datagram could not be sent. The variable is read at every call and
 * left in the environment.
 */
#ifndef IMC_SDNOTIFY_H
#define IMC_SDNOTIFY_H

int	sdnotify_send(const char *state);
/* "RELOADING=1" with the MONOTONIC_USEC that Type=notify-reload wants */
int	sdnotify_reloading(void);

#endif
