/*
 * test_worker_loop.c: the worker's loop (lib/worker.c) against librdkafka's
 * mock cluster and a private redis-server (tests/helpers/redis_server.h;
 * without redis-server on PATH the test fails). Covers:
 *  - the dead letter wait: while a dead letter cannot be delivered (the mock
 *    cluster refuses the produce requests), the stored offset stays at the
 *    bad message; once it is delivered, exactly one dead letter is on the
 *    topic and the counters and offset move on past it;
 *  - stall and resume: while Redis refuses writes, the partition's batch is
 *    kept and the partition stalls; once Redis takes writes again it resumes
 *    exactly at the batch's next offset (every report counted once, none
 *    twice, none fenced);
 *  - a rebalance with batches in flight: a second member joins while the
 *    first one's applies are held in Redis (CLIENT PAUSE); the revoked
 *    partitions' batches are applied or dropped, never twice, and every
 *    report is counted exactly once across both workers.
 * The worker's log goes to a file while a test runs; the tests wait on its
 * lines and on Redis values, each with a deadline.
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
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "handover/clock.h"
#include "handover/codec.h"
#include "handover/jreport.h"
#include "handover/log.h"
#include "handover/redis.h"
#include "handover/worker.h"
#include "redis_server.h"

#define TOPIC "loop"
#define DLQ "loop.dlq"
#define PREFIX "loop"
#define APIKEY_PRODUCE 0 /* the Kafka protocol's Produce request */

static ho_test_redis_t server;
static redisContext *rc; /* the test's own connection, for checks */
static ho_redis_url_t url;

static int start_redis(void **state) {
        (void)state;
        return ho_test_redis_open(&server, "test_worker_loop", &rc, &url);
}

static int stop_redis(void **state) {
        (void)state;
        ho_test_redis_close(&server, &rc, &url);
        return 0;
}

static long long hget_ll(const char *key, const char *field) {
        redisReply *r = redisCommand(rc, "HGET %s %s", key, field);
        assert_non_null(r);
        long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
        freeReplyObject(r);
        return v;
}

