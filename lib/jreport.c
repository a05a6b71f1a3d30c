/*
 * jreport.c: reports as JSON (see jreport.h). The rules are the report's
 * (report.c, through report_int.h): the JSON readers check each field with
 * them as they read it, so a report that reaches Kafka from JSON or from
 * decoded Avro (ho_report_validate) obeys the same bounds. The first broken
 * rule wins; its message names the field and what was expected.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/buf.h"
#include "handover/codec.h"
#include "handover/jreport.h"
#include "handover/schema.h"
#include "report_int.h"

static const char *const person_fields[] = {"name", "affiliation", NULL};

/* Text forms of reported_at cover years 0000..9999. */

/* ---- small helpers -------------------------------------------------------- */

/* What a JSON value is, for "got ..." */
static void describe(char *out, size_t out_size, json_t *v) {
        switch (json_typeof(v)) {
        case JSON_STRING:
                ho_rule_quote(out, out_size, json_string_value(v), json_string_length(v));
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

/* ---- JSON -> report ------------------------------------------------------- */

static ho_err_t want_string(json_t *v, const char *field, const char *expected, char *errstr,
                            size_t errstr_size) {
        char got[96];

        if (json_is_string(v))
                return HO_OK;
        describe(got, sizeof(got), v);
        return ho_rule_invalid(errstr, errstr_size, field, expected, got);
}

static ho_err_t get_id(json_t *v, const char *field, char **out, char *errstr, size_t errstr_size) {
        ho_err_t e;

        if ((e = want_string(v, field, "1..128 visible ASCII characters (no spaces)", errstr,
                             errstr_size)) ||
            (e = ho_rule_check_id(field, json_string_value(v), json_string_length(v), errstr,
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
            (e = ho_rule_check_text(field, json_string_value(v), json_string_length(v), errstr,
                                    errstr_size)))
                return e;
        *out = strdup(json_string_value(v));
        return *out ? HO_OK : HO_ERR_NOMEM;
}

static ho_err_t get_count(json_t *v, const char *field, int64_t max, bool nullable, int32_t *out,
                          char *errstr, size_t errstr_size) {
        char got[96];
        ho_err_t e;

        if (!json_is_integer(v)) {
                describe(got, sizeof(got), v);
                return ho_rule_invalid(errstr, errstr_size, field,
                                       ho_rule_count_expectation(max, nullable), got);
        }
        if ((e = ho_rule_check_count(field, json_integer_value(v), max, nullable, errstr,
                                     errstr_size)))
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

                        ho_rule_quote(q, sizeof(q), key, strlen(key));
                        if (near)
                                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                                 "unknown field %s%s (did you mean \"%s\"?)", q,
                                                 where, near);
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "unknown field %s%s",
                                         q, where);
                }
        }
        return HO_OK;
}

/* get_text() on the usual, valid string: no field path, no message */
static bool take_text(json_t *v, char **out) {
        if (!json_is_string(v) || !ho_rule_text_ok(json_string_value(v), json_string_length(v)))
                return false;
        *out = strdup(json_string_value(v));
        return true;
}

/* ho_report_field_names[] index of key, or -1 */
static int field_index(const char *key) {
        int i;

        for (i = 0; ho_report_field_names[i]; i++)
                if (key[0] == ho_report_field_names[i][0] && !strcmp(key, ho_report_field_names[i]))
                        return i;
        return -1;
}

