#!/usr/bin/env python3
"""HTTP export throughput and sealogd's memory while exporting.

    python3 benches/export_http.py [--events 1000000] [--runs 3] [--bin target/release]

Starts a release sealogd on a fresh data dir (SEALOG_BENCH_DIR or /tmp), loads EVENTS
realistic events (`sealog gen-events --with-text | sealog ingest`), then exports the
whole tenant over loopback with `curl -o /dev/null` in each format, RUNS times each
(after the indexer and the Merkle follower have caught up with the load),
sampling sealogd's anonymous RSS (RssAnon: heap and stacks, what buffering an export
would grow; VmRSS also counts the mmap'd segment pages a read touches, which are page
cache) every 20 ms during every export. Prints the median events/s per format, the
largest RssAnon growth over its value before the exports, and VmRSS at the end and
after 3 idle seconds (when the indexer has released the segment pages the exports
mapped); the last line holds the figures as key=value pairs.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from benchlib import api, start_sealogd, work_dir

TOKEN = "bench-export-token-0123456789"
FORMATS = {
    "ndjson": "/api/audit-logs/export/ndjson?chunk_size=5000",
    "cef": "/api/audit-logs/export/cef?chunk_size=5000",
    "leef": "/api/audit-logs/export/leef?chunk_size=5000",
    "syslog": "/api/audit-logs/export/syslog?chunk_size=5000",
    "csv": "/api/audit-logs/export?format=csv&limit=50000",
}


def rss_kib(pid, field="RssAnon:"):
    """Anonymous resident memory (heap, stacks: what buffering would grow). VmRSS also
    counts the mmap'd segment and index pages a read touches, which are page cache the
    kernel reclaims at will."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default="target/release")
    ap.add_argument("--port", type=int, default=18097)
    a = ap.parse_args()
    work = work_dir("sealog-export-")
    url = f"http://127.0.0.1:{a.port}"
    server = start_sealogd(a.bin, a.port, f"{work}/data", TOKEN, f"{work}/sealogd.log")
    try:
        t = time.time()
        gen = subprocess.Popen([f"{a.bin}/sealog", "gen-events", "--count", str(a.events), "--with-text"], stdout=subprocess.PIPE)
        subprocess.run([f"{a.bin}/sealog", "ingest", "-", "--url", url, "--token", TOKEN, "--batch", "5000"],
                       stdin=gen.stdout, check=True, stdout=subprocess.DEVNULL)
        gen.wait()
        print(f"loaded {a.events} events in {time.time() - t:.1f} s", file=sys.stderr)
        # Measure the exports alone: wait until the indexer and the Merkle follower have
        # caught up with the load (they would otherwise share the cores with the export).
        t = time.time()
        while True:
            h = json.loads(urllib.request.urlopen(url + "/healthz").read())
            if h["indexed_lsn"] >= h["durable_lsn"] and h["merkle_lsn"] >= h["durable_lsn"]:
                break
            time.sleep(0.5)
        print(f"index and Merkle trees caught up {time.time() - t:.1f} s after the load", file=sys.stderr)
        time.sleep(1)
        base = rss_kib(server.pid)
        peak = base
        figures = {}
        for name, path in FORMATS.items():
            # A fresh key per format: the export rate limit is 10 requests a minute per key.
            token = api(url, TOKEN, "/api/keys", {"name": f"bench-{name}", "role": "auditor", "tenant": "*"})["token"]
            expected = min(a.events, 50_000) if "limit=" in path else a.events
            rates = []
            for _ in range(a.runs):
                done = threading.Event()
                peaks = [base]

                def sample():
                    while not done.is_set():
                        peaks.append(rss_kib(server.pid))
                        time.sleep(0.02)

                sampler = threading.Thread(target=sample)
                sampler.start()
                out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{size_download}",
                                      "-H", "Authorization: Bearer " + token, url + path], capture_output=True, text=True, check=True).stdout
                done.set()
                sampler.join()
                code, secs, size = out.split()
                if code != "200":
                    sys.exit(f"{name}: HTTP {code}")
                rates.append(expected / float(secs))
                peak = max(peak, max(peaks))
                print(f"{name}: {expected} events, {int(size) / 1048576:.0f} MiB in {float(secs):.2f} s = {expected / float(secs):,.0f} events/s, anon rss peak {max(peaks) / 1024:.0f} MiB",
                      file=sys.stderr)
            figures[f"{name}_events_per_s"] = round(statistics.median(rates))
        figures["rss_anon_base_mib"] = round(base / 1024)
        figures["rss_anon_growth_mib"] = round((peak - base) / 1024)
        figures["vm_rss_end_mib"] = round(rss_kib(server.pid, "VmRSS:") / 1024)
        # Idle for 3 s: the indexer has released the pages the exports mapped (2 s,
        # SCAN_PAGES_IDLE_MS, after the last export ended).
        time.sleep(3)
        figures["vm_rss_idle_mib"] = round(rss_kib(server.pid, "VmRSS:") / 1024)
        figures["events"] = a.events
        print(" ".join(f"{k}={v}" for k, v in figures.items()))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
