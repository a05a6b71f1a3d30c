/*
 * jreport.c: reports as JSON (see jreport.h): the one reader and the one
 * writer of the report's shape, for input lines and for the stored state
 * in {P}:transfers alike.
 *
 * The reader walks the text once with the strict reader (json.c) and
 * reads each member straight into the report, checking the member's rule
 * (report.c, through report_int.h) as it goes. What users see is fixed by
 * the messages handover has always given, so the order of the checks is
 * kept: any syntax error wins (jansson's text and column, from json.c);
 * then the first unknown member; then a missing one; then the members'
 * rules in the schema's order, whatever the text's order; within a member
 * the first broken element; then the rules on the whole. Each broken rule
 * is ranked as it is found and the best-ranked message kept, so reading
 * goes on to the end for the syntax. tests/helpers/jreport_ref.c (jansson
 * and the rules in that order) is the reference the tests hold it to.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/buf.h"
#include "handover/codec.h"
#include "handover/json.h"
#include "handover/jreport.h"
#include "report_int.h"

static const char *const person_fields[] = {HO_PERSON_NAME, HO_PERSON_AFFILIATION, NULL};

/* ---- the reader's state ----------------------------------------------------- */

/* How a broken rule ranks: lower wins. */
enum {
        RANK_UNKNOWN = 0,                       /* the first unknown member */
        RANK_MISSING = 1,                       /* a required member absent */
        RANK_FIELD = 2,                         /* + HO_RF_*: a member's rule */
        RANK_WHOLE = RANK_FIELD + HO_RF__COUNT, /* rules on the whole report */
        RANK_NONE = 1 << 30
};

typedef struct rd_s {
        ho_json_t j;
        ho_report_t *r;
        bool state; /* a stored state: "reports" allowed */
        int64_t reports;
        int rank; /* of msg; RANK_NONE when no rule is broken yet */
        char msg[512];
        bool nomem;
} rd_t;

/* Keep msg when it ranks better than what is kept (or as well, with force:
 * an array's length is checked before its elements). */
static void keep(rd_t *rd, int rank, bool force, const char *msg) {
        if (rank < rd->rank || (force && rank == rd->rank)) {
                rd->rank = rank;
                snprintf(rd->msg, sizeof(rd->msg), "%s", msg);
        }
}

static void keep_invalid(rd_t *rd, int rank, bool force, const char *field, const char *expected,
                         const char *got) {
        char m[512];

        if (rank > rd->rank || (rank == rd->rank && !force))
                return;
        ho_rule_invalid(m, sizeof(m), field, expected, got);
        keep(rd, rank, force, m);
}

/* What the current token is, for "got ...": its value, or its kind. */
static void describe(const ho_json_t *j, char *out, size_t out_size) {
        switch (j->token) {
        case HO_JSON_STRING:
                ho_rule_quote(out, out_size, j->str, j->str_len);
                break;
        case HO_JSON_INTEGER:
                snprintf(out, out_size, "%lld", j->ival);
                break;
        case HO_JSON_REAL:
                /* keep it visibly a real: 29.0 is not the integer 29 */
                snprintf(out, out_size, "%.17g", j->dval);
                if (!strpbrk(out, ".eEn"))
                        strncat(out, ".0", out_size - strlen(out) - 1);
                break;
        case HO_JSON_TRUE:
                snprintf(out, out_size, "true");
                break;
        case HO_JSON_FALSE:
                snprintf(out, out_size, "false");
                break;
        case HO_JSON_NULL:
                snprintf(out, out_size, "null");
                break;
        case '{':
                snprintf(out, out_size, "an object");
                break;
        case '[':
                snprintf(out, out_size, "an array");
                break;
        default: /* not a value: the syntax error wins */
                snprintf(out, out_size, "?");
        }
}

/* The current value breaks field's rule: keep the message, read past it. */
static int reject(rd_t *rd, int rank, const char *field, const char *expected) {
        char got[96];

        if (rank < rd->rank) {
                describe(&rd->j, got, sizeof(got));
                keep_invalid(rd, rank, false, field, expected, got);
        }
        return ho_json_skip(&rd->j);
}

/* A scalar value is entered and left at once; -1 when the syntax refuses it. */
static int scalar(rd_t *rd) {
        if (ho_json_value(&rd->j) < 0)
                return -1;
        ho_json_value_end(&rd->j);
        return 0;
}

static char *copy(rd_t *rd, const char *s, size_t n) {
        char *c = malloc(n + 1);
        if (!c) {
                rd->nomem = true;
                return NULL;
        }
        memcpy(c, s, n);
        c[n] = '\0';
        return c;
}

