/*
 * report.c: the in-memory report (see report.h): lifetime, copying, which
 * report is the latest, the date/time forms used in JSON, and the validation
 * rules with their messages (report_int.h shares them with jreport.c) and
 * stamps.
 *
 * Dates are days since 1970-01-01 in the proleptic Gregorian calendar (what
 * Avro's "date" logical type means); times are ms since the epoch, UTC.
 * Text forms cover years 0000..9999 only, since "YYYY-MM-DD" has four digits.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/report.h"
#include "report_int.h"

#define FIELD_NAME(id, name) name,
const char *const ho_report_field_names[HO_RF__COUNT + 1] = {HO_REPORT_FIELDS(FIELD_NAME) NULL};
#undef FIELD_NAME

void ho_report_init(ho_report_t *r) {
        memset(r, 0, sizeof(*r));
}

void ho_report_clear(ho_report_t *r) {
        size_t i;

        if (r->in_arena) {
                ho_report_init(r);
                return;
        }
        free(r->report_id);
        free(r->transfer_id);
        free(r->source);
        for (i = 0; i < r->n_destinations; i++)
                free(r->destinations[i]);
        free(r->destinations);
        free(r->authority);
        for (i = 0; i < r->n_persons; i++) {
                free(r->persons[i].name);
                free(r->persons[i].affiliation);
        }
        free(r->persons);
        for (i = 0; i < r->n_by_destination; i++)
                free(r->by_destination[i].city);
        free(r->by_destination);
        ho_report_init(r);
}

/* strdup that keeps NULL as NULL; *ok goes false on allocation failure. */
static char *dup_or_null(const char *s, int *ok) {
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *ok = 0;
        return d;
}

ho_err_t ho_report_copy(ho_report_t *dst, const ho_report_t *src) {
        ho_report_t t;
        int ok = 1;
        size_t i;

        if (dst == src)
                return HO_OK;
        ho_report_init(&t);
        t.occurred_on = src->occurred_on;
        t.reported_at = src->reported_at;
        memcpy(t.origin_country, src->origin_country, sizeof(t.origin_country));
        memcpy(t.destination_country, src->destination_country, sizeof(t.destination_country));
        t.inmate_count = src->inmate_count;
        t.has_aircraft_count = src->has_aircraft_count;
        t.aircraft_count = src->aircraft_count;
        t.has_cumulative_total = src->has_cumulative_total;
        t.cumulative_total = src->cumulative_total;
        t.schema_version = src->schema_version;
        t.report_id = dup_or_null(src->report_id, &ok);
        t.transfer_id = dup_or_null(src->transfer_id, &ok);
        t.source = dup_or_null(src->source, &ok);
        t.authority = dup_or_null(src->authority, &ok);
        if (src->n_destinations) {
                t.destinations = calloc(src->n_destinations, sizeof(*t.destinations));
                if (!t.destinations)
                        goto fail;
                t.n_destinations = src->n_destinations;
                for (i = 0; i < src->n_destinations; i++)
                        t.destinations[i] = dup_or_null(src->destinations[i], &ok);
        }
        if (src->n_persons) {
                t.persons = calloc(src->n_persons, sizeof(*t.persons));
                if (!t.persons)
                        goto fail;
                t.n_persons = src->n_persons;
                for (i = 0; i < src->n_persons; i++) {
                        t.persons[i].name = dup_or_null(src->persons[i].name, &ok);
                        t.persons[i].affiliation = dup_or_null(src->persons[i].affiliation, &ok);
                }
        }
        if (src->n_by_destination) {
                t.by_destination = calloc(src->n_by_destination, sizeof(*t.by_destination));
                if (!t.by_destination)
                        goto fail;
                t.n_by_destination = src->n_by_destination;
                for (i = 0; i < src->n_by_destination; i++) {
                        t.by_destination[i].city = dup_or_null(src->by_destination[i].city, &ok);
                        t.by_destination[i].count = src->by_destination[i].count;
                }
        }
        if (!ok)
                goto fail;
        ho_report_clear(dst);
        *dst = t;
        return HO_OK;
fail:
        ho_report_clear(&t);
        return HO_ERR_NOMEM;
}

