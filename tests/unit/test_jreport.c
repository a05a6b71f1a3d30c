/*
 * test_jreport.c: every validation rule of the JSON report input, with its
 * exact message; round trips through ho_report_to_json; derived ids;
 * ho_report_validate on reports built in memory (as decoded Avro is).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "handover/jreport.h"
#include "jreport_ref.h"

static const char *const base_text =
        "{\"report_id\":\"reuters-2026-01-21-1\",\"transfer_id\":\"mx-us-2026-01-20\","
        "\"occurred_on\":\"2026-01-20\",\"reported_at\":\"2026-01-21T05:47:00Z\","
        "\"source\":\"Reuters\",\"origin_country\":\"MX\",\"destination_country\":\"US\","
        "\"inmate_count\":37,\"aircraft_count\":4,\"destinations\":[\"Houston\",\"San Diego\"],"
        "\"cumulative_total\":92,\"authority\":\"FGR\","
        "\"persons\":[{\"name\":\"A. B.\",\"affiliation\":\"CJNG\"},{\"name\":\"C. D.\","
        "\"affiliation\":null}],"
        "\"inmates_by_destination\":{\"San Diego\":17,\"Houston\":20}}";

/* base with member `key` set to the JSON `value` (NULL: removed) */
static char *variant(const char *key, const char *value) {
        json_t *o = json_loads(base_text, 0, NULL), *v;
        char *s;

        assert_non_null(o);
        if (value) {
                v = json_loads(value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
                if (!v)
                        fail_msg("bad test value %s", value);
                json_object_set_new(o, key, v);
        } else {
                json_object_del(o, key);
        }
        s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return s;
}

/* ho_report_from_json() is the one reader: on every text it must decide as
 * the reference (jansson + the rules in their order, tests/helpers/
 * jreport_ref.c) does, with the same message, jansson's syntax errors
 * included, or the same report. Returns from_json's result. */
static ho_err_t cross_check(const char *text, size_t len) {
        char e1[512] = "", e2[512] = "";
        ho_report_t a, b;
        ho_err_t r1, r2;

        ho_report_init(&a);
        ho_report_init(&b);
        r1 = ho_report_from_json(text, len, &a, e1, sizeof(e1));
        r2 = ho_ref_report_from_json(text, len, &b, e2, sizeof(e2));
        if (r1 != r2 || (r1 && strcmp(e1, e2)))
                fail_msg("%.*s\n  from_json: %s (%s)\n  reference: %s (%s)", (int)len, text,
                         ho_err_name(r1), e1, ho_err_name(r2), e2);
        if (r1)
                assert_null(a.report_id);
        if (!r1) {
                char *ta = ho_report_to_json_text(&a), *tb = ho_report_to_json_text(&b);
                if (strcmp(ta, tb))
                        fail_msg("%.*s\n  read as %s\n  reference %s", (int)len, text, ta, tb);
                assert_true(ho_report_is_validated(&a));
                free(ta);
                free(tb);
        }
        ho_report_clear(&a);
        ho_report_clear(&b);
        return r1;
}

static void expect_ok_text(const char *text, ho_report_t *r) {
        char err[512];
        cross_check(text, strlen(text));
        ho_err_t e = ho_report_from_json(text, strlen(text), r, err, sizeof(err));
        if (e)
                fail_msg("%s\n  refused: %s", text, err);
}

static void expect_err_text(const char *text, ho_err_t want, const char *msg) {
        char err[512] = "";
        ho_report_t r;

        ho_report_init(&r);
        cross_check(text, strlen(text));
        ho_err_t e = ho_report_from_json(text, strlen(text), &r, err, sizeof(err));
        if (e != want)
                fail_msg("%s\n  gave %s (%s), expected %s", text, ho_err_name(e), err,
                         ho_err_name(want));
        if (msg && strcmp(err, msg))
                fail_msg("%s\n  message: %s\n  expected: %s", text, err, msg);
        /* never a partial record */
        assert_null(r.report_id);
        assert_null(r.transfer_id);
        assert_null(r.destinations);
        assert_null(r.persons);
        assert_null(r.by_destination);
        assert_int_equal(r.n_destinations + r.n_persons + r.n_by_destination, 0);
}

static void bad(const char *key, const char *value, const char *msg) {
        char *t = variant(key, value);
        expect_err_text(t, HO_ERR_INVALID, msg);
        free(t);
}

static void good(const char *key, const char *value) {
        char *t = variant(key, value);
        ho_report_t r;

        ho_report_init(&r);
        expect_ok_text(t, &r);
        ho_report_clear(&r);
        free(t);
}

static void test_full_report(void **state) {
        ho_report_t r;

        (void)state;
        ho_report_init(&r);
        expect_ok_text(base_text, &r);
        assert_string_equal(r.report_id, "reuters-2026-01-21-1");
        assert_string_equal(r.transfer_id, "mx-us-2026-01-20");
        assert_int_equal(r.occurred_on, 20473);
        assert_int_equal(r.reported_at, INT64_C(1768974420000));
        assert_string_equal(r.origin_country, "MX");
        assert_int_equal(r.inmate_count, 37);
        assert_true(r.has_aircraft_count);
        assert_int_equal(r.aircraft_count, 4);
        assert_int_equal(r.n_destinations, 2);
        assert_string_equal(r.destinations[1], "San Diego");
        assert_true(r.has_cumulative_total);
        assert_int_equal(r.cumulative_total, 92);
        assert_string_equal(r.authority, "FGR");
        assert_int_equal(r.n_persons, 2);
        assert_string_equal(r.persons[0].affiliation, "CJNG");
        assert_null(r.persons[1].affiliation);
        /* sorted by city whatever the input order */
        assert_int_equal(r.n_by_destination, 2);
        assert_string_equal(r.by_destination[0].city, "Houston");
        assert_int_equal(r.by_destination[0].count, 20);
        assert_string_equal(r.by_destination[1].city, "San Diego");
        assert_int_equal(ho_report_validate(&r, NULL, 0), HO_OK);
        ho_report_clear(&r);
}

static void test_optional_fields(void **state) {
        ho_report_t r;
        const char *min = "{\"transfer_id\":\"t\",\"occurred_on\":\"2025-02-27\","
                          "\"reported_at\":\"2025-02-27T23:00:00+01:00\",\"source\":\"AP\","
                          "\"origin_country\":\"MX\",\"destination_country\":\"US\","
                          "\"inmate_count\":0}";

        (void)state;
        ho_report_init(&r);
        expect_ok_text(min, &r);
        assert_non_null(r.report_id);
        assert_int_equal(strlen(r.report_id), 34);
        assert_memory_equal(r.report_id, "r-", 2);
        assert_false(r.has_aircraft_count);
        assert_false(r.has_cumulative_total);
        assert_null(r.authority);
        assert_int_equal(r.n_destinations + r.n_persons + r.n_by_destination, 0);
        ho_report_clear(&r);
        /* null where the schema has a union */
        good("aircraft_count", "null");
        good("cumulative_total", "null");
        good("authority", "null");
        good("aircraft_count", NULL);
        good("cumulative_total", NULL);
        good("authority", NULL);
        good("destinations", NULL);
        good("persons", NULL);
        good("inmates_by_destination", NULL);
        good("report_id", NULL);
        good("destinations", "[]");
        good("persons", "[]");
        good("inmates_by_destination", "{}");
        good("persons", "[{\"name\":\"X\"}]");
}

static void test_required_and_unknown(void **state) {
        static const char *const req[] = {"transfer_id",    "occurred_on",
                                          "reported_at",    "source",
                                          "origin_country", "destination_country",
                                          "inmate_count",   NULL};
        char msg[128];

        (void)state;
        for (int i = 0; req[i]; i++) {
                snprintf(msg, sizeof(msg), "missing field \"%s\"", req[i]);
                bad(req[i], NULL, msg);
        }
        bad("inmates", "3", "unknown field \"inmates\" (did you mean \"inmate_count\"?)");
        bad("sourse", "\"x\"", "unknown field \"sourse\" (did you mean \"source\"?)");
        bad("reportid", "\"x\"", "unknown field \"reportid\" (did you mean \"report_id\"?)");
        bad("destination", "[]", "unknown field \"destination\" (did you mean \"destinations\"?)");
        bad("zzz", "1", "unknown field \"zzz\"");
        bad("persons", "[{\"name\":\"X\",\"affilation\":null}]",
            "unknown field \"affilation\" in \"persons[0]\" (did you mean \"affiliation\"?)");
        bad("persons", "[{\"affiliation\":null}]", "missing field \"persons[0].name\"");
}

static void test_types_and_bounds(void **state) {
        (void)state;
        bad("inmate_count", "200000",
            "field \"inmate_count\": expected an integer 0..100000, got 200000");
        bad("inmate_count", "-1", "field \"inmate_count\": expected an integer 0..100000, got -1");
        bad("inmate_count", "\"29\"",
            "field \"inmate_count\": expected an integer 0..100000, got \"29\"");
        bad("inmate_count", "29.0",
            "field \"inmate_count\": expected an integer 0..100000, got 29.0");
        bad("inmate_count", "1.5",
            "field \"inmate_count\": expected an integer 0..100000, got 1.5");
        bad("inmate_count", "null",
            "field \"inmate_count\": expected an integer 0..100000, got null");
        good("inmate_count", "100000");
        good("inmate_count", "0");
        bad("aircraft_count", "1001",
            "field \"aircraft_count\": expected an integer 0..1000 or null, got 1001");
        bad("aircraft_count", "true",
            "field \"aircraft_count\": expected an integer 0..1000 or null, got true");
        good("aircraft_count", "1000");
        bad("cumulative_total", "-5",
            "field \"cumulative_total\": expected an integer 0..2147483647 or null, got -5");
        bad("cumulative_total", "2147483648",
            "field \"cumulative_total\": expected an integer 0..2147483647 or null, got "
            "2147483648");
        good("cumulative_total", "2147483647");

        bad("occurred_on", "\"2025-02-30\"",
            "field \"occurred_on\": expected a date YYYY-MM-DD, got \"2025-02-30\"");
        bad("occurred_on", "20250227",
            "field \"occurred_on\": expected a date YYYY-MM-DD, got 20250227");
        bad("reported_at", "\"2026-01-21T05:47:00\"",
            "field \"reported_at\": expected an RFC 3339 time with a zone, e.g. "
            "\"2026-01-21T05:47:00Z\", got \"2026-01-21T05:47:00\"");
        good("reported_at", "\"2026-01-21T05:47:00.5-06:00\"");

        bad("origin_country", "\"mx\"",
            "field \"origin_country\": expected a country code of two upper-case letters (ISO "
            "3166-1 alpha-2), got \"mx\"");
        bad("destination_country", "\"USA\"",
            "field \"destination_country\": expected a country code of two upper-case letters "
            "(ISO 3166-1 alpha-2), got \"USA\"");
        bad("destination_country", "\"\xc3\x9cS\"",
            "field \"destination_country\": expected a country code of two upper-case letters "
            "(ISO 3166-1 alpha-2), got \"\xc3\x9cS\"");
        bad("origin_country", "1",
            "field \"origin_country\": expected a country code of two upper-case letters (ISO "
            "3166-1 alpha-2), got 1");

        bad("source", "\"\"",
            "field \"source\": expected a non-empty UTF-8 string of at most 512 bytes, got \"\"");
        bad("source", "[]",
            "field \"source\": expected a non-empty UTF-8 string of at most 512 bytes, got an "
            "array");
        /* NUL bytes: refused as jansson refuses \u0000 */
        expect_err_text("{\"source\":\"a\\u0000b\"}", HO_ERR_JSON,
                        "not a JSON object: \\u0000 is not allowed without JSON_ALLOW_NUL near "
                        "'\"a\\u0000b\"' (column 20)");
        bad("authority", "\"\"",
            "field \"authority\": expected a non-empty UTF-8 string of at most 512 bytes, got "
            "\"\"");
        bad("authority", "{}",
            "field \"authority\": expected a non-empty UTF-8 string of at most 512 bytes, got an "
            "object");

        /* length caps: HO_STR_MAX bytes (not characters) */
        char big[600 + 3];
        big[0] = '"';
        memset(big + 1, 'a', 600);
        big[601] = '"';
        big[602] = '\0';
        bad("source", big,
            "field \"source\": expected a non-empty UTF-8 string of at most 512 bytes, got 600 "
            "bytes");
        big[513] = '"';
        big[514] = '\0';
        good("source", big);
        /* 256 two-byte characters = 512 bytes: ok; one more is not */
        char u[2 + 2 * 257 + 1];
        u[0] = '"';
        for (int i = 0; i < 257; i++)
                memcpy(u + 1 + 2 * i, "\xc3\xa9", 2);
        u[1 + 2 * 257] = '"';
        u[2 + 2 * 257] = '\0';
        bad("source", u,
            "field \"source\": expected a non-empty UTF-8 string of at most 512 bytes, got 514 "
            "bytes");
        u[1 + 2 * 256] = '"';
        u[2 + 2 * 256] = '\0';
        good("source", u);
}

static void test_ids(void **state) {
        (void)state;
        bad("transfer_id", "\"a b\"",
            "field \"transfer_id\": expected 1..128 visible ASCII characters (no spaces), got "
            "\"a b\"");
        bad("transfer_id", "\"\"",
            "field \"transfer_id\": expected 1..128 visible ASCII characters (no spaces), got "
            "\"\"");
        bad("report_id", "\"caf\xc3\xa9\"",
            "field \"report_id\": expected 1..128 visible ASCII characters (no spaces), got "
            "\"caf\xc3\xa9\"");
        bad("report_id", "\"tab\\there\"",
            "field \"report_id\": expected 1..128 visible ASCII characters (no spaces), got "
            "\"tab\\u0009here\"");
        bad("report_id", "7",
            "field \"report_id\": expected 1..128 visible ASCII characters (no spaces), got 7");
        bad("report_id", "null",
            "field \"report_id\": expected 1..128 visible ASCII characters (no spaces), got "
            "null");
        char id[128 + 4];
        id[0] = '"';
        memset(id + 1, '~', 129);
        id[130] = '"';
        id[131] = '\0';
        bad("report_id", id,
            "field \"report_id\": expected 1..128 visible ASCII characters (no spaces), got 129 "
            "bytes");
        id[129] = '"';
        id[130] = '\0';
        good("report_id", id);
        good("transfer_id", "\"!\"");
}

static void test_arrays_and_map(void **state) {
        ho_buf_t b = HO_BUF_INIT;
        size_t i;

        (void)state;
        bad("destinations", "\"Houston\"",
            "field \"destinations\": expected an array of at most 64 cities, got \"Houston\"");
        bad("destinations", "null",
            "field \"destinations\": expected an array of at most 64 cities, got null");
        bad("destinations", "[\"Houston\",\"\"]",
            "field \"destinations[1]\": expected a non-empty UTF-8 string of at most 512 bytes, "
            "got \"\"");
        bad("destinations", "[\"Houston\",3]",
            "field \"destinations[1]\": expected a non-empty UTF-8 string of at most 512 bytes, "
            "got 3");
        ho_buf_append_str(&b, "[");
        for (i = 0; i < 65; i++)
                ho_buf_printf(&b, "%s\"c%zu\"", i ? "," : "", i);
        ho_buf_append_str(&b, "]");
        bad("destinations", b.data,
            "field \"destinations\": expected an array of at most 64 cities, got 65");
        b.data[b.len - 7] = ']'; /* drop the last: 64 */
        b.data[b.len - 6] = '\0';
        good("destinations", b.data);

        ho_buf_reset(&b);
        ho_buf_append_str(&b, "[");
        for (i = 0; i < 1001; i++)
                ho_buf_printf(&b, "%s{\"name\":\"p%zu\"}", i ? "," : "", i);
        ho_buf_append_str(&b, "]");
        bad("persons", b.data,
            "field \"persons\": expected an array of at most 1000 persons, got 1001");
        bad("persons", "[\"X\"]",
            "field \"persons[0]\": expected an object {\"name\", \"affiliation\"}, got \"X\"");
        bad("persons", "[{\"name\":\"\"}]",
            "field \"persons[0].name\": expected a non-empty UTF-8 string of at most 512 bytes, "
            "got \"\"");
        bad("persons", "[{\"name\":\"X\",\"affiliation\":5}]",
            "field \"persons[0].affiliation\": expected a non-empty UTF-8 string of at most 512 "
            "bytes, got 5");

        bad("inmates_by_destination", "[]",
            "field \"inmates_by_destination\": expected an object of at most 64 \"city\": count "
            "members, got an array");
        bad("inmates_by_destination", "{\"Houston\":-1}",
            "field \"inmates_by_destination.Houston\": expected an integer 0..100000, got -1");
        bad("inmates_by_destination", "{\"Houston\":\"3\"}",
            "field \"inmates_by_destination.Houston\": expected an integer 0..100000, got \"3\"");
        bad("inmates_by_destination", "{\"\":3}",
            "field \"inmates_by_destination (a city)\": expected a non-empty UTF-8 string of at "
            "most 512 bytes, got \"\"");
        ho_buf_reset(&b);
        ho_buf_append_str(&b, "{");
        for (i = 0; i < 65; i++)
                ho_buf_printf(&b, "%s\"c%zu\":1", i ? "," : "", i);
        ho_buf_append_str(&b, "}");
        bad("inmates_by_destination", b.data,
            "field \"inmates_by_destination\": expected an object of at most 64 \"city\": count "
            "members, got 65 cities");
        ho_buf_free(&b);
}

static void test_json_errors(void **state) {
        (void)state;
        expect_err_text("", HO_ERR_JSON, NULL);
        expect_err_text("{", HO_ERR_JSON, NULL);
        expect_err_text("[1]", HO_ERR_JSON, NULL);
        expect_err_text("{} {}", HO_ERR_JSON, NULL);
        expect_err_text("{\"inmate_count\":1,\"inmate_count\":2}", HO_ERR_JSON, NULL);
        expect_err_text("{\"source\":\"\xff\"}", HO_ERR_JSON, NULL);
        char *t = variant("x", NULL);
        size_t n = strlen(t);
        t[n - 1] = ','; /* duplicate key inside a full report */
        char *dup = malloc(n + 40);
        snprintf(dup, n + 40, "%s\"source\":\"AP\"}", t);
        expect_err_text(dup, HO_ERR_JSON, NULL);
        free(dup);
        free(t);
}

/* jansson 2.14's messages, as users have seen them since the first release:
 * the one reader (lib/json.c) gives each byte for byte, column included
 * (cross_check also holds it to the linked jansson). "[1\0]" reads as [1]:
 * jansson drops a NUL given back after a number or a word. */
static void test_jansson_messages(void **state) {
        static const struct {
                const char *text;
                size_t len;
                const char *msg;
        } cases[] = {
                {"", 0, "not a JSON object: '[' or '{' expected near end of file (column 0)"},
                {"   ", 3, "not a JSON object: '[' or '{' expected near end of file (column 3)"},
                {"x", 1, "not a JSON object: '[' or '{' expected near 'x' (column 1)"},
                {"1", 1, "not a JSON object: '[' or '{' expected near '1' (column 1)"},
                {"\"a\"", 3, "not a JSON object: '[' or '{' expected near '\"a\"' (column 3)"},
                {"{", 1, "not a JSON object: string or '}' expected near end of file (column 1)"},
                {"[", 1, "not a JSON object: ']' expected near end of file (column 1)"},
                {"{]", 2, "not a JSON object: string or '}' expected near ']' (column 2)"},
                {"[}", 2, "not a JSON object: unexpected token near '}' (column 2)"},
                {"{\"a\"}", 5, "not a JSON object: ':' expected near '}' (column 5)"},
                {"{\"a\":}", 6, "not a JSON object: unexpected token near '}' (column 6)"},
                {"{\"a\":1,}", 8, "not a JSON object: string or '}' expected near '}' (column 8)"},
                {"[1,]", 4, "not a JSON object: unexpected token near ']' (column 4)"},
                {"[1,", 3, "not a JSON object: ']' expected near end of file (column 3)"},
                {"{\"a\":1 \"b\":2}", 13,
                 "not a JSON object: '}' expected near '\"b\"' (column 10)"},
                {"{} {}", 5, "not a JSON object: end of file expected near '{' (column 4)"},
                {"{}x", 3, "not a JSON object: end of file expected near 'x' (column 3)"},
                {"{\"a\":tru}", 9, "not a JSON object: invalid token near 'tru' (column 8)"},
                {"{\"a\":nul}", 9, "not a JSON object: invalid token near 'nul' (column 8)"},
                {"{\"a\":True}", 10, "not a JSON object: invalid token near 'True' (column 9)"},
                {"{\"a\":-}", 7, "not a JSON object: invalid token near '-' (column 6)"},
                {"{\"a\":-x}", 8, "not a JSON object: invalid token near '-' (column 6)"},
                {"{\"a\":01}", 8, "not a JSON object: invalid token near '0' (column 6)"},
                {"{\"a\":1.}", 8, "not a JSON object: invalid token near '1.' (column 7)"},
                {"{\"a\":1.e5}", 10, "not a JSON object: invalid token near '1.' (column 7)"},
                {"{\"a\":1e}", 8, "not a JSON object: invalid token near '1e' (column 7)"},
                {"{\"a\":1e+}", 9, "not a JSON object: invalid token near '1e+' (column 8)"},
                {"{\"a\":.5}", 8, "not a JSON object: invalid token near '.' (column 6)"},
                {"{\"a\":1a}", 8, "not a JSON object: '}' expected near 'a' (column 7)"},
                {"{\"a\":99999999999999999999}", 26,
                 "not a JSON object: too big integer near '99999999999999999999' (column 25)"},
                {"{\"a\":-99999999999999999999}", 27,
                 "not a JSON object: too big negative integer (column 26)"},
                {"{\"a\":9223372036854775807}", 25, "unknown field \"a\""},
                {"{\"a\":9223372036854775808}", 25,
                 "not a JSON object: too big integer near '9223372036854775808' (column 24)"},
                {"{\"a\":-9223372036854775808}", 26, "unknown field \"a\""},
                {"{\"a\":-9223372036854775809}", 26,
                 "not a JSON object: too big negative integer near '-9223372036854775809' (column 25)"},
                {"{\"a\":1e999}", 11,
                 "not a JSON object: real number overflow near '1e999' (column 10)"},
                {"{\"a\":-1e999}", 12,
                 "not a JSON object: real number overflow near '-1e999' (column 11)"},
                {"{\"a\":1e-999}", 12, "unknown field \"a\""},
                {"{\"a\":123456789012345678901234567890}", 36,
                 "not a JSON object: too big integer (column 35)"},
                {"{\"a\":\"\x01"
                 "\"}",
                 9, "not a JSON object: control character 0x1 near '\"' (column 6)"},
                {"{\"a\":\"\x0a"
                 "\"}",
                 9, "not a JSON object: unexpected newline near '\"' (column 6)"},
                {"{\"a\":\"x\x0a"
                 "y\"}",
                 11, "not a JSON object: unexpected newline near '\"x' (column 7)"},
                {"{\"a\":\"\\x\"}", 10,
                 "not a JSON object: invalid escape near '\"\\x' (column 8)"},
                {"{\"a\":\"\\u12\"}", 12,
                 "not a JSON object: invalid escape near '\"\\u12\"' (column 11)"},
                {"{\"a\":\"\\u12g4\"}", 14,
                 "not a JSON object: invalid escape near '\"\\u12g' (column 11)"},
                {"{\"a\":\"\\ud800\"}", 14,
                 "not a JSON object: invalid Unicode '\\uD800' near '\"\\ud800\"' (column 13)"},
                {"{\"a\":\"\\udc00\"}", 14,
                 "not a JSON object: invalid Unicode '\\uDC00' near '\"\\udc00\"' (column 13)"},
                {"{\"a\":\"\\ud800\\u0041\"}", 20,
                 "not a JSON object: invalid Unicode '\\uD800\\u0041' near '\"\\ud800\\u0041\"' (column 19)"},
                {"{\"a\":\"\\ud800x\"}", 15,
                 "not a JSON object: invalid Unicode '\\uD800' near '\"\\ud800x\"' (column 14)"},
                {"{\"a\":\"\\ud83d\\ude80\"}", 20, "unknown field \"a\""},
                {"{\"a\":\"\\u0000\"}", 14,
                 "not a JSON object: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"\\u0000\"' (column 13)"},
                {"{\"a\\u0000\":1}", 13,
                 "not a JSON object: NUL byte in object key not supported near '\"a\\u0000\"' (column 10)"},
                {"{\"a\":1,\"a\":2}", 13,
                 "not a JSON object: duplicate object key near '\"a\"' (column 10)"},
                {"{\"a\":1,\"\\u0061\":2}", 18,
                 "not a JSON object: duplicate object key near '\"\\u0061\"' (column 15)"},
                {"{\"a\":\"abc", 9,
                 "not a JSON object: premature end of input near '\"abc' (column 9)"},
                {"{\"a\":\"", 6, "not a JSON object: premature end of input near '\"' (column 6)"},
                {"{\"a\":\"\xff"
                 "\"}",
                 9, "not a JSON object: unable to decode byte 0xff near '\"' (column 6)"},
                {"{\"a\":\"\xc3"
                 "\"}",
                 9, "not a JSON object: unable to decode byte 0xc3 near '\"' (column 6)"},
                {"{\"a\":\"\xc3"
                 "(\"}",
                 10, "not a JSON object: unable to decode byte 0xc3 near '\"' (column 6)"},
                {"{\"a\":\"\xe2"
                 "\x82"
                 "\"}",
                 10, "not a JSON object: unable to decode byte 0xe2 near '\"' (column 6)"},
                {"{\"a\":\"\xed"
                 "\xa0"
                 "\x80"
                 "\"}",
                 11, "not a JSON object: unable to decode byte 0xed near '\"' (column 6)"},
                {"{\"a\":\"\xf4"
                 "\x90"
                 "\x80"
                 "\x80"
                 "\"}",
                 12, "not a JSON object: unable to decode byte 0xf4 near '\"' (column 6)"},
                {"{\"a\":\"\xc0"
                 "\x80"
                 "\"}",
                 10, "not a JSON object: unable to decode byte 0xc0 near '\"' (column 6)"},
                {"\xef"
                 "\xbb"
                 "\xbf"
                 "{}",
                 5,
                 "not a JSON object: '[' or '{' expected near '\xef"
                 "\xbb"
                 "\xbf"
                 "' (column 1)"},
                {"{\xff"
                 "}",
                 3, "not a JSON object: unable to decode byte 0xff (column 1)"},
                {"{\"\xc3"
                 "\xa9"
                 "\":1}x",
                 9, "not a JSON object: end of file expected near 'x' (column 8)"},
                {"{\"\xc3"
                 "\xa9"
                 "\xc3"
                 "\xa9"
                 "\xc3"
                 "\xa9"
                 "\":1 x}",
                 14, "not a JSON object: '}' expected near 'x' (column 10)"},
                {"{\"a\":\xc3"
                 "\xa9"
                 "}",
                 8,
                 "not a JSON object: invalid token near '\xc3"
                 "\xa9"
                 "' (column 6)"},
                {"{\"a\":1\x00"
                 "}",
                 8, "unknown field \"a\""},
                {"[1\x00"
                 "]",
                 4, "expected a JSON object (one report), got an array"},
                {"[true\x00"
                 "]",
                 7, "expected a JSON object (one report), got an array"},
                {"[\x00"
                 "]",
                 3, "not a JSON object: invalid token near end of file (column 2)"},
                {"\x00"
                 "",
                 1, "not a JSON object: '[' or '{' expected near end of file (column 1)"},
                {"{\"a\":\"a\x00"
                 "b\"}",
                 11, "not a JSON object: control character 0x0 near '\"a' (column 7)"},
                {"{\"a\":1}\x00"
                 "",
                 8, "not a JSON object: end of file expected near end of file (column 8)"},
                {"{\"a\":[1,2,{\"b\":[}]}", 19,
                 "not a JSON object: unexpected token near '}' (column 17)"},
                {"{\"a\":\x0a"
                 "\x0a"
                 "  x}",
                 11, "not a JSON object: invalid token near 'x' (column 3)"},
                {"{\x0a"
                 "\"a\":\"\\\x0a"
                 "\"}",
                 11,
                 "not a JSON object: invalid escape near '\"\\\x0a"
                 "' (column 0)"},
                {"{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"x}", 39,
                 "not a JSON object: '}' expected near 'x' (column 38)"},
                {"{\"kkkkkkkkkkkkkkkkkkkkkkkkk\":1,\"kkkkkkkkkkkkkkkkkkkkkkkkk\":2}", 61,
                 "not a JSON object: duplicate object key (column 58)"},
                {"{\"a\":1111111111111111111111111}", 31,
                 "not a JSON object: too big integer (column 30)"},
                {"{\"a\":\"\\u00e9\xc3"
                 "\xa9"
                 "\\n\"} x",
                 20, "not a JSON object: end of file expected near 'x' (column 19)"},
                {"{\"a\":1}\x0a"
                 "\x0a"
                 "   }",
                 13, "not a JSON object: end of file expected near '}' (column 4)"},
                {"{\"a\":-0}", 8, "unknown field \"a\""},
                {"{\"a\":-0.0e-0}", 13, "unknown field \"a\""},
                {"{\"a\":\"\x7f"
                 "\"}",
                 9, "unknown field \"a\""},
                {"{\"a\":1,\x00"
                 "}",
                 9, "not a JSON object: string or '}' expected near end of file (column 8)"},
                {"{\"a\"\x00"
                 ":1}",
                 8, "not a JSON object: ':' expected near end of file (column 5)"},
                {"{\"a\":1}   \x09"
                 "\x0d"
                 "\x0a"
                 "",
                 13, "unknown field \"a\""},
                {"{\"a\":[1,\x0a"
                 "2,\x0a"
                 "\xff"
                 "]}",
                 15, "not a JSON object: unable to decode byte 0xff (column 0)"},
                {"{\"\\/\":\"\\b\\f\\n\\r\\t\\\"\\\\\"}x", 24,
                 "not a JSON object: end of file expected near 'x' (column 24)"},
        };
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char err[512] = "";
                ho_report_t r;

                ho_report_init(&r);
                cross_check(cases[i].text, cases[i].len);
                if (!ho_report_from_json(cases[i].text, cases[i].len, &r, err, sizeof(err)))
                        fail_msg("case %zu accepted", i);
                if (strcmp(err, cases[i].msg))
                        fail_msg("case %zu: %s\n  expected: %s", i, err, cases[i].msg);
        }
        /* nesting: jansson's limit is 2048 values deep */
        for (size_t depth = 2047; depth <= 2049; depth++) {
                char *t = malloc(2 * depth + 16);
                size_t n = 0;
                t[n++] = '{';
                memcpy(t + n, "\"a\":", 4);
                n += 4;
                for (size_t i = 1; i < depth; i++)
                        t[n++] = '[';
                for (size_t i = 1; i < depth; i++)
                        t[n++] = ']';
                t[n++] = '}';
                cross_check(t, n);
                free(t);
        }
}

