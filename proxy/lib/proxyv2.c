/* proxyv2.c - builds PROXY protocol v2 headers: sizes everything first, so
 * a header that does not fit writes nothing past cap. */
#include "proxyv2.h"

#include <netinet/in.h>
#include <string.h>

const uint8_t proxyv2_signature[PROXYV2_SIG_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* One endpoint as 16 bytes (IPv4 as IPv4-mapped), its port (network order)
 * and whether it is IPv4. False for other families. */
static bool
endpoint(const struct sockaddr *sa, uint8_t addr[16], uint8_t port[2], bool *v4)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		memcpy(addr, v4mapped, 12);
		memcpy(addr + 12, &s4->sin_addr, 4);
		memcpy(port, &s4->sin_port, 2);
		*v4 = true;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		memcpy(addr, &s6->sin6_addr, 16);
		memcpy(port, &s6->sin6_port, 2);
		*v4 = memcmp(addr, v4mapped, 12) == 0;
		return true;
	}
	return false;
}

static uint8_t *
put_tlv_head(uint8_t *p, uint8_t type, size_t len)
{
	p[0] = type;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	return p + 3;
}

static uint8_t *
put_tlv(uint8_t *p, uint8_t type, const char *value, size_t len)
{
	p = put_tlv_head(p, type, len);
	memcpy(p, value, len);
	return p + len;
}

/* The SSL TLV's value length: client, verify, sub-TLVs. */
static size_t
ssl_value_len(const struct proxyv2_tls *tls)
{
	size_t n = 1 + 4;
	if (tls->version != NULL)
		n += 3 + strlen(tls->version);
	if (tls->cn != NULL)
		n += 3 + strlen(tls->cn);
	return n;
}

/* The TLVs' total length, or SIZE_MAX if one would overflow its length. */
static size_t
tlvs_len(const struct proxyv2_tls *tls)
{
	if (tls == NULL)
		return 0;
	size_t n = 0;
	if (tls->sni != NULL) {
		size_t l = strlen(tls->sni);
		if (l > UINT16_MAX)
			return SIZE_MAX;
		n += 3 + l;
	}
	if (tls->ssl) {
		size_t l = ssl_value_len(tls);
		if (l > UINT16_MAX)
			return SIZE_MAX;
		n += 3 + l;
	}
	return n;
}

static uint8_t *
put_tlvs(uint8_t *p, const struct proxyv2_tls *tls)
{
	if (tls == NULL)
		return p;
	if (tls->sni != NULL)
		p = put_tlv(p, PP2_TYPE_AUTHORITY, tls->sni, strlen(tls->sni));
	if (tls->ssl) {
		p = put_tlv_head(p, PP2_TYPE_SSL, ssl_value_len(tls));
		*p++ = PP2_CLIENT_SSL | (tls->cert_verified ? PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS : 0);
		uint32_t verify = htonl(tls->cert_verified ? 0 : 1);
		memcpy(p, &verify, 4);
		p += 4;
		if (tls->version != NULL)
			p = put_tlv(p, PP2_SUBTYPE_SSL_VERSION, tls->version, strlen(tls->version));
		if (tls->cn != NULL)
			p = put_tlv(p, PP2_SUBTYPE_SSL_CN, tls->cn, strlen(tls->cn));
	}
	return p;
}

int
proxyv2_encode(uint8_t *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst,
               const struct proxyv2_tls *tls)
{
	uint8_t sa[16], da[16], sp[2], dp[2];
	bool s4, d4;
	if (!endpoint(src, sa, sp, &s4) || !endpoint(dst, da, dp, &d4))
		return -1;
	bool v4 = s4 && d4;
	size_t alen = v4 ? 4 : 16;
	size_t tlen = tlvs_len(tls);
	if (tlen == SIZE_MAX || 2 * alen + 4 + tlen > UINT16_MAX)
		return -1;
	size_t body = 2 * alen + 4 + tlen;
	if (out == NULL || cap < PROXYV2_HDR_LEN + body)
		return -1;
	uint8_t *p = out;
	memcpy(p, proxyv2_signature, PROXYV2_SIG_LEN);
	p += PROXYV2_SIG_LEN;
	*p++ = PP2_VERSION_PROXY;
	*p++ = v4 ? PP2_FAM_TCP4 : PP2_FAM_TCP6;
	*p++ = (uint8_t)(body >> 8);
	*p++ = (uint8_t)body;
	memcpy(p, sa + 16 - alen, alen);
	memcpy(p + alen, da + 16 - alen, alen);
	p += 2 * alen;
	memcpy(p, sp, 2);
	memcpy(p + 2, dp, 2);
	p = put_tlvs(p + 4, tls);
	return (int)(p - out);
}

int
proxyv2_build(uint8_t *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst,
              const char *sni, const char *tls_version, bool client_cert_verified)
{
	struct proxyv2_tls tls = {
		.sni = sni,
		.ssl = tls_version != NULL || client_cert_verified,
		.cert_verified = client_cert_verified,
		.version = tls_version,
	};
	return proxyv2_encode(out, cap, src, dst, &tls);
}
