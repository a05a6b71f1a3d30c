/* test_stats.c: the audit's arithmetic and replay's --from/--until parsing, without services. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "handover/replay.h"
#include "handover/stats.h"

/* A stored state as the engine writes it, with the fields the audit reads */
static int state_text(char *buf, size_t size, const char *id, const char *route_o, const char *date,
                      const char *inmates, const char *claim) {
        return snprintf(buf, size,
                        "{\"report_id\":\"r-%s\",\"transfer_id\":\"%s\",\"occurred_on\":\"%s\","
                        "\"reported_at\":\"2026-01-21T00:00:00Z\",\"source\":\"test\","
                        "\"origin_country\":\"%s\",\"destination_country\":\"US\","
                        "\"inmate_count\":%s,\"aircraft_count\":null,\"destinations\":[],"
                        "\"cumulative_total\":%s,\"authority\":null,\"persons\":[],"
                        "\"reports\":1}",
                        id, id, date, route_o, inmates, claim);
}

static void add(ho_stats_audit_t *a, const char *id, const char *route_o, const char *date,
                int inmates, int claim) {
        char err[256], st[1024], n[16], c[16];
        snprintf(n, sizeof(n), "%d", inmates);
        snprintf(c, sizeof(c), claim < 0 ? "null" : "%d", claim);
        int len = state_text(st, sizeof(st), id, route_o, date, n, c);
        assert_true(len > 0 && (size_t)len < sizeof(st));
        assert_int_equal(ho_stats_audit_add(a, id, st, (size_t)len, err, sizeof(err)), HO_OK);
}

static char *print_audit(const ho_stats_audit_t *a) {
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        ho_stats_audit_print(fp, a);
        fclose(fp);
        return buf;
}

static void test_audit_sample(void **state) {
        (void)state;
        ho_stats_audit_t *a = ho_stats_audit_new();
        /* added out of order: the audit sorts by route and date */
        add(a, "mx-us-2026-01-20", "MX", "2026-01-20", 37, 92);
        add(a, "mx-us-2025-02-27", "MX", "2025-02-27", 29, 29);
        add(a, "mx-us-2025-08-12", "MX", "2025-08-12", 26, 55);
        ho_stats_audit_finish(a);
        assert_int_equal(ho_stats_audit_claims(a), 3);
        assert_int_equal(ho_stats_audit_disagree(a), 0);
        char *out = print_audit(a);
        assert_non_null(
                strstr(out, "2026-01-20 mx-us-2026-01-20 claims 92: 29 + 26 + 37 = 92 \u2713"));
        assert_non_null(strstr(out, "2025-08-12 mx-us-2025-08-12 claims 55: 29 + 26 = 55 \u2713"));
        free(out);
        ho_stats_audit_destroy(a);
}

static void test_audit_rules(void **state) {
        (void)state;
        ho_stats_audit_t *a = ho_stats_audit_new();
        /* same date on both sides; another route does not count; a re-add keeps the last */
        add(a, "a", "MX", "2025-01-01", 10, -1);
        add(a, "b", "MX", "2025-01-01", 5, 15);
        add(a, "c", "MX", "2025-01-02", 1, 99); /* wrong: 16 */
        add(a, "g", "GT", "2025-01-01", 100, 100);
        add(a, "c", "MX", "2025-01-02", 2, 17); /* the current state replaces the first add */
        ho_stats_audit_finish(a);
        assert_int_equal(ho_stats_audit_claims(a), 3);
        assert_int_equal(ho_stats_audit_disagree(a), 0);
        ho_stats_audit_destroy(a);

        a = ho_stats_audit_new();
        add(a, "a", "MX", "2025-01-01", 10, 11);
        ho_stats_audit_finish(a);
        assert_int_equal(ho_stats_audit_disagree(a), 1);
        json_t *j = ho_stats_audit_json(a);
        json_t *d = json_array_get(json_object_get(j, "disagreements"), 0);
        assert_int_equal(json_integer_value(json_object_get(d, "claimed")), 11);
        assert_int_equal(json_integer_value(json_object_get(d, "computed")), 10);
        assert_string_equal(json_string_value(json_object_get(d, "route")), "MX-US");
        json_decref(j);
        char *out = print_audit(a);
        assert_non_null(strstr(out, "claims 11: 10 = 10 \u2717 (claim is off by +1)"));
        free(out);
        ho_stats_audit_destroy(a);
}

