/*
 * check_pickup_file - unit tests for connector/intake/pickup_file.c.
 *
 * Table-driven: each case is { name, input, want }: the input is a Pickup
 * file (fed through a memfd) and the pickup_dots rule; the want is the
 * envelope (sender, recipients joined by ",") and the exact queue copy
 * that pickup_write puts in a second memfd after its Received: line, or a
 * failure kind and status code. Cases that need built input (long lines,
 * huge headers, many recipients, two outputs) have their own tests.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "imc_limits.h"
#include "mailstatus.h"
#include "pickup_file.h"

#define HOST	"host.example"
#define QID	"0F3K2J9A1B2XY7QZ"
#define NOW	1732470000
#define DATE	"Sun, 24 Nov 2024 17:40:00 +0000"
#define RECEIVED "Received: by " HOST " (imc-connector) id " QID ";\r\n\t" \
	DATE "\r\n"

/* Date and Message-ID in the input, so nothing is added. */
#define DM	"Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <m@x.example>\n"
#define DMO	"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n" \
	"Message-ID: <m@x.example>\r\n"
/* A usual head: From, To, Date, Message-ID. */
#define HD	"From: a@x.example\nTo: b@y.example\n" DM
#define HDO	"From: a@x.example\r\nTo: b@y.example\r\n" DMO
#define ADDED	"Date: " DATE "\r\nMessage-ID: <" QID "@" HOST ">\r\n"

#define IIS	PICKUP_DOTS_IIS
#define LITERAL	PICKUP_DOTS_LITERAL
#define AUTO	PICKUP_DOTS_AUTO

