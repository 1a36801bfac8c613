/* test_relay_rules.c - issue 13 rules of the relay core that are plain
 * functions of its state: when an upstream may be handed to another user
 * (item 1: never while a lone-SOA IXFR answer may go on, never while
 * anything is owed), and which answer octets the client may not see yet
 * (a frame whose header is incomplete; for UDP, any partial frame). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "proxy/relay.h"
#include "unit.h"

static const struct endpoint_ops tcp_like = { .kind = "tcp" };
static const struct endpoint_ops udp_like = { .kind = "udp", .whole_messages = true };
static const struct respscan_ops no_ops = { NULL, NULL, NULL };

static struct relay r;
static struct endpoint cli, up;

static void
setup(const struct endpoint_ops *cli_ops)
{
	memset(&r, 0, sizeof(r));
	memset(&cli, 0, sizeof(cli));
	memset(&up, 0, sizeof(up));
	cli.ops = cli_ops;
	cli.state = EP_OPEN;
	up.ops = &tcp_like;
	up.state = EP_OPEN;
	r.cli = &cli;
	r.up = &up;
	r.up_held = true;
	respscan_init(&r.scan, &no_ops, &r);
}

static void
test_reusable(void)
{
	setup(&tcp_like);
	CU_ASSERT_TRUE(relay_upstream_reusable(&r));
	r.has_lone = true;                      /* the IXFR answer may go on */
	CU_ASSERT_FALSE(relay_upstream_reusable(&r));
	r.has_lone = false;
	r.n_inflight = 1;
	CU_ASSERT_FALSE(relay_upstream_reusable(&r));
	r.n_inflight = 0;
	r.in_fwd = 20;                          /* a query being sent */
	CU_ASSERT_FALSE(relay_upstream_reusable(&r));
	r.in_fwd = 0;
	r.drop_pending = true;
	CU_ASSERT_FALSE(relay_upstream_reusable(&r));
	r.drop_pending = false;
	uint8_t one = 0;
	respscan_feed(&r.scan, &one, 1);        /* inside a frame */
	CU_ASSERT_FALSE(relay_upstream_reusable(&r));
	respscan_init(&r.scan, &no_ops, &r);
	up.state = EP_CONNECTING;
	CU_ASSERT_FALSE(relay_upstream_reusable(&r));
	up.state = EP_OPEN;
	r.up_held = false;
	CU_ASSERT_FALSE(relay_upstream_reusable(&r));
}

/* t95/t98: with release_idle_upstream a quiet upstream goes back clean; one
 * whose lone newer SOA may go on is closed, not held; one in use is kept. */
static void
test_idle_action(void)
{
	static const struct relay_hooks keeps = { .release_idle_upstream = false };
	static const struct relay_hooks releases = { .release_idle_upstream = true };
	setup(&tcp_like);
	r.hooks = &keeps;
	CU_ASSERT_EQUAL(relay_idle_action(&r), IDLE_KEEP);      /* inbound keeps it */
	r.hooks = &releases;
	CU_ASSERT_EQUAL(relay_idle_action(&r), IDLE_RELEASE);
	r.has_lone = true;
	CU_ASSERT_EQUAL(relay_idle_action(&r), IDLE_CLOSE);
	r.n_inflight = 1;                       /* another query in flight: in use */
	CU_ASSERT_EQUAL(relay_idle_action(&r), IDLE_KEEP);
	r.n_inflight = 0;
	r.up_wr_len = 5;
	CU_ASSERT_EQUAL(relay_idle_action(&r), IDLE_KEEP);
	r.up_wr_len = 0;
	uint8_t one = 0;
	respscan_feed(&r.scan, &one, 1);        /* inside a frame: in use */
	CU_ASSERT_EQUAL(relay_idle_action(&r), IDLE_KEEP);
	respscan_init(&r.scan, &no_ops, &r);
	r.up_held = false;
	CU_ASSERT_EQUAL(relay_idle_action(&r), IDLE_KEEP);
}

/* t97: the first-octet deadline runs until an octet of an answer can
 * reach the client: for TCP until the frame's header is whole, for UDP
 * (whole messages) until a whole message came. */
static void
test_owes_first_octet(void)
{
	static struct inflight fl[1];
	uint8_t f[22] = { 0x03, 0xe8, 0x12, 0x34, 0x84 };     /* 1000 long, 20 came */
	setup(&tcp_like);
	memset(fl, 0, sizeof(fl));
	CU_ASSERT_FALSE(relay_upstream_owes_first_octet(&r));   /* nothing in flight */
	r.inflight = fl;
	r.n_inflight = 1;
	CU_ASSERT_TRUE(relay_upstream_owes_first_octet(&r));
	respscan_feed(&r.scan, f, 10);                          /* header not whole */
	CU_ASSERT_TRUE(relay_upstream_owes_first_octet(&r));
	respscan_feed(&r.scan, f + 10, 12);                     /* TCP: streamed */
	CU_ASSERT_FALSE(relay_upstream_owes_first_octet(&r));
	setup(&udp_like);
	r.inflight = fl;
	r.n_inflight = 1;
	respscan_feed(&r.scan, f, 22);                          /* UDP: all held */
	CU_ASSERT_TRUE(relay_upstream_owes_first_octet(&r));
	respscan_init(&r.scan, &no_ops, &r);
	fl[0].xfr.messages = 1;                                 /* a whole message came */
	CU_ASSERT_FALSE(relay_upstream_owes_first_octet(&r));
	fl[0].xfr.messages = 0;
	up.state = EP_CONNECTING;                                 /* being set up */
	CU_ASSERT_TRUE(relay_upstream_owes_first_octet(&r));
}

/* 2-octet prefix (frame of 30), then header octets one at a time. */
static void
test_held_octets(void)
{
	uint8_t f[32] = { 0, 30, 0x11, 0x11, 0x84 };
	setup(&tcp_like);
	CU_ASSERT_EQUAL(relay_held_octets(&r), 0);
	respscan_feed(&r.scan, f, 13);
	CU_ASSERT_EQUAL(relay_held_octets(&r), 13);     /* ID seen, header not whole */
	respscan_feed(&r.scan, f + 13, 1);
	CU_ASSERT_EQUAL(relay_held_octets(&r), 0);      /* TCP: streamed from here */
	setup(&udp_like);
	respscan_feed(&r.scan, f, 20);
	CU_ASSERT_EQUAL(relay_held_octets(&r), 20);     /* UDP: whole messages only */
	respscan_feed(&r.scan, f + 20, 12);
	CU_ASSERT_EQUAL(relay_held_octets(&r), 0);
	r.drop_pending = true;                          /* a rejected frame's octets */
	r.drop_len = 14;
	CU_ASSERT_EQUAL(relay_held_octets(&r), 14);
	/* a 65535-octet frame does not fit the ring whole: only its header */
	setup(&udp_like);
	uint8_t big[20] = { 0xff, 0xff, 0x22, 0x22, 0x84 };
	respscan_feed(&r.scan, big, 20);
	CU_ASSERT_EQUAL(relay_held_octets(&r), 0);
}

int
test_relay_rules_register(void)
{
	SUITE("relay rules (issue 13)");
	TEST(test_reusable);
	TEST(test_idle_action);
	TEST(test_owes_first_octet);
	TEST(test_held_octets);
	return 0;
}
