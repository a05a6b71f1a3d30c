#!/usr/bin/env bash
# fault_new_partitions: partitions added to the topic while a worker runs are
# consumed within seconds (the worker's topic.metadata.refresh.interval.ms
# default of 5 s; librdkafka's own is 5 minutes), their reports counted
# exactly, and handover-stats -b counts the lag of partitions no worker has
# stored an offset for.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-stats
kit=$HO_BIN_DIR/../tests/ho_testkit
[ -x "$kit" ] || ho_fail "missing $kit (build first)"

agg_setup 1
python3 "$HO_SOURCE_DIR/bench/gen" --reports 400 --transfers 120 --seed 7 \
  --out "$HO_TMP/all.jsonl" --truth "$HO_TMP/truth.json" \
  2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
head -n 200 "$HO_TMP/all.jsonl" >"$HO_TMP/a.jsonl"
tail -n +201 "$HO_TMP/all.jsonl" >"$HO_TMP/b.jsonl"

# one worker: a second one joining late would rebalance the group with fresh metadata and
# hide the wait
agg_start w1; w1=$HO_LAST_PID
agg_produce "$HO_TMP/a.jsonl" -q
agg_wait_caught_up 60

"$kit" add-partitions "$HANDOVER_BROKERS" "$AGG_TOPIC" 4 2>"$HO_TMP/kit.log" \
  || ho_fail "cannot add partitions: $(cat "$HO_TMP/kit.log")"
AGG_PARTS=4
# (no SIGSTOP of the workers here: the missed heartbeats would make them refresh their
# metadata at once and hide the 5-minute wait)
agg_produce "$HO_TMP/b.jsonl" -q
# handover-stats -b takes the partitions from fresh metadata, not from what a worker owns:
# every partition is listed, and one without a stored offset lags by all it holds
agg_redis HGETALL "{$AGG_PREFIX}:offsets" >"$HO_TMP/offsets.txt"
"$HO_BIN_DIR/handover-stats" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -r "$AGG_REDIS" \
  -p "$AGG_PREFIX" --json >"$HO_TMP/stats.json" 2>"$HO_TMP/stats.err" \
  || ho_fail "handover-stats failed: $(cat "$HO_TMP/stats.err")"
python3 - "$HO_TMP/stats.json" "$HO_TMP/offsets.txt" "$AGG_TOPIC" <<'PY' || ho_fail "handover-stats -b did not count the new partitions' lag"
import json, sys
lag = json.load(open(sys.argv[1]))["lag"]
kv = open(sys.argv[2]).read().split()
before = {int(k.rsplit(":", 1)[1]) for k in kv[0::2] if k.startswith(sys.argv[3] + ":")}
assert sorted(p["partition"] for p in lag["partitions"]) == [0, 1, 2, 3], lag
for p in lag["partitions"]:
    assert p["lag"] == max(p["high"] - p["next"], 0), p
    if p["partition"] not in before:  # nobody had stored an offset when the offsets were read
        assert p["next"] == 0, p
PY
for p in 1 2 3; do
  [ "$(agg_watermarks | awk -v p=$p '$1 == p {print $2}')" -gt 0 ] || ho_fail "no report went to new partition $p"
done
start=$(date +%s)
agg_wait_caught_up 30
ho_log "new partitions consumed $(( $(date +%s) - start )) s after their reports were sent"
agg_compare "$HO_TMP/truth.json" "after adding partitions"
grep -q "assigned \"$AGG_TOPIC\" \[3\]" "$HO_TMP/w1.log" || ho_fail "the worker did not log taking partition 3"
agg_stop "$w1"
ho_log "ok: partitions added while the worker ran were consumed within seconds and counted exactly"