static void test_audit_bad_state(void **state) {
        (void)state;
        char err[256];
        ho_stats_audit_t *a = ho_stats_audit_new();
        char st[1024];
        int len = state_text(st, sizeof(st), "x", "MX", "2025-13-01", "3", "null");
        assert_int_equal(ho_stats_audit_add(a, "x", st, (size_t)len, err, sizeof(err)),
                         HO_ERR_INVALID);
        assert_non_null(strstr(err, "occurred_on"));
        /* what the engine would refuse is refused here too: a string count, a duplicate member */
        len = state_text(st, sizeof(st), "x", "MX", "2025-12-01", "\"3\"", "null");
        assert_int_equal(ho_stats_audit_add(a, "x", st, (size_t)len, err, sizeof(err)),
                         HO_ERR_INVALID);
        assert_non_null(strstr(err, "inmate_count"));
        assert_non_null(strstr(err, "transfer \"x\""));
        len = state_text(st, sizeof(st), "x", "MX", "2025-12-01", "3", "3,\"source\":\"again\"");
        assert_int_not_equal(ho_stats_audit_add(a, "x", st, (size_t)len, err, sizeof(err)), HO_OK);
        assert_non_null(strstr(err, "duplicate"));
        ho_stats_audit_finish(a);
        assert_int_equal(ho_stats_audit_claims(a), 0);
        ho_stats_audit_destroy(a);
}

static void test_replay_parse(void **state) {
        (void)state;
        char err[256];
        ho_replay_conf_t c = {0};
        ho_replay_from_offset_t *o = NULL;
        int64_t ms;

        assert_int_equal(ho_replay_parse_from("earliest", &c, &o, err, sizeof(err)), HO_OK);
        assert_int_equal(c.from, HO_REPLAY_FROM_EARLIEST);
        assert_int_equal(ho_replay_parse_from("2025-12-31", &c, &o, err, sizeof(err)), HO_OK);
        assert_int_equal(c.from, HO_REPLAY_FROM_TIME);
        assert_int_equal(c.from_ms, 1767139200000LL);
        assert_int_equal(ho_replay_parse_from("0:5,3:17", &c, &o, err, sizeof(err)), HO_OK);
        assert_int_equal(c.from, HO_REPLAY_FROM_OFFSETS);
        assert_int_equal(c.n_from_offsets, 2);
        assert_int_equal(o[1].partition, 3);
        assert_int_equal(o[1].offset, 17);
        free(o);
        assert_int_equal(ho_replay_parse_from("0:5,0:6", &c, &o, err, sizeof(err)), HO_ERR_USAGE);
        assert_int_equal(ho_replay_parse_from("0:x", &c, &o, err, sizeof(err)), HO_ERR_USAGE);
        assert_int_equal(ho_replay_parse_from("yesterday", &c, &o, err, sizeof(err)), HO_ERR_USAGE);
        assert_non_null(strstr(err, "expected earliest"));
        assert_int_equal(ho_replay_parse_until("2025-12-31", &ms, err, sizeof(err)), HO_OK);
        assert_int_equal(ms, 1767225599999LL); /* the end of that day */
        assert_int_equal(ho_replay_parse_until("2026-01-21T05:47:00Z", &ms, err, sizeof(err)),
                         HO_OK);
        assert_int_equal(ms, 1768974420000LL);
        assert_int_equal(ho_replay_parse_until("2026-02-30", &ms, err, sizeof(err)), HO_ERR_USAGE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_audit_sample),
                cmocka_unit_test(test_audit_rules),
                cmocka_unit_test(test_audit_bad_state),
                cmocka_unit_test(test_replay_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
