#!/usr/bin/env python3
"""Parse a sealog export with independent, third-party or standard-library parsers.

Usage: python3 parse_export.py FORMAT FILE
FORMAT: csv | json | ndjson | cef | leef1 | leef2 | syslog-lf | syslog-octet

Prints one JSON object per record (NDJSON, ASCII-only: non-ASCII as \\u escapes) and
exits 0, or prints "parse_export: FORMAT: record N: why" to stderr and exits 1 at the
first record the parser rejects (N counts from 0; for CSV the header row is not a
record). Exit 2 on bad usage or a missing parser package.

Parsers (pinned in the Rust harness; this script needs them only for its formats):
  csv           Python's csv module (strict=True), plus: UTF-8, CRLF after every row,
                every row as many cells as the header, unique header names.
  json          json.loads of the whole file: a bare array of objects.
  ndjson        json.loads per line: objects, LF-terminated, no blank lines.
  cef           cefp==0.0.2 (PyPI), which unescapes the header and the extension.
  leef1/leef2   NO LEEF parser exists on PyPI or in Debian 12 (syslog-ng 3.38 has no
                leef-parser(); liblognorm has none): parse_leef() below implements the
                IBM LEEF 1.0/2.0 specification by hand, and says so.
  syslog-lf     syslog-rfc5424-parser==0.3.2 (its lark grammar and transformer, with
  syslog-octet  lark-parser==0.6.7), one terminal fixed: see rfc5424_parser(). RFC 6587
                octet-counting frames are split by hand (LEN SP MSG).

The checks this script adds on top of a parser (escape validity, duplicate keys, PRI
range, ...) only reject; they never change what the parser produced.
"""

import csv
import io
import json
import re
import sys

FORMATS = ("csv", "json", "ndjson", "cef", "leef1", "leef2", "syslog-lf", "syslog-octet")


class Reject(Exception):
    """A record the parser (or a strictness check) rejects."""

    def __init__(self, index, why):
        super().__init__(why)
        self.index = index
        self.why = why


def emit(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=True) + "\n")


def need(module, pip_spec):
    try:
        return __import__(module)
    except ImportError as e:
        sys.stderr.write(
            "parse_export: missing parser package (pip install %s): %s\n" % (pip_spec, e)
        )
        sys.exit(2)


def utf8(data, index, what="record"):
    try:
        return data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise Reject(index, "%s is not valid UTF-8: %s" % (what, e))


def lf_records(data):
    """(index, bytes) per LF-terminated line: the file ends with LF, no blank lines."""
    if not data:
        return
    if not data.endswith(b"\n"):
        lines = data.split(b"\n")
        raise Reject(len(lines) - 1, "file does not end with a newline (last record unterminated)")
    for i, line in enumerate(data[:-1].split(b"\n")):
        if not line:
            raise Reject(i, "blank line")
        yield i, line


# ---------------------------------------------------------------------------- csv


def parse_csv(data):
    text = utf8(data, 0, "file")
    if text.startswith("\ufeff"):
        raise Reject(0, "file starts with a UTF-8 BOM")
    if not text:
        raise Reject(0, "empty file (no header row)")
    csv.field_size_limit(sys.maxsize)  # default 131072 chars would reject big cells

    # Physical lines split at LF only (keeping ends), so the CRLF of each row is visible:
    # a row's last physical line must end with CRLF (a bare LF may only be inside quotes).
    last = [None]

    def lines():
        start = 0
        while start < len(text):
            end = text.find("\n", start)
            end = len(text) if end < 0 else end + 1
            last[0] = text[start:end]
            yield last[0]
            start = end

    reader = csv.reader(lines(), dialect="excel", strict=True)
    header = None
    index = -1  # -1: the header row
    try:
        for row in reader:
            if not last[0].endswith("\r\n"):
                raise Reject(index, "row does not end with CRLF (line %d)" % reader.line_num)
            if header is None:
                header = row
                if len(set(header)) != len(header):
                    raise Reject(index, "duplicate column names in header: %r" % header)
            else:
                if len(row) != len(header):
                    raise Reject(
                        index,
                        "row has %d cells, header has %d (line %d)"
                        % (len(row), len(header), reader.line_num),
                    )
                emit({"row": dict(zip(header, row))})
            index += 1
    except csv.Error as e:
        raise Reject(index, "csv: %s (line %d)" % (e, reader.line_num))
    if header is None:
        raise Reject(0, "no header row")


