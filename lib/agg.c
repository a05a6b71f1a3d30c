/*
 * agg.c: the aggregation engine (see agg.h and docs/aggregate.md). This file
 * holds the Redis half: connection, the watched read, and the batch's one
 * MULTI/EXEC built from the fold (lib/agg_fold.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "handover/clock.h"
#include "handover/agg.h"
#include "handover/agg_fold.h"
#include "handover/buf.h"
#include "handover/jreport.h"
#include "handover/log.h"
#include "handover/resp.h"

#define HO_AGG_DEF_MSGS 5000
#define HO_AGG_DEF_BYTES (8u << 20)
#define HO_AGG_DEF_MS 50
#define HO_AGG_DEF_TIMEOUT_MS 5000
#define HO_AGG_DEF_CONFLICTS 16
/* re-reads when the stored partition count moved since the homes were
 * computed (it only grows, so this is a bound, not a tuning knob) */
#define HO_AGG_MAX_LAYOUT_RETRIES 8
/* The batch age cap is read for every message and every poll: the coarse
 * clock (a few ms of resolution, far finer than the 50 ms cap) costs a
 * fraction of the precise one, which would be ~5 % of a worker's CPU. */
#define HO_AGG_BATCH_CLOCK CLOCK_MONOTONIC_COARSE

/* The stored digests of a batch's transfers as an open-addressing set of
 * (transfer index, digest): a duplicate check is one probe, whatever the
 * number of reports a transfer has had. Kept across batches. */
typedef struct ho_digset_s {
        uint64_t *dig;
        uint32_t *xfer; /* transfer index + 1; 0: empty */
        size_t cap, n;
} ho_digset_t;

struct ho_agg_s {
        ho_agg_conf_t conf;
        char *prefix, *ns;
        ho_redis_url_t url;
        redisContext *rc;
        bool legacy_checked;
        char *keys[HO_KEY__COUNT];
        char *layout_key; /* "{P}:" NS "layout": partitions used for homes */
        char *fence_fmt;  /* "{P}:" NS "fence:" (then the partition) */
        char *channel;
        char total_names[128]; /* ho_key_total_names, space-separated: the script's ARGV[11] */
        int32_t layout;        /* the stored partition count last read (0: none) */
        ho_buf_t out;          /* the request being built, kept across batches */
        ho_buf_t json;         /* one state's JSON, reused */
        ho_buf_t ids;          /* the batch's stored digests, per transfer */
        uint64_t *dig;         /* per fold id: its digest */
        size_t cap_dig;
        int32_t *homes; /* per fold transfer: its home partition */
        size_t cap_homes;
        uint8_t *watched; /* per partition: its fence is in this attempt's WATCH */
        int32_t *fences;  /* the partitions whose fences this attempt watches */
        size_t cap_fences, n_fences;
        size_t *gstart; /* per fold transfer: where its new digests start in grp */
        size_t cap_gstart;
        uint64_t *grp; /* the batch's new digests, grouped by transfer */
        size_t cap_grp;
        ho_zmember_t *zm; /* the batch's moved scores, in the set's order */
        size_t cap_zm;
        ho_digset_t seen;
        ho_delta_t delta;
        ho_agg_stats_t stats;
        int64_t wait_warned_ms; /* the last "fewer replicas" warning (monotonic) */
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
        ho_arena_t arena; /* the batch's decoded reports (ho_agg_batch_arena) */
};

/* What a batch's arena keeps across resets: two chunks. A full batch takes
 * a few dozen; the rest go back to malloc, where every partition's batches
 * share them, so the worker's memory does not grow with its partitions. */
#define HO_AGG_ARENA_KEEP (128u << 10)

void (*ho_agg_test_after_read)(void *arg);
void *ho_agg_test_after_read_arg;

/* ---- small helpers ---- */

static char *strdup0(const char *s) {
        return strdup(s ? s : "");
}

static ho_err_t grow_array(void **p, size_t *cap, size_t need, size_t elem) {
        if (need <= *cap)
                return HO_OK;
        size_t c = *cap ? *cap : 64;
        while (c < need)
                c *= 2;
        void *q = realloc(*p, c * elem);
        if (!q)
                return HO_ERR_NOMEM;
        *p = q;
        *cap = c;
        return HO_OK;
}

