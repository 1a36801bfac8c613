/* metrics_http.h - the HTTP endpoint that serves GET /metrics (metrics =
 * ADDRESS:PORT in [global]), run by server.c as one of its parts. */
#ifndef XP_METRICS_HTTP_H
#define XP_METRICS_HTTP_H

#include "direction.h"

extern const struct direction_ops metrics_direction;

#endif
