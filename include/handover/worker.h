/*
 * worker.h: the aggregation worker's loop (handover-aggregate), kept in lib/
 * so tests reach it. One worker = one Kafka consumer in a group, one dead
 * letter producer, one codec and three aggregation engines (agg.h), each
 * with its own Redis connection: the main thread's (offsets on assignment,
 * re-reads after a fence, shutdown) and one per apply thread.
 *
 * Threads: the main thread (ho_worker_run) polls Kafka, decodes, folds
 * messages into per-partition batches and waits for dead letter deliveries;
 * every librdkafka callback (rebalance, errors, logs, delivery reports) runs
 * inside its poll calls. Two apply threads commit ready batches to Redis, at
 * most one batch per partition in flight, so folding overlaps applying
 * (worker.c says how ordering and the fence stay exact). ho_worker_health()
 * is called from the metrics server's thread (metrics.h) when conf.metrics
 * is set. librdkafka runs its own internal threads besides.
 *
 * Exactly once, from the worker's side: Redis holds the truth (counters and
 * each partition's next offset, applied in one fenced atomic step by agg.h).
 * On assignment the worker reads each partition's stored offset from Redis
 * and starts there; Kafka's committed offsets are written afterwards only so
 * that lag tools see progress.
 */
#ifndef HO_WORKER_H
#define HO_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "handover/conf.h"
#include "handover/err.h"
#include "handover/metrics.h"
#include "handover/redis.h"
#include "handover/registry.h"

/* One -X key=value, -c FILE or -b BROKERS, in command-line order (conf.h). */
typedef ho_conf_kprop_t ho_worker_kprop_t;

typedef struct ho_worker_conf_s {
        const char *brokers;         /* HANDOVER_BROKERS: over the -c files, under -b and -X */
        const char *topic;           /* source topic (required) */
        const char *group;           /* consumer group (required) */
        const char *dlq_topic;       /* NULL: topic + ".dlq" */
        const char *prefix;          /* Redis key prefix (required) */
        const ho_redis_url_t *redis; /* required; copied by the engine */
        /* librdkafka settings from -X key=value and -c FILE, applied in order
         * over the worker's defaults, to the consumer and to the dead letter
         * producer alike (librdkafka warns about, and ignores, a property
         * meant for the other kind of client). Strings stay the caller's. */
        const ho_worker_kprop_t *kprops;
        size_t n_kprops;
        size_t batch_max_msgs;   /* 0: engine default */
        size_t batch_max_bytes;  /* 0: engine default */
        int batch_max_ms;        /* 0: engine default */
        int redis_wait_replicas; /* > 0: WAIT for them after each batch (--redis-wait) */
        int redis_wait_ms;
        ho_metrics_t *metrics; /* NULL: none; else the worker adds its metrics here */
        bool create_dlq;       /* create a missing dead letter topic instead of failing */
        int stats_interval_s;  /* 0: no stats lines */
        /* NULL, or the schema registry that values in the Confluent framing
         * name (borrowed: it must outlive the worker). While it cannot be
         * asked about an id, that partition waits and retries: the value
         * is not dead-lettered. */
        ho_registry_t *registry;
} ho_worker_conf_t;

typedef struct ho_worker_s ho_worker_t;

/* Counters since start (the stats line prints them). */
typedef struct ho_worker_stats_s {
        uint64_t messages;     /* messages consumed */
        uint64_t reports;      /* reports applied (duplicates included) */
        uint64_t duplicates;   /* reports whose id was applied before */
        uint64_t batches;      /* batches applied */
        uint64_t rejected;     /* dead letters delivered and counted */
        uint64_t fenced;       /* batches dropped because the stored offset moved */
        uint64_t redis_errors; /* failed applies (retried) */
        int64_t lag;           /* sum over assigned partitions: high watermark - position */
} ho_worker_stats_t;

/* Create the consumer, producer, codec and engine; subscribe happens in run.
 * NULL + errstr on failure, with *errp (may be NULL) saying which:
 * HO_ERR_USAGE for a bad configuration (exit 2), HO_ERR_CLIENT when
 * librdkafka refuses to make a client, HO_ERR_NOMEM. conf's strings must
 * outlive the worker. */
ho_worker_t *ho_worker_new(const ho_worker_conf_t *conf, ho_err_t *errp, char *errstr,
                           size_t errstr_size);

/* Check that the topic and the dead letter topic exist (creating the latter
 * when conf.create_dlq says so), subscribe and consume until *stop becomes
 * non-zero (set by a signal handler), then apply complete batches, leave the
 * group (consumer close) and return HO_OK. Returns HO_ERR_NOT_FOUND when a
 * topic is missing, HO_ERR_KAFKA_FATAL on a librdkafka error retrying
 * cannot fix (a fatal error, a refused login, TLS; errstr says which),
 * HO_ERR_NOMEM; Redis outages and broker outages are retried, never
 * returned. */
ho_err_t ho_worker_run(ho_worker_t *w, volatile sig_atomic_t *stop, char *errstr,
                       size_t errstr_size);

void ho_worker_stats(const ho_worker_t *w, ho_worker_stats_t *out);

/* A ho_metrics_health_cb (opaque = the worker; needs conf.metrics): in its
 * group, holding its assignment, no partition stalled, Redis answering.
 * Runs on any thread. */
bool ho_worker_health(void *w, char *reason, size_t reason_size);

/* Frees everything; safe after run returned or without run. */
void ho_worker_destroy(ho_worker_t *w);

#endif
