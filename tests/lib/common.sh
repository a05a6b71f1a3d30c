# tests/lib/common.sh: sourced by every integration test (tests/integration/*.sh).
#
# The test command (tests/run) brings the real stack up once and exports
# HANDOVER_BROKERS and HANDOVER_REDIS; ctest sets HO_SOURCE_DIR and HO_BIN_DIR.
# A test that cannot reach Kafka or Redis FAILS with a message saying so: no
# test passes by skipping. Each test uses its own topics and key prefix
# (ho_unique), so tests cannot see each other's data.
set -euo pipefail

HO_SOURCE_DIR=${HO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HO_BIN_DIR=${HO_BIN_DIR:-$HO_SOURCE_DIR/build/bin}
HO_TEST_NAME=$(basename "${0%.sh}")
HO_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ho-$HO_TEST_NAME.XXXXXX")
HO_PIDS=()
HO_TOPICS=()

ho_log() { printf '[%s %s] %s\n' "$HO_TEST_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
ho_fail() { printf '[%s] FAIL: %s\n' "$HO_TEST_NAME" "$*" >&2; exit 1; }

# Kill what the test started, keep the temp dir when the test failed.
ho_cleanup() {
  local rc=$?
  for pid in "${HO_PIDS[@]:-}"; do
    # SIGCONT too: a process the test holds with SIGSTOP would never act on the SIGTERM
    [ -n "$pid" ] && { kill "$pid" 2>/dev/null; kill -CONT "$pid" 2>/dev/null; } || true
  done
  for pid in "${HO_PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  if [ $rc -eq 0 ]; then
    ho_unlink_own_keys
    rm -rf "$HO_TMP"
    # the topics it created go too (kept, like the temp dir, when it failed): a long-lived dev
    # stack otherwise collects a few dozen per test run
    if [ -n "${HO_TOPICS[*]:-}" ] && [ -n "${HANDOVER_BROKERS:-}" ]; then
      "$HO_BIN_DIR/handover-topic" delete -b "$HANDOVER_BROKERS" --if-exists "${HO_TOPICS[@]}" \
        >/dev/null 2>&1 || true
    fi
  else
    echo "[$HO_TEST_NAME] kept $HO_TMP" >&2
  fi
}
trap ho_cleanup EXIT

# Start a background process and remember it for cleanup: ho_bg CMD... ; pid in $HO_LAST_PID
# CMD must be a program (not a shell function): the explicit exec makes $HO_LAST_PID the program's
# own pid, so signals sent to it (kill -INT/-TERM) reach the program and not a bash subshell that
# would ignore SIGINT or die leaving the program behind (bash does not always exec by itself).
ho_bg() { (exec "$@") & HO_LAST_PID=$!; HO_PIDS+=("$HO_LAST_PID"); }

# A name no other test (or run) uses: ho_unique topic -> topic-<test>-<random>
# (remembered in $HO_TMP/names: it is called in $(...), where an array would not keep it)
ho_unique() {
  local name
  name=$(printf '%s-%s-%s' "$1" "$HO_TEST_NAME" "$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')")
  printf '%s\n' "$name" >>"$HO_TMP/names"
  printf '%s' "$name"
}

# When a test passes, the keys it left in the shared Redis go (prefixes and keys are built from
# ho_unique names; a long-lived dev stack otherwise grew by a few MB per test run). One SCAN for
# this test's names, then only the keys holding a name this run drew: a failed run's keys stay.
ho_unlink_own_keys() {
  [ -s "$HO_TMP/names" ] && [ -n "${HANDOVER_REDIS:-}" ] || return 0
  ho_redis --scan --pattern "*-$HO_TEST_NAME-*" 2>/dev/null | grep -F -f "$HO_TMP/names" \
    | xargs -r -d '\n' -n 500 redis-cli -u "$HANDOVER_REDIS" --no-auth-warning UNLINK >/dev/null 2>&1 || true
}

ho_need_bin() {
  for b in "$@"; do [ -x "$HO_BIN_DIR/$b" ] || ho_fail "missing program $HO_BIN_DIR/$b (build first)"; done
}

# Fail loudly unless the real Kafka and Redis answer.
ho_require_kafka() {
  [ -n "${HANDOVER_BROKERS:-}" ] || ho_fail "needs Kafka: HANDOVER_BROKERS is not set (run the tests with tests/run, or eval \"\$(deploy/local/stack up)\")"
  kcat -L -b "$HANDOVER_BROKERS" -m 10 >/dev/null 2>"$HO_TMP/kcat.err" \
    || ho_fail "needs Kafka: cannot reach brokers $HANDOVER_BROKERS: $(tail -1 "$HO_TMP/kcat.err")"
}
ho_require_redis() {
  [ -n "${HANDOVER_REDIS:-}" ] || ho_fail "needs Redis: HANDOVER_REDIS is not set (run the tests with tests/run, or eval \"\$(deploy/local/stack up)\")"
  [ "$(redis-cli -u "$HANDOVER_REDIS" --no-auth-warning PING 2>&1)" = PONG ] \
    || ho_fail "needs Redis: no PONG from $HANDOVER_REDIS"
}

ho_redis() { redis-cli -u "$HANDOVER_REDIS" --no-auth-warning "$@"; }

# Create a topic on the test broker: ho_topic_create NAME [PARTITIONS]
# (deleted again when the test passes)
ho_topic_create() {
  "$HO_BIN_DIR/handover-topic" create -b "$HANDOVER_BROKERS" -p "${2:-6}" "$1" >/dev/null \
    || ho_fail "cannot create topic $1"
  HO_TOPICS+=("$1")
  # CreateTopics answers once the controller has it; a broker's metadata may lag behind, and
  # a worker's start-up check asks the metadata: wait until it lists every partition
  ho_wait_until 30 ho_topic_listed "$1" "${2:-6}" || ho_fail "topic $1 is not in the metadata after 30 s"
}
ho_topic_listed() { # ho_topic_listed TOPIC PARTITIONS
  [ "$(kcat -L -b "$HANDOVER_BROKERS" -t "$1" 2>/dev/null | grep -c '^    partition [0-9]*, leader [0-9]')" = "$2" ]
}

# Wait until a command succeeds: ho_wait_until SECONDS CMD...
ho_wait_until() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# Log lines since a mark: m=$(ho_log_mark FILE); ...; ho_wait_until 30 ho_logged_since FILE $m TEXT
# (TEXT is a fixed string). For "X happened after Y" checks on a log that already holds lines.
ho_log_mark() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
ho_logged_since() { tail -n +$(($2 + 1)) "$1" 2>/dev/null | grep -qF -- "$3"; }

ho_assert_eq() { # ho_assert_eq EXPECTED ACTUAL WHAT
  [ "$1" = "$2" ] || ho_fail "$3: expected '$1', got '$2'"
}
