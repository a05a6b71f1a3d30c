/*
 * test_produce_run.c: handover-produce's run (ho_produce_run, lib/produce.c)
 * against librdkafka's in-process mock cluster: named files validated whole
 * and then sent in order, a bad line in pass 1 sending nothing,
 * --skip-invalid's rejects, a dry run, an interruption during pass 1, and
 * follow mode (lines appended, a bad line, the stop flag). What reached the
 * topic is read back with a consumer and decoded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "handover/clock.h"
#include "handover/produce.h"

#define TOPIC "handover.test"

static char tmpdir[256];

static const char *tpath(const char *name) {
        static char p[4][512];
        static int k;
        k = (k + 1) & 3;
        snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
        return p[k];
}

static void write_str(const char *path, const char *mode, const char *s) {
        FILE *fp = fopen(path, mode);
        assert_non_null(fp);
        assert_int_equal(fputs(s, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
}

/* A valid report line of transfer `id`, reported `min` minutes after noon. */
static const char *report_line(const char *id, int inmates, int min) {
        static char line[4][1024];
        static int k;
        k = (k + 1) & 3;
        snprintf(line[k], sizeof(line[k]),
                 "{\"transfer_id\": \"%s\", \"occurred_on\": \"2026-01-20\", "
                 "\"reported_at\": \"2026-01-21T12:%02d:00Z\", \"source\": \"Reuters\", "
                 "\"origin_country\": \"MX\", \"destination_country\": \"US\", "
                 "\"inmate_count\": %d, \"aircraft_count\": null, \"destinations\": "
                 "[\"Houston\"], \"cumulative_total\": null, \"authority\": null, "
                 "\"persons\": []}\n",
                 id, min, inmates);
        return line[k];
}

/* ---- the mock cluster and what reached it ------------------------------- */

typedef struct fixture_s {
        rd_kafka_t *rk; /* owns the mock cluster */
        rd_kafka_t *q;  /* a client of it, for the watermarks */
        rd_kafka_mock_cluster_t *mc;
        char bootstraps[256];
        ho_codec_t *codec;
} fixture_t;

static int setup(void **state) {
        char err[512];
        fixture_t *f = calloc(1, sizeof(*f));
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_produce_run.XXXXXX");
        if (!f || !mkdtemp(tmpdir))
                return -1;
        rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
        f->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!f->rk)
                return -1;
        f->mc = rd_kafka_mock_cluster_new(f->rk, 1);
        if (!f->mc || rd_kafka_mock_topic_create(f->mc, TOPIC, 1, 1))
                return -1;
        snprintf(f->bootstraps, sizeof(f->bootstraps), "%s",
                 rd_kafka_mock_cluster_bootstraps(f->mc));
        conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", f->bootstraps, err, sizeof(err));
        rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
        f->q = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        f->codec = ho_codec_new(err, sizeof(err));
        if (!f->q || !f->codec)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture_t *f = *state;
        char cmd[300];
        ho_codec_destroy(f->codec);
        rd_kafka_destroy(f->q);
        rd_kafka_mock_cluster_destroy(f->mc);
        rd_kafka_destroy(f->rk);
        free(f);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

