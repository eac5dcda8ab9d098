#!/usr/bin/env bash
# Substrate crypto benchmark in one run: AeadBenchmark (JMH, with -prof gc) and `openssl speed` for
# ChaCha20-Poly1305 (streaming) and AES-256-GCM at 1420 bytes, OpenSSL's ChaCha20-Poly1305 per message as a packet is
# sealed and opened (probes/evpseal.c: a nonce, the update, the final and the tag each time; needs gcc and
# libssl-dev, else skipped), then a summary with bytes/s, packets/s, B/op and
# the ratio of vsnic's sealing to OpenSSL's ChaCha20-Poly1305 (both single-threaded). openssl speed
# divides by CPU user time by default; it also runs with -elapsed (wall-clock, as JMH measures).
#   jmh-benchmarks/crypto-bench.sh                 AeadBenchmark's own defaults (1 fork, 3x1 s warm-up, 5x1 s)
#   jmh-benchmarks/crypto-bench.sh -wi 5 -i 10     extra arguments go to JMH
# Results: jmh-benchmarks/target/crypto-bench/ (machine.txt, jmh.json, jmh.txt, cputime.md, openssl-*.txt, summary.md).
# Other processes on the machine disturb the figures: machine.txt records the load before and after.
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/bin/lib/java25.sh"
out="$here/target/crypto-bench"
mkdir -p "$out"
command -v openssl >/dev/null || { echo "crypto-bench.sh: openssl is needed" >&2; exit 1; }

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), family $(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -n1) model $(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || (grep -qw avx2 /proc/cpuinfo && echo 'AVX2, no AVX-512' || echo 'no AVX2'))"
  echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | sed -n 2p)"
  echo "openssl: $(openssl version)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"

"$here/run.sh" 'io.vsnic.bench.AeadBenchmark' -prof gc -rf json -rff "$out/jmh.json" "$@" | tee "$out/jmh.txt"

# the same operations timed with per-thread CPU time (what openssl speed divides by): steadier on a busy machine
read -r -a flags < "$here/target/classes/META-INF/vsnic/jvm.flags"
"$JAVA_HOME/bin/java" "${flags[@]}" -cp "$here/target/benchmarks.jar" io.vsnic.bench.AeadCpuTime 2>"$out/cputime.err" |
  tee "$out/cputime.md"

# openssl speed divides by CPU user time unless -elapsed (wall-clock, like JMH's throughput) is given:
# run both, so that a busy machine shows up instead of skewing the ratio
for algorithm in chacha20-poly1305 aes-256-gcm; do
  echo "openssl speed -evp $algorithm -bytes 1420 -seconds 3"
  openssl speed -evp "$algorithm" -bytes 1420 -seconds 3 2>/dev/null | tee "$out/openssl-$algorithm.txt" | tail -n1
done
# the -evp run above streams one context without a nonce or a tag per message. `-aead` would add them, but
# OpenSSL 3.0 runs its streaming loop for ChaCha20-Poly1305 even then (16-byte messages: 79 ns each
# against 584 ns with the per-message calls, docs/performance.md). So a C probe times the calls a packet
# needs, on CPU time as openssl speed does
rm -f "$out/evpseal.txt"
if command -v gcc >/dev/null && [ -f /usr/include/openssl/evp.h ]; then
  gcc -O2 -Wall -Wextra -Werror -o "$here/target/evpseal" "$here/probes/evpseal.c" -lcrypto
  echo "probes/evpseal.c 1420 3 (OpenSSL per message)"
  "$here/target/evpseal" 1420 3 | tee "$out/evpseal.txt"
else
  echo "crypto-bench.sh: no gcc or OpenSSL headers, OpenSSL per message skipped (apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev)" >&2
fi
echo "openssl speed -elapsed -evp chacha20-poly1305 -bytes 1420 -seconds 3"
openssl speed -elapsed -evp chacha20-poly1305 -bytes 1420 -seconds 3 2>/dev/null |
  tee "$out/openssl-chacha20-poly1305-elapsed.txt" | tail -n1
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def openssl(name):
    last = open(os.path.join(out, f"openssl-{name}.txt")).read().strip().splitlines()[-1]
    return float(last.split()[-1].rstrip("k")) * 1000  # 'k' = 1000 bytes/s
