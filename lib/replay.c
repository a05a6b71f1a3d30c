/* replay.c: rebuild a prefix from the topic's history, or export it (see replay.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <avro.h>
#include "handover/agg.h"
#include "handover/agg_fold.h"
#include "handover/codec.h"
#include "handover/conf.h"
#include "handover/kfetch.h"
#include "handover/log.h"
#include "handover/replay.h"
#include "handover/report.h"
#include "handover/stats.h"

/* ------------------------------------------------------------------ parsing */

static int ho_parse_ll(const char *s, size_t n, long long min, long long max, long long *v) {
        char buf[32], *end;
        if (n == 0 || n >= sizeof(buf))
                return -1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        long long x = strtoll(buf, &end, 10);
        if (errno || *end || x < min || x > max)
                return -1;
        *v = x;
        return 0;
}

static ho_err_t ho_parse_time_or_date(const char *s, bool end_of_day, int64_t *ms) {
        int32_t days;
        if (ho_date_parse(s, &days) == HO_OK) {
                *ms = (int64_t)days * 86400000 + (end_of_day ? 86400000 - 1 : 0);
                return HO_OK;
        }
        return ho_time_parse_rfc3339(s, ms);
}

ho_err_t ho_replay_parse_from(const char *s, ho_replay_conf_t *conf,
                              ho_replay_from_offset_t **offsets, char *errstr,
                              size_t errstr_size) {
        *offsets = NULL;
        if (!strcmp(s, "earliest") || !strcmp(s, "beginning")) {
                conf->from = HO_REPLAY_FROM_EARLIEST;
                return HO_OK;
        }
        if (ho_parse_time_or_date(s, false, &conf->from_ms) == HO_OK) {
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
                if (!colon || ho_parse_ll(p, (size_t)(colon - p), 0, INT32_MAX, &part) ||
                    ho_parse_ll(colon + 1, len - (size_t)(colon + 1 - p), 0, INT64_MAX, &off)) {
                        free(o);
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
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
        if (ho_parse_time_or_date(s, true, ms) != HO_OK)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "--until \"%s\": expected an RFC 3339 time "
                                 "(2025-12-31T23:59:59Z) or YYYY-MM-DD",
                                 s);
        return HO_OK;
}

void ho_replay_kconf_defaults(rd_kafka_conf_t *kconf) {
        char e[256];
        /* bound the prefetch queue: memory stays flat whatever the history length;
         * with the fetcher wake-up (kfetch.h) 1 MB is as fast as 4 MB, at 7 MB less */
        rd_kafka_conf_set(kconf, "queued.max.messages.kbytes", "1024", e, sizeof(e));
        rd_kafka_conf_set(kconf, "fetch.max.bytes", "8388608", e, sizeof(e));
}

/* ------------------------------------------------------------------ the run */

typedef struct ho_rpart_s {
        int32_t id;
        int64_t lo, hi;
        int64_t start, end; /* the window [start, end); end shrinks on --until */
        int64_t pos;        /* next offset to fold */
        bool done;
        ho_agg_batch_t *b;
} ho_rpart_t;

typedef struct ho_replay_s {
        const ho_replay_conf_t *conf;
        const char *target; /* the prefix built and promoted */
        rd_kafka_t *rk;
        ho_kafka_auth_t auth; /* a refused login or TLS failure, for the message */
        ho_rpart_t *parts;
        int np;
        ho_codec_t *codec;
        ho_report_t report;
        ho_agg_t *agg;
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
} ho_replay_t;

static int64_t ho_mono_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t ho_wall_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ho_sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

/* The queue ran dry after a burst: wake the fetcher (kfetch.h). */
static void ho_replay_wake_fetcher(ho_replay_t *rp) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(rp->np);
        for (int i = 0; i < rp->np; i++)
                if (!rp->parts[i].done)
                        rd_kafka_topic_partition_list_add(l, rp->conf->topic, rp->parts[i].id)
                                ->offset = rp->parts[i].pos;
        ho_kfetch_wake(rp->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
}

static ho_rpart_t *ho_part(ho_replay_t *rp, int32_t id) {
        for (int i = 0; i < rp->np; i++)
                if (rp->parts[i].id == id)
                        return &rp->parts[i];
        return NULL;
}

static ho_err_t ho_replay_lock_refresh(ho_replay_t *rp, bool force, char *errstr,
                                       size_t errstr_size);

/* Partitions, watermarks and the window's start offsets. */
static ho_err_t ho_replay_window(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        const ho_replay_conf_t *conf = rp->conf;
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rp->rk, conf->topic, NULL);
        rd_kafka_resp_err_t kerr;

        if (!rkt)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "topic \"%s\": %s",
                                 conf->topic, rd_kafka_err2str(rd_kafka_last_error()));
        /* 10 s in 1 s slices: a refused login or certificate (the error callback
         * fills rp->auth) ends the wait at once */
        int64_t until = ho_mono_ms() + 10000;
        do {
                kerr = rd_kafka_metadata(rp->rk, 0, rkt, &md, 1000);
                if (kerr != RD_KAFKA_RESP_ERR__TIMED_OUT && kerr != RD_KAFKA_RESP_ERR__TRANSPORT)
                        break;
                rd_kafka_poll(rp->rk, 100);
        } while (!rp->auth.failed && ho_mono_ms() < until);
        rd_kafka_topic_destroy(rkt);
        if (kerr && rp->auth.failed)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "%s", rp->auth.reason);
        if (kerr)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "metadata of topic \"%s\": %s (is -b right?)", conf->topic,
                                 rd_kafka_err2str(kerr));
        if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
                kerr = md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
                rd_kafka_metadata_destroy(md);
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "topic \"%s\": %s",
                                 conf->topic,
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
                p->start = p->lo;
                p->end = p->hi;
        }
        for (size_t j = 0; conf->from == HO_REPLAY_FROM_OFFSETS && j < conf->n_from_offsets; j++) {
                ho_rpart_t *p = ho_part(rp, conf->from_offsets[j].partition);
                if (!p)
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "--from: topic \"%s\" has no partition %" PRId32,
                                         conf->topic, conf->from_offsets[j].partition);
                int64_t off = conf->from_offsets[j].offset;
                if (off < p->lo)
                        ho_warn("--from %" PRId32 ":%" PRId64 ": offsets below %" PRId64
                                " are gone; starting there",
                                p->id, off, p->lo);
                p->start = off < p->lo ? p->lo : off > p->hi ? p->hi : off;
        }
        if (conf->from == HO_REPLAY_FROM_TIME) {
                rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(rp->np);
                for (int i = 0; i < rp->np; i++)
                        rd_kafka_topic_partition_list_add(l, conf->topic, rp->parts[i].id)->offset =
                                conf->from_ms;
                kerr = rd_kafka_offsets_for_times(rp->rk, l, 10000);
                for (int i = 0; !kerr && i < l->cnt; i++) {
                        ho_rpart_t *p = ho_part(rp, l->elems[i].partition);
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
                p->pos = p->start;
                if (p->end > p->start)
                        rp->res->total += (uint64_t)(p->end - p->start);
        }
        rp->res->partitions = rp->np;
        return HO_OK;
}

