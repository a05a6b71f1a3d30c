#!/usr/bin/env bash
# rcluster_pipeline: the pipeline against a Redis Cluster of three masters (redis+cluster://),
# with three prefixes whose slots are on three different masters: two workers of one group for
# the first, one worker each for the others, all from the same topic. Each prefix's counters
# equal the ground truth and live only on its slot's master; handover-stats reads them through
# the cluster, and handover-replay rebuilds a fourth prefix from the topic on whichever master
# owns its slot.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
source "$HO_SOURCE_DIR/tests/lib/rcluster.sh"
ho_require_kafka
ho_need_bin handover-aggregate handover-produce handover-topic handover-stats handover-replay

rc_up 3
agg_setup 6
mapfile -t prefixes < <(rc_prefixes 3)
[ "${#prefixes[@]}" = 3 ] || ho_fail "expected 3 prefixes, got ${#prefixes[@]}"
for p in "${prefixes[@]}"; do
  ho_log "prefix $p: slot $(rc_slot "{$p}:totals") on master port $(rc_owner "$(rc_slot "{$p}:totals")")"
done

python3 "$HO_SOURCE_DIR/bench/gen" --reports 20000 --transfers 5000 --seed 41 \
  --out "$HO_TMP/v2.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"

TOPIC_GROUP=$AGG_GROUP
start_for() { # start_for INDEX NAME: a worker for prefixes[INDEX] in its own group
  AGG_PREFIX=${prefixes[$1]} AGG_GROUP=$TOPIC_GROUP-$1 agg_start "$2" --batch-max 200
}
start_for 0 a1; start_for 0 a2; start_for 1 b1; start_for 2 c1
ho_wait_until 60 bash -c "grep -q 'assigned \"' '$HO_TMP/a1.log' && grep -q 'assigned \"' '$HO_TMP/b1.log' && grep -q 'assigned \"' '$HO_TMP/c1.log'" \
  || ho_fail "the workers got no partitions"
agg_produce "$HO_TMP/v2.jsonl"
ho_assert_eq 20000 "$(agg_topic_count)" "messages on the topic"

for p in "${prefixes[@]}"; do
  AGG_PREFIX=$p
  agg_wait_caught_up 120
  agg_compare "$HO_TMP/truth.json" "prefix $p through the cluster"
  owner=$(rc_owner "$(rc_slot "{$p}:totals")")
  for port in "${RC_PORTS[@]}"; do
    n=$(rc_cli "$port" --scan --pattern "{$p}:*" | wc -l)
    if [ "$port" = "$owner" ]; then
      [ "$n" -ge 10 ] || ho_fail "prefix $p: its master (port $owner) holds only $n keys"
    else
      ho_assert_eq 0 "$n" "keys of prefix $p on master port $port (not its slot's owner)"
    fi
  done
done
ho_log "three prefixes exact, each on its own master"

# handover-stats through the cluster: its totals are the truth's
"$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "${prefixes[1]}" --json >"$HO_TMP/stats.json" \
  || ho_fail "handover-stats failed against the cluster"
python3 - "$HO_TMP/truth.json" "$HO_TMP/stats.json" <<'PY' || ho_fail "handover-stats' totals differ from the truth"
import json, sys
truth = json.load(open(sys.argv[1]))["totals"]
got = json.load(open(sys.argv[2]))["totals"]
bad = {k: (v, got.get(k)) for k, v in truth.items() if got.get(k) != v}
if bad:
    print("differs (truth, stats):", bad, file=sys.stderr)
    sys.exit(1)
PY

# handover-replay builds a fourth prefix through the cluster: equal to the truth too
into=$(ho_unique p)
"$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" -p "${prefixes[0]}" \
  --into "$into" >"$HO_TMP/replay.out" 2>"$HO_TMP/replay.log" \
  || { tail -20 "$HO_TMP/replay.log" >&2; ho_fail "handover-replay --into failed against the cluster"; }
AGG_PREFIX=$into agg_compare "$HO_TMP/truth.json" "replay into $into (slot $(rc_slot "{$into}:totals"))"

for pid in "${HO_PIDS[@]}"; do agg_stop "$pid" 15; done
HO_PIDS=()
ho_log "ok: three prefixes on three masters, stats and replay through the cluster, all exact"
