#!/usr/bin/env bash
# fault_dlq_missing: a worker started without its dead letter topic says so
# when it first gets partitions (a warning naming the topic and the command
# that creates it),
# instead of staying silent until the first bad message stalls a partition
# behind "Message timed out".
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-topic

AGG_PARTS=1
AGG_TOPIC=$(ho_unique agg)
AGG_DLQ=$AGG_TOPIC.dlq
AGG_GROUP=$(ho_unique grp)
AGG_PREFIX=$(ho_unique p)
AGG_REDIS=$HANDOVER_REDIS
ho_topic_create "$AGG_TOPIC" 1 # and no dead letter topic
agg_start w1; w1=$HO_LAST_PID
ho_wait_until 15 grep -q "WARN: dead letter topic \"$AGG_DLQ\" does not exist: " "$HO_TMP/w1.log" \
  || { cat "$HO_TMP/w1.log" >&2; ho_fail "no warning about the missing dead letter topic"; }
grep -q "handover-topic create \"$AGG_DLQ\"" "$HO_TMP/w1.log" || ho_fail "the warning does not say how to create it"
agg_stop "$w1"
ho_log "ok: a missing dead letter topic is said at start"
