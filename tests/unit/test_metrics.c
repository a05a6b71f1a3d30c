/* test_metrics.c: the registry's text format, its checks, its thread safety,
 * and the HTTP endpoint on loopback (a plain socket client in the test). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "handover/metrics.h"

static char *render(ho_metrics_t *reg) {
        ho_buf_t b = HO_BUF_INIT;
        assert_int_equal(ho_metrics_render(reg, &b), HO_OK);
        char *s = ho_buf_steal(&b, NULL);
        return s ? s : strdup("");
}

static void test_counter_gauge_text(void **state) {
        (void)state;
        char err[256];
        ho_metrics_t *reg = ho_metrics_new();
        ho_metric_t *c = ho_metrics_add(reg, HO_METRIC_COUNTER, "t_things_total",
                                        "Things done.\nTwo lines, a \\ too.", NULL, NULL, 0, err,
                                        sizeof(err));
        ho_metric_t *g = ho_metrics_add(reg, HO_METRIC_GAUGE, "t_level", "A level.", NULL, NULL, 0,
                                        err, sizeof(err));
        assert_non_null(c);
        assert_non_null(g);
        char *s = render(reg);
        /* an unlabelled series exists at 0 from the start */
        assert_string_equal(s, "# HELP t_things_total Things done.\\nTwo lines, a \\\\ too.\n"
                               "# TYPE t_things_total counter\n"
                               "t_things_total 0\n"
                               "# HELP t_level A level.\n"
                               "# TYPE t_level gauge\n"
                               "t_level 0\n");
        free(s);
        ho_metric_inc(c, 3);
        ho_metric_inc(c, 2);
        ho_metric_set(g, -1.5);
        ho_metric_observe(c, 100); /* not a histogram: ignored */
        assert_true(ho_metric_value(c, NULL) == 5);
        s = render(reg);
        assert_non_null(strstr(s, "\nt_things_total 5\n"));
        assert_non_null(strstr(s, "\nt_level -1.5\n"));
        free(s);
        ho_metric_set(g, 1e300 * 1e300);
        s = render(reg);
        assert_non_null(strstr(s, "\nt_level +Inf\n"));
        free(s);
        ho_metrics_destroy(reg);
}

static void test_labels(void **state) {
        (void)state;
        char err[256];
        ho_metrics_t *reg = ho_metrics_new();
        ho_metric_t *lag = ho_metrics_add(reg, HO_METRIC_GAUGE, "t_lag", "Lag.", "topic,partition",
                                          NULL, 0, err, sizeof(err));
        assert_non_null(lag);
        const char *p0[] = {"a\"b\\c\nd", "0"}, *p1[] = {"t", "1"};
        assert_int_equal(ho_metric_set_l(lag, p0, 7), HO_OK);
        assert_int_equal(ho_metric_set_l(lag, p1, 3), HO_OK);
        assert_int_equal(ho_metric_inc_l(lag, p1, 2), HO_OK);
        assert_true(ho_metric_value(lag, p1) == 5);
        ho_metric_set(lag, 9); /* labelled: ignored */
        char *s = render(reg);
        assert_string_equal(s, "# HELP t_lag Lag.\n# TYPE t_lag gauge\n"
                               "t_lag{topic=\"a\\\"b\\\\c\\nd\",partition=\"0\"} 7\n"
                               "t_lag{topic=\"t\",partition=\"1\"} 5\n");
        free(s);
        ho_metric_remove_l(lag, p0);
        ho_metric_remove_l(lag, p0); /* absent: a no-op */
        s = render(reg);
        assert_null(strstr(s, "partition=\"0\""));
        assert_non_null(strstr(s, "t_lag{topic=\"t\",partition=\"1\"} 5\n"));
        free(s);
        assert_int_equal(ho_metric_set_l(NULL, p1, 1), HO_ERR_USAGE);
        ho_metrics_destroy(reg);
}

static void test_histogram(void **state) {
        (void)state;
        char err[256];
        ho_metrics_t *reg = ho_metrics_new();
        const double b[] = {0.01, 0.1, 1};
        ho_metric_t *h = ho_metrics_add(reg, HO_METRIC_HISTOGRAM, "t_seconds", "Durations.", NULL,
                                        b, 3, err, sizeof(err));
        assert_non_null(h);
        ho_metric_observe(h, 0.005);
        ho_metric_observe(h, 0.01); /* on the bound: counts in le="0.01" */
        ho_metric_observe(h, 0.5);
        ho_metric_observe(h, 5);
        char *s = render(reg);
        assert_string_equal(s, "# HELP t_seconds Durations.\n# TYPE t_seconds histogram\n"
                               "t_seconds_bucket{le=\"0.01\"} 2\n"
                               "t_seconds_bucket{le=\"0.1\"} 2\n"
                               "t_seconds_bucket{le=\"1\"} 3\n"
                               "t_seconds_bucket{le=\"+Inf\"} 4\n"
                               "t_seconds_sum 5.515\n"
                               "t_seconds_count 4\n");
        free(s);
        assert_true(ho_metric_value(h, NULL) == 4);
        ho_metrics_destroy(reg);
}

