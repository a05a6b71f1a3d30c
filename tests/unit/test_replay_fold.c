/* test_replay_fold.c: replay's in-memory fold (lib/replay_fold.c): the
 * latest-report rule, duplicates by digest per transfer, the digests written
 * for {P}:transfer_ids, buckets that nest when their number doubles, memory
 * accounting; and replay's --memory-max and --as-of parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "handover/agg_fold.h"
#include "handover/replay.h"
#include "handover/replay_fold.h"

/* Only the ids and reported_at matter to the fold; the value is opaque. */
static void add(ho_rfold_t *f, const char *tid, const char *rid, int64_t at, const char *value,
                bool want_dup) {
        ho_report_t r;
        bool dup = !want_dup;
        ho_report_init(&r);
        r.transfer_id = (char *)tid;
        r.report_id = (char *)rid;
        r.reported_at = at;
        assert_int_equal(ho_rfold_add(f, &r, value, strlen(value), &dup), HO_OK);
        assert_int_equal(dup, want_dup);
}

static size_t find(const ho_rfold_t *f, const char *tid, ho_rfold_xfer_t *x) {
        for (size_t i = 0; i < ho_rfold_count(f); i++) {
                ho_rfold_get(f, i, x);
                if (!strcmp(x->transfer_id, tid))
                        return i;
        }
        fail_msg("transfer %s not folded", tid);
        return 0;
}

static void test_latest_and_duplicates(void **state) {
        (void)state;
        ho_rfold_t *f = ho_rfold_new();
        ho_rfold_xfer_t x;
        add(f, "t1", "b", 1000, "value-b", false);
        add(f, "t1", "a", 900, "value-a", false); /* earlier: not the latest */
        find(f, "t1", &x);
        assert_string_equal(x.report_id, "b");
        add(f, "t1", "c", 1000, "value-c", false);   /* a tie: the greater id wins */
        add(f, "t1", "aa", 1000, "value-aa", false); /* a tie, smaller id: no */
        find(f, "t1", &x);
        assert_string_equal(x.report_id, "c");
        assert_memory_equal(x.value, "value-c", 7);
        assert_int_equal(x.value_len, 7);
        assert_int_equal(x.reported_at, 1000);
        /* an id already folded changes nothing, even when it claims to be later */
        add(f, "t1", "a", 5000, "value-a-again", true);
        find(f, "t1", &x);
        assert_string_equal(x.report_id, "c");
        /* the same id under another transfer is another report */
        add(f, "t2", "a", 1, "v", false);
        assert_int_equal(ho_rfold_count(f), 2);
        assert_int_equal(ho_rfold_reports(f), 5);
        find(f, "t1", &x);
        assert_int_equal(x.n_ids, 4);
        /* a later report with a longer value replaces the kept one */
        add(f, "t1", "d", 6000, "a much longer encoded value than before", false);
        find(f, "t1", &x);
        assert_string_equal(x.report_id, "d");
        assert_memory_equal(x.value, "a much longer encoded value than before", x.value_len);

        ho_report_t r;
        bool dup;
        ho_report_init(&r);
        r.transfer_id = "t3";
        r.report_id = "";
        assert_int_equal(ho_rfold_add(f, &r, "v", 1, &dup), HO_ERR_INVALID);
        assert_int_equal(ho_rfold_count(f), 2);
        ho_rfold_destroy(f);
}

static uint64_t le64(const unsigned char *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

/* Many reports of one transfer: each once, then all again as duplicates;
 * its digests are exactly ho_agg_digest of each id, 8 bytes little-endian. */
static void test_digests(void **state) {
        (void)state;
        enum { N = 5000 };
        ho_rfold_t *f = ho_rfold_new();
        char rid[32];
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < N; i++) {
                        snprintf(rid, sizeof(rid), "r%d", i);
                        add(f, "big", rid, i, "v", round == 1);
                }
        add(f, "small", "r1", 0, "v", false);
        assert_int_equal(ho_rfold_reports(f), N + 1);
        ho_rfold_xfer_t x;
        size_t i = find(f, "big", &x);
        assert_int_equal(x.n_ids, N);
        assert_string_equal(x.report_id, "r4999");
        ho_buf_t b;
        ho_buf_init(&b);
        assert_int_equal(ho_rfold_digests(f, i, &b), HO_OK);
        assert_int_equal(b.len, 8 * N);
        uint64_t *got = malloc(N * sizeof(*got)), *want = malloc(N * sizeof(*want));
        for (int j = 0; j < N; j++) {
                got[j] = le64((const unsigned char *)b.data + 8 * j);
                snprintf(rid, sizeof(rid), "r%d", j);
                want[j] = ho_agg_digest(rid, strlen(rid));
        }
        qsort(got, N, sizeof(*got), cmp_u64);
        qsort(want, N, sizeof(*want), cmp_u64);
        assert_memory_equal(got, want, N * sizeof(*got));
        /* appended after what the buffer held */
        i = find(f, "small", &x);
        assert_int_equal(ho_rfold_digests(f, i, &b), HO_OK);
        assert_int_equal(b.len, 8 * N + 8);
        assert_true(le64((const unsigned char *)b.data + 8 * N) == ho_agg_digest("r1", 2));
        free(got);
        free(want);
        ho_buf_free(&b);
        ho_rfold_destroy(f);
}

