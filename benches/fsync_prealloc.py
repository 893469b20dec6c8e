#!/usr/bin/env python3
"""8 KiB pwrite + fdatasync latency into a zero-filled, a fallocated and a growing file.

The experiment behind docs/FORMAT.md "Preallocation". Run it on the disk that holds the
data directory (the file goes in the directory given, default the current one):

    python3 benches/fsync_prealloc.py [DIR]

Prints the median of 6 runs' medians per mode, last line as key=value pairs.
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
        for i in range(n):
            t = time.perf_counter()
            os.pwrite(fd, buf, i * size)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.remove(path)
    return statistics.median(lat) * 1e3


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "."
    res = {"zero": [], "falloc": [], "append": []}
    for _ in range(6):
        for mode in res:
            res[mode].append(run(directory, mode))
    for mode, v in res.items():
        print(mode, " ".join("%.3f" % x for x in v))
    print(" ".join("%s_p50_ms=%.3f" % (m, statistics.median(v)) for m, v in res.items()))


if __name__ == "__main__":
    main()
