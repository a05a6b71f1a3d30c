/*
 * handover-stats: read a prefix's live counters from Redis, as a table, as
 * JSON, following {P}:updates, as an audit of the claimed cumulative totals,
 * or one transfer's state. Thin: flags and output; the logic is lib/stats.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "handover/clock.h"
#include "handover/cli.h"
#include "handover/conf.h"
#include "handover/kafka.h"
#include "handover/keys.h"
#include "handover/log.h"
#include "handover/redis.h"
#include "handover/stats.h"
#include "handover/util.h"
#include "handover/sig.h"
#include "handover/stdfd.h"

static void usage(FILE *fp, const char *prog) {
        fprintf(fp,
                "usage: %s [options]\n"
                "\n"
                "Show the live counters a prefix holds in Redis.\n"
                "\n"
                "options:\n"
                "  -r REDIS_URL     redis://[user:password@]host:port[/db], unix:///path,\n"
                "                   redis+cluster://host:port[,host:port...] (a Redis Cluster),\n"
                "                   or @FILE holding it (env HANDOVER_REDIS; password from a\n"
                "                   file: env HANDOVER_REDIS_PASSWORD_FILE)\n"
                "  -p PREFIX        Redis key prefix (env HANDOVER_PREFIX, default %s)\n"
                "  -b BROKERS       also show how far the stored offsets lag behind the topic\n"
                "  -t TOPIC         topic for the lag (env HANDOVER_TOPIC, default %s)\n"
                "  -X key=value     librdkafka property for the lag query (repeatable)\n"
                "  -c FILE          librdkafka properties file (default: env\n"
                "                   HANDOVER_KAFKA_CONFIG)\n"
                "  --json           one JSON object (totals, the by-* counters,\n"
                "                   largest_transfers, audit, and lag with -b)\n"
                "  --top N          rows of the long lists and largest transfers (default 10,\n"
                "                   0 for all)\n"
                "  --watch          redraw on every update published on {PREFIX}:updates\n"
                "  --interval S     with --watch, also redraw every S seconds (default 2)\n"
                "  --audit          check every claimed cumulative_total against the sum of\n"
                "                   the current inmate counts on its route up to its date\n"
                "  --transfer ID    one transfer's current state and report count\n"
                "  -v, -q           debug / errors only (env HANDOVER_LOG_LEVEL)\n"
                "  -h               this help\n"
                "  -V               versions\n"
                "\n"
                "exit codes: 0 ok, 1 runtime failure (Redis unreachable, no data, unknown\n"
                "transfer), 2 usage, 3 --audit found a claim that disagrees\n"
                "see docs/replay-stats.md\n",
                prog, HO_DEFAULT_PREFIX, HO_DEFAULT_TOPIC);
}

typedef struct ho_stats_run_s {
        const char *prefix;
        const char *topic;
        size_t top;
        bool json, audit, watch, tty;
        ho_redis_url_t url;
        redisContext *c;
        rd_kafka_t *rk;      /* NULL without -b */
        ho_kafka_watch_t kw; /* rk's errors: a refused login or TLS failure (kafka.h) */
} ho_stats_run_t;

/* The node that serves the prefix (on a cluster, the owner of {P}'s slot). */
static redisContext *ho_stats_connect(const ho_stats_run_t *run, char *errstr, size_t errstr_size) {
        char key[512];
        ho_key_format(key, sizeof(key), run->prefix, HO_KEY_NS_LIVE, ho_key_names[HO_KEY_TOTALS]);
        return ho_redis_connect_key(&run->url, key, 5000, errstr, errstr_size);
}

/* One rendering of the counters. Returns an exit code: 0, 1, or 3 for a
 * failed audit. In watch mode errors are printed and the caller carries on. */
