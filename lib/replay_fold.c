/* replay_fold.c: replay's in-memory fold of a window (see replay_fold.h). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "handover/agg_fold.h"
#include "handover/replay_fold.h"

/* One transfer. Its digests are an open-addressing set (ids, ids_cap slots,
 * a power of two, at most 3/4 full; 0 marks an empty slot, so a digest that
 * is 0 is kept as the flag has_zero instead). latest is one allocation:
 * the report id, a NUL, then the encoded value. */
typedef struct ho_rx_s {
        uint64_t h;     /* hash of the transfer id */
        size_t tid_off; /* in the arena, NUL-terminated */
        uint64_t *ids;
        uint32_t ids_cap, n_ids;
        bool has_zero;
        int64_t reported_at;
        char *latest;
        size_t rid_len, value_len;
} ho_rx_t;

struct ho_rfold_s {
        ho_rx_t *xs;
        size_t n, cap;
        uint32_t *slots; /* 1 + index into xs; 0: empty */
        size_t slots_cap;
        ho_buf_t arena; /* transfer ids */
        uint64_t reports;
        size_t heap; /* bytes in per-transfer allocations */
};

/* What malloc gives a block of n bytes, its header included. */
static size_t block_size(const void *p) {
        return p ? malloc_usable_size((void *)p) + sizeof(size_t) : 0;
}

ho_rfold_t *ho_rfold_new(void) {
        ho_rfold_t *f = calloc(1, sizeof(*f));
        if (!f)
                return NULL;
        ho_buf_init(&f->arena);
        return f;
}

void ho_rfold_clear(ho_rfold_t *f) {
        for (size_t i = 0; i < f->n; i++) {
                free(f->xs[i].ids);
                free(f->xs[i].latest);
        }
        free(f->xs);
        free(f->slots);
        f->xs = NULL;
        f->slots = NULL;
        f->n = f->cap = f->slots_cap = 0;
        ho_buf_free(&f->arena);
        f->reports = 0;
        f->heap = 0;
}

void ho_rfold_destroy(ho_rfold_t *f) {
        if (!f)
                return;
        ho_rfold_clear(f);
        free(f);
}

static uint64_t tid_hash(const char *tid, size_t len) {
        return ho_agg_digest(tid, len);
}

uint32_t ho_rfold_bucket_n(const char *transfer_id, size_t len, uint32_t k) {
        /* the high half: the low bits place the transfer in the fold's table */
        return (uint32_t)(tid_hash(transfer_id, len) >> 32) & (k - 1);
}

uint32_t ho_rfold_bucket(const char *transfer_id, uint32_t k) {
        return ho_rfold_bucket_n(transfer_id, strlen(transfer_id), k);
}

size_t ho_rfold_count(const ho_rfold_t *f) {
        return f->n;
}

uint64_t ho_rfold_reports(const ho_rfold_t *f) {
        return f->reports;
}

size_t ho_rfold_bytes(const ho_rfold_t *f) {
        return sizeof(*f) + f->cap * sizeof(*f->xs) + f->slots_cap * sizeof(*f->slots) +
               f->arena.cap + f->heap;
}

static const char *rx_tid(const ho_rfold_t *f, const ho_rx_t *x) {
        return f->arena.data + x->tid_off;
}

/* The slot of tid (hash h): its transfer's, or the empty one it would take. */
static size_t rfold_slot(const ho_rfold_t *f, const uint32_t *slots, size_t cap, uint64_t h,
                         const char *tid) {
        size_t i = (size_t)h & (cap - 1);
        while (slots[i]) {
                const ho_rx_t *x = &f->xs[slots[i] - 1];
                if (x->h == h && (!tid || !strcmp(rx_tid(f, x), tid)))
                        break;
                i = (i + 1) & (cap - 1);
        }
        return i;
}

static ho_err_t rfold_grow_table(ho_rfold_t *f) {
        size_t cap = f->slots_cap ? f->slots_cap * 2 : 128;
        uint32_t *slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return HO_ERR_NOMEM;
        for (size_t i = 0; i < f->slots_cap; i++)
                if (f->slots[i]) {
                        /* distinct transfers: only an empty slot can stop the probe */
                        size_t j = (size_t)f->xs[f->slots[i] - 1].h & (cap - 1);
                        while (slots[j])
                                j = (j + 1) & (cap - 1);
                        slots[j] = f->slots[i];
                }
        free(f->slots);
        f->slots = slots;
        f->slots_cap = cap;
        return HO_OK;
}

/* The slot of digest d in x's set (d != 0): where it is, or the empty one. */
static size_t ids_slot(const uint64_t *ids, uint32_t cap, uint64_t d) {
        size_t i = (size_t)(d ^ (d >> 29)) & (cap - 1);
        while (ids[i] && ids[i] != d)
                i = (i + 1) & (cap - 1);
        return i;
}

