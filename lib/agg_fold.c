/* agg_fold.c: folding a batch and computing its counter deltas, no I/O (see agg_fold.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zlib.h>
#include "handover/agg.h"
#include "handover/agg_fold.h"

/* ---- string map ---- */

static uint64_t hash(const char *s, size_t len) {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ULL;
        }
        return h;
}

void ho_strmap_init(ho_strmap_t *m) {
        memset(m, 0, sizeof(*m));
        ho_buf_init(&m->arena);
}

/* What a cleared map or fold keeps: its tables are reused with no allocation
 * once warm, but only up to a few times what they just held. A worker owns
 * two folds per partition; kept at the largest batch each ever held, they
 * would grow with the history (24 partitions, 1M reports: 52 MB live when
 * idle). Giving back the excess bounds them by the batches actually open. */
#define HO_KEEP_MIN_ENTRIES 256
#define HO_KEEP_MIN_BYTES (64 * 1024)

static bool keep_over(size_t have, size_t used, size_t floor) {
        return have > floor && have > 4 * used;
}

void ho_strmap_clear(ho_strmap_t *m) {
        /* the table runs at most 3/4 full, so 8 x n is twice the size n needs */
        if (m->cap > HO_KEEP_MIN_ENTRIES && m->cap > 8 * m->n) {
                free(m->slots);
                free(m->vals);
                m->slots = NULL;
                m->vals = NULL;
                m->cap = 0;
        } else if (m->n) {
                memset(m->slots, 0, m->cap * sizeof(*m->slots));
        }
        m->n = 0;
        if (keep_over(m->arena.cap, m->arena.len, HO_KEEP_MIN_BYTES))
                ho_buf_free(&m->arena);
        else
                ho_buf_reset(&m->arena);
}

void ho_strmap_free(ho_strmap_t *m) {
        free(m->slots);
        free(m->vals);
        ho_buf_free(&m->arena);
        ho_strmap_init(m);
}

static size_t strmap_find(const size_t *slots, size_t cap, const char *arena, const char *key,
                          size_t len) {
        size_t i = (size_t)hash(key, len) & (cap - 1);
        while (slots[i]) {
                const char *k = arena + slots[i] - 1;
                if (!strncmp(k, key, len) && k[len] == '\0')
                        break;
                i = (i + 1) & (cap - 1);
        }
        return i;
}

static int strmap_grow(ho_strmap_t *m) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        size_t *slots = calloc(cap, sizeof(*slots));
        int64_t *vals = calloc(cap, sizeof(*vals));
        if (!slots || !vals) {
                free(slots);
                free(vals);
                return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
                if (!m->slots[i])
                        continue;
                const char *k = m->arena.data + m->slots[i] - 1;
                size_t j = strmap_find(slots, cap, m->arena.data, k, strlen(k));
                slots[j] = m->slots[i];
                vals[j] = m->vals[i];
        }
        free(m->slots);
        free(m->vals);
        m->slots = slots;
        m->vals = vals;
        m->cap = cap;
        return 0;
}

int64_t *ho_strmap_get(const ho_strmap_t *m, const char *key, size_t len) {
        if (!m->n)
                return NULL;
        size_t i = strmap_find(m->slots, m->cap, m->arena.data, key, len);
        return m->slots[i] ? &m->vals[i] : NULL;
}

int64_t *ho_strmap_upsert(ho_strmap_t *m, const char *key, size_t len, bool *created,
                          size_t *key_off) {
        if (created)
                *created = false;
        if ((m->n + 1) * 4 > m->cap * 3 && strmap_grow(m))
                return NULL;
        size_t i = strmap_find(m->slots, m->cap, m->arena.data, key, len);
        if (!m->slots[i]) {
                size_t off = m->arena.len;
                /* key may point into the arena itself (never in our use, but
                 * an append could move it): reserve first, then copy */
                if (ho_buf_reserve(&m->arena, len + 1))
                        return NULL;
                memcpy(m->arena.data + off, key, len);
                m->arena.data[off + len] = '\0';
                m->arena.len = off + len + 1;
                m->slots[i] = off + 1;
                m->vals[i] = 0;
                m->n++;
                if (created)
                        *created = true;
        }
        if (key_off)
                *key_off = m->slots[i] - 1;
        return &m->vals[i];
}

/* ---- sorted set order ---- */

