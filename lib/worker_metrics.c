/*
 * worker_metrics.c: the aggregation worker's metrics and health check (see
 * worker_metrics.h; every name is documented in docs/metrics.md).
 *
 * Counters mirror the worker's own stats (the numbers its stats line
 * prints), so the two always agree. The produce -> applied latency needs each
 * report's timestamp at the moment its batch is applied: per partition a
 * queue of (offset, timestamp) for the reports folded and not yet applied,
 * in offset order; an apply up to `next` takes every entry below it. The
 * queue holds what the partition's open and in-flight batches hold, so it is
 * bounded like them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "handover/clock.h"
#include "handover/worker_metrics.h"

typedef struct ho_wm_queue_s {
        int64_t *off, *ts;
        size_t head, len, cap;
        bool lag_set;  /* a handover_partition_lag series exists for it */
        bool lag_seen; /* named since the last ho_wmetrics_lag_done */
} ho_wm_queue_t;

struct ho_wmetrics_s {
        char *topic, *group;
        ho_wm_queue_t *q; /* indexed by partition */
        size_t n_q;
        ho_metric_t *messages, *reports, *duplicates, *rejected, *batches, *fenced, *conflicts,
                *redis_errors, *kafka_errors, *rebalances, *assigned, *stalled, *lag, *apply_s,
                *latency_s;
        /* health: written by the worker's thread, read by the HTTP thread */
        pthread_mutex_t mu;
        ho_wm_phase_t phase;
        size_t n_assigned, n_stalled;
        int64_t updated_ms; /* monotonic */
        int stall_ms;
        /* the health check's own Redis connection (HTTP thread) */
        pthread_mutex_t ping_mu;
        ho_redis_url_t url;
        char *url_display;
        redisContext *rc;
        int64_t ping_ms; /* monotonic, of the last PING */
        bool ping_ok;
        char ping_err[256];
};

static char *wm_strdup(const char *s, bool *ok) {
        if (!s)
                return NULL;
        char *d = strdup(s);
        if (!d)
                *ok = false;
        return d;
}

/* apply step: one read round trip, computing the states, one script */
static const double ho_wm_apply_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
/* produce -> applied: milliseconds when live, hours or more for old history */
static const double ho_wm_latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,
                                               2.5,   5,    10,    30,   60,  300,  3600, 86400};

ho_wmetrics_t *ho_wmetrics_new(ho_metrics_t *reg, const char *topic, const char *group,
                               const ho_redis_url_t *url, int stall_ms, char *errstr,
                               size_t errstr_size) {
        ho_wmetrics_t *wm = calloc(1, sizeof(*wm));
        if (!wm) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&wm->mu, NULL);
        pthread_mutex_init(&wm->ping_mu, NULL);
        wm->stall_ms = stall_ms;
        wm->updated_ms = ho_mono_ms();
        bool ok = true;
        wm->topic = wm_strdup(topic, &ok);
        wm->group = wm_strdup(group, &ok);
        if (ho_redis_url_copy(&wm->url, url))
                ok = false;
        if (!ok || !(wm->url_display = ho_redis_url_display(&wm->url))) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                goto fail;
        }
        /* ... = labels, buckets, number of buckets */
#define HO_WM_ADD(field, type, name, help, ...)                                                    \
        if (!(wm->field = ho_metrics_add(reg, type, name, help, __VA_ARGS__, errstr,               \
                                         errstr_size)))                                            \
                goto fail;
