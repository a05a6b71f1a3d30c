/*
 * kfetch.h: keeping librdkafka 2.0.x's fetcher busy.
 *
 * librdkafka 2.0.x stops fetching a partition once the consumer's prefetch
 * queue is over queued.max.messages.kbytes, and looks again only on its broker
 * thread's next wake-up, up to a second later (2.1 added
 * fetch.queue.backoff.ms for this). A consumer that drains a full queue faster
 * than that then sits idle for most of the second. A seek is an operation on the broker
 * thread, so an asynchronous seek of each partition to the offset the caller
 * expects next wakes the fetcher at once. The caller does it only when its
 * queue ran dry (nothing prefetched is lost; a fetch in flight is re-sent) and
 * only after a burst of at least HO_KFETCH_WAKE_MSGS messages, so a trickle
 * never seeks.
 */
#ifndef HO_KFETCH_H
#define HO_KFETCH_H

#include <stdbool.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#define HO_KFETCH_WAKE_MSGS 1000

/* Whether a burst of at least HO_KFETCH_WAKE_MSGS messages came since the
 * last dry poll: seen counts the messages polled so far, dry_at is that
 * count at the last dry poll. */
static inline bool ho_kfetch_in_burst(uint64_t dry_at, uint64_t seen) {
        return seen - dry_at >= HO_KFETCH_WAKE_MSGS;
}

/* A poll came back empty: true when the fetcher should be woken (a burst
 * just ran dry). Records seen as the new *dry_at. */
static inline bool ho_kfetch_ran_dry(uint64_t *dry_at, uint64_t seen) {
        bool wake = ho_kfetch_in_burst(*dry_at, seen);
        *dry_at = seen;
        return wake;
}

/* Seek every element of at to its .offset without waiting (timeout 0; the
 * elements' .err are set). Failures are logged at debug level and otherwise
 * ignored. */
void ho_kfetch_wake(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *at);

#endif
