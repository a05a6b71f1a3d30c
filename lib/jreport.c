/*
 * jreport.c: reports as JSON (see jreport.h). One set of rules serves the
 * producers' JSON input and decoded Avro (ho_report_validate), so a report
 * that reaches Kafka through either path obeys the same bounds. The first
 * broken rule wins; its message names the field and what was expected.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/buf.h"
#include "handover/jreport.h"
#include "handover/schema.h"

static const char *const known_fields[] = {
        "report_id",   "transfer_id",   "occurred_on",      "reported_at",
        "source",      "origin_country", "destination_country", "inmate_count",
        "aircraft_count", "destinations", "cumulative_total", "authority",
        "persons",     "inmates_by_destination", NULL};
static const char *const required_fields[] = {"transfer_id", "occurred_on", "reported_at",
                                              "source", "origin_country",
                                              "destination_country", "inmate_count", NULL};
static const char *const person_fields[] = {"name", "affiliation", NULL};

/* Text forms of reported_at cover years 0000..9999. */
#define HO_TIME_MIN INT64_C(-62167219200000)  /* 0000-01-01T00:00:00Z */
#define HO_TIME_MAX INT64_C(253402300799999)  /* 9999-12-31T23:59:59.999Z */
#define HO_DATE_MIN (-719528)                 /* 0000-01-01 */
#define HO_DATE_MAX 2932896                   /* 9999-12-31 */

/* ---- small helpers -------------------------------------------------------- */

