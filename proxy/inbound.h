/* inbound.h - the inbound direction: a remote secondary's TLS session
 * (ALPN dot required), admitted at accept (allow lists, per-IP caps,
 * max-handshakes, max-clients), judged against the zones' allow lists,
 * relayed to the legacy primary over plaintext TCP opened at the first
 * allowed query. Run by server.c through the table below. */
#ifndef XP_INBOUND_H
#define XP_INBOUND_H

#include "direction.h"

extern const struct direction_ops inbound_direction;

#endif
