"""Writes server/openapi.json (sealog's HTTP API, OpenAPI 3.1), or the path given as argument."""
import json
import sys
from pathlib import Path

from examples import EX

OUT = Path(__file__).resolve().parent.parent / "openapi.json"

REF = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
RESP = lambda name: {"$ref": f"#/components/responses/{name}"}  # noqa: E731
PARAM = lambda name: {"$ref": f"#/components/parameters/{name}"}  # noqa: E731
HDR = lambda name: {"$ref": f"#/components/headers/{name}"}  # noqa: E731

SEVERITIES = ["debug", "info", "low", "medium", "high", "critical"]
TENANT_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
EVENT_TYPE_PATTERN = "^[A-Za-z0-9_.:-]{1,128}$"
HTTP_METHOD_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$"
CURRENCY_PATTERN = "^[A-Z0-9]{2,12}$"
COUNTRY_PATTERN = "^[A-Z]{2}$"
AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
RISK_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
HASH_PATTERN = "^[0-9a-f]{64}$"
IDEMPOTENCY_PATTERN = "^[!-~]([ -~]{0,253}[!-~])?$"
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"
SAFE_INT = 2**53 - 1
QUERY_VALUE_CHARS = 4096
DECIMAL_CHARS = 64

# ---------------------------------------------------------------- event fields
# (name, kind, argument, description); kinds: text (maxLength), special ones below.
FIELDS = [
    ("event_type", "event_type", None,
     "Required. 1..128 characters of `[A-Za-z0-9_.:-]`, e.g. `ORDER_PLACED`, `user.login`."),
    ("severity", "severity", None, "Default `info`."),
    ("event_description", "text", 4096, "Free text; searched by `q`."),
    ("action", "text", 64, "CREATE, UPDATE, DELETE, READ, VALIDATE, ACTIVATE, …"),
    ("result", "text", 64, "SUCCESS, FAILED, ALLOW, DENY, REVIEW, …"),
    ("user_id", "text", 256, "Who acted (UUIDs are typical, not required)."),
    ("user_name", "text", 256, None),
    ("actor_type", "text", 256, "Typically `user`, `system`, `service`."),
    ("actor_role", "text", 256, None),
    ("session_id", "text", 256, None),
    ("request_id", "text", 256, "The client's own request id (not the X-Request-Id header)."),
    ("ip_address", "ip", None, "A valid IPv4 or IPv6 address, stored as given."),
    ("user_agent", "text", 1024, None),
    ("endpoint", "text", 2048, None),
    ("http_method", "http_method", None, "An HTTP method token (RFC 9110 `1*tchar`), ≤ 32 characters."),
    ("table_name", "text", 256, "What was touched: table or entity type."),
    ("record_id", "text", 256, "The id of what was touched."),
    ("entity_name", "text", 256, "Its display name."),
    ("old_values", "object", None, "Any JSON object (state before)."),
    ("new_values", "object", None, "Any JSON object (state after)."),
    ("changed_fields", "changed_fields", None,
     "If absent and old_values and/or new_values are objects, sealog computes it: both "
     "objects → the sorted top-level keys whose values differ (compared as RFC 8785 JSON); "
     "only one of them → its sorted keys."),
    ("symbol", "text", 64, "Instrument, e.g. `BTC-USD`."),
    ("currency", "currency", None, "ISO 4217 code or crypto ticker, `[A-Z0-9]{2,12}`."),
    ("exchange", "text", 64, None),
    ("amount", "amount", None, None),
    ("risk_score", "risk_score", None, None),
    ("compliance_status", "text", 256, None),
    ("jurisdiction", "text", 256, None),
    ("regulatory_framework", "text", 256, None),
    ("country_code", "country_code", None, "ISO 3166-1 alpha-2: two upper-case letters."),
    ("flagged_keywords", "list", None, "≤ 64 items, each ≤ 128 characters."),
    ("tags", "list", None, "≤ 64 items, each ≤ 128 characters; the `tag` filter matches them."),
    ("audit_metadata", "object", None, "Any JSON object."),
    ("error_code", "text", 4096, None),
    ("error_message", "text", 4096, "Searched by `q`."),
    ("stack_trace", "text", 65536, None),
    ("occurred_at", "time", None,
     "RFC 3339 date-time at which the client says the event happened (`T`/`t`, `Z`/`z` or an "
     "offset, 1..9 fractional digits; no leap second; years 0000..9999 in UTC). Returned "
     "normalized to UTC with 6 fractional digits and `Z`."),
]

DECIMAL_IN_NOTE = (
    "A JSON string, or a JSON number written in the same plain form (no exponent); at most "
    "64 characters. Stored and returned as a string of exactly the characters given (never "
    "through a float). This schema lists the number form as `integer` only because JSON "
    "Schema cannot tell `1.5` from `1.5e0`: a plain fractional number such as `12.50` is "
    "accepted too."
)


def decimal_in(signed):
    if signed:
        string = {"type": "string", "pattern": AMOUNT_PATTERN, "maxLength": DECIMAL_CHARS}
        number = {"type": "integer", "minimum": -(10 ** (DECIMAL_CHARS - 1) - 1),
                  "maximum": 10 ** DECIMAL_CHARS - 1}
    else:
        string = {"type": "string", "pattern": RISK_PATTERN, "maxLength": DECIMAL_CHARS}
        number = {"type": "integer", "minimum": 0, "maximum": 10 ** DECIMAL_CHARS - 1}
    return {"anyOf": [string, number, {"type": "null"}]}


def field_in(kind, arg):
    """The ingest schema of one field: `null` is accepted and means absent."""
    if kind == "event_type":
        return {"type": "string", "minLength": 1, "maxLength": 128, "pattern": EVENT_TYPE_PATTERN}
    if kind == "severity":
        return {"type": ["string", "null"], "enum": SEVERITIES + [None], "default": "info"}
    if kind == "text":
        return {"type": ["string", "null"], "maxLength": arg}
    if kind == "ip":
        return {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"},
                          {"type": "null"}]}
    if kind == "http_method":
        return {"type": ["string", "null"], "minLength": 1, "maxLength": 32,
                "pattern": HTTP_METHOD_PATTERN}
    if kind == "object":
        return {"anyOf": [REF("JsonObject"), {"type": "null"}]}
    if kind == "changed_fields":
        return {"type": ["array", "null"], "maxItems": 1024,
                "items": {"type": "string", "maxLength": 256}}
    if kind == "currency":
        return {"type": ["string", "null"], "pattern": CURRENCY_PATTERN}
    if kind == "country_code":
        return {"type": ["string", "null"], "pattern": COUNTRY_PATTERN}
    if kind == "amount":
        return decimal_in(True)
    if kind == "risk_score":
        return decimal_in(False)
    if kind == "list":
        return {"type": ["array", "null"], "maxItems": 64,
                "items": {"type": "string", "maxLength": 128}}
    if kind == "time":
        return {"type": ["string", "null"], "format": "date-time"}
    raise ValueError(kind)


