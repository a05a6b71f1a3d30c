#!/usr/bin/env bash
# produce_follow: --follow waits for a file that is not there yet, sends lines
# appended to it as it grows (a line is sent only once complete), reads a truncated file again from the top and a
# rotated one from the new file, and on SIGTERM flushes and exits 0 when
# everything was delivered.
source "$(dirname "$0")/../lib/common.sh"
ho_require_kafka
ho_need_bin handover-produce handover-topic

sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
topic=$(ho_unique produce)
ho_topic_create "$topic" 1
feed=$HO_TMP/feed.jsonl
count() { kcat -C -b "$HANDOVER_BROKERS" -t "$topic" -o beginning -e -q -f 'x\n' | wc -l; }
has() { [ "$(count)" -eq "$1" ]; }

# started before the file exists: it waits for it, as tail -F does
"$HO_BIN_DIR/handover-produce" -q --follow -t "$topic" "$feed" 2>"$HO_TMP/err" &
pid=$!; HO_PIDS+=("$pid")
sleep 1
sed -n 1,2p "$sample" >"$feed"
ho_wait_until 20 has 2 || ho_fail "the first 2 lines did not arrive ($(count)): $(cat "$HO_TMP/err")"

# an appended line, written in two pieces: sent once its newline is there
line3=$(sed -n 3p "$sample")
printf '%s' "${line3:0:40}" >>"$feed"
sleep 1
ho_assert_eq 2 "$(count)" "messages while line 3 is incomplete"
printf '%s\n' "${line3:40}" >>"$feed"
ho_wait_until 20 has 3 || ho_fail "appended line 3 did not arrive: $(cat "$HO_TMP/err")"

# rotation: the file is moved away, a new one takes its name
mv "$feed" "$feed.1"
sed -n 4p "$sample" >"$feed"
ho_wait_until 20 has 4 || ho_fail "the rotated file's line did not arrive: $(cat "$HO_TMP/err")"

# truncation, then a new line at the top
sleep 0.5
: >"$feed"
sleep 0.5
sed -n 5p "$sample" >"$feed"
ho_wait_until 20 has 5 || ho_fail "the line after truncation did not arrive: $(cat "$HO_TMP/err")"

kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
ho_assert_eq 0 "$rc" "exit status after SIGTERM with everything delivered"
grep -q '^handover-produce: sent 5 reports (3 transfers' "$HO_TMP/err" || ho_fail "summary: $(cat "$HO_TMP/err")"
sleep 0.5
ho_assert_eq 5 "$(count)" "messages at the end (nothing sent twice)"
ho_log "ok: appended, rotated and truncated lines all sent once"
