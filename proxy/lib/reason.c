/* reason.c - the one table of reason codes: log text, JSON value, metric
 * label. The log texts and labels are part of the interface (tests grep
 * them, the README lists the labels): change them only on purpose. */
#include "reason.h"

#include <stddef.h>

static const char *const dir_texts[XP_DIRS] = { "inbound", "outbound" };
static const char *const dir_upstreams[XP_DIRS] = { "backend", "primary" };

const char *
dir_text(enum xp_dir d)
{
	return d < XP_DIRS ? dir_texts[d] : "?";
}

const char *
dir_upstream_label(enum xp_dir d)
{
	return d < XP_DIRS ? dir_upstreams[d] : "?";
}

struct reason_row {
	enum reason_family family;
	const char *text;           /* log text */
	const char *json;           /* JSON value */
	const char *metric;         /* own series label; NULL: the family's catch-all */
};

#define ROW(code, fam, text, metric) [code] = { fam, text, text, metric }

static const struct reason_row table[] = {
	ROW(RSN_NONE,             RF_NONE,      "none", NULL),
	ROW(RSN_ACL,              RF_REFUSAL,   "acl", "acl"),
	ROW(RSN_UNKNOWN_ZONE,     RF_REFUSAL,   "unknown zone", "unknown_zone"),
	ROW(RSN_QTYPE,            RF_REFUSAL,   "qtype not supported", "qtype"),
	ROW(RSN_OPCODE,           RF_REFUSAL,   "opcode not supported", "opcode"),
	ROW(RSN_CLASS,            RF_REFUSAL,   "class not supported", "class"),
	ROW(RSN_EDNS_VERSION,     RF_REFUSAL,   "edns version", "edns_version"),
	ROW(RSN_FORMERR,          RF_REFUSAL,   "formerr", "formerr"),
	ROW(RSN_ID_IN_FLIGHT,     RF_REFUSAL,   "id already in flight", "id_in_flight"),
	ROW(RSN_ALPN,             RF_REFUSAL,   "ALPN dot not negotiated", "alpn"),
	ROW(RSN_NOT_ALLOWED,      RF_REFUSAL,   "not in allow", "not_allowed"),
	ROW(RSN_REFUSED_OTHER,    RF_REFUSAL,   "refused", "other"),
	ROW(RSN_ACL_CERT_STALE,   RF_REFUSAL,   "acl, client certificate no longer verifies under client-ca",
	    NULL),
	ROW(RSN_TSIG_MALFORMED,   RF_REFUSAL,   "malformed TSIG", NULL),
	ROW(RSN_TSIG_BADKEY,      RF_REFUSAL,   "BADKEY", NULL),
	ROW(RSN_TSIG_BADSIG,      RF_REFUSAL,   "BADSIG", NULL),
	ROW(RSN_TSIG_BADTIME,     RF_REFUSAL,   "BADTIME", NULL),
	ROW(RSN_TRANSFER_RATE,    RF_REFUSAL,   "transfer rate", NULL),
	ROW(RSN_BACKEND_BUSY,     RF_REFUSAL,   "backend busy with another backend-source", NULL),
	ROW(RSN_NO_MEMORY,        RF_REFUSAL,   "out of memory", NULL),
	ROW(RSN_TRANSFER_LIMIT,   RF_LIMIT,     "transfer limit", "transfer_limit"),
	ROW(RSN_QUERY_LIMIT,      RF_LIMIT,     "query limit", "query_limit"),
	ROW(RSN_HS_TIMEOUT,       RF_HANDSHAKE, "timeout", "timeout"),
	ROW(RSN_HS_VERSION,       RF_HANDSHAKE, "protocol version", "version"),
	ROW(RSN_HS_ALPN,          RF_HANDSHAKE, "no ALPN dot", "alpn"),
	ROW(RSN_HS_CERTIFICATE,   RF_HANDSHAKE, "certificate refused", "certificate"),
	ROW(RSN_HS_CLOSED,        RF_HANDSHAKE, "peer closed in the handshake", "closed"),
	ROW(RSN_HS_OTHER,         RF_HANDSHAKE, "TLS handshake failed", "other"),
	ROW(RSN_UP_CONNECT,       RF_UPSTREAM,  "connect failed", "connect"),
	ROW(RSN_UP_TLS,           RF_UPSTREAM,  "TLS failure", "tls"),
	ROW(RSN_UP_TIMEOUT,       RF_UPSTREAM,  "upstream timeout", "timeout"),
	ROW(RSN_UP_CLOSED,        RF_UPSTREAM,  "closed", "closed"),
	ROW(RSN_CONN_CLOSED,      RF_ABORT,     "connection closed", NULL),
	ROW(RSN_CLIENT_CLOSED,    RF_ABORT,     "client closed", NULL),
	ROW(RSN_CLIENT_ERROR,     RF_ABORT,     "client error", NULL),
	ROW(RSN_CLIENT_GONE,      RF_ABORT,     "client gone", NULL),
	ROW(RSN_TRANSFER_TIMEOUT, RF_ABORT,     "transfer timeout", NULL),
	ROW(RSN_BAD_QUERY_FRAME,  RF_ABORT,     "bad query frame", NULL),
	ROW(RSN_SHUTDOWN,         RF_ABORT,     "shutdown", NULL),
};

/* A code added after the last row makes the table too short; a code added
 * before it leaves a hole, which reason_has_row reports (test_reason). */
_Static_assert(sizeof(table) / sizeof(table[0]) == RSN_COUNT, "a reason code has no row");

/* The row of r; a code out of range or without a row reads as RSN_NONE. */
static const struct reason_row *
row(enum reason r)
{
	return (unsigned)r < RSN_COUNT && table[r].text != NULL ? &table[r] : &table[RSN_NONE];
}

bool
reason_has_row(enum reason r)
{
	return (unsigned)r < RSN_COUNT && table[r].text != NULL;
}

enum reason_family
reason_family(enum reason r)
{
	return row(r)->family;
}

const char *
reason_text(enum reason r)
{
	return row(r)->text;
}

const char *
reason_json(enum reason r)
{
	return row(r)->json;
}

enum reason
reason_series(enum reason r)
{
	if (row(r)->metric != NULL)
		return r;
	return row(r)->family == RF_REFUSAL ? RSN_REFUSED_OTHER : RSN_NONE;
}

const char *
reason_metric(enum reason r)
{
	return row(reason_series(r))->metric;
}

enum reason
reason_upstream(enum reason r)
{
	switch (row(r)->family) {
	case RF_UPSTREAM: return r;
	case RF_HANDSHAKE: return RSN_UP_TLS;
	default: return RSN_UP_CONNECT;
	}
}
