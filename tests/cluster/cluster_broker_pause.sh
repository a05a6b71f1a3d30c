#!/usr/bin/env bash
# cluster_broker_pause: on the three-node cluster, the node that coordinates the
# workers' consumer group (and leads some partitions) is frozen with SIGSTOP
# while handover-produce streams and two workers aggregate, for longer than
# both session timeouts (the controller's broker.session.timeout.ms, 6 s, and
# the group's session.timeout.ms, 10 s): the cluster fences it, its partitions
# get new leaders, the group a new coordinator, and the pipeline goes on
# without it. Then it is resumed (SIGCONT) mid-stream, a stale leader that
# must learn it was replaced, and rejoins the ISR. The producer delivers every
# report exactly once, and the counters equal the ground truth.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
source "$HO_SOURCE_DIR/tests/lib/cluster.sh"
trap kc_cleanup EXIT
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic
kc_require_cluster

N=${HO_REPORTS:-36000}
# 36 s of stream: it must outlast the pause, the fencing and the group's recovery (up to ~25 s
# in CI)
RATE=${HO_RATE:-1000}
PAUSE_MIN=12 # seconds: above both session timeouts
agg_setup 6
kc_pipeline_start "$N" 8000 142 "$RATE"
w1=$KC_W1 w2=$KC_W2 prod=$KC_PROD

ho_wait_until 60 eval '[ "$(agg_progress)" -ge $((N / 8)) ]' \
  || ho_fail "the workers did not apply an eighth of the reports in 60 s (see $HO_TMP/w1.log)"
victim=$(kc_coordinator "$AGG_GROUP")
[ -n "$victim" ] || ho_fail "no coordinator known for group $AGG_GROUP"
kc_stack node-pause "$victim" 2>>"$HO_TMP/stack.log" || ho_fail "cannot pause node $victim"
paused_at=$(date +%s)
before=$(agg_progress)
ho_log "paused node $victim (coordinator of $AGG_GROUP) at stored progress $before of $N"

# fenced: out of every ISR of the topic, leads none of its partitions, and the
# workers applied more reports without it, for longer than the session timeouts
leads_nothing() {
  local p l
  for ((p = 0; p < AGG_PARTS; p++)); do
    l=$(kc_leader "$AGG_TOPIC" "$p")
    [ -n "$l" ] && [ "$l" != "$victim" ] || return 1
  done
}
ho_wait_until 60 kc_out_of_isr "$AGG_TOPIC" "$victim" \
  || ho_fail "node $victim is still in the ISR 60 s after it was paused"
ho_wait_until 60 leads_nothing || ho_fail "node $victim still leads a partition 60 s after it was paused"
ho_log "node $victim fenced after $(($(date +%s) - paused_at)) s"
ho_wait_until 60 eval '[ "$(agg_progress)" -gt "$before" ] && [ $(($(date +%s) - paused_at)) -ge $PAUSE_MIN ]' \
  || ho_fail "the workers made no progress while node $victim was paused"
kill -0 "$prod" 2>/dev/null || ho_fail "the producer finished while node $victim was paused: not mid-stream"
during=$(agg_progress)
kc_stack node-resume "$victim" 2>>"$HO_TMP/stack.log" || ho_fail "cannot resume node $victim"
ho_log "resumed node $victim after $(($(date +%s) - paused_at)) s (progress $during of $N meanwhile)"

kc_pipeline_finish "the pause" "after node $victim was paused and resumed"
kc_wait_healthy 90
agg_stop "$w1" 15
agg_stop "$w2" 15
ho_log "ok: node $victim paused $PAUSE_MIN+ s mid-stream and resumed: $N reports exactly once, state equals the ground truth"
