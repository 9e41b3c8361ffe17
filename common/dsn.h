/*
 * dsn - the syntax of the RFC 3461 (DSN) ESMTP parameter values, shared
 * by the SMTP listener (MAIL/RCPT parameters) and Pickup's X-Sender /
 * X-Receiver lines, so that both keep exactly the same values.
 */
#ifndef IMC_DSN_H
#define IMC_DSN_H

#include <stdbool.h>
#include <stddef.h>

/* xtext (RFC 3461 4): not empty, printable ASCII but '=', every '+'
 * followed by two hex digits (ENVID, ORCPT). */
bool	dsn_xtext_ok(const char *v, size_t len);
/* NOTIFY: "NEVER" alone, or a comma list of SUCCESS, FAILURE and DELAY,
 * each at most once (any case). */
bool	dsn_notify_ok(const char *v, size_t len);

#endif
