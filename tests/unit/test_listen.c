/* test_listen.c - listen sockets across a reload (server_stage_*): kept
 * addresses keep their socket, new ones are bound before anything changes,
 * one that cannot be bound fails the whole stage with nothing left open;
 * and the privilege drop (privdrop_to) that keeps CAP_NET_BIND_SERVICE
 * alone, so a reload after it can still bind ports below 1024 (in a forked
 * child, as root only). */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proxy/privdrop.h"
#include "proxy/server.h"
#include "unit.h"

/* A socket of type bound to 127.0.0.1 on a kernel-chosen port (listening
 * for TCP); its address in *a. */
static int
bound(int type, int reuse, struct netaddr *a)
{
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		return -1;
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
	memset(a, 0, sizeof(*a));
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->len = sizeof(*sin);
	if (bind(fd, (struct sockaddr *)sin, a->len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 8) < 0) ||
	    getsockname(fd, (struct sockaddr *)&a->ss, &a->len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A free address: bound, then released. */
static struct netaddr
free_addr(int type)
{
	struct netaddr a;
	int fd = bound(type, 0, &a);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	return a;
}

/* Can a fresh socket of type bind a now (nobody holds it)? */
static bool
bindable(const struct netaddr *a, int type)
{
	int fd = socket(AF_INET, type, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bool ok = bind(fd, (const struct sockaddr *)&a->ss, a->len) == 0;
	close(fd);
	return ok;
}

static void
test_stage_keep_add_remove(void)
{
	struct netaddr a, b = free_addr(SOCK_STREAM), c;
	int fa = bound(SOCK_STREAM, 1, &a), fc = bound(SOCK_STREAM, 1, &c);
	CU_ASSERT_FATAL(fa >= 0 && fc >= 0);
	struct netaddr have[2] = { a, c }, want[2] = { b, a };
	struct listen_stage st;
	char err[160];
	CU_ASSERT_EQUAL_FATAL(server_stage_open(&st, want, 2, have, 2, SOCK_STREAM, err,
	                                        sizeof(err)), 0);
	CU_ASSERT_EQUAL(st.n, 2);
	CU_ASSERT_EQUAL(st.keep[0], -1);          /* b is new: a fresh socket */
	CU_ASSERT(st.fd[0] >= 0);
	CU_ASSERT_EQUAL(st.keep[1], 0);           /* a is kept: no socket of its own */
	CU_ASSERT_EQUAL(st.fd[1], -1);
	CU_ASSERT_TRUE(server_stage_keeps(&st, 0));
	CU_ASSERT_FALSE(server_stage_keeps(&st, 1));     /* c goes */
	CU_ASSERT_FALSE(bindable(&b, SOCK_STREAM));      /* the fresh one listens */
	int fresh = st.fd[0];
	server_stage_abort(&st);
	CU_ASSERT_EQUAL(st.n, 0);
	CU_ASSERT_TRUE(bindable(&b, SOCK_STREAM));       /* abort closed it */
	CU_ASSERT_EQUAL(fcntl(fresh, F_GETFD), -1);
	CU_ASSERT_TRUE(fcntl(fa, F_GETFD) >= 0);         /* the running ones untouched */
	CU_ASSERT_TRUE(fcntl(fc, F_GETFD) >= 0);
	close(fa);
	close(fc);
}

static void
test_stage_fails_whole(void)
{
	struct netaddr a = free_addr(SOCK_STREAM), b = free_addr(SOCK_STREAM), busy;
	int fb = bound(SOCK_STREAM, 1, &busy);          /* another process's socket */
	CU_ASSERT_FATAL(fb >= 0);
	struct netaddr want[3] = { a, busy, b };
	struct listen_stage st;
	char err[160] = "", text[NETADDR_TEXT_MAX];
	CU_ASSERT_EQUAL(server_stage_open(&st, want, 3, NULL, 0, SOCK_STREAM, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(st.n, 0);
	CU_ASSERT_TRUE(bindable(&a, SOCK_STREAM));       /* nothing left bound */
	CU_ASSERT_TRUE(bindable(&b, SOCK_STREAM));
	netaddr_format((struct sockaddr *)&busy.ss, text);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "listen TCP "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, text));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, strerror(EADDRINUSE)));
	close(fb);
}

/* A UDP address held by another socket, even one with SO_REUSEADDR, is
 * busy for us: ours do not set it, so two processes cannot share the
 * secondary's SOA polls. */
static void
test_stage_udp_busy(void)
{
	struct netaddr busy;
	int fb = bound(SOCK_DGRAM, 1, &busy);
	CU_ASSERT_FATAL(fb >= 0);
	struct listen_stage st;
	char err[160] = "";
	CU_ASSERT_EQUAL(server_stage_open(&st, &busy, 1, NULL, 0, SOCK_DGRAM, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "listen UDP "));
	close(fb);
	CU_ASSERT_EQUAL(server_stage_open(&st, &busy, 1, NULL, 0, SOCK_DGRAM, err, sizeof(err)), 0);
	server_stage_abort(&st);
}

/* ---- privilege drop (forked children; root only) ----------------------- */

static unsigned
unprivileged_port_start(void)
{
	unsigned v = 1024;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
	if (f != NULL) {
		if (fscanf(f, "%u", &v) != 1)
			v = 1024;
		fclose(f);
	}
	return v;
}

/* Binds TCP 127.0.0.1 on a port below 1024 (the first one not in use);
 * 0, or the errno of the first failure other than EADDRINUSE. */
static int
bind_low(void)
{
	for (unsigned port = 1023; port >= 600; port--) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int rc = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
		int err = errno;
		close(fd);
		if (rc == 0)
			return 0;
		if (err != EADDRINUSE)
			return err;
	}
	return EADDRINUSE;
}

