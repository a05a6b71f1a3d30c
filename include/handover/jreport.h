/*
 * jreport.h: reports as JSON, the producers' input (JSON Lines) and the form
 * stored in {P}:transfers. Parsing validates every rule of the foundation
 * issue; each failure is one message naming the field and what was expected,
 * e.g. `field "inmate_count": expected an integer 0..100000, got 200000` or
 * `unknown field "inmates" (did you mean "inmate_count"?)`. Callers add the
 * position (file:line).
 */
#ifndef HO_JREPORT_H
#define HO_JREPORT_H

#include <stddef.h>
#include <jansson.h>
#include "handover/buf.h"
#include "handover/err.h"
#include "handover/report.h"

/* Parse and validate one JSON object (one line, no trailing newline needed).
 * out is cleared first and left cleared on error. When report_id is absent it
 * is derived from the content (ho_report_derive_id), so the same report sent
 * twice has the same id. HO_ERR_JSON for syntax, HO_ERR_INVALID for rules. */
ho_err_t ho_report_from_json(const char *text, size_t len, ho_report_t *out, char *errstr,
                             size_t errstr_size);

/* The same from an already-parsed JSON object (borrowed: obj stays the
 * caller's). Used by the engine, which stores ho_report_to_json() plus its own
 * members and deletes those before parsing back. */
ho_err_t ho_report_from_jansson(json_t *obj, ho_report_t *out, char *errstr, size_t errstr_size);

/* Validate a report built elsewhere (decoded Avro): the same rules. */
ho_err_t ho_report_validate(const ho_report_t *r, char *errstr, size_t errstr_size);

/* Validation stamps: ho_report_from_json() and ho_report_from_jansson()
 * stamp the report they validated with a 64-bit hash of its
 * whole content (every field, every string's bytes, the pointers), so that
 * ho_codec_encode() need not run the rules a second time. Any change to the
 * report afterwards (a field set, a string replaced or edited in place)
 * changes the hash, and the report is then validated again. ho_report_copy()
 * and ho_report_clear() leave no stamp. Decoded reports carry none: workers
 * never re-encode what they decode, so it would cost every message. */
void ho_report_mark_validated(ho_report_t *r);
bool ho_report_is_validated(const ho_report_t *r);

/* The deterministic content id: "r-" + 32 hex digits, from every field but
 * report_id. Writes into out (at least 35 bytes) and returns HO_OK, or
 * HO_ERR_NOMEM with out "" when the datum cannot be built. The rule (docs/codec.md):
 * D = the Avro binary datum of r under transfer_report.v2 with report_id "";
 * id = "r-" + hex16(CRC-64-AVRO(D)) + hex16(FNV-1a-64(D)). */
ho_err_t ho_report_derive_id(const ho_report_t *r, char out[35]);

/* Append the Avro binary datum of r under transfer_report.v2, with report_id
 * replaced by the given one (the canonical serialization behind derived ids). */
ho_err_t ho_report_avro_datum(const ho_report_t *r, const char *report_id, ho_buf_t *out);

/* The report as a JSON object (new reference; caller json_decref()s), with
 * occurred_on as "YYYY-MM-DD", reported_at as RFC 3339 "...Z". Field names
 * as in the schema; inmates_by_destination always present (possibly {}). */
json_t *ho_report_to_json(const ho_report_t *r);
/* Compact one-line JSON text of the above (malloc'd; caller frees). */
char *ho_report_to_json_text(const ho_report_t *r);

#endif
