/*
 * bounce - delivery status notifications (RFC 3464) for failed recipients.
 *
 * bounce_write builds a multipart/report from the null sender to the
 * original sender: a human-readable part that opens the way Exchange's
 * non-delivery reports did ("Your message did not reach some or all of the
 * intended recipients.", subject, sent time, each recipient with its
 * reason), a message/delivery-status part, and the original header as
 * text/rfc822-headers. The notification is written as a Pickup-format file
 * (X-Sender: <> and X-Receiver: lines first) into a descriptor, so the
 * connector takes it through the same intake as any message, including
 * crash recovery from Work/. Leading dots are doubled when the connector
 * reads Pickup files the IIS way. Never called for a null sender: such a
 * message goes to Badmail instead.
 */
#ifndef IMC_BOUNCE_H
#define IMC_BOUNCE_H

#include <stdbool.h>

#include "qfile.h"

/* eml_fd: the original content (its header is copied, bounded). */
int	bounce_write(int out_fd, const struct qenv *, int eml_fd,
	    const char *hostname, const char *bounce_qid, bool stuff_dots);

#endif
