"""Example values for openapi.json and docs/API.md: real ids (UUIDv7 at created_at's
millisecond), real hashes (SHA-256 of the RFC 8785 form), one consistent story."""
import base64
import copy
import datetime as dt
import hashlib
import json
import random
import re
import struct
import uuid
import zlib

import rfc8785

import tlog

rng = random.Random(20261121)
TENANT = "acme"
OVERLAY = ("hash", "is_resolved", "resolved_at", "resolved_by", "resolution_notes")


def ts(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def us(s):
    t = ts(s)
    return int(t.timestamp()) * 1_000_000 + t.microsecond


def uuid7(created_at, tagged=False):
    ms = us(created_at) // 1000
    b = bytearray(ms.to_bytes(6, "big") + bytes(rng.getrandbits(8) for _ in range(10)))
    b[6] = 0x70 | (0xA if tagged else rng.choice([n for n in range(16) if n != 0xA]))
    b[8] = 0x80 | (b[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(b)))


def finish(client, seq, created_at, prev_hash, changed=None, tagged=False):
    ev = {k: v for k, v in client.items() if v is not None}
    ev.setdefault("severity", "info")
    if "occurred_at" in ev:
        ev["occurred_at"] = ts_norm(ev["occurred_at"])
    if changed is not None and "changed_fields" not in ev:
        ev["changed_fields"] = changed
    ev.update(id=uuid7(created_at, tagged), tenant_id=TENANT, seq=seq, created_at=created_at,
              prev_hash=prev_hash)
    ev["hash"] = hashlib.sha256(rfc8785.dumps({k: v for k, v in ev.items() if k not in OVERLAY})).hexdigest()
    ev["is_resolved"] = False
    return json.loads(rfc8785.dumps(ev))


def uuid4():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ts_norm(s):
    t = dt.datetime.fromisoformat(s).astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


PREV = hashlib.sha256(b"seq 1041 of acme").hexdigest()

ORDER_IN = {
    "event_type": "order.created",
    "severity": "medium",
    "event_description": "Limit order placed: buy 0.5 BTC-USD at 64250.10",
    "action": "CREATE",
    "result": "SUCCESS",
    "user_id": "u-42",
    "user_name": "jdoe",
    "actor_type": "user",
    "ip_address": "203.0.113.7",
    "http_method": "POST",
    "endpoint": "/api/v1/orders",
    "table_name": "orders",
    "record_id": "ord-1001",
    "new_values": {"side": "buy", "qty": 0.5, "price": 64250.10},
    "symbol": "BTC-USD",
    "currency": "USD",
    "exchange": "COINBASE",
    "amount": "32125.05",
    "tags": ["trading", "spot"],
    "occurred_at": "2026-11-21T14:03:27.402+00:00",
}
ORDER = finish(ORDER_IN, 1042, "2026-11-21T14:03:27.518204Z", PREV,
               changed=["price", "qty", "side"], tagged=True)

CANCEL_IN = {
    "event_type": "order.cancelled",
    "user_id": "u-42",
    "action": "UPDATE",
    "result": "SUCCESS",
    "table_name": "orders",
    "record_id": "ord-1001",
    "old_values": {"status": "open"},
    "new_values": {"status": "cancelled"},
    "symbol": "BTC-USD",
}
FLAG_IN = {
    "event_type": "compliance.flagged",
    "severity": "high",
    "event_description": "Order placed and cancelled within 3 seconds: possible spoofing",
    "action": "VALIDATE",
    "result": "REVIEW",
    "actor_type": "system",
    "user_id": "svc-surveillance",
    "table_name": "orders",
    "record_id": "ord-1001",
    "symbol": "BTC-USD",
    "risk_score": "87.5",
    "compliance_status": "PENDING_REVIEW",
    "jurisdiction": "EU",
    "regulatory_framework": "MiFID II",
    "flagged_keywords": ["spoofing"],
    "tags": ["surveillance"],
}
CANCEL = finish(CANCEL_IN, 1043, "2026-11-21T14:03:29.907311Z", ORDER["hash"], changed=["status"])
FLAG = finish(FLAG_IN, 1044, "2026-11-21T14:03:29.907311Z", CANCEL["hash"])

RESOLVE_IN = {"resolved_by": "compliance-officer-7",
              "resolution_notes": "Reviewed: client hedging error, no spoofing intent."}
ADMIN_KEY_CREATED = "2026-11-20T08:00:01.250113Z"
ADMIN_KEY_ID = uuid4()
RESOLVED_AT = "2026-11-21T15:20:04.113580Z"
RESOLVED = dict(FLAG)
RESOLVED.update(is_resolved=True, resolved_at=RESOLVED_AT, **RESOLVE_IN)
RESOLVED = json.loads(rfc8785.dumps(RESOLVED))


def cursor(ev, lsn, desc=True):
    b = struct.pack("<BQqQBQ", 1, lsn, us(ev["created_at"]), ev["seq"], 1 if desc else 0,
                    rng.getrandbits(64))
    return (b + struct.pack("<I", zlib.crc32(b))).hex()


def token():
    return "slk_" + bytes(rng.getrandbits(8) for _ in range(32)).hex()



TOKEN_NEW = token()
MISSING_ID = uuid7("2026-11-21T13:58:02.004117Z")
KEY_OUT = {
    "id": uuid4(),
    "name": "orders-service",
    "role": "writer",
    "tenant": "acme",
    "token": TOKEN_NEW,
    "created_at": "2026-11-21T09:12:40.331907Z",
}

# The transparency log of tenant acme: leaf n − 1 is the hash of seq n. Seqs 1..1041
# hash like PREV; 1042..1044 are ORDER, CANCEL and FLAG. Checkpoints of 1042 (just after
# ORDER) and 1044 (just after the batch), signed with a fixed example key.
LOG_NAME = "sealog"
ORIGIN = f"{LOG_NAME}/{TENANT}"
CHAIN = [hashlib.sha256(f"seq {n} of {TENANT}".encode()).hexdigest() for n in range(1, 1042)]
CHAIN += [ORDER["hash"], CANCEL["hash"], FLAG["hash"]]
assert CHAIN[1040] == PREV
LEAVES = [tlog.leaf_hash(bytes.fromhex(h)) for h in CHAIN]
# Not drawn from rng: that would change every value drawn after it.
SIGNING_SEED = hashlib.sha256(b"sealog example checkpoint key").digest()
PUBLIC_KEY = tlog.public_key(SIGNING_SEED)


def checkpoint(size, issued_at):
    root = tlog.root(LEAVES[:size])
    note = tlog.signed_note(LOG_NAME, SIGNING_SEED, tlog.checkpoint_body(ORIGIN, size, root))
    # Keys in the order sealogd sends them.
    return {"issued_at": issued_at, "note": note, "origin": ORIGIN, "root_hash": root.hex(),
            "tree_size": size}


def inclusion(seq, size):
    path = tlog.inclusion_path(seq - 1, LEAVES[:size])
    root = tlog.root(LEAVES[:size])
    assert tlog.verify_inclusion(seq - 1, size, LEAVES[seq - 1], path, root)
    return {"inclusion_path": [h.hex() for h in path], "leaf_index": seq - 1,
            "root_hash": root.hex(), "tree_size": size}


def consistency(first, second):
    path = tlog.consistency_path(first, LEAVES[:second])
    a, b = tlog.root(LEAVES[:first]), tlog.root(LEAVES[:second])
    assert tlog.verify_consistency(first, second, a, b, path)
    return {"consistency_path": [h.hex() for h in path], "first": first, "first_root": a.hex(),
            "second": second, "second_root": b.hex()}


CHECKPOINT_OLD = checkpoint(1042, "2026-11-21T14:03:27.531877Z")
CHECKPOINT = checkpoint(1044, "2026-11-21T14:03:29.921408Z")
PROOF = inclusion(ORDER["seq"], CHECKPOINT["tree_size"])
assert PROOF["root_hash"] == CHECKPOINT["root_hash"]


def chain_report(checked, first_seq, bad=None):
    """A verify-chain answer, as sealogd words it; `bad` is an event whose bytes changed."""
    if bad is None:
        message = (f"Chain intact: {checked} audit logs checked from seq {first_seq}; every "
                   "hash and link verified.")
    else:
        message = (f"Tampering detected: 1 of {checked} audit logs fail verification; the first "
                   f"is seq {bad['seq']} (id {bad['id']}): its content does not match its hash "
                   "(hash_mismatch).")
    return {"broken_at_id": bad and bad["id"], "broken_reason": bad and "hash_mismatch",
            "intact": bad is None, "message": message,
            "tampered_logs": [bad["id"]] if bad else [], "total_checked": checked,
            "verified": bad is None}


EX = {
    "event_in": ORDER_IN,
    "event_out": ORDER,
    "ingest_out": {k: ORDER[k] for k in ("id", "seq", "tenant_id", "created_at", "hash")},
    "batch_in": [CANCEL_IN, FLAG_IN],
    "batch_out": {"count": 2, "first_seq": 1043, "last_seq": 1044, "ids": [CANCEL["id"], FLAG["id"]]},
    "page_out": {
        "audit_logs": [FLAG],
        "total": 3,
        "limit": 1,
        "offset": 0,
        "next_cursor": cursor(FLAG, 58211),
        "has_more": True,
    },
    "summary_out": {
        "total_logs": 1187,
        "by_table": {"orders": 802, "sessions": 231, "api_keys": 12},
        "by_user": {"u-42": 96, "u-17": 88, "svc-surveillance": 41},
        "by_action": {"CREATE": 611, "LOGIN": 231, "UPDATE": 214, "VALIDATE": 41},
        "by_event_type": {"order.created": 611, "user.login": 231, "order.cancelled": 191,
                          "order.filled": 101, "compliance.flagged": 41, "api_key.created": 12},
        "by_severity": {"info": 902, "medium": 231, "high": 49, "critical": 5},
    },
    "resolve_in": RESOLVE_IN,
    "resolved_out": RESOLVED,
    "key_in": {"name": "orders-service", "role": "writer", "tenant": "acme"},
    "key_out": KEY_OUT,
    "keys_out": {
        "keys": [
            {"id": ADMIN_KEY_ID, "name": "ops-admin", "role": "admin", "tenant": "*",
             "created_at": ADMIN_KEY_CREATED, "last_used_at": "2026-11-21T15:20:04.113502Z"},
            {k: KEY_OUT[k] for k in ("id", "name", "role", "tenant", "created_at")}
            | {"last_used_at": None},
        ],
        "total": 2,
    },
    "detail_401": "invalid API key",
    "detail_403": 'a key with role "auditor" may not ingest audit logs',
    "detail_404": f"audit log {MISSING_ID} not found",
    "detail_405": "audit logs are immutable: an event cannot be changed or deleted once stored; to mark one as handled, POST /api/audit-logs/{id}/resolve",
    "detail_408": "the request body did not arrive within 60 s",
    "detail_413": "request body is over the limit of 1048576 bytes for this endpoint",
    "detail_429": "export rate limit: at most 10 export requests per 60 s per key; retry in 41 s",
    "detail_500": f"stored data is damaged: event {ORDER['id']} (lsn 58209, segment 3, byte 1048704) does not match its hash: the stored event was altered",
    "detail_503": "the append queue is full (4096 requests, 61203344 bytes waiting); retry later",
    "health_ok": {"status": "ok", "writes": "accepted", "version": "0.1.0", "durable_lsn": 58214,
                  "indexed_lsn": 58100, "index_read_lsn": 58214, "index_failure": None},
    "error_422": {"detail": [{
        "loc": ["body", "ip_address"],
        "msg": "value is not a valid IPv4 or IPv6 address",
        "type": "ip_any_address",
        "input": "203.0.113.300",
    }]},
}

EX.update(
    order_id=ORDER["id"],
    flag_id=FLAG["id"],
    key_id=KEY_OUT["id"],
    next_cursor=EX["page_out"]["next_cursor"],
    token_new=TOKEN_NEW,
    batch_422={"detail": [{
        "loc": ["body", 1, "risk_score"],
        "msg": "Input should be greater than or equal to 0",
        "type": "greater_than_equal",
        "input": "-3",
        "ctx": {"ge": 0},
    }]},
    verify_out={"message": "All 100 audit logs verified: every hash matches its event.",
                "tampered_logs": [], "total_checked": 100, "verified": True},
    verify_chain_out=chain_report(1044, 1),
    verify_chain_bad=chain_report(1044, 1, CANCEL),
    verify_in={"start_date": "2026-11-21T14:00:00Z", "end_date": "2026-11-21T14:03:30Z"},
    verify_post_out=chain_report(37, 1008),
    public_key_out={"algorithm": "ed25519",
                    "public_key": base64.b64encode(PUBLIC_KEY).decode(),
                    "vkey": tlog.vkey(LOG_NAME, PUBLIC_KEY)},
    checkpoint_out=CHECKPOINT,
    checkpoint_old=CHECKPOINT_OLD,
    checkpoint_404=f"tenant {TENANT} has no checkpoint of tree size 1043",
    proof_out=PROOF,
    proof_409=(f"event seq {FLAG['seq']} is not covered by the checkpoint of tree size "
               f"{CHECKPOINT_OLD['tree_size']} (checkpoints are issued about once a second; "
               "retry shortly)"),
    consistency_out=consistency(CHECKPOINT_OLD["tree_size"], CHECKPOINT["tree_size"]),
    consistency_422={"detail": [{
        "input": 1044,
        "loc": ["query", "first"],
        "msg": "Value error, first (1044) must not exceed second (1042)",
        "type": "value_error",
    }]},
    receipt_out={"event": ORDER, "checkpoint": CHECKPOINT, "proof": PROOF},
    query_422={"detail": [{
        "loc": ["query", "limit"],
        "msg": "Input should be less than or equal to 1000",
        "type": "less_than_equal",
        "input": "5000",
        "ctx": {"le": 1000},
    }]},
)

# ---------------------------------------------------------------- exports
# The text formats of docs/EXPORTS.md, written as engine/src/export/ writes them, for the
# story's events (before the resolution: FLAG is unresolved, CHECKPOINT is the latest).
EXPORTED_AT = "2026-11-21T14:10:03.118276Z"
EXPORT_STAMP = "20261121T141003Z"
SYSLOG_HOST = "audit-1"
PRODUCT_VERSION = "0.1.0"
CSV_COLUMNS = [
    "id", "tenant_id", "seq", "created_at", "occurred_at", "event_type", "severity", "action",
    "result", "event_description", "user_id", "user_name", "actor_type", "actor_role",
    "session_id", "request_id", "ip_address", "user_agent", "endpoint", "http_method",
    "table_name", "record_id", "entity_name", "old_values", "new_values", "changed_fields",
    "symbol", "currency", "exchange", "amount", "risk_score", "compliance_status",
    "jurisdiction", "regulatory_framework", "country_code", "flagged_keywords", "tags",
    "audit_metadata", "error_code", "error_message", "stack_trace", "prev_hash", "hash",
    "is_resolved", "resolved_at", "resolved_by", "resolution_notes",
]
SEVERITY_CEF = {"debug": 0, "info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
SEVERITY_SYSLOG = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6, "debug": 7}


def text_of(ev, name):
    """A field's text as the encoders see it: a string as is, anything else as RFC 8785 JSON."""
    v = ev.get(name)
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else rfc8785.dumps(v).decode()


def blank_controls(s, also=""):
    """C0 controls, DEL and the characters of `also` as spaces."""
    return "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F or c in also else c for c in s)


def epoch_ms(t):
    return us(t) // 1000


def csv_cell(text):
    plain = bool(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text))
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not plain:
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def csv_export(events):
    rows = [",".join(CSV_COLUMNS)]
    for ev in events:
        rows.append(",".join("" if text_of(ev, c) is None else csv_cell(text_of(ev, c))
                             for c in CSV_COLUMNS))
    return "".join(r + "\r\n" for r in rows)