static bool utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *)s, *end = p + len;

        while (p < end) {
                unsigned c = *p++;
                int n;
                uint32_t cp;

                if (c < 0x80)
                        continue;
                if (c >= 0xC2 && c <= 0xDF) {
                        n = 1;
                        cp = c & 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        n = 2;
                        cp = c & 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        n = 3;
                        cp = c & 0x07;
                } else {
                        return false;
                }
                if (end - p < n)
                        return false;
                while (n--) {
                        if ((*p & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (*p++ & 0x3F);
                }
                /* overlong forms, surrogates, beyond U+10FFFF */
                if ((c >= 0xE0 && c <= 0xEF && cp < 0x800) || (c >= 0xF0 && cp < 0x10000) ||
                    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                        return false;
        }
        return true;
}

/* A short, printable rendering of a string for messages: quoted, escaped,
 * cut after 40 bytes. */
static void quote(char *out, size_t out_size, const char *s, size_t len) {
        size_t o = 0, i;

        if (out_size < 8) {
                if (out_size)
                        out[0] = '\0';
                return;
        }
        out[o++] = '"';
        for (i = 0; i < len && o + 8 < out_size; i++) {
                unsigned char c = (unsigned char)s[i];
                if (i >= 40) {
                        o += (size_t)snprintf(out + o, out_size - o, "...");
                        break;
                }
                if (c == '"' || c == '\\')
                        o += (size_t)snprintf(out + o, out_size - o, "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        o += (size_t)snprintf(out + o, out_size - o, "\\u%04x", c);
                else
                        out[o++] = (char)c;
        }
        if (o + 2 > out_size)
                o = out_size - 2;
        out[o++] = '"';
        out[o] = '\0';
}

/* What a JSON value is, for "got ..." */
static void describe(char *out, size_t out_size, json_t *v) {
        switch (json_typeof(v)) {
        case JSON_STRING:
                quote(out, out_size, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                snprintf(out, out_size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                break;
        case JSON_REAL:
                /* keep it visibly a real: 29.0 is not the integer 29 */
                snprintf(out, out_size, "%.17g", json_real_value(v));
                if (!strpbrk(out, ".eEn"))
                        strncat(out, ".0", out_size - strlen(out) - 1);
                break;
        case JSON_TRUE:
                snprintf(out, out_size, "true");
                break;
        case JSON_FALSE:
                snprintf(out, out_size, "false");
                break;
        case JSON_NULL:
                snprintf(out, out_size, "null");
                break;
        case JSON_OBJECT:
                snprintf(out, out_size, "an object");
                break;
        case JSON_ARRAY:
                snprintf(out, out_size, "an array");
                break;
        }
}

static size_t levenshtein(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b), i, j;
        size_t row[64], prev, tmp;

        if (lb >= sizeof(row) / sizeof(row[0]) || la >= 64)
                return (size_t)-1;
        for (j = 0; j <= lb; j++)
                row[j] = j;
        for (i = 1; i <= la; i++) {
                prev = row[0];
                row[0] = i;
                for (j = 1; j <= lb; j++) {
                        size_t best = prev + (a[i - 1] != b[j - 1]);
                        if (row[j] + 1 < best)
                                best = row[j] + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        tmp = row[j];
                        row[j] = best;
                        prev = tmp;
                }
        }
        return row[lb];
}

/* The nearest known name, or NULL when none is close. A prefix also counts
 * ("inmates" for "inmate_count"), since people shorten names. */
static const char *nearest(const char *name, const char *const *known) {
        const char *best = NULL;
        size_t best_d = (size_t)-1, i, len = strlen(name);

        for (i = 0; known[i]; i++) {
                size_t d = levenshtein(name, known[i]);
                size_t kl = strlen(known[i]), common = 0;
                while (common < len && common < kl && name[common] == known[i][common])
                        common++;
                if (common >= 4 && common + 2 >= len && d > 2)
                        d = 2; /* "inmates" -> "inmate_count" */
                if (d < best_d) {
                        best_d = d;
                        best = known[i];
                }
        }
        if (best && best_d <= (len > 6 ? 3 : 2) && best_d < len)
                return best;
        return NULL;
}

/* ---- rules on plain values (shared by JSON and decoded reports) ---------- */

static ho_err_t invalid(char *errstr, size_t errstr_size, const char *field, const char *expected,
                        const char *got) {
        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "field \"%s\": expected %s, got %s",
                         field, expected, got);
}

static ho_err_t check_id(const char *field, const char *s, size_t len, char *errstr,
                         size_t errstr_size) {
        size_t i;
        char got[96];

        for (i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
                        break;
        if (len >= 1 && len <= HO_ID_MAX && i == len)
                return HO_OK;
        quote(got, sizeof(got), s, len);
        if (len > HO_ID_MAX)
                snprintf(got, sizeof(got), "%zu bytes", len);
        return invalid(errstr, errstr_size, field,
                       "1..128 visible ASCII characters (no spaces)", got);
}

static ho_err_t check_text(const char *field, const char *s, size_t len, char *errstr,
                           size_t errstr_size) {
        char got[96];

        if (len >= 1 && len <= HO_STR_MAX && strlen(s) == len && utf8_valid(s, len))
                return HO_OK;
        if (len > HO_STR_MAX)
                snprintf(got, sizeof(got), "%zu bytes", len);
        else if (strlen(s) != len)
                snprintf(got, sizeof(got), "a string with a NUL byte");
        else if (len && !utf8_valid(s, len))
                snprintf(got, sizeof(got), "invalid UTF-8");
        else
                quote(got, sizeof(got), s, len);
        return invalid(errstr, errstr_size, field, "a non-empty UTF-8 string of at most 512 bytes",
                       got);
}

static ho_err_t check_country(const char *field, const char *s, size_t len, char *errstr,
                              size_t errstr_size) {
        char got[96];

        if (len == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z')
                return HO_OK;
        quote(got, sizeof(got), s, len);
        return invalid(errstr, errstr_size, field,
                       "a country code of two upper-case letters (ISO 3166-1 alpha-2)", got);
}

static const char *count_expectation(int64_t max, bool nullable) {
        if (max == HO_INMATES_MAX)
                return nullable ? "an integer 0..100000 or null" : "an integer 0..100000";
        if (max == HO_AIRCRAFT_MAX)
                return nullable ? "an integer 0..1000 or null" : "an integer 0..1000";
        return nullable ? "an integer 0..2147483647 or null" : "an integer 0..2147483647";
}

static ho_err_t check_count(const char *field, int64_t v, int64_t max, bool nullable,
                            char *errstr, size_t errstr_size) {
        char got[32];

        if (v >= 0 && v <= max)
                return HO_OK;
        snprintf(got, sizeof(got), "%" PRId64, v);
        return invalid(errstr, errstr_size, field, count_expectation(max, nullable), got);
}

static ho_err_t check_date(int32_t days, char *errstr, size_t errstr_size) {
        char got[32];

        if (days >= HO_DATE_MIN && days <= HO_DATE_MAX)
                return HO_OK;
        snprintf(got, sizeof(got), "day %" PRId32 " from 1970-01-01", days);
        return invalid(errstr, errstr_size, "occurred_on", "a date in years 0000..9999", got);
}

static ho_err_t check_time(int64_t ms, char *errstr, size_t errstr_size) {
        char got[48];

        if (ms >= HO_TIME_MIN && ms <= HO_TIME_MAX)
                return HO_OK;
        snprintf(got, sizeof(got), "%" PRId64 " ms from the epoch", ms);
        return invalid(errstr, errstr_size, "reported_at", "a time in years 0000..9999", got);
}

static int city_cmp(const void *a, const void *b) {
        return strcmp(((const ho_city_count_t *)a)->city, ((const ho_city_count_t *)b)->city);
}

ho_err_t ho_report_validate(const ho_report_t *r, char *errstr, size_t errstr_size) {
        char field[64];
        size_t i;
        ho_err_t e;

#define S(x) (x), ((x) ? strlen(x) : 0)
        if (!r->report_id)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "missing field \"report_id\"");
        if ((e = check_id("report_id", S(r->report_id), errstr, errstr_size)))
                return e;
        if (!r->transfer_id || !r->source)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "missing field \"%s\"",
                                 r->transfer_id ? "source" : "transfer_id");
        if ((e = check_id("transfer_id", S(r->transfer_id), errstr, errstr_size)) ||
            (e = check_date(r->occurred_on, errstr, errstr_size)) ||
            (e = check_time(r->reported_at, errstr, errstr_size)) ||
            (e = check_text("source", S(r->source), errstr, errstr_size)) ||
            (e = check_country("origin_country", r->origin_country,
                               strnlen(r->origin_country, 3), errstr, errstr_size)) ||
            (e = check_country("destination_country", r->destination_country,
                               strnlen(r->destination_country, 3), errstr, errstr_size)) ||
            (e = check_count("inmate_count", r->inmate_count, HO_INMATES_MAX, false, errstr,
                             errstr_size)))
                return e;
        if (r->has_aircraft_count && (e = check_count("aircraft_count", r->aircraft_count,
                                                      HO_AIRCRAFT_MAX, true, errstr, errstr_size)))
                return e;
        if (r->n_destinations > HO_DESTINATIONS_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "field \"destinations\": expected at most 64 cities, got %zu",
                                 r->n_destinations);
        for (i = 0; i < r->n_destinations; i++) {
                snprintf(field, sizeof(field), "destinations[%zu]", i);
                if (!r->destinations[i])
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "missing field \"%s\"", field);
                if ((e = check_text(field, S(r->destinations[i]), errstr, errstr_size)))
                        return e;
        }
        if (r->has_cumulative_total &&
            (e = check_count("cumulative_total", r->cumulative_total, INT32_MAX, true, errstr,
                             errstr_size)))
                return e;
        if (r->authority && (e = check_text("authority", S(r->authority), errstr, errstr_size)))
                return e;
        if (r->n_persons > HO_PERSONS_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "field \"persons\": expected at most 1000 persons, got %zu",
                                 r->n_persons);
        for (i = 0; i < r->n_persons; i++) {
                snprintf(field, sizeof(field), "persons[%zu].name", i);
                if (!r->persons[i].name)
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "missing field \"%s\"", field);
                if ((e = check_text(field, S(r->persons[i].name), errstr, errstr_size)))
                        return e;
                snprintf(field, sizeof(field), "persons[%zu].affiliation", i);
                if (r->persons[i].affiliation &&
                    (e = check_text(field, S(r->persons[i].affiliation), errstr, errstr_size)))
                        return e;
        }
        if (r->n_by_destination > HO_BY_DEST_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "field \"inmates_by_destination\": expected at most 64 cities, "
                                 "got %zu", r->n_by_destination);
        for (i = 0; i < r->n_by_destination; i++) {
                const ho_city_count_t *c = &r->by_destination[i];
                if (!c->city)
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "missing field \"inmates_by_destination\" city");
                if ((e = check_text("inmates_by_destination (a city)", S(c->city), errstr,
                                    errstr_size)))
                        return e;
                snprintf(field, sizeof(field), "inmates_by_destination.%.40s", c->city);
                if ((e = check_count(field, c->count, HO_INMATES_MAX, false, errstr,
                                     errstr_size)))
                        return e;
                if (i && strcmp(r->by_destination[i - 1].city, c->city) >= 0)
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "field \"inmates_by_destination\": city \"%.40s\" "
                                         "appears twice or out of order", c->city);
        }
        return HO_OK;
