/*
 * replay_fold.h: replay's in-memory fold of a closed window (lib/replay.c).
 * Per transfer it keeps what a rebuild needs and nothing more: the latest
 * report by the read contract's rule (greatest reported_at, ties by the
 * greater report_id bytewise) as its encoded value, to be decoded once when
 * the state is written, and the set of its distinct reports' digests
 * (ho_agg_digest, as the engine keeps them in {P}:transfer_ids). A report
 * whose digest the transfer already holds is a duplicate and changes
 * nothing, as in the engine. No I/O; every byte it holds is counted
 * (ho_rfold_bytes), so the caller can bound it.
 */
#ifndef HO_REPLAY_FOLD_H
#define HO_REPLAY_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover/buf.h"
#include "handover/err.h"
#include "handover/report.h"

typedef struct ho_rfold_s ho_rfold_t;

/* A transfer as folded; pointers valid until the next add or clear. */
typedef struct ho_rfold_xfer_s {
        const char *transfer_id;
        const char *report_id; /* the latest report's id */
        int64_t reported_at;   /* the latest report's reported_at */
        const void *value;     /* the latest report's encoded value */
        size_t value_len;
        size_t n_ids; /* distinct reports (digests) */
} ho_rfold_xfer_t;

/* NULL on out of memory. Free with ho_rfold_destroy. */
ho_rfold_t *ho_rfold_new(void);
void ho_rfold_destroy(ho_rfold_t *f);
/* Forget every transfer and give the memory back. */
void ho_rfold_clear(ho_rfold_t *f);

/* Which of k buckets (a power of two, >= 1) a transfer id falls in. */
uint32_t ho_rfold_bucket(const char *transfer_id, uint32_t k);
/* The same for an id of len bytes (not NUL-terminated, e.g. a message key). */
uint32_t ho_rfold_bucket_n(const char *transfer_id, size_t len, uint32_t k);

/* Fold report r, whose encoded value is value[0..len). *dup is set when the
 * transfer already holds the report's digest (nothing changes then).
 * HO_ERR_INVALID for an empty id, HO_ERR_NOMEM (the fold is unchanged). */
ho_err_t ho_rfold_add(ho_rfold_t *f, const ho_report_t *r, const void *value, size_t len,
                      bool *dup);

size_t ho_rfold_count(const ho_rfold_t *f);     /* transfers */
uint64_t ho_rfold_reports(const ho_rfold_t *f); /* distinct reports */
/* Bytes of memory the fold holds (allocations and their slack). */
size_t ho_rfold_bytes(const ho_rfold_t *f);

/* Transfer i (0 <= i < count), in the order first folded. */
void ho_rfold_get(const ho_rfold_t *f, size_t i, ho_rfold_xfer_t *out);
/* Append transfer i's digests to out, 8 bytes each, little-endian, in no
 * particular order: its {P}:transfer_ids value. HO_ERR_NOMEM. */
ho_err_t ho_rfold_digests(const ho_rfold_t *f, size_t i, ho_buf_t *out);

#endif
