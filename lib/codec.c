/*
 * codec.c: reports to Avro single-object encoding and back (see codec.h).
 *
 * The embedded schemas (v1, v2: their exact canonical forms are below) have a
 * direct coder: the encoder writes the Avro binary datum into the output
 * buffer, the decoder walks the datum once and fills the report from it. It
 * is what every producer and worker runs per message, and avro-c's generic
 * values cost several times as much. avro-c stays for any other writer schema
 * (added at run time) and is the reference the direct coder is tested against
 * (test_codec, fuzz_decode): same bytes, same reports, same errors.
 *
 * Decoding trusts nothing: avro-c believes the lengths and counts it reads
 * (a string length of 2^60 makes it try to allocate that much), so every
 * datum is first walked by a bounded skipper over the writer schema. Only a
 * datum that the skipper accepts, ending exactly at the end of the value, is
 * handed to avro-c. The direct decoder's walk takes the skipper's steps with
 * its bounds, so both give the same error at the same offset.
 *
 * Schema resolution: avro-c 1.11.1's resolver cannot resolve a reader field
 * the writer lacks, even with a default (and crashes on that path), so data
 * is read with the WRITER schema's own generic value and mapped to
 * ho_report_t by field name; a field the writer lacks takes the reader's
 * default (inmates_by_destination: {}). ho_codec_new() checks by the Avro
 * specification's rules that every known schema resolves to the newest one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/codec.h"

#define SKIP_MAX_DEPTH 32
/* a block of items that take no bytes (null, empty records) cannot be
 * bounded by the bytes left; cap their number instead */
#define SKIP_MAX_EMPTY_ITEMS 65536

/* A datum of an embedded schema, walked but not yet converted: strings are
 * slices of the value's bytes. Lists keep their first entries only, up to
 * the rules' caps (what is beyond is counted, then refused by the caps). */
typedef struct slice_s {
        const char *p;
        size_t n;
} slice_t;

typedef struct dview_s {
        slice_t report_id, transfer_id, source, origin, destination, authority;
        int32_t occurred_on, inmate_count, aircraft_count, cumulative_total;
        int64_t reported_at;
        bool has_aircraft_count, has_cumulative_total, has_authority;
        uint64_t n_destinations, n_persons, n_map;
        bool map_generic; /* a map only avro-c's semantics settle (see dview_map) */
        bool map_repeat;  /* a key appears twice: refused (avro-c would keep one) */
        slice_t map_repeat_key;
        slice_t destinations[HO_DESTINATIONS_MAX];
        struct {
                slice_t name, affiliation;
                bool has_affiliation;
        } persons[HO_PERSONS_MAX];
        struct {
                slice_t key;
                int32_t count;
        } map[HO_BY_DEST_MAX];
} dview_t;

/* Confluent framing: schema ids seen, with the registry entry each names.
 * Bounded (round robin once full); a registry hands out few schemas. */
#define ID_MAX 256
#define REG_SCHEMAS_MAX 64 /* schemas a registry may add to the codec */
typedef struct idmap_s {
        int32_t id;
        const ho_schema_t *schema;
} idmap_t;

typedef struct cache_s {
        const ho_schema_t *schema;
        avro_value_iface_t *iface;
        avro_value_t value;
} cache_t;

struct ho_codec_s {
        ho_schema_registry_t *reg;
        const ho_schema_t *writer;
        const ho_schema_t *newest;
        cache_t *cache;
        size_t n_cache, cap_cache;
        avro_reader_t reader;
        avro_writer_t wmem;
        /* the embedded schemas the direct coder handles (NULL when a schemas/
         * file no longer has the layout it was written for) */
        const ho_schema_t *direct[3]; /* [1] = v1, [2] = v2 */
        struct dview_s *view;         /* the direct decoder's scratch, reused */
        ho_registry_t *rg;            /* borrowed; NULL: Confluent framing is refused */
        idmap_t ids[ID_MAX];
        size_t n_ids, next_id, last_id;
        size_t n_reg_schemas;
        const ho_schema_t *last_writer;
};

/* The Parsing Canonical Forms the direct encoder and decoder are written for:
 * v2 is v1 plus the map. A schema is coded directly only when its canonical
 * form is exactly one of these; any other goes through avro-c. */
#define CANON_V1_FIELDS                                                                            \
        "{\"name\":\"handover.TransferReport\",\"type\":"                                          \
        "\"record\",\"fields\":[{\"name\":\"report_id\",\"type\":\"string\"},"                     \
        "{\"name\":\"transfer_id\",\"type\":\"string\"},"                                          \
        "{\"name\":\"occurred_on\",\"type\":\"int\"},"                                             \
        "{\"name\":\"reported_at\",\"type\":\"long\"},"                                            \
        "{\"name\":\"source\",\"type\":\"string\"},"                                               \
        "{\"name\":\"origin_country\",\"type\":\"string\"},"                                       \
        "{\"name\":\"destination_country\",\"type\":\"string\"},"                                  \
        "{\"name\":\"inmate_count\",\"type\":\"int\"},"                                            \
        "{\"name\":\"aircraft_count\",\"type\":[\"null\",\"int\"]},"                               \
        "{\"name\":\"destinations\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"          \
        "{\"name\":\"cumulative_total\",\"type\":[\"null\",\"int\"]},"                             \
        "{\"name\":\"authority\",\"type\":[\"null\",\"string\"]},"                                 \
        "{\"name\":\"persons\",\"type\":{\"type\":\"array\","                                      \
        "\"items\":{\"name\":\"handover.Person\",\"type\":"                                        \
        "\"record\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"},"                          \
        "{\"name\":\"affiliation\",\"type\":[\"null\",\"string\"]}]}}}"
static const char canon_v1[] = CANON_V1_FIELDS "]}";
static const char canon_v2[] = CANON_V1_FIELDS ",{\"name\":\"inmates_by_destination\",\"type\":"
                                               "{\"type\":\"map\",\"values\":\"int\"}}"
                                               "]}";

/* 1 or 2 when s is coded directly, else 0 */
static int direct_version(const ho_codec_t *c, const ho_schema_t *s) {
        return s == c->direct[2] ? 2 : s == c->direct[1] ? 1 : 0;
}

bool ho_codec_is_direct(const ho_codec_t *c, const ho_schema_t *s) {
        return s && direct_version(c, s) != 0;
}

/* ---- lifetime ------------------------------------------------------------- */

static cache_t *cache_get(ho_codec_t *c, const ho_schema_t *s) {
        size_t i;
        cache_t *e;

        for (i = 0; i < c->n_cache; i++)
                if (c->cache[i].schema == s)
                        return &c->cache[i];
        if (c->n_cache == c->cap_cache) {
                size_t cap = c->cap_cache ? c->cap_cache * 2 : 4;
                cache_t *p = realloc(c->cache, cap * sizeof(*p));
                if (!p)
                        return NULL;
                c->cache = p;
                c->cap_cache = cap;
        }
        e = &c->cache[c->n_cache];
        e->schema = s;
        e->iface = avro_generic_class_from_schema(s->avro);
        if (!e->iface)
                return NULL;
        if (avro_generic_value_new(e->iface, &e->value)) {
                avro_value_iface_decref(e->iface);
                return NULL;
        }
        c->n_cache++;
        return e;
}

/* Every field of a writer's record must be one the encoder can fill. */
static ho_err_t check_fields(const ho_schema_t *s, char *errstr, size_t errstr_size) {
        size_t i, k, n;

        if (!is_avro_record(s->avro))
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA,
                                 "schema \"%s\" is not a record", s->name);
        n = avro_schema_record_size(s->avro);
        for (i = 0; i < n; i++) {
                const char *f = avro_schema_record_field_name(s->avro, (int)i);
                for (k = 0; ho_report_field_names[k]; k++)
                        if (!strcmp(f, ho_report_field_names[k]))
                                break;
                if (!ho_report_field_names[k])
                        return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA,
                                         "schema \"%s\": field \"%s\" is not a report field "
                                         "handover knows",
                                         s->name, f);
        }
        return HO_OK;
}

