/*
 * schema.h: Avro schema identity, from the Avro specification: Parsing
 * Canonical Form and the CRC-64-AVRO fingerprint (avro-c has neither), and
 * the registry of every schema under schemas/, known by fingerprint.
 */
#ifndef HO_SCHEMA_H
#define HO_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <avro.h>
#include "handover/err.h"

/* The Parsing Canonical Form of a schema given as JSON text. Returns a
 * malloc'd NUL-terminated string (caller frees), or NULL with errstr. */
char *ho_schema_canonical(const char *json, size_t len, char *errstr, size_t errstr_size);

/* CRC-64-AVRO (Rabin) of bytes, as the specification defines it. */
uint64_t ho_crc64_avro(const void *data, size_t len);

/* fingerprint = ho_crc64_avro(canonical form). On the wire it stands as 8
 * little-endian bytes; the spec's vectors print it as a signed int64. */
ho_err_t ho_schema_fingerprint(const char *json, size_t len, uint64_t *fp, char *errstr,
                               size_t errstr_size);

/* One known schema. */
typedef struct ho_schema_s {
        const char *name; /* e.g. "transfer_report.v2.avsc" */
        int version;      /* 1, 2, ... from the name; 0 when not from schemas/ */
        uint64_t fingerprint;
        char *canonical;    /* owned */
        avro_schema_t avro; /* owned (one reference); parsed from the canonical form */
        char *json;         /* owned: the schema's original text (it keeps field defaults) */
} ho_schema_t;

/* The registry: the embedded schemas/ plus any added at run time. */
typedef struct ho_schema_registry_s ho_schema_registry_t;

ho_schema_registry_t *ho_schema_registry_new(char *errstr, size_t errstr_size);
void ho_schema_registry_destroy(ho_schema_registry_t *reg);
const ho_schema_t *ho_schema_registry_find(const ho_schema_registry_t *reg, uint64_t fp);
const ho_schema_t *ho_schema_registry_version(const ho_schema_registry_t *reg, int version);
const ho_schema_t *ho_schema_registry_newest(const ho_schema_registry_t *reg);
/* Add a schema from JSON (e.g. --schema FILE); returns the entry (owned by reg).
 * A schema already known (same fingerprint) returns the existing entry. */
const ho_schema_t *ho_schema_registry_add(ho_schema_registry_t *reg, const char *json, size_t len,
                                          char *errstr, size_t errstr_size);
/* The same, naming the entry (e.g. after its file); a name "transfer_report.vN.avsc"
 * gives it version N unless the registry has a version N already. name is copied. */
const ho_schema_t *ho_schema_registry_add_named(ho_schema_registry_t *reg, const char *name,
                                                const char *json, size_t len, char *errstr,
                                                size_t errstr_size);
/* Every entry, for listing: i in 0..count-1. */
size_t ho_schema_registry_count(const ho_schema_registry_t *reg);
const ho_schema_t *ho_schema_registry_at(const ho_schema_registry_t *reg, size_t i);

/* Can data written with `writer` be read with `reader`? HO_OK, or
 * HO_ERR_INCOMPATIBLE with the reason in errstr (e.g. `at "persons.items.name":
 * writer type "int" cannot be read as "string"`). The rules are the Avro
 * specification's "Schema Resolution" (aliases aside), checked by this module:
 * avro-c 1.11.1's resolver refuses every reader field the writer lacks, even
 * one with a default, and crashes on that path for nested records.
 *
 * ho_schema_check_compat() takes avro-c schemas, which keep no field defaults:
 * a reader field missing from the writer is therefore always incompatible
 * there. Prefer the JSON or registry-entry forms, which see the defaults. */
ho_err_t ho_schema_check_compat(avro_schema_t writer, avro_schema_t reader, char *errstr,
                                size_t errstr_size);
ho_err_t ho_schema_check_compat_json(const char *writer, size_t wlen, const char *reader,
                                     size_t rlen, char *errstr, size_t errstr_size);
ho_err_t ho_schema_entry_compat(const ho_schema_t *writer, const ho_schema_t *reader, char *errstr,
                                size_t errstr_size);

#endif