/* ---- members ---------------------------------------------------------------- */

#define ID_EXPECTED "1..128 visible ASCII characters (no spaces)"
#define TEXT_EXPECTED "a non-empty UTF-8 string of at most 512 bytes"
#define COUNTRY_EXPECTED "a country code of two upper-case letters (ISO 3166-1 alpha-2)"

static int read_id(rd_t *rd, int rank, const char *field, char **out) {
        ho_json_t *j = &rd->j;
        char m[512];

        if (j->token != HO_JSON_STRING)
                return reject(rd, rank, field, ID_EXPECTED);
        if (scalar(rd))
                return -1;
        if (ho_rule_check_id(field, j->str, j->str_len, m, sizeof(m)))
                keep(rd, rank, false, m);
        else if (!(*out = copy(rd, j->str, j->str_len)))
                return -1;
        return 0;
}

/* ho_rule_text_ok() on a string the reader gave: those are valid UTF-8
 * without NUL (json.c checks every sequence and refuses "\u0000"), so only
 * the length is left to check. */
static bool text_ok(size_t len) {
        return len >= 1 && len <= HO_STR_MAX;
}

/* A member's path for its message, written only when one is: "source",
 * "destinations[3]", "persons[2].name". */
typedef struct path_s {
        const char *name;
        size_t idx; /* (size_t)-1: none */
        const char *sub;
} path_t;

#define PATH(name) ((path_t){(name), (size_t)-1, ""})

static const char *path_str(path_t p, char *buf, size_t size) {
        if (p.idx == (size_t)-1)
                return p.name;
        snprintf(buf, size, "%s[%zu]%s", p.name, p.idx, p.sub);
        return buf;
}

/* A text member; *bad tells whether its rule broke (the message is then in
 * m, not kept: person elements rank theirs themselves). */
static int read_text_msg(rd_t *rd, path_t path, char **out, bool *bad, char *m, size_t m_size) {
        ho_json_t *j = &rd->j;
        char got[96], fb[64];
        const char *field;

        *bad = false;
        if (j->token != HO_JSON_STRING) {
                field = path_str(path, fb, sizeof(fb));
                describe(j, got, sizeof(got));
                ho_rule_invalid(m, m_size, field, TEXT_EXPECTED, got);
                *bad = true;
                return ho_json_skip(j);
        }
        if (scalar(rd))
                return -1;
        if (!text_ok(j->str_len)) {
                field = path_str(path, fb, sizeof(fb));
                ho_rule_check_text(field, j->str, j->str_len, m, m_size);
                *bad = true;
                return 0;
        }
        if (!(*out = copy(rd, j->str, j->str_len)))
                return -1;
        return 0;
}

static int read_text(rd_t *rd, int rank, path_t field, char **out) {
        char m[512];
        bool bad;

        if (read_text_msg(rd, field, out, &bad, m, sizeof(m)))
                return -1;
        if (bad)
                keep(rd, rank, false, m);
        return 0;
}

static int read_count(rd_t *rd, int rank, const char *field, int64_t max, bool nullable,
                      int32_t *out) {
        ho_json_t *j = &rd->j;
        char m[512];

        if (j->token != HO_JSON_INTEGER)
                return reject(rd, rank, field, ho_rule_count_expectation(max, nullable));
        if (scalar(rd))
                return -1;
        if (ho_rule_check_count(field, j->ival, max, nullable, m, sizeof(m)))
                keep(rd, rank, false, m);
        else
                *out = (int32_t)j->ival;
        return 0;
}

/* A count that may be null (absent) */
static int read_opt_count(rd_t *rd, int rank, const char *field, int64_t max, int32_t *out,
                          bool *has) {
        if (rd->j.token == HO_JSON_NULL)
                return scalar(rd);
        *has = true;
        return read_count(rd, rank, field, max, true, out);
}

/* occurred_on and reported_at: the parsers take a C string */
static int read_when(rd_t *rd, int f) {
        ho_json_t *j = &rd->j;
        const char *field = ho_report_field_names[f];
        const char *expected = f == HO_RF_OCCURRED_ON ? "a date YYYY-MM-DD"
                                                      : "an RFC 3339 time with a zone, e.g. "
                                                        "\"2026-01-21T05:47:00Z\"";
        char small[64], *s = small, got[96];
        int bad;

        if (j->token != HO_JSON_STRING)
                return reject(rd, RANK_FIELD + f, field, expected);
        if (scalar(rd))
                return -1;
        if (j->str_len >= sizeof(small) && !(s = copy(rd, j->str, j->str_len)))
                return -1;
        if (s == small) {
                memcpy(small, j->str, j->str_len);
                small[j->str_len] = '\0';
        }
        bad = f == HO_RF_OCCURRED_ON ? ho_date_parse(s, &rd->r->occurred_on) != 0
                                     : ho_time_parse_rfc3339(s, &rd->r->reported_at) != 0;
        if (s != small)
                free(s);
        if (bad) {
                ho_rule_quote(got, sizeof(got), j->str, j->str_len);
                keep_invalid(rd, RANK_FIELD + f, false, field, expected, got);
        }
        return 0;
}

