/* log.h - leveled logging, one line per event, as text or as JSON objects
 * (log-format), to stderr or to the local syslog socket (log-target).
 *
 * Before log_sink_start, xp_log writes each stderr line synchronously
 * (fwrite). From log_sink_start to log_sink_stop, lines go into a bounded
 * buffer that an ev_io watcher writes out without ever blocking the event
 * loop; lines that do not fit are dropped and counted, and "N log lines
 * dropped" is logged once the output has drained.
 *
 * The syslog target sends one datagram per line (RFC 3164 framing, facility
 * daemon) on a non-blocking AF_UNIX datagram socket connected to /dev/log:
 * syslog(3) would block the event loop while the daemon is busy. A datagram
 * the socket cannot take at once is dropped and counted the same way.
 *
 * Free text (xp_log) becomes {"time","level","msg"} in JSON. Structured
 * events (log_event) carry both: a printf format for the text line, which
 * stays exactly as it always was, and fields for the JSON object
 * {"time","level","event",fields...}. */
#ifndef XP_LOG_H
#define XP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

enum log_level { XP_LOG_ERROR = 0, XP_LOG_WARNING, XP_LOG_INFO, XP_LOG_DEBUG };

/* Current threshold; messages above it are dropped. */
extern enum log_level log_threshold;

/* Parse "error|warning|info|debug"; returns -1 on an unknown name. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

void xp_log(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)   xp_log(XP_LOG_ERROR, __VA_ARGS__)
#define log_warning(...) xp_log(XP_LOG_WARNING, __VA_ARGS__)
#define log_info(...)    do { if (log_threshold >= XP_LOG_INFO) xp_log(XP_LOG_INFO, __VA_ARGS__); } while (0)
#define log_debug(...)   do { if (log_threshold >= XP_LOG_DEBUG) xp_log(XP_LOG_DEBUG, __VA_ARGS__); } while (0)

enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };
enum log_target { LOG_TARGET_STDERR = 0, LOG_TARGET_SYSLOG };

/* "text|json", "stderr|syslog"; -1 on an unknown name. */
int log_format_parse(const char *name);
const char *log_format_name(enum log_format f);
int log_target_parse(const char *name);
const char *log_target_name(enum log_target t);

#define LOG_SYSLOG_PATH "/dev/log"

/* Selects format and target. For syslog, connects to syslog_path (NULL:
 * LOG_SYSLOG_PATH); returns -1 with errno if that fails (nothing changes).
 * Calling it again replaces the previous choice. */
int log_configure(enum log_format format, enum log_target target, const char *syslog_path);

/* Back to text on stderr; closes the syslog socket. */
void log_reset(void);

enum log_format log_current_format(void);

/* One field of a structured event. A string field whose value is NULL is
 * left out (optional fields). */
enum log_field_type { LF_STR, LF_STRN, LF_INT, LF_UINT, LF_DBL, LF_BOOL };
struct log_field {
	const char *key;           /* a plain ASCII literal: written as is */
	enum log_field_type type;
	union { const char *s; int64_t i; uint64_t u; double d; bool b; } v;
	size_t n;                  /* LF_STRN: length; LF_DBL: decimals */
};
#define LF_S(k, x)     ((struct log_field){ .key = (k), .type = LF_STR, .v.s = (x) })
#define LF_SN(k, x, l) ((struct log_field){ .key = (k), .type = LF_STRN, .v.s = (x), .n = (l) })
#define LF_I(k, x)     ((struct log_field){ .key = (k), .type = LF_INT, .v.i = (x) })
#define LF_U(k, x)     ((struct log_field){ .key = (k), .type = LF_UINT, .v.u = (x) })
#define LF_D(k, x, p)  ((struct log_field){ .key = (k), .type = LF_DBL, .v.d = (x), .n = (p) })
#define LF_B(k, x)     ((struct log_field){ .key = (k), .type = LF_BOOL, .v.b = (x) })

/* One event: in text, the line fmt makes; in JSON, {"time","level",
 * "event":event, fields...}. Nothing is formatted above the threshold. */
void log_event(enum log_level level, const char *event, const struct log_field *fields,
               size_t n, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Buffered output of the non-blocking sink; one line is at most LOG_LINE_MAX. */
#define LOG_SINK_SIZE (256 * 1024)
#define LOG_LINE_MAX 1024
#define LOG_JSON_MAX 4096          /* one JSON object, newline included */

/* From now on, log lines go to stderr (fd 2, set O_NONBLOCK) through the
 * non-blocking sink on loop. Returns 0, or -1 (out of memory: logging stays
 * synchronous). */
int log_sink_start(struct ev_loop *loop);

/* The same on any descriptor (for tests: a pipe). */
int log_sink_start_fd(struct ev_loop *loop, int fd);

/* Writes what is buffered, waiting at most 1 s in total, restores the
 * descriptor's blocking mode and returns to synchronous logging. */
void log_sink_stop(void);

/* Log lines dropped (buffer full, write error, syslog socket busy or gone)
 * since the program started. */
uint64_t log_dropped_total(void);

#endif
