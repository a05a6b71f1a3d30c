/* stats.c: snapshots of a prefix's counters, lag, the table and the audit (see stats.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "handover/jreport.h"
#include "handover/keys.h"
#include "handover/redis.h"
#include "handover/report.h"
#include "handover/ktopic.h"
#include "handover/stats.h"
#include "handover/util.h"

static int parse_i64(const char *s, int64_t *v) {
        long long x;
        if (ho_parse_ll(s, INT64_MIN, INT64_MAX, &x))
                return -1;
        *v = (int64_t)x;
        return 0;
}

/* ---------------------------------------------------------------- snapshot */

struct ho_kv {
        const char *k;
        const char *v;
};

static int kv_cmp(const void *a, const void *b) {
        return strcmp(((const struct ho_kv *)a)->k, ((const struct ho_kv *)b)->k);
}

/* HGETALL reply -> object with integer values and sorted keys. A value that is
 * not an integer is kept as a string so nothing is hidden from the reader. */
static json_t *hash_to_json(const redisReply *r) {
        json_t *obj = json_object();
        if (!obj || r->type != REDIS_REPLY_ARRAY || r->elements < 2)
                return obj;
        size_t n = r->elements / 2;
        struct ho_kv *kv = calloc(n, sizeof(*kv));
        if (!kv) {
                json_decref(obj);
                return NULL;
        }
        for (size_t i = 0; i < n; i++) {
                kv[i].k = r->element[2 * i]->str ? r->element[2 * i]->str : "";
                kv[i].v = r->element[2 * i + 1]->str ? r->element[2 * i + 1]->str : "";
        }
        if (n > 1) /* kv may be NULL when n == 0: qsort wants a pointer */
                qsort(kv, n, sizeof(*kv), kv_cmp);
        for (size_t i = 0; i < n; i++) {
                int64_t v;
                json_object_set_new(obj, kv[i].k,
                                    parse_i64(kv[i].v, &v) ? json_string(kv[i].v)
                                                           : json_integer(v));
        }
        free(kv);
        return obj;
}

static json_t *totals_to_json(const redisReply *r) {
        const char *const *nums = ho_key_total_names;
        json_t *h = hash_to_json(r), *t = json_object();
        if (!h || !t) {
                json_decref(h);
                json_decref(t);
                return NULL;
        }
        for (int i = 0; nums[i]; i++) {
                json_t *v = json_object_get(h, nums[i]);
                json_object_set_new(t, nums[i],
                                    json_is_integer(v) ? json_copy(v) : json_integer(0));
        }
        static const char *const rest[] = {HO_TOTAL_FIRST_ON, HO_TOTAL_LAST_ON, HO_TOTAL_UPDATED_AT,
                                           NULL};
        for (int i = 0; rest[i]; i++) {
                json_t *v = json_object_get(h, rest[i]);
                /* the engine stores "" for dates when no transfer is left */
                bool empty = !v || (json_is_string(v) && !*json_string_value(v));
                json_object_set_new(t, rest[i], empty ? json_null() : json_copy(v));
        }
        json_decref(h);
        return t;
}

static json_t *zset_to_json(const redisReply *r) {
        json_t *arr = json_array();
        if (!arr || r->type != REDIS_REPLY_ARRAY)
                return arr;
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
                int64_t v = 0;
                const char *s = r->element[i + 1]->str ? r->element[i + 1]->str : "0";
                if (parse_i64(s, &v))
                        v = (int64_t)strtod(s, NULL); /* scores come back as doubles */
                json_array_append_new(arr, json_pack("{s:s,s:I}", "transfer_id",
                                                     r->element[i]->str ? r->element[i]->str : "",
                                                     "inmates", (json_int_t)v));
        }
        return arr;
}