int ho_report_cmp_latest(const ho_report_t *a, const ho_report_t *b) {
        int c;

        if (a->reported_at != b->reported_at)
                return a->reported_at > b->reported_at ? 1 : -1;
        /* strcmp compares as unsigned char: bytewise, as documented */
        c = strcmp(a->report_id ? a->report_id : "", b->report_id ? b->report_id : "");
        return c > 0 ? 1 : (c < 0 ? -1 : 0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12, d 1..31);
 * the era arithmetic keeps it exact for negative years too. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era;
        unsigned yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = (unsigned)(y - era * 400);
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
        int64_t era;
        unsigned doe, yoe, doy, mp;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = (unsigned)(z - era * 146097);
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
        static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* n ASCII digits at s, or -1. */
static int digits(const char *s, int n) {
        int v = 0, i;

        for (i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

/* "YYYY-MM-DD" at s (not necessarily NUL-terminated after it). */
static ho_err_t parse_ymd(const char *s, int64_t *days) {
        int y, m, d;

        if (strnlen(s, 10) < 10 || s[4] != '-' || s[7] != '-')
                return HO_ERR_INVALID;
        y = digits(s, 4);
        m = digits(s + 5, 2);
        d = digits(s + 8, 2);
        if (y < 0 || m < 1 || m > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
                return HO_ERR_INVALID;
        *days = days_from_civil(y, (unsigned)m, (unsigned)d);
        return HO_OK;
}

ho_err_t ho_date_parse(const char *s, int32_t *days) {
        int64_t v;

        if (!s || strlen(s) != 10 || parse_ymd(s, &v))
                return HO_ERR_INVALID;
        *days = (int32_t)v; /* years 0000..9999 fit easily */
        return HO_OK;
}

/* n decimal digits of v, zero-padded, at out (no NUL). */
static void put_digits(char *out, unsigned v, int n) {
        while (n--) {
                out[n] = (char)('0' + v % 10);
                v /= 10;
        }
}

static void put_ymd(char *out, int64_t y, unsigned m, unsigned d) {
        put_digits(out, (unsigned)y, 4);
        out[4] = '-';
        put_digits(out + 5, m, 2);
        out[7] = '-';
        put_digits(out + 8, d, 2);
}

void ho_date_format(int32_t days, char out[11]) {
        int64_t y;
        unsigned m, d;

        civil_from_days(days, &y, &m, &d);
        if (y < 0 || y > 9999) {
                /* not representable as YYYY-MM-DD; validation rejects such dates */
                snprintf(out, 11, "%s", y < 0 ? "0000-00-00" : "9999-99-99");
                return;
        }
        /* by hand, not snprintf: this runs for every state written and counted */
        put_ymd(out, y, m, d);
        out[10] = '\0';
}

ho_err_t ho_time_parse_rfc3339(const char *s, int64_t *ms) {
        int64_t days, v;
        int hh, mi, ss, frac = 0, scale = 100, oh, om, sign;
        const char *p;

        if (!s || parse_ymd(s, &days) || (s[10] != 'T' && s[10] != 't'))
                return HO_ERR_INVALID;
        p = s + 11;
        if (strnlen(p, 8) < 8 || p[2] != ':' || p[5] != ':')
                return HO_ERR_INVALID;
        hh = digits(p, 2);
        mi = digits(p + 3, 2);
        ss = digits(p + 6, 2);
        /* leap seconds (:60) are refused: ms since the epoch cannot name them */
        if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59)
                return HO_ERR_INVALID;
        p += 8;
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return HO_ERR_INVALID;
                /* any number of digits; beyond milliseconds they are dropped */
                while (*p >= '0' && *p <= '9') {
                        frac += (*p - '0') * scale;
                        scale /= 10;
                        p++;
                }
        }
        if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
                sign = 0;
                oh = om = 0;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
                sign = *p == '-' ? -1 : 1;
                oh = digits(p + 1, 2);
                om = digits(p + 4, 2);
                if (oh < 0 || oh > 23 || om < 0 || om > 59)
                        return HO_ERR_INVALID;
        } else {
                return HO_ERR_INVALID;
        }
        v = ((days * 24 + hh) * 60 + mi) * 60 + ss;
        v -= (int64_t)sign * (oh * 3600 + om * 60);
        *ms = v * 1000 + frac;
        return HO_OK;
}

void ho_time_format_rfc3339(int64_t ms, char out[32]) {
        int64_t secs, days, sod, y;
        int msr;
        unsigned m, d;

        /* floor division, so times before 1970 format correctly */
        secs = ms / 1000;
        msr = (int)(ms % 1000);
        if (msr < 0) {
                msr += 1000;
                secs--;
        }
        days = secs / 86400 - (secs % 86400 < 0);
        sod = secs - days * 86400;
        civil_from_days(days, &y, &m, &d);
        if (y < 0 || y > 9999) {
                snprintf(out, 32, "%s", y < 0 ? "0000-00-00T00:00:00Z" : "9999-99-99T99:99:99Z");
                return;
        }
        put_ymd(out, y, m, d);
        out[10] = 'T';
        put_digits(out + 11, (unsigned)(sod / 3600), 2);
        out[13] = ':';
        put_digits(out + 14, (unsigned)(sod / 60 % 60), 2);
        out[16] = ':';
        put_digits(out + 17, (unsigned)(sod % 60), 2);
        size_t n = 19;
        if (msr) {
                out[n++] = '.';
                put_digits(out + n, (unsigned)msr, 3);
                n += 3;
        }
        out[n++] = 'Z';
        out[n] = '\0';
}

/* ---- messages ------------------------------------------------------------- */

/* A short, printable rendering of a string for messages: quoted, escaped,
 * cut after 40 bytes. */
void ho_rule_quote(char *out, size_t out_size, const char *s, size_t len) {
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

/* ---- rules on plain values (report_int.h: shared with the JSON readers) -- */

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
const char *ho_rule_nearest(const char *name, const char *const *known) {
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

ho_err_t ho_rule_invalid(char *errstr, size_t errstr_size, const char *field, const char *expected,
                         const char *got) {
        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "field \"%s\": expected %s, got %s",
                         field, expected, got);
}

ho_err_t ho_rule_check_id(const char *field, const char *s, size_t len, char *errstr,
                          size_t errstr_size) {
        size_t i;
        char got[96];

        for (i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
                        break;
        if (len >= 1 && len <= HO_ID_MAX && i == len)
                return HO_OK;
        ho_rule_quote(got, sizeof(got), s, len);
        if (len > HO_ID_MAX)
                snprintf(got, sizeof(got), "%zu bytes", len);
        return ho_rule_invalid(errstr, errstr_size, field,
                               "1..128 visible ASCII characters (no spaces)", got);
}

ho_err_t ho_rule_check_text(const char *field, const char *s, size_t len, char *errstr,
                            size_t errstr_size) {
        char got[96];

        if (ho_rule_text_ok(s, len))
                return HO_OK;
        if (len > HO_STR_MAX)
                snprintf(got, sizeof(got), "%zu bytes", len);
        else if (memchr(s, '\0', len))
                snprintf(got, sizeof(got), "a string with a NUL byte");
        else if (len && !ho_utf8_valid(s, len))
                snprintf(got, sizeof(got), "invalid UTF-8");
        else
                ho_rule_quote(got, sizeof(got), s, len);
        return ho_rule_invalid(errstr, errstr_size, field,
                               "a non-empty UTF-8 string of at most 512 bytes", got);
}

ho_err_t ho_rule_check_country(const char *field, const char *s, size_t len, char *errstr,
                               size_t errstr_size) {
        char got[96];

        if (len == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z')
                return HO_OK;
        ho_rule_quote(got, sizeof(got), s, len);
        return ho_rule_invalid(errstr, errstr_size, field,
                               "a country code of two upper-case letters (ISO 3166-1 alpha-2)",
                               got);
}

const char *ho_rule_count_expectation(int64_t max, bool nullable) {
        if (max == HO_INMATES_MAX)
                return nullable ? "an integer 0..100000 or null" : "an integer 0..100000";
        if (max == HO_AIRCRAFT_MAX)
                return nullable ? "an integer 0..1000 or null" : "an integer 0..1000";
        return nullable ? "an integer 0..2147483647 or null" : "an integer 0..2147483647";
}

ho_err_t ho_rule_check_count(const char *field, int64_t v, int64_t max, bool nullable, char *errstr,
                             size_t errstr_size) {
        char got[32];

        if (v >= 0 && v <= max)
                return HO_OK;
        snprintf(got, sizeof(got), "%" PRId64, v);
        return ho_rule_invalid(errstr, errstr_size, field, ho_rule_count_expectation(max, nullable),
                               got);
}

ho_err_t ho_rule_check_date(int32_t days, char *errstr, size_t errstr_size) {
        char got[32];

        if (days >= HO_DATE_MIN && days <= HO_DATE_MAX)
                return HO_OK;
        snprintf(got, sizeof(got), "day %" PRId32 " from 1970-01-01", days);
        return ho_rule_invalid(errstr, errstr_size, "occurred_on", "a date in years 0000..9999",
                               got);
}

ho_err_t ho_rule_check_time(int64_t ms, char *errstr, size_t errstr_size) {
        char got[48];

        if (ms >= HO_TIME_MIN && ms <= HO_TIME_MAX)
                return HO_OK;
        snprintf(got, sizeof(got), "%" PRId64 " ms from the epoch", ms);
        return ho_rule_invalid(errstr, errstr_size, "reported_at", "a time in years 0000..9999",
                               got);
}

int ho_rule_city_cmp(const void *a, const void *b) {
        return strcmp(((const ho_city_count_t *)a)->city, ((const ho_city_count_t *)b)->city);
}

ho_err_t ho_report_validate(const ho_report_t *r, char *errstr, size_t errstr_size) {
        char field[64];
        size_t i;
        ho_err_t e;

#define S(x) (x), ((x) ? strlen(x) : 0)
        if (!r->report_id)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "missing field \"report_id\"");
        if ((e = ho_rule_check_id("report_id", S(r->report_id), errstr, errstr_size)))
                return e;
        if (!r->transfer_id || !r->source)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "missing field \"%s\"",
                                 r->transfer_id ? "source" : "transfer_id");
        if ((e = ho_rule_check_id("transfer_id", S(r->transfer_id), errstr, errstr_size)) ||
            (e = ho_rule_check_date(r->occurred_on, errstr, errstr_size)) ||
            (e = ho_rule_check_time(r->reported_at, errstr, errstr_size)) ||
            (e = ho_rule_check_text("source", S(r->source), errstr, errstr_size)) ||
            (e = ho_rule_check_country("origin_country", r->origin_country,
                                       strnlen(r->origin_country, 3), errstr, errstr_size)) ||
            (e = ho_rule_check_country("destination_country", r->destination_country,
                                       strnlen(r->destination_country, 3), errstr, errstr_size)) ||
            (e = ho_rule_check_count("inmate_count", r->inmate_count, HO_INMATES_MAX, false, errstr,
                                     errstr_size)))
                return e;
        if (r->has_aircraft_count &&
            (e = ho_rule_check_count("aircraft_count", r->aircraft_count, HO_AIRCRAFT_MAX, true,
                                     errstr, errstr_size)))
                return e;
        if (r->n_destinations > HO_DESTINATIONS_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "field \"destinations\": expected at most 64 cities, got %zu",
                                 r->n_destinations);
        for (i = 0; i < r->n_destinations; i++) {
                /* the field's path is written only for a message */
                if (r->destinations[i] && ho_rule_text_ok(S(r->destinations[i])))
                        continue;
                snprintf(field, sizeof(field), "destinations[%zu]", i);
                if (!r->destinations[i])
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "missing field \"%s\"", field);
                if ((e = ho_rule_check_text(field, S(r->destinations[i]), errstr, errstr_size)))
                        return e;
        }
        if (r->has_cumulative_total &&
            (e = ho_rule_check_count("cumulative_total", r->cumulative_total, INT32_MAX, true,
                                     errstr, errstr_size)))
                return e;
        if (r->authority &&
            (e = ho_rule_check_text("authority", S(r->authority), errstr, errstr_size)))
                return e;
        if (r->n_persons > HO_PERSONS_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "field \"persons\": expected at most 1000 persons, got %zu",
                                 r->n_persons);
        for (i = 0; i < r->n_persons; i++) {
                const ho_person_t *p = &r->persons[i];
                if (p->name && ho_rule_text_ok(S(p->name)) &&
                    (!p->affiliation || ho_rule_text_ok(S(p->affiliation))))
                        continue;
                snprintf(field, sizeof(field), "persons[%zu].name", i);
                if (!p->name)
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "missing field \"%s\"", field);
                if ((e = ho_rule_check_text(field, S(p->name), errstr, errstr_size)))
                        return e;
                snprintf(field, sizeof(field), "persons[%zu].affiliation", i);
                if (p->affiliation &&
                    (e = ho_rule_check_text(field, S(p->affiliation), errstr, errstr_size)))
                        return e;
        }
        if (r->n_by_destination > HO_BY_DEST_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "field \"inmates_by_destination\": expected at most 64 cities, "
                                 "got %zu",
                                 r->n_by_destination);
        for (i = 0; i < r->n_by_destination; i++) {
                const ho_city_count_t *c = &r->by_destination[i];
                if (!c->city)
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "missing field \"inmates_by_destination\" city");
                if ((e = ho_rule_check_text("inmates_by_destination (a city)", S(c->city), errstr,
                                            errstr_size)))
                        return e;
                if (c->count < 0 || c->count > HO_INMATES_MAX) {
                        snprintf(field, sizeof(field), "inmates_by_destination.%.40s", c->city);
                        return ho_rule_check_count(field, c->count, HO_INMATES_MAX, false, errstr,
                                                   errstr_size);
                }
                if (i && strcmp(r->by_destination[i - 1].city, c->city) >= 0)
                        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                         "field \"inmates_by_destination\": city \"%.40s\" "
                                         "appears twice or out of order",
                                         c->city);
        }
        return HO_OK;
