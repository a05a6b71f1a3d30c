/*
 * fuzz_registry.c: libFuzzer target for what the schema registry client and
 * the Confluent framing read from outside: the registry's answers
 * (ho_registry_parse_id, ho_registry_parse_schema), and values framed 00 +
 * schema id + datum, decoded by a codec whose registry knows ids 1 (v1) and
 * 2 (v2) from its cache. The first input byte picks which; any input must
 * give a clean error or a valid result, never a crash, a leak or undefined
 * behaviour. A value decoded through an id must equal the same datum decoded
 * in the single-object framing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/codec.h"
#include "handover/jreport.h"
#include "handover/registry.h"

static ho_codec_t *codec;
static ho_registry_t *rg;
static ho_report_t r, r2;
static ho_buf_t b;

static void cleanup(void) {
        ho_codec_destroy(codec);
        ho_registry_destroy(rg);
        codec = NULL;
        rg = NULL;
        ho_report_clear(&r);
        ho_report_clear(&r2);
        ho_buf_free(&b);
}

static void setup(void) {
        char err[512];
        const ho_schema_registry_t *reg;

        codec = ho_codec_new(err, sizeof(err));
        /* nothing listens on port 1, and no request is made: ids 1 and 2 are cached */
        rg = ho_registry_new("http://127.0.0.1:1", err, sizeof(err));
        if (!codec || !rg) {
                fprintf(stderr, "fuzz_registry: %s\n", err);
                abort();
        }
        reg = ho_codec_registry(codec);
        if (ho_registry_prime(rg, 1, ho_schema_registry_version(reg, 1)->json) ||
            ho_registry_prime(rg, 2, ho_schema_registry_version(reg, 2)->json))
                abort();
        ho_codec_set_registry(codec, rg);
        atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[512];
        int32_t id;
        char *s = NULL;

        if (!codec)
                setup();
        if (size < 1)
                return 0;
        switch (data[0] % 3) {
        case 0:
                if (ho_registry_parse_id((const char *)data + 1, size - 1, &id, err, sizeof(err)) ==
                            HO_OK &&
                    id < 0)
                        abort();
                break;
        case 1:
                if (ho_registry_parse_schema((const char *)data + 1, size - 1, &s, err,
                                             sizeof(err)) == HO_OK &&
                    !s)
                        abort();
                free(s);
                break;
        default: {
                /* 00, id 1 or 2 (the second byte), then the datum */
                unsigned char hdr[5] = {0, 0, 0, 0, 1};
                const ho_schema_t *w;
                uint8_t sel = size > 1 ? data[1] : 0;
                const uint8_t *datum = data + (size > 1 ? 2 : 1);
                size_t dlen = size - (size > 1 ? 2 : 1);

                hdr[4] = (uint8_t)(1 + sel % 2);
                ho_buf_reset(&b);
                if (ho_buf_append(&b, hdr, sizeof(hdr)) || ho_buf_append(&b, datum, dlen))
                        abort();
                ho_err_t e = ho_codec_decode(codec, b.data, b.len, &r, err, sizeof(err));
                if (e == HO_ERR_TIMEOUT) {
                        fprintf(stderr, "fuzz_registry: a cached id went to the network: %s\n",
                                err);
                        abort();
                }
                if (e)
                        break;
                /* the same datum in the single-object framing decodes to the same report */
                w = ho_schema_registry_version(ho_codec_registry(codec), hdr[4]);
                ho_buf_reset(&b);
                uint8_t soe[HO_SOE_HEADER] = {HO_SOE_MAGIC0, HO_SOE_MAGIC1};
                for (int i = 0; i < 8; i++)
                        soe[2 + i] = (uint8_t)(w->fingerprint >> (8 * i));
                if (ho_buf_append(&b, soe, sizeof(soe)) || ho_buf_append(&b, datum, dlen))
                        abort();
                if (ho_codec_decode(codec, b.data, b.len, &r2, err, sizeof(err)))
                        abort();
                char *x = ho_report_to_json_text(&r), *y = ho_report_to_json_text(&r2);
                if (!x || !y || strcmp(x, y))
                        abort();
                free(x);
                free(y);
        }
        }
        return 0;
}
