#!/usr/bin/env bash
# Footprint of one vsnicd with many vNICs and routes (root not needed: memory vNICs, loopback).
#
# Starts one `vsnic daemon` with the lab's JVM options ($VSNIC_LAB_JAVA_OPTS, default as `vsnic lab`)
# plus Native Memory Tracking, and the lab's data plane sizing (1 worker, 4096 frame slots, 16384
# connections), then applies through the REST API FP_NETWORKS networks (default 10), FP_VNICS memory
# vNICs (default 100) and FP_ROUTES IPv4 routes (default 100,000; one PUT .../routes per network),
# and reports at idle (before the load) and after it:
#   - RSS (/proc/PID/status VmRSS, and its anonymous / file-backed split),
#   - heap used / committed (jcmd GC.heap_info), and the live heap after a full GC (GC.class_histogram),
#   - the frame pools' resident memory (their mappings' Rss in /proc/PID/smaps: the pools are mmap'ed
#     and become resident page by page as frames are written, so NMT does not see them),
#   - NMT committed memory by category (jcmd VM.native_memory summary): Java Heap, Class (metaspace),
#     Thread (stacks), Code, GC, Other (Unsafe.allocateMemory: direct ByteBuffers, Netty's direct
#     arenas, FFM Arena.allocate such as the connection table), Internal, Symbol, ...
# and the time the load took. Exit status 1 if RSS after the load is at or above FP_LIMIT_MIB (256).
# With FP_RESTART=1 it then also times one route added and removed in network n1 (POST and DELETE
# .../routes), kills the daemon with SIGKILL, times its restart from the journal to "ready" and checks
# that every route came back (exit status 1 if not). FP_CHANGES=N repeats the add and remove N times
# (default 1); FP_PROFILE=FILE also records those changes with async-profiler (the agent flame.sh
# unpacks) into FILE as collapsed stacks; FP_PROFILE_LOAD=FILE records the routes' PUTs the same way
# (FP_PROFILE_EVENT=alloc: where the heap is allocated instead of CPU time), FP_PROFILE_RESTART=FILE the
# restart from the journal up to "ready".
#
#   jmh-benchmarks/footprint.sh
#   FP_VNICS=100 FP_ROUTES=100000 FP_NETWORKS=10 jmh-benchmarks/footprint.sh
#   # one network with an Internet-sized table (one PUT of 67 MB; a heap to match):
#   FP_NETWORKS=1 FP_VNICS=10 FP_ROUTES=1000000 FP_LIMIT_MIB=4096 FP_RESTART=1 \
#     VSNIC_LAB_JAVA_OPTS="-Xms64m -Xmx2g -XX:+UseSerialGC" jmh-benchmarks/footprint.sh
#   VSNIC_LAB_JAVA_OPTS="-Xmx128m -XX:+UseSerialGC" jmh-benchmarks/footprint.sh    # other JVM options
#   FP_DATAPLANE="{workers: 1, frameSlots: 2048, connectionCapacity: 16384}" jmh-benchmarks/footprint.sh
#   FP_PORT=19570 (API port on 127.0.0.1)
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/bin/lib/java25.sh"
. "$here/lib/memory.sh"
networks=${FP_NETWORKS:-10}
vnics=${FP_VNICS:-100}
routes=${FP_ROUTES:-100000}
port=${FP_PORT:-19570}
limit=${FP_LIMIT_MIB:-256}
dataplane=${FP_DATAPLANE:-"{workers: 1, frameSlots: 4096, connectionCapacity: 16384}"}
lab_opts=${VSNIC_LAB_JAVA_OPTS:-"-Xms16m -Xmx128m -XX:+UseSerialGC -XX:TrimNativeHeapInterval=5000"}   # Lab.DaemonLauncher.DEFAULT_JAVA_OPTS
api="http://127.0.0.1:$port"

for tool in curl /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "footprint.sh: needs $tool" >&2; exit 1; }
done
if [ ! -f "$root/orchestrator/target/vsnic-orchestrator.jar" ]; then
  (cd "$root" && ./mvnw -q -DskipTests package)
fi

