/* metrics.h - counters and gauges of the whole process, and the HTTP
 * endpoint that serves them in the Prometheus text format (metrics =
 * ADDRESS:PORT in [global]).
 *
 * Updates are O(1), allocation-free and safe to call whether or not the
 * endpoint is enabled; the per-zone transfer table exists only once
 * metrics_init has run. Every label set is bounded: enums for directions,
 * outcomes and reasons; at most MX_MAX_LISTENERS listener addresses; at
 * most metrics-max-zones zones, the rest counted under zone="_other". */
#ifndef XP_METRICS_H
#define XP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy/lib/netaddr.h"
#include "proxy/lib/reason.h"

struct ev_loop;

#define MX_MAX_LISTENERS 64          /* distinct local addresses in listener="..." */
#define MX_HTTP_MAX_CLIENTS 16       /* concurrent scrapers; more wait in the backlog */
#define MX_HTTP_REQ_MAX 4096         /* request head; longer gets 400 and a close */
#define MX_HTTP_TIMEOUT 5.0          /* seconds per scrape connection, all included */
#define MX_DEFAULT_PORT 9853
#define MX_OTHER_ZONE "_other"

/* The directions of reason.h, under the names the counters have always used. */
enum mx_dir { MX_INBOUND = XP_INBOUND, MX_OUTBOUND = XP_OUTBOUND, MX_DIRS = XP_DIRS };

/* Transfer outcomes as in the log: ok, aborted (cut mid-answer), error
 * (non-zero RCODE from upstream), failed (upstream never answered: SERVFAIL). */
enum mx_outcome { MX_OK, MX_ABORTED, MX_ERROR, MX_FAILED, MX_OUTCOMES };

enum mx_limit {
	MX_LIM_PER_IP, MX_LIM_MAX_HANDSHAKES, MX_LIM_ACCEPT_ALLOW, MX_LIM_MAX_CLIENTS,
	MX_LIM_TRANSFER, MX_LIM_QUERY, MX_LIM_OUTBOUND_CONNS, MX_LIM_OUTBOUND_UDP,
	MX_LIM_MAX_SESSIONS, MX_LIM_METRICS_ALLOW, MX_LIM_METRICS_PER_IP, MX_LIM_COUNT
};

/* ---- updates (hot path: O(1), no allocation) ---------------------------- */

/* A connection was accepted on the listener bound to `listener` (its
 * address is the listener label). */
void metrics_conn_accepted(enum mx_dir dir, const struct netaddr *listener);
void metrics_conn_closed(enum mx_dir dir);

void metrics_handshake_ok(enum mx_dir dir, bool resumed);
/* why: an RF_HANDSHAKE code (reason.h); anything else counts as "other". */
void metrics_handshake_failed(enum mx_dir dir, enum reason why);

/* A policy refusal (an RF_REFUSAL code, counted under its series: see
 * reason_series). Cap verdicts (RSN_TRANSFER_LIMIT, RSN_QUERY_LIMIT) count
 * as limit hits instead. */
void metrics_refusal(enum mx_dir dir, enum reason why);
void metrics_limit_hit(enum mx_limit which);

/* A query was forwarded upstream; metrics_transfer_end must follow once. */
void metrics_transfer_start(enum mx_dir dir);
/* The answer stream ended: zone as the lowercase wire name. */
void metrics_transfer_end(enum mx_dir dir, const uint8_t *zone, size_t zone_len, uint16_t qtype,
                          enum mx_outcome outcome);

/* Octets relayed: answers toward the client, queries toward upstream. */
void metrics_bytes(enum mx_dir dir, bool to_client, uint64_t n);

/* why: an RF_UPSTREAM code, or a handshake failure (counted as "tls"). */
void metrics_upstream_failed(enum mx_dir dir, enum reason why);

/* ---- registry ------------------------------------------------------------ */

/* Sets up the per-zone table (max_zones entries). Returns 0 or -1 (ENOMEM). */
int metrics_init(unsigned max_zones);

/* Frees the zone table and clears every counter (tests; exit). */
void metrics_reset(void);

/* The whole exposition (text format 0.0.4) in a malloc'd buffer; *len set.
 * NULL when out of memory. */
char *metrics_render(size_t *len);

/* Writes s as an exposition label value (\\ \" \n escaped) into out[0..cap),
 * NUL-terminated; returns the length, or (size_t)-1 if it did not fit. */
size_t metrics_escape_label(const char *s, char *out, size_t cap);

/* Counter value of one zone's transfers (for tests); zone NULL = "_other". */
uint64_t metrics_zone_transfers(const uint8_t *zone, size_t zone_len, enum mx_dir dir,
                                uint16_t qtype, enum mx_outcome outcome);

/* The HTTP endpoint that serves all this: metrics_http.h. */

#endif
