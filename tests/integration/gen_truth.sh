#!/usr/bin/env bash
# gen_truth: a self-check of the test instruments, not of the aggregator.
# bench/gen must be deterministic, write only lines the codec accepts, really
# contain the duplicates, revisions, ties and out-of-order arrivals it claims,
# and its truth must not depend on the order of the input. tests/lib's
# redis_state.py and compare_state.py must read back a known state from the
# real Redis as equal, and catch a one-field change.
source "$(dirname "$0")/../lib/common.sh"
ho_require_redis
ho_need_bin handover-schema
GEN=$HO_SOURCE_DIR/bench/gen
LIB=$HO_SOURCE_DIR/tests/lib
N=20000 M=4000
cd "$HO_TMP"

gen() { # gen SEED NAME [ARGS...]
  local seed=$1 name=$2; shift 2
  "$GEN" --reports $N --transfers $M --seed "$seed" --out "$name.jsonl" --v1-out "$name.v1.jsonl" \
    --truth "$name.truth.json" "$@" 2>>gen.log || ho_fail "bench/gen failed: $(tail -3 gen.log)"
}

# 1. Determinism: the same seed gives the same bytes, another seed other bytes.
gen 11 a --truth-until 2025-06-30T12:00:00Z a.until.json
gen 11 b
gen 12 c
cmp -s a.jsonl b.jsonl && cmp -s a.v1.jsonl b.v1.jsonl && cmp -s a.truth.json b.truth.json \
  || ho_fail "seed 11 twice gave different output"
cmp -s a.jsonl c.jsonl && ho_fail "seeds 11 and 12 gave the same output"
ho_assert_eq $N "$(cat a.jsonl a.v1.jsonl | wc -l)" "lines written for --reports $N"

# 2. Every line encodes with the real codec, v2 lines as v2 and v1 lines as v1;
#    decoded back, the reports give the same truth (the hand-formatted lines mean
#    what the generator's truth thinks they mean).
"$HO_BIN_DIR/handover-schema" encode --schema v2 a.jsonl >a.v2.bin 2>enc2.log \
  || ho_fail "handover-schema rejected v2 lines: $(head -3 enc2.log)"
"$HO_BIN_DIR/handover-schema" encode --schema v1 a.v1.jsonl >a.v1.bin 2>enc1.log \
  || ho_fail "handover-schema rejected v1 lines: $(head -3 enc1.log)"
"$HO_BIN_DIR/handover-schema" decode a.v2.bin >dec.jsonl 2>dec.log || ho_fail "decode: $(head -3 dec.log)"
ho_assert_eq "$(wc -l <a.jsonl)" "$(wc -l <dec.jsonl)" "v2 records encoded and decoded"
"$HO_BIN_DIR/handover-schema" decode a.v1.bin >dec1.jsonl 2>>dec.log || ho_fail "decode: $(head -3 dec.log)"
ho_assert_eq "$(wc -l <a.v1.jsonl)" "$(wc -l <dec1.jsonl)" "v1 records encoded and decoded"
# decode names the writer schema: {"schema": "...v2.avsc", "report": {...}}
python3 - dec.jsonl dec1.jsonl >reports.jsonl <<'EOF' || ho_fail "decoded records name the wrong writer schema"
import json, sys
for path, want in ((sys.argv[1], "transfer_report.v2.avsc"), (sys.argv[2], "transfer_report.v1.avsc")):
    for line in open(path, encoding="utf-8"):
        o = json.loads(line)
        if o["schema"] != want:
            sys.exit("%s: writer schema %s, expected %s" % (path, o["schema"], want))
        print(json.dumps(o["report"], ensure_ascii=False))
EOF
"$GEN" --truth-of reports.jsonl --truth dec.truth.json 2>>gen.log || ho_fail "truth of decoded lines: $(tail -1 gen.log)"
python3 "$LIB/compare_state.py" a.truth.json dec.truth.json >cmp.out || {
  cat cmp.out >&2; ho_fail "the truth of the decoded reports differs from the generator's"
}

# 2b. --big-rate: transfers at the validation limits (64 cities, 1000 persons) still encode; and
#     --big-rate 0 changes nothing (no extra random draw), so old seeds keep their bytes.
"$GEN" --reports 600 --transfers 100 --seed 4 --big-rate 0.05 --out big.jsonl --v1-out big.v1.jsonl \
  2>>gen.log || ho_fail "bench/gen --big-rate failed"
