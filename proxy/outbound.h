/* outbound.h - the outbound direction: a local legacy secondary's plaintext
 * queries (TCP, and UDP for SOA polls) carried over TLS 1.3 to a remote XoT
 * primary, one group per [outbound NAME] section, with pooled sessions.
 * Run by server.c through the table below. */
#ifndef XP_OUTBOUND_H
#define XP_OUTBOUND_H

#include <stddef.h>

#include "direction.h"
#include "tls/tls_client.h"

extern const struct direction_ops outbound_direction;

/* The name logs give a group: "outbound NAME" ("outbound" unnamed). */
void outbound_label(const char *name, char *out, size_t len);

#endif
