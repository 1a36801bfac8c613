/* test_listen.c - listener sets (listener.c) across a reload: kept
 * addresses keep their socket, new ones are bound before anything changes,
 * one that cannot be bound fails the whole stage with nothing left open, a
 * removed one hands over its queue before it goes; one set's pause or
 * backoff does not pause another;
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
#include "proxy/lib/log.h"
#include "proxy/listener.h"
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

/* ---- listener sets (listener.c) -------------------------------------------- */

/* What the hooks saw. */
static struct {
	int accepted;                 /* connections taken */
	struct netaddr on;            /* the listener the last one came through */
	int fail_errno;               /* non-zero: the hook fails with it */
	int released[4];              /* fds handed to the release hook */
	int n_released;
} seen;

static int
hook_accepted(struct listener *l, int fd, const struct sockaddr *peer, socklen_t len)
{
	close(fd);
	if (seen.fail_errno != 0) {
		errno = seen.fail_errno;
		return -1;
	}
	seen.accepted++;
	seen.on = l->addr;
	return 0;
}

static void
hook_release(struct listener_set *set, int fd)
{
	if (seen.n_released < 4)
		seen.released[seen.n_released++] = fd;
	close(fd);
}

static const struct listener_ops test_ops = { .accepted = hook_accepted, .release = hook_release };

