#!/usr/bin/env bash
# replay_truncated: a rebuild that cannot see the whole history refuses to
# switch. Records are deleted from the start of one partition with Kafka's
# own DeleteRecordsCommand (kafka-delete-records.sh, from the stack's Kafka
# jars); then a full rebuild, a rebuild --into another prefix and a --dry-run
# exit 1 naming the partition, its first available offset and how many
# records are gone (the other partition is not named), and the live counters,
# their updated_at and the staging keys are untouched. --from an offset below
# the low watermark is refused the same way, --from at or above it is not.
# With --accept-truncated the rebuild is made from what is left and equals
# the ground truth of exactly the records that remain.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-replay
command -v java >/dev/null || ho_fail "needs java (deploy/install-deps) for Kafka's DeleteRecordsCommand"
libs=${HO_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/handover}/kafka-${HO_KAFKA_VERSION:-3.9.1}/libs
[ -f "$libs/.complete" ] || ho_fail "needs the stack's Kafka jars in $libs (deploy/local/stack up fetches them)"

agg_setup 2
"$HO_SOURCE_DIR/bench/gen" --reports 2000 --transfers 600 --seed 67 \
  --out "$HO_TMP/gen.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/gen.jsonl"
agg_start w1
w1=$HO_LAST_PID
agg_wait_caught_up 120
agg_stop "$w1"
agg_compare "$HO_TMP/truth.json" "live state"

# delete partition 0's first 100 records
gone=100
printf '{"version":1,"partitions":[{"topic":"%s","partition":0,"offset":%d}]}\n' "$AGG_TOPIC" "$gone" \
  >"$HO_TMP/delete.json"
java -Xmx256m -cp "$libs/*" org.apache.kafka.tools.DeleteRecordsCommand \
  --bootstrap-server "$HANDOVER_BROKERS" --offset-json-file "$HO_TMP/delete.json" \
  >"$HO_TMP/delete.log" 2>&1 || ho_fail "DeleteRecordsCommand failed: $(tail -5 "$HO_TMP/delete.log")"
