"""Checks every curl example of docs/API.md, and the responses shown after it, against
server/openapi.json: path and method, query parameters, headers, request body, and each
response's status, headers, media type and body (JSON bodies; NDJSON line by line; other
media types, such as CSV or CEF, by media type only)."""
import json
import re
import shlex
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlparse

from oaslib import DOC, deref, errors

MD = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "API.md"
text = open(MD, encoding="utf-8").read()
blocks = re.findall(r"^```(\w+)\n(.*?)^```$", text, flags=re.S | re.M)
problems, n_req, n_resp = [], 0, 0


def match_path(path):
    # As the router does: a literal segment wins over a parameter
    # (`/api/audit-logs/verify` is not `/api/audit-logs/{id}`).
    for tmpl in sorted(DOC["paths"], key=lambda t: t.count("{")):
        rx = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(tmpl)) + "$"
        m = re.match(rx, path)
        if m:
            return tmpl, m.groupdict()
    return None, None


def params_of(tmpl, method):
    op = DOC["paths"][tmpl][method]
    ps = [deref(p) for p in DOC["paths"][tmpl].get("parameters", []) + op.get("parameters", [])]
    return {(p["in"], p["name"].lower()): p for p in ps}


def coerce(schema, raw):
    schema = deref(schema)
    t = schema.get("type")
    if t == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if t == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def parse_curl(src):
    args = shlex.split(src.replace("\\\n", " "))
    assert args[0] == "curl", src
    method, url, headers, data = None, None, {}, None
    i = 1
    while i < len(args):
        a = args[i]
        if a in ("-X", "--request"):
            method = args[i + 1]; i += 2; continue
        if a in ("-H", "--header"):
            k, v = args[i + 1].split(":", 1); headers[k.strip()] = v.strip(); i += 2; continue
        if a in ("-d", "--data", "--data-binary"):
            data = args[i + 1]; i += 2; continue
        if a.startswith("-"):
            i += 1; continue
        url = a; i += 1
    method = (method or ("POST" if data is not None else "GET")).lower()
    return method, url, headers, data


def check_request(src):
    global n_req
    n_req += 1
    method, url, headers, data = parse_curl(src)
    u = urlparse(url)
    where = f"{method.upper()} {u.path}"
    if f"{u.scheme}://{u.netloc}" != "http://127.0.0.1:8080":
        problems.append(f"{where}: base URL {u.scheme}://{u.netloc}")
    tmpl, path_args = match_path(u.path)
    if tmpl is None or method not in DOC["paths"][tmpl]:
        problems.append(f"{where}: no such operation")
        return None
    op = DOC["paths"][tmpl][method]
    params = params_of(tmpl, method)
    for name, value in path_args.items():
        e = errors(params[("path", name)]["schema"], value)
        problems.extend(f"{where}: path {name}: {x}" for x in e)
    query = {}
    for k, v in parse_qsl(u.query, keep_blank_values=True):
        query.setdefault(k, []).append(v)
    for k, vs in query.items():
        p = params.get(("query", k.lower()))
        if p is None:
            problems.append(f"{where}: undeclared query parameter {k}")
            continue
        schema = deref(p["schema"])
        value = [coerce(schema["items"], v) for v in vs] if schema.get("type") == "array" else coerce(schema, vs[-1])
        # The 422 example sends a value outside the bounds on purpose.
        e = errors(schema, value)
        if e and "422" not in expected_statuses_after(src):
            problems.extend(f"{where}: query {k}: {x}" for x in e)
    for k, v in headers.items():
        kl = k.lower()
        if kl in ("authorization", "x-api-key", "content-type"):
            continue
        p = params.get(("header", kl))
        if p is None:
            problems.append(f"{where}: undeclared header {k}")
            continue
        problems.extend(f"{where}: header {k}: {x}" for x in errors(p["schema"], v))
    secured = op.get("security", DOC["security"]) != []
    has_auth = any(k.lower() in ("authorization", "x-api-key") for k in headers)
    if secured != has_auth and "401" not in expected_statuses_after(src):
        problems.append(f"{where}: auth header {'missing' if secured else 'not needed'}")
    if data is not None:
        body = deref(op.get("requestBody", {}))
        ctype = headers.get("Content-Type", "application/x-www-form-urlencoded")
        media = body.get("content", {}).get(ctype)
        if media is None:
            problems.append(f"{where}: request media type {ctype} not declared")
        else:
            try:
                value = json.loads(data)
            except ValueError as exc:
                problems.append(f"{where}: request body is not JSON: {exc}")
            else:
                if "422" not in expected_statuses_after(src):
                    problems.extend(f"{where}: body: {x}" for x in errors(media["schema"], value))
    return op


