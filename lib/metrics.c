/*
 * metrics.c: the metrics registry, its text rendering, and the HTTP endpoint
 * (see metrics.h). A registry is a list of families, each a list of series;
 * the numbers stay small (tens of families, a series per partition at most),
 * so lookups are linear and everything is under one mutex.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <avro.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include "handover/log.h"
#include "handover/metrics.h"
#include "handover/util.h"

#define HO_METRICS_MAX_LABELS 8

typedef struct ho_series_s {
        struct ho_series_s *next;
        char **values;     /* one per label name; NULL when unlabelled */
        double value;      /* counter, gauge */
        uint64_t *buckets; /* histogram: observations per bucket (not cumulative), +Inf last */
        double sum;
        uint64_t count;
} ho_series_t;

struct ho_metric_s {
        struct ho_metric_s *next;
        ho_metrics_t *reg;
        ho_metric_type_t type;
        char *name;
        char *help;
        char *labels[HO_METRICS_MAX_LABELS];
        size_t n_labels;
        double *bounds;
        size_t n_bounds;
        ho_series_t *series; /* in creation order */
};

struct ho_metrics_s {
        pthread_mutex_t mu;
        ho_metric_t *first, *last;
};

ho_metrics_t *ho_metrics_new(void) {
        ho_metrics_t *reg = calloc(1, sizeof(*reg));
        if (reg)
                pthread_mutex_init(&reg->mu, NULL);
        return reg;
}

static void series_free(const ho_metric_t *m, ho_series_t *s) {
        if (s->values)
                for (size_t i = 0; i < m->n_labels; i++)
                        free(s->values[i]);
        free(s->values);
        free(s->buckets);
        free(s);
}

static void metric_free(ho_metric_t *m) {
        ho_series_t *s = m->series;
        while (s) {
                ho_series_t *n = s->next;
                series_free(m, s);
                s = n;
        }
        for (size_t i = 0; i < m->n_labels; i++)
                free(m->labels[i]);
        free(m->name);
        free(m->help);
        free(m->bounds);
        free(m);
}

void ho_metrics_destroy(ho_metrics_t *reg) {
        if (!reg)
                return;
        ho_metric_t *m = reg->first;
        while (m) {
                ho_metric_t *n = m->next;
                metric_free(m);
                m = n;
        }
        pthread_mutex_destroy(&reg->mu);
        free(reg);
}

/* ---- names ---- */

static bool name_ok(const char *s, size_t n, bool colon) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                             (colon && c == ':');
                if (!alpha && (i == 0 || c < '0' || c > '9'))
                        return false;
        }
        return true;
}

/* A new series with copies of values (NULL: the unlabelled one). */
static ho_series_t *series_new(ho_metric_t *m, const char *const *values) {
        ho_series_t *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        if (m->type == HO_METRIC_HISTOGRAM &&
            !(s->buckets = calloc(m->n_bounds + 1, sizeof(*s->buckets))))
                goto fail;
        if (values) {
                if (!(s->values = calloc(m->n_labels, sizeof(*s->values))))
                        goto fail;
                for (size_t i = 0; i < m->n_labels; i++)
                        if (!(s->values[i] = strdup(values[i] ? values[i] : "")))
                                goto fail;
        }
        return s;
fail:
        series_free(m, s);
        return NULL;
}

static void series_append(ho_metric_t *m, ho_series_t *s) {
        ho_series_t **pp = &m->series;
        while (*pp)
                pp = &(*pp)->next;
        *pp = s;
}

