/*
 * limits - every bound on untrusted input, in one place.
 *
 * Parsers never hold untrusted input in fixed buffers; these numbers bound
 * how much they keep and how deep they go, so a hostile file costs a known
 * amount of memory and time.
 */
#ifndef IMC_LIMITS_H
#define IMC_LIMITS_H

/* The header block of a Pickup file is kept in memory while the envelope is
 * worked out; the body is streamed. A larger block is refused. */
#define IMC_MAX_HEADER_BLOCK	(1024 * 1024)

/* Recipients of one message (X-Receiver lines plus To/Cc/Bcc addresses). */
#define IMC_MAX_RECIPIENTS	10000

/* One address as text (RFC 5321 allows 256 octets in a path). */
#define IMC_MAX_ADDRESS		1024

/* Read size when streaming a file. */
#define IMC_IO_CHUNK		(64 * 1024)

/* A configuration line. */
#define IMC_MAX_CONFIG_LINE	8192

/* Maildir mailbox name parts (local part, domain) as folder names. */
#define IMC_MAX_MAILBOX_NAME	255

/* An SMTP command line the listener reads (RFC 5321 4.5.3.1.4 allows 512
 * octets; ESMTP parameters make real ones longer). A longer line is
 * refused and skipped to its end, never kept. */
#define IMC_SMTPD_LINE_MAX	2048

#endif
