/*
 * kafka.h: every librdkafka client handover makes, built one way. A role
 * names what a client is for and holds its defaults (which the user may
 * override) and the settings the role depends on (which the user may not);
 * the user's settings go between them in the precedence of cli.h; one log
 * and error policy serves every client.
 */
#ifndef HO_KAFKA_H
#define HO_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "handover/saylimit.h"
#include "handover/conf.h"
#include "handover/err.h"

typedef enum ho_kafka_role_e {
        HO_KAFKA_CONSUMER,     /* handover-aggregate's group member; offsets live in Redis */
        HO_KAFKA_DLQ_PRODUCER, /* handover-aggregate's dead letters: one at a time, idempotent */
        HO_KAFKA_PRODUCER,     /* handover-produce and redrive's send: bulk, idempotent, lz4 */
        HO_KAFKA_READER,       /* replay and redrive's list: assigned partitions, no commits */
        HO_KAFKA_ADMIN,        /* metadata, watermarks, admin requests (stats -b, topic) */
        HO_KAFKA__ROLES
} ho_kafka_role_t;

/* The user's Kafka settings, as cli.h gathers them. Strings stay the
 * caller's. */
typedef struct ho_kafka_user_s {
        /* -c FILE, -X key=value and -b ("bootstrap.servers=BROKERS"), in
         * command-line order; the default -c (HANDOVER_KAFKA_CONFIG) is a
         * file prop the caller puts first when there is no -c */
        const ho_conf_kprop_t *props;
        size_t n_props;
        const char *brokers; /* HANDOVER_BROKERS, or NULL */
} ho_kafka_user_t;

/* The settings of role, then client_id as client.id (NULL: none), into conf.
 * HO_ERR_USAGE when librdkafka refuses one (a build without lz4, say). */
ho_err_t ho_kafka_conf_defaults(ho_kafka_role_t role, const char *client_id, rd_kafka_conf_t *conf,
                                char *errstr, size_t errstr_size);

/* Apply u over conf, lowest first: every file prop (in order), then
 * u->brokers, then every flag prop (-b, -X) in command-line order. Errors
 * name the file and line or the flag (conf.h); all are HO_ERR_USAGE (a file
 * that cannot be read included). */
ho_err_t ho_kafka_conf_user(rd_kafka_conf_t *conf, const ho_kafka_user_t *u, char *errstr,
                            size_t errstr_size);

/* A new configuration for role: its defaults and client_id, then u (may be
 * NULL), then what the role depends on. NULL + errstr on a bad setting
 * (*errp, may be NULL, gets the code). The caller frees it, or hands it to
 * ho_kafka_new. */
rd_kafka_conf_t *ho_kafka_conf_new(ho_kafka_role_t role, const char *client_id,
                                   const ho_kafka_user_t *u, ho_err_t *errp, char *errstr,
                                   size_t errstr_size);

/* Whether conf has a non-empty bootstrap.servers. */
bool ho_kafka_conf_has_brokers(const rd_kafka_conf_t *conf);

/*
 * The one policy for what librdkafka says, for every client:
 *  - log lines go to ho_log at their syslog level, except what the error
 *    callback says better (connection failures), properties meant for the
 *    other kind of client, and failed commits of the offsets Kafka only
 *    mirrors: those are debug;
 *  - an error nothing can fix (a fatal error, a refused login, a failed TLS
 *    handshake) sets fatal, keeps its message in reason and is logged once;
 *  - any other error is retriable: librdkafka retries by itself; it is kept
 *    in last and logged "kafka: NAME: reason (retrying)" at most every 5 s
 *    per broker and kind of trouble (saylimit.h; every time at debug level).
 * The callbacks run inside the caller's own poll calls.
 */
typedef struct ho_kafka_watch_s {
        void *opaque;                   /* the caller's own, for its other callbacks */
        void (*on_error)(void *opaque); /* NULL, or told of each retriable error */
        volatile bool fatal;            /* stop: retrying cannot help */
        int fatal_err;                  /* its librdkafka code */
        char reason[512];               /* the fatal error's message */
        char last[512];                 /* the latest retriable error's reason */
        ho_saylimit_t say;              /* each broker and kind of trouble on its own clock */
} ho_kafka_watch_t;

/* Route conf's log and error callbacks through kw (zeroed here, kept by
 * the caller for the client's life) and make kw conf's opaque; opaque is
 * the caller's own, returned by ho_kafka_opaque in its other callbacks. */
void ho_kafka_conf_watch(rd_kafka_conf_t *conf, ho_kafka_watch_t *kw, void *opaque);

/* The caller's opaque, from the opaque librdkafka passes a callback of a
 * watched client. */
void *ho_kafka_opaque(void *rk_opaque);

/* What the error callback does, for errors that come another way (a
 * consumed message's error). */
void ho_kafka_watch_error(ho_kafka_watch_t *kw, rd_kafka_t *rk, int err, const char *reason);

/* rd_kafka_new, which takes conf in every case. NULL + errstr
 * (HO_ERR_CLIENT: librdkafka refused the combination of settings) naming
 * what was being made ("the kafka consumer"). */
rd_kafka_t *ho_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what,
                         char *errstr, size_t errstr_size);

#endif
