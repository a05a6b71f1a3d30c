/*
 * agg.c: the aggregation engine (see agg.h and docs/aggregate.md). This file
 * holds the Redis half: connection, the pipelined read, building the apply
 * script's arguments from the fold (lib/agg_fold.c) and reading its verdict.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "handover/agg.h"
#include "handover/agg_fold.h"
#include "handover/buf.h"
#include "handover/jreport.h"
#include "handover/log.h"

#define HO_AGG_DEF_MSGS 5000
#define HO_AGG_DEF_BYTES (8u << 20)
#define HO_AGG_DEF_MS 50
#define HO_AGG_DEF_TIMEOUT_MS 5000
#define HO_AGG_DEF_CONFLICTS 16

/* An argv built in one arena: strings are appended to data and pointed at
 * only when the command is complete, so the arena may move while it grows.
 * Reused across commands and batches: no allocation once warm. */
typedef struct ho_argv_s {
        ho_buf_t data;
        size_t *off, *len;
        const char **argv;
        size_t n, cap;
} ho_argv_t;

struct ho_agg_s {
        ho_agg_conf_t conf;
        char *prefix, *ns;
        ho_redis_url_t url;
        redisContext *rc;
        char sha[41];
        char *keys[HO_AGG_K__COUNT];
        char *channel;
        ho_argv_t cmd;
        ho_buf_t json; /* one state's JSON, reused */
        ho_delta_t delta;
        ho_agg_stats_t stats;
};

struct ho_agg_batch_s {
        ho_agg_t *agg;
        char *topic;
        int32_t partition;
        char *field; /* "topic:partition" in {P}:offsets */
        int64_t start, last;
        size_t count, bytes;
        int64_t rejected;
        struct timespec first;
        ho_fold_t fold;
};

void (*ho_agg_test_after_read)(void *arg);
void *ho_agg_test_after_read_arg;

/* ---- small helpers ---- */

static char *ho_strdup0(const char *s) {
        return strdup(s ? s : "");
}

