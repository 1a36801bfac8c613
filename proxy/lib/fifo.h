/* fifo.h - an intrusive first-in first-out list with O(1) removal from the
 * middle: the pending TLS handshakes in arrival order, so that at
 * max-handshakes the oldest can be closed to make room (issue 7). */
#ifndef XP_FIFO_H
#define XP_FIFO_H

#include <stdbool.h>
#include <stddef.h>

struct fifo_node {
	struct fifo_node *prev, *next;
	bool linked;
};

struct fifo {
	struct fifo_node *head, *tail;   /* oldest, newest */
	unsigned n;
};

/* Appends node as the newest; it must not be linked. */
void fifo_push(struct fifo *q, struct fifo_node *node);

/* Takes node out wherever it is; nothing happens if it is not linked. */
void fifo_remove(struct fifo *q, struct fifo_node *node);

/* The oldest node, or NULL. */
static inline struct fifo_node *fifo_oldest(const struct fifo *q) { return q->head; }

/* How many must go so that one more fits under cap (0 when it fits). */
static inline unsigned
fifo_over(const struct fifo *q, unsigned cap)
{
	return q->n >= cap ? q->n - cap + 1 : 0;
}

#endif
