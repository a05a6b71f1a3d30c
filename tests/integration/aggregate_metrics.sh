#!/usr/bin/env bash
# aggregate_metrics: handover-aggregate --metrics scraped during a stream.
# Scrapes pass `promtool check metrics` and no counter goes down; once
# caught up the counters equal the Redis totals and the lag is 0; /healthz is
# 200, turns 503 (naming Redis) while the worker's Redis is stopped and 200
# again after; at the end the worker's own stats line says what the last
# scrape said. Uses a private redis-server, never the shared one.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic
command -v promtool >/dev/null \
  || ho_fail "needs promtool (Debian package prometheus; deploy/install-deps installs it)"
agg=$HO_BIN_DIR/handover-aggregate

# usage: a bad address is exit 2, a port that is taken exit 1 with a message
rc=0; "$agg" -b x -r redis://127.0.0.1:1 --metrics nonsense 2>"$HO_TMP/usage.err" || rc=$?
ho_assert_eq 2 "$rc" "--metrics nonsense: exit code"
grep -q -- '--metrics: expected ADDR:PORT' "$HO_TMP/usage.err" || ho_fail "--metrics nonsense: $(cat "$HO_TMP/usage.err")"

rport=$(agg_free_port)
redis_up() { agg_redis_start "$rport" "$HO_TMP/redis" --appendonly yes --appendfsync always; }
redis_up
rc=0; HANDOVER_METRICS=127.0.0.1:$rport "$agg" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" \
  2>"$HO_TMP/taken.err" || rc=$?
ho_assert_eq 1 "$rc" "--metrics on a port in use: exit code"
grep -q "cannot serve metrics on \"127.0.0.1:$rport\"" "$HO_TMP/taken.err" \
  || ho_fail "--metrics on a port in use: $(cat "$HO_TMP/taken.err")"

agg_setup 3
python3 "$HO_SOURCE_DIR/bench/gen" --reports 20000 --transfers 6000 --dup-rate 0.05 --seed 12 \
  --out "$HO_TMP/reports.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"

agg_start w1 --metrics 127.0.0.1:0 --stats-interval 1
w1=$HO_LAST_PID
ho_wait_until 20 grep -q 'metrics: serving' "$HO_TMP/w1.log" || ho_fail "no metrics line in the log"
mport=$(sed -n 's/.*metrics: serving .* (port \([0-9]*\)).*/\1/p' "$HO_TMP/w1.log" | head -1)
[ -n "$mport" ] || ho_fail "no port in: $(grep 'metrics: serving' "$HO_TMP/w1.log")"

# GET PATH: the body to stdout, the status to $HO_TMP/status
http_get() {
  python3 - "$mport" "$1" "$HO_TMP/status" <<'EOF'
import sys, urllib.error, urllib.request
port, path, status = sys.argv[1:]
try:
    r = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
    code, body, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
except urllib.error.HTTPError as e:
    code, body, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
open(status, "w").write(f"{code} {ctype}\n")
sys.stdout.write(body.decode())
EOF
}
status() { cut -d' ' -f1 "$HO_TMP/status"; }
health_is() { http_get /healthz >"$HO_TMP/health.txt" && [ "$(status)" = "$1" ]; }

# scrape N: $HO_TMP/scrape.N, checked by promtool
scrape() {
  http_get /metrics >"$HO_TMP/scrape.$1" || ho_fail "scrape $1: GET /metrics failed"
  ho_assert_eq "200 text/plain; version=0.0.4; charset=utf-8" "$(cat "$HO_TMP/status")" "scrape $1: status and type"
  promtool check metrics <"$HO_TMP/scrape.$1" >"$HO_TMP/promtool.$1" 2>&1 \
    || { cat "$HO_TMP/promtool.$1" >&2; ho_fail "scrape $1: promtool check metrics failed"; }
}
# mval FILE NAME [LABELS]: a sample's value ("" when absent); LABELS as rendered, e.g. partition="0"
mval() {
  awk -v n="$2" -v l="${3:-}" '
    $1 == n && l == "" { print $2; exit }
    index($1, n "{") == 1 && (l == "" || index($1, l)) { print $2; exit }' "$1"
}
msum() { awk -v n="$2" 'index($1, n "{") == 1 { s += $2 } END { print s + 0 }' "$1"; }

