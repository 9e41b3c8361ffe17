/*
 * progopt - what every program's command line shares: --help, --version,
 * the usage error, and where the configuration file is.
 *
 * Every program (imc-connector, imc-layout, imc-queue, imc-submit,
 * imc-convert) takes -c FILE; without it the file named by IMC_CONFIG in
 * the environment (when set and not empty), else PROGOPT_DEFAULT_CONFIG.
 * --help prints the usage on stdout and exits 0; --version prints the
 * project version (from CMake) and exits 0; an unknown option or a wrong
 * argument prints the usage on stderr and exits 64 (EX_USAGE). A program
 * puts PROGOPT_LONGOPTS in its getopt_long table and hands every option
 * it does not know itself to progopt_other.
 */
#ifndef IMC_PROGOPT_H
#define IMC_PROGOPT_H

#include <getopt.h>

#define PROGOPT_DEFAULT_CONFIG	"/etc/imc-connector/imc.conf"
#define PROGOPT_CONFIG_ENV	"IMC_CONFIG"

/* getopt_long values of --help and --version: above every char. */
#define PROGOPT_HELP		0x1001
#define PROGOPT_VERSION		0x1002
#define PROGOPT_LONGOPTS \
	{ "help", no_argument, NULL, PROGOPT_HELP }, \
	{ "version", no_argument, NULL, PROGOPT_VERSION }

struct progopt {
	const char	*name;	/* "imc-queue" */
	const char	*usage;	/* the synopsis lines, each ending in \n */
};

/* The configuration file: given (-c), else $IMC_CONFIG, else the default.
 * *from says which ("-c", "IMC_CONFIG", "default"), for messages. */
const char *progopt_config(const char *given, const char **from);
/* The project version, "0.1.0". */
const char *progopt_version_string(void);
void	progopt_help(const struct progopt *) __attribute__((noreturn));
void	progopt_usage(const struct progopt *) __attribute__((noreturn));
void	progopt_version(const struct progopt *) __attribute__((noreturn));
/* An option the program's own switch does not take: --help, --version,
 * else the usage error. */
void	progopt_other(const struct progopt *, int ch)
	    __attribute__((noreturn));

#endif