static int read_country(rd_t *rd, int f) {
        ho_json_t *j = &rd->j;
        const char *field = ho_report_field_names[f];
        char *dst = f == HO_RF_ORIGIN ? rd->r->origin_country : rd->r->destination_country;
        char m[512];

        if (j->token != HO_JSON_STRING)
                return reject(rd, RANK_FIELD + f, field, COUNTRY_EXPECTED);
        if (scalar(rd))
                return -1;
        if (ho_rule_check_country(field, j->str, j->str_len, m, sizeof(m)))
                keep(rd, RANK_FIELD + f, false, m);
        else {
                memcpy(dst, j->str, 2);
                dst[2] = '\0';
        }
        return 0;
}

static int read_destinations(rd_t *rd) {
        const int rank = RANK_FIELD + HO_RF_DESTINATIONS;
        ho_json_t *j = &rd->j;
        char *tmp[HO_DESTINATIONS_MAX], got[32];
        size_t n = 0, taken = 0;
        int more, ret = -1;

        if (j->token != '[')
                return reject(rd, rank, "destinations", "an array of at most 64 cities");
        if (ho_json_value(j) < 0)
                return -1;
        for (more = ho_json_arr_first(j); more == 1; more = ho_json_arr_next(j), n++) {
                /* past the limit, or once this member's message is kept:
                 * the syntax alone */
                if (n >= HO_DESTINATIONS_MAX || rank >= rd->rank) {
                        if (ho_json_skip(j))
                                goto out;
                        continue;
                }
                tmp[taken] = NULL;
                if (read_text(rd, rank, (path_t){"destinations", n, ""}, &tmp[taken++]))
                        goto out;
        }
        if (more < 0)
                goto out;
        ho_json_value_end(j);
        if (n > HO_DESTINATIONS_MAX) {
                snprintf(got, sizeof(got), "%zu", n);
                keep_invalid(rd, rank, true, "destinations", "an array of at most 64 cities", got);
        }
        ret = 0;
        if (rank < rd->rank && taken) {
                if (!(rd->r->destinations = malloc(taken * sizeof(char *)))) {
                        rd->nomem = true;
                        ret = -1;
                        goto out;
                }
                memcpy(rd->r->destinations, tmp, taken * sizeof(char *));
                rd->r->n_destinations = taken;
                return 0;
        }
out:
        while (taken > 0)
                free(tmp[--taken]);
        return ret;
}

/* "unknown field K<where> (did you mean ...?)" for the current key, naming
 * the nearest of known */
static void unknown_msg(const ho_json_t *j, const char *const *known, const char *where, char *m,
                        size_t m_size) {
        char q[96], key[72];
        const char *near = NULL;

        ho_rule_quote(q, sizeof(q), j->str, j->str_len);
        if (j->str_len < 64) { /* longer names are near none */
                memcpy(key, j->str, j->str_len);
                key[j->str_len] = '\0';
                near = ho_rule_nearest(key, known);
        }
        if (near)
                snprintf(m, m_size, "unknown field %s%s (did you mean \"%s\"?)", q, where, near);
        else
                snprintf(m, m_size, "unknown field %s%s", q, where);
}

static void unknown_member(rd_t *rd) {
        char m[512];

        if (rd->rank <= RANK_UNKNOWN)
                return;
        unknown_msg(&rd->j, ho_report_field_names, "", m, sizeof(m));
        keep(rd, RANK_UNKNOWN, false, m);
}

/* persons[i]: an object {"name", "affiliation"}; its first broken rule goes
 * to m (*bad set), in the order unknown member, missing name, name,
 * affiliation. */
