#!/usr/bin/env bash
# End-to-end benchmark between two VMs on two virtual edge devices (root), in one run:
#   (a) vsnic, plain Geneve:   `vsnic lab up --devices 2 --vms-per-device 1 --encryption off`
#                              (vsnicd per device, TAP vNICs, peers encryption none)
#   (b) vsnic encrypted:       the same with `--encryption on` (Geneve inside WireGuard sessions)
#   (c) Linux kernel VXLAN:    the same kind of namespaces (VM -- device -- bridged veth substrate),
#                              the device namespace bridging the VM's veth to a kernel VXLAN device
#   (d) kernel VXLAN over wireguard-go: as (c), but the VXLAN devices ride wireguard-go tunnel
#                              interfaces (Debian's wireguard-go + wireguard-tools), what one would
#                              otherwise deploy for an encrypted overlay here (no WireGuard kernel module)
#   (e) vsnic plain, offloads off: as (a) with the VMs' TAP vNICs attached with `offloads: off`
#                              (VSNIC_LAB_OFFLOADS=off: no virtio-net header, one frame of at most the MTU
#                              per read and write; the guests segment and checksum)
#   (f) vsnic encrypted, offloads off: as (b), likewise
#   (g) the floor relay, plain: vsnic's namespaces and TAPs, but each device runs jmh-benchmarks/probes/floorrelay.c
#                              instead of vsnicd: a C relay between the VM's TAP (offloads on) and a UDP socket (GSO
#                              out, GRO in) that makes the same four kernel copies per byte as vsnic and none of its
#                              own, with no forwarding, security or state: what any data plane behind a TAP and a UDP
#                              socket can reach here (gcc; not in the default E2E_PATHS)
#   (h) the floor relay, encrypted: as (g), every datagram sealed as a WireGuard transport message with OpenSSL's
#                              ChaCha20-Poly1305 (EVP API, one call sequence per datagram; libssl-dev), VM MTU 1340 as
#                              in an encrypted vsnic lab
# measuring iperf3 TCP with 1 and 4 streams (and the whole machine's CPU seconds per Gbit during the 1-stream run), the UDP 64-byte packet rate (`iperf3 -u -l 64 -b 0`: one
# sender as fast as it can, 64-byte payloads; datagrams iperf3 received per second and its loss, and the
# datagrams the path delivered to the receiving VM's UDP layer per second, whether iperf3 kept up or not) and ping RTT
# p50/p99 for each, plus each vsnicd's RSS
# at idle and after the load. Prints a table with the ratios (vsnic encrypted / wireguard-go,
# vsnic plain / kernel VXLAN, vsnic encrypted / kernel plain, and what the offloads bring: (a)/(e), (b)/(f); with (g)
# or (h): vsnic against the floor relay, (a)/(g) and (b)/(h), and the floor relay against the kernel, (g)/(c)), writes JSON to
# docs/performance/e2e-<UTC time>.json, a PNG chart next to it (XChart: io.vsnic.bench.E2eChart) and an SVG one
# (e2e-chart.py, python3 stdlib).
#
#   jmh-benchmarks/e2e.sh                  # 10 s per iperf3 run, 500 pings at 10 ms
#   E2E_SECONDS=5 E2E_PINGS=200 jmh-benchmarks/e2e.sh
#   E2E_PING_FLOOD=0 jmh-benchmarks/e2e.sh  # no ping flood before the RTT sample (default 50000 pings, `ping -f`:
#                                          # vsnicd's JIT compiles the echo path only after thousands of them, and
#                                          # without it the sample measures partly interpreted code, session 25)
#   E2E_WARMUP=0 jmh-benchmarks/e2e.sh      # no unmeasured warm-up traffic first (default 10 s of 1 stream and
#                                          # 10 s of 4 streams per path)
#   E2E_PATHS="b d" jmh-benchmarks/e2e.sh  # only some paths (the others are null in the JSON)
#   E2E_PATHS="a b c d" jmh-benchmarks/e2e.sh  # without the offloads-off paths (e, f): 3-4 minutes less
#   E2E_PATHS="a b c g h" jmh-benchmarks/e2e.sh  # vsnic and the kernel path beside the floor relay
#   E2E_UDP_RATE=200M jmh-benchmarks/e2e.sh  # a fixed rate for the 64-byte UDP run instead of -b 0
#   E2E_REPEAT=5 jmh-benchmarks/e2e.sh      # each TCP figure is the median of 5 runs (all of them in the JSON)
#   E2E_ROUNDS=5 E2E_PATHS="a c" jmh-benchmarks/e2e.sh  # the path sequence 5 times, each path in a fresh lab per
#                                          # round; the ratios are also taken per round (paths minutes apart, not
#                                          # a whole run apart) and their median reported; UDP and ping: round 1 only
#   E2E_LAB=e2eb jmh-benchmarks/e2e.sh     # other namespace names (labs e2eb, e2ebk, e2ebw): a run beside another
#   E2E_CC=cubic jmh-benchmarks/e2e.sh     # the senders' TCP congestion control (iperf3 -C) on every path;
#                                          # default: the kernel's default (net.ipv4.tcp_congestion_control)
#   VSNIC_LAB_WORKER_CPUS=none jmh-benchmarks/e2e.sh   # vsnic's workers unpinned (default: each device's on a CPU of its own)
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(cd "$here/.." && pwd)
seconds=${E2E_SECONDS:-10}
# seconds of unmeasured TCP before the measured runs of every path (vsnicd's JIT compiles its hot path
# during the first seconds of traffic: a fresh lab's first 6-second iperf3 run measured 2.0-2.8 Gbit/s,
# the next ones 5.3-6.2; four streams compile more: 900 compilations in their first 8 s, session 23);
# 0 measures from a cold start, as before
warmup=${E2E_WARMUP:-10}
paths=${E2E_PATHS:-a e b f c d}   # which of the six paths to measure
for path in $paths; do
  case "$path" in a|b|c|d|e|f|g|h) ;; *) echo "e2e.sh: E2E_PATHS takes the letters a to h: $paths" >&2; exit 1 ;; esac
