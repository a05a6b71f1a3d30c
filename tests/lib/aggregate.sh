# tests/lib/aggregate.sh: helpers for the handover-aggregate integration tests
# (tests/integration/aggregate_*.sh). Source after tests/lib/common.sh.
#
#   agg_setup [PARTITIONS]     own topic, dead letter topic, group and prefix
#   agg_redis_start PORT DIR   a private redis-server (AGG_REDIS, AGG_REDIS_PID)
#   agg_start NAME [ARGS...]   a worker in the background, log in $HO_TMP/NAME.log
#   agg_wait_caught_up SECS    until Redis' stored offsets reach the topic's end
#   agg_compare TRUTH.json     Redis state == the ground truth (tests/lib/*.py)
#
# AGG_REDIS defaults to $HANDOVER_REDIS; a test with a private redis-server (or a private
# Redis Cluster, tests/lib/rcluster.sh) sets it.

agg_setup() {
  AGG_PARTS=${1:-6}
  AGG_TOPIC=$(ho_unique agg)
  AGG_DLQ=$AGG_TOPIC.dlq
  AGG_GROUP=$(ho_unique grp)
  AGG_PREFIX=$(ho_unique p)
  AGG_REDIS=${AGG_REDIS:-$HANDOVER_REDIS}
  ho_topic_create "$AGG_TOPIC" "$AGG_PARTS"
  ho_topic_create "$AGG_DLQ" 1
}

