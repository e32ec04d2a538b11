#!/usr/bin/env bash
# Runs `petrel bench produce` against a fresh release `petrel serve`, RUNS times, one new
# server and data dir per run, and prints msgs/s and latency of each run (docs/benchmarks.md).
#
# usage: scripts/bench_serve.sh single|batch|async|e2e [RUNS] [extra --set KEY=VALUE ...]
#   FLUSH=SYNC_FLUSH scripts/bench_serve.sh batch 3
#   RATE=20000 scripts/bench_serve.sh e2e 3      (produce at RATE msgs/s and consume at once)
# Needs `cargo build --release -p petrel` first. Ports are random in 20000-33000.
set -euo pipefail
MODE=${1:?single|batch|async|e2e}; RUNS=${2:-3}; shift $(( $# >= 2 ? 2 : 1 ))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/target/release/petrel
case $MODE in
  single) ARGS=(--threads 64) ;;
  batch) ARGS=(--threads 16 --batch 32) ;;
  async) ARGS=(--threads 8 --async --inflight 16) ;;
  e2e) ARGS=(--threads 16 --rate "${RATE:-20000}") ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
SETS=(--set "flushDiskType=${FLUSH:-ASYNC_FLUSH}")
for kv in "$@"; do SETS+=(--set "$kv"); done
for _ in $(seq 1 "$RUNS"); do
  D=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bench.XXXXXX")
  NS=$((20000 + RANDOM % 10000)); BR=$((NS + 3000))
  "$B" serve --data-dir "$D" --namesrv-listen "127.0.0.1:$NS" --broker-listen "127.0.0.1:$BR" --grpc-listen off \
    "${SETS[@]}" >"$D.log" 2>&1 &
  P=$!
  trap 'kill "$P" 2>/dev/null; rm -rf "$D" "$D.log"' EXIT
  for _ in $(seq 1 100); do (echo >"/dev/tcp/127.0.0.1/$BR") 2>/dev/null && break; sleep 0.1; done
  sleep 1 # the broker registers with the name server after its port opens
  CMD=produce; [ "$MODE" = e2e ] && CMD=e2e
  "$B" bench $CMD -n "127.0.0.1:$NS" -t BenchT "${ARGS[@]}" --duration 10 --json 2>/dev/null |
    python3 -c "import json,sys; d=json.load(sys.stdin); print('${FLUSH:-ASYNC_FLUSH} $MODE', round(d['msgs_per_sec']), 'msgs/s', {k: v for k, v in d.items() if 'latency' in k})"
  kill "$P"; wait "$P" 2>/dev/null || true
  rm -rf "$D" "$D.log"
done