/* Commit a partition's batch up to next, retrying what is retriable. */
static ho_err_t ho_replay_commit(ho_replay_t *rp, ho_rpart_t *p, int64_t next, char *errstr,
                                 size_t errstr_size) {
        int backoff = 100;
        int64_t deadline = ho_mono_ms() + 60000;
        for (;;) {
                ho_err_t err = ho_agg_batch_commit(p->b, next, errstr, errstr_size);
                if (err == HO_OK)
                        return HO_OK;
                if (err == HO_ERR_FENCED)
                        return ho_seterr(errstr, errstr_size, HO_ERR_FENCED,
                                         "staging keys of prefix \"%s\" changed under this replay "
                                         "(%s/%" PRId32 "): is another replay of \"%s\" running?",
                                         rp->target, rp->conf->topic, p->id, rp->target);
                if (err != HO_ERR_REDIS && err != HO_ERR_CONFLICT)
                        return err;
                if (*rp->stop || ho_mono_ms() > deadline)
                        return err;
                ho_warn("%s; retrying in %d ms", errstr, backoff);
                ho_sleep_ms(backoff);
                backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
        }
}

/* The partition's window is complete at offset next: apply what is folded. */
static ho_err_t ho_replay_finish_part(ho_replay_t *rp, ho_rpart_t *p, int64_t next, char *errstr,
                                      size_t errstr_size) {
        if (p->done)
                return HO_OK;
        p->done = true;
        p->end = next;
        if (rp->conf->export_path)
                return HO_OK;
        /* an empty window still stores its offset, as a worker would have */
        return ho_replay_commit(rp, p, next, errstr, errstr_size);
}

