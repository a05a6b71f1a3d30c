/*
 * codec.h: reports to Avro single-object encoding and back (and, with a
 * schema registry, from the Confluent framing: see ho_codec_set_registry).
 *
 *   C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer
 *   schema's canonical form | Avro binary datum
 *
 * Decoding resolves any known writer schema (v1, v2, ...) to the newest
 * reader schema: the embedded v1 and v2 by a direct decoder, schemas added
 * at run time through avro-c generic values. Each way bytes can be wrong is a
 * distinct error (HO_ERR_BAD_MARKER, _UNKNOWN_SCHEMA, _TRUNCATED, _TRAILING,
 * _NOT_AVRO), never a crash, never a partial report. A codec is not
 * thread-safe: one per thread. It reuses its avro-c values across calls.
 * Derived report ids (ho_report_derive_id) are a function of the datum, so
 * they live here too.
 *
 * Dependencies, one way: codec -> report (validation before encoding and
 * after decoding), schema, registry. jreport depends on codec, never the
 * other way.
 */
#ifndef HO_CODEC_H
#define HO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover/arena.h"
#include "handover/buf.h"
#include "handover/err.h"
#include "handover/registry.h"
#include "handover/report.h"
#include "handover/schema.h"

#define HO_SOE_MAGIC0 0xC3
#define HO_SOE_MAGIC1 0x01
#define HO_SOE_HEADER 10

/* The Confluent framing: 00 | 4-byte big-endian schema registry id | datum.
 * Read when the codec has a registry (ho_codec_set_registry); written by
 * reframing a single-object value (ho_confluent_frame). */
#define HO_CONFLUENT_MAGIC 0x00
#define HO_CONFLUENT_HEADER 5

typedef struct ho_codec_s ho_codec_t;

/* A codec over the embedded registry; writer = newest schema. */
ho_codec_t *ho_codec_new(char *errstr, size_t errstr_size);
void ho_codec_destroy(ho_codec_t *codec);
ho_schema_registry_t *ho_codec_registry(ho_codec_t *codec);

/* Choose the writer schema: "v1", "v2", or a path to an .avsc file (added to
 * the registry; must be readable as the newest schema). */
ho_err_t ho_codec_set_writer(ho_codec_t *codec, const char *spec, char *errstr, size_t errstr_size);
const ho_schema_t *ho_codec_writer(const ho_codec_t *codec);

/* Append the single-object encoding of r to out. Fields the writer schema
 * lacks (v1 has no inmates_by_destination) are dropped. r is validated first
 * (HO_ERR_INVALID, out unchanged) unless it still carries the stamp of its
 * last validation (ho_report_is_validated). */
ho_err_t ho_codec_encode(ho_codec_t *codec, const ho_report_t *r, ho_buf_t *out, char *errstr,
                         size_t errstr_size);

/* Decode one value into out (cleared first; on error out is left cleared).
 * out->schema_version says which schema wrote it. The decoded report is also
 * validated (ho_report_validate): a well-formed datum that breaks a rule is
 * HO_ERR_INVALID. */
ho_err_t ho_codec_decode(ho_codec_t *codec, const void *data, size_t len, ho_report_t *out,
                         char *errstr, size_t errstr_size);

/* The same, with the report's members allocated in arena where the direct
 * decoder runs (out->in_arena says whether they were): they stay valid
 * until the arena is reset, whatever ho_report_clear does. */
ho_err_t ho_codec_decode_in(ho_codec_t *codec, const void *data, size_t len, ho_report_t *out,
                            ho_arena_t *arena, char *errstr, size_t errstr_size);

/* The same through avro-c generic values whatever the writer schema: the
 * reference that the direct decoder of the embedded schemas is checked
 * against (tests, fuzz_decode). Same errors, same rules. */
ho_err_t ho_codec_decode_generic(ho_codec_t *codec, const void *data, size_t len, ho_report_t *out,
                                 char *errstr, size_t errstr_size);

/* Whether the codec codes values of schema s directly (the embedded v1 and
 * v2, known by their exact canonical forms) rather than through avro-c. */
bool ho_codec_is_direct(const ho_codec_t *codec, const ho_schema_t *s);

/* Append the Avro binary datum (no header) of r as the embedded schema
 * transfer_report.v<version>.avsc writes it (version 1 or 2; v1 drops
 * inmates_by_destination), with report_id replaced by the given one. NULL
 * strings are written as "". Byte-identical to avro-c's encoding. */
ho_err_t ho_codec_datum(const ho_report_t *r, const char *report_id, int version, ho_buf_t *out);

/* Let decoding read the Confluent framing too, asking rg (borrowed: it must
 * outlive the codec, or be unset with NULL) for schema ids the codec has not
 * seen; up to 256 ids are remembered. Errors of such values, besides the
 * ones above: HO_ERR_UNKNOWN_SCHEMA for an id the registry does not know (the
 * id is in errstr) or a schema that cannot be read as the newest one, and
 * HO_ERR_TIMEOUT when the registry cannot be asked: retriable, the value is
 * not at fault. Without a registry such a value is HO_ERR_BAD_MARKER. */
void ho_codec_set_registry(ho_codec_t *codec, ho_registry_t *rg);

/* The writer schema of the value ho_codec_decode() last read (NULL after an
 * error in its header): the name for values that carry only an id. */
const ho_schema_t *ho_codec_last_writer(const ho_codec_t *codec);

/* Append the Confluent framing of a single-object value (same datum, the
 * header replaced by 00 and id): HO_ERR_BAD_MARKER when soe is not one. */
ho_err_t ho_confluent_frame(const void *soe, size_t len, int32_t id, ho_buf_t *out);
/* Peek at a Confluent header: HO_OK and *id, or BAD_MARKER / TRUNCATED. */
ho_err_t ho_confluent_id(const void *data, size_t len, int32_t *id);

/* Peek at the header only: HO_OK and *fp, or BAD_MARKER / TRUNCATED. */
ho_err_t ho_soe_fingerprint(const void *data, size_t len, uint64_t *fp);

/* Fill an avro-c value of the codec's newest (reader) schema from r, and
 * back: used by Avro object container files (replay --export, produce's
 * import of such files). */
ho_err_t ho_codec_report_to_value(ho_codec_t *codec, const ho_report_t *r, avro_value_t *val,
                                  char *errstr, size_t errstr_size);
ho_err_t ho_codec_value_to_report(ho_codec_t *codec, avro_value_t *val, ho_report_t *out,
                                  char *errstr, size_t errstr_size);

/* The deterministic content id: "r-" + 32 hex digits, from every field but
 * report_id. Writes into out (at least 35 bytes) and returns HO_OK, or
 * HO_ERR_NOMEM with out "" when the datum cannot be built. The rule
 * (docs/codec.md): D = the Avro binary datum of r under transfer_report.v2
 * with report_id ""; id = "r-" + hex16(CRC-64-AVRO(D)) + hex16(FNV-1a-64(D)). */
ho_err_t ho_report_derive_id(const ho_report_t *r, char out[35]);

/* Append the Avro binary datum of r under transfer_report.v2, with report_id
 * replaced by the given one (the canonical serialization behind derived ids). */
ho_err_t ho_report_avro_datum(const ho_report_t *r, const char *report_id, ho_buf_t *out);

#endif
