#!/usr/bin/env bash
# aggregate_kafka_restart: the Kafka broker killed with SIGKILL mid-stream and
# started again on the same port and data: the workers log the outage, do not
# crash, rejoin their group, and the Redis state equals the ground truth. One
# of them is stopped (SIGTERM) during the outage and must still exit 0 at once.
# Uses a PRIVATE broker (deploy/local/stack --state in the test's temp dir),
# never the shared one; Redis is the shared one.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

STACK=$HO_SOURCE_DIR/deploy/local/stack
sdir=$HO_TMP/stack
shared_redis=$HANDOVER_REDIS
agg_cleanup() {
  local rc=$?
  "$STACK" down --state "$sdir" >/dev/null 2>&1 || true
  set +e # errexit would end the trap here when rc != 0, and ho_cleanup would never run
  (exit $rc)
  ho_cleanup
}
trap agg_cleanup EXIT

stack_up() {
  HO_BIN_DIR=$HO_BIN_DIR "$STACK" up --state "$sdir" --partitions 1 >"$HO_TMP/stack.env" \
    2>>"$HO_TMP/stack.log" || { tail -20 "$HO_TMP/stack.log" >&2; ho_fail "private Kafka did not start"; }
}
stack_up
HANDOVER_BROKERS=$(sed -n 's/^export HANDOVER_BROKERS=//p' "$HO_TMP/stack.env")
[ -n "$HANDOVER_BROKERS" ] || ho_fail "no brokers from the private stack"
ho_log "private Kafka at $HANDOVER_BROKERS"
AGG_REDIS=$shared_redis

agg_setup 6
python3 "$HO_SOURCE_DIR/bench/gen" --reports 30000 --transfers 8000 --seed 53 \
  --out "$HO_TMP/v2.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/v2.jsonl" -q
total=$(agg_topic_count)
ho_assert_eq 30000 "$total" "messages on the topic"

# a small prefetch, so the workers run dry soon after the broker goes away
args=(--batch-max 10 -X session.timeout.ms=6000 -X heartbeat.interval.ms=500
  -X queued.max.messages.kbytes=256 -X max.partition.fetch.bytes=32768)
agg_start w1 "${args[@]}"; w1=$HO_LAST_PID
agg_start w2 "${args[@]}"; w2=$HO_LAST_PID
ho_wait_until 60 bash -c "[ \$(redis-cli -u '$AGG_REDIS' --no-auth-warning HVALS '{$AGG_PREFIX}:offsets' | awk '{s+=\$1} END {print s+0}') -ge $((total / 5)) ]" \
  || ho_fail "no progress before the broker kill"

# the broker's exact command line, to start it again on the same port and data
# (the stack would pick another port while the old one lingers in TIME_WAIT)
kpid=$(cat "$sdir/kafka.pid")
mapfile -d '' kcmd <"/proc/$kpid/cmdline"
[ "${#kcmd[@]}" -gt 2 ] || ho_fail "cannot read the private broker's command line"
before=$(agg_progress)
m1=$(ho_log_mark "$HO_TMP/w1.log"); m2=$(ho_log_mark "$HO_TMP/w2.log")
kill -9 "$kpid" || ho_fail "cannot kill the private broker"
ho_log "broker killed at progress $before of $total"
# both workers notice the broker is gone and say they retry: after that, a worker that gave up
# would have exited
ho_wait_until 60 ho_logged_since "$HO_TMP/w1.log" "$m1" "(retrying)" \
  || ho_fail "w1 did not notice the broker was gone: $(tail -3 "$HO_TMP/w1.log")"
ho_wait_until 60 ho_logged_since "$HO_TMP/w2.log" "$m2" "(retrying)" \
  || ho_fail "w2 did not notice the broker was gone: $(tail -3 "$HO_TMP/w2.log")"
kill -0 "$w1" 2>/dev/null && kill -0 "$w2" 2>/dev/null || ho_fail "a worker died while Kafka was down"
during=$(agg_progress)
# SIGTERM while the brokers are gone: the worker cannot say goodbye to the
# group, and still exits 0 within seconds
agg_stop "$w2" 10
ho_bg "${kcmd[@]}" >>"$HO_TMP/kafka2.out" 2>&1
kafka2=$HO_LAST_PID
ho_wait_until 90 kcat -L -b "$HANDOVER_BROKERS" -m 2 -t "$AGG_TOPIC" >/dev/null 2>&1 \
  || ho_fail "the private broker did not come back: $(tail -5 "$HO_TMP/kafka2.out")"
ho_log "broker back (progress $during while it was down)"
[ "$during" -lt "$total" ] || ho_fail "the broker went down after the end of the stream"

agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "after a broker restart"
grep -qh 'kafka: .*retrying' "$HO_TMP"/w?.log || ho_fail "the workers did not log the broker outage"
agg_stop "$w1" 15
kill -TERM "$kafka2" 2>/dev/null || true # the broker: a controlled shutdown (cleanup waits)
ho_log "ok: broker SIGKILLed and restarted mid-stream, state equals the ground truth"
