#!/usr/bin/env python3
"""8 KiB pwrite + fdatasync latency into a zero-filled, a fallocated and a growing file.

The experiment behind docs/FORMAT.md "Preallocation". Run it on the disk that holds the
data directory (the file goes in the directory given, default the current one):

    python3 benches/fsync_prealloc.py [DIR]

Prints, per mode, the median of 6 runs' median latencies and of their CPU time per
write + fdatasync (user + system of this process: on a VM whose block device works in
the vCPU's exit, a flush costs CPU, not only waiting); last line as key=value pairs.
"""
import os
import statistics
import sys
import time


def run(directory, mode, n=1000, size=8192):
    path = os.path.join(directory, "sealog-fsync-prealloc.bin")
    if os.path.exists(path):
        os.remove(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        total = n * size + 4096
        if mode == "zero":
            os.write(fd, b"\0" * total)
            os.fsync(fd)
        elif mode == "falloc":
            os.posix_fallocate(fd, 0, total)
            os.fsync(fd)
        buf = b"x" * size
        lat = []
        c0 = time.process_time()
        for i in range(n):
            t = time.perf_counter()
            os.pwrite(fd, buf, i * size)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
        c1 = time.process_time()
    finally:
        os.close(fd)
        os.remove(path)
    cpu_us = (c1 - c0) / n * 1e6
    return statistics.median(lat) * 1e3, cpu_us


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "."
    res = {"zero": [], "falloc": [], "append": []}
    cpu = {m: [] for m in res}
    for _ in range(6):
        for mode in res:
            p50, cpu_us = run(directory, mode)
            res[mode].append(p50)
            cpu[mode].append(cpu_us)
    for mode, v in res.items():
        print(mode, "p50 ms:", " ".join("%.3f" % x for x in v),
              "| CPU us/op:", " ".join("%.0f" % x for x in cpu[mode]))
    print(" ".join("%s_p50_ms=%.3f" % (m, statistics.median(v)) for m, v in res.items()) + " " +
          " ".join("%s_cpu_us=%.0f" % (m, statistics.median(v)) for m, v in cpu.items()))


if __name__ == "__main__":
    main()