#undef S
}

/* ---- JSON -> report ------------------------------------------------------- */

static ho_err_t want_string(json_t *v, const char *field, const char *expected, char *errstr,
                            size_t errstr_size) {
        char got[96];

        if (json_is_string(v))
                return HO_OK;
        describe(got, sizeof(got), v);
        return invalid(errstr, errstr_size, field, expected, got);
}

static ho_err_t get_id(json_t *v, const char *field, char **out, char *errstr,
                       size_t errstr_size) {
        ho_err_t e;

        if ((e = want_string(v, field, "1..128 visible ASCII characters (no spaces)", errstr,
                             errstr_size)) ||
            (e = check_id(field, json_string_value(v), json_string_length(v), errstr,
                          errstr_size)))
                return e;
        *out = strdup(json_string_value(v));
        return *out ? HO_OK : HO_ERR_NOMEM;
}

static ho_err_t get_text(json_t *v, const char *field, char **out, char *errstr,
                         size_t errstr_size) {
        ho_err_t e;

        if ((e = want_string(v, field, "a non-empty UTF-8 string of at most 512 bytes", errstr,
                             errstr_size)) ||
            (e = check_text(field, json_string_value(v), json_string_length(v), errstr,
                            errstr_size)))
                return e;
        *out = strdup(json_string_value(v));
        return *out ? HO_OK : HO_ERR_NOMEM;
}