static size_t digset_slot(const ho_digset_t *s, uint32_t xfer, uint64_t d) {
        uint64_t h = (d ^ ((uint64_t)xfer * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
        return (size_t)(h >> 17) & (s->cap - 1);
}

/* Empty the set and size it for n entries (load <= 1/2). */
static ho_err_t digset_reset(ho_digset_t *s, size_t n) {
        size_t cap = 64;
        while (cap < 2 * n)
                cap *= 2;
        if (cap > s->cap || cap * 8 < s->cap) {
                uint64_t *dig = realloc(s->dig, cap * sizeof(*dig));
                if (dig)
                        s->dig = dig;
                uint32_t *x = realloc(s->xfer, cap * sizeof(*x));
                if (x)
                        s->xfer = x;
                if (!dig || !x)
                        return HO_ERR_NOMEM;
                s->cap = cap;
        }
        memset(s->xfer, 0, s->cap * sizeof(*s->xfer));
        s->n = 0;
        return HO_OK;
}

static void digset_add(ho_digset_t *s, uint32_t xfer, uint64_t d) {
        size_t i = digset_slot(s, xfer, d);
        while (s->xfer[i]) {
                if (s->xfer[i] == xfer + 1 && s->dig[i] == d)
                        return;
                i = (i + 1) & (s->cap - 1);
        }
        s->xfer[i] = xfer + 1;
        s->dig[i] = d;
        s->n++;
}

static bool digset_has(const ho_digset_t *s, uint32_t xfer, uint64_t d) {
        size_t i = digset_slot(s, xfer, d);
        while (s->xfer[i]) {
                if (s->xfer[i] == xfer + 1 && s->dig[i] == d)
                        return true;
                i = (i + 1) & (s->cap - 1);
        }
        return false;
}

/* ---- object life ---- */

static char *agg_key_new(const ho_agg_t *agg, const char *name) {
        return ho_key_new(agg->prefix, agg->ns, name);
}

ho_agg_t *ho_agg_new(const ho_agg_conf_t *conf, const ho_redis_url_t *url, char *errstr,
                     size_t errstr_size) {
        if (!conf || !conf->prefix || !*conf->prefix || !ho_key_name_ok(conf->prefix)) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                          "key prefix \"%s\": expected a non-empty name without '{' or '}'",
                          conf && conf->prefix ? conf->prefix : "");
                return NULL;
        }
        if (conf->ns && !ho_key_name_ok(conf->ns)) {
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
        agg->prefix = strdup0(conf->prefix);
        agg->ns = strdup0(conf->ns);
        agg->conf.prefix = agg->prefix;
        agg->conf.ns = agg->ns;
        if (!agg->prefix || !agg->ns)
                goto nomem;
        if (ho_redis_url_copy(&agg->url, url))
                goto nomem;
        for (int k = 0; k < HO_KEY__COUNT; k++)
                if (!(agg->keys[k] = agg_key_new(agg, ho_key_names[k])))
                        goto nomem;
        for (int t = 0; t < HO_TOTAL__COUNT; t++) {
                strcat(agg->total_names, ho_key_total_names[t]);
                strcat(agg->total_names, " ");
        }
        if (!(agg->channel = agg_key_new(agg, HO_KEY_CHANNEL)) ||
            !(agg->layout_key = agg_key_new(agg, HO_KEY_LAYOUT)) ||
            !(agg->fence_fmt = agg_key_new(agg, HO_KEY_FENCE)))
                goto nomem;
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
        for (int k = 0; k < HO_KEY__COUNT; k++)
                free(agg->keys[k]);
        free(agg->channel);
        free(agg->layout_key);
        free(agg->fence_fmt);
        free(agg->prefix);
        free(agg->ns);
        ho_redis_url_clear(&agg->url);
        ho_buf_free(&agg->out);
        ho_buf_free(&agg->json);
        ho_buf_free(&agg->ids);
        free(agg->dig);
        free(agg->homes);
        free(agg->watched);
        free(agg->fences);
        free(agg->gstart);
        free(agg->grp);
        free(agg->zm);
        free(agg->seen.dig);
        free(agg->seen.xfer);
        ho_delta_free(&agg->delta);
        free(agg);
}

void ho_agg_stats(const ho_agg_t *agg, ho_agg_stats_t *out) {
        *out = agg->stats;
}

/* ---- connection ---- */

/* After a connection-level error the context is useless (hiredis): free it
 * so the next call reconnects. */
static ho_err_t agg_conn_lost(ho_agg_t *agg, char *errstr, size_t errstr_size, const char *what) {
        ho_err_t err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "redis %s: %s", what,
                                 agg->rc && agg->rc->errstr[0] ? agg->rc->errstr
                                                               : "connection lost");
        if (agg->rc)
                redisFree(agg->rc);
        agg->rc = NULL;
        return err;
}

/* Error replies that mean "this server cannot take writes now" (a replica
 * after a failover, a server loading its dataset) or "not here" (a cluster's
 * MOVED, ASK, TRYAGAIN, CLUSTERDOWN): drop the connection too, so the retry
 * reconnects to whatever serves the prefix's slot now (ho_redis_connect_key). */
static bool agg_must_drop(const redisReply *r) {
        return ho_redis_error_reconnects(r->str);
}

static void agg_error_reply(ho_agg_t *agg, const redisReply *r) {
        if (agg->rc && agg_must_drop(r)) {
                redisFree(agg->rc);
                agg->rc = NULL;
        }
}

/* A prefix written by an engine before {P}:transfer_ids keeps its report
 * ids where this one does not look: applying on top would count every
 * earlier report again. Checked once per engine. */
static ho_err_t agg_check_legacy(ho_agg_t *agg, char *errstr, size_t errstr_size) {
        for (int k = 0; ho_key_legacy_names[k]; k++) {
                char key[512];
                ho_key_format(key, sizeof(key), agg->prefix, agg->ns, ho_key_legacy_names[k]);
                const char *argv[] = {"EXISTS", key};
                redisReply *r = redisCommandArgv(agg->rc, 2, argv, NULL);
                if (!r)
                        return agg_conn_lost(agg, errstr, errstr_size, "EXISTS");
                bool found = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
                ho_err_t err = HO_OK;
                if (r->type == REDIS_REPLY_ERROR) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "redis EXISTS %s: %s",
                                        key, r->str);
                        agg_error_reply(agg, r);
                }
                freeReplyObject(r);
                if (err)
                        return err;
                if (found)
                        return ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                         "prefix \"%s\" holds \"%s\", the report ids of an "
                                         "earlier handover: rebuild it once with handover-replay "
                                         "(docs/aggregate.md, \"Moving existing data\")",
                                         agg->prefix, key);
        }
        agg->legacy_checked = true;
        return HO_OK;
}