done
# measured runs per TCP figure: the median is reported, every run is kept in the JSON (tcp1Runs, tcp4Runs).
# On a shared 2-core machine one 10-second run of the same path swings by 10-25 %; a median of several
# is what a ratio should be taken from
repeat=${E2E_REPEAT:-1}
case "$repeat" in ''|*[!0-9]*|0) echo "e2e.sh: E2E_REPEAT must be a positive integer: $repeat" >&2; exit 1 ;; esac
# rounds of the whole path sequence: the host's pace drifts over minutes, so a ratio taken from paths
# measured a minute apart (one round) is steadier than one from paths measured a whole run apart
rounds=${E2E_ROUNDS:-1}
case "$rounds" in ''|*[!0-9]*|0) echo "e2e.sh: E2E_ROUNDS must be a positive integer: $rounds" >&2; exit 1 ;; esac
pings=${E2E_PINGS:-500}
ping_flood=${E2E_PING_FLOOD:-50000}
case "$ping_flood" in ''|*[!0-9]*) echo "e2e.sh: E2E_PING_FLOOD must be a count of pings: $ping_flood" >&2; exit 1 ;; esac
cc=${E2E_CC:-$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null || echo unknown)}
if [ -n "${E2E_CC:-}" ]; then
  [[ $cc =~ ^[a-z0-9_]{1,16}$ ]] || { echo "e2e.sh: E2E_CC must be a congestion control name: $cc" >&2; exit 1; }
  grep -qw "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control ||
    modprobe "tcp_$cc" 2>/dev/null || { echo "e2e.sh: E2E_CC=$cc is not available in this kernel ($(cat /proc/sys/net/ipv4/tcp_available_congestion_control))" >&2; exit 1; }
  cc_opt=(-C "$cc")
else
  cc_opt=()
fi
udp_rate=${E2E_UDP_RATE:-0}   # iperf3 -b for the 64-byte UDP run: 0 = as fast as one sender can
vsnic="$root/bin/vsnic"
lab=${E2E_LAB:-e2e}   # vsnic lab: namespaces vl-e2e-* (E2E_LAB: another name, 1..6 of [a-z0-9], for a second run on the machine)
klab=${lab}k          # kernel lab: namespaces vl-e2ek-* (so `vsnic lab down --name e2ek` also removes them)
wlab=${lab}w          # kernel VXLAN over wireguard-go: namespaces vl-e2ew-* (wireguard-go runs inside them)
flab=${lab}g          # the floor relay: namespaces vl-e2eg-* (the relays run inside them)
if ! [[ $lab =~ ^[a-z0-9]{1,6}$ ]]; then
  echo "e2e.sh: E2E_LAB must be 1..6 of [a-z0-9]: $lab" >&2
  exit 1
fi

if [ "$(id -u)" != 0 ]; then
  echo "e2e.sh: needs root (network namespaces, TAP, VXLAN devices)" >&2
  exit 1
fi
for tool in ip iperf3 ping udhcpc wireguard-go wg ss; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    pkg=$tool; [ "$tool" = ping ] && pkg=iputils-ping; [ "$tool" = ip ] && pkg=iproute2; [ "$tool" = ss ] && pkg=iproute2
    [ "$tool" = wg ] && pkg=wireguard-tools
    echo "e2e.sh: needs $tool: apt-get install -y --no-install-recommends $pkg" >&2
    exit 1
  fi
done
if [ ! -f "$root/orchestrator/target/vsnic-orchestrator.jar" ]; then
  (cd "$root" && ./mvnw -q -DskipTests package)
fi
relay="$here/target/floorrelay"
if [[ " $paths " == *" g "* || " $paths " == *" h "* ]]; then
  mkdir -p "$here/target"
  command -v gcc >/dev/null && [ -f /usr/include/openssl/evp.h ] ||
    { echo "e2e.sh: paths g and h build the floor relay: apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev" >&2; exit 1; }
  gcc -O2 -Wall -Wextra -Werror -o "$relay" "$here/probes/floorrelay.c" -lcrypto
fi

cleanup() {
  "$vsnic" lab down --name "$lab" >/dev/null 2>&1 || true
  "$vsnic" lab down --name "$klab" >/dev/null 2>&1 || true
  "$vsnic" lab down --name "$wlab" >/dev/null 2>&1 || true   # also stops the wireguard-go processes inside
  "$vsnic" lab down --name "$flab" >/dev/null 2>&1 || true   # and the floor relays
  rm -f /var/run/wireguard/wg$wlab[12].sock
  rm -rf "${wgdir:-/nonexistent}"
}
trap cleanup EXIT INT TERM
cleanup

