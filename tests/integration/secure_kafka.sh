#!/usr/bin/env bash
# secure_kafka: the whole pipeline over a SASL_SSL-only Kafka (SCRAM-SHA-512,
# the local CA) and a TLS-only Redis behind the stunnel tunnel, on a stack this
# test brings up itself (deploy/local/stack up --secure --redis-tls, its own
# state dir), with the settings taken only from what the stack exports
# (HANDOVER_KAFKA_CONFIG as every program's default -c). produce -> two
# workers -> exact; stats -b shows the lag of what came while the workers were
# stopped, exactly; replay finds no difference and switches in the same truth.
# A wrong password and a wrong CA each make produce, aggregate, replay, stats
# -b and topic exit 1 within a bound, saying why, with nothing half-applied
# (no message sent, Redis unchanged, no staging keys). No output of the test
# (logs at debug level with librdkafka's security and conf debugging, errors,
# -X list, stats in every mode, the metrics and health endpoints, ps) holds any
# of the secrets used.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_need_bin handover-aggregate handover-produce handover-topic handover-replay handover-stats
for c in keytool openssl stunnel4 redis-server kcat; do
  command -v $c >/dev/null || ho_fail "needs $c (deploy/install-deps installs it)"
done

STACK=$HO_SOURCE_DIR/deploy/local/stack
S=$HO_TMP/stack
OUT=$HO_TMP/out
mkdir -p "$OUT"
REDIS_PW=Redis-Sec-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')

# the secure stack goes down with the test, whatever happens (its topics and keys with it)
secure_cleanup() {
  local rc=$?
  HO_BIN_DIR=$HO_BIN_DIR "$STACK" down --state "$S" >/dev/null 2>&1 || true
  HO_TOPICS=()
  unset HANDOVER_REDIS
  set +e # errexit would end the trap here when rc != 0, and ho_cleanup would never run
  (exit $rc)
  ho_cleanup
}
trap secure_cleanup EXIT

t0=$(date +%s)
HO_BIN_DIR=$HO_BIN_DIR "$STACK" up --secure --redis-tls --redis-password "$REDIS_PW" --partitions 3 \
  --state "$S" >"$HO_TMP/env" 2>"$OUT/stack-up.log" || ho_fail "stack up --secure failed: $(tail -20 "$OUT/stack-up.log")"
ho_log "secure stack up in $(($(date +%s) - t0)) s"
grep -q '^export HANDOVER_KAFKA_CONFIG=' "$HO_TMP/env" || ho_fail "stack up --secure printed no HANDOVER_KAFKA_CONFIG: $(cat "$HO_TMP/env")"
unset HANDOVER_BROKERS HANDOVER_REDIS HANDOVER_KAFKA_CONFIG
# shellcheck disable=SC1091
. "$HO_TMP/env"
export HANDOVER_BROKERS HANDOVER_REDIS HANDOVER_KAFKA_CONFIG
SASL_PW=$(sed -n 's/^sasl.password=//p' "$HANDOVER_KAFKA_CONFIG")
[ -n "$SASL_PW" ] || ho_fail "no sasl.password in $HANDOVER_KAFKA_CONFIG"
SECRETS=("$SASL_PW" "$(cat "$S/secure/store.password")" "$(cat "$S/secure/admin.password")" "$REDIS_PW")

# Kafka speaks SASL_SSL only; kcat -F takes the stack's file as it is
kcat -L -b "$HANDOVER_BROKERS" -m 5 >"$OUT/kcat-plain" 2>&1 && ho_fail "the secure broker answered a PLAINTEXT client"
kcat -F "$HANDOVER_KAFKA_CONFIG" -L -m 10 >"$OUT/kcat-L" 2>&1 || ho_fail "kcat -F: $(tail -3 "$OUT/kcat-L")"
grep -q 'from broker 1: sasl_ssl://' "$OUT/kcat-L" || ho_fail "kcat -F did not go over sasl_ssl: $(head -3 "$OUT/kcat-L")"
export KCAT_CONFIG=$HANDOVER_KAFKA_CONFIG # kcat's own default -F: the test helpers' kcat calls
# Redis speaks TLS only; the tunnel is the way in
tls_port=$(sed -n 's/^tls-port //p' "$S/redis/redis.conf")
grep -qx 'port 0' "$S/redis/redis.conf" || ho_fail "redis-server has a plain port"
redis-cli -p "$tls_port" --no-auth-warning -a "$REDIS_PW" PING >"$OUT/redis-plain" 2>&1 || true
grep -q PONG "$OUT/redis-plain" && ho_fail "Redis answered in plain text on its TLS port"
[ "$(redis-cli -u "$HANDOVER_REDIS" --no-auth-warning PING)" = PONG ] || ho_fail "no PONG through the tunnel"

