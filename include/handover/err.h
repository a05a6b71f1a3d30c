/*
 * err.h: handover's one error style. Functions return ho_err_t (0 = OK);
 * constructors return NULL and fill the caller's errstr buffer. Each
 * dependency's error style (librdkafka codes, hiredis c->err, avro_strerror())
 * is translated into these at the module boundary.
 */
#ifndef HO_ERR_H
#define HO_ERR_H

#include <stddef.h>

typedef enum ho_err_e {
        HO_OK = 0,
        HO_ERR_NOMEM,          /* out of memory (fatal) */
        HO_ERR_USAGE,          /* bad flag or argument */
        HO_ERR_IO,             /* file or socket I/O */
        HO_ERR_JSON,           /* not JSON, or not one JSON object */
        HO_ERR_INVALID,        /* a report that breaks a validation rule */
        HO_ERR_SCHEMA,         /* a schema that does not parse */
        HO_ERR_INCOMPATIBLE,   /* schemas that cannot read each other's data */
        /* decoder errors, one per way untrusted bytes can be wrong */
        HO_ERR_BAD_MARKER,     /* value does not start with C3 01 */
        HO_ERR_UNKNOWN_SCHEMA, /* fingerprint of no schema we know */
        HO_ERR_TRUNCATED,      /* datum ends before the schema does */
        HO_ERR_TRAILING,       /* bytes left after the datum (over-long) */
        HO_ERR_NOT_AVRO,       /* bytes that do not follow the schema */
        /* services */
        HO_ERR_KAFKA,          /* librdkafka error (see errstr) */
        HO_ERR_REDIS,          /* Redis error or unreachable (retriable) */
        HO_ERR_FENCED,         /* stored offset moved: batch is stale, drop it */
        HO_ERR_CONFLICT,       /* a transfer's state moved under us: refold */
        HO_ERR_TIMEOUT,
        HO_ERR_NOT_FOUND,
        HO_ERR__COUNT
} ho_err_t;

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
