/*
 * fuzz_agg_state.c: libFuzzer target for the stored-state reader
 * (ho_report_state_from_json, lib/jreport.c), which reads every
 * {P}:transfers value the engine revises: bytes from Redis, so anyone who can
 * write the prefix. It must never read outside the input (the copy below has
 * no NUL after it), and whatever it accepts must come back from the writer
 * (ho_report_json) in a form it accepts again and writes byte for byte the
 * same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/jreport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = malloc(size ? size : 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        ho_report_t r, r2;
        ho_buf_t b1, b2;
        int64_t reports, reports2;
        ho_report_init(&r);
        ho_report_init(&r2);
        ho_buf_init(&b1);
        ho_buf_init(&b2);
        char err[512];
        if (ho_report_state_from_json(text, size, &r, &reports, err, sizeof(err)) == HO_OK) {
                int64_t n = reports < 0 ? 0 : reports;
                if (ho_report_json(&r, n, &b1))
                        abort(); /* out of memory only */
                if (ho_report_state_from_json(b1.data, b1.len, &r2, &reports2, err, sizeof(err))) {
                        fprintf(stderr,
                                "fuzz_agg_state: the writer's output does not parse (%s): %.*s\n",
                                err, (int)b1.len, b1.data);
                        abort();
                }
                if (reports2 != n) {
                        fprintf(stderr, "fuzz_agg_state: reports %lld came back as %lld\n",
                                (long long)n, (long long)reports2);
                        abort();
                }
                if (ho_report_json(&r2, reports2, &b2))
                        abort();
                if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len)) {
                        fprintf(stderr, "fuzz_agg_state: not a fixed point:\n  %.*s\n  %.*s\n",
                                (int)b1.len, b1.data, (int)b2.len, b2.data);
                        abort();
                }
        }
        ho_report_clear(&r);
        ho_report_clear(&r2);
        ho_buf_free(&b1);
        ho_buf_free(&b2);
        free(text);
        return 0;
}
