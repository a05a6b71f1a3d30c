/* test_registry.c: the registry client's settings, answers and cache, and the
 * codec's Confluent framing over it. No registry runs here: the client points
 * at a closed loopback port, so anything not answered from the cache is a
 * transport failure (HO_ERR_TIMEOUT), which is what these tests check. The
 * real registry is the integration tests' (registry_*.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "handover/codec.h"
#include "handover/jreport.h"
#include "handover/registry.h"
#include "handover/schema.h"

/* nothing listens on port 1 */
#define CLOSED "http://127.0.0.1:1/apis/ccompat/v7/"

static const char *line =
        "{\"report_id\":\"r-1\",\"transfer_id\":\"mx-us-1\",\"occurred_on\":\"2025-02-27\","
        "\"reported_at\":\"2025-02-27T23:00:00Z\",\"source\":\"Reuters\",\"origin_country\":"
        "\"MX\",\"destination_country\":\"US\",\"inmate_count\":29,\"aircraft_count\":null,"
        "\"destinations\":[\"Houston\"],\"cumulative_total\":29,\"authority\":null,"
        "\"persons\":[{\"name\":\"A B\",\"affiliation\":null}]}";

static ho_registry_t *closed_registry(void) {
        char err[512];
        ho_registry_t *rg = ho_registry_new(CLOSED, err, sizeof(err));
        assert_non_null(rg);
        assert_int_equal(ho_registry_set(rg, "registry.retries", "1", err, sizeof(err)), HO_OK);
        assert_int_equal(ho_registry_set(rg, "retry.backoff.ms", "1", err, sizeof(err)), HO_OK);
        assert_int_equal(ho_registry_set(rg, "request.timeout.ms", "2000", err, sizeof(err)),
                         HO_OK);
        return rg;
}

static void test_url(void **state) {
        char err[512];
        (void)state;
        ho_registry_t *rg = ho_registry_new("http://127.0.0.1:8081//", err, sizeof(err));
        assert_non_null(rg);
        assert_string_equal(ho_registry_url(rg), "http://127.0.0.1:8081");
        ho_registry_destroy(rg);

        assert_null(ho_registry_new("ftp://x", err, sizeof(err)));
        assert_non_null(strstr(err, "http:// or https://"));
        assert_null(ho_registry_new("", err, sizeof(err)));
        assert_null(ho_registry_new("http://?x", err, sizeof(err)));
        /* credentials never go into a URL (it is logged): refused, and not repeated */
        assert_null(ho_registry_new("https://bob:s3cret@reg:8081", err, sizeof(err)));
        assert_non_null(strstr(err, "registry.basic.auth.user.info"));
        assert_null(strstr(err, "s3cret"));
}

static void test_settings(void **state) {
        char err[512];
        (void)state;
        ho_registry_t *rg = ho_registry_new(CLOSED, err, sizeof(err));
        assert_non_null(rg);
        assert_int_equal(ho_registry_set_kv(rg, "registry.basic.auth.user.info=bob:s3cret", err,
                                            sizeof(err)),
                         HO_OK);
        /* a malformed secret is refused without being quoted back */
        assert_int_equal(ho_registry_set_kv(rg, "registry.basic.auth.user.info=s3cret", err,
                                            sizeof(err)),
                         HO_ERR_USAGE);
        assert_null(strstr(err, "s3cret"));
        assert_int_equal(ho_registry_set_kv(rg, "registry.retries=-1", err, sizeof(err)),
                         HO_ERR_USAGE);
        assert_int_equal(ho_registry_set_kv(rg, "registry.request.timeout.ms=0", err, sizeof(err)),
                         HO_ERR_USAGE);
        assert_int_equal(ho_registry_set_kv(rg, "registry.cache.max=x", err, sizeof(err)),
                         HO_ERR_USAGE);
        assert_int_equal(ho_registry_set_kv(rg, "registry.nope=1", err, sizeof(err)), HO_ERR_USAGE);
        assert_non_null(strstr(err, "unknown registry property \"registry.nope\""));
        assert_int_equal(ho_registry_set_kv(rg, "registry.retries", err, sizeof(err)),
                         HO_ERR_USAGE);
        ho_registry_destroy(rg);

        /* the environment's user info is checked the same way, and not echoed either */
        setenv(HO_REGISTRY_USER_INFO_ENV, "n0colon", 1);
        assert_null(ho_registry_new(CLOSED, err, sizeof(err)));
        assert_null(strstr(err, "n0colon"));
        setenv(HO_REGISTRY_USER_INFO_ENV, "bob:s3cret", 1);
        rg = ho_registry_new(CLOSED, err, sizeof(err));
        assert_non_null(rg);
        ho_registry_destroy(rg);
        unsetenv(HO_REGISTRY_USER_INFO_ENV);
}

