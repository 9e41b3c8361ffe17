/*
 * hex - the one hexadecimal digit helper of the code base.
 *
 * Every "=XX" (quoted-printable, RFC 2047 Q), "%XX" (RFC 2231 values, the
 * queue envelope) and "+XX" (xtext) reads its digits with hex_value(),
 * which takes either case as the decoders have always been tolerant, and
 * writes them with hex_upper(), upper case as RFC 2045 requires for
 * quoted-printable and the others expect. Inline: the decoders call it for
 * every escaped byte. printf's %02X stays where a line is formatted anyway.
 */
#ifndef IMC_HEX_H
#define IMC_HEX_H

/* hex_value - the value of a hex digit of either case, or -1 */
static inline int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* hex_upper - the upper-case digit of the low four bits of v */
static inline char
hex_upper(unsigned v)
{
	return "0123456789ABCDEF"[v & 15];
}

#endif
