/* test_worker.c: the worker's construction contract (lib/worker.c): what it
 * refuses as configuration, with an error naming the problem, and that a
 * valid configuration builds and frees cleanly without touching the network
 * (connections are lazy). The loop is covered by test_worker_loop.c (mock
 * cluster) and tests/integration/aggregate_*.sh (real Kafka and Redis). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "handover/redis.h"
#include "handover/worker.h"

static ho_redis_url_t url;

static int setup(void **state) {
        (void)state;
        char err[256];
        /* port 1: nothing listens, and nothing may try before run */
        return ho_redis_url_parse("redis://127.0.0.1:1/0", &url, err, sizeof(err)) ? -1 : 0;
}

static int teardown(void **state) {
        (void)state;
        ho_redis_url_clear(&url);
        return 0;
}

static ho_worker_conf_t base(void) {
        ho_worker_conf_t c = {
                .brokers = "127.0.0.1:1",
                .topic = "t",
                .group = "g",
                .prefix = "p",
                .redis = &url,
        };
        return c;
}

static void expect_refused(const ho_worker_conf_t *c, const char *needle) {
        char err[512] = "";
        ho_err_t code = HO_OK;
        ho_worker_t *w = ho_worker_new(c, &code, err, sizeof(err));
        if (w) {
                ho_worker_destroy(w);
                fail_msg("accepted a configuration that should fail with \"%s\"", needle);
        }
        if (!strstr(err, needle))
                fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
        /* a configuration to fix: exit 2, never retried */
        assert_int_equal(code, HO_ERR_USAGE);
        assert_int_equal(ho_err_exit_code(code), 2);
}

static void test_valid_builds(void **state) {
        (void)state;
        ho_worker_conf_t c = base();
        ho_worker_kprop_t kp[] = {{false, "fetch.wait.max.ms=20"}, {false, "linger.ms=1"}};
        c.kprops = kp;
        c.n_kprops = 2;
        c.batch_max_msgs = 10;
        char err[512] = "";
        ho_err_t code = HO_ERR_USAGE;
        ho_worker_t *w = ho_worker_new(&c, &code, err, sizeof(err));
        if (!w)
                fail_msg("valid configuration refused: %s", err);
        assert_int_equal(code, HO_OK);
        ho_worker_stats_t st;
        ho_worker_stats(w, &st);
        assert_int_equal(st.messages, 0);
        assert_int_equal(st.lag, 0);
        ho_worker_destroy(w);
}

static void test_missing_fields(void **state) {
        (void)state;
        ho_worker_conf_t c = base();
        c.topic = "";
        expect_refused(&c, "topic");
        c = base();
        c.group = NULL;
        expect_refused(&c, "group");
        c = base();
        c.prefix = "";
        expect_refused(&c, "prefix");
        c = base();
        c.redis = NULL;
        expect_refused(&c, "Redis");
}

static void test_dlq_same_as_topic(void **state) {
        (void)state;
        ho_worker_conf_t c = base();
        c.dlq_topic = "t";
        expect_refused(&c, "dead letter topic \"t\"");
}

static void test_bad_kafka_property(void **state) {
        (void)state;
        ho_worker_conf_t c = base();
        ho_worker_kprop_t kp[] = {{false, "no.such.property=1"}};
        c.kprops = kp;
        c.n_kprops = 1;
        expect_refused(&c, "no.such.property");
        ho_worker_kprop_t kp2[] = {{false, "fetch.wait.max.ms"}};
        c.kprops = kp2;
        expect_refused(&c, "key=value");
}

static void test_bad_kafka_file(void **state) {
        (void)state;
        char path[] = "/tmp/test_worker_XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *fp = fdopen(fd, "w");
        fputs("# a comment\nfetch.wait.max.ms=5\nthis line has no equals sign\n", fp);
        fclose(fp);
        ho_worker_conf_t c = base();
        ho_worker_kprop_t kp[] = {{true, path}};
        c.kprops = kp;
        c.n_kprops = 1;
        char needle[64];
        snprintf(needle, sizeof(needle), "%s:3", path);
        expect_refused(&c, needle); /* FILE:LINE of the bad line */
        unlink(path);
        ho_worker_kprop_t missing[] = {{true, "/nonexistent/worker.properties"}};
        c.kprops = missing;
        expect_refused(&c, "/nonexistent/worker.properties");
}

/* librdkafka refusing to make a client is not a usage error: the settings
 * parse, their combination (or the file they name) does not work. */
static void test_client_refused(void **state) {
        (void)state;
        ho_worker_conf_t c = base();
        ho_worker_kprop_t kp[] = {{false, "security.protocol=ssl"},
                                  {false, "ssl.ca.location=/nonexistent/ho-ca.pem"}};
        c.kprops = kp;
        c.n_kprops = 2;
        char err[512] = "";
        ho_err_t code = HO_OK;
        ho_worker_t *w = ho_worker_new(&c, &code, err, sizeof(err));
        if (w) {
                ho_worker_destroy(w);
                fail_msg("a client with a missing CA file was made");
        }
        assert_int_equal(code, HO_ERR_CLIENT);
        assert_int_equal(ho_err_exit_code(code), 1);
        assert_false(ho_err_is_retriable(code));
        if (!strstr(err, "cannot create the kafka"))
                fail_msg("error \"%s\" does not say which client", err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_builds),      cmocka_unit_test(test_missing_fields),
                cmocka_unit_test(test_dlq_same_as_topic), cmocka_unit_test(test_bad_kafka_property),
                cmocka_unit_test(test_bad_kafka_file),    cmocka_unit_test(test_client_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
