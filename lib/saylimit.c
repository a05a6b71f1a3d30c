/*
 * saylimit.c: one clock per kind of message (saylimit.h).
 */
#include "handover/saylimit.h"

#include <string.h>

void ho_saylimit_init(ho_saylimit_t *sl, int64_t interval_ms) {
        memset(sl, 0, sizeof(*sl));
        sl->interval_ms = interval_ms;
}

/* FNV-1a of the code and the text before " (after " (never 0: 0 marks a free slot) */
static uint64_t saylimit_key(int code, const char *msg) {
        uint64_t h = 1469598103934665603ULL;
        const char *end = msg ? strstr(msg, " (after ") : NULL;
        size_t n = msg ? (end ? (size_t)(end - msg) : strlen(msg)) : 0;
        for (size_t i = 0; i < sizeof(code); i++) {
                h ^= (unsigned char)((unsigned)code >> (8 * i));
                h *= 1099511628211ULL;
        }
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char)msg[i];
                h *= 1099511628211ULL;
        }
        return h ? h : 1;
}

bool ho_saylimit_ok(ho_saylimit_t *sl, int code, const char *msg, int64_t now_ms) {
        uint64_t key = saylimit_key(code, msg);
        size_t oldest = 0;
        for (size_t i = 0; i < HO_SAYLIMIT_KINDS; i++) {
                if (sl->kinds[i].key == key) {
                        if (now_ms - sl->kinds[i].last_ms < sl->interval_ms)
                                return false;
                        sl->kinds[i].last_ms = now_ms;
                        return true;
                }
                if (!sl->kinds[i].key ||
                    (sl->kinds[oldest].key && sl->kinds[i].last_ms < sl->kinds[oldest].last_ms))
                        oldest = i;
        }
        /* a free slot, else the one said longest ago */
        for (size_t i = 0; i < HO_SAYLIMIT_KINDS; i++)
                if (!sl->kinds[i].key) {
                        oldest = i;
                        break;
                }
        sl->kinds[oldest].key = key;
        sl->kinds[oldest].last_ms = now_ms;
        return true;
}
