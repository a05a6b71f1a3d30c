/*
 * handover-produce: validate reports and send them to Kafka, each once,
 * Avro single-object encoded, keyed by transfer_id, timestamped with
 * reported_at. Flags, wiring and the main loop; the logic is in lib/produce.c.
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
#define STOP_FLUSH_MS 10000 /* flush bound after SIGINT/SIGTERM */
/* bound on asking whether the topic exists: a reachable cluster answers in
 * milliseconds; an unreachable one is left to the delivery reports, so the
 * check adds at most this to a run that fails anyway (and starts a stream
 * almost at once) */
#define TOPIC_CHECK_MS 1000

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
                "  -v                   debug logging (env HANDOVER_LOG_LEVEL)\n"
                "  -q, --quiet          no progress line\n"
                "  -h, --help           this help\n"
                "  -V, --version        versions\n"
                "\n"
                "exit status: 0 every report delivered; 1 a report was invalid, not\n"
                "delivered, or an input could not be read; 2 usage.\n");
}

/* CPU seconds of the whole process (every thread), for the debug timings */
static double cpu_s(void) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) != 0)
                return 0;
        return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- progress line (stderr, terminals only) ----------------------------- */

typedef struct progress_s {
        bool on;
        double t0, last;
        bool shown;
} progress_t;

/* done/total in "units" (bytes or reports) give the percentage and ETA when
 * total > 0. */
static void progress(progress_t *pg, const char *what, uint64_t n, uint64_t done, uint64_t total,
                     bool force) {
        double t = now_s(), el;
        if (!pg->on || (!force && t - pg->last < 0.5))
                return;
        pg->last = t;
        el = t - pg->t0;
        fprintf(stderr, "\r" PROG ": %s %" PRIu64 " reports, %.0f/s", what, n,
                el > 0 ? (double)n / el : 0.0);
        if (total > 0 && done <= total) {
                double frac = (double)done / (double)total;
                fprintf(stderr, ", %.0f%%", frac * 100.0);
                if (frac > 0.01)
                        fprintf(stderr, ", ETA %.0f s", el / frac - el);
        }
        fputs("\033[K", stderr);
        pg->shown = true;
}

static void progress_clear(progress_t *pg) {
        if (pg->shown)
                fputs("\r\033[K", stderr);
        pg->shown = false;
}

/* ---- the run ------------------------------------------------------------ */

typedef struct run_s {
        /* options */
        const char *topic;
        const char *schema; /* --schema, NULL: newest */
        bool dry_run, follow, skip_invalid, quiet;
        FILE *rejects;
        const char *rejects_path; /* NULL: standard error */
        const char **paths;
        const char **names; /* paths as positions show them ("<stdin>" for "-") */
        size_t n_paths;
        int timeout_ms; /* message.timeout.ms */
        char brokers[1024];
        /* state */
        ho_codec_t *codec;
        ho_registry_t *registry;
        int32_t schema_id; /* with a registry: the writer schema's id */
        ho_producer_t *producer;
        ho_spool_t *spool;
        uint64_t *spooled;   /* per input: records in the spool */
        ho_tset_t *dry_set;  /* dry run: distinct transfers */
        uint64_t dry_n, dry_bytes;
        uint64_t skipped;    /* invalid records written to rejects */
        uint64_t unsent;     /* file records never handed to Kafka (interrupted) */
        bool failed;         /* a runtime failure other than delivery */
        bool rejects_failed; /* a write to the rejects file failed (said once) */
        ho_report_t report;
        ho_buf_t value;
        progress_t pg;
        double t0;
        uint64_t total_bytes, done_bytes; /* pass 1 progress over named files */
} run_t;

static bool is_stream(const run_t *run, size_t i) {
        return run->follow || strcmp(run->paths[i], "-") == 0;
}

/* Encode run->report into run->value. */
static ho_err_t encode(run_t *run, char *errstr, size_t errstr_size) {
        ho_buf_reset(&run->value);
        return ho_codec_encode(run->codec, &run->report, &run->value, errstr, errstr_size);
}

/* Delivery reports are served (rd_kafka_poll) every SPOOL_POLL_EVERY messages
 * of a file, not after each one: a poll costs a lock and a queue check, and
 * a batch holds thousands of messages anyway. A full queue is served at once
 * (ho_producer_send). A stream polls after each line: it is never this fast. */
