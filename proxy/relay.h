/* relay.h - the relay core shared by both directions: a client endpoint
 * (the side that sends queries) and an upstream endpoint (the side that
 * answers), with DNS framing, the answer ring, the answer-stream tracker,
 * local answers at frame boundaries, and the connection's deadlines.
 *
 * The direction module embeds struct relay in its own connection object
 * and supplies the hooks: the verdict on each query, how to open the
 * upstream, the limits in force, and what to do when the relay is done. */
#ifndef XP_RELAY_H
#define XP_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy/lib/dnsmsg.h"
#include "endpoint.h"
#include "proxy/lib/container.h"
#include "proxy/lib/fifo.h"
#include "proxy/lib/netaddr.h"
#include "proxy/lib/reason.h"
#include "policy.h"
#include "proxy/lib/respscan.h"
#include "proxy/lib/ring.h"
#include "proxy/lib/xfr.h"

#define RELAY_IN_SIZE 4096          /* largest query frame accepted, prefix included */
#define RELAY_LOCAL_SIZE (DNS_ERROR_MAX + 2)
#define RELAY_RING_SIZE 65536
#define RELAY_MAX_INFLIGHT 16       /* pipelined queries awaiting answers */
#define RELAY_MAX_XFR 8             /* of which AXFR/IXFR; more get SERVFAIL (XOT-10) */

struct relay;

/* Seconds; read from the configuration in force each time they are needed. */
struct relay_limits {
	unsigned handshake;          /* client endpoint set-up */
	unsigned idle;               /* no complete query and nothing owed */
	unsigned transfer;           /* no progress while answers are owed */
	unsigned upstream;           /* upstream set-up, and the first octet of an answer */
};

struct relay_hooks {
	enum xp_dir direction;       /* for logs and metrics; the upstream is named
	                              * after it (dir_upstream_label: backend, primary) */
	/* The client endpoint finished its handshake; false refuses the session
	 * (the hook logs why). */
	bool (*client_ready)(struct relay *r);
	/* The verdict on one parsed query, under the configuration in force. */
	struct verdict (*judge)(struct relay *r, const struct dns_query *q, const uint8_t *msg,
	                        size_t len);
	/* Optional. The answer to a forwarded query has ended (whatever way):
	 * the verdict's token comes back. */
	void (*xfr_done)(struct relay *r, void *token);
	/* Optional. Appends a TSIG to a local answer (msg, len octets in a buffer
	 * of cap) for a query whose verdict said sign; token as in the verdict,
	 * or the inflight's for answers made later. Returns the new length, or
	 * -1 (the answer then goes unsigned). */
	int (*sign_answer)(struct relay *r, void *token, uint8_t *msg, size_t len, size_t cap);
	/* Opens the upstream endpoint into r->up (connecting or established).
	 * Returns RSN_NONE, or the upstream failure (RF_UPSTREAM) with its
	 * details for the log in why. */
	enum reason (*upstream_open)(struct relay *r, char *why, size_t len);
	/* The upstream is no longer needed. clean: established, nothing owed,
	 * at a frame boundary (it may be kept for reuse); the hook must leave
	 * r->up closed or handed over (fd -1). */
	void (*upstream_release)(struct relay *r, bool clean);
	/* Optional. The upstream failed (code: an RF_UPSTREAM or RF_HANDSHAKE
	 * reason; why: in words) before any octet of an answer to the queries
	 * in flight reached the client. true: the direction has
	 * another upstream to try; the relay releases this one as broken, opens
	 * a new one with upstream_open and sends the unanswered queries again,
	 * in order. false: SERVFAIL as before. The direction bounds the tries. */
	bool (*upstream_retry)(struct relay *r, enum reason code, const char *why);
	void (*limits)(const struct relay *r, struct relay_limits *out);
	/* The relay has closed both sides; the owner frees its object now. */
	void (*closed)(struct relay *r);
	/* SERVFAIL EDE code and text when the upstream fails before answering. */
	int upstream_fail_ede;
	const char *upstream_fail_text;
	/* The upstream is held only while a query is in flight: as soon as the
	 * relay owes nothing (no query in flight or being sent, at a frame
	 * boundary, no lone-SOA IXFR answer that may go on) it is released
	 * clean, and the next query opens one again (outbound: a local
	 * connection holds a pooled session only while it uses it). */
	bool release_idle_upstream;
};

