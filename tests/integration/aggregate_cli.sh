#!/usr/bin/env bash
# aggregate_cli: handover-aggregate's command line and its behaviour when a
# service is missing. Exit codes (0 help/version/SIGTERM, 2 usage); a worker
# whose brokers are unreachable keeps retrying and still stops cleanly; a
# worker that cannot read its offsets from Redis at assignment takes no
# partition until Redis answers, then counts the sample exactly.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic
agg=$HO_BIN_DIR/handover-aggregate

expect_rc() { # expect_rc RC WHAT CMD...
  local want=$1 what=$2 rc=0; shift 2
  "$@" >"$HO_TMP/out" 2>"$HO_TMP/err" || rc=$?
  [ "$rc" = "$want" ] || ho_fail "$what: exit $rc, expected $want ($(head -3 "$HO_TMP/err"))"
}
expect_rc 0 "-h" "$agg" -h
grep -q '^usage: ' "$HO_TMP/out" || ho_fail "-h prints no usage on stdout"
expect_rc 0 "-V" "$agg" -V
grep -q 'librdkafka' "$HO_TMP/out" || ho_fail "-V names no library versions"
expect_rc 0 "-X list" "$agg" -X list
grep -q 'fetch.wait.max.ms' "$HO_TMP/out" || ho_fail "-X list does not list properties"
expect_rc 2 "unknown flag" "$agg" --no-such-flag
expect_rc 2 "bad -X" "$agg" -b x -r redis://127.0.0.1:1 -X no.such.property=1
grep -q 'no.such.property' "$HO_TMP/err" || ho_fail "bad -X: the error does not name the property"
expect_rc 2 "bad -c" "$agg" -b x -r redis://127.0.0.1:1 -c "$HO_TMP/does-not-exist.properties"
expect_rc 2 "bad Redis URL" "$agg" -b x -r http://127.0.0.1:1
expect_rc 2 "no brokers" env -u HANDOVER_BROKERS "$agg" -r redis://127.0.0.1:1
expect_rc 2 "no Redis" env -u HANDOVER_REDIS "$agg" -b x
expect_rc 2 "--batch-max 0" "$agg" -b x -r redis://127.0.0.1:1 --batch-max 0
expect_rc 2 "--stats-interval x" "$agg" -b x -r redis://127.0.0.1:1 --stats-interval x
expect_rc 2 "dead letter topic = topic" "$agg" -b x -r redis://127.0.0.1:1 -t t --dlq t
expect_rc 2 "stray argument" "$agg" -b x -r redis://127.0.0.1:1 extra

# Kafka unreachable: the worker logs, retries, and stops cleanly on SIGTERM.
dead=$(agg_free_port)
ho_bg "$agg" -b "127.0.0.1:$dead" -r "$HANDOVER_REDIS" -t t -g g -p "$(ho_unique p)" 2>"$HO_TMP/nokafka.log"
pid=$HO_LAST_PID
# it says it retries (after the failed connect, where a worker that gives up would exit)
ho_wait_until 30 grep -q 'kafka: .*retrying' "$HO_TMP/nokafka.log" \
  || ho_fail "unreachable brokers were not logged: $(tail -3 "$HO_TMP/nokafka.log")"
kill -0 "$pid" 2>/dev/null || ho_fail "worker exited while Kafka was unreachable: $(tail -3 "$HO_TMP/nokafka.log")"
agg_stop "$pid" 5

# Redis unreachable when partitions are assigned: no partition is taken
# without its stored offset; once Redis answers, the sample counts exactly.
port=$(agg_free_port)
AGG_REDIS=redis://127.0.0.1:$port
agg_setup 3
agg_produce "$HO_SOURCE_DIR/deploy/sample/reports.jsonl"
agg_start w1
w1=$HO_LAST_PID
ho_wait_until 30 grep -q 'cannot read the stored offset of .* on assignment' "$HO_TMP/w1.log" \
  || ho_fail "the worker did not report Redis as unreachable at assignment"
grep -q 'assigned "' "$HO_TMP/w1.log" && ho_fail "a partition was assigned without its stored offset"
ho_bg redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --logfile "$HO_TMP/redis.log"
ho_wait_until 20 bash -c "[ \"\$(redis-cli -p $port PING 2>/dev/null)\" = PONG ]" \
  || ho_fail "private redis-server did not start"
agg_wait_caught_up 60
ho_assert_eq 3 "$(agg_redis HGET "{$AGG_PREFIX}:totals" transfers)" "totals.transfers"
ho_assert_eq 92 "$(agg_redis HGET "{$AGG_PREFIX}:totals" inmates)" "totals.inmates"
agg_stop "$w1"
ho_log "ok: exit codes, Kafka outage, Redis down at assignment"
