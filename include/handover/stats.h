/*
 * stats.h: reading a prefix's live counters out of Redis (the read contract of
 * docs/aggregate.md), for handover-stats and handover-replay --dry-run.
 *
 * A snapshot is one jansson object read in ONE MULTI/EXEC, so every number in
 * it is from the same instant (the engine applies each batch atomically, so a
 * snapshot never shows half a batch). Its members, in this order:
 *   totals                    object: transfers, inmates, reports, aircraft, persons,
 *                             rejected (integers), first_transfer_on, last_transfer_on
 *                             ("YYYY-MM-DD" or null), updated_at (ms, integer or null)
 *   inmates_by_month          object "YYYY-MM" -> integer, keys sorted
 *   inmates_by_route          object "MX-US" -> integer, keys sorted
 *   transfers_by_destination  object city -> integer, keys sorted
 *   inmates_by_destination    object city -> integer, keys sorted
 *   persons_by_affiliation    object affiliation -> integer, keys sorted
 *   largest_transfers         array of {transfer_id, inmates}, inmates descending
 *   offsets                   object "topic:partition" -> next offset (integer)
 *
 * The audit (reconciliation): for every transfer whose CURRENT state claims a
 * cumulative_total, the claim must equal the sum of the current inmate counts
 * of every transfer on the same route (origin-destination) whose occurred_on
 * is on or before the claiming transfer's occurred_on (itself included).
 */
#ifndef HO_STATS_H
#define HO_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include "handover/err.h"

/* handover-stats --audit exits with this when a claim disagrees. */
#define HO_STATS_EXIT_AUDIT 3

/* Read one consistent snapshot of the keys "{prefix}:" ns NAME (ns "" for live,
 * "staging:" for a replay's build). top bounds largest_transfers (0: all).
 * HO_ERR_NOT_FOUND (with a message naming the prefix) when the prefix holds
 * neither totals nor offsets; HO_ERR_REDIS when Redis fails. On HO_OK *out is
 * a new reference the caller json_decref()s. */
ho_err_t ho_stats_snapshot(redisContext *c, const char *prefix, const char *ns, size_t top,
                           json_t **out, char *errstr, size_t errstr_size);

/* Lag of the stored offsets behind topic's high watermarks: queries every
 * partition's watermarks through rk (any handle type). *out (new reference):
 * {"topic": T, "total": N, "partitions": [{"partition", "high", "next", "lag"}]}
 * where next is the stored next offset (the low watermark when none is
 * stored) and lag = high - next (never negative). offsets is the snapshot's
 * "offsets" member. */
ho_err_t ho_stats_lag(rd_kafka_t *rk, const char *topic, const json_t *offsets, int timeout_ms,
                      json_t **out, char *errstr, size_t errstr_size);

/* The compact human table of a snapshot (lag may be NULL), now_ms for ages.
 * top bounds the rows of the long lists. */
void ho_stats_print_table(FILE *fp, const char *prefix, const json_t *snap, const json_t *lag,
                          int64_t now_ms, size_t top);

/* The audit: feed it every current state, then finish and read the result. */
typedef struct ho_stats_audit_s ho_stats_audit_t;

ho_stats_audit_t *ho_stats_audit_new(void);
void ho_stats_audit_destroy(ho_stats_audit_t *a);
/* One transfer's current state, the JSON text stored in {P}:transfers, read
 * by the engine's reader with its rules (ho_report_state_from_json): a state
 * the engine would refuse is its error (HO_ERR_JSON or HO_ERR_INVALID, errstr
 * says why) and the audit is unchanged then. The same transfer_id added twice
 * keeps the last. */
ho_err_t ho_stats_audit_add(ho_stats_audit_t *a, const char *transfer_id, const char *state,
                            size_t len, char *errstr, size_t errstr_size);
/* Sort and sum. Call once, after the last add. */
ho_err_t ho_stats_audit_finish(ho_stats_audit_t *a);
/* HSCAN "{prefix}:" ns "transfers" (COUNT 500 per step) into a new audit and
 * finish it. Caller destroys *out. */
ho_err_t ho_stats_audit_scan(redisContext *c, const char *prefix, const char *ns,
                             ho_stats_audit_t **out, char *errstr, size_t errstr_size);
size_t ho_stats_audit_claims(const ho_stats_audit_t *a);
size_t ho_stats_audit_disagree(const ho_stats_audit_t *a);
/* Every claim, one line each, grouped by route, in date order:
 * "  2026-01-20 mx-us-2026-01-20 claims 92: 29 + 26 + 37 = 92 ✓" */
void ho_stats_audit_print(FILE *fp, const ho_stats_audit_t *a);
/* {"claims": N, "agree": N, "disagree": N, "disagreements": [{transfer_id,
 * route, occurred_on, claimed, computed, transfers}]} (new reference). */
json_t *ho_stats_audit_json(const ho_stats_audit_t *a);

/* One transfer's current state, parsed (new reference). HO_ERR_NOT_FOUND when
 * the prefix has no such transfer. */
ho_err_t ho_stats_transfer(redisContext *c, const char *prefix, const char *transfer_id,
                           json_t **out, char *errstr, size_t errstr_size);

#endif