"$HO_BIN_DIR/handover-schema" encode --schema v2 big.jsonl >big.bin 2>enc.log || ho_fail "big v2 lines: $(head -3 enc.log)"
"$HO_BIN_DIR/handover-schema" encode --schema v1 big.v1.jsonl >big.v1.bin 2>enc.log || ho_fail "big v1 lines: $(head -3 enc.log)"
python3 - big.jsonl big.v1.jsonl <<'EOF' || ho_fail "--big-rate made no report at the limits"
import json, sys
objs = [json.loads(l) for p in sys.argv[1:] for l in open(p, encoding="utf-8")]
assert any(len(o["persons"]) == 1000 for o in objs), "no report with 1000 persons"
assert any(len(o["destinations"]) == 64 for o in objs), "no report with 64 destinations"
assert all(len(o["persons"]) <= 1000 and len(o["destinations"]) <= 64 for o in objs)
EOF
gen 11 z --big-rate 0
cmp -s a.jsonl z.jsonl || ho_fail "--big-rate 0 changed the history of seed 11"

# 3. The history has what it claims, in about the stated proportions
#    (defaults: --dup-rate 0.05, --ooo-rate 0.1, --tie-rate 0.03, --v1-share 0.3).
python3 - a.jsonl a.v1.jsonl $N $M <<'EOF' || ho_fail "the generated history lacks what it claims (above)"
import json, sys
v2, v1, n, m = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, file=sys.stderr)
    if not ok:
        bad.append(what)
files = {}
for path in (v2, v1):
    files[path] = open(path, encoding="utf-8").read().splitlines()
lines = files[v2] + files[v1]
dups = len(lines) - len(set(lines))
check(dups == round(n * 0.05), "exact duplicate lines: %d of %d" % (dups, len(lines)))
reps = {}  # (tid, rid) -> (file, position, reported_at, obj)
for path, ls in files.items():
    for i, line in enumerate(ls):
        o = json.loads(line)
        assert o.get("report_id"), "a line without report_id"
        reps.setdefault((o["transfer_id"], o["report_id"]), (path, i, o))
tids = {t for t, _ in reps}
check(len(tids) == m, "transfers: %d" % len(tids))
check(len(reps) == n - dups, "distinct reports: %d" % len(reps))
def ms(t):  # "...SSZ" and "...SS.mmmZ" to one comparable form
    return t.replace("Z", ".000Z")[:23]
by_t = {}
for (t, r), v in reps.items():
    by_t.setdefault(t, []).append(v)
revs = ties = ooo = same_file = month_moves = 0
for t, vs in by_t.items():
    vs.sort(key=lambda v: (ms(v[2]["reported_at"]), v[2]["report_id"].encode()))
    for a, b in zip(vs, vs[1:]):
        revs += 1
        if ms(a[2]["reported_at"]) == ms(b[2]["reported_at"]):
            ties += 1
        if a[0] == b[0]:
            same_file += 1
            if b[1] < a[1]:
                ooo += 1
        if a[2]["occurred_on"][:7] != b[2]["occurred_on"][:7]:
            month_moves += 1
check(revs == n - dups - m, "revisions: %d" % revs)
check(0.01 <= ties / revs <= 0.08, "equal reported_at: %d of %d revisions" % (ties, revs))
check(0.06 <= ooo / same_file <= 0.2,
      "revisions arriving before the report they supersede: %d of %d (same file)" % (ooo, same_file))
check(month_moves > 0, "revisions that move the month: %d" % month_moves)
objs = [v[2] for v in reps.values()]
v1objs = [json.loads(l) for l in files[v1]]
check(all("inmates_by_destination" not in o for o in v1objs), "no v1 line has inmates_by_destination")
with_ibd = sum(1 for o in objs if o.get("inmates_by_destination"))
check(with_ibd > 0.1 * len(objs), "reports with per-city numbers: %d" % with_ibd)
without = len(objs) - with_ibd
check(0.2 <= len(set(files[v1])) / without <= 0.4,
      "v1 share of reports without per-city numbers: %d of %d" % (len(set(files[v1])), without))
affs = [p["affiliation"] for o in objs for p in o["persons"]]
check(None in affs and len(set(affs)) > 5, "affiliations incl. null: %d kinds" % len(set(affs)))
routes = {o["origin_country"] + "-" + o["destination_country"] for o in objs}
check(len(routes) >= 5 and "MX-US" in routes, "routes: %s" % sorted(routes))
years = {o["occurred_on"][:4] for o in objs}
check(years == {"2024", "2025", "2026"}, "years: %s" % sorted(years))
check(any(o["inmate_count"] == 0 for o in objs), "some report revises to 0 inmates")
check(any(o["aircraft_count"] is None for o in objs), "some aircraft_count is null")
check(any(o["cumulative_total"] is not None for o in objs), "some report claims a cumulative_total")
sys.exit(1 if bad else 0)
EOF

