/*
 * test_worker_loop.c: the worker's loop (lib/worker.c) against librdkafka's
 * mock cluster and a private redis-server (tests/helpers/redis_server.h;
 * without redis-server on PATH the test fails). Covers the dead letter
 * wait: while a dead letter cannot be delivered (the mock cluster refuses the produce
 * requests), the stored offset stays at the bad message; once it is
 * delivered, exactly one dead letter is on the topic and the counters and
 * offset move on past it.
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
        char err[256];
        if (ho_test_redis_start(&server, "test_worker_loop"))
                return -1;
        struct timeval tv = {1, 0};
        rc = redisConnectWithTimeout("127.0.0.1", server.port, tv);
        if (!rc || rc->err) {
                fprintf(stderr, "test_worker_loop: connect: %s\n", rc ? rc->errstr : "no memory");
                return -1;
        }
        if (ho_redis_url_parse(server.url, &url, err, sizeof(err))) {
                fprintf(stderr, "test_worker_loop: %s\n", err);
                return -1;
        }
        return 0;
}

static int stop_redis(void **state) {
        (void)state;
        if (rc)
                redisFree(rc);
        ho_redis_url_clear(&url);
        ho_test_redis_stop(&server);
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dead_letter_wait),
        };
        return cmocka_run_group_tests(tests, start_redis, stop_redis);
}