static ho_err_t get_count(json_t *v, const char *field, int64_t max, bool nullable,
                          int32_t *out, char *errstr, size_t errstr_size) {
        char got[96];
        ho_err_t e;

        if (!json_is_integer(v)) {
                describe(got, sizeof(got), v);
                return invalid(errstr, errstr_size, field, count_expectation(max, nullable), got);
        }
        if ((e = check_count(field, json_integer_value(v), max, nullable, errstr, errstr_size)))
                return e;
        *out = (int32_t)json_integer_value(v);
        return HO_OK;
}

/* Reject members outside `known`, naming the nearest known name. */
static ho_err_t check_members(json_t *obj, const char *const *known, const char *where,
                              char *errstr, size_t errstr_size) {
        const char *key;
        json_t *v;
        size_t i;

        json_object_foreach(obj, key, v) {
                for (i = 0; known[i]; i++)
                        if (!strcmp(key, known[i]))
                                break;
                if (!known[i]) {
                        const char *near = nearest(key, known);
                        char q[96];

                        quote(q, sizeof(q), key, strlen(key));
                        if (near)
                                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                                 "unknown field %s%s (did you mean \"%s\"?)", q,
                                                 where, near);
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "unknown field %s%s", q, where);
                }
        }
        return HO_OK;
}

