/* log.c - leveled logging to stderr with UTC timestamps.
 *
 * Once the event loop runs (log_sink_start), a log line never blocks: it is
 * copied into a fixed ring and written by an ev_io watcher on a non-blocking
 * descriptor. A line that does not fit is dropped and counted; after the ring
 * has drained, one "N log lines dropped" warning reports them. The watcher is
 * unreferenced, so pending output never keeps ev_run from returning. */
#include "log.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SINK_STOP_WAIT_MS 1000   /* log_sink_stop: total time to flush */

enum log_level log_threshold = XP_LOG_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

enum sink_io { SINK_DRAINED, SINK_AGAIN, SINK_ERROR };

static struct {
	struct ev_loop *loop;      /* NULL: synchronous logging */
	ev_io io;                  /* active only while the ring holds data */
	int fd;
	int fd_flags;              /* the descriptor's flags before the sink started */
	size_t head, len;          /* ring: first unwritten byte, bytes buffered */
	uint64_t dropped;          /* dropped since the last report */
	uint64_t dropped_total;
	char ring[LOG_SINK_SIZE];
} sink;

int
log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

/* Formats "TIMESTAMP LEVEL: message\n" into line (LOG_LINE_MAX); returns its length. */
static size_t
format_line(char *line, enum log_level level, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, LOG_LINE_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	                 tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000, level_names[level]);
	int m = vsnprintf(line + n, LOG_LINE_MAX - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > LOG_LINE_MAX - 2)
		len = LOG_LINE_MAX - 2;
	line[len++] = '\n';
	return len;
}

/* ---- the ring ------------------------------------------------------------- */

/* Copies n bytes (which must fit) to the end of the ring. */
static void
ring_put(const char *src, size_t n)
{
	size_t tail = (sink.head + sink.len) % LOG_SINK_SIZE;
	size_t first = n < LOG_SINK_SIZE - tail ? n : LOG_SINK_SIZE - tail;
	memcpy(sink.ring + tail, src, first);
	memcpy(sink.ring, src + first, n - first);
	sink.len += n;
}

/* The buffered bytes as up to two spans; returns the span count. */
static int
ring_spans(struct iovec iov[2])
{
	size_t first = LOG_SINK_SIZE - sink.head;
	if (first > sink.len)
		first = sink.len;
	iov[0] = (struct iovec){ sink.ring + sink.head, first };
	iov[1] = (struct iovec){ sink.ring, sink.len - first };
	return iov[1].iov_len > 0 ? 2 : 1;
}

static void
ring_consume(size_t n)
{
	sink.head = (sink.head + n) % LOG_SINK_SIZE;
	sink.len -= n;
	if (sink.len == 0)
		sink.head = 0;
}

/* Throws away everything buffered, counting each (partial) line as dropped. */
static void
ring_discard(void)
{
	struct iovec iov[2];
	int n = ring_spans(iov);
	uint64_t lines = 0;
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < iov[i].iov_len; j++)
			lines += ((const char *)iov[i].iov_base)[j] == '\n';
	sink.dropped += lines;
	sink.dropped_total += lines;
	ring_consume(sink.len);
}

/* ---- the sink ------------------------------------------------------------- */

/* Writes buffered bytes until the ring is empty or the descriptor would block. */
static enum sink_io
sink_write(void)
{
	while (sink.len > 0) {
		struct iovec iov[2];
		int n = ring_spans(iov);
		ssize_t w = writev(sink.fd, iov, n);
		if (w > 0)
			ring_consume((size_t)w);
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return SINK_AGAIN;
		else
			return SINK_ERROR;
	}
	return SINK_DRAINED;
}

/* Formats a line straight into the ring (which must have room for it). */
static void __attribute__((format(printf, 2, 3)))
ring_putf(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	size_t len = format_line(line, level, fmt, ap);
	va_end(ap);
	ring_put(line, len);
}

/* Starts or stops the (unreferenced) write watcher. */
static void
sink_watch(bool on)
{
	if (on == ev_is_active(&sink.io))
		return;
	if (on) {
		ev_io_start(sink.loop, &sink.io);
		ev_unref(sink.loop);
	} else {
		ev_ref(sink.loop);
		ev_io_stop(sink.loop, &sink.io);
	}
}

/* Writes what it can; reports drops once drained; watches while data is left.
 * On a write error (EPIPE, ...) the buffered lines are dropped and counted. */
static void
sink_pump(void)
{
	enum sink_io r = sink_write();
	if (r == SINK_DRAINED && sink.dropped > 0) {
		ring_putf(XP_LOG_WARNING, "%llu log lines dropped", (unsigned long long)sink.dropped);
		sink.dropped = 0;
		r = sink_write();
	}
	if (r == SINK_ERROR)
		ring_discard();
	sink_watch(r == SINK_AGAIN);
}

/* libev: the descriptor is writable again. */
static void
sink_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	sink_pump();
}

/* Buffers one line, or drops and counts it when it does not fit. */
static void
sink_put(const char *line, size_t len)
{
	if (LOG_SINK_SIZE - sink.len < len) {
		sink.dropped++;
		sink.dropped_total++;
		return;
	}
	ring_put(line, len);
	if (!ev_is_active(&sink.io))
		sink_pump();           /* a healthy idle descriptor costs no loop iteration */
}

void
xp_log(enum log_level level, const char *fmt, ...)
{
	if (level > log_threshold)
		return;
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	size_t len = format_line(line, level, fmt, ap);
	va_end(ap);
	if (sink.loop != NULL)
		sink_put(line, len);
	else
		fwrite(line, 1, len, stderr);
}

int
log_sink_start_fd(struct ev_loop *loop, int fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	sink.fd = fd;
	sink.fd_flags = flags;
	sink.head = sink.len = 0;
	sink.dropped = 0;
	sink.loop = loop;
	ev_io_init(&sink.io, sink_cb, fd, EV_WRITE);
	return 0;
}

int
log_sink_start(struct ev_loop *loop)
{
	return log_sink_start_fd(loop, STDERR_FILENO);
}

/* Milliseconds since *t0 (CLOCK_MONOTONIC). */
static long
ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Waits up to ms for the descriptor to become writable; false on timeout. */
static bool
wait_writable(long ms)
{
	struct pollfd p = { .fd = sink.fd, .events = POLLOUT };
	return ms > 0 && poll(&p, 1, (int)ms) > 0;
}

void
log_sink_stop(void)
{
	if (sink.loop == NULL)
		return;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		sink_pump();
	while (sink.len > 0 && wait_writable(SINK_STOP_WAIT_MS - ms_since(&t0)));
	sink_watch(false);
	ring_discard();                /* what could not be written in time */
	fcntl(sink.fd, F_SETFL, sink.fd_flags);
	sink.loop = NULL;
}

uint64_t
log_dropped_total(void)
{
	return sink.dropped_total;
}
