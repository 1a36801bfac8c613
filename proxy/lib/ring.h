/* ring.h - power-of-two byte ring: the relay buffer between two sockets.
 * No I/O and no allocation after ring_init; the owner reads and writes spans. */
#ifndef XP_RING_H
#define XP_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct ring {
	uint8_t *data;
	size_t size;      /* power of two */
	size_t head;      /* total bytes ever consumed (reader position) */
	size_t tail;      /* total bytes ever produced (writer position) */
};

/* size must be a power of two; returns 0 or -1 (ENOMEM). */
int ring_init(struct ring *r, size_t size);
void ring_cleanup(struct ring *r);

static inline size_t ring_len(const struct ring *r) { return r->tail - r->head; }
static inline size_t ring_room(const struct ring *r) { return r->size - ring_len(r); }
static inline bool ring_allocated(const struct ring *r) { return r->data != NULL; }

/* Free space as up to two spans (for readv/recv); returns the span count (0-2). */
int ring_write_iov(const struct ring *r, struct iovec iov[2]);
/* Buffered data as up to two spans (for writev/send); returns the span count. */
int ring_read_iov(const struct ring *r, struct iovec iov[2]);

/* First contiguous run of buffered data, at most max bytes. */
const uint8_t *ring_read_ptr(const struct ring *r, size_t max, size_t *len);

void ring_commit_write(struct ring *r, size_t n);   /* n <= ring_room */
void ring_consume(struct ring *r, size_t n);        /* n <= ring_len */
/* Takes back the last n octets written (n <= ring_len): they were never
 * read. */
void ring_unwrite(struct ring *r, size_t n);

/* Copies up to n bytes starting at offset off from the head, without consuming.
 * Returns bytes copied. */
size_t ring_peek(const struct ring *r, size_t off, uint8_t *out, size_t n);

/* Appends n bytes (must fit). */
void ring_append(struct ring *r, const uint8_t *src, size_t n);

#endif
