#!/usr/bin/env python3
"""What active webhooks cost the ingest rate (issue #7: 100 webhooks <= 5 %).

    python3 benches/webhook_fanout.py [--webhooks 100] [--runs 3] [--duration 30s]
                                      [--batch 1000] [--bin target/release]

Each run starts a release sealogd on a fresh data dir (SEALOG_BENCH_DIR or /tmp),
creates WEBHOOKS active webhooks (none for the baseline), then drives the batch load of
docs/BENCHMARKS.md (`sealog load --batch BATCH --concurrency 8`) for DURATION. The
webhooks follow the log exactly as live ones do (every dispatcher reads every event of
its tenant and filters it by type) but each wants an event type the load never sends,
so none delivers: the figure is the cost of following and filtering, not of sending
(which depends on the receivers). Runs alternate between the baseline and the
webhooks. Prints the median events/s of each and the difference; the last line holds
the figures as key=value pairs.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

from benchlib import api, figure, sealog_load, start_sealogd, work_dir

TOKEN = "bench-webhook-token-0123456789"
CONFIG = 'webhook-allow-http = true\nwebhook-allow-cidrs = ["127.0.0.1/32"]\n'


def run_once(a, webhooks, work):
    data = tempfile.mkdtemp(prefix="data-", dir=work)
    config = os.path.join(work, "sealogd.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    url = f"http://127.0.0.1:{a.port}"
    server = start_sealogd(a.bin, a.port, data, TOKEN, f"{work}/sealogd.log", config)
    try:
        for i in range(webhooks):
            # Port 9 (discard) is never contacted: no event has this type.
            api(url, TOKEN, "/api/audit-logs/webhooks",
                {"webhook_url": f"http://127.0.0.1:9/hook-{i}",
                 "event_types": [f"bench.unmatched.{i}"],
                 "description": "webhook_fanout.py"})
        line = sealog_load(a.bin, url, TOKEN, a.duration, "--batch", str(a.batch))
        return figure(line, "events_per_s"), int(figure(line, "errors"))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--webhooks", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", default="30s")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--bin", default="target/release")
    ap.add_argument("--port", type=int, default=18098)
    a = ap.parse_args()
    work = work_dir("sealog-fanout-")
    base, hooks, errors = [], [], 0
    try:
        for r in range(a.runs):
            for n, into in ((0, base), (a.webhooks, hooks)):
                rate, errs = run_once(a, n, work)
                errors += errs
                into.append(rate)
                print(f"run {r + 1}: {n} webhooks: {rate:.0f} events/s, {errs} errors",
                      file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    b, h = statistics.median(base), statistics.median(hooks)
    cost = 100.0 * (b - h) / b
    print(f"baseline {' · '.join(f'{x:.0f}' for x in base)}; "
          f"{a.webhooks} webhooks {' · '.join(f'{x:.0f}' for x in hooks)}")
    print(f"webhooks={a.webhooks} batch={a.batch} runs={a.runs} baseline_events_per_s={b:.0f} "
          f"webhooks_events_per_s={h:.0f} cost_pct={cost:.1f} errors={errors}")


if __name__ == "__main__":
    main()
