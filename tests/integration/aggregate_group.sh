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

# The stream comes in four parts, each produced at a steady rate (v2 and v1 writers interleaved).
# Each event (a worker joins, one is killed, one is frozen) happens once the workers have applied
# 1000 messages of the part being produced: a moment that depends on no clock, and at which the
# rest of that part and the parts after it are still to be applied.
split -n l/4 -d "$HO_TMP/v2.jsonl" "$HO_TMP/v2.part"
split -n l/4 -d "$HO_TMP/v1.jsonl" "$HO_TMP/v1.part"
part_start() { # part_start K: produce part K in the background (pids in $p1 $p2)
  agg_produce_paced "$HO_TMP/v2.part0$1" 2500 &
  p1=$!
  agg_produce_paced "$HO_TMP/v1.part0$1" 700 --schema v1 &
  p2=$!
}
part_wait() {
  wait "$p1" || ho_fail "producing the v2 lines failed"
  wait "$p2" || ho_fail "producing the v1 lines failed"
}
progress_over() { [ "$(agg_progress)" -ge "$1" ]; }
# part_applying K: start part K and return once 1000 of its messages are applied
part_applying() {
  local base
  base=$(agg_progress)
  part_start "$1"
  ho_wait_until 60 progress_over $((base + 1000)) \
    || ho_fail "part $1: the workers applied fewer than 1000 messages in 60 s (progress $(agg_progress))"
}
# every partition's stored offset moved past its value in FILE ("P N" lines)
moved_past() {
  local p n now
  while read -r p n; do
    now=$(agg_redis HGET "{$AGG_PREFIX}:offsets" "$AGG_TOPIC:$p")
    [ "${now:-0}" -gt "$n" ] || return 1
  done <"$1"
}
stored_offsets() {
  local p
  for ((p = 0; p < AGG_PARTS; p++)); do
    printf '%s %s\n' "$p" "$(agg_redis HGET "{$AGG_PREFIX}:offsets" "$AGG_TOPIC:$p")"
  done
}

# a short session makes the group notice the dead and the frozen worker soon
args=(--batch-max 20 -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
agg_start w1 "${args[@]}"; w1=$HO_LAST_PID
agg_start w2 "${args[@]}"; w2=$HO_LAST_PID
ho_wait_until 60 bash -c "[ \$(cat '$HO_TMP/w1.log' '$HO_TMP/w2.log' | grep -c 'assigned \"') -ge 6 ]" \
  || ho_fail "two workers did not get the 6 partitions"

part_applying 0
ho_log "progress $(agg_progress): a third worker joins"
agg_start w3 "${args[@]}"; w3=$HO_LAST_PID
ho_wait_until 30 grep -q 'assigned "' "$HO_TMP/w3.log" || ho_fail "the third worker got no partitions"
part_wait

part_applying 1
kill -9 "$w1"; wait "$w1" 2>/dev/null || true
ho_log "killed w1 at progress $(agg_progress)"
part_wait

part_applying 2
kill -STOP "$w2"
stored_offsets >"$HO_TMP/frozen.offsets"
ho_log "froze w2 at progress $(agg_progress)"
part_wait
# the last part gives every partition new messages: each one's stored offset moves past where it
# stood at the freeze only once a live worker owns it, w2's included (after session.timeout.ms)
part_start 3
ho_wait_until 90 moved_past "$HO_TMP/frozen.offsets" \
  || ho_fail "w2's partitions did not move to a live worker (offsets at the freeze: $(paste -sd' ' "$HO_TMP/frozen.offsets"); now: $(stored_offsets | paste -sd' '))"
kill -CONT "$w2"
ho_log "thawed w2 at progress $(agg_progress)"
part_wait

ho_assert_eq 40000 "$(agg_topic_count)" "messages on the topic"
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "three workers, one added, one killed, one frozen"
agg_stop "$w2" 15
agg_stop "$w3" 15
ho_log "fenced batches (w1 w2 w3): $(grep -c 'dropped: ' "$HO_TMP"/w?.log | cut -d: -f2 | paste -sd' ');" \
  "revocations seen by w3: $(grep -c revoked "$HO_TMP/w3.log")"
ho_log "ok: state equals the ground truth"