static int64_t ho_now_ms(clockid_t clk) {
        struct timespec ts;
        clock_gettime(clk, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ho_argv_reset(ho_argv_t *a) {
        ho_buf_reset(&a->data);
        a->n = 0;
}

static void ho_argv_free(ho_argv_t *a) {
        ho_buf_free(&a->data);
        free(a->off);
        free(a->len);
        free(a->argv);
        memset(a, 0, sizeof(*a));
}

static int ho_argv_add(ho_argv_t *a, const char *s, size_t len) {
        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 256;
                size_t *off = realloc(a->off, cap * sizeof(*off));
                if (off)
                        a->off = off;
                size_t *ln = realloc(a->len, cap * sizeof(*ln));
                if (ln)
                        a->len = ln;
                const char **argv = realloc(a->argv, cap * sizeof(*argv));
                if (argv)
                        a->argv = argv;
                if (!off || !ln || !argv)
                        return -1;
                a->cap = cap;
        }
        a->off[a->n] = a->data.len;
        a->len[a->n] = len;
        /* NUL between strings: not needed by Redis, but it keeps argv[i]
         * printable in a debugger */
        if (ho_buf_append(&a->data, s, len) || ho_buf_append(&a->data, "", 1))
                return -1;
        a->n++;
        return 0;
}

static int ho_argv_adds(ho_argv_t *a, const char *s) {
        return ho_argv_add(a, s, strlen(s));
}

static int ho_argv_addll(ho_argv_t *a, int64_t v) {
        char tmp[32];
        int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
        return ho_argv_add(a, tmp, (size_t)n);
}

static const char **ho_argv_finish(ho_argv_t *a) {
        for (size_t i = 0; i < a->n; i++)
                a->argv[i] = a->data.data + a->off[i];
        return a->argv;
}

/* ---- object life ---- */

static bool ho_name_ok(const char *s) {
        return !strpbrk(s, "{}");
}

ho_agg_t *ho_agg_new(const ho_agg_conf_t *conf, const ho_redis_url_t *url, char *errstr,
                     size_t errstr_size) {
        if (!conf || !conf->prefix || !*conf->prefix || !ho_name_ok(conf->prefix)) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                          "key prefix \"%s\": expected a non-empty name without '{' or '}'",
                          conf && conf->prefix ? conf->prefix : "");
                return NULL;
        }
        if (conf->ns && !ho_name_ok(conf->ns)) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                          "key namespace \"%s\": expected a name without '{' or '}'", conf->ns);
                return NULL;
        }
        if (!url || (!url->host && !url->unix_path)) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "no Redis URL given to the engine");
                return NULL;
        }
        ho_agg_t *agg = calloc(1, sizeof(*agg));
        if (!agg)
                goto nomem;
        agg->conf = *conf;
        if (!agg->conf.max_batch_msgs)
                agg->conf.max_batch_msgs = HO_AGG_DEF_MSGS;
        if (!agg->conf.max_batch_bytes)
                agg->conf.max_batch_bytes = HO_AGG_DEF_BYTES;
        if (agg->conf.max_batch_ms <= 0)
                agg->conf.max_batch_ms = HO_AGG_DEF_MS;
        if (agg->conf.timeout_ms <= 0)
                agg->conf.timeout_ms = HO_AGG_DEF_TIMEOUT_MS;
        if (agg->conf.max_conflicts <= 0)
                agg->conf.max_conflicts = HO_AGG_DEF_CONFLICTS;
        ho_delta_init(&agg->delta);
        agg->prefix = ho_strdup0(conf->prefix);
        agg->ns = ho_strdup0(conf->ns);
        agg->conf.prefix = agg->prefix;
        agg->conf.ns = agg->ns;
        if (!agg->prefix || !agg->ns)
                goto nomem;
        agg->url.host = url->host ? strdup(url->host) : NULL;
        agg->url.unix_path = url->unix_path ? strdup(url->unix_path) : NULL;
        agg->url.user = url->user ? strdup(url->user) : NULL;
        agg->url.password = url->password ? strdup(url->password) : NULL;
        agg->url.port = url->port;
        agg->url.db = url->db;
        if ((url->host && !agg->url.host) || (url->unix_path && !agg->url.unix_path) ||
            (url->user && !agg->url.user) || (url->password && !agg->url.password))
                goto nomem;
        for (int k = 0; k < HO_AGG_K__COUNT; k++) {
                size_t n = strlen(agg->prefix) + strlen(agg->ns) + strlen(ho_agg_key_names[k]) + 4;
                if (!(agg->keys[k] = malloc(n)))
                        goto nomem;
                ho_agg_key(agg, ho_agg_key_names[k], agg->keys[k], n);
        }
        size_t n = strlen(agg->prefix) + strlen(agg->ns) + 16;
        if (!(agg->channel = malloc(n)))
                goto nomem;
        ho_agg_key(agg, "updates", agg->channel, n);
        return agg;
nomem:
        ho_agg_destroy(agg);
        ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        return NULL;
}

void ho_agg_destroy(ho_agg_t *agg) {
        if (!agg)
                return;
        if (agg->rc)
                redisFree(agg->rc);
        for (int k = 0; k < HO_AGG_K__COUNT; k++)
                free(agg->keys[k]);
        free(agg->channel);
        free(agg->prefix);
        free(agg->ns);
        ho_redis_url_clear(&agg->url);
        ho_argv_free(&agg->cmd);
        ho_buf_free(&agg->json);
        ho_delta_free(&agg->delta);
        free(agg);
}

void ho_agg_key(const ho_agg_t *agg, const char *name, char *out, size_t out_size) {
        snprintf(out, out_size, "{%s}:%s%s", agg->prefix, agg->ns, name);
}

void ho_agg_stats(const ho_agg_t *agg, ho_agg_stats_t *out) {
        *out = agg->stats;
}

/* ---- connection ---- */

/* After a connection-level error the context is useless (hiredis): free it
 * so the next call reconnects. */
static ho_err_t ho_agg_conn_lost(ho_agg_t *agg, char *errstr, size_t errstr_size,
                                 const char *what) {
        ho_err_t err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "redis %s: %s", what,
                                 agg->rc && agg->rc->errstr[0] ? agg->rc->errstr
                                                               : "connection lost");
        if (agg->rc)
                redisFree(agg->rc);
        agg->rc = NULL;
        return err;
}

