/* cli.c: the common flags and their one precedence (see cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/cli.h"
#include "handover/log.h"
#include "handover/registry.h"

ho_err_t ho_cli_init(ho_cli_t *c, const char *prog, int argc, char *errstr, size_t errstr_size) {
        memset(c, 0, sizeof(*c));
        c->prog = prog;
        /* at most one option per argument, and the default -c */
        size_t n = argc > 0 ? (size_t)argc + 1 : 1;
        c->kprops = calloc(n, sizeof(*c->kprops));
        c->rprops = calloc(n, sizeof(*c->rprops));
        c->owned = calloc(n, sizeof(*c->owned));
        if (!c->kprops || !c->rprops || !c->owned) {
                ho_cli_clear(c);
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        }
        return HO_OK;
}

void ho_cli_clear(ho_cli_t *c) {
        for (size_t i = 0; i < c->n_owned; i++)
                free(c->owned[i]);
        free(c->owned);
        free(c->kprops);
        free(c->rprops);
        c->kprops = NULL;
        c->rprops = NULL;
        c->owned = NULL;
        c->n_kprops = c->n_rprops = c->n_owned = 0;
}

/* Apply one prop to a scratch configuration: its error now, not later. */
static ho_err_t cli_check(const ho_conf_kprop_t *kp, char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (!conf)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        ho_err_t err = ho_conf_kafka_prop(conf, kp, errstr, errstr_size);
        rd_kafka_conf_destroy(conf);
        return err;
}

static ho_cli_res_t cli_kprop(ho_cli_t *c, ho_conf_kprop_t kp, const char *flag, char *errstr,
                              size_t errstr_size) {
        char e[1024];
        ho_err_t err = cli_check(&kp, e, sizeof(e));
        if (err) {
                /* -X's own errors start with "-X", -b's with "-b" */
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s%s", flag, e);
                return HO_CLI_ERROR;
        }
        c->kprops[c->n_kprops++] = kp;
        return HO_CLI_TAKEN;
}

ho_cli_res_t ho_cli_opt(ho_cli_t *c, int opt, const char *arg, char *errstr, size_t errstr_size) {
        switch (opt) {
        case 'b': {
                /* a flag among the -X, in their order: "bootstrap.servers=BROKERS" */
                char rderr[512];
                rd_kafka_conf_t *conf = rd_kafka_conf_new();
                rd_kafka_conf_res_t res = conf ? rd_kafka_conf_set(conf, "bootstrap.servers", arg,
                                                                   rderr, sizeof(rderr))
                                               : RD_KAFKA_CONF_INVALID;
                if (conf)
                        rd_kafka_conf_destroy(conf);
                if (res != RD_KAFKA_CONF_OK) {
                        ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "-b \"%s\": %s", arg,
                                  conf ? rderr : "out of memory");
                        return HO_CLI_ERROR;
                }
                size_t n = sizeof("bootstrap.servers=") + strlen(arg);
                char *kv = malloc(n);
                if (!kv) {
                        ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "-b: out of memory");
                        return HO_CLI_ERROR;
                }
                snprintf(kv, n, "bootstrap.servers=%s", arg);
                c->owned[c->n_owned++] = kv;
                c->brokers = arg;
                c->brokers_flag = true;
                c->kprops[c->n_kprops++] = (ho_conf_kprop_t){false, kv};
                return HO_CLI_TAKEN;
        }
        case 't':
                c->topic = arg;
                return HO_CLI_TAKEN;
        case 'g':
                c->group = arg;
                return HO_CLI_TAKEN;
        case 'r':
                c->redis = arg;
                c->redis_src = "-r";
                return HO_CLI_TAKEN;
        case 'p':
                c->prefix = arg;
                return HO_CLI_TAKEN;
        case 'X':
                if (!strcmp(arg, "list")) {
                        ho_conf_kafka_list(stdout);
                        return HO_CLI_DONE;
                }
                if (!strncmp(arg, HO_REGISTRY_PREFIX, strlen(HO_REGISTRY_PREFIX))) {
                        c->rprops[c->n_rprops++] = arg; /* the registry client's */
                        return HO_CLI_TAKEN;
                }
                return cli_kprop(c, (ho_conf_kprop_t){false, arg}, "", errstr, errstr_size);
        case 'c':
                return cli_kprop(c, (ho_conf_kprop_t){true, arg}, "-c: ", errstr, errstr_size);
        case 'v':
                c->verbosity = 1;
                return HO_CLI_TAKEN;
        case 'q':
                c->verbosity = -1;
                return HO_CLI_TAKEN;
        case 'h':
                return HO_CLI_HELP;
        case 'V':
                ho_print_version(stdout, c->prog);
                return HO_CLI_DONE;
        default:
                return HO_CLI_UNKNOWN;
        }
}

