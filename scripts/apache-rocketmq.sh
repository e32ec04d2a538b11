#!/usr/bin/env bash
# Apache RocketMQ 5.x (name server + broker) from Maven Central, on private ports, beside Petrel.
#
#   scripts/apache-rocketmq.sh start  [DIR] [key=value ...]   # extra keys go to broker.conf
#   scripts/apache-rocketmq.sh status [DIR]
#   scripts/apache-rocketmq.sh stop   [DIR]                   # stops both, removes DIR
#   scripts/apache-rocketmq.sh kill-broker  [DIR]             # kill -9 of the broker, store kept
#   scripts/apache-rocketmq.sh start-broker [DIR]             # the broker again on its store
#
# DIR (default $APACHE_RMQ_DIR or /tmp/petrel-apache-rocketmq) holds the store, logs
# (user.home is DIR/home), pid files and the classpath. Ports: APACHE_NAMESRV_PORT (19876),
# APACHE_BROKER_PORT (20911; Apache also opens port-2 and port+1). The version is the one in
# compat/java/apache/pom.xml (same as the suite's 5.x client); override with
# APACHE_RMQ_VERSION. APACHE_BROKER_HEAP (default 1g) sizes the broker's heap and direct memory;
# APACHE_BROKER_JVM_OPTS adds JVM flags to the broker's command line.
# APACHE_BROKER_NAMESRV (default: the name server started here) is where the
# broker registers, e.g. a Petrel name server for an Apache slave of a Petrel master. Needs only
# Java 17 and Maven.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:-}"
[ $# -gt 0 ] && shift
DIR="${APACHE_RMQ_DIR:-/tmp/petrel-apache-rocketmq}"
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then DIR="$1"; shift; fi
NS_PORT="${APACHE_NAMESRV_PORT:-19876}"
BROKER_PORT="${APACHE_BROKER_PORT:-20911}"
NS_ADDR="127.0.0.1:$NS_PORT"
BROKER_NS="${APACHE_BROKER_NAMESRV:-$NS_ADDR}"
BROKER_ADDR="127.0.0.1:$BROKER_PORT"
MARK="$DIR/.apache-rocketmq-dir"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

status() {
  local rc=0
  for p in namesrv broker; do
    if alive "$DIR/$p.pid"; then echo "$p: running (pid $(cat "$DIR/$p.pid"))"; else echo "$p: stopped"; rc=1; fi
  done
  [ -f "$DIR/addr" ] && echo "namesrv address: $(cat "$DIR/addr")"
  return $rc
}

stop_pid() {
  local f="$1"
  if alive "$f"; then
    local pid; pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop() {
  [ -d "$DIR" ] || { echo "apache-rocketmq: nothing at $DIR"; return 0; }
  stop_pid "$DIR/broker.pid"
  stop_pid "$DIR/namesrv.pid"
  if [ -f "$MARK" ]; then rm -rf "$DIR"; else echo "apache-rocketmq: $DIR was not made by this script; left in place" >&2; fi
  echo "apache-rocketmq: stopped"
}

start() {
  if [ -d "$DIR" ] && { alive "$DIR/namesrv.pid" || alive "$DIR/broker.pid"; }; then
    echo "apache-rocketmq: already running in $DIR (stop it first)" >&2; return 1
  fi
  if [ -d "$DIR" ] && [ ! -f "$MARK" ]; then
    echo "apache-rocketmq: $DIR exists and was not made by this script" >&2; return 1
  fi
  rm -rf "$DIR"; mkdir -p "$DIR/home" "$DIR/store"; touch "$MARK"

  local mvn_args=(-q -B -f "$ROOT/compat/java/apache/pom.xml" dependency:build-classpath
                  "-Dmdep.outputFile=$DIR/classpath.txt")
  [ -n "${APACHE_RMQ_VERSION:-}" ] && mvn_args+=("-Drocketmq.version=$APACHE_RMQ_VERSION")
  mvn "${mvn_args[@]}" >"$DIR/mvn.log" 2>&1 || { cat "$DIR/mvn.log" >&2; return 1; }
  local cp; cp="$(cat "$DIR/classpath.txt")"

  # JDK 17: DefaultMappedFile casts to sun.nio.ch.DirectBuffer (apache/rocketmq#9779); the
  # rest is reflection some paths use. Sized for a 2-core, 24 GiB machine shared with builds.
  local jdk=(-XX:+IgnoreUnrecognizedVMOptions -XX:+UseG1GC -XX:ActiveProcessorCount=2
             --add-exports java.base/sun.nio.ch=ALL-UNNAMED
             --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED
             --add-opens java.base/sun.nio.ch=ALL-UNNAMED
             "-Duser.home=$DIR/home" "-Drocketmq.home.dir=$DIR")

  cat >"$DIR/namesrv.conf" <<CONF
listenPort=$NS_PORT
CONF
  cat >"$DIR/broker.conf" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
listenPort=$BROKER_PORT
namesrvAddr=$BROKER_NS
storePathRootDir=$DIR/store
storePathCommitLog=$DIR/store/commitlog
mappedFileSizeCommitLog=134217728
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
flushDiskType=ASYNC_FLUSH
# a shared, nearly full disk must not make the broker refuse sends (default 90 %)
diskMaxUsedSpaceRatio=97
diskSpaceCleanForciblyRatio=98
diskSpaceWarningLevelRatio=99
CONF
  for kv in "$@"; do echo "$kv" >>"$DIR/broker.conf"; done

  printf '%s\n' "${jdk[@]}" >"$DIR/jvm-flags"
  nohup java -Xms256m -Xmx256m "${jdk[@]}" -cp "$cp" org.apache.rocketmq.namesrv.NamesrvStartup \
    -c "$DIR/namesrv.conf" >"$DIR/namesrv.out" 2>&1 &
  echo $! >"$DIR/namesrv.pid"
  launch_broker || { stop; return 1; }
  echo "$NS_ADDR" >"$DIR/addr"
  local ver; ver="$(sed -n 's:.*<rocketmq.version>\(.*\)</rocketmq.version>.*:\1:p' "$ROOT/compat/java/apache/pom.xml")"
  echo "apache-rocketmq ${APACHE_RMQ_VERSION:-$ver}: namesrv $NS_ADDR, broker $BROKER_ADDR, dir $DIR"
}

# Starts the broker of DIR (its conf and store as they are) and waits until it registers.
launch_broker() {
  local cp; cp="$(cat "$DIR/classpath.txt")"
  local jdk=(); mapfile -t jdk <"$DIR/jvm-flags"
  local heap="${APACHE_BROKER_HEAP:-1g}"
  local extra=(); read -r -a extra <<<"${APACHE_BROKER_JVM_OPTS:-}"
  nohup java "-Xms$heap" "-Xmx$heap" "-XX:MaxDirectMemorySize=$heap" "${jdk[@]}" "${extra[@]}" -cp "$cp" \
    org.apache.rocketmq.broker.BrokerStartup -c "$DIR/broker.conf" -n "$BROKER_NS" \
    >>"$DIR/broker.out" 2>&1 &
  echo $! >"$DIR/broker.pid"
  if ! java "$ROOT/compat/java/tools/WaitForBroker.java" "$BROKER_NS" "$BROKER_ADDR" "${APACHE_RMQ_START_TIMEOUT:-120}"; then
    echo "apache-rocketmq: broker did not register; logs:" >&2
    tail -n 30 "$DIR/namesrv.out" "$DIR/broker.out" >&2 || true
    return 1
  fi
}

# kill -9 of the broker alone (the store stays), for recovery measurements.
kill_broker() {
  alive "$DIR/broker.pid" || { echo "apache-rocketmq: no broker running in $DIR" >&2; return 1; }
  kill -9 "$(cat "$DIR/broker.pid")"
  while alive "$DIR/broker.pid"; do sleep 0.05; done
  rm -f "$DIR/broker.pid"
}

start_broker() {
  [ -f "$MARK" ] && [ -f "$DIR/jvm-flags" ] || { echo "apache-rocketmq: nothing started in $DIR" >&2; return 1; }
  alive "$DIR/broker.pid" && { echo "apache-rocketmq: broker already running" >&2; return 1; }
  launch_broker
}

case "$cmd" in
  start) start "$@" ;;
  stop) stop ;;
  status) status ;;
  kill-broker) kill_broker ;;
  start-broker) start_broker ;;
  *) echo "usage: $0 start|stop|status|kill-broker|start-broker [DIR] [broker.conf key=value ...]" >&2; exit 2 ;;
esac
