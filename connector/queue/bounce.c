/*
 * bounce - delivery status notifications (see bounce.h).
 */
#include "bounce.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "imc_limits.h"
#include "safeio.h"

/* The copied header is bounded: a notification must stay small. */
#define BOUNCE_MAX_HEADER	(64 * 1024)

static void
bounce_date(time_t t, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, size, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		out[0] = '\0';
}

/* Where the header ends: just past the line break before the first empty
 * line ("\n\r\n" or "\n\n"), or NULL. */
static char *
bounce_blank_line(char *s)
{
	char *nl;

	for (nl = strchr(s, '\n'); nl != NULL; nl = strchr(nl + 1, '\n'))
		if (nl[1] == '\n' || (nl[1] == '\r' && nl[2] == '\n'))
			return nl + 1;
	return NULL;
}

/* Read the original header (up to the blank line or the bound). */
static int
bounce_read_header(int fd, struct buf *hdr)
{
	char chunk[4096];
	ssize_t n;
	char *end;

	while (hdr->len < BOUNCE_MAX_HEADER) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (buf_append(hdr, chunk, (size_t)n) == -1)
			return -1;
		/* CRLF (Out/) or LF (the store's In/ copy) */
		if ((end = bounce_blank_line(hdr->data)) != NULL) {
			hdr->len = (size_t)(end - hdr->data);
			hdr->data[hdr->len] = '\0';
			return 0;
		}
	}
	if (hdr->len > BOUNCE_MAX_HEADER)
		hdr->len = BOUNCE_MAX_HEADER;
	/* Cut at the last full line. */
	while (hdr->len > 0 && hdr->data[hdr->len - 1] != '\n')
		hdr->len--;
	if (hdr->data != NULL)
		hdr->data[hdr->len] = '\0';
	return 0;
}