static ho_err_t ids_grow(ho_rfold_t *f, ho_rx_t *x) {
        uint32_t cap = x->ids_cap ? x->ids_cap * 2 : 4;
        uint64_t *ids = calloc(cap, sizeof(*ids));
        if (!ids)
                return HO_ERR_NOMEM;
        for (uint32_t i = 0; i < x->ids_cap; i++)
                if (x->ids[i])
                        ids[ids_slot(ids, cap, x->ids[i])] = x->ids[i];
        f->heap -= block_size(x->ids);
        free(x->ids);
        x->ids = ids;
        x->ids_cap = cap;
        f->heap += block_size(ids);
        return HO_OK;
}

/* Whether a is later than the latest of x (the read contract's rule, as
 * ho_report_cmp_latest). */
static bool rx_beaten(const ho_rx_t *x, const ho_report_t *a) {
        if (a->reported_at != x->reported_at)
                return a->reported_at > x->reported_at;
        return strcmp(a->report_id, x->latest) > 0;
}

ho_err_t ho_rfold_add(ho_rfold_t *f, const ho_report_t *r, const void *value, size_t len,
                      bool *dup) {
        *dup = false;
        if (!r->transfer_id || !*r->transfer_id || !r->report_id || !*r->report_id)
                return HO_ERR_INVALID;
        size_t tlen = strlen(r->transfer_id), rlen = strlen(r->report_id);
        uint64_t h = tid_hash(r->transfer_id, tlen);
        uint64_t d = ho_agg_digest(r->report_id, rlen);

        /* room first, so that a failure leaves the fold as it was */
        if ((f->n + 1) * 2 > f->slots_cap && rfold_grow_table(f))
                return HO_ERR_NOMEM;
        size_t s = rfold_slot(f, f->slots, f->slots_cap, h, r->transfer_id);
        ho_rx_t *x;
        if (f->slots[s]) {
                x = &f->xs[f->slots[s] - 1];
                if (d ? x->ids[ids_slot(x->ids, x->ids_cap, d)] == d : x->has_zero) {
                        *dup = true;
                        return HO_OK;
                }
        } else {
                if (f->n == f->cap) {
                        size_t cap = f->cap ? f->cap * 2 : 64;
                        ho_rx_t *xs = realloc(f->xs, cap * sizeof(*xs));
                        if (!xs)
                                return HO_ERR_NOMEM;
                        f->xs = xs;
                        f->cap = cap;
                }
                size_t off = f->arena.len;
                if (ho_buf_append(&f->arena, r->transfer_id, tlen + 1))
                        return HO_ERR_NOMEM;
                x = &f->xs[f->n];
                memset(x, 0, sizeof(*x));
                x->h = h;
                x->tid_off = off;
                if (ids_grow(f, x)) {
                        f->arena.len = off;
                        return HO_ERR_NOMEM;
                }
        }
        bool fresh = !f->slots[s];
        if (d && (x->n_ids + 1) * 4 > (uint64_t)x->ids_cap * 3 && ids_grow(f, x))
                goto nomem;
        if (fresh || rx_beaten(x, r)) {
                size_t need = rlen + 1 + len;
                if (!x->latest || block_size(x->latest) - sizeof(size_t) < need) {
                        char *p = malloc(need);
                        if (!p)
                                goto nomem;
                        f->heap -= block_size(x->latest);
                        free(x->latest);
                        x->latest = p;
                        f->heap += block_size(p);
                }
                memcpy(x->latest, r->report_id, rlen + 1);
                memcpy(x->latest + rlen + 1, value, len);
                x->rid_len = rlen;
                x->value_len = len;
                x->reported_at = r->reported_at;
        }
        if (d)
                x->ids[ids_slot(x->ids, x->ids_cap, d)] = d;
        else
                x->has_zero = true;
        x->n_ids++;
        f->reports++;
        if (fresh) {
                f->slots[s] = (uint32_t)(f->n + 1);
                f->n++;
        }
        return HO_OK;
nomem:
        if (fresh) {
                /* not yet in the table: drop the half-made entry */
                f->heap -= block_size(x->ids) + block_size(x->latest);
                free(x->ids);
                free(x->latest);
                f->arena.len = x->tid_off;
        }
        return HO_ERR_NOMEM;
}

void ho_rfold_get(const ho_rfold_t *f, size_t i, ho_rfold_xfer_t *out) {
        const ho_rx_t *x = &f->xs[i];
        out->transfer_id = rx_tid(f, x);
        out->report_id = x->latest;
        out->reported_at = x->reported_at;
        out->value = x->latest + x->rid_len + 1;
        out->value_len = x->value_len;
        out->n_ids = x->n_ids;
}

ho_err_t ho_rfold_digests(const ho_rfold_t *f, size_t i, ho_buf_t *out) {
        const ho_rx_t *x = &f->xs[i];
        if (ho_buf_reserve(out, (size_t)x->n_ids * 8))
                return HO_ERR_NOMEM;
        char *p = out->data + out->len;
        if (x->has_zero) {
                ho_agg_digest_put(p, 0);
                p += 8;
        }
        for (uint32_t j = 0; j < x->ids_cap; j++)
                if (x->ids[j]) {
                        ho_agg_digest_put(p, x->ids[j]);
                        p += 8;
                }
        out->len += (size_t)x->n_ids * 8;
        out->data[out->len] = '\0';
        return HO_OK;
}