static void ho_replay_progress(ho_replay_t *rp, bool final) {
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

static ho_err_t ho_replay_export_one(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        if (ho_codec_report_to_value(rp->codec, &rp->report, &rp->value, errstr, errstr_size))
                return HO_ERR_IO;
        if (avro_file_writer_append_value(rp->writer, &rp->value))
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "writing \"%s\": %s",
                                 rp->tmp_path, avro_strerror());
        return HO_OK;
}

/* One message of the window. */
static ho_err_t ho_replay_message(ho_replay_t *rp, rd_kafka_message_t *m, char *errstr,
                                  size_t errstr_size) {
        ho_rpart_t *p = ho_part(rp, m->partition);
        if (!p || p->done || m->offset < p->pos)
                return HO_OK;
        if (m->offset >= p->end)
                return ho_replay_finish_part(rp, p, p->end, errstr, errstr_size);
        if (rp->conf->until_ms >= 0) {
                rd_kafka_timestamp_type_t tt;
                int64_t ts = rd_kafka_message_timestamp(m, &tt);
                if (tt != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts > rp->conf->until_ms) {
                        /* the window ends before this message, and stays consistent
                         * with its offsets: everything before it, nothing after */
                        rp->res->total -= (uint64_t)(p->end - m->offset);
                        return ho_replay_finish_part(rp, p, m->offset, errstr, errstr_size);
                }
        }
        rp->res->messages++;
        char derr[512];
        ho_err_t err = ho_codec_decode(rp->codec, m->payload, m->len, &rp->report, derr,
                                       sizeof(derr));
        if (err != HO_OK) {
                rp->res->rejected++;
                ho_debug("%s/%" PRId32 "/%" PRId64 ": %s: %s", rp->conf->topic, m->partition,
                         m->offset, ho_err_name(err), derr);
                if (!rp->conf->export_path)
                        ho_agg_batch_reject(p->b, m->offset);
        } else {
                rp->res->reports++;
                err = rp->conf->export_path
                              ? ho_replay_export_one(rp, errstr, errstr_size)
                              : ho_agg_batch_add(p->b, &rp->report, m->offset, m->len);
                if (err == HO_ERR_INVALID) {
                        /* decoded but unusable: count it like a bad value */
                        rp->res->reports--;
                        rp->res->rejected++;
                        ho_agg_batch_reject(p->b, m->offset);
                        err = HO_OK;
                }
                if (err != HO_OK)
                        return err;
        }
        p->pos = m->offset + 1;
        if (p->pos >= p->end)
                return ho_replay_finish_part(rp, p, p->end, errstr, errstr_size);
        if (!rp->conf->export_path && ho_agg_batch_full(p->b))
                return ho_replay_commit(rp, p, p->pos, errstr, errstr_size);
        return HO_OK;
}

/* A window with unfinished partitions and nothing arriving for this long
 * means the broker is gone: fail rather than wait forever. */
#define HO_REPLAY_STALL_MS 60000

static int ho_replay_left(const ho_replay_t *rp) {
        int n = 0;
        for (int i = 0; i < rp->np; i++)
                n += !rp->parts[i].done;
        return n;
}