# --- measurement helpers --------------------------------------------------------------------------
# iperf3 NS_CLIENT NS_SERVER IP STREAMS -> Gbit/s received
iperf() {
  local client=$1 server=$2 ip=$3 streams=$4 out
  ip netns exec "$server" iperf3 -s -1 >/dev/null 2>&1 &
  local listener=$!
  for _ in $(seq 50); do
    if out=$(ip netns exec "$client" iperf3 -c "$ip" -t "$seconds" -P "$streams" "${cc_opt[@]}" -f m 2>&1); then break; fi
    echo "$out" | grep -q "Connection refused" || { echo "iperf3 failed: $out" >&2; kill $listener 2>/dev/null; return 1; }
    sleep 0.1
  done
  wait $listener 2>/dev/null || true
  # the receiver's total: the [SUM] line with -P > 1, else the single stream's line
  echo "$out" | awk '/receiver/ { line=$0 } END { n=split(line, f, " "); for (i=1;i<=n;i++) if (f[i]=="Mbits/sec") printf "%.3f", f[i-1]/1000 }'
}
# udp_counts NS -> "InDatagrams RcvbufErrors" of the namespace's UDP MIB (/proc/net/snmp, by field name)
udp_counts() {
  ip netns exec "$1" awk '/^Udp: / { if (!n) { n = split($0, name, " "); next }
                                     for (i = 2; i <= n; i++) v[name[i]] = $i; print v["InDatagrams"], v["RcvbufErrors"]; exit }' /proc/net/snmp
}
# udp64 NS_CLIENT NS_SERVER IP -> "received-datagrams-per-second loss-percent delivered-per-second": iperf3's
# receiver figures (datagrams sent minus lost, over the run's seconds), and the datagrams the path delivered
# to the receiving VM's UDP layer (its InDatagrams plus RcvbufErrors: queued to iperf3's socket or dropped
# there because iperf3 fell behind, which on a shared machine it does first)
udp64() {
  local client=$1 server=$2 ip=$3 out line before after
  before=$(udp_counts "$server")
  ip netns exec "$server" iperf3 -s -1 >/dev/null 2>&1 &
  local listener=$!
  for _ in $(seq 50); do
    if out=$(ip netns exec "$client" iperf3 -c "$ip" -u -l 64 -b "$udp_rate" -t "$seconds" -f m 2>&1); then break; fi
    echo "$out" | grep -q "Connection refused" || { echo "iperf3 -u failed: $out" >&2; kill $listener 2>/dev/null; return 1; }
    sleep 0.1
  done
  wait $listener 2>/dev/null || true
  after=$(udp_counts "$server")
  # "[  5]   0.00-10.00  sec  ...  0.004 ms  LOST/TOTAL (P%)  receiver"
  line=$(echo "$out" | grep -E ' receiver$' | tail -1)
  echo "$line" | awk -v before="$before" -v after="$after" '
    { for (i=1;i<=NF;i++) { if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, lt, "/"); lost=lt[1]; total=lt[2] }
                            if ($i ~ /^[0-9.]+-[0-9.]+$/) { split($i, t, "-"); secs=t[2]-t[1] } } }
    END { split(before, b, " "); split(after, a, " ")
          if (total > 0 && secs > 0) printf "%.0f %.2f %.0f\n", (total-lost)/secs, 100*lost/total, (a[1]+a[2]-b[1]-b[2])/secs
          else print "n/a n/a n/a" }'
}
# rtt NS IP -> "p50 p99" in microseconds
rtt() {
  local ns=$1 ip=$2
  ip netns exec "$ns" ping -c 3 -W 2 "$ip" >/dev/null   # ARP and warm-up outside the sample
  # the echo path warm in every path's code (vsnicd's JIT: a few pings leave it interpreted)
  [ "$ping_flood" = 0 ] || ip netns exec "$ns" ping -f -c "$ping_flood" -W 1 "$ip" >/dev/null || true
  ip netns exec "$ns" ping -c "$pings" -i 0.01 -W 2 "$ip" | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -g |
    awk '{ v[NR]=$1 } END { if (NR==0) { print "n/a n/a"; exit } p50=v[int((NR-1)*0.50)+1]; p99=v[int((NR-1)*0.99)+1]; printf "%.0f %.0f\n", p50*1000, p99*1000 }'
}
median() {   # median FORMAT VALUE... -> the median (the mean of the middle two for an even count), or n/a
  local format=$1
  shift
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
    awk -v f="$format" '{ v[NR]=$1 } END { if (NR==0) print "n/a"; else if (NR%2) printf f, v[(NR+1)/2]; else printf f, (v[NR/2]+v[NR/2+1])/2 }'
}
. "$here/lib/cpu.sh"   # busy_jiffies, cpu_per_gbit
rss_mib() {   # total RSS (MiB) of the lab's vsnicd processes, one figure per device
  local pids
  pids=$(sed -n 's/.*"pid" : \([0-9]*\).*/\1/p' "/run/vsnic-lab/$lab/lab.json")
  for p in $pids; do awk '/VmRSS/ { printf "%d ", $2/1024 }' "/proc/$p/status"; done
}

