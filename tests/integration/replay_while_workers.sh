#!/usr/bin/env bash
# replay_while_workers: a full rebuild switched in while two workers apply a
# stream that keeps arriving. The replay reads the topic's ends at its start;
# the workers apply more reports before it switches; the switch puts the
# stored offsets back to the replay's ends, so each worker's next apply is
# fenced (its start offset no longer matches), it re-reads the offset and
# re-applies from there, and the final state is exactly the ground truth of
# everything produced: nothing lost, nothing counted twice.
#
# The interleaving is forced, not hoped for (a fast replay used to finish
# between two chunks of the stream, about one run in five): Redis is paused
# for writes while the replay starts, so it stops at its first write (taking
# its lock, after it has read the ends); the test then holds it with SIGSTOP,
# lets Redis go, streams more reports and waits until the workers have applied
# them, and only then lets the replay build and switch. The Redis is private:
# pausing the shared one would stall the tests running beside this one.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-replay

agg_redis_start "$(agg_free_port)" "$HO_TMP/redis"
agg_setup 4
"$HO_SOURCE_DIR/bench/gen" --reports 12000 --transfers 3000 --seed 62 \
  --out "$HO_TMP/all.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
# 4000 before the replay starts, 4000 while it is held, 4000 after it switched
sed -n '1,4000p' "$HO_TMP/all.jsonl" >"$HO_TMP/before.jsonl"
sed -n '4001,8000p' "$HO_TMP/all.jsonl" | split -l 500 -d -a 2 - "$HO_TMP/during."
sed -n '8001,$p' "$HO_TMP/all.jsonl" | split -l 500 -d -a 2 - "$HO_TMP/after."
agg_produce "$HO_TMP/before.jsonl"
agg_start w1
w1=$HO_LAST_PID
agg_start w2
w2=$HO_LAST_PID
agg_wait_caught_up 120
agg_watermarks >"$HO_TMP/ends.replay"

# the replay's lock is the only plain SET any of our programs sends
replay_waits_on_lock() { agg_redis CLIENT LIST | grep -q 'flags=b .* cmd=set '; }
agg_redis CLIENT PAUSE 30000 WRITE >/dev/null
ho_bg "$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" \
  -p "$AGG_PREFIX" --batch-max 20 -q 2>"$HO_TMP/replay.err"
replay=$HO_LAST_PID
ho_wait_until 20 replay_waits_on_lock \
  || ho_fail "the replay never reached its lock while Redis was paused: $(cat "$HO_TMP/replay.err")"
kill -STOP "$replay"
agg_redis CLIENT UNPAUSE >/dev/null

# the stream goes on while the replay is held: the workers apply past its ends
for f in "$HO_TMP"/during.*; do agg_produce "$f"; done
agg_wait_caught_up 60
agg_watermarks >"$HO_TMP/ends.during"
kill -CONT "$replay"
rc=0; wait "$replay" || rc=$?
[ "$rc" = 0 ] || ho_fail "replay exited $rc: $(cat "$HO_TMP/replay.err")"

# the switch moved every stored offset back to the replay's ends
while read -r p n; do
  ho_assert_eq "$n" "$(agg_redis HGET "{$AGG_PREFIX}:offsets" "$AGG_TOPIC:$p")" \
    "stored offset of partition $p right after the switch (the replay's end)"
done <"$HO_TMP/ends.replay"

# and more of the stream: each worker's next apply is fenced, re-read, re-applied
for f in "$HO_TMP"/after.*; do agg_produce "$f"; sleep 0.1; done
agg_wait_caught_up 120
agg_stop "$w1"
agg_stop "$w2"

ho_assert_eq 12000 "$(agg_topic_count)" "messages on the topic"
agg_compare "$HO_TMP/truth.json" "state after a replay during a live stream"
# every partition that grew while the replay was held was fenced at its next apply
fenced=0
while read -r p n; do
  during=$(awk -v p="$p" '$1 == p {print $2}' "$HO_TMP/ends.during")
  [ "$during" -gt "$n" ] || continue
  grep -q "\"$AGG_TOPIC\" \[$p\]: batch up to offset [0-9]* dropped: " "$HO_TMP"/w1.log "$HO_TMP"/w2.log \
    || ho_fail "partition $p grew from $n to $during while the replay was held, but no apply on it was fenced after the switch"
  fenced=$((fenced + 1))
done <"$HO_TMP/ends.replay"
[ "$fenced" -ge 1 ] || ho_fail "no partition grew while the replay was held (the test streamed nothing?)"
ho_log "ok: exact truth after replaying during the stream; $fenced partitions fenced at the switch and re-applied"