/* Producer settings for the run: handover-produce's defaults, the mock brokers. */
static rd_kafka_conf_t *kconf(const fixture_t *f) {
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        assert_int_equal(ho_producer_conf_defaults(conf, err, sizeof(err)), HO_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", f->bootstraps, err,
                                           sizeof(err)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "message.timeout.ms", "10000", err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        return conf;
}

/* The topic's next offset (its message count: one partition, nothing deleted). */
static int64_t topic_end(const fixture_t *f) {
        int64_t lo = 0, hi = -1;
        assert_int_equal(rd_kafka_query_watermark_offsets(f->q, TOPIC, 0, &lo, &hi, 5000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        return hi;
}

/* Wait up to 10 s for the topic to hold n messages. */
static void wait_topic_end(const fixture_t *f, int64_t n) {
        int64_t deadline = ho_mono_ms() + 10000, have = 0;
        while ((have = topic_end(f)) < n && ho_mono_ms() < deadline)
                nanosleep(&(struct timespec){0, 20000000L}, NULL);
        if (have != n)
                fail_msg("topic holds %lld messages, expected %lld", (long long)have, (long long)n);
}

/* Read the topic's messages from `from` to its end: keys into keys[] (as
 * "key@timestamp" with the decoded inmate count: "id@ts/inmates"). */
static size_t read_topic(fixture_t *f, int64_t from, char keys[][128], size_t max) {
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
        int64_t end = topic_end(f), deadline = ho_mono_ms() + 10000;
        rd_kafka_t *c;
        size_t n = 0;
        ho_report_t r;

        rd_kafka_conf_set(conf, "bootstrap.servers", f->bootstraps, err, sizeof(err));
        rd_kafka_conf_set(conf, "group.id", "test_produce_run", err, sizeof(err));
        rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
        c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        assert_non_null(c);
        rd_kafka_topic_partition_list_add(tp, TOPIC, 0)->offset = from;
        assert_int_equal(rd_kafka_assign(c, tp), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_topic_partition_list_destroy(tp);
        ho_report_init(&r);
        while (from + (int64_t)n < end && n < max && ho_mono_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
                if (!m)
                        continue;
                if (!m->err) {
                        char why[256];
                        rd_kafka_timestamp_type_t tt;
                        int64_t ts = rd_kafka_message_timestamp(m, &tt);
                        if (ho_codec_decode(f->codec, m->payload, m->len, &r, why, sizeof(why)) !=
                            HO_OK)
                                fail_msg("offset %lld does not decode: %s", (long long)m->offset,
                                         why);
                        snprintf(keys[n++], 128, "%.*s@%lld/%d", (int)m->key_len,
                                 (const char *)m->key, (long long)ts, (int)r.inmate_count);
                        /* the key is the report's transfer_id */
                        assert_int_equal(m->key_len, strlen(r.transfer_id));
                        assert_memory_equal(m->key, r.transfer_id, m->key_len);
                }
                rd_kafka_message_destroy(m);
        }
        ho_report_clear(&r);
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
        return n;
}

/* The run's diagnostics go to a temporary file: its text afterwards. */
static char *slurp(FILE *fp) {
        long n;
        char *s;
        fflush(fp);
        n = ftell(fp);
        assert_true(n >= 0);
        s = calloc(1, (size_t)n + 1);
        assert_non_null(s);
        rewind(fp);
        assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
        return s;
}

static ho_produce_conf_t base_conf(fixture_t *f, const char *const *paths, size_t n, FILE *err) {
        ho_produce_conf_t pc;
        memset(&pc, 0, sizeof(pc));
        pc.prog = "handover-produce";
        pc.topic = TOPIC;
        pc.paths = paths;
        pc.n_paths = n;
        pc.codec = f->codec;
        pc.err = err;
        return pc;
}

/* ---- named files -------------------------------------------------------- */

static void test_files_sent_in_order(void **state) {
        fixture_t *f = *state;
        const char *a = strdup(tpath("a.jsonl")), *b = strdup(tpath("b.jsonl"));
        const char *paths[] = {a, b};
        FILE *err = tmpfile();
        ho_produce_result_t res;
        char keys[8][128];
        int64_t start = topic_end(f);
        char *out;

        write_str(a, "w", report_line("t-1", 5, 1));
        write_str(a, "a", "\n   \n");
        write_str(a, "a", report_line("t-2", 6, 2));
        write_str(b, "w", report_line("t-1", 7, 3));
        ho_produce_conf_t pc = base_conf(f, paths, 2, err);
        pc.threads = 2;
        assert_int_equal(ho_produce_run(&pc, kconf(f), &res), HO_OK);
        assert_int_equal(res.valid, 3);
        assert_int_equal(res.enqueued, 3);
        assert_int_equal(res.delivered, 3);
        assert_int_equal(res.failed, 0);
        assert_int_equal(res.invalid, 0);
        assert_int_equal(res.transfers, 2);
        assert_true(res.transfers_exact);
        wait_topic_end(f, start + 3);
        assert_int_equal(read_topic(f, start, keys, 8), 3);
        /* key = transfer_id, timestamp = reported_at, in input order */
        assert_string_equal(keys[0], "t-1@1768996860000/5");
        assert_string_equal(keys[1], "t-2@1768996920000/6");
        assert_string_equal(keys[2], "t-1@1768996980000/7");
        out = slurp(err);
        assert_non_null(strstr(out, "handover-produce: sent 3 reports (2 transfers, "));
        free(out);
        fclose(err);
        free((void *)a);
        free((void *)b);
}

static void test_bad_line_sends_nothing(void **state) {
        fixture_t *f = *state;
        const char *a = strdup(tpath("good.jsonl")), *b = strdup(tpath("bad.jsonl"));
        const char *paths[] = {a, b};
        FILE *err = tmpfile();
        ho_produce_result_t res;
        int64_t start = topic_end(f);
        char *out;

        write_str(a, "w", report_line("t-1", 5, 1));
        write_str(b, "w", report_line("t-2", 6, 2));
        write_str(b, "a", "{\"transfer_id\": \"t-3\"}\n");
        write_str(b, "a", report_line("t-4", 8, 4));
        ho_produce_conf_t pc = base_conf(f, paths, 2, err);
        assert_int_equal(ho_produce_run(&pc, kconf(f), &res), HO_ERR_INVALID);
        assert_int_equal(res.invalid, 1);
        assert_int_equal(res.valid, 3);
        assert_int_equal(res.enqueued, 0);
        assert_int_equal(res.delivered, 0);
        out = slurp(err);
        assert_non_null(strstr(out, "bad.jsonl:2: "));
        assert_non_null(strstr(out, "handover-produce: 1 invalid report: nothing sent\n"));
        assert_non_null(strstr(out, "handover-produce: sent 0 reports (0 transfers, 0 bytes)"));
        free(out);
        /* nothing reached the topic: the first file's valid report neither */
        assert_int_equal(topic_end(f), start);
        fclose(err);
        free((void *)a);
        free((void *)b);
}

static void test_skip_invalid_to_rejects(void **state) {
        fixture_t *f = *state;
        const char *a = strdup(tpath("mixed.jsonl"));
        const char *paths[] = {a};
        FILE *err = tmpfile(), *rejects = tmpfile();
        ho_produce_result_t res;
        int64_t start = topic_end(f);
        char keys[4][128], *rej, *out;

        write_str(a, "w", report_line("t-1", 5, 1));
        write_str(a, "a", "not json\n");
        write_str(a, "a", report_line("t-2", 6, 2));
        ho_produce_conf_t pc = base_conf(f, paths, 1, err);
        pc.skip_invalid = true;
        pc.rejects = rejects;
        pc.rejects_path = "rejects.tsv";
        assert_int_equal(ho_produce_run(&pc, kconf(f), &res), HO_OK);
        assert_int_equal(res.skipped, 1);
        assert_int_equal(res.invalid, 0);
        assert_int_equal(res.delivered, 2);
        wait_topic_end(f, start + 2);
        assert_int_equal(read_topic(f, start, keys, 4), 2);
        assert_string_equal(keys[1], "t-2@1768996920000/6");
        rej = slurp(rejects);
        assert_true(strncmp(rej, a, strlen(a)) == 0);
        assert_true(strncmp(rej + strlen(a), ":2\t", 3) == 0);
        assert_non_null(strstr(rej, "\tnot json\n"));
        out = slurp(err);
        assert_non_null(strstr(out, "handover-produce: 1 invalid lines skipped, written to "
                                    "rejects.tsv\n"));
        free(rej);
        free(out);
        fclose(rejects);
        fclose(err);
        free((void *)a);
}

static void test_dry_run(void **state) {
        fixture_t *f = *state;
        const char *a = strdup(tpath("dry.jsonl"));
        const char *paths[] = {a};
        FILE *err = tmpfile();
        ho_produce_result_t res;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        int64_t start = topic_end(f);
        char *out;

        write_str(a, "w", report_line("t-1", 5, 1));
        write_str(a, "a", report_line("t-2", 6, 2));
        write_str(a, "a", report_line("t-1", 7, 3));
        ho_produce_conf_t pc = base_conf(f, paths, 1, err);
        pc.dry_run = true;
        /* no brokers needed */
        assert_int_equal(ho_produce_run(&pc, conf, &res), HO_OK);
        assert_int_equal(res.valid, 3);
        assert_int_equal(res.delivered, 3);
        assert_int_equal(res.enqueued, 0);
        assert_int_equal(res.transfers, 2);
        assert_true(res.bytes > 0);
        out = slurp(err);
        assert_non_null(strstr(out, "handover-produce: dry run, nothing sent: 3 reports valid "
                                    "and encoded (2 transfers, "));
        free(out);
        assert_int_equal(topic_end(f), start);
        fclose(err);
        free((void *)a);
}

static void test_stop_during_pass1(void **state) {
        fixture_t *f = *state;
        const char *a = strdup(tpath("stop.jsonl"));
        const char *paths[] = {a};
        static volatile sig_atomic_t stop = 1;
        FILE *err = tmpfile();
        ho_produce_result_t res;
        int64_t start = topic_end(f);
        char *out;

        write_str(a, "w", report_line("t-1", 5, 1));
        ho_produce_conf_t pc = base_conf(f, paths, 1, err);
        pc.stop = &stop;
        pc.threads = 1;
        assert_int_equal(ho_produce_run(&pc, kconf(f), &res), HO_ERR_INTERRUPTED);
        assert_int_equal(res.enqueued, 0);
        out = slurp(err);
        assert_non_null(strstr(out, "handover-produce: interrupted while validating: nothing "
                                    "sent\n"));
        free(out);
        assert_int_equal(topic_end(f), start);
        fclose(err);
        free((void *)a);
}

static void test_missing_input(void **state) {
        fixture_t *f = *state;
        const char *paths[] = {tpath("nowhere.jsonl")};
        FILE *err = tmpfile();
        ho_produce_result_t res;
        char *out;

        ho_produce_conf_t pc = base_conf(f, paths, 1, err);
        assert_int_equal(ho_produce_run(&pc, kconf(f), &res), HO_ERR_IO);
        assert_int_equal(res.enqueued, 0);
        out = slurp(err);
        assert_non_null(strstr(out, "nowhere.jsonl"));
        free(out);
        fclose(err);
}

/* ---- follow mode -------------------------------------------------------- */

typedef struct follow_s {
        ho_produce_conf_t pc;
        rd_kafka_conf_t *conf;
        ho_produce_result_t res;
        ho_err_t rc;
} follow_t;

static void *follow_thread(void *arg) {
        follow_t *fl = arg;
        fl->rc = ho_produce_run(&fl->pc, fl->conf, &fl->res);
        return NULL;
}

static void test_follow(void **state) {
        fixture_t *f = *state;
        const char *a = strdup(tpath("follow.jsonl"));
        const char *paths[] = {a};
        static volatile sig_atomic_t stop;
        FILE *err = tmpfile();
        int64_t start = topic_end(f);
        char keys[4][128], *out;
        follow_t fl;
        pthread_t tid;

        stop = 0;
        /* the file does not exist yet: follow mode waits for it */
        fl.pc = base_conf(f, paths, 1, err);
        fl.pc.follow = true;
        fl.pc.stop = &stop;
        fl.conf = kconf(f);
        assert_int_equal(pthread_create(&tid, NULL, follow_thread, &fl), 0);
        write_str(a, "w", report_line("t-1", 5, 1));
        wait_topic_end(f, start + 1);
        /* a partial line waits for its '\n' */
        const char *l2 = report_line("t-2", 6, 2);
        {
                FILE *fp = fopen(a, "a");
                assert_non_null(fp);
                fwrite(l2, 1, 40, fp);
                fclose(fp);
        }
        write_str(a, "a", l2 + 40);
        wait_topic_end(f, start + 2);
        stop = 1;
        assert_int_equal(pthread_join(tid, NULL), 0);
        assert_int_equal(fl.rc, HO_OK);
        assert_int_equal(fl.res.delivered, 2);
        assert_int_equal(read_topic(f, start, keys, 4), 2);
        assert_string_equal(keys[0], "t-1@1768996860000/5");
        assert_string_equal(keys[1], "t-2@1768996920000/6");
        out = slurp(err);
        assert_non_null(strstr(out, "handover-produce: sent 2 reports (2 transfers, "));
        free(out);
        fclose(err);
        free((void *)a);
}

static void test_follow_stops_at_bad_line(void **state) {
        fixture_t *f = *state;
        const char *a = strdup(tpath("follow-bad.jsonl"));
        const char *paths[] = {a};
        static volatile sig_atomic_t stop;
        FILE *err = tmpfile();
        int64_t start = topic_end(f);
        char *out;
        follow_t fl;
        pthread_t tid;

        stop = 0;
        write_str(a, "w", report_line("t-1", 5, 1));
        fl.pc = base_conf(f, paths, 1, err);
        fl.pc.follow = true;
        fl.pc.stop = &stop;
        fl.conf = kconf(f);
        assert_int_equal(pthread_create(&tid, NULL, follow_thread, &fl), 0);
        wait_topic_end(f, start + 1);
        write_str(a, "a", "{\"transfer_id\": 5}\n");
        write_str(a, "a", report_line("t-3", 7, 3));
        /* the run ends by itself, at the bad line, without the stop flag */
        assert_int_equal(pthread_join(tid, NULL), 0);
        assert_int_equal(fl.rc, HO_ERR_INVALID);
        assert_int_equal(fl.res.delivered, 1);
        assert_int_equal(fl.res.invalid, 1);
        out = slurp(err);
        assert_non_null(strstr(out, ":2: "));
        assert_non_null(strstr(out, "handover-produce: stopped at the invalid report "
                                    "(--skip-invalid goes on)\n"));
        free(out);
        assert_int_equal(topic_end(f), start + 1);
        fclose(err);
        free((void *)a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_files_sent_in_order),
                cmocka_unit_test(test_bad_line_sends_nothing),
                cmocka_unit_test(test_skip_invalid_to_rejects),
                cmocka_unit_test(test_dry_run),
                cmocka_unit_test(test_stop_during_pass1),
                cmocka_unit_test(test_missing_input),
                cmocka_unit_test(test_follow),
                cmocka_unit_test(test_follow_stops_at_bad_line),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
