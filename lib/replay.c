/* replay.c: rebuild a prefix from the topic's history, or export it (see replay.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <avro.h>
#include "handover/clock.h"
#include "handover/agg.h"
#include "handover/agg_fold.h"
#include "handover/codec.h"
#include "handover/conf.h"
#include "handover/jreport.h"
#include "handover/kafka.h"
#include "handover/kfetch.h"
#include "handover/log.h"
#include "handover/replay.h"
#include "handover/replay_fold.h"
#include "handover/resp.h"
#include "handover/report.h"
#include "handover/stats.h"
#include "handover/util.h"

/* ------------------------------------------------------------------ parsing */

/* ho_parse_ll of the n bytes at s. */
static int parse_lln(const char *s, size_t n, long long min, long long max, long long *v) {
        char buf[32];
        if (n == 0 || n >= sizeof(buf))
                return -1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return ho_parse_ll(buf, min, max, v) ? -1 : 0;
}

static ho_err_t parse_time_or_date(const char *s, bool end_of_day, int64_t *ms) {
        int32_t days;
        if (ho_date_parse(s, &days) == HO_OK) {
                *ms = (int64_t)days * 86400000 + (end_of_day ? 86400000 - 1 : 0);
                return HO_OK;
        }
        return ho_time_parse_rfc3339(s, ms);
}

ho_err_t ho_replay_parse_from(const char *s, ho_replay_conf_t *conf,
                              ho_replay_from_offset_t **offsets, char *errstr, size_t errstr_size) {
        *offsets = NULL;
        if (!strcmp(s, "earliest") || !strcmp(s, "beginning")) {
                conf->from = HO_REPLAY_FROM_EARLIEST;
                return HO_OK;
        }
        if (parse_time_or_date(s, false, &conf->from_ms) == HO_OK) {
                conf->from = HO_REPLAY_FROM_TIME;
                return HO_OK;
        }
        /* "P:OFF,P:OFF" */
        size_t n = 1;
        for (const char *p = s; *p; p++)
                n += *p == ',';
        ho_replay_from_offset_t *o = calloc(n, sizeof(*o));
        if (!o)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        const char *p = s;
        for (size_t i = 0; i < n; i++) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                const char *colon = memchr(p, ':', len);
                long long part, off;
                if (!colon || parse_lln(p, (size_t)(colon - p), 0, INT32_MAX, &part) ||
                    parse_lln(colon + 1, len - (size_t)(colon + 1 - p), 0, INT64_MAX, &off)) {
                        free(o);
                        return ho_seterr(
                                errstr, errstr_size, HO_ERR_USAGE,
                                "--from \"%s\": expected earliest, PARTITION:OFFSET[,...], "
                                "an RFC 3339 time or YYYY-MM-DD",
                                s);
                }
                for (size_t j = 0; j < i; j++)
                        if (o[j].partition == (int32_t)part) {
                                free(o);
                                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                                 "--from \"%s\": partition %lld given twice", s,
                                                 part);
                        }
                o[i].partition = (int32_t)part;
                o[i].offset = off;
                p = comma ? comma + 1 : p + len;
        }
        conf->from = HO_REPLAY_FROM_OFFSETS;
        conf->from_offsets = o;
        conf->n_from_offsets = n;
        *offsets = o;
        return HO_OK;
}

ho_err_t ho_replay_parse_until(const char *s, int64_t *ms, char *errstr, size_t errstr_size) {
        if (parse_time_or_date(s, true, ms) != HO_OK)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "--until \"%s\": expected an RFC 3339 time "
                                 "(2025-12-31T23:59:59Z) or YYYY-MM-DD",
                                 s);
        return HO_OK;
}

ho_err_t ho_replay_parse_as_of(const char *s, int64_t *ms, char *errstr, size_t errstr_size) {
        if (parse_time_or_date(s, true, ms) != HO_OK)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "--as-of \"%s\": expected an RFC 3339 time "
                                 "(2025-12-31T23:59:59Z) or YYYY-MM-DD",
                                 s);
        return HO_OK;
}

ho_err_t ho_replay_parse_size(const char *s, size_t *bytes, char *errstr, size_t errstr_size) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        unsigned long long mul = 1;
        if (!errno && end != s && *s != '-') {
                if (!strcmp(end, "") || !strcmp(end, "B"))
                        mul = 1;
                else if (!strcmp(end, "K") || !strcmp(end, "k") || !strcmp(end, "KB"))
                        mul = 1ULL << 10;
                else if (!strcmp(end, "M") || !strcmp(end, "MB"))
                        mul = 1ULL << 20;
                else if (!strcmp(end, "G") || !strcmp(end, "GB"))
                        mul = 1ULL << 30;
                else
                        mul = 0;
                if (mul && v >= HO_REPLAY_MEMORY_MIN / mul && v <= (1ULL << 40) / mul) {
                        *bytes = (size_t)(v * mul);
                        return HO_OK;
                }
        }
        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                         "--memory-max \"%s\": expected a size from 64K to 1024G, such as 256M "
                         "(suffixes K, M, G: powers of 1024)",
                         s);
}

/* ------------------------------------------------------------------ the run */

/* What the rest of the process holds beside the fold (librdkafka's queue and
 * fetch buffers, the codec, the Redis buffers), with a margin over what
 * docs/bench.md measures. */
#define HO_REPLAY_RESERVE (48u << 20)
/* Passes at most: a fold that does not fit in 1/4096 of the window. */
#define HO_REPLAY_MAX_BUCKETS 4096
/* Arguments after the key in one pipelined write (HSET, ZADD, SADD). */
#define HO_REPLAY_CMD_ARGS 1000
/* Drain the pipeline's replies past this many bytes sent. */
#define HO_REPLAY_PIPE_BYTES (4u << 20)

typedef struct ho_rpart_s {
        int32_t id;
        int64_t lo, hi;
        int64_t start, end; /* the window [start, end); end is the --until cut */
        int64_t pos;        /* next offset to read in this pass */
        int64_t first_seen; /* first offset seen in the first pass, -1: none */
        bool cut;           /* the --until cut is known (end set) */
        bool done;
        uint64_t late, late_first; /* --until: after the cut with reported_at <= T */
        /* every report of the window that reached the fold had its transfer
         * id as its message key (known after the counting pass): a later
         * bucket's pass then skips other buckets' messages by key, undecoded */
        bool keyed;
} ho_rpart_t;

/* One command in an argv arena (strings pointed at when it is sent, so the
 * arena may move while it grows). */
typedef struct ho_rcmd_s {
        ho_buf_t data;
        size_t *off, *len;
        size_t n, cap;
} ho_rcmd_t;

typedef struct ho_replay_s {
        const ho_replay_conf_t *conf;
        const char *target; /* the prefix built and promoted */
        rd_kafka_t *rk;
        ho_kafka_watch_t kw; /* the client's errors: a refused login or TLS failure (kafka.h) */
        ho_rpart_t *parts;
        int np;
        ho_codec_t *codec;
        ho_report_t report;
        ho_arena_t arena; /* report's members: reset before each decode */
        redisContext *c;
        const ho_redis_url_t *url;
        avro_file_writer_t writer;
        avro_value_iface_t *iface;
        avro_value_t value;
        bool have_value;
        char *tmp_path;
        volatile sig_atomic_t *stop;
        ho_replay_result_t *res;
        int64_t t0, last_progress;
        char lock_key[512];
        char lock_token[128];
        bool locked;
        int64_t lock_refreshed; /* ho_mono_ms() of the last refresh */
        int64_t last_activity;  /* ho_mono_ms() of the last message or event */
        /* the build */
        const char *names[64]; /* keys built and promoted */
        const char *legacy[8]; /* keys of the old layout the switch deletes */
        ho_rfold_t *fold;
        size_t budget;      /* bytes the fold may hold */
        uint32_t k, bucket; /* this pass folds bucket `bucket` of k */
        bool counted;  /* a pass ran to the end: rejects, --until and --as-of counts are final */
        bool overflow; /* this pass went over the budget */
        uint64_t pass_seen, pass_total;
        ho_delta_t delta, bdelta; /* counters of all loaded buckets; of the one loading */
        int64_t reports;          /* distinct reports of all loaded buckets */
        ho_rcmd_t cmd[5];
        size_t pending, pending_bytes;
        ho_buf_t out; /* the pending commands as RESP, sent by replay_drain */
        ho_buf_t json, ids;
        ho_zmember_t *zm; /* a bucket's scores, in the sorted set's order */
        size_t cap_zm;
        char *missing; /* what the truncated history lacks, for messages (malloc) */
} ho_replay_t;

static bool is_rebuilding(const ho_replay_t *rp) {
        return !rp->conf->export_path;
}

/* The queue ran dry after a burst: wake the fetcher (kfetch.h). */
static void replay_wake_fetcher(ho_replay_t *rp) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(rp->np);
        for (int i = 0; i < rp->np; i++)
                if (!rp->parts[i].done)
                        rd_kafka_topic_partition_list_add(l, rp->conf->topic, rp->parts[i].id)
                                ->offset = rp->parts[i].pos;
        ho_kfetch_wake(rp->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
}

