#!/usr/bin/env bash
# fault_txn: a topic written by transactional producers. Each transaction ends
# with a commit or abort marker that no consumer sees as a message, so a stored
# offset that only follows the messages stops short of the end for good (lag 1
# per partition, forever). The worker must store the high watermark, past the
# markers, and never count an aborted report (isolation.level=read_committed,
# which -X cannot turn off).
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-topic
kit=$HO_BIN_DIR/../tests/ho_testkit
[ -x "$kit" ] || ho_fail "missing $kit (build first)"

agg_setup 1
sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
sed -n 2,3p "$sample" >"$HO_TMP/t1.jsonl" # committed: offsets 0, 1, marker 2
sed -n 1p "$sample" >"$HO_TMP/t2.jsonl"   # aborted: offset 3, marker 4
sed -n 4,5p "$sample" >"$HO_TMP/t3.jsonl" # committed: offsets 5, 6, marker 7
"$kit" txn "$HANDOVER_BROKERS" "$AGG_TOPIC" commit "$HO_TMP/t1.jsonl" 2>>"$HO_TMP/kit.log" || ho_fail "txn 1: $(cat "$HO_TMP/kit.log")"
"$kit" txn "$HANDOVER_BROKERS" "$AGG_TOPIC" abort "$HO_TMP/t2.jsonl" 2>>"$HO_TMP/kit.log" || ho_fail "txn 2: $(cat "$HO_TMP/kit.log")"
"$kit" txn "$HANDOVER_BROKERS" "$AGG_TOPIC" commit "$HO_TMP/t3.jsonl" 2>>"$HO_TMP/kit.log" || ho_fail "txn 3: $(cat "$HO_TMP/kit.log")"
hi=$(agg_topic_count)
ho_assert_eq 8 "$hi" "high watermark after three transactions (5 reports, 3 markers)"

agg_start w1 --stats-interval 1 -X isolation.level=read_uncommitted; w1=$HO_LAST_PID
stored() { agg_redis HGET "{$AGG_PREFIX}:offsets" "$AGG_TOPIC:0" 2>/dev/null; }
ho_wait_until 30 bash -c "[ \"\$(redis-cli -u '$AGG_REDIS' --no-auth-warning HGET '{$AGG_PREFIX}:offsets' '$AGG_TOPIC:0')\" = $hi ]" \
  || { tail -5 "$HO_TMP/w1.log" >&2; ho_fail "stored offset $(stored), expected the high watermark $hi (past the last commit marker)"; }
ho_wait_until 10 grep -q 'redis errors, lag 0, 1 partitions' "$HO_TMP/w1.log" \
  || ho_fail "the worker's stats line does not show lag 0"
ho_assert_eq 2 "$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)" "totals.transfers (the aborted report must not count)"
ho_assert_eq 63 "$(agg_redis HGET "{$AGG_PREFIX}:totals" inmates)" "totals.inmates"
ho_assert_eq 3 "$(agg_redis HGET "{$AGG_PREFIX}:totals" reports)" "totals.reports (lines 4 and 5 are one report)"

# a later transaction on the same partition: the offset follows it past its marker too
sed -n 1p "$sample" >"$HO_TMP/t4.jsonl"
"$kit" txn "$HANDOVER_BROKERS" "$AGG_TOPIC" commit "$HO_TMP/t4.jsonl" 2>>"$HO_TMP/kit.log" || ho_fail "txn 4"
hi=$(agg_topic_count)
ho_wait_until 30 bash -c "[ \"\$(redis-cli -u '$AGG_REDIS' --no-auth-warning HGET '{$AGG_PREFIX}:offsets' '$AGG_TOPIC:0')\" = $hi ]" \
  || ho_fail "stored offset $(stored) after a fourth transaction, expected $hi"
ho_assert_eq 3 "$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)" "totals.transfers after the fourth transaction"
agg_stop "$w1"
ho_log "ok: stored offset at the high watermark past commit markers; aborted report ignored"
