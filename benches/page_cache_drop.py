#!/usr/bin/env python3
"""What a page cache grown by every byte written costs, against dropping written pages.

The experiment behind docs/BENCHMARKS.md "The page cache". Writes GIB GiB (default 3)
into a new file in DIR (default the current directory) in 1 MiB writes with an
fdatasync every 16 MiB, as a log does, in two modes, alternated, ROUNDS times (default
2):

- keep: the written pages stay in the page cache;
- drop: after each fdatasync, the pages more than 48 MiB behind the end are dropped
  (posix_fadvise DONTNEED), as sealogd drops the log's pages behind its indexer.

    python3 benches/page_cache_drop.py [DIR] [GIB] [ROUNDS]

Prints each run's CPU time (user + system of this process) and wall time, then the
medians as one line of key=value pairs. On a VM whose balloon driver reports free
memory to the host, "keep" takes fresh pages, and the first touch of each is what it
measures; wait half a minute between runs so freed pages go back to the host.
"""
import os
import statistics
import sys
import time

CHUNK = 1 << 20
SYNC_EVERY = 16
KEEP_BEHIND = 48


def run(directory, mode, gib):
    path = os.path.join(directory, "sealog-page-cache-drop.bin")
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
    buf = b"x" * CHUNK
    cpu0, wall0 = time.process_time(), time.monotonic()
    try:
        for i in range(gib * 1024):
            os.write(fd, buf)
            if i % SYNC_EVERY == SYNC_EVERY - 1:
                os.fdatasync(fd)
                if mode == "drop" and i >= KEEP_BEHIND:
                    os.posix_fadvise(fd, 0, (i - KEEP_BEHIND) * CHUNK, os.POSIX_FADV_DONTNEED)
        return time.process_time() - cpu0, time.monotonic() - wall0
    finally:
        os.close(fd)
        os.unlink(path)


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "."
    gib = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    results = {"keep": [], "drop": []}
    for r in range(rounds):
        for mode in ("keep", "drop"):
            time.sleep(30)
            cpu, wall = run(directory, mode, gib)
            results[mode].append((cpu, wall))
            print(f"round {r + 1} {mode}: cpu {cpu:.2f} s, wall {wall:.2f} s", flush=True)
    med = lambda mode, k: statistics.median(x[k] for x in results[mode])
    print(
        f"gib={gib} rounds={rounds} keep_cpu_s={med('keep', 0):.2f} keep_wall_s={med('keep', 1):.2f} "
        f"drop_cpu_s={med('drop', 0):.2f} drop_wall_s={med('drop', 1):.2f}"
    )


if __name__ == "__main__":
    main()
