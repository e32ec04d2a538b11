#!/usr/bin/env bash
# An Apache RocketMQ slave following a Petrel master (classic HA, issue 12): the other direction
# of scripts/replication-apache.sh.
#
# Starts a Petrel name server and a Petrel SYNC_MASTER (brokerName broker-p, Apache's segment
# size), then Apache RocketMQ (scripts/apache-rocketmq.sh, its own name server on ports
# 27876/28911 unless APACHE_NAMESRV_PORT/APACHE_BROKER_PORT say otherwise) as
# brokerRole=SLAVE, brokerId=1, registered with Petrel's name server (APACHE_BROKER_NAMESRV).
# Sends COUNT messages to Petrel with `petrel bench produce`, waits until the Apache slave
# acknowledged the master's end (`petrel admin haStatus`, which also shows that SYNC_MASTER had
# a slave in sync), and checks that Apache's CommitLog is byte-identical to Petrel's.
#
# Usage: scripts/replication-apache-slave.sh [COUNT=20000]
# PETREL_BIN (default $CARGO_TARGET_DIR/release/petrel), needs Java 17 and Maven.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT=${1:-20000}
BIN=${PETREL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/petrel}
TMP=${TMPDIR:-/dev/shm}
WORK=$(mktemp -d "$TMP/petrel-repl-apache-slave.XXXXXX")
export APACHE_RMQ_DIR="$WORK/apache"
export APACHE_NAMESRV_PORT=${APACHE_NAMESRV_PORT:-27876}
export APACHE_BROKER_PORT=${APACHE_BROKER_PORT:-28911}
# Apache's segment size in scripts/apache-rocketmq.sh.
SEGMENT=134217728
PIDS=()

cleanup() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    echo "--- Apache slave log:" >&2
    tail -n 20 "$APACHE_RMQ_DIR/broker.out" >&2 2>/dev/null || true
    grep -i 'HAClient\|master' "$APACHE_RMQ_DIR/home/logs/rocketmqlogs/store.log" 2>/dev/null | tail -n 20 >&2 || true
  fi
  "$ROOT/scripts/apache-rocketmq.sh" stop >/dev/null 2>&1 || true
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for port in "$APACHE_NAMESRV_PORT" "$APACHE_BROKER_PORT" $((APACHE_BROKER_PORT + 1)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use: set APACHE_NAMESRV_PORT/APACHE_BROKER_PORT" >&2
    exit 1
  fi
done

# start NAME ARGS...: `petrel ARGS`, waits for `petrel ready`.
start() {
  local name=$1
  shift
  "$BIN" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  for _ in $(seq 600); do
    grep -q '^petrel ready' "$WORK/$name.out" && return
    sleep 0.1
  done
  echo "$name did not start: $(tail "$WORK/$name.err")" >&2
  exit 1
}

start ns namesrv --listen 127.0.0.1:0
NS=$(grep -m1 -o 'listening on [0-9.:]*' "$WORK/ns.out" | awk '{print $3}')
mkdir -p "$WORK/master"
start master broker --listen 127.0.0.1:0 --namesrv "$NS" --data-dir "$WORK/master" \
  --set brokerName=broker-p --set brokerRole=SYNC_MASTER --set mappedFileSizeCommitLog=$SEGMENT \
  --set autoCreateTopicEnable=true
MASTER=$(grep -m1 -o 'listening on [0-9.:]*' "$WORK/master.out" | awk '{print $3}')
HA=$(grep -m1 -o 'replication address [0-9.:]*' "$WORK/master.out" | awk '{print $3}')
echo "petrel SYNC_MASTER $MASTER, replication on $HA"

# Apache 5.5's slave ignores a configured haMasterAddress (it logs "connect to master null"),
# so it registers with Petrel's name server and learns the master from the answer, as a slave
# of an Apache master does.
APACHE_BROKER_NAMESRV="$NS" "$ROOT/scripts/apache-rocketmq.sh" start brokerName=broker-p \
  brokerId=1 brokerRole=SLAVE

ha() { "$BIN" admin -n "$NS" --json haStatus -b "$MASTER"; }
connected=
for _ in $(seq 600); do
  if ha 2>/dev/null | grep -q '"slaveAckOffset"'; then connected=1; break; fi
  sleep 0.2
done
[ -n "$connected" ] || { echo "the Apache slave never connected"; exit 1; }
echo "the Apache slave is connected"

"$BIN" bench produce -n "$NS" -t ReplToApache --count "$COUNT" --threads 16 --size 512 --json \
  | tee "$WORK/produce.json"
echo

end= ack=
for _ in $(seq 600); do
  read -r end ack < <(ha | python3 -c '
import json, sys
d = next(iter(json.load(sys.stdin).values()))
c = d["haConnectionInfo"]
print(d["masterCommitLogMaxOffset"], c[0]["slaveAckOffset"] if c else -1)')
  [ "$end" = "$ack" ] && break
  sleep 0.2
done
ha
echo
[ "$end" = "$ack" ] || { echo "the Apache slave did not catch up: master $end, slave $ack"; exit 1; }
echo "Petrel master end $end; Apache slave acknowledged $ack"

python3 - "$WORK/master/commitlog" "$APACHE_RMQ_DIR/store/commitlog" "$end" <<'EOF'
import os, sys
m_dir, s_dir, end = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(n for n in os.listdir(m_dir) if n.isdigit() and int(n) < end)
assert names, "no master files"
for n in names:
    length = min(end - int(n), os.path.getsize(os.path.join(m_dir, n)))
    with open(os.path.join(m_dir, n), "rb") as f:
        m = f.read(length)
    with open(os.path.join(s_dir, n), "rb") as f:
        s = f.read(length)
    if m != s:
        n_same = next((i for i in range(min(len(m), len(s))) if m[i] != s[i]), min(len(m), len(s)))
        sys.exit(f"{n}: differs at byte {n_same} (master {len(m)} bytes, slave {len(s)})")
print(f"CommitLog byte-identical: {len(names)} file(s), {end} bytes")
EOF
echo "OK: an Apache RocketMQ slave followed Petrel's master byte for byte"