static int read_person(rd_t *rd, size_t i, ho_person_t *p, bool *bad, char *m, size_t m_size) {
        ho_json_t *j = &rd->j;
        ho_json_keys_t others = {0};
        char unknown[512], name_msg[512], aff_msg[512], field[64], got[96];
        bool name_bad = false, aff_bad = false, seen_name = false, seen_aff = false;
        int more;

        *bad = false;
        unknown[0] = '\0';
        p->name = p->affiliation = NULL;
        if (j->token != '{') {
                snprintf(field, sizeof(field), "persons[%zu]", i);
                describe(j, got, sizeof(got));
                ho_rule_invalid(m, m_size, field, "an object {\"name\", \"affiliation\"}", got);
                *bad = true;
                return ho_json_skip(j);
        }
        if (ho_json_value(j) < 0)
                return -1;
        for (more = ho_json_obj_first(j); more == 1; more = ho_json_obj_next(j)) {
                int which = 0; /* 1 name, 2 affiliation */
                if (j->str_len == 4 && !memcmp(j->str, HO_PERSON_NAME, 4))
                        which = 1;
                else if (j->str_len == 11 && !memcmp(j->str, HO_PERSON_AFFILIATION, 11))
                        which = 2;
                if ((which == 1 && seen_name) || (which == 2 && seen_aff)) {
                        ho_json_fail(j, "duplicate object key");
                        more = -1;
                        break;
                }
                if (!which) {
                        int added = ho_json_keys_add(&others, j->str, j->str_len);
                        if (added <= 0) {
                                if (added < 0)
                                        rd->nomem = true;
                                else
                                        ho_json_fail(j, "duplicate object key");
                                more = -1;
                                break;
                        }
                        if (!unknown[0]) {
                                char where[48];
                                snprintf(where, sizeof(where), " in \"persons[%zu]\"", i);
                                unknown_msg(j, person_fields, where, unknown, sizeof(unknown));
                        }
                }
                seen_name |= which == 1;
                seen_aff |= which == 2;
                if (ho_json_obj_colon(j)) {
                        more = -1;
                        break;
                }
                if (which == 1) {
                        if (read_text_msg(rd, (path_t){"persons", i, ".name"}, &p->name, &name_bad,
                                          name_msg, sizeof(name_msg))) {
                                more = -1;
                                break;
                        }
                } else if (which == 2 && j->token != HO_JSON_NULL) {
                        if (read_text_msg(rd, (path_t){"persons", i, ".affiliation"},
                                          &p->affiliation, &aff_bad, aff_msg, sizeof(aff_msg))) {
                                more = -1;
                                break;
                        }
                } else if (ho_json_skip(j)) {
                        more = -1;
                        break;
                }
        }
        ho_json_keys_free(&others);
        if (more < 0)
                return -1;
        ho_json_value_end(j);
        *bad = true;
        if (unknown[0])
                snprintf(m, m_size, "%s", unknown);
        else if (!seen_name)
                snprintf(m, m_size, "missing field \"persons[%zu].name\"", i);
        else if (name_bad)
                snprintf(m, m_size, "%s", name_msg);
        else if (aff_bad)
                snprintf(m, m_size, "%s", aff_msg);
        else
                *bad = false;
        return 0;
}

static int read_persons(rd_t *rd) {
        const int rank = RANK_FIELD + HO_RF_PERSONS;
        ho_json_t *j = &rd->j;
        ho_report_t *r = rd->r;
        size_t n = 0, cap = 0;
        char m[512], got[32];
        int more;

        if (j->token != '[')
                return reject(rd, rank, "persons", "an array of at most 1000 persons");
        if (ho_json_value(j) < 0)
                return -1;
        for (more = ho_json_arr_first(j); more == 1; more = ho_json_arr_next(j), n++) {
                bool bad;
                if (n >= HO_PERSONS_MAX || rank >= rd->rank) {
                        if (ho_json_skip(j))
                                return -1;
                        continue;
                }
                if (r->n_persons == cap) {
                        size_t nc = cap ? cap * 2 : 4;
                        ho_person_t *np;
                        if (nc > HO_PERSONS_MAX)
                                nc = HO_PERSONS_MAX;
                        if (!(np = realloc(r->persons, nc * sizeof(*np)))) {
                                rd->nomem = true;
                                return -1;
                        }
                        r->persons = np;
                        cap = nc;
                }
                ho_person_t *p = &r->persons[r->n_persons++];
                if (read_person(rd, n, p, &bad, m, sizeof(m)))
                        return -1;
                if (bad)
                        keep(rd, rank, false, m);
        }
        if (more < 0)
                return -1;
        ho_json_value_end(j);
        if (n > HO_PERSONS_MAX) {
                snprintf(got, sizeof(got), "%zu", n);
                keep_invalid(rd, rank, true, "persons", "an array of at most 1000 persons", got);
        }
        return 0;
}

