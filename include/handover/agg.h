/*
 * agg.h: the aggregation engine shared by handover-aggregate and
 * handover-replay. It folds a batch of reports from ONE partition in memory
 * and applies the batch's effect to Redis in one atomic, fenced step together
 * with the partition's next offset. The full key contract and the design are
 * in docs/aggregate.md.
 *
 * Keys: every key is "{P}:" NS NAME, where P is the prefix (a Redis Cluster
 * hash tag, so one script may touch them all) and NS is "" for the live keys
 * or a namespace such as "staging:" used by replay while it builds.
 *
 * One apply, per batch (ho_agg_batch_commit), on one connection:
 *   1. read (one pipelined round trip): WATCH the partition-count key and the
 *      fence keys "{P}:" NS "fence:N" of the batch's partition and of the
 *      home partition of every transfer it touches (ho_agg_home), then the
 *      stored offset, every key's type, the current state JSON of each
 *      transfer (HMGET {P}:transfers) and its report digests
 *      (HMGET {P}:transfer_ids);
 *   2. compute in C: duplicates (digests), new current states and the summed
 *      counter deltas;
 *   3. one MULTI/EXEC: the states, digests and scores as plain variadic
 *      commands, a small counters script, the new offset, INCR of every
 *      watched fence, PUBLISH {P}:updates. EXEC refuses when any watched key
 *      moved since step 1 (another writer of the partition or of one of the
 *      batch's transfers): nothing is written, and the commit reads again.
 * The stored offset is the fence as before: equal to the batch's next offset
 * means already applied, anything but its start means stale.
 *
 * Threads: an ho_agg_t is used from one thread at a time, and so is each batch;
 * batches of one engine may be filled on one thread while others are
 * committed elsewhere through ho_agg_batch_commit_via (they share only the
 * engine's read-only configuration).
 */
#ifndef HO_AGG_H
#define HO_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover/arena.h"
#include "handover/err.h"
#include "handover/keys.h"
#include "handover/redis.h"
#include "handover/report.h"

#define HO_OFFSET_NONE (-1) /* no stored offset: start from the beginning */

/* Key names and the layout: handover/keys.h. */

typedef struct ho_agg_conf_s {
        const char *prefix;     /* P, e.g. "handover" (copied) */
        const char *ns;         /* "" or NULL (live) or e.g. "staging:" (copied) */
        size_t max_batch_msgs;  /* 0: default (5000) */
        size_t max_batch_bytes; /* 0: default (8 MB of encoded values) */
        int max_batch_ms;       /* 0: default (50 ms from the first message) */
        int timeout_ms;         /* Redis connect/command timeout; 0: default (5000) */
        int max_conflicts;      /* refolds per commit before HO_ERR_CONFLICT; 0: default (16) */
        /* the caller is the only writer of this namespace (replay's staging
         * build, under its lock): no fences, no layout, the offset check only */
        bool exclusive;
        /* > 0: after each applied batch, WAIT for that many replicas (at
         * most wait_ms) before the commit returns; fewer is a warning, not
         * an error (the batch stands on the master; docs/scaling.md) */
        int wait_replicas;
        int wait_ms;
} ho_agg_conf_t;

typedef struct ho_agg_s ho_agg_t;
typedef struct ho_agg_batch_s ho_agg_batch_t;

/* conf and url are copied. Connects lazily; after a connection error the
 * context is freed and the next call reconnects. NULL + errstr on bad config
 * (empty prefix, prefix containing '{' or '}'). Free with ho_agg_destroy(),
 * after every batch made from it. */
ho_agg_t *ho_agg_new(const ho_agg_conf_t *conf, const ho_redis_url_t *url, char *errstr,
                     size_t errstr_size);
void ho_agg_destroy(ho_agg_t *agg);

/* The stored next offset of topic:partition (HGET {P}:offsets), or
 * HO_OFFSET_NONE when absent. HO_ERR_REDIS (retriable) on Redis errors. */
ho_err_t ho_agg_offset_get(ho_agg_t *agg, const char *topic, int32_t partition, int64_t *next,
                           char *errstr, size_t errstr_size);

/*
 * Batches: one open batch per partition (a consumer interleaves partitions).
 * Add or reject messages in offset order, then commit. A batch keeps its
 * allocations across commits, so a worker holds one batch per assigned
 * partition for as long as it owns it.
 */

/* start_offset is the stored offset the batch continues from (as returned by
 * ho_agg_offset_get, HO_OFFSET_NONE included): it is the fence. topic is
 * copied. NULL on out of memory. Free with ho_agg_batch_destroy(). */
ho_agg_batch_t *ho_agg_batch_new(ho_agg_t *agg, const char *topic, int32_t partition,
                                 int64_t start_offset);
void ho_agg_batch_destroy(ho_agg_batch_t *b);

/* Empty the batch and make it continue from start_offset (after
 * HO_ERR_FENCED, or on reassignment, with a freshly read offset). */
