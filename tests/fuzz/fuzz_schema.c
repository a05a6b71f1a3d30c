/*
 * fuzz_schema.c: libFuzzer target for the schema parser (lib/schema.c), which
 * reads --schema files and every schema the registry serves. It must never
 * read outside the input (the copy below has no NUL after it), and a schema
 * it accepts has a Parsing Canonical Form that is its own canonical form (the
 * specification's transformations are idempotent), the same fingerprint
 * either way, and is compatible with itself (any data it writes, it reads).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[512];
        char *json = malloc(size ? size : 1);
        if (!json)
                return 0;
        memcpy(json, data, size);
        char *c1 = ho_schema_canonical(json, size, err, sizeof(err));
        if (c1) {
                char *c2 = ho_schema_canonical(c1, strlen(c1), err, sizeof(err));
                if (!c2 || strcmp(c1, c2)) {
                        fprintf(stderr,
                                "fuzz_schema: canonical form not a fixed point:\n  %s\n  %s\n", c1,
                                c2 ? c2 : err);
                        abort();
                }
                uint64_t fp;
                if (ho_schema_fingerprint(json, size, &fp, err, sizeof(err)) ||
                    fp != ho_crc64_avro(c1, strlen(c1))) {
                        fprintf(stderr,
                                "fuzz_schema: fingerprint differs from the canonical form's\n");
                        abort();
                }
                if (ho_schema_check_compat_json(json, size, json, size, err, sizeof(err)) ==
                    HO_ERR_INCOMPATIBLE) {
                        fprintf(stderr, "fuzz_schema: a schema incompatible with itself: %s: %s\n",
                                c1, err);
                        abort();
                }
                free(c2);
                free(c1);
        }
        free(json);
        return 0;
}