static int read_by_destination(rd_t *rd) {
        const int rank = RANK_FIELD + HO_RF_BY_DEST;
        const char *expected = "an object of at most 64 \"city\": count members";
        ho_json_t *j = &rd->j;
        ho_report_t *r = rd->r;
        ho_city_count_t tmp[HO_BY_DEST_MAX];
        size_t tlen[HO_BY_DEST_MAX];
        ho_json_keys_t more_keys = {0}; /* past HO_BY_DEST_MAX */
        char m[512], field[64], got[96];
        size_t n = 0, kept = 0;
        int more, ret = -1;

        if (j->token != '{')
                return reject(rd, rank, "inmates_by_destination", expected);
        if (ho_json_value(j) < 0)
                return -1;
        for (more = ho_json_obj_first(j); more == 1; more = ho_json_obj_next(j), n++) {
                const char *city = j->str;
                size_t cl = j->str_len;
                bool dup = false;

                /* every key is kept for the duplicate check: the first 64
                 * as the report's cities, the rest in a set */
                if (n < HO_BY_DEST_MAX) {
                        for (size_t i = 0; i < kept && !dup; i++)
                                dup = tlen[i] == cl && !memcmp(tmp[i].city, city, cl);
                } else {
                        if (n == HO_BY_DEST_MAX)
                                for (size_t i = 0; i < kept; i++)
                                        if (ho_json_keys_add(&more_keys, tmp[i].city, tlen[i]) < 0)
                                                goto nomem;
                        int added = ho_json_keys_add(&more_keys, city, cl);
                        if (added < 0)
                                goto nomem;
                        dup = added == 0;
                }
                if (dup) {
                        ho_json_fail(j, "duplicate object key");
                        goto out;
                }
                if (n < HO_BY_DEST_MAX) {
                        if (!(tmp[kept].city = copy(rd, city, cl)))
                                goto out;
                        tlen[kept] = cl;
                        tmp[kept++].count = 0;
                }
                /* the city's rule, then its count */
                bool city_bad = n < HO_BY_DEST_MAX && rank < rd->rank && !text_ok(cl);
                if (city_bad) {
                        ho_rule_check_text("inmates_by_destination (a city)", city, cl, m,
                                           sizeof(m));
                        keep(rd, rank, false, m);
                }
                if (ho_json_obj_colon(j))
                        goto out;
                if (n >= HO_BY_DEST_MAX || rank >= rd->rank) {
                        if (ho_json_skip(j))
                                goto out;
                        continue;
                }
                if (j->token != HO_JSON_INTEGER) {
                        snprintf(field, sizeof(field), "inmates_by_destination.%.40s",
                                 tmp[kept - 1].city);
                        describe(j, got, sizeof(got));
                        keep_invalid(rd, rank, false, field,
                                     ho_rule_count_expectation(HO_INMATES_MAX, false), got);
                        if (ho_json_skip(j))
                                goto out;
                        continue;
                }
                if (scalar(rd))
                        goto out;
                if (j->ival < 0 || j->ival > HO_INMATES_MAX) {
                        snprintf(field, sizeof(field), "inmates_by_destination.%.40s",
                                 tmp[kept - 1].city);
                        ho_rule_check_count(field, j->ival, HO_INMATES_MAX, false, m, sizeof(m));
                        keep(rd, rank, false, m);
                } else {
                        tmp[kept - 1].count = (int32_t)j->ival;
                }
        }
        if (more < 0)
                goto out;
        ho_json_value_end(j);
        if (n > HO_BY_DEST_MAX) {
                snprintf(got, sizeof(got), "%zu cities", n);
                keep_invalid(rd, rank, true, "inmates_by_destination", expected, got);
        }
        if (rank < rd->rank && kept) {
                if (!(r->by_destination = malloc(kept * sizeof(*tmp))))
                        goto nomem;
                memcpy(r->by_destination, tmp, kept * sizeof(*tmp));
                r->n_by_destination = kept;
                kept = 0;
                /* sorted: derived ids and encodings must not depend on input order */
                if (r->n_by_destination > 1)
                        qsort(r->by_destination, r->n_by_destination, sizeof(ho_city_count_t),
                              ho_rule_city_cmp);
        }
        ret = 0;
        goto out;
nomem:
        rd->nomem = true;
out:
        for (size_t i = 0; i < kept; i++)
                free(tmp[i].city);
        ho_json_keys_free(&more_keys);
        return ret;
}