static ho_err_t agg_connect(ho_agg_t *agg, char *errstr, size_t errstr_size) {
        if (agg->rc)
                return HO_OK;
        /* every key of the prefix is in the slot of {P}: a cluster routes by it */
        agg->rc = ho_redis_connect_key(&agg->url, agg->layout_key, agg->conf.timeout_ms, errstr,
                                       errstr_size);
        if (!agg->rc)
                return HO_ERR_REDIS;
        /* keep hiredis's read buffer between replies: by default it frees any
         * buffer over 16 kB once empty, and every batch's read (states of a
         * few thousand transfers, ~1 MB) grew a fresh one page by page */
        agg->rc->reader->maxbuf = 0;
        if (!agg->legacy_checked)
                return agg_check_legacy(agg, errstr, errstr_size);
        return HO_OK;
}

static ho_err_t parse_offset(const redisReply *r, int64_t *out, const char *what, char *errstr,
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
        ho_err_t err = agg_connect(agg, errstr, errstr_size);
        if (err)
                return err;
        char field[512];
        snprintf(field, sizeof(field), "%s:%" PRId32, topic, partition);
        const char *argv[] = {"HGET", agg->keys[HO_KEY_OFFSETS], field};
        redisReply *r = redisCommandArgv(agg->rc, 3, argv, NULL);
        if (!r)
                return agg_conn_lost(agg, errstr, errstr_size, "HGET offsets");
        err = parse_offset(r, next, field, errstr, errstr_size);
        if (r->type == REDIS_REPLY_ERROR)
                agg_error_reply(agg, r); /* e.g. MOVED: reconnect on the retry */
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
        ho_arena_init(&b->arena, HO_AGG_ARENA_KEEP);
        ho_agg_batch_reset(b, start_offset);
        return b;
}

void ho_agg_batch_destroy(ho_agg_batch_t *b) {
        if (!b)
                return;
        ho_fold_free(&b->fold);
        ho_arena_free(&b->arena);
        free(b->topic);
        free(b->field);
        free(b);
}

void ho_agg_batch_reset(ho_agg_batch_t *b, int64_t start_offset) {
        ho_fold_clear(&b->fold);
        ho_arena_reset(&b->arena); /* after the fold: nothing points into it now */
        b->start = start_offset < 0 ? HO_OFFSET_NONE : start_offset;
        b->last = HO_OFFSET_NONE;
        b->count = b->bytes = 0;
        b->rejected = 0;
}

static void agg_batch_note(ho_agg_batch_t *b, int64_t offset, size_t bytes) {
        if (!b->count)
                clock_gettime(HO_AGG_BATCH_CLOCK, &b->first);
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
        agg_batch_note(b, offset, value_bytes);
        return HO_OK;
}

ho_err_t ho_agg_batch_add_move(ho_agg_batch_t *b, ho_report_t *r, int64_t offset,
                               size_t value_bytes) {
        bool dup;
        ho_err_t err = ho_fold_add_move(&b->fold, r, &dup);
        if (err)
                return err;
        agg_batch_note(b, offset, value_bytes);
        return HO_OK;
}

void ho_agg_batch_reject(ho_agg_batch_t *b, int64_t offset) {
        b->rejected++;
        agg_batch_note(b, offset, 0);
}

