/*
 * registry.c: the Confluent schema registry API over libcurl (registry.h).
 *
 * Two calls only: POST {url}/subjects/{subject}/versions to register a
 * writer schema, GET {url}/schemas/ids/{id} to read one. Every request has a
 * total timeout; a 5xx answer or a transport error is retried with doubling
 * backoff a bounded number of times, anything else is final.
 */
#include "handover/clock.h"
#include "handover/registry.h"
#include "handover/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX (4u << 20) /* a schema answer larger than this is refused */

typedef struct entry_s {
        int32_t id;
        bool missing;       /* the registry said it does not know the id */
        int64_t expires_ms; /* missing entries only */
        char *schema;       /* owned; NULL when missing */
        struct entry_s *next;
} entry_t;

struct ho_registry_s {
        char *url; /* no trailing slash */
        char *userpwd;
        char *ca;
        long timeout_ms;
        int retries;
        int backoff_ms;
        size_t cache_max;
        CURL *curl;
        char curlerr[CURL_ERROR_SIZE];
        /* the cache: chained hash by id, and a ring of ids in insertion order
         * for first-in-first-out eviction */
        entry_t **buckets;
        size_t n_buckets;
        int32_t *ring;
        size_t ring_head, n_cached;
        ho_registry_stats_t st;
};

typedef struct body_s {
        char *data;
        size_t len;
        bool too_big;
} body_t;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void) {
        curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- cache ---------------------------------------------------------------- */

static size_t bucket_of(const ho_registry_t *rg, int32_t id) {
        return ((uint32_t)id * 2654435761u) % rg->n_buckets;
}

static entry_t *cache_find(ho_registry_t *rg, int32_t id) {
        for (entry_t *e = rg->buckets[bucket_of(rg, id)]; e; e = e->next)
                if (e->id == id)
                        return e;
        return NULL;
}

static void cache_drop(ho_registry_t *rg, int32_t id) {
        entry_t **pp = &rg->buckets[bucket_of(rg, id)];
        for (; *pp; pp = &(*pp)->next) {
                if ((*pp)->id == id) {
                        entry_t *e = *pp;
                        *pp = e->next;
                        free(e->schema);
                        free(e);
                        rg->n_cached--;
                        return;
                }
        }
}

/* Allocate the table for cache_max entries (again, when it changes). */
static ho_err_t cache_reset(ho_registry_t *rg, size_t cache_max) {
        if (rg->buckets) {
                for (size_t i = 0; i < rg->n_buckets; i++) {
                        entry_t *e = rg->buckets[i];
                        while (e) {
                                entry_t *n = e->next;
                                free(e->schema);
                                free(e);
                                e = n;
                        }
                }
        }
        free(rg->buckets);
        free(rg->ring);
        rg->n_buckets = cache_max + 1;
        rg->buckets = calloc(rg->n_buckets, sizeof(*rg->buckets));
        rg->ring = calloc(cache_max, sizeof(*rg->ring));
        rg->cache_max = cache_max;
        rg->ring_head = rg->n_cached = 0;
        return rg->buckets && rg->ring ? HO_OK : HO_ERR_NOMEM;
}

/* Insert (or replace) id; schema is taken over (NULL for a missing id). */
static ho_err_t cache_put(ho_registry_t *rg, int32_t id, char *schema, bool missing) {
        entry_t *e = cache_find(rg, id);
        if (e) {
                free(e->schema);
                e->schema = schema;
                e->missing = missing;
                e->expires_ms = missing ? ho_mono_ms() + HO_REGISTRY_MISS_TTL_MS : 0;
                return HO_OK;
        }
        if (rg->n_cached == rg->cache_max) {
                /* the oldest id in the ring goes; the ring slot is reused */
                size_t oldest = (rg->ring_head + rg->cache_max - rg->n_cached) % rg->cache_max;
                cache_drop(rg, rg->ring[oldest]);
                rg->st.evicted++;
        }
        if (!(e = calloc(1, sizeof(*e)))) {
                free(schema);
                return HO_ERR_NOMEM;
        }
        e->id = id;
        e->schema = schema;
        e->missing = missing;
        e->expires_ms = missing ? ho_mono_ms() + HO_REGISTRY_MISS_TTL_MS : 0;
        size_t b = bucket_of(rg, id);
        e->next = rg->buckets[b];
        rg->buckets[b] = e;
        rg->ring[rg->ring_head] = id;
        rg->ring_head = (rg->ring_head + 1) % rg->cache_max;
        rg->n_cached++;
        return HO_OK;
}

/* ---- lifetime and settings ------------------------------------------------ */

ho_registry_t *ho_registry_new(const char *url, char *errstr, size_t errstr_size) {
        ho_registry_t *rg;
        size_t n;

        if (!url || !*url) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "registry URL is empty");
                return NULL;
        }
        if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                          "registry URL must start with http:// or https://");
                return NULL;
        }
        const char *host = strstr(url, "://") + 3;
        size_t hlen = strcspn(host, "/?#");
        if (memchr(host, '@', hlen)) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                          "registry URL must not hold credentials: give them as "
                          "-X registry.basic.auth.user.info=USER:PASSWORD");
                return NULL;
        }
        if (hlen == 0 || strpbrk(url, " \t\r\n?#")) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                          "registry URL \"%s\" has no host, or a space, query or fragment", url);
                return NULL;
        }
        pthread_once(&curl_once, curl_init);
        if (curl_init_rc != CURLE_OK) {
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "libcurl: %s",
                          curl_easy_strerror(curl_init_rc));
                return NULL;
        }
        if (!(rg = calloc(1, sizeof(*rg))) || !(rg->url = strdup(url)) ||
            cache_reset(rg, HO_REGISTRY_CACHE_MAX) || !(rg->curl = curl_easy_init())) {
                ho_registry_destroy(rg);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        n = strlen(rg->url);
        while (n > 0 && rg->url[n - 1] == '/')
                rg->url[--n] = '\0';
        rg->timeout_ms = HO_REGISTRY_TIMEOUT_MS;
        rg->retries = HO_REGISTRY_RETRIES;
        rg->backoff_ms = 100;
        /* from the environment, credentials stay out of the process title */
        const char *ui = getenv(HO_REGISTRY_USER_INFO_ENV);
        if (ui && *ui && ho_registry_set(rg, "basic.auth.user.info", ui, errstr, errstr_size)) {
                ho_registry_destroy(rg);
                return NULL;
        }
        return rg;
}

