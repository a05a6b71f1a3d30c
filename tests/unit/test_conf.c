/* test_conf.c: librdkafka settings from -X, -c and HANDOVER_KAFKA_CONFIG, and
 * secrets kept out of every message and out of the process's arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "handover/conf.h"

#define SECRET "hunter2-Secret"

static void test_secret_keys(void **state) {
        (void)state;
        assert_true(ho_conf_key_is_secret("sasl.password"));
        assert_true(ho_conf_key_is_secret("ssl.key.password"));
        assert_true(ho_conf_key_is_secret("ssl.keystore.password"));
        assert_true(ho_conf_key_is_secret("sasl.oauthbearer.client.secret"));
        assert_true(ho_conf_key_is_secret("ssl.key.pem"));
        assert_true(ho_conf_key_is_secret("sasl.oauthbearer.config"));
        assert_true(ho_conf_key_is_secret("My.PASSWORD.thing"));
        assert_true(ho_conf_key_is_secret("registry.basic.auth.user.info"));
        assert_false(ho_conf_key_is_secret("sasl.username"));
        assert_false(ho_conf_key_is_secret("ssl.ca.location"));
        assert_false(ho_conf_key_is_secret("bootstrap.servers"));
}

static char *write_file(const char *text) {
        char *path = strdup("/tmp/ho-test-conf.XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

/* A value librdkafka refuses is quoted, unless its key is a secret. */
static void test_set_errors(void **state) {
        (void)state;
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        char e[512];
        assert_int_equal(ho_conf_kafka_set(c, "sasl.password=" SECRET, e, sizeof(e)), HO_OK);
        assert_int_equal(ho_conf_kafka_set(c, "acks=" SECRET, e, sizeof(e)), HO_ERR_USAGE);
        assert_non_null(strstr(e, "acks=" SECRET)); /* not a secret: say what was wrong */
        /* a misspelt name may be a secret's: the value is never shown */
        assert_int_equal(ho_conf_kafka_set(c, "sasl.pasword=" SECRET, e, sizeof(e)), HO_ERR_USAGE);
        assert_non_null(strstr(e, "\"sasl.pasword=...\": No such configuration property"));
        assert_null(strstr(e, SECRET));

        assert_int_equal(ho_conf_kafka_set(c, "sasl.password", e, sizeof(e)), HO_ERR_USAGE);
        assert_non_null(strstr(e, "expected key=value"));
        assert_int_equal(ho_conf_kafka_set(c, "=" SECRET, e, sizeof(e)), HO_ERR_USAGE);
        assert_null(strstr(e, SECRET));
        rd_kafka_conf_destroy(c);
}

static void test_file_errors(void **state) {
        (void)state;
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        char e[512];
        char *f = write_file("# client\nsecurity.protocol=SASL_SSL\nsasl.password " SECRET "\n");
        assert_int_equal(ho_conf_kafka_file(c, f, e, sizeof(e)), HO_ERR_USAGE);
        assert_non_null(strstr(e, ":3: expected key=value"));
        assert_non_null(strstr(e, "\"sasl.password ...\""));
        assert_null(strstr(e, SECRET));
        unlink(f);
        free(f);
        f = write_file("sasl.pasword = " SECRET "\n");
        assert_int_equal(ho_conf_kafka_file(c, f, e, sizeof(e)), HO_ERR_USAGE);
        assert_non_null(strstr(e, ":1: \"sasl.pasword=...\""));
        assert_null(strstr(e, SECRET));
        unlink(f);
        free(f);
        rd_kafka_conf_destroy(c);
}

/* HANDOVER_KAFKA_CONFIG is the default -c: applied first, replaced by a -c. */
static void test_default_file(void **state) {
        (void)state;
        char *f = write_file("client.id=from-env\nsasl.username=env-user\n");
        char *g = write_file("client.id=from-c\n");
        setenv("HANDOVER_KAFKA_CONFIG", f, 1);
        char e[512], v[256];
        size_t vsz;

        ho_conf_kprop_t xs[] = {{false, "sasl.username=flag-user"}};
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        assert_string_equal(ho_conf_kafka_default_file(xs, 1), f);
        assert_int_equal(ho_conf_kafka_apply(c, xs, 1, e, sizeof(e)), HO_OK);
        vsz = sizeof(v);
        assert_int_equal(rd_kafka_conf_get(c, "client.id", v, &vsz), RD_KAFKA_CONF_OK);
        assert_string_equal(v, "from-env");
        vsz = sizeof(v);
        assert_int_equal(rd_kafka_conf_get(c, "sasl.username", v, &vsz), RD_KAFKA_CONF_OK);
        assert_string_equal(v, "flag-user"); /* the flags have the last word */
        rd_kafka_conf_destroy(c);

        ho_conf_kprop_t cs[] = {{true, g}};
        c = rd_kafka_conf_new();
        assert_null(ho_conf_kafka_default_file(cs, 1));
        assert_int_equal(ho_conf_kafka_apply(c, cs, 1, e, sizeof(e)), HO_OK);
        vsz = sizeof(v);
        assert_int_equal(rd_kafka_conf_get(c, "client.id", v, &vsz), RD_KAFKA_CONF_OK);
        assert_string_equal(v, "from-c");
        vsz = sizeof(v); /* the env file was not read */
        assert_int_not_equal(rd_kafka_conf_get(c, "sasl.username", v, &vsz), RD_KAFKA_CONF_OK);
        rd_kafka_conf_destroy(c);

        setenv("HANDOVER_KAFKA_CONFIG", "/nonexistent/ho-kafka.properties", 1);
        c = rd_kafka_conf_new();
        assert_int_equal(ho_conf_kafka_apply(c, NULL, 0, e, sizeof(e)), HO_ERR_IO);
        assert_non_null(strstr(e, "/nonexistent/ho-kafka.properties"));
        rd_kafka_conf_destroy(c);
        unsetenv("HANDOVER_KAFKA_CONFIG");
        unlink(f);
        unlink(g);
        free(f);
        free(g);
}

/* What ps shows after ho_conf_hide_argv: no secret, everything else as it was. */
static void test_hide_argv(void **state) {
        (void)state;
        char a0[] = "handover-aggregate", a1[] = "-r", a2[] = "redis://worker:" SECRET "@h:1/0",
             a3[] = "-X", a4[] = "sasl.password=" SECRET, a5[] = "-Xssl.key.password=" SECRET,
             a6[] = "-X", a7[] = "sasl.username=alice", a8[] = "/data/a_password=1.jsonl",
             a9[] = "-rredis://:" SECRET "@h", a10[] = "registry.basic.auth.user.info=u:" SECRET;
        char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, NULL};
        ho_conf_hide_argv(11, argv);
        for (int i = 0; i < 11; i++)
                assert_null(strstr(argv[i], SECRET));
        assert_string_equal(a2, "redis://worker:**************@h:1/0");
        assert_string_equal(a4, "sasl.password=**************");
        assert_string_equal(a5, "-Xssl.key.password=**************");
        assert_string_equal(a7, "sasl.username=alice");
        assert_string_equal(a8, "/data/a_password=1.jsonl"); /* a path, not a property */
        assert_string_equal(a9, "-rredis://:**************@h");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_secret_keys), cmocka_unit_test(test_set_errors),
                cmocka_unit_test(test_file_errors), cmocka_unit_test(test_default_file),
                cmocka_unit_test(test_hide_argv),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