static ho_err_t ho_replay_consume(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(rp->np);
        ho_err_t err = HO_OK;

        for (int i = 0; i < rp->np && err == HO_OK; i++) {
                ho_rpart_t *p = &rp->parts[i];
                if (p->start >= p->end)
                        err = ho_replay_finish_part(rp, p, p->start, errstr, errstr_size);
                else
                        rd_kafka_topic_partition_list_add(l, rp->conf->topic, p->id)->offset =
                                p->start;
        }
        if (err == HO_OK && l->cnt) {
                rd_kafka_resp_err_t kerr = rd_kafka_assign(rp->rk, l);
                if (kerr)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "assign \"%s\": %s",
                                        rp->conf->topic, rd_kafka_err2str(kerr));
        }
        rd_kafka_topic_partition_list_destroy(l);

        rp->last_activity = ho_mono_ms();
        uint64_t seen = 0, seen_dry = 0; /* messages polled; and when the queue last ran dry */
        while (err == HO_OK && ho_replay_left(rp) > 0) {
                if (*rp->stop)
                        return ho_seterr(errstr, errstr_size, HO_ERR_TIMEOUT,
                                         "interrupted: nothing promoted");
                int timeout = 100;
                for (int i = 0; !rp->conf->export_path && i < rp->np; i++) {
                        int ms = rp->parts[i].done ? -1 : ho_agg_batch_remaining_ms(rp->parts[i].b);
                        if (ms >= 0 && ms < timeout)
                                timeout = ms;
                }
                if (ho_kfetch_in_burst(seen_dry, seen))
                        timeout = 0; /* notice at once when a burst runs dry */
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rp->rk, timeout);
                if (!m && ho_kfetch_ran_dry(&seen_dry, seen))
                        ho_replay_wake_fetcher(rp);
                if (m) {
                        seen++;
                        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                /* at the (current) high watermark: all of [pos, end) was seen */
                                ho_rpart_t *p = ho_part(rp, m->partition);
                                if (p && !p->done && m->offset >= p->end)
                                        err = ho_replay_finish_part(rp, p, p->end, errstr,
                                                                    errstr_size);
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
                                err = ho_replay_message(rp, m, errstr, errstr_size);
                        }
                        rd_kafka_message_destroy(m);
                }
                /* batches whose time cap passed */
                for (int i = 0; err == HO_OK && !rp->conf->export_path && i < rp->np; i++) {
                        ho_rpart_t *p = &rp->parts[i];
                        if (!p->done && ho_agg_batch_count(p->b) && ho_agg_batch_full(p->b))
                                err = ho_replay_commit(rp, p, p->pos, errstr, errstr_size);
                }
                ho_replay_progress(rp, false);
                if (err == HO_OK && !rp->conf->export_path)
                        err = ho_replay_lock_refresh(rp, false, errstr, errstr_size);
                if (m)
                        rp->last_activity = ho_mono_ms();
                else if (err == HO_OK && ho_mono_ms() - rp->last_activity > HO_REPLAY_STALL_MS)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                        "no message from \"%s\" for %d s with %d partition(s) "
                                        "unfinished (is the broker reachable? see -X debug=...)",
                                        rp->conf->topic, HO_REPLAY_STALL_MS / 1000,
                                        ho_replay_left(rp));
        }
        return err;
}

/* ------------------------------------------------------------ staging keys */

static ho_err_t ho_replay_redis(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        if (rp->c)
                return HO_OK;
        rp->c = ho_redis_connect(rp->url, 10000, errstr, errstr_size);
        return rp->c ? HO_OK : HO_ERR_REDIS;
}

static ho_err_t ho_replay_del_staging(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        const char *argv[64];
        char keys[64][512];
        int n = 0;
        ho_err_t err = ho_replay_redis(rp, errstr, errstr_size);
        if (err)
                return err;
        argv[n++] = "DEL";
        for (int k = 0; ho_agg_key_names[k] && n < 64; k++, n++) {
                ho_stats_key(rp->target, HO_REPLAY_NS, ho_agg_key_names[k], keys[n],
                             sizeof(keys[n]));
                argv[n] = keys[n];
        }
        redisReply *r = ho_redis_cmd(rp->c, errstr, errstr_size, n, argv, NULL);
        if (!r)
                return HO_ERR_REDIS;
        freeReplyObject(r);
        return HO_OK;
}

/*
 * One replay per target prefix at a time: "{T}:staging:lock" holds a token
 * (host, pid, time) with a 30 s expiry that the run refreshes every 5 s. A
 * second replay fails at its start instead of mixing its build with ours,
 * and the switch happens only while we still hold the lock.
 */
#define HO_REPLAY_LOCK_MS 30000
#define HO_REPLAY_LOCK_REFRESH_MS 5000
static const char ho_lock_refresh_lua[] =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
        "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
        "end\n"
        "return 0\n";
static const char ho_lock_release_lua[] =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
        "return 0\n";