static int
caps(struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3], bool set)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	return (int)syscall(set ? SYS_capset : SYS_capget, &h, d);
}

/* The child's checks; its exit status names the first that failed. */
static int
child_drop(bool without_bind_cap)
{
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	if (without_bind_cap) {                 /* as under a service manager that withheld it */
		if (caps(d, false) < 0)
			return 10;
		d[0].permitted &= ~(1u << CAP_NET_BIND_SERVICE);
		d[0].effective &= ~(1u << CAP_NET_BIND_SERVICE);
		if (caps(d, true) < 0)
			return 11;
	}
	struct privdrop_outcome out;
	char err[PRIVDROP_ERR_MAX];
	if (privdrop_to("nobody", &out, err) < 0) {
		fprintf(stderr, "privdrop_to: %s\n", err);
		return 12;
	}
	struct passwd *pw = getpwnam("nobody");
	if (pw == NULL || getuid() != pw->pw_uid || geteuid() != pw->pw_uid || getgid() != pw->pw_gid)
		return 13;
	if (setuid(0) == 0)
		return 14;
	if (caps(d, false) < 0)
		return 15;
	uint32_t want = without_bind_cap ? 0 : 1u << CAP_NET_BIND_SERVICE;
	if (d[0].permitted != want || d[0].effective != want || d[0].inheritable != 0 ||
	    d[1].permitted != 0 || d[1].effective != 0)
		return 16;
	if (out.kept_bind == without_bind_cap || (without_bind_cap && out.bind_note[0] == '\0') ||
	    out.bounding_note[0] != '\0')
		return 17;
	if (unprivileged_port_start() < 600)
		return 0;                         /* any port binds: nothing to show */
	int rc = bind_low();
	if (without_bind_cap ? rc != EACCES : rc != 0)
		return 18;
	return 0;
}

static void
run_child(bool without_bind_cap)
{
	if (geteuid() != 0 || getpwnam("nobody") == NULL) {
		printf("(not root or no user nobody: skipped) ");
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(child_drop(without_bind_cap));
	int status;
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		printf("(child failed check %d) ", WEXITSTATUS(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

static void
test_drop_keeps_bind(void)
{
	run_child(false);
}

static void
test_drop_without_bind(void)
{
	run_child(true);
}

/* Already the configured user: no switch, only privdrop_harden (in a
 * child: no_new_privs is for good). Root is never a configured user
 * (issue 13 item 16): privdrop_to refuses uid 0. */
static void
test_drop_same_user(void)
{
	struct passwd *pw = getpwuid(getuid());
	CU_ASSERT_PTR_NOT_NULL_FATAL(pw);
	if (geteuid() != getuid())
		return;
	char name[64], err[PRIVDROP_ERR_MAX];
	snprintf(name, sizeof(name), "%s", pw->pw_name);
	struct privdrop_outcome out;
	if (getuid() == 0) {
		CU_ASSERT_EQUAL(privdrop_to(name, &out, err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "uid 0"));
	} else {
		fflush(NULL);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0)
			_exit(privdrop_to(name, &out, err) == 0 && !out.kept_bind &&
			      prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) == 1 ? 0 : 1);
		int status;
		CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
		CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CU_ASSERT_EQUAL(privdrop_check_user("xotproxy-no-such-user", err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "xotproxy-no-such-user"));
}

int
test_listen_register(void)
{
	SUITE("listen");
	TEST(test_stage_keep_add_remove);
	TEST(test_stage_fails_whole);
	TEST(test_stage_udp_busy);
	TEST(test_drop_keeps_bind);
	TEST(test_drop_without_bind);
	TEST(test_drop_same_user);
	return 0;
}
