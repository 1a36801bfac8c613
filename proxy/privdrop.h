/* privdrop.h - leaving root after the listeners are bound (keeping only
 * the capability to bind ports below 1024), and start-up checks on secret
 * files. */
#ifndef XP_PRIVDROP_H
#define XP_PRIVDROP_H

#include <stdbool.h>

#define PRIVDROP_ERR_MAX 256

/* Does the user exist? Returns 0, or -1 with a reason. */
int privdrop_check_user(const char *user, char err[PRIVDROP_ERR_MAX]);

/* Switches groups, gid and uid to `user`, keeping CAP_NET_BIND_SERVICE
 * (and no other capability) when it was permitted before, so a reload can
 * bind listen addresses on ports below 1024; verifies root cannot be
 * regained. *kept_bind tells whether the capability was kept; when it was
 * not although the switch happened, note says why. Already running as
 * `user`: nothing changes (*kept_bind false, note empty). Returns 0, or -1
 * with a reason (the caller must then exit: running on as root when a user
 * was configured is not an option). */
int privdrop_to(const char *user, bool *kept_bind, char note[PRIVDROP_ERR_MAX],
                char err[PRIVDROP_ERR_MAX]);

/* Returns 1 if the file's mode lets group or others read or write it (and
 * fills mode), 0 if not, -1 if it cannot be stat'ed. */
int file_mode_too_open(const char *path, unsigned *mode);

#endif
