#!/usr/bin/env bash
# Migration test: Apache RocketMQ 5.x writes a store, Petrel serves it.
#
#   scripts/migration-test.sh [clean|kill|both]      (default: clean)
#
# For each variant:
#  1. starts Apache RocketMQ (scripts/apache-rocketmq.sh, Maven Central) on private ports;
#  2. writes with Apache's 5.x Java client (compat/java/migration/Migration.java write):
#     messages on 4 queues with keys and tags, a consumer group that consumed half of them,
#     a %RETRY% message, delayed and timer messages (one delivered, one pending), committed,
#     rolled back and unknown transactions;
#  3. stops Apache: SIGTERM (clean) or SIGKILL of the broker (kill), keeping the store;
#  4. starts `petrel serve` on that store, on Apache's ports (offset message ids embed the
#     broker address), and checks with the same client (Migration.java read) that the group
#     resumes from its committed offsets, lookups by key / unique id / offset id work, the
#     %RETRY% message, pending delayed and timer messages arrive once and the half message is
#     checked back and committed; then stops Petrel and opens the store once more.
#
# Needs Java 17, Maven (the client and Apache's jars from Maven Central, cached in ~/.m2) and
# cargo. PETREL_BIN=<path> uses a built binary instead of building one. MIGRATION_KEEP=1 keeps
# the work directory (always kept on failure). Ports: APACHE_NAMESRV_PORT (19876) and
# APACHE_BROKER_PORT (20911), as scripts/apache-rocketmq.sh. About 2-3 minutes per variant.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE="${1:-clean}"
case "$MODE" in clean|kill|both) ;; *) echo "usage: $0 [clean|kill|both]" >&2; exit 2 ;; esac
NS_PORT="${APACHE_NAMESRV_PORT:-19876}"
BROKER_PORT="${APACHE_BROKER_PORT:-20911}"
NS_ADDR="127.0.0.1:$NS_PORT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/petrel-migration.XXXXXX")"
PETREL_PID=""
log() { echo "migration-test: $*"; }

cleanup() {
  local rc=$?
  if [ -n "$PETREL_PID" ] && kill -0 "$PETREL_PID" 2>/dev/null; then kill "$PETREL_PID" 2>/dev/null || true; wait "$PETREL_PID" 2>/dev/null || true; fi
  for f in "$WORK"/*/apache/broker.pid "$WORK"/*/apache/namesrv.pid; do
    [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  if [ $rc -eq 0 ] && [ "${MIGRATION_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else log "work directory kept: $WORK"; fi
  exit $rc
}
trap cleanup EXIT

# The Java client's classpath (compat/java's 5.x line) and Petrel.
mvn -q -B -f "$ROOT/compat/java/pom.xml" dependency:build-classpath -Dmdep.includeScope=runtime \
  "-Dmdep.outputFile=$WORK/classpath.txt" >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log" >&2; exit 1; }
CP="$(cat "$WORK/classpath.txt")"
if [ -z "${PETREL_BIN:-}" ]; then
  (cd "$ROOT" && cargo build -q -p petrel --bin petrel)
  PETREL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/petrel"
fi
migration() { java -Duser.home="$WORK/home" -cp "$CP" "$ROOT/compat/java/migration/Migration.java" "$@" 2>&1 | grep -v '^Note: '; }

# Waits until `petrel serve` says it is ready, or fails with its log.
start_petrel() {
  local store="$1" out="$2"
  cat >"$WORK/petrel.conf" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerIP1=127.0.0.1
storePathRootDir=$store
# the segment size the store was written with (scripts/apache-rocketmq.sh)
mappedFileSizeCommitLog=134217728
transactionCheckInterval=3000
diskMaxUsedSpaceRatio=97
diskSpaceCleanForciblyRatio=98
diskSpaceWarningLevelRatio=99
CONF
  "$PETREL_BIN" serve --config "$WORK/petrel.conf" --namesrv-listen "$NS_ADDR" \
    --broker-listen "127.0.0.1:$BROKER_PORT" >"$out" 2>&1 &
  PETREL_PID=$!
  for _ in $(seq 1 120); do
    grep -q "petrel ready" "$out" 2>/dev/null && return 0
    kill -0 "$PETREL_PID" 2>/dev/null || break
    sleep 0.5
  done
  log "petrel did not start on $store:"; tail -n 20 "$out" >&2; return 1
}

stop_petrel() {
  kill "$PETREL_PID"
  local rc=0; wait "$PETREL_PID" || rc=$?
  PETREL_PID=""
  [ $rc -eq 0 ] || { log "petrel exited with $rc"; return 1; }
}

run_variant() {
  local variant="$1" dir="$WORK/$1"
  mkdir -p "$dir"
  local apache="$dir/apache" store="$dir/apache/store"
  log "[$variant] Apache RocketMQ writes the store"
  APACHE_RMQ_DIR="$apache" "$ROOT/scripts/apache-rocketmq.sh" start "$apache"
  migration write "$NS_ADDR" "$dir/manifest.properties" | tee "$dir/write.log"
  grep -q "all checks passed" "$dir/write.log" || { log "[$variant] writing with Apache failed"; return 1; }

  local broker_pid; broker_pid="$(cat "$apache/broker.pid")"
  if [ "$variant" = kill ]; then
    log "[$variant] kill -9 the Apache broker"
    kill -9 "$broker_pid"
  else
    log "[$variant] stopping the Apache broker"
    kill "$broker_pid"
  fi
  for _ in $(seq 1 120); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$broker_pid" 2>/dev/null && { log "Apache broker did not stop"; return 1; }
  kill "$(cat "$apache/namesrv.pid")" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$(cat "$apache/namesrv.pid")" 2>/dev/null || break; sleep 0.5; done
  rm -f "$apache/broker.pid" "$apache/namesrv.pid"
  if [ "$variant" = kill ]; then [ -f "$store/abort" ] || { log "no abort file after kill -9"; return 1; }
  else [ ! -f "$store/abort" ] || { log "abort file after a clean stop"; return 1; }; fi

  log "[$variant] Petrel serves the store"
  start_petrel "$store" "$dir/petrel.log"
  grep -o "RecoveryReport {[^}]*}" "$dir/petrel.log" || true
  local after_kill=()
  [ "$variant" = kill ] && after_kill=(--after-kill)
  migration read "$NS_ADDR" "$dir/manifest.properties" "${after_kill[@]}" | tee "$dir/read.log"
  stop_petrel
  grep -q "all checks passed" "$dir/read.log" || { log "[$variant] FAILED (logs in $dir)"; return 1; }

  log "[$variant] Petrel opens the store again (its own checkpoint now)"
  start_petrel "$store" "$dir/petrel2.log"
  stop_petrel
  grep -q "written_by_rocketmq: false" "$dir/petrel2.log" || { log "second open did not use Petrel's checkpoint"; return 1; }
  log "[$variant] passed"
}

case "$MODE" in
  both) run_variant clean; run_variant kill ;;
  *) run_variant "$MODE" ;;
esac
log "passed ($MODE)"
