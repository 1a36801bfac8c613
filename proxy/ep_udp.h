/* ep_udp.h - one UDP query from a local secondary as a relay endpoint: it
 * yields the datagram as one framed query, takes the first answer frame and
 * sends it back in one datagram, then reports EOF so the relay ends.
 *
 * Exactly one datagram answers each query (issue 13, A7): the first answer
 * message when it is the whole answer and fits the requester's size; else
 * header and question with TC set (A6); and, if the relay closes before any
 * answer went back (the primary broke mid-message, the shutdown deadline,
 * any error), a SERVFAIL built from the stored query. The datagram leaves
 * from the address the query was sent to (A5: IP_PKTINFO/IPV6_PKTINFO, so a
 * wildcard listener answers from 127.0.0.2 when asked there). The UDP socket
 * belongs to the listener; this never closes it. */
#ifndef XP_EP_UDP_H
#define XP_EP_UDP_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "endpoint.h"
#include "proxy/lib/tsig.h"

/* Both ends of one datagram: who sent it, and the local address and
 * interface it was sent to (family AF_UNSPEC when the kernel did not say). */
struct udp_addr {
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct sockaddr_storage local;
	unsigned ifindex;
};

/* Asks the kernel for each datagram's destination address on sock
 * (IP_PKTINFO, or IPV6_RECVPKTINFO on an IPv6 socket). Returns 0 or -1. */
int udp_pktinfo_enable(int sock);

/* recvmsg of one datagram into buf (cap octets) with both its addresses.
 * Returns its length (possibly above cap: truncated), or -1 (errno). */
ssize_t udp_recv(int sock, uint8_t *buf, size_t cap, struct udp_addr *a);

/* Sends msg to a->peer from a->local (when known). Returns 0 or -1. */
int udp_send(int sock, const struct udp_addr *a, const uint8_t *msg, size_t len);

struct ep_udp {
	struct endpoint ep;              /* the relay holds &ep */
	int sock;                        /* the listener's socket */
	struct udp_addr addr;
	uint8_t *query;                  /* 2-octet length prefix + message */
	size_t query_len, query_off;
	uint16_t qtype;
	size_t max_size;                 /* largest answer that may go back whole */
	bool edns;                       /* the query had an OPT: so does a TC answer */
	uint8_t *answer;                 /* the first answer frame, being collected */
	size_t answer_len, answer_cap;
	bool done;                       /* one datagram sent (or never will be): EOF
	                                  * from now on, and nothing more is sent */
	struct ep_udp_tsig *tsig;        /* own answers (TC, SERVFAIL) are signed; NULL:
	                                  * not (allocated only for signed queries) */
};

/* The request's TSIG and a copy of its key (a reload cannot free it). */
struct ep_udp_tsig {
	struct tsig_key key;
	struct tsig_request req;         /* .key = &key */
};

/* Sets up the endpoint around a received datagram (copied) of type qtype.
 * max_size: the requester's EDNS UDP size, or 512. Returns 0, or -1 on
 * ENOMEM. */
int ep_udp_init(struct ep_udp *u, int sock, const struct udp_addr *a, const uint8_t *msg,
                size_t len, uint16_t qtype, size_t max_size, bool edns,
                void (*on_event)(void *), void *owner);

/* The query was signed with a key the proxy holds and verified (req from
 * tsig_verify_query, TSIG_OK): the proxy's own answers to it, the TC and
 * the SERVFAIL, are signed with that key (RFC 8945 §5.3). Out of memory:
 * they go unsigned. */
void ep_udp_set_tsig(struct ep_udp *u, const struct tsig_request *req);

/* Is the query signed with a key the proxy holds and verified (ep_udp_set_tsig)? */
static inline bool ep_udp_signed(const struct ep_udp *u) { return u->tsig != NULL; }

/* Appends the TSIG of the query's key to an answer made for it by the
 * proxy (msg, len octets in a buffer of cap): the relay's own answers
 * (a SERVFAIL when no primary answered, a refusal) go through this, as the
 * TC and the closing SERVFAIL do. Returns the new length, or -1 when the
 * query is not signed with a key the proxy holds or the TSIG does not fit. */
int ep_udp_sign(const struct ep_udp *u, uint8_t *msg, size_t len, size_t cap);

/* Frees what ep_udp_init allocated. */
void ep_udp_cleanup(struct ep_udp *u);

/* True if frame (2-octet length prefix and one message, frame_len octets in
 * all) is by itself the whole answer to a query of type qtype: an SOA
 * answer, any non-zero RCODE, an IXFR whose first message is a lone SOA or
 * holds the whole sequence up to the closing SOA (xfr.c's rules). */
bool ep_udp_whole(uint16_t qtype, const uint8_t *frame, size_t frame_len);

/* The answer to send for msg (len octets) when it cannot go back whole:
 * header and question only, TC set, other counts zeroed, plus an empty OPT
 * when the query had EDNS. Writes into out (cap octets) and returns its
 * length, or 0 if msg has no sane question. */
size_t ep_udp_truncate(const uint8_t *msg, size_t len, bool edns, uint8_t *out, size_t cap);

/* The SERVFAIL for a query (msg, len octets, no prefix) left without an
 * answer: its ID and question, EDE ede with text, an OPT only if the query
 * had one. Writes into out (DNS_ERROR_MAX octets fit) and returns its
 * length, or 0 if the query has no ID. */
size_t ep_udp_servfail(const uint8_t *msg, size_t len, int ede, const char *text, uint8_t *out,
                       size_t cap);

#endif