ho_metric_t *ho_metrics_add(ho_metrics_t *reg, ho_metric_type_t type, const char *name,
                            const char *help, const char *labels, const double *buckets,
                            size_t n_buckets, char *errstr, size_t errstr_size) {
        if (!name || !name_ok(name, strlen(name), true)) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "bad metric name \"%s\"",
                          name ? name : "");
                return NULL;
        }
        if (type == HO_METRIC_HISTOGRAM ? n_buckets == 0 || !buckets : n_buckets != 0) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                          "metric \"%s\": buckets are for histograms, and histograms need them",
                          name);
                return NULL;
        }
        for (size_t i = 0; i < n_buckets; i++)
                if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
                        ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                  "metric \"%s\": buckets must be finite and increasing", name);
                        return NULL;
                }
        ho_metric_t *m = calloc(1, sizeof(*m));
        if (!m || !(m->name = strdup(name)) || !(m->help = strdup(help ? help : "")))
                goto nomem;
        m->reg = reg;
        m->type = type;
        for (const char *p = labels && *labels ? labels : NULL; p;) {
                const char *e = strchr(p, ',');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (!name_ok(p, n, false) || (n >= 2 && p[0] == '_' && p[1] == '_') ||
                    (n == 2 && !strncmp(p, "le", 2)) || m->n_labels == HO_METRICS_MAX_LABELS) {
                        ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                  "metric \"%s\": bad label names \"%s\"", name, labels);
                        metric_free(m);
                        return NULL;
                }
                if (!(m->labels[m->n_labels] = strndup(p, n)))
                        goto nomem;
                m->n_labels++;
                p = e ? e + 1 : NULL; /* "a," has an empty last name: refused above */
        }
        if (n_buckets) {
                if (!(m->bounds = malloc(n_buckets * sizeof(*m->bounds))))
                        goto nomem;
                memcpy(m->bounds, buckets, n_buckets * sizeof(*m->bounds));
                m->n_bounds = n_buckets;
        }
        if (m->n_labels == 0 && !(m->series = series_new(m, NULL)))
                goto nomem;

        pthread_mutex_lock(&reg->mu);
        for (ho_metric_t *o = reg->first; o; o = o->next)
                if (!strcmp(o->name, name)) {
                        pthread_mutex_unlock(&reg->mu);
                        ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                  "metric \"%s\" is already registered", name);
                        metric_free(m);
                        return NULL;
                }
        if (reg->last)
                reg->last->next = m;
        else
                reg->first = m;
        reg->last = m;
        pthread_mutex_unlock(&reg->mu);
        return m;
nomem:
        if (m)
                metric_free(m);
        ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        return NULL;
}

/* ---- updates ---- */

static void series_observe(const ho_metric_t *m, ho_series_t *s, double v) {
        size_t i = 0;
        while (i < m->n_bounds && v > m->bounds[i])
                i++;
        s->buckets[i]++;
        s->sum += v;
        s->count++;
}

void ho_metric_inc(ho_metric_t *m, double v) {
        if (!m || m->n_labels || m->type == HO_METRIC_HISTOGRAM)
                return;
        pthread_mutex_lock(&m->reg->mu);
        m->series->value += v;
        pthread_mutex_unlock(&m->reg->mu);
}

void ho_metric_set(ho_metric_t *m, double v) {
        if (!m || m->n_labels || m->type == HO_METRIC_HISTOGRAM)
                return;
        pthread_mutex_lock(&m->reg->mu);
        m->series->value = v;
        pthread_mutex_unlock(&m->reg->mu);
}

void ho_metric_observe(ho_metric_t *m, double v) {
        if (!m || m->n_labels || m->type != HO_METRIC_HISTOGRAM)
                return;
        pthread_mutex_lock(&m->reg->mu);
        series_observe(m, m->series, v);
        pthread_mutex_unlock(&m->reg->mu);
}

/* The series with these label values, under the lock; NULL when absent. */
static ho_series_t *series_find(ho_metric_t *m, const char *const *values, ho_series_t ***pp) {
        ho_series_t **p = &m->series;
        for (; *p; p = &(*p)->next) {
                size_t i = 0;
                while (i < m->n_labels && !strcmp((*p)->values[i], values[i] ? values[i] : ""))
                        i++;
                if (i == m->n_labels) {
                        if (pp)
                                *pp = p;
                        return *p;
                }
        }
        return NULL;
}

