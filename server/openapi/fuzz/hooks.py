"""schemathesis hooks for sealog: SCHEMATHESIS_HOOKS=hooks (with this folder on PYTHONPATH).

They cover what a JSON Schema cannot say: NDJSON bodies (sent, and exported), Idempotency-Key
reuse, opaque cursors, a `q` with a word in it, end_date not before start_date (in the query,
and in the body of POST /api/audit-logs/verify), and consistency's first not above second.
Negative cases are left alone."""
import datetime as dt
import json
import re
import uuid

import schemathesis

VALID_IDEMPOTENCY_KEY = re.compile(r"^[!-~]([ -~]{0,253}[!-~])?$")


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    # openapi.json describes the NDJSON batch as an array of events: one line per event.
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(v) + "\n" for v in items).encode()


@schemathesis.deserializer("application/x-ndjson")
def ndjson_lines(ctx, response):
    # openapi.json describes NDJSON exports as an array of events: one per line.
    text = response.content.decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _bound(text, end):
    """The instant a start_date/end_date names (a date-only end is the next midnight)."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            t = dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
            return t + dt.timedelta(days=1) if end else t
        return dt.datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except (ValueError, OverflowError):
        return None


def _positive(case):
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return mode is None or getattr(mode, "is_positive", True)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # Reusing an Idempotency-Key with another body is a 422 by contract: make every
    # valid key unique (invalid ones stay: they test the 422).
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and VALID_IDEMPOTENCY_KEY.match(key):
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    query = case.query or {}
    # A cursor must come from a previous page (else 422): never send an invented one.
    if query.get("cursor"):
        del query["cursor"]
    if not _positive(case):
        return
    # A q without a word (a run of letters and digits) is a 422 by contract.
    q = query.get("q")
    if isinstance(q, str) and not any(c.isalnum() for c in q):
        del query["q"]
    # end_date before start_date is a 422 by contract, in a query or a verify body.
    _order_dates(query)
    if isinstance(case.body, dict):
        _order_dates(case.body)
    # consistency?first=M&second=N needs M <= N (else 422). Values may come as strings.
    first, second = _int(query.get("first")), _int(query.get("second"))
    if first is not None and second is not None and first > second:
        query["first"], query["second"] = query["second"], query["first"]


def _int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _order_dates(params):
    start, end = params.get("start_date"), params.get("end_date")
    if isinstance(start, str) and isinstance(end, str):
        start, end = _bound(start, False), _bound(end, True)
        try:
            reversed_range = start and end and end < start
        except TypeError:  # one has no time zone: the server refuses it anyway
            reversed_range = False
        if reversed_range:
            del params["end_date"]
