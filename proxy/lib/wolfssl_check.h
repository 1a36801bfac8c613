/*
 * wolfssl_check.h - include this FIRST in every source file that uses wolfSSL,
 * before any other <wolfssl/...> header.
 *
 * wolfSSL's feature macros live only in <wolfssl/options.h> (the pkg-config Cflags carry
 * just -I), and struct layouts depend on them: headers from one build used with the
 * library of another corrupt memory (research doc section 7, pitfall 1). This header
 * pulls in options.h and refuses to compile when the headers found do not belong to the
 * build mk/wolfssl.mk selected:
 *   - local build  (make, WOLFSSL=local): -DXOT_LOCAL_WOLFSSL, options.h has WOLFSSL_AESNI
 *   - system build (make WOLFSSL=system): Debian's libwolfssl-dev, no WOLFSSL_AESNI
 */
#ifndef XOT_WOLFSSL_CHECK_H
#define XOT_WOLFSSL_CHECK_H

/* settings.h already seen without options.h: some wolfSSL header came first. */
#if defined(WOLF_CRYPT_SETTINGS_H) && !defined(WOLFSSL_OPTIONS_H)
#error "a wolfSSL header was included before proxy/lib/wolfssl_check.h; include wolfssl_check.h first"
#endif

#include <wolfssl/options.h>

#if defined(XOT_LOCAL_WOLFSSL) && !defined(WOLFSSL_AESNI)
#error "local wolfSSL selected but system headers found (options.h mismatch)"
#elif defined(XOT_LOCAL_WOLFSSL) && defined(OPENSSL_ALL)
#error "local wolfSSL selected but options.h defines OPENSSL_ALL (Debian's build): options.h mismatch"
#elif !defined(XOT_LOCAL_WOLFSSL) && defined(WOLFSSL_AESNI)
#error "system wolfSSL selected but the project-local headers were found (options.h mismatch); build with mk/wolfssl.mk's WOLF_CFLAGS"
#endif

#if !defined(WOLFSSL_TLS13) || !defined(HAVE_ALPN) || !defined(HAVE_SNI) || \
    !defined(HAVE_SESSION_TICKET) || !defined(OPENSSL_EXTRA)
#error "this wolfSSL lacks a feature xotproxy needs: TLS 1.3, ALPN, SNI, session tickets and OPENSSL_EXTRA (--enable-opensslextra) are all required"
#endif

#endif /* XOT_WOLFSSL_CHECK_H */
