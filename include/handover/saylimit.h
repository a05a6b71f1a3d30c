/*
 * saylimit.h: say each kind of trouble at most once per interval, each kind on
 * its own clock. A broker outage repeats the same few messages many times a
 * second (one per retry, per broker); a single clock for all of them lets the
 * first line about a second broker fall inside the first broker's quiet
 * interval, and librdkafka then suppresses its repeats for 30 s, so the
 * outage of that broker went unsaid that long.
 *
 * The kind of a message is its text up to " (after " (librdkafka appends the
 * time in state and a count of suppressed repeats there), so each broker and
 * each kind of failure counts separately. Not thread-safe: one per callback
 * that runs on one thread (librdkafka's error callback runs in our polls).
 */
#ifndef HO_SAYLIMIT_H
#define HO_SAYLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define HO_SAYLIMIT_KINDS 32

typedef struct ho_saylimit_s {
        int64_t interval_ms;
        struct {
                uint64_t key; /* hash of the message's kind; 0: free slot */
                int64_t last_ms;
        } kinds[HO_SAYLIMIT_KINDS];
} ho_saylimit_t;

/* Start with nothing said; interval_ms between two lines of one kind. */
void ho_saylimit_init(ho_saylimit_t *sl, int64_t interval_ms);

/* True when a message of code `code` and text `msg` should be said at time
 * now_ms (its kind was not said within the interval), and records that it was.
 * More kinds than slots: the one said longest ago gives its slot up. */
bool ho_saylimit_ok(ho_saylimit_t *sl, int code, const char *msg, int64_t now_ms);

#endif
