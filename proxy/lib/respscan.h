/* respscan.h - incremental scanner over a stream of length-prefixed DNS
 * responses. It sees the bytes relayed from the backend in whatever pieces
 * they arrive (1 byte, split prefix, ring wrap) and reports, per frame: the
 * header, the serial of every SOA in the answer section, and the frame end.
 * It never buffers a message and never fails the relay: a malformed frame is
 * reported as such and skipped by its length prefix. */
#ifndef XP_RESPSCAN_H
#define XP_RESPSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct respscan_ops {
	/* Called once the 12-octet header of a frame is complete. */
	void (*frame_begin)(void *ctx, const uint8_t hdr[12]);
	/* Called for each SOA RR (any class) in the answer section, in order. */
	void (*soa)(void *ctx, uint32_t serial);
	/* Called when the frame's last octet has been seen. frame_begin may not
	 * have been called when malformed (length < 12). */
	void (*frame_end)(void *ctx, size_t frame_len, bool malformed);
};

struct respscan {
	const struct respscan_ops *ops;
	void *ctx;
	int st;                  /* enum in respscan.c */
	int name_st;             /* position inside a name */
	size_t frame_left;       /* octets of the current frame not yet seen */
	size_t frame_len;
	uint8_t acc[12];         /* accumulator for fixed-size fields */
	unsigned acc_have, acc_need;
	unsigned qd_left, an_left;
	unsigned name_octets;    /* length of the name read so far */
	size_t skip;             /* octets to skip in the current state */
	size_t rd_left;          /* rdata octets left (SOA parsing) */
	bool malformed;
	bool stopped;            /* a callback asked respscan_feed to return */
};

void respscan_init(struct respscan *s, const struct respscan_ops *ops, void *ctx);
/* Feeds n octets; returns how many were consumed: all of them, unless a
 * callback called respscan_stop (then the octets up to and including the
 * one that raised that callback). */
size_t respscan_feed(struct respscan *s, const uint8_t *p, size_t n);

/* From a callback: the feed in progress returns after this event. The next
 * feed goes on normally. */
void respscan_stop(struct respscan *s);

/* True between frames (no partial frame seen). */
bool respscan_at_boundary(const struct respscan *s);

/* Octets still to come before the scanner can next be at a boundary: the
 * rest of the length prefix, or the rest of the current frame. */
size_t respscan_to_boundary(const struct respscan *s);

/* Octets of the current, unfinished frame seen so far, prefix included
 * (0 at a boundary). */
size_t respscan_partial(const struct respscan *s);

/* Of those, the octets seen while its header was not yet complete: the
 * whole partial frame until frame_begin, and all of a frame shorter than a
 * header (which never gets one); 0 once frame_begin was called. The relay
 * keeps these from the client until it knows whose answer the frame is. */
size_t respscan_unvetted(const struct respscan *s);

#endif
