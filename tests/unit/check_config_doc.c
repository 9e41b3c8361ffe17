/*
 * check_config_doc - README.md's configuration table against config.c's
 * key table (config_key_doc).
 *
 * README.md has a "| key | default | meaning |" table of the keys allowed
 * outside any section, and right after it a paragraph naming the keys a
 * [domain NAME] section accepts (the backquoted words after "accept", not
 * counting those in parentheses). The check: every global key of the code
 * has a row, with the default the code documents (a value in backquotes,
 * or words such as "(required)"); every row is a global key of the code;
 * a bounded key's row gives its range ("1s to 1d"), or a row says it for
 * a family ("every `timeout_*` key: 1s to 1d"); a row says "also per"
 * exactly when the key is allowed in [domain] too; the [domain] list is
 * the code's [domain] keys. The same check, run on copies of README.md
 * with one thing changed, must report that change.
 */
#include <check.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"

#ifndef IMC_SOURCE_DIR
#error "IMC_SOURCE_DIR (the source tree) comes from tests/CMakeLists.txt"
#endif

#define README	IMC_SOURCE_DIR "/README.md"
#define HEADER	"| key | default | meaning |"
#define DOMAIN_PARA "`[domain NAME]` sections"

struct row {
	char	*key;		/* without its backquotes */
	char	*dflt;
	char	*meaning;
	int	 line;
};

struct doc {
	struct row *rows;
	size_t	 n;
	char	**dkeys;	/* keys the [domain NAME] paragraph lists */
	size_t	 nd;
};

/* dup_trim - a trimmed copy of n bytes at s */
static char *
dup_trim(const char *s, size_t n)
{
	char *p;

	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	ck_assert_ptr_nonnull(p = strndup(s, n));
	return p;
}

/* doc_row_parse - "| `key` | default | meaning |" into d */
static void
doc_row_parse(struct doc *d, const char *line, size_t len, int lineno,
    struct buf *problems)
{
	const char *c1, *c2, *last;
	struct row *r;
	char *key;
	size_t kl;

	c1 = memchr(line + 1, '|', len - 1);
	c2 = c1 ? memchr(c1 + 1, '|', len - (size_t)(c1 + 1 - line)) : NULL;
	last = line + len - 1;
	while (last > line && isspace((unsigned char)*last))
		last--;
	if (c2 == NULL || *last != '|' || last <= c2) {
		buf_printf(problems, "README.md:%d: a row of the key table "
		    "without three cells\n", lineno);
		return;
	}
	key = dup_trim(line + 1, (size_t)(c1 - line - 1));
	kl = strlen(key);
	if (kl < 3 || key[0] != '`' || key[kl - 1] != '`' ||
	    strchr(key + 1, '`') != key + kl - 1) {
		buf_printf(problems, "README.md:%d: key cell %s is not one "
		    "`key`\n", lineno, key);
		free(key);
		return;
	}
	memmove(key, key + 1, kl - 2);
	key[kl - 2] = '\0';
	ck_assert_ptr_nonnull(r = realloc(d->rows, (d->n + 1) * sizeof(*r)));
	d->rows = r;
	r = &d->rows[d->n++];
	r->key = key;
	r->dflt = dup_trim(c1 + 1, (size_t)(c2 - c1 - 1));
	r->meaning = dup_trim(c2 + 1, (size_t)(last - c2 - 1));
	r->line = lineno;
}

/* doc_domain_keys - the backquoted words after "accept" in the [domain]
 * paragraph, outside parentheses */
static void
doc_domain_keys(struct doc *d, const char *para, struct buf *problems)
{
	const char *p, *e;
	int depth = 0;
	char **v;

	if ((p = strstr(para, " accept ")) == NULL) {
		buf_puts(problems, "README.md: the [domain NAME] paragraph "
		    "does not say which keys it accepts\n");
		return;
	}
	for (; *p != '\0'; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (*p == '`' && (e = strchr(p + 1, '`')) != NULL) {
			if (depth == 0) {
				ck_assert_ptr_nonnull(v = realloc(d->dkeys,
				    (d->nd + 1) * sizeof(*v)));
				d->dkeys = v;
				v[d->nd++] = dup_trim(p + 1,
				    (size_t)(e - p - 1));
			}
			p = e;
		}
	}
}

