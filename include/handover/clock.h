/*
 * clock.h: milliseconds from the two clocks the programs use: monotonic for
 * timeouts, deadlines and rates; wall for timestamps written out; and a sleep.
 */
#ifndef HO_CLOCK_H
#define HO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t ho_clock_ms(clockid_t clk) {
        struct timespec ts;
        clock_gettime(clk, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t ho_mono_ms(void) {
        return ho_clock_ms(CLOCK_MONOTONIC);
}

/* The monotonic clock at the kernel tick's resolution (a few ms), for a loop
 * that reads the time per message to schedule retries and stats: a fraction
 * of the precise clock's cost. */
static inline int64_t ho_mono_coarse_ms(void) {
        return ho_clock_ms(CLOCK_MONOTONIC_COARSE);
}

static inline int64_t ho_wall_ms(void) {
        return ho_clock_ms(CLOCK_REALTIME);
}

/* Sleeps ms milliseconds, or less when a signal arrives: callers re-check
 * their stop flag after it, so a SIGTERM never waits out a backoff. */
static inline void ho_sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

#endif