static ho_err_t parse_object(json_t *o, ho_report_t *r, char *errstr, size_t errstr_size) {
        json_t *v, *m[HO_RF__COUNT] = {NULL};
        char got[96], field[64];
        const char *key;
        size_t i;
        ho_err_t e;

        if (!json_is_object(o)) {
                describe(got, sizeof(got), o);
                return ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                 "expected a JSON object (one report), got %s", got);
        }
        json_object_foreach(o, key, v) {
                int k = field_index(key);
                if (k < 0) /* the first unknown member, with its message */
                        return check_members(o, ho_report_field_names, "", errstr, errstr_size);
                m[k] = v;
        }
        static const int required[] = {HO_RF_TRANSFER_ID, HO_RF_OCCURRED_ON, HO_RF_REPORTED_AT,
                                       HO_RF_SOURCE,      HO_RF_ORIGIN,      HO_RF_DESTINATION,
                                       HO_RF_INMATES};
        for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
                if (!m[required[i]])
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "missing field \"%s\"",
                                         ho_report_field_names[required[i]]);

        if ((v = m[HO_RF_REPORT_ID]) &&
            (e = get_id(v, "report_id", &r->report_id, errstr, errstr_size)))
                return e;
        if ((e = get_id(m[HO_RF_TRANSFER_ID], "transfer_id", &r->transfer_id, errstr, errstr_size)))
                return e;

        v = m[HO_RF_OCCURRED_ON];
        if (!json_is_string(v) || ho_date_parse(json_string_value(v), &r->occurred_on)) {
                describe(got, sizeof(got), v);
                return ho_rule_invalid(errstr, errstr_size, "occurred_on", "a date YYYY-MM-DD",
                                       got);
        }
        v = m[HO_RF_REPORTED_AT];
        if (!json_is_string(v) || ho_time_parse_rfc3339(json_string_value(v), &r->reported_at)) {
                describe(got, sizeof(got), v);
                return ho_rule_invalid(
                        errstr, errstr_size, "reported_at",
                        "an RFC 3339 time with a zone, e.g. \"2026-01-21T05:47:00Z\"", got);
        }
        if ((e = get_text(m[HO_RF_SOURCE], "source", &r->source, errstr, errstr_size)))
                return e;

        static const char *const countries[] = {"origin_country", "destination_country"};
        for (i = 0; i < 2; i++) {
                char *dst = i ? r->destination_country : r->origin_country;
                v = m[i ? HO_RF_DESTINATION : HO_RF_ORIGIN];
                if ((e = want_string(v, countries[i],
                                     "a country code of two upper-case letters (ISO 3166-1 "
                                     "alpha-2)",
                                     errstr, errstr_size)) ||
                    (e = ho_rule_check_country(countries[i], json_string_value(v),
                                               json_string_length(v), errstr, errstr_size)))
                        return e;
                memcpy(dst, json_string_value(v), 3);
        }
        if ((e = get_count(m[HO_RF_INMATES], "inmate_count", HO_INMATES_MAX, false,
                           &r->inmate_count, errstr, errstr_size)))
                return e;
        v = m[HO_RF_AIRCRAFT];
        if (v && !json_is_null(v)) {
                if ((e = get_count(v, "aircraft_count", HO_AIRCRAFT_MAX, true, &r->aircraft_count,
                                   errstr, errstr_size)))
                        return e;
                r->has_aircraft_count = true;
        }

        v = m[HO_RF_DESTINATIONS];
        if (v) {
                size_t n = json_array_size(v);
                if (!json_is_array(v) || n > HO_DESTINATIONS_MAX) {
                        if (json_is_array(v))
                                snprintf(got, sizeof(got), "%zu", n);
                        else
                                describe(got, sizeof(got), v);
                        return ho_rule_invalid(errstr, errstr_size, "destinations",
                                               "an array of at most 64 cities", got);
                }
                if (n && !(r->destinations = calloc(n, sizeof(char *))))
                        return HO_ERR_NOMEM;
                for (i = 0; i < n; i++) {
                        json_t *x = json_array_get(v, i);
                        if (!take_text(x, &r->destinations[i])) {
                                /* the field's path is written only for a message */
                                snprintf(field, sizeof(field), "destinations[%zu]", i);
                                if ((e = get_text(x, field, &r->destinations[i], errstr,
                                                  errstr_size)))
                                        return e;
                        }
                        if (!r->destinations[i])
                                return HO_ERR_NOMEM;
                        r->n_destinations = i + 1;
                }
        }

        v = m[HO_RF_CUMULATIVE];
        if (v && !json_is_null(v)) {
                if ((e = get_count(v, "cumulative_total", INT32_MAX, true, &r->cumulative_total,
                                   errstr, errstr_size)))
                        return e;
                r->has_cumulative_total = true;
        }
        v = m[HO_RF_AUTHORITY];
        if (v && !json_is_null(v) &&
            (e = get_text(v, "authority", &r->authority, errstr, errstr_size)))
                return e;

        v = m[HO_RF_PERSONS];
        if (v) {
                size_t n = json_array_size(v);
                if (!json_is_array(v) || n > HO_PERSONS_MAX) {
                        if (json_is_array(v))
                                snprintf(got, sizeof(got), "%zu", n);
                        else
                                describe(got, sizeof(got), v);
                        return ho_rule_invalid(errstr, errstr_size, "persons",
                                               "an array of at most 1000 persons", got);
                }
                if (n && !(r->persons = calloc(n, sizeof(*r->persons))))
                        return HO_ERR_NOMEM;
                for (i = 0; i < n; i++) {
                        json_t *p = json_array_get(v, i), *name = NULL, *a = NULL, *x;
                        const char *pk;
                        bool other = false;
                        char where[48];

                        r->n_persons = i + 1;
                        if (json_is_object(p)) {
                                json_object_foreach(p, pk, x) {
                                        if (!strcmp(pk, "name"))
                                                name = x;
                                        else if (!strcmp(pk, "affiliation"))
                                                a = x;
                                        else
                                                other = true;
                                }
                        }
                        /* the usual person: no path, no message */
                        if (name && !other && take_text(name, &r->persons[i].name) &&
                            (!a || json_is_null(a) || take_text(a, &r->persons[i].affiliation))) {
                                if (!r->persons[i].name ||
                                    (a && !json_is_null(a) && !r->persons[i].affiliation))
                                        return HO_ERR_NOMEM;
                                continue;
                        }
                        free(r->persons[i].name);
                        r->persons[i].name = NULL;
                        snprintf(field, sizeof(field), "persons[%zu]", i);
                        if (!json_is_object(p)) {
                                describe(got, sizeof(got), p);
                                return ho_rule_invalid(errstr, errstr_size, field,
                                                       "an object {\"name\", \"affiliation\"}",
                                                       got);
                        }
                        snprintf(where, sizeof(where), " in \"persons[%zu]\"", i);
                        if ((e = check_members(p, person_fields, where, errstr, errstr_size)))
                                return e;
                        snprintf(field, sizeof(field), "persons[%zu].name", i);
                        if (!name)
                                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                                 "missing field \"%s\"", field);
                        if ((e = get_text(name, field, &r->persons[i].name, errstr, errstr_size)))
                                return e;
                        snprintf(field, sizeof(field), "persons[%zu].affiliation", i);
                        if (a && !json_is_null(a) &&
                            (e = get_text(a, field, &r->persons[i].affiliation, errstr,
                                          errstr_size)))
                                return e;
                }
        }

        v = m[HO_RF_BY_DEST];
        if (v) {
                const char *city;
                json_t *cnt;

                if (!json_is_object(v) || json_object_size(v) > HO_BY_DEST_MAX) {
                        if (json_is_object(v))
                                snprintf(got, sizeof(got), "%zu cities", json_object_size(v));
                        else
                                describe(got, sizeof(got), v);
                        return ho_rule_invalid(errstr, errstr_size, "inmates_by_destination",
                                               "an object of at most 64 \"city\": count members",
                                               got);
                }
                if (json_object_size(v)) {
                        r->by_destination = calloc(json_object_size(v), sizeof(ho_city_count_t));
                        if (!r->by_destination)
                                return HO_ERR_NOMEM;
                }
                i = 0;
                json_object_foreach(v, city, cnt) {
                        ho_city_count_t *c = &r->by_destination[i];
                        if ((e = ho_rule_check_text("inmates_by_destination (a city)", city,
                                                    strlen(city), errstr, errstr_size)))
                                return e;
                        if (!json_is_integer(cnt) || json_integer_value(cnt) < 0 ||
                            json_integer_value(cnt) > HO_INMATES_MAX) {
                                snprintf(field, sizeof(field), "inmates_by_destination.%.40s",
                                         city);
                                return get_count(cnt, field, HO_INMATES_MAX, false, &c->count,
                                                 errstr, errstr_size);
                        }
                        c->count = (int32_t)json_integer_value(cnt);
                        if (!(c->city = strdup(city)))
                                return HO_ERR_NOMEM;
                        r->n_by_destination = ++i;
                }
                /* sorted: derived ids and encodings must not depend on input order */
                if (r->n_by_destination > 1)
                        qsort(r->by_destination, r->n_by_destination, sizeof(ho_city_count_t),
                              ho_rule_city_cmp);
        }
        if (!r->report_id) {
                r->report_id = malloc(35);
                if (!r->report_id)
                        return HO_ERR_NOMEM;
                ho_err_t derr = ho_report_derive_id(r, r->report_id);
                if (derr)
                        return derr;
        }
        /* Every field's rule is checked above, once. What is left of
         * ho_report_validate() are rules on the whole: reported_at in years
         * 0000..9999 (an offset can move a valid text out of them), the date
         * (ho_date_parse already keeps it in range) and the map's order (by
         * qsort; repeats would need keys equal as C strings). */
        if ((e = ho_rule_check_date(r->occurred_on, errstr, errstr_size)) ||
            (e = ho_rule_check_time(r->reported_at, errstr, errstr_size)))
                return e;
        for (i = 1; i < r->n_by_destination; i++)
                if (strcmp(r->by_destination[i - 1].city, r->by_destination[i].city) >= 0)
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "field \"inmates_by_destination\": city \"%.40s\" "
                                         "appears twice or out of order",
                                         r->by_destination[i].city);
        return HO_OK;
}

