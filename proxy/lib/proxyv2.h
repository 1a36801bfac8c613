/* proxyv2.h - the PROXY protocol version 2 header (HAProxy's
 * proxy-protocol.txt, section 2.2) that tells a backend the real client
 * address behind the proxy, and optionally the TLS facts, since the legacy
 * server otherwise sees only the proxy's address (PRX-03).
 *
 * Layout, all integers in network byte order:
 *   12 bytes   signature \r\n\r\n\0\r\nQUIT\n
 *   1 byte     0x21: version 2, command PROXY
 *   1 byte     0x11 TCP over IPv4, or 0x21 TCP over IPv6
 *   2 bytes    length of what follows (addresses + TLVs)
 *   12 / 36    source address, destination address, source port, dest port
 *   TLVs       type (1), length (2), value:
 *                0x02 PP2_TYPE_AUTHORITY: the SNI host name
 *                0x20 PP2_TYPE_SSL: client (1) flags, verify (4), sub-TLVs
 *                     0x21 PP2_SUBTYPE_SSL_VERSION ("TLSv1.3")
 *                     0x22 PP2_SUBTYPE_SSL_CN (client certificate's CN) */
#ifndef XP_PROXYV2_H
#define XP_PROXYV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXYV2_SIG_LEN 12
#define PROXYV2_HDR_LEN 16                /* signature, ver/cmd, family, length */
#define PROXYV2_V4_LEN (PROXYV2_HDR_LEN + 12)   /* 28: a TCP4 header, no TLVs */
#define PROXYV2_V6_LEN (PROXYV2_HDR_LEN + 36)   /* 52: a TCP6 header, no TLVs */

#define PP2_VERSION_PROXY 0x21
#define PP2_FAM_TCP4 0x11
#define PP2_FAM_TCP6 0x21
#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22
#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_CLIENT_CERT_SESS 0x04

extern const uint8_t proxyv2_signature[PROXYV2_SIG_LEN];

/* The TLVs to add; all optional. */
struct proxyv2_tls {
	const char *sni;                /* PP2_TYPE_AUTHORITY; NULL = none */
	bool ssl;                       /* add PP2_TYPE_SSL (the client used TLS) */
	bool cert_verified;             /* a client certificate was presented and verified */
	const char *version;            /* PP2_SUBTYPE_SSL_VERSION; NULL = none */
	const char *cn;                 /* PP2_SUBTYPE_SSL_CN; NULL = none */
};

/* Writes a PROXY (command 0x21) header for a TCP connection from src to dst
 * into out, with the TLVs of tls (NULL = none). Families: both IPv4 (plain
 * or IPv4-mapped IPv6, as a dual-stack socket reports them) give TCP over
 * IPv4; otherwise both IPv6, an IPv4 one written as IPv4-mapped, give TCP
 * over IPv6. PP2_TYPE_SSL carries client = PP2_CLIENT_SSL, plus
 * PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS when cert_verified, and
 * verify = 0 when cert_verified, else 1 (the spec: zero only for a
 * presented and verified certificate). Returns the header's length, or -1
 * if cap is too small, an address is neither IPv4 nor IPv6, or the TLVs
 * would pass the 16-bit length. */
int proxyv2_encode(uint8_t *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst,
                   const struct proxyv2_tls *tls);

/* proxyv2_encode with PP2_TYPE_AUTHORITY = sni (NULL = none), and
 * PP2_TYPE_SSL when tls_version is set or client_cert_verified (version
 * sub-TLV when set; no CN). With sni and tls_version NULL and
 * client_cert_verified false: no TLVs. */
int proxyv2_build(uint8_t *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst,
                  const char *sni, const char *tls_version, bool client_cert_verified);

#endif
