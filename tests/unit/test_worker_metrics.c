/* test_worker_metrics.c: the worker's metrics without a worker: the produce
 * -> applied queue across applies, re-reads, fences and revocations; the
 * counters and lags a snapshot publishes; and the health rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <cmocka.h>
#include "handover/worker_metrics.h"

typedef struct {
        ho_metrics_t *reg;
        ho_wmetrics_t *wm;
        ho_redis_url_t url;
} fx_t;

static int setup(void **state) {
        fx_t *fx = calloc(1, sizeof(*fx));
        char err[256];
        /* port 1: nothing listens, so the PING fails */
        assert_int_equal(ho_redis_url_parse("redis://127.0.0.1:1", &fx->url, err, sizeof(err)),
                         HO_OK);
        fx->reg = ho_metrics_new();
        fx->wm = ho_wmetrics_new(fx->reg, "t", "g", &fx->url, 60000, err, sizeof(err));
        assert_non_null(fx->wm);
        *state = fx;
        return 0;
}

static int teardown(void **state) {
        fx_t *fx = *state;
        ho_wmetrics_destroy(fx->wm);
        ho_metrics_destroy(fx->reg);
        ho_redis_url_clear(&fx->url);
        free(fx);
        return 0;
}

static int64_t now_ms(void) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static char *render(ho_metrics_t *reg) {
        ho_buf_t b = HO_BUF_INIT;
        assert_int_equal(ho_metrics_render(reg, &b), HO_OK);
        return ho_buf_steal(&b, NULL);
}

/* find one family by name in the registry's text: its count line */
static long count_of(ho_metrics_t *reg, const char *name) {
        char *s = render(reg), pat[128];
        snprintf(pat, sizeof(pat), "\n%s_count ", name);
        char *p = strstr(s, pat);
        long v = p ? strtol(p + strlen(pat), NULL, 10) : -1;
        free(s);
        return v;
}

static void test_latency_queue(void **state) {
        fx_t *fx = *state;
        int64_t ts = now_ms() - 2000; /* two seconds old */
        for (int64_t o = 0; o < 10; o++)
                ho_wmetrics_folded(fx->wm, 4, o, ts);
        ho_wmetrics_applied(fx->wm, 4, 5, 1500, HO_OK); /* offsets 0..4 */
        assert_int_equal(count_of(fx->reg, "handover_produce_to_apply_seconds"), 5);
        assert_int_equal(count_of(fx->reg, "handover_apply_seconds"), 1);
        /* a failed apply observes its duration, no latency */
        ho_wmetrics_applied(fx->wm, 4, 10, 900, HO_ERR_REDIS);
        assert_int_equal(count_of(fx->reg, "handover_produce_to_apply_seconds"), 5);
        assert_int_equal(count_of(fx->reg, "handover_apply_seconds"), 2);
        /* read again from 7: 7..9 replace the earlier reading, 5 and 6 stay */
        for (int64_t o = 7; o < 10; o++)
                ho_wmetrics_folded(fx->wm, 4, o, ts);
        ho_wmetrics_applied(fx->wm, 4, 10, 1000, HO_OK);
        assert_int_equal(count_of(fx->reg, "handover_produce_to_apply_seconds"), 10);
        /* a fence forgets what was folded: what follows counts once */
        for (int64_t o = 10; o < 20; o++)
                ho_wmetrics_folded(fx->wm, 4, o, ts);
        ho_wmetrics_applied(fx->wm, 4, 20, 1000, HO_ERR_FENCED);
        ho_wmetrics_applied(fx->wm, 4, 20, 1000, HO_OK);
        assert_int_equal(count_of(fx->reg, "handover_produce_to_apply_seconds"), 10);
        /* so does a revocation; no timestamp: not observed */
        ho_wmetrics_folded(fx->wm, 4, 20, ts);
        ho_wmetrics_released(fx->wm, 4);
        ho_wmetrics_folded(fx->wm, 4, 21, -1);
        ho_wmetrics_applied(fx->wm, 4, 22, 1000, HO_OK);
        assert_int_equal(count_of(fx->reg, "handover_produce_to_apply_seconds"), 10);
        /* many, on another partition: the queue grows */
        for (int64_t o = 0; o < 5000; o++)
                ho_wmetrics_folded(fx->wm, 0, o, ts);
        ho_wmetrics_applied(fx->wm, 0, 2500, 1000, HO_OK);
        for (int64_t o = 5000; o < 6000; o++)
                ho_wmetrics_folded(fx->wm, 0, o, ts);
        ho_wmetrics_applied(fx->wm, 0, 6000, 1000, HO_OK);
        assert_int_equal(count_of(fx->reg, "handover_produce_to_apply_seconds"), 6010);
        /* every one was about 2 s old: none in le="1", all in le="2.5" */
        char *s = render(fx->reg);
        assert_non_null(strstr(s, "handover_produce_to_apply_seconds_bucket{le=\"1\"} 0\n"));
        assert_non_null(strstr(s, "handover_produce_to_apply_seconds_bucket{le=\"2.5\"} 6010\n"));
        assert_non_null(strstr(s, "handover_apply_seconds_bucket{le=\"0.001\"} 7\n"));
        assert_non_null(strstr(s, "handover_apply_seconds_bucket{le=\"0.0025\"} 8\n"));
        free(s);
}

