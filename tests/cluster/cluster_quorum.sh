#!/usr/bin/env bash
# cluster_quorum: the controller quorum of the three-node cluster loses one
# node, then two.
#  - One lost (the active controller, SIGKILL): another node becomes the
#    active controller, and the pipeline goes on: the first half of the
#    reports is produced (exit 0) and counted by two workers.
#  - Two lost (a second node, SIGKILL): no quorum, and no partition can reach
#    min.insync.replicas=2. handover-produce, sending the second half, reports
#    every report it could not deliver and exits 1 within message.timeout.ms
#    (30 s) plus a few seconds; the workers stay up and say which brokers they
#    cannot reach ("kafka: ... (retrying)").
#  - Healed (both nodes started again): the workers resume by themselves, the
#    second half is produced again (a re-run: reports whose delivery was in
#    doubt may now be on the topic twice, and count once), and the counters
#    equal the ground truth.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
source "$HO_SOURCE_DIR/tests/lib/cluster.sh"
trap kc_cleanup EXIT
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic
kc_require_cluster

N=${HO_REPORTS:-20000}
agg_setup 6
python3 "$HO_SOURCE_DIR/bench/gen" --reports "$N" --transfers 5000 --seed 143 \
  --out "$HO_TMP/all.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
head -n $((N / 2)) "$HO_TMP/all.jsonl" >"$HO_TMP/half1.jsonl"
tail -n +$((N / 2 + 1)) "$HO_TMP/all.jsonl" >"$HO_TMP/half2.jsonl"

agg_start w1; w1=$HO_LAST_PID
agg_start w2; w2=$HO_LAST_PID
# both in the group with partitions of their own before the first kill: a worker that joins while
# the coordinator dies may hold nothing, reach no broker, and have no outage to report later
both_assigned() {
  grep -q 'assigned "' "$HO_TMP/w1.log" && grep -q 'assigned "' "$HO_TMP/w2.log"
}
ho_wait_until 60 both_assigned || ho_fail "the two workers did not both get partitions within 60 s"

# ---- one node of the quorum lost: the active controller
first=$(kc_stack controller 2>/dev/null) || ho_fail "no active controller known"
kc_stack node-kill "$first" 2>>"$HO_TMP/stack.log" || ho_fail "cannot kill node $first"
ho_log "killed node $first, the active controller"
ho_wait_until 60 eval 'c=$(kc_stack controller 2>/dev/null) && [ "$c" != "$first" ]' \
  || ho_fail "no other node became the active controller within 60 s of killing node $first"
ho_log "node $(kc_stack controller) is the active controller now"
agg_produce "$HO_TMP/half1.jsonl" -q
grep -q "sent $((N / 2)) reports" "$HO_TMP/produce.log" || ho_fail "the first half was not all sent: $(tail -3 "$HO_TMP/produce.log")"
ho_assert_eq $((N / 2)) "$(agg_topic_count)" "reports on the topic with one node down"
agg_wait_caught_up 120
ho_log "one node down: $((N / 2)) reports produced and counted"

# ---- two lost: one node left, no quorum
second=$(kc_stack controller)
# the logs' lengths before the kill: a worker may say it lost the node within a millisecond
w1_from=$(($(wc -l <"$HO_TMP/w1.log") + 1)); w2_from=$(($(wc -l <"$HO_TMP/w2.log") + 1))
kc_stack node-kill "$second" 2>>"$HO_TMP/stack.log" || ho_fail "cannot kill node $second"
lost_at=$(date +%s)
ho_log "killed node $second too: one node of three left"
ho_bg "$HO_BIN_DIR/handover-produce" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -q "$HO_TMP/half2.jsonl" \
  2>"$HO_TMP/outage-produce.log"
prod=$HO_LAST_PID
# each worker says, within seconds, which broker it cannot reach (and keeps running)
outage_said() { # outage_said WORKER FROM_LINE
  tail -n +"$2" "$HO_TMP/$1.log" | grep -q "WARN: kafka: .*127.0.0.1:$(cat "$HO_STACK_STATE/ports/kafka-$second").*(retrying)"
}
ho_wait_until 30 outage_said w1 "$w1_from" && ho_wait_until 30 outage_said w2 "$w2_from" \
  || ho_fail "the workers did not report that node $second is unreachable within 30 s: $(tail -n +"$w1_from" "$HO_TMP/w1.log" | tail -5)"
ho_log "the workers reported the outage within $(($(date +%s) - lost_at)) s; w1 said: $(tail -n +"$w1_from" "$HO_TMP/w1.log" | grep -m3 'WARN: kafka: ' | cut -c1-240 | tr '\n' '|')"
# the producer gives up after message.timeout.ms (30 s), naming what it did not deliver
ho_wait_until 45 eval '! kill -0 "$prod" 2>/dev/null' \
  || ho_fail "handover-produce still runs 45 s into the outage (message.timeout.ms is 30 s)"
rc=0; wait "$prod" || rc=$?
took=$(($(date +%s) - lost_at))
ho_log "handover-produce during the outage: exit $rc after $took s; it said: $(grep -v ': not delivered to' "$HO_TMP/outage-produce.log" | tr '\n' '|')"
ho_assert_eq 1 "$rc" "handover-produce's exit status without a quorum"
grep -q "[0-9]* of $((N - N / 2)) reports not delivered to \"$AGG_TOPIC\"" "$HO_TMP/outage-produce.log" \
  || ho_fail "handover-produce did not say how many reports were not delivered: $(tail -3 "$HO_TMP/outage-produce.log")"
grep -q "half2.jsonl:[0-9]*: not delivered to \"$AGG_TOPIC\"" "$HO_TMP/outage-produce.log" \
  || ho_fail "handover-produce did not list the reports it could not deliver by line"
kill -0 "$w1" 2>/dev/null && kill -0 "$w2" 2>/dev/null || ho_fail "a worker died without a quorum"

# ---- healed
KCLUSTER_NO_WAIT=1 kc_stack node-start "$first" 2>>"$HO_TMP/stack.log" || ho_fail "cannot start node $first"
kc_stack node-start "$second" 2>>"$HO_TMP/stack.log" || ho_fail "node $second did not come back"
kc_wait_healthy 120
ho_log "healed: all three nodes answer, every replica in sync"
agg_produce "$HO_TMP/half2.jsonl" -q
grep -q "sent $((N - N / 2)) reports" "$HO_TMP/produce.log" || ho_fail "the second half was not all sent after the heal: $(tail -3 "$HO_TMP/produce.log")"
total=$(agg_topic_count)
[ "$total" -ge "$N" ] || ho_fail "only $total reports on the topic after the re-run (expected at least $N)"
agg_wait_caught_up 120
kill -0 "$w1" 2>/dev/null && kill -0 "$w2" 2>/dev/null || ho_fail "a worker died across the outage"
agg_compare "$HO_TMP/truth.json" "after the quorum was lost and healed"
agg_stop "$w1" 15
agg_stop "$w2" 15
ho_log "ok: quorum lost one node (went on), then two (producer exit 1 in $took s, workers waited), healed: $total messages for $N reports, state equals the ground truth"