/* A memfd holding len bytes, positioned at the start. */
static int
memfd_with(const char *data, size_t len)
{
	int fd;

	fd = memfd_create("pickup-in", MFD_CLOEXEC);
	ck_assert_msg(fd != -1, "memfd_create: %s", strerror(errno));
	if (len > 0)
		ck_assert(write(fd, data, len) == (ssize_t)len);
	ck_assert(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* The whole content of fd into out. */
static void
read_back(int fd, struct buf *out)
{
	char chunk[65536];
	ssize_t n;

	buf_reset(out);
	ck_assert(lseek(fd, 0, SEEK_SET) == 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		ck_assert(buf_append(out, chunk, (size_t)n) == 0);
	ck_assert(n == 0);
}

struct run {
	struct mail_status why;
	struct buf	 rcpts;		/* joined by "," */
	struct buf	 out;		/* the queue copy */
	char		*sender;
	int		 read_rc;	/* 0 when pickup_read gave a file */
	int		 write_rc;
	uint64_t	 written;
	char		 note[200];	/* pickup_dots_note, "" when NULL */
	struct buf	 notes;		/* pickup_notes */
};

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->rcpts);
	buf_init(&r->out);
	buf_init(&r->notes);
}

static void
run_fini(struct run *r)
{
	buf_fini(&r->rcpts);
	buf_fini(&r->out);
	buf_fini(&r->notes);
	free(r->sender);
}

/* Read a Pickup file and write its queue copy to one output. */
static void
run_pickup(const char *input, size_t len, enum pickup_dots dots,
    struct run *r)
{
	struct pickup_opts opts = { .dots = dots, .hostname = HOST, .qid = QID,
	    .now = NOW };
	struct pickup_out out = { .fd = -1 };
	struct pickup_file *pf;
	const struct addr_list *l;
	size_t i;
	int in;

	in = memfd_with(input, len);
	pf = pickup_read(in, &opts, &r->why);
	if (pf == NULL) {
		r->read_rc = -1;
		close(in);
		return;
	}
	r->sender = strdup(pickup_sender(pf));
	ck_assert_ptr_nonnull(r->sender);
	l = pickup_recipients(pf);
	for (i = 0; i < l->n; i++)
		buf_printf(&r->rcpts, "%s%s", i ? "," : "", l->items[i]);
	out.fd = memfd_create("pickup-out", MFD_CLOEXEC);
	ck_assert(out.fd != -1);
	out.prefix = NULL;
	out.written = 0;
	r->write_rc = pickup_write(pf, &out, 1, &r->why);
	r->written = out.written;
	if (pickup_dots_note(pf, r->note, sizeof(r->note)) == NULL)
		r->note[0] = '\0';
	ck_assert(pickup_notes(pf, &r->notes) == (r->notes.len > 0));
	read_back(out.fd, &r->out);
	close(out.fd);
	pickup_free(pf);
	close(in);
}

/* Show bytes with CR, LF and NUL visible, for failure messages. */
static const char *
visible(const char *s, size_t len, struct buf *b)
{
	size_t i;

	buf_reset(b);
	for (i = 0; i < len && b->len < 2000; i++) {
		if (s[i] == '\r')
			buf_puts(b, "\\r");
		else if (s[i] == '\n')
			buf_puts(b, "\\n\n");
		else if (s[i] == '\0')
			buf_puts(b, "\\0");
		else
			buf_putc(b, s[i]);
	}
	return buf_cstr(b);
}

struct pf_case {
	const char *name;
	const char *input;
	size_t	 len;		/* 0: strlen(input) */
	enum pickup_dots dots;
	const char *want_sender; /* success */
	const char *want_rcpts;
	const char *want_out;	/* after the Received: line */
};

#define NULIN	HD "\nA\0B\n\0\n"
#define NULOUT	HDO "\r\nA\0B\r\n\0\r\n"

static const struct pf_case ok_cases[] = {
	/* X-Sender / X-Receiver */
	{ "x_receiver_lines_win_over_to",
	    "X-Sender: s@x.example\nX-Receiver: r@y.example\n" HD "\nbody\n", 0,
	    IIS, "s@x.example", "r@y.example", HDO "\r\nbody\r\n" },
	{ "x_lines_any_case_are_read_and_removed",
	    "x-sender: <s@x.example>\nX-RECEIVER: <r@y.example>\n"
	    "x-Receiver:r2@y.example\n" HD "\nbody\n", 0,
	    IIS, "s@x.example", "r@y.example,r2@y.example",
	    HDO "\r\nbody\r\n" },
	{ "several_x_receivers_in_order",
	    "X-Sender: s@x.example\nX-Receiver: <c@y.example>\n"
	    "X-Receiver: <a@y.example>\nX-Receiver: <b@z.example>\n" HD "\n", 0,
	    IIS, "s@x.example", "c@y.example,a@y.example,b@z.example",
	    HDO "\r\n" },
	{ "x_receivers_are_deduplicated",
	    "X-Sender: s@x.example\nX-Receiver: <r@y.example>\n"
	    "X-Receiver: r@Y.EXAMPLE\nX-Receiver: r@y.example\n"
	    "X-Receiver: q@y.example\n" HD "\n", 0,
	    IIS, "s@x.example", "r@y.example,q@y.example", HDO "\r\n" },
	{ "x_receiver_local_parts_differing_in_case_are_kept",
	    "X-Sender: s@x.example\nX-Receiver: r@y.example\n"
	    "X-Receiver: R@y.example\n" HD "\n", 0,
	    IIS, "s@x.example", "r@y.example,R@y.example", HDO "\r\n" },
	{ "x_sender_alone_takes_recipients_from_header",
	    "X-Sender: s@x.example\n" HD "\n", 0,
	    IIS, "s@x.example", "b@y.example", HDO "\r\n" },
	{ "x_receiver_alone_takes_sender_from_header",
	    "X-Receiver: r@y.example\n" HD "\n", 0,
	    IIS, "a@x.example", "r@y.example", HDO "\r\n" },
	{ "x_sender_empty_path_is_null_sender",
	    "X-Sender: <>\nX-Receiver: r@y.example\n" HD "\n", 0,
	    IIS, "", "r@y.example", HDO "\r\n" },
	{ "null_sender_adds_no_from",
	    "X-Sender: <>\nX-Receiver: r@y.example\nTo: r@y.example\n" DM "\n",
	    0, IIS, "", "r@y.example", "To: r@y.example\r\n" DMO "\r\n" },
	{ "x_sender_without_from_adds_from",
	    "X-Sender: s@x.example\nX-Receiver: r@y.example\nSubject: hi\n"
	    DM "\n", 0, IIS, "s@x.example", "r@y.example",
	    "Subject: hi\r\n" DMO "From: <s@x.example>\r\n\r\n" },
	{ "unqualified_x_lines_get_the_hostname",
	    "X-Sender: <alice>\nX-Receiver: bob\n" HD "\n", 0,
	    IIS, "alice@" HOST, "bob@" HOST, HDO "\r\n" },
	{ "x_lines_after_a_header_field_are_ordinary_fields",
	    "From: a@x.example\nX-Receiver: r@y.example\nTo: b@y.example\n" DM
	    "\n", 0, IIS, "a@x.example", "b@y.example",
	    "From: a@x.example\r\nX-Receiver: r@y.example\r\nTo: b@y.example\r\n"
	    DMO "\r\n" },
	{ "x_lines_with_crlf_are_read",
	    "X-Sender: s@x.example\r\nX-Receiver: r@y.example\r\n"
	    "From: a@x.example\r\nTo: b@y.example\r\n" DM "\r\nbody\r\n", 0,
	    IIS, "s@x.example", "r@y.example", HDO "\r\nbody\r\n" },

	/* Recipients and sender from the header */
	{ "recipients_from_to_cc_and_bcc",
	    "From: a@x.example\nTo: t@y.example\nCc: c@y.example\n"
	    "Bcc: h@y.example\n" DM "\nbody\n", 0,
	    IIS, "a@x.example", "t@y.example,c@y.example,h@y.example",
	    "From: a@x.example\r\nTo: t@y.example\r\nCc: c@y.example\r\n"
	    DMO "\r\nbody\r\n" },
	{ "header_names_any_case",
	    "FROM: a@x.example\nto: t@y.example\ncC: c@y.example\n"
	    "bcc: h@y.example\n" DM "\n", 0,
	    IIS, "a@x.example", "t@y.example,c@y.example,h@y.example",
	    "FROM: a@x.example\r\nto: t@y.example\r\ncC: c@y.example\r\n"
	    DMO "\r\n" },
	{ "header_recipients_are_deduplicated",
	    "From: a@x.example\nTo: t@y.example, T <t@Y.example>\n"
	    "Cc: t@y.example\nBcc: <t@y.example>, u@y.example\n" DM "\n", 0,
	    IIS, "a@x.example", "t@y.example,u@y.example",
	    "From: a@x.example\r\nTo: t@y.example, T <t@Y.example>\r\n"
	    "Cc: t@y.example\r\n" DMO "\r\n" },
	{ "several_to_fields_all_count",
	    "From: a@x.example\nTo: t1@y.example\nTo: t2@y.example\n" DM "\n", 0,
	    IIS, "a@x.example", "t1@y.example,t2@y.example",
	    "From: a@x.example\r\nTo: t1@y.example\r\nTo: t2@y.example\r\n"
	    DMO "\r\n" },
	{ "sender_wins_over_from_when_first",
	    "Sender: s@x.example\nFrom: f@x.example\nTo: b@y.example\n" DM "\n",
	    0, IIS, "s@x.example", "b@y.example",
	    "Sender: s@x.example\r\nFrom: f@x.example\r\nTo: b@y.example\r\n"
	    DMO "\r\n" },
	{ "sender_wins_over_from_when_last",
	    "From: f@x.example\nTo: b@y.example\nSender: s@x.example\n" DM "\n",
	    0, IIS, "s@x.example", "b@y.example",
	    "From: f@x.example\r\nTo: b@y.example\r\nSender: s@x.example\r\n"
	    DMO "\r\n" },
	{ "first_address_of_from_is_the_sender",
	    "From: f1@x.example, f2@x.example\nTo: b@y.example\n" DM "\n", 0,
	    IIS, "f1@x.example", "b@y.example",
	    "From: f1@x.example, f2@x.example\r\nTo: b@y.example\r\n" DMO "\r\n" },
	{ "undisclosed_recipients_group_gives_none",
	    "From: a@x.example\nTo: undisclosed-recipients:;\n"
	    "Bcc: h@y.example\n" DM "\n", 0,
	    IIS, "a@x.example", "h@y.example",
	    "From: a@x.example\r\nTo: undisclosed-recipients:;\r\n" DMO "\r\n" },
	{ "group_members_are_recipients",
	    "From: a@x.example\nTo: team: m1@y.example, M Two <m2@y.example>;,"
	    " o@z.example\n" DM "\n", 0,
	    IIS, "a@x.example", "m1@y.example,m2@y.example,o@z.example",
	    "From: a@x.example\r\nTo: team: m1@y.example, M Two <m2@y.example>;,"
	    " o@z.example\r\n" DMO "\r\n" },
	{ "display_names_and_comments_are_skipped",
	    "From: \"Alice A.\" <a@x.example> (me)\n"
	    "To: \"Doe, John\" <jd@y.example> (boss), Jane (J) <jane@z.example>\n"
	    DM "\n", 0, IIS, "a@x.example", "jd@y.example,jane@z.example",
	    "From: \"Alice A.\" <a@x.example> (me)\r\n"
	    "To: \"Doe, John\" <jd@y.example> (boss), Jane (J) <jane@z.example>"
	    "\r\n" DMO "\r\n" },
	{ "folded_to_is_read_and_kept",
	    "From: a@x.example\nTo: t1@y.example,\n\tt2@y.example\n" DM "\n", 0,
	    IIS, "a@x.example", "t1@y.example,t2@y.example",
	    "From: a@x.example\r\nTo: t1@y.example,\r\n\tt2@y.example\r\n" DMO
	    "\r\n" },
	{ "unqualified_header_addresses_get_the_hostname",
	    "From: alice\nTo: bob, carol@y.example\n" DM "\n", 0,
	    IIS, "alice@" HOST, "bob@" HOST ",carol@y.example",
	    "From: alice\r\nTo: bob, carol@y.example\r\n" DMO "\r\n" },
	{ "quoted_local_part_is_kept",
	    "From: a@x.example\nTo: \"john doe\"@y.example\n" DM "\n", 0,
	    IIS, "a@x.example", "\"john doe\"@y.example",
	    "From: a@x.example\r\nTo: \"john doe\"@y.example\r\n" DMO "\r\n" },

	/* Fields dropped and added */
	{ "bcc_resent_bcc_return_path_content_length_are_dropped",
	    "Return-Path: <old@x.example>\nFrom: a@x.example\nTo: b@y.example\n"
	    "Bcc: h@y.example\nResent-Bcc: rb@y.example\n"
	    "Content-Length: 12\n" DM "\nbody\n", 0,
	    IIS, "a@x.example", "b@y.example,h@y.example", HDO "\r\nbody\r\n" },
	{ "folded_bcc_is_dropped_whole",
	    "From: a@x.example\nTo: b@y.example\nBcc: h1@y.example,\n"
	    " h2@y.example\n" DM "\n", 0, IIS, "a@x.example",
	    "b@y.example,h1@y.example,h2@y.example", HDO "\r\n" },
	{ "date_and_message_id_added_when_missing",
	    "From: a@x.example\nTo: b@y.example\n\nbody\n", 0,
	    IIS, "a@x.example", "b@y.example",
	    "From: a@x.example\r\nTo: b@y.example\r\n" ADDED "\r\nbody\r\n" },
	{ "only_message_id_added_when_date_present",
	    "From: a@x.example\nTo: b@y.example\ndate: Mon, 1 Jan 2024\n\n", 0,
	    IIS, "a@x.example", "b@y.example",
	    "From: a@x.example\r\nTo: b@y.example\r\ndate: Mon, 1 Jan 2024\r\n"
	    "Message-ID: <" QID "@" HOST ">\r\n\r\n" },
	{ "only_date_added_when_message_id_present",
	    "From: a@x.example\nTo: b@y.example\nMESSAGE-ID: <k@x>\n\n", 0,
	    IIS, "a@x.example", "b@y.example",
	    "From: a@x.example\r\nTo: b@y.example\r\nMESSAGE-ID: <k@x>\r\n"
	    "Date: " DATE "\r\n\r\n" },

	/* Line ends */
	{ "bare_lf_input_gives_crlf", HD "\nline 1\nline 2\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\nline 1\r\nline 2\r\n" },
	{ "crlf_input_gives_crlf",
	    "From: a@x.example\r\nTo: b@y.example\r\n"
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "Message-ID: <m@x.example>\r\n\r\nline 1\r\nline 2\r\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\nline 1\r\nline 2\r\n" },
	{ "mixed_line_ends_give_crlf", HD "\r\nline 1\nline 2\r\nline 3", 0,
	    IIS, "a@x.example", "b@y.example",
	    HDO "\r\nline 1\r\nline 2\r\nline 3\r\n" },
	{ "blank_body_lines_are_kept", HD "\n\n\nx\n\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\n\r\n\r\nx\r\n\r\n" },
	{ "bare_cr_inside_a_line_is_data", HD "\na\rb\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\na\rb\r\n" },

	/* Dots */
	{ "final_dot_line_is_dropped", HD "\nbody\n.\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\nbody\r\n" },
	{ "final_dot_line_without_newline_is_dropped", HD "\nbody\n.", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\nbody\r\n" },
	{ "final_dot_line_with_crlf_is_dropped", HD "\r\nbody\r\n.\r\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\nbody\r\n" },
	{ "final_dot_line_is_kept_under_literal", HD "\nbody\n.\n", 0,
	    LITERAL, "a@x.example", "b@y.example", HDO "\r\nbody\r\n.\r\n" },
	{ "iis_removes_one_leading_dot", HD "\n..x\n.x\n...\n..\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\n.x\r\nx\r\n..\r\n.\r\n" },
	{ "iis_lone_dot_not_last_becomes_empty_line", HD "\na\n.\nb\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\na\r\n\r\nb\r\n" },
	{ "iis_two_lone_dots_at_end_keep_one_empty_line", HD "\na\n.\n.\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\na\r\n\r\n" },
	{ "iis_dot_only_in_middle_of_line_is_kept", HD "\na.b\n x.\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\na.b\r\n x.\r\n" },
	{ "literal_keeps_every_dot", HD "\n..x\n.x\na\n.\nb\n", 0,
	    LITERAL, "a@x.example", "b@y.example",
	    HDO "\r\n..x\r\n.x\r\na\r\n.\r\nb\r\n" },
	{ "body_that_is_only_a_dot_is_empty", HD "\n.\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\n" },

	/* pickup_dots = auto: a line with a single leading dot means the
	 * file was written literally; else it reads as IIS. */
	{ "auto_single_dot_line_reads_as_written", HD "\n..x\n.x\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n..x\r\n.x\r\n" },
	{ "auto_only_double_dots_read_as_stuffed", HD "\n..x\n...\n..\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n.x\r\n..\r\n.\r\n" },
	{ "auto_evidence_after_a_stuffed_looking_line", HD "\n..a\nb\n.c\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n..a\r\nb\r\n.c\r\n" },
	{ "auto_lone_dot_not_last_is_evidence", HD "\n..x\n.\nb\n", 0,
	    AUTO, "a@x.example", "b@y.example",
	    HDO "\r\n..x\r\n.\r\nb\r\n" },
	{ "auto_lone_dot_then_blank_line_is_evidence", HD "\n..x\n.\n\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n..x\r\n.\r\n\r\n" },
	{ "auto_lone_dot_first_then_text_is_evidence", HD "\n.\n..x\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n.\r\n..x\r\n" },
	{ "auto_final_dot_dropped_when_stuffed", HD "\r\n..x\r\n.\r\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n.x\r\n" },
	{ "auto_final_dot_kept_when_literal", HD "\n.x\n.\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n.x\r\n.\r\n" },
	{ "auto_final_dot_without_newline_is_no_evidence", HD "\n..x\n.", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n.x\r\n" },
	{ "auto_final_dot_cr_is_no_evidence", HD "\n..x\n.\r", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n.x\r\n" },
	{ "auto_only_a_final_dot_is_dropped", HD "\nbody\n.\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\nbody\r\n" },
	{ "auto_dot_cr_inside_a_line_is_evidence", HD "\n..a\n.\rb\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n..a\r\n.\rb\r\n" },
	{ "auto_dot_inside_lines_is_no_evidence", HD "\n..a\nb.c\n x.\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n.a\r\nb.c\r\n x.\r\n" },
	{ "auto_body_start_without_blank_line_is_evidence",
	    HD "..dotted\n.x\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n..dotted\r\n.x\r\n" },
	{ "auto_body_start_without_blank_line_stuffed",
	    HD "..dotted\n.\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\n.dotted\r\n" },
	{ "auto_without_dots_changes_nothing", HD "\na\n\nb\n", 0,
	    AUTO, "a@x.example", "b@y.example", HDO "\r\na\r\n\r\nb\r\n" },

	/* A leading mbox "From " line (issue 12): dropped; its address is the
	 * sender only when nothing else gives one */
	{ "mbox_from_line_is_dropped",
	    "From someone@else.example  Fri Apr  6 22:43:55 2007\n" HD "\nb\n",
	    0, IIS, "a@x.example", "b@y.example", HDO "\r\nb\r\n" },
	{ "mbox_from_line_gives_the_sender_when_nothing_else_does",
	    "From bounce@list.example Fri Apr  6 22:43:55 2007\r\n"
	    "To: b@y.example\r\n" DM "\r\nb\r\n", 0, IIS,
	    "bounce@list.example", "b@y.example",
	    "To: b@y.example\r\n" DMO "From: <bounce@list.example>\r\n\r\nb\r\n" },
	{ "mbox_from_line_unqualified_sender",
	    "From MAILER-DAEMON Fri Apr  6 22:43:55 2007\nTo: b@y.example\n" DM
	    "\nb\n", 0, IIS, "MAILER-DAEMON@" HOST, "b@y.example",
	    "To: b@y.example\r\n" DMO "From: <MAILER-DAEMON@" HOST ">\r\n"
	    "\r\nb\r\n" },
	{ "mbox_from_line_then_x_lines",
	    "From x@z.example Fri Apr  6 22:43:55 2007\nX-Sender: s@x.example\n"
	    "X-Receiver: r@y.example\n" HD "\nb\n", 0, IIS, "s@x.example",
	    "r@y.example", HDO "\r\nb\r\n" },
	{ "mbox_from_line_after_x_lines_is_dropped",
	    "X-Sender: s@x.example\nX-Receiver: r@y.example\n"
	    "From x@z.example Fri Apr  6 22:43:55 2007\n" HD "\nb\n", 0, IIS,
	    "s@x.example", "r@y.example", HDO "\r\nb\r\n" },
	{ "mbox_from_line_after_a_field_is_not_dropped",
	    HD "From x@z.example Fri Apr  6 22:43:55 2007\nb\n", 0, IIS,
	    "a@x.example", "b@y.example",
	    HDO "\r\nFrom x@z.example Fri Apr  6 22:43:55 2007\r\nb\r\n" },
	{ "obsolete_from_field_with_blank_before_colon_is_a_field",
	    "From : a@x.example\nTo: b@y.example\n" DM "\nb\n", 0, IIS,
	    "a@x.example", "b@y.example",
	    "From : a@x.example\r\nTo: b@y.example\r\n" DMO "\r\nb\r\n" },
	{ "mbox_from_line_without_address_is_dropped",
	    "From \n" HD "\nb\n", 0, IIS, "a@x.example", "b@y.example",
	    HDO "\r\nb\r\n" },
	{ "mbox_quoted_from_lines_in_the_body_are_left_as_written",
	    "From x@z.example Fri Apr  6 22:43:55 2007\n" HD
	    "\n>From the start\n>>From twice\nFrom later\n", 0, AUTO,
	    "a@x.example", "b@y.example",
	    HDO "\r\n>From the start\r\n>>From twice\r\nFrom later\r\n" },

	/* Header and body boundary */
	{ "header_only_file_gets_a_blank_line", HD, 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\n" },
	{ "header_only_file_without_final_newline",
	    "From: a@x.example\nTo: b@y.example\n"
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <m@x.example>", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\n" },
	{ "body_line_before_blank_line_starts_the_body",
	    HD "This is the body\nsecond line\n", 0,
	    IIS, "a@x.example", "b@y.example",
	    HDO "\r\nThis is the body\r\nsecond line\r\n" },
	{ "body_start_without_blank_line_keeps_dot_rules",
	    HD "..dotted\n.\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\n.dotted\r\n" },
	{ "header_lines_longer_than_998_pass_intact",
	    HD "Subject: "
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "\n\n", 0, IIS, "a@x.example", "b@y.example",
	    HDO "Subject: "
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "\r\n\r\n" },
	{ "eight_bit_body_passes_through", HD "\nJ\xc3\xb6rg \xff\x80\n", 0,
	    IIS, "a@x.example", "b@y.example", HDO "\r\nJ\xc3\xb6rg \xff\x80\r\n" },
};

START_TEST(test_ok_case)
{
	const struct pf_case *c = &ok_cases[_i];
	struct run r;
	struct buf want, v1, v2;
	size_t in_len = c->len ? c->len : strlen(c->input);
	size_t out_len = strlen(c->want_out);

	run_init(&r);
	buf_init(&want);
	buf_init(&v1);
	buf_init(&v2);
	run_pickup(c->input, in_len, c->dots, &r);
	ck_assert_msg(r.read_rc == 0, "%s: refused: %s %s", c->name, r.why.dsn,
	    r.why.text);
	ck_assert_msg(r.write_rc == 0, "%s: write failed: %s", c->name,
	    r.why.text);
	ck_assert_msg(strcmp(r.sender, c->want_sender) == 0,
	    "%s: sender \"%s\", want \"%s\"", c->name, r.sender,
	    c->want_sender);
	ck_assert_msg(strcmp(buf_cstr(&r.rcpts), c->want_rcpts) == 0,
	    "%s: recipients \"%s\", want \"%s\"", c->name, buf_cstr(&r.rcpts),
	    c->want_rcpts);
	buf_puts(&want, RECEIVED);
	buf_append(&want, c->want_out, out_len);
	ck_assert_msg(r.out.len == want.len &&
	    memcmp(r.out.data, want.data, want.len) == 0,
	    "%s: output\n%s\nwant\n%s", c->name,
	    visible(r.out.data, r.out.len, &v1),
	    visible(want.data, want.len, &v2));
	ck_assert_msg(r.written == r.out.len, "%s: written %llu, file %zu",
	    c->name, (unsigned long long)r.written, r.out.len);
	run_fini(&r);
	buf_fini(&want);
	buf_fini(&v1);
	buf_fini(&v2);
}
END_TEST

struct fail_case {
	const char *name;
	const char *input;
	enum mail_kind want_kind;
	const char *want_dsn;
	const char *want_text;	/* a part of the reason */
};

static const struct fail_case fail_cases[] = {
	{ "empty_input_is_refused", "", MAIL_PERM, "5.1.3", "empty" },
	{ "only_blank_lines_are_refused", "\n\n\n", MAIL_PERM, "5.1.3",
	    "empty" },
	{ "no_recipients_is_refused",
	    "From: a@x.example\nSubject: s\n\nbody\n", MAIL_PERM, "5.1.3",
	    "no recipients" },
	{ "empty_group_only_is_no_recipients",
	    "From: a@x.example\nTo: undisclosed-recipients:;\n\n", MAIL_PERM,
	    "5.1.3", "no recipients" },
	{ "x_sender_without_any_recipient_is_refused",
	    "X-Sender: s@x.example\nSubject: s\n\n", MAIL_PERM, "5.1.3",
	    "no recipients" },
	{ "no_originator_is_refused", "To: b@y.example\n\nbody\n", MAIL_PERM,
	    "5.1.7", "originator" },
	{ "unparsable_from_is_no_originator",
	    "From: <<not an address\nTo: b@y.example\n\n", MAIL_PERM, "5.1.7",
	    "originator" },
	{ "unparsable_to_is_refused",
	    "From: a@x.example\nTo: <b@y.example\n\n", MAIL_PERM, "5.1.3",
	    "unparsable address in To" },
	{ "unparsable_cc_is_refused",
	    "From: a@x.example\nTo: b@y.example\nCc: c@\n\n", MAIL_PERM, "5.1.3",
	    "unparsable address in Cc" },
	{ "unparsable_x_receiver_is_refused",
	    "X-Sender: s@x.example\nX-Receiver: <r@y.example\n" HD "\n",
	    MAIL_PERM, "5.1.3", "X-Receiver" },
	{ "unparsable_x_sender_is_refused",
	    "X-Sender: <s@\nX-Receiver: r@y.example\n" HD "\n", MAIL_PERM,
	    "5.1.3", "X-Sender" },
	{ "empty_x_receiver_is_refused",
	    "X-Sender: s@x.example\nX-Receiver: <>\n" HD "\n", MAIL_PERM, "5.1.3",
	    "empty recipient" },
	{ "body_only_file_is_refused", "just some text\nand more\n", MAIL_PERM,
	    "5.1.3", "no header" },
};

START_TEST(test_fail_case)
{
	const struct fail_case *c = &fail_cases[_i];
	struct run r;

	run_init(&r);
	run_pickup(c->input, strlen(c->input), PICKUP_DOTS_IIS, &r);
	ck_assert_msg(r.read_rc == -1, "%s: accepted (sender \"%s\", "
	    "recipients \"%s\")", c->name, r.sender ? r.sender : "",
	    buf_cstr(&r.rcpts));
	ck_assert_msg(r.why.kind == c->want_kind, "%s: kind %s", c->name,
	    mail_kind_name(r.why.kind));
	ck_assert_msg(strcmp(r.why.dsn, c->want_dsn) == 0,
	    "%s: dsn %s, want %s", c->name, r.why.dsn, c->want_dsn);
	ck_assert_msg(strstr(r.why.text, c->want_text) != NULL,
	    "%s: reason \"%s\" lacks \"%s\"", c->name, r.why.text, c->want_text);
	run_fini(&r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Built inputs */

/* dsn_parameters_on_x_lines - NOTIFY/ORCPT per recipient, RET/ENVID of
 * the sender, kept as given when valid, others ignored; duplicates keep
 * the first recipient's */
START_TEST(dsn_parameters_on_x_lines)
{
	static const char input[] =
	    "X-Sender: <s@x.example> RET=hdrs ENVID=a+2Bb SIZE=9\r\n"
	    "X-Receiver: <r1@y.example> NOTIFY=success,Delay "
	    "ORCPT=rfc822;r1@y.example\r\n"
	    "X-Receiver: <r2@y.example>\r\n"
	    "X-Receiver: <r3@y.example> NOTIFY=sometimes ORCPT=no-type\r\n"
	    "X-Receiver: <r1@y.example> NOTIFY=NEVER\r\n"
	    "X-Receiver: <r4@y.example> NOTIFY=NEVER ORCPT=rfc822;+zz\r\n"
	    "Subject: s\r\n\r\nbody\r\n";
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS, .hostname = HOST,
	    .qid = QID, .now = NOW };
	struct pickup_file *pf;
	struct mail_status why;
	int in;

	in = memfd_with(input, strlen(input));
	pf = pickup_read(in, &opts, &why);
	ck_assert_msg(pf != NULL, "%s", why.text);
	ck_assert_uint_eq(pickup_recipients(pf)->n, 4);
	ck_assert_str_eq(pickup_ret(pf), "HDRS");
	ck_assert_str_eq(pickup_envid(pf), "a+2Bb");
	ck_assert_str_eq(pickup_rcpt_notify(pf, 0), "SUCCESS,DELAY");
	ck_assert_str_eq(pickup_rcpt_orcpt(pf, 0), "rfc822;r1@y.example");
	ck_assert_ptr_null(pickup_rcpt_notify(pf, 1));
	ck_assert_ptr_null(pickup_rcpt_orcpt(pf, 1));
	ck_assert_ptr_null(pickup_rcpt_notify(pf, 2));	/* not a NOTIFY */
	ck_assert_ptr_null(pickup_rcpt_orcpt(pf, 2));	/* no "type;" */
	ck_assert_str_eq(pickup_rcpt_notify(pf, 3), "NEVER");
	ck_assert_ptr_null(pickup_rcpt_orcpt(pf, 3));	/* bad xtext */
	ck_assert_ptr_null(pickup_rcpt_notify(pf, 4));	/* out of range */
	pickup_free(pf);
	close(in);
}
END_TEST

START_TEST(nul_bytes_in_the_body_pass_through)
{
	static const char in[] = NULIN;
	static const char want[] = RECEIVED NULOUT;
	struct run r;

	run_init(&r);
	run_pickup(in, sizeof(in) - 1, PICKUP_DOTS_IIS, &r);
	ck_assert_msg(r.read_rc == 0 && r.write_rc == 0, "%s", r.why.text);
	ck_assert_uint_eq(r.out.len, sizeof(want) - 1);
	ck_assert_int_eq(memcmp(r.out.data, want, sizeof(want) - 1), 0);
	run_fini(&r);
}
END_TEST

/* A body line of n bytes of a pattern, starting with first. */
static void
put_long_line(struct buf *b, size_t n, char first)
{
	size_t i;

	buf_putc(b, first);
	for (i = 1; i < n; i++)
		buf_putc(b, (char)('a' + i % 26));
}

START_TEST(lines_longer_than_the_read_chunk_pass_intact)
{
	static const size_t lens[] = { 999, IMC_IO_CHUNK - 1, IMC_IO_CHUNK,
	    IMC_IO_CHUNK + 1, 3 * IMC_IO_CHUNK + 17, 300000 };
	struct buf in, want;
	struct run r;
	size_t i;

	buf_init(&in);
	buf_init(&want);
	buf_puts(&in, HD "\n");
	buf_puts(&want, RECEIVED HDO "\r\n");
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		put_long_line(&in, lens[i], 'L');
		buf_puts(&in, i % 2 ? "\r\n" : "\n");
		put_long_line(&want, lens[i], 'L');
		buf_puts(&want, "\r\n");
	}
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_msg(r.read_rc == 0 && r.write_rc == 0, "%s", r.why.text);
	ck_assert_uint_eq(r.out.len, want.len);
	ck_assert_msg(memcmp(r.out.data, want.data, want.len) == 0,
	    "long lines changed");
	ck_assert_uint_eq(r.written, want.len);
	run_fini(&r);
	buf_fini(&in);
	buf_fini(&want);
}
END_TEST

START_TEST(crlf_split_by_the_read_chunk_is_one_line_end)
{
	struct buf in, want;
	struct run r;
	size_t fill;

	/* Put the CR of a CR LF at the last byte of a full read buffer: the
	 * first body line does not fit after the header, so the reader moves
	 * it to the start of its buffer; IMC_IO_CHUNK - 1 bytes then end
	 * with the CR at the buffer's last byte. */
	buf_init(&in);
	buf_init(&want);
	buf_puts(&in, HD "\n");
	fill = IMC_IO_CHUNK - 1;
	put_long_line(&in, fill, 'C');
	buf_puts(&in, "\r\nnext\r\n");
	buf_puts(&want, RECEIVED HDO "\r\n");
	put_long_line(&want, fill, 'C');
	buf_puts(&want, "\r\nnext\r\n");
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_msg(r.read_rc == 0 && r.write_rc == 0, "%s", r.why.text);
	ck_assert_uint_eq(r.out.len, want.len);
	ck_assert_int_eq(memcmp(r.out.data, want.data, want.len), 0);
	run_fini(&r);
	buf_fini(&in);
	buf_fini(&want);
}
END_TEST

START_TEST(crlf_at_every_chunk_boundary_offset_is_one_line_end)
{
	struct buf in, want, v;
	struct run r;
	size_t pad, i;

	/* Slide the CR LF of a line of about IMC_IO_CHUNK bytes across the
	 * end of the reader's buffer (CR last, LF last, both after it), then
	 * short lines straddling the next refill. */
	buf_init(&v);
	for (pad = 0; pad < 8; pad++) {
		buf_init(&in);
		buf_init(&want);
		buf_puts(&in, HD "\r\n");
		buf_puts(&want, RECEIVED HDO "\r\n");
		put_long_line(&in, IMC_IO_CHUNK - 4 + pad, 'P');
		put_long_line(&want, IMC_IO_CHUNK - 4 + pad, 'P');
		buf_puts(&in, "\r\n");
		buf_puts(&want, "\r\n");
		for (i = 0; i < 30; i++) {
			buf_printf(&in, "%zu\r\n", i % 10);
			buf_printf(&want, "%zu\r\n", i % 10);
		}
		run_init(&r);
		run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
		ck_assert_msg(r.read_rc == 0 && r.write_rc == 0, "%s",
		    r.why.text);
		ck_assert_msg(r.out.len == want.len &&
		    memcmp(r.out.data, want.data, want.len) == 0,
		    "pad %zu: tail\n%s", pad, visible(r.out.data + r.out.len -
		    (r.out.len > 200 ? 200 : r.out.len), r.out.len > 200 ? 200 :
		    r.out.len, &v));
		run_fini(&r);
		buf_fini(&in);
		buf_fini(&want);
	}
	buf_fini(&v);
}
END_TEST

/* A body of one line of len bytes without a line end: the queue copy
 * holds it whole, with CR LF added. */
static void
assert_unterminated_last_line(size_t len)
{
	struct buf in, want;
	struct run r;

	buf_init(&in);
	buf_init(&want);
	buf_puts(&in, HD "\n");
	put_long_line(&in, len, 'U');
	buf_puts(&want, RECEIVED HDO "\r\n");
	put_long_line(&want, len, 'U');
	buf_puts(&want, "\r\n");
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_msg(r.read_rc == 0 && r.write_rc == 0, "%s", r.why.text);
	ck_assert_msg(r.out.len == want.len, "length %zu: output %zu, want %zu",
	    len, r.out.len, want.len);
	ck_assert_int_eq(memcmp(r.out.data, want.data, want.len), 0);
	run_fini(&r);
	buf_fini(&in);
	buf_fini(&want);
}

START_TEST(unterminated_long_last_line_gets_a_line_end)
{
	/* Lengths that do not end on a read-buffer boundary. */
	static const size_t lens[] = { IMC_IO_CHUNK - 1, IMC_IO_CHUNK + 1,
	    2 * IMC_IO_CHUNK + 5 };
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		assert_unterminated_last_line(lens[i]);
}
END_TEST

/*
 * Regression: a last line without a line end
 * whose bytes end exactly at a read-buffer boundary (e.g. a body that is
 * one line of 65536 bytes, no final LF) is handed out by lr_next as a
 * piece with eol false; the next read gives 0 bytes with nothing left, so
 * lr_next returns LR_EOF and the line never gets its CR LF: the queue copy
 * ends in the middle of a line. One byte more or less and CR LF is added.
 */
START_TEST(unterminated_last_line_of_buffer_size_gets_a_line_end)
{
	static const size_t lens[] = { IMC_IO_CHUNK, 3 * IMC_IO_CHUNK };
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		assert_unterminated_last_line(lens[i]);
}
END_TEST

START_TEST(long_line_starting_with_dot_loses_only_one_dot)
{
	struct buf in, want;
	struct run r;

	buf_init(&in);
	buf_init(&want);
	buf_puts(&in, HD "\n..");
	put_long_line(&in, 2 * IMC_IO_CHUNK, '.');
	buf_puts(&in, "\n");
	buf_puts(&want, RECEIVED HDO "\r\n.");
	put_long_line(&want, 2 * IMC_IO_CHUNK, '.');
	buf_puts(&want, "\r\n");
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_msg(r.read_rc == 0 && r.write_rc == 0, "%s", r.why.text);
	ck_assert_uint_eq(r.out.len, want.len);
	ck_assert_int_eq(memcmp(r.out.data, want.data, want.len), 0);
	run_fini(&r);
	buf_fini(&in);
	buf_fini(&want);
}
END_TEST

START_TEST(long_first_body_line_without_blank_line_passes_intact)
{
	struct buf in, want;
	struct run r;

	buf_init(&in);
	buf_init(&want);
	buf_puts(&in, HD);
	put_long_line(&in, 200000, 'N');	/* not a header field */
	buf_puts(&in, "\nend\n");
	buf_puts(&want, RECEIVED HDO "\r\n");
	put_long_line(&want, 200000, 'N');
	buf_puts(&want, "\r\nend\r\n");
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_msg(r.read_rc == 0 && r.write_rc == 0, "%s", r.why.text);
	ck_assert_uint_eq(r.out.len, want.len);
	ck_assert_int_eq(memcmp(r.out.data, want.data, want.len), 0);
	run_fini(&r);
	buf_fini(&in);
	buf_fini(&want);
}
END_TEST

START_TEST(header_block_over_the_limit_is_refused)
{
	struct buf in;
	struct run r;
	size_t i;

	buf_init(&in);
	buf_puts(&in, HD);
	for (i = 0; in.len <= IMC_MAX_HEADER_BLOCK; i++)
		buf_printf(&in, "X-Filler-%zu: %0200zu\n", i, i);
	buf_puts(&in, "\nbody\n");
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_int_eq(r.read_rc, -1);
	ck_assert_int_eq(r.why.kind, MAIL_PERM);
	ck_assert_str_eq(r.why.dsn, "5.6.0");
	ck_assert_ptr_nonnull(strstr(r.why.text, "header"));
	run_fini(&r);
	buf_fini(&in);
}
END_TEST

START_TEST(one_header_line_over_the_limit_is_refused)
{
	struct buf in;
	struct run r;

	buf_init(&in);
	buf_puts(&in, HD "Subject: ");
	put_long_line(&in, IMC_MAX_HEADER_BLOCK + 10, 's');
	buf_puts(&in, "\n\nbody\n");
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_int_eq(r.read_rc, -1);
	ck_assert_int_eq(r.why.kind, MAIL_PERM);
	ck_assert_str_eq(r.why.dsn, "5.6.0");
	run_fini(&r);
	buf_fini(&in);
}
END_TEST

START_TEST(header_block_just_under_the_limit_is_accepted)
{
	struct buf in;
	struct run r;
	size_t i;

	buf_init(&in);
	buf_puts(&in, HD);
	for (i = 0; in.len < IMC_MAX_HEADER_BLOCK - 4096; i++)
		buf_printf(&in, "X-Filler-%zu: %0200zu\n", i, i);
	buf_puts(&in, "\nbody\n");
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_msg(r.read_rc == 0, "%s", r.why.text);
	ck_assert_int_eq(r.write_rc, 0);
	/* Received (2 lines) plus every field, all with CR LF. */
	ck_assert_uint_eq(r.out.len, strlen(RECEIVED) + in.len +
	    (size_t)(i + 4 + 1 + 1));
	run_fini(&r);
	buf_fini(&in);
}
END_TEST

START_TEST(recipients_over_the_limit_are_refused)
{
	struct buf in;
	struct run r;
	size_t i;

	buf_init(&in);
	buf_puts(&in, "X-Sender: s@x.example\n");
	for (i = 0; i <= IMC_MAX_RECIPIENTS; i++)
		buf_printf(&in, "X-Receiver: r%zu@y.example\n", i);
	buf_puts(&in, HD "\n");
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_int_eq(r.read_rc, -1);
	ck_assert_int_eq(r.why.kind, MAIL_PERM);
	ck_assert_str_eq(r.why.dsn, "5.5.3");
	run_fini(&r);
	buf_fini(&in);
}
END_TEST

START_TEST(recipients_at_the_limit_are_accepted)
{
	struct buf in;
	struct run r;
	size_t i;

	buf_init(&in);
	buf_puts(&in, "X-Sender: s@x.example\n");
	for (i = 0; i < IMC_MAX_RECIPIENTS; i++)
		buf_printf(&in, "X-Receiver: r%zu@y.example\n", i);
	/* Repeats do not count against the limit. */
	buf_puts(&in, "X-Receiver: r0@y.example\n" HD "\n");
	run_init(&r);
	run_pickup(in.data, in.len, PICKUP_DOTS_IIS, &r);
	ck_assert_msg(r.read_rc == 0, "%s", r.why.text);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.rcpts), "r9999@y.example"));
	ck_assert_ptr_null(strstr(buf_cstr(&r.rcpts), "r10000@"));
	run_fini(&r);
	buf_fini(&in);
}
END_TEST

START_TEST(two_outputs_get_the_same_copy_first_with_prefix)
{
	static const char input[] = "X-Sender: s@x.example\n"
	    "X-Receiver: r@y.example\n" HD "\nbody\n..dot\n.\n";
	static const char prefix[] = "Return-Path: <s@x.example>\r\n";
	static const char want[] = RECEIVED HDO "\r\nbody\r\n.dot\r\n";
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS, .hostname = HOST,
	    .qid = QID, .now = NOW };
	struct pickup_out outs[2] = { { .fd = -1 }, { .fd = -1 } };
	struct pickup_file *pf;
	struct mail_status why;
	struct buf o1, o2;
	int in;

	buf_init(&o1);
	buf_init(&o2);
	in = memfd_with(input, strlen(input));
	pf = pickup_read(in, &opts, &why);
	ck_assert_msg(pf != NULL, "%s", why.text);
	outs[0].fd = memfd_create("out0", MFD_CLOEXEC);
	outs[0].prefix = prefix;
	outs[1].fd = memfd_create("out1", MFD_CLOEXEC);
	outs[1].prefix = NULL;
	ck_assert(outs[0].fd != -1 && outs[1].fd != -1);
	ck_assert_int_eq(pickup_write(pf, outs, 2, &why), 0);
	read_back(outs[0].fd, &o1);
	read_back(outs[1].fd, &o2);
	ck_assert_uint_eq(o2.len, strlen(want));
	ck_assert_str_eq(buf_cstr(&o2), want);
	ck_assert_uint_eq(o1.len, strlen(prefix) + strlen(want));
	ck_assert_int_eq(memcmp(o1.data, prefix, strlen(prefix)), 0);
	ck_assert_str_eq(buf_cstr(&o1) + strlen(prefix), want);
	ck_assert_uint_eq(outs[0].written, o1.len);
	ck_assert_uint_eq(outs[1].written, o2.len);
	close(outs[0].fd);
	close(outs[1].fd);
	pickup_free(pf);
	close(in);
	buf_fini(&o1);
	buf_fini(&o2);
}
END_TEST

/* Who wrote the file, in the Received: comment as Postfix writes it. */
struct writer_case {
	const char *name;
	bool	 has_uid;
	uid_t	 uid;
	const char *user;
	const char *want;	/* the Received: line's first line */
};

static const struct writer_case writer_cases[] = {
	{ "writer_uid_and_name_in_comment", true, 1001, "alice",
	    "Received: by " HOST " (imc-connector, from userid 1001 (alice)) "
	    "id " QID ";\r\n" },
	{ "writer_uid_without_name", true, 4242, NULL,
	    "Received: by " HOST " (imc-connector, from userid 4242) id " QID
	    ";\r\n" },
	{ "writer_root_is_uid_0", true, 0, "root",
	    "Received: by " HOST " (imc-connector, from userid 0 (root)) id "
	    QID ";\r\n" },
	{ "no_writer_keeps_the_old_line", false, 1001, "alice",
	    "Received: by " HOST " (imc-connector) id " QID ";\r\n" },
};

START_TEST(test_writer_case)
{
	const struct writer_case *c = &writer_cases[_i];
	static const char input[] = HD "\nbody\n";
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS, .hostname = HOST,
	    .qid = QID, .now = NOW, .has_uid = c->has_uid, .uid = c->uid,
	    .user = c->user };
	struct pickup_out out = { .fd = -1 };
	struct pickup_file *pf;
	struct mail_status why;
	struct buf o;
	int in;

	buf_init(&o);
	in = memfd_with(input, strlen(input));
	pf = pickup_read(in, &opts, &why);
	ck_assert_msg(pf != NULL, "%s", why.text);
	out.fd = memfd_create("out", MFD_CLOEXEC);
	out.prefix = NULL;
	ck_assert(out.fd != -1);
	ck_assert_int_eq(pickup_write(pf, &out, 1, &why), 0);
	read_back(out.fd, &o);
	ck_assert_msg(o.len > strlen(c->want) &&
	    strncmp(o.data, c->want, strlen(c->want)) == 0 &&
	    strncmp(o.data + strlen(c->want), "\t" DATE "\r\n" HDO,
	    strlen("\t" DATE "\r\n" HDO)) == 0, "%s: got %.*s", c->name,
	    (int)(o.len < 200 ? o.len : 200), o.data);
	ck_assert_uint_eq(out.written, o.len);
	close(out.fd);
	pickup_free(pf);
	close(in);
	buf_fini(&o);
}
END_TEST