def cef_record(ev):
    def head(s):
        return blank_controls(s.replace("\\", "\\\\").replace("|", "\\|"))

    def val(s):
        s = s.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")
        return blank_controls(s)

    name = ev.get("event_description", ev["event_type"])
    out = (f"CEF:0|sealog|sealog|{PRODUCT_VERSION}|{head(ev['event_type'])}|{head(name)}|"
           f"{SEVERITY_CEF[ev['severity']]}|rt={epoch_ms(ev['created_at'])}")
    if "occurred_at" in ev:
        out += f" start={epoch_ms(ev['occurred_at'])}"
    for key, field in [("externalId", "id"), ("cat", "table_name"), ("act", "action"),
                       ("outcome", "result"), ("msg", "event_description"),
                       ("suser", "user_name"), ("suid", "user_id"), ("spriv", "actor_role"),
                       ("request", "endpoint"), ("requestMethod", "http_method"),
                       ("requestClientApplication", "user_agent"), ("reason", "error_message")]:
        if field in ev:
            out += f" {key}={val(text_of(ev, field))}"
    if "ip_address" in ev:
        if ":" in ev["ip_address"]:
            out += f" c6a1={ev['ip_address']} c6a1Label=Source IPv6 Address"
        else:
            out += f" src={ev['ip_address']}"
    for key, field in [("cs1", "tenant_id"), ("cs2", "hash"), ("cs3", "prev_hash"),
                       ("cs4", "record_id"), ("cs5", "compliance_status"),
                       ("cs6", "risk_score"), ("flexString1", "symbol"),
                       ("flexString2", "amount")]:
        if field in ev:
            out += f" {key}={val(text_of(ev, field))} {key}Label={field}"
    return out + f" cn1={ev['seq']} cn1Label=seq"


