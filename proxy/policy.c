/* policy.c - per-query policy: the query-type filter; for inbound, TSIG
 * verification, then the zone and its ACLs (address, client certificate,
 * TSIG key: all that an ACL names must hold; any ACL of the zone admits). */
#include "policy.h"

#include <string.h>

static struct verdict
refuse(enum dns_rcode rcode, int ede, enum reason reason)
{
	struct verdict v = { .forward = false, .rcode = rcode, .ede = ede, .reason = reason };
	return v;
}

/* A TSIG that failed verification, as a refusal (BADSIG, BADKEY, BADTIME). */
static enum reason
tsig_reason(enum tsig_result r)
{
	switch (r) {
	case TSIG_BADKEY: return RSN_TSIG_BADKEY;
	case TSIG_BADTIME: return RSN_TSIG_BADTIME;
	default: return RSN_TSIG_BADSIG;
	}
}

struct verdict
policy_filter(const struct dns_query *q)
{
	if (q->has_opt && q->edns_version > 0)
		return refuse(DNS_RCODE_BADVERS, DNS_EDE_NONE, RSN_EDNS_VERSION);
	/* XOT-15, XOT-16: only SOA, AXFR and IXFR are served over XoT. */
	if (q->opcode != DNS_OPCODE_QUERY)
		return refuse(DNS_RCODE_NOTIMP, DNS_EDE_NOT_SUPPORTED, RSN_OPCODE);
	if (q->qclass != DNS_CLASS_IN)
		return refuse(DNS_RCODE_REFUSED, DNS_EDE_NOT_SUPPORTED, RSN_CLASS);
	if (q->qtype != DNS_TYPE_SOA && q->qtype != DNS_TYPE_AXFR && q->qtype != DNS_TYPE_IXFR)
		return refuse(DNS_RCODE_REFUSED, DNS_EDE_NOT_SUPPORTED, RSN_QTYPE);
	struct verdict v = { .forward = true, .ede = DNS_EDE_NONE };
	return v;
}

static const struct conf_key *
find_key(const struct conf *conf, const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < conf->n_keys; i++)
		if (conf->keys[i].tsig.name_len == len && memcmp(conf->keys[i].tsig.name, name, len) == 0)
			return &conf->keys[i];
	return NULL;
}

/* TSIG-01..08: a query naming a [key] with a secret is verified here; one
 * naming a key without a secret (or none the proxy knows) is left to the
 * backend, which sees the bytes unchanged. */
void
policy_tsig_check(const struct conf *conf, const struct dns_query *q, const uint8_t *msg, size_t len,
           uint64_t now, struct policy_tsig *ts)
{
	memset(ts, 0, sizeof(*ts));
	ts->result = TSIG_UNSIGNED;
	if (!q->has_tsig)
		return;
	ts->present = true;
	ts->key = find_key(conf, q->tsig_key, q->tsig_key_len);
	if (ts->key == NULL || !ts->key->has_secret)
		return;
	ts->verified = true;
	ts->result = tsig_verify_query(msg, len, &ts->key->tsig, 1, now,
	                               (uint16_t)conf->tsig_max_fudge, &ts->req);
}

uint16_t
policy_tsig_error(const struct policy_tsig *ts)
{
	switch (ts->result) {
	case TSIG_BADSIG: return TSIG_ERR_BADSIG;
	case TSIG_BADKEY: return TSIG_ERR_BADKEY;
	case TSIG_BADTIME: return TSIG_ERR_BADTIME;
	default: return TSIG_ERR_NONE;
	}
}

bool
policy_tsig_authenticated(const struct policy_tsig *ts)
{
	return ts->verified && ts->result == TSIG_OK;
}

void
policy_signer_keep(struct policy_signer *s, const struct policy_tsig *ts)
{
	memset(s, 0, sizeof(*s));
	s->sign = ts->verified;
	if (!ts->verified)
		return;
	s->error = policy_tsig_error(ts);
	s->req = ts->req;
	s->req.key = NULL;
	if (ts->req.key != NULL) {
		s->key = *ts->req.key;
		s->has_key = true;
	}
}

