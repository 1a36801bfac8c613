/* relay_int.h - what the relay core's files share and nothing else sees:
 * relay.c (lifecycle, teardown, the client side, the pump and the timer),
 * relay_query.c (query admission), relay_upstream.c (opening, writing,
 * failover) and relay_answer.c (the answer stream). The directions use
 * relay.h only. */
#ifndef XP_RELAY_INT_H
#define XP_RELAY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "proxy/lib/dnsmsg.h"
#include "proxy/lib/reason.h"

/* Included after relay.h, which it does not include (no module cycle). */
struct relay;
struct inflight;
struct log_field;
struct respscan_ops;

/* ---- relay.c -------------------------------------------------------------- */

enum mx_dir relay_dir(const struct relay *r);
/* An upstream failure for the metrics (inbound only: the pool counts
 * outbound's, each with its primary). */
void relay_count_upstream_failure(const struct relay *r, enum reason code);

/* Closes both sides; in-flight transfers are aborted with detail, or the
 * code's text (RSN_NONE: "connection closed"). */
void relay_close(struct relay *r, bool notify, enum reason code, const char *detail);
/* Gives the upstream back to the direction (clean only if reusable). */
void relay_up_release(struct relay *r, bool broken);
/* A forwarded query leaves the table: its token goes back to the direction. */
void relay_inflight_done(struct relay *r, struct inflight *f);
/* Nothing in flight, owed or half relayed. */
bool relay_idle(const struct relay *r);
/* A refusal or handshake-failure line, rate-limited per client address. */
void relay_log_limited(struct relay *r, const char *event, const struct log_field *f, size_t n,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- relay_query.c -------------------------------------------------------- */

/* Takes complete frames from `in` while there is room to act on them. */
bool relay_process_queries(struct relay *r);

/* ---- relay_upstream.c ----------------------------------------------------- */

/* Opens the upstream at the first allowed query; set-up, then writes. */
bool relay_up_ensure(struct relay *r);
bool relay_up_handshake(struct relay *r);
bool relay_up_write(struct relay *r);
/* The upstream failed before answering (code; why: words or NULL):
 * another upstream, or SERVFAIL; false when answers were under way. */
bool relay_upstream_failed(struct relay *r, enum reason code, const char *why);
/* The upstream broke: SERVFAIL if nothing was relayed yet, else abort. */
void relay_up_broken(struct relay *r, enum reason code, const char *what, bool count);

/* ---- relay_answer.c ------------------------------------------------------- */

extern const struct respscan_ops relay_scan_ops;
/* The end of one answer stream: metrics and its summary line. */
void relay_xfr_end(struct relay *r, const struct inflight *f, enum mx_outcome outcome,
                   const char *detail, double end);
int relay_ensure_inflight(struct relay *r);
bool relay_answer_begun(const struct relay *r);
struct inflight *relay_find_inflight(const struct relay *r, uint16_t id);
/* The lone-SOA IXFR answer is over for sure: its summary line. */
void relay_lone_finish(struct relay *r);
int relay_ensure_ring(struct relay *r);
size_t relay_build_answer(struct relay *r, const struct dns_query *q, enum dns_rcode rcode, int ede,
                          const char *text, bool sign, void *token, uint8_t *buf, size_t cap);
void relay_queue_answer(struct relay *r, const struct dns_query *q, enum dns_rcode rcode, int ede,
                        const char *text, bool sign, void *token);
bool relay_flush_local(struct relay *r);
/* Octets of the ring the client may take now. */
size_t relay_visible_octets(const struct relay *r);
/* No answer octet for the queries in flight reached the client. */
bool relay_nothing_relayed(struct relay *r);
size_t relay_up_read_limit(const struct relay *r);
bool relay_up_read(struct relay *r);

#endif
