/* privdrop.h - leaving root after the listeners are bound (keeping only
 * the capability to bind ports below 1024), and start-up checks on secret
 * files. */
#ifndef XP_PRIVDROP_H
#define XP_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

#define PRIVDROP_ERR_MAX 256

/* Does the user exist, and is it not root (uid 0, whatever its name)?
 * Returns 0, or -1 with a reason. */
int privdrop_check_user(const char *user, char err[PRIVDROP_ERR_MAX]);

/* For a process that does not switch users: PR_SET_NO_NEW_PRIVS, and the
 * capability bounding set cleared but for CAP_NET_BIND_SERVICE when the
 * process may (CAP_SETPCAP; else note says why not). Returns 0, or -1
 * with a reason (no_new_privs could not be set). */
int privdrop_harden(char note[PRIVDROP_ERR_MAX], char err[PRIVDROP_ERR_MAX]);

/* What privdrop_to did beyond the switch itself. */
struct privdrop_outcome {
	bool kept_bind;                         /* CAP_NET_BIND_SERVICE kept */
	char bind_note[PRIVDROP_ERR_MAX];       /* switched without it: why ("" otherwise) */
	char bounding_note[PRIVDROP_ERR_MAX];   /* the bounding set could not be cleared:
	                                         * why ("" when it was) */
};

/* Switches groups, gid and uid to `user`, keeping CAP_NET_BIND_SERVICE
 * (and no other capability) when it was permitted before, so a reload can
 * bind listen addresses on ports below 1024. Before the switch the
 * bounding set loses every capability but that one (needs CAP_SETPCAP:
 * without it, as in a container that dropped it, the set stays and
 * bounding_note says so; no_new_privs already keeps execve from granting
 * anything); after it PR_SET_NO_NEW_PRIVS is set; then it verifies that
 * root cannot be regained, no capability but that one remains and
 * no_new_privs holds. Already running as `user`: only privdrop_harden
 * (its note dropped: for an unprivileged process no_new_privs makes the
 * bounding set moot). A user with uid 0 is an error. Returns 0,
 * or -1 with a reason (the caller must then exit: running on as root when
 * a user was configured is not an option). */
int privdrop_to(const char *user, struct privdrop_outcome *out, char err[PRIVDROP_ERR_MAX]);

/* Returns 1 if the file's mode lets group or others read or write it (and
 * fills mode), 0 if not, -1 if it cannot be stat'ed. */
int file_mode_too_open(const char *path, unsigned *mode);

/* The group the service runs as: the configured user's primary group, or
 * (user NULL) the process's effective group. Returns 0, or -1 (no such user). */
int privdrop_service_gid(const char *user, gid_t *gid);

/* Who, besides its owner and the service, can read a file that holds a
 * secret. A group-readable file is private when its group is the
 * service's own and lists no members (make install: 0640 root:xotproxy). */
enum file_readers {
	FILE_READERS_PRIVATE,           /* owner (and the service's own group) only */
	FILE_READERS_GROUP,             /* a group others can be in */
	FILE_READERS_OTHERS,            /* everyone */
	FILE_READERS_UNKNOWN,           /* cannot be stat'ed */
};
enum file_readers file_readers(const char *path, gid_t service_gid, unsigned *mode);

#endif