static ho_rpart_t *part_get(ho_replay_t *rp, int32_t id) {
        for (int i = 0; i < rp->np; i++)
                if (rp->parts[i].id == id)
                        return &rp->parts[i];
        return NULL;
}

static ho_err_t replay_lock_refresh(ho_replay_t *rp, bool force, char *errstr, size_t errstr_size);

/* Partitions, watermarks and the window's start offsets. */
static ho_err_t replay_window(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        const ho_replay_conf_t *conf = rp->conf;
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rp->rk, conf->topic, NULL);
        rd_kafka_resp_err_t kerr;

        if (!rkt)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "topic \"%s\": %s", conf->topic,
                                 rd_kafka_err2str(rd_kafka_last_error()));
        /* 10 s in 1 s slices: a refused login or certificate (the error callback
         * fills rp->kw) ends the wait at once */
        int64_t until = ho_mono_ms() + 10000;
        do {
                kerr = rd_kafka_metadata(rp->rk, 0, rkt, &md, 1000);
                if (kerr != RD_KAFKA_RESP_ERR__TIMED_OUT && kerr != RD_KAFKA_RESP_ERR__TRANSPORT)
                        break;
                rd_kafka_poll(rp->rk, 100);
        } while (!rp->kw.fatal && ho_mono_ms() < until);
        rd_kafka_topic_destroy(rkt);
        if (kerr && rp->kw.fatal)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA_FATAL, "%s", rp->kw.reason);
        if (kerr)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "metadata of topic \"%s\": %s (is -b right?)", conf->topic,
                                 rd_kafka_err2str(kerr));
        if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
                kerr = md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
                rd_kafka_metadata_destroy(md);
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "topic \"%s\": %s", conf->topic,
                                 kerr ? rd_kafka_err2str(kerr) : "has no partitions");
        }
        rp->np = md->topics[0].partition_cnt;
        if (rp->np > HO_REPLAY_MAX_PARTITIONS)
                rp->np = HO_REPLAY_MAX_PARTITIONS;
        rp->parts = calloc((size_t)rp->np, sizeof(*rp->parts));
        for (int i = 0; rp->parts && i < rp->np; i++)
                rp->parts[i].id = md->topics[0].partitions[i].id;
        rd_kafka_metadata_destroy(md);
        if (!rp->parts)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");

        for (int i = 0; i < rp->np; i++) {
                ho_rpart_t *p = &rp->parts[i];
                kerr = rd_kafka_query_watermark_offsets(rp->rk, conf->topic, p->id, &p->lo, &p->hi,
                                                        10000);
                if (kerr)
                        return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                         "watermarks of %s/%" PRId32 ": %s", conf->topic, p->id,
                                         rd_kafka_err2str(kerr));
                /* the window asks for everything from offset 0 unless --from says
                 * otherwise; what is below the low watermark is gone (see
                 * replay_truncated) */
                p->start = conf->from == HO_REPLAY_FROM_TIME ? p->lo : 0;
                p->end = p->hi;
                p->first_seen = -1;
        }
        for (size_t j = 0; conf->from == HO_REPLAY_FROM_OFFSETS && j < conf->n_from_offsets; j++) {
                ho_rpart_t *p = part_get(rp, conf->from_offsets[j].partition);
                if (!p)
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "--from: topic \"%s\" has no partition %" PRId32,
                                         conf->topic, conf->from_offsets[j].partition);
                int64_t off = conf->from_offsets[j].offset;
                p->start = off > p->hi ? p->hi : off;
        }
        if (conf->from == HO_REPLAY_FROM_TIME) {
                rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(rp->np);
                for (int i = 0; i < rp->np; i++)
                        rd_kafka_topic_partition_list_add(l, conf->topic, rp->parts[i].id)->offset =
                                conf->from_ms;
                kerr = rd_kafka_offsets_for_times(rp->rk, l, 10000);
                for (int i = 0; !kerr && i < l->cnt; i++) {
                        ho_rpart_t *p = part_get(rp, l->elems[i].partition);
                        if (l->elems[i].err) {
                                kerr = l->elems[i].err;
                                break;
                        }
                        /* -1: no message at or after the time: nothing to read there */
                        int64_t off = l->elems[i].offset;
                        if (p)
                                p->start = off < 0 ? p->hi : off < p->lo ? p->lo : off;
                }
                rd_kafka_topic_partition_list_destroy(l);
                if (kerr)
                        return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                         "offsets for --from time on \"%s\": %s", conf->topic,
                                         rd_kafka_err2str(kerr));
        }
        for (int i = 0; i < rp->np; i++) {
                ho_rpart_t *p = &rp->parts[i];
                int64_t from = p->start > p->lo ? p->start : p->lo;
                if (p->end > from)
                        rp->res->total += (uint64_t)(p->end - from);
        }
        rp->res->partitions = rp->np;
        return HO_OK;
}

/*
 * Truncated history: the window asks for offsets below a partition's low
 * watermark (retention or kafka-delete-records removed them). lo is the low
 * watermark to check against (at the start, or re-read before the switch).
 * Fills rp->missing with one line per partition and returns how many
 * partitions lack records.
 */
static int replay_truncated(ho_replay_t *rp, const int64_t *lo) {
        ho_buf_t b;
        int n = 0;
        ho_buf_init(&b);
        for (int i = 0; i < rp->np; i++) {
                const ho_rpart_t *p = &rp->parts[i];
                if (lo[i] <= p->start || p->first_seen == p->start)
                        continue;
                n++;
                ho_buf_printf(&b,
                              "partition %" PRId32 " of \"%s\": offsets %" PRId64 "..%" PRId64
                              " are gone (the first available is %" PRId64 "): up to %" PRId64
                              " record%s missing\n",
                              p->id, rp->conf->topic, p->start, lo[i] - 1, lo[i], lo[i] - p->start,
                              lo[i] - p->start == 1 ? "" : "s");
        }
        free(rp->missing);
        rp->missing = n ? ho_buf_steal(&b, NULL) : NULL;
        ho_buf_free(&b);
        return n;
}

static ho_err_t replay_truncated_err(ho_replay_t *rp, int n, char *errstr, size_t errstr_size) {
        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                         "the history of \"%s\" is truncated (%d partition%s, see above): a "
                         "rebuild would be smaller than the truth; nothing switched (pass "
                         "--accept-truncated to accept the loss)",
                         rp->conf->topic, n, n == 1 ? "" : "s");
}

/* Log what is missing, one line per partition, at level. */
static void replay_say_missing(const ho_replay_t *rp, ho_log_level_t level, FILE *out) {
        for (const char *s = rp->missing; s && *s;) {
                const char *nl = strchr(s, '\n');
                int len = nl ? (int)(nl - s) : (int)strlen(s);
                if (out)
                        fprintf(out, "truncated history: %.*s\n", len, s);
                else
                        ho_log(level, "truncated history: %.*s", len, s);
                s += len + (nl != NULL);
        }
}

static void replay_progress(ho_replay_t *rp, bool final) {
        int64_t now = ho_mono_ms();
        if (!rp->conf->progress || (!final && now - rp->last_progress < 250))
                return;
        rp->last_progress = now;
        ho_replay_result_t *r = rp->res;
        double secs = (double)(now - rp->t0) / 1000.0;
        double rate = secs > 0 ? (double)r->messages / secs : 0;
        uint64_t left = r->total > r->messages ? r->total - r->messages : 0;
        fprintf(stderr, "\rreplay: %" PRIu64 "/%" PRIu64 " messages (%3.0f%%), %.0f/s, ETA ",
                r->messages, r->total,
                r->total ? 100.0 * (double)r->messages / (double)r->total : 100.0, rate);
        if (rate > 0 && !final && secs >= 1.0) /* a rate over less is noise */
                fprintf(stderr, "%.0fs   ", (double)left / rate);
        else
                fprintf(stderr, "%s", final ? "0s   \n" : "?   ");
        fflush(stderr);
}

static ho_err_t replay_export_one(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        if (ho_codec_report_to_value(rp->codec, &rp->report, &rp->value, errstr, errstr_size))
                return HO_ERR_IO;
        if (avro_file_writer_append_value(rp->writer, &rp->value))
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "writing \"%s\": %s", rp->tmp_path,
                                 avro_strerror());
        return HO_OK;
}

/* How far a pass reads partition p: to the high watermark while the
 * --until counts are not final (the messages after the cut are counted),
 * then only to the cut. */
static int64_t pass_end(const ho_replay_t *rp, const ho_rpart_t *p) {
        return rp->counted ? p->end : p->hi;
}

