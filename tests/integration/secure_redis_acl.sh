#!/usr/bin/env bash
# secure_redis_acl: the Redis ACL users of docs/security.md, created from the
# lines in that page (their only copy), are enough and no more. Two workers
# under handover-worker count a generated history exactly; handover-stats under
# the read-only handover-stats user shows the same counters in every mode
# (table, --json, --audit, --transfer, --watch); handover-replay under
# handover-replay finds no difference (--dry-run) and switches in the same
# truth. A user without a right gets an error naming the command or key: the
# worker as handover-stats logs NOPERM and retries (and writes nothing), replay
# as handover-worker and stats without the prefix's keys exit 1. No output
# holds a password. Uses a private redis-server.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_need_bin handover-aggregate handover-produce handover-topic handover-replay handover-stats

port=$(agg_free_port)
agg_redis_start "$port" "$HO_TMP/redis"
agg_setup 3
OUT=$HO_TMP/out
mkdir -p "$OUT"

# the ACL lines, from the docs
sed -n '/<!-- acl:begin/,/<!-- acl:end -->/p' "$HO_SOURCE_DIR/docs/security.md" \
  | grep '^ACL SETUSER ' >"$HO_TMP/acl.lines" || true
ho_assert_eq 3 "$(wc -l <"$HO_TMP/acl.lines")" "ACL SETUSER lines in docs/security.md"
declare -A PW URL
for who in worker replay stats; do
  line=$(grep "^ACL SETUSER handover-$who " "$HO_TMP/acl.lines") || ho_fail "docs/security.md has no line for handover-$who"
  PW[$who]=Acl-$who-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  line=${line//\{PREFIX\}/\{$AGG_PREFIX\}}
  line=${line//>PASSWORD/>${PW[$who]}}
  read -ra words <<<"$line"
  [ "$(agg_redis "${words[@]}")" = OK ] || ho_fail "Redis refused the docs' line for handover-$who"
  URL[$who]=redis://handover-$who:${PW[$who]}@127.0.0.1:$port
done
agg_redis ACL SETUSER other on ">Acl-other-pw" "~{elsewhere}:*" -@all +@read +multi +exec >/dev/null
URL[other]=redis://other:Acl-other-pw@127.0.0.1:$port

# the users are as narrow as they say
rc=0; redis-cli -u "${URL[worker]}" --no-auth-warning FLUSHALL >"$OUT/flushall" 2>&1 || rc=$?
grep -q NOPERM "$OUT/flushall" || ho_fail "handover-worker may run FLUSHALL: $(cat "$OUT/flushall")"
redis-cli -u "${URL[stats]}" --no-auth-warning HSET "{$AGG_PREFIX}:totals" x 1 >"$OUT/hset" 2>&1 || true
grep -q NOPERM "$OUT/hset" || ho_fail "handover-stats may write: $(cat "$OUT/hset")"

"$HO_SOURCE_DIR/bench/gen" --reports 3000 --transfers 900 --seed 83 --v1-share 0.3 \
  --out "$HO_TMP/v2.jsonl" --v1-out "$HO_TMP/v1.jsonl" --truth "$HO_TMP/truth.json" \
  2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/v2.jsonl" -q
agg_produce "$HO_TMP/v1.jsonl" --schema v1 -q

# a worker without the rights (the read-only user): NOPERM, retried, nothing written
ho_bg "$HO_BIN_DIR/handover-aggregate" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -g "$AGG_GROUP-ro" \
  -p "$AGG_PREFIX" -r "${URL[stats]}" 2>"$OUT/worker-ro.log"
ro=$HO_LAST_PID
ho_wait_until 60 grep -q "ERROR: .*NOPERM this user has no permissions to run the '[a-z|]*' command" \
  "$OUT/worker-ro.log" || ho_fail "a worker without the rights did not say NOPERM: $(tail -5 "$OUT/worker-ro.log")"
ho_wait_until 30 grep -q 'retrying in' "$OUT/worker-ro.log" || ho_fail "the worker does not retry: $(tail -3 "$OUT/worker-ro.log")"
agg_stop "$ro" 20
ho_assert_eq 0 "$(agg_redis --scan --pattern "{$AGG_PREFIX}:*" | wc -l)" "keys written by a read-only worker"

# two workers under handover-worker: exact
agg_start w1 -r "${URL[worker]}"; w1=$HO_LAST_PID
agg_start w2 -r "${URL[worker]}"; w2=$HO_LAST_PID
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "state applied by handover-worker"
grep -h 'NOPERM' "$HO_TMP/w1.log" "$HO_TMP/w2.log" && ho_fail "handover-worker lacks a right (see above)"

# handover-stats under the read-only user: the same counters in every mode
stats() { "$HO_BIN_DIR/handover-stats" -p "$AGG_PREFIX" --top 0 "$@"; }
stats -r "$AGG_REDIS" --json >"$OUT/stats-default.json" || ho_fail "handover-stats (default user) failed"
stats -r "${URL[stats]}" --json >"$OUT/stats-acl.json" 2>"$OUT/stats-acl.err" || ho_fail "handover-stats --json as handover-stats: $(cat "$OUT/stats-acl.err")"
cmp -s "$OUT/stats-default.json" "$OUT/stats-acl.json" || ho_fail "handover-stats --json differs under the ACL user"
stats -r "${URL[stats]}" >"$OUT/stats-table" 2>&1 || ho_fail "handover-stats as handover-stats: $(cat "$OUT/stats-table")"
rc=0; stats -r "${URL[stats]}" --audit >"$OUT/stats-audit" 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || ho_fail "handover-stats --audit as handover-stats: exit $rc: $(tail -3 "$OUT/stats-audit")"
tid=$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["transfers"])[0])' "$HO_TMP/truth.json") \
  || ho_fail "no transfer id in the truth"