static int zmember_cmp(const void *a, const void *b) {
        const ho_zmember_t *x = a, *y = b;
        if (x->score != y->score)
                return x->score < y->score ? -1 : 1;
        size_t n = x->len < y->len ? x->len : y->len;
        int c = memcmp(x->member, y->member, n);
        if (c)
                return c;
        return x->len < y->len ? -1 : x->len > y->len;
}

void ho_zmember_sort(ho_zmember_t *m, size_t n) {
        if (n > 1)
                qsort(m, n, sizeof(*m), zmember_cmp);
}

/* ---- fold ---- */

void ho_fold_init(ho_fold_t *f) {
        memset(f, 0, sizeof(*f));
        ho_strmap_init(&f->by_tid);
        ho_strmap_init(&f->by_member);
        ho_buf_init(&f->scratch);
}

void ho_fold_forget_stored(ho_fold_t *f) {
        for (size_t i = 0; i < f->n_xfers; i++) {
                ho_fold_xfer_t *x = &f->xfers[i];
                ho_report_clear(&x->stored);
                x->has_stored = false;
                x->stored_rev = 0;
                x->n_new = 0;
                x->changed = false;
                x->new_rev = 0;
        }
        for (size_t i = 0; i < f->n_ids; i++)
                f->ids[i].seen = false;
}

/* arr (of *cap elements of size sz) shrunk to twice used, at least
 * HO_KEEP_MIN_ENTRIES, when it is far larger; arr as it was otherwise (a
 * failed shrink keeps the larger array). */
static void *keep_array(void *arr, size_t *cap, size_t used, size_t sz) {
        if (!keep_over(*cap, used, HO_KEEP_MIN_ENTRIES))
                return arr;
        size_t keep = 2 * used > HO_KEEP_MIN_ENTRIES ? 2 * used : HO_KEEP_MIN_ENTRIES;
        void *p = realloc(arr, keep * sz);
        if (!p)
                return arr;
        *cap = keep;
        return p;
}

/* Give back array capacity far over what the batch just cleared used (see
 * HO_KEEP_MIN_ENTRIES). Entries past n_xfers are initialised and empty. */
static void fold_trim(ho_fold_t *f, size_t used_xfers, size_t used_ids) {
        f->xfers = keep_array(f->xfers, &f->cap_xfers, used_xfers, sizeof(*f->xfers));
        if (f->init_xfers > f->cap_xfers)
                f->init_xfers = f->cap_xfers;
        f->ids = keep_array(f->ids, &f->cap_ids, used_ids, sizeof(*f->ids));
        if (keep_over(f->scratch.cap, f->scratch.len, HO_KEEP_MIN_BYTES))
                ho_buf_free(&f->scratch);
}

void ho_fold_clear(ho_fold_t *f) {
        size_t used_xfers = f->n_xfers, used_ids = f->n_ids;
        ho_fold_forget_stored(f);
        for (size_t i = 0; i < f->n_xfers; i++) {
                ho_report_clear(&f->xfers[i].latest);
                f->xfers[i].n_ids = 0;
        }
        f->n_xfers = f->n_ids = 0;
        f->dup_in_batch = 0;
        ho_strmap_clear(&f->by_tid);
        ho_strmap_clear(&f->by_member);
        fold_trim(f, used_xfers, used_ids);
}

void ho_fold_free(ho_fold_t *f) {
        ho_fold_clear(f);
        free(f->xfers);
        free(f->ids);
        ho_strmap_free(&f->by_tid);
        ho_strmap_free(&f->by_member);
        ho_buf_free(&f->scratch);
        ho_fold_init(f);
}

/* ids become Redis set members "tid rid": a space or control byte inside an
 * id would make the member ambiguous. */
