/*
 * handover-devbroker: a zero-dependency Kafka for trying handover on one machine.
 *
 * It hosts librdkafka's own mock cluster (rdkafka_mock.h) on loopback, creates the topics, prints
 * the bootstrap address as its one line on stdout, and runs until SIGINT/SIGTERM. Any Kafka client
 * (handover's programs, kcat) can produce, consume and join consumer groups against it.
 *
 * Its limits, plainly: everything is in memory (gone when it stops), and the mock trims each
 * partition's oldest messages once it holds about 5 MB (or 100000 produce batches), so it is no
 * place for large histories or replays. No CreateTopics/DeleteTopics: the topics are the ones named
 * here (or auto-created with the mock's defaults when a client asks for an unknown topic). Tests use
 * the real Kafka
 * (deploy/local/stack up --broker kafka). See docs/stack.md.
 *
 * This file needs only librdkafka (no lib/): deploy/local/stack compiles it alone when there is no
 * build yet.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include "handover/util.h"
#include <librdkafka/rdkafka_mock.h>

#ifndef HO_VERSION
#define HO_VERSION "unknown"
#endif

#define PROG "handover-devbroker"
#define MAX_TOPICS 64

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

static void usage(FILE *fp) {
        fprintf(fp,
                "usage: " PROG " [-p PARTITIONS] [-t TOPIC]... [-B BROKERS]\n"
                "\n"
                "Runs librdkafka's in-memory mock Kafka cluster on 127.0.0.1, creates the topics,\n"
                "prints the bootstrap address (one line on stdout) and serves until SIGINT/SIGTERM.\n"
                "\n"
                "  -p PARTITIONS  partitions of each topic (default 6)\n"
                "  -t TOPIC       topic to create; repeatable (default: handover.transfers and\n"
                "                 handover.transfers.dlq)\n"
                "  -B BROKERS     number of mock brokers (default 1)\n"
                "  -h             this help\n"
                "  -V             versions\n"
                "\n"
                "Limits: in memory only (lost when it stops); each partition keeps about the last\n"
                "5 MB of messages, older ones are trimmed: no place for large histories or replays.\n"
                "For tests and benchmarks use the real Kafka: deploy/local/stack up --broker kafka.\n"
                "\n"
                "exit codes: 0 stopped by a signal, 1 runtime failure, 2 usage\n");
}

/* Parse a decimal int in [lo, hi]; -1 when it is not one. */
/* A count in lo..hi (lo > 0), or -1. */
static int parse_int(const char *s, int lo, int hi) {
        int v;
        return ho_parse_int(s, lo, hi, &v) ? -1 : v;
}

int main(int argc, char **argv) {
        const char *topics[MAX_TOPICS];
        int topic_cnt = 0, partitions = 6, brokers = 1, opt, i;
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mcluster;
        struct sigaction sa;

        while ((opt = getopt(argc, argv, "p:t:B:hV")) != -1) {
                switch (opt) {
                case 'p':
                        partitions = parse_int(optarg, 1, 10000);
                        if (partitions < 0) {
                                fprintf(stderr,
                                        PROG ": -p \"%s\": expected a partition count 1..10000\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 't':
                        if (topic_cnt == MAX_TOPICS) {
                                fprintf(stderr, PROG ": too many -t topics (at most %d)\n",
                                        MAX_TOPICS);
                                return 2;
                        }
                        if (!*optarg) {
                                fprintf(stderr, PROG ": -t: expected a topic name, got \"\"\n");
                                return 2;
                        }
                        topics[topic_cnt++] = optarg;
                        break;
                case 'B':
                        brokers = parse_int(optarg, 1, 16);
                        if (brokers < 0) {
                                fprintf(stderr, PROG ": -B \"%s\": expected a broker count 1..16\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        printf(PROG " %s (librdkafka %s)\n", HO_VERSION, rd_kafka_version_str());
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, PROG ": unexpected argument \"%s\" (see -h)\n", argv[optind]);
                return 2;
        }
        if (topic_cnt == 0) {
                topics[topic_cnt++] = "handover.transfers";
                topics[topic_cnt++] = "handover.transfers.dlq";
        }

        /* The mock cluster lives inside an ordinary client handle; this producer never produces, it
         * only owns the cluster's threads. */
        conf = rd_kafka_conf_new();
        /* log_level 4: warnings and worse; the handle's notice that it has no bootstrap.servers
         * (it needs none) would only confuse */
        if (rd_kafka_conf_set(conf, "client.id", PROG, errstr, sizeof(errstr)) !=
                    RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, PROG ": %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, PROG ": cannot create the client handle: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        conf = NULL; /* owned by rk now */

        mcluster = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mcluster) {
                fprintf(stderr, PROG ": cannot create the mock cluster (no loopback listener?)\n");
                rd_kafka_destroy(rk);
                return 1;
        }
        for (i = 0; i < topic_cnt; i++) {
                rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster, topics[i],
                                                                     partitions, 1);
                if (err) {
                        fprintf(stderr, PROG ": cannot create topic \"%s\" (%d partitions): %s\n",
                                topics[i], partitions, rd_kafka_err2str(err));
                        rd_kafka_mock_cluster_destroy(mcluster);
                        rd_kafka_destroy(rk);
                        return 1;
                }
        }

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* the one line of stdout: whoever started us reads the address from it */
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);
        fprintf(stderr, PROG ": serving %d topic(s) with %d partition(s) at %s (librdkafka %s)\n",
                topic_cnt, partitions, rd_kafka_mock_cluster_bootstraps(mcluster),
                rd_kafka_version_str());

        while (!stop_requested) {
                /* serves the handle's own callbacks (logs); the mock brokers run on their threads */
                rd_kafka_poll(rk, 200);
        }

        fprintf(stderr, PROG ": stopping\n");
        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