ho_err_t ho_stats_snapshot(redisContext *c, const char *prefix, const char *ns, size_t top,
                           json_t **out, char *errstr, size_t errstr_size) {
        /* totals, the breakdowns, largest_transfers, offsets: the reply order */
        static const ho_key_t read[] = {HO_KEY_TOTALS,           HO_KEY_INMATES_BY_MONTH,
                                        HO_KEY_INMATES_BY_ROUTE, HO_KEY_TRANSFERS_BY_DEST,
                                        HO_KEY_INMATES_BY_DEST,  HO_KEY_PERSONS_BY_AFFIL,
                                        HO_KEY_LARGEST,          HO_KEY_OFFSETS};
        const int nq = (int)(sizeof(read) / sizeof(read[0]));
        char keys[sizeof(read) / sizeof(read[0])][512], stop[32];

        *out = NULL;
        for (int i = 0; i < nq; i++)
                if (ho_key_format(keys[i], sizeof(keys[i]), prefix, ns, ho_key_names[read[i]]))
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "key prefix \"%s\": too long", prefix);
        snprintf(stop, sizeof(stop), "%lld", top ? (long long)top - 1 : -1LL);
        /* one MULTI/EXEC: every number in the snapshot is from the same instant */
        const char *multi[] = {"MULTI"}, *exec_argv[] = {"EXEC"};
        redisAppendCommandArgv(c, 1, multi, NULL);
        for (int i = 0; i < nq; i++) {
                const char *key = keys[i];
                if (read[i] == HO_KEY_LARGEST) {
                        const char *argv[] = {"ZREVRANGE", key, "0", stop, "WITHSCORES"};
                        redisAppendCommandArgv(c, 5, argv, NULL);
                } else {
                        const char *argv[] = {"HGETALL", key};
                        redisAppendCommandArgv(c, 2, argv, NULL);
                }
        }
        redisAppendCommandArgv(c, 1, exec_argv, NULL);

        redisReply *exec = NULL;
        ho_err_t err = HO_OK;
        for (int i = 0; i < nq + 2; i++) {
                redisReply *r = NULL;
                if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "redis: %s",
                                        c->errstr[0] ? c->errstr : "connection lost");
                        /* the connection is out of step now: the caller reconnects */
                        break;
                }
                if (r->type == REDIS_REPLY_ERROR && err == HO_OK)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                        "redis: reading the counters of prefix \"%s\": %s", prefix,
                                        r->str);
                if (i == nq + 1)
                        exec = r;
                else
                        freeReplyObject(r);
        }
        if (err != HO_OK) {
                if (exec)
                        freeReplyObject(exec);
                return err;
        }
        if (!exec || exec->type != REDIS_REPLY_ARRAY || exec->elements != (size_t)nq) {
                if (exec)
                        freeReplyObject(exec);
                return ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                 "redis: transaction reading prefix \"%s\" was aborted", prefix);
        }
        for (size_t i = 0; i < exec->elements; i++)
                if (exec->element[i]->type == REDIS_REPLY_ERROR) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                        "redis: reading the counters of prefix \"%s\": %s "
                                        "(is it a handover prefix?)",
                                        prefix, exec->element[i]->str);
                        freeReplyObject(exec);
                        return err;
                }

        redisReply *tot = exec->element[0], *offs = exec->element[nq - 1];
        if (tot->elements == 0 && offs->elements == 0) {
                freeReplyObject(exec);
                return ho_seterr(errstr, errstr_size, HO_ERR_NOT_FOUND,
                                 "no data under prefix \"%s%s\" (is a worker running?)", prefix,
                                 ns && *ns ? ns : "");
        }
        json_t *snap = json_object();
        json_object_set_new(snap, ho_key_names[HO_KEY_TOTALS], totals_to_json(tot));
        for (int k = HO_KEY_BREAKDOWN_FIRST; k <= HO_KEY_BREAKDOWN_LAST; k++)
                json_object_set_new(snap, ho_key_names[k],
                                    hash_to_json(exec->element[1 + k - HO_KEY_BREAKDOWN_FIRST]));
        json_object_set_new(snap, ho_key_names[HO_KEY_LARGEST],
                            zset_to_json(exec->element[nq - 2]));
        json_object_set_new(snap, ho_key_names[HO_KEY_OFFSETS], hash_to_json(offs));
        freeReplyObject(exec);
        /* a member left NULL by an allocation failure makes set_new fail silently */
        if (json_object_size(snap) != 8) {
                json_decref(snap);
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        }
        *out = snap;
        return HO_OK;
}