ho_arena_t *ho_agg_batch_arena(ho_agg_batch_t *b) {
        return &b->arena;
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
        clock_gettime(HO_AGG_BATCH_CLOCK, &now);
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

static void agg_fence_key(const ho_agg_t *agg, int32_t partition, char *out, size_t n) {
        snprintf(out, n, "%s%" PRId32, agg->fence_fmt, partition);
}

/* The attempt's fences: the batch's own partition (its offset) and the home
 * of every transfer it touches, computed with `parts` partitions. */
static ho_err_t agg_plan(ho_agg_t *agg, ho_agg_batch_t *b, int32_t parts) {
        ho_fold_t *f = &b->fold;
        if (grow_array((void **)&agg->homes, &agg->cap_homes, f->n_xfers + 1,
                       sizeof(*agg->homes)) ||
            grow_array((void **)&agg->fences, &agg->cap_fences, (size_t)parts + 1,
                       sizeof(*agg->fences)))
                return HO_ERR_NOMEM;
        uint8_t *w = calloc((size_t)parts + 1, 1);
        if (!w)
                return HO_ERR_NOMEM;
        free(agg->watched);
        agg->watched = w;
        agg->n_fences = 0;
        if (agg->conf.exclusive)
                return HO_OK;
        agg->fences[agg->n_fences++] = b->partition;
        w[b->partition] = 1;
        for (size_t i = 0; i < f->n_xfers; i++) {
                const char *tid = f->xfers[i].latest.transfer_id;
                int32_t h = ho_agg_home(tid, strlen(tid), parts);
                agg->homes[i] = h;
                if (!w[h]) {
                        w[h] = 1;
                        agg->fences[agg->n_fences++] = h;
                }
        }
        return HO_OK;
}

/* Step 1: one pipelined round trip. WATCH the layout and the fences first, so
 * that whatever is read after it is what EXEC will find, or EXEC refuses.
 * Fills *stored (the partition's stored offset), *layout (the stored
 * partition count, 0 when none), the fold's stored states, revisions, seen
 * flags and agg->ids. States and digests are only parsed when the fence
 * passes. */
static ho_err_t agg_read(ho_agg_t *agg, ho_agg_batch_t *b, int32_t parts, int64_t *stored,
                         int32_t *layout, char *errstr, size_t errstr_size) {
        ho_fold_t *f = &b->fold;
        ho_buf_t *o = &agg->out;
        char key[512];
        ho_err_t err = HO_OK;
        bool bad = false;

        /* reply indexes: what is not sent (exclusive) has index -1 */
        bool fenced = !agg->conf.exclusive;
        int ncmd = 0, i_layout = -1, i_offset, i_types, n_types, i_states = -1;
        ho_buf_reset(o);
        if (fenced) {
                bad |= ho_resp_cmd(o, 1) || ho_resp_str(o, "UNWATCH");
                bad |= ho_resp_cmd(o, 2 + agg->n_fences) || ho_resp_str(o, "WATCH") ||
                       ho_resp_str(o, agg->layout_key);
                for (size_t i = 0; i < agg->n_fences; i++) {
                        agg_fence_key(agg, agg->fences[i], key, sizeof(key));
                        bad |= ho_resp_str(o, key);
                }
                bad |= ho_resp_cmd(o, 2) || ho_resp_str(o, "GET") ||
                       ho_resp_str(o, agg->layout_key);
                i_layout = 2;
                ncmd = 3;
        }
        bad |= ho_resp_cmd(o, 3) || ho_resp_str(o, "HGET") ||
               ho_resp_str(o, agg->keys[HO_KEY_OFFSETS]) || ho_resp_str(o, b->field);
        i_offset = ncmd++;
        i_types = ncmd;
        for (int k = 0; k < HO_KEY__COUNT; k++)
                bad |= ho_resp_cmd(o, 2) || ho_resp_str(o, "TYPE") || ho_resp_str(o, agg->keys[k]);
        n_types = HO_KEY__COUNT;
        if (fenced) {
                bad |= ho_resp_cmd(o, 2) || ho_resp_str(o, "TYPE") ||
                       ho_resp_str(o, agg->layout_key);
                for (size_t i = 0; i < agg->n_fences; i++) {
                        agg_fence_key(agg, agg->fences[i], key, sizeof(key));
                        bad |= ho_resp_cmd(o, 2) || ho_resp_str(o, "TYPE") || ho_resp_str(o, key);
                }
                n_types += 1 + (int)agg->n_fences;
        }
        ncmd += n_types;
        if (f->n_xfers) {
                static const int hk[2] = {HO_KEY_TRANSFERS, HO_KEY_TRANSFER_IDS};
                for (int k = 0; k < 2; k++) {
                        bad |= ho_resp_cmd(o, 2 + f->n_xfers) || ho_resp_str(o, "HMGET") ||
                               ho_resp_str(o, agg->keys[hk[k]]);
                        for (size_t i = 0; i < f->n_xfers && !bad; i++)
                                bad |= ho_resp_str(o, f->xfers[i].latest.transfer_id);
                }
                i_states = ncmd;
                ncmd += 2;
        }
        if (bad)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        if ((err = ho_resp_send(agg->rc, o, errstr, errstr_size)))
                return agg_conn_lost(agg, errstr, errstr_size, "write of the batch read");

        redisReply **rep = calloc((size_t)ncmd, sizeof(*rep));
        if (!rep) {
                /* the replies stay unread on the connection: drop it */
                redisFree(agg->rc);
                agg->rc = NULL;
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < ncmd; i++) {
                void *r = NULL;
                if (redisGetReply(agg->rc, &r) != REDIS_OK) {
                        for (int j = 0; j < i; j++)
                                freeReplyObject(rep[j]);
                        free(rep);
                        return agg_conn_lost(agg, errstr, errstr_size, "read of the batch state");
                }
                rep[i] = r;
        }
        for (int i = 0; i < ncmd && !err; i++)
                if (rep[i]->type == REDIS_REPLY_ERROR) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                        "redis read of the batch state: %s", rep[i]->str);
                        agg_error_reply(agg, rep[i]);
                }
        /* layout */
        const redisReply *lr = err || i_layout < 0 ? NULL : rep[i_layout];
        *layout = 0;
        if (lr && lr->type == REDIS_REPLY_STRING) {
                char *end;
                errno = 0;
                long v = strtol(lr->str, &end, 10);
                if (errno || end == lr->str || *end || v < 1 || v > 1000000)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                        "\"%s\" holds \"%s\": expected a partition count",
                                        agg->layout_key, lr->str);
                else
                        *layout = (int32_t)v;
        }
        if (!err)
                err = parse_offset(rep[i_offset], stored, b->field, errstr, errstr_size);
        /* types: a wrong one is data someone else wrote, not retriable */
        for (int i = 0; i < n_types && !err; i++) {
                const redisReply *t = rep[i_types + i];
                /* a key someone overwrote with another type stops the batch
                 * before anything of it is written */
                const char *want = i < HO_KEY__COUNT ? ho_key_type((ho_key_t)i) : "string";
                if (t->type != REDIS_REPLY_STATUS ||
                    (strcmp(t->str, "none") && strcmp(t->str, want))) {
                        if (i < HO_KEY__COUNT)
                                snprintf(key, sizeof(key), "%s", agg->keys[i]);
                        else if (i == HO_KEY__COUNT)
                                snprintf(key, sizeof(key), "%s", agg->layout_key);
                        else
                                agg_fence_key(agg, agg->fences[i - HO_KEY__COUNT - 1], key,
                                              sizeof(key));
                        err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                        "key \"%s\" is a %s: expected a %s (or no key); "
                                        "nothing of the batch of \"%s\" was written",
                                        key, t->type == REDIS_REPLY_STATUS ? t->str : "?", want,
                                        b->field);
                }
        }
        const redisReply *sr = i_states >= 0 ? rep[i_states] : NULL;
        const redisReply *ir = i_states >= 0 ? rep[i_states + 1] : NULL;
        if (!err && f->n_xfers &&
            (sr->type != REDIS_REPLY_ARRAY || sr->elements != f->n_xfers ||
             ir->type != REDIS_REPLY_ARRAY || ir->elements != f->n_xfers))
                err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                "redis read of the batch state: unexpected reply shape");
        int32_t need = *layout > b->partition ? *layout : b->partition + 1;
        /* Only parse when the homes hold and the fence passes: a stale or
         * replayed batch stops here without paying for it. */
        if (!err && f->n_xfers && need == parts && *stored == b->start) {
                ho_fold_forget_stored(f);
                ho_buf_reset(&agg->ids);
                size_t total = 0;
                for (size_t i = 0; i < f->n_xfers && !err; i++) {
                        ho_fold_xfer_t *x = &f->xfers[i];
                        const redisReply *s = sr->element[i], *v = ir->element[i];
                        bool has_ids = v->type == REDIS_REPLY_STRING;
                        x->ids_off = agg->ids.len;
                        if (has_ids != (s->type == REDIS_REPLY_STRING)) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                                "transfer \"%s\" has %s in \"%s\" but %s in "
                                                "\"%s\"",
                                                x->latest.transfer_id,
                                                has_ids ? "no state" : "a state",
                                                agg->keys[HO_KEY_TRANSFERS],
                                                has_ids ? "report ids" : "no report ids",
                                                agg->keys[HO_KEY_TRANSFER_IDS]);
                                break;
                        }
                        if (!has_ids)
                                continue;
                        if (!v->len || v->len % 8) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                                "report ids of transfer \"%s\" in \"%s\": %zu "
                                                "bytes, expected a multiple of 8",
                                                x->latest.transfer_id,
                                                agg->keys[HO_KEY_TRANSFER_IDS], v->len);
                                break;
                        }
                        if (ho_buf_append(&agg->ids, v->str, v->len)) {
                                err = HO_ERR_NOMEM;
                                break;
                        }
                        x->stored_rev = (int64_t)(v->len / 8);
                        total += v->len / 8;
                }
                /* seen: each id's digest among its transfer's stored ones */
                if (!err && (digset_reset(&agg->seen, total) ||
                             grow_array((void **)&agg->dig, &agg->cap_dig, f->n_ids + 1,
                                        sizeof(*agg->dig))))
                        err = HO_ERR_NOMEM;
                for (size_t i = 0; i < f->n_xfers && !err; i++)
                        for (int64_t j = 0; j < f->xfers[i].stored_rev; j++)
                                digset_add(&agg->seen, (uint32_t)i,
                                           ho_agg_digest_get(agg->ids.data + f->xfers[i].ids_off +
                                                             8 * (size_t)j));
                for (size_t i = 0; i < f->n_ids && !err; i++) {
                        const ho_fold_id_t *id = &f->ids[i];
                        size_t tl = strlen(f->xfers[id->xfer].latest.transfer_id);
                        const char *m = ho_fold_member(f, i);
                        agg->dig[i] = ho_agg_digest(m + tl + 1, id->len - tl - 1);
                        f->ids[i].seen = digset_has(&agg->seen, (uint32_t)id->xfer, agg->dig[i]);
                        f->xfers[id->xfer].n_new += !f->ids[i].seen;
                }
                for (size_t i = 0; i < f->n_xfers && !err; i++) {
                        ho_fold_xfer_t *x = &f->xfers[i];
                        const redisReply *s = sr->element[i];
                        /* a transfer with only duplicates changes nothing: its
                         * state is not even parsed (the cheap path of re-reads) */
                        if (s->type != REDIS_REPLY_STRING || !x->n_new)
                                continue;
                        char why[256];
                        ho_err_t e = ho_report_state_from_json(s->str, s->len, &x->stored, NULL,
                                                               why, sizeof(why));
                        if (e == HO_ERR_NOMEM)
                                err = HO_ERR_NOMEM;
                        else if (e)
                                err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                                "stored state of transfer \"%s\" in \"%s\" does "
                                                "not parse: %s",
                                                x->latest.transfer_id, agg->keys[HO_KEY_TRANSFERS],
                                                why);
                        else
                                x->has_stored = true;
                }
        }
        for (int i = 0; i < ncmd; i++)
                freeReplyObject(rep[i]);
        free(rep);
        if (err == HO_ERR_NOMEM)
                ho_seterr(errstr, errstr_size, err, "out of memory");
        return err;
}

