#!/usr/bin/env bash
# secure_redis_url: the Redis password never shows, in any program that takes a
# Redis URL (handover-aggregate, handover-replay, handover-stats), whatever is
# wrong: every kind of bad URL, given with -r and with HANDOVER_REDIS, a wrong
# password and an unreachable server. Each bad URL is a usage error (exit 2)
# whose message names where the URL came from and what is wrong with it. A URL
# read from a file (-r @FILE) and a password from HANDOVER_REDIS_PASSWORD_FILE
# log in; the arguments ps shows carry no password once a program runs.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_need_bin handover-aggregate handover-replay handover-stats handover-produce handover-topic

PW=Url-Secret-7q2x
OUT=$HO_TMP/out
mkdir -p "$OUT"
n=0

# run PROG -> its stdout+stderr in a new file under $OUT, its exit code in $rc
run() {
  local prog=$1; shift
  n=$((n + 1))
  rc=0
  "$HO_BIN_DIR/$prog" "$@" >"$OUT/$n.out" 2>&1 || rc=$?
  last=$OUT/$n.out
}

# URL -> what the message must say
bad_urls=(
  "redis://u:$PW@127.0.0.1:99999|port must be 1..65535"
  "redis://u:$PW@127.0.0.1:0|port must be 1..65535"
  "redis://u:$PW@127.0.0.1:port|port must be 1..65535"
  "redis://u:$PW@127.0.0.1:6379/zero|database must be a number"
  "redis://u:$PW@127.0.0.1:6379/0?timeout=5|database must be a number"
  "redis://:$PW@127.0.0.1:6379/a/b|database must be a number"
  "redis://u:$PW@|missing host"
  "rediss://u:$PW@127.0.0.1:6379|rediss:// (TLS) needs hiredis >= 1.0"
  "http://u:$PW@127.0.0.1:6379|expected redis://"
  "u:$PW@127.0.0.1:6379|expected redis://"
  "unix://:$PW@relative/path|expected unix:///path"
)
for prog in handover-aggregate handover-replay handover-stats; do
  for entry in "${bad_urls[@]}"; do
    url=${entry%%|*} want=${entry#*|}
    for how in flag env; do
      if [ $how = flag ]; then
        run "$prog" -b 127.0.0.1:1 -r "$url"
        src="-r"
      else
        HANDOVER_REDIS=$url run "$prog" -b 127.0.0.1:1
        src="HANDOVER_REDIS"
      fi
      ho_assert_eq 2 "$rc" "$prog, $how, URL '${url/$PW/***}': exit code"
      grep -qF -- "$src: Redis URL \"" "$last" || ho_fail "$prog ($how): the message does not say where the URL came from: $(cat "$last")"
      grep -qF -- "$want" "$last" || ho_fail "$prog ($how): the message lacks '$want': $(cat "$last")"
      ho_assert_eq 1 "$(wc -l <"$last")" "$prog ($how): lines in the message (the URL once)"
    done
  done
done
ho_log "$n bad-URL runs: exit 2, a clear message, no password"

# A private redis-server with a password: wrong password, right one from files.
port=$(agg_free_port)
agg_redis_start "$port" "$HO_TMP/redis"
redis-cli -p "$port" CONFIG SET requirepass "$PW" >/dev/null || ho_fail "cannot set the private Redis' password"
good=redis://default:$PW@127.0.0.1:$port
wrong=redis://default:Wrong-$PW@127.0.0.1:$port
down=redis://default:$PW@127.0.0.1:$(agg_free_port)
agg_setup 1
agg_produce "$HO_SOURCE_DIR/deploy/sample/reports.jsonl" -q

for url in "$wrong" "$down"; do
  why=$([ "$url" = "$wrong" ] && echo WRONGPASS || echo 'Connection refused')
  run handover-stats -r "$url" -p "$AGG_PREFIX"
  ho_assert_eq 1 "$rc" "handover-stats with a refused URL: exit code"
  grep -q "Redis at redis://default:\*\*\*@127.0.0.1:[0-9]*/0: .*$why" "$last" \
    || ho_fail "handover-stats: no masked URL and '$why' in $(cat "$last")"
  run handover-replay -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -r "$url" -p "$AGG_PREFIX"
  ho_assert_eq 1 "$rc" "handover-replay with a refused URL: exit code"
  grep -q "Redis at redis://default:\*\*\*@127.0.0.1:[0-9]*/0: .*$why" "$last" \
    || ho_fail "handover-replay: no masked URL and '$why' in $(cat "$last")"
done

# the worker retries a Redis that refuses it; it says so with the URL masked
for url in "$wrong" "$down"; do
  n=$((n + 1))
  ho_bg "$HO_BIN_DIR/handover-aggregate" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -g "$AGG_GROUP-$n" \
    -p "$AGG_PREFIX" -r "$url" 2>"$OUT/$n.out"
  wpid=$HO_LAST_PID
  ho_wait_until 60 grep -q 'ERROR: .*Redis at redis://default:\*\*\*@127.0.0.1' "$OUT/$n.out" \
    || ho_fail "the worker did not log the refused Redis within 60 s: $(tail -5 "$OUT/$n.out")"
  agg_stop "$wpid" 20
done

# -r @FILE and HANDOVER_REDIS_PASSWORD_FILE log in (the worker counts the sample)
(umask 077; echo "$good" >"$HO_TMP/url"; echo "$PW" >"$HO_TMP/pw")
run handover-stats -r "@$HO_TMP/url" -p "$AGG_PREFIX"
ho_assert_eq 1 "$rc" "handover-stats -r @FILE on an empty prefix: exit code"
grep -q 'no data under prefix' "$last" || ho_fail "handover-stats -r @FILE did not log in: $(cat "$last")"
HANDOVER_REDIS_PASSWORD_FILE=$HO_TMP/pw run handover-stats -r "redis://127.0.0.1:$port" -p "$AGG_PREFIX"
grep -q 'no data under prefix' "$last" || ho_fail "HANDOVER_REDIS_PASSWORD_FILE did not log in: $(cat "$last")"
HANDOVER_REDIS_PASSWORD_FILE=$HO_TMP/pw run handover-stats -r "$good" -p "$AGG_PREFIX"
ho_assert_eq 2 "$rc" "a password in the URL and in HANDOVER_REDIS_PASSWORD_FILE: exit code"
HANDOVER_REDIS_PASSWORD_FILE=$HO_TMP/missing run handover-stats -r "redis://127.0.0.1:$port"
ho_assert_eq 2 "$rc" "a missing HANDOVER_REDIS_PASSWORD_FILE: exit code"
grep -qF "$HO_TMP/missing" "$last" || ho_fail "a missing password file is not named: $(cat "$last")"

n=$((n + 1))
HANDOVER_REDIS_PASSWORD_FILE=$HO_TMP/pw ho_bg "$HO_BIN_DIR/handover-aggregate" -b "$HANDOVER_BROKERS" \
  -t "$AGG_TOPIC" -g "$AGG_GROUP" -p "$AGG_PREFIX" -r "redis://127.0.0.1:$port" 2>"$OUT/$n.out"
w1=$HO_LAST_PID
AGG_REDIS=$good
agg_wait_caught_up 60
ho_assert_eq 92 "$(agg_redis HGET "{$AGG_PREFIX}:totals" inmates)" "inmates counted through the password file"
agg_stop "$w1" 20

# what ps shows of a running worker: the password given with -r and -X is starred out
n=$((n + 1))
ho_bg "$HO_BIN_DIR/handover-aggregate" -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -g "$AGG_GROUP-ps" \
  -p "$AGG_PREFIX" -r "$good" -X "sasl.password=$PW" 2>"$OUT/$n.out"
w2=$HO_LAST_PID
ho_wait_until 30 grep -q 'INFO: consuming ' "$OUT/$n.out" || ho_fail "the worker did not start: $(cat "$OUT/$n.out")"
tr '\0' ' ' <"/proc/$w2/cmdline" >"$OUT/cmdline"
ps -o args= -p "$w2" >"$OUT/ps"
grep -q 'redis://default:\*\*\*\**@127.0.0.1' "$OUT/ps" || ho_fail "ps shows the worker as: $(cat "$OUT/ps")"
grep -q 'sasl.password=\*\*\**' "$OUT/cmdline" || ho_fail "the worker's arguments: $(cat "$OUT/cmdline")"
agg_stop "$w2" 20

# nothing any program printed holds the password
if grep -rlF -- "$PW" "$OUT" >"$HO_TMP/leaks"; then
  for f in $(cat "$HO_TMP/leaks"); do ho_log "--- $f"; sed "s/$PW/<PASSWORD>/g" "$f" >&2; done
  ho_fail "the Redis password appears in $(wc -l <"$HO_TMP/leaks") output(s)"
fi
ho_log "$n runs, $(cat "$OUT"/* | wc -l) lines of output: the password appears in none"