static ho_err_t parse_object(json_t *o, ho_report_t *r, char *errstr, size_t errstr_size) {
        json_t *v;
        char got[96], field[64];
        size_t i;
        ho_err_t e;

        if (!json_is_object(o)) {
                describe(got, sizeof(got), o);
                return ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                 "expected a JSON object (one report), got %s", got);
        }
        if ((e = check_members(o, known_fields, "", errstr, errstr_size)))
                return e;
        for (i = 0; required_fields[i]; i++)
                if (!json_object_get(o, required_fields[i]))
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "missing field \"%s\"", required_fields[i]);

        if ((v = json_object_get(o, "report_id")) &&
            (e = get_id(v, "report_id", &r->report_id, errstr, errstr_size)))
                return e;
        if ((e = get_id(json_object_get(o, "transfer_id"), "transfer_id", &r->transfer_id, errstr,
                        errstr_size)))
                return e;

        v = json_object_get(o, "occurred_on");
        if (!json_is_string(v) || ho_date_parse(json_string_value(v), &r->occurred_on)) {
                describe(got, sizeof(got), v);
                return invalid(errstr, errstr_size, "occurred_on", "a date YYYY-MM-DD", got);
        }
        v = json_object_get(o, "reported_at");
        if (!json_is_string(v) || ho_time_parse_rfc3339(json_string_value(v), &r->reported_at)) {
                describe(got, sizeof(got), v);
                return invalid(errstr, errstr_size, "reported_at",
                               "an RFC 3339 time with a zone, e.g. \"2026-01-21T05:47:00Z\"", got);
        }
        if ((e = get_text(json_object_get(o, "source"), "source", &r->source, errstr,
                          errstr_size)))
                return e;

        static const char *const countries[] = {"origin_country", "destination_country"};
        for (i = 0; i < 2; i++) {
                char *dst = i ? r->destination_country : r->origin_country;
                v = json_object_get(o, countries[i]);
                if ((e = want_string(v, countries[i],
                                     "a country code of two upper-case letters (ISO 3166-1 "
                                     "alpha-2)", errstr, errstr_size)) ||
                    (e = check_country(countries[i], json_string_value(v), json_string_length(v),
                                       errstr, errstr_size)))
                        return e;
                memcpy(dst, json_string_value(v), 3);
        }
        if ((e = get_count(json_object_get(o, "inmate_count"), "inmate_count", HO_INMATES_MAX,
                           false, &r->inmate_count, errstr, errstr_size)))
                return e;
        v = json_object_get(o, "aircraft_count");
        if (v && !json_is_null(v)) {
                if ((e = get_count(v, "aircraft_count", HO_AIRCRAFT_MAX, true, &r->aircraft_count,
                                   errstr, errstr_size)))
                        return e;
                r->has_aircraft_count = true;
        }

        v = json_object_get(o, "destinations");
        if (v) {
                if (!json_is_array(v) || json_array_size(v) > HO_DESTINATIONS_MAX) {
                        if (json_is_array(v))
                                snprintf(got, sizeof(got), "%zu", json_array_size(v));
                        else
                                describe(got, sizeof(got), v);
                        return invalid(errstr, errstr_size, "destinations",
                                       "an array of at most 64 cities", got);
                }
                if (json_array_size(v)) {
                        r->destinations = calloc(json_array_size(v), sizeof(char *));
                        if (!r->destinations)
                                return HO_ERR_NOMEM;
                }
                for (i = 0; i < json_array_size(v); i++) {
                        snprintf(field, sizeof(field), "destinations[%zu]", i);
                        if ((e = get_text(json_array_get(v, i), field, &r->destinations[i],
                                          errstr, errstr_size)))
                                return e;
                        r->n_destinations = i + 1;
                }
        }

        v = json_object_get(o, "cumulative_total");
        if (v && !json_is_null(v)) {
                if ((e = get_count(v, "cumulative_total", INT32_MAX, true, &r->cumulative_total,
                                   errstr, errstr_size)))
                        return e;
                r->has_cumulative_total = true;
        }
        v = json_object_get(o, "authority");
        if (v && !json_is_null(v) &&
            (e = get_text(v, "authority", &r->authority, errstr, errstr_size)))
                return e;

        v = json_object_get(o, "persons");
        if (v) {
                if (!json_is_array(v) || json_array_size(v) > HO_PERSONS_MAX) {
                        if (json_is_array(v))
                                snprintf(got, sizeof(got), "%zu", json_array_size(v));
                        else
                                describe(got, sizeof(got), v);
                        return invalid(errstr, errstr_size, "persons",
                                       "an array of at most 1000 persons", got);
                }
                if (json_array_size(v)) {
                        r->persons = calloc(json_array_size(v), sizeof(*r->persons));
                        if (!r->persons)
                                return HO_ERR_NOMEM;
                }
                for (i = 0; i < json_array_size(v); i++) {
                        json_t *p = json_array_get(v, i), *a;
                        char where[48];

                        r->n_persons = i + 1;
                        snprintf(field, sizeof(field), "persons[%zu]", i);
                        if (!json_is_object(p)) {
                                describe(got, sizeof(got), p);
                                return invalid(errstr, errstr_size, field,
                                               "an object {\"name\", \"affiliation\"}", got);
                        }
                        snprintf(where, sizeof(where), " in \"persons[%zu]\"", i);
                        if ((e = check_members(p, person_fields, where, errstr, errstr_size)))
                                return e;
                        snprintf(field, sizeof(field), "persons[%zu].name", i);
                        if (!json_object_get(p, "name"))
                                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                                 "missing field \"%s\"", field);
                        if ((e = get_text(json_object_get(p, "name"), field, &r->persons[i].name,
                                          errstr, errstr_size)))
                                return e;
                        snprintf(field, sizeof(field), "persons[%zu].affiliation", i);
                        a = json_object_get(p, "affiliation");
                        if (a && !json_is_null(a) &&
                            (e = get_text(a, field, &r->persons[i].affiliation, errstr,
                                          errstr_size)))
                                return e;
                }
        }

        v = json_object_get(o, "inmates_by_destination");
        if (v) {
                const char *city;
                json_t *cnt;

                if (!json_is_object(v) || json_object_size(v) > HO_BY_DEST_MAX) {
                        if (json_is_object(v))
                                snprintf(got, sizeof(got), "%zu cities", json_object_size(v));
                        else
                                describe(got, sizeof(got), v);
                        return invalid(errstr, errstr_size, "inmates_by_destination",
                                       "an object of at most 64 \"city\": count members", got);
                }
                if (json_object_size(v)) {
                        r->by_destination = calloc(json_object_size(v), sizeof(ho_city_count_t));
                        if (!r->by_destination)
                                return HO_ERR_NOMEM;
                }
                i = 0;
                json_object_foreach(v, city, cnt) {
                        ho_city_count_t *c = &r->by_destination[i];
                        if ((e = check_text("inmates_by_destination (a city)", city, strlen(city),
                                            errstr, errstr_size)))
                                return e;
                        snprintf(field, sizeof(field), "inmates_by_destination.%.40s", city);
                        if ((e = get_count(cnt, field, HO_INMATES_MAX, false, &c->count, errstr,
                                           errstr_size)))
                                return e;
                        if (!(c->city = strdup(city)))
                                return HO_ERR_NOMEM;
                        r->n_by_destination = ++i;
                }
                /* sorted: derived ids and encodings must not depend on input order */
                if (r->n_by_destination > 1)
                        qsort(r->by_destination, r->n_by_destination, sizeof(ho_city_count_t),
                              city_cmp);
        }
        if (!r->report_id) {
                r->report_id = malloc(35);
                if (!r->report_id)
                        return HO_ERR_NOMEM;
                ho_report_derive_id(r, r->report_id);
        }
        /* the struct-level rules too (dates' year range, ordering); normally a no-op */
        return ho_report_validate(r, errstr, errstr_size);
}