/* --------------------------------------------------------------------- lag */

ho_err_t ho_stats_lag(rd_kafka_t *rk, const char *topic, const json_t *offsets, int timeout_ms,
                      json_t **out, char *errstr, size_t errstr_size) {
        *out = NULL;
        int32_t *ids = NULL;
        int np = 0;
        rd_kafka_resp_err_t kerr;
        ho_err_t merr = ho_ktopic_meta(rk, topic, timeout_ms, &ids, &np, &kerr, errstr,
                                       errstr_size);
        if (merr == HO_ERR_NOT_FOUND)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "topic \"%s\": %s", topic,
                                 rd_kafka_err2str(kerr));
        if (merr)
                return merr;

        json_t *parts = json_array(), *res = NULL;
        int64_t total = 0;
        ho_err_t err = HO_OK;
        for (int i = 0; i < np; i++) {
                int64_t lo, hi, next;
                kerr = rd_kafka_query_watermark_offsets(rk, topic, ids[i], &lo, &hi, timeout_ms);
                if (kerr) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                        "watermarks of %s/%" PRId32 ": %s", topic, ids[i],
                                        rd_kafka_err2str(kerr));
                        break;
                }
                char field[300];
                snprintf(field, sizeof(field), "%s:%" PRId32, topic, ids[i]);
                json_t *v = json_object_get(offsets, field);
                next = json_is_integer(v) ? (int64_t)json_integer_value(v) : lo;
                int64_t lag = hi > next ? hi - next : 0;
                total += lag;
                json_array_append_new(parts, json_pack("{s:i,s:I,s:I,s:I}", "partition",
                                                       (int)ids[i], "high", (json_int_t)hi, "next",
                                                       (json_int_t)next, "lag", (json_int_t)lag));
        }
        free(ids);
        if (err != HO_OK) {
                json_decref(parts);
                return err;
        }
        res = json_pack("{s:s,s:I,s:o}", "topic", topic, "total", (json_int_t)total, "partitions",
                        parts);
        if (!res)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        *out = res;
        return HO_OK;
}

/* ------------------------------------------------------------------- table */

static int64_t jint(const json_t *o, const char *k) {
        json_t *v = json_object_get(o, k);
        return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

struct ho_row {
        const char *k;
        int64_t v;
};

static int row_by_value(const void *a, const void *b) {
        const struct ho_row *x = a, *y = b;
        if (x->v != y->v)
                return x->v < y->v ? 1 : -1;
        return strcmp(x->k, y->k);
}

/* Columns on a terminal: UTF-8 continuation bytes take no column. */
static size_t display_width(const char *s) {
        size_t w = 0;
        for (; *s; s++)
                w += ((unsigned char)*s & 0xC0) != 0x80;
        return w;
}

static void print_row(FILE *fp, const char *k, int64_t v, size_t width) {
        size_t w = display_width(k);
        fprintf(fp, "  %s%*s %10" PRId64 "\n", k, (int)(width > w ? width - w : 0), "", v);
}

/* One section of "key  value" rows: largest first (by_value) or in key order,
 * at most top rows, then how many were left out. */
static void print_section(FILE *fp, const char *title, const json_t *obj, bool by_value,
                          size_t top) {
        size_t n = json_object_size(obj), i = 0;
        fprintf(fp, "%s (%zu)\n", title, n);
        if (n == 0) {
                fprintf(fp, "  -\n");
                return;
        }
        struct ho_row *rows = calloc(n, sizeof(*rows));
        if (!rows)
                return;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)obj, k, v) {
                rows[i].k = k;
                rows[i].v = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
                i++;
        }
        if (by_value && n > 1)
                qsort(rows, n, sizeof(*rows), row_by_value);
        size_t first = 0, shown = n;
        if (top && n > top) {
                shown = top;
                if (!by_value) /* in key (time) order the latest are the interesting ones */
                        first = n - top;
        }
        size_t width = 28;
        for (i = first; i < first + shown; i++)
                if (display_width(rows[i].k) > width)
                        width = display_width(rows[i].k);
        if (width > 60)
                width = 60;
        if (first)
                fprintf(fp, "  ... %zu earlier\n", first);
        for (i = first; i < first + shown; i++)
                print_row(fp, rows[i].k, rows[i].v, width);
        if (by_value && shown < n)
                fprintf(fp, "  ... %zu more\n", n - shown);
        free(rows);
}