/* One query forwarded upstream. It keeps no reference to the
 * configuration: the verdict was taken when it arrived. */
struct inflight {
	struct xfr xfr;
	struct dns_query_echo {         /* what a locally made answer must echo */
		uint8_t qname[DNAME_MAXLEN];    /* then the TSIG key name, when both fit */
		size_t qname_len;
		bool rd, has_opt, has_padding;
		bool has_tsig;              /* the query was signed */
		uint8_t tsig_len;           /* key name after the qname; 0: did not fit */
		bool sign;                  /* local answers to it carry a TSIG */
	} echo;
	void *token;                    /* the verdict's, for hooks->xfr_done */
};

enum relay_state { RELAY_HANDSHAKE, RELAY_OPEN, RELAY_CLOSED };

struct relay {
	uint32_t magic;
	enum relay_state state;
	uint64_t id;
	struct ev_loop *loop;
	const struct relay_hooks *hooks;
	void *owner;                    /* the direction's connection object */
	struct fifo_node link;          /* in its direction's list of live relays */
	struct sockaddr_storage peer;   /* the client */
	char peer_text[NETADDR_TEXT_MAX];
	const char *identity;           /* the client certificate's name or pin, for logs;
	                                 * owned by the direction; NULL without one */
	bool stopping;                  /* shutdown: answer what was read, read no more */

	struct endpoint *cli;           /* owned by the direction object */
	struct endpoint *up;            /* idem; fd -1 when there is none */
	bool up_held;                   /* upstream_open succeeded and it is not released yet
	                                 * (its endpoint may already be closed by a failure) */
	size_t cli_wr_len;              /* length of the pending client write */
	size_t up_wr_len;
	/* octets the direction wants sent on a new upstream before any query
	 * (a PROXY v2 header); owned by the direction, set in upstream_open */
	const uint8_t *up_pre;
	size_t up_pre_len, up_pre_sent;

	/* queries from the client (RELAY_IN_SIZE octets, allocated while query
	 * bytes are buffered); the first in_fwd octets are a frame already
	 * allowed, of which in_sent have gone upstream */
	uint8_t *in;
	size_t in_len, in_fwd, in_sent;
	size_t in_skip;                 /* octets of an oversized frame still to discard */

	uint8_t local[RELAY_LOCAL_SIZE];   /* one local answer waiting for a frame boundary */
	size_t local_len;

	struct ring u2c;                /* answers toward the client */
	struct respscan scan;
	struct inflight *cur;           /* query the current answer frame belongs to */
	struct inflight *inflight;      /* RELAY_MAX_INFLIGHT entries, allocated while
	                                 * queries are in flight (idle sessions hold none) */
	unsigned n_inflight;
	struct inflight lone;           /* last IXFR ended by a lone SOA, in case more follows */
	bool has_lone;
	double lone_end;
	/* An answer frame whose header named no query waiting on this upstream
	 * (or a frame too short for a header): its first drop_len octets are
	 * the ring's last; they never reach the client (see held_octets). */
	bool drop_pending;
	uint16_t drop_id;
	size_t drop_len;

	/* Query frames sent on this upstream whose answers have not begun, kept
	 * for hooks->upstream_retry (allocated, RELAY_IN_SIZE octets, only when
	 * the direction retries); the first rs_sent went to the current one. */
	uint8_t *rs;
	size_t rs_len, rs_sent;
	bool rs_lost;                   /* a query in flight did not fit: no retry */
	bool no_retry;                  /* being killed: SERVFAIL, no other upstream */