static bool id_ok(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if ((unsigned char)*s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

/* r becomes x's latest: copied, or (steal) swapped in, the old latest
 * freed and r left cleared: a decoded report is moved rather than copied
 * and freed (a copy and a clear would be ~14% of a worker's CPU). */
static ho_err_t fold_take(ho_report_t *latest, ho_report_t *r, bool steal) {
        if (!steal)
                return ho_report_copy(latest, r);
        ho_report_t old = *latest;
        *latest = *r;
        *r = old;
        ho_report_clear(r);
        return HO_OK;
}

static ho_err_t fold_add0(ho_fold_t *f, ho_report_t *r, bool *dup, bool steal) {
        *dup = false;
        if (!id_ok(r->transfer_id) || !id_ok(r->report_id))
                return HO_ERR_INVALID;
        size_t tlen = strlen(r->transfer_id), rlen = strlen(r->report_id);
        ho_buf_t *m = &f->scratch;
        ho_buf_reset(m);
        if (ho_buf_append(m, r->transfer_id, tlen) || ho_buf_append(m, " ", 1) ||
            ho_buf_append(m, r->report_id, rlen))
                return HO_ERR_NOMEM;
        /* room first, so a failure leaves the fold as it was */
        if (f->n_ids == f->cap_ids) {
                size_t cap = f->cap_ids ? f->cap_ids * 2 : 64;
                ho_fold_id_t *ids = realloc(f->ids, cap * sizeof(*ids));
                if (!ids)
                        return HO_ERR_NOMEM;
                f->ids = ids;
                f->cap_ids = cap;
        }
        if (f->n_xfers == f->cap_xfers) {
                size_t cap = f->cap_xfers ? f->cap_xfers * 2 : 64;
                ho_fold_xfer_t *xs = realloc(f->xfers, cap * sizeof(*xs));
                if (!xs)
                        return HO_ERR_NOMEM;
                f->xfers = xs;
                f->cap_xfers = cap;
        }
        if (f->n_xfers == f->init_xfers) {
                ho_fold_xfer_t *nx = &f->xfers[f->init_xfers++];
                memset(nx, 0, sizeof(*nx));
                ho_report_init(&nx->latest);
                ho_report_init(&nx->stored);
        }
        /* one probe per map: an upsert that finds the key is the lookup. Out
         * of memory from here on is fatal (see ho_agg_batch_add): the fold may
         * hold a half-made entry and must only be cleared or freed then */
        bool created;
        size_t moff;
        int64_t *mi = ho_strmap_upsert(&f->by_member, m->data, m->len, &created, &moff);
        if (!mi)
                return HO_ERR_NOMEM;
        if (!created) {
                *dup = true;
                f->dup_in_batch++;
                return HO_OK;
        }
        *mi = (int64_t)f->n_ids;
        ho_fold_xfer_t *x;
        int64_t *xi = ho_strmap_upsert(&f->by_tid, r->transfer_id, tlen, &created, NULL);
        if (!xi)
                return HO_ERR_NOMEM;
        bool take;
        if (created) {
                x = &f->xfers[f->n_xfers];
                x->n_ids = 0;
                *xi = (int64_t)f->n_xfers++;
                take = true;
        } else {
                x = &f->xfers[*xi];
                take = ho_report_cmp_latest(r, &x->latest) > 0;
        }
        size_t xidx = (size_t)*xi;
        f->ids[f->n_ids++] =
                (ho_fold_id_t){.moff = moff, .len = m->len, .xfer = xidx, .seen = false};
        x->n_ids++;
        /* last: r (and so r->transfer_id) may be emptied by a steal */
        if (take && fold_take(&x->latest, r, steal))
                return HO_ERR_NOMEM;
        return HO_OK;
}

ho_err_t ho_fold_add(ho_fold_t *f, const ho_report_t *r, bool *dup) {
        return fold_add0(f, (ho_report_t *)r, dup, false);
}

ho_err_t ho_fold_add_move(ho_fold_t *f, ho_report_t *r, bool *dup) {
        return fold_add0(f, r, dup, true);
}

/* ---- deltas ---- */

void ho_delta_init(ho_delta_t *d) {
        memset(d->totals, 0, sizeof(d->totals));
        ho_strmap_init(&d->fields);
        ho_strmap_init(&d->dates);
}

void ho_delta_clear(ho_delta_t *d) {
        memset(d->totals, 0, sizeof(d->totals));
        ho_strmap_clear(&d->fields);
        ho_strmap_clear(&d->dates);
}

void ho_delta_free(ho_delta_t *d) {
        ho_strmap_free(&d->fields);
        ho_strmap_free(&d->dates);
        ho_delta_init(d);
}

static ho_err_t delta_field(ho_delta_t *d, int key, const char *field, int64_t v) {
        char stack[HO_STR_MAX + 64];
        size_t flen = strlen(field);
        char *k = flen + 2 <= sizeof(stack) ? stack : malloc(flen + 2);
        if (!k)
                return HO_ERR_NOMEM;
        k[0] = (char)('A' + key);
        memcpy(k + 1, field, flen + 1);
        int64_t *p = ho_strmap_upsert(&d->fields, k, flen + 1, NULL, NULL);
        if (k != stack)
                free(k);
        if (!p)
                return HO_ERR_NOMEM;
        *p += v;
        return HO_OK;
}

ho_err_t ho_delta_contrib(ho_delta_t *d, const ho_report_t *r, int sign) {
        int64_t s = sign < 0 ? -1 : 1;
        int64_t inmates = r->inmate_count;
        char date[11], month[8], route[8];
        ho_err_t err;

        d->totals[HO_TOTAL_TRANSFERS] += s;
        d->totals[HO_TOTAL_INMATES] += s * inmates;
        d->totals[HO_TOTAL_AIRCRAFT] += s * (r->has_aircraft_count ? r->aircraft_count : 0);
        d->totals[HO_TOTAL_PERSONS] += s * (int64_t)r->n_persons;

        ho_date_format(r->occurred_on, date);
        memcpy(month, date, 7);
        month[7] = '\0';
        snprintf(route, sizeof(route), "%s-%s", r->origin_country, r->destination_country);
        if ((err = delta_field(d, HO_KEY_INMATES_BY_MONTH, month, s * inmates)) ||
            (err = delta_field(d, HO_KEY_INMATES_BY_ROUTE, route, s * inmates)))
                return err;
        for (size_t i = 0; i < r->n_destinations; i++) {
                bool again = false; /* a city listed twice counts once per transfer */
                for (size_t j = 0; j < i && !again; j++)
                        again = !strcmp(r->destinations[i], r->destinations[j]);
                if (!again &&
                    (err = delta_field(d, HO_KEY_TRANSFERS_BY_DEST, r->destinations[i], s)))
                        return err;
        }
        for (size_t i = 0; i < r->n_by_destination; i++)
                if ((err = delta_field(d, HO_KEY_INMATES_BY_DEST, r->by_destination[i].city,
                                       s * r->by_destination[i].count)))
                        return err;
        for (size_t i = 0; i < r->n_persons; i++) {
                const char *a = r->persons[i].affiliation;
                if ((err = delta_field(d, HO_KEY_PERSONS_BY_AFFIL, a ? a : "unknown", s)))
                        return err;
        }
        int64_t *p = ho_strmap_upsert(&d->dates, date, 10, NULL, NULL);
        if (!p)
                return HO_ERR_NOMEM;
        *p += s;
        return HO_OK;
}

ho_err_t ho_fold_compute(ho_fold_t *f, ho_delta_t *d) {
        for (size_t i = 0; i < f->n_xfers; i++) {
                f->xfers[i].n_new = 0;
                f->xfers[i].changed = false;
        }
        for (size_t i = 0; i < f->n_ids; i++)
                if (!f->ids[i].seen)
                        f->xfers[f->ids[i].xfer].n_new++;
        for (size_t i = 0; i < f->n_xfers; i++) {
                ho_fold_xfer_t *x = &f->xfers[i];
                ho_err_t err;
                x->new_rev = x->stored_rev + (int64_t)x->n_new;
                if (!x->n_new)
                        continue; /* only duplicates: nothing about it changes */
                d->totals[HO_TOTAL_REPORTS] += (int64_t)x->n_new;
                /* An id applied before can never beat the stored state (the
                 * stored state is the latest of every applied id), so comparing
                 * the batch's latest, duplicates included, is exact. */
                if (x->has_stored && ho_report_cmp_latest(&x->latest, &x->stored) <= 0)
                        continue;
                x->changed = true;
                if (x->has_stored && (err = ho_delta_contrib(d, &x->stored, -1)))
                        return err;
                if ((err = ho_delta_contrib(d, &x->latest, +1)))
                        return err;
        }
        return HO_OK;
}

const ho_report_t *ho_fold_current(const ho_fold_xfer_t *x) {
        if (x->changed)
                return &x->latest;
        return x->has_stored ? &x->stored : NULL;
}

uint64_t (*ho_agg_test_digest)(const char *report_id, size_t len);

uint64_t ho_agg_digest(const char *report_id, size_t len) {
        if (ho_agg_test_digest)
                return ho_agg_test_digest(report_id, len);
        return (uint64_t)XXH3_64bits(report_id, len);
}

int32_t ho_agg_home(const char *transfer_id, size_t len, int32_t n) {
        if (n <= 1)
                return 0;
        uLong c = crc32(0L, (const Bytef *)transfer_id, (uInt)len);
        return (int32_t)(c % (uLong)n);
}
