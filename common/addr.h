/*
 * addr - RFC 5322 and RFC 5321 address parsing.
 *
 * addr_parse_list reads the value of an address header (To, Cc, Bcc, From,
 * Sender): an address-list with groups ("undisclosed-recipients:;"), display
 * names (atoms, quoted strings, RFC 2047 words left as they are), comments
 * (nested), quoted local parts, angle addresses with an obsolete source route,
 * domain literals, and folding whitespace (CR, LF, SP, HT). It returns each
 * address in canonical addr-spec form: the local part as a dot-atom when it
 * is one, else as a quoted-string with only the needed backslashes; "@"; the
 * domain as written. An address with no "@" (a bare local part) is returned
 * as just the local part: the caller qualifies it.
 *
 * addr_parse_path reads an envelope value, as in X-Sender:/X-Receiver: lines
 * of a Pickup file: "<addr>" possibly followed by ESMTP parameters
 * (ignored), a bare addr-spec, or a mailbox with a display name
 * ("Name" <addr>). "<>" gives "" (the null sender).
 *
 * Both return 0, or -1 with a short reason in err (no file or line) when the
 * text is not a valid address (list). Input is untrusted: lengths bound,
 * never NUL-terminated assumptions (a NUL byte is invalid), no recursion on
 * input depth without a limit. Results are the caller's to free with
 * addr_list_free / free.
 */
#ifndef IMC_ADDR_H
#define IMC_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct addr_list {
	char	**items;	/* canonical addr-specs, malloc'ed */
	size_t	  n;
	size_t	  cap;
};

void	addr_list_init(struct addr_list *);
void	addr_list_free(struct addr_list *);
void	addr_list_add(struct addr_list *, const char *);
int	addr_parse_list(const char *text, size_t len, struct addr_list *out,
	    struct buf *err);
int	addr_parse_path(const char *text, size_t len, char **out,
	    struct buf *err);
/* One address given as a command-line argument (sendmail's -f sender, a
 * recipient): read as addr_parse_path, after refusing any control byte
 * (below 0x20, or 0x7f), since the caller writes it on an envelope line
 * that a CR or LF would end. "" and "<>" give "" (the null sender). */
int	addr_parse_arg(const char *text, char **out, struct buf *err);
/* The domain part (after the last "@" outside quotes), or NULL. */
const char *addr_domain(const char *addr);

#endif
