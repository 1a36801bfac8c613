/* xfr.h - one outstanding query on a connection and the rules that decide
 * when its answer stream is complete: SOA after one message; AXFR at the
 * second SOA (RFC 5936 §2.2); IXFR in any of its three shapes (RFC 1995 §4):
 * a lone SOA (ends it, whatever its serial; see xfr_resume), AXFR-style,
 * or incremental; any
 * message with a non-zero RCODE ends the stream. */
#ifndef XP_XFR_H
#define XP_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


struct xfr {
	uint16_t id;
	uint16_t qtype;
	bool has_client_serial;       /* IXFR: serial the client holds */
	uint32_t client_serial;
	double start;                 /* ev_now at the query */

	unsigned messages;
	uint64_t bytes;               /* including length prefixes */
	unsigned soa_seen;            /* SOA RRs in answer sections so far */
	uint32_t first_serial;
	unsigned frame_soas;          /* SOAs in the current message */
	unsigned frame_ancount;
	uint8_t rcode;                /* last non-zero RCODE seen */
	bool done;
	bool lone_soa;                /* IXFR ended by a lone SOA in its first message */
};

void xfr_init(struct xfr *x, uint16_t id, uint16_t qtype, bool has_client_serial,
              uint32_t client_serial, double start);

/* Feed the events of one response message, in order. xfr_frame_end returns
 * true when this message completed the answer stream. */
void xfr_frame_begin(struct xfr *x, const uint8_t hdr[12]);
void xfr_soa(struct xfr *x, uint32_t serial);
bool xfr_frame_end(struct xfr *x, size_t frame_len);

/* A lone-SOA IXFR answer that turned out to be the first message of an
 * AXFR-style answer (another message with its ID arrived): not done. */
void xfr_resume(struct xfr *x);

/* An IXFR answer ended by a lone SOA (lone_soa) may still go on as an
 * AXFR-style answer only if that SOA is newer than the client's serial (or
 * the query had none): an AXFR-style answer starts with the primary's
 * current SOA, and a server not newer than the client answers with that one
 * SOA alone (RFC 1995 section 2). */
bool xfr_lone_may_continue(const struct xfr *x);

/* RFC 1982 serial arithmetic: -1 a<b, 0 equal, 1 a>b, 2 undefined. */
int serial_cmp(uint32_t a, uint32_t b);

#endif
