#!/usr/bin/env bash
# Failover time with real processes (docs/benchmarks.md, issue 13). Not part of CI.
#
#   scripts/bench-failover.sh [KILLS]     (default 20)
#
# Runs crates/petrel/tests/failover.rs with PETREL_FAILOVER_ROUNDS=KILLS on a release build:
# three `petrel controller`s, a name server, three controller-mode brokers (allAckInSyncStateSet,
# controllerHeartBeatTimeoutMills=5000), a petrel-client producer sending sync 1-message sends
# (routes refreshed every 200 ms). Each round SIGKILLs the master, measures the time to the
# first SEND_OK on the new master, restarts the old master (it cuts and follows) and waits for
# the SyncStateSet to hold all three again. Checks that no acknowledged message was lost.
# Prints each failover time and the p50/max.
set -euo pipefail
KILLS=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PETREL_FAILOVER_ROUNDS="$KILLS"
cargo test --release -p petrel --test failover -- --nocapture 2>&1 \
  | grep -E "^failover|failover times|sends acknowledged|test result|panicked|lost"
