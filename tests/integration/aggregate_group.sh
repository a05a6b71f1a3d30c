#!/usr/bin/env bash
# aggregate_group: workers of one consumer group while the history streams in.
# Two start, a third joins mid-stream (rebalance), one is killed with SIGKILL
# mid-stream (its partitions move after the session timeout), and one is
# frozen with SIGSTOP past its session and then thawed: it comes back holding
# a batch for partitions others now own, and the fence must refuse it. The
# Redis state equals the ground truth.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

agg_setup 6
python3 "$HO_SOURCE_DIR/bench/gen" --reports 40000 --transfers 10000 --seed 23 \
  --out "$HO_TMP/v2.jsonl" --v1-out "$HO_TMP/v1.jsonl" --truth "$HO_TMP/truth.json" \
  2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
ho_log "$(cat "$HO_TMP/gen.log")"
half=$(( $(wc -l <"$HO_TMP/v2.jsonl") / 2 ))
head -n "$half" "$HO_TMP/v2.jsonl" >"$HO_TMP/a.jsonl"
tail -n "+$((half + 1))" "$HO_TMP/v2.jsonl" >"$HO_TMP/b.jsonl"
agg_produce "$HO_TMP/a.jsonl" -q

# small batches keep the stream going long enough; a short session makes the
# group notice the dead and the frozen worker within seconds
args=(--batch-max 10 -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
agg_start w1 "${args[@]}"; w1=$HO_LAST_PID
agg_start w2 "${args[@]}"; w2=$HO_LAST_PID
ho_wait_until 60 bash -c "[ \$(redis-cli -u '$AGG_REDIS' --no-auth-warning HVALS '{$AGG_PREFIX}:offsets' | awk '{s+=\$1} END {print s+0}') -ge 3000 ]" \
  || ho_fail "two workers made no progress"
ho_log "progress $(agg_progress): adding a third worker while the rest of the history arrives"

agg_start w3 "${args[@]}"; w3=$HO_LAST_PID
agg_produce "$HO_TMP/b.jsonl" -q &
p1=$!
agg_produce "$HO_TMP/v1.jsonl" --schema v1 -q &
p2=$!
ho_wait_until 60 grep -q 'assigned "' "$HO_TMP/w3.log" || ho_fail "the third worker got no partitions"
sleep 1

before=$(agg_progress)
kill -9 "$w1"; wait "$w1" 2>/dev/null || true
ho_log "killed w1 at progress $before"
wait "$p1" || ho_fail "producing the second half failed"
wait "$p2" || ho_fail "producing the v1 lines failed"
total=$(agg_topic_count)
ho_assert_eq 40000 "$total" "messages on the topic"
[ "$before" -lt "$total" ] || ho_fail "w1 was killed after the end of the stream ($before of $total)"

# freeze w2 past its session: its partitions move to w3; thawed, it must not write
sleep 1
progress=$(agg_progress)
if [ "$progress" -lt "$total" ]; then
  kill -STOP "$w2"
  ho_log "froze w2 at progress $progress"
  sleep 9
  kill -CONT "$w2"
  ho_log "thawed w2 at progress $(agg_progress)"
else
  ho_log "stream already applied ($progress of $total); w2 not frozen"
fi

agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "three workers, one added, one killed, one frozen"
agg_stop "$w2" 15
agg_stop "$w3" 15
ho_log "fenced batches: $(grep -ch 'dropped' "$HO_TMP"/w?.log | paste -sd' '), rebalances: $(grep -c revoked "$HO_TMP/w3.log")"
ho_log "ok: state equals the ground truth"