/* doc_parse - the key table and the [domain] paragraph of README text */
static void
doc_parse(const char *text, struct doc *d, struct buf *problems)
{
	const char *p = text, *nl;
	size_t len;
	int lineno = 0, state = 0;	/* 0 header, 1 rule, 2 rows, 3 gap,
					   4 paragraph, 5 done */
	struct buf para;
	char *l;

	memset(d, 0, sizeof(*d));
	buf_init(&para);
	for (; *p != '\0' && state != 5; p = nl + (*nl == '\n')) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		lineno++;
		l = dup_trim(p, len);
		switch (state) {
		case 0:
			if (!strcmp(l, HEADER))
				state = 1;
			break;
		case 1:
			if (strncmp(l, "| ---", 5) != 0)
				buf_printf(problems, "README.md:%d: no | --- | "
				    "rule under the key table header\n", lineno);
			state = 2;
			break;
		case 2:
			if (l[0] == '|') {
				doc_row_parse(d, l, strlen(l), lineno, problems);
				break;
			}
			state = 3;
			/* FALLTHROUGH */
		case 3:
			if (l[0] == '\0')
				break;
			if (strncmp(l, DOMAIN_PARA, strlen(DOMAIN_PARA)) != 0) {
				buf_printf(problems, "README.md:%d: the key "
				    "table is not followed by the paragraph "
				    "\"" DOMAIN_PARA " ...\"\n", lineno);
				state = 5;
				break;
			}
			state = 4;
			/* FALLTHROUGH */
		case 4:
			if (l[0] == '\0') {
				state = 5;
				break;
			}
			buf_printf(&para, "%s%s", para.len ? " " : "", l);
			break;
		}
		free(l);
	}
	if (state == 0)
		buf_puts(problems, "README.md: no \"" HEADER "\" table\n");
	else if (para.len > 0)
		doc_domain_keys(d, buf_cstr(&para), problems);
	buf_fini(&para);
}

static void
doc_free(struct doc *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->rows[i].key);
		free(d->rows[i].dflt);
		free(d->rows[i].meaning);
	}
	for (i = 0; i < d->nd; i++)
		free(d->dkeys[i]);
	free(d->rows);
	free(d->dkeys);
}

/* code_where - where config.c allows a key; 0 if it has no such key */
static unsigned
code_where(const char *key)
{
	struct buf dflt, range;
	const char *name;
	unsigned where, found = 0;
	size_t i;

	buf_init(&dflt);
	buf_init(&range);
	for (i = 0; (name = config_key_doc(i, &where, &dflt, &range)) != NULL;
	    i++)
		if (!strcmp(name, key))
			found = where;
	buf_fini(&dflt);
	buf_fini(&range);
	return found;
}

/* has_word - s holds w, not as part of a longer number or word */
static bool
has_word(const char *s, const char *w)
{
	const char *p;
	size_t n = strlen(w);

	for (p = strstr(s, w); p != NULL; p = strstr(p + 1, w))
		if ((p == s || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n]))
			return true;
	return false;
}

/* doc_has_range - the key's row gives range, or a row gives it for a
 * family the key belongs to: "every `PREFIX*` key: RANGE" */
static bool
doc_has_range(const struct doc *d, const struct row *r, const char *key,
    const char *range)
{
	const char *p, *star;
	size_t i, n = strlen(range);

	if (has_word(r->meaning, range))
		return true;
	for (i = 0; i < d->n; i++)
		for (p = strstr(d->rows[i].meaning, "every `"); p != NULL;
		    p = strstr(p + 1, "every `")) {
			p += strlen("every `");
			if ((star = strstr(p, "*` key: ")) == NULL)
				continue;
			if (strncmp(key, p, (size_t)(star - p)) == 0 &&
			    strncmp(star + strlen("*` key: "), range, n) == 0 &&
			    !isalnum((unsigned char)star[strlen("*` key: ") + n]))
				return true;
		}
	return false;
}