declare -A result
measure() {   # measure NAME NS_CLIENT NS_SERVER SERVER_IP
  local name=$1 client=$2 server=$3 ip=$4 up=0
  # reachable first (ARP, a WireGuard handshake: wireguard-go drops what it is sent before its first session)
  for _ in $(seq 30); do ip netns exec "$client" ping -c 1 -W 1 "$ip" >/dev/null 2>&1 && { up=1; break; }; done
  [ $up = 1 ] || { echo "e2e.sh: $name: $ip not reachable from $client in 30 s" >&2; return 1; }
  if [ "$warmup" -gt 0 ]; then
    # both stream counts: four interleaved flows take branches (and compilations) that one does not
    echo "  $name: warm-up, iperf3 TCP 1 stream, then 4 streams, ${warmup} s each (not measured)"
    seconds=$warmup iperf "$client" "$server" "$ip" 1 >/dev/null
    seconds=$warmup iperf "$client" "$server" "$ip" 4 >/dev/null
  fi
  local busy0 busy1 k gbps runs1=() runs4=() cpus=()
  for ((k = 1; k <= repeat; k++)); do
    echo "  $name: iperf3 TCP 1 stream, ${seconds} s ($k of $repeat, round $round of $rounds)"
    busy0=$(busy_jiffies)
    gbps=$(iperf "$client" "$server" "$ip" 1)
    busy1=$(busy_jiffies)
    runs1+=("$gbps")
    cpus+=("$(cpu_per_gbit "$busy0" "$busy1" "$gbps" "$seconds" %.2f)")
  done
  for ((k = 1; k <= repeat; k++)); do
    echo "  $name: iperf3 TCP 4 streams, ${seconds} s ($k of $repeat, round $round of $rounds)"
    runs4+=("$(iperf "$client" "$server" "$ip" 4)")
  done
  # this round's figures (for the per-round ratios), then every run so far (for the medians)
  result[$name.tcp1.r$round]=$(median %.3f "${runs1[@]}")
  result[$name.tcp4.r$round]=$(median %.3f "${runs4[@]}")
  result[$name.tcp1runs]="${result[$name.tcp1runs]:-} ${runs1[*]}"
  result[$name.tcp4runs]="${result[$name.tcp4runs]:-} ${runs4[*]}"
  result[$name.cpu1runs]="${result[$name.cpu1runs]:-} ${cpus[*]}"
  # shellcheck disable=SC2086 # the lists are space-separated numbers
  result[$name.tcp1]=$(median %.3f ${result[$name.tcp1runs]})
  # shellcheck disable=SC2086
  result[$name.tcp4]=$(median %.3f ${result[$name.tcp4runs]})
  # shellcheck disable=SC2086
  result[$name.cpu1]=$(median %.2f ${result[$name.cpu1runs]})
  [ "$round" = 1 ] || return 0
  echo "  $name: iperf3 UDP 64-byte datagrams, -b $udp_rate, ${seconds} s"
  read -r pps loss delivered < <(udp64 "$client" "$server" "$ip")
  result[$name.udp64]=$pps
  result[$name.udp64loss]=$loss
  result[$name.udp64delivered]=$delivered
  echo "  $name: ping, $pings at 10 ms"
  read -r p50 p99 < <(rtt "$client" "$ip")
  result[$name.p50]=$p50
  result[$name.p99]=$p99
}

# --- (a) vsnic plain Geneve, (b) vsnic encrypted ---------------------------------------------------
declare -A rss_idle rss_load
vsnic_lab() {   # vsnic_lab NAME on|off [OFFLOADS on|off]
  local name=$1 encryption=$2 offloads=${3:-on}
  # stderr: the JVM's incubator-module notice is dropped, a failure's message is shown
  VSNIC_LAB_OFFLOADS=$offloads "$vsnic" lab up --devices 2 --vms-per-device 1 --encryption "$encryption" --name "$lab" \
    2> >(grep -v 'incubator modules' >&2) | sed 's/^/  /'
  sleep 2
  [ "$round" = 1 ] && rss_idle[$name]=$(rss_mib)
  measure "$name" "vl-$lab-d1v1" "vl-$lab-d2v1" 10.77.2.11
  [ "$round" = 1 ] && rss_load[$name]=$(rss_mib)
  [ "$round" = 1 ] && "$vsnic" lab status --name "$lab" 2>/dev/null | sed -n '/PEERS/,/^$/p' | sed 's/^/  /'
  "$vsnic" lab down --name "$lab" >/dev/null 2>&1
}
want() { [[ " $paths " == *" $1 "* ]]; }

