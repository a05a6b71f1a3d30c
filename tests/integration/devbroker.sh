#!/usr/bin/env bash
# devbroker: handover-devbroker (the embedded broker, librdkafka's mock cluster) serves real Kafka
# clients: it prints its address, has both topics with the asked partition count, round-trips keyed
# messages with kcat, splits the partitions between two consumer processes of one group, and exits
# 0 on SIGTERM. Starts its own devbroker: needs no stack.
. "$(dirname "$0")/../lib/common.sh"
ho_need_bin handover-devbroker
DB=$HO_BIN_DIR/handover-devbroker

# usage errors and help
"$DB" -h | grep -q 'in memory only' || ho_fail "-h does not state the in-memory limit"
set +e
"$DB" -p 0 2>/dev/null; rc=$?
"$DB" bogus 2>/dev/null; rc2=$?
set -e
ho_assert_eq 2 "$rc" "exit code of -p 0"
ho_assert_eq 2 "$rc2" "exit code of a stray argument"

ho_bg "$DB" -p 4 >"$HO_TMP/bootstrap" 2>"$HO_TMP/devbroker.log"
DBPID=$HO_LAST_PID
ho_wait_until 10 test -s "$HO_TMP/bootstrap" || ho_fail "handover-devbroker printed no address: $(cat "$HO_TMP/devbroker.log")"
B=$(head -n1 "$HO_TMP/bootstrap")
[[ $B =~ ^127\.0\.0\.1:[0-9]+$ ]] || ho_fail "bootstrap address: expected 127.0.0.1:PORT, got '$B'"
ho_log "devbroker at $B"

kcat -L -b "$B" -m 10 >"$HO_TMP/meta" 2>&1 || ho_fail "kcat -L against the devbroker: $(tail -1 "$HO_TMP/meta")"
grep -q 'topic "handover.transfers" with 4 partitions' "$HO_TMP/meta" || ho_fail "no handover.transfers with 4 partitions: $(cat "$HO_TMP/meta")"
grep -q 'topic "handover.transfers.dlq" with 4 partitions' "$HO_TMP/meta" || ho_fail "no handover.transfers.dlq with 4 partitions"

# two consumer processes in one group: each must get a share, together all four partitions
for c in a b; do
  # a short session timeout: if the mock coordinator loses a member's join under load (seen on a
  # busy 2-core machine), the member is evicted and the group rebalances in seconds, not 45 s
  ho_bg kcat -b "$B" -G "ho-devbroker-test" -X auto.offset.reset=earliest -X session.timeout.ms=6000 \
    -X heartbeat.interval.ms=500 -f '%p %k %s\n' -u \
    handover.transfers >"$HO_TMP/$c.out" 2>"$HO_TMP/$c.err"
done
assigned() { # partitions in the latest assignment of consumer $1, one per line
  grep 'rebalanced' "$HO_TMP/$1.err" | tail -n1 | grep 'assigned:' | grep -o '\[[0-9]*\]' | tr -d '[]' | sort -n
}
split_ok() {
  local a b
  a=$(assigned a); b=$(assigned b)
  [ -n "$a" ] && [ -n "$b" ] && [ "$(printf '%s\n%s\n' "$a" "$b" | sort -n | tr '\n' ' ')" = "0 1 2 3 " ]
}
ho_wait_until 60 split_ok || ho_fail "two consumers of one group did not split the 4 partitions within 60s: a=[$(assigned a | tr '\n' ' ')] b=[$(assigned b | tr '\n' ' ')]"
ho_log "split: a=[$(assigned a | tr '\n' ' ')] b=[$(assigned b | tr '\n' ' ')]"

# 40 keyed messages: every one arrives exactly once, on the partition its consumer owns
for i in $(seq 1 40); do echo "transfer-$i:report-$i"; done | kcat -P -b "$B" -t handover.transfers -K: \
  || ho_fail "kcat could not produce to the devbroker"
# (the end markers below are not counted)
got() { cat "$HO_TMP/a.out" "$HO_TMP/b.out" | grep -vc ' end-marker '; }
got_all() { [ "$(got)" -ge 40 ]; }
ho_wait_until 30 got_all || ho_fail "consumers got $(got) of 40 messages within 30s"
# then one marker on each partition: a consumer reads a partition in order, so once every marker
# is in, a duplicate of any of the 40 would be in too
for p in 0 1 2 3; do
  echo "end-marker:$p" | kcat -P -b "$B" -t handover.transfers -p "$p" -K: || ho_fail "kcat could not produce the marker of partition $p"
done
markers() { cat "$HO_TMP/a.out" "$HO_TMP/b.out" | grep -c ' end-marker '; }
markers_in() { [ "$(markers)" -ge 4 ]; }
ho_wait_until 30 markers_in || ho_fail "consumers got $(markers) of the 4 end markers within 30s"
ho_assert_eq 4 "$(markers)" "end markers consumed by the group"
ho_assert_eq 40 "$(got)" "messages consumed by the group"
ho_assert_eq 40 "$(cat "$HO_TMP/a.out" "$HO_TMP/b.out" | grep -v ' end-marker ' | awk '{print $2}' | sort -u | wc -l)" "distinct keys consumed"
for c in a b; do
  [ -s "$HO_TMP/$c.out" ] || ho_fail "consumer $c got no message"
  for p in $(awk '{print $1}' "$HO_TMP/$c.out" | sort -u); do
    assigned $c | grep -qx "$p" || ho_fail "consumer $c got a message of partition $p it does not own"
  done
done
# the same key always lands on the same partition (ordering per transfer)
printf 'transfer-7:again\n' | kcat -P -b "$B" -t handover.transfers -K:
ho_wait_until 15 grep -q 'transfer-7 again' "$HO_TMP/a.out" "$HO_TMP/b.out" || ho_fail "second report of transfer-7 not consumed"
ho_assert_eq 1 "$(cat "$HO_TMP/a.out" "$HO_TMP/b.out" | awk '$2=="transfer-7"{print $1}' | sort -u | wc -l)" "partitions used by key transfer-7"

# SIGTERM: the devbroker stops cleanly and exits 0
kill -TERM "$DBPID"
for _ in $(seq 1 100); do kill -0 "$DBPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DBPID" 2>/dev/null && ho_fail "handover-devbroker still runs 10s after SIGTERM"
set +e; wait "$DBPID"; rc=$?; set -e
ho_assert_eq 0 "$rc" "handover-devbroker exit code after SIGTERM"
grep -q 'stopping' "$HO_TMP/devbroker.log" || ho_fail "handover-devbroker did not say it stopped"
ho_log "ok"
