/* policy.c - per-query policy: query-type filter, then zone and address ACL. */
#include "policy.h"

static struct verdict
refuse(enum dns_rcode rcode, int ede, const char *reason)
{
	struct verdict v = { .forward = false, .rcode = rcode, .ede = ede, .reason = reason };
	return v;
}

struct verdict
policy_filter(const struct dns_query *q)
{
	if (q->has_opt && q->edns_version > 0)
		return refuse(DNS_RCODE_BADVERS, DNS_EDE_NONE, "edns version");
	/* XOT-15, XOT-16: only SOA, AXFR and IXFR are served over XoT. */
	if (q->opcode != DNS_OPCODE_QUERY)
		return refuse(DNS_RCODE_NOTIMP, DNS_EDE_NOT_SUPPORTED, "opcode not supported");
	if (q->qclass != DNS_CLASS_IN)
		return refuse(DNS_RCODE_REFUSED, DNS_EDE_NOT_SUPPORTED, "class not supported");
	if (q->qtype != DNS_TYPE_SOA && q->qtype != DNS_TYPE_AXFR && q->qtype != DNS_TYPE_IXFR)
		return refuse(DNS_RCODE_REFUSED, DNS_EDE_NOT_SUPPORTED, "qtype not supported");
	struct verdict v = { .forward = true, .ede = DNS_EDE_NONE };
	return v;
}

struct verdict
policy_check(const struct conf *conf, const struct dns_query *q, const struct sockaddr *peer)
{
	struct verdict v = policy_filter(q);
	if (!v.forward)
		return v;
	/* AXFR-08, XOT-17: deny by default; unknown zones and ACL misses get the
	 * same answer so zones cannot be enumerated. */
	const struct conf_zone *z = conf_zone_find(conf, q->qname_lower, q->qname_len);
	if (z == NULL)
		return refuse(DNS_RCODE_REFUSED, DNS_EDE_PROHIBITED, "unknown zone");
	/* Until certificates and TSIG are checked here: only ACLs with an
	 * address condition alone admit (fail closed on the others). */
	for (size_t i = 0; i < z->n_acls; i++) {
		const struct conf_acl *a = z->acls[i];
		if (a->n_certs > 0 || a->key != NULL)
			continue;
		for (size_t j = 0; j < a->n_addr; j++) {
			if (cidr_match(&a->addr[j], peer)) {
				v.zone = z;
				return v;
			}
		}
	}
	return refuse(DNS_RCODE_REFUSED, DNS_EDE_PROHIBITED, "acl");
}
