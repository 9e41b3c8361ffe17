/*
 * imc-queue - look at the queue and steer it.
 *
 * imc-queue [-c FILE] list [--held] [--deferred] [--domain D] [--sender S]
 *	[--older-than DURATION] [--json]
 * imc-queue [-c FILE] show [--body] QID
 * imc-queue [-c FILE] status
 * imc-queue [-c FILE] hold|release [--wait SECONDS] QID...
 * imc-queue [-c FILE] delete [--bounce] [--wait SECONDS] QID...
 * imc-queue [-c FILE] requeue [--wait SECONDS] QID...
 * imc-queue [-c FILE] flush [--wait SECONDS] [QID...]
 *
 * list: every entry of Work/, In/ and Out/, oldest first, the way
 * Postfix's "postqueue -p" shows its queue (qprint.h): id ("!" held),
 * size, arrival, folder, sender, then the recipients, each pending one
 * under its last reason; the filters (qfilter.h) all apply; --json gives
 * one JSON object a line instead. An entry that cannot be read is listed
 * with the reason.
 *
 * show: one entry (Work/, In/, Out/, or a Badmail/ or Pickup/Archive/
 * file with its reason): envelope, every recipient's state and last
 * reply, and the header; --body prints the whole message instead of the
 * header.
 *
 * status: counts per folder and per destination, the oldest entry, and
 * the deliveries, failures and deferrals of the last minute and hour in
 * the tracking log (qstatus.h).
 *
 * requeue: a Badmail/ message (with the envelope kept beside it) or a
 * Pickup/Archive/ file back into Pickup, once the cause is fixed.
 *
 * hold, release, delete [--bounce], requeue, flush: the connector is
 * the only writer of queue state, so these ask it (qask.h: a request in
 * Log/, SIGUSR1 to the holder of the tree's lock, a bounded wait for its
 * answer); while none runs the tool makes the change itself under that
 * lock (qchange.h, the connector's own code), except a flush, which waits
 * for the next start. Run as root it works as the configured service
 * user, so every file stays the connector's.
 *
 * Exit codes from sysexits.h: 0 done, 64 usage, 67 (EX_NOUSER) a named
 * entry does not exist, 73 the request could not be written, 74 a folder
 * could not be read or a change failed, 75 the connector did not answer
 * in time, 78 the configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "layout.h"
#include "progopt.h"
#include "qask.h"
#include "qfilter.h"
#include "qprint.h"
#include "qrequest.h"
#include "qfile.h"
#include "qid.h"
#include "qstatus.h"
#include "qview.h"
#include "xalloc.h"

/* What the command line asked, parsed in one place (parse_args). */
struct opts {
	const char	*config;
	const char	*command;
	char		**args;		/* after the command */
	int		 n_args;
	struct qfilter	 filter;
	bool		 json;
	bool		 body;
	bool		 bounce;
	int		 wait_s;	/* for the connector's answer */
};

#define WAIT_DEFAULT_S	10
#define WAIT_MAX_S	3600

static const struct progopt prog = { "imc-queue",
	"usage: imc-queue [-c FILE] list [--held] [--deferred] [--domain D] "
	"[--sender S]\n"
	"                 [--older-than DURATION] [--json]\n"
	"       imc-queue [-c FILE] show [--body] QID\n"
	"       imc-queue [-c FILE] status\n"
	"       imc-queue [-c FILE] hold [--wait SECONDS] QID...\n"
	"       imc-queue [-c FILE] release [--wait SECONDS] QID...\n"
	"       imc-queue [-c FILE] delete [--bounce] [--wait SECONDS] QID...\n"
	"       imc-queue [-c FILE] requeue [--wait SECONDS] QID...\n"
	"       imc-queue [-c FILE] flush [--wait SECONDS] [QID...]\n"
};

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	progopt_usage(&prog);
}

static void
fail_usage(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void
fail_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "imc-queue: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage();
}

/* The commands, with the options each takes. */
enum { OPT_FILTER = 1, OPT_JSON = 2, OPT_BODY = 4, OPT_WAIT = 8,
    OPT_BOUNCE = 16 };
