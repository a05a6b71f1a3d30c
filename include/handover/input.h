/*
 * input.h: one input of handover-produce (a path or "-"): JSON Lines or an
 * Avro object container file (told apart by the "Obj\x01" magic), read as a
 * sequence of validated reports or per-record errors. Also the check of a
 * container file's block structure (ho_avro_container_scan).
 *
 * Dependencies: lines.h, pos.h, codec.h, report.h, jreport.h, schema.h
 * (used by validate.c, produce.c, redrive.c).
 */
#ifndef HO_INPUT_H
#define HO_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "handover/codec.h"
#include "handover/err.h"
#include "handover/lines.h"
#include "handover/pos.h"
#include "handover/report.h"

typedef enum { HO_FORMAT_JSONL = 0, HO_FORMAT_AVRO } ho_format_t;

typedef enum {
        HO_INPUT_REPORT = 0, /* *out holds a valid report */
        HO_INPUT_BAD,        /* this record is invalid: errstr says why; reading may go on */
        HO_INPUT_EOF,
        HO_INPUT_AGAIN, /* nothing yet (pipe without data, follow at EOF, EINTR) */
        HO_INPUT_ERROR, /* the input cannot be read further: errstr says why */
} ho_input_status_t;

typedef struct ho_input_s ho_input_t;

/* Open path ("-" = standard input). index is the input's number in
 * positions. The codec is borrowed (must outlive the input) and is used to
 * turn Avro records into reports. Avro container files must be named files
 * (not standard input, not follow mode). NULL + errstr on failure. */
ho_input_t *ho_input_open(const char *path, unsigned index, bool follow, ho_codec_t *codec,
                          char *errstr, size_t errstr_size);
void ho_input_destroy(ho_input_t *in);

/* The next record into out (ho_report_clear()ed first). *pos is its
 * position (line number for JSON Lines, record number for Avro). Blank lines
 * are skipped. */
ho_input_status_t ho_input_next(ho_input_t *in, ho_report_t *out, ho_pos_t *pos, char *errstr,
                                size_t errstr_size);
ho_format_t ho_input_format(const ho_input_t *in);
const char *ho_input_name(const ho_input_t *in); /* "<stdin>" for "-" */
unsigned ho_input_index(const ho_input_t *in);
/* The raw text of the last JSON line returned (for rejects files); NULL for
 * Avro records and skipped over-long lines. Valid until the next call. */
const char *ho_input_last_line(const ho_input_t *in, size_t *len);
uint64_t ho_input_bytes_read(const ho_input_t *in);
/* Follow mode: how often the file was replaced / truncated so far. */
void ho_input_follow_events(const ho_input_t *in, unsigned *reopens, unsigned *truncations);
/* Total bytes when known (regular files), else -1: for progress ETAs. */
int64_t ho_input_size(const ho_input_t *in);
/* A JSON Lines input's line reader (borrowed; NULL for Avro), for a reader
 * that takes its lines itself (the parallel validation). Only lines taken
 * from it are no longer returned by ho_input_next(). */
ho_lines_t *ho_input_lines(ho_input_t *in);

/* One JSON line to a validated report, exactly as ho_input_next() turns a
 * line: a byte order mark and NUL bytes are named first, then the report's
 * rules, then a reported_at that a Kafka timestamp can carry (after
 * 1970-01-01T00:00:00Z). Thread-safe. */
ho_err_t ho_input_parse_line(const char *line, size_t len, ho_report_t *out, char *errstr,
                             size_t errstr_size);

/* Check the block structure of an Avro object container file and count its
 * records, without decoding them (avro-c cannot tell a clean end of file
 * from a truncated block, nor open a file with no blocks). Reads fp from its
 * current position to EOF. HO_ERR_NOT_AVRO (no magic, a negative count or
 * size, a wrong sync marker), HO_ERR_TRUNCATED, HO_ERR_IO + errstr. */
ho_err_t ho_avro_container_scan(FILE *fp, uint64_t *records, char *errstr, size_t errstr_size);

#endif
