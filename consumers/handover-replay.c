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
#include "handover/conf.h"
#include "handover/log.h"
#include "handover/redis.h"
#include "handover/replay.h"
#include "handover/sig.h"

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
                "  -r REDIS_URL      redis://[user:password@]host:port[/db] or unix:///path,\n"
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
                "  --into PREFIX2    build and switch into PREFIX2; PREFIX stays untouched\n"
                "  --dry-run         build, print the totals and how they differ from the\n"
                "                    live ones, delete the build, switch nothing\n"
                "  --export FILE     write the window's decoded reports to FILE as an Avro\n"
                "                    object container file (deflate; no Redis needed)\n"
                "  --batch-max N     max messages per batch (default 5000)\n"
                "  -q, --quiet       no progress line, no summary\n"
                "  -h                this help\n"
                "  -V                versions\n"
                "\n"
                "A window that does not start at the beginning can only be built with\n"
                "--into, --dry-run or --export: it would drop live history.\n"
                "\n"
                "exit codes: 0 ok, 1 runtime failure (nothing switched), 2 usage\n"
                "see docs/replay-stats.md\n",
                prog, HO_DEFAULT_TOPIC, HO_DEFAULT_PREFIX);
}

static int ho_bad_prefix(const char *p) {
        return !p || !*p || strchr(p, '{') || strchr(p, '}');
}