/* Whether x's score in largest_transfers must be written: a new transfer, or
 * a new current state with another inmate_count (a ZADD of an unchanged score
 * costs Redis a skiplist search for nothing). */
static bool agg_score_moves(const ho_fold_xfer_t *x) {
        return x->changed && (!x->has_stored || x->stored.inmate_count != x->latest.inmate_count);
}

/* Step 2 and 3: compute, then write the transaction into agg->out:
 *   MULTI, HSET transfers, HSET transfer_ids, ZADD largest_transfers,
 *   EVAL (counters), HSET offsets, [SET layout], INCR fences, PUBLISH, EXEC.
 * *queued is the number of commands between MULTI and EXEC. */
static ho_err_t agg_build(ho_agg_t *agg, ho_agg_batch_t *b, int64_t next, int64_t now,
                          int32_t raise_to, size_t *queued, size_t *n_touched, size_t *n_new) {
        ho_fold_t *f = &b->fold;
        ho_buf_t *o = &agg->out;
        ho_delta_t *d = &agg->delta;
        ho_err_t err;
        char key[512];

        ho_delta_clear(d);
        if ((err = ho_fold_compute(f, d)))
                return err;
        d->totals[HO_TOTAL_REJECTED] += b->rejected;

        size_t nx = 0, nz = 0, nm = 0;
        for (size_t i = 0; i < f->n_xfers; i++) {
                nx += f->xfers[i].n_new > 0;
                nz += agg_score_moves(&f->xfers[i]);
        }
        for (size_t i = 0; i < f->n_ids; i++)
                nm += !f->ids[i].seen;
        *n_touched = nx;
        *n_new = nm;
        *queued = 0;

        json_t *msg = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I}", "topic", b->topic, "partition",
                                (int)b->partition, "offset", (json_int_t)next, "reports",
                                (json_int_t)nm, "transfers", (json_int_t)nx, "updated_at",
                                (json_int_t)now);
        char *msgtext = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
        json_decref(msg);
        if (!msgtext)
                return HO_ERR_NOMEM;

        ho_buf_reset(o);
        bool bad = ho_resp_cmd(o, 1) || ho_resp_str(o, "MULTI");
        if (nx) {
                bad |= ho_resp_cmd(o, 2 + 2 * nx) || ho_resp_str(o, "HSET") ||
                       ho_resp_str(o, agg->keys[HO_KEY_TRANSFERS]);
                for (size_t i = 0; i < f->n_xfers && !bad; i++) {
                        ho_fold_xfer_t *x = &f->xfers[i];
                        if (!x->n_new)
                                continue;
                        ho_buf_reset(&agg->json);
                        bad |= ho_report_json(ho_fold_current(x), x->new_rev, &agg->json) ||
                               ho_resp_str(o, x->latest.transfer_id) ||
                               ho_resp_arg(o, agg->json.data, agg->json.len);
                }
                /* each touched transfer's digests: the stored ones, then the
                 * batch's new ones in the batch's order */
                bad |= ho_resp_cmd(o, 2 + 2 * nx) || ho_resp_str(o, "HSET") ||
                       ho_resp_str(o, agg->keys[HO_KEY_TRANSFER_IDS]);
                /* the new digests grouped by transfer (ids of one transfer are
                 * not contiguous in the fold) */
                if (grow_array((void **)&agg->gstart, &agg->cap_gstart, f->n_xfers + 1,
                               sizeof(*agg->gstart)) ||
                    grow_array((void **)&agg->grp, &agg->cap_grp, nm + 1, sizeof(*agg->grp))) {
                        free(msgtext);
                        return HO_ERR_NOMEM;
                }
                size_t at = 0;
                for (size_t i = 0; i < f->n_xfers; i++) {
                        agg->gstart[i] = at;
                        at += f->xfers[i].n_new;
                }
                for (size_t j = 0; j < f->n_ids; j++)
                        if (!f->ids[j].seen)
                                agg->grp[agg->gstart[f->ids[j].xfer]++] = agg->dig[j];
                /* gstart[i] now points past transfer i's digests */
                for (size_t i = 0; i < f->n_xfers && !bad; i++) {
                        ho_fold_xfer_t *x = &f->xfers[i];
                        if (!x->n_new)
                                continue;
                        size_t have = 8 * (size_t)x->stored_rev;
                        bad |= ho_resp_str(o, x->latest.transfer_id) ||
                               ho_resp_arg_begin(o, have + 8 * x->n_new) ||
                               ho_buf_append(o, agg->ids.data + x->ids_off, have);
                        for (size_t j = agg->gstart[i] - x->n_new; j < agg->gstart[i] && !bad;
                             j++) {
                                char le[8];
                                ho_agg_digest_put(le, agg->grp[j]);
                                bad |= ho_buf_append(o, le, 8);
                        }
                        bad |= ho_resp_arg_end(o);
                }
                *queued += 2;
        }
        if (nz) {
                if (grow_array((void **)&agg->zm, &agg->cap_zm, nz, sizeof(*agg->zm))) {
                        free(msgtext);
                        return HO_ERR_NOMEM;
                }
                size_t k = 0;
                for (size_t i = 0; i < f->n_xfers; i++)
                        if (agg_score_moves(&f->xfers[i])) {
                                const ho_report_t *r = &f->xfers[i].latest;
                                agg->zm[k++] = (ho_zmember_t){r->inmate_count, r->transfer_id,
                                                              strlen(r->transfer_id)};
                        }
                ho_zmember_sort(agg->zm, nz);
                bad |= ho_resp_cmd(o, 2 + 2 * nz) || ho_resp_str(o, "ZADD") ||
                       ho_resp_str(o, agg->keys[HO_KEY_LARGEST]);
                for (size_t i = 0; i < nz && !bad; i++)
                        bad |= ho_resp_ll(o, agg->zm[i].score) ||
                               ho_resp_arg(o, agg->zm[i].member, agg->zm[i].len);
                *queued += 1;
        }

        /* the counters script; deltas that sum to 0 are left out (the field
         * keeps its value, and a field absent at 0 stays absent) */
        size_t nd = 0, nt = 0;
        for (size_t i = 0; i < d->fields.cap; i++)
                nd += ho_strmap_slot_key(&d->fields, i) && d->fields.vals[i];
        for (size_t i = 0; i < d->dates.cap; i++)
                nt += ho_strmap_slot_key(&d->dates, i) && d->dates.vals[i];
        /* EVAL script numkeys KEYS, then ARGV as lib/agg_lua.c lays it out */
        bad |= ho_resp_cmd(o, 3 + HO_KEY__COUNT + 4 + HO_TOTAL__COUNT + 2 + 3 * nd + 1 + 3 * nt) ||
               ho_resp_str(o, "EVAL") || ho_resp_str(o, ho_agg_lua) || ho_resp_ll(o, HO_KEY__COUNT);
        for (int k = 0; k < HO_KEY__COUNT; k++)
                bad |= ho_resp_str(o, agg->keys[k]);
        bad |= ho_resp_ll(o, HO_KEY_TOTALS + 1) || ho_resp_ll(o, HO_KEY_BY_DATE + 1) ||
               ho_resp_ll(o, HO_KEY_DATES + 1) || ho_resp_ll(o, now);
        for (int t = 0; t < HO_TOTAL__COUNT; t++)
                bad |= ho_resp_ll(o, d->totals[t]);
        bad |= ho_resp_str(o, agg->total_names) || ho_resp_ll(o, (int64_t)nd);
        for (size_t i = 0; i < d->fields.cap && !bad; i++) {
                const char *k = ho_strmap_slot_key(&d->fields, i);
                if (!k || !d->fields.vals[i])
                        continue;
                bad |= ho_resp_ll(o, (k[0] - 'A') + 1) || ho_resp_str(o, k + 1) ||
                       ho_resp_ll(o, d->fields.vals[i]);
        }
        bad |= ho_resp_ll(o, (int64_t)nt);
        for (size_t i = 0; i < d->dates.cap && !bad; i++) {
                const char *k = ho_strmap_slot_key(&d->dates, i);
                int32_t days;
                if (!k || !d->dates.vals[i])
                        continue;
                if (ho_date_parse(k, &days)) {
                        free(msgtext);
                        return HO_ERR_INVALID; /* we formatted it: cannot happen */
                }
                bad |= ho_resp_str(o, k) || ho_resp_ll(o, days) || ho_resp_ll(o, d->dates.vals[i]);
        }
        *queued += 1;

        bad |= ho_resp_cmd(o, 4) || ho_resp_str(o, "HSET") ||
               ho_resp_str(o, agg->keys[HO_KEY_OFFSETS]) || ho_resp_str(o, b->field) ||
               ho_resp_ll(o, next);
        *queued += 1;
        if (raise_to) {
                bad |= ho_resp_cmd(o, 3) || ho_resp_str(o, "SET") ||
                       ho_resp_str(o, agg->layout_key) || ho_resp_ll(o, raise_to);
                *queued += 1;
        }
        for (size_t i = 0; i < agg->n_fences; i++) {
                agg_fence_key(agg, agg->fences[i], key, sizeof(key));
                bad |= ho_resp_cmd(o, 2) || ho_resp_str(o, "INCR") || ho_resp_str(o, key);
                *queued += 1;
        }
        bad |= ho_resp_cmd(o, 3) || ho_resp_str(o, "PUBLISH") || ho_resp_str(o, agg->channel) ||
               ho_resp_str(o, msgtext);
        *queued += 1;
        bad |= ho_resp_cmd(o, 1) || ho_resp_str(o, "EXEC");
        free(msgtext);
        return bad ? HO_ERR_NOMEM : HO_OK;
}

