/* conn.h - one inbound XoT connection: a TLS session with a remote
 * secondary, relayed to one plaintext TCP connection to the legacy primary. */
#ifndef XP_CONN_H
#define XP_CONN_H

#include <sys/socket.h>

struct sockaddr_storage;

struct server;
struct conn;

/* Takes ownership of fd (accepted, any blocking mode); the fd is closed on
 * failure. group is the key the server counted the client under (per-IP
 * caps), handed back to server_conn_gone. Returns 0, or -1 with errno
 * (ENOMEM, EMFILE...) when the connection could not be set up. */
int conn_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peer_len,
                const struct sockaddr_storage *group);

/* Server is stopping: close now if idle, otherwise once the queries already
 * read have been answered and the answers relayed. */
void conn_stop(struct conn *c);

/* Immediate close (stop deadline passed); transfers are logged as aborted. */
void conn_kill(struct conn *c);

/* Closes the oldest connection still in its TLS handshake (max-handshakes). */
void conn_evict_handshake(struct server *srv);

struct conn *conn_next(struct conn *c);

#endif