static ho_err_t ho_replay_lock(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        char host[64] = "?", px[16];
        ho_err_t err = ho_replay_redis(rp, errstr, errstr_size);
        if (err)
                return err;
        gethostname(host, sizeof(host) - 1);
        ho_stats_key(rp->target, HO_REPLAY_NS, "lock", rp->lock_key, sizeof(rp->lock_key));
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
                err = ho_seterr(errstr, errstr_size, HO_ERR_FENCED,
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
static ho_err_t ho_replay_lock_refresh(ho_replay_t *rp, bool force, char *errstr,
                                       size_t errstr_size) {
        char px[16];
        int64_t now = ho_mono_ms();
        if (!rp->locked || (!force && now - rp->lock_refreshed < HO_REPLAY_LOCK_REFRESH_MS))
                return HO_OK;
        snprintf(px, sizeof(px), "%d", HO_REPLAY_LOCK_MS);
        const char *argv[] = {"EVAL", ho_lock_refresh_lua, "1", rp->lock_key, rp->lock_token, px};
        redisReply *r = ho_redis_cmd(rp->c, errstr, errstr_size, 6, argv, NULL);
        if (!r) {
                /* Redis is away: the engine's commits retry; try again next round */
                redisFree(rp->c);
                rp->c = NULL;
                ho_replay_redis(rp, errstr, errstr_size);
                return now - rp->lock_refreshed > HO_REPLAY_LOCK_MS
                               ? ho_seterr(errstr, errstr_size, HO_ERR_FENCED,
                                           "lost the replay lock \"%s\" (Redis unreachable)",
                                           rp->lock_key)
                               : HO_OK;
        }
        bool ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        freeReplyObject(r);
        if (!ok)
                return ho_seterr(errstr, errstr_size, HO_ERR_FENCED,
                                 "lost the replay lock \"%s\": another replay may be building "
                                 "prefix \"%s\"",
                                 rp->lock_key, rp->target);
        rp->lock_refreshed = now;
        return HO_OK;
}

static void ho_replay_unlock(ho_replay_t *rp) {
        char e[256];
        if (!rp->locked || ho_replay_redis(rp, e, sizeof(e)))
                return;
        const char *argv[] = {"EVAL", ho_lock_release_lua, "1", rp->lock_key, rp->lock_token};
        redisReply *r = ho_redis_cmd(rp->c, e, sizeof(e), 5, argv, NULL);
        if (r)
                freeReplyObject(r);
        rp->locked = false;
}

/* RENAME staging -> live (or DEL live when the build has no such key) for
 * every key, and PUBLISH, in one script: atomic for every reader and writer.
 * Only while we hold the lock, and only a finished build (it always has
 * offsets): never DEL the live keys for want of a build. */
static const char ho_promote_lua[] =
        "local lock = table.remove(KEYS)\n"
        "if redis.call('GET', lock) ~= ARGV[3] then\n"
        "  return redis.error_reply('replay lock ' .. lock .. ' is not ours')\n"
        "end\n"
        "if redis.call('EXISTS', ARGV[4]) == 0 then\n"
        "  return redis.error_reply('no build to switch in: ' .. ARGV[4] .. ' is missing')\n"
        "end\n"
        /* every partition either side knows: INCR its fence, so a worker's
         * commit in flight (WATCH, lib/agg.c) aborts and reads again */
        "local fenced = {}\n"
        "for _, off in ipairs({ARGV[4], ARGV[6]}) do\n"
        "  for _, f in ipairs(redis.call('HKEYS', off)) do\n"
        "    local p = string.match(f, ':(%d+)$')\n"
        "    if p and not fenced[p] then\n"
        "      fenced[p] = true\n"
        "      redis.call('INCR', ARGV[5] .. p)\n"
        "    end\n"
        "  end\n"
        "end\n"
        "for i = 7, #ARGV do redis.call('DEL', ARGV[i]) end\n"
        "for i = 1, #KEYS, 2 do\n"
        "  if redis.call('EXISTS', KEYS[i]) == 1 then\n"
        "    redis.call('RENAME', KEYS[i], KEYS[i + 1])\n"
        "  else\n"
        "    redis.call('DEL', KEYS[i + 1])\n"
        "  end\n"
        "end\n"
        "redis.call('PUBLISH', ARGV[1], ARGV[2])\n"
        "return #KEYS / 2\n";

static ho_err_t ho_replay_promote(ho_replay_t *rp, char *errstr, size_t errstr_size) {
        const char *argv[2 * 64 + 20];
        char keys[2 * 64][512], nkeys[16], chan[512], msg[512], offsets[512];
        int n = 0, nk = 0;
        ho_err_t err = ho_replay_redis(rp, errstr, errstr_size);
        if (err)
                return err;
        argv[n++] = "EVAL";
        argv[n++] = ho_promote_lua;
        argv[n++] = nkeys;
        for (int k = 0; ho_agg_key_names[k] && nk < 2 * 64; k++) {
                ho_stats_key(rp->target, HO_REPLAY_NS, ho_agg_key_names[k], keys[nk],
                             sizeof(keys[nk]));
                argv[n++] = keys[nk++];
                ho_stats_key(rp->target, "", ho_agg_key_names[k], keys[nk], sizeof(keys[nk]));
                argv[n++] = keys[nk++];
        }
        argv[n++] = rp->lock_key;
        snprintf(nkeys, sizeof(nkeys), "%d", nk + 1);
        ho_stats_key(rp->target, "", "updates", chan, sizeof(chan));
        ho_stats_key(rp->target, HO_REPLAY_NS, "offsets", offsets, sizeof(offsets));
        snprintf(msg, sizeof(msg),
                 "{\"replay\":\"promoted\",\"topic\":\"%s\",\"messages\":%" PRIu64
                 ",\"updated_at\":%" PRId64 "}",
                 rp->conf->topic, rp->res->messages, ho_wall_ms());
        argv[n++] = chan;
        argv[n++] = msg;
        argv[n++] = rp->lock_token;
        argv[n++] = offsets;
        char fence[512], live_offsets[512], legacy[4][512];
        ho_stats_key(rp->target, "", "fence:", fence, sizeof(fence));
        ho_stats_key(rp->target, "", "offsets", live_offsets, sizeof(live_offsets));
        argv[n++] = fence;
        argv[n++] = live_offsets;
        for (int k = 0; ho_agg_legacy_key_names[k] && k < 4; k++) {
                ho_stats_key(rp->target, "", ho_agg_legacy_key_names[k], legacy[k],
                             sizeof(legacy[k]));
                argv[n++] = legacy[k];
        }
        redisReply *r = ho_redis_cmd(rp->c, errstr, errstr_size, n, argv, NULL);
        if (!r)
                return HO_ERR_REDIS;
        freeReplyObject(r);
        return HO_OK;
}

/* ---------------------------------------------------------------- dry run */

static void ho_diff_hash(FILE *out, const char *name, const json_t *live, const json_t *built,
                         int *ndiff) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)built, k, v) {
                json_t *lv = json_object_get(live, k);
                json_int_t a = json_integer_value(lv), b = json_integer_value(v);
                if (a != b) {
                        fprintf(out, "  %s \"%s\": live %" JSON_INTEGER_FORMAT
                                     ", replayed %" JSON_INTEGER_FORMAT " (%+" JSON_INTEGER_FORMAT
                                     ")\n",
                                name, k, a, b, b - a);
                        (*ndiff)++;
                }
        }
        json_object_foreach((json_t *)live, k, v) {
                if (!json_object_get(built, k)) {
                        fprintf(out, "  %s \"%s\": live %" JSON_INTEGER_FORMAT
                                     ", replayed 0 (%+" JSON_INTEGER_FORMAT ")\n",
                                name, k, json_integer_value(v), -json_integer_value(v));
                        (*ndiff)++;
                }
        }
}

