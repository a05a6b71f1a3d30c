#!/usr/bin/env bash
# fault_quiet_retry: a batch whose apply fails on an apply thread while its
# partition gets no more messages is retried within the backoff, not when the
# next message comes (reports arrive a few a day). Redis (a private one, AOF
# fsync always) is killed, one report comes, Redis stays down: the worker must
# log the failed apply and show the partition stalled with lag 1 in its stats
# line while nothing else arrives; once Redis is back the report is applied
# ("applied after retrying; resuming") with no further message on the topic.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

port=$(agg_free_port)
redis_up() { agg_redis_start "$port" "$HO_TMP/redis" --appendonly yes --appendfsync always; }
redis_up
agg_setup 1

sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
sed -n 1p "$sample" >"$HO_TMP/first.jsonl"
sed -n 2p "$sample" >"$HO_TMP/second.jsonl"

agg_start w1 --stats-interval 1; w1=$HO_LAST_PID
agg_produce "$HO_TMP/first.jsonl"
applied() { [ "$(agg_redis HGET "{$AGG_PREFIX}:offsets" "$AGG_TOPIC:0" 2>/dev/null)" = "$1" ]; }
ho_wait_until 30 applied 1 || ho_fail "the first report was not applied"

kill -9 "$AGG_REDIS_PID"; wait "$AGG_REDIS_PID" 2>/dev/null || true
ho_log "Redis killed; one more report, then nothing"
agg_produce "$HO_TMP/second.jsonl"

# the failure is seen while the partition stays quiet
ho_wait_until 15 grep -q 'redis: cannot apply the batch of' "$HO_TMP/w1.log" \
  || { tail -20 "$HO_TMP/w1.log" >&2; ho_fail "the failed apply on a quiet partition was never reported"; }
ho_wait_until 10 grep -q 'redis errors, lag 1, 1 partitions (1 stalled)' "$HO_TMP/w1.log" \
  || { tail -5 "$HO_TMP/w1.log" >&2; ho_fail "the stats line did not show the stalled partition and its lag"; }
kill -0 "$w1" 2>/dev/null || ho_fail "the worker died while Redis was down"

redis_up
ho_log "Redis back; no new message on the topic"
ho_wait_until 15 applied 2 \
  || { tail -20 "$HO_TMP/w1.log" >&2; ho_fail "the kept batch was not retried within the backoff once Redis was back"; }
grep -q 'applied after retrying; resuming' "$HO_TMP/w1.log" || ho_fail "no 'applied after retrying' line"
ho_assert_eq 2 "$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)" "totals.transfers"
ho_assert_eq 54 "$(agg_redis HGET "{$AGG_PREFIX}:totals" inmates)" "totals.inmates"
agg_stop "$w1"
ho_log "ok: a failed apply on a quiet partition was reported, shown stalled, and retried"
