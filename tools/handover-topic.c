/*
 * handover-topic: create, delete and list Kafka topics through librdkafka's Admin API.
 *
 * The documented way to create handover's topics on a real cluster (docs/stack.md), and what the
 * local stack and the integration tests use on the local Kafka. Every request is bounded by -T;
 * each failure names the topic and the broker's reason.
 *
 *   handover-topic create [-b BROKERS] [-p N] [-r N] [-C k=v]... [--if-not-exists] TOPIC...
 *   handover-topic delete [-b BROKERS] [--if-exists] TOPIC...
 *   handover-topic list   [-b BROKERS]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "handover/cli.h"
#include "handover/conf.h"
#include "handover/kafka.h"
#include "handover/ktopic.h"
#include "handover/log.h"
#include "handover/util.h"

#define PROG "handover-topic"
#define MAX_CONFIGS 64

enum { OPT_IF_NOT_EXISTS = 256, OPT_IF_EXISTS };

static void usage(FILE *fp, const char *argv0) {
        (void)argv0; /* the name is PROG */
        fprintf(fp,
                "usage: " PROG
                " create [options] [-p PARTITIONS] [-r REPLICATION] [-C key=value]...\n"
                "                      [--if-not-exists] TOPIC...\n"
                "       " PROG " delete [options] [--if-exists] TOPIC...\n"
                "       " PROG " list [options]\n"
                "\n"
                "Create, delete or list Kafka topics (librdkafka Admin API).\n"
                "\n"
                "  create           new topics; a topic that already exists is an error unless\n"
                "                   --if-not-exists (then it is left as it is, with a warning when its\n"
                "                   partition count differs from -p)\n"
                "  delete           topics; an unknown topic is an error unless --if-exists\n"
                "  list             'NAME PARTITIONS' lines, sorted, internal topics (__*) left out\n"
                "\n"
                "options:\n"
                "  -b BROKERS       bootstrap brokers (env HANDOVER_BROKERS, default localhost:9092)\n"
                "  -p PARTITIONS    partitions of each new topic (default 6; -1: broker default)\n"
                "  -r REPLICATION   replication factor (default -1: broker's default.replication.factor)\n"
                "  -C key=value     topic config, e.g. -C retention.ms=-1 (repeatable)\n"
                "  -X key=value     librdkafka property (repeatable; -X list shows them)\n"
                "  -c FILE          librdkafka properties file (key=value lines;\n"
                "                   default: env HANDOVER_KAFKA_CONFIG)\n"
                "  -T SECONDS       bound on each request (default 30)\n"
                "  -v, -q           debug / errors only (env HANDOVER_LOG_LEVEL)\n"
                "  -h               this help\n"
                "  -V               versions\n"
                "\n"
                "exit codes: 0 ok, 1 runtime failure (broker unreachable, topic exists / unknown,\n"
                "refused by the broker), 2 usage\n"
                "see docs/stack.md\n");
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Partition count of an existing topic, or -1 when it cannot be read. */
static int topic_partitions(rd_kafka_t *rk, const char *name, int timeout_ms) {
        int n;
        return ho_ktopic_meta(rk, name, timeout_ms, NULL, &n, NULL, NULL, 0) == HO_OK ? n : -1;
}

/* Wait for the one result event of an admin request on q; NULL (after saying why) on timeout. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, const char *what, const char *brokers,
                                    int timeout_ms) {
        /* the request itself is bounded by timeout_ms; the margin lets its own timeout arrive */
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 5000);

        if (!ev) {
                fprintf(stderr, PROG ": %s: no answer from brokers \"%s\" within %d s\n", what,
                        brokers, timeout_ms / 1000);
                return NULL;
        }
        if (rd_kafka_event_error(ev)) {
                fprintf(stderr, PROG ": %s on brokers \"%s\": %s\n", what, brokers,
                        rd_kafka_event_error_string(ev));
                rd_kafka_event_destroy(ev);
                return NULL;
        }
        return ev;
}