static ho_err_t metric_update_l(ho_metric_t *m, const char *const *values, double v, bool add) {
        if (!m || !m->n_labels || !values || m->type == HO_METRIC_HISTOGRAM)
                return HO_ERR_USAGE;
        pthread_mutex_lock(&m->reg->mu);
        ho_series_t *s = series_find(m, values, NULL);
        if (!s && (s = series_new(m, values)))
                series_append(m, s);
        if (s)
                s->value = add ? s->value + v : v;
        pthread_mutex_unlock(&m->reg->mu);
        return s ? HO_OK : HO_ERR_NOMEM;
}

ho_err_t ho_metric_set_l(ho_metric_t *m, const char *const *values, double v) {
        return metric_update_l(m, values, v, false);
}

ho_err_t ho_metric_inc_l(ho_metric_t *m, const char *const *values, double v) {
        return metric_update_l(m, values, v, true);
}

void ho_metric_remove_l(ho_metric_t *m, const char *const *values) {
        if (!m || !m->n_labels || !values)
                return;
        pthread_mutex_lock(&m->reg->mu);
        ho_series_t **pp;
        ho_series_t *s = series_find(m, values, &pp);
        if (s) {
                *pp = s->next;
                series_free(m, s);
        }
        pthread_mutex_unlock(&m->reg->mu);
}

double ho_metric_value(ho_metric_t *m, const char *const *values) {
        if (!m || (m->n_labels > 0) != (values != NULL))
                return 0;
        pthread_mutex_lock(&m->reg->mu);
        ho_series_t *s = values ? series_find(m, values, NULL) : m->series;
        double v = !s ? 0 : m->type == HO_METRIC_HISTOGRAM ? (double)s->count : s->value;
        pthread_mutex_unlock(&m->reg->mu);
        return v;
}

/* ---- the text format ---- */

/* The shortest of %.15g..%.17g that reads back as v: 0.1, not 0.10000000000000001. */
static void format_double(char *s, size_t size, double v) {
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(s, size, "%.*g", prec, v);
                if (strtod(s, NULL) == v)
                        return;
        }
}

static ho_err_t put_number(ho_buf_t *out, double v) {
        if (isnan(v))
                return ho_buf_append_str(out, "NaN");
        if (isinf(v))
                return ho_buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
        /* integers as integers (counts read better), others round-trip exactly */
        if (v == floor(v) && fabs(v) < 9007199254740992.0)
                return ho_buf_printf(out, "%.0f", v);
        char s[40];
        format_double(s, sizeof(s), v);
        return ho_buf_append_str(out, s);
}

/* HELP text escapes \ and newline; label values also escape ". */
static ho_err_t put_escaped(ho_buf_t *out, const char *s, bool quote) {
        ho_err_t err = HO_OK;
        for (; *s && !err; s++) {
                if (*s == '\\')
                        err = ho_buf_append(out, "\\\\", 2);
                else if (*s == '\n')
                        err = ho_buf_append(out, "\\n", 2);
                else if (quote && *s == '"')
                        err = ho_buf_append(out, "\\\"", 2);
                else
                        err = ho_buf_append(out, s, 1);
        }
        return err;
}

/* NAME SUFFIX{labels[,le="LE"]} VALUE\n */
static ho_err_t put_sample(ho_buf_t *out, const ho_metric_t *m, const ho_series_t *s,
                           const char *suffix, const char *le, double v) {
        ho_err_t err = ho_buf_append_str(out, m->name);
        if (!err)
                err = ho_buf_append_str(out, suffix);
        if (!err && (m->n_labels || le)) {
                err = ho_buf_append(out, "{", 1);
                for (size_t i = 0; !err && i < m->n_labels; i++) {
                        err = ho_buf_printf(out, "%s%s=\"", i ? "," : "", m->labels[i]);
                        if (!err)
                                err = put_escaped(out, s->values[i], true);
                        if (!err)
                                err = ho_buf_append(out, "\"", 1);
                }
                if (!err && le)
                        err = ho_buf_printf(out, "%sle=\"%s\"", m->n_labels ? "," : "", le);
                if (!err)
                        err = ho_buf_append(out, "}", 1);
        }
        if (!err)
                err = ho_buf_append(out, " ", 1);
        if (!err)
                err = put_number(out, v);
        if (!err)
                err = ho_buf_append(out, "\n", 1);
        return err;
}

