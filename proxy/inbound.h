/* inbound.h - the inbound direction: a remote secondary's TLS session
 * (ALPN dot required), judged against the zones' allow lists, relayed to
 * the legacy primary over plaintext TCP opened at the first allowed query. */
#ifndef XP_INBOUND_H
#define XP_INBOUND_H

#include <stdbool.h>
#include <sys/socket.h>

struct server;
struct inbound_conn;

/* Takes ownership of fd (accepted, non-blocking); the fd is closed on
 * failure. group is the key the server counted the client under (per-IP
 * caps), handed back to server_conn_gone. Returns 0, or -1 with errno
 * (ENOMEM, EMFILE...) when the connection could not be set up. */
int inbound_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peer_len,
                   const struct sockaddr_storage *group);

/* At max-handshakes: closes the oldest connection still in its TLS
 * handshake from an address holding max-handshakes-per-ip or more pending,
 * else the oldest of all. */
void inbound_evict_handshake(struct server *srv);

/* At max-clients (issue 13, B14): closes the oldest session past its
 * handshake that never had a query admitted (srv->unadmitted). Returns
 * true if there was one. */
bool inbound_evict_unadmitted(struct server *srv);


#endif
