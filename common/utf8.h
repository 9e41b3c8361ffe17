/*
 * utf8 - the one UTF-8 check of the code base.
 *
 * Strict RFC 3629: no overlong forms (lead bytes C0, C1, and E0 or F0 with
 * too small a value), no surrogates (U+D800-U+DFFF), nothing above
 * U+10FFFF (lead bytes F5-FF, or F4 with too large a value), and every
 * sequence complete. Every module that asks "is this UTF-8" or "how long
 * is this character" asks here, so they all agree on what a charset label
 * of utf-8, an SMTPUTF8 address and an unlabelled 8-bit text may hold.
 *
 * utf8_char_len() measures one character, for code that walks text a
 * character at a time; utf8_valid() checks a whole text;
 * utf8_valid_prefix() says how much of a text is whole valid characters
 * (a fast path: copy that much as it is); struct
 * utf8_check checks a stream fed in chunks that may end inside a
 * character. Nothing here allocates.
 */
#ifndef IMC_UTF8_H
#define IMC_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A streaming check; its fields are the check's own. */
struct utf8_check {
	uint32_t	 cp;		/* the character being read */
	uint32_t	 min;		/* its smallest value (overlongs) */
	unsigned	 need;		/* continuation bytes still to come */
	bool		 ok;		/* no invalid byte seen so far */
};

size_t	utf8_char_len(const void *, size_t);
size_t	utf8_valid_prefix(const void *, size_t);
bool	utf8_valid(const void *, size_t);
void	utf8_check_init(struct utf8_check *);
void	utf8_check_feed(struct utf8_check *, const void *, size_t);
bool	utf8_check_ok(const struct utf8_check *);

#endif
