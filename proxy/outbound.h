/* outbound.h - the outbound direction: a local legacy secondary's plaintext
 * queries (TCP, and UDP for SOA polls) carried over TLS 1.3 to a remote XoT
 * primary, one group per [outbound NAME] section, with pooled sessions. */
#ifndef XP_OUTBOUND_H
#define XP_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>

struct server;
struct conf;
struct outbound;

/* Builds the groups of srv->conf (TLS client contexts, pools) and binds
 * their TCP and UDP listeners (before privileges are dropped). Returns
 * NULL with nothing to do, or on failure (logged; *failed set). */
struct outbound *outbound_open(struct server *srv, bool *failed);

/* Starts or pauses accepting on the TCP listeners (EMFILE backoff). */
void outbound_accept_enable(struct outbound *ob, bool on);

/* SIGHUP: new allow lists, timeouts and TLS settings for the groups still
 * named in conf (listen addresses: outbound_listen_*). Sessions in use
 * finish on what they started with. Returns 0, or -1 (logged) to keep the
 * running configuration. */
int outbound_reload(struct outbound *ob, const struct conf *conf);

/* SIGHUP, listen addresses of the groups still named in conf: binds the
 * new ones (TCP and UDP) before anything changes; unchanged ones keep their
 * sockets. Returns 0, or -1 with the reason in err, nothing left open and
 * nothing changed. After a 0, call commit or abort. */
int outbound_listen_prepare(struct outbound *ob, const struct conf *conf, char *err, size_t len);
/* Swaps in the prepared listeners: removed TCP listeners stop accepting
 * (connections accepted on them go on), removed UDP sockets close once the
 * queries in flight through them are answered. conf must still be alive. */
void outbound_listen_commit(struct outbound *ob);
/* Closes the sockets prepared for a reload that failed. */
void outbound_listen_abort(struct outbound *ob);

/* Shutdown: listeners close, sessions answer what they read, then close. */
void outbound_stop(struct outbound *ob);

/* Shutdown deadline: everything closes now. */
void outbound_kill(struct outbound *ob);

/* Open local connections and UDP queries in flight. */
unsigned outbound_count(const struct outbound *ob);

void outbound_free(struct outbound *ob);

#endif