ho_err_t ho_report_from_jansson(json_t *obj, ho_report_t *out, char *errstr, size_t errstr_size) {
        ho_err_t e;

        ho_report_clear(out);
        e = parse_object(obj, out, errstr, errstr_size);
        if (e == HO_ERR_NOMEM)
                ho_seterr(errstr, errstr_size, e, "out of memory");
        if (e)
                ho_report_clear(out);
        else
                ho_report_mark_validated(out);
        return e;
}

/* ---- JSON -> report, the fast path ---------------------------------------------

 * jansson builds a tree of allocated values and reads its input a character
 * at a time through a stream: two thirds of a producer's time per line went
 * there. Most lines are plain valid reports, so they are read here directly
 * into the report, accepting only a strict subset of JSON: strings without
 * escapes or control characters, integers without fraction or exponent (at
 * most 18 digits), null, every member known, none repeated, every rule kept.
 * Anything else (an escape, true, a real, an unknown or repeated member, a
 * broken rule, a syntax error) makes it give up with nothing kept, and the
 * line is read again by jansson and parse_object(), which decide what it is
 * and word the message: the fast path never accepts a line they refuse, nor
 * reads one differently (test_jreport compares both on every rule's cases). */

typedef struct fj_s {
        const char *p, *end;
} fj_t;