#define HO_WM_NO_BUCKETS NULL, 0
#define HO_WM_BUCKETS(b) b, sizeof(b) / sizeof(*b)
        HO_WM_ADD(messages, HO_METRIC_COUNTER, "handover_messages_total",
                  "Messages consumed from the topic (reports and rejected ones).", NULL,
                  HO_WM_NO_BUCKETS);
        HO_WM_ADD(reports, HO_METRIC_COUNTER, "handover_reports_applied_total",
                  "Distinct reports applied to Redis (what totals.reports counts).", NULL,
                  HO_WM_NO_BUCKETS);
        HO_WM_ADD(duplicates, HO_METRIC_COUNTER, "handover_duplicates_total",
                  "Reports whose report id was applied before: they changed nothing.", NULL,
                  HO_WM_NO_BUCKETS);
        HO_WM_ADD(rejected, HO_METRIC_COUNTER, "handover_rejected_total",
                  "Messages sent to the dead letter topic and counted in totals.rejected.", NULL,
                  HO_WM_NO_BUCKETS);
        HO_WM_ADD(batches, HO_METRIC_COUNTER, "handover_batches_total", "Batches applied to Redis.",
                  NULL, HO_WM_NO_BUCKETS);
        HO_WM_ADD(fenced, HO_METRIC_COUNTER, "handover_fenced_batches_total",
                  "Batches dropped because another worker had moved the partition's stored "
                  "offset.",
                  NULL, HO_WM_NO_BUCKETS);
        HO_WM_ADD(conflicts, HO_METRIC_COUNTER, "handover_conflicts_total",
                  "Batches folded again because a transfer's revision moved during the apply.",
                  NULL, HO_WM_NO_BUCKETS);
        HO_WM_ADD(redis_errors, HO_METRIC_COUNTER, "handover_redis_errors_total",
                  "Applies that failed on Redis (each is retried).", NULL, HO_WM_NO_BUCKETS);
        HO_WM_ADD(kafka_errors, HO_METRIC_COUNTER, "handover_kafka_errors_total",
                  "Errors librdkafka reported (brokers down, timeouts; it retries them).", NULL,
                  HO_WM_NO_BUCKETS);
        HO_WM_ADD(rebalances, HO_METRIC_COUNTER, "handover_rebalances_total",
                  "Assignments received from the consumer group.", NULL, HO_WM_NO_BUCKETS);
        HO_WM_ADD(assigned, HO_METRIC_GAUGE, "handover_partitions_assigned",
                  "Partitions this worker holds.", NULL, HO_WM_NO_BUCKETS);
        HO_WM_ADD(stalled, HO_METRIC_GAUGE, "handover_partitions_stalled",
                  "Partitions paused while a failed apply or dead letter is retried.", NULL,
                  HO_WM_NO_BUCKETS);
        HO_WM_ADD(lag, HO_METRIC_GAUGE, "handover_partition_lag",
                  "Messages between the partition's stored offset and its high watermark.",
                  "topic,partition", HO_WM_NO_BUCKETS);
        HO_WM_ADD(apply_s, HO_METRIC_HISTOGRAM, "handover_apply_seconds",
                  "Time one apply of a batch to Redis took (read, compute, script), failed "
                  "ones included.",
                  NULL, HO_WM_BUCKETS(ho_wm_apply_buckets));
        HO_WM_ADD(latency_s, HO_METRIC_HISTOGRAM, "handover_produce_to_apply_seconds",
                  "From a report's Kafka message timestamp to the apply that counted it.", NULL,
                  HO_WM_BUCKETS(ho_wm_latency_buckets));
#undef HO_WM_ADD
#undef HO_WM_BUCKETS
#undef HO_WM_NO_BUCKETS
        return wm;
fail:
        ho_wmetrics_destroy(wm);
        return NULL;
}

void ho_wmetrics_destroy(ho_wmetrics_t *wm) {
        if (!wm)
                return;
        for (size_t i = 0; i < wm->n_q; i++) {
                free(wm->q[i].off);
                free(wm->q[i].ts);
        }
        free(wm->q);
        if (wm->rc)
                redisFree(wm->rc);
        free(wm->url_display);
        ho_redis_url_clear(&wm->url);
        free(wm->topic);
        free(wm->group);
        pthread_mutex_destroy(&wm->mu);
        pthread_mutex_destroy(&wm->ping_mu);
        free(wm);
}

/* ---- latency queues (worker thread) ---- */

static ho_wm_queue_t *wm_queue(ho_wmetrics_t *wm, int32_t partition, bool create) {
        if (partition < 0)
                return NULL;
        if ((size_t)partition >= wm->n_q) {
                if (!create)
                        return NULL;
                size_t n = (size_t)partition + 1 > wm->n_q * 2 ? (size_t)partition + 1
                                                               : wm->n_q * 2;
                ho_wm_queue_t *nq = realloc(wm->q, n * sizeof(*nq));
                if (!nq)
                        return NULL;
                memset(nq + wm->n_q, 0, (n - wm->n_q) * sizeof(*nq));
                wm->q = nq;
                wm->n_q = n;
        }
        return &wm->q[partition];
}