lo=$(kcat -Q -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC:0:-2" 2>/dev/null | awk '{print $4}')
ho_assert_eq "$gone" "$lo" "low watermark of partition 0 after the deletion"

# the truth of what is left: each line's partition and offset, from the topic's keys
# (handover-produce keys by transfer id and sends in file order)
kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -p 1 -e -q -f '%k\n' >"$HO_TMP/keys.1" || ho_fail "kcat failed"
kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -p 0 -e -q -f '%o %k\n' >"$HO_TMP/keys.0" || ho_fail "kcat failed"
python3 - "$HO_TMP" "$gone" <<'PY' || ho_fail "cannot work out which lines are left"
import json, sys
tmp, gone = sys.argv[1], int(sys.argv[2])
keys1 = set(open(tmp + "/keys.1").read().split())
left0 = [l.split() for l in open(tmp + "/keys.0") if l.strip()]
lines = [l for l in open(tmp + "/gen.jsonl") if l.strip()]
off = 0
kept = []
p0 = []
for l in lines:
    tid = json.loads(l)["transfer_id"]
    if tid in keys1:
        kept.append(l)
        continue
    p0.append(tid)
    if off >= gone:
        kept.append(l)
    off += 1
# the keys partition 0 still holds are exactly the lines from offset `gone` on
assert [k for _, k in left0] == p0[gone:], "partition 0 does not hold the lines expected"
assert int(left0[0][0]) == gone
open(tmp + "/left.jsonl", "w").writelines(kept)
PY
"$HO_SOURCE_DIR/bench/gen" --truth-of "$HO_TMP/left.jsonl" --truth "$HO_TMP/truth_left.json" \
  2>>"$HO_TMP/gen.log" || ho_fail "bench/gen --truth-of failed"

replay() { "$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" -p "$AGG_PREFIX" "$@"; }
updated=$(agg_redis HGET "{$AGG_PREFIX}:totals" updated_at)
expect="partition 0 of \"$AGG_TOPIC\": offsets 0..$((gone - 1)) are gone (the first available is $gone): up to $gone records missing"
refused() { # refused LABEL FILE: the run said what is missing, and only that
  grep -qF "$expect" "$2" || ho_fail "$1: does not name what is missing: $(cat "$2")"
  ! grep -q "partition 1 of" "$2" || ho_fail "$1: names partition 1, which is whole: $(cat "$2")"
  grep -q 'is truncated .*nothing switched .*--accept-truncated' "$2" || ho_fail "$1: unclear refusal: $(cat "$2")"
  ho_assert_eq "$updated" "$(agg_redis HGET "{$AGG_PREFIX}:totals" updated_at)" "$1: live updated_at"
  ho_assert_eq 0 "$(agg_redis --scan --pattern "{$AGG_PREFIX}:staging:*" | wc -l)" "$1: staging keys left"
}

rc=0; replay -q 2>"$HO_TMP/full.err" || rc=$?
ho_assert_eq 1 "$rc" "exit code of a full rebuild of a truncated history"
refused "full rebuild" "$HO_TMP/full.err"
agg_compare "$HO_TMP/truth.json" "live state after the refused rebuild"

p2=$(ho_unique into)
rc=0; replay --into "$p2" -q 2>"$HO_TMP/into.err" || rc=$?
ho_assert_eq 1 "$rc" "exit code of a rebuild --into of a truncated history"
refused "--into" "$HO_TMP/into.err"
ho_assert_eq 0 "$(agg_redis EXISTS "{$p2}:totals")" "totals built --into by a refused rebuild"

rc=0; replay --dry-run -q >"$HO_TMP/dry.out" 2>"$HO_TMP/dry.err" || rc=$?
ho_assert_eq 1 "$rc" "exit code of a --dry-run of a truncated history"
grep -qF "truncated history: $expect" "$HO_TMP/dry.out" || ho_fail "--dry-run's report lacks the loss: $(cat "$HO_TMP/dry.out")"
grep -Eq '^  reports +[0-9]+ +[0-9]+ +-[0-9]+$' "$HO_TMP/dry.out" || ho_fail "--dry-run's table lacks the smaller count: $(cat "$HO_TMP/dry.out")"
refused "--dry-run" "$HO_TMP/dry.err"

rc=0; replay --from 0:50 --into "$p2" -q 2>"$HO_TMP/from.err" || rc=$?
ho_assert_eq 1 "$rc" "exit code of --from an offset below the low watermark"
grep -qF "partition 0 of \"$AGG_TOPIC\": offsets 50..$((gone - 1)) are gone (the first available is $gone): up to $((gone - 50)) records missing" \
  "$HO_TMP/from.err" || ho_fail "--from 0:50: does not name what is missing: $(cat "$HO_TMP/from.err")"
replay --from "0:$gone" --into "$p2" -q 2>"$HO_TMP/from.err" || ho_fail "--from 0:$gone (nothing missing) failed: $(cat "$HO_TMP/from.err")"
(AGG_PREFIX=$p2 agg_compare "$HO_TMP/truth_left.json" "--from 0:$gone")

# accepted: the state of exactly what is left
p3=$(ho_unique accepted)
replay --accept-truncated --into "$p3" -q 2>"$HO_TMP/acc.err" || ho_fail "--accept-truncated failed: $(cat "$HO_TMP/acc.err")"
grep -qF "$expect" "$HO_TMP/acc.err" || ho_fail "--accept-truncated does not warn of the loss: $(cat "$HO_TMP/acc.err")"
(AGG_PREFIX=$p3 agg_compare "$HO_TMP/truth_left.json" "--accept-truncated --into")
replay --accept-truncated -q 2>"$HO_TMP/acc.err" || ho_fail "--accept-truncated (live) failed: $(cat "$HO_TMP/acc.err")"
agg_compare "$HO_TMP/truth_left.json" "live state after --accept-truncated"
ho_log "ok: a truncated history ($gone records gone from partition 0) is refused with what is missing; accepted, it rebuilds exactly what is left"
