/*
 * mkconfman - write imc.conf(5) from the configuration key table.
 *
 * mkconfman README.md TEMPLATE OUT
 *
 * The keys, their defaults, their ranges and where they may be written
 * come from config.c's table (config_key_doc), so the manual page cannot
 * drift from the code; what each key means is the third cell of its row
 * in README.md's "| key | default | meaning |" table, which
 * tests/unit/check_config_doc.c holds against the same table. TEMPLATE is
 * the page around the keys: its line ".\" @KEYS@" becomes one entry per
 * key allowed outside [domain] sections, in the table's order, and its
 * line ".\" @DOMAIN_KEYS@" the list of those also allowed in a [domain]
 * section (".BR key ," lines). A key allowed only in [domain] sections
 * (relay) has no README row: the template must describe it itself, as a
 * ".B key" line.
 *
 * Fails (exit 65, EX_DATAERR, and OUT is not written) when README.md has
 * no row for a global key or the template lacks the marker or a
 * [domain]-only key: the build stops rather than install a page that
 * leaves a key out. Exit 66 when an input cannot be read, 73 when OUT
 * cannot be written. Built for the build only; never installed.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "xalloc.h"

#define MARKER	".\\\" @KEYS@"
#define DMARKER	".\\\" @DOMAIN_KEYS@"
#define HEADER	"| key | default | meaning |"

/* slurp - a whole file, NUL-terminated; NULL if it cannot be read */
static char *
slurp(const char *path)
{
	struct buf b;
	char chunk[8192];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_append(&b, chunk, n) == -1)
			break;
	if (ferror(fp) || n > 0) {
		fclose(fp);
		buf_fini(&b);
		return NULL;
	}
	fclose(fp);
	return buf_steal(&b);
}

/*
 * readme_meaning - the meaning cell of key's row in README's key table,
 * trimmed, as a new string; NULL when the table has no such row
 */
static char *
readme_meaning(const char *readme, const char *key)
{
	const char *p, *nl, *c1, *c2, *end;
	char *want, *m;
	size_t wl;

	if ((p = strstr(readme, HEADER)) == NULL)
		return NULL;
	want = xmalloc(strlen(key) + 8);
	wl = (size_t)sprintf(want, "| `%s` |", key);
	for (p = strchr(p, '\n'); p != NULL && p[1] == '|'; p = nl) {
		p++;
		nl = strchr(p, '\n');
		end = nl != NULL ? nl : p + strlen(p);
		if ((size_t)(end - p) < wl || strncmp(p, want, wl) != 0)
			continue;
		c1 = memchr(p + 1, '|', (size_t)(end - p - 1));
		c2 = memchr(c1 + 1, '|', (size_t)(end - c1 - 1));
		while (end > p && (isspace((unsigned char)end[-1]) ||
		    end[-1] == '|'))
			end--;
		if (c2 == NULL || c2 + 1 > end)
			break;
		for (c2++; c2 < end && isspace((unsigned char)*c2); c2++)
			;
		m = xstrndup(c2, (size_t)(end - c2));
		free(want);
		return m;
	}
	free(want);
	return NULL;
}

/*
 * roff_text - Markdown cell text as roff: `code` in bold, backslashes
 * escaped, a leading dot or quote kept from being read as a request
 */
static void
roff_text(struct buf *out, const char *s)
{
	bool bold = false;

	if (*s == '.' || *s == '\'')
		buf_puts(out, "\\&");
	for (; *s != '\0'; s++) {
		if (*s == '`') {
			buf_puts(out, bold ? "\\fR" : "\\fB");
			bold = !bold;
		} else if (*s == '\\')
			buf_puts(out, "\\e");
		else
			buf_putc(out, *s);
	}
	if (bold)
		buf_puts(out, "\\fR");
}

/* key_entries - the page's entry for every global key into out; the
 * number of keys without a README row, each named on stderr */
