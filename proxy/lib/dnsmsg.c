/* dnsmsg.c - DNS query reader and error-answer builder. Every read of the
 * message checks the remaining length first; peer bytes are never trusted. */
#include "dnsmsg.h"

#include <stdio.h>
#include <string.h>

int
dnsmsg_read_name(const uint8_t *msg, size_t len, size_t *pos, uint8_t out[DNAME_MAXLEN])
{
	size_t p = *pos;          /* read position, may jump */
	size_t limit = p;         /* a pointer must go below this */
	size_t end = 0;           /* position after the name in place */
	size_t o = 0;
	bool jumped = false;

	for (;;) {
		if (p >= len)
			return -1;
		uint8_t b = msg[p];
		if ((b & 0xC0) == 0xC0) {
			if (p + 1 >= len)
				return -1;
			size_t target = (size_t)(b & 0x3F) << 8 | msg[p + 1];
			if (target >= limit)
				return -1;    /* forward or self pointer: loop */
			if (!jumped)
				end = p + 2;
			jumped = true;
			limit = target;
			p = target;
			continue;
		}
		if ((b & 0xC0) != 0)
			return -1;        /* 0x40/0x80: obsolete/undefined label types */
		if (o + (size_t)b + 1 > DNAME_MAXLEN || p + 1 + b > len)
			return -1;
		memcpy(out + o, msg + p, (size_t)b + 1);
		o += (size_t)b + 1;
		p += (size_t)b + 1;
		if (b == 0)
			break;
	}
	*pos = jumped ? end : p;
	return (int)o;
}

/* Parses an OPT RR's fixed part and options (rdata at msg[p..p+rdlen)). */
static bool
parse_opt(const uint8_t *msg, size_t p, uint16_t rdlen, uint16_t cls, uint32_t ttl,
          struct dns_query *q)
{
	q->has_opt = true;
	q->edns_udp_size = cls;
	q->edns_version = (uint8_t)(ttl >> 16);
	size_t end = p + rdlen;
	while (p < end) {
		if (end - p < 4)
			return false;
		uint16_t code = rd16(msg + p), olen = rd16(msg + p + 2);
		p += 4;
		if (end - p < olen)
			return false;
		if (code == DNS_OPT_PADDING)
			q->has_padding = true;
		p += olen;
	}
	return true;
}

/* SOA rdata: MNAME, RNAME, then SERIAL. */
static bool
parse_soa_serial(const uint8_t *msg, size_t len, size_t p, size_t rdend, uint32_t *serial)
{
	uint8_t scratch[DNAME_MAXLEN];
	if (dnsmsg_read_name(msg, len, &p, scratch) < 0 || dnsmsg_read_name(msg, len, &p, scratch) < 0)
		return false;
	if (p + 20 > rdend)
		return false;
	*serial = rd32(msg + p);
	return true;
}

/* Walks one resource record in section `sect` (1 answer, 2 authority, 3 additional). */
static const char *
parse_rr(const uint8_t *msg, size_t len, size_t *pos, int sect, bool last, struct dns_query *q)
{
	uint8_t owner[DNAME_MAXLEN];
	int olen = dnsmsg_read_name(msg, len, pos, owner);
	if (olen < 0)
		return "bad owner name";
	if (len - *pos < 10)
		return "truncated record";
	const uint8_t *f = msg + *pos;
	uint16_t type = rd16(f), rdlen = rd16(f + 8);
	uint32_t ttl = rd32(f + 4);
	*pos += 10;
	if (len - *pos < rdlen)
		return "truncated rdata";
	size_t rd = *pos;
	*pos += rdlen;

	if (type == DNS_TYPE_OPT) {
		if (sect != 3)
			return "OPT outside additional section";
		if (q->has_opt)
			return "more than one OPT";
		if (olen != 1)
			return "OPT owner not root";
		if (!parse_opt(msg, rd, rdlen, rd16(f + 2), ttl, q))
			return "malformed EDNS options";
	} else if (type == DNS_TYPE_TSIG) {
		if (sect != 3 || !last)
			return "TSIG not last";
		q->has_tsig = true;
		memcpy(q->tsig_key, owner, (size_t)olen);
		dname_lower(q->tsig_key, (size_t)olen);
		q->tsig_key_len = (size_t)olen;
	} else if (type == DNS_TYPE_SOA && sect == 2 && !q->has_ixfr_serial) {
		if (!parse_soa_serial(msg, len, rd, rd + rdlen, &q->ixfr_serial))
			return "malformed SOA";
		q->has_ixfr_serial = true;
	}
	return NULL;
}