ho_codec_t *ho_codec_new(char *errstr, size_t errstr_size) {
        ho_codec_t *c = calloc(1, sizeof(*c));
        char err[512];
        size_t i;

        if (!c) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        c->reg = ho_schema_registry_new(errstr, errstr_size);
        if (!c->reg)
                goto fail;
        c->newest = c->writer = ho_schema_registry_newest(c->reg);
        for (i = 0; i < ho_schema_registry_count(c->reg); i++) {
                const ho_schema_t *s = ho_schema_registry_at(c->reg, i);
                if (s->canonical && !strcmp(s->canonical, canon_v1))
                        c->direct[1] = s;
                else if (s->canonical && !strcmp(s->canonical, canon_v2))
                        c->direct[2] = s;
                if (ho_schema_entry_compat(s, c->newest, err, sizeof(err))) {
                        ho_seterr(errstr, errstr_size, HO_ERR_INCOMPATIBLE,
                                  "schemas/%s cannot be read as %s: %s", s->name, c->newest->name,
                                  err);
                        goto fail;
                }
                if (check_fields(s, errstr, errstr_size))
                        goto fail;
        }
        c->reader = avro_reader_memory("", 0);
        c->wmem = avro_writer_memory("", 0);
        c->view = malloc(sizeof(*c->view));
        if (!c->reader || !c->wmem || !c->view) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                goto fail;
        }
        return c;
fail:
        ho_codec_destroy(c);
        return NULL;
}

void ho_codec_destroy(ho_codec_t *c) {
        size_t i;

        if (!c)
                return;
        for (i = 0; i < c->n_cache; i++) {
                avro_value_decref(&c->cache[i].value);
                avro_value_iface_decref(c->cache[i].iface);
        }
        free(c->cache);
        free(c->view);
        if (c->reader)
                avro_reader_free(c->reader);
        if (c->wmem)
                avro_writer_free(c->wmem);
        ho_schema_registry_destroy(c->reg);
        free(c);
}

const ho_schema_t *ho_codec_last_writer(const ho_codec_t *c) {
        return c->last_writer;
}

void ho_codec_set_registry(ho_codec_t *c, ho_registry_t *rg) {
        c->rg = rg;
        c->n_ids = c->next_id = c->last_id = 0;
}

ho_schema_registry_t *ho_codec_registry(ho_codec_t *c) {
        return c->reg;
}

const ho_schema_t *ho_codec_writer(const ho_codec_t *c) {
        return c->writer;
}

static char *read_file(const char *path, size_t *lenp, char *errstr, size_t errstr_size) {
        FILE *fp = fopen(path, "rb");
        ho_buf_t b = HO_BUF_INIT;
        char tmp[4096];
        size_t n;

        if (!fp) {
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot open \"%s\": %s", path,
                          strerror(errno));
                return NULL;
        }
        while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0) {
                if (b.len + n > (1u << 20) || ho_buf_append(&b, tmp, n)) {
                        ho_seterr(errstr, errstr_size, HO_ERR_IO,
                                  "\"%s\": too large for a schema (over 1 MiB)", path);
                        fclose(fp);
                        ho_buf_free(&b);
                        return NULL;
                }
        }
        if (ferror(fp)) {
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot read \"%s\": %s", path,
                          strerror(errno));
                fclose(fp);
                ho_buf_free(&b);
                return NULL;
        }
        fclose(fp);
        return ho_buf_steal(&b, lenp);
}

ho_err_t ho_codec_set_writer(ho_codec_t *c, const char *spec, char *errstr, size_t errstr_size) {
        const ho_schema_t *s;
        char err[512], *json;
        const char *base;
        size_t len;
        ho_err_t e;

        if ((spec[0] == 'v' || spec[0] == 'V') && spec[1] >= '1' && spec[1] <= '9' &&
            strspn(spec + 1, "0123456789") == strlen(spec + 1)) {
                s = ho_schema_registry_version(c->reg, atoi(spec + 1));
                if (!s)
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "no schema \"transfer_report.%s.avsc\" is known", spec);
                c->writer = s;
                return HO_OK;
        }
        json = read_file(spec, &len, errstr, errstr_size);
        if (!json)
                return HO_ERR_IO;
        base = strrchr(spec, '/');
        base = base ? base + 1 : spec;
        s = ho_schema_registry_add_named(c->reg, base, json, len, err, sizeof(err));
        free(json);
        if (!s)
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA, "\"%s\": %s", spec, err);
        if ((e = ho_schema_entry_compat(s, c->newest, err, sizeof(err))))
                return ho_seterr(errstr, errstr_size, e, "\"%s\" cannot be read as %s: %s", spec,
                                 c->newest->name, err);
        if ((e = check_fields(s, errstr, errstr_size)))
                return e;
        c->writer = s;
        return HO_OK;
}

/* ---- report -> avro value ------------------------------------------------ */

#define AVRO_TRY(call)                                                                             \
        do {                                                                                       \
                if ((call) != 0)                                                                   \
                        goto avro_fail;                                                            \
        } while (0)

/* Point *out at the field `name` of rec; false when the schema lacks it. */
static bool field(avro_value_t *rec, const char *name, avro_value_t *out) {
        return avro_schema_record_field_get_index(avro_value_get_schema(rec), name) >= 0 &&
               avro_value_get_by_name(rec, name, out, NULL) == 0;
}

/* For an optional value: select the union's null branch (present=false) or
 * its other branch into *out. A non-union field takes the value directly. */
static int set_optional(avro_value_t *v, bool present, avro_value_t *out) {
        avro_schema_t s = avro_value_get_schema(v);
        size_t i, n;

        if (avro_value_get_type(v) != AVRO_UNION) {
                if (!present)
                        return avro_value_get_type(v) == AVRO_NULL ? avro_value_set_null(v)
                                                                   : EINVAL;
                *out = *v;
                return 0;
        }
        n = avro_schema_union_size(s);
        for (i = 0; i < n; i++) {
                bool is_null = is_avro_null(avro_schema_union_branch(s, (int)i));
                if (is_null != present) {
                        if (avro_value_set_branch(v, (int)i, out))
                                return EINVAL;
                        return is_null ? avro_value_set_null(out) : 0;
                }
        }
        avro_set_error("union has no %s branch", present ? "non-null" : "null");
        return EINVAL;
}

static int set_str(avro_value_t *v, const char *s) {
        return avro_value_set_string(v, s ? s : "");
}

static int set_opt_str(avro_value_t *v, const char *s) {
        avro_value_t b;
        int rc = set_optional(v, s != NULL, &b);
        return rc || !s ? rc : set_str(&b, s);
}

static int set_opt_int(avro_value_t *v, bool has, int32_t x) {
        avro_value_t b;
        int rc = set_optional(v, has, &b);
        return rc || !has ? rc : avro_value_set_int(&b, x);
}

static ho_err_t fill(avro_value_t *rec, const ho_report_t *r, char *errstr, size_t errstr_size) {
        avro_value_t f, e, sub;
        size_t i;

        avro_value_reset(rec);
        if (field(rec, "report_id", &f))
                AVRO_TRY(set_str(&f, r->report_id));
        if (field(rec, "transfer_id", &f))
                AVRO_TRY(set_str(&f, r->transfer_id));
        if (field(rec, "occurred_on", &f))
                AVRO_TRY(avro_value_set_int(&f, r->occurred_on));
        if (field(rec, "reported_at", &f))
                AVRO_TRY(avro_value_set_long(&f, r->reported_at));
        if (field(rec, "source", &f))
                AVRO_TRY(set_str(&f, r->source));
        if (field(rec, "origin_country", &f))
                AVRO_TRY(set_str(&f, r->origin_country));
        if (field(rec, "destination_country", &f))
                AVRO_TRY(set_str(&f, r->destination_country));
        if (field(rec, "inmate_count", &f))
                AVRO_TRY(avro_value_set_int(&f, r->inmate_count));
        if (field(rec, "aircraft_count", &f))
                AVRO_TRY(set_opt_int(&f, r->has_aircraft_count, r->aircraft_count));
        if (field(rec, "destinations", &f))
                for (i = 0; i < r->n_destinations; i++) {
                        AVRO_TRY(avro_value_append(&f, &e, NULL));
                        AVRO_TRY(set_str(&e, r->destinations[i]));
                }
        if (field(rec, "cumulative_total", &f))
                AVRO_TRY(set_opt_int(&f, r->has_cumulative_total, r->cumulative_total));
        if (field(rec, "authority", &f))
                AVRO_TRY(set_opt_str(&f, r->authority));
        if (field(rec, "persons", &f))
                for (i = 0; i < r->n_persons; i++) {
                        AVRO_TRY(avro_value_append(&f, &e, NULL));
                        if (field(&e, "name", &sub))
                                AVRO_TRY(set_str(&sub, r->persons[i].name));
                        if (field(&e, "affiliation", &sub))
                                AVRO_TRY(set_opt_str(&sub, r->persons[i].affiliation));
                }
        if (field(rec, "inmates_by_destination", &f))
                for (i = 0; i < r->n_by_destination; i++) {
                        AVRO_TRY(avro_value_add(&f, r->by_destination[i].city, &e, NULL, NULL));
                        AVRO_TRY(avro_value_set_int(&e, r->by_destination[i].count));
                }
        return HO_OK;
avro_fail:
        return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA, "cannot fill the Avro record: %s",
                         avro_strerror());
}

