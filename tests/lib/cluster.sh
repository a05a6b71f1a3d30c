# tests/lib/cluster.sh: helpers for the Kafka cluster fault tests (tests/cluster/*.sh), which
# run against the three-node cluster of `deploy/local/stack up --brokers 3`. Source after
# tests/lib/common.sh and tests/lib/aggregate.sh.
#
#   kc_require_cluster        fail unless HO_STACK_STATE holds a running 3-node cluster
#                             whose brokers are HANDOVER_BROKERS
#   kc_stack VERB [ARGS...]   deploy/local/stack on that state dir (node-kill 2, leader T P, ...)
#   kc_leader TOPIC P         the node leading partition P (empty when none)
#   kc_coordinator GROUP      the node leading the group's __consumer_offsets partition
#   kc_wait_healthy SECS      every node answers and every partition of the test topic has all
#                             3 replicas in sync
#   kc_pipeline_start N TRANSFERS SEED RATE
#                             a bench/gen history of N reports ($HO_TMP/all.jsonl, its truth in
#                             $HO_TMP/truth.json), two workers (pids KC_W1, KC_W2) and
#                             handover-produce streaming it at RATE/s in the background (KC_PROD)
#   kc_pipeline_finish ACROSS LABEL
#                             the producer exits 0 having sent all N, the topic holds exactly N,
#                             both workers catch up alive, the state equals the truth; ACROSS
#                             ("the pause") and LABEL (for agg_compare) word the failures
#
# tests/run's cluster stage exports HO_STACK_STATE; by hand:
#   eval "$(deploy/local/stack up --brokers 3 --state /tmp/kc)"; export HO_STACK_STATE=/tmp/kc

KC_STACK=$HO_SOURCE_DIR/deploy/local/stack

kc_require_cluster() {
  [ -n "${HO_STACK_STATE:-}" ] \
    || ho_fail "needs the Kafka cluster: HO_STACK_STATE is not set (tests/run runs these in its cluster stage; by hand: eval \"\$(deploy/local/stack up --brokers 3 --state DIR)\"; export HO_STACK_STATE=DIR)"
  [ "$(cat "$HO_STACK_STATE/kafka.nodes" 2>/dev/null)" = 3 ] \
    || ho_fail "needs the Kafka cluster: $HO_STACK_STATE holds no 3-node cluster (deploy/local/stack up --brokers 3)"
  [ "$(cat "$HO_STACK_STATE/brokers")" = "$HANDOVER_BROKERS" ] \
    || ho_fail "HANDOVER_BROKERS ($HANDOVER_BROKERS) is not the cluster in $HO_STACK_STATE ($(cat "$HO_STACK_STATE/brokers"))"
  # a test before this one may have just started a node again
  ho_wait_until 90 eval 'kc_stack status >"$HO_TMP/cluster-status.txt" 2>&1' \
    || ho_fail "the Kafka cluster is not healthy: $(cat "$HO_TMP/cluster-status.txt")"
}

kc_stack() { "$KC_STACK" "$@" --state "$HO_STACK_STATE"; }

kc_leader() { kc_stack leader "$1" "$2" 2>/dev/null || true; }

# The group coordinator: Kafka puts group G on __consumer_offsets partition
# abs(G.hashCode()) % offsets.topic.num.partitions (10 in the stack)
kc_coordinator() {
  local p
  p=$(python3 -c '
import sys
h = 0
for ch in sys.argv[1]:
    h = (31 * h + ord(ch)) & 0xFFFFFFFF
print((h & 0x7FFFFFFF) % 10)' "$1")
  kc_leader __consumer_offsets "$p"
}

# Every partition of TOPIC has LEADER != -1 and N in-sync replicas
kc_isr_count_is() { # kc_isr_count_is TOPIC N
  kcat -L -b "$HANDOVER_BROKERS" -t "$1" -m 3 2>/dev/null | awk -v n="$2" '
    /^    partition [0-9]+, leader/ { seen++; if ($4 == "-1,") bad++
      isr = $0; sub(/.*isrs: /, "", isr); if (split(isr, a, ",") != n) bad++ }
    END { exit !(seen > 0 && bad == 0) }'
}

# True while NODE is not a replica in sync for any partition of TOPIC
kc_out_of_isr() { # kc_out_of_isr TOPIC NODE
  kcat -L -b "$HANDOVER_BROKERS" -t "$1" -m 3 2>/dev/null | awk -v n="$2" '
    /^    partition [0-9]+, leader/ { seen++; isr = $0; sub(/.*isrs: /, "", isr)
      k = split(isr, a, ","); for (i = 1; i <= k; i++) if (a[i] == n) bad++ }
    END { exit !(seen > 0 && bad == 0) }'
}

kc_wait_healthy() { # kc_wait_healthy SECONDS
  ho_wait_until "$1" kc_stack status >/dev/null 2>&1 \
    || ho_fail "the cluster did not answer again within $1 s: $(kc_stack status 2>&1 | tr '\n' ';')"
  ho_wait_until "$1" kc_isr_count_is "$AGG_TOPIC" 3 \
    || ho_fail "the replicas of $AGG_TOPIC are not all back in sync within $1 s: $(kcat -L -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" 2>&1 | grep partition | tr '\n' ';')"
}

kc_pipeline_start() { # kc_pipeline_start N TRANSFERS SEED RATE
  KC_N=$1
  python3 "$HO_SOURCE_DIR/bench/gen" --reports "$1" --transfers "$2" --seed "$3" \
    --out "$HO_TMP/all.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
    || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
  agg_start w1; KC_W1=$HO_LAST_PID
  agg_start w2; KC_W2=$HO_LAST_PID
  (agg_produce_paced "$HO_TMP/all.jsonl" "$4") &
  KC_PROD=$!
  HO_PIDS+=("$KC_PROD")
}

kc_pipeline_finish() { # kc_pipeline_finish ACROSS LABEL
  local rc=0
  wait "$KC_PROD" || rc=$?
  [ "$rc" = 0 ] || { tail -20 "$HO_TMP/produce.log" >&2; ho_fail "handover-produce exited $rc across $1"; }
  grep -q "sent $KC_N reports" "$HO_TMP/produce.log" \
    || ho_fail "the producer did not say it sent $KC_N reports: $(tail -3 "$HO_TMP/produce.log")"
  ho_assert_eq "$KC_N" "$(agg_topic_count)" "reports on the topic (a duplicate or a loss changes the count)"
  ho_log "producer done: $(tail -1 "$HO_TMP/produce.log")"
  agg_wait_caught_up 120
  kill -0 "$KC_W1" 2>/dev/null && kill -0 "$KC_W2" 2>/dev/null || ho_fail "a worker died across $1"
  agg_compare "$HO_TMP/truth.json" "$2"
}

# Ends a test with the cluster whole again, whatever happened: a node the test took down is
# started (resumed) again, so the next test finds three nodes
kc_cleanup() {
  local rc=$? i
  for i in 1 2 3; do
    kc_stack node-resume "$i" >/dev/null 2>&1 || true
    KCLUSTER_NO_WAIT=1 kc_stack node-start "$i" >/dev/null 2>&1 || true
  done
  set +e # errexit would end the trap here when rc != 0, and ho_cleanup would never run
  (exit $rc)
  ho_cleanup
}
