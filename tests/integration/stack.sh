#!/usr/bin/env bash
# stack: the stack the tests run against is what deploy/local/stack promises: a real Kafka with
# both handover topics (6 partitions unless HO_EXPECT_PARTITIONS says otherwise) and topic
# auto-creation off, messages that round-trip with kcat, handover-topic create/list/delete working
# against it, and a Redis that answers with AOF on.
. "$(dirname "$0")/../lib/common.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-topic
PARTS=${HO_EXPECT_PARTITIONS:-6}
T=$HO_BIN_DIR/handover-topic

kcat -L -b "$HANDOVER_BROKERS" -m 10 >"$HO_TMP/meta" 2>&1 || ho_fail "kcat -L: $(tail -1 "$HO_TMP/meta")"
grep -q '^ *broker [0-9]* at ' "$HO_TMP/meta" || ho_fail "kcat -L lists no broker: $(head -5 "$HO_TMP/meta")"
for topic in handover.transfers handover.transfers.dlq; do
  grep -q "topic \"$topic\" with $PARTS partitions:" "$HO_TMP/meta" \
    || ho_fail "topic \"$topic\" with $PARTS partitions not on $HANDOVER_BROKERS: $(grep "\"$topic\"" "$HO_TMP/meta" || echo missing)"
done
"$T" list -b "$HANDOVER_BROKERS" >"$HO_TMP/list" || ho_fail "handover-topic list failed"
grep -qx "handover.transfers $PARTS" "$HO_TMP/list" || ho_fail "handover-topic list: no 'handover.transfers $PARTS': $(cat "$HO_TMP/list")"

# handover-topic: create a new topic, refuse it twice, accept it with --if-not-exists, delete it
topic=$(ho_unique rt)
ho_topic_create "$topic" 3
# (metadata reaches the broker answering the list a moment after CreateTopics returns)
listed() { "$T" list -b "$HANDOVER_BROKERS" | grep -qx "$topic 3"; }
ho_wait_until 15 listed || ho_fail "new topic $topic with 3 partitions not listed"
set +e
"$T" create -b "$HANDOVER_BROKERS" -p 3 "$topic" 2>"$HO_TMP/again.err"; rc=$?
set -e
ho_assert_eq 1 "$rc" "exit code of creating an existing topic"
grep -q 'already exists' "$HO_TMP/again.err" || ho_fail "no 'already exists' message: $(cat "$HO_TMP/again.err")"
"$T" create -b "$HANDOVER_BROKERS" -p 3 --if-not-exists "$topic" 2>/dev/null || ho_fail "--if-not-exists on an existing topic failed"

# a keyed message round trip through Kafka: keys keep their partition, all arrive in order
for i in 1 2 3 4 5; do echo "transfer-$i:report-$i"; done \
  | kcat -P -b "$HANDOVER_BROKERS" -t "$topic" -K: 2>"$HO_TMP/produce.err" || ho_fail "kcat produce: $(cat "$HO_TMP/produce.err")"
kcat -C -b "$HANDOVER_BROKERS" -t "$topic" -e -q -f '%k %s\n' -m 10 >"$HO_TMP/consumed" 2>"$HO_TMP/consume.err" \
  || ho_fail "kcat consume: $(cat "$HO_TMP/consume.err")"
ho_assert_eq "transfer-1 report-1
transfer-2 report-2
transfer-3 report-3
transfer-4 report-4
transfer-5 report-5" "$(sort "$HO_TMP/consumed")" "messages read back"

# auto-creation is off: a typo in a topic name is an error, not a new topic
typo=$(ho_unique typo)
echo x | kcat -P -b "$HANDOVER_BROKERS" -t "$typo" -X message.timeout.ms=3000 >/dev/null 2>&1 \
  && ho_fail "producing to unknown topic $typo succeeded"
"$T" list -b "$HANDOVER_BROKERS" | grep -q "^$typo " && ho_fail "producing to unknown topic $typo created it (auto.create.topics.enable must be false)"

# a topic named twice is a usage error (librdkafka 2.0.2 crashed on such a request)
rc=0; "$T" delete -b "$HANDOVER_BROKERS" "$topic" x "$topic" 2>"$HO_TMP/dup" || rc=$?
ho_assert_eq 2 "$rc" "handover-topic delete with a topic named twice: exit code"
grep -q "named twice" "$HO_TMP/dup" || ho_fail "handover-topic: no 'named twice' message: $(cat "$HO_TMP/dup")"

"$T" delete -b "$HANDOVER_BROKERS" "$topic" 2>/dev/null || ho_fail "handover-topic delete $topic failed"
gone() { ! "$T" list -b "$HANDOVER_BROKERS" | grep -q "^$topic "; }
ho_wait_until 15 gone || ho_fail "topic $topic still listed after delete"

# Redis: answers, appends every write to its AOF, keeps our key
ho_assert_eq "appendonly
yes" "$(ho_redis CONFIG GET appendonly)" "redis appendonly"
fsync=$(ho_redis CONFIG GET appendfsync | tail -n1)
case $fsync in everysec | always) ;; *) ho_fail "redis appendfsync: expected everysec or always, got '$fsync'" ;; esac
key=$(ho_unique stack):probe
ho_assert_eq OK "$(ho_redis SET "$key" 92)" "redis SET"
ho_assert_eq 92 "$(ho_redis GET "$key")" "redis GET"
ho_redis DEL "$key" >/dev/null
ho_log "ok: kafka at $HANDOVER_BROKERS ($PARTS partitions), redis with AOF ($fsync)"
