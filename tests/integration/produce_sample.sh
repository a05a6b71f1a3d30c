#!/usr/bin/env bash
# produce_sample: the sample reaches its own topic once per line, keyed by
# transfer_id, timestamped with reported_at, and every message decodes back
# to exactly the input report, field by field (report_id: the derived one).
source "$(dirname "$0")/../lib/common.sh"
ho_require_kafka
ho_need_bin handover-produce handover-topic handover-schema

sample=$HO_SOURCE_DIR/deploy/sample/reports.jsonl
topic=$(ho_unique produce)
ho_topic_create "$topic" 3

"$HO_BIN_DIR/handover-produce" -q -t "$topic" "$sample" 2>"$HO_TMP/err" \
  || ho_fail "handover-produce failed: $(cat "$HO_TMP/err")"
grep -q '^handover-produce: sent 5 reports (3 transfers, [0-9]* bytes) in [0-9.]* s$' "$HO_TMP/err" \
  || ho_fail "summary line: $(cat "$HO_TMP/err")"

# key, timestamp (and its type: CreateTime) and the value, length-prefixed for decode. One
# partition at a time: within a partition the order is the log's, the same in both reads, so meta
# and values pair by index (across partitions kcat interleaves as fetches return).
: >"$HO_TMP/meta"; : >"$HO_TMP/values"
for p in 0 1 2; do
  kcat -C -b "$HANDOVER_BROKERS" -t "$topic" -p "$p" -o beginning -e -q -f '%k\t%T\n' >>"$HO_TMP/meta"
  kcat -C -b "$HANDOVER_BROKERS" -t "$topic" -p "$p" -o beginning -e -q -f '%R%s' >>"$HO_TMP/values"
done
ho_assert_eq 5 "$(wc -l <"$HO_TMP/meta")" "messages on $topic"
"$HO_BIN_DIR/handover-schema" decode "$HO_TMP/values" >"$HO_TMP/decoded" \
  || ho_fail "a message does not decode"
"$HO_BIN_DIR/handover-schema" encode "$sample" | "$HO_BIN_DIR/handover-schema" decode >"$HO_TMP/expected"

python3 - "$sample" "$HO_TMP/meta" "$HO_TMP/decoded" "$HO_TMP/expected" <<'PY' || ho_fail "messages differ from the input"
import json, sys, datetime
sample, meta, decoded, expected = sys.argv[1:]
inputs = [json.loads(l) for l in open(sample) if l.strip()]
metas = [l.rstrip('\n').split('\t') for l in open(meta)]
dec = [json.loads(l) for l in open(decoded)]
exp_ids = sorted(json.loads(l)['report']['report_id'] for l in open(expected))
assert len(metas) == len(dec) == len(inputs) == 5, (len(metas), len(dec), len(inputs))
def ms(s):
    return int(datetime.datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp() * 1000)
def canon(d):
    d = dict(d); d.pop('report_id', None); d.setdefault('inmates_by_destination', {})
    return json.dumps(d, sort_keys=True, ensure_ascii=False)
for (key, ts), m in zip(metas, dec):
    r = m['report']
    assert m['schema'] == 'transfer_report.v2.avsc', m['schema']
    assert key == r['transfer_id'], (key, r['transfer_id'])
    assert int(ts) == ms(r['reported_at']), (ts, r['reported_at'])
    assert r['report_id'].startswith('r-'), r['report_id']
# every input line arrived exactly once, every field equal
want = sorted(canon(i) for i in inputs)
got = sorted(canon(m['report']) for m in dec)
for w, g in zip(want, got):
    if w != g:
        print('want', w, '\ngot ', g, file=sys.stderr); sys.exit(1)
assert sorted(m['report']['report_id'] for m in dec) == exp_ids
# the duplicate line is the same report: 4 distinct ids
assert len(set(exp_ids)) == 4, exp_ids
PY
ho_log "ok: 5 messages, keys, timestamps and fields match the input"