agg_setup 3 # topics created by handover-topic with the default -c: over SASL_SSL
"$HO_SOURCE_DIR/bench/gen" --reports 3000 --transfers 900 --seed 97 --v1-share 0.3 \
  --out "$HO_TMP/v2.jsonl" --v1-out "$HO_TMP/v1.jsonl" --truth "$HO_TMP/truth.json" \
  2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/v2.jsonl"
n_v2=$(agg_topic_count)
ho_assert_eq "$(wc -l <"$HO_TMP/v2.jsonl")" "$n_v2" "messages on the topic after the first produce"

# two workers: one logging at debug level with librdkafka's security and conf debugging, one
# given the SASL password and the Redis URL (with its password) on the command line
agg_start w1 -v -X debug=security,conf,broker; w1=$HO_LAST_PID
agg_start w2 -X "sasl.password=$SASL_PW"; w2=$HO_LAST_PID
agg_wait_caught_up 120
ps -o args= -p "$w2" >"$OUT/ps-w2"
tr '\0' ' ' <"/proc/$w2/cmdline" >"$OUT/cmdline-w2"
grep -q 'sasl.password=\*\*\**' "$OUT/ps-w2" || ho_fail "ps shows the worker as: $(cat "$OUT/ps-w2")"
grep -q 'CONF.*sasl.password = \[redacted\]' "$HO_TMP/w1.log" \
  || ho_fail "the debug-level worker did not log its configuration (the redaction check would be empty)"
agg_stop "$w1" 30
agg_stop "$w2" 30

# stats -b while the workers are stopped: the lag is exactly what came since
agg_produce "$HO_TMP/v1.jsonl" --schema v1
n_v1=$(($(agg_topic_count) - n_v2))
ho_assert_eq "$(wc -l <"$HO_TMP/v1.jsonl")" "$n_v1" "messages of the second produce"
stats() { "$HO_BIN_DIR/handover-stats" -p "$AGG_PREFIX" -t "$AGG_TOPIC" "$@"; }
stats -b "$HANDOVER_BROKERS" --json >"$OUT/stats-lag.json" 2>"$OUT/stats-lag.err" \
  || ho_fail "handover-stats -b --json: $(cat "$OUT/stats-lag.err")"
lag=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))["lag"]
print(d["total"] if isinstance(d, dict) and "total" in d else sum(p["lag"] for p in d["partitions"]))' "$OUT/stats-lag.json") \
  || ho_fail "no lag in handover-stats --json: $(head -c 400 "$OUT/stats-lag.json")"
ho_assert_eq "$n_v1" "$lag" "lag shown by handover-stats -b"
stats -b "$HANDOVER_BROKERS" >"$OUT/stats-lag.table" 2>&1 || ho_fail "handover-stats -b: $(cat "$OUT/stats-lag.table")"
grep -q "lag behind \"$AGG_TOPIC\": $n_v1 messages" "$OUT/stats-lag.table" \
  || ho_fail "handover-stats -b: $(grep lag "$OUT/stats-lag.table")"

mport=$(agg_free_port)
agg_start w3 --metrics "127.0.0.1:$mport"; w3=$HO_LAST_PID
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "state after produce -> aggregate over SASL_SSL and TLS"
# its metrics and health, for the secrets check below
ho_wait_until 30 curl -sf -o "$OUT/metrics" "http://127.0.0.1:$mport/metrics" \
  || ho_fail "no /metrics from the worker"
curl -s -o "$OUT/healthz" "http://127.0.0.1:$mport/healthz" || ho_fail "no /healthz from the worker"
grep -q '^handover_up' "$OUT/metrics" || ho_fail "the scrape has no handover_up: $(head -5 "$OUT/metrics")"
agg_stop "$w3" 30
stats -b "$HANDOVER_BROKERS" >"$OUT/stats-caught-up" 2>&1 || ho_fail "handover-stats -b: $(cat "$OUT/stats-caught-up")"
grep -q "lag behind \"$AGG_TOPIC\": 0 messages" "$OUT/stats-caught-up" || ho_fail "lag after catching up: $(grep lag "$OUT/stats-caught-up")"
stats --json --top 0 >"$OUT/stats.json" 2>&1 || ho_fail "handover-stats --json failed"
rc=0; stats --audit >"$OUT/stats-audit" 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || ho_fail "handover-stats --audit: exit $rc"

# replay: no difference, then the same truth switched in
replay() { "$HO_BIN_DIR/handover-replay" -t "$AGG_TOPIC" -p "$AGG_PREFIX" "$@"; }
replay --dry-run -q >"$OUT/dry.out" 2>"$OUT/dry.err" || ho_fail "replay --dry-run: $(cat "$OUT/dry.err")"
grep -q '^no differences$' "$OUT/dry.out" || ho_fail "replay --dry-run: $(cat "$OUT/dry.out")"
replay >"$OUT/replay.out" 2>"$OUT/replay.err" || ho_fail "replay: $(cat "$OUT/replay.err")"
grep -q 'switched in' "$OUT/replay.err" || ho_fail "replay did not switch: $(cat "$OUT/replay.err")"
agg_compare "$HO_TMP/truth.json" "state after replay over SASL_SSL and TLS"
agg_caught_up || ho_fail "stored offsets after replay are not the topic's end"

