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
sleep 2
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
