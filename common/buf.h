/*
 * buf - one growable byte buffer.
 *
 * A buf holds len bytes of data and is always NUL-terminated after the data,
 * so text can be handed to C string functions; binary data (NUL bytes) is
 * allowed and len is the truth.
 *
 * Out of memory is fatal (xalloc: one log line, exit 71), so a buf call
 * never fails for want of memory. The int results stay for one case: a
 * size that cannot exist (len + extra past SIZE_MAX: -1 with errno ENOMEM,
 * checked before any growth; or text longer than INT_MAX, which vsnprintf
 * refuses with EOVERFLOW), the buffer then unchanged. No input reaches it,
 * so callers may ignore the result; those that check it stay correct.
 * buf_steal never returns NULL.
 */
#ifndef IMC_BUF_H
#define IMC_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;	/* NULL until the first append */
	size_t	 len;
	size_t	 cap;
};

void	buf_init(struct buf *);
void	buf_fini(struct buf *);
void	buf_reset(struct buf *);
int	buf_reserve(struct buf *, size_t extra);
int	buf_append(struct buf *, const void *, size_t);
int	buf_puts(struct buf *, const char *);
int	buf_putc(struct buf *, int);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	buf_consume(struct buf *, size_t n);
char	*buf_steal(struct buf *);
const char *buf_cstr(const struct buf *);

#endif