def field_out(kind, arg):
    """The returned schema of one field (absent rather than null)."""
    if kind == "event_type":
        return field_in(kind, arg)
    if kind == "severity":
        return {"type": "string", "enum": SEVERITIES}
    if kind == "text":
        return {"type": "string", "maxLength": arg}
    if kind == "ip":
        return {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
    if kind == "http_method":
        return {"type": "string", "minLength": 1, "maxLength": 32, "pattern": HTTP_METHOD_PATTERN}
    if kind == "object":
        return {"type": "object"}
    if kind == "changed_fields":
        return {"type": "array", "maxItems": 1024, "items": {"type": "string", "maxLength": 256}}
    if kind == "currency":
        return {"type": "string", "pattern": CURRENCY_PATTERN}
    if kind == "country_code":
        return {"type": "string", "pattern": COUNTRY_PATTERN}
    if kind == "amount":
        return {"type": "string", "pattern": AMOUNT_PATTERN, "maxLength": DECIMAL_CHARS}
    if kind == "risk_score":
        return {"type": "string", "pattern": RISK_PATTERN, "maxLength": DECIMAL_CHARS}
    if kind == "list":
        return {"type": "array", "maxItems": 64, "items": {"type": "string", "maxLength": 128}}
    if kind == "time":
        return {"type": "string", "format": "date-time", "pattern": TIME_PATTERN}
    raise ValueError(kind)


def described(schema, text):
    if text:
        schema = dict(schema)
        schema["description"] = text
    return schema


def decimal_text(kind):
    if kind == "amount":
        return "Signed decimal, `-?[0-9]+(\\.[0-9]+)?`."
    return "Non-negative decimal, `[0-9]+(\\.[0-9]+)?` (no sign)."


def event_in():
    props = {}
    for name, kind, arg, text in FIELDS:
        if kind in ("amount", "risk_score"):
            text = decimal_text(kind) + " " + DECIMAL_IN_NOTE
        props[name] = described(field_in(kind, arg), text)
    return {
        "title": "EventIn",
        "description": (
            "One audit event as a client sends it. Every field but `event_type` is optional; "
            "a field sent as `null` is treated as absent. Lengths are counted in characters "
            "(Unicode scalar values). An unknown field, or a field sealog sets (`id`, "
            "`tenant_id`, `seq`, `created_at`, `prev_hash`, `hash`, `is_resolved`, "
            "`resolved_at`, `resolved_by`, `resolution_notes`), is rejected with 422 "
            "(`extra_forbidden`). Whole event ≤ 1 MiB. In `old_values`, `new_values` and "
            "`audit_metadata`: nesting ≤ 32 levels, no duplicate keys, and no number whose "
            "RFC 8785 form is an integer outside ±(2^53 − 1) (send such values as strings)."
        ),
        "type": "object",
        "required": ["event_type"],
        "properties": props,
        "additionalProperties": False,
        "example": EX["event_in"],
    }


SERVER_FIELDS = {
    "id": ({"type": "string", "format": "uuid"}, "UUIDv7 assigned at ingest."),
    "tenant_id": ({"type": "string", "pattern": TENANT_PATTERN}, "The tenant the event belongs to."),
    "seq": ({"type": "integer", "minimum": 1}, "1, 2, 3, … per tenant, no gaps."),
    "created_at": ({"type": "string", "format": "date-time", "pattern": TIME_PATTERN},
                   "Server receive time: UTC, exactly 6 fractional digits, `Z`. Never "
                   "decreases along a tenant's seq."),
    "prev_hash": ({"type": "string", "pattern": HASH_PATTERN},
                  "`hash` of the tenant's previous event (seq − 1); 64 × `0` for seq 1."),
    "hash": ({"type": "string", "pattern": HASH_PATTERN},
             "Lowercase hex SHA-256 of the RFC 8785 form of this object without `hash`, "
             "`is_resolved`, `resolved_at`, `resolved_by` and `resolution_notes` "
             "(docs/INTEGRITY.md)."),
    "is_resolved": ({"type": "boolean"}, "Resolution overlay (not hashed); always present."),
    "resolved_at": ({"type": "string", "format": "date-time", "pattern": TIME_PATTERN},
                    "Overlay, once resolved: `created_at` of the latest resolution."),
    "resolved_by": ({"type": "string", "maxLength": 256}, "Overlay, once resolved."),
    "resolution_notes": ({"type": "string", "maxLength": 4096},
                         "Overlay, once resolved with notes."),
}


def event_out():
    props = {}
    for name, (schema, text) in SERVER_FIELDS.items():
        props[name] = described(schema, text)
    for name, kind, arg, text in FIELDS:
        if kind in ("amount", "risk_score"):
            text = decimal_text(kind) + " Returned as a string of exactly the characters sent."
        if kind == "severity":
            text = "Always present (`info` if the client sent none)."
        if kind == "changed_fields":
            text = "As sent, or computed by sealog (see EventIn)."
        props[name] = described(field_out(kind, arg), text)
    props = dict(sorted(props.items()))
    return {
        "title": "Event",
        "description": (
            "An event as sealog returns it: the client's fields (a field not sent, or sent "
            "as null, is absent, never null), the fields sealog sets, `hash`, and the "
            "resolution overlay. Keys are in RFC 8785 order and the object minus `hash` and "
            "the overlay is exactly the hashed canonical form."
        ),
        "type": "object",
        "required": ["id", "tenant_id", "seq", "created_at", "prev_hash", "hash",
                     "event_type", "severity", "is_resolved"],
        "properties": props,
        "additionalProperties": False,
        "example": EX["event_out"],
    }


def schemas():
    return {
        "EventIn": event_in(),
        "Event": event_out(),
        "JsonObject": {
            "description": "Any JSON object (numbers limited as EventIn says).",
            "type": "object",
            "additionalProperties": REF("JsonValue"),
        },
        "JsonValue": {
            "description": (
                "Any JSON value. A number is refused if its RFC 8785 form is an integer "
                "outside ±(2^53 − 1): accepted are the safe-integer range and, written as "
                "floats (`1e21`), magnitudes ≥ 1e21, whose RFC 8785 form has an exponent. An "
                "integer literal (no `.`, no exponent) outside ±(2^53 − 1) is always refused."
            ),
            "anyOf": [
                {"type": "null"},
                {"type": "boolean"},
                {"type": "string"},
                {"type": "number", "minimum": -SAFE_INT, "maximum": SAFE_INT},
                {"type": "number", "minimum": 1e21},
                {"type": "number", "maximum": -1e21},
                {"type": "array", "items": REF("JsonValue")},
                REF("JsonObject"),
            ],
        },
        "IngestResponse": {
            "type": "object",
            "required": ["id", "seq", "tenant_id", "created_at", "hash"],
            "properties": {
                "id": SERVER_FIELDS["id"][0],
                "seq": SERVER_FIELDS["seq"][0],
                "tenant_id": SERVER_FIELDS["tenant_id"][0],
                "created_at": SERVER_FIELDS["created_at"][0],
                "hash": SERVER_FIELDS["hash"][0],
            },
            "additionalProperties": False,
        },
        "BatchResponse": {
            "type": "object",
            "required": ["count", "first_seq", "last_seq", "ids"],
            "properties": {
                "count": {"type": "integer", "minimum": 1, "maximum": 10000},
                "first_seq": {"type": "integer", "minimum": 1},
                "last_seq": {"type": "integer", "minimum": 1},
                "ids": {"type": "array", "minItems": 1, "maxItems": 10000,
                        "items": {"type": "string", "format": "uuid"},
                        "description": "The events' ids, in the order sent (seq first_seq…last_seq)."},
            },
            "additionalProperties": False,
        },
        "AuditLogPage": {
            "type": "object",
            "required": ["audit_logs", "total", "limit", "offset", "next_cursor", "has_more"],
            "properties": {
                "audit_logs": {"type": "array", "maxItems": 1000, "items": REF("Event")},
                "total": {"type": "integer", "minimum": 0,
                          "description": "Exact number of matches (not only this page)."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                "offset": {"type": "integer", "minimum": 0, "maximum": 1000000},
                "next_cursor": {"type": ["string", "null"],
                                "description": "Pass as `cursor` (with the same filters and sort_order) "
                                               "for the next page. Present on every non-empty page, "
                                               "even the last (an ascending reader keeps it to pick up "
                                               "events stored later); null when the page is empty."},
                "has_more": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "Summary": {
            "type": "object",
            "required": ["total_logs", "by_table", "by_user", "by_action", "by_event_type",
                         "by_severity"],
            "properties": {
                "total_logs": {"type": "integer", "minimum": 0},
                "by_table": REF("Counts"),
                "by_user": REF("Counts"),
                "by_action": REF("Counts"),
                "by_event_type": REF("Counts"),
                "by_severity": REF("Counts"),
            },
            "additionalProperties": False,
        },
        "Counts": {
            "description": (
                "Field value → number of matching events with that value (`by_table`: "
                "table_name, `by_user`: user_id, …). Events without the field are left out; "
                "at most the 100 most frequent values."
            ),
            "type": "object",
            "maxProperties": 100,
            "additionalProperties": {"type": "integer", "minimum": 1},
        },
        "ResolveRequest": {
            "type": "object",
            "required": ["resolved_by"],
            "properties": {
                "resolved_by": {"type": "string", "minLength": 1, "maxLength": 256},
                "resolution_notes": {"type": ["string", "null"], "maxLength": 4096},
            },
            "additionalProperties": False,
            "example": EX["resolve_in"],
        },
        "Role": {"type": "string", "enum": ["admin", "auditor", "writer"]},
        "KeyTenant": {
            "description": "`*` (all tenants) or one tenant name.",
            "type": "string",
            "pattern": "^(\\*|[A-Za-z0-9_-]{1,64})$",
        },
        "KeyCreate": {
            "type": "object",
            "required": ["name", "role"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 256},
                "role": REF("Role"),
                "tenant": {"anyOf": [REF("KeyTenant"), {"type": "null"}],
                           "description": "`*` (all tenants) or a tenant name. Default (absent or "
                                          "null): the tenant the request acts for. A one-tenant "
                                          "admin may create keys only for its own tenant (else 403)."},
            },
            "additionalProperties": False,
            "example": EX["key_in"],
        },
        "KeyCreated": {
            "type": "object",
            "required": ["id", "name", "role", "tenant", "token", "created_at"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "name": {"type": "string"},
                "role": REF("Role"),
                "tenant": REF("KeyTenant"),
                "token": {"type": "string", "pattern": "^slk_[0-9a-f]{64}$",
                          "description": "The secret (`slk_` + 64 hex digits); returned only here."},
                "created_at": {"type": "string", "format": "date-time"},
            },
            "additionalProperties": False,
        },
        "Key": {
            "type": "object",
            "required": ["id", "name", "role", "tenant", "created_at", "last_used_at"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "name": {"type": "string"},
                "role": REF("Role"),
                "tenant": REF("KeyTenant"),
                "created_at": {"type": "string", "format": "date-time"},
                "last_used_at": {"type": ["string", "null"], "format": "date-time"},
            },
            "additionalProperties": False,
        },
        "KeyList": {
            "type": "object",
            "required": ["keys", "total"],
            "properties": {
                "keys": {"type": "array", "items": REF("Key")},
                "total": {"type": "integer", "minimum": 0},
            },
            "additionalProperties": False,
        },
        **webhook_schemas(),
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "degraded"],
                           "description": "`ok` (200) while writes are accepted; `degraded` (503) "
                                          "when the engine refuses them (reads may still work)."},
                "writes": {"type": "string", "description": "`accepted`, or why writes are refused."},
                "version": {"type": "string"},
                "durable_lsn": {"type": "integer", "minimum": 0},
                "indexed_lsn": {"type": "integer", "minimum": 0},
                "index_read_lsn": {"type": "integer", "minimum": 0},
                "index_failure": {"type": ["string", "null"]},
            },
            "additionalProperties": True,
        },
        "Detail": {
            "type": "object",
            "required": ["detail"],
            "properties": {"detail": {"type": "string"}},
        },
        "ValidationError": {
            "description": "One problem, shaped like a FastAPI/pydantic v2 error item.",
            "type": "object",
            "required": ["loc", "msg", "type", "input"],
            "properties": {
                "loc": {
                    "description": (
                        "Where: `query`, `path`, `header` or `body`, then the field; batch "
                        "items add their 0-based index (`[\"body\", 3, \"ip_address\"]`), an "
                        "NDJSON line that does not parse is `[\"body\", <line index>]`."
                    ),
                    "type": "array",
                    "minItems": 1,
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]},
                },
                "msg": {"type": "string"},
                "type": {"type": "string",
                         "description": "pydantic v2 error type: `missing`, `string_too_long`, `json_invalid`, …"},
                "input": {"description": "The offending value (strings cut at 256 characters, with `…`); null for `missing`."},
                "ctx": {"type": "object", "description": "The bound or pattern not met, when there is one."},
            },
        },
        "HTTPValidationError": {
            "type": "object",
            "required": ["detail"],
            "properties": {
                "detail": {"type": "array", "minItems": 1, "items": REF("ValidationError")},
            },
        },
        **integrity_schemas(),
        **export_schemas(),
    }