/* One message of the window. */
static ho_err_t replay_message(ho_replay_t *rp, rd_kafka_message_t *m, char *errstr,
                               size_t errstr_size) {
        const ho_replay_conf_t *conf = rp->conf;
        ho_rpart_t *p = part_get(rp, m->partition);
        if (!p || p->done || m->offset < p->pos)
                return HO_OK;
        if (p->first_seen < 0 && !rp->counted)
                p->first_seen = m->offset;
        if (m->offset >= pass_end(rp, p)) {
                p->done = true;
                return HO_OK;
        }
        p->pos = m->offset + 1;
        bool after_cut = p->cut && m->offset >= p->end;
        if (!after_cut && conf->until_ms >= 0) {
                rd_kafka_timestamp_type_t tt;
                int64_t ts = rd_kafka_message_timestamp(m, &tt);
                if (tt != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts > conf->until_ms) {
                        /* the window ends before this message, and stays consistent
                         * with its offsets: everything before it, nothing after */
                        rp->res->total -= (uint64_t)(p->end - m->offset);
                        p->end = m->offset;
                        p->cut = true;
                        after_cut = true;
                }
        }
        if (!after_cut && !rp->counted)
                rp->res->messages++;
        rp->pass_seen++;
        if (rp->counted && rp->k > 1 && p->keyed &&
            (!m->key || !m->key_len || ho_rfold_bucket_n(m->key, m->key_len, rp->k) != rp->bucket))
                goto next; /* another bucket's report, or one the fold never takes */
        char derr[512];
        ho_arena_reset(&rp->arena); /* ho_codec_decode_in clears the report */
        ho_err_t err = ho_codec_decode_in(rp->codec, m->payload, m->len, &rp->report, &rp->arena,
                                          derr, sizeof(derr));
        if (err == HO_ERR_TIMEOUT) /* the registry cannot be asked: not the value's fault */
                return ho_seterr(errstr, errstr_size, err,
                                 "\"%s\" [%" PRId32 "] offset %" PRId64 ": %s; nothing switched",
                                 rp->conf->topic, m->partition, m->offset, derr);
        if (err != HO_OK) {
                if (!after_cut && !rp->counted) {
                        rp->res->rejected++;
                        ho_debug("%s/%" PRId32 "/%" PRId64 ": %s: %s", conf->topic, m->partition,
                                 m->offset, ho_err_name(err), derr);
                }
                goto next;
        }
        if (after_cut) {
                /* --until: a report published up to T that the cut leaves out */
                if (!rp->counted && rp->report.reported_at <= conf->until_ms && p->late++ == 0)
                        p->late_first = (uint64_t)m->offset;
                goto next;
        }
        if (conf->as_of_ms >= 0 && rp->report.reported_at > conf->as_of_ms) {
                if (!rp->counted)
                        rp->res->later++;
                goto next;
        }
        if (!rp->counted)
                rp->res->reports++;
        if (!is_rebuilding(rp)) {
                if ((err = replay_export_one(rp, errstr, errstr_size)))
                        return err;
                goto next;
        }
        if (!rp->report.transfer_id || !*rp->report.transfer_id || !rp->report.report_id ||
            !*rp->report.report_id) {
                /* decoded but unusable (the codec's validation rules this out):
                 * counted like a bad value, whichever bucket it would be in */
                if (!rp->counted) {
                        rp->res->reports--;
                        rp->res->rejected++;
                }
                goto next;
        }
        if (!rp->counted && (!m->key || m->key_len != strlen(rp->report.transfer_id) ||
                             memcmp(m->key, rp->report.transfer_id, m->key_len)))
                p->keyed = false;
        if (rp->k > 1 && ho_rfold_bucket(rp->report.transfer_id, rp->k) != rp->bucket)
                goto next;
        bool dup;
        err = ho_rfold_add(rp->fold, &rp->report, m->payload, m->len, &dup);
        if (err) {
                return ho_seterr(errstr, errstr_size, err,
                                 "out of memory folding %s/%" PRId32 "/%" PRId64, conf->topic,
                                 m->partition, m->offset);
        }
        /* the fold, and the scores' sort array its load will need */
        size_t held = ho_rfold_bytes(rp->fold) + ho_rfold_count(rp->fold) * sizeof(ho_zmember_t);
        if (held > rp->budget)
                rp->overflow = true;
        if (held > rp->res->fold_peak)
                rp->res->fold_peak = held;
next:
        if (p->pos >= pass_end(rp, p))
                p->done = true;
        return HO_OK;
}

/* A window with unfinished partitions and nothing arriving for this long
 * means the broker is gone: fail rather than wait forever. */
#define HO_REPLAY_STALL_MS 60000

static int replay_left(const ho_replay_t *rp) {
        int n = 0;
        for (int i = 0; i < rp->np; i++)
                n += !rp->parts[i].done;
        return n;
}

/* One read of the window: every partition from its start to where this
 * pass needs it (pass_end). Stops early when the fold overflows. */
static ho_err_t replay_read(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(rp->np);
        ho_err_t err = HO_OK;

        rp->pass_seen = rp->pass_total = 0;
        rp->overflow = false;
        if (!rp->counted) {
                /* an earlier pass that overflowed counted part of the window */
                ho_replay_result_t *r = rp->res;
                r->messages = r->reports = r->rejected = r->later = 0;
                for (int i = 0; i < rp->np; i++) {
                        rp->parts[i].late = rp->parts[i].late_first = 0;
                        rp->parts[i].first_seen = -1;
                        rp->parts[i].keyed = true;
                }
        }
        for (int i = 0; i < rp->np; i++) {
                ho_rpart_t *p = &rp->parts[i];
                int64_t from = p->start > p->lo ? p->start : p->lo;
                p->pos = from;
                p->done = from >= pass_end(rp, p);
                if (!p->done) {
                        rd_kafka_topic_partition_list_add(l, rp->conf->topic, p->id)->offset = from;
                        rp->pass_total += (uint64_t)(pass_end(rp, p) - from);
                }
        }
        rd_kafka_resp_err_t kerr = rd_kafka_assign(rp->rk, l->cnt ? l : NULL);
        if (kerr)
                err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "assign \"%s\": %s",
                                rp->conf->topic, rd_kafka_err2str(kerr));
        rd_kafka_topic_partition_list_destroy(l);

        rp->last_activity = ho_mono_ms();
        uint64_t seen = 0, seen_dry = 0; /* messages polled; and when the queue last ran dry */
        while (err == HO_OK && replay_left(rp) > 0 && !rp->overflow) {
                if (*rp->stop)
                        return ho_seterr(errstr, errstr_size, HO_ERR_INTERRUPTED,
                                         "interrupted: nothing promoted");
                int timeout = ho_kfetch_in_burst(seen_dry, seen) ? 0 : 100;
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rp->rk, timeout);
                if (!m && ho_kfetch_ran_dry(&seen_dry, seen))
                        replay_wake_fetcher(rp);
                if (m) {
                        seen++;
                        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                /* at the (current) high watermark: all of [pos, end) was seen */
                                ho_rpart_t *p = part_get(rp, m->partition);
                                if (p && !p->done && m->offset >= pass_end(rp, p)) {
                                        if (p->first_seen < 0 && !rp->counted)
                                                p->first_seen = m->offset;
                                        p->done = true;
                                }
                        } else if (m->err) {
                                rd_kafka_resp_err_t fe = RD_KAFKA_RESP_ERR_NO_ERROR;
                                char fs[256];
                                if (m->err == RD_KAFKA_RESP_ERR__FATAL)
                                        fe = rd_kafka_fatal_error(rp->rk, fs, sizeof(fs));
                                if (fe || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                                    m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
                                        err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                                        "kafka: %s", rd_kafka_message_errstr(m));
                                else /* transient: librdkafka retries by itself */
                                        ho_warn("kafka: %s", rd_kafka_message_errstr(m));
                        } else {
                                err = replay_message(rp, m, errstr, errstr_size);
                        }
                        rd_kafka_message_destroy(m);
                }
                /* the clock, the lock and the progress line: every 256 messages
                 * while they flow (a clock read per message costs measurable CPU) */
                if (m && (seen & 255))
                        continue;
                replay_progress(rp, false);
                if (err == HO_OK && is_rebuilding(rp))
                        err = replay_lock_refresh(rp, false, errstr, errstr_size);
                if (m)
                        rp->last_activity = ho_mono_ms();
                else if (err == HO_OK && ho_mono_ms() - rp->last_activity > HO_REPLAY_STALL_MS)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                        "no message from \"%s\" for %d s with %d partition(s) "
                                        "unfinished (is the broker reachable? see -X debug=...)",
                                        rp->conf->topic, HO_REPLAY_STALL_MS / 1000,
                                        replay_left(rp));
        }
        /* stop fetching: nothing more is needed from this read */
        rd_kafka_assign(rp->rk, NULL);
        if (err == HO_OK && !rp->overflow && !rp->counted) {
                /* the first complete read: its counts are the window's */
                rp->counted = true;
                for (int i = 0; i < rp->np; i++)
                        rp->parts[i].cut = true;
        }
        return err;
}

/* ------------------------------------------------------------ staging keys */

