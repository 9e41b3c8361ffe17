/*
 * cidr - networks in CIDR notation (see cidr.h).
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* cidr_parse - one network */
int
cidr_parse(const char *text, struct cidr *out, struct buf *err)
{
	char host[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(text, '/');
	size_t hl = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix;
	unsigned i, max;

	memset(out, 0, sizeof(*out));
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, text, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		goto bad;
	prefix = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			goto bad;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || prefix > max)
			goto bad;
	}
	out->prefix = (unsigned)prefix;
	for (i = out->prefix; i < max; i++)
		if (out->addr[i / 8] & (0x80u >> (i % 8))) {
			buf_printf(err, "\"%s\" has host bits set below /%u",
			    text, out->prefix);
			return -1;
		}
	return 0;
bad:
	buf_printf(err, "\"%s\" is not an address or network (192.0.2.0/24, "
	    "2001:db8::/32)", text);
	return -1;
}

/* cidr_parse_list - "10.0.0.0/8, ::1" */
int
cidr_parse_list(const char *text, struct cidr **out, size_t *n,
    struct buf *err)
{
	char *copy = xstrdup(text), *tok, *save = NULL;
	struct cidr *list = NULL;
	size_t cnt = 0;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		list = xreallocarray(list, cnt + 1, sizeof(*list));
		if (cidr_parse(tok, &list[cnt], err) == -1) {
			free(list);
			free(copy);
			return -1;
		}
		cnt++;
	}
	free(copy);
	*out = list;
	*n = cnt;
	return 0;
}

static bool
cidr_bits_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xffu << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* cidr_match - is the address in the network */
bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	const unsigned char *a;
	int family = sa->sa_family;

	if (family == AF_INET)
		a = (const unsigned char *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr.s6_addr;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			a += 12;
			family = AF_INET;
		}
	} else
		return false;
	return family == c->family && cidr_bits_equal(a, c->addr, c->prefix);
}

bool
cidr_match_list(const struct cidr *list, size_t n, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_match(&list[i], sa))
			return true;
	return false;
}
