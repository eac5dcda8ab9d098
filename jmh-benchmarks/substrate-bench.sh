#!/usr/bin/env bash
# Substrate datagram rate on loopback: epoll vs io_uring vs NIO, 64 and 1400 bytes, in one run.
# Usage: jmh-benchmarks/substrate-bench.sh [seconds-per-case]
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
exec "$JAVA_HOME/bin/java" "${flags[@]}" -cp "$jar" io.vsnic.bench.SubstrateThroughput "$@"
