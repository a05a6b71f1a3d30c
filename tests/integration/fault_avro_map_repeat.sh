#!/usr/bin/env bash
# fault_avro_map_repeat: a foreign producer writes a v2 value whose
# inmates_by_destination map repeats a key (Avro allows the bytes; avro-c
# would keep the last value). The worker must refuse it like the producer's
# JSON rules refuse a repeated member: a dead letter (INVALID) naming the
# key, nothing counted.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-schema handover-topic

agg_setup 1
sed -n 4p "$HO_SOURCE_DIR/deploy/sample/reports.jsonl" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
r["inmates_by_destination"] = {"Houston": 30, "Hxuston": 7}
print(json.dumps(r))' >"$HO_TMP/r.jsonl"
"$HO_BIN_DIR/handover-schema" encode "$HO_TMP/r.jsonl" >"$HO_TMP/framed.bin" 2>"$HO_TMP/enc.err" \
  || ho_fail "handover-schema encode: $(cat "$HO_TMP/enc.err")"
# drop the 4-byte frame, then make the second key the first one (same length)
python3 - "$HO_TMP/framed.bin" "$HO_TMP/value.bin" <<'PY'
import sys
v = open(sys.argv[1], "rb").read()[4:]
assert v.count(b"Hxuston") == 1, v
open(sys.argv[2], "wb").write(v.replace(b"Hxuston", b"Houston"))
PY
kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -k mx-us-2026-01-20 "$HO_TMP/value.bin" \
  || ho_fail "kcat -P failed"

agg_start w1; w1=$HO_LAST_PID
agg_wait_caught_up 30
ho_assert_eq 1 "$(agg_redis HGET "{$AGG_PREFIX}:totals" rejected)" "totals.rejected"
transfers=$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)
ho_assert_eq 0 "${transfers:-0}" "transfers counted from the value with a repeated key"
kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_DLQ" -o beginning -e -q -f '%h\n' >"$HO_TMP/dlq.txt" 2>/dev/null \
  || ho_fail "cannot read $AGG_DLQ"
grep -q 'handover.error=INVALID' "$HO_TMP/dlq.txt" || ho_fail "dead letter not INVALID: $(cat "$HO_TMP/dlq.txt")"
grep -q 'key "Houston" appears more than once' "$HO_TMP/dlq.txt" \
  || ho_fail "dead letter does not name the repeated key: $(cat "$HO_TMP/dlq.txt")"
agg_stop "$w1"
ho_log "ok: a map with a repeated key was dead-lettered, naming the key"