/* Error replies that mean "this server cannot take writes now" (a replica
 * after a failover, a server loading its dataset): drop the connection too,
 * so the retry reconnects and may reach the new primary behind the URL. */
static void ho_agg_error_reply(ho_agg_t *agg, const redisReply *r) {
        static const char *const drop[] = {"READONLY", "LOADING", "MASTERDOWN"};
        for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
                if (!strncmp(r->str, drop[i], strlen(drop[i]))) {
                        redisFree(agg->rc);
                        agg->rc = NULL;
                        return;
                }
}

static ho_err_t ho_agg_script_load(ho_agg_t *agg, char *errstr, size_t errstr_size) {
        const char *argv[] = {"SCRIPT", "LOAD", ho_agg_lua};
        size_t lens[] = {6, 4, strlen(ho_agg_lua)};
        redisReply *r = redisCommandArgv(agg->rc, 3, argv, lens);
        if (!r)
                return ho_agg_conn_lost(agg, errstr, errstr_size, "SCRIPT LOAD");
        ho_err_t err = HO_OK;
        if (r->type != REDIS_REPLY_STRING || r->len != 40)
                err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                "redis SCRIPT LOAD of the apply script: %s",
                                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        else
                memcpy(agg->sha, r->str, 41);
        freeReplyObject(r);
        return err;
}

static ho_err_t ho_agg_connect(ho_agg_t *agg, char *errstr, size_t errstr_size) {
        if (agg->rc)
                return HO_OK;
        agg->rc = ho_redis_connect(&agg->url, agg->conf.timeout_ms, errstr, errstr_size);
        if (!agg->rc)
                return HO_ERR_REDIS;
        /* keep hiredis's read buffer between replies: by default it frees any
         * buffer over 16 kB once empty, and every batch's read (states of a
         * few thousand transfers, ~1 MB) grew a fresh one page by page */
        agg->rc->reader->maxbuf = 0;
        ho_err_t err = ho_agg_script_load(agg, errstr, errstr_size);
        if (err && agg->rc) {
                /* connected but unusable (e.g. LOADING): start over next time */
                redisFree(agg->rc);
                agg->rc = NULL;
        }
        return err;
}

static ho_err_t ho_parse_offset(const redisReply *r, int64_t *out, const char *what, char *errstr,
                                size_t errstr_size) {
        if (r->type == REDIS_REPLY_NIL) {
                *out = HO_OFFSET_NONE;
                return HO_OK;
        }
        if (r->type == REDIS_REPLY_STRING) {
                char *end;
                errno = 0;
                long long v = strtoll(r->str, &end, 10);
                if (!errno && end != r->str && !*end && v >= 0) {
                        *out = v;
                        return HO_OK;
                }
        }
        return ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                         "stored offset of \"%s\": expected a non-negative integer, got %s", what,
                         r->type == REDIS_REPLY_ERROR    ? r->str
                         : r->type == REDIS_REPLY_STRING ? r->str
                                                         : "a non-string reply");
}

ho_err_t ho_agg_offset_get(ho_agg_t *agg, const char *topic, int32_t partition, int64_t *next,
                           char *errstr, size_t errstr_size) {
        ho_err_t err = ho_agg_connect(agg, errstr, errstr_size);
        if (err)
                return err;
        char field[512];
        snprintf(field, sizeof(field), "%s:%" PRId32, topic, partition);
        const char *argv[] = {"HGET", agg->keys[HO_AGG_K_OFFSETS], field};
        redisReply *r = redisCommandArgv(agg->rc, 3, argv, NULL);
        if (!r)
                return ho_agg_conn_lost(agg, errstr, errstr_size, "HGET offsets");
        err = ho_parse_offset(r, next, field, errstr, errstr_size);
        freeReplyObject(r);
        return err;
}

/* ---- batches ---- */

ho_agg_batch_t *ho_agg_batch_new(ho_agg_t *agg, const char *topic, int32_t partition,
                                 int64_t start_offset) {
        ho_agg_batch_t *b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->agg = agg;
        b->partition = partition;
        b->topic = strdup(topic);
        size_t n = strlen(topic) + 16;
        b->field = malloc(n);
        if (!b->topic || !b->field) {
                free(b->topic);
                free(b->field);
                free(b);
                return NULL;
        }
        snprintf(b->field, n, "%s:%" PRId32, topic, partition);
        ho_fold_init(&b->fold);
        ho_agg_batch_reset(b, start_offset);
        return b;
}

