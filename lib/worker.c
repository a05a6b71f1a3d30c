/*
 * worker.c: the aggregation worker's loop (see worker.h).
 *
 * Per assigned partition the worker holds one open engine batch. Messages are
 * decoded and folded into their partition's batch; a batch is applied when it
 * is full (count, bytes, age) and always when a poll comes back empty (the
 * local queue ran dry), so at low rates a report is visible one apply after
 * it arrives. Redis holds each partition's next offset beside the counters:
 * assignment starts from it, a fenced apply re-reads it, and Kafka's
 * committed offsets only mirror it for lag tools.
 *
 * A message that cannot be decoded goes to the dead letter topic and is
 * counted in the batch (ho_agg_batch_reject) only after its delivery report
 * came back OK; the worker waits for that report right there, so the batch
 * stays in offset order and no offset ever advances past an undelivered dead
 * letter. Dead letters are rare, so the wait costs nothing in practice.
 *
 * Applying overlaps folding: a batch that is ready goes to one of the
 * worker's apply threads (part_submit), each with its own engine and Redis
 * connection, and the partition goes on folding into a second batch that
 * continues from the first one's next offset. So decoding the next messages,
 * one thread computing a batch's new states and Redis applying another's run
 * side by side. At most one batch per partition is in flight; its result is
 * taken (settled) before the partition's next batch goes, and before anything
 * that depends on the partition's position (re-reads, retries, revocation,
 * shutdown). A batch that fails goes back to being the partition's batch, and
 * what was folded after it is dropped and read again, so ordering, the fence
 * and retries are exactly those of a synchronous apply. Batches of different
 * partitions in flight together are what two workers do anyway: the revision
 * check makes a transfer they share safe.
 *
 * When Redis fails, the partition's batch is kept and the partition is paused
 * (librdkafka drops what it prefetched for it, so memory stays bounded); the
 * same batch is retried with backoff and, once applied, the partition resumes
 * exactly at the batch's next offset (an explicit seek, not librdkafka's
 * resume position, because a failed dead letter leaves the position one
 * message too far).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "handover/clock.h"
#include "handover/agg.h"
#include "handover/codec.h"
#include "handover/conf.h"
#include "handover/kafka.h"
#include "handover/kfetch.h"
#include "handover/ktopic.h"
#include "handover/log.h"
#include "handover/report.h"
#include "handover/saylimit.h"
#include "handover/worker.h"
#include "handover/worker_metrics.h"

#define HO_WORKER_POLL_IDLE_MS 100 /* no open batch: nothing to hurry for */
/* Open batches: do not wait at all. A batch is applied as soon as the local
 * queue runs dry, so at a trickle (reports arriving one by one, ms apart) each
 * report is applied right away instead of waiting for the batch's time cap,
 * and under load the queue never runs dry and batches fill to their caps. */
#define HO_WORKER_POLL_BUSY_MS 0
#define HO_WORKER_BACKOFF_MIN_MS 100
#define HO_WORKER_BACKOFF_MAX_MS 5000
#define HO_WORKER_SEEK_TIMEOUT_MS 5000
/* Apply threads: two let one thread compute a batch's states while Redis runs
 * the other's script; more would only queue behind Redis's single thread. */
#define HO_WORKER_APPLIERS 2
#define HO_WORKER_CLOSE_RETRY_MS 2000  /* shutdown: how long to retry a failing apply */
#define HO_WORKER_CLOSE_MS 3000        /* shutdown: how long to try leaving the group */
#define HO_WORKER_METRICS_MS 500       /* how often the metrics get a snapshot */
#define HO_WORKER_TOPIC_CHECK_MS 10000 /* start-up: creating the dead letter topic */
/* Kafka gets a partition's applied position at most this often (and at once
 * on revoke and shutdown): an OffsetCommit per batch costs the broker and the
 * worker ~15 % more CPU at 10,000 reports/s, where a batch holds a few dozen. */
#define HO_WORKER_MIRROR_MS 1000

/* Why a partition is paused, and what its retry does. */
typedef enum {
        HO_PART_RUNNING = 0,
        HO_PART_RETRY_COMMIT, /* Redis failed the apply: retry the same batch */
        HO_PART_RETRY_REREAD, /* fenced, and Redis failed the re-read of the offset */
        HO_PART_RETRY_DLQ,    /* a dead letter was not delivered: re-consume it */
} ho_part_state_t;

/* An apply thread and its one job (fields under the worker's mu). */
typedef struct ho_applier_s {
        struct ho_worker_s *w;
        pthread_t thread;
        bool started;
        ho_agg_t *agg;          /* its own engine: connection and buffers */
        struct ho_part_s *part; /* whose batch is in flight, or NULL */
        ho_agg_batch_t *job;
        int64_t next;
        uint64_t seq; /* submission order: the oldest is settled first */
        bool done;
        ho_err_t err;
        char errstr[512];
        uint64_t us;
        ho_agg_stats_t stats; /* its engine's counters after the job */
} ho_applier_t;

typedef struct ho_part_s {
        bool assigned;
        int32_t partition;
        ho_agg_batch_t *batch; /* owned; NULL when not assigned */
        ho_agg_batch_t *spare; /* owned, empty: the next batch while one is in flight */
        int64_t expect;        /* messages below this offset are stale: skip */
        ho_part_state_t state;
        bool paused;
        int64_t retry_at_ms; /* ho_mono_coarse_ms() */
        int backoff_ms;
        bool releasing;      /* being revoked: apply once, never reposition */
        bool fenced;         /* the re-read follows a fence: say how the offset moved */
        int64_t fenced_from; /* the stored offset the fenced batch started from */
        bool consumed;       /* a message came since the last seek or assignment, so
                                 * the consumer's position is ours (part_skip_markers) */
        int64_t mirror_ms;   /* when the position was last mirrored into Kafka */
        int64_t mirror_next; /* a position not yet mirrored, or -1 */
} ho_part_t;

struct ho_worker_s {
        ho_worker_conf_t conf;
        char *dlq_topic;     /* owned */
        char worker_id[300]; /* host:pid, the handover.worker header */
        rd_kafka_t *consumer;
        rd_kafka_t *producer; /* dead letters */
        ho_codec_t *codec;
        ho_agg_t *agg;
        ho_report_t report; /* reused for every decode */
        ho_part_t *parts;   /* indexed by partition id */
        size_t n_parts;
        volatile sig_atomic_t *stop;
        bool fatal; /* the worker's own (out of memory); see worker_fatal */
        ho_kafka_watch_t kw_consumer, kw_producer; /* the clients' errors (kafka.h) */
        bool close_incomplete; /* leaving the group timed out: destroy without closing */
        char fatal_str[1024];
        /* the dead letter being waited for (one at a time) */
        uint64_t dlq_seq;
        int dlq_wait_ms; /* message.timeout.ms + a margin */
        bool dlq_done;
        rd_kafka_resp_err_t dlq_err;
        /* stats */
        ho_worker_stats_t st;
        ho_worker_stats_t st_last;
        ho_agg_stats_t agg_last;
        int64_t stats_last_ms;
        /* apply times in the current stats interval, microseconds */
        uint64_t apply_n, apply_sum_us, apply_max_us;
        /* the engines' counters as of the last settled apply: w->agg's (used
         * on this thread) and each apply thread's */
        ho_agg_stats_t agg_snap, applier_snap[HO_WORKER_APPLIERS];
        ho_applier_t appliers[HO_WORKER_APPLIERS];
        uint64_t submitted;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        bool quit;
        ho_wmetrics_t *wm; /* NULL without conf.metrics */
        int64_t wm_last_ms;
};

/* ---- librdkafka callbacks (run inside our own poll calls) ---- */

/* Each retriable librdkafka error, for the metrics (kafka.h logs it). */
static void kafka_error_seen(void *opaque) {
        ho_worker_t *w = opaque;
        if (w->wm)
                ho_wmetrics_kafka_error(w->wm);
}

/* Whether a Kafka client or the worker itself met an error that stops it. */
static bool worker_fatal(const ho_worker_t *w) {
        return w->fatal || w->kw_consumer.fatal || w->kw_producer.fatal;
}

static void dlq_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
        (void)rk;
        ho_worker_t *w = ho_kafka_opaque(opaque);
        uint64_t seq = (uint64_t)(uintptr_t)rkm->_private;
        if (seq != w->dlq_seq)
                return; /* a dead letter we gave up waiting for: it was re-sent */
        w->dlq_done = true;
        w->dlq_err = rkm->err;
}

/* ---- partitions ---- */