# --- (c) kernel VXLAN, (d) kernel VXLAN over wireguard-go, over the same kind of substrate ---------
# kernel_lab LAB wg|plain: substrate bridge, per device a VXLAN device bridged to the VM's veth; with
# wg the VXLAN device's local/remote are the wireguard-go tunnel addresses 10.78.0.N instead of the
# substrate addresses, so every VXLAN datagram travels inside WireGuard.
# lab_substrate LAB: the substrate namespace vl-LAB-s with its bridge br0
lab_substrate() {
  ip netns add "vl-$1-s"; ip -n "vl-$1-s" link set lo up
  ip -n "vl-$1-s" link add br0 type bridge; ip -n "vl-$1-s" link set br0 up
}
# lab_device LAB D: device namespace vl-LAB-dD on the substrate bridge (sub0, 10.76.0.D/24) and the empty
# namespace of its VM, vl-LAB-dDv1
lab_device() {
  local s="vl-$1-s" dev="vl-$1-d$2" vm="vl-$1-d$2v1"
  ip netns add "$dev"; ip -n "$dev" link set lo up
  ip netns add "$vm"; ip -n "$vm" link set lo up
  ip -n "$s" link add "s$2" type veth peer name sub0 netns "$dev"
  ip -n "$s" link set "s$2" master br0 up
  ip -n "$dev" addr add "10.76.0.$2/24" dev sub0; ip -n "$dev" link set sub0 up
}
kernel_lab() {
  local klab=$1 mode=$2 d dev vm other local_ip remote_ip mtu=1400
  lab_substrate "$klab"
  if [ "$mode" = wg ]; then
    wgdir=$(mktemp -d); mtu=1370   # wireguard-go's tunnel MTU 1420 minus VXLAN's 50
    for d in 1 2; do (umask 077; wg genkey > "$wgdir/d$d.key"); wg pubkey < "$wgdir/d$d.key" > "$wgdir/d$d.pub"; done
  fi
  for d in 1 2; do
    dev="vl-$klab-d$d"; vm="vl-$klab-d${d}v1"; other=$((3 - d))
    lab_device "$klab" "$d"
    local_ip=10.76.0.$d; remote_ip=10.76.0.$other
    if [ "$mode" = wg ]; then
      # one control socket per interface name (/var/run/wireguard/IFNAME.sock is shared by all namespaces)
      local wgif="wg$klab$d"
      ip netns exec "$dev" wireguard-go -f "$wgif" > "$wgdir/wireguard-go-d$d.log" 2>&1 &
      local ready=0
      for _ in $(seq 400); do ip netns exec "$dev" wg show "$wgif" >/dev/null 2>&1 && { ready=1; break; }; sleep 0.05; done
      if [ $ready = 0 ]; then
        echo "e2e.sh: wireguard-go $wgif in $dev has no control socket after 20 s; its output:" >&2
        cat "$wgdir/wireguard-go-d$d.log" >&2
        return 1
      fi
      ip netns exec "$dev" wg set "$wgif" listen-port 51820 private-key "$wgdir/d$d.key" \
        peer "$(cat "$wgdir/d$other.pub")" endpoint "10.76.0.$other:51820" allowed-ips "10.78.0.$other/32"
      ip -n "$dev" addr add "10.78.0.$d/24" dev "$wgif"
      ip -n "$dev" link set "$wgif" mtu 1420 up
      # wireguard-go opens its UDP port only once the link is up: wait for it before the first handshake
      for _ in $(seq 400); do ip netns exec "$dev" ss -Hlun 'sport = :51820' | grep -q . && break; sleep 0.05; done
      local_ip=10.78.0.$d; remote_ip=10.78.0.$other
    fi
    ip -n "$dev" link add vxlan100 type vxlan id 100 local "$local_ip" remote "$remote_ip" dstport 4789 nolearning
    ip -n "$dev" link add br0 type bridge
    ip -n "$dev" link set vxlan100 master br0 up
    ip -n "$dev" link add vm1 type veth peer name eth0 netns "$vm"
    ip -n "$dev" link set vm1 master br0 up
    ip -n "$dev" link set br0 up
    ip -n "$vm" link set eth0 mtu "$mtu"
    ip -n "$vm" addr add "10.77.$d.11/16" dev eth0; ip -n "$vm" link set eth0 up
  done
}
# --- (g), (h) the floor relay -----------------------------------------------------------------------
# floor_lab LAB plain|wg: substrate bridge and device namespaces as in kernel_lab; per device a VM namespace
# with a persistent TAP (the VM's eth0, addressed and with the other VM's MAC as a static neighbour: the
# relay answers no ARP) and floorrelay attached to it, its UDP socket in the device namespace, pinned to the
# CPU vsnic's worker of that device would take (VSNIC_LAB_WORKER_CPUS=none: not pinned)
floor_lab() {
  local flab=$1 mode=$2 d dev vm other mtu=1400 encrypt=() cpu
  [ "$mode" = wg ] && { mtu=1340; encrypt=(-e); }
  lab_substrate "$flab"
  for d in 1 2; do
    dev="vl-$flab-d$d"; vm="vl-$flab-d${d}v1"; other=$((3 - d))
    lab_device "$flab" "$d"
    ip -n "$vm" tuntap add dev eth0 mode tap
    ip -n "$vm" link set eth0 address "02:00:00:00:0$d:11" mtu "$mtu"
    ip -n "$vm" addr add "10.77.$d.11/16" dev eth0; ip -n "$vm" link set eth0 up
    ip -n "$vm" neigh replace "10.77.$other.11" lladdr "02:00:00:00:0$other:11" dev eth0
    cpu=$(( (d - 1) % $(nproc) )); [ "${VSNIC_LAB_WORKER_CPUS:-auto}" = none ] && cpu=-1
    ip netns exec "$vm" "$relay" "${encrypt[@]}" eth0 "/var/run/netns/$dev" "10.76.0.$d" "10.76.0.$other" "$cpu" \
      2> >(sed "s/^/  d$d: /" >&2) &
  done
}
floor_down() {   # floor_down LAB: stops the relays (they print their counters) and removes the namespaces
  local pids
  pids=$(for n in "vl-$1-d1v1" "vl-$1-d2v1"; do ip netns pids "$n" 2>/dev/null; done)
  # shellcheck disable=SC2086 # a list of process ids
  [ -z "$pids" ] || { kill $pids 2>/dev/null; sleep 0.3; }
  "$vsnic" lab down --name "$1" >/dev/null 2>&1
}
run_path() {   # run_path LETTER: one round of one path, in a fresh lab
  case "$1" in
    a)
      echo "(a) vsnic plain Geneve: vsnic lab up --devices 2 --vms-per-device 1 --encryption off --name $lab"
      vsnic_lab vsnic off
      ;;
    e)
      echo "(e) vsnic plain Geneve, offloads off: VSNIC_LAB_OFFLOADS=off vsnic lab up --devices 2 --vms-per-device 1 --encryption off --name $lab"
      vsnic_lab vsnicoff off off
      ;;
    b)
      echo "(b) vsnic encrypted: vsnic lab up --devices 2 --vms-per-device 1 --encryption on --name $lab"
      vsnic_lab vsnicwg on
      ;;
    f)
      echo "(f) vsnic encrypted, offloads off: VSNIC_LAB_OFFLOADS=off vsnic lab up --devices 2 --vms-per-device 1 --encryption on --name $lab"
      vsnic_lab vsnicwgoff on off
      ;;
    c)
      echo "(c) kernel VXLAN: namespaces vl-$klab-*, VM veth -- device bridge -- vxlan100 -- veth -- substrate bridge"
      kernel_lab "$klab" plain
      measure kernel "vl-$klab-d1v1" "vl-$klab-d2v1" 10.77.2.11
      "$vsnic" lab down --name "$klab" >/dev/null 2>&1
      ;;
    d)
      echo "(d) kernel VXLAN over wireguard-go: namespaces vl-$wlab-*, VM veth -- device bridge -- vxlan100 -- wireguard-go tunnel -- veth -- substrate bridge"
      kernel_lab "$wlab" wg
      measure kernelwg "vl-$wlab-d1v1" "vl-$wlab-d2v1" 10.77.2.11
      echo "  wireguard-go d1: $(ip netns exec "vl-$wlab-d1" wg show "wg${wlab}1" transfer | awk '{ printf "rx %s B, tx %s B", $2, $3 }'), last handshake $(ip netns exec "vl-$wlab-d1" wg show "wg${wlab}1" latest-handshakes | awk '{ print $2 }') (epoch s)"
      "$vsnic" lab down --name "$wlab" >/dev/null 2>&1
      rm -rf "$wgdir"
      ;;
    g)
      echo "(g) floor relay, plain: namespaces vl-$flab-*, VM TAP -- floorrelay (C) -- UDP GSO/GRO -- veth -- substrate bridge"
      floor_lab "$flab" plain
      measure floor "vl-$flab-d1v1" "vl-$flab-d2v1" 10.77.2.11
      floor_down "$flab"
      ;;
    h)
      echo "(h) floor relay, encrypted: as (g), ChaCha20-Poly1305 per datagram (OpenSSL EVP)"
      floor_lab "$flab" wg
      measure floorwg "vl-$flab-d1v1" "vl-$flab-d2v1" 10.77.2.11
      floor_down "$flab"
      ;;
  esac
}
# the paths in the order a e b f c d g h; every second round in the reverse order, so that a drift of the
# host's pace over the run falls on both sides of each ratio
order=""
for path in a e b f c d g h; do want "$path" && order="${order:+$order }$path"; done
for ((round = 1; round <= rounds; round++)); do
  if ((round % 2)); then sequence=$order; else sequence=$(echo $order | tr ' ' '\n' | tac | paste -sd' '); fi
  [ "$rounds" -gt 1 ] && echo "--- round $round of $rounds: $sequence ---"
  for path in $sequence; do run_path "$path"; done
