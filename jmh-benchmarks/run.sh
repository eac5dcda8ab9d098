#!/usr/bin/env bash
# Runs the JMH benchmarks: builds benchmarks.jar when it is missing or older than the sources,
# then runs it on the JDK 25 that bin/lib/java25.sh selects, passing every argument to JMH.
#   jmh-benchmarks/run.sh -l                  list the benchmarks
#   jmh-benchmarks/run.sh FramePool -prof gc  run the FramePool benchmarks with allocation profiling
# The harness JVM gets the project's JVM flags (from the build, like bin/vsnic), so every fork
# inherits them once and -f 0 runs with them too. Extra harness JVM options: VSNIC_JAVA_OPTS.
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/bin/lib/java25.sh"

jar="$here/target/benchmarks.jar"
flags_file="$here/target/classes/META-INF/vsnic/jvm.flags"
stale() {
  [ ! -f "$jar" ] || [ ! -f "$flags_file" ] || [ -n "$(find "$root/pom.xml" "$root"/*/pom.xml "$root"/*/src \
      -newer "$jar" -print -quit 2>/dev/null)" ]
}
if stale; then
  echo "run.sh: building benchmarks.jar" >&2
  (cd "$root" && ./mvnw -q -DskipTests package -pl jmh-benchmarks -am)
fi
read -r -a flags < "$flags_file"
# shellcheck disable=SC2086 # VSNIC_JAVA_OPTS is a list of options
exec "$JAVA_HOME/bin/java" "${flags[@]}" ${VSNIC_JAVA_OPTS:-} -jar "$jar" "$@"