static void test_parse(void **state) {
        char err[512], *s = NULL;
        int32_t id = -1;
        (void)state;
        assert_int_equal(ho_registry_parse_id("{\"id\":42}", 9, &id, err, sizeof(err)), HO_OK);
        assert_int_equal(id, 42);
        assert_int_equal(ho_registry_parse_id("{\"id\":-1}", 9, &id, err, sizeof(err)),
                         HO_ERR_JSON);
        assert_int_equal(ho_registry_parse_id("{\"id\":4294967296}", 17, &id, err, sizeof(err)),
                         HO_ERR_JSON);
        assert_int_equal(ho_registry_parse_id("[1]", 3, &id, err, sizeof(err)), HO_ERR_JSON);
        assert_int_equal(ho_registry_parse_id("{\"id\":", 6, &id, err, sizeof(err)), HO_ERR_JSON);

        const char *ok = "{\"schema\":\"\\\"int\\\"\"}";
        assert_int_equal(ho_registry_parse_schema(ok, strlen(ok), &s, err, sizeof(err)), HO_OK);
        assert_string_equal(s, "\"int\"");
        free(s);
        const char *avro = "{\"schema\":\"\\\"int\\\"\",\"schemaType\":\"AVRO\"}";
        assert_int_equal(ho_registry_parse_schema(avro, strlen(avro), &s, err, sizeof(err)), HO_OK);
        free(s);
        const char *proto = "{\"schema\":\"syntax = 1\",\"schemaType\":\"PROTOBUF\"}";
        assert_int_equal(ho_registry_parse_schema(proto, strlen(proto), &s, err, sizeof(err)),
                         HO_ERR_NOT_FOUND);
        assert_null(s);
        assert_non_null(strstr(err, "PROTOBUF"));
        assert_int_equal(ho_registry_parse_schema("{\"schema\":1}", 12, &s, err, sizeof(err)),
                         HO_ERR_JSON);
        assert_int_equal(ho_registry_parse_schema("", 0, &s, err, sizeof(err)), HO_ERR_JSON);
}

/* An unreachable registry is retriable and bounded: retries + 1 requests,
 * then HO_ERR_TIMEOUT naming the id; never NOT_FOUND (that would dead-letter). */
static void test_unreachable(void **state) {
        char err[512];
        const char *s;
        ho_registry_stats_t st;
        (void)state;
        ho_registry_t *rg = closed_registry();
        time_t t0 = time(NULL);
        assert_int_equal(ho_registry_schema(rg, 7, &s, err, sizeof(err)), HO_ERR_TIMEOUT);
        assert_true(time(NULL) - t0 < 10);
        assert_non_null(strstr(err, "schema id 7"));
        assert_non_null(strstr(err, "2 tries"));
        ho_registry_stats(rg, &st);
        assert_int_equal(st.requests, 2);
        assert_int_equal(st.misses, 1);
        int32_t id;
        assert_int_equal(ho_registry_register(rg, "t-value", "\"int\"", &id, err, sizeof(err)),
                         HO_ERR_TIMEOUT);
        ho_registry_destroy(rg);
}

/* Cached ids are answered without a request; the cache keeps cache.max ids,
 * dropping the oldest. */
static void test_cache(void **state) {
        char err[512];
        const char *s = NULL;
        ho_registry_stats_t st;
        (void)state;
        ho_registry_t *rg = closed_registry();
        assert_int_equal(ho_registry_set(rg, "cache.max", "2", err, sizeof(err)), HO_OK);
        assert_int_equal(ho_registry_prime(rg, 1, "\"int\""), HO_OK);
        assert_int_equal(ho_registry_prime(rg, 2, "\"long\""), HO_OK);
        assert_int_equal(ho_registry_schema(rg, 1, &s, err, sizeof(err)), HO_OK);
        assert_string_equal(s, "\"int\"");
        assert_int_equal(ho_registry_prime(rg, 3, "\"string\""), HO_OK); /* 1 goes */
        assert_int_equal(ho_registry_schema(rg, 3, &s, err, sizeof(err)), HO_OK);
        assert_string_equal(s, "\"string\"");
        assert_int_equal(ho_registry_schema(rg, 2, &s, err, sizeof(err)), HO_OK);
        ho_registry_stats(rg, &st);
        assert_int_equal(st.requests, 0);
        assert_int_equal(st.hits, 3);
        assert_int_equal(st.evicted, 1);
        assert_int_equal(st.cached, 2);
        assert_int_equal(ho_registry_schema(rg, 1, &s, err, sizeof(err)), HO_ERR_TIMEOUT);
        /* many more ids than the cache holds: it stays bounded */
        for (int32_t i = 10; i < 1000; i++)
                assert_int_equal(ho_registry_prime(rg, i, "\"int\""), HO_OK);
        ho_registry_stats(rg, &st);
        assert_int_equal(st.cached, 2);
        assert_int_equal(ho_registry_schema(rg, 999, &s, err, sizeof(err)), HO_OK);
        ho_registry_destroy(rg);
}

