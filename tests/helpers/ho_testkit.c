/*
 * ho_testkit: what the integration tests need from Kafka that no handover
 * program (nor kcat) does, kept out of the programs operators run.
 *
 *   ho_testkit txn BROKERS TOPIC commit|abort FILE.jsonl
 *       send FILE's reports (validated and encoded as handover-produce does,
 *       key = transfer id, timestamp = reported_at) in ONE transaction, then
 *       commit or abort it; exit 0 once the commit or abort is acknowledged
 *   ho_testkit add-partitions BROKERS TOPIC TOTAL
 *       grow TOPIC to TOTAL partitions (CreatePartitions)
 *
 * Exit codes: 0 ok, 1 failure (said on stderr), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include "handover/buf.h"
#include "handover/codec.h"
#include "handover/input.h"
#include "handover/report.h"

#define TK_TIMEOUT_MS 30000

static int tk_usage(void) {
        fprintf(stderr, "usage: ho_testkit txn BROKERS TOPIC commit|abort FILE.jsonl\n"
                        "       ho_testkit add-partitions BROKERS TOPIC TOTAL\n");
        return 2;
}

static int tk_kerror(const char *what, rd_kafka_error_t *e) {
        fprintf(stderr, "ho_testkit: %s: %s\n", what, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return 1;
}

static int tk_txn(const char *brokers, const char *topic, const char *how, const char *path) {
        bool commit = !strcmp(how, "commit");
        if (!commit && strcmp(how, "abort"))
                return tk_usage();
        char errstr[512], tid[64];
        snprintf(tid, sizeof(tid), "ho-testkit-%d", (int)getpid());
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
            rd_kafka_conf_set(conf, "transactional.id", tid, errstr, sizeof(errstr))) {
                fprintf(stderr, "ho_testkit: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 2;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "ho_testkit: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        int rc = 1;
        ho_codec_t *codec = ho_codec_new(errstr, sizeof(errstr));
        ho_input_t *in = codec ? ho_input_open(path, 0, false, codec, errstr, sizeof(errstr))
                               : NULL;
        ho_report_t r;
        ho_report_init(&r);
        ho_buf_t val;
        ho_buf_init(&val);
        rd_kafka_error_t *e;
        if (!in) {
                fprintf(stderr, "ho_testkit: %s\n", errstr);
                goto out;
        }
        if ((e = rd_kafka_init_transactions(rk, TK_TIMEOUT_MS))) {
                rc = tk_kerror("init_transactions", e);
                goto out;
        }
        if ((e = rd_kafka_begin_transaction(rk))) {
                rc = tk_kerror("begin_transaction", e);
                goto out;
        }
        unsigned sent = 0;
        for (;;) {
                ho_pos_t pos;
                ho_input_status_t st = ho_input_next(in, &r, &pos, errstr, sizeof(errstr));
                if (st == HO_INPUT_EOF)
                        break;
                if (st != HO_INPUT_REPORT) {
                        fprintf(stderr, "ho_testkit: %s: %s\n", path, errstr);
                        goto out;
                }
                ho_buf_reset(&val);
                if (ho_codec_encode(codec, &r, &val, errstr, sizeof(errstr))) {
                        fprintf(stderr, "ho_testkit: %s: %s\n", path, errstr);
                        goto out;
                }
                rd_kafka_resp_err_t err = rd_kafka_producev(
                        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(r.transfer_id, strlen(r.transfer_id)),
                        RD_KAFKA_V_VALUE(val.data, val.len), RD_KAFKA_V_TIMESTAMP(r.reported_at),
                        RD_KAFKA_V_END);
                if (err) {
                        fprintf(stderr, "ho_testkit: produce: %s\n", rd_kafka_err2str(err));
                        goto out;
                }
                sent++;
        }
        /* an abort purges what is still queued: write the reports to the log
         * first, so the aborted ones are there for consumers to skip */
        rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, TK_TIMEOUT_MS);
        if (ferr) {
                fprintf(stderr, "ho_testkit: flush: %s\n", rd_kafka_err2str(ferr));
                goto out;
        }
        e = commit ? rd_kafka_commit_transaction(rk, TK_TIMEOUT_MS)
                   : rd_kafka_abort_transaction(rk, TK_TIMEOUT_MS);
        if (e) {
                rc = tk_kerror(commit ? "commit_transaction" : "abort_transaction", e);
                goto out;
        }
        fprintf(stderr, "ho_testkit: %u reports sent to \"%s\" in one transaction, %s\n", sent,
                topic, commit ? "committed" : "aborted");
        rc = 0;
out:
        ho_buf_free(&val);
        ho_report_clear(&r);
        ho_input_destroy(in);
        if (codec)
                ho_codec_destroy(codec);
        rd_kafka_destroy(rk);
        return rc;
}

static int tk_add_partitions(const char *brokers, const char *topic, const char *total) {
        char errstr[512];
        char *end;
        long n = strtol(total, &end, 10);
        if (*end || n < 1)
                return tk_usage();
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr))) {
                fprintf(stderr, "ho_testkit: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 2;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "ho_testkit: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(topic, (size_t)n, errstr,
                                                                  sizeof(errstr));
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_CreatePartitions(rk, &np, 1, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TK_TIMEOUT_MS);
        int rc = 1;
        if (!ev) {
                fprintf(stderr, "ho_testkit: CreatePartitions: no answer\n");
        } else if (rd_kafka_event_error(ev)) {
                fprintf(stderr, "ho_testkit: CreatePartitions: %s\n",
                        rd_kafka_event_error_string(ev));
        } else {
                size_t cnt;
                const rd_kafka_topic_result_t **res = rd_kafka_CreatePartitions_result_topics(
                        rd_kafka_event_CreatePartitions_result(ev), &cnt);
                if (cnt == 1 && rd_kafka_topic_result_error(res[0])) {
                        fprintf(stderr, "ho_testkit: CreatePartitions \"%s\": %s\n", topic,
                                rd_kafka_topic_result_error_string(res[0]));
                } else {
                        rc = 0;
                }
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_NewPartitions_destroy(np);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        return rc;
}

int main(int argc, char **argv) {
        if (argc == 6 && !strcmp(argv[1], "txn"))
                return tk_txn(argv[2], argv[3], argv[4], argv[5]);
        if (argc == 5 && !strcmp(argv[1], "add-partitions"))
                return tk_add_partitions(argv[2], argv[3], argv[4]);
        return tk_usage();
}