/* The member f's value (the current token), into the report. */
static int read_member(rd_t *rd, int f) {
        ho_report_t *r = rd->r;
        const int rank = RANK_FIELD + f;

        if (rank > rd->rank)
                return ho_json_skip(&rd->j); /* its message could not win */
        switch (f) {
        case HO_RF_REPORT_ID:
                return read_id(rd, rank, "report_id", &r->report_id);
        case HO_RF_TRANSFER_ID:
                return read_id(rd, rank, "transfer_id", &r->transfer_id);
        case HO_RF_OCCURRED_ON:
        case HO_RF_REPORTED_AT:
                return read_when(rd, f);
        case HO_RF_SOURCE:
                return read_text(rd, rank, PATH("source"), &r->source);
        case HO_RF_ORIGIN:
        case HO_RF_DESTINATION:
                return read_country(rd, f);
        case HO_RF_INMATES:
                return read_count(rd, rank, "inmate_count", HO_INMATES_MAX, false,
                                  &r->inmate_count);
        case HO_RF_AIRCRAFT:
                return read_opt_count(rd, rank, "aircraft_count", HO_AIRCRAFT_MAX,
                                      &r->aircraft_count, &r->has_aircraft_count);
        case HO_RF_CUMULATIVE:
                return read_opt_count(rd, rank, "cumulative_total", INT32_MAX, &r->cumulative_total,
                                      &r->has_cumulative_total);
        case HO_RF_AUTHORITY:
                if (rd->j.token == HO_JSON_NULL)
                        return scalar(rd);
                return read_text(rd, rank, PATH("authority"), &r->authority);
        case HO_RF_DESTINATIONS:
                return read_destinations(rd);
        case HO_RF_PERSONS:
                return read_persons(rd);
        case HO_RF_BY_DEST:
                return read_by_destination(rd);
        }
        return ho_json_skip(&rd->j);
}

#define HO_RF_LEN_(id, name) sizeof(name) - 1,
static const size_t field_len[HO_RF__COUNT] = {HO_REPORT_FIELDS(HO_RF_LEN_)};
#undef HO_RF_LEN_

/* ho_report_field_names[] index of key[0..n), or -1; writers keep the
 * schema's order, so the member after the last one is tried first */
static int field_index(const char *key, size_t n, int hint) {
        if (hint < HO_RF__COUNT && field_len[hint] == n &&
            !memcmp(key, ho_report_field_names[hint], n))
                return hint;
        for (int i = 0; i < HO_RF__COUNT; i++)
                if (field_len[i] == n && key[0] == ho_report_field_names[i][0] &&
                    !memcmp(key, ho_report_field_names[i], n))
                        return i;
        return -1;
}

/* The document: an object of report members (and "reports" in a state). */
static void read_document(rd_t *rd) {
        ho_json_t *j = &rd->j;
        ho_json_keys_t others = {0};
        uint32_t seen = 0;
        int t, more;

        if ((t = ho_json_top(j)) < 0)
                return;
        if (t == '[') {
                if (ho_json_skip(j) == 0 && ho_json_end(j) == 0)
                        keep(rd, -1, false, "expected a JSON object (one report), got an array");
                return;
        }
        if (ho_json_value(j) < 0)
                return;
        int f = -1;
        for (more = ho_json_obj_first(j); more == 1; more = ho_json_obj_next(j)) {
                f = field_index(j->str, j->str_len, f + 1);
                if (f < 0 && rd->state && j->str_len == 7 && !memcmp(j->str, "reports", 7))
                        f = HO_RF__COUNT;
                if (f >= 0) {
                        if (seen & (1u << f)) {
                                ho_json_fail(j, "duplicate object key");
                                break;
                        }
                        seen |= 1u << f;
                } else {
                        int added = ho_json_keys_add(&others, j->str, j->str_len);
                        if (added <= 0) {
                                if (added < 0)
                                        rd->nomem = true;
                                else
                                        ho_json_fail(j, "duplicate object key");
                                break;
                        }
                        unknown_member(rd);
                }
                if (ho_json_obj_colon(j))
                        break;
                if (f == HO_RF__COUNT) {
                        if (j->token == HO_JSON_INTEGER)
                                rd->reports = j->ival;
                        if (ho_json_skip(j))
                                break;
                } else if (f < 0 ? ho_json_skip(j) : read_member(rd, f)) {
                        break;
                }
                if (rd->nomem)
                        break;
        }
        ho_json_keys_free(&others);
        if (more != 0 || rd->nomem)
                return;
        ho_json_value_end(j);
        if (ho_json_end(j))
                return;

        static const int required[] = {HO_RF_TRANSFER_ID, HO_RF_OCCURRED_ON, HO_RF_REPORTED_AT,
                                       HO_RF_SOURCE,      HO_RF_ORIGIN,      HO_RF_DESTINATION,
                                       HO_RF_INMATES};
        for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
                if (!(seen & (1u << required[i]))) {
                        char m[96];
                        snprintf(m, sizeof(m), "missing field \"%s\"",
                                 ho_report_field_names[required[i]]);
                        keep(rd, RANK_MISSING, false, m);
                        break;
                }
}

