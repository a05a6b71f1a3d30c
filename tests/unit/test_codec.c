/*
 * test_codec.c: single-object encoding round trips (v1, v2), v1 data read
 * as the newest schema, and every way untrusted bytes can be wrong: each is
 * its own error, never a crash, never a partial report.
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
#include "handover/codec.h"
#include "handover/jreport.h"

static const char *const full_text =
        "{\"report_id\":\"reuters-2026-01-21-1\",\"transfer_id\":\"mx-us-2026-01-20\","
        "\"occurred_on\":\"2026-01-20\",\"reported_at\":\"2026-01-21T05:47:00.250Z\","
        "\"source\":\"Reuters\",\"origin_country\":\"MX\",\"destination_country\":\"US\","
        "\"inmate_count\":37,\"aircraft_count\":4,\"destinations\":[\"Houston\",\"San Diego\"],"
        "\"cumulative_total\":92,\"authority\":\"Fiscal\xc3\xad"
        "a General\","
        "\"persons\":[{\"name\":\"A. B.\",\"affiliation\":\"CJNG\"},{\"name\":\"C. D.\"}],"
        "\"inmates_by_destination\":{\"San Diego\":17,\"Houston\":20}}";

static const char *const min_text =
        "{\"transfer_id\":\"mx-us-2025-02-27\",\"occurred_on\":\"2025-02-27\","
        "\"reported_at\":\"2025-02-27T23:00:00Z\",\"source\":\"Reuters\","
        "\"origin_country\":\"MX\",\"destination_country\":\"US\",\"inmate_count\":29}";

typedef struct fixture_s {
        ho_codec_t *codec;
        ho_report_t full, min, out;
        ho_buf_t v1, v2;
} fixture_t;

static void parse(const char *text, ho_report_t *r) {
        char err[256];
        if (ho_report_from_json(text, strlen(text), r, err, sizeof(err)))
                fail_msg("%s", err);
}

static int setup(void **state) {
        fixture_t *f = calloc(1, sizeof(*f));
        char err[256];

        f->codec = ho_codec_new(err, sizeof(err));
        if (!f->codec)
                fail_msg("%s", err);
        ho_report_init(&f->full);
        ho_report_init(&f->min);
        ho_report_init(&f->out);
        parse(full_text, &f->full);
        parse(min_text, &f->min);
        assert_int_equal(ho_codec_set_writer(f->codec, "v1", err, sizeof(err)), HO_OK);
        assert_int_equal(ho_codec_encode(f->codec, &f->full, &f->v1, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_codec_set_writer(f->codec, "v2", err, sizeof(err)), HO_OK);
        assert_int_equal(ho_codec_encode(f->codec, &f->full, &f->v2, err, sizeof(err)), HO_OK);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture_t *f = *state;
        ho_codec_destroy(f->codec);
        ho_report_clear(&f->full);
        ho_report_clear(&f->min);
        ho_report_clear(&f->out);
        ho_buf_free(&f->v1);
        ho_buf_free(&f->v2);
        free(f);
        return 0;
}

static void assert_same_json(const ho_report_t *a, const ho_report_t *b) {
        char *ta = ho_report_to_json_text(a), *tb = ho_report_to_json_text(b);
        if (strcmp(ta, tb))
                fail_msg("reports differ:\n  %s\n  %s", ta, tb);
        free(ta);
        free(tb);
}

static void assert_cleared(const ho_report_t *r) {
        assert_null(r->report_id);
        assert_null(r->transfer_id);
        assert_null(r->source);
        assert_null(r->destinations);
        assert_null(r->persons);
        assert_null(r->by_destination);
        assert_int_equal(r->n_destinations + r->n_persons + r->n_by_destination, 0);
        assert_int_equal(r->schema_version, 0);
}

/* decode and expect `want`; on error the report must be cleared */
static void expect(fixture_t *f, const void *data, size_t len, ho_err_t want) {
        char err[512] = "";
        ho_err_t e = ho_codec_decode(f->codec, data, len, &f->out, err, sizeof(err));
        if (e != want)
                fail_msg("decode of %zu bytes: %s (%s), expected %s", len, ho_err_name(e), err,
                         ho_err_name(want));
        if (e) {
                assert_true(err[0] != '\0');
                assert_cleared(&f->out);
        }
}

static void test_round_trip_v2(void **state) {
        fixture_t *f = *state;
        const ho_schema_t *v2 = ho_schema_registry_version(ho_codec_registry(f->codec), 2);
        uint64_t fp;

        assert_int_equal((unsigned char)f->v2.data[0], 0xC3);
        assert_int_equal((unsigned char)f->v2.data[1], 0x01);
        assert_int_equal(ho_soe_fingerprint(f->v2.data, f->v2.len, &fp), HO_OK);
        assert_true(fp == v2->fingerprint);
        for (int i = 0; i < 8; i++) /* little-endian on the wire */
                assert_int_equal((unsigned char)f->v2.data[2 + i], (fp >> (8 * i)) & 0xff);
        expect(f, f->v2.data, f->v2.len, HO_OK);
        assert_int_equal(f->out.schema_version, 2);
        assert_same_json(&f->out, &f->full);
        assert_int_equal(f->out.reported_at % 1000, 250);

        /* the minimal report too, and decoding again reuses the codec's values */
        ho_buf_t b = HO_BUF_INIT;
        char err[256];
        for (int i = 0; i < 100; i++) {
                ho_buf_reset(&b);
                assert_int_equal(ho_codec_encode(f->codec, i % 2 ? &f->min : &f->full, &b, err,
                                                 sizeof(err)),
                                 HO_OK);
                expect(f, b.data, b.len, HO_OK);
                assert_same_json(&f->out, i % 2 ? &f->min : &f->full);
        }
        /* encode appends */
        size_t one = b.len;
        assert_int_equal(ho_codec_encode(f->codec, &f->min, &b, err, sizeof(err)), HO_OK);
        assert_int_equal(b.len, 2 * one);
        ho_buf_free(&b);
}

