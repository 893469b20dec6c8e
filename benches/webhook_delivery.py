#!/usr/bin/env python3
"""One webhook's delivery rate and latency (issue #7), with release binaries.

    python3 benches/webhook_delivery.py [--duration 30s] [--rate 50000] [--bin target/release]

Starts a release sealogd on a fresh data dir (SEALOG_BENCH_DIR or /tmp) and a local
HTTP receiver (this script, threads; it answers 200 at once and records, for every
event, when its batch arrived and the event's `created_at`), creates one webhook for
every event type, then:

1. latency: `sealog load --rate 1000 --batch 1 --concurrency 8` for DURATION; the
   latency of an event is its arrival at the receiver minus its `created_at` (the
   server's receive time, which precedes the 201: so this is an upper bound of the
   201 -> receiver time the issue names);
2. throughput: `sealog load --batch 1000 --concurrency 8 --rate RATE` (RATE 0: flat
   out) for DURATION; the ingest rate, the delivery rate over the load (events received
   during it / its length), and how long after the load's end the last event arrived
   (the webhook kept up if that is about one batch delay).

The receiver and sealogd share the machine's two cores. The last line holds the
figures as key=value pairs.
"""
import argparse
import datetime
import os
import re
import shutil
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchlib import api, figure, sealog_load, start_sealogd, work_dir

TOKEN = "bench-webhook-token-0123456789"
CREATED = re.compile(rb'"created_at":"([^"]+)"')


class Received:
    def __init__(self):
        self.lock = threading.Lock()
        self.events = 0
        self.latencies_ms = []
        self.record_latency = False
        self.last_at = 0.0


RX = Received()


def epoch(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.time()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        # Each event has exactly one top-level created_at; free-form objects never hold
        # that exact quoted key with a string value in the generator's events.
        stamps = CREATED.findall(body)
        with RX.lock:
            RX.events += len(stamps)
            RX.last_at = now
            if RX.record_latency:
                RX.latencies_ms.extend((now - epoch(s.decode())) * 1000 for s in stamps)

    def log_message(self, *args):
        pass


def wait_quiet(expected, timeout=120):
    """Until `expected` events have arrived; returns when the last one did."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with RX.lock:
            if RX.events >= expected:
                return RX.last_at
        time.sleep(0.05)
    raise SystemExit(f"only {RX.events} of {expected} events arrived")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", default="30s")
    ap.add_argument("--rate", type=int, default=50_000)
    ap.add_argument("--bin", default="target/release")
    ap.add_argument("--port", type=int, default=18099)
    a = ap.parse_args()
    work = work_dir("sealog-delivery-")
    rx = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=rx.serve_forever, daemon=True).start()
    config = os.path.join(work, "sealogd.toml")
    with open(config, "w") as f:
        f.write('webhook-allow-http = true\nwebhook-allow-cidrs = ["127.0.0.1/32"]\n')
    url = f"http://127.0.0.1:{a.port}"
    server = start_sealogd(a.bin, a.port, f"{work}/data", TOKEN, f"{work}/sealogd.log", config)
    try:
        api(url, TOKEN, "/api/audit-logs/webhooks",
            {"webhook_url": f"http://127.0.0.1:{rx.server_address[1]}/hook"})

        RX.record_latency = True
        line = sealog_load(a.bin, url, TOKEN, a.duration, "--rate", "1000", "--batch", "1")
        sent = int(figure(line, "events"))
        wait_quiet(sent)
        RX.record_latency = False
        lat = sorted(RX.latencies_ms)
        p50 = lat[len(lat) // 2]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        rate_lat = figure(line, "events_per_s")
        print(f"latency run: {sent} events at {rate_lat:.0f}/s; created_at -> receiver "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", file=sys.stderr)

        with RX.lock:
            before = RX.events
        t0 = time.time()
        rate = ["--rate", str(a.rate)] if a.rate else []
        line = sealog_load(a.bin, url, TOKEN, a.duration, "--batch", "1000", *rate)
        t1 = time.time()
        with RX.lock:
            during = RX.events - before
        # The load's own warm-up events are delivered too: wait for everything sealogd
        # acknowledged, as /metrics counts it.
        durable = next(int(l.split()[1]) for l in urllib.request.urlopen(url + "/metrics").read().decode().splitlines()
                       if l.startswith("sealog_durable_lsn "))
        last = wait_quiet(durable)
        ingest = figure(line, "events_per_s")
        delivered_during = during / (t1 - t0)
        drain_s = max(0.0, last - t1)
        print(f"throughput run: ingest {ingest:.0f} events/s; delivered during the load "
              f"{delivered_during:.0f} events/s; last event arrived {drain_s:.1f} s after "
              f"the load ended", file=sys.stderr)
        print(f"latency_rate={rate_lat:.0f} latency_p50_ms={p50:.1f} latency_p99_ms={p99:.1f} "
              f"rate={a.rate} ingest_events_per_s={ingest:.0f} delivered_events_per_s={delivered_during:.0f} "
              f"drain_s={drain_s:.1f} events={durable}")
    finally:
        server.terminate()
        server.wait()
        rx.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
