/* policy.h - the verdict on one parsed query: forward, or answer it locally
 * (REFUSED with EDE 18/21, NOTIMP, BADVERS, NOTAUTH for TSIG failures) and
 * why. Deny by default. The inbound verdict follows the zone's ACLs: any
 * one admits, and every condition an ACL names must hold (address, client
 * certificate, TSIG key). */
#ifndef XP_POLICY_H
#define XP_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "dnsmsg.h"
#include "tsig.h"

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

/* Who asks, as the inbound side knows it. */
struct policy_client {
	const struct sockaddr *peer;
	const void *identity;     /* the verified client certificate, or NULL */
	bool (*cert_matches)(const void *identity, const char *pattern);
};

/* The query's TSIG as the policy saw it: set by policy_check. */
struct policy_tsig {
	bool present;             /* the query has a TSIG (last, in additional) */
	const struct conf_key *key;   /* the [key] it names, or NULL */
	bool verified;            /* the key has a secret and the MAC was checked */
	enum tsig_result result;  /* when verified */
	struct tsig_request req;  /* when verified: what signing the answer needs */
};

/* The query-type filter both directions apply: EDNS version 0, opcode
 * QUERY, class IN, type SOA/AXFR/IXFR (XOT-15, XOT-16); forward if passed. */
struct verdict policy_filter(const struct dns_query *q);

/* The inbound verdict for query q (msg: its wire form, for TSIG), at time
 * now (seconds since the epoch, for TSIG). A TSIG naming a [key] with a
 * secret is verified first: a failure is answered NOTAUTH (RFC 8945 §5.2).
 * Then the filter, the zone, and its ACLs. sign is set when the query's
 * TSIG verified, so local answers carry one (RFC 8945 §5.3). */
struct verdict policy_check(const struct conf *conf, const struct dns_query *q,
                            const uint8_t *msg, size_t len, const struct policy_client *who,
                            uint64_t now, struct policy_tsig *ts);

/* The TSIG error an answer signed for ts carries (0, BADSIG, BADKEY, BADTIME). */
uint16_t policy_tsig_error(const struct policy_tsig *ts);

#endif