static ho_part_t *part_get(ho_worker_t *w, int32_t partition, bool create) {
        if (partition < 0)
                return NULL;
        if ((size_t)partition >= w->n_parts) {
                if (!create)
                        return NULL;
                size_t n = (size_t)partition + 1;
                if (n < w->n_parts * 2)
                        n = w->n_parts * 2;
                ho_part_t *np = realloc(w->parts, n * sizeof(*np));
                if (!np)
                        return NULL;
                memset(np + w->n_parts, 0, (n - w->n_parts) * sizeof(*np));
                w->parts = np;
                w->n_parts = n;
        }
        ho_part_t *p = &w->parts[partition];
        p->partition = partition;
        if (!create && !p->assigned)
                return NULL;
        return p;
}

/* HO_OFFSET_NONE means "nothing stored": start from the beginning. */
static int64_t kafka_offset(int64_t stored) {
        return stored == HO_OFFSET_NONE ? RD_KAFKA_OFFSET_BEGINNING : stored;
}

static void part_pause(ho_worker_t *w, ho_part_t *p, bool pause) {
        if (p->paused == pause)
                return;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, w->conf.topic, p->partition);
        rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(w->consumer, l)
                                        : rd_kafka_resume_partitions(w->consumer, l);
        if (err)
                ho_warn("cannot %s \"%s\" [%" PRId32 "]: %s", pause ? "pause" : "resume",
                        w->conf.topic, p->partition, rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
        p->paused = pause;
}

/* Make the next message we accept from p the one at `offset`, dropping
 * anything prefetched from elsewhere. */
static void part_seek(ho_worker_t *w, ho_part_t *p, int64_t offset) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, w->conf.topic, p->partition)->offset = kafka_offset(
                offset);
        rd_kafka_error_t *e = rd_kafka_seek_partitions(w->consumer, l, HO_WORKER_SEEK_TIMEOUT_MS);
        if (e) {
                ho_warn("cannot seek \"%s\" [%" PRId32 "] to %" PRId64 ": %s", w->conf.topic,
                        p->partition, offset, rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
        } else if (l->elems[0].err) {
                ho_warn("cannot seek \"%s\" [%" PRId32 "] to %" PRId64 ": %s", w->conf.topic,
                        p->partition, offset, rd_kafka_err2str(l->elems[0].err));
        }
        rd_kafka_topic_partition_list_destroy(l);
        p->expect = offset == HO_OFFSET_NONE ? 0 : offset;
        p->consumed = false;
}

/* Stop taking messages for p until retry_at; the retry decides what next. */
static void part_stall(ho_worker_t *w, ho_part_t *p, ho_part_state_t state) {
        if (p->backoff_ms < HO_WORKER_BACKOFF_MIN_MS)
                p->backoff_ms = HO_WORKER_BACKOFF_MIN_MS;
        else if (p->state != HO_PART_RUNNING)
                p->backoff_ms = p->backoff_ms * 2 > HO_WORKER_BACKOFF_MAX_MS
                                        ? HO_WORKER_BACKOFF_MAX_MS
                                        : p->backoff_ms * 2;
        p->state = state;
        p->retry_at_ms = ho_mono_coarse_ms() + p->backoff_ms;
        part_pause(w, p, true);
}

/* Back to normal: resume at exactly the batch's next offset. */
static void part_unstall(ho_worker_t *w, ho_part_t *p) {
        if (p->state == HO_PART_RUNNING && !p->paused)
                return;
        p->state = HO_PART_RUNNING;
        p->backoff_ms = 0;
        part_pause(w, p, false);
        part_seek(w, p, ho_agg_batch_next_offset(p->batch));
}

/* Mirror the applied position into Kafka for lag tools (never read back). */
static void kafka_commit_offset(ho_worker_t *w, ho_part_t *p, int64_t next) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, w->conf.topic, p->partition)->offset = next;
        rd_kafka_resp_err_t err = rd_kafka_commit(w->consumer, l, 1);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                ho_debug("kafka offset commit \"%s\" [%" PRId32 "] %" PRId64 ": %s", w->conf.topic,
                         p->partition, next, rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
        p->mirror_ms = ho_mono_coarse_ms();
        p->mirror_next = -1;
}

/* next was applied: mirror it now, or within HO_WORKER_MIRROR_MS
 * (kafka_mirror_due). */
static void kafka_mirror(ho_worker_t *w, ho_part_t *p, int64_t next) {
        if (next < 0)
                return;
        if (ho_mono_coarse_ms() - p->mirror_ms >= HO_WORKER_MIRROR_MS)
                kafka_commit_offset(w, p, next);
        else
                p->mirror_next = next;
}

/* The positions held back whose time came; all of them when flush. */
static void kafka_mirror_due(ho_worker_t *w, int64_t now, bool flush) {
        for (size_t i = 0; i < w->n_parts; i++) {
                ho_part_t *p = &w->parts[i];
                if (p->assigned && p->mirror_next >= 0 &&
                    (flush || now - p->mirror_ms >= HO_WORKER_MIRROR_MS))
                        kafka_commit_offset(w, p, p->mirror_next);
        }
}

static ho_err_t part_settle(ho_worker_t *w, ho_part_t *p);

/* A fenced batch's stored offset moved from `from` to `stored`: forward is
 * another worker's progress; back (or gone) is a replay that switched in a
 * rebuild, or Redis losing acknowledged writes, which must not read as a
 * routine hand-over. */
static void part_log_fence(ho_worker_t *w, ho_part_t *p, int64_t from, int64_t stored) {
        char was[32], now[32];
        snprintf(was, sizeof(was), from == HO_OFFSET_NONE ? "none" : "%" PRId64, from);
        snprintf(now, sizeof(now), stored == HO_OFFSET_NONE ? "none" : "%" PRId64, stored);
        if (stored != HO_OFFSET_NONE && (from == HO_OFFSET_NONE || stored > from)) {
                ho_info("\"%s\" [%" PRId32 "]: another worker took over (the stored offset "
                        "moved on from %s to %s); continuing from %s",
                        w->conf.topic, p->partition, was, now, now);
                return;
        }
        ho_warn("\"%s\" [%" PRId32 "]: the stored offset went back from %s to %s: a replay "
                "switched in a rebuild, or Redis lost acknowledged writes (restarted without "
                "AOF, flushed, failed over, restored from an older file); counters and offsets "
                "move together, so the worker reads the partition again from %s and counts "
                "each report once",
                w->conf.topic, p->partition, was, now,
                stored == HO_OFFSET_NONE ? "the beginning" : now);
}

/* Read p's stored offset and continue from there (after a fence, or when the
 * apply found another worker's progress). HO_ERR_REDIS: p is stalled. */
static ho_err_t part_reread(ho_worker_t *w, ho_part_t *p) {
        part_settle(w, p);
        char errstr[512];
        int64_t stored;
        ho_err_t err = ho_agg_offset_get(w->agg, w->conf.topic, p->partition, &stored, errstr,
                                         sizeof(errstr));
        if (err) {
                ho_error("redis: cannot read the stored offset of \"%s\" [%" PRId32
                         "]: %s (retrying in %d ms)",
                         w->conf.topic, p->partition, errstr,
                         p->backoff_ms ? p->backoff_ms * 2 : HO_WORKER_BACKOFF_MIN_MS);
                part_stall(w, p, HO_PART_RETRY_REREAD);
                return err;
        }
        ho_agg_batch_reset(p->batch, stored);
        if (p->fenced)
                part_log_fence(w, p, p->fenced_from, stored);
        else
                ho_info("\"%s\" [%" PRId32 "]: continuing from the stored offset %" PRId64,
                        w->conf.topic, p->partition, stored);
        p->fenced = false;
        if (p->state != HO_PART_RUNNING || p->paused) {
                part_unstall(w, p); /* seeks to the batch's (new) next offset */
        } else {
                part_seek(w, p, stored);
        }
        return HO_OK;
}

static uint64_t elapsed_us(const struct timespec *t0) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (uint64_t)((t1.tv_sec - t0->tv_sec) * 1000000 + (t1.tv_nsec - t0->tv_nsec) / 1000);
}

/* What an apply of batch b (p's batch, or its in-flight one) up to next
 * returned. HO_OK (applied), HO_ERR_FENCED (dropped and repositioned),
 * HO_ERR_REDIS/CONFLICT/JSON (b kept as p's batch, p stalled), HO_ERR_NOMEM
 * (fatal). */
