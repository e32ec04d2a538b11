#!/usr/bin/env bash
# Petrel and Apache RocketMQ side by side on this machine, with the same load generators
# (issue 17). Not part of CI: a full run takes about 15 minutes per round plus the store test.
#
#   scripts/compare-apache.sh [ROUNDS]        # default 3 rounds, then the large-store test
#
# Each round starts each system fresh (Petrel and Apache alternate which goes first), once with
# ASYNC_FLUSH and once with SYNC_FLUSH, and runs these phases against it:
#   j_1k      Apache's Java client (compat/java/bench/CompareBench.java): 64 threads, 1 KiB single sends
#   j_4k      the same with 4 KiB bodies
#   j_b32     16 threads sending batches of 32 × 1 KiB
#   p_1k      `petrel bench produce`: 64 senders, 1 KiB; p_b32: 16 senders, batches of 32
#   j_consume a new Java push consumer reads the j_1k backlog from its first offset
#   p_consume `petrel bench consume --from-first` reads the p_1k backlog
#   j_e2e     Java producer paced at half of this round's j_1k rate + push consumer: send-to-listener latency
#   j_e2e_fixed  the same at COMPARE_E2E_RATE (5,000) msgs/s for both systems
#   restart   kill -9 of the broker, then the time until a send is acknowledged again
#   (SYNC_FLUSH: j_1k and j_b32 only)
# For every phase it records the broker processes' CPU time (Apache: broker + name server
# JVMs; Petrel: the one `petrel serve`) and their peak RSS and anonymous memory (RssAnon).
# The large-store test (COMPARE_STORE_GIB, default 10; 0 skips it) fills each system's
# CommitLog one GiB at a time (throughput and CPU per GiB: the cost curve), drops the page
# cache, kill -9s the broker, times the restart, and reads the backlog back from disk.
#
# Environment: COMPARE_ONLY ("j_e2e_fixed restart sync ..."): run only these phases (the
# large-store test is governed by COMPARE_STORE_GIB alone); COMPARE_SECS (20) measured seconds per phase, COMPARE_WARMUP (5) unmeasured
# seconds before them (Java phases), COMPARE_DIR (target/compare-apache) for stores and
# results (needs disk space: 2 × COMPARE_STORE_GIB + ~6 GiB), APACHE_BROKER_HEAP (2g).
# Results: $COMPARE_DIR/results.jsonl, summarised by scripts/compare-apache-report.py into the
# Markdown table printed at the end (docs/benchmarks.md has one).
# Needs: Java 17 + Maven (Apache's jars and client come from Maven Central), a release build of
# Petrel (built here), python3, and root only for dropping the page cache (skipped otherwise).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-3}"
SECS="${COMPARE_SECS:-20}"
WARMUP="${COMPARE_WARMUP:-5}"
STORE_GIB="${COMPARE_STORE_GIB:-10}"
E2E_RATE="${COMPARE_E2E_RATE:-5000}"
WORK="${COMPARE_DIR:-$ROOT/target/compare-apache}"
OUT="$WORK/results.jsonl"
PETREL="$ROOT/target/release/petrel"
P_NS=127.0.0.1:29876
P_BR=127.0.0.1:30911
A_NS=127.0.0.1:19876
A_BR=127.0.0.1:20911
export APACHE_RMQ_DIR="$WORK/apache"
export APACHE_BROKER_HEAP="${APACHE_BROKER_HEAP:-2g}"
# runbroker.sh's flags for JDK 9+ (G1 tuning, no stack-trace elision), without -XX:+AlwaysPreTouch:
# pre-touching the heap would count all of it as used memory from the start.
export APACHE_BROKER_JVM_OPTS="-server -XX:G1HeapRegionSize=16m -XX:G1ReservePercent=25 -XX:InitiatingHeapOccupancyPercent=30 -XX:SoftRefLRUPolicyMSPerMB=0 -XX:-OmitStackTraceInFastThrow -XX:-UseLargePages"
# Apache's defaults would refuse sends on a disk over 90 % full and use 128 MiB segments in the
# helper script; the comparison runs both with 1 GiB segments, as both default to.
APACHE_KEYS=(mappedFileSizeCommitLog=1073741824)
# Both count the disk's used share as (size - available) / size; on a shared machine that can
# be near 90 % while tens of GiB are free, so both get the same high limits (apache-rocketmq.sh
# sets them for Apache).
PETREL_KEYS=(--set diskMaxUsedSpaceRatio=97 --set diskSpaceCleanForciblyRatio=98 --set diskSpaceWarningLevelRatio=99)