static void fj_ws(fj_t *j) {
        while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
                j->p++;
}

/* the next character after whitespace is c (consumed) */
static bool fj_char(fj_t *j, char c) {
        fj_ws(j);
        if (j->p < j->end && *j->p == c) {
                j->p++;
                return true;
        }
        return false;
}

static bool fj_null(fj_t *j) {
        fj_ws(j);
        if (j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) {
                j->p += 4;
                return true;
        }
        return false;
}

/* a string without escapes or control characters; bytes not checked for
 * UTF-8 here (each caller's rule does) */
static bool fj_str(fj_t *j, const char **s, size_t *n) {
        const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones * 0x80;
        const char *q;

        if (!fj_char(j, '"'))
                return false;
        q = j->p;
        /* 8 bytes at a time while none is '"', '\\' or below 0x20 (the
         * classic tests for a zero byte and for a byte below n) */
        while (j->end - q >= 8) {
                uint64_t w, x, y, m;
                memcpy(&w, q, 8);
                x = w ^ (ones * '"');
                y = w ^ (ones * '\\');
                m = ((x - ones) & ~x & highs) | ((y - ones) & ~y & highs) |
                    ((w - ones * 0x20) & ~w & highs);
                if (m) {
                        /* the lowest flag is exact (the borrows run upwards),
                         * and on little-endian it is the first such byte */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                        q += __builtin_ctzll(m) >> 3;
                        if (*q != '"')
                                return false;
                        *s = j->p;
                        *n = (size_t)(q - j->p);
                        j->p = q + 1;
                        return true;
#else
                        break;
#endif
                }
                q += 8;
        }
        for (; q < j->end; q++) {
                unsigned char c = (unsigned char)*q;
                if (c == '"') {
                        *s = j->p;
                        *n = (size_t)(q - j->p);
                        j->p = q + 1;
                        return true;
                }
                if (c == '\\' || c < 0x20)
                        return false;
        }
        return false;
}