void ho_wmetrics_folded(ho_wmetrics_t *wm, int32_t partition, int64_t offset, int64_t ts_ms) {
        ho_wm_queue_t *q = wm_queue(wm, partition, true);
        if (!q)
                return; /* out of memory: the latency misses this report */
        while (q->len > q->head && q->off[q->len - 1] >= offset)
                q->len--; /* read again: forget the earlier reading */
        if (q->len == q->head)
                q->len = q->head = 0;
        if (ts_ms < 0)
                return;
        if (q->len == q->cap && q->head > 0) {
                memmove(q->off, q->off + q->head, (q->len - q->head) * sizeof(*q->off));
                memmove(q->ts, q->ts + q->head, (q->len - q->head) * sizeof(*q->ts));
                q->len -= q->head;
                q->head = 0;
        }
        if (q->len == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 256;
                int64_t *o = realloc(q->off, cap * sizeof(*o));
                if (o)
                        q->off = o;
                int64_t *t = o ? realloc(q->ts, cap * sizeof(*t)) : NULL;
                if (!t)
                        return;
                q->ts = t;
                q->cap = cap;
        }
        q->off[q->len] = offset;
        q->ts[q->len++] = ts_ms;
}

static void wm_queue_clear(ho_wmetrics_t *wm, int32_t partition) {
        ho_wm_queue_t *q = wm_queue(wm, partition, false);
        if (q)
                q->head = q->len = 0;
}

void ho_wmetrics_applied(ho_wmetrics_t *wm, int32_t partition, int64_t next, uint64_t apply_us,
                         ho_err_t err) {
        ho_metric_observe(wm->apply_s, (double)apply_us / 1e6);
        if (err == HO_ERR_FENCED) {
                wm_queue_clear(wm, partition);
                return;
        }
        ho_wm_queue_t *q = wm_queue(wm, partition, false);
        if (err != HO_OK || !q)
                return;
        int64_t now = ho_wall_ms();
        while (q->head < q->len && q->off[q->head] < next) {
                int64_t d = now - q->ts[q->head++];
                ho_metric_observe(wm->latency_s, d > 0 ? (double)d / 1000.0 : 0.0);
        }
        if (q->head == q->len)
                q->head = q->len = 0;
}

void ho_wmetrics_released(ho_wmetrics_t *wm, int32_t partition) {
        wm_queue_clear(wm, partition);
}

void ho_wmetrics_kafka_error(ho_wmetrics_t *wm) {
        ho_metric_inc(wm->kafka_errors, 1);
}

void ho_wmetrics_phase(ho_wmetrics_t *wm, ho_wm_phase_t phase) {
        if (phase == HO_WM_ASSIGNED)
                ho_metric_inc(wm->rebalances, 1);
        pthread_mutex_lock(&wm->mu);
        wm->phase = phase;
        pthread_mutex_unlock(&wm->mu);
}

/* ---- snapshots (worker thread) ---- */

void ho_wmetrics_update(ho_wmetrics_t *wm, const ho_wm_snap_t *s) {
        ho_metric_set(wm->messages, (double)s->messages);
        ho_metric_set(wm->reports, (double)s->reports);
        ho_metric_set(wm->duplicates, (double)s->duplicates);
        ho_metric_set(wm->rejected, (double)s->rejected);
        ho_metric_set(wm->batches, (double)s->batches);
        ho_metric_set(wm->fenced, (double)s->fenced);
        ho_metric_set(wm->conflicts, (double)s->conflicts);
        ho_metric_set(wm->redis_errors, (double)s->redis_errors);
        ho_metric_set(wm->assigned, (double)s->assigned);
        ho_metric_set(wm->stalled, (double)s->stalled);
        pthread_mutex_lock(&wm->mu);
        wm->n_assigned = s->assigned;
        wm->n_stalled = s->stalled;
        wm->updated_ms = ho_mono_ms();
        pthread_mutex_unlock(&wm->mu);
}

static void wm_lag_labels(const ho_wmetrics_t *wm, int32_t partition, char *buf, size_t size,
                          const char *v[2]) {
        snprintf(buf, size, "%" PRId32, partition);
        v[0] = wm->topic;
        v[1] = buf;
}