void ho_registry_destroy(ho_registry_t *rg) {
        if (!rg)
                return;
        if (rg->buckets)
                cache_reset(rg, 0);
        free(rg->buckets);
        free(rg->ring);
        if (rg->curl)
                curl_easy_cleanup(rg->curl);
        if (rg->userpwd) {
                memset(rg->userpwd, 0, strlen(rg->userpwd));
                free(rg->userpwd);
        }
        free(rg->ca);
        free(rg->url);
        free(rg);
}

static bool parse_num(const char *s, long lo, long hi, long *out) {
        long long v;
        if (ho_parse_ll(s, lo, hi, &v))
                return false;
        *out = (long)v;
        return true;
}

ho_err_t ho_registry_set(ho_registry_t *rg, const char *key, const char *value, char *errstr,
                         size_t errstr_size) {
        long v;

        if (!strncmp(key, HO_REGISTRY_PREFIX, strlen(HO_REGISTRY_PREFIX)))
                key += strlen(HO_REGISTRY_PREFIX);
        if (!strcmp(key, "basic.auth.user.info")) {
                if (!strchr(value, ':'))
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "registry.basic.auth.user.info must be USER:PASSWORD "
                                         "(the value is not shown)");
                char *dup = strdup(value);
                if (!dup)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                if (rg->userpwd) {
                        memset(rg->userpwd, 0, strlen(rg->userpwd));
                        free(rg->userpwd);
                }
                rg->userpwd = dup;
                return HO_OK;
        }
        if (!strcmp(key, "ssl.ca.location")) {
                char *dup = strdup(value);
                if (!dup)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                free(rg->ca);
                rg->ca = dup;
                return HO_OK;
        }
        if (!strcmp(key, "request.timeout.ms")) {
                if (!parse_num(value, 1, 600000, &v))
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "registry.request.timeout.ms must be 1..600000, not "
                                         "\"%s\"",
                                         value);
                rg->timeout_ms = v;
                return HO_OK;
        }
        if (!strcmp(key, "retries")) {
                if (!parse_num(value, 0, 100, &v))
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "registry.retries must be 0..100, not \"%s\"", value);
                rg->retries = (int)v;
                return HO_OK;
        }
        if (!strcmp(key, "retry.backoff.ms")) {
                if (!parse_num(value, 1, 60000, &v))
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "registry.retry.backoff.ms must be 1..60000, not \"%s\"",
                                         value);
                rg->backoff_ms = (int)v;
                return HO_OK;
        }
        if (!strcmp(key, "cache.max")) {
                if (!parse_num(value, 1, 1000000, &v))
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "registry.cache.max must be 1..1000000, not \"%s\"",
                                         value);
                if (cache_reset(rg, (size_t)v))
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return HO_OK;
        }
        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                         "unknown registry property \"registry.%s\" (known: "
                         "basic.auth.user.info, ssl.ca.location, request.timeout.ms, retries, "
                         "retry.backoff.ms, cache.max)",
                         key);
}

