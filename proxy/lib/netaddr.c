/* netaddr.c - socket addresses ("addr:port") and CIDR prefixes, IPv4 and IPv6.
 *
 * Pure text <-> binary conversion with inet_pton/inet_ntop: nothing here ever
 * resolves a name. IPv6 zone ids ("fe80::1%eth0") are rejected because
 * inet_pton rejects them.
 *
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is treated as IPv4 everywhere a policy
 * decision is made: a dual-stack socket reports IPv4 clients that way, and an
 * ACL written as "192.0.2.0/24" must still match them. For the same reason a
 * mapped prefix ("::ffff:192.0.2.0/120") is stored as the IPv4 prefix
 * ("192.0.2.0/24"). */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define HOST_TEXT_MAX 64 /* longer than any inet_pton-able address */

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Decimal port 1..65535: digits only, no sign, no spaces. */
static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 5)
			return -1;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Copies [s, s+n) into a NUL-terminated buffer; -1 if it does not fit. */
static int
copy_host(char dst[HOST_TEXT_MAX], const char *s, size_t n)
{
	if (n == 0 || n >= HOST_TEXT_MAX)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static void
fill_v4(struct netaddr *out, const struct in_addr *a, uint16_t port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr = *a;
	memset(out, 0, sizeof(*out));
	memcpy(&out->ss, &sin, sizeof(sin));
	out->len = sizeof(sin);
}

static void
fill_v6(struct netaddr *out, const struct in6_addr *a, uint16_t port)
{
	struct sockaddr_in6 sin6;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	sin6.sin6_addr = *a;
	memset(out, 0, sizeof(*out));
	memcpy(&out->ss, &sin6, sizeof(sin6));
	out->len = sizeof(sin6);
}

int
netaddr_parse(const char *text, uint16_t default_port, struct netaddr *out)
{
	char host[HOST_TEXT_MAX];
	struct in_addr a4;
	struct in6_addr a6;
	uint16_t port = default_port;

	if (text == NULL || text[0] == '\0')
		return -1;
	if (text[0] == '[') {
		/* "[v6]:port", or "[v6]" with a default port */
		const char *close = strchr(text, ']');
		if (close == NULL || copy_host(host, text + 1, (size_t)(close - text - 1)) < 0)
			return -1;
		if (close[1] == ':') {
			if (parse_port(close + 2, &port) < 0)
				return -1;
		} else if (close[1] != '\0' || default_port == 0) {
			return -1;
		}
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -1;
		fill_v6(out, &a6, port);
		return 0;
	}
	const char *colon = strchr(text, ':');
	if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		/* exactly one colon: "v4:port" */
		if (copy_host(host, text, (size_t)(colon - text)) < 0 ||
		    parse_port(colon + 1, &port) < 0 || inet_pton(AF_INET, host, &a4) != 1)
			return -1;
		fill_v4(out, &a4, port);
		return 0;
	}
	/* bare address: only with a default port */
	if (default_port == 0 || copy_host(host, text, strlen(text)) < 0)
		return -1;
	if (colon == NULL) {
		if (inet_pton(AF_INET, host, &a4) != 1)
			return -1;
		fill_v4(out, &a4, port);
	} else {
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -1;
		fill_v6(out, &a6, port);
	}
	return 0;
}

/* Writes the bare address; returns the port in host order, or -1 if the
 * family is not IPv4/IPv6. */
static int
format_host(const struct sockaddr *sa, char *out, size_t size)
{
	if (sa != NULL && sa->sa_family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof(sin));
		if (inet_ntop(AF_INET, &sin.sin_addr, out, (socklen_t)size) == NULL)
			return -1;
		return ntohs(sin.sin_port);
	}
	if (sa != NULL && sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof(sin6));
		if (inet_ntop(AF_INET6, &sin6.sin6_addr, out, (socklen_t)size) == NULL)
			return -1;
		return ntohs(sin6.sin6_port);
	}
	return -1;
}

void
netaddr_format(const struct sockaddr *sa, char out[NETADDR_TEXT_MAX])
{
	char host[INET6_ADDRSTRLEN];
	int port = format_host(sa, host, sizeof(host));
	if (port < 0)
		snprintf(out, NETADDR_TEXT_MAX, "(unknown address)");
	else
		snprintf(out, NETADDR_TEXT_MAX, "%s#%d", host, port);
}

