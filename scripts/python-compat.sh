#!/usr/bin/env bash
# The Python compatibility suite: the official RocketMQ 5.x Python client
# (rocketmq-python-client from PyPI, gRPC) against a real `petrel serve`.
#
#   scripts/python-compat.sh
#
# Environment: PETREL_BIN (default: builds target/debug/petrel), PYTHON (default python3).
# Installs the client and pytest into a virtualenv under target/python-compat (once); the
# suite (compat/python, its conftest.py) starts Petrel on free ports in a scratch data dir,
# kills and restarts it in one test, and stops it at the end. Exits non-zero if a test fails.
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
echo "python-compat: rocketmq-python-client $("$VENV/bin/pip" show rocketmq-python-client | sed -n 's/^Version: //p') against $("$BIN" --version)"
cd "$ROOT/compat/python"
PETREL_BIN="$BIN" timeout 900 "$VENV/bin/pytest" -q -s -p no:cacheprovider .