	ev_timer timer;
	double accepted, last_active;
	double up_since;                /* upstream set-up began, or its last complete answer
	                                 * message, or the first query owed since then (a
	                                 * partial frame the client cannot see yet does not
	                                 * count: t97) */
};

/* Starts a relay around an established or handshaking client endpoint
 * (r->cli must be set up, r->up initialised with fd -1). Runs the first
 * step at once; the relay may close (and call hooks->closed) before this
 * returns. */
void relay_start(struct relay *r, struct ev_loop *loop, uint64_t id, const struct sockaddr *peer,
                 socklen_t peer_len, const struct relay_hooks *hooks, void *owner);

/* The endpoints' watcher callbacks land here (endpoint on_event). */
void relay_on_event(void *relay);

/* The per-session caps (XOT-10): RSN_NONE if one more query may go upstream
 * with n_inflight queries (n_transfers of them AXFR/IXFR) in flight, else
 * why not (RSN_QUERY_LIMIT, RSN_TRANSFER_LIMIT). An SOA passes at the
 * transfer cap. */
enum reason relay_cap_check(unsigned n_inflight, unsigned n_transfers, bool is_soa);

/* Gives the upstream back (closed, never reused) if it owes nothing, so the
 * next query opens a new one. True if there is none held any more. */
bool relay_release_idle_upstream(struct relay *r);

/* True if the upstream may be handed to another user: it did not break,
 * is established, nothing is in flight or being sent on it, it sits at a
 * frame boundary, and no lone-SOA IXFR answer on it may still go on (the
 * upstream could send the rest of that answer to whoever uses it next). */
bool relay_upstream_reusable(const struct relay *r);

/* True while the upstream deadline (limits.upstream) runs: the upstream is
 * being set up, or queries are in flight and no octet of their answers
 * that the client can see has come (no complete message; a frame begun is
 * all held: its header is incomplete, or the client takes whole messages). */
bool relay_upstream_owes_first_octet(const struct relay *r);

/* With hooks->release_idle_upstream, what the relay does with its held
 * upstream when an event is handled: IDLE_RELEASE (clean, reusable: it owes
 * nothing), IDLE_CLOSE (quiet, but a lone newer SOA on it may go on: never
 * reused, and an idle client must not hold it, so it is closed), or
 * IDLE_KEEP (in use, none held, or the direction keeps its upstream). */
enum idle_action { IDLE_KEEP, IDLE_RELEASE, IDLE_CLOSE };
enum idle_action relay_idle_action(const struct relay *r);

/* Octets at the tail of the answer ring the client must not see yet: the
 * start of a frame whose header is not complete (its ID unknown), or, for
 * a client endpoint that takes whole messages (UDP), all of a partial
 * frame. */
size_t relay_held_octets(const struct relay *r);

/* The relay a list node belongs to. */
static inline struct relay *
relay_of(struct fifo_node *n)
{
	return container_of(n, struct relay, link);
}

/* Shutdown for a whole list of relays: relay_stop, or relay_kill, on each
 * (they leave the list as they close). */
void relay_list_stop(struct fifo *list);
void relay_list_kill(struct fifo *list, enum reason why);

/* Server shutdown: answer the queries already read, then close; a relay
 * still in its handshake closes now. */
void relay_stop(struct relay *r);

/* Closes both sides at once (shutdown deadline, eviction); in-flight
 * transfers are logged as aborted (why; RSN_NONE: "connection closed").
 * notify: close_notify to the client. A
 * UDP (whole-message) client that got nothing of its answer gets its
 * SERVFAIL first. */
void relay_kill(struct relay *r, bool notify, enum reason why);

static inline bool relay_handshaking(const struct relay *r) { return r->state == RELAY_HANDSHAKE; }

struct log_field;
#define RELAY_LOG_FIELDS 5
/* The fields a structured log event about this relay starts with
 * (direction, conn, client, client_port, client_identity: the last left
 * out of the JSON when NULL) into f[0..RELAY_LOG_FIELDS); returns RELAY_LOG_FIELDS. */
size_t relay_log_fields(const struct relay *r, struct log_field *f);

#endif
