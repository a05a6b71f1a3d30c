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
#include "handover/cli.h"
#include "handover/conf.h"
#include "handover/kafka.h"
#include "handover/util.h"
#include "handover/log.h"
#include "handover/redrive.h"
#include "handover/sig.h"
#include "handover/stdfd.h"

#define PROG "handover-redrive"

enum { OPT_DLQ = 256, OPT_JSON };

static void usage(FILE *fp, const char *argv0) {
        (void)argv0; /* the name is PROG */
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
        const char *dlq = NULL;
        bool json = false;
        int timeout_s = 10, opt, rc_exit = HO_EXIT_USAGE;
        ho_redrive_conf_t rc = {0};
        char errstr[1024], dlq_buf[512];
        rd_kafka_conf_t *kconf = NULL;
        ho_cli_t cli;
        if (ho_cli_init(&cli, PROG, argc, errstr, sizeof(errstr))) {
                fprintf(stderr, PROG ": %s\n", errstr);
                return HO_EXIT_FAIL;
        }
        const ho_cli_usage_t cli_usage = {usage, NULL, NULL, NULL};
        while ((opt = getopt_long(argc, argv, "b:t:X:c:T:vqhV", longopts, NULL)) != -1) {
                switch (opt) {
                case OPT_DLQ:
                        dlq = optarg;
                        break;
                case OPT_JSON:
                        json = true;
                        break;
                case 'T':
                        if (ho_parse_int(optarg, 1, 3600, &timeout_s)) {
                                snprintf(errstr, sizeof(errstr), "-T %s: expected seconds 1..3600",
                                         optarg);
                                goto usage_err;
                        }
                        break;
                default:
                        rc_exit = ho_cli_dispatch(&cli, opt, optarg, &cli_usage, errstr,
                                                  sizeof(errstr));
                        if (rc_exit != HO_CLI_NEXT)
                                goto out;
                        rc_exit = HO_EXIT_USAGE;
                }
        }
        if (ho_cli_finish(&cli, errstr, sizeof(errstr)))
                goto usage_err;
        rc.topic = cli.topic;
        const char *cmd = optind < argc ? argv[optind++] : NULL;
        bool list = cmd && !strcmp(cmd, "list"), send = cmd && !strcmp(cmd, "send");
        if (!list && !send) {
                fprintf(stderr, PROG ": %s%s%s\n", cmd ? "unknown command \"" : "missing command",
                        cmd ? cmd : " (list or send)", cmd ? "\" (expected list or send)" : "");
                usage(stderr, NULL);
                goto out;
        }
        if ((list && optind != argc) || (send && optind != argc - 1) || (send && json)) {
                snprintf(errstr, sizeof(errstr), "%s",
                         list   ? "list takes no FILE"
                         : json ? "--json is for list"
                                : "send takes one FILE");
                goto usage_err;
        }
        if (!*rc.topic) {
                snprintf(errstr, sizeof(errstr), "empty topic name");
                goto usage_err;
        }
        if (!dlq) {
                snprintf(dlq_buf, sizeof(dlq_buf), "%s%s", rc.topic, HO_DEFAULT_DLQ_SUFFIX);
                dlq = dlq_buf;
        }
        rc.dlq_topic = dlq;
        rc.timeout_ms = timeout_s * 1000;
        rc.stop = &ho_sig_stop;

        if (!ho_cli_has_brokers(&cli)) {
                snprintf(errstr, sizeof(errstr),
                         "no brokers: give -b BROKERS or set HANDOVER_BROKERS");
                goto usage_err;
        }
        if (!(kconf = ho_kafka_conf_new(list ? HO_KAFKA_READER : HO_KAFKA_PRODUCER, PROG,
                                        &cli.kafka, NULL, errstr, sizeof(errstr))))
                goto usage_err;
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
        kconf = NULL; /* taken by list and send */
        if (err)
                fprintf(stderr, PROG ": %s\n", errstr);
        rc_exit = ho_err_exit_code(err);
        goto out;

usage_err:
        fprintf(stderr, PROG ": %s\n", errstr);
        rc_exit = HO_EXIT_USAGE;
out:
        if (kconf)
                rd_kafka_conf_destroy(kconf);
        ho_cli_clear(&cli);
        return rc_exit;
}