agg_redis() {
  case $AGG_REDIS in
    redis+cluster://*)
      # redis-cli -c on the first seed that answers: -c follows MOVED and ASK
      local rest=${AGG_REDIS#redis+cluster://} auth= seed
      case $rest in *@*) auth=${rest%@*}@; rest=${rest##*@} ;; esac
      for seed in ${rest//,/ }; do
        redis-cli -c -u "redis://$auth$seed" --no-auth-warning "$@" 2>/dev/null && return 0
      done
      return 1 ;;
    *) redis-cli -u "$AGG_REDIS" --no-auth-warning "$@" ;;
  esac
}

# A private redis-server, for a test that pauses, stops or restarts Redis (never the shared
# one, which other tests use at the same time). No persistence unless ARGS say so (later
# options win). AGG_REDIS points at it; its pid is in AGG_REDIS_PID.
agg_redis_start() { # agg_redis_start PORT DIR [REDIS-SERVER ARGS...]
  local port=$1 dir=$2; shift 2
  command -v redis-server >/dev/null || ho_fail "needs redis-server on PATH"
  mkdir -p "$dir"
  ho_bg redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
    --daemonize no --logfile "$dir/redis.log" "$@"
  AGG_REDIS_PID=$HO_LAST_PID
  AGG_REDIS=redis://127.0.0.1:$port
  ho_wait_until 20 bash -c "[ \"\$(redis-cli -p $port PING 2>/dev/null)\" = PONG ]" \
    || ho_fail "private redis-server on port $port did not start: $(tail -5 "$dir/redis.log")"
}

agg_start() { # agg_start NAME [ARGS...]: pid in $HO_LAST_PID
  local name=$1; shift
  ho_bg "$HO_BIN_DIR/handover-aggregate" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" \
    -g "$AGG_GROUP" -p "$AGG_PREFIX" --stats-interval 5 "$@" 2>>"$HO_TMP/$name.log"
}

# Produce a JSON Lines file to the test topic with handover-produce.
agg_produce() { # agg_produce FILE [ARGS...]
  local file=$1; shift
  "$HO_BIN_DIR/handover-produce" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" "$@" "$file" \
    >>"$HO_TMP/produce.log" 2>&1 || { tail -20 "$HO_TMP/produce.log" >&2; ho_fail "handover-produce failed on $file"; }
}

# The end offset (high watermark) of each partition of a topic, one per line: "P N".
agg_watermarks() { # agg_watermarks [TOPIC]
  local t=${1:-$AGG_TOPIC} args=() p
  for ((p = 0; p < AGG_PARTS; p++)); do args+=(-t "$t:$p:-1"); done
  kcat -Q -b "$HANDOVER_BROKERS" "${args[@]}" 2>/dev/null | awk '{gsub(/[][]/, "", $2); print $2, $4}' | sort -n
}

# Total messages in the topic (sum of end offsets; our topics start at 0).
agg_topic_count() { agg_watermarks "${1:-$AGG_TOPIC}" | awk '{s += $2} END {print s + 0}'; }

# True when every partition's stored offset in Redis equals its end offset.
agg_caught_up() {
  local p n stored
  while read -r p n; do
    stored=$(agg_redis HGET "{$AGG_PREFIX}:offsets" "$AGG_TOPIC:$p" 2>/dev/null) || return 1
    [ "${stored:-0}" = "$n" ] || return 1
  done < <(agg_watermarks)
  [ -n "$(agg_watermarks)" ]
}

# Sum of the stored offsets: how far the workers got.
agg_progress() {
  agg_redis HVALS "{$AGG_PREFIX}:offsets" 2>/dev/null | awk '{s += $1} END {print s + 0}'
}

agg_wait_caught_up() { # agg_wait_caught_up SECONDS
  ho_wait_until "$1" agg_caught_up || {
    ho_log "stored offsets: $(agg_redis HGETALL "{$AGG_PREFIX}:offsets" | paste -sd' ')"
    ho_log "end offsets: $(agg_watermarks | paste -sd' ')"
    for f in "$HO_TMP"/*.log; do ho_log "--- $f"; tail -15 "$f" >&2; done
    ho_fail "workers did not catch up within $1 s"
  }
}

# Redis state == ground truth, via the independent reader and comparer.
agg_compare() { # agg_compare TRUTH.json [LABEL]
  python3 "$HO_SOURCE_DIR/tests/lib/redis_state.py" --redis "$AGG_REDIS" --prefix "$AGG_PREFIX" \
    >"$HO_TMP/actual.json" || ho_fail "redis_state.py failed"
  python3 "$HO_SOURCE_DIR/tests/lib/compare_state.py" "$1" "$HO_TMP/actual.json" >"$HO_TMP/compare.out" 2>&1 || {
    head -40 "$HO_TMP/compare.out" >&2
    ho_fail "${2:-state}: Redis state differs from the ground truth"
  }
}

# Stop a worker with SIGTERM and check it left cleanly (exit 0) in time.
agg_stop() { # agg_stop PID [SECONDS]
  local pid=$1 secs=${2:-10} i
  kill -TERM "$pid" 2>/dev/null || ho_fail "worker $pid is not running"
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && ho_fail "worker $pid did not stop within $secs s of SIGTERM"
  local rc=0; wait "$pid" || rc=$?
  [ "$rc" = 0 ] || ho_fail "worker $pid exited $rc after SIGTERM (expected 0)"
}

# A free TCP port on loopback.
agg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Peak resident memory of a running process, in MB (VmHWM).
agg_peak_mb() { awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Produce a JSON Lines file at a steady rate (lines per second) through
# handover-produce's standard input, so a test's events happen mid-stream.
agg_produce_paced() { # agg_produce_paced FILE RATE [ARGS...]
  local file=$1 rate=$2; shift 2
  python3 -c '
import sys, time
rate = float(sys.argv[2]); t0 = time.time(); out = sys.stdout
for i, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    d = t0 + i / rate - time.time()
    if d > 0:
        out.flush(); time.sleep(d)
    out.write(line)
' "$file" "$rate" | "$HO_BIN_DIR/handover-produce" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -q "$@" - \
    >>"$HO_TMP/produce.log" 2>&1 || { tail -20 "$HO_TMP/produce.log" >&2; ho_fail "paced handover-produce failed on $file"; }
}
