/*
 * handover-replay: rebuild a prefix's aggregates from the topic's history
 * and switch them in atomically, build a window into another prefix, compare
 * a rebuild with the live counters (--dry-run), or export the history as an
 * Avro object container file. Thin: flags and wiring; the work is lib/replay.c.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "handover/cli.h"
#include "handover/conf.h"
#include "handover/kafka.h"
#include "handover/log.h"
#include "handover/mem.h"
#include "handover/metrics.h"
#include "handover/redis.h"
#include "handover/replay.h"
#include "handover/sig.h"
#include "handover/stdfd.h"
#include "handover/util.h"

static void usage(FILE *fp, const char *prog) {
        fprintf(fp,
                "usage: %s [options]\n"
                "\n"
                "Rebuild the aggregates of PREFIX from the topic's history into staging keys\n"
                "and switch them in with one atomic step (default), or build a window into\n"
                "another prefix, compare with the live counters, or export the history.\n"
                "\n"
                "options:\n"
                "  -b BROKERS        bootstrap brokers (env HANDOVER_BROKERS)\n"
                "  -t TOPIC          topic to replay (env HANDOVER_TOPIC, default %s)\n"
                "  -r REDIS_URL      redis://[user:password@]host:port[/db], unix:///path,\n"
                "                    redis+cluster://host:port[,host:port...] (a Redis Cluster),\n"
                "                    or @FILE holding it (env HANDOVER_REDIS; password from a\n"
                "                    file: env HANDOVER_REDIS_PASSWORD_FILE)\n"
                "  -p PREFIX         Redis key prefix (env HANDOVER_PREFIX, default %s)\n"
                "  -X key=value      librdkafka property (repeatable; -X list shows them)\n"
                "  -c FILE           librdkafka properties file (key=value lines;\n"
                "                    default: env HANDOVER_KAFKA_CONFIG)\n"
                "  --from WHERE      earliest (default), PARTITION:OFFSET[,...] (unlisted\n"
                "                    partitions from earliest), or a time: RFC 3339 or\n"
                "                    YYYY-MM-DD (00:00Z), by message timestamp (= reported_at)\n"
                "  --until TIME      stop each partition at its first message later than TIME\n"
                "                    (RFC 3339, or YYYY-MM-DD meaning the end of that day);\n"
                "                    default: the high watermarks read at start\n"
                "  --as-of TIME      fold only the reports with reported_at <= TIME, wherever\n"
                "                    they are in the log (TIME as for --until)\n"
                "  --into PREFIX2    build and switch into PREFIX2; PREFIX stays untouched\n"
                "  --dry-run         build, print the totals and how they differ from the\n"
                "                    live ones, delete the build, switch nothing\n"
                "  --metrics ADDR:PORT  serve GET /metrics (Prometheus) there while it runs\n"
                "  --export FILE     write the window's decoded reports to FILE as an Avro\n"
                "                    object container file (deflate; no Redis needed)\n"
                "  --memory-max SIZE bound the memory (default 256M; K, M, G); past it the\n"
                "                    window is read once per bucket of transfers\n"
                "  --accept-truncated  rebuild from what is left when records were deleted\n"
                "                    from the start of the topic (refused otherwise)\n"
                "  --batch-max N     transfers per staging write (default 500)\n"
                "  --registry URL    schema registry for values in the Confluent framing\n"
                "                    (e.g. \"$HANDOVER_REGISTRY\"; -X registry.KEY=VALUE sets it)\n"
                "  -v                debug logging (env HANDOVER_LOG_LEVEL=error|warn|info|debug)\n"
                "  -q, --quiet       no progress line, no summary (warnings stay)\n"
                "  -h                this help\n"
                "  -V                versions\n"
                "\n"
                "A window that does not start at the beginning, or --as-of, can only be\n"
                "built with --into, --dry-run or --export: it would drop live history.\n"
                "\n"
                "exit codes: 0 ok, 1 runtime failure (nothing switched), 2 usage\n"
                "see docs/replay-stats.md\n",
                prog, HO_DEFAULT_TOPIC, HO_DEFAULT_PREFIX);
}

/*
 * --metrics: what replay reads, seen through a librdkafka interceptor on its
 * consumer (on_consume runs on replay's own thread, inside its poll), so
 * lib/replay.c needs no hook. The lag is the high watermark the consumer
 * knows minus the next offset to read, refreshed every 64 messages and at
 * each partition's end.
 */
static ho_metric_t *ho_rm_messages, *ho_rm_lag;

