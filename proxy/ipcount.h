/* ipcount.h - live connections per client address, for the per-IP cap
 * (RFC 7766 §6.2.2). Only addresses with connections have an entry, so the
 * table never holds more entries than there are connections. */
#ifndef XP_IPCOUNT_H
#define XP_IPCOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define IPCOUNT_BUCKETS 4096

struct ipcount_entry;

struct ipcount {
	struct ipcount_entry *buckets[IPCOUNT_BUCKETS];
	unsigned entries;
};

/* Counts one more connection from sa unless that would exceed limit
 * (0 = no limit). Returns true if counted, false if over the limit or out
 * of memory (the caller then refuses the connection). */
bool ipcount_take(struct ipcount *t, const struct sockaddr *sa, unsigned limit);

/* One connection from sa has gone. */
void ipcount_release(struct ipcount *t, const struct sockaddr *sa);

unsigned ipcount_get(const struct ipcount *t, const struct sockaddr *sa);

void ipcount_clear(struct ipcount *t);

#endif