# 4. Order independence: the truth of a shuffled copy (v1 and v2 lines mixed)
#    equals the truth of the original; --truth-of equals the generator's truth.
cat a.jsonl a.v1.jsonl | shuf --random-source=<(yes) >shuffled.jsonl
"$GEN" --truth-of shuffled.jsonl --truth shuffled.truth.json 2>>gen.log || ho_fail "truth of the shuffled copy"
python3 "$LIB/compare_state.py" a.truth.json shuffled.truth.json >cmp.out || {
  cat cmp.out >&2; ho_fail "the truth depends on the order of the input"
}
cmp -s a.truth.json shuffled.truth.json || ho_fail "truth files of the same reports differ in bytes"

# 5. --truth-until is the truth of exactly the reports up to that time.
python3 - a.jsonl a.v1.jsonl >until.jsonl <<'EOF'
import json, sys
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        t = json.loads(line)["reported_at"]
        if t.replace("Z", ".000Z")[:23] <= "2025-06-30T12:00:00.000":
            sys.stdout.write(line)
EOF
"$GEN" --truth-of until.jsonl --truth until.truth.json 2>>gen.log || ho_fail "truth of the filtered lines"
cmp -s a.until.json until.truth.json || ho_fail "--truth-until differs from the truth of the lines up to then"
n_until=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["reports"])' a.until.json)
[ "$n_until" -gt 0 ] && [ "$n_until" -lt $N ] || ho_fail "--truth-until kept $n_until reports"

# 5b. The sample (no report_id: identified by content): the figures deploy/sample/README.md states.
"$GEN" --truth-of "$HO_SOURCE_DIR/deploy/sample/reports.jsonl" --truth sample.truth.json 2>>gen.log \
  || ho_fail "truth of the sample: $(tail -1 gen.log)"
python3 - sample.truth.json <<'EOF' || ho_fail "the sample's truth is not 3 transfers, 92 inmates, 4 reports"
import json, sys
t = json.load(open(sys.argv[1]))
want = {"transfers": 3, "inmates": 92, "reports": 4, "aircraft": 7,
        "first_transfer_on": "2025-02-27", "last_transfer_on": "2026-01-20"}
got = {k: t["totals"][k] for k in want}
assert got == want, got
assert t["inmates_by_month"] == {"2025-02": 29, "2025-08": 26, "2026-01": 37}, t["inmates_by_month"]
assert t["transfers_by_destination"] == {c: 1 for c in ["Washington", "Houston", "New York",
        "Pennsylvania", "San Antonio", "San Diego"]}, t["transfers_by_destination"]
EOF

# 6. The state tools against the real Redis: a truth loaded into keys reads back
#    equal; one changed field, one zero left in a breakdown, one missing transfer
#    are each caught, by path.
P=$(ho_unique gt)
python3 "$LIB/redis_state.py" --redis "$HANDOVER_REDIS" --prefix "$P" --load a.truth.json \
  || ho_fail "redis_state.py --load failed"
python3 "$LIB/redis_state.py" --redis "$HANDOVER_REDIS" --prefix "$P" >actual.json \
  || ho_fail "redis_state.py failed"
python3 "$LIB/compare_state.py" a.truth.json actual.json >cmp.out || {
  cat cmp.out >&2; ho_fail "a loaded truth does not read back equal"
}
tid=$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["transfers"])[7])' a.truth.json)
ho_redis HINCRBY "{$P}:totals" inmates 1 >/dev/null
ho_redis HSET "{$P}:inmates_by_month" 2023-01 0 >/dev/null
ho_redis HDEL "{$P}:transfers" "$tid" >/dev/null
python3 "$LIB/redis_state.py" --redis "$HANDOVER_REDIS" --prefix "$P" >actual.json
rc=0; python3 "$LIB/compare_state.py" a.truth.json actual.json >cmp.out || rc=$?
ho_assert_eq 1 "$rc" "compare_state.py exit status on a changed state"
grep -q '^totals.inmates: expected' cmp.out || ho_fail "changed total not named: $(cat cmp.out)"
grep -q '^inmates_by_month.2023-01: expected <absent>, actual 0' cmp.out || ho_fail "zero field not named"
grep -q "^transfers.$tid: expected {" cmp.out || ho_fail "missing transfer not named: $(cat cmp.out)"
python3 "$LIB/compare_state.py" a.truth.json actual.json --ignore inmates --ignore inmates_by_month \
  --ignore transfers >/dev/null || ho_fail "--ignore did not leave out the named differences"
ho_redis DEL "{$P}:totals" "{$P}:inmates_by_month" "{$P}:inmates_by_route" "{$P}:transfers_by_destination" \
  "{$P}:inmates_by_destination" "{$P}:persons_by_affiliation" "{$P}:largest_transfers" "{$P}:transfers" >/dev/null
ho_log "ok: deterministic, codec-valid, proportions as stated, order-independent truth, state tools exact"
