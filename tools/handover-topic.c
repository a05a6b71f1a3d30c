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
#include "handover/conf.h"

#define PROG "handover-topic"
#define MAX_CONFIGS 64

enum { OPT_IF_NOT_EXISTS = 256, OPT_IF_EXISTS };

static void usage(FILE *fp) {
        fprintf(fp,
                "usage: " PROG " create [options] [-p PARTITIONS] [-r REPLICATION] [-C key=value]...\n"
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
                "  -h               this help\n"
                "  -V               versions\n"
                "\n"
                "exit codes: 0 ok, 1 runtime failure (broker unreachable, topic exists / unknown,\n"
                "refused by the broker), 2 usage\n"
                "see docs/stack.md\n");
}

/* Parse a decimal int in [lo, hi] into *out; 0 on success, -1 otherwise. */
static int parse_int(const char *s, long lo, long hi, int *out) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < lo || v > hi)
                return -1;
        *out = (int)v;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Partition count of an existing topic, or -1 when it cannot be read. */
static int topic_partitions(rd_kafka_t *rk, const char *name, int timeout_ms) {
        const struct rd_kafka_metadata *md;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
        int cnt = -1;

        if (!rkt)
                return -1;
        if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (md->topic_cnt == 1 && !md->topics[0].err)
                        cnt = md->topics[0].partition_cnt;
                rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(rkt);
        return cnt;
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
        const char *brokers = ho_env("HANDOVER_BROKERS", "localhost:9092"), *cmd;
        bool brokers_given = ho_env("HANDOVER_BROKERS", NULL) != NULL;
        char file_brokers[1024];
        char *configs[MAX_CONFIGS];
        int config_cnt = 0, partitions = 6, replication = -1, timeout_s = 30;
        int if_not_exists = 0, if_exists = 0, opt, rc;
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;

        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
                usage(stdout);
                rd_kafka_conf_destroy(conf);
                return HO_EXIT_OK;
        }
        if (argc >= 2 && !strcmp(argv[1], "-V")) {
                ho_print_version(stdout, PROG);
                rd_kafka_conf_destroy(conf);
                return HO_EXIT_OK;
        }
        if (argc < 2 || (strcmp(argv[1], "create") && strcmp(argv[1], "delete") &&
                         strcmp(argv[1], "list"))) {
                if (argc >= 2)
                        fprintf(stderr, PROG ": unknown command \"%s\": expected create, delete "
                                            "or list\n", argv[1]);
                usage(stderr);
                rd_kafka_conf_destroy(conf);
                return HO_EXIT_USAGE;
        }
        cmd = argv[1];
        argv++;
        argc--;
        /* -X and -c in order, applied after the default -c (conf.h); at most
         * one per argument */
        ho_conf_kprop_t kprops[argc];
        size_t n_kprops = 0;

        while ((opt = getopt_long(argc, argv, "b:p:r:C:X:c:T:hV", longopts, NULL)) != -1) {
                switch (opt) {
                case 'b':
                        brokers = optarg;
                        brokers_given = true;
                        break;
                case 'p':
                        if (parse_int(optarg, -1, 100000, &partitions) || partitions == 0) {
                                fprintf(stderr, PROG ": -p \"%s\": expected a partition count "
                                                    "1..100000 or -1\n", optarg);
                                goto usage_err;
                        }
                        break;
                case 'r':
                        if (parse_int(optarg, -1, 1000, &replication) || replication == 0) {
                                fprintf(stderr, PROG ": -r \"%s\": expected a replication factor "
                                                    "1..1000 or -1\n", optarg);
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
                case 'X':
                        if (!strcmp(optarg, "list")) {
                                ho_conf_kafka_list(stdout);
                                rd_kafka_conf_destroy(conf);
                                return HO_EXIT_OK;
                        }
                        kprops[n_kprops++] = (ho_conf_kprop_t){false, optarg};
                        break;
                case 'c':
                        kprops[n_kprops++] = (ho_conf_kprop_t){true, optarg};
                        break;
                case 'T':
                        if (parse_int(optarg, 1, 3600, &timeout_s)) {
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
                case 'h':
                        usage(stdout);
                        rd_kafka_conf_destroy(conf);
                        return HO_EXIT_OK;
                case 'V':
                        ho_print_version(stdout, PROG);
                        rd_kafka_conf_destroy(conf);
                        return HO_EXIT_OK;
                default:
                        goto usage_err;
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
                fprintf(stderr, PROG " %s: --if-not-exists goes with create, --if-exists with "
                                     "delete\n", cmd);
                goto usage_err;
        }

        if (ho_conf_kafka_apply(conf, kprops, n_kprops, errstr, sizeof(errstr))) {
                fprintf(stderr, PROG ": %s%s\n",
                        ho_conf_kafka_default_file(kprops, n_kprops) ? "HANDOVER_KAFKA_CONFIG: " : "",
                        errstr);
                goto usage_err;
        }
        {
                /* the file's bootstrap.servers beats the localhost default, not -b or the env */
                char v[1024];
                size_t vsz = sizeof(v);
                if (!brokers_given &&
                    rd_kafka_conf_get(conf, "bootstrap.servers", v, &vsz) == RD_KAFKA_CONF_OK &&
                    v[0] && strlen(v) < sizeof(file_brokers)) {
                        strcpy(file_brokers, v);
                        brokers = file_brokers;
                }
        }
        if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
            rd_kafka_conf_set(conf, "client.id", PROG, errstr, sizeof(errstr))) {
                fprintf(stderr, PROG ": %s\n", errstr);
                goto usage_err;
        }
        ho_kafka_auth_t auth;
        ho_conf_kafka_auth_watch(conf, &auth);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, PROG ": cannot create the Kafka client: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return HO_EXIT_FAIL;
        }
        conf = NULL; /* owned by rk */
        ho_conf_hide_argv(optind, argv); /* the topic names after optind stay */

        if (!strcmp(cmd, "create"))
                rc = cmd_create(rk, brokers, argv + optind, argc - optind, partitions, replication,
                                configs, config_cnt, if_not_exists, timeout_s * 1000);
        else if (!strcmp(cmd, "delete"))
                rc = cmd_delete(rk, brokers, argv + optind, argc - optind, if_exists,
                                timeout_s * 1000);
        else
                rc = cmd_list(rk, brokers, timeout_s * 1000);
        rd_kafka_poll(rk, 0); /* serves the error callback: auth */
        if (rc != HO_EXIT_OK && auth.failed)
                fprintf(stderr, PROG ": %s\n", auth.reason);
        rd_kafka_destroy(rk);
        return rc;

usage_err:
        rd_kafka_conf_destroy(conf);
        return HO_EXIT_USAGE;
}