/*
 * An LF output (the store's copy) beside a CRLF one (Out/): the same
 * bytes with every CRLF as LF, the prefix's too; a CR inside a line stays
 * (also one that a chunk boundary of the writer's buffer cuts from what
 * follows), and written counts what reached the file.
 */
START_TEST(lf_output_is_the_crlf_copy_with_lf_line_ends)
{
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS, .hostname = HOST,
	    .qid = QID, .now = NOW };
	struct pickup_out outs[2] = { { .fd = -1 }, { .fd = -1 } };
	struct pickup_file *pf;
	struct mail_status why;
	struct buf in, o1, o2, want;
	size_t i, j;
	int fd;

	buf_init(&in);
	buf_init(&o1);
	buf_init(&o2);
	buf_init(&want);
	buf_puts(&in, HD "\n");
	for (i = 0; i < 3000; i++) {
		/* lines of every length mod 64, some with a CR inside or at
		 * their end ("a\r\r\n": the text is "a\r") */
		for (j = 0; j < i % 64; j++)
			buf_putc(&in, (char)('a' + j % 26));
		if (i % 7 == 0)
			buf_puts(&in, "\rq");
		buf_puts(&in, i % 11 == 0 ? "\r\r\n" : i % 2 ? "\r\n" : "\n");
	}
	put_long_line(&in, 2 * IMC_IO_CHUNK + 5, 'Z');
	buf_puts(&in, "\r\nlast\r");
	fd = memfd_with(in.data, in.len);
	pf = pickup_read(fd, &opts, &why);
	ck_assert_msg(pf != NULL, "%s", why.text);
	outs[0].fd = memfd_create("lf", MFD_CLOEXEC);
	outs[0].prefix = "Return-Path: <a@x.example>\r\n";
	outs[0].lf = true;
	outs[1].fd = memfd_create("crlf", MFD_CLOEXEC);
	ck_assert_int_eq(pickup_write(pf, outs, 2, &why), 0);
	read_back(outs[0].fd, &o1);
	read_back(outs[1].fd, &o2);
	/* the CRLF copy with each CRLF as LF is the LF copy */
	buf_puts(&want, "Return-Path: <a@x.example>\n");
	for (i = 0; i < o2.len; i++)
		if (!(o2.data[i] == '\r' && i + 1 < o2.len &&
		    o2.data[i + 1] == '\n'))
			buf_putc(&want, o2.data[i]);
	ck_assert_uint_eq(o1.len, want.len);
	ck_assert_int_eq(memcmp(o1.data, want.data, want.len), 0);
	ck_assert_uint_eq(outs[0].written, o1.len);
	ck_assert_uint_eq(outs[1].written, o2.len);
	close(outs[0].fd);
	close(outs[1].fd);
	close(fd);
	pickup_free(pf);
	buf_fini(&in);
	buf_fini(&o1);
	buf_fini(&o2);
	buf_fini(&want);
}
END_TEST