static ho_err_t ho_replay_dry_report(ho_replay_t *rp, FILE *out, char *errstr,
                                     size_t errstr_size) {
        json_t *live = NULL, *built = NULL;
        ho_err_t err = ho_replay_redis(rp, errstr, errstr_size);
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
        static const char *const nums[] = {"transfers", "inmates", "reports", "aircraft",
                                           "persons",   "rejected", NULL};
        const json_t *lt = json_object_get(live, "totals"), *bt = json_object_get(built, "totals");
        int ndiff = 0;
        fprintf(out, "dry run: prefix \"%s\", %" PRIu64 " messages replayed (nothing switched)\n",
                rp->target, rp->res->messages);
        fprintf(out, "  %-18s %12s %12s %12s\n", "", "live", "replayed", "difference");
        for (int i = 0; nums[i]; i++) {
                json_int_t a = json_integer_value(json_object_get(lt, nums[i]));
                json_int_t b = json_integer_value(json_object_get(bt, nums[i]));
                fprintf(out, "  %-18s %12" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT " %+12"
                             JSON_INTEGER_FORMAT "\n",
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
        static const char *const hashes[] = {"inmates_by_month", "inmates_by_route",
                                             "transfers_by_destination", "inmates_by_destination",
                                             "persons_by_affiliation", NULL};
        for (int i = 0; hashes[i]; i++)
                ho_diff_hash(out, hashes[i], json_object_get(live, hashes[i]),
                             json_object_get(built, hashes[i]), &ndiff);
        fprintf(out, ndiff ? "%d difference%s\n" : "no differences\n", ndiff,
                ndiff == 1 ? "" : "s");
        json_decref(live);
        json_decref(built);
        return HO_OK;
}

/* ------------------------------------------------------------------ export */

static ho_err_t ho_replay_export_open(ho_replay_t *rp, char *errstr, size_t errstr_size) {
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

static ho_err_t ho_replay_export_close(ho_replay_t *rp, bool ok, char *errstr,
                                       size_t errstr_size) {
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

static ho_err_t ho_replay_setup(ho_replay_t *rp, rd_kafka_conf_t *kconf, char *errstr,
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
        ho_conf_kafka_auth_watch(kconf, &rp->auth);
        rp->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kconf, e, sizeof(e));
        if (!rp->rk) {
                rd_kafka_conf_destroy(kconf);
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "kafka: %s", e);
        }
        if (!(rp->codec = ho_codec_new(errstr, errstr_size)))
                return HO_ERR_SCHEMA;
        ho_report_init(&rp->report);
        ho_err_t err = ho_replay_window(rp, errstr, errstr_size);
        if (err)
                return err;
        if (conf->export_path)
                return ho_replay_export_open(rp, errstr, errstr_size);

        ho_agg_conf_t ac = {.prefix = rp->target, .ns = HO_REPLAY_NS, .exclusive = true,
                            .max_batch_msgs = conf->max_batch_msgs};
        if (!(rp->agg = ho_agg_new(&ac, rp->url, errstr, errstr_size)))
                return HO_ERR_USAGE;
        for (int i = 0; i < rp->np; i++)
                if (!(rp->parts[i].b = ho_agg_batch_new(rp->agg, conf->topic, rp->parts[i].id,
                                                        HO_OFFSET_NONE)))
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        if ((err = ho_replay_lock(rp, errstr, errstr_size)))
                return err;
        /* a fresh build: nothing left over from an earlier, interrupted replay */
        return ho_replay_del_staging(rp, errstr, errstr_size);
}

static void ho_replay_teardown(ho_replay_t *rp) {
        for (int i = 0; rp->parts && i < rp->np; i++)
                ho_agg_batch_destroy(rp->parts[i].b);
        free(rp->parts);
        if (rp->agg)
                ho_agg_destroy(rp->agg);
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
        if (rp->codec)
                ho_codec_destroy(rp->codec);
        if (rp->c)
                redisFree(rp->c);
}

ho_err_t ho_replay_run(const ho_replay_conf_t *conf, rd_kafka_conf_t *kconf,
                       const ho_redis_url_t *url, volatile sig_atomic_t *stop, FILE *out,
                       ho_replay_result_t *res, char *errstr, size_t errstr_size) {
        ho_replay_t rp = {.conf = conf, .target = conf->into ? conf->into : conf->prefix,
                          .url = url, .stop = stop, .res = res};
        ho_err_t err;

        memset(res, 0, sizeof(*res));
        rp.t0 = ho_mono_ms();
        err = ho_replay_setup(&rp, kconf, errstr, errstr_size);
        if (err == HO_OK)
                err = ho_replay_consume(&rp, errstr, errstr_size);
        ho_replay_progress(&rp, true);
        if (conf->export_path) {
                ho_err_t cerr = ho_replay_export_close(&rp, err == HO_OK, errstr, errstr_size);
                if (err == HO_OK)
                        err = cerr;
        } else if (rp.agg) {
                if (err == HO_OK && conf->dry_run)
                        err = ho_replay_dry_report(&rp, out, errstr, errstr_size);
                if (err == HO_OK && !conf->dry_run &&
                    (err = ho_replay_lock_refresh(&rp, true, errstr, errstr_size)) == HO_OK)
                        err = ho_replay_promote(&rp, errstr, errstr_size);
                if (err != HO_OK || conf->dry_run) {
                        /* leave no half-built staging keys behind */
                        char e2[256];
                        /* never delete another replay's build */
                        if (rp.locked && ho_replay_del_staging(&rp, e2, sizeof(e2)))
                                ho_warn("could not delete the staging keys of \"%s\": %s",
                                        rp.target, e2);
                }
                ho_replay_unlock(&rp);
        }
        res->elapsed_ms = ho_mono_ms() - rp.t0;
        ho_replay_teardown(&rp);
        return err;
}
