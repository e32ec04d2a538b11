#!/usr/bin/env bash
# Runs every fuzz target (petrel-protocol's decoders, the store's recovery) for a bounded time
# on the stable toolchain: cargo-fuzz needs nightly-only flags, which RUSTC_BOOTSTRAP=1 allows.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 25)
#
# Installs cargo-fuzz if missing (`cargo install cargo-fuzz --locked`, about 1 minute here).
# Each target starts from its committed seeds (crates/*/fuzz/seeds/<target>) plus what earlier
# runs found ($PETREL_FUZZ_WORK/corpus, default $TMPDIR/petrel-fuzz). A crash fails the run; its
# input is in crates/*/fuzz/artifacts/<target>/ and must become a regression test.
# PETREL_FUZZ_SKIP="a b" leaves targets out (e.g. one whose known crash awaits a fix).
set -euo pipefail

seconds=${1:-25}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${PETREL_FUZZ_WORK:-${TMPDIR:-/tmp}/petrel-fuzz}
mkdir -p "$work"
# Scratch TMPDIR for the stores the store target opens (tmpfs when it has room; removed at exit):
# see scripts/lib/scratch.sh.
# shellcheck source=scripts/lib/scratch.sh
. "$root/scripts/lib/scratch.sh"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
# The store target opens stores in scratch directories here.
export PETREL_FUZZ_TMP="$TMPDIR/fuzz-stores"
mkdir -p "$PETREL_FUZZ_TMP"

# One target dir for both fuzz crates: their shared dependencies build once (disk and time).
fuzz_target_dir="$root/target/fuzz"

status=0
for crate in crates/petrel-protocol/fuzz crates/petrel-store/fuzz; do
    dir="$root/$crate"
    (cd "$dir" && cargo fuzz build -O --target-dir "$fuzz_target_dir")
    for target in $(cd "$dir" && cargo fuzz list); do
        if [[ " ${PETREL_FUZZ_SKIP:-} " == *" $target "* ]]; then
            echo "fuzz: $target skipped (PETREL_FUZZ_SKIP)"
            continue
        fi
        corpus="$work/corpus/$target"
        mkdir -p "$corpus"
        dirs=("$corpus")
        if [ -d "$dir/seeds/$target" ]; then
            dirs+=("$dir/seeds/$target")
        fi
        echo "fuzz: $target for ${seconds}s"
        log="$work/$target.log"
        if (cd "$dir" && cargo fuzz run -O --target-dir "$fuzz_target_dir" "$target" "${dirs[@]}" -- \
            -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1; then
            grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
        else
            grep -E 'panicked|ERROR|SUMMARY' "$log" || tail -20 "$log"
            echo "fuzz: $target FAILED: input in $dir/artifacts/$target/, log in $log"
            status=1
        fi
    done
done
exit $status
