/*
 * extract.h: from a news article to a transfer report, with the evidence for
 * every field. A small rule set (docs/extract.md) over the article's text:
 * the page is split into header (headline, captions, time line), dateline,
 * body and furniture; the body's sentences are searched for the transfer
 * sentence (a transfer verb, a count of people, a destination country), and
 * each field comes from one named rule with the span it quotes. No I/O: the
 * caller hands in the text and gets the report, its evidence and what is
 * missing. The tables (gazetteer, number words, months, time zones) are
 * schemas/extract/ TSV files, compiled in.
 */
#ifndef HO_EXTRACT_H
#define HO_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "handover/err.h"
#include "handover/report.h"

/* Articles longer than this are refused (HO_ERR_INVALID): a page is far smaller. */
#define HO_EXTRACT_MAX_TEXT (16u << 20)

/* What an article gave. */
typedef enum {
        HO_EXTRACT_NONE = 0,   /* no transfer reported (or none the rules can see) */
        HO_EXTRACT_INCOMPLETE, /* a transfer, but a required field is missing */
        HO_EXTRACT_COMPLETE,   /* a valid report */
} ho_extract_status_t;

/* The report fields, as bits of ho_extract_result_t.missing. */
typedef enum {
        HO_XF_TRANSFER_ID = 1 << 0,
        HO_XF_OCCURRED_ON = 1 << 1,
        HO_XF_REPORTED_AT = 1 << 2,
        HO_XF_SOURCE = 1 << 3,
        HO_XF_ORIGIN = 1 << 4,
        HO_XF_DESTINATION = 1 << 5,
        HO_XF_INMATES = 1 << 6,
        HO_XF_AIRCRAFT = 1 << 7,
        HO_XF_DESTINATIONS = 1 << 8,
        HO_XF_CUMULATIVE = 1 << 9,
        HO_XF_AUTHORITY = 1 << 10,
        HO_XF_PERSONS = 1 << 11,
} ho_extract_field_t;

#define HO_XF_REQUIRED                                                                             \
        (HO_XF_TRANSFER_ID | HO_XF_OCCURRED_ON | HO_XF_REPORTED_AT | HO_XF_SOURCE | HO_XF_ORIGIN | \
         HO_XF_DESTINATION | HO_XF_INMATES)

/* The schema's name of one field bit ("occurred_on", ...). */
const char *ho_extract_field_name(unsigned field);

/* What the caller knows besides the text (all optional, borrowed). From
 * --jsonl: the object's url, source and published_at (RFC 3339). */
typedef struct ho_extract_meta_s {
        const char *url;
        const char *source;
        const char *published_at;
} ho_extract_meta_t;

/* One piece of evidence: a span of the input (byte offsets, end exclusive),
 * the field it supports, and why. A field may have several (a date: the
 * dateline, the time line's year, a weekday); a field not established has
 * one with start == end == 0 and the reason it was not. */
typedef struct ho_extract_evidence_s {
        unsigned field; /* one HO_XF_* bit, or 0 for the ordinal (not a report field) */
        size_t start, end;
        char *why; /* owned */
} ho_extract_evidence_t;

typedef struct ho_extract_result_s {
        ho_extract_status_t status;
        /* Every field the rules established. COMPLETE: validated
         * (ho_report_validate), with its derived report_id. INCOMPLETE: what
         * was found; the missing required fields are left zero/NULL. */
        ho_report_t report;
        unsigned found;            /* HO_XF_* bits of the fields established */
        unsigned missing;          /* HO_XF_* bits of the fields not established */
        int ordinal;               /* "the third transfer": 3; 0 when not given */
        char *reason;              /* NONE: why no transfer was seen (owned) */
        ho_extract_evidence_t *ev; /* owned, in the order the rules ran */
        size_t n_ev;
} ho_extract_result_t;

void ho_extract_result_init(ho_extract_result_t *res);
/* Free everything and re-init. */
void ho_extract_result_clear(ho_extract_result_t *res);

/* Run the rules over one article (text need not be NUL-terminated nor valid
 * UTF-8; invalid bytes never reach a field). res is cleared first. Returns
 * HO_OK whatever the article said (see res->status); HO_ERR_NOMEM, or
 * HO_ERR_INVALID for a text over HO_EXTRACT_MAX_TEXT, with errstr filled. */
ho_err_t ho_extract_article(const char *text, size_t len, const ho_extract_meta_t *meta,
                            ho_extract_result_t *res, char *errstr, size_t errstr_size);

/* The evidence of a result as a JSON object (new reference; caller
 * json_decref()s): {"status", "transfer_id", "report_id", "reason",
 * "ordinal", "missing": [names], "fields": [{"field", "quote", "start",
 * "end", "why"}...]}. text must be the text the result came from; quotes
 * are its bytes with invalid UTF-8 replaced by U+FFFD. NULL on no memory. */
json_t *ho_extract_evidence_json(const ho_extract_result_t *res, const char *text, size_t len);

/* A one-line summary for stderr: "mx-us-2026-01-20: 37 inmates MX->US, ...;
 * not found: authority" or "no transfer: <reason>" (malloc'd; caller frees). */
char *ho_extract_summary(const ho_extract_result_t *res);

/* Internals the unit tests reach (lib/extract_text.c). */

/* Parse a number at text[*pos..len): digits ("37", "1,200") or English
 * words ("thirty-seven", "Twenty nine", "one hundred and five", "a dozen").
 * On success returns the value and moves *pos past it; -1 when there is none. */
long ho_extract_number(const char *text, size_t len, size_t *pos);

/* Parse a time line such as "14:47 JST, January 21, 2026",
 * "Updated January 20, 2026 9:10 PM CST", "2026-01-21 02:15 UTC",
 * "Feb 27, 2025 6:00 p.m. GMT-5". Fills the local date (y, m, d) and, when
 * the line has a time and a zone, *utc_ms. Returns 0 for no time line, 1 for
 * a date only, 2 for a date and time without a zone, 3 for all of them. */
int ho_extract_timeline(const char *line, size_t len, int *y, int *m, int *d, int64_t *utc_ms);

#endif
