/*
 * conf - the generic part of configuration files.
 *
 * Syntax: "key = value" lines, "#" comments (a whole line, or after
 * whitespace), blank lines, and "[kind NAME]" section headers. conf_parse_file
 * calls the entry callback for every key with the section it sits in (kind
 * and name NULL before the first section header); the
 * callback says whether the key and value are acceptable. Any error stops
 * the parse and leaves "FILE:LINE: message" in err. The value parsers below
 * return 0, or -1 for a malformed value: errno ERANGE when the number
 * does not fit in 64 bits (by itself or times its unit), else EINVAL. They
 * know no ranges; imcdata-layout/config.c bounds each key.
 */
#ifndef IMC_CONF_H
#define IMC_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/* Returns 0, or -1 with a message (without file and line) in err. */
typedef int conf_entry_fn(void *arg, const char *kind, const char *name,
    const char *key, const char *value, struct buf *err);
/* Called for every section header; same contract. */
typedef int conf_section_fn(void *arg, const char *kind, const char *name,
    struct buf *err);

int	conf_parse_file(const char *path, conf_section_fn *, conf_entry_fn *,
	    void *arg, struct buf *err);
int	conf_parse_size(const char *, uint64_t *);
int	conf_parse_duration(const char *, uint64_t *seconds);
int	conf_parse_bool(const char *, bool *);

#endif
