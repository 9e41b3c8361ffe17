/*
 * cidr - IPv4 and IPv6 networks in CIDR notation, and whether an address
 * falls in one of a list.
 *
 * cidr_parse reads "192.0.2.0/24", "2001:db8::/32" or a bare address (a
 * /32 or /128); host bits set below the prefix are refused, so a typo
 * ("10.1.2.3/8") cannot silently widen or narrow a trusted network.
 * cidr_match compares an address (AF_INET or AF_INET6; an IPv4-mapped
 * IPv6 address counts as its IPv4 address, as a dual-stack socket reports
 * an IPv4 client). Nothing here allocates except cidr_parse_list.
 */
#ifndef IMC_CIDR_H
#define IMC_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"

struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* network bytes, 4 used for AF_INET */
	unsigned	 prefix;
};

int	cidr_parse(const char *text, struct cidr *out, struct buf *err);
/* A comma or space separated list; *out the caller's to free. */
int	cidr_parse_list(const char *text, struct cidr **out, size_t *n,
	    struct buf *err);
bool	cidr_match(const struct cidr *, const struct sockaddr *);
bool	cidr_match_list(const struct cidr *, size_t n, const struct sockaddr *);

#endif
