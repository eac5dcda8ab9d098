#!/usr/bin/env bash
# TAP <-> TAP through vsnic against a Linux bridge, one device, one run (root):
#   (v) vsnic:  `vsnic lab up --devices 1 --vms-per-device 2` — two VM namespaces, each behind a TAP
#               vNIC of one vsnicd (offloads on: virtio-net header, TSO), addresses by DHCP
#   (k) kernel: two VM namespaces joined by veth pairs to a Linux bridge in a third namespace
# iperf3 TCP (1 and 4 streams) between the two VMs, and the CPU the whole machine spent per Gbit/s
# (busy jiffies from /proc/stat over the iperf3 run, in cores), printed as a table with the ratio.
#
#   jmh-benchmarks/vnic-bridge.sh            # 10 s per iperf3 run
#   VB_SECONDS=5 jmh-benchmarks/vnic-bridge.sh
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(cd "$here/.." && pwd)
seconds=${VB_SECONDS:-10}
vsnic="$root/bin/vsnic"
lab=vbr
kns="vbr$$"
if [ "$(id -u)" != 0 ]; then
  echo "vnic-bridge.sh: needs root (network namespaces, TAP, bridges)" >&2
  exit 1
fi
for tool in ip iperf3 udhcpc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "vnic-bridge.sh: needs $tool (apt-get install -y --no-install-recommends ${tool/ip/iproute2})" >&2; exit 1; }
done
[ -f "$root/orchestrator/target/vsnic-orchestrator.jar" ] || (cd "$root" && ./mvnw -q -DskipTests package)

cleanup() {
  "$vsnic" lab down --name "$lab" >/dev/null 2>&1 || true
  for n in a b br; do ip netns del "$kns$n" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
cleanup

busy() { awk '/^cpu / { print $2+$3+$4+$7+$8 }' /proc/stat; }   # user nice system irq softirq jiffies
pid=""   # the vsnicd whose own CPU is reported too
pcpu() { if [ -n "$pid" ]; then awk '{ print $14+$15 }' "/proc/$pid/stat"; else echo 0; fi; }
# measure CLIENT_NS SERVER_NS IP STREAMS -> "Gbit/s cores"
measure() {
  local client=$1 server=$2 ip=$3 streams=$4 out b0 b1 p0 p1 t0 t1
  ip netns exec "$server" iperf3 -s -1 >/dev/null 2>&1 &
  local listener=$!
  sleep 0.3
  b0=$(busy); p0=$(pcpu); t0=$(date +%s%N)
  out=$(ip netns exec "$client" iperf3 -c "$ip" -t "$seconds" -P "$streams" -f m 2>&1) || { echo "iperf3: $out" >&2; return 1; }
  b1=$(busy); p1=$(pcpu); t1=$(date +%s%N)
  wait $listener 2>/dev/null || true
  local gbit
  gbit=$(echo "$out" | awk '/receiver/ { line=$0 } END { n=split(line, f, " "); for (i=1;i<=n;i++) if (f[i]=="Mbits/sec") printf "%.3f", f[i-1]/1000 }')
  # busy jiffies (USER_HZ) over elapsed seconds = cores in use
  awk -v g="$gbit" -v j=$((b1 - b0)) -v pj=$((p1 - p0)) -v ns=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%s %.2f %.2f", g, (j / hz) / (ns / 1e9), (pj / hz) / (ns / 1e9) }'
}

echo "vnic-bridge.sh: vsnic lab (1 device, 2 TAP VMs) ..." >&2
"$vsnic" lab up --name "$lab" --devices 1 --vms-per-device 2 --encryption off >/dev/null
pid=$(sed -n 's/.*"pid" : \([0-9]*\).*/\1/p' "/run/vsnic-lab/$lab/lab.json" | head -1)
vip=$(ip -n "vl-$lab-d1v2" -4 -o addr show | awk '$2 != "lo" { split($4, a, "/"); print a[1]; exit }')
v1=$(measure "vl-$lab-d1v1" "vl-$lab-d1v2" "$vip" 1)
v4=$(measure "vl-$lab-d1v1" "vl-$lab-d1v2" "$vip" 4)
"$vsnic" lab down --name "$lab" >/dev/null
pid=""

echo "vnic-bridge.sh: Linux bridge (2 veth VMs) ..." >&2
for n in a b br; do ip netns add "$kns$n"; done
ip -n "${kns}br" link add br0 type bridge
ip -n "${kns}br" link set br0 up
i=1
for n in a b; do
  ip link add "v$kns$n" netns "${kns}br" type veth peer name eth0 netns "$kns$n"
  ip -n "${kns}br" link set "v$kns$n" master br0 up
  ip -n "$kns$n" addr add "10.79.0.$i/24" dev eth0
  ip -n "$kns$n" link set eth0 up
  ip -n "$kns$n" link set lo up
  i=$((i + 1))
done
ip netns exec "${kns}a" ping -c 3 -W 2 10.79.0.2 >/dev/null
k1=$(measure "${kns}a" "${kns}b" 10.79.0.2 1)
k4=$(measure "${kns}a" "${kns}b" 10.79.0.2 4)

# cores: the whole machine's busy CPU during the run (meaningful on an otherwise idle machine);
# vsnicd: the cores the vsnicd process itself used (its workers, TAP reads and writes)
printf '\n%-14s %13s %7s %7s %14s %7s\n' "iperf3 TCP" "vsnic Gbit/s" "cores" "vsnicd" "bridge Gbit/s" "cores"
for s in 1 4; do
  v=v$s; k=k$s
  read -r vg vc vp <<< "${!v}"; read -r kg kc _ <<< "${!k}"
  printf '%-14s %13s %7s %7s %14s %7s   vsnic/bridge %.2f   Gbit/s per busy core: vsnic %.2f bridge %.2f\n' "$s stream(s)" "$vg" "$vc" "$vp" "$kg" "$kc" \
    "$(awk -v a="$vg" -v b="$kg" 'BEGIN { print a / b }')" "$(awk -v a="$vg" -v b="$vc" 'BEGIN { print a / b }')" \
    "$(awk -v a="$kg" -v b="$kc" 'BEGIN { print a / b }')"
done
echo "machine: $(nproc) vCPU $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