# --------------------------------------------------------------------------- json


def _no_dupes(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("duplicate key %r" % k)
        obj[k] = v
    return obj


def _no_constant(name):
    raise ValueError("non-standard JSON constant %s" % name)


def loads(text):
    return json.loads(text, object_pairs_hook=_no_dupes, parse_constant=_no_constant)


def parse_json(data):
    text = utf8(data, 0, "file")
    try:
        doc = loads(text)
    except ValueError as e:
        raise Reject(0, "json: %s" % e)
    if not isinstance(doc, list):
        raise Reject(0, "top level is %s, not an array" % type(doc).__name__)
    for i, obj in enumerate(doc):
        if not isinstance(obj, dict):
            raise Reject(i, "element is %s, not an object" % type(obj).__name__)
        emit(obj)


def parse_ndjson(data):
    for i, line in lf_records(data):
        if line.endswith(b"\r"):
            raise Reject(i, "line ends with CR (CRLF)")
        text = utf8(line, i)
        try:
            obj = loads(text)
        except ValueError as e:
            raise Reject(i, "json: %s" % e)
        if not isinstance(obj, dict):
            raise Reject(i, "line is %s, not an object" % type(obj).__name__)
        emit(obj)


# ---------------------------------------------------------------------------- cef

# Validation only (cefp does the parsing): where the header ends, and that every
# backslash starts an escape the CEF spec defines (cefp would silently turn `\q` into
# `q` and drop a lone trailing backslash).
CEF_HEADER = re.compile(r"CEF:(?:[^\\|]|\\.)*\|(?:(?:[^\\|]|\\.)*\|){6}", re.S)


def cef_bad_escape(text, allowed):
    """The first backslash pair in text whose second character is not in allowed."""
    i = 0
    while True:
        i = text.find("\\", i)
        if i < 0:
            return None
        if i + 1 >= len(text) or text[i + 1] not in allowed:
            return text[i : i + 2]
        i += 2


def parse_cef(data):
    cefp = need("cefp", "cefp==0.0.2")
    # cefp.parse returns the extension through dict(zip(...)), which silently drops an
    # unpaired token (text without `=`) and keeps the last of duplicate keys; take the
    # flat [key, value, key, value, ...] list its splitext yields instead.
    splitext_list = cefp.CEFParser.__dict__["splitext"].__func__.__wrapped__
    for i, line in lf_records(data):
        text = utf8(line, i)
        head = CEF_HEADER.match(text)
        if not head:
            raise Reject(i, "no CEF header of 7 `|`-terminated fields: %r" % text[:200])
        bad = cef_bad_escape(head.group(0), "\\|")
        if bad is not None:
            raise Reject(i, "invalid escape %r in CEF header" % bad)
        bad = cef_bad_escape(text[head.end():], "\\=nr")
        if bad is not None:
            raise Reject(i, "invalid escape %r in CEF extension" % bad)
        try:
            parsed = cefp.parse(text)
            fields = cefp.CEFParser.split(text)
            tokens = splitext_list(cefp.CEFParser, fields[7].lstrip())
        except ValueError as e:
            raise Reject(i, "cefp: %s" % e)
        if tokens == [""]:
            tokens = []
        if len(tokens) % 2:
            raise Reject(i, "cefp: extension text without key=value: %r" % tokens[-1][:200])
        ext = {}
        for k, v in zip(tokens[0::2], tokens[1::2]):
            if k == "":
                raise Reject(i, "cefp: empty extension key (unescaped `=`?)")
            if k in ext:
                raise Reject(i, "cefp: duplicate extension key %r (unescaped `=`?)" % k)
            ext[k] = v
        assert ext == parsed["extension"]
        dev = parsed["device"]
        emit(
            {
                "version": parsed["version"],
                "device_vendor": dev["vendor"],
                "device_product": dev["product"],
                "device_version": dev["version"],
                "signature_id": dev["event_class_id"],
                "name": parsed["name"],
                "severity": parsed["severity"],
                "extensions": ext,
            }
        )


# --------------------------------------------------------------------------- leef

# HAND-WRITTEN PARSER, because no third-party LEEF parser could be found: none on PyPI,
# none in Debian 12 (syslog-ng 3.38's SCL has no leef-parser(); liblognorm has none).
# Implemented from IBM's "Log Event Extended Format (LEEF)" guide, versions 1.0 and 2:
#   LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value...
#   LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|key=value<D>key=value...
# The delimiter is one character, or its code in hex as `xHH` / `0xHH` (up to 4 digits).
# The spec defines no escaping anywhere: header fields end at the next `|`, attributes
# at the next delimiter, a key at the first `=` (a value may hold `=` and spaces);
# backslashes are literal. Strict: every attribute is key=value with a non-empty key,
# a key appears once (the spec says so), no empty attribute (so no trailing delimiter).

LEEF_HEX_DELIMITER = re.compile(r"(?:0x|x)([0-9A-Fa-f]{2,4})")


def parse_leef(data, version):
    for i, line in lf_records(data):
        text = utf8(line, i)
        prefix = "LEEF:%s|" % version
        if not text.startswith(prefix):
            raise Reject(i, "does not start with %r: %r" % (prefix, text[:60]))
        nfields = 5 if version == "1.0" else 6  # `|`-terminated header fields after LEEF:V
        parts = text.split("|", nfields)
        if len(parts) != nfields + 1:
            raise Reject(i, "LEEF header has fewer than %d `|`-terminated fields" % nfields)
        rec = {
            "version": version,
            "vendor": parts[1],
            "product": parts[2],
            "product_version": parts[3],
            "event_id": parts[4],
        }
        if version == "1.0":
            delim = "\t"
        else:
            field = parts[5]
            m = LEEF_HEX_DELIMITER.fullmatch(field)
            if m:
                delim = chr(int(m.group(1), 16))
            elif len(field) == 1:
                delim = field
            else:
                raise Reject(i, "LEEF 2.0 delimiter is neither one character nor xHH: %r" % field)
            if delim in ("=", "") or delim == "|":
                raise Reject(i, "LEEF 2.0 delimiter %r is unusable" % delim)
            rec["delimiter"] = delim
            rec["delimiter_field"] = field
        attrs = {}
        body = parts[nfields]
        if body:
            for n, attr in enumerate(body.split(delim)):
                key, eq, value = attr.partition("=")
                if not eq:
                    raise Reject(i, "attribute %d has no `=`: %r" % (n, attr[:200]))
                if not key:
                    raise Reject(i, "attribute %d has an empty key" % n)
                if key in attrs:
                    raise Reject(i, "duplicate attribute key %r" % key)
                attrs[key] = value
        rec["attributes"] = attrs
        emit(rec)


# ------------------------------------------------------------------------- syslog

_RFC5424 = None


def rfc5424_parser():
    """syslog-rfc5424-parser's own grammar and transformer, with one terminal fixed.

    0.3.2 takes PARAM-VALUE from lark 0.6's common ESCAPED_STRING, `"(\\"|[^"])*"`,
    which treats the `\\"` ending a value like `"back\\\\"` as an escaped quote: it
    rejects a valid message when any `"` follows (another param, SD element or MSG) and
    accepts the invalid `k="x\\"]` (unterminated value). The replacement is RFC 5424's
    rule: a backslash always pairs with the next character."""
    global _RFC5424
    if _RFC5424 is None:
        need("lark", "lark-parser==0.6.7")
        srp = need("syslog_rfc5424_parser", "syslog-rfc5424-parser==0.3.2")
        from lark import Lark
        from syslog_rfc5424_parser import parser as p

        old = "%import common.ESCAPED_STRING   -> ESCAPED_STRING"
        if old not in p.GRAMMAR:
            sys.stderr.write("parse_export: unexpected syslog-rfc5424-parser grammar (version?)\n")
            sys.exit(2)
        grammar = p.GRAMMAR.replace(old, r'ESCAPED_STRING: /"(?:[^"\\]|\\.)*"/s')
        _RFC5424 = (Lark(grammar, parser="lalr", transformer=p.TreeTransformer()), srp)
    return _RFC5424


SD_UNESCAPE = re.compile(r'\\(["\\\]])')


def sd_value(raw):
    """RFC 5424 6.3.3: `\\"`, `\\\\`, `\\]` are escapes; any other backslash is literal."""
    unescaped = SD_UNESCAPE.sub("", raw)
    if "]" in unescaped:
        raise ValueError("unescaped `]` in SD param value %r" % raw[:200])
    return SD_UNESCAPE.sub(lambda m: m.group(1), raw)


def parse_syslog_message(i, msg_bytes):
    from datetime import datetime

    lark_parser, srp = rfc5424_parser()
    text = utf8(msg_bytes, i, "message")
    try:
        p = lark_parser.parse(text)
    except Exception as e:  # lark's UnexpectedCharacters / UnexpectedToken / ...
        first = (str(e).strip().splitlines() or [""])[0]
        raise Reject(i, "syslog-rfc5424-parser rejects it: %s: %s" % (type(e).__name__, first[:300]))
    h = p.header
    if not 0 <= h.pri <= 191:
        raise Reject(i, "PRI %d out of range 0..191" % h.pri)
    if h.version != 1:
        raise Reject(i, "VERSION %d is not 1" % h.version)
    ts = str(h.timestamp)
    if ts != "-":
        try:
            datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError as e:
            raise Reject(i, "TIMESTAMP %r: %s" % (ts, e))
    sd = {}
    for el in p.structured_data:
        if el.sd_id in sd:
            raise Reject(i, "SD-ID %r appears twice" % el.sd_id)
        params = {}
        for name, raw in el.sd_params:
            if name in params:
                raise Reject(i, "SD param %r repeated in [%s]" % (name, el.sd_id))
            try:
                params[name] = sd_value(raw)
            except ValueError as e:
                raise Reject(i, str(e))
        sd[el.sd_id] = params
    msg = p.message
    bom = msg is not None and msg.startswith("\ufeff")
    if bom:
        msg = msg[1:]
    emit(
        {
            "pri": h.pri,
            "facility": h.pri >> 3,
            "severity": h.pri & 7,
            "version": h.version,
            "timestamp": ts,
            "hostname": str(h.hostname),
            "appname": str(h.appname),
            "procid": str(h.procid),
            "msgid": str(h.msgid),
            "sd": sd,
            "msg": msg,
            "bom": bom,
        }
    )


def parse_syslog_lf(data):
    for i, line in lf_records(data):
        parse_syslog_message(i, line)


OCTET_LEN = re.compile(rb"[1-9][0-9]{0,9} ")


def parse_syslog_octet(data):
    # RFC 6587 3.4.1 octet counting, split by hand: MSG-LEN SP SYSLOG-MSG, repeated,
    # nothing between frames; MSG-LEN = NONZERO-DIGIT *DIGIT, counted in octets.
    pos, i = 0, 0
    while pos < len(data):
        m = OCTET_LEN.match(data, pos)
        if not m:
            raise Reject(i, "no octet count `LEN SP` at byte %d: %r" % (pos, data[pos : pos + 20]))
        n = int(m.group(0))
        start = m.end()
        if start + n > len(data):
            raise Reject(i, "frame says %d octets, only %d remain" % (n, len(data) - start))
        parse_syslog_message(i, data[start : start + n])
        pos, i = start + n, i + 1


# --------------------------------------------------------------------------- main


def main(argv):
    if len(argv) != 3 or argv[1] not in FORMATS:
        sys.stderr.write("usage: parse_export.py {%s} FILE\n" % "|".join(FORMATS))
        return 2
    fmt, path = argv[1], argv[2]
    with open(path, "rb") as f:
        data = f.read()
    run = {
        "csv": parse_csv,
        "json": parse_json,
        "ndjson": parse_ndjson,
        "cef": parse_cef,
        "leef1": lambda d: parse_leef(d, "1.0"),
        "leef2": lambda d: parse_leef(d, "2.0"),
        "syslog-lf": parse_syslog_lf,
        "syslog-octet": parse_syslog_octet,
    }[fmt]
    try:
        run(data)
    except BrokenPipeError:  # stdout closed early by the reader
        return 1
    except Reject as r:
        sys.stdout.flush()
        where = "header row" if r.index == -1 else "record %d" % r.index
        sys.stderr.write("parse_export: %s: %s: %s\n" % (fmt, where, r.why))
        return 1
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
