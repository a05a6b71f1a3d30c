#!/usr/bin/env bash
# aggregate_redis_restart: Redis killed with SIGKILL mid-stream and restarted
# on the same port and data directory (AOF, fsync always): the workers log
# the outage, keep their batches and position, survive, and the final state
# equals the ground truth. Uses a private redis-server, never the shared one.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

port=$(agg_free_port)
redis_up() { agg_redis_start "$port" "$HO_TMP/redis" --appendonly yes --appendfsync always; }
redis_up

agg_setup 6
python3 "$HO_SOURCE_DIR/bench/gen" --reports 30000 --transfers 8000 --seed 31 \
  --out "$HO_TMP/v2.jsonl" --v1-out "$HO_TMP/v1.jsonl" --truth "$HO_TMP/truth.json" \
  2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/v2.jsonl" -q
agg_produce "$HO_TMP/v1.jsonl" --schema v1 -q
total=$(agg_topic_count)

args=(--batch-max 20)
agg_start w1 "${args[@]}"; w1=$HO_LAST_PID
agg_start w2 "${args[@]}"; w2=$HO_LAST_PID
for round in 1 2; do
  ho_wait_until 60 bash -c "[ \$(redis-cli -p $port HVALS '{$AGG_PREFIX}:offsets' 2>/dev/null | awk '{s+=\$1} END {print s+0}') -ge $((round * total / 4)) ]" \
    || ho_fail "no progress before Redis kill $round"
  before=$(agg_progress)
  m1=$(ho_log_mark "$HO_TMP/w1.log"); m2=$(ho_log_mark "$HO_TMP/w2.log")
  kill -9 "$AGG_REDIS_PID"; wait "$AGG_REDIS_PID" 2>/dev/null || true
  ho_log "Redis killed at progress $before of $total (round $round)"
  # both workers fail an apply and say they keep the batch: after that, a worker that gave up
  # would have exited
  ho_wait_until 60 ho_logged_since "$HO_TMP/w1.log" "$m1" "keeping it, retrying" \
    || ho_fail "w1 did not notice Redis was gone (round $round): $(tail -3 "$HO_TMP/w1.log")"
  ho_wait_until 60 ho_logged_since "$HO_TMP/w2.log" "$m2" "keeping it, retrying" \
    || ho_fail "w2 did not notice Redis was gone (round $round): $(tail -3 "$HO_TMP/w2.log")"
  kill -0 "$w1" 2>/dev/null && kill -0 "$w2" 2>/dev/null || ho_fail "a worker died while Redis was down"
  redis_up
  after=$(agg_progress)
  ho_log "Redis back with progress $after (AOF kept what was acknowledged)"
  [ "$after" -lt "$total" ] || ho_fail "Redis restart came after the end of the stream"
done

agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "after two Redis restarts"
# paused partitions keep memory flat through the outages
for pid in "$w1" "$w2"; do
  mb=$(agg_peak_mb "$pid")
  ho_log "worker $pid peak RSS ${mb} MB"
  [ "$mb" -lt "${HO_AGG_MAX_RSS_MB:-256}" ] || ho_fail "worker $pid peaked at ${mb} MB of memory"
done
grep -qh 'redis: cannot apply\|redis: cannot read' "$HO_TMP"/w?.log \
  || ho_fail "the workers did not log the Redis outage"
grep -qh 'applied after retrying\|continuing from the stored offset\|assigned' "$HO_TMP"/w?.log \
  || ho_fail "no recovery logged"
agg_stop "$w1" 15
agg_stop "$w2" 15
ho_log "ok: two Redis SIGKILLs mid-stream, state equals the ground truth"