int
policy_signer_sign(const struct policy_signer *s, uint8_t *msg, size_t len, size_t cap,
                   uint64_t now)
{
	if (!s->sign)
		return -1;
	struct tsig_request req = s->req;
	req.key = s->has_key ? &s->key : NULL;
	return tsig_sign_answer(msg, len, cap, &req, now, s->error);
}

void
policy_signer_wipe(struct policy_signer *s)
{
	explicit_bzero(s, sizeof(*s));
}

void
policy_client_key(struct clientkey *k, const void *cert_key, size_t cert_len,
                  const struct dns_query *q, const struct policy_tsig *ts,
                  const struct sockaddr *peer, unsigned v6_prefix)
{
	if (cert_key != NULL)
		clientkey_name(k, CLIENTKEY_CERT, cert_key, cert_len);
	else if (q->has_tsig && policy_tsig_authenticated(ts))
		clientkey_name(k, CLIENTKEY_TSIG, q->tsig_key, q->tsig_key_len);
	else
		clientkey_addr(k, peer, v6_prefix);
}

static bool
acl_admits(const struct conf_acl *a, const struct dns_query *q, const struct policy_client *who,
           const struct policy_tsig *ts)
{
	if (a->n_addr > 0) {
		size_t i = 0;
		while (i < a->n_addr && !cidr_match(&a->addr[i], who->peer))
			i++;
		if (i == a->n_addr)
			return false;
	}
	if (a->n_certs > 0) {
		if (who->identity == NULL || who->cert_matches == NULL)
			return false;
		size_t i = 0;
		while (i < a->n_certs && !who->cert_matches(who->identity, a->certs[i]))
			i++;
		if (i == a->n_certs)
			return false;
	}
	if (a->key != NULL) {
		/* the TSIG must name this key; with a secret it has verified already */
		if (!ts->present || ts->key != a->key)
			return false;
		if (a->key->has_secret && ts->result != TSIG_OK)
			return false;
	}
	return true;
}

struct verdict
policy_check(const struct conf *conf, const struct dns_query *q, const uint8_t *msg, size_t len,
             const struct policy_client *who, uint64_t now, struct policy_tsig *ts)
{
	policy_tsig_check(conf, q, msg, len, now, ts);
	if (ts->verified && ts->result != TSIG_OK) {
		/* RFC 8945 §5.2: NOTAUTH with the TSIG error; FORMERR for a bad TSIG */
		struct verdict v = ts->result == TSIG_FORMERR
		                   ? refuse(DNS_RCODE_FORMERR, DNS_EDE_NONE, RSN_TSIG_MALFORMED)
		                   : refuse((enum dns_rcode)TSIG_RCODE_NOTAUTH, DNS_EDE_NONE,
		                            tsig_reason(ts->result));
		v.sign = ts->result != TSIG_FORMERR;
		return v;
	}
	bool sign = ts->verified;
	struct verdict v = policy_filter(q);
	if (v.forward) {
		/* AXFR-08, XOT-17: deny by default; unknown zones and ACL misses
		 * get the same answer so zones cannot be enumerated. */
		const struct conf_zone *z = conf_zone_find(conf, q->qname_lower, q->qname_len);
		v = refuse(DNS_RCODE_REFUSED, DNS_EDE_PROHIBITED, z == NULL ? RSN_UNKNOWN_ZONE : RSN_ACL);
		for (size_t i = 0; z != NULL && i < z->n_acls; i++) {
			if (acl_admits(z->acls[i], q, who, ts)) {
				v = (struct verdict){ .forward = true, .ede = DNS_EDE_NONE, .zone = z,
				                      .acl = z->acls[i] };
				break;
			}
		}
	}
	v.sign = sign;
	return v;
}
