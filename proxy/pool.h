/* pool.h - the TLS sessions of one outbound group toward its remote XoT
 * primaries: the failover order, per-primary backoff, ticket cache and idle
 * sessions kept for reuse (XOT-08), under max-sessions per primary.
 *
 * A session taken from the pool is an endpoint the relay drives like any
 * other; its handshake step is the failover: TCP connect, verified TLS
 * handshake, and on failure the next primary that is not backing off
 * (only before any answer byte, since nothing is relayed before the
 * handshake succeeds). */
#ifndef XP_POOL_H
#define XP_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "endpoint.h"
#include "proxy/lib/fifo.h"
#include "proxy/lib/netaddr.h"

struct pool_session;

/* Everything a pool's sessions depend on, from an [outbound] section: a
 * reload keeps the pool (idle sessions, tickets, backoff) when these are
 * equal. Files are compared by content (SHA-256), so a renewed CA or client
 * certificate under the same path counts as a change. Holds no pointer
 * into the configuration. */
struct pool_settings {
	struct netaddr primary[CONF_MAX_PRIMARIES];
	size_t n_primary;
	char auth_name[256];                  /* "" when unset */
	uint8_t pins[CONF_MAX_PINS][CONF_PIN_LEN];
	size_t n_pins;
	bool has_ca, has_client_cert;
	uint8_t ca_digest[32], cert_digest[32], key_digest[32];
	unsigned connect_timeout, idle_timeout, max_sessions;
};

/* The settings of ob into out. Returns 0, or -1 when a file cannot be read
 * (the TLS context cannot be built either then). */
int pool_settings_of(const struct conf_outbound *ob, struct pool_settings *out);

/* Would a pool built from b behave as one built from a? */
bool pool_settings_equal(const struct pool_settings *a, const struct pool_settings *b);

struct primary {
	struct netaddr addr;
	char text[NETADDR_TEXT_MAX];
	double backoff;                  /* current step in seconds, 0 when healthy */
	double retry_at;                 /* not tried again before this time */
	struct fifo idle;                /* established sessions waiting for reuse */
	unsigned n_sessions;             /* open: in use, idle or connecting */
};

struct pool {
	unsigned refs;                   /* the outbound group, each open session, a successor */
	bool retired;                    /* replaced by a reload: keeps nothing idle */
	struct pool_settings settings;   /* what it was built from */
	struct pool *pred;               /* the retired pool it replaced, while that one still
	                                  * has sessions open (they count toward max-sessions) */
	struct pool *succ;               /* the pool that replaced this one (not a reference) */
	struct ev_loop *loop;
	char label[80];                  /* "outbound NAME" for logs */
	struct connector *connector;     /* opens its connections, keeps their tickets */
	struct primary primaries[CONF_MAX_PRIMARIES];
	size_t n_primaries;
	unsigned connect_timeout, idle_timeout, max_sessions;
	uint64_t full_handshakes, resumed_handshakes;
	struct fifo waiting;             /* queries waiting for a slot, oldest first */
	ev_timer wake;                   /* serves the waiters outside any relay step */
};

/* A pool for the outbound group its logs call label ("outbound NAME") with settings st
 * (copied), opening its connections through conn (ep_tls_connector_new;
 * server i of the connector is primary i), which it takes over when it
 * succeeds. NULL on ENOMEM. */
struct pool *pool_new(struct ev_loop *loop, const char *label, const struct pool_settings *st,
                      struct connector *conn);

/* The group lets go (reload or stop): idle sessions are closed now, the
 * ones in use when they are put back; the pool is freed after the last.
 * With a successor (a reload changed the group), the queries waiting for a
 * slot move to it, in order, and the sessions still open here count toward
 * its max-sessions for the same primary address until they close. */
void pool_retire(struct pool *p, struct pool *successor);

/* A session toward the first primary that is not backing off: an idle one
 * when there is one, else a new connection (nothing is sent before its
 * handshake has verified the primary); at max-sessions, one that waits
 * (still "in its handshake" to the relay) until a session is put back or
 * closed. Its events go to on_event(owner). NULL, with a reason in why,
 * when every primary is backing off or too many queries already wait. */
