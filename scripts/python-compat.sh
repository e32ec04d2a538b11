#!/usr/bin/env bash
# The Python compatibility suite: the official RocketMQ 5.x Python client
# (rocketmq-python-client from PyPI, gRPC) against a real `petrel serve`.
#
#   scripts/python-compat.sh
#
# Environment: PETREL_BIN (default: builds target/debug/petrel), PYTHON (default python3).
# Installs the client and pytest into a virtualenv under target/python-compat (once), starts
# Petrel on free ports in a scratch data dir, runs compat/python, stops Petrel. Exits non-zero
# if a test fails or Petrel does not start.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
VENV="$ROOT/target/python-compat/venv"
command -v "$PY" >/dev/null || { echo "python-compat: needs $PY (3.9+) on PATH" >&2; exit 2; }

if [ ! -x "$VENV/bin/pytest" ] || ! "$VENV/bin/pip" show rocketmq-python-client >/dev/null 2>&1; then
  echo "python-compat: installing compat/python/requirements.txt into $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$ROOT/compat/python/requirements.txt"
fi

BIN="${PETREL_BIN:-}"
if [ -z "$BIN" ]; then
  (cd "$ROOT" && cargo build -q -p petrel)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/petrel"
fi

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
NS_PORT=$(free_port); BROKER_PORT=$(free_port); GRPC_PORT=$(free_port)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/python-compat.XXXXXX")"
PETREL_PID=""
cleanup() {
  [ -n "$PETREL_PID" ] && kill "$PETREL_PID" 2>/dev/null && wait "$PETREL_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve --data-dir "$WORK/data" --namesrv-listen "127.0.0.1:$NS_PORT" \
  --broker-listen "127.0.0.1:$BROKER_PORT" --grpc-listen "127.0.0.1:$GRPC_PORT" \
  --console-listen off >"$WORK/petrel.log" 2>&1 &
PETREL_PID=$!
for _ in $(seq 1 100); do
  if "$BIN" admin clusterList -n "127.0.0.1:$NS_PORT" 2>/dev/null | grep -q "$BROKER_PORT"; then break; fi
  kill -0 "$PETREL_PID" 2>/dev/null || { echo "python-compat: petrel exited:" >&2; tail -n 20 "$WORK/petrel.log" >&2; exit 1; }
  sleep 0.1
done
echo "python-compat: petrel on 127.0.0.1:$NS_PORT (gRPC 127.0.0.1:$GRPC_PORT), client $("$VENV/bin/pip" show rocketmq-python-client | sed -n 's/^Version: //p')"
status=0
PETREL_GRPC="127.0.0.1:$GRPC_PORT" PETREL_NAMESRV="127.0.0.1:$NS_PORT" PETREL_BIN="$BIN" \
  timeout 900 "$VENV/bin/pytest" -q -s -p no:cacheprovider "$ROOT/compat/python" || status=$?
if [ "$status" != 0 ]; then echo "python-compat: failed; petrel log tail:" >&2; tail -n 30 "$WORK/petrel.log" >&2; fi
exit "$status"