/* The unfolded Subject of a header, cut to one line. */
static void
bounce_subject(const struct buf *hdr, struct buf *out)
{
	const char *p = hdr->data, *end = p + hdr->len, *nl;

	while (p != NULL && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)(end - p) > 8 && strncasecmp(p, "subject:", 8) == 0) {
			const char *v = p + 8;

			for (;;) {
				const char *e = nl ? nl : end;

				while (v < e && (*v == ' ' || *v == '\t'))
					v++;
				while (e > v && (e[-1] == '\r' || e[-1] == ' '))
					e--;
				buf_append(out, v, (size_t)(e - v));
				if (nl == NULL || nl + 1 >= end ||
				    (nl[1] != ' ' && nl[1] != '\t'))
					break;
				buf_putc(out, ' ');
				v = nl + 1;
				nl = memchr(v, '\n', (size_t)(end - v));
			}
			return;
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* The Diagnostic-Code of a recipient (RFC 3464 section 2.3.6): "smtp; "
 * and the reply when the text is a peer's SMTP reply, as smtp_proto
 * writes it ("PEER said: 550 5.1.1 words (in reply to RCPT TO)", PEER a
 * host[address]:port without spaces); "X-IMC; " and the text for reasons
 * of our own. One line: control bytes become spaces. */
static int
bounce_diagnostic(struct buf *o, const char *text)
{
	const char *sp = strchr(text, ' '), *reply, *end, *tail;
	size_t len;
	int r;

	reply = sp != NULL && sp > text && strncmp(sp, " said: ", 7) == 0 ?
	    sp + 7 : NULL;
	tail = reply != NULL ? strstr(reply, " (in reply to ") : NULL;
	/* the last " (in reply to": the peer's words may hold one too */
	while (tail != NULL && (end = strstr(tail + 1, " (in reply to ")) != NULL)
		tail = end;
	if (tail != NULL && (tail[strlen(tail) - 1] != ')' ||
	    strchr(tail + 14, '(') != NULL))
		tail = NULL;
	if (tail != NULL && tail - reply >= 3 && reply[0] >= '2' &&
	    reply[0] <= '5' && reply[1] >= '0' && reply[1] <= '9' &&
	    reply[2] >= '0' && reply[2] <= '9' && (tail - reply == 3 ||
	    reply[3] == ' ')) {
		r = buf_puts(o, "smtp; ");
		len = (size_t)(tail - reply);
		while (len > 3 && reply[len - 1] == ' ')
			len--;
	} else {
		r = buf_puts(o, "X-IMC; ");
		reply = text;
		len = strlen(text);
	}
	for (end = reply + len; r == 0 && reply < end; reply++)
		r = buf_putc(o, (unsigned char)*reply < 0x20 ||
		    *reply == 0x7f ? ' ' : *reply);
	return r == 0 ? buf_putc(o, '\n') : -1;
}

/* Add text line by line with CRLF, doubling leading dots if asked. */
static int
bounce_lines(struct buf *o, const char *text, size_t len, bool stuff)
{
	const char *p = text, *end = text + len, *nl;
	size_t l;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (stuff && l > 0 && p[0] == '.' && buf_putc(o, '.') == -1)
			return -1;
		if (buf_append(o, p, l) == -1 || buf_puts(o, "\r\n") == -1)
			return -1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* bounce_write - write the notification for e's failed recipients */
int
bounce_write(int out_fd, const struct qenv *e, int eml_fd,
    const struct bounce_opts *bo)
{
	const char *hostname = bo->hostname, *bqid = bo->bounce_qid;
	bool stuff_dots = bo->stuff_dots, delayed = bo->kind == BOUNCE_DELAYED;
	enum qrcpt_state which = delayed ? QRCPT_PENDING : QRCPT_FAILED;
	struct buf hdr, subject, body, o;
	char now[64], sent[64], until[64];
	size_t i;
	int r = -1;

	buf_init(&hdr);
	buf_init(&subject);
	buf_init(&body);
	buf_init(&o);
	if (bounce_read_header(eml_fd, &hdr) == -1)
		goto out;
	bounce_subject(&hdr, &subject);
	bounce_date(time(NULL), now, sizeof(now));
	bounce_date((time_t)e->arrival, sent, sizeof(sent));
	bounce_date(bo->retry_until, until, sizeof(until));

	if (buf_printf(&o, "X-Sender: <>\r\nX-Receiver: <%s>\r\n", e->sender) ||
	    buf_printf(&o, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\nSubject: %s: %s\r\nDate: %s\r\n"
	    "Message-ID: <%s.bounce@%s>\r\nAuto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s/%s\"\r\n\r\n"
	    "This is a MIME-encapsulated message.\r\n\r\n--%s/%s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n", hostname, e->sender,
	    delayed ? "Delayed" : "Undeliverable", subject.len ? subject.data : "(no subject)", now, bqid, hostname,
	    bqid, hostname, bqid, hostname))
		goto out;
	if (delayed ? buf_printf(&body, "Your message has not yet reached some "
	    "of the intended recipients. Delivery is being retried until %s; "
	    "you do not need to send it again.\n\n      Subject:  %s\n"
	    "      Sent:     %s\n\nThe following recipient(s) have not been "
	    "reached yet:\n\n", until,
	    subject.len ? subject.data : "(no subject)", sent) :
	    buf_printf(&body, "Your message did not reach some or all of the "
	    "intended recipients.\n\n      Subject:  %s\n      Sent:     %s\n\n"
	    "The following recipient(s) could not be reached:\n\n",
	    subject.len ? subject.data : "(no subject)", sent))
		goto out;
	for (i = 0; i < e->n_rcpts; i++)
		if (e->rcpts[i].state == which &&
		    buf_printf(&body, "      '%s' on %s\n            %s\n"
		    "            <%s #%s>\n\n", e->rcpts[i].addr, now,
		    e->rcpts[i].text ? e->rcpts[i].text : delayed ?
		    "not delivered yet" : "delivery failed", hostname,
		    e->rcpts[i].dsn[0] ? e->rcpts[i].dsn : delayed ? "4.0.0" :
		    "5.0.0"))
			goto out;
	if (bounce_lines(&o, body.data, body.len, stuff_dots) == -1)
		goto out;
	buf_reset(&body);
	if (buf_printf(&body, "--%s/%s\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; %s\nX-IMC-Queue-ID: %s\nArrival-Date: %s\n",
	    bqid, hostname, hostname, e->qid, sent))
		goto out;
	for (i = 0; i < e->n_rcpts; i++) {
		if (e->rcpts[i].state != which)
			continue;
		if (buf_printf(&body, "\nFinal-Recipient: rfc822; %s\n"
		    "Action: %s\nStatus: %s\nDiagnostic-Code: ",
		    e->rcpts[i].addr, delayed ? "delayed" : "failed",
		    e->rcpts[i].dsn[0] ? e->rcpts[i].dsn : delayed ? "4.0.0" :
		    "5.0.0") || bounce_diagnostic(&body, e->rcpts[i].text ?
		    e->rcpts[i].text : delayed ? "not delivered yet" : "failed"))
			goto out;
		if (delayed && buf_printf(&body, "Will-Retry-Until: %s\n", until))
			goto out;
	}
	if (buf_printf(&body, "\n--%s/%s\nContent-Type: text/rfc822-headers\n\n",
	    bqid, hostname))
		goto out;
	if (bounce_lines(&o, body.data, body.len, stuff_dots) == -1 ||
	    bounce_lines(&o, hdr.data ? hdr.data : "", hdr.len, stuff_dots) == -1 ||
	    buf_printf(&o, "\r\n--%s/%s--\r\n", bqid, hostname))
		goto out;
	r = safe_write_all(out_fd, o.data, o.len);
out:
	buf_fini(&hdr);
	buf_fini(&subject);
	buf_fini(&body);
	buf_fini(&o);
	return r;
}