static rd_kafka_resp_err_t ho_rm_on_consume(rd_kafka_t *rk, rd_kafka_message_t *m, void *opaque) {
        (void)opaque;
        bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
        if (m->err && !eof)
                return RD_KAFKA_RESP_ERR_NO_ERROR;
        if (!eof)
                ho_metric_inc(ho_rm_messages, 1);
        if (!eof && m->offset % 64 != 0)
                return RD_KAFKA_RESP_ERR_NO_ERROR;
        const char *topic = rd_kafka_topic_name(m->rkt);
        int64_t lo, hi, next = eof ? m->offset : m->offset + 1;
        if (rd_kafka_get_watermark_offsets(rk, topic, m->partition, &lo, &hi) || hi < 0)
                return RD_KAFKA_RESP_ERR_NO_ERROR;
        char part[16];
        snprintf(part, sizeof(part), "%" PRId32, m->partition);
        const char *v[] = {topic, part};
        ho_metric_set_l(ho_rm_lag, v, (double)(hi > next ? hi - next : 0));
        return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static rd_kafka_resp_err_t ho_rm_on_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf, void *opaque,
                                        char *errstr, size_t errstr_size) {
        (void)conf;
        (void)errstr;
        (void)errstr_size;
        return rd_kafka_interceptor_add_on_consume(rk, "handover-metrics", ho_rm_on_consume,
                                                   opaque);
}

/* The registry with replay's metrics, hooked into kconf. NULL + errstr. */
static ho_metrics_t *ho_rm_new(rd_kafka_conf_t *kconf, char *errstr, size_t errstr_size) {
        ho_metrics_t *reg = ho_metrics_new();
        if (!reg) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (ho_metrics_add_build_info(reg, errstr, errstr_size) ||
            !(ho_rm_messages = ho_metrics_add(reg, HO_METRIC_COUNTER,
                                              "handover_replay_messages_total",
                                              "Messages replay has read from the topic.", NULL,
                                              NULL, 0, errstr, errstr_size)) ||
            !(ho_rm_lag = ho_metrics_add(reg, HO_METRIC_GAUGE, "handover_replay_partition_lag",
                                         "Messages between replay's position and the "
                                         "partition's high watermark.",
                                         "topic,partition", NULL, 0, errstr, errstr_size))) {
                ho_metrics_destroy(reg);
                return NULL;
        }
        rd_kafka_conf_interceptor_add_on_new(kconf, "handover-metrics", ho_rm_on_new, NULL);
        return reg;
}

enum { OPT_METRICS = 512 }; /* a long option's id, apart from main's OPT_* */

static int ho_bad_prefix(const char *p) {
        return !p || !*p || strchr(p, '{') || strchr(p, '}');
}

int main(int argc, char **argv) {
        if (ho_stdfd_guard() != 0) /* before anything opens a descriptor (stdfd.h) */
                return 1;
        const char *prog = argv[0];
        ho_mem_tune(); /* a pass's fold, freed, goes back to the kernel or to the next (mem.h) */
        ho_log_init(prog);
        ho_replay_conf_t conf = {.until_ms = -1, .as_of_ms = -1};
        ho_replay_from_offset_t *offsets = NULL;
        char errstr[1024];
        int opt, rc = HO_EXIT_OK;
        ho_redis_url_t url = {0};
        bool have_url = false;
        const char *metrics_addr = NULL;
        ho_metrics_t *reg = NULL;
        ho_metrics_server_t *srv = NULL;

        rd_kafka_conf_t *kconf = NULL;
        ho_cli_t cli;
        if (ho_cli_init(&cli, "handover-replay", argc, errstr, sizeof(errstr))) {
                fprintf(stderr, "handover-replay: %s\n", errstr);
                return HO_EXIT_FAIL;
        }
        enum {
                OPT_FROM = 256,
                OPT_UNTIL,
                OPT_AS_OF,
                OPT_INTO,
                OPT_DRY,
                OPT_EXPORT,
                OPT_BATCH,
                OPT_MEMORY,
                OPT_ACCEPT,
                OPT_REGISTRY
        };
        const char *registry = NULL; /* only from the command line, as the worker's */
        ho_registry_t *rg = NULL;
        static const struct option longopts[] = {
                {"from", required_argument, NULL, OPT_FROM},
                {"until", required_argument, NULL, OPT_UNTIL},
                {"as-of", required_argument, NULL, OPT_AS_OF},
                {"memory-max", required_argument, NULL, OPT_MEMORY},
                {"accept-truncated", no_argument, NULL, OPT_ACCEPT},
                {"into", required_argument, NULL, OPT_INTO},
                {"dry-run", no_argument, NULL, OPT_DRY},
                {"export", required_argument, NULL, OPT_EXPORT},
                {"metrics", required_argument, NULL, OPT_METRICS},
                {"batch-max", required_argument, NULL, OPT_BATCH},
                {"registry", required_argument, NULL, OPT_REGISTRY},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0}};