static void test_bad_names(void **state) {
        (void)state;
        char err[256];
        ho_metrics_t *reg = ho_metrics_new();
        const double b[] = {1, 0.5}, one[] = {1};
        assert_null(
                ho_metrics_add(reg, HO_METRIC_GAUGE, "1abc", "", NULL, NULL, 0, err, sizeof(err)));
        assert_non_null(strstr(err, "bad metric name"));
        assert_null(
                ho_metrics_add(reg, HO_METRIC_GAUGE, "a-b", "", NULL, NULL, 0, err, sizeof(err)));
        assert_null(ho_metrics_add(reg, HO_METRIC_GAUGE, "ok", "", "to pic", NULL, 0, err,
                                   sizeof(err)));
        assert_non_null(strstr(err, "bad label names"));
        assert_null(
                ho_metrics_add(reg, HO_METRIC_GAUGE, "ok", "", "__x", NULL, 0, err, sizeof(err)));
        assert_null(
                ho_metrics_add(reg, HO_METRIC_HISTOGRAM, "ok", "", "le", one, 1, err, sizeof(err)));
        assert_null(
                ho_metrics_add(reg, HO_METRIC_GAUGE, "ok", "", "a,", NULL, 0, err, sizeof(err)));
        assert_null(
                ho_metrics_add(reg, HO_METRIC_HISTOGRAM, "ok", "", NULL, b, 2, err, sizeof(err)));
        assert_non_null(strstr(err, "increasing"));
        assert_null(ho_metrics_add(reg, HO_METRIC_HISTOGRAM, "ok", "", NULL, NULL, 0, err,
                                   sizeof(err)));
        assert_null(
                ho_metrics_add(reg, HO_METRIC_COUNTER, "ok", "", NULL, one, 1, err, sizeof(err)));
        assert_non_null(ho_metrics_add(reg, HO_METRIC_GAUGE, "ns:ok_1", "", "a_1,b", NULL, 0, err,
                                       sizeof(err)));
        assert_null(ho_metrics_add(reg, HO_METRIC_COUNTER, "ns:ok_1", "", NULL, NULL, 0, err,
                                   sizeof(err)));
        assert_non_null(strstr(err, "already registered"));
        ho_metrics_destroy(reg);
}

static void test_build_info(void **state) {
        (void)state;
        char err[256];
        ho_metrics_t *reg = ho_metrics_new();
        assert_int_equal(ho_metrics_add_build_info(reg, err, sizeof(err)), HO_OK);
        char *s = render(reg);
        assert_non_null(strstr(s, "# TYPE handover_build_info gauge\n"
                                  "handover_build_info{version=\"" HO_VERSION "\",librdkafka=\""));
        assert_non_null(strstr(s, "\",avro=\"" HO_AVRO_VERSION "\"} 1\n"));
        free(s);
        assert_int_equal(ho_metrics_add_build_info(reg, err, sizeof(err)), HO_ERR_USAGE);
        ho_metrics_destroy(reg);
}

typedef struct {
        ho_metric_t *c, *h, *l;
} hammer_t;

static void *hammer(void *arg) {
        hammer_t *t = arg;
        const char *v[] = {"x"};
        for (int i = 0; i < 20000; i++) {
                ho_metric_inc(t->c, 1);
                ho_metric_observe(t->h, 0.5);
                ho_metric_inc_l(t->l, v, 1);
        }
        return NULL;
}

/* Four threads updating at once lose nothing. */
static void test_threads(void **state) {
        (void)state;
        char err[256];
        ho_metrics_t *reg = ho_metrics_new();
        const double b[] = {1};
        hammer_t t = {
                ho_metrics_add(reg, HO_METRIC_COUNTER, "t_total", "", NULL, NULL, 0, err,
                               sizeof(err)),
                ho_metrics_add(reg, HO_METRIC_HISTOGRAM, "t_h", "", NULL, b, 1, err, sizeof(err)),
                ho_metrics_add(reg, HO_METRIC_COUNTER, "t_l_total", "", "k", NULL, 0, err,
                               sizeof(err)),
        };
        pthread_t th[4];
        for (int i = 0; i < 4; i++)
                assert_int_equal(pthread_create(&th[i], NULL, hammer, &t), 0);
        for (int i = 0; i < 4; i++)
                pthread_join(th[i], NULL);
        const char *v[] = {"x"};
        assert_true(ho_metric_value(t.c, NULL) == 80000);
        assert_true(ho_metric_value(t.h, NULL) == 80000);
        assert_true(ho_metric_value(t.l, v) == 80000);
        ho_metrics_destroy(reg);
}

