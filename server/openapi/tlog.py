"""What examples.py needs to make real transparency-log values: RFC 9162 §2.1 Merkle trees
(root, inclusion and consistency proofs, and their checks) and C2SP signed-note
checkpoints signed with Ed25519 (RFC 8032). Pure Python, so the pinned packages suffice.
The Ed25519 code is RFC 8032 §6's reference: slow, not constant-time, for examples only."""
import base64
import hashlib

# ---------------------------------------------------------------- RFC 9162 §2.1


def leaf_hash(leaf_input):
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n):
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves):
    """MTH over the leaf hashes `leaves`."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_path(m, leaves):
    """PATH(m, D[n]) over leaf hashes."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return inclusion_path(m, leaves[:k]) + [root(leaves[k:])]
    return inclusion_path(m - k, leaves[k:]) + [root(leaves[:k])]


def consistency_path(m, leaves, whole=True):
    """PROOF(m, D[n]) over leaf hashes (SUBPROOF with b = `whole`)."""
    n = len(leaves)
    if m == n:
        return [] if whole else [root(leaves)]
    k = _split(n)
    if m <= k:
        return consistency_path(m, leaves[:k], whole) + [root(leaves[k:])]
    return consistency_path(m - k, leaves[k:], False) + [root(leaves[:k])]


def verify_inclusion(index, size, leaf, path, expected_root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root


def verify_consistency(first, second, first_root, second_root, path):
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return not path and first_root == second_root
    if not 0 < first < second or not path:
        return False
    if first & (first - 1) == 0:  # a power of two: the first root starts the path
        path = [first_root] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


# ---------------------------------------------------------------- RFC 8032 §6 (Ed25519)
_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _recover_x(y, sign):
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _add(a, b):
    A = (a[1] - a[0]) * (b[1] - b[0]) % _P
    B = (a[1] + a[0]) * (b[1] + b[0]) % _P
    C = 2 * a[3] * b[3] * _D % _P
    D = 2 * a[2] * b[2] % _P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F % _P, G * H % _P, F * G % _P, E * H % _P)


def _mul(s, point):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, point)
        point = _add(point, point)
        s >>= 1
    return q


def _compress(point):
    zinv = pow(point[2], _P - 2, _P)
    x, y = point[0] * zinv % _P, point[1] * zinv % _P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def _hq(data):
    return int.from_bytes(hashlib.sha512(data).digest(), "little") % _Q


def public_key(seed):
    return _compress(_mul(_expand(seed)[0], _G))


def sign(seed, message):
    a, prefix = _expand(seed)
    pub = _compress(_mul(a, _G))
    r = _hq(prefix + message)
    rs = _compress(_mul(r, _G))
    s = (r + _hq(rs + pub + message) * a) % _Q
    return rs + int.to_bytes(s, 32, "little")


# ---------------------------------------------------------------- C2SP signed note
def key_id(name, pub):
    return hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]


def vkey(name, pub):
    material = base64.b64encode(b"\x01" + pub).decode()
    return f"{name}+{key_id(name, pub).hex()}+{material}"


def checkpoint_body(origin, size, root_hash):
    return f"{origin}\n{size}\n{base64.b64encode(root_hash).decode()}\n"


def signed_note(name, seed, body):
    sig = base64.b64encode(key_id(name, public_key(seed)) + sign(seed, body.encode())).decode()
    return f"{body}\n\u2014 {name} {sig}\n"
