#!/usr/bin/env bash
# aggregate_group: workers of one consumer group while the history streams in
# at a steady rate. Two start, a third joins mid-stream (rebalance), one is
# killed with SIGKILL mid-stream (its partitions move after the session
# timeout), and one is frozen with SIGSTOP past its session and then thawed:
# it may come back holding a batch for partitions others now own, and the
# fence must refuse it. The Redis state equals the ground truth.
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

# a short session makes the group notice the dead and the frozen worker soon
args=(--batch-max 20 -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
agg_start w1 "${args[@]}"; w1=$HO_LAST_PID
agg_start w2 "${args[@]}"; w2=$HO_LAST_PID
ho_wait_until 60 bash -c "[ \$(cat '$HO_TMP/w1.log' '$HO_TMP/w2.log' | grep -c 'assigned \"') -ge 6 ]" \
  || ho_fail "two workers did not get the 6 partitions"

# about 14 s of stream: v2 and v1 writers interleaved
agg_produce_paced "$HO_TMP/v2.jsonl" 2500 &
p1=$!
agg_produce_paced "$HO_TMP/v1.jsonl" 700 --schema v1 &
p2=$!
streaming() { kill -0 "$p1" 2>/dev/null; }

sleep 2
ho_log "progress $(agg_progress): a third worker joins"
agg_start w3 "${args[@]}"; w3=$HO_LAST_PID
ho_wait_until 30 grep -q 'assigned "' "$HO_TMP/w3.log" || ho_fail "the third worker got no partitions"
sleep 1
streaming || ho_fail "the stream ended before the kill: not mid-stream"
kill -9 "$w1"; wait "$w1" 2>/dev/null || true
ho_log "killed w1 at progress $(agg_progress)"
sleep 1
streaming || ho_fail "the stream ended before the freeze: not mid-stream"
kill -STOP "$w2"
ho_log "froze w2 at progress $(agg_progress)"
sleep 9 # > session.timeout.ms: the group gives w2's partitions to w3
kill -CONT "$w2"
ho_log "thawed w2 at progress $(agg_progress)"

wait "$p1" || ho_fail "producing the v2 lines failed"
wait "$p2" || ho_fail "producing the v1 lines failed"
ho_assert_eq 40000 "$(agg_topic_count)" "messages on the topic"
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "three workers, one added, one killed, one frozen"
agg_stop "$w2" 15
agg_stop "$w3" 15
ho_log "fenced batches (w1 w2 w3): $(grep -c 'dropped: ' "$HO_TMP"/w?.log | cut -d: -f2 | paste -sd' ');" \
  "revocations seen by w3: $(grep -c revoked "$HO_TMP/w3.log")"
ho_log "ok: state equals the ground truth"
