#!/usr/bin/env bash
# cluster_stack: the three-node stack itself. status names each node and what
# it leads; every partition of the handover topics has 3 replicas in sync; a
# report produced with handover-produce's defaults reads back through each node's listener;
# leader and controller name a node; `up` again on the running cluster changes
# nothing; --brokers with a count other than 1 or 3, or with --secure, is a
# usage error.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
source "$HO_SOURCE_DIR/tests/lib/cluster.sh"
trap kc_cleanup EXIT
ho_require_kafka
ho_require_redis
ho_need_bin handover-produce handover-topic
kc_require_cluster

kc_stack status >"$HO_TMP/status.txt" 2>&1 || ho_fail "status failed: $(cat "$HO_TMP/status.txt")"
for i in 1 2 3; do
  grep -q "^kafka-$i: running, pid [0-9]*, 127.0.0.1:[0-9]*, RSS [0-9]* MB, leads: " "$HO_TMP/status.txt" \
    || ho_fail "status does not show node $i running: $(cat "$HO_TMP/status.txt")"
done
grep -q "^kafka cluster: 3 nodes (replication factor 3, min.insync.replicas 2)" "$HO_TMP/status.txt" \
  || ho_fail "status has no cluster line: $(head -1 "$HO_TMP/status.txt")"
for t in handover.transfers handover.transfers.dlq; do
  kcat -L -b "$HANDOVER_BROKERS" -t "$t" | grep -q "^    partition 5, leader [123], replicas: [123],[123],[123], isrs: [123],[123],[123]$" \
    || ho_fail "$t: partition 5 does not have 3 replicas in sync: $(kcat -L -b "$HANDOVER_BROKERS" -t "$t" 2>&1 | tail -2)"
done

leader=$(kc_stack leader handover.transfers 0) || ho_fail "leader found no leader"
[[ $leader =~ ^[123]$ ]] || ho_fail "leader printed '$leader', expected a node id"
grep -q "^kafka-$leader: .*leads: .*handover.transfers:0\b" "$HO_TMP/status.txt" \
  || ho_fail "status does not say node $leader leads handover.transfers:0"
ctl=$(kc_stack controller) || ho_fail "controller found no active controller"
[[ $ctl =~ ^[123]$ ]] || ho_fail "controller printed '$ctl', expected a node id"

# one report, produced with the defaults, reads back bootstrapping through each node
agg_setup 1
python3 "$HO_SOURCE_DIR/bench/gen" --reports 1 --transfers 1 --seed 144 \
  --out "$HO_TMP/one.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/one.jsonl" -q
for i in 1 2 3; do
  n=$(kcat -C -b "127.0.0.1:$(cat "$HO_STACK_STATE/ports/kafka-$i")" -t "$AGG_TOPIC" -o beginning -e -q -f '%p\n' 2>/dev/null | wc -l)
  ho_assert_eq 1 "$n" "messages read through node $i"
done

# up again: already running, the same export lines
env_again=$("$KC_STACK" up --brokers 3 --state "$HO_STACK_STATE" 2>"$HO_TMP/up-again.log") \
  || ho_fail "up on the running cluster failed: $(cat "$HO_TMP/up-again.log")"
grep -q "already running" "$HO_TMP/up-again.log" || ho_fail "up on the running cluster did not say it runs: $(cat "$HO_TMP/up-again.log")"
ho_assert_eq "export HANDOVER_BROKERS=$HANDOVER_BROKERS" "$(head -1 <<<"$env_again")" "up's first export line"
rc=0; "$KC_STACK" up --state "$HO_STACK_STATE" >/dev/null 2>"$HO_TMP/up-one.log" || rc=$?
ho_assert_eq 1 "$rc" "up with one broker on the running cluster's state dir"
grep -q "a stack with 3 Kafka node(s) already runs" "$HO_TMP/up-one.log" || ho_fail "unclear refusal: $(cat "$HO_TMP/up-one.log")"

# usage errors, checked before anything starts
for args in "--brokers 2" "--brokers x" "--brokers 3 --secure" "--brokers 3 --broker embedded"; do
  rc=0
  # shellcheck disable=SC2086
  "$KC_STACK" up $args --state "$HO_TMP/never" >/dev/null 2>"$HO_TMP/usage.log" || rc=$?
  ho_assert_eq 2 "$rc" "exit status of up $args"
  grep -q -- "--brokers" "$HO_TMP/usage.log" || ho_fail "up $args: the message does not name --brokers: $(cat "$HO_TMP/usage.log")"
done
[ ! -e "$HO_TMP/never/kafka.nodes" ] || ho_fail "a refused up left state behind"
ho_log "ok: status, leader, controller, replicas, read back from each node, up again, usage errors"
