/*
 * test_agg_redis.c: the aggregation engine against a real Redis. The test
 * starts its own private redis-server (free port, no persistence) and stops
 * it at the end, so it needs no external stack; without redis-server on PATH
 * it fails. Covers: the sample's counters, order independence, duplicates
 * across batches, the fence, the "applied" retry, the conflict refold, zero
 * removal, first/last dates, rejects, reconnects and a flushed script cache.
 * The engine's throughput is measured by bench/agg-engine, not here.
 */
#define _GNU_SOURCE /* asprintf */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "handover/agg.h"
#include "handover/agg_fold.h"
#include "handover/jreport.h"
#include "redis_server.h"

static ho_test_redis_t server;
static redisContext *rc; /* the test's own connection, for checks */
static ho_redis_url_t url;

/* ---- the private redis-server ---- */

static int start_redis(void **state) {
        (void)state;
        return ho_test_redis_open(&server, "test_agg_redis", &rc, &url);
}

static int stop_redis(void **state) {
        (void)state;
        ho_test_redis_close(&server, &rc, &url);
        return 0;
}

/* ---- reports ---- */

typedef struct msg_s {
        ho_report_t r;
        bool reject; /* a dead-lettered message instead of a report */
} msg_t;

static void mkr(ho_report_t *r, const char *tid, const char *rid, const char *day, const char *at,
                int inmates, const char *dests, const char *persons, const char *bydest) {
        char json[4096], err[256];
        snprintf(json, sizeof(json),
                 "{\"report_id\":\"%s\",\"transfer_id\":\"%s\",\"occurred_on\":\"%s\","
                 "\"reported_at\":\"%s\",\"source\":\"test\",\"origin_country\":\"MX\","
                 "\"destination_country\":\"US\",\"inmate_count\":%d,\"aircraft_count\":%s,"
                 "\"destinations\":%s,\"cumulative_total\":null,\"authority\":null,"
                 "\"persons\":%s%s%s}",
                 rid, tid, day, at, inmates, inmates % 3 ? "1" : "null", dests ? dests : "[]",
                 persons ? persons : "[]", bydest ? ",\"inmates_by_destination\":" : "",
                 bydest ? bydest : "");
        ho_report_init(r);
        if (ho_report_from_json(json, strlen(json), r, err, sizeof(err)))
                fail_msg("test report does not parse: %s: %s", err, json);
}

static void msgs_free(msg_t *m, size_t n) {
        for (size_t i = 0; i < n; i++)
                ho_report_clear(&m[i].r);
        free(m);
}

/* A synthetic history: n_xfers transfers, each with 1..4 reports whose
 * revisions move the date, month, cities and counts; ~10% exact
 * duplicates; shuffled so revisions arrive out of order. */
static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (uint32_t)(rng >> 11);
}

static const char *cities[] = {"Washington",   "Houston",     "New York",
                               "Pennsylvania", "San Antonio", "San Diego"};
static const char *affils[] = {"Sinaloa Cartel", "Los Zetas", "Gulf Cartel", NULL};

static msg_t *synth(size_t n_xfers, size_t *n_out, bool rejects) {
        size_t cap = n_xfers * 6 + 16, n = 0;
        msg_t *m = calloc(cap, sizeof(*m));
        for (size_t t = 0; t < n_xfers; t++) {
                int k = 1 + (int)(rnd() % 4);
                for (int j = 0; j < k; j++) {
                        char tid[48], rid[48], day[48], at[48], dests[256] = "[", pers[512] = "[",
                                                                byd[256] = "{";
                        snprintf(tid, sizeof(tid), "x-%zu", t);
                        snprintf(rid, sizeof(rid), "r-%zu-%d", t, j);
                        snprintf(day, sizeof(day), "%d-%02d-%02d", 2024 + (int)(rnd() % 3),
                                 1 + (int)(rnd() % 12), 1 + (int)(rnd() % 28));
                        /* few distinct times: ties on reported_at happen */
                        snprintf(at, sizeof(at), "2026-01-%02dT%02d:00:00Z", 1 + (int)(rnd() % 3),
                                 (int)(rnd() % 2));
                        int nd = (int)(rnd() % 4);
                        for (int d = 0; d < nd; d++)
                                snprintf(dests + strlen(dests), sizeof(dests) - strlen(dests),
                                         "%s\"%s\"", d ? "," : "", cities[rnd() % 6]);
                        strcat(dests, "]");
                        int np = (int)(rnd() % 3);
                        for (int p = 0; p < np; p++) {
                                const char *a = affils[rnd() % 4];
                                snprintf(pers + strlen(pers), sizeof(pers) - strlen(pers),
                                         "%s{\"name\":\"P%u\",\"affiliation\":%s%s%s}",
                                         p ? "," : "", rnd() % 1000, a ? "\"" : "", a ? a : "null",
                                         a ? "\"" : "");
                        }
                        strcat(pers, "]");
                        int nb = (int)(rnd() % 3);
                        for (int b = 0; b < nb; b++)
                                snprintf(byd + strlen(byd), sizeof(byd) - strlen(byd),
                                         "%s\"%s\":%u", b ? "," : "", cities[b * 2 + rnd() % 2],
                                         rnd() % 20);
                        strcat(byd, "}");
                        mkr(&m[n++].r, tid, rid, day, at, (int)(rnd() % 50), dests, pers,
                            nb ? byd : NULL);
                        if (rnd() % 10 == 0) { /* an exact duplicate */
                                ho_report_init(&m[n].r);
                                ho_report_copy(&m[n].r, &m[n - 1].r);
                                n++;
                        }
                }
                if (rejects && rnd() % 20 == 0) {
                        ho_report_init(&m[n].r);
                        m[n++].reject = true;
                }
        }
        for (size_t i = n - 1; i > 0; i--) {
                size_t j = rnd() % (i + 1);
                msg_t tmp = m[i];
                m[i] = m[j];
                m[j] = tmp;
        }
        *n_out = n;
        return m;
}

/* ---- engine helpers ---- */

static ho_agg_t *engine(const char *prefix) {
        char err[256];
        ho_agg_conf_t c = {.prefix = prefix, .ns = ""};
        ho_agg_t *a = ho_agg_new(&c, &url, err, sizeof(err));
        if (!a)
                fail_msg("ho_agg_new: %s", err);
        return a;
}

