/* tls_x509.c - certificate helpers shared by both TLS sides (moved out of
 * tls_client.c unchanged in behaviour; see tls_x509.h). */
#include "tls_x509.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>

void
tls_x509_printable(char *out, size_t cap, const char *in, size_t len)
{
	size_t i;
	for (i = 0; i < len && i + 1 < cap; i++)
		out[i] = (in[i] > 0x20 && in[i] < 0x7f) || (in[i] == ' ' && i > 0) ? in[i] : '?';
	out[i] = '\0';
}

void
tls_x509_each_san(WOLFSSL_X509 *x, tls_x509_san_fn fn, void *arg)
{
	WOLFSSL_STACK *gns = wolfSSL_X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int n = gns ? wolfSSL_sk_GENERAL_NAME_num(gns) : 0;
	for (int i = n - 1; i >= 0; i--) {         /* wolfSSL keeps them last first */
		WOLFSSL_GENERAL_NAME *gn = wolfSSL_sk_GENERAL_NAME_value(gns, i);
		if (gn == NULL || (gn->type != ASN_DNS_TYPE && gn->type != ASN_IP_TYPE) || gn->d.ia5 == NULL)
			continue;
		const char *data = (const char *)wolfSSL_ASN1_STRING_data(gn->d.ia5);
		int len = wolfSSL_ASN1_STRING_length(gn->d.ia5);
		if (data == NULL || len <= 0)
			continue;
		fn(arg, gn->type, data, (size_t)len);
	}
	if (gns != NULL)
		wolfSSL_sk_GENERAL_NAME_pop_free(gns, wolfSSL_GENERAL_NAME_free);
}

bool
tls_x509_dns_id_match(const char *pat, size_t plen, const char *name)
{
	size_t nlen = strlen(name);
	if (plen > 0 && pat[plen - 1] == '.')
		plen--;
	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (plen == 0 || nlen == 0 || memchr(pat, '\0', plen) != NULL)
		return false;
	if (plen > 2 && pat[0] == '*' && pat[1] == '.') {
		const char *suffix = pat + 1;               /* ".example.net" */
		size_t slen = plen - 1;
		const char *dot = memchr(name, '.', nlen);
		if (memchr(suffix + 1, '.', slen - 1) == NULL || dot == NULL || dot == name)
			return false;
		return (size_t)(name + nlen - dot) == slen && strncasecmp(dot, suffix, slen) == 0;
	}
	if (memchr(pat, '*', plen) != NULL)
		return false;
	return plen == nlen && strncasecmp(pat, name, plen) == 0;
}

/* get_pubkey_buffer gives the full SPKI for RSA and EC alike (i2d_PUBKEY
 * gives bare PKCS#1 for RSA: a wrong pin). */
int
tls_x509_spki_pin(WOLFSSL_X509 *x, uint8_t raw[TLS_PIN_LEN], char b64[64])
{
	unsigned char spki[4096];
	int sz = (int)sizeof(spki);
	word32 n = 63;
	if (wolfSSL_X509_get_pubkey_buffer(x, spki, &sz) != WOLFSSL_SUCCESS || sz <= 0 ||
	    wc_Sha256Hash(spki, (word32)sz, raw) != 0 ||
	    Base64_Encode_NoNl(raw, TLS_PIN_LEN, (byte *)b64, &n) != 0 || n >= 64) {
		snprintf(b64, 64, "(unreadable)");
		return -1;
	}
	b64[n] = '\0';
	return 0;
}

void
tls_x509_name_text(WOLFSSL_X509_NAME *name, char *out, size_t cap)
{
	char buf[256];
	int n = name ? wolfSSL_X509_NAME_get_text_by_NID(name, NID_commonName, buf, sizeof(buf)) : -1;
	if (n > 0 && cap > 3) {
		memcpy(out, "CN=", 3);
		tls_x509_printable(out + 3, cap - 3, buf, strnlen(buf, sizeof(buf)));
	} else if (name != NULL && wolfSSL_X509_NAME_oneline(name, buf, sizeof(buf)) != NULL) {
		tls_x509_printable(out, cap, buf, strnlen(buf, sizeof(buf)));
	} else {
		snprintf(out, cap, "(none)");
	}
}

int
tls_pin_parse(const char *b64, uint8_t out[32])
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t raw[TLS_PIN_LEN + 4];
	word32 n = sizeof(raw);
	char again[64];
	word32 m = sizeof(again) - 1;
	if (b64 == NULL || strlen(b64) != TLS_PIN_B64_LEN || b64[TLS_PIN_B64_LEN - 1] != '=' ||
	    strspn(b64, alphabet) != TLS_PIN_B64_LEN - 1)
		return -1;
	/* Decode, then encode again: only the canonical spelling is accepted. */
	if (Base64_Decode((const byte *)b64, TLS_PIN_B64_LEN, raw, &n) != 0 || n != TLS_PIN_LEN ||
	    Base64_Encode_NoNl(raw, TLS_PIN_LEN, (byte *)again, &m) != 0 || m != TLS_PIN_B64_LEN ||
	    memcmp(again, b64, TLS_PIN_B64_LEN) != 0)
		return -1;
	memcpy(out, raw, TLS_PIN_LEN);
	return 0;
}