done

# --- report ---------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a+0) { r = a / b; printf (r < 0.1 ? "%.3f" : "%.2f"), r } else printf "n/a" }'; }
echo
echo "TCP congestion control of the iperf3 senders: $cc; vsnic workers pinned: ${VSNIC_LAB_WORKER_CPUS:-auto} (VSNIC_LAB_WORKER_CPUS)"
printf "%-22s %9s %9s %9s %9s %9s %10s | %7s %7s %7s %7s %7s\n" "" "vsnic (a)" "(e) plain" "vsnic+wg" "(f) +wg" "kernel" "kern+wg-go" \
  "(b)/(d)" "(a)/(c)" "(b)/(c)" "(a)/(e)" "(b)/(f)"
printf "%-22s %9s %9s %9s %9s %9s %10s | %7s %7s %7s %7s %7s\n" "" "plain" "offl. off" "(b)" "offl. off" "VXLAN (c)" "(d)" \
  "" "" "" "offl." "offl."
row() {   # row LABEL KEY [noratio]
  local a=${result[vsnic.$2]:-} b=${result[vsnicwg.$2]:-} c=${result[kernel.$2]:-} d=${result[kernelwg.$2]:-}
  local e=${result[vsnicoff.$2]:-} f=${result[vsnicwgoff.$2]:-}
  if [ "${3:-}" = noratio ]; then
    printf "%-22s %9s %9s %9s %9s %9s %10s |\n" "$1" "$a" "$e" "$b" "$f" "$c" "$d"
  else
    printf "%-22s %9s %9s %9s %9s %9s %10s | %7s %7s %7s %7s %7s\n" "$1" "$a" "$e" "$b" "$f" "$c" "$d" \
      "$(ratio "$b" "$d")" "$(ratio "$a" "$c")" "$(ratio "$b" "$c")" "$(ratio "$a" "$e")" "$(ratio "$b" "$f")"
  fi
}
row "TCP 1 stream Gbit/s" tcp1
row "TCP 4 streams Gbit/s" tcp4
row "UDP 64 B received/s" udp64
row "UDP 64 B loss %" udp64loss noratio
row "UDP 64 B to VM/s" udp64delivered
row "ping p50 us" p50
row "ping p99 us" p99
row "CPU s per Gbit (TCP 1)" cpu1 noratio
if want g || want h; then
  printf "%-22s %9s %9s | %7s %7s %7s %7s\n" "" "floor (g)" "floor+wg" "(a)/(g)" "(b)/(h)" "(g)/(c)" "(h)/(c)"
  floor_row() {   # floor_row LABEL KEY [noratio]
    local a=${result[vsnic.$2]:-} b=${result[vsnicwg.$2]:-} c=${result[kernel.$2]:-} g=${result[floor.$2]:-} h=${result[floorwg.$2]:-}
    if [ "${3:-}" = noratio ]; then
      printf "%-22s %9s %9s |\n" "$1" "$g" "$h"
    else
      printf "%-22s %9s %9s | %7s %7s %7s %7s\n" "$1" "$g" "$h" "$(ratio "$a" "$g")" "$(ratio "$b" "$h")" "$(ratio "$g" "$c")" "$(ratio "$h" "$c")"
    fi
  }
  floor_row "TCP 1 stream Gbit/s" tcp1
  floor_row "TCP 4 streams Gbit/s" tcp4
  floor_row "UDP 64 B to VM/s" udp64delivered
  floor_row "ping p50 us" p50
  floor_row "CPU s per Gbit (TCP 1)" cpu1 noratio
fi
if [ "$repeat" -gt 1 ] || [ "$rounds" -gt 1 ]; then
  echo "(TCP and CPU figures: the median of $((repeat * rounds)) runs each; every run is in the JSON)"
