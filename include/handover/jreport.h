/*
 * jreport.h: reports as JSON, the producers' input (JSON Lines) and the form
 * stored in {P}:transfers. Parsing validates every rule of the foundation
 * issue; each failure is one message naming the field and what was expected,
 * e.g. `field "inmate_count": expected an integer 0..100000, got 200000` or
 * `unknown field "inmates" (did you mean "inmate_count"?)`. Callers add the
 * position (file:line).
 *
 * Dependencies, one way: jreport -> json (the strict reader), codec (derived
 * ids) -> report (the rules, lib/report_int.h); none of them includes this
 * header.
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
 * report sent twice has the same id. HO_ERR_JSON for syntax (jansson 2.14's
 * message and column, json.h) and for a document that is not an object,
 * HO_ERR_INVALID for rules, HO_ERR_NOMEM. */
ho_err_t ho_report_from_json(const char *text, size_t len, ho_report_t *out, char *errstr,
                             size_t errstr_size);

/* The same for a stored state ({P}:transfers): a report plus "reports", the
 * number of distinct reports folded into it, which goes to *reports (-1 when
 * absent or not an integer). The rules are the report's: a state that
 * breaks one is refused with the same messages. Not stamped: the engine
 * never encodes a stored state. */
ho_err_t ho_report_state_from_json(const char *text, size_t len, ho_report_t *out, int64_t *reports,
                                   char *errstr, size_t errstr_size);

/* The one writer: r as compact JSON appended to b, members in schema order,
 * occurred_on as "YYYY-MM-DD", reported_at as RFC 3339 "...Z",
 * inmates_by_destination always present (possibly {}), and "reports" last
 * when reports >= 0 (a stored state). The bytes are jansson's
 * json_dumps(JSON_COMPACT) of the same object (test_agg_fold holds the two
 * together). HO_ERR_NOMEM. */
ho_err_t ho_report_json(const ho_report_t *r, int64_t reports, ho_buf_t *b);
/* The writer's text without "reports" (malloc'd; caller frees), or NULL. */
char *ho_report_to_json_text(const ho_report_t *r);
/* The same as a jansson object (new reference; caller json_decref()s), for
 * programs that put a report inside a larger document. */
json_t *ho_report_to_json(const ho_report_t *r);

#endif
