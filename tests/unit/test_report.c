/*
 * test_report.c: report lifetime and copies, which report is the latest,
 * and the date / RFC 3339 forms (real calendar dates, proleptic Gregorian).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "handover/report.h"

static int32_t date(const char *s) {
        int32_t d = 0x7fffffff;
        if (ho_date_parse(s, &d))
                fail_msg("date \"%s\" refused", s);
        return d;
}

static void test_dates(void **state) {
        char out[11];
        int32_t d;

        (void)state;
        assert_int_equal(date("1970-01-01"), 0);
        assert_int_equal(date("1970-01-02"), 1);
        assert_int_equal(date("1969-12-31"), -1);
        assert_int_equal(date("2000-03-01"), 11017);
        assert_int_equal(date("2025-02-27"), 20146);
        assert_int_equal(date("2026-01-20"), 20473);
        assert_int_equal(date("0000-01-01"), -719528);
        assert_int_equal(date("9999-12-31"), 2932896);
        /* leap years: 2024 and 2000 yes, 1900 and 2025 no */
        assert_int_equal(date("2024-02-29") + 1, date("2024-03-01"));
        assert_int_equal(date("2000-02-29") + 1, date("2000-03-01"));
        assert_int_equal(ho_date_parse("1900-02-29", &d), HO_ERR_INVALID);
        assert_int_equal(ho_date_parse("2025-02-29", &d), HO_ERR_INVALID);
        static const char *const bad[] = {"2025-02-30",  "2025-04-31",  "2025-13-01",
                                          "2025-00-10",  "2025-01-00",  "2025-1-01",
                                          "25-01-01",    "2025/01/01",  "2025-01-01T00:00:00Z",
                                          "2025-01-01 ", " 2025-01-01", "",
                                          "2025-01-0a",  "+202-01-01",  NULL};
        for (int i = 0; bad[i]; i++)
                if (ho_date_parse(bad[i], &d) != HO_ERR_INVALID)
                        fail_msg("date \"%s\" accepted", bad[i]);
        assert_int_equal(ho_date_parse(NULL, &d), HO_ERR_INVALID);

        /* every day of 1600..2400 round-trips and is consecutive */
        int32_t first = date("1600-01-01"), last = date("2400-12-31");
        for (d = first; d <= last; d++) {
                ho_date_format(d, out);
                assert_int_equal(date(out), d);
        }
        assert_int_equal(last - first + 1, 801 * 365 + 195); /* 195 leap days in 1600..2400 */
        ho_date_format(-1, out);
        assert_string_equal(out, "1969-12-31");
        ho_date_format(20473, out);
        assert_string_equal(out, "2026-01-20");
}

static int64_t ts(const char *s) {
        int64_t ms = 0;
        if (ho_time_parse_rfc3339(s, &ms))
                fail_msg("time \"%s\" refused", s);
        return ms;
}

static void test_times(void **state) {
        char out[32];
        int64_t ms;

        (void)state;
        assert_int_equal(ts("1970-01-01T00:00:00Z"), 0);
        assert_int_equal(ts("2026-01-21T05:47:00Z"), INT64_C(1768974420000));
        assert_int_equal(ts("2026-01-21T05:47:00.123Z"), INT64_C(1768974420123));
        assert_int_equal(ts("2026-01-21T05:47:00.1Z"), INT64_C(1768974420100));
        assert_int_equal(ts("2026-01-21T05:47:00.123999Z"), INT64_C(1768974420123));
        assert_int_equal(ts("2026-01-20T23:47:00-06:00"), INT64_C(1768974420000));
        assert_int_equal(ts("2026-01-21T11:17:00+05:30"), INT64_C(1768974420000));
        assert_int_equal(ts("2026-01-21t05:47:00z"), INT64_C(1768974420000));
        assert_int_equal(ts("1969-12-31T23:59:59.999Z"), -1);
        static const char *const bad[] = {
                "2026-01-21T05:47:00", /* no zone */
                "2026-01-21 05:47:00Z",
                "2026-01-21T24:00:00Z",
                "2026-01-21T05:60:00Z",
                "2026-01-21T05:47:60Z", /* leap second: not representable */
                "2026-01-21T05:47Z",
                "2026-01-21T05:47:00.Z",
                "2026-01-21T05:47:00+0100",
                "2026-01-21T05:47:00+24:00",
                "2026-01-21T05:47:00+01:60",
                "2026-02-30T00:00:00Z",
                "2026-01-21T05:47:00ZZ",
                "2026-01-21T05:47:00+01:00 ",
                "",
                NULL};
        for (int i = 0; bad[i]; i++)
                if (ho_time_parse_rfc3339(bad[i], &ms) != HO_ERR_INVALID)
                        fail_msg("time \"%s\" accepted", bad[i]);

        ho_time_format_rfc3339(INT64_C(1768974420000), out);
        assert_string_equal(out, "2026-01-21T05:47:00Z");
        ho_time_format_rfc3339(INT64_C(1768974420007), out);
        assert_string_equal(out, "2026-01-21T05:47:00.007Z");
        ho_time_format_rfc3339(-1, out);
        assert_string_equal(out, "1969-12-31T23:59:59.999Z");
        ho_time_format_rfc3339(INT64_C(-62167219200000), out);
        assert_string_equal(out, "0000-01-01T00:00:00Z");
        ho_time_format_rfc3339(INT64_C(253402300799999), out);
        assert_string_equal(out, "9999-12-31T23:59:59.999Z");
        /* out of the four-digit years: something bounded, never a crash */
        ho_time_format_rfc3339(INT64_MIN, out);
        ho_time_format_rfc3339(INT64_MAX, out);
        for (ms = -INT64_C(86400000) * 3; ms < INT64_C(86400000) * 3; ms += 3599999) {
                ho_time_format_rfc3339(ms, out);
                assert_int_equal(ts(out), ms);
        }
}

