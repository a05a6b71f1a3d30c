#!/usr/bin/env bash
# produce_signal: SIGINT while reports cannot be delivered (broker gone):
# the flush is bounded (10 s), each lost report is listed by position and
# the exit status is 1.
source "$(dirname "$0")/../lib/common.sh"
ho_need_bin handover-produce

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
sed -n 1,3p "$HO_SOURCE_DIR/deploy/sample/reports.jsonl" >"$HO_TMP/feed.jsonl"
# message.timeout.ms stays at its default (30 s): only the signal ends the run
"$HO_BIN_DIR/handover-produce" -q --follow -b "127.0.0.1:$port" -t gone "$HO_TMP/feed.jsonl" 2>"$HO_TMP/err" &
pid=$!; HO_PIDS+=("$pid")
# the producer has read the whole file (its position is at the end) and librdkafka has failed to
# reach the broker: the three reports wait in its queue
read_to_end() {
  local fd size
  size=$(stat -c %s "$HO_TMP/feed.jsonl") || return 1
  for fd in /proc/"$pid"/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$HO_TMP/feed.jsonl" ] || continue
    [ "$(awk '/^pos:/ {print $2}' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null)" = "$size" ] && return 0
  done
  return 1
}
ho_wait_until 20 read_to_end || ho_fail "the producer did not read the file: $(cat "$HO_TMP/err")"
ho_wait_until 20 grep -qi 'refused\|down\|fail' "$HO_TMP/err" \
  || ho_fail "the producer did not report the unreachable broker: $(cat "$HO_TMP/err")"
start=$(date +%s)
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
took=$(( $(date +%s) - start ))
ho_assert_eq 1 "$rc" "exit status with reports lost"
[ "$took" -le 13 ] || ho_fail "SIGINT took $took s to end the run (bound: 10 s flush)"
grep -q 'feed.jsonl:3: not delivered to "gone"' "$HO_TMP/err" || ho_fail "lost line 3 not listed: $(cat "$HO_TMP/err")"
grep -q '3 of 3 reports not delivered' "$HO_TMP/err" || ho_fail "no count of the lost: $(cat "$HO_TMP/err")"
grep -q '^handover-produce: sent 0 reports' "$HO_TMP/err" || ho_fail "no summary line"
ho_log "ok: interrupted run ended in $took s, losses listed"
