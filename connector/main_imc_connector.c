/*
 * imc-connector - the daemon: Pickup to the store and the SMTP queue.
 *
 * imc-connector [-c FILE] [--once] [--foreground] [--debug]
 *
 * Without -c the configuration is $IMC_CONFIG, else
 * /etc/imc-connector/imc.conf (progopt.h).
 * --once processes every file in Pickup and every due queue entry, then
 * exits 0. Otherwise it runs until SIGTERM, finishes the step in hand and
 * leaves the queue consistent. It never forks (a service manager supervises
 * it); --foreground says its log goes to stderr, as with --once; otherwise
 * to syslog (facility mail). log_level chooses the least level written
 * (--debug: debug, whatever the file says). Exit codes are from sysexits.h
 * (78 for configuration errors).
 *
 * --check-config reads the file as a start would and exits 0 or 78; with
 * -v it prints every key with its effective value. SIGHUP makes a running
 * daemon read the file again (daemon.c, daemon_reload).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <syslog.h>

#include "daemon.h"
#include "log.h"
#include "progopt.h"

static const struct progopt prog = { "imc-connector",
	"usage: imc-connector [-c FILE] [--once] [--foreground] [--debug]\n"
	"       imc-connector [-c FILE] --check-config [-v]\n"
};

/* --check-config: the file as a start would take it; -v prints every
 * key with its effective value. 0 or 78, the error as FILE:LINE. */
static int
check_config(const char *config, bool verbose)
{
	struct imc_config cfg;
	struct buf err, out;
	int rc = EX_OK;

	buf_init(&err);
	buf_init(&out);
	if (daemon_check_config(&cfg, config, &err) == -1) {
		fprintf(stderr, "imc-connector: %s\n", buf_cstr(&err));
		rc = EX_CONFIG;
	} else {
		if (verbose)
			config_show(&cfg, &out);
		else
			buf_printf(&out, "%s: the configuration is valid\n",
			    config);
		fputs(buf_cstr(&out), stdout);
		if (fflush(stdout) != 0)
			rc = EX_IOERR;
	}
	config_free(&cfg);
	buf_fini(&err);
	buf_fini(&out);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		PROGOPT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct imc_daemon d;
	struct buf err;
	const char *config = NULL;
	bool once = false, check = false, verbose = false, foreground = false;
	bool debug = false;
	enum log_level level = LOG_LEVEL_INFO;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:ofdhv", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'o':
			once = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'd':
			debug = true;
			level = LOG_LEVEL_DEBUG;
			break;
		case 'C':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			progopt_help(&prog);
		default:
			progopt_other(&prog, ch);
		}
	}
	if (optind != argc || (verbose && !check))
		progopt_usage(&prog);
	config = progopt_config(config, NULL);
	if (check)
		return check_config(config, verbose);
	log_init("imc-connector", level);
	if (!once && !foreground)
		log_open_syslog(LOG_MAIL);
	buf_init(&err);
	if ((rc = daemon_init(&d, config, once, debug, &err)) != 0) {
		/* whoever started it sees why, and so does the log */
		fprintf(stderr, "imc-connector: %s\n", buf_cstr(&err));
		if (!once && !foreground)
			log_warnx("not starting: %s", buf_cstr(&err));
		buf_fini(&err);
		daemon_fini(&d);
		return rc;
	}
	buf_fini(&err);
	rc = daemon_run(&d);
	daemon_fini(&d);
	return rc == 0 ? EX_OK : EX_SOFTWARE;
}
