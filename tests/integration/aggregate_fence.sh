#!/usr/bin/env bash
# aggregate_fence: split brain. Two workers in DIFFERENT groups write the same
# prefix, so each believes it owns every partition and both apply batches for
# the same offsets at the same time. The fence must let exactly one of them
# apply each range; the other drops its batch, re-reads the stored offset,
# seeks there and goes on. The state equals the ground truth, and the workers
# did get fenced (else the test proved nothing).
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

agg_setup 3
python3 "$HO_SOURCE_DIR/bench/gen" --reports 20000 --transfers 5000 --seed 41 \
  --out "$HO_TMP/v2.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"

# both own every partition before the first message arrives, so they race
# from the first offset on
agg_start a --batch-max 10 -g "$AGG_GROUP-a"; a=$HO_LAST_PID
agg_start b --batch-max 10 -g "$AGG_GROUP-b"; b=$HO_LAST_PID
for w in a b; do
  ho_wait_until 60 bash -c "[ \$(grep -c 'assigned \"' '$HO_TMP/$w.log') -ge 3 ]" \
    || ho_fail "worker $w did not get all partitions"
done
agg_produce "$HO_TMP/v2.jsonl" -q
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "two groups on one prefix"
agg_stop "$a"
agg_stop "$b"
fenced=$(cat "$HO_TMP/a.log" "$HO_TMP/b.log" | grep -c 'dropped: ' || true)
ho_log "fenced batches: $fenced"
[ "$fenced" -gt 0 ] || ho_fail "no batch was fenced: the two workers never raced"
ho_log "ok: state equals the ground truth under split brain"