ho_wait_until 30 health_is 200 || ho_fail "/healthz never turned 200: $(cat "$HO_TMP/health.txt")"
ho_assert_eq "ok" "$(cat "$HO_TMP/health.txt")" "/healthz body"

# the stream: 20000 reports at 2500/s, scraped every 0.2 s by one process while it runs
# (one interpreter for all scrapes, so a loaded machine still scrapes often)
mkdir -p "$HO_TMP/scrapes"
ho_bg python3 -c '
import os, sys, time, urllib.request
port, out, stop = sys.argv[1:]
for n in range(1, 1000):
    if os.path.exists(stop):
        break
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    with open(f"{out}/{n:04d}.tmp", "wb") as f:
        f.write(body)
    os.rename(f"{out}/{n:04d}.tmp", f"{out}/{n:04d}")
    time.sleep(0.2)
' "$mport" "$HO_TMP/scrapes" "$HO_TMP/scrapes.stop"
scraper=$HO_LAST_PID
agg_produce_paced "$HO_TMP/reports.jsonl" 2500
touch "$HO_TMP/scrapes.stop"
wait "$scraper" || ho_fail "the scraper failed (GET /metrics during the stream)"

counters=(handover_messages_total handover_reports_applied_total handover_duplicates_total
  handover_batches_total handover_apply_seconds_count handover_produce_to_apply_seconds_count)
n=0 mid=0 prev=
for f in "$HO_TMP"/scrapes/[0-9][0-9][0-9][0-9]; do
  n=$((n + 1))
  a=$(mval "$f" handover_reports_applied_total)
  [ "$a" -gt 0 ] && [ "$a" -lt 19000 ] && mid=$((mid + 1))
  if [ -n "$prev" ]; then
    for c in "${counters[@]}"; do
      was=$(mval "$prev" "$c") now=$(mval "$f" "$c")
      [ "$now" -ge "$was" ] || ho_fail "$c went down between $(basename "$prev") and $(basename "$f"): $was -> $now"
    done
  fi
  prev=$f
done
[ $mid -ge 2 ] || ho_fail "only $mid of $n scrapes came while reports were being applied"
# promtool on the mid-stream scrapes (at most 20 of them, spread out)
step=$(( (n + 19) / 20 )) i=0 checked=0
for f in "$HO_TMP"/scrapes/[0-9][0-9][0-9][0-9]; do
  i=$((i + 1))
  [ $((i % step)) = 0 ] || continue
  promtool check metrics <"$f" >"$HO_TMP/promtool.out" 2>&1 \
    || { cat "$HO_TMP/promtool.out" >&2; ho_fail "$(basename "$f"): promtool check metrics failed"; }
  checked=$((checked + 1))
done
ho_log "$n scrapes during the stream ($mid mid-stream), $checked checked by promtool"

agg_wait_caught_up 90
agg_compare "$HO_TMP/truth.json" "after the stream"
# and three dead letters
for i in 1 2 3; do
  printf 'garbage-%s:not a report\n' "$i" | kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -K: \
    || ho_fail "kcat -P garbage"
done
agg_wait_caught_up 30

# the counters agree with Redis once the metrics had their next snapshot
t() { agg_redis HGET "{$AGG_PREFIX}:totals" "$1"; }
settled() {
  scrape final
  [ "$(mval "$HO_TMP/scrape.final" handover_reports_applied_total)" = "$(t reports)" ] &&
    [ "$(mval "$HO_TMP/scrape.final" handover_rejected_total)" = "$(t rejected)" ] &&
    [ "$(msum "$HO_TMP/scrape.final" handover_partition_lag)" = 0 ]
}
ho_wait_until 20 settled || {
  grep -v '^#' "$HO_TMP/scrape.final" | grep -v _bucket >&2
  ho_fail "metrics do not agree with Redis totals (reports $(t reports), rejected $(t rejected))"
}
f=$HO_TMP/scrape.final
ho_assert_eq 3 "$(t rejected)" "totals.rejected"
ho_assert_eq 20003 "$(mval "$f" handover_messages_total)" "handover_messages_total"
ho_assert_eq 3 "$(mval "$f" handover_partitions_assigned)" "handover_partitions_assigned"
ho_assert_eq 0 "$(mval "$f" handover_partitions_stalled)" "handover_partitions_stalled"
ho_assert_eq 1 "$(mval "$f" handover_up)" "handover_up"
for p in 0 1 2; do
  ho_assert_eq 0 "$(mval "$f" handover_partition_lag "topic=\"$AGG_TOPIC\",partition=\"$p\"")" "lag of partition $p"