static const struct row *
doc_row(const struct doc *d, const char *key)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (!strcmp(d->rows[i].key, key))
			return &d->rows[i];
	return NULL;
}

static bool
doc_dkey(const struct doc *d, const char *key)
{
	size_t i;

	for (i = 0; i < d->nd; i++)
		if (!strcmp(d->dkeys[i], key))
			return true;
	return false;
}

/* doc_check - every disagreement of README text and the key table, one
 * line each, into problems */
static void
doc_check(const char *text, struct buf *problems)
{
	struct buf dflt, range;
	const struct row *r;
	const char *name;
	unsigned where;
	struct doc d;
	size_t i, j;
	bool also;

	doc_parse(text, &d, problems);
	buf_init(&dflt);
	buf_init(&range);
	for (i = 0; (name = config_key_doc(i, &where, &dflt, &range)) != NULL;
	    i++) {
		r = doc_row(&d, name);
		if ((where & CONFIG_GLOBAL) && r == NULL)
			buf_printf(problems, "%s: a key of config.c without a "
			    "row in README.md's table\n", name);
		else if ((where & CONFIG_GLOBAL) && dflt.len == 0)
			buf_printf(problems, "%s: config.c documents no "
			    "default (def or doc)\n", name);
		else if (where & CONFIG_GLOBAL) {
			if (strcmp(r->dflt, buf_cstr(&dflt)) != 0)
				buf_printf(problems, "%s: README.md:%d shows the "
				    "default %s, config.c %s\n", name, r->line,
				    r->dflt, buf_cstr(&dflt));
			if (range.len > 0 &&
			    !doc_has_range(&d, r, name, buf_cstr(&range)))
				buf_printf(problems, "%s: README.md:%d does not "
				    "give its range, %s\n", name, r->line,
				    buf_cstr(&range));
			also = strstr(r->meaning, "also per") != NULL;
			if (also != ((where & CONFIG_DOMAIN) != 0))
				buf_printf(problems, "%s: README.md:%d %s \"also "
				    "per\", but config.c %s it in [domain]\n",
				    name, r->line, also ? "says" : "lacks",
				    also ? "refuses" : "allows");
		} else if (r != NULL)
			buf_printf(problems, "%s: only allowed in [domain] "
			    "but README.md:%d has a row for it\n", name,
			    r->line);
		if ((where & CONFIG_DOMAIN) && !doc_dkey(&d, name))
			buf_printf(problems, "%s: allowed in [domain] by "
			    "config.c, missing from README.md's list of "
			    "[domain] keys\n", name);
		buf_reset(&dflt);
		buf_reset(&range);
	}
	for (i = 0; i < d.n; i++) {
		if (!(code_where(d.rows[i].key) & CONFIG_GLOBAL))
			buf_printf(problems, "%s: README.md:%d has a row for "
			    "it, config.c no such key outside [domain]\n",
			    d.rows[i].key, d.rows[i].line);
		for (j = 0; j < i; j++)
			if (!strcmp(d.rows[i].key, d.rows[j].key))
				buf_printf(problems, "%s: README.md:%d repeats "
				    "the row of line %d\n", d.rows[i].key,
				    d.rows[i].line, d.rows[j].line);
	}
	for (i = 0; i < d.nd; i++)
		if (!(code_where(d.dkeys[i]) & CONFIG_DOMAIN))
			buf_printf(problems, "%s: README.md lists it for "
			    "[domain], config.c does not allow it there\n",
			    d.dkeys[i]);
	buf_fini(&dflt);
	buf_fini(&range);
	doc_free(&d);
}

/* readme_text - README.md of the source tree, whole */
static char *
readme_text(void)
{
	FILE *fp;
	struct buf b;
	char chunk[4096];
	size_t n;

	ck_assert_msg((fp = fopen(README, "r")) != NULL, "cannot open %s",
	    README);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, n), 0);
	ck_assert(!ferror(fp));
	fclose(fp);
	ck_assert_ptr_nonnull(b.data);
	return buf_steal(&b);
}

