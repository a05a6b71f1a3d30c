#!/usr/bin/env bash
# fault_produce_edges: handover-produce at the edges a careless operator or a
# hostile input reaches, against the real broker. Each case must end with a
# clear message, the documented exit code and nothing half-done:
#   - --skip-invalid=FILE on a full disk (/dev/full): exit 1, says the rejects
#     were not all written, nothing sent
#   - a named input truncated while it is read: exit 1 naming the file (not a
#     SIGBUS death), nothing sent
#   - standard input closed (<&-): no hang
#   - --follow F --skip-invalid=F: refused (exit 2) instead of reading its own rejects
#   - reported_at at or before the epoch: refused (librdkafka would stamp it "now")
#   - a missing topic: said at once (not "Message timed out" after 30 s), nothing sent
#   - a directory, a raw NUL byte, a UTF-8 BOM: messages that name the file and the cause
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_need_bin handover-produce handover-topic

P=$HO_BIN_DIR/handover-produce
T=$(ho_unique edges)
ho_topic_create "$T" 1
sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
count() { kcat -Q -b "$HANDOVER_BROKERS" -t "$T:0:-1" 2>/dev/null | awk '{print $4}'; }
run() { # run NAME ARGS...: rc in $rc, stderr in $HO_TMP/NAME.err
  local name=$1; shift
  rc=0; timeout 60 "$P" -b "$HANDOVER_BROKERS" -t "$T" -q "$@" 2>"$HO_TMP/$name.err" || rc=$?
}
expect() { # expect NAME RC PATTERN WHAT
  [ "$rc" = "$2" ] || ho_fail "$4: exit $rc, expected $2: $(cat "$HO_TMP/$1.err")"
  grep -q -- "$3" "$HO_TMP/$1.err" || ho_fail "$4: no '$3' in: $(cat "$HO_TMP/$1.err")"
}

# rejects file on a full disk
{ cat "$sample"; echo '{"transfer_id": 1}'; echo 'not json'; } >"$HO_TMP/mixed.jsonl"
run full --skip-invalid=/dev/full "$HO_TMP/mixed.jsonl"
expect full 1 'cannot write the rejects file "/dev/full": No space left on device' "rejects on a full disk"
grep -q 'written to /dev/full' "$HO_TMP/full.err" && ! grep -q 'NOT all written' "$HO_TMP/full.err" \
  && ho_fail "claims the rejects were written: $(cat "$HO_TMP/full.err")"
ho_assert_eq 0 "$(count)" "messages sent with the rejects file unwritable"

# a named input truncated while it is read
python3 "$HO_SOURCE_DIR/bench/gen" --reports 2000 --transfers 500 --seed 5 --out "$HO_TMP/g.jsonl" 2>/dev/null \
  || ho_fail "bench/gen failed"
for i in $(seq 1 80); do cat "$HO_TMP/g.jsonl"; done >"$HO_TMP/big.jsonl"
"$P" -b "$HANDOVER_BROKERS" -t "$T" -q "$HO_TMP/big.jsonl" 2>"$HO_TMP/trunc.err" & pid=$!
deadline=$(( $(date +%s) + 30 ))
until grep -q "$HO_TMP/big.jsonl" "/proc/$pid/maps" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || ho_fail "the producer ended before it mapped the input: $(cat "$HO_TMP/trunc.err")"
  [ "$(date +%s)" -lt "$deadline" ] || ho_fail "the producer never mapped its input"
done
kill -STOP "$pid"
: >"$HO_TMP/big.jsonl"
kill -CONT "$pid"
rc=0; wait "$pid" || rc=$?
expect trunc 1 "\"$HO_TMP/big.jsonl\" was truncated while it was read" "input truncated while read"
ho_assert_eq 0 "$(count)" "messages sent from a truncated input"
rm -f "$HO_TMP/big.jsonl" "$HO_TMP/g.jsonl"

# standard input closed: reads nothing, ends at once
rc=0; timeout 20 "$P" -b "$HANDOVER_BROKERS" -t "$T" -q <&- 2>"$HO_TMP/closed.err" || rc=$?
[ "$rc" = 0 ] || ho_fail "with standard input closed: exit $rc (124: it hung): $(cat "$HO_TMP/closed.err")"

# --follow F --skip-invalid=F
cp "$sample" "$HO_TMP/f.jsonl"
run follow --follow --skip-invalid="$HO_TMP/f.jsonl" "$HO_TMP/f.jsonl"
expect follow 2 "is the input" "--follow F --skip-invalid=F"
ho_assert_eq "$(wc -l <"$sample")" "$(wc -l <"$HO_TMP/f.jsonl")" "lines in the followed file"

# reported_at at or before the epoch
sed -n 1p "$sample" | sed 's/"reported_at": "[^"]*"/"reported_at": "1970-01-01T00:00:00Z"/' >"$HO_TMP/epoch.jsonl"
sed -n 2p "$sample" | sed 's/"reported_at": "[^"]*"/"reported_at": "1969-07-20T20:17:00Z"/' >>"$HO_TMP/epoch.jsonl"
run epoch "$HO_TMP/epoch.jsonl"
expect epoch 1 'epoch.jsonl:1: field "reported_at": 0 ms is at or before 1970-01-01T00:00:00Z' "reported_at at the epoch"
grep -q 'epoch.jsonl:2: field "reported_at": -' "$HO_TMP/epoch.err" || ho_fail "reported_at before the epoch accepted: $(cat "$HO_TMP/epoch.err")"
ho_assert_eq 0 "$(count)" "messages sent with reported_at at the epoch"

# a missing topic
start=$(date +%s)
rc=0; timeout 60 "$P" -b "$HANDOVER_BROKERS" -t "$(ho_unique missing)" -q "$sample" 2>"$HO_TMP/missing.err" || rc=$?
took=$(( $(date +%s) - start ))
expect missing 1 'does not exist on the brokers' "a missing topic"
[ "$took" -le 10 ] || ho_fail "a missing topic took $took s to report"

# messages that name the file and the cause
run dir "$HO_TMP"
expect dir 1 "\"$HO_TMP\" is a directory" "a directory as input"
printf '{"transfer_id": "a",\0 "x": 1}\n' >"$HO_TMP/nul.jsonl"
run nul --dry-run "$HO_TMP/nul.jsonl"
expect nul 1 'nul.jsonl:1: a NUL byte (0x00) at column 21' "a raw NUL byte"
{ printf '\xef\xbb\xbf'; sed -n 1p "$sample"; } >"$HO_TMP/bom.jsonl"
run bom --dry-run "$HO_TMP/bom.jsonl"
expect bom 1 'bom.jsonl:1: the line starts with a UTF-8 byte order mark (bytes EF BB BF)' "a UTF-8 BOM"

ho_assert_eq 0 "$(count)" "messages on the topic after every refused case"
ho_log "ok: full rejects disk, truncated input, closed stdin, self-feeding follow, epoch times, missing topic, clear messages"
