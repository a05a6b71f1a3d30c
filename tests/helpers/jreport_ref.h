/*
 * jreport_ref.h: the tests' reference reader and writer for the report's
 * JSON (jansson trees; see jreport_ref.c).
 */
#ifndef HO_JREPORT_REF_H
#define HO_JREPORT_REF_H

#include <stddef.h>
#include <jansson.h>
#include "handover/err.h"
#include "handover/report.h"

/* json_loadb(JSON_REJECT_DUPLICATES), then ho_ref_report_from_jansson():
 * what ho_report_from_json() must decide and say. */
ho_err_t ho_ref_report_from_json(const char *text, size_t len, ho_report_t *out, char *errstr,
                                 size_t errstr_size);
/* The rules on a parsed object (borrowed), in the order the messages rank. */
ho_err_t ho_ref_report_from_jansson(json_t *obj, ho_report_t *out, char *errstr,
                                    size_t errstr_size);
/* The report as a jansson object (new reference), members in the writer's order. */
json_t *ho_ref_report_to_json(const ho_report_t *r);

#endif
