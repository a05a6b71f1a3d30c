#!/usr/bin/env bash
# replay_as_of: "the counters as they stood at T", whatever order the reports
# arrived in. One history is produced shuffled (not in reported_at order, as
# a backfill or a late feed leaves a topic), the same history sorted into a
# second topic. For several T (before the first report, the median, after
# the last, a bare date), --as-of T --into P equals the ground truth of the
# reports with reported_at <= T (bench/gen --truth-until) on both topics;
# --until T equals it on the sorted topic and says nothing, and on the
# shuffled one warns, per partition, with exactly the number of messages after
# the cut whose reported_at is <= T (counted here from the topic with kcat).
# --as-of T --export holds exactly those reports; --as-of may not replace the
# live counters (exit 2).
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-produce handover-topic handover-replay

agg_setup 3
shuffled=$AGG_TOPIC
sorted=$(ho_unique sorted)
ho_topic_create "$sorted" 3
"$HO_SOURCE_DIR/bench/gen" --reports 3000 --transfers 900 --seed 65 --v1-share 0 \
  --out "$HO_TMP/gen.jsonl" 2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
python3 - "$HO_TMP" <<'PY' || ho_fail "cannot prepare the histories"
import datetime, json, random, sys
tmp = sys.argv[1]
def ts(l): return datetime.datetime.fromisoformat(json.loads(l)["reported_at"].replace("Z", "+00:00"))
lines = [l for l in open(tmp + "/gen.jsonl") if l.strip()]
random.Random(65).shuffle(lines)
open(tmp + "/shuffled.jsonl", "w").writelines(lines)
lines.sort(key=ts)
open(tmp + "/sorted.jsonl", "w").writelines(lines)
at = [ts(l) for l in lines]
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
ms = datetime.timedelta(milliseconds=1)
# T, and the same T as an RFC 3339 time for the truth
ts_ = [("first", fmt(at[0] - ms), fmt(at[0] - ms)),
       ("median", fmt(at[len(at) // 2]), fmt(at[len(at) // 2])),
       ("last", fmt(at[-1]), fmt(at[-1])),
       ("date", at[len(at) * 3 // 10].date().isoformat(), at[len(at) * 3 // 10].date().isoformat() + "T23:59:59.999Z")]
with open(tmp + "/times", "w") as f:
    for name, t, truth_t in ts_:
        until = datetime.datetime.fromisoformat(truth_t.replace("Z", "+00:00"))
        f.write("%s %s %s %d\n" % (name, t, truth_t, sum(1 for a in at if a > until)))
PY
truth_args=()
while read -r name t truth_t _; do truth_args+=(--truth-until "$truth_t" "$HO_TMP/truth.$name.json"); done <"$HO_TMP/times"
"$HO_SOURCE_DIR/bench/gen" --truth-of "$HO_TMP/sorted.jsonl" "${truth_args[@]}" 2>>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen --truth-until failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/shuffled.jsonl"
AGG_TOPIC=$sorted agg_produce "$HO_TMP/sorted.jsonl"

replay() { "$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -p "$AGG_PREFIX" "$@"; }
# each partition's messages as "PARTITION OFFSET TIMESTAMP" (the timestamp is reported_at)
kcat -C -b "$HANDOVER_BROKERS" -t "$shuffled" -e -q -f '%p %o %T\n' >"$HO_TMP/shuffled.msgs" \
  || ho_fail "kcat could not read $shuffled"
ho_assert_eq 3000 "$(wc -l <"$HO_TMP/shuffled.msgs")" "messages on the shuffled topic"

while read -r name t truth_t later; do
  n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["reports"])' "$HO_TMP/truth.$name.json")
  for topic in "$shuffled" "$sorted"; do
    p=$(ho_unique asof)
    replay -t "$topic" --as-of "$t" --into "$p" 2>"$HO_TMP/asof.err" \
      || ho_fail "--as-of $t on $topic failed: $(cat "$HO_TMP/asof.err")"
    grep -q -- "--as-of: $later later reports\? left out" "$HO_TMP/asof.err" \
      || ho_fail "--as-of $t on $topic: expected $later later reports left out: $(cat "$HO_TMP/asof.err")"
    (AGG_PREFIX=$p agg_compare "$HO_TMP/truth.$name.json" "--as-of $t ($name, $n reports) on $topic")
  done

  # --until on the sorted topic: the same truth, and no warning
  p=$(ho_unique until)
  replay -t "$sorted" --until "$t" --into "$p" -q 2>"$HO_TMP/until.err" \
    || ho_fail "--until $t on the sorted topic failed: $(cat "$HO_TMP/until.err")"
  (AGG_PREFIX=$p agg_compare "$HO_TMP/truth.$name.json" "--until $t ($name) on the sorted topic")
  ! grep -q 'after the cut' "$HO_TMP/until.err" || ho_fail "--until $t warned on the sorted topic: $(cat "$HO_TMP/until.err")"

  # --until on the shuffled topic: per partition, the messages after its cut published up to T
  t_ms=$(python3 -c 'import datetime,sys; print(int(datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")).timestamp()*1000))' "$truth_t")
  expect=$(awk -v t="$t_ms" '
    { if (!($1 in cut) && $3 > t) cut[$1] = $2; ts[$1, $2] = $3; last[$1] = ($2 > last[$1] ? $2 : last[$1]) }
    END { for (p in cut) { n = 0; first = -1
            for (o = cut[p] + 1; o <= last[p]; o++) if (ts[p, o] <= t) { n++; if (first < 0) first = o }
            if (n) printf "%s %s %d %d\n", p, cut[p], n, first } }' "$HO_TMP/shuffled.msgs" | sort -n)
  p=$(ho_unique until)
  replay -t "$shuffled" --until "$t" --into "$p" -q 2>"$HO_TMP/until.err" \
    || ho_fail "--until $t on the shuffled topic failed: $(cat "$HO_TMP/until.err")"
  got=$(sed -n 's/.*partition \([0-9]*\) is cut at offset \([0-9]*\) .*, but \([0-9]*\) messages\{0,1\} after it .* (the first at offset \([0-9]*\)).*/\1 \2 \3 \4/p' \
    "$HO_TMP/until.err" | sort -n)
  ho_assert_eq "$expect" "$got" "--until $t ($name) warnings on the shuffled topic (partition cut late first)"
  total=$(awk '{s += $3} END {print s + 0}' <<<"$expect")
  if [ "$total" -gt 0 ]; then
    grep -q -- "$total reports\? published up to .* lie after the cut: .*--as-of" "$HO_TMP/until.err" \
      || ho_fail "--until $t: no summary of $total late reports: $(cat "$HO_TMP/until.err")"
  fi
  ho_log "T=$t ($name): --as-of equals the truth of $n reports on both topics; --until warned of $total on the shuffled one"
done <"$HO_TMP/times"
[ -n "$(awk '$1 == "median"' "$HO_TMP/times")" ] || ho_fail "no median time"

# --as-of --export holds exactly the reports published up to T
read -r _ t _ later < <(awk '$1 == "median"' "$HO_TMP/times")
n=$((3000 - later))
replay -t "$shuffled" --as-of "$t" --export "$HO_TMP/asof.avro" 2>"$HO_TMP/export.err" \
  || ho_fail "--as-of --export failed: $(cat "$HO_TMP/export.err")"
grep -q "3000 messages .*: $n reports, 0 rejected" "$HO_TMP/export.err" \
  || ho_fail "--as-of --export: expected $n reports exported: $(cat "$HO_TMP/export.err")"

# never into the live counters
rc=0; replay -t "$shuffled" --as-of "$t" 2>"$HO_TMP/live.err" || rc=$?
ho_assert_eq 2 "$rc" "exit code of --as-of into the live prefix"
grep -q 'use --into' "$HO_TMP/live.err" || ho_fail "no advice in: $(cat "$HO_TMP/live.err")"
rc=0; replay -t "$shuffled" --as-of "$t" --until "$t" --into x 2>"$HO_TMP/both.err" || rc=$?
ho_assert_eq 2 "$rc" "exit code of --as-of with --until"
ho_log "ok: --as-of equals the truth at 4 times on shuffled and sorted histories; --until warns exactly"
