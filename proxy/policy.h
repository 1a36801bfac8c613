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

#include "clienttab.h"
#include "conf/conf.h"
#include "proxy/lib/dnsmsg.h"
#include "proxy/lib/reason.h"
#include "proxy/lib/tsig.h"

struct verdict {
	bool forward;
	enum dns_rcode rcode;     /* when !forward */
	int ede;                  /* DNS_EDE_* or DNS_EDE_NONE */
	enum reason reason;       /* when !forward: RSN_ACL, RSN_UNKNOWN_ZONE, ... */
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

/* True only when the proxy itself checked the query's MAC with the [key]'s
 * secret and it verified (TSIG_OK): only then is the key name an identity. */
bool policy_tsig_authenticated(const struct policy_tsig *ts);

/* The TSIG of query q (msg, len octets) under conf at time now: the [key]
 * it names, and for a key with a secret the verification result (TSIG-01..08;
 * both directions use it). */
void policy_tsig_check(const struct conf *conf, const struct dns_query *q, const uint8_t *msg,
                       size_t len, uint64_t now, struct policy_tsig *ts);

/* What signing a later answer to a verified query needs (a SERVFAIL made
 * after backend-timeout, say), owned by whoever keeps it: a copy of the
 * key, never a pointer into the configuration, which a SIGHUP may free
 * before that answer is made (issue 13, B12). Self-contained: it may be
 * copied or moved. */
struct policy_signer {
	bool sign;                /* ts->verified: answers carry a TSIG */
	bool has_key;             /* the request named a known key (not BADKEY) */
	uint16_t error;           /* policy_tsig_error at verification */
	struct tsig_key key;      /* copy of the [key]: name, algorithm, secret */
	struct tsig_request req;  /* the request's TSIG; req.key unused (NULL) */
};

/* Copies into s what signing answers to the query of ts needs. */
void policy_signer_keep(struct policy_signer *s, const struct policy_tsig *ts);

/* Appends the TSIG (RFC 8945 §5.3) to the local answer msg[0..len) in a
 * buffer of cap octets at time now. Returns the new length, or -1 (nothing
 * to sign with, or no room). */
int policy_signer_sign(const struct policy_signer *s, uint8_t *msg, size_t len, size_t cap,
                       uint64_t now);

/* Clears the copied secret (before the memory is freed). */
void policy_signer_wipe(struct policy_signer *s);

/* The client key caps and rates count under (XOT-10, issue 13 B13): the
 * client certificate's identity (cert_key, cert_len: its first DNS name or
 * its pin; NULL when there is no certificate that verifies under the
 * client-ca in force), else the TSIG key name only when the proxy verified
 * the MAC (policy_tsig_authenticated: a name it did not check is anybody's,
 * and would let one client spend another's budget, or escape its own),
 * else the address, IPv6 grouped by v6_prefix. */
void policy_client_key(struct clientkey *k, const void *cert_key, size_t cert_len,
                       const struct dns_query *q, const struct policy_tsig *ts,
                       const struct sockaddr *peer, unsigned v6_prefix);

#endif
