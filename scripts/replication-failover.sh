#!/usr/bin/env bash
# The issue-12 failover with Apache's Java client as the reader (the Rust test
# crates/petrel/tests/replication.rs does the same with petrel-client and rocketmq-client-rust):
# a Petrel name server, SYNC_MASTER and SLAVE as separate processes; COUNT messages sent with
# `petrel bench produce` (which counts only SEND_OK answers as sent); once the slave holds the
# master's end, the master is killed with SIGKILL and Apache's Java push consumer
# (compat/java/tools/ConsumeAll.java, rocketmq-client of compat/java/apache/pom.xml) must read
# every acknowledged message from the slave.
#
# Usage: scripts/replication-failover.sh [COUNT=100000]
# PETREL_BIN (default $CARGO_TARGET_DIR/release/petrel); Java 17 and Maven (MVN_OFFLINE=1 for -o).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT=${1:-100000}
BIN=${PETREL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/petrel}
TMP=${TMPDIR:-/tmp}
WORK=$(mktemp -d "$TMP/petrel-repl-failover.XXXXXX")
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME ARGS...: `petrel ARGS`; waits for `petrel ready`; the pid goes in $WORK/NAME.pid.
start() {
  local name=$1
  shift
  "$BIN" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  echo $! >"$WORK/$name.pid"
  for _ in $(seq 600); do
    grep -q '^petrel ready' "$WORK/$name.out" && return
    sleep 0.1
  done
  echo "$name did not start: $(tail "$WORK/$name.err")" >&2
  exit 1
}
addr() { grep -m1 -o 'listening on [0-9.:]*' "$WORK/$1.out" | awk '{print $3}'; }

mvn_args=(-q -B -f "$ROOT/compat/java/apache/pom.xml" dependency:build-classpath
          "-Dmdep.outputFile=$WORK/classpath.txt")
[ "${MVN_OFFLINE:-0}" = 1 ] && mvn_args=(-o "${mvn_args[@]}")
mvn "${mvn_args[@]}" >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log" >&2; exit 1; }

start ns namesrv --listen 127.0.0.1:0
NS=$(addr ns)
mkdir -p "$WORK/m" "$WORK/s"
start master broker --listen 127.0.0.1:0 --namesrv "$NS" --data-dir "$WORK/m" \
  --set brokerName=failover --set brokerRole=SYNC_MASTER --set autoCreateTopicEnable=true
MASTER=$(addr master)
start slave broker --listen 127.0.0.1:0 --namesrv "$NS" --data-dir "$WORK/s" \
  --set brokerName=failover --set brokerRole=SLAVE --set brokerId=1 \
  --set registerNameServerPeriod=10000

ha() {
  "$BIN" admin -n "$NS" --json haStatus -b "$MASTER" | python3 -c '
import json, sys
d = next(iter(json.load(sys.stdin).values()))
c = d["haConnectionInfo"]
print(d["masterCommitLogMaxOffset"], c[0]["slaveAckOffset"] if c else -1)'
}
for _ in $(seq 300); do
  read -r _ ack < <(ha 2>/dev/null || echo "0 -1")
  [ "$ack" != -1 ] && break
  sleep 0.2
done
echo "petrel SYNC_MASTER $MASTER with its slave $(addr slave)"

"$BIN" bench produce -n "$NS" -t Failover --count "$COUNT" --threads 32 --size 256 --json \
  | tee "$WORK/produce.json"
echo
SENT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"])' "$WORK/produce.json")

for _ in $(seq 600); do
  read -r end ack < <(ha)
  [ "$end" = "$ack" ] && break
  sleep 0.2
done
[ "$end" = "$ack" ] || { echo "the slave did not catch up ($ack of $end)"; exit 1; }
# The slave copies topic configs every 10 s (SlaveSynchronize); it must know the topic.
for _ in $(seq 150); do
  grep -qs '"Failover"' "$WORK/s/config/topics.json" && break
  sleep 0.2
done

kill -9 "$(cat "$WORK/master.pid")"
echo "master killed (-9) with $SENT messages acknowledged SEND_OK; reading from the slave"
java -cp "$(cat "$WORK/classpath.txt")" "$ROOT/compat/java/tools/ConsumeAll.java" \
  "$NS" Failover "$SENT" 180 2>"$WORK/java.err" || { tail "$WORK/java.err"; exit 1; }
echo "OK: Apache's Java client read every acknowledged message from the slave"