static int ho_stats_once(ho_stats_run_t *run) {
        char errstr[512];
        json_t *snap = NULL, *lag = NULL;
        ho_stats_audit_t *audit = NULL;
        ho_err_t err;
        int rc = HO_EXIT_OK;

        if (!run->c) {
                run->c = ho_stats_connect(run, errstr, sizeof(errstr));
                if (!run->c) {
                        fprintf(stderr, "handover-stats: %s\n", errstr);
                        return HO_EXIT_FAIL;
                }
        }
        err = ho_stats_snapshot(run->c, run->prefix, "", run->top, &snap, errstr, sizeof(errstr));
        if (err == HO_OK && run->rk &&
            (err = ho_stats_lag(run->rk, run->topic, json_object_get(snap, "offsets"), 5000, &lag,
                                errstr, sizeof(errstr))) != HO_OK) {
                rd_kafka_poll(run->rk, 0); /* serves the error callback: run->kw */
                if (run->kw.fatal)
                        snprintf(errstr, sizeof(errstr), "%s", run->kw.reason);
        }
        if (err == HO_OK && (run->json || run->audit))
                err = ho_stats_audit_scan(run->c, run->prefix, "", &audit, errstr, sizeof(errstr));
        if (err != HO_OK) {
                fprintf(stderr, "handover-stats: %s\n", errstr);
                if (err == HO_ERR_REDIS) { /* reconnect on the next round */
                        redisFree(run->c);
                        run->c = NULL;
                }
                json_decref(snap);
                return HO_EXIT_FAIL;
        }
        if (run->watch && run->tty)
                fputs("\033[H\033[2J", stdout);
        if (run->json) {
                json_t *out = json_object();
                static const char *const members[] = {"totals",
                                                      "inmates_by_month",
                                                      "inmates_by_route",
                                                      "transfers_by_destination",
                                                      "inmates_by_destination",
                                                      "persons_by_affiliation",
                                                      "largest_transfers",
                                                      NULL};
                for (int i = 0; members[i]; i++)
                        json_object_set(out, members[i], json_object_get(snap, members[i]));
                json_object_set_new(out, "audit", ho_stats_audit_json(audit));
                if (lag)
                        json_object_set(out, "lag", lag);
                /* one object per line: --watch --json is JSON Lines */
                json_dumpf(out, stdout, run->watch ? JSON_COMPACT : JSON_INDENT(2));
                fputc('\n', stdout);
                json_decref(out);
        } else {
                ho_stats_print_table(stdout, run->prefix, snap, lag, ho_wall_ms(), run->top);
                if (run->audit) {
                        fputc('\n', stdout);
                        ho_stats_audit_print(stdout, audit);
                }
                if (run->watch && !run->tty)
                        fputc('\n', stdout);
        }
        fflush(stdout);
        if (run->audit && ho_stats_audit_disagree(audit))
                rc = HO_STATS_EXIT_AUDIT;
        ho_stats_audit_destroy(audit);
        json_decref(lag);
        json_decref(snap);
        return rc;
}

/* Wait up to ms for a message on the subscribed connection; drains every
 * message already there so a burst of updates causes one redraw. 1 when a
 * message came, 0 on timeout or signal, -1 when the connection failed. */
static int ho_wait_update(redisContext *sub, int ms) {
        void *reply = NULL;
        int got = 0;

        for (;;) {
                if (redisGetReplyFromReader(sub, &reply) != REDIS_OK)
                        return -1;
                if (reply) {
                        freeReplyObject(reply);
                        reply = NULL;
                        got = 1;
                        continue;
                }
                if (got)
                        return 1;
                struct pollfd pfd = {.fd = sub->fd, .events = POLLIN};
                int n = ho_sig_poll(&pfd, 1, ms);
                if (n < 0 && errno == EINTR)
                        return 0;
                if (n < 0)
                        return -1;
                if (n == 0)
                        return 0;
                if (redisBufferRead(sub) != REDIS_OK)
                        return -1;
                ms = 0; /* only drain what already arrived */
                if (redisGetReplyFromReader(sub, &reply) != REDIS_OK)
                        return -1;
                if (!reply)
                        return 0; /* a partial message: redraw on the interval */
                freeReplyObject(reply);
                reply = NULL;
                got = 1;
        }
}

