/*
 * producer.c: librdkafka's producer with handover-produce's delivery
 * bookkeeping (see producer.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/badlist.h"
#include "handover/buf.h"
#include "handover/codec.h"
#include "handover/conf.h"
#include "handover/kafka.h"
#include "handover/ktopic.h"
#include "handover/log.h"
#include "handover/producer.h"
#include "handover/tset.h"

typedef struct failure_s {
        ho_pos_t pos;
        rd_kafka_resp_err_t err;
} failure_t;

struct ho_producer_s {
        rd_kafka_t *rk;
        rd_kafka_topic_t *rkt;
        char *topic;
        const char *const *names;
        size_t n_names;
        ho_producer_stats_t st;
        ho_tset_t *tset;
        ho_spool_t *spool; /* borrowed: values sent in place are released to it */
        failure_t fails[HO_BADLIST_CAP];
        size_t n_fails;
        bool fatal; /* a send refused for good; kw.fatal: the client's (kafka.h) */
        ho_kafka_watch_t kw;
        bool confluent; /* values are reframed 00 + id before they are sent */
        int32_t confluent_id;
        ho_buf_t frame;
};

ho_err_t ho_producer_conf_defaults(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size) {
        return ho_kafka_conf_defaults(HO_KAFKA_PRODUCER, "handover-produce", conf, errstr,
                                      errstr_size);
}

static void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
        ho_producer_t *p = ho_kafka_opaque(opaque);

        (void)rk;
        if (p->spool)
                ho_spool_release(p->spool, rkm->payload);
        if (rkm->err) {
                p->st.failed++;
                if (p->n_fails < HO_BADLIST_CAP) {
                        p->fails[p->n_fails].pos = (ho_pos_t)(uintptr_t)rkm->_private;
                        p->fails[p->n_fails].err = rkm->err;
                        p->n_fails++;
                }
                return;
        }
        p->st.delivered++;
        p->st.bytes += rkm->len;
        if (rkm->key)
                ho_tset_add(p->tset, rkm->key, rkm->key_len);
}

ho_producer_t *ho_producer_new(rd_kafka_conf_t *conf, const char *topic, const char *const *names,
                               size_t n_names, char *errstr, size_t errstr_size) {
        ho_producer_t *p = calloc(1, sizeof(*p));

        if (!p || !(p->tset = ho_tset_new()) || !(p->topic = strdup(topic))) {
                rd_kafka_conf_destroy(conf);
                if (p)
                        ho_tset_destroy(p->tset);
                free(p);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        p->names = names;
        p->n_names = n_names;
        ho_kafka_conf_watch(conf, &p->kw, p);
        rd_kafka_conf_set_dr_msg_cb(conf, producer_dr_cb);
        p->rk = ho_kafka_new(RD_KAFKA_PRODUCER, conf, "the kafka producer", errstr, errstr_size);
        if (!p->rk) {
                ho_producer_destroy(p);
                return NULL;
        }
        p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
        if (!p->rkt) {
                ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "topic \"%s\": %s", topic,
                          rd_kafka_err2str(rd_kafka_last_error()));
                ho_producer_destroy(p);
                return NULL;
        }
        return p;
}

void ho_producer_destroy(ho_producer_t *p) {
        if (!p)
                return;
        if (p->rkt)
                rd_kafka_topic_destroy(p->rkt);
        if (p->rk)
                rd_kafka_destroy(p->rk);
        ho_tset_destroy(p->tset);
        ho_buf_free(&p->frame);
        free(p->topic);
        free(p);
}

ho_err_t ho_producer_check_topic(ho_producer_t *p, int timeout_ms, char *errstr,
                                 size_t errstr_size) {
        rd_kafka_resp_err_t kerr;
        int n;
        char why[512];
        ho_err_t err = ho_ktopic_meta(p->rk, p->topic, timeout_ms, NULL, &n, &kerr, why,
                                      sizeof(why));
        if (err == HO_ERR_NOT_FOUND)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "topic \"%s\" does not exist on the brokers (%s): create it "
                                 "(handover-topic create) or give another with -t",
                                 p->topic, rd_kafka_err2str(kerr));
        if (err)
                ho_debug("%s (the delivery reports will tell)", why);
        return HO_OK;
}

rd_kafka_t *ho_producer_handle(ho_producer_t *p) {
        return p->rk;
}

void ho_producer_set_confluent(ho_producer_t *p, int32_t id) {
        p->confluent = true;
        p->confluent_id = id;
}