ho_err_t ho_report_from_jansson(json_t *obj, ho_report_t *out, char *errstr, size_t errstr_size) {
        ho_err_t e;

        ho_report_clear(out);
        e = parse_object(obj, out, errstr, errstr_size);
        if (e == HO_ERR_NOMEM)
                ho_seterr(errstr, errstr_size, e, "out of memory");
        if (e)
                ho_report_clear(out);
        return e;
}

ho_err_t ho_report_from_json(const char *text, size_t len, ho_report_t *out, char *errstr,
                             size_t errstr_size) {
        json_error_t jerr;
        json_t *o;
        ho_err_t e;

        ho_report_clear(out);
        o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!o)
                return ho_seterr(errstr, errstr_size, HO_ERR_JSON, "not a JSON object: %s (column %d)",
                                 jerr.text, jerr.column);
        e = ho_report_from_jansson(o, out, errstr, errstr_size);
        json_decref(o);
        return e;
}

/* ---- derived ids ---------------------------------------------------------- */

/* The Avro binary encoding of the v2 datum (zig-zag varints, length-prefixed
 * strings, one block per array/map), written here rather than through avro-c
 * so that deriving an id needs no schema objects. test_codec checks it
 * against avro-c's bytes. */
static void put_long(ho_buf_t *b, int64_t v) {
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        unsigned char tmp[10];
        size_t n = 0;

        do {
                tmp[n] = (unsigned char)(z & 0x7f);
                z >>= 7;
                if (z)
                        tmp[n] |= 0x80;
                n++;
        } while (z);
        ho_buf_append(b, tmp, n);
}

static void put_str(ho_buf_t *b, const char *s) {
        size_t n = s ? strlen(s) : 0;

        put_long(b, (int64_t)n);
        ho_buf_append(b, s ? s : "", n);
}

static void put_opt_str(ho_buf_t *b, const char *s) {
        put_long(b, s ? 1 : 0);
        if (s)
                put_str(b, s);
}