static redisContext *ho_subscribe(ho_stats_run_t *run) {
        char errstr[512], chan[512];
        redisContext *sub = ho_redis_connect(&run->url, 5000, errstr, sizeof(errstr));
        if (!sub) {
                fprintf(stderr, "handover-stats: %s\n", errstr);
                return NULL;
        }
        ho_key_format(chan, sizeof(chan), run->prefix, HO_KEY_NS_LIVE, HO_KEY_CHANNEL);
        const char *argv[] = {"SUBSCRIBE", chan};
        redisReply *r = redisCommandArgv(sub, 2, argv, NULL);
        if (!r || r->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "handover-stats: redis: SUBSCRIBE \"%s\": %s\n", chan,
                        r ? r->str : sub->errstr);
                if (r)
                        freeReplyObject(r);
                redisFree(sub);
                return NULL;
        }
        freeReplyObject(r);
        /* the subscribed connection waits for messages as long as it likes */
        struct timeval none = {0, 0};
        redisSetTimeout(sub, none);
        return sub;
}

static int ho_watch(ho_stats_run_t *run, double interval) {
        redisContext *sub = NULL;
        int ms = (int)(interval * 1000);
        while (!ho_sig_stop) {
                if (!sub && !(sub = ho_subscribe(run))) {
                        /* Redis is down: try again after the interval, keep watching */
                        ho_sig_poll(NULL, 0, ms);
                        continue;
                }
                ho_stats_once(run);
                if (ho_wait_update(sub, ms) < 0) {
                        fprintf(stderr, "handover-stats: redis: subscription lost: %s\n",
                                sub->errstr[0] ? sub->errstr : "connection closed");
                        redisFree(sub);
                        sub = NULL;
                }
        }
        if (sub)
                redisFree(sub);
        return HO_EXIT_OK;
}

