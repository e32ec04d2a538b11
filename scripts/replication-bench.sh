#!/usr/bin/env bash
# SYNC_MASTER vs ASYNC_MASTER throughput and replication lag (docs/benchmarks.md).
#
# For each role and run: a name server, a master with that role and a slave (separate
# `petrel` processes on loopback, fresh data directories), then `petrel bench produce` for
# DURATION seconds while `petrel admin haStatus --json` samples the master every 200 ms. Prints
# one line per run (throughput, send latency, lag in bytes and ms at p50/p99 over the samples)
# and the medians per role.
#
# Usage: scripts/replication-bench.sh [RUNS=3] [DURATION=15] [THREADS=64] [SIZE=1024]
# PETREL_BIN=path/to/petrel (default target/release/petrel; build with
# `cargo build --release -p petrel`). Data in $BENCH_DIR (default /tmp; a run writes a few GB
# per broker, so not a RAM-backed tmpfs), removed after each run.
set -euo pipefail

RUNS=${1:-3}
DURATION=${2:-15}
THREADS=${3:-64}
SIZE=${4:-1024}
BIN=${PETREL_BIN:-${CARGO_TARGET_DIR:-target}/release/petrel}
TMP=${BENCH_DIR:-/tmp}
WORK=$(mktemp -d "$TMP/petrel-repl-bench.XXXXXX")
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME ARGS...: runs `petrel ARGS` with stdout in $WORK/NAME.out, waits for
# `petrel ready` (60 s at most) and sets ADDR to the address it listens on.
start() {
  local name=$1
  shift
  "$BIN" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  for _ in $(seq 600); do
    if grep -q '^petrel ready' "$WORK/$name.out"; then
      ADDR=$(grep -m1 -o 'listening on [0-9.:]*' "$WORK/$name.out" | awk '{print $3}')
      return
    fi
    sleep 0.1
  done
  echo "$name did not start: $(cat "$WORK/$name.err")" >&2
  exit 1
}

stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

one_run() {
  local role=$1 run=$2
  local dir="$WORK/$role-$run"
  mkdir -p "$dir/m" "$dir/s"
  local ns master
  start ns namesrv --listen 127.0.0.1:0
  ns=$ADDR
  start master broker --listen 127.0.0.1:0 --namesrv "$ns" --data-dir "$dir/m" \
    --set brokerName=bench --set brokerRole="$role" --set autoCreateTopicEnable=true
  master=$ADDR
  start slave broker --listen 127.0.0.1:0 --namesrv "$ns" --data-dir "$dir/s" \
    --set brokerName=bench --set brokerRole=SLAVE --set brokerId=1
  for _ in $(seq 300); do
    if "$BIN" admin -n "$ns" --json haStatus -b "$master" 2>/dev/null |
      grep -q '"slaveAckOffset"'; then break; fi
    sleep 0.1
  done
  : >"$dir/samples"
  (
    while true; do
      "$BIN" admin -n "$ns" --json haStatus -b "$master" 2>/dev/null | tr -d '\n' >>"$dir/samples" || true
      echo >>"$dir/samples"
      sleep 0.2
    done
  ) &
  local sampler=$!
  "$BIN" bench produce -n "$ns" -t ReplBench --duration "$DURATION" --threads "$THREADS" \
    --size "$SIZE" --json >"$dir/bench.json" 2>"$dir/bench.err"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  stop_all
  rm -rf "$dir/m" "$dir/s"
  python3 - "$role" "$run" "$dir/bench.json" "$dir/samples" <<'EOF'
import json, sys
role, run, bench, samples = sys.argv[1:]
b = json.load(open(bench))
diffs, behind = [], []
for line in open(samples):
    line = line.strip()
    if not line:
        continue
    try:
        doc = json.loads(line)
    except ValueError:
        continue
    for info in doc.values():
        for c in info.get("haConnectionInfo", []):
            diffs.append(c.get("diff", 0))
            behind.append(c.get("behindMillis", 0))
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else -1
rec = {
    "role": role, "run": int(run),
    "tps": b["msgs_per_sec"], "p50_us": b["latency_us"]["p50"], "p99_us": b["latency_us"]["p99"], "errors": b.get("errors"),
    "samples": len(diffs),
    "lag_bytes_p50": pct(diffs, 50), "lag_bytes_p99": pct(diffs, 99),
    "lag_ms_p50": pct(behind, 50), "lag_ms_p99": pct(behind, 99),
}
print(json.dumps(rec))
EOF
}

ROLES=(ASYNC_MASTER SYNC_MASTER)
: >"$WORK/results"
for run in $(seq "$RUNS"); do
  for role in "${ROLES[@]}"; do
    one_run "$role" "$run" | tee -a "$WORK/results"
  done
done
python3 - "$WORK/results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for role in ("ASYNC_MASTER", "SYNC_MASTER"):
    rs = [r for r in rows if r["role"] == role]
    if not rs:
        continue
    med = lambda k: statistics.median(r[k] for r in rs if r[k] is not None)
    print(f"{role}: median of {len(rs)} runs: {med('tps'):.0f} msgs/s; "
          f"lag p50 {med('lag_ms_p50')} ms / {med('lag_bytes_p50')} B, "
          f"p99 {med('lag_ms_p99')} ms / {med('lag_bytes_p99')} B; "
          f"runs: {[round(r['tps']) for r in rs]}")
EOF
