/*
 * kfetch.h: keeping librdkafka 2.0.x's fetcher busy.
 *
 * librdkafka 2.0.x stops fetching a partition once the consumer's prefetch
 * queue is over queued.max.messages.kbytes, and looks again only on its broker
 * thread's next wake-up, up to a second later (2.1 added
 * fetch.queue.backoff.ms for this). A consumer that drains a full queue faster
 * than that then sits idle for most of the second: 1M reports through one
 * worker took 37 s instead of 14 s. A seek is an operation on the broker
 * thread, so an asynchronous seek of each partition to the offset the caller
 * expects next wakes the fetcher at once. The caller does it only when its
 * queue ran dry (nothing prefetched is lost; a fetch in flight is re-sent) and
 * only after a burst of at least HO_KFETCH_WAKE_MSGS messages, so a trickle
 * never seeks.
 */
#ifndef HO_KFETCH_H
#define HO_KFETCH_H

#include <librdkafka/rdkafka.h>

#define HO_KFETCH_WAKE_MSGS 1000

/* Seek every element of at to its .offset without waiting (timeout 0);
 * failures are logged at debug level and otherwise ignored. */
void ho_kfetch_wake(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *at);

#endif
