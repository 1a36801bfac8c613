/* test_epudp.c - the UDP endpoint's rules (issue 13): the answer goes back
 * whole only when its first message ends the answer stream and fits
 * (A6, IXFR-03); TC and SERVFAIL builders; exactly one datagram per query,
 * SERVFAIL when the relay closes before an answer (A7); the reply leaves
 * from the address the query was sent to on a wildcard socket (A5). */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "proxy/lib/dname.h"
#include "proxy/lib/dnsmsg.h"
#include "proxy/ep_udp.h"
#include "unit.h"

#define Z "example.test"

/* An answer to an IXFR (or SOA) for Z with the given SOA serials in its
 * answer section, extra A records after the first SOA, and rcode. */
static size_t
answer_frame(uint16_t qtype, uint8_t rcode, const uint32_t *soas, int nsoa, int extra,
             uint8_t *out)
{
	static struct mb m;
	mb_header(&m, 0x4242, 0x84, rcode, 1, (uint16_t)(nsoa + extra), 0, 0);
	mb_question(&m, Z, qtype, 1);
	for (int i = 0; i < nsoa; i++) {
		mb_soa(&m, Z, soas[i]);
		if (i == 0)
			for (int k = 0; k < extra; k++)
				mb_a(&m, "h." Z);
	}
	return mb_frame(&m, out);
}

static void
test_whole_decision(void)
{
	static uint8_t f[70000];
	uint32_t one[] = { 7 };
	size_t n = answer_frame(DNS_TYPE_SOA, 0, one, 1, 0, f);
	CU_ASSERT_TRUE(ep_udp_whole(DNS_TYPE_SOA, f, n));           /* SOA: one message */
	n = answer_frame(DNS_TYPE_IXFR, 0, one, 1, 0, f);
	CU_ASSERT_TRUE(ep_udp_whole(DNS_TYPE_IXFR, f, n));          /* lone SOA */
	uint32_t incr[] = { 9, 7, 8, 8, 9, 9 };                     /* new, old, new..., new */
	n = answer_frame(DNS_TYPE_IXFR, 0, incr, 6, 3, f);
	CU_ASSERT_TRUE(ep_udp_whole(DNS_TYPE_IXFR, f, n));          /* incremental, closed */
	uint32_t axfr_style[] = { 9, 9 };
	n = answer_frame(DNS_TYPE_IXFR, 0, axfr_style, 2, 40, f);
	CU_ASSERT_TRUE(ep_udp_whole(DNS_TYPE_IXFR, f, n));          /* AXFR-style, closed */
	/* The first of several messages: no closing SOA (the case). */
	uint32_t open_incr[] = { 9, 7, 8 };
	n = answer_frame(DNS_TYPE_IXFR, 0, open_incr, 3, 8, f);
	CU_ASSERT_FALSE(ep_udp_whole(DNS_TYPE_IXFR, f, n));
	n = answer_frame(DNS_TYPE_IXFR, 0, one, 1, 10, f);
	CU_ASSERT_FALSE(ep_udp_whole(DNS_TYPE_IXFR, f, n));         /* SOA + records, no end */
	n = answer_frame(DNS_TYPE_IXFR, 2, NULL, 0, 0, f);
	CU_ASSERT_TRUE(ep_udp_whole(DNS_TYPE_IXFR, f, n));          /* an error ends it */
	/* Malformed (shorter than a header) or cut: never whole. */
	uint8_t shortf[7] = { 0, 5, 1, 2, 3, 4, 5 };
	CU_ASSERT_FALSE(ep_udp_whole(DNS_TYPE_SOA, shortf, sizeof(shortf)));
	n = answer_frame(DNS_TYPE_SOA, 0, one, 1, 0, f);
	CU_ASSERT_FALSE(ep_udp_whole(DNS_TYPE_SOA, f, n - 3));
}