static void format_age(int64_t ms, char *out, size_t n) {
        int64_t s = ms / 1000;
        if (ms < 0)
                snprintf(out, n, "in the future");
        else if (s < 60)
                snprintf(out, n, "%" PRId64 ".%01" PRId64 "s ago", s, (ms % 1000) / 100);
        else if (s < 3600)
                snprintf(out, n, "%" PRId64 "m%02" PRId64 "s ago", s / 60, s % 60);
        else if (s < 86400)
                snprintf(out, n, "%" PRId64 "h%02" PRId64 "m ago", s / 3600, (s % 3600) / 60);
        else
                snprintf(out, n, "%" PRId64 "d%02" PRId64 "h ago", s / 86400, (s % 86400) / 3600);
}

void ho_stats_print_table(FILE *fp, const char *prefix, const json_t *snap, const json_t *lag,
                          int64_t now_ms, size_t top) {
        const json_t *t = json_object_get(snap, "totals");
        const char *first = json_string_value(json_object_get(t, "first_transfer_on"));
        const char *last = json_string_value(json_object_get(t, "last_transfer_on"));
        json_t *upd = json_object_get(t, "updated_at");

        fprintf(fp, "handover counters, prefix \"%s\"\n", prefix);
        fprintf(fp,
                "  transfers %" PRId64 "   inmates %" PRId64 "   reports %" PRId64
                "   aircraft %" PRId64 "   persons %" PRId64 "   rejected %" PRId64 "\n",
                jint(t, "transfers"), jint(t, "inmates"), jint(t, "reports"), jint(t, "aircraft"),
                jint(t, "persons"), jint(t, "rejected"));
        fprintf(fp, "  transfers from %s to %s\n", first ? first : "-", last ? last : "-");
        if (json_is_integer(upd)) {
                char ts[32], age[48];
                ho_time_format_rfc3339((int64_t)json_integer_value(upd), ts);
                format_age(now_ms - (int64_t)json_integer_value(upd), age, sizeof(age));
                fprintf(fp, "  last update %s (%s)\n", ts, age);
        } else {
                fprintf(fp, "  last update -\n");
        }
        if (lag) {
                fprintf(fp, "  lag behind \"%s\": %" PRId64 " messages",
                        json_string_value(json_object_get(lag, "topic")), jint(lag, "total"));
                size_t i;
                json_t *p;
                const char *sep = " (";
                json_array_foreach(json_object_get(lag, "partitions"), i, p) {
                        if (jint(p, "lag")) {
                                fprintf(fp, "%sp%" PRId64 ": %" PRId64, sep, jint(p, "partition"),
                                        jint(p, "lag"));
                                sep = ", ";
                        }
                }
                fprintf(fp, "%s\n", *sep == ',' ? ")" : "");
        }
        fprintf(fp, "\n");
        print_section(fp, "inmates by month", json_object_get(snap, "inmates_by_month"), false,
                      top ? top * 2 : 0);
        print_section(fp, "inmates by route", json_object_get(snap, "inmates_by_route"), true, top);
        print_section(fp, "transfers by destination",
                      json_object_get(snap, "transfers_by_destination"), true, top);
        print_section(fp, "inmates by destination", json_object_get(snap, "inmates_by_destination"),
                      true, top);
        print_section(fp, "persons by affiliation", json_object_get(snap, "persons_by_affiliation"),
                      true, top);
        const json_t *lt = json_object_get(snap, "largest_transfers");
        fprintf(fp, "largest transfers (top %zu)\n", json_array_size(lt));
        size_t i;
        json_t *e;
        json_array_foreach(lt, i, e) {
                const char *id = json_string_value(json_object_get(e, "transfer_id"));
                print_row(fp, id ? id : "", jint(e, "inmates"), 28);
        }
        if (json_array_size(lt) == 0)
                fprintf(fp, "  -\n");
}