/* A reproducible random Pickup body made of the pieces that matter to
 * the body writer: CR, LF, CR LF, leading and lone dots, 8-bit bytes, NUL,
 * runs of text from empty to past the read and write chunks. */
static void
random_body(struct buf *b, unsigned *seed, size_t want)
{
	static const char *const piece[] = { "\r", "\n", "\r\n", ".", "..",
	    "\n.\n", "\r\n.\r\n", "\n..", "\xc3\xa9", "\x80", "\r\r\n",
	    "\0", " " };
	size_t n;

	while (b->len < want) {
		*seed = *seed * 1103515245u + 12345u;
		if ((*seed >> 16) % 4 == 0) {
			n = (*seed >> 4) % 500 == 0 ? IMC_IO_CHUNK + (*seed >> 8) %
			    300 : (*seed >> 8) % 120;
			while (n-- > 0)
				buf_putc(b, (char)('a' + n % 26));
		} else {
			const char *p = piece[(*seed >> 8) % (sizeof(piece) /
			    sizeof(piece[0]))];

			buf_append(b, p, *p == '\0' ? 1 : strlen(p));
		}
	}
}

/* What pickup_write made of one file: the LF and CRLF copies, the log
 * notes and what the queue keeps. */
struct copies {
	struct buf	 lf, crlf, notes;
	uint64_t	 lf_written, crlf_written;
	bool		 eightbit;
	unsigned	 received;
};

