/*
 * agg_fold.h: the pure C half of the aggregation engine (internal to lib/agg.c
 * and its tests; not a public contract). It folds a batch of reports into one
 * entry per transfer (the batch's latest report and its distinct report ids)
 * and, once the caller has filled in what Redis holds (stored state, revision,
 * which ids were applied before), computes the new states and the counter
 * deltas, summed per (key, field) across the batch. No I/O here, so every rule
 * of the read contract is testable without Redis.
 */
#ifndef HO_AGG_FOLD_H
#define HO_AGG_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover/buf.h"
#include "handover/err.h"
#include "handover/keys.h"
#include "handover/report.h"

/* Tests only: called by ho_agg_batch_commit between its read and its
 * transaction, so a test can move a transfer under a batch (the conflict
 * path). NULL in production. */
extern void (*ho_agg_test_after_read)(void *arg);
extern void *ho_agg_test_after_read_arg;

/* The digest of a report id as kept per transfer in {P}:transfer_ids: the
 * 64-bit XXH3 hash (libxxhash, seed 0) of the id's bytes. A transfer's value
 * there is its applied reports' digests, 8 bytes each, little-endian, in the
 * order they were applied (so its revision is the value's length / 8). */
uint64_t ho_agg_digest(const char *report_id, size_t len);
/* Tests only: when set, ho_agg_digest returns this instead (to force a
 * collision). NULL in production. */
extern uint64_t (*ho_agg_test_digest)(const char *report_id, size_t len);

/* A digest in its stored form (8 bytes, little-endian) and back: the one
 * encoding of {P}:transfer_ids, for the engine and replay's loader alike. */
static inline void ho_agg_digest_put(char out[8], uint64_t d) {
        for (int i = 0; i < 8; i++, d >>= 8)
                out[i] = (char)(d & 0xff);
}

static inline uint64_t ho_agg_digest_get(const char *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = (v << 8) | (uint8_t)p[i];
        return v;
}

/* The counters script run inside each batch's transaction (lib/agg_lua.c:
 * its KEYS and ARGV layout are documented there). */
extern const char ho_agg_lua[];

/* The home partition of a transfer: where a producer using librdkafka's
 * default partitioner (consistent_random: CRC-32 of the key) puts its
 * reports when the topic has n partitions. Every write of a transfer
 * touches its home's fence key (docs/aggregate.md). */
int32_t ho_agg_home(const char *transfer_id, size_t len, int32_t n);

/* A member of {P}:largest_transfers to write. ZADD costs Redis a skiplist
 * search per member, through long runs of equal scores compared by member;
 * members sent in the set's own order (score, then the member's bytes, as
 * Redis orders ties) walk paths already in cache: building a 200,000-member
 * set in that order took 2.4-3.0 us per member, in hash order 6.2-6.7. */
typedef struct ho_zmember_s {
        int64_t score;
        const char *member;
        size_t len;
} ho_zmember_t;

/* Sorts m[0..n) into the sorted set's order. */
void ho_zmember_sort(ho_zmember_t *m, size_t n);

/* A string-keyed map to int64 (open addressing). Keys are copied into one
 * arena, so inserting and clearing never malloc/free per key; clearing keeps
 * the table and the arena, so a map reused across batches does not
 * reallocate. */
typedef struct ho_strmap_s {
        size_t *slots; /* 1 + offset of the key in arena; 0: empty */
        int64_t *vals;
        size_t cap, n;
        ho_buf_t arena; /* keys, each NUL-terminated */
} ho_strmap_t;

void ho_strmap_init(ho_strmap_t *m);
void ho_strmap_clear(
        ho_strmap_t *m); /* remove all; keeps the table unless far larger than it held */
void ho_strmap_free(ho_strmap_t *m);
/* Pointer to the value of key (len bytes, no NUL inside), inserted as 0 if
 * absent (*created set then). When key_off is given it receives the key's
 * offset in the arena (stable until clear; see ho_strmap_key_at). NULL on out
 * of memory. Value pointers are valid until the next insert. */
int64_t *ho_strmap_upsert(ho_strmap_t *m, const char *key, size_t len, bool *created,
                          size_t *key_off);
/* Pointer to the value, or NULL when absent. */
int64_t *ho_strmap_get(const ho_strmap_t *m, const char *key, size_t len);
/* The key stored at arena offset off (valid until the next insert). */
static inline const char *ho_strmap_key_at(const ho_strmap_t *m, size_t off) {
        return m->arena.data + off;
}
/* The key in table slot i (0 <= i < cap), or NULL when the slot is empty:
 * for iterating. */
