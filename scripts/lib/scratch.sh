# Sourced by scripts/test.sh and scripts/fuzz.sh: picks the scratch directory (TMPDIR) that the
# tests' stores live in, and removes it on exit.
#
# Why: a broker stops accepting writes when the disk holding its store is over
# diskSpaceWarningLevelRatio (90%) full, as RocketMQ's does, and a CI machine's disk can be that
# full once the build is done (it was: 91.2%, and three admin tests got SERVICE_NOT_AVAILABLE).
# The tmpfs at /dev/shm is used when it has room (the stores are small and short-lived); else
# $TMPDIR or /tmp. PETREL_TEST_TMPDIR=<dir> chooses the directory (kept after the run).
# shellcheck shell=bash

scratch_min_free_kib=$((4 * 1024 * 1024))

scratch_free_kib() { df -Pk "$1" 2>/dev/null | awk 'NR==2 {print $4}'; }
scratch_used_percent() { df -Pk "$1" 2>/dev/null | awk 'NR==2 {sub("%", "", $5); print $5}'; }

if [ -n "${PETREL_TEST_TMPDIR:-}" ]; then
  mkdir -p "$PETREL_TEST_TMPDIR"
else
  if [ -d /dev/shm ] && [ -w /dev/shm ] &&
     [ "$(scratch_free_kib /dev/shm || echo 0)" -ge "$scratch_min_free_kib" ]; then
    PETREL_TEST_TMPDIR=$(mktemp -d /dev/shm/petrel-tests.XXXXXX)
  else
    PETREL_TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/petrel-tests.XXXXXX")
  fi
  trap 'rm -rf "$PETREL_TEST_TMPDIR"' EXIT
fi
export TMPDIR="$PETREL_TEST_TMPDIR"
scratch_used=$(scratch_used_percent "$TMPDIR" || echo 0)
echo "scratch: TMPDIR=$TMPDIR (its filesystem is ${scratch_used}% used)"
if [ "${scratch_used:-0}" -ge 88 ]; then
  echo "scratch: warning: the disk holding $TMPDIR is ${scratch_used}% used; brokers refuse writes" \
       "above 90% (diskSpaceWarningLevelRatio). Free space or set PETREL_TEST_TMPDIR to a roomier disk." >&2
fi