/* an integer as jansson reads one: -?(0|[1-9][0-9]*), no fraction or
 * exponent (those make a real) */
static bool fj_int(fj_t *j, int64_t *v) {
        const char *q;
        int64_t x = 0;
        bool neg = false;
        int digits = 0;

        fj_ws(j);
        q = j->p;
        if (q < j->end && *q == '-') {
                neg = true;
                q++;
        }
        if (q >= j->end || *q < '0' || *q > '9')
                return false;
        if (*q == '0' && q + 1 < j->end && q[1] >= '0' && q[1] <= '9')
                return false;
        while (q < j->end && *q >= '0' && *q <= '9') {
                if (++digits > 18)
                        return false;
                x = x * 10 + (*q++ - '0');
        }
        if (q < j->end && (*q == '.' || *q == 'e' || *q == 'E'))
                return false;
        *v = neg ? -x : x;
        j->p = q;
        return true;
}

static bool fj_count(fj_t *j, int64_t max, int32_t *out) {
        int64_t v;

        if (!fj_int(j, &v) || v < 0 || v > max)
                return false;
        *out = (int32_t)v;
        return true;
}

/* s[0..n) NUL-terminated into a new string: strndup() without its scan
 * for a NUL that fj_str() already ruled out. */
static bool fj_copy(const char *s, size_t n, char **out) {
        if (!(*out = malloc(n + 1)))
                return false;
        memcpy(*out, s, n);
        (*out)[n] = '\0';
        return true;
}

static bool fj_text(fj_t *j, char **out) {
        const char *s;
        size_t n;

        /* fj_str() let no byte below 0x20 through: no NUL to look for */
        if (!fj_str(j, &s, &n) || n < 1 || n > HO_STR_MAX || !ho_utf8_valid(s, n))
                return false;
        return fj_copy(s, n, out);
}

