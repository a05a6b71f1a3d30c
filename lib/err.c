/* err.c: error codes, their descriptions and stable names. */
#include <stdarg.h>
#include <stdio.h>
#include "handover/err.h"

static const struct {
        const char *name;
        const char *desc;
} ho_errs[HO_ERR__COUNT] = {
        [HO_OK] = {"OK", "success"},
        [HO_ERR_NOMEM] = {"NOMEM", "out of memory"},
        [HO_ERR_USAGE] = {"USAGE", "invalid usage"},
        [HO_ERR_IO] = {"IO", "input/output error"},
        [HO_ERR_JSON] = {"JSON", "malformed JSON"},
        [HO_ERR_INVALID] = {"INVALID", "invalid report"},
        [HO_ERR_SCHEMA] = {"SCHEMA", "invalid schema"},
        [HO_ERR_INCOMPATIBLE] = {"INCOMPATIBLE", "incompatible schemas"},
        [HO_ERR_BAD_MARKER] = {"BAD_MARKER", "not single-object encoded (bad marker)"},
        [HO_ERR_UNKNOWN_SCHEMA] = {"UNKNOWN_SCHEMA", "unknown writer schema fingerprint"},
        [HO_ERR_TRUNCATED] = {"TRUNCATED", "truncated datum"},
        [HO_ERR_TRAILING] = {"TRAILING", "trailing bytes after datum"},
        [HO_ERR_NOT_AVRO] = {"NOT_AVRO", "bytes do not match the writer schema"},
        [HO_ERR_KAFKA] = {"KAFKA", "Kafka error"},
        [HO_ERR_REDIS] = {"REDIS", "Redis error"},
        [HO_ERR_FENCED] = {"FENCED", "stale batch: stored offset moved"},
        [HO_ERR_CONFLICT] = {"CONFLICT", "transfer state changed concurrently"},
        [HO_ERR_TIMEOUT] = {"TIMEOUT", "timed out"},
        [HO_ERR_NOT_FOUND] = {"NOT_FOUND", "not found"},
        [HO_ERR_INTERRUPTED] = {"INTERRUPTED", "interrupted"},
        [HO_ERR_LOCKED] = {"LOCKED", "held by another process"},
        [HO_ERR_CLIENT] = {"CLIENT", "cannot create a client"},
        [HO_ERR_KAFKA_FATAL] = {"KAFKA_FATAL", "Kafka error that retrying cannot fix"},
};

const char *ho_err2str(ho_err_t err) {
        if ((unsigned)err >= HO_ERR__COUNT || !ho_errs[err].desc)
                return "unknown error";
        return ho_errs[err].desc;
}

const char *ho_err_name(ho_err_t err) {
        if ((unsigned)err >= HO_ERR__COUNT || !ho_errs[err].name)
                return "UNKNOWN";
        return ho_errs[err].name;
}

bool ho_err_is_retriable(ho_err_t err) {
        switch (err) {
        case HO_ERR_KAFKA:
        case HO_ERR_REDIS:
        case HO_ERR_FENCED:
        case HO_ERR_CONFLICT:
        case HO_ERR_TIMEOUT:
        case HO_ERR_LOCKED:
                return true;
        default:
                return false;
        }
}

int ho_err_exit_code(ho_err_t err) {
        return err == HO_OK ? HO_EXIT_OK : err == HO_ERR_USAGE ? HO_EXIT_USAGE : HO_EXIT_FAIL;
}

ho_err_t ho_seterr(char *errstr, size_t errstr_size, ho_err_t err, const char *fmt, ...) {
        if (errstr && errstr_size > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(errstr, errstr_size, fmt, ap);
                va_end(ap);
        }
        return err;
}
