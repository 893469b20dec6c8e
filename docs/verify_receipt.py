#!/usr/bin/env python3
"""Checks sealog's transparency proofs with nothing but the log's public key.

    verify_receipt.py receipt RECEIPT.json KEY
    verify_receipt.py consistency PROOF.json OLD_CHECKPOINT.json NEW_CHECKPOINT.json KEY

RECEIPT.json is what GET /api/audit-logs/{id}/receipt returns; PROOF.json what
GET /api/audit-logs/consistency returns; a checkpoint is what GET
/api/audit-logs/checkpoint returns (the old one is the one you kept); KEY is the JSON of
GET /api/audit-logs/public-key, or just its "vkey" text.

Independent of sealog's code: hashlib, the rfc8785 package (the hash rule) and the
cryptography package (Ed25519), both from PyPI. Exit status 0 when everything checks,
1 when something does not (it says what), 2 on bad usage.
"""

import base64
import hashlib
import json
import sys

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

OVERLAY = ("hash", "is_resolved", "resolved_at", "resolved_by", "resolution_notes")


class Failed(Exception):
    pass


# --- the event hash and the RFC 9162 tree -------------------------------------------

def event_hash(event):
    body = {k: v for k, v in event.items() if k not in OVERLAY}
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def leaf_hash(event_hash_hex):
    # The leaf input is the 32 raw bytes of the event's hash.
    return hashlib.sha256(b"\x00" + bytes.fromhex(event_hash_hex)).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        raise Failed(f"leaf index {index} is not below tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Failed("inclusion path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failed("inclusion path is shorter than the tree is deep")
    if r != root:
        raise Failed("inclusion proof does not lead to the signed root")


def verify_consistency(first, second, first_root, second_root, path):
    """RFC 9162 section 2.1.4.2."""
    if not 1 <= first <= second:
        raise Failed(f"consistency needs 1 <= first <= second, got {first}, {second}")
    if first == second:
        if path:
            raise Failed("equal sizes need an empty proof")
        if first_root != second_root:
            raise Failed("equal sizes but different roots")
        return
    if not path:
        raise Failed("empty consistency proof")
    path = list(path)
    if first & (first - 1) == 0:  # a power of two: the old root starts the path
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Failed("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failed("consistency proof is too short")
    if fr != first_root:
        raise Failed("consistency proof does not lead to the old root: history was rewritten")
    if sr != second_root:
        raise Failed("consistency proof does not lead to the new root")


# --- C2SP signed notes ----------------------------------------------------------------

def parse_vkey(text):
    """<name>+<8 hex key id>+<base64(0x01 || 32-byte Ed25519 key)>"""
    name, key_id, key = text.strip().split("+", 2)
    raw = base64.b64decode(key, validate=True)
    if raw[0] != 1 or len(raw) != 33:
        raise Failed("not an Ed25519 verifier key")
    expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if bytes.fromhex(key_id) != expected:
        raise Failed("verifier key's id does not match its key")
    return name, expected, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note, vkey):
    """Checks the note's signature; returns (origin, tree size, root hash bytes)."""
    name, key_id, key = vkey
    split = note.rindex("\n\n")
    text, signatures = note[: split + 1], note[split + 2:]
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            raise Failed(f"malformed signature line {line!r}")
        signer, blob = line[2:].split(" ")
        blob = base64.b64decode(blob, validate=True)
        if signer == name and blob[:4] == key_id:
            try:
                key.verify(blob[4:], text.encode())
            except InvalidSignature:
                raise Failed("checkpoint signature does not verify") from None
            origin, size, root = text.splitlines()[:3]
            return origin, int(size), base64.b64decode(root, validate=True)
    raise Failed(f"checkpoint is not signed by {name}")


# --- the two checks ---------------------------------------------------------------------

def load_key(path):
    text = open(path).read()
    try:
        text = json.loads(text)["vkey"]
    except ValueError:
        pass
    return parse_vkey(text)


def check_checkpoint(cp, vkey):
    origin, size, root = open_checkpoint(cp["note"], vkey)
    if (origin, size, root.hex()) != (cp["origin"], cp["tree_size"], cp["root_hash"]):
        raise Failed("checkpoint fields differ from its signed note")
    return size, root


def check_receipt(receipt, vkey):
    event, proof = receipt["event"], receipt["proof"]
    if event_hash(event) != event["hash"]:
        raise Failed(f"event {event['id']}: its content does not match its hash")
    size, root = check_checkpoint(receipt["checkpoint"], vkey)
    if (proof["tree_size"], proof["root_hash"]) != (size, root.hex()):
        raise Failed("proof is for another tree than the signed checkpoint")
    if proof["leaf_index"] != event["seq"] - 1:
        raise Failed("proof is for another leaf than the event's seq")
    path = [bytes.fromhex(h) for h in proof["inclusion_path"]]
    verify_inclusion(leaf_hash(event["hash"]), proof["leaf_index"], size, path, root)
    return f"event {event['id']} (seq {event['seq']}) is in {receipt['checkpoint']['origin']} at tree size {size}"


def check_consistency(proof, old, new, vkey):
    m, old_root = check_checkpoint(old, vkey)
    n, new_root = check_checkpoint(new, vkey)
    if (proof["first"], proof["second"]) != (m, n):
        raise Failed("proof is for other sizes than the two checkpoints")
    path = [bytes.fromhex(h) for h in proof["consistency_path"]]
    verify_consistency(m, n, old_root, new_root, path)
    return f"tree size {n} extends the checkpoint of size {m} you held"


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "receipt":
            print(check_receipt(json.load(open(argv[2])), load_key(argv[3])))
        elif len(argv) == 6 and argv[1] == "consistency":
            proof, old, new = (json.load(open(p)) for p in argv[2:5])
            print(check_consistency(proof, old, new, load_key(argv[5])))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (Failed, KeyError, ValueError) as e:
        print(f"FAILED: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
