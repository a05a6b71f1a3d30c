/*
 * report.h: one report about one transfer operation, in memory. This is the
 * decoded form of schemas/transfer_report.v2.avsc (v1 data resolves to it
 * with an empty inmates_by_destination). Every string is owned by the report
 * and freed by ho_report_clear(). Its validation rules live here too.
 *
 * Dependencies: err.h only. codec (which derives ids) and jreport (JSON)
 * depend on this module, never the other way.
 */
#ifndef HO_REPORT_H
#define HO_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover/err.h"

/* Validation bounds (the foundation issue's rules). */
#define HO_INMATES_MAX 100000
#define HO_AIRCRAFT_MAX 1000
#define HO_DESTINATIONS_MAX 64
#define HO_PERSONS_MAX 1000
#define HO_BY_DEST_MAX 64
#define HO_ID_MAX 128  /* report_id, transfer_id: bytes */
#define HO_STR_MAX 512 /* source, authority, city, name, affiliation: bytes */

typedef struct ho_person_s {
        char *name;        /* non-empty */
        char *affiliation; /* NULL when null */
} ho_person_t;

typedef struct ho_city_count_s {
        char *city;
        int32_t count;
} ho_city_count_t;

typedef struct ho_report_s {
        char *report_id; /* never NULL once parsed or decoded */
        char *transfer_id;
        int32_t occurred_on; /* days since 1970-01-01 (Avro date) */
        int64_t reported_at; /* ms since epoch, UTC (timestamp-millis) */
        char *source;
        char origin_country[3]; /* ISO 3166-1 alpha-2, NUL-terminated */
        char destination_country[3];
        int32_t inmate_count;
        bool has_aircraft_count;
        int32_t aircraft_count; /* valid when has_aircraft_count */
        char **destinations;
        size_t n_destinations;
        bool has_cumulative_total;
        int32_t cumulative_total; /* valid when has_cumulative_total */
        char *authority;          /* NULL when null */
        ho_person_t *persons;
        size_t n_persons;
        ho_city_count_t *by_destination; /* v2 inmates_by_destination, sorted by city */
        size_t n_by_destination;
        int schema_version; /* writer schema: 1, 2, or 0 when unknown/not decoded */
        uint64_t validated; /* a stamp of the content when it was last validated
                                       * (ho_report_is_validated); 0 = never */
        bool in_arena;      /* the members live in an arena (arena.h), which
                                       * frees them: ho_report_clear only forgets them */
} ho_report_t;

/* The schema's fields in schema order (transfer_report.v2.avsc), the one
 * list of them: X(ID, "name") makes ho_report_field_names and the HO_RF_*
 * indexes into it that the JSON reader and writer (jreport.c) use. */
#define HO_REPORT_FIELDS(X)                                                                        \
        X(REPORT_ID, "report_id")                                                                  \
        X(TRANSFER_ID, "transfer_id")                                                              \
        X(OCCURRED_ON, "occurred_on")                                                              \
        X(REPORTED_AT, "reported_at")                                                              \
        X(SOURCE, "source")                                                                        \
        X(ORIGIN, "origin_country")                                                                \
        X(DESTINATION, "destination_country")                                                      \
        X(INMATES, "inmate_count")                                                                 \
        X(AIRCRAFT, "aircraft_count")                                                              \
        X(DESTINATIONS, "destinations")                                                            \
        X(CUMULATIVE, "cumulative_total")                                                          \
        X(AUTHORITY, "authority")                                                                  \
        X(PERSONS, "persons")                                                                      \
        X(BY_DEST, "inmates_by_destination")

#define HO_RF_ENUM_(id, name) HO_RF_##id,
typedef enum ho_report_field_e { HO_REPORT_FIELDS(HO_RF_ENUM_) HO_RF__COUNT } ho_report_field_t;
#undef HO_RF_ENUM_

/* A person's members (persons[i]) */
#define HO_PERSON_NAME "name"
#define HO_PERSON_AFFILIATION "affiliation"

/* The names, indexed by ho_report_field_t and NULL-terminated: the JSON
 * reader's known members and the codec's resolution check. */
extern const char *const ho_report_field_names[HO_RF__COUNT + 1];

void ho_report_init(ho_report_t *r);
/* Free every member (unless in_arena) and re-init. Safe on an initialised,
 * empty report. */
void ho_report_clear(ho_report_t *r);
/* Deep copy src into dst (dst must be initialised; its old members are freed). */
ho_err_t ho_report_copy(ho_report_t *dst, const ho_report_t *src);

/* The rules of the foundation issue, on a report from anywhere (JSON input,
 * decoded Avro): HO_OK, or HO_ERR_INVALID with one message naming the first
 * field that breaks one and what was expected. */
ho_err_t ho_report_validate(const ho_report_t *r, char *errstr, size_t errstr_size);

/* Validation stamps: ho_report_from_json() and ho_report_state_from_json()
 * (jreport.h) stamp the report they validated with a 64-bit hash of its
 * whole content (every field, every string's bytes, the pointers), so that
 * ho_codec_encode() need not run the rules a second time. Any change to the
 * report afterwards (a field set, a string replaced or edited in place)
 * changes the hash, and the report is then validated again. ho_report_copy()
 * and ho_report_clear() leave no stamp. Decoded reports carry none: workers
 * never re-encode what they decode, so it would cost every message. */
void ho_report_mark_validated(ho_report_t *r);
bool ho_report_is_validated(const ho_report_t *r);

/* Which report is a transfer's current state: > 0 when a is later than b
 * (greater reported_at, ties broken by the greater report_id, bytewise),
 * < 0 when b is later, 0 when they are the same report. */
int ho_report_cmp_latest(const ho_report_t *a, const ho_report_t *b);

/* Dates and times. Parsers return HO_ERR_INVALID on anything that is not a
 * real calendar date / RFC 3339 time with a zone ("Z" or +hh:mm). */
ho_err_t ho_date_parse(const char *s, int32_t *days);
void ho_date_format(int32_t days, char out[11]); /* "YYYY-MM-DD" */
ho_err_t ho_time_parse_rfc3339(const char *s, int64_t *ms);
void ho_time_format_rfc3339(int64_t ms, char out[32]); /* "2026-01-21T05:47:00Z" or with .mmm */

#endif