static ho_err_t part_result(ho_worker_t *w, ho_part_t *p, ho_agg_batch_t *b, int64_t next,
                            ho_err_t err, const char *errstr, uint64_t us) {
        if (w->wm)
                ho_wmetrics_applied(w->wm, p->partition, next, us, err);
        w->apply_n++;
        w->apply_sum_us += us;
        if (us > w->apply_max_us)
                w->apply_max_us = us;
        switch (err) {
        case HO_OK:
                w->st.batches++;
                ho_debug("applied \"%s\" [%" PRId32 "] up to offset %" PRId64 " in %.1f ms",
                         w->conf.topic, p->partition, next, (double)us / 1000.0);
                if (p->state != HO_PART_RUNNING)
                        ho_info("redis: \"%s\" [%" PRId32 "] applied after retrying; resuming",
                                w->conf.topic, p->partition);
                if (b != p->batch)
                        p->spare = b; /* emptied by the commit */
                kafka_mirror(w, p, next);
                part_unstall(w, p);
                return HO_OK;
        case HO_ERR_FENCED:
                w->st.fenced++;
                ho_info("\"%s\" [%" PRId32 "]: batch up to offset %" PRId64 " dropped: %s",
                        w->conf.topic, p->partition, next, errstr);
                p->fenced = true;
                p->fenced_from = ho_agg_batch_start_offset(b);
                if (b != p->batch)
                        p->spare = b; /* emptied by the commit */
                if (!p->releasing)
                        part_reread(w, p); /* says how the offset moved; resets p's batch */
                return HO_ERR_FENCED;
        case HO_ERR_NOMEM:
                return err;
        default: {
                if (b != p->batch) {
                        /* b was in flight: it becomes p's batch again, and what was
                         * folded after it is dropped (read again after the stall) */
                        ho_agg_batch_reset(p->batch, next);
                        p->spare = p->batch;
                        p->batch = b;
                }
                /* the first failure and then one line per max backoff: an
                 * outage is loud once, not once per retry per partition */
                bool first = p->state == HO_PART_RUNNING;
                w->st.redis_errors++;
                if (p->releasing) {
                        ho_warn("redis: cannot apply the batch of \"%s\" [%" PRId32 "] on revoke: "
                                "%s; the next owner re-reads it from the stored offset",
                                w->conf.topic, p->partition, errstr);
                        return err;
                }
                part_stall(w, p, HO_PART_RETRY_COMMIT);
                ho_log(first                                       ? HO_LOG_ERROR
                       : p->backoff_ms >= HO_WORKER_BACKOFF_MAX_MS ? HO_LOG_WARN
                                                                   : HO_LOG_DEBUG,
                       "redis: cannot apply the batch of \"%s\" [%" PRId32 "] (%zu messages, up "
                       "to offset %" PRId64 "): %s; keeping it, retrying in %d ms",
                       w->conf.topic, p->partition, ho_agg_batch_count(b), next, errstr,
                       p->backoff_ms);
                return err;
        }
        }
}

/* ---- the apply threads ---- */

/* Commit b through agg, timing it; agg's counters after it into *stats. */
static ho_err_t commit_timed(ho_agg_t *agg, ho_agg_batch_t *b, int64_t next, char *errstr,
                             size_t errstr_size, uint64_t *us, ho_agg_stats_t *stats) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ho_err_t err = ho_agg_batch_commit_via(agg, b, next, errstr, errstr_size);
        *us = elapsed_us(&t0);
        ho_agg_stats(agg, stats);
        return err;
}

static void *applier_main(void *arg) {
        ho_applier_t *ap = arg;
        ho_worker_t *w = ap->w;
        pthread_mutex_lock(&w->mu);
        for (;;) {
                while (!w->quit && (!ap->job || ap->done))
                        pthread_cond_wait(&w->cv, &w->mu);
                if (!ap->job || ap->done)
                        break; /* quit, nothing pending */
                ho_agg_batch_t *b = ap->job;
                int64_t next = ap->next;
                pthread_mutex_unlock(&w->mu);
                char errstr[512] = "";
                uint64_t us;
                ho_agg_stats_t st;
                ho_err_t err = commit_timed(ap->agg, b, next, errstr, sizeof(errstr), &us, &st);
                pthread_mutex_lock(&w->mu);
                ap->err = err;
                memcpy(ap->errstr, errstr, sizeof(errstr));
                ap->us = us;
                ap->stats = st;
                ap->done = true;
                pthread_cond_broadcast(&w->cv);
        }
        pthread_mutex_unlock(&w->mu);
        return NULL;
}

/* Take ap's result, waiting for it, and act on it for its partition. */
static ho_err_t applier_settle(ho_worker_t *w, ho_applier_t *ap) {
        pthread_mutex_lock(&w->mu);
        while (!ap->done)
                pthread_cond_wait(&w->cv, &w->mu);
        ho_part_t *p = ap->part;
        ho_agg_batch_t *b = ap->job;
        int64_t next = ap->next;
        ho_err_t err = ap->err;
        char errstr[512];
        memcpy(errstr, ap->errstr, sizeof(errstr));
        uint64_t us = ap->us;
        w->applier_snap[ap - w->appliers] = ap->stats;
        ap->part = NULL;
        ap->job = NULL;
        ap->done = false;
        pthread_mutex_unlock(&w->mu);
        return part_result(w, p, b, next, err, errstr, us);
}

/* The applier holding a batch of p (at most one), or NULL. ap->part is only
 * ever written by this thread, so reading it needs no lock. */
static ho_applier_t *part_applier(ho_worker_t *w, const ho_part_t *p) {
        for (int i = 0; i < HO_WORKER_APPLIERS; i++)
                if (w->appliers[i].part == p)
                        return &w->appliers[i];
        return NULL;
}

/* The applier whose batch went first of those in flight, or NULL. */
static ho_applier_t *applier_oldest(ho_worker_t *w) {
        ho_applier_t *oldest = NULL;
        for (int i = 0; i < HO_WORKER_APPLIERS; i++)
                if (w->appliers[i].part && (!oldest || w->appliers[i].seq < oldest->seq))
                        oldest = &w->appliers[i];
        return oldest;
}

/* Settle p's batch in flight, if any: its result (HO_OK when none). */
static ho_err_t part_settle(ho_worker_t *w, ho_part_t *p) {
        ho_applier_t *ap = part_applier(w, p);
        return ap ? applier_settle(w, ap) : HO_OK;
}

/* Settle every batch in flight, oldest first. HO_ERR_NOMEM or HO_OK. */
static ho_err_t worker_settle_all(ho_worker_t *w) {
        ho_applier_t *ap;
        while ((ap = applier_oldest(w)))
                if (applier_settle(w, ap) == HO_ERR_NOMEM)
                        return HO_ERR_NOMEM;
        return HO_OK;
}

/* Settle the batches in flight whose apply already ended, without waiting.
 * A failed apply is acted on (the partition stalled, its retry scheduled)
 * when it happens, not when the partition's next message comes: on a quiet
 * partition that could be hours. HO_ERR_NOMEM or HO_OK. */
static ho_err_t worker_settle_done(ho_worker_t *w) {
        for (int i = 0; i < HO_WORKER_APPLIERS; i++) {
                ho_applier_t *ap = &w->appliers[i];
                if (!ap->part)
                        continue;
                pthread_mutex_lock(&w->mu);
                bool done = ap->done;
                pthread_mutex_unlock(&w->mu);
                if (done && applier_settle(w, ap) == HO_ERR_NOMEM)
                        return HO_ERR_NOMEM;
        }
        return HO_OK;
}

/* Apply p's batch now, on this thread (after settling what is in flight).
 * Same results as part_result; HO_OK also when there is nothing to apply. */
static ho_err_t part_commit(ho_worker_t *w, ho_part_t *p) {
        ho_err_t serr = part_settle(w, p);
        if (serr == HO_ERR_NOMEM)
                return serr;
        ho_agg_batch_t *b = p->batch;
        int64_t next = ho_agg_batch_next_offset(b);
        if (ho_agg_batch_count(b) == 0 && next == ho_agg_batch_start_offset(b)) {
                part_unstall(w, p);
                return HO_OK;
        }
        char errstr[512] = "";
        uint64_t us;
        ho_err_t err = commit_timed(w->agg, b, next, errstr, sizeof(errstr), &us, &w->agg_snap);
        return part_result(w, p, b, next, err, errstr, us);
}

