#!/usr/bin/env bash
# stats_json: handover-stats --json says what Redis holds (read independently
# by tests/lib/redis_state.py), in the documented shape; -b adds the lag (0
# once caught up, the unread messages otherwise); --transfer prints one state;
# no data, an unknown transfer and an unreachable Redis are clear failures.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-stats

agg_setup 3
"$HO_SOURCE_DIR/bench/gen" --reports 2000 --transfers 700 --seed 65 \
  --out "$HO_TMP/gen.jsonl" --truth "$HO_TMP/truth.json" 2>"$HO_TMP/gen.log" \
  || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/gen.jsonl"
agg_start w1
w1=$HO_LAST_PID
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "live state"
stats() { "$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "$AGG_PREFIX" "$@"; }

stats --json --top 0 -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" >"$HO_TMP/stats.json" || ho_fail "handover-stats --json failed"
python3 "$HO_SOURCE_DIR/tests/lib/redis_state.py" --redis "$AGG_REDIS" --prefix "$AGG_PREFIX" >"$HO_TMP/redis.json" \
  || ho_fail "redis_state.py failed"
python3 - "$HO_TMP/stats.json" "$HO_TMP/redis.json" <<'PY' || ho_fail "--json does not match Redis"
import json, sys
raw = open(sys.argv[1]).read()
s, r = json.loads(raw), json.loads(sys.argv[2] and open(sys.argv[2]).read())
members = ["totals", "inmates_by_month", "inmates_by_route", "transfers_by_destination",
           "inmates_by_destination", "persons_by_affiliation", "largest_transfers", "audit", "lag"]
assert list(s) == members, "members %s" % list(s)
t = dict(s["totals"]); assert isinstance(t.pop("updated_at"), int)
assert t == r["totals"], (t, r["totals"])
for k in members[1:6]:
    assert s[k] == r[k], k
    assert list(s[k]) == sorted(s[k]), "%s keys not sorted" % k
    assert all(type(v) is int and v > 0 for v in s[k].values()), k
lt = s["largest_transfers"]
assert {e["transfer_id"]: e["inmates"] for e in lt} == r["largest_transfers"], "largest_transfers"
assert [e["inmates"] for e in lt] == sorted((e["inmates"] for e in lt), reverse=True), "not descending"
a = s["audit"]
assert a["claims"] == a["agree"] + a["disagree"] and len(a["disagreements"]) == a["disagree"], a
assert s["lag"]["total"] == 0 and all(p["lag"] == 0 for p in s["lag"]["partitions"]), s["lag"]
PY
# the default --top 10 and its order
ho_assert_eq 10 "$(stats --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["largest_transfers"]))')" "default top"

# lag: stop the worker, produce more, the lag is exactly the unread messages
agg_stop "$w1"
head -n 50 "$HO_TMP/gen.jsonl" >"$HO_TMP/more.jsonl"
agg_produce "$HO_TMP/more.jsonl"
ho_assert_eq 50 "$(stats --json -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lag"]["total"])')" "lag after 50 more"
stats -b "$HANDOVER_BROKERS" -t "$AGG_TOPIC" >"$HO_TMP/table.txt" || ho_fail "table failed"
grep -q "^  lag behind \"$AGG_TOPIC\": 50 messages" "$HO_TMP/table.txt" || { cat "$HO_TMP/table.txt" >&2; ho_fail "no lag line in the table"; }
grep -Eq "^  transfers 700 +inmates [0-9]+" "$HO_TMP/table.txt" || ho_fail "no totals line in the table"
grep -Eq '^  last update [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z \(' "$HO_TMP/table.txt" || ho_fail "no last update line"

# --transfer: the state, pretty, with its report count; unknown: exit 1
tid=$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["transfers"])[0])' "$HO_TMP/truth.json")
stats --transfer "$tid" >"$HO_TMP/tr.json" 2>"$HO_TMP/tr.err" || ho_fail "--transfer $tid failed"
python3 - "$HO_TMP/tr.json" "$HO_TMP/truth.json" "$tid" <<'PY' || ho_fail "--transfer $tid is wrong"
import json, sys
st, truth, tid = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
exp = truth["transfers"][tid]
assert st["transfer_id"] == tid and st["reports"] == exp["reports"] and st["inmate_count"] == exp["inmate_count"], (st, exp)
PY
grep -q "report" "$HO_TMP/tr.err" || ho_fail "--transfer did not name the report count"
rc=0; stats --transfer no-such-transfer 2>"$HO_TMP/err" || rc=$?
ho_assert_eq 1 "$rc" "exit code for an unknown transfer"
grep -q 'no transfer "no-such-transfer"' "$HO_TMP/err" || ho_fail "unclear message: $(cat "$HO_TMP/err")"

# no data, unreachable Redis, usage
empty=$(ho_unique empty)
rc=0; "$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "$empty" 2>"$HO_TMP/err" || rc=$?
ho_assert_eq 1 "$rc" "exit code for an empty prefix"
grep -q "no data under prefix \"$empty\" (is a worker running?)" "$HO_TMP/err" || ho_fail "unclear message: $(cat "$HO_TMP/err")"
rc=0; "$HO_BIN_DIR/handover-stats" -r redis://127.0.0.1:1 -p "$AGG_PREFIX" 2>"$HO_TMP/err" || rc=$?
ho_assert_eq 1 "$rc" "exit code for an unreachable Redis"
grep -q "127.0.0.1:1" "$HO_TMP/err" || ho_fail "message does not name the Redis: $(cat "$HO_TMP/err")"
rc=0; "$HO_BIN_DIR/handover-stats" --top x 2>/dev/null || rc=$?
ho_assert_eq 2 "$rc" "exit code for a bad flag"
"$HO_BIN_DIR/handover-stats" -h | grep -q -- '--audit' || ho_fail "-h does not document --audit"

# --watch: a new block per update on a non-terminal, clean exit on SIGINT
# the program itself in the background (not a shell function: a subshell would get the signal)
ho_bg "$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "$AGG_PREFIX" --watch --json --interval 30 \
  >"$HO_TMP/watch.out" 2>"$HO_TMP/watch.err"
watch=$HO_LAST_PID
ho_wait_until 10 test -s "$HO_TMP/watch.out" || ho_fail "--watch printed nothing"
agg_start w2
agg_wait_caught_up 60
ho_wait_until 10 bash -c "[ \$(wc -l <'$HO_TMP/watch.out') -ge 2 ]" || ho_fail "--watch did not redraw on an update"
kill -INT "$watch"
for _ in $(seq 50); do kill -0 "$watch" 2>/dev/null || break; sleep 0.1; done
kill -0 "$watch" 2>/dev/null && ho_fail "--watch did not exit within 5 s of SIGINT"
rc=0; wait "$watch" || rc=$?
ho_assert_eq 0 "$rc" "--watch exit code after SIGINT"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$HO_TMP/watch.out" || ho_fail "--watch --json lines are not JSON"
ho_log "ok: --json equals Redis, lag, --transfer, --watch and failures as documented"