ho_err_t ho_registry_set_kv(ho_registry_t *rg, const char *kv, char *errstr, size_t errstr_size) {
        const char *eq = strchr(kv, '=');
        char key[128];

        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "expected registry.KEY=VALUE, not \"%.*s...\"",
                                 (int)strcspn(kv, "="), kv);
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = '\0';
        return ho_registry_set(rg, key, eq + 1, errstr, errstr_size);
}

const char *ho_registry_url(const ho_registry_t *rg) {
        return rg->url;
}

void ho_registry_stats(const ho_registry_t *rg, ho_registry_stats_t *out) {
        *out = rg->st;
        out->cached = rg->n_cached;
}

/* ---- answers -------------------------------------------------------------- */

ho_err_t ho_registry_parse_id(const char *body, size_t len, int32_t *id, char *errstr,
                              size_t errstr_size) {
        json_error_t je;
        json_t *root = json_loadb(body, len, 0, &je);
        json_t *v = root ? json_object_get(root, "id") : NULL;
        ho_err_t err = HO_OK;

        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
                err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                "registry answer has no schema id (expected {\"id\": N})");
        else
                *id = (int32_t)json_integer_value(v);
        json_decref(root);
        return err;
}

ho_err_t ho_registry_parse_schema(const char *body, size_t len, char **schema, char *errstr,
                                  size_t errstr_size) {
        json_error_t je;
        json_t *root = json_loadb(body, len, 0, &je);
        json_t *s = root ? json_object_get(root, "schema") : NULL;
        json_t *t = root ? json_object_get(root, "schemaType") : NULL;
        ho_err_t err = HO_OK;

        *schema = NULL;
        if (!json_is_string(s))
                err = ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                "registry answer has no schema (expected {\"schema\": \"...\"})");
        else if (t && !json_is_null(t) &&
                 (!json_is_string(t) || strcmp(json_string_value(t), "AVRO")))
                err = ho_seterr(errstr, errstr_size, HO_ERR_NOT_FOUND,
                                "registry schema is of type \"%s\", not AVRO",
                                json_is_string(t) ? json_string_value(t) : "?");
        else if (!(*schema = strdup(json_string_value(s))))
                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        json_decref(root);
        return err;
}

/* The registry's own words about an error: {"error_code":N,"message":"..."}. */
static void error_words(const body_t *b, char *out, size_t out_size, long *code) {
        json_error_t je;
        json_t *root = b->data ? json_loadb(b->data, b->len, 0, &je) : NULL;
        json_t *m = root ? json_object_get(root, "message") : NULL;
        json_t *c = root ? json_object_get(root, "error_code") : NULL;

        *code = json_is_integer(c) ? (long)json_integer_value(c) : 0;
        snprintf(out, out_size, "%s", json_is_string(m) ? json_string_value(m) : "no message");
        json_decref(root);
}

/* ---- HTTP ----------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *opaque) {
        body_t *b = opaque;
        size_t n = size * nmemb;

        if (b->len + n > BODY_MAX) {
                b->too_big = true;
                return 0; /* libcurl stops the transfer */
        }
        char *p = realloc(b->data, b->len + n + 1);
        if (!p)
                return 0;
        memcpy(p + b->len, ptr, n);
        b->data = p;
        b->len += n;
        b->data[b->len] = '\0';
        return n;
}