static const struct command {
	const char	*name;
	int		 min_args, max_args;	/* -1: any number */
	unsigned	 opts;
} commands[] = {
	{ "list", 0, 0, OPT_FILTER | OPT_JSON },
	{ "show", 1, 1, OPT_BODY },
	{ "status", 0, 0, 0 },
	{ "hold", 1, -1, OPT_WAIT },
	{ "release", 1, -1, OPT_WAIT },
	{ "delete", 1, -1, OPT_WAIT | OPT_BOUNCE },
	{ "requeue", 1, -1, OPT_WAIT },
	{ "flush", 0, -1, OPT_WAIT },
};

/* parse_args - every option and the command; usage (exit 64) on
 * anything that does not fit */
static void
parse_args(int argc, char **argv, struct opts *o)
{
	enum { L_HELD = 256, L_DEFERRED, L_DOMAIN, L_SENDER, L_OLDER, L_JSON,
	    L_BODY, L_BOUNCE, L_WAIT };
	static const struct option longopts[] = {
		{ "held", no_argument, NULL, L_HELD },
		{ "deferred", no_argument, NULL, L_DEFERRED },
		{ "domain", required_argument, NULL, L_DOMAIN },
		{ "sender", required_argument, NULL, L_SENDER },
		{ "older-than", required_argument, NULL, L_OLDER },
		{ "json", no_argument, NULL, L_JSON },
		{ "body", no_argument, NULL, L_BODY },
		{ "bounce", no_argument, NULL, L_BOUNCE },
		{ "wait", required_argument, NULL, L_WAIT },
		{ "config", required_argument, NULL, 'c' },
		PROGOPT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd = NULL;
	unsigned given = 0;
	size_t i;
	int ch;

	memset(o, 0, sizeof(*o));
	o->wait_s = WAIT_DEFAULT_S;
	qfilter_init(&o->filter);
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'h':
			progopt_help(&prog);
		case L_HELD:
			o->filter.held = true;
			given |= OPT_FILTER;
			break;
		case L_DEFERRED:
			o->filter.deferred = true;
			given |= OPT_FILTER;
			break;
		case L_DOMAIN:
			o->filter.domain = optarg;
			given |= OPT_FILTER;
			break;
		case L_SENDER:
			o->filter.sender = optarg;
			given |= OPT_FILTER;
			break;
		case L_OLDER:
			if (qfilter_set_age(&o->filter, optarg) == -1)
				fail_usage("--older-than %s: not a duration "
				    "(90s, 15m, 4h, 2d)", optarg);
			given |= OPT_FILTER;
			break;
		case L_JSON:
			o->json = true;
			given |= OPT_JSON;
			break;
		case L_BODY:
			o->body = true;
			given |= OPT_BODY;
			break;
		case L_BOUNCE:
			o->bounce = true;
			given |= OPT_BOUNCE;
			break;
		case L_WAIT: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 0 || v > WAIT_MAX_S)
				fail_usage("--wait %s: seconds, 0 to %d",
				    optarg, WAIT_MAX_S);
			o->wait_s = (int)v;
			given |= OPT_WAIT;
			break;
		}
		default:
			progopt_other(&prog, ch);
		}
	}
	if (optind >= argc)
		usage();
	o->command = argv[optind];
	o->args = argv + optind + 1;
	o->n_args = argc - optind - 1;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, o->command) == 0)
			cmd = &commands[i];
	if (cmd == NULL)
		fail_usage("%s: no such command", o->command);
	if ((given & ~cmd->opts) != 0)
		fail_usage("an option given does not go with %s", cmd->name);
	if (o->n_args < cmd->min_args || (cmd->max_args >= 0 &&
	    o->n_args > cmd->max_args))
		fail_usage("%s: wrong number of arguments", cmd->name);
	o->config = progopt_config(o->config, NULL);
}