static int
key_entries(struct buf *out, const char *readme, const char *tmpl)
{
	struct buf dflt, range, dotb;
	const char *name;
	unsigned where;
	char *meaning;
	int missing = 0;
	size_t i, ml;

	buf_init(&dflt);
	buf_init(&range);
	buf_init(&dotb);
	for (i = 0; (name = config_key_doc(i, &where, &dflt, &range)) != NULL;
	    i++) {
		if (!(where & CONFIG_GLOBAL)) {
			buf_reset(&dotb);
			buf_printf(&dotb, "\n.B %s\n", name);
			if (strstr(tmpl, buf_cstr(&dotb)) == NULL) {
				fprintf(stderr, "mkconfman: %s: a [domain] key "
				    "the template does not describe (.B %s)\n",
				    name, name);
				missing++;
			}
		} else if ((meaning = readme_meaning(readme, name)) == NULL) {
			fprintf(stderr, "mkconfman: %s: a key of config.c "
			    "without a row in README.md's key table\n", name);
			missing++;
		} else {
			buf_printf(out, ".TP\n.B %s\nDefault: ", name);
			roff_text(out, buf_cstr(&dflt));
			/* the README row usually ends with the range already */
			if (range.len > 0 &&
			    strstr(meaning, buf_cstr(&range)) == NULL)
				buf_printf(out, "; %s", buf_cstr(&range));
			buf_puts(out, ".\n.br\n");
			if (islower((unsigned char)meaning[0]))
				meaning[0] = (char)toupper((unsigned char)meaning[0]);
			/* a README row may run on into the next (the
			 * timeouts): an entry of its own ends its sentence */
			ml = strlen(meaning);
			if (ml > 0 && meaning[ml - 1] == ',')
				meaning[--ml] = '\0';
			roff_text(out, meaning);
			if (ml > 0 && strchr(".:", meaning[ml - 1]) == NULL)
				buf_putc(out, '.');
			buf_puts(out, "\n");
			free(meaning);
		}
		buf_reset(&dflt);
		buf_reset(&range);
	}
	buf_fini(&dflt);
	buf_fini(&range);
	buf_fini(&dotb);
	return missing;
}

/* domain_keys - ".BR key ," for every key allowed both outside and in
 * [domain] sections */
static void
domain_keys(struct buf *out)
{
	struct buf dflt, range;
	const char *name;
	unsigned where;
	size_t i;

	buf_init(&dflt);
	buf_init(&range);
	for (i = 0; (name = config_key_doc(i, &where, &dflt, &range)) != NULL;
	    i++)
		if ((where & CONFIG_GLOBAL) && (where & CONFIG_DOMAIN))
			buf_printf(out, ".BR %s ,\n", name);
	buf_fini(&dflt);
	buf_fini(&range);
}

int
main(int argc, char **argv)
{
	char *readme = NULL, *tmpl = NULL, *at, *dat, *tmp = NULL;
	struct buf out;
	FILE *fp;
	bool written;
	int rc = EX_OK;

	if (argc != 4) {
		fprintf(stderr, "usage: mkconfman README.md TEMPLATE OUT\n");
		return EX_USAGE;
	}
	buf_init(&out);
	if ((readme = slurp(argv[1])) == NULL ||
	    (tmpl = slurp(argv[2])) == NULL) {
		perror(readme == NULL ? argv[1] : argv[2]);
		rc = EX_NOINPUT;
		goto done;
	}
	if ((at = strstr(tmpl, "\n" MARKER "\n")) == NULL) {
		fprintf(stderr, "mkconfman: %s: no line %s\n", argv[2], MARKER);
		rc = EX_DATAERR;
		goto done;
	}
	if ((dat = strstr(tmpl, "\n" DMARKER "\n")) == NULL || dat < at) {
		fprintf(stderr, "mkconfman: %s: no line %s after %s\n", argv[2],
		    DMARKER, MARKER);
		rc = EX_DATAERR;
		goto done;
	}
	buf_append(&out, tmpl, (size_t)(at - tmpl) + 1);
	if (key_entries(&out, readme, tmpl) > 0) {
		rc = EX_DATAERR;
		goto done;
	}
	at += strlen(MARKER) + 2;
	buf_append(&out, at, (size_t)(dat - at) + 1);
	domain_keys(&out);
	buf_puts(&out, dat + strlen(DMARKER) + 2);
	tmp = xmalloc(strlen(argv[3]) + 5);
	sprintf(tmp, "%s.tmp", argv[3]);
	if ((fp = fopen(tmp, "w")) == NULL) {
		perror(tmp);
		rc = EX_CANTCREAT;
		goto done;
	}
	written = fwrite(out.data, 1, out.len, fp) == out.len;
	if (fclose(fp) != 0 || !written || rename(tmp, argv[3]) != 0) {
		perror(argv[3]);
		(void)unlink(tmp);
		rc = EX_CANTCREAT;
	}
done:
	buf_fini(&out);
	free(tmp);
	free(readme);
	free(tmpl);
	return rc;
}