void ho_agg_batch_destroy(ho_agg_batch_t *b) {
        if (!b)
                return;
        ho_fold_free(&b->fold);
        free(b->topic);
        free(b->field);
        free(b);
}

void ho_agg_batch_reset(ho_agg_batch_t *b, int64_t start_offset) {
        ho_fold_clear(&b->fold);
        b->start = start_offset < 0 ? HO_OFFSET_NONE : start_offset;
        b->last = HO_OFFSET_NONE;
        b->count = b->bytes = 0;
        b->rejected = 0;
}

static void ho_agg_batch_note(ho_agg_batch_t *b, int64_t offset, size_t bytes) {
        if (!b->count)
                clock_gettime(CLOCK_MONOTONIC, &b->first);
        b->count++;
        b->bytes += bytes;
        if (offset > b->last)
                b->last = offset;
}

ho_err_t ho_agg_batch_add(ho_agg_batch_t *b, const ho_report_t *r, int64_t offset,
                          size_t value_bytes) {
        bool dup;
        ho_err_t err = ho_fold_add(&b->fold, r, &dup);
        if (err)
                return err;
        ho_agg_batch_note(b, offset, value_bytes);
        return HO_OK;
}

ho_err_t ho_agg_batch_add_move(ho_agg_batch_t *b, ho_report_t *r, int64_t offset,
                               size_t value_bytes) {
        bool dup;
        ho_err_t err = ho_fold_add_move(&b->fold, r, &dup);
        if (err)
                return err;
        ho_agg_batch_note(b, offset, value_bytes);
        return HO_OK;
}

void ho_agg_batch_reject(ho_agg_batch_t *b, int64_t offset) {
        b->rejected++;
        ho_agg_batch_note(b, offset, 0);
}

size_t ho_agg_batch_count(const ho_agg_batch_t *b) {
        return b->count;
}

int64_t ho_agg_batch_start_offset(const ho_agg_batch_t *b) {
        return b->start;
}

int64_t ho_agg_batch_next_offset(const ho_agg_batch_t *b) {
        return b->count ? b->last + 1 : b->start;
}

int ho_agg_batch_remaining_ms(const ho_agg_batch_t *b) {
        if (!b->count)
                return -1;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t el = (int64_t)(now.tv_sec - b->first.tv_sec) * 1000 +
                     (now.tv_nsec - b->first.tv_nsec) / 1000000;
        int64_t left = b->agg->conf.max_batch_ms - el;
        return left > 0 ? (int)left : 0;
}

bool ho_agg_batch_full(const ho_agg_batch_t *b) {
        const ho_agg_conf_t *c = &b->agg->conf;
        if (!b->count)
                return false;
        return b->count >= c->max_batch_msgs || b->bytes >= c->max_batch_bytes ||
               ho_agg_batch_remaining_ms(b) == 0;
}

/* ---- commit ---- */

/* Step 1: one pipelined round trip. Fills the fold's stored states, revs and
 * seen flags, and *stored with the partition's stored offset. */
