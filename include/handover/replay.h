/*
 * replay.h: rebuilding a prefix's aggregates from the topic's history, and
 * exporting that history (handover-replay).
 *
 * Rebuild: every partition is read with rd_kafka_assign (no consumer group,
 * nothing committed) from its start offset up to the high watermark read at
 * start (or, with an "until" time, up to the first message whose timestamp is
 * later). The window is closed, so it is not applied through the workers'
 * incremental engine: it is folded in memory (lib/replay_fold.c: per
 * transfer its latest report, by the read contract's rule, and its distinct
 * reports' digests), the counters are computed in C, and the staging keys
 * "{T}:staging:NAME" (T = the target prefix) are loaded in large pipelined
 * writes: Redis work per transfer, not per report. The fold is bounded by
 * memory_max: past it the transfers are split into buckets by a hash of
 * their id and the window is read once per bucket. Messages that do not
 * decode are counted as rejected (not sent to the dead letter topic again).
 * An "as of" time folds only the reports with reported_at <= it.
 *
 * The staging keys are then promoted in one Lua script: the fence key
 * "{T}:fence:N" of every partition N in the live or staging offsets is
 * INCRed (a worker's commit in flight aborts and re-reads its offset), every
 * key is RENAMEd staging -> live (or the live one DELeted when the build has
 * none), the old layout's report_ids and transfer_revs are DELeted, and a
 * message is PUBLISHed on {T}:updates. Readers see the old state or the new
 * one, never a mix.
 *
 * A window that asks for records below a partition's low watermark (deleted
 * by retention or kafka-delete-records) is refused, naming what is missing,
 * unless accept_truncated.
 *
 * Dry run: build in staging, report the totals next to the live ones and the
 * differences, delete the staging keys, switch nothing.
 *
 * Export: write the decoded reports of the window to an Avro object
 * container file (deflate, the newest reader schema embedded), via FILE.tmp
 * and a rename. Export needs no Redis and touches no keys.
 */
#ifndef HO_REPLAY_H
#define HO_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include "handover/registry.h"
#include "handover/err.h"
#include "handover/keys.h"
#include "handover/redis.h"

#define HO_REPLAY_NS HO_KEY_NS_STAGING
#define HO_REPLAY_MAX_PARTITIONS 4096
#define HO_REPLAY_MEMORY_DEFAULT ((size_t)256 << 20)
#define HO_REPLAY_MEMORY_MIN ((size_t)64 << 10)

typedef enum {
        HO_REPLAY_FROM_EARLIEST = 0,
        HO_REPLAY_FROM_OFFSETS, /* per-partition offsets; unlisted partitions: earliest */
        HO_REPLAY_FROM_TIME     /* first message with timestamp >= from_ms */
} ho_replay_from_t;

typedef struct ho_replay_from_offset_s {
        int32_t partition;
        int64_t offset;
} ho_replay_from_offset_t;

typedef struct ho_replay_conf_s {
        const char *topic;
        const char *prefix; /* the live prefix P */
        const char *into;   /* NULL, or build and promote into this prefix instead */
        ho_replay_from_t from;
        ho_replay_from_offset_t *from_offsets; /* FROM_OFFSETS: owned by the caller */
        size_t n_from_offsets;
        int64_t from_ms;       /* FROM_TIME */
        int64_t until_ms;      /* -1: up to the high watermarks read at start */
        int64_t as_of_ms;      /* -1: every report; else only reported_at <= as_of_ms */
        size_t memory_max;     /* 0: HO_REPLAY_MEMORY_DEFAULT (see ho_replay_run) */
        bool accept_truncated; /* rebuild from what is left of a truncated history */
        bool dry_run;
        const char *export_path; /* non-NULL: export only */
        bool progress;           /* a progress line on stderr (a terminal) */
        bool quiet;              /* no summary lines on stderr */
        size_t max_batch_msgs;   /* transfers (or fields) per staging write; 0: 500 */
        /* NULL, or the registry for values in the Confluent framing
         * (borrowed). When it cannot be asked the replay fails: nothing is
         * switched, no value is counted as rejected for it. */
        ho_registry_t *registry;
} ho_replay_conf_t;

typedef struct ho_replay_result_s {
        uint64_t messages;  /* messages read in the window */
        uint64_t reports;   /* decoded reports folded (or exported) */
        uint64_t rejected;  /* values that did not decode */
        uint64_t total;     /* messages the window held at start (for progress) */
        uint64_t later;     /* decoded reports left out by as_of_ms */
        uint64_t late;      /* until_ms: messages after the cut with reported_at <= it */
        uint64_t transfers; /* transfers built */
        int partitions;
        int passes;       /* reads of the window (one per bucket, and any that overflowed) */
        uint32_t buckets; /* the buckets the transfers were split into (1: none) */
        size_t fold_peak; /* the most bytes the fold held */
        int64_t elapsed_ms;
} ho_replay_result_t;

/* Parse --from: "earliest", "P:OFF,P:OFF", an RFC 3339 time or YYYY-MM-DD
 * (00:00Z that day). Fills conf->from and its arguments; *offsets is
 * malloc'd for the caller to free (NULL for the other forms). */
ho_err_t ho_replay_parse_from(const char *s, ho_replay_conf_t *conf,
                              ho_replay_from_offset_t **offsets, char *errstr, size_t errstr_size);
/* Parse --until: RFC 3339, or YYYY-MM-DD meaning the END of that day
 * (23:59:59.999Z): "the counters as they stood on 2025-12-31". */
ho_err_t ho_replay_parse_until(const char *s, int64_t *ms, char *errstr, size_t errstr_size);

/* Parse --as-of: as --until (a bare date is the end of that day). */
ho_err_t ho_replay_parse_as_of(const char *s, int64_t *ms, char *errstr, size_t errstr_size);
/* Parse --memory-max: bytes, or with a suffix K, M or G (powers of 1024);
 * from HO_REPLAY_MEMORY_MIN to 1024G. */
ho_err_t ho_replay_parse_size(const char *s, size_t *bytes, char *errstr, size_t errstr_size);

/* Run the replay conf describes. kconf (ho_kafka_conf_new's
 * HO_KAFKA_READER: its defaults and the user's properties) is taken in
 * every case. url is needed unless exporting (may be NULL then). *stop set
 * by a signal handler ends the run early: nothing is promoted and the
 * staging keys are deleted (returns HO_ERR_INTERRUPTED with
 * "interrupted"). out receives the dry run's report. memory_max bounds the
 * process: the fold may hold memory_max less 48 MB for the rest of it
 * (librdkafka's queues, the codec, Redis buffers), or half of memory_max
 * when that is under 96 MB (the cap then bounds the fold, not the process).
 * A truncated history is HO_ERR_INVALID unless accept_truncated. */
ho_err_t ho_replay_run(const ho_replay_conf_t *conf, rd_kafka_conf_t *kconf,
                       const ho_redis_url_t *url, volatile sig_atomic_t *stop, FILE *out,
                       ho_replay_result_t *res, char *errstr, size_t errstr_size);

#endif
