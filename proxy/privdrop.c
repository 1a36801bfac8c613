/* privdrop.c - setgroups/setgid/setuid to a configured user, checked,
 * keeping only CAP_NET_BIND_SERVICE (so a reload can bind ports below
 * 1024), with the capability bounding set cleared but for that one and
 * PR_SET_NO_NEW_PRIVS set, so no execve can ever give anything back. Raw
 * capget/capset system calls: no libcap. Also the start-up checks on who
 * can read secrets. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BIND_BIT (1u << CAP_NET_BIND_SERVICE)      /* in word 0 (capability 10) */

int
privdrop_check_user(const char *user, char err[PRIVDROP_ERR_MAX])
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, PRIVDROP_ERR_MAX, "user %s: %s", user,
		         errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "user %s has uid 0 (root): name an unprivileged "
		         "user, or leave user unset", user);
		return -1;
	}
	return 0;
}

/* Every capability but CAP_NET_BIND_SERVICE leaves the bounding set (needs
 * CAP_SETPCAP). Capabilities are numbered from 0 up to the kernel's last;
 * PR_CAPBSET_READ fails (EINVAL) past it. */
static int
bounding_drop(void)
{
	for (unsigned long cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0L, 0L, 0L);
		if (in < 0)
			break;                          /* past the last capability */
		if (cap != CAP_NET_BIND_SERVICE && in == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0L, 0L, 0L) < 0)
			return -1;
	}
	return 0;
}

/* True if the bounding set holds nothing but (perhaps) CAP_NET_BIND_SERVICE. */
static bool
bounding_clear(void)
{
	for (unsigned long cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0L, 0L, 0L);
		if (in < 0)
			break;
		if (cap != CAP_NET_BIND_SERVICE && in == 1)
			return false;
	}
	return true;
}

int
privdrop_harden(char note[PRIVDROP_ERR_MAX], char err[PRIVDROP_ERR_MAX])
{
	note[0] = '\0';
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -1;
	}
	if (!bounding_clear() && bounding_drop() < 0)
		snprintf(note, PRIVDROP_ERR_MAX, "capability bounding set left as it is: %s",
		         strerror(errno));
	return 0;
}

static int
caps_get(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	return (int)syscall(SYS_capget, &hdr, data);
}

/* Sets permitted and effective to CAP_NET_BIND_SERVICE if bind, else to
 * nothing; inheritable to nothing. */
static int
caps_set(bool bind)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof(data));
	if (bind)
		data[0].permitted = data[0].effective = BIND_BIT;
	return (int)syscall(SYS_capset, &hdr, data);
}

/* After the switch: no capability but (perhaps) CAP_NET_BIND_SERVICE, no
 * way back to root, no_new_privs; the bounding set cleared if bounding. */
static int
check_dropped(const char *user, bool bounding, char err[PRIVDROP_ERR_MAX])
{
	if (setuid(0) == 0 || geteuid() == 0 || getuid() == 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "switched to user %s but root can be regained", user);
		return -1;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1 || (bounding && !bounding_clear())) {
		snprintf(err, PRIVDROP_ERR_MAX, "switched to user %s but no_new_privs is not set or "
		         "the bounding set holds more than CAP_NET_BIND_SERVICE", user);
		return -1;
	}
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	if (caps_get(data) < 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "user %s: capget: %s", user, strerror(errno));
		return -1;
	}
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		uint32_t allowed = i == 0 ? BIND_BIT : 0;
		if ((data[i].permitted | data[i].effective | data[i].inheritable) & ~allowed) {
			snprintf(err, PRIVDROP_ERR_MAX,
			         "switched to user %s but capabilities other than "
			         "CAP_NET_BIND_SERVICE remain", user);
			return -1;
		}
	}
	return 0;
}

int
privdrop_to(const char *user, struct privdrop_outcome *out, char err[PRIVDROP_ERR_MAX])
{
	memset(out, 0, sizeof(*out));
	char *note = out->bind_note;
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, PRIVDROP_ERR_MAX, "user %s: %s", user,
		         errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "user %s has uid 0 (root)", user);
		return -1;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid) {
		/* already that user, unprivileged: the bounding set is cleared if
		 * it can be; if not, no_new_privs makes it moot (nothing to note) */
		char scratch[PRIVDROP_ERR_MAX];
		return privdrop_harden(scratch, err);
	}
	/* While root: only CAP_NET_BIND_SERVICE stays in the bounding set. */
	bool bounding = bounding_drop() == 0;
	if (!bounding)
		snprintf(out->bounding_note, PRIVDROP_ERR_MAX, "capability bounding set not "
		         "cleared (%s: no CAP_SETPCAP); no_new_privs keeps execve from granting "
		         "its capabilities", strerror(errno));
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	bool can_keep = caps_get(data) == 0 && (data[0].permitted & BIND_BIT);
	/* Keep the permitted set across setuid (the effective set is cleared
	 * by it), then narrow both to the one capability. */
	if (can_keep && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0) {
		snprintf(note, PRIVDROP_ERR_MAX, "prctl(PR_SET_KEEPCAPS): %s", strerror(errno));
		can_keep = false;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "cannot switch to user %s: %s", user, strerror(errno));
		return -1;
	}
	if (can_keep) {
		prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
		if (caps_set(true) == 0) {
			out->kept_bind = true;
		} else {
			snprintf(note, PRIVDROP_ERR_MAX, "capset: %s", strerror(errno));
			if (caps_set(false) < 0) {
				snprintf(err, PRIVDROP_ERR_MAX, "user %s: cannot clear capabilities: %s",
				         user, strerror(errno));
				return -1;
			}
		}
	} else if (note[0] == '\0') {
		snprintf(note, PRIVDROP_ERR_MAX, "not in the permitted set before the switch");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "user %s: prctl(PR_SET_NO_NEW_PRIVS): %s", user,
		         strerror(errno));
		return -1;
	}
	return check_dropped(user, bounding, err);
}

int
privdrop_service_gid(const char *user, gid_t *gid)
{
	if (user == NULL) {
		*gid = getegid();
		return 0;
	}
	struct passwd *pw = getpwnam(user);
	if (pw == NULL)
		return -1;
	*gid = pw->pw_gid;
	return 0;
}

/* A group other users may be in: any group but the service's own, and the
 * service's own when /etc/group lists members for it. */
static bool
group_shared(gid_t file_gid, gid_t service_gid)
{
	if (file_gid != service_gid)
		return true;
	struct group *gr = getgrgid(file_gid);
	return gr != NULL && gr->gr_mem != NULL && gr->gr_mem[0] != NULL;
}

enum file_readers
file_readers(const char *path, gid_t service_gid, unsigned *mode)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return FILE_READERS_UNKNOWN;
	*mode = (unsigned)(st.st_mode & 07777);
	if (st.st_mode & S_IROTH)
		return FILE_READERS_OTHERS;
	if ((st.st_mode & S_IRGRP) && group_shared(st.st_gid, service_gid))
		return FILE_READERS_GROUP;
	return FILE_READERS_PRIVATE;
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