work=$(mktemp -d /tmp/vsnic-footprint.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cat > "$work/device.yaml" <<YAML
device: {name: footprint, id: 1}
api: {listen: "127.0.0.1:$port"}
substrate: {enabled: true, bindAddress: 127.0.0.1, genevePort: 0, vxlanPort: 0, transport: epoll, receiveQueues: 1}
dataplane: $dataplane
YAML
echo "footprint.sh: $networks networks, $vnics memory vNICs, $routes routes; JVM options: $lab_opts -XX:NativeMemoryTracking=summary"
echo "  dataplane: $dataplane"
/usr/bin/python3 "$here/footprint-load.py" "$work/load" "$networks" "$vnics" "$routes"

# start_daemon LOG SECONDS: starts vsnicd on $work/state (bin/vsnic execs the JVM, so $! is the daemon's
# JVM: $pid) and waits until it is ready, at most SECONDS
start_daemon() {
  VSNIC_JAVA_OPTS="$lab_opts -XX:NativeMemoryTracking=summary ${3:-}" \
    "$root/bin/vsnic" daemon --config "$work/device.yaml" --state-dir "$work/state" > "$1" 2>&1 &
  pid=$!
  for _ in $(seq $(( $2 * 10 ))); do
    grep -q ': ready;' "$1" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "footprint.sh: vsnicd exited:" >&2; cat "$1" >&2; exit 1; }
    sleep 0.1
  done
  grep -q ': ready;' "$1" || { echo "footprint.sh: vsnicd not ready in $2 s" >&2; cat "$1" >&2; exit 1; }
}
start_daemon "$work/vsnicd.log" 60

