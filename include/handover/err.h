/*
 * err.h: handover's one error style. Functions return ho_err_t (0 = OK);
 * constructors return NULL and fill the caller's errstr buffer. Each
 * dependency's error style (librdkafka codes, hiredis c->err, avro_strerror())
 * is translated into these at the module boundary.
 */
#ifndef HO_ERR_H
#define HO_ERR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum ho_err_e {
        HO_OK = 0,
        HO_ERR_NOMEM,        /* out of memory: fatal */
        HO_ERR_USAGE,        /* bad flag, argument or setting: fatal, exit 2 */
        HO_ERR_IO,           /* file or socket I/O: fatal */
        HO_ERR_JSON,         /* not JSON, or not one JSON object: fatal for this input */
        HO_ERR_INVALID,      /* a report that breaks a validation rule: fatal for it */
        HO_ERR_SCHEMA,       /* a schema that does not parse: fatal */
        HO_ERR_INCOMPATIBLE, /* schemas that cannot read each other's data: fatal */
        /* decoder errors, one per way untrusted bytes can be wrong: fatal for the
         * message (a dead letter), never for the program */
        HO_ERR_BAD_MARKER,     /* value does not start with C3 01 */
        HO_ERR_UNKNOWN_SCHEMA, /* fingerprint of no schema we know */
        HO_ERR_TRUNCATED,      /* datum ends before the schema does */
        HO_ERR_TRAILING,       /* bytes left after the datum (over-long) */
        HO_ERR_NOT_AVRO,       /* bytes that do not follow the schema */
        /* services */
        HO_ERR_KAFKA,       /* librdkafka error (see errstr): retriable */
        HO_ERR_REDIS,       /* Redis error or unreachable: retriable */
        HO_ERR_FENCED,      /* stored offset moved: batch is stale, drop it (retriable) */
        HO_ERR_CONFLICT,    /* a transfer's state moved under us: refold (retriable) */
        HO_ERR_TIMEOUT,     /* a bound ran out waiting for a service: retriable */
        HO_ERR_NOT_FOUND,   /* what was asked for does not exist: fatal */
        HO_ERR_INTERRUPTED, /* the caller's stop flag was set (a signal): fatal, not a failure
                                * of the work; the program decides its exit code */
        HO_ERR_LOCKED,      /* a lock another process holds (another replay): retriable later */
        HO_ERR_CLIENT,      /* a client could not be created (rd_kafka_new refused the
                                * combination of settings it was given): fatal */
        HO_ERR_KAFKA_FATAL, /* a Kafka error retrying cannot fix: librdkafka's fatal
                                * error, a refused login, a failed TLS handshake: fatal */
        HO_ERR__COUNT
} ho_err_t;

/*
 * Fatal versus retriable, in one place: a retriable error is a service that
 * may answer later (Kafka, Redis, a timeout, a stale batch, a lock someone
 * else holds); the same call may succeed if tried again with backoff. Every
 * other code is fatal for what was tried: retrying the same input or
 * configuration gives the same error.
 */
bool ho_err_is_retriable(ho_err_t err);

/* Exit codes shared by every program (documented in the README). */
#define HO_EXIT_OK 0
#define HO_EXIT_FAIL 1  /* runtime failure: something was not done */
#define HO_EXIT_USAGE 2 /* bad flags or arguments */

/* The exit code a program gives for err (the README's table): HO_OK is
 * HO_EXIT_OK, HO_ERR_USAGE is HO_EXIT_USAGE, every other code HO_EXIT_FAIL. */
int ho_err_exit_code(ho_err_t err);

/* Human description, e.g. "truncated datum". Never NULL. */
const char *ho_err2str(ho_err_t err);

/* Stable upper-case name, e.g. "TRUNCATED": used in dead-letter headers and
 * logs that scripts read. Never NULL. */
const char *ho_err_name(ho_err_t err);

/* snprintf into errstr (if errstr_size > 0) and return err: lets a function
 * say `return ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "...", ...);` */
ho_err_t ho_seterr(char *errstr, size_t errstr_size, ho_err_t err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#endif
