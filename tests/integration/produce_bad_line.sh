#!/usr/bin/env bash
# produce_bad_line: a file with one bad line sends nothing (the topic stays
# empty) and the run exits 1 naming FILE:LINE and the field; on standard
# input, the valid lines before a bad one are sent, then the run stops;
# --skip-invalid=FILE writes the bad line to FILE and goes on.
source "$(dirname "$0")/../lib/common.sh"
ho_require_kafka
ho_need_bin handover-produce handover-topic

sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
topic=$(ho_unique produce)
ho_topic_create "$topic" 1
count() { kcat -C -b "$HANDOVER_BROKERS" -t "$topic" -o beginning -e -q -f 'x\n' | wc -l; }

# line 3 of 5 breaks a rule, line 5 is not JSON
{ sed -n 1,2p "$sample"; sed -n 3p "$sample" | sed 's/"inmate_count": 26/"inmate_count": 200000/'
  sed -n 4p "$sample"; echo '{"transfer_id": '; } >"$HO_TMP/bad.jsonl"
rc=0; "$HO_BIN_DIR/handover-produce" -q -t "$topic" "$sample" "$HO_TMP/bad.jsonl" 2>"$HO_TMP/err" || rc=$?
ho_assert_eq 1 "$rc" "exit status with a bad line"
grep -q "bad.jsonl:3: .*inmate_count" "$HO_TMP/err" || ho_fail "no FILE:3 message naming the field: $(cat "$HO_TMP/err")"
grep -q "bad.jsonl:5: " "$HO_TMP/err" || ho_fail "no FILE:5 message: $(cat "$HO_TMP/err")"
grep -q "2 invalid reports: nothing sent" "$HO_TMP/err" || ho_fail "no 'nothing sent': $(cat "$HO_TMP/err")"
# the producer has exited: whatever it delivered is below the end offsets kcat -e reads up to
ho_assert_eq 0 "$(count)" "messages on the topic after a rejected file (the good file too)"

# the cap: 150 bad lines list 100 and "and 50 more"
for i in $(seq 150); do echo '{}'; done >"$HO_TMP/many.jsonl"
rc=0; "$HO_BIN_DIR/handover-produce" -q -t "$topic" "$HO_TMP/many.jsonl" 2>"$HO_TMP/err" || rc=$?
ho_assert_eq 1 "$rc" "exit status with 150 bad lines"
ho_assert_eq 100 "$(grep -c '^.*many.jsonl:[0-9]*: ' "$HO_TMP/err")" "bad lines listed"
grep -q '^and 50 more bad lines$' "$HO_TMP/err" || ho_fail "no 'and 50 more': $(tail -3 "$HO_TMP/err")"

# standard input: lines 1-2 are sent, line 3 stops the run
rc=0; "$HO_BIN_DIR/handover-produce" -q -t "$topic" <"$HO_TMP/bad.jsonl" 2>"$HO_TMP/err" || rc=$?
ho_assert_eq 1 "$rc" "exit status, stdin with a bad line"
grep -q "<stdin>:3: .*inmate_count" "$HO_TMP/err" || ho_fail "no <stdin>:3 message: $(cat "$HO_TMP/err")"
grep -q "sent 2 reports" "$HO_TMP/err" || ho_fail "stdin: not 2 sent: $(cat "$HO_TMP/err")"
ho_assert_eq 2 "$(count)" "messages after stdin stopped at line 3"

# --skip-invalid=FILE: lines 1, 2, 4 sent; 3 and 5 in the rejects file
rc=0; "$HO_BIN_DIR/handover-produce" -q -t "$topic" --skip-invalid="$HO_TMP/rejects" \
  <"$HO_TMP/bad.jsonl" 2>"$HO_TMP/err" || rc=$?
ho_assert_eq 0 "$rc" "exit status with --skip-invalid"
ho_assert_eq 5 "$(count)" "messages after --skip-invalid"
ho_assert_eq 2 "$(wc -l <"$HO_TMP/rejects")" "rejected lines"
awk -F'\t' 'NR==1 && $1=="<stdin>:3" && $2 ~ /inmate_count/ && $3 ~ /^\{/ {ok=1} END {exit !ok}' "$HO_TMP/rejects" \
  || ho_fail "rejects line 1 not 'position<TAB>reason<TAB>line': $(head -1 "$HO_TMP/rejects")"
cut -f1 "$HO_TMP/rejects" | tail -1 | grep -qx '<stdin>:5' || ho_fail "second reject not <stdin>:5"
ho_log "ok: bad files send nothing, stdin stops or skips as asked"