static ho_err_t ho_agg_read(ho_agg_t *agg, ho_agg_batch_t *b, int64_t *stored, char *errstr,
                           size_t errstr_size) {
        ho_fold_t *f = &b->fold;
        ho_argv_t *a = &agg->cmd;
        int ncmd = 1;
        ho_err_t err = HO_OK;

        /* out of memory after a command was appended would leave replies
         * unread on the connection: drop it then (nomem below) */
        ho_argv_reset(a);
        if (ho_argv_adds(a, "HGET") || ho_argv_adds(a, agg->keys[HO_AGG_K_OFFSETS]) ||
            ho_argv_adds(a, b->field))
                goto nomem;
        if (redisAppendCommandArgv(agg->rc, (int)a->n, ho_argv_finish(a), a->len) != REDIS_OK)
                goto nomem;
        if (f->n_xfers) {
                static const int hk[2] = {HO_AGG_K_TRANSFERS, HO_AGG_K_REVS};
                for (int k = 0; k < 2; k++) {
                        ho_argv_reset(a);
                        if (ho_argv_adds(a, "HMGET") || ho_argv_adds(a, agg->keys[hk[k]]))
                                goto nomem;
                        for (size_t i = 0; i < f->n_xfers; i++)
                                if (ho_argv_adds(a, f->xfers[i].latest.transfer_id))
                                        goto nomem;
                        if (redisAppendCommandArgv(agg->rc, (int)a->n, ho_argv_finish(a),
                                                   a->len) != REDIS_OK)
                                goto nomem;
                }
                ho_argv_reset(a);
                if (ho_argv_adds(a, "SMISMEMBER") ||
                    ho_argv_adds(a, agg->keys[HO_AGG_K_REPORT_IDS]))
                        goto nomem;
                for (size_t i = 0; i < f->n_ids; i++)
                        if (ho_argv_add(a, ho_fold_member(f, i), f->ids[i].len))
                                goto nomem;
                if (redisAppendCommandArgv(agg->rc, (int)a->n, ho_argv_finish(a), a->len) !=
                    REDIS_OK)
                        goto nomem;
                ncmd = 4;
        }

        redisReply *rep[4] = {NULL, NULL, NULL, NULL};
        for (int i = 0; i < ncmd; i++) {
                void *r = NULL;
                if (redisGetReply(agg->rc, &r) != REDIS_OK) {
                        for (int j = 0; j < i; j++)
                                freeReplyObject(rep[j]);
                        return ho_agg_conn_lost(agg, errstr, errstr_size, "read of the batch state");
                }
                rep[i] = r;
        }
        for (int i = 0; i < ncmd && !err; i++)
                if (rep[i]->type == REDIS_REPLY_ERROR)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                        "redis read of the batch state: %s", rep[i]->str);
        for (int i = 0; i < ncmd && err == HO_ERR_REDIS && agg->rc; i++)
                if (rep[i]->type == REDIS_REPLY_ERROR)
                        ho_agg_error_reply(agg, rep[i]);
        if (!err)
                err = ho_parse_offset(rep[0], stored, b->field, errstr, errstr_size);
        if (!err && ncmd == 4 &&
            (rep[1]->type != REDIS_REPLY_ARRAY || rep[1]->elements != f->n_xfers ||
             rep[2]->type != REDIS_REPLY_ARRAY || rep[2]->elements != f->n_xfers ||
             rep[3]->type != REDIS_REPLY_ARRAY || rep[3]->elements != f->n_ids))
                err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                "redis read of the batch state: unexpected reply shape");
        /* Only parse states when the fence passes: a stale or replayed batch
         * stops here without paying for it. */
        if (!err && ncmd == 4 && *stored == b->start) {
                ho_fold_forget_stored(f);
                for (size_t i = 0; i < f->n_ids; i++) {
                        const redisReply *e = rep[3]->element[i];
                        f->ids[i].seen = e->type == REDIS_REPLY_INTEGER && e->integer == 1;
                        f->xfers[f->ids[i].xfer].n_new += !f->ids[i].seen;
                }
                for (size_t i = 0; i < f->n_xfers && !err; i++) {
                        ho_fold_xfer_t *x = &f->xfers[i];
                        const redisReply *s = rep[1]->element[i], *v = rep[2]->element[i];
                        if (v->type == REDIS_REPLY_STRING) {
                                char *end;
                                errno = 0;
                                long long rev = strtoll(v->str, &end, 10);
                                if (errno || end == v->str || *end || rev < 0)
                                        err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                                        "revision of transfer \"%s\" in \"%s\": "
                                                        "expected an integer, got \"%s\"",
                                                        x->latest.transfer_id,
                                                        agg->keys[HO_AGG_K_REVS], v->str);
                                x->stored_rev = rev;
                        }
                        /* a transfer with only duplicates changes nothing: its
                         * state is not even parsed (the cheap path of re-reads) */
                        if (err || s->type != REDIS_REPLY_STRING || !x->n_new)
                                continue;
                        int64_t reports;
                        if (!ho_agg_state_parse(s->str, s->len, &x->stored, &reports)) {
                                x->has_stored = true;
                                continue;
                        }
                        /* not the form we write: the slow path validates and explains */
                        json_error_t jerr;
                        json_t *o = json_loadb(s->str, s->len, 0, &jerr);
                        char why[256] = "not a JSON object";
                        ho_err_t e = HO_ERR_JSON;
                        if (o && json_is_object(o)) {
                                json_object_del(o, "reports");
                                e = ho_report_from_jansson(o, &x->stored, why, sizeof(why));
                        } else if (!o) {
                                snprintf(why, sizeof(why), "%s", jerr.text);
                        }
                        json_decref(o);
                        if (e == HO_ERR_NOMEM)
                                err = HO_ERR_NOMEM;
                        else if (e)
                                err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                                "stored state of transfer \"%s\" in \"%s\" does "
                                                "not parse: %s",
                                                x->latest.transfer_id,
                                                agg->keys[HO_AGG_K_TRANSFERS], why);
                        else
                                x->has_stored = true;
                }
        }
        for (int i = 0; i < ncmd; i++)
                freeReplyObject(rep[i]);
        if (err == HO_ERR_NOMEM)
                ho_seterr(errstr, errstr_size, err, "out of memory");
        return err;
