#!/usr/bin/env bash
# rcluster_failover: a Redis Cluster of three masters with a replica each, two workers streaming
# into one prefix, and its slot's master replaced twice mid-stream:
#   1. CLUSTER FAILOVER on the replica (no write lost): the old master answers MOVED, the workers
#      reconnect to the new one;
#   2. the new master's replica cut off (SIGSTOP, its replication link killed), more batches
#      acknowledged by the master alone, then the master killed with SIGKILL and the stale
#      replica promoted: writes the workers were told had succeeded are gone, offsets and
#      counters together (one MULTI/EXEC). The workers find the stored offsets behind their
#      position, read those partitions again from Kafka, and count each report once.
# Both times the counters end equal to the ground truth.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
source "$HO_SOURCE_DIR/tests/lib/rcluster.sh"
ho_require_kafka
ho_need_bin handover-aggregate handover-produce handover-topic

rc_up 6
agg_setup 6
AGG_PREFIX=$(rc_prefixes 1)
slot=$(rc_slot "{$AGG_PREFIX}:totals")
m1=$(rc_owner "$slot")
r1=$(rc_replica_of "$m1")
[ -n "$r1" ] || ho_fail "master port $m1 has no replica"
ho_log "prefix $AGG_PREFIX: slot $slot on master port $m1, replica port $r1"
node_pid() { # node_pid PORT: the pid of the cluster node on PORT
  local i
  for i in "${!RC_PORTS[@]}"; do [ "${RC_PORTS[$i]}" = "$1" ] && { cat "$RC_STATE/rcluster-$((i + 1)).pid"; return; }; done
  ho_fail "no cluster node on port $1"
}
offsets_on() { rc_cli "$1" HVALS "{$AGG_PREFIX}:offsets" | awk '{s += $1} END {print s + 0}'; }

python3 "$HO_SOURCE_DIR/bench/gen" --reports 40000 --transfers 8000 --seed 47 \
  --out "$HO_TMP/v2.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"

agg_start w1 --batch-max 100; agg_start w2 --batch-max 100
ho_wait_until 60 bash -c "[ \$(cat '$HO_TMP/w1.log' '$HO_TMP/w2.log' | grep -c 'assigned \"') -ge 6 ]" \
  || ho_fail "two workers did not get the 6 partitions"
agg_produce_paced "$HO_TMP/v2.jsonl" 2000 &
prod=$!
streaming() { kill -0 "$prod" 2>/dev/null; }
ho_wait_until 30 bash -c "[ \$(redis-cli -p $m1 HLEN '{$AGG_PREFIX}:offsets' 2>/dev/null || echo 0) -ge 6 ]" \
  || ho_fail "the workers wrote no offsets to the slot's master"

# 1. a graceful failover: the replica takes over once it has every write
ho_log "1. CLUSTER FAILOVER on port $r1 at progress $(offsets_on "$m1")"
rc_cli "$r1" CLUSTER FAILOVER | grep -q OK || ho_fail "CLUSTER FAILOVER refused"
ho_wait_until 20 bash -c "[ \"\$(redis-cli -p $r1 INFO replication | tr -d '\r' | sed -n 's/^role://p')\" = master ]" \
  || ho_fail "port $r1 did not become master"
ho_wait_until 20 bash -c "[ \$(redis-cli -p $r1 HVALS '{$AGG_PREFIX}:offsets' | awk '{s += \$1} END {print s + 0}') -gt $(offsets_on "$r1") ]" \
  || ho_fail "the workers wrote nothing to the new master within 20 s"
streaming || ho_fail "the stream ended during the first failover: not mid-stream"
ho_log "   port $r1 is master and takes the workers' writes: progress $(offsets_on "$r1")"

# 2. lost acknowledged writes: the replica (old master m1) stops receiving, the master takes
#    more batches alone, then dies; the stale replica is promoted
ho_wait_until 20 bash -c "redis-cli -p $m1 INFO replication | grep -q '^master_link_status:up'" \
  || ho_fail "port $m1 did not become a replica in sync"
pid_m1=$(node_pid "$m1"); pid_r1=$(node_pid "$r1")
kill -STOP "$pid_m1"
rc_cli "$r1" CLIENT KILL TYPE replica >/dev/null
before=$(offsets_on "$r1")
ho_wait_until 30 bash -c "[ \$(redis-cli -p $r1 HVALS '{$AGG_PREFIX}:offsets' | awk '{s += \$1} END {print s + 0}') -ge $((before + 1000)) ]" \
  || { kill -CONT "$pid_m1"; ho_fail "the workers applied fewer than 1000 reports to the lone master in 30 s"; }
acked=$(offsets_on "$r1")
streaming || { kill -CONT "$pid_m1"; ho_fail "the stream ended before the kill: not mid-stream"; }
kill -9 "$pid_r1"
kill -CONT "$pid_m1"
ho_log "2. killed master port $r1 (offsets sum $acked acknowledged; its replica stopped at $before)"
ho_wait_until 30 bash -c "[ \"\$(redis-cli -p $m1 INFO replication | tr -d '\r' | sed -n 's/^role://p')\" = master ]" \
  || ho_fail "port $m1 was not promoted within 30 s of the kill"
kept=$(offsets_on "$m1")
ho_log "   port $m1 promoted with offsets sum $kept: $((acked - kept)) acknowledged reports' writes lost"
[ "$kept" -lt "$acked" ] || ho_fail "no acknowledged write was lost (kept $kept, acked $acked): the test did not test that"

wait "$prod" || ho_fail "producing failed"
ho_assert_eq 40000 "$(agg_topic_count)" "messages on the topic"
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "after a graceful failover and a master killed with lost writes"
went_back=$(cat "$HO_TMP"/w?.log | grep -c 'the stored offset went back' || true)
[ "$went_back" -ge 1 ] || ho_fail "no worker noticed the stored offsets going back"
ho_log "partitions read again after the lost writes: $went_back"
for pid in "${HO_PIDS[@]}"; do agg_stop "$pid" 15; done
HO_PIDS=()
ho_log "ok: exact across a graceful failover and a killed master whose last writes were lost"
