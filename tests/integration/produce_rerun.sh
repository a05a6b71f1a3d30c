#!/usr/bin/env bash
# produce_rerun: sending the sample twice sends the same report ids (derived
# from content), so consumers can tell a re-run from new reports.
source "$(dirname "$0")/../lib/common.sh"
ho_require_kafka
ho_need_bin handover-produce handover-topic handover-schema

sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
topic=$(ho_unique produce)
ho_topic_create "$topic" 1

"$HO_BIN_DIR/handover-produce" -q -t "$topic" "$sample" 2>"$HO_TMP/err1" || ho_fail "run 1: $(cat "$HO_TMP/err1")"
"$HO_BIN_DIR/handover-produce" -q -t "$topic" <"$sample" 2>"$HO_TMP/err2" || ho_fail "run 2 (stdin): $(cat "$HO_TMP/err2")"

kcat -C -b "$HANDOVER_BROKERS" -t "$topic" -o beginning -e -q -f '%R%s' >"$HO_TMP/values"
"$HO_BIN_DIR/handover-schema" decode "$HO_TMP/values" \
  | python3 -c 'import sys,json; [print(json.loads(l)["report"]["report_id"]) for l in sys.stdin]' >"$HO_TMP/ids"
ho_assert_eq 10 "$(wc -l <"$HO_TMP/ids")" "messages after two runs"
# one partition: run 1 is offsets 0..4, run 2 is 5..9, in input order
head -5 "$HO_TMP/ids" >"$HO_TMP/run1"; tail -5 "$HO_TMP/ids" >"$HO_TMP/run2"
cmp -s "$HO_TMP/run1" "$HO_TMP/run2" || ho_fail "report ids differ between runs: $(paste "$HO_TMP/run1" "$HO_TMP/run2")"
ho_assert_eq 4 "$(sort -u "$HO_TMP/ids" | wc -l)" "distinct report ids"
ho_log "ok: both runs sent the same 5 ids (4 distinct)"

# the writer schema does not change the ids: a v1 run sends the same 5 again
"$HO_BIN_DIR/handover-produce" -q --schema v1 -t "$topic" "$sample" 2>"$HO_TMP/err3" || ho_fail "run 3 (v1): $(cat "$HO_TMP/err3")"
kcat -C -b "$HANDOVER_BROKERS" -t "$topic" -o 10 -e -q -f '%R%s' | "$HO_BIN_DIR/handover-schema" decode >"$HO_TMP/v1"
grep -c '"schema":"transfer_report.v1.avsc"' "$HO_TMP/v1" | grep -qx 5 || ho_fail "run 3 did not write v1: $(head -c 300 "$HO_TMP/v1")"
python3 -c 'import sys,json; [print(json.loads(l)["report"]["report_id"]) for l in sys.stdin]' <"$HO_TMP/v1" >"$HO_TMP/run3"
cmp -s "$HO_TMP/run1" "$HO_TMP/run3" || ho_fail "v1 run sent other ids"
ho_log "ok: the v1 run sent the same ids"
