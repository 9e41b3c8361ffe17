/*
 * dsn - RFC 3461 parameter value syntax (see dsn.h).
 */
#include "dsn.h"

#include <string.h>
#include <strings.h>

#include "hex.h"

bool
dsn_xtext_ok(const char *v, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 33 || c > 126 || c == '=')
			return false;
		if (c == '+' && (i + 2 >= len ||
		    hex_value((unsigned char)v[i + 1]) < 0 ||
		    hex_value((unsigned char)v[i + 2]) < 0))
			return false;
	}
	return true;
}

bool
dsn_notify_ok(const char *v, size_t len)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY" };
	size_t i = 0, w, k;
	unsigned seen = 0;

	if (len == 5 && strncasecmp(v, "NEVER", 5) == 0)
		return true;
	if (len == 0 || v[len - 1] == ',')
		return false;
	while (i < len) {
		for (w = 0; i + w < len && v[i + w] != ','; w++)
			;
		for (k = 0; k < 3; k++)
			if (w == strlen(words[k]) &&
			    strncasecmp(v + i, words[k], w) == 0)
				break;
		if (k == 3 || (seen & (1u << k)))
			return false;
		seen |= 1u << k;
		i += w + 1;
	}
	return true;
}
