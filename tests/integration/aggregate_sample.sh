#!/usr/bin/env bash
# aggregate_sample: the sample reports, sent three times (as is, again, and in
# reverse order) and read by two workers of one group, yield exactly the
# figures the reports imply: the revision replaces the early count, the
# duplicates change nothing, the order does not matter.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

agg_setup 3
sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
agg_produce "$sample"

# Readers follow live on {P}:updates: listen from before the first apply.
timeout 60 redis-cli -u "$AGG_REDIS" --no-auth-warning SUBSCRIBE "{$AGG_PREFIX}:updates" \
  >"$HO_TMP/updates.txt" 2>&1 &
sub=$!
HO_PIDS+=("$sub")
subscribed() { [ "$(agg_redis PUBSUB NUMSUB "{$AGG_PREFIX}:updates" | sed -n 2p)" -ge 1 ]; }
ho_wait_until 20 subscribed || ho_fail "redis-cli did not subscribe to {$AGG_PREFIX}:updates"

agg_start w1
w1=$HO_LAST_PID
agg_start w2
w2=$HO_LAST_PID
agg_wait_caught_up 60
# the same reports again, then in reverse order (the revision before its original)
agg_produce "$sample"
tac "$sample" >"$HO_TMP/reversed.jsonl"
agg_produce "$HO_TMP/reversed.jsonl"
agg_wait_caught_up 60
agg_stop "$w1"
agg_stop "$w2"

h() { agg_redis HGET "{$AGG_PREFIX}:$1" "$2"; }
ho_assert_eq 15 "$(agg_topic_count)" "messages on the topic"
ho_assert_eq 3 "$(h totals transfers)" "totals.transfers"
ho_assert_eq 92 "$(h totals inmates)" "totals.inmates"
ho_assert_eq 4 "$(h totals reports)" "totals.reports (distinct report ids)"
ho_assert_eq 7 "$(h totals aircraft)" "totals.aircraft"
ho_assert_eq 5 "$(h totals persons)" "totals.persons"
ho_assert_eq 0 "$(h totals rejected)" "totals.rejected"
ho_assert_eq 2025-02-27 "$(h totals first_transfer_on)" "totals.first_transfer_on"
ho_assert_eq 2026-01-20 "$(h totals last_transfer_on)" "totals.last_transfer_on"

sorted_hash() { agg_redis HGETALL "{$AGG_PREFIX}:$1" | paste - - | sort | tr '\t' '=' | paste -sd' '; }
ho_assert_eq "2025-02=29 2025-08=26 2026-01=37" "$(sorted_hash inmates_by_month)" "inmates_by_month"
ho_assert_eq "MX-US=92" "$(sorted_hash inmates_by_route)" "inmates_by_route"
ho_assert_eq "Houston=1 New York=1 Pennsylvania=1 San Antonio=1 San Diego=1 Washington=1" \
  "$(sorted_hash transfers_by_destination)" "transfers_by_destination"
ho_assert_eq "mx-us-2025-08-12=26 mx-us-2025-02-27=29 mx-us-2026-01-20=37" \
  "$(agg_redis ZRANGE "{$AGG_PREFIX}:largest_transfers" 0 -1 WITHSCORES | paste - - | tr '\t' '=' | paste -sd' ')" \
  "largest_transfers"
ho_assert_eq 3 "$(agg_redis HLEN "{$AGG_PREFIX}:transfers")" "transfer states"
# the revised transfer's state is the revision (26), with both of its reports counted
python3 - "$(h transfers mx-us-2025-08-12)" <<'EOF' || ho_fail "state of mx-us-2025-08-12 is wrong"
import json, sys
s = json.loads(sys.argv[1])
assert s["inmate_count"] == 26, s
assert s.get("cumulative_total") == 55, s
assert s.get("reports") == 2, f"expected \"reports\": 2 in {s}"
EOF
# the stored offsets are the topic's end, partition by partition
while read -r p n; do
  stored=$(h offsets "$AGG_TOPIC:$p"); ho_assert_eq "$n" "${stored:-0}" "stored offset of partition $p"
done < <(agg_watermarks)
kill "$sub" 2>/dev/null || true
grep -q "{$AGG_PREFIX}:updates" "$HO_TMP/updates.txt" && [ "$(grep -c '^message$' "$HO_TMP/updates.txt")" -ge 1 ] \
  || ho_fail "no message on {$AGG_PREFIX}:updates"
ho_log "ok: 3 transfers, 92 inmates, 4 reports; $(grep -c '^message$' "$HO_TMP/updates.txt") update messages"