U64_MAX = 2**64 - 1
BASE64_32_PATTERN = "^[A-Za-z0-9+/]{43}=$"
# `<name>+<key id>+<base64(0x01 ‖ 32-byte key)>`; signed-note key names have no
# whitespace and no `+`.
VKEY_PATTERN = r"^[^\s+]+\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$"
# Origin, tree size, base64 root, blank line, one signature line:
# `— <name> <base64(key id ‖ 64-byte signature)>`.
NOTE_PATTERN = (r"^[^\n]+/[A-Za-z0-9_-]{1,64}\n[1-9][0-9]*\n[A-Za-z0-9+/]{43}=\n\n"
                "\u2014 " r"[^\s+]+ [A-Za-z0-9+/]{91}=\n$")


def verify_props(chain):
    props = {
        "verified": {"type": "boolean",
                     "description": "True when no checked event failed" +
                                    (" and the Merkle audit (whole chain only) found nothing."
                                     if chain else ".")},
        "total_checked": {"type": "integer", "minimum": 0,
                          "description": "Events read and checked (0: none in range)."},
        "tampered_logs": {"type": "array", "maxItems": 1000,
                          "items": {"type": "string", "format": "uuid"},
                          "description": "Ids of the events that fail, at most 1,000 "
                                         "(`message` gives the count)."},
        "message": {"type": "string", "description": "A sentence for people; do not parse it."},
    }
    if chain:
        props.update({
            "intact": {"type": "boolean", "description": "Equals `verified`."},
            "broken_at_id": {
                "type": ["string", "null"], "format": "uuid",
                "description": "The first event that fails, in seq order. Null when intact, and "
                               "when there is no event to name: its bytes are unreadable, or "
                               "events a checkpoint covered were removed from the end."},
            "broken_reason": {
                "type": ["string", "null"], "enum": ["hash_mismatch", "chain_link_mismatch", None],
                "description": "`hash_mismatch`: the event's bytes do not give its `hash` (also "
                               "for damaged bytes, and for a chain that links but is not the one "
                               "the checkpoints signed); `chain_link_mismatch`: its `prev_hash` or "
                               "`seq` does not continue the event before it (an event deleted, "
                               "reordered or rehashed). Null when intact."},
        })
    return dict(sorted(props.items()))


def integrity_schemas():
    hex_hash = {"type": "string", "pattern": HASH_PATTERN}
    hex_path = {"type": "array", "items": hex_hash}
    date_in = [{"type": "string", "format": "date", "maxLength": 64},
               {"type": "string", "format": "date-time", "maxLength": 64}]
    return {
        "VerifyReport": {
            "description": "What `GET /api/audit-logs/verify` found.",
            "type": "object",
            "required": ["verified", "total_checked", "tampered_logs", "message"],
            "properties": verify_props(False),
            "additionalProperties": False,
        },
        "ChainReport": {
            "description": "What verify-chain found: VerifyReport's fields plus the first break.",
            "type": "object",
            "required": ["verified", "total_checked", "tampered_logs", "message", "intact",
                         "broken_at_id", "broken_reason"],
            "properties": verify_props(True),
            "additionalProperties": False,
        },
        "VerifyRequest": {
            "description": "The range to verify; both optional (`{}`, or no body, is the whole "
                           "chain). `null` is treated as absent.",
            "type": "object",
            "properties": {
                "start_date": {"anyOf": date_in + [{"type": "null"}],
                               "description": "created_at ≥ this (as the query parameter)."},
                "end_date": {"anyOf": date_in + [{"type": "null"}],
                             "description": "created_at before this; a date includes that whole "
                                            "UTC day. Before start_date → 422."},
            },
            "additionalProperties": False,
            "example": EX["verify_in"],
        },
        "PublicKey": {
            "type": "object",
            "required": ["algorithm", "public_key", "vkey"],
            "properties": {
                "algorithm": {"type": "string", "const": "ed25519"},
                "public_key": {"type": "string", "pattern": BASE64_32_PATTERN,
                               "description": "The 32-byte Ed25519 public key, base64."},
                "vkey": {"type": "string", "pattern": VKEY_PATTERN,
                         "description": "C2SP signed-note verifier key "
                                        "`<log name>+<key id>+<base64(0x01 ‖ public key)>`; the "
                                        "key id is the first 4 bytes of SHA-256(name ‖ `\\n` ‖ "
                                        "0x01 ‖ public key), in hex."},
            },
            "additionalProperties": False,
        },
        "Checkpoint": {
            "description": "A signed checkpoint of one tenant's Merkle tree.",
            "type": "object",
            "required": ["origin", "tree_size", "root_hash", "issued_at", "note"],
            "properties": {
                "origin": {"type": "string", "pattern": "/[A-Za-z0-9_-]{1,64}$",
                           "description": "`<log name>/<tenant>` (log name default `sealog`)."},
                "tree_size": {"type": "integer", "minimum": 1, "maximum": U64_MAX,
                              "description": "Leaves: the events of seq 1..tree_size."},
                "root_hash": described(hex_hash, "RFC 9162 root of those leaves, hex."),
                "issued_at": {"type": "string", "format": "date-time", "pattern": TIME_PATTERN,
                              "description": "When it was signed; informational, not signed."},
                "note": {"type": "string", "pattern": NOTE_PATTERN,
                         "description": "The exact C2SP signed note (tlog-checkpoint): origin, "
                                        "tree size and base64 root lines, a blank line, and one "
                                        "signature line `— <log name> <base64(key id ‖ "
                                        "Ed25519 signature of the three lines)>`. Check it "
                                        "with the vkey."},
            },
            "additionalProperties": False,
        },
        "InclusionProof": {
            "description": "RFC 9162 §2.1.3 inclusion proof; the leaf input is the 32 bytes of "
                           "the event's `hash` (leaf hash SHA-256(0x00 ‖ hash)).",
            "type": "object",
            "required": ["leaf_index", "tree_size", "root_hash", "inclusion_path"],
            "properties": {
                "leaf_index": {"type": "integer", "minimum": 0, "description": "seq − 1."},
                "tree_size": {"type": "integer", "minimum": 1, "maximum": U64_MAX,
                              "description": "A checkpointed size."},
                "root_hash": described(hex_hash, "That checkpoint's root_hash."),
                "inclusion_path": described(hex_path, "Sibling hashes, leaf to root."),
            },
            "additionalProperties": False,
        },
        "ConsistencyProof": {
            "description": "RFC 9162 §2.1.4 consistency proof between two checkpointed sizes.",
            "type": "object",
            "required": ["first", "second", "first_root", "second_root", "consistency_path"],
            "properties": {
                "first": {"type": "integer", "minimum": 1, "maximum": U64_MAX},
                "second": {"type": "integer", "minimum": 1, "maximum": U64_MAX},
                "first_root": described(hex_hash, "Root of the checkpoint of size `first`."),
                "second_root": described(hex_hash, "Root of the checkpoint of size `second`."),
                "consistency_path": described(hex_path, "Empty when first = second."),
            },
            "additionalProperties": False,
        },
        "Receipt": {
            "description": "One self-contained file to check offline: the event as "
                           "`GET /api/audit-logs/{id}` returns it, the latest checkpoint "
                           "covering it, and the inclusion proof at that checkpoint's size.",
            "type": "object",
            "required": ["event", "checkpoint", "proof"],
            "properties": {
                "event": REF("Event"),
                "checkpoint": REF("Checkpoint"),
                "proof": REF("InclusionProof"),
            },
            "additionalProperties": False,
        },
    }


