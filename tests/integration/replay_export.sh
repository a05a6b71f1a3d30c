#!/usr/bin/env bash
# replay_export: the history (v1 and v2 values, duplicates, revisions, and
# garbage that does not decode) exported with --export FILE.avro is an Avro
# object container file (deflate) that handover-produce streams into a new
# topic; aggregated there under a new prefix, it gives the same counters as
# the original topic's (the garbage aside: export skips what does not decode).
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-replay handover-stats

agg_setup 3
"$HO_SOURCE_DIR/bench/gen" --reports 3000 --transfers 1000 --seed 64 --v1-share 0.3 \
  --out "$HO_TMP/v2.jsonl" --v1-out "$HO_TMP/v1.jsonl" --truth "$HO_TMP/truth.json" \
  2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/v2.jsonl"
agg_produce "$HO_TMP/v1.jsonl" --schema v1
printf 'not avro %s\n' 1 2 3 | kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -p 0 \
  || ho_fail "cannot produce garbage with kcat"

# export needs no Redis: give it a URL nothing listens on
rc=0
"$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r redis://127.0.0.1:1 -t "$AGG_TOPIC" \
  --export "$HO_TMP/history.avro" 2>"$HO_TMP/export.err" || rc=$?
ho_assert_eq 0 "$rc" "exit code of --export ($(cat "$HO_TMP/export.err"))"
grep -q '3003 messages .*3000 reports, 3 rejected' "$HO_TMP/export.err" \
  || ho_fail "unexpected export summary: $(cat "$HO_TMP/export.err")"
[ ! -e "$HO_TMP/history.avro.tmp" ] || ho_fail "the temporary file was left behind"
ho_assert_eq "4f626a01" "$(head -c 4 "$HO_TMP/history.avro" | od -An -tx1 | tr -d ' \n')" "container file magic"
grep -aq 'avro.codec.\{0,4\}deflate' "$HO_TMP/history.avro" || ho_fail "the file is not deflate-compressed"
grep -aq '"inmates_by_destination"' "$HO_TMP/history.avro" || ho_fail "the newest reader schema is not embedded"

# stream it into a new topic, aggregate under a new prefix
topic2=$(ho_unique topic2)
ho_topic_create "$topic2" 2
ho_topic_create "$topic2.dlq" 1
"$HO_BIN_DIR/handover-produce" -b "$HANDOVER_BROKERS" -t "$topic2" "$HO_TMP/history.avro" \
  >"$HO_TMP/produce2.log" 2>&1 || ho_fail "handover-produce of the export failed: $(tail -3 "$HO_TMP/produce2.log")"
agg_start w1
orig_prefix=$AGG_PREFIX orig_topic=$AGG_TOPIC
AGG_TOPIC=$topic2 AGG_PREFIX=$(ho_unique p2)
p2=$AGG_PREFIX
agg_start w2
AGG_PARTS=2 agg_wait_caught_up 120
AGG_TOPIC=$orig_topic AGG_PREFIX=$orig_prefix
agg_wait_caught_up 120

# the original (3 rejected) and the re-streamed one (none) against the truth
python3 "$HO_SOURCE_DIR/tests/lib/redis_state.py" --redis "$AGG_REDIS" --prefix "$AGG_PREFIX" >"$HO_TMP/orig.json" \
  || ho_fail "redis_state.py failed"
python3 "$HO_SOURCE_DIR/tests/lib/compare_state.py" --ignore totals.rejected "$HO_TMP/truth.json" "$HO_TMP/orig.json" \
  >&2 || ho_fail "original topic: Redis state differs from the ground truth"
ho_assert_eq 3 "$(agg_redis HGET "{$AGG_PREFIX}:totals" rejected)" "rejected on the original topic"
(AGG_PREFIX=$p2 agg_compare "$HO_TMP/truth.json" "topic streamed from the export")
strip() { "$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "$1" --top 0 --json \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); [d["totals"].pop(k) for k in ("updated_at","rejected")]; print(json.dumps(d, sort_keys=True))'; }
[ "$(strip "$orig_prefix")" = "$(strip "$p2")" ] || ho_fail "handover-stats of the two prefixes differ"
ho_log "ok: exported $(grep -o '[0-9]* reports' "$HO_TMP/export.err" | head -1), re-streamed and aggregated to identical counters"