static ho_err_t replay_redis(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        if (rp->c)
                return HO_OK;
        /* every key replay touches is the target's, in the slot of {T} */
        char key[512];
        ho_key_format(key, sizeof(key), rp->target, HO_KEY_NS_LIVE, ho_key_names[HO_KEY_TOTALS]);
        rp->c = ho_redis_connect_key(rp->url, key, 10000, errstr, errstr_size);
        return rp->c ? HO_OK : HO_ERR_REDIS;
}

/* The connection is unusable (hiredis): the next call reconnects. */
static void replay_redis_drop(ho_replay_t *rp) {
        if (rp->c)
                redisFree(rp->c);
        rp->c = NULL;
        rp->pending = rp->pending_bytes = 0;
        ho_buf_reset(&rp->out);
}

static ho_err_t replay_del_staging(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        const char *argv[72];
        char keys[72][512];
        int n = 0;
        ho_err_t err = replay_redis(rp, errstr, errstr_size);
        if (err)
                return err;
        argv[n++] = "DEL";
        for (int k = 0; rp->names[k] && n < 64; k++, n++) {
                ho_key_format(keys[n], sizeof(keys[n]), rp->target, HO_REPLAY_NS, rp->names[k]);
                argv[n] = keys[n];
        }
        for (int k = 0; rp->legacy[k] && n < 72; k++, n++) {
                ho_key_format(keys[n], sizeof(keys[n]), rp->target, HO_REPLAY_NS, rp->legacy[k]);
                argv[n] = keys[n];
        }
        redisReply *r = ho_redis_cmd(rp->c, errstr, errstr_size, n, argv, NULL);
        if (!r)
                return HO_ERR_REDIS;
        freeReplyObject(r);
        return HO_OK;
}

/* ---- pipelined writes ---- */

static void rcmd_free(ho_rcmd_t *c) {
        ho_buf_free(&c->data);
        free(c->off);
        free(c->len);
        memset(c, 0, sizeof(*c));
}

static ho_err_t rcmd_add(ho_rcmd_t *c, const char *s, size_t len) {
        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 64;
                size_t *off = realloc(c->off, cap * sizeof(*off));
                if (off)
                        c->off = off;
                size_t *ln = realloc(c->len, cap * sizeof(*ln));
                if (ln)
                        c->len = ln;
                if (!off || !ln)
                        return HO_ERR_NOMEM;
                c->cap = cap;
        }
        c->off[c->n] = c->data.len;
        c->len[c->n] = len;
        if (ho_buf_append(&c->data, s, len))
                return HO_ERR_NOMEM;
        c->n++;
        return HO_OK;
}

static ho_err_t rcmd_adds(ho_rcmd_t *c, const char *s) {
        return rcmd_add(c, s, strlen(s));
}

static ho_err_t rcmd_addll(ho_rcmd_t *c, int64_t v) {
        char tmp[32];
        int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
        return rcmd_add(c, tmp, (size_t)n);
}

/* Start "VERB {T}:staging:NAME". */
static ho_err_t rcmd_start(ho_replay_t *rp, ho_rcmd_t *c, const char *verb, const char *name) {
        char key[512];
        ho_buf_reset(&c->data);
        c->n = 0;
        ho_key_format(key, sizeof(key), rp->target, HO_REPLAY_NS, name);
        return rcmd_adds(c, verb) || rcmd_adds(c, key) ? HO_ERR_NOMEM : HO_OK;
}

/* Read every pending reply; the first error wins. */
static ho_err_t replay_drain(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        ho_err_t err = HO_OK;
        if (rp->out.len) {
                if (ho_resp_send(rp->c, &rp->out, errstr, errstr_size)) {
                        replay_redis_drop(rp);
                        return HO_ERR_REDIS;
                }
                ho_buf_reset(&rp->out);
        }
        for (; rp->pending; rp->pending--) {
                void *r = NULL;
                if (redisGetReply(rp->c, &r) != REDIS_OK) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                        "redis write of the staging keys: %s",
                                        rp->c->errstr[0] ? rp->c->errstr : "connection lost");
                        replay_redis_drop(rp);
                        return err;
                }
                redisReply *rr = r;
                if (rr->type == REDIS_REPLY_ERROR && err == HO_OK)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                        "redis write of the staging keys of \"%s\": %s", rp->target,
                                        rr->str);
                freeReplyObject(rr);
        }
        rp->pending_bytes = 0;
        return err;
}

/* Send c when it holds more than its verb and key, and start it again. */
static ho_err_t rcmd_send(ho_replay_t *rp, ho_rcmd_t *c, char *errstr, size_t errstr_size) {
        if (c->n <= 2)
                return HO_OK;
        /* RESP into one kept buffer: hiredis would format each command into
         * a fresh sds of its own */
        bool bad = ho_resp_cmd(&rp->out, c->n);
        for (size_t i = 0; i < c->n && !bad; i++)
                bad = ho_resp_arg(&rp->out, c->data.data + c->off[i], c->len[i]);
        if (bad) {
                replay_redis_drop(rp);
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        }
        rp->pending++;
        rp->pending_bytes += c->data.len;
        c->n = 2;
        c->data.len = c->off[2];
        if (rp->pending_bytes >= HO_REPLAY_PIPE_BYTES)
                return replay_drain(rp, errstr, errstr_size);
        return HO_OK;
}

/* Send c once it holds its share of arguments after its key:
 * HO_REPLAY_CMD_ARGS, or two per transfer of --batch-max. */
static ho_err_t rcmd_maybe_send(ho_replay_t *rp, ho_rcmd_t *c, char *errstr, size_t errstr_size) {
        size_t args = rp->conf->max_batch_msgs ? 2 * rp->conf->max_batch_msgs : HO_REPLAY_CMD_ARGS;
        return c->n >= 2 + args ? rcmd_send(rp, c, errstr, errstr_size) : HO_OK;
}

/* ---- loading a bucket and the counters ---- */

enum { HO_C_STATES, HO_C_IDS, HO_C_LARGEST, HO_C__COUNT };

/* The folded transfers of this bucket into the staging keys: their states,
 * digests and scores. Every write sets a value, so a load that failed
 * half-way is simply done again. Their counter contributions go to
 * rp->bdelta. */
static ho_err_t replay_load_bucket(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        ho_rfold_t *f = rp->fold;
        ho_rcmd_t *c = rp->cmd;
        ho_err_t err;
        char derr[512];

        ho_delta_clear(&rp->bdelta);
        if ((err = replay_redis(rp, errstr, errstr_size)))
                return err;
        size_t n = ho_rfold_count(f);
        if (n > rp->cap_zm) {
                ho_zmember_t *zm = realloc(rp->zm, n * sizeof(*zm));
                if (!zm)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                rp->zm = zm;
                rp->cap_zm = n;
        }
        if (rcmd_start(rp, &c[HO_C_STATES], "HSET", ho_key_names[HO_KEY_TRANSFERS]) ||
            rcmd_start(rp, &c[HO_C_IDS], "HSET", ho_key_names[HO_KEY_TRANSFER_IDS]) ||
            rcmd_start(rp, &c[HO_C_LARGEST], "ZADD", ho_key_names[HO_KEY_LARGEST]))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                ho_rfold_xfer_t x;
                ho_rfold_get(f, i, &x);
                /* it decoded when it was folded: the same bytes decode again */
                ho_arena_reset(&rp->arena);
                if ((err = ho_codec_decode_in(rp->codec, x.value, x.value_len, &rp->report,
                                              &rp->arena, derr, sizeof(derr))))
                        return ho_seterr(errstr, errstr_size, err,
                                         "transfer \"%s\": its latest report no longer decodes: %s",
                                         x.transfer_id, derr);
                ho_buf_reset(&rp->json);
                ho_buf_reset(&rp->ids);
                bool bad = ho_report_json(&rp->report, (int64_t)x.n_ids, &rp->json) ||
                           ho_rfold_digests(f, i, &rp->ids) ||
                           ho_delta_contrib(&rp->bdelta, &rp->report, +1) ||
                           rcmd_adds(&c[HO_C_STATES], x.transfer_id) ||
                           rcmd_add(&c[HO_C_STATES], rp->json.data, rp->json.len) ||
                           rcmd_adds(&c[HO_C_IDS], x.transfer_id) ||
                           rcmd_add(&c[HO_C_IDS], rp->ids.data, rp->ids.len);
                if (bad)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                rp->zm[i] = (ho_zmember_t){rp->report.inmate_count, x.transfer_id,
                                           strlen(x.transfer_id)};
                for (int k = 0; k < HO_C_LARGEST; k++)
                        if ((err = rcmd_maybe_send(rp, &c[k], errstr, errstr_size)))
                                return err;
        }
        /* the scores last, in the set's order (agg_fold.h says why) */
        ho_zmember_sort(rp->zm, n);
        for (size_t i = 0; i < n; i++) {
                if (rcmd_addll(&c[HO_C_LARGEST], rp->zm[i].score) ||
                    rcmd_add(&c[HO_C_LARGEST], rp->zm[i].member, rp->zm[i].len))
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                if ((err = rcmd_maybe_send(rp, &c[HO_C_LARGEST], errstr, errstr_size)))
                        return err;
        }
        for (int k = 0; k < HO_C__COUNT; k++)
                if ((err = rcmd_send(rp, &c[k], errstr, errstr_size)))
                        return err;
        return replay_drain(rp, errstr, errstr_size);
}

