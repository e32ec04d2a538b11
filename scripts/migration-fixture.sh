#!/usr/bin/env bash
# Regenerates the Apache-written store fixture of crates/petrel-store/tests/fixtures/.
#
#   scripts/migration-fixture.sh [OUT]   (default crates/petrel-store/tests/fixtures/apache-5.5.0)
#
# Apache RocketMQ 5.5.0 (scripts/apache-rocketmq.sh) with tiny files (64 KiB CommitLog
# segments, 100-entry ConsumeQueue segments, a 64-slot 512-entry IndexFile) is written by
# compat/java/migration/Migration.java (2,000-byte bodies, so the CommitLog spans two segments
# and has a blank marker) and stopped cleanly. The store is copied without what Petrel does not
# read (RocketMQ's timerwheel and timerlog/, rocksdbstore/, compaction/, .bak files, metrics),
# with the manifest the writer kept (message ids, queue offsets, committed offsets).
# The sizes to open it with are in OUT/README.md. Needs Java 17 and Maven.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/crates/petrel-store/tests/fixtures/apache-5.5.0}"
NS_ADDR="127.0.0.1:${APACHE_NAMESRV_PORT:-19876}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/petrel-fixture.XXXXXX")"
APACHE="$WORK/apache"
trap 'for f in "$APACHE"/broker.pid "$APACHE"/namesrv.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done; rm -rf "$WORK"' EXIT

mvn -q -B -f "$ROOT/compat/java/pom.xml" dependency:build-classpath -Dmdep.includeScope=runtime \
  "-Dmdep.outputFile=$WORK/classpath.txt" >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log" >&2; exit 1; }

APACHE_RMQ_DIR="$APACHE" "$ROOT/scripts/apache-rocketmq.sh" start "$APACHE" \
  mappedFileSizeCommitLog=65536 mappedFileSizeConsumeQueue=2000 maxHashSlotNum=64 \
  maxIndexNum=512 maxMessageSize=16384
java -Duser.home="$WORK/home" -Dmigration.bodyBytes=2000 -cp "$(cat "$WORK/classpath.txt")" \
  "$ROOT/compat/java/migration/Migration.java" write "$NS_ADDR" "$WORK/manifest.properties" 2>&1 | grep -v '^Note: '
for p in broker namesrv; do
  pid="$(cat "$APACHE/$p.pid")"; kill "$pid"
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  rm -f "$APACHE/$p.pid"
done
STORE="$APACHE/store"
[ ! -f "$STORE/abort" ] || { echo "Apache did not stop cleanly" >&2; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT/store/config"
cp -r "$STORE/commitlog" "$STORE/consumequeue" "$STORE/index" "$STORE/checkpoint" "$OUT/store/"
for f in topics.json subscriptionGroup.json consumerOffset.json delayOffset.json timercheck; do
  cp "$STORE/config/$f" "$OUT/store/config/"
done
grep -v '^#' "$WORK/manifest.properties" | sort >"$OUT/manifest.properties"
cat >"$OUT/README.md" <<EOF
# A store written by Apache RocketMQ 5.5.0

Written by \`scripts/migration-fixture.sh\` (regenerate with it; do not edit). Apache RocketMQ
5.5.0's broker, with

    mappedFileSizeCommitLog=65536
    mappedFileSizeConsumeQueue=2000
    maxHashSlotNum=64
    maxIndexNum=512
    maxMessageSize=16384

was written by \`compat/java/migration/Migration.java write\` (Apache's 5.5.0 Java client, 2,000-byte
bodies) and stopped cleanly. \`manifest.properties\` is what the writer recorded (unique and
offset message ids, queue offsets, the offsets \`mig_group\` committed). Left out, because Petrel
does not read them: RocketMQ's timer wheel and log (\`timerwheel\`, \`timerlog/\`), \`rocksdbstore/\`,
\`compaction/\`, the \`.bak\` copies and the metrics files under \`config/\`.
EOF
du -sh "$OUT"
echo "fixture written to $OUT"
