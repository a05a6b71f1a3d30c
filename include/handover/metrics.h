/*
 * metrics.h: a small registry of counters, gauges and histograms, rendered in
 * the Prometheus text exposition format 0.0.4, and the HTTP endpoint that
 * serves it (GET /metrics and GET /healthz, libmicrohttpd).
 *
 * Threads: every function of the registry and its metrics may be called from
 * any thread; one mutex per registry guards all of them. The HTTP server runs
 * on its own thread (libmicrohttpd's internal polling thread) and only reads
 * the registry, plus whatever the health callback reads.
 *
 * Names follow Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]* for metrics,
 * [a-zA-Z_][a-zA-Z0-9_]* for labels (no "__" prefix, no "le" outside
 * histograms). The registry checks them when a metric is added.
 */
#ifndef HO_METRICS_H
#define HO_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include "handover/buf.h"
#include "handover/err.h"

typedef enum {
        HO_METRIC_COUNTER = 0,
        HO_METRIC_GAUGE,
        HO_METRIC_HISTOGRAM,
} ho_metric_type_t;

typedef struct ho_metrics_s ho_metrics_t;
typedef struct ho_metric_s ho_metric_t; /* one family: a name, its type, its series */

/* NULL on out of memory. Free with ho_metrics_destroy(), after the server. */
ho_metrics_t *ho_metrics_new(void);
void ho_metrics_destroy(ho_metrics_t *reg);

/*
 * Add a family. labels: the label names, comma-separated ("topic,partition"),
 * or NULL for a family with one unlabelled series, which exists (at 0) from
 * here on. buckets: a histogram's upper bounds, strictly increasing, finite
 * (+Inf is implied); NULL/0 for the others. name, help and labels are copied.
 * The registry owns the family: the pointer stays valid until
 * ho_metrics_destroy(). NULL + errstr (HO_ERR_USAGE) on a bad or duplicate
 * name or bad buckets, HO_ERR_NOMEM.
 */
ho_metric_t *ho_metrics_add(ho_metrics_t *reg, ho_metric_type_t type, const char *name,
                            const char *help, const char *labels, const double *buckets,
                            size_t n_buckets, char *errstr, size_t errstr_size);

/* Unlabelled series (a no-op on a labelled family, or when m is NULL, so a
 * caller can keep metrics optional). inc adds v (counters: v >= 0); set
 * replaces the value (a gauge, or a counter that mirrors a cumulative count
 * kept elsewhere); observe records one observation in a histogram. */
void ho_metric_inc(ho_metric_t *m, double v);
void ho_metric_set(ho_metric_t *m, double v);
void ho_metric_observe(ho_metric_t *m, double v);

/* Labelled series: values holds one string per label name, in order (copied
 * when the series is new). The series is created on first use.
 * HO_ERR_NOMEM, or HO_ERR_USAGE when m is unlabelled or of another type. */
ho_err_t ho_metric_set_l(ho_metric_t *m, const char *const *values, double v);
ho_err_t ho_metric_inc_l(ho_metric_t *m, const char *const *values, double v);
/* Drop one labelled series (it stops being rendered); a no-op when absent. */
void ho_metric_remove_l(ho_metric_t *m, const char *const *values);

/* The value of a counter or gauge series (NULL values: the unlabelled one);
 * a histogram's count. 0 when absent. For tests and health checks. */
double ho_metric_value(ho_metric_t *m, const char *const *values);

/* Append every family to out in the text format 0.0.4, in the order added.
 * HO_ERR_NOMEM. */
ho_err_t ho_metrics_render(ho_metrics_t *reg, ho_buf_t *out);

/* Add handover_build_info{version,librdkafka,hiredis,avro} = 1. */
ho_err_t ho_metrics_add_build_info(ho_metrics_t *reg, char *errstr, size_t errstr_size);

/*
 * The HTTP endpoint.
 *   GET /metrics  200, text/plain; version=0.0.4: the registry, after the
 *                 server set handover_up (which it adds) to 1 when healthy.
 *   GET /healthz  200 "ok", or 503 with the health callback's one-line reason.
 *   HEAD as GET without the body; other methods 405, other paths 404.
 * health(opaque, reason, reason_size) runs on the server's thread: true when
 * healthy, else false with reason filled. NULL: always healthy.
 */
typedef bool (*ho_metrics_health_cb)(void *opaque, char *reason, size_t reason_size);
typedef struct ho_metrics_server_s ho_metrics_server_t;

/* Parse "HOST:PORT", "[V6]:PORT" or ":PORT" (all addresses); PORT 0..65535,
 * 0 for any free port. HO_ERR_USAGE with errstr naming what is wrong. */
ho_err_t ho_metrics_parse_addr(const char *addr, char *host, size_t host_size, int *port,
                               char *errstr, size_t errstr_size);

/* Listen on addr (as parsed above) and serve reg until
 * ho_metrics_server_destroy(). NULL + errstr (HO_ERR_USAGE for a bad
 * address, HO_ERR_IO when it cannot listen). reg must outlive the server. */
ho_metrics_server_t *ho_metrics_server_new(ho_metrics_t *reg, const char *addr,
                                           ho_metrics_health_cb health, void *opaque, char *errstr,
                                           size_t errstr_size);
/* The port it listens on (the one picked when addr asked for 0). */
int ho_metrics_server_port(const ho_metrics_server_t *srv);
/* Stop serving (waits for the request in progress) and free. NULL is fine. */
void ho_metrics_server_destroy(ho_metrics_server_t *srv);

#endif