def export_schemas():
    seq_or_null = {"type": ["integer", "null"], "minimum": 1}
    time_or_null = {"type": ["string", "null"], "format": "date-time", "pattern": TIME_PATTERN}
    chain = verify_props(True)
    chain.update({
        "first_seq": {"type": "integer", "minimum": 1, "description": "The report's first_seq."},
        "last_seq": {"type": "integer", "minimum": 1, "description": "The report's last_seq."},
    })
    return {
        "Soc2Export": {
            "description": "`format=soc2`: the report, then the events exactly as `format=json` "
                           "sends them with the same parameters.",
            "type": "object",
            "required": ["report", "events"],
            "properties": {
                "report": REF("Soc2Report"),
                "events": {"type": "array", "maxItems": 50000, "items": REF("Event")},
            },
            "additionalProperties": False,
        },
        "Soc2Report": {
            "description": "Evidence for an audit period (keys in alphabetical order). It is "
                           "computed first, over the same fixed end as the events that follow, "
                           "so `count` is exactly the number of events.",
            "type": "object",
            "required": ["document", "document_version", "generator", "generated_at", "tenant",
                         "period", "filters", "sort_order", "count", "first_seq", "last_seq",
                         "chain_verification", "checkpoint"],
            "properties": {
                "chain_verification": {
                    "anyOf": [REF("Soc2ChainVerification"), {"type": "null"}],
                    "description": "verify-chain over the tenant's seqs first_seq..=last_seq "
                                   "(every event in that range, matching or not, and the link "
                                   "into it); null when there are no events."},
                "checkpoint": {"anyOf": [REF("Checkpoint"), {"type": "null"}],
                               "description": "The tenant's latest signed checkpoint; null "
                                              "before the first."},
                "count": {"type": "integer", "minimum": 0, "maximum": 50000,
                          "description": "Events in the document."},
                "document": {"type": "string", "const": "sealog SOC 2 audit log export"},
                "document_version": {"type": "integer", "const": 1},
                "filters": {"type": "object",
                            "additionalProperties": {"anyOf": [
                                {"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                            "description": "Every query parameter of the request as given "
                                           "(`tag` as an array)."},
                "first_seq": described(seq_or_null, "Smallest seq among the events (null when none)."),
                "generated_at": {"type": "string", "format": "date-time", "pattern": TIME_PATTERN,
                                 "description": "When the document was made."},
                "generator": {"type": "string", "description": "`sealog <version>`."},
                "last_seq": described(seq_or_null, "Largest seq among the events (null when none)."),
                "period": {
                    "type": "object",
                    "required": ["start", "end"],
                    "properties": {"start": time_or_null, "end": time_or_null},
                    "additionalProperties": False,
                    "description": "`start_date` and `end_date` as instants (a date-only end_date "
                                   "is the next midnight); null when open.",
                },
                "sort_order": {"type": "string", "enum": ["asc", "desc"]},
                "tenant": {"type": "string", "pattern": TENANT_PATTERN},
            },
            "additionalProperties": False,
        },
        "Soc2ChainVerification": {
            "description": "ChainReport's fields over the report's seq range, with that range.",
            "type": "object",
            "required": ["verified", "total_checked", "tampered_logs", "message", "intact",
                         "broken_at_id", "broken_reason", "first_seq", "last_seq"],
            "properties": dict(sorted(chain.items())),
            "additionalProperties": False,
        },
    }


# ---------------------------------------------------------------- parameters
def filter_params():
    def q(name, schema, desc, **extra):
        p = {"name": name, "in": "query", "required": False, "schema": schema, "description": desc}
        p.update(extra)
        return p

    text = {"type": "string", "maxLength": QUERY_VALUE_CHARS}
    return {
        "user_id": q("user_id", text, "Exact user_id."),
        "event_type": q("event_type", text, "Exact event_type."),
        "severity": q("severity", {"type": "string", "enum": SEVERITIES}, "Exact severity."),
        "compliance_status": q("compliance_status", text, "Exact compliance_status."),
        "table_name": q("table_name", text, "Exact table_name."),
        "record_id": q("record_id", text, "Exact record_id."),
        "symbol": q("symbol", text, "Exact symbol."),
        "action": q("action", text, "Exact action."),
        "result": q("result", text, "Exact result."),
        "tag": q("tag", {"type": "array", "maxItems": 64, "items": text},
                 "Repeatable (`tag=a&tag=b`): the event's `tags` must contain every one.",
                 style="form", explode=True),
        "is_resolved": q("is_resolved", {"type": "boolean"},
                         "`true`: only resolved events; `false`: only unresolved ones."),
        "min_risk_score": q("min_risk_score", {"type": "string", "pattern": RISK_PATTERN, "maxLength": DECIMAL_CHARS},
                            "risk_score ≥ this decimal, compared exactly (`57.230` equals `57.23`). "
                            "Events without risk_score do not match."),
        "start_date": q("start_date", {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]},
                        "created_at ≥ this. `YYYY-MM-DD` (a UTC day) or an RFC 3339 date-time. Inclusive."),
        "end_date": q("end_date", {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]},
                      "created_at before this. A date-time is exclusive; a date includes that whole UTC day. "
                      "Before start_date → 422."),
        "q": q("q", {**text, "minLength": 1},
               "Words (runs of letters and digits, at most 64), all required, matched "
               "case-insensitively as whole words in event_description and error_message (no "
               "substrings). A word longer than 64 bytes matches nothing. A q with no word "
               "(empty, or only punctuation) → 422."),
    }


def paging_params():
    def q(name, schema, desc):
        return {"name": name, "in": "query", "required": False, "schema": schema, "description": desc}

    return {
        "limit": q("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "Page size."),
        "offset": q("offset", {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 0},
                    "Matches to skip. Deeper pages: use `cursor`. Not combinable with `cursor`."),
        "cursor": q("cursor", {"type": "string", "minLength": 1, "maxLength": QUERY_VALUE_CHARS},
                    "Opaque, from a previous page's `next_cursor` with the same filters and "
                    "sort_order (else 422). Stable while events arrive. Not combinable with `offset`."),
        "sort_order": q("sort_order", {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
                        "By created_at, then seq."),
    }


def parameters():
    params = {
        "XTenantId": {
            "name": "X-Tenant-Id", "in": "header", "required": False,
            "schema": {"type": "string", "pattern": TENANT_PATTERN},
            "description": (
                "Tenant to act in. An all-tenants key picks any tenant (default `default`); a "
                "one-tenant key may name only its own tenant (another → 403). A name not "
                "matching the pattern → 422 on `[\"header\", \"X-Tenant-Id\"]`."
            ),
        },
        "XRequestId": {
            "name": "X-Request-Id", "in": "header", "required": False,
            "schema": {"type": "string"},
            "description": "Echoed in the response's X-Request-Id if it is 1..128 visible ASCII "
                           "characters; otherwise (or if absent) sealogd generates one.",
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "pattern": IDEMPOTENCY_PATTERN},
            "description": (
                "1..255 printable ASCII characters (0x20–0x7E; no leading or trailing space, "
                "which HTTP would strip). Kept per tenant for at least 24 h and across "
                "restarts: a retry with the same key and the same request returns the first "
                "response (status and body, plus `Idempotent-Replayed: true`) and stores "
                "nothing new; the same key with a different request → 422 "
                "(`idempotency_key_reused`). Requests are compared as canonical JSON, so "
                "whitespace and key order do not matter. Concurrent requests with one key "
                "store once and get the same answer."
            ),
        },
        "EventId": {
            "name": "id", "in": "path", "required": True,
            "schema": {"type": "string", "format": "uuid"},
            "description": "An event id (a UUID; anything else → 422).",
        },
        "AnyId": {
            "name": "id", "in": "path", "required": True,
            "schema": {"type": "string"},
            "description": "Any value: the method is refused before the id is looked at.",
        },
        "KeyId": {
            "name": "id", "in": "path", "required": True,
            "schema": {"type": "string"},
            "description": "A key's `id` (unknown, or another tenant's for a one-tenant admin → 404).",
        },
    }
    params["WebhookId"] = {
        "name": "id", "in": "path", "required": True,
        "schema": {"type": "string"},
        "description": "A webhook's `id` (unknown, or another tenant's → 404).",
    }
    params.update(integrity_params())
    params.update(export_params())
    for name, p in filter_params().items():
        params["filter_" + name] = p
    for name, p in paging_params().items():
        params["page_" + name] = p
    return params


def integrity_params():
    def q(name, schema, desc, required=False):
        return {"name": name, "in": "query", "required": required, "schema": schema,
                "description": desc}

    size = {"type": "integer", "minimum": 1, "maximum": U64_MAX}
    return {
        "VerifyLimit": q("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
                         "Check the newest `limit` events in range."),
        "ChainLimit": q("limit", {"type": "integer", "minimum": 1, "maximum": 10000000},
                        "Check only the newest `limit` events in range. Without it, and "
                        "without dates, the whole chain is checked, with the Merkle audit."),
        "CheckpointTreeSize": q("tree_size", size,
                                "The checkpoint of exactly this size (none → 404). Default: "
                                "the latest."),
        "ProofTreeSize": q("tree_size", size,
                           "Prove inclusion in the checkpoint of this size (none → 404; "
                           "smaller than the event's seq → 409). Default: the latest checkpoint."),
        "ConsistencyFirst": q("first", size, "The older checkpoint's tree size (≤ second, "
                                             "else 422; no checkpoint of that size → 404).", True),
        "ConsistencySecond": q("second", size, "The newer checkpoint's tree size (no "
                                               "checkpoint of that size → 404).", True),
    }


def export_params():
    def q(name, schema, desc):
        return {"name": name, "in": "query", "required": False, "schema": schema,
                "description": desc}

    def choice(values, default):
        return {"type": "string", "enum": values, "default": default}

    return {
        "ExportFormat": q("format", choice(["json", "csv", "ndjson", "soc2"], "json"),
                          "`json`: one JSON array of events (`application/json`); `ndjson`: one "
                          "event per line (`application/x-ndjson`); `csv`: RFC 4180 with a header "
                          "row (`text/csv; charset=utf-8`); `soc2`: `{\"report\", \"events\"}` "
                          "(`application/json`)."),
        "ExportLimit": q("limit", {"type": "integer", "minimum": 1, "maximum": 50000, "default": 10000},
                         "The first `limit` matching events in `sort_order`."),
        "ExportSortOrder": q("sort_order", choice(["asc", "desc"], "asc"),
                             "By created_at, then seq. Oldest first by default (unlike "
                             "`GET /api/audit-logs`)."),
        "ExportFromSeq": q("from_seq", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                           "Only events with seq ≥ this. A client pulling continuously sends the "
                           "last seq it received plus one, and resumes exactly where it stopped."),
        "ExportChunkSize": q("chunk_size", {"type": "integer", "minimum": 100, "maximum": 5000,
                                            "default": 1000},
                             "Events read and encoded per chunk: an export holds at most three "
                             "chunks in memory, whatever its size."),
        "LeefVersion": q("version", choice(["1.0", "2.0"], "2.0"),
                         "`2.0`: attributes separated by the declared `^`; `1.0`: by TAB."),
        "SyslogFraming": q("framing", choice(["lf", "octet"], "lf"),
                           "`lf`: each message ends with LF; `octet`: RFC 6587 octet counting "
                           "(`LEN SP MESSAGE`, no separator), for TCP receivers."),
        "SyslogPayload": q("payload", choice(["json", "cef", "leef"], "json"),
                           "MSG after the BOM: the event as GET returns it (`json`), its CEF "
                           "record (`cef`) or its LEEF 2.0 record (`leef`)."),
    }


# ---------------------------------------------------------------- responses
def json_content(schema, example=None, examples=None):
    media = {"schema": schema}
    if example is not None:
        media["example"] = example
    if examples is not None:
        media["examples"] = examples
    return {"application/json": media}


def std_headers(extra=None):
    h = {"X-Request-Id": HDR("XRequestId")}
    if extra:
        h.update(extra)
    return h


def responses():
    def detail(desc, example, headers=None):
        return {"description": desc, "headers": std_headers(headers),
                "content": json_content(REF("Detail"), {"detail": example})}

    return {
        "Unauthorized": detail("Missing, unknown or revoked token.", EX["detail_401"],
                               {"WWW-Authenticate": HDR("WwwAuthenticate")}),
        "Forbidden": detail("The key lacks the role, or names a tenant it may not use.", EX["detail_403"]),
        "NotFound": detail("No such resource (in this tenant).", EX["detail_404"]),
        "MethodNotAllowed": detail("Audit logs are immutable.", EX["detail_405"],
                                   {"Allow": HDR("Allow")}),
        "PayloadTooLarge": detail("The request body is over its byte limit.", EX["detail_413"]),
        "UriTooLong": {"description": "The request target (path and query) is over 65,534 bytes: "
                                      "refused by the HTTP layer, with an empty body."},
        "HeadersTooLarge": {"description": "The request head (request line and headers) is "
                                           "over 64 KiB: refused by the HTTP layer, with an "
                                           "empty body."},
        "RequestTimeout": detail("The request body did not arrive within 60 s.", EX["detail_408"]),
        "Conflict": detail("The event is not covered by the checkpoint asked for (not yet: "
                           "checkpoints follow events within about a second), or the tenant's "
                           "tree is being rebuilt from the log after a restart: retry shortly.",
                           EX["proof_409"]),
        "ValidationError": {
            "description": "The request is invalid: every problem found, FastAPI's shape.",
            "headers": std_headers(),
            "content": json_content(REF("HTTPValidationError"), EX["error_422"]),
        },
        "TooManyRequests": detail("The key's export rate is used up (10 export requests per 60 s, "
                                  "one bucket for every export endpoint; requests refused with 422 "
                                  "count too): retry after `Retry-After` seconds.",
                                  EX["detail_429"], {"Retry-After": HDR("RetryAfter")}),
        "ServiceUnavailable": detail("The append queue is full (load shedding), or the engine "
                                     "refuses writes or is shutting down: retry after "
                                     "`Retry-After` seconds.", EX["detail_503"],
                                     {"Retry-After": HDR("RetryAfter")}),
        "InternalError": detail("A stored event is damaged (the message names it; the damaged "
                                "bytes are never served as valid), or another server fault.",
                                EX["detail_500"]),
    }


def headers():
    return {
        "XRequestId": {"description": "The request's X-Request-Id, or one generated.",
                       "required": True, "schema": {"type": "string"}},
        "Allow": {"description": "The methods the path accepts.", "required": True,
                  "schema": {"type": "string"}},
        "RetryAfter": {"description": "Whole seconds to wait.", "required": True,
                       "schema": {"type": "integer", "minimum": 0}},
        "WwwAuthenticate": {"description": "`Bearer`.", "required": True,
                            "schema": {"type": "string"}},
        "ContentDisposition": {
            "description": "`attachment; filename=\"audit-logs-<UTC time, YYYYMMDDTHHMMSSZ>."
                           "<extension>\"`; the extension is `json`, `ndjson`, `csv`, "
                           "`soc2.json`, `cef`, `leef` or `log` (syslog).",
            "required": True,
            "schema": {"type": "string",
                       "pattern": '^attachment; filename="audit-logs-[0-9]{8}T[0-9]{6}Z\\.'
                                  '(json|ndjson|csv|soc2\\.json|cef|leef|log)"$'}},
        "IdempotentReplayed": {"description": "Present (`true`) when this is the stored answer "
                               "to an earlier request with the same Idempotency-Key.",
                               "required": False, "schema": {"type": "string", "const": "true"}},
    }


def errors(*codes):
    names = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
             408: "RequestTimeout", 409: "Conflict", 413: "PayloadTooLarge", 414: "UriTooLong", 422: "ValidationError",
             429: "TooManyRequests", 431: "HeadersTooLarge",
             500: "InternalError", 503: "ServiceUnavailable"}
    return {str(c): RESP(names[c]) for c in codes}


def limit_413(desc, nbytes):
    text = f"request body is over the limit of {nbytes} bytes for this endpoint"
    return {"description": desc, "headers": std_headers(),
            "content": json_content(REF("Detail"), {"detail": text})}


# ---------------------------------------------------------------- operations
ROLE_INGEST = "Roles: admin, writer."
ROLE_READ = "Roles: admin, auditor."
ROLE_ADMIN = "Roles: admin."
ROLE_ANY = "Roles: any (admin, auditor, writer), whatever the tenant."

COMMON = [PARAM("XTenantId"), PARAM("XRequestId")]
FILTERS = [PARAM("filter_" + n) for n in filter_params()]
PAGING = [PARAM("page_" + n) for n in paging_params()]


def ok(desc, schema, example=None, extra_headers=None, links=None):
    r = {"description": desc, "headers": std_headers(extra_headers),
         "content": json_content(schema, example)}
    if links:
        r["links"] = links
    return r


def link(op_id, expr, desc):
    return {"operationId": op_id, "parameters": {"id": expr}, "description": desc}


def immutable(path_kind, op_id):
    params = COMMON + ([PARAM("AnyId")] if path_kind == "item" else [])
    return {
        "tags": ["audit-logs"],
        "operationId": op_id,
        "summary": "Refused: audit logs are immutable",
        "description": (
            "Always answers 405 with an `Allow` header and `{\"detail\": \"audit logs are "
            "immutable: …\"}`, once the token is known (401 otherwise). " + ROLE_ANY
        ),
        "parameters": params,
        "responses": {
            "405": {
                "description": "Always: audit logs are immutable.",
                "headers": std_headers({"Allow": HDR("Allow")}),
                "content": json_content(REF("Detail"), {"detail": EX["detail_405"]}),
            },
            **errors(401, 403, 422),
        },
    }


# ---------------------------------------------------------------- webhooks
WEBHOOK_NOTE = ("A webhook belongs to the tenant it was created in; another tenant's admin gets "
                "404. docs/WEBHOOKS.md has the delivery contract. ")


def webhook_schemas():
    time = {"type": "string", "format": "date-time"}
    types = {"anyOf": [{"type": "array", "maxItems": 64,
                        "items": {"type": "string", "pattern": EVENT_TYPE_PATTERN}},
                       {"type": "null"}],
             "description": "Event types delivered; `null` or `[]`: all (returned as `null`)."}
    return {
        "WebhookCreate": {
            "type": "object",
            "required": ["webhook_url"],
            "properties": {
                "webhook_url": {"type": "string", "minLength": 1, "maxLength": 2048,
                                "description": "`https://` (http only when the operator allows "
                                               "it); its host must resolve to public addresses "
                                               "(or allow-listed ones), else 422."},
                "event_types": types,
                "description": {"type": ["string", "null"], "maxLength": 1024},
                "max_retries": {"type": ["integer", "null"], "minimum": 0, "maximum": 20,
                                "description": "Default 5."},
                "retry_backoff_seconds": {"type": ["integer", "null"], "minimum": 1,
                                          "maximum": 3600, "description": "Default 2."},
            },
            "additionalProperties": False,
            "example": {"webhook_url": "https://siem.example.com/sealog",
                        "event_types": ["user.login"], "description": "SIEM"},
        },
        "WebhookPatch": {
            "type": "object",
            "properties": {
                "is_active": {"type": ["boolean", "null"]},
                "event_types": types,
                "description": {"type": ["string", "null"], "maxLength": 1024},
            },
            "additionalProperties": False,
        },
        "Webhook": {
            "type": "object",
            "required": ["id", "user_id", "webhook_url", "secret_key", "event_types", "is_active",
                         "max_retries", "retry_backoff_seconds", "created_at", "updated_at",
                         "last_delivery_at", "failed_deliveries"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "user_id": {"type": "string", "description": "The id of the key that created it."},
                "webhook_url": {"type": "string"},
                "secret_key": {"type": "string",
                               "description": "64 hex digits in the create response only; "
                                              "masked (`********` + its last 4) elsewhere."},
                "event_types": {"type": ["array", "null"], "items": {"type": "string"}},
                "description": {"type": ["string", "null"]},
                "is_active": {"type": "boolean"},
                "max_retries": {"type": "integer"},
                "retry_backoff_seconds": {"type": "integer"},
                "created_at": time,
                "updated_at": time,
                "last_delivery_at": {"type": ["string", "null"], "format": "date-time"},
                "failed_deliveries": {"type": "integer", "minimum": 0},
                "deactivated_reason": {"type": ["string", "null"]},
            },
            "additionalProperties": False,
        },
        "WebhookList": {
            "type": "object",
            "required": ["webhooks", "total"],
            "properties": {
                "webhooks": {"type": "array", "items": REF("Webhook")},
                "total": {"type": "integer", "minimum": 0},
            },
            "additionalProperties": False,
        },
        "WebhookDelivery": {
            "type": "object",
            "required": ["delivery_id", "attempt", "status", "http_status", "latency_ms", "error",
                         "event_count", "first_seq", "last_seq", "at"],
            "properties": {
                "delivery_id": {"type": "string", "format": "uuid"},
                "attempt": {"type": "integer", "minimum": 1},
                "status": {"type": "string", "enum": ["delivered", "retrying", "dead_lettered"]},
                "http_status": {"type": ["integer", "null"]},
                "latency_ms": {"type": "integer", "minimum": 0},
                "error": {"type": ["string", "null"]},
                "event_count": {"type": "integer", "minimum": 1},
                "first_seq": {"type": "integer", "minimum": 1},
                "last_seq": {"type": "integer", "minimum": 1},
                "at": time,
            },
            "additionalProperties": False,
        },
        "WebhookDeliveryList": {
            "type": "object",
            "required": ["deliveries", "total"],
            "properties": {
                "deliveries": {"type": "array", "items": REF("WebhookDelivery")},
                "total": {"type": "integer", "minimum": 0},
            },
            "additionalProperties": False,
        },
        "WebhookReplay": {
            "type": "object",
            "required": ["webhook_id", "from_seq", "status"],
            "properties": {
                "webhook_id": {"type": "string", "format": "uuid"},
                "from_seq": {"type": "integer", "minimum": 1},
                "status": {"type": "string", "const": "replaying"},
            },
            "additionalProperties": False,
        },
    }


def webhook_paths():
    one = COMMON + [PARAM("WebhookId")]
    body = lambda name: {"required": True,  # noqa: E731
                         "content": {"application/json": {"schema": REF(name)}}}

    def op(op_id, summary, desc, params, responses, request=None):
        o = {"tags": ["webhooks"], "operationId": op_id, "summary": summary,
             "description": WEBHOOK_NOTE + desc + " " + ROLE_ADMIN, "parameters": params,
             "responses": responses}
        if request:
            o["requestBody"] = body(request)
        return o
    is_active = {"name": "is_active", "in": "query", "required": False,
                 "schema": {"type": "boolean"}, "description": "Only active (true) or inactive (false) webhooks."}
    from_seq = {"name": "from_seq", "in": "query", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": SAFE_INT},
                "description": "The tenant's seq to start again from (no such event → 422)."}
    too_many = {"description": "There are already 1,000 webhooks.", "headers": std_headers(),
                "content": json_content(REF("Detail"))}
    return {
        "/api/audit-logs/webhooks": {
            "get": op("listWebhooks", "List the tenant's webhooks (secrets masked)", "",
                      COMMON + [is_active],
                      {"200": ok("The webhooks.", REF("WebhookList")), **errors(401, 403, 422)}),
            "post": op("createWebhook", "Register a webhook",
                       "New webhooks receive events appended after their creation. The "
                       "secret is in this response only. Body ≤ 64 KiB.", COMMON,
                       {"201": ok("Created.", REF("Webhook")), **errors(401, 403, 408),
                        "409": too_many, "413": limit_413("Body over 64 KiB.", 64 << 10),
                        **errors(422)}, "WebhookCreate"),
        },
        "/api/audit-logs/webhooks/{id}": {
            "get": op("getWebhook", "One webhook (secret masked)", "", one,
                      {"200": ok("The webhook.", REF("Webhook")), **errors(401, 403, 404, 422)}),
            "patch": op("updateWebhook", "Change is_active, event_types or description",
                        "Re-activating resumes delivery from where it stopped.", one,
                        {"200": ok("The webhook.", REF("Webhook")), **errors(401, 403, 404, 408),
                         "413": limit_413("Body over 64 KiB.", 64 << 10), **errors(422)},
                        "WebhookPatch"),
            "delete": op("deleteWebhook", "Delete a webhook",
                         "Delivery stops at once.", one,
                         {"204": {"description": "Deleted.", "headers": std_headers()},
                          **errors(401, 403, 404, 422)}),
        },
        "/api/audit-logs/webhooks/{id}/deliveries": {
            "get": op("listWebhookDeliveries", "Recent delivery attempts, newest first",
                      "The last 1,000 attempts since sealogd started, and the last 100 dead "
                      "letters (kept across restarts).", one,
                      {"200": ok("The attempts.", REF("WebhookDeliveryList")),
                       **errors(401, 403, 404, 422)}),
        },
        "/api/audit-logs/webhooks/{id}/replay": {
            "post": op("replayWebhook", "Deliver again from a seq",
                       "Delivery restarts at the tenant's event `from_seq`; every later event "
                       "is sent again (receivers de-duplicate by seq).", one + [from_seq],
                       {"202": ok("Replay started.", REF("WebhookReplay")),
                        **errors(401, 403, 404, 422)}),
        },
    }


def paths():
    ingest_headers = {"Idempotent-Replayed": HDR("IdempotentReplayed")}
    return {
        "/api/audit-logs": {
            "post": {
                "tags": ["audit-logs"],
                "operationId": "createAuditLog",
                "summary": "Append one event",
                "description": (
                    "Validates the event, appends it to the tenant's chain and answers 201 only "
                    "once it is durable. Body ≤ 1 MiB. " + ROLE_INGEST
                ),
                "parameters": COMMON + [PARAM("IdempotencyKey")],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": REF("EventIn")}}},
                "responses": {
                    "201": ok("Stored and durable.", REF("IngestResponse"), EX["ingest_out"],
                              ingest_headers, {
                                  "GetEvent": link("getAuditLog", "$response.body#/id", "Read the event back."),
                                  "ResolveEvent": link("resolveAuditLog", "$response.body#/id", "Resolve it."),
                                  "GetReceipt": link("getReceipt", "$response.body#/id",
                                                     "Its receipt, once a checkpoint covers it."),
                              }),
                    **errors(401, 403),
                    **errors(408),
                    "413": limit_413("Body over 1 MiB.", 1 << 20),
                    **errors(422, 503),
                },
            },
            "get": {
                "tags": ["audit-logs"],
                "operationId": "listAuditLogs",
                "summary": "Query events",
                "description": (
                    "Every filter is exact and case-sensitive (except `q`), and all are ANDed. An "
                    "unknown or repeated parameter (other than `tag`) → 422. "
                    "Sorted by created_at then seq. Page with `limit` + `offset`, or with "
                    "`cursor` (not both: 422). An event is visible as soon as its ingest was "
                    "acknowledged. " + ROLE_READ
                ),
                "parameters": COMMON + FILTERS + PAGING,
                "responses": {
                    "200": ok("A page of matches.", REF("AuditLogPage"), EX["page_out"]),
                    **errors(401, 403, 414, 422, 431, 500, 503),
                },
            },
            "put": immutable("collection", "putAuditLogs"),
            "patch": immutable("collection", "patchAuditLogs"),
            "delete": immutable("collection", "deleteAuditLogs"),
        },
        "/api/audit-logs/batch": {
            "post": {
                "tags": ["audit-logs"],
                "operationId": "createAuditLogBatch",
                "summary": "Append 1..10,000 events, all or nothing",
                "description": (
                    "A JSON array (`application/json`) or NDJSON, one event per line "
                    "(`application/x-ndjson`; `application/ndjson` and `application/jsonl` are "
                    "accepted too; the schema shows the events as an array; blank lines are "
                    "skipped and `loc` indexes count lines). Body "
                    "≤ 32 MiB, 1..10,000 events. One bad event → 422 naming its 0-based index "
                    "in `loc`, and none is stored. The events get consecutive seqs in the order "
                    "sent. " + ROLE_INGEST
                ),
                "parameters": COMMON + [PARAM("IdempotencyKey")],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "minItems": 1, "maxItems": 10000,
                                       "items": REF("EventIn")},
                            "example": EX["batch_in"],
                        },
                        "application/x-ndjson": {
                            "schema": {"type": "array", "minItems": 1, "maxItems": 10000,
                                       "items": REF("EventIn"),
                                       "description": "NDJSON: one event object per line "
                                                      "(shown here as an array)."},
                        },
                    },
                },
                "responses": {
                    "201": ok("All stored and durable.", REF("BatchResponse"), EX["batch_out"],
                              ingest_headers, {
                                  "GetFirstEvent": link("getAuditLog", "$response.body#/ids/0",
                                                        "Read the first event back."),
                                  "GetFirstProof": link("getInclusionProof", "$response.body#/ids/0",
                                                        "Prove it is in a checkpoint, once one "
                                                        "covers it."),
                              }),
                    **errors(401, 403),
                    **errors(408),
                    "413": limit_413("Body over 32 MiB.", 32 << 20),
                    **errors(422, 503),
                },
            },
        },
        "/api/audit-logs/summary": {
            "get": {
                "tags": ["audit-logs"],
                "operationId": "summarizeAuditLogs",
                "summary": "Counts of matching events, grouped",
                "description": ("The same filters as `GET /api/audit-logs`, no paging (an unknown or "
                                "repeated parameter → 422). " + ROLE_READ),
                "parameters": COMMON + FILTERS,
                "responses": {
                    "200": ok("Counts.", REF("Summary"), EX["summary_out"]),
                    **errors(401, 403, 414, 422, 431, 500, 503),
                },
            },
        },
        **export_paths(),
        "/api/audit-logs/{id}": {
            "get": {
                "tags": ["audit-logs"],
                "operationId": "getAuditLog",
                "summary": "One event",
                "description": "The event as stored, with its resolution overlay. " + ROLE_READ,
                "parameters": COMMON + [PARAM("EventId")],
                "responses": {
                    "200": ok("The event.", REF("Event"), EX["event_out"]),
                    **errors(401, 403, 404, 422, 500, 503),
                },
            },
            "put": immutable("item", "putAuditLog"),
            "patch": immutable("item", "patchAuditLog"),
            "delete": immutable("item", "deleteAuditLog"),
        },
        "/api/audit-logs/{id}/resolve": {
            "post": {
                "tags": ["audit-logs"],
                "operationId": "resolveAuditLog",
                "summary": "Resolve an event",
                "description": (
                    "Appends a chained event of type `audit.resolution` (action `RESOLVE`, "
                    "severity `info`, record_id = the target id, user_id = the caller's key id, "
                    "new_values = the body) and answers with the target event carrying the new "
                    "overlay. A later resolution replaces the overlay. Body ≤ 64 KiB. " + ROLE_ADMIN
                ),
                "parameters": COMMON + [PARAM("IdempotencyKey"), PARAM("EventId")],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": REF("ResolveRequest")}}},
                "responses": {
                    "201": ok("Resolved: the target event with its overlay.", REF("Event"),
                              EX["resolved_out"], ingest_headers),
                    **errors(401, 403, 404, 408),
                    "413": limit_413("Body over 64 KiB.", 64 << 10),
                    **errors(422, 500, 503),
                },
            },
        },
        **integrity_paths(),
        "/api/keys": {
            "post": {
                "tags": ["keys"],
                "operationId": "createKey",
                "summary": "Create an API key",
                "description": (
                    "The token is in this response only (sealog stores it hashed). Body ≤ 64 KiB. "
                    "A one-tenant admin creates keys for its own tenant only (else 403). " + ROLE_ADMIN
                ),
                "parameters": COMMON,
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": REF("KeyCreate")}}},
                "responses": {
                    "201": ok("Created.", REF("KeyCreated"), EX["key_out"], None, {
                        "DeleteKey": link("deleteKey", "$response.body#/id", "Revoke it."),
                    }),
                    **errors(401, 403, 408),
                    "413": limit_413("Body over 64 KiB.", 64 << 10),
                    **errors(422),
                },
            },
            "get": {
                "tags": ["keys"],
                "operationId": "listKeys",
                "summary": "List API keys (no tokens)",
                "description": "A one-tenant admin sees its own tenant's keys only. " + ROLE_ADMIN,
                "parameters": COMMON,
                "responses": {
                    "200": ok("The keys.", REF("KeyList"), EX["keys_out"]),
                    **errors(401, 403, 422),
                },
            },
        },
        "/api/keys/{id}": {
            "delete": {
                "tags": ["keys"],
                "operationId": "deleteKey",
                "summary": "Revoke an API key",
                "description": "Takes effect at once. " + ROLE_ADMIN,
                "parameters": COMMON + [PARAM("KeyId")],
                "responses": {
                    "204": {"description": "Revoked.", "headers": std_headers()},
                    **errors(401, 403, 404, 422),
                },
            },
        },
        **webhook_paths(),
        "/healthz": {
            "get": {
                "tags": ["operations"],
                "operationId": "healthz",
                "summary": "Liveness",
                "description": "No authentication (unless configured).",
                "security": [],
                "responses": {
                    "200": ok("Serving; writes accepted.", REF("Health"), EX["health_ok"]),
                    "503": {"description": "Degraded: the engine refuses writes (the body says why).",
                            "headers": std_headers(),
                            "content": json_content(REF("Health"))},
                },
            },
        },
        "/metrics": {
            "get": {
                "tags": ["operations"],
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "description": "Prometheus text exposition format. No authentication (unless configured).",
                "security": [],
                "responses": {
                    "200": {"description": "Metrics.", "headers": std_headers(),
                            "content": {"text/plain": {"schema": {"type": "string"}}}},
                },
            },
        },
        "/openapi.json": {
            "get": {
                "tags": ["operations"],
                "operationId": "openapi",
                "summary": "This document",
                "description": "No authentication (unless configured).",
                "security": [],
                "responses": {
                    "200": {"description": "OpenAPI 3.1 document.", "headers": std_headers(),
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                },
            },
        },
    }