/* d += s, field by field. */
static ho_err_t delta_add(ho_delta_t *d, const ho_delta_t *s) {
        for (int t = 0; t < HO_TOTAL__COUNT; t++)
                d->totals[t] += s->totals[t];
        const ho_strmap_t *from[2] = {&s->fields, &s->dates};
        ho_strmap_t *to[2] = {&d->fields, &d->dates};
        for (int m = 0; m < 2; m++)
                for (size_t i = 0; i < from[m]->cap; i++) {
                        const char *k = ho_strmap_slot_key(from[m], i);
                        if (!k)
                                continue;
                        int64_t *v = ho_strmap_upsert(to[m], k, strlen(k), NULL, NULL);
                        if (!v)
                                return HO_ERR_NOMEM;
                        *v += from[m]->vals[i];
                }
        return HO_OK;
}

/* The counters, computed in C over every bucket, and the offsets: written
 * once, as values, so this too may simply be done again. */
static ho_err_t replay_load_counters(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        const ho_delta_t *d = &rp->delta;
        ho_rcmd_t *c = rp->cmd;
        ho_err_t err;
        int32_t first = INT32_MAX, last = INT32_MIN;
        char fday[11] = "", lday[11] = "", field[600];
#define TRY(e)                                                                                     \
        do {                                                                                       \
                if ((err = (e)))                                                                   \
                        goto fail;                                                                 \
        } while (0)

        TRY(replay_redis(rp, errstr, errstr_size));
        TRY(rcmd_start(rp, &c[0], "HSET", "transfers_by_date"));
        TRY(rcmd_start(rp, &c[1], "ZADD", "transfer_dates"));
        for (size_t i = 0; i < d->dates.cap; i++) {
                const char *k = ho_strmap_slot_key(&d->dates, i);
                int32_t days;
                if (!k || !d->dates.vals[i] || ho_date_parse(k, &days))
                        continue;
                first = days < first ? days : first;
                last = days > last ? days : last;
                TRY(rcmd_adds(&c[0], k));
                TRY(rcmd_addll(&c[0], d->dates.vals[i]));
                TRY(rcmd_addll(&c[1], days));
                TRY(rcmd_adds(&c[1], k));
                TRY(rcmd_maybe_send(rp, &c[0], errstr, errstr_size));
                TRY(rcmd_maybe_send(rp, &c[1], errstr, errstr_size));
        }
        TRY(rcmd_send(rp, &c[0], errstr, errstr_size));
        TRY(rcmd_send(rp, &c[1], errstr, errstr_size));
        if (first <= last) {
                ho_date_format(first, fday);
                ho_date_format(last, lday);
        }
        /* the breakdown hashes: a field only when its value is not 0 */
        for (int key = HO_KEY_INMATES_BY_MONTH; key <= HO_KEY_PERSONS_BY_AFFIL; key++) {
                TRY(rcmd_start(rp, &c[0], "HSET", ho_key_names[key]));
                for (size_t i = 0; i < d->fields.cap; i++) {
                        const char *k = ho_strmap_slot_key(&d->fields, i);
                        if (!k || k[0] - 'A' != key || !d->fields.vals[i])
                                continue;
                        TRY(rcmd_adds(&c[0], k + 1));
                        TRY(rcmd_addll(&c[0], d->fields.vals[i]));
                        TRY(rcmd_maybe_send(rp, &c[0], errstr, errstr_size));
                }
                TRY(rcmd_send(rp, &c[0], errstr, errstr_size));
        }
        TRY(rcmd_start(rp, &c[0], "HSET", ho_key_names[HO_KEY_TOTALS]));
        for (int t = 0; t < HO_TOTAL__COUNT; t++) {
                int64_t v = d->totals[t];
                if (t == HO_TOTAL_REPORTS)
                        v = rp->reports;
                else if (t == HO_TOTAL_REJECTED)
                        v = (int64_t)rp->res->rejected;
                TRY(rcmd_adds(&c[0], ho_key_total_names[t]));
                TRY(rcmd_addll(&c[0], v));
        }
        TRY(rcmd_adds(&c[0], HO_TOTAL_FIRST_ON));
        TRY(rcmd_adds(&c[0], fday));
        TRY(rcmd_adds(&c[0], HO_TOTAL_LAST_ON));
        TRY(rcmd_adds(&c[0], lday));
        TRY(rcmd_adds(&c[0], HO_TOTAL_UPDATED_AT));
        TRY(rcmd_addll(&c[0], ho_wall_ms()));
        TRY(rcmd_send(rp, &c[0], errstr, errstr_size));
        /* offsets: where each partition's window ended, as a worker would store it */
        TRY(rcmd_start(rp, &c[0], "HSET", ho_key_names[HO_KEY_OFFSETS]));
        for (int i = 0; i < rp->np; i++) {
                snprintf(field, sizeof(field), "%s:%" PRId32, rp->conf->topic, rp->parts[i].id);
                TRY(rcmd_adds(&c[0], field));
                TRY(rcmd_addll(&c[0], rp->parts[i].end));
                TRY(rcmd_maybe_send(rp, &c[0], errstr, errstr_size));
        }
        TRY(rcmd_send(rp, &c[0], errstr, errstr_size));
        return replay_drain(rp, errstr, errstr_size);
#undef TRY
fail:
        if (err == HO_ERR_NOMEM)
                ho_seterr(errstr, errstr_size, err, "out of memory");
        return err;
}

/* Run a load, retrying what is retriable (Redis away or failing) for a
 * minute: every load writes values, so doing it again is safe. */
static ho_err_t replay_retry(ho_replay_t *rp, ho_err_t (*load)(ho_replay_t *, char *, size_t),
                             char *errstr, size_t errstr_size) {
        int backoff = 100;
        int64_t deadline = ho_mono_ms() + 60000;
        for (;;) {
                ho_err_t err = load(rp, errstr, errstr_size);
                if (err != HO_ERR_REDIS)
                        return err;
                replay_redis_drop(rp);
                if (*rp->stop || ho_mono_ms() > deadline)
                        return err;
                ho_warn("%s; retrying in %d ms", errstr, backoff);
                ho_sleep_ms(backoff);
                backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
                if (replay_redis(rp, errstr, errstr_size) == HO_OK &&
                    (err = replay_lock_refresh(rp, true, errstr, errstr_size)))
                        return err;
        }
}
/*
 * One replay per target prefix at a time: "{T}:staging:lock" holds a token
 * (host, pid, time) with a 30 s expiry that the run refreshes every 5 s. A
 * second replay fails at its start instead of mixing its build with ours,
 * and the switch happens only while we still hold the lock.
 */
#define HO_REPLAY_LOCK_MS 30000
#define HO_REPLAY_LOCK_REFRESH_MS 5000
static const char ho_lock_refresh_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                          "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
                                          "end\n"
                                          "return 0\n";
static const char ho_lock_release_lua[] =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
        "return 0\n";

static ho_err_t replay_lock(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        char host[64] = "?", px[16];
        ho_err_t err = replay_redis(rp, errstr, errstr_size);
        if (err)
                return err;
        gethostname(host, sizeof(host) - 1);
        ho_key_format(rp->lock_key, sizeof(rp->lock_key), rp->target, HO_REPLAY_NS, HO_KEY_LOCK);
        snprintf(rp->lock_token, sizeof(rp->lock_token), "%s:%ld:%" PRId64, host, (long)getpid(),
                 ho_wall_ms());
        snprintf(px, sizeof(px), "%d", HO_REPLAY_LOCK_MS);
        const char *argv[] = {"SET", rp->lock_key, rp->lock_token, "NX", "PX", px};
        redisReply *r = ho_redis_cmd(rp->c, errstr, errstr_size, 6, argv, NULL);
        if (!r)
                return HO_ERR_REDIS;
        bool got = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!got) {
                const char *gargv[] = {"GET", rp->lock_key};
                r = ho_redis_cmd(rp->c, errstr, errstr_size, 2, gargv, NULL);
                err = ho_seterr(errstr, errstr_size, HO_ERR_LOCKED,
                                "another replay into prefix \"%s\" is running (lock \"%s\" held by "
                                "\"%s\"; it expires %d s after that replay stops)",
                                rp->target, rp->lock_key,
                                r && r->type == REDIS_REPLY_STRING ? r->str : "?",
                                HO_REPLAY_LOCK_MS / 1000);
                if (r)
                        freeReplyObject(r);
                return err;
        }
        rp->locked = true;
        rp->lock_refreshed = ho_mono_ms();
        return HO_OK;
}

