/* ring.c - power-of-two byte ring. Positions are free-running counters; the
 * index into data is the counter masked by size - 1. */
#include "ring.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int
ring_init(struct ring *r, size_t size)
{
	assert(size > 0 && (size & (size - 1)) == 0);
	r->data = malloc(size);
	if (r->data == NULL)
		return -1;
	r->size = size;
	r->head = r->tail = 0;
	return 0;
}

void
ring_cleanup(struct ring *r)
{
	free(r->data);
	r->data = NULL;
	r->size = r->head = r->tail = 0;
}

static int
spans(const struct ring *r, size_t start, size_t len, struct iovec iov[2])
{
	if (len == 0)
		return 0;
	size_t off = start & (r->size - 1);
	size_t first = r->size - off;
	iov[0].iov_base = r->data + off;
	if (first >= len) {
		iov[0].iov_len = len;
		return 1;
	}
	iov[0].iov_len = first;
	iov[1].iov_base = r->data;
	iov[1].iov_len = len - first;
	return 2;
}

int
ring_write_iov(const struct ring *r, struct iovec iov[2])
{
	return spans(r, r->tail, ring_room(r), iov);
}

int
ring_read_iov(const struct ring *r, struct iovec iov[2])
{
	return spans(r, r->head, ring_len(r), iov);
}

const uint8_t *
ring_read_ptr(const struct ring *r, size_t max, size_t *len)
{
	struct iovec iov[2];
	if (spans(r, r->head, ring_len(r), iov) == 0) {
		*len = 0;
		return NULL;
	}
	*len = iov[0].iov_len < max ? iov[0].iov_len : max;
	return iov[0].iov_base;
}

void
ring_commit_write(struct ring *r, size_t n)
{
	assert(n <= ring_room(r));
	r->tail += n;
}

void
ring_consume(struct ring *r, size_t n)
{
	assert(n <= ring_len(r));
	r->head += n;
	if (r->head == r->tail)
		r->head = r->tail = 0;   /* empty: restart at offset 0 for contiguous spans */
}

void
ring_unwrite(struct ring *r, size_t n)
{
	assert(n <= ring_len(r));
	r->tail -= n;
	if (r->head == r->tail)
		r->head = r->tail = 0;
}

size_t
ring_peek(const struct ring *r, size_t off, uint8_t *out, size_t n)
{
	size_t len = ring_len(r);
	if (off >= len)
		return 0;
	if (n > len - off)
		n = len - off;
	struct iovec iov[2];
	int cnt = spans(r, r->head + off, n, iov);
	size_t done = 0;
	for (int i = 0; i < cnt; i++) {
		memcpy(out + done, iov[i].iov_base, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	return done;
}

void
ring_append(struct ring *r, const uint8_t *src, size_t n)
{
	assert(n <= ring_room(r));
	struct iovec iov[2];
	int cnt = spans(r, r->tail, n, iov);
	size_t done = 0;
	for (int i = 0; i < cnt; i++) {
		memcpy(iov[i].iov_base, src + done, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	r->tail += n;
}
