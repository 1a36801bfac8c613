/* conn.h - one inbound XoT connection: a TLS session with a remote
 * secondary, relayed to one plaintext TCP connection to the legacy primary. */
#ifndef XP_CONN_H
#define XP_CONN_H

#include <sys/socket.h>

struct server;
struct conn;

/* Takes ownership of fd (accepted, any blocking mode); the fd is closed on
 * failure. Returns 0, or -1 with errno (ENOMEM, EMFILE...) when the
 * connection could not be set up. */
int conn_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peer_len);

/* Server is stopping: close now if idle, otherwise once in-flight answers
 * have been relayed. */
void conn_stop(struct conn *c);

/* Immediate close (stop deadline passed); transfers are logged as aborted. */
void conn_kill(struct conn *c);

struct conn *conn_next(struct conn *c);

#endif