/* ------------------------------------------------------------------- audit */

struct ho_audit_tr {
        char *id;
        uint32_t route;    /* index into routes */
        const char *rname; /* routes[route], owned by the audit */
        int32_t date;
        int64_t inmates;
        bool has_claim;
        int64_t claim;
        int64_t computed;  /* filled by finish, for claims */
        size_t term_begin; /* [term_begin, term_end): the transfers summed */
        size_t term_end;
        size_t seq; /* order of adds, so a re-added id keeps its last state */
};

struct ho_stats_audit_s {
        struct ho_audit_tr *tr;
        size_t n, cap;
        char **routes;
        size_t n_routes, cap_routes;
        size_t claims, disagree;
        bool finished;
};

ho_stats_audit_t *ho_stats_audit_new(void) {
        return calloc(1, sizeof(ho_stats_audit_t));
}

void ho_stats_audit_destroy(ho_stats_audit_t *a) {
        if (!a)
                return;
        for (size_t i = 0; i < a->n; i++)
                free(a->tr[i].id);
        for (size_t i = 0; i < a->n_routes; i++)
                free(a->routes[i]);
        free(a->tr);
        free(a->routes);
        free(a);
}

static int audit_route(ho_stats_audit_t *a, const char *route, uint32_t *idx) {
        /* few routes (country pairs): a linear search is enough */
        for (size_t i = a->n_routes; i-- > 0;)
                if (!strcmp(a->routes[i], route)) {
                        *idx = (uint32_t)i;
                        return 0;
                }
        if (a->n_routes == a->cap_routes) {
                size_t cap = a->cap_routes ? a->cap_routes * 2 : 8;
                char **r = realloc(a->routes, cap * sizeof(*r));
                if (!r)
                        return -1;
                a->routes = r;
                a->cap_routes = cap;
        }
        if (!(a->routes[a->n_routes] = strdup(route)))
                return -1;
        *idx = (uint32_t)a->n_routes++;
        return 0;
}

ho_err_t ho_stats_audit_add(ho_stats_audit_t *a, const char *transfer_id, const char *state,
                            size_t len, char *errstr, size_t errstr_size) {
        ho_report_t r;
        char why[256];

        /* the engine's reader and rules: a state the engine would refuse is not counted */
        ho_report_init(&r);
        ho_err_t e = ho_report_state_from_json(state, len, &r, NULL, why, sizeof(why));
        if (e == HO_ERR_NOMEM)
                return ho_seterr(errstr, errstr_size, e, "out of memory");
        if (e)
                return ho_seterr(errstr, errstr_size, e,
                                 "stored state of transfer \"%s\" does not parse: %s", transfer_id,
                                 why);
        char route[16];
        snprintf(route, sizeof(route), "%s-%s", r.origin_country, r.destination_country);
        struct ho_audit_tr t = {0};
        t.date = r.occurred_on;
        t.inmates = r.inmate_count;
        t.has_claim = r.has_cumulative_total;
        t.claim = t.has_claim ? r.cumulative_total : 0;
        ho_report_clear(&r);
        if (audit_route(a, route, &t.route))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 256;
                struct ho_audit_tr *n = realloc(a->tr, cap * sizeof(*n));
                if (!n)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                a->tr = n;
                a->cap = cap;
        }
        if (!(t.id = strdup(transfer_id)))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        t.seq = a->n;
        t.rname = a->routes[t.route];
        a->tr[a->n++] = t;
        return HO_OK;
}

static int tr_by_id(const void *x, const void *y) {
        const struct ho_audit_tr *a = x, *b = y;
        int c = strcmp(a->id, b->id);
        return c ? c : (a->seq < b->seq ? -1 : 1);
}