/* Apply messages m[from..to) at offsets base+i, in batches of bsz. */
static void apply(ho_agg_t *a, const char *topic, int32_t part, const msg_t *m, size_t from,
                  size_t to, int64_t base, size_t bsz) {
        char err[512];
        int64_t start;
        assert_int_equal(ho_agg_offset_get(a, topic, part, &start, err, sizeof(err)), HO_OK);
        ho_agg_batch_t *b = ho_agg_batch_new(a, topic, part, start);
        assert_non_null(b);
        for (size_t i = from; i < to; i++) {
                int64_t off = base + (int64_t)(i - from);
                if (m[i].reject)
                        ho_agg_batch_reject(b, off);
                else
                        assert_int_equal(ho_agg_batch_add(b, &m[i].r, off, 100), HO_OK);
                if (ho_agg_batch_count(b) >= bsz || i + 1 == to) {
                        ho_err_t e = ho_agg_batch_commit(b, ho_agg_batch_next_offset(b), err,
                                                         sizeof(err));
                        if (e)
                                fail_msg("commit: %s: %s", ho_err2str(e), err);
                        assert_int_equal(ho_agg_batch_count(b), 0);
                }
        }
        ho_agg_batch_destroy(b);
}

static redisReply *cmd(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(rc, fmt, ap);
        va_end(ap);
        assert_non_null(r);
        assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
        return r;
}

static long long hget_ll(const char *key, const char *field) {
        redisReply *r = cmd("HGET %s %s", key, field);
        long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -999999;
        freeReplyObject(r);
        return v;
}

/* A transfer's revision: how many report digests {P}:transfer_ids holds for it. */
static long long revision(const char *key, const char *field) {
        redisReply *r = cmd("HSTRLEN %s %s", key, field);
        long long v = r->integer % 8 ? -1 : r->integer / 8;
        freeReplyObject(r);
        return v;
}

static int u64_cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

/* A transfer_ids value as its digests in hex, sorted: the set it stands for
 * (the order follows the order reports were applied in). */
static char *digests_text(const redisReply *v) {
        size_t n = v->len / 8;
        uint64_t *d = calloc(n + 1, sizeof(*d));
        char *out = calloc(n * 17 + 2, 1);
        memcpy(d, v->str, n * 8);
        qsort(d, n, sizeof(*d), u64_cmp);
        for (size_t i = 0; i < n; i++)
                sprintf(out + 17 * i, "%016llx ", (unsigned long long)d[i]);
        free(d);
        return out;
}

static bool hexists(const char *key, const char *field) {
        redisReply *r = cmd("HEXISTS %s %s", key, field);
        bool v = r->integer == 1;
        freeReplyObject(r);
        return v;
}

static char *hget_str(const char *key, const char *field) {
        redisReply *r = cmd("HGET %s %s", key, field);
        char *s = strdup(r->type == REDIS_REPLY_STRING ? r->str : "(nil)");
        freeReplyObject(r);
        return s;
}

static int strp_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every key of prefix as sorted text lines, without totals.updated_at (a
 * clock) and, when skip_offsets, without the offsets hash. */
static char *dump(const char *prefix, bool skip_offsets) {
        size_t cap = 1 << 20, len = 0;
        char *out = malloc(cap);
        out[0] = '\0';
        for (int k = 0; ho_key_names[k]; k++) {
                char key[256];
                snprintf(key, sizeof(key), "{%s}:%s", prefix, ho_key_names[k]);
                if (skip_offsets && k == HO_KEY_OFFSETS)
                        continue;
                redisReply *t = cmd("TYPE %s", key);
                redisReply *r;
                bool pairs = true;
                if (!strcmp(t->str, "hash"))
                        r = cmd("HGETALL %s", key);
                else if (!strcmp(t->str, "zset"))
                        r = cmd("ZRANGE %s 0 -1 WITHSCORES", key);
                else if (!strcmp(t->str, "set")) {
                        r = cmd("SMEMBERS %s", key);
                        pairs = false;
                } else {
                        r = NULL;
                }
                size_t n = r ? (pairs ? r->elements / 2 : r->elements) : 0;
                char **lines = calloc(n + 1, sizeof(*lines));
                size_t nl = 0;
                for (size_t i = 0; i < n; i++) {
                        const char *f = r->element[pairs ? 2 * i : i]->str;
                        const char *v = pairs ? r->element[2 * i + 1]->str : "";
                        char *hex = NULL;
                        if (k == HO_KEY_TOTALS && !strcmp(f, "updated_at"))
                                continue;
                        if (k == HO_KEY_TRANSFER_IDS)
                                v = hex = digests_text(r->element[2 * i + 1]);
                        if (asprintf(&lines[nl++], "%s %s = %s\n", ho_key_names[k], f, v) < 0)
                                fail();
                        free(hex);
                }
                qsort(lines, nl, sizeof(*lines), strp_cmp);
                for (size_t i = 0; i < nl; i++) {
                        size_t l = strlen(lines[i]);
                        while (len + l + 1 > cap)
                                out = realloc(out, cap *= 2);
                        memcpy(out + len, lines[i], l + 1);
                        len += l;
                        free(lines[i]);
                }
                free(lines);
                if (r)
                        freeReplyObject(r);
                freeReplyObject(t);
        }
        return out;
}

static void assert_same_dump(const char *p1, const char *p2, bool skip_offsets) {
        char *a = dump(p1, skip_offsets), *b = dump(p2, skip_offsets);
        if (strcmp(a, b)) {
                /* show the first difference */
                size_t i = 0;
                while (a[i] == b[i])
                        i++;
                while (i > 0 && a[i - 1] != '\n')
                        i--;
                fail_msg("state of {%s} and {%s} differ at:\n%.300s\n---\n%.300s", p1, p2, a + i,
                         b + i);
        }
        free(a);
        free(b);
}

/* ---- tests ---- */

