#!/usr/bin/env bash
# redrive_dlq: a bad message goes from the dead letter topic through
# handover-redrive into the counters, exactly once. A raw JSON line (not
# Avro, and with inmate_count as a string) is dead-lettered by the worker;
# `handover-redrive list` shows where it came from, why, and its text; the
# corrected line is refused while still invalid (nothing sent), then sent;
# the worker counts it; sending the same fix again changes nothing.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-redrive handover-topic

agg_setup 1
sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
sed -n 1,2p "$sample" >"$HO_TMP/good.jsonl"                      # offsets 0, 1
sed -n 3p "$sample" | sed 's/"inmate_count": 26/"inmate_count": "26"/' >"$HO_TMP/bad.jsonl"
grep -q '"inmate_count": "26"' "$HO_TMP/bad.jsonl" || ho_fail "could not make the bad line"
agg_produce "$HO_TMP/good.jsonl"
kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -k mx-us-2025-08-12 "$HO_TMP/bad.jsonl" \
  || ho_fail "kcat -P failed"                                     # offset 2: not Avro
agg_start w1; w1=$HO_LAST_PID
agg_wait_caught_up 30
ho_assert_eq 1 "$(agg_redis HGET "{$AGG_PREFIX}:totals" rejected)" "totals.rejected"
ho_assert_eq 54 "$(agg_redis HGET "{$AGG_PREFIX}:totals" inmates)" "inmates before the redrive"

R=("$HO_BIN_DIR/handover-redrive" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC")
"${R[@]}" list --json >"$HO_TMP/list.jsonl" 2>"$HO_TMP/list.err" || ho_fail "list --json: $(cat "$HO_TMP/list.err")"
"${R[@]}" list >"$HO_TMP/list.txt" 2>>"$HO_TMP/list.err" || ho_fail "list: $(cat "$HO_TMP/list.err")"
grep -q "from $AGG_TOPIC \[0\] offset 2, BAD_MARKER: " "$HO_TMP/list.txt" \
  || ho_fail "text listing does not say where the dead letter came from: $(cat "$HO_TMP/list.txt")"
grep -q '^  hex:  7b22' "$HO_TMP/list.txt" || ho_fail "no hex view: $(cat "$HO_TMP/list.txt")"
grep -q '^  text: {"transfer_id": "mx-us-2025-08-12"' "$HO_TMP/list.txt" || ho_fail "no text view: $(cat "$HO_TMP/list.txt")"
grep -q '1 dead letter in' "$HO_TMP/list.err" || ho_fail "no count: $(cat "$HO_TMP/list.err")"
# the operator's edit: the listed text, with the field fixed
python3 - "$HO_TMP/list.jsonl" "$HO_TMP/bad.jsonl" "$AGG_TOPIC" "$HO_TMP/fixed.jsonl" "$HO_TMP/still_bad.jsonl" <<'PY' \
  || ho_fail "the listing is not what was dead-lettered: $(cat "$HO_TMP/list.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1, rows
d = rows[0]
assert d["source_topic"] == sys.argv[3] and d["source_partition"] == 0 and d["source_offset"] == 2, d
assert d["error"] == "BAD_MARKER" and d["message"], d
assert d["key"] == "mx-us-2025-08-12" and d["report"] is None, d
assert d["value_text"] == open(sys.argv[2]).read(), d
assert bytes.fromhex(d["value_hex"]).decode() == d["value_text"], d
r = json.loads(d["value_text"])
bad = dict(r); del bad["occurred_on"]
open(sys.argv[5], "w").write(json.dumps(bad) + "\n")
r["inmate_count"] = int(r["inmate_count"])
open(sys.argv[4], "w").write(json.dumps(r) + "\n")
PY

# still invalid: refused, nothing sent
rc=0; "${R[@]}" send "$HO_TMP/still_bad.jsonl" 2>"$HO_TMP/bad_send.err" || rc=$?
ho_assert_eq 1 "$rc" "exit status of a redrive of an invalid report"
grep -q 'still_bad.jsonl:1: .*occurred_on' "$HO_TMP/bad_send.err" || ho_fail "no position and field: $(cat "$HO_TMP/bad_send.err")"
grep -q 'nothing sent' "$HO_TMP/bad_send.err" || ho_fail "does not say nothing was sent: $(cat "$HO_TMP/bad_send.err")"
ho_assert_eq 3 "$(agg_topic_count)" "messages on the topic after a refused redrive"

# the fix: sent, counted once; again: still once
for round in 1 2; do
  "${R[@]}" send "$HO_TMP/fixed.jsonl" 2>"$HO_TMP/send$round.err" || ho_fail "send (round $round): $(cat "$HO_TMP/send$round.err")"
  grep -q 'sent 1 corrected report to' "$HO_TMP/send$round.err" || ho_fail "no summary: $(cat "$HO_TMP/send$round.err")"
  agg_wait_caught_up 30
  ho_assert_eq 55 "$(agg_redis HGET "{$AGG_PREFIX}:totals" inmates)" "inmates after redrive round $round"
  ho_assert_eq 3 "$(agg_redis HGET "{$AGG_PREFIX}:totals" reports)" "reports after redrive round $round"
  ho_assert_eq 2 "$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)" "transfers after redrive round $round"
done
ho_assert_eq 1 "$(agg_redis HGET "{$AGG_PREFIX}:totals" rejected)" "totals.rejected after the redrive"
rc=0; "$HO_BIN_DIR/handover-redrive" -b "$HANDOVER_BROKERS" -t "$(ho_unique nosuch)" list 2>"$HO_TMP/nosuch.err" || rc=$?
ho_assert_eq 1 "$rc" "list of a missing dead letter topic"
grep -q 'does not exist' "$HO_TMP/nosuch.err" || ho_fail "missing topic not said: $(cat "$HO_TMP/nosuch.err")"
agg_stop "$w1"
ho_log "ok: dead letter listed, fix refused while invalid, then redriven and counted exactly once"