stats -r "${URL[stats]}" --transfer "$tid" >"$OUT/stats-transfer" 2>&1 || ho_fail "handover-stats --transfer as handover-stats: $(cat "$OUT/stats-transfer")"
# --watch: the first drawing, then one more after the workers publish an update
ho_bg "$HO_BIN_DIR/handover-stats" -p "$AGG_PREFIX" -r "${URL[stats]}" --watch --json --interval 3600 \
  >"$OUT/watch.out" 2>"$OUT/watch.err"
wp=$HO_LAST_PID
ho_wait_until 20 test -s "$OUT/watch.out" || ho_fail "handover-stats --watch drew nothing: $(cat "$OUT/watch.err")"
# SUBSCRIBE follows the first drawing; the update must come after it
subscribed() { [ "$(agg_redis PUBSUB NUMSUB "{$AGG_PREFIX}:updates" | tail -1)" -ge 1 ]; }
ho_wait_until 20 subscribed || ho_fail "handover-stats --watch did not subscribe: $(cat "$OUT/watch.err")"
head -1 "$HO_TMP/v2.jsonl" | sed 's/"report_id": *"[^"]*"/"report_id": "acl-extra"/' >"$HO_TMP/extra.jsonl"
agg_produce "$HO_TMP/extra.jsonl" -q
ho_wait_until 30 bash -c "[ \$(wc -l <'$OUT/watch.out') -ge 2 ]" \
  || ho_fail "handover-stats --watch saw no update: $(cat "$OUT/watch.err")"
kill -INT "$wp"; wait "$wp" || ho_fail "handover-stats --watch did not exit 0 on SIGINT"
grep -q NOPERM "$OUT/watch.err" && ho_fail "handover-stats --watch lacks a right: $(cat "$OUT/watch.err")"
agg_wait_caught_up 60
agg_stop "$w1" 20
agg_stop "$w2" 20

# handover-replay under handover-replay: no difference, then the same truth switched in
live=$(agg_redis HGETALL "{$AGG_PREFIX}:totals" | paste -sd' ' | sed 's/updated_at [0-9]*//')
"$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -p "$AGG_PREFIX" -r "${URL[replay]}" \
  --dry-run -q >"$OUT/dry.out" 2>"$OUT/dry.err" || ho_fail "replay --dry-run as handover-replay: $(cat "$OUT/dry.err")"
grep -q '^no differences$' "$OUT/dry.out" || ho_fail "replay --dry-run as handover-replay: $(cat "$OUT/dry.out")"
"$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -p "$AGG_PREFIX" -r "${URL[replay]}" \
  >"$OUT/replay.out" 2>"$OUT/replay.err" || ho_fail "replay as handover-replay: $(cat "$OUT/replay.err")"
grep -q 'switched in' "$OUT/replay.err" || ho_fail "replay did not switch: $(cat "$OUT/replay.err")"
grep -q NOPERM "$OUT/replay.err" "$OUT/dry.err" && ho_fail "handover-replay lacks a right: $(cat "$OUT/replay.err" "$OUT/dry.err")"
ho_assert_eq "$live" "$(agg_redis HGETALL "{$AGG_PREFIX}:totals" | paste -sd' ' | sed 's/updated_at [0-9]*//')" \
  "totals after the replay"
agg_caught_up || ho_fail "stored offsets after the replay are not the topic's end"

# without the rights: replay as the worker user, stats without the prefix's keys
rc=0; "$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -p "$AGG_PREFIX" \
  -r "${URL[worker]}" -q >"$OUT/replay-noperm" 2>&1 || rc=$?
ho_assert_eq 1 "$rc" "replay as handover-worker: exit code"
grep -q "NOPERM this user has no permissions to run the '[a-z]*' command" "$OUT/replay-noperm" \
  || ho_fail "replay as handover-worker: unclear error: $(cat "$OUT/replay-noperm")"
rc=0; stats -r "${URL[other]}" >"$OUT/stats-noperm" 2>&1 || rc=$?
ho_assert_eq 1 "$rc" "stats without the prefix's keys: exit code"
grep -q 'NOPERM this user has no permissions to access one of the keys' "$OUT/stats-noperm" \
  || ho_fail "stats without the prefix's keys: unclear error: $(cat "$OUT/stats-noperm")"
ho_assert_eq "$live" "$(agg_redis HGETALL "{$AGG_PREFIX}:totals" | paste -sd' ' | sed 's/updated_at [0-9]*//')" \
  "totals after the refused runs"

# no output holds a password
cp "$HO_TMP"/*.log "$OUT/"
for who in worker replay stats; do
  if grep -rlF -- "${PW[$who]}" "$OUT" >"$HO_TMP/leaks"; then
    ho_fail "the password of handover-$who appears in: $(paste -sd' ' "$HO_TMP/leaks")"
  fi
done
grep -rlF -- "Acl-other-pw" "$OUT" && ho_fail "the password of 'other' appears in the outputs above"
ho_log "worker, replay and stats ran under the docs' ACL users; $(cat "$OUT"/* | wc -l) output lines, no password"