/* v1 data read as the newest schema: everything but the v2 addition, which
 * takes its default {} */
static void test_v1_read_as_v2(void **state) {
        fixture_t *f = *state;
        const ho_schema_t *v1 = ho_schema_registry_version(ho_codec_registry(f->codec), 1);
        uint64_t fp;
        ho_report_t want;

        assert_int_equal(ho_soe_fingerprint(f->v1.data, f->v1.len, &fp), HO_OK);
        assert_true(fp == v1->fingerprint);
        assert_true(f->v1.len < f->v2.len);
        expect(f, f->v1.data, f->v1.len, HO_OK);
        assert_int_equal(f->out.schema_version, 1);
        assert_int_equal(f->out.n_by_destination, 0);
        assert_null(f->out.by_destination);
        ho_report_init(&want);
        assert_int_equal(ho_report_copy(&want, &f->full), HO_OK);
        for (size_t i = 0; i < want.n_by_destination; i++)
                free(want.by_destination[i].city);
        free(want.by_destination);
        want.by_destination = NULL;
        want.n_by_destination = 0;
        assert_same_json(&f->out, &want);
        ho_report_clear(&want);
}

/* The id derivation's Avro serializer is the codec's direct encoder's. */
static void test_datum_matches_avro_c(void **state) {
        fixture_t *f = *state;
        ho_buf_t b = HO_BUF_INIT;

        assert_int_equal(ho_report_avro_datum(&f->full, f->full.report_id, &b), HO_OK);
        assert_int_equal(b.len, f->v2.len - HO_SOE_HEADER);
        assert_memory_equal(b.data, f->v2.data + HO_SOE_HEADER, b.len);
        ho_buf_reset(&b);
        ho_buf_t enc = HO_BUF_INIT;
        char err[256];
        assert_int_equal(ho_codec_encode(f->codec, &f->min, &enc, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_report_avro_datum(&f->min, f->min.report_id, &b), HO_OK);
        assert_int_equal(b.len, enc.len - HO_SOE_HEADER);
        assert_memory_equal(b.data, enc.data + HO_SOE_HEADER, b.len);
        ho_buf_free(&b);
        ho_buf_free(&enc);
}

static void test_marker_and_fingerprint(void **state) {
        fixture_t *f = *state;
        unsigned char v[256];
        uint64_t fp;

        memcpy(v, f->v2.data, f->v2.len);
        expect(f, v, 0, HO_ERR_TRUNCATED);
        v[0] = 0xC2;
        expect(f, v, f->v2.len, HO_ERR_BAD_MARKER);
        expect(f, v, 1, HO_ERR_BAD_MARKER);
        v[0] = 0xC3;
        v[1] = 0x00;
        expect(f, v, f->v2.len, HO_ERR_BAD_MARKER);
        expect(f, v, 2, HO_ERR_BAD_MARKER);
        expect(f, "{\"a\":1}", 7, HO_ERR_BAD_MARKER);
        v[1] = 0x01;
        v[5] ^= 0x40; /* a fingerprint of no known schema */
        expect(f, v, f->v2.len, HO_ERR_UNKNOWN_SCHEMA);
        assert_int_equal(ho_soe_fingerprint(v, 9, &fp), HO_ERR_TRUNCATED);
        assert_int_equal(ho_soe_fingerprint("\xC3", 1, &fp), HO_ERR_TRUNCATED);
        assert_int_equal(ho_soe_fingerprint("\x00", 1, &fp), HO_ERR_BAD_MARKER);
}

/* Every proper prefix of a valid value is TRUNCATED, for v1 and v2 data and
 * for the minimal report. */
static void test_truncated_everywhere(void **state) {
        fixture_t *f = *state;
        ho_buf_t m = HO_BUF_INIT;
        char err[256];
        const ho_buf_t *bufs[3] = {&f->v1, &f->v2, &m};

        assert_int_equal(ho_codec_encode(f->codec, &f->min, &m, err, sizeof(err)), HO_OK);
        for (int k = 0; k < 3; k++) {
                for (size_t n = 0; n < bufs[k]->len; n++) {
                        /* a copy of exactly n bytes, so ASan sees any read beyond */
                        unsigned char *p = malloc(n ? n : 1);
                        memcpy(p, bufs[k]->data, n);
                        expect(f, p, n, HO_ERR_TRUNCATED);
                        free(p);
                }
        }
        ho_buf_free(&m);
}

static void test_trailing(void **state) {
        fixture_t *f = *state;
        ho_buf_t b = HO_BUF_INIT;

        ho_buf_append(&b, f->v2.data, f->v2.len);
        ho_buf_append(&b, "\0", 1);
        expect(f, b.data, b.len, HO_ERR_TRAILING);
        ho_buf_append(&b, "garbage", 7);
        expect(f, b.data, b.len, HO_ERR_TRAILING);
        ho_buf_free(&b);
        /* v2 data relabelled as v1: the v1 record ends before the map */
        unsigned char v[512];
        const ho_schema_t *v1 = ho_schema_registry_version(ho_codec_registry(f->codec), 1);
        memcpy(v, f->v2.data, f->v2.len);
        for (int i = 0; i < 8; i++)
                v[2 + i] = (unsigned char)(v1->fingerprint >> (8 * i));
        expect(f, v, f->v2.len, HO_ERR_TRAILING);
}

/* ---- hand-made datums ------------------------------------------------------ */

static void zz(ho_buf_t *b, int64_t v) {
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        do {
                unsigned char c = z & 0x7f;
                z >>= 7;
                if (z)
                        c |= 0x80;
                ho_buf_append(b, &c, 1);
        } while (z);
}

static void str(ho_buf_t *b, const char *s) {
        zz(b, (int64_t)strlen(s));
        ho_buf_append(b, s, strlen(s));
}

static void header(fixture_t *f, ho_buf_t *b, int version) {
        const ho_schema_t *s = ho_schema_registry_version(ho_codec_registry(f->codec), version);
        unsigned char h[10] = {0xC3, 0x01};
        for (int i = 0; i < 8; i++)
                h[2 + i] = (unsigned char)(s->fingerprint >> (8 * i));
        ho_buf_append(b, h, 10);
}

/* the v1 fields up to inmate_count */
static void head_fields(ho_buf_t *b, int32_t inmates) {
        str(b, "r1");
        str(b, "t1");
        zz(b, 20473);
        zz(b, INT64_C(1768974420000));
        str(b, "AP");
        str(b, "MX");
        str(b, "US");
        zz(b, inmates);
}

static void test_hostile(void **state) {
        fixture_t *f = *state;
        ho_buf_t b = HO_BUF_INIT;
        char err[256];

        /* a well-formed hand-made v1 datum decodes */
        header(f, &b, 1);
        head_fields(&b, 5);
        zz(&b, 0); /* aircraft_count: null */
        zz(&b, 1); /* destinations: one block of 1 */
        str(&b, "Houston");
        zz(&b, 0);
        zz(&b, 1); /* cumulative_total: int */
        zz(&b, 5);
        zz(&b, 0);  /* authority null */
        zz(&b, -1); /* persons: a block of 1 with its byte size */
        zz(&b, 3);
        str(&b, "X");
        zz(&b, 0);
        zz(&b, 0);
        expect(f, b.data, b.len, HO_OK);
        assert_string_equal(f->out.destinations[0], "Houston");
        assert_string_equal(f->out.persons[0].name, "X");
        assert_int_equal(f->out.cumulative_total, 5);

        /* a string length of 2^60 */
        ho_buf_reset(&b);
        header(f, &b, 2);
        zz(&b, INT64_C(1) << 60);
        ho_buf_append(&b, "abc", 3);
        expect(f, b.data, b.len, HO_ERR_TRUNCATED);
        /* a negative string length */
        ho_buf_reset(&b);
        header(f, &b, 2);
        zz(&b, -3);
        ho_buf_append(&b, "abcdef", 6);
        expect(f, b.data, b.len, HO_ERR_NOT_AVRO);
        /* a varint of 11 bytes */
        ho_buf_reset(&b);
        header(f, &b, 2);
        ho_buf_append(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
        expect(f, b.data, b.len, HO_ERR_NOT_AVRO);
        /* a 10th varint byte with bits beyond 64 */
        ho_buf_reset(&b);
        header(f, &b, 2);
        ho_buf_append(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10);
        expect(f, b.data, b.len, HO_ERR_NOT_AVRO);
        /* an int field beyond 32 bits */
        ho_buf_reset(&b);
        header(f, &b, 2);
        str(&b, "r1");
        str(&b, "t1");
        zz(&b, INT64_C(1) << 40);
        expect(f, b.data, b.len, HO_ERR_NOT_AVRO);
        /* a union index out of range */
        ho_buf_reset(&b);
        header(f, &b, 2);
        head_fields(&b, 5);
        zz(&b, 2);
        zz(&b, 7);
        expect(f, b.data, b.len, HO_ERR_NOT_AVRO);
        ho_buf_reset(&b);
        header(f, &b, 2);
        head_fields(&b, 5);
        zz(&b, -1);
        expect(f, b.data, b.len, HO_ERR_NOT_AVRO);
        /* an array block count of 2^62 */
        ho_buf_reset(&b);
        header(f, &b, 2);
        head_fields(&b, 5);
        zz(&b, 0);
        zz(&b, INT64_C(1) << 62);
        str(&b, "x");
        expect(f, b.data, b.len, HO_ERR_TRUNCATED);
        /* the most negative block count */
        ho_buf_reset(&b);
        header(f, &b, 2);
        head_fields(&b, 5);
        zz(&b, 0);
        zz(&b, INT64_MIN);
        expect(f, b.data, b.len, HO_ERR_NOT_AVRO);
        /* a negative block byte size */
        ho_buf_reset(&b);
        header(f, &b, 2);
        head_fields(&b, 5);
        zz(&b, 0);
        zz(&b, -1);
        zz(&b, -5);
        str(&b, "x");
        zz(&b, 0);
        expect(f, b.data, b.len, HO_ERR_NOT_AVRO);
        /* a map count of 2^40 */
        ho_buf_reset(&b);
        header(f, &b, 2);
        head_fields(&b, 5);
        ho_buf_append(&b, "\0\0\0\0\0", 5); /* null, [], null, null, [] */
        zz(&b, INT64_C(1) << 40);
        expect(f, b.data, b.len, HO_ERR_TRUNCATED);

        /* well-formed Avro that breaks a rule: INVALID, with the rule's message */
        ho_buf_reset(&b);
        header(f, &b, 1);
        head_fields(&b, 200000);
        ho_buf_append(&b, "\0\0\0\0\0", 5);
        assert_int_equal(ho_codec_decode(f->codec, b.data, b.len, &f->out, err, sizeof(err)),
                         HO_ERR_INVALID);
        assert_string_equal(err, "field \"inmate_count\": expected an integer 0..100000, got "
                                 "200000");
        assert_cleared(&f->out);
        /* a NUL byte inside a string */
        ho_buf_reset(&b);
        header(f, &b, 1);
        str(&b, "r1");
        str(&b, "t1");
        zz(&b, 20473);
        zz(&b, 0);
        zz(&b, 3);
        ho_buf_append(&b, "A\0P", 3);
        str(&b, "MX");
        str(&b, "US");
        zz(&b, 1);
        ho_buf_append(&b, "\0\0\0\0\0", 5);
        expect(f, b.data, b.len, HO_ERR_INVALID);
        /* invalid UTF-8 in a string */
        ho_buf_reset(&b);
        header(f, &b, 1);
        str(&b, "r1");
        str(&b, "t1");
        zz(&b, 20473);
        zz(&b, 0);
        str(&b, "\xff\xfe");
        str(&b, "MX");
        str(&b, "US");
        zz(&b, 1);
        ho_buf_append(&b, "\0\0\0\0\0", 5);
        expect(f, b.data, b.len, HO_ERR_INVALID);
        /* an empty report_id and a three-letter country */
        ho_buf_reset(&b);
        header(f, &b, 1);
        str(&b, "");
        str(&b, "t1");
        zz(&b, 20473);
        zz(&b, 0);
        str(&b, "AP");
        str(&b, "MEX");
        str(&b, "US");
        zz(&b, 1);
        ho_buf_append(&b, "\0\0\0\0\0", 5);
        expect(f, b.data, b.len, HO_ERR_INVALID);
        /* 65 destinations */
        ho_buf_reset(&b);
        header(f, &b, 1);
        head_fields(&b, 1);
        zz(&b, 0);
        zz(&b, 65);
        for (int i = 0; i < 65; i++)
                str(&b, "c");
        zz(&b, 0);
        ho_buf_append(&b, "\0\0\0", 3);
        expect(f, b.data, b.len, HO_ERR_INVALID);
        /* the same city twice in the map */
        ho_buf_reset(&b);
        header(f, &b, 2);
        head_fields(&b, 1);
        ho_buf_append(&b, "\0\0\0\0\0", 5);
        zz(&b, 2);
        str(&b, "Houston");
        zz(&b, 1);
        str(&b, "Houston");
        zz(&b, 2);
        zz(&b, 0);
        char e2[256];
        ho_err_t e = ho_codec_decode(f->codec, b.data, b.len, &f->out, e2, sizeof(e2));
        /* refused, as a repeated JSON member is: avro-c would keep the last value */
        assert_int_equal(e, HO_ERR_INVALID);
        assert_string_equal(e2, "field \"inmates_by_destination\": key \"Houston\" appears "
                                "more than once (expected distinct cities)");
        ho_buf_free(&b);
}

/* Garbage after a valid header: a decoder error or a valid report, never a
 * crash, never a partial report. Deterministic pseudo-random bytes. */
static void test_garbage(void **state) {
        fixture_t *f = *state;
        unsigned char v[300];
        uint64_t x = 88172645463325252ULL;
        char err[256];
        int counts[HO_ERR__COUNT] = {0};

        for (int round = 0; round < 20000; round++) {
                size_t len = 10 + (size_t)(round % 250);
                memcpy(v, round % 2 ? f->v1.data : f->v2.data, 10);
                for (size_t i = 10; i < len; i++) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        v[i] = (unsigned char)x;
                }
                /* sometimes keep a valid prefix and mutate one byte */
                if (round % 3 == 0) {
                        const ho_buf_t *src = round % 2 ? &f->v1 : &f->v2;
                        len = src->len;
                        memcpy(v, src->data, len);
                        v[10 + x % (len - 10)] ^= (unsigned char)(1 + (x >> 8) % 255);
                }
                ho_err_t e = ho_codec_decode(f->codec, v, len, &f->out, err, sizeof(err));
                counts[e]++;
                if (e)
                        assert_cleared(&f->out);
                else
                        assert_int_equal(ho_report_validate(&f->out, NULL, 0), HO_OK);
        }
        /* the distinct errors all showed up */
        assert_true(counts[HO_ERR_TRUNCATED] > 0);
        assert_true(counts[HO_ERR_NOT_AVRO] > 0);
        assert_true(counts[HO_ERR_TRAILING] > 0);
        assert_true(counts[HO_ERR_INVALID] > 0);
        assert_int_equal(counts[HO_ERR_NOMEM], 0);
}

static void test_encode_checks(void **state) {
        fixture_t *f = *state;
        ho_buf_t b = HO_BUF_INIT;
        ho_report_t r;
        char err[256];

        ho_report_init(&r);
        assert_int_equal(ho_report_copy(&r, &f->min), HO_OK);
        r.inmate_count = -1;
        assert_int_equal(ho_codec_encode(f->codec, &r, &b, err, sizeof(err)), HO_ERR_INVALID);
        assert_int_equal(b.len, 0);
        ho_report_clear(&r);
        ho_buf_free(&b);
}

static char *write_tmp(const char *text) {
        char *path = strdup("/tmp/test_codec_XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

static void test_set_writer(void **state) {
        fixture_t *f = *state;
        const ho_schema_t *v1 = ho_schema_registry_version(ho_codec_registry(f->codec), 1);
        char err[512], *path;

        assert_int_equal(ho_codec_set_writer(f->codec, "v9", err, sizeof(err)), HO_ERR_USAGE);
        assert_int_equal(ho_codec_set_writer(f->codec, "/nonexistent.avsc", err, sizeof(err)),
                         HO_ERR_IO);
        /* the v1 file itself is the known v1 entry */
        path = write_tmp(v1->json);
        assert_int_equal(ho_codec_set_writer(f->codec, path, err, sizeof(err)), HO_OK);
        assert_ptr_equal(ho_codec_writer(f->codec), v1);
        unlink(path);
        free(path);
        /* a writer the newest schema cannot read */
        path = write_tmp("{\"type\":\"record\",\"name\":\"TransferReport\",\"namespace\":"
                         "\"handover\",\"fields\":[{\"name\":\"report_id\",\"type\":\"long\"}]}");
        assert_int_equal(ho_codec_set_writer(f->codec, path, err, sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        assert_non_null(strstr(err, "report_id"));
        unlink(path);
        free(path);
        path = write_tmp("{not json");
        assert_int_equal(ho_codec_set_writer(f->codec, path, err, sizeof(err)), HO_ERR_SCHEMA);
        unlink(path);
        free(path);
        assert_ptr_equal(ho_codec_writer(f->codec), v1);
        assert_int_equal(ho_codec_set_writer(f->codec, "v2", err, sizeof(err)), HO_OK);
}

/* ---- the direct coder against avro-c ------------------------------------------ */

/* avro-c's own bytes for r under schema version v (a generic value filled by
 * the codec, written by avro_value_write) */
static void avro_c_datum(fixture_t *f, int v, const ho_report_t *r, ho_buf_t *out) {
        const ho_schema_t *s = ho_schema_registry_version(ho_codec_registry(f->codec), v);
        avro_value_iface_t *iface = avro_generic_class_from_schema(s->avro);
        avro_value_t val;
        avro_writer_t w;
        size_t size;
        char err[256];

        assert_non_null(iface);
        assert_int_equal(avro_generic_value_new(iface, &val), 0);
        assert_int_equal(ho_codec_report_to_value(f->codec, r, &val, err, sizeof(err)), HO_OK);
        assert_int_equal(avro_value_sizeof(&val, &size), 0);
        ho_buf_reset(out);
        assert_int_equal(ho_buf_reserve(out, size), HO_OK);
        w = avro_writer_memory(out->data, (int64_t)size);
        assert_int_equal(avro_value_write(w, &val), 0);
        out->len = size;
        avro_writer_free(w);
        avro_value_decref(&val);
        avro_value_iface_decref(iface);
}

static uint64_t rnd_state;
static uint64_t rnd(void) {
        rnd_state ^= rnd_state << 13;
        rnd_state ^= rnd_state >> 7;
        rnd_state ^= rnd_state << 17;
        return rnd_state;
}

/* a random valid report: every optional field present or not, multi-byte
 * UTF-8, lists from empty to past a varint byte (persons up to 200) */
static void random_report(ho_report_t *r) {
        static const char *const words[] = {"Houston",
                                            "San Diego",
                                            "Ciudad Ju\xc3\xa1rez",
                                            "El Paso",
                                            "\xe5\x8c\x97\xe4\xba\xac",
                                            "A",
                                            "Z z",
                                            "Brooklyn",
                                            "Phoenix",
                                            "Canc\xc3\xban"};
        char buf[160];
        size_t i, n;

        ho_report_clear(r);
        snprintf(buf, sizeof(buf), "r-%llx", (unsigned long long)rnd());
        r->report_id = strdup(buf);
        snprintf(buf, sizeof(buf), "t-%llu", (unsigned long long)(rnd() % 1000));
        r->transfer_id = strdup(buf);
        r->occurred_on = (int32_t)(rnd() % 40000) - 5000;
        r->reported_at = (int64_t)(rnd() % INT64_C(200000000000000)) - INT64_C(50000000000000);
        r->source = strdup(words[rnd() % 10]);
        memcpy(r->origin_country, "MX", 3);
        memcpy(r->destination_country, rnd() % 2 ? "US" : "CO", 3);
        r->inmate_count = (int32_t)(rnd() % (HO_INMATES_MAX + 1));
        if ((r->has_aircraft_count = rnd() % 2))
                r->aircraft_count = (int32_t)(rnd() % (HO_AIRCRAFT_MAX + 1));
        if ((r->has_cumulative_total = rnd() % 2))
                r->cumulative_total = (int32_t)(rnd() % 2 ? rnd() % 100 : rnd() % INT32_MAX);
        if (rnd() % 2)
                r->authority = strdup(words[rnd() % 10]);
        n = rnd() % 3 ? rnd() % 5 : rnd() % (HO_DESTINATIONS_MAX + 1);
        r->destinations = n ? calloc(n, sizeof(char *)) : NULL;
        for (i = 0; i < n; i++)
                r->destinations[i] = strdup(words[rnd() % 10]);
        r->n_destinations = n;
        n = rnd() % 3 ? rnd() % 4 : rnd() % 200;
        r->persons = n ? calloc(n, sizeof(*r->persons)) : NULL;
        for (i = 0; i < n; i++) {
                snprintf(buf, sizeof(buf), "%s %zu", words[rnd() % 10], i);
                r->persons[i].name = strdup(buf);
                if (rnd() % 2)
                        r->persons[i].affiliation = strdup(words[rnd() % 10]);
        }
        r->n_persons = n;
        n = rnd() % 2 ? 0 : rnd() % 3 ? rnd() % 4 : rnd() % (HO_BY_DEST_MAX + 1);
        r->by_destination = n ? calloc(n, sizeof(*r->by_destination)) : NULL;
        for (i = 0; i < n; i++) { /* distinct cities, in order */
                snprintf(buf, sizeof(buf), "%02zu %s", i, words[rnd() % 10]);
                r->by_destination[i].city = strdup(buf);
                r->by_destination[i].count = (int32_t)(rnd() % (HO_INMATES_MAX + 1));
        }
        r->n_by_destination = n;
}

/* Both decoders on the same bytes: the same error and message, or the same
 * report; never a partial one. */
static void decode_both(fixture_t *f, const void *data, size_t len, ho_report_t *a,
                        ho_report_t *b) {
        char ea[512] = "", eb[512] = "";
        ho_err_t da = ho_codec_decode(f->codec, data, len, a, ea, sizeof(ea));
        ho_err_t db = ho_codec_decode_generic(f->codec, data, len, b, eb, sizeof(eb));

        if (da != db || (da && strcmp(ea, eb)))
                fail_msg("direct: %s (%s), avro-c: %s (%s)", ho_err_name(da), ea, ho_err_name(db),
                         eb);
        if (da) {
                assert_cleared(a);
                assert_cleared(b);
                return;
        }
        assert_int_equal(a->schema_version, b->schema_version);
        assert_same_json(a, b);
}

/* The direct encoder writes avro-c's bytes for v1 and v2; the direct decoder
 * reads back what avro-c reads, for thousands of generated reports. */
static void test_direct_matches_avro_c(void **state) {
        fixture_t *f = *state;
        ho_buf_t mine = HO_BUF_INIT, theirs = HO_BUF_INIT;
        ho_report_t r, a, b;
        char err[256];

        ho_report_init(&r);
        ho_report_init(&a);
        ho_report_init(&b);
        rnd_state = 0x2545F4914F6CDD1DULL;
        for (int k = 0; k < 2000; k++) {
                const ho_report_t *src = &r;
                if (k == 0)
                        src = &f->full;
                else if (k == 1)
                        src = &f->min;
                else
                        random_report(&r);
                assert_int_equal(ho_report_validate(src, err, sizeof(err)), HO_OK);
                for (int v = 1; v <= 2; v++) {
                        /* the datum alone */
                        ho_buf_reset(&mine);
                        assert_int_equal(ho_codec_datum(src, src->report_id, v, &mine), HO_OK);
                        avro_c_datum(f, v, src, &theirs);
                        assert_int_equal(mine.len, theirs.len);
                        assert_memory_equal(mine.data, theirs.data, mine.len);
                        /* and through the codec */
                        assert_int_equal(ho_codec_set_writer(f->codec, v == 1 ? "v1" : "v2", err,
                                                             sizeof(err)),
                                         HO_OK);
                        ho_buf_reset(&mine);
                        assert_int_equal(ho_codec_encode(f->codec, src, &mine, err, sizeof(err)),
                                         HO_OK);
                        assert_int_equal(mine.len, HO_SOE_HEADER + theirs.len);
                        assert_memory_equal(mine.data + HO_SOE_HEADER, theirs.data, theirs.len);
                        decode_both(f, mine.data, mine.len, &a, &b);
                        assert_int_equal(a.schema_version, v);
                        if (v == 2)
                                assert_same_json(&a, src);
                        /* a few damaged copies of it: the same errors both ways */
                        for (int m = 0; m < 4; m++) {
                                size_t at = HO_SOE_HEADER + rnd() % (mine.len - HO_SOE_HEADER);
                                unsigned char save = (unsigned char)mine.data[at];
                                mine.data[at] = (char)(save ^ (1 + rnd() % 255));
                                decode_both(f, mine.data, mine.len, &a, &b);
                                mine.data[at] = (char)save;
                                decode_both(f, mine.data, at, &a, &b); /* cut there */
                        }
                }
        }
        assert_int_equal(ho_codec_set_writer(f->codec, "v2", err, sizeof(err)), HO_OK);
        ho_report_clear(&r);
        ho_report_clear(&a);
        ho_report_clear(&b);
        ho_buf_free(&mine);
        ho_buf_free(&theirs);
}

/* Datums only avro-c's semantics settle: map keys repeated or holding a NUL
 * (avro-c keys by C string), more than 64 entries; and rule breakers found
 * while converting (NUL bytes, country lengths, list caps). Both decoders
 * must agree on each. */
static void test_direct_edge_cases(void **state) {
        fixture_t *f = *state;
        ho_buf_t b = HO_BUF_INIT;
        ho_report_t x, y;

        ho_report_init(&x);
        ho_report_init(&y);
        for (int c = 0; c < 14; c++) {
                ho_buf_reset(&b);
                header(f, &b, 2);
                if (c == 0) { /* a NUL in report_id */
                        zz(&b, 3);
                        ho_buf_append(&b,
                                      "r\0"
                                      "1",
                                      3);
                        str(&b, "t1");
                        zz(&b, 20473);
                        zz(&b, 0);
                        str(&b, "AP");
                        str(&b, "MX");
                        str(&b, "US");
                        zz(&b, 1);
                } else if (c == 1) { /* a one-letter country */
                        str(&b, "r1");
                        str(&b, "t1");
                        zz(&b, 20473);
                        zz(&b, 0);
                        str(&b, "AP");
                        str(&b, "M");
                        str(&b, "US");
                        zz(&b, 1);
                } else {
                        head_fields(&b, 3);
                }
                if (c < 2) {
                        ho_buf_append(&b, "\0\0\0\0\0\0", 6);
                        decode_both(f, b.data, b.len, &x, &y);
                        continue;
                }
                zz(&b, 0);              /* aircraft_count null */
                if (c == 2 || c == 3) { /* 65 destinations, one with a NUL */
                        zz(&b, 65);
                        for (int i = 0; i < 65; i++)
                                str(&b, i == 7 && c == 3 ? "" : "c");
                        zz(&b, 0);
                } else if (c == 4) { /* a NUL in a destination */
                        zz(&b, 2);
                        str(&b, "a");
                        zz(&b, 3);
                        ho_buf_append(&b, "b\0c", 3);
                        zz(&b, 0);
                } else {
                        zz(&b, 0);
                }
                zz(&b, 0);    /* cumulative_total null */
                if (c == 5) { /* a NUL in authority, and one in a destination? no: persons */
                        zz(&b, 1);
                        zz(&b, 2);
                        ho_buf_append(&b, "F\0", 2);
                } else {
                        zz(&b, 0);
                }
                if (c == 6 || c == 7) { /* persons: a NUL in a name / an affiliation */
                        zz(&b, 2);
                        str(&b, "P");
                        zz(&b, 0);
                        if (c == 6) {
                                zz(&b, 2);
                                ho_buf_append(&b, "Q\0", 2);
                                zz(&b, 0);
                        } else {
                                str(&b, "Q");
                                zz(&b, 1);
                                zz(&b, 2);
                                ho_buf_append(&b, "\0Q", 2);
                        }
                        zz(&b, 0);
                } else if (c == 8) { /* 1001 persons in two blocks */
                        zz(&b, 1000);
                        for (int i = 0; i < 1000; i++) {
                                str(&b, "P");
                                zz(&b, 0);
                        }
                        zz(&b, -1);
                        zz(&b, 2);
                        str(&b, "P");
                        zz(&b, 0);
                        zz(&b, 0);
                } else {
                        zz(&b, 0);
                }
                if (c == 9) { /* a repeated key: refused (avro-c would keep the last value) */
                        zz(&b, 3);
                        str(&b, "Houston");
                        zz(&b, 1);
                        str(&b, "Austin");
                        zz(&b, 2);
                        str(&b, "Houston");
                        zz(&b, 3);
                        zz(&b, 0);
                } else if (c == 10) { /* keys equal up to a NUL */
                        zz(&b, 2);
                        zz(&b, 3);
                        ho_buf_append(&b, "A\0x", 3);
                        zz(&b, 1);
                        zz(&b, 3);
                        ho_buf_append(&b, "A\0y", 3);
                        zz(&b, 2);
                        zz(&b, 0);
                } else if (c == 11 || c == 12) { /* 65 entries: distinct, or 2 repeated */
                        zz(&b, 65);
                        for (int i = 0; i < 65; i++) {
                                char k[8];
                                snprintf(k, sizeof(k), "k%02d", c == 12 && i == 64 ? 0 : i);
                                str(&b, k);
                                zz(&b, i);
                        }
                        zz(&b, 0);
                } else if (c == 13) { /* keys out of order, in two blocks */
                        zz(&b, 1);
                        str(&b, "b");
                        zz(&b, 1);
                        zz(&b, -1);
                        zz(&b, 3);
                        str(&b, "a");
                        zz(&b, 2);
                        zz(&b, 0);
                } else {
                        zz(&b, 0);
                }
                decode_both(f, b.data, b.len, &x, &y);
                if (c == 9 || c == 12) { /* refused by both: 65 entries merge to 64 in avro-c */
                        char e[256];
                        assert_int_equal(ho_codec_decode(f->codec, b.data, b.len, &x, e, sizeof(e)),
                                         HO_ERR_INVALID);
                        assert_non_null(strstr(e, c == 9 ? "key \"Houston\" appears more than once"
                                                         : "expected at most 64 entries, got 65"));
                }
                if (c == 13)
                        assert_string_equal(x.by_destination[0].city, "a");
        }
        ho_report_clear(&x);
        ho_report_clear(&y);
        ho_buf_free(&b);
}

/* A report validated by parsing carries a stamp; any change after that
 * makes encode check the rules again. */
static void test_encode_revalidates_changes(void **state) {
        fixture_t *f = *state;
        ho_buf_t b = HO_BUF_INIT;
        ho_report_t r;
        char err[256];

        ho_report_init(&r);
        parse(full_text, &r);
        assert_true(ho_report_is_validated(&r));
        r.source[0] = '\xff'; /* edited in place: invalid UTF-8 */
        assert_false(ho_report_is_validated(&r));
        assert_int_equal(ho_codec_encode(f->codec, &r, &b, err, sizeof(err)), HO_ERR_INVALID);
        assert_int_equal(b.len, 0);
        r.source[0] = 'R';
        assert_true(ho_report_is_validated(&r));
        r.persons[1].name[0] = '\0'; /* an empty name */
        assert_int_equal(ho_codec_encode(f->codec, &r, &b, err, sizeof(err)), HO_ERR_INVALID);
        assert_string_equal(err, "field \"persons[1].name\": expected a non-empty UTF-8 string of "
                                 "at most 512 bytes, got \"\"");
        r.persons[1].name[0] = 'C';
        r.inmate_count = 100001;
        assert_int_equal(ho_codec_encode(f->codec, &r, &b, err, sizeof(err)), HO_ERR_INVALID);
        r.inmate_count = 37;
        assert_int_equal(ho_codec_encode(f->codec, &r, &b, err, sizeof(err)), HO_OK);
        /* neither decoded reports nor copies carry a stamp */
        assert_int_equal(ho_codec_decode(f->codec, b.data, b.len, &f->out, err, sizeof(err)),
                         HO_OK);
        assert_false(ho_report_is_validated(&f->out));
        ho_report_t c;
        ho_report_init(&c);
        assert_int_equal(ho_report_copy(&c, &r), HO_OK);
        assert_false(ho_report_is_validated(&c));
        ho_report_clear(&c);
        ho_report_clear(&r);
        assert_false(ho_report_is_validated(&r));
        ho_buf_free(&b);
}

/* The embedded schemas are coded directly; a writer schema given as a file
 * with another canonical form goes through avro-c, and both decoders read
 * its values alike. */
static void test_runtime_writer_uses_avro_c(void **state) {
        fixture_t *f = *state;
        ho_schema_registry_t *reg = ho_codec_registry(f->codec);
        const ho_schema_t *v2 = ho_schema_registry_version(reg, 2);
        ho_buf_t b = HO_BUF_INIT;
        ho_report_t a, g;
        char err[512], *json, *at, *path;

        assert_true(ho_codec_is_direct(f->codec, ho_schema_registry_version(reg, 1)));
        assert_true(ho_codec_is_direct(f->codec, v2));
        /* v2 with the aircraft_count union's branches swapped: readable as
         * v2, but not the layout the direct coder is written for */
        json = strdup(v2->json);
        at = strstr(json, "[\"null\", \"int\"]"); /* aircraft_count's, the first */
        assert_non_null(at);
        memcpy(at, "[\"int\", \"null\"]", strlen("[\"int\", \"null\"]"));
        path = write_tmp(json);
        assert_int_equal(ho_codec_set_writer(f->codec, path, err, sizeof(err)), HO_OK);
        assert_false(ho_codec_is_direct(f->codec, ho_codec_writer(f->codec)));
        ho_report_init(&a);
        ho_report_init(&g);
        for (int i = 0; i < 2; i++) {
                const ho_report_t *src = i ? &f->min : &f->full;
                ho_buf_reset(&b);
                assert_int_equal(ho_codec_encode(f->codec, src, &b, err, sizeof(err)), HO_OK);
                assert_int_equal(ho_codec_decode(f->codec, b.data, b.len, &a, err, sizeof(err)),
                                 HO_OK);
                assert_int_equal(ho_codec_decode_generic(f->codec, b.data, b.len, &g, err,
                                                         sizeof(err)),
                                 HO_OK);
                assert_same_json(&a, src);
                assert_same_json(&g, src);
        }
        assert_int_equal(ho_codec_set_writer(f->codec, "v2", err, sizeof(err)), HO_OK);
        ho_report_clear(&a);
        ho_report_clear(&g);
        unlink(path);
        free(path);
        free(json);
        ho_buf_free(&b);
}

static void test_value_api(void **state) {
        fixture_t *f = *state;
        const ho_schema_t *v2 = ho_schema_registry_newest(ho_codec_registry(f->codec));
        avro_value_iface_t *iface = avro_generic_class_from_schema(v2->avro);
        avro_value_t val;
        char err[256];

        assert_int_equal(avro_generic_value_new(iface, &val), 0);
        assert_int_equal(ho_codec_report_to_value(f->codec, &f->full, &val, err, sizeof(err)),
                         HO_OK);
        assert_int_equal(ho_codec_value_to_report(f->codec, &val, &f->out, err, sizeof(err)),
                         HO_OK);
        assert_int_equal(f->out.schema_version, 2);
        assert_same_json(&f->out, &f->full);
        avro_value_decref(&val);
        avro_value_iface_decref(iface);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip_v2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_v1_read_as_v2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_datum_matches_avro_c, setup, teardown),
                cmocka_unit_test_setup_teardown(test_marker_and_fingerprint, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
                cmocka_unit_test_setup_teardown(test_trailing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_encode_checks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_set_writer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_value_api, setup, teardown),
                cmocka_unit_test_setup_teardown(test_direct_matches_avro_c, setup, teardown),
                cmocka_unit_test_setup_teardown(test_direct_edge_cases, setup, teardown),
                cmocka_unit_test_setup_teardown(test_encode_revalidates_changes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_runtime_writer_uses_avro_c, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