EXPORT_COMMON = (
    "Takes the filters of `GET /api/audit-logs` (same rules), `sort_order` (default `asc`, "
    "oldest first) and `from_seq`; no paging. The export's end is fixed when it starts (the "
    "last event stored then); events are read from the log in (created_at, seq) order, each "
    "hash checked, and sent in chunks as the client reads them (chunked transfer encoding). "
    "A damaged event found before the first bytes are sent → 500 naming it; found later, the "
    "connection is cut before the final chunk, so the transfer is incomplete, never a short "
    "file that looks whole. An unknown or repeated parameter (other than `tag`), or a value "
    "out of bounds → 422. Rate limit: 10 export requests per 60 s per key, shared by every "
    "export endpoint (the 11th → 429 with `Retry-After`). Formats and field mappings: "
    "docs/EXPORTS.md. "
)


def export_op(op_id, summary, description, own, content):
    return {
        "tags": ["exports"],
        "operationId": op_id,
        "summary": summary,
        "description": description + " " + EXPORT_COMMON + ROLE_READ,
        "parameters": COMMON + FILTERS + [PARAM("ExportSortOrder"), PARAM("ExportFromSeq")]
                      + [PARAM(p) for p in own],
        "responses": {
            "200": {"description": "The export, streamed.",
                    "headers": std_headers({"Content-Disposition": HDR("ContentDisposition")}),
                    "content": content},
            **errors(401, 403, 414, 422, 429, 431, 500, 503),
        },
    }


