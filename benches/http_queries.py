#!/usr/bin/env python3
"""The queries of `sealog bench-query`, sent through sealogd's HTTP API.

    python3 benches/http_queries.py URL TOKEN "<the 'queries:' line bench-query printed>"

Keep-alive connection (http.client), 3 warm-ups then 25 runs each; prints p50/p99 in ms,
last line as key=value pairs.
"""
import http.client
import statistics
import sys
import time
import urllib.parse


def main():
    url, token, line = sys.argv[1], sys.argv[2], sys.argv[3]
    p = dict(kv.split("=", 1) for kv in line.replace("queries:", "").split())
    iso = lambda us: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(us) // 1_000_000)) + ".%06dZ" % (int(us) % 1_000_000)
    host = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(host.hostname, host.port)
    headers = {"Authorization": "Bearer " + token, "X-Tenant-Id": p["tenant"]}
    queries = {
        "user_week": f"/api/audit-logs?user_id={p['user_id']}&start_date={iso(p['week_start_us'])}&end_date={iso(p['end_us'])}&limit=100",
        "symbol_sev": f"/api/audit-logs?symbol={p['symbol']}&severity=high&limit=100",
        "offset100k": "/api/audit-logs?offset=100000&limit=100",
        "count_day": f"/api/audit-logs/summary?start_date={iso(p['day_start_us'])}&end_date={iso(int(p['day_start_us']) + 86_400_000_000)}",
        "q": "/api/audit-logs?q=zebrafish&limit=100",
    }
    figures = []
    for name, path in queries.items():
        lat = []
        for i in range(28):
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                sys.exit(f"{name}: {r.status} {body[:300]!r}")
            if i >= 3:
                lat.append((time.perf_counter() - t) * 1e3)
        lat.sort()
        p50, p99 = statistics.median(lat), lat[int(len(lat) * 0.99)]
        print(f"{name}: p50 {p50:.3f} ms, p99 {p99:.3f} ms, {len(body)} bytes", file=sys.stderr)
        figures.append(f"{name}_p50_ms={p50:.3f}")
    print(" ".join(figures))


if __name__ == "__main__":
    main()
