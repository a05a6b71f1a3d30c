#!/usr/bin/env bash
# replay_metrics: handover-replay --metrics serves /metrics while it runs.
# Scraped during a rebuild: every scrape passes `promtool check metrics`, the
# messages read only grow and some scrapes come mid-rebuild (after the first
# message, before the exit), each partition's
# lag stays within its size; the rebuild itself is exact and exits 0.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-produce handover-topic handover-replay
command -v promtool >/dev/null \
  || ho_fail "needs promtool (Debian package prometheus; deploy/install-deps installs it)"

rc=0; "$HO_BIN_DIR/handover-replay" -b x -r redis://127.0.0.1:1 --metrics 127.0.0.1 2>"$HO_TMP/usage.err" || rc=$?
ho_assert_eq 2 "$rc" "--metrics without a port: exit code"

agg_setup 3
python3 "$HO_SOURCE_DIR/bench/gen" --reports 40000 --transfers 10000 --seed 23 \
  --out "$HO_TMP/reports.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/reports.jsonl" -q
total=$(agg_topic_count)
agg_watermarks >"$HO_TMP/ends"

# a fold capped far below the history: the window is read once per bucket of transfers
# (8 reads or so), a rebuild of seconds, to scrape while it runs
ho_bg "$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" \
  -p "$AGG_PREFIX" --memory-max 1M --metrics 127.0.0.1:0 2>"$HO_TMP/replay.err"
rp=$HO_LAST_PID
ho_wait_until 20 grep -q 'metrics: serving' "$HO_TMP/replay.err" \
  || ho_fail "no metrics line: $(cat "$HO_TMP/replay.err")"
mport=$(sed -n 's/.*metrics: serving .* (port \([0-9]*\)).*/\1/p' "$HO_TMP/replay.err" | head -1)

n=0 mid=0 prev=0
while kill -0 "$rp" 2>/dev/null; do
  python3 - "$mport" >"$HO_TMP/scrape" 2>/dev/null <<'EOF' || break # gone: replay finished
import sys, urllib.request
r = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5)
assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
sys.stdout.write(r.read().decode())
EOF
  n=$((n + 1))
  cp "$HO_TMP/scrape" "$HO_TMP/scrape.$n"
  promtool check metrics <"$HO_TMP/scrape.$n" >"$HO_TMP/promtool.out" 2>&1 \
    || { cat "$HO_TMP/promtool.out" >&2; ho_fail "scrape $n: promtool check metrics failed"; }
  grep -q '^handover_up 1$' "$HO_TMP/scrape.$n" || ho_fail "scrape $n: handover_up is not 1"
  grep -q '^handover_build_info{version="' "$HO_TMP/scrape.$n" || ho_fail "scrape $n: no build info"
  m=$(awk '$1 == "handover_replay_messages_total" {print $2}' "$HO_TMP/scrape.$n")
  [ "$m" -ge "$prev" ] || ho_fail "scrape $n: messages read went down: $prev -> $m"
  # (a capped fold reads the window once per bucket: messages read may pass the topic's size)
  [ "$m" -gt 0 ] && kill -0 "$rp" 2>/dev/null && mid=$((mid + 1))
  prev=$m
  # each partition's lag within its size
  while read -r p end; do
    lag=$(awk -v s="handover_replay_partition_lag{topic=\"$AGG_TOPIC\",partition=\"$p\"}" '$1 == s {print $2}' "$HO_TMP/scrape.$n")
    [ -z "$lag" ] || [ "$lag" -le "$end" ] || ho_fail "scrape $n: partition $p lag $lag > its $end messages"
  done <"$HO_TMP/ends"
  sleep 0.1
done
rc=0; wait "$rp" || rc=$?
ho_assert_eq 0 "$rc" "replay exit code ($(tail -2 "$HO_TMP/replay.err"))"
[ "$mid" -ge 1 ] || ho_fail "no scrape came mid-rebuild ($n scrapes)"
agg_compare "$HO_TMP/truth.json" "after the rebuild"
ho_log "ok: $n scrapes during the rebuild ($mid mid-rebuild), promtool clean, rebuild exact"