START_TEST(readme_table_and_key_table_agree)
{
	struct buf problems;
	char *text = readme_text();

	buf_init(&problems);
	doc_check(text, &problems);
	ck_assert_msg(problems.len == 0, "README.md and config.c's key table "
	    "disagree:\n%s", buf_cstr(&problems));
	buf_fini(&problems);
	free(text);
}
END_TEST

/*
 * One change to README.md each, and what the check must then report.
 * Each change is made on the real text: "from" must be in it (else the
 * case would test nothing).
 */
struct drift_case {
	const char *name;
	const char *from, *to;
	const char *want;	/* in the problems */
};

static const struct drift_case drift_cases[] = {
	{ "row_removed", "| `archive` | `no` | `yes`: keep a copy of every "
	    "accepted message in `In/Archive` or `Out/Archive` (IMC message "
	    "archival) |\n", "", "archive: a key of config.c without a row" },
	{ "row_for_an_unknown_key", "| `store` |", "| `colour` | `blue` | "
	    "a key config.c does not have |\n| `store` |",
	    "colour: README.md:" },
	{ "default_changed", "| `pickup_rescan` | `30s` |",
	    "| `pickup_rescan` | `60s` |",
	    "pickup_rescan: README.md:" },
	{ "default_words_changed", "| `user` | the running user |",
	    "| `user` | `imc` |", "shows the default `imc`, config.c the "
	    "running user" },
	{ "range_changed", "this long bounces (the IMC's 48 hours); 1s to 365d",
	    "this long bounces (the IMC's 48 hours); 1s to 30d",
	    "max_lifetime: README.md:" },
	{ "family_range_changed", "every `timeout_*` key: 1s to 1d",
	    "every `timeout_*` key: 1s to 2d", "timeout_data_done: README.md:" },
	{ "also_per_dropped", " (also per sender domain in `[domain NAME]`)",
	    "", "legacy_charset: README.md:" },
	{ "also_per_added", "(a lab only: every writer's file is then parsed "
	    "as root)", "(also per `[domain]`)", "allow_root: README.md:" },
	{ "row_repeated", "| `store` |",
	    "| `archive` | `no` | again |\n| `store` |", "repeats the row" },
	{ "domain_key_dropped", ", `tls` and `auth`.", " and `tls`.",
	    "auth: allowed in [domain] by config.c, missing" },
	{ "domain_key_added", "`encoding`, and for SMTP",
	    "`encoding`, `archive`, and for SMTP",
	    "archive: README.md lists it for [domain]" },
	{ "table_header_changed", HEADER, "| name | default | meaning |",
	    "no \"| key | default | meaning |\" table" },
	{ "domain_paragraph_moved", "\n" DOMAIN_PARA, "\nSee below.\n\n"
	    DOMAIN_PARA, "is not followed by the paragraph" },
};

START_TEST(readme_check_reports_drift)
{
	const struct drift_case *c = &drift_cases[_i];
	struct buf changed, problems;
	char *text = readme_text(), *at;

	ck_assert_msg((at = strstr(text, c->from)) != NULL,
	    "%s: \"%s\" is not in README.md", c->name, c->from);
	buf_init(&changed);
	buf_init(&problems);
	ck_assert_int_eq(buf_append(&changed, text, (size_t)(at - text)), 0);
	ck_assert_int_eq(buf_puts(&changed, c->to), 0);
	ck_assert_int_eq(buf_puts(&changed, at + strlen(c->from)), 0);
	doc_check(buf_cstr(&changed), &problems);
	ck_assert_msg(strstr(buf_cstr(&problems), c->want) != NULL,
	    "%s: want \"%s\" in the problems, got:\n%s", c->name, c->want,
	    buf_cstr(&problems));
	buf_fini(&changed);
	buf_fini(&problems);
	free(text);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config_doc");
	TCase *tc = tcase_create("readme");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, readme_table_and_key_table_agree);
	tcase_add_loop_test(tc, readme_check_reports_drift, 0,
	    (int)(sizeof(drift_cases) / sizeof(drift_cases[0])));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
