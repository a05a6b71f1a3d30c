/*
 * registry.h: a client of a Confluent-compatible schema registry (Confluent
 * Schema Registry, Apicurio's /apis/ccompat/v7, ...), over libcurl.
 *
 * Values in the Confluent framing carry a 4-byte schema id instead of a
 * fingerprint; this module turns an id into the writer schema's text, and a
 * writer schema into its id under a subject. Ids the registry answered are
 * cached (bounded, first in first out): a schema id never changes meaning, so
 * each is fetched once. An id the registry says it does not know is
 * HO_ERR_NOT_FOUND (remembered for a few seconds, so a flood of such values
 * does not become a flood of requests); a registry that cannot be asked
 * (unreachable, timed out, 5xx after the retries) is HO_ERR_TIMEOUT, which is
 * retriable: the caller waits, it does not give up on the value.
 *
 * Credentials (registry.basic.auth.user.info) go to libcurl only: never into
 * a URL, a log line or an error. One client is not thread-safe: one per
 * thread (each codec has its own).
 */
#ifndef HO_REGISTRY_H
#define HO_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover/err.h"

#define HO_REGISTRY_PREFIX "registry." /* -X keys with it are the client's, not librdkafka's */
#define HO_REGISTRY_TIMEOUT_MS 5000    /* per request, connection included */
#define HO_REGISTRY_RETRIES 3          /* more tries after a 5xx or a transport error */
#define HO_REGISTRY_CACHE_MAX 1000     /* schema ids kept */
#define HO_REGISTRY_MISS_TTL_MS 5000   /* how long an unknown id is not asked again */

/* USER:PASSWORD for basic auth, read by ho_registry_new() when set: unlike
 * -X registry.basic.auth.user.info it does not show in the process title. */
#define HO_REGISTRY_USER_INFO_ENV "HANDOVER_REGISTRY_USER_INFO"

/* The default value subject of a topic (Confluent's TopicNameStrategy). */
#define HO_REGISTRY_SUBJECT_SUFFIX "-value"

typedef struct ho_registry_s ho_registry_t;

/* A client of the registry at url, the API's base (e.g.
 * "http://127.0.0.1:8081" or ".../apis/ccompat/v7"; http or https). A URL
 * with credentials in it is refused (HO_ERR_USAGE class): they would end up
 * in logs. Basic auth comes from $HANDOVER_REGISTRY_USER_INFO when set (a
 * later ho_registry_set overrides it). NULL + errstr on a bad URL or user
 * info. Sends nothing yet. */
ho_registry_t *ho_registry_new(const char *url, char *errstr, size_t errstr_size);
void ho_registry_destroy(ho_registry_t *rg);

/* Set one property, key without or with the "registry." prefix:
 *   basic.auth.user.info  USER:PASSWORD (HTTP basic auth)
 *   ssl.ca.location       CA bundle file for https
 *   request.timeout.ms    per request (default HO_REGISTRY_TIMEOUT_MS)
 *   retries               after a 5xx or transport error (default HO_REGISTRY_RETRIES)
 *   retry.backoff.ms      first wait between tries, doubled each time (default 100)
 *   cache.max             schema ids kept (default HO_REGISTRY_CACHE_MAX)
 * HO_ERR_USAGE for an unknown key or a bad value (the value is never quoted
 * back for basic.auth.user.info). */
ho_err_t ho_registry_set(ho_registry_t *rg, const char *key, const char *value, char *errstr,
                         size_t errstr_size);
/* The same from "key=value" (one -X argument). */
ho_err_t ho_registry_set_kv(ho_registry_t *rg, const char *kv, char *errstr, size_t errstr_size);

/* The base URL, for logs (it holds no credentials). */
const char *ho_registry_url(const ho_registry_t *rg);

/* Register the Avro schema (JSON text) under subject, or find it there when
 * it is registered already (the registry answers the existing id): *id is its
 * global schema id. The registry enforces the subject's compatibility level:
 * a schema it refuses is HO_ERR_INCOMPATIBLE with the registry's reason.
 * HO_ERR_TIMEOUT when it cannot be asked; HO_ERR_IO for other refusals
 * (401/403: credentials). The id is cached with the schema. */
ho_err_t ho_registry_register(ho_registry_t *rg, const char *subject, const char *schema,
                              int32_t *id, char *errstr, size_t errstr_size);

/* The text of schema id: from the cache, else asked once. *schema is owned
 * by rg and stays valid until rg is destroyed or the id is evicted (the next
 * call may evict it: copy or parse it before calling again). HO_ERR_NOT_FOUND
 * when the registry does not know the id (or it is not an Avro schema);
 * HO_ERR_TIMEOUT when the registry cannot be asked. */
ho_err_t ho_registry_schema(ho_registry_t *rg, int32_t id, const char **schema, char *errstr,
                            size_t errstr_size);

/* Put a known id into the cache (a producer's own schema; tests). */
ho_err_t ho_registry_prime(ho_registry_t *rg, int32_t id, const char *schema);

typedef struct ho_registry_stats_s {
        uint64_t requests; /* HTTP requests sent, retries included */
        uint64_t hits;     /* ids answered from the cache */
        uint64_t misses;   /* ids not in the cache (each one request or more) */
        uint64_t evicted;  /* ids dropped to keep the cache bounded */
        size_t cached;     /* ids in the cache now */
} ho_registry_stats_t;
void ho_registry_stats(const ho_registry_t *rg, ho_registry_stats_t *out);

/* Parse a registry answer (exposed for tests and fuzzing): {"id":N} and
 * {"schema":"..."[,"schemaType":"AVRO"]}. *schema is malloc'd (caller
 * frees). HO_ERR_JSON when the body is not what the API promises. */
ho_err_t ho_registry_parse_id(const char *body, size_t len, int32_t *id, char *errstr,
                              size_t errstr_size);
ho_err_t ho_registry_parse_schema(const char *body, size_t len, char **schema, char *errstr,
                                  size_t errstr_size);

#endif