static void test_to_json_round_trip(void **state) {
        ho_report_t a, b;
        char *text;

        (void)state;
        ho_report_init(&a);
        ho_report_init(&b);
        expect_ok_text(base_text, &a);
        text = ho_report_to_json_text(&a);
        assert_non_null(text);
        expect_ok_text(text, &b);
        free(text);
        char *t1 = ho_report_to_json_text(&a), *t2 = ho_report_to_json_text(&b);
        assert_string_equal(t1, t2);
        assert_non_null(strstr(t1, "\"occurred_on\":\"2026-01-20\""));
        assert_non_null(strstr(t1, "\"reported_at\":\"2026-01-21T05:47:00Z\""));
        assert_non_null(strstr(t1, "\"inmates_by_destination\":{\"Houston\":20,\"San Diego\":17}"));
        free(t1);
        free(t2);

        /* a stored state: "reports" is its member, not a report's */
        ho_buf_t st = HO_BUF_INIT;
        int64_t reports = 0;
        char err[256];
        assert_int_equal(ho_report_json(&a, 3, &st), HO_OK);
        assert_int_equal(ho_report_from_json(st.data, st.len, &b, err, sizeof(err)),
                         HO_ERR_INVALID);
        assert_string_equal(err, "unknown field \"reports\" (did you mean \"report_id\"?)");
        assert_int_equal(ho_report_state_from_json(st.data, st.len, &b, &reports, err, sizeof(err)),
                         HO_OK);
        assert_int_equal(reports, 3);
        assert_string_equal(b.report_id, a.report_id);
        ho_buf_free(&st);

        /* inmates_by_destination always present */
        ho_report_clear(&a);
        const char *min = "{\"transfer_id\":\"t\",\"occurred_on\":\"2025-02-27\","
                          "\"reported_at\":\"2025-02-27T23:00:00Z\",\"source\":\"AP\","
                          "\"origin_country\":\"MX\",\"destination_country\":\"US\","
                          "\"inmate_count\":0}";
        expect_ok_text(min, &a);
        text = ho_report_to_json_text(&a);
        assert_non_null(strstr(text, "\"inmates_by_destination\":{}"));
        assert_non_null(strstr(text, "\"aircraft_count\":null"));
        free(text);
        ho_report_clear(&a);
        ho_report_clear(&b);
}

