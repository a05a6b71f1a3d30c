/*
 * fuzz_container.c: libFuzzer target for the Avro object container scan
 * (ho_avro_container_scan, lib/input.c), which reads a named input's block
 * structure before avro-c is let near it. Any input must give HO_OK or a
 * clean error with a message, never a crash, a leak or undefined behaviour;
 * and an input that scans clean must not scan clean without its last byte
 * (the last sync marker is then cut short).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/input.h"

static ho_err_t scan(const uint8_t *data, size_t size, uint64_t *records, char *err,
                     size_t err_size) {
        /* fmemopen() refuses an empty buffer: an empty file is a file with no magic */
        static const uint8_t none[1];
        FILE *fp = fmemopen((void *)(size ? data : none), size ? size : 1, "rb");
        ho_err_t rc;

        if (!fp)
                abort();
        if (!size)
                fgetc(fp); /* at EOF */
        rc = ho_avro_container_scan(fp, records, err, err_size);
        fclose(fp);
        return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[512];
        uint64_t records = 0, again = 0;
        ho_err_t rc;

        err[0] = '\0';
        rc = scan(data, size, &records, err, sizeof(err));
        if (rc != HO_OK) {
                if (rc != HO_ERR_NOT_AVRO && rc != HO_ERR_TRUNCATED && rc != HO_ERR_IO)
                        abort();
                if (!err[0])
                        abort(); /* an error says what was wrong */
                return 0;
        }
        /* "Obj\x01", an empty metadata map and a sync marker at the least */
        if (size < 4 + 1 + 16)
                abort();
        if (scan(data, size - 1, &again, err, sizeof(err)) == HO_OK)
                abort();
        return 0;
}