def export_paths():
    events_ndjson = {"schema": {"type": "array", "items": REF("Event"),
                                "description": "NDJSON: one event per line, exactly as "
                                               "`GET /api/audit-logs/{id}` returns it, each line "
                                               "ending with LF (shown here as an array)."}}

    def text(desc, example):
        return {"text/plain": {"schema": {"type": "string", "description": desc},
                               "example": example}}

    return {
        "/api/audit-logs/export": {
            "get": export_op(
                "exportAuditLogs", "Export at most `limit` events: JSON, NDJSON, CSV or SOC 2",
                "The first `limit` (default 10,000, at most 50,000) matching events in "
                "`format`. JSON and NDJSON carry each event exactly as "
                "`GET /api/audit-logs/{id}` returns it; CSV has a header row and one row per "
                "event (CRLF; a cell that could run as a spreadsheet formula gets a leading "
                "`'`); SOC 2 adds a report: the count, the seq range, verify-chain over that "
                "range and the latest checkpoint.",
                ["ExportFormat", "ExportLimit"],
                {
                    "application/json": {
                        "schema": {"anyOf": [
                            {"type": "array", "maxItems": 50000, "items": REF("Event"),
                             "description": "`format=json` (the default)."},
                            REF("Soc2Export"),
                        ]},
                        "examples": {
                            "json": {"summary": "format=json", "value": EX["export_json_out"]},
                            "soc2": {"summary": "format=soc2", "value": EX["export_soc2_out"]},
                        },
                    },
                    "application/x-ndjson": events_ndjson,
                    "text/csv": {"schema": {"type": "string",
                                            "description": "`format=csv`: RFC 4180, UTF-8, a "
                                                           "header row then one row per event, "
                                                           "CRLF line ends."},
                                 "example": EX["export_csv_out"]},
                },
            ),
        },
        "/api/audit-logs/export/ndjson": {
            "get": export_op(
                "exportAuditLogsNdjson", "Stream every matching event as NDJSON",
                "One event per line, exactly as `GET /api/audit-logs/{id}` returns it, with no "
                "overall limit: every hash and link can be checked from the file alone "
                "(docs/verify_chain.py).",
                ["ExportChunkSize"],
                {"application/x-ndjson": events_ndjson},
            ),
        },
        "/api/audit-logs/export/cef": {
            "get": export_op(
                "exportAuditLogsCef", "Stream every matching event as CEF",
                "ArcSight CEF (rev. 25), one record per line (LF), no overall limit.",
                ["ExportChunkSize"],
                text("`CEF:0|sealog|sealog|<version>|<event_type>|<name>|<severity>|<extension>` "
                     "per line (`text/plain; charset=utf-8`).", EX["export_cef_out"]),
            ),
        },
        "/api/audit-logs/export/leef": {
            "get": export_op(
                "exportAuditLogsLeef", "Stream every matching event as LEEF",
                "IBM QRadar LEEF 2.0 (default) or 1.0, one record per line (LF), no overall "
                "limit.",
                ["ExportChunkSize", "LeefVersion"],
                text("`LEEF:2.0|sealog|sealog|<version>|<event_type>|^|` and `^`-separated "
                     "attributes per line (`text/plain; charset=utf-8`).", EX["export_leef_out"]),
            ),
        },
        "/api/audit-logs/export/syslog": {
            "get": export_op(
                "exportAuditLogsSyslog", "Stream every matching event as RFC 5424 syslog",
                "One RFC 5424 message per event (facility, host name and enterprise number "
                "configured on the server), no overall limit.",
                ["ExportChunkSize", "SyslogFraming", "SyslogPayload"],
                text("`<PRI>1 TIMESTAMP HOSTNAME sealog - MSGID [sealog@PEN id tenant seq hash] "
                     "BOM MSG` per message (`text/plain; charset=utf-8`). The example writes "
                     "the BOM (EF BB BF) as `<BOM>`.", EX["export_syslog_out"]),
            ),
        },
    }


