#!/usr/bin/env bash
# rcluster_migrate: a prefix's slot moves to another master mid-stream, the way redis-cli
# --cluster reshard moves it: CLUSTER SETSLOT IMPORTING on the target, MIGRATING on the source,
# MIGRATE of its keys one at a time (a slow migration, so the workers meet it half done), then
# SETSLOT NODE everywhere. While it runs, the workers' multi-key steps get ASK or TRYAGAIN and
# back off; afterwards MOVED sends them to the new owner. Nothing is applied twice: the counters
# equal the ground truth, and every key of the prefix is on the new master.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
source "$HO_SOURCE_DIR/tests/lib/rcluster.sh"
ho_require_kafka
ho_need_bin handover-aggregate handover-produce handover-topic

rc_up 3
agg_setup 6
AGG_PREFIX=$(rc_prefixes 1)
slot=$(rc_slot "{$AGG_PREFIX}:totals")
src=$(rc_owner "$slot")
for p in "${RC_PORTS[@]}"; do [ "$p" != "$src" ] && { dst=$p; break; }; done
src_id=$(rc_node_id "$src"); dst_id=$(rc_node_id "$dst")
ho_log "prefix $AGG_PREFIX: slot $slot, moving from port $src to port $dst mid-stream"

python3 "$HO_SOURCE_DIR/bench/gen" --reports 45000 --transfers 9000 --seed 43 \
  --out "$HO_TMP/v2.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"

agg_start w1 --batch-max 100; agg_start w2 --batch-max 100
ho_wait_until 60 bash -c "[ \$(cat '$HO_TMP/w1.log' '$HO_TMP/w2.log' | grep -c 'assigned \"') -ge 6 ]" \
  || ho_fail "two workers did not get the 6 partitions"

agg_produce_paced "$HO_TMP/v2.jsonl" 2500 &
prod=$!
ho_wait_until 30 bash -c "[ \$(redis-cli -p $src HLEN '{$AGG_PREFIX}:offsets' 2>/dev/null || echo 0) -ge 6 ]" \
  || ho_fail "the workers wrote no offsets to the slot's master"
# a second of the stream applied before the slot moves (the stream lasts 18 s)
progressed() { [ "$(agg_progress)" -ge 2500 ]; }
ho_wait_until 30 progressed || ho_fail "the workers applied no second of the stream"
kill -0 "$prod" 2>/dev/null || ho_fail "the stream ended before the migration: not mid-stream"

ho_log "migration starts at progress $(agg_progress)"
rc_cli "$dst" CLUSTER SETSLOT "$slot" IMPORTING "$src_id" | grep -q OK || ho_fail "SETSLOT IMPORTING failed"
rc_cli "$src" CLUSTER SETSLOT "$slot" MIGRATING "$dst_id" | grep -q OK || ho_fail "SETSLOT MIGRATING failed"
moved=0
while keys=$(rc_cli "$src" CLUSTER GETKEYSINSLOT "$slot" 1); [ -n "$keys" ]; do
  out=$(rc_cli "$src" MIGRATE 127.0.0.1 "$dst" "" 0 5000 KEYS $keys)
  case $out in OK | NOKEY) ;; *) ho_fail "MIGRATE $keys: $out" ;; esac
  moved=$((moved + 1))
  [ "$moved" -le 200 ] || ho_fail "the slot never emptied: keys kept appearing on the source"
  sleep 0.2 # slow on purpose: the workers meet the slot half moved
done
for p in "${RC_PORTS[@]}"; do rc_cli "$p" CLUSTER SETSLOT "$slot" NODE "$dst_id" >/dev/null; done
# on a loaded machine the stream may end before the last key moves; it must only be running
# when the migration starts (above), the redirections seen below say the workers met it
ho_log "migration done: $moved keys moved, progress $(agg_progress)$(kill -0 "$prod" 2>/dev/null && echo ', still streaming')"

wait "$prod" || ho_fail "producing failed"
ho_assert_eq 45000 "$(agg_topic_count)" "messages on the topic"
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "after the slot moved mid-stream"
ho_assert_eq "$dst" "$(rc_owner "$slot")" "the slot's owner after the migration"
ho_assert_eq 0 "$(rc_cli "$src" --scan --pattern "{$AGG_PREFIX}:*" | wc -l)" "keys left on the old master"
# the workers did meet the migration (else this test proved nothing)
redirects=$(cat "$HO_TMP"/w?.log | grep -cE 'ASK [0-9]+|TRYAGAIN|MOVED [0-9]+' || true)
[ "$redirects" -ge 1 ] || ho_fail "no worker met ASK, TRYAGAIN or MOVED: the migration went unseen"
ho_log "worker lines with ASK/TRYAGAIN/MOVED: $redirects; e.g. $(grep -hoE '(ASK|MOVED) [0-9]+ [0-9.:]+|TRYAGAIN[^;]*' "$HO_TMP"/w?.log | sort | uniq -c | sort -rn | head -3 | paste -sd';')"
for pid in "${HO_PIDS[@]}"; do agg_stop "$pid" 15; done
HO_PIDS=()
ho_log "ok: exact across a mid-stream slot migration"
