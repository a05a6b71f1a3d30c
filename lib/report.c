/*
 * report.c: the in-memory report (see report.h): lifetime, copying, which
 * report is the latest, and the date/time forms used in JSON.
 *
 * Dates are days since 1970-01-01 in the proleptic Gregorian calendar (what
 * Avro's "date" logical type means); times are ms since the epoch, UTC.
 * Text forms cover years 0000..9999 only, since "YYYY-MM-DD" has four digits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/report.h"

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