/* The rules on the whole report, once every member kept its own. */
static ho_err_t finish(rd_t *rd, char *errstr, size_t errstr_size) {
        ho_report_t *r = rd->r;
        ho_err_t e;

        if (!r->report_id) {
                if (!(r->report_id = malloc(35)))
                        return HO_ERR_NOMEM;
                if ((e = ho_report_derive_id(r, r->report_id)))
                        return e;
        }
        /* reported_at in years 0000..9999 (an offset can move a valid text
         * out of them); ho_date_parse already keeps the date in range */
        if ((e = ho_rule_check_date(r->occurred_on, errstr, errstr_size)) ||
            (e = ho_rule_check_time(r->reported_at, errstr, errstr_size)))
                return e;
        return HO_OK;
}

static ho_err_t read_report(const char *text, size_t len, bool state, ho_report_t *out,
                            int64_t *reports, char *errstr, size_t errstr_size) {
        rd_t rd;
        ho_err_t e;

        ho_report_clear(out);
        rd.r = out;
        rd.nomem = false;
        rd.msg[0] = '\0';
        rd.state = state;
        rd.reports = -1;
        rd.rank = RANK_NONE;
        ho_json_init(&rd.j, text, len);
        read_document(&rd);
        if (rd.nomem || rd.j.nomem) {
                e = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        } else if (ho_json_failed(&rd.j)) {
                e = ho_seterr(errstr, errstr_size, HO_ERR_JSON, "not a JSON object: %s (column %d)",
                              ho_json_error(&rd.j), ho_json_column(&rd.j));
        } else if (rd.rank != RANK_NONE) {
                e = ho_seterr(errstr, errstr_size, rd.rank < 0 ? HO_ERR_JSON : HO_ERR_INVALID, "%s",
                              rd.msg);
        } else {
                e = finish(&rd, errstr, errstr_size);
                if (e == HO_ERR_NOMEM)
                        ho_seterr(errstr, errstr_size, e, "out of memory");
        }
        ho_json_fini(&rd.j);
        if (e) {
                ho_report_clear(out);
                return e;
        }
        /* the stamp spares the encoder the rules; a stored state is never
         * encoded, so the engine does not pay for it */
        if (!state)
                ho_report_mark_validated(out);
        if (reports)
                *reports = rd.reports;
        return HO_OK;
}

ho_err_t ho_report_from_json(const char *text, size_t len, ho_report_t *out, char *errstr,
                             size_t errstr_size) {
        return read_report(text, len, false, out, NULL, errstr, errstr_size);
}

ho_err_t ho_report_state_from_json(const char *text, size_t len, ho_report_t *out, int64_t *reports,
                                   char *errstr, size_t errstr_size) {
        return read_report(text, len, true, out, reports, errstr, errstr_size);
}

/* ---- the writer --------------------------------------------------------------- */

/* A JSON string as jansson's dump writes one without flags: '"', '\\' and
 * control bytes escaped; everything else (UTF-8 included, '/' and DEL too)
 * copied. */
static int put_str(ho_buf_t *b, const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        if (!s)
                return ho_buf_append(b, "null", 4) ? -1 : 0;
        if (ho_buf_append(b, "\"", 1))
                return -1;
        const char *run = s;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                if (s > run && ho_buf_append(b, run, (size_t)(s - run)))
                        return -1;
                char esc[7] = {'\\', 0};
                size_t n = 2;
                switch (c) {
                case '"':
                        esc[1] = '"';
                        break;
                case '\\':
                        esc[1] = '\\';
                        break;
                case '\b':
                        esc[1] = 'b';
                        break;
                case '\f':
                        esc[1] = 'f';
                        break;
                case '\n':
                        esc[1] = 'n';
                        break;
                case '\r':
                        esc[1] = 'r';
                        break;
                case '\t':
                        esc[1] = 't';
                        break;
                default:
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        n = 6;
                }
                if (ho_buf_append(b, esc, n))
                        return -1;
                run = s + 1;
        }
        if (s > run && ho_buf_append(b, run, (size_t)(s - run)))
                return -1;
        return ho_buf_append(b, "\"", 1) ? -1 : 0;
}

static int put_raw(ho_buf_t *b, const char *s) {
        return ho_buf_append(b, s, strlen(s)) ? -1 : 0;
}

static int put_int(ho_buf_t *b, long long v) {
        char tmp[24];
        return ho_buf_append(b, tmp, ho_fmt_ll(tmp, v)) ? -1 : 0;
}

