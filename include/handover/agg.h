/*
 * agg.h: the aggregation engine shared by handover-aggregate and
 * handover-replay. It folds a batch of reports from ONE partition in memory
 * and applies the batch's effect to Redis in one atomic, fenced step together
 * with the partition's next offset.
 *
 * Keys (the public read contract, see README "Redis keys"): every key is
 * "{P}:" NS NAME, where P is the prefix (a Redis Cluster hash tag, so one
 * script may touch them all) and NS is "" for the live keys or a namespace
 * such as "staging:" used by replay while it builds.
 *
 * One apply, per batch:
 *   1. read (one pipelined round trip): the current state JSON of every
 *      transfer the batch touches (HMGET {P}:transfers), their revisions
 *      (HMGET {P}:transfer_revs), and which of the batch's report ids were
 *      applied before (SMISMEMBER {P}:report_ids "transfer_id report_id");
 *   2. compute in C: new current states and the summed counter deltas;
 *   3. EVALSHA one Lua script that checks the fence (stored offset of
 *      "topic:partition" == the batch's start offset, or absent when the
 *      batch starts from "none") and the revisions read in step 1, and only
 *      then writes states, deltas, report ids and the new offset, and
 *      PUBLISHes to {P}:updates. A failed fence returns HO_ERR_FENCED (the
 *      caller drops its position and re-reads the stored offset); a moved
 *      revision makes the engine refold and retry internally.
 */
#ifndef HO_AGG_H
#define HO_AGG_H

#include <stdbool.h>
#include <stdint.h>
#include "handover/err.h"
#include "handover/redis.h"
#include "handover/report.h"

#define HO_OFFSET_NONE (-1) /* no stored offset: start from the beginning */

/* Key names after "{P}:" NS, NULL-terminated. Every key the engine writes,
 * including internal bookkeeping (transfer_revs, report_ids, dates...), so
 * replay can build and promote a complete set. */
extern const char *const ho_agg_key_names[];

typedef struct ho_agg_conf_s {
        const char *prefix;     /* P, e.g. "handover" */
        const char *ns;         /* "" (live) or e.g. "staging:" */
        size_t max_batch_msgs;  /* 0: default (5000) */
        size_t max_batch_bytes; /* 0: default (8 MB of encoded values) */
        int max_batch_ms;       /* 0: default (50 ms from the first message) */
} ho_agg_conf_t;

typedef struct ho_agg_s ho_agg_t;

/* url is copied. Connects lazily; reconnects on the next call after a
 * connection error. NULL + errstr on bad config. Free with ho_agg_destroy(). */
ho_agg_t *ho_agg_new(const ho_agg_conf_t *conf, const ho_redis_url_t *url, char *errstr,
                     size_t errstr_size);
void ho_agg_destroy(ho_agg_t *agg);

/* Write "{P}:" NS name into out. */
void ho_agg_key(const ho_agg_t *agg, const char *name, char *out, size_t out_size);

/* The stored next offset of topic:partition, or HO_OFFSET_NONE. */
ho_err_t ho_agg_offset_get(ho_agg_t *agg, const char *topic, int32_t partition, int64_t *next,
                           char *errstr, size_t errstr_size);

/* Batches: begin, add/reject messages in offset order, then commit or abort.
 * start_offset is the stored offset the batch continues from (as returned by
 * ho_agg_offset_get, HO_OFFSET_NONE included): it is the fence. */
void ho_agg_batch_begin(ho_agg_t *agg, const char *topic, int32_t partition, int64_t start_offset);
/* Fold one decoded report (copied as needed; r stays the caller's). */
ho_err_t ho_agg_batch_add(ho_agg_t *agg, const ho_report_t *r, int64_t offset, size_t value_bytes);
/* Count a message that went to the dead letter topic (adds to totals.rejected). */
void ho_agg_batch_reject(ho_agg_t *agg, int64_t offset);
size_t ho_agg_batch_count(const ho_agg_t *agg);
/* True when the batch reached its message or byte cap, or its time cap
 * counted from the first message. */
bool ho_agg_batch_full(const ho_agg_t *agg);
/* Apply atomically with next_offset (offset of the last message + 1).
 * HO_OK: applied and the batch is empty again. HO_ERR_FENCED: nothing
 * written, batch dropped. HO_ERR_REDIS: nothing written (or unknown: the
 * caller retries the SAME batch, and the fence makes a retry of an applied
 * batch come back HO_ERR_FENCED... which is why commit first checks whether
 * the stored offset already equals next_offset and then returns HO_OK). */
ho_err_t ho_agg_batch_commit(ho_agg_t *agg, int64_t next_offset, char *errstr, size_t errstr_size);
void ho_agg_batch_abort(ho_agg_t *agg);

typedef struct ho_agg_stats_s {
        uint64_t batches, reports, duplicates, rejected, fenced, conflicts;
} ho_agg_stats_t;
void ho_agg_stats(const ho_agg_t *agg, ho_agg_stats_t *out);

#endif