void
netaddr_format_hostport(const struct sockaddr *sa, char out[NETADDR_TEXT_MAX])
{
	char host[INET6_ADDRSTRLEN];
	int port = format_host(sa, host, sizeof(host));
	if (port < 0)
		snprintf(out, NETADDR_TEXT_MAX, "(unknown address)");
	else if (sa->sa_family == AF_INET6)
		snprintf(out, NETADDR_TEXT_MAX, "[%s]:%d", host, port);
	else
		snprintf(out, NETADDR_TEXT_MAX, "%s:%d", host, port);
}

/* The address as IPv4 (4 octets, also for ::ffff:a.b.c.d) or IPv6 (16).
 * Returns AF_INET, AF_INET6 or -1. */
static int
sockaddr_bytes(const struct sockaddr *sa, uint8_t bytes[16])
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof(sin));
		memcpy(bytes, &sin.sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof(sin6));
		if (memcmp(sin6.sin6_addr.s6_addr, v4mapped_prefix, 12) == 0) {
			memcpy(bytes, sin6.sin6_addr.s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(bytes, sin6.sin6_addr.s6_addr, 16);
		return AF_INET6;
	}
	return -1;
}

bool
netaddr_is_loopback(const struct sockaddr *sa)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	uint8_t b[16];
	switch (sockaddr_bytes(sa, b)) {
	case AF_INET:
		return b[0] == 127;
	case AF_INET6:
		return memcmp(b, v6_loopback, 16) == 0;
	default:
		return false;
	}
}

/* Do the first `bits` bits of a and b agree? */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

int
cidr_parse(const char *text, struct cidr *out)
{
	char host[HOST_TEXT_MAX];
	const char *slash;
	unsigned prefix = 0;
	bool has_prefix;
	struct cidr c;

	if (text == NULL)
		return -1;
	slash = strchr(text, '/');
	has_prefix = slash != NULL;
	if (copy_host(host, text, has_prefix ? (size_t)(slash - text) : strlen(text)) < 0)
		return -1;
	if (has_prefix) {
		size_t n = 0;
		for (const char *p = slash + 1; *p != '\0'; p++, n++) {
			if (*p < '0' || *p > '9' || n >= 3)
				return -1;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (n == 0)
			return -1;
	}
	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		if (!has_prefix)
			prefix = 32;
		if (prefix > 32)
			return -1;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		if (!has_prefix)
			prefix = 128;
		if (prefix > 128)
			return -1;
		if (prefix >= 96 && memcmp(c.addr, v4mapped_prefix, 12) == 0) {
			/* ::ffff:a.b.c.d/N is the IPv4 prefix a.b.c.d/(N-96) */
			memmove(c.addr, c.addr + 12, 4);
			memset(c.addr + 4, 0, 12);
			c.family = AF_INET;
			prefix -= 96;
		}
	} else {
		return -1;
	}
	c.prefix = (uint8_t)prefix;
	/* host bits beyond the prefix must be zero */
	for (unsigned bit = prefix; bit < 128; bit++)
		if (c.addr[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	*out = c;
	return 0;
}

bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	uint8_t b[16];
	int family = sockaddr_bytes(sa, b);
	if (family < 0 || family != c->family)
		return false;
	return prefix_equal(c->addr, b, c->prefix);
}

void
cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX])
{
	char host[INET6_ADDRSTRLEN];
	if ((c->family != AF_INET && c->family != AF_INET6) ||
	    inet_ntop(c->family, c->addr, host, sizeof(host)) == NULL) {
		snprintf(out, CIDR_TEXT_MAX, "(unknown prefix)");
		return;
	}
	snprintf(out, CIDR_TEXT_MAX, "%s/%u", host, (unsigned)c->prefix);
}

void
netaddr_group(const struct sockaddr *sa, unsigned v6_prefix, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *o = (struct sockaddr_in *)out;
		o->sin_family = AF_INET;
		o->sin_addr = ((const struct sockaddr_in *)sa)->sin_addr;
		return;
	}
	if (sa->sa_family != AF_INET6)
		return;
	struct sockaddr_in6 *o = (struct sockaddr_in6 *)out;
	o->sin6_family = AF_INET6;
	o->sin6_addr = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	uint8_t *b = o->sin6_addr.s6_addr;
	if (memcmp(b, v4mapped_prefix, 12) == 0 || v6_prefix >= 128)
		return;
	for (unsigned bit = v6_prefix; bit < 128; bit++)
		b[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
}