void ho_wmetrics_lag(ho_wmetrics_t *wm, int32_t partition, int64_t lag) {
        ho_wm_queue_t *q = wm_queue(wm, partition, true);
        char p[16];
        const char *v[2];
        wm_lag_labels(wm, partition, p, sizeof(p), v);
        if (!q || ho_metric_set_l(wm->lag, v, (double)lag) != HO_OK)
                return;
        q->lag_set = q->lag_seen = true;
}

void ho_wmetrics_lag_done(ho_wmetrics_t *wm) {
        for (size_t i = 0; i < wm->n_q; i++) {
                ho_wm_queue_t *q = &wm->q[i];
                if (q->lag_set && !q->lag_seen) {
                        char p[16];
                        const char *v[2];
                        wm_lag_labels(wm, (int32_t)i, p, sizeof(p), v);
                        ho_metric_remove_l(wm->lag, v);
                        q->lag_set = false;
                }
                q->lag_seen = false;
        }
}

/* ---- health (any thread) ---- */

/* Whether Redis answers a PING: at most one a second, on our own connection. */
static bool wm_redis_ok(ho_wmetrics_t *wm, char *reason, size_t reason_size) {
        pthread_mutex_lock(&wm->ping_mu);
        int64_t now = ho_mono_ms();
        if (wm->ping_ms == 0 || now - wm->ping_ms >= 1000) {
                char err[256] = "";
                if (!wm->rc)
                        wm->rc = ho_redis_connect(&wm->url, 1000, err, sizeof(err));
                redisReply *r = NULL;
                if (wm->rc) {
                        const char *argv[] = {"PING"};
                        r = ho_redis_cmd(wm->rc, err, sizeof(err), 1, argv, NULL);
                }
                wm->ping_ok = r != NULL;
                if (r)
                        freeReplyObject(r);
                else if (wm->rc) { /* reconnect next time */
                        redisFree(wm->rc);
                        wm->rc = NULL;
                }
                snprintf(wm->ping_err, sizeof(wm->ping_err), "%s", err);
                wm->ping_ms = ho_mono_ms();
        }
        bool ok = wm->ping_ok;
        if (!ok)
                snprintf(reason, reason_size, "Redis at %s does not answer a PING (%s)",
                         wm->url_display, wm->ping_err[0] ? wm->ping_err : "no reply");
        pthread_mutex_unlock(&wm->ping_mu);
        return ok;
}

bool ho_wmetrics_health(void *opaque, char *reason, size_t reason_size) {
        ho_wmetrics_t *wm = opaque;
        pthread_mutex_lock(&wm->mu);
        ho_wm_phase_t phase = wm->phase;
        size_t assigned = wm->n_assigned, stalled = wm->n_stalled;
        int64_t idle_ms = ho_mono_ms() - wm->updated_ms;
        pthread_mutex_unlock(&wm->mu);
        switch (phase) {
        case HO_WM_STARTING:
                snprintf(reason, reason_size,
                         "not in group \"%s\" yet: waiting for the first assignment", wm->group);
                return false;
        case HO_WM_REVOKED:
                snprintf(reason, reason_size,
                         "group \"%s\" is rebalancing: partitions given up, waiting for the new "
                         "assignment",
                         wm->group);
                return false;
        case HO_WM_LOST:
                snprintf(reason, reason_size,
                         "assignment in group \"%s\" lost (session timed out?): rejoining",
                         wm->group);
                return false;
        case HO_WM_STOPPING:
                snprintf(reason, reason_size, "stopping");
                return false;
        case HO_WM_ASSIGNED:
                break;
        }
        if (idle_ms > wm->stall_ms) {
                snprintf(reason, reason_size, "the worker's loop has not run for %.1f s",
                         (double)idle_ms / 1000.0);
                return false;
        }
        if (!wm_redis_ok(wm, reason, reason_size))
                return false;
        if (stalled > 0) {
                snprintf(reason, reason_size,
                         "%zu of %zu partitions of \"%s\" stalled: retrying a failed apply or "
                         "dead letter",
                         stalled, assigned, wm->topic);
                return false;
        }
        return true;
}