static void agg_batch_done(ho_agg_batch_t *b, int64_t next) {
        ho_agg_batch_reset(b, next);
}

ho_err_t ho_agg_batch_commit(ho_agg_batch_t *b, int64_t next_offset, char *errstr,
                             size_t errstr_size) {
        return ho_agg_batch_commit_via(b->agg, b, next_offset, errstr, errstr_size);
}

/* Read the transaction's replies: MULTI's, one per queued command, EXEC's.
 * *ran is false when EXEC refused (a watched key moved: nothing written). */
static ho_err_t agg_exec_replies(ho_agg_t *agg, ho_agg_batch_t *b, size_t queued, bool *ran,
                                 char *errstr, size_t errstr_size) {
        ho_err_t err = HO_OK;
        bool drop = false;
        *ran = false;
        for (size_t i = 0; i < queued + 2; i++) {
                void *v = NULL;
                if (redisGetReply(agg->rc, &v) != REDIS_OK)
                        return agg_conn_lost(agg, errstr, errstr_size,
                                             "EXEC of the batch's transaction");
                redisReply *r = v;
                if (i < queued + 1) {
                        /* +OK / +QUEUED; an error here (OOM, a bad command) makes
                         * EXEC abort the whole transaction */
                        if (r->type == REDIS_REPLY_ERROR && !err) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                                "redis transaction for \"%s\": %s", b->field,
                                                r->str);
                                drop = drop || agg_must_drop(r);
                        }
                        freeReplyObject(r);
                        continue;
                }
                if (r->type == REDIS_REPLY_NIL) {
                        /* refused by WATCH: nothing written */
                } else if (r->type == REDIS_REPLY_ERROR) {
                        if (!err)
                                err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                                "redis transaction for \"%s\": %s", b->field,
                                                r->str);
                        drop = drop || agg_must_drop(r);
                } else if (r->type == REDIS_REPLY_ARRAY) {
                        *ran = true;
                        for (size_t j = 0; j < r->elements; j++)
                                if (r->element[j]->type == REDIS_REPLY_ERROR) {
                                        /* executed: the other commands wrote */
                                        err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                                        "the batch of \"%s\" was applied only "
                                                        "in part (command %zu of its "
                                                        "transaction failed: %s): the counters "
                                                        "need a rebuild with handover-replay",
                                                        b->field, j + 1, r->element[j]->str);
                                        break;
                                }
                }
                freeReplyObject(r);
        }
        if (drop) {
                /* only once every reply was read */
                redisFree(agg->rc);
                agg->rc = NULL;
        }
        return err;
}