/*
 * Transactional producers end each transaction with a commit or abort marker,
 * an offset no consumer sees as a message; read_committed also skips aborted
 * messages. librdkafka moves the consumer's position past them, but the batch
 * only knows the offsets of messages, so the stored offset would stop right
 * before the last marker, for good (a lag of 1 per partition). When p is idle
 * (the queue ran dry, nothing open or in flight) and its position is past the
 * batch's next offset, store the position: the offsets between hold nothing
 * to count. Only once a message of p came since its last seek or assignment,
 * so the position is the one our own consumption produced. Same results as
 * part_result; HO_OK when there is nothing to skip.
 */
static ho_err_t part_skip_markers(ho_worker_t *w, ho_part_t *p) {
        if (!p->assigned || !p->consumed || p->state != HO_PART_RUNNING || p->paused ||
            ho_agg_batch_count(p->batch) > 0 || part_applier(w, p))
                return HO_OK;
        int64_t next = ho_agg_batch_next_offset(p->batch);
        if (next < 0 || p->expect != next)
                return HO_OK;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, w->conf.topic, p->partition);
        int64_t pos = RD_KAFKA_OFFSET_INVALID, lo = -1, hi = -1;
        if (!rd_kafka_position(w->consumer, l) && !l->elems[0].err)
                pos = l->elems[0].offset;
        rd_kafka_topic_partition_list_destroy(l);
        if (pos <= next ||
            rd_kafka_get_watermark_offsets(w->consumer, w->conf.topic, p->partition, &lo, &hi) ||
            pos > hi)
                return HO_OK;
        ho_debug("\"%s\" [%" PRId32 "]: offsets %" PRId64 "..%" PRId64
                 " hold no message (transaction markers or aborted): storing %" PRId64,
                 w->conf.topic, p->partition, next, pos - 1, pos);
        char errstr[512] = "";
        uint64_t us;
        ho_err_t err = commit_timed(w->agg, p->batch, pos, errstr, sizeof(errstr), &us,
                                    &w->agg_snap);
        if (err == HO_OK)
                p->expect = pos;
        return part_result(w, p, p->batch, pos, err, errstr, us);
}

/* Hand p's batch to an apply thread and go on folding into its spare (after
 * settling p's previous batch, and the oldest batch in flight when every
 * thread is busy). HO_OK: submitted, or nothing to apply. Any other result is
 * the settled apply of p's previous batch: p was repositioned or stalled, so
 * the caller must not fold into p's batch now. */
static ho_err_t part_submit(ho_worker_t *w, ho_part_t *p) {
        ho_err_t err = part_settle(w, p);
        if (err)
                return err;
        ho_applier_t *ap;
        while (!(ap = part_applier(w, NULL))) /* a free one */
                if (applier_settle(w, applier_oldest(w)) == HO_ERR_NOMEM)
                        return HO_ERR_NOMEM;
        if (p->state != HO_PART_RUNNING)
                return HO_OK;
        ho_agg_batch_t *b = p->batch;
        int64_t next = ho_agg_batch_next_offset(b);
        if (ho_agg_batch_count(b) == 0)
                return part_commit(w, p); /* nothing to apply, or only the offset to move */
        if (!p->spare && !(p->spare = ho_agg_batch_new(w->agg, w->conf.topic, p->partition, next)))
                return HO_ERR_NOMEM;
        ho_agg_batch_reset(p->spare, next);
        p->batch = p->spare;
        p->spare = NULL;
        pthread_mutex_lock(&w->mu);
        ap->part = p;
        ap->job = b;
        ap->next = next;
        ap->seq = ++w->submitted;
        ap->done = false;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        return HO_OK;
}

/* ---- rebalance ---- */

static void part_release(ho_worker_t *w, ho_part_t *p, bool lost) {
        if (!p->assigned)
                return;
        part_settle(w, p);
        if (!lost && p->state == HO_PART_RUNNING && ho_agg_batch_count(p->batch) > 0) {
                /* one attempt: if it fails, the next owner re-reads the stored
                 * offset and re-does this batch; nothing is lost */
                p->releasing = true;
                part_commit(w, p);
        } else if (ho_agg_batch_count(p->batch) > 0) {
                ho_info("\"%s\" [%" PRId32 "]: dropping an unapplied batch of %zu messages on "
                        "revoke; the next owner re-reads the stored offset",
                        w->conf.topic, p->partition, ho_agg_batch_count(p->batch));
        }
        if (p->mirror_next >= 0 && !lost)
                kafka_commit_offset(w, p, p->mirror_next);
        p->mirror_next = -1;
        if (w->wm)
                ho_wmetrics_released(w->wm, p->partition);
        ho_agg_batch_destroy(p->batch);
        ho_agg_batch_destroy(p->spare);
        p->batch = p->spare = NULL;
        p->assigned = false;
        p->paused = false;
        p->state = HO_PART_RUNNING;
        p->backoff_ms = 0;
        p->releasing = false;
        p->fenced = false;
}

/* Fill each partition's .offset from Redis, retrying with backoff until it
 * answers: never assign without knowing where the truth stands. false when
 * asked to stop first. */
static bool assign_offsets(ho_worker_t *w, rd_kafka_topic_partition_list_t *parts) {
        for (int i = 0; i < parts->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                int backoff = HO_WORKER_BACKOFF_MIN_MS;
                for (;;) {
                        char errstr[512];
                        int64_t stored;
                        ho_err_t err = ho_agg_offset_get(w->agg, tp->topic, tp->partition, &stored,
                                                         errstr, sizeof(errstr));
                        if (!err) {
                                ho_part_t *p = part_get(w, tp->partition, true);
                                if (!p) {
                                        w->fatal = true;
                                        snprintf(w->fatal_str, sizeof(w->fatal_str),
                                                 "out of memory tracking partitions");
                                        return false;
                                }
                                if (!p->batch)
                                        p->batch = ho_agg_batch_new(w->agg, tp->topic,
                                                                    tp->partition, stored);
                                else
                                        ho_agg_batch_reset(p->batch, stored);
                                if (!p->batch) {
                                        w->fatal = true;
                                        snprintf(w->fatal_str, sizeof(w->fatal_str),
                                                 "out of memory creating a batch");
                                        return false;
                                }
                                p->assigned = true;
                                p->state = HO_PART_RUNNING;
                                p->paused = false;
                                p->backoff_ms = 0;
                                p->expect = stored == HO_OFFSET_NONE ? 0 : stored;
                                p->consumed = false;
                                p->mirror_ms = 0;
                                p->mirror_next = -1;
                                tp->offset = kafka_offset(stored);
                                if (stored == HO_OFFSET_NONE)
                                        ho_info("assigned \"%s\" [%" PRId32 "]: no stored "
                                                "offset, starting from the beginning",
                                                tp->topic, tp->partition);
                                else
                                        ho_info("assigned \"%s\" [%" PRId32 "]: starting from "
                                                "the stored offset %" PRId64,
                                                tp->topic, tp->partition, stored);
                                break;
                        }
                        ho_error("redis: cannot read the stored offset of \"%s\" [%" PRId32
                                 "] on assignment: %s (retrying in %d ms)",
                                 tp->topic, tp->partition, errstr, backoff);
                        for (int waited = 0; waited < backoff; waited += 50) {
                                if (*w->stop)
                                        return false;
                                ho_sleep_ms(50);
                        }
                        backoff = backoff * 2 > HO_WORKER_BACKOFF_MAX_MS ? HO_WORKER_BACKOFF_MAX_MS
                                                                         : backoff * 2;
                }
        }
        return true;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
        ho_worker_t *w = ho_kafka_opaque(opaque);
        worker_settle_all(w); /* every position is final from here */
        bool cooperative = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                bool ok = assign_offsets(w, parts);
                if (!ok) {
                        /* stopping (or out of memory): take nothing; close follows */
                        for (int i = 0; i < parts->cnt; i++) {
                                ho_part_t *p = part_get(w, parts->elems[i].partition, false);
                                if (p)
                                        part_release(w, p, true);
                        }
                        if (!cooperative)
                                rd_kafka_assign(rk, NULL);
                        return;
                }
                rd_kafka_error_t *e = NULL;
                rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
                if (cooperative)
                        e = rd_kafka_incremental_assign(rk, parts);
                else
                        aerr = rd_kafka_assign(rk, parts);
                if (e) {
                        ho_error("kafka: incremental assign failed: %s", rd_kafka_error_string(e));
                        rd_kafka_error_destroy(e);
                } else if (aerr) {
                        ho_error("kafka: assign failed: %s", rd_kafka_err2str(aerr));
                }
                /* a pause survives reassignment in librdkafka: clear it */
                rd_kafka_resume_partitions(rk, parts);
                if (w->wm)
                        ho_wmetrics_phase(w->wm, HO_WM_ASSIGNED);
        } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
                bool lost = rd_kafka_assignment_lost(rk);
                for (int i = 0; i < parts->cnt; i++) {
                        ho_part_t *p = part_get(w, parts->elems[i].partition, false);
                        if (p)
                                part_release(w, p, lost);
                }
                ho_info("revoked %d partition%s of \"%s\"%s", parts->cnt,
                        parts->cnt == 1 ? "" : "s", w->conf.topic, lost ? " (lost)" : "");
                if (w->wm && (lost || !cooperative)) /* cooperative: the others stay held */
                        ho_wmetrics_phase(w->wm, lost ? HO_WM_LOST : HO_WM_REVOKED);
                if (cooperative) {
                        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
                        if (e) {
                                ho_error("kafka: incremental unassign failed: %s",
                                         rd_kafka_error_string(e));
                                rd_kafka_error_destroy(e);
                        }
                } else {
                        rd_kafka_assign(rk, NULL);
                }
        } else {
                ho_error("kafka: rebalance failed: %s", rd_kafka_err2str(err));
                if (w->wm)
                        ho_wmetrics_phase(w->wm, HO_WM_LOST);
                for (size_t i = 0; i < w->n_parts; i++)
                        part_release(w, &w->parts[i], true);
                if (cooperative)
                        rd_kafka_incremental_unassign(rk, parts);
                else
                        rd_kafka_assign(rk, NULL);
        }
}

