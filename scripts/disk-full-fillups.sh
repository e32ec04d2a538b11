#!/usr/bin/env bash
# Disk fill-ups against a release build (issue 16; figures in docs/reliability.md).
#
# Each round mounts a 96 MiB tmpfs, writes a filler file of 24 to 36 MiB on it (3 MiB more each round, modulo 5, so the disk fills at different points of a segment) and starts
# `petrel serve` with its store beside it (16 MiB CommitLog files, SYNC_FLUSH); 8 producers
# send 4 KiB messages until each is refused with "disk full". Then the round checks that the
# server is alive, reads every queue, deletes the filler, sends 50 more messages (they must
# succeed without a restart), kills the server with SIGKILL, restarts it and reads every queue
# again. It prints, per round: crash, acknowledged sends, "disk full" refusals and what refused
# (the watermark, `diskSpaceWarningLevelRatio`, or ENOSPC reserving the next segment), acknowledged
# messages consumed after the restart, lost (acknowledged, not consumed), whether writes
# resumed, other send failures; then a summary. Exits non-zero if a round crashed, lost an
# acknowledged message or did not resume.
#
# The rounds are `fill_ups_benchmark` in crates/petrel/tests/disk_full.rs (the suite runs one
# smaller round of the same code); the harness is a debug test binary, the server the release
# build. Needs root (mount -t tmpfs).
#
# Usage: scripts/disk-full-fillups.sh [N=20]
# Server log (stderr of every round): $LOG (default /tmp/disk-full-fillups.log).
set -euo pipefail

N=${1:-20}
LOG=${LOG:-/tmp/disk-full-fillups.log}
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "disk-full-fillups: must run as root (each round mounts a tmpfs)" >&2
  exit 1
fi

WORK=$(mktemp -d /tmp/petrel-fillups.XXXXXX)
cleanup() {
  # The harness unmounts its tmpfs when a round ends; this catches a harness that was killed.
  { grep " $WORK/" /proc/mounts || true; } | cut -d' ' -f2 | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release -p petrel
BIN=$(pwd)/${CARGO_TARGET_DIR:-target}/release/petrel
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
TMPDIR=$WORK PETREL_BIN=$BIN PETREL_FILLUPS=$N RUST_LOG=warn \
  cargo test -p petrel --test disk_full -- --ignored --nocapture --exact fill_ups_benchmark \
  2>"$LOG" | grep -v -e '^running ' -e '^test ' -e '^$' -e '^successes' || {
  echo "disk-full-fillups: failed; see $LOG" >&2
  tail -20 "$LOG" >&2
  exit 1
}
