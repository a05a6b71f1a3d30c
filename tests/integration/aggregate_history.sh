#!/usr/bin/env bash
# aggregate_history: a generated history (thousands of transfers, revisions,
# exact duplicates, out-of-order and tied reports, v1 and v2 writers) read by
# two workers: the Redis state equals the ground truth bench/gen computed from
# the input alone. Then the same history again: nothing changes.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

agg_setup 6
python3 "$HO_SOURCE_DIR/bench/gen" --reports 8000 --transfers 2500 --seed 5 \
  --out "$HO_TMP/v2.jsonl" --v1-out "$HO_TMP/v1.jsonl" --truth "$HO_TMP/truth.json" \
  2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
ho_log "$(cat "$HO_TMP/gen.log")"

agg_start w1
w1=$HO_LAST_PID
agg_start w2
w2=$HO_LAST_PID
# produce while the workers run: v1 and v2 writers interleaved on the topic
agg_produce "$HO_TMP/v1.jsonl" --schema v1 -q &
p1=$!
agg_produce "$HO_TMP/v2.jsonl" -q
wait "$p1" || ho_fail "producing the v1 lines failed"
ho_assert_eq 8000 "$(agg_topic_count)" "messages on the topic"
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "after one pass"

# The whole history again (every report a duplicate): the state stays the truth.
agg_produce "$HO_TMP/v2.jsonl" -q
agg_produce "$HO_TMP/v1.jsonl" --schema v1 -q
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "after a second pass of duplicates"
agg_stop "$w1"
agg_stop "$w2"
grep -h 'stats:' "$HO_TMP"/w?.log | tail -2 >&2
ho_log "ok: 16000 messages, state equals the ground truth"
