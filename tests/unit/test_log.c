/* test_log.c - the non-blocking log sink (issue 7 item 2) on a pipe: lines
 * dropped and counted when full, no call blocks, the "N log lines dropped"
 * report after draining, write errors, a bounded stop; and the per-address
 * log rate limit (XOT-16): burst, window, summary, IPv6 /64, slot takeover. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <ev.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy/lib/log.h"
#include "proxy/logrl.h"
#include "unit.h"

/* A sink on a pipe whose read end the test drains when it chooses. */
struct cap {
	struct ev_loop *loop;
	int rd, wr;
	char *text;          /* everything read so far, NUL-terminated */
	size_t len;
};

static bool
cap_start(struct cap *c)
{
	int p[2];
	memset(c, 0, sizeof(*c));
	c->loop = ev_loop_new(EVFLAG_AUTO);
	if (c->loop == NULL || pipe2(p, O_CLOEXEC) < 0)
		return false;
	c->rd = p[0];
	c->wr = p[1];
	fcntl(c->rd, F_SETFL, O_NONBLOCK);
	c->text = calloc(1, 1);
	return log_sink_start_fd(c->loop, c->wr) == 0;
}

/* Appends what the pipe holds now; returns the bytes read. */
static size_t
cap_read(struct cap *c)
{
	char buf[65536];
	size_t total = 0;
	ssize_t n;
	while ((n = read(c->rd, buf, sizeof(buf))) > 0) {
		c->text = realloc(c->text, c->len + (size_t)n + 1);
		memcpy(c->text + c->len, buf, (size_t)n);
		c->len += (size_t)n;
		c->text[c->len] = '\0';
		total += (size_t)n;
	}
	return total;
}

/* Reads and runs the loop until a round brings nothing new. */
static void
cap_drain(struct cap *c)
{
	for (int i = 0; i < 1000; i++) {
		size_t n = cap_read(c);
		ev_run(c->loop, EVRUN_NOWAIT);
		if (n == 0 && cap_read(c) == 0)
			return;
	}
}

static void
cap_stop(struct cap *c)
{
	cap_drain(c);
	log_sink_stop();
	if (c->rd >= 0)
		close(c->rd);
	close(c->wr);
	ev_loop_destroy(c->loop);
	free(c->text);
}

static double
mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Occurrences of needle in text. */
static int
count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Logs n numbered lines "fill N" padded to about 100 octets; returns the
 * longest time one call took. */
static double
log_fill(int first, int n)
{
	double worst = 0;
	for (int i = first; i < first + n; i++) {
		double t0 = mono();
		log_warning("fill %d %s", i, "................................................................");
		double t = mono() - t0;
		worst = t > worst ? t : worst;
	}
	return worst;
}

/* ---- the sink ------------------------------------------------------------ */

static void
test_idle_write_is_immediate(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	CU_ASSERT(fcntl(c.wr, F_GETFL) & O_NONBLOCK);
	log_warning("hello %d", 42);
	cap_read(&c);                                   /* no loop iteration ran */
	CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "Z warning: hello 42\n"));
	CU_ASSERT_EQUAL(c.text[4], '-');                /* the timestamp prefix */
	cap_stop(&c);
}

static void
test_full_drops_counts_reports(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	uint64_t before = log_dropped_total();
	const int n = 10000;                            /* ~1 MB: pipe + ring hold ~320 KB */
	double worst = log_fill(0, n);
	CU_ASSERT(worst < 0.1);                         /* never waits for the reader */
	uint64_t dropped = log_dropped_total() - before;
	CU_ASSERT(dropped > 0 && dropped < (uint64_t)n);
	cap_drain(&c);
	int got = count(c.text, "Z warning: fill ");
	CU_ASSERT_EQUAL((uint64_t)got + dropped, (uint64_t)n);
	/* Whole lines kept, in order, the first ones: fill 0 .. got-1. */
	char want[32];
	snprintf(want, sizeof(want), "fill %d ", got - 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.text, want));
	snprintf(want, sizeof(want), "fill %d ", got);
	CU_ASSERT_PTR_NULL(strstr(c.text, want));
	/* One report, after every kept line, with the right count. */
	snprintf(want, sizeof(want), "Z warning: %llu log lines dropped\n", (unsigned long long)dropped);
	const char *rep = strstr(c.text, want);
	CU_ASSERT_PTR_NOT_NULL(rep);
	CU_ASSERT_EQUAL(count(c.text, "log lines dropped"), 1);
	CU_ASSERT(rep != NULL && strstr(rep, "fill ") == NULL);
	/* Drained: the next line goes straight out, and the count was reset. */
	log_warning("after");
	cap_drain(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "warning: after\n"));
	CU_ASSERT_EQUAL(count(c.text, "log lines dropped"), 1);
	CU_ASSERT_EQUAL(log_dropped_total() - before, dropped);
	cap_stop(&c);
}

