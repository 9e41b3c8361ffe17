/*
 * imc-layout - create, check or repair the Imcdata tree.
 *
 * imc-layout [-c FILE] create|check|fix
 *
 * create makes the missing folders with their owners and modes; check lists
 * every drift from LAYOUT.md (missing folder, wrong owner or mode, a
 * symbolic link anywhere in the tree, a world-writable queue folder, a
 * queue folder on another filesystem than Pickup) and exits 1 if there is
 * any; fix repairs what it safely can and lists what is left. Exit codes:
 * 0 clean, 1 drift found, 64 usage, 78 configuration error, 73 cannot
 * create.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "layout.h"
#include "log.h"
#include "progopt.h"

static const struct progopt prog = { "imc-layout",
	"usage: imc-layout [-c FILE] create|check|fix\n"
};

static int
print_report(const struct layout_report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		printf("%s%s\n", r->items[i].unsafe ? "UNSAFE: " : "drift: ",
		    r->items[i].message);
	return r->n > 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct imc_config cfg;
	struct layout_want want;
	struct layout_report rep;
	struct buf err;
	const char *config = NULL, *cmd;
	int ch, rc = EX_USAGE;

	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		PROGOPT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (ch == 'c')
			config = optarg;
		else if (ch == 'h')
			progopt_help(&prog);
		else
			progopt_other(&prog, ch);
	}
	if (optind + 1 != argc)
		progopt_usage(&prog);
	config = progopt_config(config, NULL);
	cmd = argv[optind];
	/* a wrong command is a usage error before the file is read */
	if (strcmp(cmd, "create") != 0 && strcmp(cmd, "check") != 0 &&
	    strcmp(cmd, "fix") != 0)
		progopt_usage(&prog);
	log_init("imc-layout", LOG_LEVEL_INFO);
	buf_init(&err);
	if (config_load(&cfg, config, &err) == -1 ||
	    layout_want_from_config(&cfg, &want, &err) == -1) {
		fprintf(stderr, "imc-layout: %s\n", buf_cstr(&err));
		buf_fini(&err);
		config_free(&cfg);
		return EX_CONFIG;
	}
	if (strcmp(cmd, "create") == 0) {
		if (layout_create(cfg.root, &want, &err) == -1) {
			fprintf(stderr, "imc-layout: %s\n", buf_cstr(&err));
			rc = EX_CANTCREAT;
		} else if (layout_check(cfg.root, &want, true, &rep) == -1) {
			fprintf(stderr, "imc-layout: cannot check %s\n", cfg.root);
			rc = EX_IOERR;
		} else {
			rc = print_report(&rep);
			if (rc == 0)
				printf("created %s\n", cfg.root);
			layout_report_free(&rep);
		}
	} else if (strcmp(cmd, "check") == 0) {
		if (layout_check(cfg.root, &want, true, &rep) == -1) {
			fprintf(stderr, "imc-layout: cannot check %s\n", cfg.root);
			rc = EX_IOERR;
		} else {
			rc = print_report(&rep);
			if (rc == 0)
				printf("%s: no drift\n", cfg.root);
			layout_report_free(&rep);
		}
	} else {	/* fix */
		if (layout_fix(cfg.root, &want, &rep) == -1) {
			fprintf(stderr, "imc-layout: cannot fix %s\n", cfg.root);
			rc = EX_IOERR;
		} else {
			rc = print_report(&rep);
			if (rc == 0)
				printf("%s: no drift left\n", cfg.root);
			layout_report_free(&rep);
		}
	}
	buf_fini(&err);
	config_free(&cfg);
	return rc;
}
