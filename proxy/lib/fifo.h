/* fifo.h - the intrusive list of the tree: doubly linked, in arrival order,
 * with O(1) push, O(1) removal from anywhere, the oldest at hand and a count.
 * The owner embeds one struct fifo_node per list its object can be on and
 * gets the object back from the node with offsetof. Holds the live relays of
 * each direction (walked at reload and shutdown), the inbound TLS handshakes
 * and the sessions not yet admitted, where at a cap the oldest is closed to
 * make room (fifo_over). */
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
