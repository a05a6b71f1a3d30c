#!/usr/bin/env bash
# produce_avro: an Avro object container file (handover-replay --export of
# a topic) streams into another topic: same keys, timestamps and reports.
source "$(dirname "$0")/../lib/common.sh"
ho_require_kafka
ho_need_bin handover-produce handover-topic handover-schema handover-replay

sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
a=$(ho_unique produce-a); b=$(ho_unique produce-b)
ho_topic_create "$a" 1
ho_topic_create "$b" 3
"$HO_BIN_DIR/handover-produce" -q -t "$a" "$sample" 2>"$HO_TMP/err" || ho_fail "produce to $a: $(cat "$HO_TMP/err")"
"$HO_BIN_DIR/handover-replay" -q -t "$a" --export "$HO_TMP/history.avro" 2>"$HO_TMP/err" \
  || ho_fail "replay --export: $(cat "$HO_TMP/err")"
[ "$(head -c 4 "$HO_TMP/history.avro" | od -An -c | tr -d ' ')" = 'Obj001' ] || ho_fail "export is not an Avro container"

"$HO_BIN_DIR/handover-produce" -q -t "$b" "$HO_TMP/history.avro" 2>"$HO_TMP/err" \
  || ho_fail "produce the container: $(cat "$HO_TMP/err")"
grep -q 'sent 5 reports (3 transfers' "$HO_TMP/err" || ho_fail "summary: $(cat "$HO_TMP/err")"

# One partition at a time: the keys and the values come from two reads, and only within a
# partition is the order of two reads the same (across partitions kcat interleaves as the
# fetches return, which differed between the reads on a loaded machine).
dump() { # TOPIC PARTITIONS -> sorted "key<TAB>timestamp<TAB>report json" lines
  local p
  for ((p = 0; p < $2; p++)); do
    kcat -C -b "$HANDOVER_BROKERS" -t "$1" -p "$p" -o beginning -e -q -f '%k\t%T\n' >"$HO_TMP/$1.$p.meta"
    kcat -C -b "$HANDOVER_BROKERS" -t "$1" -p "$p" -o beginning -e -q -f '%R%s' | "$HO_BIN_DIR/handover-schema" decode \
      | python3 -c 'import sys,json; [print(json.dumps(json.loads(l)["report"], sort_keys=True)) for l in sys.stdin]' \
      >"$HO_TMP/$1.$p.reports"
    paste "$HO_TMP/$1.$p.meta" "$HO_TMP/$1.$p.reports"
  done | sort
}
dump "$a" 1 >"$HO_TMP/a.txt"
dump "$b" 3 >"$HO_TMP/b.txt"
ho_assert_eq 5 "$(wc -l <"$HO_TMP/b.txt")" "messages on $b"
diff "$HO_TMP/a.txt" "$HO_TMP/b.txt" >&2 || ho_fail "the container's reports differ from the original topic's"

# a truncated container is refused before anything is sent
head -c $(( $(stat -c %s "$HO_TMP/history.avro") - 10 )) "$HO_TMP/history.avro" >"$HO_TMP/cut.avro"
rc=0; "$HO_BIN_DIR/handover-produce" -q -t "$b" "$HO_TMP/cut.avro" 2>"$HO_TMP/err" || rc=$?
ho_assert_eq 1 "$rc" "exit status for a truncated container"
grep -q 'cut.avro.*truncated' "$HO_TMP/err" || ho_fail "no clear error: $(cat "$HO_TMP/err")"
ho_log "ok: the exported history streamed into $b unchanged"