static int cmd_create(rd_kafka_t *rk, const char *brokers, char **topics, int topic_cnt,
                      int partitions, int replication, char **configs, int config_cnt,
                      int if_not_exists, int timeout_ms) {
        rd_kafka_NewTopic_t **nt = calloc((size_t)topic_cnt, sizeof(*nt));
        rd_kafka_AdminOptions_t *opts = NULL;
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t *ev = NULL;
        const rd_kafka_topic_result_t **res;
        char errstr[512];
        size_t res_cnt, i;
        int j, k, failed = 0;

        if (!nt) {
                fprintf(stderr, PROG ": out of memory\n");
                failed = 1;
                goto done;
        }
        for (j = 0; j < topic_cnt; j++) {
                nt[j] = rd_kafka_NewTopic_new(topics[j], partitions, replication, errstr,
                                              sizeof(errstr));
                if (!nt[j]) {
                        fprintf(stderr, PROG ": topic \"%s\": %s\n", topics[j], errstr);
                        failed = 1;
                        goto done;
                }
                for (k = 0; k < config_cnt; k++) {
                        char *eq = strchr(configs[k], '=');
                        rd_kafka_resp_err_t err;

                        *eq = '\0'; /* checked to be there when parsing -C */
                        err = rd_kafka_NewTopic_set_config(nt[j], configs[k], eq + 1);
                        *eq = '=';
                        if (err) {
                                fprintf(stderr, PROG ": topic \"%s\": config \"%s\": %s\n",
                                        topics[j], configs[k], rd_kafka_err2str(err));
                                failed = 1;
                                goto done;
                        }
                }
        }

        opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        /* operation timeout: the controller answers only once the topics exist (or not) */
        if (rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, errstr, sizeof(errstr)) ||
            rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, errstr, sizeof(errstr))) {
                fprintf(stderr, PROG ": %s\n", errstr);
                failed = 1;
                goto done;
        }
        rd_kafka_CreateTopics(rk, nt, (size_t)topic_cnt, opts, q);
        ev = admin_wait(q, "create topics", brokers, timeout_ms);
        if (!ev) {
                failed = 1;
                goto done;
        }
        res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &res_cnt);
        for (i = 0; i < res_cnt; i++) {
                if (!res[i])
                        continue; /* see the duplicate check in main() */
                const char *name = rd_kafka_topic_result_name(res[i]);
                rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
                const char *why = rd_kafka_topic_result_error_string(res[i]);

                if (!err) {
                        fprintf(stderr, PROG ": created topic \"%s\"\n", name);
                } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && if_not_exists) {
                        int have = topic_partitions(rk, name, timeout_ms);

                        if (partitions > 0 && have > 0 && have != partitions)
                                fprintf(stderr,
                                        PROG ": warning: topic \"%s\" already exists with %d "
                                             "partitions (not %d); left as it is\n",
                                        name, have, partitions);
                        else
                                fprintf(stderr, PROG ": topic \"%s\" already exists\n", name);
                } else {
                        fprintf(stderr, PROG ": cannot create topic \"%s\": %s%s\n", name,
                                why ? why : rd_kafka_err2str(err),
                                err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
                                        ? " (use --if-not-exists to accept an existing topic)"
                                        : "");
                        failed = 1;
                }
        }
done:
        if (ev)
                rd_kafka_event_destroy(ev);
        if (opts)
                rd_kafka_AdminOptions_destroy(opts);
        if (nt) {
                for (j = 0; j < topic_cnt; j++)
                        if (nt[j])
                                rd_kafka_NewTopic_destroy(nt[j]);
                free(nt);
        }
        rd_kafka_queue_destroy(q);
        return failed ? HO_EXIT_FAIL : HO_EXIT_OK;
}

static int cmd_delete(rd_kafka_t *rk, const char *brokers, char **topics, int topic_cnt,
                      int if_exists, int timeout_ms) {
        rd_kafka_DeleteTopic_t **dt = calloc((size_t)topic_cnt, sizeof(*dt));
        rd_kafka_AdminOptions_t *opts = NULL;
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t *ev = NULL;
        const rd_kafka_topic_result_t **res;
        char errstr[512];
        size_t res_cnt, i;
        int j, failed = 0;

        if (!dt) {
                fprintf(stderr, PROG ": out of memory\n");
                failed = 1;
                goto done;
        }
        for (j = 0; j < topic_cnt; j++)
                dt[j] = rd_kafka_DeleteTopic_new(topics[j]);
        opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
        if (rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, errstr, sizeof(errstr)) ||
            rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, errstr, sizeof(errstr))) {
                fprintf(stderr, PROG ": %s\n", errstr);
                failed = 1;
                goto done;
        }
        rd_kafka_DeleteTopics(rk, dt, (size_t)topic_cnt, opts, q);
        ev = admin_wait(q, "delete topics", brokers, timeout_ms);
        if (!ev) {
                failed = 1;
                goto done;
        }
        res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &res_cnt);
        for (i = 0; i < res_cnt; i++) {
                if (!res[i])
                        continue; /* see the duplicate check in main() */
                const char *name = rd_kafka_topic_result_name(res[i]);
                rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
                const char *why = rd_kafka_topic_result_error_string(res[i]);

                if (!err) {
                        fprintf(stderr, PROG ": deleted topic \"%s\"\n", name);
                } else if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && if_exists) {
                        fprintf(stderr, PROG ": topic \"%s\" does not exist\n", name);
                } else {
                        fprintf(stderr, PROG ": cannot delete topic \"%s\": %s\n", name,
                                why ? why : rd_kafka_err2str(err));
                        failed = 1;
                }
        }