static ho_err_t put_series(ho_buf_t *out, const ho_metric_t *m, const ho_series_t *s) {
        if (m->type != HO_METRIC_HISTOGRAM)
                return put_sample(out, m, s, "", NULL, s->value);
        ho_err_t err = HO_OK;
        uint64_t cum = 0;
        for (size_t i = 0; !err && i <= m->n_bounds; i++) {
                char le[40];
                if (i < m->n_bounds)
                        format_double(le, sizeof(le), m->bounds[i]);
                else
                        snprintf(le, sizeof(le), "+Inf");
                cum += s->buckets[i];
                err = put_sample(out, m, s, "_bucket", le, (double)cum);
        }
        if (!err)
                err = put_sample(out, m, s, "_sum", NULL, s->sum);
        if (!err)
                err = put_sample(out, m, s, "_count", NULL, (double)s->count);
        return err;
}

ho_err_t ho_metrics_render(ho_metrics_t *reg, ho_buf_t *out) {
        static const char *const types[] = {"counter", "gauge", "histogram"};
        ho_err_t err = HO_OK;
        pthread_mutex_lock(&reg->mu);
        for (const ho_metric_t *m = reg->first; m && !err; m = m->next) {
                err = ho_buf_printf(out, "# HELP %s ", m->name);
                if (!err)
                        err = put_escaped(out, m->help, false);
                if (!err)
                        err = ho_buf_printf(out, "\n# TYPE %s %s\n", m->name, types[m->type]);
                for (const ho_series_t *s = m->series; s && !err; s = s->next)
                        err = put_series(out, m, s);
        }
        pthread_mutex_unlock(&reg->mu);
        return err;
}

ho_err_t ho_metrics_add_build_info(ho_metrics_t *reg, char *errstr, size_t errstr_size) {
        ho_metric_t *m = ho_metrics_add(reg, HO_METRIC_GAUGE, "handover_build_info",
                                        "Versions of handover and the libraries it runs with; "
                                        "always 1.",
                                        "version,librdkafka,hiredis,avro", NULL, 0, errstr,
                                        errstr_size);
        if (!m)
                return HO_ERR_USAGE; /* errstr says why: out of memory, or added twice */
        char hiredis[32];
        snprintf(hiredis, sizeof(hiredis), "%d.%d.%d", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
        const char *v[] = {HO_VERSION, rd_kafka_version_str(), hiredis, HO_AVRO_VERSION};
        return ho_metric_set_l(m, v, 1);
}

/* ---- the HTTP endpoint ---- */

struct ho_metrics_server_s {
        ho_metrics_t *reg;
        ho_metric_t *up;
        ho_metrics_health_cb health;
        void *opaque;
        struct MHD_Daemon *d;
        int port;
        char start_err[512]; /* what libmicrohttpd said first while starting */
};

static void mhd_log(void *cls, const char *fmt, va_list ap) {
        ho_metrics_server_t *srv = cls;
        char line[512];
        vsnprintf(line, sizeof(line), fmt, ap);
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
        if (!srv->d) {
                if (!srv->start_err[0])
                        memcpy(srv->start_err, line, n + 1);
                return;
        }
        ho_warn("metrics: http: %s", line);
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               char *body, size_t len) {
        struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        enum MHD_Result ret = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status,
                                    const char *text) {
        char *body = strdup(text);
        if (!body)
                return MHD_NO;
        return respond(conn, status, "text/plain; charset=utf-8", body, strlen(body));
}

static bool server_healthy(ho_metrics_server_t *srv, char *reason, size_t reason_size) {
        reason[0] = '\0';
        bool ok = !srv->health || srv->health(srv->opaque, reason, reason_size);
        ho_metric_set(srv->up, ok ? 1 : 0);
        return ok;
}

static enum MHD_Result mhd_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls) {
        (void)version;
        (void)upload_data;
        ho_metrics_server_t *srv = cls;
        if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
                return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                    "only GET and HEAD are served\n");
        if (*upload_data_size) { /* a GET with a body: ignore the body */
                *upload_data_size = 0;
                return MHD_YES;
        }
        (void)con_cls;
        char reason[512];
        if (!strcmp(url, "/metrics")) {
                server_healthy(srv, reason, sizeof(reason));
                ho_buf_t b = HO_BUF_INIT;
                if (ho_metrics_render(srv->reg, &b) != HO_OK) {
                        ho_buf_free(&b);
                        return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                            "out of memory\n");
                }
                size_t len;
                char *body = ho_buf_steal(&b, &len);
                if (!body)
                        body = strdup(""), len = 0;
                return respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body,
                               len);
        }
        if (!strcmp(url, "/healthz")) {
                if (server_healthy(srv, reason, sizeof(reason)))
                        return respond_text(conn, MHD_HTTP_OK, "ok\n");
                char line[sizeof(reason) + 2];
                snprintf(line, sizeof(line), "%s\n", reason[0] ? reason : "unhealthy");
                return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, line);
        }
        return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
}

