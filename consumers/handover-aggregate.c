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
#include "handover/conf.h"
#include "handover/log.h"
#include "handover/mem.h"
#include "handover/metrics.h"
#include "handover/redis.h"
#include "handover/worker.h"
#include "handover/sig.h"
#include "handover/stdfd.h"

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

/* Parse a non-negative integer flag; -1 when it is not one. */
static long long ho_parse_count(const char *s, long long max) {
        char *end;
        if (!s || !*s)
                return -1;
        long long v = strtoll(s, &end, 10);
        if (*end || v < 0 || v > max)
                return -1;
        return v;
}

/* Apply one -X or -c to a scratch configuration, to report errors early. */
static ho_err_t ho_check_kprop(bool is_file, const char *v, char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        ho_err_t err = is_file ? ho_conf_kafka_file(c, v, errstr, errstr_size)
                               : ho_conf_kafka_set(c, v, errstr, errstr_size);
        rd_kafka_conf_destroy(c);
        return err;
}

/* Whether -X/-c set bootstrap.servers (or its alias metadata.broker.list). */
static bool ho_kprops_have_brokers(const ho_worker_kprop_t *kp, size_t n) {
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        char errstr[512], v[1024];
        size_t vsz = sizeof(v);
        for (size_t i = 0; i < n; i++)
                (void)(kp[i].is_file ? ho_conf_kafka_file(c, kp[i].value, errstr, sizeof(errstr))
                                     : ho_conf_kafka_set(c, kp[i].value, errstr, sizeof(errstr)));
        bool have = rd_kafka_conf_get(c, "bootstrap.servers", v, &vsz) == RD_KAFKA_CONF_OK &&
                    v[0] != '\0';
        rd_kafka_conf_destroy(c);
        return have;
}

/* long options' ids, apart from main's OPT_* */
enum { OPT_METRICS = 512, OPT_CREATE_DLQ };

