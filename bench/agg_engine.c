/*
 * agg_engine.c: the aggregation engine's throughput on its own, without Kafka.
 * Reads a JSON Lines history (bench/gen's output), folds it into Redis through
 * one engine (agg.h) in batches, twice: the history as it comes (new
 * transfers, revisions, duplicates), then the same messages again at later
 * offsets (all duplicates). Prints wall time, the engine's and redis-server's
 * CPU seconds and where redis-server spent them, per pass. bench/agg-engine
 * runs it against a private redis-server and checks the state it leaves
 * against bench/gen's ground truth.
 *
 *   bench_agg_engine -r REDIS_URL -p PREFIX [-n BATCH] FILE.jsonl
 *
 * Exit status: 0 ok, 1 runtime failure (unreadable input, Redis), 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include "handover/agg.h"
#include "handover/jreport.h"
#include "handover/redis.h"

#define BENCH_TOPIC "bench"

typedef struct bench_msg_s {
        ho_report_t r;
        size_t bytes; /* the line's length: the value size the batch's byte cap counts */
} bench_msg_t;

static double bench_secs(clockid_t clk) {
        struct timespec t;
        clock_gettime(clk, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* redis-server's CPU seconds so far (INFO cpu: user + sys); -1 when it cannot say */
static double bench_redis_cpu(redisContext *rc) {
        redisReply *r = redisCommand(rc, "INFO cpu");
        if (!r || r->type != REDIS_REPLY_STRING) {
                if (r)
                        freeReplyObject(r);
                return -1;
        }
        const char *u = strstr(r->str, "used_cpu_user:"), *s = strstr(r->str, "used_cpu_sys:");
        double cpu = (u ? atof(u + 14) : 0) + (s ? atof(s + 13) : 0);
        freeReplyObject(r);
        return cpu;
}

/* Every command redis-server ran in the pass, from INFO commandstats (reset before it). */
static void bench_print_commandstats(redisContext *rc) {
        redisReply *st = redisCommand(rc, "INFO commandstats");
        if (!st || st->type != REDIS_REPLY_STRING) {
                if (st)
                        freeReplyObject(st);
                return;
        }
        for (const char *p = strstr(st->str, "cmdstat_"); p; p = strstr(p + 1, "cmdstat_")) {
                const char *name = p + strlen("cmdstat_");
                if (!strncmp(name, "info:", 5) || !strncmp(name, "config|", 7))
                        continue; /* the benchmark's own questions */
                printf("agg bench:   redis %.*s\n", (int)strcspn(name, "\r\n"), name);
        }
        freeReplyObject(st);
}

static int bench_load(const char *path, bench_msg_t **out, size_t *n_out) {
        FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
        if (!f) {
                fprintf(stderr, "bench_agg_engine: cannot open \"%s\": %s\n", path,
                        strerror(errno));
                return -1;
        }
        size_t n = 0, cap = 0, lineno = 0;
        bench_msg_t *m = NULL;
        char *line = NULL;
        size_t line_cap = 0;
        ssize_t len;
        int rc = 0;
        while ((len = getline(&line, &line_cap, f)) > 0) {
                lineno++;
                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        len--;
                if (!len)
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 4096;
                        bench_msg_t *nm = realloc(m, ncap * sizeof(*m));
                        if (!nm) {
                                fprintf(stderr, "bench_agg_engine: out of memory\n");
                                rc = -1;
                                break;
                        }
                        m = nm;
                        cap = ncap;
                }
                char err[512];
                ho_report_init(&m[n].r);
                if (ho_report_from_json(line, (size_t)len, &m[n].r, err, sizeof(err))) {
                        fprintf(stderr, "bench_agg_engine: %s:%zu: %s\n", path, lineno, err);
                        ho_report_clear(&m[n].r);
                        rc = -1;
                        break;
                }
                m[n++].bytes = (size_t)len;
        }
        free(line);
        if (f != stdin)
                fclose(f);
        if (rc) {
                for (size_t i = 0; i < n; i++)
                        ho_report_clear(&m[i].r);
                free(m);
                return -1;
        }
        *out = m;
        *n_out = n;
        return 0;
}

/* Fold m[0..n) at offsets base+i into partition 0, a commit every bsz messages. */
static int bench_apply(ho_agg_t *a, const bench_msg_t *m, size_t n, int64_t base, size_t bsz) {
        char err[512];
        int64_t start;
        ho_err_t e = ho_agg_offset_get(a, BENCH_TOPIC, 0, &start, err, sizeof(err));
        if (e) {
                fprintf(stderr, "bench_agg_engine: reading the stored offset: %s: %s\n",
                        ho_err2str(e), err);
                return -1;
        }
        ho_agg_batch_t *b = ho_agg_batch_new(a, BENCH_TOPIC, 0, start);
        if (!b) {
                fprintf(stderr, "bench_agg_engine: out of memory\n");
                return -1;
        }
        for (size_t i = 0; i < n && !e; i++) {
                e = ho_agg_batch_add(b, &m[i].r, base + (int64_t)i, m[i].bytes);
                if (e)
                        snprintf(err, sizeof(err), "adding message %zu", i);
                else if (ho_agg_batch_count(b) >= bsz || i + 1 == n)
                        e = ho_agg_batch_commit(b, ho_agg_batch_next_offset(b), err, sizeof(err));
        }
        ho_agg_batch_destroy(b);
        if (e) {
                fprintf(stderr, "bench_agg_engine: %s: %s\n", ho_err2str(e), err);
                return -1;
        }
        return 0;
}

static int bench_pass(ho_agg_t *a, redisContext *rc, const bench_msg_t *m, size_t n, int64_t base,
                      size_t bsz, const char *what) {
        redisReply *r = redisCommand(rc, "CONFIG RESETSTAT");
        if (r)
                freeReplyObject(r);
        double w0 = bench_secs(CLOCK_MONOTONIC), c0 = bench_secs(CLOCK_PROCESS_CPUTIME_ID);
        double r0 = bench_redis_cpu(rc);
        if (bench_apply(a, m, n, base, bsz))
                return -1;
        double w = bench_secs(CLOCK_MONOTONIC) - w0, c = bench_secs(CLOCK_PROCESS_CPUTIME_ID) - c0;
        double rs = bench_redis_cpu(rc) - r0;
        /* wall time depends on whoever else shares the machine; CPU seconds
         * (engine + redis-server) much less so */
        printf("agg bench: %s: %zu messages in %.3f s wall = %.0f msg/s; CPU: engine %.3f s + "
               "redis %.3f s = %.0f msg per CPU-second\n",
               what, n, w, (double)n / w, c, rs, (double)n / (c + rs));
        bench_print_commandstats(rc);
        return 0;
}

static void bench_usage(FILE *out) {
        fprintf(out, "usage: bench_agg_engine -r REDIS_URL -p PREFIX [-n BATCH] FILE.jsonl\n");
}

int main(int argc, char **argv) {
        const char *redis = NULL, *prefix = NULL;
        size_t bsz = 5000;
        int opt;
        while ((opt = getopt(argc, argv, "r:p:n:h")) != -1) {
                switch (opt) {
                case 'r':
                        redis = optarg;
                        break;
                case 'p':
                        prefix = optarg;
                        break;
                case 'n': {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(optarg, &end, 10);
                        if (errno || end == optarg || *end || v == 0 || v > 1000000) {
                                fprintf(stderr,
                                        "bench_agg_engine: -n: expected a batch size "
                                        "1..1000000, got \"%s\"\n",
                                        optarg);
                                return 2;
                        }
                        bsz = (size_t)v;
                        break;
                }
                case 'h':
                        bench_usage(stdout);
                        return 0;
                default:
                        bench_usage(stderr);
                        return 2;
                }
        }
        if (!redis || !prefix || optind != argc - 1) {
                bench_usage(stderr);
                return 2;
        }
        char err[512];
        ho_redis_url_t url;
        if (ho_redis_url_parse(redis, &url, err, sizeof(err))) {
                fprintf(stderr, "bench_agg_engine: -r: %s\n", err);
                return 2;
        }
        bench_msg_t *m = NULL;
        size_t n = 0;
        int rc = 1;
        redisContext *c = NULL;
        ho_agg_t *a = NULL;
        if (bench_load(argv[optind], &m, &n))
                goto out;
        c = ho_redis_connect(&url, 5000, err, sizeof(err));
        if (!c) {
                fprintf(stderr, "bench_agg_engine: %s\n", err);
                goto out;
        }
        ho_agg_conf_t conf = {.prefix = prefix, .ns = "", .max_batch_msgs = bsz};
        a = ho_agg_new(&conf, &url, err, sizeof(err));
        if (!a) {
                fprintf(stderr, "bench_agg_engine: %s\n", err);
                goto out;
        }
        if (bench_pass(a, c, m, n, 0, bsz, "history (new transfers, revisions, duplicates)"))
                goto out;
        ho_agg_stats_t st;
        ho_agg_stats(a, &st);
        printf("agg bench: %" PRIu64 " new reports, %" PRIu64 " duplicates, %" PRIu64 " batches\n",
               st.reports, st.duplicates, st.batches);
        if (bench_pass(a, c, m, n, (int64_t)n, bsz, "the same again (all duplicates)"))
                goto out;
        rc = 0;
out:
        ho_agg_destroy(a);
        if (c)
                redisFree(c);
        for (size_t i = 0; i < n; i++)
                ho_report_clear(&m[i].r);
        free(m);
        ho_redis_url_clear(&url);
        return rc;
}
