/* tsig.h - TSIG (RFC 8945) for the proxy's own use: verify a signed query
 * against configured keys, and sign (or, for key and MAC errors, append an
 * unsigned TSIG to) the answer the proxy makes to it. HMAC from wolfCrypt.
 * Relayed messages never pass through here (TSIG-01: forwarded unchanged). */
#ifndef XP_TSIG_H
#define XP_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define TSIG_MAC_MAX 64          /* HMAC-SHA512 output */
#define TSIG_SECRET_MAX 128
#define TSIG_FUDGE_UNCAPPED 65535        /* max_fudge that trusts any signer's Fudge */
#define TSIG_MAX_FUDGE_DEFAULT 300       /* tsig-max-fudge: RFC 8945 §10 recommends 300 s */

/* TSIG ERROR field values (RFC 8945 §3). */
enum {
	TSIG_ERR_NONE = 0, TSIG_ERR_BADSIG = 16, TSIG_ERR_BADKEY = 17, TSIG_ERR_BADTIME = 18,
	TSIG_RCODE_NOTAUTH = 9,      /* the RCODE of every TSIG error answer */
};

enum tsig_alg { TSIG_HMAC_SHA1, TSIG_HMAC_SHA256, TSIG_HMAC_SHA384, TSIG_HMAC_SHA512 };

struct tsig_key {
	uint8_t name[DNAME_MAXLEN];  /* lowercase wire form */
	size_t name_len;
	enum tsig_alg alg;
	uint8_t secret[TSIG_SECRET_MAX];
	size_t secret_len;
};

/* "hmac-sha256" (any case, trailing dot allowed) ... Returns 0 or -1. */
int tsig_alg_parse(const char *text, enum tsig_alg *out);
/* "hmac-sha256" ... */
const char *tsig_alg_text(enum tsig_alg alg);
/* Full MAC length in octets: 20, 32, 48, 64. */
size_t tsig_alg_mac_len(enum tsig_alg alg);

/* Fills k from configuration text: a key name ("xfr-key." or "xfr-key"),
 * an algorithm name and a base64 secret (BIND/Knot/NSD style, padded; 1 to
 * 128 octets). Returns 0, or -1 with *why naming the problem. */
int tsig_key_from_text(struct tsig_key *k, const char *name, const char *alg,
                       const char *secret_b64, const char **why);

enum tsig_result {
	TSIG_OK,        /* known key, MAC verified, time within fudge */
	TSIG_UNSIGNED,  /* no TSIG RR at all */
	TSIG_BADKEY,    /* unknown key name, or algorithm not the key's (§5.2.1) */
	TSIG_BADSIG,    /* MAC does not verify (§5.2.2) */
	TSIG_BADTIME,   /* MAC good, |now - Time Signed| > min(Fudge, max_fudge) (§5.2.3) */
	TSIG_FORMERR,   /* TSIG misplaced, repeated, unreadable, or a MAC size
	                 * §5.2.2.1 forbids; also any malformed record */
};

/* "OK", "unsigned", "BADKEY", "BADSIG", "BADTIME", "FORMERR". */
const char *tsig_result_name(enum tsig_result r);

/* What signing the answer needs (RFC 8945 §5.3). Filled by
 * tsig_verify_query for BADKEY, BADSIG, BADTIME and OK (the names, Original
 * ID, Time Signed and Fudge come from the request's TSIG); zeroed otherwise. */
struct tsig_request {
	const struct tsig_key *key;  /* NULL when the key is unknown (BADKEY) */
	uint8_t mac[TSIG_MAC_MAX];   /* the request MAC as sent (maybe truncated); */
	size_t mac_len;              /* 0 for BADKEY */
	uint16_t orig_id;
	uint64_t time_signed;
	uint16_t fudge;
	uint8_t alg_name[DNAME_MAXLEN];   /* lowercase wire form */
	size_t alg_name_len;
	uint8_t key_name[DNAME_MAXLEN];   /* lowercase wire form */
	size_t key_name_len;
};

/* Verifies the TSIG RR that ends query msg[0..len) (RFC 8945 §5.2), checks
 * in this order: placement and syntax (FORMERR: not the last record, more
 * than one, class not ANY, compressed algorithm name, bad lengths), key name
 * and algorithm (BADKEY), MAC size (FORMERR if longer than the hash or
 * shorter than max(10, hash/2), §5.2.2.1; any allowed truncation is
 * accepted), MAC over the message without the TSIG RR, ARCOUNT-1, the
 * Original ID in place of the ID, plus the TSIG variables, compared in
 * constant time (BADSIG), then |now - Time Signed| <= min(Fudge, max_fudge)
 * (BADTIME; see tsig_time_ok). keys: n_keys configured keys. now: seconds
 * since the epoch. max_fudge: the largest window the proxy grants
 * (tsig-max-fudge; TSIG_FUDGE_UNCAPPED trusts the signer's Fudge). Never
 * reads outside msg. Stateless: no replay cache (the §5.2.3 SHOULD), so the
 * window is the replay window. */
enum tsig_result tsig_verify_query(const uint8_t *msg, size_t len, const struct tsig_key *keys,
                                   size_t n_keys, uint64_t now, uint16_t max_fudge,
                                   struct tsig_request *req);

/* The §5.2.3 time check: |now - time_signed| <= min(fudge, max_fudge). */
bool tsig_time_ok(uint64_t now, uint64_t time_signed, uint16_t fudge, uint16_t max_fudge);

/* Appends a TSIG RR to the answer msg[0..len) (buffer of cap octets) and
 * increments ARCOUNT. The answer must already be final, RCODE included
 * (NOTAUTH for the TSIG errors, RFC 8945 §5.2): the MAC covers its header.
 *  error 0 or TSIG_ERR_BADTIME: signed with req->key (§5.3, §4.3.1): MAC
 *    over the request MAC (size + MAC as received), the answer with the
 *    request's Original ID in place of its ID, and the TSIG variables; full
 *    length MAC. For BADTIME (§5.2.3) Time Signed is the request's and Other
 *    Data the 6-octet server time (now); otherwise Time Signed is now.
 *  any other error (BADSIG 16, BADKEY 17): unsigned, MAC size 0 (§5.3.2),
 *    Time Signed now.
 * Key and algorithm names are the request's (lowercase, uncompressed);
 * Fudge and Original ID are the request's. Returns the new length, or -1
 * if it does not fit in cap (or 65535), if msg is shorter than a header,
 * or a signed answer was asked with req->key NULL. */
int tsig_sign_answer(uint8_t *msg, size_t len, size_t cap, const struct tsig_request *req,
                     uint64_t now, uint16_t error);

#endif