def integrity_op(op_id, summary, description, params, responses, role=ROLE_READ, body=None):
    op = {"tags": ["integrity"], "operationId": op_id, "summary": summary,
          "description": description + (" " + role if role else ""), "parameters": params}
    if role is None:
        op["security"] = []
    if body is not None:
        op["requestBody"] = body
    op["responses"] = responses
    return op


def integrity_paths():
    dates = [PARAM("filter_start_date"), PARAM("filter_end_date")]
    chain_ok = ok("What the check found (tampering is a 200 too: read `intact`).",
                  REF("ChainReport"), EX["verify_chain_out"])
    return {
        "/api/audit-logs/verify": {
            "get": integrity_op(
                "verifyAuditLogs", "Recompute the hashes of the newest events",
                "Rereads the newest `limit` events created in range from the stored bytes and "
                "recomputes each hash (links are not checked: see verify-chain). An unknown or "
                "repeated parameter → 422.",
                COMMON + dates + [PARAM("VerifyLimit")],
                {"200": ok("What the check found (tampering is a 200 too: read `verified`).",
                           REF("VerifyReport"), EX["verify_out"]),
                 **errors(401, 403, 422, 500, 503)}),
            "post": integrity_op(
                "verifyAuditLogsPost", "verify-chain over a range sent in the body",
                "As `GET /api/audit-logs/verify-chain?start_date=…&end_date=…` (no limit), for "
                "clients that cannot send a query string. No body, an empty one or `{}` checks "
                "the whole chain, with the Merkle audit. Body ≤ 64 KiB.",
                COMMON,
                {"200": chain_ok,
                 **errors(401, 403, 408),
                 "413": limit_413("Body over 64 KiB.", 64 << 10),
                 **errors(422, 500, 503)},
                body={"required": False,
                      "content": {"application/json": {"schema": REF("VerifyRequest")}}}),
        },
        "/api/audit-logs/verify-chain": {
            "get": integrity_op(
                "verifyAuditLogChain", "Check hashes and links",
                "Rereads the events from the stored bytes and checks each hash and each link "
                "(`prev_hash`, `seq`), reporting the first break in seq order. With dates or "
                "`limit`, the newest `limit` events created in range, and the link from the "
                "first of them to the event before it. With neither, the whole chain, plus the "
                "Merkle audit: the stored tree and every stored checkpoint are checked against "
                "the events, so a history rewritten consistently (every hash recomputed) is "
                "still named. An unknown or repeated parameter → 422.",
                COMMON + dates + [PARAM("ChainLimit")],
                {"200": chain_ok, **errors(401, 403, 422, 500, 503)}),
        },
        "/api/audit-logs/public-key": {
            "get": integrity_op(
                "getCheckpointPublicKey", "The checkpoint signing key",
                "The server's Ed25519 key, as raw base64 and as a C2SP signed-note verifier key "
                "(vkey), to check checkpoint notes with. One key per server, kept across "
                "restarts. No authentication; any query parameter → 422.",
                [PARAM("XRequestId")],
                {"200": ok("The key.", REF("PublicKey"), EX["public_key_out"]), **errors(422)},
                role=None),
        },
        "/api/audit-logs/checkpoint": {
            "get": integrity_op(
                "getCheckpoint", "A signed checkpoint of the tenant's tree",
                "The tenant's latest checkpoint, or the one of `tree_size`. A tenant receiving "
                "events gets a new checkpoint at most once a second, so an acknowledged event "
                "is covered within about 1.5 s; every checkpoint is kept. A tenant with no "
                "events has none (404).",
                COMMON + [PARAM("CheckpointTreeSize")],
                {"200": ok("The checkpoint.", REF("Checkpoint"), EX["checkpoint_out"],
                           links={"GetConsistency": {
                               "operationId": "getConsistencyProof",
                               "parameters": {"first": "$response.body#/tree_size",
                                              "second": "$response.body#/tree_size"},
                               "description": "Prove a later checkpoint extends this one."}}),
                 **errors(401, 403, 404, 422, 500, 503)}),
        },
        "/api/audit-logs/consistency": {
            "get": integrity_op(
                "getConsistencyProof", "Prove one checkpoint extends another",
                "RFC 9162 consistency proof between the checkpoints of sizes `first` and "
                "`second`: the second tree holds the first unchanged. Both sizes must have a "
                "checkpoint (else 404); first = second gives an empty path.",
                COMMON + [PARAM("ConsistencyFirst"), PARAM("ConsistencySecond")],
                {"200": ok("The proof.", REF("ConsistencyProof"), EX["consistency_out"]),
                 **errors(401, 403, 404, 409, 422, 500, 503)}),
        },
        "/api/audit-logs/{id}/proof": {
            "get": integrity_op(
                "getInclusionProof", "Prove an event is in a checkpoint",
                "RFC 9162 inclusion proof of the event (leaf index seq − 1) in the tree of a "
                "checkpoint. 404: no such event in this tenant, or no checkpoint of that size; "
                "409: the checkpoint does not cover the event (yet).",
                COMMON + [PARAM("EventId"), PARAM("ProofTreeSize")],
                {"200": ok("The proof.", REF("InclusionProof"), EX["proof_out"]),
                 **errors(401, 403, 404, 409, 422, 500, 503)}),
        },
        "/api/audit-logs/{id}/receipt": {
            "get": integrity_op(
                "getReceipt", "The event, a checkpoint and the proof, in one file",
                "The event as `GET /api/audit-logs/{id}` returns it, the latest checkpoint "
                "covering it, and the inclusion proof at that checkpoint's size: everything an "
                "auditor needs, with the public key, to check the event offline. 409 until a "
                "checkpoint covers the event (about a second after ingest). Any query "
                "parameter → 422.",
                COMMON + [PARAM("EventId")],
                {"200": ok("The receipt.", REF("Receipt"), EX["receipt_out"]),
                 **errors(401, 403, 404, 409, 422, 500, 503)}),
        },
    }


