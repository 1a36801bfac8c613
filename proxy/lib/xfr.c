/* xfr.c - completion rules for SOA, AXFR and IXFR answer streams. */
#include "xfr.h"

#include <string.h>

#include "dnsmsg.h"

int
serial_cmp(uint32_t a, uint32_t b)
{
	if (a == b)
		return 0;
	uint32_t d = b - a;           /* modulo 2^32 */
	if (d == 0x80000000u)
		return 2;
	return d < 0x80000000u ? -1 : 1;
}

void
xfr_init(struct xfr *x, uint16_t id, uint16_t qtype, bool has_client_serial,
         uint32_t client_serial, double start)
{
	memset(x, 0, sizeof(*x));
	x->id = id;
	x->qtype = qtype;
	x->has_client_serial = has_client_serial;
	x->client_serial = client_serial;
	x->start = start;
}

void
xfr_frame_begin(struct xfr *x, const uint8_t hdr[12])
{
	uint8_t rcode = hdr[3] & 0x0F;
	if (rcode != 0)
		x->rcode = rcode;
	x->frame_soas = 0;
	x->frame_ancount = rd16(hdr + 6);
}

void
xfr_soa(struct xfr *x, uint32_t serial)
{
	x->soa_seen++;
	x->frame_soas++;
	if (x->soa_seen == 1) {
		x->first_serial = serial;
		return;
	}
	if (x->qtype == DNS_TYPE_AXFR && x->soa_seen == 2)
		x->done = true;
	/* IXFR: SOAs come as head, then (old, new) pairs, then the head again,
	 * so the closing SOA is at an even position and repeats the head's
	 * serial; an AXFR-style answer closes at position 2 the same way. */
	if (x->qtype == DNS_TYPE_IXFR && x->soa_seen % 2 == 0 && serial == x->first_serial)
		x->done = true;
}

void
xfr_resume(struct xfr *x)
{
	x->done = false;
	x->lone_soa = false;
}

bool
xfr_lone_may_continue(const struct xfr *x)
{
	return x->lone_soa && (!x->has_client_serial || serial_cmp(x->first_serial, x->client_serial) == 1);
}

bool
xfr_frame_end(struct xfr *x, size_t frame_len)
{
	x->messages++;
	x->bytes += frame_len + 2;
	if (x->rcode != 0 || (x->qtype != DNS_TYPE_AXFR && x->qtype != DNS_TYPE_IXFR))
		x->done = true;
	/* IXFR: a first message holding one lone SOA ends the stream whatever
	 * its serial (shape (a), or PowerDNS's "newer, ask AXFR" answer). If
	 * more messages with this ID follow, the caller resumes it as the start
	 * of an AXFR-style answer (xfr_resume). */
	if (x->qtype == DNS_TYPE_IXFR && x->messages == 1 && x->soa_seen == 1 &&
	    x->frame_ancount == 1) {
		x->done = true;
		x->lone_soa = true;
	}
	return x->done;
}