/* Keep the lock alive; a lost lock ends the run (someone else may build now). */
static ho_err_t replay_lock_refresh(ho_replay_t *rp, bool force, char *errstr, size_t errstr_size) {
        char px[16];
        int64_t now = ho_mono_ms();
        if (!rp->locked || (!force && now - rp->lock_refreshed < HO_REPLAY_LOCK_REFRESH_MS))
                return HO_OK;
        snprintf(px, sizeof(px), "%d", HO_REPLAY_LOCK_MS);
        const char *argv[] = {"EVAL", ho_lock_refresh_lua, "1", rp->lock_key, rp->lock_token, px};
        redisReply *r = rp->c || replay_redis(rp, errstr, errstr_size) == HO_OK
                                ? ho_redis_cmd(rp->c, errstr, errstr_size, 6, argv, NULL)
                                : NULL;
        if (!r) {
                /* Redis is away: the loads retry; try again next round */
                replay_redis_drop(rp);
                return now - rp->lock_refreshed > HO_REPLAY_LOCK_MS
                               ? ho_seterr(errstr, errstr_size, HO_ERR_LOCKED,
                                           "lost the replay lock \"%s\" (Redis unreachable)",
                                           rp->lock_key)
                               : HO_OK;
        }
        bool ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        freeReplyObject(r);
        if (!ok)
                return ho_seterr(errstr, errstr_size, HO_ERR_LOCKED,
                                 "lost the replay lock \"%s\": another replay may be building "
                                 "prefix \"%s\"",
                                 rp->lock_key, rp->target);
        rp->lock_refreshed = now;
        return HO_OK;
}

static void replay_unlock(ho_replay_t *rp) {
        char e[256];
        if (!rp->locked || replay_redis(rp, e, sizeof(e)))
                return;
        const char *argv[] = {"EVAL", ho_lock_release_lua, "1", rp->lock_key, rp->lock_token};
        redisReply *r = ho_redis_cmd(rp->c, e, sizeof(e), 5, argv, NULL);
        if (r)
                freeReplyObject(r);
        rp->locked = false;
}

/*
 * The switch, in one script (atomic for every reader and writer), only
 * while we hold the lock and only a finished build (it always has offsets):
 *   - INCR the fence key {T}:fence:N of every partition N named in the live
 *     or the staging offsets ("topic:N"): a worker's commit in flight
 *     (WATCHing its fence keys, lib/agg.c) aborts and re-reads the offset
 *     the switch stored;
 *   - for every key name, RENAME staging -> live when the build has the key,
 *     else DEL live;
 *   - DEL the live keys of the old layout (report_ids, transfer_revs);
 *   - PUBLISH on {T}:updates.
 * KEYS: the (staging, live) pairs, then the old layout's live keys, then the
 * lock. ARGV: channel, message, lock token, staging offsets key, live
 * offsets key, fence key prefix, number of KEYS in pairs.
 */
static const char ho_promote_lua[] =
        "local lock = table.remove(KEYS)\n"
        "if redis.call('GET', lock) ~= ARGV[3] then\n"
        "  return redis.error_reply('replay lock ' .. lock .. ' is not ours')\n"
        "end\n"
        "if redis.call('EXISTS', ARGV[4]) == 0 then\n"
        "  return redis.error_reply('no build to switch in: ' .. ARGV[4] .. ' is missing')\n"
        "end\n"
        "local seen = {}\n"
        "for _, key in ipairs({ARGV[5], ARGV[4]}) do\n"
        "  for _, f in ipairs(redis.call('HKEYS', key)) do\n"
        "    local p = string.match(f, ':(%d+)$')\n"
        "    if p and not seen[p] then\n"
        "      seen[p] = true\n"
        "      redis.call('INCR', ARGV[6] .. p)\n"
        "    end\n"
        "  end\n"
        "end\n"
        "local n = tonumber(ARGV[7])\n"
        "for i = 1, n, 2 do\n"
        "  if redis.call('EXISTS', KEYS[i]) == 1 then\n"
        "    redis.call('RENAME', KEYS[i], KEYS[i + 1])\n"
        "  else\n"
        "    redis.call('DEL', KEYS[i + 1])\n"
        "  end\n"
        "end\n"
        "for i = n + 1, #KEYS do redis.call('DEL', KEYS[i]) end\n"
        "redis.call('PUBLISH', ARGV[1], ARGV[2])\n"
        "return n / 2\n";

static ho_err_t replay_promote(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        const char *argv[2 * 64 + 8 + 16];
        char keys[2 * 64 + 8][512], nkeys[16], npairs[16], chan[512], msg[512], offsets[512],
                live_offsets[512], fence[512];
        int n = 0, nk = 0;
        ho_err_t err = replay_redis(rp, errstr, errstr_size);
        if (err)
                return err;
        argv[n++] = "EVAL";
        argv[n++] = ho_promote_lua;
        argv[n++] = nkeys;
        for (int k = 0; rp->names[k] && nk < 2 * 64; k++) {
                ho_key_format(keys[nk], sizeof(keys[nk]), rp->target, HO_REPLAY_NS, rp->names[k]);
                argv[n++] = keys[nk++];
                ho_key_format(keys[nk], sizeof(keys[nk]), rp->target, HO_KEY_NS_LIVE, rp->names[k]);
                argv[n++] = keys[nk++];
        }
        snprintf(npairs, sizeof(npairs), "%d", nk);
        for (int k = 0; rp->legacy[k] && nk < 2 * 64 + 8; k++) {
                ho_key_format(keys[nk], sizeof(keys[nk]), rp->target, "", rp->legacy[k]);
                argv[n++] = keys[nk++];
        }
        argv[n++] = rp->lock_key;
        snprintf(nkeys, sizeof(nkeys), "%d", nk + 1);
        ho_key_format(chan, sizeof(chan), rp->target, HO_KEY_NS_LIVE, HO_KEY_CHANNEL);
        ho_key_format(offsets, sizeof(offsets), rp->target, HO_REPLAY_NS,
                      ho_key_names[HO_KEY_OFFSETS]);
        ho_key_format(live_offsets, sizeof(live_offsets), rp->target, HO_KEY_NS_LIVE,
                      ho_key_names[HO_KEY_OFFSETS]);
        ho_key_format(fence, sizeof(fence), rp->target, HO_KEY_NS_LIVE, HO_KEY_FENCE);
        snprintf(msg, sizeof(msg),
                 "{\"replay\":\"promoted\",\"topic\":\"%s\",\"messages\":%" PRIu64
                 ",\"updated_at\":%" PRId64 "}",
                 rp->conf->topic, rp->res->messages, ho_wall_ms());
        argv[n++] = chan;
        argv[n++] = msg;
        argv[n++] = rp->lock_token;
        argv[n++] = offsets;
        argv[n++] = live_offsets;
        argv[n++] = fence;
        argv[n++] = npairs;
        redisReply *r = ho_redis_cmd(rp->c, errstr, errstr_size, n, argv, NULL);
        if (!r)
                return HO_ERR_REDIS;
        freeReplyObject(r);
        return HO_OK;
}
/* ---------------------------------------------------------------- dry run */

static void diff_hash(FILE *out, const char *name, const json_t *live, const json_t *built,
                      int *ndiff) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)built, k, v) {
                json_t *lv = json_object_get(live, k);
                json_int_t a = json_integer_value(lv), b = json_integer_value(v);
                if (a != b) {
                        fprintf(out,
                                "  %s \"%s\": live %" JSON_INTEGER_FORMAT
                                ", replayed %" JSON_INTEGER_FORMAT " (%+" JSON_INTEGER_FORMAT ")\n",
                                name, k, a, b, b - a);
                        (*ndiff)++;
                }
        }
        json_object_foreach((json_t *)live, k, v) {
                if (!json_object_get(built, k)) {
                        fprintf(out,
                                "  %s \"%s\": live %" JSON_INTEGER_FORMAT
                                ", replayed 0 (%+" JSON_INTEGER_FORMAT ")\n",
                                name, k, json_integer_value(v), -json_integer_value(v));
                        (*ndiff)++;
                }
        }
}

