/* logrl.h - per-client-address rate limit for log lines (XOT-16: clients
 * that retry refused queries forever must not flood the log).
 *
 * Each address (an IPv6 client by its /64) may log LOGRL_BURST lines per
 * LOGRL_WINDOW seconds; further lines are counted, and every LOGRL_WINDOW
 * seconds one line per address reports them: "remote 192.0.2.7/32,
 * suppressed 12 log lines in the last 10 s". A fixed table of LOGRL_SLOTS
 * slots: an address whose slot is taken takes it over, after the previous
 * holder's pending count has been reported. */
#ifndef XP_LOGRL_H
#define XP_LOGRL_H

#include <stdbool.h>
#include <sys/socket.h>

#include "proxy/lib/log.h"

#define LOGRL_SLOTS 1024
#define LOGRL_BURST 5
#define LOGRL_WINDOW 10.0

struct ev_loop;

/* Should a line about peer be logged at time now (seconds)? Counts it as
 * suppressed when not. */
bool logrl_allow(const struct sockaddr *peer, double now);

/* Logs the suppressed counts and resets them; frees slots idle at time now. */
void logrl_flush(double now);

/* Starts the (unreferenced) timer that calls logrl_flush every LOGRL_WINDOW s;
 * logrl_now() then follows the loop's clock. */
void logrl_start(struct ev_loop *loop);

/* Stops the timer, logs what is still suppressed and empties the table. */
void logrl_stop(void);

/* The limiter's clock: ev_now of the started loop, else CLOCK_MONOTONIC. */
double logrl_now(void);

/* The table slot of an address (for tests: to find two that collide). */
unsigned logrl_slot(const struct sockaddr *peer);

/* log_info, at most LOGRL_BURST lines per LOGRL_WINDOW s about one peer. */
#define log_info_rl(peer, ...)                                                 \
	do {                                                                   \
		if (log_threshold >= XP_LOG_INFO && logrl_allow((peer), logrl_now())) \
			xp_log(XP_LOG_INFO, __VA_ARGS__);                      \
	} while (0)

#endif
