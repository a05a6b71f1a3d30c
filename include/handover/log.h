/*
 * log.h: leveled logging to stderr, for workers and tools. The level comes
 * from ho_log_set_level() or HANDOVER_LOG_LEVEL (error|warn|info|debug).
 * Lines look like: "2026-01-21T05:47:00.123Z handover-aggregate[123] INFO: ..."
 */
#ifndef HO_LOG_H
#define HO_LOG_H

typedef enum { HO_LOG_ERROR = 0, HO_LOG_WARN, HO_LOG_INFO, HO_LOG_DEBUG } ho_log_level_t;

/* Program name shown in every line; reads HANDOVER_LOG_LEVEL. Call once. */
void ho_log_init(const char *progname);
void ho_log_set_level(ho_log_level_t level);
ho_log_level_t ho_log_get_level(void);
/* Parse "error|warn|info|debug"; -1 when unknown. */
int ho_log_level_parse(const char *s);
void ho_log(ho_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ho_error(...) ho_log(HO_LOG_ERROR, __VA_ARGS__)
#define ho_warn(...) ho_log(HO_LOG_WARN, __VA_ARGS__)
#define ho_info(...) ho_log(HO_LOG_INFO, __VA_ARGS__)
#define ho_debug(...)                                                                              \
        do {                                                                                       \
                if (ho_log_get_level() >= HO_LOG_DEBUG)                                            \
                        ho_log(HO_LOG_DEBUG, __VA_ARGS__);                                         \
        } while (0)

#endif
