#!/usr/bin/env bash
# The test suite, as CI runs it, from a fresh clone: provisions what the tests need, then runs
#   1. cargo test --workspace  (unit, property, crash-recovery, interop with rocketmq-client-rust;
#      the Redis dedup store is tested against a real redis-server each test starts itself)
#   2. the Java compatibility suite: Apache's RocketMQ Java clients 4.9.8 and 5.5.0 and Apache's
#      mqadmin against the petrel binary built in step 1 (scripts/java-compat.sh petrel)
#   3. the migration test: Apache RocketMQ 5.5.0 (from Maven Central) writes a store, Petrel
#      serves it to Apache's Java client (scripts/migration-test.sh clean)
#   4. the Python suite: the official 5.x Python client (rocketmq-python-client from PyPI,
#      gRPC) against petrel (scripts/python-compat.sh)
#
#   scripts/test.sh            everything
#   scripts/test.sh --rust     step 1 only (no Java or Maven needed)
#   scripts/test.sh --java     steps 2 to 4 only (after step 1 built target/debug/petrel)
#
# Provisioning: redis-server, chromium and chromium-driver (the web console's browser tests)
# from Debian's packages (apt-get, as root or with sudo) when they are not on PATH; Java 17
# and Maven must be on PATH for step 2 (this project's machines have them; Maven downloads the
# clients from Maven Central on the first run). Root is needed for
# crates/petrel/tests/disk_full.rs, which mounts small tmpfs disks, and for
# crates/petrel/tests/partition.rs, which cuts links between network namespaces (both fail
# saying so, as CI runs as root). Nothing is skipped
# silently: a missing tool is an error that says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

RUST=1
JAVA=1
case "${1:-}" in
  --rust) JAVA=0 ;;
  --java) RUST=0 ;;
  "") ;;
  *) echo "usage: $0 [--rust|--java]" >&2; exit 2 ;;
esac

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "test.sh: '$*' needs root; run it as root or install the package by hand" >&2; exit 1
  fi
}

echo "== provisioning"
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server (Debian package) for the Redis dedup-store tests"
  export DEBIAN_FRONTEND=noninteractive
  (need_root apt-get update -qq && need_root apt-get install -y -qq redis-server) >/dev/null ||
    { echo "test.sh: could not install redis-server; install it (apt-get install redis-server) and rerun" >&2; exit 1; }
fi
redis-server --version
if [ "$RUST" = 1 ] && { ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; }; then
  echo "installing chromium and chromium-driver (Debian packages) for the web console's browser tests"
  export DEBIAN_FRONTEND=noninteractive
  (need_root apt-get update -qq && need_root apt-get install -y -qq chromium chromium-driver) >/dev/null ||
    { echo "test.sh: could not install chromium; install it (apt-get install chromium chromium-driver) and rerun" >&2; exit 1; }
fi
if [ "$RUST" = 1 ]; then chromedriver --version; fi
if [ "$RUST" = 1 ] && ! command -v ip >/dev/null 2>&1; then
  echo "installing iproute2 (Debian package) for the network-partition test (network namespaces)"
  export DEBIAN_FRONTEND=noninteractive
  (need_root apt-get update -qq && need_root apt-get install -y -qq iproute2) >/dev/null ||
    { echo "test.sh: could not install iproute2; install it (apt-get install iproute2) and rerun" >&2; exit 1; }
fi
if [ "$JAVA" = 1 ]; then
  for tool in java mvn; do
    command -v "$tool" >/dev/null ||
      { echo "test.sh: the Java suites need '$tool' (Java 17 and Maven); install it or run '$0 --rust'" >&2; exit 1; }
  done
fi

# The tests' stores go to a scratch TMPDIR (tmpfs when it has room): see scripts/lib/scratch.sh.
# shellcheck source=scripts/lib/scratch.sh
. scripts/lib/scratch.sh

if [ "$RUST" = 1 ]; then
  echo "== cargo test --workspace"
  cargo test --workspace
fi

if [ "$JAVA" = 1 ]; then
  cargo build -p petrel
  echo "== Java compatibility suite against petrel (scripts/java-compat.sh petrel)"
  PETREL_BIN="$PWD/target/debug/petrel" scripts/java-compat.sh petrel
  echo "== migration from an Apache RocketMQ store (scripts/migration-test.sh clean)"
  PETREL_BIN="$PWD/target/debug/petrel" scripts/migration-test.sh clean
  echo "== Python 5.x client against petrel (scripts/python-compat.sh)"
  PETREL_BIN="$PWD/target/debug/petrel" scripts/python-compat.sh
fi
echo "== all tests passed"
