#!/usr/bin/env bash
# replay_memory: a replay over its memory cap still ends exact. A history
# (v1 and v2 values, duplicates, revisions out of order, three values that do
# not decode) is kept live by a worker; replays with a --memory-max far below
# what the fold needs read the window once per bucket of transfers (the
# summary says how many reads), and every one equals the ground truth:
# --into another prefix, a --dry-run against the live counters, and a full
# rebuild switched into the live prefix. The rejects are counted once, not
# once per read. With the default cap the same history takes one read. Bad
# --memory-max values are usage errors. The last reports of the history go in
# under message keys that are not their transfer ids (another producer's
# keying): a bucket's read skips other buckets' messages by key only where
# every key was its report's transfer id, so these must still count.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-replay handover-schema

agg_setup 3
"$HO_SOURCE_DIR/bench/gen" --reports 6000 --transfers 1800 --seed 66 --v1-share 0.3 \
  --out "$HO_TMP/v2.jsonl" --v1-out "$HO_TMP/v1.jsonl" --truth "$HO_TMP/truth.json" \
  2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
head -n -40 "$HO_TMP/v2.jsonl" >"$HO_TMP/v2a.jsonl"
tail -n 40 "$HO_TMP/v2.jsonl" >"$HO_TMP/v2b.jsonl"
agg_produce "$HO_TMP/v2a.jsonl"
agg_produce "$HO_TMP/v1.jsonl" --schema v1
"$HO_BIN_DIR/handover-schema" encode --schema v2 "$HO_TMP/v2b.jsonl" >"$HO_TMP/v2b.framed" \
  || ho_fail "handover-schema encode failed"
python3 -c 'import json, sys
for i, l in enumerate(open(sys.argv[1])):
    print(json.dumps(dict(json.loads(l), transfer_id="not-the-tid-%d" % i)))' \
  "$HO_TMP/v2b.jsonl" >"$HO_TMP/v2b.keys.jsonl"
python3 "$HO_SOURCE_DIR/bench/benchkit.py" kcat-input "$HO_TMP/v2b.framed" "$HO_TMP/v2b.keys.jsonl" \
  "$HO_TMP/v2b.kcat" >"$HO_TMP/v2b.kcat.json" || ho_fail "benchkit.py kcat-input failed"
kd=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["key_delim"])' "$HO_TMP/v2b.kcat.json")
dd=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["msg_delim"])' "$HO_TMP/v2b.kcat.json")
kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -p 0 -K "$kd" -D "$dd" -l "$HO_TMP/v2b.kcat" \
  || ho_fail "cannot produce the wrongly keyed reports with kcat"
printf 'not avro %s\n' 1 2 3 | kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -p 1 \
  || ho_fail "cannot produce garbage with kcat"
agg_start w1
w1=$HO_LAST_PID
agg_wait_caught_up 120
agg_stop "$w1"

replay() { "$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" -p "$AGG_PREFIX" "$@"; }
# compare with the truth (which knows nothing of the garbage) and check the rejects apart
exact() { # exact PREFIX LABEL
  python3 "$HO_SOURCE_DIR/tests/lib/redis_state.py" --redis "$AGG_REDIS" --prefix "$1" >"$HO_TMP/state.json" \
    || ho_fail "redis_state.py failed"
  python3 "$HO_SOURCE_DIR/tests/lib/compare_state.py" --ignore totals.rejected "$HO_TMP/truth.json" \
    "$HO_TMP/state.json" >&2 || ho_fail "$2: Redis state differs from the ground truth"
  ho_assert_eq 3 "$(agg_redis HGET "{$1}:totals" rejected)" "$2: totals.rejected"
}
reads() { sed -n 's/.* folded in \([0-9]*\) reads\{0,1\} of the window (\([0-9]*\) buckets\{0,1\}.*/\1 \2/p' "$1"; }
exact "$AGG_PREFIX" "live state"

for cap in 96K 256K; do
  p=$(ho_unique cap)
  replay --memory-max "$cap" --into "$p" 2>"$HO_TMP/cap.err" || ho_fail "replay --memory-max $cap failed: $(cat "$HO_TMP/cap.err")"
  read -r n k < <(reads "$HO_TMP/cap.err")
  [ "${k:-1}" -gt 1 ] && [ "$n" -gt "$k" ] \
    || ho_fail "--memory-max $cap did not split the window into buckets: $(cat "$HO_TMP/cap.err")"
  grep -q '6003 messages .*6000 reports, 3 rejected' "$HO_TMP/cap.err" \
    || ho_fail "--memory-max $cap: messages counted more than once: $(cat "$HO_TMP/cap.err")"
  exact "$p" "--memory-max $cap ($n reads, $k buckets)"
  ho_log "--memory-max $cap: $n reads of the window, $k buckets, exact"
done

# the default cap: one read
p=$(ho_unique full)
replay --into "$p" 2>"$HO_TMP/full.err" || ho_fail "replay --into failed: $(cat "$HO_TMP/full.err")"
ho_assert_eq "1 1" "$(reads "$HO_TMP/full.err")" "reads and buckets with the default cap"
exact "$p" "the default cap"

# a dry run over the cap finds the live counters; a rebuild over the cap switched in is exact
replay --memory-max 128K --dry-run -q >"$HO_TMP/dry.out" 2>"$HO_TMP/dry.err" \
  || ho_fail "replay --memory-max 128K --dry-run failed: $(cat "$HO_TMP/dry.err")"
grep -q '^no differences$' "$HO_TMP/dry.out" || { cat "$HO_TMP/dry.out" >&2; ho_fail "dry run over the cap found differences"; }
fences() { for p in 0 1 2; do agg_redis GET "{$AGG_PREFIX}:fence:$p"; done | paste -sd' '; }
before=$(fences)
replay --memory-max 128K -q 2>"$HO_TMP/live.err" || ho_fail "rebuild over the cap failed: $(cat "$HO_TMP/live.err")"
# the switch INCRed the fence of every partition once (workers WATCH them)
want=$(for v in $before; do echo $((v + 1)); done | paste -sd' ')
ho_assert_eq "$want" "$(fences)" "fence keys after the switch (before: $before)"
ho_assert_eq 0 "$(agg_redis EXISTS "{$AGG_PREFIX}:report_ids" "{$AGG_PREFIX}:transfer_revs")" "old layout keys after the switch"
exact "$AGG_PREFIX" "rebuild over the cap, switched in"
agg_caught_up || ho_fail "stored offsets after the rebuild are not the topic's end"
ho_assert_eq 0 "$(agg_redis --scan --pattern "{$AGG_PREFIX}:staging:*" | wc -l)" "staging keys left after the switch"

for bad in 12Q 10K -5M ""; do
  rc=0; replay --memory-max "$bad" --into x -q 2>"$HO_TMP/bad.err" || rc=$?
  ho_assert_eq 2 "$rc" "exit code of --memory-max '$bad'"
  grep -q -- '--memory-max .*expected a size' "$HO_TMP/bad.err" || ho_fail "unclear message: $(cat "$HO_TMP/bad.err")"
done
ho_log "ok: replays over their memory cap equal the truth; the default cap reads once"