int ho_cli_dispatch(ho_cli_t *c, int opt, const char *arg, const ho_cli_usage_t *u, char *errstr,
                    size_t errstr_size) {
        switch (ho_cli_opt(c, opt, arg, errstr, errstr_size)) {
        case HO_CLI_TAKEN:
                return HO_CLI_NEXT;
        case HO_CLI_HELP:
                u->print(stdout, u->argv0);
                return HO_EXIT_OK;
        case HO_CLI_DONE:
                return HO_EXIT_OK;
        case HO_CLI_ERROR:
                fprintf(stderr, "%s: %s\n", u->me ? u->me : c->prog, errstr);
                return HO_EXIT_USAGE;
        case HO_CLI_UNKNOWN:
        default:
                if (!u->unknown)
                        u->print(stderr, u->argv0);
                else if (*u->unknown)
                        fprintf(stderr, "%s\n", u->unknown);
                return HO_EXIT_USAGE;
        }
}

ho_err_t ho_cli_finish(ho_cli_t *c, char *errstr, size_t errstr_size) {
        const char *env_brokers = ho_env("HANDOVER_BROKERS", NULL);
        if (!c->topic)
                c->topic = ho_env("HANDOVER_TOPIC", HO_DEFAULT_TOPIC);
        if (!c->group)
                c->group = ho_env("HANDOVER_GROUP", HO_DEFAULT_GROUP);
        if (!c->redis) {
                c->redis = ho_env("HANDOVER_REDIS", NULL);
                c->redis_src = "HANDOVER_REDIS";
        }
        if (!c->prefix)
                c->prefix = ho_env("HANDOVER_PREFIX", HO_DEFAULT_PREFIX);
        if (!c->brokers)
                c->brokers = env_brokers;
        if (c->verbosity < 0 && !c->quiet_keeps_log)
                ho_log_set_level(HO_LOG_ERROR);
        else if (c->verbosity > 0)
                ho_log_set_level(HO_LOG_DEBUG);
        c->kafka_default = ho_conf_kafka_default_file(c->kprops, c->n_kprops);
        if (c->kafka_default) { /* the default -c, under everything the flags say */
                ho_conf_kprop_t kp = {true, c->kafka_default};
                char e[1024];
                ho_err_t err = cli_check(&kp, e, sizeof(e));
                if (err) /* a setting to fix, as a bad -c is */
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "HANDOVER_KAFKA_CONFIG: %s", e);
                memmove(c->kprops + 1, c->kprops, c->n_kprops * sizeof(*c->kprops));
                c->kprops[0] = kp;
                c->n_kprops++;
        }
        c->kafka = (ho_kafka_user_t){c->kprops, c->n_kprops, env_brokers};
        return HO_OK;
}

bool ho_cli_has_brokers(const ho_cli_t *c) {
        if (c->brokers)
                return true;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char e[512];
        bool have = conf && ho_kafka_conf_user(conf, &c->kafka, e, sizeof(e)) == HO_OK &&
                    ho_kafka_conf_has_brokers(conf);
        if (conf)
                rd_kafka_conf_destroy(conf);
        return have;
}