/* list: the filters, then text or JSON */
static int
cmd_list(int rootfd, const struct opts *o)
{
	struct qview qv;
	struct buf out, err;
	time_t now = time(NULL);
	uint64_t bytes = 0;
	size_t i, shown = 0;
	int rc = EX_OK;

	buf_init(&out);
	buf_init(&err);
	if (qview_scan(rootfd, &qv, &err) == -1) {
		fprintf(stderr, "imc-queue: %s\n", buf_cstr(&err));
		rc = EX_IOERR;
	}
	if (!o->json)
		qprint_text_head(&out);
	for (i = 0; i < qv.n; i++) {
		if (!qfilter_match(&o->filter, &qv.v[i], now))
			continue;
		if (o->json)
			qprint_json(&out, &qv.v[i]);
		else
			qprint_text(&out, &qv.v[i]);
		shown++;
		bytes += qv.v[i].env.size;
		/* a long queue is written as it goes */
		if (out.len > 64 * 1024) {
			fwrite(out.data, 1, out.len, stdout);
			buf_reset(&out);
		}
	}
	if (!o->json) {
		if (shown == 0)
			buf_reset(&out);	/* no heading over nothing */
		qprint_text_tail(&out, shown, bytes);
	}
	fwrite(out.data != NULL ? out.data : "", 1, out.len, stdout);
	qview_free(&qv);
	buf_fini(&out);
	buf_fini(&err);
	return rc;
}

static void
show_time(struct buf *o, const char *label, int64_t when, time_t now)
{
	char text[64];
	struct tm tm;
	time_t t = (time_t)when;
	int64_t d = (int64_t)now - when;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(text, sizeof(text), "%" PRId64, when);
	buf_printf(o, "%-12s%s (%s%" PRId64 "s%s)\n", label, text,
	    d < 0 ? "in " : "", d < 0 ? -d : d, d < 0 ? "" : " ago");
}

/* show_content - the header (up to the empty line) made safe for a
 * terminal, or with body the whole message as stored, CRLF as LF */