static void test_cmp_latest(void **state) {
        ho_report_t a, b;

        (void)state;
        ho_report_init(&a);
        ho_report_init(&b);
        a.reported_at = 1000;
        b.reported_at = 2000;
        a.report_id = strdup("z");
        b.report_id = strdup("a");
        assert_true(ho_report_cmp_latest(&a, &b) < 0);
        assert_true(ho_report_cmp_latest(&b, &a) > 0);
        b.reported_at = 1000; /* tie: the greater report_id, bytewise */
        assert_true(ho_report_cmp_latest(&a, &b) > 0);
        assert_true(ho_report_cmp_latest(&b, &a) < 0);
        free(b.report_id);
        b.report_id = strdup("z");
        assert_int_equal(ho_report_cmp_latest(&a, &b), 0);
        free(b.report_id);
        b.report_id = strdup("\xc3\xa9"); /* bytes above 0x7f sort after ASCII */
        assert_true(ho_report_cmp_latest(&b, &a) > 0);
        ho_report_clear(&a);
        ho_report_clear(&b);
}

static void test_copy_clear(void **state) {
        ho_report_t a, b;

        (void)state;
        ho_report_init(&a);
        ho_report_init(&b);
        ho_report_clear(&a); /* safe on an empty report */
        a.report_id = strdup("r1");
        a.transfer_id = strdup("t1");
        a.source = strdup("Reuters");
        strcpy(a.origin_country, "MX");
        strcpy(a.destination_country, "US");
        a.inmate_count = 29;
        a.has_aircraft_count = true;
        a.aircraft_count = 3;
        a.n_destinations = 2;
        a.destinations = calloc(2, sizeof(char *));
        a.destinations[0] = strdup("Houston");
        a.destinations[1] = strdup("San Diego");
        a.n_persons = 1;
        a.persons = calloc(1, sizeof(*a.persons));
        a.persons[0].name = strdup("X");
        a.n_by_destination = 1;
        a.by_destination = calloc(1, sizeof(*a.by_destination));
        a.by_destination[0].city = strdup("Houston");
        a.by_destination[0].count = 29;
        a.schema_version = 2;
        b.source = strdup("old"); /* freed by the copy */
        assert_int_equal(ho_report_copy(&b, &a), HO_OK);
        ho_report_clear(&a);
        assert_string_equal(b.report_id, "r1");
        assert_string_equal(b.destinations[1], "San Diego");
        assert_string_equal(b.persons[0].name, "X");
        assert_null(b.persons[0].affiliation);
        assert_null(b.authority);
        assert_string_equal(b.by_destination[0].city, "Houston");
        assert_int_equal(b.by_destination[0].count, 29);
        assert_int_equal(b.aircraft_count, 3);
        assert_int_equal(b.schema_version, 2);
        assert_string_equal(b.destination_country, "US");
        assert_int_equal(ho_report_copy(&b, &b), HO_OK);
        ho_report_clear(&b);
        assert_null(b.report_id);
        assert_int_equal(b.n_destinations, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dates),
                cmocka_unit_test(test_times),
                cmocka_unit_test(test_cmp_latest),
                cmocka_unit_test(test_copy_clear),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
