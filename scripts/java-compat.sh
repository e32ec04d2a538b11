#!/usr/bin/env bash
# Apache's RocketMQ Java clients (4.9.x and 5.x) against Petrel and/or Apache RocketMQ 5.x.
#
#   scripts/java-compat.sh [petrel|apache|both]      (default: both)
#
# Env: PETREL_BIN      use this petrel binary instead of building one (debug) with cargo
#      CLIENT_LINES    which client lines to run, default "4 5" (4 = 4.9.8, 5 = 5.5.0; see compat/java/pom.xml)
#      COMPAT_MD       also write a Markdown table of every test x run to this file
#      PETREL_NAMESRV_PORT / PETREL_BROKER_PORT / PETREL_GRPC_PORT (29876 / 30911 / 38081), APACHE_NAMESRV_PORT / APACHE_BROKER_PORT (19876 / 20911)
#      MVN_OFFLINE=1   run Maven with -o (after one online run)
#      COMPAT_TESTS    a Surefire -Dtest filter, e.g. "ProducerTest,AdminTest#queryByKeyAndViewById"
# Prints `java-compat <target> client=<version>: N passed, N failed, N skipped` per run, and
# exits non-zero if a test failed against Petrel (or Petrel or the suite could not start).
# Needs Java 17, Maven (Maven Central) and, for Petrel, Rust.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUITE="$ROOT/compat/java"
WHAT="${1:-both}"
case "$WHAT" in petrel|apache|both) ;; *) echo "usage: $0 [petrel|apache|both]" >&2; exit 2 ;; esac
LINES="${CLIENT_LINES:-4 5}"
P_NS_PORT="${PETREL_NAMESRV_PORT:-29876}"
P_BROKER_PORT="${PETREL_BROKER_PORT:-30911}"
P_GRPC_PORT="${PETREL_GRPC_PORT:-38081}"
A_NS_PORT="${APACHE_NAMESRV_PORT:-19876}"
A_BROKER_PORT="${APACHE_BROKER_PORT:-20911}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/java-compat.XXXXXX")"
LOGS="$SUITE/target/compat-logs"
MVN=(mvn -B -q)
[ "${MVN_OFFLINE:-0}" = 1 ] && MVN+=(-o)

# What the suite needs from the broker, the same keys for both targets: SQL92 filters; delay
# level n = n seconds (retries use level 3 + reconsumeTimes); quick transaction check-backs;
# and a shared disk that is often >90% full must not make either broker refuse sends.
DELAY_LEVELS="1s 2s 3s 4s 5s 6s 7s 8s 9s 10s 11s 12s 13s 14s 15s 16s 17s 18s"
BROKER_KEYS=(enablePropertyFilter=true "messageDelayLevel=$DELAY_LEVELS"
             transactionCheckInterval=2000 transactionTimeOut=3000 traceTopicEnable=true
             diskMaxUsedSpaceRatio=97 diskSpaceCleanForciblyRatio=98 diskSpaceWarningLevelRatio=99)

