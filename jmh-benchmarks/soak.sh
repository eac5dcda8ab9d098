#!/usr/bin/env bash
# Soak of the lab (root; not part of any test run): `vsnic lab up --devices 2 --vms-per-device 2
# --encryption on`, then for SOAK_SECONDS (default 600):
#   - iperf3 TCP d1v1 -> d2v1 (rate SOAK_TCP_RATE, default 200M) and iperf3 UDP d2v2 -> d1v2 (1200-byte
#     datagrams at SOAK_UDP_RATE, default 50M), both across the devices,
#   - ping d1v2 -> d2v1 and d2v2 -> d1v1 every 50 ms,
#   - a route change every second on each device through its REST API (POST a reject route
#     192.168.N.0/24 to network "lab", DELETE it the next second),
#   - WireGuard rekeying every SOAK_REKEY_SECONDS (default 30): the lab writes
#     substrate.wireguard.rekeyAfterSeconds into each device's configuration ($VSNIC_LAB_REKEY_SECONDS),
#     so a session older than that starts a new handshake when it sends; the handshakes are counted
#     in each device's key log (one LOCAL_EPHEMERAL_PRIVATE_KEY line per handshake it initiates or answers).
# Figures are taken after SOAK_WARMUP seconds (default 60) and at the end (traffic still running):
# RSS, anonymous RSS, the frame pools' resident memory (mmap'ed, from /proc/PID/smaps), NMT "Other"
# (direct ByteBuffers and FFM arenas; the daemons run with -XX:NativeMemoryTracking=summary), heap,
# threads and open fds of each vsnicd. After the traffic stops (and 3 s of quiet) it checks, per
# device, that every frame the data plane took in is accounted for:
#   rx + (segments_built - super_frames_segmented) - segments_coalesced + icmp_errors_sent
#      ==  tx + sum(vsnic_dataplane_drops_total by reason)
# (segmentation turns one super-frame into N frames; segments_coalesced counts the segments merged into
# an earlier one, each one frame fewer; an ICMP error is a frame the data plane makes; every other frame
# leaves once or is dropped with a reason), and that the daemons still answer the API. It also prints
# the losses that happen in the kernel, outside vsnic's counters: a VM's TAP queue overflowing before
# the worker reads it (tx_dropped of the VM's interface), and the substrate sockets' receive buffers
# (UDP RcvbufErrors in the device namespaces), next to iperf3's UDP loss and ping's. Exit status 1 when a check fails:
#   RSS growth > SOAK_RSS_SLACK_MIB (default 24: the heap may still grow towards -Xmx, the JIT's code
#   cache fills), direct memory (pools + NMT Other) growth > SOAK_DIRECT_SLACK_MIB (default 4),
#   fd growth > 2, a failed route change, fewer handshakes than SOAK_SECONDS / SOAK_REKEY_SECONDS - 2
#   (all devices), an unbalanced frame account, datagrams or echoes lost end to end (iperf3 UDP, ping)
#   beyond what the kernel's and vsnic's drop counters hold, a daemon not answering.
#
#   jmh-benchmarks/soak.sh                         # 10 minutes
#   SOAK_SECONDS=120 SOAK_WARMUP=30 jmh-benchmarks/soak.sh
#   SOAK_LAB=soak2 (lab name, 1..8 of [a-z0-9])
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/bin/lib/java25.sh"
. "$here/lib/memory.sh"
seconds=${SOAK_SECONDS:-600}
warmup=${SOAK_WARMUP:-60}
rekey=${SOAK_REKEY_SECONDS:-30}
tcp_rate=${SOAK_TCP_RATE:-200M}
udp_rate=${SOAK_UDP_RATE:-50M}
rss_slack=${SOAK_RSS_SLACK_MIB:-24}
direct_slack=${SOAK_DIRECT_SLACK_MIB:-4}
lab=${SOAK_LAB:-soak}
vsnic="$root/bin/vsnic"
if [ "$(id -u)" != 0 ]; then echo "soak.sh: needs root (network namespaces, TAP)" >&2; exit 1; fi
if ! [[ $lab =~ ^[a-z0-9]{1,8}$ ]]; then echo "soak.sh: SOAK_LAB must be 1..8 of [a-z0-9]: $lab" >&2; exit 1; fi
if [ "$warmup" -ge "$seconds" ]; then echo "soak.sh: SOAK_WARMUP ($warmup) must be below SOAK_SECONDS ($seconds)" >&2; exit 1; fi
for tool in ip iperf3 ping udhcpc curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "soak.sh: needs $tool (apt-get install -y --no-install-recommends $tool)" >&2; exit 1; }
done
if [ ! -f "$root/orchestrator/target/vsnic-orchestrator.jar" ]; then (cd "$root" && ./mvnw -q -DskipTests package); fi

