/* test_privdrop.c - proxy/privdrop.c (issue 13 item 16): who may read a
 * file holding an inline secret (file_readers), uid 0 refused whatever its
 * name, and, in forked children (the settings are one-way), privdrop_harden
 * and privdrop_to: no_new_privs set, the bounding set cleared but for
 * CAP_NET_BIND_SERVICE, root gone. The switch itself needs root and a user
 * nobody; without them that part is skipped (said on stderr). */
#include <CUnit/CUnit.h>

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proxy/privdrop.h"
#include "unit.h"

static char *
temp_file(mode_t mode)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/xot-privdrop.XXXXXX");
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "[key k]\nsecret = YWJj\n", 22), 22);
	close(fd);
	CU_ASSERT_EQUAL(chmod(path, mode), 0);
	return path;
}

/* A group with members listed in /etc/group, or -1. */
static gid_t
group_with_members(void)
{
	struct group *gr;
	gid_t found = (gid_t)-1;
	setgrent();
	while ((gr = getgrent()) != NULL)
		if (gr->gr_mem != NULL && gr->gr_mem[0] != NULL) {
			found = gr->gr_gid;
			break;
		}
	endgrent();
	return found;
}

static void
test_file_readers(void)
{
	unsigned mode = 0;
	char *p = temp_file(0600);
	gid_t own = getegid(), other = own + 4242;
	CU_ASSERT_EQUAL(file_readers(p, own, &mode), FILE_READERS_PRIVATE);
	CU_ASSERT_EQUAL(mode, 0600);
	CU_ASSERT_EQUAL(chmod(p, 0644), 0);
	CU_ASSERT_EQUAL(file_readers(p, own, &mode), FILE_READERS_OTHERS);
	CU_ASSERT_EQUAL(mode, 0644);
	CU_ASSERT_EQUAL(chmod(p, 0604), 0);
	CU_ASSERT_EQUAL(file_readers(p, own, &mode), FILE_READERS_OTHERS);
	/* 0640 in the service's own group (make install's root:xotproxy): private */
	CU_ASSERT_EQUAL(chmod(p, 0640), 0);
	struct group *gr = getgrgid(own);
	bool own_has_members = gr != NULL && gr->gr_mem != NULL && gr->gr_mem[0] != NULL;
	CU_ASSERT_EQUAL(file_readers(p, own, &mode),
	                own_has_members ? FILE_READERS_GROUP : FILE_READERS_PRIVATE);
	/* ... in another group: anyone in it can read the secret */
	CU_ASSERT_EQUAL(file_readers(p, other, &mode), FILE_READERS_GROUP);
	CU_ASSERT_EQUAL(chmod(p, 0620), 0);                    /* group may write, not read */
	CU_ASSERT_EQUAL(file_readers(p, other, &mode), FILE_READERS_PRIVATE);
	gid_t shared = group_with_members();
	if (getuid() == 0 && shared != (gid_t)-1) {
		/* the service's own group, but /etc/group lists members for it */
		CU_ASSERT_EQUAL(chown(p, (uid_t)-1, shared), 0);
		CU_ASSERT_EQUAL(chmod(p, 0640), 0);
		CU_ASSERT_EQUAL(file_readers(p, shared, &mode), FILE_READERS_GROUP);
	}
	unlink(p);
	CU_ASSERT_EQUAL(file_readers(p, own, &mode), FILE_READERS_UNKNOWN);

	gid_t g = 12345;
	CU_ASSERT_EQUAL(privdrop_service_gid(NULL, &g), 0);
	CU_ASSERT_EQUAL(g, getegid());
	CU_ASSERT_EQUAL(privdrop_service_gid("no-such-user-xot13", &g), -1);
}

static void
test_check_user(void)
{
	char err[PRIVDROP_ERR_MAX] = "";
	CU_ASSERT_EQUAL(privdrop_check_user("root", err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "uid 0 (root)"));
	CU_ASSERT_EQUAL(privdrop_check_user("no-such-user-xot13", err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no such user"));
	if (getpwnam("nobody") != NULL)
		CU_ASSERT_EQUAL(privdrop_check_user("nobody", err), 0);
}

/* The child's verdict on its own state: bit 0 no_new_privs missing, bit 1
 * bounding set holds more than CAP_NET_BIND_SERVICE, bit 2 still uid 0,
 * bit 3 the call failed, bit 4 CAP_NET_BIND_SERVICE left the bounding set. */
static int
child_state(bool want_user)
{
	int bad = 0;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1)
		bad |= 1;
	for (unsigned long cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0L, 0L, 0L);
		if (in < 0)
			break;
		if (cap != CAP_NET_BIND_SERVICE && in == 1)
			bad |= 2;
		if (cap == CAP_NET_BIND_SERVICE && in != 1)
			bad |= 16;
	}
	if (want_user && (getuid() == 0 || geteuid() == 0))
		bad |= 4;
	return bad;
}

static int
run_child(bool to_nobody)
{
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		char note[PRIVDROP_ERR_MAX], err[PRIVDROP_ERR_MAX];
		struct privdrop_outcome out = { .kept_bind = false };
		int rc = to_nobody ? privdrop_to("nobody", &out, err) : privdrop_harden(note, err);
		if (rc < 0)
			fprintf(stderr, "\n  child: %s\n", err);
		int bad = (rc < 0 ? 8 : 0) | child_state(to_nobody);
		if (to_nobody && (!out.kept_bind || out.bounding_note[0] != '\0'))
			bad |= 32;
		_exit(bad);
	}
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st));
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_harden_and_switch(void)
{
	if (getuid() != 0) {
		fprintf(stderr, "\n  (not root: privdrop_harden's bounding set and privdrop_to not tested) ");
		return;
	}
	CU_ASSERT_EQUAL(run_child(false), 0);
	if (getpwnam("nobody") == NULL) {
		fprintf(stderr, "\n  (no user nobody: privdrop_to not tested) ");
		return;
	}
	CU_ASSERT_EQUAL(run_child(true), 0);
}

int
test_privdrop_register(void)
{
	SUITE("privdrop");
	TEST(test_file_readers);
	TEST(test_check_user);
	TEST(test_harden_and_switch);
	return 0;
}
