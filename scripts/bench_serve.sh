#!/usr/bin/env bash
# Runs `petrel bench produce` against a fresh release `petrel serve`, RUNS times, one new
# server and data dir per run, and prints msgs/s and latency of each run (docs/benchmarks.md).
#
# usage: scripts/bench_serve.sh single|batch|async [RUNS] [extra --set KEY=VALUE ...]
#   FLUSH=SYNC_FLUSH scripts/bench_serve.sh batch 3
# Needs `cargo build --release -p petrel` first. Ports are random in 20000-33000.
set -euo pipefail
MODE=${1:?single|batch|async}; RUNS=${2:-3}; shift $(( $# >= 2 ? 2 : 1 ))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/target/release/petrel
case $MODE in
  single) ARGS=(--threads 64) ;;
  batch) ARGS=(--threads 16 --batch 32) ;;
  async) ARGS=(--threads 8 --async --inflight 16) ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
SETS=(--set "flushDiskType=${FLUSH:-ASYNC_FLUSH}")
for kv in "$@"; do SETS+=(--set "$kv"); done
for _ in $(seq 1 "$RUNS"); do
  D=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bench.XXXXXX")
  NS=$((20000 + RANDOM % 10000)); BR=$((NS + 3000))
  "$B" serve --data-dir "$D" --namesrv-listen "127.0.0.1:$NS" --broker-listen "127.0.0.1:$BR" \
    "${SETS[@]}" >"$D.log" 2>&1 &
  P=$!
  for _ in $(seq 1 100); do (echo >"/dev/tcp/127.0.0.1/$BR") 2>/dev/null && break; sleep 0.1; done
  "$B" bench produce -n "127.0.0.1:$NS" -t BenchT "${ARGS[@]}" --duration 10 --json 2>/dev/null |
    python3 -c "import json,sys; d=json.load(sys.stdin); print('${FLUSH:-ASYNC_FLUSH} $MODE', round(d['msgs_per_sec']), 'msgs/s', d['latency_us'])"
  kill "$P"; wait "$P" 2>/dev/null || true
  rm -rf "$D" "$D.log"
done