def document():
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sealog",
            "version": "0.1.0",
            "summary": "Tamper-evident audit log: ingest, query, resolve and verify audit events.",
            "description": (
                "Every `/api/` request but `GET /api/audit-logs/public-key` needs a token "
                "(`Authorization: Bearer <token>` or `X-API-Key: <token>`). Checks run in this order: authentication (401), role "
                "and tenant (403), then the request itself (404, 405, 413, 422). Every JSON "
                "response is `application/json`; errors are `{\"detail\": \"…\"}`, except 422 "
                "which is FastAPI's `{\"detail\": [{\"loc\", \"msg\", \"type\", \"input\", "
                "\"ctx\"}]}`. Event rules, the hash chain, checkpoints and proofs: docs/API.md, "
                "docs/INTEGRITY.md."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"apiKey": []}],
        "tags": [
            {"name": "audit-logs", "description": "Ingest, query and resolve events."},
            {"name": "integrity", "description": "Verification, signed checkpoints and Merkle "
                                                  "proofs (docs/INTEGRITY.md)."},
            {"name": "exports", "description": "Bulk exports, streamed: JSON, NDJSON, CSV, "
                                               "SOC 2, CEF, LEEF, syslog (docs/EXPORTS.md)."},
            {"name": "keys", "description": "API keys (admin)."},
            {"name": "webhooks", "description": "Signed, at-least-once delivery of a tenant's "
                                                "new events to HTTPS receivers (admin; "
                                                "docs/WEBHOOKS.md)."},
            {"name": "operations", "description": "Health, metrics, this document."},
        ],
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "parameters": parameters(),
            "responses": responses(),
            "headers": headers(),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "`Authorization: Bearer <token>`."},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                           "description": "`X-API-Key: <token>`."},
            },
        },
    }


if __name__ == "__main__":
    text = json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
    path = sys.argv[1] if len(sys.argv) > 1 else OUT
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path}: {len(text)} bytes")
