/*
 * schemas_embedded.h: every schemas/ .avsc file, compiled into the library by
 * cmake/embed_schemas.cmake, so programs know all schemas without files.
 */
#ifndef HO_SCHEMAS_EMBEDDED_H
#define HO_SCHEMAS_EMBEDDED_H

#include <stddef.h>

typedef struct ho_embedded_schema_s {
        const char *name; /* file name, e.g. "transfer_report.v2.avsc" */
        const char *json; /* the file's bytes, NUL-terminated */
        size_t len;
} ho_embedded_schema_t;

extern const ho_embedded_schema_t ho_embedded_schemas[]; /* ends with {0,0,0} */

#endif
