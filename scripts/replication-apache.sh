#!/usr/bin/env bash
# A Petrel slave following an Apache RocketMQ master (classic HA, issue 12).
#
# Starts Apache RocketMQ (scripts/apache-rocketmq.sh: name server + broker-a as SYNC_MASTER with
# inSyncReplicas=2, so that every send waits for the Petrel slave; ports 25876/26911/26912
# unless APACHE_NAMESRV_PORT/APACHE_BROKER_PORT say otherwise), then a Petrel `broker` with
# brokerRole=SLAVE, brokerId=1, brokerName=broker-a registered with Apache's name server (it learns the master's haServerAddr from the
# registration answer). Sends COUNT messages with `petrel bench produce` through Apache's name
# server, waits until the slave acknowledged the master's end (`petrel admin haStatus` on the
# Apache master), then checks that the slave's CommitLog is byte-identical to the master's up to
# that end and that the slave copied the topic config (SlaveSynchronize). Kills the Apache broker
# (-9) and consumes every message from the Petrel slave with `petrel bench consume`.
#
# Usage: scripts/replication-apache.sh [COUNT=20000]
# PETREL_BIN (default $CARGO_TARGET_DIR/release/petrel), needs Java 17 and Maven.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT=${1:-20000}
BIN=${PETREL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/petrel}
TMP=${TMPDIR:-/dev/shm}
WORK=$(mktemp -d "$TMP/petrel-repl-apache.XXXXXX")
export APACHE_RMQ_DIR="$WORK/apache"
# Ports of their own (the Java suite uses 19876/20911 and others), below the ephemeral range.
export APACHE_NAMESRV_PORT=${APACHE_NAMESRV_PORT:-25876}
export APACHE_BROKER_PORT=${APACHE_BROKER_PORT:-26911}
NS=127.0.0.1:$APACHE_NAMESRV_PORT
MASTER=127.0.0.1:$APACHE_BROKER_PORT
# Apache's segment size in scripts/apache-rocketmq.sh: the slave must cut files where the
# master does for the files to compare.
SEGMENT=134217728
SLAVE_PID=

cleanup() {
  local rc=$?
  if [ "$rc" != 0 ] && [ -f "$WORK/slave.err" ]; then
    echo "--- the Petrel slave's warnings:" >&2
    grep -v 'Connection refused\|pull failed' "$WORK/slave.err" | tail -n 20 >&2 || true
  fi
  [ -n "$SLAVE_PID" ] && kill "$SLAVE_PID" 2>/dev/null && wait "$SLAVE_PID" 2>/dev/null
  "$ROOT/scripts/apache-rocketmq.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for port in "${NS#*:}" "${MASTER#*:}" $(( ${MASTER#*:} + 1 )); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use (another Apache or test?): set APACHE_NAMESRV_PORT/APACHE_BROKER_PORT" >&2
    exit 1
  fi
done
"$ROOT/scripts/apache-rocketmq.sh" start brokerRole=SYNC_MASTER inSyncReplicas=2

mkdir -p "$WORK/slave"
"$BIN" broker --listen 127.0.0.1:0 --namesrv "$NS" --data-dir "$WORK/slave" \
  --set brokerName=broker-a --set brokerRole=SLAVE --set brokerId=1 \
  --set mappedFileSizeCommitLog=$SEGMENT --set registerNameServerPeriod=10000 \
  >"$WORK/slave.out" 2>"$WORK/slave.err" &
SLAVE_PID=$!
for _ in $(seq 600); do grep -q '^petrel ready' "$WORK/slave.out" && break; sleep 0.1; done
SLAVE=$(grep -m1 -o 'listening on [0-9.:]*' "$WORK/slave.out" | awk '{print $3}')
echo "petrel slave $SLAVE following Apache master $MASTER"

ha() { "$BIN" admin -n "$NS" --json haStatus -b "$1"; }
connected=
for _ in $(seq 600); do
  if ha "$MASTER" 2>/dev/null | grep -q '"slaveAckOffset"'; then connected=1; break; fi
  sleep 0.2
done
[ -n "$connected" ] || { echo "the slave never connected"; tail "$WORK/slave.err"; exit 1; }

"$BIN" bench produce -n "$NS" -t ReplApache --count "$COUNT" --threads 16 --size 512 --json \
  | tee "$WORK/produce.json"
echo

end=
for _ in $(seq 600); do
  read -r end ack < <(ha "$MASTER" | python3 -c '
import json, sys
d = next(iter(json.load(sys.stdin).values()))
c = d["haConnectionInfo"]
print(d["masterCommitLogMaxOffset"], c[0]["slaveAckOffset"] if c else -1)')
  [ "$end" = "$ack" ] && break
  sleep 0.2
done
[ "$end" = "$ack" ] || { echo "the slave did not catch up: master $end, slave $ack"; exit 1; }
echo "Apache master end $end; Petrel slave acknowledged $ack"
ha "$SLAVE" | tee "$WORK/slave-ha.json"
echo

python3 - "$APACHE_RMQ_DIR/store/commitlog" "$WORK/slave/commitlog" "$end" <<'EOF'
import os, sys
m_dir, s_dir, end = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(n for n in os.listdir(m_dir) if n.isdigit() and int(n) < end)
assert names, "no master files"
for n in names:
    start = int(n)
    length = min(end - start, os.path.getsize(os.path.join(m_dir, n)))
    with open(os.path.join(m_dir, n), "rb") as f:
        m = f.read(length)
    with open(os.path.join(s_dir, n), "rb") as f:
        s = f.read(length)
    if m != s:
        first = next(i for i in range(min(len(m), len(s))) if m[i] != s[i]) if len(m) == len(s) else min(len(m), len(s))
        sys.exit(f"{n}: differs at byte {first} (master {len(m)} bytes, slave {len(s)})")
print(f"CommitLog byte-identical: {len(names)} file(s), {end} bytes")
EOF

synced=
for _ in $(seq 150); do
  # SlaveSynchronize runs every 10 s; the slave persists what it copied.
  if grep -qs '"ReplApache"' "$WORK/slave/config/topics.json"; then synced=1; break; fi
  sleep 0.2
done
[ -n "$synced" ] || { echo "the slave did not copy the topic config (SlaveSynchronize)"; exit 1; }
echo "the slave copied the topic config and serves the topic"

kill -9 "$(cat "$APACHE_RMQ_DIR/broker.pid")"
echo "Apache master killed (-9); consuming from the Petrel slave"
"$BIN" bench consume -n "$NS" -t ReplApache --count "$COUNT" --duration 120 --from-first --json \
  | tee "$WORK/consume.json"
echo
python3 - "$WORK/produce.json" "$WORK/consume.json" <<'EOF'
import json, sys
p, c = (json.load(open(f)) for f in sys.argv[1:])
sent = p["messages"] - sum(p.get("errors", {}).values())
got = c.get("messages", 0)
print(f"sent {sent}, consumed from the slave {got}")
sys.exit(0 if got >= sent else 1)
EOF
echo "OK: a Petrel slave followed Apache RocketMQ's master byte for byte"