mkdir -p "$WORK"
log() { printf '%s compare: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
  [ -n "${PETREL_PID:-}" ] && kill -9 "$PETREL_PID" 2>/dev/null || true
  [ -n "${SAMPLER_PID:-}" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  "$ROOT/scripts/apache-rocketmq.sh" stop "$APACHE_RMQ_DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK/petrel-store"
}
trap cleanup EXIT

log "building Petrel (release) and the Java driver"
(cd "$ROOT" && cargo build --release -p petrel -q)
mvn -q -B -f "$ROOT/compat/java/pom.xml" dependency:build-classpath -Dmdep.includeScope=runtime \
  "-Dmdep.outputFile=$WORK/client-classpath.txt" >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log" >&2; exit 1; }
CP="$(cat "$WORK/client-classpath.txt")"
mkdir -p "$WORK/classes"
javac -nowarn -cp "$CP" -d "$WORK/classes" "$ROOT/compat/java/bench/CompareBench.java" 2>&1 | grep -v '^Note: ' || true
mkdir -p "$WORK/home"
JAVA_BENCH=(java -Xms1g -Xmx1g "-Duser.home=$WORK/home" -cp "$WORK/classes:$CP" CompareBench)

# --- the systems ---------------------------------------------------------------------------

SYS=""; NS=""; BR=""; FLUSH=""
petrel_launch() { # the store in $WORK/petrel-store as it is
  "$PETREL" serve --data-dir "$WORK/petrel-store" --namesrv-listen "$P_NS" --broker-listen "$P_BR" \
    --console-listen off --grpc-listen off --set "flushDiskType=$FLUSH" "${PETREL_KEYS[@]}" >>"$WORK/petrel.log" 2>&1 &
  PETREL_PID=$!
}

start_system() { # SYS FLUSH: a fresh store
  SYS="$1"; FLUSH="$2"
  if [ "$SYS" = petrel ]; then
    NS=$P_NS; BR=$P_BR
    rm -rf "$WORK/petrel-store"; : >"$WORK/petrel.log"
    petrel_launch
    wait_for_send "$(date +%s%N)" >/dev/null
  else
    NS=$A_NS; BR=$A_BR
    "$ROOT/scripts/apache-rocketmq.sh" start "$APACHE_RMQ_DIR" "flushDiskType=$FLUSH" "${APACHE_KEYS[@]}" >&2
  fi
  for t in T1K T4K TB32 TP1K TPB32 TE2E TRESTART TSTORE; do
    "$PETREL" admin updateTopic -n "$NS" -b "$BR" -t "$t" -r 8 -w 8 >/dev/null
  done
  wait_for_send "$(date +%s%N)" >/dev/null
  wait_idle
}

# Until the broker processes use under 10 % of a CPU over a second (at most 60 s): a new store
# pre-faults its first CommitLog segment (Petrel's warmMapedFileEnable) and a JVM compiles,
# which the first phase would otherwise pay for.
wait_idle() {
  local hz; hz=$(getconf CLK_TCK)
  for _ in $(seq 1 60); do
    local c0; c0=$(cpu_ticks); sleep 1
    [ $(( $(cpu_ticks) - c0 )) -lt $(( hz / 10 )) ] && return 0
  done
  log "$SYS still busy after 60 s; measuring anyway"
}

stop_system() {
  if [ "$SYS" = petrel ]; then
    kill "$PETREL_PID" 2>/dev/null || true; wait "$PETREL_PID" 2>/dev/null || true; PETREL_PID=""
    rm -rf "$WORK/petrel-store"
  else
    "$ROOT/scripts/apache-rocketmq.sh" stop "$APACHE_RMQ_DIR" >/dev/null
  fi
}

broker_pids() {
  if [ "$SYS" = petrel ]; then echo "$PETREL_PID"
  else cat "$APACHE_RMQ_DIR/broker.pid" "$APACHE_RMQ_DIR/namesrv.pid" 2>/dev/null; fi
}

# Prints the ms from START_NS (date +%s%N) until a one-message send to TRESTART is acknowledged.
wait_for_send() {
  local start="$1" deadline=$(( $(date +%s) + 600 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if "$PETREL" bench produce -n "$NS" -t TRESTART --threads 1 --count 1 --json 2>/dev/null |
        grep -q '"messages":1,'; then
      echo $(( ($(date +%s%N) - start) / 1000000 )); return 0
    fi
    sleep 0.05
  done
  log "no acknowledged send within 600 s ($SYS)"; return 1
}

# kill -9 of the broker (Petrel: the whole process), a restart on the same store, and the ms
# until a send is acknowledged again, in $WORK/restart.ms (not printed: PETREL_PID must be set
# in this shell, not in a command substitution's).
kill_and_restart() {
  if [ "$SYS" = petrel ]; then
    kill -9 "$PETREL_PID"; wait "$PETREL_PID" 2>/dev/null || true
    local t0; t0=$(date +%s%N); petrel_launch; wait_for_send "$t0" >"$WORK/restart.ms"
  else
    "$ROOT/scripts/apache-rocketmq.sh" kill-broker "$APACHE_RMQ_DIR"
    local t0; t0=$(date +%s%N)
    "$ROOT/scripts/apache-rocketmq.sh" start-broker "$APACHE_RMQ_DIR" >/dev/null 2>&1 &
    local launcher=$!
    wait_for_send "$t0" >"$WORK/restart.ms"; wait "$launcher" || true
  fi
}

# --- measuring -------------------------------------------------------------------------------

machine_busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
cpu_ticks() { local t=0 p; for p in $(broker_pids); do t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat") )); done; echo $t; }
mem_kib() { # "rss anon" summed over the broker processes
  local rss=0 anon=0 p
  for p in $(broker_pids); do
    rss=$(( rss + $(awk '/^VmRSS:/{print $2}' "/proc/$p/status") ))
    anon=$(( anon + $(awk '/^RssAnon:/{print $2}' "/proc/$p/status") ))
  done
  echo "$rss $anon"
}
start_sampler() { ( while true; do mem_kib; sleep 0.5; done ) >"$WORK/mem.samples" 2>/dev/null & SAMPLER_PID=$!; }
stop_sampler() { kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""; }

ROUND=0
# run_phase NAME COMMAND...: the command prints one JSON object as its last line.
run_phase() {
  local name="$1"; shift
  if [ -n "${COMPARE_ONLY:-}" ] && [[ " $COMPARE_ONLY " != *" $name "* ]]; then
    printf '{}'; return 0
  fi
  local hz; hz=$(getconf CLK_TCK)
  local c0; c0=$(cpu_ticks)
  local m0; m0=$(machine_busy_ticks)
  start_sampler
  local t0; t0=$(date +%s%N)
  local res
  res=$("$@" 2>"$WORK/phase.err" | tail -n 1) || true
  local t1; t1=$(date +%s%N)
  stop_sampler
  local c1; c1=$(cpu_ticks)
  local m1; m1=$(machine_busy_ticks)
  if [ -z "$res" ] || [ "${res:0:1}" != "{" ]; then
    log "phase $name on $SYS failed:"; tail -n 20 "$WORK/phase.err" >&2; res='{}'
  fi
  local peak; peak=$(awk 'BEGIN{r=0;a=0} {if($1>r)r=$1; if($2>a)a=$2} END{print r, a}' "$WORK/mem.samples")
  python3 - "$ROUND" "$SYS" "$FLUSH" "$name" "$res" "$(( c1 - c0 ))" "$hz" "$(( (t1 - t0) / 1000000 ))" $peak "$(( m1 - m0 ))" >>"$OUT" <<'PY'
import json, sys
r, sysname, flush, phase, res, ticks, hz, ms, rss, anon, machine = sys.argv[1:]
print(json.dumps({"round": int(r), "system": sysname, "flush": flush, "phase": phase,
                  "result": json.loads(res), "cpu_s": int(ticks) / int(hz), "wall_ms": int(ms),
                  "machine_cpu_s": int(machine) / int(hz),
                  "rss_peak_kib": int(rss), "anon_peak_kib": int(anon)}))
PY
  log "$SYS $FLUSH $name: $(printf '%s' "$res" | cut -c1-160)"
  printf '%s' "$res"
}
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get(sys.argv[2], 0))' "$1" "$2"; }
record() { # record NAME JSON: a figure measured without run_phase
  python3 -c 'import json,sys; print(json.dumps({"round": int(sys.argv[1]), "system": sys.argv[2], "flush": sys.argv[3], "phase": sys.argv[4], "result": json.loads(sys.argv[5])}))' \
    "$ROUND" "$SYS" "$FLUSH" "$1" "$2" >>"$OUT"
  log "$SYS $FLUSH $1: $2"
}

round_async() {
  local j1k
  j1k=$(run_phase j_1k "${JAVA_BENCH[@]}" produce "$NS" T1K 64 1024 1 "$WARMUP" "$SECS")
  run_phase j_4k "${JAVA_BENCH[@]}" produce "$NS" T4K 64 4096 1 "$WARMUP" "$SECS" >/dev/null
  run_phase j_b32 "${JAVA_BENCH[@]}" produce "$NS" TB32 16 1024 32 "$WARMUP" "$SECS" >/dev/null
  local p1k
  p1k=$(run_phase p_1k "$PETREL" bench produce -n "$NS" -t TP1K --threads 64 --duration "$SECS" --json)
  run_phase p_b32 "$PETREL" bench produce -n "$NS" -t TPB32 --threads 16 --batch 32 --duration "$SECS" --json >/dev/null
  run_phase j_consume "${JAVA_BENCH[@]}" consume "$NS" T1K "cg_java_$ROUND" "$(field "$j1k" acked_total)" 10 >/dev/null
  run_phase p_consume "$PETREL" bench consume -n "$NS" -t TP1K -g "cg_petrel_$ROUND" --from-first \
    --count "$(field "$p1k" messages)" --duration 120 --json >/dev/null
  local rate; rate=$(python3 -c 'import sys; print(max(1000, int(float(sys.argv[1]) / 2)))' "$(field "$j1k" msgs_per_sec)")
  run_phase j_e2e "${JAVA_BENCH[@]}" e2e "$NS" TE2E "cg_e2e_$ROUND" "$rate" 16 1024 "$WARMUP" "$SECS" >/dev/null
  run_phase j_e2e_fixed "${JAVA_BENCH[@]}" e2e "$NS" TE2E "cg_e2e_fixed_$ROUND" "$E2E_RATE" 16 1024 "$WARMUP" "$SECS" >/dev/null
  if [ -z "${COMPARE_ONLY:-}" ] || [[ " $COMPARE_ONLY " == *" restart "* ]]; then
    kill_and_restart
    record restart "{\"ms\": $(cat "$WORK/restart.ms")}"
  fi
}

round_sync() {
  [ -n "${COMPARE_ONLY:-}" ] && [[ " $COMPARE_ONLY " != *" sync "* ]] && return 0
  run_phase j_1k "${JAVA_BENCH[@]}" produce "$NS" T1K 64 1024 1 "$WARMUP" "$SECS" >/dev/null
  run_phase j_b32 "${JAVA_BENCH[@]}" produce "$NS" TB32 16 1024 32 "$WARMUP" "$SECS" >/dev/null
}

: >"$OUT"
{
  echo "{\"machine\": {\"cpus\": $(nproc), \"mem_kib\": $(awk '/MemTotal/{print $2}' /proc/meminfo),"
  echo " \"petrel_commit\": \"$(git -C "$ROOT" rev-parse --short HEAD)\", \"apache_version\": \"$(sed -n 's:.*<rocketmq.version>\(.*\)</rocketmq.version>.*:\1:p' "$ROOT/compat/java/apache/pom.xml")\","
  echo " \"secs\": $SECS, \"warmup\": $WARMUP, \"rounds\": $ROUNDS, \"apache_heap\": \"$APACHE_BROKER_HEAP\", \"date\": \"$(date -u +%FT%TZ)\"}}"
} | python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())))' >>"$OUT"