/* ---- the direct encoder ---------------------------------------------------- */

/* Avro binary (zig-zag varints, length-prefixed strings, each array and map
 * as one block), written straight into a buffer reserved for the worst case
 * (10 bytes per varint). */
static unsigned char *w_long(unsigned char *p, int64_t v) {
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

        while (z > 0x7f) {
                *p++ = (unsigned char)(z | 0x80);
                z >>= 7;
        }
        *p++ = (unsigned char)z;
        return p;
}

static unsigned char *w_str(unsigned char *p, const char *s, size_t n) {
        p = w_long(p, (int64_t)n);
        if (n)
                memcpy(p, s, n);
        return p + n;
}

#define SLEN(s) ((s) ? strlen(s) : 0)

ho_err_t ho_codec_datum(const ho_report_t *r, const char *report_id, int version, ho_buf_t *b) {
        size_t i, need, n_map = version >= 2 ? r->n_by_destination : 0;
        unsigned char *p, *start;

        /* the worst case: 10 bytes per varint, plus every string's bytes */
        need = 10 * 20 + SLEN(report_id) + SLEN(r->transfer_id) + SLEN(r->source) + 3 + 3 +
               SLEN(r->authority);
        for (i = 0; i < r->n_destinations; i++)
                need += 10 + SLEN(r->destinations[i]);
        for (i = 0; i < r->n_persons; i++)
                need += 30 + SLEN(r->persons[i].name) + SLEN(r->persons[i].affiliation);
        for (i = 0; i < n_map; i++)
                need += 20 + SLEN(r->by_destination[i].city);
        if (ho_buf_reserve(b, need))
                return HO_ERR_NOMEM;
        start = p = (unsigned char *)b->data + b->len;
        p = w_str(p, report_id ? report_id : "", SLEN(report_id));
        p = w_str(p, r->transfer_id, SLEN(r->transfer_id));
        p = w_long(p, r->occurred_on);
        p = w_long(p, r->reported_at);
        p = w_str(p, r->source, SLEN(r->source));
        p = w_str(p, r->origin_country, strnlen(r->origin_country, 3));
        p = w_str(p, r->destination_country, strnlen(r->destination_country, 3));
        p = w_long(p, r->inmate_count);
        *p++ = r->has_aircraft_count ? 2 : 0; /* union branch: zig-zag 1 or 0 */
        if (r->has_aircraft_count)
                p = w_long(p, r->aircraft_count);
        if (r->n_destinations) {
                p = w_long(p, (int64_t)r->n_destinations);
                for (i = 0; i < r->n_destinations; i++)
                        p = w_str(p, r->destinations[i], SLEN(r->destinations[i]));
        }
        *p++ = 0;
        *p++ = r->has_cumulative_total ? 2 : 0;
        if (r->has_cumulative_total)
                p = w_long(p, r->cumulative_total);
        *p++ = r->authority ? 2 : 0;
        if (r->authority)
                p = w_str(p, r->authority, strlen(r->authority));
        if (r->n_persons) {
                p = w_long(p, (int64_t)r->n_persons);
                for (i = 0; i < r->n_persons; i++) {
                        const ho_person_t *pe = &r->persons[i];
                        p = w_str(p, pe->name, SLEN(pe->name));
                        *p++ = pe->affiliation ? 2 : 0;
                        if (pe->affiliation)
                                p = w_str(p, pe->affiliation, strlen(pe->affiliation));
                }
        }
        *p++ = 0;
        if (version >= 2) {
                if (n_map) {
                        p = w_long(p, (int64_t)n_map);
                        for (i = 0; i < n_map; i++) {
                                p = w_str(p, r->by_destination[i].city,
                                          SLEN(r->by_destination[i].city));
                                p = w_long(p, r->by_destination[i].count);
                        }
                }
                *p++ = 0;
        }
        b->len += (size_t)(p - start);
        b->data[b->len] = '\0';
        return HO_OK;
}

static void put_header(ho_buf_t *out, uint64_t fp) {
        unsigned char *h = (unsigned char *)out->data + out->len;
        int i;

        h[0] = HO_SOE_MAGIC0;
        h[1] = HO_SOE_MAGIC1;
        for (i = 0; i < 8; i++)
                h[2 + i] = (unsigned char)(fp >> (8 * i));
}

/* Through avro-c: a writer schema added at run time. */
static ho_err_t encode_generic(ho_codec_t *c, const ho_report_t *r, ho_buf_t *out, char *errstr,
                               size_t errstr_size) {
        cache_t *ce = cache_get(c, c->writer);
        size_t size, start = out->len;
        ho_err_t e;

        if (!ce)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "cannot make an Avro value: %s",
                                 avro_strerror());
        if ((e = fill(&ce->value, r, errstr, errstr_size)))
                return e;
        if (avro_value_sizeof(&ce->value, &size))
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA, "cannot size the datum: %s",
                                 avro_strerror());
        if (ho_buf_reserve(out, HO_SOE_HEADER + size))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        put_header(out, c->writer->fingerprint);
        avro_writer_memory_set_dest(c->wmem, out->data + out->len + HO_SOE_HEADER, (int64_t)size);
        if (avro_value_write(c->wmem, &ce->value)) {
                out->len = start;
                out->data[start] = '\0';
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA, "cannot write the datum: %s",
                                 avro_strerror());
        }
        out->len += HO_SOE_HEADER + size;
        out->data[out->len] = '\0';
        return HO_OK;
}

ho_err_t ho_codec_encode(ho_codec_t *c, const ho_report_t *r, ho_buf_t *out, char *errstr,
                         size_t errstr_size) {
        int version = direct_version(c, c->writer);
        size_t start = out->len;
        ho_err_t e;

        /* a report ho_report_from_json() or ho_codec_decode() just validated
         * carries a stamp of its content: no second pass over the rules */
        if (!ho_report_is_validated(r) && (e = ho_report_validate(r, errstr, errstr_size)))
                return e;
        if (!version)
                return encode_generic(c, r, out, errstr, errstr_size);
        if (ho_buf_reserve(out, HO_SOE_HEADER))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        put_header(out, c->writer->fingerprint);
        out->len += HO_SOE_HEADER;
        if (ho_codec_datum(r, r->report_id, version, out)) {
                out->len = start;
                out->data[start] = '\0';
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        }
        return HO_OK;
}

ho_err_t ho_codec_report_to_value(ho_codec_t *c, const ho_report_t *r, avro_value_t *val,
                                  char *errstr, size_t errstr_size) {
        (void)c;
        return fill(val, r, errstr, errstr_size);
}

/* ---- the bounded skipper ---------------------------------------------------- */

typedef struct skip_s {
        const unsigned char *p, *end;
} skip_t;

/* zig-zag varint of at most `max` bytes (5 for int, 10 for long) */
static ho_err_t skip_varint(skip_t *s, int max, int64_t *out) {
        uint64_t v = 0;
        int i;

        for (i = 0; i < max; i++) {
                unsigned char b;
                if (s->p >= s->end)
                        return HO_ERR_TRUNCATED;
                b = *s->p++;
                if (i == 9 && b > 1)
                        return HO_ERR_NOT_AVRO; /* bits beyond 64 */
                v |= (uint64_t)(b & 0x7f) << (7 * i);
                if (!(b & 0x80)) {
                        int64_t x = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
                        if (max == 5 && (x < INT32_MIN || x > INT32_MAX))
                                return HO_ERR_NOT_AVRO;
                        *out = x;
                        return HO_OK;
                }
        }
        return HO_ERR_NOT_AVRO; /* too long */
}