int main(int argc, char **argv) {
        if (ho_stdfd_guard() != 0) /* before anything opens a descriptor (stdfd.h) */
                return 1;
        ho_mem_tune(); /* resident memory follows what is live (mem.h) */
        const char *prog = argv[0];
        ho_log_init(prog);
        const char *brokers = ho_env("HANDOVER_BROKERS", NULL);
        const char *topic = ho_env("HANDOVER_TOPIC", HO_DEFAULT_TOPIC);
        const char *group = ho_env("HANDOVER_GROUP", HO_DEFAULT_GROUP);
        const char *redis = ho_env("HANDOVER_REDIS", NULL), *redis_src = "HANDOVER_REDIS";
        const char *prefix = ho_env("HANDOVER_PREFIX", HO_DEFAULT_PREFIX);
        const char *dlq = NULL;
        const char *metrics_addr = ho_env("HANDOVER_METRICS", NULL);
        bool create_dlq = false;
        long long batch_max = 0, batch_bytes = 0, batch_ms = 0, stats_s = 10;
        long long wait_replicas = 0, wait_ms = 0;
        int verbosity = 0;
        char errstr[512];

        /* at most one -X/-c per argument, and the default -c */
        ho_worker_kprop_t *kprops = calloc((size_t)argc + 1, sizeof(*kprops));
        size_t n_kprops = 0;
        if (!kprops) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return HO_EXIT_FAIL;
        }
        enum { OPT_DLQ = 256, OPT_BATCH_MAX, OPT_BATCH_BYTES, OPT_BATCH_MS, OPT_STATS, OPT_REGISTRY,
               OPT_REDIS_WAIT };
        /* only from the command line: with a registry a value starting with 00 means
         * something else, so no exported environment changes that (docs/registry.md) */
        const char *registry = NULL;
        const char **rprops = calloc((size_t)argc, sizeof(*rprops));
        size_t n_rprops = 0;
        if (!rprops) {
                fprintf(stderr, "%s: out of memory\n", prog);
                free(kprops);
                return HO_EXIT_FAIL;
        }
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
        int opt;
        while ((opt = getopt_long(argc, argv, "b:t:g:r:p:X:c:vqhV", longopts, NULL)) != -1) {
                switch (opt) {
                case 'b': brokers = optarg; break;
                case 't': topic = optarg; break;
                case 'g': group = optarg; break;
                case 'r': redis = optarg; redis_src = "-r"; break;
                case 'p': prefix = optarg; break;
                case 'X':
                case 'c':
                        if (opt == 'X' && !strcmp(optarg, "list")) {
                                ho_conf_kafka_list(stdout);
                                free(kprops);
                                return HO_EXIT_OK;
                        }
                        if (opt == 'X' &&
                            !strncmp(optarg, HO_REGISTRY_PREFIX, strlen(HO_REGISTRY_PREFIX))) {
                                rprops[n_rprops++] = optarg; /* the registry client's */
                                break;
                        }
                        /* check now, so a typo is a usage error before anything starts */
                        if (ho_check_kprop(opt == 'c', optarg, errstr, sizeof(errstr))) {
                                fprintf(stderr, "%s: %s%s\n", prog, opt == 'c' ? "-c: " : "",
                                        errstr);
                                free(kprops);
                                return HO_EXIT_USAGE;
                        }
                        kprops[n_kprops].is_file = opt == 'c';
                        kprops[n_kprops++].value = optarg;
                        break;
                case OPT_DLQ: dlq = optarg; break;
                case OPT_REGISTRY: registry = optarg; break;
                case OPT_REDIS_WAIT: {
                        char nbuf[16];
                        const char *colon = strchr(optarg, ':');
                        size_t nl = colon ? (size_t)(colon - optarg) : 0;
                        if (nl && nl < sizeof(nbuf)) {
                                memcpy(nbuf, optarg, nl);
                                nbuf[nl] = '\0';
                        }
                        if (!nl || nl >= sizeof(nbuf) ||
                            (wait_replicas = ho_parse_count(nbuf, 16)) < 1 ||
                            (wait_ms = ho_parse_count(colon + 1, 60000)) < 1) {
                                fprintf(stderr,
                                        "%s: --redis-wait: expected REPLICAS:MS (1..16 replicas, "
                                        "1..60000 ms), got \"%s\"\n",
                                        prog, optarg);
                                free(kprops);
                                return HO_EXIT_USAGE;
                        }
                        break;
                }
                case OPT_BATCH_MAX:
                        if ((batch_max = ho_parse_count(optarg, 1000000)) < 1) {
                                fprintf(stderr, "%s: --batch-max: expected 1..1000000, got \"%s\"\n",
                                        prog, optarg);
                                free(kprops);
                                return HO_EXIT_USAGE;
                        }
                        break;
                case OPT_BATCH_BYTES:
                        if ((batch_bytes = ho_parse_count(optarg, 1LL << 30)) < 1024) {
                                fprintf(stderr,
                                        "%s: --batch-bytes: expected 1024..1073741824, got \"%s\"\n",
                                        prog, optarg);
                                free(kprops);
                                return HO_EXIT_USAGE;
                        }
                        break;
                case OPT_BATCH_MS:
                        if ((batch_ms = ho_parse_count(optarg, 600000)) < 1) {
                                fprintf(stderr, "%s: --batch-ms: expected 1..600000, got \"%s\"\n",
                                        prog, optarg);
                                free(kprops);
                                return HO_EXIT_USAGE;
                        }
                        break;
                case OPT_STATS:
                        if ((stats_s = ho_parse_count(optarg, 86400)) < 0) {
                                fprintf(stderr,
                                        "%s: --stats-interval: expected 0..86400 seconds, got \"%s\"\n",
                                        prog, optarg);
                                free(kprops);
                                return HO_EXIT_USAGE;
                        }
                        break;
                case OPT_METRICS: metrics_addr = optarg; break;
                case OPT_CREATE_DLQ: create_dlq = true; break;
                case 'v': verbosity++; break;
                case 'q': verbosity = -1; break;
                case 'h':
                        usage(stdout, prog);
                        free(kprops);
                        return HO_EXIT_OK;
                case 'V':
                        ho_print_version(stdout, "handover-aggregate");
                        free(kprops);
                        return HO_EXIT_OK;
                default:
                        usage(stderr, prog);
                        free(kprops);
                        return HO_EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument \"%s\" (see -h)\n", prog, argv[optind]);
                free(kprops);
                return HO_EXIT_USAGE;
        }
        if (verbosity < 0)
                ho_log_set_level(HO_LOG_ERROR);
        else if (verbosity > 0)
                ho_log_set_level(HO_LOG_DEBUG);

        bool have_file = false;
        for (size_t i = 0; i < n_kprops; i++)
                have_file |= kprops[i].is_file;
        const char *def_file = ho_env("HANDOVER_KAFKA_CONFIG", NULL);
        if (!have_file && def_file) { /* the default -c, under everything the flags say */
                if (ho_check_kprop(true, def_file, errstr, sizeof(errstr))) {
                        fprintf(stderr, "%s: HANDOVER_KAFKA_CONFIG: %s\n", prog, errstr);
                        free(kprops);
                        return HO_EXIT_USAGE;
                }
                memmove(kprops + 1, kprops, n_kprops * sizeof(*kprops));
                kprops[0].is_file = true;
                kprops[0].value = def_file;
                n_kprops++;
        }
        if (!brokers && !ho_kprops_have_brokers(kprops, n_kprops)) {
                fprintf(stderr, "%s: no brokers: give -b BROKERS or set HANDOVER_BROKERS\n", prog);
                free(kprops);
                return HO_EXIT_USAGE;
        }
        if (!redis) {
                fprintf(stderr, "%s: no Redis: give -r REDIS_URL or set HANDOVER_REDIS\n", prog);
                free(kprops);
                return HO_EXIT_USAGE;
        }
        if (!*topic || !*group || !*prefix || (dlq && !*dlq)) {
                fprintf(stderr, "%s: topic, group, prefix and dead letter topic must not be empty\n",
                        prog);
                free(kprops);
                return HO_EXIT_USAGE;
        }
        char mhost[256];
        int mport;
        if (metrics_addr && ho_metrics_parse_addr(metrics_addr, mhost, sizeof(mhost), &mport,
                                                  errstr, sizeof(errstr))) {
                fprintf(stderr, "%s: --metrics: %s\n", prog, errstr);
                free(kprops);
                return HO_EXIT_USAGE;
        }
        ho_redis_url_t url;
        if (ho_redis_url_load(redis, redis_src, ho_env("HANDOVER_REDIS_PASSWORD_FILE", NULL), &url,
                              errstr, sizeof(errstr))) {
                fprintf(stderr, "%s: %s\n", prog, errstr);
                free(kprops);
                return HO_EXIT_USAGE;
        }
        ho_metrics_t *reg = NULL;
        if (metrics_addr && (!(reg = ho_metrics_new()) ||
                             ho_metrics_add_build_info(reg, errstr, sizeof(errstr)))) {
                fprintf(stderr, "%s: metrics: %s\n", prog, reg ? errstr : "out of memory");
                ho_metrics_destroy(reg);
                ho_redis_url_clear(&url);
                free(kprops);
                return HO_EXIT_FAIL;
        }

        ho_registry_t *rg = NULL;
        if (registry && *registry) {
                rg = ho_registry_new(registry, errstr, sizeof(errstr));
                for (size_t i = 0; rg && i < n_rprops; i++)
                        if (ho_registry_set_kv(rg, rprops[i], errstr, sizeof(errstr))) {
                                ho_registry_destroy(rg);
                                rg = NULL;
                        }
                if (!rg) {
                        fprintf(stderr, "%s: --registry: %s\n", prog, errstr);
                        ho_redis_url_clear(&url);
                        free(kprops);
                        free(rprops);
                        return HO_EXIT_USAGE;
                }
        } else if (n_rprops) {
                fprintf(stderr, "%s: -X %s needs --registry URL\n", prog, rprops[0]);
                ho_redis_url_clear(&url);
                free(kprops);
                free(rprops);
                return HO_EXIT_USAGE;
        }
        ho_worker_conf_t wc = {
                .registry = rg,
                .brokers = brokers,
                .topic = topic,
                .group = group,
                .dlq_topic = dlq,
                .prefix = prefix,
                .redis = &url,
                .kprops = kprops,
                .n_kprops = n_kprops,
                .batch_max_msgs = (size_t)batch_max,
                .batch_max_bytes = (size_t)batch_bytes,
                .batch_max_ms = (int)batch_ms,
                .redis_wait_replicas = (int)wait_replicas,
                .redis_wait_ms = (int)wait_ms,
                .stats_interval_s = (int)stats_s,
                .metrics = reg,
                .create_dlq = create_dlq,
        };
        ho_worker_t *w = ho_worker_new(&wc, errstr, sizeof(errstr));
        if (!w) {
                fprintf(stderr, "%s: %s\n", prog, errstr);
                ho_metrics_destroy(reg);
                ho_redis_url_clear(&url);
                ho_registry_destroy(rg);
                free(kprops);
                free(rprops);
                return HO_EXIT_USAGE;
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
                        free(kprops);
                        return HO_EXIT_FAIL;
                }
                ho_info("metrics: serving /metrics and /healthz on %s (port %d)", metrics_addr,
                        ho_metrics_server_port(srv));
        }

        ho_conf_hide_argv(argc, argv); /* the clients hold their settings now */
        ho_sig_install();

        ho_err_t err = ho_worker_run(w, &ho_sig_stop, errstr, sizeof(errstr));
        ho_metrics_server_destroy(srv); /* its health check reads the worker */
        ho_worker_destroy(w);
        ho_registry_destroy(rg);
        ho_redis_url_clear(&url);
        ho_metrics_destroy(reg); /* after the worker, which counts into it until the end */
        free(kprops);
        free(rprops);
        if (err) {
                ho_error("stopping: %s", errstr);
                return HO_EXIT_FAIL;
        }
        return HO_EXIT_OK;
}