static char *source_path(const char *rel) {
        const char *dir = getenv("HO_SOURCE_DIR");
        char *p;
        if (dir) {
                if (asprintf(&p, "%s/%s", dir, rel) < 0)
                        return NULL;
                return p;
        }
        /* __FILE__ is .../tests/unit/test_agg_redis.c */
        const char *f = __FILE__, *cut = strstr(f, "tests/unit/");
        if (asprintf(&p, "%.*s%s", cut ? (int)(cut - f) : 0, f, rel) < 0)
                return NULL;
        return p;
}

static void test_sample(void **state) {
        (void)state;
        char *path = source_path("deploy/sample/reports.jsonl");
        FILE *fp = fopen(path, "r");
        if (!fp)
                fail_msg("cannot open \"%s\": %s", path, strerror(errno));
        msg_t m[16];
        size_t n = 0;
        char line[8192], err[256];
        while (n < 16 && fgets(line, sizeof(line), fp)) {
                m[n].reject = false;
                ho_report_init(&m[n].r);
                if (ho_report_from_json(line, strlen(line), &m[n].r, err, sizeof(err)))
                        fail_msg("%s:%zu: %s", path, n + 1, err);
                n++;
        }
        fclose(fp);
        free(path);
        assert_int_equal(n, 5);

        ho_agg_t *a = engine("sample");
        apply(a, "t", 0, m, 0, n, 0, 2);
        assert_int_equal(hget_ll("{sample}:totals", "transfers"), 3);
        assert_int_equal(hget_ll("{sample}:totals", "inmates"), 92);
        assert_int_equal(hget_ll("{sample}:totals", "reports"), 4);
        assert_int_equal(hget_ll("{sample}:totals", "aircraft"), 7);
        assert_int_equal(hget_ll("{sample}:totals", "rejected"), 0);
        assert_int_equal(hget_ll("{sample}:inmates_by_month", "2025-02"), 29);
        assert_int_equal(hget_ll("{sample}:inmates_by_month", "2025-08"), 26);
        assert_int_equal(hget_ll("{sample}:inmates_by_month", "2026-01"), 37);
        assert_int_equal(hget_ll("{sample}:inmates_by_route", "MX-US"), 92);
        assert_int_equal(hget_ll("{sample}:transfers_by_destination", "Houston"), 1);
        assert_int_equal(hget_ll("{sample}:transfers_by_destination", "San Diego"), 1);
        assert_int_equal(hget_ll("{sample}:offsets", "t:0"), 5);
        char *first = hget_str("{sample}:totals", "first_transfer_on");
        char *last = hget_str("{sample}:totals", "last_transfer_on");
        assert_string_equal(first, "2025-02-27");
        assert_string_equal(last, "2026-01-20");
        free(first);
        free(last);
        assert_true(hget_ll("{sample}:totals", "updated_at") > 1700000000000LL);
        /* the revised transfer's state is its latest report, with 2 reports */
        char *st = hget_str("{sample}:transfers", "mx-us-2025-08-12");
        json_t *o = json_loads(st, 0, NULL);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "inmate_count")), 26);
        assert_int_equal(json_integer_value(json_object_get(o, "reports")), 2);
        json_decref(o);
        free(st);
        redisReply *r = cmd("ZSCORE {sample}:largest_transfers mx-us-2026-01-20");
        assert_string_equal(r->str, "37");
        freeReplyObject(r);
        assert_int_equal(revision("{sample}:transfer_ids", "mx-us-2026-01-20"), 1);

        /* the whole sample again at later offsets (a producer re-run): nothing changes */
        char *before = dump("sample", true);
        apply(a, "t", 0, m, 0, n, 5, 3);
        char *after = dump("sample", true);
        assert_string_equal(before, after);
        free(before);
        free(after);
        assert_int_equal(hget_ll("{sample}:offsets", "t:0"), 10);
        ho_agg_stats_t s;
        ho_agg_stats(a, &s);
        assert_int_equal(s.reports, 4);
        assert_int_equal(s.duplicates, 6);
        ho_agg_destroy(a);
        for (size_t i = 0; i < n; i++)
                ho_report_clear(&m[i].r);
}

static int by_ids(const void *a, const void *b) {
        const ho_report_t *x = *(const ho_report_t *const *)a, *y = *(const ho_report_t *const *)b;
        int c = strcmp(x->transfer_id, y->transfer_id);
        return c ? c : strcmp(x->report_id, y->report_id);
}

/* An independent ground truth for the main counters, from the input alone. */
static void check_ground_truth(const char *prefix, const msg_t *m, size_t n) {
        char key[128];
        /* per transfer: its latest report; distinct (transfer, report) ids */
        const ho_report_t **rs = calloc(n + 1, sizeof(*rs));
        const ho_report_t **latest = calloc(n + 1, sizeof(*latest));
        size_t nr = 0, nx = 0;
        long long rejected = 0, reports = 0;
        for (size_t i = 0; i < n; i++) {
                if (m[i].reject)
                        rejected++;
                else
                        rs[nr++] = &m[i].r;
        }
        qsort(rs, nr, sizeof(*rs), by_ids);
        for (size_t i = 0; i < nr; i++) {
                bool same_t = i > 0 && !strcmp(rs[i]->transfer_id, rs[i - 1]->transfer_id);
                reports += !(same_t && !strcmp(rs[i]->report_id, rs[i - 1]->report_id));
                if (!same_t)
                        latest[nx++] = rs[i];
                else if (ho_report_cmp_latest(rs[i], latest[nx - 1]) > 0)
                        latest[nx - 1] = rs[i];
        }
        long long inmates = 0, persons = 0, aircraft = 0;
        long long by_month[3][12] = {{0}};
        long long by_city[6] = {0};
        int32_t first = INT32_MAX, lastd = INT32_MIN;
        for (size_t x = 0; x < nx; x++) {
                const ho_report_t *r = latest[x];
                inmates += r->inmate_count;
                persons += (long long)r->n_persons;
                aircraft += r->has_aircraft_count ? r->aircraft_count : 0;
                char d[11];
                ho_date_format(r->occurred_on, d);
                by_month[atoi(d) - 2024][atoi(d + 5) - 1] += r->inmate_count;
                for (int c = 0; c < 6; c++) {
                        bool has = false;
                        for (size_t k = 0; k < r->n_destinations; k++)
                                has |= !strcmp(r->destinations[k], cities[c]);
                        by_city[c] += has;
                }
                if (r->occurred_on < first)
                        first = r->occurred_on;
                if (r->occurred_on > lastd)
                        lastd = r->occurred_on;
        }
        snprintf(key, sizeof(key), "{%s}:totals", prefix);
        assert_int_equal(hget_ll(key, "transfers"), (long long)nx);
        assert_int_equal(hget_ll(key, "inmates"), inmates);
        assert_int_equal(hget_ll(key, "persons"), persons);
        assert_int_equal(hget_ll(key, "aircraft"), aircraft);
        assert_int_equal(hget_ll(key, "reports"), reports);
        assert_int_equal(hget_ll(key, "rejected"), rejected);
        char fd[11], ld[11];
        ho_date_format(first, fd);
        ho_date_format(lastd, ld);
        char *s1 = hget_str(key, "first_transfer_on"), *s2 = hget_str(key, "last_transfer_on");
        assert_string_equal(s1, fd);
        assert_string_equal(s2, ld);
        free(s1);
        free(s2);
        snprintf(key, sizeof(key), "{%s}:inmates_by_month", prefix);
        for (int y = 0; y < 3; y++)
                for (int mo = 0; mo < 12; mo++) {
                        char f[32];
                        snprintf(f, sizeof(f), "%d-%02d", 2024 + y, mo + 1);
                        if (by_month[y][mo])
                                assert_int_equal(hget_ll(key, f), by_month[y][mo]);
                        else
                                assert_false(hexists(key, f));
                }
        snprintf(key, sizeof(key), "{%s}:transfers_by_destination", prefix);
        for (int c = 0; c < 6; c++) {
                if (by_city[c])
                        assert_int_equal(hget_ll(key, cities[c]), by_city[c]);
                else
                        assert_false(hexists(key, cities[c]));
        }
        free(latest);
        free(rs);
}

