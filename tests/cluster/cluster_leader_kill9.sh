#!/usr/bin/env bash
# cluster_leader_kill9: on the three-node cluster, the leader of partition 0 is
# killed with SIGKILL while handover-produce streams reports into the topic and
# two workers aggregate them. The producer (idempotent, acks=all, defaults)
# delivers every report exactly once: the topic holds exactly the reports sent;
# partition 0 gets a new leader and the workers follow it (they keep running and
# catch up to the end of every partition); the counters equal the ground truth.
# The killed node is started again and rejoins the ISR before the test ends.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
source "$HO_SOURCE_DIR/tests/lib/cluster.sh"
trap kc_cleanup EXIT
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic
kc_require_cluster

N=${HO_REPORTS:-20000}
RATE=${HO_RATE:-2000}
agg_setup 6
# a node the previous test started again may still be joining the new topic's replicas
ho_wait_until 60 kc_isr_count_is "$AGG_TOPIC" 3 || ho_fail "the new topic does not have 3 replicas in sync within 60 s"
kc_pipeline_start "$N" 5000 141 "$RATE"
w1=$KC_W1 w2=$KC_W2 prod=$KC_PROD

# mid-stream: a quarter of the reports on the topic and some already counted
ho_wait_until 60 eval '[ "$(agg_topic_count)" -ge $((N / 4)) ]' \
  || ho_fail "the producer did not get a quarter of the reports out in 60 s (see $HO_TMP/produce.log)"
ho_wait_until 60 eval '[ "$(agg_progress)" -gt 0 ]' \
  || ho_fail "the workers applied nothing in 60 s (see $HO_TMP/w1.log)"
victim=$(kc_leader "$AGG_TOPIC" 0)
[ -n "$victim" ] || ho_fail "partition 0 of $AGG_TOPIC has no leader before the kill"
before=$(agg_progress)
kc_stack node-kill "$victim" 2>>"$HO_TMP/stack.log" || ho_fail "cannot kill node $victim"
kill -0 "$prod" 2>/dev/null || ho_fail "the producer had finished before the kill: not mid-stream"
ho_log "killed node $victim (leader of partition 0) at stored progress $before of $N"

# a new leader for partition 0 (the controller fences the dead node after broker.session.timeout.ms)
ho_wait_until 60 eval 'l=$(kc_leader "$AGG_TOPIC" 0); [ -n "$l" ] && [ "$l" != "$victim" ]' \
  || ho_fail "partition 0 got no new leader within 60 s of killing node $victim"
ho_log "partition 0 now led by node $(kc_leader "$AGG_TOPIC" 0)"

kc_pipeline_finish "the leader kill" "after the leader of partition 0 was killed"
after=$(agg_progress)
[ "$after" -gt "$before" ] || ho_fail "no progress after the kill"
ho_log "workers caught up, state equals the ground truth; starting node $victim again"

kc_stack node-start "$victim" 2>>"$HO_TMP/stack.log" || ho_fail "node $victim did not start again"
kc_wait_healthy 90
agg_stop "$w1" 15
agg_stop "$w2" 15
ho_log "ok: leader of partition 0 (node $victim) killed mid-stream: $N reports on the topic exactly once, state equals the ground truth"