static int
show_content(int dirfd, const char *name, bool body, struct buf *o)
{
	char chunk[16384];
	bool at_line_start = true, in_header = true, cr = false;
	ssize_t n, i;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	while (in_header && (n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (i = 0; i < n && in_header; i++) {
			unsigned char c = (unsigned char)chunk[i];

			if (cr && c != '\n')
				buf_putc(o, body ? '\r' : '?');
			cr = false;
			if (c == '\r') {
				cr = true;
				continue;
			}
			if (c == '\n') {
				if (at_line_start && !body)
					in_header = false;
				else
					buf_putc(o, '\n');
				at_line_start = true;
				continue;
			}
			at_line_start = false;
			buf_putc(o, !body && ((c < 0x20 && c != '\t') ||
			    c == 0x7f) ? '?' : c);
		}
		if (o->len > 64 * 1024) {
			fwrite(o->data, 1, o->len, stdout);
			buf_reset(o);
		}
	}
	if (!at_line_start)
		buf_putc(o, '\n');
	close(fd);
	return 0;
}

/* show_file - a Badmail/ or Pickup/Archive/ file and its reason */
static int
show_file(int rootfd, enum layout_dir folder, const char *qid,
    const char *msg_suffix, const char *why_suffix, const struct opts *o,
    struct buf *out)
{
	char name[QID_SIZE + 16];
	struct stat st;
	int fd, wfd;

	if ((fd = openat(rootfd, layout_name(folder), O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	snprintf(name, sizeof(name), "%s%s", qid, msg_suffix);
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	buf_printf(out, "%-12s%s\n%-12s%s\n%-12s%lld\n", "queue id:", qid,
	    "folder:", layout_name(folder), "size:", (long long)st.st_size);
	snprintf(name, sizeof(name), "%s%s", qid, why_suffix);
	if ((wfd = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) != -1) {
		char why[8192], *line, *save = NULL;
		ssize_t n = read(wfd, why, sizeof(why) - 1);

		/* the connector writes it: a few lines, shown indented */
		why[n > 0 ? n : 0] = '\0';
		buf_puts(out, "reason:\n");
		for (line = strtok_r(why, "\r\n", &save); line != NULL;
		    line = strtok_r(NULL, "\r\n", &save)) {
			buf_puts(out, "  ");
			qprint_safe(out, line);
			buf_putc(out, '\n');
		}
		close(wfd);
	}
	buf_puts(out, o->body ? "message:\n" : "headers:\n");
	snprintf(name, sizeof(name), "%s%s", qid, msg_suffix);
	(void)show_content(fd, name, o->body, out);
	close(fd);
	return 0;
}

/* show: envelope, recipients, header (or whole message) of one entry */
static int
cmd_show(int rootfd, const struct opts *o)
{
	const char *qid = o->args[0];
	struct qview_entry ve;
	const struct qenv *e = &ve.env;
	struct buf out;
	char name[QID_SIZE + 8];
	time_t now = time(NULL);
	size_t i;
	int fd, rc = EX_OK;

	if (!qid_valid(qid)) {
		fprintf(stderr, "imc-queue: %s: not a queue id\n", qid);
		return EX_USAGE;
	}
	buf_init(&out);
	if (qview_find(rootfd, qid, &ve) == -1) {
		if (show_file(rootfd, LAYOUT_BADMAIL, qid, QFILE_BAD, QFILE_BDR,
		    o, &out) == -1 && show_file(rootfd, LAYOUT_PICKUP_ARCHIVE,
		    qid, QFILE_EML, QFILE_REASON, o, &out) == -1) {
			fprintf(stderr, "imc-queue: %s: no such entry\n", qid);
			rc = EX_NOUSER;
		}
		fwrite(out.data != NULL ? out.data : "", 1, out.len, stdout);
		buf_fini(&out);
		return rc;
	}
	buf_printf(&out, "%-12s%s\n%-12s%s\n%-12s%s", "queue id:", e->qid,
	    "folder:", qview_folder_name(ve.folder), "state:",
	    qview_state_name(ve.state));
	if (e->held != 0)
		buf_puts(&out, ", held");
	buf_putc(&out, '\n');
	if (e->held != 0)
		show_time(&out, "held since:", e->held, now);
	if (ve.problem != NULL) {
		buf_printf(&out, "%-12s", "problem:");
		qprint_safe(&out, ve.problem);
		buf_putc(&out, '\n');
	}
	show_time(&out, "arrival:", e->arrival, now);
	buf_printf(&out, "%-12s%" PRIu64 "\n", "size:", e->size);
	if (e->sender != NULL) {
		buf_printf(&out, "%-12s<", "sender:");
		qprint_safe(&out, e->sender);
		buf_puts(&out, ">\n");
	}
	if (e->origname != NULL && e->origname[0]) {
		buf_printf(&out, "%-12s", "origin:");
		qprint_safe(&out, e->origname);
		buf_putc(&out, '\n');
	}
	if (ve.state == QVIEW_QUEUED || ve.state == QVIEW_DEFERRED) {
		buf_printf(&out, "%-12s%u\n", "attempts:", e->attempts);
		if (e->next_try > 0)
			show_time(&out, "next try:", e->next_try, now);
		if (e->error != NULL && e->error[0]) {
			buf_printf(&out, "%-12s", "last error:");
			qprint_safe(&out, e->error);
			buf_putc(&out, '\n');
		}
		buf_puts(&out, "recipients:\n");
	}
	for (i = 0; i < e->n_rcpts; i++) {
		const struct qrcpt *r = &e->rcpts[i];

		buf_printf(&out, "  %-8s %-6s <", qrcpt_state_name(r->state),
		    r->dsn[0] ? r->dsn : "-");
		qprint_safe(&out, r->addr);
		buf_puts(&out, ">");
		if (r->text != NULL && r->text[0]) {
			buf_puts(&out, " ");
			qprint_safe(&out, r->text);
		}
		buf_putc(&out, '\n');
	}
	buf_puts(&out, o->body ? "message:\n" : "headers:\n");
	if ((fd = openat(rootfd, layout_name(ve.folder), O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		if (ve.folder == LAYOUT_WORK)
			snprintf(name, sizeof(name), "%s", qid);
		else
			snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
		if (show_content(fd, name, o->body, &out) == -1)
			buf_printf(&out, "(cannot read %s: %s)\n", name,
			    strerror(errno));
		close(fd);
	}
	fwrite(out.data != NULL ? out.data : "", 1, out.len, stdout);
	buf_fini(&out);
	qview_entry_fini(&ve);
	return rc;
}

/* status: folders, destinations, oldest entry, recent deliveries */
static int
cmd_status(int rootfd, const struct opts *o)
{
	static const enum layout_dir counted[] = { LAYOUT_PICKUP,
	    LAYOUT_PICKUP_ARCHIVE, LAYOUT_BADMAIL };
	struct qstatus st;
	struct qview qv;
	struct buf out, err;
	time_t now = time(NULL);
	size_t i;
	int logfd, rc = EX_OK;

	qstatus_init(&st);
	buf_init(&out);
	buf_init(&err);
	if (qview_scan(rootfd, &qv, &err) == -1) {
		fprintf(stderr, "imc-queue: %s\n", buf_cstr(&err));
		rc = EX_IOERR;
	}
	qstatus_add_view(&st, &qv);
	for (i = 0; i < sizeof(counted) / sizeof(counted[0]); i++)
		st.files[counted[i]] = qstatus_count_files(rootfd, counted[i]);
	if ((logfd = openat(rootfd, layout_name(LAYOUT_LOG), O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		qstatus_read_logs(&st.rates, logfd, now);
		close(logfd);
	}
	qstatus_format(&st, &out, now);
	fwrite(out.data, 1, out.len, stdout);
	qview_free(&qv);
	qstatus_fini(&st);
	buf_fini(&out);
	buf_fini(&err);
	return rc;
}

/* Become the service user (when root), so rewritten files stay its own. */
static int
become_service_user(const struct imc_config *cfg)
{
	uid_t uid;
	gid_t gid, wgid;
	struct buf err;

	if (geteuid() != 0 || cfg->user == NULL)
		return 0;
	buf_init(&err);
	if (config_ids(cfg, &uid, &gid, &wgid, &err) == -1) {
		fprintf(stderr, "imc-queue: %s\n", buf_cstr(&err));
		buf_fini(&err);
		return -1;
	}
	buf_fini(&err);
	if (uid == 0)
		return 0;
	if (setgroups(0, NULL) == -1 || setgid(gid) == -1 || setuid(uid) == -1) {
		fprintf(stderr, "imc-queue: cannot become %s: %s\n", cfg->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Does In/ or Out/ hold an entry of this qid? */
static bool
entry_exists(int rootfd, const char *qid)
{
	static const enum layout_dir folders[] = { LAYOUT_IN, LAYOUT_OUT };
	char name[QID_SIZE + 16];
	size_t i;

	snprintf(name, sizeof(name), "%s%s", qid, QFILE_EML);
	for (i = 0; i < 2; i++) {
		int dirfd = openat(rootfd, layout_name(folders[i]), O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		bool found;

		if (dirfd == -1)
			continue;
		found = faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		close(dirfd);
		if (found)
			return true;
	}
	return false;
}

/* hold, release, delete, flush: the connector makes the change (qask.h:
 * a request and its answer, or under the tree's lock when none runs) */
static int
cmd_change(const struct imc_config *cfg, int rootfd, const struct opts *o,
    enum qrequest_verb verb)
{
	struct qrequest rq;
	struct qrequest_reply reply;
	struct buf msg;
	enum qask_outcome how;
	size_t i;
	int j, logfd, rc = EX_OK;

	if (become_service_user(cfg) == -1)
		return EX_NOPERM;
	memset(&rq, 0, sizeof(rq));
	rq.verb = verb;
	rq.all = verb == QREQUEST_FLUSH && o->n_args == 0;
	if (o->n_args > 0)
		rq.qids = xcalloc((size_t)o->n_args, sizeof(*rq.qids));
	for (j = 0; j < o->n_args; j++) {
		if (!qid_valid(o->args[j])) {
			fprintf(stderr, "imc-queue: %s: not a queue id\n",
			    o->args[j]);
			qrequest_free(&rq);
			return EX_USAGE;
		}
		/* a flush of an entry that is not there asks nothing */
		if (verb == QREQUEST_FLUSH && !entry_exists(rootfd,
		    o->args[j])) {
			fprintf(stderr, "imc-queue: %s: no such entry in In or "
			    "Out\n", o->args[j]);
			rc = EX_NOUSER;
			continue;
		}
		memcpy(rq.qids[rq.n_qids++], o->args[j], QID_SIZE);
	}
	if (o->n_args > 0 && rq.n_qids == 0) {
		qrequest_free(&rq);
		return rc;
	}
	if ((logfd = openat(rootfd, layout_name(LAYOUT_LOG), O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		fprintf(stderr, "imc-queue: Log: %s\n", strerror(errno));
		qrequest_free(&rq);
		return EX_NOINPUT;
	}
	buf_init(&msg);
	how = qask_run(&(struct qask){ .rootfd = rootfd, .logfd = logfd,
	    .root = cfg->root, .wait_ms = o->wait_s * 1000,
	    .stuff_dots = cfg->pickup_dots == PICKUP_DOTS_IIS }, &rq, &reply,
	    &msg);
	switch (how) {
	case QASK_FAILED:
		fprintf(stderr, "imc-queue: %s\n", buf_cstr(&msg));
		rc = EX_CANTCREAT;
		break;
	case QASK_NO_ANSWER:
		fprintf(stderr, "imc-queue: %s\n", buf_cstr(&msg));
		rc = EX_TEMPFAIL;
		break;
	case QASK_LEFT:
		printf("%s\n", buf_cstr(&msg));
		break;
	case QASK_ANSWERED:
	case QASK_APPLIED:
		printf("%s\n", buf_cstr(&msg));
		if (verb == QREQUEST_FLUSH)
			printf("flush: %zu Out entr%s made due\n",
			    reply.flushed, reply.flushed == 1 ? "y" : "ies");
		for (i = 0; i < reply.n; i++) {
			const struct qrequest_item *it = &reply.items[i];

			if (it->result == QREQUEST_DONE ||
			    it->result == QREQUEST_ALREADY) {
				printf("%s: %s\n", it->qid, it->text);
				continue;
			}
			fprintf(stderr, "imc-queue: %s: %s\n", it->qid,
			    it->text);
			if (it->result == QREQUEST_UNKNOWN && rc == EX_OK)
				rc = EX_NOUSER;
			else if (it->result == QREQUEST_ERROR)
				rc = EX_IOERR;
		}
		qrequest_reply_free(&reply);
		break;
	}
	buf_fini(&msg);
	close(logfd);
	qrequest_free(&rq);
	return rc;
}

int
main(int argc, char **argv)
{
	struct imc_config cfg;
	struct opts o;
	struct buf err;
	int rootfd, rc;

	parse_args(argc, argv, &o);
	buf_init(&err);
	if (config_load(&cfg, o.config, &err) == -1) {
		fprintf(stderr, "imc-queue: %s\n", buf_cstr(&err));
		buf_fini(&err);
		config_free(&cfg);
		return EX_CONFIG;
	}
	buf_fini(&err);
	if ((rootfd = open(cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "imc-queue: %s: %s\n", cfg.root, strerror(errno));
		config_free(&cfg);
		return EX_NOINPUT;
	}
	if (strcmp(o.command, "list") == 0)
		rc = cmd_list(rootfd, &o);
	else if (strcmp(o.command, "show") == 0)
		rc = cmd_show(rootfd, &o);
	else if (strcmp(o.command, "status") == 0)
		rc = cmd_status(rootfd, &o);
	else if (strcmp(o.command, "hold") == 0)
		rc = cmd_change(&cfg, rootfd, &o, QREQUEST_HOLD);
	else if (strcmp(o.command, "release") == 0)
		rc = cmd_change(&cfg, rootfd, &o, QREQUEST_RELEASE);
	else if (strcmp(o.command, "requeue") == 0)
		rc = cmd_change(&cfg, rootfd, &o, QREQUEST_REQUEUE);
	else if (strcmp(o.command, "delete") == 0)
		rc = cmd_change(&cfg, rootfd, &o, o.bounce ?
		    QREQUEST_DELETE_BOUNCE : QREQUEST_DELETE);
	else
		rc = cmd_change(&cfg, rootfd, &o, QREQUEST_FLUSH);
	if (fflush(stdout) == EOF && rc == EX_OK)
		rc = EX_IOERR;
	close(rootfd);
	config_free(&cfg);
	return rc;
}