fi
num() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { if (v == v+0) print v; else print "null" }' || echo null; }
list() { echo "[$(echo "$1" | tr ' ' '\n' | grep -E '^[0-9.]+$' | paste -sd, -)]"; }
# round_ratios NUM DEN KEY -> the ratio NUM/DEN of each round's KEY figure (tcp1, tcp4), space-separated
round_ratios() {
  local r out=""
  for ((r = 1; r <= rounds; r++)); do out="$out $(ratio "${result[$1.$3.r$r]:-}" "${result[$2.$3.r$r]:-}")"; done
  echo $out
}
declare -A pairs=([vsnicPlainOverKernelVxlan]="vsnic kernel (a)/(c)" [vsnicEncryptedOverKernelPlain]="vsnicwg kernel (b)/(c)"
                  [vsnicEncryptedOverWireguardGo]="vsnicwg kernelwg (b)/(d)" [vsnicPlainOffloadsOnOverOff]="vsnic vsnicoff (a)/(e)"
                  [vsnicEncryptedOffloadsOnOverOff]="vsnicwg vsnicwgoff (b)/(f)" [vsnicPlainOverFloorRelay]="vsnic floor (a)/(g)"
                  [vsnicEncryptedOverFloorRelayEncrypted]="vsnicwg floorwg (b)/(h)" [floorRelayOverKernelVxlan]="floor kernel (g)/(c)"
                  [floorRelayEncryptedOverKernelPlain]="floorwg kernel (h)/(c)")
round_json=""
if [ "$rounds" -gt 1 ]; then
  header="Ratios per round (the two paths of a ratio measured minutes apart), TCP 1 stream | 4 streams, and their medians:"
  for key in vsnicPlainOverKernelVxlan vsnicEncryptedOverKernelPlain vsnicEncryptedOverWireguardGo vsnicPlainOffloadsOnOverOff vsnicEncryptedOffloadsOnOverOff \
             vsnicPlainOverFloorRelay vsnicEncryptedOverFloorRelayEncrypted floorRelayOverKernelVxlan floorRelayEncryptedOverKernelPlain; do
    read -r upper lower label <<< "${pairs[$key]}"
    [ -n "${result[$upper.tcp1.r1]:-}" ] && [ -n "${result[$lower.tcp1.r1]:-}" ] || continue
    r1=$(round_ratios "$upper" "$lower" tcp1); r4=$(round_ratios "$upper" "$lower" tcp4)
    # shellcheck disable=SC2086 # space-separated numbers
    m1=$(median %.3f $r1); m4=$(median %.3f $r4)
    [ -n "$header" ] && { echo "$header"; header=""; }
    printf "  %-8s %s (median %s) | %s (median %s)\n" "$label" "$r1" "$m1" "$r4" "$m4"
    round_json="$round_json${round_json:+, }\"$key\": {\"tcp1\": $(list "$r1"), \"tcp1Median\": $(num "$m1"), \"tcp4\": $(list "$r4"), \"tcp4Median\": $(num "$m4")}"
  done
fi
echo "vsnicd RSS MiB per device: plain idle ${rss_idle[vsnic]:-}/after load ${rss_load[vsnic]:-}; encrypted idle ${rss_idle[vsnicwg]:-}/after load ${rss_load[vsnicwg]:-}"
echo "(a)/(e), (b)/(f): with the TAP offloads against without them (the same vsnic build, the same path otherwise)"