mib() { status_mib "$pid" "$1"; }
# the pools' mapping sizes in KiB (slots x slot bytes): frame slots from the dataplane line, 256 super-frame slots
frame_slots=$(echo "$dataplane" | sed -n 's/.*frameSlots: *\([0-9]*\).*/\1/p')
pool_kib="$(( ${frame_slots:-8192} * 9472 / 1024 )) $(( 256 * 66048 / 1024 ))"
report() {   # report PHASE
  local nmt heap
  nmt=$("$JAVA_HOME/bin/jcmd" "$pid" VM.native_memory summary scale=KB)
  read -r -a heap <<< "$(heap_mib "$pid")"   # used, committed (lib/memory.sh: Serial and G1)
  echo "== $1: RSS $(mib VmRSS) MiB (anon $(mib RssAnon), file $(mib RssFile), shmem $(mib RssShmem)); threads $(awk '/^Threads:/ { print $2 }' "/proc/$pid/status"); fds $(ls "/proc/$pid/fd" | wc -l)"
  echo "   frame pools resident $(pool_rss_mib "$pid" $pool_kib) MiB (mmap'ed, not in NMT: mappings of $pool_kib KiB)"
  echo "   heap used ${heap[0]} MiB, committed ${heap[1]} MiB"
  # NMT: "-  Java Heap (reserved=...KB, committed=...KB)" per category
  echo "$nmt" | awk '/^Total: reserved=/ { gsub(/[^0-9 ]/, " "); split($0, f, " "); printf "   NMT total committed %.1f MiB (malloc + mmap)\n", f[2]/1024 }
                     /^-  *[A-Za-z]/ && /committed=/ { line=$0; sub(/^- */, "", line); name=line; sub(/ *\(.*/, "", name);
                       c=line; sub(/.*committed=/, "", c); sub(/KB.*/, "", c); if (c+0 >= 1024) printf "   %-28s %8.1f MiB\n", name, c/1024 }'
}

sleep 3
report "idle (started, nothing applied)"

start=$(date +%s.%N)
curl_json() {   # curl_json METHOD PATH FILE [HEADER] -> fails on a non-2xx status, printing the answer
  local out status
  out=$(curl -sS -o "$work/answer" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' ${4:+-H "$4"} \
    --data-binary "@$3" "$api$2") || return 1
  status=$out
  if [ "${status:0:1}" != 2 ]; then echo "footprint.sh: $1 $2: HTTP $status: $(head -c 400 "$work/answer")" >&2; return 1; fi
}
for f in "$work"/load/network-*.json; do
  name=$(sed -n 's/.*"name": "\([^"]*\)".*/\1/p' "$f")
  curl_json PUT "/v1/networks/$name" "$f"
done
for f in "$work"/load/vnic-*.json; do curl_json POST /v1/vnics "$f"; done
vnic_done=$(date +%s.%N)
agent="$here/target/flame/linux-x64/libasyncProfiler.so"
profile() {   # profile start|FILE: async-profiler in the daemon (the agent flame.sh unpacks)
  [ -f "$agent" ] || { echo "footprint.sh: profiling needs $agent (run jmh-benchmarks/flame.sh once)" >&2; exit 1; }
  if [ "$1" = start ]; then
    local event="event=cpu,interval=1ms"
    [ -z "${FP_PROFILE_EVENT:-}" ] || event="event=$FP_PROFILE_EVENT"
    "$JAVA_HOME/bin/jcmd" "$pid" JVMTI.agent_load "$agent" "\"start,$event\"" >/dev/null
  else
    "$JAVA_HOME/bin/jcmd" "$pid" JVMTI.agent_load "$agent" "\"stop,collapsed,file=$(readlink -f "$1")\"" >/dev/null
    echo "profile: $1"
  fi
}
[ -z "${FP_PROFILE_LOAD:-}" ] || profile start
for f in "$work"/load/routes-*.json; do
  n=${f##*/routes-}; n=$((10#${n%.json}))
  curl_json PUT "/v1/networks/n$n/routes" "$f" 'Prefer: return=minimal'   # no echo of the list
done
[ -z "${FP_PROFILE_LOAD:-}" ] || profile "$FP_PROFILE_LOAD"
end=$(date +%s.%N)
applied_vnics=$(curl -sS "$api/v1/vnics" | grep -o '"id"' | wc -l)
applied_routes=0
for k in $(seq "$networks"); do
  applied_routes=$((applied_routes + $(curl -sS "$api/v1/networks/n$k/routes" | grep -o '"prefix"' | wc -l)))
done
awk -v a="$start" -v b="$vnic_done" -v c="$end" -v v="$applied_vnics" -v r="$applied_routes" \
  'BEGIN { printf "applied: %d vNICs (%.1f s), %d routes (%.1f s) through the API\n", v, b - a, r, c - b }'
[ "$applied_vnics" = "$vnics" ] && [ "$applied_routes" = "$routes" ] ||
  { echo "footprint.sh: the daemon reports $applied_vnics vNICs / $applied_routes routes, expected $vnics / $routes" >&2; exit 1; }

sleep 3
report "after the load ($vnics vNICs, $routes routes)"
rss=$(mib VmRSS)
# live heap: GC.class_histogram runs a full collection first; its total is what survives it
"$JAVA_HOME/bin/jcmd" "$pid" GC.class_histogram > "$work/histogram"
awk '/^Total/ { printf "   live heap after a full GC %.1f MiB (%d objects); largest classes:\n", $3/1048576, $2 }' "$work/histogram"
awk -v top="${FP_CLASSES:-8}" '$1 ~ /^[0-9]+:$/ && NF >= 4 && n < top { printf "     %8.1f MiB %10d  %s\n", $3/1048576, $2, $4; n++ }' "$work/histogram"
sleep 1
report "after that full GC"
if [ "${FP_RESTART:-0}" = 1 ]; then
  timed() {   # timed LABEL COMMAND... -> prints LABEL, the HTTP status and the seconds
    local s e status
    s=$(date +%s.%N); status=$("${@:2}"); e=$(date +%s.%N)
    awk -v l="$1" -v st="$status" -v a="$s" -v b="$e" 'BEGIN { printf "%s: HTTP %s in %.2f s\n", l, st, b - a }'
  }
  one='{"prefix": "10.255.0.0/16", "target": {"type": "reject"}}'
  [ -z "${FP_PROFILE:-}" ] || profile start
  for _ in $(seq "${FP_CHANGES:-1}"); do
    timed "one route added to n1 ($(( routes / networks )) routes)" \
      curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data "$one" "$api/v1/networks/n1/routes"
    timed "the same route removed" curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$api/v1/networks/n1/routes?prefix=10.255.0.0/16"
  done
  [ -z "${FP_PROFILE:-}" ] || profile "$FP_PROFILE"
  echo "journal on disk: $(du -sh "$work/state/journal" | cut -f1)"
  { kill -9 "$pid"; wait "$pid"; } 2>/dev/null || true   # (bash would report "Killed")
  restart=$(date +%s.%N)
  if [ -n "${FP_PROFILE_RESTART:-}" ]; then
    [ -f "$agent" ] || { echo "footprint.sh: profiling needs $agent (run jmh-benchmarks/flame.sh once)" >&2; exit 1; }
    start_daemon "$work/vsnicd-restart.log" 300 "-agentpath:$agent=start,event=${FP_PROFILE_EVENT:-cpu},interval=1ms"
  else
    start_daemon "$work/vsnicd-restart.log" 300
  fi
  ready=$(date +%s.%N)
  [ -z "${FP_PROFILE_RESTART:-}" ] || profile "$FP_PROFILE_RESTART"
  restored=0
  for k in $(seq "$networks"); do
    restored=$((restored + $(curl -sS "$api/v1/networks/n$k/routes" | grep -o '"prefix"' | wc -l)))
  done
  awk -v a="$restart" -v b="$ready" -v r="$restored" -v m="$(mib VmRSS)" \
    'BEGIN { printf "kill -9, then restart from the journal to ready: %.1f s; %d routes restored; RSS %s MiB\n", b - a, r, m }'
  [ "$restored" = "$routes" ] || { echo "footprint.sh: $restored routes after the restart, expected $routes" >&2; exit 1; }
fi
if awk -v r="$rss" -v l="$limit" 'BEGIN { exit !(r < l) }'; then
  echo "RSS after the load $rss MiB < $limit MiB: ok"
else
  echo "RSS after the load $rss MiB >= $limit MiB: over the goal"
  exit 1
fi
