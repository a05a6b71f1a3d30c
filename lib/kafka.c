/* kafka.c: librdkafka clients from role defaults, the user's settings and
 * one log/error policy (see kafka.h). */
#include <stdio.h>
#include <string.h>
#include "handover/clock.h"
#include "handover/kafka.h"
#include "handover/log.h"

typedef struct ho_kafka_kv_s {
        const char *key, *value;
} ho_kafka_kv_t;

/* Under the user's settings. */
static const ho_kafka_kv_t ho_consumer_defaults[] = {
        {"auto.offset.reset", "earliest"},
        {"fetch.wait.max.ms", "10"},
        /* prefetch bounded by bytes only: librdkafka 2.0.x stops fetching while
         * either limit is exceeded and looks again only on its next fetch
         * round; with the fetcher wake-up (kfetch.h) 1 MB keeps up with the
         * worker at the least resident memory (docs/bench.md) */
        {"queued.max.messages.kbytes", "1024"},
        {"queued.min.messages", "10000000"},
        {"session.timeout.ms", "10000"},
        {"heartbeat.interval.ms", "1000"},
        /* partitions added to the topic are seen (and the group rebalanced
         * onto them) at the next metadata refresh, one small request a broker
         * answers from memory */
        {"topic.metadata.refresh.interval.ms", "5000"},
        {NULL, NULL},
};
static const ho_kafka_kv_t ho_dlq_defaults[] = {
        {"linger.ms", "0"},
        /* the worker waits this long plus 5 s for a dead letter's report */
        {"message.timeout.ms", "10000"},
        {NULL, NULL},
};
/* Exactly-once into the log per producer session, acknowledged by every
 * in-sync replica; small linger and large batches for throughput; a bounded
 * delivery time so an unreachable cluster is an error, not a hang. lz4:
 * cheap on CPU, built into Debian's librdkafka. */
static const ho_kafka_kv_t ho_producer_defaults[] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.type", "lz4"},
        {"linger.ms", "5"},
        {"batch.num.messages", "10000"},
        {"batch.size", "1000000"},
        {"message.timeout.ms", "30000"},
        /* a request to a broker that stopped answering (paused, cut off) is
         * given up after 10 s, so the retry on the partition's new leader
         * still fits in message.timeout.ms (idempotence keeps it exactly
         * once); librdkafka's 30 s default left no time for it */
        {"request.timeout.ms", "10000"},
        /* bounds memory: librdkafka counts only key + value against .kbytes,
         * so .messages binds; a spool window stays mapped until every
         * partition has delivered past it (docs/bench.md) */
        {"queue.buffering.max.messages", "80000"},
        {"queue.buffering.max.kbytes", "32768"},
        {NULL, NULL},
};
static const ho_kafka_kv_t ho_reader_defaults[] = {
        {"auto.offset.reset", "earliest"},
        /* a bounded prefetch queue: memory stays flat whatever the history
         * length; with the fetcher wake-up (kfetch.h) 1 MB is as fast as 4 MB */
        {"queued.max.messages.kbytes", "1024"},
        {"fetch.max.bytes", "8388608"},
        /* a closed window: at its end a fetch has nothing to wait for, and the
         * next read (a bucket's pass) should not wait behind it */
        {"fetch.wait.max.ms", "50"},
        {NULL, NULL},
};
static const ho_kafka_kv_t ho_none[] = {{NULL, NULL}};

/* Over the user's settings: what the role's correctness depends on. */
static const ho_kafka_kv_t ho_consumer_forced[] = {
        /* Redis holds the truth; Kafka gets a copy after each apply */
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "false"},
        /* an aborted transaction's reports never count */
        {"isolation.level", "read_committed"},
        {NULL, NULL},
};
static const ho_kafka_kv_t ho_idempotent_forced[] = {
        /* a dead letter is written once, in order, or the offset stays */
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {NULL, NULL},
};
static const ho_kafka_kv_t ho_reader_forced[] = {
        /* assign(), not a group: nothing is committed, no worker disturbed */
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {NULL, NULL},
};