static bool
same(const struct netaddr *a, const struct netaddr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* A client connected to a (queued on the listener until accepted). */
static int
connect_to(const struct netaddr *a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reload from {a, c} to {b, a}: a keeps its socket (the same fd, its
 * queue), b is bound at stage, c first hands over what is queued on it,
 * then is released; abort of a later stage leaves everything running. */
static void
test_set_stage_commit(void)
{
	enum log_level was = log_threshold;
	log_threshold = XP_LOG_ERROR;         /* the listening lines */
	struct ev_loop *loop = ev_loop_new(0);
	struct netaddr a = free_addr(SOCK_STREAM), b = free_addr(SOCK_STREAM), c = free_addr(SOCK_STREAM);
	struct listener_set set;
	memset(&seen, 0, sizeof(seen));
	listener_set_init(&set, loop, "test", SOCK_STREAM, &test_ops, NULL);
	struct netaddr have[2] = { a, c }, want[2] = { b, a };
	CU_ASSERT_EQUAL_FATAL(listener_set_open(&set, have, 2), 0);
	listener_set_start(&set);
	CU_ASSERT_TRUE(listener_set_running(&set));
	int fd_a = set.lis[0].fd, fd_c = set.lis[1].fd;
	char err[160];
	CU_ASSERT_EQUAL_FATAL(listener_set_stage(&set, want, 2, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(set.stage.keep[0], -1);          /* b is new: a fresh socket */
	CU_ASSERT(set.stage.fd[0] >= 0);
	CU_ASSERT_EQUAL(set.stage.keep[1], 0);           /* a is kept: no socket of its own */
	CU_ASSERT_FALSE(bindable(&b, SOCK_STREAM));      /* the fresh one listens */
	CU_ASSERT_EQUAL(set.n, 2);                       /* nothing changed yet */
	CU_ASSERT_EQUAL(set.lis[1].fd, fd_c);
	int client = connect_to(&c);                     /* queued on c before the commit */
	CU_ASSERT_FATAL(client >= 0);
	listener_set_commit(&set);
	CU_ASSERT_EQUAL(set.n, 2);
	CU_ASSERT_TRUE(same(&set.lis[0].addr, &b));
	CU_ASSERT_TRUE(same(&set.lis[1].addr, &a));
	CU_ASSERT_EQUAL(set.lis[1].fd, fd_a);            /* fd reuse across the reload */
	CU_ASSERT_EQUAL(seen.accepted, 1);               /* c's queue was taken first */
	CU_ASSERT_TRUE(same(&seen.on, &c));              /* ...through c's listener */
	CU_ASSERT_EQUAL(seen.n_released, 1);
	CU_ASSERT_EQUAL(seen.released[0], fd_c);
	CU_ASSERT_TRUE(bindable(&c, SOCK_STREAM));       /* c is free again */
	CU_ASSERT_TRUE(ev_is_active(&set.lis[0].io) && ev_is_active(&set.lis[1].io));
	close(client);

	/* a stage that is aborted changes nothing and closes what it bound */
	struct netaddr d = free_addr(SOCK_STREAM), want2[2] = { d, b };
	CU_ASSERT_EQUAL_FATAL(listener_set_stage(&set, want2, 2, err, sizeof(err)), 0);
	int fresh = set.stage.fd[0];
	listener_set_abort(&set);
	CU_ASSERT_TRUE(bindable(&d, SOCK_STREAM));
	CU_ASSERT_EQUAL(fcntl(fresh, F_GETFD), -1);
	CU_ASSERT_EQUAL(set.n, 2);
	CU_ASSERT_TRUE(same(&set.lis[0].addr, &b));
	CU_ASSERT_TRUE(fcntl(fd_a, F_GETFD) >= 0);
	listener_set_commit(&set);                       /* no stage: nothing happens */
	CU_ASSERT_EQUAL(set.n, 2);
	listener_set_close(&set);
	CU_ASSERT_EQUAL(set.n, 0);
	CU_ASSERT_TRUE(bindable(&a, SOCK_STREAM) && bindable(&b, SOCK_STREAM));
	ev_loop_destroy(loop);
	log_threshold = was;
}

/* One address that cannot be bound fails the whole stage, nothing left
 * open, the running set untouched. */
static void
test_set_stage_fails_whole(void)
{
	enum log_level was = log_threshold;
	log_threshold = XP_LOG_ERROR;         /* the listening lines */
	struct ev_loop *loop = ev_loop_new(0);
	struct netaddr a = free_addr(SOCK_STREAM), b = free_addr(SOCK_STREAM), run = free_addr(SOCK_STREAM), busy;
	int fb = bound(SOCK_STREAM, 1, &busy);          /* another process's socket */
	CU_ASSERT_FATAL(fb >= 0);
	struct listener_set set;
	listener_set_init(&set, loop, "test", SOCK_STREAM, &test_ops, NULL);
	CU_ASSERT_EQUAL_FATAL(listener_set_open(&set, &run, 1), 0);
	int fd_run = set.lis[0].fd;
	struct netaddr want[3] = { a, busy, b };
	char err[160] = "", text[NETADDR_TEXT_MAX];
	CU_ASSERT_EQUAL(listener_set_stage(&set, want, 3, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(set.stage.n, 0);
	CU_ASSERT_FALSE(set.stage.staged);
	CU_ASSERT_TRUE(bindable(&a, SOCK_STREAM));       /* nothing left bound */
	CU_ASSERT_TRUE(bindable(&b, SOCK_STREAM));
	CU_ASSERT_EQUAL(set.n, 1);                       /* the running one stays */
	CU_ASSERT_EQUAL(set.lis[0].fd, fd_run);
	netaddr_format((struct sockaddr *)&busy.ss, text);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "listen TCP "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, text));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, strerror(EADDRINUSE)));
	/* at start, the same: open fails with nothing left bound */
	struct listener_set other;
	listener_set_init(&other, loop, "other", SOCK_STREAM, &test_ops, NULL);
	CU_ASSERT_EQUAL(listener_set_open(&other, want, 3), -1);
	CU_ASSERT_EQUAL(other.n, 0);
	CU_ASSERT_TRUE(bindable(&a, SOCK_STREAM));
	listener_set_close(&set);
	close(fb);
	ev_loop_destroy(loop);
	log_threshold = was;
}

/* A UDP address held by another socket, even one with SO_REUSEADDR, is
 * busy for us: ours do not set it, so two processes cannot share the
 * secondary's SOA polls. */
static void
test_set_udp_busy(void)
{
	enum log_level was = log_threshold;
	log_threshold = XP_LOG_ERROR;         /* the listening lines */
	struct ev_loop *loop = ev_loop_new(0);
	struct netaddr busy;
	int fb = bound(SOCK_DGRAM, 1, &busy);
	CU_ASSERT_FATAL(fb >= 0);
	struct listener_set set;
	listener_set_init(&set, loop, "udp", SOCK_DGRAM, &test_ops, NULL);
	char err[160] = "";
	CU_ASSERT_EQUAL(listener_set_stage(&set, &busy, 1, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "listen UDP "));
	close(fb);
	CU_ASSERT_EQUAL(listener_set_stage(&set, &busy, 1, err, sizeof(err)), 0);
	listener_set_abort(&set);
	CU_ASSERT_TRUE(bindable(&busy, SOCK_DGRAM));
	ev_loop_destroy(loop);
	log_threshold = was;
}

/* Pausing one set (inbound at max-clients) or its EMFILE backoff leaves
 * another set (an outbound group's) accepting. */
static void
test_set_pause_is_per_set(void)
{
	enum log_level was = log_threshold;
	log_threshold = XP_LOG_ERROR;         /* the listening lines */
	struct ev_loop *loop = ev_loop_new(0);
	struct netaddr a = free_addr(SOCK_STREAM), b = free_addr(SOCK_STREAM);
	struct listener_set in, out;
	memset(&seen, 0, sizeof(seen));
	listener_set_init(&in, loop, "inbound", SOCK_STREAM, &test_ops, NULL);
	listener_set_init(&out, loop, "outbound x", SOCK_STREAM, &test_ops, NULL);
	CU_ASSERT_EQUAL_FATAL(listener_set_open(&in, &a, 1), 0);
	CU_ASSERT_EQUAL_FATAL(listener_set_open(&out, &b, 1), 0);
	listener_set_start(&in);
	listener_set_start(&out);
	listener_set_pause(&in, true);
	CU_ASSERT_FALSE(ev_is_active(&in.lis[0].io));
	CU_ASSERT_TRUE(ev_is_active(&out.lis[0].io));
	CU_ASSERT_TRUE(listener_set_running(&out));
	int c1 = connect_to(&a), c2 = connect_to(&b);
	CU_ASSERT_FATAL(c1 >= 0 && c2 >= 0);
	listener_accept(&in.lis[0]);                     /* paused: takes nothing */
	CU_ASSERT_EQUAL(seen.accepted, 0);
	listener_accept(&out.lis[0]);
	CU_ASSERT_EQUAL(seen.accepted, 1);
	listener_set_pause(&in, false);
	CU_ASSERT_TRUE(ev_is_active(&in.lis[0].io));
	/* out of descriptors on one set: that set backs off, the other goes on */
	seen.fail_errno = EMFILE;
	listener_accept(&in.lis[0]);
	CU_ASSERT_TRUE(ev_is_active(&in.backoff));
	CU_ASSERT_FALSE(listener_set_running(&in));
	CU_ASSERT_FALSE(ev_is_active(&in.lis[0].io));
	CU_ASSERT_TRUE(ev_is_active(&out.lis[0].io));
	listener_set_pause(&in, false);                  /* the owner cannot end a backoff */
	CU_ASSERT_FALSE(ev_is_active(&in.lis[0].io));
	seen.fail_errno = 0;
	ev_run(loop, EVRUN_ONCE);                        /* the backoff timer: about 1 s */
	while (ev_is_active(&in.backoff))
		ev_run(loop, EVRUN_ONCE);
	CU_ASSERT_TRUE(ev_is_active(&in.lis[0].io));
	close(c1);
	close(c2);
	listener_set_close(&in);
	listener_set_close(&out);
	ev_loop_destroy(loop);
	log_threshold = was;
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
	TEST(test_set_stage_commit);
	TEST(test_set_stage_fails_whole);
	TEST(test_set_udp_busy);
	TEST(test_set_pause_is_per_set);
	TEST(test_drop_keeps_bind);
	TEST(test_drop_without_bind);
	TEST(test_drop_same_user);
	return 0;
}
