/*
 * keys.h: the Redis key layout of one prefix, the one place that names it
 * (the read contract is docs/aggregate.md, "The read contract").
 *
 * Every key of prefix P is "{P}:" NS NAME: the braces are a Redis Cluster
 * hash tag, so one prefix is one slot and one atomic step can touch all of
 * it. NS is HO_KEY_NS_LIVE ("") for the live counters and
 * HO_KEY_NS_STAGING ("staging:") for a replay's build.
 *
 * The engine (agg), replay and stats ask this module for names, types and
 * field names; none of them spells a key itself.
 */
#ifndef HO_KEYS_H
#define HO_KEYS_H

#include <stddef.h>
#include "handover/err.h"

#define HO_KEY_NS_LIVE ""
#define HO_KEY_NS_STAGING "staging:"

/* The data keys, in this order everywhere (and in the counters script's
 * KEYS). HO_KEY_BREAKDOWN_FIRST..LAST are the five breakdown hashes of the
 * read contract, in the order of handover-stats' output. */
typedef enum {
        HO_KEY_TOTALS,
        HO_KEY_INMATES_BY_MONTH,
        HO_KEY_INMATES_BY_ROUTE,
        HO_KEY_TRANSFERS_BY_DEST,
        HO_KEY_INMATES_BY_DEST,
        HO_KEY_PERSONS_BY_AFFIL,
        HO_KEY_LARGEST,
        HO_KEY_TRANSFERS,
        HO_KEY_OFFSETS,
        HO_KEY_TRANSFER_IDS,
        HO_KEY_BY_DATE,
        HO_KEY_DATES,
        HO_KEY__COUNT
} ho_key_t;
#define HO_KEY_BREAKDOWN_FIRST HO_KEY_INMATES_BY_MONTH
#define HO_KEY_BREAKDOWN_LAST HO_KEY_PERSONS_BY_AFFIL

/* Names after "{P}:" NS, indexed by ho_key_t, NULL-terminated. Every data key
 * the engine writes, internal bookkeeping (transfer_ids, transfers_by_date,
 * transfer_dates) and offsets included, so replay can build and promote a
 * complete set. */
extern const char *const ho_key_names[HO_KEY__COUNT + 1];

/* "hash" or "zset": the type the key must have when it exists. */
const char *ho_key_type(ho_key_t k);

/* Keys that are not data: the engine's pub/sub channel, the partition count
 * the homes are computed with, the per-partition fences ("fence:" then the
 * partition number) and replay's lock (under HO_KEY_NS_STAGING). */
#define HO_KEY_CHANNEL "updates"
#define HO_KEY_LAYOUT "layout"
#define HO_KEY_FENCE "fence:"
#define HO_KEY_LOCK "lock"

/* Internal keys of earlier versions (NULL-terminated): a prefix that still
 * has one was written by an engine before transfer_ids and is rebuilt by
 * one replay, whose switch deletes them. */
extern const char *const ho_key_legacy_names[];

/* The counters of the totals hash, kept as deltas, in this order. */
typedef enum {
        HO_TOTAL_TRANSFERS,
        HO_TOTAL_INMATES,
        HO_TOTAL_REPORTS,
        HO_TOTAL_AIRCRAFT,
        HO_TOTAL_PERSONS,
        HO_TOTAL_REJECTED,
        HO_TOTAL__COUNT
} ho_total_t;
extern const char *const ho_key_total_names[HO_TOTAL__COUNT + 1];

/* The totals hash's other fields: dates ("YYYY-MM-DD", "" when no transfer
 * is left) and the wall clock of the last applied batch (ms). */
#define HO_TOTAL_FIRST_ON "first_transfer_on"
#define HO_TOTAL_LAST_ON "last_transfer_on"
#define HO_TOTAL_UPDATED_AT "updated_at"

/* Whether s may be a prefix or a namespace: no '{' or '}' (they would move
 * the hash tag). A prefix must also be non-empty. */
int ho_key_name_ok(const char *s);

/* Write "{prefix}:" ns name into out. HO_ERR_USAGE (and out holds "") when
 * it does not fit; ns NULL means HO_KEY_NS_LIVE. */
ho_err_t ho_key_format(char *out, size_t out_size, const char *prefix, const char *ns,
                       const char *name);

/* The same, allocated (the caller frees); NULL when out of memory. */
char *ho_key_new(const char *prefix, const char *ns, const char *name);

#endif