/* ---- dead letters ---- */

/* The start-up check (worker_check_topics) refuses to run without the
 * dead letter topic; one deleted later shows when a dead letter times out:
 * say then that the topic is missing. */
static void worker_check_dlq(ho_worker_t *w) {
        int n;
        if (ho_ktopic_meta(w->producer, w->dlq_topic, 2000, NULL, &n, NULL, NULL, 0) ==
            HO_ERR_NOT_FOUND)
                ho_warn("dead letter topic \"%s\" does not exist: the first message that "
                        "cannot be counted will stop its partition until the topic is "
                        "created (handover-topic create \"%s\")",
                        w->dlq_topic, w->dlq_topic);
}

/* Send the message to the dead letter topic and wait for its delivery
 * report. HO_OK only when delivered. */
static ho_err_t dlq_send(ho_worker_t *w, const rd_kafka_message_t *rkm, ho_err_t why,
                         const char *whystr) {
        char part[16], off[24];
        snprintf(part, sizeof(part), "%" PRId32, rkm->partition);
        snprintf(off, sizeof(off), "%" PRId64, rkm->offset);
        const char *src = rd_kafka_topic_name(rkm->rkt);
        rd_kafka_headers_t *h = rd_kafka_headers_new(6);
        rd_kafka_header_add(h, "handover.error", -1, ho_err_name(why), -1);
        rd_kafka_header_add(h, "handover.error.message", -1, whystr, -1);
        rd_kafka_header_add(h, "handover.source.topic", -1, src, -1);
        rd_kafka_header_add(h, "handover.source.partition", -1, part, -1);
        rd_kafka_header_add(h, "handover.source.offset", -1, off, -1);
        rd_kafka_header_add(h, "handover.worker", -1, w->worker_id, -1);

        w->dlq_seq++;
        w->dlq_done = false;
        rd_kafka_resp_err_t err = rd_kafka_producev(
                w->producer, RD_KAFKA_V_TOPIC(w->dlq_topic),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(rkm->key, rkm->key_len),
                RD_KAFKA_V_VALUE(rkm->payload, rkm->len), RD_KAFKA_V_HEADERS(h),
                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)w->dlq_seq), RD_KAFKA_V_END);
        if (err) {
                rd_kafka_headers_destroy(h); /* not handed over on failure */
                ho_error("dead letter: cannot produce to \"%s\" for \"%s\" [%" PRId32
                         "] offset %" PRId64 ": %s",
                         w->dlq_topic, src, rkm->partition, rkm->offset, rd_kafka_err2str(err));
                return HO_ERR_KAFKA;
        }
        /* message.timeout.ms bounds this: the report always comes */
        int64_t deadline = ho_mono_ms() + w->dlq_wait_ms;
        while (!w->dlq_done && ho_mono_ms() < deadline && !*w->stop)
                rd_kafka_poll(w->producer, 20);
        if (!w->dlq_done || w->dlq_err) {
                ho_error("dead letter: not delivered to \"%s\" for \"%s\" [%" PRId32
                         "] offset %" PRId64 ": %s; will retry, the offset does not advance",
                         w->dlq_topic, src, rkm->partition, rkm->offset,
                         w->dlq_done ? rd_kafka_err2str(w->dlq_err) : "no delivery report");
                if (w->dlq_done && (w->dlq_err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ||
                                    w->dlq_err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                                    w->dlq_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART))
                        worker_check_dlq(w); /* says so when the topic is missing */
                return HO_ERR_KAFKA;
        }
        ho_info("dead letter: \"%s\" [%" PRId32 "] offset %" PRId64 " -> \"%s\": %s: %s", src,
                rkm->partition, rkm->offset, w->dlq_topic, ho_err_name(why), whystr);
        return HO_OK;
}

/* ---- messages ---- */

/* A message that cannot be taken now (its dead letter was not delivered, the
 * registry cannot be asked): apply what came before it, then stall the
 * partition; the retry re-consumes from that message. */
static ho_err_t part_hold(ho_worker_t *w, ho_part_t *p) {
        ho_err_t cerr = part_settle(w, p);
        if (cerr == HO_ERR_NOMEM)
                return cerr;
        if (cerr || p->state != HO_PART_RUNNING)
                return HO_OK; /* repositioned or stalled: it comes again */
        cerr = part_commit(w, p);
        if (cerr == HO_ERR_NOMEM)
                return cerr;
        if (cerr == HO_OK)
                part_stall(w, p, HO_PART_RETRY_DLQ);
        return HO_OK;
}

static ho_err_t worker_message(ho_worker_t *w, const rd_kafka_message_t *rkm) {
        ho_part_t *p = part_get(w, rkm->partition, false);
        if (!p || p->state != HO_PART_RUNNING || rkm->offset < p->expect)
                return HO_OK; /* not ours, stalled, or stale after a seek */
        if (ho_agg_batch_full(p->batch)) {
                ho_err_t err = part_submit(w, p);
                if (err)
                        return err == HO_ERR_NOMEM ? err : HO_OK; /* this message comes again */
                if (p->state != HO_PART_RUNNING)
                        return HO_OK; /* stalled by the settled apply: it comes again */
        }
        w->st.messages++;
        ho_debug("message \"%s\" [%" PRId32 "] offset %" PRId64, w->conf.topic, rkm->partition,
                 rkm->offset);
        char errstr[512];
        ho_err_t err;
        if (!rkm->payload || rkm->len == 0) {
                err = ho_seterr(errstr, sizeof(errstr), HO_ERR_TRUNCATED,
                                "empty value (expected an Avro single-object encoded report)");
        } else {
                err = ho_codec_decode_in(w->codec, rkm->payload, rkm->len, &w->report,
                                         ho_agg_batch_arena(p->batch), errstr, sizeof(errstr));
                if (!err && (!rkm->key || rkm->key_len == 0))
                        err = ho_seterr(errstr, sizeof(errstr), HO_ERR_INVALID,
                                        "message has no key (expected the transfer id \"%s\")",
                                        w->report.transfer_id ? w->report.transfer_id : "");
        }
        if (err == HO_ERR_TIMEOUT) {
                /* the schema registry cannot be asked: the value is not at fault */
                ho_warn("\"%s\" [%" PRId32 "] offset %" PRId64 ": %s; not a dead letter: the "
                        "partition waits and retries",
                        w->conf.topic, rkm->partition, rkm->offset, errstr);
                return part_hold(w, p);
        }
        if (!err) {
                err = ho_agg_batch_add_move(p->batch, &w->report, rkm->offset, rkm->len);
                if (err == HO_ERR_NOMEM)
                        return err;
                if (!err) {
                        if (w->wm)
                                ho_wmetrics_folded(w->wm, p->partition, rkm->offset,
                                                   rd_kafka_message_timestamp(rkm, NULL));
                        p->expect = rkm->offset + 1;
                        p->consumed = true;
                        return HO_OK;
                }
                /* a report the engine refuses is a dead letter like any other */
                snprintf(errstr, sizeof(errstr), "report refused by the engine: %s",
                         ho_err2str(err));
        }
        if (dlq_send(w, rkm, err, errstr) != HO_OK)
                return part_hold(w, p); /* it comes back later */
        ho_agg_batch_reject(p->batch, rkm->offset);
        p->expect = rkm->offset + 1;
        p->consumed = true;
        return HO_OK;
}