/* The codec reads both framings of the same datum once it has a registry. */
static void test_codec_framing(void **state) {
        char err[512];
        ho_report_t r, out;
        ho_buf_t soe = HO_BUF_INIT, cf = HO_BUF_INIT;
        int32_t id = 0;
        (void)state;
        ho_codec_t *c = ho_codec_new(err, sizeof(err));
        assert_non_null(c);
        assert_int_equal(ho_codec_set_writer(c, "v1", err, sizeof(err)), HO_OK);
        ho_report_init(&r);
        ho_report_init(&out);
        assert_int_equal(ho_report_from_json(line, strlen(line), &r, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_codec_encode(c, &r, &soe, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_confluent_frame(soe.data, soe.len, 0x01020304, &cf), HO_OK);
        assert_int_equal(cf.len, soe.len - HO_SOE_HEADER + HO_CONFLUENT_HEADER);
        assert_memory_equal(cf.data, "\x00\x01\x02\x03\x04", 5);
        assert_int_equal(ho_confluent_id(cf.data, cf.len, &id), HO_OK);
        assert_int_equal(id, 0x01020304);
        assert_int_equal(ho_confluent_frame(cf.data, cf.len, 1, &soe), HO_ERR_BAD_MARKER);

        /* without a registry: a clear refusal naming the id */
        assert_int_equal(ho_codec_decode(c, cf.data, cf.len, &out, err, sizeof(err)),
                         HO_ERR_BAD_MARKER);
        assert_non_null(strstr(err, "schema id 16909060"));

        ho_registry_t *rg = closed_registry();
        ho_codec_set_registry(c, rg);
        /* an id the registry cannot be asked about: retriable, not the value's fault */
        assert_int_equal(ho_codec_decode(c, cf.data, cf.len, &out, err, sizeof(err)),
                         HO_ERR_TIMEOUT);
        const ho_schema_t *v1 = ho_schema_registry_version(ho_codec_registry(c), 1);
        assert_int_equal(ho_registry_prime(rg, 0x01020304, v1->json), HO_OK);
        assert_int_equal(ho_codec_decode(c, cf.data, cf.len, &out, err, sizeof(err)), HO_OK);
        assert_int_equal(out.schema_version, 1);
        assert_ptr_equal(ho_codec_last_writer(c), v1);
        char *a = ho_report_to_json_text(&r), *b = ho_report_to_json_text(&out);
        assert_string_equal(a, b);
        free(a);
        free(b);
        /* both framings on one codec */
        assert_int_equal(ho_codec_decode(c, soe.data, soe.len, &out, err, sizeof(err)), HO_OK);
        /* short headers and cut datums */
        assert_int_equal(ho_codec_decode(c, cf.data, 3, &out, err, sizeof(err)), HO_ERR_TRUNCATED);
        assert_int_equal(ho_codec_decode(c, cf.data, cf.len - 1, &out, err, sizeof(err)),
                         HO_ERR_TRUNCATED);
        assert_int_equal(ho_codec_decode(c, "\x07zz", 3, &out, err, sizeof(err)),
                         HO_ERR_BAD_MARKER);
        assert_non_null(strstr(err, "Confluent"));
        /* a registry schema that is no transfer report */
        assert_int_equal(ho_registry_prime(rg, 5, "\"int\""), HO_OK);
        memcpy(cf.data, "\x00\x00\x00\x00\x05", 5);
        assert_int_equal(ho_codec_decode(c, cf.data, cf.len, &out, err, sizeof(err)),
                         HO_ERR_UNKNOWN_SCHEMA);
        assert_non_null(strstr(err, "schema id 5"));

        ho_codec_destroy(c);
        ho_registry_destroy(rg);
        ho_report_clear(&r);
        ho_report_clear(&out);
        ho_buf_free(&soe);
        ho_buf_free(&cf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_url),   cmocka_unit_test(test_settings),
                cmocka_unit_test(test_parse), cmocka_unit_test(test_unreachable),
                cmocka_unit_test(test_cache), cmocka_unit_test(test_codec_framing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
