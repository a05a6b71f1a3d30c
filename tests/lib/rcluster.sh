# tests/lib/rcluster.sh: a private Redis Cluster for the rcluster_* integration tests, beside the
# stack's Kafka. Source after tests/lib/common.sh and tests/lib/aggregate.sh.
#
#   rc_up 3|6                  deploy/local/stack redis-cluster-up in $HO_TMP/rc; AGG_REDIS is
#                              its redis+cluster:// URL; stopped when the test exits
#   rc_cli PORT ARGS...        redis-cli on one node
#   rc_owner SLOT              the port of the master serving SLOT (from CLUSTER NODES)
#   rc_slot KEY                the slot of KEY, as the cluster computes it (CLUSTER KEYSLOT)
#   rc_node_id PORT            a node's id
#   rc_replica_of PORT         the port of a replica of that master
#   rc_prefixes N              N fresh prefixes (ho_unique) whose slots are on N different masters

RC_STATE=
RC_PORTS=()

rc_up() { # rc_up 3|6
  RC_STATE=$HO_TMP/rc
  mkdir -p "$RC_STATE"
  # stop the cluster whatever happens (before ho_cleanup removes its state dir), then the usual
  # cleanup, handed the test's status in $? (set +e: under -e, "(exit 1)" would end the trap)
  trap 'rc__rc=$?; rc_down; set +e; (exit $rc__rc); ho_cleanup' EXIT
  local env
  env=$("$HO_SOURCE_DIR/deploy/local/stack" redis-cluster-up "$1" --state "$RC_STATE" 2>"$HO_TMP/rc-up.log") \
    || { cat "$HO_TMP/rc-up.log" >&2; ho_fail "the redis cluster of $1 nodes did not start"; }
  AGG_REDIS=$(printf '%s\n' "$env" | sed -n 's/^export HANDOVER_REDIS=//p')
  case $AGG_REDIS in redis+cluster://*) ;; *) ho_fail "redis-cluster-up printed no redis+cluster:// URL: $env" ;; esac
  mapfile -t RC_PORTS <"$RC_STATE/rcluster/ports"
  ho_log "redis cluster: $AGG_REDIS ($(grep -o 'up in [0-9.]*s' "$HO_TMP/rc-up.log"))"
}

rc_down() {
  [ -n "$RC_STATE" ] || return 0
  "$HO_SOURCE_DIR/deploy/local/stack" redis-cluster-down --state "$RC_STATE" >/dev/null 2>&1 || true
}

rc_cli() { local port=$1; shift; redis-cli -p "$port" "$@"; }

rc_slot() { rc_cli "${RC_PORTS[0]}" CLUSTER KEYSLOT "$1"; }

rc_node_id() { rc_cli "$1" CLUSTER MYID; }

# The master serving SLOT as the node at ASK_PORT (default: any live one) sees it.
rc_owner() { # rc_owner SLOT [ASK_PORT]
  local slot=$1 ask=${2:-} p
  if [ -z "$ask" ]; then
    for p in "${RC_PORTS[@]}"; do rc_cli "$p" PING >/dev/null 2>&1 && { ask=$p; break; }; done
  fi
  rc_cli "$ask" CLUSTER NODES | awk -v s="$slot" '
    $3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) {
        if ($i ~ /^\[/) continue
        n = split($i, r, "-"); if (n == 1) r[2] = r[1]
        if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) { split($2, a, "@"); m = split(a[1], b, ":"); print b[m] }
      }
    }'
}

rc_replica_of() { # rc_replica_of MASTER_PORT
  local id
  id=$(rc_node_id "$1")
  rc_cli "$1" CLUSTER NODES | awk -v id="$id" '$4 == id && $3 ~ /slave/ { split($2, a, "@"); m = split(a[1], b, ":"); print b[m]; exit }'
}

rc_prefixes() { # rc_prefixes N: prints N prefixes, one a line, each on a master of its own
  local want=$1 p owner seen=" " got=0 tries=0
  while [ "$got" -lt "$want" ]; do
    tries=$((tries + 1))
    [ "$tries" -le 200 ] || ho_fail "no $want prefixes on $want different masters after 200 tries"
    p=$(ho_unique p)
    owner=$(rc_owner "$(rc_slot "{$p}:totals")")
    case $seen in *" $owner "*) continue ;; esac
    seen="$seen$owner "
    got=$((got + 1))
    printf '%s\n' "$p"
  done
}
