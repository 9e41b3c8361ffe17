/*
 * imc-convert - run the connector's charset repair and conversion on a file.
 *
 * imc-convert [-c FILE | --defaults] [--domain D] [--smtp] [--sender-domain D]
 *             [--legacy NAME] [--charset NAME] [--7bit] [--detect]
 *             [--explain] IN [OUT]
 *
 * Applies exactly what the connector applies to a message delivered to
 * domain D (common/repair/repair.h), by the same rule
 * (config_delivery_conv):
 * for the store (the default) the [domain] section's charset and
 * encoding, else the global ones; with --smtp what the SMTP side sends to
 * D: the labelled charsets kept unless the [domain] section sets one, the
 * encoding of the [domain] section, else the global one. For a domain
 * whose store is the built-in Maildir the result has LF line ends, as that
 * store writes them (a Drop folder, LMTP and SMTP keep CRLF). Without -c the
 * file named by $IMC_CONFIG, else /etc/imc-connector/imc.conf when it
 * exists, else (and with --defaults, which reads no file) the defaults
 * (utf-8, 8bit, legacy charset windows-1252). The legacy charset
 * is the global one unless
 * --sender-domain names a sender domain (its [domain] setting) or --legacy
 * names a charset. --charset overrides the target (utf-8, preserve or a
 * label), --7bit forces the downgrade for a peer without 8BITMIME.
 * --detect guesses the charset of unlabelled text as detect = yes does
 * (with the configuration's detect_charsets, or their default).
 *
 * IN is a message file ("-": standard input); OUT defaults to standard
 * output and is written through a temporary file and rename (an OUT
 * that is not a regular file, such as /dev/null, is written in place). A first
 * line "From sender  date" (mbox) is dropped, as the connector's Pickup
 * does. When nothing
 * needs to change, the input is written through as it was. --explain
 * prints per part what was found and what was changed, to standard error,
 * or to standard output when OUT is a file. Meant for admins planning a
 * migration and for labs: it touches no queue.
 *
 * Exit codes (sysexits.h): 0 done, 64 usage (or an unknown --charset or
 * --legacy), 66 no input, 78 bad configuration (or an unknown charset in
 * it), 74 read or write error, 71 out of memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "charset.h"
#include "config.h"
#include "progopt.h"
#include "repair.h"
#include "safeio.h"
#include "xalloc.h"

static const struct progopt prog = { "imc-convert",
	"usage: imc-convert [-c FILE | --defaults] [--domain D] [--smtp] "
	"[--sender-domain D] [--legacy NAME] [--charset NAME] [--7bit] "
	"[--detect] [--explain] IN [OUT]\n"
	"--defaults, or no -c, no $IMC_CONFIG and no file at the default path: "
	"the built-in defaults.\n"
};

/* copy_fd - copy everything from one descriptor to another; lf: every
 * CRLF written as LF (a CR that ends one read is held for the next) */
