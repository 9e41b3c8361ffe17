/*
 * conf - generic configuration syntax (see conf.h).
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imc_limits.h"
#include "xalloc.h"

static char *
conf_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Cut a "#" comment that starts a line or follows whitespace. */
static void
conf_strip_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

static int
conf_section(char *line, char **kind, char **name, struct buf *msg)
{
	char *end, *in, *sp;

	end = strchr(line, ']');
	if (end == NULL || conf_trim(end + 1)[0] != '\0') {
		buf_puts(msg, "malformed section header (want [kind NAME])");
		return -1;
	}
	*end = '\0';
	in = conf_trim(line + 1);
	sp = strpbrk(in, " \t");
	if (sp == NULL) {
		*kind = in;
		*name = in + strlen(in);
	} else {
		*sp = '\0';
		*kind = in;
		*name = conf_trim(sp + 1);
	}
	if (**kind == '\0') {
		buf_puts(msg, "empty section header");
		return -1;
	}
	return 0;
}

/* conf_parse_file - read a configuration file, calling back per entry */
int
conf_parse_file(const char *path, conf_section_fn *on_section,
    conf_entry_fn *on_entry, void *arg, struct buf *err)
{
	FILE *fp;
	char *line = NULL, *s, *eq, *key, *value;
	char *kind = NULL, *name = NULL;
	char *kind_copy = NULL, *name_copy = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	struct buf msg;
	int r = 0;

	buf_init(&msg);
	if ((fp = fopen(path, "re")) == NULL) {
		buf_printf(err, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((n = xgetline(&line, &cap, fp)) != -1) {
		lineno++;
		buf_reset(&msg);
		if ((size_t)n > IMC_MAX_CONFIG_LINE) {
			buf_puts(&msg, "line too long");
			goto bad;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			buf_puts(&msg, "NUL byte in line");
			goto bad;
		}
		conf_strip_comment(line);
		s = conf_trim(line);
		if (*s == '\0')
			continue;
		if (*s == '[') {
			if (conf_section(s, &kind, &name, &msg) == -1)
				goto bad;
			free(kind_copy);
			free(name_copy);
			kind_copy = xstrdup(kind);
			name_copy = xstrdup(name);
			if (on_section(arg, kind_copy, name_copy, &msg) == -1)
				goto bad;
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL) {
			buf_puts(&msg, "expected \"key = value\"");
			goto bad;
		}
		*eq = '\0';
		key = conf_trim(s);
		value = conf_trim(eq + 1);
		if (*key == '\0') {
			buf_puts(&msg, "missing key before \"=\"");
			goto bad;
		}
		if (on_entry(arg, kind_copy, name_copy, key, value, &msg) == -1)
			goto bad;
	}
	if (ferror(fp)) {
		buf_printf(err, "%s: read error: %s", path, strerror(errno));
		r = -1;
	}
	goto out;
bad:
	buf_printf(err, "%s:%ld: %s", path, lineno, buf_cstr(&msg));
	r = -1;
out:
	free(line);
	free(kind_copy);
	free(name_copy);
	buf_fini(&msg);
	fclose(fp);
	return r;
}

/* conf_parse_size - "1234", "10K", "10M", "1G" (binary multiples) */
int
conf_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		goto big;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		mult = 1024;
		end++;
		break;
	case 'M':
		mult = 1024 * 1024;
		end++;
		break;
	case 'G':
		mult = 1024ull * 1024 * 1024;
		end++;
		break;
	default:
		goto bad;
	}
	if (toupper((unsigned char)*end) == 'B')
		end++;
	if (*end != '\0')
		goto bad;
	if (v != 0 && mult > UINT64_MAX / v)
		goto big;
	*out = v * mult;
	return 0;
bad:
	errno = EINVAL;
	return -1;
big:
	errno = ERANGE;
	return -1;
}

/* conf_parse_duration - "90", "90s", "15m", "4h", "2d" into seconds */
int
conf_parse_duration(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		goto big;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		goto bad;
	}
	if (*end != '\0' && end[1] != '\0')
		goto bad;
	if (v != 0 && mult > UINT64_MAX / v)
		goto big;
	*out = v * mult;
	return 0;
bad:
	errno = EINVAL;
	return -1;
big:
	errno = ERANGE;
	return -1;
}

/* conf_parse_bool - yes/no, true/false, on/off, 1/0 */
int
conf_parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") ||
	    !strcasecmp(s, "on") || !strcmp(s, "1"))
		*out = true;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") ||
	    !strcasecmp(s, "off") || !strcmp(s, "0"))
		*out = false;
	else
		return -1;
	return 0;
}
