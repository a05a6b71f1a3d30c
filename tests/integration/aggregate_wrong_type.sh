#!/usr/bin/env bash
# aggregate_wrong_type: a contract key of the wrong type (someone ran SET {P}:totals x) stops
# the apply before its first write: the worker names the key and the type it expected, writes
# nothing of the batch (no state, no report ids, no offset), keeps retrying, and once the key is
# fixed applies the batch exactly once: every count equals the ground truth. (With the earlier
# Lua apply script the report ids and states were written before the script failed on the
# totals, and after the fix every report looked like a duplicate.)
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

agg_setup 2
python3 "$HO_SOURCE_DIR/bench/gen" --reports 2000 --transfers 500 --seed 23 \
  --out "$HO_TMP/v2.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_redis SET "{$AGG_PREFIX}:totals" oops >/dev/null
agg_produce "$HO_TMP/v2.jsonl" -q
agg_start w1
w1=$HO_LAST_PID
ho_wait_until 60 grep -q "key \"{$AGG_PREFIX}:totals\" is a string: expected a hash" "$HO_TMP/w1.log" \
  || ho_fail "no error naming the key: $(tail -5 "$HO_TMP/w1.log")"
for k in transfers transfer_ids offsets largest_transfers inmates_by_month; do
  ho_assert_eq 0 "$(agg_redis EXISTS "{$AGG_PREFIX}:$k")" "{$AGG_PREFIX}:$k written despite the bad key"
done
agg_redis DEL "{$AGG_PREFIX}:totals" >/dev/null
agg_wait_caught_up 60
agg_stop "$w1"
grep -q 'applied after retrying; resuming' "$HO_TMP/w1.log" || ho_fail "no resume line: $(tail -5 "$HO_TMP/w1.log")"
agg_compare "$HO_TMP/truth.json" "after the key was fixed"
ho_log "ok: a wrong-typed key stopped the apply before any write, and it resumed exactly"
