# tests/lib/registry.sh: helpers for the schema registry tests (tests/integration/registry_*.sh).
# Source after tests/lib/common.sh.
#
#   reg_require           the stack's registry (HANDOVER_REGISTRY, from 'stack up --registry') answers
#   reg_py ARGS...        tests/lib/confluent_avro.py in its venv (confluent-kafka from PyPI)
#   reg_private_start     a registry of the test's own (REG_URL), for tests that stop it
#
# The independent client is confluent-kafka with its Avro serdes, installed by pip into a venv
# under the build dir (HO_PY_VENV, default build/venv-confluent) the first time a test needs it;
# an install that fails is a test failure, never a skip.

HO_PY_VENV=${HO_PY_VENV:-$HO_BIN_DIR/../venv-confluent}
HO_CONFLUENT_PIP=${HO_CONFLUENT_PIP:-confluent-kafka[avro,schemaregistry]==2.16.1}

reg_answers() { # reg_answers URL: the Confluent API lists its subjects
  python3 -c 'import json, sys, urllib.request
json.load(urllib.request.urlopen(sys.argv[1] + "/subjects", timeout=3))' "$1" 2>/dev/null
}

reg_require() {
  [ -n "${HANDOVER_REGISTRY:-}" ] || ho_fail "needs a schema registry: HANDOVER_REGISTRY is not set (run the tests with tests/run, or eval \"\$(deploy/local/stack up --registry)\")"
  reg_answers "$HANDOVER_REGISTRY" || ho_fail "needs a schema registry: $HANDOVER_REGISTRY does not answer"
}

reg_venv() {
  [ -x "$HO_PY_VENV/.ok" ] && return 0
  mkdir -p "$(dirname "$HO_PY_VENV")"
  # parallel tests: one installs, the others wait for it
  (
    flock -w 600 9 || ho_fail "timed out waiting for the venv lock"
    if [ ! -e "$HO_PY_VENV/.ok" ]; then
      rm -rf "$HO_PY_VENV"
      python3 -m venv "$HO_PY_VENV" >"$HO_TMP/venv.log" 2>&1 \
        && "$HO_PY_VENV/bin/pip" install -q "$HO_CONFLUENT_PIP" >>"$HO_TMP/venv.log" 2>&1 \
        || { tail -20 "$HO_TMP/venv.log" >&2; ho_fail "cannot install $HO_CONFLUENT_PIP into $HO_PY_VENV (python3-venv and PyPI needed)"; }
      printf '#!/bin/sh\n' >"$HO_PY_VENV/.ok"
      chmod +x "$HO_PY_VENV/.ok"
    fi
  ) 9>"$HO_PY_VENV.lock"
  [ -x "$HO_PY_VENV/.ok" ] || ho_fail "no venv at $HO_PY_VENV"
}

reg_py() { reg_venv; "$HO_PY_VENV/bin/python" "$HO_SOURCE_DIR/tests/lib/confluent_avro.py" "$@"; }

# The registry's Confluent API: reg_api METHOD PATH [JSON BODY] (URL: REG_URL or HANDOVER_REGISTRY)
reg_api() {
  python3 - "${REG_URL:-$HANDOVER_REGISTRY}" "$@" <<'PY'
import sys, urllib.request, urllib.error
base, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(base + path, data=body, method=method,
                             headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
try:
    print(urllib.request.urlopen(req, timeout=10).read().decode())
except urllib.error.HTTPError as e:
    print(e.read().decode()); sys.exit(1)
PY
}

# A registry of this test's own (in memory), stopped by the test's cleanup. REG_URL, REG_PID.
reg_private_start() {
  REG_STATE=$HO_TMP/registry-stack
  "$HO_SOURCE_DIR/deploy/local/stack" registry-up --state "$REG_STATE" >"$HO_TMP/registry.env" 2>"$HO_TMP/registry-up.log" \
    || { cat "$HO_TMP/registry-up.log" >&2; ho_fail "cannot start a private registry"; }
  REG_PID=$(cat "$REG_STATE/registry.pid")
  HO_PIDS+=("$REG_PID")
  REG_URL=$(sed -n 's/^export HANDOVER_REGISTRY=//p' "$HO_TMP/registry.env")
  [ -n "$REG_URL" ] || ho_fail "no registry URL from the stack"
}
