#!/usr/bin/env bash
# CPU flame graphs of both vsnicd processes while TCP runs VM to VM across two devices (root):
# `vsnic lab up --devices 2 --vms-per-device 1` (encryption on unless FLAME_ENCRYPTION=off), iperf3 from
# the VM on device 1 to the VM on device 2 for FLAME_SECONDS (default 10), with async-profiler (from
# Maven Central, tools.profiler:async-profiler) attached to each daemon through `jcmd JVMTI.agent_load`
# for the same seconds (the agent options go quoted: jcmd would split them at "="). Writes docs/performance/flame-<UTC time>-d1.html (the sender) and -d2.html
# (the receiver), plus the collapsed stacks (jmh-benchmarks/target/flame/*.collapsed, one line per stack with its sample count),
# and prints each daemon's top frames by self time and by category.
#
#   jmh-benchmarks/flame.sh
#   FLAME_ENCRYPTION=off FLAME_SECONDS=5 jmh-benchmarks/flame.sh
#   FLAME_LAB=fl2 jmh-benchmarks/flame.sh        # other namespace names
#   FLAME_WARMUP=20 jmh-benchmarks/flame.sh      # seconds of traffic before profiling (default 10: JIT)
#   FLAME_STREAMS=4 jmh-benchmarks/flame.sh      # parallel TCP streams (iperf3 -P; default 1)
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(cd "$here/.." && pwd)
seconds=${FLAME_SECONDS:-10}
streams=${FLAME_STREAMS:-1}
case "$streams" in ''|*[!0-9]*|0) echo "flame.sh: FLAME_STREAMS must be a positive integer: $streams" >&2; exit 1 ;; esac
encryption=${FLAME_ENCRYPTION:-on}
lab=${FLAME_LAB:-flame}
version=${ASYNC_PROFILER_VERSION:-4.1}
vsnic="$root/bin/vsnic"
if [ "$(id -u)" != 0 ]; then
  echo "flame.sh: needs root (network namespaces, TAP)" >&2
  exit 1
fi
for tool in ip iperf3 udhcpc unzip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "flame.sh: needs $tool: apt-get install -y --no-install-recommends $tool" >&2; exit 1; }
done
. "$root/bin/lib/java25.sh"
if [ ! -f "$root/orchestrator/target/vsnic-orchestrator.jar" ]; then
  (cd "$root" && ./mvnw -q -DskipTests package)
fi

# async-profiler's agent comes in its Maven Central jar (linux-x64 and linux-arm64 libraries inside)
work="$root/jmh-benchmarks/target/flame"
mkdir -p "$work"
jar="$HOME/.m2/repository/tools/profiler/async-profiler/$version/async-profiler-$version.jar"
if [ ! -f "$jar" ]; then
  (cd "$root" && ./mvnw -q dependency:get -Dartifact="tools.profiler:async-profiler:$version" >/dev/null)
fi
case "$(uname -m)" in
  x86_64) arch=linux-x64 ;;
  aarch64) arch=linux-arm64 ;;
  *) echo "flame.sh: no async-profiler library for $(uname -m)" >&2; exit 1 ;;
esac
unzip -o -q "$jar" "$arch/libasyncProfiler.so" -d "$work"
agent="$work/$arch/libasyncProfiler.so"

cleanup() {
  "$vsnic" lab down --name "$lab" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
cleanup

echo "lab $lab: 2 devices x 1 VM, encryption $encryption"
"$vsnic" lab up --name "$lab" --devices 2 --vms-per-device 1 --encryption "$encryption" >/dev/null
state="/run/vsnic-lab/$lab/lab.json"
pid_of() { python3 -c "import json,sys; d=json.load(open('$state')); print([x['pid'] for x in d['devices'] if x['index']==$1][0])"; }
ip_of() { python3 -c "import json,sys; d=json.load(open('$state')); print([x['ip'] for x in d['vms'] if x['name']=='$1'][0])"; }
d1=$(pid_of 1)
d2=$(pid_of 2)
target=$(ip_of d2v1)

# warm-up: the first seconds run the JIT (and the WireGuard kernels' warm-up), not the steady state
"$vsnic" lab exec --name "$lab" d2v1 -- iperf3 -s -D -1 >/dev/null
sleep 0.5
"$vsnic" lab exec --name "$lab" d1v1 -- iperf3 -c "$target" -P "$streams" -t "${FLAME_WARMUP:-10}" >/dev/null || true

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/docs/performance"
mkdir -p "$out"
for pid in "$d1" "$d2"; do
  "$JAVA_HOME/bin/jcmd" "$pid" JVMTI.agent_load "$agent" "\"start,event=cpu,interval=1ms\"" >/dev/null
done
"$vsnic" lab exec --name "$lab" d2v1 -- iperf3 -s -D -1 >/dev/null
sleep 0.5
result=$("$vsnic" lab exec --name "$lab" d1v1 -- iperf3 -c "$target" -P "$streams" -t "$seconds" | grep receiver | tail -1 || true)
n=1
for pid in "$d1" "$d2"; do
  "$JAVA_HOME/bin/jcmd" "$pid" JVMTI.agent_load "$agent" "\"dump,collapsed,file=$work/flame-$stamp-d$n.collapsed\"" >/dev/null
  "$JAVA_HOME/bin/jcmd" "$pid" JVMTI.agent_load "$agent" "\"stop,file=$out/flame-$stamp-d$n.html\"" >/dev/null
  n=$((n + 1))
done
echo "iperf3 ($seconds s, $streams stream(s), encryption $encryption): ${result:-no result}"
echo "flame graphs: $out/flame-$stamp-d1.html (sender), $out/flame-$stamp-d2.html (receiver)"
for n in 1 2; do
  collapsed="$work/flame-$stamp-d$n.collapsed"
  [ -s "$collapsed" ] || continue
  python3 "$here/flame-summary.py" "$collapsed" "d$n"
done
