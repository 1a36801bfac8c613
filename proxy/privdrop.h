/* privdrop.h - leaving root after the listeners are bound, and start-up
 * checks on secret files. */
#ifndef XP_PRIVDROP_H
#define XP_PRIVDROP_H

#define PRIVDROP_ERR_MAX 256

/* Does the user exist? Returns 0, or -1 with a reason. */
int privdrop_check_user(const char *user, char err[PRIVDROP_ERR_MAX]);

/* Switches groups, gid and uid to `user` and verifies root cannot be
 * regained. Returns 0, or -1 with a reason (the caller must then exit:
 * running on as root when a user was configured is not an option). */
int privdrop_to(const char *user, char err[PRIVDROP_ERR_MAX]);

/* Returns 1 if the file's mode lets group or others read or write it (and
 * fills mode), 0 if not, -1 if it cannot be stat'ed. */
int file_mode_too_open(const char *path, unsigned *mode);

#endif