# -X list with the secure settings in the environment
"$HO_BIN_DIR/handover-aggregate" -X list >"$OUT/xlist" 2>&1 || ho_fail "-X list failed"

# A wrong password and a wrong CA: every program exits 1 in bounded time, saying why, and
# leaves nothing behind.
sed 's/^sasl.password=.*/sasl.password=Wrong-Pw-0xdead/' "$HANDOVER_KAFKA_CONFIG" >"$HO_TMP/badpw.properties"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=some other CA" \
  -keyout "$HO_TMP/other-ca.key" -out "$HO_TMP/other-ca.pem" >/dev/null 2>&1 || ho_fail "openssl: no other CA"
sed "s#^ssl.ca.location=.*#ssl.ca.location=$HO_TMP/other-ca.pem#" "$HANDOVER_KAFKA_CONFIG" >"$HO_TMP/badca.properties"
head -1 "$HO_TMP/v2.jsonl" | sed 's/"report_id": *"[^"]*"/"report_id": "never-sent"/' >"$HO_TMP/one.jsonl"
state() { # everything the refused runs must leave as it was
  agg_redis --scan --pattern "{$AGG_PREFIX}:*" | sort | paste -sd' '
  agg_redis HGETALL "{$AGG_PREFIX}:totals" | paste -sd' '
  agg_redis HGETALL "{$AGG_PREFIX}:offsets" | sort | paste -sd' '
  agg_watermarks | paste -sd' '
}
state >"$HO_TMP/state.before"
check_refused() { # check_refused CASE WHAT BOUND_S WANT CMD...
  local case=$1 what=$2 bound=$3 want=$4 t rc=0 f; shift 4
  f=$OUT/$case-$what
  t=$(date +%s%N)
  HANDOVER_KAFKA_CONFIG=$HO_TMP/$case.properties timeout 120 "$@" >"$f" 2>&1 || rc=$?
  t=$((($(date +%s%N) - t) / 1000000))
  ho_assert_eq 1 "$rc" "$what with $case: exit code ($(tail -2 "$f"))"
  [ "$t" -le $((bound * 1000)) ] || ho_fail "$what with $case took $t ms (bound ${bound} s)"
  grep -q "$want" "$f" || ho_fail "$what with $case: no '$want' in: $(tail -3 "$f")"
  ho_log "$case: $what exits 1 in $t ms: $(grep -o "$want.\{0,60\}" "$f" | head -1)"
}
for case in badpw badca; do
  want=$([ $case = badpw ] && echo 'kafka: authentication failed: .*invalid credentials' || echo 'kafka: TLS failed: .*certificate verify failed')
  check_refused $case produce 15 "$want" "$HO_BIN_DIR/handover-produce" -t "$AGG_TOPIC" "$HO_TMP/one.jsonl"
  check_refused $case aggregate 15 "$want" "$HO_BIN_DIR/handover-aggregate" -t "$AGG_TOPIC" \
    -g "$AGG_GROUP-$case" -p "$AGG_PREFIX" -r "$AGG_REDIS"
  check_refused $case replay 25 "$want" "$HO_BIN_DIR/handover-replay" -t "$AGG_TOPIC" -p "$AGG_PREFIX" -r "$AGG_REDIS"
  check_refused $case stats 20 "$want" "$HO_BIN_DIR/handover-stats" -p "$AGG_PREFIX" -t "$AGG_TOPIC" -b "$HANDOVER_BROKERS"
  check_refused $case topic 20 "$want" "$HO_BIN_DIR/handover-topic" list -T 5
done
state >"$HO_TMP/state.after"
cmp -s "$HO_TMP/state.before" "$HO_TMP/state.after" || {
  diff "$HO_TMP/state.before" "$HO_TMP/state.after" | head -10 >&2
  ho_fail "the refused runs changed Redis or the topic"
}
ho_assert_eq 0 "$(agg_redis --scan --pattern "{$AGG_PREFIX}:staging:*" | wc -l)" "staging keys left by the refused replays"

# no output of this test holds a secret (the stack's own files hold them, by design)
cp "$HO_TMP"/*.log "$OUT/"
for s in "${SECRETS[@]}"; do
  if grep -rlF -- "$s" "$OUT" >"$HO_TMP/leaks"; then
    ho_fail "a secret ($(printf '%s' "$s" | head -c 3)...) appears in: $(paste -sd' ' "$HO_TMP/leaks")"
  fi
done
ho_log "$(ls "$OUT" | wc -l) outputs, $(cat "$OUT"/* | wc -l) lines: none holds any of the ${#SECRETS[@]} secrets"
