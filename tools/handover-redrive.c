/*
 * handover-redrive: the dead letters, for operators (lib/redrive.c does the work).
 *
 *   handover-redrive list [--json] [-b BROKERS] [-t TOPIC | --dlq DLQ]
 *   handover-redrive send [-b BROKERS] [-t TOPIC] FILE
 *
 * list prints what the dead letter topic holds, to edit; send validates the
 * corrected reports like handover-produce and sends them to the main topic,
 * where the workers count each report id once.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "handover/conf.h"
#include "handover/log.h"
#include "handover/redrive.h"
#include "handover/sig.h"
#include "handover/stdfd.h"

#define PROG "handover-redrive"

enum { OPT_DLQ = 256, OPT_JSON };

static void usage(FILE *fp) {
        fprintf(fp,
                "usage: " PROG " list [options] [--json]\n"
                "       " PROG " send [options] FILE\n"
                "\n"
                "The dead letter topic, for operators.\n"
                "\n"
                "  list         every dead letter, from the topic's start to its end now: where it\n"
                "               is, where it came from, why it was refused, its key and value (hex;\n"
                "               text when it is UTF-8; the report when it decodes); --json: one JSON\n"
                "               object per line. Reads only: no group offsets are committed\n"
                "  send FILE    corrected reports (JSON Lines, or an Avro container file), all\n"
                "               validated first as handover-produce does (one bad record: nothing\n"
                "               sent), then sent to the main topic (key transfer_id, timestamp\n"
                "               reported_at), every delivery checked; a report keeps its report_id\n"
                "               (or derives it from its content), so sending a fix twice counts once\n"
                "\n"
                "options:\n"
                "  -b BROKERS   bootstrap brokers (default $HANDOVER_BROKERS)\n"
                "  -t TOPIC     main topic (default $HANDOVER_TOPIC or handover.transfers)\n"
                "  --dlq TOPIC  dead letter topic (default TOPIC.dlq)\n"
                "  -X key=value librdkafka property (repeatable); -X list shows them\n"
                "  -c FILE      librdkafka properties file (key=value lines)\n"
                "  -T SECONDS   bound on each metadata request and on a silent topic (default 10)\n"
                "  -v, -q       debug / errors only (env HANDOVER_LOG_LEVEL)\n"
                "  -h, -V       this help, versions\n"
                "\n"
                "exit codes: 0 ok, 1 runtime failure (a topic missing or unreachable, a report\n"
                "invalid or not delivered, an unreadable FILE), 2 usage\n"
                "see docs/redrive.md\n");
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                {"dlq", required_argument, NULL, OPT_DLQ},
                {"json", no_argument, NULL, OPT_JSON},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0},
        };
        if (ho_stdfd_guard() != 0) /* before anything opens a descriptor */
                return 1;
        ho_log_init(PROG);
        const char *brokers = NULL, *dlq = NULL, *conf_file = NULL;
        const char **xs = calloc((size_t)argc + 1, sizeof(*xs));
        size_t n_xs = 0;
        bool json = false;
        int timeout_s = 10, opt;
        ho_redrive_conf_t rc = {.topic = ho_env("HANDOVER_TOPIC", HO_DEFAULT_TOPIC)};
        char errstr[1024], dlq_buf[512];
        if (!xs) {
                fprintf(stderr, PROG ": out of memory\n");
                return 1;
        }
        while ((opt = getopt_long(argc, argv, "b:t:X:c:T:vqhV", longopts, NULL)) != -1) {
                switch (opt) {
                case 'b':
                        brokers = optarg;
                        break;
                case 't':
                        rc.topic = optarg;
                        break;
                case OPT_DLQ:
                        dlq = optarg;
                        break;
                case OPT_JSON:
                        json = true;
                        break;
                case 'X':
                        if (!strcmp(optarg, "list")) {
                                ho_conf_kafka_list(stdout);
                                free(xs);
                                return 0;
                        }
                        xs[n_xs++] = optarg;
                        break;
                case 'c':
                        conf_file = optarg;
                        break;
                case 'T': {
                        char *end;
                        long v = strtol(optarg, &end, 10);
                        if (*end || v < 1 || v > 3600) {
                                fprintf(stderr, PROG ": -T %s: expected seconds 1..3600\n", optarg);
                                free(xs);
                                return 2;
                        }
                        timeout_s = (int)v;
                        break;
                }
                case 'v':
                        ho_log_set_level(HO_LOG_DEBUG);
                        break;
                case 'q':
                        ho_log_set_level(HO_LOG_ERROR);
                        break;
                case 'h':
                        usage(stdout);
                        free(xs);
                        return 0;
                case 'V':
                        ho_print_version(stdout, PROG);
                        free(xs);
                        return 0;
                default:
                        usage(stderr);
                        free(xs);
                        return 2;
                }
        }
        const char *cmd = optind < argc ? argv[optind++] : NULL;
        bool list = cmd && !strcmp(cmd, "list"), send = cmd && !strcmp(cmd, "send");
        if (!list && !send) {
                fprintf(stderr, PROG ": %s%s%s\n", cmd ? "unknown command \"" : "missing command",
                        cmd ? cmd : " (list or send)", cmd ? "\" (expected list or send)" : "");
                usage(stderr);
                free(xs);
                return 2;
        }
        if ((list && optind != argc) || (send && optind != argc - 1) || (send && json)) {
                fprintf(stderr, PROG ": %s\n",
                        list ? "list takes no FILE" : json ? "--json is for list" : "send takes one FILE");
                free(xs);
                return 2;
        }
        if (!*rc.topic) {
                fprintf(stderr, PROG ": empty topic name\n");
                free(xs);
                return 2;
        }
        if (!dlq) {
                snprintf(dlq_buf, sizeof(dlq_buf), "%s%s", rc.topic, HO_DEFAULT_DLQ_SUFFIX);
                dlq = dlq_buf;
        }
        rc.dlq_topic = dlq;
        rc.timeout_ms = timeout_s * 1000;
        rc.stop = &ho_sig_stop;

        rd_kafka_conf_t *kconf = rd_kafka_conf_new();
        char rderr[512];
        if (!brokers)
                brokers = ho_env("HANDOVER_BROKERS", NULL);
        if (!brokers) {
                snprintf(errstr, sizeof(errstr), "no brokers: give -b BROKERS or set HANDOVER_BROKERS");
                goto usage_err;
        }
        if (rd_kafka_conf_set(kconf, "bootstrap.servers", brokers, rderr, sizeof(rderr))) {
                snprintf(errstr, sizeof(errstr), "%s", rderr);
                goto usage_err;
        }
        rd_kafka_conf_set(kconf, "client.id", PROG, rderr, sizeof(rderr));
        if (conf_file && ho_conf_kafka_file(kconf, conf_file, errstr, sizeof(errstr)))
                goto usage_err;
        for (size_t i = 0; i < n_xs; i++)
                if (ho_conf_kafka_set(kconf, xs[i], errstr, sizeof(errstr)))
                        goto usage_err;
        free(xs);
        ho_sig_install();

        uint64_t n = 0;
        ho_err_t err;
        if (list) {
                err = ho_redrive_list(&rc, kconf, json ? HO_REDRIVE_JSON : HO_REDRIVE_TEXT, stdout,
                                      &n, errstr, sizeof(errstr));
                if (!err)
                        fprintf(stderr, PROG ": %llu dead letter%s in \"%s\"\n",
                                (unsigned long long)n, n == 1 ? "" : "s", rc.dlq_topic);
        } else {
                err = ho_redrive_send(&rc, kconf, argv[optind], stderr, &n, errstr, sizeof(errstr));
                fprintf(stderr, PROG ": sent %llu corrected report%s to \"%s\"\n",
                        (unsigned long long)n, n == 1 ? "" : "s", rc.topic);
        }
        if (err) {
                fprintf(stderr, PROG ": %s\n", errstr);
                return err == HO_ERR_USAGE ? 2 : 1;
        }
        return 0;

usage_err:
        fprintf(stderr, PROG ": %s\n", errstr);
        rd_kafka_conf_destroy(kconf);
        free(xs);
        return 2;
}