static inline const char *ho_strmap_slot_key(const ho_strmap_t *m, size_t i) {
        return m->slots[i] ? m->arena.data + m->slots[i] - 1 : NULL;
}

/* The batch's view of one transfer. */
typedef struct ho_fold_xfer_s {
        ho_report_t latest; /* the batch's latest report for this transfer (owned) */
        size_t n_ids;       /* distinct report ids the batch holds for it */
        /* filled in by the caller from Redis, before ho_fold_compute() */
        bool has_stored;
        ho_report_t stored; /* the stored current state when has_stored (owned) */
        int64_t stored_rev; /* 0 when absent */
        size_t ids_off;     /* the caller's: where its stored digests are kept */
        /* results of ho_fold_compute() */
        size_t n_new;    /* ids not applied before: > 0 means "touched" */
        bool changed;    /* the current state becomes latest */
        int64_t new_rev; /* stored_rev + n_new */
} ho_fold_xfer_t;

/* One distinct (transfer, report) of the batch: member is "tid rid". */
typedef struct ho_fold_id_s {
        size_t moff; /* the member's offset in by_member's arena (ho_fold_member) */
        size_t len;
        size_t xfer; /* index into ho_fold_t.xfers */
        bool seen;   /* filled by the caller: applied before (its digest is stored) */
} ho_fold_id_t;

typedef struct ho_fold_s {
        /* n_xfers in use, init_xfers initialised (the most a batch has used:
         * entries are initialised when first taken, so a doubled capacity
         * costs memory only as far as batches fill it) */
        ho_fold_xfer_t *xfers;
        size_t n_xfers, init_xfers, cap_xfers;
        ho_fold_id_t *ids;
        size_t n_ids, cap_ids;
        ho_strmap_t by_tid;    /* transfer_id -> index in xfers */
        ho_strmap_t by_member; /* "tid rid" -> index in ids */
        uint64_t dup_in_batch; /* adds whose id the batch already held */
        ho_buf_t scratch;      /* the member being looked up */
} ho_fold_t;

/* The "tid rid" member of ids[i] (valid until the next ho_fold_add). */
static inline const char *ho_fold_member(const ho_fold_t *f, size_t i) {
        return ho_strmap_key_at(&f->by_member, f->ids[i].moff);
}

void ho_fold_init(ho_fold_t *f);
/* Empty the fold, keep allocations for the next batch (reports are freed). */
void ho_fold_clear(ho_fold_t *f);
void ho_fold_free(ho_fold_t *f);

/* Fold one report (copied when it becomes a transfer's latest). *dup is set
 * when the batch already held (transfer_id, report_id): nothing changes then.
 * HO_ERR_INVALID when an id is missing or holds a space/control byte,
 * HO_ERR_NOMEM. */
ho_err_t ho_fold_add(ho_fold_t *f, const ho_report_t *r, bool *dup);
/* The same, but when r becomes a transfer's latest its members are moved
 * into the fold instead of copied; r is left cleared then (ho_report_init
 * state), and untouched when *dup or an error. */
ho_err_t ho_fold_add_move(ho_fold_t *f, ho_report_t *r, bool *dup);

/* The summed effect of a batch on the counters. */
typedef struct ho_delta_s {
        int64_t totals[HO_TOTAL__COUNT];
        /* breakdown hashes: key = one byte ('A' + HO_KEY_*) followed by the
         * field; the value is the summed delta (entries may sum to 0: skip) */
        ho_strmap_t fields;
        /* transfers_by_date: key = "YYYY-MM-DD" */
        ho_strmap_t dates;
} ho_delta_t;

void ho_delta_init(ho_delta_t *d);
void ho_delta_clear(ho_delta_t *d);
void ho_delta_free(ho_delta_t *d);

/* Add sign (+1/-1) times the contribution of current state r to every
 * counter except totals.reports and totals.rejected. */
ho_err_t ho_delta_contrib(ho_delta_t *d, const ho_report_t *r, int sign);

/* Drop what the caller filled from Redis (stored states, revisions, seen
 * flags) and the results: ready for a re-read after a conflict. */
void ho_fold_forget_stored(ho_fold_t *f);

/* With has_stored/stored/stored_rev and ids[].seen filled, compute n_new,
 * changed and new_rev per transfer and add the batch's deltas to d
 * (totals.reports included). A transfer with no new id contributes nothing. */
ho_err_t ho_fold_compute(ho_fold_t *f, ho_delta_t *d);

/* A transfer's current state after compute: latest when changed, else stored
 * (NULL if neither, i.e. not touched). */
const ho_report_t *ho_fold_current(const ho_fold_xfer_t *x);

#endif