#undef S
}

/* ---- validation stamps ------------------------------------------------------ */

/* A multiply-xorshift hash: cheap next to the rules it spares, and any
 * change to one input word changes the result. It detects accidents, not
 * attacks: a report's content comes from this process. */
#define MIX_K UINT64_C(0x9e3779b97f4a7c15)

static uint64_t mix(uint64_t h, uint64_t v) {
        h = (h ^ v) * MIX_K;
        return h ^ (h >> 29);
}

static uint64_t mix_str(uint64_t h, const char *s) {
        const unsigned char *p = (const unsigned char *)s;
        size_t n, i;
        uint64_t w;

        h = mix(h, (uint64_t)(uintptr_t)s);
        if (!s)
                return h;
        n = strlen(s);
        for (i = 0; i + 8 <= n; i += 8) {
                memcpy(&w, p + i, 8);
                h = mix(h, w);
        }
        if (i == n)
                return mix(h, n);
        if (n >= 8) { /* the last 8 bytes, overlapping the words above */
                memcpy(&w, p + n - 8, 8);
                return mix(mix(h, w), n);
        }
        w = (uint64_t)n << 56;
        for (; i < n; i++)
                w ^= (uint64_t)p[i] << (8 * i);
        return mix(h, w);
}

static uint64_t stamp(const ho_report_t *r) {
        uint64_t h = UINT64_C(0x9e3779b97f4a7c15);
        size_t i;

        h = mix_str(h, r->report_id);
        h = mix_str(h, r->transfer_id);
        h = mix(h, (uint64_t)(uint32_t)r->occurred_on);
        h = mix(h, (uint64_t)r->reported_at);
        h = mix_str(h, r->source);
        h = mix(h, (uint64_t)(unsigned char)r->origin_country[0] |
                           (uint64_t)(unsigned char)r->origin_country[1] << 8 |
                           (uint64_t)(unsigned char)r->origin_country[2] << 16 |
                           (uint64_t)(unsigned char)r->destination_country[0] << 24 |
                           (uint64_t)(unsigned char)r->destination_country[1] << 32 |
                           (uint64_t)(unsigned char)r->destination_country[2] << 40);
        h = mix(h, (uint64_t)(uint32_t)r->inmate_count);
        h = mix(h, (uint64_t)r->has_aircraft_count << 32 | (uint32_t)r->aircraft_count);
        h = mix(h, (uint64_t)r->has_cumulative_total << 32 | (uint32_t)r->cumulative_total);
        h = mix_str(h, r->authority);
        h = mix(h, (uint64_t)(uintptr_t)r->destinations);
        h = mix(h, r->n_destinations);
        for (i = 0; i < r->n_destinations; i++)
                h = mix_str(h, r->destinations[i]);
        h = mix(h, (uint64_t)(uintptr_t)r->persons);
        h = mix(h, r->n_persons);
        for (i = 0; i < r->n_persons; i++) {
                h = mix_str(h, r->persons[i].name);
                h = mix_str(h, r->persons[i].affiliation);
        }
        h = mix(h, (uint64_t)(uintptr_t)r->by_destination);
        h = mix(h, r->n_by_destination);
        for (i = 0; i < r->n_by_destination; i++) {
                h = mix_str(h, r->by_destination[i].city);
                h = mix(h, (uint64_t)(uint32_t)r->by_destination[i].count);
        }
        h = mix(h, (uint64_t)(uint32_t)r->schema_version);
        return h ? h : 1; /* 0 means never validated */
}

void ho_report_mark_validated(ho_report_t *r) {
        r->validated = stamp(r);
}

bool ho_report_is_validated(const ho_report_t *r) {
        return r->validated != 0 && r->validated == stamp(r);
}
