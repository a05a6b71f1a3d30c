#!/usr/bin/env bash
# registry_outage: the schema registry stops answering mid-stream (SIGSTOP: connections hang,
# requests time out). A worker keeps applying values whose schema id it has cached; at the
# first value with an id it has not seen, that partition waits and retries (bounded waits, said
# in the log) instead of dead-lettering it. When the registry answers again the worker takes
# the rest, and the Redis state equals the ground truth with nothing rejected.
# The registry is this test's own (the stack's is shared with other tests).
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
source "$HO_SOURCE_DIR/tests/lib/registry.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

# no inmates_by_destination: v1 and v2 then say the same, and the truth holds for both
python3 "$HO_SOURCE_DIR/bench/gen" --reports 900 --transfers 200 --seed 23 --ibd-rate 0 \
  --out "$HO_TMP/all.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
sed -n '1,300p' "$HO_TMP/all.jsonl" >"$HO_TMP/a.jsonl"
sed -n '301,600p' "$HO_TMP/all.jsonl" >"$HO_TMP/d.jsonl"
sed -n '601,900p' "$HO_TMP/all.jsonl" >"$HO_TMP/c.jsonl"

reg_private_start
ho_log "private registry at $REG_URL (pid $REG_PID)"
agg_setup 3
agg_produce "$HO_TMP/a.jsonl" --registry "$REG_URL"
agg_start w1 --registry "$REG_URL" -X registry.request.timeout.ms=1000 -X registry.retries=1
w1=$HO_LAST_PID
agg_wait_caught_up 60
ho_assert_eq 300 "$(agg_progress)" "applied before the outage"

# while the worker is held: more values of the id it knows, then values of a new id (v1)
kill -STOP "$w1"
agg_produce "$HO_TMP/d.jsonl" --registry "$REG_URL"
agg_produce "$HO_TMP/c.jsonl" --registry "$REG_URL" --schema v1
grep -q 'transfer_report.v1.avsc is id' "$HO_TMP/produce.log" || ho_fail "v1 was not registered: $(tail -3 "$HO_TMP/produce.log")"
kill -STOP "$REG_PID"
kill -CONT "$w1"

# the cached id keeps working: every value before the first new-id one is applied
ho_wait_until 60 bash -c "[ \"\$(redis-cli -u '$AGG_REDIS' --no-auth-warning HVALS '{$AGG_PREFIX}:offsets' | awk '{s+=\$1} END {print s+0}')\" -ge 600 ]" \
  || { tail -20 "$HO_TMP/w1.log" >&2; ho_fail "values with the cached id were not applied during the outage (progress $(agg_progress))"; }
# ...and the new id waits: retried, said in the log, never a dead letter
ho_wait_until 60 bash -c "[ \$(grep -c 'not a dead letter: the partition waits and retries' '$HO_TMP/w1.log') -ge 2 ]" \
  || { tail -20 "$HO_TMP/w1.log" >&2; ho_fail "no retries of the unknown id were logged"; }
ho_assert_eq 600 "$(agg_progress)" "applied during the outage (the new id's values wait)"
grep -q 'cannot be asked' "$HO_TMP/w1.log" || ho_fail "the log does not say the registry cannot be asked"
ho_assert_eq "" "$(agg_redis HGET "{$AGG_PREFIX}:totals" rejected | sed 's/^0$//')" "rejected during the outage"
ho_assert_eq 0 "$(kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_DLQ" -o beginning -e -q -f 'x\n' | wc -l)" "dead letters during the outage"
kill -0 "$w1" 2>/dev/null || ho_fail "the worker died during the outage"

kill -CONT "$REG_PID"
agg_wait_caught_up 90
agg_compare "$HO_TMP/truth.json" "after the registry came back"
ho_assert_eq 0 "$(kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_DLQ" -o beginning -e -q -f 'x\n' | wc -l)" "dead letters in all"
agg_stop "$w1"
ho_log "ok: cached id applied through the outage ($(grep -c 'not a dead letter' "$HO_TMP/w1.log") waits logged), the rest after it; state equals the truth"