static ho_err_t skip_bytes(skip_t *s, uint64_t n) {
        if ((uint64_t)(s->end - s->p) < n)
                return HO_ERR_TRUNCATED;
        s->p += n;
        return HO_OK;
}

/* The fewest bytes one value of schema takes (0 for null / empty records). */
static size_t min_size(avro_schema_t sch, int depth) {
        size_t i, n, sum = 0;

        if (depth > SKIP_MAX_DEPTH)
                return 0;
        switch (avro_typeof(sch)) {
        case AVRO_NULL:
                return 0;
        case AVRO_FLOAT:
                return 4;
        case AVRO_DOUBLE:
                return 8;
        case AVRO_FIXED:
                return (size_t)avro_schema_fixed_size(sch);
        case AVRO_RECORD:
                n = avro_schema_record_size(sch);
                for (i = 0; i < n; i++)
                        sum += min_size(avro_schema_record_field_get_by_index(sch, (int)i),
                                        depth + 1);
                return sum;
        case AVRO_LINK:
                return min_size(avro_schema_link_target(sch), depth + 1);
        default:
                return 1; /* varint, length or count, or boolean */
        }
}

static ho_err_t skip_value(skip_t *s, avro_schema_t sch, int depth);

/* Arrays and maps: blocks of count items (count < 0: -count items preceded
 * by their byte size), ended by a zero count. */
static ho_err_t skip_blocks(skip_t *s, avro_schema_t item, bool is_map, int depth) {
        size_t per = min_size(item, depth + 1) + (is_map ? 1 : 0);
        uint64_t total = 0;
        int64_t count, size, k;
        ho_err_t e;

        for (;;) {
                if ((e = skip_varint(s, 10, &count)))
                        return e;
                if (count == 0)
                        return HO_OK;
                if (count < 0) {
                        if (count == INT64_MIN)
                                return HO_ERR_NOT_AVRO;
                        count = -count;
                        if ((e = skip_varint(s, 10, &size)))
                                return e;
                        if (size < 0)
                                return HO_ERR_NOT_AVRO;
                }
                if (per > 0 && (uint64_t)count > (uint64_t)(s->end - s->p) / per)
                        return HO_ERR_TRUNCATED; /* cannot fit in what is left */
                total += (uint64_t)count;
                if (per == 0 && total > SKIP_MAX_EMPTY_ITEMS)
                        return HO_ERR_NOT_AVRO;
                for (k = 0; k < count; k++) {
                        if (is_map) {
                                int64_t len;
                                if ((e = skip_varint(s, 10, &len)))
                                        return e;
                                if (len < 0)
                                        return HO_ERR_NOT_AVRO;
                                if ((e = skip_bytes(s, (uint64_t)len)))
                                        return e;
                        }
                        if ((e = skip_value(s, item, depth + 1)))
                                return e;
                }
        }
}

static ho_err_t skip_value(skip_t *s, avro_schema_t sch, int depth) {
        int64_t v;
        size_t i, n;
        ho_err_t e;

        if (depth > SKIP_MAX_DEPTH)
                return HO_ERR_NOT_AVRO;
        switch (avro_typeof(sch)) {
        case AVRO_NULL:
                return HO_OK;
        case AVRO_BOOLEAN:
                if (s->p >= s->end)
                        return HO_ERR_TRUNCATED;
                return *s->p++ > 1 ? HO_ERR_NOT_AVRO : HO_OK;
        case AVRO_INT32:
                return skip_varint(s, 5, &v);
        case AVRO_INT64:
                return skip_varint(s, 10, &v);
        case AVRO_FLOAT:
                return skip_bytes(s, 4);
        case AVRO_DOUBLE:
                return skip_bytes(s, 8);
        case AVRO_STRING:
        case AVRO_BYTES:
                if ((e = skip_varint(s, 10, &v)))
                        return e;
                if (v < 0)
                        return HO_ERR_NOT_AVRO;
                return skip_bytes(s, (uint64_t)v);
        case AVRO_FIXED:
                return skip_bytes(s, (uint64_t)avro_schema_fixed_size(sch));
        case AVRO_ENUM:
                if ((e = skip_varint(s, 5, &v)))
                        return e;
                return v < 0 || v >= (int64_t)avro_schema_enum_number_of_symbols(sch)
                               ? HO_ERR_NOT_AVRO
                               : HO_OK;
        case AVRO_UNION:
                if ((e = skip_varint(s, 10, &v)))
                        return e;
                if (v < 0 || v >= (int64_t)avro_schema_union_size(sch))
                        return HO_ERR_NOT_AVRO;
                return skip_value(s, avro_schema_union_branch(sch, (int)v), depth + 1);
        case AVRO_RECORD:
                n = avro_schema_record_size(sch);
                for (i = 0; i < n; i++)
                        if ((e = skip_value(s, avro_schema_record_field_get_by_index(sch, (int)i),
                                            depth + 1)))
                                return e;
                return HO_OK;
        case AVRO_ARRAY:
                return skip_blocks(s, avro_schema_array_items(sch), false, depth);
        case AVRO_MAP:
                return skip_blocks(s, avro_schema_map_values(sch), true, depth);
        case AVRO_LINK:
                return skip_value(s, avro_schema_link_target(sch), depth + 1);
        default:
                return HO_ERR_NOT_AVRO;
        }
}

/* ---- avro value -> report ------------------------------------------------- */

typedef struct conv_s {
        char *errstr;
        size_t errstr_size;
        ho_arena_t *arena; /* the direct path's allocations, or NULL: malloc */
} conv_t;

static char *cv_strndup(conv_t *cv, const char *p, size_t n) {
        return cv->arena ? ho_arena_strndup(cv->arena, p, n) : strndup(p, n);
}

static void *cv_calloc(conv_t *cv, size_t n, size_t size) {
        return cv->arena ? ho_arena_calloc(cv->arena, n, size) : calloc(n, size);
}

static ho_err_t conv_fail(conv_t *cv, const char *fieldname, const char *what) {
        return ho_seterr(cv->errstr, cv->errstr_size, HO_ERR_INVALID, "field \"%s\": %s", fieldname,
                         what);
}

/* Follow a union to its current branch; *is_null when that is null. */
static ho_err_t deref(avro_value_t *v, avro_value_t *out, bool *is_null) {
        if (avro_value_get_type(v) == AVRO_UNION) {
                if (avro_value_get_current_branch(v, out))
                        return HO_ERR_NOT_AVRO;
        } else {
                *out = *v;
        }
        *is_null = avro_value_get_type(out) == AVRO_NULL;
        return HO_OK;
}

/* A string (or bytes, by promotion) without NUL bytes, copied. */
static ho_err_t get_str(conv_t *cv, avro_value_t *v, const char *name, char **out) {
        const char *s = NULL;
        const void *b = NULL;
        size_t size = 0;
        avro_value_t x;
        bool is_null;

        if (deref(v, &x, &is_null) || is_null)
                return conv_fail(cv, name, "expected a string, got null");
        if (avro_value_get_type(&x) == AVRO_STRING) {
                if (avro_value_get_string(&x, &s, &size))
                        return HO_ERR_NOT_AVRO;
                size = size ? size - 1 : 0; /* avro-c counts the NUL */
        } else if (avro_value_get_type(&x) == AVRO_BYTES) {
                if (avro_value_get_bytes(&x, &b, &size))
                        return HO_ERR_NOT_AVRO;
                s = b;
        } else {
                return conv_fail(cv, name, "expected a string");
        }
        if (size && memchr(s, '\0', size))
                return conv_fail(cv, name, "expected a string without NUL bytes");
        *out = strndup(s ? s : "", size);
        return *out ? HO_OK : HO_ERR_NOMEM;
}

static ho_err_t get_opt_str(conv_t *cv, avro_value_t *v, const char *name, char **out) {
        avro_value_t x;
        bool is_null;

        if (deref(v, &x, &is_null))
                return HO_ERR_NOT_AVRO;
        return is_null ? HO_OK : get_str(cv, &x, name, out);
}

