/*
 * fuzz_extract.c: libFuzzer target for the extractor (lib/extract*.c), which
 * reads untrusted text: arbitrary bytes, invalid UTF-8, large inputs. An input
 * that starts with the bytes FF FE is repeated up to 1 MB, so that large pages are
 * covered too (the time per input is bounded by tests/run's -timeout; 10 MB
 * inputs, slow under this instrumentation, are timed on the plain build by
 * tests/integration/extract_large.sh). A
 * complete report must validate and survive to_json -> from_json; the
 * evidence must be valid JSON with every span inside the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/extract.h"
#include "handover/jreport.h"

#define BIG (1u << 20)

static ho_extract_result_t res;
static char *big;

static void cleanup(void) {
        ho_extract_result_clear(&res);
        free(big);
        big = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int init;
        const char *text = (const char *)data;
        char err[512], *s, *js;
        size_t len = size, i;
        ho_extract_meta_t meta = {.source = "fuzz", .published_at = "2026-01-21T05:47:00Z"};
        json_t *ev;

        if (!init) {
                init = 1;
                atexit(cleanup);
        }
        if (size > 2 && data[0] == 0xFF && data[1] == 0xFE) {
                if (!big && !(big = malloc(BIG)))
                        abort();
                for (i = 0; i < BIG; i++)
                        big[i] = (char)data[2 + i % (size - 2)];
                text = big;
                len = BIG;
        }
        if (ho_extract_article(text, len, size & 1 ? &meta : NULL, &res, err, sizeof(err))) {
                fprintf(stderr, "fuzz_extract: %s\n", err);
                abort();
        }
        if (res.status == HO_EXTRACT_COMPLETE) {
                ho_report_t back;
                if (ho_report_validate(&res.report, err, sizeof(err))) {
                        fprintf(stderr, "fuzz_extract: a complete report is invalid: %s\n", err);
                        abort();
                }
                if (!(js = ho_report_to_json_text(&res.report)))
                        abort();
                ho_report_init(&back);
                if (ho_report_from_json(js, strlen(js), &back, err, sizeof(err)) ||
                    strcmp(back.report_id, res.report.report_id)) {
                        fprintf(stderr,
                                "fuzz_extract: the printed report does not read back: %s\n%s\n",
                                err, js);
                        abort();
                }
                ho_report_clear(&back);
                free(js);
        }
        if (res.status != HO_EXTRACT_COMPLETE && res.report.report_id)
                abort();
        for (i = 0; i < res.n_ev; i++)
                if (res.ev[i].start > res.ev[i].end || res.ev[i].end > len)
                        abort();
        if (!(ev = ho_extract_evidence_json(&res, text, len)))
                abort();
        if (!(s = json_dumps(ev, JSON_COMPACT)))
                abort();
        free(s);
        json_decref(ev);
        if (!(s = ho_extract_summary(&res)))
                abort();
        free(s);
        ho_extract_result_clear(&res);
        return 0;
}
