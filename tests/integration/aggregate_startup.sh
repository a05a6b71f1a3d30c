#!/usr/bin/env bash
# aggregate_startup: the worker's start-up checks of its topics. A missing
# topic, or a missing dead letter topic, is said at start-up with the topic's
# name and the worker exits 1 (it does not retry a dead letter forever, and
# does not create the topic by asking for it). With --create-dlq it creates
# the missing dead letter topic (one partition) and dead-letters into it.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

AGG_PARTS=2
AGG_TOPIC=$(ho_unique agg)
AGG_DLQ=$AGG_TOPIC.dlq
AGG_GROUP=$(ho_unique grp)
AGG_PREFIX=$(ho_unique p)
AGG_REDIS=$HANDOVER_REDIS

listed() { kcat -L -b "$HANDOVER_BROKERS" 2>/dev/null | grep -qF "topic \"$1\""; }

# Run a worker that must exit 1 within 30 s; its log in $HO_TMP/NAME.log.
expect_exit1() { # expect_exit1 NAME [ARGS...]
  local name=$1 rc=0 i; shift
  agg_start "$name" "$@"
  local pid=$HO_LAST_PID
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && ho_fail "$name: the worker is still running after 30 s: $(tail -3 "$HO_TMP/$name.log")"
  wait "$pid" || rc=$?
  ho_assert_eq 1 "$rc" "$name: exit code"
}

# 1. The topic itself is missing.
expect_exit1 notopic
grep -q "ERROR: .*topic \"$AGG_TOPIC\" does not exist on the brokers" "$HO_TMP/notopic.log" \
  || ho_fail "missing topic: no clear message: $(tail -3 "$HO_TMP/notopic.log")"
listed "$AGG_TOPIC" && ho_fail "checking for the topic created it"

# 2. The topic exists, its dead letter topic does not.
ho_topic_create "$AGG_TOPIC" "$AGG_PARTS"
expect_exit1 nodlq
grep -q "ERROR: .*dead letter topic \"$AGG_DLQ\" does not exist on the brokers.*--create-dlq" \
  "$HO_TMP/nodlq.log" || ho_fail "missing dead letter topic: no clear message: $(tail -3 "$HO_TMP/nodlq.log")"
grep -q 'assigned "' "$HO_TMP/nodlq.log" && ho_fail "a partition was taken before the check"
listed "$AGG_DLQ" && ho_fail "checking for the dead letter topic created it"
# the same for one named with --dlq
other=$(ho_unique other)
expect_exit1 nodlq2 --dlq "$other"
grep -q "dead letter topic \"$other\" does not exist" "$HO_TMP/nodlq2.log" \
  || ho_fail "missing --dlq topic: no clear message: $(tail -3 "$HO_TMP/nodlq2.log")"

# 3. --create-dlq: created with one partition, and dead letters land in it.
HO_TOPICS+=("$AGG_DLQ") # deleted with the others when the test passes
agg_produce "$HO_SOURCE_DIR/deploy/sample/reports.jsonl"
printf 'garbage:not a report\n' | kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -K: \
  || ho_fail "kcat -P garbage"
agg_start w1 --create-dlq
w1=$HO_LAST_PID
ho_wait_until 30 grep -q "created the dead letter topic \"$AGG_DLQ\"" "$HO_TMP/w1.log" \
  || ho_fail "--create-dlq: no topic created: $(tail -3 "$HO_TMP/w1.log")"
listed "$AGG_DLQ" || ho_fail "--create-dlq: $AGG_DLQ is not listed"
kcat -L -b "$HANDOVER_BROKERS" -t "$AGG_DLQ" 2>/dev/null | grep -qF "topic \"$AGG_DLQ\" with 1 partitions" \
  || ho_fail "--create-dlq: $AGG_DLQ does not have 1 partition"
agg_wait_caught_up 60
agg_stop "$w1"
ho_assert_eq 1 "$(agg_redis HGET "{$AGG_PREFIX}:totals" rejected)" "totals.rejected"
ho_assert_eq 3 "$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)" "totals.transfers"
n=$(kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_DLQ" -o beginning -e -q -f '%k\n' | grep -c '^garbage$' || true)
ho_assert_eq 1 "$n" "dead letters in the created topic"

# 4. A second worker with --create-dlq finds it there and starts as usual.
agg_start w2 --create-dlq
w2=$HO_LAST_PID
ho_wait_until 30 grep -q 'assigned "' "$HO_TMP/w2.log" || ho_fail "second worker got no partitions"
grep -q 'created the dead letter topic' "$HO_TMP/w2.log" && ho_fail "the existing dead letter topic was created again"
agg_stop "$w2"
ho_log "ok: missing topic and dead letter topic exit 1 with their names; --create-dlq creates it"
