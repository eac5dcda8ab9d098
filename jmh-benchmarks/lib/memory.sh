# Memory figures of a running vsnicd (sourced by footprint.sh and soak.sh). Needs $JAVA_HOME (jcmd).

# status_mib PID KEY -> a /proc/PID/status figure (VmRSS, RssAnon, ...) in MiB, one decimal
status_mib() { awk -v k="$2" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# pool_rss_mib PID KIB... -> resident MiB of the mappings of exactly these sizes (KiB): the frame pools,
# which are mmap'ed (FramePool/PageMemory) and so not in NMT. A pool of S slots of B bytes is one
# mapping of S*B bytes between two guard pages, never merged with a neighbour: 4096 x 9472 B = 37888 KiB,
# 256 x 66048 B (super-frames) = 16512 KiB. Prints "n/a" when no mapping has such a size.
pool_rss_mib() {
  local pid=$1; shift
  awk -v sizes=" $* " '
    /^[0-9a-f]+-[0-9a-f]+ / { inpool = 0; next }
    $1 == "Size:" { inpool = index(sizes, " " $2 " ") > 0 }
    $1 == "Rss:" && inpool { rss += $2 }
    $1 == "Size:" && inpool { found++ }
    END { if (found) printf "%.1f", rss / 1024; else printf "n/a" }' "/proc/$pid/smaps"
}

# nmt_other_mib PID -> NMT "Other" committed MiB (Unsafe.allocateMemory: direct ByteBuffers, Netty's
# direct arenas, FFM Arena.allocate such as the connection table); needs -XX:NativeMemoryTracking
nmt_other_mib() {
  "$JAVA_HOME/bin/jcmd" "$1" VM.native_memory summary scale=KB 2>/dev/null |
    awk '/^-  *Other/ { c=$0; sub(/.*committed=/, "", c); sub(/KB.*/, "", c); printf "%.1f", c / 1024; found=1 } END { if (!found) printf "n/a" }'
}

# heap_mib PID -> "USED COMMITTED" heap MiB (jcmd GC.heap_info; Serial and G1 formats)
# (Serial prints "def new generation total Xk, used Yk" and "tenured generation total ...", G1 one line
# "garbage-first heap total reserved R, committed C, used U")
heap_mib() {
  "$JAVA_HOME/bin/jcmd" "$1" GC.heap_info 2>/dev/null |
    awk '/total [0-9]+K, used [0-9]+K/ { for (i=1;i<=NF;i++) { if ($i=="total") t+=$(i+1); if ($i=="used") u+=$(i+1) } }
         /garbage-first heap/ { for (i=1;i<=NF;i++) { if ($i=="committed") t+=$(i+1); if ($i=="used") u+=$(i+1) } }
         END { printf "%.1f %.1f", u/1024, t/1024 }'
}

# fd_count PID -> open file descriptors
fd_count() { ls "/proc/$1/fd" | wc -l; }
