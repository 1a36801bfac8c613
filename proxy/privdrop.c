/* privdrop.c - setgroups/setgid/setuid to a configured user, checked. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
privdrop_check_user(const char *user, char err[PRIVDROP_ERR_MAX])
{
	errno = 0;
	if (getpwnam(user) == NULL) {
		snprintf(err, PRIVDROP_ERR_MAX, "user %s: %s", user,
		         errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	return 0;
}

int
privdrop_to(const char *user, char err[PRIVDROP_ERR_MAX])
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, PRIVDROP_ERR_MAX, "user %s: %s", user,
		         errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
		return 0;                       /* already that user */
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "cannot switch to user %s: %s", user, strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0 || getuid() == 0)) {
		snprintf(err, PRIVDROP_ERR_MAX, "switched to user %s but root can be regained", user);
		return -1;
	}
	return 0;
}

int
file_mode_too_open(const char *path, unsigned *mode)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	*mode = (unsigned)(st.st_mode & 07777);
	return (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
}