static void test_derived_ids(void **state) {
        ho_report_t a, b;
        char id[35];
        char *t;

        (void)state;
        ho_report_init(&a);
        ho_report_init(&b);
        /* same content, any member or city order: same id */
        t = variant("report_id", NULL);
        expect_ok_text(t, &a);
        free(t);
        const char *reordered =
                "{\"inmates_by_destination\":{\"Houston\":20,\"San Diego\":17},"
                "\"persons\":[{\"affiliation\":\"CJNG\",\"name\":\"A. B.\"},{\"name\":\"C. D.\"}],"
                "\"authority\":\"FGR\",\"cumulative_total\":92,"
                "\"destinations\":[\"Houston\",\"San Diego\"],\"aircraft_count\":4,"
                "\"inmate_count\":37,\"destination_country\":\"US\",\"origin_country\":\"MX\","
                "\"source\":\"Reuters\",\"reported_at\":\"2026-01-20T23:47:00-06:00\","
                "\"occurred_on\":\"2026-01-20\",\"transfer_id\":\"mx-us-2026-01-20\"}";
        expect_ok_text(reordered, &b);
        assert_string_equal(a.report_id, b.report_id);
        /* the id does not depend on report_id itself */
        assert_int_equal(ho_report_derive_id(&a, id), HO_OK);
        assert_string_equal(id, a.report_id);
        free(a.report_id);
        a.report_id = strdup("other");
        ho_report_derive_id(&a, id);
        assert_string_equal(id, b.report_id);
        /* every other field changes it */
        a.inmate_count++;
        ho_report_derive_id(&a, id);
        assert_string_not_equal(id, b.report_id);
        a.inmate_count--;
        a.by_destination[0].count++;
        ho_report_derive_id(&a, id);
        assert_string_not_equal(id, b.report_id);
        a.by_destination[0].count--;
        free(a.persons[1].affiliation);
        a.persons[1].affiliation = strdup("x");
        ho_report_derive_id(&a, id);
        assert_string_not_equal(id, b.report_id);
        /* the documented rule for a fixed report (docs/codec.md) stays stable */
        ho_report_clear(&a);
        const char *min = "{\"transfer_id\":\"mx-us-2025-02-27\",\"occurred_on\":\"2025-02-27\","
                          "\"reported_at\":\"2025-02-27T23:00:00Z\",\"source\":\"Reuters\","
                          "\"origin_country\":\"MX\",\"destination_country\":\"US\","
                          "\"inmate_count\":29,\"cumulative_total\":29}";
        expect_ok_text(min, &a);
        assert_string_equal(a.report_id, "r-648650b9b6427009dfd1789efc23a7b8");
        ho_report_clear(&a);
        ho_report_clear(&b);
}