/* ---- stats ---- */

/* High watermark - stored offset of an assigned partition, from the
 * watermarks the consumer already has; -1 while it has none. */
static int64_t part_lag(ho_worker_t *w, const ho_part_t *p) {
        int64_t lo = -1, hi = -1;
        if (rd_kafka_get_watermark_offsets(w->consumer, w->conf.topic, p->partition, &lo, &hi) ||
            hi < 0)
                return -1;
        int64_t pos = ho_agg_batch_start_offset(p->batch); /* -1: nothing applied */
        if (pos < lo)
                pos = lo;
        if (pos < 0)
                pos = 0;
        return hi > pos ? hi - pos : 0;
}

static int64_t worker_lag(ho_worker_t *w) {
        int64_t lag = 0;
        for (size_t i = 0; i < w->n_parts; i++) {
                int64_t l = w->parts[i].assigned ? part_lag(w, &w->parts[i]) : -1;
                if (l > 0)
                        lag += l;
        }
        return lag;
}

static void worker_update_stats(ho_worker_t *w) {
        /* the engines' counters as of the last settled applies: the apply
         * threads may be busy with theirs */
        ho_agg_stats_t a = w->agg_snap;
        for (int i = 0; i < HO_WORKER_APPLIERS; i++) {
                a.reports += w->applier_snap[i].reports;
                a.duplicates += w->applier_snap[i].duplicates;
                a.rejected += w->applier_snap[i].rejected;
        }
        w->st.reports = a.reports + a.duplicates;
        w->st.duplicates = a.duplicates;
        w->st.rejected = a.rejected;
        w->st.lag = worker_lag(w);
}

static void worker_stats_line(ho_worker_t *w, int64_t now) {
        worker_update_stats(w);
        double secs = (double)(now - w->stats_last_ms) / 1000.0;
        if (secs <= 0)
                secs = 1;
        size_t assigned = 0, stalled = 0;
        for (size_t i = 0; i < w->n_parts; i++) {
                assigned += w->parts[i].assigned;
                stalled += w->parts[i].assigned && w->parts[i].state != HO_PART_RUNNING;
        }
        ho_info("stats: %.1f reports/s, %" PRIu64 " reports (%" PRIu64 " duplicates), %" PRIu64
                " batches, %" PRIu64 " rejected, %" PRIu64 " fenced, %" PRIu64
                " redis errors, lag %" PRId64 ", %zu partitions (%zu stalled), apply avg %.1f ms "
                "max %.1f ms",
                (double)(w->st.reports - w->st_last.reports) / secs, w->st.reports,
                w->st.duplicates, w->st.batches, w->st.rejected, w->st.fenced, w->st.redis_errors,
                w->st.lag, assigned, stalled,
                w->apply_n ? (double)w->apply_sum_us / (double)w->apply_n / 1000.0 : 0.0,
                (double)w->apply_max_us / 1000.0);
        w->st_last = w->st;
        w->apply_n = w->apply_sum_us = w->apply_max_us = 0;
        w->stats_last_ms = now;
}

void ho_worker_stats(const ho_worker_t *w, ho_worker_stats_t *out) {
        worker_update_stats((ho_worker_t *)w);
        *out = w->st;
}

/* ---- metrics ---- */

/* Hand the metrics the stats line's numbers and each partition's lag. */
static void worker_metrics_update(ho_worker_t *w, int64_t now) {
        w->wm_last_ms = now;
        worker_update_stats(w);
        ho_wm_snap_t s = {
                .messages = w->st.messages,
                .reports = w->st.reports - w->st.duplicates, /* distinct: as totals.reports */
                .duplicates = w->st.duplicates,
                .batches = w->st.batches,
                .rejected = w->st.rejected,
                .fenced = w->st.fenced,
                .conflicts = w->agg_snap.conflicts,
                .redis_errors = w->st.redis_errors,
        };
        for (int i = 0; i < HO_WORKER_APPLIERS; i++)
                s.conflicts += w->applier_snap[i].conflicts;
        for (size_t i = 0; i < w->n_parts; i++) {
                ho_part_t *p = &w->parts[i];
                if (!p->assigned)
                        continue;
                s.assigned++;
                s.stalled += p->state != HO_PART_RUNNING;
                int64_t lag = part_lag(w, p);
                if (lag >= 0)
                        ho_wmetrics_lag(w->wm, p->partition, lag);
        }
        ho_wmetrics_lag_done(w->wm);
        ho_wmetrics_update(w->wm, &s);
}

bool ho_worker_health(void *opaque, char *reason, size_t reason_size) {
        ho_worker_t *w = opaque;
        if (!w->wm) {
                snprintf(reason, reason_size, "the worker has no metrics");
                return false;
        }
        return ho_wmetrics_health(w->wm, reason, reason_size);
}

/* ---- start-up checks ---- */

/* The topic must exist, and so must the dead letter topic (or be created
 * when conf.create_dlq allows it): a missing one is an operator's mistake to
 * report now, not a dead letter to retry forever. While the brokers cannot be
 * reached the check waits for them, as the worker always did. */
static ho_err_t worker_check_topics(ho_worker_t *w, char *errstr, size_t errstr_size) {
        const char *names[2] = {w->conf.topic, w->dlq_topic};
        int parts[2];
        int64_t t0 = ho_mono_ms(), warned = 0;
        for (int i = 0; i < 2; i++) {
                char kerr[512];
                /* short attempts, so a signal and librdkafka's errors are seen soon */
                while (ho_ktopic_partitions(w->consumer, names[i], 1000, &parts[i], kerr,
                                            sizeof(kerr)) != HO_OK) {
                        if (*w->stop)
                                return HO_OK; /* the caller sees *stop */
                        /* a first attempt may fail while the connection is set up */
                        int64_t now = ho_mono_ms();
                        if (now - t0 >= 5000 && now - warned >= 10000) {
                                warned = now;
                                ho_warn("kafka: %s (retrying)", kerr);
                        }
                        /* librdkafka's own errors (broker down) reach the error callback */
                        rd_kafka_message_t *m = rd_kafka_consumer_poll(w->consumer, 200);
                        if (m && m->err)
                                ho_kafka_watch_error(&w->kw_consumer, w->consumer, m->err,
                                                     rd_kafka_message_errstr(m));
                        if (m)
                                rd_kafka_message_destroy(m);
                        if (worker_fatal(w))
                                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA_FATAL, "%s",
                                                 w->kw_consumer.fatal ? w->kw_consumer.reason
                                                                      : w->kw_producer.reason);
                }
        }
        if (parts[0] == 0)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOT_FOUND,
                                 "topic \"%s\" does not exist on the brokers: create it "
                                 "(handover-topic create) or fix -t / HANDOVER_TOPIC",
                                 w->conf.topic);
        if (parts[1] > 0)
                return HO_OK;
        if (!w->conf.create_dlq)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOT_FOUND,
                                 "dead letter topic \"%s\" does not exist on the brokers: create "
                                 "it (handover-topic create -p 1 %s), name another with --dlq, "
                                 "or start with --create-dlq",
                                 w->dlq_topic, w->dlq_topic);
        ho_err_t err = ho_ktopic_create(w->producer, w->dlq_topic, 1, HO_WORKER_TOPIC_CHECK_MS,
                                        errstr, errstr_size);
        if (!err)
                ho_info("created the dead letter topic \"%s\" (1 partition; --create-dlq)",
                        w->dlq_topic);
        return err;
}

/* ---- construction ---- */

/* Build a client of role: its defaults, the user's -c/-X/-b over them
 * (kafka.h), then what exactly-once depends on, which the user cannot
 * override. */
