/* ep_udp.h - one UDP query from a local secondary as a relay endpoint: it
 * yields the datagram as one framed query, takes the first answer frame and
 * sends it back in one datagram (header and question only, with TC set,
 * when it is larger than the requester's UDP size), then reports EOF so the
 * relay ends. The UDP socket belongs to the listener; this never closes it. */
#ifndef XP_EP_UDP_H
#define XP_EP_UDP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "endpoint.h"

struct ep_udp {
	struct endpoint ep;              /* first: the relay holds &ep */
	int sock;                        /* the listener's socket */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint8_t *query;                  /* 2-octet length prefix + message */
	size_t query_len, query_off;
	size_t max_size;                 /* largest answer that may go back whole */
	bool edns;                       /* the query had an OPT: so does a TC answer */
	uint8_t *answer;                 /* the first answer frame, being collected */
	size_t answer_len, answer_cap;
	bool done;                       /* answered (or gave up): EOF from now on */
};

/* Sets up the endpoint around a received datagram (copied). max_size: the
 * requester's EDNS UDP size, or 512. Returns 0, or -1 on ENOMEM. */
int ep_udp_init(struct ep_udp *u, int sock, const struct sockaddr *peer, socklen_t peer_len,
                const uint8_t *msg, size_t len, size_t max_size, bool edns,
                void (*on_event)(void *), void *owner);

/* Frees what ep_udp_init allocated. */
void ep_udp_cleanup(struct ep_udp *u);

/* The answer to send for msg (len octets) when it exceeds max_size: header
 * and question only, TC set, other counts zeroed, plus an empty OPT when the
 * query had EDNS. Writes into out (cap octets) and returns its length, or 0
 * if msg has no sane question. */
size_t ep_udp_truncate(const uint8_t *msg, size_t len, bool edns, uint8_t *out, size_t cap);

#endif
