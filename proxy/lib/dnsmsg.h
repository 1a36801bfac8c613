/* dnsmsg.h - bounds-checked reader for DNS queries, and the builder for the
 * proxy's own answers (REFUSED/FORMERR/SERVFAIL/BADVERS with EDE and padding). */
#ifndef XP_DNSMSG_H
#define XP_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define DNS_HDR_LEN 12

enum {
	DNS_CLASS_IN = 1,
	DNS_TYPE_A = 1, DNS_TYPE_SOA = 6, DNS_TYPE_OPT = 41, DNS_TYPE_TSIG = 250,
	DNS_TYPE_IXFR = 251, DNS_TYPE_AXFR = 252,
	DNS_OPCODE_QUERY = 0,
	DNS_OPT_PADDING = 12, DNS_OPT_EDE = 15,
};

enum dns_rcode {
	DNS_RCODE_NOERROR = 0, DNS_RCODE_FORMERR = 1, DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NOTIMP = 4, DNS_RCODE_REFUSED = 5, DNS_RCODE_BADVERS = 16,
};

/* RFC 8914 info codes used by the proxy. */
enum dns_ede {
	DNS_EDE_NONE = -1, DNS_EDE_OTHER = 0, DNS_EDE_NOT_READY = 14,
	DNS_EDE_PROHIBITED = 18, DNS_EDE_NOT_SUPPORTED = 21, DNS_EDE_NO_REACHABLE_AUTHORITY = 22,
	DNS_EDE_NETWORK_ERROR = 23,
};

enum dns_parse_result {
	DNS_PARSE_OK = 0,
	DNS_PARSE_SHORT,     /* not even a header: framing is broken, close */
	DNS_PARSE_FORMERR,   /* header readable, rest malformed: answer FORMERR */
};

struct dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd;                          /* copied into answers */
	uint16_t qdcount, ancount, nscount, arcount;

	bool has_question;                /* set once the question parsed */
	uint8_t qname[DNAME_MAXLEN];      /* decompressed, case as sent */
	uint8_t qname_lower[DNAME_MAXLEN];
	size_t qname_len;
	uint16_t qtype, qclass;

	bool has_opt;                     /* exactly one OPT in additional */
	uint8_t edns_version;
	uint16_t edns_udp_size;           /* the OPT's CLASS: requester's UDP payload size */
	bool has_padding;                 /* OPT carries option 12 */

	bool has_tsig;                    /* TSIG is the last RR */
	uint8_t tsig_key[DNAME_MAXLEN];   /* lowercase */
	size_t tsig_key_len;

	bool has_ixfr_serial;             /* SOA in authority (IXFR) */
	uint32_t ixfr_serial;
};

/* Parses a query message (without the 2-byte length). On FORMERR, *why names
 * the defect and q holds whatever was read before it (has_question tells if
 * the question can be echoed). Never reads outside msg[0..len). */
enum dns_parse_result dnsmsg_parse_query(const uint8_t *msg, size_t len,
                                         struct dns_query *q, const char **why);

/* Reads a possibly compressed name at *pos into out (uncompressed, case kept).
 * Pointers must go strictly backwards, so loops are impossible. Advances *pos
 * past the name as it appears in place. Returns the name length or -1. */
int dnsmsg_read_name(const uint8_t *msg, size_t len, size_t *pos, uint8_t out[DNAME_MAXLEN]);

/* Builds the proxy's own answer to q (RFC 9103 §7.8, RFC 8914, RFC 7830):
 * same ID, opcode, RD and question (when has_question), QR=1, no records,
 * an OPT only if the query had one (version 0, EDE when ede >= 0, padding to
 * a multiple of 468 octets when the query was padded). BADVERS goes in the
 * OPT's extended RCODE. Writes the message (no length prefix) into out and
 * returns its length, or -1 if cap is too small (DNS_ERROR_MAX always fits). */
#define DNS_ERROR_MAX 1024
int dnsmsg_build_error(const struct dns_query *q, enum dns_rcode rcode, int ede,
                       const char *ede_text, uint8_t *out, size_t cap);

/* "AXFR", "SOA", "TYPE65280" ... */
void dns_type_name(uint16_t type, char out[16]);
const char *dns_rcode_name(unsigned rcode);

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

#endif