static rd_kafka_t *client_new(ho_worker_t *w, ho_kafka_role_t role, ho_err_t *errp, char *errstr,
                              size_t errstr_size) {
        bool consumer = role == HO_KAFKA_CONSUMER;
        ho_kafka_user_t u = {w->conf.kprops, w->conf.n_kprops, w->conf.brokers};
        rd_kafka_conf_t *c = ho_kafka_conf_new(role,
                                               consumer ? "handover-aggregate"
                                                        : "handover-aggregate-dlq",
                                               &u, errp, errstr, errstr_size);
        if (!c)
                return NULL;
        char rderr[512];
        if (consumer && rd_kafka_conf_set(c, "group.id", w->conf.group, rderr, sizeof(rderr)) !=
                                RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(c);
                *errp = ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "group \"%s\": %s",
                                  w->conf.group, rderr);
                return NULL;
        }
        ho_kafka_conf_watch(c, consumer ? &w->kw_consumer : &w->kw_producer, w);
        (consumer ? &w->kw_consumer : &w->kw_producer)->on_error = kafka_error_seen;
        if (consumer)
                rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
        else
                rd_kafka_conf_set_dr_msg_cb(c, dlq_dr_cb);
        rd_kafka_t *rk = ho_kafka_new(consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, c,
                                      consumer ? "the kafka consumer"
                                               : "the kafka dead letter producer",
                                      errstr, errstr_size);
        if (!rk)
                *errp = HO_ERR_CLIENT;
        return rk;
}

ho_worker_t *ho_worker_new(const ho_worker_conf_t *conf, ho_err_t *errp, char *errstr,
                           size_t errstr_size) {
        ho_err_t dummy, *e = errp ? errp : &dummy;
        *e = HO_ERR_USAGE;
        if (!conf->topic || !*conf->topic || !conf->group || !*conf->group || !conf->prefix ||
            !*conf->prefix || !conf->redis) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                          "worker needs a topic, a group, a prefix and a Redis URL");
                return NULL;
        }
        if (strpbrk(conf->prefix, "{}")) { /* the engine's rule, said before it starts */
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                          "key prefix \"%s\": expected a non-empty name without '{' or '}'",
                          conf->prefix);
                return NULL;
        }
        ho_worker_t *w = calloc(1, sizeof(*w));
        if (!w) {
                *e = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        w->conf = *conf;
        ho_report_init(&w->report);
        if (conf->dlq_topic) {
                w->dlq_topic = strdup(conf->dlq_topic);
        } else {
                size_t n = strlen(conf->topic) + sizeof(HO_DEFAULT_DLQ_SUFFIX);
                w->dlq_topic = malloc(n);
                if (w->dlq_topic)
                        snprintf(w->dlq_topic, n, "%s%s", conf->topic, HO_DEFAULT_DLQ_SUFFIX);
        }
        if (!w->dlq_topic) {
                *e = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                goto fail;
        }
        if (!strcmp(w->dlq_topic, conf->topic)) {
                *e = ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                               "dead letter topic \"%s\" must differ from the source topic",
                               w->dlq_topic);
                goto fail;
        }
        char host[256];
        if (gethostname(host, sizeof(host)) != 0)
                snprintf(host, sizeof(host), "unknown");
        host[sizeof(host) - 1] = '\0';
        snprintf(w->worker_id, sizeof(w->worker_id), "%s:%d", host, (int)getpid());

        ho_agg_conf_t ac = {
                .prefix = conf->prefix,
                .ns = "",
                .max_batch_msgs = conf->batch_max_msgs,
                .max_batch_bytes = conf->batch_max_bytes,
                .max_batch_ms = conf->batch_max_ms,
                .wait_replicas = conf->redis_wait_replicas,
                .wait_ms = conf->redis_wait_ms,
        };
        *e = HO_ERR_NOMEM; /* what the engine, the codec and the metrics can fail with now */
        w->agg = ho_agg_new(&ac, conf->redis, errstr, errstr_size);
        if (!w->agg)
                goto fail;
        for (int i = 0; i < HO_WORKER_APPLIERS; i++) {
                ho_applier_t *ap = &w->appliers[i];
                ap->w = w;
                if (!(ap->agg = ho_agg_new(&ac, conf->redis, errstr, errstr_size)))
                        goto fail;
                int perr = pthread_create(&ap->thread, NULL, applier_main, ap);
                if (perr) {
                        *e = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM,
                                       "cannot start an apply thread: %s", strerror(perr));
                        goto fail;
                }
                ap->started = true;
        }
        w->codec = ho_codec_new(errstr, errstr_size);
        if (!w->codec)
                goto fail;
        if (conf->registry)
                ho_codec_set_registry(w->codec, conf->registry);
        w->producer = client_new(w, HO_KAFKA_DLQ_PRODUCER, e, errstr, errstr_size);
        if (!w->producer)
                goto fail;
        /* the delivery report always comes within message.timeout.ms */
        char mt[32];
        size_t mtsz = sizeof(mt);
        w->dlq_wait_ms = 15000;
        if (rd_kafka_conf_get(rd_kafka_conf(w->producer), "message.timeout.ms", mt, &mtsz) ==
            RD_KAFKA_CONF_OK)
                w->dlq_wait_ms = atoi(mt) + 5000;
        /* the loop's longest legitimate wait is one dead letter's delivery */
        if (conf->metrics &&
            !(w->wm = ho_wmetrics_new(conf->metrics, conf->topic, conf->group, conf->redis,
                                      w->dlq_wait_ms + 15000, errstr, errstr_size))) {
                *e = HO_ERR_NOMEM;
                goto fail;
        }
        w->consumer = client_new(w, HO_KAFKA_CONSUMER, e, errstr, errstr_size);
        if (!w->consumer)
                goto fail;
        /* one queue: rebalance events and messages both come from consumer_poll */
        rd_kafka_poll_set_consumer(w->consumer);
        *e = HO_OK;
        return w;
fail:
        ho_worker_destroy(w);
        return NULL;
}

void ho_worker_destroy(ho_worker_t *w) {
        if (!w)
                return;
        pthread_mutex_lock(&w->mu);
        w->quit = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        for (int i = 0; i < HO_WORKER_APPLIERS; i++)
                if (w->appliers[i].started)
                        pthread_join(w->appliers[i].thread, NULL); /* after its apply in flight */
        if (w->consumer)
                rd_kafka_destroy_flags(w->consumer, w->close_incomplete
                                                            ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE
                                                            : 0); /* closes if run did not */
        for (size_t i = 0; i < w->n_parts; i++) {
                ho_agg_batch_destroy(w->parts[i].batch);
                ho_agg_batch_destroy(w->parts[i].spare);
        }
        for (int i = 0; i < HO_WORKER_APPLIERS; i++) {
                ho_agg_batch_destroy(w->appliers[i].job); /* never settled */
                if (w->appliers[i].agg)
                        ho_agg_destroy(w->appliers[i].agg);
        }
        free(w->parts);
        if (w->producer) {
                rd_kafka_flush(w->producer, 2000);
                rd_kafka_destroy(w->producer);
        }
        if (w->codec)
                ho_codec_destroy(w->codec);
        if (w->agg)
                ho_agg_destroy(w->agg);
        ho_report_clear(&w->report);
        ho_wmetrics_destroy(w->wm);
        free(w->dlq_topic);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
}

/* ---- the loop ---- */

/* Retry stalled partitions whose time has come. */
static ho_err_t worker_retry(ho_worker_t *w, int64_t now) {
        for (size_t i = 0; i < w->n_parts; i++) {
                ho_part_t *p = &w->parts[i];
                if (!p->assigned || p->state == HO_PART_RUNNING || now < p->retry_at_ms)
                        continue;
                ho_err_t err = HO_OK;
                switch (p->state) {
                case HO_PART_RETRY_COMMIT:
                        err = part_commit(w, p);
                        break;
                case HO_PART_RETRY_REREAD:
                        part_reread(w, p);
                        break;
                case HO_PART_RETRY_DLQ:
                        part_unstall(w, p); /* the dead letter's message comes again */
                        break;
                default:
                        break;
                }
                if (err == HO_ERR_NOMEM)
                        return err;
        }
        return HO_OK;
}

/* Apply every open batch (idle poll) or only the full ones. Also all of them
 * when together they hold more than one batch's cap, so memory stays bounded
 * by about twice the cap however many partitions a worker owns. */
static ho_err_t worker_flush(ho_worker_t *w, bool all) {
        if (!all) {
                size_t open = 0, cap = w->conf.batch_max_msgs ? w->conf.batch_max_msgs : 5000;
                for (size_t i = 0; i < w->n_parts; i++)
                        if (w->parts[i].assigned)
                                open += ho_agg_batch_count(w->parts[i].batch);
                all = open >= cap;
        }
        for (size_t i = 0; i < w->n_parts; i++) {
                ho_part_t *p = &w->parts[i];
                if (!p->assigned || p->state != HO_PART_RUNNING ||
                    ho_agg_batch_count(p->batch) == 0)
                        continue;
                if (!all && !ho_agg_batch_full(p->batch))
                        continue;
                if (part_submit(w, p) == HO_ERR_NOMEM)
                        return HO_ERR_NOMEM;
        }
        return HO_OK;
}