static void test_validate_struct(void **state) {
        ho_report_t r;
        char err[256];

        (void)state;
        ho_report_init(&r);
        expect_ok_text(base_text, &r);
        r.occurred_on = 3000000; /* beyond 9999-12-31 */
        assert_int_equal(ho_report_validate(&r, err, sizeof(err)), HO_ERR_INVALID);
        assert_string_equal(err, "field \"occurred_on\": expected a date in years 0000..9999, got "
                                 "day 3000000 from 1970-01-01");
        r.occurred_on = 0;
        r.reported_at = INT64_MAX;
        assert_int_equal(ho_report_validate(&r, err, sizeof(err)), HO_ERR_INVALID);
        r.reported_at = 0;
        free(r.source);
        r.source = strdup("\xc0\xaf"); /* overlong '/' */
        assert_int_equal(ho_report_validate(&r, err, sizeof(err)), HO_ERR_INVALID);
        assert_string_equal(err, "field \"source\": expected a non-empty UTF-8 string of at most "
                                 "512 bytes, got invalid UTF-8");
        free(r.source);
        r.source = strdup("\xed\xa0\x80"); /* a surrogate */
        assert_int_equal(ho_report_validate(&r, err, sizeof(err)), HO_ERR_INVALID);
        free(r.source);
        r.source = strdup("\xf0\x9f\x98\x80 ok");
        assert_int_equal(ho_report_validate(&r, err, sizeof(err)), HO_OK);
        /* cities must be sorted and unique */
        free(r.by_destination[1].city);
        r.by_destination[1].city = strdup("Houston");
        assert_int_equal(ho_report_validate(&r, err, sizeof(err)), HO_ERR_INVALID);
        assert_string_equal(err, "field \"inmates_by_destination\": city \"Houston\" appears "
                                 "twice or out of order");
        free(r.report_id);
        r.report_id = NULL;
        assert_int_equal(ho_report_validate(&r, err, sizeof(err)), HO_ERR_INVALID);
        assert_string_equal(err, "missing field \"report_id\"");
        ho_report_clear(&r);
}