#define SPOOL_POLL_EVERY 1024

/* What a send returned: a failure other than an interruption is reported
 * and fails the run. */
static ho_err_t send_result(run_t *run, ho_err_t err, const char *errstr) {
        if (err && err != HO_ERR_INTERRUPTED) {
                fprintf(stderr, PROG ": %s\n", errstr);
                run->failed = true;
        }
        return err;
}

/* Send (or, dry run, count) one encoded message; poll: serve delivery reports. */
static ho_err_t emit(run_t *run, const char *key, size_t key_len, const char *value,
                     size_t value_len, int64_t ts, ho_pos_t pos, bool poll) {
        char errstr[512];
        ho_err_t err;

        if (run->dry_run) {
                run->dry_n++;
                run->dry_bytes += value_len;
                ho_tset_add(run->dry_set, key, key_len);
                return HO_OK;
        }
        err = ho_producer_send(run->producer, key, key_len, value, value_len, ts, pos,
                               &ho_sig_stop, errstr, sizeof(errstr));
        send_result(run, err, errstr);
        if (poll)
                ho_producer_poll(run->producer, 0);
        return err;
}

static uint64_t sent_so_far(const run_t *run) {
        ho_producer_stats_t st;
        if (run->dry_run)
                return run->dry_n;
        ho_producer_stats(run->producer, &st);
        return st.enqueued;
}

static bool should_stop(const run_t *run) {
        return ho_sig_stop || run->failed || (run->producer && ho_producer_failed(run->producer));
}

static void pass1_progress(void *opaque, uint64_t valid, uint64_t input_bytes) {
        run_t *run = opaque;
        progress(&run->pg, "validating", valid, run->done_bytes + input_bytes, run->total_bytes,
                 false);
}

/* Pass 1 over every named file: validate and encode each record into the
 * spool; list every bad record (up to a cap). Returns false when a file has
 * bad records or cannot be read: then nothing is sent. */
/* Whether the rejects are not all on disk (err: a write's errno, or 0 to
 * flush and fsync now); says so once. Nothing may then claim they were. */
static bool rejects_failed(run_t *run, int err, const char *then) {
        if (!err)
                err = ho_rejects_sync(run->rejects);
        if (!err)
                return false;
        if (!run->rejects_failed) {
                progress_clear(&run->pg);
                fprintf(stderr,
                        PROG ": cannot write the rejects file \"%s\": %s: the invalid lines "
                             "are not all recorded; %s\n",
                        run->rejects_path ? run->rejects_path : "<stderr>", strerror(err), then);
        }
        run->rejects_failed = true;
        run->failed = true;
        return true;
}

static bool pass1(run_t *run) {
        char errstr[1024];
        ho_badlist_t bad;
        ho_validate_t v;
        char *listing = NULL;
        size_t listing_len = 0;
        FILE *out = stderr;

        /* With a progress line on the terminal, the listing (at most the cap's
         * lines) is kept aside and printed after the line is cleared. */
        if (run->pg.on && !(out = open_memstream(&listing, &listing_len)))
                out = stderr;
        ho_badlist_init(&bad, out, HO_BADLIST_CAP);
        memset(&v, 0, sizeof(v));
        v.codec = run->codec;
        v.writer_spec = run->schema;
        v.spool = run->spool;
        v.bad = &bad;
        v.rejects = run->skip_invalid ? run->rejects : NULL;
        v.names = run->names;
        v.n_names = run->n_paths;
        v.transfers = run->dry_run ? run->dry_set : NULL;
        v.stop = &ho_sig_stop;
        v.progress = pass1_progress;
        v.opaque = run;
        for (size_t i = 0; i < run->n_paths; i++) {
                struct stat st;
                if (!is_stream(run, i) && stat(run->paths[i], &st) == 0)
                        run->total_bytes += (uint64_t)st.st_size;
        }
        for (size_t i = 0; i < run->n_paths; i++) {
                uint64_t read_bytes = 0;
                ho_err_t err;

                if (is_stream(run, i))
                        continue;
                err = ho_validate_input(&v, run->paths[i], (unsigned)i, &run->spooled[i],
                                        &read_bytes, errstr, sizeof(errstr));
                run->done_bytes += read_bytes;
                if (err) {
                        progress_clear(&run->pg);
                        ho_badlist_finish(&bad);
                        if (out != stderr) {
                                fclose(out);
                                fputs(listing, stderr);
                                free(listing);
                        }
                        if (err == HO_ERR_INTERRUPTED)
                                fprintf(stderr,
                                        PROG ": interrupted while validating: nothing sent\n");
                        else
                                fprintf(stderr, PROG ": %s\n", errstr);
                        return false;
                }
        }
        progress_clear(&run->pg);
        ho_badlist_finish(&bad);
        if (out != stderr) {
                fclose(out);
                fputs(listing, stderr);
                free(listing);
        }
        run->skipped += v.skipped;
        if (run->skip_invalid && rejects_failed(run, v.rejects_errno, "nothing sent"))
                return false;
        if (run->dry_run) {
                run->dry_n += v.valid;
                run->dry_bytes += v.bytes;
        }
        if (bad.count > 0) {
                fprintf(stderr, PROG ": %" PRIu64 " invalid report%s: nothing sent\n", bad.count,
                        bad.count == 1 ? "" : "s");
                return false;
        }
        return true;
}

