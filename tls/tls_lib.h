/* tls_lib.h - the one place the wolfSSL TLS API (ssl.h, error-ssl.h) is
 * included; tls/ and proxy/ reach it through tls.h or tls_x509.h. It starts
 * with proxy/lib/wolfssl_check.h, which brings options.h first and refuses
 * headers that do not match the library linked. The other wolfSSL headers
 * (wolfcrypt: coding, hash, hmac, sha256) are included where used, after it:
 * in tls/tls_x509.c, tls/tls_client.c and proxy/inbound.c through this file,
 * in proxy/lib/tsig.c (below tls/) straight after wolfssl_check.h. */
#ifndef XP_TLS_LIB_H
#define XP_TLS_LIB_H

#if __has_include("proxy/lib/wolfssl_check.h")
#include "proxy/lib/wolfssl_check.h"
#else
#include <wolfssl/options.h>
#endif
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>

#endif