static bool fj_id(fj_t *j, char **out) {
        const char *s;
        size_t n, i;

        if (!fj_str(j, &s, &n) || n < 1 || n > HO_ID_MAX)
                return false;
        for (i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
                        return false;
        return fj_copy(s, n, out);
}

/* a string copied NUL-terminated into buf, for the date and time parsers */
static bool fj_short(fj_t *j, char *buf, size_t size) {
        const char *s;
        size_t n;

        if (!fj_str(j, &s, &n) || n >= size)
                return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return true;
}

static bool fj_persons(fj_t *j, ho_report_t *r) {
        size_t cap = 0;

        if (!fj_char(j, '['))
                return false;
        if (fj_char(j, ']'))
                return true;
        do {
                ho_person_t *p;
                bool seen_aff = false;
                const char *k;
                size_t kn;

                if (r->n_persons == HO_PERSONS_MAX)
                        return false;
                if (r->n_persons == cap) {
                        size_t nc = cap ? cap * 2 : 4;
                        ho_person_t *np;
                        if (nc > HO_PERSONS_MAX)
                                nc = HO_PERSONS_MAX;
                        np = realloc(r->persons, nc * sizeof(*np));
                        if (!np)
                                return false;
                        r->persons = np;
                        cap = nc;
                }
                p = &r->persons[r->n_persons++];
                p->name = p->affiliation = NULL;
                if (!fj_char(j, '{'))
                        return false;
                do {
                        if (!fj_str(j, &k, &kn) || !fj_char(j, ':'))
                                return false;
                        if (kn == 4 && !memcmp(k, "name", 4)) {
                                if (p->name || !fj_text(j, &p->name))
                                        return false;
                        } else if (kn == 11 && !memcmp(k, "affiliation", 11)) {
                                if (seen_aff)
                                        return false;
                                seen_aff = true;
                                if (!fj_null(j) && !fj_text(j, &p->affiliation))
                                        return false;
                        } else {
                                return false;
                        }
                } while (fj_char(j, ','));
                if (!fj_char(j, '}') || !p->name)
                        return false;
        } while (fj_char(j, ','));
        return fj_char(j, ']');
}

/* The arrays are parsed into the stack and allocated at their exact size
 * (a maximum-size calloc per report cost a large chunk's malloc and free);
 * on failure what was taken is freed here, r is left without the array. */
static bool fj_destinations(fj_t *j, ho_report_t *r) {
        char *tmp[HO_DESTINATIONS_MAX];
        size_t n = 0;

        do {
                if (n == HO_DESTINATIONS_MAX || !fj_text(j, &tmp[n]))
                        goto fail;
                n++;
        } while (fj_char(j, ','));
        if (!fj_char(j, ']') || !(r->destinations = malloc(n * sizeof(char *))))
                goto fail;
        memcpy(r->destinations, tmp, n * sizeof(char *));
        r->n_destinations = n;
        return true;
fail:
        while (n > 0)
                free(tmp[--n]);
        return false;
}

static bool fj_by_destination(fj_t *j, ho_report_t *r) {
        ho_city_count_t tmp[HO_BY_DEST_MAX];
        size_t n = 0;

        do {
                if (n == HO_BY_DEST_MAX || !fj_text(j, &tmp[n].city))
                        goto fail;
                n++;
                if (!fj_char(j, ':') || !fj_count(j, HO_INMATES_MAX, &tmp[n - 1].count))
                        goto fail;
        } while (fj_char(j, ','));
        if (!fj_char(j, '}') || !(r->by_destination = malloc(n * sizeof(ho_city_count_t))))
                goto fail;
        memcpy(r->by_destination, tmp, n * sizeof(ho_city_count_t));
        r->n_by_destination = n;
        return true;
fail:
        while (n > 0)
                free(tmp[--n].city);
        return false;
}

static bool fj_report(fj_t *j, ho_report_t *r) {
        unsigned seen = 0;
        const char *k;
        size_t kn, i;
        char buf[64];

        if (!fj_char(j, '{'))
                return false;
        if (fj_char(j, '}'))
                return false; /* missing fields: the slow path words it */
        do {
                int f;
                if (!fj_str(j, &k, &kn) || kn >= sizeof(buf) || !fj_char(j, ':'))
                        return false;
                memcpy(buf, k, kn);
                buf[kn] = '\0';
                if ((f = field_index(buf)) < 0 || (seen & (1u << f)))
                        return false;
                seen |= 1u << f;
                switch (f) {
                case HO_RF_REPORT_ID:
                        if (!fj_id(j, &r->report_id))
                                return false;
                        break;
                case HO_RF_TRANSFER_ID:
                        if (!fj_id(j, &r->transfer_id))
                                return false;
                        break;
                case HO_RF_OCCURRED_ON:
                        if (!fj_short(j, buf, sizeof(buf)) || ho_date_parse(buf, &r->occurred_on))
                                return false;
                        break;
                case HO_RF_REPORTED_AT:
                        if (!fj_short(j, buf, sizeof(buf)) ||
                            ho_time_parse_rfc3339(buf, &r->reported_at))
                                return false;
                        break;
                case HO_RF_SOURCE:
                        if (!fj_text(j, &r->source))
                                return false;
                        break;
                case HO_RF_ORIGIN:
                case HO_RF_DESTINATION: {
                        const char *s;
                        size_t n;
                        char *dst = f == HO_RF_ORIGIN ? r->origin_country : r->destination_country;
                        if (!fj_str(j, &s, &n) || n != 2 || s[0] < 'A' || s[0] > 'Z' ||
                            s[1] < 'A' || s[1] > 'Z')
                                return false;
                        dst[0] = s[0];
                        dst[1] = s[1];
                        dst[2] = '\0';
                        break;
                }
                case HO_RF_INMATES:
                        if (!fj_count(j, HO_INMATES_MAX, &r->inmate_count))
                                return false;
                        break;
                case HO_RF_AIRCRAFT:
                        if (!fj_null(j)) {
                                if (!fj_count(j, HO_AIRCRAFT_MAX, &r->aircraft_count))
                                        return false;
                                r->has_aircraft_count = true;
                        }
                        break;
                case HO_RF_CUMULATIVE:
                        if (!fj_null(j)) {
                                if (!fj_count(j, INT32_MAX, &r->cumulative_total))
                                        return false;
                                r->has_cumulative_total = true;
                        }
                        break;
                case HO_RF_AUTHORITY:
                        if (!fj_null(j) && !fj_text(j, &r->authority))
                                return false;
                        break;
                case HO_RF_DESTINATIONS:
                        if (!fj_char(j, '['))
                                return false;
                        if (fj_char(j, ']'))
                                break;
                        if (!fj_destinations(j, r))
                                return false;
                        break;
                case HO_RF_PERSONS:
                        if (!fj_persons(j, r))
                                return false;
                        break;
                case HO_RF_BY_DEST:
                        if (!fj_char(j, '{'))
                                return false;
                        if (fj_char(j, '}'))
                                break;
                        if (!fj_by_destination(j, r))
                                return false;
                        if (r->n_by_destination > 1)
                                qsort(r->by_destination, r->n_by_destination,
                                      sizeof(ho_city_count_t), ho_rule_city_cmp);
                        /* a repeated key is jansson's error to word */
                        for (i = 1; i < r->n_by_destination; i++)
                                if (!strcmp(r->by_destination[i - 1].city,
                                            r->by_destination[i].city))
                                        return false;
                        break;
                default:
                        return false;
                }
        } while (fj_char(j, ','));
        if (!fj_char(j, '}'))
                return false;
        fj_ws(j);
        if (j->p != j->end)
                return false;
        /* every required member */
        if ((seen & ((1u << HO_RF_TRANSFER_ID) | (1u << HO_RF_OCCURRED_ON) |
                     (1u << HO_RF_REPORTED_AT) | (1u << HO_RF_SOURCE) | (1u << HO_RF_ORIGIN) |
                     (1u << HO_RF_DESTINATION) | (1u << HO_RF_INMATES))) !=
            ((1u << HO_RF_TRANSFER_ID) | (1u << HO_RF_OCCURRED_ON) | (1u << HO_RF_REPORTED_AT) |
             (1u << HO_RF_SOURCE) | (1u << HO_RF_ORIGIN) | (1u << HO_RF_DESTINATION) |
             (1u << HO_RF_INMATES)))
                return false;
        /* the rules on the whole, as parse_object() ends */
        if (r->reported_at < HO_TIME_MIN || r->reported_at > HO_TIME_MAX ||
            r->occurred_on < HO_DATE_MIN || r->occurred_on > HO_DATE_MAX)
                return false;
        if (!r->report_id) {
                if (!(r->report_id = malloc(35)) || ho_report_derive_id(r, r->report_id))
                        return false;
        }
        return true;
}

ho_err_t ho_report_from_json(const char *text, size_t len, ho_report_t *out, char *errstr,
                             size_t errstr_size) {
        json_error_t jerr;
        json_t *o;
        ho_err_t e;
        fj_t j = {text, text + len};

        ho_report_clear(out);
        if (fj_report(&j, out)) {
                /* the exact-size arrays parse_object() would have made */
                if (out->n_destinations == 0) {
                        free(out->destinations);
                        out->destinations = NULL;
                }
                if (out->n_by_destination == 0) {
                        free(out->by_destination);
                        out->by_destination = NULL;
                }
                ho_report_mark_validated(out);
                return HO_OK;
        }
        ho_report_clear(out);
        o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!o)
                return ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                 "not a JSON object: %s (column %d)", jerr.text, jerr.column);
        e = ho_report_from_jansson(o, out, errstr, errstr_size);
        json_decref(o);
        return e;
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
        bad |= json_object_set_new(o, "aircraft_count",
                                   r->has_aircraft_count ? json_integer(r->aircraft_count)
                                                         : json_null());
        a = json_array();
        for (i = 0; a && i < r->n_destinations; i++)
                bad |= json_array_append_new(a, str_or_null(r->destinations[i]));
        bad |= json_object_set_new(o, "destinations", a);
        bad |= json_object_set_new(o, "cumulative_total",
                                   r->has_cumulative_total ? json_integer(r->cumulative_total)
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
                bad |= json_object_set_new(a,
                                           r->by_destination[i].city ? r->by_destination[i].city
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
