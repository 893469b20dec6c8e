#!/usr/bin/env bash
# Puts the machine's free memory into the page cache, the state of a server that has run
# for a while, before a benchmark (docs/BENCHMARKS.md, "Cold and warm memory").
#
# On a VM with free page reporting (virtio-balloon), memory the guest has left free is
# given back to the host, and the first touch of each such page afterwards is slow. A
# freshly booted machine has most of its memory in that state; a long-running server has
# it full of page cache, whose pages the kernel reclaims and reuses without that cost.
# This writes a file of zeros until about KEEP_MIB of memory is left free, and keeps the
# file: deleting it frees its pages again. Remove it after the benchmarks.
#
# usage: bash benches/warm_memory.sh [FILE]    (default /tmp/sealog-warm-memory.bin)
#        KEEP_MIB=2048 bash benches/warm_memory.sh
set -euo pipefail

file=${1:-/tmp/sealog-warm-memory.bin}
keep_mib=${KEEP_MIB:-1024}
free_mib() { awk '/^MemFree:/ { print int($2 / 1024) }' /proc/meminfo; }

reporting=none
if [ -r /sys/module/page_reporting/parameters/page_reporting_order ]; then
    reporting="order$(cat /sys/module/page_reporting/parameters/page_reporting_order)"
fi
before=$(free_mib)
fill_mib=$((before - keep_mib))
if [ "$fill_mib" -le 0 ]; then
    echo "only ${before} MiB free; nothing to fill" >&2
    fill_mib=0
fi
avail_mib=$(df -Pm "$(dirname "$file")" | awk 'NR == 2 { print $4 }')
if [ "$fill_mib" -gt $((avail_mib - 4096)) ]; then
    echo "need ${fill_mib} MiB on disk at $(dirname "$file"), have ${avail_mib} MiB" >&2
    exit 1
fi
t0=$(date +%s.%N)
sys_s=0
if [ "$fill_mib" -gt 0 ]; then
    # 4 MiB writes of zeros through the page cache; the kernel's time (bash's `time`,
    # system seconds) is what the cold pages cost: run it twice to compare with warm.
    TIMEFORMAT=%S
    sys_s=$({ time dd if=/dev/zero of="$file" bs=4M count=$((fill_mib / 4)) status=none; } 2>&1)
fi
t1=$(date +%s.%N)
after=$(free_mib)
echo "filled $file; remove it after the benchmarks (rm $file)" >&2
awk -v b="$before" -v a="$after" -v f="$fill_mib" -v s="$sys_s" -v t0="$t0" -v t1="$t1" -v r="$reporting" 'BEGIN {
    printf "page_reporting=%s mem_free_before_mib=%d mem_free_after_mib=%d fill_mib=%d fill_s=%.1f fill_sys_s_per_gib=%.2f\n",
        r, b, a, f, t1 - t0, (f > 0 ? s / (f / 1024) : 0) }'