int main(int argc, char **argv) {
        const char *prog = argv[0];
        ho_log_init(prog);
        const char *brokers = ho_env("HANDOVER_BROKERS", NULL);
        const char *redis = ho_env("HANDOVER_REDIS", NULL), *redis_src = "HANDOVER_REDIS";
        ho_replay_conf_t conf = {.topic = ho_env("HANDOVER_TOPIC", HO_DEFAULT_TOPIC),
                                 .prefix = ho_env("HANDOVER_PREFIX", HO_DEFAULT_PREFIX),
                                 .until_ms = -1};
        ho_replay_from_offset_t *offsets = NULL;
        char errstr[512];
        int opt, rc = HO_EXIT_OK;
        ho_redis_url_t url = {0};
        bool have_url = false;

        rd_kafka_conf_t *kconf = rd_kafka_conf_new();
        ho_replay_kconf_defaults(kconf);
        /* -X and -c in order, applied after the default -c (conf.h) */
        ho_conf_kprop_t *kprops = calloc((size_t)argc, sizeof(*kprops));
        size_t n_kprops = 0;
        if (!kprops) {
                rd_kafka_conf_destroy(kconf);
                fprintf(stderr, "handover-replay: out of memory\n");
                return HO_EXIT_FAIL;
        }
        enum { OPT_FROM = 256, OPT_UNTIL, OPT_INTO, OPT_DRY, OPT_EXPORT, OPT_BATCH };
        static const struct option longopts[] = {
                {"from", required_argument, NULL, OPT_FROM},
                {"until", required_argument, NULL, OPT_UNTIL},
                {"into", required_argument, NULL, OPT_INTO},
                {"dry-run", no_argument, NULL, OPT_DRY},
                {"export", required_argument, NULL, OPT_EXPORT},
                {"batch-max", required_argument, NULL, OPT_BATCH},
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
        while ((opt = getopt_long(argc, argv, "b:t:r:p:X:c:qhV", longopts, NULL)) != -1) {
                char *end;
                switch (opt) {
                case 'b': brokers = optarg; break;
                case 't': conf.topic = optarg; break;
                case 'r': redis = optarg; redis_src = "-r"; break;
                case 'p': conf.prefix = optarg; break;
                case 'X':
                        if (!strcmp(optarg, "list")) {
                                ho_conf_kafka_list(stdout);
                                goto done;
                        }
                        kprops[n_kprops++] = (ho_conf_kprop_t){false, optarg};
                        break;
                case 'c':
                        kprops[n_kprops++] = (ho_conf_kprop_t){true, optarg};
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
                case OPT_INTO: conf.into = optarg; break;
                case OPT_DRY: conf.dry_run = true; break;
                case OPT_EXPORT: conf.export_path = optarg; break;
                case OPT_BATCH: {
                        long long v = strtoll(optarg, &end, 10);
                        if (*end || end == optarg || v < 1 || v > 1000000)
                                USAGE_FAIL("--batch-max: expected 1..1000000, got \"%s\"", optarg);
                        conf.max_batch_msgs = (size_t)v;
                        break;
                }
                case 'q': conf.quiet = true; break;
                case 'h': usage(stdout, prog); goto done;
                case 'V': ho_print_version(stdout, "handover-replay"); goto done;
                default:
                        usage(stderr, prog);
                        rc = HO_EXIT_USAGE;
                        goto done;
                }
        }
        if (optind < argc)
                USAGE_FAIL("unexpected argument \"%s\" (see -h)", argv[optind]);
        if (ho_conf_kafka_apply(kconf, kprops, n_kprops, errstr, sizeof(errstr)))
                USAGE_FAIL("%s%s", ho_conf_kafka_default_file(kprops, n_kprops)
                                           ? "HANDOVER_KAFKA_CONFIG: " : "", errstr);
        if (!brokers) {
                char v[512];
                size_t vsz = sizeof(v);
                if (rd_kafka_conf_get(kconf, "bootstrap.servers", v, &vsz) != RD_KAFKA_CONF_OK ||
                    !v[0])
                        USAGE_FAIL("no brokers (give -b BROKERS or set HANDOVER_BROKERS)");
        } else if (rd_kafka_conf_set(kconf, "bootstrap.servers", brokers, errstr,
                                     sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                USAGE_FAIL("-b \"%s\": %s", brokers, errstr);
        }
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
        if (conf.from != HO_REPLAY_FROM_EARLIEST && !conf.into && !conf.dry_run &&
            !conf.export_path)
                USAGE_FAIL("--from other than earliest would replace the live counters of \"%s\" "
                           "with a window that lacks the earlier history; use --into PREFIX2, "
                           "--dry-run or --export",
                           conf.prefix);
        if (!conf.export_path) {
                if (ho_redis_url_load(redis, redis_src,
                                      ho_env("HANDOVER_REDIS_PASSWORD_FILE", NULL), &url, errstr,
                                      sizeof(errstr)))
                        USAGE_FAIL("%s", errstr);
                have_url = true;
        }
        conf.progress = !conf.quiet && isatty(STDERR_FILENO);
        ho_conf_hide_argv(argc, argv); /* kconf and url hold their own copies */

        ho_sig_install();

        ho_replay_result_t res;
        rd_kafka_conf_t *kc = kconf;
        kconf = NULL; /* taken by ho_replay_run in every case */
        ho_err_t err = ho_replay_run(&conf, kc, have_url ? &url : NULL, &ho_sig_stop, stdout, &res,
                                     errstr, sizeof(errstr));
        const char *target = conf.into ? conf.into : conf.prefix;
        if (err != HO_OK) {
                fprintf(stderr, "handover-replay: %s\n", errstr);
                rc = err == HO_ERR_USAGE ? HO_EXIT_USAGE : HO_EXIT_FAIL;
        } else if (!conf.quiet) {
                double s = (double)res.elapsed_ms / 1000.0;
                fprintf(stderr,
                        "handover-replay: %" PRIu64 " messages from \"%s\" (%d partitions): %" PRIu64
                        " reports, %" PRIu64 " rejected, in %.1f s (%.0f/s); %s\n",
                        res.messages, conf.topic, res.partitions, res.reports, res.rejected, s,
                        s > 0 ? (double)res.messages / s : 0.0,
                        conf.export_path ? "exported" : conf.dry_run ? "dry run, nothing switched"
                                                                        : "switched in");
                if (conf.export_path)
                        fprintf(stderr, "handover-replay: wrote \"%s\"\n", conf.export_path);
                else if (!conf.dry_run)
                        fprintf(stderr, "handover-replay: prefix \"%s\" now holds the rebuild\n",
                                target);
        }
done:
        if (kconf)
                rd_kafka_conf_destroy(kconf);
        free(kprops);
        free(offsets);
        if (have_url)
                ho_redis_url_clear(&url);
        return rc;
}