static void
copies_of(const struct buf *in, const struct pickup_opts *opts,
    struct copies *c)
{
	struct pickup_out outs[2];
	struct pickup_file *pf;
	struct mail_status why;
	int fd = memfd_with(in->data, in->len);

	buf_init(&c->lf);
	buf_init(&c->crlf);
	buf_init(&c->notes);
	pf = pickup_read(fd, opts, &why);
	ck_assert_msg(pf != NULL, "%s", why.text);
	memset(outs, 0, sizeof(outs));
	outs[0].fd = memfd_create("lf", MFD_CLOEXEC);
	outs[0].prefix = "Return-Path: <a@x.example>\r\n";
	outs[0].lf = true;
	outs[1].fd = memfd_create("crlf", MFD_CLOEXEC);
	ck_assert_int_eq(pickup_write(pf, outs, 2, &why), 0);
	read_back(outs[0].fd, &c->lf);
	read_back(outs[1].fd, &c->crlf);
	c->lf_written = outs[0].written;
	c->crlf_written = outs[1].written;
	pickup_notes(pf, &c->notes);
	buf_putc(&c->notes, '\0');
	c->eightbit = pickup_eightbit(pf);
	c->received = pickup_received(pf);
	pickup_free(pf);
	close(outs[0].fd);
	close(outs[1].fd);
	close(fd);
}