int main(int argc, char **argv) {
        if (ho_stdfd_guard() != 0) /* before anything opens a descriptor (stdfd.h) */
                return 1;
        const char *prog = argv[0];
        ho_log_init(prog);
        const char *transfer = NULL;
        double interval = 2.0;
        long long top = 10;
        char errstr[1024];
        ho_stats_run_t run = {0};
        rd_kafka_conf_t *kconf = NULL;
        int opt, rc = HO_EXIT_USAGE;
        ho_cli_t cli;
        if (ho_cli_init(&cli, "handover-stats", argc, errstr, sizeof(errstr))) {
                fprintf(stderr, "handover-stats: %s\n", errstr);
                return HO_EXIT_FAIL;
        }

        enum { OPT_JSON = 256, OPT_WATCH, OPT_INTERVAL, OPT_AUDIT, OPT_TRANSFER, OPT_TOP };
        static const struct option longopts[] = {{"json", no_argument, NULL, OPT_JSON},
                                                 {"watch", no_argument, NULL, OPT_WATCH},
                                                 {"interval", required_argument, NULL,
                                                  OPT_INTERVAL},
                                                 {"audit", no_argument, NULL, OPT_AUDIT},
                                                 {"transfer", required_argument, NULL,
                                                  OPT_TRANSFER},
                                                 {"top", required_argument, NULL, OPT_TOP},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {"version", no_argument, NULL, 'V'},
                                                 {NULL, 0, NULL, 0}};
        const ho_cli_usage_t cli_usage = {usage, prog, NULL, NULL};
        while ((opt = getopt_long(argc, argv, "r:p:b:t:X:c:vqhV", longopts, NULL)) != -1) {
                char *end;
                switch (opt) {
                case OPT_JSON:
                        run.json = true;
                        break;
                case OPT_WATCH:
                        run.watch = true;
                        break;
                case OPT_AUDIT:
                        run.audit = true;
                        break;
                case OPT_TRANSFER:
                        transfer = optarg;
                        break;
                case OPT_INTERVAL:
                        interval = strtod(optarg, &end);
                        if (*end || end == optarg || !(interval >= 0.1 && interval <= 86400)) {
                                fprintf(stderr,
                                        "handover-stats: --interval \"%s\": expected seconds "
                                        "0.1..86400\n",
                                        optarg);
                                goto out;
                        }
                        break;
                case OPT_TOP:
                        if (ho_parse_ll(optarg, 0, 1000000, &top)) {
                                fprintf(stderr,
                                        "handover-stats: --top \"%s\": expected a count "
                                        "0..1000000\n",
                                        optarg);
                                goto out;
                        }
                        break;
                default:
                        rc = ho_cli_dispatch(&cli, opt, optarg, &cli_usage, errstr, sizeof(errstr));
                        if (rc != HO_CLI_NEXT)
                                goto out;
                        rc = HO_EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "handover-stats: unexpected argument \"%s\" (see -h)\n",
                        argv[optind]);
                goto out;
        }
        if (ho_cli_finish(&cli, errstr, sizeof(errstr))) {
                fprintf(stderr, "handover-stats: %s\n", errstr);
                goto out;
        }
        run.prefix = cli.prefix;
        run.topic = cli.topic;
        if (transfer && (run.json || run.watch || run.audit)) {
                fprintf(stderr, "handover-stats: --transfer shows one transfer; it does not mix "
                                "with --json, --watch or --audit\n");
                goto out;
        }
        if (run.watch && run.audit) {
                fprintf(stderr, "handover-stats: --watch does not mix with --audit (run the "
                                "audit once; --watch --json includes it)\n");
                goto out;
        }
        if (!*run.prefix || strchr(run.prefix, '}')) {
                fprintf(stderr,
                        "handover-stats: -p \"%s\": expected a non-empty prefix without "
                        "'}'\n",
                        run.prefix);
                goto out;
        }
        run.top = (size_t)top;
        /* the lag only with -b: the environment's brokers are for the workers */
        if (cli.brokers_flag && !transfer &&
            !(kconf = ho_kafka_conf_new(HO_KAFKA_ADMIN, "handover-stats", &cli.kafka, NULL, errstr,
                                        sizeof(errstr)))) {
                fprintf(stderr, "handover-stats: %s\n", errstr);
                goto out;
        }
        if (ho_redis_url_load(cli.redis, cli.redis_src,
                              ho_env("HANDOVER_REDIS_PASSWORD_FILE", NULL), &run.url, errstr,
                              sizeof(errstr))) {
                fprintf(stderr, "handover-stats: %s\n", errstr);
                goto out;
        }
        if (kconf) {
                /* only watermark queries: no group, nothing consumed */
                ho_kafka_conf_watch(kconf, &run.kw, NULL);
                run.rk = ho_kafka_new(RD_KAFKA_PRODUCER, kconf, "the kafka client", errstr,
                                      sizeof(errstr));
                kconf = NULL; /* taken */
                if (!run.rk) {
                        fprintf(stderr, "handover-stats: kafka: %s\n", errstr);
                        ho_redis_url_clear(&run.url);
                        rc = HO_EXIT_FAIL;
                        goto out;
                }
        }
        rc = HO_EXIT_OK;
        ho_conf_hide_argv(argc, argv); /* the URL and the client hold their own copies */
        run.tty = isatty(STDOUT_FILENO);

        if (transfer) {
                json_t *st = NULL;
                ho_err_t err = HO_ERR_REDIS;
                run.c = ho_stats_connect(&run, errstr, sizeof(errstr));
                if (run.c)
                        err = ho_stats_transfer(run.c, run.prefix, transfer, &st, errstr,
                                                sizeof(errstr));
                if (err != HO_OK) {
                        fprintf(stderr, "handover-stats: %s\n", errstr);
                        rc = HO_EXIT_FAIL;
                } else {
                        json_t *n = json_object_get(st, "reports");
                        fprintf(stderr, "transfer \"%s\": %" JSON_INTEGER_FORMAT " report%s\n",
                                transfer, json_integer_value(n),
                                json_integer_value(n) == 1 ? "" : "s");
                        json_dumpf(st, stdout, JSON_INDENT(2));
                        fputc('\n', stdout);
                        json_decref(st);
                }
        } else if (run.watch) {
                ho_sig_install();
                rc = ho_watch(&run, interval);
        } else {
                rc = ho_stats_once(&run);
        }
        if (run.c)
                redisFree(run.c);
        if (run.rk)
                rd_kafka_destroy(run.rk);
        ho_redis_url_clear(&run.url);
out:
        if (kconf)
                rd_kafka_conf_destroy(kconf);
        ho_cli_clear(&cli);
        return rc;
}