#define USAGE_FAIL(...)                                                                            \
        do {                                                                                       \
                fprintf(stderr, "handover-replay: " __VA_ARGS__);                                  \
                fputc('\n', stderr);                                                               \
                rc = HO_EXIT_USAGE;                                                                \
                goto done;                                                                         \
        } while (0)
        const ho_cli_usage_t cli_usage = {usage, prog, NULL, NULL};
        while ((opt = getopt_long(argc, argv, "b:t:r:p:X:c:vqhV", longopts, NULL)) != -1) {
                switch (opt) {
                case OPT_REGISTRY:
                        registry = optarg;
                        break;
                case OPT_FROM:
                        free(offsets);
                        if (ho_replay_parse_from(optarg, &conf, &offsets, errstr, sizeof(errstr)))
                                USAGE_FAIL("%s", errstr);
                        break;
                case OPT_UNTIL:
                        if (ho_replay_parse_until(optarg, &conf.until_ms, errstr, sizeof(errstr)))
                                USAGE_FAIL("%s", errstr);
                        break;
                case OPT_AS_OF:
                        if (ho_replay_parse_as_of(optarg, &conf.as_of_ms, errstr, sizeof(errstr)))
                                USAGE_FAIL("%s", errstr);
                        break;
                case OPT_MEMORY:
                        if (ho_replay_parse_size(optarg, &conf.memory_max, errstr, sizeof(errstr)))
                                USAGE_FAIL("%s", errstr);
                        break;
                case OPT_ACCEPT:
                        conf.accept_truncated = true;
                        break;
                case OPT_INTO:
                        conf.into = optarg;
                        break;
                case OPT_DRY:
                        conf.dry_run = true;
                        break;
                case OPT_EXPORT:
                        conf.export_path = optarg;
                        break;
                case OPT_BATCH: {
                        long long v;
                        if (ho_parse_ll(optarg, 1, 1000000, &v))
                                USAGE_FAIL("--batch-max: expected 1..1000000, got \"%s\"", optarg);
                        conf.max_batch_msgs = (size_t)v;
                        break;
                }
                case OPT_METRICS: {
                        char host[256];
                        int port;
                        if (ho_metrics_parse_addr(optarg, host, sizeof(host), &port, errstr,
                                                  sizeof(errstr)))
                                USAGE_FAIL("--metrics: %s", errstr);
                        metrics_addr = optarg;
                        break;
                }
                default:
                        rc = ho_cli_dispatch(&cli, opt, optarg, &cli_usage, errstr, sizeof(errstr));
                        if (rc != HO_CLI_NEXT)
                                goto done;
                        rc = HO_EXIT_OK;
                }
        }
        if (optind < argc)
                USAGE_FAIL("unexpected argument \"%s\" (see -h)", argv[optind]);
        cli.quiet_keeps_log = true; /* -q: no progress, no summary; warnings stay */
        if (ho_cli_finish(&cli, errstr, sizeof(errstr)))
                USAGE_FAIL("%s", errstr);
        conf.quiet = cli.verbosity < 0;
        conf.topic = cli.topic;
        conf.prefix = cli.prefix;
        if (!(kconf = ho_kafka_conf_new(HO_KAFKA_READER, "handover-replay", &cli.kafka, NULL,
                                        errstr, sizeof(errstr))))
                USAGE_FAIL("%s", errstr);
        if (!ho_kafka_conf_has_brokers(kconf))
                USAGE_FAIL("no brokers (give -b BROKERS or set HANDOVER_BROKERS)");
        if (conf.export_path && (conf.into || conf.dry_run))
                USAGE_FAIL("--export only exports; it does not mix with --into or --dry-run");
        if (conf.export_path && !*conf.export_path)
                USAGE_FAIL("--export: expected a file name");
        if (ho_bad_prefix(conf.prefix))
                USAGE_FAIL("-p \"%s\": expected a non-empty prefix without '{' or '}'",
                           conf.prefix);
        if (conf.into && ho_bad_prefix(conf.into))
                USAGE_FAIL("--into \"%s\": expected a non-empty prefix without '{' or '}'",
                           conf.into);
        if (conf.into && !strcmp(conf.into, conf.prefix))
                conf.into = NULL; /* the same thing as the default */
        if (conf.as_of_ms >= 0 && conf.until_ms >= 0)
                USAGE_FAIL("--as-of and --until are two answers to one question: give one "
                           "(--as-of: every report published up to T; --until: the log up to "
                           "its first message later than T)");
        if (conf.as_of_ms >= 0 && !conf.into && !conf.dry_run && !conf.export_path)
                USAGE_FAIL("--as-of would replace the live counters of \"%s\" with the past; "
                           "use --into PREFIX2, --dry-run or --export",
                           conf.prefix);
        if (conf.from != HO_REPLAY_FROM_EARLIEST && !conf.into && !conf.dry_run &&
            !conf.export_path)
                USAGE_FAIL("--from other than earliest would replace the live counters of \"%s\" "
                           "with a window that lacks the earlier history; use --into PREFIX2, "
                           "--dry-run or --export",
                           conf.prefix);
        if (!conf.export_path) {
                if (ho_redis_url_load(cli.redis, cli.redis_src,
                                      ho_env("HANDOVER_REDIS_PASSWORD_FILE", NULL), &url, errstr,
                                      sizeof(errstr)))
                        USAGE_FAIL("%s", errstr);
                have_url = true;
        }
        conf.progress = !conf.quiet && isatty(STDERR_FILENO);
        if (registry && *registry) {
                if (!(rg = ho_registry_new(registry, errstr, sizeof(errstr))))
                        USAGE_FAIL("--registry: %s", errstr);
                for (size_t i = 0; i < cli.n_rprops; i++)
                        if (ho_registry_set_kv(rg, cli.rprops[i], errstr, sizeof(errstr)))
                                USAGE_FAIL("-X %s", errstr);
                conf.registry = rg;
        } else if (cli.n_rprops) {
                USAGE_FAIL("-X %s needs --registry URL", cli.rprops[0]);
        }
        ho_conf_hide_argv(argc, argv); /* kconf and url hold their own copies */

        ho_sig_install();

        if (metrics_addr) {
                if (!(reg = ho_rm_new(kconf, errstr, sizeof(errstr))) ||
                    !(srv = ho_metrics_server_new(reg, metrics_addr, NULL, NULL, errstr,
                                                  sizeof(errstr)))) {
                        fprintf(stderr, "handover-replay: metrics: %s\n", errstr);
                        rc = HO_EXIT_FAIL;
                        goto done;
                }
                if (!conf.quiet)
                        fprintf(stderr,
                                "handover-replay: metrics: serving /metrics on %s (port %d)\n",
                                metrics_addr, ho_metrics_server_port(srv));
        }

        ho_replay_result_t res;
        rd_kafka_conf_t *kc = kconf;
        kconf = NULL; /* taken by ho_replay_run in every case */
        ho_err_t err = ho_replay_run(&conf, kc, have_url ? &url : NULL, &ho_sig_stop, stdout, &res,
                                     errstr, sizeof(errstr));
        const char *target = conf.into ? conf.into : conf.prefix;
        if (err != HO_OK) {
                fprintf(stderr, "handover-replay: %s\n", errstr);
                rc = ho_err_exit_code(err);
        } else if (!conf.quiet) {
                double s = (double)res.elapsed_ms / 1000.0;
                fprintf(stderr,
                        "handover-replay: %" PRIu64
                        " messages from \"%s\" (%d partitions): %" PRIu64 " reports, %" PRIu64
                        " rejected, in %.1f s (%.0f/s); %s\n",
                        res.messages, conf.topic, res.partitions, res.reports, res.rejected, s,
                        s > 0 ? (double)res.messages / s : 0.0,
                        conf.export_path ? "exported"
                        : conf.dry_run   ? "dry run, nothing switched"
                                         : "switched in");
                if (conf.as_of_ms >= 0)
                        fprintf(stderr,
                                "handover-replay: --as-of: %" PRIu64 " later report%s left out\n",
                                res.later, res.later == 1 ? "" : "s");
                if (!conf.export_path)
                        fprintf(stderr,
                                "handover-replay: %" PRIu64 " transfers folded in %d read%s of "
                                "the window (%" PRIu32 " bucket%s; the fold peaked at %zu kB)\n",
                                res.transfers, res.passes, res.passes == 1 ? "" : "s", res.buckets,
                                res.buckets == 1 ? "" : "s", res.fold_peak >> 10);
                if (conf.export_path)
                        fprintf(stderr, "handover-replay: wrote \"%s\"\n", conf.export_path);
                else if (!conf.dry_run)
                        fprintf(stderr, "handover-replay: prefix \"%s\" now holds the rebuild\n",
                                target);
        }
done:
        ho_metrics_server_destroy(srv);
        ho_metrics_destroy(reg);
        if (kconf)
                rd_kafka_conf_destroy(kconf);
        ho_cli_clear(&cli);
        ho_registry_destroy(rg);
        free(offsets);
        if (have_url)
                ho_redis_url_clear(&url);
        return rc;
}