/* {"NAME": for the first member, ,"NAME": for the others: one append */
static int put_key(ho_buf_t *b, const char *name, bool first) {
        char tmp[64];
        size_t n = strlen(name);
        if (n + 4 > sizeof(tmp))
                return -1;
        tmp[0] = first ? '{' : ',';
        tmp[1] = '"';
        memcpy(tmp + 2, name, n);
        tmp[n + 2] = '"';
        tmp[n + 3] = ':';
        return ho_buf_append(b, tmp, n + 4) ? -1 : 0;
}

static int put_field(ho_buf_t *b, int f) {
        return put_key(b, ho_report_field_names[f], f == HO_RF_REPORT_ID);
}

ho_err_t ho_report_json(const ho_report_t *r, int64_t reports, ho_buf_t *b) {
        char date[11], ts[32];
        int bad = 0;

        ho_date_format(r->occurred_on, date);
        ho_time_format_rfc3339(r->reported_at, ts);
        bad |= put_field(b, HO_RF_REPORT_ID) || put_str(b, r->report_id);
        bad |= put_field(b, HO_RF_TRANSFER_ID) || put_str(b, r->transfer_id);
        bad |= put_field(b, HO_RF_OCCURRED_ON) || put_str(b, date);
        bad |= put_field(b, HO_RF_REPORTED_AT) || put_str(b, ts);
        bad |= put_field(b, HO_RF_SOURCE) || put_str(b, r->source);
        bad |= put_field(b, HO_RF_ORIGIN) || put_str(b, r->origin_country);
        bad |= put_field(b, HO_RF_DESTINATION) || put_str(b, r->destination_country);
        bad |= put_field(b, HO_RF_INMATES) || put_int(b, r->inmate_count);
        bad |= put_field(b, HO_RF_AIRCRAFT) ||
               (r->has_aircraft_count ? put_int(b, r->aircraft_count) : put_raw(b, "null"));
        bad |= put_field(b, HO_RF_DESTINATIONS) || put_raw(b, "[");
        for (size_t i = 0; i < r->n_destinations; i++)
                bad |= (i && put_raw(b, ",")) || put_str(b, r->destinations[i]);
        bad |= put_raw(b, "]") || put_field(b, HO_RF_CUMULATIVE) ||
               (r->has_cumulative_total ? put_int(b, r->cumulative_total) : put_raw(b, "null"));
        bad |= put_field(b, HO_RF_AUTHORITY) || put_str(b, r->authority);
        bad |= put_field(b, HO_RF_PERSONS) || put_raw(b, "[");
        for (size_t i = 0; i < r->n_persons; i++)
                bad |= put_raw(b, i ? "," : "") || put_key(b, HO_PERSON_NAME, true) ||
                       put_str(b, r->persons[i].name) || put_key(b, HO_PERSON_AFFILIATION, false) ||
                       put_str(b, r->persons[i].affiliation) || put_raw(b, "}");
        bad |= put_raw(b, "]") || put_field(b, HO_RF_BY_DEST) || put_raw(b, "{");
        /* a jansson object keeps a key's first position and its last value:
         * equal cities are adjacent (sorted), so each run is written once,
         * with its last value */
        for (size_t i = 0, k = 0; i < r->n_by_destination; i++) {
                const char *city = r->by_destination[i].city ? r->by_destination[i].city : "";
                const char *next = i + 1 < r->n_by_destination && r->by_destination[i + 1].city
                                           ? r->by_destination[i + 1].city
                                           : NULL;
                if (next && !strcmp(city, next))
                        continue;
                bad |= (k++ && put_raw(b, ",")) || put_str(b, city) || put_raw(b, ":") ||
                       put_int(b, r->by_destination[i].count);
        }
        bad |= put_raw(b, "}");
        if (reports >= 0)
                bad |= put_key(b, "reports", false) || put_int(b, reports);
        bad |= put_raw(b, "}");
        return bad ? HO_ERR_NOMEM : HO_OK;
}

char *ho_report_to_json_text(const ho_report_t *r) {
        ho_buf_t b = HO_BUF_INIT;

        if (ho_report_json(r, -1, &b)) {
                ho_buf_free(&b);
                return NULL;
        }
        return ho_buf_steal(&b, NULL);
}

json_t *ho_report_to_json(const ho_report_t *r) {
        ho_buf_t b = HO_BUF_INIT;
        json_t *o = NULL;

        if (!ho_report_json(r, -1, &b))
                o = json_loadb(b.data, b.len, 0, NULL);
        ho_buf_free(&b);
        return o;
}
