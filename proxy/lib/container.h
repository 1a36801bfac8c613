/* container.h - container_of: the object an embedded member belongs to
 * (intrusive lists: a struct fifo_node inside a connection). */
#ifndef XP_CONTAINER_H
#define XP_CONTAINER_H

#include <stddef.h>

/* The TYPE whose MEMBER ptr points at; the cast goes through void * so
 * alignment warnings stay quiet (MEMBER sits at its offset in a TYPE). */
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
