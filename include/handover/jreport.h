/*
 * jreport.h: reports as JSON, the producers' input (JSON Lines) and the form
 * stored in {P}:transfers. Parsing validates every rule of the foundation
 * issue; each failure is one message naming the field and what was expected,
 * e.g. `field "inmate_count": expected an integer 0..100000, got 200000` or
 * `unknown field "inmates" (did you mean "inmate_count"?)`. Callers add the
 * position (file:line).
 *
 * Dependencies, one way: jreport -> codec (derived ids) -> report (the
 * rules, lib/report_int.h); neither codec nor report includes this header.
 */
#ifndef HO_JREPORT_H
#define HO_JREPORT_H

#include <stddef.h>
#include <jansson.h>
#include "handover/buf.h"
#include "handover/codec.h"
#include "handover/err.h"
#include "handover/report.h"

/* Parse and validate one JSON object (one line, no trailing newline needed)
 * with ho_report_validate()'s rules, and stamp it (ho_report_mark_validated).
 * out is cleared first and left cleared on error. When report_id is absent it
 * is derived from the content (ho_report_derive_id, codec.h), so the same
 * report sent twice has the same id. HO_ERR_JSON for syntax, HO_ERR_INVALID for rules. */
ho_err_t ho_report_from_json(const char *text, size_t len, ho_report_t *out, char *errstr,
                             size_t errstr_size);

/* The same from an already-parsed JSON object (borrowed: obj stays the
 * caller's). Used by the engine, which stores ho_report_to_json() plus its own
 * members and deletes those before parsing back. */
ho_err_t ho_report_from_jansson(json_t *obj, ho_report_t *out, char *errstr, size_t errstr_size);

/* The report as a JSON object (new reference; caller json_decref()s), with
 * occurred_on as "YYYY-MM-DD", reported_at as RFC 3339 "...Z". Field names
 * as in the schema; inmates_by_destination always present (possibly {}). */
json_t *ho_report_to_json(const ho_report_t *r);
/* Compact one-line JSON text of the above (malloc'd; caller frees). */
char *ho_report_to_json_text(const ho_report_t *r);

#endif
