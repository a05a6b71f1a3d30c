/*
 * handover-aggregate: a worker of the consumer group that keeps the live
 * counters in Redis, each report's effect applied exactly once. Thin: flags,
 * signals and wiring; the loop is lib/worker.c.
 */
#include <getopt.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/cli.h"
#include "handover/conf.h"
#include "handover/log.h"
#include "handover/mem.h"
#include "handover/metrics.h"
#include "handover/redis.h"
#include "handover/worker.h"
#include "handover/sig.h"
#include "handover/stdfd.h"
#include "handover/util.h"

static void usage(FILE *fp, const char *prog) {
        fprintf(fp,
                "usage: %s [options]\n"
                "\n"
                "Consume transfer reports from Kafka and keep the live counters in Redis,\n"
                "each report applied exactly once. Run any number in one group.\n"
                "\n"
                "options:\n"
                "  -b BROKERS         bootstrap brokers (env HANDOVER_BROKERS)\n"
                "  -t TOPIC           source topic (env HANDOVER_TOPIC, default %s)\n"
                "  -g GROUP           consumer group (env HANDOVER_GROUP, default %s)\n"
                "  -r REDIS_URL       redis://[user:password@]host:port[/db], unix:///path,\n"
                "                     redis+cluster://host:port[,host:port...] (a Redis Cluster),\n"
                "                     or @FILE holding it (env HANDOVER_REDIS; password\n"
                "                     from a file: env HANDOVER_REDIS_PASSWORD_FILE)\n"
                "  -p PREFIX          Redis key prefix (env HANDOVER_PREFIX, default %s)\n"
                "  -X key=value       librdkafka property (repeatable; -X list shows them)\n"
                "  -c FILE            librdkafka properties file (key=value lines;\n"
                "                     default: env HANDOVER_KAFKA_CONFIG)\n"
                "  --dlq TOPIC        dead letter topic (default TOPIC%s)\n"
                "  --batch-max N      max messages per batch (default 5000)\n"
                "  --batch-bytes N    max encoded bytes per batch (default 8388608)\n"
                "  --batch-ms MS      max age of a batch in ms (default 50)\n"
                "  --redis-wait N:MS  after each batch, WAIT until N replicas have it (at most\n"
                "                     MS ms; fewer is logged, the batch stands; off by default)\n"
                "  --metrics ADDR:PORT serve GET /metrics (Prometheus) and GET /healthz there\n"
                "                     (env HANDOVER_METRICS; off by default; :PORT = every address)\n"
                "  --create-dlq       create the dead letter topic (1 partition) when it is missing\n"
                "                     instead of exiting 1\n"
                "  --stats-interval S seconds between stats lines, 0 for none (default 10)\n"
                "  --registry URL     schema registry for values in the Confluent framing\n"
                "                     (e.g. \"$HANDOVER_REGISTRY\"); -X registry.KEY=VALUE sets\n"
                "                     its client (e.g. registry.request.timeout.ms=2000)\n"
                "  -v                 debug logging (env HANDOVER_LOG_LEVEL=error|warn|info|debug)\n"
                "  -q                 errors only (no stats lines)\n"
                "  -h                 this help\n"
                "  -V                 versions\n"
                "\n"
                "exit codes: 0 stopped by SIGINT/SIGTERM, 1 runtime failure, 2 usage\n"
                "see docs/aggregate-worker.md\n",
                prog, HO_DEFAULT_TOPIC, HO_DEFAULT_GROUP, HO_DEFAULT_PREFIX, HO_DEFAULT_DLQ_SUFFIX);
}

/* long options' ids, apart from main's OPT_* */
enum { OPT_METRICS = 512, OPT_CREATE_DLQ };

/* A count flag in min..max, or a usage error naming it. */
static bool ho_count_flag(const char *flag, const char *arg, long long min, long long max,
                          const char *unit, long long *out, const char *prog) {
        if (ho_parse_ll(arg, min, max, out) == HO_OK)
                return true;
        fprintf(stderr, "%s: %s: expected %lld..%lld%s, got \"%s\"\n", prog, flag, min, max, unit,
                arg);
        return false;
}