static ho_err_t get_i64(conv_t *cv, avro_value_t *v, const char *name, bool *has, int64_t *out) {
        avro_value_t x;
        bool is_null;
        int32_t i32;

        if (deref(v, &x, &is_null))
                return HO_ERR_NOT_AVRO;
        if (is_null) {
                if (!has)
                        return conv_fail(cv, name, "expected a number, got null");
                *has = false;
                return HO_OK;
        }
        if (avro_value_get_type(&x) == AVRO_INT32) {
                if (avro_value_get_int(&x, &i32))
                        return HO_ERR_NOT_AVRO;
                *out = i32;
        } else if (avro_value_get_type(&x) == AVRO_INT64) {
                if (avro_value_get_long(&x, out))
                        return HO_ERR_NOT_AVRO;
        } else {
                return conv_fail(cv, name, "expected an integer");
        }
        if (has)
                *has = true;
        return HO_OK;
}

static ho_err_t get_i32(conv_t *cv, avro_value_t *v, const char *name, bool *has, int32_t *out) {
        int64_t x = 0;
        ho_err_t e = get_i64(cv, v, name, has, &x);

        if (e || (has && !*has))
                return e;
        if (x < INT32_MIN || x > INT32_MAX)
                return conv_fail(cv, name, "expected a 32-bit integer");
        *out = (int32_t)x;
        return HO_OK;
}

static ho_err_t get_country(conv_t *cv, avro_value_t *v, const char *name, char out[3]) {
        char *s = NULL;
        char msg[128];
        ho_err_t e = get_str(cv, v, name, &s);

        if (e)
                return e;
        if (strlen(s) != 2) {
                snprintf(msg, sizeof(msg),
                         "expected a country code of two upper-case letters (ISO 3166-1 alpha-2), "
                         "got %zu bytes",
                         strlen(s));
                free(s);
                return conv_fail(cv, name, msg);
        }
        memcpy(out, s, 3);
        free(s);
        return HO_OK;
}

static int city_cmp(const void *a, const void *b) {
        return strcmp(((const ho_city_count_t *)a)->city, ((const ho_city_count_t *)b)->city);
}

/* Bound before allocating: counts come from data (already bounded by the
 * skipper to the value's size, but the rules' caps are far smaller). */
static ho_err_t list_size(conv_t *cv, avro_value_t *v, const char *name, size_t cap, size_t *n) {
        char msg[96];

        if (avro_value_get_size(v, n))
                return HO_ERR_NOT_AVRO;
        if (*n > cap) {
                snprintf(msg, sizeof(msg), "expected at most %zu entries, got %zu", cap, *n);
                return conv_fail(cv, name, msg);
        }
        return HO_OK;
}

static ho_err_t convert(conv_t *cv, avro_value_t *rec, ho_report_t *r) {
        avro_value_t f, e, sub;
        size_t i, n;
        ho_err_t err;
        int64_t ts;

        if (avro_value_get_type(rec) != AVRO_RECORD)
                return ho_seterr(cv->errstr, cv->errstr_size, HO_ERR_SCHEMA,
                                 "writer schema is not a record");
        for (i = 0; ho_report_field_names[i]; i++) {
                /* every field but the defaulted v2 addition is required */
                if (!field(rec, ho_report_field_names[i], &f) &&
                    strcmp(ho_report_field_names[i], "inmates_by_destination"))
                        return ho_seterr(cv->errstr, cv->errstr_size, HO_ERR_SCHEMA,
                                         "writer schema lacks field \"%s\"",
                                         ho_report_field_names[i]);
        }
        if ((field(rec, "report_id", &f), err = get_str(cv, &f, "report_id", &r->report_id)) ||
            (field(rec, "transfer_id", &f),
             err = get_str(cv, &f, "transfer_id", &r->transfer_id)) ||
            (field(rec, "occurred_on", &f),
             err = get_i32(cv, &f, "occurred_on", NULL, &r->occurred_on)) ||
            (field(rec, "reported_at", &f), err = get_i64(cv, &f, "reported_at", NULL, &ts)) ||
            (field(rec, "source", &f), err = get_str(cv, &f, "source", &r->source)) ||
            (field(rec, "origin_country", &f),
             err = get_country(cv, &f, "origin_country", r->origin_country)) ||
            (field(rec, "destination_country", &f),
             err = get_country(cv, &f, "destination_country", r->destination_country)) ||
            (field(rec, "inmate_count", &f),
             err = get_i32(cv, &f, "inmate_count", NULL, &r->inmate_count)) ||
            (field(rec, "aircraft_count", &f),
             err = get_i32(cv, &f, "aircraft_count", &r->has_aircraft_count, &r->aircraft_count)) ||
            (field(rec, "cumulative_total", &f),
             err = get_i32(cv, &f, "cumulative_total", &r->has_cumulative_total,
                           &r->cumulative_total)) ||
            (field(rec, "authority", &f), err = get_opt_str(cv, &f, "authority", &r->authority)))
                return err;
        r->reported_at = ts;

        field(rec, "destinations", &f);
        if ((err = list_size(cv, &f, "destinations", HO_DESTINATIONS_MAX, &n)))
                return err;
        if (n && !(r->destinations = calloc(n, sizeof(char *))))
                return HO_ERR_NOMEM;
        for (i = 0; i < n; i++) {
                char name[48];
                snprintf(name, sizeof(name), "destinations[%zu]", i);
                if (avro_value_get_by_index(&f, i, &e, NULL))
                        return HO_ERR_NOT_AVRO;
                r->n_destinations = i + 1;
                if ((err = get_str(cv, &e, name, &r->destinations[i])))
                        return err;
        }

        field(rec, "persons", &f);
        if ((err = list_size(cv, &f, "persons", HO_PERSONS_MAX, &n)))
                return err;
        if (n && !(r->persons = calloc(n, sizeof(*r->persons))))
                return HO_ERR_NOMEM;
        for (i = 0; i < n; i++) {
                char name[48];
                if (avro_value_get_by_index(&f, i, &e, NULL))
                        return HO_ERR_NOT_AVRO;
                r->n_persons = i + 1;
                snprintf(name, sizeof(name), "persons[%zu].name", i);
                if (!field(&e, "name", &sub))
                        return ho_seterr(cv->errstr, cv->errstr_size, HO_ERR_SCHEMA,
                                         "writer schema lacks field \"persons.name\"");
                if ((err = get_str(cv, &sub, name, &r->persons[i].name)))
                        return err;
                snprintf(name, sizeof(name), "persons[%zu].affiliation", i);
                if (field(&e, "affiliation", &sub) &&
                    (err = get_opt_str(cv, &sub, name, &r->persons[i].affiliation)))
                        return err;
        }

        /* absent in v1 writers: the reader's default, {} */
        if (field(rec, "inmates_by_destination", &f)) {
                if ((err = list_size(cv, &f, "inmates_by_destination", HO_BY_DEST_MAX, &n)))
                        return err;
                if (n && !(r->by_destination = calloc(n, sizeof(*r->by_destination))))
                        return HO_ERR_NOMEM;
                for (i = 0; i < n; i++) {
                        const char *key = NULL;
                        if (avro_value_get_by_index(&f, i, &e, &key) || !key)
                                return HO_ERR_NOT_AVRO;
                        r->n_by_destination = i + 1;
                        if (!(r->by_destination[i].city = strdup(key)))
                                return HO_ERR_NOMEM;
                        if ((err = get_i32(cv, &e, "inmates_by_destination", NULL,
                                           &r->by_destination[i].count)))
                                return err;
                }
                if (r->n_by_destination > 1)
                        qsort(r->by_destination, r->n_by_destination, sizeof(*r->by_destination),
                              city_cmp);
        }
        return HO_OK;
}

static ho_err_t to_report(conv_t *cv, avro_value_t *val, ho_report_t *out, int version) {
        ho_err_t e = convert(cv, val, out);

        if (e == HO_ERR_NOMEM)
                ho_seterr(cv->errstr, cv->errstr_size, e, "out of memory");
        else if (e == HO_ERR_NOT_AVRO)
                ho_seterr(cv->errstr, cv->errstr_size, e, "avro-c value access failed: %s",
                          avro_strerror());
        if (!e) {
                out->schema_version = version;
                e = ho_report_validate(out, cv->errstr, cv->errstr_size);
        }
        if (e)
                ho_report_clear(out);
        return e;
}

