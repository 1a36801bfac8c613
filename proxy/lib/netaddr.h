/* netaddr.h - socket addresses ("addr:port") and CIDR prefixes, IPv4 and IPv6. */
#ifndef XP_NETADDR_H
#define XP_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct netaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Accepts "192.0.2.1:53", "[2001:db8::1]:853", and, when default_port is
 * nonzero, a bare "192.0.2.1" or "2001:db8::1". Port 0 is rejected.
 * Returns 0, or -1 on any syntax error (nothing is resolved: no DNS). */
int netaddr_parse(const char *text, uint16_t default_port, struct netaddr *out);

/* "192.0.2.1#53" or "2001:db8::1#853" (BIND/Knot log style). */
#define NETADDR_TEXT_MAX 64
void netaddr_format(const struct sockaddr *sa, char out[NETADDR_TEXT_MAX]);

/* "192.0.2.1:53" or "[2001:db8::1]:853": the inverse of netaddr_parse (used
 * where the text must be parsed again, e.g. conf_print). */
void netaddr_format_hostport(const struct sockaddr *sa, char out[NETADDR_TEXT_MAX]);

/* True if the address is 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
bool netaddr_is_loopback(const struct sockaddr *sa);

/* The key a client is counted under for per-client caps: an IPv6 address
 * with every bit past v6_prefix cleared (one site's /64 is one client), an
 * IPv4 address (plain or mapped) as it is; the port is always zero. */
void netaddr_group(const struct sockaddr *sa, unsigned v6_prefix, struct sockaddr_storage *out);

struct cidr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t prefix;      /* 0..32 or 0..128 */
	uint8_t addr[16];    /* network byte order; bits past prefix are zero */
};

/* "10.0.0.0/8", "192.0.2.7" (= /32), "2001:db8::/32", "::1" (= /128).
 * Host bits set beyond the prefix are an error (catches typos).
 * An IPv4-mapped prefix (::ffff:192.0.2.0/120, prefix >= 96) is stored as
 * the IPv4 prefix (192.0.2.0/24), since cidr_match treats mapped addresses as IPv4.
 * Returns 0 or -1. */
int cidr_parse(const char *text, struct cidr *out);

/* Does the prefix contain the address? An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) matches IPv4 prefixes, and never IPv6 ones (so ::/0 means
 * "all IPv6 clients"; use 0.0.0.0/0 ::/0 for everyone). */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);

/* "10.0.0.0/8" */
#define CIDR_TEXT_MAX 64
void cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX]);

#endif