"$vsnic" lab down --name "$lab" >/dev/null 2>&1 || true   # a lab of that name left by an earlier run
work=$(mktemp -d /tmp/vsnic-soak.XXXXXX)
cleanup() {
  "$vsnic" lab down --name "$lab" >/dev/null 2>&1 || true   # stops iperf3 and ping inside the namespaces too
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "soak.sh: lab $lab, 2 devices x 2 VMs, encryption on, rekey every ${rekey} s, ${seconds} s (warm-up ${warmup} s)"
lab_opts=${VSNIC_LAB_JAVA_OPTS:-"-Xms16m -Xmx128m -XX:+UseSerialGC -XX:TrimNativeHeapInterval=5000"}   # Lab.DaemonLauncher.DEFAULT_JAVA_OPTS
VSNIC_LAB_REKEY_SECONDS=$rekey VSNIC_LAB_JAVA_OPTS="$lab_opts -XX:NativeMemoryTracking=summary" \
  "$vsnic" lab up --devices 2 --vms-per-device 2 --encryption on --name "$lab" 2> >(grep -v 'incubator modules' >&2) | sed 's/^/  /'
labdir=/run/vsnic-lab/$lab
mapfile -t pids < <(sed -n 's/.*"pid" : \([0-9]*\).*/\1/p' "$labdir/lab.json")
[ "${#pids[@]}" = 2 ] || { echo "soak.sh: expected 2 vsnicd pids in $labdir/lab.json, found ${#pids[@]}" >&2; exit 1; }
pool_kib="$((4096 * 9472 / 1024)) $((256 * 66048 / 1024))"   # the lab's 4096 frame slots and 256 super-frame slots

api() {   # api DEVICE METHOD PATH [JSON] -> HTTP status; body in $work/answer
  local data=()
  [ -n "${4:-}" ] && data=(-H 'Content-Type: application/json' --data "$4")
  ip netns exec "vl-$lab-d$1" curl -sS -m 10 -o "$work/answer" -w '%{http_code}' -X "$2" "${data[@]}" "http://127.0.0.1:9470$3" || echo 000
}
handshakes() { cat "$labdir"/d*/wg.keylog 2>/dev/null | grep -c LOCAL_EPHEMERAL_PRIVATE_KEY || true; }
declare -A fig
snapshot() {   # snapshot PHASE: memory and fds of both daemons
  local d p heap
  for d in 1 2; do
    p=${pids[$((d - 1))]}
    heap=$(heap_mib "$p")
    fig[$1.$d.rss]=$(status_mib "$p" VmRSS)
    fig[$1.$d.anon]=$(status_mib "$p" RssAnon)
    fig[$1.$d.pools]=$(pool_rss_mib "$p" $pool_kib)
    fig[$1.$d.other]=$(nmt_other_mib "$p")
    fig[$1.$d.heap]=${heap% *}
    fig[$1.$d.heapc]=${heap#* }
    fig[$1.$d.threads]=$(awk '/^Threads:/ { print $2 }' "/proc/$p/status")
    fig[$1.$d.fds]=$(fd_count "$p")
  done
  fig[$1.handshakes]=$(handshakes)
}

# --- traffic --------------------------------------------------------------------------------------
ns() { echo "vl-$lab-$1"; }
for pair in "d1v1 10.77.2.11" "d2v2 10.77.1.12" "d1v2 10.77.2.11" "d2v2 10.77.1.11"; do
  set -- $pair; up=0
  for _ in $(seq 30); do ip netns exec "$(ns "$1")" ping -c 1 -W 1 "$2" >/dev/null 2>&1 && { up=1; break; }; done
  [ $up = 1 ] || { echo "soak.sh: $2 not reachable from $1 in 30 s" >&2; exit 1; }
done
ip netns exec "$(ns d2v1)" iperf3 -s -p 5201 -1 > "$work/tcp-server.log" 2>&1 &
ip netns exec "$(ns d1v2)" iperf3 -s -p 5202 -1 > "$work/udp-server.log" 2>&1 &
sleep 1
ip netns exec "$(ns d1v1)" iperf3 -c 10.77.2.11 -p 5201 -t "$seconds" -b "$tcp_rate" -f m > "$work/tcp.log" 2>&1 &
tcp_pid=$!
ip netns exec "$(ns d2v2)" iperf3 -c 10.77.1.12 -p 5202 -u -l 1200 -t "$seconds" -b "$udp_rate" -f m > "$work/udp.log" 2>&1 &
udp_pid=$!
# -c, not -w: ping then waits for the replies still in flight at the end instead of counting them lost
ip netns exec "$(ns d1v2)" ping -i 0.05 -c "$((seconds * 20))" 10.77.2.11 > "$work/ping1.log" 2>&1 &
ping1_pid=$!
ip netns exec "$(ns d2v2)" ping -i 0.05 -c "$((seconds * 20))" 10.77.1.11 > "$work/ping2.log" 2>&1 &
ping2_pid=$!

# --- route changes every second, figures at warm-up and at the end --------------------------------
start=$(date +%s)
route_ok=0; route_failed=0; i=0
while :; do
  now=$(date +%s); elapsed=$((now - start))
  [ "$elapsed" -ge "$seconds" ] && break
  if [ "$elapsed" -ge "$warmup" ] && [ -z "${fig[warm.1.rss]:-}" ]; then
    snapshot warm
    echo "  warm-up figures taken at ${elapsed} s"
  fi
  if [ $((i % 60)) = 0 ]; then echo "  ${elapsed} s: ${route_ok} route changes, ${route_failed} failed, $(handshakes) handshakes"; fi
  n=$(( (i / 2) % 250 ))
  for d in 1 2; do
    if [ $((i % 2)) = 0 ]; then
      status=$(api "$d" POST /v1/networks/lab/routes "{\"prefix\": \"192.168.$n.0/24\", \"target\": {\"type\": \"reject\"}}")
      want=201
    else
      status=$(api "$d" DELETE "/v1/networks/lab/routes?prefix=192.168.$n.0/24")
      want=204
    fi
    if [ "$status" = "$want" ]; then route_ok=$((route_ok + 1)); else
      route_failed=$((route_failed + 1)); echo "  route change on d$d: HTTP $status (wanted $want): $(head -c 300 "$work/answer" 2>/dev/null)" >&2
    fi
  done
  i=$((i + 1))
  sleep "$(awk -v s="$start" -v i="$i" -v now="$(date +%s.%N)" 'BEGIN { d = s + i - now; print (d > 0 ? d : 0) }')"
done
snapshot end
wait "$tcp_pid" "$udp_pid" "$ping1_pid" "$ping2_pid" 2>/dev/null || true
# leave no route of ours behind (an odd number of steps ends with one added)
if [ $((i % 2)) = 1 ]; then for d in 1 2; do api "$d" DELETE "/v1/networks/lab/routes?prefix=192.168.$(( ((i - 1) / 2) % 250 )).0/24" >/dev/null; done; fi
sleep 3

# --- report ---------------------------------------------------------------------------------------
failed=0
fail() { echo "FAIL: $*"; failed=1; }
tcp=$(awk '/receiver/ { for (i=1;i<=NF;i++) if ($i=="Mbits/sec") v=$(i-1) } END { print v+0 }' "$work/tcp.log")
udp_line=$(grep -E ' receiver$' "$work/udp.log" | tail -1 || true)
echo
echo "traffic: TCP $tcp Mbit/s received; UDP: ${udp_line:-no summary ($(tail -2 "$work/udp.log" | tr '\n' ' '))}"
for f in ping1 ping2; do echo "ping $f: $(grep -E 'packets transmitted|rtt' "$work/$f.log" | tr '\n' ' ')"; done
echo "route changes through the API: $route_ok ok, $route_failed failed"
[ "$route_failed" = 0 ] || fail "$route_failed route changes failed"
rekeys=$((fig[end.handshakes] - fig[warm.handshakes]))
want_rekeys=$(( (seconds - warmup) / rekey - 2 )); [ "$want_rekeys" -lt 1 ] && want_rekeys=1
echo "WireGuard handshakes (both devices' key logs): ${fig[warm.handshakes]} at warm-up, ${fig[end.handshakes]} at the end: $rekeys in $((seconds - warmup)) s (rekey every $rekey s: at least $want_rekeys expected)"
[ "$rekeys" -ge "$want_rekeys" ] || fail "only $rekeys handshakes after warm-up"
printf "\n%-8s %-22s %10s %10s %10s\n" device figure warm-up end growth
for d in 1 2; do
  for k in rss anon pools other heap heapc threads fds; do
    label=$(case $k in rss) echo "RSS MiB";; anon) echo "RSS anon MiB";; pools) echo "frame pools MiB";; other) echo "NMT Other MiB";;
            heap) echo "heap used MiB";; heapc) echo "heap committed MiB";; threads) echo threads;; fds) echo "open fds";; esac)
    printf "%-8s %-22s %10s %10s %10s\n" "d$d" "$label" "${fig[warm.$d.$k]}" "${fig[end.$d.$k]}" \
      "$(awk -v a="${fig[warm.$d.$k]}" -v b="${fig[end.$d.$k]}" 'BEGIN { printf "%+.1f", b - a }')"
  done
  over() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { exit !(b - a > s) }'; }
  over "${fig[warm.$d.rss]}" "${fig[end.$d.rss]}" "$rss_slack" && fail "d$d RSS grew by more than $rss_slack MiB"
  direct_warm=$(awk -v a="${fig[warm.$d.pools]}" -v b="${fig[warm.$d.other]}" 'BEGIN { print a + b }')
  direct_end=$(awk -v a="${fig[end.$d.pools]}" -v b="${fig[end.$d.other]}" 'BEGIN { print a + b }')
  over "$direct_warm" "$direct_end" "$direct_slack" && fail "d$d direct memory (pools + NMT Other) grew by more than $direct_slack MiB"
  over "${fig[warm.$d.fds]}" "${fig[end.$d.fds]}" 2 && fail "d$d open fds grew from ${fig[warm.$d.fds]} to ${fig[end.$d.fds]}"