done
applied=$(mval "$f" handover_reports_applied_total) dups=$(mval "$f" handover_duplicates_total)
[ "$dups" -gt 0 ] || ho_fail "no duplicates counted (bench/gen --dup-rate 0.05)"
ho_assert_eq 20000 $((applied + dups)) "reports applied + duplicates"
ho_assert_eq $((applied + dups)) "$(mval "$f" handover_produce_to_apply_seconds_count)" \
  "produce -> apply observations (one per report)"
batches=$(mval "$f" handover_batches_total)
[ "$(mval "$f" handover_apply_seconds_count)" -ge "$batches" ] || ho_fail "fewer apply observations than batches"
[ "$(mval "$f" handover_rebalances_total)" -ge 1 ] || ho_fail "no rebalance counted"
grep -q '^handover_build_info{version="[0-9.]*",librdkafka="[0-9.]*",hiredis="[0-9.]*",avro="[0-9.]*"} 1$' "$f" \
  || ho_fail "no handover_build_info"
grep -q '^handover_apply_seconds_bucket{le="+Inf"} ' "$f" || ho_fail "handover_apply_seconds has no +Inf bucket"
ho_log "caught up: $applied applied, $dups duplicates, $batches batches, 3 rejected, lag 0"

# Redis stopped: 503 naming Redis, handover_up 0; back: 200
kill -TERM "$AGG_REDIS_PID"; wait "$AGG_REDIS_PID" 2>/dev/null || true
ho_wait_until 15 health_is 503 || ho_fail "/healthz did not turn 503 with Redis stopped: $(status) $(cat "$HO_TMP/health.txt")"
grep -q "^Redis at redis://127.0.0.1:$rport/0 does not answer a PING (" "$HO_TMP/health.txt" \
  || ho_fail "503 without saying it is Redis: $(cat "$HO_TMP/health.txt")"
ho_assert_eq 1 "$(wc -l <"$HO_TMP/health.txt")" "lines in the 503 reason"
http_get /metrics >"$HO_TMP/scrape.down"
ho_assert_eq 0 "$(mval "$HO_TMP/scrape.down" handover_up)" "handover_up with Redis stopped"
ho_log "Redis stopped: /healthz 503: $(cat "$HO_TMP/health.txt")"
redis_up
ho_wait_until 15 health_is 200 || ho_fail "/healthz did not turn 200 again after Redis came back: $(cat "$HO_TMP/health.txt")"
ho_assert_eq "$applied" "$(t reports)" "totals.reports after the Redis restart (AOF)"

# the worker's own stats line, printed as it stops, says what the last scrape said
scrape last
agg_stop "$w1"
line=$(grep 'INFO: stats: ' "$HO_TMP/w1.log" | tail -1)
read -r s_reports s_dups s_batches s_rejected s_fenced s_rerr < <(sed -E \
  's/.*stats: [0-9.]+ reports\/s, ([0-9]+) reports \(([0-9]+) duplicates\), ([0-9]+) batches, ([0-9]+) rejected, ([0-9]+) fenced, ([0-9]+) redis errors.*/\1 \2 \3 \4 \5 \6/' <<<"$line")
[ -n "$s_rerr" ] || ho_fail "cannot read the stats line: $line"
l=$HO_TMP/scrape.last
ho_assert_eq "$s_reports" $(($(mval "$l" handover_reports_applied_total) + $(mval "$l" handover_duplicates_total))) "stats line reports vs metrics"
ho_assert_eq "$s_dups" "$(mval "$l" handover_duplicates_total)" "stats line duplicates vs metrics"
ho_assert_eq "$s_batches" "$(mval "$l" handover_batches_total)" "stats line batches vs metrics"
ho_assert_eq "$s_rejected" "$(mval "$l" handover_rejected_total)" "stats line rejected vs metrics"
ho_assert_eq "$s_fenced" "$(mval "$l" handover_fenced_batches_total)" "stats line fenced vs metrics"
ho_assert_eq "$s_rerr" "$(mval "$l" handover_redis_errors_total)" "stats line redis errors vs metrics"
ho_log "ok: scraped during the stream, promtool clean, counters = Redis = stats line, /healthz follows Redis"
