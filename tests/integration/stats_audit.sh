#!/usr/bin/env bash
# stats_audit: handover-stats --audit passes the sample (29 + 26 + 37 = 92, as
# claimed) and exits 3, naming the numbers, once a later report revises a
# transfer with a cumulative_total that the route's transfers do not add up to.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-stats

agg_setup 2
agg_produce "$HO_SOURCE_DIR/deploy/sample/reports.jsonl"
agg_start w1
agg_wait_caught_up 60
audit() { "$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "$AGG_PREFIX" --audit "$@"; }

rc=0; audit >"$HO_TMP/audit.txt" || rc=$?
ho_assert_eq 0 "$rc" "exit code of --audit on the sample"
for line in "2025-02-27 mx-us-2025-02-27 claims 29: 29 = 29 ✓" \
            "2025-08-12 mx-us-2025-08-12 claims 55: 29 + 26 = 55 ✓" \
            "2026-01-20 mx-us-2026-01-20 claims 92: 29 + 26 + 37 = 92 ✓" \
            "audit: 3 claims of cumulative_total, 3 agree, 0 disagree"; do
  grep -qF "$line" "$HO_TMP/audit.txt" || { cat "$HO_TMP/audit.txt" >&2; ho_fail "--audit lacks: $line"; }
done

# a later report on the last transfer claims 93: the route still adds up to 92
cat >"$HO_TMP/planted.jsonl" <<'JSON'
{"transfer_id": "mx-us-2026-01-20", "occurred_on": "2026-01-20", "reported_at": "2026-01-22T10:00:00Z", "source": "planted", "origin_country": "MX", "destination_country": "US", "inmate_count": 37, "aircraft_count": 7, "destinations": ["Washington", "Houston", "New York", "Pennsylvania", "San Antonio", "San Diego"], "cumulative_total": 93, "authority": null, "persons": [{"name": "Pedro Inzunza Noriega", "affiliation": "Beltran Leyva"}]}
JSON
agg_produce "$HO_TMP/planted.jsonl"
agg_wait_caught_up 60
rc=0; audit >"$HO_TMP/audit2.txt" || rc=$?
ho_assert_eq 3 "$rc" "exit code of --audit with a planted discrepancy"
grep -qF "2026-01-20 mx-us-2026-01-20 claims 93: 29 + 26 + 37 = 92 ✗" "$HO_TMP/audit2.txt" \
  || { cat "$HO_TMP/audit2.txt" >&2; ho_fail "--audit does not name the planted discrepancy"; }
grep -qF "audit: 3 claims of cumulative_total, 2 agree, 1 disagree" "$HO_TMP/audit2.txt" || ho_fail "wrong audit summary"
"$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "$AGG_PREFIX" --json >"$HO_TMP/stats.json" || ho_fail "--json exits non-zero without --audit"
python3 - "$HO_TMP/stats.json" <<'PY' || ho_fail "--json audit member is wrong"
import json, sys
a = json.load(open(sys.argv[1]))["audit"]
assert (a["claims"], a["agree"], a["disagree"]) == (3, 2, 1), a
d = a["disagreements"][0]
assert d == {"transfer_id": "mx-us-2026-01-20", "route": "MX-US", "occurred_on": "2026-01-20",
             "claimed": 93, "computed": 92, "transfers": 3}, d
PY
rc=0; "$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "$AGG_PREFIX" --json --audit >/dev/null || rc=$?
ho_assert_eq 3 "$rc" "exit code of --json --audit with a discrepancy"

# a state the engine would refuse (a member twice) is refused by the audit too, by name
bad=$(agg_redis HGET "{$AGG_PREFIX}:transfers" mx-us-2025-02-27)
agg_redis HSET "{$AGG_PREFIX}:transfers" mx-us-planted "${bad%\}},\"source\":\"again\"}" >/dev/null
rc=0; audit >/dev/null 2>"$HO_TMP/audit3.err" || rc=$?
ho_assert_eq 1 "$rc" "exit code of --audit over a state the engine refuses"
grep -qF 'stored state of transfer "mx-us-planted" does not parse: not a JSON object: duplicate object key' "$HO_TMP/audit3.err" \
  || { cat "$HO_TMP/audit3.err" >&2; ho_fail "--audit does not name the refused state"; }
grep -qF "(in \"{$AGG_PREFIX}:transfers\")" "$HO_TMP/audit3.err" || ho_fail "--audit does not name the key"
ho_log "ok: the sample agrees (92); the planted claim of 93 is found; a refused state is named"