static void
copies_fini(struct copies *c)
{
	buf_fini(&c->lf);
	buf_fini(&c->crlf);
	buf_fini(&c->notes);
}

static void
assert_same_buf(const struct buf *a, const struct buf *b, const char *what,
    int i)
{
	size_t k = 0;

	while (k < a->len && k < b->len && a->data[k] == b->data[k])
		k++;
	ck_assert_msg(a->len == b->len && k == a->len,
	    "case %d: %s differ at byte %zu (lengths %zu, %zu)", i, what, k,
	    a->len, b->len);
}

/*
 * Random bodies under each dot rule, read through buffers of random sizes
 * (2 bytes up to the default): the run writer against the line-by-line
 * path, byte for byte (both copies, the notes with their line numbers,
 * 8-bit, Received: count), and the LF copy against the CRLF one with every
 * CRLF as LF.
 */
START_TEST(body_runs_match_line_by_line_on_random_bodies)
{
	static const enum pickup_dots rules[] = { PICKUP_DOTS_IIS,
	    PICKUP_DOTS_LITERAL, PICKUP_DOTS_AUTO };
	struct pickup_opts opts = { .hostname = HOST, .qid = QID, .now = NOW };
	struct copies fast, slow;
	struct buf in, want;
	unsigned seed = 7u + (unsigned)_i * 7919u;
	size_t i;

	buf_init(&in);
	buf_init(&want);
	buf_puts(&in, HD "\n");
	random_body(&in, &seed, 1000 + (size_t)(_i % 5) * 40000);
	opts.dots = rules[_i % 3];
	seed = seed * 1103515245u + 12345u;
	opts.read_chunk = _i % 4 == 0 ? 0 : _i % 4 == 1 ? 2 + (seed >> 8) %
	    64 : 2 + (seed >> 8) % 5000;
	copies_of(&in, &opts, &fast);
	opts.line_by_line = true;
	copies_of(&in, &opts, &slow);
	assert_same_buf(&fast.lf, &slow.lf, "LF copies", _i);
	assert_same_buf(&fast.crlf, &slow.crlf, "CRLF copies", _i);
	assert_same_buf(&fast.notes, &slow.notes, "notes", _i);
	ck_assert_uint_eq(fast.lf_written, slow.lf_written);
	ck_assert_uint_eq(fast.crlf_written, slow.crlf_written);
	ck_assert_int_eq(fast.eightbit, slow.eightbit);
	ck_assert_uint_eq(fast.received, slow.received);
	buf_puts(&want, "Return-Path: <a@x.example>\n");
	for (i = 0; i < fast.crlf.len; i++)
		if (!(fast.crlf.data[i] == '\r' && i + 1 < fast.crlf.len &&
		    fast.crlf.data[i + 1] == '\n'))
			buf_putc(&want, fast.crlf.data[i]);
	assert_same_buf(&fast.lf, &want, "LF and CRLF-as-LF", _i);
	ck_assert_uint_eq(fast.lf_written, fast.lf.len);
	ck_assert_uint_eq(fast.crlf_written, fast.crlf.len);
	copies_fini(&fast);
	copies_fini(&slow);
	buf_fini(&in);
	buf_fini(&want);
}
END_TEST