static void test_snapshot_and_lag(void **state) {
        fx_t *fx = *state;
        ho_wm_snap_t s = {.messages = 12,
                          .reports = 9,
                          .duplicates = 2,
                          .batches = 3,
                          .rejected = 1,
                          .fenced = 4,
                          .conflicts = 5,
                          .redis_errors = 6,
                          .assigned = 2,
                          .stalled = 1};
        ho_wmetrics_update(fx->wm, &s);
        ho_wmetrics_lag(fx->wm, 0, 7);
        ho_wmetrics_lag(fx->wm, 3, 0);
        ho_wmetrics_lag_done(fx->wm);
        ho_wmetrics_kafka_error(fx->wm);
        ho_wmetrics_phase(fx->wm, HO_WM_ASSIGNED);
        ho_wmetrics_phase(fx->wm, HO_WM_REVOKED);
        ho_wmetrics_phase(fx->wm, HO_WM_ASSIGNED);
        char *t = render(fx->reg);
        const char *want[] = {"\nhandover_messages_total 12\n",
                              "\nhandover_reports_applied_total 9\n",
                              "\nhandover_duplicates_total 2\n",
                              "\nhandover_rejected_total 1\n",
                              "\nhandover_batches_total 3\n",
                              "\nhandover_fenced_batches_total 4\n",
                              "\nhandover_conflicts_total 5\n",
                              "\nhandover_redis_errors_total 6\n",
                              "\nhandover_kafka_errors_total 1\n",
                              "\nhandover_rebalances_total 2\n",
                              "\nhandover_partitions_assigned 2\n",
                              "\nhandover_partitions_stalled 1\n",
                              "\nhandover_partition_lag{topic=\"t\",partition=\"0\"} 7\n",
                              "\nhandover_partition_lag{topic=\"t\",partition=\"3\"} 0\n",
                              NULL};
        for (int i = 0; want[i]; i++)
                if (!strstr(t, want[i]))
                        fail_msg("missing %s in:\n%s", want[i], t);
        free(t);
        /* partition 0 is gone from the next round */
        ho_wmetrics_lag(fx->wm, 3, 2);
        ho_wmetrics_lag_done(fx->wm);
        t = render(fx->reg);
        assert_null(strstr(t, "partition=\"0\""));
        assert_non_null(strstr(t, "\nhandover_partition_lag{topic=\"t\",partition=\"3\"} 2\n"));
        free(t);
}

static void test_health(void **state) {
        fx_t *fx = *state;
        char reason[512];
        assert_false(ho_wmetrics_health(fx->wm, reason, sizeof(reason)));
        assert_string_equal(reason, "not in group \"g\" yet: waiting for the first assignment");
        ho_wmetrics_phase(fx->wm, HO_WM_ASSIGNED);
        ho_wm_snap_t s = {.assigned = 3};
        ho_wmetrics_update(fx->wm, &s);
        /* nothing listens on port 1 */
        assert_false(ho_wmetrics_health(fx->wm, reason, sizeof(reason)));
        assert_non_null(strstr(reason, "Redis at redis://127.0.0.1:1/0 does not answer a PING ("));
        assert_null(strchr(reason, '\n'));
        ho_wmetrics_phase(fx->wm, HO_WM_REVOKED);
        assert_false(ho_wmetrics_health(fx->wm, reason, sizeof(reason)));
        assert_non_null(strstr(reason, "rebalancing"));
        ho_wmetrics_phase(fx->wm, HO_WM_LOST);
        assert_false(ho_wmetrics_health(fx->wm, reason, sizeof(reason)));
        assert_non_null(strstr(reason, "lost"));
        ho_wmetrics_phase(fx->wm, HO_WM_STOPPING);
        assert_false(ho_wmetrics_health(fx->wm, reason, sizeof(reason)));
        assert_string_equal(reason, "stopping");
}

/* A loop that stops publishing snapshots counts as stuck. */
static void test_health_stuck(void **state) {
        (void)state;
        char err[256], reason[256];
        ho_redis_url_t url;
        assert_int_equal(ho_redis_url_parse("redis://127.0.0.1:1", &url, err, sizeof(err)), HO_OK);
        ho_metrics_t *reg = ho_metrics_new();
        ho_wmetrics_t *wm = ho_wmetrics_new(reg, "t", "g", &url, 0, err, sizeof(err));
        ho_wmetrics_phase(wm, HO_WM_ASSIGNED);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        assert_false(ho_wmetrics_health(wm, reason, sizeof(reason)));
        assert_non_null(strstr(reason, "the worker's loop has not run for"));
        /* a second registry for the same worker is refused: names are unique */
        assert_null(ho_wmetrics_new(reg, "t", "g", &url, 0, err, sizeof(err)));
        assert_non_null(strstr(err, "already registered"));
        ho_wmetrics_destroy(wm);
        ho_metrics_destroy(reg);
        ho_redis_url_clear(&url);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_latency_queue, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_and_lag, setup, teardown),
                cmocka_unit_test_setup_teardown(test_health, setup, teardown),
                cmocka_unit_test(test_health_stuck),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
