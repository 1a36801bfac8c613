/* msgbuild.c - DNS message builder for unit-test input. */
#include <string.h>

#include "proxy/lib/dname.h"
#include "unit.h"

void
mb_bytes(struct mb *m, const void *p, size_t n)
{
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

void
mb_u16(struct mb *m, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	mb_bytes(m, b, 2);
}

void
mb_u32(struct mb *m, uint32_t v)
{
	mb_u16(m, (uint16_t)(v >> 16));
	mb_u16(m, (uint16_t)v);
}

void
mb_header(struct mb *m, uint16_t id, uint8_t flags2, uint8_t flags3,
          uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	m->len = 0;
	mb_u16(m, id);
	uint8_t f[2] = { flags2, flags3 };
	mb_bytes(m, f, 2);
	mb_u16(m, qd);
	mb_u16(m, an);
	mb_u16(m, ns);
	mb_u16(m, ar);
}

void
mb_name(struct mb *m, const char *text)
{
	uint8_t wire[DNAME_MAXLEN];
	int n = dname_from_text(text, wire);
	mb_bytes(m, wire, (size_t)n);
}

void
mb_question(struct mb *m, const char *name, uint16_t type, uint16_t cls)
{
	mb_name(m, name);
	mb_u16(m, type);
	mb_u16(m, cls);
}

void
mb_soa(struct mb *m, const char *owner, uint32_t serial)
{
	mb_name(m, owner);
	mb_u16(m, 6);
	mb_u16(m, 1);
	mb_u32(m, 300);
	size_t rdlen_at = m->len;
	mb_u16(m, 0);
	size_t start = m->len;
	mb_name(m, "ns1.example.test");
	uint8_t ptr[2] = { 0xC0, 12 };           /* compressed RNAME, as servers send */
	mb_bytes(m, ptr, 2);
	mb_u32(m, serial);
	mb_u32(m, 3600);
	mb_u32(m, 600);
	mb_u32(m, 86400);
	mb_u32(m, 300);
	size_t rdlen = m->len - start;
	m->buf[rdlen_at] = (uint8_t)(rdlen >> 8);
	m->buf[rdlen_at + 1] = (uint8_t)rdlen;
}

void
mb_a(struct mb *m, const char *owner)
{
	mb_name(m, owner);
	mb_u16(m, 1);
	mb_u16(m, 1);
	mb_u32(m, 300);
	mb_u16(m, 4);
	mb_u32(m, 0x0a000001);
}

void
mb_opt(struct mb *m, uint8_t version, const uint8_t *opts, uint16_t optlen)
{
	uint8_t root = 0;
	mb_bytes(m, &root, 1);
	mb_u16(m, 41);
	mb_u16(m, 1232);
	uint8_t ttl[4] = { 0, version, 0, 0 };
	mb_bytes(m, ttl, 4);
	mb_u16(m, optlen);
	if (optlen > 0)
		mb_bytes(m, opts, optlen);
}

void
mb_tsig(struct mb *m, const char *key)
{
	mb_name(m, key);
	mb_u16(m, 250);
	mb_u16(m, 255);
	mb_u32(m, 0);
	size_t rdlen_at = m->len;
	mb_u16(m, 0);
	size_t start = m->len;
	mb_name(m, "hmac-sha256");
	uint8_t rest[6 + 2 + 2 + 32 + 2 + 2 + 2] = { 0 };
	rest[9] = 32;                               /* MAC size 32 */
	mb_bytes(m, rest, sizeof(rest));
	size_t rdlen = m->len - start;
	m->buf[rdlen_at] = (uint8_t)(rdlen >> 8);
	m->buf[rdlen_at + 1] = (uint8_t)rdlen;
}

size_t
mb_frame(const struct mb *m, uint8_t *out)
{
	out[0] = (uint8_t)(m->len >> 8);
	out[1] = (uint8_t)m->len;
	memcpy(out + 2, m->buf, m->len);
	return m->len + 2;
}