int main(int argc, char **argv) {
        if (ho_stdfd_guard() != 0) /* before anything opens a descriptor (stdfd.h) */
                return HO_EXIT_FAIL;
        ho_mem_tune(); /* resident memory follows what is live (mem.h) */
        const char *prog = argv[0];
        ho_log_init(prog);
        const char *dlq = NULL;
        const char *metrics_addr = ho_env("HANDOVER_METRICS", NULL);
        bool create_dlq = false;
        long long batch_max = 0, batch_bytes = 0, batch_ms = 0, stats_s = 10;
        long long wait_replicas = 0, wait_ms = 0;
        char errstr[1024];
        ho_cli_t cli;
        if (ho_cli_init(&cli, "handover-aggregate", argc, errstr, sizeof(errstr))) {
                fprintf(stderr, "%s: %s\n", prog, errstr);
                return HO_EXIT_FAIL;
        }
        enum {
                OPT_DLQ = 256,
                OPT_BATCH_MAX,
                OPT_BATCH_BYTES,
                OPT_BATCH_MS,
                OPT_STATS,
                OPT_REGISTRY,
                OPT_REDIS_WAIT
        };
        /* only from the command line: with a registry a value starting with 00 means
         * something else, so no exported environment changes that (docs/registry.md) */
        const char *registry = NULL;
        static const struct option longopts[] = {
                {"dlq", required_argument, NULL, OPT_DLQ},
                {"batch-max", required_argument, NULL, OPT_BATCH_MAX},
                {"batch-bytes", required_argument, NULL, OPT_BATCH_BYTES},
                {"batch-ms", required_argument, NULL, OPT_BATCH_MS},
                {"metrics", required_argument, NULL, OPT_METRICS},
                {"create-dlq", no_argument, NULL, OPT_CREATE_DLQ},
                {"stats-interval", required_argument, NULL, OPT_STATS},
                {"registry", required_argument, NULL, OPT_REGISTRY},
                {"redis-wait", required_argument, NULL, OPT_REDIS_WAIT},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0},
        };
        int opt, rc = HO_EXIT_OK;
        const ho_cli_usage_t cli_usage = {usage, prog, prog, NULL};
        while ((opt = getopt_long(argc, argv, "b:t:g:r:p:X:c:vqhV", longopts, NULL)) != -1) {
                bool ok = true;
                switch (opt) {
                case OPT_DLQ:
                        dlq = optarg;
                        break;
                case OPT_REGISTRY:
                        registry = optarg;
                        break;
                case OPT_REDIS_WAIT: {
                        char nbuf[16];
                        const char *colon = strchr(optarg, ':');
                        size_t nl = colon ? (size_t)(colon - optarg) : 0;
                        if (nl && nl < sizeof(nbuf)) {
                                memcpy(nbuf, optarg, nl);
                                nbuf[nl] = '\0';
                        }
                        if (!nl || nl >= sizeof(nbuf) ||
                            ho_parse_ll(nbuf, 1, 16, &wait_replicas) != HO_OK ||
                            ho_parse_ll(colon + 1, 1, 60000, &wait_ms) != HO_OK) {
                                fprintf(stderr,
                                        "%s: --redis-wait: expected REPLICAS:MS (1..16 replicas, "
                                        "1..60000 ms), got \"%s\"\n",
                                        prog, optarg);
                                ok = false;
                        }
                        break;
                }
                case OPT_BATCH_MAX:
                        ok = ho_count_flag("--batch-max", optarg, 1, 1000000, "", &batch_max, prog);
                        break;
                case OPT_BATCH_BYTES:
                        ok = ho_count_flag("--batch-bytes", optarg, 1024, 1LL << 30, "",
                                           &batch_bytes, prog);
                        break;
                case OPT_BATCH_MS:
                        ok = ho_count_flag("--batch-ms", optarg, 1, 600000, "", &batch_ms, prog);
                        break;
                case OPT_STATS:
                        ok = ho_count_flag("--stats-interval", optarg, 0, 86400, " seconds",
                                           &stats_s, prog);
                        break;
                case OPT_METRICS:
                        metrics_addr = optarg;
                        break;
                case OPT_CREATE_DLQ:
                        create_dlq = true;
                        break;
                default:
                        rc = ho_cli_dispatch(&cli, opt, optarg, &cli_usage, errstr, sizeof(errstr));
                        if (rc != HO_CLI_NEXT)
                                goto done;
                        rc = HO_EXIT_OK;
                }
                if (!ok) {
                        rc = HO_EXIT_USAGE;
                        goto done;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument \"%s\" (see -h)\n", prog, argv[optind]);
                rc = HO_EXIT_USAGE;
                goto done;
        }
        if (ho_cli_finish(&cli, errstr, sizeof(errstr))) {
                fprintf(stderr, "%s: %s\n", prog, errstr);
                rc = HO_EXIT_USAGE;
                goto done;
        }
        if (!ho_cli_has_brokers(&cli)) {
                fprintf(stderr, "%s: no brokers: give -b BROKERS or set HANDOVER_BROKERS\n", prog);
                rc = HO_EXIT_USAGE;
                goto done;
        }
        if (!cli.redis) {
                fprintf(stderr, "%s: no Redis: give -r REDIS_URL or set HANDOVER_REDIS\n", prog);
                rc = HO_EXIT_USAGE;
                goto done;
        }
        if (!*cli.topic || !*cli.group || !*cli.prefix || (dlq && !*dlq)) {
                fprintf(stderr,
                        "%s: topic, group, prefix and dead letter topic must not be empty\n", prog);
                rc = HO_EXIT_USAGE;
                goto done;
        }
        char mhost[256];
        int mport;
        if (metrics_addr && ho_metrics_parse_addr(metrics_addr, mhost, sizeof(mhost), &mport,
                                                  errstr, sizeof(errstr))) {
                fprintf(stderr, "%s: --metrics: %s\n", prog, errstr);
                rc = HO_EXIT_USAGE;
                goto done;
        }
        ho_redis_url_t url;
        if (ho_redis_url_load(cli.redis, cli.redis_src,
                              ho_env("HANDOVER_REDIS_PASSWORD_FILE", NULL), &url, errstr,
                              sizeof(errstr))) {
                fprintf(stderr, "%s: %s\n", prog, errstr);
                rc = HO_EXIT_USAGE;
                goto done;
        }
        ho_metrics_t *reg = NULL;
        if (metrics_addr &&
            (!(reg = ho_metrics_new()) || ho_metrics_add_build_info(reg, errstr, sizeof(errstr)))) {
                fprintf(stderr, "%s: metrics: %s\n", prog, reg ? errstr : "out of memory");
                ho_metrics_destroy(reg);
                ho_redis_url_clear(&url);
                rc = HO_EXIT_FAIL;
                goto done;
        }

        ho_registry_t *rg = NULL;
        if (registry && *registry) {
                rg = ho_registry_new(registry, errstr, sizeof(errstr));
                for (size_t i = 0; rg && i < cli.n_rprops; i++)
                        if (ho_registry_set_kv(rg, cli.rprops[i], errstr, sizeof(errstr))) {
                                ho_registry_destroy(rg);
                                rg = NULL;
                        }
                if (!rg) {
                        fprintf(stderr, "%s: --registry: %s\n", prog, errstr);
                        ho_redis_url_clear(&url);
                        rc = HO_EXIT_USAGE;
                        goto done;
                }
        } else if (cli.n_rprops) {
                fprintf(stderr, "%s: -X %s needs --registry URL\n", prog, cli.rprops[0]);
                ho_redis_url_clear(&url);
                rc = HO_EXIT_USAGE;
                goto done;
        }
        ho_worker_conf_t wc = {
                .registry = rg,
                .brokers = cli.kafka.brokers,
                .topic = cli.topic,
                .group = cli.group,
                .dlq_topic = dlq,
                .prefix = cli.prefix,
                .redis = &url,
                .kprops = cli.kprops,
                .n_kprops = cli.n_kprops,
                .batch_max_msgs = (size_t)batch_max,
                .batch_max_bytes = (size_t)batch_bytes,
                .batch_max_ms = (int)batch_ms,
                .redis_wait_replicas = (int)wait_replicas,
                .redis_wait_ms = (int)wait_ms,
                .stats_interval_s = (int)stats_s,
                .metrics = reg,
                .create_dlq = create_dlq,
        };
        ho_err_t err;
        ho_worker_t *w = ho_worker_new(&wc, &err, errstr, sizeof(errstr));
        if (!w) { /* a bad setting is usage (2); no memory or no client, a failure (1) */
                fprintf(stderr, "%s: %s\n", prog, errstr);
                ho_metrics_destroy(reg);
                ho_redis_url_clear(&url);
                ho_registry_destroy(rg);
                rc = ho_err_exit_code(err);
                goto done;
        }
        ho_metrics_server_t *srv = NULL;
        if (reg) {
                srv = ho_metrics_server_new(reg, metrics_addr, ho_worker_health, w, errstr,
                                            sizeof(errstr));
                if (!srv) {
                        ho_error("%s", errstr);
                        ho_worker_destroy(w);
                        ho_metrics_destroy(reg);
                        ho_redis_url_clear(&url);
                        ho_registry_destroy(rg);
                        rc = HO_EXIT_FAIL;
                        goto done;
                }
                ho_info("metrics: serving /metrics and /healthz on %s (port %d)", metrics_addr,
                        ho_metrics_server_port(srv));
        }

        ho_conf_hide_argv(argc, argv); /* the clients hold their settings now */
        ho_sig_install();

        err = ho_worker_run(w, &ho_sig_stop, errstr, sizeof(errstr));
        ho_metrics_server_destroy(srv); /* its health check reads the worker */
        ho_worker_destroy(w);
        ho_registry_destroy(rg);
        ho_redis_url_clear(&url);
        ho_metrics_destroy(reg); /* after the worker, which counts into it until the end */
        if (err) {
                ho_error("stopping: %s", errstr);
                rc = HO_EXIT_FAIL; /* whatever the code: the run did not finish its work */
        }
done:
        ho_cli_clear(&cli);
        return rc;
}
