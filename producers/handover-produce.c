/*
 * handover-produce: validate reports and send them to Kafka, each once,
 * Avro single-object encoded, keyed by transfer_id, timestamped with
 * reported_at. Flags and wiring; the run itself is ho_produce_run() (lib/produce.c).
 *
 * Named files are validated whole before anything is sent (pass 1 encodes
 * every record into a spool file, pass 2 sends the spool), so a file with one
 * bad line sends nothing. Standard input and --follow are streams: each line
 * is validated, then sent.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "handover/codec.h"
#include "handover/cli.h"
#include "handover/conf.h"
#include "handover/kafka.h"
#include "handover/log.h"
#include "handover/produce.h"
#include "handover/registry.h"
#include "handover/sig.h"
#include "handover/stdfd.h"

#define PROG "handover-produce"

static void usage(FILE *fp, const char *argv0) {
        (void)argv0; /* the name is PROG */
        fprintf(fp,
                "usage: " PROG " [options] [FILE...]\n"
                "\n"
                "Validate transfer reports and send them to Kafka, Avro single-object encoded,\n"
                "key = transfer_id, timestamp = reported_at. FILE is JSON Lines or an Avro\n"
                "object container file (handover-replay --export); no FILE or \"-\" reads\n"
                "JSON Lines from standard input. A named file is validated whole first: one\n"
                "bad line and nothing from it is sent.\n"
                "\n"
                "options:\n"
                "  -b BROKERS           bootstrap brokers (default $HANDOVER_BROKERS)\n"
                "  -t TOPIC             topic (default $HANDOVER_TOPIC or " HO_DEFAULT_TOPIC ")\n"
                "  -X key=value         librdkafka property (repeatable); -X list shows them\n"
                "  -c FILE              librdkafka properties file (key=value lines;\n"
                "                       default: $HANDOVER_KAFKA_CONFIG)\n"
                "  --schema v1|v2|FILE  writer schema (default: the newest)\n"
                "  --registry URL       write the Confluent framing (00, schema id, datum):\n"
                "                       register the writer schema in this schema registry\n"
                "                       (e.g. \"$HANDOVER_REGISTRY\"; -X registry.KEY=VALUE sets\n"
                "                       its client, e.g. registry.request.timeout.ms)\n"
                "  --subject S          registry subject (default TOPIC-value)\n"
                "  --dry-run            validate and encode everything, send nothing\n"
                "  --follow             keep reading FILE as it grows (like tail -F) until\n"
                "                       SIGINT/SIGTERM; each line is validated, then sent\n"
                "  --skip-invalid[=FILE]\n"
                "                       write invalid lines as \"position<TAB>reason<TAB>line\"\n"
                "                       to FILE (default stderr) and go on\n"
                "  -v                   debug logging (env HANDOVER_LOG_LEVEL)\n"
                "  -q, --quiet          no progress line\n"
                "  -h, --help           this help\n"
                "  -V, --version        versions\n"
                "\n"
                "exit status: 0 every report delivered; 1 a report was invalid, not\n"
                "delivered, or an input could not be read; 2 usage.\n");
}

/* What the options say, and what main() made of them. */
typedef struct run_s {
        const char *topic;
        const char *schema; /* --schema, NULL: newest */
        bool dry_run, follow, skip_invalid, quiet;
        FILE *rejects;
        const char **paths;
        size_t n_paths;
        ho_codec_t *codec;
        ho_registry_t *registry;
        int32_t schema_id; /* with a registry: the writer schema's id */
} run_t;

enum { OPT_SCHEMA = 256, OPT_DRY_RUN, OPT_FOLLOW, OPT_SKIP_INVALID, OPT_REGISTRY, OPT_SUBJECT };

/* Register (or find) the writer schema under the subject: the id every
 * value carries. Before anything is sent, so a refusal sends nothing. */
