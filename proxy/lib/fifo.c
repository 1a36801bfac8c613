/* fifo.c - intrusive FIFO list (see fifo.h). */
#include "fifo.h"

void
fifo_push(struct fifo *q, struct fifo_node *node)
{
	node->prev = q->tail;
	node->next = NULL;
	if (q->tail != NULL)
		q->tail->next = node;
	else
		q->head = node;
	q->tail = node;
	node->linked = true;
	q->n++;
}

void
fifo_remove(struct fifo *q, struct fifo_node *node)
{
	if (!node->linked)
		return;
	if (node->prev != NULL)
		node->prev->next = node->next;
	else
		q->head = node->next;
	if (node->next != NULL)
		node->next->prev = node->prev;
	else
		q->tail = node->prev;
	node->prev = node->next = NULL;
	node->linked = false;
	q->n--;
}
