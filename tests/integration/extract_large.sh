#!/usr/bin/env bash
# extract_large: handover-extract on 10 MB pages (an article repeated, random
# bytes with invalid UTF-8, one 10 MB line, a million short lines) finishes
# each in bounded time and memory, and gives the right answer: the repeated
# article's report, nothing from noise. Plain build: the fuzzer covers these
# shapes at 1 MB under the sanitizers.
source "$(dirname "$0")/../lib/common.sh"
ho_need_bin handover-extract

A=$HO_SOURCE_DIR/tests/data/articles
python3 - "$A/01-wire-jst-third-transfer.txt" "$HO_TMP" <<'PY'
import os, random, sys
art = open(sys.argv[1], "rb").read()
out = sys.argv[2]
N = 10 << 20
open(f"{out}/repeated.txt", "wb").write((art * (N // len(art) + 1))[:N])
rnd = random.Random(16)
open(f"{out}/random.bin", "wb").write(rnd.randbytes(N))
open(f"{out}/oneline.txt", "wb").write((art.replace(b"\n", b" ") * (N // len(art) + 1))[:N])
open(f"{out}/lines.txt", "wb").write((b"1. Mexico sends 37 people to the United States\n" * (N // 48 + 1))[:N])
PY
run_timed() { # run_timed NAME EXPECTED_RC: at most 60 s of wall time and 1 GB of memory each
  local t0 t1 rc=0
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$HO_TMP/$1.rss" timeout 60 "$HO_BIN_DIR/handover-extract" -q "$HO_TMP/$1" \
    >"$HO_TMP/$1.out" 2>"$HO_TMP/$1.err" || rc=$?
  t1=$(date +%s%N)
  [ "$rc" = 124 ] && ho_fail "$1: no answer within 60 s"
  ho_assert_eq "$2" "$rc" "exit code on $1"
  local kb; kb=$(tail -1 "$HO_TMP/$1.rss")
  [ "$kb" -lt 1048576 ] || ho_fail "$1: peak RSS $kb KB"
  ho_log "$1: $(( (t1 - t0) / 1000000 )) ms, peak RSS $(( kb / 1024 )) MB"
}
run_timed repeated.txt 0
grep -q '"transfer_id":"mx-us-2026-01-20"' "$HO_TMP/repeated.txt.out" || ho_fail "repeated article: no report"
run_timed random.bin 1
run_timed oneline.txt 1
run_timed lines.txt 1
for f in random.bin oneline.txt lines.txt; do
  ho_assert_eq 0 "$(wc -c <"$HO_TMP/$f.out")" "bytes printed for $f"
done
ho_log "ok: four 10 MB pages, each answered in bounded time"
