/*
 * buf - one growable byte buffer (see buf.h).
 */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* buf_init - empty buffer, no allocation yet */
void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* buf_fini - release the storage */
void
buf_fini(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* buf_reset - forget the content, keep the storage */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* buf_reserve - make room for extra more bytes plus the terminating NUL */
int
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;

	if (extra > SIZE_MAX - b->len - 1) {
		errno = ENOMEM;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	b->data = xrealloc(b->data, ncap);
	b->cap = ncap;
	return 0;
}

/* buf_append - add n bytes */
int
buf_append(struct buf *b, const void *src, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, src, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* buf_puts - add a C string */
int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* buf_putc - add one byte */
int
buf_putc(struct buf *b, int c)
{
	char ch = (char)c;

	return buf_append(b, &ch, 1);
}

/* buf_vprintf - add formatted text */
int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	if (buf_reserve(b, (size_t)n) == -1)
		return -1;
	if (vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap) != n)
		return -1;
	b->len += (size_t)n;
	return 0;
}

/* buf_printf - add formatted text */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

/* buf_consume - drop n bytes from the front */
void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* buf_steal - hand the storage to the caller (never NULL) */
char *
buf_steal(struct buf *b)
{
	char *p;

	if (b->data == NULL) {
		(void)buf_reserve(b, 0);
		b->data[0] = '\0';
	}
	p = b->data;
	buf_init(b);
	return p;
}

/* buf_cstr - the content as a C string ("" when empty) */
const char *
buf_cstr(const struct buf *b)
{
	return b->data ? b->data : "";
}