LEEF_ATTRIBUTES = [
    ("cat", "event_type"), ("usrName", "user_name"), ("accountName", "user_id"),
    ("src", "ip_address"), ("url", "endpoint"), ("role", "actor_role"),
    ("resource", "record_id"), ("id", "id"), ("tenant", "tenant_id"),
    ("createdAt", "created_at"), ("occurredAt", "occurred_at"), ("action", "action"),
    ("result", "result"), ("msg", "event_description"), ("tableName", "table_name"),
    ("httpMethod", "http_method"), ("userAgent", "user_agent"), ("symbol", "symbol"),
    ("amount", "amount"), ("riskScore", "risk_score"),
    ("complianceStatus", "compliance_status"), ("errorMessage", "error_message"),
]


def leef_record(ev, version="2.0"):
    delim = "^" if version == "2.0" else "\t"
    event_type = blank_controls(ev["event_type"]).replace("|", "/")
    head = f"LEEF:{version}|sealog|sealog|{PRODUCT_VERSION}|{event_type}|"
    if version == "2.0":
        head += "^|"
    attrs = [("devTime", ev["created_at"][:23] + "Z"),
             ("devTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSX"),
             ("sev", str(max(1, SEVERITY_CEF[ev["severity"]])))]
    attrs += [(key, text_of(ev, field)) for key, field in LEEF_ATTRIBUTES if field in ev]
    attrs += [("seq", str(ev["seq"])), ("hash", ev["hash"]), ("prevHash", ev["prev_hash"])]
    return head + delim.join(f"{k}={blank_controls(v, delim)}" for k, v in attrs)