mkdir -p "$root/docs/performance"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json="$root/docs/performance/e2e-$stamp.json"
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
path_json() {   # path_json KEY
  echo "{\"tcp1Gbps\": $(num "${result[$1.tcp1]:-}"), \"tcp4Gbps\": $(num "${result[$1.tcp4]:-}"), \"udp64ReceivedPps\": $(num "${result[$1.udp64]:-}"), \"udp64LossPct\": $(num "${result[$1.udp64loss]:-}"), \"udp64DeliveredPps\": $(num "${result[$1.udp64delivered]:-}"), \"pingP50us\": $(num "${result[$1.p50]:-}"), \"pingP99us\": $(num "${result[$1.p99]:-}"), \"cpuSecondsPerGbitTcp1\": $(num "${result[$1.cpu1]:-}"), \"tcp1Runs\": $(list "${result[$1.tcp1runs]:-}"), \"tcp4Runs\": $(list "${result[$1.tcp4runs]:-}")"
}
ratio_json() { local r; r=$(ratio "$1" "$2"); [ "$r" = n/a ] && echo null || echo "$r"; }
cat > "$json" <<JSON
{
  "command": "jmh-benchmarks/e2e.sh (E2E_SECONDS=$seconds E2E_WARMUP=$warmup E2E_PINGS=$pings E2E_PING_FLOOD=$ping_flood E2E_UDP_RATE=$udp_rate E2E_REPEAT=$repeat E2E_ROUNDS=$rounds E2E_CC=$cc E2E_PATHS=\"$paths\")",
  "rounds": $rounds,
  "tcpCongestionControl": "$cc",
  "vsnicWorkerCpus": "${VSNIC_LAB_WORKER_CPUS:-auto}",
  "time": "$stamp",
  "machine": {"cpus": $(nproc), "cpu": "$cpu", "kernel": "$(uname -r)", "loadavg1AtEnd": $(cut -d' ' -f1 /proc/loadavg),
              "wireguardGo": "$(wireguard-go --version 2>/dev/null | head -1 | tr -d '"')"},
  "vsnicPlainGeneve": $(path_json vsnic), "rssIdleMiB": $(list "${rss_idle[vsnic]:-}"), "rssAfterLoadMiB": $(list "${rss_load[vsnic]:-}")},
  "vsnicEncrypted": $(path_json vsnicwg), "rssIdleMiB": $(list "${rss_idle[vsnicwg]:-}"), "rssAfterLoadMiB": $(list "${rss_load[vsnicwg]:-}")},
  "vsnicPlainGeneveOffloadsOff": $(path_json vsnicoff), "rssIdleMiB": $(list "${rss_idle[vsnicoff]:-}"), "rssAfterLoadMiB": $(list "${rss_load[vsnicoff]:-}")},
  "vsnicEncryptedOffloadsOff": $(path_json vsnicwgoff), "rssIdleMiB": $(list "${rss_idle[vsnicwgoff]:-}"), "rssAfterLoadMiB": $(list "${rss_load[vsnicwgoff]:-}")},
  "kernelVxlan": $(path_json kernel)},
  "kernelVxlanOverWireguardGo": $(path_json kernelwg)},
  "floorRelay": $(path_json floor)},
  "floorRelayEncrypted": $(path_json floorwg)},
  "ratios": {
    "vsnicEncryptedOverWireguardGo": {"tcp1": $(ratio_json "${result[vsnicwg.tcp1]:-}" "${result[kernelwg.tcp1]:-}"), "tcp4": $(ratio_json "${result[vsnicwg.tcp4]:-}" "${result[kernelwg.tcp4]:-}"), "udp64": $(ratio_json "${result[vsnicwg.udp64]:-}" "${result[kernelwg.udp64]:-}"), "udp64Delivered": $(ratio_json "${result[vsnicwg.udp64delivered]:-}" "${result[kernelwg.udp64delivered]:-}")},
    "vsnicPlainOverKernelVxlan": {"tcp1": $(ratio_json "${result[vsnic.tcp1]:-}" "${result[kernel.tcp1]:-}"), "tcp4": $(ratio_json "${result[vsnic.tcp4]:-}" "${result[kernel.tcp4]:-}"), "udp64": $(ratio_json "${result[vsnic.udp64]:-}" "${result[kernel.udp64]:-}"), "udp64Delivered": $(ratio_json "${result[vsnic.udp64delivered]:-}" "${result[kernel.udp64delivered]:-}")},
    "vsnicEncryptedOverKernelPlain": {"tcp1": $(ratio_json "${result[vsnicwg.tcp1]:-}" "${result[kernel.tcp1]:-}"), "tcp4": $(ratio_json "${result[vsnicwg.tcp4]:-}" "${result[kernel.tcp4]:-}"), "udp64": $(ratio_json "${result[vsnicwg.udp64]:-}" "${result[kernel.udp64]:-}"), "udp64Delivered": $(ratio_json "${result[vsnicwg.udp64delivered]:-}" "${result[kernel.udp64delivered]:-}")},
    "vsnicPlainOffloadsOnOverOff": {"tcp1": $(ratio_json "${result[vsnic.tcp1]:-}" "${result[vsnicoff.tcp1]:-}"), "tcp4": $(ratio_json "${result[vsnic.tcp4]:-}" "${result[vsnicoff.tcp4]:-}"), "udp64": $(ratio_json "${result[vsnic.udp64]:-}" "${result[vsnicoff.udp64]:-}"), "udp64Delivered": $(ratio_json "${result[vsnic.udp64delivered]:-}" "${result[vsnicoff.udp64delivered]:-}")},
    "vsnicEncryptedOffloadsOnOverOff": {"tcp1": $(ratio_json "${result[vsnicwg.tcp1]:-}" "${result[vsnicwgoff.tcp1]:-}"), "tcp4": $(ratio_json "${result[vsnicwg.tcp4]:-}" "${result[vsnicwgoff.tcp4]:-}"), "udp64": $(ratio_json "${result[vsnicwg.udp64]:-}" "${result[vsnicwgoff.udp64]:-}"), "udp64Delivered": $(ratio_json "${result[vsnicwg.udp64delivered]:-}" "${result[vsnicwgoff.udp64delivered]:-}")},
    "vsnicPlainOverFloorRelay": {"tcp1": $(ratio_json "${result[vsnic.tcp1]:-}" "${result[floor.tcp1]:-}"), "tcp4": $(ratio_json "${result[vsnic.tcp4]:-}" "${result[floor.tcp4]:-}")},
    "vsnicEncryptedOverFloorRelayEncrypted": {"tcp1": $(ratio_json "${result[vsnicwg.tcp1]:-}" "${result[floorwg.tcp1]:-}"), "tcp4": $(ratio_json "${result[vsnicwg.tcp4]:-}" "${result[floorwg.tcp4]:-}")},
    "floorRelayOverKernelVxlan": {"tcp1": $(ratio_json "${result[floor.tcp1]:-}" "${result[kernel.tcp1]:-}"), "tcp4": $(ratio_json "${result[floor.tcp4]:-}" "${result[kernel.tcp4]:-}")},
    "floorRelayEncryptedOverKernelPlain": {"tcp1": $(ratio_json "${result[floorwg.tcp1]:-}" "${result[kernel.tcp1]:-}"), "tcp4": $(ratio_json "${result[floorwg.tcp4]:-}" "${result[kernel.tcp4]:-}")}
  },
  "ratiosPerRound": {$round_json}
}
JSON
echo "wrote ${json#"$root/"}"
if /usr/bin/python3 "$here/e2e-chart.py" "$json" "${json%.json}.svg"; then
  echo "wrote ${json#"$root/"}" | sed 's/\.json$/.svg/'
fi
# the PNG chart (XChart, in the benchmarks jar): TCP, RTT and CPU per Gbit per path
. "$root/bin/lib/java25.sh"
if [ ! -f "$here/target/benchmarks.jar" ]; then
  (cd "$root" && ./mvnw -q -DskipTests package -pl jmh-benchmarks -am) || true
fi
if [ -f "$here/target/benchmarks.jar" ] &&
   "$JAVA_HOME/bin/java" -Djava.awt.headless=true -cp "$here/target/benchmarks.jar" io.vsnic.bench.E2eChart "$json" "${json%.json}.png"; then
  echo "wrote ${json#"$root/"}" | sed 's/\.json$/.png/'
else
  echo "e2e.sh: no PNG chart (the JVM needs fonts for AWT: apt-get install -y --no-install-recommends fontconfig fonts-dejavu-core)" >&2
fi
