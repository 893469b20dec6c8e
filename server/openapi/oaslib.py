"""Validate JSON values against schemas of sealog's openapi.json (2020-12 + formats)."""
import json
from pathlib import Path

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC = json.loads((Path(__file__).resolve().parent.parent / "openapi.json").read_text(encoding="utf-8"))
ROOT = "urn:sealog-openapi"
REG = Registry().with_resource(ROOT, Resource(contents=DOC, specification=DRAFT202012))
FMT = jsonschema.Draft202012Validator.FORMAT_CHECKER


def validator(schema):
    # Resolve "#/components/..." against the document.
    return jsonschema.Draft202012Validator(schema, registry=REG, format_checker=FMT,
                                           _resolver=REG.resolver(base_uri=ROOT))


def errors(schema, value):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in validator(schema).iter_errors(value)]


def deref(obj):
    while isinstance(obj, dict) and "$ref" in obj:
        path = obj["$ref"].lstrip("#/").split("/")
        obj = DOC
        for p in path:
            obj = obj[p.replace("~1", "/").replace("~0", "~")]
    return obj