def syslog_message(ev, payload="json"):
    """One RFC 5424 message (facility 13); `<BOM>` stands for the bytes EF BB BF."""
    msg = {"json": lambda: rfc8785.dumps(ev).decode(),
           "cef": lambda: cef_record(ev), "leef": lambda: leef_record(ev)}[payload]()
    msgid = "".join(c if "!" <= c <= "~" else "_" for c in ev["event_type"][:32])
    return (f"<{13 * 8 + SEVERITY_SYSLOG[ev['severity']]}>1 {ev['created_at']} {SYSLOG_HOST} "
            f"sealog - {msgid} [sealog@32473 id=\"{ev['id']}\" "
            f"tenant=\"{ev['tenant_id']}\" seq=\"{ev['seq']}\" hash=\"{ev['hash']}\"] <BOM>{msg}")


def ndjson(events):
    return "".join(rfc8785.dumps(e).decode() + "\n" for e in events)


SOC2_OUT = {
    "report": {
        "chain_verification": dict(sorted({**chain_report(1, FLAG["seq"]), "first_seq": FLAG["seq"],
                                           "last_seq": FLAG["seq"]}.items())),
        "checkpoint": CHECKPOINT,
        "count": 1,
        "document": "sealog SOC 2 audit log export",
        "document_version": 1,
        "filters": {"end_date": "2026-11-21", "format": "soc2", "severity": "high",
                    "start_date": "2026-11-21"},
        "first_seq": FLAG["seq"],
        "generated_at": EXPORTED_AT,
        "generator": f"sealog {PRODUCT_VERSION}",
        "last_seq": FLAG["seq"],
        "period": {"end": "2026-11-22T00:00:00.000000Z", "start": "2026-11-21T00:00:00.000000Z"},
        "sort_order": "asc",
        "tenant": TENANT,
    },
    "events": [FLAG],
}

EX.update(
    export_stamp=EXPORT_STAMP,
    export_json_out=[ORDER, CANCEL],
    export_soc2_out=SOC2_OUT,
    export_csv_out=csv_export([ORDER, CANCEL, FLAG]),
    export_ndjson_out=ndjson([CANCEL, FLAG]),
    export_cef_out=cef_record(FLAG) + "\n",
    export_leef_out=leef_record(ORDER) + "\n",
    export_syslog_out=syslog_message(CANCEL) + "\n",
    export_422={"detail": [{
        "loc": ["query", "limit"],
        "msg": "Input should be less than or equal to 50000",
        "type": "less_than_equal",
        "input": "100000",
        "ctx": {"le": 50000},
    }]},
)
# As docs/API.md shows them: LF line ends, no final newline (the CSV's lines end with CRLF).
EX.update({k + "_shown": EX[k + "_out"].replace("\r\n", "\n").rstrip("\n")
           for k in ("export_csv", "export_ndjson", "export_cef", "export_leef", "export_syslog")})