struct pool_session *pool_take(struct pool *p, void (*on_event)(void *), void *owner,
                               char *why, size_t len);
/* The same, never toward a primary whose bit is set in skip (bit i:
 * primary i; those already tried for the queries being retried). */
struct pool_session *pool_take_skip(struct pool *p, uint32_t skip, void (*on_event)(void *),
                                    void *owner, char *why, size_t len);

/* The session failed (why) before any octet of an answer to what was sent
 * on it since it was taken: the relay's first-octet deadline, a broken
 * frame, or a close or alert. That is a failure of its primary, backed off
 * like a refused connect and logged once (a close or alert seen by the
 * session's own read already counted), except a close of a reused idle
 * session before it answered (the primary may have timed it out: not its
 * fault). Returns true if the primary was held at fault; *idx is set to the
 * primary's index either way. */
bool pool_session_failed(struct pool_session *s, enum reason code, const char *why, size_t *idx);

/* May the queries that failed on s be tried on another session? Only if s
 * was established for its holder: a session that waited for a slot past
 * the deadline, or whose handshake step ran out of primaries, has had its
 * whole set-up (queue-timeout, then connect-timeout per primary) already,
 * and a second would double the documented bound (t96). */
bool pool_session_retryable(const struct pool_session *s);

/* Is a primary not in skip (bits as for pool_take_skip) not backing off? */
bool pool_can_try(const struct pool *p, uint32_t skip);

/* The primaries one query episode has tried (issue 13 item 3). An episode
 * is what a local connection sends until it is answered or gets its
 * SERVFAIL: it begins at a session opened for queries that are not being
 * retried, and each primary fails it at most once (plus one retry after a
 * reused idle session that the primary had closed). A failed episode
 * leaves nothing behind: the next query may try every primary again.
 * Primaries are kept by address, not by index: a reload may replace the
 * pool between two tries, and index i of the new pool is another primary
 * (t97). */
struct pool_episode {
	uint64_t tried[CONF_MAX_PRIMARIES];   /* addresses that failed it (pool_addr_key) */
	unsigned n_tried;
	bool stale_retried;              /* its one retry after a stale reused session */
	bool retrying;                   /* the next session opened is its retry */
};

/* A session is being opened in p: the skip mask for pool_take_skip (the
 * primaries of p the episode tried). Unless a retry was granted
 * (pool_episode_retry), this begins a new episode. */
uint32_t pool_episode_open(struct pool_episode *e, const struct pool *p);

/* The session failed the episode's queries before any answer octet;
 * failed: the address of the primary pool_session_failed held at fault,
 * NULL when it was not at fault. True (and the next pool_episode_open
 * continues the episode) when p, the pool now in force, has another
 * primary to try; false: the queries get their SERVFAIL, which ends it. */
bool pool_episode_retry(struct pool_episode *e, const struct pool *p,
                        const struct netaddr *failed);

/* An answer came on the episode's session: every primary may be tried
 * again. */
void pool_episode_answered(struct pool_episode *e);

/* The address of the primary s is (or was last) connected to. */
const struct netaddr *pool_session_primary(const struct pool_session *s);

/* When the session became ready for its current holder (its handshake
 * ended, or it was taken from the idle list); 0 while not established. */
double pool_session_ready_at(const struct pool_session *s);

/* An octet of an answer came on the session since it was taken. */
bool pool_session_answered(const struct pool_session *s);

/* The endpoint the relay drives. */
struct endpoint *pool_session_endpoint(struct pool_session *s);

/* Gives a session back: kept for reuse until idle-timeout when clean
 * (established, nothing owed, at a message boundary), closed otherwise. */
void pool_put(struct pool_session *s, bool clean);

/* Sessions open toward all primaries (for tests and logs). */
unsigned pool_open_sessions(const struct pool *p);

#endif