static void
test_truncate(void)
{
	static uint8_t f[70000];
	uint8_t out[512];
	uint32_t s[] = { 9, 7, 8 };
	size_t n = answer_frame(DNS_TYPE_IXFR, 0, s, 3, 50, f);
	size_t t = ep_udp_truncate(f + 2, n - 2, false, out, sizeof(out));
	CU_ASSERT_EQUAL(t, 12 + strlen(Z) + 2 + 4);
	CU_ASSERT_EQUAL(rd16(out), 0x4242);
	CU_ASSERT_TRUE(out[2] & 0x02);                              /* TC */
	CU_ASSERT_TRUE(out[2] & 0x80);                              /* QR */
	CU_ASSERT_EQUAL(rd16(out + 4), 1);
	CU_ASSERT_EQUAL(rd16(out + 6), 0);
	CU_ASSERT_EQUAL(rd16(out + 8), 0);
	CU_ASSERT_EQUAL(rd16(out + 10), 0);
	size_t te = ep_udp_truncate(f + 2, n - 2, true, out, sizeof(out));
	CU_ASSERT_EQUAL(te, t + 11);                                /* empty OPT */
	CU_ASSERT_EQUAL(rd16(out + 10), 1);
	CU_ASSERT_EQUAL(rd16(out + t + 1), 41);
	CU_ASSERT_EQUAL(ep_udp_truncate(f + 2, 11, false, out, sizeof(out)), 0);
}

/* A query for Z of type qtype, with an OPT when edns. */
static size_t
query(uint16_t id, uint16_t qtype, bool edns, uint8_t *out)
{
	struct mb m;
	mb_header(&m, id, 0, 0, 1, 0, 0, edns ? 1 : 0);
	mb_question(&m, Z, qtype, 1);
	if (edns)
		mb_opt(&m, 0, NULL, 0);
	memcpy(out, m.buf, m.len);
	return m.len;
}

static void
test_servfail(void)
{
	uint8_t q[512], out[DNS_ERROR_MAX];
	size_t ql = query(0x1234, DNS_TYPE_IXFR, true, q);
	size_t n = ep_udp_servfail(q, ql, DNS_EDE_NETWORK_ERROR, "cut", out, sizeof(out));
	CU_ASSERT_TRUE(n > 12);
	CU_ASSERT_EQUAL(rd16(out), 0x1234);
	CU_ASSERT_EQUAL(out[3] & 0x0F, DNS_RCODE_SERVFAIL);
	CU_ASSERT_TRUE(out[2] & 0x80);
	CU_ASSERT_EQUAL(rd16(out + 4), 1);
	CU_ASSERT_EQUAL(rd16(out + 10), 1);                         /* OPT (with the EDE) */
	CU_ASSERT_EQUAL(rd16(out + n - 3 - 2), DNS_EDE_NETWORK_ERROR);   /* EDE code, then "cut" */
	ql = query(0x1235, DNS_TYPE_SOA, false, q);
	n = ep_udp_servfail(q, ql, DNS_EDE_NO_REACHABLE_AUTHORITY, "x", out, sizeof(out));
	CU_ASSERT_EQUAL(n, 12 + strlen(Z) + 2 + 4);                 /* no OPT without one */
	CU_ASSERT_EQUAL(rd16(out + 10), 0);
	CU_ASSERT_EQUAL(ep_udp_servfail(q, 5, DNS_EDE_OTHER, NULL, out, sizeof(out)), 0);
}

/* ---- the endpoint over real loopback sockets ---------------------------- */

