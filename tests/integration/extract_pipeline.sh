#!/usr/bin/env bash
# extract_pipeline: news articles -> handover-extract -> handover-produce ->
# two handover-aggregate workers -> handover-stats --audit, on the real Kafka
# and Redis. Two articles about the 2026-01-20 transfer (an early one with 35,
# a later one with 37) and one each about 2025-02-27 and 2025-08-12 reconcile
# to 29 + 26 + 37 = 92: the later report revises the early one. Also: the
# evidence points at the quoted bytes, stories without a transfer print
# nothing and exit 1, incomplete reports (--partial) are refused by
# handover-produce, a bad --jsonl line stops its file, and usage errors exit 2.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-extract handover-produce handover-aggregate handover-topic handover-stats

A=$HO_SOURCE_DIR/tests/data/articles
X=$HO_BIN_DIR/handover-extract
articles=("$A/03-reuters-est-first-transfer.txt" "$A/04-efe-gmt-offset-second.txt"
          "$A/02-ap-cst-early-count.txt" "$A/01-wire-jst-third-transfer.txt")

# articles -> reports, with the evidence
rc=0; "$X" --evidence "$HO_TMP/evidence.jsonl" "${articles[@]}" >"$HO_TMP/reports.jsonl" 2>"$HO_TMP/extract.err" || rc=$?
ho_assert_eq 0 "$rc" "exit code of handover-extract on four transfer articles"
ho_assert_eq 4 "$(wc -l <"$HO_TMP/reports.jsonl")" "reports printed"
grep -qF "handover-extract: 4 articles: 4 reports, 0 incomplete, 0 without a transfer" "$HO_TMP/extract.err" \
  || { cat "$HO_TMP/extract.err" >&2; ho_fail "summary line"; }
grep -qF "01-wire-jst-third-transfer.txt: mx-us-2026-01-20: 37 inmates MX->US, 7 aircraft, 6 destinations, total 92, 1 person, source Reuters" \
  "$HO_TMP/extract.err" || { cat "$HO_TMP/extract.err" >&2; ho_fail "per-article summary"; }
python3 - "$HO_TMP/evidence.jsonl" "$A/01-wire-jst-third-transfer.txt" <<'PY' || ho_fail "the evidence is wrong"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert len(ev) == 4 and all(e["status"] == "complete" for e in ev), ev
last = ev[3]
assert last["input"].endswith("01-wire-jst-third-transfer.txt") and last["transfer_id"] == "mx-us-2026-01-20"
raw = open(sys.argv[2], "rb").read()
by = {}
for f in last["fields"]:
    by.setdefault(f["field"], []).append(f)
    if f["quote"] is not None:  # every span quotes the input's bytes
        assert raw[f["start"]:f["end"]].decode() == f["quote"], f
assert [f["quote"] for f in by["inmate_count"]] == ["37 people"], by["inmate_count"]
assert by["cumulative_total"][0]["quote"].endswith("to 92"), by["cumulative_total"]
assert "Jan 20" in [f["quote"] for f in by["occurred_on"]], by["occurred_on"]
assert by["reported_at"][0]["quote"] == "14:47 JST, January 21, 2026"
assert [f["quote"] for f in by["destinations"]] == ["Washington", "Houston", "New York", "Pennsylvania", "San Antonio", "San Diego"]
assert last["ordinal"] == 3 and last["missing"] == [], last
PY

# the output is what handover-produce reads: it validates and encodes all of it
"$HO_BIN_DIR/handover-produce" --dry-run -q "$HO_TMP/reports.jsonl" 2>"$HO_TMP/dry.err" \
  || ho_fail "handover-produce --dry-run refused the extracted reports: $(cat "$HO_TMP/dry.err")"

# the pipeline itself, through a pipe as the README shows it
agg_setup 3
"$X" -q "${articles[@]}" 2>>"$HO_TMP/extract.err" \
  | "$HO_BIN_DIR/handover-produce" -q -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" 2>>"$HO_TMP/produce.log" \
  || { tail "$HO_TMP/produce.log" >&2; ho_fail "handover-extract | handover-produce failed"; }
ho_assert_eq 4 "$(agg_topic_count)" "messages on the topic"
agg_start w1
w1=$HO_LAST_PID
agg_start w2
w2=$HO_LAST_PID
agg_wait_caught_up 60
agg_stop "$w1"
agg_stop "$w2"

h() { agg_redis HGET "{$AGG_PREFIX}:$1" "$2"; }
ho_assert_eq 3 "$(h totals transfers)" "totals.transfers"
ho_assert_eq 92 "$(h totals inmates)" "totals.inmates (29 + 26 + 37)"
ho_assert_eq 4 "$(h totals reports)" "totals.reports"
ho_assert_eq 7 "$(h totals aircraft)" "totals.aircraft"
ho_assert_eq 5 "$(h totals persons)" "totals.persons (4 + 1)"
python3 - "$(h transfers mx-us-2026-01-20)" <<'PY' || ho_fail "state of mx-us-2026-01-20 is wrong"
import json, sys
s = json.loads(sys.argv[1])
assert s["inmate_count"] == 37 and s["cumulative_total"] == 92 and s["source"] == "Reuters", s
assert s["reports"] == 2, s
PY