static ho_err_t replay_dry_report(ho_replay_t *rp, FILE *out, char *errstr, size_t errstr_size) {
        json_t *live = NULL, *built = NULL;
        ho_err_t err = replay_redis(rp, errstr, errstr_size);
        if (err)
                return err;
        err = ho_stats_snapshot(rp->c, rp->target, HO_REPLAY_NS, 1, &built, errstr, errstr_size);
        if (err == HO_ERR_NOT_FOUND) {
                built = json_pack("{s:{},s:{},s:{},s:{},s:{},s:{}}", "totals", "inmates_by_month",
                                  "inmates_by_route", "transfers_by_destination",
                                  "inmates_by_destination", "persons_by_affiliation");
                err = HO_OK;
        }
        if (err)
                return err;
        err = ho_stats_snapshot(rp->c, rp->target, "", 1, &live, errstr, errstr_size);
        if (err == HO_ERR_NOT_FOUND) {
                live = json_pack("{s:{},s:{},s:{},s:{},s:{},s:{}}", "totals", "inmates_by_month",
                                 "inmates_by_route", "transfers_by_destination",
                                 "inmates_by_destination", "persons_by_affiliation");
                err = HO_OK;
        }
        if (err) {
                json_decref(built);
                return err;
        }
        const char *const *nums = ho_key_total_names;
        const json_t *lt = json_object_get(live, "totals"), *bt = json_object_get(built, "totals");
        int ndiff = 0;
        fprintf(out, "dry run: prefix \"%s\", %" PRIu64 " messages replayed (nothing switched)\n",
                rp->target, rp->res->messages);
        fprintf(out, "  %-18s %12s %12s %12s\n", "", "live", "replayed", "difference");
        for (int i = 0; nums[i]; i++) {
                json_int_t a = json_integer_value(json_object_get(lt, nums[i]));
                json_int_t b = json_integer_value(json_object_get(bt, nums[i]));
                fprintf(out,
                        "  %-18s %12" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT
                        " %+12" JSON_INTEGER_FORMAT "\n",
                        nums[i], a, b, b - a);
                ndiff += a != b;
        }
        static const char *const dates[] = {"first_transfer_on", "last_transfer_on", NULL};
        for (int i = 0; dates[i]; i++) {
                const char *a = json_string_value(json_object_get(lt, dates[i]));
                const char *b = json_string_value(json_object_get(bt, dates[i]));
                bool differs = strcmp(a ? a : "", b ? b : "") != 0;
                fprintf(out, "  %-18s %12s %12s %12s\n", dates[i], a && *a ? a : "-",
                        b && *b ? b : "-", differs ? "differs" : "");
                ndiff += differs;
        }
        static const char *const hashes[] = {"inmates_by_month",         "inmates_by_route",
                                             "transfers_by_destination", "inmates_by_destination",
                                             "persons_by_affiliation",   NULL};
        for (int i = 0; hashes[i]; i++)
                diff_hash(out, hashes[i], json_object_get(live, hashes[i]),
                          json_object_get(built, hashes[i]), &ndiff);
        fprintf(out, ndiff ? "%d difference%s\n" : "no differences\n", ndiff,
                ndiff == 1 ? "" : "s");
        json_decref(live);
        json_decref(built);
        return HO_OK;
}

/* ------------------------------------------------------------------ export */

static ho_err_t replay_export_open(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        const ho_schema_t *s = ho_schema_registry_newest(ho_codec_registry(rp->codec));
        size_t n = strlen(rp->conf->export_path) + 5;
        if (!s)
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA, "no reader schema");
        if (!(rp->tmp_path = malloc(n)))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        snprintf(rp->tmp_path, n, "%s.tmp", rp->conf->export_path);
        unlink(rp->tmp_path);
        if (avro_file_writer_create_with_codec(rp->tmp_path, s->avro, &rp->writer, "deflate", 0)) {
                rp->writer = NULL;
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot create \"%s\": %s",
                                 rp->tmp_path, avro_strerror());
        }
        if (!(rp->iface = avro_generic_class_from_schema(s->avro)) ||
            avro_generic_value_new(rp->iface, &rp->value))
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA, "avro: %s", avro_strerror());
        rp->have_value = true;
        return HO_OK;
}

static ho_err_t replay_export_close(ho_replay_t *rp, bool ok, char *errstr, size_t errstr_size) {
        ho_err_t err = HO_OK;
        if (rp->writer) {
                if (avro_file_writer_close(rp->writer) && ok)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_IO, "closing \"%s\": %s",
                                        rp->tmp_path, avro_strerror());
                rp->writer = NULL;
        }
        if (rp->tmp_path) {
                if (ok && err == HO_OK && rename(rp->tmp_path, rp->conf->export_path))
                        err = ho_seterr(errstr, errstr_size, HO_ERR_IO,
                                        "renaming \"%s\" to \"%s\": %s", rp->tmp_path,
                                        rp->conf->export_path, strerror(errno));
                if (!ok || err != HO_OK)
                        unlink(rp->tmp_path);
        }
        return err;
}

/* -------------------------------------------------------------------- run */

/* What the build writes and the switch promotes: the engine's keys; and the
 * keys of the earlier layout, which the switch deletes. */
static void replay_names(ho_replay_t *rp) {
        int n = 0;
        for (int k = 0; ho_key_names[k] && n < 63; k++)
                rp->names[n++] = ho_key_names[k];
        rp->names[n] = NULL;
        n = 0;
        for (int k = 0; ho_key_legacy_names[k] && n < 7; k++)
                rp->legacy[n++] = ho_key_legacy_names[k];
        rp->legacy[n] = NULL;
}

static ho_err_t replay_setup(ho_replay_t *rp, rd_kafka_conf_t *kconf, char *errstr,
                             size_t errstr_size) {
        const ho_replay_conf_t *conf = rp->conf;
        char e[512];
        /* assign(), not a group: nothing is committed and no worker is disturbed */
        static const char *const kv[][2] = {{"enable.partition.eof", "true"},
                                            {"enable.auto.commit", "false"},
                                            {"enable.auto.offset.store", "false"},
                                            {"auto.offset.reset", "earliest"}};
        for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
                if (rd_kafka_conf_set(kconf, kv[i][0], kv[i][1], e, sizeof(e)) !=
                    RD_KAFKA_CONF_OK) {
                        rd_kafka_conf_destroy(kconf);
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s", e);
                }
        char gid[64];
        size_t gsz = sizeof(gid);
        if (rd_kafka_conf_get(kconf, "group.id", gid, &gsz) != RD_KAFKA_CONF_OK || !gid[0])
                rd_kafka_conf_set(kconf, "group.id", "handover-replay", e, sizeof(e));
        ho_kafka_conf_watch(kconf, &rp->kw, rp);
        if (!(rp->rk = ho_kafka_new(RD_KAFKA_CONSUMER, kconf, "the kafka consumer", errstr,
                                    errstr_size)))
                return HO_ERR_CLIENT;
        if (!(rp->codec = ho_codec_new(errstr, errstr_size)))
                return HO_ERR_SCHEMA;
        if (conf->registry)
                ho_codec_set_registry(rp->codec, conf->registry);
        ho_report_init(&rp->report);
        ho_arena_init(&rp->arena, 0);
        ho_err_t err = replay_window(rp, errstr, errstr_size);
        if (err)
                return err;

        int64_t lo[HO_REPLAY_MAX_PARTITIONS];
        for (int i = 0; i < rp->np; i++)
                lo[i] = rp->parts[i].lo;
        int n = conf->from == HO_REPLAY_FROM_TIME ? 0 : replay_truncated(rp, lo);
        if (n && (conf->export_path || conf->accept_truncated)) {
                replay_say_missing(rp, HO_LOG_WARN, NULL);
                ho_warn("%s from what is left of \"%s\" (%s)",
                        conf->export_path ? "exporting" : "rebuilding", conf->topic,
                        conf->export_path ? "the export lacks those records"
                                          : "--accept-truncated");
        } else if (n && !conf->dry_run) {
                replay_say_missing(rp, HO_LOG_ERROR, NULL);
                return replay_truncated_err(rp, n, errstr, errstr_size);
        }
        if (conf->export_path)
                return replay_export_open(rp, errstr, errstr_size);

        replay_names(rp);
        if (!(rp->fold = ho_rfold_new()))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        size_t max = conf->memory_max ? conf->memory_max : HO_REPLAY_MEMORY_DEFAULT;
        rp->budget = max > 2 * (size_t)HO_REPLAY_RESERVE ? max - HO_REPLAY_RESERVE : max / 2;
        if ((err = replay_redis(rp, errstr, errstr_size)) ||
            (err = replay_lock(rp, errstr, errstr_size)))
                return err;
        /* a fresh build: nothing left over from an earlier, interrupted replay */
        return replay_del_staging(rp, errstr, errstr_size);
}

static ho_err_t replay_load_and_count(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        int64_t t = ho_mono_ms();
        ho_err_t err = replay_retry(rp, replay_load_bucket, errstr, errstr_size);
        if (err)
                return err;
        ho_debug("bucket %" PRIu32 " of %" PRIu32 ": %zu transfers loaded in %" PRId64 " ms",
                 rp->bucket, rp->k, ho_rfold_count(rp->fold), ho_mono_ms() - t);
        if (delta_add(&rp->delta, &rp->bdelta))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        rp->reports += (int64_t)ho_rfold_reports(rp->fold);
        rp->res->transfers += ho_rfold_count(rp->fold);
        return HO_OK;
}

/*
 * The rebuild: fold the window in memory and load the staging keys. When
 * the fold outgrows its budget, the transfers are split into k buckets (by
 * a hash of their id) and the window is read once per bucket, each read
 * folding only its bucket's transfers; buckets already loaded stay loaded
 * when k grows (a bucket of 2k is inside one of k).
 */
