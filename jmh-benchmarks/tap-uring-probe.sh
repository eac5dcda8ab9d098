#!/usr/bin/env bash
# Reading small frames from a TAP: one read(2) per frame against io_uring, measured with a C probe
# (root, gcc, liburing-dev). No vsnic code runs: it asks what the kernel would give a worker that
# batched its TAP reads. A TAP is created by the reader (jmh-benchmarks/probes/tapprobe.c) and moved
# into a namespace of its own, where a sender (probes/blast.c) sends 64-byte UDP datagrams at it
# (a static neighbour, so every datagram leaves through the TAP); the reader, pinned to one CPU with the
# sender on the other, reads for TAP_SECONDS and prints frames per second and CPU microseconds per
# frame. Modes, alternated for TAP_ROUNDS rounds:
#   read             one read(2) per frame, poll(2) when the TAP is empty
#   uring DEPTH      DEPTH reads in flight on a blocking descriptor (io_uring arms a poll for each), one
#                    io_uring_enter per batch of completions, each completed read resubmitted
#   uring-nb DEPTH   DEPTH non-blocking reads submitted together, each completing at once (a frame or EAGAIN)
#
#   jmh-benchmarks/tap-uring-probe.sh
#   TAP_ROUNDS=2 TAP_SECONDS=3 TAP_DEPTHS="8 32" jmh-benchmarks/tap-uring-probe.sh
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
seconds=${TAP_SECONDS:-5}
rounds=${TAP_ROUNDS:-3}
depths=${TAP_DEPTHS:-8 32}
reader_cpu=${TAP_READER_CPU:-1}
sender_cpu=${TAP_SENDER_CPU:-0}
if [ "$(id -u)" != 0 ]; then
  echo "tap-uring-probe.sh: needs root (TAP, network namespaces)" >&2
  exit 1
fi
command -v gcc >/dev/null 2>&1 || { echo "tap-uring-probe.sh: needs gcc (apt-get install -y --no-install-recommends gcc libc6-dev)" >&2; exit 1; }
[ -f /usr/include/liburing.h ] || { echo "tap-uring-probe.sh: needs liburing (apt-get install -y --no-install-recommends liburing-dev)" >&2; exit 1; }
work="$here/target/probe"
mkdir -p "$work"
gcc -O2 -Wall -D_GNU_SOURCE -o "$work/tapprobe" "$here/probes/tapprobe.c" -luring
gcc -O2 -Wall -D_GNU_SOURCE -o "$work/blast" "$here/probes/blast.c"
ns="vl-tprobe$$"
tap="tprb$$"
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# one measurement: MODE [DEPTH]
measure() {
  cleanup
  ip netns add "$ns"
  coproc PROBE { taskset -c "$reader_cpu" "$work/tapprobe" "$tap" "$1" "$seconds" "${2:-1}"; }
  local line
  read -r line <&"${PROBE[0]}"   # "ready": the TAP exists
  ip link set "$tap" netns "$ns"
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip link set "$tap" up
  ip netns exec "$ns" ip addr add 10.99.0.1/24 dev "$tap"
  ip netns exec "$ns" ip neigh add 10.99.0.2 lladdr 02:00:00:00:00:02 dev "$tap"
  echo go >&"${PROBE[1]}"
  ip netns exec "$ns" taskset -c "$sender_cpu" "$work/blast" 10.99.0.2 $((${seconds%.*} + 1)) > "$work/blast.out" &
  local sender=$!
  local result
  result=$(cat <&"${PROBE[0]}")
  wait "$sender" || true
  echo "  $result; sender: $(cat "$work/blast.out") in $((${seconds%.*} + 1)) s"
}

echo "TAP reads of 64-byte UDP frames, reader on CPU $reader_cpu, sender on CPU $sender_cpu, $seconds s each ($(nproc) CPUs, $(uname -r))"
for round in $(seq "$rounds"); do
  echo "round $round"
  measure read
  for depth in $depths; do
    measure uring "$depth"
    measure uring-nb "$depth"
  done
done