nomem:
        redisFree(agg->rc);
        agg->rc = NULL;
        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
}

/* Whether x's score in largest_transfers must be written: a new transfer, or
 * a new current state with another inmate_count (a ZADD of an unchanged score
 * costs Redis a skiplist search for nothing). */
static bool ho_agg_score_moves(const ho_fold_xfer_t *x) {
        return x->changed && (!x->has_stored || x->stored.inmate_count != x->latest.inmate_count);
}

/* Step 2 and the script's ARGV (layout in lib/agg_lua.c). */
static ho_err_t ho_agg_build(ho_agg_t *agg, ho_agg_batch_t *b, int64_t next, int64_t now,
                             size_t *n_touched, size_t *n_new) {
        ho_fold_t *f = &b->fold;
        ho_argv_t *a = &agg->cmd;
        ho_delta_t *d = &agg->delta;
        ho_err_t err;

        ho_delta_clear(d);
        if ((err = ho_fold_compute(f, d)))
                return err;
        d->totals[HO_AGG_T_REJECTED] += b->rejected;

        size_t nx = 0, nz = 0, nm = 0;
        for (size_t i = 0; i < f->n_xfers; i++) {
                nx += f->xfers[i].n_new > 0;
                nz += ho_agg_score_moves(&f->xfers[i]);
        }
        for (size_t i = 0; i < f->n_ids; i++)
                nm += !f->ids[i].seen;
        *n_touched = nx;
        *n_new = nm;

        json_t *msg = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I}", "topic", b->topic, "partition",
                                (int)b->partition, "offset", (json_int_t)next, "reports",
                                (json_int_t)nm, "transfers", (json_int_t)nx, "updated_at",
                                (json_int_t)now);
        char *msgtext = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
        json_decref(msg);
        if (!msgtext)
                return HO_ERR_NOMEM;

        ho_argv_reset(a);
        int bad = ho_argv_adds(a, "EVALSHA") || ho_argv_adds(a, agg->sha) ||
                  ho_argv_addll(a, HO_AGG_K__COUNT);
        for (int k = 0; k < HO_AGG_K__COUNT; k++)
                bad |= ho_argv_adds(a, agg->keys[k]);
        bad |= ho_argv_adds(a, b->field) || ho_argv_addll(a, b->start) ||
               ho_argv_addll(a, next) || ho_argv_addll(a, now) || ho_argv_adds(a, agg->channel) ||
               ho_argv_adds(a, msgtext);
        free(msgtext);
        for (int t = 0; t < HO_AGG_T__COUNT; t++)
                bad |= ho_argv_addll(a, d->totals[t]);

        /* touched transfers: their ids, expected revisions, states, new
         * revisions, each a contiguous section (see lib/agg_lua.c) */
        bad |= ho_argv_addll(a, (int64_t)nx);
        for (size_t i = 0; i < f->n_xfers && !bad; i++)
                if (f->xfers[i].n_new)
                        bad |= ho_argv_adds(a, f->xfers[i].latest.transfer_id);
        for (size_t i = 0; i < f->n_xfers && !bad; i++)
                if (f->xfers[i].n_new)
                        bad |= ho_argv_addll(a, f->xfers[i].stored_rev);
        for (size_t i = 0; i < f->n_xfers && !bad; i++) {
                ho_fold_xfer_t *x = &f->xfers[i];
                if (!x->n_new)
                        continue;
                ho_buf_reset(&agg->json);
                if (ho_agg_state_json(ho_fold_current(x), x->new_rev, &agg->json))
                        return HO_ERR_NOMEM;
                bad |= ho_argv_adds(a, x->latest.transfer_id) ||
                       ho_argv_add(a, agg->json.data, agg->json.len);
        }
        for (size_t i = 0; i < f->n_xfers && !bad; i++)
                if (f->xfers[i].n_new)
                        bad |= ho_argv_adds(a, f->xfers[i].latest.transfer_id) ||
                               ho_argv_addll(a, f->xfers[i].new_rev);
        bad |= ho_argv_addll(a, (int64_t)nz);
        for (size_t i = 0; i < f->n_xfers && !bad; i++)
                if (ho_agg_score_moves(&f->xfers[i]))
                        bad |= ho_argv_addll(a, f->xfers[i].latest.inmate_count) ||
                               ho_argv_adds(a, f->xfers[i].latest.transfer_id);
        bad |= ho_argv_addll(a, (int64_t)nm);
        for (size_t i = 0; i < f->n_ids && !bad; i++)
                if (!f->ids[i].seen)
                        bad |= ho_argv_add(a, ho_fold_member(f, i), f->ids[i].len);

        /* Deltas that sum to 0 are left out: the field keeps its value (and a
         * field absent at 0 stays absent). Counted first: the script reads
         * the count before the entries. */
        size_t nd = 0, nt = 0;
        for (size_t i = 0; i < d->fields.cap; i++)
                nd += ho_strmap_slot_key(&d->fields, i) && d->fields.vals[i];
        for (size_t i = 0; i < d->dates.cap; i++)
                nt += ho_strmap_slot_key(&d->dates, i) && d->dates.vals[i];
        bad |= ho_argv_addll(a, (int64_t)nd);
        for (size_t i = 0; i < d->fields.cap && !bad; i++) {
                const char *k = ho_strmap_slot_key(&d->fields, i);
                if (!k || !d->fields.vals[i])
                        continue;
                bad |= ho_argv_addll(a, (k[0] - 'A') + 1) || ho_argv_adds(a, k + 1) ||
                       ho_argv_addll(a, d->fields.vals[i]);
        }
        bad |= ho_argv_addll(a, (int64_t)nt);
        for (size_t i = 0; i < d->dates.cap && !bad; i++) {
                const char *k = ho_strmap_slot_key(&d->dates, i);
                int32_t days;
                if (!k || !d->dates.vals[i])
                        continue;
                if (ho_date_parse(k, &days))
                        return HO_ERR_INVALID; /* we formatted it: cannot happen */
                bad |= ho_argv_adds(a, k) || ho_argv_addll(a, days) ||
                       ho_argv_addll(a, d->dates.vals[i]);
        }
        return bad ? HO_ERR_NOMEM : HO_OK;
}

