/*
 * jreport_ref.c: the report's JSON as jansson reads and writes it, kept as
 * the tests' reference for lib/jreport.c. This is the reader handover used
 * before it had its own (jansson's tree, then every rule checked in a fixed
 * order) and the tree writer; test_jreport, test_agg_fold and the fuzz
 * targets hold the library's one reader and one writer to them, message
 * for message and byte for byte.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/codec.h"
#include "jreport_ref.h"
#include "../../lib/report_int.h"

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
                        const char *near = ho_rule_nearest(key, known);
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

ho_err_t ho_ref_report_from_jansson(json_t *obj, ho_report_t *out, char *errstr,
                                    size_t errstr_size) {
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

ho_err_t ho_ref_report_from_json(const char *text, size_t len, ho_report_t *out, char *errstr,
                                 size_t errstr_size) {
        json_error_t jerr;
        json_t *o;
        ho_err_t e;

        ho_report_clear(out);
        o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!o)
                return ho_seterr(errstr, errstr_size, HO_ERR_JSON,
                                 "not a JSON object: %s (column %d)", jerr.text, jerr.column);
        e = ho_ref_report_from_jansson(o, out, errstr, errstr_size);
        json_decref(o);
        return e;
}

/* ---- report -> JSON ------------------------------------------------------- */

static json_t *str_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

json_t *ho_ref_report_to_json(const ho_report_t *r) {
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