/* WAIT for conf.wait_replicas replicas to have the batch just applied. The
 * batch is applied whatever WAIT says: a short count is logged (at most one
 * line per 10 s), a lost connection is left for the next batch to find. */
static void agg_wait(ho_agg_t *agg, const ho_agg_batch_t *b) {
        char n[16], ms[16];
        snprintf(n, sizeof(n), "%d", agg->conf.wait_replicas);
        snprintf(ms, sizeof(ms), "%d", agg->conf.wait_ms);
        const char *argv[] = {"WAIT", n, ms};
        redisReply *r = agg->rc ? redisCommandArgv(agg->rc, 3, argv, NULL) : NULL;
        long long got = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        if (got < agg->conf.wait_replicas && ho_mono_ms() - agg->wait_warned_ms >= 10000) {
                agg->wait_warned_ms = ho_mono_ms();
                ho_warn("redis: the batch of \"%s\" up to offset %" PRId64 " reached %lld of %d "
                        "replicas within %d ms (WAIT%s): applied on the master, not yet on them",
                        b->field, b->last, got < 0 ? 0 : got, agg->conf.wait_replicas,
                        agg->conf.wait_ms, got < 0 ? " failed" : "");
        }
        if (!r && agg->rc) {
                redisFree(agg->rc);
                agg->rc = NULL;
        }
        if (r)
                freeReplyObject(r);
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
                                 " does not follow the batch (start %" PRId64 ", last %" PRId64 ")",
                                 b->field, next_offset, b->start, b->last);
        if (!b->count && next_offset == b->start)
                return HO_OK;

        int layout_retries = 0;
        for (int attempt = 0;;) {
                int64_t stored;
                int32_t layout;
                if ((err = agg_connect(agg, errstr, errstr_size)))
                        return err;
                int32_t parts = agg->layout > b->partition ? agg->layout : b->partition + 1;
                if ((err = agg_plan(agg, b, parts)))
                        return ho_seterr(errstr, errstr_size, err, "out of memory");
                if ((err = agg_read(agg, b, parts, &stored, &layout, errstr, errstr_size)))
                        return err;
                agg->layout = layout;
                if (stored == next_offset) {
                        agg->stats.already++;
                        agg_batch_done(b, next_offset);
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
                int32_t need = layout > b->partition ? layout : b->partition + 1;
                if (need != parts) {
                        /* the homes were computed with another partition count */
                        if (++layout_retries > HO_AGG_MAX_LAYOUT_RETRIES)
                                return ho_seterr(errstr, errstr_size, HO_ERR_CONFLICT,
                                                 "batch of \"%s\": the partition count in "
                                                 "\"%s\" kept moving",
                                                 b->field, agg->layout_key);
                        continue;
                }
                if (ho_agg_test_after_read)
                        ho_agg_test_after_read(ho_agg_test_after_read_arg);
                size_t queued, n_touched, n_new;
                if ((err = agg_build(agg, b, next_offset, ho_wall_ms(),
                                     !agg->conf.exclusive && layout < need ? need : 0, &queued,
                                     &n_touched, &n_new)))
                        return err == HO_ERR_NOMEM
                                       ? ho_seterr(errstr, errstr_size, err, "out of memory")
                                       : err;
                if ((err = ho_resp_send(agg->rc, &agg->out, errstr, errstr_size)))
                        return agg_conn_lost(agg, errstr, errstr_size,
                                             "write of the batch's transaction");
                bool ran;
                if ((err = agg_exec_replies(agg, b, queued, &ran, errstr, errstr_size)))
                        return err;
                if (ran) {
                        if (agg->conf.wait_replicas > 0)
                                agg_wait(agg, b);
                        agg->stats.batches++;
                        agg->stats.reports += n_new;
                        agg->stats.rejected += (uint64_t)b->rejected;
                        agg->stats.duplicates += b->fold.dup_in_batch + (b->fold.n_ids - n_new);
                        agg->layout = need;
                        agg_batch_done(b, next_offset);
                        return HO_OK;
                }
                /* a fence or the layout moved between the read and EXEC: someone
                 * else wrote this partition or one of the batch's transfers */
                agg->stats.conflicts++;
                ho_debug("a fence of the batch of \"%s\" moved: reading again", b->field);
                if (++attempt >= agg->conf.max_conflicts)
                        return ho_seterr(errstr, errstr_size, HO_ERR_CONFLICT,
                                         "batch of \"%s\": its transfers kept moving (%d "
                                         "attempts)",
                                         b->field, attempt);
        }
}