static ho_err_t producer_send(ho_producer_t *p, const void *key, size_t key_len, const void *value,
                              size_t value_len, int64_t timestamp, ho_pos_t pos, int msgflags,
                              const volatile sig_atomic_t *stop, char *errstr, size_t errstr_size) {
        if (p->confluent) {
                /* the same datum behind the registry's header; librdkafka copies it */
                ho_buf_reset(&p->frame);
                ho_err_t e = ho_confluent_frame(value, value_len, p->confluent_id, &p->frame);
                if (e)
                        return ho_seterr(errstr, errstr_size,
                                         e == HO_ERR_NOMEM ? e : HO_ERR_INVALID,
                                         "cannot reframe a value for the registry: %s",
                                         ho_err2str(e));
                value = p->frame.data;
                value_len = p->frame.len;
                msgflags = RD_KAFKA_MSG_F_COPY;
        }
        for (;;) {
                rd_kafka_resp_err_t err = rd_kafka_producev(
                        p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_MSGFLAGS(msgflags),
                        RD_KAFKA_V_KEY((void *)key, key_len),
                        RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_TIMESTAMP(timestamp),
                        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)pos), RD_KAFKA_V_END);
                if (!err) {
                        p->st.enqueued++;
                        return HO_OK;
                }
                if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        /* Back-pressure: serve delivery reports until there is room. */
                        if (stop && *stop)
                                return ho_seterr(errstr, errstr_size, HO_ERR_INTERRUPTED,
                                                 "interrupted while the queue was full");
                        rd_kafka_poll(p->rk, 100);
                        continue;
                }
                if (err == RD_KAFKA_RESP_ERR__FATAL) {
                        char fatal[512];
                        rd_kafka_fatal_error(p->rk, fatal, sizeof(fatal));
                        p->fatal = true;
                        return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                         "cannot send to topic \"%s\": fatal error: %s", p->topic,
                                         fatal);
                }
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "cannot send to topic \"%s\": %s", p->topic,
                                 rd_kafka_err2str(err));
        }
}

ho_err_t ho_producer_send(ho_producer_t *p, const void *key, size_t key_len, const void *value,
                          size_t value_len, int64_t timestamp, ho_pos_t pos,
                          const volatile sig_atomic_t *stop, char *errstr, size_t errstr_size) {
        return producer_send(p, key, key_len, value, value_len, timestamp, pos, RD_KAFKA_MSG_F_COPY,
                             stop, errstr, errstr_size);
}

ho_err_t ho_producer_send_spooled(ho_producer_t *p, ho_spool_t *sp, const ho_spool_rec_t *rec,
                                  const volatile sig_atomic_t *stop, char *errstr,
                                  size_t errstr_size) {
        ho_err_t err;

        p->spool = sp;
        /* librdkafka always copies the key; a mapped value is only pointed to */
        err = producer_send(p, rec->key, rec->key_len, rec->value, rec->value_len, rec->timestamp,
                            rec->pos, rec->mapped ? 0 : RD_KAFKA_MSG_F_COPY, stop, errstr,
                            errstr_size);
        /* a reframed value was copied: the mapped one is free at once */
        if ((err || p->confluent) && rec->mapped)
                ho_spool_release(sp, rec->value);
        return err;
}

void ho_producer_poll(ho_producer_t *p, int timeout_ms) {
        rd_kafka_poll(p->rk, timeout_ms);
}

uint64_t ho_producer_flush(ho_producer_t *p, int timeout_ms) {
        uint64_t before = p->st.failed;

        /* in slices, so an error nothing can fix (conf.h) ends the wait at once */
        for (int left = timeout_ms;
             left > 0 && !p->fatal && !p->kw.fatal && rd_kafka_outq_len(p->rk) > 0; left -= 100)
                rd_kafka_flush(p->rk, left < 100 ? left : 100);
        if (rd_kafka_outq_len(p->rk) == 0)
                return 0;
        /* Out of time: take back what is still queued or in flight, so each
         * such message gets a delivery report (an error) and is counted. */
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        for (int i = 0; i < 50 && rd_kafka_outq_len(p->rk) > 0; i++)
                rd_kafka_poll(p->rk, 100);
        return p->st.failed - before;
}

void ho_producer_stats(const ho_producer_t *p, ho_producer_stats_t *out) {
        *out = p->st;
        out->transfers = ho_tset_count(p->tset);
        out->transfers_exact = ho_tset_exact(p->tset);
}

bool ho_producer_failed(const ho_producer_t *p) {
        return p->fatal || p->kw.fatal || p->st.failed > 0;
}

void ho_producer_print_failures(const ho_producer_t *p, FILE *out) {
        char where[1100];

        for (size_t i = 0; i < p->n_fails; i++) {
                ho_pos_format(p->fails[i].pos, p->names, p->n_names, where, sizeof(where));
                fprintf(out, "%s: not delivered to \"%s\": %s\n", where, p->topic,
                        rd_kafka_err2str(p->fails[i].err));
        }
        if (p->st.failed > p->n_fails)
                fprintf(out, "and %" PRIu64 " more not delivered\n", p->st.failed - p->n_fails);
}

const char *ho_producer_last_error(const ho_producer_t *p) {
        return p->kw.fatal ? p->kw.reason : p->kw.last;
}