def expected_statuses_after(src):
    """The statuses of the responses shown right after this curl block."""
    out, seen = set(), False
    for lang, body in blocks:
        if body is src or (lang == "sh" and body == src):
            seen = True
            continue
        if seen:
            if lang == "sh":
                break
            if lang == "http":
                out.add(body.split()[1])
    return out


def check_response(op, where, src):
    global n_resp
    n_resp += 1
    head, _, body = src.partition("\n\n")
    lines = head.splitlines()
    status = lines[0].split()[1]
    hdrs = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    resp = op["responses"].get(status) or op["responses"].get("default")
    if resp is None:
        problems.append(f"{where}: status {status} not declared")
        return
    resp = deref(resp)
    declared = {k.lower(): deref(v) for k, v in resp.get("headers", {}).items()}
    for k, v in hdrs.items():
        if k == "content-type":
            continue
        if k not in declared:
            problems.append(f"{where} {status}: undeclared response header {k}")
            continue
        schema = deref(declared[k]["schema"])
        value = int(v) if schema.get("type") == "integer" and v.isdigit() else v
        problems.extend(f"{where} {status}: header {k}: {x}" for x in errors(schema, value))
    for k, h in declared.items():
        if h.get("required") and k not in hdrs and k != "x-request-id":
            problems.append(f"{where} {status}: required header {k} not shown")
    content = resp.get("content")
    if not content:
        if body.strip() or "content-type" in hdrs:
            problems.append(f"{where} {status}: body shown, none declared")
        return
    ctype = hdrs.get("content-type", "").split(";")[0].strip()
    if ctype not in content:
        problems.append(f"{where} {status}: media type {ctype!r} not declared")
        return
    if body.strip() == "…" or not ctype.endswith("json"):
        return
    try:
        # NDJSON is one JSON value per line; its schema shows the lines as an array.
        value = ([json.loads(line) for line in body.splitlines() if line.strip()]
                 if ctype == "application/x-ndjson" else json.loads(body))
    except ValueError as exc:
        problems.append(f"{where} {status}: body is not JSON: {exc}")
        return
    problems.extend(f"{where} {status}: body: {x}" for x in errors(content[ctype]["schema"], value))


op, where = None, None
for lang, src in blocks:
    if lang == "sh" and src.lstrip().startswith("curl"):
        op = check_request(src)
        m, url, _, _ = parse_curl(src)
        where = f"{m.upper()} {urlparse(url).path}"
    elif lang == "http":
        if op is None:
            problems.append(f"response without a request: {src[:60]!r}")
        else:
            check_response(op, where, src)

for p in problems:
    print("PROBLEM:", p)
covered = set()
for lang, src in blocks:
    if lang == "sh" and src.lstrip().startswith("curl"):
        m, url, _, _ = parse_curl(src)
        t, _ = match_path(urlparse(url).path)
        covered.add((t, m))
all_ops = {(t, m) for t, item in DOC["paths"].items() for m in item if m in ("get", "post", "put", "patch", "delete")}
print(f"{n_req} requests, {n_resp} responses checked; {len(problems)} problems")
print("operations without an example:", sorted(all_ops - covered))
sys.exit(1 if problems else 0)
