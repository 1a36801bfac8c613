/* log.h - leveled logging to stderr, one line per event. */
#ifndef XP_LOG_H
#define XP_LOG_H

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

#endif
