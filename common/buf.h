/*
 * buf - one growable byte buffer.
 *
 * A buf holds len bytes of data and is always NUL-terminated after the data,
 * so text can be handed to C string functions; binary data (NUL bytes) is
 * allowed and len is the truth. Growth checks for size_t overflow first.
 * Out of memory: the functions return -1 and leave the buffer unchanged;
 * the daemon treats that as fatal (the queue is on disk, a restart is safe).
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