/* Same messages, different orders and batch sizes: identical state, equal to
 * the ground truth. */
static void test_order_independence(void **state) {
        (void)state;
        size_t n;
        msg_t *m = synth(300, &n, true);
        ho_agg_t *a = engine("ord-a"), *b = engine("ord-b"), *c = engine("ord-c");
        apply(a, "t", 0, m, 0, n, 0, 50);
        check_ground_truth("ord-a", m, n);

        /* reversed, in batches of 7 */
        msg_t *rev = malloc(n * sizeof(*rev));
        for (size_t i = 0; i < n; i++)
                rev[i] = m[n - 1 - i];
        apply(b, "t", 0, rev, 0, n, 0, 7);
        /* one message per batch for the first 100, then one big batch */
        apply(c, "t", 0, m, 0, 100, 0, 1);
        apply(c, "t", 0, m, 100, n, 100, 100000);
        assert_same_dump("ord-a", "ord-b", false);
        assert_same_dump("ord-a", "ord-c", false);
        free(rev);
        ho_agg_destroy(a);
        ho_agg_destroy(b);
        ho_agg_destroy(c);
        msgs_free(m, n);
}

/* Batches of one engine committed through others (the worker's apply
 * threads): the same state as committing them through their own engine. */
static void test_commit_via(void **state) {
        (void)state;
        char err[512];
        size_t n;
        msg_t *m = synth(200, &n, true);
        ho_agg_t *a = engine("via-a"), *b = engine("via-b"), *v1 = engine("via-b"),
                 *v2 = engine("via-b"), *other = engine("via-other");
        apply(a, "t", 0, m, 0, n, 0, 10);

        ho_agg_batch_t *bt = ho_agg_batch_new(b, "t", 0, HO_OFFSET_NONE);
        assert_non_null(bt);
        ho_agg_t *via[2] = {v1, v2};
        size_t commits = 0;
        for (size_t i = 0; i < n; i++) {
                if (m[i].reject)
                        ho_agg_batch_reject(bt, (int64_t)i);
                else
                        assert_int_equal(ho_agg_batch_add(bt, &m[i].r, (int64_t)i, 100), HO_OK);
                if (ho_agg_batch_count(bt) < 10 && i + 1 < n)
                        continue;
                int64_t next = ho_agg_batch_next_offset(bt);
                if (commits == 0) {
                        /* another prefix: refused, nothing written, batch kept */
                        assert_int_equal(ho_agg_batch_commit_via(other, bt, next, err, sizeof(err)),
                                         HO_ERR_USAGE);
                        assert_non_null(strstr(err, "another prefix"));
                        assert_int_equal(ho_agg_batch_count(bt), 10);
                }
                ho_err_t e = ho_agg_batch_commit_via(via[commits++ % 2], bt, next, err,
                                                     sizeof(err));
                if (e)
                        fail_msg("commit via: %s: %s", ho_err2str(e), err);
        }
        ho_agg_batch_destroy(bt);
        assert_same_dump("via-a", "via-b", false);
        redisReply *r = cmd("EXISTS {via-other}:offsets {via-other}:totals");
        assert_int_equal(r->integer, 0);
        freeReplyObject(r);
        /* the stats are the committing engines' */
        ho_agg_stats_t sb, s1, s2;
        ho_agg_stats(b, &sb);
        ho_agg_stats(v1, &s1);
        ho_agg_stats(v2, &s2);
        assert_int_equal(sb.batches, 0);
        assert_int_equal(s1.batches + s2.batches, commits);
        ho_agg_destroy(a);
        ho_agg_destroy(b);
        ho_agg_destroy(v1);
        ho_agg_destroy(v2);
        ho_agg_destroy(other);
        msgs_free(m, n);
}

