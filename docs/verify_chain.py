#!/usr/bin/env python3
"""Verify a sealog NDJSON export with nothing but hashlib and an RFC 8785 library.

    pip install rfc8785
    python3 verify_chain.py audit-logs.ndjson

For every event: recompute `hash` (SHA-256 of the RFC 8785 form of the event minus
`hash` and the resolution overlay) and check the link to the tenant's previous event
(`prev_hash` equals its hash, `seq` is one more). A tenant whose first exported event
has seq 1 must start from 64 zeros; a later start is taken as given (its link to what
came before the export is not checkable from the export alone).

Exit status: 0 intact, 1 damage found (each damaged event is printed), 2 usage error.
"""
import hashlib
import json
import sys

import rfc8785

NOT_HASHED = {"hash", "is_resolved", "resolved_at", "resolved_by", "resolution_notes"}
GENESIS = "0" * 64


def event_hash(event):
    body = {k: v for k, v in event.items() if k not in NOT_HASHED}
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def verify(lines):
    heads = {}  # tenant -> (seq, hash) of the previous event seen
    checked, faults = 0, []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        event = json.loads(line)
        checked += 1
        where = "line %d: event %s (tenant %s, seq %s)" % (
            number, event.get("id"), event.get("tenant_id"), event.get("seq"))
        if event_hash(event) != event.get("hash"):
            faults.append(where + ": hash_mismatch")
        tenant, seq = event.get("tenant_id"), event.get("seq")
        if tenant in heads:
            prev_seq, prev_hash = heads[tenant]
            if seq != prev_seq + 1 or event.get("prev_hash") != prev_hash:
                faults.append(where + ": chain_link_mismatch")
        elif seq == 1 and event.get("prev_hash") != GENESIS:
            faults.append(where + ": chain_link_mismatch")
        heads[tenant] = (seq, event.get("hash"))
    return checked, faults


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: verify_chain.py EXPORT.ndjson", file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        checked, faults = verify(f)
    for fault in faults:
        print(fault)
    print("%d events checked, %d faults" % (checked, len(faults)))
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
