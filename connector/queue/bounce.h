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
 * message goes to Badmail instead. A delay notice has the same shape; its
 * subject starts "Delayed:" so that scripts looking for "Undeliverable:"
 * do not count it as a failure.
 */
#ifndef IMC_BOUNCE_H
#define IMC_BOUNCE_H

#include <stdbool.h>
#include <time.h>

#include "qfile.h"

enum bounce_kind {
	BOUNCE_FAILED,	/* the FAILED recipients: Action: failed */
	BOUNCE_DELAYED	/* the PENDING recipients: Action: delayed, with
			   Will-Retry-Until (the delay notice, sent once) */
};

struct bounce_opts {
	enum bounce_kind kind;
	const char	*hostname;
	const char	*bounce_qid;
	bool		 stuff_dots;
	time_t		 retry_until;	/* BOUNCE_DELAYED: when it gives up */
};

/* eml_fd: the original content (its header is copied, bounded). */
int	bounce_write(int out_fd, const struct qenv *, int eml_fd,
	    const struct bounce_opts *);

#endif
