#!/usr/bin/env bash
# fault_redis_rollback: Redis loses acknowledged writes under a running worker
# (here a FLUSHALL on a private redis-server; a restart without AOF, a failover
# or an older AOF look the same). The next apply is fenced because the stored
# offset went back; the worker must say so (a warning naming both offsets and
# what it does), not log the routine "another worker took over", and rebuild
# the counters exactly by reading the partition again.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

agg_redis_start "$(agg_free_port)" "$HO_TMP/redis"
agg_setup 1
sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
sed -n 1,2p "$sample" >"$HO_TMP/a.jsonl"
sed -n 3p "$sample" >"$HO_TMP/b.jsonl"

agg_start w1; w1=$HO_LAST_PID
agg_produce "$HO_TMP/a.jsonl"
stored_is() { [ "$(agg_redis HGET "{$AGG_PREFIX}:offsets" "$AGG_TOPIC:0" 2>/dev/null)" = "$1" ]; }
ho_wait_until 30 stored_is 2 || ho_fail "the first two reports were not applied"

agg_redis FLUSHALL >/dev/null
ho_log "Redis flushed under the worker"
agg_produce "$HO_TMP/b.jsonl"
ho_wait_until 30 stored_is 3 || { tail -5 "$HO_TMP/w1.log" >&2; ho_fail "the worker did not rebuild after the flush"; }
grep -q "WARN: \"$AGG_TOPIC\" \[0\]: the stored offset went back from 2 to none: " "$HO_TMP/w1.log" \
  || { grep -i 'dropped\|took over\|went back' "$HO_TMP/w1.log" >&2; ho_fail "the lost writes were not reported as a stored offset that went back"; }
if grep -q 'another worker took over' "$HO_TMP/w1.log"; then
  ho_fail "a Redis data loss was logged as another worker taking over"
fi
ho_assert_eq 2 "$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)" "totals.transfers after the rebuild"
ho_assert_eq 55 "$(agg_redis HGET "{$AGG_PREFIX}:totals" inmates)" "totals.inmates after the rebuild"
ho_assert_eq 3 "$(agg_redis HGET "{$AGG_PREFIX}:totals" reports)" "totals.reports after the rebuild"
agg_stop "$w1"
ho_log "ok: a Redis rollback is reported as one, and the counters were rebuilt exactly"
