/* tls_lib.h - the one place wolfSSL headers are included: options.h must come
 * first, and headers must match the library linked (see wolfssl_check.h). */
#ifndef XP_TLS_LIB_H
#define XP_TLS_LIB_H

#if __has_include("wolfssl_check.h")
#include "proxy/lib/wolfssl_check.h"
#else
#include <wolfssl/options.h>
#endif
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>

#endif
