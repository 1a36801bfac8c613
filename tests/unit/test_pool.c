/* test_pool.c - the outbound pool's primary rules (proxy/pool.c, issue 13
 * items 2, 3, 8) with a real event loop and two primaries on loopback ports
 * where nothing listens (connections are refused): failover in the
 * handshake step, backoff that doubles, the skip mask of a retry, moving
 * waiting queries to the pool that replaced a retired one, and backoff
 * carried into it. XOT-04, XOT-08. */
#include <CUnit/CUnit.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/lib/log.h"
#include "proxy/lib/netaddr.h"
#include "proxy/ep_tls.h"
#include "proxy/pool.h"
#include "tls/tls_client.h"
#include "unit.h"

static int events;

static void
on_event(void *owner)
{
	events++;
}

/* A loopback port nothing listens on (bound, then closed). */
static int
dead_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage ss = ut_addr_port("127.0.0.1", 0);
	socklen_t len = sizeof(struct sockaddr_in);
	if (fd < 0 || bind(fd, SA(ss), len) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static struct pool *
two_dead_primaries(struct ev_loop *loop)
{
	struct pool_settings st;
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < 2; i++) {
		char text[32];
		snprintf(text, sizeof(text), "127.0.0.1:%d", dead_port());
		CU_ASSERT_EQUAL_FATAL(netaddr_parse(text, 853, &st.primary[i]), 0);
	}
	st.n_primary = 2;
	st.n_pins = 1;                       /* strict: any pin (never reached) */
	st.connect_timeout = 5;
	st.idle_timeout = 30;
	st.max_sessions = 1;
	struct tls_client_auth auth = { .pins = (const uint8_t (*)[32])st.pins, .n_pins = 1 };
	char err[TLS_ERR_MAX];
	WOLFSSL_CTX *ctx = tls_client_ctx_new(&auth, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	struct pool *p = pool_new(loop, "outbound t", &st, ep_tls_connector_new(ctx, st.n_primary));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* Drives a session's set-up the way the relay does until it ends. */
static enum io_result
drive(struct ev_loop *loop, struct pool_session *s)
{
	struct endpoint *ep = pool_session_endpoint(s);
	enum io_result r = IO_AGAIN;
	for (int i = 0; i < 200 && r == IO_AGAIN; i++) {
		r = ep->ops->handshake(ep);
		if (r == IO_AGAIN) {
			endpoint_watch(ep, false, false);
			ev_run(loop, EVRUN_ONCE);
		}
	}
	return r;
}

static void
test_backoff_and_skip(void)
{
	enum log_level saved = log_threshold;
	log_threshold = XP_LOG_ERROR;           /* the primary_failed warnings */
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pool *p = two_dead_primaries(loop);
	char why[256] = "";

	/* both refuse: the handshake step fails over, then fails; each backs off 1 s */
	struct pool_session *s = pool_take(p, on_event, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(drive(loop, s), IO_ERR);
	CU_ASSERT_EQUAL(p->primaries[0].backoff, 1.0);
	CU_ASSERT_EQUAL(p->primaries[1].backoff, 1.0);
	CU_ASSERT_FALSE(pool_can_try(p, 0));
	CU_ASSERT_FALSE(pool_session_answered(s));
	pool_put(s, false);
	CU_ASSERT_PTR_NULL(pool_take(p, on_event, NULL, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "all backing off"));

	/* primary 0's step runs out: tried again, except by a retry that skips it */
	p->primaries[0].retry_at = 0;
	CU_ASSERT_TRUE(pool_can_try(p, 0));
	CU_ASSERT_FALSE(pool_can_try(p, 1u << 0));
	CU_ASSERT_PTR_NULL(pool_take_skip(p, 1u << 0, on_event, NULL, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no other primary to try"));

	/* it fails again: the step doubles (nothing answered in between) */
	s = pool_take(p, on_event, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(drive(loop, s), IO_ERR);
	CU_ASSERT_EQUAL(p->primaries[0].backoff, 2.0);
	CU_ASSERT_EQUAL(p->primaries[1].backoff, 1.0);   /* still in its step: not tried */
	pool_put(s, false);
	CU_ASSERT_EQUAL(pool_open_sessions(p), 0);
	pool_retire(p, NULL);
	ev_loop_destroy(loop);
	log_threshold = saved;
}

/* A reload that changed the group: the backoff carries into the new pool,
 * and queries waiting for a slot move to it. */
static void
test_retire_to_successor(void)
{
	enum log_level saved = log_threshold;
	log_threshold = XP_LOG_ERROR;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pool *old = two_dead_primaries(loop);
	char why[256] = "";
	struct pool_session *s = pool_take(old, on_event, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(drive(loop, s), IO_ERR);
	pool_put(s, false);
	old->primaries[1].retry_at = 0;         /* primary 1 usable, primary 0 backing off */
	old->primaries[1].backoff = 0;

	/* a session toward primary 1 holds its one slot (max-sessions 1); a
	 * second query waits for it */
	struct pool_session *busy = pool_take(old, on_event, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(busy);
	struct pool_session *w = pool_take(old, on_event, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(old->waiting.n, 1);

	struct pool_settings st = old->settings;
	st.connect_timeout = 6;                 /* changed: a new pool */
	char err[TLS_ERR_MAX];
	struct tls_client_auth auth = { .pins = (const uint8_t (*)[32])st.pins, .n_pins = 1 };
	struct pool *fresh = pool_new(loop, "outbound t", &st, ep_tls_connector_new(tls_client_ctx_new(&auth, err), st.n_primary));
	CU_ASSERT_PTR_NOT_NULL_FATAL(fresh);
	pool_retire(old, fresh);
	CU_ASSERT_EQUAL(fresh->waiting.n, 1);   /* moved */
	CU_ASSERT_TRUE(fresh->primaries[0].retry_at > ev_now(loop));   /* backoff carried */
	CU_ASSERT_EQUAL(fresh->primaries[0].backoff, 1.0);
	CU_ASSERT_PTR_EQUAL(fresh->pred, old);  /* its busy session counts toward the cap */

	/* the busy session ends: the waiter gets its slot in the new pool */
	CU_ASSERT_EQUAL(drive(loop, busy), IO_ERR);   /* primary 1 refuses too */
	pool_put(busy, false);
	for (int i = 0; i < 10 && fresh->waiting.n > 0; i++)
		ev_run(loop, EVRUN_NOWAIT);
	CU_ASSERT_EQUAL(fresh->waiting.n, 0);
	CU_ASSERT_PTR_NULL(fresh->pred);        /* the old pool has nothing open: let go */
	drive(loop, w);
	pool_put(w, false);
	pool_retire(fresh, NULL);
	ev_loop_destroy(loop);
	log_threshold = saved;
}

/* A failover in the handshake step respects max-sessions: the next
 * primary at its cap makes the query wait for a slot there instead of
 * opening one more session to it. */
static void
test_failover_waits_at_cap(void)
{
	enum log_level saved = log_threshold;
	log_threshold = XP_LOG_ERROR;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pool *p = two_dead_primaries(loop);      /* max-sessions 1 */
	char why[256] = "";
	/* primary 1's one slot is taken (still connecting) */
	struct pool_session *busy = pool_take_skip(p, 1u << 0, on_event, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(busy);
	CU_ASSERT_EQUAL(p->primaries[1].n_sessions, 1);
	/* a query to primary 0, which refuses: it fails over to primary 1 */
	struct pool_session *s = pool_take(p, on_event, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	struct endpoint *ep = pool_session_endpoint(s);
	enum io_result r = IO_AGAIN;
	for (int i = 0; i < 200 && r == IO_AGAIN && p->waiting.n == 0; i++) {
		r = ep->ops->handshake(ep);
		if (r == IO_AGAIN && p->waiting.n == 0) {
			endpoint_watch(ep, false, false);
			ev_run(loop, EVRUN_ONCE);
		}
	}
	CU_ASSERT_EQUAL(r, IO_AGAIN);
	CU_ASSERT_EQUAL(p->primaries[0].backoff, 1.0);  /* primary 0 failed */
	CU_ASSERT_EQUAL(p->waiting.n, 1);               /* waits for primary 1's slot */
	CU_ASSERT_EQUAL(p->primaries[1].n_sessions, 1); /* not a second session */
	CU_ASSERT_EQUAL(pool_open_sessions(p), 1);
	CU_ASSERT_FALSE(pool_session_retryable(s));
	pool_put(s, false);
	pool_put(busy, false);
	CU_ASSERT_EQUAL(pool_open_sessions(p), 0);
	pool_retire(p, NULL);
	ev_loop_destroy(loop);
	log_threshold = saved;
}

/* The retry bound is per query episode (t90): a query that got its
 * SERVFAIL leaves nothing behind for the next query on the connection. */
static void
test_episode(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pool *p = two_dead_primaries(loop);
	struct pool_episode e = { 0 };
	const struct netaddr *A0 = &p->primaries[0].addr, *A1 = &p->primaries[1].addr;

	/* primary 0 fails the queries: primary 1 is tried, skipping 0 */
	CU_ASSERT_EQUAL(pool_episode_open(&e, p), 0);
	CU_ASSERT_TRUE(pool_episode_retry(&e, p, A0));
	CU_ASSERT_EQUAL(pool_episode_open(&e, p), 1u << 0);
	/* primary 1 fails them too: none left, SERVFAIL ends the episode */
	CU_ASSERT_FALSE(pool_episode_retry(&e, p, A1));
	/* the next query may try every primary again */
	CU_ASSERT_EQUAL(pool_episode_open(&e, p), 0);

	/* a stale reused session: one retry, not a second */
	CU_ASSERT_TRUE(pool_episode_retry(&e, p, NULL));
	CU_ASSERT_EQUAL(pool_episode_open(&e, p), 0);
	CU_ASSERT_FALSE(pool_episode_retry(&e, p, NULL));
	CU_ASSERT_EQUAL(pool_episode_open(&e, p), 0);
	CU_ASSERT_TRUE(pool_episode_retry(&e, p, NULL));   /* a new episode */

	/* an answer clears what the episode tried */
	CU_ASSERT_EQUAL(pool_episode_open(&e, p), 0);
	CU_ASSERT_TRUE(pool_episode_retry(&e, p, A0));
	pool_episode_answered(&e);
	CU_ASSERT_EQUAL(pool_episode_open(&e, p), 0);

	/* a query that waited for a slot, or whose set-up is still running,
	 * had its whole set-up: no second one (t96) */
	char why[256] = "";
	struct pool_session *busy = pool_take(p, on_event, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(busy);
	struct pool_session *w = pool_take(p, on_event, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(p->waiting.n, 1);
	CU_ASSERT_FALSE(pool_session_retryable(w));
	CU_ASSERT_FALSE(pool_session_retryable(busy));
	pool_put(w, false);
	pool_put(busy, false);
	CU_ASSERT_EQUAL(pool_open_sessions(p), 0);
	CU_ASSERT_EQUAL(p->waiting.n, 0);
	p->primaries[0].retry_at = p->primaries[0].backoff = 0;

	/* a reload replaced the pool between two tries: the primary that
	 * failed is skipped by address, whatever its index now (t97) */
	struct pool_settings st = p->settings;
	st.primary[0] = p->settings.primary[1];
	st.primary[1] = p->settings.primary[0];     /* the same two, swapped */
	char err[TLS_ERR_MAX];
	struct tls_client_auth auth = { .pins = (const uint8_t (*)[32])st.pins, .n_pins = 1 };
	struct pool *q = pool_new(loop, "outbound t", &st, ep_tls_connector_new(tls_client_ctx_new(&auth, err), st.n_primary));
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL(pool_episode_open(&e, p), 0);
	CU_ASSERT_TRUE(pool_episode_retry(&e, q, A0));   /* failed in p, judged in q */
	CU_ASSERT_EQUAL(pool_episode_open(&e, q), 1u << 1);
	st.n_primary = 1;                           /* only the other primary */
	struct pool *r = pool_new(loop, "outbound t", &st, ep_tls_connector_new(tls_client_ctx_new(&auth, err), st.n_primary));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(pool_episode_open(&e, r), 0);
	CU_ASSERT_TRUE(pool_episode_retry(&e, r, A0));   /* r has not A0: its one primary is tried */
	CU_ASSERT_EQUAL(pool_episode_open(&e, r), 0);
	pool_retire(q, NULL);
	pool_retire(r, NULL);

	/* every other primary backing off: no retry */
	p->primaries[1].retry_at = ev_now(loop) + 60;
	CU_ASSERT_FALSE(pool_episode_retry(&e, p, A0));
	CU_ASSERT_EQUAL(pool_episode_open(&e, p), 0);
	pool_retire(p, NULL);
	ev_loop_destroy(loop);
}

/* A listening loopback socket that accepts (in the backlog) and never
 * speaks TLS; its port in *port. */
static int
silent_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage ss = ut_addr_port("127.0.0.1", 0);
	socklen_t len = sizeof(struct sockaddr_in);
	if (fd < 0 || bind(fd, SA(ss), len) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* The TLS client endpoint holds its TCP endpoint (issue 14 item 4): it is
 * CONNECTING until the TCP connect completes, then HANDSHAKING; its I/O
 * descriptor is the TCP endpoint's (it has none of its own); a close leaves
 * both CLOSED. A refused connect fails its set-up with the TCP reason. */
static void
test_tls_endpoint_layers(void)
{
	char err[TLS_ERR_MAX];
	uint8_t pin[32] = { 0 };
	struct tls_client_auth auth = { .pins = (const uint8_t (*)[32])pin, .n_pins = 1 };
	WOLFSSL_CTX *ctx = tls_client_ctx_new(&auth, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	int port = 0, lis = silent_listener(&port);
	CU_ASSERT_FATAL(lis >= 0);
	char text[32];
	struct netaddr to;
	snprintf(text, sizeof(text), "127.0.0.1:%d", port);
	CU_ASSERT_EQUAL_FATAL(netaddr_parse(text, 853, &to), 0);

	struct ep_tls t;
	CU_ASSERT_EQUAL_FATAL(ep_tls_client_init(&t, NULL, ctx, &to, NULL, on_event, NULL), 0);
	CU_ASSERT_EQUAL(t.ep.state, EP_CONNECTING);
	CU_ASSERT_EQUAL(t.tcp.state, EP_CONNECTING);
	CU_ASSERT_PTR_EQUAL(t.ep.lower, &t.tcp);
	CU_ASSERT_EQUAL(t.ep.fd, -1);
	CU_ASSERT(t.tcp.fd >= 0);
	CU_ASSERT_EQUAL(endpoint_fd(&t.ep), t.tcp.fd);
	enum io_result r = IO_AGAIN;
	for (int i = 0; i < 100 && r == IO_AGAIN && t.ep.state == EP_CONNECTING; i++) {
		struct pollfd pf = { .fd = t.tcp.fd, .events = POLLOUT };
		poll(&pf, 1, 50);
		t.ep.hs_blk = 0;
		r = endpoint_handshake(&t.ep);
	}
	CU_ASSERT_EQUAL(r, IO_AGAIN);                   /* the server hello never comes */
	CU_ASSERT_EQUAL(t.ep.state, EP_HANDSHAKING);
	CU_ASSERT_EQUAL(t.tcp.state, EP_OPEN);          /* the transport is up */
	CU_ASSERT_EQUAL(t.ep.hs_blk, EV_READ);
	CU_ASSERT_TRUE(endpoint_open(&t.ep));
	CU_ASSERT_FALSE(endpoint_established(&t.ep));
	endpoint_close(&t.ep, true);
	CU_ASSERT_EQUAL(t.ep.state, EP_CLOSED);
	CU_ASSERT_EQUAL(t.tcp.state, EP_CLOSED);
	CU_ASSERT_EQUAL(t.tcp.fd, -1);
	CU_ASSERT_PTR_NULL(t.ssl);
	endpoint_close(&t.ep, true);                    /* a second close does nothing */

	close(lis);                                     /* now nothing listens: refused */
	CU_ASSERT_EQUAL_FATAL(ep_tls_client_init(&t, NULL, ctx, &to, NULL, on_event, NULL), 0);
	r = IO_AGAIN;
	for (int i = 0; i < 100 && r == IO_AGAIN; i++) {
		struct pollfd pf = { .fd = t.tcp.fd, .events = POLLOUT };
		poll(&pf, 1, 50);
		t.ep.hs_blk = 0;
		r = endpoint_handshake(&t.ep);
	}
	CU_ASSERT_EQUAL(r, IO_ERR);
	CU_ASSERT_EQUAL(t.ep.state, EP_CONNECTING);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.ep.err, "connect"));
	endpoint_close(&t.ep, false);
	CU_ASSERT_EQUAL(t.tcp.fd, -1);
	wolfSSL_CTX_free(ctx);
}

int
test_pool_register(void)
{
	CU_pSuite s = CU_add_suite("pool", NULL, NULL);
	if (s == NULL ||
	    CU_add_test(s, "backoff doubles, retries skip tried primaries", test_backoff_and_skip) == NULL ||
	    CU_add_test(s, "retire to a successor: waiters and backoff move", test_retire_to_successor) == NULL ||
	    CU_add_test(s, "retries are bounded per query episode", test_episode) == NULL ||
	    CU_add_test(s, "a failover waits at the next primary's cap", test_failover_waits_at_cap) == NULL ||
	    CU_add_test(s, "a TLS endpoint holds its TCP endpoint", test_tls_endpoint_layers) == NULL)
		return -1;
	return 0;
}
