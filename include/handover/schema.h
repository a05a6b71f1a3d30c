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
        const char *name;      /* e.g. "transfer_report.v2.avsc" */
        int version;           /* 1, 2, ... from the name; 0 when not from schemas/ */
        uint64_t fingerprint;
        char *canonical;       /* owned */
        avro_schema_t avro;    /* owned (one reference) */
} ho_schema_t;

/* The registry: the embedded schemas/ plus any added at run time. */
typedef struct ho_schema_registry_s ho_schema_registry_t;

ho_schema_registry_t *ho_schema_registry_new(char *errstr, size_t errstr_size);
void ho_schema_registry_destroy(ho_schema_registry_t *reg);
const ho_schema_t *ho_schema_registry_find(const ho_schema_registry_t *reg, uint64_t fp);
const ho_schema_t *ho_schema_registry_version(const ho_schema_registry_t *reg, int version);
const ho_schema_t *ho_schema_registry_newest(const ho_schema_registry_t *reg);
/* Add a schema from JSON (e.g. --schema FILE); returns the entry (owned by reg). */
const ho_schema_t *ho_schema_registry_add(ho_schema_registry_t *reg, const char *json, size_t len,
                                          char *errstr, size_t errstr_size);

/* Can data written with `writer` be read with `reader`? HO_OK, or
 * HO_ERR_INCOMPATIBLE with the reason in errstr. */
ho_err_t ho_schema_check_compat(avro_schema_t writer, avro_schema_t reader, char *errstr,
                                size_t errstr_size);

#endif
