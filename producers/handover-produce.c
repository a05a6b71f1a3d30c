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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "handover/codec.h"
#include "handover/conf.h"
#include "handover/log.h"
#include "handover/produce.h"
#include "handover/registry.h"
#include "handover/sig.h"
#include "handover/stdfd.h"

#define PROG "handover-produce"

static void usage(FILE *fp) {
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

static bool conf_has_brokers(rd_kafka_conf_t *conf) {
        char v[1024];
        size_t sz = sizeof(v);
        return rd_kafka_conf_get(conf, "bootstrap.servers", v, &sz) == RD_KAFKA_CONF_OK && sz > 1;
}


enum { OPT_SCHEMA = 256, OPT_DRY_RUN, OPT_FOLLOW, OPT_SKIP_INVALID, OPT_REGISTRY, OPT_SUBJECT };

/* Register (or find) the writer schema under the subject: the id every
 * value carries. Before anything is sent, so a refusal sends nothing. */
static int registry_setup(run_t *run, const char *url, const char *subject, const char **xs,
                          size_t n_xs) {
        char errstr[1024], dflt[512];
        const ho_schema_t *w = ho_codec_writer(run->codec);

        run->registry = ho_registry_new(url, errstr, sizeof(errstr));
        if (!run->registry) {
                fprintf(stderr, PROG ": --registry: %s\n", errstr);
                return HO_EXIT_USAGE;
        }
        for (size_t i = 0; i < n_xs; i++) {
                if (strncmp(xs[i], HO_REGISTRY_PREFIX, strlen(HO_REGISTRY_PREFIX)))
                        continue;
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
        const char *brokers = NULL, *schema = NULL, *conf_file = NULL, *rejects_path = NULL;
        const char *registry = NULL, *subject = NULL;
        const char **xs = calloc((size_t)argc + 1, sizeof(*xs));
        static const char *stdin_path[] = {"-"};
        size_t n_xs = 0;
        rd_kafka_conf_t *conf = NULL;
        run_t run;
        int opt, rc = HO_EXIT_OK;

        if (ho_stdfd_guard() != 0) /* before anything opens a descriptor */
                return HO_EXIT_FAIL;
        memset(&run, 0, sizeof(run));
        ho_log_init(PROG);
        if (!xs) {
                fprintf(stderr, PROG ": out of memory\n");
                return HO_EXIT_FAIL;
        }
        run.topic = ho_env("HANDOVER_TOPIC", HO_DEFAULT_TOPIC);
        while ((opt = getopt_long(argc, argv, "b:t:X:c:qhV", longopts, NULL)) != -1) {
                switch (opt) {
                case 'b':
                        brokers = optarg;
                        break;
                case 't':
                        run.topic = optarg;
                        break;
                case 'X':
                        if (strcmp(optarg, "list") == 0) {
                                ho_conf_kafka_list(stdout);
                                free(xs);
                                return HO_EXIT_OK;
                        }
                        xs[n_xs++] = optarg;
                        break;
                case 'c':
                        conf_file = optarg;
                        break;
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
                case 'q':
                        run.quiet = true;
                        break;
                case 'h':
                        usage(stdout);
                        free(xs);
                        return HO_EXIT_OK;
                case 'V':
                        ho_print_version(stdout, PROG);
                        free(xs);
                        return HO_EXIT_OK;
                default:
                        usage(stderr);
                        free(xs);
                        return HO_EXIT_USAGE;
                }
        }
        run.paths = (const char **)(argv + optind);
        run.n_paths = (size_t)(argc - optind);
        if (run.n_paths == 0) {
                run.paths = stdin_path;
                run.n_paths = 1;
        }
        if (run.n_paths > HO_POS_MAX_INPUTS) {
                fprintf(stderr, PROG ": too many inputs (at most %u)\n", HO_POS_MAX_INPUTS);
                free(xs);
                return HO_EXIT_USAGE;
        }
        if (run.follow && (run.n_paths != 1 || strcmp(run.paths[0], "-") == 0)) {
                fprintf(stderr, PROG ": --follow takes exactly one FILE (not standard input)\n");
                free(xs);
                return HO_EXIT_USAGE;
        }
        if (!*run.topic) {
                fprintf(stderr, PROG ": empty topic name\n");
                free(xs);
                return HO_EXIT_USAGE;
        }

        /* librdkafka configuration: our defaults, then -b/$HANDOVER_BROKERS,
         * then -c FILE, then each -X in order (the user has the last word) */
        conf = rd_kafka_conf_new();
        if (ho_producer_conf_defaults(conf, errstr, sizeof(errstr)) != HO_OK)
                goto usage_err;
        if (!brokers)
                brokers = ho_env("HANDOVER_BROKERS", NULL);
        if (brokers && rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr,
                                         sizeof(errstr)) != RD_KAFKA_CONF_OK)
                goto usage_err;
        if (!conf_file) /* the default -c */
                conf_file = ho_env("HANDOVER_KAFKA_CONFIG", NULL);
        if (conf_file && ho_conf_kafka_file(conf, conf_file, errstr, sizeof(errstr)) != HO_OK)
                goto usage_err;
        for (size_t i = 0; i < n_xs; i++)
                if (strncmp(xs[i], HO_REGISTRY_PREFIX, strlen(HO_REGISTRY_PREFIX)) &&
                    ho_conf_kafka_set(conf, xs[i], errstr, sizeof(errstr)) != HO_OK)
                        goto usage_err;
        /* no HANDOVER_REGISTRY here: the framing a producer writes is chosen on its
         * command line, never by an environment the stack exports for readers */
        if (subject && !registry) {
                snprintf(errstr, sizeof(errstr), "--subject needs --registry URL");
                goto usage_err;
        }
        for (size_t i = 0; !registry && i < n_xs; i++) {
                if (!strncmp(xs[i], HO_REGISTRY_PREFIX, strlen(HO_REGISTRY_PREFIX))) {
                        snprintf(errstr, sizeof(errstr), "-X %.*s needs --registry URL",
                                 (int)strcspn(xs[i], "="), xs[i]);
                        goto usage_err;
                }
        }
        if (!run.dry_run && !conf_has_brokers(conf)) {
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
        if (registry && (rc = registry_setup(&run, registry, subject, xs, n_xs)) != HO_EXIT_OK)
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
        free(xs);
        return rc;
}