START_TEST(two_outputs_agree_on_a_large_body)
{
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS, .hostname = HOST,
	    .qid = QID, .now = NOW };
	struct pickup_out outs[2] = { { .fd = -1 }, { .fd = -1 } };
	struct pickup_file *pf;
	struct mail_status why;
	struct buf in, o1, o2;
	int fd;
	size_t i;

	buf_init(&in);
	buf_init(&o1);
	buf_init(&o2);
	buf_puts(&in, HD "\n");
	for (i = 0; i < 20000; i++)
		buf_printf(&in, "line %zu of the body\n", i);
	put_long_line(&in, 3 * IMC_IO_CHUNK, 'Z');
	buf_putc(&in, '\n');
	fd = memfd_with(in.data, in.len);
	pf = pickup_read(fd, &opts, &why);
	ck_assert_msg(pf != NULL, "%s", why.text);
	outs[0].fd = memfd_create("out0", MFD_CLOEXEC);
	outs[0].prefix = "P\r\n";
	outs[1].fd = memfd_create("out1", MFD_CLOEXEC);
	outs[1].prefix = "";
	ck_assert_int_eq(pickup_write(pf, outs, 2, &why), 0);
	read_back(outs[0].fd, &o1);
	read_back(outs[1].fd, &o2);
	ck_assert_uint_eq(o1.len, o2.len + 3);
	ck_assert_int_eq(memcmp(o1.data + 3, o2.data, o2.len), 0);
	/* One CR per LF of the input body and header. */
	ck_assert_uint_eq(o2.len, strlen(RECEIVED) + in.len + 4 + 1 + 20000 + 1);
	ck_assert_uint_eq(outs[0].written, o1.len);
	ck_assert_uint_eq(outs[1].written, o2.len);
	close(outs[0].fd);
	close(outs[1].fd);
	pickup_free(pf);
	close(fd);
	buf_fini(&in);
	buf_fini(&o1);
	buf_fini(&o2);
}
END_TEST

START_TEST(read_error_is_temporary)
{
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS, .hostname = HOST,
	    .qid = QID, .now = NOW };
	struct pickup_file *pf;
	struct mail_status why;
	int fd;

	/* A folder: read(2) fails with EISDIR. */
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert(fd != -1);
	pf = pickup_read(fd, &opts, &why);
	ck_assert_ptr_null(pf);
	ck_assert_int_eq(why.kind, MAIL_TEMP);
	ck_assert_str_eq(why.dsn, "4.3.0");
	close(fd);
}
END_TEST

START_TEST(write_error_is_temporary)
{
	static const char input[] = HD "\nbody\n";
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS, .hostname = HOST,
	    .qid = QID, .now = NOW };
	struct pickup_out out = { .fd = -1 };
	struct pickup_file *pf;
	struct mail_status why;
	int in;

	in = memfd_with(input, strlen(input));
	pf = pickup_read(in, &opts, &why);
	ck_assert_msg(pf != NULL, "%s", why.text);
	out.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);	/* not writable */
	out.prefix = NULL;
	ck_assert(out.fd != -1);
	ck_assert_int_eq(pickup_write(pf, &out, 1, &why), -1);
	ck_assert_int_eq(why.kind, MAIL_TEMP);
	close(out.fd);
	pickup_free(pf);
	close(in);
}
END_TEST

/* issue 13.5: only the size intake checked is read, whatever the file
 * has grown to since (a writer that kept a descriptor). */
START_TEST(reads_no_more_than_max_bytes)
{
	static const char input[] = HD "\nchecked part\nGROWN AFTER THE CHECK\n";
	struct pickup_opts opts = { .dots = PICKUP_DOTS_IIS, .hostname = HOST,
	    .qid = QID, .now = NOW };
	struct pickup_out out = { .fd = -1 };
	struct pickup_file *pf;
	struct mail_status why;
	char got[4096];
	ssize_t n;
	int in;

	in = memfd_with(input, strlen(input));
	opts.max_bytes = (uint64_t)(strstr(input, "GROWN") - input);
	pf = pickup_read(in, &opts, &why);
	ck_assert_msg(pf != NULL, "%s", why.text);
	out.fd = memfd_create("out", MFD_CLOEXEC);
	out.prefix = NULL;
	ck_assert(out.fd != -1);
	ck_assert_int_eq(pickup_write(pf, &out, 1, &why), 0);
	n = pread(out.fd, got, sizeof(got) - 1, 0);
	ck_assert(n > 0);
	got[n] = '\0';
	ck_assert_msg(strstr(got, "checked part") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "GROWN") == NULL, "%s", got);
	close(out.fd);
	pickup_free(pf);
	close(in);
}
END_TEST

/* The sentence for the logs: which reading, and why or what changed. */
struct note_case {
	const char *name;
	const char *input;
	enum pickup_dots dots;
	const char *want;	/* "" no note */
};

static const struct note_case note_cases[] = {
	{ "auto_literal_names_the_line", HD "\na\n..b\n.c\n", AUTO,
	    "pickup_dots auto: read as written (body line 3 starts with a "
	    "single dot)" },
	{ "auto_literal_lone_dot_line", HD "\na\n.\nb\n", AUTO,
	    "pickup_dots auto: read as written (body line 2 starts with a "
	    "single dot)" },
	{ "auto_literal_lone_dot_found_ahead", HD "\n..a\nb\n.\r\nc\n", AUTO,
	    "pickup_dots auto: read as written (body line 3 starts with a "
	    "single dot)" },
	{ "auto_literal_found_ahead_after_blank_lines", HD "\n..a\n\n\n.b\n",
	    AUTO, "pickup_dots auto: read as written (body line 4 starts with "
	    "a single dot)" },
	{ "auto_stuffed_counts_lines", HD "\n..a\n..b\n.\n", AUTO,
	    "pickup_dots auto: read as dot-stuffed, 2 lines lost a leading dot, "
	    "a final \".\" line dropped" },
	{ "auto_only_final_dot", HD "\na\n.\n", AUTO,
	    "pickup_dots auto: read as dot-stuffed, 0 lines lost a leading dot, "
	    "a final \".\" line dropped" },
	{ "iis_one_line", HD "\n.a\n", IIS,
	    "pickup_dots iis: read as dot-stuffed, 1 line lost a leading dot" },
	{ "auto_no_dot_no_note", HD "\na\nb.\n", AUTO, "" },
	{ "iis_no_dot_no_note", HD "\na\n", IIS, "" },
	{ "literal_never_notes", HD "\n.a\n.\n", LITERAL, "" },
};