/* One call with the retries: HO_OK and *status for any HTTP answer below 500
 * (the body in *b, caller frees b->data); HO_ERR_TIMEOUT when every try failed
 * in transport or with 5xx. what names the call for errors. */
static ho_err_t request(ho_registry_t *rg, const char *path, const char *post, body_t *b,
                        long *status, const char *what, char *errstr, size_t errstr_size) {
        char url[2048];
        struct curl_slist *hdrs = NULL;
        int backoff = rg->backoff_ms;
        char last[CURL_ERROR_SIZE + 64] = "";

        if ((size_t)snprintf(url, sizeof(url), "%s%s", rg->url, path) >= sizeof(url))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "registry URL too long");
        hdrs = curl_slist_append(hdrs, "Accept: application/vnd.schemaregistry.v1+json, "
                                       "application/json");
        if (post)
                hdrs = curl_slist_append(hdrs,
                                         "Content-Type: application/vnd.schemaregistry.v1+json");
        for (int attempt = 0;; attempt++) {
                CURL *c = rg->curl;
                CURLcode rc;

                memset(b, 0, sizeof(*b));
                curl_easy_reset(c);
                curl_easy_setopt(c, CURLOPT_URL, url);
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
                curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rg->timeout_ms);
                curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, rg->timeout_ms);
                curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
                curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
                curl_easy_setopt(c, CURLOPT_ERRORBUFFER, rg->curlerr);
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
                curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
                if (rg->userpwd) {
                        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
                        curl_easy_setopt(c, CURLOPT_USERPWD, rg->userpwd);
                }
                if (rg->ca)
                        curl_easy_setopt(c, CURLOPT_CAINFO, rg->ca);
                if (post)
                        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
                rg->curlerr[0] = '\0';
                rg->st.requests++;
                rc = curl_easy_perform(c);
                if (rc == CURLE_OK) {
                        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
                        if (*status < 500) {
                                curl_slist_free_all(hdrs);
                                return HO_OK;
                        }
                        char words[256];
                        long code;
                        error_words(b, words, sizeof(words), &code);
                        snprintf(last, sizeof(last), "HTTP %ld: %s", *status, words);
                } else if (b->too_big) {
                        free(b->data);
                        curl_slist_free_all(hdrs);
                        return ho_seterr(errstr, errstr_size, HO_ERR_IO,
                                         "%s: registry answer over %u bytes", what, BODY_MAX);
                } else {
                        snprintf(last, sizeof(last), "%s",
                                 rg->curlerr[0] ? rg->curlerr : curl_easy_strerror(rc));
                }
                free(b->data);
                memset(b, 0, sizeof(*b));
                if (attempt >= rg->retries)
                        break;
                ho_sleep_ms(backoff);
                backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
        }
        curl_slist_free_all(hdrs);
        return ho_seterr(errstr, errstr_size, HO_ERR_TIMEOUT,
                         "%s: registry %s cannot be asked (%d tries): %s", what, rg->url,
                         rg->retries + 1, last);
}

ho_err_t ho_registry_schema(ho_registry_t *rg, int32_t id, const char **schema, char *errstr,
                            size_t errstr_size) {
        entry_t *e = cache_find(rg, id);
        char path[64], what[64];
        body_t b;
        long status = 0;
        ho_err_t err;

        if (e && (!e->missing || ho_mono_ms() < e->expires_ms)) {
                rg->st.hits++;
                if (e->missing)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOT_FOUND,
                                         "schema id %" PRId32 " is unknown to the registry %s", id,
                                         rg->url);
                *schema = e->schema;
                return HO_OK;
        }
        rg->st.misses++;
        snprintf(path, sizeof(path), "/schemas/ids/%" PRId32, id);
        snprintf(what, sizeof(what), "schema id %" PRId32, id);
        if ((err = request(rg, path, NULL, &b, &status, what, errstr, errstr_size)))
                return err;
        if (status == 404) {
                free(b.data);
                cache_put(rg, id, NULL, true);
                return ho_seterr(errstr, errstr_size, HO_ERR_NOT_FOUND,
                                 "schema id %" PRId32 " is unknown to the registry %s", id,
                                 rg->url);
        }
        if (status != 200) {
                char words[256];
                long code;
                error_words(&b, words, sizeof(words), &code);
                free(b.data);
                return ho_seterr(errstr, errstr_size, HO_ERR_IO,
                                 "schema id %" PRId32 ": registry %s answered HTTP %ld: %s", id,
                                 rg->url, status, words);
        }
        char *text;
        err = ho_registry_parse_schema(b.data ? b.data : "", b.len, &text, errstr, errstr_size);
        free(b.data);
        if (err == HO_ERR_NOT_FOUND)
                cache_put(rg, id, NULL, true);
        if (err)
                return err;
        if ((err = cache_put(rg, id, text, false)))
                return ho_seterr(errstr, errstr_size, err, "out of memory");
        *schema = cache_find(rg, id)->schema;
        return HO_OK;
}

