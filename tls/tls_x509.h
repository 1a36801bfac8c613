/* tls_x509.h - certificate helpers shared by the server side (client
 * certificates, tls.c) and the client side (the primary's certificate,
 * tls_client.c): the leaf's SANs in certificate order, its SPKI pin
 * (RFC 7469) and the parser of configured pins, RFC 6125 DNS-ID matching, and names made printable for one-line
 * log reasons. No policy here: callers decide what a match means. */
#ifndef XP_TLS_X509_H
#define XP_TLS_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_lib.h"

#define TLS_PIN_LEN 32          /* SHA-256 */
#define TLS_PIN_B64_LEN 44      /* base64 of 32 bytes, with one '=' */

/* Calls fn for each DNS SAN (type ASN_DNS_TYPE) and IP SAN (ASN_IP_TYPE, 4 or
 * 16 bytes when well formed) of x, in certificate order, with the raw bytes:
 * not NUL-terminated, and a DNS SAN may hold any byte (check before use).
 * Empty entries and other name types are skipped. */
typedef void (*tls_x509_san_fn)(void *arg, int type, const char *data, size_t len);
void tls_x509_each_san(WOLFSSL_X509 *x, tls_x509_san_fn fn, void *arg);

/* RFC 6125 §6.4 DNS-ID match of pattern pat (plen bytes) against name:
 * case-insensitive, one trailing dot ignored on each side; a '*' only as the
 * whole leftmost label of pat, matching exactly one label, and only under at
 * least two more labels ("*.net" never matches). */
bool tls_x509_dns_id_match(const char *pat, size_t plen, const char *name);

/* base64(SHA-256(SubjectPublicKeyInfo DER)), the format of RFC 7469 and kdig
 * +tls-pin, into raw and b64 (NUL-terminated). Returns 0, or -1 with
 * "(unreadable)" in b64. */
int tls_x509_spki_pin(WOLFSSL_X509 *x, uint8_t raw[TLS_PIN_LEN], char b64[64]);

/* Parses a pin, "BASE64" (44 chars, 32 bytes, canonical spelling only),
 * into out; -1 if invalid. */
int tls_pin_parse(const char *b64, uint8_t out[32]);

/* "CN=..." when the name has a CN, else the whole one-line name, else
 * "(none)"; printable (see tls_x509_printable). */
void tls_x509_name_text(WOLFSSL_X509_NAME *name, char *out, size_t cap);

/* Copies certificate-supplied bytes printable-only ('?' for anything else, a
 * space allowed after the first byte): a reason stays one log line. */
void tls_x509_printable(char *out, size_t cap, const char *in, size_t len);

#endif