/* Routes by name, then date, then id: the order of the printed lines. */
static int tr_by_route_date(const void *x, const void *y) {
        const struct ho_audit_tr *a = x, *b = y;
        int c = strcmp(a->rname, b->rname);
        if (c)
                return c;
        if (a->date != b->date)
                return a->date < b->date ? -1 : 1;
        return strcmp(a->id, b->id);
}

ho_err_t ho_stats_audit_finish(ho_stats_audit_t *a) {
        if (a->finished)
                return HO_OK;
        a->finished = true;
        /* HSCAN may return a field twice (during a rehash): keep one entry per id */
        if (a->n > 1) /* a->tr is NULL while no transfer was added */
                qsort(a->tr, a->n, sizeof(*a->tr), tr_by_id);
        size_t w = 0;
        for (size_t i = 0; i < a->n; i++) {
                if (i + 1 < a->n && !strcmp(a->tr[i].id, a->tr[i + 1].id)) {
                        free(a->tr[i].id);
                        continue;
                }
                a->tr[w++] = a->tr[i];
        }
        a->n = w;
        if (a->n > 1)
                qsort(a->tr, a->n, sizeof(*a->tr), tr_by_route_date);

        /* per route, a running sum that includes every transfer of the same date */
        size_t i = 0;
        while (i < a->n) {
                size_t route_begin = i;
                int64_t sum = 0;
                while (i < a->n && a->tr[i].route == a->tr[route_begin].route) {
                        size_t day_end = i;
                        while (day_end < a->n && a->tr[day_end].route == a->tr[i].route &&
                               a->tr[day_end].date == a->tr[i].date)
                                sum += a->tr[day_end++].inmates;
                        for (size_t j = i; j < day_end; j++) {
                                if (!a->tr[j].has_claim)
                                        continue;
                                a->tr[j].computed = sum;
                                a->tr[j].term_begin = route_begin;
                                a->tr[j].term_end = day_end;
                                a->claims++;
                                if (a->tr[j].claim != sum)
                                        a->disagree++;
                        }
                        i = day_end;
                }
        }
        return HO_OK;
}

ho_err_t ho_stats_audit_scan(redisContext *c, const char *prefix, const char *ns,
                             ho_stats_audit_t **out, char *errstr, size_t errstr_size) {
        char key[512], cursor[32] = "0";
        ho_stats_audit_t *a = ho_stats_audit_new();
        ho_err_t err = HO_OK;

        *out = NULL;
        if (!a)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        if (ho_key_format(key, sizeof(key), prefix, ns, ho_key_names[HO_KEY_TRANSFERS])) {
                ho_stats_audit_destroy(a);
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "key prefix \"%s\": too long",
                                 prefix);
        }
        do {
                /* bounded steps: a huge transfers hash never sits in memory as one reply */
                const char *argv[] = {"HSCAN", key, cursor, "COUNT", "500"};
                redisReply *r = ho_redis_cmd(c, errstr, errstr_size, 5, argv, NULL);
                if (!r) {
                        err = HO_ERR_REDIS;
                        break;
                }
                if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                    r->element[1]->type != REDIS_REPLY_ARRAY) {
                        freeReplyObject(r);
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                        "redis: unexpected HSCAN reply for \"%s\"", key);
                        break;
                }
                snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
                redisReply *kv = r->element[1];
                for (size_t i = 0; i + 1 < kv->elements && err == HO_OK; i += 2) {
                        char why[512];
                        err = ho_stats_audit_add(a, kv->element[i]->str, kv->element[i + 1]->str,
                                                 kv->element[i + 1]->len, why, sizeof(why));
                        if (err && err != HO_ERR_NOMEM)
                                ho_seterr(errstr, errstr_size, err, "%s (in \"%s\")", why, key);
                        else if (err)
                                ho_seterr(errstr, errstr_size, err, "out of memory");
                }
                freeReplyObject(r);
        } while (err == HO_OK && strcmp(cursor, "0"));
        if (err != HO_OK) {
                ho_stats_audit_destroy(a);
                return err;
        }
        ho_stats_audit_finish(a);
        *out = a;
        return HO_OK;
}