/* Pass 2 for named file i: send its spooled records. */
static void send_spooled(run_t *run, size_t i, uint64_t *sent_total, uint64_t spool_total) {
        char errstr[512];
        ho_spool_rec_t rec;
        ho_err_t err;
        uint64_t k;

        for (k = 0; k < run->spooled[i] && !should_stop(run); k++) {
                if (ho_spool_get(run->spool, &rec, errstr, sizeof(errstr)) != HO_OK) {
                        fprintf(stderr, PROG ": %s\n", errstr);
                        run->failed = true;
                        break;
                }
                err = ho_producer_send_spooled(run->producer, run->spool, &rec, &ho_sig_stop,
                                               errstr, sizeof(errstr));
                if (send_result(run, err, errstr))
                        break;
                if ((*sent_total & (SPOOL_POLL_EVERY - 1)) == 0)
                        ho_producer_poll(run->producer, 0);
                ++*sent_total;
                if ((*sent_total & 255) == 0)
                        progress(&run->pg, "sending", sent_so_far(run), *sent_total, spool_total,
                                 false);
        }
        /* records of this file never handed over (the rest are counted below) */
        run->unsent += run->spooled[i] - k;
}

/* A stream (stdin, --follow): validate each line, then send it. */
static void send_stream(run_t *run, size_t i) {
        char errstr[1024], where[1200];
        ho_input_t *in;
        unsigned reopens = 0, truncs = 0;
        ho_pos_t pos = 0;
        uint64_t n = 0;

        /* like tail -F, --follow waits for a file that is not there yet */
        if (run->follow && access(run->paths[i], F_OK) != 0 && errno == ENOENT) {
                ho_info("waiting for \"%s\" to appear", run->paths[i]);
                while (!ho_sig_stop && access(run->paths[i], F_OK) != 0 && errno == ENOENT) {
                        if (run->producer)
                                ho_producer_poll(run->producer, 200);
                        else
                                nanosleep(&(struct timespec){0, 200000000L}, NULL);
                }
                if (ho_sig_stop)
                        return;
        }
        in = ho_input_open(run->paths[i], (unsigned)i, run->follow, run->codec, errstr,
                           sizeof(errstr));
        if (!in) {
                fprintf(stderr, PROG ": %s\n", errstr);
                run->failed = true;
                return;
        }
        if (ho_input_format(in) != HO_FORMAT_JSONL) {
                fprintf(stderr, PROG ": \"%s\": only JSON Lines can be streamed\n",
                        ho_input_name(in));
                run->failed = true;
                ho_input_destroy(in);
                return;
        }
        while (!should_stop(run)) {
                ho_input_status_t s = ho_input_next(in, &run->report, &pos, errstr, sizeof(errstr));
                const char *line;
                size_t len;

                if (s == HO_INPUT_REPORT && encode(run, errstr, sizeof(errstr)) != HO_OK)
                        s = HO_INPUT_BAD;
                if (s == HO_INPUT_REPORT) {
                        if (emit(run, run->report.transfer_id, strlen(run->report.transfer_id),
                                 run->value.data, run->value.len, run->report.reported_at,
                                 pos, true) != HO_OK)
                                break;
                        if ((++n & 255) == 0)
                                progress(&run->pg, "sending", sent_so_far(run),
                                         ho_input_bytes_read(in),
                                         ho_input_size(in) > 0 ? (uint64_t)ho_input_size(in) : 0,
                                         false);
                        continue;
                }
                if (s == HO_INPUT_BAD) {
                        ho_pos_format(pos, run->names, run->n_paths, where, sizeof(where));
                        progress_clear(&run->pg);
                        if (run->skip_invalid) {
                                line = ho_input_last_line(in, &len);
                                run->skipped++;
                                if (rejects_failed(run,
                                                   ho_reject_write(run->rejects, where, errstr,
                                                                   line, len),
                                                   "stopped reading"))
                                        break;
                                continue;
                        }
                        fprintf(stderr, "%s: %s\n", where, errstr);
                        fprintf(stderr,
                                PROG ": stopped at the invalid report (--skip-invalid goes on)\n");
                        run->failed = true;
                        break;
                }
                if (s == HO_INPUT_AGAIN) {
                        unsigned r, t;
                        ho_input_follow_events(in, &r, &t);
                        if (r != reopens || t != truncs) {
                                progress_clear(&run->pg);
                                ho_info("\"%s\" was %s: reading it from the top", run->paths[i],
                                        r != reopens ? "replaced" : "truncated");
                                reopens = r;
                                truncs = t;
                        }
                        if (run->follow) {
                                /* at EOF of a followed file: wait a little, serving
                                 * delivery reports meanwhile */
                                if (run->producer)
                                        ho_producer_poll(run->producer, 100);
                                else
                                        nanosleep(&(struct timespec){0, 100000000L}, NULL);
                        } else if (run->producer) {
                                ho_producer_poll(run->producer, 0);
                        }
                        progress(&run->pg, "sending", sent_so_far(run), 0, 0, false);
                        continue;
                }
                if (s == HO_INPUT_EOF)
                        break;
                fprintf(stderr, PROG ": \"%s\": %s\n", ho_input_name(in), errstr);
                run->failed = true;
                break;
        }
        ho_input_destroy(in);
}

