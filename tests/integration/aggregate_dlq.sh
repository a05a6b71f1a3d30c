#!/usr/bin/env bash
# aggregate_dlq: garbage and wrong-schema bytes on the topic all land in the
# dead letter topic with headers naming the error and the source position,
# are counted in totals.rejected, and no valid report around them is lost.
# A restarted worker sends no dead letter twice (the offsets are in Redis).
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic

agg_setup 3
sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
agg_produce "$sample"

# One valid value to break in different ways.
kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -o beginning -c 1 -e -q -f '%s' >"$HO_TMP/valid.bin"
[ -s "$HO_TMP/valid.bin" ] || ho_fail "could not read back a valid value from $AGG_TOPIC"
g=$HO_TMP/g; mkdir -p "$g"
{ printf '\x00'; head -c 63 /dev/urandom; } >"$g/bad_marker"                    # not C3 01
{ printf '\xc3\x01\xff\xff\xff\xff\xff\xff\xff\xfe'; head -c 40 /dev/urandom; } >"$g/unknown_schema"
head -c 15 "$HO_TMP/valid.bin" >"$g/truncated"                                  # header + 5 bytes
{ cat "$HO_TMP/valid.bin"; printf 'xx'; } >"$g/trailing"                        # a datum, then more
{ head -c 10 "$HO_TMP/valid.bin"; head -c 40 /dev/zero | tr '\0' '\377'; } >"$g/not_avro"
cp "$HO_TMP/valid.bin" "$g/nokey"
for f in bad_marker unknown_schema truncated trailing not_avro; do
  kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -k "garbage-$f" "$g/$f" || ho_fail "kcat -P $f"
done
kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" "$g/nokey" || ho_fail "kcat -P nokey"
# an empty value (kcat skips empty files, so as a key:value line)
printf 'garbage-empty:\n' | kcat -P -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" -K: || ho_fail "kcat -P empty"
n_bad=7

# A fourth transfer after the garbage: it must still be counted.
sed -n 1p "$sample" | sed -e 's/"mx-us-2025-02-27"/"mx-us-test-after-garbage"/' \
  -e 's/"inmate_count": 29/"inmate_count": 10/' -e 's/"cumulative_total": 29/"cumulative_total": 102/' \
  >"$HO_TMP/after.jsonl"
grep -q mx-us-test-after-garbage "$HO_TMP/after.jsonl" || ho_fail "could not derive the extra report"
agg_produce "$HO_TMP/after.jsonl"
total=$(agg_topic_count)
ho_log "topic $AGG_TOPIC has $total messages, $n_bad of them bad"

agg_start w1
w1=$HO_LAST_PID
agg_wait_caught_up 60
agg_stop "$w1"

t() { agg_redis HGET "{$AGG_PREFIX}:totals" "$1"; }
ho_assert_eq "$n_bad" "$(t rejected)" "totals.rejected"
ho_assert_eq 4 "$(t transfers)" "totals.transfers"
ho_assert_eq 102 "$(t inmates)" "totals.inmates"
ho_assert_eq 5 "$(t reports)" "totals.reports (4 distinct sample ids + 1)"

# Every dead letter, with all its headers.
dump_dlq() {
  kcat -C -b "$HANDOVER_BROKERS" -t "$AGG_DLQ" -o beginning -e -q -f '%k\t%h\n' >"$HO_TMP/dlq.txt"
}
dump_dlq
python3 - "$HO_TMP/dlq.txt" "$AGG_TOPIC" "$n_bad" <<'EOF' || ho_fail "dead letters are not as expected (see above)"
import re, sys
path, topic, n_bad = sys.argv[1], sys.argv[2], int(sys.argv[3])
decode_errors = {"BAD_MARKER", "UNKNOWN_SCHEMA", "TRUNCATED", "TRAILING", "NOT_AVRO", "INVALID"}
expect = {"garbage-bad_marker": {"BAD_MARKER"}, "garbage-unknown_schema": {"UNKNOWN_SCHEMA"},
          "garbage-trailing": {"TRAILING"}, "": {"INVALID"}}
need = ["handover.error", "handover.error.message", "handover.source.topic",
        "handover.source.partition", "handover.source.offset", "handover.worker"]
lines = [l.rstrip("\n") for l in open(path, encoding="utf-8", errors="replace") if l.strip()]
ok = True
def bad(msg):
    global ok
    ok = False
    print("dead letter check: " + msg, file=sys.stderr)
if len(lines) != n_bad:
    bad(f"expected {n_bad} dead letters, found {len(lines)}")
positions = set()
for line in lines:
    key, _, hdrs = line.partition("\t")
    h = dict(kv.split("=", 1) for kv in re.split(r",(?=handover\.)", hdrs) if "=" in kv)
    for name in need:
        if not h.get(name):
            bad(f"{key!r}: header {name} missing or empty in {hdrs!r}")
    if h.get("handover.source.topic") != topic:
        bad(f"{key!r}: handover.source.topic {h.get('handover.source.topic')!r} != {topic!r}")
    err = h.get("handover.error")
    if err not in expect.get(key, decode_errors):
        bad(f"{key!r}: handover.error {err!r}, expected one of {sorted(expect.get(key, decode_errors))}")
    if not re.fullmatch(r".+:\d+", h.get("handover.worker", "")):
        bad(f"{key!r}: handover.worker {h.get('handover.worker')!r} is not host:pid")
    positions.add((h.get("handover.source.partition"), h.get("handover.source.offset")))
if len(positions) != len(lines):
    bad(f"dead letters repeat a source position: {sorted(positions)}")
sys.exit(0 if ok else 1)
EOF
ho_log "dead letters: $(cut -f1 "$HO_TMP/dlq.txt" | sort | paste -sd' ')"

# A restart continues from Redis' offsets: no dead letter is sent again.
agg_start w2
w2=$HO_LAST_PID
ho_wait_until 30 grep -q 'assigned "' "$HO_TMP/w2.log" || ho_fail "second worker got no partitions"
# a marker after everything: an exact re-send of the first report (a duplicate: it changes no
# counter). Once w2 has stored the offset past it, any message before it that w2 read again
# has been handled, and a dead letter is delivered before its offset is stored
sed -n 1p "$sample" >"$HO_TMP/marker.jsonl"
agg_produce "$HO_TMP/marker.jsonl"
agg_wait_caught_up 30
agg_stop "$w2"
dump_dlq
ho_assert_eq "$n_bad" "$(grep -c . "$HO_TMP/dlq.txt")" "dead letters after a restart"
ho_assert_eq "$n_bad" "$(t rejected)" "totals.rejected after a restart"
ho_log "ok: $n_bad dead letters with headers, counted once, 4 transfers / 102 inmates kept"