static const struct {
        const ho_kafka_kv_t *defaults, *forced;
} ho_roles[HO_KAFKA__ROLES] = {
        [HO_KAFKA_CONSUMER] = {ho_consumer_defaults, ho_consumer_forced},
        [HO_KAFKA_DLQ_PRODUCER] = {ho_dlq_defaults, ho_idempotent_forced},
        [HO_KAFKA_PRODUCER] = {ho_producer_defaults, ho_none},
        [HO_KAFKA_READER] = {ho_reader_defaults, ho_reader_forced},
        [HO_KAFKA_ADMIN] = {ho_none, ho_none},
};

static ho_err_t kafka_set_all(rd_kafka_conf_t *conf, const ho_kafka_kv_t *kv, char *errstr,
                              size_t errstr_size) {
        char rderr[512];
        for (; kv->key; kv++)
                if (rd_kafka_conf_set(conf, kv->key, kv->value, rderr, sizeof(rderr)) !=
                    RD_KAFKA_CONF_OK)
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s=%s: %s", kv->key,
                                         kv->value, rderr);
        return HO_OK;
}

ho_err_t ho_kafka_conf_defaults(ho_kafka_role_t role, const char *client_id, rd_kafka_conf_t *conf,
                                char *errstr, size_t errstr_size) {
        if ((unsigned)role >= HO_KAFKA__ROLES)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "no kafka role %d", (int)role);
        ho_err_t err = kafka_set_all(conf, ho_roles[role].defaults, errstr, errstr_size);
        char rderr[512];
        if (!err && client_id &&
            rd_kafka_conf_set(conf, "client.id", client_id, rderr, sizeof(rderr)) !=
                    RD_KAFKA_CONF_OK)
                err = ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "client.id=%s: %s", client_id,
                                rderr);
        return err;
}

ho_err_t ho_kafka_conf_user(rd_kafka_conf_t *conf, const ho_kafka_user_t *u, char *errstr,
                            size_t errstr_size) {
        ho_err_t err = HO_OK;
        for (size_t i = 0; !err && i < u->n_props; i++)
                if (u->props[i].is_file)
                        err = ho_conf_kafka_prop(conf, &u->props[i], errstr, errstr_size);
        char rderr[512];
        if (!err && u->brokers &&
            rd_kafka_conf_set(conf, "bootstrap.servers", u->brokers, rderr, sizeof(rderr)) !=
                    RD_KAFKA_CONF_OK)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "HANDOVER_BROKERS \"%s\": %s",
                                 u->brokers, rderr);
        for (size_t i = 0; !err && i < u->n_props; i++)
                if (!u->props[i].is_file)
                        err = ho_conf_kafka_prop(conf, &u->props[i], errstr, errstr_size);
        /* a -c that cannot be read is a setting to fix, as a bad line is */
        return err == HO_ERR_IO ? HO_ERR_USAGE : err;
}

rd_kafka_conf_t *ho_kafka_conf_new(ho_kafka_role_t role, const char *client_id,
                                   const ho_kafka_user_t *u, ho_err_t *errp, char *errstr,
                                   size_t errstr_size) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        ho_err_t err = conf ? HO_OK : ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        if (!err)
                err = ho_kafka_conf_defaults(role, client_id, conf, errstr, errstr_size);
        if (!err && u)
                err = ho_kafka_conf_user(conf, u, errstr, errstr_size);
        if (!err)
                err = kafka_set_all(conf, ho_roles[role].forced, errstr, errstr_size);
        if (errp)
                *errp = err;
        if (err && conf) {
                rd_kafka_conf_destroy(conf);
                conf = NULL;
        }
        return conf;
}

