/*
 * progopt - the command-line conventions every program shares (see
 * progopt.h).
 */
#include "progopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#ifndef IMC_VERSION
#error "IMC_VERSION comes from CMake (project VERSION)"
#endif

/* progopt_config - -c, else $IMC_CONFIG, else the default path */
const char *
progopt_config(const char *given, const char **from)
{
	const char *env, *dummy;

	if (from == NULL)
		from = &dummy;
	if (given != NULL) {
		*from = "-c";
		return given;
	}
	if ((env = getenv(PROGOPT_CONFIG_ENV)) != NULL && env[0] != '\0') {
		*from = PROGOPT_CONFIG_ENV;
		return env;
	}
	*from = "default";
	return PROGOPT_DEFAULT_CONFIG;
}

const char *
progopt_version_string(void)
{
	return IMC_VERSION;
}

/* The synopsis, then where the configuration comes from. */
static void
progopt_print(const struct progopt *p, FILE *f)
{
	fprintf(f, "%s", p->usage);
	fprintf(f, "Without -c FILE the configuration is $%s, else %s.\n"
	    "%s --help: this text; %s --version: the version.\n",
	    PROGOPT_CONFIG_ENV, PROGOPT_DEFAULT_CONFIG, p->name, p->name);
}

/* progopt_help - usage on stdout, exit 0 */
void
progopt_help(const struct progopt *p)
{
	progopt_print(p, stdout);
	exit(fflush(stdout) == 0 && !ferror(stdout) ? EX_OK : EX_IOERR);
}

/* progopt_usage - usage on stderr, exit 64 */
void
progopt_usage(const struct progopt *p)
{
	progopt_print(p, stderr);
	exit(EX_USAGE);
}

/* progopt_version - "NAME VERSION" on stdout, exit 0 */
void
progopt_version(const struct progopt *p)
{
	printf("%s %s\n", p->name, IMC_VERSION);
	exit(fflush(stdout) == 0 && !ferror(stdout) ? EX_OK : EX_IOERR);
}

/* progopt_other - --help, --version, or a usage error */
void
progopt_other(const struct progopt *p, int ch)
{
	if (ch == PROGOPT_HELP)
		progopt_help(p);
	if (ch == PROGOPT_VERSION)
		progopt_version(p);
	progopt_usage(p);
}
