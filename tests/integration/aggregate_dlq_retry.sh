#!/usr/bin/env bash
# aggregate_dlq_retry: a dead letter that cannot be delivered (its topic was
# deleted after the worker started) stops its partition right before the bad
# message: what came before it is applied, the offset does not move past it,
# nothing counts it as rejected. Once the dead letter topic exists again the
# worker delivers it, counts it once, and goes on with the reports after it.
# (A dead letter topic missing at start-up is aggregate_startup's case.)
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

AGG_PARTS=1
AGG_TOPIC=$(ho_unique agg)
AGG_DLQ=$AGG_TOPIC.dlq
AGG_GROUP=$(ho_unique grp)
AGG_PREFIX=$(ho_unique p)
AGG_REDIS=$HANDOVER_REDIS
ho_topic_create "$AGG_TOPIC" 1
ho_topic_create "$AGG_DLQ" 1 # the start-up check needs it; deleted once the worker runs

agg_start w1 -X message.timeout.ms=1500
w1=$HO_LAST_PID
ho_wait_until 30 grep -q 'assigned "' "$HO_TMP/w1.log" || ho_fail "the worker got no partition"
"$HO_BIN_DIR/handover-topic" delete -b "$HANDOVER_BROKERS" "$AGG_DLQ" >/dev/null \
  || ho_fail "cannot delete $AGG_DLQ"
dlq_gone() { ! kcat -L -b "$HANDOVER_BROKERS" 2>/dev/null | grep -qF "topic \"$AGG_DLQ\""; }
ho_wait_until 30 dlq_gone || ho_fail "$AGG_DLQ is still listed after its deletion"

sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
sed -n 1,2p "$sample" >"$HO_TMP/before.jsonl"
sed -n '3,$p' "$sample" >"$HO_TMP/after.jsonl"
agg_produce "$HO_TMP/before.jsonl"                    # offsets 0, 1
printf 'garbage:not a report\n' | kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -K: \
  || ho_fail "kcat -P garbage"                         # offset 2
agg_produce "$HO_TMP/after.jsonl"                     # offsets 3, 4, 5
ho_assert_eq 6 "$(agg_topic_count)" "messages on the topic"
ho_wait_until 30 grep -q 'dead letter: not delivered' "$HO_TMP/w1.log" \
  || ho_fail "the undeliverable dead letter was not reported"
# a few more failed attempts, each one logged: the offset must still stop at the bad message
undelivered() { [ "$(grep -c 'dead letter: not delivered' "$HO_TMP/w1.log")" -ge "$1" ]; }
ho_wait_until 60 undelivered 3 || ho_fail "the worker did not retry the dead letter: $(tail -5 "$HO_TMP/w1.log")"
ho_assert_eq 2 "$(agg_redis HGET "{$AGG_PREFIX}:offsets" "$AGG_TOPIC:0")" \
  "stored offset while the dead letter is undelivered (must stop at the bad message)"
ho_assert_eq 2 "$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)" "transfers before the bad message"
rejected=$(agg_redis HGET "{$AGG_PREFIX}:totals" rejected)
ho_assert_eq 0 "${rejected:-0}" "totals.rejected before delivery"
kill -0 "$w1" 2>/dev/null || ho_fail "worker died while the dead letter topic was missing"

"$HO_BIN_DIR/handover-topic" create -b "$HANDOVER_BROKERS" -p 1 "$AGG_DLQ" >/dev/null \
  || ho_fail "cannot create $AGG_DLQ again"
agg_wait_caught_up 60
agg_stop "$w1"
ho_assert_eq 1 "$(agg_redis HGET "{$AGG_PREFIX}:totals" rejected)" "totals.rejected"
ho_assert_eq 3 "$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)" "totals.transfers"
ho_assert_eq 92 "$(agg_redis HGET "{$AGG_PREFIX}:totals" inmates)" "totals.inmates"
n=$(kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_DLQ" -o beginning -e -q -f '%k %o\n' | grep -c '^garbage ' || true)
[ "$n" -ge 1 ] || ho_fail "the dead letter never reached $AGG_DLQ"
ho_log "ok: offset held at the undelivered dead letter, then delivered ($n copies) and counted once"