static void test_fence_and_applied_retry(void **state) {
        (void)state;
        char err[512];
        size_t n;
        msg_t *m = synth(20, &n, false);
        ho_agg_t *a = engine("fence"), *b = engine("fence");
        /* both think they own t:0 from the beginning */
        ho_agg_batch_t *ba = ho_agg_batch_new(a, "t", 0, HO_OFFSET_NONE);
        ho_agg_batch_t *bb = ho_agg_batch_new(b, "t", 0, HO_OFFSET_NONE);
        for (size_t i = 0; i < 10; i++)
                assert_int_equal(ho_agg_batch_add(ba, &m[i].r, (int64_t)i, 10), HO_OK);
        for (size_t i = 0; i < 5; i++)
                assert_int_equal(ho_agg_batch_add(bb, &m[i].r, (int64_t)i, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(ba, 10, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_agg_batch_start_offset(ba), 10);
        char *before = dump("fence", false);
        /* the stale one is refused and writes nothing */
        assert_int_equal(ho_agg_batch_commit(bb, 5, err, sizeof(err)), HO_ERR_FENCED);
        assert_non_null(strstr(err, "stored offset is 10"));
        assert_int_equal(ho_agg_batch_count(bb), 0);
        char *after = dump("fence", false);
        assert_string_equal(before, after);
        free(after);
        /* it re-reads its position and continues from there */
        int64_t pos;
        assert_int_equal(ho_agg_offset_get(b, "t", 0, &pos, err, sizeof(err)), HO_OK);
        assert_int_equal(pos, 10);
        ho_agg_batch_reset(bb, pos);
        for (size_t i = 10; i < n; i++)
                assert_int_equal(ho_agg_batch_add(bb, &m[i].r, (int64_t)i, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(bb, (int64_t)n, err, sizeof(err)), HO_OK);
        /* now a is stale: its next batch (start 10) is fenced by the script or the read */
        assert_int_equal(ho_agg_batch_add(ba, &m[10].r, 10, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(ba, 11, err, sizeof(err)), HO_ERR_FENCED);
        check_ground_truth("fence", m, n);

        /* a retry of an applied batch whose reply was lost: same start, same
         * next: HO_OK and nothing written twice */
        free(before);
        before = dump("fence", true);
        ho_agg_batch_reset(ba, 10);
        for (size_t i = 10; i < n; i++)
                assert_int_equal(ho_agg_batch_add(ba, &m[i].r, (int64_t)i, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(ba, (int64_t)n, err, sizeof(err)), HO_OK);
        after = dump("fence", true);
        assert_string_equal(before, after);
        ho_agg_stats_t s;
        ho_agg_stats(a, &s);
        assert_int_equal(s.already, 1);
        assert_int_equal(s.fenced, 1);
        free(before);
        free(after);
        ho_agg_batch_destroy(ba);
        ho_agg_batch_destroy(bb);
        ho_agg_destroy(a);
        ho_agg_destroy(b);
        msgs_free(m, n);
}

/* The conflict path: between engine A's read and its transaction, engine B
 * commits one report from another partition (the hook runs once). */
struct commit_ctx {
        ho_agg_t *b;
        const ho_report_t *r;
        int32_t partition;
};

static void commit_hook(void *arg) {
        struct commit_ctx *c = arg;
        char err[256];
        ho_agg_test_after_read = NULL; /* B's own commit must not recurse */
        ho_agg_batch_t *bb = ho_agg_batch_new(c->b, "t", c->partition, HO_OFFSET_NONE);
        assert_int_equal(ho_agg_batch_add(bb, c->r, 0, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(bb, 1, err, sizeof(err)), HO_OK);
        ho_agg_batch_destroy(bb);
}

/* Commit ba (of engine a) while c's commit lands between its read and its
 * transaction; a's conflicts counter must then read want. */
static void commit_racing(ho_agg_t *a, ho_agg_batch_t *ba, int64_t next, struct commit_ctx *c,
                          uint64_t want) {
        char err[256];
        ho_agg_test_after_read = commit_hook;
        ho_agg_test_after_read_arg = c;
        assert_int_equal(ho_agg_batch_commit(ba, next, err, sizeof(err)), HO_OK);
        assert_null(ho_agg_test_after_read);
        ho_agg_stats_t s;
        ho_agg_stats(a, &s);
        assert_int_equal(s.conflicts, want);
}

/* B applies a report of the same transfer from partition 1: A must refold. */
static void test_conflict_refold(void **state) {
        (void)state;
        ho_report_t r1, r2;
        mkr(&r1, "x", "r1", "2025-05-01", "2025-05-01T10:00:00Z", 10, "[\"Houston\"]", NULL, NULL);
        mkr(&r2, "x", "r2", "2025-06-01", "2025-06-01T10:00:00Z", 12, "[\"San Diego\"]", NULL,
            NULL);
        ho_agg_t *a = engine("confl"), *b = engine("confl");
        struct commit_ctx c = {b, &r2, 1};
        ho_agg_batch_t *ba = ho_agg_batch_new(a, "t", 0, HO_OFFSET_NONE);
        assert_int_equal(ho_agg_batch_add(ba, &r1, 0, 10), HO_OK);
        commit_racing(a, ba, 1, &c, 1);
        assert_int_equal(hget_ll("{confl}:totals", "transfers"), 1);
        assert_int_equal(hget_ll("{confl}:totals", "inmates"), 12);
        assert_int_equal(hget_ll("{confl}:totals", "reports"), 2);
        assert_int_equal(revision("{confl}:transfer_ids", "x"), 2);
        assert_int_equal(hget_ll("{confl}:inmates_by_month", "2025-06"), 12);
        assert_false(hexists("{confl}:inmates_by_month", "2025-05"));
        assert_false(hexists("{confl}:transfers_by_destination", "Houston"));
        assert_int_equal(hget_ll("{confl}:offsets", "t:0"), 1);
        assert_int_equal(hget_ll("{confl}:offsets", "t:1"), 1);
        ho_agg_batch_destroy(ba);
        ho_agg_destroy(a);
        ho_agg_destroy(b);
        ho_report_clear(&r1);
        ho_report_clear(&r2);
}

/* A forced digest collision: a second report of one transfer whose id
 * hashes like the first is taken for a duplicate (the documented cost of
 * 8-byte digests: that report is not counted). The same digest under
 * another transfer is another report. */
static uint64_t collide(const char *rid, size_t len) {
        (void)len;
        return !strncmp(rid, "c", 1) ? 42 : (uint64_t)rid[0] * 1000003u + len;
}

static void test_digest_collision(void **state) {
        (void)state;
        char err[256];
        ho_report_t r1, r2, r3;
        mkr(&r1, "x", "c-one", "2025-05-01", "2025-05-01T10:00:00Z", 10, NULL, NULL, NULL);
        mkr(&r2, "x", "c-two", "2025-05-01", "2025-05-02T10:00:00Z", 12, NULL, NULL, NULL);
        mkr(&r3, "y", "c-two", "2025-05-01", "2025-05-02T10:00:00Z", 7, NULL, NULL, NULL);
        ho_agg_test_digest = collide;
        ho_agg_t *a = engine("coll");
        ho_agg_batch_t *b = ho_agg_batch_new(a, "t", 0, HO_OFFSET_NONE);
        assert_int_equal(ho_agg_batch_add(b, &r1, 0, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(b, 1, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_agg_batch_add(b, &r2, 1, 10), HO_OK);
        assert_int_equal(ho_agg_batch_add(b, &r3, 2, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(b, 3, err, sizeof(err)), HO_OK);
        ho_agg_test_digest = NULL;
        assert_int_equal(hget_ll("{coll}:totals", "reports"), 2);
        assert_int_equal(hget_ll("{coll}:totals", "inmates"), 17); /* 10 for x, 7 for y */
        assert_int_equal(revision("{coll}:transfer_ids", "x"), 1);
        assert_int_equal(revision("{coll}:transfer_ids", "y"), 1);
        ho_agg_stats_t s;
        ho_agg_stats(a, &s);
        assert_int_equal(s.duplicates, 1);
        ho_agg_batch_destroy(b);
        ho_agg_destroy(a);
        ho_report_clear(&r1);
        ho_report_clear(&r2);
        ho_report_clear(&r3);
}

/* A key of the wrong type stops the batch before its first write, naming
 * the key; once fixed, the same batch applies exactly. */
static void test_wrong_type_writes_nothing(void **state) {
        (void)state;
        char err[512];
        size_t n;
        msg_t *m = synth(20, &n, false);
        freeReplyObject(cmd("SET {wt}:totals oops"));
        ho_agg_t *a = engine("wt");
        ho_agg_batch_t *b = ho_agg_batch_new(a, "t", 0, HO_OFFSET_NONE);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(ho_agg_batch_add(b, &m[i].r, (int64_t)i, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(b, (int64_t)n, err, sizeof(err)), HO_ERR_JSON);
        assert_non_null(strstr(err, "{wt}:totals"));
        assert_non_null(strstr(err, "expected a hash"));
        redisReply *r = cmd("EXISTS {wt}:transfers {wt}:transfer_ids {wt}:offsets");
        assert_int_equal(r->integer, 0);
        freeReplyObject(r);
        assert_int_equal(ho_agg_batch_count(b), n); /* kept */
        freeReplyObject(cmd("DEL {wt}:totals"));
        assert_int_equal(ho_agg_batch_commit(b, (int64_t)n, err, sizeof(err)), HO_OK);
        check_ground_truth("wt", m, n);
        ho_agg_batch_destroy(b);
        ho_agg_destroy(a);
        msgs_free(m, n);
}

/* A prefix of the earlier layout (a global report id set) is refused, with
 * the way out in the message. */
static void test_legacy_layout_refused(void **state) {
        (void)state;
        char err[512];
        ho_report_t r1;
        mkr(&r1, "x", "r1", "2025-05-01", "2025-05-01T10:00:00Z", 10, NULL, NULL, NULL);
        freeReplyObject(cmd("SADD {leg}:report_ids %s", "x r0"));
        ho_agg_t *a = engine("leg");
        ho_agg_batch_t *b = ho_agg_batch_new(a, "t", 0, HO_OFFSET_NONE);
        assert_int_equal(ho_agg_batch_add(b, &r1, 0, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(b, 1, err, sizeof(err)), HO_ERR_JSON);
        assert_non_null(strstr(err, "{leg}:report_ids"));
        assert_non_null(strstr(err, "handover-replay"));
        assert_false(hexists("{leg}:transfers", "x"));
        ho_agg_batch_destroy(b);
        ho_agg_destroy(a);
        ho_report_clear(&r1);
}

/* Partitions added: a batch whose homes were computed with the old count
 * must not land after another raised it (its EXEC refuses, it reads again
 * with the new count). Then a transfer written from two partitions that
 * are neither its home still conflicts through the home's fence. */
/* A transfer id whose home among n partitions is h. */
static void tid_with_home(int32_t h, int32_t n, char *out, size_t size) {
        for (int i = 0;; i++) {
                snprintf(out, size, "home-%d", i);
                if (ho_agg_home(out, strlen(out), n) == h)
                        return;
        }
}

static void test_partitions_grow_and_homes(void **state) {
        (void)state;
        char tid[32];
        ho_report_t r1, r2, r3, r4;
        mkr(&r1, "g1", "r1", "2025-05-01", "2025-05-01T10:00:00Z", 10, NULL, NULL, NULL);
        mkr(&r2, "g2", "r1", "2025-05-01", "2025-05-01T10:00:00Z", 5, NULL, NULL, NULL);
        ho_agg_t *a = engine("grow"), *b = engine("grow");
        struct commit_ctx c = {b, &r2, 5};
        ho_agg_batch_t *ba = ho_agg_batch_new(a, "t", 0, HO_OFFSET_NONE);
        assert_int_equal(ho_agg_batch_add(ba, &r1, 0, 10), HO_OK);
        commit_racing(a, ba, 1, &c, 1);
        redisReply *r = cmd("GET {grow}:layout");
        assert_string_equal(r->str, "6");
        freeReplyObject(r);
        assert_int_equal(hget_ll("{grow}:totals", "inmates"), 15);

        /* home 3 of 6; written from partitions 1 and 2 at once */
        tid_with_home(3, 6, tid, sizeof(tid));
        mkr(&r3, tid, "a", "2025-06-01", "2025-06-01T10:00:00Z", 20, NULL, NULL, NULL);
        mkr(&r4, tid, "b", "2025-06-01", "2025-06-02T10:00:00Z", 30, NULL, NULL, NULL);
        struct commit_ctx c2 = {b, &r4, 2};
        ho_agg_batch_t *b1 = ho_agg_batch_new(a, "t", 1, HO_OFFSET_NONE);
        assert_int_equal(ho_agg_batch_add(b1, &r3, 0, 10), HO_OK);
        commit_racing(a, b1, 1, &c2, 2);
        assert_int_equal(revision("{grow}:transfer_ids", tid), 2);
        assert_int_equal(hget_ll("{grow}:totals", "inmates"), 15 + 30);
        assert_int_equal(hget_ll("{grow}:totals", "transfers"), 3);
        assert_int_equal(hget_ll("{grow}:totals", "reports"), 4);
        ho_agg_batch_destroy(ba);
        ho_agg_batch_destroy(b1);
        ho_agg_destroy(a);
        ho_agg_destroy(b);
        ho_report_clear(&r1);
        ho_report_clear(&r2);
        ho_report_clear(&r3);
        ho_report_clear(&r4);
}

/* Counts reaching zero are removed; first/last dates follow revisions. */
static void test_zero_removal_and_dates(void **state) {
        (void)state;
        msg_t m[4] = {{.reject = false}};
        mkr(&m[0].r, "early", "e1", "2024-01-15", "2024-01-16T00:00:00Z", 5, "[\"Houston\"]",
            "[{\"name\":\"A\",\"affiliation\":null}]", "{\"Houston\":5}");
        mkr(&m[1].r, "late", "l1", "2025-12-01", "2025-12-02T00:00:00Z", 7, NULL, NULL, NULL);
        /* revisions: "early" moves to 2025-06 with no cities nor persons */
        mkr(&m[2].r, "early", "e2", "2025-06-10", "2024-02-01T00:00:00Z", 5, NULL, NULL, NULL);
        /* "late" moves later */
        mkr(&m[3].r, "late", "l2", "2026-02-01", "2026-02-02T00:00:00Z", 0, NULL, NULL, NULL);
        ho_agg_t *a = engine("zero");
        apply(a, "t", 0, m, 0, 2, 0, 10);
        char *s = hget_str("{zero}:totals", "first_transfer_on");
        assert_string_equal(s, "2024-01-15");
        free(s);
        assert_int_equal(hget_ll("{zero}:inmates_by_destination", "Houston"), 5);
        apply(a, "t", 0, m, 2, 4, 2, 10);
        s = hget_str("{zero}:totals", "first_transfer_on");
        assert_string_equal(s, "2025-06-10");
        free(s);
        s = hget_str("{zero}:totals", "last_transfer_on");
        assert_string_equal(s, "2026-02-01");
        free(s);
        assert_false(hexists("{zero}:inmates_by_month", "2024-01"));
        assert_false(hexists("{zero}:inmates_by_month", "2025-12"));
        /* 0 inmates in 2026-02: a zero value is absent too */
        assert_false(hexists("{zero}:inmates_by_month", "2026-02"));
        assert_int_equal(hget_ll("{zero}:inmates_by_month", "2025-06"), 5);
        assert_false(hexists("{zero}:transfers_by_destination", "Houston"));
        assert_false(hexists("{zero}:inmates_by_destination", "Houston"));
        assert_false(hexists("{zero}:persons_by_affiliation", "unknown"));
        assert_false(hexists("{zero}:transfers_by_date", "2024-01-15"));
        assert_int_equal(hget_ll("{zero}:totals", "persons"), 0);
        assert_int_equal(hget_ll("{zero}:totals", "inmates"), 5);
        redisReply *r = cmd("ZRANGE {zero}:transfer_dates 0 -1 WITHSCORES");
        assert_int_equal(r->elements, 4);
        assert_string_equal(r->element[0]->str, "2025-06-10");
        assert_string_equal(r->element[2]->str, "2026-02-01");
        int32_t days;
        ho_date_parse("2026-02-01", &days);
        assert_int_equal(atoll(r->element[3]->str), days);
        freeReplyObject(r);
        r = cmd("ZSCORE {zero}:largest_transfers late");
        assert_string_equal(r->str, "0");
        freeReplyObject(r);
        ho_agg_destroy(a);
        for (int i = 0; i < 4; i++)
                ho_report_clear(&m[i].r);
}

static void test_rejects_only_and_empty(void **state) {
        (void)state;
        char err[256];
        ho_agg_t *a = engine("rej");
        ho_agg_batch_t *b = ho_agg_batch_new(a, "t", 3, HO_OFFSET_NONE);
        /* no stored offset and nothing added: there is no next offset to write */
        assert_int_equal(ho_agg_batch_commit(b, HO_OFFSET_NONE, err, sizeof(err)), HO_ERR_USAGE);
        ho_agg_batch_reject(b, 7);
        ho_agg_batch_reject(b, 8);
        assert_int_equal(ho_agg_batch_next_offset(b), 9);
        assert_int_equal(ho_agg_batch_commit(b, 9, err, sizeof(err)), HO_OK);
        assert_int_equal(hget_ll("{rej}:totals", "rejected"), 2);
        assert_int_equal(hget_ll("{rej}:totals", "transfers"), 0);
        assert_true(hexists("{rej}:totals", "first_transfer_on"));
        assert_int_equal(hget_ll("{rej}:offsets", "t:3"), 9);
        /* an empty batch that only moves the offset (e.g. past a gap) */
        assert_int_equal(ho_agg_batch_commit(b, 9, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_agg_batch_commit(b, 12, err, sizeof(err)), HO_OK);
        assert_int_equal(hget_ll("{rej}:offsets", "t:3"), 12);
        /* going backwards is a caller bug */
        assert_int_equal(ho_agg_batch_commit(b, 11, err, sizeof(err)), HO_ERR_USAGE);
        ho_agg_batch_destroy(b);
        ho_agg_destroy(a);
}

/* The engine's connection is killed and the script cache flushed: the next
 * commit fails retriably or reloads, and the retry lands exactly once. */
static void test_reconnect_and_noscript(void **state) {
        (void)state;
        char err[512];
        size_t n;
        msg_t *m = synth(30, &n, false);
        ho_agg_t *a = engine("recon");
        ho_agg_batch_t *b = ho_agg_batch_new(a, "t", 0, HO_OFFSET_NONE);
        for (size_t i = 0; i < 10; i++)
                ho_agg_batch_add(b, &m[i].r, (int64_t)i, 10);
        assert_int_equal(ho_agg_batch_commit(b, 10, err, sizeof(err)), HO_OK);
        freeReplyObject(cmd("CLIENT KILL TYPE normal SKIPME yes"));
        for (size_t i = 10; i < 20; i++)
                ho_agg_batch_add(b, &m[i].r, (int64_t)i, 10);
        ho_err_t e = ho_agg_batch_commit(b, 20, err, sizeof(err));
        if (e) {
                assert_int_equal(e, HO_ERR_REDIS);
                assert_int_equal(ho_agg_batch_count(b), 10); /* kept for the retry */
                assert_int_equal(ho_agg_batch_commit(b, 20, err, sizeof(err)), HO_OK);
        }
        freeReplyObject(cmd("SCRIPT FLUSH"));
        for (size_t i = 20; i < 25; i++)
                ho_agg_batch_add(b, &m[i].r, (int64_t)i, 10);
        assert_int_equal(ho_agg_batch_commit(b, 25, err, sizeof(err)), HO_OK);
        /* a server that turned replica (as after a failover) refuses writes:
         * retriable, and the batch lands once it is primary again. The
         * "primary" it follows does not exist, so it keeps its data. */
        freeReplyObject(cmd("REPLICAOF 127.0.0.1 %d", ho_test_free_port()));
        for (size_t i = 25; i < n; i++)
                ho_agg_batch_add(b, &m[i].r, (int64_t)i, 10);
        assert_int_equal(ho_agg_batch_commit(b, (int64_t)n, err, sizeof(err)), HO_ERR_REDIS);
        assert_non_null(strstr(err, "READONLY"));
        freeReplyObject(cmd("REPLICAOF NO ONE"));
        assert_int_equal(ho_agg_batch_commit(b, (int64_t)n, err, sizeof(err)), HO_OK);
        check_ground_truth("recon", m, n);
        ho_agg_batch_destroy(b);
        ho_agg_destroy(a);

        /* unreachable Redis: a retriable error naming the problem, no crash */
        ho_redis_url_t bad;
        char u[64];
        snprintf(u, sizeof(u), "redis://127.0.0.1:%d/0", ho_test_free_port());
        ho_redis_url_parse(u, &bad, err, sizeof(err));
        ho_agg_conf_t c = {.prefix = "recon", .timeout_ms = 500};
        a = ho_agg_new(&c, &bad, err, sizeof(err));
        int64_t pos;
        assert_int_equal(ho_agg_offset_get(a, "t", 0, &pos, err, sizeof(err)), HO_ERR_REDIS);
        ho_agg_destroy(a);
        ho_redis_url_clear(&bad);
        msgs_free(m, n);
}

static void test_bad_config(void **state) {
        (void)state;
        char err[256];
        ho_agg_conf_t c = {.prefix = "a{b"};
        assert_null(ho_agg_new(&c, &url, err, sizeof(err)));
        assert_non_null(strstr(err, "a{b"));
        c.prefix = "";
        assert_null(ho_agg_new(&c, &url, err, sizeof(err)));
        c.prefix = "ok";
        c.ns = "st}";
        assert_null(ho_agg_new(&c, &url, err, sizeof(err)));
}

/* Stored states in another form are read (any member order, whitespace);
 * a corrupt one stops the batch with HO_ERR_JSON naming the transfer, and
 * writes nothing. */
static void test_stored_state_forms(void **state) {
        (void)state;
        char err[512];
        ho_report_t r1, r2;
        mkr(&r1, "x", "r1", "2025-05-01", "2025-05-01T10:00:00Z", 10, "[\"Houston\"]", NULL, NULL);
        mkr(&r2, "x", "r2", "2025-06-01", "2025-06-01T10:00:00Z", 12, NULL, NULL, NULL);
        ho_agg_t *a = engine("forms");
        ho_agg_batch_t *b = ho_agg_batch_new(a, "t", 0, HO_OFFSET_NONE);
        assert_int_equal(ho_agg_batch_add(b, &r1, 0, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(b, 1, err, sizeof(err)), HO_OK);
        /* rewrite the state pretty-printed with sorted members */
        char *st = hget_str("{forms}:transfers", "x");
        json_t *o = json_loads(st, 0, NULL);
        char *pretty = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        freeReplyObject(cmd("HSET {forms}:transfers x %s", pretty));
        assert_int_equal(ho_agg_batch_add(b, &r2, 1, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(b, 2, err, sizeof(err)), HO_OK);
        assert_int_equal(hget_ll("{forms}:totals", "inmates"), 12);
        assert_false(hexists("{forms}:transfers_by_destination", "Houston"));
        free(pretty);
        free(st);
        json_decref(o);

        /* corrupt: HO_ERR_JSON, the batch kept, nothing written */
        freeReplyObject(cmd("HSET {forms}:transfers x {\"inmate_count\":\"many\"}"));
        char *before = dump("forms", false);
        ho_report_t r3;
        mkr(&r3, "x", "r3", "2025-07-01", "2025-07-01T10:00:00Z", 13, NULL, NULL, NULL);
        assert_int_equal(ho_agg_batch_add(b, &r3, 2, 10), HO_OK);
        assert_int_equal(ho_agg_batch_commit(b, 3, err, sizeof(err)), HO_ERR_JSON);
        assert_non_null(strstr(err, "transfer \"x\""));
        assert_int_equal(ho_agg_batch_count(b), 1);
        char *after = dump("forms", false);
        assert_string_equal(before, after);
        free(before);
        free(after);
        ho_agg_batch_destroy(b);
        ho_agg_destroy(a);
        ho_report_clear(&r1);
        ho_report_clear(&r2);
        ho_report_clear(&r3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_config),
                cmocka_unit_test(test_sample),
                cmocka_unit_test(test_order_independence),
                cmocka_unit_test(test_commit_via),
                cmocka_unit_test(test_fence_and_applied_retry),
                cmocka_unit_test(test_conflict_refold),
                cmocka_unit_test(test_digest_collision),
                cmocka_unit_test(test_wrong_type_writes_nothing),
                cmocka_unit_test(test_legacy_layout_refused),
                cmocka_unit_test(test_partitions_grow_and_homes),
                cmocka_unit_test(test_zero_removal_and_dates),
                cmocka_unit_test(test_rejects_only_and_empty),
                cmocka_unit_test(test_reconnect_and_noscript),
                cmocka_unit_test(test_stored_state_forms),
        };
        return cmocka_run_group_tests(tests, start_redis, stop_redis);
}