done

echo
for d in 1 2; do
  status=$(api "$d" GET /metrics)
  if [ "$status" != 200 ]; then fail "d$d: GET /metrics answered $status"; continue; fi
  cp "$work/answer" "$work/metrics-d$d"
  status=$(api "$d" GET /v1/status)
  [ "$status" = 200 ] || fail "d$d: GET /v1/status answered $status"
  m() { awk -v k="$1" '$1 == k { printf "%d", $2 }' "$work/metrics-d$d"; }
  rx=$(m vsnic_dataplane_rx_frames_total); tx=$(m vsnic_dataplane_tx_frames_total)
  seg=$(( $(m vsnic_dataplane_segments_built_total) - $(m vsnic_dataplane_super_frames_segmented_total) ))
  coal=$(m vsnic_dataplane_segments_coalesced_total)   # segments merged into an earlier one: one frame fewer each
  icmp=$(m vsnic_dataplane_icmp_errors_sent_total)
  drops=$(awk '/^vsnic_dataplane_drops_total\{/ { s += $2 } END { printf "%d", s }' "$work/metrics-d$d")
  echo "d$d: API answers (GET /v1/status 200, GET /metrics 200)"
  echo "d$d: frames in  = rx $rx + segments ($seg extra) - coalesced ($coal merged away) + ICMP errors made $icmp = $((rx + seg - coal + icmp))"
  echo "d$d: frames out = tx $tx + drops $drops = $((tx + drops))   (difference $((rx + seg - coal + icmp - tx - drops)))"
  echo "d$d: data plane drops by reason: $(awk '/^vsnic_dataplane_drops_total\{/ && $2 > 0 { r=$1; sub(/.*reason="/, "", r); sub(/".*/, "", r); printf "%s %d, ", r, $2 }' "$work/metrics-d$d" | sed 's/, $//')"
  echo "d$d: substrate drops by reason: $(awk '/^vsnic_substrate_drops_total\{/ && $2 > 0 { r=$1; sub(/.*reason="/, "", r); sub(/".*/, "", r); printf "%s %d, ", r, $2 }' "$work/metrics-d$d" | sed 's/, $//')"
  echo "d$d: substrate datagrams rx $(m vsnic_substrate_rx_datagrams_total), tx $(m vsnic_substrate_tx_datagrams_total); overlay frames rx $(m vsnic_overlay_rx_packets_total), tx $(m vsnic_overlay_tx_packets_total)"
  [ $((rx + seg - coal + icmp)) = $((tx + drops)) ] || fail "d$d: frames not accounted for: in $((rx + seg - coal + icmp)), out + drops $((tx + drops))"
done
kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null || fail "a vsnicd exited during the soak"
echo
echo "kernel-side losses (not vsnic counters; the lab is fresh, so these are the soak's):"
udp_errors() {   # udp_errors NS -> "InErrors N RcvbufErrors N SndbufErrors N" of the namespace's UDP sockets
  ip netns exec "$1" cat /proc/net/snmp | awk '$1 == "Udp:" && $2 !~ /^[0-9]+$/ { for (i=2;i<=NF;i++) h[i]=$i; next }
    $1 == "Udp:" { for (i=2;i<=NF;i++) if (h[i]=="InErrors" || h[i]=="RcvbufErrors" || h[i]=="SndbufErrors") printf "%s %s ", h[i], $i }'
}
kernel_drops=0
substrate_rcvbuf=0
for d in 1 2; do
  snmp=$(udp_errors "vl-$lab-d$d")
  substrate_rcvbuf=$((substrate_rcvbuf + $(echo "$snmp" | awk '{ print $4 }')))
  echo "  device d$d namespace, UDP (substrate sockets): $snmp"
  for v in 1 2; do
    vm=vl-$lab-d${d}v$v
    dev=$(ip -n "$vm" -o link show | awk -F': ' '$2 != "lo" { sub(/@.*/, "", $2); print $2; exit }')
    echo "  VM d${d}v$v $dev (its TAP): tx_dropped $(ip netns exec "$vm" cat "/sys/class/net/$dev/statistics/tx_dropped")," \
      "qdisc dropped $(ip netns exec "$vm" tc -s qdisc show dev "$dev" 2>/dev/null | awk '/dropped/ { gsub(/,/, ""); for (i=1;i<=NF;i++) if ($i=="dropped") s+=$(i+1) } END { print s+0 }')," \
      "rx_dropped $(ip netns exec "$vm" cat "/sys/class/net/$dev/statistics/rx_dropped"); UDP sockets: $(udp_errors "$vm")"
    kernel_drops=$((kernel_drops + $(ip netns exec "$vm" cat "/sys/class/net/$dev/statistics/tx_dropped") + $(udp_errors "$vm" | awk '{ print $4 }')))
  done
done
udp_lost=$(echo "$udp_line" | awk '{ for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, lt, "/"); print lt[1] } }')
backlog=0; while read -r _ dropped _; do backlog=$((backlog + 0x$dropped)); done < /proc/net/softnet_stat
echo "  backlog drops of this host's CPUs (/proc/net/softnet_stat, all namespaces, since boot): $backlog"
ping_lost=$(cat "$work/ping1.log" "$work/ping2.log" | awk '/packets transmitted/ { s += $1 - $4 } END { print s+0 }')
vsnic_drops=$(cat "$work"/metrics-d* 2>/dev/null | awk '/^vsnic_(dataplane|substrate)_drops_total\{/ { s += $2 } END { printf "%d", s }')
lost=$(( ${udp_lost:-0} + ping_lost ))
# The substrate sockets receive with UDP GRO: one RcvbufErrors is one dropped skb, which holds 1 to 64
# datagrams (UDP_GRO_CNT_MAX), so those drops bound the lost datagrams from below and above.
counted=$((kernel_drops + substrate_rcvbuf + vsnic_drops))
counted_max=$((kernel_drops + 64 * substrate_rcvbuf + vsnic_drops))
echo "  lost end to end: iperf3 UDP ${udp_lost:-?} + ping $ping_lost = $lost"
echo "  counted: VMs' TAP tx_dropped and UDP receive-buffer errors $kernel_drops + substrate sockets' receive-buffer"
echo "  errors $substrate_rcvbuf (GRO skbs: 1..64 datagrams each) + vsnic drops $vsnic_drops = $counted .. $counted_max datagrams"
# every lost datagram or echo must have been counted somewhere (the counters may hold more: a TCP
# segment dropped at a TAP is retransmitted, not lost)
[ "$counted_max" -ge "$lost" ] || fail "$((lost - counted_max)) datagrams or echoes lost without a counter (kernel or vsnic) saying where"

echo
if [ "$failed" = 0 ]; then echo "soak: every check passed"; else echo "soak: FAILED"; fi
exit "$failed"
