#!/usr/bin/env bash
# aggregate_kill9: a worker killed with SIGKILL at random points mid-stream,
# ten times, each time restarted: the Redis state equals the ground truth.
# The whole history is on the topic first; small batches (--batch-max 10) make
# the stream last long enough for the kills to land in it. Each kill waits for
# an event of the worker, chosen from a seeded random sequence (HO_KILL_SEED;
# the test prints the one it used): every other kill at a point of start-up
# (at once, once it logs its group, once it is assigned partitions), the others
# once it has applied a random 0..1500 more messages.
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
SEED=${HO_KILL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
[[ $SEED =~ ^[0-9]+$ ]] || ho_fail "HO_KILL_SEED must be a number, not '$SEED'"
RANDOM=$SEED # bash's generator: the same seed gives the same kill points
ho_log "kill points from seed $SEED (HO_KILL_SEED=$SEED repeats them)"
agg_setup 6
python3 "$HO_SOURCE_DIR/bench/gen" --reports 50000 --transfers 12000 --seed 11 \
  --out "$HO_TMP/all.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/all.jsonl" -q
total=$(agg_topic_count)
ho_assert_eq 50000 "$total" "messages on the topic"

worker_args=(--batch-max 10 -X group.instance.id="$AGG_GROUP-w1")
midstream=0
# the worker of this round (its log lines after the first $lines) logged PATTERN
this_round_logged() { tail -n +$((lines + 1)) "$HO_TMP/w.log" | grep -qF -- "$1"; }
for ((i = 0; i < KILLS; i++)); do
  prev=$(agg_progress)
  [ "$prev" -lt "$total" ] || { ho_log "all applied after $i kills"; break; }
  lines=0; [ -f "$HO_TMP/w.log" ] && lines=$(wc -l <"$HO_TMP/w.log")
  agg_start w "${worker_args[@]}"
  pid=$HO_LAST_PID
  r=$RANDOM
  if ((i % 2 == 0)); then
    # a point of start-up: before it has done anything, in its group, holding partitions
    case $((r % 3)) in
      0) what="at start" ;;
      1) what="once consuming"
         ho_wait_until 30 this_round_logged 'INFO: consuming "' \
           || ho_fail "round $((i + 1)): the worker did not start consuming (see $HO_TMP/w.log)" ;;
      2) what="once assigned"
         ho_wait_until 30 this_round_logged 'INFO: assigned "' \
           || ho_fail "round $((i + 1)): the worker got no partitions (see $HO_TMP/w.log)" ;;
    esac
  else
    # mid-stream: once it has applied a random number of messages more, whatever its speed
    n=$((r % 1500))
    what="after $n more messages"
    ho_wait_until 60 bash -c "[ \$(redis-cli -u '$AGG_REDIS' --no-auth-warning HVALS '{$AGG_PREFIX}:offsets' | awk '{s+=\$1} END {print s+0}') -gt $((prev + n)) ]" \
      || ho_fail "worker made no progress in round $((i + 1)) (see $HO_TMP/w.log)"
  fi
  before=$(agg_progress)
  kill -9 "$pid" 2>/dev/null || ho_fail "worker died on its own before kill $((i + 1)) (see $HO_TMP/w.log)"
  wait "$pid" 2>/dev/null || true
  after=$(agg_progress)
  [ "$after" -lt "$total" ] && midstream=$((midstream + 1))
  ho_log "kill $((i + 1))/$KILLS ($what): stored progress $before..$after of $total"
done
# at least half the kills must have hit a worker with work left to do
[ "$midstream" -ge $((KILLS / 2)) ] || ho_fail "only $midstream of $KILLS kills were mid-stream"

agg_start w "${worker_args[@]}"
final=$HO_LAST_PID
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "after $KILLS kills"
agg_stop "$final"
ho_log "ok: $KILLS kill -9 ($midstream mid-stream), state equals the ground truth"
