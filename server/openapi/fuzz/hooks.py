"""schemathesis hooks for sealog: SCHEMATHESIS_HOOKS=hooks (with this folder on PYTHONPATH).

They cover what a JSON Schema cannot say: NDJSON bodies, Idempotency-Key reuse, opaque
cursors, and end_date not before start_date. Negative cases are left alone."""
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
    # end_date before start_date is a 422 by contract.
    if _positive(case) and isinstance(query.get("start_date"), str) and isinstance(query.get("end_date"), str):
        start, end = _bound(query["start_date"], False), _bound(query["end_date"], True)
        if start and end and end < start:
            del query["end_date"]
