#!/usr/bin/env bash
# gRPC next to remoting on one Petrel (release build), same machine, same JVM client library
# family, 1 KiB bodies (docs/benchmarks.md, issue 14). Not part of CI.
#
#   scripts/bench-grpc.sh [ROUNDS]        (default 3; alternates remoting and gRPC each round)
#
# Per round, on a fresh `petrel serve` each:
#   remoting produce  CompareBench (rocketmq-client 5.5.0, DefaultMQProducer), 64 threads, sync sends
#   gRPC produce      GrpcBench (rocketmq-client-java 5.2.0, Producer), 64 threads, sync sends
#   remoting consume  CompareBench consume (DefaultMQPushConsumer) of a 200,000-message backlog
#   gRPC consume      GrpcBench consume (SimpleConsumer, 8 threads, receive 32 + ack each) of the same
# Output: one JSON line per measurement in $WORK/results.jsonl and a summary of medians.
set -euo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/bench-grpc.XXXXXX")}
BACKLOG=${BACKLOG:-200000}
mkdir -p "$WORK"
log() { printf '%s bench-grpc: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true; rm -rf "$WORK/store"; }
trap cleanup EXIT

(cd "$ROOT" && cargo build --release -p petrel -q)
PETREL="$ROOT/target/release/petrel"
mvn -q -B -f "$ROOT/compat/java/pom.xml" dependency:build-classpath -Dmdep.includeScope=runtime \
  "-Dmdep.outputFile=$WORK/cp.txt" >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log" >&2; exit 1; }
CP="$(cat "$WORK/cp.txt")"
mkdir -p "$WORK/classes" "$WORK/home"
javac -nowarn -cp "$CP" -d "$WORK/classes" "$ROOT/compat/java/bench/CompareBench.java" \
  "$ROOT/compat/java/bench/GrpcBench.java" 2>&1 | grep -v '^Note: ' || true
J=(java -Xms1g -Xmx1g "-Duser.home=$WORK/home" -cp "$WORK/classes:$CP")

NS=127.0.0.1:29876; BR=127.0.0.1:20911; GRPC=127.0.0.1:28081
start() {
  rm -rf "$WORK/store"
  "$PETREL" serve --data-dir "$WORK/store" --namesrv-listen "$NS" --broker-listen "$BR" \
    --grpc-listen "$GRPC" --console-listen off >"$WORK/petrel.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do
    "$PETREL" admin clusterList -n "$NS" 2>/dev/null | grep -q 20911 && break; sleep 0.1
  done
  "$PETREL" admin updateTopic -n "$NS" -c DefaultCluster -t BenchT -r 8 -w 8 >/dev/null
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
record() { tee -a "$WORK/results.jsonl"; }

: >"$WORK/results.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  log "round $r: remoting produce"; start
  "${J[@]}" CompareBench produce "$NS" BenchT 64 1024 1 5 15 | sed 's/"mode":"produce"/"mode":"remoting_produce"/' | record; stop
  log "round $r: gRPC produce"; start
  "${J[@]}" GrpcBench produce "$GRPC" BenchT 64 1024 5 15 | record; stop
  log "round $r: remoting consume of $BACKLOG"; start
  "$PETREL" bench produce -n "$NS" -t BenchT --threads 16 --batch 32 --count "$BACKLOG" >/dev/null 2>&1
  "${J[@]}" CompareBench consume "$NS" BenchT "g_remoting_$r" "$BACKLOG" 5 | sed 's/"mode":"consume"/"mode":"remoting_consume"/' | record
  log "round $r: gRPC consume of $BACKLOG"
  "${J[@]}" GrpcBench consume "$GRPC" BenchT "g_grpc_$r" "$BACKLOG" 8 | record; stop
done
python3 - "$WORK/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for mode in ["remoting_produce", "grpc_produce", "remoting_consume", "grpc_consume"]:
    v = [r["msgs_per_sec"] for r in rows if r.get("mode") == mode]
    if v:
        print(f"{mode:18} median {statistics.median(v):>9,.0f} msgs/s  runs {', '.join(f'{x:,.0f}' for x in v)}")
PY
