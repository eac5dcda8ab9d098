#!/usr/bin/env bash
# Substrate datagram rate on loopback: epoll vs io_uring vs NIO, 64 and 1400 bytes, in one run; then the
# receive spread over workers: one substrate with 2 SO_REUSEPORT receive queues read by 1 vs 2 receiver
# threads (as the data plane's workers read them), drained from full socket buffers and streamed.
# Usage: jmh-benchmarks/substrate-bench.sh [seconds-per-case]
# (-Dvsnic.substrate.gso=false / -Dvsnic.substrate.gro=false through JAVA_OPTS measure without UDP GSO / GRO)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/bin/lib/java25.sh"
jar="$here/target/benchmarks.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$root" -path '*/src/*' -newer "$jar" -print -quit)" ]; then
  (cd "$root" && ./mvnw -q -DskipTests package -pl jmh-benchmarks -am)
fi
read -r -a flags < "$here/target/classes/META-INF/vsnic/jvm.flags"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
echo "start: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
"$JAVA_HOME/bin/java" "${flags[@]}" ${JAVA_OPTS:-} -cp "$jar" io.vsnic.bench.SubstrateThroughput "$@"
echo "end: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
