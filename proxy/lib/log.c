/* log.c - leveled logging to stderr with UTC timestamps.
 *
 * Once the event loop runs (log_sink_start), a log line never blocks: it is
 * copied into a fixed ring and written by an ev_io watcher on a non-blocking
 * descriptor. A line that does not fit is dropped and counted; after the ring
 * has drained, one "N log lines dropped" warning reports them. The watcher is
 * unreferenced, so pending output never keeps ev_run from returning. */
#include "log.h"

#include "jsonw.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SINK_STOP_WAIT_MS 1000   /* log_sink_stop: total time to flush */
#define LOG_TIME_MAX 64           /* format_time, with room for any year */

enum log_level log_threshold = XP_LOG_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug" };
static const char *const format_names[] = { "text", "json" };
static const char *const target_names[] = { "stderr", "syslog" };

/* Where lines go and how they look. */
static struct {
	enum log_format format;
	enum log_target target;
	int fd;                    /* syslog: the datagram socket, or -1 */
	struct sockaddr_un addr;
	double retry_at;           /* syslog: no reconnect before (monotonic s) */
} dest = { .fd = -1 };

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

int
log_format_parse(const char *name)
{
	for (int i = 0; i < 2; i++)
		if (strcmp(name, format_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_format_name(enum log_format f)
{
	return format_names[f];
}

int
log_target_parse(const char *name)
{
	for (int i = 0; i < 2; i++)
		if (strcmp(name, target_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_target_name(enum log_target t)
{
	return target_names[t];
}

enum log_format
log_current_format(void)
{
	return dest.format;
}

/* "2026-11-22T06:11:00.123Z" into out (LOG_TIME_MAX bytes); returns its length. */
static size_t
format_time(char *out)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	return (size_t)snprintf(out, LOG_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	                        tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000);
}

/* Formats "TIMESTAMP LEVEL: message\n" into line (LOG_LINE_MAX); returns its length. */
static size_t
format_line(char *line, enum log_level level, const char *fmt, va_list ap)
{
	char ts[LOG_TIME_MAX];
	format_time(ts);
	int n = snprintf(line, LOG_LINE_MAX, "%s %s: ", ts, level_names[level]);
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

static size_t render_line(char *buf, enum log_level level, const char *event,
                          const struct log_field *f, size_t n, const char *fmt, va_list ap);

/* Formats a line straight into the ring (which must have room for it). */
static void __attribute__((format(printf, 2, 3)))
ring_putf(enum log_level level, const char *fmt, ...)
{
	char line[LOG_JSON_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	size_t len = render_line(line, level, NULL, NULL, 0, fmt, ap);
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

/* ---- rendering ------------------------------------------------------------ */

static void
put_fields(struct jsonw *w, const struct log_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (f[i].type) {
		case LF_STR:
			if (f[i].v.s != NULL)
				jsonw_str(w, f[i].key, f[i].v.s);
			break;
		case LF_STRN:
			if (f[i].v.s != NULL)
				jsonw_strn(w, f[i].key, f[i].v.s, f[i].n);
			break;
		case LF_INT: jsonw_int(w, f[i].key, f[i].v.i); break;
		case LF_UINT: jsonw_uint(w, f[i].key, f[i].v.u); break;
		case LF_DBL: jsonw_dbl(w, f[i].key, f[i].v.d, (int)f[i].n); break;
		case LF_BOOL: jsonw_bool(w, f[i].key, f[i].v.b); break;
		}
	}
}

/* The body of a line in the current format, without a newline, into buf
 * (LOG_JSON_MAX): the message text, or the JSON object of an event (fields)
 * or of free text (fmt as "msg"). */
static size_t
render_body(char *buf, enum log_level level, const char *event, const struct log_field *f,
            size_t n, const char *fmt, va_list ap)
{
	if (dest.format == LOG_FORMAT_TEXT) {
		int m = vsnprintf(buf, LOG_LINE_MAX, fmt, ap);
		return m < 0 ? 0 : (size_t)m < LOG_LINE_MAX ? (size_t)m : LOG_LINE_MAX - 1;
	}
	char ts[LOG_TIME_MAX];
	format_time(ts);
	struct jsonw w;
	jsonw_begin(&w, buf, LOG_JSON_MAX);
	jsonw_str(&w, "time", ts);
	jsonw_str(&w, "level", level_names[level]);
	if (event != NULL) {
		jsonw_str(&w, "event", event);
		put_fields(&w, f, n);
	} else {
		char msg[LOG_LINE_MAX];
		vsnprintf(msg, sizeof(msg), fmt, ap);
		jsonw_str(&w, "msg", msg);
	}
	return jsonw_end(&w, false);
}

/* A whole stderr line (newline included) into buf (LOG_JSON_MAX + 1). */
static size_t
render_line(char *buf, enum log_level level, const char *event, const struct log_field *f,
            size_t n, const char *fmt, va_list ap)
{
	if (dest.format == LOG_FORMAT_TEXT)
		return format_line(buf, level, fmt, ap);
	size_t len = render_body(buf, level, event, f, n, fmt, ap);
	buf[len++] = '\n';
	return len;
}

static size_t __attribute__((format(printf, 3, 4)))
render_bodyf(char *buf, enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t len = render_body(buf, level, NULL, NULL, 0, fmt, ap);
	va_end(ap);
	return len;
}

/* ---- syslog ---------------------------------------------------------------- */

static void
count_dropped(void)
{
	sink.dropped++;
	sink.dropped_total++;
}

static double
mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* A non-blocking datagram socket connected to the syslog path; -1. */
static int
syslog_open(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* The socket, reconnected at most once a second after the daemon went away. */
static bool
syslog_ready(void)
{
	if (dest.fd >= 0)
		return true;
	double now = mono_now();
	if (now < dest.retry_at)
		return false;
	dest.retry_at = now + 1.0;
	dest.fd = syslog_open(&dest.addr);
	return dest.fd >= 0;
}

/* One datagram, "<PRI>Mmm dd hh:mm:ss xotproxy[PID]: body" (RFC 3164, as
 * syslog(3) sends it to /dev/log); true if the socket took it. */
static bool
syslog_put(enum log_level level, const char *body, size_t len)
{
	static const int severity[] = { 3, 4, 6, 7 };     /* err, warning, info, debug */
	char dgram[LOG_JSON_MAX + 96];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	char ts[LOG_TIME_MAX];
	strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
	int h = snprintf(dgram, sizeof(dgram), "<%d>%s xotproxy[%ld]: ", 3 * 8 + severity[level], ts,
	                 (long)getpid());
	memcpy(dgram + h, body, len);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!syslog_ready())
			return false;
		if (send(dest.fd, dgram, (size_t)h + len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return true;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return false;
		close(dest.fd);          /* the daemon went away (restarted?): reconnect once */
		dest.fd = -1;
		dest.retry_at = 0;
	}
	return false;
}

/* Sends one line; a line it cannot send at once is dropped and counted, and
 * the count is reported before the next line that goes through. */
static void
syslog_send(enum log_level level, const char *body, size_t len)
{
	if (sink.dropped > 0) {
		char rep[LOG_JSON_MAX];
		size_t rl = render_bodyf(rep, XP_LOG_WARNING, "%llu log lines dropped",
		                         (unsigned long long)sink.dropped);
		if (!syslog_put(XP_LOG_WARNING, rep, rl)) {
			count_dropped();
			return;
		}
		sink.dropped = 0;
	}
	if (!syslog_put(level, body, len))
		count_dropped();
}

/* ---- entry points ------------------------------------------------------------ */

static void
emit_stderr(const char *line, size_t len)
{
	if (sink.loop != NULL)
		sink_put(line, len);
	else
		fwrite(line, 1, len, stderr);
}

static void
log_v(enum log_level level, const char *event, const struct log_field *f, size_t n,
      const char *fmt, va_list ap)
{
	if (dest.target == LOG_TARGET_STDERR && dest.format == LOG_FORMAT_TEXT) {
		char line[LOG_LINE_MAX];
		emit_stderr(line, format_line(line, level, fmt, ap));
		return;
	}
	char buf[LOG_JSON_MAX + 1];
	if (dest.target == LOG_TARGET_SYSLOG) {
		size_t len = render_body(buf, level, event, f, n, fmt, ap);
		syslog_send(level, buf, len);
		return;
	}
	emit_stderr(buf, render_line(buf, level, event, f, n, fmt, ap));
}

void
xp_log(enum log_level level, const char *fmt, ...)
{
	if (level > log_threshold)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_v(level, NULL, NULL, 0, fmt, ap);
	va_end(ap);
}

void
log_event(enum log_level level, const char *event, const struct log_field *fields, size_t n,
          const char *fmt, ...)
{
	if (level > log_threshold)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_v(level, event, fields, n, fmt, ap);
	va_end(ap);
}

int
log_configure(enum log_format format, enum log_target target, const char *syslog_path)
{
	if (target == LOG_TARGET_SYSLOG) {
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		const char *path = syslog_path != NULL ? syslog_path : LOG_SYSLOG_PATH;
		if (strlen(path) >= sizeof(addr.sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(addr.sun_path, path, strlen(path) + 1);
		int fd = syslog_open(&addr);
		if (fd < 0)
			return -1;
		if (dest.fd >= 0)
			close(dest.fd);
		dest.fd = fd;
		dest.addr = addr;
		dest.retry_at = 0;
	} else if (dest.fd >= 0) {
		close(dest.fd);
		dest.fd = -1;
	}
	dest.format = format;
	dest.target = target;
	return 0;
}

void
log_reset(void)
{
	log_configure(LOG_FORMAT_TEXT, LOG_TARGET_STDERR, NULL);
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