void ho_agg_batch_reset(ho_agg_batch_t *b, int64_t start_offset);

/* Fold one decoded, valid report at offset (r is copied as needed and stays
 * the caller's). value_bytes counts toward the byte cap. HO_ERR_NOMEM, or
 * HO_ERR_INVALID for a report without ids (the batch is unchanged then). */
ho_err_t ho_agg_batch_add(ho_agg_batch_t *b, const ho_report_t *r, int64_t offset,
                          size_t value_bytes);
/* The same, but may take r's members instead of copying them: r is left
 * either as it was or cleared (ho_report_init state); the caller clears or
 * overwrites it before reading it again. */
ho_err_t ho_agg_batch_add_move(ho_agg_batch_t *b, ho_report_t *r, int64_t offset,
                               size_t value_bytes);
/* Count a message at offset that went to the dead letter topic (adds to
 * totals.rejected when committed). Call only once the dead letter is delivered. */
void ho_agg_batch_reject(ho_agg_batch_t *b, int64_t offset);

/* The batch's arena: a report decoded into it (ho_codec_decode_in) may be
 * added with ho_agg_batch_add_move and lives until the batch is reset, which
 * also resets the arena. Nothing else may keep pointers into it. */
ho_arena_t *ho_agg_batch_arena(ho_agg_batch_t *b);

/* Messages added or rejected since the last commit/reset. */
size_t ho_agg_batch_count(const ho_agg_batch_t *b);
/* The fence: the stored offset this batch continues from. */
int64_t ho_agg_batch_start_offset(const ho_agg_batch_t *b);
/* Offset of the last message added or rejected + 1, or the start offset when
 * empty: what to pass to commit. */
int64_t ho_agg_batch_next_offset(const ho_agg_batch_t *b);
/* True when the batch reached its message or byte cap, or its time cap
 * counted from the first message. */
bool ho_agg_batch_full(const ho_agg_batch_t *b);
/* Milliseconds until the time cap (0 when reached), or -1 when empty: a
 * bound for the consumer's poll timeout. */
int ho_agg_batch_remaining_ms(const ho_agg_batch_t *b);

/*
 * Apply atomically with next_offset (normally ho_agg_batch_next_offset()).
 *   HO_OK: applied (or found already applied: a retry whose first reply was
 *     lost, seen as stored offset == next_offset). The batch is empty and
 *     continues from next_offset.
 *   HO_ERR_FENCED: the stored offset is neither the start nor next_offset:
 *     another worker owns the partition. Nothing written; the batch is emptied
 *     and the caller re-reads its position (ho_agg_offset_get, then
 *     ho_agg_batch_reset, and seek).
 *   HO_ERR_REDIS: Redis unreachable or failing (retriable): nothing written,
 *     or unknown; the batch is kept: retry the SAME commit after a backoff.
 *   HO_ERR_CONFLICT: transfers kept moving under us (other partitions writing
 *     them) more than max_conflicts times; the batch is kept: retry.
 *   HO_ERR_JSON: a key of the wrong type, a value in {P}:transfers or
 *     {P}:transfer_ids that this engine did not write, a prefix of an earlier
 *     layout, or (in a race with someone writing our keys) a transaction that
 *     ran in part: corrupt data, not retriable; the batch is kept.
 *   HO_ERR_USAGE: next_offset does not follow the batch (a caller bug).
 *   HO_ERR_NOMEM: fatal.
 * An empty batch with next_offset == start offset is HO_OK without a round
 * trip; an empty batch with a greater next_offset just advances the offset.
 */
ho_err_t ho_agg_batch_commit(ho_agg_batch_t *b, int64_t next_offset, char *errstr,
                             size_t errstr_size);

/* The same, through another engine's connection and buffers (its stats count
 * it): a worker applies batches of several partitions at once, one engine per
 * apply thread. via must have the batch's prefix and namespace
 * (HO_ERR_USAGE otherwise). The batch and via are both used by the calling
 * thread alone for the call's duration. */
ho_err_t ho_agg_batch_commit_via(ho_agg_t *via, ho_agg_batch_t *b, int64_t next_offset,
                                 char *errstr, size_t errstr_size);

typedef struct ho_agg_stats_s {
        uint64_t batches;    /* commits that wrote */
        uint64_t reports;    /* new distinct reports applied */
        uint64_t duplicates; /* reports already applied (in Redis or earlier in the batch) */
        uint64_t rejected;   /* dead-lettered messages counted */
        uint64_t already;    /* commits found already applied (retries) */
        uint64_t fenced;     /* commits refused by the fence */
        uint64_t conflicts;  /* refolds after a revision moved */
} ho_agg_stats_t;
/* Cumulative over the ho_agg_t's life, all batches. */
void ho_agg_stats(const ho_agg_t *agg, ho_agg_stats_t *out);

#endif
