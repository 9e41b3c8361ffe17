/*
 * imc-layout - create, check or repair the Imcdata tree.
 *
 * imc-layout -c FILE create|check|fix
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

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: imc-layout -c FILE create|check|fix\n");
	exit(EX_USAGE);
}

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

	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		if (ch == 'c')
			config = optarg;
		else
			usage();
	}
	if (config == NULL || optind + 1 != argc)
		usage();
	cmd = argv[optind];
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
	} else if (strcmp(cmd, "fix") == 0) {
		if (layout_fix(cfg.root, &want, &rep) == -1) {
			fprintf(stderr, "imc-layout: cannot fix %s\n", cfg.root);
			rc = EX_IOERR;
		} else {
			rc = print_report(&rep);
			if (rc == 0)
				printf("%s: no drift left\n", cfg.root);
			layout_report_free(&rep);
		}
	} else
		usage();
	buf_fini(&err);
	config_free(&cfg);
	return rc;
}