/* libev: the guard timer of test_watcher_unreferenced. */
static void
guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void
test_watcher_unreferenced(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	log_fill(0, 5000);                              /* the pipe is full: watcher active */
	ev_timer guard;
	ev_timer_init(&guard, guard_cb, 2.0, 0);
	ev_timer_start(c.loop, &guard);
	ev_unref(c.loop);
	double t0 = mono();
	ev_run(c.loop, 0);                              /* nothing referenced: returns at once */
	CU_ASSERT(mono() - t0 < 1.0);
	ev_ref(c.loop);
	ev_timer_stop(c.loop, &guard);
	cap_stop(&c);
}

static void
test_write_error_counts(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	close(c.rd);
	c.rd = -1;
	uint64_t before = log_dropped_total();
	for (int i = 0; i < 10; i++)
		log_warning("into a closed pipe %d", i);
	ev_run(c.loop, EVRUN_NOWAIT);
	CU_ASSERT_EQUAL(log_dropped_total() - before, 10);
	log_sink_stop();
	close(c.wr);
	ev_loop_destroy(c.loop);
	free(c.text);
	signal(SIGPIPE, old);
}

static void
test_stop_is_bounded(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	int flags = fcntl(c.wr, F_GETFL);
	log_fill(0, 1000);                              /* ~100 KB: more than the pipe holds */
	uint64_t before = log_dropped_total();
	double t0 = mono();
	log_sink_stop();                                /* nobody reads: gives up after 1 s */
	double t = mono() - t0;
	CU_ASSERT(t >= 0.9 && t < 2.0);
	CU_ASSERT(log_dropped_total() > before);        /* the rest is counted */
	CU_ASSERT_EQUAL(fcntl(c.wr, F_GETFL) & O_NONBLOCK, 0);   /* blocking again */
	CU_ASSERT_EQUAL(flags & ~O_NONBLOCK, fcntl(c.wr, F_GETFL));
	close(c.rd);
	close(c.wr);
	ev_loop_destroy(c.loop);
	free(c.text);
}

/* Thread: counts "fill" lines arriving on fd until EOF. */
static void *
reader(void *arg)
{
	struct cap *c = arg;
	fcntl(c->rd, F_SETFL, 0);
	char buf[4096];
	ssize_t n;
	while ((n = read(c->rd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			c->len += buf[i] == '\n';
	return NULL;
}

static void
test_stop_flushes(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	uint64_t before = log_dropped_total();
	log_fill(0, 2000);                              /* ~200 KB: fits the ring */
	CU_ASSERT_EQUAL(log_dropped_total(), before);
	pthread_t th;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, reader, &c) == 0);
	log_sink_stop();                                /* writes it all to the reader */
	close(c.wr);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(c.len, 2000);
	CU_ASSERT_EQUAL(log_dropped_total(), before);
	close(c.rd);
	ev_loop_destroy(c.loop);
	free(c.text);
}

/* ---- the rate limit -------------------------------------------------------- */


/* How many of n lines about peer at time now are allowed. */
static int
allowed(const struct sockaddr *peer, double now, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += logrl_allow(peer, now);
	return k;
}

static void
test_rl_burst_window(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	struct sockaddr_storage a = ut_addr("192.0.2.1"), b = ut_addr("192.0.2.2");
	CU_ASSERT_NOT_EQUAL_FATAL(logrl_slot(SA(a)), logrl_slot(SA(b)));
	CU_ASSERT_EQUAL(allowed(SA(a), 100.0, 8), LOGRL_BURST);
	CU_ASSERT_EQUAL(allowed(SA(b), 100.0, 2), 2);          /* another address: its own budget */
	CU_ASSERT_EQUAL(allowed(SA(a), 109.9, 3), 0);          /* same window */
	CU_ASSERT_EQUAL(allowed(SA(a), 110.0, 9), LOGRL_BURST); /* a new window */
	logrl_stop();
	cap_stop(&c);
}

static void
test_rl_summary(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	struct sockaddr_storage a = ut_addr("192.0.2.1"), m = ut_addr("::ffff:192.0.2.1");
	allowed(SA(a), 100.0, 9);
	allowed(SA(m), 101.0, 3);                              /* the same client, mapped */
	logrl_flush(105.0);
	cap_read(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "info: remote 192.0.2.1/32, suppressed 7 log lines in the last 10 s\n"));
	logrl_flush(106.0);                                    /* reset: nothing new to report */
	cap_read(&c);
	CU_ASSERT_EQUAL(count(c.text, "suppressed"), 1);
	CU_ASSERT_EQUAL(allowed(SA(a), 107.0, 1), 0);          /* the window still runs */
	logrl_stop();                                          /* reports the last one */
	cap_read(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "suppressed 1 log lines"));
	cap_stop(&c);
}