for ROUND in $(seq 1 "$ROUNDS"); do
  if [ $(( ROUND % 2 )) -eq 1 ]; then order=(petrel apache); else order=(apache petrel); fi
  for s in "${order[@]}"; do
    log "round $ROUND: $s, ASYNC_FLUSH"
    start_system "$s" ASYNC_FLUSH; round_async; stop_system
    log "round $ROUND: $s, SYNC_FLUSH"
    start_system "$s" SYNC_FLUSH; round_sync; stop_system
  done
done

avail_gib=$(( $(df -k --output=avail "$WORK" | tail -n 1) / 1048576 ))
if [ "$STORE_GIB" -gt 0 ] && [ $(( STORE_GIB + 4 )) -gt "$avail_gib" ]; then
  log "only $avail_gib GiB free at $WORK: the large-store test uses $(( avail_gib - 4 )) GiB instead of $STORE_GIB"
  STORE_GIB=$(( avail_gib - 4 ))
fi
if [ "$STORE_GIB" -gt 0 ]; then
  ROUND=0
  for s in petrel apache; do
    log "large store: $s, $STORE_GIB GiB"
    start_system "$s" ASYNC_FLUSH
    per_gib=$(( 1073741824 / 1200 )) # ~1,200 bytes per 1 KiB message in either CommitLog
    for g in $(seq 1 "$STORE_GIB"); do
      run_phase "fill_gib_$g" "$PETREL" bench produce -n "$NS" -t TSTORE --threads 16 --batch 32 \
        --count "$per_gib" --json >/dev/null
    done
    read -r rss anon <<<"$(mem_kib)"
    record store_memory "{\"rss_kib\": $rss, \"anon_kib\": $anon}"
    sync
    if [ -w /proc/sys/vm/drop_caches ]; then echo 3 >/proc/sys/vm/drop_caches; cold=true; else cold=false; fi
    kill_and_restart
    record store_restart "{\"ms\": $(cat "$WORK/restart.ms"), \"page_cache_dropped\": $cold}"
    sync
    [ -w /proc/sys/vm/drop_caches ] && echo 3 >/proc/sys/vm/drop_caches
    run_phase store_consume "$PETREL" bench consume -n "$NS" -t TSTORE -g cg_store --from-first \
      --count $(( per_gib * STORE_GIB )) --duration 900 --json >/dev/null
    stop_system
  done
fi

python3 "$ROOT/scripts/compare-apache-report.py" "$OUT"
