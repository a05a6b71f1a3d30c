/*
 * worker_metrics.h: the aggregation worker's metrics and health (the names
 * are a public interface: docs/metrics.md). The worker's thread reports
 * events and, every half second, a snapshot of its counters; the HTTP thread
 * renders them and asks ho_wmetrics_health() whether the worker is well.
 *
 * Threads: ho_wmetrics_health() may run on any thread; every other function
 * runs on the worker's thread only.
 */
#ifndef HO_WORKER_METRICS_H
#define HO_WORKER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover/err.h"
#include "handover/metrics.h"
#include "handover/redis.h"

typedef struct ho_wmetrics_s ho_wmetrics_t;

/* Where the worker stands in its group. */
typedef enum {
        HO_WM_STARTING = 0, /* subscribed, no assignment yet */
        HO_WM_ASSIGNED,     /* holds its assignment (possibly empty) */
        HO_WM_REVOKED,      /* gave its partitions up, waiting for the new assignment */
        HO_WM_LOST,         /* its assignment was lost (session timed out) */
        HO_WM_STOPPING,
} ho_wm_phase_t;

/* Register the worker's metrics in reg (which must outlive the result).
 * topic, group and url are copied; url is used for the health check's own
 * PING. stall_ms: how long the worker's loop may go without a snapshot
 * before it counts as stuck. NULL + errstr. */
ho_wmetrics_t *ho_wmetrics_new(ho_metrics_t *reg, const char *topic, const char *group,
                               const ho_redis_url_t *url, int stall_ms, char *errstr,
                               size_t errstr_size);
void ho_wmetrics_destroy(ho_wmetrics_t *wm);

/* A report at offset of partition was folded; ts_ms its message timestamp
 * (ms since the epoch, or -1 when it has none). A message read again (after
 * a fence, a retry or a seek) replaces what was recorded from its offset on. */
void ho_wmetrics_folded(ho_wmetrics_t *wm, int32_t partition, int64_t offset, int64_t ts_ms);
/* An apply of partition's batch up to next took apply_us and returned err:
 * HO_OK observes produce -> applied for every report below next; a fence
 * forgets what was folded (it is read again). */
void ho_wmetrics_applied(ho_wmetrics_t *wm, int32_t partition, int64_t next, uint64_t apply_us,
                         ho_err_t err);
/* The partition was revoked: forget what was folded. */
void ho_wmetrics_released(ho_wmetrics_t *wm, int32_t partition);
/* librdkafka reported a (non-fatal) error. */
void ho_wmetrics_kafka_error(ho_wmetrics_t *wm);
/* The group moved the worker to phase (HO_WM_ASSIGNED counts a rebalance). */
void ho_wmetrics_phase(ho_wmetrics_t *wm, ho_wm_phase_t phase);

/* The worker's counters since start (the stats line's) and its partitions. */
typedef struct ho_wm_snap_s {
        uint64_t messages, reports, duplicates, batches, rejected, fenced, conflicts, redis_errors;
        size_t assigned, stalled;
} ho_wm_snap_t;
/* Publish a snapshot; partition lags follow with ho_wmetrics_lag() and end
 * with ho_wmetrics_lag_done() (partitions not named since the last one are
 * dropped from handover_partition_lag). */
void ho_wmetrics_update(ho_wmetrics_t *wm, const ho_wm_snap_t *s);
void ho_wmetrics_lag(ho_wmetrics_t *wm, int32_t partition, int64_t lag);
void ho_wmetrics_lag_done(ho_wmetrics_t *wm);

/* A ho_metrics_health_cb: in the group, holding the assignment, no partition
 * stalled, the loop alive, and Redis answering a PING (its own connection,
 * at most one PING a second, 1 s timeout). opaque is the ho_wmetrics_t. */
bool ho_wmetrics_health(void *opaque, char *reason, size_t reason_size);

#endif
