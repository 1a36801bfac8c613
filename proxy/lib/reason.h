/* reason.h - typed reasons: why a query was refused, why a TLS handshake
 * failed, why an upstream failed, why a session's transfers were cut; and
 * the direction of a relay. Code decides on the enum; people read the text.
 *
 * One table (reason.c) maps each code to its log text, its JSON value and
 * the metric label it is counted under (after HAProxy's CO_ER_* with
 * conn_err_code_str, and Knot's errcode.h). Nothing turns a text back into
 * a code: whoever knows why something failed sets the code there, and may
 * add a detail text for the log (an errno string, a parser's complaint),
 * which is only ever printed.
 *
 * Lowest layer: no daemon includes, so tls/ and conf/ may return codes. */
#ifndef XP_REASON_H
#define XP_REASON_H

#include <stdbool.h>

/* The two directions of the proxy. */
enum xp_dir { XP_INBOUND, XP_OUTBOUND, XP_DIRS };

/* "inbound", "outbound": in logs, JSON and metric labels alike. */
const char *dir_text(enum xp_dir d);
/* What the direction calls its upstream in logs: "backend", "primary". */
const char *dir_upstream_label(enum xp_dir d);

/* The families a code belongs to; each counted family is one metric
 * series (the label column in brackets). */
enum reason_family {
	RF_NONE,
	RF_REFUSAL,     /* a query answered locally: xotproxy_refusals_total{reason} */
	RF_LIMIT,       /* a session cap: xotproxy_limit_hits_total{limit} */
	RF_HANDSHAKE,   /* xotproxy_tls_handshake_failures_total{reason}; as an
	                 * upstream failure, counted under RSN_UP_TLS */
	RF_UPSTREAM,    /* xotproxy_upstream_failures_total{reason} */
	RF_ABORT,       /* transfers cut: "aborted (TEXT)" in the log, not counted */
};

enum reason {
	RSN_NONE = 0,
	/* refusals with a series of their own, in the order they are exported */
	RSN_ACL,
	RSN_UNKNOWN_ZONE,
	RSN_QTYPE,
	RSN_OPCODE,
	RSN_CLASS,
	RSN_EDNS_VERSION,
	RSN_FORMERR,                /* the query does not parse (detail: the parser's why) */
	RSN_ID_IN_FLIGHT,           /* TCP-02 */
	RSN_ALPN,                   /* XOT-01: the session is closed */
	RSN_NOT_ALLOWED,            /* outbound: the client is not in allow */
	RSN_REFUSED_OTHER,          /* the series the refusals below count under */
	/* refusals counted under RSN_REFUSED_OTHER */
	RSN_ACL_CERT_STALE,         /* the client certificate no longer verifies */
	RSN_TSIG_MALFORMED,
	RSN_TSIG_BADKEY,
	RSN_TSIG_BADSIG,
	RSN_TSIG_BADTIME,
	RSN_TRANSFER_RATE,
	RSN_BACKEND_BUSY,           /* backend-source: the held backend is another source's */
	RSN_NO_MEMORY,
	/* session caps (XOT-10), counted as limit hits */
	RSN_TRANSFER_LIMIT,
	RSN_QUERY_LIMIT,
	/* TLS handshake failures */
	RSN_HS_TIMEOUT,
	RSN_HS_VERSION,
	RSN_HS_ALPN,
	RSN_HS_CERTIFICATE,
	RSN_HS_CLOSED,
	RSN_HS_OTHER,
	/* upstream failures (a handshake failure code counts as RSN_UP_TLS) */
	RSN_UP_CONNECT,
	RSN_UP_TLS,
	RSN_UP_TIMEOUT,
	RSN_UP_CLOSED,
	/* why the transfers of a session were cut */
	RSN_CONN_CLOSED,
	RSN_CLIENT_CLOSED,
	RSN_CLIENT_ERROR,
	RSN_CLIENT_GONE,
	RSN_TRANSFER_TIMEOUT,
	RSN_BAD_QUERY_FRAME,
	RSN_SHUTDOWN,
	RSN_COUNT
};

enum reason_family reason_family(enum reason r);
/* The text for logs (a refusal's "(reason)", a local SERVFAIL's EDE text). */
const char *reason_text(enum reason r);
/* The value of a JSON log field. */
const char *reason_json(enum reason r);
/* The metric label of the series r counts under (its own, or its family's
 * catch-all), or NULL for a family that is not counted. */
const char *reason_metric(enum reason r);
/* The code whose series r counts under: r itself, RSN_REFUSED_OTHER for a
 * refusal without a series of its own, RSN_NONE for a code not counted. */
enum reason reason_series(enum reason r);
/* As an upstream failure: r for RF_UPSTREAM codes, RSN_UP_TLS for
 * handshake failures, RSN_UP_CONNECT for anything else. */
enum reason reason_upstream(enum reason r);
/* True if the code has a row of its own in the table (for the unit test). */
bool reason_has_row(enum reason r);

#endif