/* How long the next poll may block: short while batches are open, bounded by
 * the nearest time cap or retry. */
static int worker_poll_timeout(ho_worker_t *w, int64_t now) {
        int t = HO_WORKER_POLL_IDLE_MS;
        for (size_t i = 0; i < w->n_parts; i++) {
                ho_part_t *p = &w->parts[i];
                if (!p->assigned)
                        continue;
                if (p->state != HO_PART_RUNNING) {
                        int64_t d = p->retry_at_ms - now;
                        if (d < t)
                                t = d < 0 ? 0 : (int)d;
                } else if (ho_agg_batch_count(p->batch) > 0) {
                        int r = ho_agg_batch_remaining_ms(p->batch);
                        if (r >= 0 && r < t)
                                t = r;
                        if (HO_WORKER_POLL_BUSY_MS < t)
                                t = HO_WORKER_POLL_BUSY_MS;
                }
        }
        return t;
}

/* The local queue ran dry after a burst: wake the fetcher (kfetch.h). */
static void worker_wake_fetcher(ho_worker_t *w) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
        for (size_t i = 0; i < w->n_parts; i++) {
                ho_part_t *p = &w->parts[i];
                if (p->assigned && p->state == HO_PART_RUNNING && !p->paused)
                        rd_kafka_topic_partition_list_add(l, w->conf.topic, p->partition)->offset =
                                p->expect;
        }
        ho_kfetch_wake(w->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
}

/* Shutdown: apply complete batches, retrying Redis briefly. */
static void worker_drain(ho_worker_t *w) {
        worker_settle_all(w);
        int64_t deadline = ho_mono_ms() + HO_WORKER_CLOSE_RETRY_MS;
        for (;;) {
                bool pending = false;
                for (size_t i = 0; i < w->n_parts; i++) {
                        ho_part_t *p = &w->parts[i];
                        if (!p->assigned || ho_agg_batch_count(p->batch) == 0)
                                continue;
                        if (p->state == HO_PART_RUNNING || p->state == HO_PART_RETRY_COMMIT) {
                                p->state = HO_PART_RUNNING;
                                if (part_commit(w, p) == HO_ERR_REDIS ||
                                    ho_agg_batch_count(p->batch) > 0)
                                        pending = true;
                        }
                }
                if (!pending || ho_mono_ms() >= deadline)
                        break;
                ho_sleep_ms(200);
        }
        for (size_t i = 0; i < w->n_parts; i++) {
                ho_part_t *p = &w->parts[i];
                if (p->assigned && ho_agg_batch_count(p->batch) > 0) {
                        ho_warn("\"%s\" [%" PRId32 "]: %zu messages not applied at shutdown; "
                                "the next owner re-reads them from the stored offset",
                                w->conf.topic, p->partition, ho_agg_batch_count(p->batch));
                        ho_agg_batch_reset(p->batch, ho_agg_batch_start_offset(p->batch));
                }
                if (p->assigned)
                        p->state = HO_PART_RUNNING; /* no more retries while closing */
        }
}

/* Leave the group: revoke (our callback applies what is open) and say
 * goodbye to the coordinator, within HO_WORKER_CLOSE_MS. With the brokers
 * unreachable the goodbye never comes; then we stop anyway and the group
 * notices after session.timeout.ms, which is safe (the fence). */
static void worker_close(ho_worker_t *w) {
        worker_settle_all(w);
        kafka_mirror_due(w, 0, true);
        /* Prefetched messages still queued would be forwarded to q below, and
         * librdkafka 2.0.x aborts serving a message on a callback queue
         * (rdkafka_queue.c: "res != RD_KAFKA_OP_RES_PASS"; SIGTERM mid-stream
         * exited 134). Stop fetching, then drop what is queued: nothing of it
         * is applied, so the next owner reads it again from the stored offset. */
        rd_kafka_topic_partition_list_t *a = NULL;
        if (!rd_kafka_assignment(w->consumer, &a) && a) {
                if (a->cnt > 0)
                        rd_kafka_pause_partitions(w->consumer, a);
                rd_kafka_topic_partition_list_destroy(a);
        }
        rd_kafka_message_t *m;
        while ((m = rd_kafka_consumer_poll(w->consumer, 0)))
                rd_kafka_message_destroy(m);
        rd_kafka_queue_t *q = rd_kafka_queue_new(w->consumer);
        rd_kafka_error_t *e = rd_kafka_consumer_close_queue(w->consumer, q);
        if (e) {
                ho_warn("kafka: cannot leave the group: %s", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                w->close_incomplete = true;
        } else {
                int64_t deadline = ho_mono_ms() + HO_WORKER_CLOSE_MS;
                while (!rd_kafka_consumer_closed(w->consumer) && ho_mono_ms() < deadline)
                        rd_kafka_queue_poll_callback(q, 100);
                if (!rd_kafka_consumer_closed(w->consumer)) {
                        ho_warn("kafka: could not leave group \"%s\" within %d ms (brokers "
                                "unreachable?); the group notices after session.timeout.ms",
                                w->conf.group, HO_WORKER_CLOSE_MS);
                        w->close_incomplete = true;
                }
        }
        rd_kafka_queue_destroy(q);
}

ho_err_t ho_worker_run(ho_worker_t *w, volatile sig_atomic_t *stop, char *errstr,
                       size_t errstr_size) {
        w->stop = stop;
        ho_err_t cerr = worker_check_topics(w, errstr, errstr_size);
        if (cerr || *stop)
                return cerr;
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, w->conf.topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t kerr = rd_kafka_subscribe(w->consumer, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (kerr)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "cannot subscribe to \"%s\": %s", w->conf.topic,
                                 rd_kafka_err2str(kerr));
        char *rdisp = ho_redis_url_display(w->conf.redis);
        ho_info("consuming \"%s\" in group \"%s\" into Redis %s prefix \"%s\"; dead letters to "
                "\"%s\"; worker %s",
                w->conf.topic, w->conf.group, rdisp ? rdisp : "?", w->conf.prefix, w->dlq_topic,
                w->worker_id);
        free(rdisp);
        w->stats_last_ms = ho_mono_coarse_ms();

        ho_err_t err = HO_OK;
        uint64_t dry_msgs = 0; /* messages consumed when the queue last ran dry */
        while (!*stop && !worker_fatal(w)) {
                int64_t now = ho_mono_coarse_ms();
                if ((err = worker_settle_done(w)) || (err = worker_retry(w, now)))
                        break;
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(w->consumer,
                                                                 worker_poll_timeout(w, now));
                if (!rkm) {
                        err = worker_flush(w, true); /* idle: apply what is open */
                        for (size_t i = 0; !err && i < w->n_parts; i++)
                                if (part_skip_markers(w, &w->parts[i]) == HO_ERR_NOMEM)
                                        err = HO_ERR_NOMEM;
                        if (ho_kfetch_ran_dry(&dry_msgs, w->st.messages) && !err)
                                worker_wake_fetcher(w);
                } else {
                        if (rkm->err) {
                                ho_kafka_watch_error(&w->kw_consumer, w->consumer, rkm->err,
                                                     rd_kafka_message_errstr(rkm));
                        } else {
                                err = worker_message(w, rkm);
                        }
                        rd_kafka_message_destroy(rkm);
                        if (!err)
                                err = worker_flush(w, false);
                }
                if (err)
                        break;
                rd_kafka_poll(w->producer, 0);
                now = ho_mono_coarse_ms();
                kafka_mirror_due(w, now, false);
                if (w->conf.stats_interval_s > 0 &&
                    now - w->stats_last_ms >= (int64_t)w->conf.stats_interval_s * 1000)
                        worker_stats_line(w, now);
                if (w->wm && now - w->wm_last_ms >= HO_WORKER_METRICS_MS)
                        worker_metrics_update(w, now);
        }
        if (w->wm)
                ho_wmetrics_phase(w->wm, HO_WM_STOPPING);
        if (w->fatal) { /* its own: out of memory */
                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "%s", w->fatal_str);
        } else if (worker_fatal(w)) {
                err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA_FATAL, "%s",
                                w->kw_consumer.fatal ? w->kw_consumer.reason
                                                     : w->kw_producer.reason);
        } else if (err) {
                ho_seterr(errstr, errstr_size, err, "%s", ho_err2str(err));
        }
        if (!err) {
                ho_info("stopping: applying open batches and leaving the group");
                worker_drain(w);
        }
        worker_close(w);
        if (w->conf.stats_interval_s > 0)
                worker_stats_line(w, ho_mono_coarse_ms());
        return err;
}