static int conf_int(rd_kafka_conf_t *conf, const char *name, int def) {
        char v[64];
        size_t sz = sizeof(v);
        if (rd_kafka_conf_get(conf, name, v, &sz) != RD_KAFKA_CONF_OK)
                return def;
        return atoi(v);
}

enum { OPT_SCHEMA = 256, OPT_DRY_RUN, OPT_FOLLOW, OPT_SKIP_INVALID, OPT_REGISTRY, OPT_SUBJECT };

/* Register (or find) the writer schema under the subject: the id every
 * value carries. Before anything is sent, so a refusal sends nothing. */
static int registry_setup(run_t *run, const char *url, const char *subject,
                          const char *const *xs, size_t n_xs) {
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
        double cpu1 = 0;
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
                        switch (ho_cli_opt(&cli, opt, optarg, errstr, sizeof(errstr))) {
                        case HO_CLI_TAKEN: break;
                        case HO_CLI_HELP: usage(stdout); goto out;
                        case HO_CLI_DONE: goto out;
                        case HO_CLI_ERROR: goto usage_err;
                        case HO_CLI_UNKNOWN:
                                usage(stderr);
                                rc = HO_EXIT_USAGE;
                                goto out;
                        }
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
        run.timeout_ms = conf_int(conf, "message.timeout.ms", 30000);
        {
                size_t sz = sizeof(run.brokers);
                if (rd_kafka_conf_get(conf, "bootstrap.servers", run.brokers, &sz) !=
                    RD_KAFKA_CONF_OK)
                        run.brokers[0] = '\0';
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
        if (registry && (rc = registry_setup(&run, registry, subject, cli.rprops, cli.n_rprops)) !=
                                HO_EXIT_OK)
                goto out;
        if (run.skip_invalid) {
                run.rejects = rejects_path ? fopen(rejects_path, "a") : stderr;
                if (!run.rejects) {
                        fprintf(stderr, PROG ": cannot open rejects file \"%s\": %s\n",
                                rejects_path, strerror(errno));
                        rc = HO_EXIT_FAIL;
                        goto out;
                }
                run.rejects_path = rejects_path;
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

        ho_report_init(&run.report);
        ho_buf_init(&run.value);
        /* no progress line when rejects are interleaved on the same terminal */
        run.pg.on = !run.quiet && isatty(STDERR_FILENO) &&
                    !(run.skip_invalid && run.rejects == stderr);
        run.t0 = run.pg.t0 = now_s();
        run.spooled = calloc(run.n_paths, sizeof(*run.spooled));
        run.names = calloc(run.n_paths, sizeof(*run.names));
        for (size_t i = 0; run.names && i < run.n_paths; i++)
                run.names[i] = strcmp(run.paths[i], "-") == 0 ? "<stdin>" : run.paths[i];
        run.dry_set = ho_tset_new();
        if (!run.spooled || !run.names || !run.dry_set) {
                fprintf(stderr, PROG ": out of memory\n");
                rc = HO_EXIT_FAIL;
                goto out;
        }
        if (!run.dry_run) {
                bool any_file = false;
                for (size_t i = 0; i < run.n_paths; i++)
                        any_file |= !is_stream(&run, i);
                if (any_file && !(run.spool = ho_spool_new(errstr, sizeof(errstr)))) {
                        fprintf(stderr, PROG ": %s\n", errstr);
                        rc = HO_EXIT_FAIL;
                        goto out;
                }
        }

        /* With named files to validate, the producer is made first: librdkafka
         * connects, fetches metadata and its idempotent producer id while
         * pass 1 runs, instead of after it. Nothing is sent before pass 2. */
        if (!run.dry_run && run.spool) {
                run.producer = ho_producer_new(conf, run.topic, run.names, run.n_paths, errstr,
                                               sizeof(errstr));
                conf = NULL; /* handed over */
                if (run.producer && run.registry)
                        ho_producer_set_confluent(run.producer, run.schema_id);
                if (!run.producer) {
                        fprintf(stderr, PROG ": %s\n", errstr);
                        rc = HO_EXIT_FAIL;
                        goto out;
                }
        }

        /* pass 1: every named file, validated whole */
        if (!pass1(&run)) {
                /* nothing was handed to Kafka: no delivery summary */
                ho_producer_destroy(run.producer);
                run.producer = NULL;
                rc = HO_EXIT_FAIL;
                goto summary;
        }

        ho_debug("pass 1 (validate, encode, spool): %.3f s, %.3f CPU s", now_s() - run.t0, cpu_s());
        cpu1 = cpu_s();

        /* pass 2: send, input by input, in order */
        if (!run.dry_run) {
                if (!run.producer) {
                        run.producer = ho_producer_new(conf, run.topic, run.names, run.n_paths,
                                                       errstr, sizeof(errstr));
                        conf = NULL; /* handed over */
                        if (run.producer && run.registry)
                                ho_producer_set_confluent(run.producer, run.schema_id);
                }
                if (!run.producer) {
                        fprintf(stderr, PROG ": %s\n", errstr);
                        rc = HO_EXIT_FAIL;
                        goto out;
                }
                if (ho_producer_check_topic(run.producer, TOPIC_CHECK_MS, errstr,
                                            sizeof(errstr)) != HO_OK) {
                        fprintf(stderr, PROG ": %s; nothing sent\n", errstr);
                        ho_producer_destroy(run.producer);
                        run.producer = NULL;
                        rc = HO_EXIT_FAIL;
                        goto summary;
                }
                if (run.spool && ho_spool_rewind(run.spool, errstr, sizeof(errstr)) != HO_OK) {
                        fprintf(stderr, PROG ": %s\n", errstr);
                        rc = HO_EXIT_FAIL;
                        goto out;
                }
        }
        {
                uint64_t sent_total = 0, spool_total = run.spool ? ho_spool_count(run.spool) : 0;
                run.pg.t0 = now_s();
                for (size_t i = 0; i < run.n_paths; i++) {
                        if (should_stop(&run)) {
                                if (!is_stream(&run, i))
                                        run.unsent += run.spooled[i];
                                continue;
                        }
                        if (is_stream(&run, i))
                                send_stream(&run, i);
                        else if (!run.dry_run) /* a dry run counted files in pass 1 */
                                send_spooled(&run, i, &sent_total, spool_total);
                }
                ho_debug("pass 2 (hand over to librdkafka): %.3f s, %.3f CPU s", now_s() - run.pg.t0,
                         cpu_s() - cpu1);
                cpu1 = cpu_s();
        }

summary:
        progress_clear(&run.pg);
        if (run.skip_invalid && run.skipped && !run.rejects_failed)
                rejects_failed(&run, 0, "the reports were sent");
        {
                double secs;
                if (run.producer) {
                        ho_producer_stats_t st;
                        uint64_t purged;
                        int bound = ho_sig_stop ? STOP_FLUSH_MS : run.timeout_ms + 5000;
                        if (ho_sig_stop)
                                fprintf(stderr, PROG ": interrupted: flushing (at most %d s)\n",
                                        bound / 1000);
                        secs = now_s();
                        purged = ho_producer_flush(run.producer, bound);
                        ho_debug("flush: %.3f s, %.3f CPU s", now_s() - secs, cpu_s() - cpu1);
                        ho_producer_stats(run.producer, &st);
                        ho_producer_print_failures(run.producer, stderr);
                        if (st.failed > 0) {
                                const char *le = ho_producer_last_error(run.producer);
                                fprintf(stderr,
                                        PROG ": %" PRIu64 " of %" PRIu64
                                             " reports not delivered to \"%s\" at \"%s\"%s"
                                             "%s%s\n",
                                        st.failed, st.enqueued, run.topic, run.brokers,
                                        purged ? " (still in flight when the flush ended)"
                                               : " (within message.timeout.ms)",
                                        *le ? "; last broker error: " : "", le);
                                rc = HO_EXIT_FAIL;
                        }
                        if (run.unsent > 0) {
                                fprintf(stderr,
                                        PROG ": %" PRIu64 " validated reports were not sent\n",
                                        run.unsent);
                                rc = HO_EXIT_FAIL;
                        }
                        if (run.failed)
                                rc = HO_EXIT_FAIL;
                        if (run.skipped)
                                fprintf(stderr, PROG ": %" PRIu64 " invalid lines skipped%s%s\n",
                                        run.skipped,
                                        run.rejects_failed ? ", NOT all written to "
                                        : rejects_path     ? ", written to "
                                                           : "",
                                        rejects_path ? rejects_path : "");
                        secs = now_s() - run.t0;
                        fprintf(stderr,
                                PROG ": sent %" PRIu64 " reports (%s%" PRIu64
                                     " transfers, %" PRIu64 " bytes) in %.3f s\n",
                                st.delivered, st.transfers_exact ? "" : "at least ",
                                st.transfers, st.bytes, secs);
                } else {
                        if (run.failed)
                                rc = HO_EXIT_FAIL;
                        if (run.skipped)
                                fprintf(stderr, PROG ": %" PRIu64 " invalid lines skipped%s%s\n",
                                        run.skipped,
                                        run.rejects_failed ? ", NOT all written to "
                                        : rejects_path     ? ", written to "
                                                           : "",
                                        rejects_path ? rejects_path : "");
                        secs = now_s() - run.t0;
                        if (run.dry_run && rc == HO_EXIT_OK) {
                                uint64_t n = run.dry_n;
                                fprintf(stderr,
                                        PROG ": dry run, nothing sent: %" PRIu64
                                             " reports valid and encoded (%s%" PRIu64
                                             " transfers, %" PRIu64 " bytes) in %.3f s\n",
                                        n, ho_tset_exact(run.dry_set) ? "" : "at least ",
                                        ho_tset_count(run.dry_set), run.dry_bytes, secs);
                        } else {
                                fprintf(stderr,
                                        PROG ": sent 0 reports (0 transfers, 0 bytes) in %.3f s\n",
                                        secs);
                        }
                }
        }
        goto out;

usage_err:
        fprintf(stderr, PROG ": %s\n", errstr);
        rc = HO_EXIT_USAGE;
out:
        if (conf)
                rd_kafka_conf_destroy(conf);
        ho_producer_destroy(run.producer);
        ho_spool_destroy(run.spool);
        ho_tset_destroy(run.dry_set);
        free(run.spooled);
        free(run.names);
        ho_report_clear(&run.report);
        ho_buf_free(&run.value);
        ho_codec_destroy(run.codec);
        ho_registry_destroy(run.registry);
        if (run.rejects && run.rejects != stderr)
                fclose(run.rejects);
        ho_cli_clear(&cli);
        return rc;
}