rc=0; "$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "$AGG_PREFIX" --audit >"$HO_TMP/audit.txt" || rc=$?
ho_assert_eq 0 "$rc" "exit code of --audit"
for line in "2025-08-12 mx-us-2025-08-12 claims 55: 29 + 26 = 55 ✓" \
            "2026-01-20 mx-us-2026-01-20 claims 92: 29 + 26 + 37 = 92 ✓" \
            "audit: 2 claims of cumulative_total, 2 agree, 0 disagree"; do
  grep -qF "$line" "$HO_TMP/audit.txt" || { cat "$HO_TMP/audit.txt" >&2; ho_fail "--audit lacks: $line"; }
done

# stories without a transfer: nothing printed, exit 1
rc=0; "$X" "$A/05-no-transfer-arrest.txt" "$A/08-no-transfer-furniture-only.txt" >"$HO_TMP/none.out" 2>"$HO_TMP/none.err" || rc=$?
ho_assert_eq 1 "$rc" "exit code on stories without a transfer"
ho_assert_eq 0 "$(wc -c <"$HO_TMP/none.out")" "bytes printed for stories without a transfer"
grep -qF "08-no-transfer-furniture-only.txt: no transfer:" "$HO_TMP/none.err" || ho_fail "no reason given: $(cat "$HO_TMP/none.err")"

# an incomplete report: not printed, exit 1; with --partial printed, and refused by handover-produce
rc=0; "$X" "$A/13-incomplete-vague-date.txt" >"$HO_TMP/inc.out" 2>"$HO_TMP/inc.err" || rc=$?
ho_assert_eq 1 "$rc" "exit code on an incomplete report"
ho_assert_eq 0 "$(wc -c <"$HO_TMP/inc.out")" "bytes printed for an incomplete report without --partial"
grep -qF "not found: transfer_id, occurred_on, reported_at" "$HO_TMP/inc.err" || ho_fail "incomplete summary: $(cat "$HO_TMP/inc.err")"
rc=0; "$X" --partial "$A/13-incomplete-vague-date.txt" >"$HO_TMP/inc.out" 2>/dev/null || rc=$?
ho_assert_eq 1 "$rc" "exit code with --partial on an incomplete report"
ho_assert_eq 1 "$(wc -l <"$HO_TMP/inc.out")" "lines printed with --partial"
rc=0; "$HO_BIN_DIR/handover-produce" --dry-run -q "$HO_TMP/inc.out" 2>"$HO_TMP/inc.produce" || rc=$?
ho_assert_eq 1 "$rc" "handover-produce on an incomplete report"
grep -qF 'missing field "transfer_id"' "$HO_TMP/inc.produce" || ho_fail "produce's message: $(cat "$HO_TMP/inc.produce")"

# --jsonl: metadata fills source and reported_at; a bad line stops its file
rc=0; "$X" --jsonl "$A/12-jsonl-meta.jsonl" >"$HO_TMP/jl.out" 2>"$HO_TMP/jl.err" || rc=$?
ho_assert_eq 0 "$rc" "exit code on a --jsonl article"
grep -qF '"reported_at":"2025-08-12T23:30:00Z","source":"Example News"' "$HO_TMP/jl.out" || ho_fail "--jsonl report: $(cat "$HO_TMP/jl.out")"
{ cat "$A/12-jsonl-meta.jsonl"; echo '{"text": "x", "published": "2025-08-12"}'; } >"$HO_TMP/bad.jsonl"
rc=0; "$X" --jsonl "$HO_TMP/bad.jsonl" >"$HO_TMP/bad.out" 2>"$HO_TMP/bad.err" || rc=$?
ho_assert_eq 1 "$rc" "exit code on a bad --jsonl line"
ho_assert_eq 0 "$(wc -c <"$HO_TMP/bad.out")" "bytes printed from a file with a bad line"
grep -qF "bad.jsonl:2: unknown member \"published\"" "$HO_TMP/bad.err" || ho_fail "bad line message: $(cat "$HO_TMP/bad.err")"

# usage
rc=0; "$X" --no-such-flag 2>/dev/null || rc=$?
ho_assert_eq 2 "$rc" "exit code on an unknown flag"
rc=0; "$X" - - </dev/null 2>/dev/null || rc=$?
ho_assert_eq 2 "$rc" "exit code on stdin given twice"
"$X" -h | grep -q "^usage: handover-extract" || ho_fail "-h prints no usage"
ho_log "ok: 4 articles -> 4 reports -> 3 transfers, 92 inmates; audit agrees (29 + 26 + 37 = 92)"