START_TEST(test_note_case)
{
	const struct note_case *c = &note_cases[_i];
	struct run r;

	run_init(&r);
	run_pickup(c->input, strlen(c->input), c->dots, &r);
	ck_assert_msg(r.read_rc == 0 && r.write_rc == 0, "%s: %s", c->name,
	    r.why.text);
	ck_assert_msg(strcmp(r.note, c->want) == 0, "%s: note \"%s\", want "
	    "\"%s\"", c->name, r.note, c->want);
	run_fini(&r);
}
END_TEST

/* pickup_notes: the mbox line and the dot note, joined */
static const struct note_case notes_cases[] = {
	{ "mbox_line_and_sender", "From s@list.example Fri Apr  6 2007\n"
	    "To: b@y.example\n\n..a\n", AUTO,
	    "a leading mbox \"From \" line dropped, the sender taken from it "
	    "(no X-Sender, Sender or From); pickup_dots auto: read as "
	    "dot-stuffed, 1 line lost a leading dot" },
	{ "mbox_line_only", "From s@list.example Fri Apr  6 2007\n" HD "\nb\n",
	    AUTO, "a leading mbox \"From \" line dropped" },
	{ "no_notes", HD "\nFrom s@list.example\n", AUTO, "" },
};

START_TEST(test_notes_case)
{
	const struct note_case *c = &notes_cases[_i];
	struct run r;

	run_init(&r);
	run_pickup(c->input, strlen(c->input), c->dots, &r);
	ck_assert_msg(r.read_rc == 0 && r.write_rc == 0, "%s: %s", c->name,
	    r.why.text);
	ck_assert_msg(strcmp(buf_cstr(&r.notes), c->want) == 0, "%s: notes "
	    "\"%s\", want \"%s\"", c->name, buf_cstr(&r.notes), c->want);
	run_fini(&r);
}
END_TEST

/* auto_evidence_is_found_far_ahead - the first dotted line looks stuffed;
 * the line that tells lies past the read buffer (several chunks on), or
 * past the size checked at the claim (then it does not count), or is
 * only a final "." */
START_TEST(auto_evidence_is_found_far_ahead)
{
	static const struct {
		const char *tail;	/* after the long line */
		bool	 cut;		/* max_bytes ends before the tail */
		bool	 literal;
	} cases[] = {
		{ ".z\n", false, true },
		{ "..z\n", false, false },
		{ "..z\n.\n", false, false },
		{ "..z\n.\nq\n", false, true },
		{ ".z\n", true, false },
	};
	struct pickup_opts opts = { .dots = AUTO, .hostname = HOST,
	    .qid = QID, .now = NOW };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf in, got;
		struct pickup_out out = { 0 };
		struct pickup_file *pf;
		struct mail_status why;
		const char *first;
		int fd;

		buf_init(&in);
		buf_init(&got);
		buf_puts(&in, HD "\n..first\n");
		put_long_line(&in, 3 * IMC_IO_CHUNK + 7, 'L');
		buf_puts(&in, "\n");
		opts.max_bytes = cases[i].cut ? in.len : 0;
		buf_puts(&in, cases[i].tail);
		fd = memfd_with(in.data, in.len);
		pf = pickup_read(fd, &opts, &why);
		ck_assert_msg(pf != NULL, "%s", why.text);
		out.fd = memfd_create("out", MFD_CLOEXEC);
		out.prefix = NULL;
		ck_assert(out.fd != -1);
		ck_assert_int_eq(pickup_write(pf, &out, 1, &why), 0);
		read_back(out.fd, &got);
		first = memmem(got.data, got.len, "\r\n\r\n", 4);
		ck_assert_ptr_nonnull(first);
		ck_assert_msg(strncmp(first + 4, cases[i].literal ? "..first\r\n" :
		    ".first\r\n", cases[i].literal ? 9 : 8) == 0,
		    "case %zu: body starts \"%.10s\"", i, first + 4);
		ck_assert_msg(!cases[i].cut || memmem(got.data, got.len, "z\r\n",
		    3) == NULL, "case %zu: read past max_bytes", i);
		close(out.fd);
		pickup_free(pf);
		close(fd);
		buf_fini(&in);
		buf_fini(&got);
	}
}
END_TEST

/* auto_on_a_pipe_reads_as_iis - a descriptor that cannot be read ahead
 * (no lseek) gives no evidence past the buffer: the IIS reading, not an
 * I/O error */
START_TEST(auto_on_a_pipe_reads_as_iis)
{
	struct pickup_opts opts = { .dots = AUTO, .hostname = HOST,
	    .qid = QID, .now = NOW };
	struct buf in, got;
	struct pickup_out out = { 0 };
	struct pickup_file *pf;
	struct mail_status why;
	const char *body;
	int fds[2], status;
	pid_t pid;

	buf_init(&in);
	buf_init(&got);
	buf_puts(&in, HD "\n..first\n");
	put_long_line(&in, 3 * IMC_IO_CHUNK, 'L');
	buf_puts(&in, "\n.z\n");
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(write(fds[1], in.data, in.len) == (ssize_t)in.len ? 0 : 1);
	}
	close(fds[1]);
	pf = pickup_read(fds[0], &opts, &why);
	ck_assert_msg(pf != NULL, "%s", why.text);
	out.fd = memfd_create("out", MFD_CLOEXEC);
	out.prefix = NULL;
	ck_assert(out.fd != -1);
	ck_assert_int_eq(pickup_write(pf, &out, 1, &why), 0);
	read_back(out.fd, &got);
	body = memmem(got.data, got.len, "\r\n\r\n", 4);
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(strncmp(body + 4, ".first\r\n", 8), 0);
	ck_assert_ptr_nonnull(memmem(got.data, got.len, "\r\nz\r\n", 5));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(out.fd);
	pickup_free(pf);
	close(fds[0]);
	buf_fini(&in);
	buf_fini(&got);
}
END_TEST

/* pickup_file_suite - every pickup_file test */
static Suite *
pickup_file_suite(void)
{
	Suite *s = suite_create("pickup_file");
	TCase *tc;

	tc = tcase_create("envelope_and_copy");
	tcase_add_loop_test(tc, test_ok_case, 0,
	    (int)(sizeof(ok_cases) / sizeof(ok_cases[0])));
	tcase_add_test(tc, nul_bytes_in_the_body_pass_through);
	tcase_add_test(tc, dsn_parameters_on_x_lines);
	tcase_add_loop_test(tc, test_note_case, 0,
	    (int)(sizeof(note_cases) / sizeof(note_cases[0])));
	tcase_add_test(tc, auto_evidence_is_found_far_ahead);
	tcase_add_test(tc, auto_on_a_pipe_reads_as_iis);
	tcase_add_loop_test(tc, test_notes_case, 0,
	    (int)(sizeof(notes_cases) / sizeof(notes_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	/* Recipient de-duplication is quadratic: 10000 take seconds. */
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_fail_case, 0,
	    (int)(sizeof(fail_cases) / sizeof(fail_cases[0])));
	tcase_add_test(tc, header_block_over_the_limit_is_refused);
	tcase_add_test(tc, one_header_line_over_the_limit_is_refused);
	tcase_add_test(tc, header_block_just_under_the_limit_is_accepted);
	tcase_add_test(tc, recipients_over_the_limit_are_refused);
	tcase_add_test(tc, recipients_at_the_limit_are_accepted);
	tcase_add_test(tc, read_error_is_temporary);
	tcase_add_test(tc, reads_no_more_than_max_bytes);
	tcase_add_test(tc, write_error_is_temporary);
	suite_add_tcase(s, tc);

	tc = tcase_create("long_lines");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, lines_longer_than_the_read_chunk_pass_intact);
	tcase_add_test(tc, crlf_split_by_the_read_chunk_is_one_line_end);
	tcase_add_test(tc, crlf_at_every_chunk_boundary_offset_is_one_line_end);
	tcase_add_test(tc, unterminated_long_last_line_gets_a_line_end);
	tcase_add_test(tc, unterminated_last_line_of_buffer_size_gets_a_line_end);
	tcase_add_test(tc, long_line_starting_with_dot_loses_only_one_dot);
	tcase_add_test(tc, long_first_body_line_without_blank_line_passes_intact);
	suite_add_tcase(s, tc);

	tc = tcase_create("outputs");
	tcase_add_test(tc, two_outputs_get_the_same_copy_first_with_prefix);
	tcase_add_test(tc, two_outputs_agree_on_a_large_body);
	tcase_add_test(tc, lf_output_is_the_crlf_copy_with_lf_line_ends);
	tcase_add_loop_test(tc, body_runs_match_line_by_line_on_random_bodies,
	    0, 400);
	tcase_add_loop_test(tc, test_writer_case, 0,
	    (int)(sizeof(writer_cases) / sizeof(writer_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the pickup_file suite; non-zero exit status on any failure */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(pickup_file_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
