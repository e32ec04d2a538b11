#!/usr/bin/env bash
# Soak: one `petrel serve` (release) under mixed load for DURATION seconds, sampling its memory,
# descriptors and threads every INTERVAL seconds (docs/reliability.md, issue 16). Not part of CI.
#
#   DURATION=3600 scripts/soak.sh
#
# Load, all at once:
#   - a producer at RATE msgs/s (default 4,000), 1 KiB, with keys (IndexFile work);
#   - a steady push consumer (group soak_steady);
#   - a lagging push consumer (group soak_lagging): runs 60 s every 300 s, so it falls minutes
#     behind and catches up from disk each time;
#   - a POP consumer (the official Python 5.x client over gRPC, SimpleConsumer) that acks 90 %
#     and lets 10 % come back through the retry topic (needs scripts/python-compat.sh's venv);
#   - connection churn: an admin command every INTERVAL.
# Output in $SOAK_DIR (default a temp dir): samples.csv (elapsed_s, rss_kib, rss_anon_kib,
# rss_file_kib, fds, threads, store_mib) and the last lines of every load generator.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-3600}; INTERVAL=${INTERVAL:-30}; RATE=${RATE:-4000}
DIR=${SOAK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/petrel-soak.XXXXXX")}
P=$ROOT/target/release/petrel
VENV=$ROOT/target/python-compat/venv
[ -x "$P" ] || { echo "soak: build first: cargo build --release -p petrel" >&2; exit 2; }
[ -x "$VENV/bin/python" ] || { echo "soak: run scripts/python-compat.sh once (it makes the Python venv)" >&2; exit 2; }
mkdir -p "$DIR"
NS=127.0.0.1:39876; BR=127.0.0.1:30911; GRPC=127.0.0.1:38081
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$P" serve --data-dir "$DIR/store" --namesrv-listen "$NS" --broker-listen "$BR" --grpc-listen "$GRPC" \
  --console-listen off >"$DIR/petrel.log" 2>&1 &
SERVER=$!; PIDS+=("$SERVER")
for _ in $(seq 1 200); do "$P" admin clusterList -n "$NS" 2>/dev/null | grep -q 30911 && break; sleep 0.1; done
"$P" admin updateTopic -n "$NS" -c DefaultCluster -t SoakT -r 8 -w 8 >/dev/null
"$P" admin updateTopic -n "$NS" -c DefaultCluster -t SoakPop -r 4 -w 4 >/dev/null

"$P" bench produce -n "$NS" -t SoakT --rate "$RATE" --threads 8 --keys --duration "$DURATION" >"$DIR/produce.log" 2>&1 &
PIDS+=($!)
"$P" bench produce -n "$NS" -t SoakPop --rate 500 --threads 2 --duration "$DURATION" >"$DIR/produce-pop.log" 2>&1 &
PIDS+=($!)
"$P" bench consume -n "$NS" -t SoakT -g soak_steady --duration "$DURATION" >"$DIR/steady.log" 2>&1 &
PIDS+=($!)
( end=$((SECONDS + DURATION))
  while [ $SECONDS -lt $end ]; do
    sleep 240; [ $SECONDS -lt $end ] || break
    "$P" bench consume -n "$NS" -t SoakT -g soak_lagging --duration 60 >>"$DIR/lagging.log" 2>&1 || true
  done ) &
PIDS+=($!)
PETREL_GRPC="$GRPC" DURATION="$DURATION" "$VENV/bin/python" - >"$DIR/pop.log" 2>&1 <<'PY' &
import logging, os, random, time
logging.disable(logging.CRITICAL)
from rocketmq import ClientConfiguration, Credentials, FilterExpression, SimpleConsumer
c = SimpleConsumer(ClientConfiguration(os.environ["PETREL_GRPC"], Credentials(), request_timeout=10),
                   "soak_pop", {"SoakPop": FilterExpression()}, await_duration=5)
c.startup()
end = time.time() + int(os.environ["DURATION"])
received = acked = 0
while time.time() < end:
    try:
        for m in c.receive(32, 15):
            received += 1
            if random.random() < 0.9:
                c.ack(m); acked += 1
    except Exception as e:
        print("receive error:", e, flush=True)
        time.sleep(1)
print(f"pop received {received} acked {acked}", flush=True)
c.shutdown()
PY
PIDS+=($!)

echo "elapsed_s,rss_kib,rss_anon_kib,rss_file_kib,fds,threads,store_mib" >"$DIR/samples.csv"
start=$SECONDS
while [ $((SECONDS - start)) -lt "$DURATION" ]; do
  kill -0 "$SERVER" 2>/dev/null || { echo "soak: petrel died; see $DIR/petrel.log" >&2; exit 1; }
  st=/proc/$SERVER/status
  rss=$(awk '/^VmRSS/{print $2}' "$st"); anon=$(awk '/^RssAnon/{print $2}' "$st"); file=$(awk '/^RssFile/{print $2}' "$st")
  thr=$(awk '/^Threads/{print $2}' "$st"); fds=$(ls "/proc/$SERVER/fd" | wc -l)
  store=$(du -sm "$DIR/store" | cut -f1)
  echo "$((SECONDS - start)),$rss,$anon,$file,$fds,$thr,$store" >>"$DIR/samples.csv"
  "$P" admin consumerProgress -n "$NS" >/dev/null 2>&1 || true
  sleep "$INTERVAL"
done
sleep 5
python3 - "$DIR/samples.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for k in ["rss_anon_kib", "rss_kib", "fds", "threads", "store_mib"]:
    v = [int(r[k]) for r in rows]
    print(f"{k:14} first {v[0]:>10,}  max {max(v):>10,}  last {v[-1]:>10,}")
PY
for f in produce produce-pop steady lagging pop; do echo "--- $f"; tail -n 3 "$DIR/$f.log"; done
echo "soak: data in $DIR"
