"""Writes docs/API.md (or the path given as argument) from API.md.tmpl: each {{json:KEY}}
and {{val:KEY}} becomes EX[KEY] of examples.py, the values openapi.json shows too."""
import json
import re
import sys
from pathlib import Path

from examples import EX

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[1] / "docs" / "API.md"
t = (HERE / "API.md.tmpl").read_text(encoding="utf-8")


def compact(v):
    return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))


def fmt(v, ind=0):
    """Pretty JSON that keeps short arrays and objects on one line."""
    c = compact(v)
    if not isinstance(v, (dict, list)) or len(c) + ind <= 88 and ind > 0 or not v:
        return c
    pad, inner = " " * ind, " " * (ind + 2)
    if isinstance(v, dict):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {fmt(x, ind + 2)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    items = [f"{inner}{fmt(x, ind + 2)}" for x in v]
    return "[\n" + ",\n".join(items) + "\n" + pad + "]"


def sub(m):
    kind, key = m.group(1), m.group(2)
    if kind == "json":
        return fmt(EX[key])
    return str(EX[key])


out = re.sub(r"\{\{(json|val):(\w+)\}\}", sub, t)
assert "{{" not in out
path = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
with open(path, "w", encoding="utf-8", newline="\n") as f:
    f.write(out)
print(f"wrote {path}: {len(out.splitlines())} lines")
