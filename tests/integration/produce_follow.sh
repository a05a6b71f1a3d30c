#!/usr/bin/env bash
# produce_follow: --follow waits for a file that is not there yet, sends lines
# appended to it as it grows (a line is sent only once complete), reads a
# truncated file again from the top and a rotated one from the new file, and on
# SIGTERM flushes and exits 0 when everything was delivered. Each step waits for
# what the producer shows (its log, its read position in the file, the topic),
# never for time.
source "$(dirname "$0")/../lib/common.sh"
ho_require_kafka
ho_need_bin handover-produce handover-topic

sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
topic=$(ho_unique produce)
ho_topic_create "$topic" 1
feed=$HO_TMP/feed.jsonl
count() { kcat -C -b "$HANDOVER_BROKERS" -t "$topic" -o beginning -e -q -f 'x\n' | wc -l; }
has() { [ "$(count)" -eq "$1" ]; }
logged() { grep -qF -- "$1" "$HO_TMP/err"; }
# the producer has read the followed file up to its end: its descriptor's position is the size
read_to_end() {
  local fd size
  size=$(stat -c %s "$feed") || return 1
  for fd in /proc/"$pid"/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$feed" ] || continue
    [ "$(awk '/^pos:/ {print $2}' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null)" = "$size" ] && return 0
  done
  return 1
}

# started before the file exists: it waits for it, as tail -F does
"$HO_BIN_DIR/handover-produce" -q --follow -t "$topic" "$feed" 2>"$HO_TMP/err" &
pid=$!; HO_PIDS+=("$pid")
ho_wait_until 20 logged "waiting for \"$feed\" to appear" \
  || ho_fail "the producer did not say it waits for the file: $(cat "$HO_TMP/err")"
sed -n 1,2p "$sample" >"$feed"
ho_wait_until 20 has 2 || ho_fail "the first 2 lines did not arrive ($(count)): $(cat "$HO_TMP/err")"

# an appended line, written in two pieces: sent once its newline is there. Once the producer
# has read the first piece (its position is at the end of the file), a line made of it would
# be on its way; the second piece makes the whole line, and the topic must then hold exactly 3
# (a piece sent on its own would be an invalid report and stop the producer, or a 4th message)
line3=$(sed -n 3p "$sample")
printf '%s' "${line3:0:40}" >>"$feed"
ho_wait_until 20 read_to_end || ho_fail "the producer did not read the incomplete line 3"
printf '%s\n' "${line3:40}" >>"$feed"
ho_wait_until 20 has 3 || ho_fail "appended line 3 did not arrive ($(count)): $(cat "$HO_TMP/err")"

# rotation: the file is moved away, a new one takes its name
mv "$feed" "$feed.1"
sed -n 4p "$sample" >"$feed"
ho_wait_until 20 has 4 || ho_fail "the rotated file's line did not arrive: $(cat "$HO_TMP/err")"
logged "\"$feed\" was replaced" || ho_fail "the rotation was not reported: $(cat "$HO_TMP/err")"

# truncation (detected by the size falling below the read position: the producer has read line
# 4, so its position is past 0), then, once it says so, a new line at the top
: >"$feed"
ho_wait_until 20 logged "\"$feed\" was truncated" \
  || ho_fail "the truncation was not noticed: $(cat "$HO_TMP/err")"
sed -n 5p "$sample" >"$feed"
ho_wait_until 20 has 5 || ho_fail "the line after truncation did not arrive: $(cat "$HO_TMP/err")"

kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
ho_assert_eq 0 "$rc" "exit status after SIGTERM with everything delivered"
grep -q '^handover-produce: sent 5 reports (3 transfers' "$HO_TMP/err" || ho_fail "summary: $(cat "$HO_TMP/err")"
# the producer flushed before it exited 0: the topic's end is final, kcat -e reads up to it
ho_assert_eq 5 "$(count)" "messages at the end (nothing sent twice)"
ho_log "ok: appended, rotated and truncated lines all sent once"
