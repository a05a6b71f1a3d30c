#!/usr/bin/env bash
# replay_equals_live: a generated history (revisions, duplicates, out-of-order
# reports, v1 and v2) aggregated by two workers equals the ground truth; a
# --dry-run rebuild finds no difference and leaves no staging keys; a full
# rebuild switched in equals the same truth and shows the same handover-stats
# --json (updated_at aside); --into P2 builds the same counters under another
# prefix and leaves P untouched.
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_require_kafka
ho_require_redis
ho_need_bin handover-aggregate handover-produce handover-topic handover-replay handover-stats

agg_setup 4
"$HO_SOURCE_DIR/bench/gen" --reports 4000 --transfers 1200 --seed 61 --v1-share 0.3 \
  --out "$HO_TMP/v2.jsonl" --v1-out "$HO_TMP/v1.jsonl" --truth "$HO_TMP/truth.json" \
  2>"$HO_TMP/gen.log" || ho_fail "bench/gen failed: $(cat "$HO_TMP/gen.log")"
agg_produce "$HO_TMP/v2.jsonl"
agg_produce "$HO_TMP/v1.jsonl" --schema v1
agg_start w1
agg_start w2
agg_wait_caught_up 120
agg_compare "$HO_TMP/truth.json" "live state"

stats() { "$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" --top 0 "$@"; }
replay() { "$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" "$@"; }
no_updated_at() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["totals"].pop("updated_at"); print(json.dumps(d, sort_keys=True))' "$1"; }
staging_keys() { agg_redis --scan --pattern "{$1}:staging:*" | wc -l; }

stats -p "$AGG_PREFIX" --json >"$HO_TMP/live.json" || ho_fail "handover-stats --json failed"
live_updated=$(agg_redis HGET "{$AGG_PREFIX}:totals" updated_at)

# dry run: built and compared, nothing switched, nothing left behind
replay -p "$AGG_PREFIX" --dry-run -q >"$HO_TMP/dry.out" 2>"$HO_TMP/dry.err" \
  || ho_fail "replay --dry-run failed: $(cat "$HO_TMP/dry.err")"
grep -q '^no differences$' "$HO_TMP/dry.out" || { cat "$HO_TMP/dry.out" >&2; ho_fail "dry run found differences"; }
grep -Eq '^  inmates +[0-9]+ +[0-9]+ +\+0$' "$HO_TMP/dry.out" || { cat "$HO_TMP/dry.out" >&2; ho_fail "dry run table lacks the inmates row"; }
ho_assert_eq 0 "$(staging_keys "$AGG_PREFIX")" "staging keys left by --dry-run"
ho_assert_eq "$live_updated" "$(agg_redis HGET "{$AGG_PREFIX}:totals" updated_at)" "live updated_at after --dry-run"

# the full rebuild, switched in
replay -p "$AGG_PREFIX" 2>"$HO_TMP/replay.err" || ho_fail "replay failed: $(cat "$HO_TMP/replay.err")"
grep -q 'switched in' "$HO_TMP/replay.err" || ho_fail "replay did not say it switched: $(cat "$HO_TMP/replay.err")"
ho_assert_eq 0 "$(staging_keys "$AGG_PREFIX")" "staging keys left after the switch"
agg_compare "$HO_TMP/truth.json" "state after replay"
agg_caught_up || ho_fail "stored offsets after replay are not the topic's end"
stats -p "$AGG_PREFIX" --json >"$HO_TMP/replayed.json" || ho_fail "handover-stats --json failed after replay"
[ "$(no_updated_at "$HO_TMP/live.json")" = "$(no_updated_at "$HO_TMP/replayed.json")" ] || {
  diff <(no_updated_at "$HO_TMP/live.json" | python3 -m json.tool) \
       <(no_updated_at "$HO_TMP/replayed.json" | python3 -m json.tool) | head -20 >&2
  ho_fail "handover-stats --json differs between live and replayed"
}

# one replay per prefix: while another holds the lock, a replay fails and changes nothing
agg_redis SET "{$AGG_PREFIX}:staging:lock" "someone-else" PX 20000 >/dev/null
before=$(agg_redis HGET "{$AGG_PREFIX}:totals" updated_at)
rc=0; replay -p "$AGG_PREFIX" -q 2>"$HO_TMP/locked.err" || rc=$?
ho_assert_eq 1 "$rc" "exit code of a replay while another holds the lock"
grep -q 'another replay into prefix .* is running' "$HO_TMP/locked.err" || ho_fail "unclear message: $(cat "$HO_TMP/locked.err")"
ho_assert_eq "$before" "$(agg_redis HGET "{$AGG_PREFIX}:totals" updated_at)" "live updated_at after a refused replay"
ho_assert_eq "someone-else" "$(agg_redis GET "{$AGG_PREFIX}:staging:lock")" "the other replay's lock"
agg_redis DEL "{$AGG_PREFIX}:staging:lock" >/dev/null

# interrupted mid-build (SIGINT): exit 1, nothing switched, no staging keys, no lock left.
# A tiny --memory-max makes the replay read the window once per bucket of transfers (32 here),
# loading each bucket's staging keys as it goes: staging keys exist for most of its run.
ho_bg "$HO_BIN_DIR/handover-replay" -b "$HANDOVER_BROKERS" -r "$AGG_REDIS" -t "$AGG_TOPIC" \
  -p "$AGG_PREFIX" --memory-max 64K --batch-max 1 -q 2>"$HO_TMP/int.err"
rp=$HO_LAST_PID
ho_wait_until 20 bash -c "[ \$(redis-cli -u '$AGG_REDIS' --no-auth-warning HLEN '{$AGG_PREFIX}:staging:transfers') -gt 0 ]" \
  || ho_fail "the slow replay built nothing in 20 s: $(cat "$HO_TMP/int.err")"
kill -INT "$rp"
rc=0; wait "$rp" || rc=$?
ho_assert_eq 1 "$rc" "exit code of an interrupted replay"
grep -q 'interrupted' "$HO_TMP/int.err" || ho_fail "unclear message: $(cat "$HO_TMP/int.err")"
ho_assert_eq 0 "$(staging_keys "$AGG_PREFIX")" "staging keys left by an interrupted replay"
ho_assert_eq "$before" "$(agg_redis HGET "{$AGG_PREFIX}:totals" updated_at)" "live updated_at after an interrupted replay"
agg_compare "$HO_TMP/truth.json" "state after an interrupted replay"

# --into another prefix: the same counters there, the live prefix untouched
p2=$(ho_unique into)
before=$(agg_redis HGET "{$AGG_PREFIX}:totals" updated_at)
replay -p "$AGG_PREFIX" --into "$p2" -q || ho_fail "replay --into failed"
ho_assert_eq "$before" "$(agg_redis HGET "{$AGG_PREFIX}:totals" updated_at)" "live updated_at after --into"
(AGG_PREFIX=$p2 agg_compare "$HO_TMP/truth.json" "state built --into $p2")
stats -p "$p2" --json >"$HO_TMP/into.json" || ho_fail "handover-stats --json failed on $p2"
[ "$(no_updated_at "$HO_TMP/live.json")" = "$(no_updated_at "$HO_TMP/into.json")" ] \
  || ho_fail "handover-stats --json of $p2 differs from the live prefix"
agg_redis --scan --pattern "{$p2}:*" | xargs -r redis-cli -u "$AGG_REDIS" --no-auth-warning DEL >/dev/null
ho_log "ok: $(agg_topic_count) messages; live, dry run, rebuild and --into all equal the truth"