/* Messages on partition 0 of topic, read from the beginning to its end. */
static int count_messages(const char *boot, const char *topic) {
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_conf_set(c, "bootstrap.servers", boot, err, sizeof(err));
        rd_kafka_conf_set(c, "enable.partition.eof", "true", err, sizeof(err));
        rd_kafka_conf_set(c, "group.id", "loop-count", err, sizeof(err)); /* assign() needs one */
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err));
        rd_kafka_conf_set(c, "log_level", "3", err, sizeof(err));
        rd_kafka_t *k = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
        assert_non_null(k);
        rd_kafka_poll_set_consumer(k);
        rd_kafka_topic_partition_list_t *at = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(at, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(rd_kafka_assign(k, at), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_topic_partition_list_destroy(at);
        int n = 0;
        bool eof = false;
        int64_t deadline = ho_mono_ms() + 10000;
        while (!eof && ho_mono_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(k, 100);
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        eof = true;
                else if (!m->err)
                        n++;
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(k);
        rd_kafka_destroy(k);
        assert_true(eof);
        return n;
}

typedef struct run_s {
        ho_worker_t *w;
        volatile sig_atomic_t stop;
        ho_err_t err;
        char errstr[512];
} run_t;

static void *run_worker(void *arg) {
        run_t *r = arg;
        r->err = ho_worker_run(r->w, &r->stop, r->errstr, sizeof(r->errstr));
        return NULL;
}

static void produce(rd_kafka_t *p, const char *key, const void *v, size_t len) {
        assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(0),
                                           RD_KAFKA_V_KEY(key, strlen(key)),
                                           RD_KAFKA_V_VALUE((void *)v, len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void test_dead_letter_wait(void **state) {
        (void)state;
        char err[512];
        /* the mock cluster, owned by a client of its own */
        rd_kafka_conf_t *oc = rd_kafka_conf_new();
        rd_kafka_conf_set(oc, "log_level", "3", err, sizeof(err));
        rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, oc, err, sizeof(err));
        assert_non_null(owner);
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(owner, 1);
        assert_non_null(mc);
        const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
        assert_int_equal(rd_kafka_mock_topic_create(mc, TOPIC, 1, 1), 0);
        assert_int_equal(rd_kafka_mock_topic_create(mc, DLQ, 1, 1), 0);

        /* offsets 0 and 2: two reports of different transfers; 1: not a report */
        ho_codec_t *codec = ho_codec_new(err, sizeof(err));
        assert_non_null(codec);
        ho_buf_t b1, b2;
        ho_buf_init(&b1);
        ho_buf_init(&b2);
        const char *j1 =
                "{\"report_id\":\"r1\",\"transfer_id\":\"x1\",\"occurred_on\":\"2025-02-27\","
                "\"reported_at\":\"2025-02-27T23:00:00Z\",\"source\":\"test\","
                "\"origin_country\":\"MX\",\"destination_country\":\"US\","
                "\"inmate_count\":29,\"aircraft_count\":null,\"destinations\":[],"
                "\"cumulative_total\":null,\"authority\":null,\"persons\":[]}";
        const char *j2 =
                "{\"report_id\":\"r2\",\"transfer_id\":\"x2\",\"occurred_on\":\"2025-08-12\","
                "\"reported_at\":\"2025-08-12T20:00:00Z\",\"source\":\"test\","
                "\"origin_country\":\"MX\",\"destination_country\":\"US\","
                "\"inmate_count\":26,\"aircraft_count\":null,\"destinations\":[],"
                "\"cumulative_total\":null,\"authority\":null,\"persons\":[]}";
        ho_report_t r;
        ho_report_init(&r);
        assert_int_equal(ho_report_from_json(j1, strlen(j1), &r, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_codec_encode(codec, &r, &b1, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_report_from_json(j2, strlen(j2), &r, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_codec_encode(codec, &r, &b2, err, sizeof(err)), HO_OK);
        ho_report_clear(&r);
        rd_kafka_conf_t *pc = rd_kafka_conf_new();
        rd_kafka_conf_set(pc, "bootstrap.servers", boot, err, sizeof(err));
        rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
        assert_non_null(p);
        produce(p, "x1", b1.data, b1.len);
        produce(p, "x9", "not a report", 12);
        produce(p, "x2", b2.data, b2.len);
        assert_int_equal(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(p);
        ho_buf_free(&b1);
        ho_buf_free(&b2);
        ho_codec_destroy(codec);

        /* the next three produce requests (the dead letter's first attempts) are refused
         * with an error the producer does not retry, so each attempt fails for the worker */
        rd_kafka_mock_push_request_errors(mc, APIKEY_PRODUCE, 3,
                                          RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                          RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                          RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);

        ho_worker_conf_t c = {
                .brokers = boot,
                .topic = TOPIC,
                .group = "loop",
                .dlq_topic = DLQ,
                .prefix = PREFIX,
                .redis = &url,
                .batch_max_msgs = 1,
        };
        ho_worker_t *w = ho_worker_new(&c, NULL, err, sizeof(err));
        if (!w)
                fail_msg("ho_worker_new: %s", err);
        run_t run = {.w = w};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, run_worker, &run), 0);

        /* while the dead letter is not on its topic, the stored offset stays at 1 (the
         * bad message); it moves past it only once the dead letter is there */
        long long off = -1;
        int64_t deadline = ho_mono_ms() + 60000;
        bool seen_held = false;
        while (ho_mono_ms() < deadline) {
                off = hget_ll("{" PREFIX "}:offsets", TOPIC ":0");
                if (off == 1)
                        seen_held = true;
                if (off >= 2)
                        break;
                nanosleep(&(struct timespec){0, 20000000L}, NULL);
        }
        /* the moment it moved past the bad message, the dead letter is on its topic
         * (while the refused attempts last, about a second each, it is not) */
        int dlq_at_advance = off >= 2 ? count_messages(boot, DLQ) : -1;
        ho_worker_stats_t st;
        if (off < 3) { /* 2 is possible for a moment: the last report's batch follows */
                int64_t d2 = ho_mono_ms() + 30000;
                while (off < 3 && ho_mono_ms() < d2) {
                        nanosleep(&(struct timespec){0, 20000000L}, NULL);
                        off = hget_ll("{" PREFIX "}:offsets", TOPIC ":0");
                }
        }
        run.stop = 1;
        pthread_join(th, NULL);
        if (run.err)
                fail_msg("ho_worker_run: %s: %s", ho_err2str(run.err), run.errstr);
        assert_true(seen_held); /* the first report applied, the offset held at the bad one */
        assert_int_equal(dlq_at_advance, 1);
        assert_int_equal(off, 3);
        assert_int_equal(count_messages(boot, DLQ), 1);
        assert_int_equal(hget_ll("{" PREFIX "}:totals", "rejected"), 1);
        assert_int_equal(hget_ll("{" PREFIX "}:totals", "transfers"), 2);
        assert_int_equal(hget_ll("{" PREFIX "}:totals", "inmates"), 55);
        ho_worker_stats(w, &st);
        assert_int_equal(st.rejected, 1);
        ho_worker_destroy(w);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(owner);
}

/* ---- the worker's log, captured ---- */

static char log_path[64];
static int saved_stderr = -1;
static bool test_passed;

/* Send stderr (the worker's log) to a file until log_restore. */
static void log_capture(void) {
        snprintf(log_path, sizeof(log_path), "/tmp/ho-test-worker-loop.XXXXXX");
        int fd = mkstemp(log_path);
        assert_true(fd >= 0);
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        assert_true(saved_stderr >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
        test_passed = false;
}

/* A teardown: stderr back; the captured log shown when the test failed. */
static int log_restore(void **state) {
        (void)state;
        if (saved_stderr < 0)
                return 0;
        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        saved_stderr = -1;
        if (!test_passed) {
                FILE *f = fopen(log_path, "r");
                char line[2048];
                fprintf(stderr, "---- the worker's log (%s) ----\n", log_path);
                while (f && fgets(line, sizeof(line), f))
                        fputs(line, stderr);
                if (f)
                        fclose(f);
        }
        unlink(log_path);
        return 0;
}

/* How many lines of the captured log hold every one of the needles (NULL-terminated). */
static int log_count(const char *const *needles) {
        FILE *f = fopen(log_path, "r");
        assert_non_null(f);
        char line[4096];
        int n = 0;
        while (fgets(line, sizeof(line), f)) {
                bool all = true;
                for (size_t i = 0; needles[i] && all; i++)
                        all = strstr(line, needles[i]) != NULL;
                n += all;
        }
        fclose(f);
        return n;
}

/* Wait (at most ms) until a line of the log holds the needles. */
static bool log_wait(int ms, const char *const *needles) {
        int64_t deadline = ho_mono_ms() + ms;
        while (ho_mono_ms() < deadline) {
                if (log_count(needles) > 0)
                        return true;
                nanosleep(&(struct timespec){0, 20000000L}, NULL);
        }
        return false;
}

/* ---- Redis ---- */

static void redis_ok(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(rc, fmt, ap);
        va_end(ap);
        if (!r || r->type == REDIS_REPLY_ERROR)
                fail_msg("redis \"%s\": %s", fmt, r ? r->str : rc->errstr);
        freeReplyObject(r);
}

/* Clients whose command waits (here: applies held by CLIENT PAUSE). */
static long long redis_blocked(void) {
        redisReply *r = redisCommand(rc, "INFO clients");
        assert_non_null(r);
        const char *at = r->type == REDIS_REPLY_STRING ? strstr(r->str, "blocked_clients:") : NULL;
        long long n = at ? atoll(at + strlen("blocked_clients:")) : -1;
        freeReplyObject(r);
        return n;
}

/* Wait (at most ms) until HGET key field is want. */
static bool hget_wait(int ms, const char *key, const char *field, long long want) {
        int64_t deadline = ho_mono_ms() + ms;
        while (ho_mono_ms() < deadline) {
                if (hget_ll(key, field) == want)
                        return true;
                nanosleep(&(struct timespec){0, 20000000L}, NULL);
        }
        return false;
}

/* ---- a mock cluster and reports on it ---- */

typedef struct mock_s {
        rd_kafka_t *owner;
        rd_kafka_mock_cluster_t *mc;
        const char *boot;
        rd_kafka_t *producer;
        ho_codec_t *codec;
} mock_t;

static void mock_new(mock_t *m, const char *topic, int partitions) {
        char err[512];
        rd_kafka_conf_t *oc = rd_kafka_conf_new();
        rd_kafka_conf_set(oc, "log_level", "3", err, sizeof(err));
        m->owner = rd_kafka_new(RD_KAFKA_PRODUCER, oc, err, sizeof(err));
        assert_non_null(m->owner);
        m->mc = rd_kafka_mock_cluster_new(m->owner, 1);
        assert_non_null(m->mc);
        m->boot = rd_kafka_mock_cluster_bootstraps(m->mc);
        assert_int_equal(rd_kafka_mock_topic_create(m->mc, topic, partitions, 1), 0);
        char dlq[128];
        snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
        assert_int_equal(rd_kafka_mock_topic_create(m->mc, dlq, 1, 1), 0);
        rd_kafka_conf_t *pc = rd_kafka_conf_new();
        rd_kafka_conf_set(pc, "bootstrap.servers", m->boot, err, sizeof(err));
        rd_kafka_conf_set(pc, "log_level", "3", err, sizeof(err));
        m->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
        assert_non_null(m->producer);
        m->codec = ho_codec_new(err, sizeof(err));
        assert_non_null(m->codec);
}

static void mock_destroy(mock_t *m) {
        rd_kafka_destroy(m->producer);
        ho_codec_destroy(m->codec);
        rd_kafka_mock_cluster_destroy(m->mc);
        rd_kafka_destroy(m->owner);
}

/* Reports first..first+n-1 on partition part of topic, one transfer each
 * ("tN", id "rN"), with N % 7 + 1 inmates; flushed. Their inmates' sum. */
static long long mock_reports(mock_t *m, const char *topic, int32_t part, int first, int n) {
        char err[512], json[1024], key[32];
        long long inmates = 0;
        ho_buf_t b;
        ho_buf_init(&b);
        ho_report_t r;
        ho_report_init(&r);
        for (int i = first; i < first + n; i++) {
                snprintf(
                        json, sizeof(json),
                        "{\"report_id\":\"r%d\",\"transfer_id\":\"t%d\","
                        "\"occurred_on\":\"2025-03-%02d\",\"reported_at\":\"2025-03-%02dT12:00:00Z\","
                        "\"source\":\"test\",\"origin_country\":\"MX\","
                        "\"destination_country\":\"US\",\"inmate_count\":%d,"
                        "\"aircraft_count\":null,\"destinations\":[],\"cumulative_total\":null,"
                        "\"authority\":null,\"persons\":[]}",
                        i, i, i % 28 + 1, i % 28 + 1, i % 7 + 1);
                inmates += i % 7 + 1;
                assert_int_equal(ho_report_from_json(json, strlen(json), &r, err, sizeof(err)),
                                 HO_OK);
                ho_buf_reset(&b);
                assert_int_equal(ho_codec_encode(m->codec, &r, &b, err, sizeof(err)), HO_OK);
                snprintf(key, sizeof(key), "t%d", i);
                assert_int_equal(rd_kafka_producev(m->producer, RD_KAFKA_V_TOPIC(topic),
                                                   RD_KAFKA_V_PARTITION(part),
                                                   RD_KAFKA_V_KEY(key, strlen(key)),
                                                   RD_KAFKA_V_VALUE(b.data, b.len),
                                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                   RD_KAFKA_V_END),
                                 RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        assert_int_equal(rd_kafka_flush(m->producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
        ho_report_clear(&r);
        ho_buf_free(&b);
        return inmates;
}

/* A worker on its own thread. */
typedef struct worker_run_s {
        run_t run;
        pthread_t th;
} worker_run_t;

static void worker_start(worker_run_t *wr, const ho_worker_conf_t *c) {
        char err[512];
        memset(wr, 0, sizeof(*wr));
        wr->run.w = ho_worker_new(c, NULL, err, sizeof(err));
        if (!wr->run.w)
                fail_msg("ho_worker_new: %s", err);
        assert_int_equal(pthread_create(&wr->th, NULL, run_worker, &wr->run), 0);
}

/* Stop it and take its counters; the worker is destroyed. */
static void worker_stop(worker_run_t *wr, ho_worker_stats_t *st) {
        wr->run.stop = 1;
        pthread_join(wr->th, NULL);
        if (wr->run.err)
                fail_msg("ho_worker_run: %s: %s", ho_err2str(wr->run.err), wr->run.errstr);
        ho_worker_stats(wr->run.w, st);
        ho_worker_destroy(wr->run.w);
        wr->run.w = NULL;
}

/* ---- stall and resume ---- */

#define ST_TOPIC "stall"

static void test_stall_resume(void **state) {
        (void)state;
        log_capture();
        mock_t m;
        mock_new(&m, ST_TOPIC, 1);
        long long inmates = mock_reports(&m, ST_TOPIC, 0, 0, 4);
        ho_worker_conf_t c = {
                .brokers = m.boot,
                .topic = ST_TOPIC,
                .group = "stall",
                .prefix = "stall",
                .redis = &url,
                .batch_max_msgs = 2,
        };
        worker_run_t wa;
        worker_start(&wa, &c);
        if (!hget_wait(30000, "{stall}:offsets", ST_TOPIC ":0", 4))
                fail_msg("the first 4 reports were not applied");

        /* Redis turns replica of a primary that does not exist: it refuses
         * writes (READONLY) and keeps its data */
        redis_ok("REPLICAOF 127.0.0.1 %d", ho_test_free_port());
        inmates += mock_reports(&m, ST_TOPIC, 0, 4, 7);
        const char *refused[] = {"redis: cannot apply the batch of \"" ST_TOPIC "\" [0]",
                                 "keeping it, retrying", NULL};
        if (!log_wait(30000, refused))
                fail_msg("no refused apply was logged");
        /* stalled: nothing moved in Redis */
        assert_int_equal(hget_ll("{stall}:offsets", ST_TOPIC ":0"), 4);
        assert_int_equal(hget_ll("{stall}:totals", "transfers"), 4);

        redis_ok("REPLICAOF NO ONE");
        const char *resumed[] = {"redis: \"" ST_TOPIC "\" [0] applied after retrying; resuming",
                                 NULL};
        if (!log_wait(30000, resumed))
                fail_msg("the stalled partition did not resume");
        if (!hget_wait(30000, "{stall}:offsets", ST_TOPIC ":0", 11))
                fail_msg("the stored offset did not reach 11");
        /* and it goes on from there */
        inmates += mock_reports(&m, ST_TOPIC, 0, 11, 3);
        if (!hget_wait(30000, "{stall}:offsets", ST_TOPIC ":0", 14))
                fail_msg("the stored offset did not reach 14");
        ho_worker_stats_t st;
        worker_stop(&wa, &st);

        /* every report once: none skipped by the resume, none read twice */
        assert_int_equal(hget_ll("{stall}:totals", "transfers"), 14);
        assert_int_equal(hget_ll("{stall}:totals", "reports"), 14);
        assert_int_equal(hget_ll("{stall}:totals", "inmates"), inmates);
        assert_true(st.redis_errors >= 1);
        assert_int_equal(st.reports, 14);
        assert_int_equal(st.duplicates, 0);
        assert_int_equal(st.fenced, 0);
        assert_true(st.messages >= 14); /* what was folded after the failed batch is read again */
        mock_destroy(&m);
        test_passed = true;
}

/* ---- a rebalance with batches in flight ---- */

#define RB_TOPIC "rebal"

static void test_rebalance_in_flight(void **state) {
        (void)state;
        log_capture();
        ho_log_set_level(HO_LOG_DEBUG); /* librdkafka's group events (debug=cgrp) */
        mock_t m;
        mock_new(&m, RB_TOPIC, 2);
        long long inmates = mock_reports(&m, RB_TOPIC, 0, 0, 20);
        inmates += mock_reports(&m, RB_TOPIC, 1, 100, 20);
        static const ho_worker_kprop_t kp[] = {{false, "debug=cgrp"}};
        ho_worker_conf_t c = {
                .brokers = m.boot,
                .topic = RB_TOPIC,
                .group = "rebal",
                .prefix = "rebal",
                .redis = &url,
                .kprops = kp,
                .n_kprops = 1,
        };
        worker_run_t wa, wb;
        worker_start(&wa, &c);
        if (!hget_wait(30000, "{rebal}:offsets", RB_TOPIC ":0", 20) ||
            !hget_wait(30000, "{rebal}:offsets", RB_TOPIC ":1", 20))
                fail_msg("the first 40 reports were not applied");

        /* hold every write in Redis: the next batches of both partitions stay
         * in flight in the first worker's apply threads (the engine's
         * command timeout is 5 s, the pause ends by itself after 4 s) */
        redis_ok("CLIENT PAUSE 4000 WRITE");
        int64_t paused_at = ho_mono_ms();
        inmates += mock_reports(&m, RB_TOPIC, 0, 20, 20);
        inmates += mock_reports(&m, RB_TOPIC, 1, 120, 20);
        int64_t deadline = paused_at + 3000;
        while (redis_blocked() < 2 && ho_mono_ms() < deadline)
                nanosleep(&(struct timespec){0, 10000000L}, NULL);
        assert_int_equal(redis_blocked(), 2);

        /* a second member joins: the first one is asked to revoke both
         * partitions while their batches are in flight */
        worker_start(&wb, &c);
        const char *revoke[] = {"delegating revoke of 2 partition(s)", NULL};
        if (!log_wait(3500, revoke))
                fail_msg("the first worker was not asked to revoke its partitions in time");
        if (redis_blocked() != 2 || ho_mono_ms() >= paused_at + 3800)
                fail_msg("the revoke came after the batches in flight were applied");
        redis_ok("CLIENT UNPAUSE");

        /* the group settles with one partition each; more reports, for both */
        const char *revoked[] = {"revoked 2 partitions of \"" RB_TOPIC "\"", NULL};
        if (!log_wait(30000, revoked))
                fail_msg("the first worker did not finish its revoke");
        inmates += mock_reports(&m, RB_TOPIC, 0, 40, 20);
        inmates += mock_reports(&m, RB_TOPIC, 1, 140, 20);
        if (!hget_wait(60000, "{rebal}:offsets", RB_TOPIC ":0", 60) ||
            !hget_wait(60000, "{rebal}:offsets", RB_TOPIC ":1", 60))
                fail_msg("the reports after the rebalance were not applied");
        ho_worker_stats_t sa, sb;
        worker_stop(&wb, &sb);
        worker_stop(&wa, &sa);
        ho_log_set_level(HO_LOG_INFO);

        /* every report counted once across both workers: a revoked batch was
         * applied (by the first worker, in its revoke) or dropped (fenced),
         * and the second worker started from the stored offsets */
        assert_int_equal(hget_ll("{rebal}:totals", "transfers"), 120);
        assert_int_equal(hget_ll("{rebal}:totals", "reports"), 120);
        assert_int_equal(hget_ll("{rebal}:totals", "inmates"), inmates);
        assert_int_equal(sa.reports + sb.reports, 120);
        assert_int_equal(sa.duplicates + sb.duplicates, 0);
        assert_true(sb.reports > 0); /* the second worker took a partition */
        /* after the rebalance both partitions started where the batches that
         * were in flight at the revoke ended */
        const char *from0[] = {"assigned \"" RB_TOPIC "\" [0]: starting from the stored offset 40",
                               NULL};
        const char *from1[] = {"assigned \"" RB_TOPIC "\" [1]: starting from the stored offset 40",
                               NULL};
        assert_int_equal(log_count(from0), 1);
        assert_int_equal(log_count(from1), 1);
        mock_destroy(&m);
        test_passed = true;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dead_letter_wait),
                cmocka_unit_test_teardown(test_stall_resume, log_restore),
                cmocka_unit_test_teardown(test_rebalance_in_flight, log_restore),
        };
        return cmocka_run_group_tests(tests, start_redis, stop_redis);
}
