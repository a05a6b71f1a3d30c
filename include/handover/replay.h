/*
 * replay.h: rebuilding a prefix's aggregates from the topic's history, and
 * exporting that history (handover-replay).
 *
 * Rebuild: every partition is read with rd_kafka_assign (no consumer group,
 * nothing committed) from its start offset up to the high watermark read at
 * start (or, with an "until" time, up to the first message whose timestamp is
 * later), and folded by the SAME engine as the workers (lib/agg.c) into the
 * staging keys "{T}:staging:NAME" (T = the target prefix): one fenced batch
 * per partition, so the exactly-once rules and the memory bounds are the
 * workers'. Messages that do not decode are counted as rejected (not sent to
 * the dead letter topic again). The staging keys are then promoted in one Lua
 * script: for every name in ho_agg_key_names, RENAME staging -> live when the
 * staging key exists, else DEL live; then PUBLISH on {T}:updates. Readers see
 * the old state or the new one, never a mix. A live worker's next apply is
 * fenced (its partition's stored offset moved), so it re-reads the rebuilt
 * offset and carries on from there.
 *
 * Dry run: build in staging, report the totals next to the live ones and the
 * differences, delete the staging keys, switch nothing.
 *
 * Export: write the decoded reports of the window to an Avro object container
 * file (deflate, the newest reader schema embedded), via FILE.tmp and a
 * rename. Export needs no Redis and touches no keys.
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
#include "handover/redis.h"

#define HO_REPLAY_NS "staging:"
#define HO_REPLAY_MAX_PARTITIONS 4096

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
        const char *prefix;       /* the live prefix P */
        const char *into;         /* NULL, or build and promote into this prefix instead */
        ho_replay_from_t from;
        ho_replay_from_offset_t *from_offsets; /* FROM_OFFSETS: owned by the caller */
        size_t n_from_offsets;
        int64_t from_ms;          /* FROM_TIME */
        int64_t until_ms;         /* -1: up to the high watermarks read at start */
        bool dry_run;
        const char *export_path;  /* non-NULL: export only */
        bool progress;            /* a progress line on stderr (a terminal) */
        bool quiet;               /* no summary lines on stderr */
        size_t max_batch_msgs;    /* 0: the engine's default */
        /* NULL, or the registry for values in the Confluent framing
         * (borrowed). When it cannot be asked the replay fails: nothing is
         * switched, no value is counted as rejected for it. */
        ho_registry_t *registry;
} ho_replay_conf_t;

typedef struct ho_replay_result_s {
        uint64_t messages;   /* messages read in the window */
        uint64_t reports;    /* decoded reports folded (or exported) */
        uint64_t rejected;   /* values that did not decode */
        uint64_t total;      /* messages the window held at start (for progress) */
        int partitions;
        int64_t elapsed_ms;
} ho_replay_result_t;

/* Parse --from: "earliest", "P:OFF,P:OFF", an RFC 3339 time or YYYY-MM-DD
 * (00:00Z that day). Fills conf->from and its arguments; *offsets is
 * malloc'd for the caller to free (NULL for the other forms). */
ho_err_t ho_replay_parse_from(const char *s, ho_replay_conf_t *conf,
                              ho_replay_from_offset_t **offsets, char *errstr,
                              size_t errstr_size);
/* Parse --until: RFC 3339, or YYYY-MM-DD meaning the END of that day
 * (23:59:59.999Z): "the counters as they stood on 2025-12-31". */
ho_err_t ho_replay_parse_until(const char *s, int64_t *ms, char *errstr, size_t errstr_size);

/* Properties replay sets before the user's -X (which may override them):
 * a bounded fetch queue. */
void ho_replay_kconf_defaults(rd_kafka_conf_t *kconf);

/* Run the replay conf describes. kconf (bootstrap.servers and the user's
 * properties) is taken in every case. url is needed unless exporting (may be
 * NULL then). *stop set by a signal handler ends the run early: nothing is
 * promoted and the staging keys are deleted (HO_ERR_USAGE-free: returns
 * HO_ERR_TIMEOUT with "interrupted"). out receives the dry run's report. */
ho_err_t ho_replay_run(const ho_replay_conf_t *conf, rd_kafka_conf_t *kconf,
                       const ho_redis_url_t *url, volatile sig_atomic_t *stop, FILE *out,
                       ho_replay_result_t *res, char *errstr, size_t errstr_size);

#endif