ho_err_t ho_codec_value_to_report(ho_codec_t *c, avro_value_t *val, ho_report_t *out, char *errstr,
                                  size_t errstr_size) {
        conv_t cv = {errstr, errstr_size, NULL};
        avro_schema_t s = avro_value_get_schema(val);
        int version = 0;
        size_t i;

        ho_report_clear(out);
        for (i = 0; i < ho_schema_registry_count(c->reg); i++) {
                const ho_schema_t *e = ho_schema_registry_at(c->reg, i);
                if (avro_schema_equal(e->avro, s)) {
                        version = e->version;
                        break;
                }
        }
        return to_report(&cv, val, out, version);
}

/* ---- decode --------------------------------------------------------------- */

ho_err_t ho_soe_fingerprint(const void *data, size_t len, uint64_t *fp) {
        const unsigned char *p = data;
        uint64_t v = 0;
        int i;

        if ((len >= 1 && p[0] != HO_SOE_MAGIC0) || (len >= 2 && p[1] != HO_SOE_MAGIC1))
                return HO_ERR_BAD_MARKER;
        if (len < HO_SOE_HEADER)
                return HO_ERR_TRUNCATED;
        for (i = 7; i >= 0; i--)
                v = (v << 8) | p[2 + i];
        *fp = v;
        return HO_OK;
}

/* ---- the direct decoder (embedded schemas) ------------------------------------ */

/* The walk is the bounded skipper's, step for step (same varint limits, same
 * block-count bounds, same position at an error), so errors and their
 * messages match the avro-c path's exactly; it only keeps what it walks. */
static ho_err_t rd_str(skip_t *s, slice_t *out) {
        int64_t v;
        ho_err_t e;

        if ((e = skip_varint(s, 10, &v)))
                return e;
        if (v < 0)
                return HO_ERR_NOT_AVRO;
        if ((uint64_t)(s->end - s->p) < (uint64_t)v)
                return HO_ERR_TRUNCATED;
        out->p = (const char *)s->p;
        out->n = (size_t)v;
        s->p += v;
        return HO_OK;
}

static ho_err_t rd_int(skip_t *s, int32_t *out) {
        int64_t v;
        ho_err_t e = skip_varint(s, 5, &v);

        if (!e)
                *out = (int32_t)v;
        return e;
}

/* ["null", T]: *present when the branch is T */
static ho_err_t rd_branch(skip_t *s, bool *present) {
        int64_t v;
        ho_err_t e = skip_varint(s, 10, &v);

        if (e)
                return e;
        if (v < 0 || v >= 2)
                return HO_ERR_NOT_AVRO;
        *present = v == 1;
        return HO_OK;
}

/* One block header of an array or map (skip_blocks' rules); *count 0 ends. */
static ho_err_t rd_block(skip_t *s, size_t per, int64_t *count) {
        int64_t size;
        ho_err_t e;

        if ((e = skip_varint(s, 10, count)) || *count == 0)
                return e;
        if (*count < 0) {
                if (*count == INT64_MIN)
                        return HO_ERR_NOT_AVRO;
                *count = -*count;
                if ((e = skip_varint(s, 10, &size)))
                        return e;
                if (size < 0)
                        return HO_ERR_NOT_AVRO;
        }
        if ((uint64_t)*count > (uint64_t)(s->end - s->p) / per)
                return HO_ERR_TRUNCATED;
        return HO_OK;
}

static int slice_cmp(const slice_t *a, const slice_t *b) {
        int c = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);
        return c ? c : (a->n > b->n) - (a->n < b->n);
}

static int map_entry_cmp(const void *a, const void *b) {
        return slice_cmp(a, b); /* key is the first member */
}

static ho_err_t dview_map(skip_t *s, dview_t *d) {
        int64_t count, k;
        ho_err_t e;

        d->n_map = 0;
        d->map_generic = false;
        d->map_repeat = false;
        for (;;) {
                if ((e = rd_block(s, 2, &count)) || count == 0)
                        break;
                for (k = 0; k < count; k++) {
                        slice_t key;
                        int32_t v;
                        if ((e = rd_str(s, &key)) || (e = rd_int(s, &v)))
                                return e;
                        if (d->n_map < HO_BY_DEST_MAX) {
                                d->map[d->n_map].key = key;
                                d->map[d->n_map].count = v;
                        }
                        d->n_map++;
                        /* avro-c keys its maps by C string: a key with a NUL
                         * is cut there, and a repeated key keeps one entry */
                        if (key.n && memchr(key.p, '\0', key.n))
                                d->map_generic = true;
                }
        }
        if (e)
                return e;
        if (d->n_map > HO_BY_DEST_MAX) {
                d->map_generic = true; /* refused by the cap: list_size() */
        } else if (d->n_map > 1) {
                qsort(d->map, d->n_map, sizeof(d->map[0]), map_entry_cmp);
                for (k = 1; k < (int64_t)d->n_map && !d->map_repeat; k++)
                        if (!slice_cmp(&d->map[k - 1].key, &d->map[k].key)) {
                                d->map_repeat = true;
                                d->map_repeat_key = d->map[k].key;
                        }
        }
        return HO_OK;
}

static ho_err_t dview_walk(skip_t *s, dview_t *d, int version) {
        int64_t count, k;
        bool has;
        ho_err_t e;

        if ((e = rd_str(s, &d->report_id)) || (e = rd_str(s, &d->transfer_id)) ||
            (e = rd_int(s, &d->occurred_on)) || (e = skip_varint(s, 10, &d->reported_at)) ||
            (e = rd_str(s, &d->source)) || (e = rd_str(s, &d->origin)) ||
            (e = rd_str(s, &d->destination)) || (e = rd_int(s, &d->inmate_count)) ||
            (e = rd_branch(s, &d->has_aircraft_count)) ||
            (d->has_aircraft_count && (e = rd_int(s, &d->aircraft_count))))
                return e;
        d->n_destinations = 0;
        for (;;) {
                if ((e = rd_block(s, 1, &count)))
                        return e;
                if (count == 0)
                        break;
                for (k = 0; k < count; k++) {
                        slice_t x;
                        if ((e = rd_str(s, &x)))
                                return e;
                        if (d->n_destinations < HO_DESTINATIONS_MAX)
                                d->destinations[d->n_destinations] = x;
                        d->n_destinations++;
                }
        }
        if ((e = rd_branch(s, &d->has_cumulative_total)) ||
            (d->has_cumulative_total && (e = rd_int(s, &d->cumulative_total))) ||
            (e = rd_branch(s, &d->has_authority)) ||
            (d->has_authority && (e = rd_str(s, &d->authority))))
                return e;
        d->n_persons = 0;
        for (;;) {
                if ((e = rd_block(s, 2, &count)))
                        return e;
                if (count == 0)
                        break;
                for (k = 0; k < count; k++) {
                        slice_t name, aff = {NULL, 0};
                        if ((e = rd_str(s, &name)) || (e = rd_branch(s, &has)) ||
                            (has && (e = rd_str(s, &aff))))
                                return e;
                        if (d->n_persons < HO_PERSONS_MAX) {
                                d->persons[d->n_persons].name = name;
                                d->persons[d->n_persons].affiliation = aff;
                                d->persons[d->n_persons].has_affiliation = has;
                        }
                        d->n_persons++;
                }
        }
        d->n_map = 0;
        d->map_generic = false;
        d->map_repeat = false;
        if (version >= 2)
                return dview_map(s, d);
        return HO_OK;
}

/* get_str()'s rule on a slice: no NUL bytes, then a copy */
static ho_err_t dstr(conv_t *cv, const slice_t *x, const char *name, char **out) {
        if (x->n && memchr(x->p, '\0', x->n))
                return conv_fail(cv, name, "expected a string without NUL bytes");
        *out = cv_strndup(cv, x->p ? x->p : "", x->n);
        return *out ? HO_OK : HO_ERR_NOMEM;
}

static ho_err_t dcountry(conv_t *cv, const slice_t *x, const char *name, char out[3]) {
        char msg[128];
        ho_err_t e;

        if (x->n && memchr(x->p, '\0', x->n))
                return conv_fail(cv, name, "expected a string without NUL bytes");
        if (x->n != 2) {
                snprintf(msg, sizeof(msg),
                         "expected a country code of two upper-case letters (ISO 3166-1 alpha-2), "
                         "got %zu bytes",
                         x->n);
                return conv_fail(cv, name, msg);
        }
        e = HO_OK;
        memcpy(out, x->p, 2);
        out[2] = '\0';
        return e;
}

