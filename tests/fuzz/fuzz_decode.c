/*
 * fuzz_decode.c: libFuzzer target for the single-object decoder, the part of
 * handover that reads untrusted bytes from Kafka. Any input must give HO_OK
 * with a valid report, or an error with the report cleared; never a crash,
 * a leak or undefined behaviour. Decoded reports must re-encode and decode
 * to the same JSON (the codec is its own inverse on what it accepts). The
 * direct decoder of the embedded schemas and the avro-c path must agree on
 * every input: the same error with the same message, or the same report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/codec.h"
#include "handover/jreport.h"

static ho_codec_t *codec;
static ho_report_t r, r2, rg;
static ho_buf_t b;

/* Free everything at exit, so LeakSanitizer's final check sees only real
 * leaks (it cannot trace every pointer avro-c keeps inside reused values). */
static void cleanup(void) {
        ho_codec_destroy(codec);
        codec = NULL;
        ho_report_clear(&r);
        ho_report_clear(&r2);
        ho_report_clear(&rg);
        ho_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[512], gerr[512];
        ho_err_t e, ge;

        if (!codec) {
                codec = ho_codec_new(err, sizeof(err));
                if (!codec) {
                        fprintf(stderr, "fuzz_decode: %s\n", err);
                        abort();
                }
                atexit(cleanup);
        }
        e = ho_codec_decode(codec, data, size, &r, err, sizeof(err));
        ge = ho_codec_decode_generic(codec, data, size, &rg, gerr, sizeof(gerr));
        if (e != ge || (e && strcmp(err, gerr))) {
                fprintf(stderr, "fuzz_decode: direct %s (%s), avro-c %s (%s)\n", ho_err_name(e),
                        e ? err : "", ho_err_name(ge), ge ? gerr : "");
                abort();
        }
        if (!e) {
                char *a = ho_report_to_json_text(&r), *g = ho_report_to_json_text(&rg);
                if (!a || !g || strcmp(a, g) || r.schema_version != rg.schema_version) {
                        fprintf(stderr, "fuzz_decode: direct %s, avro-c %s\n", a, g);
                        abort();
                }
                free(a);
                free(g);
        }
        ho_report_clear(&rg);
        if (e) {
                if (r.report_id || r.transfer_id || r.destinations || r.persons ||
                    r.by_destination || r.schema_version)
                        abort(); /* a partial report */
                return 0;
        }
        if (ho_report_validate(&r, err, sizeof(err)))
                abort();
        /* the decoded report re-encodes (as the newest schema) and reads back equal */
        ho_buf_reset(&b);
        if (ho_codec_encode(codec, &r, &b, err, sizeof(err)) ||
            ho_codec_decode(codec, b.data, b.len, &r2, err, sizeof(err)))
                abort();
        char *t1 = ho_report_to_json_text(&r), *t2 = ho_report_to_json_text(&r2);
        if (!t1 || !t2 || strcmp(t1, t2))
                abort();
        free(t1);
        free(t2);
        ho_report_clear(&r);
        ho_report_clear(&r2);
        return 0;
}
