#!/usr/bin/env bash
# aggregate_kill9: a worker killed with SIGKILL at random points mid-stream,
# ten times, each time restarted: the Redis state equals the ground truth.
# The whole history is on the topic first; small batches (--batch-max 10) make
# the stream last long enough for the kills to land in it: every other kill at
# a random moment after start (assignment, first fetch, first batches), the
# others a random moment after the worker has applied a batch.
#
# The worker runs as a static group member (group.instance.id), so its
# successor takes over at once instead of waiting for the session timeout of
# the dead process; that keeps the test short, and the takeover after a kill
# is exactly the case the fence guards.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

KILLS=${HO_KILLS:-10}
agg_setup 6
python3 "$HO_SOURCE_DIR/bench/gen" --reports 50000 --transfers 12000 --seed 11 \
  --out "$HO_TMP/all.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/all.jsonl" -q
total=$(agg_topic_count)
ho_assert_eq 50000 "$total" "messages on the topic"

worker_args=(--batch-max 10 -X group.instance.id="$AGG_GROUP-w1")
midstream=0
for ((i = 0; i < KILLS; i++)); do
  prev=$(agg_progress)
  [ "$prev" -lt "$total" ] || { ho_log "all applied after $i kills"; break; }
  agg_start w "${worker_args[@]}"
  pid=$HO_LAST_PID
  if ((i % 2 == 0)); then
    # anywhere from start-up (assignment, first fetch) to the first batches
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.1 + 0.5 * r / 32767 }')"
  else
    # once it applies batches, a moment later: the kill lands mid-stream
    # however fast the worker is
    ho_wait_until 30 bash -c "[ \$(redis-cli -u '$AGG_REDIS' --no-auth-warning HVALS '{$AGG_PREFIX}:offsets' | awk '{s+=\$1} END {print s+0}') -gt $prev ]" \
      || ho_fail "worker made no progress in round $((i + 1)) (see $HO_TMP/w.log)"
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 * r / 32767 }')"
  fi
  before=$(agg_progress)
  kill -9 "$pid" 2>/dev/null || ho_fail "worker died on its own before kill $((i + 1)) (see $HO_TMP/w.log)"
  wait "$pid" 2>/dev/null || true
  after=$(agg_progress)
  [ "$after" -lt "$total" ] && midstream=$((midstream + 1))
  ho_log "kill $((i + 1))/$KILLS: stored progress $before..$after of $total"
done
# at least half the kills must have hit a worker with work left to do
[ "$midstream" -ge $((KILLS / 2)) ] || ho_fail "only $midstream of $KILLS kills were mid-stream"

agg_start w "${worker_args[@]}"
final=$HO_LAST_PID
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "after $KILLS kills"
agg_stop "$final"
ho_log "ok: $KILLS kill -9 ($midstream mid-stream), state equals the ground truth"