static ho_err_t dlist_size(conv_t *cv, uint64_t n, const char *name, size_t cap) {
        char msg[96];

        if (n <= cap)
                return HO_OK;
        snprintf(msg, sizeof(msg), "expected at most %zu entries, got %zu", cap, (size_t)n);
        return conv_fail(cv, name, msg);
}

/* convert()'s steps, in its order, on the walked datum */
static ho_err_t dview_convert(conv_t *cv, const dview_t *d, ho_report_t *r) {
        char name[48];
        size_t i;
        ho_err_t e;

        if ((e = dstr(cv, &d->report_id, "report_id", &r->report_id)) ||
            (e = dstr(cv, &d->transfer_id, "transfer_id", &r->transfer_id)))
                return e;
        r->occurred_on = d->occurred_on;
        if ((e = dstr(cv, &d->source, "source", &r->source)) ||
            (e = dcountry(cv, &d->origin, "origin_country", r->origin_country)) ||
            (e = dcountry(cv, &d->destination, "destination_country", r->destination_country)))
                return e;
        r->inmate_count = d->inmate_count;
        r->has_aircraft_count = d->has_aircraft_count;
        if (d->has_aircraft_count)
                r->aircraft_count = d->aircraft_count;
        r->has_cumulative_total = d->has_cumulative_total;
        if (d->has_cumulative_total)
                r->cumulative_total = d->cumulative_total;
        if (d->has_authority && (e = dstr(cv, &d->authority, "authority", &r->authority)))
                return e;
        r->reported_at = d->reported_at;

        if ((e = dlist_size(cv, d->n_destinations, "destinations", HO_DESTINATIONS_MAX)))
                return e;
        if (d->n_destinations &&
            !(r->destinations = cv_calloc(cv, (size_t)d->n_destinations, sizeof(char *))))
                return HO_ERR_NOMEM;
        for (i = 0; i < d->n_destinations; i++) {
                const slice_t *x = &d->destinations[i];
                r->n_destinations = i + 1;
                if (x->n && memchr(x->p, '\0', x->n)) {
                        snprintf(name, sizeof(name), "destinations[%zu]", i);
                        return conv_fail(cv, name, "expected a string without NUL bytes");
                }
                if ((e = dstr(cv, x, "destinations", &r->destinations[i])))
                        return e;
        }

        if ((e = dlist_size(cv, d->n_persons, "persons", HO_PERSONS_MAX)))
                return e;
        if (d->n_persons &&
            !(r->persons = cv_calloc(cv, (size_t)d->n_persons, sizeof(*r->persons))))
                return HO_ERR_NOMEM;
        for (i = 0; i < d->n_persons; i++) {
                const slice_t *nm = &d->persons[i].name, *af = &d->persons[i].affiliation;
                r->n_persons = i + 1;
                if (nm->n && memchr(nm->p, '\0', nm->n)) {
                        snprintf(name, sizeof(name), "persons[%zu].name", i);
                        return conv_fail(cv, name, "expected a string without NUL bytes");
                }
                if ((e = dstr(cv, nm, "persons", &r->persons[i].name)))
                        return e;
                if (!d->persons[i].has_affiliation)
                        continue;
                if (af->n && memchr(af->p, '\0', af->n)) {
                        snprintf(name, sizeof(name), "persons[%zu].affiliation", i);
                        return conv_fail(cv, name, "expected a string without NUL bytes");
                }
                if ((e = dstr(cv, af, "persons", &r->persons[i].affiliation)))
                        return e;
        }

        /* sorted and free of repeats by dview_map (else map_generic) */
        if (d->n_map &&
            !(r->by_destination = cv_calloc(cv, (size_t)d->n_map, sizeof(*r->by_destination))))
                return HO_ERR_NOMEM;
        for (i = 0; i < d->n_map; i++) {
                r->n_by_destination = i + 1;
                r->by_destination[i].count = d->map[i].count;
                if (!(r->by_destination[i].city = cv_strndup(cv, d->map[i].key.p, d->map[i].key.n)))
                        return HO_ERR_NOMEM;
        }
        return HO_OK;
}

ho_err_t ho_confluent_id(const void *data, size_t len, int32_t *id) {
        const unsigned char *p = data;

        if (len >= 1 && p[0] != HO_CONFLUENT_MAGIC)
                return HO_ERR_BAD_MARKER;
        if (len < HO_CONFLUENT_HEADER)
                return HO_ERR_TRUNCATED;
        *id = (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
        return HO_OK;
}

ho_err_t ho_confluent_frame(const void *soe, size_t len, int32_t id, ho_buf_t *out) {
        const unsigned char *p = soe;
        unsigned char h[HO_CONFLUENT_HEADER] = {HO_CONFLUENT_MAGIC, (unsigned char)(id >> 24),
                                                (unsigned char)(id >> 16), (unsigned char)(id >> 8),
                                                (unsigned char)id};

        if (len < HO_SOE_HEADER || p[0] != HO_SOE_MAGIC0 || p[1] != HO_SOE_MAGIC1)
                return HO_ERR_BAD_MARKER;
        if (ho_buf_append(out, h, sizeof(h)) ||
            ho_buf_append(out, p + HO_SOE_HEADER, len - HO_SOE_HEADER))
                return HO_ERR_NOMEM;
        return HO_OK;
}

/* The writer schema that a Confluent schema id names: known ids from the
 * codec's map, others asked of the registry once and added to the schema
 * registry (they must resolve to the newest reader schema). Errors:
 * UNKNOWN_SCHEMA for an id the registry does not know or a schema the codec
 * cannot read, TIMEOUT when the registry cannot be asked (retriable). */
static ho_err_t schema_of_id(ho_codec_t *c, int32_t id, const ho_schema_t **sp, char *errstr,
                             size_t errstr_size) {
        const char *json;
        const ho_schema_t *s;
        char why[512];
        uint64_t fp;
        size_t before, i;
        ho_err_t e;

        if (c->n_ids && c->ids[c->last_id].id == id) {
                *sp = c->ids[c->last_id].schema;
                return HO_OK;
        }
        for (i = 0; i < c->n_ids; i++) {
                if (c->ids[i].id == id) {
                        c->last_id = i;
                        *sp = c->ids[i].schema;
                        return HO_OK;
                }
        }
        e = ho_registry_schema(c->rg, id, &json, errstr, errstr_size);
        if (e == HO_ERR_NOT_FOUND)
                return HO_ERR_UNKNOWN_SCHEMA; /* errstr names the id */
        if (e)
                return e;
        before = ho_schema_registry_count(c->reg);
        if (ho_schema_fingerprint(json, strlen(json), &fp, why, sizeof(why)))
                return ho_seterr(errstr, errstr_size, HO_ERR_UNKNOWN_SCHEMA,
                                 "schema id %d from the registry does not parse: %s", (int)id, why);
        if (!ho_schema_registry_find(c->reg, fp) && c->n_reg_schemas >= REG_SCHEMAS_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_UNKNOWN_SCHEMA,
                                 "schema id %d: the registry has given more than %d distinct "
                                 "schemas; no more are taken",
                                 (int)id, REG_SCHEMAS_MAX);
        s = ho_schema_registry_add(c->reg, json, strlen(json), why, sizeof(why));
        if (!s)
                return ho_seterr(errstr, errstr_size, HO_ERR_UNKNOWN_SCHEMA,
                                 "schema id %d from the registry does not parse: %s", (int)id, why);
        if (ho_schema_registry_count(c->reg) > before)
                c->n_reg_schemas++;
        if (ho_schema_entry_compat(s, c->newest, why, sizeof(why)))
                return ho_seterr(errstr, errstr_size, HO_ERR_UNKNOWN_SCHEMA,
                                 "schema id %d from the registry cannot be read as %s: %s", (int)id,
                                 c->newest->name, why);
        i = c->n_ids < ID_MAX ? c->n_ids++ : c->next_id++ % ID_MAX;
        c->ids[i].id = id;
        c->ids[i].schema = s;
        c->last_id = i;
        *sp = s;
        return HO_OK;
}

/* The header of either framing: *sp the writer schema, *hdr its size. */
static ho_err_t decode_header(ho_codec_t *c, const unsigned char *p, size_t len,
                              const ho_schema_t **sp, size_t *hdr, char *errstr,
                              size_t errstr_size) {
        const ho_schema_t *s;
        uint64_t fp;
        int32_t id;
        ho_err_t e;

        if (len >= 1 && p[0] == HO_CONFLUENT_MAGIC) {
                if (ho_confluent_id(p, len, &id))
                        return ho_seterr(errstr, errstr_size, HO_ERR_TRUNCATED,
                                         "value of %zu bytes is shorter than the 5-byte "
                                         "Confluent header",
                                         len);
                if (!c->rg)
                        return ho_seterr(errstr, errstr_size, HO_ERR_BAD_MARKER,
                                         "value is in the Confluent framing (00, schema id %d): "
                                         "reading it needs a schema registry (--registry URL)",
                                         (int)id);
                if ((e = schema_of_id(c, id, sp, errstr, errstr_size)))
                        return e;
                *hdr = HO_CONFLUENT_HEADER;
                return HO_OK;
        }
        e = ho_soe_fingerprint(p, len, &fp);
        if (e == HO_ERR_BAD_MARKER)
                return ho_seterr(errstr, errstr_size, e,
                                 c->rg ? "value starts with neither the single-object marker "
                                         "C3 01 nor the Confluent magic byte 00"
                                       : "value does not start with the single-object marker "
                                         "C3 01");
        if (e)
                return ho_seterr(errstr, errstr_size, e,
                                 "value of %zu bytes is shorter than the 10-byte header", len);
        s = ho_schema_registry_find(c->reg, fp);
        if (!s)
                return ho_seterr(errstr, errstr_size, HO_ERR_UNKNOWN_SCHEMA,
                                 "no known schema has fingerprint %016llx (wire bytes "
                                 "%02x%02x%02x%02x%02x%02x%02x%02x)",
                                 (unsigned long long)fp, p[2], p[3], p[4], p[5], p[6], p[7], p[8],
                                 p[9]);
        *sp = s;
        *hdr = HO_SOE_HEADER;
        return HO_OK;
}

/* The header, the registry and the walk: shared by both decoders. On HO_OK
 * *sp is the writer schema and *hdr the header's size. With a view, the walk
 * is the direct one (the writer must then be coded directly), else the
 * generic skipper. */
static ho_err_t decode_walk(ho_codec_t *c, const unsigned char *p, size_t len, dview_t *view,
                            const ho_schema_t **sp, size_t *hdr, char *errstr, size_t errstr_size) {
        const ho_schema_t *s = NULL;
        skip_t sk;
        ho_err_t e;

        if ((e = decode_header(c, p, len, &s, hdr, errstr, errstr_size)))
                return e;
        *sp = s;
        sk.p = p + *hdr;
        sk.end = p + len;
        if (view && direct_version(c, s))
                e = dview_walk(&sk, view, direct_version(c, s));
        else
                e = skip_value(&sk, s->avro, 0);
        if (e == HO_ERR_TRUNCATED)
                return ho_seterr(errstr, errstr_size, e,
                                 "datum ends before the %s record does (%zu bytes)", s->name,
                                 len - *hdr);
        if (e)
                return ho_seterr(errstr, errstr_size, e,
                                 "bytes at datum offset %zu do not follow %s",
                                 (size_t)(sk.p - p) - *hdr, s->name);
        if (sk.p != sk.end)
                return ho_seterr(errstr, errstr_size, HO_ERR_TRAILING,
                                 "%zu bytes left after the %s datum", (size_t)(sk.end - sk.p),
                                 s->name);
        return HO_OK;
}

/* avro-c reads a datum the skipper accepted */
static ho_err_t decode_avro_c(ho_codec_t *c, const ho_schema_t *s, const unsigned char *p,
                              size_t len, size_t hdr, ho_report_t *out, char *errstr,
                              size_t errstr_size) {
        conv_t cv = {errstr, errstr_size, NULL};
        cache_t *ce = cache_get(c, s);

        if (!ce)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "cannot make an Avro value: %s",
                                 avro_strerror());
        avro_value_reset(&ce->value);
        avro_reader_memory_set_source(c->reader, (const char *)p + hdr, (int64_t)(len - hdr));
        if (avro_value_read(c->reader, &ce->value))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOT_AVRO, "avro-c cannot read it: %s",
                                 avro_strerror());
        return to_report(&cv, &ce->value, out, s->version);
}