static int
copy_fd(int in, int out, bool lf)
{
	char *b;
	ssize_t n, w, off, i, k;
	bool cr = false;

	b = xmalloc(65536 + 1);
	for (;;) {
		n = read(in, b + (cr ? 1 : 0), 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (lf) {
			if (cr)
				b[0] = '\r', n++;
			cr = b[n - 1] == '\r';
			if (cr)
				n--;
			for (i = k = 0; i < n; i++)
				if (!(b[i] == '\r' && (i + 1 < n ? b[i + 1] :
				    '\0') == '\n'))
					b[k++] = b[i];
			n = k;
		}
		for (off = 0; off < n; off += w) {
			w = write(out, b + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				free(b);
				return -1;
			}
		}
	}
	if (n == 0 && cr && write(out, "\r", 1) != 1)
		n = -1;
	free(b);
	return n < 0 ? -1 : 0;
}

/* open_input - the input as a seekable descriptor, or -1 */
static int
open_input(const char *path)
{
	int fd, mfd;

	if (strcmp(path, "-") != 0)
		return open(path, O_RDONLY | O_CLOEXEC);
	if (lseek(STDIN_FILENO, 0, SEEK_CUR) != (off_t)-1)
		return dup(STDIN_FILENO);
	/* a pipe: keep a copy to read twice */
	if ((mfd = memfd_create("imc-convert", MFD_CLOEXEC)) == -1)
		return -1;
	fd = copy_fd(STDIN_FILENO, mfd, false);
	if (fd == -1) {
		close(mfd);
		return -1;
	}
	return mfd;
}

/*
 * strip_mbox_line - a first line "From sender  date" (an mbox export, a
 * list archive) is not part of the message; left in, it would end the
 * header. Returns a descriptor holding the message without it (in itself
 * when there is none), -1 on error; *dropped says whether one was there.
 */
static int
strip_mbox_line(int in, bool *dropped)
{
	char *b;
	const char *p, *lf;
	ssize_t n;
	size_t i;
	int mfd = -1, r = -1;
	bool skipping = true;

	*dropped = false;
	b = xmalloc(65536);
	if ((n = pread(in, b, 65536, 0)) < 0)
		goto out;
	if (n < 5 || memcmp(b, "From ", 5) != 0) {
		r = in;
		goto out;
	}
	/* "From :" is the obsolete form of a From: field, not this line */
	for (p = b + 4; p < b + n && (*p == ' ' || *p == '\t'); p++)
		;
	if (p < b + n && *p == ':') {
		r = in;
		goto out;
	}
	if ((mfd = memfd_create("imc-convert", MFD_CLOEXEC)) == -1 ||
	    lseek(in, 0, SEEK_SET) == (off_t)-1)
		goto out;
	for (;;) {
		do
			n = read(in, b, 65536);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			break;
		i = 0;
		if (skipping) {
			if ((lf = memchr(b, '\n', (size_t)n)) == NULL)
				continue;
			i = (size_t)(lf + 1 - b);
			skipping = false;
		}
		if (safe_write_all(mfd, b + i, (size_t)n - i) == -1) {
			n = -1;
			break;
		}
	}
	if (n < 0 || lseek(mfd, 0, SEEK_SET) == (off_t)-1)
		goto out;
	*dropped = true;
	close(in);
	r = mfd;
	mfd = -1;
out:
	if (mfd != -1)
		close(mfd);
	free(b);
	return r;
}

/* known_target - is NAME a target repair_message accepts */
static int
known_target(const char *name)
{
	return strcasecmp(name, "utf-8") == 0 ||
	    strcasecmp(name, "preserve") == 0 ||
	    (charset_mime_label(name) != NULL &&
	    charset_encoder(name) != NULL);
}

/* main - parse the options, repair IN into OUT */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "sender-domain", required_argument, NULL, 's' },
		{ "legacy", required_argument, NULL, 'l' },
		{ "charset", required_argument, NULL, 't' },
		{ "7bit", no_argument, NULL, '7' },
		{ "smtp", no_argument, NULL, 'S' },
		{ "explain", no_argument, NULL, 'e' },
		{ "config", required_argument, NULL, 'c' },
		{ "defaults", no_argument, NULL, 'D' },
		PROGOPT_LONGOPTS,
		{ "detect", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfile = NULL, *cfrom, *domain = NULL, *sdomain = NULL;
	const char *legacy = NULL, *charset = NULL, *in, *out = NULL;
	int seven = 0, explain = 0, smtp = 0, defaults = 0, ch, in_fd, out_fd;
	int in_place = 0;
	struct stat ost;
	int rc = EX_OK;
	int detect = 0;
	struct imc_config cfg;
	struct imc_charset_conf snd;
	struct delivery_conv dst;
	struct repair_opts o;
	struct repair_report rep;
	enum repair_result res;
	struct buf err, tmpname;
	struct stat sb;
	FILE *ef;
	bool mbox_line;

	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfile = optarg; break;
		case 'D': defaults = 1; break;
		case 'd': domain = optarg; break;
		case 's': sdomain = optarg; break;
		case 'l': legacy = optarg; break;
		case 't': charset = optarg; break;
		case '7': seven = 1; break;
		case 'S': smtp = 1; break;
		case 'e': explain = 1; break;
		case 'T': detect = 1; break;
		default: progopt_other(&prog, ch);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2 || (defaults && cfile != NULL))
		progopt_usage(&prog);
	in = argv[0];
	if (argc == 2 && strcmp(argv[1], "-") != 0)
		out = argv[1];

	buf_init(&err);
	/* -c, else $IMC_CONFIG, else the default path if there is a file:
	 * a lab without any configuration gets the built-in defaults. */
	cfile = defaults ? NULL : progopt_config(cfile, &cfrom);
	if (cfile != NULL && strcmp(cfrom, "default") == 0 &&
	    access(cfile, F_OK) == -1 && errno == ENOENT)
		cfile = NULL;
	if (cfile != NULL) {
		if (config_load(&cfg, cfile, &err) == -1) {
			fprintf(stderr, "imc-convert: %s\n", buf_cstr(&err));
			config_free(&cfg);
			buf_fini(&err);
			return EX_CONFIG;
		}
	} else
		config_defaults(&cfg);
	buf_fini(&err);
	/* No --domain: a domain without a [domain] section. */
	config_delivery_conv(&cfg, domain != NULL ? domain : "",
	    smtp ? DELIVERY_SMTP : DELIVERY_STORE, &dst);
	config_charset_for(&cfg, sdomain, &snd);
	memset(&o, 0, sizeof(o));
	o.legacy_charset = legacy != NULL ? legacy : snd.legacy_charset ?
	    snd.legacy_charset : "windows-1252";
	o.target = charset != NULL ? charset : dst.charset;
	o.seven_bit = seven || dst.seven_bit;
	/* the built-in store writes LF line ends, as Maildir readers expect */
	o.lf = !smtp && config_store_for(&cfg, domain != NULL ? domain : "")->
	    kind == STORE_MAILDIR;
	/* --detect, or detect = yes in the configuration */
	if (detect || cfg.detect)
		o.detect = cfg.detect_charsets != NULL ? cfg.detect_charsets :
		    CONFIG_DETECT_CHARSETS;
	if (!known_target(o.target)) {
		fprintf(stderr, "imc-convert: unknown target charset \"%s\"\n",
		    o.target);
		config_free(&cfg);
		return charset != NULL ? EX_USAGE : EX_CONFIG;
	}
	if (legacy != NULL && charset_mime_label(legacy) == NULL) {
		fprintf(stderr, "imc-convert: unknown legacy charset \"%s\"\n",
		    legacy);
		config_free(&cfg);
		return EX_USAGE;
	}

	if ((in_fd = open_input(in)) == -1 || fstat(in_fd, &sb) == -1 ||
	    S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "imc-convert: %s: %s\n", in, in_fd == -1 ?
		    strerror(errno) : "not a file");
		if (in_fd != -1)
			close(in_fd);
		config_free(&cfg);
		return EX_NOINPUT;
	}
	if ((ch = strip_mbox_line(in_fd, &mbox_line)) == -1) {
		fprintf(stderr, "imc-convert: %s: %s\n", in, strerror(errno));
		close(in_fd);
		config_free(&cfg);
		return EX_IOERR;
	}
	in_fd = ch;
	buf_init(&tmpname);
	/* OUT that is not a regular file (/dev/null, a FIFO, a terminal) is
	 * written in place: a rename would replace it, and as root that
	 * replaced the system's /dev/null with a regular file */
	if (out != NULL && stat(out, &ost) == 0 && !S_ISREG(ost.st_mode)) {
		if ((out_fd = open(out, O_WRONLY | O_CLOEXEC)) == -1) {
			fprintf(stderr, "imc-convert: %s: %s\n", out,
			    strerror(errno));
			rc = EX_CANTCREAT;
			goto done_in;
		}
		in_place = 1;
	} else if (out != NULL) {
		if (buf_printf(&tmpname, "%s.imc-convert.XXXXXX", out) == -1 ||
		    (out_fd = mkstemp(tmpname.data)) == -1) {
			fprintf(stderr, "imc-convert: %s: %s\n", out,
			    strerror(errno));
			rc = EX_IOERR;
			goto done_in;
		}
		(void)fchmod(out_fd, 0644);
	} else
		out_fd = STDOUT_FILENO;

	repair_report_init(&rep);
	res = repair_message(in_fd, out_fd, &o, &rep);
	if (res == REPAIR_ERROR) {
		fprintf(stderr, "imc-convert: %s: %s\n", in, strerror(errno));
		rc = errno == ENOMEM ? EX_OSERR : EX_IOERR;
	} else if (res == REPAIR_UNCHANGED) {
		if (lseek(in_fd, 0, SEEK_SET) == (off_t)-1 ||
		    copy_fd(in_fd, out_fd, o.lf) == -1) {
			fprintf(stderr, "imc-convert: %s\n", strerror(errno));
			rc = EX_IOERR;
		}
	}
	if (explain) {
		ef = out != NULL ? stdout : stderr;
		if (mbox_line)
			fputs("message: a leading mbox \"From \" line "
			    "dropped\n", ef);
		fputs(buf_cstr(&rep.explain), ef);
		fprintf(ef, "result=%s changes=%u undecodable=%u "
		    "kept_utf8=%u target=%s encoding=%s legacy=%s\n",
		    res == REPAIR_CHANGED ? "changed" : res == REPAIR_UNCHANGED ?
		    "unchanged" : "error", rep.changes, rep.undecodable,
		    rep.kept_utf8, o.target, o.seven_bit ? "7bit" : "8bit",
		    o.legacy_charset);
		fflush(ef);
	}
	repair_report_fini(&rep);
	if (in_place) {
		if (close(out_fd) == -1 && rc == EX_OK) {
			fprintf(stderr, "imc-convert: %s: %s\n", out,
			    strerror(errno));
			rc = EX_IOERR;
		}
	} else if (out != NULL) {
		if (rc == EX_OK && (fsync(out_fd) == -1 || close(out_fd) == -1 ||
		    (out_fd = -1, rename(tmpname.data, out) == -1))) {
			fprintf(stderr, "imc-convert: %s: %s\n", out,
			    strerror(errno));
			rc = EX_IOERR;
		}
		if (rc != EX_OK) {
			if (out_fd != -1)
				close(out_fd);
			unlink(tmpname.data);
		}
	}
done_in:
	buf_fini(&tmpname);
	close(in_fd);
	config_free(&cfg);
	return rc;
}