chacha, gcm = openssl("chacha20-poly1305"), openssl("aes-256-gcm")
chacha_wall = openssl("chacha20-poly1305-elapsed")
# OpenSSL per message (evpseal): {"seal": MB/s, "open": MB/s} on CPU time, or empty when skipped
per_message = {}
if os.path.exists(os.path.join(out, "evpseal.txt")):
    for line in open(os.path.join(out, "evpseal.txt")):
        op, rest = line.split(" ", 1)
        per_message[op] = float(rest.split(": ", 1)[1].split(" MB/s", 1)[0]) * 1e6
rows = []
for r in json.load(open(os.path.join(out, "jmh.json"))):
    name = r["benchmark"].rsplit(".", 1)[1]
    p = r.get("params", {})
    impl, size = p.get("implementation", "vsnic (codec)" if name.startswith("codec") else "vsnic"), int(p.get("size", 0))
    ops, err = r["primaryMetric"]["score"], r["primaryMetric"]["scoreError"]
    alloc = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score", float("nan"))
    rows.append((name, impl, size, ops, err, alloc))
lines = [open(os.path.join(out, "machine.txt")).read().strip(), "",
         "| benchmark | implementation | bytes | ops/s (one thread) | ± | MB/s | B/op | vs OpenSSL (CPU time) | vs OpenSSL -elapsed |",
         "|---|---|---|---|---|---|---|---|---|"]
for name, impl, size, ops, err, alloc in rows:
    mbs = ops * size / 1e6 if size else float("nan")
    big = size == 1420 and name in ("seal", "open", "codecSeal")
    ratio = f"{ops * size / chacha:.2f}x" if big else ""
    ratio_wall = f"{ops * size / chacha_wall:.2f}x" if big else ""
    lines.append(f"| {name} | {impl} | {size or ''} | {ops:,.0f} | {err:,.0f} | {'' if size == 0 else f'{mbs:,.0f}'} | {alloc:.1f} | {ratio} | {ratio_wall} |")
lines += ["", f"openssl speed -evp chacha20-poly1305 -bytes 1420: {chacha / 1e6:,.0f} MB/s ({chacha / 1420:,.0f} packets/s)",
          f"openssl speed -elapsed -evp chacha20-poly1305 -bytes 1420: {chacha_wall / 1e6:,.0f} MB/s ({chacha_wall / 1420:,.0f} packets/s)",
          *[f"OpenSSL ChaCha20-Poly1305 per message ({op}: nonce, update, final, tag; probes/evpseal.c): {v / 1e6:,.0f} MB/s ({v / 1420:,.0f} packets/s)"
            for op, v in per_message.items()],
          f"openssl speed -evp aes-256-gcm -bytes 1420: {gcm / 1e6:,.0f} MB/s ({gcm / 1420:,.0f} packets/s)"]
best = max((ops for name, impl, size, ops, err, alloc in rows if name == "seal" and size == 1420), default=0)
lines.append(f"best seal at 1420 bytes / OpenSSL ChaCha20-Poly1305: {best * 1420 / chacha:.2f}x (CPU-time divisor), "
             f"{best * 1420 / chacha_wall:.2f}x (-elapsed, wall-clock like JMH)")
cpu = open(os.path.join(out, "cputime.md")).read().strip()
lines += ["", "CPU time per operation (io.vsnic.bench.AeadCpuTime, median of 7 rounds):", "", cpu]
for row in cpu.splitlines():
    cells = [c.strip() for c in row.strip("|").split("|")]
    if len(cells) > 4 and cells[1] == "1420" and cells[0] in ("seal", "codecSeal", "open"):
        op = "open" if cells[0] == "open" else "seal"
        per = f"; {float(cells[4]) * 1e6 / per_message[op]:.2f}x (OpenSSL per message, {op})" if op in per_message else ""
        lines.append(f"{cells[0]} 1420 B on CPU time / OpenSSL ChaCha20-Poly1305: {float(cells[4]) * 1e6 / chacha:.2f}x "
                     f"(streaming -evp, the issue's reference){per}")
text = "\n".join(lines)
open(os.path.join(out, "summary.md"), "w").write(text + "\n")
print(text)
PY
