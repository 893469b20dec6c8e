"""What the HTTP benchmark scripts share: starting a release sealogd, calling its API.

Imported by the scripts next to it (`python3 benches/<script>.py` puts this folder on
the path).
"""
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request


def work_dir(prefix):
    """A fresh directory under SEALOG_BENCH_DIR (default: the system's temp dir)."""
    parent = os.environ.get("SEALOG_BENCH_DIR", tempfile.gettempdir())
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


def start_sealogd(bin_dir, port, data_dir, token, log_path, config=None):
    """Starts `bin_dir/sealogd` on 127.0.0.1:port with `token` as its admin key (and
    the TOML file `config`, if given); returns the process once /healthz answers."""
    args = [f"{bin_dir}/sealogd", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}"]
    if config:
        args += ["--config", config]
    server = subprocess.Popen(args, env=dict(os.environ, SEALOG_ADMIN_TOKEN=token),
                              stderr=open(log_path, "a"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/healthz").read()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"sealogd did not answer on {url} (log: {log_path})")


def api(url, token, path, body=None):
    """POSTs `body` (any JSON value; GET when None) and returns the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data,
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def sealog_load(bin_dir, url, token, duration, *args):
    """Runs `sealog load` with 8 connections for `duration` (plus `args`); returns its
    last line, the figures as key=value pairs."""
    out = subprocess.run([f"{bin_dir}/sealog", "load", "--url", url, "--token", token,
                          "--concurrency", "8", "--duration", duration, *args],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def figure(line, key):
    """The number after `key=` in a key=value line."""
    return float(re.search(rf"\b{key}=([0-9.]+)", line).group(1))