ho_err_t ho_metrics_parse_addr(const char *addr, char *host, size_t host_size, int *port,
                               char *errstr, size_t errstr_size) {
        const char *colon = addr ? strrchr(addr, ':') : NULL;
        if (!colon)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "expected ADDR:PORT (e.g. 127.0.0.1:9464, or :9464 for every "
                                 "address), got \"%s\"",
                                 addr ? addr : "");
        const char *h = addr;
        size_t hlen = (size_t)(colon - addr);
        if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
                h++;
                hlen -= 2;
        } else if (memchr(h, ':', hlen)) {
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "\"%s\": an IPv6 address needs brackets: [ADDR]:PORT", addr);
        }
        if (hlen >= host_size)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "\"%s\": host too long", addr);
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        if (ho_parse_int(colon + 1, 0, 65535, port))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "\"%s\": expected a port 0..65535 after the last ':'", addr);
        return HO_OK;
}

ho_metrics_server_t *ho_metrics_server_new(ho_metrics_t *reg, const char *addr,
                                           ho_metrics_health_cb health, void *opaque, char *errstr,
                                           size_t errstr_size) {
        char host[256];
        int port;
        if (ho_metrics_parse_addr(addr, host, sizeof(host), &port, errstr, errstr_size))
                return NULL;
        char portstr[8];
        snprintf(portstr, sizeof(portstr), "%d", port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                        *ai = NULL;
        int gerr = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
        if (gerr) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "metrics address \"%s\": %s", addr,
                          gai_strerror(gerr));
                return NULL;
        }
        /* ":PORT" means every IPv4 address, as most exporters do */
        const struct addrinfo *pick = ai;
        for (const struct addrinfo *a = ai; a && !host[0]; a = a->ai_next)
                if (a->ai_family == AF_INET) {
                        pick = a;
                        break;
                }
        ho_metrics_server_t *srv = calloc(1, sizeof(*srv));
        if (!srv) {
                freeaddrinfo(ai);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        srv->reg = reg;
        srv->health = health;
        srv->opaque = opaque;
        srv->up = ho_metrics_add(reg, HO_METRIC_GAUGE, "handover_up",
                                 "1 when the process is healthy (GET /healthz answers 200), "
                                 "else 0.",
                                 NULL, NULL, 0, errstr, errstr_size);
        if (!srv->up) {
                freeaddrinfo(ai);
                free(srv);
                return NULL;
        }
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
        if (pick->ai_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        srv->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, mhd_handler, srv,
                                  MHD_OPTION_SOCK_ADDR, pick->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
                                  (unsigned)32, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                                  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_END);
        freeaddrinfo(ai);
        if (!srv->d) {
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot serve metrics on \"%s\": %s",
                          addr, srv->start_err[0] ? srv->start_err : "libmicrohttpd refused");
                free(srv);
                return NULL;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
        srv->port = info ? (int)info->port : port;
        return srv;
}

int ho_metrics_server_port(const ho_metrics_server_t *srv) {
        return srv->port;
}

void ho_metrics_server_destroy(ho_metrics_server_t *srv) {
        if (!srv)
                return;
        MHD_stop_daemon(srv->d);
        free(srv);
}
