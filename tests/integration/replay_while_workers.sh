#!/usr/bin/env bash
# replay_while_workers: a full rebuild switched in while two workers apply a
# stream that keeps arriving. At the switch the stored offsets go back to the
# ends the replay read at its start; each worker's next apply is fenced
# (its start offset no longer matches), it re-reads the offset and re-applies
# from there, and the final state is exactly the ground truth of everything
# produced: nothing lost, nothing counted twice.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-replay

agg_setup 4
"$HO_SOURCE_DIR/bench/gen" --reports 12000 --transfers 3000 --seed 62 \
  --out "$HO_TMP/all.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
# the first third before the workers start, the rest in 16 chunks while the replay runs
head -n 4000 "$HO_TMP/all.jsonl" >"$HO_TMP/first.jsonl"
tail -n +4001 "$HO_TMP/all.jsonl" | split -l 500 -d -a 2 - "$HO_TMP/chunk."
agg_produce "$HO_TMP/first.jsonl"
agg_start w1
w1=$HO_LAST_PID
agg_start w2
w2=$HO_LAST_PID
agg_wait_caught_up 120

(
  for f in "$HO_TMP"/chunk.*; do
    "$HO_BIN_DIR/handover-produce" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" "$f" >>"$HO_TMP/produce.log" 2>&1 || exit 1
    sleep 0.25
  done
) &
producer=$!
HO_PIDS+=("$producer")
sleep 1 # the workers are busy applying the stream when the replay starts
# small batches make the rebuild take a while, so the workers get ahead of it
"$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" \
  -p "$AGG_PREFIX" --batch-max 20 2>"$HO_TMP/replay.err" || ho_fail "replay failed: $(cat "$HO_TMP/replay.err")"
kill -0 "$producer" 2>/dev/null || ho_log "warning: the producer finished before the replay did"
wait "$producer" || ho_fail "producing the stream failed: $(tail -5 "$HO_TMP/produce.log")"
agg_wait_caught_up 120
agg_stop "$w1"
agg_stop "$w2"

ho_assert_eq 12000 "$(agg_topic_count)" "messages on the topic"
agg_compare "$HO_TMP/truth.json" "state after a replay during a live stream"
fenced=$(cat "$HO_TMP"/w1.log "$HO_TMP"/w2.log | grep -c 'dropped: ' || true)
[ "$fenced" -ge 1 ] || ho_fail "no worker apply was fenced by the switch (expected the workers to re-read the rebuilt offsets)"
ho_log "ok: exact truth after replaying during the stream; $fenced worker batches fenced and re-applied"
