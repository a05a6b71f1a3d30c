/*
 * test_pins.c: the dependency behaviour handover relies on for the versions
 * it is built with, so that a new librdkafka or avro-c that changes it fails
 * here rather than in production.
 *
 *   - avro-c's avro_file_reader_get_writer_schema() returns a new reference
 *     exactly when HO_AVRO_VERSION is "1.11.1" (lib/produce.c releases it
 *     only then): a leak or a double release otherwise.
 *   - The fetcher wake-up (kfetch.h) is there for librdkafka before 2.1,
 *     which has no fetch.queue.backoff.ms; on 2.1 or later that setting is
 *     the way, and this test says so. The wake-up is a seek to the offset the
 *     caller expects next: against librdkafka's mock cluster, the messages
 *     after it come on from exactly that offset, none lost or repeated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <avro.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "handover/kfetch.h"

/* ---- avro-c ---- */

static void test_avro_writer_schema_reference(void **state) {
        (void)state;
        char path[] = "/tmp/ho-test-pins-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        unlink(path); /* avro_file_writer_create makes it */
        avro_schema_t schema = avro_schema_long();
        avro_file_writer_t fw;
        assert_int_equal(avro_file_writer_create(path, schema, &fw), 0);
        avro_datum_t d = avro_int64(42);
        assert_int_equal(avro_file_writer_append(fw, d), 0);
        avro_datum_decref(d);
        assert_int_equal(avro_file_writer_close(fw), 0);
        avro_schema_decref(schema);

        avro_file_reader_t fr;
        assert_int_equal(avro_file_reader(path, &fr), 0);
        avro_schema_t w1 = avro_file_reader_get_writer_schema(fr);
        int r1 = w1->refcount;
        avro_schema_t w2 = avro_file_reader_get_writer_schema(fr);
        int r2 = w2->refcount;
        assert_ptr_equal(w1, w2);
        bool new_reference = r2 == r1 + 1;
        bool pinned = strcmp(HO_AVRO_VERSION, "1.11.1") == 0;
        if (new_reference != pinned)
                fail_msg("avro-c %s: avro_file_reader_get_writer_schema() %s a new reference, but "
                         "lib/produce.c assumes it %s (it checks for \"1.11.1\")",
                         HO_AVRO_VERSION, new_reference ? "returns" : "does not return",
                         pinned ? "does" : "does not");
        if (new_reference) {
                avro_schema_decref(w1);
                avro_schema_decref(w2);
        }
        avro_file_reader_close(fr);
        unlink(path);
}

/* ---- librdkafka ---- */

static void test_rdkafka_has_no_fetch_backoff(void **state) {
        (void)state;
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_conf_res_t res = rd_kafka_conf_set(c, "fetch.queue.backoff.ms", "1", err,
                                                    sizeof(err));
        rd_kafka_conf_destroy(c);
        if (res == RD_KAFKA_CONF_OK)
                fail_msg("librdkafka %s has fetch.queue.backoff.ms: set it low in the consumers' "
                         "defaults and drop the seek-to-wake of kfetch.h",
                         rd_kafka_version_str());
        assert_true(rd_kafka_version() < 0x02010000);
}

#define PINS_TOPIC "pins"
#define PINS_N 200
#define PINS_WAKE_AT 50

static void test_kfetch_wake_resumes_at_the_offset(void **state) {
        (void)state;
        char err[512];
        /* a producer owns the mock cluster; the consumer bootstraps from it */
        rd_kafka_conf_t *pc = rd_kafka_conf_new();
        assert_int_equal(rd_kafka_conf_set(pc, "log_level", "3", err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
        assert_non_null(p);
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(p, 1);
        assert_non_null(mc);
        const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
        assert_int_equal(rd_kafka_mock_topic_create(mc, PINS_TOPIC, 1, 1), 0);

        rd_kafka_t *pp;
        {
                rd_kafka_conf_t *c = rd_kafka_conf_new();
                assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers", boot, err, sizeof(err)),
                                 RD_KAFKA_CONF_OK);
                pp = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
                assert_non_null(pp);
        }
        for (int i = 0; i < PINS_N; i++) {
                char v[32];
                int n = snprintf(v, sizeof(v), "m%d", i);
                assert_int_equal(rd_kafka_producev(pp, RD_KAFKA_V_TOPIC(PINS_TOPIC),
                                                   RD_KAFKA_V_PARTITION(0),
                                                   RD_KAFKA_V_VALUE(v, (size_t)n),
                                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                   RD_KAFKA_V_END),
                                 RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        assert_int_equal(rd_kafka_flush(pp, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(pp);

        /* a consumer with a small prefetch queue, as the worker and replay have */
        rd_kafka_conf_t *cc = rd_kafka_conf_new();
        assert_int_equal(rd_kafka_conf_set(cc, "bootstrap.servers", boot, err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(cc, "group.id", "pins", err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(cc, "queued.max.messages.kbytes", "1", err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(cc, "fetch.message.max.bytes", "1024", err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        rd_kafka_t *k = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof(err));
        if (!k)
                fail_msg("consumer: %s", err);
        rd_kafka_poll_set_consumer(k);
        rd_kafka_topic_partition_list_t *at = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(at, PINS_TOPIC, 0)->offset = 0;
        assert_int_equal(rd_kafka_assign(k, at), RD_KAFKA_RESP_ERR_NO_ERROR);

        int64_t next = 0;
        int polls = 0;
        while (next < PINS_N && polls++ < 2000) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(k, 50);
                if (!m)
                        continue;
                if (m->err) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (m->offset != next)
                        fail_msg("offset %lld after %s, expected %lld", (long long)m->offset,
                                 next > PINS_WAKE_AT ? "the wake-up" : "the start",
                                 (long long)next);
                char v[32];
                snprintf(v, sizeof(v), "m%lld", (long long)next);
                assert_int_equal(m->len, strlen(v));
                assert_memory_equal(m->payload, v, m->len);
                next++;
                rd_kafka_message_destroy(m);
                if (next == PINS_WAKE_AT) {
                        /* what the worker does when its queue runs dry: seek each
                         * partition to the offset it expects next */
                        at->elems[0].offset = next;
                        ho_kfetch_wake(k, at);
                        /* timeout 0: the seek is queued on the broker thread */
                        assert_true(at->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR ||
                                    at->elems[0].err == RD_KAFKA_RESP_ERR__IN_PROGRESS);
                }
        }
        assert_int_equal(next, PINS_N);
        /* and nothing after the last */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k, 200);
        if (m) {
                bool extra = !m->err;
                rd_kafka_message_destroy(m);
                assert_false(extra);
        }
        rd_kafka_topic_partition_list_destroy(at);
        rd_kafka_consumer_close(k);
        rd_kafka_destroy(k);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_avro_writer_schema_reference),
                cmocka_unit_test(test_rdkafka_has_no_fetch_backoff),
                cmocka_unit_test(test_kfetch_wake_resumes_at_the_offset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