static int registry_setup(run_t *run, const char *url, const char *subject, const char *const *xs,
                          size_t n_xs) {
        char errstr[1024], dflt[512];
        const ho_schema_t *w = ho_codec_writer(run->codec);

        run->registry = ho_registry_new(url, errstr, sizeof(errstr));
        if (!run->registry) {
                fprintf(stderr, PROG ": --registry: %s\n", errstr);
                return HO_EXIT_USAGE;
        }
        for (size_t i = 0; i < n_xs; i++) {
                if (ho_registry_set_kv(run->registry, xs[i], errstr, sizeof(errstr))) {
                        fprintf(stderr, PROG ": -X: %s\n", errstr);
                        return HO_EXIT_USAGE;
                }
        }
        if (!subject) {
                snprintf(dflt, sizeof(dflt), "%s" HO_REGISTRY_SUBJECT_SUFFIX, run->topic);
                subject = dflt;
        }
        if (run->dry_run) {
                ho_info("dry run: the writer schema %s is not registered under \"%s\"", w->name,
                        subject);
                return HO_EXIT_OK;
        }
        if (ho_registry_register(run->registry, subject, w->json ? w->json : w->canonical,
                                 &run->schema_id, errstr, sizeof(errstr))) {
                fprintf(stderr, PROG ": %s\n", errstr);
                return HO_EXIT_FAIL;
        }
        ho_info("registry %s: writer schema %s is id %d under subject \"%s\"",
                ho_registry_url(run->registry), w->name, (int)run->schema_id, subject);
        return HO_EXIT_OK;
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                {"schema", required_argument, NULL, OPT_SCHEMA},
                {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                {"follow", no_argument, NULL, OPT_FOLLOW},
                {"skip-invalid", optional_argument, NULL, OPT_SKIP_INVALID},
                {"registry", required_argument, NULL, OPT_REGISTRY},
                {"subject", required_argument, NULL, OPT_SUBJECT},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0},
        };
        char errstr[1024];
        const char *schema = NULL, *rejects_path = NULL;
        const char *registry = NULL, *subject = NULL;
        static const char *stdin_path[] = {"-"};
        rd_kafka_conf_t *conf = NULL;
        ho_cli_t cli;
        run_t run;
        int opt, rc = HO_EXIT_OK;

        if (ho_stdfd_guard() != 0) /* before anything opens a descriptor */
                return HO_EXIT_FAIL;
        memset(&run, 0, sizeof(run));
        ho_log_init(PROG);
        if (ho_cli_init(&cli, PROG, argc, errstr, sizeof(errstr))) {
                fprintf(stderr, PROG ": %s\n", errstr);
                return HO_EXIT_FAIL;
        }
        const ho_cli_usage_t cli_usage = {usage, NULL, NULL, NULL};
        while ((opt = getopt_long(argc, argv, "b:t:X:c:vqhV", longopts, NULL)) != -1) {
                switch (opt) {
                case OPT_SCHEMA:
                        schema = optarg;
                        break;
                case OPT_DRY_RUN:
                        run.dry_run = true;
                        break;
                case OPT_FOLLOW:
                        run.follow = true;
                        break;
                case OPT_SKIP_INVALID:
                        run.skip_invalid = true;
                        rejects_path = optarg;
                        break;
                case OPT_REGISTRY:
                        registry = optarg;
                        break;
                case OPT_SUBJECT:
                        subject = optarg;
                        break;
                default:
                        rc = ho_cli_dispatch(&cli, opt, optarg, &cli_usage, errstr, sizeof(errstr));
                        if (rc != HO_CLI_NEXT)
                                goto out;
                        rc = HO_EXIT_OK;
                }
        }
        cli.quiet_keeps_log = true; /* -q: no progress line; warnings stay */
        if (ho_cli_finish(&cli, errstr, sizeof(errstr)))
                goto usage_err;
        run.quiet = cli.verbosity < 0;
        run.topic = cli.topic;
        run.paths = (const char **)(argv + optind);
        run.n_paths = (size_t)(argc - optind);
        if (run.n_paths == 0) {
                run.paths = stdin_path;
                run.n_paths = 1;
        }
        if (run.n_paths > HO_POS_MAX_INPUTS) {
                snprintf(errstr, sizeof(errstr), "too many inputs (at most %u)", HO_POS_MAX_INPUTS);
                goto usage_err;
        }
        if (run.follow && (run.n_paths != 1 || strcmp(run.paths[0], "-") == 0)) {
                snprintf(errstr, sizeof(errstr),
                         "--follow takes exactly one FILE (not standard input)");
                goto usage_err;
        }
        if (!*run.topic) {
                snprintf(errstr, sizeof(errstr), "empty topic name");
                goto usage_err;
        }

        /* librdkafka configuration: the producer's defaults, then the user's in
         * the one precedence (cli.h) */
        if (!(conf = ho_kafka_conf_new(HO_KAFKA_PRODUCER, PROG, &cli.kafka, NULL, errstr,
                                       sizeof(errstr))))
                goto usage_err;
        /* no HANDOVER_REGISTRY here: the framing a producer writes is chosen on its
         * command line, never by an environment the stack exports for readers */
        if (subject && !registry) {
                snprintf(errstr, sizeof(errstr), "--subject needs --registry URL");
                goto usage_err;
        }
        if (!registry && cli.n_rprops) {
                snprintf(errstr, sizeof(errstr), "-X %.*s needs --registry URL",
                         (int)strcspn(cli.rprops[0], "="), cli.rprops[0]);
                goto usage_err;
        }
        if (!run.dry_run && !ho_kafka_conf_has_brokers(conf)) {
                snprintf(errstr, sizeof(errstr),
                         "no brokers: give -b BROKERS or set HANDOVER_BROKERS");
                goto usage_err;
        }
        /* the options' secrets are in conf now; the inputs (after optind) stay */
        ho_conf_hide_argv(optind, argv);
        run.codec = ho_codec_new(errstr, sizeof(errstr));
        if (!run.codec) {
                fprintf(stderr, PROG ": %s\n", errstr);
                rc = HO_EXIT_FAIL;
                goto out;
        }
        if (schema && ho_codec_set_writer(run.codec, schema, errstr, sizeof(errstr)) != HO_OK)
                goto usage_err;
        run.schema = schema;
        if (registry &&
            (rc = registry_setup(&run, registry, subject, cli.rprops, cli.n_rprops)) != HO_EXIT_OK)
                goto out;
        if (run.skip_invalid) {
                run.rejects = rejects_path ? fopen(rejects_path, "a") : stderr;
                if (!run.rejects) {
                        fprintf(stderr, PROG ": cannot open rejects file \"%s\": %s\n",
                                rejects_path, strerror(errno));
                        rc = HO_EXIT_FAIL;
                        goto out;
                }
                /* an input that is the rejects file would read its own rejects
                 * (with --follow, for ever) */
                struct stat rs, is;
                for (size_t i = 0; rejects_path && i < run.n_paths; i++) {
                        if (fstat(fileno(run.rejects), &rs) == 0 && S_ISREG(rs.st_mode) &&
                            strcmp(run.paths[i], "-") != 0 && stat(run.paths[i], &is) == 0 &&
                            rs.st_dev == is.st_dev && rs.st_ino == is.st_ino) {
                                snprintf(errstr, sizeof(errstr),
                                         "--skip-invalid=%s is the input \"%s\": the rejects "
                                         "would be read back as input; write them elsewhere",
                                         rejects_path, run.paths[i]);
                                goto usage_err;
                        }
                }
        }

        ho_sig_install();
        {
                ho_produce_conf_t pc = {
                        .prog = PROG,
                        .topic = run.topic,
                        .paths = run.paths,
                        .n_paths = run.n_paths,
                        .codec = run.codec,
                        .writer_spec = run.schema,
                        .dry_run = run.dry_run,
                        .follow = run.follow,
                        .skip_invalid = run.skip_invalid,
                        .rejects = run.rejects,
                        .rejects_path = rejects_path,
                        .confluent = run.registry != NULL,
                        .schema_id = run.schema_id,
                        /* no progress line when rejects are interleaved on the same terminal */
                        .progress = !run.quiet && isatty(STDERR_FILENO) &&
                                    !(run.skip_invalid && run.rejects == stderr),
                        .stop = &ho_sig_stop,
                        .err = stderr,
                };
                rc = ho_produce_run(&pc, conf, NULL) == HO_OK ? HO_EXIT_OK : HO_EXIT_FAIL;
                conf = NULL; /* handed over */
        }
        goto out;

usage_err:
        fprintf(stderr, PROG ": %s\n", errstr);
        rc = HO_EXIT_USAGE;
out:
        if (conf)
                rd_kafka_conf_destroy(conf);
        ho_codec_destroy(run.codec);
        ho_registry_destroy(run.registry);
        if (run.rejects && run.rejects != stderr)
                fclose(run.rejects);
        ho_cli_clear(&cli);
        return rc;
}
