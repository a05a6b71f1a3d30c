#!/usr/bin/env bash
# produce_unreachable: a broker that cannot be reached is reported within
# message.timeout.ms with a clear error naming each line, and exit status 1.
source "$(dirname "$0")/../lib/common.sh"
ho_need_bin handover-produce

# a port nobody listens on: bind one, note it, close it
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start=$(date +%s)
rc=0
timeout 30 "$HO_BIN_DIR/handover-produce" -q -b "127.0.0.1:$port" -t unreachable -X message.timeout.ms=3000 \
  "$HO_SOURCE_DIR/deploy/sample/reports.jsonl" 2>"$HO_TMP/err" || rc=$?
took=$(( $(date +%s) - start ))
ho_assert_eq 1 "$rc" "exit status against a closed port"
[ "$took" -le 10 ] || ho_fail "took $took s (message.timeout.ms=3000)"
grep -q "reports.jsonl:1: not delivered to \"unreachable\": Local: Message timed out" "$HO_TMP/err" \
  || ho_fail "no per-line failure: $(cat "$HO_TMP/err")"
grep -q "5 of 5 reports not delivered to \"unreachable\" at \"127.0.0.1:$port\".*Connection refused" "$HO_TMP/err" \
  || ho_fail "no clear summary of the failure: $(cat "$HO_TMP/err")"
grep -q "^handover-produce: sent 0 reports" "$HO_TMP/err" || ho_fail "no summary line"
ho_log "ok: failed in $took s with a clear error"
