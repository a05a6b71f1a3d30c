#!/usr/bin/env bash
# registry_interop: the Confluent wire format against the real schema registry (Apicurio, from
# 'stack up --registry'), checked with an independent client (confluent-kafka's Avro serdes):
#  1. handover-produce --registry writes; AvroDeserializer reads every field of every report back.
#  2. the registry enforces the subject's compatibility: under BACKWARD, v1 then v2 (which adds
#     a field with a default) are both accepted; a schema that cannot read v2's data (a
#     nullable field made required) is refused, and handover-produce says so and sends nothing (exit 1).
#  3. AvroSerializer writes reports, handover-produce writes others in the single-object and the
#     Confluent framings, all on one topic: two workers with --registry aggregate them exactly
#     (the Redis state equals the ground truth); a value naming an id the registry does not
#     know is a dead letter whose error names the id. handover-schema decode and handover-replay
#     read both framings as well.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
source "$HO_SOURCE_DIR/tests/lib/registry.sh"
ho_require_kafka
ho_require_redis
reg_require
ho_need_bin handover-aggregate handover-produce handover-topic handover-schema

python3 "$HO_SOURCE_DIR/bench/gen" --reports 1200 --transfers 300 --seed 17 \
  --out "$HO_TMP/all.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
ho_log "$(cat "$HO_TMP/gen.log")"

# --- 1. handover writes, confluent-kafka reads
t1=$(ho_unique reg-out)
ho_topic_create "$t1" 3
"$HO_BIN_DIR/handover-produce" -q -b "$HANDOVER_BROKERS" -t "$t1" --registry "$HANDOVER_REGISTRY" \
  "$HO_TMP/all.jsonl" 2>"$HO_TMP/p1.err" || ho_fail "produce --registry: $(cat "$HO_TMP/p1.err")"
grep -q "is id [0-9]* under subject \"$t1-value\"" "$HO_TMP/p1.err" || ho_fail "no registration line: $(cat "$HO_TMP/p1.err")"
[ "$(kcat -C -b "$HANDOVER_BROKERS" -t "$t1" -p 0 -c 1 -e -q -f '%s' | head -c 1 | od -An -tx1 | tr -d ' ')" = 00 ] \
  || ho_fail "values on $t1 do not start with the Confluent magic byte 00"
reg_py read --brokers "$HANDOVER_BROKERS" --topic "$t1" --registry "$HANDOVER_REGISTRY" --count 1200 \
  >"$HO_TMP/read.out" 2>"$HO_TMP/read.err" || ho_fail "AvroDeserializer: $(tail -5 "$HO_TMP/read.err")"
reg_py normalize <"$HO_TMP/all.jsonl" >"$HO_TMP/in.out"
diff "$HO_TMP/in.out" "$HO_TMP/read.out" >"$HO_TMP/read.diff" \
  || { head -6 "$HO_TMP/read.diff" >&2; ho_fail "AvroDeserializer read other reports than handover wrote"; }
kcat -C -b "$HANDOVER_BROKERS" -t "$t1" -o beginning -e -q -f '%R%s' \
  | "$HO_BIN_DIR/handover-schema" decode --registry "$HANDOVER_REGISTRY" >"$HO_TMP/decode.out" 2>"$HO_TMP/decode.err" \
  || ho_fail "handover-schema decode --registry: $(tail -3 "$HO_TMP/decode.err")"
ho_assert_eq 1200 "$(grep -c '"schema":"transfer_report.v2.avsc","schema_id":' "$HO_TMP/decode.out")" "values handover-schema decode --registry read"
ho_log "1: AvroDeserializer read all 1200 reports back, every field equal; so did handover-schema decode"

# --- 2. the subject's compatibility level is the registry's to enforce
t2=$(ho_unique reg-compat)
ho_topic_create "$t2" 1
reg_api PUT "/config/$t2-value" '{"compatibility":"BACKWARD"}' >/dev/null || ho_fail "cannot set BACKWARD on $t2-value"
head -3 "$HO_TMP/all.jsonl" | python3 -c 'import json,sys
for l in sys.stdin:
    d = json.loads(l); d.pop("inmates_by_destination", None); print(json.dumps(d))' >"$HO_TMP/v1.jsonl"
"$HO_BIN_DIR/handover-produce" -q -t "$t2" --schema v1 --registry "$HANDOVER_REGISTRY" "$HO_TMP/v1.jsonl" 2>"$HO_TMP/c1.err" \
  || ho_fail "v1 under BACKWARD: $(cat "$HO_TMP/c1.err")"