static int
udp_bound(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	*ss = ut_addr_port(addr, 0);
	int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (ss->ss_family == AF_INET6) {
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	*len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (bind(fd, (struct sockaddr *)ss, *len) < 0 || getsockname(fd, (struct sockaddr *)ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Receives one datagram within ms milliseconds; its length, or -1. */
static ssize_t
recv_within(int fd, uint8_t *buf, size_t cap, int ms, struct sockaddr_storage *from)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return -1;
	socklen_t fl = sizeof(*from);
	return recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, &fl);
}

/* A listener socket and a client; the client's query received through
 * udp_recv into *a. */
struct pair {
	int lis, cli;
	struct udp_addr a;
	uint8_t q[512];
	size_t ql;
};

static int
pair_open(struct pair *p, uint16_t qtype, uint16_t id)
{
	struct sockaddr_storage ls, cs;
	socklen_t ll, cl;
	p->lis = udp_bound("127.0.0.1", &ls, &ll);
	p->cli = udp_bound("127.0.0.1", &cs, &cl);
	if (p->lis < 0 || p->cli < 0)
		return -1;
	p->ql = query(id, qtype, false, p->q);
	if (sendto(p->cli, p->q, p->ql, 0, (struct sockaddr *)&ls, ll) < 0)
		return -1;
	uint8_t buf[512];
	struct pollfd pf = { .fd = p->lis, .events = POLLIN };
	if (poll(&pf, 1, 2000) != 1)
		return -1;
	return udp_recv(p->lis, buf, sizeof(buf), &p->a) == (ssize_t)p->ql ? 0 : -1;
}

static void
pair_close(struct pair *p)
{
	close(p->lis);
	close(p->cli);
}

static void
noop(void *owner)
{
}

/* Reads the query out of the endpoint as the relay would. */
static void
drain_query(struct ep_udp *u)
{
	uint8_t buf[600];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	size_t got = 0;
	CU_ASSERT_EQUAL(u->ep.ops->readv(&u->ep, &iov, 1, &got), IO_OK);
}

static void
test_one_datagram(void)
{
	static uint8_t f[70000];
	uint8_t buf[70000];
	struct sockaddr_storage from;
	size_t put;

	/* A multi-message IXFR's first message: TC, then the rest is ignored
	 * and the close sends nothing more. */
	struct pair p;
	CU_ASSERT_FATAL(pair_open(&p, DNS_TYPE_IXFR, 0x4242) == 0);
	struct ep_udp u;
	CU_ASSERT_FATAL(ep_udp_init(&u, p.lis, &p.a, p.q, p.ql, DNS_TYPE_IXFR, 65535, false, noop,
	                            NULL) == 0);
	drain_query(&u);
	uint32_t s[] = { 9, 7, 8 };
	size_t n = answer_frame(DNS_TYPE_IXFR, 0, s, 3, 20, f);
	CU_ASSERT_EQUAL(u.ep.ops->write(&u.ep, f, n, &put), IO_OK);
	CU_ASSERT_EQUAL(u.ep.ops->write(&u.ep, f, n, &put), IO_OK);   /* a second message */
	u.ep.ops->close(&u.ep, false);
	ssize_t got = recv_within(p.cli, buf, sizeof(buf), 2000, &from);
	CU_ASSERT_FATAL(got >= 12);
	CU_ASSERT_EQUAL(rd16(buf), 0x4242);
	CU_ASSERT_TRUE(buf[2] & 0x02);
	CU_ASSERT_EQUAL(rd16(buf + 6), 0);
	CU_ASSERT_EQUAL(recv_within(p.cli, buf, sizeof(buf), 200, &from), -1);
	ep_udp_cleanup(&u);
	pair_close(&p);

	/* A whole answer that fits goes back as it is, once. */
	CU_ASSERT_FATAL(pair_open(&p, DNS_TYPE_SOA, 0x4242) == 0);
	CU_ASSERT_FATAL(ep_udp_init(&u, p.lis, &p.a, p.q, p.ql, DNS_TYPE_SOA, 512, false, noop,
	                            NULL) == 0);
	drain_query(&u);
	uint32_t one[] = { 7 };
	n = answer_frame(DNS_TYPE_SOA, 0, one, 1, 0, f);
	for (size_t i = 0; i < n; i++)                                  /* octet by octet */
		CU_ASSERT_EQUAL(u.ep.ops->write(&u.ep, f + i, 1, &put), IO_OK);
	u.ep.ops->close(&u.ep, false);
	got = recv_within(p.cli, buf, sizeof(buf), 2000, &from);
	CU_ASSERT_EQUAL(got, (ssize_t)n - 2);
	CU_ASSERT_EQUAL(memcmp(buf, f + 2, n - 2), 0);
	CU_ASSERT_EQUAL(recv_within(p.cli, buf, sizeof(buf), 200, &from), -1);
	ep_udp_cleanup(&u);
	pair_close(&p);

	/* Closed mid-message (the primary broke), or before any answer: one
	 * SERVFAIL with the query's ID (EDE 23, then 22). */
	for (int cut = 1; cut >= 0; cut--) {
		uint16_t id = cut ? 0x5151 : 0x5252;
		CU_ASSERT_FATAL(pair_open(&p, DNS_TYPE_SOA, id) == 0);
		CU_ASSERT_FATAL(ep_udp_init(&u, p.lis, &p.a, p.q, p.ql, DNS_TYPE_SOA, 512, false, noop,
		                            NULL) == 0);
		drain_query(&u);
		if (cut)
			CU_ASSERT_EQUAL(u.ep.ops->write(&u.ep, f, n / 2, &put), IO_OK);
		u.ep.ops->close(&u.ep, false);
		got = recv_within(p.cli, buf, sizeof(buf), 2000, &from);
		CU_ASSERT_FATAL(got >= 12);
		CU_ASSERT_EQUAL(rd16(buf), id);
		CU_ASSERT_EQUAL(buf[3] & 0x0F, DNS_RCODE_SERVFAIL);
		CU_ASSERT_EQUAL(recv_within(p.cli, buf, sizeof(buf), 200, &from), -1);
		ep_udp_cleanup(&u);
		pair_close(&p);
	}
}

/* With the query's TSIG set (a key the proxy holds), the TC answer and the
 * SERVFAIL carry a TSIG record (RFC 8945 §5.3; t67 proves BIND and NSD
 * verify it). */
static void
test_signed_own_answers(void)
{
	static uint8_t f[70000];
	uint8_t buf[2048];
	struct sockaddr_storage from;
	size_t put;
	struct tsig_key key = { .alg = TSIG_HMAC_SHA256, .secret_len = 16 };
	key.name_len = (size_t)dname_from_text("xfr-key", key.name);
	struct tsig_request req = { .key = &key, .mac_len = 32, .orig_id = 0x4242, .fudge = 300 };
	req.key_name_len = key.name_len;
	memcpy(req.key_name, key.name, key.name_len);
	req.alg_name_len = (size_t)dname_from_text("hmac-sha256", req.alg_name);
	for (int servfail = 0; servfail <= 1; servfail++) {
		struct pair p;
		CU_ASSERT_FATAL(pair_open(&p, DNS_TYPE_IXFR, 0x4242) == 0);
		struct ep_udp u;
		CU_ASSERT_FATAL(ep_udp_init(&u, p.lis, &p.a, p.q, p.ql, DNS_TYPE_IXFR, 512, false, noop,
		                            NULL) == 0);
		ep_udp_set_tsig(&u, &req);
		drain_query(&u);
		uint32_t s[] = { 9, 7, 8 };
		size_t n = answer_frame(DNS_TYPE_IXFR, 0, s, 3, 20, f);
		if (!servfail)
			CU_ASSERT_EQUAL(u.ep.ops->write(&u.ep, f, n, &put), IO_OK);
		u.ep.ops->close(&u.ep, false);
		ssize_t got = recv_within(p.cli, buf, sizeof(buf), 2000, &from);
		size_t tsig_rr = 10 + req.alg_name_len + 6 + 2 + 2 + 32 + 2 + 2 + 2;  /* after the owner */
		CU_ASSERT_FATAL(got > (ssize_t)(12 + tsig_rr));
		CU_ASSERT_EQUAL(buf[3] & 0x0F, servfail ? DNS_RCODE_SERVFAIL : 0);
		CU_ASSERT_EQUAL(rd16(buf + 10), 1);                             /* ARCOUNT: the TSIG */
		size_t at = (size_t)got - tsig_rr - key.name_len;
		CU_ASSERT_EQUAL(memcmp(buf + at, key.name, key.name_len), 0);
		CU_ASSERT_EQUAL(rd16(buf + at + key.name_len), 250);            /* TYPE TSIG */
		ep_udp_cleanup(&u);
		pair_close(&p);
	}
}

/* The relay's own answer to a signed query (outbound sign_answer hook:
 * the SERVFAIL when no primary answered, t92) is signed by ep_udp_sign and
 * goes back whole with its TSIG; an unsigned query's endpoint signs
 * nothing. */
static void
test_sign_relay_answer(void)
{
	uint8_t buf[2048], frame[DNS_ERROR_MAX + 2];
	struct sockaddr_storage from;
	size_t put;
	struct tsig_key key = { .alg = TSIG_HMAC_SHA256, .secret_len = 16 };
	key.name_len = (size_t)dname_from_text("xfr-key", key.name);
	struct tsig_request req = { .key = &key, .mac_len = 32, .orig_id = 0x4343, .fudge = 300 };
	req.key_name_len = key.name_len;
	memcpy(req.key_name, key.name, key.name_len);
	req.alg_name_len = (size_t)dname_from_text("hmac-sha256", req.alg_name);
	for (int sign = 0; sign <= 1; sign++) {
		struct pair p;
		CU_ASSERT_FATAL(pair_open(&p, DNS_TYPE_SOA, 0x4343) == 0);
		struct ep_udp u;
		CU_ASSERT_FATAL(ep_udp_init(&u, p.lis, &p.a, p.q, p.ql, DNS_TYPE_SOA, 512, false, noop,
		                            NULL) == 0);
		if (sign)
			ep_udp_set_tsig(&u, &req);
		CU_ASSERT_EQUAL(ep_udp_signed(&u), sign);
		drain_query(&u);
		size_t n = ep_udp_servfail(p.q, p.ql, DNS_EDE_NO_REACHABLE_AUTHORITY, "no reachable primary",
		                           frame + 2, sizeof(frame) - 2);
		CU_ASSERT_FATAL(n > 12);
		int m = ep_udp_sign(&u, frame + 2, n, sizeof(frame) - 2);
		if (!sign) {
			CU_ASSERT_EQUAL(m, -1);
			m = (int)n;
		}
		CU_ASSERT_FATAL(m >= (int)n);
		wr16(frame, (uint16_t)m);
		CU_ASSERT_EQUAL(u.ep.ops->write(&u.ep, frame, (size_t)m + 2, &put), IO_OK);
		ssize_t got = recv_within(p.cli, buf, sizeof(buf), 2000, &from);
		CU_ASSERT_EQUAL_FATAL(got, m);
		CU_ASSERT_EQUAL(rd16(buf), 0x4343);
		CU_ASSERT_EQUAL(buf[2] & 0x02, 0);                                /* not TC */
		CU_ASSERT_EQUAL(buf[3] & 0x0F, DNS_RCODE_SERVFAIL);
		if (sign) {
			size_t tsig_rr = 10 + req.alg_name_len + 6 + 2 + 2 + 32 + 2 + 2 + 2;
			size_t at = (size_t)got - tsig_rr - key.name_len;
			CU_ASSERT_FATAL((size_t)got > tsig_rr + key.name_len + 12);
			CU_ASSERT_EQUAL(memcmp(buf + at, key.name, key.name_len), 0);
			CU_ASSERT_EQUAL(rd16(buf + at + key.name_len), 250);        /* TYPE TSIG */
		}
		u.ep.ops->close(&u.ep, false);
		CU_ASSERT_EQUAL(recv_within(p.cli, buf, sizeof(buf), 200, &from), -1);   /* one datagram */
		ep_udp_cleanup(&u);
		pair_close(&p);
	}
}

/* A wildcard socket learns each datagram's destination and answers from
 * it: 127.0.0.2 on 0.0.0.0, ::1 on ::. */
static void
wildcard_case(const char *wild, const char *dst)
{
	struct sockaddr_storage ls, cs, from;
	socklen_t ll, cl;
	int lis = udp_bound(wild, &ls, &ll);
	int cli = udp_bound(dst[0] == ':' ? "::1" : "127.0.0.1", &cs, &cl);
	if (lis < 0 || cli < 0) {
		CU_FAIL("socket");
		return;
	}
	CU_ASSERT_EQUAL(udp_pktinfo_enable(lis), 0);
	uint16_t port = ls.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ls)->sin6_port
	                                          : ((struct sockaddr_in *)&ls)->sin_port;
	struct sockaddr_storage to = ut_addr_port(dst, ntohs(port));
	uint8_t q[] = "query", buf[64];
	CU_ASSERT(sendto(cli, q, sizeof(q), 0, (struct sockaddr *)&to, ll) == (ssize_t)sizeof(q));
	struct pollfd pf = { .fd = lis, .events = POLLIN };
	CU_ASSERT_FATAL(poll(&pf, 1, 2000) == 1);
	struct udp_addr a;
	CU_ASSERT_EQUAL(udp_recv(lis, buf, sizeof(buf), &a), (ssize_t)sizeof(q));
	CU_ASSERT_EQUAL(a.local.ss_family, to.ss_family);
	CU_ASSERT_EQUAL(udp_send(lis, &a, (const uint8_t *)"answer", 6), 0);
	CU_ASSERT_EQUAL(recv_within(cli, buf, sizeof(buf), 2000, &from), 6);
	char want[64], saw[64];
	if (to.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&to)->sin6_addr, want, sizeof(want));
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, saw, sizeof(saw));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&to)->sin_addr, want, sizeof(want));
		inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, saw, sizeof(saw));
	}
	CU_ASSERT_STRING_EQUAL(saw, want);
	close(lis);
	close(cli);
}

static void
test_wildcard_source(void)
{
	wildcard_case("0.0.0.0", "127.0.0.2");
	wildcard_case("0.0.0.0", "127.0.0.3");
	wildcard_case("::", "::1");
}

int
test_epudp_register(void)
{
	SUITE("ep_udp");
	TEST(test_whole_decision);
	TEST(test_truncate);
	TEST(test_servfail);
	TEST(test_one_datagram);
	TEST(test_signed_own_answers);
	TEST(test_sign_relay_answer);
	TEST(test_wildcard_source);
	return 0;
}
