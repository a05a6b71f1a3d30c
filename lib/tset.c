/*
 * tset.c: the set of distinct transfer ids (see tset.h): open addressing over
 * 64-bit hashes, doubling up to HO_TSET_MAX.
 */
#include <stdlib.h>
#include "handover/tset.h"

struct ho_tset_s {
        uint64_t *slots; /* 0 = empty */
        size_t mask;
        uint64_t count;
        bool exact;
};

static uint64_t hash64(const void *p, size_t n) {
        const unsigned char *s = p;
        uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a full-avalanche finish */

        for (size_t i = 0; i < n; i++) {
                h ^= s[i];
                h *= 1099511628211ULL;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        return h ? h : 1;
}

ho_tset_t *ho_tset_new(void) {
        ho_tset_t *ts = calloc(1, sizeof(*ts));

        if (!ts)
                return NULL;
        ts->mask = 1023;
        ts->slots = calloc(ts->mask + 1, sizeof(uint64_t));
        ts->exact = true;
        if (!ts->slots) {
                free(ts);
                return NULL;
        }
        return ts;
}

void ho_tset_destroy(ho_tset_t *ts) {
        if (!ts)
                return;
        free(ts->slots);
        free(ts);
}

static bool tset_insert(uint64_t *slots, size_t mask, uint64_t h) {
        size_t i = (size_t)h & mask;

        while (slots[i]) {
                if (slots[i] == h)
                        return false;
                i = (i + 1) & mask;
        }
        slots[i] = h;
        return true;
}

bool ho_tset_add(ho_tset_t *ts, const void *id, size_t len) {
        uint64_t h = hash64(id, len);

        if ((ts->count + 1) * 2 > ts->mask + 1) {
                size_t nmask = ts->mask * 2 + 1;
                uint64_t *ns = NULL;
                if (ts->count < HO_TSET_MAX)
                        ns = calloc(nmask + 1, sizeof(uint64_t));
                if (!ns) {
                        /* Full (or no memory): answer "seen" for known ids and stop
                         * counting new ones exactly. Lookups still work. */
                        size_t i = (size_t)h & ts->mask;
                        while (ts->slots[i]) {
                                if (ts->slots[i] == h)
                                        return false;
                                i = (i + 1) & ts->mask;
                        }
                        ts->exact = false;
                        return false;
                }
                for (size_t i = 0; i <= ts->mask; i++)
                        if (ts->slots[i])
                                tset_insert(ns, nmask, ts->slots[i]);
                free(ts->slots);
                ts->slots = ns;
                ts->mask = nmask;
        }
        if (!tset_insert(ts->slots, ts->mask, h))
                return false;
        ts->count++;
        return true;
}

uint64_t ho_tset_count(const ho_tset_t *ts) {
        return ts->count;
}

bool ho_tset_exact(const ho_tset_t *ts) {
        return ts->exact;
}
