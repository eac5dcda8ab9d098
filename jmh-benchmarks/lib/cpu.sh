# CPU figures of the whole machine for a measured run (sourced by e2e.sh and ab.sh).

# busy_jiffies -> CPU time the whole machine spent not idle (user, nice, system, irq, softirq, steal), in jiffies
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# cpu_per_gbit BUSY0 BUSY1 GBPS SECONDS FORMAT -> CPU seconds of the whole machine (both VMs' TCP stacks, the
# devices, softirq) per Gbit moved in a run of SECONDS at GBPS, between two busy_jiffies readings; "n/a" for no traffic
cpu_per_gbit() {
  awk -v j=$(($2 - $1)) -v hz="$(getconf CLK_TCK)" -v g="$3" -v s="$4" -v f="$5" \
    'BEGIN { if (g > 0) printf f, (j / hz) / (g * s); else print "n/a" }'
}
