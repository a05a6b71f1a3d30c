#!/usr/bin/env bash
# replay_until: a history produced in reported_at order (message timestamps
# are reported_at) replayed with --until DATE into another prefix gives
# exactly the truth of the reports with reported_at up to the end of that
# day: "the counters as they stood on DATE". A window --from TIME --until
# TIME gives the truth of the reports inside it. The live prefix, kept by
# two workers, stays the truth of everything.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-replay

agg_setup 3
"$HO_SOURCE_DIR/bench/gen" --reports 3000 --transfers 900 --seed 63 \
  --out "$HO_TMP/gen.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
# In reported_at order, so that "the first message later than T" in each
# partition is also where the reports later than T begin.
python3 - "$HO_TMP" <<'PY' || ho_fail "cannot prepare the windows"
import datetime, json, sys
tmp = sys.argv[1]
def ts(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
lines = [l for l in open(tmp + "/gen.jsonl") if l.strip()]
lines.sort(key=lambda l: ts(json.loads(l)["reported_at"]))
open(tmp + "/sorted.jsonl", "w").writelines(lines)
at = [ts(json.loads(l)["reported_at"]) for l in lines]
day = at[len(at) * 6 // 10].date()              # --until DAY: up to 23:59:59.999 that day
lo = at[len(at) * 3 // 10] + datetime.timedelta(milliseconds=1)
hi = at[len(at) * 8 // 10]
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
open(tmp + "/window.jsonl", "w").writelines(l for l, t in zip(lines, at) if lo <= t <= hi)
open(tmp + "/times", "w").write("%s %s %s\n" % (day.isoformat(), fmt(lo), fmt(hi)))
PY
read -r day from until <"$HO_TMP/times"
"$HO_SOURCE_DIR/bench/gen" --truth-of "$HO_TMP/sorted.jsonl" --truth-until "${day}T23:59:59.999Z" "$HO_TMP/truth_day.json" \
  2>>"$HO_TMP/gen.log" || ho_fail "bench/gen --truth-until failed"
"$HO_SOURCE_DIR/bench/gen" --truth-of "$HO_TMP/window.jsonl" --truth "$HO_TMP/truth_window.json" \
  2>>"$HO_TMP/gen.log" || ho_fail "bench/gen --truth-of the window failed"

agg_produce "$HO_TMP/sorted.jsonl"
agg_start w1
agg_start w2
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "live state"

replay() { "$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" -p "$AGG_PREFIX" -q "$@"; }
p_day=$(ho_unique day)
replay --until "$day" --into "$p_day" || ho_fail "replay --until $day failed"
(AGG_PREFIX=$p_day agg_compare "$HO_TMP/truth_day.json" "state --until $day")
n_day=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["reports"])' "$HO_TMP/truth_day.json")

p_win=$(ho_unique win)
replay --from "$from" --until "$until" --into "$p_win" || ho_fail "replay --from $from --until $until failed"
(AGG_PREFIX=$p_win agg_compare "$HO_TMP/truth_window.json" "state --from $from --until $until")

# explicit offsets: every partition from 0 is the whole history
p_off=$(ho_unique off)
replay --from "0:0,1:0,2:0" --into "$p_off" || ho_fail "replay --from 0:0,1:0,2:0 failed"
(AGG_PREFIX=$p_off agg_compare "$HO_TMP/truth.json" "state --from 0:0,1:0,2:0")
rc=0; replay --from "7:0" --into "$p_off" 2>"$HO_TMP/nopart.err" || rc=$?
ho_assert_eq 2 "$rc" "exit code of --from a partition the topic lacks (usage)"
grep -q 'has no partition 7' "$HO_TMP/nopart.err" || ho_fail "unclear message: $(cat "$HO_TMP/nopart.err")"

# a window that lacks the start may not replace the live counters
rc=0; replay --from "$from" 2>"$HO_TMP/refused.err" || rc=$?
ho_assert_eq 2 "$rc" "exit code of --from TIME into the live prefix"
grep -q 'use --into' "$HO_TMP/refused.err" || ho_fail "no advice in: $(cat "$HO_TMP/refused.err")"
agg_compare "$HO_TMP/truth.json" "live state after the window replays"
for p in "$p_day" "$p_win" "$p_off"; do
  agg_redis --scan --pattern "{$p}:*" | xargs -r redis-cli -u "$AGG_REDIS" --no-auth-warning DEL >/dev/null
done
ho_log "ok: --until $day ($n_day reports) and --from $from --until $until equal their truths; live untouched"