PETREL_PID=""
APACHE_DIR="$WORK/apache"
cleanup() {
  if [ -n "$PETREL_PID" ] && kill -0 "$PETREL_PID" 2>/dev/null; then
    kill "$PETREL_PID" 2>/dev/null; for _ in $(seq 1 40); do kill -0 "$PETREL_PID" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$PETREL_PID" 2>/dev/null || true
  fi
  PETREL_PID=""
  [ -d "$APACHE_DIR" ] && APACHE_RMQ_DIR="$APACHE_DIR" "$ROOT/scripts/apache-rocketmq.sh" stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v java >/dev/null && command -v mvn >/dev/null || { echo "java-compat: needs java (17) and mvn on PATH" >&2; exit 2; }
mkdir -p "$LOGS"

client_version() { # line -> version from the pom's profile
  sed -n "/<id>client$1<\/id>/,/<\/profile>/s:.*<rocketmq.client.version>\(.*\)</rocketmq.client.version>.*:\1:p" "$SUITE/pom.xml"
}

# Resolve and compile once per line up front, so a test run measures the tests.
for l in $LINES; do
  if ! "${MVN[@]}" -f "$SUITE/pom.xml" -Pclient"$l" test-compile >"$LOGS/compile-v$l.log" 2>&1; then
    echo "java-compat: the suite does not compile with client line $l:" >&2; tail -n 30 "$LOGS/compile-v$l.log" >&2; exit 1
  fi
done

SUMMARY_ARGS=()
petrel_failed=0

PETREL_BIN_PROP=()
run_suite() { # target namesrv-addr
  local target="$1" ns="$2" l ver t0 t1
  for l in $LINES; do
    ver="$(client_version "$l")"
    local rep="$SUITE/target/v$l/surefire-reports-$target-v$l" out="$SUITE/target/v$l/compat-out/$target-v$l"
    rm -rf "$rep" "$out"
    mkdir -p "$WORK/tmp"
    t0=$(date +%s)
    "${MVN[@]}" -f "$SUITE/pom.xml" -Pclient"$l" test -DNAMESRV_ADDR="$ns" -Dcompat.target="$target" \
      "-Dcompat.delayLevels=$DELAY_LEVELS" "-Dcompat.tmpdir=$WORK/tmp" ${COMPAT_TESTS:+-Dtest=$COMPAT_TESTS} \
      ${PETREL_BIN_PROP[@]+"${PETREL_BIN_PROP[@]}"} >"$LOGS/$target-v$l.log" 2>&1
    t1=$(date +%s)
    echo "java-compat: $target client=$ver took $((t1 - t0)) s (log: ${LOGS#$ROOT/}/$target-v$l.log)"
    grep -E '<<< (FAILURE|ERROR)!|^\[ERROR\]   [A-Za-z]+Test' "$LOGS/$target-v$l.log" | sed 's/^/  /' | head -n 60
    SUMMARY_ARGS+=("$target client=$ver::$rep::$out")
    if [ "$target" = petrel ]; then
      ls "$rep"/TEST-*.xml >/dev/null 2>&1 || petrel_failed=1
      grep -qE '<(failure|error)' "$rep"/TEST-*.xml 2>/dev/null && petrel_failed=1
    fi
  done
}

if [ "$WHAT" = petrel ] || [ "$WHAT" = both ]; then
  BIN="${PETREL_BIN:-}"
  if [ -z "$BIN" ]; then
    echo "java-compat: building petrel (debug)"
    (cd "$ROOT" && cargo build -q -p petrel) || { echo "java-compat: cargo build failed" >&2; exit 1; }
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/petrel"
  fi
  sets=()
  for kv in "${BROKER_KEYS[@]}"; do sets+=(--set "$kv"); done
  "$BIN" serve --data-dir "$WORK/petrel-data" --namesrv-listen "127.0.0.1:$P_NS_PORT" \
    --broker-listen "127.0.0.1:$P_BROKER_PORT" --grpc-listen "127.0.0.1:$P_GRPC_PORT" "${sets[@]}" >"$LOGS/petrel.log" 2>&1 &
  PETREL_PID=$!
  if java "$SUITE/tools/WaitForBroker.java" "127.0.0.1:$P_NS_PORT" "127.0.0.1:$P_BROKER_PORT" 60 >/dev/null; then
    echo "java-compat: petrel $("$BIN" --version 2>/dev/null) on 127.0.0.1:$P_NS_PORT"
    PETREL_BIN_PROP=("-Dpetrel.bin=$BIN"    # TraceTest runs petrel admin queryMsgTraceById too
                     "-DGRPC_ENDPOINTS=127.0.0.1:$P_GRPC_PORT")  # GrpcProducerTest (client line 5)
    run_suite petrel "127.0.0.1:$P_NS_PORT"
    PETREL_BIN_PROP=()
  else
    echo "java-compat: petrel did not start:" >&2; tail -n 20 "$LOGS/petrel.log" >&2; petrel_failed=1
  fi
  cleanup_petrel_pid="$PETREL_PID"
  kill "$cleanup_petrel_pid" 2>/dev/null; wait "$cleanup_petrel_pid" 2>/dev/null; PETREL_PID=""
fi

if [ "$WHAT" = apache ] || [ "$WHAT" = both ]; then
  if APACHE_RMQ_DIR="$APACHE_DIR" APACHE_NAMESRV_PORT="$A_NS_PORT" APACHE_BROKER_PORT="$A_BROKER_PORT" \
       "$ROOT/scripts/apache-rocketmq.sh" start "${BROKER_KEYS[@]}" >"$LOGS/apache-start.log" 2>&1; then
    echo "java-compat: $(tail -n 1 "$LOGS/apache-start.log")"
    run_suite apache "127.0.0.1:$A_NS_PORT"
  else
    echo "java-compat: Apache RocketMQ did not start:" >&2; tail -n 30 "$LOGS/apache-start.log" >&2
  fi
  APACHE_RMQ_DIR="$APACHE_DIR" "$ROOT/scripts/apache-rocketmq.sh" stop >/dev/null 2>&1
fi

md=()
[ -n "${COMPAT_MD:-}" ] && md=(--md "$COMPAT_MD")
java "$SUITE/tools/Summarize.java" "${md[@]}" "${SUMMARY_ARGS[@]}"
exit $petrel_failed
