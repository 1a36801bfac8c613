/* log.h - leveled logging to stderr, one line per event.
 *
 * Before log_sink_start, xp_log writes each line synchronously (fwrite). From
 * log_sink_start to log_sink_stop, lines go into a bounded buffer that an
 * ev_io watcher writes out without ever blocking the event loop; lines that do
 * not fit are dropped and counted, and "N log lines dropped" is logged once
 * the output has drained. */
#ifndef XP_LOG_H
#define XP_LOG_H

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

/* Buffered output of the non-blocking sink; one line is at most LOG_LINE_MAX. */
#define LOG_SINK_SIZE (256 * 1024)
#define LOG_LINE_MAX 1024

/* From now on, log lines go to stderr (fd 2, set O_NONBLOCK) through the
 * non-blocking sink on loop. Returns 0, or -1 (out of memory: logging stays
 * synchronous). */
int log_sink_start(struct ev_loop *loop);

/* The same on any descriptor (for tests: a pipe). */
int log_sink_start_fd(struct ev_loop *loop, int fd);

/* Writes what is buffered, waiting at most 1 s in total, restores the
 * descriptor's blocking mode and returns to synchronous logging. */
void log_sink_stop(void);

/* Log lines dropped (buffer full or write error) since the program started. */
uint64_t log_dropped_total(void);

#endif
