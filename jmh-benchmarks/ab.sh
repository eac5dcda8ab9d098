#!/usr/bin/env bash
# A/B of two vsnicd JVM option sets on the lab's VM-to-VM TCP path (root): for each of AB_ROUNDS rounds,
# a fresh lab (2 devices x 1 VM) per option set, alternating A, B, A, B, ...; in each lab an unmeasured
# warm-up (AB_WARMUP s, default 10: JIT), then AB_RUNS (default 2) pairs of iperf3 runs of AB_SECONDS
# (default 8): one stream, then four. Prints every run, the machine's CPU seconds per Gbit of each
# one-stream run (busy jiffies of all CPUs from /proc/stat, as e2e.sh) and the medians per option set.
# Use it for a change that has a switch (a system property) when e2e.sh's single run per path is too
# noisy to tell.
#
#   jmh-benchmarks/ab.sh "-Dvsnic.substrate.chainedSegments=false" "-Dvsnic.substrate.chainedSegments=true"
#   AB_ROUNDS=3 AB_ENCRYPTION=on jmh-benchmarks/ab.sh "-Dx=1" "-Dx=2"
#   AB_LAB=ab2 jmh-benchmarks/ab.sh ...      # other namespace names
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(cd "$here/.." && pwd)
vsnic="$root/bin/vsnic"
if [ $# -ne 2 ]; then
  echo "usage: ab.sh 'JVM OPTIONS A' 'JVM OPTIONS B'" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "ab.sh: needs root (network namespaces, TAP)" >&2
  exit 1
fi
for tool in ip iperf3 udhcpc python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "ab.sh: needs $tool: apt-get install -y --no-install-recommends $tool" >&2; exit 1; }
done
rounds=${AB_ROUNDS:-3}
runs=${AB_RUNS:-2}
seconds=${AB_SECONDS:-8}
warmup=${AB_WARMUP:-10}
encryption=${AB_ENCRYPTION:-off}
lab=${AB_LAB:-ab}
if [ ! -f "$root/orchestrator/target/vsnic-orchestrator.jar" ]; then
  (cd "$root" && ./mvnw -q -DskipTests package)
fi

cleanup() {
  "$vsnic" lab down --name "$lab" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
cleanup

results=$(mktemp)
. "$here/lib/cpu.sh"   # busy_jiffies, cpu_per_gbit
gbits() {
  python3 -c "import json,sys; print('%.3f' % (json.load(sys.stdin)['end']['sum_received']['bits_per_second'] / 1e9))"
}
one_lab() {
  local label="$1" opts="$2"
  VSNIC_LAB_JAVA_OPTS="$opts" "$vsnic" lab up --name "$lab" --devices 2 --vms-per-device 1 --encryption "$encryption" >/dev/null 2> >(grep -v "incubator modules" >&2)
  local state="/run/vsnic-lab/$lab/lab.json"
  local target
  target=$(python3 -c "import json; d=json.load(open('$state')); print([x['ip'] for x in d['vms'] if x['name']=='d2v1'][0])")
  # (the CLI's JVM notes its incubator module on stderr: not shown)
  "$vsnic" lab exec --name "$lab" d2v1 -- iperf3 -s -D >/dev/null 2>&1
  sleep 0.5
  "$vsnic" lab exec --name "$lab" d1v1 -- iperf3 -c "$target" -t "$warmup" >/dev/null 2>&1 || true
  for _ in $(seq "$runs"); do
    local one four busy0 busy1 cpu
    busy0=$(busy_jiffies)
    # straight into the VM's namespace: the CLI's JVM start-up would count in the CPU figure
    one=$(ip netns exec "vl-$lab-d1v1" iperf3 -c "$target" -t "$seconds" -J 2>/dev/null | gbits)
    busy1=$(busy_jiffies)
    cpu=$(cpu_per_gbit "$busy0" "$busy1" "$one" "$seconds" %.3f)
    four=$(ip netns exec "vl-$lab-d1v1" iperf3 -c "$target" -t "$seconds" -P 4 -J 2>/dev/null | gbits)
    echo "$label 1 $one" >> "$results"
    echo "$label 4 $four" >> "$results"
    echo "$label cpu $cpu" >> "$results"
    echo "$label [$opts]: 1 stream $one Gbit/s ($cpu CPU s per Gbit), 4 streams $four Gbit/s"
  done
  cleanup
}
echo "A: $1"
echo "B: $2"
echo "lab $lab, encryption $encryption, $rounds rounds, $runs pairs of ${seconds}-second runs per lab"
for _ in $(seq "$rounds"); do
  one_lab A "$1"
  one_lab B "$2"
done
python3 - "$results" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, streams, value = line.split()
    if value != "n/a":   # a run that moved nothing has no CPU figure
        runs.setdefault((label, streams), []).append(float(value))
for streams in ("1", "4"):
    a, b = runs.get(("A", streams), []), runs.get(("B", streams), [])
    if a and b:
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{streams} stream(s): median A {ma:.2f} Gbit/s ({len(a)} runs), B {mb:.2f} ({len(b)} runs), B/A {mb / ma:.3f}")
a, b = runs.get(("A", "cpu"), []), runs.get(("B", "cpu"), [])
if a and b:
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"CPU s per Gbit, 1 stream: median A {ma:.3f}, B {mb:.3f}, B/A {mb / ma:.3f}")
EOF
rm -f "$results"