"$HO_BIN_DIR/handover-produce" -q -t "$t2" --schema v2 --registry "$HANDOVER_REGISTRY" "$HO_TMP/v1.jsonl" 2>"$HO_TMP/c2.err" \
  || ho_fail "v2 after v1 under BACKWARD: $(cat "$HO_TMP/c2.err")"
# v3: aircraft_count no longer nullable: v2's data (null aircraft counts) cannot be read with it
python3 - "$HO_SOURCE_DIR/schemas/transfer_report.v2.avsc" >"$HO_TMP/v3.avsc" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for f in s["fields"]:
    if f["name"] == "aircraft_count":
        f["type"] = "int"
print(json.dumps(s))
PY
rc=0; "$HO_BIN_DIR/handover-produce" -q -t "$t2" --schema "$HO_TMP/v3.avsc" --registry "$HANDOVER_REGISTRY" \
  "$HO_TMP/v1.jsonl" 2>"$HO_TMP/c3.err" || rc=$?
ho_assert_eq 1 "$rc" "exit status when the registry refuses a schema"
grep -q "refuses the schema as incompatible" "$HO_TMP/c3.err" || ho_fail "no clear refusal: $(cat "$HO_TMP/c3.err")"
ho_assert_eq 6 "$(kcat -C -b "$HANDOVER_BROKERS" -t "$t2" -o beginning -e -q -f 'x\n' | wc -l)" "messages on $t2 (nothing sent after the refusal)"
ho_log "2: BACKWARD: v1 -> v2 accepted, a nullable field made required refused (exit 1, nothing sent)"

# --- 3. one topic, three writers, two framings: aggregated exactly
agg_setup 3
n=$(wc -l <"$HO_TMP/all.jsonl")
awk 'NR % 3 == 1' "$HO_TMP/all.jsonl" >"$HO_TMP/py.jsonl"
awk 'NR % 3 == 2' "$HO_TMP/all.jsonl" >"$HO_TMP/soe.jsonl"
awk 'NR % 3 == 0' "$HO_TMP/all.jsonl" >"$HO_TMP/cf.jsonl"
reg_py write --brokers "$HANDOVER_BROKERS" --topic "$AGG_TOPIC" --registry "$HANDOVER_REGISTRY" \
  --schema "$HO_SOURCE_DIR/schemas/transfer_report.v2.avsc" <"$HO_TMP/py.jsonl" 2>"$HO_TMP/pyw.err" \
  || ho_fail "AvroSerializer: $(tail -5 "$HO_TMP/pyw.err")"
agg_produce "$HO_TMP/soe.jsonl"
agg_produce "$HO_TMP/cf.jsonl" --registry "$HANDOVER_REGISTRY"
agg_start w1 --registry "$HANDOVER_REGISTRY"
agg_start w2 --registry "$HANDOVER_REGISTRY"
agg_wait_caught_up 90
ho_assert_eq "$n" "$(agg_topic_count)" "messages on the topic"
agg_compare "$HO_TMP/truth.json" "three writers, two framings"
# replay reads both framings too: a rebuild into another prefix is the truth again
p2=$(ho_unique p2)
"$HO_BIN_DIR/handover-replay" -q -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" -p "$AGG_PREFIX" \
  --into "$p2" --registry "$HANDOVER_REGISTRY" 2>"$HO_TMP/replay.err" || ho_fail "replay --registry: $(cat "$HO_TMP/replay.err")"
(AGG_PREFIX=$p2; agg_compare "$HO_TMP/truth.json" "replay --registry into $p2")
# a value that names an id the registry has never given out
printf '\x00\x7f\xff\xff\xf0\x02\x41' | kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -p 0 -k bogus
ho_wait_until 30 agg_caught_up || ho_fail "the workers did not pass the unknown id"
ho_assert_eq 1 "$(agg_redis HGET "{$AGG_PREFIX}:totals" rejected)" "totals.rejected"
kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_DLQ" -o beginning -c 1 -e -q -f '%h\n' >"$HO_TMP/dlq.h" \
  || ho_fail "no dead letter on $AGG_DLQ"
grep -q "UNKNOWN_SCHEMA" "$HO_TMP/dlq.h" && grep -q "2147483632" "$HO_TMP/dlq.h" \
  || ho_fail "dead letter does not name the unknown id: $(cat "$HO_TMP/dlq.h")"
ho_log "3: AvroSerializer + single-object + Confluent framing on one topic: state equals the truth; id 2147483632 dead-lettered"