static ho_err_t replay_build(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        uint32_t(*done)[2] = NULL;
        size_t n_done = 0;
        ho_err_t err = HO_OK;

        rp->k = 1;
        for (uint32_t b = 0; b < rp->k && err == HO_OK; b++) {
                bool covered = false;
                for (size_t i = 0; i < n_done && !covered; i++)
                        covered = b % done[i][0] == done[i][1];
                if (covered)
                        continue;
                rp->bucket = b;
                rp->res->passes++;
                if ((err = replay_read(rp, errstr, errstr_size)))
                        break;
                ho_debug("pass %d (bucket %" PRIu32 " of %" PRIu32 "): %" PRIu64
                         " messages read, fold %zu kB, %" PRId64 " ms into the run",
                         rp->res->passes, b, rp->k, rp->pass_seen, ho_rfold_bytes(rp->fold) >> 10,
                         ho_mono_ms() - rp->t0);
                if (rp->overflow) {
                        uint64_t seen = rp->pass_seen ? rp->pass_seen : 1;
                        uint32_t f = 2;
                        while (f < HO_REPLAY_MAX_BUCKETS &&
                               (uint64_t)f * seen * 4 < rp->pass_total * 5)
                                f *= 2;
                        if ((uint64_t)rp->k * f > HO_REPLAY_MAX_BUCKETS)
                                f = HO_REPLAY_MAX_BUCKETS / rp->k;
                        if (ho_rfold_count(rp->fold) <= 1 || f < 2) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM,
                                                "--memory-max is too small for this history: "
                                                "%zu transfer(s) already need %zu bytes of the "
                                                "%zu the fold may hold",
                                                ho_rfold_count(rp->fold), ho_rfold_bytes(rp->fold),
                                                rp->budget);
                                break;
                        }
                        ho_info("the fold reached %zu kB at %" PRIu64 " of %" PRIu64
                                " messages (budget %zu kB): reading the window in %" PRIu32
                                " buckets",
                                ho_rfold_bytes(rp->fold) >> 10, rp->pass_seen, rp->pass_total,
                                rp->budget >> 10, rp->k * f);
                        rp->k *= f;
                        ho_rfold_clear(rp->fold);
                        b = UINT32_MAX; /* from bucket 0 of the new k */
                        continue;
                }
                if ((err = replay_load_and_count(rp, errstr, errstr_size)))
                        break;
                void *p = realloc(done, (n_done + 1) * sizeof(*done));
                if (!p) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                        break;
                }
                done = p;
                done[n_done][0] = rp->k;
                done[n_done][1] = b;
                n_done++;
                ho_rfold_clear(rp->fold);
        }
        free(done);
        rp->res->buckets = rp->k;
        if (err == HO_OK) {
                int64_t t = ho_mono_ms();
                err = replay_retry(rp, replay_load_counters, errstr, errstr_size);
                ho_debug("counters and offsets loaded in %" PRId64 " ms", ho_mono_ms() - t);
        }
        return err;
}

/* --until: say where the cut leaves out reports published up to T. */
static void replay_until_report(ho_replay_t *rp) {
        char t[32];
        if (rp->conf->until_ms < 0 || !rp->counted)
                return;
        ho_time_format_rfc3339(rp->conf->until_ms, t);
        for (int i = 0; i < rp->np; i++) {
                const ho_rpart_t *p = &rp->parts[i];
                if (!p->late)
                        continue;
                rp->res->late += p->late;
                ho_warn("--until %s: partition %" PRId32 " is cut at offset %" PRId64
                        " (its first message later than that), but %" PRIu64
                        " message%s after it %s reported_at <= %s (the first at offset %" PRIu64
                        "): not in this build",
                        t, p->id, p->end, p->late, p->late == 1 ? "" : "s",
                        p->late == 1 ? "has" : "have", t, p->late_first);
        }
        if (rp->res->late)
                ho_warn("--until %s: %" PRIu64 " report%s published up to %s lie after the cut: "
                        "this is the state a worker could continue from, not every report up "
                        "to %s; --as-of %s gives that",
                        t, rp->res->late, rp->res->late == 1 ? "" : "s", t, t, t);
}

/* Before the switch: the low watermarks again, in case records went while
 * the window was read (one ListOffsets for every partition: an offset of
 * RD_KAFKA_OFFSET_BEGINNING asks for the earliest). Returns how many
 * partitions lack records. */
static int replay_recheck(ho_replay_t *rp) {
        int64_t lo[HO_REPLAY_MAX_PARTITIONS];
        if (rp->conf->from == HO_REPLAY_FROM_TIME)
                return 0;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(rp->np);
        for (int i = 0; i < rp->np; i++) {
                lo[i] = rp->parts[i].lo;
                rd_kafka_topic_partition_list_add(l, rp->conf->topic, rp->parts[i].id)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        }
        if (rd_kafka_offsets_for_times(rp->rk, l, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
                for (int i = 0; i < l->cnt; i++) {
                        ho_rpart_t *p = part_get(rp, l->elems[i].partition);
                        if (p && !l->elems[i].err && l->elems[i].offset >= 0)
                                lo[p - rp->parts] = l->elems[i].offset;
                }
        else
                ho_warn("could not read the low watermarks of \"%s\" again before the switch",
                        rp->conf->topic);
        rd_kafka_topic_partition_list_destroy(l);
        return replay_truncated(rp, lo);
}

static void replay_teardown(ho_replay_t *rp) {
        free(rp->parts);
        if (rp->rk) {
                rd_kafka_consumer_close(rp->rk);
                rd_kafka_destroy(rp->rk);
        }
        if (rp->have_value)
                avro_value_decref(&rp->value);
        if (rp->iface)
                avro_value_iface_decref(rp->iface);
        free(rp->tmp_path);
        ho_report_clear(&rp->report);
        ho_arena_free(&rp->arena);
        if (rp->codec)
                ho_codec_destroy(rp->codec);
        if (rp->c)
                redisFree(rp->c);
        ho_rfold_destroy(rp->fold);
        ho_delta_free(&rp->delta);
        ho_delta_free(&rp->bdelta);
        for (size_t i = 0; i < sizeof(rp->cmd) / sizeof(rp->cmd[0]); i++)
                rcmd_free(&rp->cmd[i]);
        ho_buf_free(&rp->json);
        free(rp->zm);
        ho_buf_free(&rp->ids);
        ho_buf_free(&rp->out);
        free(rp->missing);
}

ho_err_t ho_replay_run(const ho_replay_conf_t *conf, rd_kafka_conf_t *kconf,
                       const ho_redis_url_t *url, volatile sig_atomic_t *stop, FILE *out,
                       ho_replay_result_t *res, char *errstr, size_t errstr_size) {
        ho_replay_t rp = {.conf = conf,
                          .target = conf->into ? conf->into : conf->prefix,
                          .url = url,
                          .stop = stop,
                          .res = res};
        ho_err_t err;

        memset(res, 0, sizeof(*res));
        ho_buf_init(&rp.json);
        ho_buf_init(&rp.ids);
        ho_delta_init(&rp.delta);
        ho_delta_init(&rp.bdelta);
        rp.t0 = ho_mono_ms();
        err = replay_setup(&rp, kconf, errstr, errstr_size);
        if (err == HO_OK)
                err = conf->export_path ? replay_read(&rp, errstr, errstr_size)
                                        : replay_build(&rp, errstr, errstr_size);
        replay_progress(&rp, true);
        if (err == HO_OK)
                replay_until_report(&rp);
        if (conf->export_path) {
                ho_err_t cerr = replay_export_close(&rp, err == HO_OK, errstr, errstr_size);
                if (err == HO_OK)
                        err = cerr;
        } else if (rp.fold) {
                int lost = err == HO_OK ? replay_recheck(&rp) : 0;
                if (lost && conf->accept_truncated) {
                        lost = 0;
                        replay_say_missing(&rp, HO_LOG_WARN, NULL);
                }
                if (err == HO_OK && conf->dry_run)
                        err = replay_dry_report(&rp, out, errstr, errstr_size);
                if (err == HO_OK && lost) {
                        replay_say_missing(&rp, HO_LOG_ERROR, conf->dry_run ? out : NULL);
                        if (conf->dry_run)
                                replay_say_missing(&rp, HO_LOG_ERROR, NULL);
                        err = replay_truncated_err(&rp, lost, errstr, errstr_size);
                }
                if (err == HO_OK && !conf->dry_run &&
                    (err = replay_lock_refresh(&rp, true, errstr, errstr_size)) == HO_OK) {
                        int64_t t = ho_mono_ms();
                        err = replay_promote(&rp, errstr, errstr_size);
                        ho_debug("switched in %" PRId64 " ms", ho_mono_ms() - t);
                }
                if (err != HO_OK || conf->dry_run) {
                        /* leave no half-built staging keys behind */
                        char e2[256];
                        /* never delete another replay's build */
                        if (rp.locked && replay_del_staging(&rp, e2, sizeof(e2)))
                                ho_warn("could not delete the staging keys of \"%s\": %s",
                                        rp.target, e2);
                }
                replay_unlock(&rp);
        }
        res->elapsed_ms = ho_mono_ms() - rp.t0;
        replay_teardown(&rp);
        return err;
}
