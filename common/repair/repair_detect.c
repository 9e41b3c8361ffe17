/*
 * repair_detect - the charset guess of detect = yes (see repair_int.h).
 *
 * Unlabelled 8-bit text that is not valid UTF-8 would be read in the
 * legacy charset. With a detect list, the part's decoded content (its
 * first RP_DETECT_MAX octets) also goes to libuchardet, and pass 1 reads
 * the text with a decoder per listed charset too; the guess is taken only
 * when it is in the list and that decoder read the text without an error.
 * On the labelled sample of tests/data/detect (short and long texts in
 * Russian, Ukrainian, Japanese, Korean, Chinese, German, French) libuchardet
 * named the right charset for every text, where legacy_charset reads only
 * the Western ones (tools/detect-accuracy.sh gives the table).
 */
#include "repair_int.h"

#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <uchardet.h>

#include "log.h"

#define RP_DETECT_MAX	(256 * 1024)

/* repair_detect_each - call fn for each charset of the list; stops at -1 */
int
repair_detect_each(const char *list, int (*fn)(const char *, void *),
    void *arg)
{
	char name[CHARSET_NAME_SIZE];
	const char *p = list, *e;
	size_t n;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		for (e = p; *e != '\0' && *e != ',' && *e != ' ' && *e != '\t';
		    e++)
			;
		if ((n = (size_t)(e - p)) == 0)
			break;
		if (n <= CHARSET_NAME_MAX) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (fn(name, arg) == -1)
				return -1;
		}
		p = e;
	}
	return 0;
}

/* repair_detect_start - pass 1: a detector for the leaf */
void
repair_detect_start(struct rp_scan *sc)
{
	/* it allocates, and out of memory is fatal (xalloc.h) */
	if ((sc->ud = uchardet_new()) == NULL)
		log_nomem(EX_OSERR, "uchardet_new", 1, 0);
	sc->ud_fed = 0;
}

/* repair_detect_feed - pass 1: decoded content of the leaf */
void
repair_detect_feed(struct rp_scan *sc, const char *d, size_t n)
{
	if (sc->ud == NULL || sc->ud_fed >= RP_DETECT_MAX)
		return;
	if (n > RP_DETECT_MAX - sc->ud_fed)
		n = RP_DETECT_MAX - sc->ud_fed;
	(void)uchardet_handle_data(sc->ud, d, n);
	sc->ud_fed += n;
}

struct rp_detect_in {
	const char	*dec;
	int		 found;
};

static int
rp_detect_match(const char *name, void *arg)
{
	struct rp_detect_in *in = arg;
	struct charset_info ci;

	if (charset_lookup(name, strlen(name), &ci) != CHARSET_UNKNOWN &&
	    strcasecmp(ci.decoder, in->dec) == 0)
		in->found = 1;
	return 0;
}

/*
 * repair_detect_result - pass 1: the decoder the guess names, when the
 * list allows it, else NULL. libuchardet names UHC for CP949 text.
 */
const char *
repair_detect_result(struct rp_state *st, const char **guess)
{
	struct rp_scan *sc = &st->scan;
	struct charset_info ci;
	struct rp_detect_in in;
	const char *name;

	*guess = NULL;
	if (sc->ud == NULL)
		return NULL;
	uchardet_data_end(sc->ud);
	name = uchardet_get_charset(sc->ud);
	if (name == NULL || *name == '\0')
		return NULL;
	*guess = name;
	if (strcasecmp(name, "UHC") == 0)
		name = "euc-kr";
	if (charset_lookup(name, strlen(name), &ci) == CHARSET_UNKNOWN)
		return NULL;
	in.dec = ci.decoder;
	in.found = 0;
	(void)repair_detect_each(st->opts->detect, rp_detect_match, &in);
	if (!in.found)
		return NULL;
	memcpy(sc->ud_dec, ci.decoder, sizeof(sc->ud_dec));
	return sc->ud_dec;
}

/* repair_detect_end - release the detector */
void
repair_detect_end(struct rp_scan *sc)
{
	if (sc->ud != NULL)
		uchardet_delete(sc->ud);
	sc->ud = NULL;
}