enum dns_parse_result
dnsmsg_parse_query(const uint8_t *msg, size_t len, struct dns_query *q, const char **why)
{
	memset(q, 0, sizeof(*q));
	*why = NULL;
	if (len < DNS_HDR_LEN) {
		*why = "shorter than a DNS header";
		return DNS_PARSE_SHORT;
	}
	q->id = rd16(msg);
	q->opcode = (msg[2] >> 3) & 0x0F;
	q->rd = msg[2] & 0x01;
	q->qdcount = rd16(msg + 4);
	q->ancount = rd16(msg + 6);
	q->nscount = rd16(msg + 8);
	q->arcount = rd16(msg + 10);
	if (msg[2] & 0x80) {
		*why = "QR set in a query";
		return DNS_PARSE_FORMERR;
	}
	if (q->qdcount != 1) {
		*why = "QDCOUNT is not 1";
		return DNS_PARSE_FORMERR;
	}
	size_t pos = DNS_HDR_LEN;
	int nlen = dnsmsg_read_name(msg, len, &pos, q->qname);
	if (nlen < 0 || len - pos < 4) {
		*why = "malformed question";
		return DNS_PARSE_FORMERR;
	}
	q->qname_len = (size_t)nlen;
	memcpy(q->qname_lower, q->qname, q->qname_len);
	dname_lower(q->qname_lower, q->qname_len);
	q->qtype = rd16(msg + pos);
	q->qclass = rd16(msg + pos + 2);
	pos += 4;
	q->has_question = true;

	const uint16_t counts[3] = { q->ancount, q->nscount, q->arcount };
	for (int s = 0; s < 3; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			bool last = (s == 2 && i + 1 == counts[s]);
			const char *err = parse_rr(msg, len, &pos, s + 1, last, q);
			if (err != NULL) {
				*why = err;
				return DNS_PARSE_FORMERR;
			}
		}
	}
	if (pos != len) {
		*why = "trailing bytes after the last record";
		return DNS_PARSE_FORMERR;
	}
	return DNS_PARSE_OK;
}

int
dnsmsg_build_error(const struct dns_query *q, enum dns_rcode rcode, int ede,
                   const char *ede_text, uint8_t *out, size_t cap)
{
	size_t text_len = (ede >= 0 && ede_text != NULL) ? strlen(ede_text) : 0;
	bool opt = q->has_opt;
	size_t need = DNS_HDR_LEN + (q->has_question ? q->qname_len + 4 : 0)
	              + (opt ? 11 + (ede >= 0 ? 6 + text_len : 0) + (q->has_padding ? 4 + 467 : 0) : 0);
	if (need > cap || text_len > 200)
		return -1;

	memset(out, 0, DNS_HDR_LEN);
	wr16(out, q->id);
	out[2] = (uint8_t)(0x80 | (q->opcode << 3) | (q->rd ? 1 : 0));
	out[3] = (uint8_t)(rcode & 0x0F);
	size_t p = DNS_HDR_LEN;
	if (q->has_question) {
		wr16(out + 4, 1);
		memcpy(out + p, q->qname, q->qname_len);
		p += q->qname_len;
		wr16(out + p, q->qtype);
		wr16(out + p + 2, q->qclass);
		p += 4;
	}
	if (!opt)
		return (int)p;

	wr16(out + 10, 1);
	size_t opt_start = p;
	out[p++] = 0;                          /* owner: root */
	wr16(out + p, DNS_TYPE_OPT);
	wr16(out + p + 2, 1232);               /* UDP payload size */
	out[p + 4] = (uint8_t)(rcode >> 4);    /* extended RCODE */
	out[p + 5] = 0;                        /* version 0 */
	out[p + 6] = 0;
	out[p + 7] = 0;
	size_t rdlen_at = p + 8;
	p += 10;
	if (ede >= 0) {
		wr16(out + p, DNS_OPT_EDE);
		wr16(out + p + 2, (uint16_t)(2 + text_len));
		wr16(out + p + 4, (uint16_t)ede);
		if (text_len > 0)
			memcpy(out + p + 6, ede_text, text_len);
		p += 6 + text_len;
	}
	if (q->has_padding) {                  /* RFC 7830, RFC 8467 §4.1: 468-octet blocks */
		size_t pad = (468 - (p + 4) % 468) % 468;
		wr16(out + p, DNS_OPT_PADDING);
		wr16(out + p + 2, (uint16_t)pad);
		memset(out + p + 4, 0, pad);
		p += 4 + pad;
	}
	wr16(out + rdlen_at, (uint16_t)(p - opt_start - 11));
	return (int)p;
}

void
dns_type_name(uint16_t type, char out[16])
{
	switch (type) {
	case DNS_TYPE_A: strcpy(out, "A"); break;
	case 2: strcpy(out, "NS"); break;
	case 5: strcpy(out, "CNAME"); break;
	case DNS_TYPE_SOA: strcpy(out, "SOA"); break;
	case 15: strcpy(out, "MX"); break;
	case 16: strcpy(out, "TXT"); break;
	case 28: strcpy(out, "AAAA"); break;
	case DNS_TYPE_IXFR: strcpy(out, "IXFR"); break;
	case DNS_TYPE_AXFR: strcpy(out, "AXFR"); break;
	case 255: strcpy(out, "ANY"); break;
	default: snprintf(out, 16, "TYPE%u", type); break;
	}
}

const char *
dns_rcode_name(unsigned rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
		"NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };
	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	return rcode == DNS_RCODE_BADVERS ? "BADVERS" : "RCODE?";
}
