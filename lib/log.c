/* log.c: leveled stderr logging with UTC timestamps (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "handover/log.h"

static const char *ho_log_prog = "handover";
static ho_log_level_t ho_log_level = HO_LOG_INFO;
static const char *const ho_log_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int ho_log_level_parse(const char *s) {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++)
                if (s && !strcasecmp(s, names[i]))
                        return i;
        return -1;
}

void ho_log_init(const char *progname) {
        const char *slash = progname ? strrchr(progname, '/') : NULL;
        ho_log_prog = slash ? slash + 1 : (progname ? progname : "handover");
        const char *env = getenv("HANDOVER_LOG_LEVEL");
        int lvl = ho_log_level_parse(env);
        if (lvl >= 0)
                ho_log_level = (ho_log_level_t)lvl;
}

void ho_log_set_level(ho_log_level_t level) {
        ho_log_level = level;
}

ho_log_level_t ho_log_get_level(void) {
        return ho_log_level;
}

void ho_log(ho_log_level_t level, const char *fmt, ...) {
        if (level > ho_log_level)
                return;
        struct timeval tv;
        struct tm tm;
        char ts[32];
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        char line[4096];
        int n = snprintf(line, sizeof(line), "%s.%03dZ %s[%d] %s: ", ts, (int)(tv.tv_usec / 1000),
                         ho_log_prog, (int)getpid(), ho_log_names[level]);
        va_list ap;
        va_start(ap, fmt);
        if (n > 0 && (size_t)n < sizeof(line))
                vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        /* one write per line so lines of concurrent processes do not interleave */
        fprintf(stderr, "%s\n", line);
}