static void test_parse_addr(void **state) {
        (void)state;
        char host[64], err[256];
        int port;
        assert_int_equal(ho_metrics_parse_addr("127.0.0.1:9464", host, sizeof(host), &port, err,
                                               sizeof(err)),
                         HO_OK);
        assert_string_equal(host, "127.0.0.1");
        assert_int_equal(port, 9464);
        assert_int_equal(ho_metrics_parse_addr(":0", host, sizeof(host), &port, err, sizeof(err)),
                         HO_OK);
        assert_string_equal(host, "");
        assert_int_equal(port, 0);
        assert_int_equal(ho_metrics_parse_addr("[::1]:80", host, sizeof(host), &port, err,
                                               sizeof(err)),
                         HO_OK);
        assert_string_equal(host, "::1");
        const char *bad[] = {"9464", "host:", "host:x", "host:70000", "::1:80", "h:-1", NULL};
        for (int i = 0; bad[i]; i++) {
                assert_int_equal(ho_metrics_parse_addr(bad[i], host, sizeof(host), &port, err,
                                                       sizeof(err)),
                                 HO_ERR_USAGE);
                assert_true(strlen(err) > 0);
        }
}

/* ---- the endpoint ---- */

/* One HTTP/1.0 request to 127.0.0.1:port; the whole response (caller frees). */
static char *http(int port, const char *method, const char *path) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        char req[256];
        int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
        assert_int_equal(write(fd, req, (size_t)n), n);
        ho_buf_t b = HO_BUF_INIT;
        char chunk[4096];
        ssize_t r;
        while ((r = read(fd, chunk, sizeof(chunk))) > 0)
                assert_int_equal(ho_buf_append(&b, chunk, (size_t)r), HO_OK);
        close(fd);
        char *s = ho_buf_steal(&b, NULL);
        return s ? s : strdup("");
}

static bool health_flag;

static bool health(void *opaque, char *reason, size_t reason_size) {
        assert_ptr_equal(opaque, &health_flag);
        if (!health_flag)
                snprintf(reason, reason_size, "redis: no answer");
        return health_flag;
}

static void test_server(void **state) {
        (void)state;
        char err[256];
        ho_metrics_t *reg = ho_metrics_new();
        ho_metric_t *c = ho_metrics_add(reg, HO_METRIC_COUNTER, "t_served_total", "Served.", NULL,
                                        NULL, 0, err, sizeof(err));
        ho_metric_inc(c, 42);
        ho_metrics_server_t *srv = ho_metrics_server_new(reg, "127.0.0.1:0", health, &health_flag,
                                                         err, sizeof(err));
        assert_non_null(srv);
        int port = ho_metrics_server_port(srv);
        assert_true(port > 0);

        health_flag = true;
        char *r = http(port, "GET", "/metrics");
        assert_true(!strncmp(r, "HTTP/1.0 200", 12) || !strncmp(r, "HTTP/1.1 200", 12));
        assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
        assert_non_null(strstr(r, "\r\n\r\n# HELP t_served_total Served.\n"));
        assert_non_null(strstr(r, "\nt_served_total 42\n"));
        assert_non_null(strstr(r, "\nhandover_up 1\n"));
        free(r);
        r = http(port, "GET", "/healthz");
        assert_non_null(strstr(r, " 200 "));
        assert_non_null(strstr(r, "\r\n\r\nok\n"));
        free(r);

        health_flag = false;
        r = http(port, "GET", "/healthz");
        assert_non_null(strstr(r, " 503 "));
        assert_non_null(strstr(r, "\r\n\r\nredis: no answer\n"));
        free(r);
        r = http(port, "GET", "/metrics");
        assert_non_null(strstr(r, "\nhandover_up 0\n"));
        free(r);
        r = http(port, "HEAD", "/metrics");
        assert_non_null(strstr(r, " 200 "));
        assert_null(strstr(r, "t_served_total"));
        free(r);
        r = http(port, "GET", "/nope");
        assert_non_null(strstr(r, " 404 "));
        free(r);
        r = http(port, "POST", "/metrics");
        assert_non_null(strstr(r, " 405 "));
        assert_non_null(strstr(r, "Allow: GET, HEAD"));
        free(r);

        /* the port is taken now: a second server says so */
        char addr[32];
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        ho_metrics_t *reg2 = ho_metrics_new();
        assert_null(ho_metrics_server_new(reg2, addr, NULL, NULL, err, sizeof(err)));
        assert_non_null(strstr(err, "cannot serve metrics on \"127.0.0.1:"));
        ho_metrics_destroy(reg2);

        ho_metrics_server_destroy(srv);
        ho_metrics_destroy(reg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_counter_gauge_text), cmocka_unit_test(test_labels),
                cmocka_unit_test(test_histogram),          cmocka_unit_test(test_bad_names),
                cmocka_unit_test(test_build_info),         cmocka_unit_test(test_threads),
                cmocka_unit_test(test_parse_addr),         cmocka_unit_test(test_server),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