ho_err_t ho_registry_prime(ho_registry_t *rg, int32_t id, const char *schema) {
        char *dup = strdup(schema);
        if (!dup)
                return HO_ERR_NOMEM;
        return cache_put(rg, id, dup, false);
}

/* Subjects go into the URL path: percent-encode all but unreserved bytes. */
static ho_err_t path_escape(const char *s, char *out, size_t out_size) {
        static const char hex[] = "0123456789ABCDEF";
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                             (*p >= '0' && *p <= '9') || strchr("-._~", *p);
                if (o + 4 > out_size)
                        return HO_ERR_USAGE;
                if (plain) {
                        out[o++] = (char)*p;
                } else {
                        out[o++] = '%';
                        out[o++] = hex[*p >> 4];
                        out[o++] = hex[*p & 15];
                }
        }
        out[o] = '\0';
        return HO_OK;
}

ho_err_t ho_registry_register(ho_registry_t *rg, const char *subject, const char *schema,
                              int32_t *id, char *errstr, size_t errstr_size) {
        char esc[768], path[1024], what[900];
        json_t *req;
        char *post;
        body_t b;
        long status = 0;
        ho_err_t err;

        if (!subject || !*subject || path_escape(subject, esc, sizeof(esc)))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "subject must be 1..250 bytes");
        snprintf(path, sizeof(path), "/subjects/%s/versions", esc);
        snprintf(what, sizeof(what), "subject \"%s\"", subject);
        if (!(req = json_pack("{s:s}", "schema", schema)))
                return ho_seterr(errstr, errstr_size, HO_ERR_JSON, "schema is not valid UTF-8");
        post = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        if (!post)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        /* Apicurio answers 409 "already exists" to the loser of two first
         * registrations under one subject at once: the subject exists now, so
         * asking again adds (or finds) the version */
        for (int race = 0;; race++) {
                err = request(rg, path, post, &b, &status, what, errstr, errstr_size);
                if (err || status != 409 || race == 3 || !b.data ||
                    !strstr(b.data, "already exists"))
                        break;
                free(b.data);
                ho_sleep_ms(100 << race);
        }
        free(post);
        if (err)
                return err;
        if (status == 200) {
                err = ho_registry_parse_id(b.data ? b.data : "", b.len, id, errstr, errstr_size);
                free(b.data);
                if (!err && ho_registry_prime(rg, *id, schema))
                        err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return err;
        }
        char words[512];
        long code;
        error_words(&b, words, sizeof(words), &code);
        free(b.data);
        if (status == 409)
                return ho_seterr(errstr, errstr_size, HO_ERR_INCOMPATIBLE,
                                 "%s: the registry refuses the schema as incompatible with the "
                                 "subject's earlier versions (its compatibility level decides): "
                                 "%s",
                                 what, words);
        if (status == 422)
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA,
                                 "%s: the registry refuses the schema as invalid: %s", what, words);
        if (status == 401 || status == 403)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO,
                                 "%s: the registry refuses the credentials (HTTP %ld; see "
                                 "registry.basic.auth.user.info): %s",
                                 what, status, words);
        return ho_seterr(errstr, errstr_size, HO_ERR_IO, "%s: registry %s answered HTTP %ld: %s",
                         what, rg->url, status, words);
}