/* The fast reader against jansson on damaged and reshaped reports: every
 * byte position changed, cut, and the shapes JSON allows (whitespace,
 * escapes, member order, numbers jansson reads as reals). */
static void test_fast_path_matches_jansson(void **state) {
        static const char *const swaps[] = {" ", "\t",   "\n",   "\r",   "\\",   "\"", "0", "-",
                                            ".", "e",    "{",    "}",    "[",    "]",  ",", ":",
                                            "n", "\x01", "\xc3", "\x80", "\xff", "A",  "z", "9"};
        static const char *const texts[] = {
                "{ \"transfer_id\" : \"t1\" , \"occurred_on\":\"2026-01-20\",\"reported_at\":"
                "\"2026-01-21T05:47:00.123456+01:00\",\"source\":\"A\\u00e9\",\"origin_country\""
                ":\"MX\",\"destination_country\":\"US\",\"inmate_count\":-0 }\r\n",
                "{\"transfer_id\":\"t1\",\"occurred_on\":\"2026-01-20\",\"reported_at\":"
                "\"2026-01-21T05:47:00Z\",\"source\":\"S\",\"origin_country\":\"MX\","
                "\"destination_country\":\"US\",\"inmate_count\":1e1}",
                "{\"transfer_id\":\"t1\",\"occurred_on\":\"2026-01-20\",\"reported_at\":"
                "\"2026-01-21T05:47:00Z\",\"source\":\"S\",\"origin_country\":\"MX\","
                "\"destination_country\":\"US\",\"inmate_count\":007}",
                "{\"transfer_id\":\"t1\",\"occurred_on\":\"2026-01-20\",\"reported_at\":"
                "\"0000-01-01T00:30:00+01:00\",\"source\":\"S\",\"origin_country\":\"MX\","
                "\"destination_country\":\"US\",\"inmate_count\":1}",
                "{\"transfer_id\":\"t1\",\"occurred_on\":\"2026-01-20\",\"reported_at\":"
                "\"2026-01-21T05:47:00Z\",\"source\":\"S\",\"origin_country\":\"MX\","
                "\"destination_country\":\"US\",\"inmate_count\":1,\"persons\":[{\"name\":\"a\","
                "\"name\":\"b\"}],\"inmates_by_destination\":{\"b\":1,\"a\":2,\"c\":0}}",
                "{\"transfer_id\":\"t1\",\"occurred_on\":\"2026-01-20\",\"reported_at\":"
                "\"2026-01-21T05:47:00Z\",\"source\":\"S\",\"origin_country\":\"MX\","
                "\"destination_country\":\"US\",\"inmate_count\":1,\"inmates_by_destination\":"
                "{\"a\":1,\"a\":2}}",
                "{\"transfer_id\":\"t1\",\"transfer_id\":\"t2\",\"occurred_on\":\"2026-01-20\","
                "\"reported_at\":\"2026-01-21T05:47:00Z\",\"source\":\"S\",\"origin_country\":"
                "\"MX\",\"destination_country\":\"US\",\"inmate_count\":1}",
                "{\"inmate_count\":123456789012345678901,\"transfer_id\":\"t1\"}",
                "[]",
                "",
                "{}",
                "{\"persons\":[]} x",
                "null",
        };
        size_t i, k, len;
        char *buf;

        (void)state;
        for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                cross_check(texts[i], strlen(texts[i]));
        len = strlen(base_text);
        buf = malloc(len + 1);
        for (i = 0; i < len; i++) {
                cross_check(base_text, i); /* cut */
                for (k = 0; k < sizeof(swaps) / sizeof(swaps[0]); k++) {
                        memcpy(buf, base_text, len + 1);
                        buf[i] = swaps[k][0];
                        cross_check(buf, len);
                }
                memcpy(buf, base_text, len + 1);
                buf[i] = '\0'; /* a NUL byte inside the text */
                cross_check(buf, len);
                memcpy(buf, base_text, len + 1); /* a byte dropped */
                memmove(buf + i, buf + i + 1, len - i);
                cross_check(buf, len - 1);
        }
        free(buf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_report),
                cmocka_unit_test(test_optional_fields),
                cmocka_unit_test(test_required_and_unknown),
                cmocka_unit_test(test_types_and_bounds),
                cmocka_unit_test(test_ids),
                cmocka_unit_test(test_arrays_and_map),
                cmocka_unit_test(test_json_errors),
                cmocka_unit_test(test_jansson_messages),
                cmocka_unit_test(test_to_json_round_trip),
                cmocka_unit_test(test_derived_ids),
                cmocka_unit_test(test_validate_struct),
                cmocka_unit_test(test_fast_path_matches_jansson),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