static void
test_rl_ipv6_prefix(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	struct sockaddr_storage a = ut_addr("2001:db8:1:2::1"), b = ut_addr("2001:db8:1:2:ffff::9");
	struct sockaddr_storage o = ut_addr("2001:db8:1:3::1");
	CU_ASSERT_EQUAL_FATAL(logrl_slot(SA(a)), logrl_slot(SA(b)));
	CU_ASSERT_NOT_EQUAL_FATAL(logrl_slot(SA(a)), logrl_slot(SA(o)));
	CU_ASSERT_EQUAL(allowed(SA(a), 50.0, 3) + allowed(SA(b), 50.0, 4), LOGRL_BURST);
	CU_ASSERT_EQUAL(allowed(SA(o), 50.0, 1), 1);          /* another /64 */
	logrl_flush(51.0);
	cap_read(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "remote 2001:db8:1:2::/64, suppressed 2 log lines"));
	logrl_stop();
	cap_stop(&c);
}

static void
test_rl_takeover(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	struct sockaddr_storage a = ut_addr("10.0.0.1"), b;
	char text[64];
	int i;
	for (i = 2; i < 65536; i++) {                          /* an address in a's slot */
		snprintf(text, sizeof(text), "10.0.%d.%d", i >> 8, i & 255);
		b = ut_addr(text);
		if (logrl_slot(SA(b)) == logrl_slot(SA(a)))
			break;
	}
	CU_ASSERT_FATAL(i < 65536);
	CU_ASSERT_EQUAL(allowed(SA(a), 10.0, 8), LOGRL_BURST);
	CU_ASSERT_TRUE(logrl_allow(SA(b), 11.0));              /* takes the slot over... */
	cap_read(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "remote 10.0.0.1/32, suppressed 3 log lines"));
	CU_ASSERT_EQUAL(allowed(SA(b), 11.0, 6), LOGRL_BURST - 1);
	CU_ASSERT_TRUE(logrl_allow(SA(a), 12.0));              /* ...and back */
	cap_read(&c);
	snprintf(text, sizeof(text), "remote 10.0.%d.%d/32, suppressed 2 ", i >> 8, i & 255);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.text, text));
	logrl_stop();
	cap_stop(&c);
}

static void
test_rl_macro(void)
{
	struct cap c;
	CU_ASSERT_FATAL(cap_start(&c));
	struct sockaddr_storage a = ut_addr("198.51.100.9");
	enum log_level saved = log_threshold;
	log_threshold = XP_LOG_WARNING;
	log_info_rl(SA(a), "not at warning level");            /* below the threshold: not counted */
	log_threshold = XP_LOG_INFO;
	for (int i = 0; i < 8; i++)
		log_info_rl(SA(a), "refused %d", i);
	cap_read(&c);
	CU_ASSERT_EQUAL(count(c.text, "info: refused "), LOGRL_BURST);
	CU_ASSERT_PTR_NULL(strstr(c.text, "not at warning level"));
	logrl_stop();
	cap_read(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "remote 198.51.100.9/32, suppressed 3 log lines"));
	log_threshold = saved;
	cap_stop(&c);
}

int
test_log_register(void)
{
	SUITE("log (non-blocking sink, per-address rate limit)");
	TEST(test_idle_write_is_immediate);
	TEST(test_full_drops_counts_reports);
	TEST(test_watcher_unreferenced);
	TEST(test_write_error_counts);
	TEST(test_stop_is_bounded);
	TEST(test_stop_flushes);
	TEST(test_rl_burst_window);
	TEST(test_rl_summary);
	TEST(test_rl_ipv6_prefix);
	TEST(test_rl_takeover);
	TEST(test_rl_macro);
	return 0;
}