static void ho_agg_batch_done(ho_agg_batch_t *b, int64_t next) {
        ho_agg_batch_reset(b, next);
}

ho_err_t ho_agg_batch_commit(ho_agg_batch_t *b, int64_t next_offset, char *errstr,
                             size_t errstr_size) {
        return ho_agg_batch_commit_via(b->agg, b, next_offset, errstr, errstr_size);
}

ho_err_t ho_agg_batch_commit_via(ho_agg_t *agg, ho_agg_batch_t *b, int64_t next_offset,
                                 char *errstr, size_t errstr_size) {
        ho_err_t err;
        if (agg != b->agg && (strcmp(agg->prefix, b->agg->prefix) || strcmp(agg->ns, b->agg->ns)))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "commit of \"%s\" through an engine of another prefix", b->field);

        if (next_offset < 0 || (b->start != HO_OFFSET_NONE && next_offset < b->start) ||
            (b->count && next_offset <= b->last))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "commit of \"%s\": next offset %" PRId64
                                 " does not follow the batch (start %" PRId64 ", last %" PRId64
                                 ")",
                                 b->field, next_offset, b->start, b->last);
        if (!b->count && next_offset == b->start)
                return HO_OK;

        for (int attempt = 0;; attempt++) {
                int64_t stored;
                if ((err = ho_agg_connect(agg, errstr, errstr_size)))
                        return err;
                if ((err = ho_agg_read(agg, b, &stored, errstr, errstr_size)))
                        return err;
                if (stored == next_offset) {
                        agg->stats.already++;
                        ho_agg_batch_done(b, next_offset);
                        return HO_OK;
                }
                if (stored != b->start) {
                        agg->stats.fenced++;
                        err = ho_seterr(errstr, errstr_size, HO_ERR_FENCED,
                                        "batch of \"%s\" from offset %" PRId64
                                        " is stale: the stored offset is %" PRId64,
                                        b->field, b->start, stored);
                        ho_agg_batch_reset(b, b->start);
                        return err;
                }
                if (ho_agg_test_after_read)
                        ho_agg_test_after_read(ho_agg_test_after_read_arg);
                size_t n_touched, n_new;
                if ((err = ho_agg_build(agg, b, next_offset, ho_now_ms(CLOCK_REALTIME), &n_touched,
                                        &n_new)))
                        return err == HO_ERR_NOMEM
                                       ? ho_seterr(errstr, errstr_size, err, "out of memory")
                                       : err;

                ho_argv_t *a = &agg->cmd;
                redisReply *r = NULL;
                for (int load = 0; load < 2; load++) {
                        r = redisCommandArgv(agg->rc, (int)a->n, ho_argv_finish(a), a->len);
                        if (!r)
                                return ho_agg_conn_lost(agg, errstr, errstr_size,
                                                        "EVALSHA of the apply script");
                        if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8))
                                break;
                        /* script cache flushed or a failover: load it again */
                        freeReplyObject(r);
                        r = NULL;
                        if ((err = ho_agg_script_load(agg, errstr, errstr_size)))
                                return err;
                        memcpy((char *)a->data.data + a->off[1], agg->sha, 40);
                }
                if (!r)
                        return ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                         "redis: the apply script is not loadable");
                if (r->type == REDIS_REPLY_ERROR) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                        "redis apply script for \"%s\": %s", b->field, r->str);
                        ho_agg_error_reply(agg, r);
                        freeReplyObject(r);
                        return err;
                }
                const char *verdict = "", *arg = "";
                if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                    r->element[0]->type == REDIS_REPLY_STRING &&
                    r->element[1]->type == REDIS_REPLY_STRING) {
                        verdict = r->element[0]->str;
                        arg = r->element[1]->str;
                }
                if (!strcmp(verdict, "ok") || !strcmp(verdict, "applied")) {
                        if (!strcmp(verdict, "ok")) {
                                agg->stats.batches++;
                                agg->stats.reports += n_new;
                                agg->stats.rejected += (uint64_t)b->rejected;
                                agg->stats.duplicates +=
                                        b->fold.dup_in_batch + (b->fold.n_ids - n_new);
                        } else {
                                agg->stats.already++;
                        }
                        freeReplyObject(r);
                        ho_agg_batch_done(b, next_offset);
                        return HO_OK;
                }
                if (!strcmp(verdict, "fenced")) {
                        agg->stats.fenced++;
                        err = ho_seterr(errstr, errstr_size, HO_ERR_FENCED,
                                        "batch of \"%s\" from offset %" PRId64
                                        " is stale: the stored offset is %s",
                                        b->field, b->start, arg);
                        freeReplyObject(r);
                        ho_agg_batch_reset(b, b->start);
                        return err;
                }
                if (!strcmp(verdict, "conflict")) {
                        agg->stats.conflicts++;
                        ho_debug("transfer \"%s\" moved under the batch of \"%s\": refolding",
                                 arg, b->field);
                        if (attempt + 1 >= agg->conf.max_conflicts) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_CONFLICT,
                                                "batch of \"%s\": transfer \"%s\" kept moving "
                                                "(%d attempts)",
                                                b->field, arg, attempt + 1);
                                freeReplyObject(r);
                                return err;
                        }
                        freeReplyObject(r);
                        continue;
                }
                freeReplyObject(r);
                return ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                 "redis apply script for \"%s\": unexpected reply", b->field);
        }
}
