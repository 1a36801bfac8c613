/* policy.h - the verdict on one parsed query: forward, or answer it locally
 * (REFUSED with EDE 18/21, FORMERR, BADVERS) and why. Deny by default. */
#ifndef XP_POLICY_H
#define XP_POLICY_H

#include <stdbool.h>
#include <sys/socket.h>

#include "conf.h"
#include "dnsmsg.h"

struct verdict {
	bool forward;
	enum dns_rcode rcode;     /* when !forward */
	int ede;                  /* DNS_EDE_* or DNS_EDE_NONE */
	const char *reason;       /* for the log: "acl", "unknown zone", ... */
	const struct conf_zone *zone;
	const struct conf_acl *acl;   /* inbound: the ACL that admitted it */
	void *token;              /* the direction's, back in relay_hooks.xfr_done */
	bool sign;                /* answer locally with a TSIG (relay_hooks.sign_answer) */
};

/* The query-type filter both directions apply: EDNS version 0, opcode
 * QUERY, class IN, type SOA/AXFR/IXFR (XOT-15, XOT-16); forward if passed. */
struct verdict policy_filter(const struct dns_query *q);

/* The inbound verdict: the filter, then the zone and its allow list. */
struct verdict policy_check(const struct conf *conf, const struct dns_query *q,
                            const struct sockaddr *peer);

#endif