/* The map as written, before avro-c sees it: avro-c keys its maps by C
 * string, so it would keep the last value of a repeated key (and count the
 * entries after merging them) without a word, where the JSON rules refuse a
 * repeated member name. Both decoders refuse a repeated key, and a map
 * written with more entries than the cap, the same way. */
static ho_err_t map_check(const ho_codec_t *c, const ho_schema_t *s, char *errstr,
                          size_t errstr_size) {
        const dview_t *d = c->view;
        if (!direct_version(c, s))
                return HO_OK;
        if (d->n_map > HO_BY_DEST_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "field \"inmates_by_destination\": expected at most %d entries, "
                                 "got %" PRIu64,
                                 HO_BY_DEST_MAX, d->n_map);
        if (d->map_repeat)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "field \"inmates_by_destination\": key \"%.*s\" appears more "
                                 "than once (expected distinct cities)",
                                 (int)(d->map_repeat_key.n > 200 ? 200 : d->map_repeat_key.n),
                                 d->map_repeat_key.p);
        return HO_OK;
}

ho_err_t ho_codec_decode_generic(ho_codec_t *c, const void *data, size_t len, ho_report_t *out,
                                 char *errstr, size_t errstr_size) {
        const ho_schema_t *s = NULL;
        size_t hdr = 0;
        ho_err_t e;

        ho_report_clear(out);
        if ((e = decode_walk(c, data, len, c->view, &s, &hdr, errstr, errstr_size)) ||
            (e = map_check(c, s, errstr, errstr_size)))
                return e;
        return decode_avro_c(c, s, data, len, hdr, out, errstr, errstr_size);
}

ho_err_t ho_codec_decode(ho_codec_t *c, const void *data, size_t len, ho_report_t *out,
                         char *errstr, size_t errstr_size) {
        return ho_codec_decode_in(c, data, len, out, NULL, errstr, errstr_size);
}

ho_err_t ho_codec_decode_in(ho_codec_t *c, const void *data, size_t len, ho_report_t *out,
                            ho_arena_t *arena, char *errstr, size_t errstr_size) {
        conv_t cv = {errstr, errstr_size, arena};
        const ho_schema_t *s = NULL;
        size_t hdr = 0;
        ho_err_t e;

        ho_report_clear(out);
        c->last_writer = NULL;
        if ((e = decode_walk(c, data, len, c->view, &s, &hdr, errstr, errstr_size)))
                return e;
        if ((e = map_check(c, s, errstr, errstr_size)))
                return e;
        c->last_writer = s;
        if (!direct_version(c, s) || c->view->map_generic)
                return decode_avro_c(c, s, data, len, hdr, out, errstr, errstr_size);
        out->in_arena = arena != NULL;
        e = dview_convert(&cv, c->view, out);
        if (e == HO_ERR_NOMEM)
                ho_seterr(errstr, errstr_size, e, "out of memory");
        if (!e) {
                out->schema_version = s->version;
                e = ho_report_validate(out, errstr, errstr_size);
        }
        if (e)
                ho_report_clear(out);
        return e;
}

/* ---- derived ids ---------------------------------------------------------- */

/* The v2 datum, from the codec's direct encoder (test_codec checks it
 * against avro-c's bytes). */
ho_err_t ho_report_avro_datum(const ho_report_t *r, const char *report_id, ho_buf_t *b) {
        return ho_codec_datum(r, report_id, 2, b);
}

ho_err_t ho_report_derive_id(const ho_report_t *r, char out[35]) {
        ho_buf_t b = HO_BUF_INIT;
        uint64_t crc, fnv = UINT64_C(0xcbf29ce484222325);
        size_t i;
        ho_err_t err = ho_report_avro_datum(r, "", &b);

        if (err) { /* no id from a partial datum: it would collide */
                ho_buf_free(&b);
                out[0] = '\0';
                return err;
        }
        crc = ho_crc64_avro(b.data, b.len);
        for (i = 0; i < b.len; i++) {
                fnv ^= (unsigned char)b.data[i];
                fnv *= UINT64_C(0x100000001b3);
        }
        ho_buf_free(&b);
        snprintf(out, 35, "r-%016" PRIx64 "%016" PRIx64, crc, fnv);
        return HO_OK;
}
