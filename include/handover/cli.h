/*
 * cli.h: the flags every program shares, parsed one way. A program keeps
 * its own getopt_long loop for its own flags and hands each option it does
 * not know to ho_cli_opt; ho_cli_finish then settles the one precedence
 * (the README's Configuration section):
 *
 *   defaults < -c FILE (or HANDOVER_KAFKA_CONFIG) < environment < flags
 *
 * with -b and repeated -X applied in command-line order among the flags
 * (the last one wins), and several -c files in their order below them.
 *
 * The common flags: -b BROKERS, -t TOPIC, -g GROUP, -r REDIS_URL, -p PREFIX,
 * -X key=value (-X list, -X registry.KEY=VALUE for the schema registry's
 * client), -c FILE, -v (debug), -q (errors only), -h/--help, -V/--version.
 * A program names the ones it takes in its getopt string.
 */
#ifndef HO_CLI_H
#define HO_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "handover/conf.h"
#include "handover/err.h"
#include "handover/kafka.h"

typedef struct ho_cli_s {
        const char *prog; /* the name in messages and -V */
        /* after ho_cli_finish: the flag, else the environment, else the default */
        const char *topic;     /* -t, HANDOVER_TOPIC, HO_DEFAULT_TOPIC */
        const char *group;     /* -g, HANDOVER_GROUP, HO_DEFAULT_GROUP */
        const char *redis;     /* -r, HANDOVER_REDIS, NULL */
        const char *redis_src; /* "-r" or "HANDOVER_REDIS", for messages */
        const char *prefix;    /* -p, HANDOVER_PREFIX, HO_DEFAULT_PREFIX */
        const char *brokers;   /* the last -b, else HANDOVER_BROKERS, else NULL */
        bool brokers_flag;     /* a -b was given */
        int verbosity;         /* -v: 1 (debug), -q: -1, 0; the last one wins */
        bool quiet_keeps_log;  /* set before finish: -q silences the program's own
                                   * progress and summary, not its warnings (replay, produce) */
        /* the Kafka settings: the default -c first (when there is no -c),
         * then -c, -X and -b in command-line order */
        ho_conf_kprop_t *kprops;
        size_t n_kprops;
        const char *kafka_default; /* HANDOVER_KAFKA_CONFIG when it is applied */
        ho_kafka_user_t kafka;     /* kprops and HANDOVER_BROKERS, for kafka.h */
        const char **rprops;       /* -X registry.KEY=VALUE, in order */
        size_t n_rprops;
        char **owned; /* the "bootstrap.servers=..." of each -b */
        size_t n_owned;
} ho_cli_t;

/* What ho_cli_opt did with an option. */
typedef enum ho_cli_res_e {
        HO_CLI_TAKEN,   /* a common flag, recorded */
        HO_CLI_UNKNOWN, /* not a common one (getopt's '?' included): the program's usage error */
        HO_CLI_HELP,    /* -h: the program prints its usage to stdout and exits 0 */
        HO_CLI_DONE,    /* -V or -X list: printed; the program exits 0 */
        HO_CLI_ERROR    /* a bad value: errstr says which flag and why (exit 2) */
} ho_cli_res_t;

/* How a program answers what ho_cli_opt returns (ho_cli_dispatch). */
typedef struct ho_cli_usage_s {
        void (*print)(FILE *fp, const char *argv0); /* the program's usage text */
        const char *argv0;                          /* print's second argument */
        const char *me;      /* a bad value is "ME: errstr" on stderr; NULL: c->prog */
        const char *unknown; /* after getopt's message for an unknown option: NULL
                              * prints the usage on stderr, else this text ("" for none) */
} ho_cli_usage_t;

/* ho_cli_dispatch's answer when the program's loop goes on. */
#define HO_CLI_NEXT (-1)

/* Start: c zeroed, room for argc options. HO_ERR_NOMEM. */
ho_err_t ho_cli_init(ho_cli_t *c, const char *prog, int argc, char *errstr, size_t errstr_size);
/* Free what ho_cli_init and ho_cli_opt allocated (kprops and the -b
 * strings; the others stay argv's and the environment's). */
void ho_cli_clear(ho_cli_t *c);

/* Take one option getopt_long returned (opt, optarg). -X and -c are
 * checked at once against a scratch configuration, so a typo is a usage
 * error before anything starts. */
ho_cli_res_t ho_cli_opt(ho_cli_t *c, int opt, const char *arg, char *errstr, size_t errstr_size);

/* ho_cli_opt and the program's answer to it, for the default case of
 * a program's getopt loop: HO_CLI_NEXT when the option was a common flag
 * and was recorded, else the exit code after printing what the answer is:
 * -h the usage on stdout and HO_EXIT_OK; -V or -X list (printed by
 * ho_cli_opt) HO_EXIT_OK; a bad value "ME: errstr" on stderr and
 * HO_EXIT_USAGE; an unknown option u->unknown (or the usage) on stderr and
 * HO_EXIT_USAGE. */
int ho_cli_dispatch(ho_cli_t *c, int opt, const char *arg, const ho_cli_usage_t *u, char *errstr,
                    size_t errstr_size);

/* After the loop: the environment under the flags, the default -c file
 * (checked like a -c), the log level (-v debug, -q errors only unless
 * quiet_keeps_log, over HANDOVER_LOG_LEVEL).
 * HO_ERR_USAGE when HANDOVER_KAFKA_CONFIG cannot be read or holds a bad
 * line ("HANDOVER_KAFKA_CONFIG: FILE:LINE: ..."). */
ho_err_t ho_cli_finish(ho_cli_t *c, char *errstr, size_t errstr_size);

/* Whether brokers are known: -b, HANDOVER_BROKERS, or bootstrap.servers
 * in -c/-X. */
bool ho_cli_has_brokers(const ho_cli_t *c);

#endif
