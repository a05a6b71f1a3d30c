/* ktopic.c: topic existence and creation for start-up checks (see ktopic.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "handover/clock.h"
#include "handover/ktopic.h"

ho_err_t ho_ktopic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, int *partitions,
                              char *errstr, size_t errstr_size) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t kerr = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
        if (kerr)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "cannot read the brokers' topic list: %s", rd_kafka_err2str(kerr));
        *partitions = 0;
        for (int i = 0; i < md->topic_cnt; i++)
                if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err)
                        *partitions = md->topics[i].partition_cnt;
        rd_kafka_metadata_destroy(md);
        return HO_OK;
}

ho_err_t ho_ktopic_meta(rd_kafka_t *rk, const char *topic, int timeout_ms, int32_t **ids, int *n,
                        rd_kafka_resp_err_t *kerr, char *errstr, size_t errstr_size) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t dummy, *ke = kerr ? kerr : &dummy;
        *n = 0;
        if (ids)
                *ids = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (!rkt) {
                *ke = rd_kafka_last_error();
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "topic \"%s\": %s", topic,
                                 rd_kafka_err2str(*ke));
        }
        *ke = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        rd_kafka_topic_destroy(rkt);
        if (*ke)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "metadata of topic \"%s\": %s",
                                 topic, rd_kafka_err2str(*ke));
        ho_err_t err = HO_OK;
        if (md->topic_cnt != 1 || md->topics[0].err) {
                *ke = md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
                err = ho_seterr(errstr, errstr_size,
                                *ke == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                                                *ke == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION
                                        ? HO_ERR_NOT_FOUND
                                        : HO_ERR_KAFKA,
                                "metadata of topic \"%s\": %s", topic, rd_kafka_err2str(*ke));
        } else {
                *n = md->topics[0].partition_cnt;
                if (ids && !(*ids = calloc(*n ? (size_t)*n : 1, sizeof(**ids))))
                        err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                for (int i = 0; ids && *ids && i < *n; i++)
                        (*ids)[i] = md->topics[0].partitions[i].id;
        }
        rd_kafka_metadata_destroy(md);
        return err;
}

ho_err_t ho_ktopic_create(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
                          char *errstr, size_t errstr_size) {
        char rderr[512];
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, rderr,
                                                        sizeof(rderr));
        if (!nt)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "cannot create topic \"%s\": %s", topic, rderr);
        int64_t deadline = ho_mono_ms() + timeout_ms;
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk,
                                                                  RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, rderr, sizeof(rderr));
        rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
        ho_err_t err = HO_OK;
        if (!ev) {
                err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                "cannot create topic \"%s\": no answer within %d ms", topic,
                                timeout_ms);
        } else if (rd_kafka_event_error(ev)) {
                err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "cannot create topic \"%s\": %s",
                                topic, rd_kafka_event_error_string(ev));
        } else {
                size_t n = 0;
                const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(
                        rd_kafka_event_CreateTopics_result(ev), &n);
                for (size_t i = 0; i < n; i++) {
                        rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(res[i]);
                        if (terr && terr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                                err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                                "cannot create topic \"%s\": %s", topic,
                                                rd_kafka_topic_result_error_string(res[i])
                                                        ? rd_kafka_topic_result_error_string(res[i])
                                                        : rd_kafka_err2str(terr));
                }
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_NewTopic_destroy(nt);
        rd_kafka_queue_destroy(q);
        /* the controller answered; the broker we ask for metadata may learn of it later */
        while (!err) {
                int have = 0;
                int left = (int)(deadline - ho_mono_ms());
                if (ho_ktopic_partitions(rk, topic, left > 1000 ? left : 1000, &have, errstr,
                                         errstr_size) == HO_OK &&
                    have > 0)
                        break;
                if (left <= 0)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                        "topic \"%s\" was created but the brokers do not list it "
                                        "within %d ms",
                                        topic, timeout_ms);
                else
                        ho_sleep_ms(100);
        }
        return err;
}
