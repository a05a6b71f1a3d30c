/*
 * tset.h: a set of transfer ids (64-bit hashes) to count distinct transfers
 * in bounded memory (handover-produce's summary line).
 *
 * Exact up to collisions of a 64-bit hash (about n^2 / 2^65: 3e-8 for a
 * million ids); 16 bytes of memory per distinct id at worst. Beyond
 * HO_TSET_MAX distinct ids it stops growing and the count becomes a lower
 * bound (ho_tset_exact() false).
 *
 * Dependencies: none.
 */
#ifndef HO_TSET_H
#define HO_TSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ho_tset_s ho_tset_t;

#define HO_TSET_MAX (4u << 20)
/* NULL when out of memory. */
ho_tset_t *ho_tset_new(void);
void ho_tset_destroy(ho_tset_t *ts);
/* true when id was new. */
bool ho_tset_add(ho_tset_t *ts, const void *id, size_t len);
uint64_t ho_tset_count(const ho_tset_t *ts);
bool ho_tset_exact(const ho_tset_t *ts);

#endif