size_t ho_stats_audit_claims(const ho_stats_audit_t *a) {
        return a->claims;
}

size_t ho_stats_audit_disagree(const ho_stats_audit_t *a) {
        return a->disagree;
}

#define HO_AUDIT_TERMS_SHOWN 12

void ho_stats_audit_print(FILE *fp, const ho_stats_audit_t *a) {
        uint32_t cur = UINT32_MAX;
        fprintf(fp, "audit: %zu claim%s of cumulative_total, %zu agree, %zu disagree\n", a->claims,
                a->claims == 1 ? "" : "s", a->claims - a->disagree, a->disagree);
        for (size_t i = 0; i < a->n; i++) {
                const struct ho_audit_tr *t = &a->tr[i];
                if (!t->has_claim)
                        continue;
                if (t->route != cur) {
                        cur = t->route;
                        fprintf(fp, "route %s\n", a->routes[cur]);
                }
                char d[11];
                ho_date_format(t->date, d);
                fprintf(fp, "  %s %s claims %" PRId64 ": ", d, t->id, t->claim);
                size_t nterms = t->term_end - t->term_begin;
                for (size_t j = 0; j < nterms && j < HO_AUDIT_TERMS_SHOWN; j++)
                        fprintf(fp, "%s%" PRId64, j ? " + " : "", a->tr[t->term_begin + j].inmates);
                if (nterms > HO_AUDIT_TERMS_SHOWN)
                        fprintf(fp, " + ... (%zu transfers)", nterms);
                if (t->claim == t->computed)
                        fprintf(fp, " = %" PRId64 " \u2713\n", t->computed);
                else
                        fprintf(fp, " = %" PRId64 " \u2717 (claim is off by %+" PRId64 ")\n",
                                t->computed, t->claim - t->computed);
        }
}

json_t *ho_stats_audit_json(const ho_stats_audit_t *a) {
        json_t *dis = json_array();
        for (size_t i = 0; dis && i < a->n; i++) {
                const struct ho_audit_tr *t = &a->tr[i];
                if (!t->has_claim || t->claim == t->computed)
                        continue;
                char d[11];
                ho_date_format(t->date, d);
                json_array_append_new(dis,
                                      json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "transfer_id", t->id,
                                                "route", a->routes[t->route], "occurred_on", d,
                                                "claimed", (json_int_t)t->claim, "computed",
                                                (json_int_t)t->computed, "transfers",
                                                (json_int_t)(t->term_end - t->term_begin)));
        }
        return json_pack("{s:I,s:I,s:I,s:o}", "claims", (json_int_t)a->claims, "agree",
                         (json_int_t)(a->claims - a->disagree), "disagree", (json_int_t)a->disagree,
                         "disagreements", dis);
}

/* ---------------------------------------------------------------- transfer */

ho_err_t ho_stats_transfer(redisContext *c, const char *prefix, const char *transfer_id,
                           json_t **out, char *errstr, size_t errstr_size) {
        char key[512];
        *out = NULL;
        if (ho_key_format(key, sizeof(key), prefix, HO_KEY_NS_LIVE, ho_key_names[HO_KEY_TRANSFERS]))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "key prefix \"%s\": too long",
                                 prefix);
        const char *argv[] = {"HGET", key, transfer_id};
        redisReply *r = ho_redis_cmd(c, errstr, errstr_size, 3, argv, NULL);
        if (!r)
                return HO_ERR_REDIS;
        if (r->type != REDIS_REPLY_STRING) {
                freeReplyObject(r);
                return ho_seterr(errstr, errstr_size, HO_ERR_NOT_FOUND,
                                 "no transfer \"%s\" under prefix \"%s\"", transfer_id, prefix);
        }
        json_error_t jerr;
        json_t *st = json_loadb(r->str, r->len, 0, &jerr);
        freeReplyObject(r);
        if (!st)
                return ho_seterr(errstr, errstr_size, HO_ERR_JSON, "%s field \"%s\": not JSON: %s",
                                 key, transfer_id, jerr.text);
        *out = st;
        return HO_OK;
}