/* A bucket of 2k lies inside one bucket of k: the build keeps the buckets
 * it loaded when it doubles k. */
static void test_buckets_nest(void **state) {
        (void)state;
        char tid[32];
        unsigned seen[8] = {0};
        for (int i = 0; i < 4000; i++) {
                snprintf(tid, sizeof(tid), "mx-us-%d", i);
                assert_int_equal(ho_rfold_bucket(tid, 1), 0);
                for (uint32_t k = 1; k <= 1024; k *= 2)
                        assert_int_equal(ho_rfold_bucket(tid, 2 * k) % k, ho_rfold_bucket(tid, k));
                seen[ho_rfold_bucket(tid, 8)]++;
        }
        for (int b = 0; b < 8; b++) /* and they spread: 500 each on average */
                assert_true(seen[b] > 350 && seen[b] < 650);
}

static void test_bytes_and_clear(void **state) {
        (void)state;
        ho_rfold_t *f = ho_rfold_new();
        size_t empty = ho_rfold_bytes(f);
        char tid[32], value[300];
        memset(value, 'v', sizeof(value) - 1);
        value[sizeof(value) - 1] = '\0';
        for (int i = 0; i < 2000; i++) {
                snprintf(tid, sizeof(tid), "t%d", i);
                add(f, tid, "r", 0, value, false);
        }
        /* at least each value, id and digest set is counted */
        assert_true(ho_rfold_bytes(f) > empty + 2000 * (300 + 4 * 8));
        assert_true(ho_rfold_bytes(f) < empty + 2000 * 1000);
        ho_rfold_clear(f);
        assert_int_equal(ho_rfold_bytes(f), empty);
        assert_int_equal(ho_rfold_count(f), 0);
        assert_int_equal(ho_rfold_reports(f), 0);
        add(f, "t1", "r", 0, "v", false); /* usable again */
        assert_int_equal(ho_rfold_count(f), 1);
        ho_rfold_destroy(f);
}

static void test_parse(void **state) {
        (void)state;
        char e[256];
        size_t n = 0;
        int64_t ms;
        assert_int_equal(ho_replay_parse_size("256M", &n, e, sizeof(e)), HO_OK);
        assert_int_equal(n, (size_t)256 << 20);
        assert_int_equal(ho_replay_parse_size("64K", &n, e, sizeof(e)), HO_OK);
        assert_int_equal(n, (size_t)64 << 10);
        assert_int_equal(ho_replay_parse_size("2G", &n, e, sizeof(e)), HO_OK);
        assert_int_equal(n, (size_t)2 << 30);
        assert_int_equal(ho_replay_parse_size("1048576", &n, e, sizeof(e)), HO_OK);
        assert_int_equal(n, (size_t)1 << 20);
        const char *bad[] = {"63K", "", "M", "12Q", "-1M", "1.5G", "2000G", "65535"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(ho_replay_parse_size(bad[i], &n, e, sizeof(e)), HO_ERR_USAGE);
                assert_non_null(strstr(e, "--memory-max"));
        }
        assert_int_equal(ho_replay_parse_as_of("2025-12-31", &ms, e, sizeof(e)), HO_OK);
        assert_true(ms == 1767225599999LL); /* 2025-12-31T23:59:59.999Z */
        assert_int_equal(ho_replay_parse_as_of("2025-12-31T00:00:00Z", &ms, e, sizeof(e)), HO_OK);
        assert_true(ms == 1767139200000LL);
        assert_int_equal(ho_replay_parse_as_of("yesterday", &ms, e, sizeof(e)), HO_ERR_USAGE);
        assert_non_null(strstr(e, "--as-of \"yesterday\""));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_latest_and_duplicates),
                cmocka_unit_test(test_digests),
                cmocka_unit_test(test_buckets_nest),
                cmocka_unit_test(test_bytes_and_clear),
                cmocka_unit_test(test_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
