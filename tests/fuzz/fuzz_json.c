/*
 * fuzz_json.c: libFuzzer target for the JSON report reader (the producers'
 * input; lib/jreport.c over lib/json.c). On every input it must give the
 * reference's result and message (jansson + the rules, jreport_ref.c);
 * whatever it accepts must pass ho_report_validate, survive to_json ->
 * from_json unchanged, and encode + decode to the same report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/codec.h"
#include "handover/jreport.h"
#include "jreport_ref.h"

static ho_codec_t *codec;
static ho_report_t r, r2;
static ho_buf_t b;

/* Free everything at exit, so LeakSanitizer's final check sees only real
 * leaks (it cannot trace every pointer avro-c keeps inside reused values). */
static void cleanup(void) {
        ho_codec_destroy(codec);
        codec = NULL;
        ho_report_clear(&r);
        ho_report_clear(&r2);
        ho_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[512];
        char *t1, *t2;

        if (!codec) {
                codec = ho_codec_new(err, sizeof(err));
                if (!codec) {
                        fprintf(stderr, "fuzz_json: %s\n", err);
                        abort();
                }
                atexit(cleanup);
        }
        ho_err_t e = ho_report_from_json((const char *)data, size, &r, err, sizeof(err));
        /* the one reader decides and words it as the reference does: jansson
         * 2.14 and the rules in their order (tests/helpers/jreport_ref.c),
         * syntax errors included, byte for byte */
        {
                char ref_msg[512] = "";
                ho_err_t je = ho_ref_report_from_json((const char *)data, size, &r2, ref_msg,
                                                      sizeof(ref_msg));
                if (e != je || (e && strcmp(err, ref_msg))) {
                        fprintf(stderr, "fuzz_json: from_json %s (%s), reference %s (%s)\n",
                                ho_err_name(e), e ? err : "", ho_err_name(je), ref_msg);
                        abort();
                }
                if (!e) {
                        t1 = ho_report_to_json_text(&r);
                        t2 = ho_report_to_json_text(&r2);
                        if (!t1 || !t2 || strcmp(t1, t2))
                                abort();
                        free(t1);
                        free(t2);
                }
                ho_report_clear(&r2);
        }
        if (e) {
                if (r.report_id || r.transfer_id || r.destinations || r.persons || r.by_destination)
                        abort(); /* a partial report */
                return 0;
        }
        if (ho_report_validate(&r, err, sizeof(err)))
                abort();
        t1 = ho_report_to_json_text(&r);
        if (!t1 || ho_report_from_json(t1, strlen(t1), &r2, err, sizeof(err)))
                abort();
        t2 = ho_report_to_json_text(&r2);
        if (!t2 || strcmp(t1, t2))
                abort();
        free(t2);
        ho_buf_reset(&b);
        if (ho_codec_encode(codec, &r, &b, err, sizeof(err)) ||
            ho_codec_decode(codec, b.data, b.len, &r2, err, sizeof(err)))
                abort();
        t2 = ho_report_to_json_text(&r2);
        if (!t2 || strcmp(t1, t2))
                abort();
        free(t1);
        free(t2);
        ho_report_clear(&r);
        ho_report_clear(&r2);
        return 0;
}