ho_err_t ho_report_avro_datum(const ho_report_t *r, const char *report_id, ho_buf_t *b) {
        size_t i;

        put_str(b, report_id);
        put_str(b, r->transfer_id);
        put_long(b, r->occurred_on);
        put_long(b, r->reported_at);
        put_str(b, r->source);
        put_str(b, r->origin_country);
        put_str(b, r->destination_country);
        put_long(b, r->inmate_count);
        put_long(b, r->has_aircraft_count ? 1 : 0);
        if (r->has_aircraft_count)
                put_long(b, r->aircraft_count);
        if (r->n_destinations) {
                put_long(b, (int64_t)r->n_destinations);
                for (i = 0; i < r->n_destinations; i++)
                        put_str(b, r->destinations[i]);
        }
        put_long(b, 0);
        put_long(b, r->has_cumulative_total ? 1 : 0);
        if (r->has_cumulative_total)
                put_long(b, r->cumulative_total);
        put_opt_str(b, r->authority);
        if (r->n_persons) {
                put_long(b, (int64_t)r->n_persons);
                for (i = 0; i < r->n_persons; i++) {
                        put_str(b, r->persons[i].name);
                        put_opt_str(b, r->persons[i].affiliation);
                }
        }
        put_long(b, 0);
        if (r->n_by_destination) {
                put_long(b, (int64_t)r->n_by_destination);
                for (i = 0; i < r->n_by_destination; i++) {
                        put_str(b, r->by_destination[i].city);
                        put_long(b, r->by_destination[i].count);
                }
        }
        put_long(b, 0);
        return b->data ? HO_OK : HO_ERR_NOMEM;
}

void ho_report_derive_id(const ho_report_t *r, char out[35]) {
        ho_buf_t b = HO_BUF_INIT;
        uint64_t crc, fnv = UINT64_C(0xcbf29ce484222325);
        size_t i;

        ho_report_avro_datum(r, "", &b);
        crc = ho_crc64_avro(b.data, b.len);
        for (i = 0; i < b.len; i++) {
                fnv ^= (unsigned char)b.data[i];
                fnv *= UINT64_C(0x100000001b3);
        }
        ho_buf_free(&b);
        snprintf(out, 35, "r-%016" PRIx64 "%016" PRIx64, crc, fnv);
}

/* ---- report -> JSON ------------------------------------------------------- */

static json_t *str_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

json_t *ho_report_to_json(const ho_report_t *r) {
        json_t *o = json_object(), *a;
        char date[11], ts[32];
        size_t i;
        int bad = !o;

        if (bad)
                return NULL;
        ho_date_format(r->occurred_on, date);
        ho_time_format_rfc3339(r->reported_at, ts);
        bad |= json_object_set_new(o, "report_id", str_or_null(r->report_id));
        bad |= json_object_set_new(o, "transfer_id", str_or_null(r->transfer_id));
        bad |= json_object_set_new(o, "occurred_on", json_string(date));
        bad |= json_object_set_new(o, "reported_at", json_string(ts));
        bad |= json_object_set_new(o, "source", str_or_null(r->source));
        bad |= json_object_set_new(o, "origin_country", json_string(r->origin_country));
        bad |= json_object_set_new(o, "destination_country", json_string(r->destination_country));
        bad |= json_object_set_new(o, "inmate_count", json_integer(r->inmate_count));
        bad |= json_object_set_new(o, "aircraft_count", r->has_aircraft_count
                                                           ? json_integer(r->aircraft_count)
                                                           : json_null());
        a = json_array();
        for (i = 0; a && i < r->n_destinations; i++)
                bad |= json_array_append_new(a, str_or_null(r->destinations[i]));
        bad |= json_object_set_new(o, "destinations", a);
        bad |= json_object_set_new(o, "cumulative_total", r->has_cumulative_total
                                                             ? json_integer(r->cumulative_total)
                                                             : json_null());
        bad |= json_object_set_new(o, "authority", str_or_null(r->authority));
        a = json_array();
        for (i = 0; a && i < r->n_persons; i++) {
                json_t *p = json_object();
                if (p) {
                        bad |= json_object_set_new(p, "name", str_or_null(r->persons[i].name));
                        bad |= json_object_set_new(p, "affiliation",
                                                   str_or_null(r->persons[i].affiliation));
                }
                bad |= json_array_append_new(a, p);
        }
        bad |= json_object_set_new(o, "persons", a);
        a = json_object();
        for (i = 0; a && i < r->n_by_destination; i++)
                bad |= json_object_set_new(a, r->by_destination[i].city ? r->by_destination[i].city
                                                                        : "",
                                           json_integer(r->by_destination[i].count));
        bad |= json_object_set_new(o, "inmates_by_destination", a);
        if (bad) {
                json_decref(o);
                return NULL;
        }
        return o;
}

char *ho_report_to_json_text(const ho_report_t *r) {
        json_t *o = ho_report_to_json(r);
        char *s;

        if (!o)
                return NULL;
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        return s;
}