done:
        if (ev)
                rd_kafka_event_destroy(ev);
        if (opts)
                rd_kafka_AdminOptions_destroy(opts);
        if (dt) {
                for (j = 0; j < topic_cnt; j++)
                        rd_kafka_DeleteTopic_destroy(dt[j]);
                free(dt);
        }
        rd_kafka_queue_destroy(q);
        return failed ? HO_EXIT_FAIL : HO_EXIT_OK;
}

static int cmd_list(rd_kafka_t *rk, const char *brokers, int timeout_ms) {
        const struct rd_kafka_metadata *md;
        rd_kafka_resp_err_t err;
        const char **names;
        int i, n = 0;

        err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
        if (err) {
                fprintf(stderr, PROG ": cannot list topics on brokers \"%s\": %s\n", brokers,
                        rd_kafka_err2str(err));
                return HO_EXIT_FAIL;
        }
        names = calloc((size_t)md->topic_cnt + 1, sizeof(*names));
        if (!names) {
                rd_kafka_metadata_destroy(md);
                fprintf(stderr, PROG ": out of memory\n");
                return HO_EXIT_FAIL;
        }
        for (i = 0; i < md->topic_cnt; i++)
                if (strncmp(md->topics[i].topic, "__", 2) != 0)
                        names[n++] = md->topics[i].topic;
        qsort(names, (size_t)n, sizeof(*names), cmp_str);
        for (i = 0; i < n; i++) {
                int j;

                for (j = 0; j < md->topic_cnt; j++)
                        if (md->topics[j].topic == names[i])
                                printf("%s %d\n", names[i], md->topics[j].partition_cnt);
        }
        free(names);
        rd_kafka_metadata_destroy(md);
        return HO_EXIT_OK;
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                {"if-not-exists", no_argument, NULL, OPT_IF_NOT_EXISTS},
                {"if-exists", no_argument, NULL, OPT_IF_EXISTS},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        const char *brokers, *cmd;
        char file_brokers[1024];
        ho_cli_t cli;
        char *configs[MAX_CONFIGS];
        int config_cnt = 0, partitions = 6, replication = -1, timeout_s = 30;
        int if_not_exists = 0, if_exists = 0, opt, rc;
        char errstr[1024];
        rd_kafka_conf_t *conf = NULL;
        rd_kafka_t *rk;

        ho_log_init(PROG);
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
                usage(stdout, NULL);
                return HO_EXIT_OK;
        }
        if (argc >= 2 && !strcmp(argv[1], "-V")) {
                ho_print_version(stdout, PROG);
                return HO_EXIT_OK;
        }
        if (argc < 2 ||
            (strcmp(argv[1], "create") && strcmp(argv[1], "delete") && strcmp(argv[1], "list"))) {
                if (argc >= 2)
                        fprintf(stderr,
                                PROG ": unknown command \"%s\": expected create, delete "
                                     "or list\n",
                                argv[1]);
                usage(stderr, NULL);
                return HO_EXIT_USAGE;
        }
        cmd = argv[1];
        argv++;
        argc--;
        if (ho_cli_init(&cli, PROG, argc, errstr, sizeof(errstr))) {
                fprintf(stderr, PROG ": %s\n", errstr);
                return HO_EXIT_FAIL;
        }

        /* getopt has said which option: nothing more */
        const ho_cli_usage_t cli_usage = {usage, NULL, NULL, ""};
        /* -p and -r are this tool's partitions and replication, not a prefix and Redis */
        while ((opt = getopt_long(argc, argv, "b:p:r:C:X:c:T:vqhV", longopts, NULL)) != -1) {
                switch (opt) {
                case 'p':
                        if (ho_parse_int(optarg, -1, 100000, &partitions) || partitions == 0) {
                                fprintf(stderr,
                                        PROG ": -p \"%s\": expected a partition count "
                                             "1..100000 or -1\n",
                                        optarg);
                                goto usage_err;
                        }
                        break;
                case 'r':
                        if (ho_parse_int(optarg, -1, 1000, &replication) || replication == 0) {
                                fprintf(stderr,
                                        PROG ": -r \"%s\": expected a replication factor "
                                             "1..1000 or -1\n",
                                        optarg);
                                goto usage_err;
                        }
                        break;
                case 'C':
                        if (!strchr(optarg, '=') || optarg[0] == '=') {
                                fprintf(stderr, PROG ": -C \"%s\": expected key=value\n", optarg);
                                goto usage_err;
                        }
                        if (config_cnt == MAX_CONFIGS) {
                                fprintf(stderr, PROG ": too many -C (at most %d)\n", MAX_CONFIGS);
                                goto usage_err;
                        }
                        configs[config_cnt++] = optarg;
                        break;
                case 'T':
                        if (ho_parse_int(optarg, 1, 3600, &timeout_s)) {
                                fprintf(stderr, PROG ": -T \"%s\": expected seconds 1..3600\n",
                                        optarg);
                                goto usage_err;
                        }
                        break;
                case OPT_IF_NOT_EXISTS:
                        if_not_exists = 1;
                        break;
                case OPT_IF_EXISTS:
                        if_exists = 1;
                        break;
                default:
                        rc = ho_cli_dispatch(&cli, opt, optarg, &cli_usage, errstr, sizeof(errstr));
                        if (rc != HO_CLI_NEXT) {
                                ho_cli_clear(&cli);
                                return rc;
                        }
                }
        }
        if (!strcmp(cmd, "list") ? optind != argc : optind == argc) {
                fprintf(stderr, PROG " %s: %s\n", cmd,
                        optind == argc ? "expected at least one TOPIC" : "takes no TOPIC");
                goto usage_err;
        }
        /* librdkafka 2.0.2 answers a request naming a topic twice with NULL results
         * (a crash in rd_kafka_topic_result_name): refuse it here, as the broker would */
        for (int a = optind; a < argc; a++)
                for (int b = a + 1; b < argc; b++)
                        if (!strcmp(argv[a], argv[b])) {
                                fprintf(stderr, PROG " %s: topic \"%s\" named twice\n", cmd,
                                        argv[a]);
                                goto usage_err;
                        }
        if ((if_not_exists && strcmp(cmd, "create")) || (if_exists && strcmp(cmd, "delete"))) {
                fprintf(stderr,
                        PROG " %s: --if-not-exists goes with create, --if-exists with "
                             "delete\n",
                        cmd);
                goto usage_err;
        }

        if (ho_cli_finish(&cli, errstr, sizeof(errstr)) ||
            !(conf = ho_kafka_conf_new(HO_KAFKA_ADMIN, PROG, &cli.kafka, NULL, errstr,
                                       sizeof(errstr)))) {
                fprintf(stderr, PROG ": %s\n", errstr);
                goto usage_err;
        }
        /* with no -b, HANDOVER_BROKERS nor bootstrap.servers in a file: localhost */
        if (!ho_kafka_conf_has_brokers(conf) &&
            rd_kafka_conf_set(conf, "bootstrap.servers", "localhost:9092", errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, PROG ": %s\n", errstr);
                goto usage_err;
        }
        {
                size_t vsz = sizeof(file_brokers);
                if (rd_kafka_conf_get(conf, "bootstrap.servers", file_brokers, &vsz) !=
                    RD_KAFKA_CONF_OK)
                        snprintf(file_brokers, sizeof(file_brokers), "?");
                brokers = file_brokers; /* for messages */
        }
        ho_kafka_watch_t kw;
        ho_kafka_conf_watch(conf, &kw, NULL);
        rk = ho_kafka_new(RD_KAFKA_PRODUCER, conf, "the Kafka client", errstr, sizeof(errstr));
        conf = NULL; /* taken */
        if (!rk) {
                fprintf(stderr, PROG ": %s\n", errstr);
                ho_cli_clear(&cli);
                return HO_EXIT_FAIL;
        }
        ho_conf_hide_argv(optind, argv); /* the topic names after optind stay */

        if (!strcmp(cmd, "create"))
                rc = cmd_create(rk, brokers, argv + optind, argc - optind, partitions, replication,
                                configs, config_cnt, if_not_exists, timeout_s * 1000);
        else if (!strcmp(cmd, "delete"))
                rc = cmd_delete(rk, brokers, argv + optind, argc - optind, if_exists,
                                timeout_s * 1000);
        else
                rc = cmd_list(rk, brokers, timeout_s * 1000);
        rd_kafka_poll(rk, 0); /* serves the error callback: kw */
        if (rc != HO_EXIT_OK && kw.fatal)
                fprintf(stderr, PROG ": %s\n", kw.reason);
        rd_kafka_destroy(rk);
        ho_cli_clear(&cli);
        return rc;

usage_err:
        if (conf)
                rd_kafka_conf_destroy(conf);
        ho_cli_clear(&cli);
        return HO_EXIT_USAGE;
}