bool ho_kafka_conf_has_brokers(const rd_kafka_conf_t *conf) {
        char v[1024];
        size_t sz = sizeof(v);
        return rd_kafka_conf_get(conf, "bootstrap.servers", v, &sz) == RD_KAFKA_CONF_OK &&
               v[0] != '\0';
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
        (void)rk;
        /* syslog levels: 0-3 errors, 4 warning, 5-6 notice/info, 7 debug */
        ho_log_level_t l = level <= 3   ? HO_LOG_ERROR
                           : level == 4 ? HO_LOG_WARN
                           : level <= 6 ? HO_LOG_INFO
                                        : HO_LOG_DEBUG;
        /* one -X serves several clients, so each names every property of the
         * other kind that it ignores: expected, not worth a warning */
        if (l < HO_LOG_DEBUG && !strcmp(fac, "CONFWARN") &&
            strstr(buf, " property and will be ignored by this "))
                l = HO_LOG_DEBUG;
        /* connection failures also come to the error callback, which says
         * so at most every few seconds: the raw log line is debug detail */
        if (l < HO_LOG_DEBUG && !strcmp(fac, "FAIL"))
                l = HO_LOG_DEBUG;
        /* Kafka's committed offsets only mirror Redis for lag tools: one that
         * fails (group rebalancing, broker away) costs nothing */
        if (l < HO_LOG_DEBUG && !strcmp(fac, "COMMITFAIL"))
                l = HO_LOG_DEBUG;
        if (l <= ho_log_get_level())
                ho_log(l, "librdkafka %s: %s", fac, buf);
}

void ho_kafka_watch_error(ho_kafka_watch_t *kw, rd_kafka_t *rk, int err, const char *reason) {
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char fstr[400];
                rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, fstr, sizeof(fstr));
                if (!kw->fatal) {
                        snprintf(kw->reason, sizeof(kw->reason),
                                 "fatal kafka error in \"%s\": %s: %s", rd_kafka_name(rk),
                                 rd_kafka_err2name(ferr), fstr);
                        kw->fatal_err = ferr;
                        kw->fatal = true;
                        ho_error("%s", kw->reason);
                }
                return;
        }
        if (ho_kafka_err_is_auth(err)) { /* wrong credentials or CA (conf.h) */
                if (!kw->fatal) {
                        ho_kafka_auth_format(err, reason, kw->reason, sizeof(kw->reason));
                        kw->fatal_err = err;
                        kw->fatal = true;
                        ho_error("%s", kw->reason);
                }
                return;
        }
        snprintf(kw->last, sizeof(kw->last), "%s", reason);
        /* librdkafka reconnects by itself and repeats the error while it
         * does: each broker's trouble at most once every few seconds, so an
         * outage does not flood the log, and without delay when another
         * broker goes (saylimit.h) */
        if (ho_saylimit_ok(&kw->say, err, reason, ho_mono_ms()) ||
            ho_log_get_level() >= HO_LOG_DEBUG) {
                ho_warn("kafka: %s: %s (retrying)", rd_kafka_err2name((rd_kafka_resp_err_t)err),
                        reason);
        }
        if (kw->on_error)
                kw->on_error(kw->opaque);
}

static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        ho_kafka_watch_error(opaque, rk, err, reason);
}

void ho_kafka_conf_watch(rd_kafka_conf_t *conf, ho_kafka_watch_t *kw, void *opaque) {
        memset(kw, 0, sizeof(*kw));
        ho_saylimit_init(&kw->say, 5000);
        kw->opaque = opaque;
        rd_kafka_conf_set_opaque(conf, kw);
        rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
        rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
}

void *ho_kafka_opaque(void *rk_opaque) {
        return rk_opaque ? ((ho_kafka_watch_t *)rk_opaque)->opaque : NULL;
}

rd_kafka_t *ho_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what,
                         char *errstr, size_t errstr_size) {
        char rderr[512];
        rd_kafka_t *rk = rd_kafka_new(type, conf, rderr, sizeof(rderr));
        if (!rk) {
                rd_kafka_conf_destroy(conf);
                ho_seterr(errstr, errstr_size, HO_ERR_CLIENT, "cannot create %s: %s", what, rderr);
        }
        return rk;
}
